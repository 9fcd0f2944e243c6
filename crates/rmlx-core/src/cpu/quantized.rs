//! Quantization kernels on the CPU: packing (affine and the microscaling float formats),
//! unpacking, fp8 (e4m3) conversions, and matrix products with quantized weights that
//! dequantize on the fly.
//!
//! Packing is a little-endian bit stream per row: element `i` of a row occupies bits
//! `i * bits .. (i + 1) * bits` of the row's `uint32` words (MLX's layout for every bit width,
//! including the 3, 5 and 6 bit byte packings).
//!
//! MLX computes the float formats' quantize / dequantize on the CPU as a chain of ops, each
//! rounding to its dtype; the kernels here reproduce that chain value for value (each step
//! computed in `f64`, which is exact or correctly rounded for one `+ - * /`, then rounded to
//! the dtype MLX holds it in).

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::gemm::seq_matmul;
use crate::dtype::Dtype;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::for_each_offset;
use crate::primitive::OutputSpec;
use crate::primitives::quantized::QuantMode;
use faer::{Accum, MatMut, MatRef};
use half::{bf16, f16};
use rayon::prelude::*;

use super::qmv::{self, Params, QWeights};

/// Runs `$body` with `$T` bound to the element type of a float dtype; other dtypes are an
/// error (the ops only let float dtypes through).
macro_rules! float_dispatch {
    ($dtype:expr, $T:ident => $body:expr) => {
        crate::cpu::binary::dispatch_float!($dtype, $T => $body, _ => {
            return Err(Error::runtime(format!(
                "[quantized] Only floating point types are supported, got {}.",
                $dtype
            )))
        })
    };
}

/// The e2m1 (fp4) values by code.
pub(crate) const FP4_LUT: [f32; 16] = [
    0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0,
];

// ------------------------------------------------------------------------------------------
// fp8 e4m3
// ------------------------------------------------------------------------------------------

/// `f32` to fp8 e4m3 as MLX rounds it (to nearest even; beyond 448, infinities and NaN
/// saturate to ±448).
pub(crate) fn fp8_from_f32(x: f32) -> u8 {
    let bits = x.to_bits();
    let sign = bits & 0x8000_0000;
    let b = bits ^ sign;
    let r: u8 = if b >= 543 << 21 {
        0x7E
    } else if b < 121 << 23 {
        // Subnormal range: let the float adder round, then read the low bits.
        let denorm = 141u32 << 23;
        let f = f32::from_bits(b) + f32::from_bits(denorm);
        f.to_bits().wrapping_sub(denorm) as u8
    } else {
        let mant_odd = (b >> 20) & 1;
        let h = b
            .wrapping_add(((7u32).wrapping_sub(127) << 23).wrapping_add(0x7FFFF))
            .wrapping_add(mant_odd);
        (h >> 20) as u8
    };
    r | (sign >> 24) as u8
}

/// fp8 e4m3 to `f32` (codes 0x7F and 0xFF are NaN).
pub(crate) fn fp8_to_f32(x: u8) -> f32 {
    let v = (x & 127) as u16;
    let sign = ((x >> 7) as u16 & 1) << 15;
    let u = (v << 7) | (((v + 1) >> 7) << 14) | sign;
    f16::from_bits(u).to_f32() * 256.0
}

/// The e8m0 scale `2^(s - 127)` as MLX's float kernels decode it (through bfloat16 bits; the
/// code 0 gives `2^-127`).
fn e8m0_to_f32(s: u8) -> f32 {
    let bits: u16 = if s == 0 { 0x40 } else { (s as u16) << 7 };
    bf16::from_bits(bits).to_f32()
}

/// `to_fp8` / `from_fp8` elementwise.
pub(crate) fn convert_fp8(x: &Array, to_fp8: bool, spec: &OutputSpec) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    if to_fp8 {
        let out = buffer_elements_mut::<u8>(&mut buf);
        float_dispatch!(x.dtype(), T => {
            let v = dense::<T>(x)?;
            for (o, &e) in out.iter_mut().zip(v.as_slice()) {
                *o = fp8_from_f32(e.to_f64() as f32);
            }
        });
    } else {
        let v = dense::<u8>(x)?;
        float_dispatch!(spec.dtype, T => {
            let out = buffer_elements_mut::<T>(&mut buf);
            for (o, &e) in out.iter_mut().zip(v.as_slice()) {
                *o = T::from_f64(fp8_to_f32(e) as f64);
            }
        });
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

// ------------------------------------------------------------------------------------------
// Dense views of inputs
// ------------------------------------------------------------------------------------------

/// An input's elements in row-major order: the buffer itself when it is dense, else a copy.
pub(crate) enum Dense<T> {
    Shared(Data, usize, usize),
    Owned(Vec<T>),
}

impl<T: Element> Dense<T> {
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            Dense::Shared(d, off, n) => {
                if *n == 0 {
                    &[]
                } else {
                    &d.elements::<T>()[*off..*off + *n]
                }
            }
            Dense::Owned(v) => v,
        }
    }
}

/// The elements of an evaluated array of element type `T`, row-major.
pub(crate) fn dense<T: Element>(a: &Array) -> Result<Dense<T>> {
    let d = a.ready_data()?;
    let n = a.size();
    if d.row_contiguous || n == 0 {
        let off = d.offset;
        return Ok(Dense::Shared(d, off, n));
    }
    let src = d.elements::<T>();
    let mut v = Vec::with_capacity(n);
    for_each_offset(a.shape(), &d.strides, d.offset, |o| v.push(src[o]));
    Ok(Dense::Owned(v))
}

