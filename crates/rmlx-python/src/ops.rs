//! The `mx.*` op functions, with MLX's argument names and defaults. Every function also takes
//! MLX's keyword-only `stream` argument; rmlx runs everything on the CPU stream, so it is
//! accepted and ignored.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList, PyTuple};
use rmlx_core::ops::{CloseOptions, ScalarArg, ScanOptions};
use rmlx_core::{self as mx, Array, Dtype, Scalar};

use crate::array::PyArray;
use crate::convert::{
    py_scalar, to_array, to_arrays, to_axes, to_dtype, to_operand, to_operands, to_shape, wrap,
    wrap_list, wrap_pair, wrap_tuple, PyResultExt,
};

type Arr = PyResult<Py<PyArray>>;
type Any<'py> = Bound<'py, PyAny>;

macro_rules! unary_ops {
    ($($name:ident),* $(,)?) => {
        $(
            #[pyfunction]
            #[pyo3(signature = (a, /, *, stream=None))]
            fn $name(py: Python<'_>, a: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
                let _ = stream;
                wrap(py, mx::$name(to_operand(a, None)?).py()?)
            }
        )*
        fn register_unary(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!($name, m)?)?; )*
            Ok(())
        }
    };
}

unary_ops!(
    abs,
    sign,
    negative,
    square,
    sqrt,
    rsqrt,
    reciprocal,
    exp,
    expm1,
    log,
    log2,
    log10,
    log1p,
    sin,
    cos,
    tan,
    arcsin,
    arccos,
    arctan,
    sinh,
    cosh,
    tanh,
    arcsinh,
    arccosh,
    arctanh,
    floor,
    ceil,
    sigmoid,
    erf,
    erfinv,
    isnan,
    isinf,
    isfinite,
    isposinf,
    isneginf,
    logical_not,
    bitwise_invert,
    real,
    imag,
    conjugate,
    conj,
    degrees,
    radians,
    stop_gradient,
);

macro_rules! binary_ops {
    ($($name:ident),* $(,)?) => {
        $(
            #[pyfunction]
            #[pyo3(signature = (a, b, /, *, stream=None))]
            fn $name(py: Python<'_>, a: &Any<'_>, b: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
                let _ = stream;
                let (x, y) = to_operands(a, b)?;
                wrap(py, mx::$name(x, y).py()?)
            }
        )*
        fn register_binary(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!($name, m)?)?; )*
            Ok(())
        }
    };
}

binary_ops!(
    add,
    subtract,
    multiply,
    divide,
    floor_divide,
    remainder,
    power,
    maximum,
    minimum,
    arctan2,
    logaddexp,
    equal,
    not_equal,
    greater,
    greater_equal,
    less,
    less_equal,
    logical_and,
    logical_or,
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    left_shift,
    right_shift,
);

/// `mx.divmod(a, b)`.
#[pyfunction]
#[pyo3(signature = (a, b, /, *, stream=None))]
fn divmod(
    py: Python<'_>,
    a: &Any<'_>,
    b: &Any<'_>,
    stream: Option<&Any<'_>>,
) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    let (x, y) = to_operands(a, b)?;
    wrap_pair(py, mx::divmod(x, y).py()?)
}

/// `mx.round(a, decimals=0)`.
#[pyfunction]
#[pyo3(signature = (a, /, decimals=0, *, stream=None))]
fn round(py: Python<'_>, a: &Any<'_>, decimals: i32, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::round_decimals(to_operand(a, None)?, decimals).py()?)
}

/// The axes a reduction with `axis=None` covers: all of them.
fn all_axes(a: &Array) -> Vec<isize> {
    (0..a.ndim() as isize).collect()
}

macro_rules! reduce_ops {
    ($(($name:ident, $axes_fn:ident)),* $(,)?) => {
        $(
            #[pyfunction]
            #[pyo3(signature = (a, /, axis=None, keepdims=false, *, stream=None))]
            fn $name(
                py: Python<'_>,
                a: &Any<'_>,
                axis: Option<&Any<'_>>,
                keepdims: bool,
                stream: Option<&Any<'_>>,
            ) -> Arr {
                let _ = stream;
                let a = to_array(a)?;
                let axes = to_axes(axis)?.unwrap_or_else(|| all_axes(&a));
                wrap(py, mx::$axes_fn(&a, axes, keepdims).py()?)
            }
        )*
        fn register_reduce(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!($name, m)?)?; )*
            Ok(())
        }
    };
}

reduce_ops!(
    (sum, sum_axes),
    (prod, prod_axes),
    (max, max_axes),
    (min, min_axes),
    (all, all_axes),
    (any, any_axes),
    (mean, mean_axes),
    (logsumexp, logsumexp_axes),
    (median, median_axes),
    (count_nonzero, count_nonzero_axes),
);

/// `mx.var(a, axis=None, keepdims=False, ddof=0)`.
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, keepdims=false, ddof=0, *, stream=None))]
fn var(
    py: Python<'_>,
    a: &Any<'_>,
    axis: Option<&Any<'_>>,
    keepdims: bool,
    ddof: i64,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let axes = to_axes(axis)?.unwrap_or_else(|| all_axes(&a));
    wrap(py, mx::var_axes(&a, axes, keepdims, ddof).py()?)
}

