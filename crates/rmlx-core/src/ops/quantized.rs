//! Quantization: quantize, dequantize, quantized_matmul, gather_qmm, to_fp8, from_fp8.
//!
//! Four modes, as in MLX 0.32.4 ([`QuantMode`]):
//!
//! | mode | group size | bits | scales | biases |
//! | --- | --- | --- | --- | --- |
//! | `affine` | 32, 64 (default), 128 | 1, 2, 3, 4 (default), 5, 6, 8 | `w`'s dtype | yes |
//! | `mxfp4` | 32 | 4 | `uint8` e8m0 | no |
//! | `mxfp8` | 32 | 8 | `uint8` e8m0 | no |
//! | `nvfp4` | 16 | 4 | `uint8` e4m3 | no |
//!
//! Every row of the quantized matrix is a little-endian bit stream in `uint32` words: element
//! `i` takes bits `i * bits .. (i + 1) * bits`, exactly MLX's packing, so weights quantized by
//! MLX load and multiply unchanged. Quantize and dequantize reproduce MLX's CPU results bit for
//! bit. Products accumulate in f32 (MLX's order of additions differs, so results agree within
//! rounding).
//!
//! `qqmm` runs where MLX 0.32.4 runs it on the CPU: a quantized `w` and a single row of `x`
//! (MLX raises "[QQMatmul] NYI for the general case" otherwise, and so does rmlx);
//! `gather_qqmm` is not implemented on MLX's CPU ("[GatherQQMM] NYI") and is not here.
//! `nvfp4`'s tensor-wide `global_scale` is [`quantize_global_scaled`] /
//! [`dequantize_global_scaled`] (MLX's CPU does not use it in products, nor does rmlx).

use super::{broadcast_to, broadcast_two};
use crate::array::Array;
use crate::dtype::{Dtype, promote_types};
use crate::error::{Error, Result, fmt_shape};
use crate::primitive::OutputSpec;
use crate::primitives::quantized::{
    ConvertFp8, Dequantize, GatherQmm, QqMatmul, Quantize, QuantizedMatmul,
};
use std::fmt;
use std::str::FromStr;

/// A quantization mode (MLX's `mode` string).
///
/// ```
/// use rmlx_core::QuantMode;
/// let m: QuantMode = "mxfp4".parse()?;
/// assert_eq!(m, QuantMode::Mxfp4);
/// assert_eq!((m.default_group_size(), m.default_bits()), (32, 4));
/// assert_eq!(QuantMode::Affine.to_string(), "affine");
/// assert!("int4".parse::<QuantMode>().is_err());
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum QuantMode {
    /// Integers with a scale and a bias per group.
    #[default]
    Affine,
    /// e2m1 values with an e8m0 (power of two) scale per 32 elements.
    Mxfp4,
    /// e4m3 values with an e8m0 scale per 32 elements.
    Mxfp8,
    /// e2m1 values with an e4m3 scale per 16 elements.
    Nvfp4,
}

impl QuantMode {
    /// MLX's name of the mode.
    pub const fn as_str(self) -> &'static str {
        match self {
            QuantMode::Affine => "affine",
            QuantMode::Mxfp4 => "mxfp4",
            QuantMode::Mxfp8 => "mxfp8",
            QuantMode::Nvfp4 => "nvfp4",
        }
    }
    /// The group size used when none is given (64, 32, 32, 16).
    pub const fn default_group_size(self) -> usize {
        match self {
            QuantMode::Affine => 64,
            QuantMode::Mxfp4 | QuantMode::Mxfp8 => 32,
            QuantMode::Nvfp4 => 16,
        }
    }
    /// The bits per element used when none are given (4, 4, 8, 4).
    pub const fn default_bits(self) -> usize {
        match self {
            QuantMode::Mxfp8 => 8,
            _ => 4,
        }
    }
    /// `(group_size, bits)` with the mode's defaults filled in.
    fn params(self, group_size: Option<usize>, bits: Option<usize>) -> (usize, usize) {
        (
            group_size.unwrap_or(self.default_group_size()),
            bits.unwrap_or(self.default_bits()),
        )
    }
}

