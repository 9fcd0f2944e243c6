//! `MultiHeadAttention` and the transformer layers: `TransformerEncoderLayer`,
//! `TransformerEncoder`, `TransformerDecoderLayer`, `TransformerDecoder`, `Transformer`.
//!
//! Parameter keys are MLX's (`layers.0.attention.query_proj.weight`, `ln1.weight`, ...), so
//! weights saved by MLX load strictly.

use crate::core::{self as mx, Array, Dtype, Error, Result, fast::AttentionMask};
use crate::{Dropout, Forward, LayerNorm, Linear, Module, ModuleState};

/// An activation function with the name it prints under (the transformer layers' and
/// `RNN`'s `activation`/`nonlinearity` argument).
///
/// ```
/// use rmlx_nn as nn;
/// use rmlx_nn::core as mx;
/// let y = nn::Activation::RELU.call(&mx::array![-1.0f32, 2.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 2.0]);
/// let double = nn::Activation::new("double", |x| mx::multiply(x, 2.0));
/// assert_eq!(double.call(&mx::array![3.0f32])?.item::<f32>()?, 6.0);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Activation {
    /// The function's name (`RNN` prints it).
    pub name: &'static str,
    /// The function.
    pub f: fn(&Array) -> Result<Array>,
}

impl Activation {
    /// `max(x, 0)` (MLX's `nn.relu`, the transformers' default).
    pub const RELU: Activation = Activation {
        name: "relu",
        f: |x| mx::maximum(x, 0.0),
    };
    /// `tanh(x)` (`RNN`'s default).
    pub const TANH: Activation = Activation {
        name: "tanh",
        f: |x| mx::tanh(x),
    };
    /// `sigmoid(x)`.
    pub const SIGMOID: Activation = Activation {
        name: "sigmoid",
        f: |x| mx::sigmoid(x),
    };
    /// `x * sigmoid(x)` (MLX's `nn.silu`).
    pub const SILU: Activation = Activation {
        name: "silu",
        f: |x| mx::multiply(x, mx::sigmoid(x)?),
    };
    /// `x * (1 + erf(x / sqrt 2)) / 2` (MLX's `nn.gelu`).
    pub const GELU: Activation = Activation {
        name: "gelu",
        f: |x| {
            let e = mx::erf(mx::divide(x, std::f64::consts::SQRT_2)?)?;
            mx::divide(mx::multiply(x, mx::add(e, 1.0)?)?, 2.0)
        },
    };

    /// An activation from a function.
    pub fn new(name: &'static str, f: fn(&Array) -> Result<Array>) -> Self {
        Activation { name, f }
    }

    /// The function applied to `x`.
    pub fn call(&self, x: &Array) -> Result<Array> {
        (self.f)(x)
    }
}

impl std::fmt::Debug for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Activation({})", self.name)
    }
}

/// Multi-head scaled dot-product attention (MLX's `nn.MultiHeadAttention`): queries, keys and
/// values are projected (`query_proj`, `key_proj`, `value_proj`, no biases by default), split
/// into `num_heads` heads, attended with scale `1/sqrt(head_dims)` and projected back by
/// `out_proj`.
///
/// ```
/// use rmlx_nn::{self as nn, Module};
/// use rmlx_nn::core as mx;
/// let mha = nn::MultiHeadAttention::new(8, 2)?;
/// let x = mx::ones(&[2, 5, 8], mx::float32)?;
/// let mask = nn::MultiHeadAttention::create_additive_causal_mask(5, mx::float32)?;
/// assert_eq!(mha.forward(&x, &x, &x, Some(&mask))?.shape(), &[2, 5, 8]);
/// assert_eq!(mha.children().len(), 4);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
pub struct MultiHeadAttention {
    /// The number of heads.
    pub num_heads: usize,
    /// `(dims, query_input_dims)`.
    pub query_proj: Linear,
    /// `(dims, key_input_dims)`.
    pub key_proj: Linear,
    /// `(value_dims, value_input_dims)`.
    pub value_proj: Linear,
    /// `(value_output_dims, value_dims)`.
    pub out_proj: Linear,
    state: ModuleState,
}

