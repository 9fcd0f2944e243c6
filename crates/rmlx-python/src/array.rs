//! The `mx.array` class: construction, read-back, numpy conversion, operators and indexing.
//! Methods that only forward to a module function (`a.sum(...)`) are attached in Python
//! (`python/rmlx/core/__init__.py`).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyComplex, PyEllipsis, PyFloat, PyInt, PyList, PySlice, PyTuple};
use rmlx_core::{self as mx, Array, AxisSlice, Dtype, Index, Operand, Scalar, C64};

use crate::convert::{
    array_from_py, array_to_bytes, py_scalar, to_array, to_dtype, to_operand, to_operands, wrap,
    PyResultExt,
};
use crate::dtype::PyDtype;

/// An N-dimensional array: a lazy node of rmlx's graph, computed on first read.
#[pyclass(name = "array", module = "mlx.core", weakref, subclass)]
pub struct PyArray {
    pub inner: Array,
}

impl PyArray {
    pub fn new(inner: Array) -> Self {
        PyArray { inner }
    }
}

/// The Python values of an array's elements.
fn element_to_py(py: Python<'_>, flat: &FlatValues) -> PyResult<Vec<Py<PyAny>>> {
    Ok(match flat {
        FlatValues::Bool(v) => v
            .iter()
            .map(|&x| PyBool::new(py, x).to_owned().into_any().unbind())
            .collect(),
        FlatValues::Int(v) => v
            .iter()
            .map(|&x| PyInt::new(py, x).into_any().unbind())
            .collect(),
        FlatValues::Uint(v) => v
            .iter()
            .map(|&x| PyInt::new(py, x).into_any().unbind())
            .collect(),
        FlatValues::Float(v) => v
            .iter()
            .map(|&x| PyFloat::new(py, x).into_any().unbind())
            .collect(),
        FlatValues::Complex(v) => v
            .iter()
            .map(|c| {
                PyComplex::from_doubles(py, c.re as f64, c.im as f64)
                    .into_any()
                    .unbind()
            })
            .collect(),
    })
}

/// An array's values widened to the Python types they become.
enum FlatValues {
    Bool(Vec<bool>),
    Int(Vec<i64>),
    Uint(Vec<u64>),
    Float(Vec<f64>),
    Complex(Vec<C64>),
}

fn flat_values(a: &Array) -> PyResult<FlatValues> {
    let d = a.dtype();
    Ok(if d == Dtype::Bool {
        FlatValues::Bool(a.to_vec::<bool>().py()?)
    } else if d == Dtype::Uint64 {
        FlatValues::Uint(a.to_vec::<u64>().py()?)
    } else if d.is_integer() {
        FlatValues::Int(mx::astype(a, Dtype::Int64).py()?.to_vec::<i64>().py()?)
    } else if d.is_complex() {
        FlatValues::Complex(a.to_vec::<C64>().py()?)
    } else {
        FlatValues::Float(mx::astype(a, Dtype::Float64).py()?.to_vec::<f64>().py()?)
    })
}

/// Nested Python lists of `values` (row-major) with `shape`.
fn nest(py: Python<'_>, values: &[Py<PyAny>], shape: &[usize]) -> PyResult<Py<PyAny>> {
    if shape.is_empty() {
        return Ok(values[0].clone_ref(py));
    }
    let n = shape[0];
    let inner: usize = shape[1..].iter().product();
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        items.push(nest(py, &values[i * inner..(i + 1) * inner], &shape[1..])?);
    }
    Ok(PyList::new(py, items)?.into_any().unbind())
}

/// A Python index (`1`, `1:3`, `None`, `...`, an array, or a tuple of these) as rmlx indices.
pub fn to_index(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Index>> {
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|o| to_index_entry(&o)).collect();
    }
    Ok(vec![to_index_entry(obj)?])
}

fn opt_isize(o: &Bound<'_, PyAny>) -> PyResult<Option<isize>> {
    if o.is_none() {
        return Ok(None);
    }
    if let Ok(a) = o.cast::<PyArray>() {
        return Ok(Some(a.borrow().inner.item::<i64>().py()? as isize));
    }
    let i = o
        .extract::<isize>()
        .map_err(|_| PyValueError::new_err("Slice indices must be integers or None."))?;
    Ok(Some(index_i32(i)?))
}

