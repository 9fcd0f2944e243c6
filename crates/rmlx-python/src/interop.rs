//! Sharing array memory with other Python libraries: the buffer protocol (`memoryview(a)`,
//! `np.array(a, copy=False)` without a copy), DLPack in both directions (`a.__dlpack__()`,
//! `mx.from_dlpack(x)`), `__array_namespace__`, and `mx.asarray` with its `copy` argument.
//!
//! An exported buffer or DLPack tensor holds a clone of the array's `Data`, which keeps the
//! memory alive however long the consumer keeps it; as in MLX the memory is writable.

use std::ffi::{c_int, c_void, CStr};

use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use rmlx_core::{self as mx, Array, Data, Dtype};

use crate::array::PyArray;
use crate::convert::{
    array_from_bytes, array_from_py, check_import_shape, to_dtype, wrap, PyResultExt,
};

type Any<'py> = Bound<'py, PyAny>;

/// The PEP 3118 format of a dtype (MLX names bfloat16 by its own name, which numpy refuses).
fn buffer_format(d: Dtype) -> &'static CStr {
    match d {
        Dtype::Bool => c"?",
        Dtype::Uint8 => c"B",
        Dtype::Uint16 => c"H",
        Dtype::Uint32 => c"I",
        Dtype::Uint64 => c"Q",
        Dtype::Int8 => c"b",
        Dtype::Int16 => c"h",
        Dtype::Int32 => c"i",
        Dtype::Int64 => c"q",
        Dtype::Float16 => c"e",
        Dtype::Bfloat16 => c"bfloat16",
        Dtype::Float32 => c"f",
        Dtype::Float64 => c"d",
        Dtype::Complex64 => c"Zf",
    }
}

/// What an exported buffer points into: kept alive until the consumer releases the buffer.
struct BufferState {
    _data: Data,
    shape: Vec<ffi::Py_ssize_t>,
    strides: Vec<ffi::Py_ssize_t>,
}

#[pymethods]
impl PyArray {
    /// The buffer protocol: the evaluated array's memory with its shape and byte strides.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        if view.is_null() {
            return Err(PyBufferError::new_err("View is null"));
        }
        let a = slf.borrow().inner.clone();
        let data = a.data().py()?;
        let item = a.itemsize() as isize;
        let contiguous = data.is_row_contiguous();
        let wants = |f: c_int| flags & f == f;
        if !contiguous
            && (!wants(ffi::PyBUF_STRIDES)
                || wants(ffi::PyBUF_C_CONTIGUOUS)
                || wants(ffi::PyBUF_F_CONTIGUOUS)
                || wants(ffi::PyBUF_ANY_CONTIGUOUS))
        {
            return Err(PyBufferError::new_err(
                "The array is not contiguous: ask for a strided buffer.",
            ));
        }
        // A broadcast (a zero stride over several elements) shares one element between many
        // positions: writing through the buffer would change them all, so it is read-only.
        let aliased = a
            .shape()
            .iter()
            .zip(data.strides())
            .any(|(&d, &s)| d > 1 && s == 0);
        if aliased && wants(ffi::PyBUF_WRITABLE) {
            return Err(PyBufferError::new_err(
                "The array is a broadcast view (elements share memory): its buffer is read-only.",
            ));
        }
        let state = Box::new(BufferState {
            shape: a.shape().iter().map(|&d| d as ffi::Py_ssize_t).collect(),
            strides: data.strides().iter().map(|&s| s * item).collect(),
            _data: data.clone(),
        });
        // SAFETY: `view` is a valid Py_buffer to fill (checked non-null); the pointers stored in
        // it stay valid until __releasebuffer__ frees `state`, which also keeps the memory alive.
        unsafe {
            let v = &mut *view;
            v.buf = data.as_ptr().add(data.offset() * item as usize) as *mut c_void;
            v.obj = slf.clone().into_any().into_ptr();
            v.len = (a.size() as isize * item) as ffi::Py_ssize_t;
            v.readonly = c_int::from(aliased);
            v.itemsize = item as ffi::Py_ssize_t;
            v.format = if wants(ffi::PyBUF_FORMAT) {
                buffer_format(a.dtype()).as_ptr() as *mut _
            } else {
                std::ptr::null_mut()
            };
            v.ndim = a.ndim() as c_int;
            v.shape = if wants(ffi::PyBUF_ND) {
                state.shape.as_ptr() as *mut _
            } else {
                std::ptr::null_mut()
            };
            v.strides = if wants(ffi::PyBUF_STRIDES) {
                state.strides.as_ptr() as *mut _
            } else {
                std::ptr::null_mut()
            };
            v.suboffsets = std::ptr::null_mut();
            v.internal = Box::into_raw(state) as *mut c_void;
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: `internal` was set by __getbuffer__ to a leaked BufferState, freed once here.
        unsafe {
            let internal = (*view).internal;
            if !internal.is_null() {
                drop(Box::from_raw(internal as *mut BufferState));
                (*view).internal = std::ptr::null_mut();
            }
        }
    }

    /// `a.__dlpack__()`: a DLPack capsule sharing the array's memory (CPU device).
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__(
        &self,
        py: Python<'_>,
        stream: Option<&Any<'_>>,
        max_version: Option<&Any<'_>>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        let _ = (stream, max_version);
        if let Some((kind, _)) = dl_device {
            if kind != DL_CPU {
                return Err(PyValueError::new_err(
                    "[__dlpack__] rmlx arrays live on the CPU (device type 1).",
                ));
            }
        }
        // rmlx arrays are immutable, so sharing the memory is as good as a copy.
        let _ = copy;
        export_dlpack(py, &self.inner)
    }

    /// `(device_type, device_id)`: (1, 0), the CPU.
    fn __dlpack_device__(&self) -> (i32, i32) {
        (DL_CPU, 0)
    }

    /// The array API namespace: this module.
    #[pyo3(signature = (*, api_version=None))]
    fn __array_namespace__(
        &self,
        py: Python<'_>,
        api_version: Option<&Any<'_>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = api_version;
        Ok(py.import("rmlx.core")?.into_any().unbind())
    }

    fn __complex__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let v = self.item(py)?;
        Ok(py
            .import("builtins")?
            .getattr("complex")?
            .call1((v,))?
            .unbind())
    }
}

