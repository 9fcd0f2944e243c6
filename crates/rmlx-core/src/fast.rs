//! Fused kernels of common layers, as `mlx.core.fast`: [`rms_norm`], [`layer_norm`], [`rope`]
//! and [`scaled_dot_product_attention`], plus [`gated_delta_update`] (the gated delta rule
//! scan) and [`cross_entropy`].
//!
//! Each op validates its arguments as MLX does and builds one node holding one primitive
//! (`RMSNorm`, `LayerNorm`, `RoPE`, `ScaledDotProductAttention`), whose CPU kernel is fused:
//! one pass over each row for the norms and rope, and a blocked attention with an online
//! softmax that never holds a full `(L_q, L_kv)` score matrix. Half precision computes in
//! float32 and rounds once.
//!
//! Each op also has a plain-ops version (`*_fallback`, crate-private) written with public
//! rmlx ops exactly as MLX writes its fallback; the transforms use it for their rules, and the
//! tests check that it agrees with the fused primitive.
//!
//! ```
//! use rmlx_core as mx;
//! let x = mx::array![[1.0f32, 2.0, 3.0, 4.0]];
//! let y = mx::fast::layer_norm(&x, None, None, 1e-5)?;
//! assert!((y.sum()?.item::<f32>()?).abs() < 1e-5);
//! # Ok::<(), mx::Error>(())
//! ```

mod custom_kernel;
pub use custom_kernel::{KernelLaunch, MathMode, MetalKernel, TemplateArg, metal_kernel};

use crate::array::Array;
use crate::dtype::{Dtype, finfo, promote_types};
use crate::error::{Error, Result, fmt_shape};
use crate::ops::{
    add, arange_dtype, astype, broadcast_to, concatenate, cos, exp, expand_dims, flatten,
    greater_equal, matmul, mean_axes, multiply, reciprocal, reshape, rsqrt, sin, slice,
    softmax_opts, square, subtract, swapaxes, unflatten, r#where,
};
use crate::primitives::fast::{LayerNorm, MaskKind, RmsNorm, Rope, ScaledDotProductAttention};

pub use crate::ops::gated_delta::gated_delta_update;

/// A scalar of `value` in `dtype` (an absent weight or bias).
fn scalar_of(value: f64, dtype: Dtype) -> Result<Array> {
    astype(&Array::scalar(value), dtype)
}

/// The checks MLX makes of a norm's optional weight or bias: one dimension, as long as the
/// last axis of `x`. `what` is how MLX names the argument in its messages.
fn check_affine(op: &str, what: &str, p: &Array, x: &Array) -> Result<()> {
    if p.ndim() != 1 {
        return Err(Error::value(format!(
            "[{op}] {what} must have 1 dimension but has {} dimensions.",
            p.ndim()
        )));
    }
    let last = x.shape()[x.ndim() - 1];
    if p.size() != last {
        return Err(Error::value(format!(
            "[{op}] {what} must have the same size as the last dimension of x but has {} \
             elements.",
            p.size()
        )));
    }
    Ok(())
}

fn check_input_rank(op: &str, x: &Array) -> Result<()> {
    if x.ndim() == 0 {
        return Err(Error::value(format!(
            "[{op}] Input must have at least 1 dimension but got input with 0 dimensions."
        )));
    }
    Ok(())
}

fn check_floating(op: &str, d: Dtype) -> Result<()> {
    if !d.is_floating() {
        return Err(Error::value(format!(
            "[{op}] Received unsupported type {d}."
        )));
    }
    Ok(())
}

/// Root mean square normalization over the last axis (`mx.fast.rms_norm`):
/// `x / sqrt(mean(x^2) + eps) * weight`.
///
/// `weight`, when given, is one-dimensional with the size of the last axis of `x`. The result
/// has the promoted dtype of `x` and `weight`, which must be a float type; the statistics are
/// computed in float32 (float64 for float64).
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::array![[3.0f32, 4.0]];
/// let w = mx::array![1.0f32, 2.0];
/// let y = mx::fast::rms_norm(&x, Some(&w), 0.0)?;
/// let v = y.to_vec::<f32>()?;
/// let r = (12.5f32).sqrt();
/// assert!((v[0] - 3.0 / r).abs() < 1e-6 && (v[1] - 8.0 / r).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rms_norm(x: &Array, weight: Option<&Array>, eps: f32) -> Result<Array> {
    const OP: &str = "rms_norm";
    check_input_rank(OP, x)?;
    if let Some(w) = weight {
        check_affine(OP, "(*weight)", w, x)?;
    }
    let out = match weight {
        Some(w) => promote_types(x.dtype(), w.dtype()),
        None => x.dtype(),
    };
    check_floating(OP, out)?;
    let w = match weight {
        Some(w) => astype(w, out)?,
        None => scalar_of(1.0, out)?,
    };
    Ok(Array::from_op(
        x.shape().to_vec(),
        out,
        RmsNorm { eps },
        vec![astype(x, out)?, w],
    ))
}

/// Layer normalization over the last axis (`mx.fast.layer_norm`):
/// `(x - mean(x)) / sqrt(var(x) + eps) * weight + bias`.
///
/// `weight` and `bias`, when given, are one-dimensional with the size of the last axis of `x`.
/// The result has the promoted dtype of `x`, `weight` and `bias` (only `x`'s when there is no
/// weight, as in MLX), which must be a float type.
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::array![[1.0f32, 3.0]];
/// let b = mx::array![10.0f32, 10.0];
/// let y = mx::fast::layer_norm(&x, None, Some(&b), 0.0)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![9.0, 11.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn layer_norm(
    x: &Array,
    weight: Option<&Array>,
    bias: Option<&Array>,
    eps: f32,
) -> Result<Array> {
    const OP: &str = "layer_norm";
    check_input_rank(OP, x)?;
    if let Some(w) = weight {
        check_affine(OP, "weight", w, x)?;
    }
    if let Some(b) = bias {
        check_affine(OP, "bias", b, x)?;
    }
    let out = match (weight, bias) {
        (Some(w), Some(b)) => promote_types(promote_types(x.dtype(), w.dtype()), b.dtype()),
        (Some(w), None) => promote_types(x.dtype(), w.dtype()),
        _ => x.dtype(),
    };
    check_floating(OP, out)?;
    let w = match weight {
        Some(w) => astype(w, out)?,
        None => scalar_of(1.0, out)?,
    };
    let b = match bias {
        Some(b) => astype(b, out)?,
        None => scalar_of(0.0, out)?,
    };
    Ok(Array::from_op(
        x.shape().to_vec(),
        out,
        LayerNorm { eps },
        vec![astype(x, out)?, w, b],
    ))
}

