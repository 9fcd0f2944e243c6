//! Unary elementwise ops, with MLX's dtype rules:
//! - float math (`exp`, `sin`, `sqrt`, ...) promotes bool and integer inputs to float32 and
//!   keeps float16, bfloat16, float64 and complex64 (`expm1`, `sigmoid`, `erf`, `erfinv` reject
//!   complex64 with a `ValueError`);
//! - `abs`, `sign`, `square`, `floor`, `ceil`, `trunc`, `round` keep the input's dtype
//!   (`abs` of complex64 is float32; `floor`, `ceil`, `trunc` reject complex64);
//! - `isnan` and friends and `logical_not` give bool;
//! - `real`, `imag` of complex64 give float32, and are the identity / zeros otherwise.

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitive::Primitive;
use crate::primitives::unary::*;
use crate::scalar::{ArrayLike, Scalar};

/// The dtype float math runs in: the input's if inexact, float32 otherwise.
pub(crate) fn at_least_float(d: Dtype) -> Dtype {
    if d.is_inexact() { d } else { Dtype::Float32 }
}

/// Builds a same-shaped unary node.
pub(crate) fn unary_op(x: &Array, dtype: Dtype, p: impl Primitive) -> Array {
    Array::from_op(x.shape().to_vec(), dtype, p, vec![x.clone()])
}

/// Builds a float-math unary node, promoting the input to at least float32.
pub(crate) fn float_op(x: impl ArrayLike, p: impl Primitive) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    let d = at_least_float(x.dtype());
    let x = super::astype(&x, d)?;
    Ok(unary_op(&x, d, p))
}

/// [`float_op`] for ops without a complex form: complex64 is a `ValueError`.
fn real_float_op(x: impl ArrayLike, p: impl Primitive, name: &str) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    if x.dtype() == Dtype::Complex64 {
        return Err(Error::value(format!(
            "[{name}] Not supported for complex64."
        )));
    }
    float_op(x, p)
}

/// A 0-d array holding `v` in `dtype` (one rounding from f64).
fn constant(v: f64, dtype: Dtype) -> Result<Array> {
    Scalar::Float(v).to_array(dtype)
}

/// Absolute value (`mx.abs`); complex64 inputs give their magnitude as float32.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::abs(&mx::array![-1, 2])?.to_vec::<i32>()?, vec![1, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn abs(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    let d = if x.dtype() == Dtype::Complex64 {
        Dtype::Float32
    } else {
        x.dtype()
    };
    Ok(unary_op(&x, d, Abs))
}

/// The sign (`mx.sign`): -1, 0 or 1 in the input's dtype (0 for NaN); `x / |x|` for complex.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::sign(&mx::array![-3.0, 0.0, 2.0])?.to_vec::<f32>()?, vec![-1.0, 0.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn sign(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    Ok(unary_op(&x, x.dtype(), Sign))
}

/// `-x` (`mx.negative`); a `ValueError` for bool (use [`logical_not`]).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::negative(&mx::array![1, -2])?.to_vec::<i32>()?, vec![-1, 2]);
/// assert!(mx::negative(&mx::array![true]).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn negative(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    if x.dtype() == Dtype::Bool {
        return Err(Error::value(
            "[negative] Not supported for bool, use logical_not instead.",
        ));
    }
    Ok(unary_op(&x, x.dtype(), Negative))
}

/// `+x` (`mx.positive`): the input itself.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1, 2];
/// assert!(mx::positive(&a)?.is_same(&a));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn positive(x: impl ArrayLike) -> Result<Array> {
    x.into_operand().into_array()
}

/// `x * x` (`mx.square`) in the input's dtype (integers wrap).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::square(&mx::array![-3, 4])?.to_vec::<i32>()?, vec![9, 16]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn square(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    Ok(unary_op(&x, x.dtype(), Square))
}

