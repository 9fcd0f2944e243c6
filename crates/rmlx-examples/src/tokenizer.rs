//! A byte-level BPE tokenizer (GPT-2 style) read from a GGUF file's metadata.
//!
//! llama.cpp stores the tokenizer of a `gpt2`-type model in the GGUF metadata: the vocabulary
//! (`tokenizer.ggml.tokens`, each token written with GPT-2's byte→character map, so a space is
//! `Ġ`), the merges in rank order (`tokenizer.ggml.merges`, `"left right"`), the token types
//! (`tokenizer.ggml.token_type`; 3 = control, 4 = user-defined: both are special tokens, matched
//! whole in the text), the BOS / EOS ids and the pre-tokenizer name (`tokenizer.ggml.pre`).
//!
//! Encoding splits the text on special tokens, then pre-tokenizes each piece (for SmolLM's
//! `smollm` pre-tokenizer: every digit alone, then GPT-2's split
//! `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, written out by
//! hand), maps each pre-token's bytes to characters and merges adjacent symbols by rank.
//! Decoding maps the characters back to bytes; [`StreamDecoder`] turns a stream of token ids
//! into text without ever printing half of a UTF-8 character.
//!
//! ```
//! use rmlx_examples::tokenizer::Tokenizer;
//! // Bytes map to themselves for printable ASCII; "Ġ" is the space.
//! let tokens = ["<|end|>", "a", "b", "ab", "Ġ", "Ġab"].map(String::from).to_vec();
//! let merges = ["a b", "Ġ ab"].map(String::from).to_vec();
//! let types = vec![3, 1, 1, 1, 1, 1];
//! let tok = Tokenizer::new(tokens, &merges, &types, None, Some(0), "gpt2")?;
//! assert_eq!(tok.encode("ab ab<|end|>"), vec![3, 5, 0]);
//! assert_eq!(tok.decode(&[3, 5, 0], false), "ab ab<|end|>");
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::collections::HashMap;

use anyhow::{Result, anyhow, bail};
use rmlx::core::io::gguf::{Gguf, GgufValue};

/// GPT-2's map from bytes to printable characters: printable Latin-1 bytes map to themselves,
/// the others to U+0100 onwards, in byte order.
///
/// ```
/// let table = rmlx_examples::tokenizer::bytes_to_unicode();
/// assert_eq!(table[b'a' as usize], 'a');
/// assert_eq!(table[b' ' as usize], 'Ġ');
/// assert_eq!(table[b'\n' as usize], 'Ċ');
/// ```
pub fn bytes_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let keeps = |b: u32| (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || b >= 0xae;
    let mut next = 0x100u32;
    for b in 0..256u32 {
        let c = if keeps(b) {
            b
        } else {
            next += 1;
            next - 1
        };
        table[b as usize] = char::from_u32(c).unwrap_or('\u{fffd}');
    }
    table
}

/// How the text is split before BPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreTokenizer {
    /// GPT-2's regex split.
    Gpt2,
    /// Every `\p{N}` character alone, then GPT-2's split (llama.cpp's `smollm`, `starcoder`,
    /// `refact`; HF's `Digits(individual_digits=True)` before `ByteLevel`).
    DigitsThenGpt2,
}

impl PreTokenizer {
    /// The pre-tokenizer of llama.cpp's `tokenizer.ggml.pre` name; `None` for a name this
    /// tokenizer does not implement.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "gpt2" | "default" | "mpt" | "olmo" | "jais" => Some(PreTokenizer::Gpt2),
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" => {
                Some(PreTokenizer::DigitsThenGpt2)
            }
            _ => None,
        }
    }

    /// The pieces of `text` (byte ranges that cover it).
    pub fn split<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        match self {
            PreTokenizer::Gpt2 => gpt2_split(text, &mut out),
            PreTokenizer::DigitsThenGpt2 => {
                let mut start = 0;
                for (i, c) in text.char_indices() {
                    if c.is_numeric() {
                        gpt2_split(&text[start..i], &mut out);
                        out.push(&text[i..i + c.len_utf8()]);
                        start = i + c.len_utf8();
                    }
                }
                gpt2_split(&text[start..], &mut out);
            }
        }
        out
    }
}

