//! Shape ops that are views (or copies only when the layout demands): astype, broadcast_to,
//! reshape, transpose, expand_dims, squeeze, flatten, as_strided, contiguous.

use super::{Axes, ShapeArg, broadcast_shapes, normalize_axes, normalize_axis, to_shape};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result, fmt_shape};
use crate::primitives::shape::{AsStrided, AsType, Broadcast, Contiguous, Reshape, Transpose};
use crate::scalar::ArrayLike;

/// Converts to another dtype (`mx.astype`); a no-op when the dtype is already `dtype`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1.7, -2.5];
/// assert_eq!(mx::astype(&a, mx::int32)?.to_vec::<i32>()?, vec![1, -2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn astype(a: &Array, dtype: Dtype) -> Result<Array> {
    if a.dtype() == dtype {
        return Ok(a.clone());
    }
    Ok(Array::from_op(
        a.shape().to_vec(),
        dtype,
        AsType,
        vec![a.clone()],
    ))
}

/// Broadcasts to `shape` without copying (`mx.broadcast_to`).
///
/// ```
/// use rmlx_core as mx;
/// let b = mx::broadcast_to(&mx::array![1, 2, 3], &[2, 3])?;
/// assert_eq!(b.to_vec::<i32>()?, vec![1, 2, 3, 1, 2, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn broadcast_to(a: impl ArrayLike, shape: impl ShapeArg) -> Result<Array> {
    let a = a.into_operand().into_array()?;
    let shape = to_shape(&shape, "broadcast_to")?;
    if a.shape() == shape.as_slice() {
        return Ok(a);
    }
    let out = broadcast_shapes(&[a.shape(), &shape])?;
    if out != shape {
        return Err(Error::value(format!(
            "[broadcast_to] Shape {} cannot be broadcast to {}.",
            fmt_shape(a.shape()),
            fmt_shape(&shape)
        )));
    }
    Ok(Array::from_op(shape, a.dtype(), Broadcast, vec![a]))
}

/// Broadcasts all arrays to their common shape (`mx.broadcast_arrays`).
pub fn broadcast_arrays(arrays: &[Array]) -> Result<Vec<Array>> {
    let shapes: Vec<&[usize]> = arrays.iter().map(|a| a.shape()).collect();
    let shape = broadcast_shapes(&shapes)?;
    // As in MLX, each broadcast also takes the other arrays (gradients stopped) as inputs that
    // give the shape, so that a shapeless replay follows them.
    let mut stopped: Option<Vec<Array>> = None;
    arrays
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if a.shape() == shape.as_slice() {
                return Ok(a.clone());
            }
            if stopped.is_none() {
                stopped = Some(
                    arrays
                        .iter()
                        .map(super::stop_gradient)
                        .collect::<Result<_>>()?,
                );
            }
            let others = stopped.as_ref().expect("just set");
            let mut inputs = vec![a.clone()];
            inputs.extend(
                others
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, x)| x.clone()),
            );
            Ok(Array::from_op(shape.clone(), a.dtype(), Broadcast, inputs))
        })
        .collect()
}

/// `a` with its batch dimensions (all but the last two) broadcast against `other`'s, to
/// `target` (checked by the caller): a `BroadcastAxes` node that also takes `other` (gradient
/// stopped), so that a shapeless replay follows both.
pub(crate) fn broadcast_batch(a: &Array, other: &Array, target: Vec<usize>) -> Result<Array> {
    if a.shape() == target.as_slice() {
        return Ok(a.clone());
    }
    Ok(Array::from_op(
        target,
        a.dtype(),
        crate::primitives::shape::BroadcastAxes { trailing: 2 },
        vec![a.clone(), super::stop_gradient(other)?],
    ))
}

