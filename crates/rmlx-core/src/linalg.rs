//! `mx.linalg`: norms, factorisations (QR, SVD, Cholesky, LU, eigendecompositions),
//! inverses, solves, determinants and the cross product.
//!
//! Every function works on the last two dimensions of its input (the last one for vectors)
//! and batches over the leading ones, in float32 or float64, as MLX does; the SVD
//! ([`svd`], [`svd_uv`]), the eigendecompositions ([`eigh`], [`eigvalsh`], [`eig`],
//! [`eigvals`]) and the norms also take complex64 (singular values and Hermitian eigenvalues
//! are then float32), and the other factorisations, solves and determinants reject it with
//! MLX's errors. MLX runs most of these on the CPU stream only; rmlx has no such restriction.
//!
//! The matrix products (`matmul`, `tensordot`, ...) stay at the crate root (`mx::matmul`), as
//! in MLX.
//!
//! **Failures are errors.** A factorisation that fails is an error at evaluation, on the
//! result and everything computed from it: [`inv`], [`tri_inv`], [`solve`] and
//! [`solve_triangular`] of a singular matrix (MLX raises too), [`cholesky`] of a matrix that
//! is not positive definite (where MLX returns garbage), and an SVD or eigendecomposition
//! that does not converge.
//!
//! ```
//! use rmlx_core as mx;
//! let a = mx::array![[4.0, 1.0], [1.0, 3.0]];
//! let x = mx::linalg::solve(&a, &mx::array![1.0, 2.0])?;
//! let back = mx::matmul(&a, &x)?;
//! assert!(mx::allclose_with(&back, &mx::array![1.0, 2.0], mx::CloseOptions { atol: 1e-6, ..Default::default() })?.item::<bool>()?);
//! # Ok::<(), mx::Error>(())
//! ```

use crate::array::Array;
use crate::dtype::{Dtype, DtypeCategory, finfo, issubdtype, promote_types};
use crate::error::{Error, Result, fmt_shape};
use crate::ops::{self, Axes};
use crate::primitive::OutputSpec;
use crate::primitives::factor::{Cholesky, Eig, Eigh, Inverse, LUF, QRF, SVD};

// ------------------------------------------------------------------------------------------
// Validation
// ------------------------------------------------------------------------------------------

fn check_float(d: Dtype, prefix: &str) -> Result<()> {
    if d != Dtype::Float32 && d != Dtype::Float64 {
        return Err(Error::value(format!(
            "{prefix} Arrays must have type float32 or float64. Received array with type {d}."
        )));
    }
    Ok(())
}

fn check_float_or_complex(d: Dtype, prefix: &str) -> Result<()> {
    if d != Dtype::Float32 && d != Dtype::Float64 && d != Dtype::Complex64 {
        return Err(Error::value(format!(
            "{prefix} Arrays must have type float32, float64 or complex64. Received array \
             with type {d}."
        )));
    }
    Ok(())
}

fn check_matrix(a: &Array, prefix: &str) -> Result<()> {
    if a.ndim() < 2 {
        return Err(Error::value(format!(
            "{prefix} Arrays must have >= 2 dimensions. Received array with {} dimensions.",
            a.ndim()
        )));
    }
    Ok(())
}

fn is_square(a: &Array) -> bool {
    let nd = a.ndim();
    a.shape()[nd - 1] == a.shape()[nd - 2]
}

/// `d` if it is inexact, else its promotion with float32 (MLX's `at_least_float`).
fn at_least_float(d: Dtype) -> Dtype {
    if issubdtype(d, DtypeCategory::Inexact) {
        d
    } else {
        promote_types(d, Dtype::Float32)
    }
}

/// A scalar array of `dtype` (MLX's `array(value, dtype)`).
fn scalar(value: f64, dtype: Dtype) -> Result<Array> {
    ops::astype(&Array::scalar(value), dtype)
}

// ------------------------------------------------------------------------------------------
// Norms
// ------------------------------------------------------------------------------------------

/// The `ord` argument of [`norm_ord`]: `None` in Python ([`NormOrd::Default`], the 2-norm of
/// vectors and Frobenius norm of matrices), a number (`2`, `1.0`, `f64::INFINITY`, `-2`,
/// `0.5`), or a name (`"fro"` or `"f"`, `"nuc"`).
#[derive(Clone, Debug, PartialEq)]
pub enum NormOrd {
    /// Python's `ord=None`.
    Default,
    /// A numeric order.
    P(f64),
    /// A named order: `"fro"` (or `"f"`) or `"nuc"`.
    Named(String),
}

impl From<f64> for NormOrd {
    fn from(p: f64) -> Self {
        NormOrd::P(p)
    }
}
impl From<f32> for NormOrd {
    fn from(p: f32) -> Self {
        NormOrd::P(p as f64)
    }
}
impl From<i32> for NormOrd {
    fn from(p: i32) -> Self {
        NormOrd::P(p as f64)
    }
}
impl From<&str> for NormOrd {
    fn from(s: &str) -> Self {
        NormOrd::Named(s.to_string())
    }
}
impl From<Option<f64>> for NormOrd {
    fn from(p: Option<f64>) -> Self {
        p.map_or(NormOrd::Default, NormOrd::P)
    }
}

/// The 2-norm of the flattened array (`mx.linalg.norm(a)`): for a matrix, its Frobenius norm.
///
/// ```
/// use rmlx_core as mx;
/// let n = mx::linalg::norm(&mx::array![[3.0, 0.0], [0.0, 4.0]])?;
/// assert_eq!(n.item::<f32>()?, 5.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn norm(a: &Array) -> Result<Array> {
    norm_impl(a, &NormOrd::Default, None, false)
}

/// The 2-norm over one axis, or the Frobenius norm over two (`mx.linalg.norm(a, axis=..,
/// keepdims=..)`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[3.0, 4.0], [6.0, 8.0]];
/// assert_eq!(mx::linalg::norm_axes(&a, 1, false)?.to_vec::<f32>()?, vec![5.0, 10.0]);
/// assert_eq!(mx::linalg::norm_axes(&a, [0, 1], true)?.shape(), &[1, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn norm_axes(a: &Array, axis: impl Axes, keepdims: bool) -> Result<Array> {
    norm_impl(a, &NormOrd::Default, Some(axis.to_axes()), keepdims)
}