/// Matrices of an input (its last two dimensions), row-major inside, reached through one
/// buffer offset per batch element of `batch` (which the input's leading dimensions are
/// broadcast or equal to).
struct Mats<T> {
    data: Dense<T>,
    offsets: Vec<usize>,
}

impl<T: Element> Mats<T> {
    fn new(a: &Array, batch_count: usize) -> Result<Mats<T>> {
        let nd = a.ndim();
        let (r, c) = (a.shape()[nd - 2], a.shape()[nd - 1]);
        let d = a.ready_data()?;
        let inner_dense = a.size() == 0
            || ((r <= 1 || d.strides[nd - 2] == c as isize) && (c <= 1 || d.strides[nd - 1] == 1));
        let (data, offsets) = if inner_dense && !d.row_contiguous {
            let mut offs = Vec::new();
            for_each_offset(&a.shape()[..nd - 2], &d.strides[..nd - 2], d.offset, |o| {
                offs.push(o)
            });
            let len = d.elements::<T>().len();
            (Dense::Shared(d, 0, len), offs)
        } else {
            let dense = dense::<T>(a)?;
            let nb: usize = a.shape()[..nd - 2].iter().product();
            (dense, (0..nb).map(|i| i * r * c).collect())
        };
        let offsets = if offsets.len() == batch_count {
            offsets
        } else {
            // A single matrix shared by every batch element.
            vec![offsets.first().copied().unwrap_or(0); batch_count]
        };
        Ok(Mats { data, offsets })
    }
}

// ------------------------------------------------------------------------------------------
// Dtype rounding
// ------------------------------------------------------------------------------------------

/// Rounds an `f64` to the precision of a float dtype (the value an MLX op of that dtype holds).
fn round_to(d: Dtype) -> fn(f64) -> f64 {
    match d {
        Dtype::Float16 => |x| f16::from_f64(x).to_f64(),
        Dtype::Bfloat16 => |x| bf16::from_f64(x).to_f64(),
        Dtype::Float32 => |x| x as f32 as f64,
        _ => |x| x,
    }
}

// ------------------------------------------------------------------------------------------
// Bit streams
// ------------------------------------------------------------------------------------------

/// Writes `v` (< 2^bits) at element `i` of a zeroed little-endian bit stream.
#[inline]
fn put_bits(words: &mut [u32], i: usize, bits: usize, v: u32) {
    let pos = i * bits;
    let (w, s) = (pos / 32, pos % 32);
    words[w] |= v << s;
    if s + bits > 32 {
        words[w + 1] |= v >> (32 - s);
    }
}

/// Reads element `i` of a little-endian bit stream of `bits`-bit codes (bits <= 32).
#[inline]
fn get_bits(words: &[u32], i: usize, bits: usize) -> u32 {
    let pos = i * bits;
    let (w, s) = (pos / 32, pos % 32);
    let mut v = (words[w] as u64) >> s;
    if s + bits > 32 {
        v |= (words[w + 1] as u64) << (32 - s);
    }
    (v & ((1u64 << bits) - 1)) as u32
}

// ------------------------------------------------------------------------------------------
// Quantize
// ------------------------------------------------------------------------------------------

/// Rows to hand each rayon task: about 64K elements.
fn rows_per_task(cols: usize) -> usize {
    (65536 / cols.max(1)).max(1)
}

/// Affine quantization of the row-major `w` (rows of `k`), MLX's CPU algorithm in f32.
/// Returns the packed words, scales and biases (scales and biases in `w`'s dtype).
pub(crate) fn quantize(
    w: &Array,
    mode: QuantMode,
    group_size: usize,
    bits: usize,
    specs: &[OutputSpec],
) -> Result<Vec<Data>> {
    let k = *w.shape().last().unwrap_or(&0);
    let rows = w.size().checked_div(k).unwrap_or(0);
    let wpr = k * bits / 32; // words per row
    let gpr = k / group_size.max(1); // groups per row
    let (mut wq_buf, _) = Data::alloc(&specs[0])?;
    let (mut s_buf, _) = Data::alloc(&specs[1])?;
    let wq = buffer_elements_mut::<u32>(&mut wq_buf);
    wq.fill(0);
    let mut out = Vec::with_capacity(specs.len());
    if mode == QuantMode::Affine {
        let (mut b_buf, _) = Data::alloc(&specs[2])?;
        float_dispatch!(w.dtype(), T => {
            let wv = dense::<T>(w)?;
            let wv = wv.as_slice();
            let sc = buffer_elements_mut::<T>(&mut s_buf);
            let bi = buffer_elements_mut::<T>(&mut b_buf);
            let per = rows_per_task(k);
            if rows > 0 && wpr > 0 {
                wq.par_chunks_mut(wpr * per)
                    .zip(sc.par_chunks_mut(gpr * per))
                    .zip(bi.par_chunks_mut(gpr * per))
                    .enumerate()
                    .for_each(|(t, ((wq, sc), bi))| {
                        let r0 = t * per;
                        let n = wq.len() / wpr;
                        for r in 0..n {
                            let row = &wv[(r0 + r) * k..(r0 + r + 1) * k];
                            affine_row(
                                row,
                                group_size,
                                bits,
                                &mut wq[r * wpr..(r + 1) * wpr],
                                &mut sc[r * gpr..(r + 1) * gpr],
                                &mut bi[r * gpr..(r + 1) * gpr],
                            );
                        }
                    });
            }
        });
        out.push(Data::from_buffer(wq_buf, &specs[0].shape));
        out.push(Data::from_buffer(s_buf, &specs[1].shape));
        out.push(Data::from_buffer(b_buf, &specs[2].shape));
        return Ok(out);
    }
    let sc = buffer_elements_mut::<u8>(&mut s_buf);
    let dtype = w.dtype();
    float_dispatch!(dtype, T => {
        let wv = dense::<T>(w)?;
        let wv = wv.as_slice();
        let per = rows_per_task(k);
        if rows > 0 && wpr > 0 {
            wq.par_chunks_mut(wpr * per)
                .zip(sc.par_chunks_mut(gpr * per))
                .enumerate()
                .for_each(|(t, (wq, sc))| {
                    let r0 = t * per;
                    let n = wq.len() / wpr;
                    for r in 0..n {
                        let row = &wv[(r0 + r) * k..(r0 + r + 1) * k];
                        fp_row(
                            row,
                            mode,
                            dtype,
                            &mut wq[r * wpr..(r + 1) * wpr],
                            &mut sc[r * gpr..(r + 1) * gpr],
                        );
                    }
                });
        }
    });
    out.push(Data::from_buffer(wq_buf, &specs[0].shape));
    out.push(Data::from_buffer(s_buf, &specs[1].shape));
    Ok(out)
}

