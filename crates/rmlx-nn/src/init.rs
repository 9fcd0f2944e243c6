//! The initializers of `mlx.nn.init`. As in MLX, each function takes the initializer's
//! settings and returns the initializer: a closure called with an array whose shape (only)
//! it uses, returning a new array of that shape. The Glorot initializers take a `gain` on the
//! call, the He initializers a [`FanMode`] and a `gain`, as MLX's do (MLX's defaults:
//! `gain = 1.0`, `FanMode::FanIn`).
//!
//! Random draws use the global key of [`mx::random`] in MLX's order, so after the same
//! `mx::random::seed(k)` they give the values MLX gives.
//!
//! ```
//! use rmlx_nn::init;
//! use rmlx_nn::core as mx;
//! let w = mx::zeros(&[4, 3], mx::float32)?;
//! let filled = init::constant(0.5, mx::float32)(&w)?;
//! assert_eq!(filled.to_vec::<f32>()?, vec![0.5; 12]);
//! let glorot = init::glorot_uniform(mx::float32)(&w, 1.0)?;
//! let limit = (6.0f32 / 7.0).sqrt();
//! assert!(glorot.to_vec::<f32>()?.iter().all(|v| v.abs() <= limit));
//! let he = init::he_normal(mx::float32)(&w, init::FanMode::FanOut, 2.0)?;
//! assert_eq!(he.shape(), &[4, 3]);
//! # Ok::<(), mx::Error>(())
//! ```

use crate::core::{self as mx, Array, Dtype, Error, Result};
use crate::pyrepr::py_shape;

/// An initializer filling the shape of its argument with `value` (`nn.init.constant`; MLX's
/// default dtype is float32).
///
/// ```
/// use rmlx_nn::core as mx;
/// let a = rmlx_nn::init::constant(2.0, mx::float16)(&mx::zeros(&[2], mx::float32)?)?;
/// assert_eq!(a.dtype(), mx::float16);
/// assert_eq!(a.to_vec::<f32>()?, vec![2.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn constant(value: f64, dtype: Dtype) -> impl Fn(&Array) -> Result<Array> {
    move |a| mx::full(a.shape(), value, Some(dtype))
}

/// An initializer drawing from `N(mean, std^2)` (`nn.init.normal`; MLX's defaults are
/// `mean = 0.0`, `std = 1.0`, float32).
///
/// ```standalone_crate
/// use rmlx_nn::core as mx;
/// mx::random::seed(0);
/// let a = rmlx_nn::init::normal(0.0, 1.0, mx::float32)(&mx::zeros(&[2, 2], mx::float32)?)?;
/// assert!((a.to_vec::<f32>()?[0] - 1.13788).abs() < 1e-5); // MLX's value after seed(0)
/// # Ok::<(), mx::Error>(())
/// ```
pub fn normal(mean: f64, std: f64, dtype: Dtype) -> impl Fn(&Array) -> Result<Array> {
    move |a| mx::random::normal_with(a.shape(), dtype, mean, std, None)
}

/// An initializer drawing from `U(low, high)` (`nn.init.uniform`; MLX's defaults are
/// `low = 0.0`, `high = 1.0`, float32).
///
/// ```
/// use rmlx_nn::core as mx;
/// let a = rmlx_nn::init::uniform(-1.0, 1.0, mx::float32)(&mx::zeros(&[8], mx::float32)?)?;
/// assert!(a.to_vec::<f32>()?.iter().all(|v| (-1.0..1.0).contains(v)));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn uniform(low: f64, high: f64, dtype: Dtype) -> impl Fn(&Array) -> Result<Array> {
    move |a| mx::random::uniform(low, high, a.shape(), dtype, None)
}

/// An initializer returning the identity matrix of its square argument's size
/// (`nn.init.identity`; MLX's default dtype is float32); a non-square argument is an error.
///
/// ```
/// use rmlx_nn::core as mx;
/// let init = rmlx_nn::init::identity(mx::float32);
/// assert_eq!(init(&mx::zeros(&[2, 2], mx::float32)?)?.to_vec::<f32>()?, vec![1.0, 0.0, 0.0, 1.0]);
/// assert!(init(&mx::zeros(&[2, 3], mx::float32)?).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn identity(dtype: Dtype) -> impl Fn(&Array) -> Result<Array> {
    move |a| {
        let s = a.shape();
        if s.len() != 2 || s[0] != s[1] {
            return Err(Error::value(format!(
                "The input array must be a square matrix but got shape {}.",
                py_shape(s)
            )));
        }
        mx::eye(s[0], None, 0, dtype)
    }
}

