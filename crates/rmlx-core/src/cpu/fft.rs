//! FFT kernels over `rustfft` (complex transforms) and `realfft` (real transforms), in `f32`
//! as MLX computes (complex64 / float32).
//!
//! An n-dimensional transform is a sequence of one-dimensional transforms, one axis at a time.
//! Each step moves every lane (the elements along the axis at one position of the other axes)
//! from its source (the input, any strides, or the row-major output buffer) into a contiguous
//! scratch row, transforms a batch of lanes at once and writes them to the row-major
//! destination. Batches of neighbouring lanes keep strided gathers within cache lines; batches
//! run on both cores when the work is large. Inverse transforms are scaled by `1 / n` per axis
//! (MLX's "backward" normalisation lives in the kernel; other norms are a multiply in the op).
//!
//! Plans come from one process-wide planner per kind, which caches them by length: a length is
//! planned once and reused by every later call.

use super::PARALLEL_THRESHOLD;
use crate::array::{Array, Data, buffer_elements_mut, row_major_strides};
use crate::element::C64;
use crate::error::Result;
use crate::layout::for_each_row;
use crate::primitive::OutputSpec;
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// The process-wide planners (each caches its plans by length).
struct Planners {
    complex: FftPlanner<f32>,
    real: RealFftPlanner<f32>,
}

fn planners() -> MutexGuard<'static, Planners> {
    static PLANNERS: OnceLock<Mutex<Planners>> = OnceLock::new();
    let m = PLANNERS.get_or_init(|| {
        Mutex::new(Planners {
            complex: FftPlanner::new(),
            real: RealFftPlanner::new(),
        })
    });
    // A panic while planning leaves the caches consistent (plans are inserted whole).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn plan_complex(n: usize, inverse: bool) -> Arc<dyn Fft<f32>> {
    let mut p = planners();
    if inverse {
        p.complex.plan_fft_inverse(n)
    } else {
        p.complex.plan_fft_forward(n)
    }
}

fn plan_r2c(n: usize) -> Arc<dyn RealToComplex<f32>> {
    planners().real.plan_fft_forward(n)
}

fn plan_c2r(n: usize) -> Arc<dyn ComplexToReal<f32>> {
    planners().real.plan_fft_inverse(n)
}

/// A raw element pointer shared by the tasks of one step.
#[derive(Copy, Clone)]
struct Shared<T>(*mut T);
// SAFETY: every task of a step reads and writes only the lanes of its own batch, and lanes are
// disjoint sets of elements, so no element is touched by two tasks; the buffers outlive the
// step (it joins before returning).
unsafe impl<T: Send> Send for Shared<T> {}
unsafe impl<T: Send> Sync for Shared<T> {}

/// Where the lanes along one axis of a layout start, in the row-major order of the other axes,
/// and the step between a lane's elements.
fn lane_starts(
    shape: &[usize],
    strides: &[isize],
    offset: usize,
    axis: usize,
) -> (Vec<isize>, isize) {
    let mut outer_shape = shape.to_vec();
    outer_shape.remove(axis);
    let mut outer_strides = strides.to_vec();
    let step = outer_strides.remove(axis);
    let lanes: usize = outer_shape.iter().product();
    let mut starts = Vec::with_capacity(lanes);
    for_each_row(
        &outer_shape,
        [&outer_strides],
        [offset],
        |[s], [st], len| starts.extend((0..len).map(|i| s + i as isize * st)),
    );
    (starts, step)
}

/// One lane layout: element `i` of lane `k` is at `base[starts[k] + i * step]`.
struct Lanes<T> {
    base: Shared<T>,
    starts: Vec<isize>,
    step: isize,
    len: usize,
}

impl<T> Lanes<T> {
    /// The lanes along `axis` of a row-major buffer of `shape` at `base`.
    fn row_major(base: *mut T, shape: &[usize], axis: usize) -> Self {
        let (starts, step) = lane_starts(shape, &row_major_strides(shape), 0, axis);
        Lanes {
            base: Shared(base),
            starts,
            step,
            len: shape[axis],
        }
    }
}

