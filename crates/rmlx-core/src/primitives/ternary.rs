//! Ternary elementwise primitives: `Select` (the kernel of `where`).

use crate::array::{Array, Data};
use crate::cpu::elementwise::ternary;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `where(condition, x, y)`: inputs are a bool condition and `x`, `y` of the output dtype, all
/// broadcast to the output shape.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Select;

impl Primitive for Select {
    fn is_elementwise(&self) -> bool {
        true
    }
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
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (c, cot) = (&primals[0], &cotangents[0]);
        argnums
            .iter()
            .map(|&i| match i {
                0 => crate::ops::zeros_like(c),
                1 => crate::ops::r#where(c, cot, &crate::ops::zeros_like(cot)?),
                _ => crate::ops::r#where(c, &crate::ops::zeros_like(cot)?, cot),
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
        let zero = crate::ops::zeros_like(&outputs[0])?;
        let pick = |i: usize| {
            argnums
                .iter()
                .position(|&a| a == i)
                .map(|k| tangents[k].clone())
                .unwrap_or_else(|| zero.clone())
        };
        Ok(vec![crate::ops::r#where(&primals[0], &pick(1), &pick(2))?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        crate::transforms::rules::vmap_elementwise(inputs, axes, |xs| {
            crate::ops::r#where(&xs[0], &xs[1], &xs[2])
        })
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
