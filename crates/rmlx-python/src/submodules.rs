//! `mx.linalg`, `mx.fft` and `mx.fast`.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyString, PyTuple};
use rmlx_core::{self as mx, fast as mxfast, fft as mxfft, linalg as mxlinalg};

use crate::array::PyArray;
use crate::convert::{to_array, to_axes, to_opt_array, wrap, wrap_pair, PyResultExt};

type Arr = PyResult<Py<PyArray>>;
type Any<'py> = Bound<'py, PyAny>;

// ---------------------------------------------------------------------------------------------
// linalg

fn norm_ord(ord: Option<&Any<'_>>) -> PyResult<Option<mxlinalg::NormOrd>> {
    match ord {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) if o.is_instance_of::<PyString>() => {
            Ok(Some(o.extract::<String>()?.as_str().into()))
        }
        Some(o) if o.is_instance_of::<PyInt>() || o.is_instance_of::<PyFloat>() => {
            Ok(Some(o.extract::<f64>()?.into()))
        }
        Some(_) => Err(PyValueError::new_err(
            "[mxlinalg::norm] ord must be a number or a string.",
        )),
    }
}

#[pyfunction]
#[pyo3(signature = (a, /, ord=None, axis=None, keepdims=false, *, stream=None))]
fn norm(
    py: Python<'_>,
    a: &Any<'_>,
    ord: Option<&Any<'_>>,
    axis: Option<&Any<'_>>,
    keepdims: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let a = to_array(a)?;
    let out = match (norm_ord(ord)?, to_axes(axis)?) {
        // No order and no axes: the 2-norm of the flattened array, any number of dimensions.
        (None, None) => mxlinalg::norm_ord(&a, mxlinalg::NormOrd::Default, keepdims),
        (None, Some(ax)) => mxlinalg::norm_axes(&a, ax, keepdims),
        (Some(o), None) => mxlinalg::norm_ord(&a, o, keepdims),
        (Some(o), Some(ax)) => mxlinalg::norm_ord_axes(&a, o, ax, keepdims),
    };
    wrap(py, out.py()?)
}

macro_rules! linalg_unary {
    ($($name:ident),*) => {$(
        #[pyfunction]
        #[pyo3(signature = (a, *, stream=None))]
        fn $name(py: Python<'_>, a: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
            let _ = stream;
            wrap(py, mxlinalg::$name(&to_array(a)?).py()?)
        }
    )*};
}

linalg_unary!(inv, pinv, det, eigvals);

macro_rules! linalg_upper {
    ($($name:ident),*) => {$(
        #[pyfunction]
        #[pyo3(signature = (a, upper=false, *, stream=None))]
        fn $name(py: Python<'_>, a: &Any<'_>, upper: bool, stream: Option<&Any<'_>>) -> Arr {
            let _ = stream;
            wrap(py, mxlinalg::$name(&to_array(a)?, upper).py()?)
        }
    )*};
}

linalg_upper!(tri_inv, cholesky, cholesky_inv);

