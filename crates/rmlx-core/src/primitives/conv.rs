//! The convolution primitive (MLX's `Convolution`): every convolution op builds one. Inputs
//! are `[input, weight]` in the output dtype, with any negative padding already cropped from
//! the input; the math runs in [`crate::cpu::conv`].

use crate::array::{Array, Data};
use crate::cpu::conv;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// A general N-d convolution: per spatial axis `stride`, padding before (`padding_lo`) and
/// after (`padding_hi`), `kernel_dilation` and `input_dilation`; `groups` splits the channels;
/// `flip` reverses the kernel's spatial axes (convolution rather than cross-correlation).
#[derive(Debug, PartialEq)]
pub(crate) struct Convolution {
    pub(crate) stride: Vec<usize>,
    pub(crate) padding_lo: Vec<usize>,
    pub(crate) padding_hi: Vec<usize>,
    pub(crate) kernel_dilation: Vec<usize>,
    pub(crate) input_dilation: Vec<usize>,
    pub(crate) groups: usize,
    pub(crate) flip: bool,
}

impl Primitive for Convolution {
    fn name(&self) -> &'static str {
        "Convolution"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![conv::conv(&inputs[0], &inputs[1], self, &outputs[0])?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