impl fmt::Display for QuantMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QuantMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "affine" => Ok(QuantMode::Affine),
            "mxfp4" => Ok(QuantMode::Mxfp4),
            "mxfp8" => Ok(QuantMode::Mxfp8),
            "nvfp4" => Ok(QuantMode::Nvfp4),
            _ => Err(Error::value(format!("Invalid quantization mode '{s}'."))),
        }
    }
}

/// The float formats' fixed group size and bits, or MLX's error.
fn check_fp_params(op: &str, mode: QuantMode, group_size: usize, bits: usize) -> Result<()> {
    let (gs, b) = (mode.default_group_size(), mode.default_bits());
    if group_size != gs {
        return Err(Error::value(format!(
            "[{op}] {mode} quantization requires group size {gs} but got {group_size}."
        )));
    }
    if bits != b {
        return Err(Error::value(format!(
            "[{op}] {mode} quantization requires bits to be {b} but got {bits}."
        )));
    }
    Ok(())
}

/// Affine group sizes and bits that the kernels support.
fn check_affine_params(op: &str, group_size: usize, bits: usize) -> Result<()> {
    if ![32, 64, 128].contains(&group_size) {
        return Err(Error::value(format!(
            "[{op}] The requested group size {group_size} is not supported. The supported \
             group sizes are 32, 64, and 128."
        )));
    }
    if !(1..=8).contains(&bits) || bits == 7 {
        return Err(Error::value(format!(
            "[{op}] The requested number of bits {bits} is not supported. The supported bits \
             are 1, 2, 3, 4, 5, 6 and 8."
        )));
    }
    Ok(())
}

/// Quantizes `w` along its last axis in groups of `group_size` (`mx.quantize`): returns the
/// packed `uint32` weights, the scales and, for `affine`, the biases. `None` for `group_size`
/// or `bits` takes the mode's default (see the module doc).
///
/// `w` needs at least two dimensions, a float dtype and a last dimension divisible by the
/// group size. Affine scales and biases have `w`'s dtype; the float formats' scales are
/// `uint8` codes.
///
/// ```
/// use rmlx_core::{self as mx, QuantMode};
/// let w = mx::reshape(&mx::arange(0.0, 64.0, 1.0)?, [2, 32])?;
/// let (wq, scales, biases) = mx::quantize(&w, Some(32), Some(4), QuantMode::Affine)?;
/// assert_eq!(wq.shape(), &[2, 4]);
/// assert_eq!(wq.dtype(), mx::uint32);
/// assert_eq!(scales.shape(), &[2, 1]);
/// let back = mx::dequantize(&wq, &scales, biases.as_ref(), Some(32), Some(4), QuantMode::Affine, None)?;
/// assert!(mx::allclose_with(&back, &w, mx::CloseOptions { rtol: 0.0, atol: 1.1, equal_nan: false })?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn quantize(
    w: &Array,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantMode,
) -> Result<(Array, Array, Option<Array>)> {
    let (group_size, bits) = mode.params(group_size, bits);
    if !w.dtype().is_floating() {
        return Err(Error::value(format!(
            "[quantize] Only real floating types can be quantized but w has type {}.",
            w.dtype()
        )));
    }
    if w.ndim() < 2 {
        return Err(Error::value(format!(
            "[quantize] The matrix to be quantized must have at least 2 dimension but it has \
             only {}.",
            w.ndim()
        )));
    }
    let k = w.shape()[w.ndim() - 1];
    if group_size == 0 || !k.is_multiple_of(group_size) {
        return Err(Error::value(format!(
            "[quantize] The last dimension of the matrix needs to be divisible by the \
             quantization group size {group_size}. However the provided  matrix has shape {}",
            fmt_shape(w.shape())
        )));
    }
    if mode == QuantMode::Affine {
        check_affine_params("quantize", group_size, bits)?;
        if w.dtype() == Dtype::Float64 {
            return Err(Error::runtime(
                "[fast::Quantize::eval_cpu] Only supports floating point inputs",
            ));
        }
    } else {
        check_fp_params("quantize", mode, group_size, bits)?;
    }
    let with_last = |last: usize| {
        let mut s = w.shape().to_vec();
        *s.last_mut().expect("2-D or more") = last;
        s
    };
    let wq_shape = with_last(k * bits / 32);
    let s_shape = with_last(k / group_size);
    let mut specs = vec![
        OutputSpec {
            shape: wq_shape,
            dtype: Dtype::Uint32,
        },
        OutputSpec {
            shape: s_shape.clone(),
            dtype: if mode == QuantMode::Affine {
                w.dtype()
            } else {
                Dtype::Uint8
            },
        },
    ];
    if mode == QuantMode::Affine {
        specs.push(OutputSpec {
            shape: s_shape,
            dtype: w.dtype(),
        });
    }
    let prim = Quantize {
        mode,
        group_size,
        bits,
    };
    let mut outs = Array::multi_from_op(specs, prim, vec![w.clone()]).into_iter();
    let wq = outs.next().expect("packed output");
    let scales = outs.next().expect("scales output");
    Ok((wq, scales, outs.next()))
}

