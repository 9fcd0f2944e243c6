//! Sorting ops: sort, argsort, partition, argpartition, topk, searchsorted, unique.
//!
//! MLX's order, for every dtype: ascending; NaN after everything else (NaNs tie with each
//! other); `-0.0` ties with `0.0`; complex numbers compare by real part, then imaginary part,
//! with any complex holding a NaN last. `sort` and `argsort` are stable. Indices are `uint32`.
//!
//! The axis argument is one axis (negative counts from the end; MLX's default is `-1`) or
//! `None`, which works on the flattened array. A 0-D array has no axis `-1`: pass `None`.

use crate::array::Array;
use crate::dtype::{Dtype, promote_types};
use crate::error::{Error, Result, fmt_shape};
use crate::primitive::OutputSpec;
use crate::primitives::sort::{ArgPartition, ArgSort, Partition, SearchSorted, Sort, TopK, Unique};
use crate::scalar::{ArrayLike, Operand};

/// The axis of a sorting op: one axis (`0`, `-1`) or `None` for the flattened array.
pub trait SortAxis {
    /// The axis, or `None` to flatten.
    fn axis_or_flat(&self) -> Option<isize>;
}

macro_rules! sort_axis_ints {
    ($($t:ty),*) => {$(
        impl SortAxis for $t {
            fn axis_or_flat(&self) -> Option<isize> {
                Some(*self as isize)
            }
        }
    )*};
}
sort_axis_ints!(i32, i64, isize, usize);

impl SortAxis for Option<isize> {
    fn axis_or_flat(&self) -> Option<isize> {
        *self
    }
}

/// The array to work on, its normalised axis and the axis as the user wrote it (for
/// messages): the flattened array and axis 0 for `None`.
fn lane_input(a: &Array, axis: Option<isize>, op: &str) -> Result<(Array, usize, isize)> {
    match axis {
        None => Ok((super::reshape(a, [-1])?, 0, 0)),
        Some(ax) => {
            let nd = a.ndim() as isize;
            if ax < -nd || ax >= nd {
                return Err(Error::index(format!(
                    "[{op}] Axis {ax} is out of bounds for array with {nd} dimensions."
                )));
            }
            let norm = if ax < 0 { ax + nd } else { ax } as usize;
            Ok((a.clone(), norm, ax))
        }
    }
}

/// An error when a lane is too long for `uint32` indices (MLX's index dtype).
fn check_index_range(n: usize, op: &str) -> Result<()> {
    if n > u32::MAX as usize {
        return Err(Error::value(format!(
            "[{op}] {n} elements along the axis do not fit uint32 indices."
        )));
    }
    Ok(())
}

/// `kth` normalised into `0..n` for `a` along `axis`, or MLX's ValueError.
fn check_kth(a: &Array, kth: isize, axis: usize, written: isize, op: &str) -> Result<usize> {
    let n = a.shape()[axis] as isize;
    if kth < -n || kth >= n {
        return Err(Error::value(format!(
            "[{op}] Received invalid kth {kth} along axis {written} for array with shape: {}",
            fmt_shape(a.shape())
        )));
    }
    Ok(if kth < 0 { kth + n } else { kth } as usize)
}

/// The sorted array along the last axis (`mx.sort`); stable, NaN last.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[3.0, f32::NAN, 1.0], [2.0, 0.0, -1.0]];
/// let s = mx::sort(&a)?.to_vec::<f32>()?;
/// assert_eq!(&s[..2], &[1.0, 3.0]);
/// assert!(s[2].is_nan());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn sort(a: &Array) -> Result<Array> {
    sort_axis(a, -1)
}

/// The sorted array along `axis`, or of the flattened array for `None` (`mx.sort(a, axis)`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[3, 1], [2, 4]];
/// assert_eq!(mx::sort_axis(&a, 0)?.to_vec::<i32>()?, vec![2, 1, 3, 4]);
/// assert_eq!(mx::sort_axis(&a, None)?.to_vec::<i32>()?, vec![1, 2, 3, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn sort_axis(a: &Array, axis: impl SortAxis) -> Result<Array> {
    let (x, axis, _) = lane_input(a, axis.axis_or_flat(), "sort")?;
    Ok(Array::from_op(
        x.shape().to_vec(),
        x.dtype(),
        Sort { axis },
        vec![x],
    ))
}

