//! Layout primitives: views that share their input's buffer (broadcast, reshape of contiguous
//! data, transpose, as_strided) and the copies that make data contiguous or change its dtype.

use crate::array::{Array, Data, row_major_strides};
use crate::cpu::elementwise;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `broadcast_to`: a view with zero strides on the broadcast dimensions. Inputs past the first
/// (what `broadcast_arrays` and `full_like` add, as MLX does) only give the shape: the output
/// has the broadcast shape of all inputs, so that a shapeless replay follows them.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Broadcast;

impl Primitive for Broadcast {
    fn output_shapes(&self, inputs: &[Array], traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        if inputs.len() > 1 {
            let shapes: Vec<&[usize]> = inputs.iter().map(Array::shape).collect();
            return Ok(vec![crate::ops::broadcast_shapes(&shapes)?]);
        }
        // A broadcast to a fixed shape stays valid only if the new input still fits it (the
        // broadcasts of elementwise ops' operands follow their peers instead: see
        // Program::replay_shapeless).
        let target = &traced[0].shape;
        match crate::ops::broadcast_shapes(&[inputs[0].shape(), target]) {
            Ok(s) if &s == target => Ok(vec![s]),
            _ => Err(Error::value("[Broadcast] Unable to infer broadcast shape")),
        }
    }
    fn name(&self) -> &'static str {
        "Broadcast"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        Ok(vec![broadcast_view(
            &d,
            inputs[0].shape(),
            &outputs[0].shape,
        )])
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
        broadcast_vjp(primals, cotangents, argnums)
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        match argnums.iter().position(|&i| i == 0) {
            Some(k) if primals.len() > 1 => {
                let mut all = vec![tangents[k].clone()];
                all.extend(primals[1..].iter().cloned());
                Ok(vec![crate::ops::broadcast_arrays(&all)?.swap_remove(0)])
            }
            Some(k) => Ok(vec![crate::ops::broadcast_to(
                &tangents[k],
                outputs[0].shape(),
            )?]),
            None => Ok(vec![crate::ops::zeros_like(&outputs[0])?]),
        }
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if inputs.len() > 1 {
            return vmap_broadcast_follow(inputs, axes, |new| {
                let shapes: Vec<&[usize]> = new.iter().map(Array::shape).collect();
                let shape = crate::ops::broadcast_shapes(&shapes)?;
                Ok(Array::from_op(shape, new[0].dtype(), Broadcast, new))
            });
        }
        vmap_broadcast(inputs, axes, &outputs[0].shape)
    }
}

