//! BERT (the encoder of Devlin et al., as Hugging Face's `BertModel` lays out its weights),
//! written with rmlx-nn.
//!
//! Every parameter's dotted key is the key of Hugging Face's checkpoints
//! (`encoder.layer.0.attention.self.query.weight`, `embeddings.LayerNorm.bias`, ...), so a
//! `model.safetensors` loads strictly with [`Bert::load_safetensors`]; the one entry those files
//! carry that is not a parameter, the `embeddings.position_ids` buffer (`0..max_positions`),
//! is dropped by name. The pooler (a dense layer and tanh on the `[CLS]` token) is a member so
//! that its weights load, but sentence embeddings do not use it.
//!
//! ```
//! use rmlx::core as mx;
//! use rmlx_examples::models::bert::{Bert, BertConfig};
//!
//! let config = BertConfig { vocab_size: 50, hidden_size: 8, num_hidden_layers: 1,
//!     num_attention_heads: 2, intermediate_size: 16, ..BertConfig::default() };
//! let model = Bert::new(&config)?;
//! let ids = mx::Array::from_slice(&[2u32, 7, 9, 0], &[1, 4])?;
//! let mask = mx::Array::from_slice(&[1.0f32, 1.0, 1.0, 0.0], &[1, 4])?;
//! let hidden = model.forward(&ids, None, Some(&mask))?;
//! assert_eq!(hidden.shape(), &[1, 4, 8]);
//! # Ok::<(), mx::Error>(())
//! ```

use std::path::Path;

use rmlx::core::{self as mx, Array, Error, Result};
use rmlx::nn::{self, Forward, Module};
use serde::Deserialize;

/// The fields of a Hugging Face BERT `config.json` that the model uses (others are ignored).
///
/// ```
/// let c: rmlx_examples::models::bert::BertConfig =
///     serde_json::from_str(r#"{"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 2,
///         "num_attention_heads": 2, "intermediate_size": 64, "hidden_act": "gelu"}"#).unwrap();
/// assert_eq!(c.layer_norm_eps, 1e-12);
/// assert_eq!(c.max_position_embeddings, 512);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct BertConfig {
    /// Number of word pieces.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Number of attention heads (divides `hidden_size`).
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Longest input, in tokens.
    pub max_position_embeddings: usize,
    /// Number of segment (token type) ids.
    pub type_vocab_size: usize,
    /// Epsilon of every layer norm.
    pub layer_norm_eps: f64,
    /// The feed-forward activation: `gelu` (exact, with erf) or `gelu_new`/`gelu_pytorch_tanh`
    /// (the tanh approximation).
    pub hidden_act: String,
    /// `absolute` is the only kind supported.
    pub position_embedding_type: String,
}

impl Default for BertConfig {
    /// BERT-base's configuration (what `transformers.BertConfig()` gives).
    fn default() -> Self {
        BertConfig {
            vocab_size: 30522,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_act: "gelu".into(),
            position_embedding_type: "absolute".into(),
        }
    }
}