/// MLX indexes with 32-bit integers: a wider position is a ValueError, as there.
fn index_i32(i: isize) -> PyResult<isize> {
    if i32::try_from(i).is_err() {
        return Err(PyValueError::new_err(
            "Slice indices must be 32-bit integers.",
        ));
    }
    Ok(i)
}

fn to_index_entry(obj: &Bound<'_, PyAny>) -> PyResult<Index> {
    if obj.is_none() {
        return Ok(Index::NewAxis);
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(Index::Ellipsis);
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        let i = obj
            .extract::<isize>()
            .map_err(|_| PyValueError::new_err("Slice indices must be 32-bit integers."))?;
        return Ok(Index::Int(index_i32(i)?));
    }
    if let Ok(s) = obj.cast::<PySlice>() {
        let start = opt_isize(&s.getattr("start")?)?;
        let stop = opt_isize(&s.getattr("stop")?)?;
        let step = opt_isize(&s.getattr("step")?)?.unwrap_or(1);
        if step == 0 {
            return Err(PyValueError::new_err("slice step cannot be zero"));
        }
        return Ok(Index::Slice(AxisSlice::new(start, stop, step)));
    }
    if let Ok(a) = obj.cast::<PyArray>() {
        return Ok(Index::Array(a.borrow().inner.clone()));
    }
    // A numpy integer (or anything with __index__ and no shape) is one position.
    let ndim: usize = match obj.getattr("ndim") {
        Ok(n) => n.extract().unwrap_or(0),
        Err(_) => 0,
    };
    if ndim == 0 && !obj.is_instance_of::<PyList>() && obj.hasattr("__index__")? {
        let i = obj.py().import("operator")?.call_method1("index", (obj,))?;
        return Ok(Index::Int(index_i32(i.extract::<isize>()?)?));
    }
    if obj.is_instance_of::<PyList>() || obj.hasattr("__array_interface__")? {
        return Ok(Index::Array(array_from_py(obj, None)?));
    }
    Err(PyValueError::new_err(format!(
        "Cannot index mlx array using the given type {}.",
        obj.get_type().name()?
    )))
}

fn binary(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    op: fn(Operand, Operand) -> mx::Result<Array>,
) -> PyResult<Py<PyArray>> {
    // Fast path for two arrays: the common case in a loop of ops.
    if let (Ok(x), Ok(y)) = (a.cast::<PyArray>(), b.cast::<PyArray>()) {
        let (x, y) = (x.borrow().inner.clone(), y.borrow().inner.clone());
        return wrap(py, op(Operand::Array(x), Operand::Array(y)).py()?);
    }
    let (x, y) = to_operands(a, b)?;
    wrap(py, op(x, y).py()?)
}

