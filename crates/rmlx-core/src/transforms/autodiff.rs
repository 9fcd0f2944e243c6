//! Reverse and forward mode: `vjp`, `jvp`, `grad`, `value_and_grad`.

use super::TracingGuard;
use super::tape::{dependent_tape, make_tracer};
use crate::array::Array;
use crate::error::{Error, Result, fmt_shape};
use std::collections::{HashMap, HashSet};

/// What a transformed function may return: one array or several.
pub trait FnOutputs {
    /// The outputs, in order.
    fn into_outputs(self) -> Vec<Array>;
}

impl FnOutputs for Array {
    fn into_outputs(self) -> Vec<Array> {
        vec![self]
    }
}

impl FnOutputs for Vec<Array> {
    fn into_outputs(self) -> Vec<Array> {
        self
    }
}

/// What `value_and_grad` returns: the values, then the gradients.
impl FnOutputs for (Vec<Array>, Vec<Array>) {
    fn into_outputs(self) -> Vec<Array> {
        let (mut values, grads) = self;
        values.extend(grads);
        values
    }
}

/// The arguments `grad` and `value_and_grad` differentiate with respect to: one index or
/// several, as MLX's `argnums` (a negative index is an error, as in MLX).
///
/// ```
/// use rmlx_core::Argnums;
/// let one: Argnums = 0.into();
/// let two: Argnums = [0, 2].into();
/// assert_eq!((one.len(), two.len()), (1, 2));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argnums(Vec<isize>);

impl Argnums {
    /// How many arguments are listed.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The indices, sorted, for a call with `n` arguments; MLX's errors for repeats and for
    /// indices out of range.
    fn resolve(&self, n: usize) -> Result<Vec<usize>> {
        let mut out = Vec::with_capacity(self.0.len());
        for &a in &self.0 {
            if a < 0 {
                return Err(Error::value(format!(
                    "[grad] Can't compute the gradient of negative argument index {a}"
                )));
            }
            let i = a;
            if i >= n as isize {
                return Err(Error::value(format!(
                    "[grad] Can't compute the gradient of argument index {a} because the \
                     function is called with only {n} positional arguments."
                )));
            }
            out.push(i as usize);
        }
        out.sort_unstable();
        if let Some(w) = out.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::value(format!(
                "[grad] Duplicate argument index {} is not allowed.",
                w[0]
            )));
        }
        Ok(out)
    }
}

macro_rules! argnums_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Argnums {
            fn from(a: $t) -> Argnums {
                Argnums(vec![a as isize])
            }
        }
        impl<const N: usize> From<[$t; N]> for Argnums {
            fn from(a: [$t; N]) -> Argnums {
                Argnums(a.iter().map(|&x| x as isize).collect())
            }
        }
        impl<const N: usize> From<&[$t; N]> for Argnums {
            fn from(a: &[$t; N]) -> Argnums {
                Argnums(a.iter().map(|&x| x as isize).collect())
            }
        }
        impl From<&[$t]> for Argnums {
            fn from(a: &[$t]) -> Argnums {
                Argnums(a.iter().map(|&x| x as isize).collect())
            }
        }
        impl From<Vec<$t>> for Argnums {
            fn from(a: Vec<$t>) -> Argnums {
                Argnums(a.iter().map(|&x| x as isize).collect())
            }
        }
    )*};
}
argnums_from_int!(i32, i64, isize, usize);

/// Vector-Jacobian product of `f` at `primals` with one cotangent per output of `f`:
/// returns `f`'s outputs and the cotangents of every primal.
///
/// ```
/// use rmlx_core as mx;
/// let (outs, vjps) = mx::vjp(
///     |x| Ok(&x[0] * &x[0]),
///     &[mx::array![1.0, 2.0]],
///     &[mx::array![1.0, 1.0]],
/// )?;
/// assert_eq!(outs[0].to_vec::<f32>()?, vec![1.0, 4.0]);
/// assert_eq!(vjps[0].to_vec::<f32>()?, vec![2.0, 4.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vjp<F, O>(f: F, primals: &[Array], cotangents: &[Array]) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: FnOnce(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    let all: Vec<usize> = (0..primals.len()).collect();
    vjp_argnums(f, primals, cotangents, &all)
}