/// The batched form of a broadcast whose output shape follows all its inputs
/// ([`BroadcastAxes`], and [`Broadcast`] with inputs that give the shape): each batched input
/// gets its batch axis in front and size-1 axes after it up to the largest unbatched rank of
/// the inputs (MLX puts them in front of the batch axis instead, which misaligns an
/// unbatched input of a larger rank), so that the inputs still broadcast against each other
/// right-aligned with the batch axis first; `make` rebuilds the node on them. No fixed shapes
/// enter the graph, so a shapeless replay of it follows new batch broadcasts.
fn vmap_broadcast_follow(
    inputs: &[Array],
    axes: &[Option<usize>],
    make: impl FnOnce(Vec<Array>) -> Result<Array>,
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    let rank = inputs
        .iter()
        .zip(axes)
        .map(|(x, a)| x.ndim() - usize::from(a.is_some()))
        .max()
        .unwrap_or(0);
    let batched = axes.iter().any(Option::is_some);
    let new = inputs
        .iter()
        .zip(axes)
        .map(|(x, a)| {
            let Some(a) = a else {
                return Ok(x.clone());
            };
            let x = crate::transforms::rules::batch_to_front(x, Some(*a))?;
            let extra = rank + 1 - x.ndim();
            if extra == 0 {
                Ok(x)
            } else {
                crate::ops::expand_dims(&x, (1..=extra as isize).collect::<Vec<_>>())
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((vec![make(new)?], vec![batched.then_some(0)]))
}

/// The vjp of [`Broadcast`] and [`BroadcastAxes`]: the cotangent summed back to the source's
/// shape; the inputs that only give the shape get no gradient.
fn broadcast_vjp(primals: &[Array], cotangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
    argnums
        .iter()
        .map(|&i| {
            if i == 0 {
                sum_to_shape(&cotangents[0], primals[0].shape())
            } else {
                crate::ops::zeros_like(&primals[i])
            }
        })
        .collect()
}

/// The view of `d` (of shape `in_shape`) broadcast to `out_shape`: zero strides on the
/// dimensions added in front and on those of size 1 that grow.
fn broadcast_view(d: &Data, in_shape: &[usize], out_shape: &[usize]) -> Data {
    let lead = out_shape.len() - in_shape.len();
    let strides = (0..out_shape.len())
        .map(|i| {
            if i < lead || in_shape[i - lead] != out_shape[i] {
                0
            } else {
                d.strides[i - lead]
            }
        })
        .collect();
    Data::view(d.buffer.clone(), out_shape, d.offset, strides)
}

/// The batched form of a broadcast of `inputs[0]` to the fixed unbatched `target` (the rule of
/// `vmap` for a [`Broadcast`] of one input): batch axis first.
fn vmap_broadcast(
    inputs: &[Array],
    axes: &[Option<usize>],
    target: &[usize],
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    let batch = inputs
        .iter()
        .zip(axes)
        .find_map(|(x, a)| a.map(|a| x.shape()[a]));
    let Some(size) = batch else {
        return Ok((
            vec![crate::ops::broadcast_to(&inputs[0], target)?],
            vec![None],
        ));
    };
    // Batch axis first (size 1 for an unbatched source), then size-1 axes for the dimensions
    // the broadcast adds in front.
    let x = match axes[0] {
        Some(b) => crate::ops::moveaxis(&inputs[0], b as isize, 0)?,
        None => crate::ops::expand_dims(&inputs[0], [0])?,
    };
    let extra = target.len() + 1 - x.ndim();
    let x = if extra == 0 {
        x
    } else {
        crate::ops::expand_dims(&x, (1..=extra as isize).collect::<Vec<_>>())?
    };
    let mut full = vec![size];
    full.extend_from_slice(target);
    Ok((vec![crate::ops::broadcast_to(&x, full)?], vec![Some(0)]))
}

/// The broadcast of every input but its last `trailing` axes against the others' (a matmul's
/// batch dimensions: MLX's `BroadcastAxes`); the output keeps the first input's trailing axes.
/// Inputs past the first only give the shape.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct BroadcastAxes {
    pub(crate) trailing: usize,
}

impl BroadcastAxes {
    /// The output shape for inputs of these shapes.
    pub(crate) fn shape_for(&self, shapes: &[&[usize]]) -> Result<Vec<usize>> {
        let t = self.trailing;
        if shapes.iter().any(|s| s.len() < t) {
            return Err(Error::value("[BroadcastAxes] The input's rank changed."));
        }
        let heads: Vec<&[usize]> = shapes.iter().map(|s| &s[..s.len() - t]).collect();
        let mut out = crate::ops::broadcast_shapes(&heads)?;
        out.extend_from_slice(&shapes[0][shapes[0].len() - t..]);
        Ok(out)
    }
}

impl Primitive for BroadcastAxes {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let shapes: Vec<&[usize]> = inputs.iter().map(Array::shape).collect();
        Ok(vec![self.shape_for(&shapes)?])
    }
    fn name(&self) -> &'static str {
        "BroadcastAxes"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        Ok(vec![broadcast_view(
            &d,
            inputs[0].shape(),
            &outputs[0].shape,
        )])
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
        broadcast_vjp(primals, cotangents, argnums)
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        match argnums.iter().position(|&i| i == 0) {
            Some(k) => {
                let mut inputs = vec![tangents[k].clone()];
                inputs.extend(primals[1..].iter().cloned());
                Ok(vec![Array::from_op(
                    outputs[0].shape().to_vec(),
                    tangents[k].dtype(),
                    BroadcastAxes {
                        trailing: self.trailing,
                    },
                    inputs,
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
        let trailing = self.trailing;
        vmap_broadcast_follow(inputs, axes, |new| {
            let shapes: Vec<&[usize]> = new.iter().map(Array::shape).collect();
            let shape = BroadcastAxes { trailing }.shape_for(&shapes)?;
            Ok(Array::from_op(
                shape,
                new[0].dtype(),
                BroadcastAxes { trailing },
                new,
            ))
        })
    }
}

/// `reshape`: a view of row-contiguous data or when only size-1 axes change, a copy otherwise.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Reshape {
    /// The axis given as -1 (inferred from the size), for shapeless compilation.
    pub(crate) infer: Option<usize>,
    /// For a squeeze or an expand_dims: where each output axis comes from (`Some(i)`: the
    /// input's axis `i`, `None`: a new axis of size 1), so that a shapeless replay follows the
    /// input's new sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dims: Option<Vec<Option<usize>>>,
}

impl Primitive for Reshape {
    fn output_shapes(&self, inputs: &[Array], traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let (size, mut shape) = (inputs[0].size(), traced[0].shape.clone());
        if let Some(dims) = &self.dims {
            let in_shape = inputs[0].shape();
            shape = dims
                .iter()
                .map(|d| match d {
                    Some(i) => in_shape
                        .get(*i)
                        .copied()
                        .ok_or_else(|| Error::value("[Reshape] The input's rank changed.")),
                    None => Ok(1),
                })
                .collect::<Result<_>>()?;
        }
        if let Some(i) = self.infer {
            let known: usize = shape
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, &d)| d)
                .product();
            if known > 0 && size.is_multiple_of(known) {
                shape[i] = size / known;
            }
        }
        if shape.iter().product::<usize>() != size {
            return Err(Error::value(format!(
                "[Reshape] Cannot reshape array of size {size} into shape {}.",
                crate::error::fmt_shape(&shape)
            )));
        }
        Ok(vec![shape])
    }
    fn name(&self) -> &'static str {
        "Reshape"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        let spec = &outputs[0];
        if d.row_contiguous {
            return Ok(vec![Data::view(
                d.buffer.clone(),
                &spec.shape,
                d.offset,
                row_major_strides(&spec.shape),
            )]);
        }
        // Only size-1 axes added or removed (squeeze, expand_dims): a view of any layout.
        if let Some(strides) = unit_axes_strides(inputs[0].shape(), &d.strides, &spec.shape) {
            return Ok(vec![Data::view(
                d.buffer.clone(),
                &spec.shape,
                d.offset,
                strides,
            )]);
        }
        // Copy in the input's row-major order, then the copy is laid out for the new shape.
        let flat = OutputSpec {
            shape: inputs[0].shape().to_vec(),
            dtype: spec.dtype,
        };
        let copied =
            crate::dispatch_dtype!(spec.dtype, T => elementwise::copy::<T>(&inputs[0], &flat))?;
        Ok(vec![Data::view(
            copied.buffer,
            &spec.shape,
            0,
            row_major_strides(&spec.shape),
        )])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::reshape(
            &cotangents[0],
            primals[0].shape(),
        )?])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::reshape(&tangents[0], outputs[0].shape())?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let Some(b) = axes[0] else {
            return Ok((
                vec![crate::ops::reshape(&inputs[0], &outputs[0].shape)?],
                vec![None],
            ));
        };
        let x = crate::ops::moveaxis(&inputs[0], b as isize, 0)?;
        let mut shape = vec![x.shape()[0]];
        shape.extend_from_slice(&outputs[0].shape);
        Ok((vec![crate::ops::reshape(&x, shape)?], vec![Some(0)]))
    }
}

