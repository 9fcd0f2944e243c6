//! Sorting primitives: one type per op, each handing its lanes to the kernels in
//! [`crate::cpu::sort`].

use crate::array::{Array, Data};
use crate::cpu::sort::{self, IndexOp, UniqueWants, ValueOp};
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// The lane axis of a vmapped lane op: `axis` shifted past the batch axis `b`.
fn shifted(axis: usize, b: Option<usize>) -> usize {
    match b {
        Some(b) if b <= axis => axis + 1,
        _ => axis,
    }
}

/// The vjp of a permuting lane op whose output is `x` taken at `idx` along `axis`: the
/// cotangent put back where each element came from (MLX's `Sort::vjp`). The indices are
/// locally constant in `x`: the gradient is stopped there.
fn permute_vjp(x: &Array, idx: Array, cot: &Array, axis: usize) -> Result<Array> {
    let idx = ops::stop_gradient(&idx)?;
    ops::put_along_axis(&ops::zeros_like(x)?, &idx, cot, Some(axis as isize))
}

/// The jvp of the same op: the tangent taken at `idx`.
fn permute_jvp(t: &Array, idx: Array, axis: usize) -> Result<Array> {
    let idx = ops::stop_gradient(&idx)?;
    ops::take_along_axis(t, &idx, Some(axis as isize))
}

/// A lane op's node on `x` with the given primitive and output shape/dtype.
fn lane_node(x: &Array, shape: Vec<usize>, dtype: crate::dtype::Dtype, p: impl Primitive) -> Array {
    Array::from_op(shape, dtype, p, vec![x.clone()])
}

/// `vjp`/`jvp` of an index-valued op (argsort, argpartition): zero cotangents for the
/// inputs, a zero `uint32` tangent of the output's shape (as MLX).
macro_rules! index_zero_rules {
    () => {
        fn vjp(
            &self,
            primals: &[Array],
            _cotangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            argnums
                .iter()
                .map(|&i| ops::zeros_like(&primals[i]))
                .collect()
        }
        fn jvp(
            &self,
            _primals: &[Array],
            _tangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![ops::zeros(
                outputs[0].shape(),
                crate::dtype::Dtype::Uint32,
            )?])
        }
    };
}

/// `sort` along `axis` (stable; NaN last).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Sort {
    pub(crate) axis: usize,
}

impl Primitive for Sort {
    fn name(&self) -> &'static str {
        "Sort"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::values_along_axis(
            &inputs[0],
            self.axis,
            ValueOp::Sort,
            &outputs[0],
        )?])
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let idx = ops::argsort_axis(x, self.axis as isize)?;
        Ok(vec![permute_vjp(x, idx, &cotangents[0], self.axis)?])
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let idx = ops::argsort_axis(&primals[0], self.axis as isize)?;
        Ok(vec![permute_jvp(&tangents[0], idx, self.axis)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let p = Sort {
            axis: shifted(self.axis, axes[0]),
        };
        Ok((
            vec![lane_node(x, x.shape().to_vec(), x.dtype(), p)],
            axes.to_vec(),
        ))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `argsort` along `axis`: the stable sorting permutation as `uint32`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ArgSort {
    pub(crate) axis: usize,
}

impl Primitive for ArgSort {
    fn name(&self) -> &'static str {
        "ArgSort"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::indices_along_axis(
            &inputs[0],
            self.axis,
            IndexOp::Sort,
            &outputs[0],
        )?])
    }
    index_zero_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let p = ArgSort {
            axis: shifted(self.axis, axes[0]),
        };
        Ok((
            vec![lane_node(x, x.shape().to_vec(), outputs[0].dtype, p)],
            axes.to_vec(),
        ))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `partition` along `axis` around rank `kth` (already normalised to `0..n`).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Partition {
    pub(crate) kth: usize,
    pub(crate) axis: usize,
}

