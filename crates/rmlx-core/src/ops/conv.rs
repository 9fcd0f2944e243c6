//! Convolutions: conv1d/2d/3d, their transposes, the general form and numpy's `convolve`.
//!
//! Layouts are MLX's (channels last): the input is `(N, *spatial, C_in)` and the weight
//! `(C_out, *kernel, C_in / groups)`. Every variant builds one [`Convolution`] node, as MLX's
//! `conv_general` does; a transposed convolution is a convolution of the input dilated by the
//! stride with the spatially flipped kernel. Only floating-point inputs are accepted (the
//! input's dtype is checked; the weight may be of any dtype and promotes with it).

use crate::array::Array;
use crate::dtype::promote_types;
use crate::error::{Error, Result, fmt_shape};
use crate::primitives::conv::Convolution;

/// A per-axis integer parameter of a convolution (stride, padding, dilation): one integer for
/// every spatial axis (`2`), or one per axis (`[1, 2]`, `(1, 2)`, `vec![1, 2]`). An empty list
/// means the default and a one-element list applies to every axis, as in MLX.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvArg(pub Vec<i64>);

/// The padding of [`conv_general`]: symmetric (`1`, `[1, 2]`) or low and high per axis
/// (`([1, 0], [2, 3])`: the first list pads before each spatial axis, the second after).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvPadding {
    /// Padding before each spatial axis.
    pub lo: Vec<i64>,
    /// Padding after each spatial axis.
    pub hi: Vec<i64>,
}

impl From<ConvArg> for ConvPadding {
    fn from(a: ConvArg) -> Self {
        ConvPadding {
            lo: a.0.clone(),
            hi: a.0,
        }
    }
}

macro_rules! conv_args {
    ($($t:ty),*) => {$(
        impl From<$t> for ConvArg {
            fn from(x: $t) -> Self { ConvArg(vec![x as i64]) }
        }
        impl<const N: usize> From<[$t; N]> for ConvArg {
            fn from(x: [$t; N]) -> Self { ConvArg(x.iter().map(|&v| v as i64).collect()) }
        }
        impl<const N: usize> From<&[$t; N]> for ConvArg {
            fn from(x: &[$t; N]) -> Self { ConvArg(x.iter().map(|&v| v as i64).collect()) }
        }
        impl From<&[$t]> for ConvArg {
            fn from(x: &[$t]) -> Self { ConvArg(x.iter().map(|&v| v as i64).collect()) }
        }
        impl From<Vec<$t>> for ConvArg {
            fn from(x: Vec<$t>) -> Self { ConvArg(x.iter().map(|&v| v as i64).collect()) }
        }
        impl From<&Vec<$t>> for ConvArg {
            fn from(x: &Vec<$t>) -> Self { ConvArg(x.iter().map(|&v| v as i64).collect()) }
        }
        impl From<($t, $t)> for ConvArg {
            fn from(x: ($t, $t)) -> Self { ConvArg(vec![x.0 as i64, x.1 as i64]) }
        }
        impl From<($t, $t, $t)> for ConvArg {
            fn from(x: ($t, $t, $t)) -> Self {
                ConvArg(vec![x.0 as i64, x.1 as i64, x.2 as i64])
            }
        }
        impl From<$t> for ConvPadding {
            fn from(x: $t) -> Self { ConvArg::from(x).into() }
        }
        impl<const N: usize> From<[$t; N]> for ConvPadding {
            fn from(x: [$t; N]) -> Self { ConvArg::from(x).into() }
        }
        impl From<&[$t]> for ConvPadding {
            fn from(x: &[$t]) -> Self { ConvArg::from(x).into() }
        }
        impl From<Vec<$t>> for ConvPadding {
            fn from(x: Vec<$t>) -> Self { ConvArg::from(x).into() }
        }
        impl<const N: usize, const M: usize> From<([$t; N], [$t; M])> for ConvPadding {
            fn from(x: ([$t; N], [$t; M])) -> Self {
                ConvPadding { lo: ConvArg::from(x.0).0, hi: ConvArg::from(x.1).0 }
            }
        }
        impl From<(Vec<$t>, Vec<$t>)> for ConvPadding {
            fn from(x: (Vec<$t>, Vec<$t>)) -> Self {
                ConvPadding { lo: ConvArg::from(x.0).0, hi: ConvArg::from(x.1).0 }
            }
        }
        impl From<(&[$t], &[$t])> for ConvPadding {
            fn from(x: (&[$t], &[$t])) -> Self {
                ConvPadding { lo: ConvArg::from(x.0).0, hi: ConvArg::from(x.1).0 }
            }
        }
    )*};
}
conv_args!(i32, i64, isize, usize);

