//! Buffers and the allocator: a size-keyed cache of freed buffers (MLX's buffer cache), with
//! counters for active, peak and cached bytes, and a memory limit.
//!
//! Reusing buffers matters on CPU: a fresh 64 MB output costs about 16,000 page faults, so an
//! elementwise chain that reuses its buffers runs several times faster than one that does not.

use crate::error::{Error, Result};
use std::alloc::{self, Layout};
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Alignment of every buffer: one cache line, enough for any SIMD load.
const ALIGN: usize = 64;

/// A block of bytes owned by an array's data. Immutable once a kernel has written it; a kernel
/// writes only buffers it owns (fresh, or donated by an input nobody else refers to).
pub struct Buffer {
    ptr: NonNull<u8>,
    /// Bytes the caller asked for.
    len: usize,
    /// Bytes actually allocated (the cache's size class); 0 for a mapped buffer.
    capacity: usize,
    /// For a buffer that lies in a memory-mapped file: the mapping, kept alive by the buffer.
    mapping: Option<std::sync::Arc<dyn Send + Sync>>,
}

// SAFETY: a Buffer is a plain owned allocation; it is only written through `&mut Buffer`
// (so by one thread), and read through `&Buffer` after the write finished.
unsafe impl Send for Buffer {}
// SAFETY: see above: shared access only reads.
unsafe impl Sync for Buffer {}

impl Buffer {
    /// Bytes in use.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True for a zero-byte buffer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Bytes the allocator set aside for it (its size class, at least `len`).
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: ptr is valid for capacity >= len bytes (or dangling with len 0), and the bytes
        // were initialised when the buffer was allocated (zeroed or written by a kernel).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
    /// The bytes, mutably.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` makes this the only access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Buffer {
    /// Whether the buffer lies in a memory mapping (then it is read-only to rmlx).
    pub(crate) fn is_mapped(&self) -> bool {
        self.mapping.is_some()
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        if self.mapping.is_none() {
            ALLOCATOR.release(self);
        }
    }
}

impl Buffer {
    /// A buffer over `len` bytes at `ptr` inside a memory mapping that `owner` keeps alive.
    ///
    /// A mapped buffer is never written: it is never donated to an op's output (see
    /// [`Buffer::is_mapped`]), so the mapping may be read-only.
    ///
    /// # Safety
    /// `ptr..ptr + len` must stay valid and readable for as long as `owner` lives, aligned to
    /// 64 bytes or to the item size of any array that will view it, and not be written
    /// through any other path while arrays view it.
    pub(crate) unsafe fn mapped(
        ptr: NonNull<u8>,
        len: usize,
        owner: std::sync::Arc<dyn Send + Sync>,
    ) -> Buffer {
        Buffer {
            ptr,
            len,
            capacity: 0,
            mapping: Some(owner),
        }
    }
}

/// The process-wide allocator with its cache and counters.
struct Allocator {
    active: AtomicUsize,
    peak: AtomicUsize,
    cached: AtomicUsize,
    memory_limit: AtomicUsize,
    cache_limit: AtomicUsize,
    /// Freed blocks by capacity.
    cache: Mutex<BTreeMap<usize, Vec<NonNull<u8>>>>,
}

// SAFETY: the cached pointers are owned, unaliased allocations guarded by the mutex.
unsafe impl Sync for Allocator {}

static ALLOCATOR: Allocator = Allocator {
    active: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
    cached: AtomicUsize::new(0),
    memory_limit: AtomicUsize::new(0),
    cache_limit: AtomicUsize::new(usize::MAX),
    cache: Mutex::new(BTreeMap::new()),
};

/// The size class of a request: small ones round to 64 bytes, large ones to 4 KiB pages, so a
/// buffer freed by one op fits the next op of about the same size.
fn size_class(len: usize) -> usize {
    if len <= 4096 {
        len.div_ceil(ALIGN) * ALIGN
    } else {
        len.div_ceil(4096) * 4096
    }
}

