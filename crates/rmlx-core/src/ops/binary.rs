//! Binary elementwise ops: promote (MLX's table, weak scalars), broadcast, build the node.

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::primitive::Primitive;
use crate::primitives::binary::*;
use crate::scalar::{ArrayLike, promote_pair};

/// Promotes and broadcasts two operands: the arrays (in one dtype) and the output shape.
pub(crate) fn prepare_binary(a: impl ArrayLike, b: impl ArrayLike) -> Result<(Array, Array)> {
    let (a, b) = promote_pair(a.into_operand(), b.into_operand())?;
    let shape = super::broadcast_two(a.shape(), b.shape())?;
    Ok((
        super::broadcast_to(&a, &shape)?,
        super::broadcast_to(&b, &shape)?,
    ))
}

/// Builds a binary node whose output dtype is `dtype`.
pub(crate) fn binary_op(a: Array, b: Array, dtype: Dtype, p: impl Primitive) -> Array {
    Array::from_op(a.shape().to_vec(), dtype, p, vec![a, b])
}

/// `a + b` with broadcasting (`mx.add`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1, 2], [3, 4]];
/// assert_eq!(mx::add(&a, 10)?.to_vec::<i32>()?, vec![11, 12, 13, 14]);
/// assert_eq!(mx::add(&a, &mx::array![1, 1])?.shape(), &[2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn add(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = prepare_binary(a, b)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, Add))
}

/// `a - b` (`mx.subtract`).
pub fn subtract(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = prepare_binary(a, b)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, Subtract))
}

/// `a * b` (`mx.multiply`).
pub fn multiply(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = prepare_binary(a, b)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, Multiply))
}

/// True division `a / b` (`mx.divide`): integers promote to float32.
///
/// ```
/// use rmlx_core as mx;
/// let q = mx::divide(&mx::array![1, 3], 2)?;
/// assert_eq!(q.dtype(), mx::float32);
/// assert_eq!(q.to_vec::<f32>()?, vec![0.5, 1.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn divide(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = prepare_binary(a, b)?;
    let d = super::unary::at_least_float(a.dtype());
    let (a, b) = (super::astype(&a, d)?, super::astype(&b, d)?);
    Ok(binary_op(a, b, d, Divide))
}