/// Formats a parameter list as MLX's messages do: `(1,2)`.
fn fmt_list(v: &[i64]) -> String {
    let inner: Vec<String> = v.iter().map(|d| d.to_string()).collect();
    format!("({})", inner.join(","))
}

/// A parameter value that MLX holds as a C++ `int`.
fn to_i32(v: i64, what: &str) -> Result<i64> {
    if i32::try_from(v).is_err() {
        return Err(Error::value(format!(
            "[conv] {what} {v} does not fit in a 32-bit integer."
        )));
    }
    Ok(v)
}

/// `list` expanded to `nd` entries as MLX's `conv_general` does (empty: `default`, one entry:
/// every axis); other lengths are left for the length check.
fn expand(list: &[i64], nd: usize, default: i64, what: &str) -> Result<Vec<i64>> {
    for &v in list {
        to_i32(v, what)?;
    }
    Ok(match list.len() {
        0 => vec![default; nd],
        1 => vec![list[0]; nd],
        _ => list.to_vec(),
    })
}

/// The arguments of a fixed-rank wrapper (`conv2d` etc.): one integer or exactly `nd`.
fn per_axis(arg: ConvArg, nd: usize, op: &str, what: &str) -> Result<Vec<i64>> {
    match arg.0.len() {
        1 => Ok(vec![arg.0[0]; nd]),
        n if n == nd => Ok(arg.0),
        n => Err(Error::type_error(format!(
            "[{op}] {what} must be one integer or {nd} integers, got {n}."
        ))),
    }
}

/// The checks of MLX's `run_conv_checks` (and the groups and rank checks before them).
fn check_conv(input: &Array, weight: &Array, groups: i64) -> Result<usize> {
    if groups != 1 && input.ndim() != 3 && input.ndim() != 4 {
        return Err(Error::value(
            "[conv] Can only handle groups != 1 in 1D or 2D convolutions.",
        ));
    }
    let nd = input.ndim();
    if !(3..=5).contains(&nd) {
        return Err(Error::value(
            "[conv] Only works for inputs with 1-3 spatial dimensions. The inputs must be in \
             the format [N, ..., C_in]",
        ));
    }
    let sd = nd - 2;
    if !input.dtype().is_floating() {
        return Err(Error::value(format!(
            "[conv] Invalid input array with type {}. Convolution currently only supports \
             floating point types",
            input.dtype()
        )));
    }
    if weight.ndim() != nd {
        return Err(Error::value(format!(
            "[conv] Invalid weight array with {} dimensions for {sd}D convolution. Expected an \
             array with {nd} dimensions following the format [C_out, ..., C_in].",
            weight.ndim()
        )));
    }
    if groups < 1 {
        return Err(Error::value(format!(
            "[conv] The number of groups must be positive, got {groups}."
        )));
    }
    let g = groups as usize;
    let c_in = input.shape()[nd - 1];
    let c_out = weight.shape()[0];
    if !c_in.is_multiple_of(g) {
        return Err(Error::value(format!(
            "[conv] The input channels must be divisible by the number of groups. Got input \
             with shape {} and {groups} groups.",
            fmt_shape(input.shape())
        )));
    }
    if g > 1 && !c_out.is_multiple_of(g) {
        return Err(Error::value(format!(
            "[conv] If groups > 1, the output channels must be divisible by the number of \
             groups. Got {c_out} output channels and {groups} groups."
        )));
    }
    let wc = weight.shape()[nd - 1];
    if c_in != g * wc {
        return Err(Error::value(if g == 1 {
            format!(
                "[conv] Expect the input channels in the input and weight array to match but \
                 got shapes - input: {} and weight: {}",
                fmt_shape(input.shape()),
                fmt_shape(weight.shape())
            )
        } else {
            format!(
                "Given groups={groups} and weights of shape {}, expected to have {} input \
                 channels but got {c_in} input channels instead.",
                fmt_shape(weight.shape()),
                g * wc
            )
        }));
    }
    Ok(sd)
}