/// Square root (`mx.sqrt`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::sqrt(&mx::array![4.0, 9.0])?.to_vec::<f32>()?, vec![2.0, 3.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn sqrt(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Sqrt)
}

/// Reciprocal square root `1 / sqrt(x)` (`mx.rsqrt`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::rsqrt(&mx::array![4.0])?.item::<f32>()?, 0.5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rsqrt(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Rsqrt)
}

/// `1 / x` (`mx.reciprocal`), in at least float32.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::reciprocal(&mx::array![4])?.item::<f32>()?, 0.25);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn reciprocal(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    let one = constant(1.0, at_least_float(x.dtype()))?;
    super::divide(&one, &x)
}

/// `e^x` (`mx.exp`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::exp(&mx::array![0.0])?.item::<f32>()?, 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn exp(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Exp)
}

/// `e^x - 1` (`mx.expm1`), accurate near 0; not for complex64.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::expm1(&mx::array![0.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn expm1(x: impl ArrayLike) -> Result<Array> {
    real_float_op(x, Expm1, "expm1")
}

/// Natural logarithm (`mx.log`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::log(&mx::array![1.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn log(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Log { base: LogBase::E })
}

/// Base-2 logarithm (`mx.log2`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::log2(&mx::array![8.0])?.item::<f32>()?, 3.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn log2(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Log { base: LogBase::Two })
}

/// Base-10 logarithm (`mx.log10`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::log10(&mx::array![100.0])?.item::<f32>()?, 2.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn log10(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Log { base: LogBase::Ten })
}

/// `ln(1 + x)` (`mx.log1p`), accurate near 0.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::log1p(&mx::array![0.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn log1p(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Log1p)
}

/// Sine (`mx.sin`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::sin(&mx::array![0.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn sin(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Sin)
}

/// Cosine (`mx.cos`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::cos(&mx::array![0.0])?.item::<f32>()?, 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cos(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Cos)
}

/// Tangent (`mx.tan`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::tan(&mx::array![0.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tan(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Tan)
}

/// Inverse sine (`mx.arcsin`); NaN outside `[-1, 1]` for real inputs.
///
/// ```
/// use rmlx_core as mx;
/// assert!(mx::arcsin(&mx::array![2.0])?.item::<f32>()?.is_nan());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arcsin(x: impl ArrayLike) -> Result<Array> {
    float_op(x, ArcSin)
}

/// Alias of [`arcsin`] (`mx.asin`).
pub fn asin(x: impl ArrayLike) -> Result<Array> {
    arcsin(x)
}

/// Inverse cosine (`mx.arccos`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::arccos(&mx::array![1.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arccos(x: impl ArrayLike) -> Result<Array> {
    float_op(x, ArcCos)
}

/// Alias of [`arccos`] (`mx.acos`).
pub fn acos(x: impl ArrayLike) -> Result<Array> {
    arccos(x)
}

/// Inverse tangent (`mx.arctan`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::arctan(&mx::array![0.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arctan(x: impl ArrayLike) -> Result<Array> {
    float_op(x, ArcTan)
}

/// Alias of [`arctan`] (`mx.atan`).
pub fn atan(x: impl ArrayLike) -> Result<Array> {
    arctan(x)
}

/// Hyperbolic sine (`mx.sinh`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::sinh(&mx::array![0.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn sinh(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Sinh)
}

/// Hyperbolic cosine (`mx.cosh`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::cosh(&mx::array![0.0])?.item::<f32>()?, 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cosh(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Cosh)
}

/// Hyperbolic tangent (`mx.tanh`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::tanh(&mx::array![0.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tanh(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Tanh)
}

/// Inverse hyperbolic sine (`mx.arcsinh`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::arcsinh(&mx::array![0.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arcsinh(x: impl ArrayLike) -> Result<Array> {
    float_op(x, ArcSinh)
}

/// Alias of [`arcsinh`] (`mx.asinh`).
pub fn asinh(x: impl ArrayLike) -> Result<Array> {
    arcsinh(x)
}

