//! The loss functions of `mlx.nn.losses`, with MLX's formulas, shape checks (and their error
//! texts) and reductions.
//!
//! Each loss reduces its per-element result by a [`Reduction`]. MLX's default reduction
//! differs per loss: `"mean"` for `binary_cross_entropy`, `l1_loss`, `mse_loss`,
//! `smooth_l1_loss` and `gaussian_nll_loss`, `"none"` for the others. Losses with several
//! optional arguments take an options struct whose `Default` is MLX's defaults (that
//! reduction included); the others take their optional arguments directly, documented with
//! MLX's defaults.
//!
//! ```
//! use rmlx_nn::losses::{self, CrossEntropyOptions, Reduction};
//! use rmlx_nn::core as mx;
//! let logits = mx::array![[2.0, -1.0], [-1.0, 2.0]];
//! let loss = losses::cross_entropy(&logits, &mx::array![0, 1], &CrossEntropyOptions::default())?;
//! assert!(mx::allclose(&loss, &mx::array![0.0485873, 0.0485873])?.item::<bool>()?);
//! let mse = losses::mse_loss(&mx::array![1.0, 2.0], &mx::array![1.0, 4.0], Reduction::Sum)?;
//! assert_eq!(mse.item::<f32>()?, 4.0);
//! # Ok::<(), mx::Error>(())
//! ```

use crate::core::{self as mx, Array, Error, Result};
use crate::pyrepr::py_shape;

/// How a loss reduces its per-element values (MLX's `reduction` argument).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// No reduction (`"none"`, the default of `_reduce` and of most losses).
    #[default]
    None,
    /// The mean of all elements (`"mean"`).
    Mean,
    /// The sum of all elements (`"sum"`).
    Sum,
}

impl Reduction {
    /// `loss` reduced.
    ///
    /// ```
    /// use rmlx_nn::losses::Reduction;
    /// let l = rmlx_nn::core::array![1.0, 3.0];
    /// assert_eq!(Reduction::Mean.apply(&l)?.item::<f32>()?, 2.0);
    /// # Ok::<(), rmlx_nn::core::Error>(())
    /// ```
    pub fn apply(self, loss: &Array) -> Result<Array> {
        match self {
            Reduction::None => Ok(loss.clone()),
            Reduction::Mean => mx::mean(loss),
            Reduction::Sum => mx::sum(loss),
        }
    }
}

impl std::str::FromStr for Reduction {
    type Err = Error;

    /// Parses `"none"`, `"mean"` or `"sum"`; anything else is MLX's error.
    ///
    /// ```
    /// use rmlx_nn::losses::Reduction;
    /// assert_eq!("sum".parse::<Reduction>().unwrap(), Reduction::Sum);
    /// assert!("max".parse::<Reduction>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Reduction::None),
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            _ => Err(Error::value(
                "Invalid reduction. Must be one of ('none', 'mean', 'sum').",
            )),
        }
    }
}

/// A float as Python prints it (`1.0`, `0.1`, `-2.5`).
fn py_float(v: f32) -> String {
    if v.is_finite() && v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn same_shape(a: &Array, b: &Array, what: (&str, &str)) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::value(format!(
            "{} shape {} does not match {} shape {}.",
            what.0,
            py_shape(a.shape()),
            what.1,
            py_shape(b.shape())
        )));
    }
    Ok(())
}

fn apply_weights(loss: Array, weights: Option<&Array>) -> Result<Array> {
    match weights {
        None => Ok(loss),
        Some(w) => {
            if w.shape() != loss.shape() {
                return Err(Error::value(format!(
                    "Weights with shape {} is not the same as output loss with shape {}.",
                    py_shape(w.shape()),
                    py_shape(loss.shape())
                )));
            }
            mx::multiply(&loss, w)
        }
    }
}

/// The element picked by integer `targets` along `axis` (`take_along_axis` + `squeeze`).
fn pick(inputs: &Array, targets: &Array, axis: isize) -> Result<Array> {
    let idx = mx::expand_dims(targets, axis)?;
    mx::squeeze(&mx::take_along_axis(inputs, &idx, Some(axis))?, Some(axis))
}

