//! MLX's optimizers: each a [`PerParameter`] rule (so an [`crate::Optimizer`]), ported
//! operation by operation so float32 results match MLX's.

use crate::optimizer::{
    LearningRate, OptimizerBase, PerParameter, StepContext, py_float, state_get, state_set,
};
use rmlx_core::tree::Tree;
use rmlx_core::{self as mx, Array, Error, Result};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

macro_rules! per_parameter_base {
    () => {
        fn base(&self) -> &OptimizerBase {
            &self.base
        }
        fn base_mut(&mut self) -> &mut OptimizerBase {
            &mut self.base
        }
    };
}

fn with_lr(lr: LearningRate) -> Result<OptimizerBase> {
    let mut base = OptimizerBase::new();
    base.maybe_schedule("learning_rate", lr)?;
    Ok(base)
}

fn lr_as(ctx: &StepContext, g: &Array) -> Result<Array> {
    ctx.learning_rate()?.astype(g.dtype())
}

// ---------------------------------------------------------------------------------------------
// SGD

/// Options of [`SGD`] (MLX's defaults: all zero, no Nesterov).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SgdOptions {
    /// The momentum strength `mu`.
    pub momentum: f64,
    /// The weight decay (L2 penalty).
    pub weight_decay: f64,
    /// Dampening for momentum `tau`.
    pub dampening: f64,
    /// Nesterov momentum (needs a momentum and zero dampening).
    pub nesterov: bool,
}

/// Stochastic gradient descent (MLX's `SGD`): `v = mu v + (1 - tau) g`, `w = w - lr v`.
///
/// ```
/// use rmlx_optimizers::{Optimizer, SGD};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = SGD::new(0.5)?;
/// let p = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
/// let g = Tree::dict([("w", Tree::from(mx::array![2.0]))]);
/// let p = opt.apply_gradients(&g, &p)?;
/// assert_eq!(p.get("w").unwrap().as_array().unwrap().item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Debug)]
pub struct SGD {
    base: OptimizerBase,
    /// The options.
    pub options: SgdOptions,
}

impl SGD {
    /// SGD with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Result<SGD> {
        SGD::with_options(learning_rate, &SgdOptions::default())
    }

    /// SGD with `options` (MLX's error for Nesterov without momentum or with dampening).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: &SgdOptions,
    ) -> Result<SGD> {
        if options.nesterov && (options.momentum <= 0.0 || options.dampening != 0.0) {
            return Err(Error::value(
                "Nesterov momentum requires a momentum and zero dampening.",
            ));
        }
        Ok(SGD {
            base: with_lr(learning_rate.into())?,
            options: options.clone(),
        })
    }
}

impl PerParameter for SGD {
    per_parameter_base!();

    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()> {
        state_set(state, "v", mx::zeros_like(parameter)?);
        Ok(())
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array> {
        let o = &self.options;
        let mut gradient = gradient.clone();
        if o.weight_decay != 0.0 {
            gradient = mx::add(&gradient, mx::multiply(o.weight_decay, parameter)?)?;
        }
        let lr = lr_as(ctx, &gradient)?;
        if o.momentum <= 0.0 {
            return mx::subtract(parameter, mx::multiply(&lr, &gradient)?);
        }
        let mut v = mx::multiply(o.momentum, &state_get(state, "v")?)?;
        if o.dampening > 0.0 {
            v = mx::add(&v, mx::multiply(1.0 - o.dampening, &gradient)?)?;
        } else {
            v = mx::add(&v, &gradient)?;
        }
        let update = if o.nesterov {
            mx::add(&gradient, mx::multiply(o.momentum, &v)?)?
        } else {
            v.clone()
        };
        state_set(state, "v", v);
        mx::subtract(parameter, mx::multiply(&lr, &update)?)
    }
}

// ---------------------------------------------------------------------------------------------
// RMSprop

/// Options of [`RMSprop`].
#[derive(Clone, Debug, PartialEq)]
pub struct RmspropOptions {
    /// The smoothing constant `alpha` (default 0.99).
    pub alpha: f64,
    /// Added to the denominator (default 1e-8).
    pub eps: f64,
}

impl Default for RmspropOptions {
    fn default() -> Self {
        RmspropOptions {
            alpha: 0.99,
            eps: 1e-8,
        }
    }
}

/// RMSprop (MLX's `RMSprop`): `v = alpha v + (1 - alpha) g^2`, `w = w - lr g / (sqrt(v) + eps)`.
///
/// ```
/// use rmlx_optimizers::{Optimizer, RMSprop};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = RMSprop::new(0.01)?;
/// let p = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
/// let p = opt.apply_gradients(&p.clone(), &p)?;
/// assert!(p.get("w").unwrap().as_array().unwrap().item::<f32>()? < 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RMSprop {
    base: OptimizerBase,
    /// The options.
    pub options: RmspropOptions,
}

