//! Unary elementwise primitives. Each op is one type; its kernel is a closure handed to the
//! elementwise drivers. Float math on float16/bfloat16 computes in f32 and rounds once.

use crate::array::{Array, Data};
use crate::cpu::elementwise;
use crate::cpu::num::Num;
use crate::element::{C64, Element};
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive, same_params};
use half::{bf16, f16};

/// Applies float math to a float or complex input: `f32`/`f64` functions for real dtypes
/// (half precision through f32), `c` for complex64 when the op has a complex form.
pub(crate) fn float_unary(
    name: &str,
    x: &Array,
    spec: &OutputSpec,
    f32f: impl Fn(f32) -> f32 + Sync + Send,
    f64f: impl Fn(f64) -> f64 + Sync + Send,
    c: Option<fn(C64) -> C64>,
) -> Result<Vec<Data>> {
    use crate::dtype::Dtype::*;
    let d = match x.dtype() {
        Float32 => elementwise::unary::<f32, f32>(x, spec, f32f),
        Float64 => elementwise::unary::<f64, f64>(x, spec, f64f),
        Float16 => elementwise::unary::<f16, f16>(x, spec, |v| f16::from_f32(f32f(v.to_f32()))),
        Bfloat16 => elementwise::unary::<bf16, bf16>(x, spec, |v| bf16::from_f32(f32f(v.to_f32()))),
        Complex64 => match c {
            Some(c) => elementwise::unary::<C64, C64>(x, spec, c),
            None => Err(Error::value(format!(
                "[{name}] Not supported for complex64."
            ))),
        },
        other => Err(Error::value(format!("[{name}] Not supported for {other}."))),
    }?;
    Ok(vec![d])
}

/// `abs`: identity on unsigned and bool, magnitude on complex (as a complex64 with zero
/// imaginary part, as MLX returns it).
#[derive(Debug, PartialEq)]
pub(crate) struct Abs;

impl Primitive for Abs {
    fn name(&self) -> &'static str {
        "Abs"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, spec) = (&inputs[0], &outputs[0]);
        let d = crate::dispatch_numeric!(x.dtype(), T => {
            match T::DTYPE {
                crate::Dtype::Complex64 => elementwise::unary::<C64, f32>(x, spec, |c| c.norm()),
                _ if T::DTYPE.is_unsigned_integer() => elementwise::copy::<T>(x, spec),
                _ => elementwise::unary::<T, T>(x, spec, |v| {
                    if v.to_f64() < 0.0 { v.neg() } else { v }
                }),
            }
        }, bool => elementwise::copy::<bool>(x, spec))?;
        Ok(vec![d])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `negative`: wraps for integers; not defined for bool.
#[derive(Debug, PartialEq)]
pub(crate) struct Negative;

impl Primitive for Negative {
    fn name(&self) -> &'static str {
        "Negative"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, spec) = (&inputs[0], &outputs[0]);
        let d = crate::dispatch_numeric!(x.dtype(), T => elementwise::unary::<T, T>(x, spec, |v| v.neg()),
            bool => Err(Error::value("[negative] Not supported for bool, use logical_not instead.")))?;
        Ok(vec![d])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `exp`.
#[derive(Debug, PartialEq)]
pub(crate) struct Exp;

impl Primitive for Exp {
    fn name(&self) -> &'static str {
        "Exp"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        float_unary(
            "exp",
            &inputs[0],
            &outputs[0],
            f32::exp,
            f64::exp,
            Some(|c: C64| c.exp()),
        )
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `sqrt`.
#[derive(Debug, PartialEq)]
pub(crate) struct Sqrt;

impl Primitive for Sqrt {
    fn name(&self) -> &'static str {
        "Sqrt"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        float_unary(
            "sqrt",
            &inputs[0],
            &outputs[0],
            f32::sqrt,
            f64::sqrt,
            Some(|c: C64| c.sqrt()),
        )
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `tanh`.
#[derive(Debug, PartialEq)]
pub(crate) struct Tanh;

impl Primitive for Tanh {
    fn name(&self) -> &'static str {
        "Tanh"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        float_unary(
            "tanh",
            &inputs[0],
            &outputs[0],
            f32::tanh,
            f64::tanh,
            Some(|c: C64| c.tanh()),
        )
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