/// Inverse hyperbolic cosine (`mx.arccosh`); NaN below 1 for real inputs.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::arccosh(&mx::array![1.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arccosh(x: impl ArrayLike) -> Result<Array> {
    float_op(x, ArcCosh)
}

/// Alias of [`arccosh`] (`mx.acosh`).
pub fn acosh(x: impl ArrayLike) -> Result<Array> {
    arccosh(x)
}

/// Inverse hyperbolic tangent (`mx.arctanh`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::arctanh(&mx::array![0.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arctanh(x: impl ArrayLike) -> Result<Array> {
    float_op(x, ArcTanh)
}

/// Alias of [`arctanh`] (`mx.atanh`).
pub fn atanh(x: impl ArrayLike) -> Result<Array> {
    arctanh(x)
}

/// Rejects complex64 for the rounding ops that have no complex form.
fn not_complex(x: &Array, name: &str) -> Result<()> {
    if x.dtype() == Dtype::Complex64 {
        return Err(Error::value(format!(
            "[{name}] Not supported for complex64."
        )));
    }
    Ok(())
}

/// Rounds down (`mx.floor`), keeping the dtype; not for complex64.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::floor(&mx::array![-1.5, 1.5])?.to_vec::<f32>()?, vec![-2.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn floor(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    not_complex(&x, "floor")?;
    Ok(unary_op(&x, x.dtype(), Floor))
}

/// Rounds up (`mx.ceil`), keeping the dtype; not for complex64.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::ceil(&mx::array![-1.5, 1.5])?.to_vec::<f32>()?, vec![-1.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn ceil(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    not_complex(&x, "ceil")?;
    Ok(unary_op(&x, x.dtype(), Ceil))
}

/// Rounds towards zero (`mx.trunc`), keeping the dtype; integers are returned as they are;
/// not for complex64.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::trunc(&mx::array![-1.5, 1.5])?.to_vec::<f32>()?, vec![-1.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn trunc(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    not_complex(&x, "trunc")?;
    if !x.dtype().is_inexact() {
        return Ok(x);
    }
    Ok(unary_op(&x, x.dtype(), Trunc))
}

/// Rounds to the nearest integer, halves to even (`mx.round(x)`), keeping the dtype.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::round(&mx::array![0.5, 1.5, -2.5])?.to_vec::<f32>()?, vec![0.0, 2.0, -2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn round(x: impl ArrayLike) -> Result<Array> {
    round_decimals(x, 0)
}

/// Rounds to `decimals` decimal places (`mx.round(x, decimals)`; negative rounds to tens,
/// hundreds, ...), keeping the dtype. As MLX does, this scales by `10^decimals` (a float32
/// constant), rounds halves to even, and scales back by the float32 reciprocal; integer inputs
/// go through float32 and are truncated back.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::round_decimals(&mx::array![1250, 1350], -2)?.to_vec::<i32>()?, vec![1200, 1400]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn round_decimals(x: impl ArrayLike, decimals: i32) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    if decimals == 0 {
        return Ok(unary_op(&x, x.dtype(), Round));
    }
    let d = at_least_float(x.dtype());
    let scale = 10f64.powi(decimals) as f32;
    let scaled = super::multiply(&x, &constant(scale as f64, d)?)?;
    let r = round_decimals(&scaled, 0)?;
    let back = super::multiply(&r, &constant((1.0 / scale) as f64, d)?)?;
    super::astype(&back, x.dtype())
}

/// The logistic sigmoid `1 / (1 + e^-x)` (`mx.sigmoid`); not for complex64.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::sigmoid(&mx::array![0.0])?.item::<f32>()?, 0.5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn sigmoid(x: impl ArrayLike) -> Result<Array> {
    real_float_op(x, Sigmoid, "sigmoid")
}