/// MLX's checks of an `nvfp4` global scale: only that mode, one float32 value.
fn check_global_scale(op: &str, mode: QuantMode, global_scale: &Array) -> Result<()> {
    if mode != QuantMode::Nvfp4 {
        return Err(Error::value(format!(
            "[{op}] Global scale is only supported for 'nvfp4' quantization mode."
        )));
    }
    if global_scale.size() != 1 {
        return Err(Error::value(format!(
            "[{op}] Global scale must be a scalar but got shape {}.",
            fmt_shape(global_scale.shape())
        )));
    }
    if global_scale.dtype() != Dtype::Float32 {
        return Err(Error::value(format!(
            "[{op}] Global scale must have dtype float32 but got {}.",
            global_scale.dtype()
        )));
    }
    Ok(())
}

/// `nvfp4`'s largest e4m3 scale (448) times its largest value (6): a global scale `g` maps
/// the tensor's range onto the codes by the factor `2688 / g`.
const NVFP4_RANGE: f32 = 448.0 * 6.0;

/// [`quantize`] in `nvfp4` mode with a tensor-wide `global_scale` (`mx.quantize(w,
/// mode="nvfp4", global_scale=g)`): as MLX, the groups' e4m3 scales are computed on `w`
/// multiplied by `2688 / g`, which spreads small tensors over the e4m3 range. Dequantize with
/// [`dequantize_global_scaled`] and the same `g`.
///
/// ```
/// use rmlx_core::{self as mx, QuantMode};
/// let w = mx::multiply(&mx::reshape(&mx::arange(0.0, 32.0, 1.0)?, [2, 16])?, 1e-4f32)?;
/// let g = mx::max(&mx::abs(&w)?)?;
/// let (wq, s) = mx::quantize_global_scaled(&w, None, None, QuantMode::Nvfp4, &g)?;
/// let back = mx::dequantize_global_scaled(&wq, &s, None, None, QuantMode::Nvfp4, &g, Some(mx::float32))?;
/// assert_eq!(back.shape(), &[2, 16]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn quantize_global_scaled(
    w: &Array,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantMode,
    global_scale: &Array,
) -> Result<(Array, Array)> {
    check_global_scale("quantize", mode, global_scale)?;
    let encode = super::divide(Array::from_slice(&[NVFP4_RANGE], &[])?, global_scale)?;
    let scaled = super::multiply(w, &encode)?;
    let (wq, scales, _) = quantize(&scaled, group_size, bits, mode)?;
    Ok((wq, scales))
}

/// [`dequantize`] of `nvfp4` codes made by [`quantize_global_scaled`] with `global_scale`:
/// the values times `g / 2688`. The dtype defaults to bfloat16, as [`dequantize`]'s.
pub fn dequantize_global_scaled(
    w: &Array,
    scales: &Array,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantMode,
    global_scale: &Array,
    dtype: Option<Dtype>,
) -> Result<Array> {
    check_global_scale("dequantize", mode, global_scale)?;
    let out_type = mode_dtype("dequantize", mode, scales, None, dtype)?;
    let plain = dequantize(
        w,
        scales,
        None,
        group_size,
        bits,
        mode,
        Some(Dtype::Float32),
    )?;
    let decode = super::divide(global_scale, Array::from_slice(&[NVFP4_RANGE], &[])?)?;
    super::astype(&super::multiply(&plain, &decode)?, out_type)
}