/// The position offset of [`rope`]: one integer, or an integer array holding a scalar or one
/// offset per batch element.
#[derive(Clone, Debug)]
pub enum RopeOffset {
    /// The same offset for every batch element.
    Int(i32),
    /// A scalar or a vector of `x.shape[0]` offsets, of an integer dtype.
    Array(Array),
}

impl From<i32> for RopeOffset {
    fn from(v: i32) -> Self {
        RopeOffset::Int(v)
    }
}
impl From<&Array> for RopeOffset {
    fn from(a: &Array) -> Self {
        RopeOffset::Array(a.clone())
    }
}
impl From<Array> for RopeOffset {
    fn from(a: Array) -> Self {
        RopeOffset::Array(a)
    }
}

/// Rotary positional encoding (`mx.fast.rope`) of `x`, shaped `(B, *, T, D)`.
///
/// The first `dims` features of each position `t` are rotated in pairs by the angles
/// `(offset + t) * scale * inv_freq[i]`, where `inv_freq[i] = base^(-i / (dims / 2))`, or
/// `1 / freqs[i]` when `freqs` (of size `dims / 2`) is given instead of `base` (exactly one of
/// the two must be given). `traditional` pairs consecutive features `(2i, 2i + 1)`; otherwise
/// feature `i` pairs with `i + dims / 2`. Features past `dims` pass through unchanged.
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::ones(&[1, 2, 4], mx::float32)?;
/// let y = mx::fast::rope(&x, 4, false, Some(10000.0), 1.0, 0, None)?;
/// let v = y.to_vec::<f32>()?;
/// assert_eq!(&v[..4], &[1.0, 1.0, 1.0, 1.0]); // position 0 is not rotated
/// let c = 1f32.cos() - 1f32.sin(); // position 1, first pair rotated by 1 radian
/// assert!((v[4] - c).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rope(
    x: &Array,
    dims: i32,
    traditional: bool,
    base: Option<f32>,
    scale: f32,
    offset: impl Into<RopeOffset>,
    freqs: Option<&Array>,
) -> Result<Array> {
    let offset = match offset.into() {
        RopeOffset::Int(v) => Array::scalar(v),
        RopeOffset::Array(a) => a,
    };
    let freqs = match freqs {
        Some(f) => {
            let f = astype(f, Dtype::Float32)?;
            if base.is_some() {
                return Err(Error::value(
                    "[rope] Only one of base or freqs can have a value.",
                ));
            }
            Some(f)
        }
        None if base.is_none() => {
            return Err(Error::value("[rope] Neither base nor freqs has a value."));
        }
        None => None,
    };
    rope_impl(
        x,
        &offset,
        freqs.as_ref(),
        dims,
        traditional,
        base.unwrap_or(1.0),
        scale,
        true,
    )
}

/// [`rope`] after the base / freqs choice: validates and builds the node. `forward == false`
/// rotates the other way (the transpose, for the vjp).
#[allow(clippy::too_many_arguments)]
pub(crate) fn rope_impl(
    x: &Array,
    offset: &Array,
    freqs: Option<&Array>,
    dims: i32,
    traditional: bool,
    base: f32,
    scale: f32,
    forward: bool,
) -> Result<Array> {
    if x.ndim() < 3 {
        return Err(Error::value(format!(
            "[rope] Input must have at least 3 dimensions but got input with {} dimensions.",
            x.ndim()
        )));
    }
    if !x.dtype().is_floating() {
        return Err(Error::value(format!(
            "[rope] Input must be a floating type but got {}.",
            x.dtype()
        )));
    }
    if offset.ndim() > 1 {
        return Err(Error::value(format!(
            "[rope] offset must have at most one dimension but has shape {}.",
            fmt_shape(offset.shape())
        )));
    }
    if offset.size() != 1 && offset.size() != x.shape()[0] {
        return Err(Error::value(format!(
            "[rope] offset must be a scalar or vector with {} elements but has shape {}.",
            x.shape()[0],
            fmt_shape(offset.shape())
        )));
    }
    if !offset.dtype().is_integer() {
        return Err(Error::value(format!(
            "[rope] offset must be an integer but got type {}.",
            offset.dtype()
        )));
    }
    let offset = if offset.dtype().size() != 4 {
        astype(offset, Dtype::Int32)?
    } else {
        offset.clone()
    };
    if dims <= 0 {
        return Err(Error::value(format!(
            "[rope] dims must be positive but got {dims}."
        )));
    }
    if dims % 2 != 0 {
        return Err(Error::value(format!(
            "[rope] dims must be even but got {dims}."
        )));
    }
    let last = x.shape()[x.ndim() - 1];
    if dims as usize > last {
        return Err(Error::value(format!(
            "[rope] dims must not exceed the input's last dimension ({last}) but got {dims}."
        )));
    }
    let mut inputs = vec![x.clone(), offset];
    if let Some(f) = freqs {
        if f.ndim() != 1 || f.shape()[0] != dims as usize / 2 {
            return Err(Error::value(format!(
                "[rope] freqs must be one dimensional with size {} but got shape {}.",
                dims / 2,
                fmt_shape(f.shape())
            )));
        }
        inputs.push(astype(f, Dtype::Float32)?);
    }
    Ok(Array::from_op(
        x.shape().to_vec(),
        x.dtype(),
        Rope {
            dims: dims as usize,
            traditional,
            base,
            scale,
            forward,
        },
        inputs,
    ))
}

