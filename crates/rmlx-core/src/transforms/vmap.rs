//! `vmap`: vectorise a function over an axis of its inputs.

use super::TracingGuard;
use super::tape::{dependent_tape, placeholder};
use super::{FnOutputs, tape::TapeEntry};
use crate::array::Array;
use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};

/// A function that maps `f` over axis `in_axes[i]` of each argument (`None`: the argument is
/// shared by every slice) and stacks the results along `out_axes[j]` of each output. Empty
/// axis lists mean axis 0 everywhere, as MLX's defaults.
///
/// `f` is traced once on arrays without data, then each primitive it used is replaced by its
/// batched form (`Primitive::vmap`): no loop over the slices. Evaluating an array inside `f`
/// is an error, as in MLX.
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
/// let row_sums = mx::vmap(|a| mx::sum(&a[0]), &[], &[]);
/// assert_eq!(row_sums(&[x])?[0].to_vec::<f32>()?, vec![3.0, 7.0, 11.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vmap<F, O>(
    f: F,
    in_axes: &[Option<isize>],
    out_axes: &[Option<isize>],
) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    vmap_impl(f, in_axes, OutAxes::PerOutput(out_axes.to_vec()))
}

/// [`vmap`] with one output axis for every output, however many there are (for trees, and for
/// callers that do not know the number of outputs before tracing).
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::array![[1.0, 2.0], [3.0, 4.0]];
/// let f = mx::vmap_uniform_out(|a| Ok(vec![&a[0] * 2.0, &a[0] + 1.0]), &[Some(0)], Some(1));
/// let outs = f(&[x])?;
/// assert_eq!(outs[0].to_vec::<f32>()?, vec![2.0, 6.0, 4.0, 8.0]);
/// assert_eq!(outs.len(), 2);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vmap_uniform_out<F, O>(
    f: F,
    in_axes: &[Option<isize>],
    out_axis: Option<isize>,
) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    vmap_impl(f, in_axes, OutAxes::Uniform(out_axis))
}

/// Where the outputs' batch axes go: one per output (empty: all 0), or the same for all.
enum OutAxes {
    PerOutput(Vec<Option<isize>>),
    Uniform(Option<isize>),
}

fn vmap_impl<F, O>(
    f: F,
    in_axes: &[Option<isize>],
    out_axes: OutAxes,
) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    let in_axes = in_axes.to_vec();
    move |inputs: &[Array]| {
        let in_axes: Vec<Option<isize>> = if in_axes.is_empty() {
            vec![Some(0); inputs.len()]
        } else {
            in_axes.clone()
        };
        let _tracing = TracingGuard::new();
        let (axes, size) = check_in_axes(inputs, &in_axes)?;
        let traced: Vec<Array> = inputs
            .iter()
            .zip(&axes)
            .map(|(x, ax)| match ax {
                Some(ax) => {
                    let mut shape = x.shape().to_vec();
                    shape.remove(*ax);
                    placeholder(shape, x.dtype())
                }
                None => x.clone(),
            })
            .collect();
        let outputs = f(&traced)?.into_outputs();
        let out_axes: Vec<Option<isize>> = match &out_axes {
            OutAxes::PerOutput(v) if v.is_empty() => vec![Some(0); outputs.len()],
            OutAxes::PerOutput(v) => v.clone(),
            OutAxes::Uniform(a) => vec![*a; outputs.len()],
        };
        if out_axes.len() != outputs.len() {
            return Err(Error::value(format!(
                "[vmap] The number of out axes ({}) must match the number of outputs ({}).",
                out_axes.len(),
                outputs.len()
            )));
        }
        let sources: HashSet<usize> = traced
            .iter()
            .zip(&axes)
            .filter(|(_, a)| a.is_some())
            .map(|(t, _)| t.id())
            .collect();
        let tape = dependent_tape(&outputs, &sources, &sources, false);
        let mut batched: HashMap<usize, (Array, Option<usize>)> = traced
            .iter()
            .zip(inputs.iter().zip(&axes))
            .filter_map(|(t, (x, a))| a.map(|a| (t.id(), (x.clone(), Some(a)))))
            .collect();
        replay(&tape, &mut batched)?;
        outputs
            .iter()
            .zip(&out_axes)
            .map(|(o, &out_ax)| place_output(o, batched.get(&o.id()), out_ax, size))
            .collect()
    }
}

