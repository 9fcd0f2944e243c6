//! Fused kernels of `mlx.core.fast`: row-wise norms, rotary encoding, and a blocked
//! ("flash") attention with an online softmax.
//!
//! Every kernel computes in an accumulator type [`Acc`] (float32 for float32, float16 and
//! bfloat16; float64 for float64) and rounds once when it stores a result. Rows are split
//! across both cores with rayon.

use crate::array::{Array, Data, buffer_elements_mut, row_major_strides};
use crate::cpu::PARALLEL_THRESHOLD;
use crate::cpu::copy::copy_into;
use crate::cpu::gemm::seq_matmul;
use crate::cpu::reduce::{dot_lanes, fold_lanes};
use crate::cpu::vmath;
use crate::dtype::{Dtype, finfo};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::primitive::OutputSpec;
use crate::primitives::fast::MaskKind;
use faer::{Accum, MatMut, MatRef};
use half::{bf16, f16};
use rayon::prelude::*;
use std::ops::{Add, AddAssign, Div, Mul, Sub};

/// A float type the kernels accumulate in.
pub(crate) trait Acc:
    Element
    + faer::traits::ComplexField
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + AddAssign
{
    const ZERO: Self;
    const ONE: Self;
    const NEG_INF: Self;
    fn sqrt(self) -> Self;
    fn of(v: f64) -> Self;
    fn maxf(self, o: Self) -> Self;
    /// `dst[i] = e^src[i]`.
    fn exp_into(src: &[Self], dst: &mut [Self]);
    /// `xs[i] = e^(xs[i] - shift)` in place; returns the sum of the new values.
    fn exp_shifted_sum(xs: &mut [Self], shift: Self) -> Self;
    /// `(cos, sin)` of an angle computed in float32, as MLX computes rope's angles.
    fn cos_sin(theta: f32) -> (Self, Self);
}

impl Acc for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NEG_INF: Self = f32::NEG_INFINITY;
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    fn of(v: f64) -> Self {
        v as f32
    }
    fn maxf(self, o: Self) -> Self {
        self.max(o)
    }
    fn exp_into(src: &[Self], dst: &mut [Self]) {
        vmath::exp_f32(src, dst)
    }
    fn exp_shifted_sum(xs: &mut [Self], shift: Self) -> Self {
        vmath::exp_shifted_sum_f32(xs, shift)
    }
    fn cos_sin(theta: f32) -> (Self, Self) {
        (theta.cos(), theta.sin())
    }
}

impl Acc for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NEG_INF: Self = f64::NEG_INFINITY;
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn of(v: f64) -> Self {
        v
    }
    fn maxf(self, o: Self) -> Self {
        self.max(o)
    }
    fn exp_into(src: &[Self], dst: &mut [Self]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s.exp();
        }
    }
    fn exp_shifted_sum(xs: &mut [Self], shift: Self) -> Self {
        let mut sum = 0.0;
        for x in xs {
            *x = (*x - shift).exp();
            sum += *x;
        }
        sum
    }
    fn cos_sin(theta: f32) -> (Self, Self) {
        let t = theta as f64;
        (t.cos(), t.sin())
    }
}

/// A stored element type that loads into and stores from the accumulator `F`.
pub(crate) trait Store<F: Acc>: Element {
    fn load(self) -> F;
    fn store(v: F) -> Self;
    /// The slice itself when `Self` is `F` (no conversion needed).
    fn as_acc(s: &[Self]) -> Option<&[F]>;
}

impl Store<f32> for f32 {
    #[inline(always)]
    fn load(self) -> f32 {
        self
    }
    #[inline(always)]
    fn store(v: f32) -> Self {
        v
    }
    fn as_acc(s: &[Self]) -> Option<&[f32]> {
        Some(s)
    }
}
impl Store<f64> for f64 {
    #[inline(always)]
    fn load(self) -> f64 {
        self
    }
    #[inline(always)]
    fn store(v: f64) -> Self {
        v
    }
    fn as_acc(s: &[Self]) -> Option<&[f64]> {
        Some(s)
    }
}
impl Store<f32> for f16 {
    #[inline(always)]
    fn load(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn store(v: f32) -> Self {
        f16::from_f32(v)
    }
    fn as_acc(_: &[Self]) -> Option<&[f32]> {
        None
    }
}
impl Store<f32> for bf16 {
    #[inline(always)]
    fn load(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn store(v: f32) -> Self {
        bf16::from_f32(v)
    }
    fn as_acc(_: &[Self]) -> Option<&[f32]> {
        None
    }
}

/// An input's elements in row-major order: borrowed when it already is dense, else copied.
struct Dense<T> {
    data: Data,
    copy: Option<Vec<T>>,
    len: usize,
}

impl<T: Element> Dense<T> {
    fn new(a: &Array) -> Result<Self> {
        let data = a.ready_data()?;
        let len = a.size();
        if data.row_contiguous || len == 0 {
            return Ok(Dense {
                data,
                copy: None,
                len,
            });
        }
        let mut v = vec![T::default(); len];
        copy_into(&data, a.shape(), &mut v, 0, &row_major_strides(a.shape()));
        Ok(Dense {
            data,
            copy: Some(v),
            len,
        })
    }

    /// Keys or values `(B, N, L, D)`: borrowed also when only each head is dense (`L x D`
    /// row-major) and the heads lie apart, as the first `L` positions of a KV cache's longer
    /// buffers do; else as [`Dense::new`]. Also returns the elements between batch elements
    /// and between heads in [`Dense::as_slice`].
    fn heads(a: &Array) -> Result<(Self, (usize, usize))> {
        let data = a.ready_data()?;
        let s = a.shape();
        let st = &data.strides;
        let heads_dense = s.len() == 4
            && s.iter().all(|&n| n > 0)
            && (s[2] <= 1 || st[2] == s[3] as isize)
            && (s[3] <= 1 || st[3] == 1)
            && st[0] >= 0
            && st[1] >= 0;
        if heads_dense && !data.row_contiguous {
            let (b, h) = (st[0] as usize, st[1] as usize);
            let span = (s[0] - 1) * b + (s[1] - 1) * h + s[2] * s[3];
            let view = Dense {
                data,
                copy: None,
                len: span,
            };
            return Ok((view, (b, h)));
        }
        let head = s[2..].iter().product::<usize>();
        Ok((Self::new(a)?, (s[1] * head, head)))
    }

    fn as_slice(&self) -> &[T] {
        match &self.copy {
            Some(v) => v,
            None if self.len == 0 => &[],
            None => &self.data.elements::<T>()[self.data.offset..self.data.offset + self.len],
        }
    }
}

/// The elements of `d` as accumulator values: the slice itself, or a converted copy in `tmp`.
fn acc_slice<'a, T: Store<F>, F: Acc>(d: &'a Dense<T>, tmp: &'a mut Vec<F>) -> &'a [F] {
    match T::as_acc(d.as_slice()) {
        Some(s) => s,
        None => {
            *tmp = d.as_slice().iter().map(|&v| v.load()).collect();
            tmp
        }
    }
}

/// A weight or bias as accumulator values; `None` for the scalar that means "absent".
fn affine<T: Store<F>, F: Acc>(p: Option<&Array>) -> Result<Option<Vec<F>>> {
    match p {
        Some(p) if p.ndim() == 1 => Ok(Some(
            Dense::<T>::new(p)?
                .as_slice()
                .iter()
                .map(|&v| v.load())
                .collect(),
        )),
        _ => Ok(None),
    }
}

/// `s` as a slice of `U` when `T` is `U`.
fn cast<T: 'static, U: 'static>(s: &[T]) -> Option<&[U]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>())
        // SAFETY: T and U are the same type.
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const U, s.len()) })
}

/// `s` as a mutable slice of `U` when `T` is `U`.
fn cast_mut<T: 'static, U: 'static>(s: &mut [T]) -> Option<&mut [U]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>())
        // SAFETY: T and U are the same type.
        .then(|| unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut U, s.len()) })
}

fn unsupported(op: &str, d: Dtype) -> Error {
    Error::value(format!("[{op}] Received unsupported type {d}."))
}

// ---------------------------------------------------------------------------------------
// Norms

/// `layer_norm` (with `bias`) or `rms_norm` (without) over the last axis; `w` and `b` are
/// one-dimensional or scalars meaning none.
pub(crate) fn norm(
    x: &Array,
    w: &Array,
    b: Option<&Array>,
    eps: f32,
    spec: &OutputSpec,
) -> Result<Data> {
    let op = if b.is_some() {
        "layer_norm"
    } else {
        "rms_norm"
    };
    match spec.dtype {
        Dtype::Float32 => norm_typed::<f32, f32>(x, w, b, eps, spec),
        Dtype::Float16 => norm_typed::<f16, f32>(x, w, b, eps, spec),
        Dtype::Bfloat16 => norm_typed::<bf16, f32>(x, w, b, eps, spec),
        Dtype::Float64 => norm_typed::<f64, f64>(x, w, b, eps, spec),
        d => Err(unsupported(op, d)),
    }
}

