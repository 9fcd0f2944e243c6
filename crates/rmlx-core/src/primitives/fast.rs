//! Primitives of `mlx.core.fast`: fused norms, rotary encoding and attention, each handing its
//! inputs to the kernels in [`crate::cpu::fast`]. The plain-ops versions of the same functions
//! (for the transforms' rules) are the `*_fallback` functions of [`crate::fast`].

use crate::array::{Array, Data};
use crate::cpu::fast;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::{OutputSpec, Primitive, same_params};
use crate::transforms::rules::batch_to_front;

/// Sums `x` over every axis but the last (the gradient of a weight or bias of the last axis).
fn sum_leading(x: &Array) -> Result<Array> {
    let axes: Vec<usize> = (0..x.ndim() - 1).collect();
    if axes.is_empty() {
        return Ok(x.clone());
    }
    ops::sum_axes(x, axes, false)
}

/// `f` (a fallback over the primitive's inputs) vmapped over `axes`, batched on axis 0.
fn vmap_fallback(
    f: impl Fn(&[Array]) -> Result<Array>,
    inputs: &[Array],
    axes: &[Option<usize>],
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    let in_axes: Vec<Option<isize>> = axes.iter().map(|a| a.map(|a| a as isize)).collect();
    let out = crate::transforms::vmap(f, &in_axes, &[Some(0)])(inputs)?;
    Ok((out, vec![Some(0)]))
}

/// Adds `term` to the running sum `acc`.
fn accumulate(acc: Option<Array>, term: Array) -> Result<Option<Array>> {
    Ok(Some(match acc {
        Some(a) => ops::add(&a, &term)?,
        None => term,
    }))
}

/// `rms_norm`: inputs `[x, weight]` in the output dtype; a scalar weight means none.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        // MLX's RMSNormVJP, in the input dtype.
        let (x, w, g) = (&primals[0], &primals[1], &cotangents[0]);
        let n = ops::rsqrt(ops::add(
            ops::mean_axes(ops::square(x)?, -1, true)?,
            self.eps,
        )?)?;
        argnums
            .iter()
            .map(|&a| {
                if a == 0 {
                    let n3 = ops::multiply(ops::multiply(&n, &n)?, &n)?;
                    let gw = ops::multiply(g, w)?;
                    let t = ops::mean_axes(ops::multiply(&gw, x)?, -1, true)?;
                    let t = ops::multiply(ops::multiply(x, t)?, n3)?;
                    ops::subtract(ops::multiply(&gw, &n)?, t)
                } else if w.ndim() == 0 {
                    ops::zeros_like(w)
                } else {
                    sum_leading(&ops::multiply(g, ops::multiply(x, &n)?)?)
                }
            })
            .collect()
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, w) = (&primals[0], &primals[1]);
        let n = ops::rsqrt(ops::add(
            ops::mean_axes(ops::square(x)?, -1, true)?,
            self.eps,
        )?)?;
        let mut acc = None;
        for (&a, t) in argnums.iter().zip(tangents) {
            let term = if a == 0 {
                let n3 = ops::multiply(ops::multiply(&n, &n)?, &n)?;
                let m = ops::mean_axes(ops::multiply(x, t)?, -1, true)?;
                let d = ops::subtract(
                    ops::multiply(t, &n)?,
                    ops::multiply(x, ops::multiply(m, n3)?)?,
                )?;
                ops::multiply(d, w)?
            } else {
                ops::multiply(ops::multiply(x, &n)?, t)?
            };
            acc = accumulate(acc, term)?;
        }
        let out = acc.ok_or_else(|| Error::runtime("[RMSNorm::jvp] expected a tangent"))?;
        Ok(vec![ops::broadcast_to(&out, x.shape())?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        match (axes[0], axes[1]) {
            (Some(ax), None) => {
                // Normalises the last axis: a batch axis there moves to the front.
                let (x, ax) = if ax + 1 == x.ndim() {
                    (ops::moveaxis(x, ax as isize, 0)?, 0)
                } else {
                    (x.clone(), ax)
                };
                let out = Array::from_op(
                    x.shape().to_vec(),
                    x.dtype(),
                    RmsNorm { eps: self.eps },
                    vec![x, inputs[1].clone()],
                );
                Ok((vec![out], vec![Some(ax)]))
            }
            _ => {
                let eps = self.eps;
                vmap_fallback(
                    move |xs| crate::fast::rms_norm_fallback(xs, eps),
                    inputs,
                    axes,
                )
            }
        }
    }
}