/// Checks the input axes and returns them normalised, with the size of the mapped axis.
fn check_in_axes(
    inputs: &[Array],
    in_axes: &[Option<isize>],
) -> Result<(Vec<Option<usize>>, usize)> {
    if in_axes.len() != inputs.len() {
        return Err(Error::value(format!(
            "[vmap] The number of in axes ({}) must match the number of inputs ({}).",
            in_axes.len(),
            inputs.len()
        )));
    }
    let mut size = None;
    let mut axes = Vec::with_capacity(inputs.len());
    for (x, ax) in inputs.iter().zip(in_axes) {
        let Some(ax) = *ax else {
            axes.push(None);
            continue;
        };
        if x.ndim() == 0 {
            return Err(Error::value(
                "[vmap] Cannot vmap an input with zero dimensions.",
            ));
        }
        let n = x.ndim() as isize;
        if ax < -n || ax >= n {
            return Err(Error::index(format!(
                "[vmap] Invalid vectorization axis {ax} for array with shape {}",
                crate::error::fmt_shape(x.shape())
            )));
        }
        let ax = if ax < 0 { ax + n } else { ax } as usize;
        let d = x.shape()[ax];
        match size {
            Some(s) if s != d => {
                return Err(Error::value(format!(
                    "[vmap] Inconsistent axis sizes: {d} and {s}."
                )));
            }
            _ => size = Some(d),
        }
        axes.push(Some(ax));
    }
    let size = size.ok_or_else(|| Error::value("At least one of in_axes must be non-None."))?;
    Ok((axes, size))
}

/// Replaces each traced node by its batched form. `batched` maps a traced array to what stands
/// for it: an array with its mapped axis, or (axis `None`) one shared by every slice.
fn replay(tape: &[TapeEntry], batched: &mut HashMap<usize, (Array, Option<usize>)>) -> Result<()> {
    for entry in tape {
        let node = &entry.node;
        let (inputs, axes): (Vec<Array>, Vec<Option<usize>>) = node
            .inputs
            .iter()
            .map(|x| match batched.get(&x.id()) {
                Some((b, ax)) => (b.clone(), *ax),
                None => (x.clone(), None),
            })
            .unzip();
        let (outs, out_axes) = node.primitive.vmap(&inputs, &axes, &node.outputs)?;
        if outs.len() != entry.outputs.len() || out_axes.len() != outs.len() {
            return Err(Error::runtime(format!(
                "[vmap] {} returned {} outputs for {}.",
                node.primitive.name(),
                outs.len(),
                entry.outputs.len()
            )));
        }
        for ((o, b), ax) in entry.outputs.iter().zip(outs).zip(out_axes) {
            batched.insert(o.id(), (b, ax));
        }
    }
    Ok(())
}

/// Moves the mapped axis of an output to `out_ax`; an output that does not depend on a mapped
/// input is repeated `size` times.
fn place_output(
    traced: &Array,
    batched: Option<&(Array, Option<usize>)>,
    out_ax: Option<isize>,
    size: usize,
) -> Result<Array> {
    let (value, axis) = match batched {
        Some((b, ax)) => (b, *ax),
        None => (traced, None),
    };
    let Some(out_ax) = out_ax else {
        return match axis {
            None => Ok(value.clone()),
            Some(_) => Err(Error::value(
                "[vmap] An output with out_axes None depends on a mapped input.",
            )),
        };
    };
    match axis {
        Some(ax) => {
            let b = value;
            let n = b.ndim() as isize;
            if out_ax < -n || out_ax >= n {
                return Err(Error::value(format!(
                    "[vmap] Axis {out_ax} invalid for output with {} dimensions.",
                    b.ndim()
                )));
            }
            crate::ops::moveaxis(b, ax as isize, out_ax)
        }
        None => {
            let n = value.ndim() as isize + 1;
            if out_ax < -n || out_ax >= n {
                return Err(Error::value(format!(
                    "[vmap] Axis {out_ax} invalid for output with {} dimensions.",
                    n
                )));
            }
            let e = crate::ops::expand_dims(value, out_ax)?;
            crate::ops::repeat_axis(&e, size, out_ax)
        }
    }
}