/// The error function (`mx.erf`); not for complex64.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::erf(&mx::array![0.0])?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn erf(x: impl ArrayLike) -> Result<Array> {
    real_float_op(x, Erf, "erf")
}

/// `erf` with MLX's float32 approximation (bit for bit, about 1e-7 absolute error), for the
/// samplers whose values must equal MLX's (`truncated_normal`); [`erf`] is accurate.
pub(crate) fn erf_mlx(x: impl ArrayLike) -> Result<Array> {
    real_float_op(x, ErfMlx, "erf")
}

/// The inverse error function (`mx.erfinv`): `±inf` at `±1`, NaN outside `[-1, 1]`; not for
/// complex64.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::erfinv(&mx::array![1.0])?.item::<f32>()?, f32::INFINITY);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn erfinv(x: impl ArrayLike) -> Result<Array> {
    real_float_op(x, ErfInv, "erfinv")
}

/// A bool test of inexact values; integer and bool inputs give `fill` everywhere.
fn class_op(x: impl ArrayLike, p: impl Primitive, fill: bool) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    if !x.dtype().is_inexact() {
        return super::full(x.shape(), fill, Some(Dtype::Bool));
    }
    Ok(unary_op(&x, Dtype::Bool, p))
}

/// Where `x` is NaN (`mx.isnan`); complex values with a NaN part count.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1.0, f32::NAN];
/// assert_eq!(mx::isnan(&a)?.to_vec::<bool>()?, vec![false, true]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn isnan(x: impl ArrayLike) -> Result<Array> {
    class_op(x, IsNan, false)
}

/// Where `x` is `+inf` or `-inf` (`mx.isinf`); complex values with an infinite part count.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1.0, f32::NEG_INFINITY];
/// assert_eq!(mx::isinf(&a)?.to_vec::<bool>()?, vec![false, true]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn isinf(x: impl ArrayLike) -> Result<Array> {
    class_op(x, IsInf, false)
}

/// Where `x` is neither infinite nor NaN (`mx.isfinite`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1.0, f32::INFINITY];
/// assert_eq!(mx::isfinite(&a)?.to_vec::<bool>()?, vec![true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn isfinite(x: impl ArrayLike) -> Result<Array> {
    class_op(x, IsFinite, true)
}

/// Where `x` is `+inf` (`mx.isposinf`; for complex, exactly `inf + 0j`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![f32::INFINITY, f32::NEG_INFINITY];
/// assert_eq!(mx::isposinf(&a)?.to_vec::<bool>()?, vec![true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn isposinf(x: impl ArrayLike) -> Result<Array> {
    class_op(x, IsPosInf, false)
}

/// Where `x` is `-inf` (`mx.isneginf`; for complex, exactly `-inf + 0j`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![f32::INFINITY, f32::NEG_INFINITY];
/// assert_eq!(mx::isneginf(&a)?.to_vec::<bool>()?, vec![false, true]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn isneginf(x: impl ArrayLike) -> Result<Array> {
    class_op(x, IsNegInf, false)
}

/// Logical not (`mx.logical_not`): the input cast to bool, negated.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::logical_not(&mx::array![0, 3])?.to_vec::<bool>()?, vec![true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn logical_not(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    let b = super::astype(&x, Dtype::Bool)?;
    Ok(unary_op(&b, Dtype::Bool, LogicalNot))
}

/// Bitwise not (`mx.bitwise_invert`, `~x`) of integers; logical not for bool; a `ValueError`
/// for floating and complex inputs.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::bitwise_invert(&mx::array![0, 5])?.to_vec::<i32>()?, vec![-1, -6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn bitwise_invert(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    if x.dtype().is_inexact() {
        return Err(Error::value(
            "[bitwise_invert] Bitwise inverse only allowed on integer types.",
        ));
    }
    if x.dtype() == Dtype::Bool {
        return logical_not(&x);
    }
    Ok(unary_op(&x, x.dtype(), BitwiseInvert))
}