/// Checks the mode's scales / biases and finds the output dtype (MLX's
/// `validate_mode_with_type`).
fn mode_dtype(
    op: &str,
    mode: QuantMode,
    scales: &Array,
    biases: Option<&Array>,
    out: Option<Dtype>,
) -> Result<Dtype> {
    if let Some(d) = out
        && !d.is_floating()
    {
        return Err(Error::value(format!(
            "[{op}] Only real floating types are supported but output dtype == {d}."
        )));
    }
    if mode == QuantMode::Affine {
        let Some(b) = biases else {
            return Err(Error::value(format!(
                "[{op}] Biases must be provided for affine quantization."
            )));
        };
        let d = promote_types(scales.dtype(), b.dtype());
        if !d.is_floating() {
            return Err(Error::value(format!(
                "[{op}] Only real floating types are supported but scales.dtype() == {} and \
                 biases.dtype() == {}.",
                scales.dtype(),
                b.dtype()
            )));
        }
        return Ok(out.unwrap_or(d));
    }
    if scales.dtype() != Dtype::Uint8 {
        return Err(Error::value(format!(
            "[{op}] Scale type must be uint8 but received type {}.",
            scales.dtype()
        )));
    }
    if biases.is_some() {
        return Err(Error::value(format!(
            "[{op}] Biases must be null for quantization mode '{mode}'."
        )));
    }
    Ok(out.unwrap_or(Dtype::Bfloat16))
}

/// Dequantizes `w` with its `scales` (and `biases` for `affine`) (`mx.dequantize`). The
/// result's dtype is `dtype`, or by default the scales' and biases' (affine) or bfloat16 (the
/// float formats).
///
/// ```
/// use rmlx_core::{self as mx, QuantMode};
/// let w = mx::reshape(&mx::arange(0.0, 32.0, 1.0)?, [1, 32])?;
/// let (wq, s, _) = mx::quantize(&w, None, None, QuantMode::Mxfp8)?;
/// let back = mx::dequantize(&wq, &s, None, None, None, QuantMode::Mxfp8, Some(mx::float32))?;
/// assert_eq!(back.to_vec::<f32>()?[..4], [0.0, 1.0, 2.0, 3.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn dequantize(
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantMode,
    dtype: Option<Dtype>,
) -> Result<Array> {
    let out_type = mode_dtype("dequantize", mode, scales, biases, dtype)?;
    let (group_size, bits) = mode.params(group_size, bits);
    if bits == 0 || bits > 32 {
        return Err(Error::value(format!(
            "[dequantize] Invalid value for bits: {bits}"
        )));
    }
    if group_size == 0 {
        return Err(Error::value(format!(
            "[dequantize] Invalid value for group_size: {group_size}"
        )));
    }
    if w.dtype() != Dtype::Uint32 {
        return Err(Error::value(
            "[dequantize] The matrix should be given as a uint32",
        ));
    }
    if w.ndim() < 2 {
        return Err(Error::value(format!(
            "[dequantize] The matrix to be dequantized must have at least 2 dimension but it \
             has only {}.",
            w.ndim()
        )));
    }
    let what = if mode == QuantMode::Affine {
        "scales and biases"
    } else {
        check_fp_params("dequantize", mode, group_size, bits)?;
        "scales"
    };
    let nd = w.ndim();
    let mismatch = || {
        Error::value(format!(
            "[dequantize] Shape of {what} does not match the matrix"
        ))
    };
    let lead = |a: &Array| a.shape()[..a.ndim() - 1].to_vec();
    if scales.ndim() != nd || biases.is_some_and(|b| b.ndim() != nd) {
        return Err(mismatch());
    }
    if lead(scales) != lead(w) || biases.is_some_and(|b| lead(b) != lead(w)) {
        return Err(mismatch());
    }
    let out_size = w.shape()[nd - 1] * 32 / bits;
    if out_size != scales.shape()[nd - 1] * group_size {
        let extra = if mode == QuantMode::Affine {
            format!(" with group_size={group_size} and bits={bits}.")
        } else {
            ".".to_string()
        };
        return Err(Error::value(format!(
            "[dequantize] Shape of {what} does not match the matrix given the quantization \
             parameters. Provided matrix of shape {} and {} of shape {}{extra}",
            fmt_shape(w.shape()),
            if mode == QuantMode::Affine {
                "scales/biases"
            } else {
                "scales"
            },
            fmt_shape(scales.shape())
        )));
    }
    // Each row must hold whole codes for the kernel's bit stream.
    if !(w.shape()[nd - 1] * 32).is_multiple_of(bits) {
        return Err(Error::value(format!(
            "[dequantize] Rows of {} words do not hold a whole number of {bits}-bit values.",
            w.shape()[nd - 1]
        )));
    }
    let mut shape = w.shape().to_vec();
    shape[nd - 1] = out_size;
    let mut inputs = vec![w.clone(), scales.clone()];
    inputs.extend(biases.cloned());
    Ok(Array::from_op(
        shape,
        out_type,
        Dequantize {
            mode,
            group_size,
            bits,
        },
        inputs,
    ))
}

