//! The remaining `mx.*` functions: dtype information, constants, windows, and shape and
//! indexing helpers with their own argument forms.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList, PyTuple};
use rmlx_core::{self as mx, Dtype, DtypeOrArray};

use crate::array::PyArray;
use crate::convert::{
    to_array, to_arrays, to_axes, to_dtype, to_operand, to_shape, wrap, wrap_list, PyResultExt,
};
use crate::dtype::PyDtype;

type Arr = PyResult<Py<PyArray>>;
type Any<'py> = Bound<'py, PyAny>;

fn dtype_arg(o: &Any<'_>) -> PyResult<Dtype> {
    if let Ok(a) = o.cast::<PyArray>() {
        return Ok(a.borrow().inner.dtype());
    }
    to_dtype(Some(o))?.ok_or_else(|| PyTypeError::new_err("Expected a Dtype."))
}

/// `mx.finfo(dtype)`: the limits of a floating dtype.
#[pyclass(name = "finfo", module = "mlx.core", frozen)]
pub struct Finfo {
    #[pyo3(get)]
    min: f64,
    #[pyo3(get)]
    max: f64,
    #[pyo3(get)]
    eps: f64,
    #[pyo3(get)]
    bits: usize,
    #[pyo3(get)]
    smallest_normal: f64,
    #[pyo3(get)]
    dtype: PyDtype,
}

#[pymethods]
impl Finfo {
    #[new]
    fn py_new(dtype: &Any<'_>) -> PyResult<Self> {
        let f = mx::finfo(dtype_arg(dtype)?).py()?;
        Ok(Finfo {
            min: f.min,
            max: f.max,
            eps: f.eps,
            bits: f.bits,
            smallest_normal: f.smallest_normal,
            dtype: PyDtype(f.dtype),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "finfo(min={:e}, max={:e}, dtype={})",
            self.min, self.max, self.dtype.0
        )
    }
}

/// `mx.iinfo(dtype)`: the range of an integer dtype.
#[pyclass(name = "iinfo", module = "mlx.core", frozen)]
pub struct Iinfo {
    #[pyo3(get)]
    min: i128,
    #[pyo3(get)]
    max: i128,
    #[pyo3(get)]
    dtype: PyDtype,
}

#[pymethods]
impl Iinfo {
    #[new]
    fn py_new(dtype: &Any<'_>) -> PyResult<Self> {
        let i = mx::iinfo(dtype_arg(dtype)?).py()?;
        Ok(Iinfo {
            min: i.min,
            max: i.max,
            dtype: PyDtype(i.dtype),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "iinfo(min={}, max={}, dtype={})",
            self.min, self.max, self.dtype.0
        )
    }
}

/// `mx.result_type(*arrays_and_dtypes)`.
#[pyfunction]
#[pyo3(signature = (*args))]
fn result_type(args: &Bound<'_, PyTuple>) -> PyResult<Py<PyDtype>> {
    if args.is_empty() {
        return Err(PyValueError::new_err(
            "[result_type] At least one array or dtype is required.",
        ));
    }
    let mut arrays = Vec::new();
    let mut dtypes = Vec::new();
    for a in args.iter() {
        if let Ok(d) = a.cast::<PyDtype>() {
            dtypes.push(d.get().0);
        } else if a.cast::<PyArray>().is_ok() {
            arrays.push(to_array(&a)?);
        } else {
            return Err(PyValueError::new_err(
                "[result_type] Inputs must be arrays or dtypes.",
            ));
        }
    }
    let mut inputs: Vec<DtypeOrArray<'_>> = dtypes.iter().map(|&d| DtypeOrArray::from(d)).collect();
    inputs.extend(arrays.iter().map(DtypeOrArray::from));
    crate::dtype::dtype_object(args.py(), mx::result_type(&inputs))
}

/// `mx.broadcast_shapes(*shapes)`.
#[pyfunction]
#[pyo3(signature = (*shapes))]
fn broadcast_shapes<'py>(
    py: Python<'py>,
    shapes: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyTuple>> {
    if shapes.is_empty() {
        return Err(PyValueError::new_err(
            "[broadcast_shapes] Need at least one shape.",
        ));
    }
    let v: Vec<Vec<usize>> = shapes
        .iter()
        .map(|s| s.extract::<Vec<usize>>())
        .collect::<PyResult<_>>()?;
    let refs: Vec<&[usize]> = v.iter().map(|s| s.as_slice()).collect();
    PyTuple::new(py, mx::broadcast_shapes(&refs).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, /, v, *, side="left", stream=None))]
fn searchsorted(
    py: Python<'_>,
    a: &Any<'_>,
    v: &Any<'_>,
    side: &str,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::searchsorted_side(&to_array(a)?, &to_array(v)?, side).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (a, /, n=1, axis=-1, *, stream=None))]