#[pyfunction]
#[pyo3(signature = (a, *, stream=None))]
fn qr(py: Python<'_>, a: &Any<'_>, stream: Option<&Any<'_>>) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    wrap_pair(py, mxlinalg::qr(&to_array(a)?).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, compute_uv=true, *, stream=None))]
fn svd(
    py: Python<'_>,
    a: &Any<'_>,
    compute_uv: bool,
    stream: Option<&Any<'_>>,
) -> PyResult<Py<PyAny>> {
    let _ = stream;
    let out = mxlinalg::svd_uv(&to_array(a)?, compute_uv).py()?;
    if compute_uv {
        let items: Vec<Py<PyArray>> = out
            .into_iter()
            .map(|x| wrap(py, x))
            .collect::<PyResult<_>>()?;
        Ok(PyTuple::new(py, items)?.into_any().unbind())
    } else {
        Ok(wrap(py, out.into_iter().next().expect("singular values"))?.into_any())
    }
}

#[pyfunction]
#[pyo3(signature = (a, UPLO="L", *, stream=None))]
#[allow(non_snake_case)]
fn eigvalsh(py: Python<'_>, a: &Any<'_>, UPLO: &str, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mxlinalg::eigvalsh(&to_array(a)?, UPLO).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, UPLO="L", *, stream=None))]
#[allow(non_snake_case)]
fn eigh(
    py: Python<'_>,
    a: &Any<'_>,
    UPLO: &str,
    stream: Option<&Any<'_>>,
) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    wrap_pair(py, mxlinalg::eigh(&to_array(a)?, UPLO).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, *, stream=None))]
fn eig(py: Python<'_>, a: &Any<'_>, stream: Option<&Any<'_>>) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    wrap_pair(py, mxlinalg::eig(&to_array(a)?).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, *, stream=None))]
fn lu(py: Python<'_>, a: &Any<'_>, stream: Option<&Any<'_>>) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    let out = mxlinalg::lu(&to_array(a)?).py()?;
    let items: Vec<Py<PyArray>> = out
        .into_iter()
        .map(|x| wrap(py, x))
        .collect::<PyResult<_>>()?;
    Ok(PyTuple::new(py, items)?.unbind())
}

#[pyfunction]
#[pyo3(signature = (a, *, stream=None))]
fn lu_factor(py: Python<'_>, a: &Any<'_>, stream: Option<&Any<'_>>) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    wrap_pair(py, mxlinalg::lu_factor(&to_array(a)?).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, *, stream=None))]
fn slogdet(py: Python<'_>, a: &Any<'_>, stream: Option<&Any<'_>>) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    wrap_pair(py, mxlinalg::slogdet(&to_array(a)?).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, b, *, stream=None))]
fn solve(py: Python<'_>, a: &Any<'_>, b: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mxlinalg::solve(&to_array(a)?, &to_array(b)?).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, b, *, upper=false, stream=None))]
fn solve_triangular(
    py: Python<'_>,
    a: &Any<'_>,
    b: &Any<'_>,
    upper: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mxlinalg::solve_triangular(&to_array(a)?, &to_array(b)?, upper).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (a, b, axis=-1, *, stream=None))]
fn cross(py: Python<'_>, a: &Any<'_>, b: &Any<'_>, axis: isize, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(
        py,
        mxlinalg::cross(&to_array(a)?, &to_array(b)?, axis).py()?,
    )
}

fn register_linalg(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let m = PyModule::new(parent.py(), "linalg")?;
    for f in [
        wrap_pyfunction!(norm, &m)?,
        wrap_pyfunction!(inv, &m)?,
        wrap_pyfunction!(pinv, &m)?,
        wrap_pyfunction!(det, &m)?,
        wrap_pyfunction!(eigvals, &m)?,
        wrap_pyfunction!(tri_inv, &m)?,
        wrap_pyfunction!(cholesky, &m)?,
        wrap_pyfunction!(cholesky_inv, &m)?,
        wrap_pyfunction!(qr, &m)?,
        wrap_pyfunction!(svd, &m)?,
        wrap_pyfunction!(eigvalsh, &m)?,
        wrap_pyfunction!(eigh, &m)?,
        wrap_pyfunction!(eig, &m)?,
        wrap_pyfunction!(lu, &m)?,
        wrap_pyfunction!(lu_factor, &m)?,
        wrap_pyfunction!(slogdet, &m)?,
        wrap_pyfunction!(solve, &m)?,
        wrap_pyfunction!(solve_triangular, &m)?,
        wrap_pyfunction!(cross, &m)?,
    ] {
        m.add_function(f)?;
    }
    parent.add_submodule(&m)
}

// ---------------------------------------------------------------------------------------------
// fft

fn fft_norm(norm: &str) -> PyResult<mxfft::FftNorm> {
    norm.parse::<mxfft::FftNorm>().py()
}

macro_rules! fft_1d {
    ($(($name:ident, $with:ident)),*) => {$(
        #[pyfunction]
        #[pyo3(signature = (a, n=None, axis=-1, norm="backward", *, stream=None))]
        fn $name(py: Python<'_>, a: &Any<'_>, n: Option<isize>, axis: isize, norm: &str, stream: Option<&Any<'_>>) -> Arr {
            let _ = stream;
            wrap(py, mxfft::$with(&to_array(a)?, n, axis, fft_norm(norm)?).py()?)
        }
    )*};
}

fft_1d!(
    (fft, fft_with),
    (ifft, ifft_with),
    (rfft, rfft_with),
    (irfft, irfft_with)
);

fn opt_list(o: Option<&Any<'_>>) -> PyResult<Option<Vec<isize>>> {
    match o {
        Some(v) if !v.is_none() => Ok(Some(v.extract::<Vec<isize>>()?)),
        _ => Ok(None),
    }
}

