//! MLX's numeric constants (`mx.pi`, `mx.e`, `mx.euler_gamma`, `mx.inf`, `mx.nan`), as
//! `f64` like the Python floats they are; combined with an array they act as weak scalars.
//! All but `e` are also at the crate root (`mx::pi`); `e` is `mx::constants::e`, because a
//! root-level `e` would break `Err(e)` patterns in code that glob-imports the crate.
//!
//! ```
//! use rmlx_core as mx;
//! let x = mx::array![1.0f32] * mx::pi;
//! assert_eq!(x.dtype(), mx::float32);
//! assert!((x.item::<f32>()? - std::f32::consts::PI).abs() < 1e-6);
//! # Ok::<(), mx::Error>(())
//! ```
#![allow(non_upper_case_globals)]

/// π.
pub const pi: f64 = std::f64::consts::PI;
/// Euler's number.
pub const e: f64 = std::f64::consts::E;
/// The Euler–Mascheroni constant.
pub const euler_gamma: f64 = 0.577_215_664_901_532_9;
/// Positive infinity.
pub const inf: f64 = f64::INFINITY;
/// Not a number.
pub const nan: f64 = f64::NAN;
