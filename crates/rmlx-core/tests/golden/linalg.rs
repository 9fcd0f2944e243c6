//! Golden cases of `mx.linalg` recorded from MLX 0.32.4 (tools/goldens/gen_linalg.py).
//!
//! Unique results (norms, inverses, solves, determinants, Cholesky factors, singular values,
//! symmetric eigenvalues, LU factors and pivots) are compared directly. Factorisations that
//! are unique only up to signs or order are compared through invariants that both sides
//! compute from their own factors; the generator's docstring lists them per op.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::Array;
use rmlx_core::linalg as la;
use serde_json::Value;

fn mt(x: &Array) -> mx::Result<Array> {
    mx::swapaxes(x, -1, -2)
}

/// The `ord` kwarg: absent or null is Python's `None`; "inf" / "-inf" are numbers.
fn ord_kw(kw: &Value) -> la::NormOrd {
    match kw.get("ord") {
        None | Some(Value::Null) => la::NormOrd::Default,
        Some(Value::Number(n)) => la::NormOrd::P(n.as_f64().expect("ord")),
        Some(Value::String(s)) => match s.as_str() {
            "inf" => la::NormOrd::P(f64::INFINITY),
            "-inf" => la::NormOrd::P(f64::NEG_INFINITY),
            s => la::NormOrd::from(s),
        },
        Some(other) => panic!("bad ord {other}"),
    }
}

fn norm_case(a: &Array, kw: &Value) -> mx::Result<Array> {
    let keep = kw_bool(kw, "keepdims").unwrap_or(false);
    let ord = ord_kw(kw);
    match kw_list(kw, "axis") {
        None => la::norm_ord(a, ord, keep),
        Some(ax) => la::norm_ord_axes(a, ord, ax, keep),
    }
}

fn qr_inv(a: &Array) -> mx::Result<Vec<Array>> {
    let (q, r) = la::qr(a)?;
    Ok(vec![
        mx::matmul(&q, &r)?,
        mx::matmul(&mt(&q)?, &q)?,
        mx::tril(&r, -1)?,
    ])
}

fn svd_inv(a: &Array) -> mx::Result<Vec<Array>> {
    let usv = la::svd(a)?;
    let (u, s, vt) = (&usv[0], &usv[1], &usv[2]);
    let nd = a.ndim();
    let k = s.shape()[nd - 2];
    let uk = mx::slice_axis(u, -1, 0..k as isize)?;
    let vk = mx::slice_axis(vt, -2, 0..k as isize)?;
    let recon = mx::matmul(&mx::multiply(&uk, &mx::expand_dims(s, -2)?)?, &vk)?;
    Ok(vec![
        s.clone(),
        recon,
        mx::matmul(&mt(u)?, u)?,
        mx::matmul(vt, &mt(vt)?)?,
    ])
}

fn eigh_inv(a: &Array, uplo: &str) -> mx::Result<Vec<Array>> {
    let (w, v) = la::eigh(a, uplo)?;
    let res = mx::subtract(
        mx::matmul(a, &v)?,
        mx::multiply(&v, &mx::expand_dims(&w, -2)?)?,
    )?;
    Ok(vec![w, res, mx::matmul(&mt(&v)?, &v)?])
}

fn sorted_parts(w: &Array) -> mx::Result<Vec<Array>> {
    Ok(vec![
        mx::sort_axis(&mx::real(w)?, -1)?,
        mx::sort_axis(&mx::imag(w)?, -1)?,
    ])
}

fn eig_inv(a: &Array) -> mx::Result<Vec<Array>> {
    let (w, v) = la::eig(a)?;
    let ac = mx::astype(a, mx::complex64)?;
    let res = mx::abs(mx::subtract(
        mx::matmul(&ac, &v)?,
        mx::multiply(&v, &mx::expand_dims(&w, -2)?)?,
    )?)?;
    let mut out = sorted_parts(&w)?;
    out.push(res);
    out.push(mx::sum_axes(mx::square(mx::abs(&v)?)?, -2, false)?);
    Ok(out)
}

