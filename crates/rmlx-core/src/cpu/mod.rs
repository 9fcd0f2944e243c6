//! CPU kernels: shared elementwise drivers (contiguous fast paths, strided walking, buffer
//! donation, both cores) and, per family, the math the primitives hand them.

pub(crate) mod elementwise;

/// Elements below which a kernel stays on one thread: splitting costs a few microseconds.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 16;
pub(crate) mod num;
pub(crate) mod reduce;
pub(crate) mod scan;
