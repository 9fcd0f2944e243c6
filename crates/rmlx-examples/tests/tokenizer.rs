//! The GGUF byte-level BPE tokenizer on a tiny vocabulary built here: merges by rank, the
//! pre-tokenizer (contractions, letters, digits one by one, punctuation, whitespace), special
//! tokens matched whole, UTF-8 characters split across tokens, streaming decode, the chat
//! template and reading everything from GGUF metadata.

use rmlx::core::io::gguf::{self, Gguf, GgufValue};
use rmlx::core::{self as mx};
use rmlx_examples::tokenizer::{PreTokenizer, StreamDecoder, Tokenizer, bytes_to_unicode};

const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
const MERGES: [&str; 10] = [
    "h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġ 't", "' t", "Ã ©",
];

/// Specials, the 256 byte characters, then the merge results, with their types.
fn vocab() -> (Vec<String>, Vec<i32>) {
    let mut tokens: Vec<String> = SPECIALS.iter().map(|s| s.to_string()).collect();
    let mut types = vec![3; SPECIALS.len()];
    for c in bytes_to_unicode() {
        tokens.push(c.to_string());
        types.push(1);
    }
    for m in MERGES {
        let merged = m.replace(' ', "");
        if !tokens.contains(&merged) {
            tokens.push(merged);
            types.push(1);
        }
    }
    (tokens, types)
}

fn tokenizer(pre: &str) -> Tokenizer {
    let (tokens, types) = vocab();
    let merges: Vec<String> = MERGES.iter().map(|s| s.to_string()).collect();
    Tokenizer::new(tokens, &merges, &types, Some(0), Some(2), pre).unwrap()
}

fn pieces(tok: &Tokenizer, ids: &[u32]) -> Vec<String> {
    ids.iter().map(|&i| tok.decode(&[i], false)).collect()
}

#[test]
fn merges_apply_by_rank() {
    let tok = tokenizer("smollm");
    let ids = tok.encode("hello world");
    assert_eq!(pieces(&tok, &ids), ["hello", " wor", "l", "d"]);
    assert_eq!(ids[0], tok.token_id("hello").unwrap());
    assert_eq!(ids[1], tok.token_id("Ġwor").unwrap());
    assert_eq!(tok.decode(&ids, false), "hello world");
}

#[test]
fn pre_tokenizer_splits_like_gpt2() {
    let split = |p: PreTokenizer, s: &str| -> Vec<String> {
        p.split(s).into_iter().map(String::from).collect()
    };
    let g = PreTokenizer::Gpt2;
    assert_eq!(
        split(g, "Hello, world! it's 2024"),
        ["Hello", ",", " world", "!", " it", "'s", " 2024"]
    );
    // Whitespace before a word keeps one space for the word; newlines stand alone.
    assert_eq!(
        split(g, "a   b\n\nc "),
        ["a", "  ", " b", "\n", "\n", "c", " "]
    );
    assert_eq!(split(g, "x\ny"), ["x", "\n", "y"]);
    assert_eq!(
        split(g, "we'll they're I'M"),
        ["we", "'ll", " they", "'re", " I", "'", "M"]
    );
    assert_eq!(split(g, "((a))  ...b"), ["((", "a", "))", " ", " ...", "b"]);
    assert_eq!(split(g, "héllo wörld 東京"), ["héllo", " wörld", " 東京"]);
    // SmolLM: every digit alone, before GPT-2's split.
    let d = PreTokenizer::DigitsThenGpt2;
    assert_eq!(split(d, "in 2024!"), ["in", " ", "2", "0", "2", "4", "!"]);
    assert_eq!(split(d, "x12y"), ["x", "1", "2", "y"]);
    assert_eq!(PreTokenizer::from_name("smollm"), Some(d));
    assert_eq!(PreTokenizer::from_name("llama-bpe"), None);
}

#[test]
fn digits_are_single_tokens() {
    let tok = tokenizer("smollm");
    assert_eq!(
        pieces(&tok, &tok.encode("a 123")),
        ["a", " ", "1", "2", "3"]
    );
}

#[test]
fn special_tokens_match_whole() {
    let tok = tokenizer("smollm");
    let ids = tok.encode("<|im_start|>user\nhello<|im_end|>\n");
    assert_eq!(ids[0], 1);
    let end = ids.iter().position(|&i| i == 2).unwrap();
    assert_eq!(
        pieces(&tok, &ids[1..end]),
        ["u", "s", "e", "r", "\n", "hello"]
    );
    assert_eq!(
        tok.decode(&ids, false),
        "<|im_start|>user\nhello<|im_end|>\n"
    );
    assert_eq!(tok.decode(&ids, true), "user\nhello\n");
    // A partial special token is ordinary text.
    let ids = tok.encode("<|im_");
    assert!(ids.iter().all(|&i| !tok.is_special(i)));
    assert_eq!(tok.decode(&ids, false), "<|im_");
    // Two specials in a row, and text before the first.
    let ids = tok.encode("x<|endoftext|><|im_end|>");
    assert_eq!(&ids[1..], &[0, 2]);
}

