//! Python values to rmlx values and back: errors, dtypes, scalars, nested lists, numpy arrays,
//! axes and shapes.

use pyo3::exceptions::{
    PyIndexError, PyKeyError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyComplex, PyFloat, PyInt, PyList, PyMemoryView, PySequence,
    PyTuple,
};
use rmlx_core::{self as mx, Array, Dtype, ErrorKind, Operand, Scalar, C64};

use crate::array::PyArray;
use crate::dtype::PyDtype;

/// An rmlx error as the Python exception MLX raises for the same kind of failure.
pub fn to_py_err(e: mx::Error) -> PyErr {
    let msg = e.message().to_string();
    match e.kind() {
        ErrorKind::Value => PyValueError::new_err(msg),
        ErrorKind::Type => PyTypeError::new_err(msg),
        ErrorKind::Index => PyIndexError::new_err(msg),
        ErrorKind::Key => PyKeyError::new_err(msg),
        ErrorKind::Runtime => PyRuntimeError::new_err(msg),
        ErrorKind::Overflow => PyOverflowError::new_err(msg),
    }
}

/// `?` on rmlx results inside binding code.
pub trait PyResultExt<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> PyResultExt<T> for mx::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}

/// A Python scalar (`bool`, `int`, `float`, `complex`) as a weak rmlx scalar; `None` for
/// anything else.
pub fn py_scalar(obj: &Bound<'_, PyAny>) -> PyResult<Option<Scalar>> {
    if obj.is_instance_of::<PyBool>() {
        return Ok(Some(Scalar::Bool(obj.extract::<bool>()?)));
    }
    if obj.is_instance_of::<PyInt>() {
        let v: i128 = obj.extract().map_err(|_| {
            PyValueError::new_err("Integer is too large to be converted to an array.")
        })?;
        return Ok(Some(Scalar::Int(v)));
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(Some(Scalar::Float(obj.extract::<f64>()?)));
    }
    if let Ok(c) = obj.cast::<PyComplex>() {
        return Ok(Some(Scalar::Complex(C64::new(
            c.real() as f32,
            c.imag() as f32,
        ))));
    }
    Ok(None)
}

/// Whether `obj` looks like a numpy array or numpy scalar (has a dtype and a shape).
fn is_numpy_like(obj: &Bound<'_, PyAny>) -> bool {
    obj.hasattr("__array_interface__").unwrap_or(false)
}

/// The rmlx dtype of a numpy dtype string (`'<f4'`, `'|b1'`...), with MLX's defaults: float64
/// arrays become float32 unless a dtype is asked for.
fn numpy_dtype(kind: char, size: usize) -> PyResult<Dtype> {
    Ok(match (kind, size) {
        ('b', 1) => Dtype::Bool,
        ('u', 1) => Dtype::Uint8,
        ('u', 2) => Dtype::Uint16,
        ('u', 4) => Dtype::Uint32,
        ('u', 8) => Dtype::Uint64,
        ('i', 1) => Dtype::Int8,
        ('i', 2) => Dtype::Int16,
        ('i', 4) => Dtype::Int32,
        ('i', 8) => Dtype::Int64,
        ('f', 2) => Dtype::Float16,
        ('f', 4) => Dtype::Float32,
        ('f', 8) => Dtype::Float64,
        ('c', 8) | ('c', 16) => Dtype::Complex64,
        _ => {
            return Err(PyTypeError::new_err(format!(
                "Cannot convert numpy dtype '{kind}{size}' to an array."
            )));
        }
    })
}

