//! Creation ops: full, zeros, ones and their `_like`, arange.

use super::{ShapeArg, to_shape};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::creation::Arange;
use crate::scalar::{ArrayLike, Operand, Scalar};

/// An array of `shape` filled with `vals` broadcast (`mx.full`). With `dtype` `None` the dtype
/// is that of `vals` (a Rust scalar: bool, int32, float32 or complex64).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::full(&[2, 2], 7, None)?;
/// assert_eq!(a.dtype(), mx::int32);
/// let b = mx::full(&[3], 0.5, Some(mx::float16))?;
/// assert_eq!(b.to_vec::<f32>()?, vec![0.5; 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn full(shape: impl ShapeArg, vals: impl ArrayLike, dtype: Option<Dtype>) -> Result<Array> {
    let shape = to_shape(&shape, "full")?;
    let v = match (vals.into_operand(), dtype) {
        (Operand::Scalar(s), Some(d)) => s.to_array(d)?,
        (op, d) => {
            let a = op.into_array()?;
            match d {
                Some(d) => super::astype(&a, d)?,
                None => a,
            }
        }
    };
    super::broadcast_to(&v, &shape)
}

/// Zeros of `shape` and `dtype` (`mx.zeros`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::zeros(&[2, 3], mx::int8)?.to_vec::<i8>()?, vec![0; 6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn zeros(shape: impl ShapeArg, dtype: Dtype) -> Result<Array> {
    full(shape, Scalar::Int(0), Some(dtype))
}

/// Ones of `shape` and `dtype` (`mx.ones`).
pub fn ones(shape: impl ShapeArg, dtype: Dtype) -> Result<Array> {
    full(shape, Scalar::Int(1), Some(dtype))
}

/// Zeros with the shape and dtype of `a`.
pub fn zeros_like(a: &Array) -> Result<Array> {
    zeros(a.shape(), a.dtype())
}

/// Ones with the shape and dtype of `a`.
pub fn ones_like(a: &Array) -> Result<Array> {
    ones(a.shape(), a.dtype())
}

/// `vals` broadcast to the shape of `a`, in `a`'s dtype unless `dtype` says otherwise.
pub fn full_like(a: &Array, vals: impl ArrayLike, dtype: Option<Dtype>) -> Result<Array> {
    full(a.shape(), vals, Some(dtype.unwrap_or(a.dtype())))
}

/// An array whose contents do not matter (`mx.empty`): rmlx fills it with zeros.
pub fn empty(shape: impl ShapeArg, dtype: Dtype) -> Result<Array> {
    zeros(shape, dtype)
}

/// `mx.empty_like`.
pub fn empty_like(a: &Array) -> Result<Array> {
    zeros_like(a)
}

/// Values from `start` to `stop` (exclusive) by `step` (`mx.arange`): int32 when all three
/// are integers, float32 otherwise.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::arange(0, 5, 2)?.to_vec::<i32>()?, vec![0, 2, 4]);
/// assert_eq!(mx::arange(0.0, 1.0, 0.25)?.dtype(), mx::float32);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arange(
    start: impl Into<ScalarArg>,
    stop: impl Into<ScalarArg>,
    step: impl Into<ScalarArg>,
) -> Result<Array> {
    let (start, stop, step) = (start.into().0, stop.into().0, step.into().0);
    let all_int = [start, stop, step]
        .iter()
        .all(|s| matches!(s, Scalar::Int(_) | Scalar::Bool(_)));
    let dtype = if all_int {
        Dtype::Int32
    } else {
        Dtype::Float32
    };
    arange_dtype(
        start.cast::<f64>(),
        stop.cast::<f64>(),
        step.cast::<f64>(),
        dtype,
    )
}

/// `arange` with an explicit dtype.
pub fn arange_dtype(start: f64, stop: f64, step: f64, dtype: Dtype) -> Result<Array> {
    if dtype == Dtype::Bool {
        return Err(Error::value(
            "[arange] Cannot compute length for bool dtype.",
        ));
    }
    if !(start.is_finite() && stop.is_finite() && step.is_finite()) {
        return Err(Error::value(
            "[arange] Cannot compute length: start, stop and step must be finite.",
        ));
    }
    if step == 0.0 {
        return Err(Error::value(
            "[arange] Cannot compute length with step of 0.",
        ));
    }
    let real = ((stop - start) / step).ceil();
    if real > i32::MAX as f64 {
        return Err(Error::value("[arange] Maximum size exceeded."));
    }
    let n = real.max(0.0) as usize;
    Ok(Array::from_op(
        vec![n],
        dtype,
        Arange { start, step },
        vec![],
    ))
}

/// A Rust number given where MLX takes a Python scalar (`arange`, `linspace`, `clip` bounds).
#[derive(Copy, Clone, Debug)]
pub struct ScalarArg(pub Scalar);

macro_rules! scalar_arg {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for ScalarArg {
            fn from(x: $t) -> Self { ScalarArg(Scalar::$v(x.into())) }
        }
    )*};
}
scalar_arg!(i8 => Int, i16 => Int, i32 => Int, i64 => Int, u8 => Int, u16 => Int, u32 => Int, u64 => Int, f32 => Float, f64 => Float, bool => Bool);
impl From<usize> for ScalarArg {
    fn from(x: usize) -> Self {
        ScalarArg(Scalar::Int(x as i128))
    }
}
impl From<isize> for ScalarArg {
    fn from(x: isize) -> Self {
        ScalarArg(Scalar::Int(x as i128))
    }
}
