//! Gather and scatter kernels: `Gather` / `Scatter` (index arrays over a list of axes, one
//! slice per index), `GatherAxis` / `ScatterAxis` (take/put along one axis), `SliceUpdate`,
//! `DynamicSlice` and `DynamicSliceUpdate`.
//!
//! Every kernel first turns its index arrays (any integer dtype, any layout) into element
//! offsets, checking each index against its axis: a negative index counts from the end (as
//! MLX does for signed index types) and an index outside the axis is an [`Error::index`] on
//! the output (MLX reads or writes out of bounds instead). The copies that follow only move
//! elements, so they are written once per element size, not once per dtype.
//!
//! Gathers write disjoint output blocks and run on both cores when large; a slice that is
//! contiguous in the source is copied with `copy_from_slice` (an embedding lookup is one row
//! copy per index). Scatters apply their updates in index order, so duplicate indices
//! accumulate (sum, prod, max, min) or the last one wins (assignment) exactly as in a
//! sequential loop; a large scatter whose slices span the whole last axis splits that axis
//! between threads, each thread walking every index in order over its own columns.

use super::PARALLEL_THRESHOLD;
use super::binary::{Ordered, dispatch_int};
use super::copy::copy_into;
use super::num::Num;
use crate::array::{Array, Data, buffer_elements_mut, row_major_strides};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::{for_each_offset, for_each_row};
use crate::primitive::OutputSpec;
use rayon::prelude::*;

/// How a scatter combines an update with the element already there.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ScatterReduce {
    /// Overwrite (the last of duplicate indices wins).
    None,
    /// Add.
    Sum,
    /// Multiply.
    Prod,
    /// Keep the larger (MLX's `y > x ? y : x`: a NaN already there is replaced).
    Max,
    /// Keep the smaller (MLX's `y < x ? y : x`).
    Min,
}

/// Runs `$body` with `$T` an unsigned integer type of the dtype's element size: for kernels
/// that only move elements.
macro_rules! by_size {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype.size() {
            1 => {
                type $T = u8;
                $body
            }
            2 => {
                type $T = u16;
                $body
            }
            4 => {
                type $T = u32;
                $body
            }
            _ => {
                type $T = u64;
                $body
            }
        }
    };
}

/// The combining function of `reduce` for a numeric element type.
#[inline(always)]
fn combine<T: Num + Ordered>(reduce: ScatterReduce, y: T, x: T) -> T {
    match reduce {
        ScatterReduce::None => x,
        ScatterReduce::Sum => y.add(x),
        ScatterReduce::Prod => y.mul(x),
        ScatterReduce::Max => {
            if y.greater(x) {
                y
            } else {
                x
            }
        }
        ScatterReduce::Min => {
            if y.less(x) {
                y
            } else {
                x
            }
        }
    }
}

/// The combining function of `reduce` for bool (C++ `bool += bool` is a logical or).
#[inline(always)]
fn combine_bool(reduce: ScatterReduce, y: bool, x: bool) -> bool {
    match reduce {
        ScatterReduce::None => x,
        ScatterReduce::Sum | ScatterReduce::Max => y | x,
        ScatterReduce::Prod | ScatterReduce::Min => y & x,
    }
}

/// Runs `$body` with `$T` the element type and `$f` the combining function of `$reduce`:
/// assignment moves bits (by element size), reductions work on the dtype.
macro_rules! with_reduce {
    ($dtype:expr, $reduce:expr, $T:ident, $f:ident => $body:expr) => {{
        let reduce = $reduce;
        if reduce == ScatterReduce::None {
            by_size!($dtype, $T => {
                let $f = |_y: $T, x: $T| x;
                $body
            })
        } else {
            crate::dispatch_numeric!($dtype, $T => {
                let $f = |y: $T, x: $T| combine(reduce, y, x);
                $body
            }, bool => {
                type $T = bool;
                let $f = |y: bool, x: bool| combine_bool(reduce, y, x);
                $body
            })
        }
    }};
}

/// The error for an index outside its axis.
fn out_of_bounds(op: &str, index: i128, axis: usize, size: usize) -> Error {
    Error::index(format!(
        "[{op}] Index {index} is out of bounds for axis {axis} with size {size}."
    ))
}