impl RMSprop {
    /// RMSprop with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Result<RMSprop> {
        RMSprop::with_options(learning_rate, &RmspropOptions::default())
    }

    /// RMSprop with `options` (`alpha >= 0`, `eps > 0`, as MLX checks).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: &RmspropOptions,
    ) -> Result<RMSprop> {
        let base = with_lr(learning_rate.into())?;
        if options.alpha < 0.0 {
            return Err(Error::value(format!(
                "RMSprop alpha should be >=0, {} was provided instead",
                py_float(options.alpha)
            )));
        }
        if options.eps <= 0.0 {
            return Err(Error::value(format!(
                "RMSprop epsilon should be >0, {} was provided instead",
                py_float(options.eps)
            )));
        }
        Ok(RMSprop {
            base,
            options: options.clone(),
        })
    }
}

impl PerParameter for RMSprop {
    per_parameter_base!();

    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()> {
        state_set(state, "v", mx::zeros_like(parameter)?);
        Ok(())
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array> {
        let lr = lr_as(ctx, gradient)?;
        let (alpha, eps) = (self.options.alpha, self.options.eps);
        let v = state_get(state, "v")?;
        let v = mx::add(
            mx::multiply(alpha, &v)?,
            mx::multiply(1.0 - alpha, mx::square(gradient)?)?,
        )?;
        state_set(state, "v", v.clone());
        let num = mx::multiply(&lr, gradient)?;
        mx::subtract(parameter, mx::divide(num, mx::add(mx::sqrt(&v)?, eps)?)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Adagrad

/// Options of [`Adagrad`].
#[derive(Clone, Debug, PartialEq)]
pub struct AdagradOptions {
    /// Added to the denominator (default 1e-8).
    pub eps: f64,
}

impl Default for AdagradOptions {
    fn default() -> Self {
        AdagradOptions { eps: 1e-8 }
    }
}

/// Adagrad (MLX's `Adagrad`): `v = v + g^2`, `w = w - lr g / (sqrt(v) + eps)`.
///
/// ```
/// use rmlx_optimizers::{Optimizer, Adagrad};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = Adagrad::new(0.1)?;
/// let p = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
/// let p = opt.apply_gradients(&p.clone(), &p)?;
/// assert!((p.get("w").unwrap().as_array().unwrap().item::<f32>()? - 0.9).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adagrad {
    base: OptimizerBase,
    /// The options.
    pub options: AdagradOptions,
}

impl Adagrad {
    /// Adagrad with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Result<Adagrad> {
        Adagrad::with_options(learning_rate, &AdagradOptions::default())
    }

    /// Adagrad with `options` (`eps > 0`).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: &AdagradOptions,
    ) -> Result<Adagrad> {
        let base = with_lr(learning_rate.into())?;
        if options.eps <= 0.0 {
            return Err(Error::value(format!(
                "Adagrad epsilon should be >0, {} was provided instead",
                py_float(options.eps)
            )));
        }
        Ok(Adagrad {
            base,
            options: options.clone(),
        })
    }
}

impl PerParameter for Adagrad {
    per_parameter_base!();

    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()> {
        state_set(state, "v", mx::zeros_like(parameter)?);
        Ok(())
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array> {
        let lr = lr_as(ctx, gradient)?;
        let v = mx::add(&state_get(state, "v")?, mx::square(gradient)?)?;
        state_set(state, "v", v.clone());
        let num = mx::multiply(&lr, gradient)?;
        mx::subtract(
            parameter,
            mx::divide(num, mx::add(mx::sqrt(&v)?, self.options.eps)?)?,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// AdaDelta

/// Options of [`AdaDelta`].
#[derive(Clone, Debug, PartialEq)]
pub struct AdaDeltaOptions {
    /// The running-average coefficient `rho` (default 0.9).
    pub rho: f64,
    /// Added inside the square roots (default 1e-6).
    pub eps: f64,
}

impl Default for AdaDeltaOptions {
    fn default() -> Self {
        AdaDeltaOptions {
            rho: 0.9,
            eps: 1e-6,
        }
    }
}

/// AdaDelta with a learning rate (MLX's `AdaDelta`).
///
/// ```
/// use rmlx_optimizers::{Optimizer, AdaDelta};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = AdaDelta::new(1.0)?;
/// let p = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
/// let p = opt.apply_gradients(&p.clone(), &p)?;
/// assert!(p.get("w").unwrap().as_array().unwrap().item::<f32>()? < 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AdaDelta {
    base: OptimizerBase,
    /// The options.
    pub options: AdaDeltaOptions,
}

impl AdaDelta {
    /// AdaDelta with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Result<AdaDelta> {
        AdaDelta::with_options(learning_rate, &AdaDeltaOptions::default())
    }

    /// AdaDelta with `options` (`rho >= 0`, `eps > 0`).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: &AdaDeltaOptions,
    ) -> Result<AdaDelta> {
        let base = with_lr(learning_rate.into())?;
        if options.rho < 0.0 {
            return Err(Error::value(format!(
                "AdaDelta rho should be >=0, {} was provided instead",
                py_float(options.rho)
            )));
        }
        if options.eps <= 0.0 {
            return Err(Error::value(format!(
                "AdaDelta epsilon should be >0, {} was provided instead",
                py_float(options.eps)
            )));
        }
        Ok(AdaDelta {
            base,
            options: options.clone(),
        })
    }
}

impl PerParameter for AdaDelta {
    per_parameter_base!();

    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()> {
        state_set(state, "v", mx::zeros_like(parameter)?);
        state_set(state, "u", mx::zeros_like(parameter)?);
        Ok(())
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array> {
        let lr = lr_as(ctx, gradient)?;
        let (rho, eps) = (self.options.rho, self.options.eps);
        let v = state_get(state, "v")?;
        let u = state_get(state, "u")?;
        let v = mx::add(
            mx::multiply(rho, &v)?,
            mx::multiply(1.0 - rho, mx::square(gradient)?)?,
        )?;
        let d = mx::multiply(
            mx::divide(mx::sqrt(mx::add(&u, eps)?)?, mx::sqrt(mx::add(&v, eps)?)?)?,
            gradient,
        )?;
        let u = mx::add(
            mx::multiply(rho, &u)?,
            mx::multiply(1.0 - rho, mx::square(&d)?)?,
        )?;
        state_set(state, "v", v);
        state_set(state, "u", u);
        mx::subtract(parameter, mx::multiply(&lr, &d)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Adam, AdamW, Adamax

/// Options of [`Adam`] (and of [`Adamax`], which ignores `bias_correction`).
#[derive(Clone, Debug, PartialEq)]
pub struct AdamOptions {
    /// `(beta1, beta2)`, each in `[0, 1)` (default `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to the denominator (default 1e-8).
    pub eps: f64,
    /// Bias correction (default false).
    pub bias_correction: bool,
}

impl Default for AdamOptions {
    fn default() -> Self {
        AdamOptions {
            betas: (0.9, 0.999),
            eps: 1e-8,
            bias_correction: false,
        }
    }
}

fn check_betas(name: &str, betas: (f64, f64)) -> Result<()> {
    for (i, beta) in [betas.0, betas.1].into_iter().enumerate() {
        if !(0.0..1.0).contains(&beta) {
            return Err(Error::value(format!(
                "{name} beta{} should be in [0, 1), {} was provided instead",
                i + 1,
                py_float(beta)
            )));
        }
    }
    Ok(())
}

fn check_adam(options: &AdamOptions) -> Result<()> {
    check_betas("Adam", options.betas)?;
    // `not 0.0 <= eps`: NaN fails too.
    if options.eps.is_nan() || options.eps < 0.0 {
        return Err(Error::value(format!(
            "Adam epsilon should be >=0, {} was provided instead",
            py_float(options.eps)
        )));
    }
    Ok(())
}

/// Adam (MLX's `Adam`, bias correction optional and off by default).
///
/// ```
/// use rmlx_optimizers::{Optimizer, Adam};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = Adam::new(0.1)?;
/// let p = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
/// let p = opt.apply_gradients(&p.clone(), &p)?;
/// // m = 0.1, v = 0.001: w = 1 - 0.1 * 0.1 / sqrt(0.001)
/// assert!((p.get("w").unwrap().as_array().unwrap().item::<f32>()? - 0.6837722).abs() < 1e-5);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    base: OptimizerBase,
    /// The options.
    pub options: AdamOptions,
}

impl Adam {
    /// Adam with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Result<Adam> {
        Adam::with_options(learning_rate, &AdamOptions::default())
    }

    /// Adam with `options` (betas in `[0, 1)`, `eps >= 0`).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: &AdamOptions,
    ) -> Result<Adam> {
        check_adam(options)?;
        Ok(Adam {
            base: with_lr(learning_rate.into())?,
            options: options.clone(),
        })
    }
}

fn adam_init(parameter: &Array, state: &mut Tree) -> Result<()> {
    state_set(state, "m", mx::zeros_like(parameter)?);
    state_set(state, "v", mx::zeros_like(parameter)?);
    Ok(())
}

/// Adam's elementwise rule on `[gradient, parameter, m, v, s1(, s2)]`: returns `[m', v',
/// parameter']`. Without bias correction `s1` is the learning rate; with it, `s1` and `s2` are
/// the corrections `lr / (1 - b1^t)` and `rsqrt(1 - b2^t)`. MLX's operations, in its order.
fn adam_rule(b1: f64, b2: f64, eps: f64, xs: &[Array]) -> Result<Vec<Array>> {
    let (g, p, m, v) = (&xs[0], &xs[1], &xs[2], &xs[3]);
    let m = mx::add(mx::multiply(b1, m)?, mx::multiply(1.0 - b1, g)?)?;
    let v = mx::add(
        mx::multiply(b2, v)?,
        mx::multiply(1.0 - b2, mx::square(g)?)?,
    )?;
    let p = if let Some(c2) = xs.get(5) {
        let numerator = mx::multiply(&xs[4], &m)?;
        let denominator = mx::add(mx::multiply(mx::sqrt(&v)?, c2)?, eps)?;
        mx::subtract(p, mx::divide(numerator, denominator)?)?
    } else {
        let num = mx::multiply(&xs[4], &m)?;
        mx::subtract(p, mx::divide(num, mx::add(mx::sqrt(&v)?, eps)?)?)?
    };
    Ok(vec![m, v, p])
}

/// A compiled rule: one call per parameter.
type CompiledRule = Rc<dyn Fn(&[Array]) -> Result<Vec<Array>>>;

thread_local! {
    /// Adam's rule compiled once per (betas, eps, bias correction), on this thread.
    static ADAM_RULES: RefCell<HashMap<(u64, u64, u64, bool), CompiledRule>> =
        RefCell::new(HashMap::new());
}

/// Runs [`adam_rule`]: through `compile` for float32 parameters, where the update then runs
/// as one fused elementwise pass (reading the gradient, parameter, m and v once, writing the
/// three new values) instead of about a dozen separate ones, with the same kernels and so the
/// same results; plainly otherwise.
fn run_adam_rule(b1: f64, b2: f64, eps: f64, xs: &[Array]) -> Result<Vec<Array>> {
    let fusible = xs[..4]
        .iter()
        .all(|x| x.dtype() == mx::float32 && x.shape() == xs[0].shape());
    if !fusible {
        return adam_rule(b1, b2, eps, xs);
    }
    let key = (b1.to_bits(), b2.to_bits(), eps.to_bits(), xs.len() == 6);
    let rule = ADAM_RULES.with(|rules| {
        rules
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| {
                let f = mx::compile(move |xs: &[Array]| adam_rule(b1, b2, eps, xs));
                Rc::new(f) as CompiledRule
            })
            .clone()
    });
    rule(xs)
}

fn adam_apply(
    options: &AdamOptions,
    ctx: &StepContext,
    gradient: &Array,
    parameter: &Array,
    state: &mut Tree,
) -> Result<Array> {
    let lr = lr_as(ctx, gradient)?;
    let (b1, b2) = options.betas;
    let eps = options.eps;
    let m = state_get(state, "m")?;
    let v = state_get(state, "v")?;
    let mut xs = vec![gradient.clone(), parameter.clone(), m, v];
    if options.bias_correction {
        let step = &ctx.step;
        let c1 =
            mx::divide(&lr, mx::subtract(1, mx::power(b1, step)?)?)?.astype(gradient.dtype())?;
        let c2 = mx::rsqrt(mx::subtract(1, mx::power(b2, step)?)?)?.astype(gradient.dtype())?;
        xs.extend([c1, c2]);
    } else {
        xs.push(lr);
    }
    let mut out = run_adam_rule(b1, b2, eps, &xs)?;
    let p = out.pop().expect("three outputs");
    let v = out.pop().expect("three outputs");
    let m = out.pop().expect("three outputs");
    state_set(state, "m", m);
    state_set(state, "v", v);
    Ok(p)
}

impl PerParameter for Adam {
    per_parameter_base!();

    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()> {
        adam_init(parameter, state)
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array> {
        adam_apply(&self.options, ctx, gradient, parameter, state)
    }
}

/// Options of [`AdamW`].
#[derive(Clone, Debug, PartialEq)]
pub struct AdamWOptions {
    /// `(beta1, beta2)` (default `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to the denominator (default 1e-8).
    pub eps: f64,
    /// The decoupled weight decay (default 0.01).
    pub weight_decay: f64,
    /// Bias correction (default false).
    pub bias_correction: bool,
}

impl Default for AdamWOptions {
    fn default() -> Self {
        AdamWOptions {
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.01,
            bias_correction: false,
        }
    }
}

/// AdamW (MLX's `AdamW`): Adam on `w (1 - lr weight_decay)`.
///
/// ```
/// use rmlx_optimizers::{Optimizer, AdamW};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = AdamW::new(0.1)?;
/// let p = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
/// let g = Tree::dict([("w", Tree::from(mx::array![0.0]))]);
/// let p = opt.apply_gradients(&g, &p)?;
/// assert!((p.get("w").unwrap().as_array().unwrap().item::<f32>()? - 0.999).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AdamW {
    base: OptimizerBase,
    adam: AdamOptions,
    /// The decoupled weight decay.
    pub weight_decay: f64,
}

impl AdamW {
    /// AdamW with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Result<AdamW> {
        AdamW::with_options(learning_rate, &AdamWOptions::default())
    }

