//! Each primitive's rules against finite differences (float64) and vmap against stacked
//! slices.
use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Result};

type F = fn(&[Array]) -> Result<Array>;

fn unary_cases() -> Vec<(&'static str, F, f64, f64)> {
    // (name, f, low, high): inputs drawn inside each function's domain.
    vec![
        ("abs", |a| mx::abs(&a[0]), 0.1, 1.0),
        ("negative", |a| mx::negative(&a[0]), -1.0, 1.0),
        ("square", |a| mx::square(&a[0]), -1.0, 1.0),
        ("sqrt", |a| mx::sqrt(&a[0]), 0.2, 2.0),
        ("rsqrt", |a| mx::rsqrt(&a[0]), 0.2, 2.0),
        ("expm1", |a| mx::expm1(&a[0]), -1.0, 1.0),
        ("log", |a| mx::log(&a[0]), 0.2, 2.0),
        ("log2", |a| mx::log2(&a[0]), 0.2, 2.0),
        ("log10", |a| mx::log10(&a[0]), 0.2, 2.0),
        ("log1p", |a| mx::log1p(&a[0]), -0.5, 2.0),
        ("tan", |a| mx::tan(&a[0]), -1.0, 1.0),
        ("arcsin", |a| mx::arcsin(&a[0]), -0.8, 0.8),
        ("arccos", |a| mx::arccos(&a[0]), -0.8, 0.8),
        ("arctan", |a| mx::arctan(&a[0]), -2.0, 2.0),
        ("sinh", |a| mx::sinh(&a[0]), -1.0, 1.0),
        ("cosh", |a| mx::cosh(&a[0]), -1.0, 1.0),
        ("arcsinh", |a| mx::arcsinh(&a[0]), -2.0, 2.0),
        ("arccosh", |a| mx::arccosh(&a[0]), 1.2, 3.0),
        ("arctanh", |a| mx::arctanh(&a[0]), -0.8, 0.8),
        ("sigmoid", |a| mx::sigmoid(&a[0]), -3.0, 3.0),
        ("erf", |a| mx::erf(&a[0]), -2.0, 2.0),
        ("erfinv", |a| mx::erfinv(&a[0]), -0.8, 0.8),
        ("floor", |a| mx::floor(&a[0]), 0.1, 0.9),
        ("sign", |a| mx::sign(&a[0]), 0.1, 0.9),
        ("softmax", |a| mx::softmax(&a[0], [-1]), -2.0, 2.0),
        ("softmax axis 0", |a| mx::softmax(&a[0], [0]), -2.0, 2.0),
        (
            "logsumexp",
            |a| mx::logsumexp_axes(&a[0], [1], false),
            -2.0,
            2.0,
        ),
        ("max", |a| mx::max_axes(&a[0], [0], false), -2.0, 2.0),
        (
            "min keepdims",
            |a| mx::min_axes(&a[0], [-1], true),
            -2.0,
            2.0,
        ),
        ("mean", |a| mx::mean_axes(&a[0], [0, 1], false), -2.0, 2.0),
        ("cumsum", |a| mx::cumsum(&a[0], Some(1)), -2.0, 2.0),
        (
            "cumsum reverse exclusive",
            |a| {
                mx::cumsum_with(
                    &a[0],
                    Some(0),
                    mx::ScanOptions {
                        reverse: true,
                        inclusive: false,
                    },
                )
            },
            -2.0,
            2.0,
        ),
        (
            "slice",
            |a| mx::slice(&a[0], [1, 0], [3, 4], [1, 2]),
            -2.0,
            2.0,
        ),
        (
            "slice reversed",
            |a| mx::slice(&a[0], [2, 3], [-4, -5], [-1, -2]),
            -2.0,
            2.0,
        ),
        (
            "concatenate",
            |a| mx::concatenate(&[a[0].clone(), mx::exp(&a[0])?], 1),
            -1.0,
            1.0,
        ),
        (
            "where",
            |a| {
                mx::r#where(
                    &mx::greater(&a[0], 0.0)?,
                    &mx::exp(&a[0])?,
                    &mx::sin(&a[0])?,
                )
            },
            -1.0,
            1.0,
        ),
        (
            "contiguous of transpose",
            |a| mx::contiguous(&a[0].transpose()?),
            -1.0,
            1.0,
        ),
    ]
}

