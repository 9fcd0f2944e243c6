//! Indexing primitives: gathers, scatters and slice updates, each handing its inputs to the
//! kernels in [`crate::cpu::indexing`].

use crate::array::{Array, Data};
use crate::cpu::indexing::{self as kernels, ScatterReduce};
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::{OutputSpec, Primitive, same_params};
use crate::transforms::rules::batch_to_front;

/// MLX's error for a gradient asked of index arrays.
fn no_index_grad(op: &str, transform: &str) -> Error {
    Error::value(format!(
        "[{op}] Cannot calculate {transform} with respect to indices. Use stop_gradient on \
         indices to stop gradients from being computed."
    ))
}

/// The `stop` of each axis that makes `slice(a, start, stop, strides)` select `len[i]`
/// elements from the normalised `start[i]` with step `strides[i]` (what `slice` stored).
fn slice_stops(shape: &[usize], start: &[isize], strides: &[isize], len: &[usize]) -> Vec<isize> {
    (0..shape.len())
        .map(|i| {
            let (st, k, n) = (start[i], strides[i], len[i] as isize);
            if n == 0 {
                st
            } else if k > 0 {
                st + (n - 1) * k + 1
            } else {
                let stop = st + (n - 1) * k - 1;
                // Below 0 a stop counts from the end: go past the front instead.
                if stop < 0 {
                    -(shape[i] as isize) - 1
                } else {
                    stop
                }
            }
        })
        .collect()
}

/// `a[start : stop : strides]` for the normalised parameters a `SliceUpdate` holds, shaped
/// `len`.
fn slice_normalised(a: &Array, start: &[isize], strides: &[isize], len: &[usize]) -> Result<Array> {
    let stops = slice_stops(a.shape(), start, strides, len);
    let starts: Vec<isize> = start
        .iter()
        .zip(len)
        .map(|(&s, &n)| if n == 0 { 0 } else { s })
        .collect();
    let steps: Vec<isize> = strides
        .iter()
        .zip(len)
        .map(|(&k, &n)| if n == 0 { 1 } else { k })
        .collect();
    let stops: Vec<isize> = stops
        .iter()
        .zip(len)
        .map(|(&e, &n)| if n == 0 { 0 } else { e })
        .collect();
    ops::slice(a, starts, stops, steps)
}

/// `gather`: inputs are the source and one index array per axis of `axes` (one shape, any
/// integer dtypes); the output is the index shape followed by `slice_sizes`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Gather {
    pub(crate) axes: Vec<usize>,
    pub(crate) slice_sizes: Vec<usize>,
}

