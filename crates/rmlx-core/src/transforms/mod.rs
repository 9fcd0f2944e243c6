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

thread_local! {
    /// How many shapeless traces (shapeless `compile`, shapeless export) this thread runs:
    /// MLX's `in_dynamic_tracing`. Ops avoid baking a traced size into the graph then.
    static SHAPELESS_TRACING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Whether this thread is tracing a function whose replays may take other shapes.
pub(crate) fn in_shapeless_tracing() -> bool {
    SHAPELESS_TRACING.with(|c| c.get() > 0)
}

/// Marks this thread as tracing shapeless for its lifetime (when `on`).
pub(crate) struct ShapelessTracingGuard(bool);

impl ShapelessTracingGuard {
    pub(crate) fn new(on: bool) -> ShapelessTracingGuard {
        if on {
            SHAPELESS_TRACING.with(|c| c.set(c.get() + 1));
        }
        ShapelessTracingGuard(on)
    }
}

impl Drop for ShapelessTracingGuard {
    fn drop(&mut self) {
        if self.0 {
            SHAPELESS_TRACING.with(|c| c.set(c.get() - 1));
        }
    }
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
