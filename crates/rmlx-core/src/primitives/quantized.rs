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
#[derive(Debug, PartialEq)]
pub(crate) struct Quantize {
    pub(crate) mode: QuantMode,
    pub(crate) group_size: usize,
    pub(crate) bits: usize,
}

impl Primitive for Quantize {
    fn name(&self) -> &'static str {
        "Quantize"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        kern::quantize(&inputs[0], self.mode, self.group_size, self.bits, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `dequantize`: inputs `[w, scales]` and, for affine, `biases`.
#[derive(Debug, PartialEq)]
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
                    return Err(Error::runtime(
                        "[dequantize] no gradient wrt the quantized weights.",
                    ));
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
            if a == 0 || self.mode != QuantMode::Affine {
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
        let acc = acc.ok_or_else(|| Error::runtime("[Dequantize::jvp] expected a tangent"))?;
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

/// `quantized_matmul`: inputs `[x, w, scales]` and, for affine, `biases`, already in the
/// output dtype (scales of the float formats stay `uint8`); when both `x` and `w` have batch
/// dimensions they are broadcast to the same ones.
#[derive(Debug, PartialEq)]
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
#[derive(Debug, PartialEq)]
pub(crate) struct GatherQmm {
    pub(crate) mode: QuantMode,
    pub(crate) group_size: usize,
    pub(crate) bits: usize,
    pub(crate) transpose: bool,
    pub(crate) left_sorted: bool,
    pub(crate) right_sorted: bool,
}

impl Primitive for GatherQmm {
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
#[derive(Debug, PartialEq)]
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
#[derive(Debug, PartialEq)]
pub(crate) struct QqMatmul {
    pub(crate) mode: QuantMode,
    pub(crate) group_size: usize,
    pub(crate) bits: usize,
}

impl Primitive for QqMatmul {
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
