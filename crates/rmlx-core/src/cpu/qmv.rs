//! `x @ w.T` for a few rows of `x` and affine 4- or 8-bit weights (the decoding step of a
//! quantized language model), with AVX2 + FMA, or AVX-512 BF16 for 4-bit weights.
//!
//! The generic path decodes each weight row to floats and then takes a dot product. Here the
//! packed words are used as they are: eight words are loaded into one vector, and shifting it
//! by `bits * s` and masking gives, in lane `i`, code `s` of word `i`. The rows of `x` are
//! permuted once per call so that the matching eight values of `x` are contiguous, so each
//! eight codes cost a shift, a mask, a conversion and a fused multiply-add. The affine bias
//! needs no per-element work: `sum_j (s q_j + b) x_j = s sum_j q_j x_j + b sum_j x_j`, with the
//! group sums of `x` computed once per call.
//!
//! Where the CPU has AVX-512 BF16 (AMD Zen 4, Intel Sapphire Rapids), 4-bit codes take a
//! cheaper route: a 16-bit word permute looks up each code's bfloat16 value (exact: codes are
//! small integers), and `vdpbf16ps` multiplies 32 of them by bfloat16 `x` and adds pairs into
//! float32 lanes. `x` is split exactly into three bfloat16 parts, `hi + mid + lo`, so each
//! product is exact in float32 and the results are as accurate as the float32 path's (not
//! bfloat16's 1e-2). That is still about half the instructions per weight of the AVX2 path.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::reduce::dot_lanes;
use rayon::prelude::*;

/// Scales or biases of the weight rows in their stored float type.
#[derive(Clone, Copy)]
pub(crate) enum Params<'a> {
    F32(&'a [f32]),
    /// float16 bit patterns.
    F16(&'a [u16]),
    /// bfloat16 bit patterns.
    Bf16(&'a [u16]),
}

impl Params<'_> {
    fn len(&self) -> usize {
        match self {
            Params::F32(v) => v.len(),
            Params::F16(v) | Params::Bf16(v) => v.len(),
        }
    }

    /// Elements `start .. start + buf.len()` as f32: borrowed when stored as f32, else
    /// converted into `buf`.
    fn row_f32<'b>(&'b self, start: usize, buf: &'b mut [f32]) -> &'b [f32] {
        if let Params::F32(v) = self {
            return &v[start..start + buf.len()];
        }
        self.row(start, buf);
        buf
    }

    /// Elements `start .. start + out.len()` as f32.
    fn row(&self, start: usize, out: &mut [f32]) {
        let n = out.len();
        match self {
            Params::F32(v) => out.copy_from_slice(&v[start..start + n]),
            Params::F16(v) => {
                for (o, &h) in out.iter_mut().zip(&v[start..start + n]) {
                    *o = half::f16::from_bits(h).to_f32();
                }
            }
            Params::Bf16(v) => {
                for (o, &h) in out.iter_mut().zip(&v[start..start + n]) {
                    *o = f32::from_bits((h as u32) << 16);
                }
            }
        }
    }
}

/// One affine-quantized weight matrix (`n` rows of `k` elements, row-major packed words).
pub(crate) struct QWeights<'a> {
    pub words: &'a [u32],
    pub scales: Params<'a>,
    pub biases: Params<'a>,
    pub bits: usize,
    pub group_size: usize,
    pub n: usize,
    pub k: usize,
}

/// Whether [`qmv_t`] handles this product on this CPU.
pub(crate) fn supported(bits: usize, group_size: usize, k: usize, m: usize) -> bool {
    let codes_per_block = 8 * (32 / bits.max(1));
    matches!(bits, 4 | 8)
        && matches!(group_size, 32 | 64 | 128)
        && k > 0
        && k.is_multiple_of(codes_per_block)
        && (1..=MAX_ROWS).contains(&m)
        && has_avx2_fma()
}

/// Most rows of `x` this path takes; larger products dequantize tiles and use a GEMM.
pub(crate) const MAX_ROWS: usize = 11;

fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Which inner kernel [`qmv_t`] runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kernel {
    /// AVX2 + FMA: codes converted to f32, multiplied by f32 `x`.
    Avx2,
    /// AVX-512 BF16 (4-bit only): codes looked up as bfloat16 and multiplied by `x` split into
    /// two bfloat16 halves.
    Avx512Bf16,
}