/// The options of [`MultiHeadAttention::with_options`], MLX's defaults by `Default`
/// (`None` dimensions: `dims`, except `value_input_dims`, which defaults to the key input
/// dimensions).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MultiHeadAttentionOptions {
    /// The queries' input features.
    pub query_input_dims: Option<usize>,
    /// The keys' input features.
    pub key_input_dims: Option<usize>,
    /// The values' input features.
    pub value_input_dims: Option<usize>,
    /// The values' features after projection.
    pub value_dims: Option<usize>,
    /// The output features.
    pub value_output_dims: Option<usize>,
    /// Biases in the projections. Default `false`.
    pub bias: bool,
}

impl MultiHeadAttention {
    /// Attention over `dims` features with `num_heads` heads (which must divide `dims`).
    pub fn new(dims: usize, num_heads: usize) -> Result<Self> {
        Self::with_options(dims, num_heads, &MultiHeadAttentionOptions::default())
    }

    /// Attention with the given input/output dimensions and biases.
    ///
    /// ```
    /// use rmlx_nn as nn;
    /// use rmlx_nn::core as mx;
    /// let opts = nn::MultiHeadAttentionOptions { key_input_dims: Some(3), value_output_dims: Some(6), bias: true, ..Default::default() };
    /// let mha = nn::MultiHeadAttention::with_options(4, 2, &opts)?;
    /// let (q, kv) = (mx::ones(&[1, 2, 4], mx::float32)?, mx::ones(&[1, 7, 3], mx::float32)?);
    /// assert_eq!(mha.forward(&q, &kv, &kv, None)?.shape(), &[1, 2, 6]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn with_options(
        dims: usize,
        num_heads: usize,
        options: &MultiHeadAttentionOptions,
    ) -> Result<Self> {
        if num_heads == 0 {
            return Err(Error::value("integer modulo by zero"));
        }
        if !dims.is_multiple_of(num_heads) {
            return Err(Error::value(format!(
                "The input feature dimensions should be divisible by the number of heads \
                 ({dims} % {num_heads}) != 0"
            )));
        }
        let pick = |o: Option<usize>, d: usize| o.filter(|&v| v != 0).unwrap_or(d);
        let query_input_dims = pick(options.query_input_dims, dims);
        let key_input_dims = pick(options.key_input_dims, dims);
        let value_input_dims = pick(options.value_input_dims, key_input_dims);
        let value_dims = pick(options.value_dims, dims);
        let value_output_dims = pick(options.value_output_dims, dims);
        let bias = options.bias;
        Ok(MultiHeadAttention {
            num_heads,
            query_proj: Linear::with_bias(query_input_dims, dims, bias)?,
            key_proj: Linear::with_bias(key_input_dims, dims, bias)?,
            value_proj: Linear::with_bias(value_input_dims, value_dims, bias)?,
            out_proj: Linear::with_bias(value_dims, value_output_dims, bias)?,
            state: ModuleState::default(),
        })
    }

    /// The projected inputs split into heads: `(batch, heads, length, head_dims)` each.
    fn heads(&self, queries: &Array, keys: &Array, values: &Array) -> Result<[Array; 3]> {
        let split = |x: Array| -> Result<Array> {
            if x.ndim() != 3 {
                // MLX's error: its transpose of the split heads needs (batch, length, features).
                return Err(Error::value(format!(
                    "[transpose] Received 4 axes for array with {} dimensions.",
                    x.ndim() + 1
                )));
            }
            mx::unflatten(&x, -1, [self.num_heads as isize, -1])?.transpose_axes([0, 2, 1, 3])
        };
        Ok([
            split(self.query_proj.forward(queries)?)?,
            split(self.key_proj.forward(keys)?)?,
            split(self.value_proj.forward(values)?)?,
        ])
    }

    fn merge(&self, out: &Array) -> Result<Array> {
        let out = mx::flatten(&out.transpose_axes([0, 2, 1, 3])?, -2, -1)?;
        self.out_proj.forward(&out)
    }

    /// Attention of `queries` `(batch, L_q, query_input_dims)` over `keys`
    /// `(batch, L_kv, key_input_dims)` and `values` `(batch, L_kv, value_input_dims)`:
    /// `(batch, L_q, value_output_dims)`. `mask`, broadcastable to
    /// `(batch, num_heads, L_q, L_kv)`, is additive (float) or keeps the scores where it is
    /// `true` (bool).
    pub fn forward(
        &self,
        queries: &Array,
        keys: &Array,
        values: &Array,
        mask: Option<&Array>,
    ) -> Result<Array> {
        let mask = mask.map_or(AttentionMask::None, AttentionMask::from);
        self.forward_masked(queries, keys, values, mask)
    }

    /// [`MultiHeadAttention::forward`] with any mask of the fused attention, e.g.
    /// `AttentionMask::Causal`.
    ///
    /// ```
    /// use rmlx_nn as nn;
    /// use rmlx_nn::core::{self as mx, fast::AttentionMask};
    /// let mha = nn::MultiHeadAttention::new(4, 1)?;
    /// let x = mx::ones(&[1, 3, 4], mx::float32)?;
    /// assert_eq!(mha.forward_masked(&x, &x, &x, AttentionMask::Causal)?.shape(), &[1, 3, 4]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn forward_masked(
        &self,
        queries: &Array,
        keys: &Array,
        values: &Array,
        mask: AttentionMask,
    ) -> Result<Array> {
        let [q, k, v] = self.heads(queries, keys, values)?;
        let scale = (1.0 / q.shape()[3] as f64).sqrt() as f32;
        let out = mx::fast::scaled_dot_product_attention(&q, &k, &v, scale, mask, None)?;
        self.merge(&out)
    }

    /// [`MultiHeadAttention::forward`] that also returns the attention weights
    /// `(batch, num_heads, L_q, L_kv)` (each row sums to 1), computed unfused.
    ///
    /// ```
    /// use rmlx_nn as nn;
    /// use rmlx_nn::core as mx;
    /// let mha = nn::MultiHeadAttention::new(4, 2)?;
    /// let x = mx::ones(&[1, 3, 4], mx::float32)?;
    /// let (out, w) = mha.forward_with_weights(&x, &x, &x, None)?;
    /// assert_eq!((out.shape(), w.shape()), (&[1, 3, 4][..], &[1, 2, 3, 3][..]));
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn forward_with_weights(
        &self,
        queries: &Array,
        keys: &Array,
        values: &Array,
        mask: Option<&Array>,
    ) -> Result<(Array, Array)> {
        let [q, k, v] = self.heads(queries, keys, values)?;
        let scale = (1.0 / q.shape()[3] as f64).sqrt();
        let mut scores = mx::matmul(&mx::multiply(&q, scale)?, &k.swapaxes(-1, -2)?)?;
        if let Some(m) = mask {
            scores = if m.dtype() == Dtype::Bool {
                let low = mx::finfo(scores.dtype())?.min;
                mx::where_(m, &scores, Array::scalar(low).astype(scores.dtype())?)?
            } else {
                mx::add(&scores, m)?
            };
        }
        let weights = mx::softmax_opts(&scores, Some(&[-1]), true)?;
        let out = mx::matmul(&weights, &v)?;
        Ok((self.merge(&out)?, weights))
    }

    /// The `(n, n)` additive causal mask: 0 on and below the diagonal, the dtype's lowest
    /// value above it (MLX's `create_additive_causal_mask`).
    ///
    /// ```
    /// use rmlx_nn as nn;
    /// use rmlx_nn::core as mx;
    /// let m = nn::MultiHeadAttention::create_additive_causal_mask(2, mx::float32)?;
    /// assert_eq!(m.to_vec::<f32>()?, vec![0.0, f32::MIN, 0.0, 0.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn create_additive_causal_mask(n: usize, dtype: Dtype) -> Result<Array> {
        let idx = mx::arange(0, n as i64, 1)?;
        let above = mx::less(mx::expand_dims(&idx, 1)?, mx::expand_dims(&idx, 0)?)?;
        let low = mx::finfo(dtype)?.min;
        mx::multiply(above.astype(dtype)?, Array::scalar(low).astype(dtype)?)
    }
}