/// The real part (`mx.real`): float32 for complex64, the input itself otherwise.
///
/// ```
/// use rmlx_core as mx;
/// let z = mx::Array::from_vec(vec![mx::C64::new(1.0, 2.0)]);
/// assert_eq!(mx::real(&z)?.to_vec::<f32>()?, vec![1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn real(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    if x.dtype() != Dtype::Complex64 {
        return Ok(x);
    }
    Ok(unary_op(&x, Dtype::Float32, Real))
}

/// The imaginary part (`mx.imag`): float32 for complex64, zeros of the input's dtype
/// otherwise.
///
/// ```
/// use rmlx_core as mx;
/// let z = mx::Array::from_vec(vec![mx::C64::new(1.0, 2.0)]);
/// assert_eq!(mx::imag(&z)?.to_vec::<f32>()?, vec![2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn imag(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    if x.dtype() != Dtype::Complex64 {
        return super::zeros_like(&x);
    }
    Ok(unary_op(&x, Dtype::Float32, Imag))
}

/// The complex conjugate (`mx.conjugate`); the input itself for real dtypes.
///
/// ```
/// use rmlx_core as mx;
/// let z = mx::Array::from_vec(vec![mx::C64::new(1.0, 2.0)]);
/// assert_eq!(mx::conjugate(&z)?.to_vec::<mx::C64>()?, vec![mx::C64::new(1.0, -2.0)]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn conjugate(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    if x.dtype() != Dtype::Complex64 {
        return Ok(x);
    }
    Ok(unary_op(&x, x.dtype(), Conjugate))
}

/// Alias of [`conjugate`] (`mx.conj`).
pub fn conj(x: impl ArrayLike) -> Result<Array> {
    conjugate(x)
}

/// Radians to degrees (`mx.degrees`): `x * (180 / pi)` in at least float32.
///
/// ```
/// use rmlx_core as mx;
/// let d = mx::degrees(&mx::array![std::f32::consts::PI])?.item::<f32>()?;
/// assert!((d - 180.0).abs() < 1e-4);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn degrees(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    let k = constant(180.0 / std::f64::consts::PI, at_least_float(x.dtype()))?;
    super::multiply(&x, &k)
}

/// Degrees to radians (`mx.radians`): `x * (pi / 180)` in at least float32.
///
/// ```
/// use rmlx_core as mx;
/// let r = mx::radians(&mx::array![180.0])?.item::<f32>()?;
/// assert!((r - std::f32::consts::PI).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn radians(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    let k = constant(std::f64::consts::PI / 180.0, at_least_float(x.dtype()))?;
    super::multiply(&x, &k)
}

/// Replaces NaN by 0 and `±inf` by the dtype's largest finite values (`mx.nan_to_num(x)`).
/// Integer and bool inputs are returned as they are; see [`nan_to_num_with`].
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![f32::NAN, f32::INFINITY, 1.0];
/// assert_eq!(mx::nan_to_num(&a)?.to_vec::<f32>()?, vec![0.0, f32::MAX, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn nan_to_num(x: impl ArrayLike) -> Result<Array> {
    nan_to_num_with(x, 0.0, None, None)
}

