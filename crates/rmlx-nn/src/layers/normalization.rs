//! Normalization layers (MLX's `nn.LayerNorm`, `nn.RMSNorm`, `nn.GroupNorm`,
//! `nn.InstanceNorm`, `nn.BatchNorm`), features last.

use crate::core::{self as mx, Array, Error, Result};
use crate::module::{FreezeOptions, Member, MemberMut, Module, ModuleValue};
use crate::pyrepr::{py_bool, py_float};
use crate::{ArrayCell, Forward, ModuleState};

fn check_eps(layer: &str, eps: f64) -> Result<()> {
    if eps <= 0.0 || eps.is_nan() {
        return Err(Error::value(format!(
            "[{layer}] 'eps' must be positive but got {}.",
            py_float(eps)
        )));
    }
    Ok(())
}

fn affine(y: Array, weight: &Option<Array>, bias: &Option<Array>) -> Result<Array> {
    match (weight, bias) {
        (Some(w), Some(b)) => mx::add(&mx::multiply(w, &y)?, b),
        (Some(w), None) => mx::multiply(w, &y),
        _ => Ok(y),
    }
}

/// The options of [`LayerNorm`] besides the dimension (MLX's defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormOptions {
    /// Added to the variance. Default `1e-5`.
    pub eps: f64,
    /// A learned scale (and shift, with `bias`). Default `true`.
    pub affine: bool,
    /// A learned shift when `affine`. Default `true`.
    pub bias: bool,
}

impl Default for LayerNormOptions {
    fn default() -> Self {
        LayerNormOptions {
            eps: 1e-5,
            affine: true,
            bias: true,
        }
    }
}

/// Layer normalization over the last axis (MLX's `nn.LayerNorm`):
/// `(x - E[x]) / sqrt(Var[x] + eps) * weight + bias`, `weight` starting at one and `bias` at
/// zero, through `fast::layer_norm`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let ln = nn::LayerNorm::new(2)?;
/// let y = ln.forward(&mx::array![[1.0f32, 3.0]])?;
/// assert!((y.to_vec::<f32>()?[1] - 1.0).abs() < 1e-4);
/// assert_eq!(ln.to_string(), "LayerNorm(2, eps=1e-05, affine=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = LayerNorm::describe)]
pub struct LayerNorm {
    /// `(dims,)`, absent without `affine`.
    pub weight: Option<Array>,
    /// `(dims,)`, absent without `affine` or `bias`.
    pub bias: Option<Array>,
    dims: usize,
    eps: f64,
    state: ModuleState,
}

impl LayerNorm {
    /// A layer norm with MLX's defaults.
    pub fn new(dims: usize) -> Result<Self> {
        Self::with_options(dims, &LayerNormOptions::default())
    }

    /// A layer norm with the given options.
    pub fn with_options(dims: usize, opts: &LayerNormOptions) -> Result<Self> {
        check_eps("LayerNorm", opts.eps)?;
        let weight = opts
            .affine
            .then(|| mx::ones(&[dims], mx::float32))
            .transpose()?;
        let bias = (opts.affine && opts.bias)
            .then(|| mx::zeros(&[dims], mx::float32))
            .transpose()?;
        Ok(LayerNorm {
            weight,
            bias,
            dims,
            eps: opts.eps,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}, eps={}, affine={}",
            self.dims,
            py_float(self.eps),
            py_bool(self.weight.is_some())
        )
    }
}

impl Forward for LayerNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        mx::fast::layer_norm(x, self.weight.as_ref(), self.bias.as_ref(), self.eps as f32)
    }
}

/// Root-mean-square normalization over the last axis (MLX's `nn.RMSNorm`):
/// `x / sqrt(E[x^2] + eps) * weight`, `weight` starting at one, through `fast::rms_norm`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let norm = nn::RMSNorm::new(2)?;
/// assert_eq!(norm.forward(&mx::array![[3.0f32, 4.0]])?.shape(), &[1, 2]);
/// assert_eq!(norm.to_string(), "RMSNorm(2, eps=1e-05)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = RMSNorm::describe)]
pub struct RMSNorm {
    /// `(dims,)`.
    pub weight: Array,
    eps: f64,
    state: ModuleState,
}

