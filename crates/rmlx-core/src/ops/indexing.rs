//! Indexing: gathers and scatters ([`take`], [`take_along_axis`], [`put_along_axis`],
//! [`gather`], [`scatter`]), dynamic slices ([`slice_dynamic`], [`slice_update_dynamic`]),
//! [`slice_update`], and NumPy-style indexing: [`Array::index`] with the [`s!`](crate::s)
//! macro, [`Array::index_put`] for `x[idx] = v`, and [`Array::at`] for `x.at[idx].add(v)`.
//!
//! Index arrays may have any integer dtype (different arrays may differ); a negative index
//! counts from the end of its axis.
//!
//! # Out-of-range indices (a deviation from MLX)
//! MLX does not check indices: out of range it reads garbage or writes outside the array.
//! rmlx checks them:
//! - a static integer index (`s![5]`, `take(&a, 5, 0)`) outside its axis is an
//!   [`ErrorKind::Index`](crate::ErrorKind::Index) error when the graph is built, naming the
//!   index, the axis and its size;
//! - an index inside an index array (or a start index of a dynamic slice) that is out of range
//!   makes evaluation fail with an index error (`eval`, `item` and `to_vec` return it).
//!
//! `take_along_axis` and `put_along_axis` with float indices are a `ValueError` when the graph
//! is built (MLX raises a `RuntimeError` when it evaluates).

use super::slicing::normalize_bounds;
use super::{
    Axes, ShapeArg, broadcast_arrays, broadcast_shapes, broadcast_to, reshape, squeeze, to_shape,
    transpose,
};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result, fmt_shape};
use crate::primitives::indexing::{
    DynamicSlice, DynamicSliceUpdate, Gather, GatherAxis, MaskedScatter, Scatter, ScatterAxis,
    SliceUpdate,
};
use crate::scalar::{ArrayLike, Operand};
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

pub use super::slicing::AxisSlice;
pub use crate::cpu::indexing::ScatterReduce;

// ---------------------------------------------------------------------------------------------
// Validation helpers

/// An error unless every index array has an integer dtype (MLX's messages).
fn check_index_dtypes(indices: &[Array], op: &str) -> Result<()> {
    for x in indices {
        if x.dtype() == Dtype::Bool {
            return Err(Error::value(format!(
                "[{op}] Boolean indices not supported."
            )));
        }
        if !x.dtype().is_integer() {
            return Err(Error::value(format!(
                "[{op}] Got indices with invalid dtype. Indices must be integral."
            )));
        }
    }
    Ok(())
}

/// A static index normalised into `0..size`, or the index error naming it.
fn static_index(index: isize, axis: usize, size: usize, op: &str) -> Result<usize> {
    let n = size as isize;
    let w = if index < 0 { index + n } else { index };
    if w < 0 || w >= n {
        return Err(Error::index(format!(
            "[{op}] Index {index} is out of bounds for axis {axis} with size {size}."
        )));
    }
    Ok(w as usize)
}

/// The axes of a gather or scatter, normalised, without repeats.
fn gather_axes(axes: &[isize], nd: usize, op: &str) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        if a < 0 || a as usize >= nd {
            return Err(Error::value(format!(
                "[{op}] Axes don't match array dimensions."
            )));
        }
        if out.contains(&(a as usize)) {
            return Err(Error::value(format!(
                "[{op}] Repeat axes not allowed in {op}."
            )));
        }
        out.push(a as usize);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// gather / scatter (MLX's C++ forms)

/// For each position of the broadcast `indices` (one array per axis of `axes`), the block of
/// `slice_sizes` of `a` starting there (MLX's C++ `gather`). The output shape is the indices'
/// broadcast shape followed by `slice_sizes`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::arange(0, 12, 1)?.reshape(&[3, 4])?;
/// let rows = mx::gather(&a, &[mx::array![2, 0]], &[0], &[1, 4])?;
/// assert_eq!(rows.shape(), &[2, 1, 4]);
/// assert_eq!(rows.to_vec::<i32>()?, vec![8, 9, 10, 11, 0, 1, 2, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn gather(
    a: &Array,
    indices: &[Array],
    axes: impl Axes,
    slice_sizes: impl ShapeArg,
) -> Result<Array> {
    let nd = a.ndim();
    if indices.len() > nd {
        return Err(Error::value(format!(
            "[gather] Too many index arrays. Got {} index arrays for input with {nd} dimensions.",
            indices.len()
        )));
    }
    let axes = gather_axes(&axes.to_axes(), nd, "gather")?;
    if indices.len() != axes.len() {
        return Err(Error::value(
            "[gather] Number of index arrays does not match number of axes.",
        ));
    }
    for x in indices {
        if x.dtype() == Dtype::Bool {
            return Err(Error::value("[Gather] Boolean indices not supported."));
        }
    }
    let slice_sizes = to_shape(&slice_sizes, "gather")?;
    if slice_sizes.len() != nd {
        return Err(Error::value(format!(
            "[gather] Got slice_sizes with size {} for array with {nd} dimensions.",
            slice_sizes.len()
        )));
    }
    check_index_dtypes(indices, "gather")?;
    let inputs = broadcast_arrays(indices)?;
    let total_slice: usize = slice_sizes.iter().product();
    if a.size() == 0 {
        let idx_size = inputs.first().map_or(1, |i| i.size());
        if idx_size != 0 && total_slice != 0 {
            return Err(Error::value(
                "[gather] If the input is empty, either the indices must be empty or the total \
                 slice size must be 0.",
            ));
        }
    } else if slice_sizes.iter().zip(a.shape()).any(|(&s, &d)| s > d) {
        return Err(Error::value(format!(
            "[gather] Slice sizes must be in [0, a.shape(i)]. Got {} for array with shape {}.",
            fmt_shape(&slice_sizes),
            fmt_shape(a.shape())
        )));
    }
    let mut shape = inputs.first().map_or(vec![], |i| i.shape().to_vec());
    shape.extend_from_slice(&slice_sizes);
    let mut all = Vec::with_capacity(inputs.len() + 1);
    all.push(a.clone());
    all.extend(inputs);
    Ok(Array::from_op(
        shape,
        a.dtype(),
        Gather { axes, slice_sizes },
        all,
    ))
}