/// Replaces NaN by `nan`, `+inf` by `posinf` and `-inf` by `neginf`
/// (`mx.nan_to_num(x, nan, posinf, neginf)`). A missing `posinf`/`neginf` means the dtype's
/// largest/lowest finite value, which MLX knows only for float32, float16 and bfloat16: for
/// float64 and complex64 both must be given (else a `ValueError`). For complex64, NaN means
/// either part NaN and `±inf` means exactly `±inf + 0j`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![f32::NAN, f32::NEG_INFINITY];
/// assert_eq!(mx::nan_to_num_with(&a, 1.0, None, Some(-5.0))?.to_vec::<f32>()?, vec![1.0, -5.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn nan_to_num_with(
    x: impl ArrayLike,
    nan: f32,
    posinf: Option<f32>,
    neginf: Option<f32>,
) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    let dtype = x.dtype();
    if !dtype.is_inexact() {
        return Ok(x);
    }
    let max = || -> Result<f32> {
        Ok(match dtype {
            Dtype::Float32 => f32::MAX,
            Dtype::Float16 => half::f16::MAX.to_f32(),
            Dtype::Bfloat16 => half::bf16::MAX.to_f32(),
            other => {
                return Err(Error::value(format!(
                    "[nan_to_num] Does not yet support given type: {other}."
                )));
            }
        })
    };
    let posinf = match posinf {
        Some(v) => v,
        None => max()?,
    };
    let neginf = match neginf {
        Some(v) => v,
        None => -max()?,
    };
    Ok(unary_op(
        &x,
        dtype,
        NanToNum {
            nan,
            posinf,
            neginf,
        },
    ))
}

/// The identity, blocking gradients (`mx.stop_gradient`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::stop_gradient(&mx::array![1, 2])?.to_vec::<i32>()?, vec![1, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn stop_gradient(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    Ok(unary_op(&x, x.dtype(), StopGradient))
}

/// Unary methods on `Array`, mirroring MLX's `array.abs()`, `array.exp()`, ...
impl Array {
    /// See [`abs`].
    pub fn abs(&self) -> Result<Array> {
        abs(self)
    }
    /// See [`sign`].
    pub fn sign(&self) -> Result<Array> {
        sign(self)
    }
    /// See [`square`].
    pub fn square(&self) -> Result<Array> {
        square(self)
    }
    /// See [`sqrt`].
    pub fn sqrt(&self) -> Result<Array> {
        sqrt(self)
    }
    /// See [`rsqrt`].
    pub fn rsqrt(&self) -> Result<Array> {
        rsqrt(self)
    }
    /// See [`reciprocal`].
    pub fn reciprocal(&self) -> Result<Array> {
        reciprocal(self)
    }
    /// See [`exp`].
    pub fn exp(&self) -> Result<Array> {
        exp(self)
    }
    /// See [`log`].
    pub fn log(&self) -> Result<Array> {
        log(self)
    }
    /// See [`log2`].
    pub fn log2(&self) -> Result<Array> {
        log2(self)
    }
    /// See [`log10`].
    pub fn log10(&self) -> Result<Array> {
        log10(self)
    }
    /// See [`log1p`].
    pub fn log1p(&self) -> Result<Array> {
        log1p(self)
    }
    /// See [`sin`].
    pub fn sin(&self) -> Result<Array> {
        sin(self)
    }
    /// See [`cos`].
    pub fn cos(&self) -> Result<Array> {
        cos(self)
    }
    /// See [`tanh`].
    pub fn tanh(&self) -> Result<Array> {
        tanh(self)
    }
    /// See [`sigmoid`].
    pub fn sigmoid(&self) -> Result<Array> {
        sigmoid(self)
    }
    /// See [`round`].
    pub fn round(&self) -> Result<Array> {
        round(self)
    }
    /// See [`round_decimals`].
    pub fn round_decimals(&self, decimals: i32) -> Result<Array> {
        round_decimals(self, decimals)
    }
    /// See [`real`].
    pub fn real(&self) -> Result<Array> {
        real(self)
    }
    /// See [`imag`].
    pub fn imag(&self) -> Result<Array> {
        imag(self)
    }
    /// See [`conjugate`].
    pub fn conj(&self) -> Result<Array> {
        conjugate(self)
    }
}

#[cfg(test)]
mod tests {
    use crate as mx;

