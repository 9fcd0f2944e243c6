//! The activation functions of `mlx.nn` (`nn.relu`, `nn.gelu`, ...), re-exported at the crate
//! root as MLX has them at `nn.*`. Each computes with the same ops, in the same order and
//! with the same constants as MLX (which `mx.compile`s most of them; the plain ops give the
//! same values). Scalar parameters (`alpha`, `negative_slope`, ...) are weak scalars: they
//! take the input's dtype, as Python floats do in MLX.
//!
//! ```
//! use rmlx_nn as nn;
//! use rmlx_nn::core as mx;
//! let x = mx::array![-2.0, 0.0, 3.0];
//! assert_eq!(nn::relu(&x)?.to_vec::<f32>()?, vec![0.0, 0.0, 3.0]);
//! assert_eq!(nn::leaky_relu(&x, 0.5)?.to_vec::<f32>()?, vec![-1.0, 0.0, 3.0]);
//! # Ok::<(), mx::Error>(())
//! ```

use crate::core::{self as mx, Array, Result};

/// The logistic sigmoid `1 / (1 + exp(-x))` (`nn.sigmoid`).
///
/// ```
/// let y = rmlx_nn::sigmoid(&rmlx_nn::core::array![0.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.5]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn sigmoid(x: &Array) -> Result<Array> {
    mx::sigmoid(x)
}

/// The rectified linear unit `max(x, 0)` (`nn.relu`); integer inputs stay integers.
///
/// ```
/// let y = rmlx_nn::relu(&rmlx_nn::core::array![-1, 2])?;
/// assert_eq!(y.to_vec::<i32>()?, vec![0, 2]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn relu(x: &Array) -> Result<Array> {
    mx::maximum(x, 0)
}

/// `max(x, 0)^2` (`nn.relu2`).
///
/// ```
/// let y = rmlx_nn::relu2(&rmlx_nn::core::array![-1.0, 3.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 9.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn relu2(x: &Array) -> Result<Array> {
    mx::square(mx::maximum(x, 0)?)
}

/// `min(max(x, 0), 6)` (`nn.relu6`).
///
/// ```
/// let y = rmlx_nn::relu6(&rmlx_nn::core::array![-1.0, 3.0, 8.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 3.0, 6.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn relu6(x: &Array) -> Result<Array> {
    mx::minimum(mx::maximum(x, 0)?, 6.0)
}

/// `max(negative_slope * x, x)` (`nn.leaky_relu`; MLX's default slope is `0.01`).
///
/// ```
/// let y = rmlx_nn::leaky_relu(&rmlx_nn::core::array![-2.0, 2.0], 0.01)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![-0.02, 2.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn leaky_relu(x: &Array, negative_slope: f32) -> Result<Array> {
    mx::maximum(mx::multiply(negative_slope, x)?, x)
}

/// `x - logsumexp(x)` along `axis` (`nn.log_softmax`; MLX's default axis is `-1`), shifted
/// by the (gradient-stopped) maximum first as MLX does.
///
/// ```
/// let y = rmlx_nn::log_softmax(&rmlx_nn::core::array![0.0, 0.0], -1)?;
/// assert!((y.to_vec::<f32>()?[0] + 2f32.ln()).abs() < 1e-6);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn log_softmax(x: &Array, axis: isize) -> Result<Array> {
    let x = mx::subtract(x, mx::stop_gradient(mx::max_axes(x, axis, true)?)?)?;
    mx::subtract(&x, mx::logsumexp_axes(&x, axis, true)?)
}

/// The exponential linear unit `where(x > 0, x, alpha * (exp(x) - 1))` (`nn.elu`; MLX's
/// default `alpha` is `1.0`).
///
/// ```
/// let y = rmlx_nn::elu(&rmlx_nn::core::array![0.0, 2.0], 1.0)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 2.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn elu(x: &Array, alpha: f32) -> Result<Array> {
    let neg = mx::multiply(alpha, mx::subtract(mx::exp(x)?, 1)?)?;
    mx::where_(mx::greater(x, 0)?, x, neg)
}

/// `exp(x) / sum(exp(x))` along `axis` (`nn.softmax`; MLX's default axis is `-1`).
///
/// ```
/// let y = rmlx_nn::softmax(&rmlx_nn::core::array![1.0, 1.0], -1)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.5, 0.5]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn softmax(x: &Array, axis: isize) -> Result<Array> {
    mx::softmax(x, axis)
}