/// The optional arguments of [`cross_entropy`]; `Default` is MLX's.
#[derive(Clone, Debug)]
pub struct CrossEntropyOptions {
    /// Weights multiplying each target's loss (the loss's shape). Default: none.
    pub weights: Option<Array>,
    /// The class axis. Default: `-1`.
    pub axis: isize,
    /// Label smoothing in `[0, 1)`. Default: `0.0`.
    pub label_smoothing: f32,
    /// Default: [`Reduction::None`].
    pub reduction: Reduction,
}

impl CrossEntropyOptions {
    /// MLX's defaults: no weights, `axis = -1`, no smoothing, no reduction.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Default for CrossEntropyOptions {
    fn default() -> Self {
        CrossEntropyOptions {
            weights: None,
            axis: -1,
            label_smoothing: 0.0,
            reduction: Reduction::None,
        }
    }
}

/// The cross entropy of `logits` against `targets` (`nn.losses.cross_entropy`): `targets`
/// are class indices (the shape of `logits` without `axis`) or probabilities (the shape of
/// `logits`). Computed as MLX does off its GPU fast path: logits shifted by their
/// (gradient-stopped) maximum, `logsumexp - score`, with label smoothing
/// `logsumexp - (1 - s) * score - s * mean(logits)`.
///
/// ```
/// use rmlx_nn::losses::{cross_entropy, CrossEntropyOptions, Reduction};
/// use rmlx_nn::core as mx;
/// let logits = mx::array![[2.0, -1.0], [-1.0, 2.0]];
/// let probs = mx::array![[0.9, 0.1], [0.1, 0.9]];
/// let opts = CrossEntropyOptions { reduction: Reduction::Mean, ..CrossEntropyOptions::new() };
/// let loss = cross_entropy(&logits, &probs, &opts)?;
/// assert!((loss.item::<f32>()? - 0.348587).abs() < 1e-5);
/// assert!(cross_entropy(&logits, &mx::array![0, 1, 1], &opts).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cross_entropy(logits: &Array, targets: &Array, opts: &CrossEntropyOptions) -> Result<Array> {
    let ls = opts.label_smoothing;
    if !(0.0..1.0).contains(&ls) {
        return Err(Error::value(format!(
            "Label smoothing must be in [0, 1), got {}.",
            py_float(ls)
        )));
    }
    let axis = opts.axis;
    let as_probs = targets.ndim() == logits.ndim();
    let expected: Vec<usize> = if as_probs {
        logits.shape().to_vec()
    } else {
        let nd = logits.ndim() as isize;
        let ax = if axis < 0 { axis + nd } else { axis };
        if ax < 0 || ax >= nd {
            return Err(Error::index("pop index out of range"));
        }
        let mut s = logits.shape().to_vec();
        s.remove(ax as usize);
        s
    };
    if targets.shape() != expected.as_slice() {
        return Err(Error::value(format!(
            "Targets shape {} does not match logits shape {}.",
            py_shape(targets.shape()),
            py_shape(logits.shape())
        )));
    }
    let logits = mx::subtract(
        logits,
        mx::stop_gradient(mx::max_axes(logits, axis, true)?)?,
    )?;
    let score = if as_probs {
        mx::sum_axes(mx::multiply(&logits, targets)?, axis, false)?
    } else {
        pick(&logits, targets, axis)?
    };
    let lse = mx::logsumexp_axes(&logits, axis, false)?;
    let loss = if ls > 0.0 {
        let adjusted = mx::multiply(1.0 - ls as f64, &score)?;
        let mean_logits = mx::mean_axes(&logits, axis, false)?;
        let smoothed = mx::multiply(mx::negative(mean_logits)?, ls)?;
        mx::add(mx::subtract(lse, adjusted)?, smoothed)?
    } else {
        mx::subtract(lse, score)?
    };
    opts.reduction
        .apply(&apply_weights(loss, opts.weights.as_ref())?)
}

/// The optional arguments of [`binary_cross_entropy`]; `Default` is MLX's.
#[derive(Clone, Debug)]
pub struct BinaryCrossEntropyOptions {
    /// Weights multiplying each element's loss (the inputs' shape). Default: none.
    pub weights: Option<Array>,
    /// Whether the inputs are logits (else probabilities). Default: `true`.
    pub with_logits: bool,
    /// Default: [`Reduction::Mean`].
    pub reduction: Reduction,
}

