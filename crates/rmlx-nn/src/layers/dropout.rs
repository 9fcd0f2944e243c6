//! Dropout layers (MLX's `nn.Dropout`, `nn.Dropout2d`, `nn.Dropout3d`): identity in
//! evaluation mode; in training mode elements (or whole channels) are zeroed with
//! probability `p` and the rest scaled by `1 / (1 - p)`, the mask drawn with
//! `random::bernoulli(1 - p, shape)` from the global key as MLX does.

use crate::core::{self as mx, Array, Error, Result};
use crate::pyrepr::py_float;
use crate::{Forward, ModuleState};

/// `1 - p`, checking `p` in `[0, 1)` with MLX's message.
fn keep_probability(p: f64) -> Result<f64> {
    if !(0.0..1.0).contains(&p) {
        return Err(Error::value(format!(
            "The dropout probability {} is not in [0, 1)",
            py_float(p)
        )));
    }
    Ok(1.0 - p)
}

/// `(mask * x) * (1 / p_1)` with `mask ~ Bernoulli(p_1)` of `mask_shape`.
fn drop(x: &Array, p_1: f64, mask_shape: &[usize]) -> Result<Array> {
    let mask = mx::random::bernoulli(p_1, Some(mask_shape), None)?;
    mx::multiply(mx::multiply(&mask, x)?, 1.0 / p_1)
}

/// Zeroes each element with probability `p` in training mode and scales the others by
/// `1 / (1 - p)` (MLX's `nn.Dropout`); the identity in evaluation mode.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let mut drop = nn::Dropout::new(0.5)?;
/// let y = drop.forward(&mx::ones(&[100], mx::float32)?)?;
/// assert!(y.to_vec::<f32>()?.iter().all(|&v| v == 0.0 || v == 2.0));
/// drop.eval()?;
/// assert_eq!(drop.forward(&mx::ones(&[3], mx::float32)?)?.to_vec::<f32>()?, vec![1.0; 3]);
/// assert_eq!(drop.to_string(), "Dropout(p=0.5)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = Dropout::describe)]
pub struct Dropout {
    p_1: f64,
    state: ModuleState,
}

impl Dropout {
    /// Dropout with probability `p` (MLX's default is 0.5); `p` must be in `[0, 1)`.
    pub fn new(p: f64) -> Result<Self> {
        Ok(Dropout {
            p_1: keep_probability(p)?,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!("p={}", py_float(1.0 - self.p_1))
    }
}

impl Default for Dropout {
    /// `p = 0.5`.
    fn default() -> Self {
        Dropout {
            p_1: 0.5,
            state: ModuleState::default(),
        }
    }
}

impl Forward for Dropout {
    fn forward(&self, x: &Array) -> Result<Array> {
        if self.p_1 == 1.0 || !self.state.training {
            return Ok(x.clone());
        }
        drop(x, self.p_1, x.shape())
    }
}

/// Channel-wise dropout of `(N, H, W, C)` or `(H, W, C)` inputs (MLX's `nn.Dropout2d`): in
/// training mode each channel of each sample is zeroed whole with probability `p`, the others
/// scaled by `1 / (1 - p)`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let drop = nn::Dropout2d::new(0.25)?;
/// assert_eq!(drop.forward(&mx::ones(&[2, 4, 4, 3], mx::float32)?)?.shape(), &[2, 4, 4, 3]);
/// assert!(drop.forward(&mx::ones(&[4, 3], mx::float32)?).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = Dropout2d::describe)]
pub struct Dropout2d {
    p_1: f64,
    state: ModuleState,
}

impl Dropout2d {
    /// Channel dropout with probability `p` (MLX's default is 0.5), in `[0, 1)`.
    pub fn new(p: f64) -> Result<Self> {
        Ok(Dropout2d {
            p_1: keep_probability(p)?,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!("p={}", py_float(1.0 - self.p_1))
    }
}

impl Forward for Dropout2d {
    fn forward(&self, x: &Array) -> Result<Array> {
        channel_dropout(x, self.p_1, self.state.training, 2)
    }
}

/// Channel-wise dropout of `(N, D, H, W, C)` or `(D, H, W, C)` inputs (MLX's
/// `nn.Dropout3d`): in training mode each channel of each sample is zeroed whole with
/// probability `p`, the others scaled by `1 / (1 - p)`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let drop = nn::Dropout3d::new(0.5)?;
/// assert_eq!(drop.forward(&mx::ones(&[2, 2, 2, 2, 3], mx::float32)?)?.shape(), &[2, 2, 2, 2, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = Dropout3d::describe)]
pub struct Dropout3d {
    p_1: f64,
    state: ModuleState,
}

impl Dropout3d {
    /// Channel dropout with probability `p` (MLX's default is 0.5), in `[0, 1)`.
    pub fn new(p: f64) -> Result<Self> {
        Ok(Dropout3d {
            p_1: keep_probability(p)?,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!("p={}", py_float(1.0 - self.p_1))
    }
}

impl Forward for Dropout3d {
    fn forward(&self, x: &Array) -> Result<Array> {
        channel_dropout(x, self.p_1, self.state.training, 3)
    }
}

/// Dropout of whole channels over `spatial` axes before the last.
fn channel_dropout(x: &Array, p_1: f64, training: bool, spatial: usize) -> Result<Array> {
    let nd = x.ndim();
    if nd != spatial + 1 && nd != spatial + 2 {
        return Err(Error::value(format!(
            "Received input with {nd} dimensions. Expected {} or {} dimensions.",
            spatial + 1,
            spatial + 2
        )));
    }
    if p_1 == 1.0 || !training {
        return Ok(x.clone());
    }
    let mut mask_shape = x.shape().to_vec();
    for d in &mut mask_shape[nd - 1 - spatial..nd - 1] {
        *d = 1;
    }
    drop(x, p_1, &mask_shape)
}
