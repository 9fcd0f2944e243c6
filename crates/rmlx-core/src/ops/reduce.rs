//! Reductions: sum, prod, mean, var, std, max, min, all, any, argmax, argmin, logsumexp,
//! count_nonzero, median, softmax, and the comparisons isclose, allclose, array_equal.
//!
//! Every reduction has a short form over all axes (`sum(&a)`) and an `_axes` form taking one
//! axis or a list (negative allowed; a repeat is a `ValueError`, an axis out of range an
//! `IndexError`, as in MLX) and `keepdims`. Result dtypes follow MLX: sums and products of
//! bool and small signed integers are int32, of small unsigned integers uint32; float16 and
//! bfloat16 accumulate in float32 and round once; mean/var/std/logsumexp/median/softmax are
//! at least float32; argmax/argmin give uint32.

use super::unary::at_least_float;
use super::{Axes, normalize_axes, normalize_axis};
use crate::array::Array;
use crate::dtype::{Dtype, promote_types};
use crate::error::{Error, Result};
use crate::primitive::Primitive;
use crate::primitives::reduce::*;
use crate::scalar::{ArrayLike, Scalar};

/// The axes to reduce: all when `axes` is `None`, else normalised and checked.
fn reduce_axes(a: &Array, axes: Option<Vec<isize>>, op: &str) -> Result<Vec<usize>> {
    match axes {
        None => Ok((0..a.ndim()).collect()),
        Some(ax) => normalize_axes(&ax, a.ndim(), op),
    }
}

/// The shape after reducing `axes`: removed, or kept as 1.
fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// Number of elements over `axes`.
fn count(shape: &[usize], axes: &[usize]) -> usize {
    axes.iter().map(|&a| shape[a]).product()
}

/// Builds a reduction node over `axes`.
fn reduce_node(
    x: &Array,
    dtype: Dtype,
    axes: &[usize],
    keepdims: bool,
    p: impl Primitive,
) -> Array {
    Array::from_op(
        reduced_shape(x.shape(), axes, keepdims),
        dtype,
        p,
        vec![x.clone()],
    )
}

/// The dtype of a sum or product: int32 for bool and small signed integers, uint32 for small
/// unsigned integers, the input's otherwise.
fn accumulate_dtype(d: Dtype) -> Dtype {
    use Dtype::*;
    match d {
        Bool | Int8 | Int16 | Int32 => Int32,
        Uint8 | Uint16 | Uint32 => Uint32,
        d => d,
    }
}

/// Sum or product: cast to the accumulation dtype (float32 for half precision), reduce, cast
/// back once.
fn sum_like(a: &Array, axes: Vec<usize>, keepdims: bool, prod: bool) -> Result<Array> {
    if axes.is_empty() {
        // MLX returns the input itself (dtype unchanged) when there is nothing to reduce.
        return Ok(a.clone());
    }
    let out = accumulate_dtype(a.dtype());
    let work = if matches!(out, Dtype::Float16 | Dtype::Bfloat16) {
        Dtype::Float32
    } else {
        out
    };
    let x = super::astype(a, work)?;
    let r = if prod {
        reduce_node(&x, work, &axes, keepdims, Prod { axes: axes.clone() })
    } else {
        reduce_node(&x, work, &axes, keepdims, Sum { axes: axes.clone() })
    };
    super::astype(&r, out)
}

fn arr(a: impl ArrayLike) -> Result<Array> {
    a.into_operand().into_array()
}

/// Sum of all elements (`mx.sum`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::sum(&mx::array![[1, 2], [3, 4]])?.item::<i32>()?, 10);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn sum(a: impl ArrayLike) -> Result<Array> {
    let a = arr(a)?;
    let axes = reduce_axes(&a, None, "sum")?;
    sum_like(&a, axes, false, false)
}