impl Default for BinaryCrossEntropyOptions {
    fn default() -> Self {
        BinaryCrossEntropyOptions {
            weights: None,
            with_logits: true,
            reduction: Reduction::Mean,
        }
    }
}

/// The binary cross entropy (`nn.losses.binary_cross_entropy`): from logits
/// `logaddexp(0, x) - x * t`; from probabilities `-(t * log(p) + (1 - t) * log(1 - p))` with
/// each log clipped below at `-100`, as MLX does.
///
/// ```
/// use rmlx_nn::losses::{binary_cross_entropy, BinaryCrossEntropyOptions};
/// use rmlx_nn::core as mx;
/// let logits = mx::array![0.105361, 0.223144, 1.20397, 0.916291];
/// let targets = mx::array![0, 0, 1, 1];
/// let loss = binary_cross_entropy(&logits, &targets, &Default::default())?;
/// assert!((loss.item::<f32>()? - 0.539245).abs() < 1e-5);
/// let opts = BinaryCrossEntropyOptions { with_logits: false, ..Default::default() };
/// let loss = binary_cross_entropy(&mx::array![0.1, 0.1, 0.4, 0.4], &targets, &opts)?;
/// assert!((loss.item::<f32>()? - 0.510826).abs() < 1e-5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn binary_cross_entropy(
    inputs: &Array,
    targets: &Array,
    opts: &BinaryCrossEntropyOptions,
) -> Result<Array> {
    same_shape(inputs, targets, ("Inputs", "targets"))?;
    let loss = if opts.with_logits {
        mx::subtract(mx::logaddexp(0.0, inputs)?, mx::multiply(inputs, targets)?)?
    } else {
        let log_p = mx::clip(mx::log(inputs)?, Some(-100), None::<f32>)?;
        let log_q = mx::clip(mx::log(mx::subtract(1, inputs)?)?, Some(-100), None::<f32>)?;
        mx::negative(mx::add(
            mx::multiply(targets, log_p)?,
            mx::multiply(mx::subtract(1, targets)?, log_q)?,
        )?)?
    };
    opts.reduction
        .apply(&apply_weights(loss, opts.weights.as_ref())?)
}

/// The mean absolute error `|predictions - targets|` (`nn.losses.l1_loss`; MLX's default
/// reduction is [`Reduction::Mean`]).
///
/// ```
/// use rmlx_nn::losses::{l1_loss, Reduction};
/// use rmlx_nn::core as mx;
/// let l = l1_loss(&mx::array![1.0, 2.0], &mx::array![2.0, 4.0], Reduction::Mean)?;
/// assert_eq!(l.item::<f32>()?, 1.5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn l1_loss(predictions: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    same_shape(predictions, targets, ("Predictions", "targets"))?;
    reduction.apply(&mx::abs(mx::subtract(predictions, targets)?)?)
}

/// The squared error `(predictions - targets)^2` (`nn.losses.mse_loss`; MLX's default
/// reduction is [`Reduction::Mean`]).
///
/// ```
/// use rmlx_nn::losses::{mse_loss, Reduction};
/// use rmlx_nn::core as mx;
/// let l = mse_loss(&mx::array![1.0, 2.0], &mx::array![2.0, 4.0], Reduction::Mean)?;
/// assert_eq!(l.item::<f32>()?, 2.5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn mse_loss(predictions: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    same_shape(predictions, targets, ("Predictions", "targets"))?;
    reduction.apply(&mx::square(mx::subtract(predictions, targets)?)?)
}

/// The negative log likelihood `-inputs[target]` along `axis` (`nn.losses.nll_loss`; MLX's
/// defaults are `axis = -1` and [`Reduction::None`]).
///
/// ```
/// use rmlx_nn::losses::{nll_loss, Reduction};
/// use rmlx_nn::core as mx;
/// let l = nll_loss(&mx::array![[-0.5, -1.0], [-2.0, -0.1]], &mx::array![0, 1], -1, Reduction::None)?;
/// assert_eq!(l.to_vec::<f32>()?, vec![0.5, 0.1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn nll_loss(
    inputs: &Array,
    targets: &Array,
    axis: isize,
    reduction: Reduction,
) -> Result<Array> {
    reduction.apply(&mx::negative(pick(inputs, targets, axis)?)?)
}