/// The checks shared by the products: mode, scales/biases, shapes; returns the output dtype,
/// group size, bits and `(inner, outer)` sizes of the dequantized `w`.
#[allow(clippy::too_many_arguments)]
fn check_product(
    op: &str,
    x: &Array,
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    transpose: bool,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantMode,
) -> Result<(Dtype, usize, usize, usize, usize)> {
    let sb_dtype = mode_dtype(op, mode, scales, biases, None)?;
    let (group_size, bits) = mode.params(group_size, bits);
    if mode == QuantMode::Affine {
        if ![32, 64, 128].contains(&group_size) {
            return Err(Error::value(format!(
                "[{op}] Quantization group size must be 32, 64 or 128, got {group_size}."
            )));
        }
        if !(1..=8).contains(&bits) || bits == 7 {
            return Err(Error::value(format!(
                "[{op}] Quantization bits must be 1, 2, 3, 4, 5, 6 or 8, got {bits}."
            )));
        }
    } else {
        check_fp_params(op, mode, group_size, bits)?;
    }
    if w.dtype() != Dtype::Uint32 {
        return Err(Error::value(format!(
            "[{op}] The weight matrix should be uint32 but received {}",
            w.dtype()
        )));
    }
    if let Some(b) = biases
        && b.shape() != scales.shape()
    {
        return Err(Error::value(format!(
            "[{op}] Scales and biases should have the same shape. Received scales with shape \
             {} and biases with {}",
            fmt_shape(scales.shape()),
            fmt_shape(b.shape())
        )));
    }
    let nd = w.ndim();
    if nd < 2 || scales.ndim() != nd || w.shape()[..nd - 2] != scales.shape()[..nd - 2] {
        return Err(Error::value(format!(
            "[{op}] Weight and scales should have the same batch shape. Received weight with \
             shape {}, scales with {}.",
            fmt_shape(w.shape()),
            fmt_shape(scales.shape())
        )));
    }
    if w.shape()[nd - 1] * 32 / bits != scales.shape()[nd - 1] * group_size
        || scales.shape()[nd - 2] != w.shape()[nd - 2]
    {
        return Err(Error::value(format!(
            "[{op}] The shapes of the weight and scales are incompatible based on bits and \
             group_size. w.shape() == {} and scales.shape() == {} with group_size={group_size} \
             and bits={bits}",
            fmt_shape(w.shape()),
            fmt_shape(scales.shape())
        )));
    }
    if x.ndim() == 0 {
        return Err(Error::index(format!(
            "[{op}] x must have at least one dimension."
        )));
    }
    let x_inner = x.shape()[x.ndim() - 1];
    let expanded = w.shape()[nd - 1] * 32 / bits;
    let (inner, outer) = if transpose {
        (expanded, w.shape()[nd - 2])
    } else {
        (w.shape()[nd - 2], expanded)
    };
    if inner != x_inner {
        return Err(Error::value(format!(
            "[{op}] Last dimension of first input with shape (..., {x_inner}) does not match \
             the expanded quantized matrix ({inner}, {outer}) computed from shape {} with \
             group_size={group_size}, bits={bits} and transpose={transpose}",
            fmt_shape(w.shape())
        )));
    }
    let dtype = if mode == QuantMode::Affine {
        promote_types(x.dtype(), sb_dtype)
    } else {
        x.dtype()
    };
    if !dtype.is_floating() {
        return Err(Error::value(format!(
            "[{op}] Only real floating types are supported but x.dtype() == {}.",
            x.dtype()
        )));
    }
    if dtype == Dtype::Float64 {
        return Err(Error::runtime(
            "[quantized_matmul] only floating types are supported",
        ));
    }
    Ok((dtype, group_size, bits, inner, outer))
}