/// Strides for `out_shape` when it differs from `in_shape` only by size-1 axes: the other
/// axes keep their strides.
fn unit_axes_strides(
    in_shape: &[usize],
    in_strides: &[isize],
    out_shape: &[usize],
) -> Option<Vec<isize>> {
    let mut kept = in_shape.iter().zip(in_strides).filter(|&(&d, _)| d != 1);
    let mut strides = Vec::with_capacity(out_shape.len());
    for &d in out_shape {
        if d == 1 {
            strides.push(0);
        } else {
            let (&k, &s) = kept.next()?;
            if k != d {
                return None;
            }
            strides.push(s);
        }
    }
    if kept.next().is_some() {
        None
    } else {
        Some(strides)
    }
}

/// `transpose`: a view with permuted strides.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Transpose {
    pub(crate) axes: Vec<usize>,
}

impl Primitive for Transpose {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let shape = inputs[0].shape();
        if shape.len() != self.axes.len() {
            return Err(Error::value("[Transpose] The input's rank changed."));
        }
        Ok(vec![self.axes.iter().map(|&p| shape[p]).collect()])
    }
    fn name(&self) -> &'static str {
        "Transpose"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        let strides = self.axes.iter().map(|&a| d.strides[a]).collect();
        Ok(vec![Data::view(
            d.buffer.clone(),
            &outputs[0].shape,
            d.offset,
            strides,
        )])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }

    fn vjp(
        &self,
        _primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let mut inverse = vec![0usize; self.axes.len()];
        for (i, &a) in self.axes.iter().enumerate() {
            inverse[a] = i;
        }
        Ok(vec![crate::ops::transpose(&cotangents[0], Some(inverse))?])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::transpose(
            &tangents[0],
            Some(self.axes.clone()),
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let Some(b) = axes[0] else {
            return Ok((
                vec![crate::ops::transpose(&inputs[0], Some(self.axes.clone()))?],
                vec![None],
            ));
        };
        let x = crate::ops::moveaxis(&inputs[0], b as isize, 0)?;
        let mut perm = vec![0usize];
        perm.extend(self.axes.iter().map(|a| a + 1));
        Ok((vec![crate::ops::transpose(&x, Some(perm))?], vec![Some(0)]))
    }
}