/// Element types a step multiplies by the `1 / n` of an inverse transform.
trait Scaled: Copy + Send + Sync + 'static {
    fn scaled(self, s: f32) -> Self;
}
impl Scaled for f32 {
    #[inline(always)]
    fn scaled(self, s: f32) -> Self {
        self * s
    }
}
impl Scaled for C64 {
    #[inline(always)]
    fn scaled(self, s: f32) -> Self {
        self * s
    }
}

/// Runs `transform(inputs, outputs, scratch)` over every lane of `src` into the same lane of
/// `dst`, a batch of lanes at a time (`inputs` holds the batch's lanes one after the other,
/// `outputs` receives them likewise), multiplying the results by `scale`.
///
/// `src` and `dst` may be the same buffer (an in-place step): each lane is read whole before it
/// is written.
fn run_lanes<I: Scaled + Default, O: Scaled + Default>(
    src: &Lanes<I>,
    dst: &Lanes<O>,
    scale: f32,
    transform: impl Fn(&mut [I], &mut [O], &mut Vec<C64>) + Sync + Send,
) {
    let lanes = src.starts.len();
    let (n_in, n_out) = (src.len, dst.len);
    if lanes == 0 || n_in == 0 || n_out == 0 {
        return;
    }
    // Lanes per batch: enough for strided gathers to use whole cache lines, few enough that
    // the scratch rows stay in cache.
    let batch = (16384 / n_in.max(n_out)).clamp(1, 64).min(lanes);
    let run_batch = |b: usize,
                     rows_in: &mut Vec<I>,
                     rows_out: &mut Vec<O>,
                     scratch: &mut Vec<C64>| {
        let first = b * batch;
        let count = batch.min(lanes - first);
        rows_in.resize(count * n_in, I::default());
        rows_out.resize(count * n_out, O::default());
        for (k, row) in rows_in.chunks_mut(n_in).enumerate() {
            let start = src.starts[first + k];
            // SAFETY: `start + i * step` for `i < n_in` lies inside the source buffer (the
            // lane layout was derived from its shape and strides).
            unsafe {
                if src.step == 1 {
                    std::ptr::copy_nonoverlapping(src.base.0.offset(start), row.as_mut_ptr(), n_in);
                } else {
                    for (i, r) in row.iter_mut().enumerate() {
                        *r = *src.base.0.offset(start + i as isize * src.step);
                    }
                }
            }
        }
        transform(rows_in, rows_out, scratch);
        for (k, row) in rows_out.chunks(n_out).enumerate() {
            let start = dst.starts[first + k];
            // SAFETY: as above, for the destination; this batch's lanes belong to no other task.
            unsafe {
                for (i, r) in row.iter().enumerate() {
                    let v = if scale == 1.0 { *r } else { r.scaled(scale) };
                    *dst.base.0.offset(start + i as isize * dst.step) = v;
                }
            }
        }
    };
    let batches = lanes.div_ceil(batch);
    if lanes * n_in.max(n_out) < PARALLEL_THRESHOLD || batches < 2 {
        let (mut a, mut b, mut s) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..batches {
            run_batch(k, &mut a, &mut b, &mut s);
        }
    } else {
        (0..batches).into_par_iter().for_each_init(
            || (Vec::new(), Vec::new(), Vec::new()),
            |(a, b, s), k| run_batch(k, a, b, s),
        );
    }
}

/// A complex transform of every lane along `axis` from `src` into `dst` (same lane length).
fn c2c_step(src: &Lanes<C64>, dst: &Lanes<C64>, inverse: bool) {
    let n = src.len;
    let plan = plan_complex(n, inverse);
    let scale = if inverse { 1.0 / n as f32 } else { 1.0 };
    run_lanes(src, dst, scale, |rows_in, rows_out, scratch| {
        scratch.resize(plan.get_outofplace_scratch_len(), C64::default());
        plan.process_outofplace_with_scratch(rows_in, rows_out, scratch);
    });
}

