//! `x @ w.T` for a few rows of `x` and affine 4- or 8-bit weights (the decoding step of a
//! quantized language model), with AVX2 + FMA.
//!
//! The generic path decodes each weight row to floats and then takes a dot product. Here the
//! packed words are used as they are: eight words are loaded into one vector, and shifting it
//! by `bits * s` and masking gives, in lane `i`, code `s` of word `i`. The rows of `x` are
//! permuted once per call so that the matching eight values of `x` are contiguous, so each
//! eight codes cost a shift, a mask, a conversion and a fused multiply-add. The affine bias
//! needs no per-element work: `sum_j (s q_j + b) x_j = s sum_j q_j x_j + b sum_j x_j`, with the
//! group sums of `x` computed once per call.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

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

/// `out (m x n) = x (m x k) @ W.T`, `W` the dequantized weights. Call only when
/// [`supported`] says so.
pub(crate) fn qmv_t(w: &QWeights<'_>, x: &[f32], m: usize, out: &mut [f32]) {
    let (k, n) = (w.k, w.n);
    let gpr = k / w.group_size;
    debug_assert!(w.scales.len() >= n * gpr && w.biases.len() >= n * gpr);
    let per = 32 / w.bits;
    let block = 8 * per;
    // x permuted per block of `block` values: position `s * 8 + i` holds the value that
    // code `s` of word `i` multiplies (element `i * per + s` of the block).
    let mut xp = vec![0f32; m * k];
    for (src, dst) in x.chunks_exact(k).zip(xp.chunks_exact_mut(k)) {
        for (sb, db) in src.chunks_exact(block).zip(dst.chunks_exact_mut(block)) {
            for i in 0..8 {
                for s in 0..per {
                    db[s * 8 + i] = sb[i * per + s];
                }
            }
        }
    }
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
        let mut sc_buf = vec![0f32; gpr];
        let mut bi_buf = vec![0f32; gpr];
        let mut res = [0f32; MAX_ROWS];
        for r in r0..r1 {
            let sc = w.scales.row_f32(r * gpr, &mut sc_buf);
            let bi = w.biases.row_f32(r * gpr, &mut bi_buf);
            let words = &w.words[r * (k / per)..(r + 1) * (k / per)];
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
                let bias = dot8(bi, &xsum[i * gpr..(i + 1) * gpr]);
                // SAFETY: row r of the output belongs to this task alone; i < m, r < n.
                unsafe { *out_ptr.get().add(i * n + r) = d + bias };
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

/// Dot product in eight independent lanes (vectorisable; the row's groups are few).
fn dot8(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    acc.iter().sum::<f32>() + tail
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
            (4, 64, 192, 17),
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
                let mut out = vec![0f32; m * n];
                qmv_t(&w, &x, m, &mut out);
                for i in 0..m {
                    for r in 0..n {
                        let mut want = 0f64;
                        for j in 0..k {
                            let g = r * gpr + j / gs;
                            let wv = codes[r * k + j] as f64 * scales[g] as f64 + biases[g] as f64;
                            want += wv * x[i * k + j] as f64;
                        }
                        let got = out[i * n + r] as f64;
                        assert!(
                            (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                            "bits {bits} gs {gs} m {m} ({i},{r}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