/// `shape` with its last two dimensions replaced by those of `tail`.
fn with_tail(batch: &[usize], tail: &[usize]) -> Vec<usize> {
    let mut s = batch.to_vec();
    s.extend_from_slice(&tail[tail.len() - 2..]);
    s
}

/// `x @ w.T` (or `x @ w` with `transpose = false`) with a quantized `w`
/// (`mx.quantized_matmul`). `w`, `scales` and `biases` are what [`quantize`] returned for the
/// same `group_size`, `bits` and `mode`. `x` may have leading batch dimensions; when `w` has
/// them too they broadcast. Affine products compute in the promoted dtype of `x`, scales and
/// biases; the float formats in `x`'s dtype.
///
/// ```
/// use rmlx_core::{self as mx, QuantMode};
/// let w = mx::ones(&[8, 64], mx::float32)?;
/// let (wq, s, b) = mx::quantize(&w, None, None, QuantMode::Affine)?;
/// let x = mx::ones(&[2, 64], mx::float32)?;
/// let y = mx::quantized_matmul(&x, &wq, &s, b.as_ref(), true, None, None, QuantMode::Affine)?;
/// assert_eq!(y.shape(), &[2, 8]);
/// assert_eq!(y.to_vec::<f32>()?[0], 64.0);
/// # Ok::<(), mx::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn quantized_matmul(
    x: &Array,
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    transpose: bool,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantMode,
) -> Result<Array> {
    let op = "quantized_matmul";
    let (dtype, group_size, bits, _, outer) =
        check_product(op, x, w, scales, biases, transpose, group_size, bits, mode)?;
    let mut inputs = vec![super::astype(x, dtype)?, w.clone()];
    if mode == QuantMode::Affine {
        inputs.push(super::astype(scales, dtype)?);
        inputs.push(super::astype(biases.expect("checked"), dtype)?);
    } else {
        inputs.push(scales.clone());
    }
    if x.ndim() > 2 && w.ndim() > 2 {
        let batch = broadcast_two(&x.shape()[..x.ndim() - 2], &w.shape()[..w.ndim() - 2])?;
        for a in inputs.iter_mut() {
            let s = with_tail(&batch, a.shape());
            *a = broadcast_to(&*a, s)?;
        }
    }
    let mut out_shape = inputs[0].shape().to_vec();
    *out_shape.last_mut().expect("checked") = outer;
    Ok(Array::from_op(
        out_shape,
        dtype,
        QuantizedMatmul {
            mode,
            group_size,
            bits,
            transpose,
        },
        inputs,
    ))
}

/// The indices of a gather product (`gather_mm`, `gather_qmm`) as `uint32` (integers only),
/// or every matrix of `a` in order (`arange` over its batch dimensions).
pub(crate) fn indices_or_default(op: &str, idx: Option<&Array>, a: &Array) -> Result<Array> {
    if a.ndim() < 2 {
        return Err(Error::value(format!(
            "[{op}] Input must have at least two dimensions but got input with shape {}.",
            fmt_shape(a.shape())
        )));
    }
    match idx {
        Some(i) => {
            if !i.dtype().is_integer() {
                return Err(Error::value(format!(
                    "[{op}] Got indices with invalid dtype. Indices must be integral."
                )));
            }
            super::astype(i, Dtype::Uint32)
        }
        None => {
            let batch = &a.shape()[..a.ndim() - 2];
            let n: usize = batch.iter().product();
            super::reshape(
                &super::arange_dtype(0.0, n as f64, 1.0, Dtype::Uint32)?,
                batch,
            )
        }
    }
}

