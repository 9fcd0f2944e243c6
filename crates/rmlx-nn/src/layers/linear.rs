//! `Identity`, `Linear` (and later `Bilinear`).

use crate::core::{self as mx, Array, Error, Result};
use crate::{Forward, ModuleState};

/// Returns its input (MLX's `nn.Identity`).
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// let x = rmlx_nn::core::array![1.0, 2.0];
/// assert_eq!(nn::Identity::new().forward(&x)?.to_vec::<f32>()?, vec![1.0, 2.0]);
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
#[derive(Clone, Debug, Default, crate::Module)]
pub struct Identity {
    state: ModuleState,
}

impl Identity {
    /// The identity layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Forward for Identity {
    fn forward(&self, x: &Array) -> Result<Array> {
        Ok(x.clone())
    }
}

/// `y = x W^T + b` (MLX's `nn.Linear`): `weight` is `(output_dims, input_dims)`, both
/// initialised from `U(-1/sqrt(input_dims), 1/sqrt(input_dims))` as in MLX.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let layer = nn::Linear::new(3, 2)?;
/// assert_eq!(layer.weight.shape(), &[2, 3]);
/// assert_eq!(layer.forward(&mx::ones(&[4, 3], mx::float32)?)?.shape(), &[4, 2]);
/// assert_eq!(layer.to_string(), "Linear(input_dims=3, output_dims=2, bias=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = Linear::describe)]
pub struct Linear {
    /// `(output_dims, input_dims)`.
    pub weight: Array,
    /// `(output_dims,)`, absent without bias.
    pub bias: Option<Array>,
    state: ModuleState,
}

impl Linear {
    /// A linear layer with a bias.
    pub fn new(input_dims: usize, output_dims: usize) -> Result<Self> {
        Self::with_bias(input_dims, output_dims, true)
    }

    /// A linear layer, with or without a bias.
    pub fn with_bias(input_dims: usize, output_dims: usize, bias: bool) -> Result<Self> {
        let scale = (1.0 / input_dims as f64).sqrt() as f32;
        let weight =
            mx::random::uniform(-scale, scale, &[output_dims, input_dims], mx::float32, None)?;
        let bias = if bias {
            Some(mx::random::uniform(
                -scale,
                scale,
                &[output_dims],
                mx::float32,
                None,
            )?)
        } else {
            None
        };
        Ok(Linear {
            weight,
            bias,
            state: ModuleState::default(),
        })
    }

    /// A layer holding the given arrays (`weight` `(out, in)`, `bias` `(out,)`).
    pub fn from_weights(weight: Array, bias: Option<Array>) -> Result<Self> {
        if weight.ndim() != 2 {
            return Err(Error::value(format!(
                "[Linear] weight must have 2 dimensions (output_dims, input_dims), got shape {:?}.",
                weight.shape()
            )));
        }
        if let Some(b) = &bias
            && b.shape() != [weight.shape()[0]]
        {
            return Err(Error::value(format!(
                "[Linear] bias must have shape ({},), got {:?}.",
                weight.shape()[0],
                b.shape()
            )));
        }
        Ok(Linear {
            weight,
            bias,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        let s = self.weight.shape();
        format!(
            "input_dims={}, output_dims={}, bias={}",
            s.get(1).copied().unwrap_or(0),
            s.first().copied().unwrap_or(0),
            if self.bias.is_some() { "True" } else { "False" }
        )
    }
}

impl Forward for Linear {
    fn forward(&self, x: &Array) -> Result<Array> {
        let wt = self.weight.transpose()?;
        match &self.bias {
            Some(b) => mx::addmm(b, x, &wt, 1.0, 1.0),
            None => mx::matmul(x, &wt),
        }
    }
}
