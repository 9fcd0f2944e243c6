//! Quantization primitives: one type per op, each handing its inputs to the kernels in
//! [`crate::cpu::quantized`].

use crate::array::{Array, Data};
use crate::cpu::quantized::{self as kern, QSpec, QmmInputs};
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::{OutputSpec, Primitive, same_params};
use crate::transforms::rules::batch_to_front;

/// The unscaled values of the quantized `w` (`dequantize` with scales 1 and biases 0), split
/// into groups of `group_size` along the last axis.
fn unit_values(w: &Array, scales: &Array, group_size: usize, bits: usize) -> Result<Array> {
    let wq = ops::dequantize(
        w,
        &ops::ones_like(scales)?,
        Some(&ops::zeros_like(scales)?),
        Some(group_size),
        Some(bits),
        QuantMode::Affine,
        None,
    )?;
    ops::unflatten(&wq, -1, [-1, group_size as isize])
}

/// The cotangents of affine `scales` (`which == 2`) and `biases` (3) from `dw`, the cotangent
/// of the dequantized weight.
fn scale_bias_grad(
    dw: &Array,
    w: &Array,
    scales: &Array,
    which: usize,
    group_size: usize,
    bits: usize,
) -> Result<Array> {
    let dsb = ops::unflatten(dw, -1, [-1, group_size as isize])?;
    let g = if which == 3 {
        ops::sum_axes(&dsb, -1, false)?
    } else {
        let wq = unit_values(w, scales, group_size, bits)?;
        ops::sum_axes(ops::multiply(&dsb, wq)?, -1, false)?
    };
    ops::astype(&g, scales.dtype())
}

pub use crate::ops::quantized::QuantMode;

/// `quantize`: input `[w]`; outputs the packed words, the scales and (affine) the biases.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Quantize {
    pub(crate) mode: QuantMode,
    pub(crate) group_size: usize,
    pub(crate) bits: usize,
}

impl Quantize {
    /// The affine scales and biases written with plain ops as MLX's fallback computes them
    /// (float32 group extremes, the edge of larger magnitude mapped to an integer), in `w`'s
    /// dtype: what MLX differentiates.
    fn affine_scales(&self, w: &Array) -> Result<(Array, Array)> {
        let f32 = crate::Dtype::Float32;
        let k = w.shape()[w.ndim() - 1];
        let mut out_shape = w.shape().to_vec();
        *out_shape.last_mut().expect("2-D or more") = k / self.group_size;
        let groups = ops::reshape(w, vec![w.size() / k, k / self.group_size, self.group_size])?;
        let w_max = ops::astype(&ops::max_axes(&groups, [-1], true)?, f32)?;
        let w_min = ops::astype(&ops::min_axes(&groups, [-1], true)?, f32)?;
        let n_bins = ((1u32 << self.bits) - 1) as f64;
        let eps = Array::scalar(1e-7f32);
        let spread = ops::maximum(&ops::divide(&ops::subtract(&w_max, &w_min)?, n_bins)?, &eps)?;
        let (scales, biases) = if self.bits == 1 {
            (spread, w_min)
        } else {
            let mask = ops::greater(&ops::abs(&w_min)?, &ops::abs(&w_max)?)?;
            let scales = ops::r#where(&mask, &spread, &ops::negative(&spread)?)?;
            let edge = ops::r#where(&mask, &w_min, &w_max)?;
            let q0 = ops::round(&ops::divide(&edge, &scales)?)?;
            let nonzero = ops::not_equal(&q0, 0.0)?;
            let scales = ops::r#where(&nonzero, &ops::divide(&edge, &q0)?, &scales)?;
            let biases = ops::r#where(&nonzero, &edge, 0.0)?;
            (scales, biases)
        };
        let back = |a: &Array| ops::reshape(&ops::astype(a, w.dtype())?, out_shape.clone());
        Ok((back(&scales)?, back(&biases)?))
    }

    /// MLX's quantize for the fp modes is, on the CPU, plain ops, some without rules: to_fp8
    /// (mxfp8's words, nvfp4's scales and words), view (mxfp8's words) and from_fp8 (nvfp4's
    /// words). The error MLX raises, if any: its jvp and vmap meet to_fp8 in both modes; its
    /// vjp meets it for nvfp4's scales (rmlx reports that one whichever outputs carry a
    /// cotangent) and gives zeros for mxfp8's scales (rmlx: zeros whichever outputs carry
    /// one; MLX raises for the view of mxfp8's words).
    fn fp_error(&self, transform: &str) -> Option<Error> {
        let prim = match (self.mode, transform) {
            (QuantMode::Affine | QuantMode::Mxfp4, _) | (QuantMode::Mxfp8, "vjp") => return None,
            _ => "ToFP8",
        };
        Some(Error::transform_unsupported(prim, transform))
    }
}