/// The indices (`uint32`) that sort the last axis (`mx.argsort`); ties keep their order.
///
/// ```
/// use rmlx_core as mx;
/// let i = mx::argsort(&mx::array![3, 1, 2, 1])?;
/// assert_eq!(i.dtype(), mx::uint32);
/// assert_eq!(i.to_vec::<u32>()?, vec![1, 3, 2, 0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn argsort(a: &Array) -> Result<Array> {
    argsort_axis(a, -1)
}

/// The indices that sort along `axis`, or the flattened array for `None`
/// (`mx.argsort(a, axis)`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[3, 1], [2, 4]];
/// assert_eq!(mx::argsort_axis(&a, 0)?.to_vec::<u32>()?, vec![1, 0, 0, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn argsort_axis(a: &Array, axis: impl SortAxis) -> Result<Array> {
    let (x, axis, _) = lane_input(a, axis.axis_or_flat(), "argsort")?;
    check_index_range(x.shape()[axis], "argsort")?;
    Ok(Array::from_op(
        x.shape().to_vec(),
        Dtype::Uint32,
        ArgSort { axis },
        vec![x],
    ))
}

/// A copy partitioned along the last axis around rank `kth` (`mx.partition`): the element at
/// `kth` is the one sorting would put there, the ones before are not larger and the ones after
/// not smaller. The order inside each side is unspecified (as in MLX), but it is the order of
/// [`argpartition`]'s indices: `partition(a) == take_along_axis(a, argpartition(a))` (the
/// gradient rules rely on it). Negative `kth` counts from the end.
///
/// ```
/// use rmlx_core as mx;
/// let p = mx::partition(&mx::array![5, 1, 4, 2, 3], 2)?.to_vec::<i32>()?;
/// assert_eq!(p[2], 3);
/// assert!(p[..2].iter().all(|&v| v <= 3) && p[3..].iter().all(|&v| v >= 3));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn partition(a: &Array, kth: isize) -> Result<Array> {
    partition_axis(a, kth, -1)
}

/// [`partition`] along `axis`, or of the flattened array for `None`.
///
/// ```
/// use rmlx_core as mx;
/// let p = mx::partition_axis(&mx::array![[4, 1], [2, 3], [0, 5]], 0, 0)?;
/// assert_eq!(&p.to_vec::<i32>()?[..2], &[0, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn partition_axis(a: &Array, kth: isize, axis: impl SortAxis) -> Result<Array> {
    let (x, axis, written) = lane_input(a, axis.axis_or_flat(), "partition")?;
    let kth = check_kth(&x, kth, axis, written, "partition")?;
    Ok(Array::from_op(
        x.shape().to_vec(),
        x.dtype(),
        Partition { kth, axis },
        vec![x],
    ))
}

/// The indices (`uint32`) that partition the last axis around rank `kth`
/// (`mx.argpartition`); see [`partition`]. The index at `kth` is the one a stable
/// [`argsort`] puts there.
///
/// ```
/// use rmlx_core as mx;
/// let i = mx::argpartition(&mx::array![5, 1, 4, 2, 3], -1)?.to_vec::<u32>()?;
/// assert_eq!(i[4], 0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn argpartition(a: &Array, kth: isize) -> Result<Array> {
    argpartition_axis(a, kth, -1)
}

/// [`argpartition`] along `axis`, or of the flattened array for `None`.
///
/// ```
/// use rmlx_core as mx;
/// let i = mx::argpartition_axis(&mx::array![[4, 1], [2, 3]], -1, None)?;
/// assert_eq!(i.to_vec::<u32>()?[3], 0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn argpartition_axis(a: &Array, kth: isize, axis: impl SortAxis) -> Result<Array> {
    let (x, axis, written) = lane_input(a, axis.axis_or_flat(), "argpartition")?;
    let kth = check_kth(&x, kth, axis, written, "argpartition")?;
    check_index_range(x.shape()[axis], "argpartition")?;
    Ok(Array::from_op(
        x.shape().to_vec(),
        Dtype::Uint32,
        ArgPartition { kth, axis },
        vec![x],
    ))
}