fn default_memory_limit() -> usize {
    // As MLX on CPU: 80% of physical memory.
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|kb| kb.parse::<usize>().ok())
                })
        })
        .map(|kb| kb * 1024)
        .unwrap_or(16 << 30);
    total / 10 * 8
}

impl Allocator {
    fn memory_limit(&self) -> usize {
        let l = self.memory_limit.load(Ordering::Relaxed);
        if l == 0 {
            let d = default_memory_limit();
            self.memory_limit.store(d, Ordering::Relaxed);
            d
        } else {
            l
        }
    }

    fn allocate(&self, len: usize, zeroed: bool) -> Result<Buffer> {
        if len == 0 {
            // Dangling but aligned like every buffer, so an empty slice of any element type
            // can be made from it.
            #[repr(align(64))]
            struct Aligned;
            let ptr = NonNull::<Aligned>::dangling().cast::<u8>();
            return Ok(Buffer {
                ptr,
                len: 0,
                capacity: 0,
                mapping: None,
            });
        }
        let capacity = size_class(len);
        // A cached block of the same class first.
        let reused = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            let hit = cache.get_mut(&capacity).and_then(|v| v.pop());
            if cache.get(&capacity).is_some_and(|v| v.is_empty()) {
                cache.remove(&capacity);
            }
            hit
        };
        let ptr = match reused {
            Some(p) => {
                self.cached.fetch_sub(capacity, Ordering::Relaxed);
                if zeroed {
                    // SAFETY: p owns `capacity` bytes.
                    unsafe { std::ptr::write_bytes(p.as_ptr(), 0, len) };
                }
                p
            }
            None => {
                let active = self.active.load(Ordering::Relaxed);
                if active.saturating_add(capacity) > self.memory_limit() {
                    // Give the cache back to the system before refusing.
                    self.clear_cache();
                }
                let layout = Layout::from_size_align(capacity, ALIGN).map_err(|_| {
                    Error::runtime(format!("[malloc] Unable to allocate {len} bytes."))
                })?;
                // SAFETY: layout has non-zero size.
                let raw = unsafe {
                    if zeroed {
                        alloc::alloc_zeroed(layout)
                    } else {
                        alloc::alloc(layout)
                    }
                };
                let p = NonNull::new(raw).ok_or_else(|| {
                    Error::runtime(format!("[malloc] Unable to allocate {len} bytes."))
                })?;
                // An uninitialised block is only handed to kernels that write every byte.
                p
            }
        };
        let now = self.active.fetch_add(capacity, Ordering::Relaxed) + capacity;
        self.peak.fetch_max(now, Ordering::Relaxed);
        Ok(Buffer {
            ptr,
            len,
            capacity,
            mapping: None,
        })
    }

    fn release(&self, buf: &mut Buffer) {
        if buf.capacity == 0 {
            return;
        }
        self.active.fetch_sub(buf.capacity, Ordering::Relaxed);
        let limit = self
            .cache_limit
            .load(Ordering::Relaxed)
            .min(self.memory_limit());
        if self.cached.load(Ordering::Relaxed) + buf.capacity <= limit {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.entry(buf.capacity).or_default().push(buf.ptr);
            self.cached.fetch_add(buf.capacity, Ordering::Relaxed);
        } else {
            // SAFETY: allocated with this layout in `allocate`.
            unsafe {
                alloc::dealloc(
                    buf.ptr.as_ptr(),
                    Layout::from_size_align_unchecked(buf.capacity, ALIGN),
                )
            };
        }
    }

    fn clear_cache(&self) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        for (cap, ptrs) in std::mem::take(&mut *cache) {
            for p in ptrs {
                // SAFETY: every cached block was allocated with (cap, ALIGN).
                unsafe {
                    alloc::dealloc(p.as_ptr(), Layout::from_size_align_unchecked(cap, ALIGN))
                };
                self.cached.fetch_sub(cap, Ordering::Relaxed);
            }
        }
    }

    fn trim_cache(&self, limit: usize) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        // Free the largest blocks first until the cache fits.
        while self.cached.load(Ordering::Relaxed) > limit {
            let Some((&cap, _)) = cache.iter().next_back() else {
                break;
            };
            let ptrs = cache.get_mut(&cap).expect("key just seen");
            if let Some(p) = ptrs.pop() {
                // SAFETY: allocated with (cap, ALIGN).
                unsafe {
                    alloc::dealloc(p.as_ptr(), Layout::from_size_align_unchecked(cap, ALIGN))
                };
                self.cached.fetch_sub(cap, Ordering::Relaxed);
            }
            if ptrs.is_empty() {
                cache.remove(&cap);
            }
        }
    }
}