/// `mx.std(a, axis=None, keepdims=False, ddof=0)`.
#[pyfunction]
#[pyo3(name = "std", signature = (a, /, axis=None, keepdims=false, ddof=0, *, stream=None))]
fn std_(
    py: Python<'_>,
    a: &Any<'_>,
    axis: Option<&Any<'_>>,
    keepdims: bool,
    ddof: i64,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let axes = to_axes(axis)?.unwrap_or_else(|| all_axes(&a));
    wrap(py, mx::std_axes(&a, axes, keepdims, ddof).py()?)
}

/// `mx.argmax(a, axis=None, keepdims=False)`.
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, keepdims=false, *, stream=None))]
fn argmax(
    py: Python<'_>,
    a: &Any<'_>,
    axis: Option<isize>,
    keepdims: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::argmax_opts(to_array(a)?, axis, keepdims).py()?)
}

/// `mx.argmin(a, axis=None, keepdims=False)`.
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, keepdims=false, *, stream=None))]
fn argmin(
    py: Python<'_>,
    a: &Any<'_>,
    axis: Option<isize>,
    keepdims: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::argmin_opts(to_array(a)?, axis, keepdims).py()?)
}

/// `mx.softmax(a, axis=None, *, precise=False)`.
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, *, precise=false, stream=None))]
fn softmax(
    py: Python<'_>,
    a: &Any<'_>,
    axis: Option<&Any<'_>>,
    precise: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let axes = to_axes(axis)?;
    wrap(
        py,
        mx::softmax_opts(to_array(a)?, axes.as_deref(), precise).py()?,
    )
}

macro_rules! scan_ops {
    ($(($name:ident, $with:ident)),* $(,)?) => {
        $(
            #[pyfunction]
            #[pyo3(signature = (a, /, axis=None, *, reverse=false, inclusive=true, stream=None))]
            fn $name(
                py: Python<'_>,
                a: &Any<'_>,
                axis: Option<isize>,
                reverse: bool,
                inclusive: bool,
                stream: Option<&Any<'_>>,
            ) -> Arr {
                let _ = stream;
                let opts = ScanOptions { reverse, inclusive };
                wrap(py, mx::$with(to_array(a)?, axis, opts).py()?)
            }
        )*
        fn register_scan(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!($name, m)?)?; )*
            Ok(())
        }
    };
}

scan_ops!(
    (cumsum, cumsum_with),
    (cumprod, cumprod_with),
    (cummax, cummax_with),
    (cummin, cummin_with),
    (logcumsumexp, logcumsumexp_with),
);

// ---------------------------------------------------------------------------------------------
// Creation

fn dtype_or(dtype: Option<&Any<'_>>, default: Dtype) -> PyResult<Dtype> {
    Ok(to_dtype(dtype)?.unwrap_or(default))
}

/// `mx.zeros(shape, dtype=float32)`.
#[pyfunction]
#[pyo3(signature = (shape, dtype=None, *, stream=None))]
fn zeros(
    py: Python<'_>,
    shape: &Any<'_>,
    dtype: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::zeros(to_shape(shape)?, dtype_or(dtype, Dtype::Float32)?).py()?,
    )
}

/// `mx.ones(shape, dtype=float32)`.
#[pyfunction]
#[pyo3(signature = (shape, dtype=None, *, stream=None))]
fn ones(py: Python<'_>, shape: &Any<'_>, dtype: Option<&Any<'_>>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::ones(to_shape(shape)?, dtype_or(dtype, Dtype::Float32)?).py()?,
    )
}

/// `mx.full(shape, vals, dtype=None)`.
#[pyfunction]
#[pyo3(signature = (shape, vals, dtype=None, *, stream=None))]
fn full(
    py: Python<'_>,
    shape: &Any<'_>,
    vals: &Any<'_>,
    dtype: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let v = to_operand(vals, None)?;
    wrap(py, mx::full(to_shape(shape)?, v, to_dtype(dtype)?).py()?)
}

/// `mx.zeros_like(a, dtype=None)`.
#[pyfunction]
#[pyo3(signature = (a, /, dtype=None, *, stream=None))]
fn zeros_like(
    py: Python<'_>,
    a: &Any<'_>,
    dtype: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::full_like(&to_array(a)?, 0, to_dtype(dtype)?).py()?)
}

/// `mx.ones_like(a, dtype=None)`.
#[pyfunction]
#[pyo3(signature = (a, /, dtype=None, *, stream=None))]
fn ones_like(
    py: Python<'_>,
    a: &Any<'_>,
    dtype: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::full_like(&to_array(a)?, 1, to_dtype(dtype)?).py()?)
}

/// `mx.full_like(a, vals, dtype=None)`.
#[pyfunction]
#[pyo3(signature = (a, vals, dtype=None, *, stream=None))]
fn full_like(
    py: Python<'_>,
    a: &Any<'_>,
    vals: &Any<'_>,
    dtype: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let v = to_operand(vals, None)?;
    wrap(py, mx::full_like(&to_array(a)?, v, to_dtype(dtype)?).py()?)
}

fn scalar_arg(o: &Any<'_>, name: &str) -> PyResult<Scalar> {
    py_scalar(o)?.ok_or_else(|| PyTypeError::new_err(format!("{name} must be a Python number.")))
}