impl RMSNorm {
    /// An RMS norm with `eps = 1e-5`.
    pub fn new(dims: usize) -> Result<Self> {
        Self::with_eps(dims, 1e-5)
    }

    /// An RMS norm with the given `eps`.
    pub fn with_eps(dims: usize, eps: f64) -> Result<Self> {
        check_eps("RMSNorm", eps)?;
        Ok(RMSNorm {
            weight: mx::ones(&[dims], mx::float32)?,
            eps,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}, eps={}",
            self.weight.shape().first().copied().unwrap_or(0),
            py_float(self.eps)
        )
    }
}

impl Forward for RMSNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        mx::fast::rms_norm(x, Some(&self.weight), self.eps as f32)
    }
}

/// The options of [`GroupNorm`] besides the groups and dimension (MLX's defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupNormOptions {
    /// Added to the variance. Default `1e-5`.
    pub eps: f64,
    /// A learned per-feature scale and shift. Default `true`.
    pub affine: bool,
    /// Group the features as PyTorch does (contiguous blocks) rather than MLX's
    /// interleaved grouping. Default `false`.
    pub pytorch_compatible: bool,
}

impl Default for GroupNormOptions {
    fn default() -> Self {
        GroupNormOptions {
            eps: 1e-5,
            affine: true,
            pytorch_compatible: false,
        }
    }
}

/// Group normalization (MLX's `nn.GroupNorm`): the features (last axis) split into
/// `num_groups` groups, each normalized over the spatial axes and its features, then scaled
/// and shifted per feature. MLX's default grouping is interleaved (feature `f` belongs to
/// group `f % num_groups`); `pytorch_compatible` takes contiguous blocks.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let gn = nn::GroupNorm::new(2, 4)?;
/// assert_eq!(gn.forward(&mx::ones(&[2, 3, 4], mx::float32)?)?.shape(), &[2, 3, 4]);
/// assert_eq!(gn.to_string(), "GroupNorm(2, 4, eps=1e-05, affine=True, pytorch_compatible=False)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = GroupNorm::describe)]
pub struct GroupNorm {
    /// `(dims,)`, absent without `affine`.
    pub bias: Option<Array>,
    /// `(dims,)`, absent without `affine`.
    pub weight: Option<Array>,
    num_groups: usize,
    dims: usize,
    eps: f64,
    pytorch_compatible: bool,
    state: ModuleState,
}

impl GroupNorm {
    /// A group norm with MLX's defaults.
    pub fn new(num_groups: usize, dims: usize) -> Result<Self> {
        Self::with_options(num_groups, dims, &GroupNormOptions::default())
    }

    /// A group norm with the given options.
    pub fn with_options(num_groups: usize, dims: usize, opts: &GroupNormOptions) -> Result<Self> {
        check_eps("GroupNorm", opts.eps)?;
        if num_groups == 0 {
            return Err(Error::value(format!(
                "The number of groups ({num_groups}) must be a positive integer."
            )));
        }
        if dims == 0 {
            return Err(Error::value(format!(
                "The number of features ({dims}) must be a positive integer."
            )));
        }
        if !dims.is_multiple_of(num_groups) {
            return Err(Error::value(format!(
                "The number of features ({dims}) must be evenly divisible by the number of \
                 groups ({num_groups})."
            )));
        }
        let (bias, weight) = if opts.affine {
            (
                Some(mx::zeros(&[dims], mx::float32)?),
                Some(mx::ones(&[dims], mx::float32)?),
            )
        } else {
            (None, None)
        };
        Ok(GroupNorm {
            bias,
            weight,
            num_groups,
            dims,
            eps: opts.eps,
            pytorch_compatible: opts.pytorch_compatible,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}, {}, eps={}, affine={}, pytorch_compatible={}",
            self.num_groups,
            self.dims,
            py_float(self.eps),
            py_bool(self.weight.is_some()),
            py_bool(self.pytorch_compatible)
        )
    }

    fn group_norm(&self, x: &Array) -> Result<Array> {
        let shape = x.shape();
        let (batch, g) = (shape[0] as isize, self.num_groups as isize);
        let x = mx::reshape(x, [batch, -1, g])?;
        let means = mx::mean_axes(&x, 1, true)?;
        let var = mx::var_axes(&x, 1, true, 0)?;
        let y = mx::multiply(
            &mx::subtract(&x, &means)?,
            &mx::rsqrt(mx::add(&var, self.eps)?)?,
        )?;
        mx::reshape(&y, shape)
    }

