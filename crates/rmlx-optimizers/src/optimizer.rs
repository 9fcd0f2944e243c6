//! The [`Optimizer`] interface, the per-parameter rules behind it ([`PerParameter`]) and the
//! learning-rate type ([`LearningRate`], a value or a [`Schedule`]).

use rmlx_core::tree::Tree;
use rmlx_core::{self as mx, Array, Error, Result};
use rmlx_nn::Module;
use std::fmt;
use std::sync::Arc;

/// A function of the step (a `uint64` scalar array) giving a value, such as a learning rate
/// (MLX's schedules are plain callables). Build one with [`Schedule::new`] or the functions of
/// [`crate::schedulers`].
///
/// ```
/// use rmlx_optimizers::Schedule;
/// use rmlx_core as mx;
/// let halve = Schedule::new(|step: &mx::Array| Ok(mx::power(0.5, step)?));
/// let v = halve.call(&mx::Array::scalar(2u64))?;
/// assert_eq!(v.item::<f32>()?, 0.25);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone)]
pub struct Schedule(Arc<ScheduleFn>);

/// The function behind a [`Schedule`].
type ScheduleFn = dyn Fn(&Array) -> Result<Array> + Send + Sync;

impl Schedule {
    /// A schedule computing its value with `f`.
    pub fn new(f: impl Fn(&Array) -> Result<Array> + Send + Sync + 'static) -> Schedule {
        Schedule(Arc::new(f))
    }

    /// The value at `step`.
    pub fn call(&self, step: &Array) -> Result<Array> {
        (self.0)(step)
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Schedule")
    }
}

/// A learning rate: a value (kept as an array, float32 for a Rust float) or a [`Schedule`]
/// evaluated at the step before each update.
///
/// ```
/// use rmlx_optimizers::{LearningRate, schedulers};
/// let fixed: LearningRate = 0.1.into();
/// let scheduled: LearningRate = schedulers::exponential_decay(0.1, 0.9).into();
/// assert!(matches!(fixed, LearningRate::Value(_)));
/// assert!(matches!(scheduled, LearningRate::Schedule(_)));
/// ```
#[derive(Clone, Debug)]
pub enum LearningRate {
    /// A fixed value (any dtype; MLX's `mx.array(lr)`).
    Value(Array),
    /// A function of the step.
    Schedule(Schedule),
}

impl From<f64> for LearningRate {
    fn from(v: f64) -> Self {
        LearningRate::Value(Array::scalar(v as f32))
    }
}

impl From<f32> for LearningRate {
    fn from(v: f32) -> Self {
        LearningRate::Value(Array::scalar(v))
    }
}

impl From<Array> for LearningRate {
    fn from(v: Array) -> Self {
        LearningRate::Value(v)
    }
}

impl From<&Array> for LearningRate {
    fn from(v: &Array) -> Self {
        LearningRate::Value(v.clone())
    }
}

impl From<Schedule> for LearningRate {
    fn from(s: Schedule) -> Self {
        LearningRate::Schedule(s)
    }
}

/// MLX's optimizer interface (`mlx.optimizers.Optimizer`).
///
/// The state is a tree (a dict) holding `"step"` (a `uint64` scalar), `"learning_rate"` (an
/// array) and, under each parameter's key path, that parameter's state (a dict such as
/// `{"m": .., "v": ..}`). `tree_flatten` of [`Optimizer::state`] saves with the same files
/// as weights; [`Optimizer::set_state`] with the loaded tree resumes the run.
///
/// ```
/// use rmlx_optimizers::{Optimizer, SGD, SgdOptions};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = SGD::with_options(0.1, &SgdOptions { momentum: 0.9, ..Default::default() })?;
/// let params = Tree::dict([("w", Tree::from(mx::array![1.0, 2.0]))]);
/// let grads = Tree::dict([("w", Tree::from(mx::array![1.0, 1.0]))]);
/// let params = opt.apply_gradients(&grads, &params)?;
/// assert_eq!(params.get("w").unwrap().as_array().unwrap().to_vec::<f32>()?, vec![0.9, 1.9]);
/// assert_eq!(opt.step().item::<u64>()?, 1);
/// let keys: Vec<String> = mx::tree::tree_flatten(&opt.state(), "").into_iter().map(|(k, _)| k).collect();
/// assert_eq!(keys, ["step", "learning_rate", "w.v"]);
/// # Ok::<(), mx::Error>(())
/// ```
pub trait Optimizer {
    /// Initialises the state for `parameters` (optional: the first update does it), keeping
    /// the state of parameters that have one already (MLX's `init`).
    fn init(&mut self, parameters: &Tree) -> Result<()>;