fn norm_typed<T: Store<F>, F: Acc>(
    x: &Array,
    w: &Array,
    b: Option<&Array>,
    eps: f32,
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let n = spec.size();
    let d = spec.shape.last().copied().unwrap_or(1);
    if n > 0 {
        let xs = Dense::<T>::new(x)?;
        let wv = affine::<T, F>(Some(w))?;
        let bv = affine::<T, F>(b)?;
        let layer = b.is_some();
        let eps = F::of(eps as f64);
        let out = buffer_elements_mut::<T>(&mut buf);
        let (w, b) = (wv.as_deref(), bv.as_deref());
        let stream = n * std::mem::size_of::<T>() >= super::stream_bytes();
        // Blocks of whole rows (at least 32K elements each) per task: few enough tasks that
        // each core streams long runs of memory.
        let rows = ((1 << 15) / d).max(1);
        let block = |(o, xr): (&mut [T], &[T])| norm_rows(xr, o, d, w, b, eps, layer, stream);
        if n < PARALLEL_THRESHOLD {
            block((out, xs.as_slice()));
        } else {
            out.par_chunks_mut(d * rows)
                .zip(xs.as_slice().par_chunks(d * rows))
                .for_each(block);
        }
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// Rows of a norm, with AVX2 and FMA when the CPU has them (the row loops then use 8-lane
/// vectors instead of the baseline's 4).
#[allow(clippy::too_many_arguments)]
fn norm_rows<T: Store<F>, F: Acc>(
    x: &[T],
    out: &mut [T],
    d: usize,
    w: Option<&[F]>,
    b: Option<&[F]>,
    eps: F,
    layer: bool,
    stream: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(x), Some(out), Some(w), Some(b), Some(&eps)) = (
        cast::<T, f32>(x),
        cast_mut::<T, f32>(out),
        w.map_or(Some(None), |w| cast::<F, f32>(w).map(Some)),
        b.map_or(Some(None), |b| cast::<F, f32>(b).map(Some)),
        (&eps as &dyn std::any::Any).downcast_ref::<f32>(),
    ) && is_x86_feature_detected!("avx512f")
    {
        // SAFETY: the CPU supports the features the function was compiled for.
        unsafe { avx512::norm_rows_f32(x, out, d, w, b, eps, layer, stream) };
        return;
    }
    let _ = stream;
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function was compiled for.
        unsafe { norm_rows_avx2(x, out, d, w, b, eps, layer) };
        return;
    }
    norm_rows_body(x, out, d, w, b, eps, layer);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn norm_rows_avx2<T: Store<F>, F: Acc>(
    x: &[T],
    out: &mut [T],
    d: usize,
    w: Option<&[F]>,
    b: Option<&[F]>,
    eps: F,
    layer: bool,
) {
    norm_rows_body(x, out, d, w, b, eps, layer);
}

#[inline(always)]
fn norm_rows_body<T: Store<F>, F: Acc>(
    x: &[T],
    out: &mut [T],
    d: usize,
    w: Option<&[F]>,
    b: Option<&[F]>,
    eps: F,
    layer: bool,
) {
    for (o, xr) in out.chunks_mut(d).zip(x.chunks(d)) {
        norm_row(xr, o, w, b, eps, layer);
    }
}

/// `sum(f(x[i]))` with eight independent accumulators (vectorisable).
#[inline(always)]
fn sum_lanes<T: Store<F>, F: Acc>(x: &[T], f: impl Fn(F) -> F) -> F {
    let mut acc = [F::ZERO; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += f(c[i].load());
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &v in rest {
        s += f(v.load());
    }
    s
}

/// One row of a norm: statistics from the row (which then sits in cache), then the output.
#[inline(always)]
fn norm_row<T: Store<F>, F: Acc>(
    x: &[T],
    out: &mut [T],
    w: Option<&[F]>,
    b: Option<&[F]>,
    eps: F,
    layer: bool,
) {
    let inv_n = F::ONE / F::of(x.len() as f64);
    let mean = if layer {
        sum_lanes(x, |v| v) * inv_n
    } else {
        F::ZERO
    };
    let var = sum_lanes(x, |v| (v - mean) * (v - mean)) * inv_n;
    let r = F::ONE / (var + eps).sqrt();
    match (w, b) {
        (Some(w), Some(b)) => {
            for i in 0..x.len() {
                out[i] = T::store((x[i].load() - mean) * r * w[i] + b[i]);
            }
        }
        (Some(w), None) => {
            for i in 0..x.len() {
                out[i] = T::store((x[i].load() - mean) * r * w[i]);
            }
        }
        (None, Some(b)) => {
            for i in 0..x.len() {
                out[i] = T::store((x[i].load() - mean) * r + b[i]);
            }
        }
        (None, None) => {
            for i in 0..x.len() {
                out[i] = T::store((x[i].load() - mean) * r);
            }
        }
    }
}

/// The float32 norm rows with AVX-512: 16-lane statistics and output, masked row tails, and
/// non-temporal stores for large outputs (the row sum also serves `cpu::reduce`).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::*;

    /// `sum(f(x))` over a row with four 16-lane accumulators; the tail is loaded masked (as
    /// zeros, which `f` must map to zero). With `ahead`, the lines `ahead` elements past each
    /// load are prefetched.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and `x..x + d` must be readable.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn sum_row(
        x: *const f32,
        d: usize,
        ahead: Option<usize>,
        f: impl Fn(__m512, __m512) -> __m512,
    ) -> f32 {
        // SAFETY (whole function): the caller guarantees x..x + d is readable; prefetches
        // never fault, and their addresses are computed with wrapping arithmetic.
        unsafe {
            let z = _mm512_setzero_ps();
            let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
            let mut i = 0;
            while i + 64 <= d {
                if let Some(ahead) = ahead {
                    // The hardware prefetcher stops at page boundaries (a 1024-wide row is one
                    // 4 KB page): fetch the next row's lines while this one is summed.
                    for l in 0..4 {
                        let p = x.wrapping_add(i + ahead + 16 * l) as *const i8;
                        _mm_prefetch::<_MM_HINT_T0>(p);
                    }
                }
                a0 = f(a0, _mm512_loadu_ps(x.add(i)));
                a1 = f(a1, _mm512_loadu_ps(x.add(i + 16)));
                a2 = f(a2, _mm512_loadu_ps(x.add(i + 32)));
                a3 = f(a3, _mm512_loadu_ps(x.add(i + 48)));
                i += 64;
            }
            while i + 16 <= d {
                a0 = f(a0, _mm512_loadu_ps(x.add(i)));
                i += 16;
            }
            if i < d {
                let m: __mmask16 = (1u32 << (d - i)) as u16 - 1;
                a1 = f(a1, _mm512_maskz_loadu_ps(m, x.add(i)));
            }
            _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)))
        }
    }

    /// Rows of `layer_norm` (`layer`) or `rms_norm` over contiguous rows of length `d`.
    ///
    /// # Safety
    /// The CPU must support AVX-512F; `w` and `b`, when given, hold `d` values.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn norm_rows_f32(
        x: &[f32],
        out: &mut [f32],
        d: usize,
        w: Option<&[f32]>,
        b: Option<&[f32]>,
        eps: f32,
        layer: bool,
        stream: bool,
    ) {
        assert!(out.len() == x.len() && w.is_none_or(|w| w.len() == d));
        assert!(b.is_none_or(|b| b.len() == d) && d > 0 && x.len().is_multiple_of(d));
        let inv_n = 1.0 / d as f32;
        let (wp, bp) = (w.map(|w| w.as_ptr()), b.map(|b| b.as_ptr()));
        // SAFETY (whole loop): every access stays within a row of x and out (whose lengths
        // were checked) or within w and b (d values each); masks cover only the row's tail.
        unsafe {
            for r in 0..x.len() / d {
                let xr = x.as_ptr().add(r * d);
                let or = out.as_mut_ptr().add(r * d);
                let mean = if layer {
                    sum_row(xr, d, Some(d), |a, v| _mm512_add_ps(a, v)) * inv_n
                } else {
                    0.0
                };
                let mv = _mm512_set1_ps(mean);
                // The tail's masked zeros become -mean: mask them back to zero.
                let tail_mask: __mmask16 = if d.is_multiple_of(16) {
                    0xffff
                } else {
                    (1u32 << (d % 16)) as u16 - 1
                };
                let var = if d.is_multiple_of(16) || !layer {
                    sum_row(xr, d, (!layer).then_some(d), |a, v| {
                        let c = _mm512_sub_ps(v, mv);
                        _mm512_fmadd_ps(c, c, a)
                    })
                } else {
                    let full = d - d % 16;
                    let head = sum_row(xr, full, None, |a, v| {
                        let c = _mm512_sub_ps(v, mv);
                        _mm512_fmadd_ps(c, c, a)
                    });
                    let c = _mm512_maskz_sub_ps(
                        tail_mask,
                        _mm512_maskz_loadu_ps(tail_mask, xr.add(full)),
                        mv,
                    );
                    head + _mm512_reduce_add_ps(_mm512_mul_ps(c, c))
                } * inv_n;
                let rv = _mm512_set1_ps(1.0 / (var + eps).sqrt());
                let one = _mm512_set1_ps(1.0);
                let zero = _mm512_setzero_ps();
                // The output of the 16 values at i (masked by m).
                let value = |i: usize, m: __mmask16| {
                    let v = _mm512_maskz_loadu_ps(m, xr.add(i));
                    let y = _mm512_mul_ps(_mm512_sub_ps(v, mv), rv);
                    let wv = wp.map_or(one, |p| _mm512_maskz_loadu_ps(m, p.add(i)));
                    let bv = bp.map_or(zero, |p| _mm512_maskz_loadu_ps(m, p.add(i)));
                    _mm512_fmadd_ps(y, wv, bv)
                };
                let mut i = 0;
                if stream {
                    // Masked stores up to the first 64-byte boundary, then streaming stores.
                    let head = ((64 - (or as usize) % 64) % 64 / 4).min(d);
                    if head > 0 {
                        let m = ((1u32 << head) - 1) as u16;
                        _mm512_mask_storeu_ps(or, m, value(0, m));
                        i = head;
                    }
                    while i + 16 <= d {
                        _mm512_stream_ps(or.add(i), value(i, 0xffff));
                        i += 16;
                    }
                } else {
                    while i + 16 <= d {
                        _mm512_storeu_ps(or.add(i), value(i, 0xffff));
                        i += 16;
                    }
                }
                if i < d {
                    let m = ((1u32 << (d - i)) - 1) as u16;
                    _mm512_mask_storeu_ps(or.add(i), m, value(i, m));
                }
            }
            if stream {
                // Order the streaming stores before the worker reports completion.
                _mm_sfence();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rotary positional encoding

/// The parameters of `RoPE`.
#[derive(Copy, Clone, Debug)]
pub(crate) struct RopeParams {
    pub dims: usize,
    pub traditional: bool,
    pub base: f32,
    pub scale: f32,
    pub forward: bool,
}

/// `rope` of `x` (`(B, ..., T, D)`) with a 4-byte integer `offset` (scalar or `(B,)`) and
/// optional float32 `freqs`.
pub(crate) fn rope(
    x: &Array,
    offset: &Array,
    freqs: Option<&Array>,
    p: RopeParams,
    spec: &OutputSpec,
) -> Result<Data> {
    match spec.dtype {
        Dtype::Float32 => rope_typed::<f32, f32>(x, offset, freqs, p, spec),
        Dtype::Float16 => rope_typed::<f16, f32>(x, offset, freqs, p, spec),
        Dtype::Bfloat16 => rope_typed::<bf16, f32>(x, offset, freqs, p, spec),
        Dtype::Float64 => rope_typed::<f64, f64>(x, offset, freqs, p, spec),
        d => Err(Error::value(format!(
            "[rope] Input must be a floating type but got {d}."
        ))),
    }
}

/// The offsets as float32, as MLX adds them to float32 positions.
fn offsets_f32(offset: &Array) -> Result<Vec<f32>> {
    Ok(match offset.dtype() {
        Dtype::Int32 => Dense::<i32>::new(offset)?
            .as_slice()
            .iter()
            .map(|&v| v as f32)
            .collect(),
        Dtype::Uint32 => Dense::<u32>::new(offset)?
            .as_slice()
            .iter()
            .map(|&v| v as f32)
            .collect(),
        d => {
            return Err(Error::value(format!(
                "[rope] offset must be an integer but got type {d}."
            )));
        }
    })
}

fn rope_typed<T: Store<F>, F: Acc>(
    x: &Array,
    offset: &Array,
    freqs: Option<&Array>,
    p: RopeParams,
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let n = spec.size();
    if n == 0 {
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let nd = spec.shape.len();
    let (d, t, batch) = (spec.shape[nd - 1], spec.shape[nd - 2], spec.shape[0]);
    let rows_per_batch = n / d / batch;
    let half = p.dims / 2;
    let offs = offsets_f32(offset)?;
    let inv_freq: Vec<f32> = match freqs {
        Some(f) => Dense::<f32>::new(f)?
            .as_slice()
            .iter()
            .map(|&v| 1.0 / v)
            .collect(),
        None => {
            let coef = p.base.ln() / half as f32;
            (0..half).map(|i| (-(i as f32) * coef).exp()).collect()
        }
    };
    // cos / sin per (offset, position, frequency).
    let mut table = Vec::with_capacity(offs.len() * t * half);
    for &o in &offs {
        for ti in 0..t {
            let pos = (ti as f32 + o) * p.scale;
            table.extend(inv_freq.iter().map(|&f| F::cos_sin(pos * f)));
        }
    }
    let per_batch = offs.len() > 1;
    let xs = Dense::<T>::new(x)?;
    let out = buffer_elements_mut::<T>(&mut buf);
    let row = |(r, (o, xr)): (usize, (&mut [T], &[T]))| {
        let ob = if per_batch { r / rows_per_batch } else { 0 };
        let cs = &table[(ob * t + r % t) * half..][..half];
        rope_row(xr, o, cs, p);
    };
    if n < PARALLEL_THRESHOLD {
        out.chunks_mut(d)
            .zip(xs.as_slice().chunks(d))
            .enumerate()
            .for_each(row);
    } else {
        out.par_chunks_mut(d)
            .zip(xs.as_slice().par_chunks(d))
            .enumerate()
            .with_min_len((1 << 13) / d + 1)
            .for_each(row);
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

#[inline(always)]
fn rope_row<T: Store<F>, F: Acc>(x: &[T], out: &mut [T], cs: &[(F, F)], p: RopeParams) {
    let half = p.dims / 2;
    let rot = |x1: F, x2: F, (c, s): (F, F)| -> (F, F) {
        if p.forward {
            (x1 * c - x2 * s, x1 * s + x2 * c)
        } else {
            (x2 * s + x1 * c, x2 * c - x1 * s)
        }
    };
    if p.traditional {
        for i in 0..half {
            let (a, b) = rot(x[2 * i].load(), x[2 * i + 1].load(), cs[i]);
            out[2 * i] = T::store(a);
            out[2 * i + 1] = T::store(b);
        }
    } else {
        for i in 0..half {
            let (a, b) = rot(x[i].load(), x[i + half].load(), cs[i]);
            out[i] = T::store(a);
            out[i + half] = T::store(b);
        }
    }
    out[p.dims..].copy_from_slice(&x[p.dims..]);
}

// ---------------------------------------------------------------------------------------
// Attention

/// Query rows per block.
const BQ: usize = 128;
/// Keys per block: wide blocks make few, large products (faer's packing then pays) and few
/// online-softmax rescales; a block's scores (BQ x BK floats, 256 KB) stay in the L2 cache.
const BK: usize = 512;

/// `scaled_dot_product_attention`: `q` `(B, N_q, L_q, D)`, `k` `(B, N_kv, L_kv, D)`, `v`
/// `(B, N_kv, L_kv, D_v)`, all in the output dtype; `mask` broadcast to `(B, N_q, L_q, L_kv)`
/// (bool or the output dtype); `sinks` `(N_q,)`.
pub(crate) fn sdpa(
    qkv: [&Array; 3],
    mask: Option<&Array>,
    sinks: Option<&Array>,
    scale: f32,
    kind: MaskKind,
    spec: &OutputSpec,
) -> Result<Data> {
    const OP: &str = "scaled_dot_product_attention";
    let [q, k, v] = qkv;
    let dims = Dims {
        nq: q.shape()[1],
        nkv: k.shape()[1],
        lq: q.shape()[2],
        lkv: k.shape()[2],
        dk: q.shape()[3],
        dv: v.shape()[3],
    };
    if spec.size() > 0 && short_eligible(&dims) {
        match spec.dtype {
            Dtype::Float32 => return sdpa_short::<f32>(qkv, mask, sinks, scale, kind, dims, spec),
            Dtype::Float16 => return sdpa_short::<f16>(qkv, mask, sinks, scale, kind, dims, spec),
            Dtype::Bfloat16 => {
                return sdpa_short::<bf16>(qkv, mask, sinks, scale, kind, dims, spec);
            }
            _ => {}
        }
    }
    match spec.dtype {
        Dtype::Float32 => sdpa_typed::<f32, f32>(qkv, mask, sinks, scale, kind, spec),
        Dtype::Float16 => sdpa_typed::<f16, f32>(qkv, mask, sinks, scale, kind, spec),
        Dtype::Bfloat16 => sdpa_typed::<bf16, f32>(qkv, mask, sinks, scale, kind, spec),
        Dtype::Float64 => sdpa_typed::<f64, f64>(qkv, mask, sinks, scale, kind, spec),
        d => Err(unsupported(OP, d)),
    }
}

/// An array mask read in place through its (broadcast) strides.
struct MaskView<'a, T> {
    bools: &'a [bool],
    adds: &'a [T],
    offset: isize,
    strides: [isize; 4],
    is_bool: bool,
}

impl<T: Element> MaskView<'_, T> {
    /// Applies the mask of row `(b, h, i)`, keys `j0..j0 + s.len()`, to the scores `s`.
    fn apply<F: Acc>(&self, b: usize, h: usize, i: usize, j0: usize, s: &mut [F], lowest: F)
    where
        T: Store<F>,
    {
        let st = self.strides;
        let base = self.offset
            + b as isize * st[0]
            + h as isize * st[1]
            + i as isize * st[2]
            + j0 as isize * st[3];
        if self.is_bool {
            for (c, v) in s.iter_mut().enumerate() {
                if !self.bools[(base + c as isize * st[3]) as usize] {
                    *v = lowest;
                }
            }
        } else if st[3] == 1 {
            // A row of the mask side by side with the scores (vectorised).
            let row = &self.adds[base as usize..base as usize + s.len()];
            for (v, &a) in s.iter_mut().zip(row) {
                *v += a.load();
            }
        } else {
            for (c, v) in s.iter_mut().enumerate() {
                *v += self.adds[(base + c as isize * st[3]) as usize].load();
            }
        }
    }
}

/// The sizes of one attention.
#[derive(Copy, Clone)]
struct Dims {
    nq: usize,
    nkv: usize,
    lq: usize,
    lkv: usize,
    dk: usize,
    dv: usize,
}

fn sdpa_typed<T: Store<F>, F: Acc>(
    qkv: [&Array; 3],
    mask: Option<&Array>,
    sinks: Option<&Array>,
    scale: f32,
    kind: MaskKind,
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let n = spec.size();
    if n == 0 {
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let [q, k, v] = qkv;
    let dims = Dims {
        nq: q.shape()[1],
        nkv: k.shape()[1],
        lq: q.shape()[2],
        lkv: k.shape()[2],
        dk: q.shape()[3],
        dv: v.shape()[3],
    };
    let out = buffer_elements_mut::<T>(&mut buf);
    if dims.lkv == 0 {
        // No keys: the products with v are empty sums.
        out.fill(T::store(F::ZERO));
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let qd = Dense::<T>::new(q)?;
    let ((kd, k_heads), (vd, v_heads)) = (Dense::<T>::heads(k)?, Dense::<T>::heads(v)?);
    let (mut qt, mut kt, mut vt) = (Vec::new(), Vec::new(), Vec::new());
    let qs = acc_slice(&qd, &mut qt);
    let ks = acc_slice(&kd, &mut kt);
    let vs = acc_slice(&vd, &mut vt);
    let sink_vals = affine::<T, F>(sinks)?;
    let mask_data = mask.map(|m| m.ready_data()).transpose()?;
    let view = match (&mask_data, mask) {
        (Some(md), Some(m)) if m.shape().iter().all(|&s| s > 0) => {
            let is_bool = m.dtype() == Dtype::Bool;
            Some(MaskView::<T> {
                bools: if is_bool { md.elements::<bool>() } else { &[] },
                adds: if is_bool { &[] } else { md.elements::<T>() },
                offset: md.offset as isize,
                strides: [md.strides[0], md.strides[1], md.strides[2], md.strides[3]],
                is_bool,
            })
        }
        _ => None,
    };
    let lowest = F::of(finfo(spec.dtype)?.min);
    let scale = F::of(scale as f64);
    let head = dims.lq * dims.dv;
    // One task per (batch and head, query block); the scratch buffers are made once per
    // worker's run of tasks, not once per block.
    out.par_chunks_mut(head)
        .enumerate()
        .flat_map(|(bh, out_head)| {
            out_head
                .par_chunks_mut(BQ * dims.dv)
                .enumerate()
                .map(move |(qb, out_blk)| (bh, qb, out_blk))
        })
        .for_each_init(Scratch::default, |scratch, (bh, qb, out_blk)| {
            let ctx = BlockCtx {
                dims,
                bh,
                i0: qb * BQ,
                scale,
                lowest,
                kind,
                sink: sink_vals.as_ref().map(|s| s[bh % dims.nq]),
                k_heads,
                v_heads,
            };
            attend_block(&ctx, qs, ks, vs, view.as_ref(), out_blk, scratch);
        });
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// The working rows of one query block: scores (then weights) of a key block, the output
/// accumulators, and each row's running maximum and total.
#[derive(Default)]
struct Scratch<F> {
    s: Vec<F>,
    o: Vec<F>,
    m: Vec<F>,
    l: Vec<F>,
    /// The key block packed for [`tiles::scores`].
    kp: Vec<f32>,
    /// Per row, the keys of the current block with a nonzero weight (a prefix).
    lens: Vec<usize>,
}

/// One (batch, head, query block) of an attention.
struct BlockCtx<F> {
    dims: Dims,
    bh: usize,
    i0: usize,
    scale: F,
    lowest: F,
    kind: MaskKind,
    sink: Option<F>,
    /// Elements between the keys' batch elements and between their heads (see
    /// [`Dense::heads`]); likewise for the values.
    k_heads: (usize, usize),
    v_heads: (usize, usize),
}

/// [`attend_block_body`], with AVX-512 or AVX2 when the CPU has them (the softmax's row loops
/// then run on 16- or 8-lane vectors; the products dispatch on their own).
fn attend_block<T: Store<F>, F: Acc>(
    c: &BlockCtx<F>,
    qs: &[F],
    ks: &[F],
    vs: &[F],
    mask: Option<&MaskView<'_, T>>,
    out: &mut [T],
    scratch: &mut Scratch<F>,
) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe {
            if cast::<F, f32>(qs).is_some() && c.dims.dv.is_multiple_of(16) {
                attend_block_avx512::<T, F, true>(c, qs, ks, vs, mask, out, scratch)
            } else {
                attend_block_avx512::<T, F, false>(c, qs, ks, vs, mask, out, scratch)
            }
        };
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: as above.
        return unsafe { attend_block_avx2(c, qs, ks, vs, mask, out, scratch) };
    }
    attend_block_body::<T, F, false>(c, qs, ks, vs, mask, out, scratch)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn attend_block_avx512<T: Store<F>, F: Acc, const TILES: bool>(
    c: &BlockCtx<F>,
    qs: &[F],
    ks: &[F],
    vs: &[F],
    mask: Option<&MaskView<'_, T>>,
    out: &mut [T],
    scratch: &mut Scratch<F>,
) {
    attend_block_body::<T, F, TILES>(c, qs, ks, vs, mask, out, scratch)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn attend_block_avx2<T: Store<F>, F: Acc>(
    c: &BlockCtx<F>,
    qs: &[F],
    ks: &[F],
    vs: &[F],
    mask: Option<&MaskView<'_, T>>,
    out: &mut [T],
    scratch: &mut Scratch<F>,
) {
    attend_block_body::<T, F, false>(c, qs, ks, vs, mask, out, scratch)
}

/// Streams the key blocks past one block of queries with an online softmax and writes the
/// block's output rows. With `TILES` (float32 on AVX-512, `dv` a multiple of 16) the two
/// products run on [`tiles`]' kernels, else on faer's.
#[inline(always)]
fn attend_block_body<T: Store<F>, F: Acc, const TILES: bool>(
    c: &BlockCtx<F>,
    qs: &[F],
    ks: &[F],
    vs: &[F],
    mask: Option<&MaskView<'_, T>>,
    out: &mut [T],
    scratch: &mut Scratch<F>,
) {
    let Dims {
        nq,
        nkv,
        lq,
        lkv,
        dk,
        dv,
    } = c.dims;
    let (b, h) = (c.bh / nq, c.bh % nq);
    let kvh = h / (nq / nkv);
    let rows = out.len() / dv;
    let i0 = c.i0;
    let q = &qs[((c.bh * lq) + i0) * dk..][..rows * dk];
    let k = &ks[b * c.k_heads.0 + kvh * c.k_heads.1..][..lkv * dk];
    let v = &vs[b * c.v_heads.0 + kvh * c.v_heads.1..][..lkv * dv];

    // Causal: query i sees keys j <= i + off. Keys past the block's last visible key are
    // skipped, unless some row sees no key at all (it then averages every key, as MLX's
    // lowest-value masking does).
    let off = lkv as isize - lq as isize;
    let causal = c.kind == MaskKind::Causal;
    let kend = if causal && i0 as isize + off >= 0 {
        ((i0 + rows) as isize + off).clamp(0, lkv as isize) as usize
    } else {
        lkv
    };
    // The tiled kernels exist for float32 only (`F` is f32 whenever TILES is set).
    let tiled = TILES && cast::<F, f32>(q).is_some();

    let Scratch {
        s,
        o,
        m,
        l,
        kp,
        lens,
    } = scratch;
    m.clear();
    m.resize(rows, c.sink.unwrap_or(F::NEG_INF));
    l.clear();
    l.resize(rows, if c.sink.is_some() { F::ONE } else { F::ZERO });
    o.clear();
    o.resize(rows * dv, F::ZERO);
    // BK is a multiple of the tiles' panel width, so rows padded to it still fit.
    if s.len() < rows * BK {
        s.resize(rows * BK, F::ZERO);
    }
    let qm = MatRef::from_row_major_slice(q, rows, dk);
    let mut j0 = 0;
    while j0 < kend {
        let cols = BK.min(kend - j0);
        // Scores rows `ld` apart: padded to whole panels for the tiles.
        let ld = if tiled {
            cols.next_multiple_of(KP)
        } else {
            cols
        };
        let sb = &mut s[..rows * ld];
        let kb = &k[j0 * dk..(j0 + cols) * dk];
        // The keys of this block that row r may see (all of them unless causal).
        let visible = |r: usize| -> usize {
            if causal {
                ((i0 + r) as isize + off - j0 as isize + 1).clamp(0, cols as isize) as usize
            } else {
                cols
            }
        };
        #[cfg(target_arch = "x86_64")]
        if tiled
            && let (Some(qf), Some(kf), Some(sf), Some(&[scale])) = (
                cast::<F, f32>(q),
                cast::<F, f32>(kb),
                cast_mut::<F, f32>(&mut *sb),
                cast::<F, f32>(std::slice::from_ref(&c.scale)),
            )
        {
            if rows >= PACK_MIN_ROWS {
                tiles::pack_keys(kf, cols, dk, kp);
                // SAFETY: TILES is set only where the CPU has AVX-512F; the slices are sized
                // by rows, dk, cols and ld as `scores` requires.
                unsafe {
                    tiles::scores(qf, rows, dk, kp, cols, sf, ld, scale, |_, r1| {
                        visible(r1 - 1)
                    })
                };
            } else {
                for (r, qr) in qf.chunks_exact(dk).enumerate() {
                    for (j, kr) in kf.chunks_exact(dk).take(visible(r)).enumerate() {
                        sf[r * ld + j] = scale * dot_lanes(qr, kr);
                    }
                }
            }
        }
        if !tiled {
            let km = MatRef::from_row_major_slice(kb, cols, dk);
            seq_matmul(
                MatMut::from_row_major_slice_mut(sb, rows, cols),
                Accum::Replace,
                qm,
                km.transpose(),
                c.scale,
            );
        }
        lens.clear();
        for r in 0..rows {
            let srow = &mut sb[r * ld..r * ld + cols];
            let vis = visible(r);
            if causal {
                srow[vis..].fill(c.lowest);
            }
            if let Some(mv) = mask {
                mv.apply(b, h, i0 + r, j0, srow, c.lowest);
            }
            let mx = match cast::<F, f32>(srow) {
                // SAFETY: TILES is set only where the CPU has AVX-512F.
                #[cfg(target_arch = "x86_64")]
                Some(x) if tiled => {
                    F::of(unsafe { tiles::row_max(x, m[r].to_f64() as f32) } as f64)
                }
                _ => fold_lanes(srow, m[r], |a, x| a.maxf(x)),
            };
            if mx == F::NEG_INF {
                // Everything so far is -inf: no weight yet (and 0 / 0 = NaN at the end if
                // it stays so, as MLX's softmax gives).
                srow.fill(F::ZERO);
                lens.push(0);
                continue;
            }
            // The row's weights e^(s - max) replace its scores in place. Past a causal row's
            // visible keys the scores are the lowest float; above it the maximum gives them
            // weight exactly zero, so only the visible prefix is exponentiated.
            let len = if causal && mx > c.lowest { vis } else { cols };
            let sum = F::exp_shifted_sum(&mut srow[..len], mx);
            srow[len..].fill(F::ZERO);
            lens.push(len);
            let corr = if m[r] == F::NEG_INF {
                F::ZERO
            } else {
                let mut e = [F::ZERO];
                F::exp_into(&[m[r] - mx], &mut e);
                e[0]
            };
            if corr != F::ONE {
                for x in &mut o[r * dv..(r + 1) * dv] {
                    *x *= corr;
                }
            }
            l[r] = l[r] * corr + sum;
            m[r] = mx;
        }
        let vb = &v[j0 * dv..(j0 + cols) * dv];
        #[cfg(target_arch = "x86_64")]
        if tiled
            && let (Some(pf), Some(vf), Some(of)) = (
                cast::<F, f32>(&*sb),
                cast::<F, f32>(vb),
                cast_mut::<F, f32>(&mut o[..]),
            )
        {
            // SAFETY: TILES is set only where the CPU has AVX-512F and dv is a multiple of
            // 16; row r of the weights is zero past lens[r] <= cols.
            unsafe { tiles::values(pf, ld, lens, vf, dv, of) };
        }
        if !tiled {
            seq_matmul(
                MatMut::from_row_major_slice_mut(o, rows, dv),
                Accum::Add,
                MatRef::from_row_major_slice(sb, rows, cols),
                MatRef::from_row_major_slice(vb, cols, dv),
                F::ONE,
            );
        }
        j0 += cols;
    }
    for r in 0..rows {
        let inv = F::ONE / l[r];
        for (d, &x) in out[r * dv..(r + 1) * dv].iter_mut().zip(&o[r * dv..]) {
            *d = T::store(x * inv);
        }
    }
}

/// Keys per panel of a packed key block: two 16-lane vectors.
const KP: usize = 32;

/// Rows below which a query block's scores are plain dot products (packing the keys would
/// cost as much as the products: one generated token attends with one query row).
const PACK_MIN_ROWS: usize = 8;

/// AVX-512 kernels for the float32 products of an attention block: scores `s = scale q kᵀ`
/// and the weighted values `o += p v`. A key block is packed once per query block as panels
/// of [`KP`] keys by feature, so a tile of query rows reads each key feature once as two
/// vectors; the values are read as they lie (rows of `dv` features).
#[cfg(target_arch = "x86_64")]
mod tiles {
    use super::KP;
    use std::arch::x86_64::*;

    /// `k` (`cols` keys of `dk` features, row-major) as panels: panel `p`, feature `d` holds
    /// keys `p * KP .. p * KP + KP` (zeros past `cols`).
    pub(super) fn pack_keys(k: &[f32], cols: usize, dk: usize, out: &mut Vec<f32>) {
        let panels = cols.div_ceil(KP);
        out.clear();
        out.resize(panels * dk * KP, 0.0);
        for (j, key) in k[..cols * dk].chunks_exact(dk).enumerate() {
            let panel = &mut out[(j / KP) * dk * KP..][..dk * KP];
            for (d, &x) in key.iter().enumerate() {
                panel[d * KP + j % KP] = x;
            }
        }
    }

    /// Scores of `R` query rows against `panels` packed panels, times `scale`, into rows of
    /// `s` `ld` apart (`KP` per panel). The rows come feature-major: `q[d * R + i]` is
    /// feature `d` of row `i` (one pointer walks them; no address arithmetic per row).
    ///
    /// # Safety
    /// AVX-512F; `q` holds `R * dk` values, `kp` `panels * dk * KP`, `s` rows of `ld >=
    /// panels * KP`.
    #[target_feature(enable = "avx512f")]
    unsafe fn score_tile<const R: usize>(
        q: *const f32,
        dk: usize,
        kp: *const f32,
        panels: usize,
        s: *mut f32,
        ld: usize,
        scale: f32,
    ) {
        // SAFETY: the caller's sizes bound every offset below.
        unsafe {
            let sc = _mm512_set1_ps(scale);
            for p in 0..panels {
                let mut acc = [[_mm512_setzero_ps(); 2]; R];
                let kb = kp.add(p * dk * KP);
                for d in 0..dk {
                    let k0 = _mm512_loadu_ps(kb.add(d * KP));
                    let k1 = _mm512_loadu_ps(kb.add(d * KP + 16));
                    for (i, a) in acc.iter_mut().enumerate() {
                        let qb = _mm512_set1_ps(*q.add(d * R + i));
                        a[0] = _mm512_fmadd_ps(qb, k0, a[0]);
                        a[1] = _mm512_fmadd_ps(qb, k1, a[1]);
                    }
                }
                for (i, a) in acc.iter().enumerate() {
                    let dst = s.add(i * ld + p * KP);
                    _mm512_storeu_ps(dst, _mm512_mul_ps(a[0], sc));
                    _mm512_storeu_ps(dst.add(16), _mm512_mul_ps(a[1], sc));
                }
            }
        }
    }

    /// Scores of `rows` query rows (`q`, row-major by `dk`) against the packed keys `kp`
    /// (`cols` keys), into `s` (rows `ld` apart). `needed(r0, r1)` is how many keys rows
    /// `r0..r1` can see (causal attention skips the panels past it; the caller masks them).
    ///
    /// # Safety
    /// AVX-512F; `q` holds `rows * dk` values, `kp` the packed `cols` keys, `s` `rows * ld`
    /// with `ld >= cols` rounded up to `KP`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)] // the block's shapes, side by side as the caller has them
    pub(super) unsafe fn scores(
        q: &[f32],
        rows: usize,
        dk: usize,
        kp: &[f32],
        cols: usize,
        s: &mut [f32],
        ld: usize,
        scale: f32,
        needed: impl Fn(usize, usize) -> usize,
    ) {
        debug_assert!(q.len() >= rows * dk && s.len() >= rows * ld && ld >= cols.div_ceil(KP) * KP);
        debug_assert!(kp.len() >= cols.div_ceil(KP) * dk * KP);
        let panels_for = |r0: usize, r1: usize| needed(r0, r1).min(cols).div_ceil(KP);
        // The query rows in tiles of 8, feature-major; then a panel at a time (8 KB for 64
        // features: it stays in L1) against every tile that sees part of it.
        let full = rows / 8;
        let mut tiles = vec![0f32; full * 8 * dk];
        for (t, tile) in tiles.chunks_exact_mut(8 * dk).enumerate() {
            for (i, row) in q[t * 8 * dk..(t + 1) * 8 * dk].chunks_exact(dk).enumerate() {
                for (d, &x) in row.iter().enumerate() {
                    tile[d * 8 + i] = x;
                }
            }
        }
        let tile_panels: Vec<usize> = (0..full).map(|t| panels_for(8 * t, 8 * t + 8)).collect();
        let panels = tile_panels.iter().copied().max().unwrap_or(0);
        // SAFETY: tiles of 8 rows (then single rows) inside `rows`; panels inside `cols`.
        unsafe {
            for p in 0..panels {
                let panel = kp.as_ptr().add(p * dk * KP);
                for (t, &tp) in tile_panels.iter().enumerate() {
                    if p < tp {
                        score_tile::<8>(
                            tiles.as_ptr().add(t * 8 * dk),
                            dk,
                            panel,
                            1,
                            s.as_mut_ptr().add(8 * t * ld + p * KP),
                            ld,
                            scale,
                        );
                    }
                }
            }
            for r in 8 * full..rows {
                score_tile::<1>(
                    q.as_ptr().add(r * dk),
                    dk,
                    kp.as_ptr(),
                    panels_for(r, r + 1),
                    s.as_mut_ptr().add(r * ld),
                    ld,
                    scale,
                );
            }
        }
    }

    /// The largest of `init` and `xs` as `f32::max` folds them (NaN ignored), 16 lanes at a
    /// time.
    ///
    /// # Safety
    /// AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn row_max(xs: &[f32], init: f32) -> f32 {
        // SAFETY: whole vectors inside `xs`, then masked loads of the rest.
        unsafe {
            let lowest = _mm512_set1_ps(f32::NEG_INFINITY);
            // `max_ps(x, acc)` returns acc where x is NaN, and acc is never NaN.
            let mut acc = [lowest; 4];
            let mut chunks = xs.chunks_exact(64);
            for c in &mut chunks {
                for (l, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_max_ps(_mm512_loadu_ps(c.as_ptr().add(16 * l)), *a);
                }
            }
            let mut rest = chunks.remainder();
            while !rest.is_empty() {
                let n = rest.len().min(16);
                let x = _mm512_mask_loadu_ps(lowest, ((1u32 << n) - 1) as u16, rest.as_ptr());
                acc[0] = _mm512_max_ps(x, acc[0]);
                rest = &rest[n..];
            }
            let top = _mm512_max_ps(_mm512_max_ps(acc[0], acc[1]), _mm512_max_ps(acc[2], acc[3]));
            init.max(_mm512_reduce_max_ps(top))
        }
    }

    /// `o[i][..16 * NV] += sum over j < len of p[i][j] v[j][..16 * NV]` for `R` rows.
    ///
    /// # Safety
    /// AVX-512F; `p` rows `ld` apart hold `len` weights, `v` rows `dv` apart hold `16 * NV`
    /// values from the pointer, `o` rows `dv` apart likewise.
    #[target_feature(enable = "avx512f")]
    unsafe fn value_tile<const R: usize, const NV: usize>(
        p: *const f32,
        ld: usize,
        len: usize,
        v: *const f32,
        dv: usize,
        o: *mut f32,
    ) {
        // SAFETY: the caller's sizes bound every offset below.
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); NV]; R];
            for (i, a) in acc.iter_mut().enumerate() {
                for (c, x) in a.iter_mut().enumerate() {
                    *x = _mm512_loadu_ps(o.add(i * dv + 16 * c));
                }
            }
            for j in 0..len {
                let mut vv = [_mm512_setzero_ps(); NV];
                for (c, x) in vv.iter_mut().enumerate() {
                    *x = _mm512_loadu_ps(v.add(j * dv + 16 * c));
                }
                for (i, a) in acc.iter_mut().enumerate() {
                    let pb = _mm512_set1_ps(*p.add(i * ld + j));
                    for (x, &vc) in a.iter_mut().zip(&vv) {
                        *x = _mm512_fmadd_ps(pb, vc, *x);
                    }
                }
            }
            for (i, a) in acc.iter().enumerate() {
                for (c, &x) in a.iter().enumerate() {
                    _mm512_storeu_ps(o.add(i * dv + 16 * c), x);
                }
            }
        }
    }

    /// One tile of `R` rows over all of `dv` (a multiple of 16), 64 columns at a time.
    ///
    /// # Safety
    /// As [`value_tile`], with `dv` a multiple of 16.
    #[target_feature(enable = "avx512f")]
    unsafe fn value_rows_tile<const R: usize>(
        p: *const f32,
        ld: usize,
        len: usize,
        v: *const f32,
        dv: usize,
        o: *mut f32,
    ) {
        let mut c0 = 0;
        // SAFETY: column chunks inside `dv`.
        unsafe {
            while c0 < dv {
                let (vc, oc) = (v.add(c0), o.add(c0));
                match (dv - c0) / 16 {
                    1 => value_tile::<R, 1>(p, ld, len, vc, dv, oc),
                    2 => value_tile::<R, 2>(p, ld, len, vc, dv, oc),
                    3 => value_tile::<R, 3>(p, ld, len, vc, dv, oc),
                    _ => value_tile::<R, 4>(p, ld, len, vc, dv, oc),
                }
                c0 += 64;
            }
        }
    }

    /// `o (rows x dv) += p (rows x len, rows ld apart) v (len x dv)`, where row `r` of `p` is
    /// zero past `lens[r]`.
    ///
    /// # Safety
    /// AVX-512F; `dv` a multiple of 16; `p` holds `rows * ld`, `v` `max(lens) * dv`, `o`
    /// `rows * dv` values.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn values(
        p: &[f32],
        ld: usize,
        lens: &[usize],
        v: &[f32],
        dv: usize,
        o: &mut [f32],
    ) {
        let rows = lens.len();
        debug_assert!(dv.is_multiple_of(16) && p.len() >= rows * ld && o.len() >= rows * dv);
        debug_assert!(lens.iter().all(|&l| l <= ld && l * dv <= v.len()));
        // Keys a chunk at a time (32 KB of values: they stay in L1) against every tile of
        // rows that weighs some of them.
        let chunk = (8192 / dv).max(16);
        let longest = lens.iter().copied().max().unwrap_or(0);
        let mut j0 = 0;
        // SAFETY: tiles of 4 rows (then single rows) inside `rows`, each reading the keys
        // its rows weigh.
        unsafe {
            while j0 < longest {
                let j1 = (j0 + chunk).min(longest);
                let mut r = 0;
                while r < rows {
                    let tile = if r + 4 <= rows { 4 } else { 1 };
                    let len = lens[r..r + tile].iter().copied().max().unwrap_or(0).min(j1);
                    if len > j0 {
                        let (pp, vp, op) = (
                            p.as_ptr().add(r * ld + j0),
                            v.as_ptr().add(j0 * dv),
                            o.as_mut_ptr().add(r * dv),
                        );
                        if tile == 4 {
                            value_rows_tile::<4>(pp, ld, len - j0, vp, dv, op);
                        } else {
                            value_rows_tile::<1>(pp, ld, len - j0, vp, dv, op);
                        }
                    }
                    r += tile;
                }
                j0 = j1;
            }
        }
    }
}

/// Longest key sequence, and widest head, that [`sdpa_short`] takes.
const SHORT_KV: usize = 256;
/// Fewest queries for [`sdpa_short`] (it copies each head's keys and values once, which
/// only pays when several queries read them).
const SHORT_MIN_Q: usize = 8;
/// Query rows computed together: each key or value vector loaded serves all of them.
const RB: usize = 4;
/// f32 lanes of one AVX-512 register (two AVX2 registers).
const VL: usize = 16;

/// Whether an attention takes the short-sequence path.
fn short_eligible(d: &Dims) -> bool {
    d.lkv > 0 && d.lkv <= SHORT_KV && d.dk <= SHORT_KV && d.dv <= SHORT_KV && d.lq >= SHORT_MIN_Q
}

/// A 4-D input read in place through its strides.
struct View4<'a, T> {
    elems: &'a [T],
    offset: isize,
    strides: [isize; 4],
}

