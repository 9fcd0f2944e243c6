//! `x @ w.T` for a few rows of `x` and affine 4- or 8-bit weights (the decoding step of a
//! quantized language model), with AVX2 + FMA, or AVX-512 VNNI.
//!
//! The generic path decodes each weight row to floats and then takes a dot product. Here the
//! packed words are used as they are. The affine bias needs no per-element work:
//! `sum_j (s q_j + b) x_j = s sum_j q_j x_j + b sum_j x_j`, with the group sums of `x` computed
//! once per call.
//!
//! With AVX2, eight words are loaded into one vector, and shifting it by `bits * s` and masking
//! gives, in lane `i`, code `s` of word `i`. The rows of `x` are permuted once per call so that
//! the matching eight values of `x` are contiguous, so each eight codes cost a shift, a mask, a
//! conversion and a fused multiply-add.
//!
//! With AVX-512 VNNI (Intel since Cascade Lake, AMD Zen 4), `vpdpbusd` multiplies 64 unsigned
//! bytes by 64 signed bytes and adds each four products into an int32 lane: the codes are the
//! unsigned bytes (4-bit codes after one mask or a shift and a mask), and `x` is written once
//! per call as integers in signed-byte digits. In each group, `x_j = X_j 2^e` with `2^e` a power
//! of two scaled to the group's largest `|x|` and `X_j` a 23-bit integer (rounded), and
//! `X_j = d0 2^16 + d1 2^8 + d2` with each digit a signed byte. The three digit products are
//! combined in int32 (shift, then add the next digit's products; for 8-bit codes, whose `d0`
//! sums would overflow that, `d0`'s sum is added in float) and converted to float once per
//! 64-byte block of weights.
//! Each `x_j` is then off by at most `2^-22` of its group's largest `|x|`: as accurate as the
//! float32 dot product for practical purposes, at about a quarter of the instructions per
//! weight of a float path. Rows of `x` that integers cannot hold (an
//! infinity or NaN, or a group whose largest `|x|` is below about `1e-32`) take the AVX2 path.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::reduce::dot_lanes;
use rayon::prelude::*;
use std::ops::Range;

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
    /// The address of element `i`, for a prefetch (may lie past the end: never dereferenced).
    fn address(&self, i: usize) -> *const i8 {
        match self {
            Params::F32(v) => v.as_ptr().wrapping_add(i) as *const i8,
            Params::F16(v) | Params::Bf16(v) => v.as_ptr().wrapping_add(i) as *const i8,
        }
    }

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
        && (1..=max_rows()).contains(&m)
        && has_avx2_fma()
}

/// Most rows of `x` this path takes on this CPU.
fn max_rows() -> usize {
    if has_avx512_vnni() {
        VNNI_MAX_ROWS
    } else {
        MAX_ROWS
    }
}

/// Most rows of `x` the VNNI kernel takes. Measured on 4096 x 4096 weights (4-bit, group 64):
/// 16 rows take 4.1 ms against 6.2 for dequantizing tiles and a GEMM, 32 rows about the same
/// either way (7-8 ms).
const VNNI_MAX_ROWS: usize = 16;

/// Most rows of `x` the AVX2 path takes; larger products dequantize tiles and use a GEMM.
const MAX_ROWS: usize = 11;

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
    /// AVX-512 VNNI: codes multiplied as bytes by `x` in integer digits (see the module doc).
    Avx512Vnni,
}

/// The fastest kernel this CPU has.
fn best_kernel() -> Kernel {
    if has_avx512_vnni() {
        Kernel::Avx512Vnni
    } else {
        Kernel::Avx2
    }
}

fn has_avx512_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `out (m x n) = x (m x k) @ W.T`, `W` the dequantized weights. Call only when
/// [`supported`] says so.
pub(crate) fn qmv_t(w: &QWeights<'_>, x: &[f32], m: usize, out: &mut [f32]) {
    qmv_t_with(best_kernel(), w, x, m, out)
}