    /// Applies `gradients` to `parameters` and returns the updated parameters, in the
    /// structure of `gradients` (`parameters` may hold more). Advances the step.
    fn apply_gradients(&mut self, gradients: &Tree, parameters: &Tree) -> Result<Tree>;

    /// Applies `gradients` to the model's parameters and updates the model with them (MLX's
    /// `update(model, gradients)`).
    fn update(&mut self, model: &mut dyn Module, gradients: &Tree) -> Result<()> {
        let parameters = model.parameters()?;
        let updated = self.apply_gradients(gradients, &parameters)?;
        model.update(&updated, true)
    }

    /// The state tree (MLX's `optimizer.state`).
    fn state(&self) -> Tree;

    /// Replaces the state (a tree as [`Optimizer::state`] returns, for example loaded from a
    /// file); parameters missing from it are initialised at the next update.
    fn set_state(&mut self, state: Tree) -> Result<()>;

    /// The number of updates done (a `uint64` scalar array).
    fn step(&self) -> Array;

    /// The current learning rate.
    fn learning_rate(&self) -> Result<Array>;

    /// Sets the learning rate: a value replaces the current one (as in MLX, a schedule given
    /// at construction still sets it again at the next update), a schedule replaces the
    /// schedule and sets the learning rate at the current step.
    fn set_learning_rate(&mut self, learning_rate: LearningRate) -> Result<()>;
}

/// The step and learning rate an update reads (MLX's `self.step` and
/// `self.learning_rate` inside `apply_single`).
#[derive(Clone, Debug)]
pub struct StepContext {
    /// The step, already advanced for this update (1 at the first update).
    pub step: Array,
    /// The learning rate, when the optimizer has one.
    pub learning_rate: Option<Array>,
}

impl StepContext {
    /// The learning rate, or an error for an optimizer without one.
    pub fn learning_rate(&self) -> Result<Array> {
        self.learning_rate
            .clone()
            .ok_or_else(|| Error::key("'learning_rate'"))
    }
}

/// The state the optimizers share: the state dict (step, learning rate, per-parameter
/// states), the schedules and whether the state is initialised.
///
/// ```
/// use rmlx_optimizers::OptimizerBase;
/// let base = OptimizerBase::new();
/// assert_eq!(base.step().item::<u64>()?, 0);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OptimizerBase {
    state: Tree,
    schedulers: Vec<(String, Schedule)>,
    initialized: bool,
}

impl Default for OptimizerBase {
    fn default() -> Self {
        Self::new()
    }
}

impl OptimizerBase {
    /// A state holding only `step = 0`.
    pub fn new() -> OptimizerBase {
        OptimizerBase {
            state: Tree::dict([("step", Tree::from(Array::scalar(0u64)))]),
            schedulers: Vec::new(),
            initialized: false,
        }
    }

    /// Sets the state entry `name` to a value, or to a schedule's value at the current step
    /// (keeping the schedule to update it before each update): MLX's `_maybe_schedule`.
    pub fn maybe_schedule(&mut self, name: &str, param: LearningRate) -> Result<()> {
        let value = match param {
            LearningRate::Value(v) => v,
            LearningRate::Schedule(s) => {
                let v = s.call(&self.step())?;
                match self.schedulers.iter_mut().find(|(k, _)| k == name) {
                    Some((_, old)) => *old = s,
                    None => self.schedulers.push((name.to_string(), s)),
                }
                v
            }
        };
        self.set(name, value);
        Ok(())
    }

