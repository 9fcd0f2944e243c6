//! `Identity`, `Linear` and `Bilinear`.

use crate::core::{self as mx, Array, Error, Result};
use crate::{Forward, ModuleState, QuantizeOptions};

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
/// A `Linear` can also be quantized in place ([`Linear::quantize`], what `nn::quantize`
/// does): it then holds MLX's `QuantizedLinear` parameters (`weight` packed, `scales`,
/// `biases`, `bias`), prints and multiplies as `QuantizedLinear`, and its quantized arrays
/// are frozen, as MLX's are.
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
#[module(name_fn = Linear::class_name, repr = Linear::describe, quantize = Linear::quantize_with)]
pub struct Linear {
    /// `(output_dims, input_dims)`; packed `uint32` `(output_dims, input_dims * bits / 32)`
    /// when quantized.
    pub weight: Array,
    /// The quantization scales (quantized only).
    pub scales: Option<Array>,
    /// The quantization biases (quantized with the affine mode only).
    pub biases: Option<Array>,
    /// `(output_dims,)`, absent without bias.
    pub bias: Option<Array>,
    #[module(skip)]
    quantization: Option<Quantization>,
    state: ModuleState,
}

/// How a quantized layer's weight is packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantization {
    /// Elements per scale.
    pub group_size: usize,
    /// Bits per element.
    pub bits: usize,
    /// The mode.
    pub mode: mx::QuantMode,
}

impl Quantization {
    /// The options resolved with the mode's defaults (MLX's `_defaults_for_mode`).
    pub fn resolve(options: &QuantizeOptions) -> Self {
        let mode = options.mode;
        Quantization {
            group_size: options.group_size.unwrap_or(mode.default_group_size()),
            bits: options.bits.unwrap_or(mode.default_bits()),
            mode,
        }
    }

    /// `w` quantized: (packed weight, scales, biases).
    pub fn quantize(&self, w: &Array) -> Result<(Array, Array, Option<Array>)> {
        mx::quantize(w, Some(self.group_size), Some(self.bits), self.mode)
    }
}

/// A quantizable layer's arrays, for [`quantize_layer`].
pub(crate) struct QuantizableParts<'a> {
    pub weight: &'a mut Array,
    pub scales: &'a mut Option<Array>,
    pub biases: &'a mut Option<Array>,
    pub quantization: &'a mut Option<Quantization>,
    pub state: &'a mut ModuleState,
}

/// Quantizes a layer's weight in place (Linear, Embedding): packed `weight`, `scales`,
/// `biases`, all frozen as MLX's quantized layers freeze them. `layer` names the quantized
/// class in the error for a layer quantized already.
pub(crate) fn quantize_layer(
    parts: QuantizableParts<'_>,
    options: &QuantizeOptions,
    layer: &str,
) -> Result<()> {
    if parts.quantization.is_some() {
        return Err(Error::value(format!(
            "[{layer}] The layer is quantized already."
        )));
    }
    let q = Quantization::resolve(options);
    let (w, scales, biases) = q.quantize(parts.weight)?;
    *parts.weight = w;
    *parts.scales = Some(scales);
    let mut frozen = vec!["weight", "scales"];
    if biases.is_some() {
        frozen.push("biases");
    }
    *parts.biases = biases;
    *parts.quantization = Some(q);
    parts
        .state
        .no_grad
        .extend(frozen.into_iter().map(String::from));
    Ok(())
}