/// An rmlx array from the bytes of a numpy array (C order).
fn array_from_numpy(obj: &Bound<'_, PyAny>, dtype: Option<Dtype>) -> PyResult<Array> {
    let py = obj.py();
    let np = py.import("numpy")?;
    // asarray keeps a numpy scalar 0-d (ascontiguousarray would make it 1-d); tobytes in C
    // order below copies a non-contiguous array row by row.
    let arr = np.call_method1("asarray", (obj,))?;
    let npdt = arr.getattr("dtype")?;
    let kind: String = npdt.getattr("kind")?.extract()?;
    let size: usize = npdt.getattr("itemsize")?.extract()?;
    let kind = kind.chars().next().unwrap_or('?');
    let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
    check_import_shape(&shape)?;
    // Complex128 goes through numpy's own cast to complex64.
    let (arr, native) = match (kind, size) {
        ('c', 16) => (
            arr.call_method1("astype", (np.getattr("complex64")?,))?,
            Dtype::Complex64,
        ),
        ('f', 8) => (arr, Dtype::Float64),
        _ => (arr, numpy_dtype(kind, size)?),
    };
    // Native byte order: a big-endian array stays big-endian through asarray.
    let native_order = arr.getattr("dtype")?.call_method1("newbyteorder", ("=",))?;
    let arr = arr.call_method1("astype", (native_order,))?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("order", "C")?;
    let bytes = arr.call_method("tobytes", (), Some(&kwargs))?;
    let bytes = bytes.cast::<PyBytes>()?.as_bytes();
    let a = array_from_bytes(bytes, &shape, native)?;
    // MLX makes float64 numpy arrays float32 unless asked otherwise.
    let want = match dtype {
        Some(d) => d,
        None if native == Dtype::Float64 => Dtype::Float32,
        None => native,
    };
    if want == native {
        Ok(a)
    } else {
        mx::astype(&a, want).py()
    }
}

/// An array of `dtype` and `shape` from its native-endian bytes.
pub fn array_from_bytes(bytes: &[u8], shape: &[usize], dtype: Dtype) -> PyResult<Array> {
    let n: usize = shape.iter().product();
    if bytes.len() != n * dtype.size() {
        return Err(PyValueError::new_err(format!(
            "Buffer of {} bytes does not hold {n} values of {dtype}.",
            bytes.len()
        )));
    }
    mx::dispatch_dtype!(dtype, T => {
        let mut v: Vec<T> = Vec::with_capacity(n);
        // SAFETY: `T` is a plain-old-data element type of `dtype.size()` bytes (bool bytes are
        // 0/1 from numpy), and `bytes` holds exactly `n` of them.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), v.as_mut_ptr().cast::<u8>(), bytes.len());
            v.set_len(n);
        }
        Array::from_slice(&v, shape).py()
    })
}

/// The native-endian bytes of an evaluated array, in row-major order.
pub fn array_to_bytes(a: &Array) -> PyResult<Vec<u8>> {
    mx::dispatch_dtype!(a.dtype(), T => {
        let v: Vec<T> = a.to_vec::<T>().py()?;
        let n = v.len() * std::mem::size_of::<T>();
        let mut out = vec![0u8; n];
        // SAFETY: copies the bytes of `v` (plain-old-data elements) into a buffer of the same
        // length.
        unsafe { std::ptr::copy_nonoverlapping(v.as_ptr().cast::<u8>(), out.as_mut_ptr(), n) };
        Ok(out)
    })
}

/// A leaf of a nested Python list.
enum Leaf {
    Scalar(Scalar),
    Array(Array),
}