    /// The top-level state array `name` (`"step"`, `"learning_rate"`).
    pub fn get(&self, name: &str) -> Option<&Array> {
        self.state.get(name).and_then(Tree::as_array)
    }

    /// Sets the top-level state entry `name`.
    pub fn set(&mut self, name: &str, value: Array) {
        if let Tree::Dict(items) = &mut self.state {
            match items.iter_mut().find(|(k, _)| k == name) {
                Some((_, v)) => *v = Tree::Array(value),
                None => items.push((name.to_string(), Tree::Array(value))),
            }
        }
    }

    /// The step (0 before the first update).
    pub fn step(&self) -> Array {
        self.get("step")
            .cloned()
            .unwrap_or_else(|| Array::scalar(0u64))
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> Result<Array> {
        self.get("learning_rate")
            .cloned()
            .ok_or_else(|| Error::key("'learning_rate'"))
    }

    /// The state tree.
    pub fn state(&self) -> &Tree {
        &self.state
    }

    /// Replaces the state tree (it must be a dict); the next update initialises what it lacks.
    pub fn set_state(&mut self, state: Tree) -> Result<()> {
        if !matches!(state, Tree::Dict(_)) {
            return Err(Error::value(
                "[Optimizer] The state must be a dict (a tree as `state()` returns).",
            ));
        }
        self.state = state;
        self.initialized = false;
        Ok(())
    }
}

/// An optimizer defined by its per-parameter rule, as MLX's `Optimizer` subclasses are
/// (`init_single` and `apply_single`): every such type is an [`Optimizer`].
///
/// ```
/// use rmlx_optimizers::{Optimizer, OptimizerBase, PerParameter, StepContext};
/// use rmlx_core::{self as mx, tree::Tree};
///
/// /// Plain gradient descent with a fixed rate.
/// struct Descent(OptimizerBase);
///
/// impl PerParameter for Descent {
///     fn base(&self) -> &OptimizerBase { &self.0 }
///     fn base_mut(&mut self) -> &mut OptimizerBase { &mut self.0 }
///     fn init_single(&self, _: &mx::Array, _: &mut Tree) -> mx::Result<()> { Ok(()) }
///     fn apply_single(&self, ctx: &StepContext, g: &mx::Array, p: &mx::Array, _: &mut Tree)
///         -> mx::Result<mx::Array> {
///         Ok(p - &(&ctx.learning_rate()? * g))
///     }
/// }
///
/// let mut base = OptimizerBase::new();
/// base.maybe_schedule("learning_rate", 0.5.into())?;
/// let mut opt = Descent(base);
/// let p = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
/// let out = opt.apply_gradients(&p, &p)?;
/// assert_eq!(out.get("w").unwrap().as_array().unwrap().item::<f32>()?, 0.5);
/// # Ok::<(), mx::Error>(())
/// ```
pub trait PerParameter {
    /// The shared state.
    fn base(&self) -> &OptimizerBase;
    /// The shared state, mutably.
    fn base_mut(&mut self) -> &mut OptimizerBase;
    /// Fills the (empty) state dict of one parameter (MLX's `init_single`).
    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()>;
    /// The updated parameter, updating its state dict (MLX's `apply_single`).
    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array>;
}

impl<T: PerParameter> Optimizer for T {
    fn init(&mut self, parameters: &Tree) -> Result<()> {
        let mut state = std::mem::replace(&mut self.base_mut().state, Tree::None);
        let result = (|| {
            if !matches!(parameters, Tree::Dict(_)) {
                return Err(Error::value(format!(
                    "[Optimizer] The parameters must be a dict of arrays, got a {}.",
                    kind(parameters)
                )));
            }
            merge_structure(parameters, &mut state);
            init_leaves(self, parameters, &mut state)
        })();
        self.base_mut().state = state;
        result?;
        self.base_mut().initialized = true;
        Ok(())
    }