/// MLX's `nn.QuantizedLinear`: in rmlx a [`Linear`] in quantized form
/// ([`Linear::quantized`], [`Linear::to_quantized`]).
pub type QuantizedLinear = Linear;

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
        Self::from_weights(weight, bias)
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
            scales: None,
            biases: None,
            bias,
            quantization: None,
            state: ModuleState::default(),
        })
    }

    /// MLX's `QuantizedLinear(input_dims, output_dims, bias, group_size, bits, mode)`: a
    /// randomly initialised weight, quantized; a zero bias; every parameter frozen.
    ///
    /// ```
    /// use rmlx_nn::{self as nn, Forward, Module, QuantizeOptions};
    /// use rmlx_nn::core as mx;
    /// let q = nn::Linear::quantized(64, 8, true, &QuantizeOptions::default())?;
    /// assert_eq!(q.weight.shape(), &[8, 8]);
    /// assert_eq!(q.to_string(),
    ///     "QuantizedLinear(input_dims=64, output_dims=8, bias=True, group_size=64, bits=4, mode=affine)");
    /// assert_eq!(q.forward(&mx::ones(&[2, 64], mx::float32)?)?.shape(), &[2, 8]);
    /// assert!(nn::flat_parameters(&q.trainable_parameters()?).is_empty());
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn quantized(
        input_dims: usize,
        output_dims: usize,
        bias: bool,
        options: &QuantizeOptions,
    ) -> Result<Self> {
        let mut layer = Self::with_bias(input_dims, output_dims, false)?;
        layer.quantize(options)?;
        if bias {
            layer.bias = Some(mx::zeros(&[output_dims], mx::float32)?);
            layer.state.no_grad.insert("bias".to_string());
        }
        Ok(layer)
    }

    /// A quantized copy (MLX's `to_quantized` / `QuantizedLinear.from_linear`): the weight
    /// quantized and frozen, the bias kept (and trainable, as in MLX).
    pub fn to_quantized(&self, options: &QuantizeOptions) -> Result<Self> {
        let mut q = self.clone();
        q.quantize(options)?;
        Ok(q)
    }

    /// Quantizes this layer in place (see [`Linear::to_quantized`]); an error if it is
    /// quantized already or the weight does not suit the options.
    pub fn quantize(&mut self, options: &QuantizeOptions) -> Result<()> {
        quantize_layer(self.parts(), options, "QuantizedLinear")
    }

    fn parts(&mut self) -> QuantizableParts<'_> {
        QuantizableParts {
            weight: &mut self.weight,
            scales: &mut self.scales,
            biases: &mut self.biases,
            quantization: &mut self.quantization,
            state: &mut self.state,
        }
    }

    /// How the weight is packed, when quantized.
    pub fn quantization(&self) -> Option<Quantization> {
        self.quantization
    }

    /// `nn::quantize`'s hook: a layer quantized already is left alone (it has no
    /// `to_quantized` in MLX).
    fn quantize_with(&mut self, options: &QuantizeOptions) -> Result<bool> {
        if self.quantization.is_some() {
            return Ok(false);
        }
        self.quantize(options).map(|()| true)
    }

    fn class_name(&self) -> &'static str {
        if self.quantization.is_some() {
            "QuantizedLinear"
        } else {
            "Linear"
        }
    }

    fn describe(&self) -> String {
        let s = self.weight.shape();
        let (out_dims, mut in_dims) = (
            s.first().copied().unwrap_or(0),
            s.get(1).copied().unwrap_or(0),
        );
        let bias = if self.bias.is_some() { "True" } else { "False" };
        match &self.quantization {
            None => format!("input_dims={in_dims}, output_dims={out_dims}, bias={bias}"),
            Some(q) => {
                in_dims = in_dims * 32 / q.bits;
                format!(
                    "input_dims={in_dims}, output_dims={out_dims}, bias={bias}, group_size={}, \
                     bits={}, mode={}",
                    q.group_size, q.bits, q.mode
                )
            }
        }
    }
}

impl Forward for Linear {
    fn forward(&self, x: &Array) -> Result<Array> {
        match (&self.quantization, &self.scales) {
            (Some(q), Some(scales)) => {
                let y = mx::quantized_matmul(
                    x,
                    &self.weight,
                    scales,
                    self.biases.as_ref(),
                    true,
                    Some(q.group_size),
                    Some(q.bits),
                    q.mode,
                )?;
                match &self.bias {
                    Some(b) => mx::add(&y, b),
                    None => Ok(y),
                }
            }
            _ => {
                let wt = self.weight.transpose()?;
                match &self.bias {
                    Some(b) => mx::addmm(b, x, &wt, 1.0, 1.0),
                    None => mx::matmul(x, &wt),
                }
            }
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