impl<'a, T: Element> View4<'a, T> {
    fn new(d: &'a Data) -> Self {
        View4 {
            elems: d.elements::<T>(),
            offset: d.offset as isize,
            strides: [d.strides[0], d.strides[1], d.strides[2], d.strides[3]],
        }
    }

    /// Element `(a, b, c, 0)`'s index and the stride of the last axis.
    #[inline(always)]
    fn row(&self, a: usize, b: usize, c: usize) -> (isize, isize) {
        let st = self.strides;
        (
            self.offset + a as isize * st[0] + b as isize * st[1] + c as isize * st[2],
            st[3],
        )
    }
}

/// What every head of a short attention shares.
struct ShortCtx<'a, T> {
    dims: Dims,
    q: View4<'a, T>,
    k: View4<'a, T>,
    v: View4<'a, T>,
    mask: Option<MaskView<'a, T>>,
    sinks: Option<Vec<f32>>,
    scale: f32,
    lowest: f32,
    causal: bool,
}

/// One worker's buffers, reused from head to head.
#[derive(Default)]
struct ShortScratch {
    /// The head's keys transposed, `dk x lkp` (`lkp`: keys rounded up to [`VL`], zeros after).
    kt: Vec<f32>,
    /// The head's values, `lkv x dvp` (`dvp`: `dv` rounded up to [`VL`], zeros after).
    v: Vec<f32>,
    /// [`RB`] scaled query rows, `RB x dk`.
    q: Vec<f32>,
    /// Their scores, `RB x lkp`.
    s: Vec<f32>,
    /// Their probabilities (unnormalised), `RB x lkp`.
    p: Vec<f32>,
    /// Their outputs (unnormalised), `RB x dvp`.
    o: Vec<f32>,
}