fn scalar_f64(s: Scalar) -> f64 {
    match s {
        Scalar::Bool(b) => b as u8 as f64,
        Scalar::Int(v) => v as f64,
        Scalar::Float(v) => v,
        Scalar::Complex(c) => c.re as f64,
    }
}

/// `mx.arange(stop)` / `mx.arange(start, stop, step=None, dtype=None)`.
#[pyfunction]
#[pyo3(signature = (*args, start=None, stop=None, step=None, dtype=None, stream=None))]
fn arange<'py>(
    py: Python<'py>,
    args: &Bound<'py, PyTuple>,
    start: Option<Bound<'py, PyAny>>,
    stop: Option<Bound<'py, PyAny>>,
    step: Option<Bound<'py, PyAny>>,
    dtype: Option<Bound<'py, PyAny>>,
    stream: Option<Bound<'py, PyAny>>,
) -> Arr {
    let _ = stream;
    // MLX's two overloads: arange(start, stop, step=None, dtype=None) and
    // arange(stop, step=None, dtype=None). Positional arguments fill start, stop, step, dtype
    // in order; a keyword `start` without a stop matches neither overload.
    if start.is_some() && stop.is_none() && args.len() < 2 {
        return Err(PyTypeError::new_err(
            "arange(): incompatible function arguments: a start needs a stop.",
        ));
    }
    if args.len() > 4 {
        return Err(PyTypeError::new_err(format!(
            "arange() takes at most 4 positional arguments but {} were given",
            args.len()
        )));
    }
    let mut slots = [start, stop, step, dtype];
    let names = ["start", "stop", "step", "dtype"];
    for (i, a) in args.iter().enumerate() {
        if slots[i].is_some() {
            return Err(PyTypeError::new_err(format!(
                "arange() got multiple values for argument '{}'",
                names[i]
            )));
        }
        slots[i] = Some(a);
    }
    let [start, stop, step, dtype] = slots;
    let (start, stop, step, dtype) = (start.as_ref(), stop.as_ref(), step.as_ref(), dtype.as_ref());
    let given = |o: Option<&Any<'_>>, name: &str| -> PyResult<Option<Scalar>> {
        match o.filter(|o| !o.is_none()) {
            Some(o) => Ok(Some(scalar_arg(o, name)?)),
            None => Ok(None),
        }
    };
    let (start, stop) = match (given(start, "start")?, given(stop, "stop")?) {
        (Some(a), Some(b)) => (a, b),
        (Some(b), None) | (None, Some(b)) => (Scalar::Int(0), b),
        (None, None) => {
            return Err(PyTypeError::new_err(
                "arange() missing required argument 'stop'",
            ));
        }
    };
    let step = given(step, "step")?.unwrap_or(Scalar::Int(1));
    let out = match to_dtype(dtype)? {
        Some(d) => mx::arange_dtype(scalar_f64(start), scalar_f64(stop), scalar_f64(step), d),
        None => mx::arange(ScalarArg(start), ScalarArg(stop), ScalarArg(step)),
    };
    wrap(py, out.py()?)
}

/// `mx.linspace(start, stop, num=50, dtype=float32)`.
#[pyfunction]
#[pyo3(signature = (start, stop, num=50, endpoint=true, dtype=None, *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn linspace(
    py: Python<'_>,
    start: &Any<'_>,
    stop: &Any<'_>,
    num: i64,
    endpoint: bool,
    dtype: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let num = usize::try_from(num).map_err(|_| {
        PyValueError::new_err(format!(
            "[linspace] number of samples, {num}, must be non-negative."
        ))
    })?;
    let (a, b) = (scalar_arg(start, "start")?, scalar_arg(stop, "stop")?);
    let d = dtype_or(dtype, Dtype::Float32)?;
    wrap(
        py,
        mx::linspace_with(ScalarArg(a), ScalarArg(b), num, endpoint, d).py()?,
    )
}

/// `mx.eye(n, m=None, k=0, dtype=float32)`.
#[pyfunction]
#[pyo3(signature = (n, m=None, k=0, dtype=None, *, stream=None))]
fn eye(
    py: Python<'_>,
    n: usize,
    m: Option<usize>,
    k: isize,
    dtype: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::eye(n, m, k, dtype_or(dtype, Dtype::Float32)?).py()?)
}

/// `mx.identity(n, dtype=float32)`.
#[pyfunction]
#[pyo3(signature = (n, dtype=None, *, stream=None))]
fn identity(py: Python<'_>, n: usize, dtype: Option<&Any<'_>>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::identity(n, dtype_or(dtype, Dtype::Float32)?).py()?)
}

/// `mx.tri(n, m=None, k=0, dtype=float32)`.
#[pyfunction]
#[pyo3(signature = (n, m=None, k=0, dtype=None, *, stream=None))]
fn tri(
    py: Python<'_>,
    n: usize,
    m: Option<usize>,
    k: isize,
    dtype: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::tri(n, m, k, dtype_or(dtype, Dtype::Float32)?).py()?)
}

/// `mx.tril(x, k=0)`.
#[pyfunction]
#[pyo3(signature = (x, k=0, *, stream=None))]
fn tril(py: Python<'_>, x: &Any<'_>, k: isize, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::tril(&to_array(x)?, k).py()?)
}

