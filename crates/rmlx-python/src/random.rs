//! `mx.random`: the same generator as MLX (Threefry keys; the same bits for the same seed).

use pyo3::prelude::*;
use pyo3::types::PyInt;
use rmlx_core::{self as mx, random as rnd, Array, Dtype};

use crate::array::PyArray;
use crate::convert::{to_array, to_dtype, to_operand, to_shape, wrap, PyResultExt};

type Arr = PyResult<Py<PyArray>>;
type Any<'py> = Bound<'py, PyAny>;

fn shape_of(shape: Option<&Any<'_>>) -> PyResult<Vec<isize>> {
    match shape {
        Some(s) if !s.is_none() => to_shape(s),
        _ => Ok(vec![]),
    }
}

fn dims_of(shape: Option<&Any<'_>>) -> PyResult<Option<Vec<usize>>> {
    match shape {
        Some(s) if !s.is_none() => Ok(Some(s.extract::<Vec<usize>>()?)),
        _ => Ok(None),
    }
}

fn key_of(key: Option<&Any<'_>>) -> PyResult<Option<Array>> {
    match key {
        Some(k) if !k.is_none() => Ok(Some(to_array(k)?)),
        _ => Ok(None),
    }
}

fn dtype_of(dtype: Option<&Any<'_>>, default: Dtype) -> PyResult<Dtype> {
    Ok(to_dtype(dtype)?.unwrap_or(default))
}

#[pyfunction]
fn seed(seed: u64) {
    rnd::seed(seed)
}

#[pyfunction]
fn key(py: Python<'_>, seed: u64) -> Arr {
    wrap(py, rnd::key(seed))
}

#[pyfunction]
#[pyo3(signature = (key, num=2, stream=None))]
fn split(py: Python<'_>, key: &Any<'_>, num: usize, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, rnd::split(&to_array(key)?, num).py()?)
}

#[pyfunction]
#[pyo3(signature = (shape=None, width=4, key=None, stream=None))]
fn bits(
    py: Python<'_>,
    shape: Option<&Any<'_>>,
    width: usize,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        rnd::bits(shape_of(shape)?, width, key_of(key)?.as_ref()).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (low=None, high=None, shape=None, dtype=None, key=None, stream=None))]
fn uniform(
    py: Python<'_>,
    low: Option<&Any<'_>>,
    high: Option<&Any<'_>>,
    shape: Option<&Any<'_>>,
    dtype: Option<&Any<'_>>,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let lo = match low {
        Some(l) if !l.is_none() => to_operand(l, None)?,
        _ => mx::Operand::Scalar(mx::Scalar::Float(0.0)),
    };
    let hi = match high {
        Some(h) if !h.is_none() => to_operand(h, None)?,
        _ => mx::Operand::Scalar(mx::Scalar::Float(1.0)),
    };
    let d = dtype_of(dtype, Dtype::Float32)?;
    wrap(
        py,
        rnd::uniform(lo, hi, shape_of(shape)?, d, key_of(key)?.as_ref()).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (shape=None, dtype=None, loc=None, scale=None, key=None, stream=None))]
fn normal(
    py: Python<'_>,
    shape: Option<&Any<'_>>,
    dtype: Option<&Any<'_>>,
    loc: Option<&Any<'_>>,
    scale: Option<&Any<'_>>,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let d = dtype_of(dtype, Dtype::Float32)?;
    let k = key_of(key)?;
    let loc = loc.filter(|o| !o.is_none());
    let scale = scale.filter(|o| !o.is_none());
    let out = if loc.is_none() && scale.is_none() {
        rnd::normal(shape_of(shape)?, d, k.as_ref())
    } else {
        let l = match loc {
            Some(o) => to_operand(o, None)?,
            None => mx::Operand::Scalar(mx::Scalar::Float(0.0)),
        };
        let s = match scale {
            Some(o) => to_operand(o, None)?,
            None => mx::Operand::Scalar(mx::Scalar::Float(1.0)),
        };
        rnd::normal_with(shape_of(shape)?, d, l, s, k.as_ref())
    };
    wrap(py, out.py()?)
}

#[pyfunction]
#[pyo3(signature = (low, high, shape=None, dtype=None, key=None, stream=None))]
fn randint(
    py: Python<'_>,
    low: &Any<'_>,
    high: &Any<'_>,
    shape: Option<&Any<'_>>,
    dtype: Option<&Any<'_>>,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let d = dtype_of(dtype, Dtype::Int32)?;
    let (lo, hi) = (to_operand(low, None)?, to_operand(high, None)?);
    wrap(
        py,
        rnd::randint(lo, hi, shape_of(shape)?, d, key_of(key)?.as_ref()).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (p=None, shape=None, key=None, stream=None))]
fn bernoulli(
    py: Python<'_>,
    p: Option<&Any<'_>>,
    shape: Option<&Any<'_>>,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let p = match p {
        Some(p) if !p.is_none() => to_operand(p, None)?,
        _ => mx::Operand::Scalar(mx::Scalar::Float(0.5)),
    };
    let dims = dims_of(shape)?;
    wrap(
        py,
        rnd::bernoulli(p, dims.as_deref(), key_of(key)?.as_ref()).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (lower, upper, shape=None, dtype=None, key=None, stream=None))]
