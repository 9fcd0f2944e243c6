//! Function transforms over the lazy graph: `vjp`, `jvp`, `grad`, `value_and_grad`, `vmap`.
//!
//! As in MLX, a transform calls the function on tracer arrays, walks the graph the function
//! built from them, and applies each primitive's rule (`Primitive::vjp`, `jvp`, `vmap`). The
//! rules are written with the public ops, so what they build can itself be transformed:
//! `grad(grad(f))`, `vmap(grad(f))` and `jvp(vjp(f))` nest to any depth.

mod autodiff;
mod compile;
mod custom;
mod export;
mod fuse;
pub(crate) mod program;
pub(crate) mod rules;
mod tape;
mod vmap;

pub use autodiff::{Argnums, FnOutputs, grad, jvp, value_and_grad, vjp, vjp_argnums};
pub use compile::{
    CompileState, compile, compile_shapeless, compile_shapeless_with_state, compile_with_state,
    disable_compile, enable_compile, export_to_dot, simplify,
};
pub use custom::{
    CustomFunction, CustomJvpFn, CustomVjpFn, CustomVmapFn, checkpoint, custom_function,
    custom_vjp, depends,
};
pub use export::{
    ExportOptions, FunctionExporter, ImportedFunction, export_function, export_function_bytes,
    export_function_bytes_with, export_function_with, exporter, exporter_with, import_function,
    import_function_bytes,
};
pub use vmap::{vmap, vmap_uniform_out};

use crate::array::Array;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many transforms are tracing right now (any thread). While one is, arrays built from
/// tracers are tracers too and keep their node through `eval`.
static TRACING: AtomicUsize = AtomicUsize::new(0);

pub(crate) use export::in_export_tracing;

/// Whether some transform is tracing a function.
pub(crate) fn is_tracing() -> bool {
    TRACING.load(Ordering::Relaxed) > 0
}

/// Whether an array built from `inputs` is a tracer.
pub(crate) fn any_tracer(inputs: &[Array]) -> bool {
    is_tracing() && inputs.iter().any(|i| i.inner.tracer)
}

/// Marks a transform as tracing for its lifetime.
pub(crate) struct TracingGuard;

impl TracingGuard {
    pub(crate) fn new() -> TracingGuard {
        TRACING.fetch_add(1, Ordering::Relaxed);
        TracingGuard
    }
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        TRACING.fetch_sub(1, Ordering::Relaxed);
    }
}
