//! A Llama model (as mlx-lm's `llama.py`), its KV cache, and loading from a GGUF file with the
//! quantized weights kept quantized.
//!
//! The model: token embedding, `num_hidden_layers` blocks of (RMSNorm, grouped-query attention
//! with rotary embeddings, RMSNorm, SiLU-gated MLP) with residual connections, a final RMSNorm
//! and the output projection (tied to the embedding when the file has no `output` tensor).
//!
//! [`Llama::from_gguf`] reads the hyperparameters from the `llama.*` metadata and maps
//! llama.cpp's tensor names onto the model (`blk.N.attn_q` → `layers.N.self_attn.q_proj`, …).
//! A Q4_0 / Q4_1 / Q8_0 tensor arrives from [`rmlx::core::io::gguf`] as MLX's affine triple
//! `NAME.weight / NAME.scales / NAME.biases` (group size 32); the layer it feeds is quantized
//! (`nn::quantize` with the tensor's bit width) and takes the triple as it is, so every
//! projection runs as a `quantized_matmul`. llama.cpp's converter permutes the Q and K rows so
//! that rotary pairs are adjacent: GGUF weights use RoPE with `traditional = true`.
//!
//! ```
//! use rmlx::core as mx;
//! use rmlx_examples::models::llama::{KVCache, Llama, LlamaConfig};
//! let config = LlamaConfig {
//!     vocab_size: 32, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2,
//!     num_attention_heads: 4, num_key_value_heads: 2, head_dim: 4, rope_dims: 4,
//!     rms_norm_eps: 1e-5, rope_theta: 10000.0, rope_traditional: true,
//!     tie_word_embeddings: true,
//! };
//! let model = Llama::new(&config)?;
//! let mut cache = model.make_cache();
//! let tokens = mx::Array::from_slice(&[1u32, 5, 7], &[1, 3])?;
//! let logits = model.logits(&model.forward(&tokens, Some(&mut cache[..]))?)?;
//! assert_eq!(logits.shape(), &[1, 3, 32]);
//! assert_eq!(cache[0].offset(), 3);
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result, anyhow, bail};
use rmlx::core::fast::AttentionMask;
use rmlx::core::io::gguf::{Gguf, GgufValue};
use rmlx::core::{self as mx, Array};
use rmlx::nn::{self, Forward, Module};

/// The hyperparameters (mlx-lm's `ModelArgs` for Llama).
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// Width of the MLP's hidden layer.
    pub intermediate_size: usize,
    /// Transformer blocks.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (divides `num_attention_heads`).
    pub num_key_value_heads: usize,
    /// Features per head.
    pub head_dim: usize,
    /// Rotated features per head (`llama.rope.dimension_count`, usually `head_dim`).
    pub rope_dims: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f32,
    /// RoPE base.
    pub rope_theta: f32,
    /// RoPE on adjacent pairs (GGUF weights) rather than on the two halves (HF weights).
    pub rope_traditional: bool,
    /// The output projection is the token embedding.
    pub tie_word_embeddings: bool,
}