/// An index normalised into `0..size` (negative counts from the end), or `None`.
#[inline(always)]
fn normalize(v: i128, size: usize) -> Option<usize> {
    let n = size as i128;
    let w = if v < 0 { v + n } else { v };
    (0..n).contains(&w).then_some(w as usize)
}

/// Checks that the slice starting at `start` with steps `strides` and `update`'s shape lies
/// in an array of `shape` (what `slice_update` made sure of when it built the node; a
/// shapeless replay may hand the node a smaller array).
pub(crate) fn check_slice_fits(
    shape: &[usize],
    update: &[usize],
    start: &[isize],
    strides: &[isize],
) -> Result<()> {
    let nd = shape.len();
    let fits = update.len() == nd
        && start.len() == nd
        && strides.len() == nd
        && (update.contains(&0)
            || (0..nd).all(|i| {
                let (s, n) = (start[i] as i128, shape[i] as i128);
                let last = s + (update[i] as i128 - 1) * strides[i] as i128;
                (0..n).contains(&s) && (0..n).contains(&last)
            }));
    if fits {
        return Ok(());
    }
    let fmt = |v: &[isize]| {
        let items: Vec<String> = v.iter().map(isize::to_string).collect();
        format!("({})", items.join(","))
    };
    Err(Error::value(format!(
        "[slice_update] The update of shape {} at start {} with strides {} does not fit in an \
         array of shape {}.",
        crate::error::fmt_shape(update),
        fmt(start),
        fmt(strides),
        crate::error::fmt_shape(shape)
    )))
}

/// Checks that the indices of a take or put along `axis` have the shape of the array on every
/// other axis (the op broadcast them so; a shapeless replay may hand the node others), and,
/// with `values`, that the values have the indices' shape.
pub(crate) fn check_along_axis(
    op: &str,
    shape: &[usize],
    indices: &[usize],
    values: Option<&[usize]>,
    axis: usize,
) -> Result<()> {
    let agree = indices.len() == shape.len()
        && axis < shape.len()
        && (0..shape.len()).all(|i| i == axis || indices[i] == shape[i])
        && values.is_none_or(|v| v == indices);
    if agree {
        return Ok(());
    }
    Err(Error::value(format!(
        "[{op}] Indices of shape {} do not match the array of shape {} on the axes other than \
         {axis}.",
        crate::error::fmt_shape(indices),
        crate::error::fmt_shape(shape)
    )))
}

/// Checks a gather's index arrays (one shape) and slice sizes (at most the source's sizes)
/// against a source of `shape`, as the op did when it built the node.
pub(crate) fn check_gather(
    shape: &[usize],
    indices: &[Array],
    slice_sizes: &[usize],
) -> Result<()> {
    if let Some(first) = indices.first()
        && indices.iter().any(|i| i.shape() != first.shape())
    {
        return Err(Error::value(
            "[gather] The index arrays must all have the same shape.",
        ));
    }
    if slice_sizes.len() != shape.len() {
        return Err(Error::value(format!(
            "[gather] Got slice_sizes with size {} for array with {} dimensions.",
            slice_sizes.len(),
            shape.len()
        )));
    }
    if shape.contains(&0) {
        let idx_size = indices.first().map_or(1, Array::size);
        if idx_size != 0 && !slice_sizes.contains(&0) {
            return Err(Error::value(
                "[gather] If the input is empty, either the indices must be empty or the total \
                 slice size must be 0.",
            ));
        }
    } else if slice_sizes.iter().zip(shape).any(|(&s, &d)| s > d) {
        return Err(Error::value(format!(
            "[gather] Slice sizes must be in [0, a.shape(i)]. Got {} for array with shape {}.",
            crate::error::fmt_shape(slice_sizes),
            crate::error::fmt_shape(shape)
        )));
    }
    Ok(())
}

