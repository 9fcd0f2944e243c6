//! `mx.save`, `mx.savez`, `mx.savez_compressed`, `mx.save_safetensors`, `mx.save_gguf` and
//! `mx.load`, to paths or file objects.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use rmlx_core::io::{self, GgufValue, Loaded, Metadata};
use rmlx_core::Array;

use crate::array::PyArray;
use crate::convert::{to_array, wrap, PyResultExt};

type Any<'py> = Bound<'py, PyAny>;

/// A path (str or os.PathLike) as a String; `None` for a file object.
fn path_of(file: &Any<'_>) -> PyResult<Option<String>> {
    if file.hasattr("write")? || file.hasattr("read")? {
        return Ok(None);
    }
    let os = file.py().import("os")?;
    Ok(Some(
        os.call_method1("fspath", (file,))?.extract::<String>()?,
    ))
}

fn write_bytes(file: &Any<'_>, bytes: &[u8]) -> PyResult<()> {
    file.call_method1("write", (PyBytes::new(file.py(), bytes),))?;
    Ok(())
}

/// Named arrays from a dict of arrays.
fn named(arrays: &Bound<'_, PyDict>) -> PyResult<Vec<(String, Array)>> {
    arrays
        .iter()
        .map(|(k, v)| Ok((k.extract::<String>()?, to_array(&v)?)))
        .collect()
}

fn refs(v: &[(String, Array)]) -> Vec<(&str, &Array)> {
    v.iter().map(|(k, a)| (k.as_str(), a)).collect()
}

#[pyfunction]
fn save(file: &Any<'_>, arr: &Any<'_>) -> PyResult<()> {
    let a = to_array(arr)?;
    match path_of(file)? {
        Some(p) => io::npy::save(p, &a).py(),
        None => write_bytes(file, &io::npy::to_npy_bytes(&a).py()?),
    }
}

fn savez_impl(
    file: &Any<'_>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
    compress: bool,
) -> PyResult<()> {
    let mut arrays = Vec::new();
    for (i, a) in args.iter().enumerate() {
        arrays.push((format!("arr_{i}"), to_array(&a)?));
    }
    if let Some(kw) = kwargs {
        arrays.extend(named(kw)?);
    }
    let r = refs(&arrays);
    match path_of(file)? {
        Some(p) if compress => io::npz::savez_compressed(p, &r).py(),
        Some(p) => io::npz::savez(p, &r).py(),
        None => write_bytes(file, &io::npz::to_npz_bytes(&r, compress).py()?),
    }
}

#[pyfunction]
#[pyo3(signature = (file, *args, **kwargs))]
fn savez(
    file: &Any<'_>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    savez_impl(file, args, kwargs, false)
}

#[pyfunction]
#[pyo3(signature = (file, *args, **kwargs))]
fn savez_compressed(
    file: &Any<'_>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    savez_impl(file, args, kwargs, true)
}

#[pyfunction]
#[pyo3(signature = (file, arrays, metadata=None))]
fn save_safetensors(
    file: &Any<'_>,
    arrays: &Bound<'_, PyDict>,
    metadata: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let arrays = named(arrays)?;
    let meta: Vec<(String, String)> = match metadata {
        Some(m) => m
            .iter()
            .map(|(k, v)| Ok((k.extract()?, v.extract()?)))
            .collect::<PyResult<_>>()?,
        None => vec![],
    };
    let meta_refs: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match path_of(file)? {
        Some(p) => io::safetensors::save_safetensors(p, &refs(&arrays), &meta_refs).py(),
        None => write_bytes(
            file,
            &io::safetensors::to_bytes(&refs(&arrays), &meta_refs).py()?,
        ),
    }
}

fn gguf_value(v: &Any<'_>) -> PyResult<GgufValue> {
    if v.is_instance_of::<PyString>() {
        return Ok(GgufValue::String(v.extract()?));
    }
    if v.is_instance_of::<PyList>() && v.len()? > 0 && v.get_item(0)?.is_instance_of::<PyString>() {
        return Ok(GgufValue::Strings(v.extract()?));
    }
    if v.cast::<PyArray>().is_ok() {
        return Ok(GgufValue::Array(to_array(v)?));
    }
    Err(PyTypeError::new_err(
        "[save_gguf] Metadata values must be strings, lists of strings or arrays.",
    ))
}