/// The fastest kernel this CPU has for `bits`.
fn best_kernel(bits: usize) -> Kernel {
    if bits == 4 && has_avx512_bf16() {
        Kernel::Avx512Bf16
    } else {
        Kernel::Avx2
    }
}

fn has_avx512_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `out (m x n) = x (m x k) @ W.T`, `W` the dequantized weights. Call only when
/// [`supported`] says so.
pub(crate) fn qmv_t(w: &QWeights<'_>, x: &[f32], m: usize, out: &mut [f32]) {
    qmv_t_with(best_kernel(w.bits), w, x, m, out)
}

fn qmv_t_with(kernel: Kernel, w: &QWeights<'_>, x: &[f32], m: usize, out: &mut [f32]) {
    let (k, n) = (w.k, w.n);
    let gpr = k / w.group_size;
    debug_assert!(w.scales.len() >= n * gpr && w.biases.len() >= n * gpr);
    let per = 32 / w.bits;
    let xp = match kernel {
        Kernel::Avx2 => XRows::F32(permute_x(x, k, per)),
        Kernel::Avx512Bf16 => XRows::Bf16(split_x_bf16(x, k)),
    };
    let xsum: Vec<f32> = x
        .chunks_exact(w.group_size)
        .map(|g| g.iter().sum::<f32>())
        .collect();
    // A few tasks per thread: rows are cheap (a 576-wide row is ~100 ns), so many small
    // tasks would spend more on scheduling than on the products.
    let rows_per_task = n.div_ceil(4 * rayon::current_num_threads()).max(16);
    let out_ptr = OutPtr(out.as_mut_ptr());
    let run_task = |t: usize| {
        let r0 = t * rows_per_task;
        let r1 = (r0 + rows_per_task).min(n);
        let mut res = [0f32; 4 * MAX_ROWS];
        match &xp {
            XRows::F32(xp) => {
                let mut sc_buf = vec![0f32; gpr];
                let mut bi_buf = vec![0f32; gpr];
                for r in r0..r1 {
                    let words = &w.words[r * (k / per)..(r + 1) * (k / per)];
                    let sc = w.scales.row_f32(r * gpr, &mut sc_buf);
                    let bi = w.biases.row_f32(r * gpr, &mut bi_buf);
                    let mut i0 = 0;
                    while i0 < m {
                        let rows = (m - i0).min(4);
                        let xs = &xp[i0 * k..(i0 + rows) * k];
                        let dots = &mut res[i0..i0 + rows];
                        // SAFETY: `supported` checked AVX2 and FMA; slices are sized by k.
                        unsafe { row_dots(words, sc, w.bits, w.group_size, xs, k, dots) };
                        i0 += rows;
                    }
                    for (i, &d) in res[..m].iter().enumerate() {
                        let bias = dot_lanes(bi, &xsum[i * gpr..(i + 1) * gpr]);
                        // SAFETY: row r of the output belongs to this task alone; i < m, r < n.
                        unsafe { *out_ptr.get().add(i * n + r) = d + bias };
                    }
                }
            }
            XRows::Bf16(xb) => {
                let kp = padded_len(k);
                // Weight rows per kernel call: four with one row of x, two with two, else one.
                let wide = match m {
                    1 => 4,
                    2 => 2,
                    _ => 1,
                };
                let mut r = r0;
                while r < r1 {
                    let rows = if r + wide <= r1 { wide } else { 1 };
                    let words = &w.words[r * (k / per)..(r + rows) * (k / per)];
                    let params = RowParams {
                        scales: w.scales,
                        biases: w.biases,
                        start: r * gpr,
                    };
                    let mut i0 = 0;
                    while i0 < m {
                        let xrows = (m - i0).min(4 / rows);
                        let xs = &xb[i0 * PARTS * kp..(i0 + xrows) * PARTS * kp];
                        let sums = &xsum[i0 * gpr..(i0 + xrows) * gpr];
                        let dots = &mut res[..xrows * rows];
                        // SAFETY: `best_kernel` checked AVX-512 F/BW/VL/BF16; slices are
                        // sized by k, the rows and their groups.
                        unsafe { row_dots_bf16(words, params, w.group_size, xs, sums, k, dots) };
                        for (i, d) in dots.chunks_exact(rows).enumerate() {
                            for (j, &v) in d.iter().enumerate() {
                                // SAFETY: rows r..r + rows of the output belong to this task
                                // alone; i0 + i < m, r + j < n.
                                unsafe { *out_ptr.get().add((i0 + i) * n + r + j) = v };
                            }
                        }
                        i0 += xrows;
                    }
                    r += rows;
                }
            }
        }
    };
    let tasks = n.div_ceil(rows_per_task);
    // Small products (under ~1M weights, tens of microseconds) stay on this thread: waking
    // the pool would cost as much as the work.
    if n * k * m < (1 << 20) {
        (0..tasks).for_each(run_task);
    } else {
        (0..tasks).into_par_iter().for_each(run_task);
    }
}

