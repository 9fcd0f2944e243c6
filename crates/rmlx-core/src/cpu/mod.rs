//! CPU kernels: shared elementwise drivers (contiguous fast paths, strided walking, buffer
//! donation, both cores) and, per family, the math the primitives hand them.

pub(crate) mod batch_norm;
pub(crate) mod binary;
pub(crate) mod conv;
pub(crate) mod copy;
pub(crate) mod elementwise;
pub(crate) mod fast;
pub(crate) mod fft;
pub(crate) mod gated_delta;
pub(crate) mod gemm;
pub(crate) mod hadamard;
pub(crate) mod indexing;
pub(crate) mod lapack;
pub(crate) mod lstm;
pub(crate) mod num;
pub(crate) mod qmv;
pub(crate) mod quantized;
pub(crate) mod random;
pub(crate) mod reduce;
pub(crate) mod scan;
pub(crate) mod sort;
pub(crate) mod special;
pub(crate) mod unary;
pub(crate) mod vmath;

/// Runs `f` with denormal inputs read as zero and denormal results flushed to zero (the
/// MXCSR's DAZ and FTZ bits on x86-64), restoring the caller's mode afterwards, panics
/// included. x86 cores take a microcode assist of about a hundred cycles for each denormal
/// they read or produce: a matrix product whose operands hold denormals (the gradients of a
/// classifier that has fitted its batch, where softmax probabilities underflow) runs 10-200x
/// slower without this (measured here: a 512^3 product 0.7 -> 140 ms in PyTorch). XLA flushes
/// the same way; ARM cores handle denormals at full speed, so elsewhere this is just `f()`.
pub(crate) fn flushing_denormals<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        struct Restore(u32);
        impl Drop for Restore {
            fn drop(&mut self) {
                // SAFETY: reloads the control word read below.
                unsafe {
                    std::arch::asm!("ldmxcsr [{}]", in(reg) &self.0, options(nostack, readonly));
                }
            }
        }
        const DAZ: u32 = 1 << 6;
        const FTZ: u32 = 1 << 15;
        let mut old = 0u32;
        // SAFETY: stores the 32-bit MXCSR into `old`; then loads it with two mode bits set,
        // which changes only how denormals round, never a trap mask.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut old, options(nostack));
            let flushed = old | DAZ | FTZ;
            std::arch::asm!("ldmxcsr [{}]", in(reg) &flushed, options(nostack, readonly));
        }
        let _restore = Restore(old);
        f()
    }
    #[cfg(not(target_arch = "x86_64"))]
    f()
}

/// Elements below which a kernel stays on one thread: splitting costs a few microseconds.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 16;

/// Output bytes from which kernels write with non-temporal stores: an eighth of the last-level
/// cache, clamped to 8..=32 MB. Streaming a large output saves reading each destination line
/// first and keeps the inputs cached; a smaller one is better left in the cache, where the
/// next op reads it. Measured: with a 32 MB cache (AMD Zen 4) 8 MB was the best threshold;
/// with a 300 MB cache (Intel Xeon) a 16 MB layer-norm output is 10% faster cached, while a
/// 64 MB sum of two arrays is twice as fast streamed.
pub(crate) fn stream_bytes() -> usize {
    static BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        last_level_cache_bytes().map_or(8 << 20, |c| (c / 8).clamp(8 << 20, 32 << 20))
    })
}

/// The size of the largest cache of the first CPU, from Linux's sysfs (`None` elsewhere).
fn last_level_cache_bytes() -> Option<usize> {
    let dir = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    dir.filter_map(|e| {
        let size = std::fs::read_to_string(e.ok()?.path().join("size")).ok()?;
        let size = size.trim();
        let (digits, unit) = size.split_at(size.find(|c: char| !c.is_ascii_digit())?);
        let scale = match unit {
            "K" => 1 << 10,
            "M" => 1 << 20,
            "G" => 1 << 30,
            _ => return None,
        };
        digits.parse::<usize>().ok()?.checked_mul(scale)
    })
    .max()
}