/// `as_strided`: a view with caller-given strides and offset, relative to the input's
/// row-major layout (the input is made contiguous first by the op).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AsStrided {
    pub(crate) strides: Vec<isize>,
    pub(crate) offset: usize,
}

impl Primitive for AsStrided {
    fn name(&self) -> &'static str {
        "AsStrided"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        Ok(vec![Data::view(
            d.buffer.clone(),
            &outputs[0].shape,
            d.offset + self.offset,
            self.strides.clone(),
        )])
    }
    // As MLX: the cotangent is scatter-added onto the (flat, row-major) input positions the
    // view reads; MLX has no vmap rule for as_strided.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, cot) = (&primals[0], &cotangents[0]);
        let n = x.size();
        let grad = crate::ops::zeros([n], cot.dtype())?;
        let idx = crate::ops::arange_dtype(0.0, n as f64, 1.0, crate::Dtype::Int64)?;
        let idx = crate::ops::as_strided(&idx, cot.shape().to_vec(), &self.strides, self.offset)?;
        let idx = crate::ops::reshape(&idx, [cot.size()])?;
        let upd = crate::ops::reshape(cot, [cot.size(), 1])?;
        let grad = crate::ops::scatter(
            &grad,
            &[idx],
            &upd,
            [0usize],
            crate::ops::ScatterReduce::Sum,
        )?;
        Ok(vec![crate::ops::reshape(&grad, x.shape().to_vec())?])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let shape = outputs[0].shape().to_vec();
        Ok(vec![crate::ops::as_strided(
            &tangents[0],
            shape,
            &self.strides,
            self.offset,
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `contiguous`: a row-major copy (or the input itself when already row-major).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Contiguous;

impl Primitive for Contiguous {
    fn name(&self) -> &'static str {
        "Contiguous"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        if d.row_contiguous {
            return Ok(vec![d]);
        }
        drop(d);
        let spec = &outputs[0];
        Ok(vec![
            crate::dispatch_dtype!(spec.dtype, T => elementwise::copy::<T>(&inputs[0], spec))?,
        ])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    // A copy: the input's shape (so shapeless replays of `zeros_like` follow their input).
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![inputs[0].shape().to_vec()])
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
        Ok((vec![crate::ops::contiguous(&inputs[0])?], axes.to_vec()))
    }
}

/// `astype`: converts every element as C++'s `static_cast` does in MLX.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AsType;

impl Primitive for AsType {
    fn is_elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "AsType"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let spec = &outputs[0];
        let data = crate::dispatch_dtype!(inputs[0].dtype(), S => {
            crate::dispatch_dtype!(spec.dtype, D => elementwise::unary::<S, D>(&inputs[0], spec, |x| x.cast::<D>()))
        })?;
        Ok(vec![data])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::astype(
            &cotangents[0],
            primals[0].dtype(),
        )?])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::astype(&tangents[0], outputs[0].dtype())?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((
            vec![crate::ops::astype(&inputs[0], outputs[0].dtype)?],
            axes.to_vec(),
        ))
    }
}

/// `slice`: a view with per-axis start and step (negative steps give negative strides). The
/// op has already clamped `start` into the axis for every non-empty output.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Slice {
    pub(crate) start: Vec<isize>,
    pub(crate) strides: Vec<isize>,
}