    fn apply_gradients(&mut self, gradients: &Tree, parameters: &Tree) -> Result<Tree> {
        if !matches!(gradients, Tree::Dict(_)) {
            return Err(Error::value(format!(
                "[Optimizer] The gradients must be a dict of arrays, got a {}.",
                kind(gradients)
            )));
        }
        if !self.base().initialized {
            self.init(gradients)?;
        }
        let step = self.base().step();
        let scheduled: Vec<(String, Array)> = self
            .base()
            .schedulers
            .iter()
            .map(|(k, s)| Ok((k.clone(), s.call(&step)?)))
            .collect::<Result<_>>()?;
        for (k, v) in scheduled {
            self.base_mut().set(&k, v);
        }
        let step = mx::add(&step, 1)?;
        self.base_mut().set("step", step.clone());
        let ctx = StepContext {
            step,
            learning_rate: self.base().get("learning_rate").cloned(),
        };
        let mut state = std::mem::replace(&mut self.base_mut().state, Tree::None);
        let out = apply_tree(self, &ctx, gradients, parameters, &mut state, "");
        self.base_mut().state = state;
        out
    }

    fn state(&self) -> Tree {
        self.base().state.clone()
    }

    fn set_state(&mut self, state: Tree) -> Result<()> {
        self.base_mut().set_state(state)
    }

    fn step(&self) -> Array {
        self.base().step()
    }

    fn learning_rate(&self) -> Result<Array> {
        self.base().learning_rate()
    }

    fn set_learning_rate(&mut self, learning_rate: LearningRate) -> Result<()> {
        self.base_mut()
            .maybe_schedule("learning_rate", learning_rate)
    }
}

fn kind(t: &Tree) -> &'static str {
    match t {
        Tree::None => "None",
        Tree::Array(_) => "array",
        Tree::List(_) => "list",
        Tree::Tuple(_) => "tuple",
        Tree::Dict(_) => "dict",
    }
}

/// `tree` with every leaf replaced by an empty dict (a parameter without state yet).
fn empty_like(tree: &Tree) -> Tree {
    match tree {
        Tree::None | Tree::Array(_) => Tree::Dict(Vec::new()),
        Tree::List(v) => Tree::List(v.iter().map(empty_like).collect()),
        Tree::Tuple(v) => Tree::Tuple(v.iter().map(empty_like).collect()),
        Tree::Dict(items) => Tree::Dict(
            items
                .iter()
                .map(|(k, v)| (k.clone(), empty_like(v)))
                .collect(),
        ),
    }
}

/// Gives `state` the containers of `params` (MLX's `update_state` in `init`), keeping what it
/// holds already.
fn merge_structure(params: &Tree, state: &mut Tree) {
    match (params, &mut *state) {
        (Tree::Dict(items), Tree::Dict(st)) => {
            for (k, v) in items {
                match st.iter_mut().find(|(sk, _)| sk == k) {
                    Some((_, s)) => merge_structure(v, s),
                    None => st.push((k.clone(), empty_like(v))),
                }
            }
        }
        (Tree::List(items) | Tree::Tuple(items), Tree::List(st) | Tree::Tuple(st)) => {
            for (i, v) in items.iter().enumerate() {
                match st.get_mut(i) {
                    Some(s) => merge_structure(v, s),
                    None => st.push(empty_like(v)),
                }
            }
        }
        (Tree::Dict(_) | Tree::List(_) | Tree::Tuple(_), _) => *state = empty_like(params),
        _ => {}
    }
}