/// Writes (or combines, see [`ScatterReduce`]) `updates` into a copy of `a` at the broadcast
/// `indices` (one array per axis of `axes`), MLX's C++ `scatter`. `updates` has the indices'
/// broadcast shape followed by one block of `a`'s rank; duplicate indices are applied in
/// order (the last assignment wins, sums accumulate).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::zeros(&[4], mx::int32)?;
/// let upd = mx::array![[1], [2], [3]];
/// let s = mx::scatter(&a, &[mx::array![1, 3, 1]], &upd, &[0], mx::ScatterReduce::Sum)?;
/// assert_eq!(s.to_vec::<i32>()?, vec![0, 4, 0, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn scatter(
    a: &Array,
    indices: &[Array],
    updates: &Array,
    axes: impl Axes,
    reduce: ScatterReduce,
) -> Result<Array> {
    let nd = a.ndim();
    if indices.len() > nd {
        return Err(Error::value(format!(
            "[scatter] Too many index arrays. Got {} index arrays for input with {nd} dimensions.",
            indices.len()
        )));
    }
    for x in indices {
        if x.dtype() == Dtype::Bool {
            return Err(Error::value("[scatter] Boolean indices not supported."));
        }
    }
    let axes = gather_axes(&axes.to_axes(), nd, "scatter")?;
    if indices.len() != axes.len() {
        return Err(Error::value(
            "[scatter] Number of index arrays does not match number of axes.",
        ));
    }
    let inputs = broadcast_arrays(indices)?;
    let idx_shape = inputs.first().map_or(vec![], |i| i.shape().to_vec());
    if updates.ndim() != nd + idx_shape.len() {
        return Err(Error::value(format!(
            "[scatter] Updates with {} dimensions does not match the sum of the array ({nd}) \
             and indices ({}) dimensions.",
            updates.ndim(),
            idx_shape.len()
        )));
    }
    if updates.shape()[..idx_shape.len()] != idx_shape[..] {
        return Err(Error::value(format!(
            "[scatter] Update shape {} is not valid for broadcasted index shape {}.",
            fmt_shape(updates.shape()),
            fmt_shape(&idx_shape)
        )));
    }
    if updates.shape()[idx_shape.len()..]
        .iter()
        .zip(a.shape())
        .any(|(&u, &d)| u > d)
    {
        return Err(Error::value(format!(
            "[scatter] Updates with shape {} are too large for array with shape {}.",
            fmt_shape(updates.shape()),
            fmt_shape(a.shape())
        )));
    }
    check_index_dtypes(indices, "scatter")?;
    let mut all = Vec::with_capacity(inputs.len() + 2);
    all.push(a.clone());
    all.extend(inputs);
    all.push(updates.astype(a.dtype())?);
    Ok(Array::from_op(
        a.shape().to_vec(),
        a.dtype(),
        Scatter { reduce, axes },
        all,
    ))
}

// ---------------------------------------------------------------------------------------------
// take / take_along_axis / put_along_axis

/// The indices of [`take`]: one integer (the axis is dropped) or an integer array (its shape
/// replaces the axis).
#[derive(Clone, Debug)]
pub enum TakeIndices {
    /// One index.
    Int(isize),
    /// An array of indices.
    Array(Array),
}

macro_rules! take_ints {
    ($($t:ty),*) => {$(
        impl From<$t> for TakeIndices {
            fn from(i: $t) -> Self {
                TakeIndices::Int(i as isize)
            }
        }
    )*};
}
take_ints!(i32, i64, isize, usize);
impl From<Array> for TakeIndices {
    fn from(a: Array) -> Self {
        TakeIndices::Array(a)
    }
}
impl From<&Array> for TakeIndices {
    fn from(a: &Array) -> Self {
        TakeIndices::Array(a.clone())
    }
}

/// Elements of `a` at `indices` along `axis`, or of the flattened array for `None`
/// (`mx.take`): `take(&a, &idx, Some(1))` is `a[:, idx]`. An integer index drops the axis.
///
/// ```
/// use rmlx_core as mx;
/// let w = mx::arange(0.0, 6.0, 1.0)?.reshape(&[3, 2])?; // an embedding table
/// let e = mx::take(&w, &mx::array![[2, 0]], Some(0))?;
/// assert_eq!(e.shape(), &[1, 2, 2]);
/// assert_eq!(e.to_vec::<f32>()?, vec![4.0, 5.0, 0.0, 1.0]);
/// assert_eq!(mx::take(&w, -1, None)?.item::<f32>()?, 5.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn take(a: &Array, indices: impl Into<TakeIndices>, axis: Option<isize>) -> Result<Array> {
    let (x, axis) = match axis {
        None => (reshape(a, [-1])?, 0isize),
        Some(ax) => (a.clone(), ax),
    };
    let nd = x.ndim() as isize;
    if axis < -nd || axis >= nd {
        return Err(Error::index(format!(
            "[take] Received invalid axis {axis} for array with {nd} dimensions."
        )));
    }
    let ax = if axis < 0 { axis + nd } else { axis } as usize;
    match indices.into() {
        TakeIndices::Int(i) => {
            if x.size() == 0 {
                return Err(Error::value(
                    "[take] Cannot do a non-empty take from an array with zero elements.",
                ));
            }
            let i = static_index(i, ax, x.shape()[ax], "take")? as isize;
            let mut start = vec![0isize; x.ndim()];
            let mut stop: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
            start[ax] = i;
            stop[ax] = i + 1;
            let s = super::slice(&x, start, stop, vec![1isize; x.ndim()])?;
            squeeze(&s, Some(ax as isize))
        }
        TakeIndices::Array(idx) => {
            if x.shape()[ax] == 0 && idx.size() != 0 {
                return Err(Error::value(
                    "[take] Cannot do a non-empty take from an empty axis.",
                ));
            }
            let mut sizes = x.shape().to_vec();
            sizes[ax] = 1;
            let g = gather(&x, std::slice::from_ref(&idx), ax as isize, &sizes)?;
            let ni = idx.ndim();
            let g = if ax != 0 {
                // (idx dims, a dims) -> (a dims before axis, idx dims, the rest)
                let mut perm: Vec<usize> = (ni..ni + ax).collect();
                perm.extend(0..ni);
                perm.extend(ni + ax..g.ndim());
                transpose(&g, Some(perm))?
            } else {
                g
            };
            squeeze(&g, Some((ni + ax) as isize))
        }
    }
}

/// The source flattened for `axis == None`, and the normalised axis; MLX's axis error.
fn along_axis_input(a: &Array, axis: Option<isize>, op: &str) -> Result<(Array, usize)> {
    let (x, ax) = match axis {
        None => (reshape(a, [-1])?, 0),
        Some(ax) => (a.clone(), ax),
    };
    let nd = x.ndim() as isize;
    if ax < -nd || ax >= nd {
        return Err(Error::index(format!(
            "[{op}] Axis {ax} is out of bounds for array with {nd} dimensions."
        )));
    }
    Ok((x, if ax < 0 { ax + nd } else { ax } as usize))
}

/// `shape` with `axis` taken from `with`.
fn with_axis(shape: &[usize], axis: usize, with: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s[axis] = with;
    s
}

/// Broadcasts the shapes of `arrays` on every axis but `axis` (all of one rank), keeping each
/// one's own length there.
fn broadcast_except(arrays: &[&Array], axis: usize) -> Result<Vec<Array>> {
    let shapes: Vec<Vec<usize>> = arrays
        .iter()
        .map(|x| with_axis(x.shape(), axis, 1))
        .collect();
    let refs: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
    let common = broadcast_shapes(&refs)?;
    arrays
        .iter()
        .map(|x| broadcast_to(*x, with_axis(&common, axis, x.shape()[axis])))
        .collect()
}