impl Primitive for Slice {
    fn name(&self) -> &'static str {
        "Slice"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        let spec = &outputs[0];
        let strides: Vec<isize> = d
            .strides
            .iter()
            .zip(&self.strides)
            .map(|(&s, &k)| s * k)
            .collect();
        // An empty view keeps the input's offset: its start may lie outside the axis.
        let offset = if spec.size() == 0 {
            d.offset
        } else {
            let o = d.offset as isize
                + d.strides
                    .iter()
                    .zip(&self.start)
                    .map(|(&s, &i)| s * i)
                    .sum::<isize>();
            o as usize
        };
        Ok(vec![Data::view(
            d.buffer.clone(),
            &spec.shape,
            offset,
            strides,
        )])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        // The cotangent written into zeros where the slice came from.
        let x = &primals[0];
        let c = crate::ops::astype(&cotangents[0], x.dtype())?;
        let update = crate::primitives::indexing::SliceUpdate {
            reduce: crate::cpu::indexing::ScatterReduce::None,
            start: self.start.clone(),
            strides: self.strides.clone(),
        };
        let zeros = crate::ops::zeros_like(x)?;
        Ok(vec![Array::from_op(
            x.shape().to_vec(),
            x.dtype(),
            update,
            vec![zeros, c],
        )])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let t = &tangents[0];
        let slice = Slice {
            start: self.start.clone(),
            strides: self.strides.clone(),
        };
        Ok(vec![Array::from_op(
            outputs[0].shape().to_vec(),
            t.dtype(),
            slice,
            vec![t.clone()],
        )])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let (mut start, mut strides, mut shape) = (
            self.start.clone(),
            self.strides.clone(),
            outputs[0].shape.clone(),
        );
        if let Some(b) = axes[0] {
            start.insert(b, 0);
            strides.insert(b, 1);
            shape.insert(b, x.shape()[b]);
        }
        let out = Array::from_op(shape, x.dtype(), Slice { start, strides }, vec![x.clone()]);
        Ok((vec![out], axes.to_vec()))
    }
}

/// `diagonal`: a view whose last axis walks `axis1` and `axis2` together (stride the sum of
/// theirs), starting `offset` off the main diagonal.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Diagonal {
    pub(crate) offset: isize,
    pub(crate) axis1: usize,
    pub(crate) axis2: usize,
}

impl Primitive for Diagonal {
    fn name(&self) -> &'static str {
        "Diagonal"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        let spec = &outputs[0];
        let (s1, s2) = (d.strides[self.axis1], d.strides[self.axis2]);
        let mut strides: Vec<isize> = (0..d.strides.len())
            .filter(|&i| i != self.axis1 && i != self.axis2)
            .map(|i| d.strides[i])
            .collect();
        strides.push(s1 + s2);
        let offset = if spec.size() == 0 {
            d.offset
        } else {
            let (o1, o2) = ((-self.offset).max(0), self.offset.max(0));
            (d.offset as isize + o1 * s1 + o2 * s2) as usize
        };
        Ok(vec![Data::view(
            d.buffer.clone(),
            &spec.shape,
            offset,
            strides,
        )])
    }
    // MLX's diagonal is a gather: its cotangent is scatter-added back onto the diagonal.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, cot) = (&primals[0], &cotangents[0]);
        let len = *cot.shape().last().expect("a diagonal has an axis");
        let zeros = crate::ops::zeros_like(x)?;
        if len == 0 {
            return Ok(vec![zeros]);
        }
        let (o1, o2) = ((-self.offset).max(0) as f64, self.offset.max(0) as f64);
        let u32 = crate::Dtype::Uint32;
        let i1 = crate::ops::arange_dtype(o1, o1 + len as f64, 1.0, u32)?;
        let i2 = crate::ops::arange_dtype(o2, o2 + len as f64, 1.0, u32)?;
        // Updates: one block of x's rank per diagonal element, 1 on both diagonal axes.
        let upd = crate::ops::moveaxis(cot, -1, 0)?;
        let (a1, a2) = (self.axis1.min(self.axis2), self.axis1.max(self.axis2));
        let upd = crate::ops::expand_dims(&upd, [a1 + 1, a2 + 1])?;
        let g = crate::ops::scatter(
            &zeros,
            &[i1, i2],
            &upd,
            [self.axis1, self.axis2],
            crate::ops::ScatterReduce::Sum,
        )?;
        Ok(vec![g])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let t = &tangents[0];
        let p = Diagonal {
            offset: self.offset,
            axis1: self.axis1,
            axis2: self.axis2,
        };
        Ok(vec![Array::from_op(
            outputs[0].shape().to_vec(),
            t.dtype(),
            p,
            vec![t.clone()],
        )])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let p = |axis1, axis2| Diagonal {
            offset: self.offset,
            axis1,
            axis2,
        };
        let Some(b) = axes[0] else {
            let out = Array::from_op(
                outputs[0].shape.clone(),
                x.dtype(),
                p(self.axis1, self.axis2),
                vec![x.clone()],
            );
            return Ok((vec![out], vec![None]));
        };
        let shift = |a: usize| if a >= b { a + 1 } else { a };
        let out_axis = b - [self.axis1, self.axis2].iter().filter(|&&a| a < b).count();
        let mut shape = outputs[0].shape.clone();
        shape.insert(out_axis, x.shape()[b]);
        let out = Array::from_op(
            shape,
            x.dtype(),
            p(shift(self.axis1), shift(self.axis2)),
            vec![x.clone()],
        );
        Ok((vec![out], vec![Some(out_axis)]))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `view`: the same bytes read as another dtype. Shares the buffer when the layout allows