/// The rows of `x` prepared for a kernel.
enum XRows {
    /// For [`Kernel::Avx2`]: see [`permute_x`].
    F32(Vec<f32>),
    /// For [`Kernel::Avx512Bf16`]: see [`split_x_bf16`].
    Bf16(Vec<u16>),
}

/// The rows of `x` permuted per block of `8 * per` values: position `s * 8 + i` holds the
/// value that code `s` of word `i` multiplies (element `i * per + s` of the block).
fn permute_x(x: &[f32], k: usize, per: usize) -> Vec<f32> {
    let block = 8 * per;
    let mut xp = vec![0f32; x.len()];
    for (src, dst) in x.chunks_exact(k).zip(xp.chunks_exact_mut(k)) {
        for (sb, db) in src.chunks_exact(block).zip(dst.chunks_exact_mut(block)) {
            for i in 0..8 {
                for s in 0..per {
                    db[s * 8 + i] = sb[i * per + s];
                }
            }
        }
    }
    xp
}

/// The parts of `x` in bfloat16: `x = hi + mid + lo` exactly (a float32 significand is 24
/// bits, a bfloat16 one 8), so products of 4-bit codes with each part are exact in float32
/// and the dot products are as accurate as float32 ones.
const PARTS: usize = 3;

/// Each row of `x` as [`PARTS`] bfloat16 rows (`hi`, `mid`, `lo`, [`padded_len`] values each),
/// permuted for the BF16 kernel. A 16-bit lane `j` of a block's weights holds codes
/// `4j .. 4j + 3`; shifting by `4s` and looking up gives code `4j + s` in lane `j`, so position
/// `s * 32 + j` of a block of 128 values holds element `4j + s`. When `k` is an odd multiple of
/// 64 the last block is half empty: its missing elements are zeros.
fn split_x_bf16(x: &[f32], k: usize) -> Vec<u16> {
    let kp = padded_len(k);
    let mut out = vec![0u16; PARTS * kp * (x.len() / k)];
    for (src, dst) in x.chunks_exact(k).zip(out.chunks_exact_mut(PARTS * kp)) {
        for off in (0..k).step_by(128) {
            for s in 0..4 {
                for j in 0..32 {
                    let idx = off + 4 * j + s;
                    if idx >= k {
                        continue;
                    }
                    for (p, part) in bf16_parts(src[idx]).into_iter().enumerate() {
                        dst[p * kp + off + s * 32 + j] = part;
                    }
                }
            }
        }
    }
    out
}

/// `k` rounded up to whole 128-value blocks.
fn padded_len(k: usize) -> usize {
    k.div_ceil(128) * 128
}

/// `v` as `hi + mid + lo`, bfloat16 bit patterns, each the truncated remainder of the ones
/// before (exact for every finite `v` down to about 1e-36, whose last bits fall below
/// bfloat16's normal range); infinities and NaN go in `hi`.
fn bf16_parts(v: f32) -> [u16; PARTS] {
    if v.is_nan() {
        return [0x7FC0, 0, 0];
    }
    let trunc = |f: f32| (f.to_bits() >> 16) as u16;
    let widen = |h: u16| f32::from_bits((h as u32) << 16);
    let hi = trunc(v);
    if v.is_infinite() {
        return [hi, 0, 0];
    }
    let rest = v - widen(hi);
    let mid = trunc(rest);
    [hi, mid, trunc(rest - widen(mid))]
}

