//! The Llama model against MLX 0.32.4 (tests/goldens/llama.npz, written by
//! tools/goldens/gen_examples_llama.py: a tiny Llama written as mlx-lm writes it, random
//! weights): RMSNorm, GQA attention with traditional and half-split RoPE, attention through
//! the KV cache, the MLP, one block, the logits, the 4-bit quantized logits. Then: cached
//! decoding equals the full forward (also across the cache's growth), loading from GGUF
//! bytes (float and quantized tensors, strict names) and the generation loop.

use std::collections::HashMap;

use rmlx::core::io::gguf::{self, Gguf, GgufValue};
use rmlx::core::{self as mx, Array};
use rmlx::nn::{self, Forward, Module};
use rmlx_examples::generate::{Sampler, generate};
use rmlx_examples::models::llama::{KVCache, Llama, LlamaConfig};

fn config(traditional: bool) -> LlamaConfig {
    LlamaConfig {
        vocab_size: 61,
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 8,
        rope_dims: 8,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        rope_traditional: traditional,
        tie_word_embeddings: true,
    }
}

fn goldens() -> HashMap<String, Array> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/goldens/llama.npz");
    mx::io::npz::load_npz(path).unwrap().into_iter().collect()
}

fn weights(g: &HashMap<String, Array>) -> Vec<(String, Array)> {
    let mut w: Vec<(String, Array)> = g
        .iter()
        .filter(|(k, _)| !k.starts_with("in.") && !k.starts_with("out.") && !k.starts_with("q."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

fn model(g: &HashMap<String, Array>, traditional: bool) -> Llama {
    let mut m = Llama::new(&config(traditional)).unwrap();
    m.load_weights_from(weights(g), true).unwrap();
    m
}

fn max_diff(a: &Array, b: &Array) -> f32 {
    assert_eq!(a.shape(), b.shape());
    let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn assert_close(a: &Array, b: &Array, tol: f32, what: &str) {
    let d = max_diff(a, b);
    assert!(d <= tol, "{what}: max difference {d} > {tol}");
}

fn cols(a: &Array, start: usize, stop: usize) -> Array {
    let s = a.shape();
    mx::slice(a, [0, start, 0], [s[0], stop, s[2]], [1, 1, 1]).unwrap()
}

#[test]
fn blocks_match_mlx() {
    let g = goldens();
    let m = model(&g, true);
    let x = &g["in.x"];
    let block = &m.layers[0];
    assert_close(
        &block.input_layernorm.forward(x).unwrap(),
        &g["out.norm"],
        1e-5,
        "RMSNorm",
    );
    assert_close(
        &block.self_attn.forward(x, None).unwrap(),
        &g["out.attn"],
        1e-5,
        "attention",
    );
    assert_close(&block.mlp.forward(x).unwrap(), &g["out.mlp"], 1e-5, "MLP");
    assert_close(
        &block.forward(x, None).unwrap(),
        &g["out.block"],
        1e-5,
        "block",
    );
    let halves = model(&g, false);
    assert_close(
        &halves.layers[0].self_attn.forward(x, None).unwrap(),
        &g["out.attn_halves"],
        1e-5,
        "attention, half-split RoPE",
    );
    // Through the cache: 5 positions, then one at a time.
    let mut cache = KVCache::new();
    let attn = &block.self_attn;
    let parts = [
        attn.forward(&cols(x, 0, 5), Some(&mut cache)).unwrap(),
        attn.forward(&cols(x, 5, 6), Some(&mut cache)).unwrap(),
        attn.forward(&cols(x, 6, 7), Some(&mut cache)).unwrap(),
    ];
    assert_eq!(cache.offset(), 7);
    assert_eq!(cache.capacity(), KVCache::STEP);
    let cached = mx::concatenate(&parts, 1).unwrap();
    assert_close(&cached, &g["out.attn_cached"], 1e-5, "cached attention");
}

#[test]
fn logits_match_mlx() {
    let g = goldens();
    let m = model(&g, true);
    let logits = m
        .logits(&m.forward(&g["in.tokens"], None).unwrap())
        .unwrap();
    assert_close(&logits, &g["out.logits"], 1e-4, "logits");
}

#[test]
fn quantized_model_matches_mlx() {
    let g = goldens();
    let mut m = model(&g, true);
    let opts = nn::QuantizeOptions {
        group_size: Some(32),
        bits: Some(4),
        ..Default::default()
    };
    nn::quantize(&mut m, &opts, None).unwrap();
    assert_eq!(m.layers[1].mlp.down_proj.quantization().unwrap().bits, 4);
    let d = &m.layers[1].mlp.down_proj;
    assert_eq!(
        d.weight.to_vec::<u32>().unwrap(),
        g["q.layers.1.mlp.down_proj.weight"]
            .to_vec::<u32>()
            .unwrap()
    );
    assert_close(
        d.scales.as_ref().unwrap(),
        &g["q.layers.1.mlp.down_proj.scales"],
        0.0,
        "scales",
    );
    let logits = m
        .logits(&m.forward(&g["in.tokens"], None).unwrap())
        .unwrap();
    assert_close(&logits, &g["out.logits_q4"], 1e-4, "4-bit logits");
}

/// The tokens fed through the cache in chunks of the given sizes (the prompt, possibly in
/// several chunks, then one token at a time), evaluated after each chunk, equal the full
/// forward.
fn check_cached_equals_full(m: &Llama, tokens: &[u32], chunks: &[usize]) {
    assert_eq!(chunks.iter().sum::<usize>(), tokens.len());
    let all = Array::from_slice(tokens, &[1, tokens.len()]).unwrap();
    let full = m.logits(&m.forward(&all, None).unwrap()).unwrap();
    let mut cache = m.make_cache();
    let mut parts = Vec::new();
    let mut start = 0;
    for &n in chunks {
        let chunk = Array::from_slice(&tokens[start..start + n], &[1, n]).unwrap();
        let logits = m
            .logits(&m.forward(&chunk, Some(&mut cache[..])).unwrap())
            .unwrap();
        // One evaluation per step, as generation does.
        logits.eval().unwrap();
        parts.push(logits);
        start += n;
    }
    assert_eq!(cache[0].offset(), tokens.len());
    let cached = mx::concatenate(&parts, 1).unwrap();
    assert_close(&cached, &full, 1e-4, "cached decoding vs full forward");
}

#[test]
fn cached_decoding_equals_full_forward() {
    let g = goldens();
    let m = model(&g, true);
    let tokens = [3, 17, 42, 5, 60, 0, 29, 11, 8];
    check_cached_equals_full(&m, &tokens, &[4, 1, 1, 1, 1, 1]);
    // A prompt in chunks (the causal mask aligns the chunk's queries with the last keys).
    check_cached_equals_full(&m, &tokens, &[3, 4, 1, 1]);
    // Across the cache's growth: 250 prompt positions, then 12 steps past 256, then a chunk
    // that grows it again.
    let tokens: Vec<u32> = (0..600u32).map(|i| (i * 37 + 11) % 61).collect();
    let mut chunks = vec![250];
    chunks.extend([1; 12]);
    chunks.push(338);
    check_cached_equals_full(&m, &tokens, &chunks);
}

fn meta_u32(v: u32) -> GgufValue {
    GgufValue::Array(Array::scalar(v))
}

/// The tiny model's metadata and tensors under llama.cpp's names.
type Tensors = Vec<(String, Array)>;
type Metadata = Vec<(String, GgufValue)>;

fn gguf_parts(g: &HashMap<String, Array>) -> (Tensors, Metadata) {
    let c = config(true);
    let meta = vec![
        ("general.architecture".to_string(), GgufValue::from("llama")),
        (
            "llama.embedding_length".to_string(),
            meta_u32(c.hidden_size as u32),
        ),
        (
            "llama.feed_forward_length".to_string(),
            meta_u32(c.intermediate_size as u32),
        ),
        (
            "llama.block_count".to_string(),
            meta_u32(c.num_hidden_layers as u32),
        ),
        (
            "llama.attention.head_count".to_string(),
            meta_u32(c.num_attention_heads as u32),
        ),
        (
            "llama.attention.head_count_kv".to_string(),
            meta_u32(c.num_key_value_heads as u32),
        ),
        (
            "llama.attention.layer_norm_rms_epsilon".to_string(),
            GgufValue::Array(Array::scalar(1e-5f32)),
        ),
        (
            "llama.rope.freq_base".to_string(),
            GgufValue::Array(Array::scalar(10000.0f32)),
        ),
        (
            "llama.vocab_size".to_string(),
            meta_u32(c.vocab_size as u32),
        ),
    ];
    let rename = |k: &str| -> String {
        let k = k
            .replace("embed_tokens", "token_embd")
            .replace("input_layernorm", "attn_norm")
            .replace("post_attention_layernorm", "ffn_norm")
            .replace("self_attn.q_proj", "attn_q")
            .replace("self_attn.k_proj", "attn_k")
            .replace("self_attn.v_proj", "attn_v")
            .replace("self_attn.o_proj", "attn_output")
            .replace("mlp.gate_proj", "ffn_gate")
            .replace("mlp.up_proj", "ffn_up")
            .replace("mlp.down_proj", "ffn_down")
            .replace("layers.", "blk.");
        if k == "norm.weight" {
            "output_norm.weight".to_string()
        } else {
            k
        }
    };
    let tensors = weights(g)
        .into_iter()
        .map(|(k, v)| (rename(&k), v))
        .collect();
    (tensors, meta)
}

fn gguf_bytes(tensors: &[(String, Array)], meta: &[(String, GgufValue)]) -> Gguf {
    let t: Vec<(&str, &Array)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let m: Vec<(&str, GgufValue)> = meta.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    gguf::from_bytes(&gguf::to_gguf_bytes(&t, &m).unwrap()).unwrap()
}

#[test]
fn loads_float_gguf() {
    let g = goldens();
    let (tensors, meta) = gguf_parts(&g);
    let file = gguf_bytes(&tensors, &meta);
    let m = Llama::from_gguf(&file).unwrap();
    assert_eq!(m.config(), &config(true));
    let logits = m
        .logits(&m.forward(&g["in.tokens"], None).unwrap())
        .unwrap();
    assert_close(&logits, &g["out.logits"], 1e-4, "logits from GGUF");

    // Strict: an unknown tensor, a missing one.
    let mut extra = tensors.clone();
    extra.push((
        "blk.0.attn_qkv.weight".to_string(),
        mx::zeros(&[2], mx::float32).unwrap(),
    ));
    let err = Llama::from_gguf(&gguf_bytes(&extra, &meta))
        .unwrap_err()
        .to_string();
    assert!(err.contains("blk.0.attn_qkv.weight"), "{err}");
    let missing: Vec<_> = tensors
        .iter()
        .filter(|(k, _)| k != "blk.1.ffn_up.weight")
        .cloned()
        .collect();
    let err = format!(
        "{:#}",
        Llama::from_gguf(&gguf_bytes(&missing, &meta)).unwrap_err()
    );
    assert!(err.contains("layers.1.mlp.up_proj.weight"), "{err}");
    let mut no_heads = meta.clone();
    no_heads.retain(|(k, _)| k != "llama.attention.head_count");
    let err = Llama::from_gguf(&gguf_bytes(&tensors, &no_heads))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("llama.attention.head_count is missing"),
        "{err}"
    );
}

/// What `load_gguf` gives for Q4_x / Q8_0 tensors: MLX's affine triple with group size 32.
#[test]
fn loads_quantized_gguf() {
    let g = goldens();
    let (tensors, meta) = gguf_parts(&g);
    let mut arrays = Vec::new();
    let mut quantized = HashMap::new();
    for (name, w) in &tensors {
        let stem = name.strip_suffix(".weight").unwrap();
        if w.ndim() == 2 {
            // The embedding in 8 bits (as SmolLM2's Q8_0 token_embd), the rest in 4.
            let bits = if stem == "token_embd" { 8 } else { 4 };
            let (q, s, b) = mx::quantize(w, Some(32), Some(bits), mx::QuantMode::Affine).unwrap();
            let (s, b) = (
                s.astype(mx::float16).unwrap(),
                b.unwrap().astype(mx::float16).unwrap(),
            );
            quantized.insert(stem.to_string(), (q.clone(), s.clone(), b.clone(), bits));
            arrays.push((format!("{stem}.weight"), q));
            arrays.push((format!("{stem}.scales"), s));
            arrays.push((format!("{stem}.biases"), b));
        } else {
            arrays.push((name.clone(), w.clone()));
        }
    }
    let file = Gguf {
        arrays,
        metadata: gguf_bytes(&[], &meta).metadata,
    };
    let m = Llama::from_gguf(&file).unwrap();
    let q = &m.layers[0].self_attn.k_proj;
    assert_eq!(q.quantization().unwrap().bits, 4);
    assert_eq!(q.quantization().unwrap().group_size, 32);
    assert_eq!(m.embed_tokens.quantization().unwrap().bits, 8);
    // The layers hold the file's triples (scales and biases cast to float32, the compute
    // dtype).
    let same = |w: &Array, s: &Array, b: &Array, stem: &str| {
        let (fw, fs, fb, _) = &quantized[stem];
        assert_eq!(
            w.to_vec::<u32>().unwrap(),
            fw.to_vec::<u32>().unwrap(),
            "{stem}"
        );
        assert_eq!(s.dtype(), mx::float32);
        assert_close(s, &fs.astype(mx::float32).unwrap(), 0.0, stem);
        assert_close(b, &fb.astype(mx::float32).unwrap(), 0.0, stem);
    };
    let d = &m.layers[1].mlp.down_proj;
    same(
        &d.weight,
        d.scales.as_ref().unwrap(),
        d.biases.as_ref().unwrap(),
        "blk.1.ffn_down",
    );
    let e = &m.embed_tokens;
    same(
        &e.weight,
        e.scales.as_ref().unwrap(),
        e.biases.as_ref().unwrap(),
        "token_embd",
    );
    // Within the quantization error of the float model.
    let logits = m
        .logits(&m.forward(&g["in.tokens"], None).unwrap())
        .unwrap();
    let float = &g["out.logits"];
    let scale = float.abs().unwrap().max().unwrap().item::<f32>().unwrap();
    let d = max_diff(&logits, float);
    assert!(
        d < 0.15 * scale,
        "quantized logits differ by {d} (logit scale {scale})"
    );
    // The layers are really quantized: every projection runs quantized_matmul.
    let params = nn::flat_parameters(&m.parameters().unwrap());
    let packed = params
        .iter()
        .filter(|(_, a)| a.dtype() == mx::uint32)
        .count();
    assert_eq!(packed, 1 + 2 * 7);
}

#[test]
fn generation_is_greedy_and_seeded() {
    let g = goldens();
    let m = model(&g, true);
    let prompt = [3u32, 17, 42];
    let mut out = Vec::new();
    let stats = generate(&m, &prompt, 6, &mut Sampler::greedy(), |t| {
        out.push(t);
        true
    })
    .unwrap();
    assert_eq!(stats.prompt_tokens, 3);
    assert_eq!(stats.generated_tokens, 6);
    // Greedy with the cache equals the argmax of a full forward at each step.
    let mut seq = prompt.to_vec();
    for &t in &out {
        let all = Array::from_slice(&seq, &[1, seq.len()]).unwrap();
        let logits = m.logits(&m.forward(&all, None).unwrap()).unwrap();
        let last = mx::argmax_axis(&logits, -1, false)
            .unwrap()
            .to_vec::<u32>()
            .unwrap();
        assert_eq!(t, *last.last().unwrap());
        seq.push(t);
    }
    // Stopping early.
    let mut n = 0;
    let stats = generate(&m, &prompt, 6, &mut Sampler::greedy(), |_| {
        n += 1;
        n < 2
    })
    .unwrap();
    assert_eq!(stats.generated_tokens, 2);
    // Sampling: the same seed gives the same tokens; a tiny top-p is greedy.
    let sample = |temp: f32, top_p: f32, seed: u64| {
        let mut v = Vec::new();
        let mut s = Sampler::new(temp, top_p, seed).unwrap();
        generate(&m, &prompt, 8, &mut s, |t| {
            v.push(t);
            true
        })
        .unwrap();
        v
    };
    assert_eq!(sample(1.0, 0.9, 5), sample(1.0, 0.9, 5));
    assert_eq!(sample(1.0, 1.0, 5), sample(1.0, 1.0, 5));
    assert_eq!(sample(0.7, 1e-3, 3), sample(0.0, 1.0, 0));
    assert!(Sampler::new(-1.0, 1.0, 0).is_err());
    assert!(Sampler::new(1.0, 0.0, 0).is_err());
}