/// The conjugate transpose of the last two axes.
fn mh(x: &Array) -> mx::Result<Array> {
    mx::conj(mt(x)?)
}

/// `(s[..., :-1], s[..., 1:])`.
fn neighbours(s: &Array) -> mx::Result<(Array, Array)> {
    let k = s.dim(-1)? as isize;
    Ok((
        mx::slice_axis(s, -1, 0..(k - 1).max(0))?,
        mx::slice_axis(s, -1, k.min(1)..k)?,
    ))
}

/// `s[..., :-1] >= s[..., 1:]` (descending, exactly).
fn descending(s: &Array) -> mx::Result<Array> {
    let (head, tail) = neighbours(s)?;
    mx::greater_equal(&head, &tail)
}

fn svd_c(a: &Array) -> mx::Result<Vec<Array>> {
    let usv = la::svd(a)?;
    let (u, s, vt) = (&usv[0], &usv[1], &usv[2]);
    let k = s.dim(-1)? as isize;
    let uk = mx::slice_axis(u, -1, 0..k)?;
    let vk = mx::slice_axis(vt, -2, 0..k)?;
    let recon = mx::matmul(&mx::multiply(&uk, &mx::expand_dims(s, -2)?)?, &vk)?;
    Ok(vec![
        s.clone(),
        recon,
        mx::matmul(&mh(u)?, u)?,
        mx::matmul(vt, &mh(vt)?)?,
        descending(s)?,
    ])
}

fn svd_s_c(a: &Array) -> mx::Result<Vec<Array>> {
    let s = la::svd_uv(a, false)?.remove(0);
    let d = descending(&s)?;
    Ok(vec![s, d])
}

/// The Hermitian matrix the `uplo` triangle of `a` describes (its diagonal made real).
fn hermitian(a: &Array, uplo: &str) -> mx::Result<Array> {
    let t = if uplo == "L" {
        mx::tril(a, -1)?
    } else {
        mh(&mx::triu(a, 1)?)?
    };
    let n = a.dim(-1)?;
    let d = mx::expand_dims(&mx::real(mx::diagonal(a, 0, -2, -1)?)?, -2)?;
    let d = mx::multiply(&d, mx::eye(n, None, 0, mx::float32)?)?;
    mx::add(mx::add(&t, mh(&t)?)?, mx::astype(&d, mx::complex64)?)
}

fn eigh_c(a: &Array, uplo: &str) -> mx::Result<Vec<Array>> {
    let (w, v) = la::eigh(a, uplo)?;
    let h = hermitian(a, uplo)?;
    let wc = mx::astype(&mx::expand_dims(&w, -2)?, mx::complex64)?;
    let res = mx::subtract(mx::matmul(&h, &v)?, mx::multiply(&v, &wc)?)?;
    let gram = mx::matmul(&mh(&v)?, &v)?;
    let (head, tail) = neighbours(&w)?;
    let asc = mx::greater_equal(&tail, &head)?;
    Ok(vec![w, res, gram, asc])
}