/// The options of the transformer layers, MLX's defaults by `Default`.
#[derive(Clone, Debug)]
pub struct TransformerOptions {
    /// The hidden size of the MLP block; `None` (the default) is `4 * dims`.
    pub mlp_dims: Option<usize>,
    /// The dropout probability after attention and the activation. Default `0`.
    pub dropout: f64,
    /// The MLP's activation. Default [`Activation::RELU`].
    pub activation: Activation,
    /// Normalise before attention and the MLP (`true`, the default) or after.
    pub norm_first: bool,
    /// Recompute each layer in the backward pass instead of keeping its intermediates
    /// (`TransformerEncoder`, `TransformerDecoder` and `Transformer`). Default `false`.
    pub checkpoint: bool,
}

impl Default for TransformerOptions {
    fn default() -> Self {
        TransformerOptions {
            mlp_dims: None,
            dropout: 0.0,
            activation: Activation::RELU,
            norm_first: true,
            checkpoint: false,
        }
    }
}

/// `layer` called on `inputs` with its backward pass recomputing the forward pass
/// ([`crate::checkpoint`], MLX's `nn.utils.checkpoint`).
fn checkpointed<M: Module + Clone>(
    layer: &M,
    inputs: &[Array],
    call: impl Fn(&M, &[Array]) -> Result<Array> + Send + Sync + 'static,
) -> Result<Array> {
    crate::checkpoint(move |l: &M, xs: &[Array]| Ok(vec![call(l, xs)?]))(layer, inputs)?
        .pop()
        .ok_or_else(|| Error::value("[checkpoint] the layer returned nothing."))
}