/// The norm of order `ord` over every axis of a vector or matrix (`mx.linalg.norm(a, ord,
/// keepdims=..)`): the input must have one or two dimensions unless `ord` is
/// [`NormOrd::Default`].
///
/// ```
/// use rmlx_core as mx;
/// let v = mx::array![3.0, -4.0];
/// assert_eq!(mx::linalg::norm_ord(&v, 1, false)?.item::<f32>()?, 7.0);
/// assert_eq!(mx::linalg::norm_ord(&v, f64::INFINITY, false)?.item::<f32>()?, 4.0);
/// let m = mx::array![[1.0, 0.0], [0.0, 2.0]];
/// assert_eq!(mx::linalg::norm_ord(&m, "nuc", false)?.item::<f32>()?, 3.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn norm_ord(a: &Array, ord: impl Into<NormOrd>, keepdims: bool) -> Result<Array> {
    norm_impl(a, &ord.into(), None, keepdims)
}

/// The norm of order `ord` over `axis`: one axis (a vector norm) or two (a matrix norm)
/// (`mx.linalg.norm(a, ord, axis, keepdims)`).
///
/// Vector orders: any number (`0` counts non-zeros, `inf` / `-inf` are the largest / smallest
/// magnitude). Matrix orders: `"fro"`, `"nuc"`, `1`, `-1`, `2`, `-2`, `inf`, `-inf`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, -2.0], [3.0, 4.0]];
/// assert_eq!(mx::linalg::norm_ord_axes(&a, 1, [0, 1], false)?.item::<f32>()?, 6.0);
/// assert_eq!(mx::linalg::norm_ord_axes(&a, 0, 1, false)?.to_vec::<f32>()?, vec![2.0, 2.0]);
/// assert!(mx::linalg::norm_ord_axes(&a, 3, [0, 1], false).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn norm_ord_axes(
    a: &Array,
    ord: impl Into<NormOrd>,
    axis: impl Axes,
    keepdims: bool,
) -> Result<Array> {
    norm_impl(a, &ord.into(), Some(axis.to_axes()), keepdims)
}

/// `mx.matrix_norm`, MLX's alias of `mx.linalg.norm`: the same as [`norm_ord_axes`].
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, -2.0], [3.0, 4.0]];
/// assert_eq!(mx::matrix_norm(&a, f64::INFINITY, [0, 1], false)?.item::<f32>()?, 7.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn matrix_norm(
    a: &Array,
    ord: impl Into<NormOrd>,
    axis: impl Axes,
    keepdims: bool,
) -> Result<Array> {
    norm_ord_axes(a, ord, axis, keepdims)
}

fn norm_impl(a: &Array, ord: &NormOrd, axis: Option<Vec<isize>>, keepdims: bool) -> Result<Array> {
    match ord {
        NormOrd::Default => {
            let Some(axis) = axis else {
                let flat = ops::flatten(a, 0, -1)?;
                let out = l2_norm(&flat, &[0], keepdims)?;
                return if keepdims {
                    ops::reshape(&out, vec![1usize; a.ndim()])
                } else {
                    Ok(out)
                };
            };
            if axis.len() > 2 {
                return Err(Error::value(
                    "[linalg::norm] Received too many axes for norm.",
                ));
            }
            l2_norm(a, &axis, keepdims)
        }
        NormOrd::P(p) => {
            let ax = axis.unwrap_or_else(|| (0..a.ndim() as isize).collect());
            match ax.len() {
                1 => vector_norm(a, *p, &ax, keepdims),
                2 => numeric_matrix_norm(a, *p, &ax, keepdims),
                _ => Err(Error::value(
                    "[linalg::norm] Received too many axes for norm.",
                )),
            }
        }
        NormOrd::Named(name) => {
            let ax = axis.unwrap_or_else(|| (0..a.ndim() as isize).collect());
            if ax.len() != 2 {
                return Err(Error::value(format!(
                    "[linalg::norm] Norm '{name}' only supported for matrices, but received {} \
                     axis/axes.",
                    ax.len()
                )));
            }
            named_matrix_norm(a, name, &ax, keepdims)
        }
    }
}

fn l2_norm(a: &Array, axis: &[isize], keepdims: bool) -> Result<Array> {
    if a.dtype().is_complex() {
        let m = ops::abs(a)?;
        ops::sqrt(ops::sum_axes(ops::multiply(&m, &m)?, axis, keepdims)?)
    } else {
        ops::sqrt(ops::sum_axes(ops::square(a)?, axis, keepdims)?)
    }
}

fn vector_norm(a: &Array, ord: f64, axis: &[isize], keepdims: bool) -> Result<Array> {
    let dtype = at_least_float(a.dtype());
    if ord == 0.0 {
        ops::astype(
            &ops::sum_axes(ops::not_equal(a, 0)?, axis, keepdims)?,
            dtype,
        )
    } else if ord == 1.0 {
        ops::astype(&ops::sum_axes(ops::abs(a)?, axis, keepdims)?, dtype)
    } else if ord == 2.0 {
        l2_norm(a, axis, keepdims)
    } else if ord == f64::INFINITY {
        ops::astype(&ops::max_axes(ops::abs(a)?, axis, keepdims)?, dtype)
    } else if ord == f64::NEG_INFINITY {
        ops::astype(&ops::min_axes(ops::abs(a)?, axis, keepdims)?, dtype)
    } else {
        let s = ops::sum_axes(
            ops::power(ops::abs(a)?, scalar(ord, dtype)?)?,
            axis,
            keepdims,
        )?;
        ops::power(s, scalar(1.0 / ord, dtype)?)
    }
}

/// Normalised row and column axes of a matrix norm (MLX's `(axis < 0) ? axis + ndim : axis`;
/// out-of-range axes are caught by the reductions that follow).
fn row_col(a: &Array, axis: &[isize]) -> (isize, isize) {
    let nd = a.ndim() as isize;
    let norm = |x: isize| if x < 0 { x + nd } else { x };
    (norm(axis[0]), norm(axis[1]))
}

