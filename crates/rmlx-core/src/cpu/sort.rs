//! Sorting kernels: sort, argsort, partition, argpartition and topk along one axis, plus
//! searchsorted and unique.
//!
//! MLX's order, for every dtype: ascending; NaN after everything else and equal to other NaNs;
//! `-0.0 == 0.0`; complex numbers lexicographic (real part, then imaginary part), with any
//! complex holding a NaN last. Sorts are stable, so ties keep their input order.
//!
//! Each lane (the elements along the axis at one position of the other axes) is copied into a
//! contiguous scratch row, worked on there, and written to a contiguous lane of the output: the
//! output buffer keeps the sorted axis innermost and its strides present it in the input's shape.
//! Lanes run on both cores when the work is large; a single large lane is sorted in parallel.

use super::PARALLEL_THRESHOLD;
use crate::array::{Array, Data, buffer_elements_mut};
use crate::element::{C64, Element};
use crate::error::Result;
use crate::layout::{for_each_offset, for_each_row};
use crate::primitive::OutputSpec;
use half::{bf16, f16};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::sync::Arc;

/// An element type with MLX's sort order.
pub(crate) trait SortKey: Element {
    /// MLX's order of `self` and `other` (see the module documentation).
    fn order(&self, other: &Self) -> Ordering;
}

macro_rules! ord_key {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            #[inline(always)]
            fn order(&self, other: &Self) -> Ordering {
                self.cmp(other)
            }
        }
    )*};
}
ord_key!(bool, u8, u16, u32, u64, i8, i16, i32, i64);

/// NaN last and equal to NaN; otherwise `cmp` (which only fails for NaN).
#[inline(always)]
fn nan_last(a_nan: bool, b_nan: bool, cmp: impl FnOnce() -> Option<Ordering>) -> Ordering {
    match (a_nan, b_nan) {
        (false, false) => cmp().unwrap_or(Ordering::Equal),
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
    }
}

macro_rules! float_key {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            #[inline(always)]
            fn order(&self, other: &Self) -> Ordering {
                nan_last(self.is_nan(), other.is_nan(), || self.partial_cmp(other))
            }
        }
    )*};
}
float_key!(f16, bf16, f32, f64);

impl SortKey for C64 {
    #[inline(always)]
    fn order(&self, other: &Self) -> Ordering {
        let nan = |c: &C64| c.re.is_nan() || c.im.is_nan();
        nan_last(nan(self), nan(other), || {
            Some(
                self.re
                    .partial_cmp(&other.re)?
                    .then(self.im.partial_cmp(&other.im)?),
            )
        })
    }
}

/// Lane operations whose output holds values.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ValueOp {
    /// The lane sorted.
    Sort,
    /// The element of rank `k` at index `k`, smaller or equal ones before, larger after.
    Partition(usize),
    /// The `k` largest elements, ascending.
    TopK(usize),
}

/// Lane operations whose output holds `uint32` indices into the lane.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum IndexOp {
    /// The stable sorting permutation.
    Sort,
    /// A permutation that partitions the lane around rank `k`.
    Partition(usize),
}

/// One lane of the input: elements `src[start + i * step]` for `i < n`.
#[derive(Copy, Clone)]
struct Lane<'a, T> {
    src: &'a [T],
    start: isize,
    step: isize,
    n: usize,
}

impl<T: Copy> Lane<'_, T> {
    #[inline(always)]
    fn get(&self, i: usize) -> T {
        self.src[(self.start + i as isize * self.step) as usize]
    }
}

/// Strides of an output of `shape` whose buffer keeps `axis` innermost (each lane contiguous)
/// and the other axes in row-major order outside it.
fn lane_major_strides(shape: &[usize], axis: usize) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    strides[axis] = 1;
    let mut acc = shape[axis].max(1) as isize;
    for d in (0..shape.len()).rev() {
        if d != axis {
            strides[d] = acc;
            acc *= shape[d].max(1) as isize;
        }
    }
    strides
}