/// How a mask reaches a checkpointed layer: a float mask is one of its inputs (gradients
/// reach it, as in MLX); a boolean one, which has no gradient, is captured.
enum MaskSlot {
    None,
    Input(usize),
    Fixed(Array),
}

impl MaskSlot {
    fn new(mask: Option<&Array>, inputs: &mut Vec<Array>) -> Self {
        match mask {
            None => MaskSlot::None,
            Some(m) if m.dtype().is_inexact() => {
                inputs.push(m.clone());
                MaskSlot::Input(inputs.len() - 1)
            }
            Some(m) => MaskSlot::Fixed(m.clone()),
        }
    }

    fn get<'a>(&'a self, inputs: &'a [Array]) -> Option<&'a Array> {
        match self {
            MaskSlot::None => None,
            MaskSlot::Input(i) => inputs.get(*i),
            MaskSlot::Fixed(m) => Some(m),
        }
    }
}

/// One transformer encoder block (MLX's `nn.TransformerEncoderLayer`): self-attention and an
/// MLP (`linear1`, activation, `linear2`), each with a residual connection and a layer norm
/// (`ln1`, `ln2`) before (`norm_first`) or after.
///
/// ```
/// use rmlx_nn as nn;
/// use rmlx_nn::core as mx;
/// let layer = nn::TransformerEncoderLayer::new(8, 2)?;
/// let x = mx::ones(&[2, 3, 8], mx::float32)?;
/// assert_eq!(layer.forward(&x, None)?.shape(), &[2, 3, 8]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
pub struct TransformerEncoderLayer {
    /// Self-attention.
    pub attention: MultiHeadAttention,
    /// The first norm.
    pub ln1: LayerNorm,
    /// The second norm.
    pub ln2: LayerNorm,
    /// `dims → mlp_dims`.
    pub linear1: Linear,
    /// `mlp_dims → dims`.
    pub linear2: Linear,
    /// After attention.
    pub dropout1: Dropout,
    /// After the activation.
    pub dropout2: Dropout,
    /// The MLP's activation.
    #[module(skip)]
    pub activation: Activation,
    /// Normalise first.
    pub norm_first: bool,
    state: ModuleState,
}

impl TransformerEncoderLayer {
    /// An encoder layer with MLX's defaults.
    pub fn new(dims: usize, num_heads: usize) -> Result<Self> {
        Self::with_options(dims, num_heads, &TransformerOptions::default())
    }

