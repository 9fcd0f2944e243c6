//! Models the examples share, written with rmlx-nn as mlx-lm / mlx-examples write them.

pub mod llama;