/// Reshapes; one dimension may be `-1` and is inferred (`mx.reshape`). A view when the data is
/// row-contiguous, a copy otherwise.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::arange(0.0, 6.0, 1.0)?;
/// assert_eq!(mx::reshape(&a, &[2, -1])?.shape(), &[2, 3]);
/// assert!(mx::reshape(&a, &[4, -1]).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn reshape(a: &Array, shape: impl ShapeArg) -> Result<Array> {
    let dims = shape.to_dims();
    let size = a.size();
    let mut infer = None;
    let mut known = 1usize;
    for (i, &d) in dims.iter().enumerate() {
        if d == -1 {
            if infer.is_some() {
                return Err(Error::value(
                    "[reshape] Reshape can only infer one dimension.",
                ));
            }
            infer = Some(i);
        } else if d < 0 {
            return Err(Error::value(format!(
                "[reshape] Invalid dimension {d} in the new shape."
            )));
        } else {
            known = known.saturating_mul(d as usize);
        }
    }
    let mut out: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = infer {
        if known == 0 || !size.is_multiple_of(known) {
            return Err(Error::value(format!(
                "[reshape] Cannot infer the shape of an array of size {size} into shape {:?}.",
                dims
            )));
        }
        out[i] = size / known;
    } else if known != size {
        return Err(Error::value(format!(
            "[reshape] Cannot reshape array of size {size} into shape {}.",
            fmt_shape(&out)
        )));
    }
    if out == a.shape() {
        return Ok(a.clone());
    }
    Ok(Array::from_op(
        out,
        a.dtype(),
        Reshape { infer, dims: None },
        vec![a.clone()],
    ))
}

/// A reshape that only removes or inserts size-1 axes: `dims[j]` is the input axis output axis
/// `j` comes from (`None` for a new axis), which a shapeless replay follows.
fn reshape_axes(a: &Array, dims: Vec<Option<usize>>) -> Result<Array> {
    let out: Vec<usize> = dims.iter().map(|d| d.map_or(1, |i| a.shape()[i])).collect();
    if out == a.shape() {
        return Ok(a.clone());
    }
    Ok(Array::from_op(
        out,
        a.dtype(),
        Reshape {
            infer: None,
            dims: Some(dims),
        },
        vec![a.clone()],
    ))
}

/// Permutes the axes (`mx.transpose`); with `None`, reverses them.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::zeros(&[2, 3, 4], mx::float32)?;
/// assert_eq!(mx::transpose(&a, None::<&[i32]>)?.shape(), &[4, 3, 2]);
/// assert_eq!(mx::transpose(&a, Some(&[1, 0, 2]))?.shape(), &[3, 2, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn transpose(a: &Array, axes: Option<impl Axes>) -> Result<Array> {
    let nd = a.ndim();
    let perm: Vec<usize> = match axes {
        None => (0..nd).rev().collect(),
        Some(ax) => {
            let ax = ax.to_axes();
            if ax.len() != nd {
                return Err(Error::value(format!(
                    "[transpose] Recived {} axes for array with {} dimensions.",
                    ax.len(),
                    nd
                )));
            }
            let mut perm = Vec::with_capacity(nd);
            for &x in &ax {
                let p = normalize_axis(x, nd, "transpose")?;
                if perm.contains(&p) {
                    return Err(Error::value("[transpose] Repeat axes not allowed."));
                }
                perm.push(p);
            }
            perm
        }
    };
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(a.clone());
    }
    let shape = perm.iter().map(|&p| a.shape()[p]).collect();
    Ok(Array::from_op(
        shape,
        a.dtype(),
        Transpose { axes: perm },
        vec![a.clone()],
    ))
}

/// `mx.permute_dims`: `transpose` with explicit axes.
pub fn permute_dims(a: &Array, axes: impl Axes) -> Result<Array> {
    transpose(a, Some(axes))
}

/// Inserts size-1 dimensions at `axes` (`mx.expand_dims`).
pub fn expand_dims(a: &Array, axes: impl Axes) -> Result<Array> {
    let axes = axes.to_axes();
    let out_nd = a.ndim() + axes.len();
    let axes = normalize_axes(&axes, out_nd, "expand_dims")?;
    let mut dims = Vec::with_capacity(out_nd);
    let mut src = 0..a.ndim();
    for i in 0..out_nd {
        if axes.contains(&i) {
            dims.push(None);
        } else {
            dims.push(src.next());
        }
    }
    reshape_axes(a, dims)
}