/// The singular values of the matrices spanned by `axis` (MLX's move of the two axes last).
fn svals_over(a: &Array, row: isize, col: isize) -> Result<Array> {
    let m = if row > col {
        ops::moveaxis(&ops::moveaxis(a, row, -1)?, col, -1)?
    } else {
        ops::moveaxis(&ops::moveaxis(a, col, -1)?, row, -2)?
    };
    Ok(svd_impl(&m, false)?.remove(0))
}

fn keep_matrix_dims(x: Array, row: isize, col: isize, keepdims: bool) -> Result<Array> {
    if keepdims {
        let mut axes = [row.min(col), row.max(col)];
        axes.sort();
        ops::expand_dims(&x, axes)
    } else {
        Ok(x)
    }
}

fn numeric_matrix_norm(a: &Array, ord: f64, axis: &[isize], keepdims: bool) -> Result<Array> {
    let dtype = at_least_float(a.dtype());
    let (mut row, mut col) = row_col(a, axis);
    let shift = |x: isize, other: isize| x - (!keepdims && x > other && x > 0) as isize;
    if ord == -1.0 || ord == 1.0 {
        col = shift(col, row);
        let s = ops::sum_axes(ops::abs(a)?, row, keepdims)?;
        let r = if ord == 1.0 {
            ops::max_axes(s, col, keepdims)?
        } else {
            ops::min_axes(s, col, keepdims)?
        };
        ops::astype(&r, dtype)
    } else if ord.is_infinite() {
        row = shift(row, col);
        let s = ops::sum_axes(ops::abs(a)?, col, keepdims)?;
        let r = if ord > 0.0 {
            ops::max_axes(s, row, keepdims)?
        } else {
            ops::min_axes(s, row, keepdims)?
        };
        ops::astype(&r, dtype)
    } else if ord == 2.0 || ord == -2.0 {
        let s = svals_over(a, row, col)?;
        let r = if ord == 2.0 {
            ops::max_axes(s, -1, false)?
        } else {
            ops::min_axes(s, -1, false)?
        };
        ops::astype(&keep_matrix_dims(r, row, col, keepdims)?, dtype)
    } else {
        Err(Error::value(format!(
            "[linalg::norm] Invalid ord {} for matrix norm.",
            fmt_ord(ord)
        )))
    }
}

/// An order as C++ prints a double (`3`, `0.5`, `inf`).
fn fmt_ord(x: f64) -> String {
    if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{x}")
    }
}

fn named_matrix_norm(a: &Array, ord: &str, axis: &[isize], keepdims: bool) -> Result<Array> {
    match ord {
        "f" | "fro" => l2_norm(a, axis, keepdims),
        "nuc" => {
            let (row, col) = row_col(a, axis);
            let s = ops::sum_axes(svals_over(a, row, col)?, -1, false)?;
            keep_matrix_dims(s, row, col, keepdims)
        }
        _ => Err(Error::value(format!(
            "[linalg::norm] Invalid ord value '{ord}' for matrix norm."
        ))),
    }
}

// ------------------------------------------------------------------------------------------
// Factorisations
// ------------------------------------------------------------------------------------------

/// The QR factorisation of the last two dimensions (`mx.linalg.qr`): `Q` with orthonormal
/// columns (`m x k`) and upper triangular `R` (`k x n`), `k = min(m, n)`, `Q @ R == a`.
/// The signs of `Q`'s columns and `R`'s rows may differ from LAPACK's.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
/// let (q, r) = mx::linalg::qr(&a)?;
/// assert_eq!((q.shape(), r.shape()), (&[3, 2][..], &[2, 2][..]));
/// let back = mx::matmul(&q, &r)?;
/// assert!(mx::allclose_with(&back, &a, mx::CloseOptions { rtol: 1e-5, atol: 1e-5, equal_nan: false })?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn qr(a: &Array) -> Result<(Array, Array)> {
    check_float(a.dtype(), "[linalg::qr]")?;
    if a.ndim() < 2 {
        return Err(Error::value(format!(
            "[linalg::qr] Arrays must have >= 2 dimensions. Received array with {} dimensions.",
            a.ndim()
        )));
    }
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let k = m.min(n);
    let mut qs = a.shape().to_vec();
    qs[nd - 1] = k;
    let mut rs = a.shape().to_vec();
    rs[nd - 2] = k;
    let d = a.dtype();
    let mut out = Array::multi_from_op(
        vec![
            OutputSpec {
                shape: qs,
                dtype: d,
            },
            OutputSpec {
                shape: rs,
                dtype: d,
            },
        ],
        QRF,
        vec![a.clone()],
    );
    let r = out.pop().expect("two outputs");
    let q = out.pop().expect("two outputs");
    Ok((q, r))
}

fn svd_impl(a: &Array, compute_uv: bool) -> Result<Vec<Array>> {
    check_float_or_complex(a.dtype(), "[linalg::svd]")?;
    if a.ndim() < 2 {
        return Err(Error::value(format!(
            "[linalg::svd] Input array must have >= 2 dimensions. Received array with {} \
             dimensions.",
            a.ndim()
        )));
    }
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let mut s_shape = a.shape()[..nd - 1].to_vec();
    s_shape[nd - 2] = m.min(n);
    let s_dtype = if a.dtype() == Dtype::Complex64 {
        Dtype::Float32
    } else {
        a.dtype()
    };
    let s_spec = OutputSpec {
        shape: s_shape,
        dtype: s_dtype,
    };
    let p = SVD { compute_uv };
    if !compute_uv {
        return Ok(Array::multi_from_op(vec![s_spec], p, vec![a.clone()]));
    }
    let mut u_shape = a.shape().to_vec();
    u_shape[nd - 1] = m;
    let mut vt_shape = a.shape().to_vec();
    vt_shape[nd - 2] = n;
    let d = a.dtype();
    Ok(Array::multi_from_op(
        vec![
            OutputSpec {
                shape: u_shape,
                dtype: d,
            },
            s_spec,
            OutputSpec {
                shape: vt_shape,
                dtype: d,
            },
        ],
        p,
        vec![a.clone()],
    ))
}

