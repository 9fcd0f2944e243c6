//! Primitives, one small type per operation, grouped by family. Each holds the op's parameters
//! and implements [`Primitive`](crate::primitive::Primitive): its CPU evaluation (through the
//! drivers in [`crate::cpu`]) and, later, its transform rules.

pub(crate) mod binary;
pub(crate) mod conv;
pub(crate) mod creation;
pub(crate) mod factor;
pub(crate) mod fast;
pub(crate) mod fft;
pub(crate) mod fused;
pub(crate) mod gated_delta;
pub(crate) mod indexing;
pub(crate) mod join;
pub(crate) mod linalg;
pub(crate) mod quantized;
pub(crate) mod random;
pub(crate) mod rearrange;
pub(crate) mod reduce;
pub(crate) mod scan;
pub(crate) mod shape;
pub(crate) mod sort;
pub(crate) mod ternary;
pub(crate) mod transform;
pub(crate) mod unary;