    /// Values spread over [-20, 20) with an exact f64 counterpart.
    fn spread(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (i as f32 / n as f32) * 40.0 - 20.0)
            .collect()
    }

    fn assert_close(got: &[f32], x: &[f32], f: fn(f64) -> f64) {
        for (g, &v) in got.iter().zip(x) {
            let want = f(v as f64);
            assert!(
                (*g as f64 - want).abs() <= 1e-6 * want.abs() + 1e-30,
                "f({v}) = {g}, want {want}"
            );
        }
    }

    #[test]
    fn vector_kernels_on_every_path() -> mx::Result<()> {
        // Large enough for both cores; contiguous, donated (a temporary input), strided.
        let n = 300_001;
        let x = spread(n);
        let base = mx::Array::from_vec(x.clone());
        type Op = fn(&mx::Array) -> mx::Result<mx::Array>;
        type Reference = fn(f64) -> f64;
        let cases: [(Op, Reference); 3] = [
            (|a| mx::exp(a), f64::exp),
            (|a| mx::tanh(a), f64::tanh),
            (|a| mx::sigmoid(a), |v| 1.0 / (1.0 + (-v).exp())),
        ];
        for (f, r) in cases {
            assert_close(&f(&base)?.to_vec::<f32>()?, &x, r);
            // The input of this node is an unshared temporary: its buffer is reused in place.
            let donated = f(&mx::multiply(&base, 1.0)?)?;
            assert_close(&donated.to_vec::<f32>()?, &x, r);
            // Every other element, through the strided walk.
            let strided = mx::as_strided(&base, [n / 2], &[2], 0)?;
            let xs: Vec<f32> = x.iter().step_by(2).take(n / 2).copied().collect();
            assert_close(&f(&strided)?.to_vec::<f32>()?, &xs, r);
        }
        let pos: Vec<f32> = x.iter().map(|v| v.abs() + 1e-3).collect();
        let got = mx::log(mx::Array::from_vec(pos.clone()))?.to_vec::<f32>()?;
        assert_close(&got, &pos, f64::ln);
        Ok(())
    }

    #[test]
    fn half_precision_through_f32_kernels() -> mx::Result<()> {
        // Within [-10, 10): e^x fits float16.
        let x: Vec<f32> = spread(1000).iter().map(|v| v / 2.0).collect();
        let h = mx::Array::from_vec(x).astype(mx::float16)?;
        let got = mx::exp(&h)?;
        assert_eq!(got.dtype(), mx::float16);
        for (g, v) in got.to_vec::<f32>()?.iter().zip(h.to_vec::<f32>()?) {
            let want = (v as f64).exp();
            assert!(
                (*g as f64 - want).abs() <= 1e-3 * want,
                "exp({v}) = {g}, want {want}"
            );
        }
        Ok(())
    }

    #[test]
    fn dtype_rules() -> mx::Result<()> {
        let i = mx::array![1, 2];
        assert_eq!(mx::exp(&i)?.dtype(), mx::float32);
        assert_eq!(mx::abs(&i)?.dtype(), mx::int32);
        assert_eq!(mx::isnan(&i)?.to_vec::<bool>()?, vec![false, false]);
        assert_eq!(mx::isfinite(&i)?.to_vec::<bool>()?, vec![true, true]);
        let z = mx::Array::from_vec(vec![mx::C64::new(3.0, 4.0)]);
        assert_eq!(mx::abs(&z)?.to_vec::<f32>()?, vec![5.0]);
        assert_eq!(mx::floor(&z).unwrap_err().kind(), mx::ErrorKind::Value);
        assert_eq!(mx::sigmoid(&z).unwrap_err().kind(), mx::ErrorKind::Value);
        assert_eq!(
            mx::bitwise_invert(mx::array![1.0]).unwrap_err().kind(),
            mx::ErrorKind::Value
        );
        let d = mx::array![1.0].astype(mx::float64)?;
        assert_eq!(mx::nan_to_num(&d).unwrap_err().kind(), mx::ErrorKind::Value);
        assert!(mx::nan_to_num_with(&d, 0.0, Some(1.0), Some(-1.0)).is_ok());
        assert_eq!(mx::imag(&i)?.to_vec::<i32>()?, vec![0, 0]);
        Ok(())
    }
}