/// The optional arguments of [`gaussian_nll_loss`]; `Default` is MLX's.
#[derive(Copy, Clone, Debug)]
pub struct GaussianNllLossOptions {
    /// Whether to add the constant `0.5 * log(2 pi)`. Default: `false`.
    pub full: bool,
    /// The variances' lower bound. Default: `1e-6`.
    pub eps: f32,
    /// Default: [`Reduction::Mean`].
    pub reduction: Reduction,
}

impl Default for GaussianNllLossOptions {
    fn default() -> Self {
        GaussianNllLossOptions {
            full: false,
            eps: 1e-6,
            reduction: Reduction::Mean,
        }
    }
}

/// The Gaussian negative log likelihood
/// `0.5 * (log(max(vars, eps)) + (targets - inputs)^2 / max(vars, eps))` (plus
/// `0.5 * log(2 pi)` when `full`) (`nn.losses.gaussian_nll_loss`).
///
/// ```
/// use rmlx_nn::losses::gaussian_nll_loss;
/// use rmlx_nn::core as mx;
/// let one = mx::array![1.0];
/// let l = gaussian_nll_loss(&mx::array![0.0], &mx::array![2.0], &one, &Default::default())?;
/// assert_eq!(l.item::<f32>()?, 2.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn gaussian_nll_loss(
    inputs: &Array,
    targets: &Array,
    vars: &Array,
    opts: &GaussianNllLossOptions,
) -> Result<Array> {
    same_shape(inputs, targets, ("Inputs", "targets"))?;
    same_shape(inputs, vars, ("Inputs", "vars"))?;
    let vars = mx::maximum(vars, opts.eps)?;
    let sq = mx::divide(mx::square(mx::subtract(targets, inputs)?)?, &vars)?;
    let mut loss = mx::multiply(0.5, mx::add(mx::log(&vars)?, sq)?)?;
    if opts.full {
        loss = mx::add(&loss, 0.5 * (2.0 * std::f64::consts::PI).ln())?;
    }
    opts.reduction.apply(&loss)
}

/// The Kullback-Leibler divergence `sum(exp(targets) * (targets - inputs), axis)` of two
/// log-probability arrays (`nn.losses.kl_div_loss`; MLX's defaults are `axis = -1` and
/// [`Reduction::None`]).
///
/// ```
/// use rmlx_nn::losses::{kl_div_loss, Reduction};
/// use rmlx_nn::core as mx;
/// let p = mx::log(&mx::array![[0.5, 0.5]])?;
/// assert_eq!(kl_div_loss(&p, &p, -1, Reduction::None)?.to_vec::<f32>()?, vec![0.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn kl_div_loss(
    inputs: &Array,
    targets: &Array,
    axis: isize,
    reduction: Reduction,
) -> Result<Array> {
    let loss = mx::sum_axes(
        mx::multiply(mx::exp(targets)?, mx::subtract(targets, inputs)?)?,
        axis,
        false,
    )?;
    reduction.apply(&loss)
}

/// The smooth L1 loss: `0.5 * d^2 / beta` where `d = |predictions - targets| < beta`, else
/// `d - 0.5 * beta` (`nn.losses.smooth_l1_loss`; MLX's defaults are `beta = 1.0` and
/// [`Reduction::Mean`]).
///
/// ```
/// use rmlx_nn::losses::{smooth_l1_loss, Reduction};
/// use rmlx_nn::core as mx;
/// let l = smooth_l1_loss(&mx::array![0.0, 0.0], &mx::array![0.5, 3.0], 1.0, Reduction::None)?;
/// assert_eq!(l.to_vec::<f32>()?, vec![0.125, 2.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn smooth_l1_loss(
    predictions: &Array,
    targets: &Array,
    beta: f32,
    reduction: Reduction,
) -> Result<Array> {
    same_shape(predictions, targets, ("Predictions", "targets"))?;
    let diff = mx::abs(mx::subtract(predictions, targets)?)?;
    let quadratic = mx::divide(mx::multiply(0.5, mx::square(&diff)?)?, beta)?;
    let linear = mx::subtract(mx::abs(&diff)?, 0.5 * beta as f64)?;
    reduction.apply(&mx::where_(mx::less(&diff, beta)?, quadratic, linear)?)
}

