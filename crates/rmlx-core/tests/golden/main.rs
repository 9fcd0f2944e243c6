//! Golden conformance tests: every family of cases recorded from real MLX 0.32.4
//! (tools/goldens) replayed against rmlx. One test binary for all families keeps the build
//! small: each test binary links the whole of rmlx-core.
mod common;

mod binary;
mod conv;
mod creation;
mod dtype;
mod einsum;
mod extra;
mod fast;
mod fft;
mod grad_core;
mod grad_index;
mod grad_more;
mod indexing;
mod io;
mod linalg;
mod masked_scatter;
mod matmul;
mod print;
mod quantized;
mod random;
mod reduce;
mod shape;
mod smoke;
mod sort;
mod stft;
mod unary;