#[test]
fn unary_and_reduction_rules_match_finite_differences() {
    for (k, (name, f, lo, hi)) in unary_cases().into_iter().enumerate() {
        let x = rand_in(&[3, 5], 40 + k as u64, lo, hi);
        check_grads(name, f, &[x], 1e-5);
    }
}

#[test]
fn unary_and_reduction_rules_vmap_like_slices() {
    for (k, (name, f, lo, hi)) in unary_cases().into_iter().enumerate() {
        let x = rand_in(&[4, 3, 5], 80 + k as u64, lo, hi);
        check_vmap(name, f, std::slice::from_ref(&x), &[Some(0)], 1e-12);
        check_vmap(name, f, &[x], &[Some(-1)], 1e-12);
    }
}

fn binary_cases() -> Vec<(&'static str, F)> {
    vec![
        ("subtract", |a| mx::subtract(&a[0], &a[1])),
        ("divide", |a| mx::divide(&a[0], &a[1])),
        ("power", |a| mx::power(&a[0], &a[1])),
        ("maximum", |a| mx::maximum(&a[0], &a[1])),
        ("minimum", |a| mx::minimum(&a[0], &a[1])),
        ("logaddexp", |a| mx::logaddexp(&a[0], &a[1])),
        ("arctan2", |a| mx::arctan2(&a[0], &a[1])),
        ("remainder", |a| mx::remainder(&a[0], &a[1])),
        ("multiply by comparison", |a| {
            mx::multiply(&a[0], &mx::greater(&a[0], &a[1])?)
        }),
    ]
}

#[test]
fn binary_rules_match_finite_differences_and_vmap() {
    for (k, (name, f)) in binary_cases().into_iter().enumerate() {
        let a = rand_in(&[3, 4], 200 + k as u64, 0.5, 2.0);
        let b = rand_in(&[4], 300 + k as u64, 0.6, 1.9);
        check_grads(name, f, &[a.clone(), b.clone()], 1e-5);
        let ab = rand_in(&[2, 3, 4], 400 + k as u64, 0.5, 2.0);
        check_vmap(name, f, &[ab.clone(), b.clone()], &[Some(0), None], 1e-12);
        let bb = rand_in(&[4, 2], 500 + k as u64, 0.6, 1.9);
        check_vmap(name, f, &[ab, bb], &[Some(0), Some(1)], 1e-12);
    }
}

#[test]
fn maximum_splits_ties_as_mlx() {
    // MLX: d max(a, b)/da is (a > b), d/db is (a <= b): a tie goes to b.
    let g = mx::grad(|a: &[Array]| mx::sum(&mx::maximum(&a[0], &a[1])?), [0, 1])(&[
        mx::array![1.0, 2.0],
        mx::array![1.0, 1.0],
    ])
    .unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![0.0, 1.0]);
    assert_eq!(g[1].to_vec::<f32>().unwrap(), vec![1.0, 0.0]);
    // max over an axis shares the cotangent among equal maxima.
    let g = mx::grad(|a: &[Array]| mx::max(&a[0]), 0)(&[mx::array![3.0, 1.0, 3.0]]).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![0.5, 0.0, 0.5]);
}

