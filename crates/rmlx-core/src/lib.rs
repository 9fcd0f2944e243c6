//! rmlx-core: MLX's array framework in pure Rust.
//!
//! Lazy arrays build a graph of primitives; `eval` computes it on the CPU. The API follows
//! `mlx.core` name for name: read `docs/architecture.md` for the design and the table that
//! translates MLX Python to rmlx.
//!
//! ```
//! use rmlx_core as mx;
//! let a = mx::array![[1.0, 2.0], [3.0, 4.0]];
//! let b = mx::exp(&a)? * 2.0 - &a;
//! b.eval()?;
//! assert_eq!(b.shape(), &[2, 2]);
//! # Ok::<(), mx::Error>(())
//! ```

pub mod allocator;
pub mod array;
pub mod constants;
pub(crate) mod cpu;
pub mod device;
pub mod distributed;
pub mod dtype;
pub mod element;
pub mod error;
pub mod eval;
pub mod fast;
pub mod fft;
pub mod io;
pub(crate) mod layout;
// `mx.linalg`; shadows the `ops::linalg` module that `pub use ops::*` would re-export (its
// matrix products stay at the root: `mx::matmul`).
pub mod linalg;
pub mod literal;
pub mod operators;
pub mod ops;
pub mod primitive;
pub(crate) mod primitives;
pub mod print;
pub mod profiler;
pub mod random;
pub mod scalar;
pub mod transforms;
pub mod tree;

pub use allocator::{
    clear_cache, get_active_memory, get_array_buffer_size, get_cache_memory, get_memory_limit,
    get_peak_memory, reset_peak_memory, set_cache_limit, set_memory_limit, set_wired_limit,
};
pub use array::{Array, Data};
// `e` stays in `constants` (`mx::constants::e`): at the root, a glob import would turn every
// `Err(e)` pattern into a comparison with the constant.
pub use constants::{euler_gamma, inf, nan, pi};
pub use device::{
    Device, DeviceType, Stream, StreamGuard, clear_streams, cpu, default_device, default_stream,
    device_count, device_info, gpu, is_available, new_stream, new_thread_local_stream,
    new_thread_unsafe_stream, set_default_device, set_default_stream, stream, synchronize,
};
pub use dtype::*;
pub use element::{C64, Element};
pub use error::{Error, ErrorKind, Result};
pub use eval::{async_eval, eval};
pub use linalg::matrix_norm;
pub use ops::*;
pub use print::{
    PrintOptions, PrintOptionsGuard, get_printoptions, printoptions, set_printoptions,
};
pub use scalar::{ArrayLike, Operand, Scalar};
pub use transforms::{
    Argnums, CompileState, CustomFunction, ExportOptions, FnOutputs, FunctionExporter,
    ImportedFunction, checkpoint, compile, compile_shapeless, compile_shapeless_with_state,
    compile_with_state, custom_function, custom_vjp, depends, disable_compile, enable_compile,
    export_function, export_function_bytes, export_function_bytes_with, export_function_with,
    export_to_dot, exporter, exporter_with, grad, import_function, import_function_bytes, jvp,
    simplify, value_and_grad, vjp, vjp_argnums, vmap, vmap_uniform_out,
};

pub use half;
pub use num_complex;
