//! The transform machinery itself: argument handling, errors, nesting, tracing through eval.
use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, ErrorKind};

fn v(a: &Array) -> Vec<f64> {
    a.astype(mx::float64).unwrap().to_vec::<f64>().unwrap()
}

#[test]
fn grad_of_polynomial_and_argnums() {
    let f = |a: &[Array]| mx::sum(&(&a[0] * &a[0] * &a[1]));
    let x = mx::array![1.0, 2.0];
    let y = mx::array![3.0, -1.0];
    let g = mx::grad(f, [0, 1])(&[x.clone(), y.clone()]).unwrap();
    assert_eq!(v(&g[0]), vec![6.0, -4.0]);
    assert_eq!(v(&g[1]), vec![1.0, 4.0]);
    let g1 = mx::grad(f, 1)(&[x, y]).unwrap();
    assert_eq!(g1.len(), 1);
    assert_eq!(v(&g1[0]), vec![1.0, 4.0]);
}

#[test]
fn grad_errors_match_mlx() {
    let f = |a: &[Array]| Ok(&a[0] * &a[0]);
    let e = mx::grad(f, 0)(&[mx::array![1.0, 2.0]]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Value);
    assert_eq!(
        e.message(),
        "[vjp] Output shape (2) does not match cotangent shape ()."
    );
    let e = mx::grad(|a: &[Array]| mx::sum(&a[0]), 2)(&[mx::array![1.0]]).unwrap_err();
    assert!(e.message().contains("argument index 2"), "{e}");
    let e = mx::grad(|a: &[Array]| mx::sum(&a[0]), [0, 0])(&[mx::array![1.0]]).unwrap_err();
    assert_eq!(
        e.message(),
        "[grad] Duplicate argument index 0 is not allowed."
    );
    let e = mx::grad(|a: &[Array]| mx::sum(&a[0]), -1)(&[mx::array![1.0]]).unwrap_err();
    assert_eq!(
        e.message(),
        "[grad] Can't compute the gradient of negative argument index -1"
    );
    let e = mx::vjp(
        |a| Ok(vec![&a[0] * 2.0, &a[0] * 3.0]),
        &[mx::array![1.0]],
        &[mx::array![1.0]],
    )
    .unwrap_err();
    assert!(
        e.message().contains("does not match number of cotangents"),
        "{e}"
    );
}

#[test]
fn value_and_grad_returns_aux_outputs() {
    let f = |a: &[Array]| Ok(vec![mx::sum(&mx::exp(&a[0])?)?, &a[0] * 2.0]);
    let (vals, grads) = mx::value_and_grad(f, 0)(&[mx::array![0.0, 1.0]]).unwrap();
    assert_eq!(vals.len(), 2);
    assert!((vals[0].item::<f32>().unwrap() - (1.0 + 1f32.exp())).abs() < 1e-5);
    assert_eq!(v(&vals[1]), vec![0.0, 2.0]);
    assert!((v(&grads[0])[1] - 1f64.exp()).abs() < 1e-5);
}

#[test]
fn integer_inputs_get_integer_gradients() {
    // As MLX: grad of sum(x * x) at int32 [1, 2] is int32 [2, 4].
    let g = mx::grad(|a: &[Array]| mx::sum(&(&a[0] * &a[0])), 0)(&[mx::array![1i32, 2]]).unwrap();
    assert_eq!(g[0].dtype(), mx::int32);
    assert_eq!(g[0].to_vec::<i32>().unwrap(), vec![2, 4]);
    // A cast to an integer type passes the cotangent back in the input's dtype.
    let g =
        mx::grad(|a: &[Array]| mx::sum(&(a[0].astype(mx::int32)? * 2)), 0)(&[mx::array![1.0, 2.0]])
            .unwrap();
    assert_eq!(g[0].dtype(), mx::float32);
    assert_eq!(v(&g[0]), vec![2.0, 2.0]);
}

