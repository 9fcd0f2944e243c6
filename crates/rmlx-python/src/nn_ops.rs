//! Convolutions, quantization and the gathered/segmented matrix products.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyTuple};
use rmlx_core::ops::{ConvArg, ConvPadding, QuantMode};
use rmlx_core::{self as mx};

use crate::array::PyArray;
use crate::convert::{to_array, to_dtype, to_opt_array, wrap, PyResultExt};

type Arr = PyResult<Py<PyArray>>;
type Any<'py> = Bound<'py, PyAny>;

/// An int or a sequence of ints, as a convolution argument.
fn conv_arg(o: &Any<'_>) -> PyResult<ConvArg> {
    if o.is_instance_of::<PyInt>() {
        return Ok(ConvArg::from(o.extract::<i64>()?));
    }
    Ok(ConvArg::from(o.extract::<Vec<i64>>()?))
}

macro_rules! conv_nd {
    ($($name:ident),*) => {$(
        #[pyfunction]
        #[pyo3(signature = (input, weight, /, stride=None, padding=None, dilation=None, groups=1, *, stream=None))]
        #[allow(clippy::too_many_arguments)]
        fn $name(
            py: Python<'_>,
            input: &Any<'_>,
            weight: &Any<'_>,
            stride: Option<&Any<'_>>,
            padding: Option<&Any<'_>>,
            dilation: Option<&Any<'_>>,
            groups: i64,
            stream: Option<&Any<'_>>,
        ) -> Arr {
            let _ = stream;
            let one = |o: Option<&Any<'_>>, d: i64| -> PyResult<ConvArg> {
                match o { Some(o) => conv_arg(o), None => Ok(ConvArg::from(d)) }
            };
            let out = mx::$name(
                &to_array(input)?, &to_array(weight)?,
                one(stride, 1)?, one(padding, 0)?, one(dilation, 1)?, groups,
            );
            wrap(py, out.py()?)
        }
    )*};
}

conv_nd!(conv1d, conv2d, conv3d);

macro_rules! conv_transpose_nd {
    ($($name:ident),*) => {$(
        #[pyfunction]
        #[pyo3(signature = (input, weight, /, stride=None, padding=None, dilation=None, output_padding=None, groups=1, *, stream=None))]
        #[allow(clippy::too_many_arguments)]
        fn $name(
            py: Python<'_>,
            input: &Any<'_>,
            weight: &Any<'_>,
            stride: Option<&Any<'_>>,
            padding: Option<&Any<'_>>,
            dilation: Option<&Any<'_>>,
            output_padding: Option<&Any<'_>>,
            groups: i64,
            stream: Option<&Any<'_>>,
        ) -> Arr {
            let _ = stream;
            let one = |o: Option<&Any<'_>>, d: i64| -> PyResult<ConvArg> {
                match o { Some(o) => conv_arg(o), None => Ok(ConvArg::from(d)) }
            };
            let out = mx::$name(
                &to_array(input)?, &to_array(weight)?,
                one(stride, 1)?, one(padding, 0)?, one(dilation, 1)?, one(output_padding, 0)?, groups,
            );
            wrap(py, out.py()?)
        }
    )*};
}

conv_transpose_nd!(conv_transpose1d, conv_transpose2d, conv_transpose3d);

/// `mx.conv_general(input, weight, stride=1, padding=0, kernel_dilation=1, input_dilation=1,
/// groups=1, flip=False)`; `padding` may be a pair of (low, high) sequences.
#[pyfunction]
#[pyo3(signature = (input, weight, /, stride=None, padding=None, kernel_dilation=None, input_dilation=None, groups=1, flip=false, *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn conv_general(
    py: Python<'_>,
    input: &Any<'_>,
    weight: &Any<'_>,
    stride: Option<&Any<'_>>,
    padding: Option<&Any<'_>>,
    kernel_dilation: Option<&Any<'_>>,
    input_dilation: Option<&Any<'_>>,
    groups: i64,
    flip: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let one = |o: Option<&Any<'_>>, d: i64| -> PyResult<ConvArg> {
        match o {
            Some(o) => conv_arg(o),
            None => Ok(ConvArg::from(d)),
        }
    };
    let pad: ConvPadding = match padding {
        None => ConvArg::from(0i64).into(),
        Some(p) => match p.extract::<(Vec<i64>, Vec<i64>)>() {
            Ok((lo, hi)) => ConvPadding { lo, hi },
            Err(_) => conv_arg(p)?.into(),
        },
    };
    let out = mx::conv_general(
        &to_array(input)?,
        &to_array(weight)?,
        one(stride, 1)?,
        pad,
        one(kernel_dilation, 1)?,
        one(input_dilation, 1)?,
        groups,
        flip,
    );
    wrap(py, out.py()?)
}

fn quant_mode(mode: &str) -> PyResult<QuantMode> {
    mode.parse::<QuantMode>().py()
}