/// Allocates a buffer of `len` bytes whose contents the caller will overwrite in full.
pub(crate) fn alloc_uninit(len: usize) -> Result<Buffer> {
    ALLOCATOR.allocate(len, false)
}

/// Bytes held by live arrays (`mx.get_active_memory`).
///
/// ```
/// use rmlx_core as mx;
/// let before = mx::get_active_memory();
/// let a = mx::arange(0.0, 1024.0, 1.0)?;
/// a.eval()?;
/// assert!(mx::get_active_memory() >= before + 4096);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn get_active_memory() -> usize {
    ALLOCATOR.active.load(Ordering::Relaxed)
}
/// The most bytes active at once since the start or the last [`reset_peak_memory`].
pub fn get_peak_memory() -> usize {
    ALLOCATOR.peak.load(Ordering::Relaxed)
}
/// Resets the peak counter to zero, as MLX does (the next allocation sets it again).
pub fn reset_peak_memory() {
    ALLOCATOR.peak.store(0, Ordering::Relaxed);
}
/// Bytes held in the buffer cache, free for reuse.
pub fn get_cache_memory() -> usize {
    ALLOCATOR.cached.load(Ordering::Relaxed)
}
/// The memory limit: above it the allocator empties its cache before allocating anew.
pub fn get_memory_limit() -> usize {
    ALLOCATOR.memory_limit()
}
/// Sets the memory limit and returns the previous one.
pub fn set_memory_limit(limit: usize) -> usize {
    let prev = ALLOCATOR.memory_limit();
    ALLOCATOR
        .memory_limit
        .store(limit.max(1), Ordering::Relaxed);
    prev
}
/// Sets the most bytes the cache may hold (0 disables caching) and returns the previous limit.
pub fn set_cache_limit(limit: usize) -> usize {
    let prev = ALLOCATOR.cache_limit.swap(limit, Ordering::Relaxed);
    ALLOCATOR.trim_cache(limit);
    prev.min(ALLOCATOR.memory_limit())
}
/// Frees every cached buffer.
pub fn clear_cache() {
    ALLOCATOR.clear_cache();
}
/// Kept for MLX compatibility: wired memory is a Metal notion, so this only records the value.
pub fn set_wired_limit(limit: usize) -> usize {
    static WIRED: AtomicUsize = AtomicUsize::new(0);
    WIRED.swap(limit, Ordering::Relaxed)
}

/// Bytes of the buffers behind `arrays` (`mx.get_array_buffer_size`): each distinct buffer
/// counted once (views share their base's), at its allocated size. Every array must be
/// evaluated; an unevaluated one is an error.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::ones(&[256], mx::float32)?;
/// a.eval()?;
/// let view = a.slice_axis(0, 1..)?;
/// view.eval()?;
/// assert_eq!(mx::get_array_buffer_size(&[a.clone(), view])?, mx::get_array_buffer_size(&[a])?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn get_array_buffer_size(arrays: &[crate::Array]) -> crate::Result<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0usize;
    for a in arrays {
        if !a.is_evaluated() {
            return Err(crate::Error::value(
                "[get_array_buffer_size] Arrays must be evaluated before querying buffer size.",
            ));
        }
        let d = a.data()?;
        if seen.insert(std::sync::Arc::as_ptr(&d.buffer) as usize) {
            total += d.buffer.capacity();
        }
    }
    Ok(total)
}