/// Removes size-1 dimensions: those in `axes`, or all with `None` (`mx.squeeze`).
pub fn squeeze(a: &Array, axes: Option<impl Axes>) -> Result<Array> {
    let dims: Vec<Option<usize>> = match axes {
        None => (0..a.ndim())
            .filter(|&i| a.shape()[i] != 1)
            .map(Some)
            .collect(),
        Some(ax) => {
            let ax = normalize_axes(&ax.to_axes(), a.ndim(), "squeeze")?;
            for &x in &ax {
                if a.shape()[x] != 1 {
                    return Err(Error::value(format!(
                        "[squeeze] Cannot squeeze axis {x} with size {} which is not equal to 1.",
                        a.shape()[x]
                    )));
                }
            }
            (0..a.ndim())
                .filter(|i| !ax.contains(i))
                .map(Some)
                .collect()
        }
    };
    reshape_axes(a, dims)
}

/// Flattens the axes `start_axis..=end_axis` into one (`mx.flatten`; `0, -1` for all).
pub fn flatten(a: &Array, start_axis: isize, end_axis: isize) -> Result<Array> {
    let nd = a.ndim();
    if nd == 0 {
        return reshape(a, [1]);
    }
    let s = normalize_axis(start_axis, nd, "flatten")?;
    let e = normalize_axis(end_axis, nd, "flatten")?;
    if s > e {
        return Err(Error::value(
            "[flatten] start_axis must be less than or equal to end_axis",
        ));
    }
    let mut shape: Vec<usize> = a.shape()[..s].to_vec();
    shape.push(a.shape()[s..=e].iter().product());
    shape.extend_from_slice(&a.shape()[e + 1..]);
    reshape(a, &shape)
}

/// Splits axis `axis` into `shape` (`mx.unflatten`); one entry may be `-1`.
pub fn unflatten(a: &Array, axis: isize, shape: impl ShapeArg) -> Result<Array> {
    let ax = normalize_axis(axis, a.ndim(), "unflatten")?;
    let dims = shape.to_dims();
    if dims.is_empty() {
        return Err(Error::value(
            "[unflatten] Shape to unflatten to cannot be empty.",
        ));
    }
    let mut full: Vec<isize> = a.shape()[..ax].iter().map(|&d| d as isize).collect();
    let known: isize = dims.iter().filter(|&&d| d != -1).product();
    let size = a.shape()[ax] as isize;
    if dims.iter().filter(|&&d| d == -1).count() > 1
        || (dims.contains(&-1) && (known == 0 || size % known != 0))
        || (!dims.contains(&-1) && known != size)
    {
        return Err(Error::value(format!(
            "[unflatten] Cannot unflatten axis {axis} with size {size} into shape {dims:?}."
        )));
    }
    full.extend(dims);
    full.extend(a.shape()[ax + 1..].iter().map(|&d| d as isize));
    reshape(a, &full)
}

/// A view with explicit `shape`, element `strides` and element `offset` into the row-major
/// data of `a` (`mx.as_strided`). The view must stay inside the data.
pub fn as_strided(
    a: &Array,
    shape: impl ShapeArg,
    strides: &[isize],
    offset: usize,
) -> Result<Array> {
    let shape = to_shape(&shape, "as_strided")?;
    if strides.len() != shape.len() {
        return Err(Error::value(format!(
            "[as_strided] Shape {} and strides {:?} must have the same length.",
            fmt_shape(&shape),
            strides
        )));
    }
    // Refuse views that reach outside the buffer: MLX reads garbage there, we do not.
    if !shape.contains(&0) {
        let (mut lo, mut hi) = (offset as isize, offset as isize);
        for (&d, &s) in shape.iter().zip(strides) {
            let span = (d as isize - 1) * s;
            if span < 0 { lo += span } else { hi += span }
        }
        if lo < 0 || hi >= a.size() as isize {
            return Err(Error::value(format!(
                "[as_strided] The view reaches outside the {} elements of the input.",
                a.size()
            )));
        }
    }
    let base = contiguous(a)?;
    Ok(Array::from_op(
        shape,
        a.dtype(),
        AsStrided {
            strides: strides.to_vec(),
            offset,
        },
        vec![base],
    ))
}

