//! `Embedding`: a lookup table from integer tokens to vectors.

use crate::core::{self as mx, Array, Error, Result};
use crate::layers::linear::{QuantizableParts, quantize_layer};
use crate::{Forward, ModuleState, Quantization, QuantizeOptions};

/// Maps each integer of its input to a row of `weight` (MLX's `nn.Embedding`): `weight` is
/// `(num_embeddings, dims)`, initialised from `N(0, 1/dims)` as in MLX.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let emb = nn::Embedding::new(10, 4)?;
/// let tokens = mx::array![[1i32, 2, 3], [4, 5, 6]];
/// assert_eq!(emb.forward(&tokens)?.shape(), &[2, 3, 4]);
/// assert_eq!(emb.as_linear(&mx::ones(&[2, 4], mx::float32)?)?.shape(), &[2, 10]);
/// assert_eq!(emb.to_string(), "Embedding(10, 4)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(name_fn = Embedding::class_name, repr = Embedding::describe, quantize = Embedding::quantize_with)]
pub struct Embedding {
    /// `(num_embeddings, dims)`.
    pub weight: Array,
    /// The quantization scales (quantized only).
    pub scales: Option<Array>,
    /// The quantization biases (quantized with the affine mode only).
    pub biases: Option<Array>,
    #[module(skip)]
    quantization: Option<Quantization>,
    state: ModuleState,
}

impl Embedding {
    /// A table of `num_embeddings` vectors of `dims` features.
    pub fn new(num_embeddings: usize, dims: usize) -> Result<Self> {
        if dims == 0 {
            return Err(Error::value("[Embedding] dims must be positive."));
        }
        let scale = (1.0 / dims as f64).sqrt() as f32;
        let weight = mx::multiply(
            mx::random::normal(&[num_embeddings, dims], mx::float32, None)?,
            scale,
        )?;
        Self::from_weights(weight)
    }

    /// A layer holding the given table (`(num_embeddings, dims)`).
    ///
    /// ```
    /// use rmlx_nn::{self as nn, Forward};
    /// use rmlx_nn::core as mx;
    /// let emb = nn::Embedding::from_weights(mx::array![[0.0f32, 1.0], [2.0, 3.0]])?;
    /// assert_eq!(emb.forward(&mx::array![1u32])?.to_vec::<f32>()?, vec![2.0, 3.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn from_weights(weight: Array) -> Result<Self> {
        if weight.ndim() != 2 {
            return Err(Error::value(format!(
                "[Embedding] weight must have 2 dimensions (num_embeddings, dims), got shape {:?}.",
                weight.shape()
            )));
        }
        Ok(Embedding {
            weight,
            scales: None,
            biases: None,
            quantization: None,
            state: ModuleState::default(),
        })
    }

    /// The layer used as a linear projection onto the vocabulary, `x @ weight^T` (for tied
    /// input and output embeddings; MLX's `as_linear`).
    ///
    /// ```
    /// use rmlx_nn as nn;
    /// use rmlx_nn::core as mx;
    /// let emb = nn::Embedding::from_weights(mx::array![[1.0f32, 0.0], [0.0, 2.0]])?;
    /// assert_eq!(emb.as_linear(&mx::array![[3.0f32, 4.0]])?.to_vec::<f32>()?, vec![3.0, 8.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn as_linear(&self, x: &Array) -> Result<Array> {
        match (&self.quantization, &self.scales) {
            (Some(q), Some(scales)) => mx::quantized_matmul(
                x,
                &self.weight,
                scales,
                self.biases.as_ref(),
                true,
                Some(q.group_size),
                Some(q.bits),
                q.mode,
            ),
            _ => mx::matmul(x, &self.weight.transpose()?),
        }
    }

    /// MLX's `QuantizedEmbedding(num_embeddings, dims, group_size, bits, mode)`: a randomly
    /// initialised table, quantized, every parameter frozen.
    ///
    /// ```
    /// use rmlx_nn::{self as nn, Forward, Module, QuantizeOptions};
    /// use rmlx_nn::core as mx;
    /// let q = nn::Embedding::quantized(10, 64, &QuantizeOptions::default())?;
    /// assert_eq!(q.to_string(), "QuantizedEmbedding(10, 64, group_size=64, bits=4, mode=affine)");
    /// assert_eq!(q.forward(&mx::array![[1, 2, 3]])?.shape(), &[1, 3, 64]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn quantized(
        num_embeddings: usize,
        dims: usize,
        options: &QuantizeOptions,
    ) -> Result<Self> {
        let mut e = Self::new(num_embeddings, dims)?;
        e.quantize(options)?;
        Ok(e)
    }

    /// A quantized copy (MLX's `to_quantized` / `QuantizedEmbedding.from_embedding`).
    pub fn to_quantized(&self, options: &QuantizeOptions) -> Result<Self> {
        let mut q = self.clone();
        q.quantize(options)?;
        Ok(q)
    }

    /// Quantizes the table in place: it then holds MLX's `QuantizedEmbedding` parameters
    /// (packed `weight`, `scales`, `biases`), all frozen as in MLX.
    pub fn quantize(&mut self, options: &QuantizeOptions) -> Result<()> {
        let parts = QuantizableParts {
            weight: &mut self.weight,
            scales: &mut self.scales,
            biases: &mut self.biases,
            quantization: &mut self.quantization,
            state: &mut self.state,
        };
        quantize_layer(parts, options, "QuantizedEmbedding")
    }

    /// How the table is packed, when quantized.
    pub fn quantization(&self) -> Option<Quantization> {
        self.quantization
    }

    /// `nn::quantize`'s hook: a quantized table is left alone.
    fn quantize_with(&mut self, options: &QuantizeOptions) -> Result<bool> {
        if self.quantization.is_some() {
            return Ok(false);
        }
        self.quantize(options).map(|()| true)
    }

    fn class_name(&self) -> &'static str {
        if self.quantization.is_some() {
            "QuantizedEmbedding"
        } else {
            "Embedding"
        }
    }

    fn describe(&self) -> String {
        let s = self.weight.shape();
        let (n, cols) = (
            s.first().copied().unwrap_or(0),
            s.get(1).copied().unwrap_or(0),
        );
        match &self.quantization {
            None => format!("{n}, {cols}"),
            Some(q) => format!(
                "{n}, {}, group_size={}, bits={}, mode={}",
                cols * 32 / q.bits,
                q.group_size,
                q.bits,
                q.mode
            ),
        }
    }
}

/// MLX's `nn.QuantizedEmbedding`: in rmlx an [`Embedding`] in quantized form
/// ([`Embedding::quantized`], [`Embedding::to_quantized`]).
pub type QuantizedEmbedding = Embedding;

impl Forward for Embedding {
    /// The rows of `weight` selected by the integer array `x`: shape `x.shape + (dims,)`.
    fn forward(&self, x: &Array) -> Result<Array> {
        if !mx::issubdtype(x.dtype(), mx::integer) {
            return Err(Error::value(
                "[gather] Got indices with invalid dtype. Indices must be integral.",
            ));
        }
        match (&self.quantization, &self.scales) {
            (Some(q), Some(scales)) => {
                let rows = |a: &Array| mx::take(a, x, Some(0));
                let biases = self.biases.as_ref().map(rows).transpose()?;
                mx::dequantize(
                    &rows(&self.weight)?,
                    &rows(scales)?,
                    biases.as_ref(),
                    Some(q.group_size),
                    Some(q.bits),
                    q.mode,
                    None,
                )
            }
            _ => mx::take(&self.weight, x, Some(0)),
        }
    }
}
