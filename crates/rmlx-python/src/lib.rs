//! rmlx as a Python extension: the `mlx.core` API, importable as `rmlx.core` (the compiled part
//! is `rmlx._ext`; `python/rmlx/core/__init__.py` adds the pure-Python layer: pytrees for the
//! transforms and the array methods that forward to functions).

mod array;
mod convert;
mod device;
mod dtype;
mod interop;
mod io;
mod misc_ops;
mod nn_ops;
mod ops;
mod random;
mod submodules;
mod transforms;

use pyo3::prelude::*;

#[pymodule]
fn _ext(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<array::PyArray>()?;
    m.add_class::<array::ArrayAt>()?;
    m.add_class::<array::ArrayAtIndexed>()?;
    dtype::register(m)?;
    ops::register(m)?;
    misc_ops::register(m)?;
    nn_ops::register(m)?;
    device::register(m)?;
    device::register_distributed(m)?;
    random::register(m)?;
    io::register(m)?;
    interop::register(m)?;
    submodules::register(m)?;
    transforms::register(m)?;
    m.add("__version__", "0.32.4")?;
    Ok(())
}
