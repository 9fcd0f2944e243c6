//! Dense factorisations on the CPU (what MLX hands to LAPACK), computed with `faer`.
//!
//! Every kernel works on the matrices of its input (the last two dimensions; the leading
//! ones are a batch), reads them row-major, factors each one and writes the outputs
//! row-major. A batch runs its matrices in parallel (each on one thread); a single matrix
//! lets faer use every thread.
//!
//! The SVD and the eigendecompositions also take complex64 (faer's `c32` is
//! `num_complex::Complex<f32>`, our [`C64`], so the data is read in place): one generic code
//! path over [`Field`] serves float32, float64 and complex64, computing in the input's type
//! as MLX does.
//!
//! A factorisation that fails (a singular matrix for an inverse, a matrix that is not
//! positive definite for Cholesky, an iteration that does not converge) is an error on the
//! outputs, never a silent garbage value.

use crate::array::{Array, Data};
use crate::cpu::quantized::dense;
use crate::element::{C64, Element};
use crate::error::{Error, Result};
use crate::primitive::OutputSpec;
use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, MatRef, Par, Side};
use rayon::prelude::*;

/// The real element types the factorisations run in (MLX's float32 and float64).
pub(crate) trait Real:
    Element
    + faer::traits::RealField
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::SubAssign
{
}
impl Real for f32 {}
impl Real for f64 {}

/// The element types the SVD and the eigendecompositions run in: MLX's float32, float64 and
/// complex64. Their faer `Real` type is that of singular values and Hermitian eigenvalues
/// (float32 for complex64).
pub(crate) trait Field: Element + faer::traits::ComplexField<Real: Real> {}
impl Field for f32 {}
impl Field for f64 {}
impl Field for C64 {}

/// Runs `f` on every matrix of `a` (in batch order), in parallel across a batch.
fn per_matrix<T: Element, R: Send>(
    a: &Array,
    f: impl Fn(MatRef<'_, T>, Par) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let nb: usize = a.shape()[..nd - 2].iter().product();
    let data = dense::<T>(a)?;
    let s = data.as_slice();
    let one = |b: usize, par: Par| {
        let mat = if m * n == 0 {
            MatRef::from_row_major_slice(&[], m, n)
        } else {
            MatRef::from_row_major_slice(&s[b * m * n..(b + 1) * m * n], m, n)
        };
        f(mat, par)
    };
    if nb == 1 {
        Ok(vec![one(0, Par::rayon(0))?])
    } else {
        (0..nb).into_par_iter().map(|b| one(b, Par::Seq)).collect()
    }
}

/// The elements of `m`, row-major.
fn row_major<T: Copy>(m: MatRef<'_, T>) -> Vec<T> {
    let mut v = Vec::with_capacity(m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            v.push(m[(i, j)]);
        }
    }
    v
}

/// One output's data from the per-matrix pieces, in batch order.
fn gather<T: Element>(parts: impl IntoIterator<Item = Vec<T>>, spec: &OutputSpec) -> Result<Data> {
    let mut all = Vec::with_capacity(spec.size());
    for p in parts {
        all.extend(p);
    }
    Data::from_slice(&all, &spec.shape)
}

fn is_zero<T: Element>(x: T) -> bool {
    x.to_f64() == 0.0
}

/// The inverse of each square matrix (`tri`: of its lower or `upper` triangle, the other
/// triangle of the result zero). A zero pivot (a singular matrix) is an error naming the
/// 1-based index of the pivot, as LAPACK's `info` does.
pub(crate) fn inverse<T: Real>(
    a: &Array,
    tri: bool,
    upper: bool,
    spec: &OutputSpec,
) -> Result<Data> {
    let parts = per_matrix::<T, _>(a, |x, par| {
        let n = x.nrows();
        if tri {
            if let Some(i) = (0..n).find(|&i| is_zero(x[(i, i)])) {
                return Err(Error::runtime(format!(
                    "[Inverse::eval_cpu] triangular inversion failed with error code {}: the \
                     matrix is singular.",
                    i + 1
                )));
            }
            let mut out = Mat::<T>::zeros(n, n);
            if upper {
                faer::linalg::triangular_inverse::invert_upper_triangular(out.as_mut(), x, par);
            } else {
                faer::linalg::triangular_inverse::invert_lower_triangular(out.as_mut(), x, par);
            }
            return Ok(row_major(out.as_ref()));
        }
        let lu = x.partial_piv_lu();
        let u = lu.U();
        if let Some(i) = (0..n).find(|&i| is_zero(u[(i, i)])) {
            return Err(Error::runtime(format!(
                "[Inverse::eval_cpu] LU factorization failed with error code {}: the matrix is \
                 singular.",
                i + 1
            )));
        }
        Ok(row_major(lu.inverse().as_ref()))
    })?;
    gather(parts, spec)
}

