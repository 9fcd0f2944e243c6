//! Devices and streams (`mx.cpu`, `mx.Device`, `mx.Stream`, `mx.stream(...)`), the memory
//! functions, and the `metal` / `cuda` namespaces (rmlx runs on the CPU only: they report no
//! GPU).

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rmlx_core::{self as mx, Device, DeviceType, Stream};

use crate::convert::PyResultExt;

/// `mx.cpu` / `mx.gpu`: a kind of device.
#[pyclass(name = "DeviceType", module = "mlx.core", frozen)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyDeviceType(pub DeviceType);

#[pymethods]
impl PyDeviceType {
    /// Equal to the same DeviceType, or to a Device of this type with index 0.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        if let Ok(t) = other.cast::<PyDeviceType>() {
            return t.get().0 == self.0;
        }
        if let Ok(d) = other.cast::<PyDevice>() {
            return d.get().0 == Device::new(self.0, 0);
        }
        false
    }

    fn __hash__(&self) -> u64 {
        self.0 as u64
    }

    fn __repr__(&self) -> &'static str {
        match self.0 {
            DeviceType::Cpu => "DeviceType.cpu",
            DeviceType::Gpu => "DeviceType.gpu",
        }
    }
}

/// A device: a type and an index.
#[pyclass(name = "Device", module = "mlx.core", frozen)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyDevice(pub Device);

#[pymethods]
impl PyDevice {
    #[new]
    #[pyo3(signature = (r#type, index=0))]
    fn py_new(r#type: PyDeviceType, index: usize) -> Self {
        PyDevice(Device::new(r#type.0, index))
    }

    /// Equal to another Device with the same type and index, or to its DeviceType (index 0).
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        if let Ok(d) = other.cast::<PyDevice>() {
            return d.get().0 == self.0;
        }
        if let Ok(t) = other.cast::<PyDeviceType>() {
            return self.0 == Device::new(t.get().0, 0);
        }
        false
    }

    fn __hash__(&self) -> u64 {
        (self.0.device_type as u64) << 32 | self.0.index as u64
    }

    #[getter(r#type)]
    fn device_type(&self) -> PyDeviceType {
        PyDeviceType(self.0.device_type)
    }

    fn __repr__(&self) -> String {
        format!("{}", self.0)
    }
}

/// A stream of a device.
#[pyclass(name = "Stream", module = "mlx.core", frozen, eq, hash)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyStream(pub Stream);

#[pymethods]
impl PyStream {
    #[getter]
    fn device(&self) -> PyDevice {
        PyDevice(self.0.device)
    }