fn diff(py: Python<'_>, a: &Any<'_>, n: usize, axis: isize, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::diff(&to_array(a)?, n, axis).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, b, /, axis=-1, *, stream=None))]
fn vecdot(py: Python<'_>, a: &Any<'_>, b: &Any<'_>, axis: isize, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::vecdot_axis(&to_array(a)?, &to_array(b)?, axis).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (a, /, shift, axis=None, *, stream=None))]
fn roll(
    py: Python<'_>,
    a: &Any<'_>,
    shift: &Any<'_>,
    axis: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let shift: mx::ops::RollShift = if shift.is_instance_of::<PyInt>() {
        shift.extract::<isize>()?.into()
    } else {
        shift.extract::<Vec<isize>>()?.as_slice().into()
    };
    let out = match to_axes(axis)? {
        Some(ax) => mx::roll_axes(&a, shift, ax),
        None => mx::roll(&a, shift),
    };
    wrap(py, out.py()?)
}

#[pyfunction]
#[pyo3(signature = (a, /, axis=None, *, stream=None))]
fn flip(py: Python<'_>, a: &Any<'_>, axis: Option<&Any<'_>>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let out = match to_axes(axis)? {
        Some(ax) => mx::flip_axes(&a, ax),
        None => mx::flip(&a),
    };
    wrap(py, out.py()?)
}

#[pyfunction]
#[pyo3(signature = (a, nan=0.0, posinf=None, neginf=None, *, stream=None))]
fn nan_to_num(
    py: Python<'_>,
    a: &Any<'_>,
    nan: f32,
    posinf: Option<f32>,
    neginf: Option<f32>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::nan_to_num_with(to_operand(a, None)?, nan, posinf, neginf).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (a, /, shape=None, strides=None, offset=0, *, stream=None))]
fn as_strided(
    py: Python<'_>,
    a: &Any<'_>,
    shape: Option<&Any<'_>>,
    strides: Option<Vec<isize>>,
    offset: usize,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let shape = match shape {
        Some(s) if !s.is_none() => to_shape(s)?,
        _ => a.shape().iter().map(|&d| d as isize).collect(),
    };
    let strides = match strides {
        Some(s) => s,
        None => {
            mx::array::row_major_strides(&shape.iter().map(|&d| d as usize).collect::<Vec<_>>())
        }
    };
    wrap(py, mx::as_strided(&a, shape, &strides, offset).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, /, start_indices, axes, slice_size, *, stream=None))]
fn slice(
    py: Python<'_>,
    a: &Any<'_>,
    start_indices: &Any<'_>,
    axes: Vec<isize>,
    slice_size: Vec<usize>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::slice_dynamic(&to_array(a)?, &to_array(start_indices)?, axes, slice_size).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (a, /, update, start_indices, axes, *, stream=None))]
fn slice_update(
    py: Python<'_>,
    a: &Any<'_>,
    update: &Any<'_>,
    start_indices: &Any<'_>,
    axes: Vec<isize>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let u = to_operand(update, Some(a.dtype()))?;
    wrap(
        py,
        mx::slice_update_dynamic(&a, u, &to_array(start_indices)?, axes).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (a, /, axis=0, *, stream=None))]
fn unstack(
    py: Python<'_>,
    a: &Any<'_>,
    axis: isize,
    stream: Option<&Any<'_>>,
) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    crate::convert::wrap_tuple(py, mx::unstack(&to_array(a)?, axis).py()?)
}

macro_rules! windows {
    ($($name:ident),*) => {$(
        #[pyfunction]
        #[pyo3(signature = (m, *, stream=None))]
        fn $name(py: Python<'_>, m: i64, stream: Option<&Any<'_>>) -> Arr {
            let _ = stream;
            wrap(py, mx::$name(m).py()?)
        }
    )*};
}

windows!(hanning, hamming, bartlett, blackman);

#[pyfunction]
#[pyo3(signature = (a, /, dtype=None, *, stream=None))]
fn empty_like(
    py: Python<'_>,
    a: &Any<'_>,
    dtype: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    // rmlx's empty arrays are zeros.
    wrap(py, mx::full_like(&to_array(a)?, 0, to_dtype(dtype)?).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, /, *, stream=None))]
