//! `mlx.nn` in Rust: the [`Module`] system (derive it), layers, activations, losses,
//! initializers and [`value_and_grad`] for models.
//!
//! ```
//! use rmlx_nn::{self as nn, Forward, Module};
//! use rmlx_nn::core as mx;
//!
//! #[derive(Clone, Module)]
//! struct Mlp {
//!     hidden: nn::Linear,
//!     out: nn::Linear,
//! }
//!
//! impl Forward for Mlp {
//!     fn forward(&self, x: &mx::Array) -> mx::Result<mx::Array> {
//!         self.out.forward(&mx::maximum(&self.hidden.forward(x)?, 0.0)?)
//!     }
//! }
//!
//! let model = Mlp { hidden: nn::Linear::new(2, 16)?, out: nn::Linear::new(16, 1)? };
//! let loss = |m: &Mlp, args: &[mx::Array]| mx::mean(&mx::square(&(m.forward(&args[0])? - &args[1]))?);
//! let vg = nn::value_and_grad(loss);
//! let (value, grads) = vg(&model, &[mx::ones(&[4, 2], mx::float32)?, mx::zeros(&[4, 1], mx::float32)?])?;
//! assert_eq!(value.shape(), &[] as &[usize]);
//! assert_eq!(grads.get("hidden").and_then(|t| t.get("weight")).unwrap().as_array().unwrap().shape(), &[16, 2]);
//! # Ok::<(), mx::Error>(())
//! ```

// The derive names this crate `::rmlx_nn`; the alias makes that path work inside it too.
extern crate self as rmlx_nn;

pub use rmlx_core as core;
pub use rmlx_derive::Module;

pub mod activations;
pub mod autodiff;
pub mod init;
pub mod layers;
pub mod losses;
pub mod module;
pub mod pyrepr;
pub mod quantize;
pub mod utils;

pub use activations::*;
pub use autodiff::{LossOutput, checkpoint, value_and_grad, with_parameters};
pub use layers::*;
pub use module::{
    ArrayCell, FreezeOptions, Member, MemberFilter, MemberMut, Module, ModuleBase, ModuleSlot,
    ModuleState, ModuleValue, QuantizeOptions, flat_parameters, trainable_parameter_filter,
    valid_child_filter, valid_parameter_filter,
};
pub use quantize::{ClassPredicate, quantize};
pub use utils::average_gradients;
