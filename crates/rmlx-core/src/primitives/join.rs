//! Primitives that assemble one output from several inputs.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::copy::copy_into;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `concatenate`: the inputs (already in the output dtype) placed one after another along
/// `axis`.
#[derive(Debug, PartialEq)]
pub(crate) struct Concatenate {
    pub(crate) axis: usize,
}

impl Primitive for Concatenate {
    fn name(&self) -> &'static str {
        "Concatenate"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let spec = &outputs[0];
        let (mut buf, strides) = Data::alloc(spec)?;
        crate::dispatch_dtype!(spec.dtype, T => {
            let out = buffer_elements_mut::<T>(&mut buf);
            let mut pos = 0usize;
            for x in inputs {
                let n = x.shape()[self.axis];
                if x.size() > 0 {
                    let d = x.ready_data()?;
                    copy_into::<T>(&d, x.shape(), out, pos * strides[self.axis] as usize, &strides);
                }
                pos += n;
            }
        });
        Ok(vec![Data::from_buffer(buf, &spec.shape)])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
