//! Rearranging ops: pad, repeat, tile, roll, flip, diag/diagonal, view, diff, tril/triu,
//! atleast_1d/2d/3d.
//!
//! Most are compositions of views (slices, broadcasts, reshapes) and `concatenate`, as in MLX;
//! `flip` and `diagonal` are views that never copy.

use super::{
    Axes, ShapeArg, broadcast_to, concatenate, expand_dims, flatten, normalize_axis, reshape,
    slice, zeros,
};
use crate::array::{Array, checked_nbytes};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::rearrange::{DiagMatrix, Pad, Tril, Triu};
use crate::primitives::shape::{Diagonal, View};
use crate::scalar::{ArrayLike, Operand};

/// How [`pad_with`] fills the new elements.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum PadMode {
    /// A constant value (`"constant"`).
    #[default]
    Constant,
    /// The nearest edge element, repeated (`"edge"`).
    Edge,
    /// The array mirrored about its edge elements, which are not repeated (`"reflect"`).
    Reflect,
    /// The array mirrored about its edges, which are repeated (`"symmetric"`).
    Symmetric,
}

impl PadMode {
    /// The mode named as in MLX: `"constant"`, `"edge"`, `"reflect"` or `"symmetric"`.
    pub fn from_name(name: &str) -> Result<PadMode> {
        match name {
            "constant" => Ok(PadMode::Constant),
            "edge" => Ok(PadMode::Edge),
            "reflect" => Ok(PadMode::Reflect),
            "symmetric" => Ok(PadMode::Symmetric),
            _ => Err(Error::value(format!(
                "Invalid padding mode ({name}) passed to pad"
            ))),
        }
    }
}

impl std::str::FromStr for PadMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<PadMode> {
        PadMode::from_name(s)
    }
}

/// Pad widths as MLX takes them: one integer (that many before and after on every axis), one
/// `(before, after)` pair for every axis, or a list with one pair per axis (a one-pair list is
/// used for every axis).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PadWidth {
    /// The same `(before, after)` on every axis.
    All(isize, isize),
    /// `(before, after)` per axis.
    PerAxis(Vec<(isize, isize)>),
}

macro_rules! pad_from {
    ($($t:ty),*) => {$(
        impl From<$t> for PadWidth {
            fn from(p: $t) -> Self { PadWidth::All(p as isize, p as isize) }
        }
        impl From<($t, $t)> for PadWidth {
            fn from((lo, hi): ($t, $t)) -> Self { PadWidth::All(lo as isize, hi as isize) }
        }
        impl<const N: usize> From<[($t, $t); N]> for PadWidth {
            fn from(v: [($t, $t); N]) -> Self { PadWidth::PerAxis(v.iter().map(|&(l, h)| (l as isize, h as isize)).collect()) }
        }
        impl<const N: usize> From<&[($t, $t); N]> for PadWidth {
            fn from(v: &[($t, $t); N]) -> Self { PadWidth::PerAxis(v.iter().map(|&(l, h)| (l as isize, h as isize)).collect()) }
        }
        impl From<&[($t, $t)]> for PadWidth {
            fn from(v: &[($t, $t)]) -> Self { PadWidth::PerAxis(v.iter().map(|&(l, h)| (l as isize, h as isize)).collect()) }
        }
        impl From<Vec<($t, $t)>> for PadWidth {
            fn from(v: Vec<($t, $t)>) -> Self { PadWidth::PerAxis(v.iter().map(|&(l, h)| (l as isize, h as isize)).collect()) }
        }
    )*};
}
pad_from!(i32, i64, isize, usize);

/// Pads with zeros (`mx.pad(a, pad_width)`); see [`pad_with`] for the other modes.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1, 2], [3, 4]];
/// assert_eq!(mx::pad(&a, 1)?.shape(), &[4, 4]);
/// assert_eq!(mx::pad(&a, [(0, 0), (1, 2)])?.shape(), &[2, 5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn pad(a: &Array, pad_width: impl Into<PadWidth>) -> Result<Array> {
    pad_with(a, pad_width, PadMode::Constant, 0)
}