#[pyfunction]
#[pyo3(signature = (file, arrays, metadata=None))]
fn save_gguf(
    file: &Any<'_>,
    arrays: &Bound<'_, PyDict>,
    metadata: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let arrays = named(arrays)?;
    let meta: Vec<(String, GgufValue)> = match metadata {
        Some(m) => m
            .iter()
            .map(|(k, v)| Ok((k.extract()?, gguf_value(&v)?)))
            .collect::<PyResult<_>>()?,
        None => vec![],
    };
    let meta_refs: Vec<(&str, GgufValue)> =
        meta.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    match path_of(file)? {
        Some(p) => io::gguf::save_gguf(p, &refs(&arrays), &meta_refs).py(),
        None => write_bytes(
            file,
            &io::gguf::to_gguf_bytes(&refs(&arrays), &meta_refs).py()?,
        ),
    }
}

fn arrays_dict<'py>(py: Python<'py>, arrays: Vec<(String, Array)>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, a) in arrays {
        d.set_item(k, wrap(py, a)?)?;
    }
    Ok(d)
}

fn gguf_value_to_py(py: Python<'_>, v: GgufValue) -> PyResult<Py<PyAny>> {
    Ok(match v {
        GgufValue::Array(a) => wrap(py, a)?.into_any(),
        GgufValue::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        GgufValue::Strings(v) => PyList::new(py, v)?.into_any().unbind(),
    })
}

/// `mx.load(file, format=None, return_metadata=False)`.
#[pyfunction]
#[pyo3(signature = (file, /, format=None, return_metadata=false, *, stream=None))]
fn load(
    py: Python<'_>,
    file: &Any<'_>,
    format: Option<&str>,
    return_metadata: bool,
    stream: Option<&Any<'_>>,
) -> PyResult<Py<PyAny>> {
    let _ = stream;
    let path = path_of(file)?;
    let (arrays, meta) = match (&path, return_metadata) {
        (Some(p), true) => {
            let (a, m) = io::load_with_metadata(p, format).py()?;
            (Loaded::Arrays(a), Some(m))
        }
        (Some(p), false) => (io::load_format(p, format).py()?, None),
        (None, _) => {
            // A file object's format comes from its name's extension, as for a path.
            let from_name: Option<String> = match file.getattr("name") {
                Ok(n) => n
                    .extract::<String>()
                    .ok()
                    .and_then(|n| n.rsplit_once('.').map(|(_, e)| e.to_string())),
                Err(_) => None,
            };
            let fmt = format.map(str::to_string).or(from_name).ok_or_else(|| {
                PyValueError::new_err("[load] The format must be given to load from a file object.")
            })?;
            let fmt = fmt.as_str();
            let data: Vec<u8> = file.call_method0("read")?.extract()?;
            match fmt {
                "npy" => (Loaded::Array(io::npy::parse_npy(&data).py()?), None),
                "npz" => (Loaded::Arrays(io::npz::parse_npz(&data).py()?), None),
                "safetensors" => {
                    let s = io::safetensors::from_bytes(&data).py()?;
                    (
                        Loaded::Arrays(s.arrays),
                        Some(Metadata::Strings(s.metadata)),
                    )
                }
                "gguf" => {
                    let g = io::gguf::from_bytes(&data).py()?;
                    (Loaded::Arrays(g.arrays), Some(Metadata::Gguf(g.metadata)))
                }
                other => {
                    return Err(PyValueError::new_err(format!(
                        "[load] Unknown file format {other}"
                    )))
                }
            }
        }
    };
    let value: Py<PyAny> = match arrays {
        Loaded::Array(a) => wrap(py, a)?.into_any(),
        Loaded::Arrays(v) => arrays_dict(py, v)?.into_any().unbind(),
    };
    if !return_metadata {
        return Ok(value);
    }
    let md = PyDict::new(py);
    match meta {
        Some(Metadata::Strings(v)) => {
            for (k, s) in v {
                md.set_item(k, s)?;
            }
        }
        Some(Metadata::Gguf(v)) => {
            for (k, g) in v {
                md.set_item(k, gguf_value_to_py(py, g)?)?;
            }
        }
        None => {}
    }
    Ok(PyTuple::new(py, [value, md.into_any().unbind()])?
        .into_any()
        .unbind())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in [
        wrap_pyfunction!(save, m)?,
        wrap_pyfunction!(savez, m)?,
        wrap_pyfunction!(savez_compressed, m)?,
        wrap_pyfunction!(save_safetensors, m)?,
        wrap_pyfunction!(save_gguf, m)?,
        wrap_pyfunction!(load, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