/// Walks a nested list/tuple, recording its shape at each depth and its leaves.
fn walk(
    obj: &Bound<'_, PyAny>,
    depth: usize,
    shape: &mut Vec<usize>,
    leaves: &mut Vec<Leaf>,
) -> PyResult<()> {
    let is_seq = obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>();
    if is_seq {
        let seq = obj.cast::<PySequence>()?;
        let n = seq.len()?;
        if depth == shape.len() {
            if !leaves.is_empty() {
                return Err(PyValueError::new_err(
                    "Initialization encountered extra dimension.",
                ));
            }
            shape.push(n);
        } else if shape[depth] != n {
            return Err(PyValueError::new_err(
                "Initialization encountered non-uniform length.",
            ));
        }
        for item in seq.try_iter()? {
            walk(&item?, depth + 1, shape, leaves)?;
        }
        return Ok(());
    }
    if depth < shape.len() {
        return Err(PyValueError::new_err(
            "Initialization encountered non-uniform length.",
        ));
    }
    if let Some(s) = py_scalar(obj)? {
        leaves.push(Leaf::Scalar(s));
        return Ok(());
    }
    if let Ok(a) = obj.cast::<PyArray>() {
        leaves.push(Leaf::Array(a.borrow().inner.clone()));
        return Ok(());
    }
    if is_numpy_like(obj) {
        leaves.push(Leaf::Array(array_from_numpy(obj, None)?));
        return Ok(());
    }
    Err(PyValueError::new_err(format!(
        "Invalid type {} received in array initialization.",
        obj.get_type().name()?
    )))
}

/// The dtype MLX gives a list of Python scalars: bool if all are bools, complex64 if any is
/// complex, float32 if any is a float, else int32 (int64 when a value needs it).
fn list_dtype(leaves: &[Leaf]) -> PyResult<Dtype> {
    let mut out = Dtype::Bool;
    let mut wide = false;
    for l in leaves {
        let d = match l {
            Leaf::Scalar(Scalar::Bool(_)) => Dtype::Bool,
            Leaf::Scalar(Scalar::Int(v)) => {
                if i32::try_from(*v).is_err() {
                    wide = true;
                }
                Dtype::Int32
            }
            Leaf::Scalar(Scalar::Float(_)) => Dtype::Float32,
            Leaf::Scalar(Scalar::Complex(_)) => Dtype::Complex64,
            Leaf::Array(a) => a.dtype(),
        };
        out = mx::promote_types(out, d);
    }
    if wide && out == Dtype::Int32 {
        out = Dtype::Int64;
    }
    Ok(out)
}

/// `mx.array(obj, dtype)`: an array from a scalar, a nested list or tuple, a numpy array or
/// another array.
pub fn array_from_py(obj: &Bound<'_, PyAny>, dtype: Option<Dtype>) -> PyResult<Array> {
    if let Ok(a) = obj.cast::<PyArray>() {
        let a = a.borrow().inner.clone();
        return match dtype {
            Some(d) if d != a.dtype() => mx::astype(&a, d).py(),
            _ => Ok(a),
        };
    }
    if let Some(s) = py_scalar(obj)? {
        let d = match dtype {
            Some(d) => d,
            None => s.default_dtype().py()?,
        };
        return s.to_array(d).py();
    }
    if is_numpy_like(obj) {
        return array_from_numpy(obj, dtype);
    }
    if obj.is_instance_of::<PyMemoryView>() {
        // A typed buffer: numpy reads its format, shape and strides.
        return array_from_numpy(obj, dtype);
    }
    if obj.is_instance_of::<PyByteArray>() {
        // Its bytes, as `bytes` below.
        let b = obj
            .py()
            .import("builtins")?
            .getattr("bytes")?
            .call1((obj,))?;
        return array_from_py(&b, dtype);
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        // Bytes are a uint8 vector, as in MLX.
        let v = b.as_bytes();
        let a = Array::from_slice(v, &[v.len()]).py()?;
        return match dtype {
            Some(d) if d != Dtype::Uint8 => mx::astype(&a, d).py(),
            _ => Ok(a),
        };
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        if contains_array(obj)? {
            return array_from_nested_arrays(obj, dtype);
        }
        let mut shape = Vec::new();
        let mut leaves = Vec::new();
        walk(obj, 0, &mut shape, &mut leaves)?;
        let d = match dtype {
            Some(d) => d,
            None if leaves.is_empty() => Dtype::Float32,
            None => list_dtype(&leaves)?,
        };
        return mx::dispatch_dtype!(d, T => {
            let v: Vec<T> = leaves
                .iter()
                .map(|l| match l {
                    Leaf::Scalar(s) => s.cast::<T>(),
                    Leaf::Array(_) => unreachable!("handled above"),
                })
                .collect();
            Array::from_slice(&v, &shape).py()
        });
    }
    if obj.hasattr("__mlx_array__")? {
        let inner = obj.call_method0("__mlx_array__")?;
        return array_from_py(&inner, dtype);
    }
    Err(PyValueError::new_err(format!(
        "Invalid type {} received in array initialization.",
        obj.get_type().name()?
    )))
}