/// `layer_norm`: inputs `[x, weight, bias]` in the output dtype; scalars mean none.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, w, b, g) = (&primals[0], &primals[1], &primals[2], &cotangents[0]);
        // The fused node where its kernel applies, its plain-ops formula otherwise (unread
        // outputs of the formula are never built into the evaluated graph).
        let [dx, dw, db]: [Array; 3] = match LayerNormVjp::node(x, w, g, self.eps)? {
            Some(fused) => fused,
            None => layer_norm_vjp_ops(&[x.clone(), w.clone(), g.clone()], self.eps)?,
        }
        .try_into()
        .map_err(|_| Error::runtime("[LayerNorm::vjp] expected three gradients"))?;
        argnums
            .iter()
            .map(|&a| match a {
                0 => Ok(dx.clone()),
                1 if w.ndim() == 0 => ops::zeros_like(w),
                1 => Ok(dw.clone()),
                _ if b.ndim() == 0 => ops::zeros_like(b),
                _ => Ok(db.clone()),
            })
            .collect()
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, w) = (&primals[0], &primals[1]);
        let xc = ops::subtract(x, ops::mean_axes(x, -1, true)?)?;
        let var = ops::mean_axes(ops::square(&xc)?, -1, true)?;
        let n = ops::rsqrt(ops::add(var, self.eps)?)?;
        let xhat = ops::multiply(&xc, &n)?;
        let mut acc = None;
        for (&a, t) in argnums.iter().zip(tangents) {
            let term = match a {
                0 => {
                    let tc = ops::subtract(t, ops::mean_axes(t, -1, true)?)?;
                    let m = ops::mean_axes(ops::multiply(&xhat, &tc)?, -1, true)?;
                    let d = ops::multiply(ops::subtract(&tc, ops::multiply(&xhat, m)?)?, &n)?;
                    ops::multiply(d, w)?
                }
                1 => ops::multiply(&xhat, t)?,
                _ => t.clone(),
            };
            acc = accumulate(acc, term)?;
        }
        let out = acc.ok_or_else(|| Error::runtime("[LayerNorm::jvp] expected a tangent"))?;
        Ok(vec![ops::broadcast_to(&out, x.shape())?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        match (axes[0], axes[1], axes[2]) {
            (Some(ax), None, None) => {
                let (x, ax) = if ax + 1 == x.ndim() {
                    (ops::moveaxis(x, ax as isize, 0)?, 0)
                } else {
                    (x.clone(), ax)
                };
                let out = Array::from_op(
                    x.shape().to_vec(),
                    x.dtype(),
                    LayerNorm { eps: self.eps },
                    vec![x, inputs[1].clone(), inputs[2].clone()],
                );
                Ok((vec![out], vec![Some(ax)]))
            }
            _ => {
                let eps = self.eps;
                vmap_fallback(
                    move |xs| crate::fast::layer_norm_fallback(xs, eps),
                    inputs,
                    axes,
                )
            }
        }
    }
}