/// `mx.triu(x, k=0)`.
#[pyfunction]
#[pyo3(signature = (x, k=0, *, stream=None))]
fn triu(py: Python<'_>, x: &Any<'_>, k: isize, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::triu(&to_array(x)?, k).py()?)
}

// ---------------------------------------------------------------------------------------------
// Shapes

/// `mx.reshape(a, shape)`.
#[pyfunction]
#[pyo3(signature = (a, /, shape, *, stream=None))]
fn reshape(py: Python<'_>, a: &Any<'_>, shape: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::reshape(&to_array(a)?, to_shape(shape)?).py()?)
}

/// `mx.transpose(a, axes=None)`.
#[pyfunction]
#[pyo3(signature = (a, /, axes=None, *, stream=None))]
fn transpose(py: Python<'_>, a: &Any<'_>, axes: Option<&Any<'_>>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::transpose(&to_array(a)?, to_axes(axes)?).py()?)
}

/// `mx.permute_dims(a, axes=None)`.
#[pyfunction]
#[pyo3(signature = (a, /, axes=None, *, stream=None))]
fn permute_dims(
    py: Python<'_>,
    a: &Any<'_>,
    axes: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    transpose(py, a, axes, stream)
}

/// `mx.squeeze(a, axis=None)`.
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, *, stream=None))]
fn squeeze(py: Python<'_>, a: &Any<'_>, axis: Option<&Any<'_>>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::squeeze(&to_array(a)?, to_axes(axis)?).py()?)
}

/// `mx.expand_dims(a, axis)`.
#[pyfunction]
#[pyo3(signature = (a, /, axis, *, stream=None))]
fn expand_dims(py: Python<'_>, a: &Any<'_>, axis: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    let axes = to_axes(Some(axis))?.unwrap_or_default();
    wrap(py, mx::expand_dims(&to_array(a)?, axes).py()?)
}

/// `mx.flatten(a, start_axis=0, end_axis=-1)`.
#[pyfunction]
#[pyo3(signature = (a, /, start_axis=0, end_axis=-1, *, stream=None))]
fn flatten(
    py: Python<'_>,
    a: &Any<'_>,
    start_axis: isize,
    end_axis: isize,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::flatten(&to_array(a)?, start_axis, end_axis).py()?)
}

/// `mx.unflatten(a, axis, shape)`.
#[pyfunction]
#[pyo3(signature = (a, /, axis, shape, *, stream=None))]
fn unflatten(
    py: Python<'_>,
    a: &Any<'_>,
    axis: isize,
    shape: &Any<'_>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::unflatten(&to_array(a)?, axis, to_shape(shape)?).py()?,
    )
}

/// `mx.swapaxes(a, axis1, axis2)`.
#[pyfunction]
#[pyo3(signature = (a, /, axis1, axis2, *, stream=None))]
fn swapaxes(
    py: Python<'_>,
    a: &Any<'_>,
    axis1: isize,
    axis2: isize,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::swapaxes(&to_array(a)?, axis1, axis2).py()?)
}

/// `mx.moveaxis(a, source, destination)`.
#[pyfunction]
#[pyo3(signature = (a, /, source, destination, *, stream=None))]
fn moveaxis(
    py: Python<'_>,
    a: &Any<'_>,
    source: isize,
    destination: isize,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::moveaxis(&to_array(a)?, source, destination).py()?)
}

/// `mx.broadcast_to(a, shape)`.
#[pyfunction]
#[pyo3(signature = (a, /, shape, *, stream=None))]
fn broadcast_to(py: Python<'_>, a: &Any<'_>, shape: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::broadcast_to(to_operand(a, None)?, to_shape(shape)?).py()?,
    )
}

/// `mx.broadcast_arrays(*arrays)`.
#[pyfunction]
#[pyo3(signature = (*arrays, stream=None))]
fn broadcast_arrays(
    py: Python<'_>,
    arrays: &Bound<'_, PyTuple>,
    stream: Option<&Any<'_>>,
) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    let v = to_arrays(arrays.as_any())?;
    let out = mx::broadcast_arrays(&v).py()?;
    let items: Vec<Py<PyArray>> = out
        .into_iter()
        .map(|a| wrap(py, a))
        .collect::<PyResult<_>>()?;
    Ok(PyTuple::new(py, items)?.unbind())
}

/// `mx.concatenate(arrays, axis=0)`; `axis=None` flattens first.
#[pyfunction]
#[pyo3(signature = (arrays, axis=Some(0), *, stream=None))]
fn concatenate(
    py: Python<'_>,
    arrays: &Any<'_>,
    axis: Option<isize>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let v = to_arrays(arrays)?;
    let out = match axis {
        Some(ax) => mx::concatenate(&v, ax),
        None => mx::concatenate_flat(&v),
    };
    wrap(py, out.py()?)
}

/// `mx.concat`: the same as `concatenate`.
#[pyfunction]
#[pyo3(signature = (arrays, axis=Some(0), *, stream=None))]
fn concat(py: Python<'_>, arrays: &Any<'_>, axis: Option<isize>, stream: Option<&Any<'_>>) -> Arr {
    concatenate(py, arrays, axis, stream)
}