/// `a * b + c`, fused when `FMA` (a compile-time switch: the portable build never calls the
/// software `fmaf`).
#[inline(always)]
fn fmadd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `o (RB x n) = a (RB x k, rows `lda` apart) @ b (k x n)`: a register block of `RB x VL`
/// sums per column chunk. The scores are `q @ kᵀ` (`b` the transposed keys, padded to `lkp`
/// columns) and the outputs `p @ v` (`a` the probabilities over the first `lkv` keys).
#[inline(always)]
fn short_block_mm<const FMA: bool>(
    a: &[f32],
    lda: usize,
    k: usize,
    b: &[f32],
    n: usize,
    o: &mut [f32],
) {
    // Two column chunks at a time: 2 x RB independent sums hide the FMA latency.
    let pairs = n / (2 * VL);
    for jp in 0..pairs {
        let jc = jp * 2 * VL;
        let mut acc = [[0.0f32; VL]; RB];
        let mut acc2 = [[0.0f32; VL]; RB];
        for d in 0..k {
            let row = &b[d * n + jc..][..2 * VL];
            let (bv, bv2): (&[f32; VL], &[f32; VL]) = (
                row[..VL].try_into().expect("VL columns"),
                row[VL..].try_into().expect("VL columns"),
            );
            for r in 0..RB {
                let av = a[r * lda + d];
                for ((x, x2), (&bx, &bx2)) in acc[r]
                    .iter_mut()
                    .zip(acc2[r].iter_mut())
                    .zip(bv.iter().zip(bv2))
                {
                    *x = fmadd::<FMA>(av, bx, *x);
                    *x2 = fmadd::<FMA>(av, bx2, *x2);
                }
            }
        }
        for r in 0..RB {
            o[r * n + jc..][..VL].copy_from_slice(&acc[r]);
            o[r * n + jc + VL..][..VL].copy_from_slice(&acc2[r]);
        }
    }
    for jc in (pairs * 2 * VL..n).step_by(VL) {
        let mut acc = [[0.0f32; VL]; RB];
        for d in 0..k {
            let bv: &[f32; VL] = b[d * n + jc..][..VL].try_into().expect("VL columns");
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let av = a[r * lda + d];
                for (x, &bx) in acc_row.iter_mut().zip(bv) {
                    *x = fmadd::<FMA>(av, bx, *x);
                }
            }
        }
        for (r, acc_row) in acc.iter().enumerate() {
            o[r * n + jc..][..VL].copy_from_slice(acc_row);
        }
    }
}