fn contiguous(py: Python<'_>, a: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::contiguous(&to_array(a)?).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, b, /, *, stream=None))]
fn logical_xor(py: Python<'_>, a: &Any<'_>, b: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::logical_xor(to_operand(a, None)?, to_operand(b, None)?).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (a, /, *, stream=None))]
fn trunc(py: Python<'_>, a: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::trunc(to_operand(a, None)?).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, v, /, mode="full", *, stream=None))]
fn convolve(py: Python<'_>, a: &Any<'_>, v: &Any<'_>, mode: &str, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    let mode = mx::ops::ConvolveMode::from_name(mode).py()?;
    wrap(py, mx::convolve(&to_array(a)?, &to_array(v)?, mode).py()?)
}

#[pyfunction]
#[pyo3(signature = (subscripts, *operands))]
fn einsum_path(
    py: Python<'_>,
    subscripts: &str,
    operands: &Bound<'_, PyTuple>,
) -> PyResult<Py<PyTuple>> {
    let (path, text) = mx::einsum_path(subscripts, &to_arrays(operands.as_any())?).py()?;
    let path: Vec<Py<PyTuple>> = path
        .into_iter()
        .map(|p| PyTuple::new(py, p).map(|t| t.unbind()))
        .collect::<PyResult<_>>()?;
    Ok(PyTuple::new(
        py,
        [
            PyList::new(py, path)?.into_any(),
            text.into_pyobject(py)?.into_any(),
        ],
    )?
    .unbind())
}

fn dtype_kind(o: &Any<'_>) -> PyResult<mx::DtypeKind> {
    if let Ok(d) = o.cast::<PyDtype>() {
        return Ok(mx::DtypeKind::Dtype(d.get().0));
    }
    mx::DtypeKind::from_name(&o.extract::<String>()?).py()
}

/// `mx.isdtype(dtype, kind)`: `kind` is a dtype, a kind name (`"real floating"`...) or a tuple
/// of them.
#[pyfunction]
fn isdtype(dtype: PyDtype, kind: &Any<'_>) -> PyResult<bool> {
    let kinds: Vec<mx::DtypeKind> = if let Ok(t) = kind.cast::<PyTuple>() {
        t.iter().map(|k| dtype_kind(&k)).collect::<PyResult<_>>()?
    } else {
        vec![dtype_kind(kind)?]
    };
    Ok(mx::isdtype(dtype.0, &kinds))
}

/// The print precision (`-1`: MLX's default); `mx.set_printoptions` / `mx.printoptions` are in
/// Python over these two.
#[pyfunction]
fn _get_print_precision() -> i32 {
    mx::get_printoptions().precision
}

#[pyfunction]
fn _set_print_precision(precision: i32) {
    mx::set_printoptions(mx::PrintOptions { precision })
}

/// `mx.depends(inputs, dependencies)`: `inputs` that also wait for `dependencies`.
#[pyfunction]
fn depends(py: Python<'_>, inputs: &Any<'_>, dependencies: &Any<'_>) -> PyResult<Py<PyAny>> {
    let single = inputs.cast::<PyArray>().is_ok();
    let ins = if single {
        vec![to_array(inputs)?]
    } else {
        to_arrays(inputs)?
    };
    let deps = if dependencies.cast::<PyArray>().is_ok() {
        vec![to_array(dependencies)?]
    } else {
        to_arrays(dependencies)?
    };
    let out = mx::depends(&ins, &deps).py()?;
    if single {
        Ok(wrap(py, out.into_iter().next().expect("one output"))?.into_any())
    } else {
        Ok(wrap_list(py, out)?.into_any())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Finfo>()?;
    m.add_class::<Iinfo>()?;
    m.add("nan", f64::NAN)?;
    m.add("inf", f64::INFINITY)?;
    m.add("pi", std::f64::consts::PI)?;
    m.add("e", std::f64::consts::E)?;
    m.add("euler_gamma", 0.577_215_664_901_532_9_f64)?;
    m.add("newaxis", m.py().None())?;
    for f in [
        wrap_pyfunction!(result_type, m)?,
        wrap_pyfunction!(broadcast_shapes, m)?,
        wrap_pyfunction!(searchsorted, m)?,
        wrap_pyfunction!(diff, m)?,
        wrap_pyfunction!(vecdot, m)?,
        wrap_pyfunction!(roll, m)?,
        wrap_pyfunction!(flip, m)?,
        wrap_pyfunction!(nan_to_num, m)?,
        wrap_pyfunction!(as_strided, m)?,
        wrap_pyfunction!(slice, m)?,
        wrap_pyfunction!(slice_update, m)?,
        wrap_pyfunction!(unstack, m)?,
        wrap_pyfunction!(hanning, m)?,
        wrap_pyfunction!(hamming, m)?,
        wrap_pyfunction!(bartlett, m)?,
        wrap_pyfunction!(blackman, m)?,
        wrap_pyfunction!(empty_like, m)?,
        wrap_pyfunction!(contiguous, m)?,
        wrap_pyfunction!(logical_xor, m)?,
        wrap_pyfunction!(trunc, m)?,
        wrap_pyfunction!(convolve, m)?,
        wrap_pyfunction!(einsum_path, m)?,
        wrap_pyfunction!(isdtype, m)?,
        wrap_pyfunction!(_get_print_precision, m)?,
        wrap_pyfunction!(_set_print_precision, m)?,
        wrap_pyfunction!(depends, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