/// `mx.stack(arrays, axis=0)`.
#[pyfunction]
#[pyo3(signature = (arrays, axis=0, *, stream=None))]
fn stack(py: Python<'_>, arrays: &Any<'_>, axis: isize, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::stack(&to_arrays(arrays)?, axis).py()?)
}

/// `mx.split(a, indices_or_sections, axis=0)`.
#[pyfunction]
#[pyo3(signature = (a, /, indices_or_sections, axis=0, *, stream=None))]
fn split(
    py: Python<'_>,
    a: &Any<'_>,
    indices_or_sections: &Any<'_>,
    axis: isize,
    stream: Option<&Any<'_>>,
) -> PyResult<Py<PyList>> {
    let _ = stream;
    let a = to_array(a)?;
    let out = if indices_or_sections.is_instance_of::<PyInt>() {
        let n: i64 = indices_or_sections.extract()?;
        let n = usize::try_from(n).ok().filter(|&n| n > 0).ok_or_else(|| {
            PyValueError::new_err(format!(
                "[split] num_splits must be positive and non-zero but got {n}."
            ))
        })?;
        mx::split(&a, n, axis)
    } else {
        let idx: Vec<isize> = indices_or_sections.extract()?;
        mx::split(&a, idx, axis)
    };
    wrap_list(py, out.py()?)
}

/// `mx.where(condition, x, y)`.
#[pyfunction]
#[pyo3(name = "where", signature = (condition, x, y, /, *, stream=None))]
fn where_(
    py: Python<'_>,
    condition: &Any<'_>,
    x: &Any<'_>,
    y: &Any<'_>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let (xo, yo) = to_operands(x, y)?;
    wrap(py, mx::where_(to_operand(condition, None)?, xo, yo).py()?)
}

/// `mx.clip(a, a_min, a_max)`.
#[pyfunction]
#[pyo3(signature = (a, /, a_min, a_max, *, stream=None))]
fn clip(
    py: Python<'_>,
    a: &Any<'_>,
    a_min: Option<&Any<'_>>,
    a_max: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let lo = match a_min.filter(|o| !o.is_none()) {
        Some(o) => Some(to_operand(o, None)?),
        None => None,
    };
    let hi = match a_max.filter(|o| !o.is_none()) {
        Some(o) => Some(to_operand(o, None)?),
        None => None,
    };
    wrap(py, mx::clip(to_operand(a, None)?, lo, hi).py()?)
}

/// `mx.matmul(a, b)`.
#[pyfunction]
#[pyo3(signature = (a, b, /, *, stream=None))]
fn matmul(py: Python<'_>, a: &Any<'_>, b: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::matmul(&to_array(a)?, &to_array(b)?).py()?)
}

/// `mx.addmm(c, a, b, alpha=1.0, beta=1.0)`.
#[pyfunction]
#[pyo3(signature = (c, a, b, /, alpha=1.0, beta=1.0, *, stream=None))]
fn addmm(
    py: Python<'_>,
    c: &Any<'_>,
    a: &Any<'_>,
    b: &Any<'_>,
    alpha: f32,
    beta: f32,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::addmm(&to_array(c)?, &to_array(a)?, &to_array(b)?, alpha, beta).py()?,
    )
}

macro_rules! pair_ops {
    ($($name:ident),* $(,)?) => {
        $(
            #[pyfunction]
            #[pyo3(signature = (a, b, /, *, stream=None))]
            fn $name(py: Python<'_>, a: &Any<'_>, b: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
                let _ = stream;
                wrap(py, mx::$name(&to_array(a)?, &to_array(b)?).py()?)
            }
        )*
        fn register_pair(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!($name, m)?)?; )*
            Ok(())
        }
    };
}

pair_ops!(inner, outer, kron);

/// `mx.sort(a, axis=-1)`; `axis=None` sorts the flattened array.
#[pyfunction]
#[pyo3(signature = (a, /, axis=Some(-1), *, stream=None))]
fn sort(py: Python<'_>, a: &Any<'_>, axis: Option<isize>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    wrap(py, mx::sort_axis(&a, axis).py()?)
}

/// `mx.argsort(a, axis=-1)`.
#[pyfunction]
#[pyo3(signature = (a, /, axis=Some(-1), *, stream=None))]
fn argsort(py: Python<'_>, a: &Any<'_>, axis: Option<isize>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::argsort_axis(&to_array(a)?, axis).py()?)
}

/// `mx.topk(a, k, axis=-1)`.
#[pyfunction]
#[pyo3(signature = (a, /, k, axis=Some(-1), *, stream=None))]
fn topk(
    py: Python<'_>,
    a: &Any<'_>,
    k: isize,
    axis: Option<isize>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::topk_axis(&to_array(a)?, k, axis).py()?)
}

/// `mx.partition(a, kth, axis=-1)`.
#[pyfunction]
#[pyo3(signature = (a, /, kth, axis=Some(-1), *, stream=None))]
fn partition(
    py: Python<'_>,
    a: &Any<'_>,
    kth: isize,
    axis: Option<isize>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::partition_axis(&to_array(a)?, kth, axis).py()?)
}

/// `mx.argpartition(a, kth, axis=-1)`.
#[pyfunction]
#[pyo3(signature = (a, /, kth, axis=Some(-1), *, stream=None))]
fn argpartition(
    py: Python<'_>,
    a: &Any<'_>,
    kth: isize,
    axis: Option<isize>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::argpartition_axis(&to_array(a)?, kth, axis).py()?)
}