/// Pads `a` (`mx.pad(a, pad_width, mode, constant_values)`). `constant_values` (a scalar, or an
/// array whose first element is used) is converted to `a`'s dtype, as in MLX, and only used
/// by [`PadMode::Constant`].
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1, 2, 3];
/// let e = mx::pad_with(&a, (2, 1), mx::PadMode::Edge, 0)?;
/// assert_eq!(e.to_vec::<i32>()?, vec![1, 1, 1, 2, 3, 3]);
/// let r = mx::pad_with(&a, 2, mx::PadMode::Reflect, 0)?;
/// assert_eq!(r.to_vec::<i32>()?, vec![3, 2, 1, 2, 3, 2, 1]);
/// let c = mx::pad_with(&a, (1, 0), mx::PadMode::Constant, 9)?;
/// assert_eq!(c.to_vec::<i32>()?, vec![9, 1, 2, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn pad_with(
    a: &Array,
    pad_width: impl Into<PadWidth>,
    mode: PadMode,
    constant_values: impl ArrayLike,
) -> Result<Array> {
    let value = match constant_values.into_operand() {
        Operand::Scalar(s) => s.to_array(a.dtype())?,
        Operand::Array(v) => super::astype(&v, a.dtype())?,
    };
    let nd = a.ndim();
    let widths = match pad_width.into() {
        PadWidth::All(lo, hi) => vec![(lo, hi); nd],
        PadWidth::PerAxis(v) if v.len() == 1 => vec![v[0]; nd],
        PadWidth::PerAxis(v) => v,
    };
    if widths.len() != nd {
        return Err(Error::value(format!(
            "Invalid number of padding sizes passed to pad with axes of size {nd}"
        )));
    }
    let mut out_shape = a.shape().to_vec();
    for (i, &(lo, hi)) in widths.iter().enumerate() {
        for (which, w) in [("low", lo), ("high", hi)] {
            if w < 0 {
                return Err(Error::value(format!(
                    "Invalid {which} padding size ({w}) passed to pad for axis {i}. Padding sizes must be non-negative"
                )));
            }
        }
        out_shape[i] = out_shape[i]
            .checked_add(lo as usize)
            .and_then(|d| d.checked_add(hi as usize))
            .ok_or_else(|| Error::value("[pad] The padded size overflows."))?;
    }
    checked_nbytes(&out_shape, a.dtype())?;
    if widths.iter().all(|&w| w == (0, 0)) {
        return Ok(a.clone());
    }
    match mode {
        PadMode::Constant => {
            if value.size() == 0 {
                return Err(Error::value(
                    "[pad] constant_values must hold at least one element.",
                ));
            }
            let low = widths.iter().map(|&(lo, _)| lo as usize).collect();
            Ok(Array::from_op(
                out_shape,
                a.dtype(),
                Pad { low },
                vec![a.clone(), value],
            ))
        }
        _ => {
            let mut x = a.clone();
            for (ax, &(lo, hi)) in widths.iter().enumerate() {
                if (lo, hi) != (0, 0) {
                    x = pad_axis(&x, ax, lo as usize, hi as usize, mode)?;
                }
            }
            Ok(x)
        }
    }
}

/// Start, stop and stride selecting `len` elements of axis `ax` from `first` by `step` (+1 or
/// -1), as [`slice`] takes them (a backward run down to index 0 needs a stop before the axis).
fn run(x: &Array, ax: usize, first: usize, len: usize, step: isize) -> Result<Array> {
    let n = x.shape()[ax] as isize;
    let mut start = vec![0isize; x.ndim()];
    let mut stop: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
    let mut strides = vec![1isize; x.ndim()];
    let end = first as isize + step * len as isize;
    (start[ax], stop[ax], strides[ax]) = (first as isize, if end < 0 { -n - 1 } else { end }, step);
    slice(x, start, stop, strides)
}