impl LlamaConfig {
    /// The hyperparameters in a GGUF file's metadata (`general.architecture` must be `llama`;
    /// the keys are `llama.embedding_length`, `llama.block_count`, …). `tie_word_embeddings` is
    /// set when the file has no `output.weight`.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self> {
        let arch = match gguf.meta("general.architecture") {
            Some(GgufValue::String(s)) => s.clone(),
            _ => bail!("metadata general.architecture is missing"),
        };
        if arch != "llama" {
            bail!("general.architecture is '{arch}'; this model is 'llama'");
        }
        let int = |k: &str| -> Result<Option<usize>> {
            match gguf.meta(&format!("{arch}.{k}")) {
                Some(GgufValue::Array(a)) if a.size() == 1 => Ok(Some(
                    a.astype(mx::int64)
                        .and_then(|a| a.item::<i64>())
                        .map_err(|e| anyhow!("metadata {arch}.{k}: {e}"))?
                        .try_into()
                        .map_err(|_| anyhow!("metadata {arch}.{k} is negative"))?,
                )),
                Some(_) => bail!("metadata {arch}.{k} is not one number"),
                None => Ok(None),
            }
        };
        let float = |k: &str| -> Result<Option<f32>> {
            match gguf.meta(&format!("{arch}.{k}")) {
                Some(GgufValue::Array(a)) if a.size() == 1 => Ok(Some(
                    a.astype(mx::float32)
                        .and_then(|a| a.item::<f32>())
                        .map_err(|e| anyhow!("metadata {arch}.{k}: {e}"))?,
                )),
                Some(_) => bail!("metadata {arch}.{k} is not one number"),
                None => Ok(None),
            }
        };
        let need = |k: &str| -> Result<usize> {
            int(k)?.ok_or_else(|| anyhow!("metadata {arch}.{k} is missing"))
        };
        let hidden_size = need("embedding_length")?;
        let num_attention_heads = need("attention.head_count")?;
        let key_length = int("attention.key_length")?;
        if num_attention_heads == 0
            || (key_length.is_none() && hidden_size % num_attention_heads != 0)
        {
            bail!(
                "{arch}.attention.head_count ({num_attention_heads}) does not divide {arch}.embedding_length ({hidden_size})"
            );
        }
        let num_key_value_heads = int("attention.head_count_kv")?.unwrap_or(num_attention_heads);
        if num_key_value_heads == 0 || num_attention_heads % num_key_value_heads != 0 {
            bail!(
                "{arch}.attention.head_count_kv ({num_key_value_heads}) does not divide the query heads ({num_attention_heads})"
            );
        }
        let head_dim = key_length.unwrap_or(hidden_size / num_attention_heads);
        let vocab_size = match int("vocab_size")? {
            Some(v) => v,
            None => gguf
                .get("token_embd.scales")
                .or_else(|| gguf.get("token_embd.weight"))
                .map(|a| a.shape()[0])
                .ok_or_else(|| anyhow!("the file has no token_embd tensor"))?,
        };
        Ok(LlamaConfig {
            vocab_size,
            hidden_size,
            intermediate_size: need("feed_forward_length")?,
            num_hidden_layers: need("block_count")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rope_dims: int("rope.dimension_count")?.unwrap_or(head_dim),
            rms_norm_eps: float("attention.layer_norm_rms_epsilon")?.unwrap_or(1e-5),
            rope_theta: float("rope.freq_base")?.unwrap_or(10000.0),
            rope_traditional: true,
            tie_word_embeddings: gguf.get("output.weight").is_none(),
        })
    }
}

/// A layer's keys and values, preallocated in steps of 256 positions and written in place
/// with `slice_update` (mlx-lm's `KVCache`).
#[derive(Clone, Debug, Default)]
pub struct KVCache {
    keys: Option<Array>,
    values: Option<Array>,
    offset: usize,
}

impl KVCache {
    /// Positions the buffers grow by.
    pub const STEP: usize = 256;

    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Positions stored.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Positions the buffers hold before they grow.
    pub fn capacity(&self) -> usize {
        self.keys.as_ref().map_or(0, |k| k.shape()[2])
    }

    /// Appends `keys` and `values` (`(B, N_kv, L, D)`) and returns all stored keys and values.
    pub fn update_and_fetch(&mut self, keys: &Array, values: &Array) -> Result<(Array, Array)> {
        let prev = self.offset;
        let (b, n, l, dk) = dims4(keys)?;
        let dv = values.shape()[3];
        if self.keys.is_none() || prev + l > self.capacity() {
            let steps = l.div_ceil(Self::STEP) * Self::STEP;
            let grow = |old: Option<Array>, d: usize, dtype: mx::Dtype| -> Result<Array> {
                let fresh = mx::zeros(&[b, n, steps, d], dtype)?;
                Ok(match old {
                    Some(old) => {
                        let old = if !prev.is_multiple_of(Self::STEP) {
                            mx::slice(&old, [0, 0, 0, 0], [b, n, prev, d], [1, 1, 1, 1])?
                        } else {
                            old
                        };
                        mx::concatenate(&[old, fresh], 2)?
                    }
                    None => fresh,
                })
            };
            self.keys = Some(grow(self.keys.take(), dk, keys.dtype())?);
            self.values = Some(grow(self.values.take(), dv, values.dtype())?);
        }
        self.offset += l;
        let end = self.offset;
        let (Some(k), Some(v)) = (self.keys.take(), self.values.take()) else {
            bail!("KV cache buffers are missing");
        };
        let k = mx::slice_update(&k, keys, [0, 0, prev, 0], [b, n, end, dk], [1, 1, 1, 1])?;
        let v = mx::slice_update(&v, values, [0, 0, prev, 0], [b, n, end, dv], [1, 1, 1, 1])?;
        let out = (
            mx::slice(&k, [0, 0, 0, 0], [b, n, end, dk], [1, 1, 1, 1])?,
            mx::slice(&v, [0, 0, 0, 0], [b, n, end, dv], [1, 1, 1, 1])?,
        );
        self.keys = Some(k);
        self.values = Some(v);
        Ok(out)
    }

