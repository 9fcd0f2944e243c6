//! Models the examples run, written with rmlx-nn as mlx-lm / mlx-examples write them.

pub mod bert;
pub mod llama;
pub mod sentence;