/// `mx.take(a, indices, axis=None)`.
#[pyfunction]
#[pyo3(signature = (a, /, indices, axis=None, *, stream=None))]
fn take(
    py: Python<'_>,
    a: &Any<'_>,
    indices: &Any<'_>,
    axis: Option<isize>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let out = if indices.is_instance_of::<PyInt>() {
        mx::take(&a, indices.extract::<isize>()?, axis)
    } else {
        mx::take(&a, &to_array(indices)?, axis)
    };
    wrap(py, out.py()?)
}

/// `mx.take_along_axis(a, indices, axis=None)`.
#[pyfunction]
#[pyo3(signature = (a, /, indices, axis=None, *, stream=None))]
fn take_along_axis(
    py: Python<'_>,
    a: &Any<'_>,
    indices: &Any<'_>,
    axis: Option<isize>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::take_along_axis(&to_array(a)?, &to_array(indices)?, axis).py()?,
    )
}

/// `mx.put_along_axis(a, indices, values, axis=None)`.
#[pyfunction]
#[pyo3(signature = (a, /, indices, values, axis=None, *, stream=None))]
fn put_along_axis(
    py: Python<'_>,
    a: &Any<'_>,
    indices: &Any<'_>,
    values: &Any<'_>,
    axis: Option<isize>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let v = to_operand(values, Some(a.dtype()))?;
    wrap(
        py,
        mx::put_along_axis(&a, &to_array(indices)?, v, axis).py()?,
    )
}

/// `mx.isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False)`.
#[pyfunction]
#[pyo3(signature = (a, b, /, rtol=1e-5, atol=1e-8, *, equal_nan=false, stream=None))]
fn isclose(
    py: Python<'_>,
    a: &Any<'_>,
    b: &Any<'_>,
    rtol: f64,
    atol: f64,
    equal_nan: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let opts = CloseOptions {
        rtol,
        atol,
        equal_nan,
    };
    wrap(
        py,
        mx::isclose_with(&to_array(a)?, &to_array(b)?, opts).py()?,
    )
}

/// `mx.allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False)`.
#[pyfunction]
#[pyo3(signature = (a, b, /, rtol=1e-5, atol=1e-8, *, equal_nan=false, stream=None))]
fn allclose(
    py: Python<'_>,
    a: &Any<'_>,
    b: &Any<'_>,
    rtol: f64,
    atol: f64,
    equal_nan: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let opts = CloseOptions {
        rtol,
        atol,
        equal_nan,
    };
    wrap(
        py,
        mx::allclose_with(&to_array(a)?, &to_array(b)?, opts).py()?,
    )
}

/// `mx.array_equal(a, b, equal_nan=False)`.
#[pyfunction]
#[pyo3(signature = (a, b, /, equal_nan=false, *, stream=None))]
fn array_equal(
    py: Python<'_>,
    a: &Any<'_>,
    b: &Any<'_>,
    equal_nan: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::array_equal(to_operand(a, None)?, to_operand(b, None)?, equal_nan).py()?,
    )
}

/// `mx.pad(a, pad_width, mode="constant", constant_values=0)`.
#[pyfunction]
#[pyo3(signature = (a, pad_width, mode="constant", constant_values=None, *, stream=None))]
fn pad(
    py: Python<'_>,
    a: &Any<'_>,
    pad_width: &Any<'_>,
    mode: &str,
    constant_values: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let widths: Vec<(usize, usize)> = if pad_width.is_instance_of::<PyInt>() {
        let w: usize = pad_width.extract()?;
        vec![(w, w)]
    } else if let Ok(flat) = pad_width.extract::<Vec<usize>>() {
        // (w,) or [w]: w on both sides; (before, after): the same pair for every axis.
        match flat.as_slice() {
            [w] => vec![(*w, *w)],
            [b, a] => vec![(*b, *a)],
            _ => {
                return Err(PyValueError::new_err(
                    "[pad] pad_width of integers must have one or two entries.",
                ));
            }
        }
    } else if let Ok(pairs) = pad_width.extract::<Vec<(usize, usize)>>() {
        pairs
    } else if let Ok(pairs) = pad_width.extract::<Vec<Vec<usize>>>() {
        pairs
            .into_iter()
            .map(|p| match p.as_slice() {
                [a] => Ok((*a, *a)),
                [a, b] => Ok((*a, *b)),
                _ => Err(PyValueError::new_err(
                    "pad_width entries must be (before, after).",
                )),
            })
            .collect::<PyResult<_>>()?
    } else {
        let p: (usize, usize) = pad_width.extract()?;
        vec![p]
    };
    // One (before, after) pair applies to every axis, as in MLX.
    let widths = if widths.len() == 1 && a.ndim() > 1 {
        vec![widths[0]; a.ndim()]
    } else {
        widths
    };
    let mode = mode.parse::<mx::ops::PadMode>().py()?;
    let value = match constant_values {
        Some(v) if !v.is_none() => to_operand(v, Some(a.dtype()))?,
        _ => mx::Operand::Scalar(Scalar::Int(0)),
    };
    wrap(py, mx::pad_with(&a, widths, mode, value).py()?)
}

