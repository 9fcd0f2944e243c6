//! Where evaluation time goes: the CPU time of each primitive's kernel, summed per primitive
//! and input shapes. Off by default (one relaxed atomic load per node when off).
//!
//! ```
//! use rmlx_core::{self as mx, profiler};
//!
//! profiler::reset();
//! profiler::enable(true);
//! let a = mx::ones(&[64, 64], mx::float32).unwrap();
//! mx::matmul(&a, &a).unwrap().eval().unwrap();
//! profiler::enable(false);
//! let entries = profiler::report();
//! assert!(entries.iter().any(|e| e.primitive == "Matmul" && e.inputs == "[64, 64] [64, 64]"));
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static ENABLED: AtomicBool = AtomicBool::new(false);
/// Calls and total time per (primitive, input shapes).
type Totals = HashMap<(String, String), (u64, Duration)>;

static TOTALS: Mutex<Option<Totals>> = Mutex::new(None);

/// Starts (`true`) or stops (`false`) timing kernels; totals collected so far are kept.
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Forgets every total.
pub fn reset() {
    *TOTALS.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// One line of [`report`]: a primitive run on inputs of the same shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileEntry {
    /// The primitive's name, as graphs print it (`Matmul`, `Add`, ...).
    pub primitive: String,
    /// The shapes of its inputs, space separated (`[64, 64] [64, 64]`).
    pub inputs: String,
    /// How many times the kernel ran.
    pub calls: u64,
    /// Wall time spent in the kernel, all calls together.
    pub total: Duration,
}

/// The totals since the last [`reset`], largest first.
pub fn report() -> Vec<ProfileEntry> {
    let totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    let mut entries: Vec<ProfileEntry> = totals
        .iter()
        .flatten()
        .map(|((primitive, inputs), &(calls, total))| ProfileEntry {
            primitive: primitive.clone(),
            inputs: inputs.clone(),
            calls,
            total,
        })
        .collect();
    entries.sort_by(|a, b| b.total.cmp(&a.total).then(a.primitive.cmp(&b.primitive)));
    entries
}

/// Runs `kernel`, adding its time to the totals of `primitive` on `inputs` when enabled.
pub(crate) fn timed<R>(
    primitive: impl FnOnce() -> String,
    inputs: &[crate::Array],
    kernel: impl FnOnce() -> R,
) -> R {
    if !ENABLED.load(Ordering::Relaxed) {
        return kernel();
    }
    let start = Instant::now();
    let result = kernel();
    let elapsed = start.elapsed();
    let shapes = inputs
        .iter()
        .map(|a| format!("{:?}", a.shape()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    let entry = totals
        .get_or_insert_with(HashMap::new)
        .entry((primitive(), shapes))
        .or_insert((0, Duration::ZERO));
    entry.0 += 1;
    entry.1 += elapsed;
    result
}
