//! Transforms over Python functions, on flat lists of arrays. The pytree handling (argnums,
//! nested arguments, `has_aux`-style outputs) lives in Python (`rmlx/core/_transforms.py`),
//! which calls these with a function from a list of arrays to a list of arrays.

use std::cell::RefCell;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use rmlx_core::{self as mx, Array};

use crate::array::PyArray;
use crate::convert::{to_arrays, wrap_list};

thread_local! {
    /// The Python exception raised inside a transformed function, re-raised unchanged once the
    /// transform returns (rmlx sees it as a runtime error meanwhile).
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// Keeps a Python exception raised inside a transformed function for `finish` to re-raise, and
/// gives rmlx a runtime error meanwhile.
fn stash(e: PyErr) -> mx::Error {
    let msg = e.to_string();
    PENDING.with(|p| *p.borrow_mut() = Some(e));
    mx::Error::runtime(msg)
}

/// Calls the Python function `f` on a list of arrays; its result must be a list/tuple of arrays.
fn call_flat(f: &Py<PyAny>, xs: &[Array]) -> mx::Result<Vec<Array>> {
    Python::attach(|py| {
        let run = || -> PyResult<Vec<Array>> {
            let args: Vec<Py<PyArray>> = xs
                .iter()
                .map(|a| Py::new(py, PyArray::new(a.clone())))
                .collect::<PyResult<_>>()?;
            let out = f.call1(py, (PyList::new(py, args)?,))?;
            to_arrays(out.bind(py))
        };
        run().map_err(stash)
    })
}

/// Calls the Python function `f` with `args` (already Python objects); its result must be a
/// list/tuple of arrays.
fn call_py(
    f: &Py<PyAny>,
    args: impl FnOnce(Python<'_>) -> PyResult<Vec<Py<PyAny>>>,
) -> mx::Result<Vec<Array>> {
    Python::attach(|py| {
        let run = || -> PyResult<Vec<Array>> {
            let a = PyTuple::new(py, args(py)?)?;
            let out = f.call1(py, a)?;
            to_arrays(out.bind(py))
        };
        run().map_err(stash)
    })
}

fn py_list(py: Python<'_>, xs: &[Array]) -> PyResult<Py<PyAny>> {
    Ok(wrap_list(py, xs.to_vec())?.into_any())
}

/// Turns a transform's result into Python: the Python exception if the function raised one.
fn finish<T>(r: mx::Result<T>) -> PyResult<T> {
    let pending = PENDING.with(|p| p.borrow_mut().take());
    match (r, pending) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(crate::convert::to_py_err(e)),
    }
}

/// `(outputs, grads)` of `f` at `primals`: the gradient of the first output (a scalar) with
/// respect to the primals in `argnums`.
#[pyfunction]
fn _value_and_grad_flat(
    py: Python<'_>,
    f: Py<PyAny>,
    primals: &Bound<'_, PyAny>,
    argnums: Vec<usize>,
) -> PyResult<Py<PyTuple>> {
    let xs = to_arrays(primals)?;
    let vg = mx::value_and_grad(|a: &[Array]| call_flat(&f, a), &argnums[..]);
    let (vals, grads) = finish(vg(&xs))?;
    Ok(PyTuple::new(py, [wrap_list(py, vals)?, wrap_list(py, grads)?])?.unbind())
}

/// `(outputs, vjps)` of `f` at `primals` with `cotangents` (one per output).
#[pyfunction]
fn _vjp_flat(
    py: Python<'_>,
    f: Py<PyAny>,
    primals: &Bound<'_, PyAny>,
    cotangents: &Bound<'_, PyAny>,
    argnums: Vec<usize>,
) -> PyResult<Py<PyTuple>> {
    let xs = to_arrays(primals)?;
    let cts = to_arrays(cotangents)?;
    let (outs, vjps) = finish(mx::vjp_argnums(
        |a: &[Array]| call_flat(&f, a),
        &xs,
        &cts,
        &argnums,
    ))?;
    Ok(PyTuple::new(py, [wrap_list(py, outs)?, wrap_list(py, vjps)?])?.unbind())
}

/// `(outputs, jvps)` of `f` at `primals` with `tangents` (one per primal).
#[pyfunction]
fn _jvp_flat(
    py: Python<'_>,
    f: Py<PyAny>,
    primals: &Bound<'_, PyAny>,
    tangents: &Bound<'_, PyAny>,
) -> PyResult<Py<PyTuple>> {
    let xs = to_arrays(primals)?;
    let ts = to_arrays(tangents)?;
    let (outs, jvps) = finish(mx::jvp(|a: &[Array]| call_flat(&f, a), &xs, &ts))?;
    Ok(PyTuple::new(py, [wrap_list(py, outs)?, wrap_list(py, jvps)?])?.unbind())
}

/// `f` vectorised over `in_axes` (one per input, `None` for unmapped), outputs stacked along
/// `out_axes` (a list: one per output) or `out_axis` (the same for every output; used when
/// `out_axes` is `None`).
#[pyfunction]
#[pyo3(signature = (f, inputs, in_axes, out_axes, out_axis=None))]
fn _vmap_flat(
    py: Python<'_>,
    f: Py<PyAny>,
    inputs: &Bound<'_, PyAny>,
    in_axes: Vec<Option<isize>>,
    out_axes: Option<Vec<Option<isize>>>,
    out_axis: Option<isize>,
) -> PyResult<Py<PyList>> {
    let xs = to_arrays(inputs)?;
    let g = |a: &[Array]| call_flat(&f, a);
    let out = match out_axes {
        Some(axes) => mx::vmap(g, &in_axes, &axes)(&xs),
        None => mx::vmap_uniform_out(g, &in_axes, out_axis)(&xs),
    };
    wrap_list(py, finish(out)?)
}

type FlatFn = Box<dyn Fn(&[Array]) -> mx::Result<Vec<Array>>>;

/// A [`FlatFn`] that may be called from any thread (a compiled function's cache is shared).
type SharedFlatFn = Box<dyn Fn(&[Array]) -> mx::Result<Vec<Array>> + Send + Sync>;

/// A compiled flat function (`_compile_flat`): traced once per input shapes and dtypes, then
/// replayed as a fused graph. Callable from any Python thread, as MLX's.
#[pyclass(name = "CompiledFunction", module = "mlx.core")]
pub struct CompiledFunction {
    f: SharedFlatFn,
}

#[pymethods]
impl CompiledFunction {
    fn __call__(&self, py: Python<'_>, inputs: &Bound<'_, PyAny>) -> PyResult<Py<PyList>> {
        let xs = to_arrays(inputs)?;
        wrap_list(py, finish((self.f)(&xs))?)
    }
}

/// Compiles `f` (a function from a list of arrays to a list of arrays).
#[pyfunction]
#[pyo3(signature = (f, shapeless=false))]
fn _compile_flat(f: Py<PyAny>, shapeless: bool) -> CompiledFunction {
    let g = move |a: &[Array]| call_flat(&f, a);
    let f: SharedFlatFn = if shapeless {
        Box::new(mx::compile_shapeless(g))
    } else {
        Box::new(mx::compile(g))
    };
    CompiledFunction { f }
}

/// Calls `fun` on `inputs` as a custom function: its gradient, forward derivative and
/// vectorised form come from the given Python functions (flat lists of arrays; see
/// `custom_function` in `_transforms.py`).
#[pyfunction]
#[pyo3(signature = (fun, inputs, vjp=None, jvp=None, vmap=None))]
fn _custom_call(
    py: Python<'_>,
    fun: Py<PyAny>,
    inputs: &Bound<'_, PyAny>,
    vjp: Option<Py<PyAny>>,
    jvp: Option<Py<PyAny>>,
    vmap: Option<Py<PyAny>>,
) -> PyResult<Py<PyList>> {
    let xs = to_arrays(inputs)?;
    let mut cf = mx::custom_function(move |a: &[Array]| call_flat(&fun, a));
    if let Some(v) = vjp {
        cf = cf.with_vjp(move |p: &[Array], c: &[Array], o: &[Array]| {
            call_py(&v, |py| {
                Ok(vec![py_list(py, p)?, py_list(py, c)?, py_list(py, o)?])
            })
        });
    }
    if let Some(j) = jvp {
        cf = cf.with_jvp(move |p: &[Array], t: &[Array], argnums: &[usize]| {
            let argnums = argnums.to_vec();
            call_py(&j, |py| {
                let nums = PyList::new(py, argnums)?.into_any().unbind();
                Ok(vec![py_list(py, p)?, py_list(py, t)?, nums])
            })
        });
    }
    if let Some(m) = vmap {
        cf = cf.with_vmap(move |a: &[Array], axes: &[Option<usize>]| {
            let axes = axes.to_vec();
            // The Python side returns the outputs followed by their axes (one list).
            Python::attach(|py| {
                let run = || -> PyResult<(Vec<Array>, Vec<Option<usize>>)> {
                    let ax = PyList::new(py, axes)?.into_any().unbind();
                    let out = m.call1(py, (py_list(py, a)?, ax))?;
                    let (outs, out_axes): (Bound<'_, PyAny>, Vec<Option<usize>>) =
                        out.bind(py).extract()?;
                    Ok((to_arrays(&outs)?, out_axes))
                };
                run().map_err(stash)
            })
        });
    }
    wrap_list(py, finish(cf.call(&xs))?)
}

/// Calls `fun` on `inputs` as a checkpoint: its intermediates are recomputed for the gradient
/// instead of kept.
#[pyfunction]
fn _checkpoint_call(
    py: Python<'_>,
    fun: Py<PyAny>,
    inputs: &Bound<'_, PyAny>,
) -> PyResult<Py<PyList>> {
    let xs = to_arrays(inputs)?;
    let f = mx::checkpoint(move |a: &[Array]| call_flat(&fun, a));
    wrap_list(py, finish(f(&xs))?)
}

fn export_options(shapeless: bool, metadata: Option<String>) -> mx::ExportOptions {
    mx::ExportOptions {
        shapeless,
        metadata: metadata.unwrap_or_default(),
    }
}

/// Writes `f` traced on `inputs` (flat lists of arrays: the positional ones, then those named
/// by `keywords`, sorted) to `path`.
#[pyfunction]
#[pyo3(signature = (path, f, inputs, keywords=Vec::new(), shapeless=false, metadata=None))]
fn _export_flat(
    path: String,
    f: Py<PyAny>,
    inputs: &Bound<'_, PyAny>,
    keywords: Vec<String>,
    shapeless: bool,
    metadata: Option<String>,
) -> PyResult<()> {
    let xs = to_arrays(inputs)?;
    finish(mx::export_function_with(
        path,
        |a: &[Array]| call_flat(&f, a),
        &xs,
        &keywords,
        &export_options(shapeless, metadata),
    ))
}

/// The bytes `_export_flat` would write (the Python layer reads the graph from them for an
/// export callback).
#[pyfunction]
#[pyo3(signature = (f, inputs, keywords=Vec::new(), shapeless=false))]
fn _export_bytes_flat(
    py: Python<'_>,
    f: Py<PyAny>,
    inputs: &Bound<'_, PyAny>,
    keywords: Vec<String>,
    shapeless: bool,
) -> PyResult<Py<pyo3::types::PyBytes>> {
    let xs = to_arrays(inputs)?;
    let bytes = finish(mx::export_function_bytes_with(
        |a: &[Array]| call_flat(&f, a),
        &xs,
        &keywords,
        &export_options(shapeless, None),
    ))?;
    Ok(pyo3::types::PyBytes::new(py, &bytes).unbind())
}

/// A function read back by `_import_flat`: call it with a list of arrays (the positional ones,
/// then those named by `keywords`, sorted).
#[pyclass(name = "ImportedFunction", module = "mlx.core", unsendable)]
pub struct ImportedFunction {
    f: mx::ImportedFunction,
}

#[pymethods]
impl ImportedFunction {
    #[pyo3(signature = (inputs, keywords=Vec::new()))]
    fn __call__(
        &self,
        py: Python<'_>,
        inputs: &Bound<'_, PyAny>,
        keywords: Vec<String>,
    ) -> PyResult<Py<PyList>> {
        let xs = to_arrays(inputs)?;
        wrap_list(
            py,
            self.f
                .call_with_keywords(&xs, &keywords)
                .map_err(crate::convert::to_py_err)?,
        )
    }

    /// The metadata string saved with the function ("" when none was).
    #[getter]
    fn metadata(&self) -> String {
        self.f.metadata().to_string()
    }
}

#[pyfunction]
fn _import_flat(path: String) -> PyResult<ImportedFunction> {
    Ok(ImportedFunction {
        f: mx::import_function(path).map_err(crate::convert::to_py_err)?,
    })
}

/// Collects traces of `f` for several example inputs, then writes them all (`mx.exporter`).
#[pyclass(name = "FunctionExporter", module = "mlx.core", unsendable)]
pub struct FunctionExporter {
    inner: Option<mx::FunctionExporter<FlatFn>>,
}

#[pymethods]
impl FunctionExporter {
    #[pyo3(signature = (inputs, keywords=Vec::new()))]
    fn add(&mut self, inputs: &Bound<'_, PyAny>, keywords: Vec<String>) -> PyResult<()> {
        let xs = to_arrays(inputs)?;
        let e = self.inner.as_mut().ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("[exporter] Already closed.")
        })?;
        finish(e.call_with_keywords(&xs, &keywords))
    }

    fn close(&mut self) -> PyResult<()> {
        match self.inner.take() {
            Some(e) => e.close().map_err(crate::convert::to_py_err),
            None => Ok(()),
        }
    }
}