/// `rope`: inputs `[x, offset (a 4-byte integer), freqs (float32)?]`. `forward == false` is
/// the inverse rotation.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        if argnums != [0] {
            return Err(Error::value(
                "[RoPE::vjp] vjp for offset or frequencies not supported",
            ));
        }
        // The rotation's transpose is the rotation the other way.
        Ok(vec![self.apply(
            &cotangents[0],
            &primals[1],
            primals.get(2),
            !self.forward,
        )?])
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        if argnums != [0] {
            return Err(Error::value(
                "[RoPE::jvp] jvp for offset or frequencies not supported",
            ));
        }
        Ok(vec![self.apply(
            &tangents[0],
            &primals[1],
            primals.get(2),
            self.forward,
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (x, offset) = (&inputs[0], &inputs[1]);
        let freqs = inputs.get(2);
        if axes.get(2).copied().flatten().is_some() {
            let (dims, traditional, base, scale, forward) = (
                self.dims,
                self.traditional,
                self.base,
                self.scale,
                self.forward,
            );
            return vmap_fallback(
                move |xs| crate::fast::rope_fallback(xs, dims, traditional, base, scale, forward),
                inputs,
                axes,
            );
        }
        match (axes[0], axes[1]) {
            (Some(ax), None) => {
                // (B, *, T, D) per slice: the batch joins the middle axes, after B.
                let x = ops::moveaxis(x, ax as isize, 1)?;
                Ok((
                    vec![self.apply(&x, offset, freqs, self.forward)?],
                    vec![Some(1)],
                ))
            }
            (xa, Some(oa)) => {
                // Offsets differ per slice: the batch joins B, with one offset per row.
                let off = batch_to_front(offset, Some(oa))?;
                let v = off.shape()[0];
                let x = match xa {
                    Some(ax) => batch_to_front(x, Some(ax))?,
                    None => {
                        let mut shape = x.shape().to_vec();
                        shape.insert(0, v);
                        ops::broadcast_to(ops::expand_dims(x, 0)?, shape)?
                    }
                };
                let b = x.shape()[1];
                let off = ops::broadcast_to(ops::reshape(&off, [v as isize, -1])?, [v, b])?;
                let out = self.apply(
                    &ops::flatten(&x, 0, 1)?,
                    &ops::reshape(&off, [v * b])?,
                    freqs,
                    self.forward,
                )?;
                Ok((vec![ops::unflatten(&out, 0, [v, b])?], vec![Some(0)]))
            }
            (None, None) => Ok((
                vec![self.apply(x, offset, freqs, self.forward)?],
                vec![None],
            )),
        }
    }
}

impl Rope {
    /// This rotation (or its inverse, `forward == false`) of `x`.
    fn apply(
        &self,
        x: &Array,
        offset: &Array,
        freqs: Option<&Array>,
        forward: bool,
    ) -> Result<Array> {
        crate::fast::rope_impl(
            x,
            offset,
            freqs,
            self.dims as i32,
            self.traditional,
            self.base,
            self.scale,
            forward,
        )
    }
}

/// What masks the scores of an attention.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ScaledDotProductAttention {
    pub(crate) scale: f32,
    pub(crate) mask: MaskKind,
    pub(crate) has_sinks: bool,
}

/// The pieces of an attention's forward pass its derivatives reuse.
struct AttentionParts {
    /// Keys and values with each head repeated for the query heads that read it.
    kr: Array,
    vr: Array,
    /// The attention weights `(B, N_q, L_q, L_kv)`, and the sinks' weights `(B, N_q, L_q, 1)`.
    p: Array,
    p_sink: Option<Array>,
    /// Where scores are kept (bool or causal masks): elsewhere they do not depend on q or k.
    keep: Option<Array>,
    /// Query heads per key/value head.
    reps: usize,
}

impl AttentionParts {
    /// Zero where the mask drops the score.
    fn masked(&self, x: &Array) -> Result<Array> {
        match &self.keep {
            Some(k) => ops::where_(k, x, ops::zeros(&[] as &[usize], x.dtype())?),
            None => Ok(x.clone()),
        }
    }
    /// `(B, N_kv, ...)` to `(B, N_q, ...)`.
    fn repeat_heads(&self, x: &Array) -> Result<Array> {
        if self.reps == 1 {
            Ok(x.clone())
        } else {
            ops::repeat_axis(x, self.reps, 1)
        }
    }
    /// `(B, N_q, ...)` to `(B, N_kv, ...)`, summing the query heads of each key/value head.
    fn fold(&self, x: &Array) -> Result<Array> {
        if self.reps == 1 {
            return Ok(x.clone());
        }
        let n_kv = x.shape()[1] / self.reps;
        ops::sum_axes(ops::unflatten(x, 1, [n_kv, self.reps])?, 2, false)
    }
}

impl ScaledDotProductAttention {
    fn has_mask_input(&self) -> bool {
        matches!(self.mask, MaskKind::Bool | MaskKind::Additive)
    }