impl BertConfig {
    /// Reads a `config.json`.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let config: BertConfig = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a BERT config.json", path.display()))?;
        config
            .check()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(config)
    }

    /// Errors for a configuration the model cannot be built from.
    pub fn check(&self) -> Result<()> {
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(Error::value(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if !matches!(
            self.hidden_act.as_str(),
            "gelu" | "gelu_new" | "gelu_pytorch_tanh"
        ) {
            return Err(Error::value(format!(
                "unsupported hidden_act {:?} (expected gelu, gelu_new or gelu_pytorch_tanh)",
                self.hidden_act
            )));
        }
        if self.position_embedding_type != "absolute" {
            return Err(Error::value(format!(
                "unsupported position_embedding_type {:?} (expected absolute)",
                self.position_embedding_type
            )));
        }
        Ok(())
    }
}

fn layer_norm(config: &BertConfig) -> Result<nn::LayerNorm> {
    nn::LayerNorm::with_options(
        config.hidden_size,
        &nn::LayerNormOptions {
            eps: config.layer_norm_eps,
            ..Default::default()
        },
    )
}

/// Word, position and token-type embeddings, summed and layer-normalised.
#[derive(Clone, Module)]
pub struct BertEmbeddings {
    /// `(vocab_size, hidden)`.
    pub word_embeddings: nn::Embedding,
    /// `(max_position_embeddings, hidden)`.
    pub position_embeddings: nn::Embedding,
    /// `(type_vocab_size, hidden)`.
    pub token_type_embeddings: nn::Embedding,
    /// The layer norm after the sum.
    #[module(key = "LayerNorm")]
    pub layer_norm: nn::LayerNorm,
    max_positions: usize,
}

impl BertEmbeddings {
    fn new(config: &BertConfig) -> Result<Self> {
        Ok(BertEmbeddings {
            word_embeddings: nn::Embedding::new(config.vocab_size, config.hidden_size)?,
            position_embeddings: nn::Embedding::new(
                config.max_position_embeddings,
                config.hidden_size,
            )?,
            token_type_embeddings: nn::Embedding::new(config.type_vocab_size, config.hidden_size)?,
            layer_norm: layer_norm(config)?,
            max_positions: config.max_position_embeddings,
        })
    }

    /// `(B, L)` ids (and optional `(B, L)` token types, zeros by default) to `(B, L, hidden)`.
    pub fn forward(&self, input_ids: &Array, token_type_ids: Option<&Array>) -> Result<Array> {
        let len = input_ids.shape()[1];
        if len > self.max_positions {
            return Err(Error::value(format!(
                "the input has {len} tokens; the model takes at most {}",
                self.max_positions
            )));
        }
        let words = self.word_embeddings.forward(input_ids)?;
        let positions = self
            .position_embeddings
            .forward(&mx::arange(0, len as i32, 1)?)?;
        let types = match token_type_ids {
            Some(t) => self.token_type_embeddings.forward(t)?,
            None => self
                .token_type_embeddings
                .forward(&mx::zeros(&[1, 1], mx::int32)?)?,
        };
        self.layer_norm.forward(&(&(&words + &positions) + &types))
    }
}

/// Query, key and value projections (keys `attention.self.query` etc.).
#[derive(Clone, Module)]
pub struct BertSelfAttention {
    /// Query projection.
    pub query: nn::Linear,
    /// Key projection.
    pub key: nn::Linear,
    /// Value projection.
    pub value: nn::Linear,
    num_heads: usize,
}

/// The attention's output projection, residual and layer norm.
#[derive(Clone, Module)]
pub struct BertSelfOutput {
    /// Output projection.
    pub dense: nn::Linear,
    /// Layer norm after the residual.
    #[module(key = "LayerNorm")]
    pub layer_norm: nn::LayerNorm,
}

/// Multi-head self-attention with its output block.
#[derive(Clone, Module)]
pub struct BertAttention {
    /// The projections (key `self`).
    #[module(key = "self")]
    pub self_attention: BertSelfAttention,
    /// Output projection, residual and layer norm.
    pub output: BertSelfOutput,
}

impl BertAttention {
    fn new(config: &BertConfig) -> Result<Self> {
        let h = config.hidden_size;
        Ok(BertAttention {
            self_attention: BertSelfAttention {
                query: nn::Linear::new(h, h)?,
                key: nn::Linear::new(h, h)?,
                value: nn::Linear::new(h, h)?,
                num_heads: config.num_attention_heads,
            },
            output: BertSelfOutput {
                dense: nn::Linear::new(h, h)?,
                layer_norm: layer_norm(config)?,
            },
        })
    }

    /// `x` is `(B, L, hidden)`; `mask` an additive `(B, 1, 1, L)` mask or none.
    pub fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        let sa = &self.self_attention;
        let (b, l, h) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let heads = sa.num_heads;
        let d = h / heads;
        let split = |t: Array| -> Result<Array> {
            t.reshape([b, l, heads, d])?.transpose_axes([0, 2, 1, 3])
        };
        let q = split(sa.query.forward(x)?)?;
        let k = split(sa.key.forward(x)?)?;
        let v = split(sa.value.forward(x)?)?;
        let scale = 1.0 / (d as f32).sqrt();
        let o = match mask {
            Some(m) => mx::fast::scaled_dot_product_attention(&q, &k, &v, scale, m.clone(), None)?,
            None => mx::fast::scaled_dot_product_attention(
                &q,
                &k,
                &v,
                scale,
                mx::fast::AttentionMask::None,
                None,
            )?,
        };
        let o = o.transpose_axes([0, 2, 1, 3])?.reshape([b, l, h])?;
        let y = self.output.dense.forward(&o)?;
        self.output.layer_norm.forward(&(&y + x))
    }
}

/// The feed-forward block's first layer.
#[derive(Clone, Module)]
pub struct BertIntermediate {
    /// `hidden -> intermediate`.
    pub dense: nn::Linear,
}

/// The feed-forward block's second layer, residual and layer norm.
#[derive(Clone, Module)]
pub struct BertOutput {
    /// `intermediate -> hidden`.
    pub dense: nn::Linear,
    /// Layer norm after the residual.
    #[module(key = "LayerNorm")]
    pub layer_norm: nn::LayerNorm,
}

/// One encoder layer: self-attention, then the GELU feed-forward block.
#[derive(Clone, Module)]
pub struct BertLayer {
    /// Self-attention.
    pub attention: BertAttention,
    /// Feed-forward, first half.
    pub intermediate: BertIntermediate,
    /// Feed-forward, second half.
    pub output: BertOutput,
    approximate_gelu: bool,
}

impl BertLayer {
    fn new(config: &BertConfig) -> Result<Self> {
        let (h, i) = (config.hidden_size, config.intermediate_size);
        Ok(BertLayer {
            attention: BertAttention::new(config)?,
            intermediate: BertIntermediate {
                dense: nn::Linear::new(h, i)?,
            },
            output: BertOutput {
                dense: nn::Linear::new(i, h)?,
                layer_norm: layer_norm(config)?,
            },
            approximate_gelu: config.hidden_act != "gelu",
        })
    }