impl Primitive for Gather {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        // The slice sizes are fixed: they must still fit the new source.
        kernels::check_gather(inputs[0].shape(), &inputs[1..], &self.slice_sizes)?;
        // The indices' shape, then the slice sizes.
        let mut out = inputs.get(1).map_or_else(Vec::new, |i| i.shape().to_vec());
        out.extend_from_slice(&self.slice_sizes);
        Ok(vec![out])
    }
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
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&a| {
                if a > 0 {
                    return Err(no_index_grad("gather", "VJP"));
                }
                // Duplicate indices accumulate: a scatter-add of the cotangent.
                let src = ops::zeros_like(&primals[0])?;
                ops::scatter(
                    &src,
                    &primals[1..],
                    &cotangents[0],
                    self.axes.clone(),
                    ScatterReduce::Sum,
                )
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
        if argnums != [0] {
            return Err(no_index_grad("gather", "JVP"));
        }
        Ok(vec![ops::gather(
            &tangents[0],
            &primals[1..],
            self.axes.clone(),
            self.slice_sizes.clone(),
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let src = &inputs[0];
        let mut indices: Vec<Array> = inputs[1..].to_vec();
        let mut gather_axes = self.axes.clone();
        let mut slice_sizes = self.slice_sizes.clone();
        let src_ax = axes[0];
        let ind_ax = axes[1..].iter().find_map(|a| *a);
        // The index arrays all get their batch axis where the first batched one has it.
        if let Some(oa) = ind_ax {
            for (x, ax) in indices.iter_mut().zip(&axes[1..]) {
                match ax {
                    Some(a) if *a != oa => *x = ops::moveaxis(x, *a as isize, oa as isize)?,
                    None => *x = ops::expand_dims(x, oa as isize)?,
                    _ => {}
                }
            }
        }
        let idx_dims = indices.first().map_or(0, Array::ndim);
        let mut out_ax = ind_ax.or(src_ax);
        if let Some(sa) = src_ax {
            for ax in gather_axes.iter_mut() {
                if *ax >= sa {
                    *ax += 1;
                }
            }
            match ind_ax {
                Some(oa) => {
                    // Slice `b` of the source goes with slice `b` of the indices: one more
                    // index array, the batch position itself.
                    let n = src.shape()[sa];
                    let mut shape = vec![1usize; idx_dims];
                    shape[oa] = n;
                    let iota = ops::arange_dtype(0.0, n as f64, 1.0, crate::Dtype::Int32)?;
                    indices.push(ops::reshape(&iota, shape)?);
                    slice_sizes.insert(sa, 1);
                    gather_axes.push(sa);
                }
                None => {
                    slice_sizes.insert(sa, src.shape()[sa]);
                    out_ax = Some(sa + idx_dims);
                }
            }
        }
        let mut out = ops::gather(src, &indices, gather_axes, slice_sizes)?;
        if let (Some(sa), Some(_)) = (src_ax, ind_ax) {
            out = ops::squeeze(&out, Some((idx_dims + sa) as isize))?;
        }
        Ok((vec![out], vec![out_ax]))
    }
}

/// `scatter`: inputs are the destination, one index array per axis of `axes` (one shape) and
/// the updates (index shape followed by a block of the destination's rank, in its dtype).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    fn jvp(
        &self,
        _primals: &[Array],
        _tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        // As MLX.
        Err(Error::runtime("[scatter] JVP not yet implemented"))
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        if self.reduce == ScatterReduce::Prod {
            return Err(Error::runtime(
                "[scatter] VJP not implemented for scatter_prod",
            ));
        }
        let (result, values, cot) = (&outputs[0], &primals[0], &cotangents[0]);
        let n = primals.len();
        let updates = &primals[n - 1];
        let indices = &primals[1..n - 1];
        let idx_dims = indices.first().map_or(0, Array::ndim);
        // The block each index addresses, as the updates hold it.
        let block = updates.shape()[idx_dims..].to_vec();
        let zero = || ops::zeros(&[] as &[usize], cot.dtype());
        argnums
            .iter()
            .map(|&a| {
                if a == 0 {
                    match self.reduce {
                        // Overwritten places get no gradient.
                        ScatterReduce::None => ops::scatter(
                            cot,
                            indices,
                            &ops::zeros_like(updates)?,
                            self.axes.clone(),
                            ScatterReduce::None,
                        ),
                        ScatterReduce::Sum => Ok(cot.clone()),
                        _ => ops::where_(ops::equal(result, values)?, cot, zero()?),
                    }
                } else if a == n - 1 {
                    let g = ops::gather(cot, indices, self.axes.clone(), block.clone())?;
                    match self.reduce {
                        ScatterReduce::None | ScatterReduce::Sum => Ok(g),
                        _ => {
                            let r = ops::gather(result, indices, self.axes.clone(), block.clone())?;
                            ops::multiply(&g, ops::equal(&r, updates)?)
                        }
                    }
                } else {
                    Err(no_index_grad("scatter", "VJP"))
                }
            })
            .collect()
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let n = inputs.len();
        let Some(size) = inputs
            .iter()
            .zip(axes)
            .find_map(|(x, a)| a.map(|a| x.shape()[a]))
        else {
            return Ok((
                vec![ops::scatter(
                    &inputs[0],
                    &inputs[1..n - 1],
                    &inputs[n - 1],
                    self.axes.clone(),
                    self.reduce,
                )?],
                vec![None],
            ));
        };
        // Everything batched on axis 0; the batch position becomes one more index array.
        let src = match axes[0] {
            Some(a) => batch_to_front(&inputs[0], Some(a))?,
            None => {
                let mut shape = inputs[0].shape().to_vec();
                shape.insert(0, size);
                ops::broadcast_to(ops::expand_dims(&inputs[0], 0)?, shape)?
            }
        };
        let mut indices = Vec::with_capacity(n - 1);
        for (x, ax) in inputs[1..n - 1].iter().zip(&axes[1..n - 1]) {
            indices.push(match ax {
                Some(a) => batch_to_front(x, Some(*a))?,
                None => ops::expand_dims(x, 0)?,
            });
        }
        // The index arrays' rank in one slice.
        let idx_dims = if n > 2 {
            inputs[1].ndim() - usize::from(axes[1].is_some())
        } else {
            0
        };
        let mut shape = vec![1usize; idx_dims + 1];
        shape[0] = size;
        let iota = ops::arange_dtype(0.0, size as f64, 1.0, crate::Dtype::Int32)?;
        indices.push(ops::reshape(&iota, shape)?);
        let mut scatter_axes: Vec<usize> = self.axes.iter().map(|a| a + 1).collect();
        scatter_axes.push(0);
        // Updates: (batch, index dims, 1, block).
        let upd = match axes[n - 1] {
            Some(a) => ops::expand_dims(
                &batch_to_front(&inputs[n - 1], Some(a))?,
                (idx_dims + 1) as isize,
            )?,
            None => {
                let u = ops::expand_dims(&inputs[n - 1], [0, (idx_dims + 1) as isize])?;
                let mut shape = u.shape().to_vec();
                shape[0] = size;
                ops::broadcast_to(&u, shape)?
            }
        };
        // The index shape the updates lead with, every index array broadcast to it.
        let idx_shape: Vec<usize> = upd.shape()[..idx_dims + 1].to_vec();
        let indices = indices
            .iter()
            .map(|x| ops::broadcast_to(x, &idx_shape))
            .collect::<Result<Vec<_>>>()?;
        let out = ops::scatter(&src, &indices, &upd, scatter_axes, self.reduce)?;
        Ok((vec![out], vec![Some(0)]))
    }
}

