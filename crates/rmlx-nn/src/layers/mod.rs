//! The layers of `mlx.nn.layers`, one file per family.

pub mod containers;
pub mod linear;

pub use containers::{Forward, ForwardClone, Sequential};
pub use linear::{Identity, Linear, Quantization, QuantizedLinear};