/// Sum over `axes` (`mx.sum(a, axis, keepdims)`).
///
/// ```
/// use rmlx_core as mx;
/// let s = mx::sum_axes(&mx::array![[1, 2], [3, 4]], 0, false)?;
/// assert_eq!(s.to_vec::<i32>()?, vec![4, 6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn sum_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<Array> {
    let a = arr(a)?;
    let axes = reduce_axes(&a, Some(axes.to_axes()), "sum")?;
    sum_like(&a, axes, keepdims, false)
}

/// Product of all elements (`mx.prod`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::prod(&mx::array![2, 3, 4])?.item::<i32>()?, 24);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn prod(a: impl ArrayLike) -> Result<Array> {
    let a = arr(a)?;
    let axes = reduce_axes(&a, None, "prod")?;
    sum_like(&a, axes, false, true)
}

/// Product over `axes` (`mx.prod(a, axis, keepdims)`).
pub fn prod_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<Array> {
    let a = arr(a)?;
    let axes = reduce_axes(&a, Some(axes.to_axes()), "prod")?;
    sum_like(&a, axes, keepdims, true)
}

fn max_min(a: &Array, axes: Option<Vec<isize>>, keepdims: bool, is_max: bool) -> Result<Array> {
    let op = if is_max { "max" } else { "min" };
    let axes = reduce_axes(a, axes, op)?;
    if let Some(&ax) = axes.iter().find(|&&ax| a.shape()[ax] == 0) {
        return Err(Error::value(format!(
            "[{op}] Cannot {op} reduce over axis {ax} with size 0."
        )));
    }
    Ok(if is_max {
        reduce_node(a, a.dtype(), &axes, keepdims, Max { axes: axes.clone() })
    } else {
        reduce_node(a, a.dtype(), &axes, keepdims, Min { axes: axes.clone() })
    })
}

/// Largest element (`mx.max`); NaN if any element is NaN; an error for an empty array.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::max(&mx::array![3, 7, 5])?.item::<i32>()?, 7);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn max(a: impl ArrayLike) -> Result<Array> {
    max_min(&arr(a)?, None, false, true)
}

/// Largest element over `axes` (`mx.max(a, axis, keepdims)`).
pub fn max_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<Array> {
    max_min(&arr(a)?, Some(axes.to_axes()), keepdims, true)
}

/// Smallest element (`mx.min`); NaN if any element is NaN; an error for an empty array.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::min(&mx::array![3.0, -1.0])?.item::<f32>()?, -1.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn min(a: impl ArrayLike) -> Result<Array> {
    max_min(&arr(a)?, None, false, false)
}

/// Smallest element over `axes` (`mx.min(a, axis, keepdims)`).
pub fn min_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<Array> {
    max_min(&arr(a)?, Some(axes.to_axes()), keepdims, false)
}

/// The smallest and largest elements (`mx.minmax`), in that order; the same as [`min`] and
/// [`max`] called separately.
///
/// ```
/// use rmlx_core as mx;
/// let (lo, hi) = mx::minmax(&mx::array![3, -1, 7])?;
/// assert_eq!((lo.item::<i32>()?, hi.item::<i32>()?), (-1, 7));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn minmax(a: impl ArrayLike) -> Result<(Array, Array)> {
    let a = arr(a)?;
    Ok((min(&a)?, max(&a)?))
}

/// [`minmax`] over `axes` (`mx.minmax(a, axis, keepdims)`).
pub fn minmax_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<(Array, Array)> {
    let (a, axes) = (arr(a)?, axes.to_axes());
    Ok((
        min_axes(&a, &axes[..], keepdims)?,
        max_axes(&a, &axes[..], keepdims)?,
    ))
}

fn all_any(a: &Array, axes: Option<Vec<isize>>, keepdims: bool, is_all: bool) -> Result<Array> {
    let axes = reduce_axes(a, axes, if is_all { "all" } else { "any" })?;
    let x = super::astype(a, Dtype::Bool)?;
    Ok(if is_all {
        reduce_node(&x, Dtype::Bool, &axes, keepdims, All { axes: axes.clone() })
    } else {
        reduce_node(&x, Dtype::Bool, &axes, keepdims, Any { axes: axes.clone() })
    })
}

