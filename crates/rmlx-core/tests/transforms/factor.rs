//! `mx.linalg`'s transform rules. MLX gives its factorisation primitives (`SVD`, `Inverse`,
//! `Cholesky`, `Eigh`, `Eig`) a vmap rule and no vjp or jvp (for complex64 input too); `QRF` and `LUF` have none
//! (coverage.rs lists those gaps). The composite ops (norms, `det` and `slogdet` up to
//! 3 x 3, `cross`) differentiate through the ops they are built from.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::linalg as la;
use rmlx_core::{Array, Result};

/// A batch of `b` symmetric positive definite `n x n` float64 matrices.
fn spd(b: usize, n: usize, seed: u64) -> Array {
    let a = rand(&[b, n, n], seed);
    let aat = mx::matmul(&a, &mx::swapaxes(&a, -1, -2).unwrap()).unwrap();
    mx::add(
        &aat,
        &mx::multiply(&mx::eye(n, None, 0, mx::float64).unwrap(), n as f64).unwrap(),
    )
    .unwrap()
}

#[test]
fn factorisations_vmap_like_stacked_slices() {
    let s = spd(3, 4, 1);
    let g = rand(&[4, 3, 4], 2);
    let tol = 1e-10;
    check_vmap(
        "inv",
        |a| la::inv(&a[0]),
        std::slice::from_ref(&s),
        &[Some(0)],
        tol,
    );
    check_vmap(
        "inv axis 2",
        |a| la::inv(&a[0]),
        &[mx::moveaxis(&s, 0, 2).unwrap()],
        &[Some(2)],
        tol,
    );
    check_vmap(
        "tri_inv",
        |a| la::tri_inv(&a[0], true),
        std::slice::from_ref(&s),
        &[Some(0)],
        tol,
    );
    check_vmap(
        "cholesky",
        |a| la::cholesky(&a[0], false),
        std::slice::from_ref(&s),
        &[Some(0)],
        tol,
    );
    check_vmap(
        "cholesky upper",
        |a| la::cholesky(&a[0], true),
        &[mx::moveaxis(&s, 0, 1).unwrap()],
        &[Some(1)],
        tol,
    );
    check_vmap(
        "eigvalsh",
        |a| la::eigvalsh(&a[0], "U"),
        std::slice::from_ref(&s),
        &[Some(0)],
        tol,
    );
    check_vmap(
        "eigh residual",
        |a| {
            let (w, v) = la::eigh(&a[0], "L")?;
            mx::subtract(mx::matmul(&a[0], &v)?, mx::multiply(&v, &w)?)
        },
        std::slice::from_ref(&s),
        &[Some(0)],
        tol,
    );
    check_vmap(
        "svd values",
        |a| Ok(la::svd_uv(&a[0], false)?.remove(0)),
        std::slice::from_ref(&g),
        &[Some(0)],
        tol,
    );
    check_vmap(
        "svd reconstruction",
        |a| {
            let usv = la::svd(&a[0])?;
            let k = usv[1].dim(-1)? as isize;
            let u = mx::slice_axis(&usv[0], -1, 0..k)?;
            mx::matmul(&mx::multiply(&u, &usv[1])?, &usv[2])
        },
        std::slice::from_ref(&g),
        &[Some(1)],
        tol,
    );
    check_vmap(
        "pinv",
        |a| la::pinv(&a[0]),
        std::slice::from_ref(&g),
        &[Some(0)],
        1e-9,
    );
    check_vmap(
        "eigvals",
        |a| mx::sort_axis(&mx::real(&la::eigvals(&a[0])?)?, -1),
        &[rand(&[3, 4, 4], 5)],
        &[Some(0)],
        1e-5,
    );
    check_vmap(
        "eig values",
        |a| mx::sort_axis(&mx::real(&la::eig(&a[0])?.0)?, -1),
        &[rand(&[3, 4, 4], 5)],
        &[Some(0)],
        1e-5,
    );
}

/// A batch of complex64 matrices from two float64 random arrays.
fn crand(shape: &[usize], seed: u64) -> Array {
    let re = mx::astype(&rand(shape, seed), mx::complex64).unwrap();
    let im = mx::astype(&rand(shape, seed + 1000), mx::complex64).unwrap();
    mx::add(&re, &mx::multiply(&im, mx::C64::new(0.0, 1.0)).unwrap()).unwrap()
}

/// The real and imaginary parts of `x`, side by side (check_vmap compares real values).
fn parts(x: &Array) -> Result<Array> {
    mx::concatenate(&[mx::real(x)?, mx::imag(x)?], -1)
}