/// Values of `a` at `indices` along `axis` (`mx.take_along_axis`); `indices` has `a`'s rank and
/// broadcasts against it on the other axes. `None` works on the flattened array.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[10, 30, 20], [60, 40, 50]];
/// let i = mx::argmax_axis(&a, -1, true)?;
/// assert_eq!(mx::take_along_axis(&a, &i, Some(-1))?.to_vec::<i32>()?, vec![30, 60]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn take_along_axis(a: &Array, indices: &Array, axis: Option<isize>) -> Result<Array> {
    let (x, ax) = along_axis_input(a, axis, "take_along_axis")?;
    if indices.ndim() != x.ndim() {
        return Err(Error::value(format!(
            "[take_along_axis] Indices of dimension {} does not match array of dimension {}.",
            indices.ndim(),
            x.ndim()
        )));
    }
    check_index_dtypes(std::slice::from_ref(indices), "take_along_axis")?;
    let b = broadcast_except(&[&x, indices], ax)?;
    if b[1].size() > 0 && x.shape()[ax] == 0 {
        return Err(Error::value(
            "[take_along_axis] Cannot do a non-empty take from an empty axis.",
        ));
    }
    Ok(Array::from_op(
        b[1].shape().to_vec(),
        x.dtype(),
        GatherAxis { axis: ax },
        b,
    ))
}

/// `scatter_axis` of MLX: the checks and broadcasts of [`put_along_axis`] for any reduction.
fn scatter_axis(
    a: &Array,
    indices: &Array,
    values: Operand,
    axis: Option<isize>,
    reduce: ScatterReduce,
) -> Result<Array> {
    let op = "put_along_axis";
    let (x, ax) = along_axis_input(a, axis, op)?;
    if indices.ndim() != x.ndim() {
        return Err(Error::value(format!(
            "[{op}] Indices of dimension {} does not match array of dimension {}.",
            indices.ndim(),
            x.ndim()
        )));
    }
    // As in MLX, an empty destination takes any indices (their dtype is checked only when
    // something is scattered).
    if x.size() > 0 {
        check_index_dtypes(std::slice::from_ref(indices), op)?;
    }
    let vals = values.into_array_as(x.dtype())?.astype(x.dtype())?;
    let out = if x.size() == 0 {
        x.clone()
    } else {
        let mut vals = vals;
        while vals.ndim() > indices.ndim() && vals.shape()[0] == 1 {
            vals = squeeze(&vals, Some(0))?;
        }
        let iv = broadcast_arrays(&[indices.clone(), vals])?;
        // As in MLX, the destination broadcasts too (on every axis but `axis`).
        let b = broadcast_except(&[&x, &iv[0], &iv[1]], ax)?;
        Array::from_op(
            b[0].shape().to_vec(),
            x.dtype(),
            ScatterAxis { reduce, axis: ax },
            b,
        )
    };
    match axis {
        None => reshape(&out, a.shape()),
        Some(_) => Ok(out),
    }
}

/// A copy of `a` with `values` written at `indices` along `axis` (`mx.put_along_axis`); with
/// duplicate indices the last value wins. `None` works on the flattened array (the result
/// keeps `a`'s shape).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::zeros(&[2, 3], mx::int32)?;
/// let p = mx::put_along_axis(&a, &mx::array![[2], [0]], 7, Some(1))?;
/// assert_eq!(p.to_vec::<i32>()?, vec![0, 0, 7, 7, 0, 0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn put_along_axis(
    a: &Array,
    indices: &Array,
    values: impl ArrayLike,
    axis: Option<isize>,
) -> Result<Array> {
    scatter_axis(a, indices, values.into_operand(), axis, ScatterReduce::None)
}

/// Like [`put_along_axis`], but adds the values (duplicates accumulate), as MLX's C++
/// `scatter_add_axis`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::zeros(&[4], mx::float32)?;
/// let s = mx::scatter_add_axis(&a, &mx::array![1, 1, 3], 1.5, Some(0))?;
/// assert_eq!(s.to_vec::<f32>()?, vec![0.0, 3.0, 0.0, 1.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn scatter_add_axis(
    a: &Array,
    indices: &Array,
    values: impl ArrayLike,
    axis: Option<isize>,
) -> Result<Array> {
    scatter_axis(a, indices, values.into_operand(), axis, ScatterReduce::Sum)
}

// ---------------------------------------------------------------------------------------------
// masked_scatter

/// `a` with the elements where `mask` is true replaced, in row-major order, by consecutive
/// elements of `value` (MLX's `masked_scatter`, what `a[mask] = value` does in Python).
///
/// `mask` (bool) covers the leading axes of `a` (its shape is the start of `a`'s) and selects
/// whole trailing blocks; `value` (cast to `a`'s dtype) is either one block broadcast to
/// every selected position, or a stack of blocks `[k, ...block]` used in order. A `value`
/// with fewer elements than the mask selects makes evaluation fail (as in MLX).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1.0f32, 2.0, 3.0];
/// let out = mx::masked_scatter(&a, &mx::array![true, false, true], &mx::array![5.0f32, 6.0])?;
/// assert_eq!(out.to_vec::<f32>()?, vec![5.0, 2.0, 6.0]);
/// // A mask over the rows selects whole rows; one row is broadcast to each.
/// let b = mx::zeros(&[2, 3], mx::int32)?;
/// let out = mx::masked_scatter(&b, &mx::array![false, true], &mx::array![1, 2, 3])?;
/// assert_eq!(out.to_vec::<i32>()?, vec![0, 0, 0, 1, 2, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn masked_scatter(a: &Array, mask: &Array, value: impl ArrayLike) -> Result<Array> {
    let value = update_value(a, value)?;
    if mask.dtype() != Dtype::Bool {
        return Err(Error::value("[masked_scatter] The mask has to be boolean."));
    }
    let (nd, mnd) = (a.ndim(), mask.ndim());
    if mnd > nd {
        return Err(Error::value(
            "[masked_scatter] The mask cannot have more dimensions than the target.",
        ));
    }
    let unmasked = nd - mnd;
    if value.ndim() > unmasked + 1 {
        return Err(Error::value(format!(
            "[masked_scatter] Value array shape must be broadcastable with the last {unmasked} \
             dimensions of the input."
        )));
    }
    if mask.shape() != &a.shape()[..mnd] {
        return Err(Error::value(format!(
            "[masked_scatter] The boolean mask should have the same shape as the beginning of \
             the indexed array but the mask has shape {} and the array has shape {}",
            fmt_shape(mask.shape()),
            fmt_shape(a.shape())
        )));
    }
    let block = &a.shape()[mnd..];
    // The mask over every element of `a`.
    let mut m = mask.clone();
    if unmasked > 0 {
        let mut shape = mask.shape().to_vec();
        shape.resize(nd, 1);
        m = broadcast_to(&reshape(mask, &shape)?, a.shape())?;
    }
    // The value as a stack of blocks: `[k, ...block]`.
    let mut v = value.astype(a.dtype())?;
    if v.ndim() < unmasked + 1 {
        let mut shape = vec![1usize; unmasked + 1 - v.ndim()];
        shape.extend_from_slice(v.shape());
        v = reshape(&v, &shape)?;
        let mut target = vec![mask.size()];
        target.extend_from_slice(block);
        v = broadcast_to(&v, &target)?;
    } else if &v.shape()[1..] != block {
        let mut target = v.shape()[..1].to_vec();
        target.extend_from_slice(block);
        v = broadcast_to(&v, &target)?;
    }
    // The primitive works on a leading batch axis (of one here; vmap folds its batch into it).
    let a1 = super::expand_dims(a, 0)?;
    let m1 = super::expand_dims(&m, 0)?;
    let v1 = super::expand_dims(&v, 0)?;
    let out = Array::from_op(
        a1.shape().to_vec(),
        a.dtype(),
        MaskedScatter,
        vec![a1, m1, v1],
    );
    squeeze(&out, Some(0))
}