/// The singular value decomposition (`mx.linalg.svd(a)`): `[U, S, Vt]` with `U` `m x m`,
/// the singular values `S` (descending, `min(m, n)` of them) and `Vt` `n x n`, so that
/// `U[:, :k] * S @ Vt[:k]` is `a`. Singular vectors are unique only up to sign (up to a
/// phase for complex input).
///
/// float32, float64 and complex64 input; for complex64, `U` and `Vt` are complex64 (unitary,
/// `Vt` is `V^H`) and `S` is float32.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[3.0, 0.0], [0.0, -4.0]];
/// let usv = mx::linalg::svd(&a)?;
/// assert_eq!(usv[1].to_vec::<f32>()?, vec![4.0, 3.0]);
/// // complex64: the singular values of diag(3i, -4) are real.
/// let zero = mx::C64::new(0.0, 0.0);
/// let z = mx::Array::from_slice(&[mx::C64::new(0.0, 3.0), zero, zero, mx::C64::new(-4.0, 0.0)], &[2, 2])?;
/// let usv = mx::linalg::svd(&z)?;
/// assert_eq!((usv[0].dtype(), usv[1].dtype()), (mx::complex64, mx::float32));
/// assert!(mx::allclose(&usv[1], &mx::array![4.0, 3.0])?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn svd(a: &Array) -> Result<Vec<Array>> {
    svd_impl(a, true)
}

/// The SVD with `compute_uv` (`mx.linalg.svd(a, compute_uv)`): `[U, S, Vt]` when true, only
/// `[S]` when false.
///
/// ```
/// use rmlx_core as mx;
/// let s = mx::linalg::svd_uv(&mx::array![[0.0, 2.0], [1.0, 0.0]], false)?;
/// assert_eq!(s.len(), 1);
/// assert_eq!(s[0].to_vec::<f32>()?, vec![2.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn svd_uv(a: &Array, compute_uv: bool) -> Result<Vec<Array>> {
    svd_impl(a, compute_uv)
}

fn inv_impl(a: &Array, tri: bool, upper: bool) -> Result<Array> {
    check_float(a.dtype(), "[linalg::inv]")?;
    check_matrix(a, "[linalg::inv]")?;
    if !is_square(a) {
        return Err(Error::value(
            "[linalg::inv] Inverses are only defined for square matrices.",
        ));
    }
    Ok(Array::from_op(
        a.shape().to_vec(),
        a.dtype(),
        Inverse { tri, upper },
        vec![a.clone()],
    ))
}

/// The inverse of square matrices (`mx.linalg.inv`). A singular matrix is an error at
/// evaluation.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[2.0, 0.0], [0.0, 4.0]];
/// assert_eq!(mx::linalg::inv(&a)?.to_vec::<f32>()?, vec![0.5, 0.0, 0.0, 0.25]);
/// assert!(mx::linalg::inv(&mx::zeros(&[2, 2], mx::float32)?)?.eval().is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn inv(a: &Array) -> Result<Array> {
    inv_impl(a, false, true)
}

/// The inverse of a triangular matrix (`mx.linalg.tri_inv(a, upper)`): only the lower (or
/// `upper`) triangle of `a` is read, and the other triangle of the result is zero. A zero on
/// the diagonal is an error at evaluation.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[2.0, 9.0], [1.0, 4.0]];
/// assert_eq!(mx::linalg::tri_inv(&a, false)?.to_vec::<f32>()?, vec![0.5, 0.0, -0.125, 0.25]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tri_inv(a: &Array, upper: bool) -> Result<Array> {
    inv_impl(a, true, upper)
}

/// The Cholesky factor of symmetric positive definite matrices (`mx.linalg.cholesky(a,
/// upper)`): lower `L` with `L @ L.T == a` (read from the lower triangle), or upper `U` with
/// `U.T @ U == a` (read from the upper triangle). A matrix that is not positive definite is
/// an error at evaluation (MLX returns garbage there).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[4.0, 2.0], [2.0, 5.0]];
/// assert_eq!(mx::linalg::cholesky(&a, false)?.to_vec::<f32>()?, vec![2.0, 0.0, 1.0, 2.0]);
/// assert!(mx::linalg::cholesky(&mx::negative(&a)?, false)?.eval().is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cholesky(a: &Array, upper: bool) -> Result<Array> {
    check_float(a.dtype(), "[linalg::cholesky]")?;
    check_matrix(a, "[linalg::cholesky]")?;
    if !is_square(a) {
        return Err(Error::value(
            "[linalg::cholesky] Cholesky decomposition is only defined for square matrices.",
        ));
    }
    Ok(Array::from_op(
        a.shape().to_vec(),
        a.dtype(),
        Cholesky { upper },
        vec![a.clone()],
    ))
}

/// The inverse of `A` from its Cholesky factor `l` (`mx.linalg.cholesky_inv(L, upper)`):
/// `inv(L @ L.T)`, or `inv(U.T @ U)` with `upper`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[4.0, 2.0], [2.0, 5.0]];
/// let ai = mx::linalg::cholesky_inv(&mx::linalg::cholesky(&a, false)?, false)?;
/// let eye = mx::matmul(&a, &ai)?;
/// assert!(mx::allclose_with(&eye, &mx::eye(2, None, 0, mx::float32)?, mx::CloseOptions { rtol: 1e-5, atol: 1e-6, equal_nan: false })?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cholesky_inv(l: &Array, upper: bool) -> Result<Array> {
    check_float(l.dtype(), "[linalg::cholesky_inv]")?;
    check_matrix(l, "[linalg::cholesky_inv]")?;
    if !is_square(l) {
        return Err(Error::value(
            "[linalg::cholesky_inv] Cholesky inverse is only defined for square matrices.",
        ));
    }
    let li = tri_inv(l, upper)?;
    let lt = ops::swapaxes(&li, -1, -2)?;
    if upper {
        ops::matmul(&li, &lt)
    } else {
        ops::matmul(&lt, &li)
    }
}