/// The Cholesky factor of each matrix: lower (read from the lower triangle) or `upper`
/// (read from the upper triangle), the other triangle zero. A matrix that is not positive
/// definite is an error.
pub(crate) fn cholesky<T: Real>(a: &Array, upper: bool, spec: &OutputSpec) -> Result<Data> {
    let parts = per_matrix::<T, _>(a, |x, _par| {
        let n = x.nrows();
        let src = if upper { x.transpose() } else { x };
        let llt = src.llt(Side::Lower).map_err(|_| {
            Error::runtime(
                "[linalg::cholesky] Cholesky decomposition failed: the matrix is not positive \
                 definite.",
            )
        })?;
        let l = llt.L();
        let mut out = vec![T::from_f64(0.0); n * n];
        for i in 0..n {
            for j in 0..=i {
                if upper {
                    out[j * n + i] = l[(i, j)];
                } else {
                    out[i * n + j] = l[(i, j)];
                }
            }
        }
        Ok(out)
    })?;
    gather(parts, spec)
}

/// The thin QR factorisation of each `m x n` matrix: `Q` (`m x k`, orthonormal columns) and
/// `R` (`k x n`, upper triangular), `k = min(m, n)`.
pub(crate) fn qr<T: Real>(a: &Array, outputs: &[OutputSpec]) -> Result<Vec<Data>> {
    let parts = per_matrix::<T, _>(a, |x, _par| {
        let (m, n) = x.shape();
        if m.min(n) == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        let qr = x.qr();
        let q = row_major(qr.compute_thin_Q().as_ref());
        let r = qr.thin_R();
        let mut rv = row_major(r);
        let k = m.min(n);
        for i in 0..k {
            for j in 0..i.min(n) {
                rv[i * n + j] = T::from_f64(0.0);
            }
        }
        Ok((q, rv))
    })?;
    let (q, r): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
    Ok(vec![gather(q, &outputs[0])?, gather(r, &outputs[1])?])
}

fn svd_error(_: faer::linalg::svd::SvdError) -> Error {
    Error::runtime("[linalg::svd] The singular value decomposition did not converge.")
}

fn evd_error(op: &str) -> Error {
    Error::runtime(format!(
        "[linalg::{op}] The eigendecomposition did not converge."
    ))
}

/// The singular values of each matrix (descending) and, with `uv`, `U` (`m x m`) and `Vt`
/// (`n x n`): outputs `[U, S, Vt]` or `[S]`, as MLX orders them.
///
/// For complex input `Vt` is `V^H` (so that `U S Vt == A`) and `S` is real.
pub(crate) fn svd<T: Field>(a: &Array, uv: bool, outputs: &[OutputSpec]) -> Result<Vec<Data>> {
    use faer::linalg::svd::{ComputeSvdVectors, svd, svd_scratch};
    let parts = per_matrix::<T, _>(a, |x, par| {
        let (m, n) = x.shape();
        let k = m.min(n);
        let mut s = Diag::<T>::zeros(k);
        // Without vectors, U and V stay empty and faer skips computing them.
        let (mut u, mut v) = if uv {
            (Mat::<T>::identity(m, m), Mat::<T>::identity(n, n))
        } else {
            (Mat::<T>::zeros(0, 0), Mat::<T>::zeros(0, 0))
        };
        if k > 0 {
            let mode = if uv {
                ComputeSvdVectors::Full
            } else {
                ComputeSvdVectors::No
            };
            let req = svd_scratch::<T>(m, n, mode, mode, par, Default::default());
            let mut buf = MemBuffer::new(req);
            svd(
                x,
                s.as_mut(),
                uv.then(|| u.as_mut()),
                uv.then(|| v.as_mut()),
                par,
                MemStack::new(&mut buf),
                Default::default(),
            )
            .map_err(svd_error)?;
        }
        let sv: Vec<T::Real> = (0..k).map(|i| T::real_part_impl(&s[i])).collect();
        if !uv {
            return Ok((Vec::new(), sv, Vec::new()));
        }
        // `Vt = V^H`: the transpose, conjugated (a no-op for real types).
        let mut vt = row_major(v.as_ref().transpose());
        for z in &mut vt {
            *z = T::conj_impl(z);
        }
        Ok((row_major(u.as_ref()), sv, vt))
    })?;
    let mut us = Vec::with_capacity(parts.len());
    let mut ss = Vec::with_capacity(parts.len());
    let mut vs = Vec::with_capacity(parts.len());
    for (u, s, v) in parts {
        us.push(u);
        ss.push(s);
        vs.push(v);
    }
    if uv {
        Ok(vec![
            gather(us, &outputs[0])?,
            gather(ss, &outputs[1])?,
            gather(vs, &outputs[2])?,
        ])
    } else {
        Ok(vec![gather(ss, &outputs[0])?])
    }
}