    /// The cache's buffers (to evaluate them with the step's output).
    pub fn state(&self) -> Vec<&Array> {
        self.keys.iter().chain(self.values.iter()).collect()
    }
}

fn dims4(a: &Array) -> Result<(usize, usize, usize, usize)> {
    match a.shape() {
        &[b, n, l, d] => Ok((b, n, l, d)),
        s => bail!("expected a (B, N, L, D) array, got shape {s:?}"),
    }
}

/// Grouped-query attention with rotary embeddings (mlx-lm's `Attention`).
#[derive(Clone, Debug, nn::Module)]
pub struct Attention {
    /// Queries.
    pub q_proj: nn::Linear,
    /// Keys.
    pub k_proj: nn::Linear,
    /// Values.
    pub v_proj: nn::Linear,
    /// Output.
    pub o_proj: nn::Linear,
    n_heads: usize,
    n_kv_heads: usize,
    head_dim: usize,
    rope_dims: usize,
    rope_theta: f32,
    rope_traditional: bool,
}

impl Attention {
    /// Random weights of the right shapes.
    pub fn new(c: &LlamaConfig) -> Result<Self> {
        let (d, h, kv, hd) = (
            c.hidden_size,
            c.num_attention_heads,
            c.num_key_value_heads,
            c.head_dim,
        );
        Ok(Attention {
            q_proj: nn::Linear::with_bias(d, h * hd, false)?,
            k_proj: nn::Linear::with_bias(d, kv * hd, false)?,
            v_proj: nn::Linear::with_bias(d, kv * hd, false)?,
            o_proj: nn::Linear::with_bias(h * hd, d, false)?,
            n_heads: h,
            n_kv_heads: kv,
            head_dim: hd,
            rope_dims: c.rope_dims,
            rope_theta: c.rope_theta,
            rope_traditional: c.rope_traditional,
        })
    }

    /// `x` is `(B, L, D)`; with a cache, positions start at its offset and the keys and values
    /// are appended to it. The prompt (`L > 1`) attends causally.
    pub fn forward(&self, x: &Array, cache: Option<&mut KVCache>) -> Result<Array> {
        let (b, l) = (x.shape()[0], x.shape()[1]);
        let heads = |p: &nn::Linear, n: usize| -> Result<Array> {
            Ok(p.forward(x)?
                .reshape([b, l, n, self.head_dim])?
                .swapaxes(1, 2)?)
        };
        let q = heads(&self.q_proj, self.n_heads)?;
        let k = heads(&self.k_proj, self.n_kv_heads)?;
        let v = heads(&self.v_proj, self.n_kv_heads)?;
        let offset = cache.as_ref().map_or(0, |c| c.offset());
        let rope = |t: &Array| {
            mx::fast::rope(
                t,
                self.rope_dims as i32,
                self.rope_traditional,
                Some(self.rope_theta),
                1.0,
                offset as i32,
                None,
            )
        };
        let (q, k) = (rope(&q)?, rope(&k)?);
        let (k, v) = match cache {
            Some(c) => c.update_and_fetch(&k, &v)?,
            None => (k, v),
        };
        let mask = if l > 1 {
            AttentionMask::Causal
        } else {
            AttentionMask::None
        };
        let scale = (self.head_dim as f32).powf(-0.5);
        let o = mx::fast::scaled_dot_product_attention(&q, &k, &v, scale, mask, None)?;
        let o = o
            .swapaxes(1, 2)?
            .reshape([b, l, self.n_heads * self.head_dim])?;
        Ok(self.o_proj.forward(&o)?)
    }
}

/// The SiLU-gated MLP: `down(silu(gate(x)) * up(x))`.
#[derive(Clone, Debug, nn::Module)]
#[module(name = "MLP")]
pub struct Mlp {
    /// Gate projection.
    pub gate_proj: nn::Linear,
    /// Up projection.
    pub up_proj: nn::Linear,
    /// Down projection.
    pub down_proj: nn::Linear,
}

impl Mlp {
    /// Random weights of the right shapes.
    pub fn new(dim: usize, hidden: usize) -> Result<Self> {
        Ok(Mlp {
            gate_proj: nn::Linear::with_bias(dim, hidden, false)?,
            up_proj: nn::Linear::with_bias(dim, hidden, false)?,
            down_proj: nn::Linear::with_bias(hidden, dim, false)?,
        })
    }
}