/// A row-major copy of `a`, or `a` itself when it already is row-major (`mx.contiguous`).
pub fn contiguous(a: &Array) -> Result<Array> {
    Ok(Array::from_op(
        a.shape().to_vec(),
        a.dtype(),
        Contiguous,
        vec![a.clone()],
    ))
}

/// Swaps two axes (`mx.swapaxes`).
pub fn swapaxes(a: &Array, axis1: isize, axis2: isize) -> Result<Array> {
    let a1 = normalize_axis(axis1, a.ndim(), "swapaxes")?;
    let a2 = normalize_axis(axis2, a.ndim(), "swapaxes")?;
    let mut perm: Vec<usize> = (0..a.ndim()).collect();
    perm.swap(a1, a2);
    transpose(a, Some(perm))
}

/// Moves axis `source` to position `destination` (`mx.moveaxis`).
pub fn moveaxis(a: &Array, source: isize, destination: isize) -> Result<Array> {
    let s = normalize_axis(source, a.ndim(), "moveaxis")?;
    let d = normalize_axis(destination, a.ndim(), "moveaxis")?;
    let mut perm: Vec<usize> = (0..a.ndim()).filter(|&i| i != s).collect();
    perm.insert(d, s);
    transpose(a, Some(perm))
}

/// Swaps the last two axes (`mx.matrix_transpose`, `a.mT`).
pub fn matrix_transpose(a: &Array) -> Result<Array> {
    if a.ndim() < 2 {
        return Err(Error::value(format!(
            "[matrix_transpose] Expected an array with at least 2 dimensions, got {}.",
            a.ndim()
        )));
    }
    swapaxes(a, -1, -2)
}

/// Shape methods on `Array`, mirroring MLX's `array.reshape`, `array.T`, ...
impl Array {
    /// See [`astype`].
    pub fn astype(&self, dtype: Dtype) -> Result<Array> {
        astype(self, dtype)
    }
    /// See [`reshape`].
    pub fn reshape(&self, shape: impl ShapeArg) -> Result<Array> {
        reshape(self, shape)
    }
    /// Reverses the axes (see [`transpose`]).
    pub fn transpose(&self) -> Result<Array> {
        transpose(self, None::<&[usize]>)
    }
    /// Permutes the axes (see [`transpose`]).
    pub fn transpose_axes(&self, axes: impl Axes) -> Result<Array> {
        transpose(self, Some(axes))
    }
    /// The transpose (`a.T`), reversing the axes.
    #[allow(non_snake_case)]
    pub fn T(&self) -> Array {
        transpose(self, None::<&[usize]>).expect("reversing the axes is always valid")
    }
    /// `a.mT`: the last two axes swapped.
    #[allow(non_snake_case)]
    pub fn mT(&self) -> Result<Array> {
        matrix_transpose(self)
    }
    /// See [`flatten`] (all axes).
    pub fn flatten(&self) -> Result<Array> {
        flatten(self, 0, -1)
    }
    /// See [`squeeze`] (all size-1 axes).
    pub fn squeeze(&self) -> Result<Array> {
        squeeze(self, None::<&[usize]>)
    }
    /// See [`squeeze`].
    pub fn squeeze_axes(&self, axes: impl Axes) -> Result<Array> {
        squeeze(self, Some(axes))
    }
    /// See [`expand_dims`].
    pub fn expand_dims(&self, axes: impl Axes) -> Result<Array> {
        expand_dims(self, axes)
    }
    /// See [`swapaxes`].
    pub fn swapaxes(&self, axis1: isize, axis2: isize) -> Result<Array> {
        swapaxes(self, axis1, axis2)
    }
    /// See [`moveaxis`].
    pub fn moveaxis(&self, source: isize, destination: isize) -> Result<Array> {
        moveaxis(self, source, destination)
    }
    /// See [`broadcast_to`].
    pub fn broadcast_to(&self, shape: impl ShapeArg) -> Result<Array> {
        broadcast_to(self, shape)
    }
}