// ---------------------------------------------------------------------------------------------
// slice_update (static), slice_dynamic, slice_update_dynamic

/// Per-axis starts and steps, the slice's shape, and whether any step is negative.
type SliceParams = (Vec<isize>, Vec<isize>, Vec<usize>, bool);

/// Normalised start, step and the slice shape of `shape` for `start:stop:strides` per axis.
fn slice_params(
    shape: &[usize],
    start: &[isize],
    stop: &[isize],
    strides: &[isize],
    op: &str,
) -> Result<SliceParams> {
    let nd = shape.len();
    if start.len() != nd || stop.len() != nd || strides.len() != nd {
        return Err(Error::value(format!(
            "[{op}] Invalid number of indices or strides for array with dimension {nd}."
        )));
    }
    let (mut st, mut k, mut sh) = (vec![], vec![], vec![]);
    let mut reversed = false;
    for i in 0..nd {
        let (len, s, step) = normalize_bounds(shape[i], start[i], stop[i], strides[i])
            .map_err(|e| Error::value(e.message().replace("[slice]", &format!("[{op}]"))))?;
        reversed |= strides[i] < 0;
        st.push(s);
        k.push(step);
        sh.push(len);
    }
    Ok((st, k, sh, reversed))
}

/// [`slice_update`] with a reduction: the update combined into the slice.
pub(crate) fn slice_update_reduce(
    a: &Array,
    update: &Array,
    start: &[isize],
    stop: &[isize],
    strides: &[isize],
    reduce: ScatterReduce,
) -> Result<Array> {
    let (st, k, shape, reversed) = slice_params(a.shape(), start, stop, strides, "slice_update")?;
    let upd = broadcast_to(&update.astype(a.dtype())?, &shape)?;
    if !reversed && shape == a.shape() {
        return match reduce {
            ScatterReduce::None => Ok(upd),
            ScatterReduce::Sum => super::add(a, &upd),
            ScatterReduce::Prod => super::multiply(a, &upd),
            ScatterReduce::Max => super::maximum(a, &upd),
            ScatterReduce::Min => super::minimum(a, &upd),
        };
    }
    Ok(Array::from_op(
        a.shape().to_vec(),
        a.dtype(),
        SliceUpdate {
            reduce,
            start: st,
            strides: k,
        },
        vec![a.clone(), upd],
    ))
}

/// A copy of `a` with the slice `start:stop:strides` (as [`slice`](super::slice) takes them)
/// replaced by `update`, which is cast to `a`'s dtype and broadcast to the slice's shape
/// (MLX's C++ `slice_update`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::zeros(&[2, 4], mx::int32)?;
/// let b = mx::slice_update(&a, 5, [0, 1], [2, 4], [1, 2])?; // a[:, 1::2] = 5
/// assert_eq!(b.to_vec::<i32>()?, vec![0, 5, 0, 5, 0, 5, 0, 5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn slice_update(
    a: &Array,
    update: impl ArrayLike,
    start: impl ShapeArg,
    stop: impl ShapeArg,
    strides: impl ShapeArg,
) -> Result<Array> {
    let update = update.into_operand().into_array_as(a.dtype())?;
    slice_update_reduce(
        a,
        &update,
        &start.to_dims(),
        &stop.to_dims(),
        &strides.to_dims(),
        ScatterReduce::None,
    )
}

/// Checks the start indices and axes of a dynamic slice; the normalised axes.
fn dynamic_axes(a: &Array, start: &Array, axes: &[isize], op: &str) -> Result<Vec<usize>> {
    let nd = a.ndim();
    if start.size() > nd {
        return Err(Error::value(format!(
            "{op} Invalid number of starting positions for array with dimension {nd}."
        )));
    }
    if start.ndim() > 1 {
        return Err(Error::value(format!(
            "{op} array of starting indices must be zero or one dimensional but has dimension {}.",
            start.ndim()
        )));
    }
    if start.size() != axes.len() {
        return Err(Error::value(format!(
            "{op} Number of starting indices {} does not match number of axes {}.",
            start.size(),
            axes.len()
        )));
    }
    if !start.dtype().is_integer() {
        return Err(Error::value(format!(
            "{op} Start indices must be integers, got type {}.",
            start.dtype()
        )));
    }
    let mut out = Vec::with_capacity(axes.len());
    for &ax in axes {
        let n = if ax < 0 { ax + nd as isize } else { ax };
        if n < 0 || n >= nd as isize {
            return Err(Error::index(format!(
                "{op} Invalid axis {ax} for array with dimension {nd}."
            )));
        }
        if out.contains(&(n as usize)) {
            return Err(Error::value(format!("{op} Repeat axes not allowed.")));
        }
        out.push(n as usize);
    }
    Ok(out)
}

/// The block of `slice_size` (one size per axis of `a`) whose start along `axes` is held in
/// the integer array `start` (MLX's `mx.slice(a, start_indices, axes, slice_size)`): the start
/// is only known when the graph runs. A start whose block leaves the array makes evaluation
/// fail with an index error (MLX reads out of bounds).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1, 2, 3], [4, 5, 6]];
/// let s = mx::slice_dynamic(&a, &mx::array![1], [1], [2, 2])?;
/// assert_eq!(s.to_vec::<i32>()?, vec![2, 3, 5, 6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn slice_dynamic(
    a: &Array,
    start: &Array,
    axes: impl Axes,
    slice_size: impl ShapeArg,
) -> Result<Array> {
    let axes = dynamic_axes(a, start, &axes.to_axes(), "[slice]")?;
    let slice_size = to_shape(&slice_size, "slice")?;
    if slice_size.len() != a.ndim() {
        return Err(Error::value(format!(
            "[slice] Invalid slice size for array with {} dimensions.",
            a.ndim()
        )));
    }
    if slice_size.iter().zip(a.shape()).any(|(&s, &d)| s > d) {
        return Err(Error::value(format!(
            "[slice] Invalid slice size {} for array with shape {}.",
            fmt_shape(&slice_size),
            fmt_shape(a.shape())
        )));
    }
    Ok(Array::from_op(
        slice_size.clone(),
        a.dtype(),
        DynamicSlice { axes, slice_size },
        vec![a.clone(), start.clone()],
    ))
}

