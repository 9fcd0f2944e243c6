//! Sentence embeddings the way sentence-transformers makes them with a BERT model
//! (all-MiniLM-L6-v2): tokenize, run the encoder, average the token states under the attention
//! mask (mean pooling), L2-normalise.
//!
//! The tokenizer is Hugging Face's `tokenizers` crate reading the model's `tokenizer.json`.
//! That file may ask for fixed-length padding (all-MiniLM-L6-v2's pads every sentence to 128
//! tokens); [`SentenceEncoder`] turns its padding off, pads each batch to its longest sentence
//! itself and keeps the padding out of the attention and the mean with the mask.
//!
//! ```
//! use rmlx::core as mx;
//! use rmlx_examples::models::sentence::{mean_pool, normalize};
//! let hidden = mx::Array::from_slice(&[1.0f32, 0.0, 3.0, 4.0, 9.0, 9.0], &[1, 3, 2])?;
//! let mask = mx::Array::from_slice(&[1.0f32, 1.0, 0.0], &[1, 3])?;
//! let pooled = mean_pool(&hidden, &mask)?; // the padded third token is left out
//! assert_eq!(pooled.to_vec::<f32>()?, vec![2.0, 2.0]);
//! let unit = normalize(&pooled)?;
//! assert!((unit.to_vec::<f32>()?[0] - 0.70710677).abs() < 1e-6);
//! # Ok::<(), mx::Error>(())
//! ```

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use rmlx::core::{self as mx, Array};
use rmlx::nn::Module;
use tokenizers::{Tokenizer, TruncationParams};

use super::bert::{Bert, BertConfig};

/// Mean of the token states `(B, L, H)` over the tokens whose `(B, L)` mask is 1
/// (sentence-transformers' mean pooling; the count is clamped at 1e-9 as there).
pub fn mean_pool(hidden: &Array, attention_mask: &Array) -> mx::Result<Array> {
    let m = attention_mask.astype(hidden.dtype())?.expand_dims(-1)?;
    let summed = mx::multiply(hidden, &m)?.sum_axes(1, false)?;
    let count = mx::maximum(m.sum_axes(1, false)?, 1e-9f32)?;
    mx::divide(&summed, &count)
}

/// Each row divided by its L2 norm (clamped at 1e-12, as `torch.nn.functional.normalize`).
pub fn normalize(x: &Array) -> mx::Result<Array> {
    let norm = mx::sqrt(mx::square(x)?.sum_axes(-1, true)?)?;
    mx::divide(x, &mx::maximum(&norm, 1e-12f32)?)
}

/// A tokenized batch: `(B, L)` ids (uint32) and attention mask (float32), padded with id 0
/// to the longest sentence of the batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Word-piece ids, `[CLS] ... [SEP]` then padding.
    pub input_ids: Array,
    /// 1 for tokens, 0 for padding.
    pub attention_mask: Array,
    /// Tokens per sentence (padding excluded).
    pub lengths: Vec<usize>,
}

/// A BERT model, its tokenizer and the pooling: sentences in, unit-length embeddings out.
///
/// ```
/// use rmlx_examples::models::sentence::{SentenceEncoder, cosine_matrix};
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/bert_tiny");
/// let encoder = SentenceEncoder::from_files(
///     &dir.join("config.json"), &dir.join("model.safetensors"), &dir.join("tokenizer.json"), 256)?;
/// let e = encoder.encode(&["A man is eating food.", "A dog is playing."])?;
/// assert_eq!(e.shape(), &[2, 32]);
/// let cos = cosine_matrix(&e)?.to_vec::<f32>()?;
/// assert!((cos[0] - 1.0).abs() < 1e-5 && cos[1] < 1.0);
/// # Ok::<(), anyhow::Error>(())
/// ```
pub struct SentenceEncoder {
    /// The encoder.
    pub model: Bert,
    tokenizer: Tokenizer,
    pad_id: u32,
}

