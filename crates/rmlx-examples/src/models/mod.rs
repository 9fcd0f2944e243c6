//! Models the examples run, written the way mlx-examples writes them.

pub mod bert;
pub mod sentence;
