//! Scans along one axis: cumsum, cumprod, cummax, cummin, logcumsumexp. `axis` `None` scans
//! the flattened array, as MLX does; [`ScanOptions`] holds `reverse` and `inclusive`.

use super::unary::at_least_float;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::scan::*;
use crate::scalar::ArrayLike;

/// Direction and inclusivity of a scan; the default (forward, inclusive) is MLX's.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ScanOptions {
    /// Scan from the last element to the first.
    pub reverse: bool,
    /// Include each element in its own result (`false`: the fold of the elements before it).
    pub inclusive: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            reverse: false,
            inclusive: true,
        }
    }
}

#[derive(Copy, Clone)]
enum Kind {
    Sum,
    Prod,
    Max,
    Min,
    LogSumExp,
}

fn scan_op(a: impl ArrayLike, axis: Option<isize>, opts: ScanOptions, kind: Kind) -> Result<Array> {
    let a = a.into_operand().into_array()?;
    let name = match kind {
        Kind::Sum => "cumsum",
        Kind::Prod => "cumprod",
        Kind::Max => "cummax",
        Kind::Min => "cummin",
        Kind::LogSumExp => "logcumsumexp",
    };
    let (x, axis) = match axis {
        None => (super::reshape(&a, [a.size()])?, 0),
        Some(ax) => {
            let nd = a.ndim() as isize;
            if ax < -nd || ax >= nd {
                return Err(Error::index(format!(
                    "[{name}] Axis {ax} is out of bounds for array with {nd} dimensions."
                )));
            }
            (
                a.clone(),
                if ax < 0 {
                    (ax + nd) as usize
                } else {
                    ax as usize
                },
            )
        }
    };
    let dtype = match kind {
        Kind::Sum if x.dtype() == Dtype::Bool => Dtype::Int32,
        Kind::LogSumExp => at_least_float(x.dtype()),
        _ => x.dtype(),
    };
    let x = super::astype(&x, dtype)?;
    let (reverse, inclusive) = (opts.reverse, opts.inclusive);
    let shape = x.shape().to_vec();
    let inputs = vec![x];
    Ok(match kind {
        Kind::Sum => Array::from_op(
            shape,
            dtype,
            CumSum {
                axis,
                reverse,
                inclusive,
            },
            inputs,
        ),
        Kind::Prod => Array::from_op(
            shape,
            dtype,
            CumProd {
                axis,
                reverse,
                inclusive,
            },
            inputs,
        ),
        Kind::Max => Array::from_op(
            shape,
            dtype,
            CumMax {
                axis,
                reverse,
                inclusive,
            },
            inputs,
        ),
        Kind::Min => Array::from_op(
            shape,
            dtype,
            CumMin {
                axis,
                reverse,
                inclusive,
            },
            inputs,
        ),
        Kind::LogSumExp => Array::from_op(
            shape,
            dtype,
            CumLogSumExp {
                axis,
                reverse,
                inclusive,
            },
            inputs,
        ),
    })
}

/// Cumulative sum along `axis` (`mx.cumsum`); bool sums as int32, other integers wrap in their
/// own dtype.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::cumsum(&mx::array![1, 2, 3], None)?.to_vec::<i32>()?, vec![1, 3, 6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cumsum(a: impl ArrayLike, axis: Option<isize>) -> Result<Array> {
    scan_op(a, axis, ScanOptions::default(), Kind::Sum)
}

/// `cumsum` with `reverse` / `inclusive`.
///
/// ```
/// use rmlx_core as mx;
/// let o = mx::ScanOptions { reverse: true, inclusive: false };
/// assert_eq!(mx::cumsum_with(&mx::array![1, 2, 3], Some(0), o)?.to_vec::<i32>()?, vec![5, 3, 0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cumsum_with(a: impl ArrayLike, axis: Option<isize>, opts: ScanOptions) -> Result<Array> {
    scan_op(a, axis, opts, Kind::Sum)
}