/// Pads one axis in the edge, reflect or symmetric mode.
fn pad_axis(x: &Array, ax: usize, lo: usize, hi: usize, mode: PadMode) -> Result<Array> {
    let n = x.shape()[ax];
    if n == 0 {
        if mode != PadMode::Edge {
            let name = if mode == PadMode::Reflect {
                "reflect"
            } else {
                "symmetric"
            };
            return Err(Error::value(format!(
                "[pad] Cannot pad empty axis {ax} using mode '{name}'."
            )));
        }
        // Nothing to repeat: MLX leaves the new elements at zero.
        let mut shape = x.shape().to_vec();
        shape[ax] = lo + hi;
        return zeros(&shape, x.dtype());
    }
    if mode == PadMode::Edge {
        let mut parts = Vec::with_capacity(3);
        for (idx, count) in [(0, lo), (n - 1, hi)] {
            let mut shape = x.shape().to_vec();
            shape[ax] = count;
            parts.push(broadcast_to(&run(x, ax, idx, 1, 1)?, &shape)?);
        }
        parts.insert(1, x.clone());
        return concatenate(&parts, ax as isize);
    }
    // The padded axis is a window of the array extended periodically: one period mirrors the
    // axis (without repeating the edge elements for reflect), so tile a period and slice.
    let period = if mode == PadMode::Reflect && n > 1 {
        concatenate(
            &[run(x, ax, 0, n - 1, 1)?, run(x, ax, n - 1, n - 1, -1)?],
            ax as isize,
        )?
    } else {
        concatenate(&[x.clone(), run(x, ax, n - 1, n, -1)?], ax as isize)?
    };
    let p = period.shape()[ax];
    let total = lo + n + hi;
    let first = (p - lo % p) % p;
    let mut reps = vec![1usize; x.ndim()];
    reps[ax] = (first + total).div_ceil(p);
    run(&tile(&period, &reps)?, ax, first, total, 1)
}

/// Repeats each element `repeats` times, flattening first (`mx.repeat(a, repeats)`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1, 2], [3, 4]];
/// assert_eq!(mx::repeat(&a, 2)?.to_vec::<i32>()?, vec![1, 1, 2, 2, 3, 3, 4, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn repeat(a: &Array, repeats: usize) -> Result<Array> {
    repeat_axis(&flatten(a, 0, -1)?, repeats, 0)
}

/// Repeats each element `repeats` times along `axis` (`mx.repeat(a, repeats, axis)`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1, 2], [3, 4]];
/// assert_eq!(mx::repeat_axis(&a, 2, -1)?.to_vec::<i32>()?, vec![1, 1, 2, 2, 3, 3, 4, 4]);
/// assert_eq!(mx::repeat_axis(&a, 3, 0)?.shape(), &[6, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn repeat_axis(a: &Array, repeats: usize, axis: isize) -> Result<Array> {
    let ax = normalize_axis(axis, a.ndim(), "repeat")?;
    let mut shape = a.shape().to_vec();
    match repeats {
        0 => {
            shape[ax] = 0;
            return zeros(&shape, a.dtype());
        }
        1 => return Ok(a.clone()),
        _ => {}
    }
    let repeated = shape[ax].saturating_mul(repeats);
    crate::error::check_dim("repeat", repeated)?;
    shape.insert(ax + 1, repeats);
    checked_nbytes(&shape, a.dtype())?;
    let b = broadcast_to(&expand_dims(a, ax as isize + 1)?, &shape)?;
    shape.remove(ax + 1);
    shape[ax] *= repeats;
    reshape(&b, &shape)
}

/// Repeats the whole array `reps[i]` times along each axis (`mx.tile`). A shorter `reps` is
/// padded with ones in front; a longer one adds leading axes to `a`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1, 2];
/// assert_eq!(mx::tile(&a, [2])?.to_vec::<i32>()?, vec![1, 2, 1, 2]);
/// assert_eq!(mx::tile(&a, [2, 1])?.shape(), &[2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tile(a: &Array, reps: impl ShapeArg) -> Result<Array> {
    let mut reps = reps.to_dims();
    if let Some(&r) = reps.iter().find(|&&r| r < 0) {
        return Err(Error::value(format!(
            "[tile] Negative repetitions are not allowed, got {r}."
        )));
    }
    let mut shape = a.shape().to_vec();
    if reps.len() < shape.len() {
        reps.splice(0..0, std::iter::repeat_n(1, shape.len() - reps.len()));
    }
    if shape.len() < reps.len() {
        shape.splice(0..0, std::iter::repeat_n(1, reps.len() - shape.len()));
    }
    let (mut expanded, mut broad, mut fin) = (Vec::new(), Vec::new(), Vec::new());
    for (&d, &r) in shape.iter().zip(&reps) {
        let r = r as usize;
        if r != 1 {
            expanded.push(1);
            broad.push(r);
        }
        expanded.push(d);
        broad.push(d);
        fin.push(
            d.checked_mul(r)
                .ok_or_else(|| Error::value("[tile] The tiled size overflows."))?,
        );
    }
    checked_nbytes(&fin, a.dtype())?;
    let x = broadcast_to(&reshape(a, &expanded)?, &broad)?;
    reshape(&x, &fin)
}