    fn pytorch_group_norm(&self, x: &Array) -> Result<Array> {
        let shape = x.shape();
        let (batch, g) = (shape[0] as isize, self.num_groups as isize);
        let dims = shape[shape.len() - 1] as isize;
        let group_size = dims / g;
        let x = mx::reshape(x, [batch, -1, g, group_size])?;
        let x = mx::reshape(&mx::transpose(&x, Some([0, 2, 1, 3]))?, [batch, g, -1])?;
        let x = mx::fast::layer_norm(&x, None, None, self.eps as f32)?;
        let x = mx::reshape(&x, [batch, g, -1, group_size])?;
        mx::reshape(&mx::transpose(&x, Some([0, 2, 1, 3]))?, shape)
    }
}

impl Forward for GroupNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        if x.ndim() < 2 {
            return Err(Error::value(format!(
                "[GroupNorm] Expected an input with a batch and a feature axis, got shape {:?}.",
                x.shape()
            )));
        }
        let y = if self.pytorch_compatible {
            self.pytorch_group_norm(x)?
        } else {
            self.group_norm(x)?
        };
        affine(y, &self.weight, &self.bias)
    }
}

/// Instance normalization (MLX's `nn.InstanceNorm`): each sample's features normalized over
/// the spatial axes of `(N, ..., C)` inputs (at least 3-D); with `affine`, a learned
/// per-feature scale (starting at one) and shift (at zero).
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let norm = nn::InstanceNorm::new(3)?;
/// assert_eq!(norm.forward(&mx::ones(&[2, 4, 4, 3], mx::float32)?)?.shape(), &[2, 4, 4, 3]);
/// assert_eq!(norm.to_string(), "InstanceNorm(3, eps=1e-05, affine=False)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = InstanceNorm::describe)]
pub struct InstanceNorm {
    /// `(dims,)`, absent without `affine`.
    pub weight: Option<Array>,
    /// `(dims,)`, absent without `affine`.
    pub bias: Option<Array>,
    dims: usize,
    eps: f64,
    state: ModuleState,
}

impl InstanceNorm {
    /// An instance norm with MLX's defaults (`eps = 1e-5`, no affine transform).
    pub fn new(dims: usize) -> Result<Self> {
        Self::with_options(dims, 1e-5, false)
    }

    /// An instance norm with the given `eps` and `affine`.
    pub fn with_options(dims: usize, eps: f64, affine: bool) -> Result<Self> {
        check_eps("InstanceNorm", eps)?;
        let (weight, bias) = if affine {
            (
                Some(mx::ones(&[dims], mx::float32)?),
                Some(mx::zeros(&[dims], mx::float32)?),
            )
        } else {
            (None, None)
        };
        Ok(InstanceNorm {
            weight,
            bias,
            dims,
            eps,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}, eps={}, affine={}",
            self.dims,
            py_float(self.eps),
            py_bool(self.weight.is_some())
        )
    }
}

impl Forward for InstanceNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        let nd = x.ndim();
        if nd < 3 {
            return Err(Error::value(format!(
                "InstanceNorm expects inputs with at least 3 dimensions (N, ..., C) but the \
                 input has {nd} dimensions."
            )));
        }
        let shape = x.shape();
        let (batch, features) = (shape[0], shape[nd - 1]);
        let mut to_first: Vec<usize> = vec![0, nd - 1];
        to_first.extend(1..nd - 1);
        let cf = mx::transpose(x, Some(to_first))?;
        let y = mx::fast::layer_norm(
            &mx::reshape(&cf, [batch as isize, features as isize, -1])?,
            None,
            None,
            self.eps as f32,
        )?;
        let mut cf_shape = vec![batch, features];
        cf_shape.extend_from_slice(&shape[1..nd - 1]);
        let mut to_last: Vec<usize> = vec![0];
        to_last.extend(2..nd);
        to_last.push(1);
        let y = mx::transpose(&mx::reshape(&y, cf_shape)?, Some(to_last))?;
        affine(y, &self.weight, &self.bias)
    }
}

