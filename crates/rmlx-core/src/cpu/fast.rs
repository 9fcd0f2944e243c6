//! Fused kernels of `mlx.core.fast`: row-wise norms, rotary encoding, and a blocked
//! ("flash") attention with an online softmax.
//!
//! Every kernel computes in an accumulator type [`Acc`] (float32 for float32, float16 and
//! bfloat16; float64 for float64) and rounds once when it stores a result. Rows are split
//! across both cores with rayon.

use crate::array::{Array, Data, buffer_elements_mut, row_major_strides};
use crate::cpu::PARALLEL_THRESHOLD;
use crate::cpu::copy::copy_into;
use crate::cpu::vmath;
use crate::dtype::{Dtype, finfo};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::primitive::OutputSpec;
use crate::primitives::fast::MaskKind;
use faer::{Accum, MatMut, MatRef, Par};
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

/// Output bytes from which a norm writes with non-temporal stores: an output this large does
/// not stay in cache, and streaming it saves reading each destination line first (and keeps
/// the input in the last-level cache).
const NORM_STREAM_BYTES: usize = 8 << 20;

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
        let stream = n * std::mem::size_of::<T>() >= NORM_STREAM_BYTES;
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
/// non-temporal stores for large outputs.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// `sum(f(x))` over a row with four 16-lane accumulators; the tail is loaded masked (as
    /// zeros, which `f` must map to zero).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn sum_row(x: *const f32, d: usize, f: impl Fn(__m512, __m512) -> __m512) -> f32 {
        // SAFETY (whole function): the caller guarantees x..x + d is readable.
        unsafe {
            let z = _mm512_setzero_ps();
            let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
            let mut i = 0;
            while i + 64 <= d {
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
                    sum_row(xr, d, |a, v| _mm512_add_ps(a, v)) * inv_n
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
                    sum_row(xr, d, |a, v| {
                        let c = _mm512_sub_ps(v, mv);
                        _mm512_fmadd_ps(c, c, a)
                    })
                } else {
                    let full = d - d % 16;
                    let head = sum_row(xr, full, |a, v| {
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
/// Keys per block.
const BK: usize = 128;

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
    let (qd, kd, vd) = (
        Dense::<T>::new(q)?,
        Dense::<T>::new(k)?,
        Dense::<T>::new(v)?,
    );
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
    out.par_chunks_mut(head)
        .enumerate()
        .for_each(|(bh, out_head)| {
            out_head
                .par_chunks_mut(BQ * dims.dv)
                .enumerate()
                .for_each(|(qb, out_blk)| {
                    let ctx = BlockCtx {
                        dims,
                        bh,
                        i0: qb * BQ,
                        scale,
                        lowest,
                        kind,
                        sink: sink_vals.as_ref().map(|s| s[bh % dims.nq]),
                    };
                    attend_block(&ctx, qs, ks, vs, view.as_ref(), out_blk);
                });
        });
    Ok(Data::from_buffer(buf, &spec.shape))
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
}

/// Streams the key blocks past one block of queries with an online softmax and writes the
/// block's output rows.
fn attend_block<T: Store<F>, F: Acc>(
    c: &BlockCtx<F>,
    qs: &[F],
    ks: &[F],
    vs: &[F],
    mask: Option<&MaskView<'_, T>>,
    out: &mut [T],
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
    let kbase = (b * nkv + kvh) * lkv;
    let k = &ks[kbase * dk..][..lkv * dk];
    let v = &vs[kbase * dv..][..lkv * dv];

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

    let mut m = vec![c.sink.unwrap_or(F::NEG_INF); rows];
    let mut l = vec![if c.sink.is_some() { F::ONE } else { F::ZERO }; rows];
    let mut o = vec![F::ZERO; rows * dv];
    let mut s = vec![F::ZERO; rows * BK];
    let mut pm = vec![F::ZERO; rows * BK];
    let qm = MatRef::from_row_major_slice(q, rows, dk);
    let mut j0 = 0;
    while j0 < kend {
        let cols = BK.min(kend - j0);
        let sb = &mut s[..rows * cols];
        let pb = &mut pm[..rows * cols];
        let km = MatRef::from_row_major_slice(&k[j0 * dk..(j0 + cols) * dk], cols, dk);
        faer::linalg::matmul::matmul(
            MatMut::from_row_major_slice_mut(sb, rows, cols),
            Accum::Replace,
            qm,
            km.transpose(),
            c.scale,
            Par::Seq,
        );
        for r in 0..rows {
            let srow = &mut sb[r * cols..(r + 1) * cols];
            if causal {
                let limit = (i0 + r) as isize + off - j0 as isize;
                let first_masked = (limit + 1).clamp(0, cols as isize) as usize;
                srow[first_masked..].fill(c.lowest);
            }
            if let Some(mv) = mask {
                mv.apply(b, h, i0 + r, j0, srow, c.lowest);
            }
            let mut mx = m[r];
            for &x in srow.iter() {
                mx = mx.maxf(x);
            }
            let prow = &mut pb[r * cols..(r + 1) * cols];
            if mx == F::NEG_INF {
                // Everything so far is -inf: no weight yet (and 0 / 0 = NaN at the end if
                // it stays so, as MLX's softmax gives).
                prow.fill(F::ZERO);
                continue;
            }
            for x in srow.iter_mut() {
                *x -= mx;
            }
            F::exp_into(srow, prow);
            let mut sum = F::ZERO;
            for &x in prow.iter() {
                sum += x;
            }
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
        let vm = MatRef::from_row_major_slice(&v[j0 * dv..(j0 + cols) * dv], cols, dv);
        faer::linalg::matmul::matmul(
            MatMut::from_row_major_slice_mut(&mut o, rows, dv),
            Accum::Add,
            MatRef::from_row_major_slice(pb, rows, cols),
            vm,
            F::ONE,
            Par::Seq,
        );
        j0 += cols;
    }
    for r in 0..rows {
        let inv = F::ONE / l[r];
        for (d, &x) in out[r * dv..(r + 1) * dv].iter_mut().zip(&o[r * dv..]) {
            *d = T::store(x * inv);
        }
    }
}