/// Whether a nested list holds arrays (rmlx or numpy) among its leaves.
fn contains_array(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        for item in obj.try_iter()? {
            if contains_array(&item?)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    Ok(obj.cast::<PyArray>().is_ok() || is_numpy_like(obj))
}

/// A list whose leaves include arrays: each element becomes an array (lists among them with
/// their own default dtype, as in MLX), then they are stacked, keeping the graph.
fn array_from_nested_arrays(obj: &Bound<'_, PyAny>, dtype: Option<Dtype>) -> PyResult<Array> {
    let seq = obj.cast::<PySequence>()?;
    let mut parts = Vec::new();
    for item in seq.try_iter()? {
        parts.push(array_from_py(&item?, None)?);
    }
    if parts.windows(2).any(|w| w[0].shape() != w[1].shape()) {
        return Err(PyValueError::new_err(
            "Initialization encountered non-uniform length.",
        ));
    }
    let d = match dtype {
        Some(d) => d,
        None => parts
            .iter()
            .fold(Dtype::Bool, |d, a| mx::promote_types(d, a.dtype())),
    };
    let parts: Vec<Array> = parts
        .iter()
        .map(|a| mx::astype(a, d))
        .collect::<mx::Result<_>>()
        .py()?;
    mx::stack(&parts, 0).py()
}

/// An op argument: an array, or a Python scalar (weak, as in MLX), or a list/numpy array
/// (converted to an array, taking `like`'s dtype when given, as MLX's binary ops do).
pub fn to_operand(obj: &Bound<'_, PyAny>, like: Option<Dtype>) -> PyResult<Operand> {
    if let Ok(a) = obj.cast::<PyArray>() {
        return Ok(Operand::Array(a.borrow().inner.clone()));
    }
    if let Some(s) = py_scalar(obj)? {
        return Ok(Operand::Scalar(s));
    }
    if is_numpy_like(obj) || obj.hasattr("__mlx_array__")? {
        return Ok(Operand::Array(array_from_py(obj, like)?));
    }
    Err(PyValueError::new_err(format!(
        "Invalid type {} received in array initialization.",
        obj.get_type().name()?
    )))
}

/// Two operands of a binary op: a non-array operand takes the array operand's dtype.
pub fn to_operands(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<(Operand, Operand)> {
    let da = a.cast::<PyArray>().ok().map(|x| x.borrow().inner.dtype());
    let db = b.cast::<PyArray>().ok().map(|x| x.borrow().inner.dtype());
    Ok((to_operand(a, db)?, to_operand(b, da)?))
}

/// An op argument that must become an array (scalars take their default dtype).
pub fn to_array(obj: &Bound<'_, PyAny>) -> PyResult<Array> {
    to_operand(obj, None)?.into_array().py()
}

/// An optional array argument (`None` stays `None`).
pub fn to_opt_array(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Array>> {
    match obj {
        Some(o) if !o.is_none() => Ok(Some(to_array(o)?)),
        _ => Ok(None),
    }
}

/// A list of arrays (any iterable of array-likes).
pub fn to_arrays(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Array>> {
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        out.push(to_array(&item?)?);
    }
    Ok(out)
}

/// An `axis` argument: an int or a sequence of ints (`None` stays `None`).
pub fn to_axes(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<isize>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) if o.is_instance_of::<PyInt>() => Ok(Some(vec![o.extract::<isize>()?])),
        Some(o) => Ok(Some(o.extract::<Vec<isize>>().map_err(|_| {
            PyTypeError::new_err("axis must be an int or a sequence of ints.")
        })?)),
    }
}

/// A shape argument: an int or a sequence of ints.
pub fn to_shape(obj: &Bound<'_, PyAny>) -> PyResult<Vec<isize>> {
    if obj.is_instance_of::<PyInt>() {
        let d = extract_i32(obj, "Shape dimension")?;
        return Ok(vec![d]);
    }
    let items = obj
        .try_iter()
        .map_err(|_| PyTypeError::new_err("shape must be an int or a sequence of ints."))?;
    items
        .map(|item| {
            let item = item?;
            if !item.is_instance_of::<PyInt>() && !item.hasattr("__index__")? {
                return Err(PyTypeError::new_err(
                    "shape must be an int or a sequence of ints.",
                ));
            }
            extract_i32(&item, "Integer value")
        })
        .collect()
}

/// An integer that must fit MLX's 32-bit shape integers; a wider one is an OverflowError
/// naming it, with MLX's words (`what` starts the message).
fn extract_i32(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<isize> {
    let wide: i128 = obj
        .extract()
        .map_err(|_| PyTypeError::new_err("shape must be an int or a sequence of ints."))?;
    if i32::try_from(wide).is_err() {
        let tail = if what == "Shape dimension" {
            " MLX currently uses 32-bit integers for shape dimensions."
        } else {
            ""
        };
        return Err(PyOverflowError::new_err(format!(
            "{what} {wide} is outside the supported range [-2147483648, 2147483647].{tail}"
        )));
    }
    Ok(wide as isize)
}

/// Checks that the dimensions of an array being imported fit MLX's 32-bit shape integers.
pub fn check_import_shape(shape: &[usize]) -> PyResult<()> {
    match shape.iter().find(|&&d| d > i32::MAX as usize) {
        Some(d) => Err(PyOverflowError::new_err(format!(
            "Shape dimension {d} is outside the supported range [-2147483648, 2147483647]. \
             MLX currently uses 32-bit integers for shape dimensions."
        ))),
        None => Ok(()),
    }
}

/// A dtype argument (`mx.float32`); `None` stays `None`.
pub fn to_dtype(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Dtype>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => Ok(Some(
            o.cast::<PyDtype>()
                .map_err(|_| PyTypeError::new_err("dtype must be an mlx.core.Dtype."))?
                .get()
                .0,
        )),
    }
}

/// Wraps an rmlx array as a Python `array`.
pub fn wrap(py: Python<'_>, a: Array) -> PyResult<Py<PyArray>> {
    Py::new(py, PyArray::new(a))
}

/// Wraps a list of arrays as a Python list.
pub fn wrap_list(py: Python<'_>, v: Vec<Array>) -> PyResult<Py<PyList>> {
    let items: Vec<Py<PyArray>> = v
        .into_iter()
        .map(|a| wrap(py, a))
        .collect::<PyResult<_>>()?;
    Ok(PyList::new(py, items)?.unbind())
}

/// Wraps a list of arrays as a Python tuple.
pub fn wrap_tuple(py: Python<'_>, v: Vec<Array>) -> PyResult<Py<PyTuple>> {
    let items: Vec<Py<PyArray>> = v
        .into_iter()
        .map(|a| wrap(py, a))
        .collect::<PyResult<_>>()?;
    Ok(PyTuple::new(py, items)?.unbind())
}

/// Wraps a pair of arrays as a Python tuple.
pub fn wrap_pair(py: Python<'_>, (a, b): (Array, Array)) -> PyResult<Py<PyTuple>> {
    Ok(PyTuple::new(py, [wrap(py, a)?, wrap(py, b)?])?.unbind())
}