/// General convolution (`mx.conv_general`): `stride`, `padding` (symmetric or low/high per
/// axis; negative padding crops the input), `kernel_dilation`, `input_dilation` (zeros
/// inserted between input elements), `groups` and `flip` (convolution instead of
/// cross-correlation: the kernel's spatial axes are reversed). MLX's defaults are
/// `stride = 1, padding = 0, kernel_dilation = 1, input_dilation = 1, groups = 1,
/// flip = false`.
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::reshape(&mx::array![1.0, 2.0, 3.0, 4.0], [1, 4, 1])?;
/// let w = mx::reshape(&mx::array![1.0, 10.0], [1, 2, 1])?;
/// let y = mx::conv_general(&x, &w, 1, ([1], [0]), 1, 1, 1, false)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![10.0, 21.0, 32.0, 43.0]);
/// let f = mx::conv_general(&x, &w, 1, 0, 1, 1, 1, true)?; // flipped kernel
/// assert_eq!(f.to_vec::<f32>()?, vec![12.0, 23.0, 34.0]);
/// # Ok::<(), mx::Error>(())
/// ```
#[allow(clippy::too_many_arguments)] // MLX's signature
pub fn conv_general(
    input: &Array,
    weight: &Array,
    stride: impl Into<ConvArg>,
    padding: impl Into<ConvPadding>,
    kernel_dilation: impl Into<ConvArg>,
    input_dilation: impl Into<ConvArg>,
    groups: i64,
    flip: bool,
) -> Result<Array> {
    let (stride, padding) = (stride.into(), padding.into());
    let (kernel_dilation, input_dilation) = (kernel_dilation.into(), input_dilation.into());
    let sd = check_conv(input, weight, groups)?;
    let dtype = promote_types(input.dtype(), weight.dtype());
    if !dtype.is_floating() {
        // A complex weight promotes to complex64, which MLX accepts but computes from the
        // real parts only; rmlx refuses it rather than return those values.
        return Err(Error::value(format!(
            "[conv] Convolution currently only supports floating point types, but the input \
             ({}) and weight ({}) promote to {dtype}.",
            input.dtype(),
            weight.dtype()
        )));
    }
    let stride = expand(&stride.0, sd, 1, "stride")?;
    let mut lo = expand(&padding.lo, sd, 0, "padding")?;
    let mut hi = expand(&padding.hi, sd, 0, "padding")?;
    let kd = expand(&kernel_dilation.0, sd, 1, "kernel dilation")?;
    let id = expand(&input_dilation.0, sd, 1, "input dilation")?;
    if stride.len() != sd {
        return Err(Error::value(format!(
            "[conv] Invalid strides {} for {sd}D convolution.",
            fmt_list(&stride)
        )));
    }
    if lo.len() != sd || hi.len() != sd {
        return Err(Error::value(format!(
            "[conv] Invalid padding {} | {} for {sd}D convolution.",
            fmt_list(&lo),
            fmt_list(&hi)
        )));
    }
    if kd.len() != sd {
        return Err(Error::value(format!(
            "[conv] Invalid kernel dilation {} for {sd}D convolution.",
            fmt_list(&kd)
        )));
    }
    if id.len() != sd {
        return Err(Error::value(format!(
            "[conv] Invalid input dilation {} for {sd}D convolution.",
            fmt_list(&id)
        )));
    }
    let mut x = crate::ops::astype(input, dtype)?;
    let w = crate::ops::astype(weight, dtype)?;
    // Negative padding crops the input (MLX slices it before convolving).
    if lo.iter().chain(&hi).any(|&p| p < 0) {
        let nd = x.ndim();
        let mut starts = vec![0i64; nd];
        let mut stops: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
        for i in 0..sd {
            if lo[i] < 0 {
                starts[i + 1] = -lo[i];
                lo[i] = 0;
            }
            if hi[i] < 0 {
                stops[i + 1] += hi[i];
                hi[i] = 0;
            }
        }
        // A stop below the start gives an empty axis, as Python slicing does.
        for i in 0..sd {
            stops[i + 1] = stops[i + 1].max(starts[i + 1].min(x.shape()[i + 1] as i64));
        }
        x = crate::ops::slice(&x, starts, stops, vec![1i64; nd])?;
    }
    let shape = out_shape(x.shape(), w.shape(), &stride, &lo, &hi, &kd, &id)?;
    let to_usize = |v: &[i64]| v.iter().map(|&x| x as usize).collect::<Vec<_>>();
    let prim = Convolution {
        stride: to_usize(&stride),
        padding_lo: to_usize(&lo),
        padding_hi: to_usize(&hi),
        kernel_dilation: to_usize(&kd),
        input_dilation: to_usize(&id),
        groups: groups as usize,
        flip,
    };
    Ok(Array::from_op(shape, dtype, prim, vec![x, w]))
}