/// The eigenvalues (ascending) of each symmetric (complex: Hermitian) matrix, read from its
/// lower triangle or its `upper` one, and with `vectors` the eigenvectors (columns): outputs
/// `[w]` or `[w, V]`. As in LAPACK, the imaginary parts of a complex diagonal are ignored.
pub(crate) fn eigh<T: Field>(
    a: &Array,
    upper: bool,
    vectors: bool,
    outputs: &[OutputSpec],
) -> Result<Vec<Data>> {
    use faer::linalg::evd::{ComputeEigenvectors, self_adjoint_evd, self_adjoint_evd_scratch};
    let parts = per_matrix::<T, _>(a, |x, par| {
        let n = x.nrows();
        // The Hermitian matrix the chosen triangle describes, in the lower triangle faer
        // reads: the upper triangle's entries conjugated and mirrored, the diagonal real.
        let h = Mat::<T>::from_fn(n, n, |i, j| {
            if i == j {
                T::from_real_impl(&T::real_part_impl(&x[(i, i)]))
            } else if i < j {
                T::zero_impl()
            } else if upper {
                T::conj_impl(&x[(j, i)])
            } else {
                x[(i, j)]
            }
        });
        let mut s = Diag::<T>::zeros(n);
        let mut u = Mat::<T>::zeros(if vectors { n } else { 0 }, if vectors { n } else { 0 });
        if n > 0 {
            let want = if vectors {
                ComputeEigenvectors::Yes
            } else {
                ComputeEigenvectors::No
            };
            let req = self_adjoint_evd_scratch::<T>(n, want, par, Default::default());
            let mut buf = MemBuffer::new(req);
            self_adjoint_evd(
                h.as_ref(),
                s.as_mut(),
                if vectors { Some(u.as_mut()) } else { None },
                par,
                MemStack::new(&mut buf),
                Default::default(),
            )
            .map_err(|_| evd_error("eigh"))?;
        }
        let w: Vec<T::Real> = (0..n).map(|i| T::real_part_impl(&s[i])).collect();
        Ok((w, row_major(u.as_ref())))
    })?;
    let (w, v): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
    let mut out = vec![gather(w, &outputs[0])?];
    if vectors {
        out.push(gather(v, &outputs[1])?);
    }
    Ok(out)
}

