//! Indexing primitives: gathers, scatters and slice updates, each handing its inputs to the
//! kernels in [`crate::cpu::indexing`].

use crate::array::{Array, Data};
use crate::cpu::indexing::{self as kernels, ScatterReduce};
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `gather`: inputs are the source and one index array per axis of `axes` (one shape, any
/// integer dtypes); the output is the index shape followed by `slice_sizes`.
#[derive(Debug, PartialEq)]
pub(crate) struct Gather {
    pub(crate) axes: Vec<usize>,
    pub(crate) slice_sizes: Vec<usize>,
}

impl Primitive for Gather {
    fn name(&self) -> &'static str {
        "Gather"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kernels::gather(
            inputs,
            &self.axes,
            &self.slice_sizes,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `scatter`: inputs are the destination, one index array per axis of `axes` (one shape) and
/// the updates (index shape followed by a block of the destination's rank, in its dtype).
#[derive(Debug, PartialEq)]
pub(crate) struct Scatter {
    pub(crate) reduce: ScatterReduce,
    pub(crate) axes: Vec<usize>,
}

impl Primitive for Scatter {
    fn name(&self) -> &'static str {
        "Scatter"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kernels::scatter(
            inputs,
            &self.axes,
            self.reduce,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `take_along_axis`: inputs are the source and the indices, broadcast against each other on
/// every axis but `axis`.
#[derive(Debug, PartialEq)]
pub(crate) struct GatherAxis {
    pub(crate) axis: usize,
}

impl Primitive for GatherAxis {
    fn name(&self) -> &'static str {
        "GatherAxis"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kernels::gather_axis(inputs, self.axis, &outputs[0])?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `put_along_axis` (and its reducing forms): inputs are the destination, the indices and the
/// values (indices and values of one shape, broadcast against the destination but on `axis`).
#[derive(Debug, PartialEq)]
pub(crate) struct ScatterAxis {
    pub(crate) reduce: ScatterReduce,
    pub(crate) axis: usize,
}

impl Primitive for ScatterAxis {
    fn name(&self) -> &'static str {
        "ScatterAxis"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kernels::scatter_axis(
            inputs,
            self.axis,
            self.reduce,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `slice_update`: inputs are the destination and the update (in the destination's dtype,
/// shaped as the slice); `start` and `strides` are normalised as `slice` normalises them.
#[derive(Debug, PartialEq)]
pub(crate) struct SliceUpdate {
    pub(crate) reduce: ScatterReduce,
    pub(crate) start: Vec<isize>,
    pub(crate) strides: Vec<isize>,
}

impl Primitive for SliceUpdate {
    fn name(&self) -> &'static str {
        "SliceUpdate"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kernels::slice_update(
            inputs,
            &self.start,
            &self.strides,
            self.reduce,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `slice` with start indices held in an array: inputs are the source and the starts (one per
/// axis of `axes`).
#[derive(Debug, PartialEq)]
pub(crate) struct DynamicSlice {
    pub(crate) axes: Vec<usize>,
    pub(crate) slice_size: Vec<usize>,
}

impl Primitive for DynamicSlice {
    fn name(&self) -> &'static str {
        "DynamicSlice"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kernels::dynamic_slice(
            inputs,
            &self.axes,
            &self.slice_size,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `slice_update` with start indices held in an array: inputs are the destination, the update
/// (of the destination's rank and dtype) and the starts (one per axis of `axes`).
#[derive(Debug, PartialEq)]
pub(crate) struct DynamicSliceUpdate {
    pub(crate) axes: Vec<usize>,
}

impl Primitive for DynamicSliceUpdate {
    fn name(&self) -> &'static str {
        "DynamicSliceUpdate"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kernels::dynamic_slice_update(
            inputs,
            &self.axes,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