/// The output shape (MLX's `Convolution::conv_out_shape`, with its C++ integer division).
pub(crate) fn out_shape(
    in_shape: &[usize],
    wt_shape: &[usize],
    stride: &[i64],
    lo: &[i64],
    hi: &[i64],
    kd: &[i64],
    id: &[i64],
) -> Result<Vec<usize>> {
    let nd = in_shape.len();
    let mut out = vec![in_shape[0]];
    for i in 1..nd - 1 {
        let a = i - 1;
        if kd[a] <= 0 {
            return Err(Error::value(format!(
                "[conv] Kernel dilation sizes must be positive. Got kernel dilation {}.",
                fmt_list(kd)
            )));
        }
        if id[a] <= 0 {
            return Err(Error::value(format!(
                "[conv] Input dilation sizes must be positive. Got input dilation {}.",
                fmt_list(id)
            )));
        }
        if lo[a] < 0 || hi[a] < 0 {
            return Err(Error::value(format!(
                "[conv] Padding sizes must be non-negative. Got padding {} | {}.",
                fmt_list(lo),
                fmt_list(hi)
            )));
        }
        if stride[a] <= 0 {
            return Err(Error::value(format!(
                "[conv] Stride sizes must be positive. Got strides {}.",
                fmt_list(stride)
            )));
        }
        let kdim = 1 + kd[a] * (wt_shape[i] as i64 - 1);
        let idim = 1 + id[a] * (in_shape[i] as i64 - 1);
        // C++ division truncates toward zero: a numerator in (-stride, 0) still gives 1.
        let size = (idim + lo[a] + hi[a] - kdim) / stride[a] + 1;
        if size <= 0 {
            let ins: Vec<i64> = in_shape.iter().map(|&d| d as i64).collect();
            let wts: Vec<i64> = wt_shape.iter().map(|&d| d as i64).collect();
            return Err(Error::value(format!(
                "[conv] Spatial dimensions of input after padding cannot be smaller than weight \
                 spatial dimensions. Got error at axis {i} for input with shape {}, padding \
                 low {}, padding high {}, and weight of shape {}.",
                fmt_list(&ins),
                fmt_list(lo),
                fmt_list(hi),
                fmt_list(&wts)
            )));
        }
        out.push(to_i32(size, "output size")? as usize);
    }
    out.push(wt_shape[0]);
    Ok(out)
}

/// 1-D convolution (`mx.conv1d`): input `(N, L, C_in)`, weight `(C_out, K, C_in / groups)`,
/// output `(N, L_out, C_out)`. MLX's defaults are `stride = 1, padding = 0, dilation = 1,
/// groups = 1`.
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::ones(&[2, 8, 3], mx::float32)?;
/// let w = mx::ones(&[4, 3, 3], mx::float32)?;
/// let y = mx::conv1d(&x, &w, 2, 1, 1, 1)?;
/// assert_eq!(y.shape(), &[2, 4, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn conv1d(
    input: &Array,
    weight: &Array,
    stride: impl Into<ConvArg>,
    padding: impl Into<ConvArg>,
    dilation: impl Into<ConvArg>,
    groups: i64,
) -> Result<Array> {
    conv_nd(
        input, weight, stride, padding, dilation, groups, 1, "conv1d",
    )
}

/// 2-D convolution (`mx.conv2d`): input `(N, H, W, C_in)`, weight `(C_out, KH, KW,
/// C_in / groups)`. `stride`, `padding` and `dilation` take one integer or one per axis.
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::ones(&[1, 5, 5, 2], mx::float32)?;
/// let w = mx::ones(&[3, 3, 3, 2], mx::float32)?;
/// let y = mx::conv2d(&x, &w, 1, (1, 0), 1, 1)?;
/// assert_eq!(y.shape(), &[1, 5, 3, 3]);
/// assert_eq!(y.to_vec::<f32>()?[3], 12.0); // 2 rows x 3 columns x 2 channels
/// # Ok::<(), mx::Error>(())
/// ```
pub fn conv2d(
    input: &Array,
    weight: &Array,
    stride: impl Into<ConvArg>,
    padding: impl Into<ConvArg>,
    dilation: impl Into<ConvArg>,
    groups: i64,
) -> Result<Array> {
    conv_nd(
        input, weight, stride, padding, dilation, groups, 2, "conv2d",
    )
}

