//! Golden tests of rmlx-nn against real MLX 0.32.4: one module per family, the shared harness
//! in common.rs, the goldens in tests/goldens (tools/goldens/gen_nn_*.py writes them).

mod common;
mod linear;
mod seq;
