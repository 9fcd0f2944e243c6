//! `mx.Dtype` (`mx.float32`...), `mx.DtypeCategory` (`mx.floating`...) and the dtype functions.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use rmlx_core::{self as mx, Dtype, DtypeCategory, DtypeOrCategory, ALL_DTYPES};

/// An array's element type, as `mx.float32`.
#[pyclass(name = "Dtype", module = "mlx.core", frozen, eq, hash)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyDtype(pub Dtype);

#[pymethods]
impl PyDtype {
    /// The size of one element in bytes.
    #[getter]
    fn size(&self) -> usize {
        self.0.size()
    }

    fn __repr__(&self) -> String {
        format!("mlx.core.{}", self.0.name())
    }

    /// Pickles as the module attribute it is (`mlx.core.float32`).
    fn __reduce__(&self) -> &'static str {
        if self.0 == Dtype::Bool {
            "bool_"
        } else {
            self.0.name()
        }
    }
}

/// A kind of dtype (`mx.floating`, `mx.integer`...), for `mx.issubdtype`.
#[pyclass(name = "DtypeCategory", module = "mlx.core", frozen, eq, hash)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyDtypeCategory(pub DtypeCategory);

const CATEGORIES: [(&str, DtypeCategory); 8] = [
    ("complexfloating", DtypeCategory::ComplexFloating),
    ("floating", DtypeCategory::Floating),
    ("inexact", DtypeCategory::Inexact),
    ("signedinteger", DtypeCategory::SignedInteger),
    ("unsignedinteger", DtypeCategory::UnsignedInteger),
    ("integer", DtypeCategory::Integer),
    ("number", DtypeCategory::Number),
    ("generic", DtypeCategory::Generic),
];

#[pymethods]
impl PyDtypeCategory {
    fn __repr__(&self) -> String {
        let name = CATEGORIES
            .iter()
            .find(|c| c.1 == self.0)
            .map_or("?", |c| c.0);
        format!("DtypeCategory.{name}")
    }
}

fn dtype_or_category(obj: &Bound<'_, PyAny>) -> PyResult<DtypeOrCategory> {
    if let Ok(d) = obj.cast::<PyDtype>() {
        return Ok(DtypeOrCategory::Dtype(d.get().0));
    }
    if let Ok(c) = obj.cast::<PyDtypeCategory>() {
        return Ok(DtypeOrCategory::Category(c.get().0));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "issubdtype expects a Dtype or a DtypeCategory.",
    ))
}

/// `mx.issubdtype(a, b)`: whether dtype/category `a` is `b` or below it.
#[pyfunction]
fn issubdtype(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(mx::issubdtype(dtype_or_category(a)?, dtype_or_category(b)?))
}

/// `mx.promote_types(a, b)`.
#[pyfunction]
fn promote_types(py: Python<'_>, a: PyDtype, b: PyDtype) -> PyResult<Py<PyDtype>> {
    dtype_object(py, mx::promote_types(a.0, b.0))
}

/// `mx.can_cast(from_, to)`.
#[pyfunction]
#[pyo3(name = "can_cast")]
fn can_cast_py(from_: &Bound<'_, PyAny>, to: PyDtype) -> PyResult<bool> {
    // `from_` may be a dtype or an array (its dtype).
    let from = match from_.cast::<crate::array::PyArray>() {
        Ok(a) => a.borrow().inner.dtype(),
        Err(_) => from_.extract::<PyDtype>()?.0,
    };
    Ok(mx::can_cast(from, to.0))
}

/// The one Python object of each dtype (the module attribute), so that `a.dtype is
/// mx.float32` and pickling by name (which checks identity) work as in MLX.
pub fn dtype_object(py: Python<'_>, d: Dtype) -> PyResult<Py<PyDtype>> {
    static OBJECTS: PyOnceLock<Vec<Py<PyDtype>>> = PyOnceLock::new();
    let all = OBJECTS.get_or_try_init(py, || {
        ALL_DTYPES
            .iter()
            .map(|&d| Py::new(py, PyDtype(d)))
            .collect::<PyResult<Vec<_>>>()
    })?;
    let i = ALL_DTYPES.iter().position(|&x| x == d).unwrap_or(0);
    Ok(all[i].clone_ref(py))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDtype>()?;
    m.add_class::<PyDtypeCategory>()?;
    for d in ALL_DTYPES {
        // `mx.bool_`, as in MLX (a module attribute `bool` would shadow the builtin).
        let name = if d == Dtype::Bool { "bool_" } else { d.name() };
        m.add(name, dtype_object(m.py(), d)?)?;
    }
    for (name, c) in CATEGORIES {
        m.add(name, PyDtypeCategory(c))?;
    }
    m.add_function(wrap_pyfunction!(issubdtype, m)?)?;
    m.add_function(wrap_pyfunction!(promote_types, m)?)?;
    m.add_function(wrap_pyfunction!(can_cast_py, m)?)?;
    Ok(())
}