    /// The forward pass in plain ops, keeping what the derivatives need.
    fn forward_parts(&self, inputs: &[Array]) -> Result<AttentionParts> {
        let (q, k, v) = (&inputs[0], &inputs[1], &inputs[2]);
        let dt = q.dtype();
        let reps = q.shape()[1] / k.shape()[1];
        let mut parts = AttentionParts {
            kr: k.clone(),
            vr: v.clone(),
            p: q.clone(),
            p_sink: None,
            keep: None,
            reps,
        };
        parts.kr = parts.repeat_heads(k)?;
        parts.vr = parts.repeat_heads(v)?;
        let scale = Array::scalar(self.scale).astype(dt)?;
        let mut scores =
            ops::multiply(ops::matmul(q, &ops::swapaxes(&parts.kr, -1, -2)?)?, &scale)?;
        match self.mask {
            MaskKind::None => {}
            MaskKind::Additive => scores = ops::add(&scores, &inputs[3])?,
            MaskKind::Bool | MaskKind::Causal => {
                let keep = if self.mask == MaskKind::Bool {
                    inputs[3].clone()
                } else {
                    let (lq, lk) = (q.shape()[2], k.shape()[2]);
                    let off = lk as f64 - lq as f64;
                    let qi = ops::arange_dtype(off, lq as f64 + off, 1.0, crate::Dtype::Int32)?;
                    let ki = ops::arange_dtype(0.0, lk as f64, 1.0, crate::Dtype::Int32)?;
                    ops::greater_equal(ops::expand_dims(&qi, 1)?, ops::expand_dims(&ki, 0)?)?
                };
                let lowest = Array::scalar(crate::dtype::finfo(dt)?.min).astype(dt)?;
                scores = ops::where_(&keep, &scores, lowest)?;
                parts.keep = Some(keep);
            }
        }
        if self.has_sinks {
            let sinks = &inputs[inputs.len() - 1];
            let mut shape = scores.shape().to_vec();
            shape[3] = 1;
            let s = ops::broadcast_to(ops::expand_dims(sinks, [0, 2, 3])?, &shape)?;
            let all = ops::softmax_opts(&ops::concatenate(&[s, scores], -1)?, Some(&[-1]), true)?;
            let n = all.shape()[3];
            let (b, h, l) = (all.shape()[0], all.shape()[1], all.shape()[2]);
            parts.p_sink = Some(ops::slice(&all, [0, 0, 0, 0], [b, h, l, 1], [1, 1, 1, 1])?);
            parts.p = ops::slice(&all, [0, 0, 0, 1], [b, h, l, n], [1, 1, 1, 1])?;
        } else {
            parts.p = ops::softmax_opts(&scores, Some(&[-1]), true)?;
        }
        Ok(parts)
    }
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
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        // The gradient of the attention written out (MLX differentiates its fallback on the
        // CPU; this is the same math without the graph of softmax and friends).
        let a = self.forward_parts(primals)?;
        let d_out = &cotangents[0];
        let dp = ops::matmul(d_out, &ops::swapaxes(&a.vr, -1, -2)?)?;
        let rowdot = ops::sum_axes(ops::multiply(&dp, &a.p)?, -1, true)?;
        let ds = ops::multiply(&a.p, ops::subtract(&dp, &rowdot)?)?;
        let ds_qk = a.masked(&ds)?;
        let dt = primals[0].dtype();
        let scale = Array::scalar(self.scale).astype(dt)?;
        argnums
            .iter()
            .map(|&i| match i {
                0 => ops::multiply(ops::matmul(&ds_qk, &a.kr)?, &scale),
                1 => {
                    let dkr = ops::matmul(&ops::swapaxes(&ds_qk, -1, -2)?, &primals[0])?;
                    a.fold(&ops::multiply(dkr, &scale)?)
                }
                2 => a.fold(&ops::matmul(&ops::swapaxes(&a.p, -1, -2)?, d_out)?),
                3 if self.has_mask_input() => {
                    if self.mask == MaskKind::Bool {
                        Err(Error::value(
                            "[scaled_dot_product_attention] No gradient with respect to a \
                             boolean mask.",
                        ))
                    } else {
                        Ok(ds.clone())
                    }
                }
                _ => {
                    // The sinks: their softmax weight against each row's dot product.
                    let p_sink = a.p_sink.as_ref().expect("sinks were given");
                    let d = ops::multiply(p_sink, &rowdot)?;
                    ops::negative(ops::sum_axes(d, [0, 2, 3], false)?)
                }
            })
            .collect()
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let a = self.forward_parts(primals)?;
        let dt = primals[0].dtype();
        let scale = Array::scalar(self.scale).astype(dt)?;
        let mut d_scores: Option<Array> = None;
        let mut d_out: Option<Array> = None;
        let mut d_sink: Option<Array> = None;
        for (&i, t) in argnums.iter().zip(tangents) {
            match i {
                0 => {
                    let term = ops::matmul(t, &ops::swapaxes(&a.kr, -1, -2)?)?;
                    d_scores = accumulate(d_scores, ops::multiply(a.masked(&term)?, &scale)?)?;
                }
                1 => {
                    let tkr = a.repeat_heads(t)?;
                    let term = ops::matmul(&primals[0], &ops::swapaxes(&tkr, -1, -2)?)?;
                    d_scores = accumulate(d_scores, ops::multiply(a.masked(&term)?, &scale)?)?;
                }
                2 => {
                    let term = ops::matmul(&a.p, &a.repeat_heads(t)?)?;
                    d_out = accumulate(d_out, term)?;
                }
                3 if self.has_mask_input() => {
                    if self.mask == MaskKind::Bool {
                        return Err(Error::value(
                            "[scaled_dot_product_attention] No derivative with respect to a \
                             boolean mask.",
                        ));
                    }
                    d_scores = accumulate(d_scores, t.clone())?;
                }
                _ => d_sink = Some(t.clone()),
            }
        }
        if d_scores.is_some() || d_sink.is_some() {
            let ds = match d_scores {
                Some(d) => d,
                None => ops::zeros_like(&a.p)?,
            };
            // d softmax: p * (ds - <p, ds>), the sink logit counted in the row.
            let mut row = ops::sum_axes(ops::multiply(&a.p, &ds)?, -1, true)?;
            if let (Some(ts), Some(ps)) = (&d_sink, &a.p_sink) {
                let ts = ops::expand_dims(ts, [0, 2, 3])?;
                row = ops::add(row, ops::multiply(ps, ts)?)?;
            }
            let dp = ops::multiply(&a.p, ops::subtract(&ds, row)?)?;
            d_out = accumulate(d_out, ops::matmul(&dp, &a.vr)?)?;
        }
        let out = d_out
            .ok_or_else(|| Error::runtime("[ScaledDotProductAttention::jvp] expected a tangent"))?;
        Ok(vec![out])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let n_main = 3 + usize::from(self.has_mask_input());
        if self.has_sinks && axes[inputs.len() - 1].is_some() {
            let (scale, mask, has_sinks) = (self.scale, self.mask, self.has_sinks);
            return vmap_fallback(
                move |xs| crate::fast::sdpa_fallback(xs, scale, mask, has_sinks),
                inputs,
                axes,
            );
        }
        let Some(v) = inputs
            .iter()
            .zip(axes)
            .find_map(|(x, a)| a.map(|a| x.shape()[a]))
        else {
            return Err(Error::runtime(
                "[ScaledDotProductAttention::vmap] nothing batched",
            ));
        };
        // The batch joins B: (V, B, ...) -> (V * B, ...).
        let mut merged = Vec::with_capacity(inputs.len());
        for (i, (x, ax)) in inputs.iter().zip(axes).enumerate() {
            if i >= n_main {
                merged.push(x.clone());
                continue;
            }
            let x = match ax {
                Some(a) => batch_to_front(x, Some(*a))?,
                None => {
                    let mut shape = x.shape().to_vec();
                    shape.insert(0, v);
                    ops::broadcast_to(ops::expand_dims(x, 0)?, shape)?
                }
            };
            merged.push(ops::flatten(&x, 0, 1)?);
        }
        let (q, vv) = (&merged[0], &merged[2]);
        let b = q.shape()[0] / v;
        let shape = vec![q.shape()[0], q.shape()[1], q.shape()[2], vv.shape()[3]];
        let out = Array::from_op(
            shape,
            q.dtype(),
            ScaledDotProductAttention {
                scale: self.scale,
                mask: self.mask,
                has_sinks: self.has_sinks,
            },
            merged,
        );
        Ok((vec![ops::unflatten(&out, 0, [v, b])?], vec![Some(0)]))
    }
}