/// `mx.repeat(a, repeats, axis=None)`.
#[pyfunction]
#[pyo3(signature = (a, repeats, axis=None, *, stream=None))]
fn repeat(
    py: Python<'_>,
    a: &Any<'_>,
    repeats: usize,
    axis: Option<isize>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let out = match axis {
        Some(ax) => mx::repeat_axis(&a, repeats, ax),
        None => mx::repeat(&a, repeats),
    };
    wrap(py, out.py()?)
}

/// `mx.tile(a, reps)`.
#[pyfunction]
#[pyo3(signature = (a, reps, *, stream=None))]
fn tile(py: Python<'_>, a: &Any<'_>, reps: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::tile(&to_array(a)?, to_shape(reps)?).py()?)
}

/// `mx.diag(a, k=0)`.
#[pyfunction]
#[pyo3(signature = (a, /, k=0, *, stream=None))]
fn diag(py: Python<'_>, a: &Any<'_>, k: isize, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::diag(&to_array(a)?, k).py()?)
}

/// `mx.diagonal(a, offset=0, axis1=0, axis2=1)`.
#[pyfunction]
#[pyo3(signature = (a, offset=0, axis1=0, axis2=1, *, stream=None))]
fn diagonal(
    py: Python<'_>,
    a: &Any<'_>,
    offset: isize,
    axis1: isize,
    axis2: isize,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::diagonal(&to_array(a)?, offset, axis1, axis2).py()?)
}

/// `mx.view(a, dtype)`.
#[pyfunction]
#[pyo3(signature = (a, dtype, *, stream=None))]
fn view(py: Python<'_>, a: &Any<'_>, dtype: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    let d = to_dtype(Some(dtype))?.ok_or_else(|| PyTypeError::new_err("dtype is None"))?;
    wrap(py, mx::view(to_array(a)?, d).py()?)
}

/// `mx.astype(a, dtype)`: not in MLX's namespace but handy for `array.astype`.
#[pyfunction]
#[pyo3(signature = (a, dtype, *, stream=None))]
fn astype(py: Python<'_>, a: &Any<'_>, dtype: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    let d = to_dtype(Some(dtype))?.ok_or_else(|| PyTypeError::new_err("dtype is None"))?;
    wrap(py, mx::astype(&to_array(a)?, d).py()?)
}

/// `mx.eval(*args)`: evaluates every array in the arguments (pytrees of arrays).
#[pyfunction]
#[pyo3(signature = (*args))]
fn eval(args: &Bound<'_, PyTuple>) -> PyResult<()> {
    let mut arrays = Vec::new();
    collect_arrays(args.as_any(), &mut arrays)?;
    mx::eval(&arrays).py()
}

/// `mx.async_eval(*args)`.
#[pyfunction]
#[pyo3(signature = (*args))]
fn async_eval(args: &Bound<'_, PyTuple>) -> PyResult<()> {
    let mut arrays = Vec::new();
    collect_arrays(args.as_any(), &mut arrays)?;
    mx::async_eval(&arrays).py()
}

/// The arrays among the leaves of a pytree (lists, tuples, dicts); other leaves are skipped.
pub fn collect_arrays(obj: &Any<'_>, out: &mut Vec<Array>) -> PyResult<()> {
    if let Ok(a) = obj.cast::<PyArray>() {
        out.push(a.borrow().inner.clone());
    } else if let Ok(d) = obj.cast::<pyo3::types::PyDict>() {
        for v in d.values() {
            collect_arrays(&v, out)?;
        }
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        for v in obj.try_iter()? {
            collect_arrays(&v?, out)?;
        }
    }
    Ok(())
}

/// `mx.meshgrid(*arrays, sparse=False, indexing="xy")`.
#[pyfunction]
#[pyo3(signature = (*arrays, sparse=false, indexing="xy", stream=None))]
fn meshgrid(
    py: Python<'_>,
    arrays: &Bound<'_, PyTuple>,
    sparse: bool,
    indexing: &str,
    stream: Option<&Any<'_>>,
) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    let v = to_arrays(arrays.as_any())?;
    wrap_tuple(py, mx::meshgrid(&v, sparse, indexing).py()?)
}

/// `mx.trace(a, offset=0, axis1=0, axis2=1, dtype=None)`.
#[pyfunction]
#[pyo3(signature = (a, /, offset=0, axis1=0, axis2=1, dtype=None, *, stream=None))]
fn trace(
    py: Python<'_>,
    a: &Any<'_>,
    offset: isize,
    axis1: isize,
    axis2: isize,
    dtype: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::trace(&to_array(a)?, offset, axis1, axis2, to_dtype(dtype)?).py()?,
    )
}

/// `mx.atleast_1d(*arys)` and friends: one array in, one out; several in, a list out.
macro_rules! atleast {
    ($($name:ident),*) => {$(
        #[pyfunction]
        #[pyo3(signature = (*arys, stream=None))]
        fn $name(py: Python<'_>, arys: &Bound<'_, PyTuple>, stream: Option<&Any<'_>>) -> PyResult<Py<PyAny>> {
            let _ = stream;
            let v = to_arrays(arys.as_any())?;
            let out: Vec<Array> = v.iter().map(|a| mx::$name(a)).collect::<mx::Result<_>>().py()?;
            if out.len() == 1 {
                Ok(wrap(py, out.into_iter().next().expect("one"))?.into_any())
            } else {
                Ok(wrap_list(py, out)?.into_any())
            }
        }
    )*};
}

