//! Rules of the sorting, reduction, scan, rearranging, shape, nan_to_num, divmod and gated
//! delta primitives: vjp and jvp against finite differences (and each other), vmap against
//! stacking slices, and MLX's errors where MLX has no rule.
use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Result};

fn vals(a: &Array) -> Vec<f64> {
    a.astype(mx::float64).unwrap().to_vec::<f64>().unwrap()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The dot-product test of the vjp against central finite differences, for rules MLX
/// defines without a jvp (cumprod, cummax, cummin).
fn check_vjp_fd<F>(name: &str, f: F, inputs: &[Array], tol: f64)
where
    F: Fn(&[Array]) -> Result<Array> + Copy,
{
    let out = f(inputs).unwrap_or_else(|e| panic!("{name}: forward failed: {e}"));
    let tangents: Vec<Array> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| rand(x.shape(), 3000 + i as u64))
        .collect();
    // Outputs that are infinite (the start of an exclusive cummax) take no cotangent.
    let cot = mx::r#where(&mx::isfinite(&out).unwrap(), &rand(out.shape(), 93), 0.0).unwrap();
    let (_, vjps) = mx::vjp(f, inputs, std::slice::from_ref(&cot))
        .unwrap_or_else(|e| panic!("{name}: vjp: {e}"));
    let h = 1e-6;
    let shifted = |sign: f64| -> Vec<f64> {
        let xs: Vec<Array> = inputs
            .iter()
            .zip(&tangents)
            .map(|(x, t)| x + &(t * (sign * h)))
            .collect();
        vals(&f(&xs).unwrap())
    };
    let (p, m) = (shifted(1.0), shifted(-1.0));
    let fd: Vec<f64> = p.iter().zip(&m).map(|(a, b)| (a - b) / (2.0 * h)).collect();
    // (Where the cotangent is zero, an infinite output's NaN difference counts as zero.)
    let lhs: f64 = vals(&cot)
        .iter()
        .zip(&fd)
        .map(|(c, d)| if *c == 0.0 { 0.0 } else { c * d })
        .sum();
    let rhs: f64 = vjps
        .iter()
        .zip(&tangents)
        .map(|(g, t)| {
            assert_eq!(g.shape(), t.shape(), "{name}: vjp shape");
            dot(&vals(g), &vals(t))
        })
        .sum();
    assert!(
        (lhs - rhs).abs() <= tol * (1.0 + lhs.abs().max(rhs.abs())),
        "{name}: <c, J t> = {lhs} (finite differences) but <J^T c, t> = {rhs}"
    );
}