/// The mask of [`scaled_dot_product_attention`].
#[derive(Clone, Debug, Default)]
pub enum AttentionMask {
    /// No mask.
    #[default]
    None,
    /// `"causal"`: query `i` sees keys `j <= i + L_kv - L_q` (the last query aligns with the
    /// last key, as in MLX).
    Causal,
    /// A boolean mask (`true` keeps a score) or an additive one, broadcastable to
    /// `(B, N_q, L_q, L_kv)`, with at most 4 dimensions.
    Array(Array),
}

impl From<&Array> for AttentionMask {
    fn from(a: &Array) -> Self {
        AttentionMask::Array(a.clone())
    }
}
impl From<Array> for AttentionMask {
    fn from(a: Array) -> Self {
        AttentionMask::Array(a)
    }
}

impl std::str::FromStr for AttentionMask {
    type Err = Error;
    /// MLX's string masks: `"causal"` (and `""`, no mask).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "causal" => Ok(AttentionMask::Causal),
            "" => Ok(AttentionMask::None),
            other => Err(Error::value(format!(
                "[scaled_dot_product_attention] invalid mask option '{other}'. Must be \
                 'causal', or an array."
            ))),
        }
    }
}

const SDPA: &str = "scaled_dot_product_attention";

/// Multi-head attention, `softmax(q @ k^T * scale + mask) @ v`
/// (`mx.fast.scaled_dot_product_attention`).
///
/// `q` is `(B, N_q, L_q, D)`, `k` is `(B, N_kv, L_kv, D)` and `v` is `(B, N_kv, L_kv, D_v)`,
/// where `N_kv` divides `N_q` (grouped-query attention: query head `h` reads key/value head
/// `h / (N_q / N_kv)`; do not tile k and v). The result is `(B, N_q, L_q, D_v)` in the
/// promoted dtype of the three, which must be a float type. A boolean mask keeps the scores
/// where it is `true` (masked scores become the dtype's lowest value, so a row with nothing
/// kept averages `v`); an additive mask must promote to the output dtype. `sinks`, of shape
/// `(N_q,)`, adds one extra logit per head to each softmax that attends to nothing.
/// The softmax computes in float32 (float64 for float64).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fast::AttentionMask;
/// let q = mx::ones(&[1, 2, 3, 4], mx::float32)?;
/// let kv = mx::ones(&[1, 1, 5, 4], mx::float32)?; // one kv head shared by two query heads
/// let o = mx::fast::scaled_dot_product_attention(&q, &kv, &kv, 0.5, AttentionMask::Causal, None)?;
/// assert_eq!(o.shape(), &[1, 2, 3, 4]);
/// assert_eq!(o.to_vec::<f32>()?, vec![1.0; 24]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn scaled_dot_product_attention(
    q: &Array,
    k: &Array,
    v: &Array,
    scale: f32,
    mask: impl Into<AttentionMask>,
    sinks: Option<&Array>,
) -> Result<Array> {
    let mask = mask.into();
    for t in [q, k, v] {
        if t.ndim() != 4 {
            return Err(Error::value(format!(
                "[{SDPA}] input with shape {} expected to be rank 4",
                fmt_shape(t.shape())
            )));
        }
    }
    if let AttentionMask::Array(m) = &mask
        && m.ndim() > 4
    {
        return Err(Error::value(format!(
            "[{SDPA}] the mask with shape {} expected to have at most rank 4.",
            fmt_shape(m.shape())
        )));
    }
    for t in [k, v] {
        if t.shape()[0] != q.shape()[0] {
            return Err(Error::value(format!(
                "[{SDPA}] mismatching batch dimension for input with shape {}.",
                fmt_shape(t.shape())
            )));
        }
    }
    if q.shape()[3] != k.shape()[3] {
        return Err(Error::value(format!(
            "[{SDPA}] query, keys expected to have matching last dimension; found query shape \
             {} for keys shape {}.",
            fmt_shape(q.shape()),
            fmt_shape(k.shape())
        )));
    }
    let (n_q, n_kv) = (q.shape()[1], k.shape()[1]);
    if v.shape()[1] != n_kv {
        return Err(Error::value(format!(
            "[{SDPA}] keys, values expected to have matching n_kv_heads; found keys with \
             n_heads {n_kv} for values with n_heads {}.",
            v.shape()[1]
        )));
    }
    // MLX divides by zero here (and crashes); an error is the honest answer.
    if n_kv == 0 || n_q % n_kv != 0 {
        return Err(Error::value(format!(
            "[{SDPA}] n_heads must be a multiple of n_kv_heads, found n_heads {n_q} for \
             n_kv_heads {n_kv}."
        )));
    }
    let out = promote_types(promote_types(q.dtype(), k.dtype()), v.dtype());
    if !out.is_floating() {
        return Err(Error::value(format!(
            "[{SDPA}] Received unsupported type {out}."
        )));
    }
    let (b, l_q, l_kv) = (q.shape()[0], q.shape()[2], k.shape()[2]);
    let mut inputs = vec![astype(q, out)?, astype(k, out)?, astype(v, out)?];
    let kind = match &mask {
        AttentionMask::None => MaskKind::None,
        AttentionMask::Causal => MaskKind::Causal,
        AttentionMask::Array(m) => {
            if promote_types(m.dtype(), out) != out {
                return Err(Error::value(format!(
                    "[{SDPA}] Mask type must promote to output type {out}."
                )));
            }
            let is_bool = m.dtype() == Dtype::Bool;
            let m = if is_bool { m.clone() } else { astype(m, out)? };
            inputs.push(broadcast_to(&m, [b, n_q, l_q, l_kv])?);
            if is_bool {
                MaskKind::Bool
            } else {
                MaskKind::Additive
            }
        }
    };
    if let Some(s) = sinks {
        if promote_types(s.dtype(), out) != out {
            return Err(Error::value(format!(
                "[{SDPA}] Type of sinks must promote to output type {out}."
            )));
        }
        if s.ndim() != 1 || s.shape()[0] != n_q {
            return Err(Error::value(format!(
                "[{SDPA}] Received invalid shape for sinks {}.",
                fmt_shape(s.shape())
            )));
        }
        inputs.push(astype(s, out)?);
    }
    // MLX finds this in its fallback's matmul; the message names the shapes.
    if v.shape()[2] != l_kv {
        return Err(Error::value(format!(
            "[{SDPA}] keys and values expected to have the same sequence length; found keys \
             shape {} for values shape {}.",
            fmt_shape(k.shape()),
            fmt_shape(v.shape())
        )));
    }
    Ok(Array::from_op(
        vec![b, n_q, l_q, v.shape()[3]],
        out,
        ScaledDotProductAttention {
            scale,
            mask: kind,
            has_sinks: sinks.is_some(),
        },
        inputs,
    ))
}

