//! rmlx: MLX in pure Rust. Depend on this facade and import the core as `mx`:
//!
//! ```
//! use rmlx::core as mx;
//! let x = mx::array![1.0, 2.0, 3.0];
//! let y = (&x * &x).sum()?;
//! assert_eq!(y.item::<f32>()?, 14.0);
//! # Ok::<(), mx::Error>(())
//! ```

/// `mlx.core`: arrays, dtypes, ops, devices and streams, memory, printing.
pub mod core {
    pub use rmlx_core::*;
}