/// The optional arguments of [`triplet_loss`]; `Default` is MLX's.
#[derive(Copy, Clone, Debug)]
pub struct TripletLossOptions {
    /// The embedding axis. Default: `-1`.
    pub axis: isize,
    /// The norm degree. Default: `2`.
    pub p: i32,
    /// The margin. Default: `1.0`.
    pub margin: f32,
    /// Added to the p-th power sums before the root. Default: `1e-6`.
    pub eps: f32,
    /// Default: [`Reduction::None`].
    pub reduction: Reduction,
}

impl Default for TripletLossOptions {
    fn default() -> Self {
        TripletLossOptions {
            axis: -1,
            p: 2,
            margin: 1.0,
            eps: 1e-6,
            reduction: Reduction::None,
        }
    }
}

/// The triplet loss `max(|A - P|_p - |A - N|_p + margin, 0)`, with
/// `|v|_p = (sum(|v|^p, axis) + eps)^(1/p)` (`nn.losses.triplet_loss`).
///
/// ```
/// use rmlx_nn::losses::triplet_loss;
/// use rmlx_nn::core as mx;
/// let a = mx::array![[0.0, 0.0]];
/// let l = triplet_loss(&a, &a, &mx::array![[3.0, 4.0]], &Default::default())?;
/// assert_eq!(l.to_vec::<f32>()?, vec![0.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn triplet_loss(
    anchors: &Array,
    positives: &Array,
    negatives: &Array,
    opts: &TripletLossOptions,
) -> Result<Array> {
    let dist = |other: &Array| -> Result<Array> {
        let s = mx::sum_axes(
            mx::power(mx::abs(mx::subtract(anchors, other)?)?, opts.p)?,
            opts.axis,
            false,
        )?;
        mx::power(mx::add(s, opts.eps)?, 1.0 / opts.p as f64)
    };
    let loss = mx::maximum(
        mx::add(
            mx::subtract(dist(positives)?, dist(negatives)?)?,
            opts.margin,
        )?,
        0,
    )?;
    opts.reduction.apply(&loss)
}

/// The hinge loss `max(1 - inputs * targets, 0)` for targets in {-1, 1}
/// (`nn.losses.hinge_loss`; MLX's default reduction is [`Reduction::None`]).
///
/// ```
/// use rmlx_nn::losses::{hinge_loss, Reduction};
/// use rmlx_nn::core as mx;
/// let l = hinge_loss(&mx::array![0.5, 2.0], &mx::array![1.0, 1.0], Reduction::None)?;
/// assert_eq!(l.to_vec::<f32>()?, vec![0.5, 0.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn hinge_loss(inputs: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    let loss = mx::maximum(mx::subtract(1, mx::multiply(inputs, targets)?)?, 0)?;
    reduction.apply(&loss)
}

/// The Huber loss: `0.5 * a^2` for `|a| <= delta`, else `delta * (|a| - 0.5 * delta)`, with
/// `a = inputs - targets` (`nn.losses.huber_loss`; MLX's defaults are `delta = 1.0` and
/// [`Reduction::None`]).
///
/// ```
/// use rmlx_nn::losses::{huber_loss, Reduction};
/// use rmlx_nn::core as mx;
/// let l = huber_loss(&mx::array![0.5, 3.0], &mx::array![0.0, 0.0], 1.0, Reduction::None)?;
/// assert_eq!(l.to_vec::<f32>()?, vec![0.125, 2.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn huber_loss(
    inputs: &Array,
    targets: &Array,
    delta: f32,
    reduction: Reduction,
) -> Result<Array> {
    let abs_errors = mx::abs(mx::subtract(inputs, targets)?)?;
    let quadratic = mx::minimum(&abs_errors, delta)?;
    let linear = mx::subtract(&abs_errors, &quadratic)?;
    let loss = mx::add(
        mx::multiply(0.5, mx::power(&quadratic, 2)?)?,
        mx::multiply(delta, linear)?,
    )?;
    reduction.apply(&loss)
}