/// A copy of `a` with `update` written at the start held in `start` along `axes` (MLX's
/// `mx.slice_update(a, update, start_indices, axes)`); `update` is cast to `a`'s dtype and
/// broadcast as MLX does (missing leading axes take `a`'s sizes, 1 on `axes`). A block that
/// leaves the array makes evaluation fail with an index error.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::zeros(&[3, 3], mx::float32)?;
/// let b = mx::slice_update_dynamic(&a, &mx::ones(&[1, 2], mx::float32)?, &mx::array![1, 1], [0, 1])?;
/// assert_eq!(b.to_vec::<f32>()?, vec![0., 0., 0., 0., 1., 1., 0., 0., 0.]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn slice_update_dynamic(
    a: &Array,
    update: impl ArrayLike,
    start: &Array,
    axes: impl Axes,
) -> Result<Array> {
    let axes = dynamic_axes(a, start, &axes.to_axes(), "[slice_update]")?;
    let update = update.into_operand().into_array_as(a.dtype())?;
    let nd = a.ndim();
    let diff = nd.saturating_sub(update.ndim());
    let mut shape: Vec<usize> = a.shape()[..diff].to_vec();
    shape.extend_from_slice(update.shape());
    for d in diff..shape.len().min(nd) {
        shape[d] = shape[d].min(a.shape()[d]);
    }
    for &ax in &axes {
        if ax < diff {
            shape[ax] = 1;
        }
    }
    let upd = broadcast_to(&update.astype(a.dtype())?, &shape)?;
    if upd.ndim() != nd {
        return Err(Error::value(format!(
            "[slice_update] Update with shape {} does not fit array with shape {}.",
            fmt_shape(update.shape()),
            fmt_shape(a.shape())
        )));
    }
    Ok(Array::from_op(
        a.shape().to_vec(),
        a.dtype(),
        DynamicSliceUpdate { axes },
        vec![a.clone(), upd, start.clone()],
    ))
}

// ---------------------------------------------------------------------------------------------
// NumPy-style indexing

/// One entry of a NumPy/MLX index (`a[1, 2:5, None, ..., idx]`); build lists with
/// [`s!`](crate::s).
#[derive(Clone, Debug)]
pub enum Index {
    /// One position (negative counts from the end); drops the axis.
    Int(isize),
    /// `start:stop:step` on one axis.
    Slice(AxisSlice),
    /// `None` / `np.newaxis`: a new axis of size 1.
    NewAxis,
    /// `...`: as many full slices as the other entries leave.
    Ellipsis,
    /// An integer index array (advanced indexing).
    Array(Array),
}

/// `None` in a NumPy index: a new axis of size 1 (`s![NewAxis, ..]`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NewAxis;

/// `...` in a NumPy index (`s![Ellipsis, 0]`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ellipsis;

impl From<NewAxis> for Index {
    fn from(_: NewAxis) -> Self {
        Index::NewAxis
    }
}
impl From<Ellipsis> for Index {
    fn from(_: Ellipsis) -> Self {
        Index::Ellipsis
    }
}
impl From<AxisSlice> for Index {
    fn from(s: AxisSlice) -> Self {
        Index::Slice(s)
    }
}
impl From<RangeFull> for Index {
    fn from(_: RangeFull) -> Self {
        Index::Slice(AxisSlice::full())
    }
}
impl From<Array> for Index {
    fn from(a: Array) -> Self {
        Index::Array(a)
    }
}
impl From<&Array> for Index {
    fn from(a: &Array) -> Self {
        Index::Array(a.clone())
    }
}

/// What may stand before `;step` in [`s!`](crate::s): a range or a full slice.
pub trait IntoAxisSlice {
    /// The slice, with step 1.
    fn into_axis_slice(self) -> AxisSlice;
}
impl IntoAxisSlice for RangeFull {
    fn into_axis_slice(self) -> AxisSlice {
        AxisSlice::full()
    }
}
impl IntoAxisSlice for AxisSlice {
    fn into_axis_slice(self) -> AxisSlice {
        self
    }
}

macro_rules! index_ints {
    ($($t:ty),*) => {$(
        impl From<$t> for Index {
            fn from(i: $t) -> Self {
                Index::Int(i as isize)
            }
        }
        impl IntoAxisSlice for Range<$t> {
            fn into_axis_slice(self) -> AxisSlice {
                AxisSlice::new(Some(self.start as isize), Some(self.end as isize), 1)
            }
        }
        impl IntoAxisSlice for RangeFrom<$t> {
            fn into_axis_slice(self) -> AxisSlice {
                AxisSlice::new(Some(self.start as isize), None, 1)
            }
        }
        impl IntoAxisSlice for RangeTo<$t> {
            fn into_axis_slice(self) -> AxisSlice {
                AxisSlice::new(None, Some(self.end as isize), 1)
            }
        }
        /// Through the end index (`..=-1` runs to the end).
        impl IntoAxisSlice for RangeInclusive<$t> {
            fn into_axis_slice(self) -> AxisSlice {
                let end = *self.end() as isize;
                AxisSlice::new(Some(*self.start() as isize), if end == -1 { None } else { Some(end + 1) }, 1)
            }
        }
        /// Through the end index (`..=-1` runs to the end).
        impl IntoAxisSlice for RangeToInclusive<$t> {
            fn into_axis_slice(self) -> AxisSlice {
                let end = self.end as isize;
                AxisSlice::new(None, if end == -1 { None } else { Some(end + 1) }, 1)
            }
        }
        impl From<Range<$t>> for Index {
            fn from(r: Range<$t>) -> Self { Index::Slice(r.into_axis_slice()) }
        }
        impl From<RangeFrom<$t>> for Index {
            fn from(r: RangeFrom<$t>) -> Self { Index::Slice(r.into_axis_slice()) }
        }
        impl From<RangeTo<$t>> for Index {
            fn from(r: RangeTo<$t>) -> Self { Index::Slice(r.into_axis_slice()) }
        }
        impl From<RangeInclusive<$t>> for Index {
            fn from(r: RangeInclusive<$t>) -> Self { Index::Slice(r.into_axis_slice()) }
        }
        impl From<RangeToInclusive<$t>> for Index {
            fn from(r: RangeToInclusive<$t>) -> Self { Index::Slice(r.into_axis_slice()) }
        }
    )*};
}
index_ints!(i32, i64, isize, usize);

/// A NumPy/MLX index as a `Vec<`[`Index`]`>`, for [`Array::index`], [`Array::index_put`] and
/// [`Array::at`]. Entries are separated by commas:
///
/// | Python | `s!` |
/// | --- | --- |
/// | `1`, `-1` | `1`, `-1` (any integer expression) |
/// | `:` | `..` |
/// | `2:5`, `2:`, `:5`, `2:5:2`, `::-1` | `2..5`, `2..`, `..5`, `2..5;2`, `..;-1` |
/// | `2:=5` (through 5) | `2..=5` |
/// | `None`, `...` | `NewAxis`, `Ellipsis` (from the crate root) |
/// | an index array | `&idx` or `idx` (an [`Array`](crate::Array) of an integer dtype) |
///
/// ```
/// use rmlx_core::{self as mx, s, Ellipsis, NewAxis};
/// let a = mx::arange(0, 24, 1)?.reshape(&[2, 3, 4])?;
/// let idx = mx::array![2, 0];
/// assert_eq!(a.index(s![1, .., 0..4;2])?.shape(), &[3, 2]);
/// assert_eq!(a.index(s![NewAxis, Ellipsis, -1])?.shape(), &[1, 2, 3]);
/// assert_eq!(a.index(s![.., &idx])?.shape(), &[2, 2, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
#[macro_export]
macro_rules! s {
    (@acc [$($acc:expr),*]) => {{
        let v: ::std::vec::Vec<$crate::Index> = ::std::vec![$($acc),*];
        v
    }};
    (@acc [$($acc:expr),*] $e:expr ; $step:expr , $($rest:tt)*) => {
        $crate::s!(@acc [$($acc,)* $crate::Index::Slice($crate::IntoAxisSlice::into_axis_slice($e).step($step))] $($rest)*)
    };
    (@acc [$($acc:expr),*] $e:expr ; $step:expr) => {
        $crate::s!(@acc [$($acc,)* $crate::Index::Slice($crate::IntoAxisSlice::into_axis_slice($e).step($step))])
    };
    (@acc [$($acc:expr),*] $e:expr , $($rest:tt)*) => {
        $crate::s!(@acc [$($acc,)* $crate::Index::from($e)] $($rest)*)
    };
    (@acc [$($acc:expr),*] $e:expr) => {
        $crate::s!(@acc [$($acc,)* $crate::Index::from($e)])
    };
    ($($t:tt)*) => { $crate::s!(@acc [] $($t)*) };
}

