//! Quantization primitives: one type per op, each handing its inputs to the kernels in
//! [`crate::cpu::quantized`].

use crate::array::{Array, Data};
use crate::cpu::quantized::{self as kern, QSpec, QmmInputs};
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

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
}

/// `to_fp8` (`to_fp8 == true`) or `from_fp8`.
#[derive(Debug, PartialEq)]
pub(crate) struct ConvertFp8 {
    pub(crate) to_fp8: bool,
}

impl Primitive for ConvertFp8 {
    fn name(&self) -> &'static str {
        "ConvertFP8"
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