/// `log(cosh(inputs - targets))`, computed as `logaddexp(e, -e) - log(2)`
/// (`nn.losses.log_cosh_loss`; MLX's default reduction is [`Reduction::None`]).
///
/// ```
/// use rmlx_nn::losses::{log_cosh_loss, Reduction};
/// use rmlx_nn::core as mx;
/// let l = log_cosh_loss(&mx::array![1.0], &mx::array![1.0], Reduction::None)?;
/// assert!(l.item::<f32>()?.abs() < 1e-7);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn log_cosh_loss(inputs: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    let errors = mx::subtract(inputs, targets)?;
    let loss = mx::subtract(
        mx::logaddexp(&errors, mx::negative(&errors)?)?,
        std::f64::consts::LN_2,
    )?;
    reduction.apply(&loss)
}

/// The optional arguments of [`cosine_similarity_loss`]; `Default` is MLX's.
#[derive(Copy, Clone, Debug)]
pub struct CosineSimilarityLossOptions {
    /// The embedding axis. Default: `1`.
    pub axis: isize,
    /// The denominator's lower bound. Default: `1e-8`.
    pub eps: f32,
    /// Default: [`Reduction::None`].
    pub reduction: Reduction,
}

impl Default for CosineSimilarityLossOptions {
    fn default() -> Self {
        CosineSimilarityLossOptions {
            axis: 1,
            eps: 1e-8,
            reduction: Reduction::None,
        }
    }
}

/// The cosine similarity `sum(x1 * x2, axis) / max(|x1| * |x2|, eps)`
/// (`nn.losses.cosine_similarity_loss`).
///
/// ```
/// use rmlx_nn::losses::cosine_similarity_loss;
/// use rmlx_nn::core as mx;
/// let x = mx::array![[1.0, 0.0], [0.0, 2.0]];
/// let l = cosine_similarity_loss(&x, &x, &Default::default())?;
/// assert_eq!(l.to_vec::<f32>()?, vec![1.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cosine_similarity_loss(
    x1: &Array,
    x2: &Array,
    opts: &CosineSimilarityLossOptions,
) -> Result<Array> {
    let n1 = mx::linalg::norm_axes(x1, opts.axis, false)?;
    let n2 = mx::linalg::norm_axes(x2, opts.axis, false)?;
    let dot = mx::sum_axes(mx::multiply(x1, x2)?, opts.axis, false)?;
    let loss = mx::divide(dot, mx::maximum(mx::multiply(n1, n2)?, opts.eps)?)?;
    opts.reduction.apply(&loss)
}

/// The margin ranking loss `max(0, -targets * (inputs1 - inputs2) + margin)` for targets in
/// {-1, 1} (`nn.losses.margin_ranking_loss`; MLX's defaults are `margin = 0.0` and
/// [`Reduction::None`]); the three shapes must be equal.
///
/// ```
/// use rmlx_nn::losses::{margin_ranking_loss, Reduction};
/// use rmlx_nn::core as mx;
/// let l = margin_ranking_loss(&mx::array![1.0, 0.0], &mx::array![0.0, 1.0],
///                             &mx::array![1, 1], 0.0, Reduction::None)?;
/// assert_eq!(l.to_vec::<f32>()?, vec![0.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn margin_ranking_loss(
    inputs1: &Array,
    inputs2: &Array,
    targets: &Array,
    margin: f32,
    reduction: Reduction,
) -> Result<Array> {
    if inputs1.shape() != inputs2.shape() || inputs2.shape() != targets.shape() {
        return Err(Error::value(format!(
            "The shapes of the arguments do not match. The provided shapes are \
             inputs1.shape={}, inputs2.shape={}, and targets.shape={}.",
            py_shape(inputs1.shape()),
            py_shape(inputs2.shape()),
            py_shape(targets.shape())
        )));
    }
    let differences = mx::subtract(inputs1, inputs2)?;
    let loss = mx::maximum(
        0,
        mx::add(mx::multiply(mx::negative(targets)?, differences)?, margin)?,
    )?;
    reduction.apply(&loss)
}