fn is_letter(c: char) -> bool {
    c.is_alphabetic()
}

fn is_number(c: char) -> bool {
    c.is_numeric()
}

fn is_other(c: char) -> bool {
    !c.is_whitespace() && !is_letter(c) && !is_number(c)
}

/// GPT-2's split, `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// as a hand-written scanner (the first alternative that matches at a position wins; each
/// class run is greedy).
fn gpt2_split<'a>(text: &'a str, out: &mut Vec<&'a str>) {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let n = chars.len();
    let at = |i: usize| if i < n { chars[i].0 } else { text.len() };
    let run = |mut i: usize, class: fn(char) -> bool| {
        while i < n && class(chars[i].1) {
            i += 1;
        }
        i
    };
    let mut i = 0;
    while i < n {
        let c = chars[i].1;
        let mut end = None;
        // Contractions.
        if c == '\'' && i + 1 < n {
            let c1 = chars[i + 1].1;
            if matches!(c1, 's' | 't' | 'm' | 'd') {
                end = Some(i + 2);
            } else if i + 2 < n {
                let pair = (c1, chars[i + 2].1);
                if matches!(pair, ('r', 'e') | ('v', 'e') | ('l', 'l')) {
                    end = Some(i + 3);
                }
            }
        }
        // ` ?` followed by a run of one class.
        if end.is_none() {
            let j = if c == ' ' { i + 1 } else { i };
            if j < n {
                for class in [is_letter as fn(char) -> bool, is_number, is_other] {
                    if class(chars[j].1) {
                        end = Some(run(j, class));
                        break;
                    }
                }
            }
        }
        // Whitespace: the run, less its last character when a non-space follows (so that
        // the space can start the next piece), but at least one character.
        if end.is_none() {
            let j = run(i, char::is_whitespace);
            end = Some(if j < n && j - i > 1 {
                j - 1
            } else {
                j.max(i + 1)
            });
        }
        let e = end.unwrap_or(i + 1);
        out.push(&text[at(i)..at(e)]);
        i = e;
    }
}

/// A byte-level BPE tokenizer; see the module documentation.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    tokens: Vec<String>,
    token_bytes: Vec<Vec<u8>>,
    vocab: HashMap<String, u32>,
    merges: HashMap<(u32, u32), (usize, u32)>,
    special: Vec<bool>,
    /// Special tokens, longest first (matched whole in the text).
    specials: Vec<(String, u32)>,
    byte_ids: [Option<u32>; 256],
    unk: Option<u32>,
    bos: Option<u32>,
    add_bos: bool,
    eos: Option<u32>,
    pre: PreTokenizer,
    chat_template: Option<String>,
}