/// A custom Metal kernel's call (`mx.fast.metal_kernel`), recorded while exporting a function:
/// the generated source and the launch. rmlx has no Metal back-end, so it never runs here.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CustomKernel {
    pub name: String,
    pub source: String,
    pub grid: (i32, i32, i32),
    pub threadgroup: (i32, i32, i32),
    /// Per input: whether the source uses its `_shape`, `_strides`, `_ndim`.
    pub shape_infos: Vec<(bool, bool, bool)>,
    pub ensure_row_contiguous: bool,
    pub init_value: Option<f32>,
    /// Metal's math mode as MLX serialises it: 0 safe, 1 relaxed, 2 fast.
    pub math_mode: i32,
}

impl Primitive for CustomKernel {
    fn name(&self) -> &'static str {
        "CustomKernel"
    }
    fn eval_cpu(&self, _inputs: &[Array], _outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Err(Error::runtime("Custom kernels only run on GPU."))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// A plain-ops function of a fused node's inputs, for its transform rules.
/// A node's plain-ops twin: its outputs as ops over its inputs.
trait OpsFn: Fn(&[Array]) -> Result<Vec<Array>> + Clone + 'static {}
impl<F: Fn(&[Array]) -> Result<Vec<Array>> + Clone + 'static> OpsFn for F {}

/// The vjp, jvp and vmap of a fused node whose `ops()` is its plain-ops twin (inside an
/// `impl Primitive`); `rules_from_twin!(jvp, vmap)`: those two only.
macro_rules! rules_from_twin {
    () => {
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            ops_vjp(self.ops(), primals, cotangents, argnums)
        }
        rules_from_twin!(jvp, vmap);
    };
    (jvp, vmap) => {
        fn jvp(
            &self,
            primals: &[Array],
            tangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            ops_jvp(self.ops(), primals, tangents, argnums)
        }
        fn vmap(
            &self,
            inputs: &[Array],
            axes: &[Option<usize>],
            outputs: &[OutputSpec],
        ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            ops_vmap(self.ops(), inputs, axes, outputs.len())
        }
    };
}