/// The shift of [`roll`] and [`roll_axes`]: one value (an integer) or one per axis (a list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollShift {
    /// The same shift on every axis.
    One(isize),
    /// A shift per axis.
    PerAxis(Vec<isize>),
}

impl RollShift {
    /// The sum of the shifts.
    fn total(&self) -> isize {
        match self {
            RollShift::One(s) => *s,
            RollShift::PerAxis(v) => v.iter().fold(0isize, |t, &x| t.wrapping_add(x)),
        }
    }
}

macro_rules! shift_from {
    ($($t:ty),*) => {$(
        impl From<$t> for RollShift {
            fn from(s: $t) -> Self { RollShift::One(s as isize) }
        }
        impl<const N: usize> From<[$t; N]> for RollShift {
            fn from(v: [$t; N]) -> Self { RollShift::PerAxis(v.iter().map(|&s| s as isize).collect()) }
        }
        impl<const N: usize> From<&[$t; N]> for RollShift {
            fn from(v: &[$t; N]) -> Self { RollShift::PerAxis(v.iter().map(|&s| s as isize).collect()) }
        }
        impl From<&[$t]> for RollShift {
            fn from(v: &[$t]) -> Self { RollShift::PerAxis(v.iter().map(|&s| s as isize).collect()) }
        }
        impl From<Vec<$t>> for RollShift {
            fn from(v: Vec<$t>) -> Self { RollShift::PerAxis(v.iter().map(|&s| s as isize).collect()) }
        }
    )*};
}
shift_from!(i32, i64, isize, usize);

/// Rolls the flattened array by `shift` places (the sum, if a list is given), keeping the
/// shape (`mx.roll(a, shift)`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1, 2], [3, 4]];
/// assert_eq!(mx::roll(&a, 1)?.to_vec::<i32>()?, vec![4, 1, 2, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn roll(a: &Array, shift: impl Into<RollShift>) -> Result<Array> {
    let total = shift.into().total();
    reshape(&roll_axes(&flatten(a, 0, -1)?, total, 0)?, a.shape())
}

/// Rolls along each of `axes` (`mx.roll(a, shift, axis)`): elements pushed past the end come
/// back at the start. An integer `shift` applies to every axis; a list gives one shift per
/// axis (at least as many as axes), except that with a single axis the shifts add up (as MLX
/// does for an integer `axis`; MLX uses only the first for a one-element axis tuple). A
/// repeated axis is rolled again.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1, 2, 3], [4, 5, 6]];
/// assert_eq!(mx::roll_axes(&a, 1, -1)?.to_vec::<i32>()?, vec![3, 1, 2, 6, 4, 5]);
/// assert_eq!(mx::roll_axes(&a, [1, -1], [0, 1])?.to_vec::<i32>()?, vec![5, 6, 4, 2, 3, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn roll_axes(a: &Array, shift: impl Into<RollShift>, axes: impl Axes) -> Result<Array> {
    let axes = axes.to_axes();
    if axes.is_empty() {
        return Ok(a.clone());
    }
    let shifts = match shift.into() {
        RollShift::One(s) => vec![s; axes.len()],
        s @ RollShift::PerAxis(_) if axes.len() == 1 => vec![s.total()],
        RollShift::PerAxis(v) => v,
    };
    if shifts.len() < axes.len() {
        return Err(Error::value(format!(
            "[roll] At least one shift value per axis is required, {} provided for {} axes.",
            shifts.len(),
            axes.len()
        )));
    }
    let mut x = a.clone();
    for (&axis, &sh) in axes.iter().zip(&shifts) {
        let ax = normalize_axis(axis, a.ndim(), "roll")?;
        let n = a.shape()[ax];
        // The index where the rolled array starts: (-shift) mod n.
        let k = (-(sh as i128)).rem_euclid(n.max(1) as i128) as usize;
        if n == 0 || k == 0 {
            continue;
        }
        x = concatenate(
            &[run(&x, ax, k, n - k, 1)?, run(&x, ax, 0, k, 1)?],
            ax as isize,
        )?;
    }
    Ok(x)
}

/// Reverses every axis (`mx.flip(a)`): a view with negative strides, no copy.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::flip(&mx::array![[1, 2], [3, 4]])?.to_vec::<i32>()?, vec![4, 3, 2, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn flip(a: &Array) -> Result<Array> {
    flip_axes(a, (0..a.ndim()).collect::<Vec<usize>>())
}

