//! Devices and streams. rmlx runs on the CPU today; the types follow MLX so that code written
//! for MLX translates, and a GPU backend can slot in later.

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The kind of a device.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeviceType {
    Cpu,
    Gpu,
}

/// A device: a type and an index.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Device {
    pub device_type: DeviceType,
    pub index: usize,
}

/// The CPU device (`mx.cpu`).
#[allow(non_upper_case_globals)]
pub const cpu: Device = Device {
    device_type: DeviceType::Cpu,
    index: 0,
};
/// The GPU device (`mx.gpu`): not available in this build.
#[allow(non_upper_case_globals)]
pub const gpu: Device = Device {
    device_type: DeviceType::Gpu,
    index: 0,
};

impl Device {
    /// A device of the given type and index.
    pub fn new(device_type: DeviceType, index: usize) -> Device {
        Device { device_type, index }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = match self.device_type {
            DeviceType::Cpu => "cpu",
            DeviceType::Gpu => "gpu",
        };
        write!(f, "Device({t}, {})", self.index)
    }
}

/// Whether a device is available: only the CPU is, in this build.
pub fn is_available(device: Device) -> bool {
    device.device_type == DeviceType::Cpu && device.index == 0
}

/// Number of devices of a type.
pub fn device_count(device_type: DeviceType) -> usize {
    usize::from(device_type == DeviceType::Cpu)
}

/// A stream of work on a device.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Stream {
    pub index: usize,
    pub device: Device,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stream({}, {})", self.device, self.index)
    }
}

static DEFAULT_DEVICE: Mutex<Device> = Mutex::new(cpu);
static DEFAULT_STREAM: Mutex<Stream> = Mutex::new(Stream {
    index: 0,
    device: cpu,
});
static NEXT_STREAM: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// Streams pushed by [`stream`] guards on this thread, innermost last.
    static STREAM_SCOPE: RefCell<Vec<Stream>> = const { RefCell::new(Vec::new()) };
}

/// The default device (`mx.default_device()`).
pub fn default_device() -> Device {
    *DEFAULT_DEVICE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets the default device; an unavailable device is an error.
///
/// ```
/// use rmlx_core as mx;
/// assert!(mx::set_default_device(mx::gpu).is_err());
/// mx::set_default_device(mx::cpu)?;
/// # Ok::<(), mx::Error>(())
/// ```
pub fn set_default_device(device: Device) -> Result<()> {
    if !is_available(device) {
        return Err(Error::value(format!(
            "[set_default_device] {device} is not available."
        )));
    }
    *DEFAULT_DEVICE.lock().unwrap_or_else(|e| e.into_inner()) = device;
    Ok(())
}

/// The stream ops are scheduled on now: the innermost [`stream`] scope, else the default.
pub fn default_stream(device: Device) -> Result<Stream> {
    if !is_available(device) {
        return Err(Error::value(format!(
            "[default_stream] {device} is not available."
        )));
    }
    let scoped = STREAM_SCOPE.with(|s| s.borrow().last().copied());
    Ok(scoped
        .filter(|s| s.device == device)
        .unwrap_or_else(|| *DEFAULT_STREAM.lock().unwrap_or_else(|e| e.into_inner())))
}

/// Sets the default stream.
pub fn set_default_stream(stream: Stream) -> Result<()> {
    if !is_available(stream.device) {
        return Err(Error::value(format!(
            "[set_default_stream] {} is not available.",
            stream.device
        )));
    }
    *DEFAULT_STREAM.lock().unwrap_or_else(|e| e.into_inner()) = stream;
    Ok(())
}

/// A new stream on a device.
pub fn new_stream(device: Device) -> Result<Stream> {
    if !is_available(device) {
        return Err(Error::value(format!(
            "[new_stream] {device} is not available."
        )));
    }
    Ok(Stream {
        index: NEXT_STREAM.fetch_add(1, Ordering::Relaxed),
        device,
    })
}

/// Waits until the work scheduled so far (also by `async_eval`) is done, and returns the error
/// of a failed `async_eval` among that work (MLX raises it here too; it also stays on the
/// arrays).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::exp(&mx::ones(&[4], mx::float32)?)?;
/// mx::async_eval([&a])?;
/// mx::synchronize(None)?;
/// assert!(a.is_evaluated());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn synchronize(_stream: Option<Stream>) -> Result<()> {
    crate::eval::synchronize()
}

/// Makes `s` the stream of the current thread until the guard drops (`with mx.stream(s):`).
///
/// ```
/// use rmlx_core as mx;
/// let s = mx::new_stream(mx::cpu)?;
/// {
///     let _g = mx::stream(s);
///     assert_eq!(mx::default_stream(mx::cpu)?, s);
/// }
/// assert_ne!(mx::default_stream(mx::cpu)?, s);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn stream(s: Stream) -> StreamGuard {
    STREAM_SCOPE.with(|st| st.borrow_mut().push(s));
    StreamGuard {
        _private: std::marker::PhantomData,
    }
}

/// Restores the previous stream when dropped. Not `Send`: a scope belongs to one thread.
pub struct StreamGuard {
    _private: std::marker::PhantomData<*const ()>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        STREAM_SCOPE.with(|st| {
            st.borrow_mut().pop();
        });
    }
}

/// A new stream whose work stays with each thread that uses it (`mx.new_thread_local_stream`).
/// rmlx evaluates on the calling thread whatever the stream, so every stream already behaves
/// this way; this is [`new_stream`].
pub fn new_thread_local_stream(device: Device) -> Result<Stream> {
    new_stream(device)
}

/// A new stream that any thread may use (`mx.new_thread_unsafe_stream`). rmlx's streams are
/// all usable from any thread; this is [`new_stream`].
pub fn new_thread_unsafe_stream(device: Device) -> Result<Stream> {
    new_stream(device)
}

/// Forgets the streams this thread created (`mx.clear_streams`): the stream scopes of the
/// current thread are dropped (open [`StreamGuard`]s become no-ops) and the default stream
/// returns to the device's first stream.
pub fn clear_streams() {
    STREAM_SCOPE.with(|st| st.borrow_mut().clear());
    *DEFAULT_STREAM.lock().unwrap_or_else(|e| e.into_inner()) = Stream {
        index: 0,
        device: cpu,
    };
}

/// Information about a device (`mx.device_info`), as MLX gives it for the CPU:
/// `architecture` and `device_name` (the processor's model name, when the OS reports it).
/// `None` means the default device. An unavailable device is an error.
///
/// ```
/// use rmlx_core as mx;
/// let info = mx::device_info(None)?;
/// assert!(info.contains_key("architecture"));
/// assert!(mx::device_info(Some(mx::gpu)).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn device_info(device: Option<Device>) -> Result<std::collections::BTreeMap<String, String>> {
    let device = device.unwrap_or_else(default_device);
    if !is_available(device) {
        return Err(Error::value(format!(
            "[device_info] {device} is not available."
        )));
    }
    let mut info = std::collections::BTreeMap::new();
    info.insert(
        "architecture".to_string(),
        std::env::consts::ARCH.to_string(),
    );
    let name = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    info.insert("device_name".to_string(), name);
    Ok(info)
}