fn truncated_normal(
    py: Python<'_>,
    lower: &Any<'_>,
    upper: &Any<'_>,
    shape: Option<&Any<'_>>,
    dtype: Option<&Any<'_>>,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let d = dtype_of(dtype, Dtype::Float32)?;
    let dims = dims_of(shape)?;
    let (lo, hi) = (to_operand(lower, None)?, to_operand(upper, None)?);
    wrap(
        py,
        rnd::truncated_normal(lo, hi, dims.as_deref(), d, key_of(key)?.as_ref()).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (shape=None, dtype=None, key=None, stream=None))]
fn gumbel(
    py: Python<'_>,
    shape: Option<&Any<'_>>,
    dtype: Option<&Any<'_>>,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let d = dtype_of(dtype, Dtype::Float32)?;
    wrap(
        py,
        rnd::gumbel(shape_of(shape)?, d, key_of(key)?.as_ref()).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (logits, axis=-1, shape=None, num_samples=None, key=None, stream=None))]
fn categorical(
    py: Python<'_>,
    logits: &Any<'_>,
    axis: isize,
    shape: Option<&Any<'_>>,
    num_samples: Option<usize>,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let l = to_array(logits)?;
    let k = key_of(key)?;
    let out = match (dims_of(shape)?, num_samples) {
        (Some(_), Some(_)) => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "[categorical] At most one of shape or num_samples can be specified.",
            ));
        }
        (Some(s), None) => rnd::categorical_shape(&l, axis, &s, k.as_ref()),
        (None, Some(n)) => rnd::categorical_num_samples(&l, axis, n, k.as_ref()),
        (None, None) => rnd::categorical(&l, axis, k.as_ref()),
    };
    wrap(py, out.py()?)
}

#[pyfunction]
#[pyo3(signature = (shape=None, dtype=None, loc=0.0, scale=1.0, key=None, stream=None))]
fn laplace(
    py: Python<'_>,
    shape: Option<&Any<'_>>,
    dtype: Option<&Any<'_>>,
    loc: f32,
    scale: f32,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let d = dtype_of(dtype, Dtype::Float32)?;
    wrap(
        py,
        rnd::laplace(shape_of(shape)?, d, loc, scale, key_of(key)?.as_ref()).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (mean, cov, shape=None, dtype=None, key=None, stream=None))]
fn multivariate_normal(
    py: Python<'_>,
    mean: &Any<'_>,
    cov: &Any<'_>,
    shape: Option<&Any<'_>>,
    dtype: Option<&Any<'_>>,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let d = dtype_of(dtype, Dtype::Float32)?;
    let s = dims_of(shape)?.unwrap_or_default();
    let out = rnd::multivariate_normal(
        &to_array(mean)?,
        &to_array(cov)?,
        &s,
        d,
        key_of(key)?.as_ref(),
    );
    wrap(py, out.py()?)
}

#[pyfunction]
#[pyo3(signature = (x, axis=0, key=None, stream=None))]
fn permutation(
    py: Python<'_>,
    x: &Any<'_>,
    axis: isize,
    key: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let k = key_of(key)?;
    let out = if x.is_instance_of::<PyInt>() {
        rnd::permutation(x.extract::<usize>()?, k.as_ref())
    } else {
        rnd::permutation_of(&to_array(x)?, axis, k.as_ref())
    };
    wrap(py, out.py()?)
}

/// The arrays of the global random state (the current key, once one is drawn or seeded).
#[pyfunction]
fn _state_get(py: Python<'_>) -> PyResult<Py<pyo3::types::PyList>> {
    crate::convert::wrap_list(py, rnd::state().get())
}

/// Replaces the arrays of the global random state.
#[pyfunction]
fn _state_set(values: &Any<'_>) -> PyResult<()> {
    rnd::state().set(crate::convert::to_arrays(values)?);
    Ok(())
}

pub fn register(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let m = PyModule::new(parent.py(), "random")?;
    for f in [
        wrap_pyfunction!(seed, &m)?,
        wrap_pyfunction!(key, &m)?,
        wrap_pyfunction!(split, &m)?,
        wrap_pyfunction!(bits, &m)?,
        wrap_pyfunction!(uniform, &m)?,
        wrap_pyfunction!(normal, &m)?,
        wrap_pyfunction!(randint, &m)?,
        wrap_pyfunction!(bernoulli, &m)?,
        wrap_pyfunction!(truncated_normal, &m)?,
        wrap_pyfunction!(gumbel, &m)?,
        wrap_pyfunction!(categorical, &m)?,
        wrap_pyfunction!(laplace, &m)?,
        wrap_pyfunction!(multivariate_normal, &m)?,
        wrap_pyfunction!(permutation, &m)?,
        wrap_pyfunction!(_state_get, &m)?,
        wrap_pyfunction!(_state_set, &m)?,
    ] {
        m.add_function(f)?;
    }
    parent.add_submodule(&m)?;
    Ok(())
}
