//! Matrix-product primitives. Inputs arrive in the output dtype, with batch dimensions
//! broadcast to the output's; the math runs in [`crate::cpu::gemm`].

use crate::array::{Array, Data};
use crate::cpu::gemm::{self, Scale};
use crate::cpu::num::Num;
use crate::dtype::Dtype;
use crate::element::C64;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};
use half::{bf16, f16};

/// `a @ b` over broadcast batch dimensions (inputs `[a, b]`).
#[derive(Debug, PartialEq)]
pub(crate) struct Matmul;

impl Primitive for Matmul {
    fn name(&self) -> &'static str {
        "Matmul"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let scale = Scale {
            alpha: 1.0,
            beta: 0.0,
        };
        Ok(vec![gemm::gemm(
            &inputs[0],
            &inputs[1],
            None,
            scale,
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
        let c = &cotangents[0];
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    crate::ops::matmul(c, &crate::ops::swapaxes(&primals[1], -1, -2)?)
                } else {
                    crate::ops::matmul(&crate::ops::swapaxes(&primals[0], -1, -2)?, c)
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
        crate::transforms::rules::sum_terms(
            "Matmul",
            argnums.iter().zip(tangents).map(|(&i, t)| {
                if i == 0 {
                    crate::ops::matmul(t, &primals[1])
                } else {
                    crate::ops::matmul(&primals[0], t)
                }
            }),
        )
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        use crate::transforms::rules::batch_to_front;
        // Batch axes in front; an unbatched operand broadcasts against the batch.
        let a = batch_to_front(&inputs[0], axes[0])?;
        let b = batch_to_front(&inputs[1], axes[1])?;
        let (a, b) = match (axes[0], axes[1]) {
            (Some(_), None) => (a, crate::ops::expand_dims(&b, 0)?),
            (None, Some(_)) => (crate::ops::expand_dims(&a, 0)?, b),
            _ => (a, b),
        };
        let out_axis = if axes.iter().any(Option::is_some) {
            Some(0)
        } else {
            None
        };
        Ok((vec![crate::ops::matmul(&a, &b)?], vec![out_axis]))
    }
}

/// `alpha * (a @ b) + beta * c` (inputs `[c, a, b]`, as MLX orders them); `c` is ignored when
/// `beta` is 0.
#[derive(Debug, PartialEq)]
pub(crate) struct AddMM {
    pub alpha: f32,
    pub beta: f32,
}

impl Primitive for AddMM {
    fn name(&self) -> &'static str {
        "AddMM"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let scale = Scale {
            alpha: self.alpha,
            beta: self.beta,
        };
        Ok(vec![gemm::gemm(
            &inputs[1],
            &inputs[2],
            Some(&inputs[0]),
            scale,
            &outputs[0],
        )?])
    }
    // inputs [c, a, b]: alpha * (a @ b) + beta * c, differentiated through plain ops.
    crate::transforms::rules::rules_via_fallback!(|p, xs| {
        let prod = crate::ops::multiply(&crate::ops::matmul(&xs[1], &xs[2])?, p.alpha as f64)?;
        crate::ops::add(&prod, &crate::ops::multiply(&xs[0], p.beta as f64)?)
    });
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `sum(conj(a) * b)` along the last axis of two same-shaped inputs; the output dtype is the
/// sum's (bool and small integers widen to int32 / uint32), half precision sums in f32.
#[derive(Debug, PartialEq)]
pub(crate) struct VecDot;

impl Primitive for VecDot {
    fn name(&self) -> &'static str {
        "VecDot"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (a, b, spec) = (&inputs[0], &inputs[1], &outputs[0]);
        let out = match a.dtype() {
            Dtype::Float16 => gemm::vecdot::<f16, f32, f16>(a, b, spec, Num::mul, add::<f32>),
            Dtype::Bfloat16 => gemm::vecdot::<bf16, f32, bf16>(a, b, spec, Num::mul, add::<f32>),
            Dtype::Complex64 => {
                gemm::vecdot::<C64, C64, C64>(a, b, spec, |x, y| x.conj() * y, add::<C64>)
            }
            Dtype::Int8 => gemm::vecdot::<i8, i32, i32>(a, b, spec, Num::mul, add::<i32>),
            Dtype::Int16 => gemm::vecdot::<i16, i32, i32>(a, b, spec, Num::mul, add::<i32>),
            Dtype::Uint8 => gemm::vecdot::<u8, u32, u32>(a, b, spec, Num::mul, add::<u32>),
            Dtype::Uint16 => gemm::vecdot::<u16, u32, u32>(a, b, spec, Num::mul, add::<u32>),
            d => {
                crate::dispatch_numeric!(d, T => gemm::vecdot::<T, T, T>(a, b, spec, Num::mul, add::<T>),
                bool => gemm::vecdot::<bool, i32, i32>(a, b, spec, |x, y| x & y, add::<i32>))
            }
        }?;
        Ok(vec![out])
    }
    // sum(a * b) over the last axis (the inputs share one shape), through plain ops.
    crate::transforms::rules::rules_via_fallback!(|_p, xs| {
        crate::ops::sum_axes(&crate::ops::multiply(&xs[0], &xs[1])?, [-1], false)
    });
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `x + y` with the element type's arithmetic (integers wrap).
fn add<T: Num>(x: T, y: T) -> T {
    x.add(y)
}

/// `gather_mm` (inputs `[a, b, lhs_indices, rhs_indices]`, indices uint32 of the output's batch
/// shape): product `i` multiplies `a`'s matrix `lhs_indices[i]` by `b`'s matrix `rhs_indices[i]`.
#[derive(Debug, PartialEq)]
pub(crate) struct GatherMM;

impl Primitive for GatherMM {
    fn name(&self) -> &'static str {
        "GatherMM"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![gemm::gather_mm(
            &inputs[0],
            &inputs[1],
            &inputs[2],
            &inputs[3],
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `segmented_mm` (inputs `[a, b, segments]`: 2-D `a`, `b`, uint32 `segments` of shape
/// `(..., 2)`): one product per segment of the inner dimension.
#[derive(Debug, PartialEq)]
pub(crate) struct SegmentedMM;

impl Primitive for SegmentedMM {
    fn name(&self) -> &'static str {
        "SegmentedMM"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![gemm::segmented_mm(
            &inputs[0],
            &inputs[1],
            &inputs[2],
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// The Walsh–Hadamard transform along the last axis, times `scale` (input already float32,
/// float16 or bfloat16, of a supported length).
#[derive(Debug, PartialEq)]
pub(crate) struct Hadamard {
    pub scale: f32,
}

impl Primitive for Hadamard {
    fn name(&self) -> &'static str {
        "Hadamard"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![crate::cpu::hadamard::hadamard(
            &inputs[0],
            self.scale,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
