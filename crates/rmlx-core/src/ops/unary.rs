//! Unary elementwise ops. Float-only math promotes integer and bool inputs to float32 first,
//! as MLX does (`mx.exp(mx.array([1, 2]))` is float32).

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::primitive::Primitive;
use crate::primitives::unary::*;
use crate::scalar::ArrayLike;

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

/// Absolute value (`mx.abs`); complex inputs give their magnitude.
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

/// `-x` (`mx.negative`); an error for bool.
pub fn negative(x: impl ArrayLike) -> Result<Array> {
    let x = x.into_operand().into_array()?;
    if x.dtype() == Dtype::Bool {
        return Err(crate::Error::value(
            "[negative] Not supported for bool, use logical_not instead.",
        ));
    }
    Ok(unary_op(&x, x.dtype(), Negative))
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

/// Square root (`mx.sqrt`).
pub fn sqrt(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Sqrt)
}

/// Hyperbolic tangent (`mx.tanh`).
pub fn tanh(x: impl ArrayLike) -> Result<Array> {
    float_op(x, Tanh)
}