/// An entry after the ellipsis is expanded: the axis of `a` it applies to (none for a new
/// axis).
#[derive(Clone, Debug)]
enum Entry {
    Int {
        axis: usize,
        index: usize,
    },
    Slice {
        axis: usize,
        start: isize,
        len: usize,
        step: isize,
        /// Start, stop and stride as [`slice`](super::slice) takes them.
        bounds: (isize, isize, isize),
    },
    New,
    Array {
        axis: usize,
        array: Array,
    },
}

impl Entry {
    fn is_advanced(&self) -> bool {
        matches!(self, Entry::Int { .. } | Entry::Array { .. })
    }
}

/// The entries of `idx` for an array of `shape`: the ellipsis expanded, integers checked,
/// slices normalised, index arrays checked; the number of axes they cover.
fn expand_index(shape: &[usize], idx: &[Index], op: &str) -> Result<(Vec<Entry>, usize)> {
    let nd = shape.len();
    let mut ellipsis = None;
    for (i, e) in idx.iter().enumerate() {
        if matches!(e, Index::Ellipsis) {
            if ellipsis.is_some() {
                return Err(Error::value(
                    "An index can only have a single ellipsis (...)",
                ));
            }
            ellipsis = Some(i);
        }
    }
    let explicit = idx
        .iter()
        .filter(|e| !matches!(e, Index::NewAxis | Index::Ellipsis))
        .count();
    if explicit > nd {
        return Err(Error::value(format!(
            "Too many indices for array with {nd} dimensions."
        )));
    }
    let mut out = Vec::with_capacity(idx.len() + nd);
    let mut axis = 0;
    for e in idx {
        match e {
            Index::Ellipsis => {
                for _ in 0..nd - explicit {
                    out.push(Entry::Slice {
                        axis,
                        start: 0,
                        len: shape[axis],
                        step: 1,
                        bounds: (0, shape[axis] as isize, 1),
                    });
                    axis += 1;
                }
            }
            Index::NewAxis => out.push(Entry::New),
            Index::Int(i) => {
                let index = static_index(*i, axis, shape[axis], op)?;
                out.push(Entry::Int { axis, index });
                axis += 1;
            }
            Index::Slice(s) => {
                let (b, e, k) = s.bounds(shape[axis]);
                let (len, start, step) = normalize_bounds(shape[axis], b, e, k)?;
                out.push(Entry::Slice {
                    axis,
                    start,
                    len,
                    step,
                    bounds: (b, e, k),
                });
                axis += 1;
            }
            Index::Array(x) => {
                if x.dtype() == Dtype::Bool {
                    return Err(Error::value("boolean indices are not yet supported"));
                }
                if !x.dtype().is_integer() {
                    return Err(Error::value(format!(
                        "[{op}] Got indices with invalid dtype. Indices must be integral."
                    )));
                }
                out.push(Entry::Array {
                    axis,
                    array: x.clone(),
                });
                axis += 1;
            }
        }
    }
    Ok((out, axis))
}

/// Whether advanced entries (integers and arrays) are separated by a slice or new axis, in
/// which case NumPy puts their broadcast dimensions first.
fn advanced_separated(entries: &[Entry]) -> bool {
    let (mut seen_adv, mut gap) = (false, false);
    for e in entries {
        if e.is_advanced() {
            if gap {
                return true;
            }
            seen_adv = true;
        } else if seen_adv {
            gap = true;
        }
    }
    false
}

/// One axis of the result of an advanced index, in order.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Out {
    /// The broadcast index dimensions (one block).
    Block,
    /// A sliced axis, or an axis of `a` the index does not name.
    Kept,
    /// A new axis.
    New,
}

/// The layout of an advanced index's result (see [`Out`]).
fn advanced_layout(entries: &[Entry], covered: usize, nd: usize) -> Vec<Out> {
    let separated = advanced_separated(entries);
    let mut out = Vec::new();
    if separated {
        out.push(Out::Block);
    }
    let mut placed = separated;
    for e in entries {
        match e {
            Entry::Slice { .. } => out.push(Out::Kept),
            Entry::New => out.push(Out::New),
            _ => {
                if !placed {
                    out.push(Out::Block);
                    placed = true;
                }
            }
        }
    }
    out.extend((covered..nd).map(|_| Out::Kept));
    out
}

/// `a[idx]` (NumPy/MLX `__getitem__`).
fn get_item(a: &Array, idx: &[Index]) -> Result<Array> {
    let nd = a.ndim();
    let (entries, covered) = expand_index(a.shape(), idx, "gather")?;
    let has_array = entries.iter().any(|e| matches!(e, Entry::Array { .. }));
    // Slices and integers as one view (an integer keeps a size-1 axis here).
    let (start, stop, strides) = basic_bounds(a, &entries);
    let v = super::slice(a, start, stop, strides)?;
    let int_axes: Vec<isize> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Int { axis, .. } => Some(*axis as isize),
            _ => None,
        })
        .collect();
    if !has_array {
        let v = if int_axes.is_empty() {
            v
        } else {
            squeeze(&v, Some(int_axes))?
        };
        // New axes where the entries put them: count output positions.
        let mut new_axes = Vec::new();
        let mut pos = 0isize;
        for e in &entries {
            match e {
                Entry::New => {
                    new_axes.push(pos);
                    pos += 1;
                }
                Entry::Slice { .. } => pos += 1,
                _ => {}
            }
        }
        return if new_axes.is_empty() {
            Ok(v)
        } else {
            super::expand_dims(&v, new_axes)
        };
    }
    // Advanced: the view without its integer axes, then one gather over the array axes.
    let v = if int_axes.is_empty() {
        v
    } else {
        squeeze(&v, Some(int_axes.clone()))?
    };
    let v_axis = |axis: usize| axis - int_axes.iter().filter(|&&i| (i as usize) < axis).count();
    let (mut arrays, mut axes) = (Vec::new(), Vec::new());
    for e in &entries {
        if let Entry::Array { axis, array } = e {
            arrays.push(array.clone());
            axes.push(v_axis(*axis));
        }
    }
    let mut sizes = v.shape().to_vec();
    for &ax in &axes {
        sizes[ax] = 1;
    }
    let axes_i: Vec<isize> = axes.iter().map(|&x| x as isize).collect();
    let g = gather(&v, &arrays, axes_i, &sizes)?;
    let nb = g.ndim() - v.ndim();
    let sq: Vec<isize> = axes.iter().map(|&ax| (nb + ax) as isize).collect();
    let g = squeeze(&g, Some(sq))?;
    // g is (block, v's other axes in order); move the block and add new axes.
    let layout = advanced_layout(&entries, covered, nd);
    let mut perm = Vec::with_capacity(g.ndim());
    let mut rest = nb;
    let mut new_axes = Vec::new();
    let mut pos = 0isize;
    for o in &layout {
        match o {
            Out::Block => {
                perm.extend(0..nb);
                pos += nb as isize;
            }
            Out::New => {
                new_axes.push(pos);
                pos += 1;
            }
            Out::Kept => {
                perm.push(rest);
                rest += 1;
                pos += 1;
            }
        }
    }
    let g = if perm.iter().enumerate().all(|(i, &p)| i == p) {
        g
    } else {
        transpose(&g, Some(perm))?
    };
    if new_axes.is_empty() {
        Ok(g)
    } else {
        super::expand_dims(&g, new_axes)
    }
}