impl Forward for Mlp {
    fn forward(&self, x: &Array) -> mx::Result<Array> {
        let g = nn::silu(&self.gate_proj.forward(x)?)?;
        self.down_proj
            .forward(&mx::multiply(&g, &self.up_proj.forward(x)?)?)
    }
}

/// One block: `h = x + attn(norm(x))`, `out = h + mlp(norm(h))`.
#[derive(Clone, Debug, nn::Module)]
pub struct TransformerBlock {
    /// Attention.
    pub self_attn: Attention,
    /// MLP.
    pub mlp: Mlp,
    /// Norm before attention.
    pub input_layernorm: nn::RMSNorm,
    /// Norm before the MLP.
    pub post_attention_layernorm: nn::RMSNorm,
}

impl TransformerBlock {
    /// Random weights of the right shapes.
    pub fn new(c: &LlamaConfig) -> Result<Self> {
        Ok(TransformerBlock {
            self_attn: Attention::new(c)?,
            mlp: Mlp::new(c.hidden_size, c.intermediate_size)?,
            input_layernorm: nn::RMSNorm::with_eps(c.hidden_size, c.rms_norm_eps as f64)?,
            post_attention_layernorm: nn::RMSNorm::with_eps(c.hidden_size, c.rms_norm_eps as f64)?,
        })
    }

    /// The block on `x` (`(B, L, D)`).
    pub fn forward(&self, x: &Array, cache: Option<&mut KVCache>) -> Result<Array> {
        let r = self
            .self_attn
            .forward(&self.input_layernorm.forward(x)?, cache)?;
        let h = mx::add(x, &r)?;
        let r = self
            .mlp
            .forward(&self.post_attention_layernorm.forward(&h)?)?;
        Ok(mx::add(&h, &r)?)
    }
}

/// The Llama model; see the module documentation.
#[derive(Clone, Debug, nn::Module)]
pub struct Llama {
    /// Token embedding.
    pub embed_tokens: nn::Embedding,
    /// Blocks.
    pub layers: Vec<TransformerBlock>,
    /// Final norm.
    pub norm: nn::RMSNorm,
    /// Output projection (`None` when tied to the embedding).
    pub lm_head: Option<nn::Linear>,
    #[module(skip)]
    config: LlamaConfig,
}