    fn __repr__(&self) -> String {
        if is_thread_local(self.0) {
            format!("ThreadLocalStream({}, {})", self.0.device, self.0.index)
        } else {
            format!("{}", self.0)
        }
    }
}

/// How MLX's Python streams may be shared between threads. rmlx's core streams work from any
/// thread; MLX binds a stream made by `new_stream` to the thread that made it (another thread
/// using it is a RuntimeError), while `new_thread_local_stream` and `new_thread_unsafe_stream`
/// streams may be used anywhere. The bindings keep MLX's rule for Python programs.
#[derive(Clone, Copy)]
enum Sharing {
    OwnedBy(std::thread::ThreadId),
    ThreadLocal,
}

/// The sharing of the streams made through the bindings, by stream index (the default streams
/// and thread-unsafe streams are not listed: any thread may use them).
static SHARING: std::sync::Mutex<Vec<(usize, Sharing)>> = std::sync::Mutex::new(Vec::new());

fn remember_sharing(s: Stream, sharing: Sharing) {
    SHARING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((s.index, sharing));
}

fn sharing_of(s: Stream) -> Option<Sharing> {
    let list = SHARING.lock().unwrap_or_else(|e| e.into_inner());
    list.iter().find(|(i, _)| *i == s.index).map(|(_, k)| *k)
}

fn is_thread_local(s: Stream) -> bool {
    matches!(sharing_of(s), Some(Sharing::ThreadLocal))
}

/// MLX's error for a stream of another thread.
fn check_owner(s: Stream) -> PyResult<Stream> {
    match sharing_of(s) {
        Some(Sharing::OwnedBy(t)) if t != std::thread::current().id() => {
            let kind = match s.device.device_type {
                DeviceType::Cpu => "cpu",
                DeviceType::Gpu => "gpu",
            };
            Err(PyRuntimeError::new_err(format!(
                "There is no Stream({kind}, {}) in current thread.",
                s.index
            )))
        }
        _ => Ok(s),
    }
}

/// A `Device` from a `Device` or a `DeviceType`.
fn to_device(obj: &Bound<'_, PyAny>) -> PyResult<Device> {
    if let Ok(d) = obj.cast::<PyDevice>() {
        return Ok(d.get().0);
    }
    if let Ok(t) = obj.cast::<PyDeviceType>() {
        return Ok(Device::new(t.get().0, 0));
    }
    Err(PyValueError::new_err("Expected a Device or a DeviceType."))
}

/// A `Stream` from a `Stream`, a `Device` (its default stream) or a `DeviceType`.
pub fn to_stream(obj: &Bound<'_, PyAny>) -> PyResult<Stream> {
    if let Ok(s) = obj.cast::<PyStream>() {
        return check_owner(s.get().0);
    }
    mx::default_stream(to_device(obj)?).py()
}

#[pyfunction]
fn default_device() -> PyDevice {
    PyDevice(mx::default_device())
}

#[pyfunction]
fn set_default_device(device: &Bound<'_, PyAny>) -> PyResult<()> {
    mx::set_default_device(to_device(device)?).py()
}

#[pyfunction]
#[pyo3(signature = (device=None))]
fn default_stream(device: Option<&Bound<'_, PyAny>>) -> PyResult<PyStream> {
    let d = match device {
        Some(d) => to_device(d)?,
        None => mx::default_device(),
    };
    Ok(PyStream(mx::default_stream(d).py()?))
}

#[pyfunction]
fn set_default_stream(stream: &Bound<'_, PyAny>) -> PyResult<()> {
    mx::set_default_stream(to_stream(stream)?).py()
}

#[pyfunction]
fn new_stream(device: &Bound<'_, PyAny>) -> PyResult<PyStream> {
    let s = mx::new_stream(to_device(device)?).py()?;
    remember_sharing(s, Sharing::OwnedBy(std::thread::current().id()));
    Ok(PyStream(s))
}

#[pyfunction]
fn new_thread_local_stream(device: &Bound<'_, PyAny>) -> PyResult<PyStream> {
    let s = mx::new_thread_local_stream(to_device(device)?).py()?;
    remember_sharing(s, Sharing::ThreadLocal);
    Ok(PyStream(s))
}

#[pyfunction]
fn new_thread_unsafe_stream(device: &Bound<'_, PyAny>) -> PyResult<PyStream> {
    Ok(PyStream(
        mx::new_thread_unsafe_stream(to_device(device)?).py()?,
    ))
}

#[pyfunction]
#[pyo3(signature = (stream=None))]
fn synchronize(stream: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    let s = match stream {
        Some(s) if !s.is_none() => Some(to_stream(s)?),
        _ => None,
    };
    mx::synchronize(s).py()
}

#[pyfunction]
fn clear_streams() {
    mx::clear_streams();
}

#[pyfunction]
fn is_available(device: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(mx::is_available(to_device(device)?))
}

#[pyfunction]
fn device_count(device_type: PyDeviceType) -> usize {
    mx::device_count(device_type.0)
}

#[pyfunction]
#[pyo3(signature = (device=None))]
fn device_info<'py>(
    py: Python<'py>,
    device: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = match device {
        Some(d) if !d.is_none() => Some(to_device(d)?),
        _ => None,
    };
    let info = mx::device_info(d).py()?;
    let out = PyDict::new(py);
    for (k, v) in info {
        match v.parse::<i64>() {
            Ok(n) => out.set_item(k, n)?,
            Err(_) => out.set_item(k, v)?,
        }
    }
    Ok(out)
}

/// The entered stream of a `with mx.stream(s):` block.
#[pyclass(name = "StreamContext", module = "mlx.core", unsendable)]
pub struct StreamContext {
    stream: Stream,
    guard: Option<mx::StreamGuard>,
}

