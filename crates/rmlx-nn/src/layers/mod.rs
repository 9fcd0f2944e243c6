//! The layers of `mlx.nn.layers`, one file per family.

pub mod containers;
pub mod embedding;
pub mod linear;
pub mod positional_encoding;
pub mod recurrent;
pub mod transformer;

pub use containers::{Forward, ForwardClone, Sequential};
pub use embedding::Embedding;
pub use linear::{Bilinear, Identity, Linear};
pub use positional_encoding::{
    ALiBi, RoPE, RoPEOptions, SinusoidalPositionalEncoding, SinusoidalPositionalEncodingOptions,
};
pub use recurrent::{GRU, LSTM, RNN};
pub use transformer::{
    Activation, MultiHeadAttention, MultiHeadAttentionOptions, Transformer, TransformerDecoder,
    TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, TransformerOptions,
};