fn qmv_t_with(kernel: Kernel, w: &QWeights<'_>, x: &[f32], m: usize, out: &mut [f32]) {
    let (k, n) = (w.k, w.n);
    let gpr = k / w.group_size;
    debug_assert!(w.scales.len() >= n * gpr && w.biases.len() >= n * gpr);
    let per = 32 / w.bits;
    let digits = match kernel {
        Kernel::Avx512Vnni => XDigits::new(x, k, w.bits, w.group_size),
        Kernel::Avx2 => None,
    };
    let xp = match digits {
        Some(d) => XRows::Digits(d),
        None => XRows::F32(permute_x(x, k, per)),
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
        let mut res = vec![0f32; m.max(8)];
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
            XRows::Digits(xd) => {
                // Rows of x and weight rows per kernel call: one row of x against four weight
                // rows, two against two, three against one, else tiles of four by two.
                let (x_tile, w_tile) = match m {
                    1 => (1, 4),
                    2 => (2, 2),
                    3 => (3, 1),
                    _ => (4, 2),
                };
                // With more than one tile of x rows, each tile's digits are taken a chunk of
                // blocks at a time (28 KB of digits for four rows), swept over the task's
                // weight rows: the digits stay in L1 and the weights come from L2. With one
                // tile, whole rows.
                let chunk = if m <= x_tile {
                    xd.blocks
                } else {
                    VNNI_CHUNK_BLOCKS
                };
                for i0 in (0..m).step_by(x_tile) {
                    let xrows = (m - i0).min(x_tile);
                    for b0 in (0..xd.blocks).step_by(chunk) {
                        let mut r = r0;
                        while r < r1 {
                            let rows = if r + w_tile <= r1 { w_tile } else { 1 };
                            let tile = VnniTile {
                                words: &w.words[r * (k / per)..(r + rows) * (k / per)],
                                row: RowParams {
                                    scales: w.scales,
                                    biases: w.biases,
                                    start: r * gpr,
                                },
                                group_size: w.group_size,
                                k,
                                xs: xd.rows(i0, xrows),
                                xsum: &xsum[i0 * gpr..(i0 + xrows) * gpr],
                                blocks: b0..(b0 + chunk).min(xd.blocks),
                                with_biases: b0 == 0,
                            };
                            let dots = &mut res[..xrows * rows];
                            // SAFETY: `best_kernel` checked AVX-512 F/BW/VL/VNNI; the tile's
                            // slices are sized by k, its rows and their groups.
                            unsafe { row_dots_vnni(w.bits, &tile, dots) };
                            for (i, d) in dots.chunks_exact(rows).enumerate() {
                                for (j, &v) in d.iter().enumerate() {
                                    // SAFETY: rows r..r + rows of the output belong to this
                                    // task alone; i0 + i < m, r + j < n.
                                    unsafe {
                                        let o = out_ptr.get().add((i0 + i) * n + r + j);
                                        *o = if b0 == 0 { v } else { *o + v };
                                    }
                                }
                            }
                            r += rows;
                        }
                    }
                }
            }
        }
    };
    let tasks = n.div_ceil(rows_per_task);
    // Small products (under ~256K weights, ~10 microseconds) stay on this thread: waking the
    // pool would cost as much as the work. Measured at one row of x: 192 x 576 weights gain
    // nothing from two threads; 576 x 576 take 22 us against 37, 1536 x 576 39 against 85.
    if n * k * m < (1 << 18) {
        (0..tasks).for_each(run_task);
    } else {
        (0..tasks).into_par_iter().for_each(run_task);
    }
}