/// Reverses the given axes (`mx.flip(a, axis)`): a view with negative strides. An axis given
/// twice is reversed once, as in MLX.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::flip_axes(&mx::array![[1, 2], [3, 4]], -1)?.to_vec::<i32>()?, vec![2, 1, 4, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn flip_axes(a: &Array, axes: impl Axes) -> Result<Array> {
    let nd = a.ndim();
    let mut start = vec![0isize; nd];
    let mut stop: Vec<isize> = a.shape().iter().map(|&d| d as isize).collect();
    let mut strides = vec![1isize; nd];
    for axis in axes.to_axes() {
        let ax = normalize_axis(axis, nd, "flip")?;
        let n = a.shape()[ax] as isize;
        (start[ax], stop[ax], strides[ax]) = (n - 1, -n - 1, -1);
    }
    slice(a, start, stop, strides)
}

/// The diagonal `offset` of the 2-D planes spanned by `axis1` and `axis2` (`mx.diagonal`),
/// as a new last axis: a view, no copy. Positive offsets are above the main diagonal.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::arange(0, 9, 1)?.reshape(&[3, 3])?;
/// assert_eq!(mx::diagonal(&a, 0, 0, 1)?.to_vec::<i32>()?, vec![0, 4, 8]);
/// assert_eq!(mx::diagonal(&a, -1, 0, 1)?.to_vec::<i32>()?, vec![3, 7]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn diagonal(a: &Array, offset: isize, axis1: isize, axis2: isize) -> Result<Array> {
    let nd = a.ndim();
    if nd < 2 {
        return Err(Error::value(format!(
            "[diagonal] Array must have at least two dimensions, but got {nd} dimensions."
        )));
    }
    let check = |axis: isize, name: &str| {
        normalize_axis(axis, nd, "diagonal").map_err(|_| {
            Error::index(format!(
                "[diagonal] Invalid {name} {axis} for array with {nd} dimensions."
            ))
        })
    };
    let (ax1, ax2) = (check(axis1, "axis1")?, check(axis2, "axis2")?);
    if ax1 == ax2 {
        return Err(Error::value(
            "[diagonal] axis1 and axis2 cannot be the same axis",
        ));
    }
    let (o1, o2) = ((-(offset as i128)).max(0), (offset as i128).max(0));
    let len = (a.shape()[ax1] as i128 - o1)
        .min(a.shape()[ax2] as i128 - o2)
        .max(0) as usize;
    let mut shape: Vec<usize> = a
        .shape()
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != ax1 && i != ax2)
        .map(|(_, &d)| d)
        .collect();
    shape.push(len);
    let p = Diagonal {
        offset: if len == 0 { 0 } else { offset },
        axis1: ax1,
        axis2: ax2,
    };
    Ok(Array::from_op(shape, a.dtype(), p, vec![a.clone()]))
}

/// A diagonal (`mx.diag`): for a 1-D `a`, the square matrix with `a` on diagonal `k`; for a
/// 2-D `a`, its diagonal `k` (a view, see [`diagonal`]).
///
/// ```
/// use rmlx_core as mx;
/// let m = mx::diag(&mx::array![1, 2], 1)?;
/// assert_eq!(m.to_vec::<i32>()?, vec![0, 1, 0, 0, 0, 2, 0, 0, 0]);
/// assert_eq!(mx::diag(&m, 1)?.to_vec::<i32>()?, vec![1, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn diag(a: &Array, k: isize) -> Result<Array> {
    match a.ndim() {
        1 => {
            let n = a
                .size()
                .checked_add(k.unsigned_abs())
                .ok_or_else(|| Error::value("[diag] The size overflows."))?;
            checked_nbytes(&[n, n], a.dtype())?;
            Ok(Array::from_op(
                vec![n, n],
                a.dtype(),
                DiagMatrix { k },
                vec![a.clone()],
            ))
        }
        2 => diagonal(a, k, 0, 1),
        nd => Err(Error::value(format!(
            "[diag] array must be 1-D or 2-D, got array with {nd} dimensions."
        ))),
    }
}