/// Whether every element is nonzero (`mx.all`); true for an empty array.
///
/// ```
/// use rmlx_core as mx;
/// assert!(!mx::all(&mx::array![1, 0])?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn all(a: impl ArrayLike) -> Result<Array> {
    all_any(&arr(a)?, None, false, true)
}

/// `all` over `axes` (`mx.all(a, axis, keepdims)`).
pub fn all_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<Array> {
    all_any(&arr(a)?, Some(axes.to_axes()), keepdims, true)
}

/// Whether any element is nonzero (`mx.any`); false for an empty array.
///
/// ```
/// use rmlx_core as mx;
/// assert!(mx::any(&mx::array![0, 2])?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn any(a: impl ArrayLike) -> Result<Array> {
    all_any(&arr(a)?, None, false, false)
}

/// `any` over `axes` (`mx.any(a, axis, keepdims)`).
pub fn any_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<Array> {
    all_any(&arr(a)?, Some(axes.to_axes()), keepdims, false)
}

fn mean_impl(a: &Array, axes: Option<Vec<isize>>, keepdims: bool) -> Result<Array> {
    let axes = reduce_axes(a, axes, "mean")?;
    let dtype = at_least_float(a.dtype());
    // The divisor is a node of its own (as in MLX), worked out from the input's shape when the
    // graph runs: a shapeless compile divides by the new count. 1/0 = inf makes the mean of
    // nothing NaN, as in MLX.
    let normalizer = number_of_elements(a, axes.clone(), true, dtype)?;
    let s = sum_like(a, axes, keepdims, false)?;
    super::multiply(&s, &normalizer)
}

/// The number of elements of `a` over `axes` (its inverse when `inverted`) as a scalar of
/// `dtype`, computed when the graph runs (MLX's `number_of_elements`).
pub(crate) fn number_of_elements(
    a: &Array,
    axes: Vec<usize>,
    inverted: bool,
    dtype: Dtype,
) -> Result<Array> {
    Ok(Array::from_op(
        vec![],
        dtype,
        crate::primitives::reduce::NumberOfElements {
            axes,
            inverted,
            dtype,
        },
        vec![a.clone()],
    ))
}

/// Mean of all elements (`mx.mean`); float32 for integer inputs.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::mean(&mx::array![1, 2, 3, 4])?.item::<f32>()?, 2.5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn mean(a: impl ArrayLike) -> Result<Array> {
    mean_impl(&arr(a)?, None, false)
}

/// Mean over `axes` (`mx.mean(a, axis, keepdims)`).
pub fn mean_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<Array> {
    mean_impl(&arr(a)?, Some(axes.to_axes()), keepdims)
}

fn var_impl(a: &Array, axes: Option<Vec<isize>>, keepdims: bool, ddof: i64) -> Result<Array> {
    let axes = reduce_axes(a, axes, "var")?;
    let n = count(a.shape(), &axes) as i64;
    let x = super::astype(a, at_least_float(a.dtype()))?;
    let all: Vec<isize> = axes.iter().map(|&v| v as isize).collect();
    let mu = mean_impl(&x, Some(all.clone()), true)?;
    let mut d = super::subtract(&x, &mu)?;
    if d.dtype().is_complex() {
        d = super::abs(&d)?;
    }
    let sq = super::multiply(&d, &d)?;
    let s = sum_like(&sq, axes, keepdims, false)?;
    super::divide(&s, Scalar::Float((n - ddof).max(0) as f64))
}

/// Variance of all elements (`mx.var`, `ddof = 0`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::var(&mx::array![1.0, 3.0])?.item::<f32>()?, 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn var(a: impl ArrayLike) -> Result<Array> {
    var_impl(&arr(a)?, None, false, 0)
}