// --- DLPack (the C structs of dlpack.h, version 0.8 layout) ---------------------------------

const DL_CPU: i32 = 1;
const DL_CUDA_HOST: i32 = 3;
const DL_INT: u8 = 0;
const DL_UINT: u8 = 1;
const DL_FLOAT: u8 = 2;
const DL_BFLOAT: u8 = 4;
const DL_COMPLEX: u8 = 5;
const DL_BOOL: u8 = 6;

#[repr(C)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

/// DLPack 1.x's tensor (`dltensor_versioned` capsules): it can say the memory is read-only.
#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

/// An exported tensor with what keeps its memory and shape alive (`managed` first, so a
/// pointer to it is a pointer to the whole).
#[repr(C)]
struct Exported {
    managed: DLManagedTensor,
    _data: Data,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

unsafe extern "C" fn delete_exported(t: *mut DLManagedTensor) {
    // SAFETY: `t` is the `managed` field at the start of a leaked Box<Exported>.
    unsafe { drop(Box::from_raw(t as *mut Exported)) }
}

/// The capsule's destructor: frees the tensor unless a consumer took it (renamed the capsule).
unsafe extern "C" fn dlpack_capsule_destructor(capsule: *mut ffi::PyObject) {
    // SAFETY: called by Python with a capsule created in export_dlpack.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, c"dltensor".as_ptr()) == 1 {
            let t =
                ffi::PyCapsule_GetPointer(capsule, c"dltensor".as_ptr()) as *mut DLManagedTensor;
            if let Some(del) = (*t).deleter {
                del(t);
            }
        } else {
            ffi::PyErr_Clear();
        }
    }
}

fn dl_dtype(d: Dtype) -> DLDataType {
    let code = match d {
        Dtype::Bool => DL_BOOL,
        Dtype::Uint8 | Dtype::Uint16 | Dtype::Uint32 | Dtype::Uint64 => DL_UINT,
        Dtype::Int8 | Dtype::Int16 | Dtype::Int32 | Dtype::Int64 => DL_INT,
        Dtype::Float16 | Dtype::Float32 | Dtype::Float64 => DL_FLOAT,
        Dtype::Bfloat16 => DL_BFLOAT,
        Dtype::Complex64 => DL_COMPLEX,
    };
    DLDataType {
        code,
        bits: (d.size() * 8) as u8,
        lanes: 1,
    }
}

fn export_dlpack(py: Python<'_>, a: &Array) -> PyResult<Py<PyAny>> {
    let data = a.data().py()?;
    let mut exported = Box::new(Exported {
        managed: DLManagedTensor {
            dl_tensor: DLTensor {
                data: data.as_ptr() as *mut c_void,
                device: DLDevice {
                    device_type: DL_CPU,
                    device_id: 0,
                },
                ndim: a.ndim() as i32,
                dtype: dl_dtype(a.dtype()),
                shape: std::ptr::null_mut(),
                strides: std::ptr::null_mut(),
                byte_offset: (data.offset() * a.itemsize()) as u64,
            },
            manager_ctx: std::ptr::null_mut(),
            deleter: Some(delete_exported),
        },
        shape: a.shape().iter().map(|&d| d as i64).collect(),
        strides: data.strides().iter().map(|&s| s as i64).collect(),
        _data: data,
    });
    exported.managed.dl_tensor.shape = exported.shape.as_mut_ptr();
    exported.managed.dl_tensor.strides = exported.strides.as_mut_ptr();
    let raw = Box::into_raw(exported);
    // SAFETY: `raw` stays valid until the deleter runs (from the capsule's destructor or the
    // consumer that renamed the capsule); the name is a static string.
    unsafe {
        (*raw).managed.manager_ctx = raw as *mut c_void;
        let cap = ffi::PyCapsule_New(
            raw as *mut c_void,
            c"dltensor".as_ptr(),
            Some(dlpack_capsule_destructor),
        );
        if cap.is_null() {
            drop(Box::from_raw(raw));
            return Err(PyErr::fetch(py));
        }
        Ok(Py::from_owned_ptr(py, cap))
    }
}