// ---------------------------------------------------------------------------------------
// Fallbacks: the same functions written with public ops, as MLX writes them. Their inputs
// are the primitive's inputs.

/// `rms_norm` from plain ops; `inputs` are the primitive's `[x, weight]` (already in the
/// output dtype; a scalar weight means none).
pub(crate) fn rms_norm_fallback(inputs: &[Array], eps: f32) -> Result<Array> {
    let out = inputs[0].dtype();
    let x = astype(&inputs[0], Dtype::Float32)?;
    let ms = mean_axes(square(&x)?, -1, true)?;
    let x = multiply(&x, rsqrt(add(ms, Array::scalar(eps))?)?)?;
    let x = astype(&x, out)?;
    if inputs[1].ndim() == 0 {
        return Ok(x);
    }
    multiply(&x, &inputs[1])
}

/// `layer_norm` from plain ops; `inputs` are the primitive's `[x, weight, bias]` (scalars
/// mean none).
pub(crate) fn layer_norm_fallback(inputs: &[Array], eps: f32) -> Result<Array> {
    let out = inputs[0].dtype();
    let x = astype(&inputs[0], Dtype::Float32)?;
    let mu = mean_axes(&x, -1, true)?;
    let xc = subtract(&x, mu)?;
    let var = mean_axes(square(&xc)?, -1, true)?;
    let x = multiply(&xc, rsqrt(add(var, Array::scalar(eps))?)?)?;
    let mut x = astype(&x, out)?;
    if inputs[1].ndim() != 0 {
        x = multiply(&x, &inputs[1])?;
    }
    if inputs[2].ndim() != 0 {
        x = add(&x, &inputs[2])?;
    }
    Ok(x)
}

/// `rope` from plain ops; `inputs` are the primitive's `[x, offset, freqs?]`.
pub(crate) fn rope_fallback(
    inputs: &[Array],
    dims: usize,
    traditional: bool,
    base: f32,
    scale: f32,
    forward: bool,
) -> Result<Array> {
    let shape = inputs[0].shape().to_vec();
    let mut x = inputs[0].clone();
    if x.ndim() == 3 {
        x = expand_dims(&x, 1)?;
    } else if x.ndim() > 4 {
        x = flatten(&x, 1, (x.ndim() - 3) as isize)?;
    }
    let (b, n, t) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let d = x.shape()[3];
    let dt = x.dtype();
    let half = dims / 2;
    let mut offset = inputs[1].clone();
    if offset.size() > 1 {
        offset = expand_dims(&offset, [-1, -2])?;
    }
    let positions = multiply(
        add(arange_dtype(0.0, t as f64, 1.0, Dtype::Float32)?, &offset)?,
        Array::scalar(scale),
    )?;
    let inv_freqs = match inputs.get(2) {
        Some(f) => reciprocal(f)?,
        None => exp(multiply(
            arange_dtype(0.0, -(half as f64), -1.0, Dtype::Float32)?,
            Array::scalar(base.ln() / half as f32),
        )?)?,
    };
    let theta = multiply(expand_dims(&positions, -1)?, inv_freqs)?;
    let (c, s) = (astype(&cos(&theta)?, dt)?, astype(&sin(&theta)?, dt)?);
    let rotate = |x1: &Array, x2: &Array| -> Result<[Array; 2]> {
        if forward {
            Ok([
                subtract(multiply(x1, &c)?, multiply(x2, &s)?)?,
                add(multiply(x1, &s)?, multiply(x2, &c)?)?,
            ])
        } else {
            Ok([
                add(multiply(x2, &s)?, multiply(x1, &c)?)?,
                subtract(multiply(x2, &c)?, multiply(x1, &s)?)?,
            ])
        }
    };
    let rest = || slice(&x, [0, 0, 0, dims], [b, n, t, d], [1, 1, 1, 1]);
    let out = if traditional {
        let x1 = slice(&x, [0, 0, 0, 0], [b, n, t, dims], [1, 1, 1, 2])?;
        let x2 = slice(&x, [0, 0, 0, 1], [b, n, t, dims], [1, 1, 1, 2])?;
        let [o1, o2] = rotate(&x1, &x2)?;
        let pairs = concatenate(&[expand_dims(&o1, -1)?, expand_dims(&o2, -1)?], -1)?;
        let mut out = reshape(&pairs, [b, n, t, dims])?;
        if dims < d {
            out = concatenate(&[out, rest()?], -1)?;
        }
        out
    } else {
        let x1 = slice(&x, [0, 0, 0, 0], [b, n, t, half], [1, 1, 1, 1])?;
        let x2 = slice(&x, [0, 0, 0, half], [b, n, t, dims], [1, 1, 1, 1])?;
        let [o1, o2] = rotate(&x1, &x2)?;
        let mut parts = vec![o1, o2];
        if dims < d {
            parts.push(rest()?);
        }
        concatenate(&parts, -1)?
    };
    reshape(&out, shape)
}