/// MLX's `(fan_in, fan_out)`: the last and first dimensions, each times the product of the
/// dimensions between them.
fn fan_in_fan_out(a: &Array) -> Result<(usize, usize)> {
    let s = a.shape();
    if s.len() < 2 {
        return Err(Error::value(format!(
            "Glorot / He initialization requires at least 2 dimensional input but input with \
             {} dimensions.",
            s.len()
        )));
    }
    let receptive: usize = s[1..s.len() - 1].iter().product();
    Ok((s[s.len() - 1] * receptive, s[0] * receptive))
}

/// Which fan the He initializers scale by (MLX's `mode`; default [`FanMode::FanIn`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum FanMode {
    /// The number of inputs (`"fan_in"`).
    #[default]
    FanIn,
    /// The number of outputs (`"fan_out"`).
    FanOut,
}

impl std::str::FromStr for FanMode {
    type Err = Error;

    /// Parses `"fan_in"` or `"fan_out"`; anything else is MLX's error.
    ///
    /// ```
    /// use rmlx_nn::init::FanMode;
    /// assert_eq!("fan_out".parse::<FanMode>().unwrap(), FanMode::FanOut);
    /// assert!("fan_avg".parse::<FanMode>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fan_in" => Ok(FanMode::FanIn),
            "fan_out" => Ok(FanMode::FanOut),
            _ => Err(Error::value(format!(
                "Invalid mode: {s}. Valid modes are: fan_in, fan_out"
            ))),
        }
    }
}

/// A Glorot (Xavier) normal initializer (`nn.init.glorot_normal`): called as
/// `init(&a, gain)`, it draws from a normal of standard deviation
/// `gain * sqrt(2 / (fan_in + fan_out))`.
///
/// ```
/// use rmlx_nn::core as mx;
/// let init = rmlx_nn::init::glorot_normal(mx::float32);
/// assert_eq!(init(&mx::zeros(&[3, 5], mx::float32)?, 1.0)?.shape(), &[3, 5]);
/// assert!(init(&mx::zeros(&[3], mx::float32)?, 1.0).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn glorot_normal(dtype: Dtype) -> impl Fn(&Array, f64) -> Result<Array> {
    move |a, gain| {
        let (fan_in, fan_out) = fan_in_fan_out(a)?;
        let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
        mx::random::normal_with(a.shape(), dtype, 0.0, std, None)
    }
}

/// A Glorot (Xavier) uniform initializer (`nn.init.glorot_uniform`): called as
/// `init(&a, gain)`, it draws from `U(-limit, limit)` with
/// `limit = gain * sqrt(6 / (fan_in + fan_out))`.
///
/// ```
/// use rmlx_nn::core as mx;
/// let w = rmlx_nn::init::glorot_uniform(mx::float32)(&mx::zeros(&[2, 4], mx::float32)?, 1.0)?;
/// assert!(w.to_vec::<f32>()?.iter().all(|v| v.abs() <= 1.0));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn glorot_uniform(dtype: Dtype) -> impl Fn(&Array, f64) -> Result<Array> {
    move |a, gain| {
        let (fan_in, fan_out) = fan_in_fan_out(a)?;
        let limit = gain * (6.0 / (fan_in + fan_out) as f64).sqrt();
        mx::random::uniform(-limit, limit, a.shape(), dtype, None)
    }
}

fn fan(a: &Array, mode: FanMode) -> Result<usize> {
    let (fan_in, fan_out) = fan_in_fan_out(a)?;
    Ok(match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    })
}

/// A He (Kaiming) normal initializer (`nn.init.he_normal`): called as
/// `init(&a, mode, gain)`, it draws from a normal of standard deviation `gain / sqrt(fan)`.
///
/// ```
/// use rmlx_nn::{core as mx, init};
/// let w = init::he_normal(mx::float32)(&mx::zeros(&[8, 2, 3], mx::float32)?, init::FanMode::FanIn, 1.0)?;
/// assert_eq!(w.shape(), &[8, 2, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn he_normal(dtype: Dtype) -> impl Fn(&Array, FanMode, f64) -> Result<Array> {
    move |a, mode, gain| {
        let std = gain / (fan(a, mode)? as f64).sqrt();
        mx::random::normal_with(a.shape(), dtype, 0.0, std, None)
    }
}