#[pymethods]
impl StreamContext {
    fn __enter__(&mut self) {
        self.guard = Some(mx::stream(self.stream));
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&mut self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.guard = None;
    }
}

/// `with mx.stream(s):` runs the block's ops on `s` (a Stream, Device or DeviceType).
#[pyfunction]
fn stream(s: &Bound<'_, PyAny>) -> PyResult<StreamContext> {
    Ok(StreamContext {
        stream: to_stream(s)?,
        guard: None,
    })
}

// Memory functions.

#[pyfunction]
fn get_active_memory() -> usize {
    mx::get_active_memory()
}

#[pyfunction]
fn get_peak_memory() -> usize {
    mx::get_peak_memory()
}

#[pyfunction]
fn reset_peak_memory() {
    mx::reset_peak_memory()
}

#[pyfunction]
fn get_cache_memory() -> usize {
    mx::get_cache_memory()
}

#[pyfunction]
fn set_memory_limit(limit: usize) -> usize {
    mx::set_memory_limit(limit)
}

#[pyfunction]
fn get_memory_limit() -> usize {
    mx::get_memory_limit()
}

#[pyfunction]
fn set_cache_limit(limit: usize) -> usize {
    mx::set_cache_limit(limit)
}

#[pyfunction]
fn set_wired_limit(limit: usize) -> usize {
    mx::set_wired_limit(limit)
}

#[pyfunction]
fn clear_cache() {
    mx::clear_cache()
}

/// `mx.metal.is_available()` / `mx.cuda.is_available()`: rmlx has no GPU backend.
#[pyfunction]
fn gpu_backend_available() -> bool {
    false
}