/// `scaled_dot_product_attention` from plain ops; `inputs` are the primitive's
/// `[q, k, v, mask?, sinks?]` (the mask broadcast to `(B, N_q, L_q, L_kv)`).
pub(crate) fn sdpa_fallback(
    inputs: &[Array],
    scale: f32,
    mask: MaskKind,
    has_sinks: bool,
) -> Result<Array> {
    let dt = inputs[0].dtype();
    let q = multiply(scalar_of(scale as f64, dt)?, &inputs[0])?;
    let (mut k, mut v) = (inputs[1].clone(), inputs[2].clone());
    let (n_q, n_kv) = (q.shape()[1], k.shape()[1]);
    let reps = n_q / n_kv;
    let mut q = q;
    if reps > 1 {
        q = unflatten(&q, 1, [n_kv, reps])?;
        k = expand_dims(&k, 2)?;
        v = expand_dims(&v, 2)?;
    }
    let mut scores = matmul(&q, &swapaxes(&k, -1, -2)?)?;
    let has_arr = matches!(mask, MaskKind::Bool | MaskKind::Additive);
    if mask != MaskKind::None {
        let mut m = if mask == MaskKind::Causal {
            let (kl, ql) = (k.shape()[k.ndim() - 2], q.shape()[q.ndim() - 2]);
            let off = kl as f64 - ql as f64;
            let qi = arange_dtype(off, ql as f64 + off, 1.0, Dtype::Int32)?;
            let ki = arange_dtype(0.0, kl as f64, 1.0, Dtype::Int32)?;
            greater_equal(expand_dims(&qi, 1)?, expand_dims(&ki, 0)?)?
        } else {
            inputs[3].clone()
        };
        if reps > 1 && m.ndim() >= 3 {
            let ax = m.ndim() as isize - 3;
            m = if m.shape()[ax as usize] == 1 {
                expand_dims(&m, ax)?
            } else {
                unflatten(&m, ax, [n_kv, reps])?
            };
        }
        scores = if m.dtype() == Dtype::Bool {
            let lowest = scalar_of(finfo(scores.dtype())?.min, scores.dtype())?;
            r#where(&m, &scores, lowest)?
        } else {
            add(&scores, &m)?
        };
    }
    if has_sinks {
        let mut s = expand_dims(&inputs[3 + usize::from(has_arr)], [0, 2, 3])?;
        if scores.ndim() == 5 {
            s = unflatten(&s, 1, [n_kv, reps])?;
        }
        let mut shape = scores.shape().to_vec();
        *shape.last_mut().expect("rank 4 or 5") = 1;
        scores = concatenate(&[broadcast_to(&s, shape)?, scores], -1)?;
    }
    scores = softmax_opts(&scores, Some(&[-1]), true)?;
    if has_sinks {
        let nd = scores.ndim();
        let mut start = vec![0usize; nd];
        start[nd - 1] = 1;
        let stop = scores.shape().to_vec();
        scores = slice(&scores, start, stop, vec![1usize; nd])?;
    }
    let mut out = matmul(&scores, &v)?;
    if reps > 1 {
        out = flatten(&out, 1, 2)?;
    }
    Ok(out)
}

/// Cross entropy with class indices (`mx.fast.cross_entropy`): per row of the last axis,
/// `logsumexp(logits) - logits[target]`, reduced in the dtype of `logits` (as MLX's CPU
/// fallback does) and returned as float32 with the shape of `targets`. `targets` must be
/// integers shaped like `logits` without its last axis; a target out of range is an index
/// error at evaluation.
///
/// ```
/// use rmlx_core as mx;
/// let logits = mx::array![[0.0, 0.0], [1.0, 1.0]];
/// let loss = mx::fast::cross_entropy(&logits, &mx::array![0, 1])?;
/// let want = std::f32::consts::LN_2;
/// assert!(loss.to_vec::<f32>()?.iter().all(|l| (l - want).abs() < 1e-6));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cross_entropy(logits: &Array, targets: &Array) -> Result<Array> {
    if logits.ndim() == 0 {
        return Err(Error::value(
            "[cross_entropy] logits must have at least 1 dimension but got input with 0 \
             dimensions.",
        ));
    }
    if !logits.dtype().is_floating() {
        return Err(Error::value(format!(
            "[cross_entropy] Received unsupported logits type {}.",
            logits.dtype()
        )));
    }
    if !targets.dtype().is_integer() {
        return Err(Error::value(format!(
            "[cross_entropy] targets must be integer class indices but got {}.",
            targets.dtype()
        )));
    }
    let nd = logits.ndim();
    if targets.shape() != &logits.shape()[..nd - 1] {
        return Err(Error::value(format!(
            "[cross_entropy] targets shape {} does not match logits shape {} with the last \
             axis removed.",
            crate::error::fmt_shape(targets.shape()),
            crate::error::fmt_shape(logits.shape())
        )));
    }
    let lse = crate::ops::logsumexp_axes(logits, -1, false)?;
    let idx = crate::ops::expand_dims(targets, -1)?;
    let picked = crate::ops::take_along_axis(logits, &idx, Some(-1))?;
    let picked = crate::ops::squeeze(&picked, Some(-1))?;
    crate::ops::astype(&crate::ops::subtract(&lse, &picked)?, crate::Dtype::Float32)
}

