//! Window functions (`mx.hanning`, `mx.hamming`, `mx.blackman`, `mx.bartlett`): float32
//! tapers of `m` points, computed as MLX computes them (the same float32 operations, so the
//! values agree to the last bit or two).
//!
//! As MLX: `m < 1` gives an empty array and `m == 1` gives `[1.0]`.

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;

/// The empty / single-point cases, or `n = [0, 1, ..., m - 1]` as float32 with `m - 1`.
fn points(m: i64) -> Result<std::result::Result<Array, (Array, f64)>> {
    if m < 1 {
        return Ok(Ok(super::zeros([0], Dtype::Float32)?));
    }
    if m == 1 {
        return Ok(Ok(super::ones([1], Dtype::Float32)?));
    }
    let n = super::arange_dtype(0.0, m as f64, 1.0, Dtype::Float32)?;
    Ok(Err((n, (m - 1) as f64)))
}

/// A float32 scalar (MLX rounds its double constants to float32 before use).
fn f32s(x: f64) -> Array {
    Array::scalar(x as f32)
}

/// The Hann window: `sin(pi * n / (m - 1))^2` for `n` in `0..m`.
///
/// ```
/// use rmlx_core as mx;
/// let w = mx::hanning(5)?.to_vec::<f32>()?;
/// assert!((w[2] - 1.0).abs() < 1e-6 && w[0].abs() < 1e-6);
/// assert_eq!(mx::hanning(0)?.shape(), &[0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn hanning(m: i64) -> Result<Array> {
    match points(m)? {
        Ok(w) => Ok(w),
        Err((n, d)) => super::square(&super::sin(&super::multiply(
            &f32s(std::f64::consts::PI / d),
            &n,
        )?)?),
    }
}

/// The Hamming window: `0.54 - 0.46 cos(2 pi n / (m - 1))`.
///
/// ```
/// use rmlx_core as mx;
/// let w = mx::hamming(5)?.to_vec::<f32>()?;
/// assert!((w[0] - 0.08).abs() < 1e-6 && (w[2] - 1.0).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn hamming(m: i64) -> Result<Array> {
    match points(m)? {
        Ok(w) => Ok(w),
        Err((n, d)) => {
            let c = super::cos(&super::multiply(&f32s(2.0 * std::f64::consts::PI / d), &n)?)?;
            super::subtract(&f32s(0.54), &super::multiply(&f32s(0.46), &c)?)
        }
    }
}

/// The Blackman window: `0.34 - 0.5 cos(x) + 0.16 cos(x)^2` with `x = 2 pi n / (m - 1)` (the
/// textbook `0.42 - 0.5 cos(x) + 0.08 cos(2x)`, written as MLX evaluates it).
///
/// ```
/// use rmlx_core as mx;
/// let w = mx::blackman(5)?.to_vec::<f32>()?;
/// assert!((w[1] - 0.34).abs() < 1e-6 && (w[2] - 1.0).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn blackman(m: i64) -> Result<Array> {
    match points(m)? {
        Ok(w) => Ok(w),
        Err((n, d)) => {
            let c = super::cos(&super::multiply(&f32s(2.0 * std::f64::consts::PI / d), &n)?)?;
            let t1 = super::multiply(&f32s(0.5), &c)?;
            let t2 = super::multiply(&f32s(0.16), &super::square(&c)?)?;
            super::add(&super::subtract(&f32s(0.34), &t1)?, &t2)
        }
    }
}

/// The Bartlett (triangular) window: `1 - |2 n / (m - 1) - 1|`.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::bartlett(5)?.to_vec::<f32>()?, vec![0.0, 0.5, 1.0, 0.5, 0.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn bartlett(m: i64) -> Result<Array> {
    match points(m)? {
        Ok(w) => Ok(w),
        Err((n, d)) => {
            // MLX divides in single precision here.
            let factor = Array::scalar(2.0f32 / d as f32);
            let t = super::subtract(&super::multiply(&factor, &n)?, &f32s(1.0))?;
            super::subtract(&f32s(1.0), &super::abs(&t)?)
        }
    }
}
