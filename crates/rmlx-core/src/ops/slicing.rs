//! Basic slicing, always a view: [`slice`] (MLX's C++ static form: a start, stop and stride
//! per axis) and [`AxisSlice`], a Python `start:stop:step` for one axis, with [`slice_axis`].
//!
//! Bounds follow Python: negative indices count from the end, out-of-range bounds are clamped,
//! a negative step walks backwards (the view gets negative strides). NumPy-style indexing
//! (`a[1, ::2, None]`, index arrays) builds on these.

use super::{ShapeArg, normalize_axis};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::primitives::shape::Slice;
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// A view of `a` taking, on each axis `i`, the elements `start[i]`, `start[i] + strides[i]`,
/// ... up to (excluding) `stop[i]`, with Python's rules for negative and out-of-range bounds
/// (MLX's C++ `slice`). No data is copied; a slice that keeps everything returns `a` itself.
///
/// To run to the very start of an axis with a negative stride, give a stop of `-n - 1` (or any
/// smaller value), as `a[::-1]` does.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::arange(0, 12, 1)?.reshape(&[3, 4])?;
/// let b = mx::slice(&a, [1, 0], [3, 4], [1, 2])?; // a[1:3, 0:4:2]
/// assert_eq!(b.to_vec::<i32>()?, vec![4, 6, 8, 10]);
/// let r = mx::slice(&a, [2, 0], [-4, 4], [-2, 1])?; // a[::-2]
/// assert_eq!(r.shape(), &[2, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn slice(
    a: &Array,
    start: impl ShapeArg,
    stop: impl ShapeArg,
    strides: impl ShapeArg,
) -> Result<Array> {
    let (start, stop, strides) = (start.to_dims(), stop.to_dims(), strides.to_dims());
    let nd = a.ndim();
    if start.len() != nd || stop.len() != nd || strides.len() != nd {
        return Err(Error::value(format!(
            "[slice] Invalid number of indices or strides for array with dimension {nd}."
        )));
    }
    let mut out_shape = Vec::with_capacity(nd);
    let mut starts = Vec::with_capacity(nd);
    let mut steps = Vec::with_capacity(nd);
    let mut reversed = false;
    for i in 0..nd {
        let (len, st, k) = normalize_bounds(a.shape()[i], start[i], stop[i], strides[i])?;
        reversed |= k < 0;
        out_shape.push(len);
        starts.push(st);
        steps.push(k);
    }
    if !reversed && out_shape == a.shape() {
        return Ok(a.clone());
    }
    Ok(Array::from_op(
        out_shape,
        a.dtype(),
        Slice {
            start: starts,
            strides: steps,
        },
        vec![a.clone()],
    ))
}

/// One axis of a slice: its length, its first index and its step (1 when it takes at most
/// one element; the first index is 0 when it takes none).
pub(crate) fn normalize_bounds(
    n: usize,
    start: isize,
    stop: isize,
    step: isize,
) -> Result<(usize, isize, isize)> {
    if step == 0 {
        return Err(Error::value("[slice] Slice step cannot be zero."));
    }
    // i128: no bound or step given as an isize can overflow here.
    let (n, k) = (n as i128, step as i128);
    let wrap = |x: isize| if x < 0 { x as i128 + n } else { x as i128 };
    let (s, e) = (wrap(start), wrap(stop));
    let (st, len) = if k < 0 {
        let st = s.min(n - 1);
        let ed = e.max(-1).min(st);
        (st, (st - ed + (-k) - 1) / (-k))
    } else {
        let st = s.clamp(0, n);
        let ed = e.clamp(0, n).max(st);
        (st, (ed - st + k - 1) / k)
    };
    let step = if len == 1 { 1 } else { step };
    let st = if len == 0 { 0 } else { st as isize };
    Ok((len as usize, st, step))
}

/// A Python slice `start:stop:step` for one axis: a missing bound means "from the first
/// element" / "to the last" in the direction of `step` (as in Python, so `AxisSlice::full()
/// .step(-1)` reverses the axis).
///
/// Made from Rust ranges (`1..3`, `2..`, `..-1`, `..`, `0..=2`) or [`AxisSlice::new`], and
/// stepped with [`AxisSlice::step`]: `(1..).step(2)` is Python's `1::2`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AxisSlice {
    /// First index (negative counts from the end); `None`: the start in the step's direction.
    pub start: Option<isize>,
    /// Index to stop before; `None`: run to the end in the step's direction.
    pub stop: Option<isize>,
    /// Step, not zero.
    pub step: isize,
}

impl AxisSlice {
    /// `start:stop:step` (Python's `slice(start, stop, step)`).
    pub fn new(start: Option<isize>, stop: Option<isize>, step: isize) -> AxisSlice {
        AxisSlice { start, stop, step }
    }
    /// The whole axis (`:`).
    pub fn full() -> AxisSlice {
        AxisSlice {
            start: None,
            stop: None,
            step: 1,
        }
    }
    /// The same bounds with another step.
    pub fn step(self, step: isize) -> AxisSlice {
        AxisSlice { step, ..self }
    }
    /// Start, stop and stride for an axis of `n` elements, in the form [`slice`] takes.
    pub fn bounds(&self, n: usize) -> (isize, isize, isize) {
        let n = n as isize;
        let back = self.step < 0;
        let start = self.start.unwrap_or(if back { n - 1 } else { 0 });
        let stop = self.stop.unwrap_or(if back { -n - 1 } else { n });
        (start, stop, self.step)
    }
}