/// The vjp of `f` (the node's plain-ops twin) for `argnums`.
fn ops_vjp(
    f: impl OpsFn,
    primals: &[Array],
    cotangents: &[Array],
    argnums: &[usize],
) -> Result<Vec<Array>> {
    let all = crate::transforms::vjp(f, primals, cotangents)?.1;
    Ok(argnums.iter().map(|&a| all[a].clone()).collect())
}

/// The jvp of `f` with the tangents of the primals `argnums` (the others constant).
fn ops_jvp(
    f: impl OpsFn,
    primals: &[Array],
    tangents: &[Array],
    argnums: &[usize],
) -> Result<Vec<Array>> {
    let (p, an) = (primals.to_vec(), argnums.to_vec());
    let chosen: Vec<Array> = an.iter().map(|&a| p[a].clone()).collect();
    let g = move |xs: &[Array]| {
        let mut all = p.clone();
        for (x, &a) in xs.iter().zip(&an) {
            all[a] = x.clone();
        }
        f(&all)
    };
    Ok(crate::transforms::jvp(g, &chosen, tangents)?.1)
}

/// `f` vmapped over `axes`, every output batched on axis 0.
fn ops_vmap(
    f: impl OpsFn,
    inputs: &[Array],
    axes: &[Option<usize>],
    n_out: usize,
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    let in_axes: Vec<Option<isize>> = axes.iter().map(|a| a.map(|a| a as isize)).collect();
    let out_axes = vec![Some(0isize); n_out];
    let out = crate::transforms::vmap(f, &in_axes, &out_axes)(inputs)?;
    Ok((out, vec![Some(0); n_out]))
}