/// The options of [`BatchNorm`] besides the number of features (MLX's defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormOptions {
    /// Added to the variance. Default `1e-5`.
    pub eps: f64,
    /// The weight of a batch's statistics in the running ones. Default `0.1`.
    pub momentum: f64,
    /// A learned per-feature scale and shift. Default `true`.
    pub affine: bool,
    /// Keep running statistics (updated in training mode, used in evaluation mode). Default
    /// `true`.
    pub track_running_stats: bool,
}

impl Default for BatchNormOptions {
    fn default() -> Self {
        BatchNormOptions {
            eps: 1e-5,
            momentum: 0.1,
            affine: true,
            track_running_stats: true,
        }
    }
}

const RUNNING_STATS: [&str; 2] = ["running_mean", "running_var"];

/// Batch normalization over `(N, C)`, `(N, L, C)` or `(N, H, W, C)` inputs (MLX's
/// `nn.BatchNorm`): the features (last axis) normalized with the statistics of the batch
/// and spatial axes in training mode, and with the running statistics in evaluation mode.
///
/// In training mode each call updates `running_mean` and `running_var` (the variance with
/// `ddof = 1`) as `(1 - momentum) * running + momentum * batch`. They are parameters, as in
/// MLX, but frozen: they are not among the trainable parameters, and [`Module::unfreeze`]
/// leaves them frozen. They live in [`ArrayCell`]s so that `forward` (which takes `&self`)
/// can replace them; `nn::value_and_grad` copies them back onto the caller's model.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let bn = nn::BatchNorm::new(2)?;
/// let y = bn.forward(&mx::array![[1.0f32, 2.0], [3.0, 6.0]])?;
/// assert_eq!(y.shape(), &[2, 2]);
/// let running_mean = bn.running_mean.as_ref().expect("tracked").get().to_vec::<f32>()?;
/// assert!((running_mean[0] - 0.2).abs() < 1e-6 && (running_mean[1] - 0.4).abs() < 1e-6);
/// let trainable = nn::flat_parameters(&bn.trainable_parameters()?);
/// assert_eq!(trainable.len(), 2); // weight and bias
/// assert_eq!(bn.to_string(), "BatchNorm(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct BatchNorm {
    /// `(num_features,)`, absent without `affine`.
    pub weight: Option<Array>,
    /// `(num_features,)`, absent without `affine`.
    pub bias: Option<Array>,
    /// `(num_features,)`, starting at zero; absent without `track_running_stats`.
    pub running_mean: Option<ArrayCell>,
    /// `(num_features,)`, starting at one; absent without `track_running_stats`.
    pub running_var: Option<ArrayCell>,
    num_features: usize,
    eps: f64,
    momentum: f64,
    track_running_stats: bool,
    state: ModuleState,
}

impl BatchNorm {
    /// A batch norm with MLX's defaults.
    pub fn new(num_features: usize) -> Result<Self> {
        Self::with_options(num_features, &BatchNormOptions::default())
    }

    /// A batch norm with the given options.
    pub fn with_options(num_features: usize, opts: &BatchNormOptions) -> Result<Self> {
        check_eps("BatchNorm", opts.eps)?;
        let (weight, bias) = if opts.affine {
            (
                Some(mx::ones(&[num_features], mx::float32)?),
                Some(mx::zeros(&[num_features], mx::float32)?),
            )
        } else {
            (None, None)
        };
        let mut state = ModuleState::default();
        let (running_mean, running_var) = if opts.track_running_stats {
            state.no_grad.extend(RUNNING_STATS.map(String::from));
            (
                Some(ArrayCell::new(mx::zeros(&[num_features], mx::float32)?)),
                Some(ArrayCell::new(mx::ones(&[num_features], mx::float32)?)),
            )
        } else {
            (None, None)
        };
        Ok(BatchNorm {
            weight,
            bias,
            running_mean,
            running_var,
            num_features,
            eps: opts.eps,
            momentum: opts.momentum,
            track_running_stats: opts.track_running_stats,
            state,
        })
    }