/// `log(1 + exp(x))`, computed as `logaddexp(x, 0)` (`nn.softplus`).
///
/// ```
/// let y = rmlx_nn::softplus(&rmlx_nn::core::array![0.0])?;
/// assert!((y.to_vec::<f32>()?[0] - 2f32.ln()).abs() < 1e-6);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn softplus(x: &Array) -> Result<Array> {
    mx::logaddexp(x, 0)
}

/// `x / (1 + |x|)` (`nn.softsign`).
///
/// ```
/// let y = rmlx_nn::softsign(&rmlx_nn::core::array![1.0, -3.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.5, -0.75]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn softsign(x: &Array) -> Result<Array> {
    mx::divide(x, mx::add(1, mx::abs(x)?)?)
}

/// `x - sign(x) * lambd` where `|x| > lambd`, else 0 (`nn.softshrink`; MLX's default `lambd`
/// is `0.5`).
///
/// ```
/// let y = rmlx_nn::softshrink(&rmlx_nn::core::array![-2.0, 0.25, 1.5], 0.5)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![-1.5, 0.0, 1.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn softshrink(x: &Array, lambd: f32) -> Result<Array> {
    let shrunk = mx::subtract(x, mx::multiply(mx::sign(x)?, lambd)?)?;
    mx::where_(mx::greater(mx::abs(x)?, lambd)?, shrunk, 0)
}

/// The continuously differentiable ELU `max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)`
/// (`nn.celu`; MLX's default `alpha` is `1.0`).
///
/// ```
/// let y = rmlx_nn::celu(&rmlx_nn::core::array![0.0, 2.0], 1.0)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 2.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn celu(x: &Array, alpha: f32) -> Result<Array> {
    let e = mx::exp(mx::divide(mx::minimum(x, 0.0)?, alpha)?)?;
    mx::add(
        mx::maximum(x, 0.0)?,
        mx::multiply(alpha, mx::subtract(e, 1)?)?,
    )
}

/// The sigmoid linear unit (swish) `x * sigmoid(x)` (`nn.silu`).
///
/// ```
/// let y = rmlx_nn::silu(&rmlx_nn::core::array![0.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn silu(x: &Array) -> Result<Array> {
    mx::multiply(x, mx::sigmoid(x)?)
}

/// `log(sigmoid(x))`, computed as `-softplus(-x)` (`nn.log_sigmoid`).
///
/// ```
/// let y = rmlx_nn::log_sigmoid(&rmlx_nn::core::array![0.0])?;
/// assert!((y.to_vec::<f32>()?[0] + 2f32.ln()).abs() < 1e-6);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn log_sigmoid(x: &Array) -> Result<Array> {
    mx::negative(softplus(&mx::negative(x)?)?)
}

/// The Gaussian error linear unit `x * (1 + erf(x / sqrt(2))) / 2` (`nn.gelu`).
///
/// ```
/// let y = rmlx_nn::gelu(&rmlx_nn::core::array![0.0, 10.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 10.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn gelu(x: &Array) -> Result<Array> {
    let cdf = mx::add(1, mx::erf(mx::divide(x, std::f64::consts::SQRT_2)?)?)?;
    mx::divide(mx::multiply(x, cdf)?, 2)
}

/// The tanh approximation of [`gelu`]:
/// `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))` (`nn.gelu_approx`).
///
/// ```
/// let y = rmlx_nn::gelu_approx(&rmlx_nn::core::array![1.0])?;
/// assert!((y.to_vec::<f32>()?[0] - 0.841192).abs() < 1e-5);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn gelu_approx(x: &Array) -> Result<Array> {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    let inner = mx::add(x, mx::multiply(0.044715, mx::power(x, 3)?)?)?;
    let t = mx::add(1, mx::tanh(mx::multiply(c, inner)?)?)?;
    mx::multiply(mx::multiply(0.5, x)?, t)
}

/// The sigmoid approximation of [`gelu`]: `x * sigmoid(1.702 * x)` (`nn.gelu_fast_approx`).
///
/// ```
/// let y = rmlx_nn::gelu_fast_approx(&rmlx_nn::core::array![0.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn gelu_fast_approx(x: &Array) -> Result<Array> {
    mx::multiply(x, mx::sigmoid(mx::multiply(1.702, x)?)?)
}