/// Variance over `axes`, dividing by `n - ddof` (`mx.var(a, axis, keepdims, ddof)`); `ddof >= n`
/// gives inf (or NaN when the squared deviations are all 0).
pub fn var_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool, ddof: i64) -> Result<Array> {
    var_impl(&arr(a)?, Some(axes.to_axes()), keepdims, ddof)
}

/// Standard deviation of all elements (`mx.std`, `ddof = 0`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::std(&mx::array![1.0, 3.0])?.item::<f32>()?, 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn std(a: impl ArrayLike) -> Result<Array> {
    super::sqrt(var_impl(&arr(a)?, None, false, 0)?)
}

/// Standard deviation over `axes` (`mx.std(a, axis, keepdims, ddof)`).
pub fn std_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool, ddof: i64) -> Result<Array> {
    super::sqrt(var_impl(&arr(a)?, Some(axes.to_axes()), keepdims, ddof)?)
}

fn arg_impl(a: &Array, axis: Option<isize>, keepdims: bool, is_max: bool) -> Result<Array> {
    let op = if is_max { "argmax" } else { "argmin" };
    let (x, ax, shape) = match axis {
        None => {
            let shape = if keepdims { vec![1; a.ndim()] } else { vec![] };
            (super::reshape(a, [a.size()])?, 0, shape)
        }
        Some(ax) => {
            let ax = normalize_axis(ax, a.ndim(), op)?;
            (a.clone(), ax, reduced_shape(a.shape(), &[ax], keepdims))
        }
    };
    if a.size() == 0 {
        return Err(Error::value(format!(
            "[{op}] Cannot {op} reduce zero size array."
        )));
    }
    Ok(if is_max {
        Array::from_op(shape, Dtype::Uint32, ArgMax { axis: ax }, vec![x])
    } else {
        Array::from_op(shape, Dtype::Uint32, ArgMin { axis: ax }, vec![x])
    })
}

/// Index of the largest element of the flattened array (`mx.argmax`), as uint32. Ties give the
/// first index; a NaN counts as the largest (the first NaN wins).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::argmax(&mx::array![1, 9, 9])?.item::<u32>()?, 1);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn argmax(a: impl ArrayLike) -> Result<Array> {
    arg_impl(&arr(a)?, None, false, true)
}

/// `argmax` along `axis` (`mx.argmax(a, axis, keepdims)`).
///
/// ```
/// use rmlx_core as mx;
/// let i = mx::argmax_axis(&mx::array![[1, 5], [4, 2]], -1, false)?;
/// assert_eq!(i.to_vec::<u32>()?, vec![1, 0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn argmax_axis(a: impl ArrayLike, axis: isize, keepdims: bool) -> Result<Array> {
    arg_impl(&arr(a)?, Some(axis), keepdims, true)
}

/// `argmax` with MLX's full signature: `axis` `None` flattens (keepdims then gives all ones).
pub fn argmax_opts(a: impl ArrayLike, axis: Option<isize>, keepdims: bool) -> Result<Array> {
    arg_impl(&arr(a)?, axis, keepdims, true)
}

/// Index of the smallest element of the flattened array (`mx.argmin`), as uint32.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::argmin(&mx::array![3, 1, 1])?.item::<u32>()?, 1);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn argmin(a: impl ArrayLike) -> Result<Array> {
    arg_impl(&arr(a)?, None, false, false)
}

/// `argmin` along `axis` (`mx.argmin(a, axis, keepdims)`).
pub fn argmin_axis(a: impl ArrayLike, axis: isize, keepdims: bool) -> Result<Array> {
    arg_impl(&arr(a)?, Some(axis), keepdims, false)
}

/// `argmin` with MLX's full signature: `axis` `None` flattens.
pub fn argmin_opts(a: impl ArrayLike, axis: Option<isize>, keepdims: bool) -> Result<Array> {
    arg_impl(&arr(a)?, axis, keepdims, false)
}