#[test]
fn utf8_split_across_tokens() {
    let tok = tokenizer("smollm");
    // "é" is 0xC3 0xA9, merged into one token ("Ã ©"); "ü" stays two byte tokens.
    let ids = tok.encode("é");
    assert_eq!(ids.len(), 1);
    let ids = tok.encode("ü");
    assert_eq!(ids.len(), 2);
    assert_eq!(tok.token_bytes(ids[0]), &[0xc3]);
    assert_eq!(tok.decode(&ids[..1], false), "\u{fffd}");
    for text in ["ü", "naïve café 東京 🦀", "tab\tnew\r\nline", "it't 't"] {
        assert_eq!(tok.decode(&tok.encode(text), false), text);
    }
}

#[test]
fn streaming_decode_holds_back_partial_characters() {
    let tok = tokenizer("smollm");
    let text = "a 🦀 b ü!";
    let ids = tok.encode(text);
    let mut d = StreamDecoder::default();
    let mut out = String::new();
    let mut emitted = Vec::new();
    for &id in &ids {
        let s = d.push(tok.token_bytes(id));
        assert!(!s.contains('\u{fffd}'));
        emitted.push(s.clone());
        out.push_str(&s);
    }
    out.push_str(&d.finish());
    assert_eq!(out, text);
    // The crab is 4 byte tokens: three give nothing, the fourth the whole character.
    assert!(emitted.iter().any(|s| s == "🦀"));
    assert!(emitted.iter().filter(|s| s.is_empty()).count() >= 3);
    // An invalid byte becomes U+FFFD and decoding goes on; an unfinished character at the end
    // is flushed by finish.
    let mut d = StreamDecoder::default();
    assert_eq!(d.push(&[b'a', 0xff, b'b']), "a\u{fffd}b");
    assert_eq!(d.push(&[0xe6, 0x9d]), "");
    assert_eq!(d.finish(), "\u{fffd}");
}

fn smollm_like_template() -> String {
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}\
     {{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
     Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + \
     message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}\
     {{ '<|im_start|>assistant\\n' }}{% endif %}"
        .to_string()
}

fn gguf_tokenizer_metadata(template: Option<String>) -> Vec<(String, GgufValue)> {
    let (tokens, types) = vocab();
    let merges: Vec<String> = MERGES.iter().map(|s| s.to_string()).collect();
    let mut meta = vec![
        ("tokenizer.ggml.model".to_string(), GgufValue::from("gpt2")),
        ("tokenizer.ggml.pre".to_string(), GgufValue::from("smollm")),
        ("tokenizer.ggml.tokens".to_string(), GgufValue::from(tokens)),
        ("tokenizer.ggml.merges".to_string(), GgufValue::from(merges)),
        (
            "tokenizer.ggml.token_type".to_string(),
            GgufValue::from(mx::Array::from_vec(types)),
        ),
        (
            "tokenizer.ggml.bos_token_id".to_string(),
            GgufValue::from(mx::Array::scalar(1u32)),
        ),
        (
            "tokenizer.ggml.eos_token_id".to_string(),
            GgufValue::from(mx::Array::scalar(2u32)),
        ),
        (
            "tokenizer.ggml.add_bos_token".to_string(),
            GgufValue::from(mx::Array::scalar(true)),
        ),
    ];
    if let Some(t) = template {
        meta.push(("tokenizer.chat_template".to_string(), GgufValue::String(t)));
    }
    meta
}

#[test]
fn from_gguf_metadata_and_chat_template() {
    let meta = gguf_tokenizer_metadata(Some(smollm_like_template()));
    let refs: Vec<(&str, GgufValue)> = meta.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let w = mx::zeros(&[2], mx::float32).unwrap();
    let bytes = gguf::to_gguf_bytes(&[("dummy", &w)], &refs).unwrap();
    let file = gguf::from_bytes(&bytes).unwrap();
    let tok = Tokenizer::from_gguf(&file).unwrap();
    assert_eq!(tok.bos(), Some(1));
    assert_eq!(tok.eos(), Some(2));
    assert!(tok.add_bos());
    assert_eq!(tok.vocab_size(), 3 + 256 + MERGES.len());
    assert_eq!(
        pieces(&tok, &tok.encode("hello world")),
        ["hello", " wor", "l", "d"]
    );
    let prompt = tok.apply_chat_template("Hi", None).unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
         Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    let prompt = tok.apply_chat_template("Hi", Some("Be brief.")).unwrap();
    assert!(prompt.starts_with("<|im_start|>system\nBe brief.<|im_end|>\n"));
    let ids = tok.encode(&prompt);
    assert_eq!(ids[0], 1);
    assert_eq!(ids.iter().filter(|&&i| i == 2).count(), 2);

    // No template; a model type that is not byte-level BPE.
    let no_template = Gguf {
        arrays: vec![],
        metadata: gguf_tokenizer_metadata(None),
    };
    let tok = Tokenizer::from_gguf(&no_template).unwrap();
    assert!(tok.apply_chat_template("Hi", None).is_err());
    let mut spm = no_template.clone();
    spm.metadata[0].1 = GgufValue::from("llama");
    let err = Tokenizer::from_gguf(&spm).unwrap_err().to_string();
    assert!(err.contains("only 'gpt2'"), "{err}");
}

#[test]
fn bad_merges_are_errors() {
    let (tokens, types) = vocab();
    let err = Tokenizer::new(
        tokens.clone(),
        &["h zz".to_string()],
        &types,
        None,
        None,
        "gpt2",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("not in the vocabulary"), "{err}");
    let err = Tokenizer::new(tokens, &[], &types, None, None, "nope")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unsupported pre-tokenizer"), "{err}");
}