/// The (complex) eigenvalues of each general square matrix and, with `vectors`, its right
/// eigenvectors (columns, unit norm, `A V = V diag(w)`), as `complex64`: outputs `[w]` or
/// `[w, V]`.
pub(crate) fn eig<T: Field>(a: &Array, vectors: bool, outputs: &[OutputSpec]) -> Result<Vec<Data>> {
    let c = |z: num_complex::Complex<T::Real>| C64::new(z.re.to_f64() as f32, z.im.to_f64() as f32);
    let parts = per_matrix::<T, _>(a, |x, _par| {
        let n = x.nrows();
        if n == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        if !vectors {
            let w = x.eigenvalues().map_err(|_| evd_error("eig"))?;
            return Ok((w.into_iter().map(c).collect(), Vec::new()));
        }
        let e = x.eigen().map_err(|_| evd_error("eig"))?;
        let s = e.S();
        let w: Vec<C64> = (0..n).map(|i| c(s[i])).collect();
        let u = e.U();
        let mut v = vec![C64::new(0.0, 0.0); n * n];
        for j in 0..n {
            // LAPACK's normalisation: unit norm, the largest component real.
            let col: Vec<num_complex::Complex<f64>> = (0..n)
                .map(|i| {
                    let z = u[(i, j)];
                    num_complex::Complex::new(z.re.to_f64(), z.im.to_f64())
                })
                .collect();
            let norm = col.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt();
            let big = col
                .iter()
                .copied()
                .fold(num_complex::Complex::new(0.0, 0.0), |b, z| {
                    if z.norm_sqr() > b.norm_sqr() { z } else { b }
                });
            let rot = if big.im != 0.0 {
                big.conj() / big.norm()
            } else {
                num_complex::Complex::new(1.0, 0.0)
            };
            let scale = if norm > 0.0 { rot / norm } else { rot };
            for (i, z) in col.into_iter().enumerate() {
                let y = z * scale;
                v[i * n + j] = C64::new(y.re as f32, y.im as f32);
            }
        }
        Ok((w, v))
    })?;
    let (w, v): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
    let mut out = vec![gather(w, &outputs[0])?];
    if vectors {
        out.push(gather(v, &outputs[1])?);
    }
    Ok(out)
}

/// LU factorisation with partial pivoting of each `m x n` matrix, as LAPACK's `getrf`
/// leaves it: outputs `[LU, pivots, rows]`: `LU` holds the unit lower factor under the
/// diagonal and the upper factor on and above it; `pivots[i]` (`uint32`, 0-based) is the row
/// swapped with row `i` at step `i` (the first of the largest magnitudes in the column, as
/// LAPACK picks it); `rows` says where each row of `a` went (`a == (L @ U)[rows]`). A singular
/// matrix factors: a zero pivot leaves its column unscaled, as in LAPACK.
///
/// Right-looking elimination on the row-major matrix: every update is a contiguous row
/// operation.
pub(crate) fn lu<T: Real>(a: &Array, outputs: &[OutputSpec]) -> Result<Vec<Data>> {
    let parts = per_matrix::<T, _>(a, |x, _par| {
        let (m, n) = x.shape();
        let k = m.min(n);
        let mut f = row_major(x);
        let mut piv = Vec::with_capacity(k);
        let mut rows: Vec<u32> = (0..m as u32).collect();
        for j in 0..k {
            let mut p = j;
            let mut best = f[j * n + j].to_f64().abs();
            for i in j + 1..m {
                let v = f[i * n + j].to_f64().abs();
                if v > best {
                    best = v;
                    p = i;
                }
            }
            piv.push(p as u32);
            if p != j {
                let (top, bottom) = f.split_at_mut(p * n);
                top[j * n..(j + 1) * n].swap_with_slice(&mut bottom[..n]);
                rows.swap(j, p);
            }
            let d = f[j * n + j];
            if is_zero(d) {
                continue;
            }
            let (head, tail) = f.split_at_mut((j + 1) * n);
            let pivot_row = &head[j * n + j + 1..(j + 1) * n];
            for row in tail.chunks_exact_mut(n) {
                let l = row[j] / d;
                row[j] = l;
                if !is_zero(l) {
                    for (r, &u) in row[j + 1..].iter_mut().zip(pivot_row) {
                        *r -= l * u;
                    }
                }
            }
        }
        // MLX returns the inverse permutation: `a == (L @ U)[perm]`.
        let mut perm = vec![0u32; m];
        for (i, &r) in rows.iter().enumerate() {
            perm[r as usize] = i as u32;
        }
        Ok((f, piv, perm))
    })?;
    let mut lus = Vec::with_capacity(parts.len());
    let mut pivs = Vec::with_capacity(parts.len());
    let mut rows = Vec::with_capacity(parts.len());
    for (l, p, r) in parts {
        lus.push(l);
        pivs.push(p);
        rows.push(r);
    }
    Ok(vec![
        gather(lus, &outputs[0])?,
        gather(pivs, &outputs[1])?,
        gather(rows, &outputs[2])?,
    ])
}