/// The gated linear unit (`nn.glu`; MLX's default axis is `-1`): `axis` splits into halves
/// `a`, `b` and the result is `a * sigmoid(b)`; an odd `axis` length is an error.
///
/// ```
/// let y = rmlx_nn::glu(&rmlx_nn::core::array![[2.0, 0.0]], -1)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![1.0]);
/// assert!(rmlx_nn::glu(&rmlx_nn::core::array![1.0, 2.0, 3.0], -1).is_err());
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn glu(x: &Array, axis: isize) -> Result<Array> {
    let halves = mx::split(x, 2, axis)?;
    mx::multiply(&halves[0], mx::sigmoid(&halves[1])?)
}

/// The binary step: 1 where `x >= threshold`, else 0, as `int32` (`nn.step`; MLX's default
/// threshold is `0.0`).
///
/// ```
/// let y = rmlx_nn::step(&rmlx_nn::core::array![-1.0, 0.0, 2.0], 0.0)?;
/// assert_eq!(y.to_vec::<i32>()?, vec![0, 1, 1]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn step(x: &Array, threshold: f32) -> Result<Array> {
    mx::where_(mx::greater_equal(x, threshold)?, 1, 0)
}

/// The scaled ELU `elu(x, 1.67326) * 1.0507` (`nn.selu`, with MLX's rounded constants).
///
/// ```
/// let y = rmlx_nn::selu(&rmlx_nn::core::array![1.0])?;
/// assert!((y.to_vec::<f32>()?[0] - 1.0507).abs() < 1e-6);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn selu(x: &Array) -> Result<Array> {
    mx::multiply(elu(x, 1.67326)?, 1.0507)
}

/// The parametric ReLU `max(0, x) + alpha * min(0, x)` (`nn.prelu`); `alpha` broadcasts
/// against `x`.
///
/// ```
/// use rmlx_nn::core as mx;
/// let y = rmlx_nn::prelu(&mx::array![-2.0, 2.0], &mx::array![0.25])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![-0.5, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn prelu(x: &Array, alpha: &Array) -> Result<Array> {
    mx::add(mx::maximum(0, x)?, mx::multiply(alpha, mx::minimum(0, x)?)?)
}

/// `x * tanh(softplus(x))` (`nn.mish`).
///
/// ```
/// let y = rmlx_nn::mish(&rmlx_nn::core::array![0.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn mish(x: &Array) -> Result<Array> {
    mx::multiply(x, mx::tanh(softplus(x)?)?)
}

/// `x * min(max(x + 3, 0), 6) / 6` (`nn.hardswish`).
///
/// ```
/// let y = rmlx_nn::hardswish(&rmlx_nn::core::array![-4.0, 3.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 3.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn hardswish(x: &Array) -> Result<Array> {
    let max_x_3 = mx::maximum(mx::add(x, 3)?, 0)?;
    mx::divide(mx::multiply(x, mx::minimum(max_x_3, 6)?)?, 6)
}

/// `min(max(x, min_val), max_val)` (`nn.hard_tanh`; MLX's defaults are `-1.0`, `1.0`).
///
/// ```
/// let y = rmlx_nn::hard_tanh(&rmlx_nn::core::array![-3.0, 0.5, 3.0], -1.0, 1.0)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![-1.0, 0.5, 1.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn hard_tanh(x: &Array, min_val: f32, max_val: f32) -> Result<Array> {
    mx::minimum(mx::maximum(x, min_val)?, max_val)
}

/// `x` where `|x| > lambd`, else 0 (`nn.hard_shrink`; MLX's default `lambd` is `0.5`).
///
/// ```
/// let y = rmlx_nn::hard_shrink(&rmlx_nn::core::array![-2.0, 0.25], 0.5)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![-2.0, 0.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn hard_shrink(x: &Array, lambd: f32) -> Result<Array> {
    mx::where_(mx::greater(mx::abs(x)?, lambd)?, x, 0)
}

/// `softmax(-x)` along `axis` (`nn.softmin`; MLX's default axis is `-1`).
///
/// ```
/// let y = rmlx_nn::softmin(&rmlx_nn::core::array![2.0, 2.0], -1)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.5, 0.5]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn softmin(x: &Array, axis: isize) -> Result<Array> {
    mx::softmax(mx::negative(x)?, axis)
}

/// The hyperbolic tangent (`nn.tanh`).
///
/// ```
/// let y = rmlx_nn::tanh(&rmlx_nn::core::array![0.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
pub fn tanh(x: &Array) -> Result<Array> {
    mx::tanh(x)
}