// `axes` left out is the default (the last two axes for the 2-D transforms); `axes=None`
// given explicitly is every axis, as in MLX.
macro_rules! fft_nd {
    ($(($name:ident, $with:ident, $default_axes:tt)),*) => {$(
        #[pyfunction]
        #[pyo3(signature = (a, s=None, axes=$default_axes, norm="backward", *, stream=None))]
        fn $name(py: Python<'_>, a: &Any<'_>, s: Option<&Any<'_>>, axes: Option<Vec<isize>>, norm: &str, stream: Option<&Any<'_>>) -> Arr {
            let _ = stream;
            let s = opt_list(s)?;
            wrap(py, mxfft::$with(&to_array(a)?, s.as_deref(), axes.as_deref(), fft_norm(norm)?).py()?)
        }
    )*};
}

fft_nd!(
    (fft2, fft2_with, (Some(vec![-2, -1]))),
    (ifft2, ifft2_with, (Some(vec![-2, -1]))),
    (rfft2, rfft2_with, (Some(vec![-2, -1]))),
    (irfft2, irfft2_with, (Some(vec![-2, -1]))),
    (fftn, fftn_with, None),
    (ifftn, ifftn_with, None),
    (rfftn, rfftn_with, None),
    (irfftn, irfftn_with, None)
);

#[pyfunction]
#[pyo3(signature = (n, d=1.0, *, stream=None))]
fn fftfreq(py: Python<'_>, n: i64, d: f64, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mxfft::fftfreq(n, d).py()?)
}