impl SentenceEncoder {
    /// Wraps a model and a tokenizer. The tokenizer's own padding is turned off (batches are
    /// padded to their longest sentence) and sentences are truncated to `max_length` tokens
    /// (sentence-transformers' `max_seq_length`; 256 for all-MiniLM-L6-v2).
    pub fn new(model: Bert, mut tokenizer: Tokenizer, max_length: usize) -> Result<Self> {
        let pad_id = tokenizer.get_padding().map_or(0, |p| p.pad_id);
        tokenizer.with_padding(None);
        let truncation = TruncationParams {
            max_length,
            ..tokenizer.get_truncation().cloned().unwrap_or_default()
        };
        tokenizer
            .with_truncation(Some(truncation))
            .map_err(|e| anyhow!("cannot set the truncation to {max_length} tokens: {e}"))?;
        Ok(SentenceEncoder {
            model,
            tokenizer,
            pad_id,
        })
    }

    /// Reads `config.json`, `model.safetensors` (strictly) and `tokenizer.json`.
    pub fn from_files(
        config: &Path,
        weights: &Path,
        tokenizer: &Path,
        max_length: usize,
    ) -> Result<Self> {
        let config = BertConfig::from_file(config)?;
        let mut model = Bert::new(&config)?;
        model
            .load_safetensors(weights)
            .with_context(|| format!("cannot load the weights {}", weights.display()))?;
        model.eval()?;
        let tokenizer = load_tokenizer(tokenizer)?;
        Self::new(
            model,
            tokenizer,
            max_length.min(config.max_position_embeddings),
        )
    }

    /// The tokenizer (padding off, truncation set).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Tokenizes one batch, padded to its longest sentence.
    pub fn tokenize(&self, sentences: &[&str]) -> Result<Batch> {
        let encodings = self
            .tokenizer
            .encode_batch(sentences.to_vec(), true)
            .map_err(|e| anyhow!("tokenization failed: {e}"))?;
        let ids: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
        Ok(pad(&ids, self.pad_id)?)
    }

    /// The `(B, hidden)` unit-length embeddings of one batch of sentences.
    pub fn encode(&self, sentences: &[&str]) -> Result<Array> {
        if sentences.is_empty() {
            return Err(anyhow!("no sentences to encode"));
        }
        let batch = self.tokenize(sentences)?;
        Ok(self.embed(&batch)?)
    }

    /// The embeddings of a tokenized batch.
    pub fn embed(&self, batch: &Batch) -> mx::Result<Array> {
        let hidden = self
            .model
            .forward(&batch.input_ids, None, Some(&batch.attention_mask))?;
        normalize(&mean_pool(&hidden, &batch.attention_mask)?)
    }

    /// The `(N, hidden)` embeddings of any number of sentences, `batch_size` at a time. As
    /// sentence-transformers does, sentences are sorted by length (longest first) so that each
    /// batch holds sentences of similar lengths and little padding; rows come back in the
    /// input order.
    pub fn encode_batched(&self, sentences: &[&str], batch_size: usize) -> Result<Array> {
        if sentences.is_empty() {
            return Err(anyhow!("no sentences to encode"));
        }
        let batch_size = batch_size.max(1);
        let encodings = self
            .tokenizer
            .encode_batch(sentences.to_vec(), true)
            .map_err(|e| anyhow!("tokenization failed: {e}"))?;
        let mut order: Vec<usize> = (0..sentences.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].get_ids().len()));
        let mut parts = Vec::new();
        for chunk in order.chunks(batch_size) {
            let ids: Vec<&[u32]> = chunk.iter().map(|&i| encodings[i].get_ids()).collect();
            let e = self.embed(&pad(&ids, self.pad_id)?)?;
            mx::eval([&e])?;
            parts.push(e);
        }
        let sorted = mx::concatenate(&parts, 0)?;
        let mut inverse = vec![0u32; order.len()];
        for (pos, &i) in order.iter().enumerate() {
            inverse[i] = pos as u32;
        }
        let inverse = Array::from_slice(&inverse, &[inverse.len()])?;
        Ok(mx::take(&sorted, &inverse, Some(0))?)
    }
}

/// Reads a `tokenizer.json`, with a clear error.
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer> {
    Tokenizer::from_file(path)
        .map_err(|e| anyhow!("cannot read the tokenizer {}: {e}", path.display()))
}