impl Primitive for Partition {
    fn name(&self) -> &'static str {
        "Partition"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::values_along_axis(
            &inputs[0],
            self.axis,
            ValueOp::Partition(self.kth),
            &outputs[0],
        )?])
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let idx = ops::argpartition_axis(x, self.kth as isize, self.axis as isize)?;
        Ok(vec![permute_vjp(x, idx, &cotangents[0], self.axis)?])
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let idx = ops::argpartition_axis(&primals[0], self.kth as isize, self.axis as isize)?;
        Ok(vec![permute_jvp(&tangents[0], idx, self.axis)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let p = Partition {
            kth: self.kth,
            axis: shifted(self.axis, axes[0]),
        };
        Ok((
            vec![lane_node(x, x.shape().to_vec(), x.dtype(), p)],
            axes.to_vec(),
        ))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `argpartition` along `axis` around rank `kth` (already normalised to `0..n`).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ArgPartition {
    pub(crate) kth: usize,
    pub(crate) axis: usize,
}

impl Primitive for ArgPartition {
    fn name(&self) -> &'static str {
        "ArgPartition"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::indices_along_axis(
            &inputs[0],
            self.axis,
            IndexOp::Partition(self.kth),
            &outputs[0],
        )?])
    }
    index_zero_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let p = ArgPartition {
            kth: self.kth,
            axis: shifted(self.axis, axes[0]),
        };
        Ok((
            vec![lane_node(x, x.shape().to_vec(), outputs[0].dtype, p)],
            axes.to_vec(),
        ))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `topk`: the `k` largest elements along `axis`, ascending.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct TopK {
    pub(crate) k: usize,
    pub(crate) axis: usize,
}

impl TopK {
    /// The indices along `axis` of the elements this topk picks, in the order of its output:
    /// argpartition's last `k`, sorted by value (stable).
    fn indices(&self, x: &Array) -> Result<Array> {
        let n = x.shape()[self.axis];
        let ax = self.axis as isize;
        if self.k == 0 {
            let mut shape = x.shape().to_vec();
            shape[self.axis] = 0;
            return ops::zeros(shape, crate::dtype::Dtype::Uint32);
        }
        let part = ops::argpartition_axis(x, (n - self.k) as isize, ax)?;
        let top = ops::slice_axis(&part, ax, (n - self.k) as isize..n as isize)?;
        let vals = ops::take_along_axis(x, &top, Some(ax))?;
        let order = ops::argsort_axis(&vals, ax)?;
        ops::take_along_axis(&top, &order, Some(ax))
    }
}

impl Primitive for TopK {
    fn name(&self) -> &'static str {
        "TopK"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::values_along_axis(
            &inputs[0],
            self.axis,
            ValueOp::TopK(self.k),
            &outputs[0],
        )?])
    }
    // MLX's topk is a partition around `n - k` and a slice of its last `k` elements, so the
    // gradient flows to the chosen elements. Our values come sorted: the chosen indices are
    // put in the same order before routing the cotangents.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        Ok(vec![permute_vjp(
            x,
            self.indices(x)?,
            &cotangents[0],
            self.axis,
        )?])
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![permute_jvp(
            &tangents[0],
            self.indices(&primals[0])?,
            self.axis,
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let axis = shifted(self.axis, axes[0]);
        let mut shape = x.shape().to_vec();
        shape[axis] = self.k;
        let p = TopK { k: self.k, axis };
        Ok((vec![lane_node(x, shape, x.dtype(), p)], axes.to_vec()))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `searchsorted`: inputs are the 1-D sorted sequence and the values, in one dtype.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SearchSorted {
    pub(crate) right: bool,
}

impl Primitive for SearchSorted {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![inputs[1].shape().to_vec()])
    }
    fn name(&self) -> &'static str {
        "SearchSorted"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::searchsorted(
            &inputs[0],
            &inputs[1],
            self.right,
            &outputs[0],
        )?])
    }
    index_zero_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if axes[0].is_some() {
            return Err(Error::value(
                "[searchsorted] Cannot vmap over the sorted sequence, only over the values being searched for.",
            ));
        }
        let v = &inputs[1];
        let p = SearchSorted { right: self.right };
        let out = Array::from_op(v.shape().to_vec(), outputs[0].dtype, p, inputs.to_vec());
        Ok((vec![out], vec![axes[1]]))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `unique`: inputs are the array and, when `has_fill`, the fill value (one element of the
/// array's dtype); outputs are the values, then the index, inverse and counts asked for.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Unique {
    pub(crate) size: usize,
    pub(crate) index: bool,
    pub(crate) inverse: bool,
    pub(crate) counts: bool,
    pub(crate) has_fill: bool,
}