fn init_leaves<T: PerParameter + ?Sized>(opt: &T, params: &Tree, state: &mut Tree) -> Result<()> {
    match (params, state) {
        (Tree::Dict(items), Tree::Dict(st)) => {
            for (k, v) in items {
                if let Some((_, s)) = st.iter_mut().find(|(sk, _)| sk == k) {
                    init_leaves(opt, v, s)?;
                }
            }
            Ok(())
        }
        (Tree::List(items) | Tree::Tuple(items), Tree::List(st) | Tree::Tuple(st)) => {
            for (v, s) in items.iter().zip(st.iter_mut()) {
                init_leaves(opt, v, s)?;
            }
            Ok(())
        }
        (Tree::Array(p), s @ Tree::Dict(_)) => {
            if matches!(s, Tree::Dict(d) if d.is_empty()) {
                opt.init_single(p, s)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn mismatch(path: &str, what: &str) -> Error {
    Error::value(format!(
        "[Optimizer] The gradients do not match the parameters at '{path}': {what}."
    ))
}

/// MLX's `tree_map(apply_single, gradients, parameters, state)`.
fn apply_tree<T: PerParameter + ?Sized>(
    opt: &T,
    ctx: &StepContext,
    grads: &Tree,
    params: &Tree,
    state: &mut Tree,
    path: &str,
) -> Result<Tree> {
    match grads {
        Tree::Dict(items) => {
            let (Tree::Dict(p), Tree::Dict(s)) = (params, state) else {
                return Err(mismatch(
                    path,
                    &format!("a dict of gradients for a {}", kind(params)),
                ));
            };
            let mut out = Vec::with_capacity(items.len());
            for (k, g) in items {
                let sub = join(path, k);
                let pv = p
                    .iter()
                    .find(|(pk, _)| pk == k)
                    .map(|(_, v)| v)
                    .ok_or_else(|| mismatch(&sub, "no such parameter"))?;
                let sv = s
                    .iter_mut()
                    .find(|(sk, _)| sk == k)
                    .map(|(_, v)| v)
                    .ok_or_else(|| no_state(&sub))?;
                out.push((k.clone(), apply_tree(opt, ctx, g, pv, sv, &sub)?));
            }
            Ok(Tree::Dict(out))
        }
        Tree::List(items) | Tree::Tuple(items) => {
            let (Tree::List(p) | Tree::Tuple(p), Tree::List(s) | Tree::Tuple(s)) = (params, state)
            else {
                return Err(mismatch(
                    path,
                    &format!("a list of gradients for a {}", kind(params)),
                ));
            };
            if p.len() < items.len() {
                return Err(mismatch(
                    path,
                    &format!("{} gradients for {} parameters", items.len(), p.len()),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, g) in items.iter().enumerate() {
                let sub = join(path, &i.to_string());
                let sv = s.get_mut(i).ok_or_else(|| no_state(&sub))?;
                out.push(apply_tree(opt, ctx, g, &p[i], sv, &sub)?);
            }
            Ok(match grads {
                Tree::Tuple(_) => Tree::Tuple(out),
                _ => Tree::List(out),
            })
        }
        Tree::Array(g) => {
            let Tree::Array(p) = params else {
                return Err(mismatch(
                    path,
                    &format!("an array gradient for a {}", kind(params)),
                ));
            };
            if g.shape() != p.shape() {
                return Err(mismatch(
                    path,
                    &format!(
                        "a gradient of shape {:?} for a parameter of shape {:?}",
                        g.shape(),
                        p.shape()
                    ),
                ));
            }
            if !matches!(state, Tree::Dict(_)) {
                return Err(no_state(path));
            }
            Ok(Tree::Array(opt.apply_single(ctx, g, p, state)?))
        }
        Tree::None => Err(mismatch(path, "the gradient is None")),
    }
}

fn no_state(path: &str) -> Error {
    Error::value(format!(
        "[Optimizer] No optimizer state for the parameter '{path}' (the state was initialised \
         for other parameters; call init with these parameters)."
    ))
}

/// The array `key` of a parameter's state dict.
pub fn state_get(state: &Tree, key: &str) -> Result<Array> {
    state
        .get(key)
        .and_then(Tree::as_array)
        .cloned()
        .ok_or_else(|| Error::key(format!("'{key}'")))
}

/// Sets the array `key` of a parameter's state dict.
pub fn state_set(state: &mut Tree, key: &str, value: Array) {
    if let Tree::Dict(items) = state {
        match items.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = Tree::Array(value),
            None => items.push((key.to_string(), Tree::Array(value))),
        }
    }
}

/// Python's `repr` of a float, for error messages worded as MLX's.
pub(crate) use rmlx_nn::pyrepr::py_float;

#[cfg(test)]
mod tests {
    use super::py_float;

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.9), "0.9");
        assert_eq!(py_float(-0.5), "-0.5");
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(-1e-8), "-1e-08");
        assert_eq!(py_float(0.0), "0.0");
    }
}