#[pyfunction]
#[pyo3(signature = (n, d=1.0, *, stream=None))]
fn rfftfreq(py: Python<'_>, n: i64, d: f64, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mxfft::rfftfreq(n, d).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, axes=None, *, stream=None))]
fn fftshift(py: Python<'_>, a: &Any<'_>, axes: Option<&Any<'_>>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    let axes = to_axes(axes)?;
    wrap(py, mxfft::fftshift(&to_array(a)?, axes.as_deref()).py()?)
}

#[pyfunction]
#[pyo3(signature = (a, axes=None, *, stream=None))]
fn ifftshift(py: Python<'_>, a: &Any<'_>, axes: Option<&Any<'_>>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    let axes = to_axes(axes)?;
    wrap(py, mxfft::ifftshift(&to_array(a)?, axes.as_deref()).py()?)
}

fn register_fft(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let m = PyModule::new(parent.py(), "fft")?;
    for f in [
        wrap_pyfunction!(fft, &m)?,
        wrap_pyfunction!(ifft, &m)?,
        wrap_pyfunction!(rfft, &m)?,
        wrap_pyfunction!(irfft, &m)?,
        wrap_pyfunction!(fft2, &m)?,
        wrap_pyfunction!(ifft2, &m)?,
        wrap_pyfunction!(rfft2, &m)?,
        wrap_pyfunction!(irfft2, &m)?,
        wrap_pyfunction!(fftn, &m)?,
        wrap_pyfunction!(ifftn, &m)?,
        wrap_pyfunction!(rfftn, &m)?,
        wrap_pyfunction!(irfftn, &m)?,
        wrap_pyfunction!(fftfreq, &m)?,
        wrap_pyfunction!(rfftfreq, &m)?,
        wrap_pyfunction!(fftshift, &m)?,
        wrap_pyfunction!(ifftshift, &m)?,
    ] {
        m.add_function(f)?;
    }
    parent.add_submodule(&m)
}

// ---------------------------------------------------------------------------------------------
// fast

#[pyfunction]
#[pyo3(signature = (x, weight, eps, *, stream=None))]
fn rms_norm(
    py: Python<'_>,
    x: &Any<'_>,
    weight: Option<&Any<'_>>,
    eps: f32,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let w = to_opt_array(weight)?;
    wrap(py, mxfast::rms_norm(&to_array(x)?, w.as_ref(), eps).py()?)
}

#[pyfunction]
#[pyo3(signature = (x, weight, bias, eps, *, stream=None))]
fn layer_norm(
    py: Python<'_>,
    x: &Any<'_>,
    weight: Option<&Any<'_>>,
    bias: Option<&Any<'_>>,
    eps: f32,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let (w, b) = (to_opt_array(weight)?, to_opt_array(bias)?);
    wrap(
        py,
        mxfast::layer_norm(&to_array(x)?, w.as_ref(), b.as_ref(), eps).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (a, dims, *, traditional, base, scale, offset, freqs=None, stream=None))]
#[allow(clippy::too_many_arguments)]
fn rope(
    py: Python<'_>,
    a: &Any<'_>,
    dims: i32,
    traditional: bool,
    base: Option<f32>,
    scale: f32,
    offset: &Any<'_>,
    freqs: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let off: mxfast::RopeOffset = if offset.is_instance_of::<PyInt>() {
        offset.extract::<i32>()?.into()
    } else {
        to_array(offset)?.into()
    };
    let f = to_opt_array(freqs)?;
    wrap(
        py,
        mxfast::rope(
            &to_array(a)?,
            dims,
            traditional,
            base,
            scale,
            off,
            f.as_ref(),
        )
        .py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (q, k, v, *, scale, mask=None, sinks=None, stream=None))]
#[allow(clippy::too_many_arguments)]
fn scaled_dot_product_attention(
    py: Python<'_>,
    q: &Any<'_>,
    k: &Any<'_>,
    v: &Any<'_>,
    scale: f32,
    mask: Option<&Any<'_>>,
    sinks: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let mask = match mask {
        None => mxfast::AttentionMask::None,
        Some(m) if m.is_none() => mxfast::AttentionMask::None,
        Some(m) if m.is_instance_of::<PyString>() => {
            let s: String = m.extract()?;
            if s == "causal" {
                mxfast::AttentionMask::Causal
            } else {
                return Err(PyValueError::new_err(format!(
                    "[scaled_dot_product_attention] invalid mask option '{s}'. Must be 'causal', or an array."
                )));
            }
        }
        Some(m) => mxfast::AttentionMask::Array(to_array(m)?),
    };
    let s = to_opt_array(sinks)?;
    let out = mxfast::scaled_dot_product_attention(
        &to_array(q)?,
        &to_array(k)?,
        &to_array(v)?,
        scale,
        mask,
        s.as_ref(),
    );
    wrap(py, out.py()?)
}

/// A custom kernel (`mx.fast.metal_kernel(...)` / `mx.fast.cuda_kernel(...)`), called with
/// keyword arguments. rmlx has neither back-end: a Metal kernel can only be recorded while a
/// function is exported (see `rmlx_core::fast::metal_kernel`), a CUDA kernel never runs, as
/// in MLX's CPU build.
#[pyclass(name = "CustomKernelFunction", module = "mlx.core.fast", frozen)]
struct PyCustomKernel {
    /// `None`: a CUDA kernel.
    metal: Option<mxfast::MetalKernel>,
}

/// The device a kernel call asks for: `None` (the default), a DeviceType, Device or Stream.
fn device_type_of(stream: Option<&Any<'_>>) -> PyResult<Option<mx::DeviceType>> {
    let Some(s) = stream.filter(|s| !s.is_none()) else {
        return Ok(None);
    };
    if let Ok(t) = s.cast::<crate::device::PyDeviceType>() {
        return Ok(Some(t.get().0));
    }
    if let Ok(d) = s.cast::<crate::device::PyDevice>() {
        return Ok(Some(d.get().0.device_type));
    }
    if let Ok(st) = s.cast::<crate::device::PyStream>() {
        return Ok(Some(st.get().0.device.device_type));
    }
    Err(PyValueError::new_err(
        "stream must be a Stream, Device or DeviceType.",
    ))
}

#[pymethods]
impl PyCustomKernel {
    #[pyo3(signature = (*, inputs, output_shapes, output_dtypes, grid, threadgroup, template=None, init_value=None, verbose=false, stream=None))]
    #[allow(clippy::too_many_arguments)]
    fn __call__(
        &self,
        py: Python<'_>,
        inputs: Vec<Bound<'_, PyAny>>,
        output_shapes: Vec<Bound<'_, PyAny>>,
        output_dtypes: Vec<crate::dtype::PyDtype>,
        grid: (i32, i32, i32),
        threadgroup: (i32, i32, i32),
        template: Option<Vec<(String, Bound<'_, PyAny>)>>,
        init_value: Option<f32>,
        verbose: bool,
        stream: Option<&Any<'_>>,
    ) -> PyResult<Vec<Py<PyArray>>> {
        let Some(kernel) = &self.metal else {
            return Err(PyRuntimeError::new_err("[cuda_kernel] No CUDA back-end."));
        };
        let inputs = inputs.iter().map(to_array).collect::<PyResult<Vec<_>>>()?;
        let output_shapes = output_shapes
            .iter()
            .map(|s| {
                let dims = crate::convert::to_shape(s)?;
                dims.into_iter()
                    .map(|d| {
                        usize::try_from(d).map_err(|_| {
                            PyValueError::new_err(format!(
                                "[metal_kernel] Negative dimensions are not allowed: {d}."
                            ))
                        })
                    })
                    .collect::<PyResult<Vec<usize>>>()
            })
            .collect::<PyResult<Vec<_>>>()?;
        let output_dtypes: Vec<mx::Dtype> = output_dtypes.iter().map(|d| d.0).collect();
        let mut template_args = Vec::new();
        for (name, value) in template.unwrap_or_default() {
            // bool before int: Python's bools are ints.
            let arg = if value.is_instance_of::<pyo3::types::PyBool>() {
                mxfast::TemplateArg::Bool(value.extract()?)
            } else if value.is_instance_of::<PyInt>() {
                mxfast::TemplateArg::Int(value.extract()?)
            } else if let Ok(d) = value.extract::<crate::dtype::PyDtype>() {
                mxfast::TemplateArg::Dtype(d.0)
            } else {
                return Err(PyValueError::new_err(
                    "[metal_kernel] Invalid template argument. Must be `mlx.core.Dtype`, `int` or `bool`.",
                ));
            };
            template_args.push((name, arg));
        }
        let launch = mxfast::KernelLaunch {
            grid,
            threadgroup,
            template: template_args,
            init_value,
            verbose,
            device: device_type_of(stream)?,
        };
        let outs = kernel
            .call(&inputs, &output_shapes, &output_dtypes, &launch)
            .py()?;
        outs.into_iter().map(|a| wrap(py, a)).collect()
    }
}

/// `mx.fast.metal_kernel`: a custom Metal kernel from the body of its function.
#[pyfunction]
#[pyo3(signature = (name, input_names, output_names, source, header="", ensure_row_contiguous=true, atomic_outputs=false, compile_options=None))]
#[allow(clippy::too_many_arguments)]
fn metal_kernel(
    name: &str,
    input_names: Vec<String>,
    output_names: Vec<String>,
    source: &str,
    header: &str,
    ensure_row_contiguous: bool,
    atomic_outputs: bool,
    compile_options: Option<&Any<'_>>,
) -> PyResult<PyCustomKernel> {
    let mut math_mode = mxfast::MathMode::Safe;
    if let Some(opts) = compile_options.filter(|o| !o.is_none()) {
        let dict = opts.cast::<pyo3::types::PyDict>().map_err(|_| {
            PyValueError::new_err("[metal_kernel] Expected `compile_options` to be a dict.")
        })?;
        for (key, value) in dict.iter() {
            let key: String = key.extract()?;
            if key != "math_mode" {
                return Err(PyValueError::new_err(format!(
                    "[metal_kernel] Unknown compile option `{key}`."
                )));
            }
            math_mode = value.extract::<String>()?.parse().py()?;
        }
    }
    let ins: Vec<&str> = input_names.iter().map(String::as_str).collect();
    let outs: Vec<&str> = output_names.iter().map(String::as_str).collect();
    let kernel = mxfast::metal_kernel(name, &ins, &outs, source)
        .py()?
        .with_header(header)
        .with_ensure_row_contiguous(ensure_row_contiguous)
        .with_atomic_outputs(atomic_outputs)
        .with_math_mode(math_mode);
    Ok(PyCustomKernel {
        metal: Some(kernel),
    })
}

/// `mx.fast.cuda_kernel`: a custom CUDA kernel; rmlx has no CUDA back-end, so calling it is
/// MLX's error for a build without CUDA.
#[pyfunction]
#[pyo3(signature = (name, input_names, output_names, source, header="", ensure_row_contiguous=true, shared_memory=0))]
fn cuda_kernel(
    name: &str,
    input_names: Vec<String>,
    output_names: Vec<String>,
    source: &str,
    header: &str,
    ensure_row_contiguous: bool,
    shared_memory: i32,
) -> PyCustomKernel {
    let _ = (
        name,
        input_names,
        output_names,
        source,
        header,
        ensure_row_contiguous,
        shared_memory,
    );
    PyCustomKernel { metal: None }
}

fn register_fast(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let m = PyModule::new(parent.py(), "fast")?;
    for f in [
        wrap_pyfunction!(rms_norm, &m)?,
        wrap_pyfunction!(layer_norm, &m)?,
        wrap_pyfunction!(rope, &m)?,
        wrap_pyfunction!(scaled_dot_product_attention, &m)?,
        wrap_pyfunction!(metal_kernel, &m)?,
        wrap_pyfunction!(cuda_kernel, &m)?,
    ] {
        m.add_function(f)?;
    }
    parent.add_submodule(&m)
}

pub fn register(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    register_linalg(parent)?;
    register_fft(parent)?;
    register_fast(parent)?;
    Ok(())
}