    /// `(B, L, hidden)` to `(B, L, hidden)`.
    pub fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        let a = self.attention.forward(x, mask)?;
        let pre = self.intermediate.dense.forward(&a)?;
        let act = if self.approximate_gelu {
            nn::gelu_approx(&pre)?
        } else {
            compiled_gelu(&pre)?
        };
        let y = self.output.dense.forward(&act)?;
        self.output.layer_norm.forward(&(&y + &a))
    }
}

/// [`nn::gelu`] through `compile_shapeless`, as MLX's `nn.gelu` is compiled: the five
/// elementwise ops fuse into one pass over the feed-forward activations (same values).
fn compiled_gelu(x: &Array) -> Result<Array> {
    type Fused = Box<dyn Fn(&[Array]) -> Result<Vec<Array>>>;
    thread_local! {
        static GELU: Fused = Box::new(mx::compile_shapeless(|x: &[Array]| nn::gelu(&x[0])));
    }
    GELU.with(|f| Ok(f(std::slice::from_ref(x))?.remove(0)))
}

/// The stack of encoder layers (keys `encoder.layer.N`).
#[derive(Clone, Module)]
pub struct BertEncoder {
    /// The layers.
    pub layer: Vec<BertLayer>,
}

/// The pooler: dense + tanh on the first token. Loaded, not used by sentence embeddings.
#[derive(Clone, Module)]
pub struct BertPooler {
    /// `hidden -> hidden`.
    pub dense: nn::Linear,
}

/// Hugging Face's `BertModel`: embeddings, encoder, pooler.
#[derive(Clone, Module)]
pub struct Bert {
    /// Embeddings.
    pub embeddings: BertEmbeddings,
    /// Encoder layers.
    pub encoder: BertEncoder,
    /// Pooler (`pooler_output`).
    pub pooler: BertPooler,
}

/// Entries of Hugging Face BERT checkpoints that are buffers, not parameters.
const BUFFERS: &[&str] = &["embeddings.position_ids"];

/// The additive attention mask: `(B, L)` ones (keep) and zeros (padding) to `(B, 1, 1, L)`
/// zeros and the float32 lowest value.
///
/// ```
/// use rmlx::core as mx;
/// let m = rmlx_examples::models::bert::additive_mask(&mx::array![[1.0f32, 0.0]])?;
/// assert_eq!(m.shape(), &[1, 1, 1, 2]);
/// assert_eq!(m.to_vec::<f32>()?, vec![0.0, f32::MIN]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn additive_mask(attention_mask: &Array) -> Result<Array> {
    let m = attention_mask.astype(mx::float32)?;
    let add = mx::multiply(mx::subtract(1.0f32, &m)?, f32::MIN)?;
    add.expand_dims([1, 2])
}

impl Bert {
    /// A randomly initialised model (MLX's layer initialisers).
    pub fn new(config: &BertConfig) -> Result<Self> {
        config.check()?;
        let h = config.hidden_size;
        Ok(Bert {
            embeddings: BertEmbeddings::new(config)?,
            encoder: BertEncoder {
                layer: (0..config.num_hidden_layers)
                    .map(|_| BertLayer::new(config))
                    .collect::<Result<_>>()?,
            },
            pooler: BertPooler {
                dense: nn::Linear::new(h, h)?,
            },
        })
    }

    /// Loads a Hugging Face `model.safetensors` strictly: every parameter must be in the file
    /// with its shape, and the file may hold nothing else but the `embeddings.position_ids`
    /// buffer. Weights are cast to float32.
    pub fn load_safetensors(&mut self, path: &Path) -> Result<()> {
        let path = path
            .to_str()
            .ok_or_else(|| Error::value(format!("{} is not UTF-8", path.display())))?;
        let weights = mx::io::load(path)?
            .into_arrays()
            .into_iter()
            .filter(|(k, _)| !BUFFERS.contains(&k.as_str()))
            .map(|(k, a)| Ok((k, a.astype(mx::float32)?)))
            .collect::<Result<Vec<_>>>()?;
        self.load_weights_from(weights, true)?;
        mx::eval(&self.parameters()?.leaves())
    }

    /// Number of attention heads.
    pub fn config_heads(&self) -> usize {
        self.encoder
            .layer
            .first()
            .map_or(1, |l| l.attention.self_attention.num_heads)
    }

    /// The last hidden state `(B, L, hidden)` of `(B, L)` integer `input_ids`.
    /// `attention_mask` (`(B, L)`, 1 for tokens and 0 for padding) keeps padding out of the
    /// attention; `token_type_ids` default to zeros.
    pub fn forward(
        &self,
        input_ids: &Array,
        token_type_ids: Option<&Array>,
        attention_mask: Option<&Array>,
    ) -> Result<Array> {
        if input_ids.ndim() != 2 {
            return Err(Error::value(format!(
                "input_ids must be (batch, length); got shape {:?}",
                input_ids.shape()
            )));
        }
        let mask = attention_mask.map(additive_mask).transpose()?;
        let mut x = self.embeddings.forward(input_ids, token_type_ids)?;
        for layer in &self.encoder.layer {
            x = layer.forward(&x, mask.as_ref())?;
        }
        Ok(x)
    }
}