/// Adds `normalize(idx[k]) * stride` to `acc[k]` for every element `k` of `idx` in row-major
/// order (`acc` has `idx.size()` elements). `axis` and `size` describe the indexed axis; a
/// slice of `slice` elements from each index must fit in it (an index error otherwise).
pub(crate) fn accumulate_offsets(
    idx: &Array,
    size: usize,
    stride: isize,
    acc: &mut [isize],
    op: &str,
    axis: usize,
    slice: usize,
) -> Result<()> {
    let d = idx.ready_data()?;
    dispatch_int!(idx.dtype(), I => {
        let src = d.elements::<I>();
        let one = |v: I, a: &mut isize| -> Result<()> {
            let v = v.to_i128();
            let w = normalize(v, size).ok_or_else(|| out_of_bounds(op, v, axis, size))?;
            if w + slice > size {
                // A slice starting here would read (or write) past the axis.
                return Err(Error::index(format!(
                    "[{op}] Index {v} with a slice of size {slice} is out of bounds for axis \
                     {axis} with size {size}."
                )));
            }
            *a += w as isize * stride;
            Ok(())
        };
        if d.row_contiguous {
            let src = &src[d.offset..d.offset + acc.len()];
            if acc.len() >= PARALLEL_THRESHOLD {
                acc.par_chunks_mut(1 << 14)
                    .zip(src.par_chunks(1 << 14))
                    .try_for_each(|(a, s)| a.iter_mut().zip(s).try_for_each(|(a, &v)| one(v, a)))
            } else {
                acc.iter_mut().zip(src).try_for_each(|(a, &v)| one(v, a))
            }
        } else {
            let mut k = 0;
            let mut res = Ok(());
            for_each_offset(idx.shape(), &d.strides, d.offset, |o| {
                if res.is_ok() {
                    res = one(src[o], &mut acc[k]);
                }
                k += 1;
            });
            res
        }
    }, _ => Err(Error::value(format!(
        "[{op}] Got indices with invalid dtype. Indices must be integral."
    ))))
}

/// The start offset, inner step and length of each row of a block of `shape` laid out with
/// `strides` (relative to the block's first element), in row-major order.
fn block_rows(shape: &[usize], strides: &[isize]) -> Vec<(isize, isize, usize)> {
    let mut rows = Vec::new();
    for_each_row(shape, [strides], [0], |[s], [st], len| {
        rows.push((s, st, len))
    });
    rows
}

/// Copies one strided block (`rows`, from `base`) of `src` into the dense `dst`.
#[inline(always)]
fn copy_block<T: Copy>(src: &[T], base: isize, rows: &[(isize, isize, usize)], dst: &mut [T]) {
    let mut pos = 0;
    for &(s, st, len) in rows {
        let start = base + s;
        if st == 1 {
            let s = start as usize;
            dst[pos..pos + len].copy_from_slice(&src[s..s + len]);
        } else {
            for (i, d) in dst[pos..pos + len].iter_mut().enumerate() {
                *d = src[(start + i as isize * st) as usize];
            }
        }
        pos += len;
    }
}

/// A row-major buffer holding the elements of `a`: `a`'s own buffer when it can be donated,
/// else a copy.
fn take_or_copy(a: &Array, spec: &OutputSpec) -> Result<crate::allocator::Buffer> {
    let bytes = crate::array::checked_nbytes(&spec.shape, spec.dtype)?;
    if let Some(buf) = a.try_donate(bytes) {
        return Ok(buf);
    }
    let (mut buf, strides) = Data::alloc(spec)?;
    if spec.size() > 0 {
        let d = a.ready_data()?;
        by_size!(spec.dtype, T => copy_into::<T>(&d, a.shape(), buffer_elements_mut::<T>(&mut buf), 0, &strides));
    }
    Ok(buf)
}

