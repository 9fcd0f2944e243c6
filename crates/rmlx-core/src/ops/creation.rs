//! Creation ops: full, zeros, ones and their `_like`, arange, linspace, eye, identity, tri.

use super::{ShapeArg, to_shape};
use crate::array::Array;
use crate::array::checked_nbytes;
use crate::dtype::{Dtype, promote_types};
use crate::error::{Error, Result};
use crate::primitives::creation::{Arange, Eye, Tri};
use crate::scalar::{ArrayLike, Operand, Scalar};

/// An array of `shape` filled with `vals` broadcast (`mx.full`).
///
/// As in MLX, `dtype` only says how to convert a scalar `vals` (the weak-scalar rule of
/// [`Scalar::to_weak_array`]): an integer that does not fit an integer `dtype` is an error, a
/// float with an integer `dtype` stays float32, an integer with `bool` becomes int32, and an
/// array `vals` keeps its own dtype. With `dtype` `None` a scalar takes its default dtype (bool,
/// int32 or int64, float32, complex64). Use [`astype`](super::astype) for a fixed dtype.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::full(&[2, 2], 7, None)?;
/// assert_eq!(a.dtype(), mx::int32);
/// let b = mx::full(&[3], 0.5, Some(mx::float16))?;
/// assert_eq!(b.to_vec::<f32>()?, vec![0.5; 3]);
/// assert!(mx::full(&[3], 300, Some(mx::uint8)).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn full(shape: impl ShapeArg, vals: impl ArrayLike, dtype: Option<Dtype>) -> Result<Array> {
    let shape = to_shape(&shape, "full")?;
    let v = match vals.into_operand() {
        Operand::Scalar(s) => s.to_weak_array(dtype)?,
        Operand::Array(a) => a,
    };
    filled(&v, &shape)
}

/// `v` broadcast to `shape` and written out: as MLX's `Full`, creation ops return arrays that
/// own their memory (donatable, writable through the buffer protocol), not broadcast views.
fn filled(v: &Array, shape: &[usize]) -> Result<Array> {
    super::contiguous(&super::broadcast_to(v, shape)?)
}

/// Zeros of `shape` and `dtype` (`mx.zeros`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::zeros(&[2, 3], mx::int8)?.to_vec::<i8>()?, vec![0; 6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn zeros(shape: impl ShapeArg, dtype: Dtype) -> Result<Array> {
    let shape = to_shape(&shape, "zeros")?;
    filled(&Scalar::Int(0).to_array(dtype)?, &shape)
}

/// Ones of `shape` and `dtype` (`mx.ones`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::ones(&[2], mx::bool_)?.to_vec::<bool>()?, vec![true; 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn ones(shape: impl ShapeArg, dtype: Dtype) -> Result<Array> {
    let shape = to_shape(&shape, "ones")?;
    filled(&Scalar::Int(1).to_array(dtype)?, &shape)
}

/// Zeros with the shape and dtype of `a` (`mx.zeros_like`).
pub fn zeros_like(a: &Array) -> Result<Array> {
    super::contiguous(&broadcast_like(Scalar::Int(0).to_array(a.dtype())?, a)?)
}

/// Zeros with the shape and dtype of `a` as a broadcast scalar, never materialised: the
/// cotangent of an output a gradient does not read (kernels see its zero strides).
pub(crate) fn zeros_view_like(a: &Array) -> Result<Array> {
    broadcast_like(Scalar::Int(0).to_array(a.dtype())?, a)
}

/// Ones with the shape and dtype of `a` (`mx.ones_like`).
pub fn ones_like(a: &Array) -> Result<Array> {
    super::contiguous(&broadcast_like(Scalar::Int(1).to_array(a.dtype())?, a)?)
}

/// `v` broadcast against `a` itself (as MLX's `full_like` does), so that a shapeless replay
/// follows `a`'s shape; `v`'s shape must broadcast to `a`'s. The `_like` creators write it
/// out (`contiguous`), as [`full`] does.
fn broadcast_like(v: Array, a: &Array) -> Result<Array> {
    if v.shape() == a.shape() {
        return Ok(v);
    }
    if super::broadcast_shapes(&[v.shape(), a.shape()])? != a.shape() {
        return super::broadcast_to(&v, a.shape());
    }
    Ok(super::broadcast_arrays(&[v, a.clone()])?.swap_remove(0))
}