impl Primitive for Quantize {
    fn name(&self) -> &'static str {
        "Quantize"
    }
    // As MLX: affine through its plain-ops scales and biases (the packed words are integers,
    // without derivative), mxfp4 with zero derivatives, mxfp8/nvfp4 with MLX's errors.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        if let Some(e) = self.fp_error("vjp") {
            return Err(e);
        }
        if self.mode != QuantMode::Affine {
            return Ok(vec![ops::zeros_like(&primals[0])?]);
        }
        let f = |xs: &[Array]| -> Result<Vec<Array>> {
            let (s, b) = self.affine_scales(&xs[0])?;
            Ok(vec![outputs[0].clone(), s, b])
        };
        Ok(crate::transforms::vjp(f, primals, cotangents)?.1)
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        if let Some(e) = self.fp_error("jvp") {
            return Err(e);
        }
        if self.mode != QuantMode::Affine {
            return outputs.iter().map(ops::zeros_like).collect();
        }
        let f = |xs: &[Array]| -> Result<Vec<Array>> {
            let (s, b) = self.affine_scales(&xs[0])?;
            Ok(vec![s, b])
        };
        let mut t = crate::transforms::jvp(f, primals, tangents)?.1;
        t.insert(0, ops::zeros_like(&outputs[0])?);
        Ok(t)
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if let Some(e) = self.fp_error("vmap") {
            return Err(e);
        }
        // Quantization runs along the last axis: a batch axis there moves to the front.
        let w = &inputs[0];
        let (w, ax) = match axes[0] {
            Some(b) if b + 1 == w.ndim() => (
                crate::transforms::rules::batch_to_front(w, Some(b))?,
                Some(0),
            ),
            ax => (w.clone(), ax),
        };
        let (q, s, b) = ops::quantize(&w, Some(self.group_size), Some(self.bits), self.mode)?;
        let mut outs = vec![q, s];
        outs.extend(b);
        let n = outs.len();
        Ok((outs, vec![ax; n]))
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        kern::quantize(&inputs[0], self.mode, self.group_size, self.bits, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `dequantize`: inputs `[w, scales]` and, for affine, `biases`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Dequantize {
    pub(crate) mode: QuantMode,
    pub(crate) group_size: usize,
    pub(crate) bits: usize,
}

impl Primitive for Dequantize {
    fn name(&self) -> &'static str {
        "Dequantize"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kern::dequantize(
            &inputs[0],
            &inputs[1],
            inputs.get(2),
            self.mode,
            self.group_size,
            self.bits,
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
        let (w, scales) = (&primals[0], &primals[1]);
        argnums
            .iter()
            .map(|&a| {
                if a == 0 {
                    // Integer words: a zero cotangent, as MLX.
                    return ops::zeros_like(w);
                }
                if self.mode != QuantMode::Affine {
                    return Err(Error::value(format!(
                        "[dequantize] no gradient wrt scales in {:?} quantization.",
                        self.mode
                    )));
                }
                scale_bias_grad(&cotangents[0], w, scales, a + 1, self.group_size, self.bits)
            })
            .collect()
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (w, scales, out) = (&primals[0], &primals[1], &outputs[0]);
        let mut acc: Option<Array> = None;
        for (&a, t) in argnums.iter().zip(tangents) {
            if a == 0 {
                continue; // the integer words contribute nothing, as in MLX
            }
            if self.mode != QuantMode::Affine {
                return Err(Error::transform_unsupported(self.name(), "jvp"));
            }
            let t = ops::expand_dims(&ops::astype(t, out.dtype())?, -1)?;
            let term = if a == 1 {
                ops::multiply(unit_values(w, scales, self.group_size, self.bits)?, &t)?
            } else {
                t
            };
            acc = Some(match acc {
                Some(x) => ops::add(&x, &term)?,
                None => term,
            });
        }
        let Some(acc) = acc else {
            return Ok(vec![ops::zeros_like(out)?]);
        };
        let mut grouped = out.shape().to_vec();
        let n = grouped.len();
        grouped[n - 1] /= self.group_size;
        grouped.push(self.group_size);
        Ok(vec![ops::reshape(
            &ops::broadcast_to(&acc, grouped)?,
            out.shape(),
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        // Every input shares the leading axes: all batched in front.
        let v = inputs
            .iter()
            .zip(axes)
            .find_map(|(x, a)| a.map(|a| x.shape()[a]))
            .ok_or_else(|| Error::runtime("[Dequantize::vmap] nothing batched"))?;
        let front = inputs
            .iter()
            .zip(axes)
            .map(|(x, a)| match a {
                Some(_) => batch_to_front(x, *a),
                None => {
                    let mut shape = x.shape().to_vec();
                    shape.insert(0, v);
                    ops::broadcast_to(ops::expand_dims(x, 0)?, shape)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let out = ops::dequantize(
            &front[0],
            &front[1],
            front.get(2),
            Some(self.group_size),
            Some(self.bits),
            self.mode,
            Some(outputs[0].dtype),
        )?;
        Ok((vec![out], vec![Some(0)]))
    }
}

/// The output features of a quantized matmul with packed weights of shape `w`: its rows when
/// transposed, else its packed columns unpacked (32 / `bits` values per uint32).
fn quantized_outer(w: &[usize], transpose: bool, bits: usize) -> usize {
    let n = w.len();
    if transpose {
        w.get(n.wrapping_sub(2)).copied().unwrap_or(1)
    } else {
        w.last().copied().unwrap_or(0) * 32 / bits.max(1)
    }
}

/// `quantized_matmul`: inputs `[x, w, scales]` and, for affine, `biases`, already in the
/// output dtype (scales of the float formats stay `uint8`); when both `x` and `w` have batch
/// dimensions they are broadcast to the same ones.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct QuantizedMatmul {
    pub(crate) mode: QuantMode,
    pub(crate) group_size: usize,
    pub(crate) bits: usize,
    pub(crate) transpose: bool,
}

impl QuantizedMatmul {
    fn spec(&self) -> QSpec {
        QSpec {
            mode: self.mode,
            group_size: self.group_size,
            bits: self.bits,
        }
    }
}

impl Primitive for QuantizedMatmul {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        // x's shape with w's output features as the last dimension.
        let mut out = inputs[0].shape().to_vec();
        if let Some(last) = out.last_mut() {
            *last = quantized_outer(inputs[1].shape(), self.transpose, self.bits);
        }
        Ok(vec![out])
    }
    fn name(&self) -> &'static str {
        "QuantizedMatmul"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, w) = (&inputs[0], &inputs[1]);
        let spec = &outputs[0];
        let k = x.shape()[x.ndim() - 1];
        let n = *spec.shape.last().expect("at least 1-D");
        let rows: usize = x.shape()[..x.ndim() - 1].iter().product();
        let (m, pairs) = if w.ndim() > 2 && x.ndim() > 2 {
            // One product per batch element (the batch dimensions were broadcast together).
            let m = x.shape()[x.ndim() - 2];
            let nb = rows.checked_div(m).unwrap_or(0);
            (m, (0..nb).map(|i| (i, i)).collect::<Vec<_>>())
        } else {
            // One weight matrix for every row of x (MLX uses the first when only w is batched).
            (rows, vec![(0, 0)])
        };
        let inp = QmmInputs {
            x,
            w,
            scales: &inputs[2],
            biases: inputs.get(3),
        };
        Ok(vec![kern::qmm(
            inp,
            self.spec(),
            self.transpose,
            m,
            k,
            n,
            &pairs,
            spec,
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
        let (x, w, scales) = (&primals[0], &primals[1], &primals[2]);
        let cot = &cotangents[0];
        argnums
            .iter()
            .map(|&a| match a {
                0 => ops::quantized_matmul(
                    cot,
                    w,
                    scales,
                    primals.get(3),
                    !self.transpose,
                    Some(self.group_size),
                    Some(self.bits),
                    self.mode,
                ),
                1 => Err(Error::runtime(
                    "[QuantizedMatmul::vjp] no gradient wrt the quantized weights.",
                )),
                _ if self.mode != QuantMode::Affine => Err(Error::value(format!(
                    "[QuantizedMatmul::vjp] no gradient wrt scales in {:?} quantization.",
                    self.mode
                ))),
                _ => {
                    // The cotangent of the dequantized weight, summed over x's extra rows.
                    let nd = w.ndim() as isize;
                    let fc = ops::flatten(cot, 0, -nd)?;
                    let fx = ops::flatten(x, 0, -nd)?;
                    let dw = if self.transpose {
                        ops::matmul(&ops::swapaxes(&fc, -1, -2)?, &fx)?
                    } else {
                        ops::matmul(&ops::swapaxes(&fx, -1, -2)?, &fc)?
                    };
                    scale_bias_grad(&dw, w, scales, a, self.group_size, self.bits)
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
        if argnums != [0] {
            return Err(Error::runtime(
                "[QuantizedMatmul::jvp] No JVP wrt the quantized matrix yet.",
            ));
        }
        Ok(vec![ops::quantized_matmul(
            &tangents[0],
            &primals[1],
            &primals[2],
            primals.get(3),
            self.transpose,
            Some(self.group_size),
            Some(self.bits),
            self.mode,
        )?])
    }
    fn vmap(
        &self,
        _inputs: &[Array],
        _axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        // MLX 0.32.4 has no batched quantized matmul yet: its error, word for word.
        Err(Error::runtime("[QuantizedMatmul::vmap] NYI"))
    }
}

/// `gather_qmm`: inputs `[x, w, scales, (biases), lhs_indices, rhs_indices]`, the indices
/// `uint32` and broadcast to one shape.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct GatherQmm {
    pub(crate) mode: QuantMode,
    pub(crate) group_size: usize,
    pub(crate) bits: usize,
    pub(crate) transpose: bool,
    pub(crate) left_sorted: bool,
    pub(crate) right_sorted: bool,
}

impl Primitive for GatherQmm {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        // The indices' shape, then x's rows and w's output features.
        let x = inputs[0].shape();
        let mut out = inputs[inputs.len() - 2].shape().to_vec();
        out.push(x.get(x.len().wrapping_sub(2)).copied().unwrap_or(1));
        out.push(quantized_outer(
            inputs[1].shape(),
            self.transpose,
            self.bits,
        ));
        Ok(vec![out])
    }
    fn name(&self) -> &'static str {
        "GatherQMM"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let ni = inputs.len();
        let (x, w) = (&inputs[0], &inputs[1]);
        let lhs = kern::dense::<u32>(&inputs[ni - 2])?;
        let rhs = kern::dense::<u32>(&inputs[ni - 1])?;
        let pairs: Vec<(usize, usize)> = lhs
            .as_slice()
            .iter()
            .zip(rhs.as_slice())
            .map(|(&l, &r)| (l as usize, r as usize))
            .collect();
        let spec = &outputs[0];
        let k = x.shape()[x.ndim() - 1];
        let m = x.shape()[x.ndim() - 2];
        let n = *spec.shape.last().expect("at least 2-D");
        let inp = QmmInputs {
            x,
            w,
            scales: &inputs[2],
            biases: if ni == 6 { Some(&inputs[3]) } else { None },
        };
        let q = QSpec {
            mode: self.mode,
            group_size: self.group_size,
            bits: self.bits,
        };
        Ok(vec![kern::qmm(
            inp,
            q,
            self.transpose,
            m,
            k,
            n,
            &pairs,
            spec,
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
        let ni = primals.len();
        let (x, w, scales) = (&primals[0], &primals[1], &primals[2]);
        let biases = if ni == 6 { Some(&primals[3]) } else { None };
        let (lhs, rhs) = (&primals[ni - 2], &primals[ni - 1]);
        let cot = &cotangents[0];
        // Scatter-adds per-product gradients (index shape + matrix) into the matrices of `to`
        // (batch dimensions `batch`) they came from.
        let scatter_into = |batch: &[usize], idx: &Array, g: &Array| -> Result<Array> {
            let mats = batch.iter().product::<usize>();
            let nd = g.ndim();
            let (r, c) = (g.shape()[nd - 2], g.shape()[nd - 1]);
            let zeros = ops::zeros([mats, r, c], g.dtype())?;
            let s = ops::scatter(
                &zeros,
                std::slice::from_ref(idx),
                &ops::expand_dims(g, -3)?,
                0,
                crate::cpu::indexing::ScatterReduce::Sum,
            )?;
            let mut shape = batch.to_vec();
            shape.extend([r, c]);
            ops::reshape(&s, shape)
        };
        argnums
            .iter()
            .map(|&a| {
                if a == 0 {
                    let g = ops::gather_qmm(
                        cot,
                        w,
                        scales,
                        biases,
                        None,
                        Some(rhs),
                        !self.transpose,
                        Some(self.group_size),
                        Some(self.bits),
                        self.mode,
                        false,
                    )?;
                    scatter_into(&x.shape()[..x.ndim() - 2], lhs, &g)
                } else if a >= ni - 2 {
                    Err(Error::runtime(
                        "[GatherQMM::vjp] cannot compute the gradient wrt the indices.",
                    ))
                } else if a == 1 {
                    Err(Error::runtime(
                        "[GatherQMM::vjp] no gradient wrt the quantized weights.",
                    ))
                } else if self.mode != QuantMode::Affine {
                    Err(Error::value(format!(
                        "[GatherQMM::vjp] no gradient wrt scales in {:?} quantization.",
                        self.mode
                    )))
                } else {
                    let g = if self.transpose {
                        ops::gather_mm(&ops::swapaxes(cot, -1, -2)?, x, None, Some(lhs), false)?
                    } else {
                        ops::gather_mm(&ops::swapaxes(x, -1, -2)?, cot, Some(lhs), None, false)?
                    };
                    let dw = scatter_into(&w.shape()[..w.ndim() - 2], rhs, &g)?;
                    scale_bias_grad(&dw, w, scales, a, self.group_size, self.bits)
                }
            })
            .collect()
    }
}

/// `to_fp8` (`to_fp8 == true`) or `from_fp8`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ConvertFp8 {
    pub(crate) to_fp8: bool,
}

impl ConvertFp8 {
    /// MLX's name for the direction (it has two primitives).
    fn mlx_name(&self) -> &'static str {
        if self.to_fp8 { "ToFP8" } else { "FromFP8" }
    }
}

impl Primitive for ConvertFp8 {
    fn name(&self) -> &'static str {
        "ConvertFP8"
    }
    // MLX has no rules for ToFP8/FromFP8: its default errors, under its primitive names.
    fn vjp(&self, _: &[Array], _: &[Array], _: &[usize], _: &[Array]) -> Result<Vec<Array>> {
        Err(Error::transform_unsupported(self.mlx_name(), "vjp"))
    }
    fn jvp(&self, _: &[Array], _: &[Array], _: &[usize], _: &[Array]) -> Result<Vec<Array>> {
        Err(Error::transform_unsupported(self.mlx_name(), "jvp"))
    }
    fn vmap(
        &self,
        _: &[Array],
        _: &[Option<usize>],
        _: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Err(Error::transform_unsupported(self.mlx_name(), "vmap"))
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kern::convert_fp8(
            &inputs[0],
            self.to_fp8,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `qqmm` with a quantized `w`: inputs `[x, w, scales]`, `x` one row.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct QqMatmul {
    pub(crate) mode: QuantMode,
    pub(crate) group_size: usize,
    pub(crate) bits: usize,
}

impl Primitive for QqMatmul {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let w = inputs[1].shape();
        let mut out = inputs[0].shape().to_vec();
        if let Some(last) = out.last_mut() {
            *last = w.get(w.len().wrapping_sub(2)).copied().unwrap_or(1);
        }
        Ok(vec![out])
    }
    fn name(&self) -> &'static str {
        "QQMatmul"
    }
    // MLX's QQMatmul::vjp quantizes on the fly for a float `w`; with an already quantized
    // `w` (the only form this primitive holds) it fails for x (no scales are passed) and w,
    // and gives zeros for the scales. Its jvp is not implemented.
    fn vjp(
        &self,
        primals: &[Array],
        _cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| match i {
                0 => Err(Error::value(
                    "[qqmm] Scales must be provided if second argument is quantized.",
                )),
                1 => Err(Error::runtime("[QQMatmul] NYI for the general case")),
                _ => ops::zeros_like(&primals[i]),
            })
            .collect()
    }
    fn jvp(&self, _: &[Array], _: &[Array], _: &[usize], _: &[Array]) -> Result<Vec<Array>> {
        Err(Error::runtime("QQMM::jvp NYI"))
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let q = QSpec {
            mode: self.mode,
            group_size: self.group_size,
            bits: self.bits,
        };
        Ok(vec![kern::qqmm(
            &inputs[0],
            &inputs[1],
            &inputs[2],
            q,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