/// Scales and biases of one weight row, from group `start`.
#[derive(Clone, Copy)]
struct RowParams<'a> {
    scales: Params<'a>,
    biases: Params<'a>,
    start: usize,
}

#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: tasks write disjoint output columns.
unsafe impl Send for OutPtr {}
// SAFETY: as above.
unsafe impl Sync for OutPtr {}
impl OutPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Dot products of one packed weight row with up to four permuted rows of `x` (scales
/// applied, biases not).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_dots(
    words: &[u32],
    sc: &[f32],
    bits: usize,
    group_size: usize,
    xs: &[f32],
    k: usize,
    out: &mut [f32],
) {
    // SAFETY (all arms): the caller checked the CPU features.
    unsafe {
        match (bits, out.len()) {
            (4, 1) => dots::<4, 1>(words, sc, group_size, xs, k, out),
            (4, 2) => dots::<4, 2>(words, sc, group_size, xs, k, out),
            (4, 3) => dots::<4, 3>(words, sc, group_size, xs, k, out),
            (4, _) => dots::<4, 4>(words, sc, group_size, xs, k, out),
            (_, 1) => dots::<8, 1>(words, sc, group_size, xs, k, out),
            (_, 2) => dots::<8, 2>(words, sc, group_size, xs, k, out),
            (_, 3) => dots::<8, 3>(words, sc, group_size, xs, k, out),
            (_, _) => dots::<8, 4>(words, sc, group_size, xs, k, out),
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn row_dots(_: &[u32], _: &[f32], _: usize, _: usize, _: &[f32], _: usize, _: &mut [f32]) {
    unreachable!("qmv_t is only called where AVX2 is available")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn dots<const BITS: i32, const M: usize>(
    words: &[u32],
    sc: &[f32],
    group_size: usize,
    xs: &[f32],
    k: usize,
    out: &mut [f32],
) {
    let per = 32 / BITS as usize;
    let block = 8 * per;
    let words_per_group = group_size * BITS as usize / 32;
    let blocks = k / block;
    assert!(words.len() >= blocks * 8 && xs.len() >= M * k && sc.len() * group_size >= k);
    // SAFETY: every load below is inside `words` (8 per block), `xs` (M rows of k) or `sc`
    // (one scale per group), as the assertion above guarantees.
    unsafe {
        let mask = _mm256_set1_epi32((1 << BITS) - 1);
        let mut acc = [_mm256_setzero_ps(); M];
        for b in 0..blocks {
            let mut v = _mm256_loadu_si256(words.as_ptr().add(8 * b) as *const __m256i);
            // Independent partial sums: a fused multiply-add has a latency of 4 cycles, so one
            // or two rows of x need four chains each to keep the FMA units busy.
            let chains = if M <= 2 { 4 } else { 2 };
            let mut part = [[_mm256_setzero_ps(); M]; 4];
            let xb = xs.as_ptr().add(b * block);
            for s in 0..per {
                let c = _mm256_cvtepi32_ps(_mm256_and_si256(v, mask));
                v = _mm256_srli_epi32::<BITS>(v);
                for (i, p) in part[s % chains].iter_mut().enumerate() {
                    let xr = _mm256_loadu_ps(xb.add(i * k + s * 8));
                    *p = _mm256_fmadd_ps(c, xr, *p);
                }
            }
            let mut sum = [_mm256_setzero_ps(); M];
            for i in 0..M {
                let first = _mm256_add_ps(part[0][i], part[1][i]);
                let second = _mm256_add_ps(part[2][i], part[3][i]);
                sum[i] = _mm256_add_ps(first, second);
            }
            // The scale of each lane's word: one group covers the block, or (4-bit, group 32)
            // lanes 0-3 and 4-7 are two groups.
            let scale = if words_per_group >= 8 {
                _mm256_set1_ps(*sc.get_unchecked(8 * b / words_per_group))
            } else {
                _mm256_set_m128(
                    _mm_set1_ps(*sc.get_unchecked(2 * b + 1)),
                    _mm_set1_ps(*sc.get_unchecked(2 * b)),
                )
            };
            for i in 0..M {
                acc[i] = _mm256_fmadd_ps(sum[i], scale, acc[i]);
            }
        }
        for i in 0..M {
            let hi = _mm256_extractf128_ps::<1>(acc[i]);
            let lo = _mm256_castps256_ps128(acc[i]);
            let s4 = _mm_add_ps(hi, lo);
            let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
            let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<1>(s2, s2));
            out[i] = _mm_cvtss_f32(s1);
        }
    }
}

/// Dot products of `rows` consecutive packed 4-bit weight rows with `m` rows of `x` prepared
/// by [`split_x_bf16`] (`xs`: [`PARTS`] rows of [`padded_len`] per row of `x`), scales and biases applied
/// (`xsum`: the group sums of each row of `x`). `words` holds the `rows` weight rows and
/// `out[i * rows + r]` gets row `r` times row `i` of `x`; `rows * m` is at most 4, and `rows`
/// is 1, 2 or 4.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
unsafe fn row_dots_bf16(
    words: &[u32],
    row: RowParams<'_>,
    group_size: usize,
    xs: &[u16],
    xsum: &[f32],
    k: usize,
    out: &mut [f32],
) {
    let rows = words.len() / (k / 8);
    // SAFETY (all arms): the caller checked the CPU features.
    unsafe {
        match (out.len() / rows, rows) {
            (1, 4) => dots_bf16::<1, 4>(words, row, group_size, xs, xsum, k, out),
            (1, 2) => dots_bf16::<1, 2>(words, row, group_size, xs, xsum, k, out),
            (1, _) => dots_bf16::<1, 1>(words, row, group_size, xs, xsum, k, out),
            (2, 2) => dots_bf16::<2, 2>(words, row, group_size, xs, xsum, k, out),
            (2, _) => dots_bf16::<2, 1>(words, row, group_size, xs, xsum, k, out),
            (3, _) => dots_bf16::<3, 1>(words, row, group_size, xs, xsum, k, out),
            _ => dots_bf16::<4, 1>(words, row, group_size, xs, xsum, k, out),
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn row_dots_bf16(
    _: &[u32],
    _: RowParams<'_>,
    _: usize,
    _: &[u16],
    _: &[f32],
    _: usize,
    _: &mut [f32],
) {
    unreachable!("the BF16 kernel is only chosen where AVX-512 BF16 is available")
}

/// `count` (at most 16) scales or biases from element `start`, as float32 lanes `0..count`
/// (the other lanes zero).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
unsafe fn load_params(p: Params<'_>, start: usize, count: usize) -> __m512 {
    debug_assert!(count <= 16 && start + count <= p.len());
    let mask: u16 = ((1u32 << count) - 1) as u16;
    // SAFETY: the masked loads touch only elements `start .. start + count`, inside `p`.
    unsafe {
        match p {
            Params::F32(v) => _mm512_maskz_loadu_ps(mask, v.as_ptr().add(start)),
            Params::F16(v) => _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(
                mask,
                v.as_ptr().add(start) as *const i16,
            )),
            Params::Bf16(v) => {
                let h = _mm256_maskz_loadu_epi16(mask, v.as_ptr().add(start) as *const i16);
                _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h)))
            }
        }
    }
}

/// The BF16 kernel for `M` rows of `x` and `R` weight rows: each block of weights is loaded
/// and unpacked once for the `M` rows of `x`, and each block of `x` once for the `R` weight
/// rows (with one row of `x`, loading `x` would otherwise cost more than the products).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
#[inline]
#[allow(clippy::needless_range_loop)] // v[r], part[r][p] and xp[p] are indexed together
unsafe fn dots_bf16<const M: usize, const R: usize>(
    words: &[u32],
    row: RowParams<'_>,
    group_size: usize,
    xs: &[u16],
    xsum: &[f32],
    k: usize,
    out: &mut [f32],
) {
    let gpr = k / group_size;
    let wpr = k / 8;
    let kp = padded_len(k);
    assert!(
        words.len() >= R * wpr
            && xs.len() >= M * PARTS * kp
            && xsum.len() >= M * gpr
            && out.len() >= M * R
            && row.scales.len().min(row.biases.len()) >= row.start + R * gpr
            && k.is_multiple_of(64)
            && 128 % group_size == 0
    );
    // SAFETY: every load below stays inside `words` (R rows of k / 8 words), `xs` (M rows of
    // PARTS * kp), `xsum` (M rows of gpr) or the rows' scales and biases, as asserted above.
    unsafe {
        // bfloat16 of 0..15, twice: a 512-bit word permute indexes with the low 5 bits, which
        // after a shift hold one code plus the low bit of the next.
        let table: [u16; 32] = std::array::from_fn(|i| (((i & 15) as f32).to_bits() >> 16) as u16);
        let t512 = _mm512_loadu_si512(table.as_ptr() as *const __m512i);
        // Float lane `l` of a block sums codes `8l .. 8l + 7`: group `8l / group_size` of it.
        let lane_group: [i32; 16] = std::array::from_fn(|l| (8 * l / group_size) as i32);
        let lane_group = _mm512_loadu_si512(lane_group.as_ptr() as *const __m512i);
        // acc[i][r]: x row i times weight row r, scales applied; the biases' part goes to
        // the same accumulator through the group sums of x.
        let mut acc = [[_mm512_setzero_ps(); R]; M];
        let mut off = 0;
        while off < k {
            let wide = k - off >= 128;
            let len = if wide { 128 } else { 64 };
            let (g0, groups) = (off / group_size, len / group_size);
            let mut scales = [_mm512_setzero_ps(); R];
            let mut biases = [_mm512_setzero_ps(); R];
            for r in 0..R {
                let first = row.start + r * gpr + g0;
                scales[r] =
                    _mm512_permutexvar_ps(lane_group, load_params(row.scales, first, groups));
                biases[r] = load_params(row.biases, first, groups);
            }
            let mut v = [_mm512_setzero_si512(); R];
            for (r, vr) in v.iter_mut().enumerate() {
                let wp = words.as_ptr().add(r * wpr + off / 8);
                // The last 64 codes of a row fill half a vector; the rest reads as code 0,
                // against zero padding in x.
                *vr = if wide {
                    _mm512_loadu_si512(wp as *const __m512i)
                } else {
                    _mm512_maskz_loadu_epi32(0x00FF, wp as *const i32)
                };
            }
            for (i, acc_i) in acc.iter_mut().enumerate() {
                let xb = xs.as_ptr().add(i * PARTS * kp + off);
                // One chain per (weight row, part of x): independent additions.
                let mut part = [[_mm512_setzero_ps(); PARTS]; R];
                for s in 0..4 {
                    let mut xp = [_mm512_setzero_si512(); PARTS];
                    for (p, xpp) in xp.iter_mut().enumerate() {
                        *xpp = _mm512_loadu_si512(xb.add(p * kp + 32 * s) as *const __m512i);
                    }
                    for r in 0..R {
                        let shifted = match s {
                            0 => v[r],
                            1 => _mm512_srli_epi16::<4>(v[r]),
                            2 => _mm512_srli_epi16::<8>(v[r]),
                            _ => _mm512_srli_epi16::<12>(v[r]),
                        };
                        let codes: __m512bh =
                            std::mem::transmute(_mm512_permutexvar_epi16(shifted, t512));
                        for p in 0..PARTS {
                            let xv: __m512bh = std::mem::transmute(xp[p]);
                            part[r][p] = _mm512_dpbf16_ps(part[r][p], codes, xv);
                        }
                    }
                }
                for r in 0..R {
                    let sum = _mm512_add_ps(_mm512_add_ps(part[r][0], part[r][1]), part[r][2]);
                    acc_i[r] = _mm512_fmadd_ps(sum, scales[r], acc_i[r]);
                }
            }
            for (i, acc_i) in acc.iter_mut().enumerate() {
                let sums = load_params(Params::F32(&xsum[i * gpr..(i + 1) * gpr]), g0, groups);
                for r in 0..R {
                    acc_i[r] = _mm512_fmadd_ps(biases[r], sums, acc_i[r]);
                }
            }
            off += len;
        }
        for (i, acc_i) in acc.iter().enumerate() {
            for (r, a) in acc_i.iter().enumerate() {
                out[i * R + r] = _mm512_reduce_add_ps(*a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packs codes little-endian into words, `32 / bits` per word.
    fn pack(codes: &[u32], bits: usize) -> Vec<u32> {
        let per = 32 / bits;
        codes
            .chunks(per)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u32, |w, (j, &q)| w | (q << (j * bits)))
            })
            .collect()
    }

    #[test]
    fn matches_dequantized_product() {
        if !has_avx2_fma() {
            return;
        }
        let mut seed = 7u64;
        let mut rnd = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for &(bits, gs, k, n) in &[
            (4, 32, 128, 5),
            (4, 32, 576, 40),
            (4, 64, 192, 17),
            (4, 64, 64, 2),
            (4, 128, 256, 3),
            (8, 32, 96, 9),
            (8, 64, 128, 4),
            (8, 128, 128, 33),
        ] {
            for m in [1, 2, 3, 4, 5, 11] {
                let codes: Vec<u32> = (0..n * k).map(|_| rnd() % (1 << bits)).collect();
                let words = pack(&codes, bits);
                let gpr = k / gs;
                let scales: Vec<f32> = (0..n * gpr)
                    .map(|_| (rnd() % 100) as f32 / 400.0 + 0.01)
                    .collect();
                let biases: Vec<f32> = (0..n * gpr)
                    .map(|_| (rnd() % 100) as f32 / 50.0 - 1.0)
                    .collect();
                let x: Vec<f32> = (0..m * k)
                    .map(|_| (rnd() % 200) as f32 / 100.0 - 1.0)
                    .collect();
                let w = QWeights {
                    words: &words,
                    scales: Params::F32(&scales),
                    biases: Params::F32(&biases),
                    bits,
                    group_size: gs,
                    n,
                    k,
                };
                assert!(supported(bits, gs, k, m));
                // The same weights with float16 scales and biases (rounded first, so the
                // reference below holds for both).
                let scales16: Vec<u16> = scales
                    .iter()
                    .map(|&v| half::f16::from_f32(v).to_bits())
                    .collect();
                let biases16: Vec<u16> = biases
                    .iter()
                    .map(|&v| half::f16::from_f32(v).to_bits())
                    .collect();
                let w16 = QWeights {
                    scales: Params::F16(&scales16),
                    biases: Params::F16(&biases16),
                    ..w
                };
                let mut kernels = vec![Kernel::Avx2];
                if bits == 4 && has_avx512_bf16() {
                    kernels.push(Kernel::Avx512Bf16);
                }
                for kernel in kernels {
                    for (weights, f16) in [(&w, false), (&w16, true)] {
                        let mut out = vec![0f32; m * n];
                        qmv_t_with(kernel, weights, &x, m, &mut out);
                        for i in 0..m {
                            for r in 0..n {
                                let mut want = 0f64;
                                for j in 0..k {
                                    let g = r * gpr + j / gs;
                                    let (mut sv, mut bv) = (scales[g], biases[g]);
                                    if f16 {
                                        sv = half::f16::from_f32(sv).to_f32();
                                        bv = half::f16::from_f32(bv).to_f32();
                                    }
                                    let wv = codes[r * k + j] as f64 * sv as f64 + bv as f64;
                                    want += wv * x[i * k + j] as f64;
                                }
                                let got = out[i * n + r] as f64;
                                assert!(
                                    (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                                    "{kernel:?} f16 {f16} bits {bits} gs {gs} m {m} ({i},{r}): \
                                     {got} vs {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bf16_parts_are_exact() {
        let widen = |h: u16| f32::from_bits((h as u32) << 16);
        for &v in &[
            1.0f32,
            -1_234.567_9,
            1e-20,
            6.5e4,
            3.402_823_5e38,
            -3.402_823_5e38,
            0.0,
            -0.0,
            1.000_000_1,
            -7.654_321e-9,
        ] {
            let [h, m, l] = bf16_parts(v);
            assert_eq!(widen(h) + widen(m) + widen(l), v, "{v}");
        }
        assert_eq!(bf16_parts(f32::NEG_INFINITY), [0xFF80, 0, 0]);
        assert!(widen(bf16_parts(f32::from_bits(0x7F80_0001))[0]).is_nan());
    }
}