/// A He (Kaiming) uniform initializer (`nn.init.he_uniform`): called as
/// `init(&a, mode, gain)`, it draws from `U(-limit, limit)` with
/// `limit = gain * sqrt(3 / fan)`.
///
/// ```
/// use rmlx_nn::{core as mx, init};
/// let w = init::he_uniform(mx::float32)(&mx::zeros(&[4, 3], mx::float32)?, init::FanMode::FanOut, 1.0)?;
/// assert!(w.to_vec::<f32>()?.iter().all(|v| v.abs() <= (3.0f32 / 4.0).sqrt()));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn he_uniform(dtype: Dtype) -> impl Fn(&Array, FanMode, f64) -> Result<Array> {
    move |a, mode, gain| {
        let limit = gain * (3.0 / fan(a, mode)? as f64).sqrt();
        mx::random::uniform(-limit, limit, a.shape(), dtype, None)
    }
}

/// A sparse initializer for matrices (`nn.init.sparse`; MLX's defaults are `mean = 0.0`,
/// `std = 1.0`, float32): draws from `N(mean, std^2)` and zeroes `ceil(sparsity * cols)`
/// random entries of every row, as MLX does (a uniform draw argsorted per row picks them).
///
/// ```
/// use rmlx_nn::core as mx;
/// let w = rmlx_nn::init::sparse(0.5, 0.0, 1.0, mx::float32)(&mx::zeros(&[3, 4], mx::float32)?)?;
/// let v = w.to_vec::<f32>()?;
/// assert!(v.chunks(4).all(|row| row.iter().filter(|&&x| x == 0.0).count() >= 2));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn sparse(
    sparsity: f64,
    mean: f64,
    std: f64,
    dtype: Dtype,
) -> impl Fn(&Array) -> Result<Array> {
    move |a| {
        let [rows, cols] = a.shape() else {
            return Err(Error::value("Only tensors with 2 dimensions are supported"));
        };
        let (rows, cols) = (*rows, *cols);
        let num_zeros = ((sparsity * cols as f64).ceil().max(0.0) as usize).min(cols);
        let order = mx::argsort_axis(
            &mx::random::uniform(0.0, 1.0, a.shape(), mx::float32, None)?,
            1,
        )?;
        let values = mx::random::normal_with(a.shape(), dtype, mean, std, None)?;
        let zeroed = mx::slice(&order, [0, 0], [rows, num_zeros], [1, 1])?;
        mx::put_along_axis(&values, &zeroed, 0, Some(1))
    }
}

/// An orthogonal initializer for matrices (`nn.init.orthogonal`; MLX's defaults are
/// `gain = 1.0`, float32): the Q factor of a square standard normal draw of the larger
/// dimension, its columns' signs fixed by R's diagonal, cut to shape and scaled by `gain`.
///
/// ```
/// use rmlx_nn::core as mx;
/// let q = rmlx_nn::init::orthogonal(1.0, mx::float32)(&mx::zeros(&[3, 3], mx::float32)?)?;
/// let qtq = mx::matmul(&q.transpose()?, &q)?;
/// assert!(mx::allclose_with(&qtq, &mx::eye(3, None, 0, mx::float32)?, mx::CloseOptions {
///     atol: 1e-5, ..Default::default() })?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn orthogonal(gain: f64, dtype: Dtype) -> impl Fn(&Array) -> Result<Array> {
    move |a| {
        let [rows, cols] = a.shape() else {
            return Err(Error::value(format!(
                "Orthogonal initialization requires a 2D array but got a {}D array.",
                a.ndim()
            )));
        };
        let (rows, cols) = (*rows, *cols);
        let n = rows.max(cols);
        let rmat = mx::random::normal(&[n, n], mx::float32, None)?;
        let (q, r) = mx::linalg::qr(&rmat)?;
        let q = mx::multiply(&q, mx::sign(mx::diag(&r, 0)?)?)?;
        let q = mx::slice(&q, [0, 0], [rows, cols], [1, 1])?;
        mx::multiply(&q, gain)?.astype(dtype)
    }
}
