//! Golden tests of rmlx-nn against real MLX 0.32.4: one module per family, the shared harness
//! in common.rs, the goldens in tests/goldens (tools/goldens/gen_nn_*.py writes them).

mod activations;
mod common;
mod convolution;
mod dropout;
mod init;
mod linear;
mod losses;
mod normalization;
mod pooling;
mod seq;
mod upsample;
