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
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        argnums
            .iter()
            .map(|&i| {
                if i != 0 {
                    return crate::ops::zeros_like(&primals[i]);
                }
                let c = crate::ops::astype(&cotangents[0], x.dtype())?;
                let mut ins = vec![crate::ops::zeros_like(x)?];
                ins.extend(primals[1..].iter().cloned());
                ins.push(c);
                let p = Scatter {
                    reduce: ScatterReduce::Sum,
                    axes: self.axes.clone(),
                };
                Ok(Array::from_op(x.shape().to_vec(), x.dtype(), p, ins))
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
        match argnums.iter().position(|&a| a == 0) {
            Some(k) => {
                let t = &tangents[k];
                let mut ins = vec![t.clone()];
                ins.extend(primals[1..].iter().cloned());
                let p = Gather {
                    axes: self.axes.clone(),
                    slice_sizes: self.slice_sizes.clone(),
                };
                Ok(vec![Array::from_op(
                    outputs[0].shape().to_vec(),
                    t.dtype(),
                    p,
                    ins,
                )])
            }
            None => Ok(vec![crate::ops::zeros_like(&outputs[0])?]),
        }
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        // The batch becomes one more gathered axis, indexed by arange(B).
        let size = inputs
            .iter()
            .zip(axes)
            .find_map(|(x, a)| a.map(|a| x.shape()[a]))
            .unwrap_or(1);
        let x = match axes[0] {
            Some(a) => crate::ops::moveaxis(&inputs[0], a as isize, 0)?,
            None => {
                let mut shape = vec![size];
                shape.extend_from_slice(inputs[0].shape());
                crate::ops::broadcast_to(&crate::ops::expand_dims(&inputs[0], 0)?, shape)?
            }
        };
        let idx_ndim = outputs[0].shape.len() - self.slice_sizes.len();
        let mut idx_shape = vec![size];
        idx_shape.extend_from_slice(&outputs[0].shape[..idx_ndim]);
        let mut indices = Vec::with_capacity(inputs.len());
        let mut batch_shape = vec![1usize; idx_ndim + 1];
        batch_shape[0] = size;
        let batch_index = crate::ops::arange(0.0, size as f64, 1.0)?.astype(crate::Dtype::Int32)?;
        let batch_index = crate::ops::broadcast_to(
            &crate::ops::reshape(&batch_index, batch_shape)?,
            idx_shape.clone(),
        )?;
        indices.push(batch_index);
        for (i, a) in inputs[1..].iter().zip(&axes[1..]) {
            let i = match a {
                Some(a) => crate::ops::moveaxis(i, *a as isize, 0)?,
                None => crate::ops::expand_dims(i, 0)?,
            };
            indices.push(crate::ops::broadcast_to(&i, idx_shape.clone())?);
        }
        let mut gather_axes = vec![0usize];
        gather_axes.extend(self.axes.iter().map(|a| a + 1));
        let mut slice_sizes = vec![1usize];
        slice_sizes.extend_from_slice(&self.slice_sizes);
        let mut out_shape = idx_shape.clone();
        out_shape.extend_from_slice(&slice_sizes);
        let mut ins = vec![x];
        ins.extend(indices);
        let dtype = outputs[0].dtype;
        let p = Gather {
            axes: gather_axes,
            slice_sizes,
        };
        let g = Array::from_op(out_shape, dtype, p, ins);
        let mut final_shape = idx_shape;
        final_shape.extend_from_slice(&self.slice_sizes);
        Ok((vec![crate::ops::reshape(&g, final_shape)?], vec![Some(0)]))
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
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, idx) = (&primals[0], &primals[1]);
        argnums
            .iter()
            .map(|&i| {
                if i != 0 {
                    return crate::ops::zeros_like(idx);
                }
                // Cotangents added back where they were taken from (duplicates accumulate).
                let c = crate::ops::astype(&cotangents[0], x.dtype())?;
                let p = ScatterAxis {
                    reduce: ScatterReduce::Sum,
                    axis: self.axis,
                };
                let zeros = crate::ops::zeros_like(x)?;
                Ok(Array::from_op(
                    x.shape().to_vec(),
                    x.dtype(),
                    p,
                    vec![zeros, idx.clone(), c],
                ))
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
        match argnums.iter().position(|&a| a == 0) {
            Some(k) => {
                let t = &tangents[k];
                let p = GatherAxis { axis: self.axis };
                let ins = vec![t.clone(), primals[1].clone()];
                Ok(vec![Array::from_op(
                    outputs[0].shape().to_vec(),
                    t.dtype(),
                    p,
                    ins,
                )])
            }
            None => Ok(vec![crate::ops::zeros_like(&outputs[0])?]),
        }
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let lead = |x: &Array, a: Option<usize>| match a {
            Some(a) => crate::ops::moveaxis(x, a as isize, 0),
            None => crate::ops::expand_dims(x, 0),
        };
        let x = lead(&inputs[0], axes[0])?;
        let idx = lead(&inputs[1], axes[1])?;
        let out = crate::ops::take_along_axis(&x, &idx, Some(self.axis as isize + 1))?;
        Ok((vec![out], vec![Some(0)]))
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