/// `x` with the `axes` moved last and flattened into one: `(rows, n)`, plus the permutation.
fn to_rows(x: &Array, axes: &[usize]) -> Result<(Array, Vec<usize>)> {
    let mut perm: Vec<usize> = (0..x.ndim()).filter(|i| !axes.contains(i)).collect();
    perm.extend_from_slice(axes);
    let t = super::transpose(x, Some(perm.clone()))?;
    let n = count(x.shape(), axes);
    let rows = count(x.shape(), &perm[..perm.len() - axes.len()]);
    Ok((super::reshape(&t, [rows, n])?, perm))
}

/// Whether MLX takes its fused path for `axes`: one axis, the last.
fn last_axis_only(a: &Array, axes: &[usize]) -> bool {
    axes.len() == 1 && axes[0] + 1 == a.ndim()
}

fn logsumexp_impl(a: &Array, axes: Option<Vec<isize>>, keepdims: bool) -> Result<Array> {
    if a.ndim() == 0 && axes.as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(Error::value(
            "[logsumexp] Received non-empty axes for array with 0 dimensions.",
        ));
    }
    let axes = reduce_axes(a, axes, "logsumexp")?;
    if a.size() == 0 {
        return Err(Error::value("[logsumexp] Received empty array."));
    }
    let d = at_least_float(a.dtype());
    let out_shape = reduced_shape(a.shape(), &axes, keepdims);
    if !a.dtype().is_inexact() && !last_axis_only(a, &axes) {
        // MLX's general path subtracts the maximum in the input's dtype (integers wrap, bools
        // subtract as xor) before exponentiating without a further shift; reproduced here.
        let m = max_min(
            a,
            Some(axes.iter().map(|&v| v as isize).collect()),
            true,
            true,
        )?;
        let diff = if a.dtype() == Dtype::Bool {
            let i = Dtype::Int32;
            super::abs(super::subtract(
                &super::astype(a, i)?,
                &super::astype(&m, i)?,
            )?)?
        } else {
            super::subtract(a, &m)?
        };
        let (rows, _) = to_rows(&super::astype(&diff, d)?, &axes)?;
        let r = Array::from_op(
            vec![rows.shape()[0]],
            d,
            LogSumExp { shift: false },
            vec![rows],
        );
        let r = super::reshape(&r, &out_shape)?;
        return super::add(&r, &super::reshape(&super::astype(&m, d)?, &out_shape)?);
    }
    let x = super::astype(a, d)?;
    let (rows, _) = to_rows(&x, &axes)?;
    let r = Array::from_op(
        vec![rows.shape()[0]],
        d,
        LogSumExp { shift: true },
        vec![rows],
    );
    super::reshape(&r, out_shape)
}

/// `log(sum(exp(a)))` over all elements, computed stably (`mx.logsumexp`).
///
/// ```
/// use rmlx_core as mx;
/// let v = mx::logsumexp(&mx::array![0.0, 0.0])?.item::<f32>()?;
/// assert!((v - 2f32.ln()).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn logsumexp(a: impl ArrayLike) -> Result<Array> {
    logsumexp_impl(&arr(a)?, None, false)
}

/// `logsumexp` over `axes` (`mx.logsumexp(a, axis, keepdims)`).
pub fn logsumexp_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<Array> {
    logsumexp_impl(&arr(a)?, Some(axes.to_axes()), keepdims)
}

fn count_nonzero_impl(a: &Array, axes: Option<Vec<isize>>, keepdims: bool) -> Result<Array> {
    let axes = reduce_axes(a, axes, "count_nonzero")?;
    let s = sum_like(&super::astype(a, Dtype::Bool)?, axes, keepdims, false)?;
    super::astype(&s, Dtype::Int32)
}

/// Number of nonzero elements (`mx.count_nonzero`), as int32; NaN counts as nonzero.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::count_nonzero(&mx::array![0, 3, 0, 1])?.item::<i32>()?, 2);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn count_nonzero(a: impl ArrayLike) -> Result<Array> {
    count_nonzero_impl(&arr(a)?, None, false)
}