    /// An encoder layer with the given options (`checkpoint` is not used by one layer).
    pub fn with_options(
        dims: usize,
        num_heads: usize,
        options: &TransformerOptions,
    ) -> Result<Self> {
        let mlp_dims = options.mlp_dims.filter(|&m| m != 0).unwrap_or(dims * 4);
        Ok(TransformerEncoderLayer {
            attention: MultiHeadAttention::new(dims, num_heads)?,
            ln1: LayerNorm::new(dims)?,
            ln2: LayerNorm::new(dims)?,
            linear1: Linear::new(dims, mlp_dims)?,
            linear2: Linear::new(mlp_dims, dims)?,
            dropout1: Dropout::new(options.dropout)?,
            dropout2: Dropout::new(options.dropout)?,
            activation: options.activation,
            norm_first: options.norm_first,
            state: ModuleState::default(),
        })
    }

    /// The layer applied to `x` `(batch, length, dims)` with an optional attention mask.
    pub fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        let mlp = |y: &Array| -> Result<Array> {
            let y = self.activation.call(&self.linear1.forward(y)?)?;
            self.linear2.forward(&self.dropout2.forward(&y)?)
        };
        if self.norm_first {
            let y = self.ln1.forward(x)?;
            let y = self.attention.forward(&y, &y, &y, mask)?;
            let x = mx::add(x, self.dropout1.forward(&y)?)?;
            let y = mlp(&self.ln2.forward(&x)?)?;
            mx::add(&x, &y)
        } else {
            let y = self.attention.forward(x, x, x, mask)?;
            let x = self.ln1.forward(&mx::add(x, self.dropout1.forward(&y)?)?)?;
            let y = mlp(&x)?;
            self.ln2.forward(&mx::add(&x, &y)?)
        }
    }
}

/// A stack of [`TransformerEncoderLayer`]s followed by a layer norm `ln` (MLX's
/// `nn.TransformerEncoder`).
///
/// ```
/// use rmlx_nn as nn;
/// use rmlx_nn::core as mx;
/// let enc = nn::TransformerEncoder::new(2, 8, 2)?;
/// let x = mx::ones(&[1, 4, 8], mx::float32)?;
/// let mask = nn::MultiHeadAttention::create_additive_causal_mask(4, mx::float32)?;
/// assert_eq!(enc.forward(&x, Some(&mask))?.shape(), &[1, 4, 8]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
pub struct TransformerEncoder {
    /// The layers.
    pub layers: Vec<TransformerEncoderLayer>,
    /// The final norm.
    pub ln: LayerNorm,
    /// Recompute the layers in the backward pass.
    pub checkpoint: bool,
    state: ModuleState,
}

impl TransformerEncoder {
    /// `num_layers` encoder layers with MLX's defaults.
    pub fn new(num_layers: usize, dims: usize, num_heads: usize) -> Result<Self> {
        Self::with_options(num_layers, dims, num_heads, &TransformerOptions::default())
    }

    /// `num_layers` encoder layers with the given options.
    pub fn with_options(
        num_layers: usize,
        dims: usize,
        num_heads: usize,
        options: &TransformerOptions,
    ) -> Result<Self> {
        Ok(TransformerEncoder {
            layers: (0..num_layers)
                .map(|_| TransformerEncoderLayer::with_options(dims, num_heads, options))
                .collect::<Result<_>>()?,
            ln: LayerNorm::new(dims)?,
            checkpoint: options.checkpoint,
            state: ModuleState::default(),
        })
    }

    /// The encoder applied to `x` `(batch, length, dims)` with an optional mask.
    pub fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = if self.checkpoint {
                let mut inputs = vec![x];
                let slot = MaskSlot::new(mask, &mut inputs);
                checkpointed(layer, &inputs, move |l, xs| l.forward(&xs[0], slot.get(xs)))?
            } else {
                layer.forward(&x, mask)?
            };
        }
        self.ln.forward(&x)
    }
}