/// Runs `work(lane, out_lane, scratch, parallel_inside)` for every lane of `x` along `axis`;
/// `spec` is the output (the input's shape but for the length of `axis`).
fn drive<T: Element, U: Element, S: Default + Send>(
    x: &Array,
    axis: usize,
    spec: &OutputSpec,
    work: impl Fn(Lane<'_, T>, &mut [U], &mut S, bool) + Sync + Send,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let strides = lane_major_strides(&spec.shape, axis);
    let total = spec.size();
    if total > 0 {
        let xd = x.ready_data()?;
        let n = x.shape()[axis];
        let m = spec.shape[axis];
        let mut outer_shape = x.shape().to_vec();
        outer_shape.remove(axis);
        let mut outer_strides = xd.strides.clone();
        let step = outer_strides.remove(axis);
        let mut starts = Vec::with_capacity(total / m);
        for_each_row(
            &outer_shape,
            [&outer_strides],
            [xd.offset],
            |[s], [st], len| starts.extend((0..len).map(|i| s + i as isize * st)),
        );
        let src = xd.elements::<T>();
        let lane = |start: isize| Lane {
            src,
            start,
            step,
            n,
        };
        let out = &mut buffer_elements_mut::<U>(&mut buf)[..total];
        let work_size = n.saturating_mul(starts.len()).max(total);
        if work_size < PARALLEL_THRESHOLD {
            let mut scratch = S::default();
            for (o, &s) in out.chunks_mut(m).zip(&starts) {
                work(lane(s), o, &mut scratch, false);
            }
        } else if starts.len() >= 2 * rayon::current_num_threads() {
            out.par_chunks_mut(m)
                .zip(starts.par_iter())
                .for_each_init(S::default, |scratch, (o, &s)| {
                    work(lane(s), o, scratch, false)
                });
        } else {
            // Few large lanes: parallelism inside each lane instead.
            let mut scratch = S::default();
            for (o, &s) in out.chunks_mut(m).zip(&starts) {
                work(lane(s), o, &mut scratch, true);
            }
        }
    }
    Ok(Data::view(Arc::new(buf), &spec.shape, 0, strides))
}

/// A value-producing lane operation along `axis` of `x`.
pub(crate) fn values_along_axis(
    x: &Array,
    axis: usize,
    op: ValueOp,
    spec: &OutputSpec,
) -> Result<Data> {
    crate::dispatch_dtype!(x.dtype(), T => drive::<T, T, Vec<T>>(x, axis, spec, |lane, out, row, par| {
        value_lane(op, lane, out, row, par)
    }))
}

fn value_lane<T: SortKey>(
    op: ValueOp,
    lane: Lane<'_, T>,
    out: &mut [T],
    row: &mut Vec<T>,
    par: bool,
) {
    row.clear();
    row.extend((0..lane.n).map(|i| lane.get(i)));
    let cmp = |a: &T, b: &T| a.order(b);
    match op {
        ValueOp::Sort => {
            if par {
                row.par_sort_by(cmp);
            } else {
                row.sort_by(cmp);
            }
            out.copy_from_slice(row);
        }
        ValueOp::Partition(k) => {
            // The same selection as argpartition's (ties broken by index), so that the values
            // land where argpartition's indices say: the transform rules rely on it.
            let mut pairs: Vec<(T, u32)> = row
                .iter()
                .enumerate()
                .map(|(i, &v)| (v, i as u32))
                .collect();
            pairs.select_nth_unstable_by(k, |a, b| a.0.order(&b.0).then(a.1.cmp(&b.1)));
            for (o, p) in out.iter_mut().zip(&pairs) {
                *o = p.0;
            }
        }
        ValueOp::TopK(k) => {
            // The op checked 0 < k <= n (k == 0 leaves no lane to run).
            let n = row.len();
            row.select_nth_unstable_by(n - k, cmp);
            let top = &mut row[n - k..];
            top.sort_by(cmp);
            out.copy_from_slice(top);
        }
    }
}

/// An index-producing lane operation along `axis` of `x` (`uint32` output).
pub(crate) fn indices_along_axis(
    x: &Array,
    axis: usize,
    op: IndexOp,
    spec: &OutputSpec,
) -> Result<Data> {
    crate::dispatch_dtype!(x.dtype(), T => drive::<T, u32, Vec<(T, u32)>>(x, axis, spec, |lane, out, pairs, par| {
        index_lane(op, lane, out, pairs, par)
    }))
}

fn index_lane<T: SortKey>(
    op: IndexOp,
    lane: Lane<'_, T>,
    out: &mut [u32],
    pairs: &mut Vec<(T, u32)>,
    par: bool,
) {
    pairs.clear();
    pairs.extend((0..lane.n).map(|i| (lane.get(i), i as u32)));
    match op {
        IndexOp::Sort => {
            // Stable: ties keep their input order.
            let cmp = |a: &(T, u32), b: &(T, u32)| a.0.order(&b.0);
            if par {
                pairs.par_sort_by(cmp);
            } else {
                pairs.sort_by(cmp);
            }
        }
        IndexOp::Partition(k) => {
            // Ties broken by index, so the index at `k` is the one a stable argsort puts there.
            pairs.select_nth_unstable_by(k, |a, b| a.0.order(&b.0).then(a.1.cmp(&b.1)));
        }
    }
    for (o, p) in out.iter_mut().zip(pairs.iter()) {
        *o = p.1;
    }
}

/// The elements of an evaluated array in row-major order.
fn gather<T: Element>(x: &Array) -> Result<Vec<T>> {
    let d = x.ready_data()?;
    let src = d.elements::<T>();
    let mut v = Vec::with_capacity(x.size());
    for_each_offset(x.shape(), &d.strides, d.offset, |o| v.push(src[o]));
    Ok(v)
}

/// For each of `values`, the insertion index into the sorted 1-D `seq` (same dtype): the count
/// of elements ordered before it (`right == false`) or not after it (`right == true`).
pub(crate) fn searchsorted(
    seq: &Array,
    values: &Array,
    right: bool,
    spec: &OutputSpec,
) -> Result<Data> {
    crate::dispatch_dtype!(seq.dtype(), T => {
        let s = gather::<T>(seq)?;
        super::elementwise::unary::<T, u32>(values, spec, move |v| {
            let i = if right {
                s.partition_point(|e| e.order(&v) != Ordering::Greater)
            } else {
                s.partition_point(|e| e.order(&v) == Ordering::Less)
            };
            i as u32
        })
    })
}

/// Which of `unique`'s optional outputs to produce (after the values, in this order).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct UniqueWants {
    pub(crate) index: bool,
    pub(crate) inverse: bool,
    pub(crate) counts: bool,
}