/// The rows of `x` prepared for a kernel.
enum XRows {
    /// For [`Kernel::Avx2`]: see [`permute_x`].
    F32(Vec<f32>),
    /// For [`Kernel::Avx512Vnni`].
    Digits(XDigits),
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

/// Signed-byte digits of each integer of [`XDigits`]: `X = d0 2^16 + d1 2^8 + d2`.
const DIGITS: usize = 3;

/// The rows of `x` as integers for the VNNI kernel (see the module doc), laid out per block of
/// weights (one 64-byte vector of packed codes: 128 4-bit codes or 64 8-bit ones). Byte `4l + t`
/// of a block's vector is in int32 lane `l`: for 8-bit weights it holds code `4l + t`; for 4-bit
/// ones its low nibble holds code `8l + 2t` and its high nibble code `8l + 2t + 1`, so the
/// digits of even codes and odd codes go to two separate vectors.
struct XDigits {
    /// Per row of `x`, per block: `DIGITS * vectors` vectors of 64 digits, digit-major
    /// (`d0` of the even codes, `d0` of the odd codes, `d1` ...).
    digits: Vec<i8>,
    /// Per row of `x`, per block: the power of two `2^e` of each int32 lane's group (zero past
    /// the end of the row).
    lane_scales: Vec<f32>,
    /// Blocks per row of `x`.
    blocks: usize,
    /// Digits per row of `x`.
    row_digits: usize,
}

/// Rows `i0 .. i0 + rows` of an [`XDigits`].
#[derive(Clone, Copy)]
struct XDigitRows<'a> {
    digits: &'a [i8],
    lane_scales: &'a [f32],
}

impl XDigits {
    /// Codes per block and digit vectors per digit for `bits`.
    fn layout(bits: usize) -> (usize, usize) {
        if bits == 4 { (128, 2) } else { (64, 1) }
    }

    /// `x` (rows of `k`) as digits for `bits`-bit weights in groups of `group_size`, or `None`
    /// when a group holds an infinity or NaN or its largest `|x|` is too small for `2^e` to be
    /// a normal float.
    fn new(x: &[f32], k: usize, bits: usize, group_size: usize) -> Option<XDigits> {
        let (block, vectors) = Self::layout(bits);
        // Bits of |X|: the first digit is at most 65 in size, so a lane's int32 sum of d0
        // shifted by 16 stays below 2^31 for eight 4-bit codes (the kernel keeps d0's sum
        // apart for 8-bit codes).
        let x_bits: i32 = 22;
        let blocks = k.div_ceil(block);
        let block_bytes = DIGITS * vectors * 64;
        let rows = x.len() / k;
        let mut digits = vec![0i8; rows * blocks * block_bytes];
        let mut lane_scales = vec![0f32; rows * blocks * 16];
        let mut group_unit = vec![0f32; k / group_size];
        // Adding and subtracting 1.5 * 2^23 rounds a float below 2^22 in size to an integer.
        const ROUND: f32 = 12_582_912.0;
        for (row, xr) in x.chunks_exact(k).enumerate() {
            for (g, xg) in xr.chunks_exact(group_size).enumerate() {
                // The largest |x| by its bits (also finds infinities and NaN).
                let top = xg
                    .iter()
                    .map(|v| v.to_bits() & 0x7FFF_FFFF)
                    .max()
                    .unwrap_or(0);
                if top >= 0x7F80_0000 {
                    return None;
                }
                if top == 0 {
                    group_unit[g] = 0.0;
                    continue;
                }
                // The largest |x| is below 2^(e + 1); the unit 2^(e + 1 - x_bits) must be normal.
                let e = (top >> 23) as i32 - 127;
                let unit_exp = e + 1 - x_bits;
                if unit_exp < -126 {
                    return None;
                }
                group_unit[g] = f32::from_bits(((unit_exp + 127) as u32) << 23);
                let inverse = f32::from_bits(((127 - unit_exp) as u32) << 23);
                let row_digits = &mut digits[row * blocks * block_bytes..][..blocks * block_bytes];
                // Blocks hold 64 or 128 codes: shifts and masks, not divisions, per element.
                let block_shift = block.trailing_zeros();
                for (j, &v) in xg.iter().enumerate() {
                    let c = g * group_size + j;
                    // Exact (a power of two), below 2^x_bits in size.
                    let scaled = v * inverse;
                    let q = ((scaled + ROUND) - ROUND) as i32;
                    let (b, cb) = (c >> block_shift, c & (block - 1));
                    let (vector, byte) = if vectors == 2 {
                        (cb & 1, cb >> 1)
                    } else {
                        (0, cb)
                    };
                    let base = b * block_bytes + vector * 64 + byte;
                    for (d, digit) in split_digits(q).into_iter().enumerate() {
                        row_digits[base + d * vectors * 64] = digit;
                    }
                }
            }
            let codes_per_lane = block / 16;
            let scales = &mut lane_scales[row * blocks * 16..(row + 1) * blocks * 16];
            for (l, s) in scales.iter_mut().enumerate() {
                let c = (l / 16) * block + (l % 16) * codes_per_lane;
                *s = if c < k {
                    group_unit[c / group_size]
                } else {
                    0.0
                };
            }
        }
        Some(XDigits {
            digits,
            lane_scales,
            blocks,
            row_digits: blocks * block_bytes,
        })
    }