/// One transformer decoder block (MLX's `nn.TransformerDecoderLayer`): self-attention,
/// cross-attention over the encoder's output and an MLP, each with a residual connection and
/// a layer norm (`ln1`, `ln2`, `ln3`) before (`norm_first`) or after.
///
/// ```
/// use rmlx_nn as nn;
/// use rmlx_nn::core as mx;
/// let layer = nn::TransformerDecoderLayer::new(8, 2)?;
/// let (x, memory) = (mx::ones(&[2, 3, 8], mx::float32)?, mx::ones(&[2, 5, 8], mx::float32)?);
/// assert_eq!(layer.forward(&x, &memory, None, None)?.shape(), &[2, 3, 8]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
pub struct TransformerDecoderLayer {
    /// Self-attention.
    pub self_attention: MultiHeadAttention,
    /// Attention over the memory.
    pub cross_attention: MultiHeadAttention,
    /// The first norm.
    pub ln1: LayerNorm,
    /// The second norm.
    pub ln2: LayerNorm,
    /// The third norm.
    pub ln3: LayerNorm,
    /// `dims → mlp_dims`.
    pub linear1: Linear,
    /// `mlp_dims → dims`.
    pub linear2: Linear,
    /// After self-attention.
    pub dropout1: Dropout,
    /// After cross-attention.
    pub dropout2: Dropout,
    /// After the activation.
    pub dropout3: Dropout,
    /// The MLP's activation.
    #[module(skip)]
    pub activation: Activation,
    /// Normalise first.
    pub norm_first: bool,
    state: ModuleState,
}

impl TransformerDecoderLayer {
    /// A decoder layer with MLX's defaults.
    pub fn new(dims: usize, num_heads: usize) -> Result<Self> {
        Self::with_options(dims, num_heads, &TransformerOptions::default())
    }

    /// A decoder layer with the given options (`checkpoint` is not used by one layer).
    pub fn with_options(
        dims: usize,
        num_heads: usize,
        options: &TransformerOptions,
    ) -> Result<Self> {
        let mlp_dims = options.mlp_dims.filter(|&m| m != 0).unwrap_or(dims * 4);
        Ok(TransformerDecoderLayer {
            self_attention: MultiHeadAttention::new(dims, num_heads)?,
            cross_attention: MultiHeadAttention::new(dims, num_heads)?,
            ln1: LayerNorm::new(dims)?,
            ln2: LayerNorm::new(dims)?,
            ln3: LayerNorm::new(dims)?,
            linear1: Linear::new(dims, mlp_dims)?,
            linear2: Linear::new(mlp_dims, dims)?,
            dropout1: Dropout::new(options.dropout)?,
            dropout2: Dropout::new(options.dropout)?,
            dropout3: Dropout::new(options.dropout)?,
            activation: options.activation,
            norm_first: options.norm_first,
            state: ModuleState::default(),
        })
    }

    /// The layer applied to `x` `(batch, length, dims)` attending to `memory`
    /// `(batch, memory_length, dims)`, with optional masks for each attention.
    pub fn forward(
        &self,
        x: &Array,
        memory: &Array,
        x_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        let mlp = |y: &Array| -> Result<Array> {
            let y = self.activation.call(&self.linear1.forward(y)?)?;
            self.linear2.forward(&self.dropout3.forward(&y)?)
        };
        if self.norm_first {
            let y = self.ln1.forward(x)?;
            let y = self.self_attention.forward(&y, &y, &y, x_mask)?;
            let x = mx::add(x, self.dropout1.forward(&y)?)?;
            let y = self.ln2.forward(&x)?;
            let y = self
                .cross_attention
                .forward(&y, memory, memory, memory_mask)?;
            let x = mx::add(&x, self.dropout2.forward(&y)?)?;
            let y = mlp(&self.ln3.forward(&x)?)?;
            mx::add(&x, &y)
        } else {
            let y = self.self_attention.forward(x, x, x, x_mask)?;
            let x = self.ln1.forward(&mx::add(x, self.dropout1.forward(&y)?)?)?;
            let y = self
                .cross_attention
                .forward(&x, memory, memory, memory_mask)?;
            let x = self
                .ln2
                .forward(&mx::add(&x, self.dropout2.forward(&y)?)?)?;
            let y = mlp(&x)?;
            self.ln3.forward(&mx::add(&x, &y)?)
        }
    }
}