impl Tokenizer {
    /// A tokenizer from its vocabulary (GPT-2 byte characters), merges (`"left right"`, rank
    /// order), token types (3 and 4 are special), unknown and end-of-sequence ids and the
    /// pre-tokenizer name (see [`PreTokenizer::from_name`]).
    ///
    /// Merges whose parts or result are not in the vocabulary are an error.
    pub fn new(
        tokens: Vec<String>,
        merges: &[String],
        token_types: &[i32],
        unk: Option<u32>,
        eos: Option<u32>,
        pre: &str,
    ) -> Result<Self> {
        let pre = PreTokenizer::from_name(pre)
            .ok_or_else(|| anyhow!("unsupported pre-tokenizer '{pre}' (tokenizer.ggml.pre)"))?;
        if tokens.len() > u32::MAX as usize {
            bail!("the vocabulary has too many tokens");
        }
        let vocab: HashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let table = bytes_to_unicode();
        let char_to_byte: HashMap<char, u8> = table
            .iter()
            .enumerate()
            .map(|(b, &c)| (c, b as u8))
            .collect();
        let special: Vec<bool> = (0..tokens.len())
            .map(|i| matches!(token_types.get(i), Some(3) | Some(4)))
            .collect();
        let token_bytes = tokens
            .iter()
            .zip(&special)
            .map(|(t, &s)| {
                if s {
                    t.as_bytes().to_vec()
                } else {
                    let mut out = Vec::with_capacity(t.len());
                    for c in t.chars() {
                        match char_to_byte.get(&c) {
                            Some(&b) => out.push(b),
                            None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                        }
                    }
                    out
                }
            })
            .collect();
        let mut merge_map = HashMap::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let (l, r) = m
                .split_once(' ')
                .ok_or_else(|| anyhow!("merge {rank} ('{m}') is not two tokens"))?;
            let id = |t: &str| {
                vocab.get(t).copied().ok_or_else(|| {
                    anyhow!("merge {rank} ('{m}') uses '{t}', not in the vocabulary")
                })
            };
            let merged = id(&format!("{l}{r}"))?;
            merge_map.entry((id(l)?, id(r)?)).or_insert((rank, merged));
        }
        let mut specials: Vec<(String, u32)> = tokens
            .iter()
            .enumerate()
            .filter(|&(i, t)| special[i] && !t.is_empty())
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let mut byte_ids = [None; 256];
        for (b, c) in table.iter().enumerate() {
            byte_ids[b] = vocab.get(&c.to_string()).copied();
        }
        let check = |id: Option<u32>, what: &str| match id {
            Some(i) if i as usize >= tokens.len() => {
                Err(anyhow!("the {what} token id {i} is outside the vocabulary"))
            }
            _ => Ok(id),
        };
        Ok(Tokenizer {
            unk: check(unk, "unknown")?,
            eos: check(eos, "end-of-sequence")?,
            bos: None,
            add_bos: false,
            tokens,
            token_bytes,
            vocab,
            merges: merge_map,
            special,
            specials,
            byte_ids,
            pre,
            chat_template: None,
        })
    }

    /// The tokenizer of a GGUF file (`tokenizer.ggml.model` must be `gpt2`).
    ///
    /// ```no_run
    /// let gguf = rmlx::core::io::gguf::load_gguf("model.gguf")?;
    /// let tok = rmlx_examples::tokenizer::Tokenizer::from_gguf(&gguf)?;
    /// println!("{:?}", tok.encode("Hello"));
    /// # Ok::<(), anyhow::Error>(())
    /// ```
    pub fn from_gguf(gguf: &Gguf) -> Result<Self> {
        let model = meta_str(gguf, "tokenizer.ggml.model")?;
        if model != "gpt2" {
            bail!("tokenizer.ggml.model is '{model}'; only 'gpt2' (byte-level BPE) is supported");
        }
        let tokens = meta_strings(gguf, "tokenizer.ggml.tokens")?;
        let merges = meta_strings(gguf, "tokenizer.ggml.merges")?;
        let types = match gguf.meta("tokenizer.ggml.token_type") {
            Some(GgufValue::Array(a)) => a
                .astype(rmlx::core::int32)
                .and_then(|a| a.to_vec::<i32>())
                .map_err(|e| anyhow!("tokenizer.ggml.token_type: {e}"))?,
            _ => vec![1; tokens.len()],
        };
        let pre = match gguf.meta("tokenizer.ggml.pre") {
            Some(GgufValue::String(s)) => s.clone(),
            _ => "gpt2".to_string(),
        };
        let mut tok = Tokenizer::new(
            tokens,
            &merges,
            &types,
            meta_u32(gguf, "tokenizer.ggml.unknown_token_id")?,
            meta_u32(gguf, "tokenizer.ggml.eos_token_id")?,
            &pre,
        )?;
        tok.bos = meta_u32(gguf, "tokenizer.ggml.bos_token_id")?
            .filter(|&b| (b as usize) < tok.tokens.len());
        tok.add_bos = tok.bos.is_some()
            && match gguf.meta("tokenizer.ggml.add_bos_token") {
                Some(GgufValue::Array(a)) if a.size() == 1 => a
                    .astype(rmlx::core::bool_)
                    .and_then(|a| a.item::<bool>())
                    .unwrap_or(false),
                _ => false,
            };
        if let Some(GgufValue::String(t)) = gguf.meta("tokenizer.chat_template") {
            tok.chat_template = Some(t.clone());
        }
        Ok(tok)
    }

    /// The number of tokens.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The beginning-of-sequence id, if the file names one.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// Whether prompts start with the beginning-of-sequence token
    /// (`tokenizer.ggml.add_bos_token`; `false` for SmolLM2).
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// The end-of-sequence id, if the file names one.
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// The id of a token's text (as the vocabulary writes it).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
    }

    /// Whether `id` is a special (control or user-defined) token.
    pub fn is_special(&self, id: u32) -> bool {
        self.special.get(id as usize).copied().unwrap_or(false)
    }

    /// The ids of `text`; special tokens in the text are matched whole.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            // The earliest special token (the longest at the same position).
            let mut found: Option<(usize, &str, u32)> = None;
            for (s, id) in &self.specials {
                if let Some(p) = rest.find(s.as_str())
                    && found.is_none_or(|(q, _, _)| p < q)
                {
                    found = Some((p, s, *id));
                }
            }
            match found {
                Some((p, s, id)) => {
                    self.encode_plain(&rest[..p], &mut ids);
                    ids.push(id);
                    rest = &rest[p + s.len()..];
                }
                None => {
                    self.encode_plain(rest, &mut ids);
                    rest = "";
                }
            }
        }
        ids
    }

    fn encode_plain(&self, text: &str, ids: &mut Vec<u32>) {
        for piece in self.pre.split(text) {
            self.bpe(piece.as_bytes(), ids);
        }
    }

    /// BPE of one pre-token: start from its bytes, merge the lowest-ranked adjacent pair
    /// (leftmost first) until no pair merges.
    fn bpe(&self, bytes: &[u8], ids: &mut Vec<u32>) {
        let mut syms: Vec<u32> = Vec::with_capacity(bytes.len());
        for &b in bytes {
            match self.byte_ids[b as usize].or(self.unk) {
                Some(id) => syms.push(id),
                None => continue,
            }
        }
        loop {
            let mut best: Option<(usize, usize, u32)> = None;
            for i in 0..syms.len().saturating_sub(1) {
                if let Some(&(rank, merged)) = self.merges.get(&(syms[i], syms[i + 1]))
                    && best.is_none_or(|(r, _, _)| rank < r)
                {
                    best = Some((rank, i, merged));
                }
            }
            let Some((_, i, merged)) = best else { break };
            syms[i] = merged;
            syms.remove(i + 1);
        }
        ids.extend_from_slice(&syms);
    }

    /// The bytes of one token (a special token gives its text; an unknown id nothing).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.token_bytes
            .get(id as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The text of `ids` (invalid UTF-8 becomes U+FFFD); `skip_special` leaves special
    /// tokens out.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            if skip_special && self.is_special(id) {
                continue;
            }
            bytes.extend_from_slice(self.token_bytes(id));
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The chat template of the file (`tokenizer.chat_template`), if any.
    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// The prompt for one user message in the file's chat template, which must be ChatML
    /// (`<|im_start|>role\ncontent<|im_end|>\n`, as SmolLM2's): the system message is
    /// `system`, else the default system message the template inserts (if any); the prompt
    /// ends with the assistant's header, as `add_generation_prompt=True` does.
    ///
    /// ```
    /// use rmlx_examples::tokenizer::chatml_prompt;
    /// let p = chatml_prompt("Hi", Some("Be brief."));
    /// assert_eq!(p, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    /// ```
    pub fn apply_chat_template(&self, user: &str, system: Option<&str>) -> Result<String> {
        let template = self.chat_template.as_deref().ok_or_else(|| {
            anyhow!("the model file has no chat template (tokenizer.chat_template)")
        })?;
        if !template.contains("<|im_start|>") {
            bail!("the model's chat template is not ChatML; only ChatML templates are supported");
        }
        let default = default_system_message(template);
        Ok(chatml_prompt(user, system.or(default.as_deref())))
    }
}