#[test]
fn higher_order_derivatives_nest() {
    let f = |a: &[Array]| mx::sum(&mx::sin(&a[0])?);
    let d1 = mx::grad(f, 0);
    let d2 = mx::grad(move |a: &[Array]| mx::sum(&d1(a)?[0]), 0);
    let d3 = mx::grad(move |a: &[Array]| mx::sum(&d2(a)?[0]), 0);
    let x = Array::from_slice(&[0.3f64, 1.2], &[2]).unwrap();
    let got = v(&d3(&[x]).unwrap()[0]);
    for (g, x) in got.iter().zip([0.3f64, 1.2]) {
        assert!((g + x.cos()).abs() < 1e-12, "{g} vs {}", -x.cos());
    }
}

#[test]
fn jvp_of_vjp_and_vmap_of_grad() {
    // d/dx of x * vjp(exp)(x, 1) = d/dx (x e^x) = e^x + x e^x.
    let x = Array::from_slice(&[0.5f64], &[1]).unwrap();
    let g = |a: &[Array]| {
        let (_, g) = mx::vjp(
            |b| mx::exp(&b[0]),
            &[a[0].clone()],
            &[mx::ones_like(&a[0])?],
        )?;
        Ok(&a[0] * &g[0])
    };
    let (_, t) = mx::jvp(
        g,
        std::slice::from_ref(&x),
        &[Array::from_slice(&[1.0f64], &[1]).unwrap()],
    )
    .unwrap();
    let e = 0.5f64.exp();
    assert!((v(&t[0])[0] - (e + 0.5 * e)).abs() < 1e-12);

    // vmap of grad: per-row gradients of sum(tanh(row)).
    let rows = rand(&[4, 3], 5);
    let per_row = mx::vmap(
        mx::grad(|a: &[Array]| mx::sum(&mx::tanh(&a[0])?), 0),
        &[],
        &[],
    );
    let got = per_row(std::slice::from_ref(&rows)).unwrap();
    let want = mx::grad(|a: &[Array]| mx::sum(&mx::tanh(&a[0])?), 0)(&[rows]).unwrap();
    let (a, b) = (v(&got[0]), v(&want[0]));
    assert_eq!(got[0].shape(), &[4, 3]);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-12);
    }
}

#[test]
fn stop_gradient_blocks_and_same_input_twice_accumulates() {
    let f = |a: &[Array]| mx::sum(&(&a[0] * &mx::stop_gradient(&a[0])?));
    let g = mx::grad(f, 0)(&[mx::array![3.0]]).unwrap();
    assert_eq!(v(&g[0]), vec![3.0]);
    // The same array passed as both arguments: each gets its own gradient.
    let x = mx::array![2.0];
    let g = mx::grad(|a: &[Array]| mx::sum(&(&a[0] * &a[1])), [0, 1])(&[x.clone(), x]).unwrap();
    assert_eq!((v(&g[0]), v(&g[1])), (vec![2.0], vec![2.0]));
}

#[test]
fn eval_inside_a_differentiated_function_keeps_the_graph() {
    // As MLX: y is evaluated inside f, and the gradient still flows through it.
    let f = |a: &[Array]| {
        let y = &a[0] * &a[0];
        y.eval()?;
        mx::sum(&y)
    };
    let g = mx::grad(f, 0)(&[mx::array![1.0, 2.0]]).unwrap();
    assert_eq!(v(&g[0]), vec![2.0, 4.0]);
}

#[test]
fn vmap_axes_and_errors() {
    let x = rand(&[2, 3], 1);
    let y = rand(&[2], 2);
    // Mapping axis 1 of x against a shared y; output stacked on axis 1.
    let f = mx::vmap(
        |a: &[Array]| Ok(&a[0] * &a[1]),
        &[Some(1), None],
        &[Some(1)],
    );
    let got = f(&[x.clone(), y.clone()]).unwrap();
    let want = &x * &mx::expand_dims(&y, 1).unwrap();
    assert_eq!(got[0].shape(), &[2, 3]);
    assert_eq!(v(&got[0]), v(&want));

    let e =
        mx::vmap(|a: &[Array]| mx::sum(&a[0]), &[Some(3)], &[])(&[
            mx::ones(&[2, 3], mx::float32).unwrap()
        ])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Index);
    assert_eq!(
        e.message(),
        "[vmap] Invalid vectorization axis 3 for array with shape (2,3)"
    );
    let e = mx::vmap(|a: &[Array]| Ok(&a[0] + &a[1]), &[], &[])(&[
        mx::ones(&[2, 3], mx::float32).unwrap(),
        mx::ones(&[3, 3], mx::float32).unwrap(),
    ])
    .unwrap_err();
    assert_eq!(e.message(), "[vmap] Inconsistent axis sizes: 3 and 2.");
    let e = mx::vmap(
        |a: &[Array]| {
            (&a[0] * 2.0).eval()?;
            Ok(a[0].clone())
        },
        &[],
        &[],
    )(&[mx::ones(&[2, 3], mx::float32).unwrap()])
    .unwrap_err();
    assert!(
        e.message()
            .contains("Attempting to eval an array during function transformations")
    );
    // An output that does not depend on the mapped input is repeated.
    let got = mx::vmap(|_a: &[Array]| mx::ones(&[2], mx::float32), &[], &[])(&[mx::ones(
        &[3, 2],
        mx::float32,
    )
    .unwrap()])
    .unwrap();
    assert_eq!(got[0].shape(), &[3, 2]);
}