#[test]
fn indexing_linalg_and_fast_rules() {
    let x = rand(&[4, 5], 600);
    let idx = Array::from_slice(&[0i32, 3, 3, 1, 4, 0, 2, 2], &[4, 2]).unwrap();
    type Case = (&'static str, Box<dyn Fn(&[Array]) -> Result<Array>>);
    let cases: Vec<Case> = vec![
        (
            "take rows",
            Box::new(|a: &[Array]| mx::take(&a[0], &mx::array![2i32, 0, 2], Some(0))),
        ),
        (
            "take flat",
            Box::new(|a: &[Array]| mx::take(&a[0], &mx::array![[1i32, 7], [7, 19]], None)),
        ),
        (
            "index array",
            Box::new(|a: &[Array]| a[0].index(mx::s![.., mx::array![4i32, 1, 4]])),
        ),
        (
            "take_along_axis",
            Box::new(move |a: &[Array]| mx::take_along_axis(&a[0], &idx, Some(1))),
        ),
        (
            "addmm",
            Box::new(|a: &[Array]| {
                mx::addmm(
                    &a[0].sum_axes([1], true)?,
                    &a[0],
                    &a[0].transpose()?,
                    0.5,
                    2.0,
                )
            }),
        ),
        (
            "inner",
            Box::new(|a: &[Array]| mx::inner(&a[0], &mx::sin(&a[0])?)),
        ),
    ];
    for (name, f) in &cases {
        let f = |a: &[Array]| f(a);
        check_grads(name, &f, std::slice::from_ref(&x), 1e-4);
        let xb = rand(&[3, 4, 5], 700);
        check_vmap(name, &f, &[xb], &[Some(0)], 1e-9);
    }
}

#[test]
fn fast_norms_differentiate_like_their_formulas() {
    // The fast norms compute in float32: compare with the plain formula's gradients.
    let x = rand(&[4, 6], 800).astype(mx::float32).unwrap();
    let w = rand(&[6], 801).astype(mx::float32).unwrap();
    let fast = |a: &[Array]| mx::sum(&mx::sin(&mx::fast::rms_norm(&a[0], Some(&a[1]), 1e-5)?)?);
    let plain = |a: &[Array]| {
        let ms = mx::mean_axes(&mx::square(&a[0])?, [-1], true)?;
        let y = &a[0] * &mx::rsqrt(&(ms + 1e-5))? * &a[1];
        mx::sum(&mx::sin(&y)?)
    };
    let g1 = mx::grad(fast, [0, 1])(&[x.clone(), w.clone()]).unwrap();
    let g2 = mx::grad(plain, [0, 1])(&[x.clone(), w.clone()]).unwrap();
    for (a, b) in g1.iter().zip(&g2) {
        let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        assert!(
            a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-4),
            "{a:?} {b:?}"
        );
    }
    let fast = |a: &[Array]| {
        mx::sum(&mx::sin(&mx::fast::layer_norm(
            &a[0],
            Some(&a[1]),
            Some(&a[1]),
            1e-5,
        )?)?)
    };
    let plain = |a: &[Array]| {
        let mu = mx::mean_axes(&a[0], [-1], true)?;
        let xc = &a[0] - &mu;
        let var = mx::mean_axes(&mx::square(&xc)?, [-1], true)?;
        let y = &xc * &mx::rsqrt(&(var + 1e-5))? * &a[1] + &a[1];
        mx::sum(&mx::sin(&y)?)
    };
    let g1 = mx::grad(fast, [0, 1])(&[x.clone(), w.clone()]).unwrap();
    let g2 = mx::grad(plain, [0, 1])(&[x.clone(), w.clone()]).unwrap();
    for (a, b) in g1.iter().zip(&g2) {
        let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        assert!(
            a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-4),
            "{a:?} {b:?}"
        );
    }
    // vmap of the fast norm equals the norm of each slice.
    let xb = rand(&[3, 4, 6], 802).astype(mx::float32).unwrap();
    check_vmap(
        "rms_norm",
        |a| mx::fast::rms_norm(&a[0], None, 1e-5),
        &[xb],
        &[Some(1)],
        1e-5,
    );
}