#[pyfunction]
#[pyo3(signature = (path, f, shapeless=false, metadata=None))]
fn _exporter_flat(
    path: String,
    f: Py<PyAny>,
    shapeless: bool,
    metadata: Option<String>,
) -> FunctionExporter {
    let g: FlatFn = Box::new(move |a: &[Array]| call_flat(&f, a));
    FunctionExporter {
        inner: Some(mx::exporter_with(
            path,
            g,
            export_options(shapeless, metadata),
        )),
    }
}

/// The graph behind `outputs` in Graphviz DOT.
#[pyfunction]
fn _export_to_dot(outputs: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(mx::export_to_dot(&to_arrays(outputs)?))
}

#[pyfunction]
fn disable_compile() {
    mx::disable_compile()
}

#[pyfunction]
fn enable_compile() {
    mx::enable_compile()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CompiledFunction>()?;
    m.add_function(wrap_pyfunction!(_compile_flat, m)?)?;
    m.add_function(wrap_pyfunction!(_custom_call, m)?)?;
    m.add_function(wrap_pyfunction!(_checkpoint_call, m)?)?;
    m.add_class::<ImportedFunction>()?;
    m.add_class::<FunctionExporter>()?;
    m.add_function(wrap_pyfunction!(_export_flat, m)?)?;
    m.add_function(wrap_pyfunction!(_export_bytes_flat, m)?)?;
    m.add_function(wrap_pyfunction!(_import_flat, m)?)?;
    m.add_function(wrap_pyfunction!(_exporter_flat, m)?)?;
    m.add_function(wrap_pyfunction!(_export_to_dot, m)?)?;
    m.add_function(wrap_pyfunction!(disable_compile, m)?)?;
    m.add_function(wrap_pyfunction!(enable_compile, m)?)?;
    m.add_function(wrap_pyfunction!(_value_and_grad_flat, m)?)?;
    m.add_function(wrap_pyfunction!(_vjp_flat, m)?)?;
    m.add_function(wrap_pyfunction!(_jvp_flat, m)?)?;
    m.add_function(wrap_pyfunction!(_vmap_flat, m)?)?;
    Ok(())
}