/// A stack of [`TransformerDecoderLayer`]s followed by a layer norm `ln` (MLX's
/// `nn.TransformerDecoder`).
///
/// ```
/// use rmlx_nn as nn;
/// use rmlx_nn::core as mx;
/// let dec = nn::TransformerDecoder::new(2, 8, 2)?;
/// let (x, memory) = (mx::ones(&[1, 3, 8], mx::float32)?, mx::ones(&[1, 4, 8], mx::float32)?);
/// assert_eq!(dec.forward(&x, &memory, None, None)?.shape(), &[1, 3, 8]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
pub struct TransformerDecoder {
    /// The layers.
    pub layers: Vec<TransformerDecoderLayer>,
    /// The final norm.
    pub ln: LayerNorm,
    /// Recompute the layers in the backward pass.
    pub checkpoint: bool,
    state: ModuleState,
}

impl TransformerDecoder {
    /// `num_layers` decoder layers with MLX's defaults.
    pub fn new(num_layers: usize, dims: usize, num_heads: usize) -> Result<Self> {
        Self::with_options(num_layers, dims, num_heads, &TransformerOptions::default())
    }

    /// `num_layers` decoder layers with the given options.
    pub fn with_options(
        num_layers: usize,
        dims: usize,
        num_heads: usize,
        options: &TransformerOptions,
    ) -> Result<Self> {
        Ok(TransformerDecoder {
            layers: (0..num_layers)
                .map(|_| TransformerDecoderLayer::with_options(dims, num_heads, options))
                .collect::<Result<_>>()?,
            ln: LayerNorm::new(dims)?,
            checkpoint: options.checkpoint,
            state: ModuleState::default(),
        })
    }

    /// The decoder applied to `x` attending to `memory`, with optional masks.
    pub fn forward(
        &self,
        x: &Array,
        memory: &Array,
        x_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = if self.checkpoint {
                let mut inputs = vec![x, memory.clone()];
                let xm = MaskSlot::new(x_mask, &mut inputs);
                let mm = MaskSlot::new(memory_mask, &mut inputs);
                checkpointed(layer, &inputs, move |l, xs| {
                    l.forward(&xs[0], &xs[1], xm.get(xs), mm.get(xs))
                })?
            } else {
                layer.forward(&x, memory, x_mask, memory_mask)?
            };
        }
        self.ln.forward(&x)
    }
}

/// An encoder-decoder transformer (MLX's `nn.Transformer`): `encoder` reads the source,
/// `decoder` the target with cross-attention to the encoder's output.
///
/// ```
/// use rmlx_nn as nn;
/// use rmlx_nn::core as mx;
/// let model = nn::Transformer::new(8, 2, 1, 1)?;
/// let (src, tgt) = (mx::ones(&[1, 5, 8], mx::float32)?, mx::ones(&[1, 3, 8], mx::float32)?);
/// let mask = nn::MultiHeadAttention::create_additive_causal_mask(3, mx::float32)?;
/// assert_eq!(model.forward(&src, &tgt, None, Some(&mask), None)?.shape(), &[1, 3, 8]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
pub struct Transformer {
    /// The encoder.
    pub encoder: TransformerEncoder,
    /// The decoder.
    pub decoder: TransformerDecoder,
    state: ModuleState,
}

impl Transformer {
    /// A transformer with MLX's defaults for the other options (MLX's own defaults for these
    /// four are 512, 8, 6 and 6).
    pub fn new(
        dims: usize,
        num_heads: usize,
        num_encoder_layers: usize,
        num_decoder_layers: usize,
    ) -> Result<Self> {
        Self::with_options(
            dims,
            num_heads,
            num_encoder_layers,
            num_decoder_layers,
            &TransformerOptions::default(),
        )
    }