/// `count_nonzero` over `axes` (`mx.count_nonzero(a, axis, keepdims)`).
pub fn count_nonzero_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<Array> {
    count_nonzero_impl(&arr(a)?, Some(axes.to_axes()), keepdims)
}

fn median_impl(a: &Array, axes: Option<Vec<isize>>, keepdims: bool) -> Result<Array> {
    if a.ndim() > 0 && axes.as_ref().is_some_and(|v| v.is_empty()) {
        return Err(Error::value("[median] Received an empty list of axes."));
    }
    let axes = reduce_axes(a, axes, "median")?;
    if count(a.shape(), &axes) == 0 {
        return Err(Error::value(
            "[median] Cannot take median along empty axis.",
        ));
    }
    let d = at_least_float(a.dtype());
    let x = super::astype(a, d)?;
    let (rows, _) = to_rows(&x, &axes)?;
    let r = Array::from_op(vec![rows.shape()[0]], d, Median, vec![rows]);
    super::reshape(&r, reduced_shape(a.shape(), &axes, keepdims))
}

/// Median of all elements (`mx.median`): the mean of the two middle values for an even count,
/// NaN if any element is NaN; at least float32.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::median(&mx::array![4, 1, 3, 2])?.item::<f32>()?, 2.5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn median(a: impl ArrayLike) -> Result<Array> {
    median_impl(&arr(a)?, None, false)
}

/// `median` over `axes` (`mx.median(a, axis, keepdims)`).
pub fn median_axes(a: impl ArrayLike, axes: impl Axes, keepdims: bool) -> Result<Array> {
    median_impl(&arr(a)?, Some(axes.to_axes()), keepdims)
}

fn softmax_impl(a: &Array, axes: Option<Vec<isize>>, precise: bool) -> Result<Array> {
    if a.ndim() == 0 && axes.as_ref().is_some_and(|x| !x.is_empty()) {
        return Err(Error::value(
            "[softmax] Received non-empty axes for array with 0 dimensions.",
        ));
    }
    let axes = reduce_axes(a, axes, "softmax")?;
    let d = at_least_float(a.dtype());
    let x = super::astype(a, d)?;
    let (rows, perm) = to_rows(&x, &axes)?;
    let s = Array::from_op(rows.shape().to_vec(), d, Softmax { precise }, vec![rows]);
    let moved: Vec<usize> = perm.iter().map(|&p| a.shape()[p]).collect();
    let s = super::reshape(&s, moved)?;
    let mut inv = vec![0usize; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    let s = super::transpose(&s, Some(inv))?;
    if last_axis_only(a, &axes) {
        return Ok(s);
    }
    // Off MLX's fused path the result is cast back to the input's dtype (integer inputs then
    // truncate), as MLX does.
    super::astype(&s, a.dtype())
}

/// `exp(a) / sum(exp(a))` over `axes`, computed stably (`mx.softmax(a, axis)`); half
/// precision computes as MLX's default (`precise = False`) does.
///
/// ```
/// use rmlx_core as mx;
/// let s = mx::softmax(&mx::array![[0.0, 0.0]], -1)?;
/// assert_eq!(s.to_vec::<f32>()?, vec![0.5, 0.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn softmax(a: impl ArrayLike, axes: impl Axes) -> Result<Array> {
    softmax_impl(&arr(a)?, Some(axes.to_axes()), false)
}

/// `softmax` with MLX's full signature: `axes` `None` means all axes; `precise` accumulates
/// half precision inputs in float32.
pub fn softmax_opts(a: impl ArrayLike, axes: Option<&[isize]>, precise: bool) -> Result<Array> {
    softmax_impl(&arr(a)?, axes.map(|x| x.to_vec()), precise)
}

/// Tolerances of [`isclose_with`] and [`allclose_with`]; the defaults are MLX's.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct CloseOptions {
    /// Relative tolerance (`1e-5`).
    pub rtol: f64,
    /// Absolute tolerance (`1e-8`).
    pub atol: f64,
    /// Whether two NaNs are close (`false`).
    pub equal_nan: bool,
}

