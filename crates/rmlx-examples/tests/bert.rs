//! The BERT model and the sentence-embedding glue against Hugging Face transformers on a tiny
//! random BERT (goldens from tools/goldens/gen_examples_bert.py).

use std::path::{Path, PathBuf};

use rmlx::core::{self as mx, Array};
use rmlx::nn::Module;
use rmlx_examples::models::bert::{Bert, BertConfig};
use rmlx_examples::models::sentence::{
    SentenceEncoder, bench_sentences, cosine_matrix, load_tokenizer,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/bert_tiny")
}

fn golden() -> Vec<(String, Array)> {
    mx::io::load(dir().join("golden.npz").to_str().unwrap())
        .unwrap()
        .into_arrays()
}

fn get(g: &[(String, Array)], key: &str) -> Array {
    g.iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("{key} not in golden.npz"))
        .1
        .clone()
}

#[derive(serde::Deserialize)]
struct Texts {
    sentences: Vec<String>,
    ids: Vec<Vec<u32>>,
}

fn texts() -> Texts {
    serde_json::from_str(&std::fs::read_to_string(dir().join("golden.json")).unwrap()).unwrap()
}

fn max_abs_diff(a: &Array, b: &Array) -> f32 {
    assert_eq!(a.shape(), b.shape());
    let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn tiny_model() -> Bert {
    let config = BertConfig::from_file(&dir().join("config.json")).unwrap();
    let mut model = Bert::new(&config).unwrap();
    model
        .load_safetensors(&dir().join("model.safetensors"))
        .unwrap();
    model
}

fn encoder() -> SentenceEncoder {
    SentenceEncoder::from_files(
        &dir().join("config.json"),
        &dir().join("model.safetensors"),
        &dir().join("tokenizer.json"),
        256,
    )
    .unwrap()
}

#[test]
fn last_hidden_state_matches_transformers() {
    let g = golden();
    let model = tiny_model();
    let hidden = model
        .forward(
            &get(&g, "input_ids"),
            None,
            Some(&get(&g, "attention_mask")),
        )
        .unwrap();
    let d = max_abs_diff(&hidden, &get(&g, "last_hidden_state"));
    assert!(d < 1e-4, "last hidden state differs by {d}");
}

#[test]
fn parameter_keys_are_the_checkpoint_keys() {
    let model = tiny_model();
    let keys: Vec<String> = rmlx::nn::flat_parameters(&model.parameters().unwrap())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for k in [
        "embeddings.LayerNorm.weight",
        "encoder.layer.1.attention.self.query.weight",
        "encoder.layer.0.attention.output.LayerNorm.bias",
        "encoder.layer.1.intermediate.dense.weight",
        "encoder.layer.0.output.dense.bias",
        "pooler.dense.weight",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
    }
    // 5 embedding tensors, 16 per layer, 2 for the pooler.
    assert_eq!(keys.len(), 5 + 2 * 16 + 2);
}

#[test]
fn strict_loading_reports_missing_and_extra_keys() {
    let config = BertConfig::from_file(&dir().join("config.json")).unwrap();
    let file = std::env::temp_dir().join(format!("rmlx-bert-{}.safetensors", std::process::id()));
    let weights = mx::io::load(dir().join("model.safetensors").to_str().unwrap())
        .unwrap()
        .into_arrays();
    let mut missing: Vec<(String, Array)> = weights
        .iter()
        .filter(|(k, _)| k != "pooler.dense.bias")
        .cloned()
        .collect();
    let pairs: Vec<(&str, &Array)> = missing.iter().map(|(k, a)| (k.as_str(), a)).collect();
    mx::io::save_safetensors(file.to_str().unwrap(), &pairs, &[]).unwrap();
    let err = Bert::new(&config)
        .unwrap()
        .load_safetensors(&file)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Missing 1 parameters") && err.contains("pooler.dense.bias"),
        "{err}"
    );

    missing.push((
        "encoder.layer.9.output.dense.bias".into(),
        mx::zeros(&[32], mx::float32).unwrap(),
    ));
    missing.push((
        "pooler.dense.bias".into(),
        mx::zeros(&[32], mx::float32).unwrap(),
    ));
    let pairs: Vec<(&str, &Array)> = missing.iter().map(|(k, a)| (k.as_str(), a)).collect();
    mx::io::save_safetensors(file.to_str().unwrap(), &pairs, &[]).unwrap();
    let err = Bert::new(&config)
        .unwrap()
        .load_safetensors(&file)
        .unwrap_err()
        .to_string();
    assert!(err.contains("encoder.layer.9.output.dense.bias"), "{err}");
    std::fs::remove_file(&file).ok();
}