/// Drops the first `n` axes of `u` (all of size 1).
fn drop_leading(u: Array, n: usize) -> Result<Array> {
    if n == 0 {
        return Ok(u);
    }
    squeeze(&u, Some((0..n as isize).collect::<Vec<_>>()))
}

/// The start, stop and stride per axis of `a` for basic entries (an integer takes one element,
/// its axis kept).
fn basic_bounds(a: &Array, entries: &[Entry]) -> (Vec<isize>, Vec<isize>, Vec<isize>) {
    let nd = a.ndim();
    let mut start = vec![0isize; nd];
    let mut stop: Vec<isize> = a.shape().iter().map(|&d| d as isize).collect();
    let mut strides = vec![1isize; nd];
    for e in entries {
        match *e {
            Entry::Int { axis, index } => {
                start[axis] = index as isize;
                stop[axis] = index as isize + 1;
            }
            Entry::Slice { axis, bounds, .. } => {
                (start[axis], stop[axis], strides[axis]) = bounds;
            }
            _ => {}
        }
    }
    (start, stop, strides)
}

/// `a` with `values` combined into `a[idx]` by `reduce` (`x[idx] = v`, `x.at[idx].add(v)`),
/// with MLX's rules for the shape the update must broadcast to. Those follow NumPy for the
/// common cases but not always: MLX lays out the update of an advanced index with integer
/// entries and new axes its own way, and rmlx follows MLX.
fn update_item(a: &Array, idx: &[Index], values: &Array, reduce: ScatterReduce) -> Result<Array> {
    let nd = a.ndim();
    let (entries, covered) = expand_index(a.shape(), idx, "scatter")?;
    let has_array = entries.iter().any(|e| matches!(e, Entry::Array { .. }));
    if !has_array {
        // A slice update. Leading size-1 axes of the update go while it has more axes than
        // `a` (one is kept); then an integer entry adds an axis to the update and a new axis
        // removes one, matched from the back.
        let mut u = values.clone();
        let mut lead = 0;
        if nd == 0 {
            // A 0-d target takes MLX's scatter path, which drops every leading size-1 axis.
            lead = u.shape().iter().take_while(|&&d| d == 1).count();
        }
        while lead + 1 < u.ndim() && u.shape()[lead] == 1 && u.ndim() - lead > nd {
            lead += 1;
        }
        u = drop_leading(u, lead)?;
        if covered == 0 {
            u = broadcast_to(&u, a.shape())?;
        } else {
            let n = entries.len() as isize;
            let unspecified = (nd - covered) as isize;
            let mut upd_ax = u.ndim() as isize - unspecified - 1;
            let (mut expand, mut drop) = (Vec::new(), Vec::new());
            for (i, e) in entries.iter().enumerate().rev() {
                let rel = i as isize - n - unspecified;
                match e {
                    Entry::Slice { .. } => upd_ax -= 1,
                    Entry::Int { .. } => {
                        if upd_ax >= 0 {
                            expand.push(rel);
                        }
                    }
                    Entry::New => {
                        if upd_ax >= 0 {
                            drop.push(rel);
                        }
                        upd_ax -= 1;
                    }
                    Entry::Array { .. } => {}
                }
            }
            if !expand.is_empty() {
                u = super::expand_dims(&u, expand)?;
            }
            if !drop.is_empty() {
                u = squeeze(&u, Some(drop))?;
            }
        }
        let (start, stop, strides) = basic_bounds(a, &entries);
        return slice_update_reduce(a, &u, &start, &stop, &strides, reduce);
    }
    // A scatter: every entry but the new axes gets an index array. Leading size-1 axes of the
    // update go first.
    let lead = values.shape().iter().take_while(|&&d| d == 1).count();
    let u = drop_leading(values.clone(), lead)?;
    let (mut have_array, mut have_non_array, mut arrays_first) = (false, false, false);
    let (mut max_dim, mut num_none, mut num_slices, mut num_arrays) = (0, 0, 0, 0);
    let (mut num_strided, mut simple_post) = (0isize, 0);
    for e in &entries {
        match e {
            Entry::New => {
                have_non_array = have_array;
                num_none += 1;
            }
            Entry::Slice { bounds, .. } => {
                have_non_array = have_array;
                num_slices += 1;
                if bounds.2 != 1 {
                    num_strided += 1;
                    simple_post = 0;
                } else {
                    simple_post += 1;
                }
            }
            Entry::Array { array, .. } => {
                have_array = true;
                arrays_first |= have_non_array;
                max_dim = max_dim.max(array.ndim());
                num_arrays += 1;
                simple_post = 0;
            }
            Entry::Int { .. } => {}
        }
    }
    // Index dimensions: the arrays', one per new axis and per slice given as indices.
    let idx_nd = (max_dim + num_none + num_slices - simple_post).max(1);
    let (mut slice_num, mut array_num) = (0usize, 0usize);
    let mut idx_arrays = Vec::with_capacity(covered);
    let mut upd_block = Vec::with_capacity(nd);
    let mut block_lens = Vec::new();
    for e in &entries {
        match e {
            Entry::New => slice_num += 1,
            Entry::Int { index, .. } => {
                idx_arrays.push(Array::scalar(*index as i64));
                upd_block.push(1);
            }
            Entry::Array { array, .. } => {
                let mut shape = vec![1usize; idx_nd];
                let st = if arrays_first { 0 } else { slice_num } + max_dim - array.ndim();
                shape[st..st + array.ndim()].copy_from_slice(array.shape());
                idx_arrays.push(reshape(array, &shape)?);
                if !arrays_first {
                    array_num += 1;
                    if array_num == num_arrays {
                        slice_num += max_dim;
                    }
                }
                upd_block.push(1);
            }
            Entry::Slice {
                start,
                len,
                step,
                bounds,
                ..
            } => {
                if array_num >= num_arrays && num_strided <= 0 && bounds.2 == 1 {
                    // A block of the update, placed at the slice's start.
                    idx_arrays.push(Array::from_slice(&[*start as i64], &vec![1; idx_nd])?);
                    block_lens.push(*len);
                    upd_block.push(*len);
                } else {
                    let vals: Vec<i64> = (0..*len as i64)
                        .map(|j| *start as i64 + j * *step as i64)
                        .collect();
                    let mut shape = vec![1usize; idx_nd];
                    shape[slice_num + if arrays_first { max_dim } else { 0 }] = *len;
                    idx_arrays.push(Array::from_slice(&vals, &shape)?);
                    slice_num += 1;
                    num_strided -= 1;
                    upd_block.push(1);
                }
            }
        }
    }
    let idx_arrays = broadcast_arrays(&idx_arrays)?;
    let idx_shape = idx_arrays[0].shape().to_vec();
    let rest = &a.shape()[covered..];
    let mut target = idx_shape.clone();
    target.extend_from_slice(&block_lens);
    target.extend_from_slice(rest);
    let u = broadcast_to(&u, &target)?;
    let mut upd_shape = idx_shape;
    upd_shape.extend_from_slice(&upd_block);
    upd_shape.extend_from_slice(rest);
    let u = reshape(&u.astype(a.dtype())?, &upd_shape)?;
    let axes: Vec<isize> = (0..covered as isize).collect();
    scatter(a, &idx_arrays, &u, axes, reduce)
}