/// The Moore-Penrose pseudo-inverse (`mx.linalg.pinv`), from the SVD, with singular values
/// below `10 * max(m, n) * eps * max(S)` treated as zero.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]];
/// let p = mx::linalg::pinv(&a)?;
/// assert_eq!(p.shape(), &[2, 3]);
/// assert!(mx::allclose_with(&p, &mx::array![[1.0, 0.0, 0.0], [0.0, 0.0, 0.5]], mx::CloseOptions { atol: 1e-6, ..Default::default() })?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn pinv(a: &Array) -> Result<Array> {
    check_float(a.dtype(), "[linalg::pinv]")?;
    if a.ndim() < 2 {
        return Err(Error::value(format!(
            "[linalg::pinv] Arrays must have >= 2 dimensions. Received array with {} dimensions.",
            a.ndim()
        )));
    }
    let nd = a.ndim();
    if a.size() == 0 {
        let mut shape = a.shape().to_vec();
        shape.swap(nd - 1, nd - 2);
        return ops::zeros(shape, a.dtype());
    }
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let k = m.min(n);
    let usv = svd(a)?;
    let starts = vec![0usize; nd];
    let ones = vec![1usize; nd];
    let mut ends = a.shape().to_vec();
    ends[nd - 2] = m;
    ends[nd - 1] = k;
    let u = ops::swapaxes(&ops::slice(&usv[0], &starts, &ends, &ones)?, -1, -2)?;
    ends[nd - 2] = k;
    ends[nd - 1] = n;
    let v = ops::swapaxes(&ops::slice(&usv[2], &starts, &ends, &ones)?, -1, -2)?;
    let s = ops::expand_dims(&usv[1], -2)?;
    let rcond = 10.0 * m.max(n) as f64 * finfo(a.dtype())?.eps;
    let cutoff = ops::multiply(scalar(rcond, a.dtype())?, ops::max_axes(&s, -1, true)?)?;
    let rs = ops::where_(
        ops::greater(&s, &cutoff)?,
        ops::reciprocal(&s)?,
        scalar(0.0, a.dtype())?,
    )?;
    ops::matmul(&ops::multiply(&v, &rs)?, &u)
}

fn validate_eig(a: &Array, name: &str) -> Result<()> {
    let prefix = format!("[linalg::{name}]");
    check_float_or_complex(a.dtype(), &prefix)?;
    check_square_matrices(a, &prefix)
}

/// MLX's checks for ops on (batches of) square matrices: rank >= 2, last two sides equal.
fn check_square_matrices(a: &Array, prefix: &str) -> Result<()> {
    if a.ndim() < 2 {
        return Err(Error::value(format!(
            "{prefix} Arrays must have >= 2 dimensions. Received array with {} dimensions.",
            a.ndim()
        )));
    }
    if !is_square(a) {
        return Err(Error::value(format!(
            "{prefix} Only defined for square matrices."
        )));
    }
    Ok(())
}

fn check_uplo(uplo: &str, name: &str) -> Result<()> {
    if uplo != "L" && uplo != "U" {
        return Err(Error::value(format!(
            "[linalg::{name}] UPLO must be 'L' or 'U'. Received '{uplo}'."
        )));
    }
    Ok(())
}

fn real_of(d: Dtype) -> Dtype {
    if d == Dtype::Complex64 {
        Dtype::Float32
    } else {
        d
    }
}

/// The eigenvalues (ascending) of symmetric matrices (`mx.linalg.eigvalsh(a, UPLO)`), read
/// from the lower (`"L"`) or upper (`"U"`) triangle. complex64 input is read as a Hermitian
/// matrix (the other triangle is the conjugate, the diagonal's imaginary parts are ignored,
/// as in LAPACK); its eigenvalues are float32.
///
/// ```
/// use rmlx_core as mx;
/// let w = mx::linalg::eigvalsh(&mx::array![[2.0, 1.0], [1.0, 2.0]], "L")?;
/// assert!(mx::allclose_with(&w, &mx::array![1.0, 3.0], mx::CloseOptions { atol: 1e-6, ..Default::default() })?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn eigvalsh(a: &Array, uplo: &str) -> Result<Array> {
    validate_eig(a, "eigvalsh")?;
    check_uplo(uplo, "eigvalsh")?;
    let nd = a.ndim();
    Ok(Array::from_op(
        a.shape()[..nd - 1].to_vec(),
        real_of(a.dtype()),
        Eigh {
            uplo: uplo.to_string(),
            compute_eigenvectors: false,
        },
        vec![a.clone()],
    ))
}

/// The eigenvalues (ascending) and eigenvectors (columns, orthonormal) of symmetric matrices
/// (`mx.linalg.eigh(a, UPLO)`): `a @ V == V * w`. Eigenvectors are unique up to sign.
///
/// complex64 input is read as a Hermitian matrix from the `UPLO` triangle (the other
/// triangle is its conjugate, the diagonal's imaginary parts are ignored, as in LAPACK): the
/// eigenvalues are float32, the eigenvectors complex64 (unitary, unique up to a phase).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[2.0, 1.0], [1.0, 2.0]];
/// let (w, v) = mx::linalg::eigh(&a, "L")?;
/// let av = mx::matmul(&a, &v)?;
/// assert!(mx::allclose_with(&av, &mx::multiply(&v, &w)?, mx::CloseOptions { rtol: 1e-5, atol: 1e-5, equal_nan: false })?.item::<bool>()?);
/// // complex64 [[2, i], [i, 2]] read from its lower triangle is the Hermitian
/// // [[2, -i], [i, 2]]: eigenvalues 1 and 3.
/// let i = mx::C64::new(0.0, 1.0);
/// let h = mx::Array::from_slice(&[mx::C64::new(2.0, 0.0), i, i, mx::C64::new(2.0, 0.0)], &[2, 2])?;
/// let (w, v) = mx::linalg::eigh(&h, "L")?;
/// assert_eq!((w.dtype(), v.dtype()), (mx::float32, mx::complex64));
/// assert!(mx::allclose(&w, &mx::array![1.0, 3.0])?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn eigh(a: &Array, uplo: &str) -> Result<(Array, Array)> {
    validate_eig(a, "eigh")?;
    check_uplo(uplo, "eigh")?;
    let nd = a.ndim();
    let mut out = Array::multi_from_op(
        vec![
            OutputSpec {
                shape: a.shape()[..nd - 1].to_vec(),
                dtype: real_of(a.dtype()),
            },
            OutputSpec {
                shape: a.shape().to_vec(),
                dtype: a.dtype(),
            },
        ],
        Eigh {
            uplo: uplo.to_string(),
            compute_eigenvectors: true,
        },
        vec![a.clone()],
    );
    let v = out.pop().expect("two outputs");
    let w = out.pop().expect("two outputs");
    Ok((w, v))
}