/// `take_along_axis`: inputs are the source and the indices, broadcast against each other on
/// every axis but `axis`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct GatherAxis {
    pub(crate) axis: usize,
}

impl Primitive for GatherAxis {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let (a, idx) = (inputs[0].shape(), inputs[1].shape());
        kernels::check_along_axis("take_along_axis", a, idx, None, self.axis)?;
        Ok(vec![idx.to_vec()])
    }
    fn name(&self) -> &'static str {
        "GatherAxis"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kernels::gather_axis(inputs, self.axis, &outputs[0])?])
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
        argnums
            .iter()
            .map(|&a| {
                if a > 0 {
                    return Err(no_index_grad("gather_axis", "VJP"));
                }
                let src = ops::zeros_like(&primals[0])?;
                Ok(Array::from_op(
                    src.shape().to_vec(),
                    src.dtype(),
                    ScatterAxis {
                        reduce: ScatterReduce::Sum,
                        axis: self.axis,
                    },
                    vec![src, primals[1].clone(), cotangents[0].clone()],
                ))
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
        if argnums != [0] {
            return Err(no_index_grad("gather_axis", "JVP"));
        }
        Ok(vec![ops::take_along_axis(
            &tangents[0],
            &primals[1],
            Some(self.axis as isize),
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (mut x, mut idx) = (inputs[0].clone(), inputs[1].clone());
        let out_ax = match (axes[0], axes[1]) {
            (Some(a), Some(b)) => {
                idx = ops::moveaxis(&idx, b as isize, a as isize)?;
                Some(a)
            }
            (Some(a), None) => {
                idx = ops::expand_dims(&idx, a as isize)?;
                Some(a)
            }
            (None, Some(b)) => {
                x = ops::expand_dims(&x, b as isize)?;
                Some(b)
            }
            (None, None) => None,
        };
        let axis = match out_ax {
            Some(o) if self.axis >= o => self.axis + 1,
            _ => self.axis,
        };
        Ok((
            vec![ops::take_along_axis(&x, &idx, Some(axis as isize))?],
            vec![out_ax],
        ))
    }
}

/// `put_along_axis` (and its reducing forms): inputs are the destination, the indices and the
/// values (indices and values of one shape, broadcast against the destination but on `axis`).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ScatterAxis {
    pub(crate) reduce: ScatterReduce,
    pub(crate) axis: usize,
}

impl Primitive for ScatterAxis {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let (a, idx, vals) = (inputs[0].shape(), inputs[1].shape(), inputs[2].shape());
        if !idx.contains(&0) {
            kernels::check_along_axis("put_along_axis", a, idx, Some(vals), self.axis)?;
        }
        Ok(vec![a.to_vec()])
    }
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
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (indices, updates, cot) = (&primals[1], &primals[2], &cotangents[0]);
        let axis = Some(self.axis as isize);
        argnums
            .iter()
            .map(|&a| match a {
                0 => match self.reduce {
                    ScatterReduce::None => {
                        ops::put_along_axis(cot, indices, ops::zeros_like(updates)?, axis)
                    }
                    ScatterReduce::Sum => Ok(cot.clone()),
                    _ => Err(Error::transform_unsupported(self.name(), "vjp")),
                },
                2 => match self.reduce {
                    ScatterReduce::None | ScatterReduce::Sum => {
                        ops::take_along_axis(cot, indices, axis)
                    }
                    _ => Err(Error::transform_unsupported(self.name(), "vjp")),
                },
                _ => Err(no_index_grad("scatter_axis", "VJP")),
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
        if !matches!(self.reduce, ScatterReduce::None | ScatterReduce::Sum) {
            return Err(Error::transform_unsupported(self.name(), "jvp"));
        }
        let mut tan_a = None;
        let mut tan_b = None;
        for (&a, t) in argnums.iter().zip(tangents) {
            match a {
                0 => tan_a = Some(t.clone()),
                2 => tan_b = Some(t.clone()),
                _ => return Err(no_index_grad("scatter_axis", "JVP")),
            }
        }
        let tan_a = tan_a.map_or_else(|| ops::zeros_like(&primals[0]), Ok)?;
        let tan_b = tan_b.map_or_else(|| ops::zeros_like(&primals[2]), Ok)?;
        Ok(vec![Array::from_op(
            primals[0].shape().to_vec(),
            primals[0].dtype(),
            ScatterAxis {
                reduce: self.reduce,
                axis: self.axis,
            },
            vec![tan_a, primals[1].clone(), tan_b],
        )])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let prim = || ScatterAxis {
            reduce: self.reduce,
            axis: self.axis,
        };
        let Some(out_ax) = axes.iter().find_map(|a| *a) else {
            let x = &inputs[0];
            return Ok((
                vec![Array::from_op(
                    x.shape().to_vec(),
                    x.dtype(),
                    prim(),
                    inputs.to_vec(),
                )],
                vec![None],
            ));
        };
        let v = inputs
            .iter()
            .zip(axes)
            .map(|(x, ax)| match ax {
                Some(a) if *a != out_ax => ops::moveaxis(x, *a as isize, out_ax as isize),
                Some(_) => Ok(x.clone()),
                None => ops::expand_dims(x, out_ax as isize),
            })
            .collect::<Result<Vec<_>>>()?;
        let axis = Some(if self.axis >= out_ax {
            self.axis + 1
        } else {
            self.axis
        } as isize);
        let out = match self.reduce {
            ScatterReduce::None => ops::put_along_axis(&v[0], &v[1], &v[2], axis)?,
            ScatterReduce::Sum => ops::scatter_add_axis(&v[0], &v[1], &v[2], axis)?,
            _ => return Err(Error::transform_unsupported(self.name(), "vmap")),
        };
        Ok((vec![out], vec![Some(out_ax)]))
    }
}

/// `slice_update`: inputs are the destination and the update (in the destination's dtype,
/// shaped as the slice); `start` and `strides` are normalised as `slice` normalises them.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SliceUpdate {
    pub(crate) reduce: ScatterReduce,
    pub(crate) start: Vec<isize>,
    pub(crate) strides: Vec<isize>,
}

impl Primitive for SliceUpdate {
    // The destination's shape (as MLX); the start and strides are fixed, so the update must
    // still fit the new destination (MLX writes out of bounds instead).
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let (a, upd) = (inputs[0].shape(), inputs[1].shape());
        kernels::check_slice_fits(a, upd, &self.start, &self.strides)?;
        Ok(vec![a.to_vec()])
    }
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
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (result, values, updates, cot) =
            (&outputs[0], &primals[0], &primals[1], &cotangents[0]);
        let same = |inputs: Vec<Array>| {
            Array::from_op(
                cot.shape().to_vec(),
                cot.dtype(),
                SliceUpdate {
                    reduce: self.reduce,
                    start: self.start.clone(),
                    strides: self.strides.clone(),
                },
                inputs,
            )
        };
        let sliced = |a: &Array| slice_normalised(a, &self.start, &self.strides, updates.shape());
        let zero = || ops::zeros(&[] as &[usize], cot.dtype());
        argnums
            .iter()
            .map(|&a| {
                if a == 0 {
                    match self.reduce {
                        ScatterReduce::None => {
                            Ok(same(vec![cot.clone(), ops::zeros_like(updates)?]))
                        }
                        ScatterReduce::Sum => Ok(cot.clone()),
                        ScatterReduce::Max | ScatterReduce::Min => {
                            ops::where_(ops::equal(result, values)?, cot, zero()?)
                        }
                        ScatterReduce::Prod => Ok(same(vec![cot.clone(), updates.clone()])),
                    }
                } else {
                    let c = sliced(cot)?;
                    match self.reduce {
                        ScatterReduce::None | ScatterReduce::Sum => Ok(c),
                        ScatterReduce::Max | ScatterReduce::Min => {
                            ops::where_(ops::equal(sliced(result)?, updates)?, &c, zero()?)
                        }
                        ScatterReduce::Prod => ops::multiply(&c, sliced(values)?),
                    }
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
        if !matches!(self.reduce, ScatterReduce::None | ScatterReduce::Sum) {
            return Err(Error::runtime(
                "[SliceUpdate] JVP for product, minimum and maximum not implemented.",
            ));
        }
        let mut tan_src = None;
        let mut tan_upd = None;
        for (&a, t) in argnums.iter().zip(tangents) {
            if a == 0 {
                tan_src = Some(t.clone());
            } else {
                tan_upd = Some(t.clone());
            }
        }
        let tan_src = tan_src.map_or_else(|| ops::zeros_like(&primals[0]), Ok)?;
        let tan_upd = tan_upd.map_or_else(|| ops::zeros_like(&primals[1]), Ok)?;
        Ok(vec![Array::from_op(
            tan_src.shape().to_vec(),
            tan_src.dtype(),
            SliceUpdate {
                reduce: self.reduce,
                start: self.start.clone(),
                strides: self.strides.clone(),
            },
            vec![tan_src, tan_upd],
        )])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (mut src, mut upd) = (inputs[0].clone(), inputs[1].clone());
        let (mut start, mut strides) = (self.start.clone(), self.strides.clone());
        let out_ax = match (axes[0], axes[1]) {
            (None, None) => None,
            (Some(s), u) => {
                upd = match u {
                    Some(u) => ops::moveaxis(&upd, u as isize, s as isize)?,
                    None => {
                        let e = ops::expand_dims(&upd, s as isize)?;
                        let mut shape = e.shape().to_vec();
                        shape[s] = src.shape()[s];
                        ops::broadcast_to(&e, shape)?
                    }
                };
                Some(s)
            }
            (None, Some(u)) => {
                let e = ops::expand_dims(&src, u as isize)?;
                let mut shape = e.shape().to_vec();
                shape[u] = upd.shape()[u];
                src = ops::broadcast_to(&e, shape)?;
                Some(u)
            }
        };
        if let Some(ax) = out_ax {
            start.insert(ax, 0);
            strides.insert(ax, 1);
        }
        let out = Array::from_op(
            src.shape().to_vec(),
            src.dtype(),
            SliceUpdate {
                reduce: self.reduce,
                start,
                strides,
            },
            vec![src, upd],
        );
        Ok((vec![out], vec![out_ax]))
    }
}

/// `slice` with start indices held in an array: inputs are the source and the starts (one per
/// axis of `axes`).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DynamicSlice {
    pub(crate) axes: Vec<usize>,
    pub(crate) slice_size: Vec<usize>,
}

impl Primitive for DynamicSlice {
    fn output_shapes(&self, _inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![self.slice_size.clone()])
    }
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
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        if argnums != [0] {
            return Err(Error::value(
                "[DynamicSlice::vjp] Not supported for start indices.",
            ));
        }
        let out = ops::zeros_like(&primals[0])?;
        Ok(vec![ops::slice_update_dynamic(
            &out,
            &cotangents[0],
            &primals[1],
            self.axes.clone(),
        )?])
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        if argnums != [0] {
            return Err(Error::value(
                "[DynamicSlice::jvp] Not supported for start indices.",
            ));
        }
        Ok(vec![ops::slice_dynamic(
            &tangents[0],
            &primals[1],
            self.axes.clone(),
            self.slice_size.clone(),
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if axes[1].is_some() {
            return Err(Error::value(
                "[DynamicSlice::vmap] vmap over start indices not yet supported.",
            ));
        }
        let mut slice_size = self.slice_size.clone();
        let mut slice_axes = self.axes.clone();
        if let Some(v) = axes[0] {
            for ax in slice_axes.iter_mut() {
                if *ax >= v {
                    *ax += 1;
                }
            }
            slice_size.insert(v, inputs[0].shape()[v]);
        }
        Ok((
            vec![ops::slice_dynamic(
                &inputs[0], &inputs[1], slice_axes, slice_size,
            )?],
            vec![axes[0]],
        ))
    }
}

/// `slice_update` with start indices held in an array: inputs are the destination, the update
/// (of the destination's rank and dtype) and the starts (one per axis of `axes`).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (cot, upd, start) = (&cotangents[0], &primals[1], &primals[2]);
        argnums
            .iter()
            .map(|&a| match a {
                0 => {
                    ops::slice_update_dynamic(cot, ops::zeros_like(upd)?, start, self.axes.clone())
                }
                1 => ops::slice_dynamic(cot, start, self.axes.clone(), upd.shape().to_vec()),
                _ => Err(Error::value(
                    "[DynamicSliceUpdate::vjp] Not supported for start indices",
                )),
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
        let mut tan_src = None;
        let mut tan_upd = None;
        for (&a, t) in argnums.iter().zip(tangents) {
            match a {
                0 => tan_src = Some(t.clone()),
                1 => tan_upd = Some(t.clone()),
                _ => {
                    return Err(Error::value(
                        "[DynamicSliceUpdate::jvp] Not supported for start indices",
                    ));
                }
            }
        }
        let tan_src = tan_src.map_or_else(|| ops::zeros_like(&primals[0]), Ok)?;
        let tan_upd = tan_upd.map_or_else(|| ops::zeros_like(&primals[1]), Ok)?;
        Ok(vec![ops::slice_update_dynamic(
            &tan_src,
            &tan_upd,
            &primals[2],
            self.axes.clone(),
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if axes[2].is_some() {
            return Err(Error::runtime(
                "[DynamicSliceUpdate::vmap] vmap over start indices not yet supported.",
            ));
        }
        let (mut src, mut upd, start) = (inputs[0].clone(), inputs[1].clone(), &inputs[2]);
        let out_ax = match (axes[0], axes[1]) {
            (None, None) => None,
            (Some(s), u) => {
                upd = match u {
                    Some(u) => ops::moveaxis(&upd, u as isize, s as isize)?,
                    None => {
                        // Every slice of the batch gets the update.
                        let e = ops::expand_dims(&upd, s as isize)?;
                        let mut shape = e.shape().to_vec();
                        shape[s] = src.shape()[s];
                        ops::broadcast_to(&e, shape)?
                    }
                };
                Some(s)
            }
            (None, Some(u)) => {
                let e = ops::expand_dims(&src, u as isize)?;
                let mut shape = e.shape().to_vec();
                shape[u] = upd.shape()[u];
                src = ops::broadcast_to(&e, shape)?;
                Some(u)
            }
        };
        let slice_axes: Vec<usize> = self
            .axes
            .iter()
            .map(|&ax| match out_ax {
                Some(o) if ax >= o => ax + 1,
                _ => ax,
            })
            .collect();
        Ok((
            vec![ops::slice_update_dynamic(&src, &upd, start, slice_axes)?],
            vec![out_ax],
        ))
    }
}

/// `masked_scatter`: inputs are the destination `[B, ...]`, a bool mask of the same shape and
/// the source `[B, ...]`; in every batch row the masked elements of the destination (in
/// row-major order) take that row's source elements in order. The op adds the batch axis (of
/// one); `vmap` folds its batch into it.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct MaskedScatter;

impl Primitive for MaskedScatter {
    fn name(&self) -> &'static str {
        "MaskedScatter"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![kernels::masked_scatter(inputs, &outputs[0])?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    // MLX's rules: the destination's cotangent is zero where the mask writes; the source's
    // gathers the masked cotangents in order (each batch row from its own source row).
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (dst, mask, src, cot) = (&primals[0], &primals[1], &primals[2], &cotangents[0]);
        let mask = ops::broadcast_to(mask, dst.shape())?;
        argnums
            .iter()
            .map(|&arg| match arg {
                0 => ops::where_(&mask, ops::zeros_like(cot)?, cot),
                2 => {
                    let batch = dst.shape().first().copied().unwrap_or(1).max(1);
                    let per_src = src.size() / batch;
                    if per_src == 0 {
                        return ops::zeros(src.shape(), cot.dtype());
                    }
                    let rows = ops::reshape(&mask, &[batch, dst.size() / batch])?;
                    // Which source element each masked position took: the number of masked
                    // positions before it in its row, offset by the row's start.
                    let before = ops::cumsum_with(
                        ops::astype(&rows, crate::Dtype::Int32)?,
                        Some(1),
                        ops::ScanOptions {
                            reverse: false,
                            inclusive: false,
                        },
                    )?;
                    // Unmasked positions add zero; keep their index inside the row.
                    let before = ops::minimum(&before, (per_src - 1) as i32)?;
                    let starts = ops::reshape(
                        &ops::multiply(ops::arange(0, batch as i32, 1)?, per_src as i32)?,
                        &[batch, 1],
                    )?;
                    let idx = ops::flatten(&ops::add(&before, &starts)?, 0, -1)?;
                    let taken = ops::flatten(&ops::where_(&mask, cot, 0)?, 0, -1)?;
                    let g = ops::scatter_add_axis(
                        &ops::zeros(&[src.size()], cot.dtype())?,
                        &idx,
                        &taken,
                        Some(0),
                    )?;
                    ops::reshape(&g, src.shape())
                }
                _ => Err(Error::value(
                    "[masked_scatter] Cannot calculate VJP with respect to mask. Use \
                     stop_gradient on mask to stop gradients from being computed.",
                )),
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
        let (dst, mask) = (&primals[0], &primals[1]);
        let mut out = ops::zeros_like(dst)?;
        for (&arg, t) in argnums.iter().zip(tangents) {
            match arg {
                0 => out = ops::where_(mask, &out, t)?,
                2 => {
                    out = Array::from_op(
                        out.shape().to_vec(),
                        out.dtype(),
                        MaskedScatter,
                        vec![out.clone(), mask.clone(), t.astype(out.dtype())?],
                    )
                }
                _ => {
                    return Err(Error::value(
                        "[masked_scatter] Cannot calculate JVP with respect to mask.",
                    ));
                }
            }
        }
        Ok(vec![out])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let Some(batch) = inputs
            .iter()
            .zip(axes)
            .find_map(|(x, ax)| ax.map(|ax| x.shape()[ax]))
        else {
            let out = Array::from_op(
                inputs[0].shape().to_vec(),
                inputs[0].dtype(),
                MaskedScatter,
                inputs.to_vec(),
            );
            return Ok((vec![out], vec![None]));
        };
        // The vmapped axis first (the unbatched inputs broadcast along it), then folded into
        // the primitive's own batch axis.
        let folded = inputs
            .iter()
            .zip(axes)
            .map(|(x, ax)| {
                let x = match ax {
                    Some(ax) => batch_to_front(x, Some(*ax))?,
                    None => {
                        let e = ops::expand_dims(x, 0)?;
                        let mut shape = e.shape().to_vec();
                        shape[0] = batch;
                        ops::broadcast_to(&e, shape)?
                    }
                };
                ops::flatten(&x, 0, 1)
            })
            .collect::<Result<Vec<_>>>()?;
        let out = Array::from_op(
            folded[0].shape().to_vec(),
            folded[0].dtype(),
            MaskedScatter,
            folded,
        );
        let rows = out.shape()[0] / batch.max(1);
        Ok((vec![ops::unflatten(&out, 0, [batch, rows])?], vec![Some(0)]))
    }
}