fn f64s(v: &[f64], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

/// A transposed (non-contiguous) float64 array of `shape`.
fn rand_t(shape: &[usize], seed: u64) -> Array {
    let mut rev = shape.to_vec();
    rev.reverse();
    let axes: Vec<usize> = (0..shape.len()).rev().collect();
    mx::transpose(&rand(&rev, seed), Some(axes)).unwrap()
}

/// vmap of `f` over each axis of a one-input function on an input of `shape` (the mapped
/// axis inserted at every position, counted from the front and from the back).
fn vmap_every_axis<F>(name: &str, f: F, shape: &[usize], seed: u64)
where
    F: Fn(&[Array]) -> Result<Array> + Copy,
{
    for pos in 0..=shape.len() {
        let mut s = shape.to_vec();
        s.insert(pos, 3);
        let x = rand(&s, seed + pos as u64);
        check_vmap(
            &format!("{name} axis {pos}"),
            f,
            std::slice::from_ref(&x),
            &[Some(pos as isize)],
            1e-12,
        );
        let neg = pos as isize - s.len() as isize;
        check_vmap(&format!("{name} axis {neg}"), f, &[x], &[Some(neg)], 1e-12);
    }
}

// ------------------------------------------------------------------------------------------
// sort family

#[test]
fn sort_grads_and_vmap() {
    for axis in [0isize, 1, -1] {
        let f = move |a: &[Array]| mx::sort_axis(&a[0], axis);
        check_grads(&format!("sort {axis}"), f, &[rand(&[4, 5], 1)], 1e-6);
        check_grads(&format!("sort 3d {axis}"), f, &[rand(&[2, 3, 4], 2)], 1e-6);
        check_grads(
            &format!("sort transposed {axis}"),
            f,
            &[rand_t(&[4, 5], 3)],
            1e-6,
        );
        vmap_every_axis(&format!("sort {axis}"), f, &[4, 5], 10);
        let g = move |a: &[Array]| mx::argsort_axis(&a[0], axis);
        vmap_every_axis(&format!("argsort {axis}"), g, &[4, 5], 20);
        // argsort is locally constant: x * argsort(x) has derivative argsort(x).
        let h = move |a: &[Array]| {
            mx::multiply(&a[0], &mx::argsort_axis(&a[0], axis)?.astype(mx::float64)?)
        };
        check_grads(&format!("x * argsort {axis}"), h, &[rand(&[4, 5], 4)], 1e-6);
    }
    // Flattened sort.
    let f = |a: &[Array]| mx::sort(&a[0]);
    check_grads("sort flat", f, &[rand(&[3, 4], 5)], 1e-6);
    // The jvp of argsort is a zero uint32 array.
    let (_, t) = mx::jvp(
        |a: &[Array]| mx::argsort_axis(&a[0], -1),
        &[rand(&[3, 4], 6)],
        &[rand(&[3, 4], 7)],
    )
    .unwrap();
    assert_eq!(t[0].dtype(), mx::uint32);
    assert!(t[0].to_vec::<u32>().unwrap().iter().all(|&v| v == 0));
}

#[test]
fn partition_and_topk_grads_and_vmap() {
    for (kth, axis) in [(1isize, 0isize), (2, 1), (-1, -1), (0, 1)] {
        let f = move |a: &[Array]| mx::partition_axis(&a[0], kth, axis);
        let name = format!("partition {kth} {axis}");
        check_grads(&name, f, &[rand(&[5, 6], 30)], 1e-6);
        check_grads(
            &format!("{name} transposed"),
            f,
            &[rand_t(&[5, 6], 31)],
            1e-6,
        );
        vmap_every_axis(&name, f, &[5, 6], 40);
        let g = move |a: &[Array]| mx::argpartition_axis(&a[0], kth, axis);
        vmap_every_axis(&format!("arg{name}"), g, &[5, 6], 50);
        let h = move |a: &[Array]| {
            mx::multiply(
                &a[0],
                &mx::argpartition_axis(&a[0], kth, axis)?.astype(mx::float64)?,
            )
        };
        check_grads(&format!("x * arg{name}"), h, &[rand(&[5, 6], 32)], 1e-6);
        // The values sit where argpartition's indices say.
        let x = rand(&[5, 6], 33);
        let p = mx::partition_axis(&x, kth, axis).unwrap();
        let i = mx::argpartition_axis(&x, kth, axis).unwrap();
        let t = mx::take_along_axis(&x, &i, Some(axis)).unwrap();
        assert_eq!(vals(&p), vals(&t), "{name}: values follow the indices");
    }
    for (k, axis) in [(1isize, -1isize), (3, 1), (2, 0), (5, 0), (0, -1)] {
        let f = move |a: &[Array]| mx::topk_axis(&a[0], k, axis);
        let name = format!("topk {k} {axis}");
        check_grads(&name, f, &[rand(&[5, 6], 60)], 1e-6);
        check_grads(
            &format!("{name} transposed"),
            f,
            &[rand_t(&[5, 6], 61)],
            1e-6,
        );
        vmap_every_axis(&name, f, &[5, 6], 70);
    }
    // Ties: the gradient goes to as many elements as were chosen.
    let x = f64s(&[1.0, 3.0, 2.0, 3.0], &[4]);
    let (_, g) = mx::vjp(
        |a: &[Array]| mx::topk_axis(&a[0], 2, -1),
        &[x],
        &[f64s(&[1.0, 1.0], &[2])],
    )
    .unwrap();
    assert_eq!(vals(&g[0]), vec![0.0, 1.0, 0.0, 1.0]);
}

#[test]
fn searchsorted_zero_grads_and_vmap() {
    let seq = f64s(&[-0.5, 0.0, 0.25, 0.5], &[4]);
    let f = |a: &[Array]| {
        let seq = f64s(&[-0.5, 0.0, 0.25, 0.5], &[4]);
        mx::multiply(&a[0], &mx::searchsorted(&seq, &a[0])?.astype(mx::float64)?)
    };
    check_grads("x * searchsorted", f, &[rand(&[3, 4], 80)], 1e-6);
    let g = |a: &[Array]| mx::searchsorted_side(&a[0], &a[1], "right");
    let vals2 = rand(&[3, 5], 81);
    check_vmap(
        "vmap searchsorted values",
        g,
        &[seq.clone(), vals2.clone()],
        &[None, Some(1)],
        0.0,
    );
    let seqs = mx::stack(&[seq.clone(), seq.clone(), seq], 0).unwrap();
    let e = mx::vmap(g, &[Some(0), Some(0)], &[])(&[seqs, vals2]).unwrap_err();
    assert!(
        e.to_string()
            .contains("Cannot vmap over the sorted sequence"),
        "{e}"
    );
}

// ------------------------------------------------------------------------------------------
// reductions

#[test]
fn prod_grads_and_vmap() {
    let cases: [(&[usize], &'static [isize], bool); 5] = [
        (&[3, 4], &[1], false),
        (&[3, 4], &[0], true),
        (&[2, 3, 4], &[0, 2], false),
        (&[2, 3, 4], &[-1, -2], true),
        (&[2, 3, 4], &[0, 1, 2], false),
    ];
    for (i, &(shape, axes, keep)) in cases.iter().enumerate() {
        let f = move |a: &[Array]| mx::prod_axes(&a[0], axes, keep);
        let name = format!("prod case {i}");
        check_grads(&name, f, &[rand(shape, 90 + i as u64)], 1e-6);
        check_grads(
            &format!("{name} transposed"),
            f,
            &[rand_t(shape, 95 + i as u64)],
            1e-6,
        );
        vmap_every_axis(&name, f, shape, 100);
    }
    // Zeros: one zero gives the product of the others; two zeros give zero everywhere.
    let x = f64s(
        &[1.0, 3.0, 2.0, 3.0, 0.0, 2.0, 0.0, 5.0, 0.0, 2.0, 4.0, 5.0],
        &[3, 4],
    );
    let f = |a: &[Array]| mx::prod_axes(&a[0], [1], false);
    let (_, g) = mx::vjp(f, std::slice::from_ref(&x), &[f64s(&[1.0, 1.0, 1.0], &[3])]).unwrap();
    assert_eq!(
        vals(&g[0]),
        vec![18.0, 6.0, 9.0, 6.0, 0.0, 0.0, 0.0, 0.0, 40.0, 0.0, 0.0, 0.0]
    );
    let (_, t) = mx::jvp(f, std::slice::from_ref(&x), &[mx::ones_like(&x).unwrap()]).unwrap();
    assert_eq!(vals(&t[0]), vec![39.0, 0.0, 40.0]);
    check_grads("prod with zeros", f, &[x], 1e-6);
    let prod_all = |a: &[Array]| mx::prod(&a[0]);
    check_grads(
        "prod all",
        prod_all,
        &[rand_in(&[2, 3], 110, 0.5, 1.5)],
        1e-6,
    );
}

#[test]
fn argmax_median_isclose_rules() {
    let h = |a: &[Array]| {
        let i = mx::argmax_axis(&a[0], -1, true)?.astype(mx::float64)?;
        mx::multiply(&a[0], &i)
    };
    check_grads("x * argmax", h, &[rand(&[3, 4], 120)], 1e-6);
    let cases: [(&[usize], &'static [isize]); 4] = [
        (&[3, 5], &[1]),
        (&[3, 4], &[-1]),
        (&[2, 3, 4], &[0, 2]),
        (&[4, 3], &[0]),
    ];
    for (shape, axes) in cases {
        let f = move |a: &[Array]| mx::median_axes(&a[0], axes, false);
        let name = format!("median {shape:?} {axes:?}");
        check_grads(&name, f, &[rand(shape, 121)], 1e-6);
        check_grads(
            &format!("{name} transposed"),
            f,
            &[rand_t(shape, 122)],
            1e-6,
        );
        vmap_every_axis(&name, f, shape, 123);
    }
    // Ties: the two middle elements of the stable sort share the cotangent.
    let (_, g) = mx::vjp(
        |a: &[Array]| mx::median_axes(&a[0], [0], false),
        &[f64s(&[1.0, 3.0, 2.0, 3.0], &[4])],
        &[Array::scalar(1.0f64)],
    )
    .unwrap();
    assert_eq!(vals(&g[0]), vec![0.0, 0.5, 0.5, 0.0]);

    let close = |a: &[Array]| mx::isclose(&a[0], &a[1]);
    // Equal where the mask is set, far apart elsewhere: small steps change neither test.
    let x = rand_in(&[3, 4], 124, 1.0, 2.0);
    let y = mx::r#where(&mx::greater(&rand(&[3, 4], 125), 0.0).unwrap(), &x, 0.5).unwrap();
    check_vmap(
        "vmap isclose",
        close,
        &[x.clone(), y.clone()],
        &[Some(1), Some(-1)],
        0.0,
    );
    check_vmap(
        "vmap isclose one",
        close,
        &[x.clone(), mx::take(&y, 0, Some(0)).unwrap()],
        &[Some(0), None],
        0.0,
    );
    let eq = |a: &[Array]| mx::array_equal(&a[0], &a[1], false);
    check_vmap(
        "vmap array_equal",
        eq,
        &[x.clone(), y.clone()],
        &[Some(0), Some(0)],
        0.0,
    );
    check_vmap(
        "vmap array_equal one",
        eq,
        &[x.clone(), mx::take(&x, 1, Some(0)).unwrap()],
        &[Some(0), None],
        0.0,
    );
    let zero = |a: &[Array]| {
        let c = mx::isclose(&a[0], &a[1])?.astype(mx::float64)?;
        let e = mx::array_equal(&a[0], &a[1], true)?.astype(mx::float64)?;
        mx::multiply(&mx::add(&c, &e)?, &a[0])
    };
    check_grads("x * (isclose + array_equal)", zero, &[x, y], 1e-6);
}

// ------------------------------------------------------------------------------------------
// scans

fn scan_opts(reverse: bool, inclusive: bool) -> mx::ScanOptions {
    mx::ScanOptions { reverse, inclusive }
}

#[test]
fn scan_vjps() {
    for reverse in [false, true] {
        for inclusive in [true, false] {
            for axis in [0isize, 1, -1] {
                let o = scan_opts(reverse, inclusive);
                let name = format!("rev {reverse} incl {inclusive} axis {axis}");
                let cp = move |a: &[Array]| mx::cumprod_with(&a[0], Some(axis), o);
                let cmax = move |a: &[Array]| mx::cummax_with(&a[0], Some(axis), o);
                let cmin = move |a: &[Array]| mx::cummin_with(&a[0], Some(axis), o);
                // (The empty start of an exclusive scan, -inf, is set to 0 for the differences.)
                let lse = move |a: &[Array]| {
                    let out = mx::logcumsumexp_with(&a[0], Some(axis), o)?;
                    mx::r#where(&mx::isneginf(&out)?, 0.0, &out)
                };
                let x = rand(&[4, 5], 130);
                check_vjp_fd(
                    &format!("cumprod {name}"),
                    cp,
                    std::slice::from_ref(&x),
                    1e-6,
                );
                check_vjp_fd(
                    &format!("cummax {name}"),
                    cmax,
                    std::slice::from_ref(&x),
                    1e-6,
                );
                check_vjp_fd(
                    &format!("cummin {name}"),
                    cmin,
                    std::slice::from_ref(&x),
                    1e-6,
                );
                check_grads(
                    &format!("logcumsumexp {name}"),
                    lse,
                    std::slice::from_ref(&x),
                    1e-6,
                );
                let xt = rand_t(&[4, 5], 131);
                check_vjp_fd(
                    &format!("cumprod T {name}"),
                    cp,
                    std::slice::from_ref(&xt),
                    1e-6,
                );
                check_vjp_fd(
                    &format!("cummax T {name}"),
                    cmax,
                    std::slice::from_ref(&xt),
                    1e-6,
                );
                check_grads(&format!("logcumsumexp T {name}"), lse, &[xt], 1e-6);
                // Zeros in the lane: one zero, and two.
                let z = f64s(
                    &[
                        0.5, 0.0, 2.0, -1.5, 0.7, 0.0, 1.5, 0.0, 2.0, 3.0, 1.1, 0.9, 0.0, 1.2,
                        -0.3, 2.0, 1.0, 0.8, 0.0, 1.4,
                    ],
                    &[4, 5],
                );
                check_vjp_fd(&format!("cumprod zeros {name}"), cp, &[z], 1e-6);
            }
        }
    }
    // Ties in cummax: the latest of the tied elements takes the cotangent (MLX's rule).
    let x = f64s(&[1.0, 3.0, 2.0, 3.0], &[4]);
    let (_, g) = mx::vjp(
        |a: &[Array]| mx::cummax(&a[0], Some(0)),
        &[x],
        &[mx::ones(&[4], mx::float64).unwrap()],
    )
    .unwrap();
    assert_eq!(vals(&g[0]), vec![1.0, 2.0, 0.0, 1.0]);
    // MLX has no jvp for cumprod, cummax, cummin.
    for f in [
        (|a: &[Array]| mx::cumprod(&a[0], Some(0))) as fn(&[Array]) -> Result<Array>,
        |a: &[Array]| mx::cummax(&a[0], Some(0)),
        |a: &[Array]| mx::cummin(&a[0], Some(0)),
    ] {
        let e = mx::jvp(f, &[rand(&[3], 1)], &[rand(&[3], 2)]).unwrap_err();
        assert!(
            e.to_string()
                .contains("JVP is not implemented for cumulative"),
            "{e}"
        );
    }
    vmap_every_axis(
        "cumprod",
        |a: &[Array]| mx::cumprod(&a[0], Some(-1)),
        &[3, 4],
        140,
    );
}

// ------------------------------------------------------------------------------------------
// rearranging and views

#[test]
fn pad_grads_and_vmap() {
    let f = |a: &[Array]| mx::pad(&a[0], [(1, 2), (0, 3)]);
    check_grads("pad", f, &[rand(&[3, 4], 150)], 1e-6);
    check_grads("pad transposed", f, &[rand_t(&[3, 4], 151)], 1e-6);
    let g = |a: &[Array]| mx::pad_with(&a[0], [(2, 0), (1, 1)], mx::PadMode::Constant, &a[1]);
    check_grads("pad value", g, &[rand(&[3, 4], 152), rand(&[], 153)], 1e-6);
    let x3 = rand(&[3, 3, 4], 154);
    for ax in [0isize, 1, -1] {
        check_vmap(
            &format!("vmap pad {ax}"),
            g,
            &[x3.clone(), rand(&[], 155)],
            &[Some(ax), None],
            0.0,
        );
    }
    let e = mx::vmap(g, &[Some(0), Some(0)], &[])(&[x3, rand(&[3], 156)]).unwrap_err();
    assert!(
        e.to_string()
            .contains("Vmap over padding value is not supported"),
        "{e}"
    );
}

#[test]
fn diag_tril_triu_grads_and_vmap() {
    for k in [0isize, 1, -2] {
        let f = move |a: &[Array]| mx::diag(&a[0], k);
        // MLX's diag of a vector is a scatter, which has no jvp: only the vjp is checked.
        check_vjp_fd(&format!("diag vector {k}"), f, &[rand(&[4], 160)], 1e-6);
        let e = mx::jvp(f, &[rand(&[4], 160)], &[rand(&[4], 161)]).unwrap_err();
        assert!(
            e.to_string().contains("[scatter] JVP not yet implemented"),
            "{e}"
        );
        check_grads(&format!("diag matrix {k}"), f, &[rand(&[4, 5], 161)], 1e-6);
        vmap_every_axis(&format!("diag vector {k}"), f, &[4], 162);
        vmap_every_axis(&format!("diag matrix {k}"), f, &[4, 5], 163);
        let t = move |a: &[Array]| mx::tril(&a[0], k);
        let u = move |a: &[Array]| mx::triu(&a[0], k);
        check_grads(&format!("tril {k}"), t, &[rand(&[2, 4, 5], 164)], 1e-6);
        check_grads(&format!("tril T {k}"), t, &[rand_t(&[4, 5], 165)], 1e-6);
        vmap_every_axis(&format!("tril {k}"), t, &[4, 5], 166);
        check_grads(&format!("triu {k}"), u, &[rand(&[2, 4, 5], 167)], 1e-6);
        check_grads(&format!("triu T {k}"), u, &[rand_t(&[4, 5], 168)], 1e-6);
        vmap_every_axis(&format!("triu {k}"), u, &[4, 5], 169);
    }
}

#[test]
fn diagonal_grads_and_vmap() {
    let cases = [
        (0isize, 0isize, 1isize),
        (1, 0, 1),
        (-1, 1, 0),
        (2, -1, 0),
        (-1, 0, -1),
    ];
    for (off, a1, a2) in cases {
        let f = move |a: &[Array]| mx::diagonal(&a[0], off, a1, a2);
        let name = format!("diagonal {off} {a1} {a2}");
        check_grads(&name, f, &[rand(&[4, 3, 5], 170)], 1e-6);
        check_grads(&format!("{name} T"), f, &[rand_t(&[4, 3, 5], 171)], 1e-6);
        vmap_every_axis(&name, f, &[4, 3, 5], 172);
    }
    // An empty diagonal.
    let f = |a: &[Array]| mx::diagonal(&a[0], 7, 0, 1);
    check_grads("empty diagonal", f, &[rand(&[3, 4], 173)], 1e-6);
}

#[test]
fn as_strided_and_view_rules() {
    // Overlapping windows: the cotangents of shared elements add up.
    let f = |a: &[Array]| mx::as_strided(&a[0], [3, 4], &[2, 1], 1);
    check_grads("as_strided windows", f, &[rand(&[10], 180)], 1e-6);
    check_grads("as_strided transposed", f, &[rand_t(&[2, 5], 181)], 1e-6);
    let (_, g) = mx::vjp(
        |a: &[Array]| mx::as_strided(&a[0], [3, 2], &[1, 1], 0),
        &[rand(&[4], 182)],
        &[mx::ones(&[3, 2], mx::float64).unwrap()],
    )
    .unwrap();
    assert_eq!(vals(&g[0]), vec![1.0, 2.0, 2.0, 1.0]);
    let e = mx::vmap(f, &[Some(0)], &[])(&[rand(&[2, 10], 183)]).unwrap_err();
    assert!(
        e.to_string().contains("Not implemented for AsStrided"),
        "{e}"
    );
    // View: vmap only (a batch axis at the end moves to the front when sizes change).
    let v = |a: &[Array]| mx::view(&a[0].astype(mx::float32)?, mx::int16)?.astype(mx::float64);
    vmap_every_axis("view", v, &[2, 3], 184);
    let w = |a: &[Array]| mx::view(&a[0], mx::int64)?.astype(mx::float64);
    vmap_every_axis("view same size", w, &[2, 3], 185);
    let e = mx::vjp(w, &[rand(&[2], 186)], &[rand(&[2], 187)]).unwrap_err();
    assert!(e.to_string().contains("Not implemented for View"), "{e}");
}

// ------------------------------------------------------------------------------------------
// nan_to_num, divmod

#[test]
fn nan_to_num_and_divmod_rules() {
    let f = |a: &[Array]| mx::nan_to_num_with(&a[0], 0.5, Some(9.0), Some(-9.0));
    check_grads("nan_to_num", f, &[rand(&[3, 4], 190)], 1e-6);
    vmap_every_axis("nan_to_num", f, &[3, 4], 191);
    let x = f64s(
        &[1.0, f64::NAN, f64::INFINITY, -2.0, f64::NEG_INFINITY],
        &[5],
    );
    let (_, g) = mx::vjp(
        f,
        std::slice::from_ref(&x),
        &[mx::ones(&[5], mx::float64).unwrap()],
    )
    .unwrap();
    assert_eq!(vals(&g[0]), vec![1.0, 0.0, 0.0, 1.0, 0.0]);
    let (_, t) = mx::jvp(
        f,
        std::slice::from_ref(&x),
        &[mx::full(&[5], 2.0, None).unwrap()],
    )
    .unwrap();
    assert_eq!(vals(&t[0]), vec![2.0, 0.0, 0.0, 2.0, 0.0]);

    type F = fn(&[Array]) -> Result<Array>;
    let q: F = |a: &[Array]| Ok(mx::divmod(&a[0], &a[1])?.0);
    let r: F = |a: &[Array]| Ok(mx::divmod(&a[0], &a[1])?.1);
    let (a, b) = (
        rand_in(&[3, 4], 192, -5.0, 5.0),
        rand_in(&[3, 4], 193, 0.5, 2.0),
    );
    for (name, h) in [("quotient", q), ("remainder", r)] {
        check_vmap(
            &format!("vmap divmod {name}"),
            h,
            &[a.clone(), mx::transpose(&b, None::<[usize; 0]>).unwrap()],
            &[Some(0), Some(1)],
            0.0,
        );
        check_vmap(
            &format!("vmap divmod {name} one"),
            h,
            &[a.clone(), mx::take(&b, 0, Some(0)).unwrap()],
            &[Some(0), None],
            0.0,
        );
        let (_, g) = mx::vjp(
            h,
            &[a.clone(), b.clone()],
            &[mx::ones(&[3, 4], mx::float64).unwrap()],
        )
        .unwrap();
        assert!(
            g.iter().all(|g| vals(g).iter().all(|&v| v == 0.0)),
            "{name}: zero vjp"
        );
        let (_, t) = mx::jvp(h, &[a.clone(), b.clone()], &[a.clone(), b.clone()]).unwrap();
        assert!(vals(&t[0]).iter().all(|&v| v == 0.0), "{name}: zero jvp");
    }
}

// ------------------------------------------------------------------------------------------
// gated delta

#[test]
fn gated_delta_grads_and_vmap() {
    let (b, t, hk, hv, dk, dv) = (2, 3, 1, 2, 3, 2);
    let q = rand(&[b, t, hk, dk], 200);
    let k = mx::multiply(&rand(&[b, t, hk, dk], 201), 0.5).unwrap();
    let v = rand(&[b, t, hv, dv], 202);
    let g = rand_in(&[b, t, hv], 203, 0.5, 1.0);
    let gv = rand_in(&[b, t, hv, dk], 204, 0.5, 1.0);
    let beta = rand_in(&[b, t, hv], 205, 0.1, 0.9);
    let s0 = rand(&[b, hv, dv, dk], 206);
    let out = |a: &[Array]| {
        Ok(mx::fast::gated_delta_update(&a[0], &a[1], &a[2], &a[3], &a[4], None, None)?.0)
    };
    let state = |a: &[Array]| {
        Ok(mx::fast::gated_delta_update(&a[0], &a[1], &a[2], &a[3], &a[4], Some(&a[5]), None)?.1)
    };
    let ins = [q.clone(), k.clone(), v.clone(), g.clone(), beta.clone()];
    check_grads("gated_delta out", out, &ins, 1e-6);
    check_grads(
        "gated_delta out gamma vec",
        out,
        &[q.clone(), k.clone(), v.clone(), gv, beta.clone()],
        1e-6,
    );
    let ins6 = [
        q.clone(),
        k.clone(),
        v.clone(),
        g.clone(),
        beta.clone(),
        s0.clone(),
    ];
    check_grads("gated_delta state", state, &ins6, 1e-6);
    let masked = move |a: &[Array]| {
        let m = Array::from_slice(&[true, false, true, true, true, false], &[2, 3]).unwrap();
        Ok(
            mx::fast::gated_delta_update(&a[0], &a[1], &a[2], &a[3], &a[4], Some(&a[5]), Some(&m))?
                .0,
        )
    };
    check_grads("gated_delta masked", masked, &ins6, 1e-6);
    // vmap over a new leading axis of q and the state.
    let qs = rand(&[2, b, t, hk, dk], 207);
    let ss = rand(&[b, hv, dv, dk, 2], 208);
    let axes = [Some(0), None, None, None, None, Some(-1)];
    let ins6b = [qs, k, v, g, beta, ss];
    check_vmap("vmap gated_delta out", masked, &ins6b, &axes, 1e-12);
    check_vmap("vmap gated_delta state", state, &ins6b, &axes, 1e-12);
}

// ------------------------------------------------------------------------------------------
// quantize

#[test]
fn quantize_vmap_and_vjp() {
    type F = fn(&[Array]) -> Result<Array>;
    let scales: F =
        |a: &[Array]| Ok(mx::quantize(&a[0], Some(32), Some(4), mx::QuantMode::Affine)?.1);
    let words: F =
        |a: &[Array]| Ok(mx::quantize(&a[0], Some(32), Some(4), mx::QuantMode::Affine)?.0);
    let fp4: F = |a: &[Array]| Ok(mx::quantize(&a[0], None, None, mx::QuantMode::Mxfp4)?.1);
    for (name, f) in [("scales", scales), ("words", words), ("mxfp4 scales", fp4)] {
        for ax in [0isize, 1, 2, -1] {
            let x = rand(&[3, 2, 64], 210).astype(mx::float32).unwrap();
            let x = if ax == 2 || ax == -1 {
                mx::moveaxis(&rand(&[3, 2, 64], 211), 0, 2)
                    .unwrap()
                    .astype(mx::float32)
                    .unwrap()
            } else {
                mx::moveaxis(&x, 0, ax).unwrap()
            };
            check_vmap(
                &format!("vmap quantize {name} {ax}"),
                f,
                &[x],
                &[Some(ax)],
                0.0,
            );
        }
    }
    // The affine scales are homogeneous of degree one in w: J w = scales.
    let w = rand(&[2, 64], 212).astype(mx::float32).unwrap();
    let (outs, t) = mx::jvp(scales, std::slice::from_ref(&w), std::slice::from_ref(&w)).unwrap();
    let (o, t) = (vals(&outs[0]), vals(&t[0]));
    for (a, b) in o.iter().zip(&t) {
        assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "{a} vs {b}");
    }
    // A float32 dot-product test of the vjp against the jvp.
    let c = rand(&[2, 2], 213).astype(mx::float32).unwrap();
    let (_, g) = mx::vjp(scales, std::slice::from_ref(&w), std::slice::from_ref(&c)).unwrap();
    let tan = rand(&[2, 64], 214).astype(mx::float32).unwrap();
    let (_, jt) = mx::jvp(scales, std::slice::from_ref(&w), std::slice::from_ref(&tan)).unwrap();
    let (lhs, rhs) = (
        dot(&vals(&c), &vals(&jt[0])),
        dot(&vals(&g[0]), &vals(&tan)),
    );
    assert!(
        (lhs - rhs).abs() <= 1e-5 * (1.0 + lhs.abs()),
        "{lhs} vs {rhs}"
    );
    let e = mx::vmap(
        |a: &[Array]| Ok(mx::quantize(&a[0], None, None, mx::QuantMode::Nvfp4)?.0),
        &[Some(0)],
        &[],
    )(&[w.reshape([1, 2, 64]).unwrap()])
    .unwrap_err();
    assert!(e.to_string().contains("Not implemented for ToFP8"), "{e}");
}

// ------------------------------------------------------------------------------------------
// unique

#[test]
fn unique_vjp_and_vmap() {
    // Distinct random values: the finite differences see a smooth gather.
    let padded = |a: &[Array]| mx::unique(&a[0], 9);
    let truncated = |a: &[Array]| mx::unique(&a[0], 4);
    let filled = |a: &[Array]| {
        let o = mx::UniqueOptions::default().fill(&a[1]);
        Ok(mx::unique_with(&a[0], 8, &o)?.remove(0))
    };
    check_vjp_fd("unique padded", padded, &[rand(&[2, 3], 220)], 1e-6);
    check_vjp_fd("unique truncated", truncated, &[rand_t(&[2, 3], 221)], 1e-6);
    check_vjp_fd(
        "unique fill",
        filled,
        &[rand(&[6], 222), rand(&[], 223)],
        1e-6,
    );
    // Duplicates: the first occurrence takes the cotangent.
    let x = f64s(&[2.0, 1.0, 2.0, 1.0], &[4]);
    let (_, g) = mx::vjp(truncated, &[x], &[f64s(&[1.0, 10.0, 100.0, 1000.0], &[4])]).unwrap();
    assert_eq!(vals(&g[0]), vec![10.0, 1101.0, 0.0, 0.0]);
    let e = mx::jvp(padded, &[rand(&[3], 224)], &[rand(&[3], 225)]).unwrap_err();
    assert!(
        e.to_string().contains("[scatter] JVP not yet implemented"),
        "{e}"
    );
    check_vmap(
        "vmap unique",
        truncated,
        &[rand(&[3, 5], 226)],
        &[Some(1)],
        0.0,
    );
    let inverse = |a: &[Array]| {
        let o = mx::UniqueOptions {
            return_inverse: true,
            ..Default::default()
        };
        Ok(mx::unique_with(&a[0], 3, &o)?.remove(1))
    };
    let ints = Array::from_slice(&[1.0f64, 2.0, 1.0, 3.0, 3.0, 3.0], &[2, 3]).unwrap();
    check_vmap("vmap unique inverse", inverse, &[ints], &[Some(0)], 0.0);
}

// ------------------------------------------------------------------------------------------
// nesting: the rules are built from differentiable, vmappable ops

#[test]
fn rules_nest() {
    type F = fn(&[Array]) -> Result<Array>;
    let fs: [(&str, F); 8] = [
        ("sort", |a| {
            mx::sum(&mx::square(&mx::sort_axis(&a[0], -1)?)?)
        }),
        ("topk", |a| {
            mx::sum(&mx::square(&mx::topk_axis(&a[0], 2, -1)?)?)
        }),
        ("prod", |a| mx::sum(&mx::prod_axes(&a[0], [-1], false)?)),
        ("cumprod", |a| mx::sum(&mx::cumprod(&a[0], Some(-1))?)),
        ("logcumsumexp", |a| {
            mx::sum(&mx::logcumsumexp(&a[0], Some(-1))?)
        }),
        ("median", |a| {
            mx::sum(&mx::square(&mx::median_axes(&a[0], [-1], false)?)?)
        }),
        ("pad", |a| {
            mx::sum(&mx::square(&mx::pad(&a[0], [(1, 0), (0, 2)])?)?)
        }),
        ("diagonal", |a| {
            mx::sum(&mx::square(&mx::diagonal(&a[0], 1, 0, 1)?)?)
        }),
    ];
    for (name, f) in fs {
        // The gradient's own vjp against finite differences (grad of grad).
        let g = move |a: &[Array]| Ok(mx::grad(f, 0)(a)?.remove(0));
        check_vjp_fd(
            &format!("grad of grad {name}"),
            g,
            &[rand_in(&[3, 4], 230, 0.5, 1.5)],
            1e-5,
        );
        // The gradient vmapped against stacking per-slice gradients.
        check_vmap(
            &format!("vmap of grad {name}"),
            g,
            &[rand_in(&[2, 3, 4], 231, 0.5, 1.5)],
            &[Some(0)],
            1e-12,
        );
    }
}
