//! Primitives the transforms build: `Copy` (a tracer's identity) and `Placeholder` (an input
//! without data, for tracing `vmap` and `compile`).

use crate::array::{Array, Data};
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive};

/// The identity, sharing the input's buffer: a transform wraps each input in one so that it
/// has an identity of its own (the same array passed twice is two inputs).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Copy;

impl Primitive for Copy {
    fn is_elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "Copy"
    }
    fn eval_cpu(&self, inputs: &[Array], _outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![inputs[0].ready_data()?])
    }
    fn vjp(
        &self,
        _primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![cotangents[0].clone()])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![tangents[0].clone()])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((vec![inputs[0].clone()], axes.to_vec()))
    }
    fn is_equivalent(&self, _other: &dyn Primitive) -> bool {
        false
    }
}

/// An input with a shape and dtype but no data.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Placeholder;

impl Primitive for Placeholder {
    fn name(&self) -> &'static str {
        "Placeholder"
    }
    fn eval_cpu(&self, _inputs: &[Array], _outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Err(Error::value(
            "[eval] Attempting to eval an array during function transformations like compile \
             or vmap is not allowed.",
        ))
    }
}