/// 3-D convolution (`mx.conv3d`): input `(N, D, H, W, C_in)`, weight `(C_out, KD, KH, KW,
/// C_in)`. As in MLX, `groups` other than 1 is an error for 3-D inputs.
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::ones(&[1, 4, 4, 4, 1], mx::float32)?;
/// let w = mx::ones(&[2, 2, 2, 2, 1], mx::float32)?;
/// assert_eq!(mx::conv3d(&x, &w, 2, 0, 1, 1)?.shape(), &[1, 2, 2, 2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn conv3d(
    input: &Array,
    weight: &Array,
    stride: impl Into<ConvArg>,
    padding: impl Into<ConvArg>,
    dilation: impl Into<ConvArg>,
    groups: i64,
) -> Result<Array> {
    conv_nd(
        input, weight, stride, padding, dilation, groups, 3, "conv3d",
    )
}

#[allow(clippy::too_many_arguments)]
fn conv_nd(
    input: &Array,
    weight: &Array,
    stride: impl Into<ConvArg>,
    padding: impl Into<ConvArg>,
    dilation: impl Into<ConvArg>,
    groups: i64,
    nd: usize,
    op: &str,
) -> Result<Array> {
    let stride = per_axis(stride.into(), nd, op, "stride")?;
    let padding = per_axis(padding.into(), nd, op, "padding")?;
    let dilation = per_axis(dilation.into(), nd, op, "dilation")?;
    conv_general(
        input,
        weight,
        stride,
        padding,
        dilation,
        vec![1i64; nd],
        groups,
        false,
    )
}

/// 1-D transposed convolution (`mx.conv_transpose1d`): input `(N, L, C_in)`, weight
/// `(C_out, K, C_in / groups)`. MLX's defaults are `stride = 1, padding = 0, dilation = 1,
/// output_padding = 0, groups = 1`; the output length is
/// `(L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1`.
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::reshape(&mx::array![1.0, 2.0], [1, 2, 1])?;
/// let w = mx::reshape(&mx::array![1.0, 10.0, 100.0], [1, 3, 1])?;
/// let y = mx::conv_transpose1d(&x, &w, 2, 0, 1, 0, 1)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![1.0, 10.0, 102.0, 20.0, 200.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn conv_transpose1d(
    input: &Array,
    weight: &Array,
    stride: impl Into<ConvArg>,
    padding: impl Into<ConvArg>,
    dilation: impl Into<ConvArg>,
    output_padding: impl Into<ConvArg>,
    groups: i64,
) -> Result<Array> {
    let args = [
        stride.into(),
        padding.into(),
        dilation.into(),
        output_padding.into(),
    ];
    conv_transpose_nd(input, weight, args, groups, 1, "conv_transpose1d")
}

/// 2-D transposed convolution (`mx.conv_transpose2d`); see [`conv_transpose1d`].
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::ones(&[1, 3, 3, 4], mx::float32)?;
/// let w = mx::ones(&[2, 3, 3, 4], mx::float32)?;
/// let y = mx::conv_transpose2d(&x, &w, 2, 1, 1, 1, 1)?;
/// assert_eq!(y.shape(), &[1, 6, 6, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn conv_transpose2d(
    input: &Array,
    weight: &Array,
    stride: impl Into<ConvArg>,
    padding: impl Into<ConvArg>,
    dilation: impl Into<ConvArg>,
    output_padding: impl Into<ConvArg>,
    groups: i64,
) -> Result<Array> {
    let args = [
        stride.into(),
        padding.into(),
        dilation.into(),
        output_padding.into(),
    ];
    conv_transpose_nd(input, weight, args, groups, 2, "conv_transpose2d")
}

/// 3-D transposed convolution (`mx.conv_transpose3d`); see [`conv_transpose1d`].
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::ones(&[1, 2, 2, 2, 1], mx::float32)?;
/// let w = mx::ones(&[1, 2, 2, 2, 1], mx::float32)?;
/// assert_eq!(mx::conv_transpose3d(&x, &w, 2, 0, 1, 0, 1)?.shape(), &[1, 4, 4, 4, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn conv_transpose3d(
    input: &Array,
    weight: &Array,
    stride: impl Into<ConvArg>,
    padding: impl Into<ConvArg>,
    dilation: impl Into<ConvArg>,
    output_padding: impl Into<ConvArg>,
    groups: i64,
) -> Result<Array> {
    let args = [
        stride.into(),
        padding.into(),
        dilation.into(),
        output_padding.into(),
    ];
    conv_transpose_nd(input, weight, args, groups, 3, "conv_transpose3d")
}

