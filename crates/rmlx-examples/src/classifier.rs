//! Image classifiers for MNIST-sized inputs and their training loop: an MLP and a small CNN
//! written the way MLX's examples write them, a [`Trainer`] that runs one optimizer step per
//! batch (optionally through `compile`), test accuracy, and checkpoints (weights, optimizer
//! state and epoch) that a run resumes from exactly.
//!
//! ```
//! use rmlx::core as mx;
//! use rmlx_examples::classifier::{make_optimizer, Mlp, OptimizerKind, Trainer};
//! mx::random::seed(0);
//! let model = Mlp::new(4, 8, 2, 3)?;
//! let opt = make_optimizer(OptimizerKind::Adam, 1e-2)?;
//! let mut trainer = Trainer::new(model, opt, false)?;
//! let x = mx::random::normal(&[16, 4], mx::float32, None)?;
//! let y = mx::Array::from_slice(&[0u32, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0], &[16])?;
//! let first = trainer.step(&x, &y)?;
//! for _ in 0..20 {
//!     trainer.step(&x, &y)?;
//! }
//! assert!(trainer.step(&x, &y)? < first);
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow, bail};
use rmlx::core::tree::{Tree, tree_flatten, tree_unflatten};
use rmlx::core::{self as mx, Array};
use rmlx::nn::{self, Forward, Module};
use rmlx::optimizers::{self as optim, Optimizer};

use crate::datasets::mnist::Split;
use crate::progress::{Progress, Summary};

fn mxe(e: mx::Error) -> anyhow::Error {
    anyhow!("{e}")
}

/// A multi-layer perceptron: `depth` hidden `Linear` layers of `hidden` units with ReLU, then
/// a `Linear` to the classes (MLX's `mlx-examples/mnist` model).
///
/// ```
/// use rmlx::nn::Forward;
/// let mlp = rmlx_examples::classifier::Mlp::new(784, 512, 2, 10)?;
/// let x = rmlx::core::zeros(&[3, 784], rmlx::core::float32)?;
/// assert_eq!(mlp.forward(&x)?.shape(), &[3, 10]);
/// # Ok::<(), anyhow::Error>(())
/// ```
#[derive(Clone, Debug, nn::Module)]
pub struct Mlp {
    layers: Vec<nn::Linear>,
}

impl Mlp {
    /// `input -> hidden (x depth) -> classes`.
    pub fn new(input: usize, hidden: usize, depth: usize, classes: usize) -> Result<Mlp> {
        let mut dims = vec![input];
        dims.extend(std::iter::repeat_n(hidden, depth));
        dims.push(classes);
        let layers = dims
            .windows(2)
            .map(|w| nn::Linear::new(w[0], w[1]))
            .collect::<mx::Result<Vec<_>>>()
            .map_err(mxe)?;
        Ok(Mlp { layers })
    }
}

impl Forward for Mlp {
    fn forward(&self, x: &Array) -> mx::Result<Array> {
        let (last, hidden) = self.layers.split_last().expect("an MLP has a layer");
        let mut h = x.clone();
        for l in hidden {
            h = nn::relu(&l.forward(&h)?)?;
        }
        last.forward(&h)
    }
}

