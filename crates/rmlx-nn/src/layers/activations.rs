//! The activation layers of `mlx.nn` (`nn.ReLU`, `nn.GELU`, `nn.PReLU`, ...): each applies
//! the function of the same name in [`crate::activations`] and prints as MLX does
//! (`ReLU()`; MLX's activation layers have no `_extra_repr`). All implement [`Forward`].

// The names are MLX's (`GELU`, `SELU`, ...).
#![allow(clippy::upper_case_acronyms)]

use crate::activations as act;
use crate::core::{self as mx, Array, Error, Result};
use crate::{Forward, ModuleState};

/// A layer without configuration applying `$f` to its input.
macro_rules! plain_activation {
    ($(#[$doc:meta])* pub struct $Name:ident => $f:expr, $input:literal, $want:literal) => {
        $(#[$doc])*
        ///
        /// ```
        /// use rmlx_nn::{self as nn, Forward};
        /// use rmlx_nn::core as mx;
        #[doc = concat!("let layer = nn::", stringify!($Name), "::new();")]
        #[doc = concat!("assert_eq!(layer.to_string(), \"", stringify!($Name), "()\");")]
        #[doc = concat!("let y = layer.forward(&mx::array!", $input, ")?;")]
        #[doc = concat!("assert!(mx::allclose(&y, &mx::array!", $want, ")?.item::<bool>()?);")]
        /// # Ok::<(), mx::Error>(())
        /// ```
        #[derive(Clone, Debug, Default, crate::Module)]
        pub struct $Name {
            state: ModuleState,
        }

        impl $Name {
            /// The layer.
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl Forward for $Name {
            fn forward(&self, x: &Array) -> Result<Array> {
                let f: fn(&Array) -> Result<Array> = $f;
                f(x)
            }
        }
    };
}

plain_activation!(
    /// Applies [`sigmoid`](crate::sigmoid) (MLX's `nn.Sigmoid`).
    pub struct Sigmoid => act::sigmoid, "[0.0]", "[0.5]"
);
plain_activation!(
    /// Applies [`mish`](crate::mish) (MLX's `nn.Mish`).
    pub struct Mish => act::mish, "[0.0]", "[0.0]"
);
plain_activation!(
    /// Applies [`relu`](crate::relu) (MLX's `nn.ReLU`).
    pub struct ReLU => act::relu, "[-1.0, 2.0]", "[0.0, 2.0]"
);
plain_activation!(
    /// Applies [`relu2`](crate::relu2) (MLX's `nn.ReLU2`).
    pub struct ReLU2 => act::relu2, "[-1.0, 2.0]", "[0.0, 4.0]"
);
plain_activation!(
    /// Applies [`relu6`](crate::relu6) (MLX's `nn.ReLU6`).
    pub struct ReLU6 => act::relu6, "[-1.0, 8.0]", "[0.0, 6.0]"
);
plain_activation!(
    /// Applies [`softmax`](crate::softmax) over the last axis (MLX's `nn.Softmax`).
    pub struct Softmax => |x| act::softmax(x, -1), "[1.0, 1.0]", "[0.5, 0.5]"
);
plain_activation!(
    /// Applies [`softplus`](crate::softplus) (MLX's `nn.Softplus`).
    pub struct Softplus => act::softplus, "[0.0]", "[0.6931472]"
);
plain_activation!(
    /// Applies [`softsign`](crate::softsign) (MLX's `nn.Softsign`).
    pub struct Softsign => act::softsign, "[1.0]", "[0.5]"
);
plain_activation!(
    /// Applies [`silu`](crate::silu) (MLX's `nn.SiLU`).
    pub struct SiLU => act::silu, "[0.0]", "[0.0]"
);
plain_activation!(
    /// Applies [`log_softmax`](crate::log_softmax) over the last axis (MLX's `nn.LogSoftmax`).
    pub struct LogSoftmax => |x| act::log_softmax(x, -1), "[0.0, 0.0]", "[-0.6931472, -0.6931472]"
);
plain_activation!(
    /// Applies [`log_sigmoid`](crate::log_sigmoid) (MLX's `nn.LogSigmoid`).
    pub struct LogSigmoid => act::log_sigmoid, "[0.0]", "[-0.6931472]"
);
plain_activation!(
    /// Applies [`tanh`](crate::tanh) (MLX's `nn.Tanh`).
    pub struct Tanh => act::tanh, "[0.0]", "[0.0]"
);
plain_activation!(
    /// Applies [`hardswish`](crate::hardswish) (MLX's `nn.Hardswish`).
    pub struct Hardswish => act::hardswish, "[3.0]", "[3.0]"
);
plain_activation!(
    /// Applies [`selu`](crate::selu) (MLX's `nn.SELU`).
    pub struct SELU => act::selu, "[1.0]", "[1.0507]"
);
plain_activation!(
    /// Applies [`hard_tanh`](crate::hard_tanh) with MLX's bounds `[-1, 1]` (MLX's
    /// `nn.HardTanh`).
    pub struct HardTanh => |x| act::hard_tanh(x, -1.0, 1.0), "[-3.0, 0.5]", "[-1.0, 0.5]"
);
plain_activation!(
    /// Applies [`softmin`](crate::softmin) over the last axis (MLX's `nn.Softmin`).
    pub struct Softmin => |x| act::softmin(x, -1), "[2.0, 2.0]", "[0.5, 0.5]"
);

/// A layer with one `f32` setting applying `$f(x, setting)`.
macro_rules! scalar_activation {
    ($(#[$doc:meta])* pub struct $Name:ident($field:ident = $default:literal) => $f:path,
     $input:literal, $want:literal) => {
        $(#[$doc])*
        ///
        /// ```
        /// use rmlx_nn::{self as nn, Forward};
        /// use rmlx_nn::core as mx;
        #[doc = concat!("let layer = nn::", stringify!($Name), "::new(", stringify!($default), ");")]
        #[doc = concat!("assert_eq!(layer.to_string(), \"", stringify!($Name), "()\");")]
        #[doc = concat!("let y = layer.forward(&mx::array!", $input, ")?;")]
        #[doc = concat!("assert!(mx::allclose(&y, &mx::array!", $want, ")?.item::<bool>()?);")]
        /// # Ok::<(), mx::Error>(())
        /// ```
        #[derive(Clone, Debug, crate::Module)]
        pub struct $Name {
            #[doc = concat!("The `", stringify!($field), "` argument of the function (MLX's default `", stringify!($default), "`).")]
            pub $field: f32,
            state: ModuleState,
        }

        impl $Name {
            #[doc = concat!("The layer with the given `", stringify!($field), "`.")]
            pub fn new($field: f32) -> Self {
                Self { $field, state: ModuleState::default() }
            }
        }

        impl Default for $Name {
            #[doc = concat!("MLX's default, `", stringify!($field), " = ", stringify!($default), "`.")]
            fn default() -> Self {
                Self::new($default)
            }
        }

        impl Forward for $Name {
            fn forward(&self, x: &Array) -> Result<Array> {
                $f(x, self.$field)
            }
        }
    };
}

scalar_activation!(
    /// Applies [`leaky_relu`](crate::leaky_relu) (MLX's `nn.LeakyReLU`).
    pub struct LeakyReLU(negative_slope = 0.01) => act::leaky_relu, "[-2.0, 2.0]", "[-0.02, 2.0]"
);
scalar_activation!(
    /// Applies [`elu`](crate::elu) (MLX's `nn.ELU`).
    pub struct ELU(alpha = 1.0) => act::elu, "[0.0, 2.0]", "[0.0, 2.0]"
);
scalar_activation!(
    /// Applies [`celu`](crate::celu) (MLX's `nn.CELU`).
    pub struct CELU(alpha = 1.0) => act::celu, "[0.0, 2.0]", "[0.0, 2.0]"
);
scalar_activation!(
    /// Applies [`softshrink`](crate::softshrink) (MLX's `nn.Softshrink`).
    pub struct Softshrink(lambd = 0.5) => act::softshrink, "[-2.0, 0.25]", "[-1.5, 0.0]"
);
scalar_activation!(
    /// Applies [`hard_shrink`](crate::hard_shrink) (MLX's `nn.HardShrink`).
    pub struct HardShrink(lambd = 0.5) => act::hard_shrink, "[-2.0, 0.25]", "[-2.0, 0.0]"
);
scalar_activation!(
    /// Applies [`step`](crate::step) (MLX's `nn.Step`): an `int32` 0/1 result.
    pub struct Step(threshold = 0.0) => act::step, "[-1.0, 1.0]", "[0, 1]"
);

/// Applies [`glu`](crate::glu) along `axis` (MLX's `nn.GLU`, default axis `-1`).
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let layer = nn::GLU::new(-1);
/// assert_eq!(layer.to_string(), "GLU()");
/// assert_eq!(layer.forward(&mx::array![[2.0, 0.0]])?.to_vec::<f32>()?, vec![1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
pub struct GLU {
    /// The axis split into halves.
    pub axis: isize,
    state: ModuleState,
}

impl GLU {
    /// The layer splitting `axis`.
    pub fn new(axis: isize) -> Self {
        GLU {
            axis,
            state: ModuleState::default(),
        }
    }
}

impl Default for GLU {
    /// MLX's default, `axis = -1`.
    fn default() -> Self {
        Self::new(-1)
    }
}

impl Forward for GLU {
    fn forward(&self, x: &Array) -> Result<Array> {
        act::glu(x, self.axis)
    }
}

/// Which form of GELU [`GELU`] computes (MLX's `approx` argument).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum GeluApprox {
    /// The exact form, [`gelu`](crate::gelu) (`"none"`).
    #[default]
    None,
    /// The tanh approximation, [`gelu_approx`](crate::gelu_approx) (`"precise"`).
    Precise,
    /// PyTorch's alias of `Precise` (`"tanh"`).
    Tanh,
    /// The sigmoid approximation, [`gelu_fast_approx`](crate::gelu_fast_approx) (`"fast"`).
    Fast,
}

impl std::str::FromStr for GeluApprox {
    type Err = Error;

    /// Parses MLX's names, with MLX's error for others.
    ///
    /// ```
    /// use rmlx_nn::GeluApprox;
    /// assert_eq!("fast".parse::<GeluApprox>().unwrap(), GeluApprox::Fast);
    /// assert!("exact".parse::<GeluApprox>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(GeluApprox::None),
            "precise" => Ok(GeluApprox::Precise),
            "tanh" => Ok(GeluApprox::Tanh),
            "fast" => Ok(GeluApprox::Fast),
            _ => Err(Error::value(format!(
                "The approximation should be in ['none', 'precise', 'tanh', 'fast'] but '{s}' was given"
            ))),
        }
    }
}

/// The Gaussian error linear unit, exact or approximated (MLX's `nn.GELU`).
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let exact = nn::GELU::new();
/// let fast = nn::GELU::with_approx("fast".parse()?);
/// assert_eq!(fast.to_string(), "GELU()");
/// let x = mx::array![1.0];
/// assert!(mx::allclose(&exact.forward(&x)?, &nn::gelu(&x)?)?.item::<bool>()?);
/// assert!(mx::allclose(&fast.forward(&x)?, &nn::gelu_fast_approx(&x)?)?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, Default, crate::Module)]
pub struct GELU {
    /// The form computed.
    #[module(skip)]
    pub approx: GeluApprox,
    state: ModuleState,
}

impl GELU {
    /// The exact GELU (MLX's default `approx="none"`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The GELU of the given form.
    pub fn with_approx(approx: GeluApprox) -> Self {
        GELU {
            approx,
            state: ModuleState::default(),
        }
    }
}

impl Forward for GELU {
    fn forward(&self, x: &Array) -> Result<Array> {
        match self.approx {
            GeluApprox::None => act::gelu(x),
            GeluApprox::Precise | GeluApprox::Tanh => act::gelu_approx(x),
            GeluApprox::Fast => act::gelu_fast_approx(x),
        }
    }
}

/// The parametric ReLU with a learned slope per channel (MLX's `nn.PReLU`): `weight` has
/// `num_parameters` entries (MLX's default 1), all `init` (MLX's default 0.25) at first,
/// broadcast against the input's last axis.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let layer = nn::PReLU::new(1, 0.25)?;
/// assert_eq!(layer.to_string(), "PReLU()");
/// assert_eq!(layer.weight.shape(), &[1]);
/// assert_eq!(layer.forward(&mx::array![-2.0, 2.0])?.to_vec::<f32>()?, vec![-0.5, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
pub struct PReLU {
    /// The slopes, `(num_parameters,)` float32.
    pub weight: Array,
    state: ModuleState,
}

impl PReLU {
    /// `num_parameters` slopes, each `init`.
    pub fn new(num_parameters: usize, init: f32) -> Result<Self> {
        Ok(PReLU {
            weight: mx::full(&[num_parameters], init, Some(mx::float32))?,
            state: ModuleState::default(),
        })
    }
}

impl Forward for PReLU {
    fn forward(&self, x: &Array) -> Result<Array> {
        act::prelu(x, &self.weight)
    }
}