/// Batch normalization in training mode over every axis but the last (what `nn::BatchNorm`
/// computes with the batch's statistics; an rmlx function, not one of MLX's): returns
/// `[y, mean, ss]` with, per feature (last axis) over the `n` other positions, `mean`, the
/// sum of squared deviations `ss` (`var = ss / n`; `ss / (n - 1)` is the unbiased variance)
/// and `y = (x - mean) * rsqrt(var + eps) * weight + bias`. `weight` and `bias`, when given,
/// have shape `(C,)` for `C` the last axis.
///
/// float32 runs fused kernels: two reads of `x` for the statistics and one write, and a
/// gradient of one read of `x` and its cotangent and one write, instead of about twenty full
/// passes of the unfused ops (which the other dtypes use, and which define the transforms).
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::array![[1.0f32, 10.0], [3.0, 14.0]];
/// let out = mx::fast::batch_norm_train(&x, None, None, 0.0)?;
/// assert_eq!(out[0].to_vec::<f32>()?, vec![-1.0, -1.0, 1.0, 1.0]);
/// assert_eq!(out[1].to_vec::<f32>()?, vec![2.0, 12.0]);
/// assert_eq!(out[2].to_vec::<f32>()?, vec![2.0, 8.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn batch_norm_train(
    x: &Array,
    weight: Option<&Array>,
    bias: Option<&Array>,
    eps: f64,
) -> Result<Vec<Array>> {
    if x.ndim() == 0 {
        return Err(Error::value(
            "[batch_norm_train] x must have at least one dimension.",
        ));
    }
    let c = x.shape()[x.ndim() - 1];
    for (name, a) in [("weight", weight), ("bias", bias)] {
        if let Some(a) = a
            && a.shape() != [c]
        {
            return Err(Error::value(format!(
                "[batch_norm_train] {name} must have shape ({c},) but has shape {}.",
                fmt_shape(a.shape())
            )));
        }
    }
    let f32_all = [Some(x), weight, bias]
        .iter()
        .flatten()
        .all(|a| a.dtype() == Dtype::Float32);
    if !f32_all || x.size() == 0 {
        let mut xs = vec![x.clone()];
        if let (Some(w), Some(b)) = (weight, bias) {
            xs.push(w.clone());
            xs.push(b.clone());
        } else if let Some(w) = weight {
            xs.push(w.clone());
            xs.push(crate::ops::zeros(&[c], w.dtype())?);
        } else if let Some(b) = bias {
            xs.push(crate::ops::ones(&[c], b.dtype())?);
            xs.push(b.clone());
        }
        return batch_norm_train_ops(&xs, eps);
    }
    let w = match weight {
        Some(w) => w.clone(),
        None => crate::ops::ones(&[c], Dtype::Float32)?,
    };
    let b = match bias {
        Some(b) => b.clone(),
        None => crate::ops::zeros(&[c], Dtype::Float32)?,
    };
    Ok(batch_norm_train_fused(x.clone(), w, b, eps as f32))
}

/// The fused forward node (float32, `weight` and `bias` of shape `(C,)`).
pub(crate) fn batch_norm_train_fused(x: Array, w: Array, b: Array, eps: f32) -> Vec<Array> {
    use crate::primitive::OutputSpec;
    let c = x.shape()[x.ndim() - 1];
    let spec = |shape: Vec<usize>| OutputSpec {
        shape,
        dtype: Dtype::Float32,
    };
    let specs = vec![spec(x.shape().to_vec()), spec(vec![c]), spec(vec![c])];
    Array::multi_from_op(
        specs,
        crate::primitives::fast::BatchNormTrain { eps },
        vec![x, w, b],
    )
}

/// [`batch_norm_train`] in plain ops over `[x]` or `[x, weight, bias]` (MLX's BatchNorm
/// arithmetic: `mean`, `x - mean`, the variance of that, `rsqrt`, the affine map): the
/// other dtypes run it, and the fused node's transforms differentiate it.
pub(crate) fn batch_norm_train_ops(xs: &[Array], eps: f64) -> Result<Vec<Array>> {
    let x = &xs[0];
    let axes: Vec<isize> = (0..x.ndim() as isize - 1).collect();
    let n: usize = x.shape()[..x.ndim() - 1].iter().product();
    let mean = mean_axes(x, &axes[..], false)?;
    let xc = subtract(x, &mean)?;
    let ss = crate::ops::sum_axes(multiply(&xc, &xc)?, &axes[..], false)?;
    let var = crate::ops::divide(&ss, n as f64)?;
    let y = multiply(&xc, rsqrt(add(&var, eps)?)?)?;
    let y = match xs {
        [_, w, b] => add(multiply(w, &y)?, b)?,
        _ => y,
    };
    Ok(vec![y, mean, ss])
}

/// The gradient of [`batch_norm_train`] in plain ops: inputs
/// `[x, mean, ss, weight, g, g_mean, g_ss]` (the cotangents of `y`, `mean` and `ss`), outputs
/// `[dx, dweight, dbias]`. With `xc = x - mean`, `r = rsqrt(ss / n + eps)` and
/// `s = weight * r`: `dx = s * (g - sum(g) / n - xc * r^2 * sum(g * xc) / n) + g_mean / n
/// + 2 * g_ss * xc`, `dweight = r * sum(g * xc)`, `dbias = sum(g)` (sums per feature).
pub(crate) fn batch_norm_train_vjp_ops(xs: &[Array], eps: f64) -> Result<Vec<Array>> {
    let (x, mean, ss, w, g, gm, gs) = (&xs[0], &xs[1], &xs[2], &xs[3], &xs[4], &xs[5], &xs[6]);
    let axes: Vec<isize> = (0..x.ndim() as isize - 1).collect();
    let n = x.shape()[..x.ndim() - 1].iter().product::<usize>() as f64;
    let xc = subtract(x, mean)?;
    let r = rsqrt(add(crate::ops::divide(ss, n)?, eps)?)?;
    let sg = crate::ops::sum_axes(g, &axes[..], false)?;
    let sgx = crate::ops::sum_axes(multiply(g, &xc)?, &axes[..], false)?;
    let scale = multiply(w, &r)?;
    let k = add(
        multiply(
            multiply(&scale, multiply(&r, &r)?)?,
            crate::ops::divide(&sgx, -n)?,
        )?,
        multiply(gs, 2.0)?,
    )?;
    let c = add(
        multiply(&scale, crate::ops::divide(&sg, -n)?)?,
        crate::ops::divide(gm, n)?,
    )?;
    let dx = add(add(multiply(g, &scale)?, multiply(&xc, &k)?)?, &c)?;
    Ok(vec![dx, multiply(&sgx, &r)?, sg])
}