#[test]
fn tokenizer_glue_turns_fixed_padding_off() {
    // The file pads to 16 tokens; the glue pads each batch to its longest sentence only.
    let raw = load_tokenizer(&dir().join("tokenizer.json")).unwrap();
    assert_eq!(raw.encode("a man", true).unwrap().get_ids().len(), 16);
    let t = texts();
    let enc = encoder();
    for (s, ids) in t.sentences.iter().zip(&t.ids) {
        let b = enc.tokenize(&[s.as_str()]).unwrap();
        assert_eq!(b.input_ids.to_vec::<u32>().unwrap(), *ids, "{s}");
        assert_eq!(b.lengths, vec![ids.len()]);
    }
    let refs: Vec<&str> = t.sentences.iter().map(String::as_str).collect();
    let b = enc.tokenize(&refs).unwrap();
    let g = golden();
    let want: Vec<u32> = get(&g, "input_ids")
        .to_vec::<i32>()
        .unwrap()
        .into_iter()
        .map(|x| x as u32)
        .collect();
    assert_eq!(b.input_ids.to_vec::<u32>().unwrap(), want);
    assert_eq!(
        b.attention_mask.to_vec::<f32>().unwrap(),
        get(&g, "attention_mask").to_vec::<f32>().unwrap()
    );
}

#[test]
fn embeddings_match_transformers_mean_pooling() {
    let t = texts();
    let refs: Vec<&str> = t.sentences.iter().map(String::as_str).collect();
    let enc = encoder();
    let want = get(&golden(), "embeddings");
    let one_batch = enc.encode(&refs).unwrap();
    assert!(max_abs_diff(&one_batch, &want) < 1e-5);
    // Sorted by length into batches of 2, then put back in order.
    let batched = enc.encode_batched(&refs, 2).unwrap();
    assert!(max_abs_diff(&batched, &want) < 1e-5);
    // Alone, with no padding at all.
    for (i, s) in refs.iter().enumerate() {
        let e = enc.encode(&[s]).unwrap();
        let row = mx::take(
            &want,
            &Array::from_slice(&[i as u32], &[1]).unwrap(),
            Some(0),
        )
        .unwrap();
        assert!(max_abs_diff(&e, &row) < 1e-5, "{s}");
    }
    let cos = cosine_matrix(&batched).unwrap().to_vec::<f32>().unwrap();
    for i in 0..refs.len() {
        assert!((cos[i * refs.len() + i] - 1.0).abs() < 1e-5);
    }
}

#[test]
fn reference_file_is_five_unit_vectors() {
    #[derive(serde::Deserialize)]
    struct Reference {
        sentences: Vec<String>,
        embeddings: Vec<Vec<f32>>,
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/minilm_reference.json");
    let r: Reference = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(r.sentences.len(), 5);
    assert_eq!(r.embeddings.len(), 5);
    for e in &r.embeddings {
        assert_eq!(e.len(), 384);
        let norm: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    let cos: f32 = r.embeddings[0]
        .iter()
        .zip(&r.embeddings[1])
        .map(|(a, b)| a * b)
        .sum();
    assert!((cos - 0.755).abs() < 5e-4, "{cos}");
}

#[test]
fn bench_sentences_are_fixed_and_varied() {
    let s = bench_sentences(1000);
    assert_eq!(s.len(), 1000);
    assert_eq!(s, bench_sentences(1000));
    let lengths: std::collections::BTreeSet<usize> = s.iter().map(|x| x.len()).collect();
    assert!(lengths.len() > 50);
    // The first sentence, as bench/peers_minilm.py's generator also writes it.
    assert_eq!(s[0], FIRST_BENCH_SENTENCE);
}

const FIRST_BENCH_SENTENCE: &str = include_str!("goldens/bench_first_sentence.txt");

#[test]
fn bad_config_is_an_error() {
    let c = BertConfig {
        hidden_size: 30,
        num_attention_heads: 4,
        ..BertConfig::default()
    };
    assert!(Bert::new(&c).is_err());
    let c = BertConfig {
        hidden_act: "relu".into(),
        ..BertConfig::default()
    };
    let err = Bert::new(&c).err().unwrap().to_string();
    assert!(err.contains("hidden_act"), "{err}");
}