/// Cumulative product along `axis` (`mx.cumprod`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::cumprod(&mx::array![1, 2, 3], None)?.to_vec::<i32>()?, vec![1, 2, 6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cumprod(a: impl ArrayLike, axis: Option<isize>) -> Result<Array> {
    scan_op(a, axis, ScanOptions::default(), Kind::Prod)
}

/// `cumprod` with `reverse` / `inclusive`.
pub fn cumprod_with(a: impl ArrayLike, axis: Option<isize>, opts: ScanOptions) -> Result<Array> {
    scan_op(a, axis, opts, Kind::Prod)
}

/// `mx.cumulative_sum`: the same as [`cumsum`].
pub fn cumulative_sum(a: impl ArrayLike, axis: Option<isize>) -> Result<Array> {
    cumsum(a, axis)
}

/// `mx.cumulative_prod`: the same as [`cumprod`].
pub fn cumulative_prod(a: impl ArrayLike, axis: Option<isize>) -> Result<Array> {
    cumprod(a, axis)
}

/// Running maximum along `axis` (`mx.cummax`); NaN propagates.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::cummax(&mx::array![1, 3, 2], None)?.to_vec::<i32>()?, vec![1, 3, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cummax(a: impl ArrayLike, axis: Option<isize>) -> Result<Array> {
    scan_op(a, axis, ScanOptions::default(), Kind::Max)
}

/// `cummax` with `reverse` / `inclusive` (an exclusive scan starts at the dtype's lowest value).
pub fn cummax_with(a: impl ArrayLike, axis: Option<isize>, opts: ScanOptions) -> Result<Array> {
    scan_op(a, axis, opts, Kind::Max)
}

/// Running minimum along `axis` (`mx.cummin`); NaN propagates.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::cummin(&mx::array![3, 1, 2], None)?.to_vec::<i32>()?, vec![3, 1, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cummin(a: impl ArrayLike, axis: Option<isize>) -> Result<Array> {
    scan_op(a, axis, ScanOptions::default(), Kind::Min)
}

/// `cummin` with `reverse` / `inclusive` (an exclusive scan starts at the dtype's highest value).
pub fn cummin_with(a: impl ArrayLike, axis: Option<isize>, opts: ScanOptions) -> Result<Array> {
    scan_op(a, axis, opts, Kind::Min)
}

/// Running `log(sum(exp(x)))` along `axis` (`mx.logcumsumexp`); at least float32.
///
/// ```
/// use rmlx_core as mx;
/// let v = mx::logcumsumexp(&mx::array![0.0, 0.0], None)?.to_vec::<f32>()?;
/// assert!((v[1] - 2f32.ln()).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn logcumsumexp(a: impl ArrayLike, axis: Option<isize>) -> Result<Array> {
    scan_op(a, axis, ScanOptions::default(), Kind::LogSumExp)
}

/// `logcumsumexp` with `reverse` / `inclusive`.
pub fn logcumsumexp_with(
    a: impl ArrayLike,
    axis: Option<isize>,
    opts: ScanOptions,
) -> Result<Array> {
    scan_op(a, axis, opts, Kind::LogSumExp)
}

impl Array {
    /// `mx::cumsum(self, axis)`.
    pub fn cumsum(&self, axis: Option<isize>) -> Result<Array> {
        cumsum(self, axis)
    }
    /// `mx::cumprod(self, axis)`.
    pub fn cumprod(&self, axis: Option<isize>) -> Result<Array> {
        cumprod(self, axis)
    }
    /// `mx::cummax(self, axis)`.
    pub fn cummax(&self, axis: Option<isize>) -> Result<Array> {
        cummax(self, axis)
    }
    /// `mx::cummin(self, axis)`.
    pub fn cummin(&self, axis: Option<isize>) -> Result<Array> {
        cummin(self, axis)
    }
    /// `mx::logcumsumexp(self, axis)`.
    pub fn logcumsumexp(&self, axis: Option<isize>) -> Result<Array> {
        logcumsumexp(self, axis)
    }
}