/// The LSTM recurrence over a sequence (what `nn::LSTM` computes after its input projection;
/// an rmlx function, not one of MLX's): returns `[hs, cs, gates]`, the hidden and cell states
/// of every step (`(N, L, H)` each) and the activated gates (`(N, L, 4H)`).
///
/// `x_proj` is `(N, L, 4H)`: each step's input projection `x_t W_x^T + b`, gates in MLX's
/// order (input, forget, cell, output). `w_h` is the recurrent weight `(4H, H)`; `hidden`
/// and `cell` the initial states `(N, H)`. Step `t` computes, with `h`, `c` the previous
/// states, `[i, f, g, o] = x_proj[:, t] + h W_h^T` (no product at the first step without an
/// initial hidden state), `i, f, o` through a sigmoid and `g` through tanh,
/// `c' = f c + i g` (`i g` at the first step without an initial cell state) and
/// `h' = o tanh(c')`, as MLX's `nn.LSTM`.
///
/// float32 runs fused kernels: each core runs the whole sequence for its share of the batch
/// (one small product and the gate arithmetic per step), and the gradient forms `dW_h` in one
/// product over every step; other dtypes compose the same arithmetic from ops, which also
/// define the transforms.
///
/// ```
/// use rmlx_core as mx;
/// // One step, H = 1: i = f = o = sigmoid(0) = 0.5, g = tanh(0) = 0.
/// let x_proj = mx::zeros(&[1, 1, 4], mx::float32)?;
/// let w_h = mx::ones(&[4, 1], mx::float32)?;
/// let c0 = mx::full(&[1, 1], 2.0f32, None)?;
/// let out = mx::fast::lstm_sequence(&x_proj, &w_h, None, Some(&c0))?;
/// assert_eq!(out[1].to_vec::<f32>()?, vec![1.0]); // c = 0.5 * 2 + 0.5 * 0
/// assert_eq!(out[2].to_vec::<f32>()?, vec![0.5, 0.5, 0.0, 0.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn lstm_sequence(
    x_proj: &Array,
    w_h: &Array,
    hidden: Option<&Array>,
    cell: Option<&Array>,
) -> Result<Vec<Array>> {
    if x_proj.ndim() != 3 || !x_proj.shape()[2].is_multiple_of(4) {
        return Err(Error::value(format!(
            "[lstm_sequence] x_proj must be (N, L, 4H), got shape {}.",
            fmt_shape(x_proj.shape())
        )));
    }
    let (n, h) = (x_proj.shape()[0], x_proj.shape()[2] / 4);
    if w_h.shape() != [4 * h, h] {
        return Err(Error::value(format!(
            "[lstm_sequence] w_h must have shape ({}, {h}) but has shape {}.",
            4 * h,
            fmt_shape(w_h.shape())
        )));
    }
    for (name, a) in [("hidden", hidden), ("cell", cell)] {
        if let Some(a) = a
            && a.shape() != [n, h]
        {
            return Err(Error::value(format!(
                "[lstm_sequence] {name} must have shape ({n}, {h}) but has shape {}.",
                fmt_shape(a.shape())
            )));
        }
    }
    let mut inputs = vec![x_proj.clone(), w_h.clone()];
    inputs.extend(hidden.cloned());
    inputs.extend(cell.cloned());
    let (has_h, has_c) = (hidden.is_some(), cell.is_some());
    if inputs.iter().any(|a| a.dtype() != Dtype::Float32) {
        let dtype = inputs
            .iter()
            .fold(inputs[0].dtype(), |d, a| promote_types(d, a.dtype()));
        if !dtype.is_inexact() {
            return Err(Error::value(format!(
                "[lstm_sequence] Only floating point types are supported, got {dtype}."
            )));
        }
        return lstm_sequence_ops(&inputs, has_h, has_c);
    }
    use crate::primitive::OutputSpec;
    let spec = |last: usize| OutputSpec {
        shape: vec![n, x_proj.shape()[1], last],
        dtype: Dtype::Float32,
    };
    Ok(Array::multi_from_op(
        vec![spec(h), spec(h), spec(4 * h)],
        crate::primitives::fast::LstmSequence {
            hidden: has_h,
            cell: has_c,
        },
        inputs,
    ))
}

/// [`lstm_sequence`] in plain ops over `[x_proj, w_h, h0?, c0?]` (`hidden` / `cell`: whether
/// the initial states are among the inputs): the non-float32 path, and the definition the
/// fused node's transforms differentiate.
pub(crate) fn lstm_sequence_ops(xs: &[Array], hidden: bool, cell: bool) -> Result<Vec<Array>> {
    let (xp, wh) = (&xs[0], &xs[1]);
    let mut h = hidden.then(|| xs[2].clone());
    let mut c = cell.then(|| xs[2 + hidden as usize].clone());
    let wh_t = crate::ops::transpose(wh, None::<Vec<isize>>)?;
    let (mut hs, mut cs, mut gs) = (Vec::new(), Vec::new(), Vec::new());
    for xt in steps_of(xp)? {
        let pre = match &h {
            Some(h) => crate::ops::addmm(&xt, h, &wh_t, 1.0, 1.0)?,
            None => xt,
        };
        let parts = crate::ops::split(&pre, 4, -1)?;
        let i = crate::ops::sigmoid(&parts[0])?;
        let f = crate::ops::sigmoid(&parts[1])?;
        let g = crate::ops::tanh(&parts[2])?;
        let o = crate::ops::sigmoid(&parts[3])?;
        let c_new = match &c {
            Some(c) => add(multiply(&f, c)?, multiply(&i, &g)?)?,
            None => multiply(&i, &g)?,
        };
        let h_new = multiply(&o, crate::ops::tanh(&c_new)?)?;
        gs.push(crate::ops::concatenate(&[i, f, g, o], -1)?);
        hs.push(h_new.clone());
        cs.push(c_new.clone());
        h = Some(h_new);
        c = Some(c_new);
    }
    Ok(vec![
        crate::ops::stack(&hs, 1)?,
        crate::ops::stack(&cs, 1)?,
        crate::ops::stack(&gs, 1)?,
    ])
}

/// The steps of `x` (axis 1), each without that axis. Their gradient is one stack of the
/// steps' cotangents: a slice's own gradient writes a zero array of `x`'s full size, which
/// would make the backward pass quadratic in the sequence length.
fn steps_of(x: &Array) -> Result<Vec<Array>> {
    let unstack = crate::transforms::custom_vjp(
        |xs: &[Array]| crate::ops::unstack(&xs[0], 1),
        |p: &[Array], cots: &[Array], _: &[Array]| {
            let cots: Vec<Array> = cots
                .iter()
                .map(|c| c.astype(p[0].dtype()))
                .collect::<Result<_>>()?;
            Ok(vec![crate::ops::stack(&cots, 1)?])
        },
    );
    unstack(std::slice::from_ref(x))
}