/// `mx.quantize(w, group_size=None, bits=None, mode="affine")`: `(w_q, scales, biases)` for
/// affine, `(w_q, scales)` otherwise.
#[pyfunction]
#[pyo3(signature = (w, /, group_size=None, bits=None, mode="affine", *, global_scale=None, stream=None))]
#[allow(clippy::too_many_arguments)]
fn quantize(
    py: Python<'_>,
    w: &Any<'_>,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: &str,
    global_scale: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> PyResult<Py<PyTuple>> {
    let _ = stream;
    let (w, mode) = (to_array(w)?, quant_mode(mode)?);
    if let Some(g) = to_opt_array(global_scale)? {
        let (q, s) = mx::quantize_global_scaled(&w, group_size, bits, mode, &g).py()?;
        return Ok(PyTuple::new(py, [wrap(py, q)?, wrap(py, s)?])?.unbind());
    }
    let (q, s, b) = mx::quantize(&w, group_size, bits, mode).py()?;
    let mut items = vec![wrap(py, q)?, wrap(py, s)?];
    if let Some(b) = b {
        items.push(wrap(py, b)?);
    }
    Ok(PyTuple::new(py, items)?.unbind())
}

#[pyfunction]
#[pyo3(signature = (w, /, scales, biases=None, group_size=None, bits=None, mode="affine", dtype=None, *, global_scale=None, stream=None))]
#[allow(clippy::too_many_arguments)]
fn dequantize(
    py: Python<'_>,
    w: &Any<'_>,
    scales: &Any<'_>,
    biases: Option<&Any<'_>>,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: &str,
    dtype: Option<&Any<'_>>,
    global_scale: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let b = to_opt_array(biases)?;
    if let Some(g) = to_opt_array(global_scale)? {
        if b.is_some() {
            return Err(PyValueError::new_err(
                "[dequantize] Biases must be null for quantization mode 'nvfp4'.",
            ));
        }
        let out = mx::dequantize_global_scaled(
            &to_array(w)?,
            &to_array(scales)?,
            group_size,
            bits,
            quant_mode(mode)?,
            &g,
            to_dtype(dtype)?,
        );
        return wrap(py, out.py()?);
    }
    let out = mx::dequantize(
        &to_array(w)?,
        &to_array(scales)?,
        b.as_ref(),
        group_size,
        bits,
        quant_mode(mode)?,
        to_dtype(dtype)?,
    );
    wrap(py, out.py()?)
}

/// `mx.qqmm(x, w, scales=None, group_size=None, bits=None, mode="nvfp4")`: `x` quantized on
/// the fly times the quantized `w` (transposed). Global scales are refused, as MLX's CPU
/// does not apply them either.
#[pyfunction]
#[pyo3(signature = (x, w, scales=None, group_size=None, bits=None, mode="nvfp4", global_scale_x=None, global_scale_w=None, *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn qqmm(
    py: Python<'_>,
    x: &Any<'_>,
    w: &Any<'_>,
    scales: Option<&Any<'_>>,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: &str,
    global_scale_x: Option<&Any<'_>>,
    global_scale_w: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let (gx, gw) = (to_opt_array(global_scale_x)?, to_opt_array(global_scale_w)?);
    if gx.is_some() != gw.is_some() {
        return Err(PyValueError::new_err(
            "[qqmm] For nvfp4 mode, either both global_scale_x and global_scale_w must be \
             provided, or neither.",
        ));
    }
    if gx.is_some() {
        return Err(PyValueError::new_err(
            "[qqmm] Global scales are not supported on the CPU.",
        ));
    }
    let s = to_opt_array(scales)?;
    let out = mx::qqmm(
        &to_array(x)?,
        &to_array(w)?,
        s.as_ref(),
        group_size,
        bits,
        quant_mode(mode)?,
    );
    wrap(py, out.py()?)
}

#[pyfunction]
#[pyo3(signature = (x, w, /, scales, biases=None, transpose=true, group_size=None, bits=None, mode="affine", *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn quantized_matmul(
    py: Python<'_>,
    x: &Any<'_>,
    w: &Any<'_>,
    scales: &Any<'_>,
    biases: Option<&Any<'_>>,
    transpose: bool,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: &str,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let b = to_opt_array(biases)?;
    let out = mx::quantized_matmul(
        &to_array(x)?,
        &to_array(w)?,
        &to_array(scales)?,
        b.as_ref(),
        transpose,
        group_size,
        bits,
        quant_mode(mode)?,
    );
    wrap(py, out.py()?)
}