/// One (batch, head) of a short attention: its keys and values are gathered once (converted
/// to f32, keys transposed), then [`RB`] query rows at a time get their scores, an exact
/// softmax over every key and their weighted sum of values.
#[inline(always)]
fn short_head<T: Store<f32>, const FMA: bool>(
    c: &ShortCtx<'_, T>,
    bh: usize,
    out: &mut [T],
    w: &mut ShortScratch,
) {
    let Dims {
        nq,
        nkv,
        lq,
        lkv,
        dk,
        dv,
    } = c.dims;
    let (b, h) = (bh / nq, bh % nq);
    let kvh = h / (nq / nkv);
    let lkp = lkv.next_multiple_of(VL);
    let dvp = dv.next_multiple_of(VL);
    w.kt.resize(dk * lkp, 0.0);
    w.v.resize(lkv * dvp, 0.0);
    w.q.resize(RB * dk, 0.0);
    w.s.resize(RB * lkp, 0.0);
    w.p.resize(RB * lkp, 0.0);
    w.o.resize(RB * dvp, 0.0);
    for j in 0..lkv {
        let (base, st) = c.k.row(b, kvh, j);
        for d in 0..dk {
            w.kt[d * lkp + j] = c.k.elems[(base + d as isize * st) as usize].load();
        }
    }
    for d in 0..dk {
        w.kt[d * lkp + lkv..(d + 1) * lkp].fill(0.0);
    }
    for j in 0..lkv {
        let (base, st) = c.v.row(b, kvh, j);
        let row = &mut w.v[j * dvp..(j + 1) * dvp];
        for (d, x) in row[..dv].iter_mut().enumerate() {
            *x = c.v.elems[(base + d as isize * st) as usize].load();
        }
        row[dv..].fill(0.0);
    }
    let sink = c.sinks.as_ref().map(|s| s[h]);
    let off = lkv as isize - lq as isize;
    let mut l = [0.0f32; RB];
    for i0 in (0..lq).step_by(RB) {
        let rows = RB.min(lq - i0);
        for r in 0..RB {
            let qrow = &mut w.q[r * dk..(r + 1) * dk];
            if r < rows {
                let (base, st) = c.q.row(b, h, i0 + r);
                for (d, x) in qrow.iter_mut().enumerate() {
                    *x = c.q.elems[(base + d as isize * st) as usize].load() * c.scale;
                }
            } else {
                qrow.fill(0.0);
            }
        }
        short_block_mm::<FMA>(&w.q, dk, dk, &w.kt, lkp, &mut w.s);
        for (r, lr) in l.iter_mut().enumerate() {
            let prow = &mut w.p[r * lkp..r * lkp + lkv];
            if r >= rows {
                prow.fill(0.0);
                continue;
            }
            let srow = &mut w.s[r * lkp..r * lkp + lkv];
            if c.causal {
                // Query i sees keys j <= i + off; the others score the lowest value, so a
                // row that sees no key averages every key, as MLX's masking gives.
                let first_masked = ((i0 + r) as isize + off + 1).clamp(0, lkv as isize);
                srow[first_masked as usize..].fill(c.lowest);
            }
            if let Some(mv) = &c.mask {
                mv.apply(b, h, i0 + r, 0, srow, c.lowest);
            }
            let mx = fold_lanes(srow, sink.unwrap_or(f32::NEG_INFINITY), f32::max);
            if mx == f32::NEG_INFINITY {
                // Every score is -inf: no weight (0 / 0 = NaN at the end, as MLX's softmax
                // gives, unless a sink holds the weight).
                prow.fill(0.0);
                *lr = if sink.is_some() { 1.0 } else { 0.0 };
                continue;
            }
            for x in srow.iter_mut() {
                *x -= mx;
            }
            vmath::exp_f32(srow, prow);
            let sink_weight = match sink {
                Some(sv) => (sv - mx).exp(),
                None => 0.0,
            };
            *lr = sink_weight + fold_lanes(prow, 0.0, |a, x| a + x);
        }
        short_block_mm::<FMA>(&w.p, lkp, lkv, &w.v, dvp, &mut w.o);
        for r in 0..rows {
            let inv = 1.0 / l[r];
            let dst = &mut out[(i0 + r) * dv..(i0 + r + 1) * dv];
            for (d, &x) in dst.iter_mut().zip(&w.o[r * dvp..]) {
                *d = T::store(x * inv);
            }
        }
    }
}