/// A small CNN for 28x28 grey images given as rows of 784 pixels: conv 3x3 (32) - ReLU -
/// max-pool 2 - conv 3x3 (64) - ReLU - max-pool 2 - dense 128 - ReLU - dense to the classes.
///
/// ```
/// use rmlx::nn::Forward;
/// let cnn = rmlx_examples::classifier::Cnn::new(10)?;
/// let x = rmlx::core::zeros(&[2, 784], rmlx::core::float32)?;
/// assert_eq!(cnn.forward(&x)?.shape(), &[2, 10]);
/// # Ok::<(), anyhow::Error>(())
/// ```
#[derive(Clone, Debug, nn::Module)]
pub struct Cnn {
    conv1: nn::Conv2d,
    conv2: nn::Conv2d,
    pool: nn::MaxPool2d,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Cnn {
    /// The CNN with `classes` outputs.
    pub fn new(classes: usize) -> Result<Cnn> {
        let same = nn::Conv2dOptions {
            padding: 1.into(),
            ..Default::default()
        };
        Ok(Cnn {
            conv1: nn::Conv2d::with_options(1, 32, 3, &same).map_err(mxe)?,
            conv2: nn::Conv2d::with_options(32, 64, 3, &same).map_err(mxe)?,
            pool: nn::MaxPool2d::new(2).map_err(mxe)?,
            fc1: nn::Linear::new(7 * 7 * 64, 128).map_err(mxe)?,
            fc2: nn::Linear::new(128, classes).map_err(mxe)?,
        })
    }
}

impl Forward for Cnn {
    fn forward(&self, x: &Array) -> mx::Result<Array> {
        let n = x.shape()[0] as isize;
        let x = x.reshape(&[n, 28, 28, 1])?;
        let x = self.pool.forward(&nn::relu(&self.conv1.forward(&x)?)?)?;
        let x = self.pool.forward(&nn::relu(&self.conv2.forward(&x)?)?)?;
        let x = x.reshape(&[n, -1])?;
        self.fc2.forward(&nn::relu(&self.fc1.forward(&x)?)?)
    }
}

/// The mean cross entropy of `model(args[0])` against the labels `args[1]`.
pub fn loss_fn<M: Forward>(model: &M, args: &[Array]) -> mx::Result<Array> {
    let opts = nn::losses::CrossEntropyOptions {
        reduction: nn::losses::Reduction::Mean,
        ..Default::default()
    };
    nn::losses::cross_entropy(&model.forward(&args[0])?, &args[1], &opts)
}

/// The optimizers the examples offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    /// Plain SGD (MLX's `optim.SGD`).
    Sgd,
    /// Adam with MLX's defaults (betas 0.9, 0.999; eps 1e-8; no bias correction).
    Adam,
    /// AdamW with MLX's defaults (weight decay 0.01).
    AdamW,
}

impl OptimizerKind {
    /// The command-line name: `sgd`, `adam`, `adamw`.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
        }
    }

    /// Parses a command-line name.
    ///
    /// ```
    /// use rmlx_examples::classifier::OptimizerKind;
    /// assert_eq!(OptimizerKind::parse("AdamW"), Some(OptimizerKind::AdamW));
    /// assert_eq!(OptimizerKind::parse("lbfgs"), None);
    /// ```
    pub fn parse(s: &str) -> Option<OptimizerKind> {
        match s.to_ascii_lowercase().as_str() {
            "sgd" => Some(OptimizerKind::Sgd),
            "adam" => Some(OptimizerKind::Adam),
            "adamw" => Some(OptimizerKind::AdamW),
            _ => None,
        }
    }
}

/// A boxed optimizer of `kind` with learning rate `lr`.
pub fn make_optimizer(kind: OptimizerKind, lr: f64) -> Result<Box<dyn Optimizer + Send>> {
    Ok(match kind {
        OptimizerKind::Sgd => Box::new(optim::SGD::new(lr).map_err(mxe)?),
        OptimizerKind::Adam => Box::new(optim::Adam::new(lr).map_err(mxe)?),
        OptimizerKind::AdamW => Box::new(optim::AdamW::new(lr).map_err(mxe)?),
    })
}

type StepFn = Box<dyn Fn(&[Array]) -> mx::Result<Vec<Array>>>;

/// The compiled step: the function, and the parameters + optimizer state it carries.
struct Compiled {
    step: StepFn,
    state: mx::CompileState,
    params: Tree,
    opt_state: Tree,
    n_params: usize,
}

/// Trains a model with an optimizer, one [`Trainer::step`] per batch.
///
/// With `compile`, the whole step (forward, backward, optimizer update) goes through
/// `mx::compile_with_state`, the parameters and optimizer state being the compiled function's
/// state; [`Trainer::model`] and [`Trainer::save_checkpoint`] read them back.
pub struct Trainer<M> {
    model: M,
    opt: Arc<Mutex<Box<dyn Optimizer + Send>>>,
    compiled: Option<Compiled>,
    /// True when the model and optimizer hold the latest values (false after compiled steps).
    synced: bool,
}