impl Default for CloseOptions {
    fn default() -> Self {
        CloseOptions {
            rtol: 1e-5,
            atol: 1e-8,
            equal_nan: false,
        }
    }
}

/// Elementwise `|a - b| <= atol + rtol * |b|` with broadcasting (`mx.isclose`), default
/// tolerances. Infinities are close only to the same infinity; NaN is never close.
///
/// ```
/// use rmlx_core as mx;
/// let c = mx::isclose(&mx::array![1.0, 2.0], &mx::array![1.0, 2.1])?;
/// assert_eq!(c.to_vec::<bool>()?, vec![true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn isclose(a: &Array, b: &Array) -> Result<Array> {
    isclose_with(a, b, CloseOptions::default())
}

/// [`isclose`] with explicit tolerances (`mx.isclose(a, b, rtol, atol, equal_nan=...)`).
pub fn isclose_with(a: &Array, b: &Array, opts: CloseOptions) -> Result<Array> {
    let (a, b) = super::binary::prepare_binary(a, b)?;
    let p = IsClose {
        rtol: opts.rtol,
        atol: opts.atol,
        equal_nan: opts.equal_nan,
    };
    Ok(Array::from_op(
        a.shape().to_vec(),
        Dtype::Bool,
        p,
        vec![a, b],
    ))
}

/// Whether every element of `a` is close to `b` (`mx.allclose`), as a bool scalar array.
///
/// ```
/// use rmlx_core as mx;
/// assert!(mx::allclose(&mx::array![1.0, 2.0], &mx::array![1.0, 2.000001])?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn allclose(a: &Array, b: &Array) -> Result<Array> {
    all(isclose(a, b)?)
}

/// [`allclose`] with explicit tolerances.
pub fn allclose_with(a: &Array, b: &Array, opts: CloseOptions) -> Result<Array> {
    all(isclose_with(a, b, opts)?)
}

/// Whether `a` and `b` have the same shape and equal values (`mx.array_equal`), as a bool
/// scalar array; values compare in their promoted dtype; NaNs are equal with `equal_nan`.
///
/// ```
/// use rmlx_core as mx;
/// assert!(mx::array_equal(&mx::array![1, 2], &mx::array![1.0, 2.0], false)?.item::<bool>()?);
/// assert!(!mx::array_equal(&mx::array![1, 2], &mx::array![1, 2, 3], false)?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn array_equal(a: impl ArrayLike, b: impl ArrayLike, equal_nan: bool) -> Result<Array> {
    let (a, b) = (arr(a)?, arr(b)?);
    if a.shape() != b.shape() {
        return Ok(Array::scalar(false));
    }
    let d = promote_types(a.dtype(), b.dtype());
    let (a, b) = (super::astype(&a, d)?, super::astype(&b, d)?);
    let eq = Array::from_op(
        a.shape().to_vec(),
        Dtype::Bool,
        ArrayEqual { equal_nan },
        vec![a, b],
    );
    all(eq)
}