/// One row of affine quantization (MLX's `quantize` CPU kernel, step for step in f32).
fn affine_row<T: Element>(
    row: &[T],
    group_size: usize,
    bits: usize,
    words: &mut [u32],
    scales: &mut [T],
    biases: &mut [T],
) {
    let n_bins = ((1u32 << bits) - 1) as f32;
    let eps = 1e-7f32;
    for (g, group) in row.chunks_exact(group_size).enumerate() {
        let mut w_min = f32::INFINITY;
        let mut w_max = -w_min;
        for &e in group {
            let v = e.to_f64() as f32;
            // std::max / std::min: a NaN element never replaces the running value.
            if w_max < v {
                w_max = v;
            }
            if v < w_min {
                w_min = v;
            }
        }
        let (scale, bias) = if bits == 1 {
            // One bit: MLX 0.32.4 maps the group's minimum to 0 and its maximum to 1.
            (((w_max - w_min) / n_bins).max(eps), w_min)
        } else {
            let mask = w_min.abs() > w_max.abs();
            let mut scale = (w_max - w_min) / n_bins;
            if scale < eps {
                scale = eps;
            }
            if !mask {
                scale = -scale;
            }
            let edge = if mask { w_min } else { w_max };
            let q0 = (edge / scale).round_ties_even();
            let mut bias = 0.0f32;
            if q0 != 0.0 {
                scale = edge / q0;
                bias = edge;
            }
            (scale, bias)
        };
        for (j, &e) in group.iter().enumerate() {
            let mut q = ((e.to_f64() as f32 - bias) / scale).round_ties_even();
            // std::min(std::max(q, 0), n_bins)
            if q < 0.0 {
                q = 0.0;
            }
            if n_bins < q {
                q = n_bins;
            }
            put_bits(words, g * group_size + j, bits, q as u64 as u32);
        }
        scales[g] = T::from_f64(scale as f64);
        biases[g] = T::from_f64(bias as f64);
    }
}

/// The index of the first smallest distance (MLX's argmin; a NaN distance is smallest).
fn argmin_lut(dist: impl Fn(f64) -> f64) -> u32 {
    let mut best = 0u32;
    let mut best_d = dist(FP4_LUT[0] as f64);
    for (i, &l) in FP4_LUT.iter().enumerate().skip(1) {
        let d = dist(l as f64);
        if d < best_d || (d.is_nan() && !best_d.is_nan()) {
            best = i as u32;
            best_d = d;
        }
    }
    best
}