/// The rmlx dtype a DLPack tensor of `t` is read as (before float64/complex128 narrowing).
fn import_dtype(t: &DLDataType) -> PyResult<Dtype> {
    let d = match (t.code, t.bits) {
        (DL_BOOL, 8) => Dtype::Bool,
        (DL_UINT, 8) => Dtype::Uint8,
        (DL_UINT, 16) => Dtype::Uint16,
        (DL_UINT, 32) => Dtype::Uint32,
        (DL_UINT, 64) => Dtype::Uint64,
        (DL_INT, 8) => Dtype::Int8,
        (DL_INT, 16) => Dtype::Int16,
        (DL_INT, 32) => Dtype::Int32,
        (DL_INT, 64) => Dtype::Int64,
        (DL_FLOAT, 16) => Dtype::Float16,
        (DL_FLOAT, 32) => Dtype::Float32,
        (DL_FLOAT, 64) => Dtype::Float64,
        (DL_BFLOAT, 16) => Dtype::Bfloat16,
        (DL_COMPLEX, 64) => Dtype::Complex64,
        (code, bits) => {
            return Err(PyValueError::new_err(format!(
                "[from_dlpack] Unsupported DLPack dtype (code {code}, {bits} bits)."
            )));
        }
    };
    if t.lanes != 1 {
        return Err(PyValueError::new_err(
            "[from_dlpack] Vector (multi-lane) DLPack dtypes are not supported.",
        ));
    }
    Ok(d)
}

/// Copies a DLPack tensor into a new array that keeps the tensor's strides (MLX's dtypes:
/// float64 becomes float32 and complex128 complex64, as in MLX).
///
/// # Safety
/// `t` must point to a live DLTensor on the CPU whose shape, strides and data are valid.
unsafe fn import_tensor(t: &DLTensor) -> PyResult<Array> {
    if t.device.device_type != DL_CPU && t.device.device_type != DL_CUDA_HOST {
        return Err(PyValueError::new_err(format!(
            "[from_dlpack] Only CPU tensors can be imported, got device type {}.",
            t.device.device_type
        )));
    }
    let complex128 = t.dtype.code == DL_COMPLEX && t.dtype.bits == 128;
    let dtype = if complex128 {
        Dtype::Float64 // read as pairs of float64, combined below
    } else {
        import_dtype(&t.dtype)?
    };
    let ndim = usize::try_from(t.ndim)
        .map_err(|_| PyValueError::new_err("[from_dlpack] Negative ndim."))?;
    // SAFETY: the producer guarantees `ndim` shape entries (and strides when non-null).
    let shape: Vec<i64> = if ndim == 0 {
        vec![]
    } else {
        unsafe { std::slice::from_raw_parts(t.shape, ndim) }.to_vec()
    };
    if shape.iter().any(|&d| d < 0) {
        return Err(PyValueError::new_err("[from_dlpack] Negative dimension."));
    }
    let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    check_import_shape(&shape)?;
    let lanes = if complex128 { 2 } else { 1 };
    let strides: Vec<isize> = if t.strides.is_null() || ndim == 0 {
        mx::array::row_major_strides(&shape)
    } else {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(t.strides, ndim) }
            .iter()
            .map(|&s| s as isize)
            .collect()
    };
    if strides.iter().any(|&s| s < 0) {
        return Err(PyValueError::new_err(
            "[from_dlpack] Negative strides are not supported.",
        ));
    }
    let size: usize = shape.iter().product();
    // Elements the tensor spans, from its first element to its last.
    let extent = if size == 0 {
        0
    } else {
        1 + shape
            .iter()
            .zip(&strides)
            .map(|(&d, &s)| (d - 1) * s as usize)
            .sum::<usize>()
    };
    let nbytes = extent
        .checked_mul(dtype.size() * lanes)
        .ok_or_else(|| PyValueError::new_err("[from_dlpack] The tensor is too large."))?;
    let bytes: &[u8] = if nbytes == 0 {
        &[]
    } else {
        // SAFETY: the producer's data spans `extent` elements from data + byte_offset.
        unsafe {
            std::slice::from_raw_parts((t.data as *const u8).add(t.byte_offset as usize), nbytes)
        }
    };
    let flat = if complex128 {
        // Interleaved (re, im) float64 pairs, narrowed to complex64 as MLX does.
        let values: Vec<mx::C64> = bytes
            .chunks_exact(16)
            .map(|c| {
                let part = |b: &[u8]| f64::from_ne_bytes(b.try_into().unwrap_or([0; 8])) as f32;
                mx::C64::new(part(&c[..8]), part(&c[8..]))
            })
            .collect();
        Array::from_slice(&values, &[extent]).py()?
    } else {
        array_from_bytes(bytes, &[extent], dtype)?
    };
    let out = if size == 0 {
        mx::zeros(&shape, flat.dtype()).py()?
    } else if strides == mx::array::row_major_strides(&shape) {
        flat.reshape(shape.iter().map(|&d| d as isize).collect::<Vec<_>>())
            .py()?
    } else {
        // Keep the producer's layout: a strided view of the copied span.
        mx::as_strided(&flat, shape.as_slice(), &strides, 0).py()?
    };
    match out.dtype() {
        Dtype::Float64 => mx::astype(&out, Dtype::Float32).py(),
        _ => Ok(out),
    }
}