macro_rules! binary_dunders {
    ($(($fwd:ident, $rev:ident, $op:path)),* $(,)?) => {
        #[pymethods]
        impl PyArray {
            $(
                fn $fwd(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyArray>> {
                    binary(slf.py(), slf.as_any(), other, |x, y| $op(x, y))
                }
                fn $rev(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyArray>> {
                    binary(slf.py(), other, slf.as_any(), |x, y| $op(x, y))
                }
            )*
        }
    };
}

/// MLX's operators refuse floating operands of the bitwise ops with a ValueError naming the
/// operation (the functions raise the core's error instead).
fn refuse_floats(x: &Operand, y: &Operand, what: &str) -> mx::Result<()> {
    let floating = |o: &Operand| match o {
        Operand::Array(a) => !(a.dtype().is_integer() || a.dtype() == Dtype::Bool),
        Operand::Scalar(s) => matches!(s, Scalar::Float(_) | Scalar::Complex(_)),
    };
    if floating(x) || floating(y) {
        return Err(mx::Error::value(format!(
            "Floating point types not allowed with {what}."
        )));
    }
    Ok(())
}

macro_rules! bitwise_operators {
    ($(($name:ident, $op:path, $what:literal)),* $(,)?) => {$(
        fn $name(x: Operand, y: Operand) -> mx::Result<Array> {
            refuse_floats(&x, &y, $what)?;
            $op(x, y)
        }
    )*};
}

bitwise_operators!(
    (and_operator, mx::bitwise_and, "bitwise and"),
    (or_operator, mx::bitwise_or, "bitwise or"),
    (xor_operator, mx::bitwise_xor, "bitwise xor"),
    (left_shift_operator, mx::left_shift, "left shift"),
    (right_shift_operator, mx::right_shift, "right shift"),
);

binary_dunders!(
    (__add__, __radd__, mx::add),
    (__sub__, __rsub__, mx::subtract),
    (__mul__, __rmul__, mx::multiply),
    (__truediv__, __rtruediv__, mx::divide),
    (__floordiv__, __rfloordiv__, mx::floor_divide),
    (__mod__, __rmod__, mx::remainder),
    (__and__, __rand__, and_operator),
    (__or__, __ror__, or_operator),
    (__xor__, __rxor__, xor_operator),
    (__lshift__, __rlshift__, left_shift_operator),
    (__rshift__, __rrshift__, right_shift_operator),
);

/// An in-place operator: the result replaces the array this Python object holds, so every
/// name bound to the object sees it (`b = a; a += 1` changes `b`), as in MLX.
macro_rules! inplace_dunders {
    ($(($name:ident, $op:path)),* $(,)?) => {
        #[pymethods]
        impl PyArray {
            $(
                fn $name(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
                    let (x, y) = to_operands(slf.as_any(), other)?;
                    let out = $op(x, y).py()?;
                    slf.borrow_mut().inner = out;
                    Ok(())
                }
            )*
        }
    };
}

inplace_dunders!(
    (__iadd__, mx::add),
    (__isub__, mx::subtract),
    (__imul__, mx::multiply),
    (__ifloordiv__, mx::floor_divide),
    (__imod__, mx::remainder),
    (__iand__, and_operator),
    (__ior__, or_operator),
    (__ixor__, xor_operator),
    (__ilshift__, left_shift_operator),
    (__irshift__, right_shift_operator),
);

#[pymethods]
impl PyArray {
    #[new]
    #[pyo3(signature = (val, dtype=None))]
    fn py_new(val: &Bound<'_, PyAny>, dtype: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Ok(PyArray::new(array_from_py(val, to_dtype(dtype)?)?))
    }

    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.shape())
    }

    #[getter]
    fn dtype(&self, py: Python<'_>) -> PyResult<Py<PyDtype>> {
        crate::dtype::dtype_object(py, self.inner.dtype())
    }

    #[getter]
    fn ndim(&self) -> usize {
        self.inner.ndim()
    }

    #[getter]
    fn size(&self) -> usize {
        self.inner.size()
    }

    #[getter]
    fn itemsize(&self) -> usize {
        self.inner.itemsize()
    }

    #[getter]
    fn nbytes(&self) -> usize {
        self.inner.nbytes()
    }

    #[getter(T)]
    fn transposed(&self, py: Python<'_>) -> PyResult<Py<PyArray>> {
        wrap(py, mx::transpose(&self.inner, None::<Vec<isize>>).py()?)
    }

    #[getter]
    fn real(&self, py: Python<'_>) -> PyResult<Py<PyArray>> {
        wrap(py, mx::real(&self.inner).py()?)
    }

    #[getter]
    fn imag(&self, py: Python<'_>) -> PyResult<Py<PyArray>> {
        wrap(py, mx::imag(&self.inner).py()?)
    }

    /// `a.at[idx].add(v)` and the other scatter updates.
    #[getter]
    fn at(&self) -> ArrayAt {
        ArrayAt {
            array: self.inner.clone(),
        }
    }

    /// The value of a one-element array as a Python scalar.
    pub(crate) fn item(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if self.inner.size() != 1 {
            return Err(PyValueError::new_err(
                "item can only be called on arrays of size 1.",
            ));
        }
        let vals = flat_values(&self.inner)?;
        Ok(element_to_py(py, &vals)?.remove(0))
    }

    /// The array as nested Python lists.
    fn tolist(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let vals = flat_values(&self.inner)?;
        let items = element_to_py(py, &vals)?;
        nest(py, &items, self.inner.shape())
    }

    #[pyo3(signature = (dtype, stream=None))]
    fn astype(
        &self,
        py: Python<'_>,
        dtype: &Bound<'_, PyAny>,
        stream: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyArray>> {
        let _ = stream;
        let d = to_dtype(Some(dtype))?.ok_or_else(|| PyTypeError::new_err("dtype is None"))?;
        wrap(py, mx::astype(&self.inner, d).py()?)
    }

    /// numpy's conversion hook: `np.array(a)`.
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__(
        &self,
        py: Python<'_>,
        dtype: Option<&Bound<'_, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        let _ = copy;
        let d = self.inner.dtype();
        let np_name = match d {
            Dtype::Bool => "bool",
            Dtype::Bfloat16 => {
                return Err(PyValueError::new_err(
                    "'bfloat16' is not a valid PEP 3118 buffer format string",
                ));
            }
            _ => d.name(),
        };
        let bytes = array_to_bytes(&self.inner)?;
        let np = py.import("numpy")?;
        let buf = pyo3::types::PyBytes::new(py, &bytes);
        let flat = np.call_method1("frombuffer", (buf, np.getattr(np_name)?))?;
        let out = flat
            .call_method1("reshape", (PyTuple::new(py, self.inner.shape())?,))?
            .call_method0("copy")?;
        match dtype {
            Some(dt) if !dt.is_none() => Ok(out.call_method1("astype", (dt,))?.unbind()),
            _ => Ok(out.unbind()),
        }
    }

    fn __repr__(&self) -> PyResult<String> {
        self.inner.eval().py()?;
        Ok(format!("{}", self.inner))
    }

    /// `f"{a:.2f}"` formats the value of a one-element array; other arrays take an empty spec.
    fn __format__(&self, py: Python<'_>, spec: &str) -> PyResult<Py<PyAny>> {
        if spec.is_empty() {
            return Ok(self.__repr__()?.into_pyobject(py)?.into_any().unbind());
        }
        if self.inner.size() != 1 {
            return Err(PyTypeError::new_err(
                "unsupported format string passed to mlx.core.array.__format__",
            ));
        }
        let v = self.item(py)?;
        Ok(v.bind(py).call_method1("__format__", (spec,))?.unbind())
    }

    fn __len__(&self) -> PyResult<usize> {
        match self.inner.shape().first() {
            Some(&n) => Ok(n),
            None => Err(PyTypeError::new_err("len() 0-dimensional array.")),
        }
    }

    fn __iter__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let a = slf.borrow().inner.clone();
        let n = *a
            .shape()
            .first()
            .ok_or_else(|| PyTypeError::new_err("iteration over a 0-d array"))?;
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            items.push(wrap(py, a.index([Index::Int(i as isize)]).py()?)?);
        }
        Ok(PyList::new(py, items)?
            .into_any()
            .try_iter()?
            .into_any()
            .unbind())
    }

    fn __bool__(&self) -> PyResult<bool> {
        if self.inner.size() != 1 {
            return Err(PyValueError::new_err(
                "The truth value of an array with more than one element is ambiguous.",
            ));
        }
        mx::astype(&self.inner, Dtype::Bool)
            .py()?
            .item::<bool>()
            .py()
    }

    fn __int__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let v = self.item(py)?;
        Ok(py.import("builtins")?.getattr("int")?.call1((v,))?.unbind())
    }

    fn __float__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let v = self.item(py)?;
        Ok(py
            .import("builtins")?
            .getattr("float")?
            .call1((v,))?
            .unbind())
    }

    fn __index__(&self) -> PyResult<i64> {
        if !self.inner.dtype().is_integer() || self.inner.size() != 1 {
            return Err(PyTypeError::new_err(
                "Only integer arrays of size 1 can be converted to an index.",
            ));
        }
        mx::astype(&self.inner, Dtype::Int64)
            .py()?
            .item::<i64>()
            .py()
    }

    fn __hash__(&self) -> usize {
        self.inner.id()
    }

    fn __neg__(&self, py: Python<'_>) -> PyResult<Py<PyArray>> {
        wrap(py, mx::negative(&self.inner).py()?)
    }

    fn __pos__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __abs__(&self, py: Python<'_>) -> PyResult<Py<PyArray>> {
        wrap(py, mx::abs(&self.inner).py()?)
    }

    fn __invert__(&self, py: Python<'_>) -> PyResult<Py<PyArray>> {
        let d = self.inner.dtype();
        if !(d.is_integer() || d == Dtype::Bool) {
            return Err(PyValueError::new_err(
                "Floating point types not allowed with bitwise inversion.",
            ));
        }
        wrap(py, mx::bitwise_invert(&self.inner).py()?)
    }

    fn __pow__(
        slf: &Bound<'_, Self>,
        other: &Bound<'_, PyAny>,
        _modulo: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyArray>> {
        binary(slf.py(), slf.as_any(), other, mx::power)
    }

    fn __rpow__(
        slf: &Bound<'_, Self>,
        other: &Bound<'_, PyAny>,
        _modulo: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyArray>> {
        binary(slf.py(), other, slf.as_any(), mx::power)
    }

    fn __itruediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        let (x, y) = to_operands(slf.as_any(), other)?;
        let out = mx::divide(x, y).py()?;
        if out.dtype() != slf.borrow().inner.dtype() {
            return Err(PyValueError::new_err(
                "In place division cannot cast to non-floating point type.",
            ));
        }
        slf.borrow_mut().inner = out;
        Ok(())
    }

    fn __ipow__(
        slf: &Bound<'_, Self>,
        other: &Bound<'_, PyAny>,
        _modulo: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (x, y) = to_operands(slf.as_any(), other)?;
        let out = mx::power(x, y).py()?;
        slf.borrow_mut().inner = out;
        Ok(())
    }

    fn __matmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyArray>> {
        let b = to_array(other)?;
        wrap(py, mx::matmul(&self.inner, &b).py()?)
    }

    fn __rmatmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyArray>> {
        let a = to_array(other)?;
        wrap(py, mx::matmul(&a, &self.inner).py()?)
    }

    // Takes `slf` rather than `&mut self`: `a @= a` must read `other` (the same object) before
    // the array is borrowed for writing.
    fn __imatmul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        let b = to_array(other)?;
        let out = mx::matmul(&slf.borrow().inner, &b).py()?;
        slf.borrow_mut().inner = out;
        Ok(())
    }

    fn __eq__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        compare(slf, other, mx::equal, None)
    }

    fn __ne__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        compare(slf, other, mx::not_equal, None)
    }

    fn __lt__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        compare(slf, other, mx::less, Some("less than"))
    }

    fn __le__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        compare(slf, other, mx::less_equal, Some("less than or equal"))
    }

    fn __gt__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        compare(slf, other, mx::greater, Some("greater than"))
    }

    fn __ge__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        compare(slf, other, mx::greater_equal, Some("greater than or equal"))
    }

    fn __getitem__(&self, py: Python<'_>, idx: &Bound<'_, PyAny>) -> PyResult<Py<PyArray>> {
        let idx = to_index(idx)?;
        wrap(py, self.inner.index(idx).py()?)
    }

    // `a[i] = a[j]` or `a[a > 0] = 0`: the index and value are read before the write borrow.
    fn __setitem__(
        slf: &Bound<'_, Self>,
        idx: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        // A Python bool is a 0-d mask (MLX: all elements or none), not the integer 1.
        let idx = if idx.is_instance_of::<PyBool>() {
            vec![Index::Array(Array::scalar(idx.extract::<bool>()?))]
        } else {
            let tuple = idx.is_instance_of::<PyTuple>();
            let mut entries = to_index(idx)?;
            // A lone integer (not in a tuple) is a slice of one along the first axis, as in
            // MLX: the update broadcasts to that row as it is (`x[0] = [[1, 2]]` on a 2-D x),
            // where an integer in a tuple adds an axis to it. Out of range, the core's error.
            if let (false, [Index::Int(i)]) = (tuple, &entries[..]) {
                let n = slf.borrow().inner.shape().first().copied().unwrap_or(0) as isize;
                let start = if *i < 0 { *i + n } else { *i };
                if slf.borrow().inner.ndim() > 0 && (0..n).contains(&start) {
                    entries = vec![Index::Slice(AxisSlice::new(
                        Some(start),
                        Some(start + 1),
                        1,
                    ))];
                }
            }
            entries
        };
        let dtype = slf.borrow().inner.dtype();
        let v = to_operand(value, Some(dtype))?;
        let mut a = slf.borrow().inner.clone();
        a.index_put(idx, v).py()?;
        slf.borrow_mut().inner = a;
        Ok(())
    }

    fn __copy__(&self) -> PyArray {
        PyArray::new(self.inner.clone())
    }

    #[pyo3(signature = (memo=None))]
    fn __deepcopy__(&self, memo: Option<&Bound<'_, PyAny>>) -> PyResult<PyArray> {
        let _ = memo;
        Ok(PyArray::new(self.inner.clone()))
    }

    fn __getstate__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.__array__(py, None, None)
    }

    fn __setstate__(&mut self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner = array_from_py(state, None)?;
        Ok(())
    }

    fn __reduce__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let cls = py
            .import("mlx.core")
            .or_else(|_| py.import("rmlx.core"))?
            .getattr("array")?;
        // numpy has no bfloat16: those values travel as float32 (exact) and are cast back.
        let np = if self.inner.dtype() == Dtype::Bfloat16 {
            PyArray::new(mx::astype(&self.inner, Dtype::Float32).py()?).__array__(py, None, None)?
        } else {
            self.__array__(py, None, None)?
        };
        let dtype = crate::dtype::dtype_object(py, self.inner.dtype())?;
        Ok((cls, (np, dtype)).into_pyobject(py)?.into_any().unbind())
    }
}

