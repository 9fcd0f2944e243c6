//! Ternary elementwise primitives: `Select` (the kernel of `where`).

use crate::array::{Array, Data};
use crate::cpu::elementwise::ternary;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `where(condition, x, y)`: inputs are a bool condition and `x`, `y` of the output dtype, all
/// broadcast to the output shape.
#[derive(Debug, PartialEq)]
pub(crate) struct Select;

impl Primitive for Select {
    fn name(&self) -> &'static str {
        "Select"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (c, x, y, spec) = (&inputs[0], &inputs[1], &inputs[2], &outputs[0]);
        let d = crate::dispatch_dtype!(x.dtype(), T => {
            ternary::<bool, T, T, T>(c, x, y, spec, |c, x, y| if c { x } else { y })
        })?;
        Ok(vec![d])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