    /// AdamW with `options` (Adam's checks).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: &AdamWOptions,
    ) -> Result<AdamW> {
        let adam = AdamOptions {
            betas: options.betas,
            eps: options.eps,
            bias_correction: options.bias_correction,
        };
        check_adam(&adam)?;
        Ok(AdamW {
            base: with_lr(learning_rate.into())?,
            adam,
            weight_decay: options.weight_decay,
        })
    }
}

impl PerParameter for AdamW {
    per_parameter_base!();

    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()> {
        adam_init(parameter, state)
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array> {
        let lr = lr_as(ctx, gradient)?;
        let decayed = mx::multiply(
            parameter,
            mx::subtract(1, mx::multiply(&lr, self.weight_decay)?)?,
        )?;
        adam_apply(&self.adam, ctx, gradient, &decayed, state)
    }
}

/// Options of [`Adamax`].
#[derive(Clone, Debug, PartialEq)]
pub struct AdamaxOptions {
    /// `(beta1, beta2)` (default `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to the denominator (default 1e-8).
    pub eps: f64,
}

impl Default for AdamaxOptions {
    fn default() -> Self {
        AdamaxOptions {
            betas: (0.9, 0.999),
            eps: 1e-8,
        }
    }
}

/// Adamax, Adam with the infinity norm (MLX's `Adamax`).
///
/// ```
/// use rmlx_optimizers::{Optimizer, Adamax};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = Adamax::new(0.1)?;
/// let p = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
/// let p = opt.apply_gradients(&p.clone(), &p)?;
/// assert!((p.get("w").unwrap().as_array().unwrap().item::<f32>()? - 0.99).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adamax {
    base: OptimizerBase,
    /// The options.
    pub options: AdamaxOptions,
}