/// `mx.from_dlpack(x, /, *, device=None, copy=None)`: an array from any DLPack producer on
/// the CPU. The data is copied (the layout kept); `copy=False` is refused as in MLX's CPU
/// build.
#[pyfunction]
#[pyo3(signature = (x, /, *, device=None, copy=None))]
fn from_dlpack(
    py: Python<'_>,
    x: &Any<'_>,
    device: Option<&Any<'_>>,
    copy: Option<bool>,
) -> PyResult<Py<PyArray>> {
    let _ = device;
    if let Ok(a) = x.cast::<PyArray>() {
        // Immutable: a new handle on the same array serves every `copy`.
        return wrap(py, a.borrow().inner.clone());
    }
    if copy == Some(false) {
        return Err(PyValueError::new_err(
            "[from_dlpack] Cannot import a CPU array without a copy.",
        ));
    }
    // Ask for DLPack 1.0 (which can share read-only memory, e.g. a numpy broadcast); older
    // producers take no arguments.
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("max_version", (1, 0))?;
    let cap = match x.call_method("__dlpack__", (), Some(&kwargs)) {
        Ok(c) => c,
        Err(e) if e.is_instance_of::<PyTypeError>(py) => x.call_method0("__dlpack__")?,
        Err(e) => return Err(e),
    };
    // SAFETY: a "dltensor" capsule holds a DLManagedTensor, a "dltensor_versioned" one a
    // DLManagedTensorVersioned; either stays valid while the capsule lives (we copy the data
    // and do not take ownership: the capsule's destructor frees it).
    let array = unsafe {
        let legacy = ffi::PyCapsule_GetPointer(cap.as_ptr(), c"dltensor".as_ptr());
        if !legacy.is_null() {
            import_tensor(&(*(legacy as *const DLManagedTensor)).dl_tensor)?
        } else {
            ffi::PyErr_Clear();
            let versioned = ffi::PyCapsule_GetPointer(cap.as_ptr(), c"dltensor_versioned".as_ptr());
            if versioned.is_null() {
                ffi::PyErr_Clear();
                return Err(PyTypeError::new_err(
                    "[from_dlpack] __dlpack__ did not return a DLPack capsule.",
                ));
            }
            let t = &*(versioned as *const DLManagedTensorVersioned);
            if t.version.major != 1 {
                return Err(PyValueError::new_err(format!(
                    "[from_dlpack] Unsupported DLPack version {}.{}.",
                    t.version.major, t.version.minor
                )));
            }
            import_tensor(&t.dl_tensor)?
        }
    };
    drop(cap);
    wrap(py, array)
}

/// `mx.asarray(a, dtype=None, *, copy=None)`: `a` itself when it already is an array of the
/// dtype, else a new array. `copy=False` raises: on the CPU every import copies, as in MLX.
#[pyfunction]
#[pyo3(signature = (a, dtype=None, *, copy=None))]
fn asarray(
    py: Python<'_>,
    a: &Any<'_>,
    dtype: Option<&Any<'_>>,
    copy: Option<bool>,
) -> PyResult<Py<PyAny>> {
    if copy == Some(false) {
        return Err(PyValueError::new_err(
            "Unable to avoid copy while creating an array as requested.",
        ));
    }
    // From an rmlx array this is a new handle (arrays are immutable, so it serves as a copy).
    Ok(wrap(py, array_from_py(a, to_dtype(dtype)?)?)?.into_any())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(from_dlpack, m)?)?;
    m.add_function(wrap_pyfunction!(asarray, m)?)?;
    Ok(())
}