/// The eigenvalues of general square matrices, as `complex64` (`mx.linalg.eigvals`), in no
/// particular order. float32, float64 and complex64 input.
///
/// ```
/// use rmlx_core as mx;
/// let w = mx::linalg::eigvals(&mx::array![[0.0, -1.0], [1.0, 0.0]])?;
/// assert_eq!(w.dtype(), mx::complex64);
/// let mut im: Vec<f32> = w.to_vec::<mx::C64>()?.iter().map(|z| z.im).collect();
/// im.sort_by(f32::total_cmp);
/// assert_eq!(im, vec![-1.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn eigvals(a: &Array) -> Result<Array> {
    validate_eig(a, "eigvals")?;
    let nd = a.ndim();
    Ok(Array::from_op(
        a.shape()[..nd - 1].to_vec(),
        Dtype::Complex64,
        Eig {
            compute_eigenvectors: false,
        },
        vec![a.clone()],
    ))
}

/// The eigenvalues and eigenvectors (columns, unit norm) of general square matrices, as
/// `complex64` (`mx.linalg.eig`): `a @ V == V * w`. float32, float64 and complex64 input.
///
/// Each eigenvector is normalised as LAPACK's `geev` does (unit norm, its largest component
/// real). For complex64 input MLX 0.32.4 returns the conjugates of these right eigenvectors
/// (`a @ conj(V) == conj(V) * w` there), contrary to its documentation; rmlx returns the
/// right eigenvectors.
///
/// ```
/// use rmlx_core as mx;
/// let (w, v) = mx::linalg::eig(&mx::array![[2.0, 0.0], [0.0, 3.0]])?;
/// assert_eq!((w.shape(), v.shape()), (&[2][..], &[2, 2][..]));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn eig(a: &Array) -> Result<(Array, Array)> {
    validate_eig(a, "eig")?;
    let nd = a.ndim();
    let mut out = Array::multi_from_op(
        vec![
            OutputSpec {
                shape: a.shape()[..nd - 1].to_vec(),
                dtype: Dtype::Complex64,
            },
            OutputSpec {
                shape: a.shape().to_vec(),
                dtype: Dtype::Complex64,
            },
        ],
        Eig {
            compute_eigenvectors: true,
        },
        vec![a.clone()],
    );
    let v = out.pop().expect("two outputs");
    let w = out.pop().expect("two outputs");
    Ok((w, v))
}

fn validate_lu(a: &Array, prefix: &str) -> Result<()> {
    check_float(a.dtype(), prefix)?;
    if a.ndim() < 2 {
        return Err(Error::value(format!(
            "{prefix} Arrays must have >= 2 dimensions. Received array with {} dimensions.",
            a.ndim()
        )));
    }
    Ok(())
}

/// `[LU, pivots, rows]` of the LUF primitive.
fn lu_helper(a: &Array) -> Vec<Array> {
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let mut piv = a.shape()[..nd - 2].to_vec();
    piv.push(m.min(n));
    Array::multi_from_op(
        vec![
            OutputSpec {
                shape: a.shape().to_vec(),
                dtype: a.dtype(),
            },
            OutputSpec {
                shape: piv,
                dtype: Dtype::Uint32,
            },
            OutputSpec {
                shape: a.shape()[..nd - 1].to_vec(),
                dtype: Dtype::Uint32,
            },
        ],
        LUF,
        vec![a.clone()],
    )
}

/// The LU factorisation with partial pivoting (`mx.linalg.lu`): `[P, L, U]` where `P`
/// (`uint32`) gives the row of `L @ U` each row of `a` went to, `L` is unit lower triangular
/// (`m x k`) and `U` upper triangular (`k x n`), so that `a == (L @ U)[P]`. A singular matrix factors (with a
/// zero on `U`'s diagonal).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 2.0], [3.0, 4.0]];
/// let plu = mx::linalg::lu(&a)?;
/// assert_eq!(plu[0].to_vec::<u32>()?, vec![1, 0]);
/// assert_eq!(plu[2].to_vec::<f32>()?, vec![3.0, 4.0, 0.0, 2.0 - 4.0 / 3.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn lu(a: &Array) -> Result<Vec<Array>> {
    validate_lu(a, "[linalg::lu]")?;
    let out = lu_helper(a);
    let (lu, rows) = (&out[0], &out[2]);
    let mut l = ops::tril(lu, -1)?;
    let mut u = ops::triu(lu, 0)?;
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let k = m.min(n);
    let starts = vec![0usize; nd];
    let ones = vec![1usize; nd];
    if n != k {
        let mut stop = l.shape().to_vec();
        stop[nd - 1] = k;
        l = ops::slice(&l, &starts, &stop, &ones)?;
    } else if m != k {
        let mut stop = u.shape().to_vec();
        stop[nd - 2] = k;
        u = ops::slice(&u, &starts, &stop, &ones)?;
    }
    let l = ops::add(&l, ops::eye(m, Some(k), 0, Dtype::Float32)?)?;
    Ok(vec![rows.clone(), l, u])
}

/// The packed LU factorisation (`mx.linalg.lu_factor`): `(LU, pivots)` as LAPACK's `getrf`
/// gives them: `L` (unit diagonal, not stored) below the diagonal of `LU`, `U` on and above
/// it, and `pivots[i]` (`uint32`, 0-based) the row swapped with row `i` at step `i`.
///
/// ```
/// use rmlx_core as mx;
/// let (lu, piv) = mx::linalg::lu_factor(&mx::array![[1.0, 2.0], [3.0, 4.0]])?;
/// assert_eq!(piv.to_vec::<u32>()?, vec![1, 1]);
/// assert_eq!(lu.shape(), &[2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn lu_factor(a: &Array) -> Result<(Array, Array)> {
    validate_lu(a, "[linalg::lu_factor]")?;
    let mut out = lu_helper(a);
    out.truncate(2);
    let piv = out.pop().expect("outputs");
    let lu = out.pop().expect("outputs");
    Ok((lu, piv))
}

