//! `Identity`, `Linear` and `Bilinear`.

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

/// `y_i = x2^T W_i x1 + b_i` (MLX's `nn.Bilinear`): `weight` is
/// `(output_dims, input2_dims, input1_dims)`, `bias` `(output_dims,)`, both initialised from
/// `U(-1/sqrt(input1_dims), 1/sqrt(input1_dims))` as in MLX.
///
/// ```
/// use rmlx_nn as nn;
/// use rmlx_nn::core as mx;
/// let layer = nn::Bilinear::new(3, 2, 4)?;
/// let y = layer.forward(&mx::ones(&[5, 3], mx::float32)?, &mx::ones(&[5, 2], mx::float32)?)?;
/// assert_eq!(y.shape(), &[5, 4]);
/// assert_eq!(layer.to_string(), "Bilinear(input1_dims=3, input2_dims=2, output_dims=4, bias=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = Bilinear::describe)]
pub struct Bilinear {
    /// `(output_dims, input2_dims, input1_dims)`.
    pub weight: Array,
    /// `(output_dims,)`, absent without bias.
    pub bias: Option<Array>,
    state: ModuleState,
}

impl Bilinear {
    /// A bilinear layer with a bias.
    pub fn new(input1_dims: usize, input2_dims: usize, output_dims: usize) -> Result<Self> {
        Self::with_bias(input1_dims, input2_dims, output_dims, true)
    }

    /// A bilinear layer, with or without a bias.
    pub fn with_bias(
        input1_dims: usize,
        input2_dims: usize,
        output_dims: usize,
        bias: bool,
    ) -> Result<Self> {
        let scale = (1.0 / input1_dims as f64).sqrt() as f32;
        let weight = mx::random::uniform(
            -scale,
            scale,
            &[output_dims, input2_dims, input1_dims],
            mx::float32,
            None,
        )?;
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
        Ok(Bilinear {
            weight,
            bias,
            state: ModuleState::default(),
        })
    }

    fn dims(&self) -> (usize, usize, usize) {
        let s = self.weight.shape();
        let d = |i: usize| s.get(i).copied().unwrap_or(0);
        (d(0), d(1), d(2))
    }

    fn describe(&self) -> String {
        let (out, in2, in1) = self.dims();
        format!(
            "input1_dims={in1}, input2_dims={in2}, output_dims={out}, bias={}",
            if self.bias.is_some() { "True" } else { "False" }
        )
    }

    /// The layer applied to `x1` (`(..., input1_dims)`) and `x2` (`(..., input2_dims)`, the
    /// same leading dimensions): `(..., output_dims)`.
    pub fn forward(&self, x1: &Array, x2: &Array) -> Result<Array> {
        let (out, in2, in1) = self.dims();
        let lead: Vec<isize> = x1.shape()[..x1.ndim().saturating_sub(1)]
            .iter()
            .map(|&d| d as isize)
            .collect();
        let x1 = x1.reshape([-1, in1 as isize])?;
        let x2 = x2.reshape([-1, 1, in2 as isize])?;
        // x1 W^T for every (output, input2) row, then contracted with x2.
        let w = self.weight.reshape([(out * in2) as isize, in1 as isize])?;
        let y = mx::matmul(&x1, &w.transpose()?)?;
        let y = y
            .reshape([-1, out as isize, in2 as isize])?
            .swapaxes(-2, -1)?;
        let y = mx::squeeze(&mx::matmul(&x2, &y)?, Some(1))?;
        let mut shape = lead;
        shape.push(out as isize);
        let y = y.reshape(shape)?;
        match &self.bias {
            Some(b) => mx::add(&y, b),
            None => Ok(y),
        }
    }
}