/// MLX's `conv_transpose_general`: a stride-1 convolution of the input dilated by `stride`,
/// with the flipped kernel and the padding that makes it the adjoint of `conv`.
fn conv_transpose_nd(
    input: &Array,
    weight: &Array,
    args: [ConvArg; 4],
    groups: i64,
    nd: usize,
    op: &str,
) -> Result<Array> {
    let [stride, padding, dilation, output_padding] = args;
    let stride = per_axis(stride, nd, op, "stride")?;
    let padding = per_axis(padding, nd, op, "padding")?;
    let dilation = per_axis(dilation, nd, op, "dilation")?;
    let output_padding = per_axis(output_padding, nd, op, "output_padding")?;
    for v in stride
        .iter()
        .chain(&padding)
        .chain(&dilation)
        .chain(&output_padding)
    {
        to_i32(*v, "parameter")?;
    }
    let has = |a: &Array| a.ndim() > nd;
    if !has(input) || !has(weight) {
        // The shapes the padding is computed from are missing: conv_general reports the rank.
        return conv_general(input, weight, 1, padding, dilation, stride, groups, true);
    }
    let mut lo = Vec::with_capacity(nd);
    let mut hi = Vec::with_capacity(nd);
    for i in 0..nd {
        let k = weight.shape()[1 + i] as i64;
        let n = input.shape()[1 + i] as i64;
        let wt_size = 1 + dilation[i] * (k - 1);
        lo.push(to_i32(wt_size - padding[i] - 1, "padding")?);
        let conv_out = (n - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k - 1) + 1;
        let out_size = 1 + stride[i] * (n - 1);
        hi.push(to_i32(
            conv_out - out_size + padding[i] + output_padding[i],
            "padding",
        )?);
    }
    conv_general(
        input,
        weight,
        vec![1i64; nd],
        ConvPadding { lo, hi },
        dilation,
        stride,
        groups,
        true,
    )
}

/// The `mode` of [`convolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvolveMode {
    /// Every overlap: length `n + m - 1`.
    Full,
    /// The length of the longer input, centred.
    Same,
    /// Only full overlaps: length `n - m + 1`.
    Valid,
}

impl ConvolveMode {
    /// The mode named `"full"`, `"same"` or `"valid"`.
    pub fn from_name(name: &str) -> Result<ConvolveMode> {
        match name {
            "full" => Ok(ConvolveMode::Full),
            "same" => Ok(ConvolveMode::Same),
            "valid" => Ok(ConvolveMode::Valid),
            _ => Err(Error::value("[convolve] Invalid mode.")),
        }
    }
}

/// Discrete convolution of two 1-D arrays (`mx.convolve`, numpy's `convolve`); the kernel is
/// flipped, and when `v` is longer than `a` the two are swapped. MLX's default mode is
/// [`ConvolveMode::Full`]. The longer input must be a floating-point array.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1.0, 2.0, 3.0];
/// let v = mx::array![0.0, 1.0, 0.5];
/// let full = mx::convolve(&a, &v, mx::ConvolveMode::Full)?;
/// assert_eq!(full.to_vec::<f32>()?, vec![0.0, 1.0, 2.5, 4.0, 1.5]);
/// let same = mx::convolve(&a, &v, mx::ConvolveMode::Same)?;
/// assert_eq!(same.to_vec::<f32>()?, vec![1.0, 2.5, 4.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn convolve(a: &Array, v: &Array, mode: ConvolveMode) -> Result<Array> {
    if a.ndim() != 1 || v.ndim() != 1 {
        return Err(Error::value("[convolve] Inputs must be 1D."));
    }
    if a.size() == 0 || v.size() == 0 {
        return Err(Error::value("[convolve] Inputs cannot be empty."));
    }
    let (x, w) = if a.size() < v.size() { (v, a) } else { (a, v) };
    let m = w.size() as i64;
    let x = crate::ops::reshape(x, [1i64, -1, 1])?;
    let w = crate::ops::reshape(w, [1i64, -1, 1])?;
    let (lo, hi) = match mode {
        ConvolveMode::Full => (m - 1, m - 1),
        ConvolveMode::Valid => (0, 0),
        ConvolveMode::Same if m % 2 == 1 => (m / 2, m / 2),
        ConvolveMode::Same => (m / 2, (m / 2 - 1).max(0)),
    };
    let out = conv_general(&x, &w, 1, ([lo], [hi]), 1, 1, 1, true)?;
    crate::ops::reshape(&out, [-1i64])
}