fn validate_solve(a: &Array, b: &Array, prefix: &str) -> Result<()> {
    if a.ndim() < 2 {
        return Err(Error::value(format!(
            "{prefix} First input must have >= 2 dimensions. Received array with {} \
             dimensions.",
            a.ndim()
        )));
    }
    if b.ndim() < 1 {
        return Err(Error::value(format!(
            "{prefix} Second input must have >= 1 dimensions. Received array with {} \
             dimensions.",
            b.ndim()
        )));
    }
    if !is_square(a) {
        return Err(Error::value(format!(
            "{prefix} First input must be a square matrix. Received array with shape {}.",
            fmt_shape(a.shape())
        )));
    }
    let nb = b.ndim();
    let last = if nb > 1 { nb - 2 } else { nb - 1 };
    if a.shape()[a.ndim() - 1] != b.shape()[last] {
        return Err(Error::value(format!(
            "{prefix} Last dimension of first input with shape {} must match second to last \
             dimension of second input with shape {}.",
            fmt_shape(a.shape()),
            fmt_shape(b.shape())
        )));
    }
    let t = promote_types(a.dtype(), b.dtype());
    if t != Dtype::Float32 && t != Dtype::Float64 {
        return Err(Error::value(format!(
            "{prefix} Input arrays must promote to float32 or float64.  Received arrays with \
             type {} and {}.",
            a.dtype(),
            b.dtype()
        )));
    }
    Ok(())
}

/// The solution `x` of `a @ x = b` for square `a` (`mx.linalg.solve`); `b` is a vector or a
/// batch of matrices (right-hand sides in columns). A singular `a` is an error at evaluation.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[2.0, 0.0], [0.0, 4.0]];
/// let x = mx::linalg::solve(&a, &mx::array![2.0, 2.0])?;
/// assert_eq!(x.to_vec::<f32>()?, vec![1.0, 0.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn solve(a: &Array, b: &Array) -> Result<Array> {
    validate_solve(a, b, "[linalg::solve]")?;
    let plu = lu(a)?;
    let mut perm = ops::argsort_axis(&plu[0], -1)?;
    let mut take_axis = -1;
    if b.ndim() >= 2 {
        perm = ops::expand_dims(&perm, -1)?;
        take_axis -= 1;
    }
    let pb = ops::take_along_axis(b, &perm, Some(take_axis))?;
    let y = solve_triangular(&plu[1], &pb, false)?;
    solve_triangular(&plu[2], &y, true)
}

/// The solution of `a @ x = b` for triangular `a` (`mx.linalg.solve_triangular(a, b,
/// upper)`): only the lower (or `upper`) triangle of `a` is read. A zero on the diagonal is
/// an error at evaluation.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[2.0, 0.0], [1.0, 1.0]];
/// let x = mx::linalg::solve_triangular(&a, &mx::array![2.0, 3.0], false)?;
/// assert_eq!(x.to_vec::<f32>()?, vec![1.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn solve_triangular(a: &Array, b: &Array, upper: bool) -> Result<Array> {
    validate_solve(a, b, "[linalg::solve_triangular]")?;
    let ai = tri_inv(a, upper)?;
    ops::matmul(&ai, b)
}

// ------------------------------------------------------------------------------------------
// Determinants
// ------------------------------------------------------------------------------------------

fn validate_det(a: &Array, prefix: &str) -> Result<()> {
    if a.dtype().is_complex() {
        return Err(Error::value(format!(
            "{prefix} Complex inputs are not supported."
        )));
    }
    check_square_matrices(a, prefix)
}

/// The determinant of matrices up to 3 x 3, by cofactor expansion (MLX's small path).
fn det_small(a: &Array) -> Result<Array> {
    let nd = a.ndim();
    let n = a.shape()[nd - 1];
    if n == 0 {
        return ops::broadcast_to(scalar(1.0, a.dtype())?, &a.shape()[..nd - 2]);
    }
    let e = |i: usize, j: usize| -> Result<Array> {
        let mut start = vec![0usize; nd];
        let mut stop = a.shape().to_vec();
        start[nd - 2] = i;
        stop[nd - 2] = i + 1;
        start[nd - 1] = j;
        stop[nd - 1] = j + 1;
        let s = ops::slice(a, &start, &stop, vec![1usize; nd])?;
        ops::squeeze(&ops::squeeze(&s, Some(-1))?, Some(-1))
    };
    let mul = |x: &Array, y: &Array| ops::multiply(x, y);
    match n {
        1 => e(0, 0),
        2 => ops::subtract(mul(&e(0, 0)?, &e(1, 1)?)?, mul(&e(0, 1)?, &e(1, 0)?)?),
        _ => {
            let m = |i, j| e(i, j);
            let minor = |a: usize, b: usize, c: usize, d: usize| -> Result<Array> {
                ops::subtract(mul(&m(1, a)?, &m(2, b)?)?, mul(&m(1, c)?, &m(2, d)?)?)
            };
            let t0 = mul(&m(0, 0)?, &minor(1, 2, 2, 1)?)?;
            let t1 = mul(&m(0, 1)?, &minor(0, 2, 2, 0)?)?;
            let t2 = mul(&m(0, 2)?, &minor(0, 1, 1, 0)?)?;
            ops::add(ops::subtract(t0, t1)?, t2)
        }
    }
}