/// The `k` largest elements along the last axis (`mx.topk`). MLX leaves their order
/// unspecified; rmlx returns them ascending. NaN counts as the largest value.
///
/// ```
/// use rmlx_core as mx;
/// let t = mx::topk(&mx::array![[5, 1, 4], [0, 9, 2]], 2)?;
/// assert_eq!(t.shape(), &[2, 2]);
/// assert_eq!(t.to_vec::<i32>()?, vec![4, 5, 2, 9]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn topk(a: &Array, k: isize) -> Result<Array> {
    topk_axis(a, k, -1)
}

/// [`topk`] along `axis`, or of the flattened array for `None`.
///
/// ```
/// use rmlx_core as mx;
/// let t = mx::topk_axis(&mx::array![[4, 1], [2, 3]], 3, None)?;
/// assert_eq!(t.to_vec::<i32>()?, vec![2, 3, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn topk_axis(a: &Array, k: isize, axis: impl SortAxis) -> Result<Array> {
    let (x, axis, written) = lane_input(a, axis.axis_or_flat(), "topk")?;
    let n = x.shape()[axis];
    if k < 0 || k as usize > n {
        return Err(Error::value(format!(
            "[topk] Received invalid k={k} along axis {written} for array with shape: {}",
            fmt_shape(x.shape())
        )));
    }
    let k = k as usize;
    let mut shape = x.shape().to_vec();
    shape[axis] = k;
    Ok(Array::from_op(shape, x.dtype(), TopK { k, axis }, vec![x]))
}

/// The indices (`uint32`, the shape of `values`) that keep the 1-D `sorted_sequence` sorted
/// when each of `values` is inserted before its equals (`mx.searchsorted`, side `"left"`).
/// Both arrays are promoted to a common dtype first.
///
/// ```
/// use rmlx_core as mx;
/// let s = mx::array![1, 2, 2, 4];
/// let i = mx::searchsorted(&s, &mx::array![0, 2, 3, 5])?;
/// assert_eq!(i.to_vec::<u32>()?, vec![0, 1, 3, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn searchsorted(sorted_sequence: &Array, values: &Array) -> Result<Array> {
    searchsorted_side(sorted_sequence, values, "left")
}

/// [`searchsorted`] with `side`: `"left"` (the count of elements ordered before each value)
/// or `"right"` (the count not ordered after it).
///
/// ```
/// use rmlx_core as mx;
/// let s = mx::array![1, 2, 2, 4];
/// let i = mx::searchsorted_side(&s, &mx::array![0, 2, 3, 5], "right")?;
/// assert_eq!(i.to_vec::<u32>()?, vec![0, 3, 3, 4]);
/// assert!(mx::searchsorted_side(&s, &s, "middle").is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn searchsorted_side(sorted_sequence: &Array, values: &Array, side: &str) -> Result<Array> {
    let right = match side {
        "left" => false,
        "right" => true,
        other => {
            return Err(Error::value(format!(
                "[searchsorted] Invalid side '{other}'. Expected 'left' or 'right'."
            )));
        }
    };
    if sorted_sequence.ndim() != 1 {
        return Err(Error::value(format!(
            "[searchsorted] The sorted sequence must be 1-D but has {} dimensions.",
            sorted_sequence.ndim()
        )));
    }
    let d = promote_types(sorted_sequence.dtype(), values.dtype());
    let s = super::astype(sorted_sequence, d)?;
    let v = super::astype(values, d)?;
    Ok(Array::from_op(
        v.shape().to_vec(),
        Dtype::Uint32,
        SearchSorted { right },
        vec![s, v],
    ))
}