    /// Normalization with the batch's own statistics (training mode, or no running
    /// statistics): `[y, mean, ss]`, with `ss` each feature's sum of squared deviations
    /// (`var * n`), so the running statistics need no second pass. `mx::fast::batch_norm_train`
    /// computes MLX's arithmetic (fused for float32, with a closed-form gradient: autodiff
    /// through `mean` and `var` costs about twenty full passes over the input).
    fn batch_normalize(&self, x: &Array) -> Result<[Array; 3]> {
        let out =
            mx::fast::batch_norm_train(x, self.weight.as_ref(), self.bias.as_ref(), self.eps)?;
        <[Array; 3]>::try_from(out)
            .map_err(|_| Error::runtime("[BatchNorm] expected three outputs"))
    }
}

impl Forward for BatchNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        let nd = x.ndim();
        if !(2..=4).contains(&nd) {
            return Err(Error::value(format!(
                "Expected input tensor to have 2, 3 or 4 dimensions, but got {nd}"
            )));
        }
        let training = self.state.training;
        if training && x.shape()[..nd - 1].iter().product::<usize>() == 1 {
            return Err(Error::value(
                "BatchNorm training requires more than one value per channel.",
            ));
        }
        let running = self.running_mean.as_ref().zip(self.running_var.as_ref());
        match running {
            Some((rm, rv)) if !training => {
                let y = mx::multiply(
                    &mx::subtract(x, &rm.get())?,
                    &mx::rsqrt(mx::add(&rv.get(), self.eps)?)?,
                )?;
                affine(y, &self.weight, &self.bias)
            }
            _ => {
                let [y, mean, ss] = self.batch_normalize(x)?;
                if let Some((rm, rv)) = running {
                    // The unbiased variance (ddof = 1) from the same sum of squares.
                    let n = x.shape()[..nd - 1].iter().product::<usize>() as f64;
                    let unbiased = mx::divide(&ss, n - 1.0)?;
                    let mu = self.momentum;
                    rm.set(mx::add(
                        mx::multiply(&rm.get(), 1.0 - mu)?,
                        mx::multiply(&mean, mu)?,
                    )?);
                    rv.set(mx::add(
                        mx::multiply(&rv.get(), 1.0 - mu)?,
                        mx::multiply(&unbiased, mu)?,
                    )?);
                }
                Ok(y)
            }
        }
    }
}

// Written by hand rather than derived: MLX's BatchNorm overrides `unfreeze` so that the
// running statistics stay frozen.
impl Module for BatchNorm {
    fn type_name(&self) -> &str {
        "BatchNorm"
    }

    fn members(&self) -> Vec<(String, Member<'_>)> {
        let mut out = Vec::new();
        let fields: [(&str, Option<Member<'_>>); 4] = [
            ("weight", self.weight.member()),
            ("bias", self.bias.member()),
            ("running_mean", self.running_mean.member()),
            ("running_var", self.running_var.member()),
        ];
        for (k, m) in fields {
            if let Some(m) = m {
                out.push((k.to_string(), m));
            }
        }
        out
    }

    fn members_mut(&mut self) -> Vec<(String, MemberMut<'_>)> {
        let mut out = Vec::new();
        let fields: [(&str, Option<MemberMut<'_>>); 4] = [
            ("weight", self.weight.member_mut()),
            ("bias", self.bias.member_mut()),
            ("running_mean", self.running_mean.member_mut()),
            ("running_var", self.running_var.member_mut()),
        ];
        for (k, m) in fields {
            if let Some(m) = m {
                out.push((k.to_string(), m));
            }
        }
        out
    }

    fn extra_repr(&self) -> String {
        format!(
            "{}, eps={}, momentum={}, affine={}, track_running_stats={}",
            self.num_features,
            py_float(self.eps),
            py_float(self.momentum),
            py_bool(self.weight.is_some()),
            py_bool(self.track_running_stats)
        )
    }

    fn module_state(&self) -> Option<&ModuleState> {
        Some(&self.state)
    }

    fn module_state_mut(&mut self) -> Option<&mut ModuleState> {
        Some(&mut self.state)
    }

    /// MLX's `BatchNorm.unfreeze`: unfreezes as any module, then freezes the running
    /// statistics again.
    fn unfreeze(&mut self, options: &FreezeOptions) -> Result<()> {
        crate::module::set_frozen(self, options, false)?;
        if self.track_running_stats {
            self.state.no_grad.extend(RUNNING_STATS.map(String::from));
        }
        Ok(())
    }
}

impl std::fmt::Display for BatchNorm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.repr())
    }
}