/// The same bytes read as another dtype (`mx.view`). With a smaller dtype the last axis grows
/// by the size ratio; with a larger one it shrinks (its size in bytes must divide evenly); a
/// 0-D array can only change to a dtype of the same size.
///
/// Shares `a`'s buffer when the layout allows, copies otherwise. rmlx deviates from MLX in one
/// case: viewing as bool maps every byte to `!= 0` (a Rust bool must be 0 or 1), where MLX
/// keeps the raw byte. A view of such a bool view that is not evaluated yet views the
/// original bytes instead, so a round trip through bool gives back the input, as in MLX.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1.0f32];
/// assert_eq!(mx::view(&a, mx::uint32)?.item::<u32>()?, 0x3f80_0000);
/// assert_eq!(mx::view(&a, mx::uint16)?.shape(), &[2]);
/// let b = mx::array![-3, 258];
/// let back = mx::view(&mx::view(&b, mx::bool_)?, mx::int32)?;
/// assert_eq!(back.to_vec::<i32>()?, vec![-3, 258]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn view(a: impl ArrayLike, dtype: Dtype) -> Result<Array> {
    let a = a.into_operand().into_array()?;
    if a.dtype() == dtype {
        return Ok(a);
    }
    if a.dtype() == Dtype::Bool && a.primitive_name() == Some("View") {
        let src = a.inputs();
        if let [x] = &src[..]
            && x.dtype() != Dtype::Bool
        {
            return view(x, dtype);
        }
    }
    let (ib, ob) = (a.dtype().size(), dtype.size());
    let mut shape = a.shape().to_vec();
    match shape.last_mut() {
        None if ib != ob => {
            return Err(Error::value(
                "[view] Changing the type of a scalar is only allowed for types with the same size.",
            ));
        }
        Some(last) if ib < ob => {
            if *last % (ob / ib) != 0 {
                return Err(Error::value(
                    "[view] When viewing as a larger dtype, the size in bytes of the last axis must be a multiple of the requested type size.",
                ));
            }
            *last /= ob / ib;
        }
        Some(last) if ib > ob => *last *= ib / ob,
        _ => {}
    }
    Ok(Array::from_op(shape, dtype, View, vec![a]))
}

/// The `n`-th discrete difference along `axis` (`mx.diff`): `a[1:] - a[:-1]`, `n` times.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1, 4, 9, 16];
/// assert_eq!(mx::diff(&a, 1, -1)?.to_vec::<i32>()?, vec![3, 5, 7]);
/// assert_eq!(mx::diff(&a, 2, -1)?.to_vec::<i32>()?, vec![2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn diff(a: &Array, n: usize, axis: isize) -> Result<Array> {
    let ax = normalize_axis(axis, a.ndim(), "diff")?;
    let mut x = a.clone();
    for _ in 0..n {
        let len = x.shape()[ax];
        if len == 0 {
            // Further differences of an empty axis change nothing.
            break;
        }
        let upper = run(&x, ax, 1, len - 1, 1)?;
        let lower = run(&x, ax, 0, len - 1, 1)?;
        x = super::subtract(&upper, &lower)?;
    }
    Ok(x)
}

/// Zeroes the elements above diagonal `k` of the last two axes (`mx.tril`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::ones(&[2, 3], mx::int32)?;
/// assert_eq!(mx::tril(&a, 0)?.to_vec::<i32>()?, vec![1, 0, 0, 1, 1, 0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tril(x: &Array, k: isize) -> Result<Array> {
    if x.ndim() < 2 {
        return Err(Error::value("[tril] array must be at least 2-D"));
    }
    Ok(Array::from_op(
        x.shape().to_vec(),
        x.dtype(),
        Tril { k },
        vec![x.clone()],
    ))
}

/// Zeroes the elements below diagonal `k` of the last two axes (`mx.triu`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::ones(&[2, 3], mx::int32)?;
/// assert_eq!(mx::triu(&a, 1)?.to_vec::<i32>()?, vec![0, 1, 1, 0, 0, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn triu(x: &Array, k: isize) -> Result<Array> {
    if x.ndim() < 2 {
        return Err(Error::value("[triu] array must be at least 2-D"));
    }
    Ok(Array::from_op(
        x.shape().to_vec(),
        x.dtype(),
        Triu { k },
        vec![x.clone()],
    ))
}

/// `a` with at least one dimension (`mx.atleast_1d`): a 0-D array becomes shape `(1)`.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::atleast_1d(&mx::Array::scalar(1.0f32))?.shape(), &[1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn atleast_1d(a: &Array) -> Result<Array> {
    match a.ndim() {
        0 => reshape(a, [1]),
        _ => Ok(a.clone()),
    }
}