/// The value of an update as MLX takes it: an array as it is, a scalar in `a`'s dtype.
fn update_value(a: &Array, v: impl ArrayLike) -> Result<Array> {
    match v.into_operand() {
        Operand::Array(x) => Ok(x),
        // Weak: a float scalar stays a float for an integer array (MLX's `to_array`).
        Operand::Scalar(s) => s.to_weak_array(Some(a.dtype())),
    }
}

/// Indexing methods on `Array`.
impl Array {
    /// NumPy/MLX indexing, `a[idx]`, with an index built by [`s!`](crate::s). Integers and
    /// slices (basic indexing) give a view; integer index arrays (advanced indexing) gather,
    /// with the index arrays broadcast together and their dimensions placed as NumPy places
    /// them (where the first one was, or first of all when index arrays are separated by a
    /// slice or new axis). Boolean masks are not supported (as in MLX). An integer outside
    /// its axis is an index error here; one inside an index array fails the evaluation.
    ///
    /// ```
    /// use rmlx_core::{self as mx, s};
    /// let a = mx::arange(0, 12, 1)?.reshape(&[3, 4])?;
    /// assert_eq!(a.index(s![-1, 1..;2])?.to_vec::<i32>()?, vec![9, 11]);
    /// let rows = mx::array![2, 0];
    /// assert_eq!(a.index(s![&rows, 0])?.to_vec::<i32>()?, vec![8, 0]);
    /// assert!(a.index(s![3]).is_err());
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn index(&self, idx: impl AsRef<[Index]>) -> Result<Array> {
        get_item(self, idx.as_ref())
    }

    /// `x[idx] = v`: rebinds `self` to a new array with `v` (cast to `self`'s dtype, broadcast
    /// to the shape of `self.index(idx)`) written there. With duplicate indices the last write
    /// wins. An index that is one boolean array is a mask: [`masked_scatter`] (a mask among
    /// other entries is not supported, as in MLX).
    ///
    /// ```
    /// use rmlx_core::{self as mx, s};
    /// let mut x = mx::zeros(&[2, 3], mx::int32)?;
    /// x.index_put(s![.., 1], 7)?;
    /// x.index_put(s![&mx::array![1], 2], mx::array![5])?;
    /// assert_eq!(x.to_vec::<i32>()?, vec![0, 7, 0, 0, 7, 5]);
    /// x.index_put(s![&mx::array![true, false]], mx::array![1, 2, 3])?;
    /// assert_eq!(x.to_vec::<i32>()?, vec![1, 2, 3, 0, 7, 5]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn index_put(&mut self, idx: impl AsRef<[Index]>, v: impl ArrayLike) -> Result<()> {
        if let [Index::Array(mask)] = idx.as_ref()
            && mask.dtype() == Dtype::Bool
        {
            *self = masked_scatter(self, mask, v)?;
            return Ok(());
        }
        let vals = update_value(self, v)?;
        *self = update_item(self, idx.as_ref(), &vals, ScatterReduce::None)?;
        Ok(())
    }

    /// MLX's `x.at[idx]`: updates of `x[idx]` that accumulate over duplicate indices
    /// (`x.at(s![&i]).add(1.0)` adds once per occurrence of each index), each returning a new
    /// array.
    ///
    /// ```
    /// use rmlx_core::{self as mx, s};
    /// let x = mx::zeros(&[3], mx::float32)?;
    /// let i = mx::array![0, 2, 0];
    /// assert_eq!(x.at(s![&i]).add(1.0)?.to_vec::<f32>()?, vec![2.0, 0.0, 1.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn at(&self, idx: impl AsRef<[Index]>) -> AtIndexer {
        AtIndexer {
            array: self.clone(),
            idx: idx.as_ref().to_vec(),
        }
    }
}

/// The updates of `x.at(idx)` (MLX's `x.at[idx]`): each returns a new array, with duplicate
/// indices applied once per occurrence.
#[derive(Clone, Debug)]
pub struct AtIndexer {
    array: Array,
    idx: Vec<Index>,
}

impl AtIndexer {
    fn apply(&self, v: Array, reduce: ScatterReduce) -> Result<Array> {
        update_item(&self.array, &self.idx, &v, reduce)
    }
    /// `x[idx] += v`, accumulating duplicates.
    pub fn add(&self, v: impl ArrayLike) -> Result<Array> {
        self.apply(update_value(&self.array, v)?, ScatterReduce::Sum)
    }
    /// `x[idx] -= v`, accumulating duplicates (adds `-v`, as MLX does; an error for bool).
    pub fn subtract(&self, v: impl ArrayLike) -> Result<Array> {
        let v = super::negative(&update_value(&self.array, v)?)?;
        self.apply(v, ScatterReduce::Sum)
    }
    /// `x[idx] *= v`, accumulating duplicates.
    pub fn multiply(&self, v: impl ArrayLike) -> Result<Array> {
        self.apply(update_value(&self.array, v)?, ScatterReduce::Prod)
    }
    /// `x[idx] /= v`, accumulating duplicates: multiplies by `1 / v` cast to `x`'s dtype, as
    /// MLX does (so for integer `x` this multiplies by 0 unless `v` is 1).
    ///
    /// ```
    /// use rmlx_core::{self as mx, s};
    /// let x = mx::array![8.0, 8.0];
    /// assert_eq!(x.at(s![&mx::array![0, 0]]).divide(2.0)?.to_vec::<f32>()?, vec![2.0, 8.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn divide(&self, v: impl ArrayLike) -> Result<Array> {
        let v = super::reciprocal(&update_value(&self.array, v)?)?;
        self.apply(v, ScatterReduce::Prod)
    }
    /// `x[idx] = maximum(x[idx], v)`, over every duplicate.
    pub fn maximum(&self, v: impl ArrayLike) -> Result<Array> {
        self.apply(update_value(&self.array, v)?, ScatterReduce::Max)
    }
    /// `x[idx] = minimum(x[idx], v)`, over every duplicate.
    pub fn minimum(&self, v: impl ArrayLike) -> Result<Array> {
        self.apply(update_value(&self.array, v)?, ScatterReduce::Min)
    }
}