/// complex64 input batches the same way (MLX vmaps complex SVD / Eigh / Eig too).
#[test]
fn complex_factorisations_vmap_like_stacked_slices() {
    let c = crand(&[3, 4, 4], 21);
    let r = crand(&[4, 3, 5], 22);
    let tol = 1e-5;
    check_vmap(
        "complex svd values",
        |a| Ok(la::svd_uv(&a[0], false)?.remove(0)),
        std::slice::from_ref(&r),
        &[Some(0)],
        tol,
    );
    check_vmap(
        "complex svd reconstruction",
        |a| {
            let usv = la::svd(&a[0])?;
            let k = usv[1].dim(-1)? as isize;
            let u = mx::slice_axis(&usv[0], -1, 0..k)?;
            let us = mx::multiply(&u, &mx::astype(&usv[1], mx::complex64)?)?;
            let vt = mx::slice_axis(&usv[2], -2, 0..k)?;
            parts(&mx::matmul(&us, &vt)?)
        },
        std::slice::from_ref(&r),
        &[Some(1)],
        tol,
    );
    check_vmap(
        "complex eigvalsh",
        |a| la::eigvalsh(&a[0], "U"),
        std::slice::from_ref(&c),
        &[Some(0)],
        tol,
    );
    check_vmap(
        "complex eigh vectors",
        |a| parts(&la::eigh(&a[0], "L")?.1),
        &[mx::moveaxis(&c, 0, 2).unwrap()],
        &[Some(2)],
        tol,
    );
    check_vmap(
        "complex eig",
        |a| {
            let (w, v) = la::eig(&a[0])?;
            mx::concatenate(&[parts(&w)?, mx::sum_axes(parts(&v)?, -2, false)?], -1)
        },
        std::slice::from_ref(&c),
        &[Some(0)],
        tol,
    );
    check_vmap(
        "complex eigvals",
        |a| parts(&la::eigvals(&a[0])?),
        std::slice::from_ref(&c),
        &[Some(0)],
        tol,
    );
}

/// The composite ops differentiate through their parts, as in MLX.
#[test]
fn composite_linalg_ops_have_gradients() {
    let x = rand(&[3, 4], 7);
    check_grads(
        "norm",
        |a: &[Array]| la::norm(&a[0]),
        std::slice::from_ref(&x),
        1e-6,
    );
    check_grads(
        "norm ord 3 axis",
        |a: &[Array]| la::norm_ord_axes(&a[0], 3, 1, false),
        std::slice::from_ref(&x),
        1e-6,
    );
    check_grads(
        "norm inf matrix",
        |a: &[Array]| la::norm_ord_axes(&a[0], f64::INFINITY, [0, 1], true),
        std::slice::from_ref(&x),
        1e-6,
    );
    check_grads(
        "norm fro",
        |a: &[Array]| la::norm_ord(&a[0], "fro", false),
        std::slice::from_ref(&x),
        1e-6,
    );
    let m3 = rand(&[2, 3, 3], 8);
    check_grads(
        "det 3x3",
        |a: &[Array]| la::det(&a[0]),
        std::slice::from_ref(&m3),
        1e-6,
    );
    check_grads(
        "slogdet 2x2",
        |a: &[Array]| Ok(la::slogdet(&a[0])?.1),
        &[rand(&[2, 2], 9)],
        1e-6,
    );
    check_grads(
        "cross",
        |a: &[Array]| la::cross(&a[0], &a[1], -1),
        &[rand(&[4, 3], 10), rand(&[4, 3], 11)],
        1e-6,
    );
    check_vmap("det vmap", |a| la::det(&a[0]), &[m3], &[Some(0)], 1e-10);
    check_vmap(
        "cross vmap",
        |a| la::cross(&a[0], &a[1], 0),
        &[rand(&[3, 5], 12), rand(&[3], 13)],
        &[Some(1), None],
        1e-12,
    );
}

/// Transforms reach the factorisation primitives: no vjp or jvp (MLX's gaps) but vmap.
#[test]
fn factorisation_gradients_are_mlxs_errors() {
    let s = spd(1, 3, 3);
    let s = mx::squeeze(&s, Some(0)).unwrap();
    let f = |a: &[Array]| -> Result<Array> { la::inv(&a[0]) };
    let e = mx::vjp(f, std::slice::from_ref(&s), &[mx::ones_like(&s).unwrap()]).unwrap_err();
    assert!(e.message().contains("Inverse"), "{e}");
    let e = mx::jvp(f, std::slice::from_ref(&s), &[mx::ones_like(&s).unwrap()]).unwrap_err();
    assert!(e.message().contains("Inverse"), "{e}");
    // complex64 input: MLX 0.32.4 has no vjp / jvp for SVD, Eigh or Eig either.
    let c = mx::squeeze(&crand(&[1, 3, 3], 4), Some(0)).unwrap();
    type F = fn(&[Array]) -> Result<Array>;
    let cases: [(&str, F); 3] = [
        ("SVD", |a| Ok(la::svd(&a[0])?.remove(1))),
        ("Eigh", |a| Ok(la::eigh(&a[0], "L")?.0)),
        ("Eig", |a| Ok(la::eig(&a[0])?.0)),
    ];
    for (name, f) in cases {
        let out = f(std::slice::from_ref(&c)).unwrap();
        let e = mx::vjp(f, std::slice::from_ref(&c), &[mx::ones_like(&out).unwrap()]).unwrap_err();
        assert_eq!(
            e.message(),
            format!("[Primitive::vjp] Not implemented for {name}.")
        );
        let e = mx::jvp(f, std::slice::from_ref(&c), &[mx::ones_like(&c).unwrap()]).unwrap_err();
        assert_eq!(
            e.message(),
            format!("[Primitive::jvp] Not implemented for {name}.")
        );
    }
}