/// `batch_norm_train`'s fused float32 forward: inputs `[x, weight, bias]` (`(C,)` each),
/// outputs `[y, mean, ss]` (see [`crate::cpu::batch_norm::forward`]). Its transforms are the
/// custom rules of [`crate::fast::batch_norm_train`], which wraps it.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct BatchNormTrain {
    pub(crate) eps: f32,
}

impl Primitive for BatchNormTrain {
    fn name(&self) -> &'static str {
        "BatchNormTrain"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        crate::cpu::batch_norm::forward(inputs, self.eps, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        // The fused gradient node, fed every output's cotangent (a loss may read the
        // statistics through the running statistics).
        let (x, w) = (&primals[0], &primals[1]);
        let spec = |a: &Array| OutputSpec {
            shape: a.shape().to_vec(),
            dtype: a.dtype(),
        };
        let mut inputs = vec![x.clone(), outputs[1].clone(), outputs[2].clone(), w.clone()];
        inputs.extend(cotangents.iter().cloned());
        let all = Array::multi_from_op(
            vec![spec(x), spec(w), spec(&primals[2])],
            BatchNormTrainVjp { eps: self.eps },
            inputs,
        );
        Ok(argnums.iter().map(|&a| all[a].clone()).collect())
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let eps = self.eps as f64;
        let f = move |xs: &[Array]| crate::fast::batch_norm_train_ops(xs, eps);
        ops_jvp(f, primals, tangents, argnums)
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let eps = self.eps as f64;
        let f = move |xs: &[Array]| crate::fast::batch_norm_train_ops(xs, eps);
        ops_vmap(f, inputs, axes, 3)
    }
}

/// The fused float32 gradient of [`BatchNormTrain`]: inputs
/// `[x, mean, ss, weight, g, g_mean, g_ss]`, outputs `[dx, dweight, dbias]` (see
/// [`crate::cpu::batch_norm::backward`]).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct BatchNormTrainVjp {
    pub(crate) eps: f32,
}

impl Primitive for BatchNormTrainVjp {
    fn name(&self) -> &'static str {
        "BatchNormTrainVjp"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        crate::cpu::batch_norm::backward(inputs, self.eps, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let eps = self.eps as f64;
        let f = move |xs: &[Array]| crate::fast::batch_norm_train_vjp_ops(xs, eps);
        ops_vjp(f, primals, cotangents, argnums)
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let eps = self.eps as f64;
        let f = move |xs: &[Array]| crate::fast::batch_norm_train_vjp_ops(xs, eps);
        ops_jvp(f, primals, tangents, argnums)
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let eps = self.eps as f64;
        let f = move |xs: &[Array]| crate::fast::batch_norm_train_vjp_ops(xs, eps);
        ops_vmap(f, inputs, axes, 3)
    }
}

/// `lstm_sequence`'s fused float32 forward: inputs `[x_proj, w_h, h0?, c0?]` (`hidden` /
/// `cell`: whether the initial states are among them), outputs `[hs, cs, gates]` (see
/// [`crate::cpu::lstm::forward`]). Its transforms differentiate
/// [`crate::fast::lstm_sequence_ops`], except the vjp, which is the fused [`LstmSequenceVjp`].
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LstmSequence {
    pub(crate) hidden: bool,
    pub(crate) cell: bool,
}

impl LstmSequence {
    fn ops(&self) -> impl OpsFn {
        let (hidden, cell) = (self.hidden, self.cell);
        move |xs: &[Array]| crate::fast::lstm_sequence_ops(xs, hidden, cell)
    }
}

impl Primitive for LstmSequence {
    fn name(&self) -> &'static str {
        "LstmSequence"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        crate::cpu::lstm::forward(inputs, self.hidden, self.cell, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let spec = |a: &Array| OutputSpec {
            shape: a.shape().to_vec(),
            dtype: a.dtype(),
        };
        let mut inputs = primals.to_vec();
        inputs.extend(outputs.iter().cloned());
        inputs.extend(cotangents.iter().cloned());
        let all = Array::multi_from_op(
            primals.iter().map(spec).collect(),
            LstmSequenceVjp {
                hidden: self.hidden,
                cell: self.cell,
            },
            inputs,
        );
        Ok(argnums.iter().map(|&a| all[a].clone()).collect())
    }
    rules_from_twin!(jvp, vmap);
}