#[pyfunction]
#[pyo3(signature = (x, w, /, scales, biases=None, lhs_indices=None, rhs_indices=None, transpose=true, group_size=None, bits=None, mode="affine", *, sorted_indices=false, stream=None))]
#[allow(clippy::too_many_arguments)]
fn gather_qmm(
    py: Python<'_>,
    x: &Any<'_>,
    w: &Any<'_>,
    scales: &Any<'_>,
    biases: Option<&Any<'_>>,
    lhs_indices: Option<&Any<'_>>,
    rhs_indices: Option<&Any<'_>>,
    transpose: bool,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: &str,
    sorted_indices: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let (b, l, r) = (
        to_opt_array(biases)?,
        to_opt_array(lhs_indices)?,
        to_opt_array(rhs_indices)?,
    );
    let out = mx::gather_qmm(
        &to_array(x)?,
        &to_array(w)?,
        &to_array(scales)?,
        b.as_ref(),
        l.as_ref(),
        r.as_ref(),
        transpose,
        group_size,
        bits,
        quant_mode(mode)?,
        sorted_indices,
    );
    wrap(py, out.py()?)
}

#[pyfunction]
#[pyo3(signature = (a, b, /, lhs_indices=None, rhs_indices=None, *, sorted_indices=false, stream=None))]
#[allow(clippy::too_many_arguments)]
fn gather_mm(
    py: Python<'_>,
    a: &Any<'_>,
    b: &Any<'_>,
    lhs_indices: Option<&Any<'_>>,
    rhs_indices: Option<&Any<'_>>,
    sorted_indices: bool,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let (l, r) = (to_opt_array(lhs_indices)?, to_opt_array(rhs_indices)?);
    let out = mx::gather_mm(
        &to_array(a)?,
        &to_array(b)?,
        l.as_ref(),
        r.as_ref(),
        sorted_indices,
    );
    wrap(py, out.py()?)
}

#[pyfunction]
#[pyo3(signature = (a, b, /, segments, *, stream=None))]
fn segmented_mm(
    py: Python<'_>,
    a: &Any<'_>,
    b: &Any<'_>,
    segments: &Any<'_>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(
        py,
        mx::segmented_mm(&to_array(a)?, &to_array(b)?, &to_array(segments)?).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (a, b, /, block_size=64, mask_out=None, mask_lhs=None, mask_rhs=None, *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn block_masked_mm(
    py: Python<'_>,
    a: &Any<'_>,
    b: &Any<'_>,
    block_size: usize,
    mask_out: Option<&Any<'_>>,
    mask_lhs: Option<&Any<'_>>,
    mask_rhs: Option<&Any<'_>>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    let (o, l, r) = (
        to_opt_array(mask_out)?,
        to_opt_array(mask_lhs)?,
        to_opt_array(mask_rhs)?,
    );
    let out = mx::block_masked_mm(
        &to_array(a)?,
        &to_array(b)?,
        block_size,
        o.as_ref(),
        l.as_ref(),
        r.as_ref(),
    );
    wrap(py, out.py()?)
}

#[pyfunction]
#[pyo3(signature = (a, scale=None, *, stream=None))]
fn hadamard_transform(
    py: Python<'_>,
    a: &Any<'_>,
    scale: Option<f32>,
    stream: Option<&Any<'_>>,
) -> Arr {
    let _ = stream;
    wrap(py, mx::hadamard_transform(&to_array(a)?, scale).py()?)
}

#[pyfunction]
#[pyo3(signature = (x, *, stream=None))]
fn to_fp8(py: Python<'_>, x: &Any<'_>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    wrap(py, mx::to_fp8(&to_array(x)?).py()?)
}

#[pyfunction]
#[pyo3(signature = (x, dtype=None, *, stream=None))]
fn from_fp8(py: Python<'_>, x: &Any<'_>, dtype: Option<&Any<'_>>, stream: Option<&Any<'_>>) -> Arr {
    let _ = stream;
    let d = to_dtype(dtype)?.unwrap_or(mx::Dtype::Bfloat16);
    wrap(py, mx::from_fp8(&to_array(x)?, d).py()?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in [
        wrap_pyfunction!(conv1d, m)?,
        wrap_pyfunction!(conv2d, m)?,
        wrap_pyfunction!(conv3d, m)?,
        wrap_pyfunction!(conv_transpose1d, m)?,
        wrap_pyfunction!(conv_transpose2d, m)?,
        wrap_pyfunction!(conv_transpose3d, m)?,
        wrap_pyfunction!(conv_general, m)?,
        wrap_pyfunction!(quantize, m)?,
        wrap_pyfunction!(dequantize, m)?,
        wrap_pyfunction!(qqmm, m)?,
        wrap_pyfunction!(quantized_matmul, m)?,
        wrap_pyfunction!(gather_qmm, m)?,
        wrap_pyfunction!(gather_mm, m)?,
        wrap_pyfunction!(segmented_mm, m)?,
        wrap_pyfunction!(block_masked_mm, m)?,
        wrap_pyfunction!(hadamard_transform, m)?,
        wrap_pyfunction!(to_fp8, m)?,
        wrap_pyfunction!(from_fp8, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