#[test]
fn fused_batch_norm_differentiates_like_its_formula() {
    // float32 runs the fused kernels: compare values and gradients (through all three outputs,
    // as a loss that reads the running statistics would) with the same formula in plain ops,
    // in float64.
    let x = rand(&[3, 5, 4], 810);
    let w = rand(&[4], 811);
    let b = rand(&[4], 812);
    let loss = |out: &[Array]| -> mx::Result<Array> {
        let y = mx::sum(&mx::sin(&out[0])?)?;
        let m = mx::sum(&mx::multiply(&out[1], 0.7)?)?;
        let s = mx::sum(&mx::multiply(&out[2], -0.3)?)?;
        mx::add(&mx::add(&y, &m)?, &s)
    };
    let fused = |a: &[Array]| {
        let f32s: Vec<Array> = a.iter().map(|v| v.astype(mx::float32).unwrap()).collect();
        loss(&mx::fast::batch_norm_train(
            &f32s[0],
            Some(&f32s[1]),
            Some(&f32s[2]),
            1e-5,
        )?)
    };
    let plain = |a: &[Array]| {
        let mean = mx::mean_axes(&a[0], [0, 1], false)?;
        let xc = &a[0] - &mean;
        let ss = mx::sum_axes(&mx::square(&xc)?, [0, 1], false)?;
        let y = &xc * &mx::rsqrt(&(&ss / 15.0 + 1e-5))? * &a[1] + &a[2];
        loss(&[y, mean, ss])
    };
    let inputs = [x.clone(), w.clone(), b.clone()];
    let v1 = fused(&inputs).unwrap().astype(mx::float64).unwrap();
    let v2 = plain(&inputs).unwrap();
    assert!((v1.item::<f64>().unwrap() - v2.item::<f64>().unwrap()).abs() < 1e-4);
    let g1 = mx::grad(fused, [0, 1, 2])(&inputs).unwrap();
    let g2 = mx::grad(plain, [0, 1, 2])(&inputs).unwrap();
    for (a, b) in g1.iter().zip(&g2) {
        let (a, b) = (a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
        assert!(
            a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-4),
            "{a:?} {b:?}"
        );
    }
    // Second order goes through the plain-ops twins of the fused nodes.
    let gx = |a: &[Array]| mx::sum(&mx::square(&mx::grad(fused, 0)(a)?[0])?);
    let gp = |a: &[Array]| mx::sum(&mx::square(&mx::grad(plain, 0)(a)?[0])?);
    let h1 = mx::grad(gx, 0)(&inputs).unwrap()[0]
        .to_vec::<f64>()
        .unwrap();
    let h2 = mx::grad(gp, 0)(&inputs).unwrap()[0]
        .to_vec::<f64>()
        .unwrap();
    assert!(
        h1.iter()
            .zip(&h2)
            .all(|(p, q)| (p - q).abs() < 1e-3 * (1.0 + q.abs())),
        "{h1:?} {h2:?}"
    );
    // jvp and vmap run the plain twin.
    let x32 = x.astype(mx::float32).unwrap();
    check_vmap(
        "batch_norm_train",
        |a| Ok(mx::fast::batch_norm_train(&a[0], None, None, 1e-5)?[0].clone()),
        &[rand(&[2, 3, 5, 4], 813).astype(mx::float32).unwrap()],
        &[Some(0)],
        1e-5,
    );
    let (_, t) = mx::jvp(
        |a: &[Array]| Ok(mx::fast::batch_norm_train(&a[0], None, None, 1e-5)?[0].clone()),
        std::slice::from_ref(&x32),
        &[mx::ones_like(&x32).unwrap()],
    )
    .unwrap();
    // A constant shift leaves the normalized output unchanged.
    assert!(t[0].to_vec::<f32>().unwrap().iter().all(|v| v.abs() < 1e-4));
}