/// [`vjp`] for the primals listed in `argnums` only (sorted, distinct indices).
pub fn vjp_argnums<F, O>(
    f: F,
    primals: &[Array],
    cotangents: &[Array],
    argnums: &[usize],
) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: FnOnce(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    let _tracing = TracingGuard::new();
    if let Some(&bad) = argnums.iter().find(|&&a| a >= primals.len()) {
        return Err(Error::value(format!(
            "[vjp] Argument number {bad} is out of range for {} primals.",
            primals.len()
        )));
    }
    let tracers: Vec<Array> = primals.iter().map(make_tracer).collect();
    let outputs = f(&tracers)?.into_outputs();

    // Pair outputs with cotangents; outputs whose gradient is stopped take none.
    let mut pairs = Vec::new();
    let mut next = 0;
    for (i, out) in outputs.iter().enumerate() {
        if out.primitive_name() == Some("StopGradient") {
            continue;
        }
        let Some(cot) = cotangents.get(next) else {
            return Err(Error::value(format!(
                "[vjp] Number of outputs to compute gradients for ({}) does not match number \
                 of cotangents ({}).",
                outputs.len(),
                cotangents.len()
            )));
        };
        if out.shape() != cot.shape() {
            let mut msg = format!(
                "[vjp] Output shape {} does not match cotangent shape {}.",
                fmt_shape(out.shape()),
                fmt_shape(cot.shape())
            );
            if outputs.len() == 1 && out.size() == 1 {
                msg.push_str(" If you are using grad your function must return a scalar.");
            }
            return Err(Error::value(msg));
        }
        pairs.push((i, next));
        next += 1;
    }

    let boundary: HashSet<usize> = tracers.iter().map(Array::id).collect();
    let sources: HashSet<usize> = argnums.iter().map(|&a| tracers[a].id()).collect();
    let tape = dependent_tape(&outputs, &boundary, &sources, true);
    let dependent: HashSet<usize> = sources
        .iter()
        .copied()
        .chain(tape.iter().flat_map(|e| e.outputs.iter().map(Array::id)))
        .collect();

    let mut cotan: HashMap<usize, Array> = HashMap::new();
    for (o, c) in pairs {
        let out = &outputs[o];
        let c = crate::ops::astype(&cotangents[c], out.dtype())?;
        accumulate(&mut cotan, out.id(), c)?;
    }
    for entry in tape.iter().rev() {
        if !entry.outputs.iter().any(|o| cotan.contains_key(&o.id())) {
            continue;
        }
        let node = &entry.node;
        let args: Vec<usize> = (0..node.inputs.len())
            .filter(|&i| dependent.contains(&node.inputs[i].id()))
            .collect();
        let cots = entry
            .outputs
            .iter()
            .map(|o| match cotan.remove(&o.id()) {
                Some(c) => Ok(c),
                None => crate::ops::creation::zeros_view_like(o),
            })
            .collect::<Result<Vec<_>>>()?;
        let vjps = node
            .primitive
            .vjp(&node.inputs, &cots, &args, &entry.outputs)?;
        if vjps.len() != args.len() {
            return Err(Error::runtime(format!(
                "[vjp] {} returned {} cotangents for {} inputs.",
                node.primitive.name(),
                vjps.len(),
                args.len()
            )));
        }
        for (&a, v) in args.iter().zip(vjps) {
            accumulate(&mut cotan, node.inputs[a].id(), v)?;
        }
    }
    let grads = argnums
        .iter()
        .map(|&a| match cotan.remove(&tracers[a].id()) {
            Some(g) => Ok(g),
            None => crate::ops::zeros_like(&tracers[a]),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((outputs, grads))
}

fn accumulate(map: &mut HashMap<usize, Array>, id: usize, v: Array) -> Result<()> {
    let v = match map.remove(&id) {
        Some(prev) => crate::ops::add(&prev, &v)?,
        None => v,
    };
    map.insert(id, v);
    Ok(())
}

/// Jacobian-vector product of `f` at `primals` with one tangent per primal: returns `f`'s
/// outputs and their tangents.
///
/// ```
/// use rmlx_core as mx;
/// let (outs, jvps) = mx::jvp(
///     |x| Ok(&x[0] * &x[0]),
///     &[mx::array![1.0, 2.0]],
///     &[mx::array![1.0, 1.0]],
/// )?;
/// assert_eq!(jvps[0].to_vec::<f32>()?, vec![2.0, 4.0]);
/// # let _ = outs;
/// # Ok::<(), mx::Error>(())
/// ```
pub fn jvp<F, O>(f: F, primals: &[Array], tangents: &[Array]) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: FnOnce(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    let _tracing = TracingGuard::new();
    if primals.len() != tangents.len() {
        return Err(Error::value(
            "[jvp] Number of inputs does not match number of tangents.",
        ));
    }
    if primals
        .iter()
        .zip(tangents)
        .any(|(p, t)| p.shape() != t.shape())
    {
        return Err(Error::value(
            "[jvp] Input shape does not match shape of tangent.",
        ));
    }
    let tracers: Vec<Array> = primals.iter().map(make_tracer).collect();
    let outputs = f(&tracers)?.into_outputs();
    let ids: HashSet<usize> = tracers.iter().map(Array::id).collect();
    let tape = dependent_tape(&outputs, &ids, &ids, true);

    let mut tan: HashMap<usize, Array> = tracers
        .iter()
        .zip(tangents)
        .map(|(p, t)| (p.id(), t.clone()))
        .collect();
    for entry in &tape {
        let node = &entry.node;
        let (args, tans): (Vec<usize>, Vec<Array>) = node
            .inputs
            .iter()
            .enumerate()
            .filter_map(|(i, x)| tan.get(&x.id()).map(|t| (i, t.clone())))
            .unzip();
        let jvps = node
            .primitive
            .jvp(&node.inputs, &tans, &args, &entry.outputs)?;
        if jvps.len() > entry.outputs.len() {
            return Err(Error::runtime(format!(
                "[jvp] {} returned {} tangents for {} outputs.",
                node.primitive.name(),
                jvps.len(),
                entry.outputs.len()
            )));
        }
        for (o, t) in entry.outputs.iter().zip(jvps) {
            tan.insert(o.id(), t);
        }
    }
    let jvps = outputs
        .iter()
        .map(|o| match tan.get(&o.id()) {
            Some(t) => Ok(t.clone()),
            None => crate::ops::zeros_like(o),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((outputs, jvps))
}

/// A function returning `f`'s outputs and the gradient of its first output (a scalar) with
/// respect to the arguments in `argnums`. Further outputs are auxiliary: returned, with their
/// gradient stopped.
///
/// ```
/// use rmlx_core as mx;
/// let loss = |a: &[mx::Array]| Ok(vec![mx::sum(&(&a[0] * &a[1]))?, a[0].clone()]);
/// let vg = mx::value_and_grad(loss, [0, 1]);
/// let (vals, grads) = vg(&[mx::array![1.0, 2.0], mx::array![3.0, 4.0]])?;
/// assert_eq!(vals[0].item::<f32>()?, 11.0);
/// assert_eq!(grads[0].to_vec::<f32>()?, vec![3.0, 4.0]);
/// assert_eq!(grads[1].to_vec::<f32>()?, vec![1.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn value_and_grad<F, O>(
    f: F,
    argnums: impl Into<Argnums>,
) -> impl Fn(&[Array]) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    let argnums = argnums.into();
    move |inputs: &[Array]| {
        if argnums.is_empty() {
            return Err(Error::value("[grad] Must specify at least one argument."));
        }
        let args = argnums.resolve(inputs.len())?;
        let with_aux_stopped = |x: &[Array]| -> Result<Vec<Array>> {
            let mut outs = f(x)?.into_outputs();
            for o in outs.iter_mut().skip(1) {
                *o = crate::ops::stop_gradient(&*o)?;
            }
            Ok(outs)
        };
        vjp_argnums(with_aux_stopped, inputs, &[Array::scalar(1.0f32)], &args)
    }
}

/// A function returning the gradient of `f`'s first output (a scalar) with respect to the
/// arguments in `argnums`, one array per listed argument. Composes: `grad(grad(f, 0), 0)`.
///
/// ```
/// use rmlx_core as mx;
/// let cube = |x: &[mx::Array]| mx::sum(&(&x[0] * &x[0] * &x[0]));
/// let d = mx::grad(cube, 0);
/// assert_eq!(d(&[mx::array![2.0]])?[0].to_vec::<f32>()?, vec![12.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn grad<F, O>(f: F, argnums: impl Into<Argnums>) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    let vg = value_and_grad(f, argnums);
    move |inputs: &[Array]| Ok(vg(inputs)?.1)
}