/// `vals` broadcast to the shape of `a`, in `a`'s dtype unless `dtype` says otherwise
/// (`mx.full_like`). A scalar converts as in [`full`] for that dtype (so `300` next to int8 is
/// an error), then the result is cast to it.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::zeros(&[2], mx::int8)?;
/// assert_eq!(mx::full_like(&a, 1.5, None)?.to_vec::<i8>()?, vec![1, 1]);
/// assert!(mx::full_like(&a, 300, None).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn full_like(a: &Array, vals: impl ArrayLike, dtype: Option<Dtype>) -> Result<Array> {
    let t = dtype.unwrap_or(a.dtype());
    let v = match vals.into_operand() {
        Operand::Scalar(s) => s.to_weak_array(Some(t))?,
        Operand::Array(v) => v,
    };
    super::contiguous(&broadcast_like(super::astype(&v, t)?, a)?)
}

/// An array whose contents do not matter (`mx.empty`): rmlx fills it with zeros.
pub fn empty(shape: impl ShapeArg, dtype: Dtype) -> Result<Array> {
    zeros(shape, dtype)
}

/// `mx.empty_like`.
pub fn empty_like(a: &Array) -> Result<Array> {
    zeros_like(a)
}

/// Values from `start` to `stop` (exclusive) by `step` (`mx.arange`). The dtype promotes those
/// of the three scalars: int32 for integers (int64 for one beyond int32), float32 once a float
/// is among them; bool alone is an error.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::arange(0, 5, 2)?.to_vec::<i32>()?, vec![0, 2, 4]);
/// assert_eq!(mx::arange(0.0, 1.0, 0.25)?.dtype(), mx::float32);
/// assert_eq!(mx::arange(1i64 << 40, (1i64 << 40) + 2, 1)?.dtype(), mx::int64);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arange(
    start: impl Into<ScalarArg>,
    stop: impl Into<ScalarArg>,
    step: impl Into<ScalarArg>,
) -> Result<Array> {
    let (start, stop, step) = (start.into().0, stop.into().0, step.into().0);
    let mut dtype = start.default_dtype()?;
    for s in [stop, step] {
        dtype = promote_types(dtype, s.default_dtype()?);
    }
    arange_dtype(
        start.cast::<f64>(),
        stop.cast::<f64>(),
        step.cast::<f64>(),
        dtype,
    )
}

/// `arange` with an explicit dtype (`mx.arange(start, stop, step, dtype=...)`).
///
/// As MLX computes it: the first value is `start` converted to `dtype`, the step is the
/// difference of the first two values in `dtype` (so `arange_dtype(0.0, 2.0, 0.3, int32)` is
/// all zeros), and each value adds the step to the previous one in `dtype` (float rounding
/// accumulates; float16 stops growing at 2048 with step 1).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::arange_dtype(10.0, 0.0, -3.0, mx::uint8)?.to_vec::<u8>()?, vec![10, 7, 4, 1]);
/// assert!(mx::arange_dtype(0.0, 1.0, 0.0, mx::float32).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arange_dtype(start: f64, stop: f64, step: f64, dtype: Dtype) -> Result<Array> {
    if dtype == Dtype::Bool {
        return Err(Error::value("[arange] bool not supported for arange."));
    }
    if start.is_nan() || stop.is_nan() || step.is_nan() || start.is_infinite() || stop.is_infinite()
    {
        return Err(Error::value("[arange] Cannot compute length."));
    }
    if step == 0.0 {
        return Err(Error::value("[arange] step must be nonzero."));
    }
    let n = if step.is_infinite() {
        // An infinite step reaches past `stop` at once: `[start]` when the range is not empty.
        usize::from((step > 0.0 && start < stop) || (step < 0.0 && start > stop))
    } else {
        let real = ((stop - start) / step).ceil();
        if real > i32::MAX as f64 {
            return Err(Error::value("[arange] Maximum size exceeded."));
        }
        real.max(0.0) as usize
    };
    Ok(Array::from_op(
        vec![n],
        dtype,
        Arange { start, step },
        vec![],
    ))
}

/// `num` evenly spaced float32 values from `start` to `stop` inclusive (`mx.linspace`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::linspace(0, 1, 5)?.to_vec::<f32>()?, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn linspace(
    start: impl Into<ScalarArg>,
    stop: impl Into<ScalarArg>,
    num: usize,
) -> Result<Array> {
    linspace_with(start, stop, num, true, Dtype::Float32)
}

