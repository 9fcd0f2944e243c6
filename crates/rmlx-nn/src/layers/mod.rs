//! The layers of `mlx.nn.layers`, one file per family.

pub mod activations;
pub mod containers;
pub mod convolution;
pub mod dropout;
pub mod embedding;
pub mod linear;
pub mod normalization;
pub mod pooling;
pub mod positional_encoding;
pub mod recurrent;
pub mod transformer;
pub mod upsample;

pub use activations::{
    CELU, ELU, GELU, GLU, GeluApprox, HardShrink, HardTanh, Hardswish, LeakyReLU, LogSigmoid,
    LogSoftmax, Mish, PReLU, ReLU, ReLU2, ReLU6, SELU, SiLU, Sigmoid, Softmax, Softmin, Softplus,
    Softshrink, Softsign, Step, Tanh,
};
pub use containers::{Forward, ForwardClone, Sequential};
pub use convolution::{
    Conv1d, Conv1dOptions, Conv2d, Conv2dOptions, Conv3d, Conv3dOptions, ConvTranspose1d,
    ConvTranspose1dOptions, ConvTranspose2d, ConvTranspose3d, ConvTransposeOptions, Dims,
};
pub use dropout::{Dropout, Dropout2d, Dropout3d};
pub use embedding::{Embedding, QuantizedEmbedding};
pub use linear::{Bilinear, Identity, Linear, Quantization, QuantizedLinear};
pub use normalization::{
    BatchNorm, BatchNormOptions, GroupNorm, GroupNormOptions, InstanceNorm, LayerNorm,
    LayerNormOptions, RMSNorm,
};
pub use pooling::{AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d, PoolOptions};
pub use positional_encoding::{
    ALiBi, RoPE, RoPEOptions, SinusoidalPositionalEncoding, SinusoidalPositionalEncodingOptions,
};
pub use recurrent::{GRU, LSTM, RNN};
pub use transformer::{
    Activation, MultiHeadAttention, MultiHeadAttentionOptions, Transformer, TransformerDecoder,
    TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, TransformerOptions,
};
pub use upsample::{
    ScaleFactor, Upsample, UpsampleMode, UpsampleOptions, upsample_cubic, upsample_linear,
    upsample_nearest,
};