impl Primitive for Unique {
    fn name(&self) -> &'static str {
        "Unique"
    }
    // MLX's unique is composed: the values are the input gathered at each value's first
    // occurrence (the padding: at the first value's, or the fill value), so the cotangent
    // is scatter-added back there; its jvp meets a scatter, which has none.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, cot) = (&primals[0], &cotangents[0]);
        let (gx, gfill) = if x.size() == 0 {
            (ops::zeros_like(x)?, ops::sum(cot)?)
        } else {
            let aux = Unique {
                size: self.size,
                index: true,
                inverse: false,
                counts: true,
                has_fill: false,
            };
            let specs = vec![
                OutputSpec {
                    shape: vec![self.size],
                    dtype: x.dtype(),
                },
                OutputSpec {
                    shape: vec![self.size],
                    dtype: crate::dtype::Dtype::Uint32,
                },
                OutputSpec {
                    shape: vec![self.size],
                    dtype: crate::dtype::Dtype::Int32,
                },
            ];
            let outs = Array::multi_from_op(specs, aux, vec![x.clone()]);
            let index = ops::stop_gradient(&outs[1])?;
            let valid = ops::greater(&ops::stop_gradient(&outs[2])?, 0)?;
            let (to_x, to_fill) = if self.has_fill {
                (ops::r#where(&valid, cot, 0)?, ops::r#where(&valid, 0, cot)?)
            } else {
                (cot.clone(), ops::zeros_like(cot)?)
            };
            let flat = ops::zeros([x.size()], cot.dtype())?;
            let g = ops::scatter_add_axis(&flat, &index, &to_x, Some(0))?;
            (ops::reshape(&g, x.shape().to_vec())?, ops::sum(&to_fill)?)
        };
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    Ok(gx.clone())
                } else {
                    ops::reshape(&gfill, primals[i].shape().to_vec())
                }
            })
            .collect()
    }
    fn jvp(&self, _: &[Array], _: &[Array], _: &[usize], _: &[Array]) -> Result<Vec<Array>> {
        Err(Error::runtime("[scatter] JVP not yet implemented"))
    }
    // One unique per slice (the op flattens its input), stacked.
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let Some(n) = inputs
            .iter()
            .zip(axes)
            .find_map(|(x, a)| a.map(|a| x.shape()[a]))
        else {
            let p = Unique {
                size: self.size,
                index: self.index,
                inverse: self.inverse,
                counts: self.counts,
                has_fill: self.has_fill,
            };
            let outs = Array::multi_from_op(outputs.to_vec(), p, inputs.to_vec());
            let n_out = outs.len();
            return Ok((outs, vec![None; n_out]));
        };
        let mut per_output: Vec<Vec<Array>> = vec![Vec::with_capacity(n); outputs.len()];
        for k in 0..n {
            let slice = inputs
                .iter()
                .zip(axes)
                .map(|(x, a)| match a {
                    Some(a) => ops::take(x, k as isize, Some(*a as isize)),
                    None => Ok(x.clone()),
                })
                .collect::<Result<Vec<_>>>()?;
            let p = Unique {
                size: self.size,
                index: self.index,
                inverse: self.inverse,
                counts: self.counts,
                has_fill: self.has_fill,
            };
            let specs: Vec<OutputSpec> = outputs
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let mut o = o.clone();
                    // The inverse has the shape of the (unbatched) input.
                    if self.inverse && i == 1 + self.index as usize {
                        o.shape = slice[0].shape().to_vec();
                    }
                    o
                })
                .collect();
            for (acc, o) in per_output
                .iter_mut()
                .zip(Array::multi_from_op(specs, p, slice))
            {
                acc.push(o);
            }
        }
        let outs = per_output
            .iter()
            .map(|v| ops::stack(v, 0))
            .collect::<Result<Vec<_>>>()?;
        let n_out = outs.len();
        Ok((outs, vec![Some(0); n_out]))
    }
    fn eval_cpu(&self, inputs: &[Array], _outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let fill = if self.has_fill { inputs.get(1) } else { None };
        let wants = UniqueWants {
            index: self.index,
            inverse: self.inverse,
            counts: self.counts,
        };
        sort::unique(&inputs[0], fill, self.size, wants)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
