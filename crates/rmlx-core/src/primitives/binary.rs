//! Binary elementwise primitives. Inputs arrive promoted to one dtype and broadcast to the
//! output shape; each op is one type whose kernel is a closure handed to the drivers.

use crate::array::{Array, Data};
use crate::cpu::elementwise;
use crate::cpu::num::Num;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// Runs a numeric closure on every dtype but bool, and `bool_f` on bool.
macro_rules! numeric_binary {
    ($inputs:expr, $spec:expr, |$x:ident, $y:ident| $e:expr, bool: |$bx:ident, $by:ident| $be:expr) => {{
        let (a, b, spec) = (&$inputs[0], &$inputs[1], $spec);
        crate::dispatch_numeric!(a.dtype(), T => elementwise::binary::<T, T>(a, b, spec, |$x: T, $y: T| $e),
            bool => elementwise::binary::<bool, bool>(a, b, spec, |$bx: bool, $by: bool| $be))
    }};
}

/// `add` (bool: logical or, as MLX).
#[derive(Debug, PartialEq)]
pub(crate) struct Add;

impl Primitive for Add {
    fn name(&self) -> &'static str {
        "Add"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![
            numeric_binary!(inputs, &outputs[0], |x, y| x.add(y), bool: |x, y| x | y)?,
        ])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `subtract` (bool: exclusive or).
#[derive(Debug, PartialEq)]
pub(crate) struct Subtract;

impl Primitive for Subtract {
    fn name(&self) -> &'static str {
        "Subtract"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![
            numeric_binary!(inputs, &outputs[0], |x, y| x.sub(y), bool: |x, y| x ^ y)?,
        ])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `multiply` (bool: logical and).
#[derive(Debug, PartialEq)]
pub(crate) struct Multiply;

impl Primitive for Multiply {
    fn name(&self) -> &'static str {
        "Multiply"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![
            numeric_binary!(inputs, &outputs[0], |x, y| x.mul(y), bool: |x, y| x & y)?,
        ])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `divide`: inputs are inexact (the op promotes integers to float).
#[derive(Debug, PartialEq)]
pub(crate) struct Divide;

impl Primitive for Divide {
    fn name(&self) -> &'static str {
        "Divide"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![
            numeric_binary!(inputs, &outputs[0], |x, y| x.div(y), bool: |x, _y| x)?,
        ])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