/// The lanes of an input array along `axis`, read in place (any strides).
fn input_lanes<T: crate::element::Element>(x: &Array, xd: &Data, axis: usize) -> Lanes<T> {
    let (starts, step) = lane_starts(x.shape(), &xd.strides, xd.offset, axis);
    let base = xd.elements::<T>().as_ptr() as *mut T;
    Lanes {
        base: Shared(base),
        starts,
        step,
        len: x.shape()[axis],
    }
}

/// Complex transforms along `axes` of a row-major complex buffer of `shape`, in place.
fn c2c_in_place(buf: &mut [C64], shape: &[usize], axes: &[usize], inverse: bool) {
    let base = buf.as_mut_ptr();
    for &ax in axes {
        let lanes = Lanes::row_major(base, shape, ax);
        c2c_step(&lanes, &lanes, inverse);
    }
}

/// MLX's FFT primitive on the CPU: `x` is complex64 (complex transforms and `irfft`) or
/// float32 (`rfft`); `axes` are distinct; for a real transform the last axis is the real one.
/// `spec` is the output: the input's shape, but for the real axis (`n / 2 + 1` for `rfft`, the
/// requested length for `irfft`).
pub(crate) fn fft(
    x: &Array,
    axes: &[usize],
    inverse: bool,
    real: bool,
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    if spec.size() == 0 || x.size() == 0 {
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let xd = x.ready_data()?;
    let out_shape = &spec.shape;
    match (real, inverse) {
        (false, _) => {
            let out = buffer_elements_mut::<C64>(&mut buf);
            let (first, rest) = axes.split_first().expect("at least one axis");
            let dst = Lanes::row_major(out.as_mut_ptr(), out_shape, *first);
            c2c_step(&input_lanes(x, &xd, *first), &dst, inverse);
            c2c_in_place(out, out_shape, rest, inverse);
        }
        (true, false) => {
            let out = buffer_elements_mut::<C64>(&mut buf);
            let (last, rest) = axes.split_last().expect("at least one axis");
            let n = x.shape()[*last];
            let plan = plan_r2c(n);
            let src = input_lanes::<f32>(x, &xd, *last);
            let dst = Lanes::row_major(out.as_mut_ptr(), out_shape, *last);
            run_lanes(&src, &dst, 1.0, |rows_in, rows_out, scratch| {
                scratch.resize(plan.get_scratch_len(), C64::default());
                for (i, o) in rows_in.chunks_mut(n).zip(rows_out.chunks_mut(n / 2 + 1)) {
                    // Only a wrong buffer length fails, and the lengths come from the plan.
                    let _ = plan.process_with_scratch(i, o, scratch);
                }
            });
            c2c_in_place(out, out_shape, rest, false);
        }
        (true, true) => {
            let (last, rest) = axes.split_last().expect("at least one axis");
            let n = out_shape[*last];
            let m = x.shape()[*last];
            // The complex axes first, into a row-major complex copy of the input.
            let mut work: Vec<C64> = Vec::new();
            let src: Lanes<C64> = if let Some((first, more)) = rest.split_first() {
                work.resize(x.size(), C64::default());
                let dst = Lanes::row_major(work.as_mut_ptr(), x.shape(), *first);
                c2c_step(&input_lanes(x, &xd, *first), &dst, true);
                c2c_in_place(&mut work, x.shape(), more, true);
                Lanes::row_major(work.as_mut_ptr(), x.shape(), *last)
            } else {
                input_lanes(x, &xd, *last)
            };
            let out = buffer_elements_mut::<f32>(&mut buf);
            let dst = Lanes::row_major(out.as_mut_ptr(), out_shape, *last);
            let plan = plan_c2r(n);
            run_lanes(&src, &dst, 1.0 / n as f32, |rows_in, rows_out, scratch| {
                scratch.resize(plan.get_scratch_len(), C64::default());
                for (i, o) in rows_in.chunks_mut(m).zip(rows_out.chunks_mut(n)) {
                    // realfft reports (and zeroes) a non-zero imaginary part at frequency 0
                    // and n / 2; ignoring them is what MLX (pocketfft) does too.
                    let _ = plan.process_with_scratch(i, o, scratch);
                }
            });
        }
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}