impl<M: Module + Forward + Clone + 'static> Trainer<M> {
    /// A trainer for `model` (whose weights may come from a checkpoint) and `opt` (whose state
    /// may too; see [`load_checkpoint`]).
    pub fn new(model: M, opt: Box<dyn Optimizer + Send>, compile: bool) -> Result<Trainer<M>> {
        let opt = Arc::new(Mutex::new(opt));
        lock(&opt)
            .init(&model.trainable_parameters().map_err(mxe)?)
            .map_err(mxe)?;
        let compiled = if compile {
            Some(Self::compile_step(&model, &opt)?)
        } else {
            None
        };
        Ok(Trainer {
            model,
            opt,
            compiled,
            synced: true,
        })
    }

    fn compile_step(model: &M, opt: &Arc<Mutex<Box<dyn Optimizer + Send>>>) -> Result<Compiled> {
        let params = model.parameters().map_err(mxe)?;
        let opt_state = lock(opt).state();
        let n_params = params.leaves().len();
        let state = mx::CompileState::new([params.leaves(), opt_state.leaves()].concat());
        let (s, o, m0, p0, o0) = (
            state.clone(),
            opt.clone(),
            model.clone(),
            params.clone(),
            opt_state.clone(),
        );
        let step = mx::compile_with_state(
            move |args: &[Array]| {
                let arrays = s.get();
                let params = p0.with_leaves(&mut arrays[..n_params].iter().cloned())?;
                let ostate = o0.with_leaves(&mut arrays[n_params..].iter().cloned())?;
                let mut opt = lock(&o);
                opt.set_state(ostate)?;
                let mut m = m0.clone();
                m.update(&params, true)?;
                let (loss, grads) = nn::value_and_grad(loss_fn::<M>)(&m, args)?;
                opt.update(&mut m, &grads)?;
                s.set([m.parameters()?.leaves(), opt.state().leaves()].concat());
                Ok(loss)
            },
            state.clone(),
        );
        Ok(Compiled {
            step: Box::new(step),
            state,
            params,
            opt_state,
            n_params,
        })
    }

    /// One optimizer step on the batch `(x, y)`; returns the batch's loss. Everything the step
    /// produces (loss, parameters, optimizer state) is evaluated here, in one `eval`.
    pub fn step(&mut self, x: &Array, y: &Array) -> Result<f32> {
        let args = [x.clone(), y.clone()];
        let loss = match &self.compiled {
            Some(c) => {
                let out = (c.step)(&args).map_err(mxe)?;
                let mut roots = c.state.get();
                roots.extend(out.iter().cloned());
                mx::eval(&roots).map_err(mxe)?;
                self.synced = false;
                out.into_iter()
                    .next()
                    .context("the compiled step returned no loss")?
            }
            None => {
                let (loss, grads) =
                    nn::value_and_grad(loss_fn::<M>)(&self.model, &args).map_err(mxe)?;
                let mut opt = lock(&self.opt);
                opt.update(&mut self.model, &grads).map_err(mxe)?;
                let mut roots = self.model.parameters().map_err(mxe)?.leaves();
                roots.extend(opt.state().leaves());
                roots.push(loss.clone());
                mx::eval(&roots).map_err(mxe)?;
                loss
            }
        };
        loss.item::<f32>().map_err(mxe)
    }

    /// Copies the compiled step's parameters and optimizer state back to the model and the
    /// optimizer.
    fn sync(&mut self) -> Result<()> {
        if self.synced {
            return Ok(());
        }
        if let Some(c) = &self.compiled {
            let arrays = c.state.get();
            let params = c
                .params
                .with_leaves(&mut arrays[..c.n_params].iter().cloned())
                .map_err(mxe)?;
            let ostate = c
                .opt_state
                .with_leaves(&mut arrays[c.n_params..].iter().cloned())
                .map_err(mxe)?;
            self.model.update(&params, true).map_err(mxe)?;
            lock(&self.opt).set_state(ostate).map_err(mxe)?;
        }
        self.synced = true;
        Ok(())
    }

    /// The model with its current parameters.
    pub fn model(&mut self) -> Result<&M> {
        self.sync()?;
        Ok(&self.model)
    }

    /// The number of optimizer steps done so far (from the optimizer state).
    pub fn steps_done(&mut self) -> Result<u64> {
        self.sync()?;
        lock(&self.opt).step().item::<u64>().map_err(mxe)
    }

    /// The fraction of `split` classified correctly, in batches of `batch_size`.
    pub fn accuracy(&mut self, split: &Split, batch_size: usize) -> Result<f64> {
        let model = self.model()?;
        accuracy(model, split, batch_size)
    }

    /// Saves the weights to `path` and the optimizer state, with `meta` and the epoch, next
    /// to it (see [`checkpoint_paths`]).
    pub fn save_checkpoint(&mut self, path: &Path, meta: &CheckpointMeta) -> Result<()> {
        self.save_checkpoint_with(path, &meta.to_strings())
    }

    /// [`Trainer::save_checkpoint`] with any metadata (string pairs stored in both files'
    /// safetensors headers); [`load_checkpoint_with`] reads it back.
    pub fn save_checkpoint_with(&mut self, path: &Path, meta: &[(String, String)]) -> Result<()> {
        self.sync()?;
        let (weights, state) = checkpoint_paths(path);
        if let Some(dir) = weights.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        }
        let meta_refs: Vec<(&str, &str)> =
            meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let params = arrays_of(&self.model.parameters().map_err(mxe)?);
        let refs: Vec<(&str, &Array)> = params.iter().map(|(k, a)| (k.as_str(), a)).collect();
        mx::io::save_safetensors(&weights, &refs, &meta_refs)
            .map_err(mxe)
            .with_context(|| format!("writing {}", weights.display()))?;
        let ostate = arrays_of(&lock(&self.opt).state());
        let refs: Vec<(&str, &Array)> = ostate.iter().map(|(k, a)| (k.as_str(), a)).collect();
        mx::io::save_safetensors(&state, &refs, &meta_refs)
            .map_err(mxe)
            .with_context(|| format!("writing {}", state.display()))?;
        Ok(())
    }
}