    /// A transformer with the given options.
    pub fn with_options(
        dims: usize,
        num_heads: usize,
        num_encoder_layers: usize,
        num_decoder_layers: usize,
        options: &TransformerOptions,
    ) -> Result<Self> {
        Ok(Transformer {
            encoder: TransformerEncoder::with_options(
                num_encoder_layers,
                dims,
                num_heads,
                options,
            )?,
            decoder: TransformerDecoder::with_options(
                num_decoder_layers,
                dims,
                num_heads,
                options,
            )?,
            state: ModuleState::default(),
        })
    }

    /// The decoder's output for `tgt` given the encoded `src`, with optional masks.
    pub fn forward(
        &self,
        src: &Array,
        tgt: &Array,
        src_mask: Option<&Array>,
        tgt_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        let memory = self.encoder.forward(src, src_mask)?;
        self.decoder.forward(tgt, &memory, tgt_mask, memory_mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flat_parameters;
    use crate::pyrepr::py_float;

    fn max_abs_diff(a: &Array, b: &Array) -> f32 {
        let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn py_float_prints_as_python() {
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(1.0 - 0.9), "0.09999999999999998");
        assert_eq!(py_float(0.25), "0.25");
        assert_eq!(py_float(2.5e16), "2.5e+16");
        assert_eq!(py_float(-3.0), "-3.0");
    }

    #[test]
    fn attention_weights_agree_with_the_fused_attention() -> Result<()> {
        mx::random::seed(3);
        let mha = MultiHeadAttention::with_options(
            8,
            2,
            &MultiHeadAttentionOptions {
                key_input_dims: Some(5),
                bias: true,
                ..Default::default()
            },
        )?;
        let q = mx::random::normal(&[2, 3, 8], mx::float32, None)?;
        let kv = mx::random::normal(&[2, 4, 5], mx::float32, None)?;
        let additive = mx::random::normal(&[3, 4], mx::float32, None)?;
        let boolean = mx::array![
            [true, false, true, false],
            [true, true, false, false],
            [false, false, false, true]
        ];
        for mask in [None, Some(&additive), Some(&boolean)] {
            let fused = mha.forward(&q, &kv, &kv, mask)?;
            let (out, w) = mha.forward_with_weights(&q, &kv, &kv, mask)?;
            assert!(max_abs_diff(&fused, &out) < 1e-5);
            assert_eq!(w.shape(), &[2, 2, 3, 4]);
            let rows = mx::sum_axes(&w, -1, false)?;
            assert!(max_abs_diff(&rows, &mx::ones(&[2, 2, 3], mx::float32)?) < 1e-5);
        }
        let (_, w) = mha.forward_with_weights(&q, &kv, &kv, Some(&boolean))?;
        // masked keys get no weight
        assert_eq!(w.to_vec::<f32>()?[1], 0.0);
        Ok(())
    }

    #[test]
    fn checkpointed_stacks_match_plain_ones() -> Result<()> {
        mx::random::seed(5);
        let opts = TransformerOptions {
            mlp_dims: Some(8),
            ..Default::default()
        };
        let plain = Transformer::with_options(8, 2, 1, 1, &opts)?;
        let mut ckpt = plain.clone();
        ckpt.encoder.checkpoint = true;
        ckpt.decoder.checkpoint = true;
        let src = mx::random::normal(&[2, 4, 8], mx::float32, None)?;
        let tgt = mx::random::normal(&[2, 3, 8], mx::float32, None)?;
        let mask = MultiHeadAttention::create_additive_causal_mask(3, mx::float32)?;
        let loss = |m: &Transformer, x: &[Array]| {
            mx::sum(&m.forward(&x[0], &x[1], None, Some(&mask), None)?)
        };
        let (v1, g1) = crate::value_and_grad(loss)(&plain, &[src.clone(), tgt.clone()])?;
        let (v2, g2) = crate::value_and_grad(loss)(&ckpt, &[src, tgt])?;
        assert!(max_abs_diff(&v1, &v2) < 1e-5);
        let (g1, g2) = (flat_parameters(&g1), flat_parameters(&g2));
        assert_eq!(g1.len(), g2.len());
        for ((k1, a), (k2, b)) in g1.iter().zip(&g2) {
            assert_eq!(k1, k2);
            assert!(max_abs_diff(a, b) < 1e-4, "{k1}");
        }
        Ok(())
    }
}