/// `unique` of the flattened `x`: the first `size` distinct values in sorted order (NaNs are
/// all distinct, `-0.0 == 0.0`), padded with `fill` (or the first unique value); then, as
/// wanted, the index of each one's first occurrence (padding: the first one's), the inverse
/// (clamped to `size - 1`, or 0 when `size == 0`) in `x`'s shape, and the counts (`int32`,
/// padding 0).
pub(crate) fn unique(
    x: &Array,
    fill: Option<&Array>,
    size: usize,
    wants: UniqueWants,
) -> Result<Vec<Data>> {
    crate::dispatch_dtype!(x.dtype(), T => unique_typed::<T>(x, fill, size, wants))
}

fn unique_typed<T: SortKey>(
    x: &Array,
    fill: Option<&Array>,
    size: usize,
    wants: UniqueWants,
) -> Result<Vec<Data>> {
    let vals = gather::<T>(x)?;
    let n = vals.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    let cmp = |i: &u32, j: &u32| vals[*i as usize].order(&vals[*j as usize]);
    if n >= PARALLEL_THRESHOLD {
        order.par_sort_by(cmp);
    } else {
        order.sort_by(cmp);
    }
    // Positions in `order` where a run of equal values starts.
    let mut starts: Vec<usize> = Vec::new();
    let mut inverse: Vec<u32> = if wants.inverse {
        vec![0; n]
    } else {
        Vec::new()
    };
    let last = size.saturating_sub(1) as u32;
    for (p, &i) in order.iter().enumerate() {
        if p == 0 || vals[order[p - 1] as usize] != vals[i as usize] {
            starts.push(p);
        }
        if wants.inverse {
            inverse[i as usize] = ((starts.len() - 1) as u32).min(last);
        }
    }
    let groups = starts.len();
    let first_index = order.first().copied().unwrap_or(0);
    let pad = match fill {
        Some(f) => gather::<T>(f)?[0],
        None => vals.get(first_index as usize).copied().unwrap_or_default(),
    };
    let values: Vec<T> = (0..size)
        .map(|g| {
            if g < groups {
                vals[order[starts[g]] as usize]
            } else {
                pad
            }
        })
        .collect();
    let mut out = vec![Data::from_slice(&values, &[size])?];
    if wants.index {
        let index: Vec<u32> = (0..size)
            .map(|g| {
                if g < groups {
                    order[starts[g]]
                } else {
                    first_index
                }
            })
            .collect();
        out.push(Data::from_slice(&index, &[size])?);
    }
    if wants.inverse {
        out.push(Data::from_slice(&inverse, x.shape())?);
    }
    if wants.counts {
        let counts: Vec<i32> = (0..size)
            .map(|g| {
                if g < groups {
                    let end = starts.get(g + 1).copied().unwrap_or(n);
                    (end - starts[g]) as i32
                } else {
                    0
                }
            })
            .collect();
        out.push(Data::from_slice(&counts, &[size])?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn order_puts_nan_last() {
        let mut v = [f32::NAN, 1.0, -0.0, 0.0, f32::NEG_INFINITY];
        v.sort_by(|a, b| a.order(b));
        assert_eq!(v[0], f32::NEG_INFINITY);
        assert!(v[1] == 0.0 && v[1].is_sign_negative() && v[2].is_sign_positive());
        assert!(v[4].is_nan());
        let a = C64::new(1.0, f32::NAN);
        assert_eq!(a.order(&C64::new(5.0, 0.0)), Ordering::Greater);
        assert_eq!(
            C64::new(1.0, 2.0).order(&C64::new(1.0, 3.0)),
            Ordering::Less
        );
    }
    #[test]
    fn lane_major_layout() {
        assert_eq!(lane_major_strides(&[2, 3, 4], 1), vec![12, 1, 3]);
        assert_eq!(lane_major_strides(&[2, 3], 1), vec![3, 1]);
        assert_eq!(lane_major_strides(&[2, 0], 0), vec![1, 2]);
    }
}