/// `mx.linspace` with all its arguments: without `endpoint` the values are spaced over
/// `[start, stop)`. The values are computed in float32 (float64 for a float64 `dtype`) as
/// `(1 - t) * start + t * stop` and then converted to `dtype`, as MLX does.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::linspace_with(0, 10, 4, true, mx::int32)?;
/// assert_eq!(a.to_vec::<i32>()?, vec![0, 3, 6, 10]);
/// let b = mx::linspace_with(0.0, 1.0, 4, false, mx::float64)?;
/// assert_eq!(b.to_vec::<f64>()?, vec![0.0, 0.25, 0.5, 0.75]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn linspace_with(
    start: impl Into<ScalarArg>,
    stop: impl Into<ScalarArg>,
    num: usize,
    endpoint: bool,
    dtype: Dtype,
) -> Result<Array> {
    let (start, stop) = (start.into().0.cast::<f64>(), stop.into().0.cast::<f64>());
    if num > i32::MAX as usize {
        return Err(Error::value(format!(
            "[linspace] number of samples, {num}, is too large."
        )));
    }
    if num == 1 {
        return super::astype(
            &Scalar::Float(start)
                .to_array(Dtype::Float64)?
                .reshape([1])?,
            dtype,
        );
    }
    let inner = if dtype == Dtype::Float64 {
        Dtype::Float64
    } else {
        Dtype::Float32
    };
    let denominator = if endpoint {
        num as i128 - 1
    } else {
        num as i128
    };
    let t = super::divide(
        arange_dtype(0.0, num as f64, 1.0, inner)?,
        Scalar::Int(denominator),
    )?;
    let t_bar = super::subtract(Scalar::Int(1), &t)?;
    let v = super::add(
        super::multiply(&t_bar, Scalar::Float(start))?,
        super::multiply(&t, Scalar::Float(stop))?,
    )?;
    super::astype(&v, dtype)
}

/// An `n` x `m` matrix (`m` defaults to `n`) with ones on diagonal `k` and zeros elsewhere
/// (`mx.eye`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::eye(2, Some(3), 1, mx::int32)?;
/// assert_eq!(a.to_vec::<i32>()?, vec![0, 1, 0, 0, 0, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn eye(n: usize, m: Option<usize>, k: isize, dtype: Dtype) -> Result<Array> {
    let shape = vec![n, m.unwrap_or(n)];
    checked_nbytes(&shape, dtype)?;
    Ok(Array::from_op(shape, dtype, Eye { k }, vec![]))
}

/// The `n` x `n` identity matrix (`mx.identity`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::identity(2, mx::float32)?.to_vec::<f32>()?, vec![1.0, 0.0, 0.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn identity(n: usize, dtype: Dtype) -> Result<Array> {
    eye(n, None, 0, dtype)
}

/// An `n` x `m` matrix (`m` defaults to `n`) with ones at and below diagonal `k` and zeros
/// above (`mx.tri`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::tri(2, Some(3), 0, mx::float32)?;
/// assert_eq!(a.to_vec::<f32>()?, vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tri(n: usize, m: Option<usize>, k: isize, dtype: Dtype) -> Result<Array> {
    let shape = vec![n, m.unwrap_or(n)];
    checked_nbytes(&shape, dtype)?;
    Ok(Array::from_op(shape, dtype, Tri { k }, vec![]))
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

/// `a` as an array (`mx.asarray`): an array is returned as is (the same handle, no copy), a
/// scalar becomes a 0-D array of its default dtype; with `dtype`, the result is converted to
/// it as [`astype`](super::astype) does.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::asarray(3, None)?.dtype(), mx::int32);
/// assert_eq!(mx::asarray(2.5, Some(mx::int32))?.item::<i32>()?, 2);
/// let a = mx::array![1.0, 2.0];
/// assert!(mx::asarray(&a, None)?.is_same(&a));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn asarray(a: impl ArrayLike, dtype: Option<Dtype>) -> Result<Array> {
    let a = a.into_operand().into_array()?;
    match dtype {
        Some(d) if d != a.dtype() => super::astype(&a, d),
        _ => Ok(a),
    }
}
