//! `mlx.optimizers` in Rust: MLX's optimizers with their exact update rules ([`SGD`],
//! [`RMSprop`], [`Adagrad`], [`AdaDelta`], [`Adam`], [`AdamW`], [`Adamax`], [`Lion`],
//! [`Adafactor`], [`Muon`], [`MultiOptimizer`]), the [`Optimizer`] interface (state as a
//! tree, step and learning rate as arrays so an update compiles), [`schedulers`] and
//! [`clip_grad_norm`].
//!
//! ```
//! use rmlx_nn::{self as nn, Forward, Module};
//! use rmlx_optimizers::{Optimizer, Adam};
//! use rmlx_core as mx;
//!
//! mx::random::seed(0); // a fixed initialisation (the default seed is the time, as in MLX)
//! let mut model = nn::Linear::new(2, 1)?;
//! let mut opt = Adam::new(0.05)?;
//! let x = mx::array![[1.0, 2.0], [3.0, 4.0]];
//! let y = mx::array![[1.0], [2.0]];
//! let loss = |m: &nn::Linear, a: &[mx::Array]| mx::mean(&mx::square(&(m.forward(&a[0])? - &a[1]))?);
//! let vg = nn::value_and_grad(loss);
//! let (first, _) = vg(&model, &[x.clone(), y.clone()])?;
//! for _ in 0..20 {
//!     let (_, grads) = vg(&model, &[x.clone(), y.clone()])?;
//!     opt.update(&mut model, &grads)?;
//! }
//! let (last, _) = vg(&model, &[x, y])?;
//! assert!(last.item::<f32>()? < first.item::<f32>()?);
//! assert_eq!(opt.step().item::<u64>()?, 20);
//! # Ok::<(), mx::Error>(())
//! ```

mod clip;
mod multi;
mod optimizer;
mod optimizers;
pub mod schedulers;

pub use clip::clip_grad_norm;
pub use multi::{MultiOptimizer, ParamFilter};
pub use optimizer::{
    LearningRate, Optimizer, OptimizerBase, PerParameter, Schedule, StepContext, state_get,
    state_set,
};
pub use optimizers::{
    AdaDelta, AdaDeltaOptions, Adafactor, AdafactorOptions, Adagrad, AdagradOptions, Adam,
    AdamOptions, AdamW, AdamWOptions, Adamax, AdamaxOptions, Lion, LionOptions, Muon, MuonOptions,
    RMSprop, RmspropOptions, SGD, SgdOptions,
};