// `wrap_pyfunction!` imports each function as `wrapped_pyfunction`, which clippy reads as
// dropping the "unsafe" of `new_thread_unsafe_stream` (MLX's name, not a Rust `unsafe`).
#[allow(clippy::unsafe_removed_from_name)]
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDeviceType>()?;
    m.add_class::<PyDevice>()?;
    m.add_class::<PyStream>()?;
    m.add_class::<StreamContext>()?;
    m.add("cpu", PyDeviceType(DeviceType::Cpu))?;
    m.add("gpu", PyDeviceType(DeviceType::Gpu))?;
    for f in [
        wrap_pyfunction!(default_device, m)?,
        wrap_pyfunction!(set_default_device, m)?,
        wrap_pyfunction!(default_stream, m)?,
        wrap_pyfunction!(set_default_stream, m)?,
        wrap_pyfunction!(new_stream, m)?,
        wrap_pyfunction!(new_thread_local_stream, m)?,
        wrap_pyfunction!(new_thread_unsafe_stream, m)?,
        wrap_pyfunction!(synchronize, m)?,
        wrap_pyfunction!(clear_streams, m)?,
        wrap_pyfunction!(is_available, m)?,
        wrap_pyfunction!(device_count, m)?,
        wrap_pyfunction!(device_info, m)?,
        wrap_pyfunction!(stream, m)?,
        wrap_pyfunction!(get_active_memory, m)?,
        wrap_pyfunction!(get_peak_memory, m)?,
        wrap_pyfunction!(reset_peak_memory, m)?,
        wrap_pyfunction!(get_cache_memory, m)?,
        wrap_pyfunction!(set_memory_limit, m)?,
        wrap_pyfunction!(get_memory_limit, m)?,
        wrap_pyfunction!(set_cache_limit, m)?,
        wrap_pyfunction!(set_wired_limit, m)?,
        wrap_pyfunction!(clear_cache, m)?,
    ] {
        m.add_function(f)?;
    }
    for name in ["metal", "cuda"] {
        let sub = PyModule::new(m.py(), name)?;
        let f = wrap_pyfunction!(gpu_backend_available, &sub)?;
        sub.add("is_available", f)?;
        m.add_submodule(&sub)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// mx.distributed: one process (rmlx has no communication backend); the collectives are the
// identity on a group of size 1, as in MLX without a backend.

/// A group of processes (`mx.distributed.init()`); always of size 1 in rmlx.
#[pyclass(name = "Group", module = "mlx.core.distributed")]
#[derive(Clone)]
pub struct PyGroup(mx::distributed::Group);

#[pymethods]
impl PyGroup {
    fn rank(&self) -> usize {
        self.0.rank()
    }

    fn size(&self) -> usize {
        self.0.size()
    }

    #[pyo3(signature = (color, key=-1))]
    fn split(&self, color: i32, key: i32) -> PyResult<PyGroup> {
        let key = if key < 0 { None } else { Some(key) };
        Ok(PyGroup(self.0.split(color, key).py()?))
    }
}

fn group_of(group: Option<&Bound<'_, PyAny>>) -> PyResult<Option<mx::distributed::Group>> {
    match group {
        Some(g) if !g.is_none() => Ok(Some(g.cast::<PyGroup>()?.borrow().0)),
        _ => Ok(None),
    }
}

#[pyfunction]
#[pyo3(name = "is_available", signature = (backend="any"))]
fn distributed_is_available(backend: &str) -> bool {
    let _ = backend;
    mx::distributed::is_available()
}

#[pyfunction]
#[pyo3(signature = (strict=false, backend="any"))]
fn init(strict: bool, backend: &str) -> PyResult<PyGroup> {
    let _ = backend;
    Ok(PyGroup(mx::distributed::init(strict).py()?))
}

macro_rules! collectives {
    ($($name:ident),*) => {$(
        #[pyfunction]
        #[pyo3(signature = (x, *, group=None, stream=None))]
        fn $name(py: Python<'_>, x: &Bound<'_, PyAny>, group: Option<&Bound<'_, PyAny>>, stream: Option<&Bound<'_, PyAny>>) -> PyResult<Py<crate::array::PyArray>> {
            let _ = stream;
            crate::convert::wrap(py, mx::distributed::$name(&crate::convert::to_array(x)?, group_of(group)?).py()?)
        }
    )*};
}

collectives!(all_sum, all_max, all_min, all_gather, sum_scatter);

#[pyfunction]
#[pyo3(signature = (x, dst, *, group=None, stream=None))]
fn send(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    dst: usize,
    group: Option<&Bound<'_, PyAny>>,
    stream: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<crate::array::PyArray>> {
    let _ = stream;
    crate::convert::wrap(
        py,
        mx::distributed::send(&crate::convert::to_array(x)?, dst, group_of(group)?).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (shape, dtype, src, *, group=None, stream=None))]
fn recv(
    py: Python<'_>,
    shape: Vec<usize>,
    dtype: crate::dtype::PyDtype,
    src: usize,
    group: Option<&Bound<'_, PyAny>>,
    stream: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<crate::array::PyArray>> {
    let _ = stream;
    crate::convert::wrap(
        py,
        mx::distributed::recv(&shape, dtype.0, src, group_of(group)?).py()?,
    )
}

#[pyfunction]
#[pyo3(signature = (x, src, *, group=None, stream=None))]
fn recv_like(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    src: usize,
    group: Option<&Bound<'_, PyAny>>,
    stream: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<crate::array::PyArray>> {
    let _ = stream;
    crate::convert::wrap(
        py,
        mx::distributed::recv_like(&crate::convert::to_array(x)?, src, group_of(group)?).py()?,
    )
}

pub fn register_distributed(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let m = PyModule::new(parent.py(), "distributed")?;
    m.add_class::<PyGroup>()?;
    for f in [
        wrap_pyfunction!(distributed_is_available, &m)?,
        wrap_pyfunction!(init, &m)?,
        wrap_pyfunction!(all_sum, &m)?,
        wrap_pyfunction!(all_max, &m)?,
        wrap_pyfunction!(all_min, &m)?,
        wrap_pyfunction!(all_gather, &m)?,
        wrap_pyfunction!(sum_scatter, &m)?,
        wrap_pyfunction!(send, &m)?,
        wrap_pyfunction!(recv, &m)?,
        wrap_pyfunction!(recv_like, &m)?,
    ] {
        m.add_function(f)?;
    }
    parent.add_submodule(&m)
}