    /// Rows `i0 .. i0 + rows`.
    fn rows(&self, i0: usize, rows: usize) -> XDigitRows<'_> {
        let per_row = self.row_digits;
        XDigitRows {
            digits: &self.digits[i0 * per_row..(i0 + rows) * per_row],
            lane_scales: &self.lane_scales[i0 * self.blocks * 16..(i0 + rows) * self.blocks * 16],
        }
    }
}

/// `q` (at most 2^22 in size) as signed bytes `[d0, d1, d2]` with `q = d0 2^16 + d1 2^8 + d2`.
fn split_digits(q: i32) -> [i8; DIGITS] {
    let low = |v: i32| ((v + 128) & 255) - 128;
    let d2 = low(q);
    let rest = (q - d2) >> 8;
    let d1 = low(rest);
    let d0 = (rest - d1) >> 8;
    [d0 as i8, d1 as i8, d2 as i8]
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

/// How many weight rows ahead the VNNI kernel prefetches the rows' codes, scales and biases.
const PREFETCH_ROWS: usize = 16;

/// Blocks of digits per chunk when rows of `x` are taken in several tiles (see [`qmv_t`]).
const VNNI_CHUNK_BLOCKS: usize = 16;

/// What one call of the VNNI kernel multiplies: `rows` consecutive packed weight rows (in
/// `words`) by `m` rows of `x` prepared by [`XDigits`], over some blocks of the rows.
struct VnniTile<'a> {
    words: &'a [u32],
    row: RowParams<'a>,
    group_size: usize,
    k: usize,
    xs: XDigitRows<'a>,
    /// The group sums of each row of `x`.
    xsum: &'a [f32],
    blocks: Range<usize>,
    /// Whether to add the biases' part (once per output: with the first blocks).
    with_biases: bool,
}