/// Quantized matrix products with matrix-level gather (`mx.gather_qmm`): output matrix `i` is
/// `x[lhs_indices[i]] @ w[rhs_indices[i]].T` (or without the transpose), where the indices are
/// flat over the batch dimensions of `x` and of `w` (`scales` and `biases` share `w`'s).
/// Missing indices default to every batch element in order; the two index arrays broadcast.
/// The result's shape is the indices' shape followed by `(M, N)`. `sorted_indices` is a hint
/// that changes nothing here. An index out of range is an error when the result is computed
/// (MLX reads out of bounds).
///
/// ```
/// use rmlx_core::{self as mx, QuantMode};
/// let w = mx::ones(&[3, 8, 64], mx::float32)?; // three experts
/// let (wq, s, b) = mx::quantize(&w, None, None, QuantMode::Affine)?;
/// let x = mx::ones(&[2, 1, 64], mx::float32)?;
/// let rhs = mx::array![2u32, 0];
/// let y = mx::gather_qmm(&x, &wq, &s, b.as_ref(), None, Some(&rhs), true, None, None,
///                        QuantMode::Affine, false)?;
/// assert_eq!(y.shape(), &[2, 1, 8]);
/// # Ok::<(), mx::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn gather_qmm(
    x: &Array,
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    lhs_indices: Option<&Array>,
    rhs_indices: Option<&Array>,
    transpose: bool,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantMode,
    sorted_indices: bool,
) -> Result<Array> {
    if lhs_indices.is_none() && rhs_indices.is_none() {
        return quantized_matmul(x, w, scales, biases, transpose, group_size, bits, mode);
    }
    let op = "gather_qmm";
    let (dtype, group_size, bits, _, outer) =
        check_product(op, x, w, scales, biases, transpose, group_size, bits, mode)?;
    let lhs = indices_or_default(op, lhs_indices, x)?;
    let rhs = indices_or_default(op, rhs_indices, w)?;
    let ishape = broadcast_two(lhs.shape(), rhs.shape())?;
    let lhs = broadcast_to(&lhs, &ishape)?;
    let rhs = broadcast_to(&rhs, &ishape)?;
    let mut out_shape = ishape;
    out_shape.push(x.shape()[x.ndim() - 2]);
    out_shape.push(outer);
    let mut inputs = vec![super::astype(x, dtype)?, w.clone()];
    if mode == QuantMode::Affine {
        inputs.push(super::astype(scales, dtype)?);
        inputs.push(super::astype(biases.expect("checked"), dtype)?);
    } else {
        inputs.push(scales.clone());
    }
    inputs.push(lhs);
    inputs.push(rhs);
    Ok(Array::from_op(
        out_shape,
        dtype,
        GatherQmm {
            mode,
            group_size,
            bits,
            transpose,
            left_sorted: sorted_indices && rhs_indices.is_none(),
            right_sorted: sorted_indices && lhs_indices.is_none(),
        },
        inputs,
    ))
}

/// Converts a float array to fp8 e4m3 codes (`uint8`) (`mx.to_fp8`): round to nearest even;
/// magnitudes beyond 448, infinities and NaN saturate to ±448.
///
/// ```
/// use rmlx_core as mx;
/// let c = mx::to_fp8(&mx::array![1.0f32, -2.0, 1000.0])?;
/// assert_eq!(c.to_vec::<u8>()?, vec![0x38, 0xC0, 0x7E]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn to_fp8(x: &Array) -> Result<Array> {
    if !x.dtype().is_floating() {
        return Err(Error::value(format!(
            "[to_fp8] Only real floating types are supported but x.dtype() == {}.",
            x.dtype()
        )));
    }
    Ok(Array::from_op(
        x.shape().to_vec(),
        Dtype::Uint8,
        ConvertFp8 { to_fp8: true },
        vec![x.clone()],
    ))
}

/// Converts fp8 e4m3 codes (`uint8`) to a float dtype (`mx.from_fp8`; MLX's default dtype is
/// bfloat16). Codes `0x7F` and `0xFF` are NaN.
///
/// ```
/// use rmlx_core as mx;
/// let v = mx::from_fp8(&mx::array![0x38u8, 0xC0, 0x7E], mx::float32)?;
/// assert_eq!(v.to_vec::<f32>()?, vec![1.0, -2.0, 448.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn from_fp8(x: &Array, dtype: Dtype) -> Result<Array> {
    if x.dtype() != Dtype::Uint8 {
        return Err(Error::value(format!(
            "[from_fp8] Input must have type uint8 but x.dtype() == {}.",
            x.dtype()
        )));
    }
    if !dtype.is_floating() {
        return Err(Error::value(format!(
            "[from_fp8] Only real floating types are supported but dtype == {dtype}."
        )));
    }
    Ok(Array::from_op(
        x.shape().to_vec(),
        dtype,
        ConvertFp8 { to_fp8: false },
        vec![x.clone()],
    ))
}