impl Adamax {
    /// Adamax with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Result<Adamax> {
        Adamax::with_options(learning_rate, &AdamaxOptions::default())
    }

    /// Adamax with `options` (Adam's checks and messages, as in MLX).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: &AdamaxOptions,
    ) -> Result<Adamax> {
        check_adam(&AdamOptions {
            betas: options.betas,
            eps: options.eps,
            bias_correction: false,
        })?;
        Ok(Adamax {
            base: with_lr(learning_rate.into())?,
            options: options.clone(),
        })
    }
}

impl PerParameter for Adamax {
    per_parameter_base!();

    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()> {
        adam_init(parameter, state)
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array> {
        let lr = lr_as(ctx, gradient)?;
        let (b1, b2) = self.options.betas;
        let m = state_get(state, "m")?;
        let v = state_get(state, "v")?;
        let m = mx::add(mx::multiply(b1, &m)?, mx::multiply(1.0 - b1, gradient)?)?;
        let v = mx::maximum(mx::multiply(b2, &v)?, mx::abs(gradient)?)?;
        state_set(state, "m", m.clone());
        state_set(state, "v", v.clone());
        let num = mx::multiply(&lr, &m)?;
        mx::subtract(parameter, mx::divide(num, mx::add(&v, self.options.eps)?)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Lion

/// Options of [`Lion`].
#[derive(Clone, Debug, PartialEq)]
pub struct LionOptions {
    /// `(beta1, beta2)`, each in `[0, 1)` (default `(0.9, 0.99)`).
    pub betas: (f64, f64),
    /// The weight decay (default 0).
    pub weight_decay: f64,
}

impl Default for LionOptions {
    fn default() -> Self {
        LionOptions {
            betas: (0.9, 0.99),
            weight_decay: 0.0,
        }
    }
}

/// Lion (MLX's `Lion`): `w = w - lr (sign(b1 m + (1 - b1) g) + wd w)`.
///
/// ```
/// use rmlx_optimizers::{Optimizer, Lion};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = Lion::new(0.1)?;
/// let p = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
/// let g = Tree::dict([("w", Tree::from(mx::array![-3.0]))]);
/// let p = opt.apply_gradients(&g, &p)?;
/// assert!((p.get("w").unwrap().as_array().unwrap().item::<f32>()? - 1.1).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Lion {
    base: OptimizerBase,
    /// The options.
    pub options: LionOptions,
}

impl Lion {
    /// Lion with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Result<Lion> {
        Lion::with_options(learning_rate, &LionOptions::default())
    }

    /// Lion with `options` (betas in `[0, 1)`).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: &LionOptions,
    ) -> Result<Lion> {
        check_betas("Lion", options.betas)?;
        Ok(Lion {
            base: with_lr(learning_rate.into())?,
            options: options.clone(),
        })
    }
}

impl PerParameter for Lion {
    per_parameter_base!();

    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()> {
        state_set(state, "m", mx::zeros_like(parameter)?);
        Ok(())
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array> {
        let lr = lr_as(ctx, gradient)?;
        let (b1, b2) = self.options.betas;
        let wd = self.options.weight_decay;
        let m = state_get(state, "m")?;
        let c = mx::add(mx::multiply(b1, &m)?, mx::multiply(1.0 - b1, gradient)?)?;
        state_set(
            state,
            "m",
            mx::add(mx::multiply(b2, &m)?, mx::multiply(1.0 - b2, gradient)?)?,
        );
        let mut parameter = parameter.clone();
        if wd > 0.0 {
            parameter = mx::multiply(mx::subtract(1, mx::multiply(&lr, wd)?)?, &parameter)?;
        }
        mx::subtract(&parameter, mx::multiply(&lr, mx::sign(&c)?)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Adafactor

/// Options of [`Adafactor`] (MLX's defaults).
#[derive(Clone, Debug)]
pub struct AdafactorOptions {
    /// The learning rate, used only without `relative_step` (default none).
    pub learning_rate: Option<LearningRate>,
    /// `(eps1, eps2)`: added to the squared gradients, and the floor of the parameter scale
    /// (default `(1e-30, 1e-3)`).
    pub eps: (f64, f64),
    /// Clips the unscaled update at this RMS (default 1).
    pub clip_threshold: f64,
    /// The exponent of the squared-gradient average's decay (default -0.8).
    pub decay_rate: f64,
    /// With a value, a first moment with this coefficient is kept (default none).
    pub beta_1: Option<f64>,
    /// The weight decay (default 0).
    pub weight_decay: f64,
    /// Scales the step by the parameter's RMS (default true).
    pub scale_parameter: bool,
    /// Ignores the learning rate and uses a relative step size (default true).
    pub relative_step: bool,
    /// The relative step grows with the step (default false).
    pub warmup_init: bool,
}

impl Default for AdafactorOptions {
    fn default() -> Self {
        AdafactorOptions {
            learning_rate: None,
            eps: (1e-30, 1e-3),
            clip_threshold: 1.0,
            decay_rate: -0.8,
            beta_1: None,
            weight_decay: 0.0,
            scale_parameter: true,
            relative_step: true,
            warmup_init: false,
        }
    }
}

/// Adafactor (MLX's `Adafactor`): factored second moments for matrices, all options.
///
/// ```
/// use rmlx_optimizers::{Optimizer, Adafactor};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = Adafactor::new()?;
/// let p = Tree::dict([("w", Tree::from(mx::ones(&[2, 3], mx::float32)?))]);
/// let p2 = opt.apply_gradients(&p.clone(), &p)?;
/// assert_eq!(p2.get("w").unwrap().as_array().unwrap().shape(), &[2, 3]);
/// let keys: Vec<String> = mx::tree::tree_flatten(&opt.state(), "").into_iter().map(|(k, _)| k).collect();
/// assert_eq!(keys, ["step", "w.exp_avg_sq_row", "w.exp_avg_sq_col"]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adafactor {
    base: OptimizerBase,
    /// The options (the learning rate lives in the state).
    pub options: AdafactorOptions,
}

impl Adafactor {
    /// Adafactor with MLX's defaults (relative step, no learning rate).
    pub fn new() -> Result<Adafactor> {
        Adafactor::with_options(&AdafactorOptions::default())
    }

    /// Adafactor with `options`.
    pub fn with_options(options: &AdafactorOptions) -> Result<Adafactor> {
        let mut base = OptimizerBase::new();
        if let Some(lr) = &options.learning_rate {
            base.maybe_schedule("learning_rate", lr.clone())?;
        }
        Ok(Adafactor {
            base,
            options: options.clone(),
        })
    }

    fn rms(x: &Array) -> Result<Array> {
        mx::sqrt(mx::mean(mx::square(x)?)?)
    }

    fn compute_learning_rate(&self, ctx: &StepContext, parameter_rms: &Array) -> Result<Array> {
        let o = &self.options;
        let step = &ctx.step;
        let relative = if o.relative_step {
            let rs = mx::rsqrt(step)?;
            if o.warmup_init {
                mx::minimum(mx::multiply(1e-6, step)?, &rs)?
            } else {
                mx::minimum(1e-2, &rs)?
            }
        } else {
            ctx.learning_rate()?
        };
        let relative = relative.astype(parameter_rms.dtype())?;
        if o.scale_parameter {
            mx::multiply(mx::maximum(o.eps.1, parameter_rms)?, &relative)
        } else {
            mx::multiply(1.0, &relative)
        }
    }
}

impl PerParameter for Adafactor {
    per_parameter_base!();

    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()> {
        let shape = parameter.shape();
        if shape.len() >= 2 {
            let dtype = parameter.dtype();
            let row = &shape[..shape.len() - 1];
            let mut col = shape[..shape.len() - 2].to_vec();
            col.push(shape[shape.len() - 1]);
            state_set(state, "exp_avg_sq_row", mx::zeros(row, dtype)?);
            state_set(state, "exp_avg_sq_col", mx::zeros(&col, dtype)?);
        } else {
            state_set(state, "exp_avg_sq", mx::zeros_like(parameter)?);
        }
        if self.options.beta_1.is_some() {
            state_set(state, "exp_avg", mx::zeros_like(parameter)?);
        }
        Ok(())
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array> {
        let o = &self.options;
        let factored = gradient.ndim() >= 2;
        let step = &ctx.step;
        let parameter_rms = Self::rms(parameter)?;
        let learning_rate = self.compute_learning_rate(ctx, &parameter_rms)?;
        let beta_2 = mx::subtract(
            1.0,
            mx::power(step, o.decay_rate)?.astype(parameter_rms.dtype())?,
        )?;
        let one_minus = mx::subtract(1, &beta_2)?;
        let mut update = mx::add(mx::square(gradient)?, o.eps.0)?;
        if factored {
            let row = state_get(state, "exp_avg_sq_row")?;
            let col = state_get(state, "exp_avg_sq_col")?;
            let row = mx::add(
                mx::multiply(&beta_2, &row)?,
                mx::multiply(&one_minus, mx::mean_axes(&update, -1, false)?)?,
            )?;
            let col = mx::add(
                mx::multiply(&beta_2, &col)?,
                mx::multiply(&one_minus, mx::mean_axes(&update, -2, false)?)?,
            )?;
            state_set(state, "exp_avg_sq_row", row.clone());
            state_set(state, "exp_avg_sq_col", col.clone());
            let r_factor = mx::rsqrt(mx::divide(&row, mx::mean_axes(&row, -1, true)?)?)?;
            let c_factor = mx::rsqrt(&col)?;
            update = mx::multiply(
                mx::expand_dims(&r_factor, -1)?,
                mx::expand_dims(&c_factor, -2)?,
            )?;
            update = mx::multiply(&update, gradient)?;
        } else {
            let v = state_get(state, "exp_avg_sq")?;
            let v = mx::add(
                mx::multiply(&beta_2, &v)?,
                mx::multiply(&one_minus, &update)?,
            )?;
            state_set(state, "exp_avg_sq", v.clone());
            update = mx::multiply(mx::rsqrt(&v)?, gradient)?;
        }
        let clip = mx::maximum(1.0, mx::divide(Self::rms(&update)?, o.clip_threshold)?)?;
        update = mx::divide(&update, clip)?;
        update = mx::multiply(&learning_rate, &update)?;
        if let Some(b1) = o.beta_1 {
            let avg = state_get(state, "exp_avg")?;
            let avg = mx::add(mx::multiply(b1, &avg)?, mx::multiply(1.0 - b1, &update)?)?;
            state_set(state, "exp_avg", avg.clone());
            update = avg;
        }
        let mut parameter = parameter.clone();
        if o.weight_decay != 0.0 {
            parameter = mx::add(
                &parameter,
                mx::multiply(&parameter, mx::multiply(-o.weight_decay, &learning_rate)?)?,
            )?;
        }
        mx::subtract(&parameter, &update)
    }
}

// ---------------------------------------------------------------------------------------------
// Muon

/// Options of [`Muon`].
#[derive(Clone, Debug, PartialEq)]
pub struct MuonOptions {
    /// The momentum strength (default 0.95).
    pub momentum: f64,
    /// The weight decay (L2 penalty, default 0.01).
    pub weight_decay: f64,
    /// Nesterov momentum (default true).
    pub nesterov: bool,
    /// Newton-Schulz iterations (default 5).
    pub ns_steps: usize,
}

impl Default for MuonOptions {
    fn default() -> Self {
        MuonOptions {
            momentum: 0.95,
            weight_decay: 0.01,
            nesterov: true,
            ns_steps: 5,
        }
    }
}

/// Muon, momentum orthogonalized by Newton-Schulz (MLX's `Muon`): matrices (and higher
/// dimensional arrays, flattened after the first axis) get an orthogonalized update.
///
/// ```
/// use rmlx_optimizers::{Optimizer, Muon};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = Muon::new(0.02)?;
/// let p = Tree::dict([("w", Tree::from(mx::ones(&[4, 2], mx::float32)?))]);
/// let g = Tree::dict([("w", Tree::from(mx::eye(4, Some(2), 0, mx::float32)?))]);
/// let p = opt.apply_gradients(&g, &p)?;
/// assert_eq!(p.get("w").unwrap().as_array().unwrap().shape(), &[4, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Muon {
    base: OptimizerBase,
    /// The options.
    pub options: MuonOptions,
}

impl Muon {
    /// Muon with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Result<Muon> {
        Muon::with_options(learning_rate, &MuonOptions::default())
    }

    /// Muon with `options`.
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: &MuonOptions,
    ) -> Result<Muon> {
        Ok(Muon {
            base: with_lr(learning_rate.into())?,
            options: options.clone(),
        })
    }

    fn newton_schulz5(x: &Array, steps: usize) -> Result<Array> {
        let (a, b, c) = (3.4445f32, -4.7750f32, 2.0315f32);
        let transpose = x.shape()[0] > x.shape()[1];
        let mut x = if transpose { x.transpose()? } else { x.clone() };
        x = mx::divide(&x, mx::add(mx::linalg::norm(&x)?, 1e-7)?)?;
        for _ in 0..steps {
            let xt = x.transpose()?;
            let am = mx::matmul(&x, &xt)?;
            let bm = mx::addmm(&mx::multiply(b as f64, &am)?, &am, &am, c, 1.0)?;
            x = mx::addmm(&mx::multiply(a as f64, &x)?, &bm, &x, 1.0, 1.0)?;
        }
        if transpose { x.transpose() } else { Ok(x) }
    }
}

impl PerParameter for Muon {
    per_parameter_base!();