/// One row of mxfp4 / mxfp8 / nvfp4 quantization: MLX's chain of ops on the CPU, each step
/// rounded to the dtype MLX holds it in.
fn fp_row<T: Element>(
    row: &[T],
    mode: QuantMode,
    dtype: Dtype,
    words: &mut [u32],
    scales: &mut [u8],
) {
    let rt = round_to(dtype);
    let group_size = mode.default_group_size();
    let bits = mode.default_bits();
    let maxval = if bits == 4 { 6.0 } else { 448.0 };
    let mut wq = vec![0f64; group_size];
    for (g, group) in row.chunks_exact(group_size).enumerate() {
        let mut m = 0f64;
        let mut nan = false;
        for &e in group {
            let a = e.to_f64().abs();
            if a.is_nan() {
                nan = true;
            } else if a > m {
                m = a;
            }
        }
        if nan {
            m = f64::NAN;
        }
        let s = rt(m / maxval);
        // For nvfp4 the values end up in float32 (the scale encoding is a float32 array).
        let mut vals_f32 = false;
        if mode == QuantMode::Nvfp4 {
            let code = fp8_from_f32(s as f32);
            scales[g] = code;
            let sd = rt(fp8_to_f32(code) as f64);
            for (o, &e) in wq.iter_mut().zip(group) {
                *o = rt(e.to_f64() / sd);
            }
            vals_f32 = true;
        } else {
            let e = if s == 0.0 {
                0.0
            } else {
                // MLX 0.32.4 rounds the exponent up (its older sources rounded to nearest),
                // so that the largest element never overflows the format.
                let l = rt(s.log2()).ceil();
                // astype(int32) of a float, then held in the dtype again by `where`.
                rt(l as i32 as f64)
            };
            let p = rt(2f64.powf(e));
            for (o, &x) in wq.iter_mut().zip(group) {
                *o = rt(x.to_f64() / p);
            }
            scales[g] = (rt(e + 127.0) as i64) as u8;
        }
        let base = g * group_size;
        if bits == 8 {
            for (j, &v) in wq.iter().enumerate() {
                put_bits(words, base + j, 8, fp8_from_f32(v as f32) as u32);
            }
        } else {
            for (j, &v) in wq.iter().enumerate() {
                let code = if vals_f32 {
                    argmin_lut(|l| ((v - l) as f32).abs() as f64)
                } else {
                    argmin_lut(|l| rt(v - rt(l)).abs())
                };
                put_bits(words, base + j, 4, code);
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Dequantize
// ------------------------------------------------------------------------------------------

/// Dequantizes `w` (packed rows) with `scales` (and `biases` for affine) into `spec`'s dtype,
/// reproducing MLX's CPU op chain: affine computes `q * s` in the scales' dtype, then `+ b` in
/// the promoted dtype of scales and biases, then converts; the float formats compute in the
/// output dtype.
pub(crate) fn dequantize(
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    mode: QuantMode,
    group_size: usize,
    bits: usize,
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let kout = *spec.shape.last().unwrap_or(&0);
    let rows = spec.size().checked_div(kout).unwrap_or(0);
    let wpr = w.shape().last().copied().unwrap_or(0);
    let gpr = scales.shape().last().copied().unwrap_or(0);
    let wv = dense::<u32>(w)?;
    let wv = wv.as_slice();
    // Scales (and biases) as f64, already in their dtype's precision.
    let sv: Vec<f64> = if mode == QuantMode::Affine {
        float_dispatch!(scales.dtype(), S => {
            dense::<S>(scales)?.as_slice().iter().map(|x| x.to_f64()).collect()
        })
    } else {
        let out_round = round_to(spec.dtype);
        dense::<u8>(scales)?
            .as_slice()
            .iter()
            .map(|&c| {
                if mode == QuantMode::Nvfp4 {
                    out_round(fp8_to_f32(c) as f64)
                } else {
                    out_round(2f64.powf(out_round(c as f64 - 127.0)))
                }
            })
            .collect()
    };
    type Rounding = fn(f64) -> f64;
    let (bv, mul_round, add_round): (Vec<f64>, Rounding, Rounding) = match biases {
        Some(b) => {
            let bv = float_dispatch!(b.dtype(), S => {
                dense::<S>(b)?.as_slice().iter().map(|x| x.to_f64()).collect()
            });
            let p = crate::dtype::promote_types(scales.dtype(), b.dtype());
            (bv, round_to(scales.dtype()), round_to(p))
        }
        None => (Vec::new(), round_to(spec.dtype), round_to(spec.dtype)),
    };
    let fp8: Vec<f64> = (0..=255u8)
        .map(|c| round_to(spec.dtype)(fp8_to_f32(c) as f64))
        .collect();
    float_dispatch!(spec.dtype, O => {
        let out = buffer_elements_mut::<O>(&mut buf);
        if rows > 0 {
            let per = rows_per_task(kout);
            out.par_chunks_mut(kout * per).enumerate().for_each(|(t, chunk)| {
                for (r, orow) in chunk.chunks_exact_mut(kout).enumerate() {
                    let row = t * per + r;
                    let words = &wv[row * wpr..(row + 1) * wpr];
                    for (i, o) in orow.iter_mut().enumerate() {
                        let g = row * gpr + i / group_size;
                        let code = get_bits(words, i, bits);
                        let v = match mode {
                            QuantMode::Affine => {
                                add_round(mul_round(code as f64 * sv[g]) + bv[g])
                            }
                            QuantMode::Mxfp8 => mul_round(fp8[code as usize] * sv[g]),
                            _ => mul_round(FP4_LUT[code as usize] as f64 * sv[g]),
                        };
                        *o = O::from_f64(v);
                    }
                }
            });
        }
    });
    Ok(Data::from_buffer(buf, &spec.shape))
}

// ------------------------------------------------------------------------------------------
// Matrix products with quantized weights
// ------------------------------------------------------------------------------------------

/// The quantization of a weight matrix, for the product kernels.
#[derive(Copy, Clone)]
pub(crate) struct QSpec {
    pub mode: QuantMode,
    pub group_size: usize,
    pub bits: usize,
}

/// One weight matrix: packed rows, and per-group scale and bias as f32.
struct WMat<'a> {
    words: &'a [u32],
    /// Words per packed row.
    wpr: usize,
    scales: &'a [f32],
    biases: Option<&'a [f32]>,
    /// Groups per row.
    gpr: usize,
}

/// Decodes elements `start .. start + out.len()` of packed row `r` (both ends on group
/// boundaries) into `out`, scaled and biased.
#[inline(always)]
fn decode_body(q: QSpec, w: &WMat<'_>, r: usize, start: usize, out: &mut [f32]) {
    let words = &w.words[r * w.wpr..(r + 1) * w.wpr];
    let gs = q.group_size;
    let g0 = r * w.gpr + start / gs;
    match q.mode {
        QuantMode::Affine => {
            let bi = w.biases.unwrap_or(&[]);
            match q.bits {
                4 => decode_pow2::<4>(words, &w.scales[g0..], &bi[g0..], gs, start, out),
                8 => decode_pow2::<8>(words, &w.scales[g0..], &bi[g0..], gs, start, out),
                2 => decode_pow2::<2>(words, &w.scales[g0..], &bi[g0..], gs, start, out),
                1 => decode_pow2::<1>(words, &w.scales[g0..], &bi[g0..], gs, start, out),
                bits => {
                    for (gi, chunk) in out.chunks_mut(gs).enumerate() {
                        let (s, b) = (w.scales[g0 + gi], bi[g0 + gi]);
                        let e0 = start + gi * gs;
                        for (j, o) in chunk.iter_mut().enumerate() {
                            *o = get_bits(words, e0 + j, bits) as f32 * s + b;
                        }
                    }
                }
            }
        }
        QuantMode::Mxfp8 => {
            for (gi, chunk) in out.chunks_mut(gs).enumerate() {
                let s = w.scales[g0 + gi];
                let e0 = start + gi * gs;
                for (j, o) in chunk.iter_mut().enumerate() {
                    let c = (words[(e0 + j) / 4] >> (8 * ((e0 + j) % 4))) & 0xFF;
                    *o = fp8_to_f32(c as u8) * s;
                }
            }
        }
        _ => {
            for (gi, chunk) in out.chunks_mut(gs).enumerate() {
                let s = w.scales[g0 + gi];
                let e0 = start + gi * gs;
                for (j, o) in chunk.iter_mut().enumerate() {
                    let c = (words[(e0 + j) / 8] >> (4 * ((e0 + j) % 8))) & 0xF;
                    *o = FP4_LUT[c as usize] * s;
                }
            }
        }
    }
}

/// Power-of-two bit widths: each word holds `32 / B` codes, unpacked with vector shifts.
#[inline(always)]
fn decode_pow2<const B: usize>(
    words: &[u32],
    scales: &[f32],
    biases: &[f32],
    gs: usize,
    start: usize,
    out: &mut [f32],
) {
    let per = 32 / B;
    let mask = ((1u64 << B) - 1) as u32;
    let w0 = start / per;
    for (gi, chunk) in out.chunks_mut(gs).enumerate() {
        let (s, b) = (scales[gi], biases[gi]);
        let wg = &words[w0 + gi * gs / per..];
        for (c8, &word) in chunk.chunks_exact_mut(per).zip(wg) {
            for (j, o) in c8.iter_mut().enumerate() {
                *o = ((word >> (j * B)) & mask) as f32 * s + b;
            }
        }
    }
}

/// Dot product with 16 independent partial sums (vectorisable).
#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 16];
    let mut ca = a.chunks_exact(16);
    let mut cb = b.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..16 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    let mut s = 0f32;
    for v in acc {
        s += v;
    }
    s + tail
}

/// `x @ w.T` for a few rows of `x`: each weight row is decoded once (into `buf`) and dotted
/// with every row of `x`. Writes `outT[n * m + i]` for the columns `n0..n0 + cols`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gemv_t_body(
    q: QSpec,
    w: &WMat<'_>,
    x: &[f32],
    m: usize,
    k: usize,
    n0: usize,
    out_t: &mut [f32],
    buf: &mut [f32],
) {
    for (c, o) in out_t.chunks_exact_mut(m).enumerate() {
        decode_body(q, w, n0 + c, 0, buf);
        for (i, oi) in o.iter_mut().enumerate() {
            *oi = dot_body(&x[i * k..(i + 1) * k], buf);
        }
    }
}

/// `acc[i] += a * x[i]`.
#[inline(always)]
fn axpy_body(acc: &mut [f32], a: f32, x: &[f32]) {
    for (o, &v) in acc.iter_mut().zip(x) {
        *o += a * v;
    }
}

/// `x @ w` (not transposed) for a few rows of `x`, over the output columns `c0..c0 + width`:
/// each row `kk` of `w` is decoded over those columns and added, times `x[i, kk]`, into
/// row `i` of `acc` (`m x width`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gemv_n_body(
    q: QSpec,
    w: &WMat<'_>,
    x: &[f32],
    m: usize,
    k: usize,
    c0: usize,
    acc: &mut [f32],
    buf: &mut [f32],
) {
    let width = buf.len();
    acc.fill(0.0);
    for kk in 0..k {
        decode_body(q, w, kk, c0, buf);
        for i in 0..m {
            axpy_body(&mut acc[i * width..(i + 1) * width], x[i * k + kk], buf);
        }
    }
}