impl Llama {
    /// A model with random weights.
    pub fn new(config: &LlamaConfig) -> Result<Self> {
        if config.num_attention_heads == 0
            || config.num_key_value_heads == 0
            || !config
                .num_attention_heads
                .is_multiple_of(config.num_key_value_heads)
        {
            bail!("the key/value heads must divide the query heads");
        }
        Ok(Llama {
            embed_tokens: nn::Embedding::new(config.vocab_size, config.hidden_size)?,
            layers: (0..config.num_hidden_layers)
                .map(|_| TransformerBlock::new(config))
                .collect::<Result<_>>()?,
            norm: nn::RMSNorm::with_eps(config.hidden_size, config.rms_norm_eps as f64)?,
            lm_head: if config.tie_word_embeddings {
                None
            } else {
                Some(nn::Linear::with_bias(
                    config.hidden_size,
                    config.vocab_size,
                    false,
                )?)
            },
            config: config.clone(),
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// One empty cache per layer.
    pub fn make_cache(&self) -> Vec<KVCache> {
        vec![KVCache::new(); self.layers.len()]
    }

    /// The final hidden states (after the last norm) of `tokens` (`(B, L)` integers), appending
    /// to `cache` (one per layer) when given.
    pub fn forward(&self, tokens: &Array, cache: Option<&mut [KVCache]>) -> Result<Array> {
        let mut h = self.embed_tokens.forward(tokens)?;
        if h.dtype() != mx::float32 {
            h = h.astype(mx::float32)?;
        }
        match cache {
            Some(cache) => {
                if cache.len() != self.layers.len() {
                    bail!(
                        "the cache has {} layers, the model {}",
                        cache.len(),
                        self.layers.len()
                    );
                }
                for (layer, c) in self.layers.iter().zip(cache.iter_mut()) {
                    h = layer.forward(&h, Some(c))?;
                }
            }
            None => {
                for layer in &self.layers {
                    h = layer.forward(&h, None)?;
                }
            }
        }
        Ok(self.norm.forward(&h)?)
    }

    /// The logits of hidden states from [`Llama::forward`] (the embedding `as_linear` when
    /// tied).
    pub fn logits(&self, h: &Array) -> Result<Array> {
        Ok(match &self.lm_head {
            Some(head) => head.forward(h)?,
            None => self.embed_tokens.as_linear(h)?,
        })
    }

    /// A model from a GGUF file's tensors and metadata (see the module documentation): every
    /// tensor must be used and every parameter given. Quantized tensors stay quantized (their
    /// scales and biases are kept in float32, the compute dtype); float tensors are cast to
    /// float32.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self> {
        let config = LlamaConfig::from_gguf(gguf)?;
        let mut model = Llama::new(&config)?;
        let mut weights: BTreeMap<String, Array> = BTreeMap::new();
        for (name, a) in &gguf.arrays {
            let key = gguf_to_key(name)
                .ok_or_else(|| anyhow!("the GGUF tensor '{name}' is not part of a Llama model"))?;
            let a = if a.dtype().is_floating() && a.dtype() != mx::float32 {
                a.astype(mx::float32)?
            } else {
                a.clone()
            };
            if weights.insert(key.clone(), a).is_some() {
                bail!("the GGUF file has two tensors for {key}");
            }
        }
        // Quantize the layers that have quantized weights, with each tensor's bit width.
        let mut bits: HashMap<String, usize> = HashMap::new();
        for (key, scales) in &weights {
            if let Some(path) = key.strip_suffix(".scales") {
                let w = weights
                    .get(&format!("{path}.weight"))
                    .ok_or_else(|| anyhow!("{path} has scales but no weight"))?;
                let (groups, words) = (scales.shape()[1], w.shape()[1]);
                let in_dims = groups * 32;
                if words * 32 % in_dims != 0 {
                    bail!("{path}: cannot infer the bit width");
                }
                bits.insert(path.to_string(), words * 32 / in_dims);
            }
        }
        let predicate: &nn::ClassPredicate<'_> = &|path: &str, _: &dyn Module| {
            bits.get(path).map(|&b| nn::QuantizeOptions {
                group_size: Some(32),
                bits: Some(b),
                mode: mx::QuantMode::Affine,
            })
        };
        nn::quantize(&mut model, &nn::QuantizeOptions::default(), Some(predicate))?;
        model
            .load_weights_from(weights.into_iter().collect(), true)
            .context("the GGUF tensors do not match the Llama model")?;
        Ok(model)
    }

    /// Loads a GGUF file ([`Llama::from_gguf`]) and evaluates its weights.
    pub fn load(path: &std::path::Path) -> Result<(Self, Gguf)> {
        let gguf = mx::io::gguf::load_gguf(path)
            .with_context(|| format!("cannot read the GGUF file {}", path.display()))?;
        let model = Llama::from_gguf(&gguf)?;
        let params = nn::flat_parameters(&model.parameters()?);
        mx::eval(params.iter().map(|(_, a)| a))?;
        Ok((model, gguf))
    }
}

/// The model key of a llama.cpp tensor name (`blk.3.attn_q.weight` →
/// `layers.3.self_attn.q_proj.weight`); `None` for a name the model has no place for.
///
/// ```
/// use rmlx_examples::models::llama::gguf_to_key;
/// assert_eq!(gguf_to_key("blk.3.attn_q.scales").as_deref(), Some("layers.3.self_attn.q_proj.scales"));
/// assert_eq!(gguf_to_key("token_embd.weight").as_deref(), Some("embed_tokens.weight"));
/// assert_eq!(gguf_to_key("rope_freqs.weight"), None);
/// ```
pub fn gguf_to_key(name: &str) -> Option<String> {
    let (stem, leaf) = name.rsplit_once('.')?;
    if !matches!(leaf, "weight" | "scales" | "biases") {
        return None;
    }
    let module = match stem {
        "token_embd" => "embed_tokens".to_string(),
        "output_norm" => "norm".to_string(),
        "output" => "lm_head".to_string(),
        _ => {
            let rest = stem.strip_prefix("blk.")?;
            let (n, part) = rest.split_once('.')?;
            let n: usize = n.parse().ok()?;
            let sub = match part {
                "attn_norm" => "input_layernorm",
                "ffn_norm" => "post_attention_layernorm",
                "attn_q" => "self_attn.q_proj",
                "attn_k" => "self_attn.k_proj",
                "attn_v" => "self_attn.v_proj",
                "attn_output" => "self_attn.o_proj",
                "ffn_gate" => "mlp.gate_proj",
                "ffn_up" => "mlp.up_proj",
                "ffn_down" => "mlp.down_proj",
                _ => return None,
            };
            format!("layers.{n}.{sub}")
        }
    };
    Some(format!("{module}.{leaf}"))
}