#[test]
fn core_rules_against_finite_differences() {
    let x = rand(&[3, 4], 11);
    let w = rand(&[4, 2], 12);
    check_grads("exp", |a| mx::exp(&a[0]), std::slice::from_ref(&x), 1e-6);
    check_grads("sin", |a| mx::sin(&a[0]), std::slice::from_ref(&x), 1e-6);
    check_grads("tanh", |a| mx::tanh(&a[0]), std::slice::from_ref(&x), 1e-6);
    check_grads("mul", |a| Ok(&a[0] * &a[1]), &[x.clone(), x.clone()], 1e-6);
    check_grads(
        "add broadcast",
        |a| Ok(&a[0] + &a[1]),
        &[x.clone(), rand(&[4], 3)],
        1e-6,
    );
    check_grads(
        "sum axis",
        |a| mx::sum_axes(&a[0], [1], false),
        std::slice::from_ref(&x),
        1e-6,
    );
    check_grads(
        "reshape transpose",
        |a| a[0].reshape(&[4, 3])?.transpose(),
        std::slice::from_ref(&x),
        1e-6,
    );
    check_grads(
        "matmul",
        |a| mx::matmul(&a[0], &a[1]),
        &[x.clone(), w.clone()],
        1e-6,
    );
    check_grads(
        "matvec",
        |a| mx::matmul(&a[0], &a[1]),
        &[x.clone(), rand(&[4], 4)],
        1e-6,
    );
}

#[test]
fn core_rules_vmap_like_stacked_slices() {
    let x = rand(&[3, 4], 21);
    check_vmap(
        "exp",
        |a| mx::exp(&a[0]),
        std::slice::from_ref(&x),
        &[Some(1)],
        1e-12,
    );
    check_vmap(
        "sum",
        |a| mx::sum(&a[0]),
        std::slice::from_ref(&x),
        &[Some(0)],
        1e-12,
    );
    check_vmap(
        "sum axis 0",
        |a| mx::sum_axes(&a[0], [0], true),
        &[rand(&[3, 4, 5], 2)],
        &[Some(1)],
        1e-12,
    );
    check_vmap(
        "mul",
        |a| Ok(&a[0] * &a[1]),
        &[x.clone(), rand(&[4], 3)],
        &[Some(0), None],
        1e-12,
    );
    check_vmap(
        "matmul",
        |a| mx::matmul(&a[0], &a[1]),
        &[rand(&[5, 3, 4], 2), rand(&[4, 2], 3)],
        &[Some(0), None],
        1e-12,
    );
    check_vmap(
        "matmul both",
        |a| mx::matmul(&a[0], &a[1]),
        &[rand(&[3, 5, 4], 2), rand(&[4, 2, 5], 3)],
        &[Some(1), Some(2)],
        1e-12,
    );
    check_vmap(
        "transpose",
        |a| a[0].transpose(),
        &[rand(&[3, 4, 5], 2)],
        &[Some(2)],
        1e-12,
    );
    check_vmap(
        "broadcast",
        |a| a[0].broadcast_to(&[2, 4]),
        &[rand(&[3, 4], 2)],
        &[Some(0)],
        1e-12,
    );
}