atleast!(atleast_1d, atleast_2d, atleast_3d);

/// `mx.einsum(subscripts, *operands)`.
#[pyfunction]
#[pyo3(signature = (subscripts, *operands, stream=None))]
fn einsum(
    py: Python<'_>,
    subscripts: &str,
    operands: &Bound<'_, PyTuple>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::einsum(subscripts, &to_arrays(operands.as_any())?).py()?,
    )
}

/// `mx.tensordot(a, b, axes=2)`.
#[pyfunction]
#[pyo3(signature = (a, b, /, axes=None, *, stream=None))]
fn tensordot(
    py: Python<'_>,
    a: &Any<'_>,
    b: &Any<'_>,
    axes: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let (a, b) = (to_array(a)?, to_array(b)?);
    let out = match axes.filter(|o| !o.is_none()) {
        None => mx::tensordot(&a, &b, 2usize),
        Some(o) if o.is_instance_of::<PyInt>() => mx::tensordot(&a, &b, o.extract::<usize>()?),
        Some(o) => {
            let (x, y): (Vec<isize>, Vec<isize>) = match o.extract::<(Vec<isize>, Vec<isize>)>() {
                Ok(p) => p,
                Err(_) => {
                    let (x, y): (isize, isize) = o.extract()?;
                    (vec![x], vec![y])
                }
            };
            mx::tensordot(&a, &b, (x, y))
        }
    };
    wrap(py, out.py()?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    register_unary(m)?;
    register_binary(m)?;
    register_reduce(m)?;
    register_scan(m)?;
    register_pair(m)?;
    for f in [
        wrap_pyfunction!(divmod, m)?,
        wrap_pyfunction!(round, m)?,
        wrap_pyfunction!(var, m)?,
        wrap_pyfunction!(std_, m)?,
        wrap_pyfunction!(argmax, m)?,
        wrap_pyfunction!(argmin, m)?,
        wrap_pyfunction!(softmax, m)?,
        wrap_pyfunction!(zeros, m)?,
        wrap_pyfunction!(ones, m)?,
        wrap_pyfunction!(full, m)?,
        wrap_pyfunction!(zeros_like, m)?,
        wrap_pyfunction!(ones_like, m)?,
        wrap_pyfunction!(full_like, m)?,
        wrap_pyfunction!(arange, m)?,
        wrap_pyfunction!(linspace, m)?,
        wrap_pyfunction!(eye, m)?,
        wrap_pyfunction!(identity, m)?,
        wrap_pyfunction!(tri, m)?,
        wrap_pyfunction!(tril, m)?,
        wrap_pyfunction!(triu, m)?,
        wrap_pyfunction!(reshape, m)?,
        wrap_pyfunction!(transpose, m)?,
        wrap_pyfunction!(permute_dims, m)?,
        wrap_pyfunction!(squeeze, m)?,
        wrap_pyfunction!(expand_dims, m)?,
        wrap_pyfunction!(flatten, m)?,
        wrap_pyfunction!(unflatten, m)?,
        wrap_pyfunction!(swapaxes, m)?,
        wrap_pyfunction!(moveaxis, m)?,
        wrap_pyfunction!(broadcast_to, m)?,
        wrap_pyfunction!(broadcast_arrays, m)?,
        wrap_pyfunction!(concatenate, m)?,
        wrap_pyfunction!(concat, m)?,
        wrap_pyfunction!(stack, m)?,
        wrap_pyfunction!(split, m)?,
        wrap_pyfunction!(where_, m)?,
        wrap_pyfunction!(clip, m)?,
        wrap_pyfunction!(matmul, m)?,
        wrap_pyfunction!(addmm, m)?,
        wrap_pyfunction!(sort, m)?,
        wrap_pyfunction!(argsort, m)?,
        wrap_pyfunction!(topk, m)?,
        wrap_pyfunction!(partition, m)?,
        wrap_pyfunction!(argpartition, m)?,
        wrap_pyfunction!(take, m)?,
        wrap_pyfunction!(take_along_axis, m)?,
        wrap_pyfunction!(put_along_axis, m)?,
        wrap_pyfunction!(isclose, m)?,
        wrap_pyfunction!(allclose, m)?,
        wrap_pyfunction!(array_equal, m)?,
        wrap_pyfunction!(pad, m)?,
        wrap_pyfunction!(repeat, m)?,
        wrap_pyfunction!(tile, m)?,
        wrap_pyfunction!(diag, m)?,
        wrap_pyfunction!(diagonal, m)?,
        wrap_pyfunction!(view, m)?,
        wrap_pyfunction!(astype, m)?,
        wrap_pyfunction!(eval, m)?,
        wrap_pyfunction!(async_eval, m)?,
        wrap_pyfunction!(meshgrid, m)?,
        wrap_pyfunction!(trace, m)?,
        wrap_pyfunction!(atleast_1d, m)?,
        wrap_pyfunction!(atleast_2d, m)?,
        wrap_pyfunction!(atleast_3d, m)?,
        wrap_pyfunction!(einsum, m)?,
        wrap_pyfunction!(tensordot, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
