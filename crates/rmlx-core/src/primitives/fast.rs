//! Primitives of `mlx.core.fast`: fused norms, rotary encoding and attention, each handing its
//! inputs to the kernels in [`crate::cpu::fast`]. The plain-ops versions of the same functions
//! (for the transforms' rules) are the `*_fallback` functions of [`crate::fast`].

use crate::array::{Array, Data};
use crate::cpu::fast;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `rms_norm`: inputs `[x, weight]` in the output dtype; a scalar weight means none.
#[derive(Debug, PartialEq)]
pub(crate) struct RmsNorm {
    pub(crate) eps: f32,
}

impl Primitive for RmsNorm {
    fn name(&self) -> &'static str {
        "RMSNorm"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![fast::norm(
            &inputs[0],
            &inputs[1],
            None,
            self.eps,
            &outputs[0],
        )?])
    }
    crate::transforms::rules::rules_via_fallback!(|p, xs| crate::fast::rms_norm_fallback(
        xs, p.eps
    ));
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `layer_norm`: inputs `[x, weight, bias]` in the output dtype; scalars mean none.
#[derive(Debug, PartialEq)]
pub(crate) struct LayerNorm {
    pub(crate) eps: f32,
}

impl Primitive for LayerNorm {
    fn name(&self) -> &'static str {
        "LayerNorm"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![fast::norm(
            &inputs[0],
            &inputs[1],
            Some(&inputs[2]),
            self.eps,
            &outputs[0],
        )?])
    }
    crate::transforms::rules::rules_via_fallback!(|p, xs| crate::fast::layer_norm_fallback(
        xs, p.eps
    ));
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `rope`: inputs `[x, offset (a 4-byte integer), freqs (float32)?]`. `forward == false` is
/// the inverse rotation.
#[derive(Debug, PartialEq)]
pub(crate) struct Rope {
    pub(crate) dims: usize,
    pub(crate) traditional: bool,
    pub(crate) base: f32,
    pub(crate) scale: f32,
    pub(crate) forward: bool,
}

impl Primitive for Rope {
    fn name(&self) -> &'static str {
        "RoPE"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![fast::rope(
            &inputs[0],
            &inputs[1],
            inputs.get(2),
            fast::RopeParams {
                dims: self.dims,
                traditional: self.traditional,
                base: self.base,
                scale: self.scale,
                forward: self.forward,
            },
            &outputs[0],
        )?])
    }
    crate::transforms::rules::rules_via_fallback!(|p, xs| crate::fast::rope_fallback(
        xs,
        p.dims,
        p.traditional,
        p.base,
        p.scale,
        p.forward
    ));
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// What masks the scores of an attention.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum MaskKind {
    None,
    /// Query `i` sees keys `j <= i + L_kv - L_q`.
    Causal,
    /// A boolean input: `false` replaces the score by the dtype's lowest value.
    Bool,
    /// An input in the output dtype added to the scores.
    Additive,
}

/// `scaled_dot_product_attention`: inputs `[q, k, v, mask?, sinks?]`, all in the output dtype
/// but a boolean mask, which is broadcast to `(B, N_q, L_q, L_kv)`.
#[derive(Debug, PartialEq)]
pub(crate) struct ScaledDotProductAttention {
    pub(crate) scale: f32,
    pub(crate) mask: MaskKind,
    pub(crate) has_sinks: bool,
}

impl Primitive for ScaledDotProductAttention {
    fn name(&self) -> &'static str {
        "ScaledDotProductAttention"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let has_mask = matches!(self.mask, MaskKind::Bool | MaskKind::Additive);
        let mask = if has_mask { inputs.get(3) } else { None };
        let sinks = if self.has_sinks { inputs.last() } else { None };
        Ok(vec![fast::sdpa(
            [&inputs[0], &inputs[1], &inputs[2]],
            mask,
            sinks,
            self.scale,
            self.mask,
            &outputs[0],
        )?])
    }
    crate::transforms::rules::rules_via_fallback!(|p, xs| crate::fast::sdpa_fallback(
        xs,
        p.scale,
        p.mask,
        p.has_sinks
    ));
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