    fn init_single(&self, parameter: &Array, state: &mut Tree) -> Result<()> {
        state_set(state, "v", mx::zeros_like(parameter)?);
        Ok(())
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        gradient: &Array,
        parameter: &Array,
        state: &mut Tree,
    ) -> Result<Array> {
        let o = &self.options;
        let mut gradient = gradient.clone();
        if o.weight_decay != 0.0 {
            gradient = mx::add(&gradient, mx::multiply(o.weight_decay, parameter)?)?;
        }
        let v = mx::multiply(o.momentum, &state_get(state, "v")?)?;
        let v = mx::add(&v, mx::multiply(1.0 - o.momentum, &gradient)?)?;
        state_set(state, "v", v.clone());
        let mut update = if o.nesterov {
            mx::add(
                mx::multiply(&gradient, 1.0 - o.momentum)?,
                mx::multiply(&v, o.momentum)?,
            )?
        } else {
            v
        };
        let mut lr = lr_as(ctx, &gradient)?;
        if update.ndim() >= 2 {
            let original: Vec<usize> = update.shape().to_vec();
            let reshape = update.ndim() > 2;
            if reshape {
                let rest: usize = original[1..].iter().product();
                update = update.reshape(&[original[0], rest])?;
            }
            update = Self::newton_schulz5(&update, o.ns_steps)?;
            if reshape {
                update = update.reshape(&original)?;
            }
            let n = update.ndim();
            let ratio = update.shape()[n - 2] as f64 / update.shape()[n - 1] as f64;
            lr = mx::multiply(&lr, ratio.max(1.0).powf(0.5))?;
        }
        mx::subtract(parameter, mx::multiply(&lr, &update)?)
    }
}