/// The gradient of [`lstm_sequence`] in plain ops: inputs
/// `[x_proj, w_h, h0?, c0?, hs, cs, gates, g_hs, g_cs, g_gates]`, outputs the gradients of
/// the primals `[x_proj, w_h, h0?, c0?]` (the vjp of [`lstm_sequence_ops`]).
pub(crate) fn lstm_sequence_vjp_ops(xs: &[Array], hidden: bool, cell: bool) -> Result<Vec<Array>> {
    let np = 2 + hidden as usize + cell as usize;
    let f = move |p: &[Array]| lstm_sequence_ops(p, hidden, cell);
    Ok(crate::transforms::vjp(f, &xs[..np], &xs[np + 3..])?.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn rand(shape: &[usize], seed: u64) -> Array {
        let n: usize = shape.iter().product();
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let v: Vec<f32> = (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect();
        Array::from_slice(&v, shape).unwrap()
    }

    /// The fused result and the fallback's on the same primitive inputs agree within `tol`.
    fn agree(fused: &Array, fallback: impl Fn(&[Array]) -> Result<Array>, tol: f32) {
        let want = fallback(&fused.inputs()).unwrap();
        assert_eq!(fused.shape(), want.shape());
        assert_eq!(fused.dtype(), want.dtype());
        let g = astype(fused, Dtype::Float32)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        let w = astype(&want, Dtype::Float32)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        for (i, (a, b)) in g.iter().zip(&w).enumerate() {
            let ok = (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol * (1.0 + b.abs());
            assert!(ok, "element {i}: fused {a} fallback {b}");
        }
    }

    #[test]
    fn norms_agree_with_fallback() {
        // 300 rows of 257: past the parallel threshold, not a multiple of the lanes.
        let x = rand(&[300, 257], 1);
        let (w, b) = (rand(&[257], 2), rand(&[257], 3));
        let y = rms_norm(&x, Some(&w), 1e-5).unwrap();
        agree(&y, |i| rms_norm_fallback(i, 1e-5), 1e-5);
        let y = rms_norm(&x, None, 1e-5).unwrap();
        agree(&y, |i| rms_norm_fallback(i, 1e-5), 1e-5);
        let y = layer_norm(&x, Some(&w), Some(&b), 1e-5).unwrap();
        agree(&y, |i| layer_norm_fallback(i, 1e-5), 1e-5);
        let y = layer_norm(&x, None, Some(&b), 1e-3).unwrap();
        agree(&y, |i| layer_norm_fallback(i, 1e-3), 1e-5);
        let xh = astype(&x, Dtype::Bfloat16).unwrap();
        let y = layer_norm(&xh, Some(&w), None, 1e-5).unwrap();
        agree(&y, |i| layer_norm_fallback(i, 1e-5), 2e-2);
    }

    #[test]
    fn rope_agrees_with_fallback() {
        let x = rand(&[4, 3, 40, 32], 4);
        let off = Array::from_slice(&[0i32, 7, 100, 3], &[4]).unwrap();
        for trad in [false, true] {
            for forward in [true, false] {
                let y = rope_impl(&x, &off, None, 24, trad, 10000.0, 0.5, forward).unwrap();
                agree(
                    &y,
                    |i| rope_fallback(i, 24, trad, 10000.0, 0.5, forward),
                    1e-5,
                );
            }
        }
        let f = add(square(rand(&[16], 5)).unwrap(), 0.5).unwrap();
        let y = rope(&x, 32, false, None, 1.0, 5, Some(&f)).unwrap();
        agree(&y, |i| rope_fallback(i, 32, false, 1.0, 1.0, true), 1e-5);
    }

    #[test]
    fn sdpa_agrees_with_fallback() {
        // Lengths past the kernel's blocks; grouped heads.
        let q = rand(&[2, 4, 300, 16], 6);
        let k = rand(&[2, 2, 280, 16], 7);
        let v = rand(&[2, 2, 280, 8], 8);
        let sinks = rand(&[4], 9);
        let bool_mask = greater_equal(rand(&[300, 280], 10), -0.8).unwrap();
        let add_mask = rand(&[2, 1, 300, 280], 11);
        let cases = [
            (AttentionMask::None, MaskKind::None, None),
            (AttentionMask::Causal, MaskKind::Causal, None),
            (AttentionMask::Causal, MaskKind::Causal, Some(&sinks)),
            (AttentionMask::Array(bool_mask), MaskKind::Bool, None),
            (
                AttentionMask::Array(add_mask),
                MaskKind::Additive,
                Some(&sinks),
            ),
        ];
        for (mask, kind, s) in cases {
            let y = scaled_dot_product_attention(&q, &k, &v, 0.25, mask, s).unwrap();
            agree(&y, |i| sdpa_fallback(i, 0.25, kind, s.is_some()), 1e-5);
        }
        // Fewer queries than keys (above, more: the first rows see no key).
        let (q2, k2) = (rand(&[1, 2, 130, 16], 12), rand(&[1, 2, 300, 16], 13));
        let y =
            scaled_dot_product_attention(&q2, &k2, &k2, 0.25, AttentionMask::Causal, None).unwrap();
        agree(
            &y,
            |i| sdpa_fallback(i, 0.25, MaskKind::Causal, false),
            1e-5,
        );
        let qh = astype(&q, Dtype::Float16).unwrap();
        let kh = astype(&k, Dtype::Float16).unwrap();
        let vh = astype(&v, Dtype::Float16).unwrap();
        let y =
            scaled_dot_product_attention(&qh, &kh, &vh, 0.25, AttentionMask::Causal, None).unwrap();
        agree(
            &y,
            |i| sdpa_fallback(i, 0.25, MaskKind::Causal, false),
            1e-2,
        );
    }
}