fn lock<'a>(
    m: &'a Mutex<Box<dyn Optimizer + Send>>,
) -> std::sync::MutexGuard<'a, Box<dyn Optimizer + Send>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn arrays_of(tree: &Tree) -> Vec<(String, Array)> {
    tree_flatten(tree, "")
        .into_iter()
        .filter_map(|(k, t)| t.as_array().map(|a| (k, a.clone())))
        .collect()
}

/// The seed of the batch order of epoch `epoch` (counted from 1) of a run seeded `seed`: a
/// resumed run shuffles its epochs as the unbroken run would.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64)
}

/// One epoch of training over `split` in shuffled batches (the order given by
/// [`epoch_seed`]), shown on `progress`; returns the pass's summary and the loss of each step.
pub fn train_epoch<M: Module + Forward + Clone + 'static>(
    trainer: &mut Trainer<M>,
    split: &Split,
    batch_size: usize,
    shuffle_seed: u64,
    mut progress: Progress,
) -> Result<(Summary, Vec<f32>)> {
    let mut losses = Vec::with_capacity(split.num_batches(batch_size));
    for (x, y) in split.batches(batch_size, Some(shuffle_seed)) {
        let n = y.shape()[0];
        let loss = trainer.step(&x, &y)?;
        losses.push(loss);
        progress.step(n, Some(loss));
    }
    Ok((progress.finish(), losses))
}