/// Pads token id rows to the longest with `pad_id`; the mask marks the real tokens.
///
/// ```
/// let b = rmlx_examples::models::sentence::pad(&[&[101, 7, 102], &[101, 102]], 0)?;
/// assert_eq!(b.input_ids.to_vec::<u32>()?, vec![101, 7, 102, 101, 102, 0]);
/// assert_eq!(b.attention_mask.to_vec::<f32>()?, vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
/// assert_eq!(b.lengths, vec![3, 2]);
/// # Ok::<(), rmlx::core::Error>(())
/// ```
pub fn pad(rows: &[&[u32]], pad_id: u32) -> mx::Result<Batch> {
    let len = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(rows.len() * len);
    let mut mask = Vec::with_capacity(rows.len() * len);
    for r in rows {
        ids.extend_from_slice(r);
        ids.extend(std::iter::repeat_n(pad_id, len - r.len()));
        mask.extend(std::iter::repeat_n(1.0f32, r.len()));
        mask.extend(std::iter::repeat_n(0.0f32, len - r.len()));
    }
    Ok(Batch {
        input_ids: Array::from_slice(&ids, &[rows.len(), len])?,
        attention_mask: Array::from_slice(&mask, &[rows.len(), len])?,
        lengths: rows.iter().map(|r| r.len()).collect(),
    })
}

/// Cosine similarities `(N, N)` of unit-length embeddings `(N, H)`: `e @ e^T`.
pub fn cosine_matrix(embeddings: &Array) -> mx::Result<Array> {
    mx::matmul(embeddings, &embeddings.transpose()?)
}

/// `n` varied English sentences, the same on every run and in `bench/peers_minilm.py` (which
/// implements the same generator): one to four clauses of subject, verb, object and an
/// optional place, from a 64-bit linear congruential generator seeded with 2024.
///
/// ```
/// let s = rmlx_examples::models::sentence::bench_sentences(3);
/// assert_eq!(s.len(), 3);
/// assert!(s.iter().all(|x| x.ends_with('.')));
/// assert_eq!(s, rmlx_examples::models::sentence::bench_sentences(3));
/// ```
pub fn bench_sentences(n: usize) -> Vec<String> {
    const SUBJECTS: &[&str] = &[
        "a man",
        "the woman",
        "my neighbour",
        "a small child",
        "the old dog",
        "two students",
        "the pilot",
        "a young musician",
        "our teacher",
        "the chef",
        "a tired runner",
        "the committee",
        "an engineer",
        "the farmer",
        "a group of tourists",
        "the cat",
    ];
    const VERBS: &[&str] = &[
        "is eating",
        "painted",
        "will visit",
        "is reading",
        "repaired",
        "carried",
        "is watching",
        "bought",
        "photographed",
        "is cleaning",
        "described",
        "forgot",
        "is playing",
        "ordered",
        "discovered",
        "climbed",
    ];
    const OBJECTS: &[&str] = &[
        "a piece of bread",
        "the red bicycle",
        "an ancient map",
        "a bowl of soup",
        "the broken window",
        "a long letter",
        "the mountain",
        "a guitar",
        "the new library",
        "a cup of coffee",
        "the football match",
        "a strange noise",
        "the quarterly report",
        "a wooden boat",
        "the evening news",
        "a basket of apples",
    ];
    const PLACES: &[&str] = &[
        "in the park",
        "near the river",
        "at the station",
        "before sunrise",
        "after the storm",
        "in a quiet village",
        "on the busy street",
        "during the holidays",
    ];
    let mut state: u64 = 2024;
    let mut next = move |k: usize| -> usize {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % k as u64) as usize
    };
    (0..n)
        .map(|_| {
            let clauses = 1 + next(4);
            let parts: Vec<String> = (0..clauses)
                .map(|_| {
                    let mut c = format!(
                        "{} {} {}",
                        SUBJECTS[next(SUBJECTS.len())],
                        VERBS[next(VERBS.len())],
                        OBJECTS[next(OBJECTS.len())]
                    );
                    if next(2) == 0 {
                        c.push(' ');
                        c.push_str(PLACES[next(PLACES.len())]);
                    }
                    c
                })
                .collect();
            let s = parts.join(", and ");
            let mut chars = s.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or(' ');
            format!("{first}{}.", chars.as_str())
        })
        .collect()
}