/// A ChatML prompt: an optional system message, one user message, the assistant's header.
pub fn chatml_prompt(user: &str, system: Option<&str>) -> String {
    let mut p = String::new();
    if let Some(s) = system {
        p.push_str(&format!("<|im_start|>system\n{s}<|im_end|>\n"));
    }
    p.push_str(&format!(
        "<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    ));
    p
}

/// The system message a ChatML template inserts when the conversation has none: the text
/// between `<|im_start|>system` and its newline (written as a newline or as the Jinja escape
/// `\n`) and `<|im_end|>`, in a string literal of the template.
fn default_system_message(template: &str) -> Option<String> {
    let head = "<|im_start|>system";
    let mut start = template.find(head)? + head.len();
    if template[start..].starts_with("\\n") {
        start += 2;
    } else if template[start..].starts_with('\n') {
        start += 1;
    } else {
        return None;
    }
    let len = template[start..].find("<|im_end|>")?;
    let msg = &template[start..start + len];
    // A Jinja expression (`' + message['content'] + '`) is not a literal default.
    (!msg.contains('\'') && !msg.contains('{')).then(|| msg.replace("\\n", "\n"))
}

/// Turns token ids into text as they come: bytes of a UTF-8 character split across tokens are
/// held back until the character is complete.
///
/// ```
/// use rmlx_examples::tokenizer::StreamDecoder;
/// let mut d = StreamDecoder::default();
/// let e = "é".as_bytes();
/// assert_eq!(d.push(&e[..1]), "");
/// assert_eq!(d.push(&e[1..]), "é");
/// assert_eq!(d.finish(), "");
/// ```
#[derive(Clone, Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// Adds the bytes of one token and returns the text that is complete.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    break;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        // An invalid sequence: replace it and go on.
                        Some(bad) => {
                            out.push('\u{fffd}');
                            self.pending.drain(..valid + bad);
                        }
                        // An incomplete character at the end: hold it back.
                        None => {
                            self.pending.drain(..valid);
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    /// The held-back bytes at the end of the stream (an incomplete character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }
}

fn meta_str<'a>(gguf: &'a Gguf, key: &str) -> Result<&'a str> {
    match gguf.meta(key) {
        Some(GgufValue::String(s)) => Ok(s),
        Some(_) => bail!("metadata {key} is not a string"),
        None => bail!("metadata {key} is missing"),
    }
}

fn meta_strings(gguf: &Gguf, key: &str) -> Result<Vec<String>> {
    match gguf.meta(key) {
        Some(GgufValue::Strings(s)) => Ok(s.clone()),
        Some(_) => bail!("metadata {key} is not a list of strings"),
        None => bail!("metadata {key} is missing"),
    }
}

fn meta_u32(gguf: &Gguf, key: &str) -> Result<Option<u32>> {
    match gguf.meta(key) {
        Some(GgufValue::Array(a)) if a.size() == 1 => Ok(Some(
            a.astype(rmlx::core::uint32)
                .and_then(|a| a.item::<u32>())
                .map_err(|e| anyhow!("metadata {key}: {e}"))?,
        )),
        Some(_) => bail!("metadata {key} is not one integer"),
        None => Ok(None),
    }
}
