//! The layers of `mlx.nn.layers`, one file per family.

pub mod activations;
pub mod containers;
pub mod linear;

pub use activations::{
    CELU, ELU, GELU, GLU, GeluApprox, HardShrink, HardTanh, Hardswish, LeakyReLU, LogSigmoid,
    LogSoftmax, Mish, PReLU, ReLU, ReLU2, ReLU6, SELU, SiLU, Sigmoid, Softmax, Softmin, Softplus,
    Softshrink, Softsign, Step, Tanh,
};
pub use containers::{Forward, ForwardClone, Sequential};
pub use linear::{Identity, Linear, Quantization, QuantizedLinear};