macro_rules! avx2_dispatch {
    ($name:ident, $body:ident, ($($arg:ident : $ty:ty),*) $(-> $ret:ty)?) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        fn $name($($arg: $ty),*) $(-> $ret)? {
            $body($($arg),*)
        }
    };
}

mod simd {
    use super::*;
    avx2_dispatch!(gemv_t_avx2, gemv_t_body, (q: QSpec, w: &WMat<'_>, x: &[f32], m: usize, k: usize, n0: usize, out_t: &mut [f32], buf: &mut [f32]));
    avx2_dispatch!(gemv_n_avx2, gemv_n_body, (q: QSpec, w: &WMat<'_>, x: &[f32], m: usize, k: usize, c0: usize, acc: &mut [f32], buf: &mut [f32]));
    avx2_dispatch!(decode_avx2, decode_body, (q: QSpec, w: &WMat<'_>, r: usize, start: usize, out: &mut [f32]));

    fn has_avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn gemv_t(
        q: QSpec,
        w: &WMat<'_>,
        x: &[f32],
        m: usize,
        k: usize,
        n0: usize,
        out_t: &mut [f32],
        buf: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports the features the function was compiled for.
            return unsafe { gemv_t_avx2(q, w, x, m, k, n0, out_t, buf) };
        }
        gemv_t_body(q, w, x, m, k, n0, out_t, buf)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn gemv_n(
        q: QSpec,
        w: &WMat<'_>,
        x: &[f32],
        m: usize,
        k: usize,
        c0: usize,
        acc: &mut [f32],
        buf: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports the features the function was compiled for.
            return unsafe { gemv_n_avx2(q, w, x, m, k, c0, acc, buf) };
        }
        gemv_n_body(q, w, x, m, k, c0, acc, buf)
    }

    pub(super) fn decode(q: QSpec, w: &WMat<'_>, r: usize, start: usize, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports the features the function was compiled for.
            return unsafe { decode_avx2(q, w, r, start, out) };
        }
        decode_body(q, w, r, start, out)
    }
}

/// A writable pointer whose users write disjoint regions.
#[derive(Copy, Clone)]
struct MutPtr(*mut f32);
// SAFETY: each task writes its own columns of the output block.
unsafe impl Send for MutPtr {}
// SAFETY: as above.
unsafe impl Sync for MutPtr {}
impl MutPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Rows of `x` from which the tiled path (dequantize a block of `w`, then GEMM) pays off.
const TILED_MIN_ROWS: usize = 12;

/// `out (m x n) = x (m x k) @ W` where `W` is `w` dequantized (`n x k` when `transpose`,
/// so the product is `x @ w.T`; else `k x n`).
#[allow(clippy::too_many_arguments)]
fn qmm_block(
    q: QSpec,
    w: &WMat<'_>,
    transpose: bool,
    x: &[f32],
    m: usize,
    k: usize,
    n: usize,
    out: &mut [f32],
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    if m >= TILED_MIN_ROWS {
        return qmm_tiled(q, w, transpose, x, m, k, n, out);
    }
    if transpose {
        // Columns of the output in chunks, each chunk written transposed (contiguous).
        let chunk = 16usize;
        let mut out_t = vec![0f32; n * m];
        out_t.par_chunks_mut(chunk * m).enumerate().for_each_init(
            || vec![0f32; k],
            |buf, (c, o)| simd::gemv_t(q, w, x, m, k, c * chunk, o, buf),
        );
        for (j, col) in out_t.chunks_exact(m).enumerate() {
            for (i, &v) in col.iter().enumerate() {
                out[i * n + j] = v;
            }
        }
    } else {
        // Column blocks aligned to groups: each task owns `m x width` of the output.
        let width = (256 / q.group_size).max(1) * q.group_size;
        let blocks: Vec<(usize, Vec<f32>)> = (0..n.div_ceil(width))
            .into_par_iter()
            .map(|b| {
                let c0 = b * width;
                let wd = width.min(n - c0);
                let mut acc = vec![0f32; m * wd];
                let mut buf = vec![0f32; wd];
                simd::gemv_n(q, w, x, m, k, c0, &mut acc, &mut buf);
                (c0, acc)
            })
            .collect();
        for (c0, acc) in blocks {
            let wd = acc.len() / m;
            for i in 0..m {
                out[i * n + c0..i * n + c0 + wd].copy_from_slice(&acc[i * wd..(i + 1) * wd]);
            }
        }
    }
}

/// Many rows of `x`: blocks of `W` are dequantized into a small f32 tile (L2-sized) and
/// multiplied with faer's GEMM; tasks own disjoint column blocks of the output.
#[allow(clippy::too_many_arguments)]
fn qmm_tiled(
    q: QSpec,
    w: &WMat<'_>,
    transpose: bool,
    x: &[f32],
    m: usize,
    k: usize,
    n: usize,
    out: &mut [f32],
) {
    let gs = q.group_size;
    // Block sizes: the dequantized tile is nb x kb floats.
    let (nb, kb) = if transpose {
        (64usize, (512 / gs).max(1) * gs)
    } else {
        ((256 / gs).max(1) * gs, 128usize)
    };
    let op = MutPtr(out.as_mut_ptr());
    (0..n.div_ceil(nb)).into_par_iter().for_each(|bj| {
        let n0 = bj * nb;
        let nw = nb.min(n - n0);
        let mut tile = vec![0f32; nw * kb.min(k)];
        let mut k0 = 0;
        while k0 < k {
            let kw = kb.min(k - k0);
            let tile = &mut tile[..nw * kw];
            let rhs = if transpose {
                for (r, row) in tile.chunks_exact_mut(kw).enumerate() {
                    simd::decode(q, w, n0 + r, k0, row);
                }
                // tile is nw x kw row-major: as a kw x nw matrix, strides (1, kw).
                MatRef::from_column_major_slice(tile, kw, nw)
            } else {
                for (r, row) in tile.chunks_exact_mut(nw).enumerate() {
                    simd::decode(q, w, k0 + r, n0, row);
                }
                MatRef::from_row_major_slice(tile, kw, nw)
            };
            let lhs = MatRef::from_row_major_slice(x, m, k).subcols(k0, kw);
            // SAFETY: this task alone writes columns n0..n0 + nw of every row of the m x n
            // output, which the view covers (row stride n, inside the buffer).
            let dst = unsafe { MatMut::from_raw_parts_mut(op.get().add(n0), m, nw, n as isize, 1) };
            let accum = if k0 == 0 { Accum::Replace } else { Accum::Add };
            seq_matmul(dst, accum, lhs, rhs, 1.0f32);
            k0 += kw;
        }
    });
}

/// Scales (and biases) of a weight batch as f32: affine inputs arrive in the output dtype;
/// the float formats' `uint8` codes decode as MLX's kernels do for the element type `T`.
fn scales_f32(mode: QuantMode, dtype: Dtype, s: &[u8], as_float: Option<Vec<f32>>) -> Vec<f32> {
    if let Some(v) = as_float {
        return v;
    }
    let rt = round_to(dtype);
    s.iter()
        .map(|&c| {
            let v = if mode == QuantMode::Nvfp4 {
                fp8_to_f32(c)
            } else {
                e8m0_to_f32(c)
            };
            rt(v as f64) as f32
        })
        .collect()
}

/// The elements of an array as f32 (for float dtypes).
fn as_f32<T: Element>(v: &[T]) -> Vec<f32> {
    v.iter().map(|x| x.to_f64() as f32).collect()
}

/// A slice of float elements as the fast path's parameter view (by its dtype).
fn params<T: Element>(dtype: Dtype, v: &[T]) -> Params<'_> {
    // SAFETY: the dtype says what `T` is; f16 and bf16 are 2-byte bit patterns, f32 is f32.
    unsafe {
        match dtype {
            Dtype::Float16 => Params::F16(std::slice::from_raw_parts(v.as_ptr().cast(), v.len())),
            Dtype::Bfloat16 => Params::Bf16(std::slice::from_raw_parts(v.as_ptr().cast(), v.len())),
            _ => {
                debug_assert_eq!(
                    std::mem::size_of::<T>(),
                    4,
                    "the fast path takes f32, f16, bf16"
                );
                Params::F32(std::slice::from_raw_parts(v.as_ptr().cast(), v.len()))
            }
        }
    }
}

/// Inputs of a product, dense per matrix, and the batch pairing of `x` and `w` matrices.
pub(crate) struct QmmInputs<'a> {
    pub x: &'a Array,
    pub w: &'a Array,
    pub scales: &'a Array,
    pub biases: Option<&'a Array>,
}

/// `quantized_matmul` and `gather_qmm`: `pairs` lists, for each output matrix, the batch index
/// of `x` and of `w` (flat over their batch dimensions). `x` rows are `m x k`; the output
/// (in `spec`) is `pairs.len()` matrices of `m x n`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn qmm(
    inp: QmmInputs<'_>,
    q: QSpec,
    transpose: bool,
    m: usize,
    k: usize,
    n: usize,
    pairs: &[(usize, usize)],
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let dtype = spec.dtype;
    let x_batches = inp.x.size().checked_div(m * k).unwrap_or(0);
    let w_nd = inp.w.ndim();
    let w_batches: usize = inp.w.shape()[..w_nd - 2].iter().product();
    for &(xi, wi) in pairs {
        if xi >= x_batches.max(1) || wi >= w_batches.max(1) {
            return Err(Error::index(format!(
                "[gather_qmm] Index out of range: x has {x_batches} matrices and w has \
                 {w_batches}, got indices {xi} and {wi}."
            )));
        }
    }
    float_dispatch!(dtype, T => {
        let out = buffer_elements_mut::<T>(&mut buf);
        let xv = as_f32(dense::<T>(inp.x)?.as_slice());
        let wm = Mats::<u32>::new(inp.w, w_batches)?;
        let (wpr, gpr) = (inp.w.shape()[w_nd - 1], inp.scales.shape()[w_nd - 1]);
        let w_rows = inp.w.shape()[w_nd - 2];
        let fast_qmv = q.mode == QuantMode::Affine
            && transpose
            && inp.biases.is_some()
            && matches!(dtype, Dtype::Float32 | Dtype::Float16 | Dtype::Bfloat16)
            && qmv::supported(q.bits, q.group_size, k, m);
        let (sv, bv): (Vec<f32>, Option<Vec<f32>>) = if fast_qmv {
            (Vec::new(), None)
        } else if q.mode == QuantMode::Affine {
            let s = as_f32(dense::<T>(inp.scales)?.as_slice());
            let b = match inp.biases {
                Some(b) => Some(as_f32(dense::<T>(b)?.as_slice())),
                None => None,
            };
            (s, b)
        } else {
            let s = dense::<u8>(inp.scales)?;
            (scales_f32(q.mode, dtype, s.as_slice(), None), None)
        };
        let s_per = w_rows * gpr;
        let mut block = vec![0f32; m * n];
        if fast_qmv {
            // Scales and biases stay in their stored type (converted per row inside).
            let s = dense::<T>(inp.scales)?;
            let b = dense::<T>(inp.biases.expect("affine products have biases"))?;
            for (p, &(xi, wi)) in pairs.iter().enumerate() {
                let woff = wm.offsets[wi];
                let qw = QWeights {
                    words: &wm.data.as_slice()[woff..woff + w_rows * wpr],
                    scales: params(dtype, &s.as_slice()[wi * s_per..(wi + 1) * s_per]),
                    biases: params(dtype, &b.as_slice()[wi * s_per..(wi + 1) * s_per]),
                    bits: q.bits,
                    group_size: q.group_size,
                    n,
                    k,
                };
                qmv::qmv_t(&qw, &xv[xi * m * k..(xi + 1) * m * k], m, &mut block);
                for (o, &v) in out[p * m * n..(p + 1) * m * n].iter_mut().zip(&block) {
                    *o = T::from_f64(v as f64);
                }
            }
            return Ok(Data::from_buffer(buf, &spec.shape));
        }
        for (p, &(xi, wi)) in pairs.iter().enumerate() {
            let xm = &xv[xi * m * k..(xi + 1) * m * k];
            let woff = wm.offsets[wi];
            let wmat = WMat {
                words: &wm.data.as_slice()[woff..woff + w_rows * wpr],
                wpr,
                scales: &sv[wi * s_per..(wi + 1) * s_per],
                biases: bv.as_ref().map(|b| &b[wi * s_per..(wi + 1) * s_per]),
                gpr,
            };
            qmm_block(q, &wmat, transpose, xm, m, k, n, &mut block);
            for (o, &v) in out[p * m * n..(p + 1) * m * n].iter_mut().zip(&block) {
                *o = T::from_f64(v as f64);
            }
        }
    });
    Ok(Data::from_buffer(buf, &spec.shape))
}

// ------------------------------------------------------------------------------------------
// qqmm: x quantized on the fly
// ------------------------------------------------------------------------------------------

/// e8m0 code of a positive scale (MLX's `to_fp8_e8m0`: nearest power of two, halves away
/// from zero in the exponent).
fn e8m0_from_f32(x: f32) -> u8 {
    if !x.is_finite() {
        return 0xFF;
    }
    if x < 0.0 {
        return 0;
    }
    // Rounded up, as MLX 0.32.4's mx quantization does.
    let l = x.log2().ceil();
    let n = if l.is_nan() {
        -127
    } else {
        (l as i64).clamp(-127, 127)
    };
    (n + 127) as u8
}

/// e2m1 code of a value (MLX's `to_fp4_e2m1`: ties as the thresholds put them).
fn fp4_from_f32(x: f32) -> u8 {
    if x.is_nan() {
        return 0x7;
    }
    let sign = if x.is_sign_negative() { 0x8 } else { 0 };
    let a = x.abs();
    let b = if a > 5.0 {
        7
    } else if a >= 3.5 {
        6
    } else if a > 2.5 {
        5
    } else if a >= 1.75 {
        4
    } else if a > 1.25 {
        3
    } else if a >= 0.75 {
        2
    } else if a > 0.25 {
        1
    } else {
        0
    };
    b | sign
}

/// `x` rounded through the mode's float format, group by group (MLX's
/// `fp_quantize_dequantize`), as f32 values of `x`'s dtype.
fn fp_round_trip(x: &[f32], q: QSpec, dtype: Dtype) -> Vec<f32> {
    let rt = round_to(dtype);
    let mut out = vec![0f32; x.len()];
    for (xo, xi) in out.chunks_mut(q.group_size).zip(x.chunks(q.group_size)) {
        let mut scale = f32::NEG_INFINITY;
        for &v in xi {
            scale = scale.max(v.abs());
        }
        scale /= if q.bits == 4 { 6.0 } else { 448.0 };
        scale = if q.group_size == 16 {
            fp8_to_f32(fp8_from_f32(scale))
        } else {
            e8m0_to_f32(e8m0_from_f32(scale))
        };
        for (o, &v) in xo.iter_mut().zip(xi) {
            let e = if scale == 0.0 { 0.0 } else { v / scale };
            let r = if q.bits == 8 {
                fp8_to_f32(fp8_from_f32(e))
            } else {
                FP4_LUT[fp4_from_f32(e) as usize]
            };
            *o = rt((scale * r) as f64) as f32;
        }
    }
    out
}

/// `qqmm` for one row of `x` and a quantized `w` (`n x k` packed, transposed product).
pub(crate) fn qqmm(
    x: &Array,
    w: &Array,
    scales: &Array,
    q: QSpec,
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let k = *x.shape().last().unwrap_or(&0);
    let n = *spec.shape.last().unwrap_or(&0);
    let wd = dense::<u32>(w)?;
    let sd = dense::<u8>(scales)?;
    let sv = scales_f32(q.mode, spec.dtype, sd.as_slice(), None);
    let wmat = WMat {
        words: wd.as_slice(),
        wpr: w.shape()[1],
        scales: &sv,
        biases: None,
        gpr: scales.shape()[1],
    };
    float_dispatch!(spec.dtype, T => {
        let xv = as_f32(dense::<T>(x)?.as_slice());
        let xh = fp_round_trip(&xv, q, spec.dtype);
        let m = xh.len().checked_div(k).unwrap_or(0);
        let mut block = vec![0f32; m * n];
        qmm_block(q, &wmat, true, &xh, m, k, n, &mut block);
        let out = buffer_elements_mut::<T>(&mut buf);
        for (o, &v) in out.iter_mut().zip(&block) {
            *o = T::from_f64(v as f64);
        }
    });
    Ok(Data::from_buffer(buf, &spec.shape))
}