/// The optional outputs and the fill value of [`unique_with`] (`mx.unique`'s keyword
/// arguments).
#[derive(Clone, Debug, Default)]
pub struct UniqueOptions {
    /// Also return the index of each unique value's first occurrence in the flattened array.
    pub return_index: bool,
    /// Also return, in the input's shape, the index of each element's unique value.
    pub return_inverse: bool,
    /// Also return how often each unique value occurs (`int32`).
    pub return_counts: bool,
    /// The value of the entries past the last unique one; `None` repeats the first unique
    /// value. A scalar converts to the array's dtype (an error if an integer does not fit), an
    /// array must have one element.
    pub fill_value: Option<Operand>,
}

impl UniqueOptions {
    /// These options with `fill_value` set.
    ///
    /// ```
    /// use rmlx_core as mx;
    /// let opts = mx::UniqueOptions::default().fill(-1);
    /// assert_eq!(mx::unique_with(&mx::array![3, 3], 2, &opts)?[0].to_vec::<i32>()?, vec![3, -1]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn fill(mut self, value: impl ArrayLike) -> Self {
        self.fill_value = Some(value.into_operand());
        self
    }
}

/// The `size` smallest distinct values of the flattened array, sorted (`mx.unique(a, size)`).
/// Entries past the last unique value repeat the first one; NaNs are all distinct, `-0.0`
/// equals `0.0`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![2, 1, 2, 3, 1];
/// assert_eq!(mx::unique(&a, 3)?.to_vec::<i32>()?, vec![1, 2, 3]);
/// assert_eq!(mx::unique(&a, 5)?.to_vec::<i32>()?, vec![1, 2, 3, 1, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn unique(a: &Array, size: isize) -> Result<Array> {
    let mut out = unique_with(a, size, &UniqueOptions::default())?;
    Ok(out.remove(0))
}

/// [`unique`] with its optional outputs: returns the values, then the index (`uint32`), the
/// inverse (`uint32`, `a`'s shape) and the counts (`int32`) that `options` asks for, in that
/// order. Past the last unique value the index repeats the first one's and the counts are 0; a
/// truncated output clamps the inverse to the last entry.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![2, 1, 2, 3, 1];
/// let opts = mx::UniqueOptions { return_counts: true, ..Default::default() }.fill(0);
/// let out = mx::unique_with(&a, 4, &opts)?;
/// assert_eq!(out[0].to_vec::<i32>()?, vec![1, 2, 3, 0]);
/// assert_eq!(out[1].to_vec::<i32>()?, vec![2, 2, 1, 0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn unique_with(a: &Array, size: isize, options: &UniqueOptions) -> Result<Vec<Array>> {
    if size < 0 {
        return Err(Error::value(format!(
            "[unique] Received negative size {size}."
        )));
    }
    let size = size as usize;
    check_index_range(a.size(), "unique")?;
    let fill = match options.fill_value.clone() {
        None => None,
        Some(Operand::Scalar(s)) => Some(s.to_array(a.dtype())?),
        Some(Operand::Array(f)) => {
            if f.size() != 1 {
                return Err(Error::value(format!(
                    "[unique] Fill value must have one element, but got shape {}.",
                    fmt_shape(f.shape())
                )));
            }
            Some(super::astype(&f, a.dtype())?)
        }
    };
    if fill.is_none() && a.size() == 0 && size > 0 {
        return Err(Error::value(
            "[unique] A fill value is required for an empty input with a non-zero size.",
        ));
    }
    let spec = |shape: &[usize], dtype| OutputSpec {
        shape: shape.to_vec(),
        dtype,
    };
    let mut outputs = vec![spec(&[size], a.dtype())];
    if options.return_index {
        outputs.push(spec(&[size], Dtype::Uint32));
    }
    if options.return_inverse {
        outputs.push(spec(a.shape(), Dtype::Uint32));
    }
    if options.return_counts {
        outputs.push(spec(&[size], Dtype::Int32));
    }
    let p = Unique {
        size,
        index: options.return_index,
        inverse: options.return_inverse,
        counts: options.return_counts,
        has_fill: fill.is_some(),
    };
    let mut inputs = vec![a.clone()];
    inputs.extend(fill);
    if outputs.len() == 1 {
        let o = outputs.remove(0);
        return Ok(vec![Array::from_op(o.shape, o.dtype, p, inputs)]);
    }
    Ok(Array::multi_from_op(outputs, p, inputs))
}