/// The dot products of a [`VnniTile`], scales applied (and biases, if asked):
/// `out[i * rows + r]` gets weight row `r` times row `i` of `x`; `rows` is 1, 2 or 4, and
/// `m` at most 4 (at most 2 with 2 weight rows or more, 1 with 4).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn row_dots_vnni(bits: usize, tile: &VnniTile<'_>, out: &mut [f32]) {
    let rows = tile.words.len() / (tile.k * bits / 32);
    macro_rules! shapes {
        ($bits:literal) => {
            match (out.len() / rows, rows) {
                (1, 4) => dots_vnni::<$bits, 1, 4>(tile, out),
                (1, 2) => dots_vnni::<$bits, 1, 2>(tile, out),
                (1, _) => dots_vnni::<$bits, 1, 1>(tile, out),
                (2, 2) => dots_vnni::<$bits, 2, 2>(tile, out),
                (2, _) => dots_vnni::<$bits, 2, 1>(tile, out),
                (3, 2) => dots_vnni::<$bits, 3, 2>(tile, out),
                (3, _) => dots_vnni::<$bits, 3, 1>(tile, out),
                (_, 2) => dots_vnni::<$bits, 4, 2>(tile, out),
                _ => dots_vnni::<$bits, 4, 1>(tile, out),
            }
        };
    }
    // SAFETY (all arms): the caller checked the CPU features.
    unsafe { if bits == 4 { shapes!(4) } else { shapes!(8) } }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn row_dots_vnni(_: usize, _: &VnniTile<'_>, _: &mut [f32]) {
    unreachable!("the VNNI kernel is only chosen where AVX-512 VNNI is available")
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

/// The VNNI kernel for `M` rows of `x` and `R` weight rows of `BITS`-bit codes: each block of
/// weights is loaded and unpacked once for the `M` rows of `x`, and each block of digits once
/// for the `R` weight rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
#[allow(clippy::needless_range_loop)] // codes[r][v] and the sums [i][r] are indexed together
unsafe fn dots_vnni<const BITS: usize, const M: usize, const R: usize>(
    tile: &VnniTile<'_>,
    out: &mut [f32],
) {
    let VnniTile {
        words,
        row,
        group_size,
        k,
        xs,
        xsum,
        ..
    } = *tile;
    let (block, vectors) = XDigits::layout(BITS);
    let per = 32 / BITS;
    let (gpr, wpr) = (k / group_size, k / per);
    let blocks = k.div_ceil(block);
    let block_bytes = DIGITS * vectors * 64;
    assert!(
        words.len() >= R * wpr
            && xs.digits.len() >= M * blocks * block_bytes
            && xs.lane_scales.len() >= M * blocks * 16
            && xsum.len() >= M * gpr
            && out.len() >= M * R
            && row.scales.len().min(row.biases.len()) >= row.start + R * gpr
            && k.is_multiple_of(8 * per)
            && (block.is_multiple_of(group_size) || group_size.is_multiple_of(block))
            && tile.blocks.end <= blocks
            && group_size.is_power_of_two()
    );
    let group_shift = group_size.trailing_zeros();
    // SAFETY: every load below stays inside `words` (R rows of wpr words), the digits and lane
    // scales (M rows of `blocks` blocks), `xsum` (M rows of gpr) or the rows' scales and
    // biases, as asserted above; a block's last words are loaded with a mask.
    unsafe {
        let low_nibbles = _mm512_set1_epi8(0x0F);
        // Int32 lane `l` of a block sums codes `l * block / 16 ..`: group `that / group_size`
        // of the block's first group.
        let lane_group: [i32; 16] = std::array::from_fn(|l| (l * block / 16 / group_size) as i32);
        let lane_group = _mm512_loadu_si512(lane_group.as_ptr() as *const __m512i);
        let mut acc = [[_mm512_setzero_ps(); R]; M];
        for b in tile.blocks.clone() {
            let off = b * block;
            let len = (k - off).min(block);
            // Group sizes are powers of two: shifts, not divisions, in the loop.
            let g0 = off >> group_shift;
            let groups = (len + group_size - 1) >> group_shift;
            let mut scales = [_mm512_setzero_ps(); R];
            let mut codes = [[_mm512_setzero_si512(); 2]; R];
            for r in 0..R {
                let first = row.start + r * gpr + g0;
                scales[r] =
                    _mm512_permutexvar_ps(lane_group, load_params(row.scales, first, groups));
                let wp = words.as_ptr().add(r * wpr + off / per);
                // The same block of the weight rows PREFETCH_ROWS further on (the tiles to
                // come): a token's weights stream from memory once, and without this the
                // kernel waits on each block's load.
                let ahead = PREFETCH_ROWS * wpr;
                _mm_prefetch::<_MM_HINT_T0>(wp.wrapping_add(ahead) as *const i8);
                let ahead_groups = PREFETCH_ROWS * gpr;
                _mm_prefetch::<_MM_HINT_T0>(row.scales.address(first + ahead_groups));
                _mm_prefetch::<_MM_HINT_T0>(row.biases.address(first + ahead_groups));
                // The last block of a row may be half full: the rest reads as code 0, against
                // zero digits.
                let v = if len == block {
                    _mm512_loadu_si512(wp as *const __m512i)
                } else {
                    _mm512_maskz_loadu_epi32(((1u32 << (len / per)) - 1) as u16, wp as *const i32)
                };
                if BITS == 4 {
                    codes[r][0] = _mm512_and_si512(v, low_nibbles);
                    codes[r][1] = _mm512_and_si512(_mm512_srli_epi16::<4>(v), low_nibbles);
                } else {
                    codes[r][0] = v;
                }
            }
            // The int32 sums of each pair (row of x, weight row), digit by digit across all
            // pairs (independent chains side by side). 4-bit: d0's products, shifted by 8 and
            // d1's added, shifted by 8 and d2's added, below 2^31 (8 codes of at most 15 per
            // lane, |d0| <= 65). 8-bit codes would overflow that: d0's sums are kept apart
            // (`high`, below 2^17) and added times 2^16 in float.
            let zero = _mm512_setzero_si512();
            let mut dots = [[zero; R]; M];
            let mut high = [[zero; R]; M];
            for p in 0..DIGITS {
                if p > 1 || (p == 1 && BITS == 4) {
                    for i in 0..M {
                        for r in 0..R {
                            dots[i][r] = _mm512_slli_epi32::<8>(dots[i][r]);
                        }
                    }
                }
                for i in 0..M {
                    let dp = xs.digits.as_ptr().add((i * blocks + b) * block_bytes);
                    for v in 0..vectors {
                        let src = dp.add((p * vectors + v) * 64) as *const __m512i;
                        let digit = _mm512_loadu_si512(src);
                        for r in 0..R {
                            if BITS == 8 && p == 0 {
                                high[i][r] = _mm512_dpbusd_epi32(high[i][r], codes[r][v], digit);
                            } else {
                                dots[i][r] = _mm512_dpbusd_epi32(dots[i][r], codes[r][v], digit);
                            }
                        }
                    }
                }
            }
            for (i, acc_i) in acc.iter_mut().enumerate() {
                let units = _mm512_loadu_ps(xs.lane_scales.as_ptr().add((i * blocks + b) * 16));
                for r in 0..R {
                    let dot = if BITS == 4 {
                        _mm512_cvtepi32_ps(dots[i][r])
                    } else {
                        _mm512_fmadd_ps(
                            _mm512_cvtepi32_ps(high[i][r]),
                            _mm512_set1_ps(65_536.0),
                            _mm512_cvtepi32_ps(dots[i][r]),
                        )
                    };
                    let scale = _mm512_mul_ps(scales[r], units);
                    acc_i[r] = _mm512_fmadd_ps(dot, scale, acc_i[r]);
                }
            }
        }
        // The biases' part: the bias of each group times the group's sum of x.
        if !tile.with_biases {
            for i in 0..M {
                for r in 0..R {
                    out[i * R + r] = _mm512_reduce_add_ps(acc[i][r]);
                }
            }
            return;
        }
        for i in 0..M {
            let sums = Params::F32(&xsum[i * gpr..(i + 1) * gpr]);
            for r in 0..R {
                let mut total = acc[i][r];
                for g in (0..gpr).step_by(16) {
                    let count = (gpr - g).min(16);
                    let bias = load_params(row.biases, row.start + r * gpr + g, count);
                    total = _mm512_fmadd_ps(bias, load_params(sums, g, count), total);
                }
                out[i * R + r] = _mm512_reduce_add_ps(total);
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
            // Over VNNI_CHUNK_BLOCKS blocks: several rows of x go through in chunks.
            (4, 32, 2176, 7),
            (8, 64, 1088, 5),
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
                if has_avx512_vnni() {
                    kernels.push(Kernel::Avx512Vnni);
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
    fn digits_recombine_exactly() {
        for q in [
            0,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            255,
            256,
            65_535,
            -65_536,
            1 << 22,
            -(1 << 22),
            4_000_001,
            -3_999_999,
        ] {
            let [d0, d1, d2] = split_digits(q);
            assert_eq!(d0 as i32 * 65_536 + d1 as i32 * 256 + d2 as i32, q, "{q}");
            assert!(d0.unsigned_abs() <= 65, "{q}: {d0}");
        }
    }

    /// Rows of `x` the digits cannot hold (infinities, NaN, a group of tiny values) take the
    /// float path; groups of very different sizes keep their own precision.
    #[test]
    fn vnni_handles_extreme_rows() {
        if !has_avx512_vnni() {
            return;
        }
        let (k, n, gs) = (256, 3, 64);
        let codes: Vec<u32> = (0..n * k).map(|i| ((i * 7 + 3) % 16) as u32).collect();
        let words = pack(&codes, 4);
        let scales: Vec<f32> = (0..n * k / gs).map(|g| 0.5 + g as f32 * 0.25).collect();
        let biases: Vec<f32> = (0..n * k / gs).map(|g| g as f32 * 0.1 - 0.3).collect();
        let w = QWeights {
            words: &words,
            scales: Params::F32(&scales),
            biases: Params::F32(&biases),
            bits: 4,
            group_size: gs,
            n,
            k,
        };
        let run = |x: &[f32]| {
            let mut out = vec![0f32; n];
            qmv_t_with(Kernel::Avx512Vnni, &w, x, 1, &mut out);
            out
        };
        let reference = |x: &[f32]| -> Vec<(f64, f64)> {
            (0..n)
                .map(|r| {
                    let (mut dot, mut size) = (0f64, 0f64);
                    for j in 0..k {
                        let g = r * (k / gs) + j / gs;
                        let wv = codes[r * k + j] as f64 * scales[g] as f64 + biases[g] as f64;
                        dot += wv * x[j] as f64;
                        size += (wv * x[j] as f64).abs();
                    }
                    (dot, size)
                })
                .collect()
        };
        // Groups of 1e30, 1e-30 and zeros, and one of mixed signs and sizes.
        let mut x: Vec<f32> = (0..k)
            .map(|j| match j / gs {
                0 => 1e30 * ((j % 5) as f32 - 2.0),
                1 => 1e-30 * ((j % 3) as f32 + 0.5),
                2 => 0.0,
                _ => (j as f32 - 200.0) * 1.37e-3,
            })
            .collect();
        let check = |x: &[f32], what: &str| {
            for (r, (got, (want, size))) in run(x).iter().zip(reference(x)).enumerate() {
                let err = (*got as f64 - want).abs();
                assert!(err <= 1e-6 * size, "{what} row {r}: {got} vs {want}");
            }
        };
        check(&x, "mixed groups");
        // The last group alone: its own precision, not the 1e30 group's.
        let only_last: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(j, &v)| if j >= 3 * gs { v } else { 0.0 })
            .collect();
        check(&only_last, "last group");
        // A group whose largest value is 1e-37: too small for a normal unit, float path.
        x[64..128].iter_mut().for_each(|v| *v *= 1e-7);
        assert!(XDigits::new(&x, k, 4, gs).is_none());
        check(&x, "tiny group");
        // Infinity and NaN propagate (as the float path has them: the bias part's sum of x
        // is infinite too, so a row may read inf or NaN).
        let mut inf = only_last.clone();
        inf[5] = f32::INFINITY;
        assert!(XDigits::new(&inf, k, 4, gs).is_none());
        assert!(run(&inf).iter().all(|v| !v.is_finite()));
        inf[7] = f32::NAN;
        assert!(run(&inf).iter().all(|v| v.is_nan()));
    }
}