fn compare(
    slf: &Bound<'_, PyArray>,
    other: &Bound<'_, PyAny>,
    op: fn(Operand, Operand) -> mx::Result<Array>,
    ordering: Option<&str>,
) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    // Arrays, scalars and numpy arrays compare elementwise; any other object (a list, None) is
    // simply not equal, as in MLX, and ordering an array against a str, list or tuple is a
    // ValueError there.
    let convertible = other.cast::<PyArray>().is_ok()
        || py_scalar(other)?.is_some()
        || other.hasattr("__array_interface__")?;
    if !convertible {
        let sequence_like = other.is_instance_of::<pyo3::types::PyString>()
            || other.is_instance_of::<PyList>()
            || other.is_instance_of::<PyTuple>();
        if let (Some(what), true) = (ordering, sequence_like) {
            return Err(PyValueError::new_err(format!(
                "Cannot perform {what} on an mlx.core.array and {}",
                other.get_type().name()?
            )));
        }
        return Ok(py.NotImplemented());
    }
    Ok(binary(py, slf.as_any(), other, op)?.into_any())
}

/// `a.at[idx]`: the pending index of a scatter update.
#[pyclass(name = "ArrayAt", module = "mlx.core")]
pub struct ArrayAt {
    array: Array,
}

macro_rules! at_without_index {
    ($($name:ident),*) => {
        #[pymethods]
        impl ArrayAt {
            $(
                #[pyo3(signature = (*_args))]
                fn $name(&self, _args: &Bound<'_, PyTuple>) -> PyResult<()> {
                    Err(PyValueError::new_err(concat!(
                        "Cannot ", stringify!($name),
                        " without an index: use a.at[idx].", stringify!($name), "(value)."
                    )))
                }
            )*
        }
    };
}

at_without_index!(add, subtract, multiply, divide, maximum, minimum);

#[pymethods]
impl ArrayAt {
    fn __getitem__(&self, idx: &Bound<'_, PyAny>) -> PyResult<ArrayAtIndexed> {
        Ok(ArrayAtIndexed {
            at: self.array.at(to_index(idx)?),
        })
    }
}

/// `a.at[idx]` with its index: `.add(v)`, `.subtract`, `.multiply`, `.divide`, `.maximum`,
/// `.minimum`, each applied once per occurrence of an index.
#[pyclass(name = "ArrayAtIndexed", module = "mlx.core")]
pub struct ArrayAtIndexed {
    at: mx::AtIndexer,
}

macro_rules! at_methods {
    ($($name:ident),*) => {
        #[pymethods]
        impl ArrayAtIndexed {
            $(
                fn $name(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyArray>> {
                    let v = to_operand(value, None)?;
                    wrap(py, self.at.$name(v).py()?)
                }
            )*
        }
    };
}

at_methods!(add, subtract, multiply, divide, maximum, minimum);