#[test]
fn linalg_family_matches_mlx() {
    check_family("linalg", |op, ins, kw| {
        let a = |i: usize| arr(&ins[i]);
        let upper = kw_bool(kw, "upper").unwrap_or(false);
        let uplo = kw.get("UPLO").and_then(Value::as_str).unwrap_or("L");
        Ok(match op {
            "norm" => vec![norm_case(&a(0), kw)?],
            "qr" => qr_inv(&a(0))?,
            "svd" => svd_inv(&a(0))?,
            "svd_s" => la::svd_uv(&a(0), false)?,
            "inv" => vec![la::inv(&a(0))?],
            "tri_inv" => vec![la::tri_inv(&a(0), upper)?],
            "cholesky" => vec![la::cholesky(&a(0), upper)?],
            "cholesky_inv" => vec![la::cholesky_inv(&a(0), upper)?],
            "pinv" => vec![la::pinv(&a(0))?],
            "det" => vec![la::det(&a(0))?],
            "slogdet" => {
                let (s, l) = la::slogdet(&a(0))?;
                vec![s, l]
            }
            "eigh" => eigh_inv(&a(0), uplo)?,
            "eigvalsh" => vec![la::eigvalsh(&a(0), uplo)?],
            "eig" => eig_inv(&a(0))?,
            // rmlx's vectors are the right eigenvectors; the generator conjugates MLX's.
            "eig_c" => eig_inv(&a(0))?,
            "svd_c" => svd_c(&a(0))?,
            "svd_s_c" => svd_s_c(&a(0))?,
            "eigh_c" => eigh_c(&a(0), uplo)?,
            "eigvals" => sorted_parts(&la::eigvals(&a(0))?)?,
            "lu" => la::lu(&a(0))?,
            "lu_factor" => {
                let (lu, piv) = la::lu_factor(&a(0))?;
                vec![lu, piv]
            }
            "solve" => vec![la::solve(&a(0), &a(1))?],
            "solve_triangular" => vec![la::solve_triangular(&a(0), &a(1), upper)?],
            "cross" => vec![la::cross(
                &a(0),
                &a(1),
                kw_i64(kw, "axis").unwrap_or(-1) as isize,
            )?],
            _ => panic!("unknown op {op}"),
        })
    });
}

/// Cholesky of a matrix that is not positive definite: MLX returns garbage, rmlx an error at
/// evaluation (on the factor and on what is computed from it).
#[test]
fn cholesky_not_positive_definite_is_an_error() {
    let a = mx::array![[1.0, 2.0], [2.0, 1.0]];
    let l = la::cholesky(&a, false).unwrap();
    let e = l.eval().unwrap_err();
    assert_eq!(e.kind(), mx::ErrorKind::Runtime);
    assert!(e.message().contains("not positive definite"), "{e}");
    let l = la::cholesky(&a, true).unwrap();
    let y = mx::add(&l, 1.0).unwrap();
    assert!(y.eval().is_err());
}

/// One matrix of a batch failing fails the whole result.
#[test]
fn a_singular_matrix_in_a_batch_is_an_error() {
    let a = mx::stack(
        &[
            mx::eye(2, None, 0, mx::float64).unwrap(),
            mx::zeros(&[2, 2], mx::float64).unwrap(),
        ],
        0,
    )
    .unwrap();
    assert!(la::inv(&a).unwrap().eval().is_err());
    let b = mx::ones(&[2, 2, 1], mx::float64).unwrap();
    assert!(la::solve(&a, &b).unwrap().eval().is_err());
}

/// Larger matrices run faer's blocked and parallel paths: check invariants there.
#[test]
fn larger_factorisations_hold_their_invariants() {
    let n = 150;
    // Deterministic, well spread values: sin of a scrambled index.
    let i = mx::arange_dtype(0.0, (n * n) as f64, 1.0, mx::float64).unwrap();
    let a = mx::reshape(&mx::sin(mx::multiply(&i, 0.7311).unwrap()).unwrap(), [n, n]).unwrap();
    let a = mx::add(&a, &mx::eye(n, None, 0, mx::float64).unwrap()).unwrap();
    let close = |x: &Array, y: &Array, tol: f64| {
        mx::allclose_with(
            x,
            y,
            mx::CloseOptions {
                rtol: tol,
                atol: tol,
                equal_nan: false,
            },
        )
        .unwrap()
        .item::<bool>()
        .unwrap()
    };
    let eye = mx::eye(n, None, 0, mx::float64).unwrap();
    let ai = la::inv(&a).unwrap();
    assert!(close(&mx::matmul(&a, &ai).unwrap(), &eye, 1e-8));
    let usv = la::svd(&a).unwrap();
    let recon = mx::matmul(&mx::multiply(&usv[0], &usv[1]).unwrap(), &usv[2]).unwrap();
    assert!(close(&recon, &a, 1e-9));
    let s = mx::add(&mx::matmul(&a, &mt(&a).unwrap()).unwrap(), 1.0).unwrap();
    let (w, v) = la::eigh(&s, "L").unwrap();
    let av = mx::matmul(&s, &v).unwrap();
    assert!(close(&av, &mx::multiply(&v, &w).unwrap(), 1e-8));
    let plu = la::lu(&a).unwrap();
    let lu = mx::matmul(&plu[1], &plu[2]).unwrap();
    assert!(close(&mx::take(&lu, &plu[0], Some(0)).unwrap(), &a, 1e-10));
}

