//! CPU kernels: shared elementwise drivers (contiguous fast paths, strided walking, buffer
//! donation, both cores) and, per family, the math the primitives hand them.

pub(crate) mod batch_norm;
pub(crate) mod binary;
pub(crate) mod conv;
pub(crate) mod copy;
pub(crate) mod elementwise;
pub(crate) mod fast;
pub(crate) mod fft;
pub(crate) mod gated_delta;
pub(crate) mod gemm;
pub(crate) mod hadamard;
pub(crate) mod indexing;
pub(crate) mod lapack;
pub(crate) mod num;
pub(crate) mod qmv;
pub(crate) mod quantized;
pub(crate) mod random;
pub(crate) mod reduce;
pub(crate) mod scan;
pub(crate) mod sort;
pub(crate) mod special;
pub(crate) mod unary;
pub(crate) mod vmath;

/// Elements below which a kernel stays on one thread: splitting costs a few microseconds.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 16;