fn slogdet_impl(a: &Array) -> Result<(Array, Array)> {
    let nd = a.ndim();
    let n = a.shape()[nd - 1];
    let dtype = a.dtype();
    if n <= 3 {
        let raw = det_small(a)?;
        return Ok((ops::sign(&raw)?, ops::log(ops::abs(&raw)?)?));
    }
    let (lu, piv) = lu_factor(a)?;
    let diag = ops::diagonal(&lu, 0, -2, -1)?;
    let k = n;
    let iota = ops::arange_dtype(0.0, k as f64, 1.0, Dtype::Uint32)?;
    let parity = ops::astype(
        &ops::sum_axes(ops::not_equal(&piv, &iota)?, -1, false)?,
        Dtype::Int32,
    )?;
    let neg = ops::astype(
        &ops::sum_axes(ops::less(&diag, scalar(0.0, dtype)?)?, -1, false)?,
        Dtype::Int32,
    )?;
    let total = ops::add(&parity, &neg)?;
    let two = scalar(2.0, Dtype::Int32)?;
    let sign = ops::astype(
        &ops::subtract(
            scalar(1.0, Dtype::Int32)?,
            ops::multiply(&two, ops::remainder(&total, &two)?)?,
        )?,
        dtype,
    )?;
    let logabs = ops::sum_axes(ops::log(ops::abs(&diag)?)?, -1, false)?;
    let zero = ops::any_axes(ops::equal(&diag, scalar(0.0, dtype)?)?, -1, false)?;
    let sign = ops::where_(&zero, scalar(0.0, dtype)?, &sign)?;
    let logabs = ops::where_(&zero, scalar(f64::NEG_INFINITY, dtype)?, &logabs)?;
    Ok((sign, logabs))
}

/// The sign and the log of the absolute value of the determinant (`mx.linalg.slogdet`):
/// `det = sign * exp(logabsdet)`; a singular matrix gives `(0, -inf)`. Integer inputs are
/// computed in float32.
///
/// ```
/// use rmlx_core as mx;
/// let (s, l) = mx::linalg::slogdet(&mx::array![[0.0, 2.0], [3.0, 0.0]])?;
/// assert_eq!(s.item::<f32>()?, -1.0);
/// assert!((l.item::<f32>()? - 6f32.ln()).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn slogdet(a: &Array) -> Result<(Array, Array)> {
    validate_det(a, "[linalg::slogdet]")?;
    let x = ops::astype(a, at_least_float(a.dtype()))?;
    slogdet_impl(&x)
}

/// The determinant (`mx.linalg.det`): by cofactors up to 3 x 3, else from the LU
/// factorisation. Integer inputs are computed in float32.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::linalg::det(&mx::array![[1.0, 2.0], [3.0, 4.0]])?.item::<f32>()?, -2.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn det(a: &Array) -> Result<Array> {
    validate_det(a, "[linalg::det]")?;
    let x = ops::astype(a, at_least_float(a.dtype()))?;
    if x.shape()[x.ndim() - 1] <= 3 {
        return det_small(&x);
    }
    let (s, l) = slogdet_impl(&x)?;
    ops::multiply(&s, ops::exp(&l)?)
}

// ------------------------------------------------------------------------------------------
// Cross product
// ------------------------------------------------------------------------------------------

/// The cross product of vectors of 2 or 3 components along `axis` (`mx.linalg.cross(a, b,
/// axis)`); a 2-component vector has a zero third component. The other dimensions broadcast.
///
/// ```
/// use rmlx_core as mx;
/// let c = mx::linalg::cross(&mx::array![1.0, 0.0, 0.0], &mx::array![0.0, 1.0, 0.0], -1)?;
/// assert_eq!(c.to_vec::<f32>()?, vec![0.0, 0.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cross(a: &Array, b: &Array, axis: isize) -> Result<Array> {
    let check = |x: &Array| -> Result<usize> {
        let nd = x.ndim() as isize;
        if axis < -nd || axis >= nd {
            return Err(Error::index(format!(
                "[linalg::cross] Axis {axis} is out of bounds for array with {nd} dimensions."
            )));
        }
        let ax = if axis < 0 { axis + nd } else { axis } as usize;
        let d = x.shape()[ax];
        if !(2..=3).contains(&d) {
            return Err(Error::value(
                "[linalg::cross] The specified axis must have size 2 or 3.",
            ));
        }
        Ok(d)
    };
    let a2 = check(a)? == 2;
    let b2 = check(b)? == 2;
    let out_type = promote_types(a.dtype(), b.dtype());
    let with3 = |x: &Array| {
        let mut s = x.shape().to_vec();
        let nd = x.ndim() as isize;
        s[if axis < 0 { axis + nd } else { axis } as usize] = 3;
        s
    };
    let mut out_shape = ops::broadcast_shapes(&[&with3(a), &with3(b)])?;
    let ax = if axis < 0 {
        axis + out_shape.len() as isize
    } else {
        axis
    };
    let axu = ax as usize;
    out_shape[axu] = if a2 { 2 } else { 3 };
    let a_ = ops::broadcast_to(ops::astype(a, out_type)?, &out_shape)?;
    out_shape[axu] = if b2 { 2 } else { 3 };
    let b_ = ops::broadcast_to(ops::astype(b, out_type)?, &out_shape)?;
    let asp = ops::split(&a_, if a2 { 2 } else { 3 }, ax)?;
    let bsp = ops::split(&b_, if b2 { 2 } else { 3 }, ax)?;
    let mul = |x: &Array, y: &Array| ops::multiply(x, y);
    let mut outs = Vec::with_capacity(3);
    if a2 && b2 {
        let z = ops::zeros_like(&asp[0])?;
        outs.push(z.clone());
        outs.push(z);
    } else if b2 {
        outs.push(ops::negative(mul(&asp[2], &bsp[1])?)?);
        outs.push(mul(&asp[2], &bsp[0])?);
    } else if a2 {
        outs.push(mul(&asp[1], &bsp[2])?);
        outs.push(ops::negative(mul(&asp[0], &bsp[2])?)?);
    } else {
        outs.push(ops::subtract(
            mul(&asp[1], &bsp[2])?,
            mul(&asp[2], &bsp[1])?,
        )?);
        outs.push(ops::subtract(
            mul(&asp[2], &bsp[0])?,
            mul(&asp[0], &bsp[2])?,
        )?);
    }
    outs.push(ops::subtract(
        mul(&asp[0], &bsp[1])?,
        mul(&asp[1], &bsp[0])?,
    )?);
    ops::concatenate(&outs, ax)
}