/// A product where `x` is quantized on the fly (`mx.qqmm`, MLX's default mode `nvfp4`): each
/// group of `x` is rounded through the mode's float format (scale and values), then multiplied
/// with the quantized `w` as `x @ w.T`. As on MLX's CPU, `w` must be quantized (with its
/// `scales`) and `x` must be one row (`(K,)`, `(1, K)`, or `(1, 1, K)`-like); other cases are
/// the same runtime error as MLX's. Modes: `nvfp4`, `mxfp4`, `mxfp8` (MLX's CPU computes
/// meaningless values for `affine`; rmlx refuses it).
///
/// ```
/// use rmlx_core::{self as mx, QuantMode};
/// let w = mx::ones(&[4, 32], mx::float32)?;
/// let (wq, s, _) = mx::quantize(&w, None, None, QuantMode::Mxfp8)?;
/// let x = mx::full(&[1, 32], 0.5f32, None)?;
/// let y = mx::qqmm(&x, &wq, Some(&s), None, None, QuantMode::Mxfp8)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![16.0; 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn qqmm(
    x: &Array,
    w: &Array,
    scales: Option<&Array>,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantMode,
) -> Result<Array> {
    let op = "qqmm";
    let (group_size, bits) = mode.params(group_size, bits);
    let x2 = if x.ndim() == 1 {
        super::expand_dims(x, 0)?
    } else if w.ndim() == 2 && x.ndim() > 2 {
        super::flatten(x, 0, -2)?
    } else {
        x.clone()
    };
    if x2.ndim() > 2 || w.ndim() > 2 {
        return Err(Error::value(format!(
            "[{op}] Only 2D inputs are supported but x.ndim() == {} and w.ndim() == {}.",
            x2.ndim(),
            w.ndim()
        )));
    }
    let float_ok = |d: Dtype| d.is_floating() && d != Dtype::Float64;
    let nyi = || Error::runtime("[QQMatmul] NYI for the general case");
    let Some(scales) = scales.filter(|_| w.dtype() == Dtype::Uint32) else {
        if w.dtype() == Dtype::Uint32 {
            return Err(Error::value(format!(
                "[{op}] Scales must be provided if second argument is quantized."
            )));
        }
        if !float_ok(w.dtype()) {
            return Err(Error::value(format!(
                "[{op}] Only real floating types except float64 are supported but second \
                 argument dtype == {}.",
                w.dtype()
            )));
        }
        // A float w is quantized on the fly by MLX's GPU only.
        return Err(nyi());
    };
    if !float_ok(x2.dtype()) {
        return Err(Error::value(format!(
            "[{op}] Only real floating types except float64 are supported but first argument \
             dtype == {}.",
            x2.dtype()
        )));
    }
    if mode == QuantMode::Affine {
        return Err(Error::value(format!(
            "[{op}] The 'affine' mode is not supported; use 'nvfp4', 'mxfp4' or 'mxfp8'."
        )));
    }
    check_fp_params(op, mode, group_size, bits)?;
    if scales.dtype() != Dtype::Uint8 {
        return Err(Error::value(format!(
            "[{op}] Scale type must be uint8 but received type {}.",
            scales.dtype()
        )));
    }
    let (_, _, _, _, outer) = check_product(
        op,
        &x2,
        w,
        scales,
        None,
        true,
        Some(group_size),
        Some(bits),
        mode,
    )?;
    if x2.shape()[0] != 1 {
        return Err(nyi());
    }
    let mut shape = x2.shape().to_vec();
    shape[1] = outer;
    let out = Array::from_op(
        shape,
        x2.dtype(),
        QqMatmul {
            mode,
            group_size,
            bits,
        },
        vec![x2, w.clone(), scales.clone()],
    );
    if x.ndim() > 2 {
        let mut s = x.shape().to_vec();
        *s.last_mut().expect("3-D or more") = outer;
        super::reshape(&out, s)
    } else if x.ndim() == 1 {
        super::reshape(&out, [outer])
    } else {
        Ok(out)
    }
}