impl Default for AxisSlice {
    /// The whole axis.
    fn default() -> Self {
        AxisSlice::full()
    }
}

impl From<Range<isize>> for AxisSlice {
    fn from(r: Range<isize>) -> Self {
        AxisSlice::new(Some(r.start), Some(r.end), 1)
    }
}
impl From<RangeFrom<isize>> for AxisSlice {
    fn from(r: RangeFrom<isize>) -> Self {
        AxisSlice::new(Some(r.start), None, 1)
    }
}
impl From<RangeTo<isize>> for AxisSlice {
    fn from(r: RangeTo<isize>) -> Self {
        AxisSlice::new(None, Some(r.end), 1)
    }
}
impl From<RangeFull> for AxisSlice {
    fn from(_: RangeFull) -> Self {
        AxisSlice::full()
    }
}
/// `a..=b`: through index `b` (`..=-1` runs to the end).
impl From<RangeInclusive<isize>> for AxisSlice {
    fn from(r: RangeInclusive<isize>) -> Self {
        let end = *r.end();
        AxisSlice::new(
            Some(*r.start()),
            if end == -1 { None } else { end.checked_add(1) },
            1,
        )
    }
}
/// `..=b`: through index `b` (`..=-1` runs to the end).
impl From<RangeToInclusive<isize>> for AxisSlice {
    fn from(r: RangeToInclusive<isize>) -> Self {
        AxisSlice::new(
            None,
            if r.end == -1 {
                None
            } else {
                r.end.checked_add(1)
            },
            1,
        )
    }
}

/// A view of `a` sliced along one axis by a Python-style `start:stop:step`; the other axes are
/// kept whole.
///
/// ```
/// use rmlx_core as mx;
/// use mx::AxisSlice;
/// let a = mx::arange(0, 6, 1)?.reshape(&[2, 3])?;
/// assert_eq!(mx::slice_axis(&a, 1, 1..)?.to_vec::<i32>()?, vec![1, 2, 4, 5]);      // a[:, 1:]
/// assert_eq!(a.slice_axis(-1, AxisSlice::full().step(-2))?.to_vec::<i32>()?, vec![2, 0, 5, 3]); // a[:, ::-2]
/// # Ok::<(), mx::Error>(())
/// ```
pub fn slice_axis(a: &Array, axis: isize, s: impl Into<AxisSlice>) -> Result<Array> {
    let ax = normalize_axis(axis, a.ndim(), "slice")?;
    let s = s.into();
    let mut start = vec![0isize; a.ndim()];
    let mut stop: Vec<isize> = a.shape().iter().map(|&d| d as isize).collect();
    let mut strides = vec![1isize; a.ndim()];
    (start[ax], stop[ax], strides[ax]) = s.bounds(a.shape()[ax]);
    slice(a, start, stop, strides)
}

/// Slicing methods on `Array`.
impl Array {
    /// See [`slice`].
    pub fn slice(
        &self,
        start: impl ShapeArg,
        stop: impl ShapeArg,
        strides: impl ShapeArg,
    ) -> Result<Array> {
        slice(self, start, stop, strides)
    }
    /// See [`slice_axis`].
    pub fn slice_axis(&self, axis: isize, s: impl Into<AxisSlice>) -> Result<Array> {
        slice_axis(self, axis, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate as mx;
    use std::sync::Arc;

    fn same_buffer(a: &Array, b: &Array) -> bool {
        Arc::ptr_eq(&a.data().unwrap().buffer, &b.data().unwrap().buffer)
    }

    #[test]
    fn slices_are_views() {
        let a = mx::arange(0, 24, 1).unwrap().reshape(&[4, 6]).unwrap();
        let b = slice(&a, [3, 1], [-5, 6], [-2, 2]).unwrap();
        assert_eq!(b.to_vec::<i32>().unwrap(), vec![19, 21, 23, 7, 9, 11]);
        assert!(same_buffer(&a, &b));
        let c = b.slice_axis(1, ..=-2).unwrap();
        assert_eq!(c.to_vec::<i32>().unwrap(), vec![19, 21, 7, 9]);
        assert!(same_buffer(&a, &c));
        // Keeping everything returns the array itself.
        assert!(slice(&a, [0, 0], [10, 10], [1, 1]).unwrap().is_same(&a));
    }

    #[test]
    fn python_bounds() {
        // (n, start, stop, step) -> python's len(range(n)[start:stop:step])
        for &(n, s, e, k) in &[
            (5, -10, 10, 1),
            (5, 10, -10, -1),
            (5, 3, 1, 1),
            (0, -1, -1, -1),
            (5, -1, -6, -2),
        ] {
            let want = {
                let idx: Vec<isize> = (0..n).collect();
                let norm = |x: isize, back: bool| {
                    let x = if x < 0 { x + n } else { x };
                    if back {
                        x.clamp(-1, n - 1)
                    } else {
                        x.clamp(0, n)
                    }
                };
                let (s, e) = (norm(s, k < 0), norm(e, k < 0));
                let mut v = vec![];
                let mut i = s;
                while (k > 0 && i < e) || (k < 0 && i > e) {
                    v.push(idx[i as usize]);
                    i += k;
                }
                v
            };
            let (len, _, _) = normalize_bounds(n as usize, s, e, k).unwrap();
            assert_eq!(len, want.len(), "{n} {s}:{e}:{k}");
        }
        assert!(normalize_bounds(3, 0, 3, 0).is_err());
        assert!(normalize_bounds(3, isize::MIN, isize::MAX, isize::MIN).is_ok());
    }
}