/// The fused float32 gradient of [`LayerNorm`] with a weight: inputs `[x, w, g]`, outputs
/// `[dx, dw, db]` (see [`crate::cpu::batch_norm::layer_norm_vjp`]); its own transforms go
/// through [`layer_norm_vjp_ops`], the formula it fuses.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LayerNormVjp {
    pub(crate) eps: f32,
}

impl LayerNormVjp {
    /// `[dx, dw, db]` as one fused node when the kernel applies (float32, a `(D,)` weight,
    /// `D > 0`, a non-empty `x`); `None` otherwise.
    fn node(x: &Array, w: &Array, g: &Array, eps: f32) -> Result<Option<Vec<Array>>> {
        let f32s = [x, w, g].iter().all(|a| a.dtype() == Dtype::Float32);
        let d = x.shape().last().copied().unwrap_or(0);
        if !f32s || x.ndim() == 0 || d == 0 || x.size() == 0 || w.shape() != [d] {
            return Ok(None);
        }
        let g = ops::broadcast_to(g, x.shape())?;
        let spec = |shape: Vec<usize>| OutputSpec {
            shape,
            dtype: Dtype::Float32,
        };
        Ok(Some(Array::multi_from_op(
            vec![spec(x.shape().to_vec()), spec(vec![d]), spec(vec![d])],
            LayerNormVjp { eps },
            vec![x.clone(), w.clone(), g],
        )))
    }
    fn ops(&self) -> impl OpsFn {
        let eps = self.eps;
        move |xs: &[Array]| layer_norm_vjp_ops(xs, eps)
    }
}

/// `[dx, dw, db]` of `layer_norm` over the last axis from plain ops, for inputs `[x, w, g]`
/// (MLX's LayerNormVJP, with the variance of the centred input).
fn layer_norm_vjp_ops(xs: &[Array], eps: f32) -> Result<Vec<Array>> {
    let (x, w, g) = (&xs[0], &xs[1], &xs[2]);
    let xc = ops::subtract(x, ops::mean_axes(x, -1, true)?)?;
    let var = ops::mean_axes(ops::square(&xc)?, -1, true)?;
    let n = ops::rsqrt(ops::add(var, eps)?)?;
    let xhat = ops::multiply(&xc, &n)?;
    let wg = ops::multiply(w, g)?;
    let m1 = ops::mean_axes(&wg, -1, true)?;
    let m2 = ops::mean_axes(ops::multiply(&wg, &xhat)?, -1, true)?;
    let d = ops::subtract(ops::subtract(&wg, m1)?, ops::multiply(&xhat, m2)?)?;
    Ok(vec![
        ops::multiply(d, &n)?,
        sum_leading(&ops::multiply(g, &xhat)?)?,
        sum_leading(g)?,
    ])
}

impl Primitive for LayerNormVjp {
    fn name(&self) -> &'static str {
        "LayerNormVjp"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        crate::cpu::batch_norm::layer_norm_vjp(inputs, self.eps, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    rules_from_twin!();
}

/// The fused float32 gradient of [`LstmSequence`]: inputs
/// `[x_proj, w_h, h0?, c0?, hs, cs, gates, g_hs, g_cs, g_gates]`, outputs the gradients of
/// `[x_proj, w_h, h0?, c0?]` (see [`crate::cpu::lstm::backward`]).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LstmSequenceVjp {
    pub(crate) hidden: bool,
    pub(crate) cell: bool,
}

impl LstmSequenceVjp {
    fn ops(&self) -> impl OpsFn {
        let (hidden, cell) = (self.hidden, self.cell);
        move |xs: &[Array]| crate::fast::lstm_sequence_vjp_ops(xs, hidden, cell)
    }
}

impl Primitive for LstmSequenceVjp {
    fn name(&self) -> &'static str {
        "LstmSequenceVjp"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        crate::cpu::lstm::backward(inputs, self.hidden, self.cell, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    rules_from_twin!();
}