/// Timing of the 512 x 512 float32 SVD and symmetric eigendecomposition (the bench's
/// `svd_512` / `eigh_512`), and of their complex64 counterparts; run with `--ignored
/// --nocapture`.
#[test]
#[ignore]
fn svd_eigh_512_timing() {
    let i = mx::arange_dtype(0.0, 512.0 * 512.0, 1.0, mx::float32).unwrap();
    let a = mx::reshape(
        &mx::sin(mx::multiply(&i, 0.7311).unwrap()).unwrap(),
        [512, 512],
    )
    .unwrap();
    let s = mx::add(&a, &mt(&a).unwrap()).unwrap();
    let c = complex_matrix(512);
    let h = mx::add(&c, &mx::conj(mt(&c).unwrap()).unwrap()).unwrap();
    mx::eval([&a, &s, &c, &h]).unwrap();
    for (name, f) in [
        (
            "svd_512",
            Box::new(|| mx::eval(la::svd(&a).unwrap().iter()).unwrap()) as Box<dyn Fn()>,
        ),
        (
            "eigh_512",
            Box::new(|| {
                let (w, v) = la::eigh(&s, "L").unwrap();
                mx::eval([&w, &v]).unwrap()
            }),
        ),
        (
            "complex64 svd_512",
            Box::new(|| mx::eval(la::svd(&c).unwrap().iter()).unwrap()),
        ),
        (
            "complex64 eigh_512",
            Box::new(|| {
                let (w, v) = la::eigh(&h, "L").unwrap();
                mx::eval([&w, &v]).unwrap()
            }),
        ),
    ] {
        f();
        let mut t = Vec::new();
        for _ in 0..5 {
            let t0 = std::time::Instant::now();
            f();
            t.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        t.sort_by(f64::total_cmp);
        println!("{name}: median {:.1} ms (min {:.1})", t[2], t[0]);
    }
}

/// A deterministic, well spread complex64 `n x n` matrix (sines and cosines of a scrambled
/// index).
fn complex_matrix(n: usize) -> Array {
    let i = mx::arange_dtype(0.0, (n * n) as f64, 1.0, mx::float32).unwrap();
    let re = mx::sin(mx::multiply(&i, 0.7311).unwrap()).unwrap();
    let im = mx::cos(mx::multiply(&i, 1.917).unwrap()).unwrap();
    let z = mx::add(
        &mx::astype(&re, mx::complex64).unwrap(),
        &mx::multiply(
            &mx::astype(&im, mx::complex64).unwrap(),
            mx::C64::new(0.0, 1.0),
        )
        .unwrap(),
    )
    .unwrap();
    mx::reshape(&z, [n, n]).unwrap()
}

fn max_abs(x: &Array) -> f32 {
    mx::max(mx::abs(x).unwrap()).unwrap().item::<f32>().unwrap()
}

/// complex64 at sizes that run faer's blocked and parallel paths: `U S V^H == A` with unitary
/// factors, `H V == V w` for the Hermitian part, `A V == V w` for the general matrix (right
/// eigenvectors: MLX 0.32.4 returns their conjugates, see the generator), batched too.
#[test]
fn larger_complex_factorisations_hold_their_invariants() {
    let n = 96;
    let a = complex_matrix(n);
    let eye = mx::astype(&mx::eye(n, None, 0, mx::float32).unwrap(), mx::complex64).unwrap();
    let mh = |x: &Array| mx::conj(mt(x).unwrap()).unwrap();
    let usv = la::svd(&a).unwrap();
    assert_eq!(
        (usv[0].dtype(), usv[1].dtype(), usv[2].dtype()),
        (mx::complex64, mx::float32, mx::complex64)
    );
    let us = mx::multiply(&usv[0], &usv[1]).unwrap();
    let recon = mx::matmul(&us, &usv[2]).unwrap();
    assert!(max_abs(&mx::subtract(&recon, &a).unwrap()) < 1e-4);
    let uu = mx::matmul(&mh(&usv[0]), &usv[0]).unwrap();
    assert!(max_abs(&mx::subtract(&uu, &eye).unwrap()) < 1e-4);
    let s = usv[1].to_vec::<f32>().unwrap();
    assert!(
        s.windows(2).all(|p| p[0] >= p[1]),
        "singular values descending"
    );

    let h = mx::add(&a, &mh(&a)).unwrap();
    let (w, v) = la::eigh(&h, "U").unwrap();
    assert_eq!((w.dtype(), v.dtype()), (mx::float32, mx::complex64));
    let wc = mx::astype(&w, mx::complex64).unwrap();
    let res = mx::subtract(mx::matmul(&h, &v).unwrap(), mx::multiply(&v, &wc).unwrap()).unwrap();
    assert!(max_abs(&res) < 1e-3, "{}", max_abs(&res));
    let wv = w.to_vec::<f32>().unwrap();
    assert!(wv.windows(2).all(|p| p[0] <= p[1]), "eigenvalues ascending");
    let w_only = la::eigvalsh(&h, "L").unwrap();
    assert!(max_abs(&mx::subtract(&w_only, &w).unwrap()) < 1e-4);

    let (w, v) = la::eig(&a).unwrap();
    let res = mx::subtract(mx::matmul(&a, &v).unwrap(), mx::multiply(&v, &w).unwrap()).unwrap();
    assert!(max_abs(&res) < 1e-3, "{}", max_abs(&res));

    // A batch runs its matrices one per thread.
    let b = mx::stack(&[a.clone(), mh(&a), h.clone()], 0).unwrap();
    let sb = la::svd_uv(&b, false).unwrap().remove(0);
    let s0 = mx::take(&sb, 0, Some(0)).unwrap();
    assert!(max_abs(&mx::subtract(&s0, &usv[1]).unwrap()) < 1e-4);
}

/// The factorisations MLX keeps to float32 / float64 reject complex64 with MLX's messages
/// (the golden cases check the exception class).
#[test]
fn complex_rejections_have_mlxs_messages() {
    let a = complex_matrix(3);
    let b = mx::astype(&mx::ones(&[3], mx::float32).unwrap(), mx::complex64).unwrap();
    let msg = |r: mx::Result<Array>| r.unwrap_err().message().to_string();
    let typed = |name: &str| {
        format!(
            "[linalg::{name}] Arrays must have type float32 or float64. Received array with \
             type complex64."
        )
    };
    assert_eq!(msg(la::qr(&a).map(|x| x.0)), typed("qr"));
    assert_eq!(msg(la::inv(&a)), typed("inv"));
    assert_eq!(msg(la::tri_inv(&a, false)), typed("inv"));
    assert_eq!(msg(la::cholesky(&a, false)), typed("cholesky"));
    assert_eq!(msg(la::cholesky_inv(&a, false)), typed("cholesky_inv"));
    assert_eq!(msg(la::pinv(&a)), typed("pinv"));
    assert_eq!(msg(la::lu(&a).map(|mut v| v.remove(0))), typed("lu"));
    assert_eq!(msg(la::lu_factor(&a).map(|x| x.0)), typed("lu_factor"));
    for (name, r) in [
        ("solve", la::solve(&a, &b)),
        ("solve_triangular", la::solve_triangular(&a, &b, false)),
    ] {
        assert_eq!(
            msg(r),
            format!(
                "[linalg::{name}] Input arrays must promote to float32 or float64.  Received \
                 arrays with type complex64 and complex64."
            )
        );
    }
    assert_eq!(
        msg(la::det(&a)),
        "[linalg::det] Complex inputs are not supported."
    );
    assert_eq!(
        msg(la::slogdet(&a).map(|x| x.0)),
        "[linalg::slogdet] Complex inputs are not supported."
    );
}