/// `a` with at least two dimensions (`mx.atleast_2d`): `(n)` becomes `(1, n)`.
pub fn atleast_2d(a: &Array) -> Result<Array> {
    match a.ndim() {
        0 => reshape(a, [1, 1]),
        1 => reshape(a, [1, a.shape()[0]]),
        _ => Ok(a.clone()),
    }
}

/// `a` with at least three dimensions (`mx.atleast_3d`): `(n)` becomes `(1, n, 1)` and
/// `(m, n)` becomes `(m, n, 1)`.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::atleast_3d(&mx::array![1, 2])?.shape(), &[1, 2, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn atleast_3d(a: &Array) -> Result<Array> {
    match a.ndim() {
        0 => reshape(a, [1, 1, 1]),
        1 => reshape(a, [1, a.shape()[0], 1]),
        2 => reshape(a, [a.shape()[0], a.shape()[1], 1]),
        _ => Ok(a.clone()),
    }
}

/// Rearranging methods on `Array`, as MLX's array methods.
impl Array {
    /// See [`diag`].
    pub fn diag(&self, k: isize) -> Result<Array> {
        diag(self, k)
    }
    /// See [`diagonal`].
    pub fn diagonal(&self, offset: isize, axis1: isize, axis2: isize) -> Result<Array> {
        diagonal(self, offset, axis1, axis2)
    }
    /// See [`view`].
    pub fn view(&self, dtype: Dtype) -> Result<Array> {
        view(self, dtype)
    }
}

#[cfg(test)]
mod tests {
    use crate as mx;
    use crate::Array;
    use std::sync::Arc;

    fn shares(a: &Array, b: &Array) -> bool {
        Arc::ptr_eq(&a.data().unwrap().buffer, &b.data().unwrap().buffer)
    }

    #[test]
    fn views_share_the_buffer() {
        let a = mx::arange(0, 24, 1).unwrap().reshape(&[2, 3, 4]).unwrap();
        a.eval().unwrap();
        let f = mx::flip_axes(&a, [0, -1]).unwrap();
        assert!(shares(&a, &f));
        assert_eq!(f.to_vec::<i32>().unwrap()[..4], [15, 14, 13, 12]);
        let d = mx::diagonal(&f, -1, 2, 1).unwrap();
        assert!(shares(&a, &d));
        assert_eq!(d.to_vec::<i32>().unwrap(), vec![14, 17, 20, 2, 5, 8]);
        // Size-1 axes added to a non-contiguous view keep it a view.
        let e = mx::atleast_3d(&mx::diag(&f.reshape(&[6, 4]).unwrap(), 0).unwrap()).unwrap();
        assert_eq!(e.shape(), &[1, 4, 1]);
        let v = mx::view(&a, mx::uint8).unwrap();
        assert!(shares(&a, &v));
        let t = mx::view(&a.T(), mx::float32).unwrap();
        assert!(shares(&a, &t));
        // Smaller dtype over a strided view needs a copy, and gets one.
        let s = mx::view(&a.T(), mx::int16).unwrap();
        assert!(!shares(&a, &s));
        assert_eq!(s.to_vec::<i16>().unwrap()[..4], [0, 0, 12, 0]);
    }

    #[test]
    fn pad_modes_match_numpy_for_wide_pads() {
        let a = mx::array![1, 2, 3];
        let r = mx::pad_with(&a, (7, 8), mx::PadMode::Reflect, 0).unwrap();
        assert_eq!(
            r.to_vec::<i32>().unwrap(),
            vec![2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3]
        );
        let s = mx::pad_with(&a, (4, 5), mx::PadMode::Symmetric, 0).unwrap();
        assert_eq!(
            s.to_vec::<i32>().unwrap(),
            vec![3, 3, 2, 1, 1, 2, 3, 3, 2, 1, 1, 2]
        );
        let e = mx::pad_with(
            &a.reshape(&[1, 3]).unwrap(),
            [(1, 0), (0, 2)],
            mx::PadMode::Edge,
            0,
        )
        .unwrap();
        assert_eq!(
            e.to_vec::<i32>().unwrap(),
            vec![1, 2, 3, 3, 3, 1, 2, 3, 3, 3]
        );
    }
}