/// `Gather`: `inputs` are the source and one index array per axis in `axes` (all of one
/// shape); the output is the index shape followed by `slice_sizes`, holding for each index
/// the block of `slice_sizes` that starts at it.
pub(crate) fn gather(
    inputs: &[Array],
    axes: &[usize],
    slice_sizes: &[usize],
    spec: &OutputSpec,
) -> Result<Data> {
    check_gather(inputs[0].shape(), &inputs[1..], slice_sizes)?;
    let (mut buf, _) = Data::alloc(spec)?;
    let total = spec.size();
    if total > 0 {
        let a = &inputs[0];
        let src = a.ready_data()?;
        let idx = &inputs[1..];
        let n_idx = idx.first().map_or(1, |i| i.size());
        let mut offs = vec![src.offset as isize; n_idx];
        for (i, &ax) in idx.iter().zip(axes) {
            let slice = slice_sizes[ax];
            accumulate_offsets(
                i,
                a.shape()[ax],
                src.strides[ax],
                &mut offs,
                "gather",
                ax,
                slice,
            )?;
        }
        let block = total / n_idx;
        let rows = block_rows(slice_sizes, &src.strides);
        by_size!(spec.dtype, T => {
            let s = src.elements::<T>();
            let out = &mut buffer_elements_mut::<T>(&mut buf)[..total];
            if block == 1 {
                let fill = |o: &mut [T], f: &[isize]| {
                    for (o, &f) in o.iter_mut().zip(f) {
                        *o = s[f as usize];
                    }
                };
                if total >= PARALLEL_THRESHOLD {
                    out.par_chunks_mut(1 << 14).zip(offs.par_chunks(1 << 14)).for_each(|(o, f)| fill(o, f));
                } else {
                    fill(out, &offs);
                }
            } else if total >= PARALLEL_THRESHOLD && n_idx > 1 {
                // Groups of indices, each group about 16K elements of output.
                let g = (16384 / block).max(1);
                out.par_chunks_mut(g * block).zip(offs.par_chunks(g)).for_each(|(o, f)| {
                    for (o, &f) in o.chunks_mut(block).zip(f) {
                        copy_block(s, f, &rows, o);
                    }
                });
            } else {
                for (o, &f) in out.chunks_mut(block).zip(&offs) {
                    copy_block(s, f, &rows, o);
                }
            }
        });
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// A raw pointer that threads may share when each writes its own elements.
#[derive(Copy, Clone)]
struct SharedMut<T>(*mut T);
// SAFETY: only used by `scatter`'s column split, where every thread writes elements no other
// thread touches (see there).
unsafe impl<T> Send for SharedMut<T> {}
unsafe impl<T> Sync for SharedMut<T> {}

/// `Scatter`: `inputs` are the destination, one index array per axis in `axes` (all of one
/// shape) and the updates, shaped as the index shape followed by one update block (of the
/// destination's rank). Each block is combined into the destination at its index, in index
/// order.
pub(crate) fn scatter(
    inputs: &[Array],
    axes: &[usize],
    reduce: ScatterReduce,
    spec: &OutputSpec,
) -> Result<Data> {
    let a = &inputs[0];
    let upd = &inputs[inputs.len() - 1];
    let idx = &inputs[1..inputs.len() - 1];
    let mut buf = take_or_copy(a, spec)?;
    let nd = spec.shape.len();
    let out_strides = row_major_strides(&spec.shape);
    let n_idx_dims = upd.ndim() - nd;
    let idx_shape = &upd.shape()[..n_idx_dims];
    let slice_shape = &upd.shape()[n_idx_dims..];
    if upd.size() > 0 {
        let n_idx: usize = idx_shape.iter().product();
        let mut offs = vec![0isize; n_idx];
        for (i, &ax) in idx.iter().zip(axes) {
            let slice = slice_shape[ax];
            accumulate_offsets(
                i,
                spec.shape[ax],
                out_strides[ax],
                &mut offs,
                "scatter",
                ax,
                slice,
            )?;
        }
        let ud = upd.ready_data()?;
        let (idx_strides, slice_strides) = ud.strides.split_at(n_idx_dims);
        let mut uoffs = Vec::with_capacity(n_idx);
        for_each_offset(idx_shape, idx_strides, ud.offset, |o| {
            uoffs.push(o as isize)
        });
        let block: usize = slice_shape.iter().product();
        let last = nd.wrapping_sub(1);
        let split = nd > 0
            && !axes.contains(&last)
            && slice_shape[last] == spec.shape[last]
            && spec.shape[last] >= 64
            && n_idx * block >= PARALLEL_THRESHOLD;
        with_reduce!(spec.dtype, reduce, T, f => {
            let u = ud.elements::<T>();
            let out = &mut buffer_elements_mut::<T>(&mut buf)[..spec.size()];
            if split {
                // Threads own disjoint column ranges of the last axis: the destination of
                // every update element at column j has last-axis coordinate j (the other
                // axes' row-major strides are multiples of its length), so no two threads
                // write one element, and each thread applies the indices in order.
                let cols = spec.shape[last];
                let ustep = slice_strides[last];
                let mut rows = Vec::new();
                for_each_row(
                    &slice_shape[..last],
                    [&slice_strides[..last], &out_strides[..last]],
                    [0, 0],
                    |[us, os], [ust, ost], len| {
                        for i in 0..len as isize {
                            rows.push((us + i * ust, os + i * ost));
                        }
                    },
                );
                let n_chunks = (rayon::current_num_threads() * 4).min(cols / 16).max(1);
                let width = cols.div_ceil(n_chunks);
                let len = out.len();
                let ptr = SharedMut(out.as_mut_ptr());
                (0..cols.div_ceil(width)).into_par_iter().for_each(|c| {
                    let (c0, c1) = (c * width, ((c + 1) * width).min(cols));
                    let p = ptr;
                    for (&o, &uo) in offs.iter().zip(&uoffs) {
                        for &(us, os) in &rows {
                            let ob = (o + os) as usize;
                            let ub = uo + us;
                            assert!(ob + c1 <= len);
                            for j in c0..c1 {
                                let x = u[(ub + j as isize * ustep) as usize];
                                // SAFETY: in bounds (checked above); column j belongs to this
                                // thread only (see the comment above).
                                unsafe {
                                    let y = p.0.add(ob + j);
                                    *y = f(*y, x);
                                }
                            }
                        }
                    }
                });
            } else {
                let rows: Vec<(isize, isize, isize, isize, usize)> = {
                    let mut r = Vec::new();
                    for_each_row(slice_shape, [slice_strides, &out_strides], [0, 0], |[us, os], [ust, ost], len| {
                        r.push((us, os, ust, ost, len))
                    });
                    r
                };
                for (&o, &uo) in offs.iter().zip(&uoffs) {
                    for &(us, os, ust, ost, len) in &rows {
                        let (ub, ob) = (uo + us, o + os);
                        if ust == 1 && ost == 1 {
                            let (ub, ob) = (ub as usize, ob as usize);
                            for (y, &x) in out[ob..ob + len].iter_mut().zip(&u[ub..ub + len]) {
                                *y = f(*y, x);
                            }
                        } else {
                            for i in 0..len as isize {
                                let y = &mut out[(ob + i * ost) as usize];
                                *y = f(*y, u[(ub + i * ust) as usize]);
                            }
                        }
                    }
                }
            }
        });
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// Offsets of `base` (shape `shape`, strides `strides` with the stride of `axis` ignored) plus
/// the normalised `idx` (same shape) times `strides[axis]`, in row-major order.
fn along_axis_offsets(
    shape: &[usize],
    strides: &[isize],
    offset: usize,
    axis: usize,
    axis_size: usize,
    idx: &Array,
    op: &str,
) -> Result<Vec<isize>> {
    let mut st = strides.to_vec();
    st[axis] = 0;
    let mut offs = Vec::with_capacity(shape.iter().product());
    for_each_row(shape, [&st], [offset], |[s], [k], len| {
        offs.extend((0..len as isize).map(|i| s + i * k))
    });
    accumulate_offsets(idx, axis_size, strides[axis], &mut offs, op, axis, 1)?;
    Ok(offs)
}

/// `GatherAxis`: `inputs` are the source and the indices, broadcast against each other on
/// every axis but `axis`; the output has the indices' shape.
pub(crate) fn gather_axis(inputs: &[Array], axis: usize, spec: &OutputSpec) -> Result<Data> {
    let op = "take_along_axis";
    check_along_axis(op, inputs[0].shape(), inputs[1].shape(), None, axis)?;
    let (mut buf, _) = Data::alloc(spec)?;
    let total = spec.size();
    if total > 0 {
        let a = &inputs[0];
        let src = a.ready_data()?;
        let offs = along_axis_offsets(
            &spec.shape,
            &src.strides,
            src.offset,
            axis,
            a.shape()[axis],
            &inputs[1],
            "take_along_axis",
        )?;
        by_size!(spec.dtype, T => {
            let s = src.elements::<T>();
            let out = &mut buffer_elements_mut::<T>(&mut buf)[..total];
            let fill = |o: &mut [T], f: &[isize]| {
                for (o, &f) in o.iter_mut().zip(f) {
                    *o = s[f as usize];
                }
            };
            if total >= PARALLEL_THRESHOLD {
                out.par_chunks_mut(1 << 14).zip(offs.par_chunks(1 << 14)).for_each(|(o, f)| fill(o, f));
            } else {
                fill(out, &offs);
            }
        });
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// `ScatterAxis`: `inputs` are the destination, the indices and the values (indices and values
/// of one shape, broadcast against the destination on every axis but `axis`).
pub(crate) fn scatter_axis(
    inputs: &[Array],
    axis: usize,
    reduce: ScatterReduce,
    spec: &OutputSpec,
) -> Result<Data> {
    let (a, idx, vals) = (&inputs[0], &inputs[1], &inputs[2]);
    if idx.size() > 0 {
        let op = "put_along_axis";
        check_along_axis(op, a.shape(), idx.shape(), Some(vals.shape()), axis)?;
    }
    let mut buf = take_or_copy(a, spec)?;
    if idx.size() > 0 {
        let out_strides = row_major_strides(&spec.shape);
        let offs = along_axis_offsets(
            idx.shape(),
            &out_strides,
            0,
            axis,
            spec.shape[axis],
            idx,
            "put_along_axis",
        )?;
        let vd = vals.ready_data()?;
        with_reduce!(spec.dtype, reduce, T, f => {
            let v = vd.elements::<T>();
            let out = &mut buffer_elements_mut::<T>(&mut buf)[..spec.size()];
            let mut k = 0;
            for_each_offset(vals.shape(), &vd.strides, vd.offset, |o| {
                let y = &mut out[offs[k] as usize];
                *y = f(*y, v[o]);
                k += 1;
            });
        });
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// Combines `upd` (laid out for `shape`) into the view of `dst` that starts at `dst_offset`
/// with `dst_strides`.
fn apply_into<T: Element>(
    upd: &Data,
    shape: &[usize],
    dst: &mut [T],
    dst_offset: usize,
    dst_strides: &[isize],
    f: impl Fn(T, T) -> T,
) {
    let u = upd.elements::<T>();
    for_each_row(
        shape,
        [&upd.strides, dst_strides],
        [upd.offset, dst_offset],
        |[s, d], [ts, td], len| {
            for i in 0..len as isize {
                let y = &mut dst[(d + i * td) as usize];
                *y = f(*y, u[(s + i * ts) as usize]);
            }
        },
    );
}

/// `SliceUpdate`: the destination with the slice `start` / `strides` (normalised, the update's
/// shape) combined with the update.
pub(crate) fn slice_update(
    inputs: &[Array],
    start: &[isize],
    strides: &[isize],
    reduce: ScatterReduce,
    spec: &OutputSpec,
) -> Result<Data> {
    let (a, upd) = (&inputs[0], &inputs[1]);
    check_slice_fits(&spec.shape, upd.shape(), start, strides)?;
    let mut buf = take_or_copy(a, spec)?;
    if upd.size() > 0 {
        let out_strides = row_major_strides(&spec.shape);
        let offset: isize = out_strides.iter().zip(start).map(|(&s, &i)| s * i).sum();
        let dst_strides: Vec<isize> = out_strides
            .iter()
            .zip(strides)
            .map(|(&s, &k)| s * k)
            .collect();
        let ud = upd.ready_data()?;
        with_reduce!(spec.dtype, reduce, T, f => {
            let out = buffer_elements_mut::<T>(&mut buf);
            if reduce == ScatterReduce::None {
                copy_into::<T>(&ud, upd.shape(), out, offset as usize, &dst_strides);
            } else {
                apply_into::<T>(&ud, upd.shape(), out, offset as usize, &dst_strides, f);
            }
        });
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// The element offset (for `strides`) of a dynamic slice of `slice_size` starting at the
/// values of `start` along `axes` of `shape`; an error when the slice leaves the array.
fn dynamic_offset(
    start: &Array,
    axes: &[usize],
    shape: &[usize],
    slice_size: &[usize],
    strides: &[isize],
    op: &str,
) -> Result<isize> {
    let d = start.ready_data()?;
    let mut vals: Vec<i128> = Vec::with_capacity(start.size());
    dispatch_int!(start.dtype(), I => {
        let s = d.elements::<I>();
        for_each_offset(start.shape(), &d.strides, d.offset, |o| vals.push(s[o].to_i128()));
    }, _ => return Err(Error::value(format!("[{op}] Start indices must be integers."))));
    let mut off = 0;
    for (&v, &ax) in vals.iter().zip(axes) {
        if v < 0 || v + slice_size[ax] as i128 > shape[ax] as i128 {
            return Err(Error::index(format!(
                "[{op}] Start index {v} with slice size {} is out of bounds for axis {ax} \
                 with size {}.",
                slice_size[ax], shape[ax]
            )));
        }
        off += v as isize * strides[ax];
    }
    Ok(off)
}

/// `DynamicSlice`: the block of `slice_size` at the start given by `inputs[1]` along `axes`.
pub(crate) fn dynamic_slice(
    inputs: &[Array],
    axes: &[usize],
    slice_size: &[usize],
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, strides) = Data::alloc(spec)?;
    if spec.size() > 0 {
        let a = &inputs[0];
        let d = a.ready_data()?;
        let off = dynamic_offset(&inputs[1], axes, a.shape(), slice_size, &d.strides, "slice")?;
        let view = Data::view(
            d.buffer.clone(),
            slice_size,
            (d.offset as isize + off) as usize,
            d.strides.clone(),
        );
        by_size!(spec.dtype, T => copy_into::<T>(&view, slice_size, buffer_elements_mut::<T>(&mut buf), 0, &strides));
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// `DynamicSliceUpdate`: the destination with the update written at the start given by
/// `inputs[2]` along `axes`.
pub(crate) fn dynamic_slice_update(
    inputs: &[Array],
    axes: &[usize],
    spec: &OutputSpec,
) -> Result<Data> {
    let (a, upd) = (&inputs[0], &inputs[1]);
    let mut buf = take_or_copy(a, spec)?;
    if upd.size() > 0 {
        let strides = row_major_strides(&spec.shape);
        let off = dynamic_offset(
            &inputs[2],
            axes,
            &spec.shape,
            upd.shape(),
            &strides,
            "slice_update",
        )?;
        let ud = upd.ready_data()?;
        by_size!(spec.dtype, T => copy_into::<T>(&ud, upd.shape(), buffer_elements_mut::<T>(&mut buf), off as usize, &strides));
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// `MaskedScatter`: the destination (`inputs[0]`, `[B, ...]`) with, in every batch row, the
/// elements where the mask (`inputs[1]`, same shape) is true replaced in row-major order by
/// that row's elements of the source (`inputs[2]`, `[B, ...]`). A row whose mask selects more
/// elements than its source holds is an error, as in MLX.
pub(crate) fn masked_scatter(inputs: &[Array], spec: &OutputSpec) -> Result<Data> {
    let (a, mask, src) = (&inputs[0], &inputs[1], &inputs[2]);
    let mut buf = take_or_copy(a, spec)?;
    if mask.size() == 0 {
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let (md, sd) = (mask.ready_data()?, src.ready_data()?);
    let mut mask_at = Vec::with_capacity(mask.size());
    for_each_offset(mask.shape(), &md.strides, md.offset, |o| mask_at.push(o));
    let mut src_at = Vec::with_capacity(src.size());
    for_each_offset(src.shape(), &sd.strides, sd.offset, |o| src_at.push(o));
    let batch = mask.shape()[0];
    let (per_mask, per_src) = (mask.size() / batch, src.size() / batch);
    let mv = md.elements::<bool>();
    by_size!(spec.dtype, T => {
        let out = buffer_elements_mut::<T>(&mut buf);
        let sv = sd.elements::<T>();
        for b in 0..batch {
            let mut used = 0;
            for i in b * per_mask..(b + 1) * per_mask {
                if mv[mask_at[i]] {
                    if used >= per_src {
                        return Err(Error::runtime(
                            "[MaskedScatter::eval_cpu] Source does not have enough elements for mask.",
                        ));
                    }
                    out[i] = sv[src_at[b * per_src + used]];
                    used += 1;
                }
            }
        }
    });
    Ok(Data::from_buffer(buf, &spec.shape))
}