/// The fraction of `split` that `model` classifies correctly, in batches of `batch_size`.
pub fn accuracy<M: Forward>(model: &M, split: &Split, batch_size: usize) -> Result<f64> {
    let mut correct = 0u64;
    for (x, y) in split.batches(batch_size, None) {
        let pred = mx::argmax_axis(&model.forward(&x).map_err(mxe)?, -1, false).map_err(mxe)?;
        let hits = mx::sum(&mx::equal(&pred.astype(mx::uint32).map_err(mxe)?, &y).map_err(mxe)?)
            .map_err(mxe)?;
        correct += hits.item::<u64>().map_err(mxe)?;
    }
    Ok(correct as f64 / split.len().max(1) as f64)
}

/// What a checkpoint records besides the arrays: the model and optimizer names (checked on
/// resume), the epochs done, and the history of the run so far (for `--plot`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckpointMeta {
    /// `mlp` or `cnn`.
    pub model: String,
    /// `mnist` or `fashion`.
    pub dataset: String,
    /// `sgd`, `adam` or `adamw`.
    pub optimizer: String,
    /// Epochs completed.
    pub epoch: usize,
    /// The seed of the run (weights and batch order).
    pub seed: u64,
    /// The batch size of the run.
    pub batch_size: usize,
    /// The number of training examples used (the first ones of the split).
    pub train_size: usize,
    /// The training loss of every step so far.
    pub step_losses: Vec<f32>,
    /// The test accuracy after each epoch so far.
    pub test_accuracy: Vec<f64>,
}

impl CheckpointMeta {
    fn to_strings(&self) -> Vec<(String, String)> {
        let join = |v: Vec<String>| v.join(",");
        vec![
            ("format".into(), "rmlx-examples-classifier-1".into()),
            ("model".into(), self.model.clone()),
            ("dataset".into(), self.dataset.clone()),
            ("optimizer".into(), self.optimizer.clone()),
            ("epoch".into(), self.epoch.to_string()),
            ("seed".into(), self.seed.to_string()),
            ("batch_size".into(), self.batch_size.to_string()),
            ("train_size".into(), self.train_size.to_string()),
            (
                "step_losses".into(),
                join(self.step_losses.iter().map(|l| l.to_string()).collect()),
            ),
            (
                "test_accuracy".into(),
                join(self.test_accuracy.iter().map(|a| a.to_string()).collect()),
            ),
        ]
    }

    fn from_metadata(meta: &[(String, String)], file: &Path) -> Result<CheckpointMeta> {
        let get = |k: &str| checkpoint_entry(meta, k, file, "an rmlx");
        if get("format")? != "rmlx-examples-classifier-1" {
            bail!(
                "{}: unknown checkpoint format {}",
                file.display(),
                get("format")?
            );
        }
        fn number<T: std::str::FromStr>(s: &str, file: &Path, what: &str) -> Result<T> {
            s.parse()
                .map_err(|_| anyhow!("{}: corrupt '{what}' entry", file.display()))
        }
        fn list<T: std::str::FromStr>(s: &str, file: &Path, what: &str) -> Result<Vec<T>> {
            s.split(',')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse()
                        .map_err(|_| anyhow!("{}: corrupt '{what}' entry", file.display()))
                })
                .collect()
        }
        Ok(CheckpointMeta {
            model: get("model")?.into(),
            dataset: get("dataset")?.into(),
            optimizer: get("optimizer")?.into(),
            epoch: number(get("epoch")?, file, "epoch")?,
            seed: number(get("seed")?, file, "seed")?,
            batch_size: number(get("batch_size")?, file, "batch_size")?,
            train_size: number(get("train_size")?, file, "train_size")?,
            step_losses: list(get("step_losses")?, file, "step_losses")?,
            test_accuracy: list(get("test_accuracy")?, file, "test_accuracy")?,
        })
    }
}