impl Array {
    /// `mx::sum(self)`.
    pub fn sum(&self) -> Result<Array> {
        sum(self)
    }
    /// `mx::sum_axes(self, axes, keepdims)`.
    pub fn sum_axes(&self, axes: impl Axes, keepdims: bool) -> Result<Array> {
        sum_axes(self, axes, keepdims)
    }
    /// `mx::prod(self)`.
    pub fn prod(&self) -> Result<Array> {
        prod(self)
    }
    /// `mx::prod_axes(self, axes, keepdims)`.
    pub fn prod_axes(&self, axes: impl Axes, keepdims: bool) -> Result<Array> {
        prod_axes(self, axes, keepdims)
    }
    /// `mx::mean(self)`.
    pub fn mean(&self) -> Result<Array> {
        mean(self)
    }
    /// `mx::mean_axes(self, axes, keepdims)`.
    pub fn mean_axes(&self, axes: impl Axes, keepdims: bool) -> Result<Array> {
        mean_axes(self, axes, keepdims)
    }
    /// `mx::var(self)`.
    pub fn var(&self) -> Result<Array> {
        var(self)
    }
    /// `mx::var_axes(self, axes, keepdims, ddof)`.
    pub fn var_axes(&self, axes: impl Axes, keepdims: bool, ddof: i64) -> Result<Array> {
        var_axes(self, axes, keepdims, ddof)
    }
    /// `mx::std(self)`.
    pub fn std(&self) -> Result<Array> {
        std(self)
    }
    /// `mx::std_axes(self, axes, keepdims, ddof)`.
    pub fn std_axes(&self, axes: impl Axes, keepdims: bool, ddof: i64) -> Result<Array> {
        std_axes(self, axes, keepdims, ddof)
    }
    /// `mx::max(self)`.
    pub fn max(&self) -> Result<Array> {
        max(self)
    }
    /// `mx::max_axes(self, axes, keepdims)`.
    pub fn max_axes(&self, axes: impl Axes, keepdims: bool) -> Result<Array> {
        max_axes(self, axes, keepdims)
    }
    /// `mx::min(self)`.
    pub fn min(&self) -> Result<Array> {
        min(self)
    }
    /// `mx::min_axes(self, axes, keepdims)`.
    pub fn min_axes(&self, axes: impl Axes, keepdims: bool) -> Result<Array> {
        min_axes(self, axes, keepdims)
    }
    /// `mx::all(self)`.
    pub fn all(&self) -> Result<Array> {
        all(self)
    }
    /// `mx::all_axes(self, axes, keepdims)`.
    pub fn all_axes(&self, axes: impl Axes, keepdims: bool) -> Result<Array> {
        all_axes(self, axes, keepdims)
    }
    /// `mx::any(self)`.
    pub fn any(&self) -> Result<Array> {
        any(self)
    }
    /// `mx::any_axes(self, axes, keepdims)`.
    pub fn any_axes(&self, axes: impl Axes, keepdims: bool) -> Result<Array> {
        any_axes(self, axes, keepdims)
    }
    /// `mx::argmax(self)`.
    pub fn argmax(&self) -> Result<Array> {
        argmax(self)
    }
    /// `mx::argmax_axis(self, axis, keepdims)`.
    pub fn argmax_axis(&self, axis: isize, keepdims: bool) -> Result<Array> {
        argmax_axis(self, axis, keepdims)
    }
    /// `mx::argmin(self)`.
    pub fn argmin(&self) -> Result<Array> {
        argmin(self)
    }
    /// `mx::argmin_axis(self, axis, keepdims)`.
    pub fn argmin_axis(&self, axis: isize, keepdims: bool) -> Result<Array> {
        argmin_axis(self, axis, keepdims)
    }
    /// `mx::logsumexp(self)`.
    pub fn logsumexp(&self) -> Result<Array> {
        logsumexp(self)
    }
    /// `mx::logsumexp_axes(self, axes, keepdims)`.
    pub fn logsumexp_axes(&self, axes: impl Axes, keepdims: bool) -> Result<Array> {
        logsumexp_axes(self, axes, keepdims)
    }
}

/// The sum along a diagonal (`mx.trace`): `offset` from the main diagonal, over the plane of
/// `axis1` and `axis2`, cast to `dtype` first when given.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::arange(0, 9, 1)?.reshape(&[3, 3])?;
/// assert_eq!(mx::trace(&a, 0, 0, 1, None)?.item::<i32>()?, 12);
/// assert_eq!(mx::trace(&a, 1, 0, 1, Some(mx::float32))?.item::<f32>()?, 6.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn trace(
    a: &Array,
    offset: isize,
    axis1: isize,
    axis2: isize,
    dtype: Option<crate::Dtype>,
) -> Result<Array> {
    let d = super::diagonal(a, offset, axis1, axis2)?;
    let d = match dtype {
        Some(t) => super::astype(&d, t)?,
        None => d,
    };
    sum_axes(&d, -1, false)
}