/// [`short_head`] compiled for the best instruction set of this CPU.
fn short_head_dispatch<T: Store<f32>>(
    c: &ShortCtx<'_, T>,
    bh: usize,
    out: &mut [T],
    w: &mut ShortScratch,
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512<T: Store<f32>>(
            c: &ShortCtx<'_, T>,
            bh: usize,
            out: &mut [T],
            w: &mut ShortScratch,
        ) {
            short_head::<T, true>(c, bh, out, w)
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2<T: Store<f32>>(
            c: &ShortCtx<'_, T>,
            bh: usize,
            out: &mut [T],
            w: &mut ShortScratch,
        ) {
            short_head::<T, true>(c, bh, out, w)
        }
        match vmath::level() {
            // SAFETY: the CPU has these features (checked at run time by `level`).
            vmath::Level::Avx512 => return unsafe { avx512(c, bh, out, w) },
            // SAFETY: as above.
            vmath::Level::Avx2 => return unsafe { avx2(c, bh, out, w) },
            vmath::Level::Portable => {}
        }
    }
    short_head::<T, false>(c, bh, out, w)
}

/// Attention over short key sequences (at most [`SHORT_KV`] keys, heads at most as wide),
/// as in sentence encoders: q, k and v are read in place through their strides (the
/// transposed heads of a `(B, L, H, D)` projection need no copy), each (batch, head) is one
/// task, and the softmax is exact over the whole row of scores (no online rescaling).
fn sdpa_short<T: Store<f32>>(
    qkv: [&Array; 3],
    mask: Option<&Array>,
    sinks: Option<&Array>,
    scale: f32,
    kind: MaskKind,
    dims: Dims,
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let [q, k, v] = qkv;
    let (qd, kd, vd) = (q.ready_data()?, k.ready_data()?, v.ready_data()?);
    let mask_data = mask.map(|m| m.ready_data()).transpose()?;
    let mask_view = match (&mask_data, mask) {
        (Some(md), Some(m)) if m.shape().iter().all(|&s| s > 0) => {
            let is_bool = m.dtype() == Dtype::Bool;
            Some(MaskView::<T> {
                bools: if is_bool { md.elements::<bool>() } else { &[] },
                adds: if is_bool { &[] } else { md.elements::<T>() },
                offset: md.offset as isize,
                strides: [md.strides[0], md.strides[1], md.strides[2], md.strides[3]],
                is_bool,
            })
        }
        _ => None,
    };
    let ctx = ShortCtx {
        dims,
        q: View4::new(&qd),
        k: View4::new(&kd),
        v: View4::new(&vd),
        mask: mask_view,
        sinks: affine::<T, f32>(sinks)?,
        scale,
        lowest: finfo(spec.dtype)?.min as f32,
        causal: kind == MaskKind::Causal,
    };
    let out = buffer_elements_mut::<T>(&mut buf);
    out.par_chunks_mut(dims.lq * dims.dv)
        .enumerate()
        .for_each_init(ShortScratch::default, |w, (bh, out_head)| {
            short_head_dispatch(&ctx, bh, out_head, w)
        });
    Ok(Data::from_buffer(buf, &spec.shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in about [-2, 2).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
            })
            .collect()
    }

    /// A `(b, n, l, d)` view transposed from a `(b, l, n, d)` array (a projection split into
    /// heads), in `dtype`.
    fn heads(b: usize, n: usize, l: usize, d: usize, seed: u64, dtype: Dtype) -> Array {
        let a = Array::from_slice(&values(b * l * n * d, seed), &[b, l, n, d])
            .unwrap()
            .astype(dtype)
            .unwrap()
            .transpose_axes([0, 2, 1, 3])
            .unwrap();
        a.eval().unwrap();
        a
    }

    fn to_f64(d: &Data, dtype: Dtype, n: usize) -> Vec<f64> {
        let at = d.offset;
        match dtype {
            Dtype::Float32 => d.elements::<f32>()[at..at + n]
                .iter()
                .map(|&x| x as f64)
                .collect(),
            Dtype::Float16 => d.elements::<f16>()[at..at + n]
                .iter()
                .map(|x| x.to_f64())
                .collect(),
            _ => d.elements::<bf16>()[at..at + n]
                .iter()
                .map(|x| x.to_f64())
                .collect(),
        }
    }

    /// Runs the short path and the general (blocked) path on the same inputs and compares.
    #[allow(clippy::too_many_arguments)]
    fn check(
        dtype: Dtype,
        (b, nq, nkv): (usize, usize, usize),
        (lq, lkv, dk, dv): (usize, usize, usize, usize),
        kind: MaskKind,
        mask: Option<Array>,
        sinks: bool,
        tol: f64,
    ) {
        let q = heads(b, nq, lq, dk, 1, dtype);
        let k = heads(b, nkv, lkv, dk, 2, dtype);
        let v = heads(b, nkv, lkv, dv, 3, dtype);
        let mask = mask.map(|m| {
            let m = m.broadcast_to(&[b, nq, lq, lkv][..]).unwrap();
            m.eval().unwrap();
            m
        });
        let sinks = sinks.then(|| {
            let s = Array::from_slice(&values(nq, 4), &[nq])
                .unwrap()
                .astype(dtype)
                .unwrap();
            s.eval().unwrap();
            s
        });
        let dims = Dims {
            nq,
            nkv,
            lq,
            lkv,
            dk,
            dv,
        };
        assert!(short_eligible(&dims));
        let spec = OutputSpec {
            shape: vec![b, nq, lq, dv],
            dtype,
        };
        let scale = 1.0 / (dk as f32).sqrt();
        let qkv = [&q, &k, &v];
        let (short, general) = match dtype {
            Dtype::Float32 => (
                sdpa_short::<f32>(qkv, mask.as_ref(), sinks.as_ref(), scale, kind, dims, &spec),
                sdpa_typed::<f32, f32>(qkv, mask.as_ref(), sinks.as_ref(), scale, kind, &spec),
            ),
            Dtype::Float16 => (
                sdpa_short::<f16>(qkv, mask.as_ref(), sinks.as_ref(), scale, kind, dims, &spec),
                sdpa_typed::<f16, f32>(qkv, mask.as_ref(), sinks.as_ref(), scale, kind, &spec),
            ),
            _ => (
                sdpa_short::<bf16>(qkv, mask.as_ref(), sinks.as_ref(), scale, kind, dims, &spec),
                sdpa_typed::<bf16, f32>(qkv, mask.as_ref(), sinks.as_ref(), scale, kind, &spec),
            ),
        };
        let n = spec.size();
        let (s, g) = (
            to_f64(&short.unwrap(), dtype, n),
            to_f64(&general.unwrap(), dtype, n),
        );
        for (i, (x, y)) in s.iter().zip(&g).enumerate() {
            let same = (x.is_nan() && y.is_nan()) || (x - y).abs() <= tol * (1.0 + y.abs());
            assert!(same, "element {i}: short {x} vs general {y}");
        }
    }

    fn key_mask(b: usize, lkv: usize, keep: impl Fn(usize, usize) -> bool) -> Vec<bool> {
        (0..b * lkv).map(|i| keep(i / lkv, i % lkv)).collect()
    }

    #[test]
    fn short_sdpa_matches_general_f32() {
        let f = Dtype::Float32;
        for &(lq, lkv, dk, dv) in &[
            (8, 8, 32, 32),
            (11, 13, 20, 24),
            (48, 48, 32, 32),
            (9, 200, 64, 17),
        ] {
            check(
                f,
                (2, 3, 3),
                (lq, lkv, dk, dv),
                MaskKind::None,
                None,
                false,
                1e-5,
            );
            check(
                f,
                (2, 4, 2),
                (lq, lkv, dk, dv),
                MaskKind::Causal,
                None,
                false,
                1e-5,
            );
            check(
                f,
                (1, 2, 1),
                (lq, lkv, dk, dv),
                MaskKind::None,
                None,
                true,
                1e-5,
            );
        }
        // Causal with more queries than keys: the first rows see no key and average them all.
        check(
            f,
            (1, 2, 2),
            (12, 9, 16, 16),
            MaskKind::Causal,
            None,
            false,
            1e-5,
        );
        // Padding masks, one sentence with every key masked.
        let (b, lkv) = (3, 10);
        let keep = key_mask(b, lkv, |s, j| s == 1 || (s == 0 && j < 7));
        let bools = Array::from_slice(&keep, &[b, 1, 1, lkv]).unwrap();
        check(
            f,
            (b, 2, 2),
            (10, lkv, 8, 8),
            MaskKind::Bool,
            Some(bools),
            false,
            1e-5,
        );
        let adds: Vec<f32> = keep
            .iter()
            .map(|&k| if k { 0.0 } else { f32::MIN })
            .collect();
        let adds = Array::from_slice(&adds, &[b, 1, 1, lkv]).unwrap();
        check(
            f,
            (b, 2, 2),
            (10, lkv, 8, 8),
            MaskKind::Additive,
            Some(adds),
            false,
            1e-5,
        );
        // A full additive mask with -inf rows (NaN outputs, as the general path gives).
        let (lq, lkv) = (9, 7);
        let full: Vec<f32> = values(lq * lkv, 9)
            .iter()
            .enumerate()
            .map(|(i, &x)| if i / lkv == 3 { f32::NEG_INFINITY } else { x })
            .collect();
        let full = Array::from_slice(&full, &[1, 1, lq, lkv]).unwrap();
        check(
            f,
            (2, 2, 1),
            (lq, lkv, 8, 5),
            MaskKind::Additive,
            Some(full.clone()),
            false,
            1e-5,
        );
        check(
            f,
            (2, 2, 1),
            (lq, lkv, 8, 5),
            MaskKind::Additive,
            Some(full),
            true,
            1e-5,
        );
    }

    #[test]
    fn short_sdpa_matches_general_half() {
        for dtype in [Dtype::Float16, Dtype::Bfloat16] {
            let tol = if dtype == Dtype::Float16 {
                2e-3
            } else {
                1.6e-2
            };
            check(
                dtype,
                (2, 4, 4),
                (16, 16, 32, 32),
                MaskKind::None,
                None,
                false,
                tol,
            );
            check(
                dtype,
                (1, 4, 2),
                (10, 12, 24, 8),
                MaskKind::Causal,
                None,
                true,
                tol,
            );
            let keep = key_mask(2, 12, |s, j| s == 0 || j < 5);
            let bools = Array::from_slice(&keep, &[2, 1, 1, 12]).unwrap();
            check(
                dtype,
                (2, 2, 2),
                (12, 12, 16, 16),
                MaskKind::Bool,
                Some(bools),
                false,
                tol,
            );
        }
    }

    /// The blocked path (tiled on AVX-512 for float32) against attention computed directly in
    /// float64: one query row (a generated token), tiles of 8 and 4 rows with tails, several
    /// query and key blocks, value widths of one to five vectors, causal rows with and
    /// without visible keys, grouped heads, masks and sinks.
    /// Heads (batch, query, key/value), sizes (lq, lkv, dk, dv), mask kind, with an additive
    /// mask, with sinks.
    type Case = (
        (usize, usize, usize),
        (usize, usize, usize, usize),
        MaskKind,
        bool,
        bool,
    );

    #[test]
    fn general_sdpa_matches_direct_attention() {
        let f = Dtype::Float32;
        let cases: &[Case] = &[
            ((1, 4, 2), (1, 40, 64, 64), MaskKind::None, false, false),
            ((1, 3, 3), (5, 300, 48, 32), MaskKind::Causal, false, false),
            (
                (1, 2, 1),
                (130, 700, 64, 80),
                MaskKind::Causal,
                false,
                false,
            ),
            ((1, 2, 2), (200, 200, 20, 16), MaskKind::Causal, false, true),
            ((2, 2, 1), (37, 600, 32, 48), MaskKind::Causal, false, false),
            ((1, 2, 2), (40, 10, 16, 16), MaskKind::Causal, false, false),
            ((1, 2, 2), (40, 10, 16, 16), MaskKind::Causal, false, true),
            ((1, 2, 1), (70, 530, 64, 64), MaskKind::None, true, false),
            ((1, 1, 1), (9, 33, 8, 24), MaskKind::None, false, true),
        ];
        for &((b, nq, nkv), (lq, lkv, dk, dv), kind, with_mask, with_sinks) in cases {
            let q = heads(b, nq, lq, dk, 11, f);
            // Keys and values as the first positions of longer buffers (a KV cache's view:
            // each head dense, heads apart), for every other case; else transposed heads.
            let cached = |a: Array, d: usize| -> Array {
                if lq % 2 == 0 {
                    return a;
                }
                let pad = crate::ops::zeros(&[b, nkv, 7, d][..], f).unwrap();
                let buf = crate::ops::concatenate(&[a, pad], 2).unwrap();
                buf.eval().unwrap();
                let view =
                    crate::ops::slice(&buf, [0, 0, 0, 0], [b, nkv, lkv, d], [1, 1, 1, 1]).unwrap();
                view.eval().unwrap();
                view
            };
            let k = cached(heads(b, nkv, lkv, dk, 12, f), dk);
            let v = cached(heads(b, nkv, lkv, dv, 13, f), dv);
            let addend = values(lq * lkv, 14);
            let mask = with_mask.then(|| {
                let m = Array::from_slice(&addend, &[1, 1, lq, lkv])
                    .unwrap()
                    .broadcast_to(&[b, nq, lq, lkv][..])
                    .unwrap();
                m.eval().unwrap();
                m
            });
            let sink_vals = values(nq, 15);
            let sinks = with_sinks.then(|| {
                let s = Array::from_slice(&sink_vals, &[nq]).unwrap();
                s.eval().unwrap();
                s
            });
            let spec = OutputSpec {
                shape: vec![b, nq, lq, dv],
                dtype: f,
            };
            let scale = 1.0 / (dk as f32).sqrt();
            let got = sdpa_typed::<f32, f32>(
                [&q, &k, &v],
                mask.as_ref(),
                sinks.as_ref(),
                scale,
                kind,
                &spec,
            )
            .unwrap();
            let got = to_f64(&got, f, spec.size());
            let dense = |a: &Array| -> Vec<f64> {
                let c = a.flatten().unwrap();
                c.eval().unwrap();
                to_f64(&c.ready_data().unwrap(), f, a.size())
            };
            let (qv, kv, vv) = (dense(&q), dense(&k), dense(&v));
            let lowest = f32::MIN as f64;
            let off = lkv as isize - lq as isize;
            for bb in 0..b {
                for h in 0..nq {
                    let kh = h / (nq / nkv);
                    for i in 0..lq {
                        let qi = &qv[((bb * nq + h) * lq + i) * dk..][..dk];
                        let logits: Vec<f64> = (0..lkv)
                            .map(|j| {
                                let kj = &kv[((bb * nkv + kh) * lkv + j) * dk..][..dk];
                                let dot: f64 = qi.iter().zip(kj).map(|(a, c)| a * c).sum();
                                let mut x = dot * scale as f64;
                                if with_mask {
                                    x += addend[i * lkv + j] as f64;
                                }
                                if kind == MaskKind::Causal && j as isize > i as isize + off {
                                    x = lowest;
                                }
                                x
                            })
                            .collect();
                        let sink = with_sinks.then(|| sink_vals[h] as f64);
                        let top = logits
                            .iter()
                            .copied()
                            .chain(sink)
                            .fold(f64::NEG_INFINITY, f64::max);
                        let w: Vec<f64> = logits.iter().map(|x| (x - top).exp()).collect();
                        let total: f64 =
                            w.iter().sum::<f64>() + sink.map_or(0.0, |s| (s - top).exp());
                        for d in 0..dv {
                            let want: f64 = w
                                .iter()
                                .enumerate()
                                .map(|(j, wj)| wj * vv[((bb * nkv + kh) * lkv + j) * dv + d])
                                .sum::<f64>()
                                / total;
                            let at = ((bb * nq + h) * lq + i) * dv + d;
                            assert!(
                                (got[at] - want).abs() <= 2e-5 * (1.0 + want.abs()),
                                "shape {:?}: out[{bb},{h},{i},{d}] = {} vs {want}",
                                (lq, lkv, dk, dv),
                                got[at]
                            );
                        }
                    }
                }
            }
        }
    }
}