/// The two files of a checkpoint at `path`: the weights (`path` itself, with `.safetensors`
/// added when missing; loadable with `Module::load_weights`) and the optimizer state
/// (`<stem>.optimizer.safetensors` next to it).
///
/// ```
/// use std::path::Path;
/// let (w, s) = rmlx_examples::classifier::checkpoint_paths(Path::new("runs/mlp.safetensors"));
/// assert_eq!(w, Path::new("runs/mlp.safetensors"));
/// assert_eq!(s, Path::new("runs/mlp.optimizer.safetensors"));
/// ```
pub fn checkpoint_paths(path: &Path) -> (PathBuf, PathBuf) {
    let weights = if path.extension().is_some_and(|e| e == "safetensors") {
        path.to_path_buf()
    } else {
        let mut p = path.as_os_str().to_owned();
        p.push(".safetensors");
        PathBuf::from(p)
    };
    let stem = weights
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let state = weights.with_file_name(format!("{stem}.optimizer.safetensors"));
    (weights, state)
}

/// The metadata of the checkpoint at `path` (read from its weights file), without loading it.
pub fn read_checkpoint_meta(path: &Path) -> Result<CheckpointMeta> {
    let (weights, _) = checkpoint_paths(path);
    if !weights.is_file() {
        bail!("checkpoint file {} not found", weights.display());
    }
    let st = mx::io::safetensors::load_safetensors(&weights)
        .map_err(mxe)
        .with_context(|| format!("reading {}", weights.display()))?;
    CheckpointMeta::from_metadata(&st.metadata, &weights)
}

/// Loads a checkpoint written by [`Trainer::save_checkpoint`] into `model` and `opt`
/// (which must be of the kinds it was written for) and returns its metadata.
pub fn load_checkpoint<M: Module>(
    path: &Path,
    model: &mut M,
    opt: &mut dyn Optimizer,
) -> Result<CheckpointMeta> {
    let meta = read_checkpoint_meta(path)?;
    let what = format!("a '{}' model", meta.model);
    load_checkpoint_with(path, model, opt, &what)?;
    Ok(meta)
}

/// Loads the weights and optimizer state written by [`Trainer::save_checkpoint_with`] into
/// `model` and `opt` and returns the metadata of the weights file; `what` names the model
/// the checkpoint holds, for the error when it does not fit.
pub fn load_checkpoint_with<M: Module>(
    path: &Path,
    model: &mut M,
    opt: &mut dyn Optimizer,
    what: &str,
) -> Result<Vec<(String, String)>> {
    let (weights, state) = checkpoint_paths(path);
    for p in [&weights, &state] {
        if !p.is_file() {
            bail!("checkpoint file {} not found", p.display());
        }
    }
    let w = mx::io::safetensors::load_safetensors(&weights)
        .map_err(mxe)
        .with_context(|| format!("reading {}", weights.display()))?;
    let meta = w.metadata.clone();
    model
        .load_weights_from(w.arrays, true)
        .map_err(mxe)
        .with_context(|| {
            format!(
                "{} does not fit this model (it holds {what})",
                weights.display()
            )
        })?;
    let s = mx::io::safetensors::load_safetensors(&state)
        .map_err(mxe)
        .with_context(|| format!("reading {}", state.display()))?;
    let items: Vec<(String, Tree)> = s
        .arrays
        .into_iter()
        .map(|(k, a)| (k, Tree::from(a)))
        .collect();
    opt.set_state(tree_unflatten(&items))
        .map_err(mxe)
        .with_context(|| format!("{}: not a usable optimizer state", state.display()))?;
    Ok(meta)
}

/// The value of `key` in a checkpoint's metadata, or an error saying the file is not `kind`
/// checkpoint ("an rmlx", "a char_lm").
///
/// ```
/// use rmlx_examples::classifier::checkpoint_entry;
/// let meta = vec![("step".to_string(), "3".to_string())];
/// let path = std::path::Path::new("x.safetensors");
/// assert_eq!(checkpoint_entry(&meta, "step", path, "an rmlx").unwrap(), "3");
/// assert!(checkpoint_entry(&meta, "seed", path, "an rmlx").is_err());
/// ```
pub fn checkpoint_entry<'a>(
    meta: &'a [(String, String)],
    key: &str,
    file: &Path,
    kind: &str,
) -> Result<&'a str> {
    meta.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| {
            anyhow!(
                "{}: not {kind} checkpoint (no '{key}' entry)",
                file.display()
            )
        })
}