#[test]
fn fused_layer_norm_gradient_matches_its_formula() {
    // float32 with a weight takes the fused LayerNormVjp node; float64 the plain-ops formula.
    // Gradients of x, weight and bias agree (with and without a bias, leading axes of several
    // sizes, a broadcast cotangent); second order, jvp and vmap go through the twin.
    for (shape, bias) in [
        (vec![3usize, 5, 16], true),
        (vec![70, 8], false),
        (vec![1, 33], true),
    ] {
        let d = *shape.last().unwrap();
        let run = move |a: &[Array]| -> mx::Result<Array> {
            let y = mx::fast::layer_norm(&a[0], Some(&a[1]), bias.then_some(&a[2]), 1e-5)?;
            // A cotangent that differs per element, and one broadcast over the rows.
            mx::add(
                &mx::sum(&mx::multiply(&mx::sin(&y)?, &a[3])?)?,
                &mx::sum(&mx::multiply(&y, &a[4])?)?,
            )
        };
        let fused = move |a: &[Array]| {
            let f32s: Vec<Array> = a.iter().map(|v| v.astype(mx::float32).unwrap()).collect();
            run(&f32s)
        };
        let inputs = vec![
            rand(&shape, 830),
            rand(&[d], 831),
            rand(&[d], 832),
            rand(&shape, 833),
            rand(&[d], 834),
        ];
        let g1 = mx::grad(fused, &[0, 1, 2][..])(&inputs).unwrap();
        let g2 = mx::grad(run, &[0, 1, 2][..])(&inputs).unwrap();
        for (i, (a, b)) in g1.iter().zip(&g2).enumerate() {
            assert_eq!(a.shape(), b.shape());
            let (a, b) = (a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
            assert!(
                a.iter()
                    .zip(&b)
                    .all(|(p, q)| (p - q).abs() < 1e-4 * (1.0 + q.abs())),
                "{shape:?} input {i}: {a:?} {b:?}"
            );
        }
        let gx = move |a: &[Array]| mx::sum(&mx::square(&mx::grad(fused, 0)(a)?[0])?);
        let gp = move |a: &[Array]| mx::sum(&mx::square(&mx::grad(run, 0)(a)?[0])?);
        let h1 = mx::grad(gx, 1)(&inputs).unwrap()[0]
            .to_vec::<f64>()
            .unwrap();
        let h2 = mx::grad(gp, 1)(&inputs).unwrap()[0]
            .to_vec::<f64>()
            .unwrap();
        assert!(
            h1.iter()
                .zip(&h2)
                .all(|(p, q)| (p - q).abs() < 1e-3 * (1.0 + q.abs())),
            "{h1:?} {h2:?}"
        );
    }
    // jvp and vmap of the gradient (the fused node's own rules run its twin).
    let dx = |a: &[Array]| -> mx::Result<Array> {
        let f = |b: &[Array]| {
            mx::sum(&mx::sin(&mx::fast::layer_norm(
                &b[0],
                Some(&b[1]),
                None,
                1e-5,
            )?)?)
        };
        Ok(mx::grad(f, 0)(a)?[0].clone())
    };
    let dx64 = |a: &[Array]| -> mx::Result<Array> {
        let b: Vec<Array> = a.iter().map(|v| v.astype(mx::float64).unwrap()).collect();
        dx(&b)
    };
    let x = rand(&[4, 6], 835).astype(mx::float32).unwrap();
    let w = rand(&[6], 836).astype(mx::float32).unwrap();
    let t = rand(&[4, 6], 837).astype(mx::float32).unwrap();
    let zw = mx::zeros(&[6], mx::float32).unwrap();
    let tangents = [t, zw];
    let (_, j1) = mx::jvp(dx, &[x.clone(), w.clone()], &tangents).unwrap();
    let (_, j2) = mx::jvp(dx64, &[x, w.clone()], &tangents).unwrap();
    let (j1, j2) = (
        j1[0].astype(mx::float64).unwrap().to_vec::<f64>().unwrap(),
        j2[0].to_vec::<f64>().unwrap(),
    );
    assert!(
        j1.iter()
            .zip(&j2)
            .all(|(p, q)| (p - q).abs() < 1e-4 * (1.0 + q.abs()))
    );
    check_vmap(
        "layer_norm gradient",
        dx,
        &[rand(&[3, 4, 6], 838).astype(mx::float32).unwrap(), w],
        &[Some(0), None],
        1e-5,
    );
}

#[test]
fn fused_lstm_differentiates_like_its_formula() {
    // float32 runs the fused recurrence; float64 composes the same arithmetic from ops.
    // Values and gradients (through all three outputs) must agree, with and without initial
    // states (MLX's layer skips the first product / forget term without them).
    let loss = |out: &[Array]| -> mx::Result<Array> {
        let h = mx::sum(&mx::sin(&out[0])?)?;
        let c = mx::sum(&mx::multiply(&out[1], 0.7)?)?;
        let g = mx::sum(&mx::multiply(&mx::square(&out[2])?, -0.3)?)?;
        mx::add(&mx::add(&h, &c)?, &g)
    };
    for (hidden, cell) in [(false, false), (true, false), (false, true), (true, true)] {
        let run = move |a: &[Array]| -> mx::Result<Vec<Array>> {
            let h0 = hidden.then(|| a[2].clone());
            let c0 = cell.then(|| a[2 + hidden as usize].clone());
            mx::fast::lstm_sequence(&a[0], &a[1], h0.as_ref(), c0.as_ref())
        };
        let fused = move |a: &[Array]| {
            let f32s: Vec<Array> = a.iter().map(|v| v.astype(mx::float32).unwrap()).collect();
            loss(&run(&f32s)?)
        };
        let plain = move |a: &[Array]| loss(&run(a)?);
        let mut inputs = vec![rand(&[2, 5, 12], 820), rand(&[12, 3], 821)];
        if hidden {
            inputs.push(rand(&[2, 3], 822));
        }
        if cell {
            inputs.push(rand(&[2, 3], 823));
        }
        let v1 = fused(&inputs).unwrap().astype(mx::float64).unwrap();
        let v2 = plain(&inputs).unwrap();
        assert!((v1.item::<f64>().unwrap() - v2.item::<f64>().unwrap()).abs() < 1e-4);
        let argnums: Vec<usize> = (0..inputs.len()).collect();
        let g1 = mx::grad(fused, &argnums[..])(&inputs).unwrap();
        let g2 = mx::grad(plain, &argnums[..])(&inputs).unwrap();
        for (a, b) in g1.iter().zip(&g2) {
            assert_eq!(a.shape(), b.shape());
            let (a, b) = (a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
            assert!(
                a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-4),
                "hidden {hidden} cell {cell}: {a:?} {b:?}"
            );
        }
        // Second order goes through the plain-ops twins of the fused nodes.
        let gx = move |a: &[Array]| mx::sum(&mx::square(&mx::grad(fused, 1)(a)?[0])?);
        let gp = move |a: &[Array]| mx::sum(&mx::square(&mx::grad(plain, 1)(a)?[0])?);
        let h1 = mx::grad(gx, 0)(&inputs).unwrap()[0]
            .to_vec::<f64>()
            .unwrap();
        let h2 = mx::grad(gp, 0)(&inputs).unwrap()[0]
            .to_vec::<f64>()
            .unwrap();
        assert!(
            h1.iter()
                .zip(&h2)
                .all(|(p, q)| (p - q).abs() < 1e-3 * (1.0 + q.abs())),
            "{h1:?} {h2:?}"
        );
    }
    // jvp and vmap run the plain twin.
    let xp = rand(&[2, 4, 8], 824);
    let wh = rand(&[8, 2], 825);
    let last_h = |a: &[Array]| Ok(mx::fast::lstm_sequence(&a[0], &a[1], None, None)?[0].clone());
    let f32s = [
        xp.astype(mx::float32).unwrap(),
        wh.astype(mx::float32).unwrap(),
    ];
    let tangents = [rand(&[2, 4, 8], 826), rand(&[8, 2], 827)];
    let t32: Vec<Array> = tangents
        .iter()
        .map(|t| t.astype(mx::float32).unwrap())
        .collect();
    let (_, t1) = mx::jvp(last_h, &f32s, &t32).unwrap();
    let (_, t2) = mx::jvp(last_h, &[xp.clone(), wh.clone()], &tangents).unwrap();
    let (t1, t2) = (
        t1[0].astype(mx::float64).unwrap().to_vec::<f64>().unwrap(),
        t2[0].to_vec::<f64>().unwrap(),
    );
    assert!(
        t1.iter().zip(&t2).all(|(p, q)| (p - q).abs() < 1e-4),
        "{t1:?} {t2:?}"
    );
    check_vmap(
        "lstm_sequence",
        last_h,
        &[
            rand(&[3, 2, 4, 8], 828).astype(mx::float32).unwrap(),
            f32s[1].clone(),
        ],
        &[Some(0), None],
        1e-5,
    );
}

#[test]
fn lstm_sequence_rejects_bad_shapes() {
    let xp = mx::zeros(&[2, 3, 8], mx::float32).unwrap();
    let wh = mx::zeros(&[8, 2], mx::float32).unwrap();
    let bad = |r: mx::Result<Vec<Array>>, what: &str| {
        let e = r.expect_err("an error").to_string();
        assert!(e.contains(what), "{e}");
    };
    bad(
        mx::fast::lstm_sequence(
            &mx::zeros(&[2, 3, 7], mx::float32).unwrap(),
            &wh,
            None,
            None,
        ),
        "x_proj",
    );
    bad(
        mx::fast::lstm_sequence(&xp, &mx::zeros(&[8, 3], mx::float32).unwrap(), None, None),
        "w_h",
    );
    let h = mx::zeros(&[3, 2], mx::float32).unwrap();
    bad(mx::fast::lstm_sequence(&xp, &wh, Some(&h), None), "hidden");
    bad(mx::fast::lstm_sequence(&xp, &wh, None, Some(&h)), "cell");
    let ints = mx::zeros(&[2, 3, 8], mx::int32).unwrap();
    bad(
        mx::fast::lstm_sequence(&ints, &mx::zeros(&[8, 2], mx::int32).unwrap(), None, None),
        "floating",
    );
}