/// (same element size, or row-major data whose offset falls on an element of the new dtype);
/// copies to row-major first otherwise. Viewing as bool copies and maps each byte to `!= 0`,
/// since a Rust `bool` must hold 0 or 1.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct View;

impl View {
    /// The bytes of `x` reinterpreted as `spec` (never a bool output).
    fn reinterpret(x: &Array, spec: &OutputSpec) -> Result<Data> {
        let d = x.ready_data()?;
        let (ib, ob) = (x.dtype().size(), spec.dtype.size());
        if ib == ob {
            return Ok(Data::view(
                d.buffer.clone(),
                &spec.shape,
                d.offset,
                d.strides.clone(),
            ));
        }
        if d.row_contiguous && (d.offset * ib) % ob == 0 {
            return Ok(Data::view(
                d.buffer.clone(),
                &spec.shape,
                d.offset * ib / ob,
                row_major_strides(&spec.shape),
            ));
        }
        drop(d);
        let dense = OutputSpec {
            shape: x.shape().to_vec(),
            dtype: x.dtype(),
        };
        let copied = crate::dispatch_dtype!(x.dtype(), T => elementwise::copy::<T>(x, &dense))?;
        Ok(Data::view(
            copied.buffer,
            &spec.shape,
            0,
            row_major_strides(&spec.shape),
        ))
    }
}

impl Primitive for View {
    fn name(&self) -> &'static str {
        "View"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, spec) = (&inputs[0], &outputs[0]);
        if spec.dtype != crate::Dtype::Bool || x.dtype() == crate::Dtype::Bool {
            return Ok(vec![View::reinterpret(x, spec)?]);
        }
        let byte_spec = OutputSpec {
            shape: spec.shape.clone(),
            dtype: crate::Dtype::Uint8,
        };
        let bytes = Array::from_data(
            spec.shape.clone(),
            crate::Dtype::Uint8,
            View::reinterpret(x, &byte_spec)?,
        );
        Ok(vec![elementwise::unary::<u8, bool>(&bytes, spec, |b| {
            b != 0
        })?])
    }
    // MLX has a vmap rule only. A batch axis that is the last axis moves to the front
    // first when the element size changes (the last axis is the one that grows or shrinks).
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let dtype = outputs[0].dtype;
        match axes[0] {
            Some(b) if b + 1 == x.ndim() && x.dtype().size() != dtype.size() => {
                let x = crate::transforms::rules::batch_to_front(x, Some(b))?;
                Ok((vec![crate::ops::view(&x, dtype)?], vec![Some(0)]))
            }
            ax => Ok((vec![crate::ops::view(x, dtype)?], vec![ax])),
        }
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `x` summed down to `shape` (which it was broadcast from): the leading axes the broadcast
/// added are summed away, axes where `shape` has 1 are summed keeping the axis.
pub(crate) fn sum_to_shape(x: &Array, shape: &[usize]) -> Result<Array> {
    if x.shape() == shape {
        return Ok(x.clone());
    }
    let lead = x.ndim() - shape.len();
    let mut axes: Vec<usize> = (0..lead).collect();
    axes.extend(
        (0..shape.len())
            .filter(|&i| shape[i] == 1 && x.shape()[lead + i] != 1)
            .map(|i| i + lead),
    );
    let summed = crate::ops::sum_axes(x, axes, true)?;
    // Dropping the leading axes by squeezing them keeps a shapeless replay following the
    // sizes (a reshape would fix them).
    if lead > 0 {
        let leading: Vec<usize> = (0..lead).collect();
        return crate::ops::squeeze(&summed, Some(leading));
    }
    Ok(summed)
}
