//! `nn.value_and_grad`: gradients of a loss with respect to a model's trainable parameters.

use crate::core::{self as mx, Array, Error, Result, tree::Tree};
use crate::module::{Member, Module};
use std::cell::RefCell;

/// What a loss function given to [`value_and_grad`] returns: the scalar loss first, then
/// auxiliary arrays (returned with their gradient stopped).
pub trait LossOutput: Sized {
    /// The arrays, loss first.
    fn into_arrays(self) -> Vec<Array>;
    /// Rebuilds the value from the arrays.
    fn from_arrays(arrays: Vec<Array>) -> Result<Self>;
}

impl LossOutput for Array {
    fn into_arrays(self) -> Vec<Array> {
        vec![self]
    }
    fn from_arrays(mut arrays: Vec<Array>) -> Result<Self> {
        if arrays.is_empty() {
            return Err(Error::value(
                "[value_and_grad] The loss function returned nothing.",
            ));
        }
        Ok(arrays.swap_remove(0))
    }
}

impl LossOutput for Vec<Array> {
    fn into_arrays(self) -> Vec<Array> {
        self
    }
    fn from_arrays(arrays: Vec<Array>) -> Result<Self> {
        Ok(arrays)
    }
}

impl LossOutput for (Array, Array) {
    fn into_arrays(self) -> Vec<Array> {
        vec![self.0, self.1]
    }
    fn from_arrays(arrays: Vec<Array>) -> Result<Self> {
        let mut it = arrays.into_iter();
        match (it.next(), it.next()) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(Error::value("[value_and_grad] Expected two outputs.")),
        }
    }
}

/// A function computing `loss_fn(model, args)` and its gradient with respect to the model's
/// trainable parameters (MLX's `nn.value_and_grad(model, fn)`).
///
/// The returned function takes the model on each call, so an optimizer can update the model
/// between calls. It runs the loss on a copy of the model holding the traced parameters;
/// arrays that the forward pass replaces (running statistics in [`crate::ArrayCell`]s) are
/// copied back onto the caller's model afterwards. The gradients come as a tree shaped like
/// [`Module::trainable_parameters`]; the loss's first output must be a scalar and further
/// outputs are returned with their gradients stopped.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let layer = nn::Linear::from_weights(mx::array![[2.0f32]], None)?;
/// let vg = nn::value_and_grad(|m: &nn::Linear, x: &[mx::Array]| mx::sum(&m.forward(&x[0])?));
/// let (loss, grads) = vg(&layer, &[mx::array![[3.0f32]]])?;
/// assert_eq!(loss.item::<f32>()?, 6.0);
/// assert_eq!(grads.get("weight").unwrap().as_array().unwrap().to_vec::<f32>()?, vec![3.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn value_and_grad<M, F, O>(loss_fn: F) -> impl Fn(&M, &[Array]) -> Result<(O, Tree)>
where
    M: Module + Clone,
    F: Fn(&M, &[Array]) -> Result<O>,
    O: LossOutput,
{
    move |model: &M, args: &[Array]| {
        let params = model.trainable_parameters()?;
        let primals = params.leaves();
        let traced_model: RefCell<Option<M>> = RefCell::new(None);
        let f = |tracers: &[Array]| -> Result<Vec<Array>> {
            let m = with_parameters(model, &params.with_leaves(&mut tracers.iter().cloned())?)?;
            let mut outs = loss_fn(&m, args)?.into_arrays();
            for o in outs.iter_mut().skip(1) {
                *o = mx::stop_gradient(&*o)?;
            }
            *traced_model.borrow_mut() = Some(m);
            Ok(outs)
        };
        let (outs, grads) = mx::transforms::vjp(f, &primals, &[Array::scalar(1.0f32)])?;
        if let Some(m) = traced_model.into_inner() {
            copy_cells(model.as_dyn(), m.as_dyn());
        }
        let grads = params.with_leaves(&mut grads.into_iter())?;
        Ok((O::from_arrays(outs)?, grads))
    }
}

/// A copy of `model` holding `parameters` (a complete or partial tree shaped like
/// [`Module::parameters`]): the functional style of calling a model with explicit
/// parameters, for a loss given to the core `value_and_grad`. The model itself is untouched.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core::{self as mx, tree::Tree};
/// let layer = nn::Linear::from_weights(mx::array![[1.0f32]], None)?;
/// let doubled = Tree::dict([("weight", Tree::from(mx::array![[2.0f32]]))]);
/// let y = nn::with_parameters(&layer, &doubled)?.forward(&mx::array![[3.0f32]])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![6.0]);
/// assert_eq!(layer.weight.to_vec::<f32>()?, vec![1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn with_parameters<M: Module + Clone>(model: &M, parameters: &Tree) -> Result<M> {
    let mut m = model.clone();
    m.update(parameters, true)?;
    Ok(m)
}

/// `f(model, args)` with gradient checkpointing over the model's trainable parameters and
/// the arguments (MLX's `nn.utils.checkpoint(module, fn)`): its backward pass recomputes the
/// forward pass instead of keeping the intermediate arrays alive, trading compute for memory.
/// Call the returned function inside a loss, with the model that loss receives.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let layer = nn::Linear::from_weights(mx::array![[2.0f32]], None)?;
/// let block = nn::checkpoint(|m: &nn::Linear, x: &[mx::Array]| Ok(vec![mx::tanh(&m.forward(&x[0])?)?]));
/// let vg = nn::value_and_grad(move |m: &nn::Linear, x: &[mx::Array]| mx::sum(&block(m, x)?[0]));
/// let (_, g) = vg(&layer, &[mx::array![[0.5f32]]])?;
/// let t = 1f32.tanh();
/// let dw = g.get("weight").unwrap().as_array().unwrap().to_vec::<f32>()?[0];
/// assert!((dw - 0.5 * (1.0 - t * t)).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn checkpoint<M, F>(f: F) -> impl Fn(&M, &[Array]) -> Result<Vec<Array>>
where
    M: Module + Clone,
    F: Fn(&M, &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
{
    let f = std::sync::Arc::new(f);
    move |model: &M, args: &[Array]| {
        let params = model.trainable_parameters()?;
        let leaves = params.leaves();
        let n = leaves.len();
        let (model, f) = (model.clone(), f.clone());
        let inner = mx::checkpoint(move |xs: &[Array]| {
            let m = with_parameters(&model, &params.with_leaves(&mut xs[..n].iter().cloned())?)?;
            f(&m, &xs[n..])
        });
        let mut inputs = leaves;
        inputs.extend(args.iter().cloned());
        inner(&inputs)
    }
}

/// Copies the arrays of `src`'s cells into `dst`'s (two models of the same structure).
fn copy_cells(dst: &dyn Module, src: &dyn Module) {
    let src_members = src.members();
    for (k, d) in dst.members() {
        if let Some((_, s)) = src_members.iter().find(|(sk, _)| *sk == k) {
            copy_member_cells(&d, s);
        }
    }
}

fn copy_member_cells(dst: &Member<'_>, src: &Member<'_>) {
    match (dst, src) {
        (Member::Cell(d), Member::Cell(s)) => d.set(s.get()),
        (Member::Module(d), Member::Module(s)) => copy_cells(*d, *s),
        (Member::List(d), Member::List(s)) => {
            for (d, s) in d.iter().zip(s) {
                copy_member_cells(d, s);
            }
        }
        (Member::Dict(d), Member::Dict(s)) => {
            for ((dk, d), (sk, s)) in d.iter().zip(s) {
                if dk == sk {
                    copy_member_cells(d, s);
                }
            }
        }
        _ => {}
    }
}
