//! Text generation with a KV cache: sampling (greedy, temperature, top-p; seeded) and the
//! token loop (mlx-lm's `generate_step`), with prompt and generation speeds.
//!
//! Each step builds the graph of one token (model, logits of the last position, sampling) and
//! evaluates it once; only the sampled token id comes back to the host.
//!
//! ```
//! use rmlx::core as mx;
//! use rmlx_examples::generate::{generate, Sampler};
//! use rmlx_examples::models::llama::{Llama, LlamaConfig};
//! let config = LlamaConfig {
//!     vocab_size: 16, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1,
//!     num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, rope_dims: 4,
//!     rms_norm_eps: 1e-5, rope_theta: 10000.0, rope_traditional: true,
//!     tie_word_embeddings: true,
//! };
//! let model = Llama::new(&config)?;
//! let mut out = Vec::new();
//! let stats = generate(&model, &[1, 2, 3], 5, &mut Sampler::greedy(), |t| {
//!     out.push(t);
//!     true
//! })?;
//! assert_eq!(out.len(), 5);
//! assert_eq!(stats.prompt_tokens, 3);
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::time::Instant;

use anyhow::{Result, bail};
use rmlx::core::{self as mx, Array};

use crate::models::llama::{KVCache, Llama};

/// Picks the next token from logits: greedy (`temp == 0`), or from `softmax(logits / temp)`
/// restricted to the smallest set of tokens whose probability reaches `top_p` (mlx-lm's
/// `top_p_sampling`), with a seeded key split at every step.
#[derive(Clone, Debug)]
pub struct Sampler {
    temp: f32,
    top_p: f32,
    key: Array,
}

impl Sampler {
    /// Greedy decoding (argmax).
    pub fn greedy() -> Self {
        Sampler {
            temp: 0.0,
            top_p: 1.0,
            key: mx::random::key(0),
        }
    }

    /// Sampling at temperature `temp` (0 is greedy) with nucleus `top_p` (in `(0, 1]`; 1 keeps
    /// every token), from random key `seed`.
    pub fn new(temp: f32, top_p: f32, seed: u64) -> Result<Self> {
        if !(temp >= 0.0 && temp.is_finite()) {
            bail!("the temperature must be a finite number >= 0, got {temp}");
        }
        if !(top_p > 0.0 && top_p <= 1.0) {
            bail!("top-p must be in (0, 1], got {top_p}");
        }
        Ok(Sampler {
            temp,
            top_p,
            key: mx::random::key(seed),
        })
    }

    /// The next token (`(B,)` uint32) of logits `(B, V)`, as a lazy array.
    pub fn sample(&mut self, logits: &Array) -> Result<Array> {
        if self.temp == 0.0 {
            return Ok(mx::argmax_axis(logits, -1, false)?);
        }
        let (next, key) = mx::random::split_pair(&self.key)?;
        self.key = next;
        let scaled = mx::multiply(logits, 1.0 / self.temp)?;
        if self.top_p >= 1.0 {
            return Ok(mx::random::categorical(&scaled, -1, Some(&key))?);
        }
        let probs = mx::softmax(&scaled, [-1])?;
        let order = mx::argsort_axis(&probs, -1)?; // ascending
        let sorted = mx::take_along_axis(&probs, &order, Some(-1))?;
        let cumulative = mx::cumsum(&sorted, Some(-1))?;
        let kept = mx::where_(mx::greater(&cumulative, 1.0 - self.top_p)?, &sorted, 0.0f32)?;
        let pick = mx::random::categorical(&mx::log(&kept)?, -1, Some(&key))?;
        let pick = pick.expand_dims(-1)?;
        Ok(mx::take_along_axis(&order, &pick, Some(-1))?.squeeze_axes(-1)?)
    }
}

/// Prompt and generation counts and times.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GenerationStats {
    /// Prompt tokens processed.
    pub prompt_tokens: usize,
    /// Seconds from the start to the first generated token (the prompt's forward pass).
    pub prompt_secs: f64,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Seconds from the first generated token to the last.
    pub generation_secs: f64,
}

impl GenerationStats {
    /// Prompt tokens per second.
    pub fn prompt_tps(&self) -> f64 {
        self.prompt_tokens as f64 / self.prompt_secs.max(1e-12)
    }

    /// Generated tokens per second, counted after the first one (whose time is the
    /// prompt's), as mlx-lm does.
    pub fn generation_tps(&self) -> f64 {
        self.generated_tokens.saturating_sub(1) as f64 / self.generation_secs.max(1e-12)
    }
}

/// Runs the prompt through the model, then generates up to `max_tokens` tokens, calling
/// `on_token` with each (it returns `false` to stop, e.g. at the end-of-sequence token).
pub fn generate(
    model: &Llama,
    prompt: &[u32],
    max_tokens: usize,
    sampler: &mut Sampler,
    on_token: impl FnMut(u32) -> bool,
) -> Result<GenerationStats> {
    let mut cache = model.make_cache();
    generate_with_cache(model, &mut cache, prompt, max_tokens, sampler, on_token)
}

/// [`generate`] continuing from `cache` (which the prompt and the new tokens extend).
pub fn generate_with_cache(
    model: &Llama,
    cache: &mut [KVCache],
    prompt: &[u32],
    max_tokens: usize,
    sampler: &mut Sampler,
    mut on_token: impl FnMut(u32) -> bool,
) -> Result<GenerationStats> {
    if prompt.is_empty() {
        bail!("the prompt has no tokens");
    }
    let mut stats = GenerationStats {
        prompt_tokens: prompt.len(),
        ..Default::default()
    };
    if max_tokens == 0 {
        return Ok(stats);
    }
    let start = Instant::now();
    let tokens = Array::from_slice(prompt, &[1, prompt.len()])?;
    let mut token = step(model, cache, &tokens, sampler)?;
    let mut t_first = start;
    for n in 0..max_tokens {
        let id = token.item::<u32>()?;
        if n == 0 {
            t_first = Instant::now();
            stats.prompt_secs = (t_first - start).as_secs_f64();
        }
        stats.generated_tokens = n + 1;
        if !on_token(id) || n + 1 == max_tokens {
            break;
        }
        token = step(model, cache, &token.reshape([1, 1])?, sampler)?;
    }
    stats.generation_secs = t_first.elapsed().as_secs_f64();
    Ok(stats)
}

/// One step: the tokens (`(1, L)`) through the model, the last position's logits, the sampled
/// token (`(1,)`), evaluated.
pub fn step(
    model: &Llama,
    cache: &mut [KVCache],
    tokens: &Array,
    sampler: &mut Sampler,
) -> Result<Array> {
    let h = model.forward(tokens, Some(cache))?;
    let (b, l, d) = (h.shape()[0], h.shape()[1], h.shape()[2]);
    let last =
        mx::slice(&h, [0, l - 1, 0], [b, l, d], [1, 1, 1])?.reshape([b as isize, d as isize])?;
    let token = sampler.sample(&model.logits(&last)?)?;
    token.eval()?;
    Ok(token)
}
