//! Reduction drivers, written once for every reduction: `reduce` (sum, prod, max, min, all,
//! any over any set of axes), `arg_reduce` (argmax/argmin along one axis) and `map_rows` (a
//! kernel over each contiguous row, for softmax, logsumexp and median).
//!
//! Layouts: the input is read row-major (a strided view is copied first). Reduced and kept
//! dimensions are collapsed into alternating groups; when the innermost group is reduced, each
//! output is a fold of contiguous segments (vectorised multi-lane loops); when it is kept, whole
//! rows are accumulated into a row of accumulators, so the inner loop is always contiguous.

use super::PARALLEL_THRESHOLD;
use crate::array::{Array, Data, buffer_elements_mut};
use crate::element::{C64, Element};
use crate::error::Result;
use crate::primitive::OutputSpec;
use half::{bf16, f16};
use rayon::prelude::*;

/// Ordering for max/min-style kernels: NaN-aware, complex ordered lexicographically as MLX does.
pub(crate) trait Ordered: Element {
    /// The smallest value (identity of max).
    const LOWEST: Self;
    /// The largest value (identity of min).
    const HIGHEST: Self;
    /// `self > o` (false when either is NaN).
    fn gt(self, o: Self) -> bool;
    /// `self < o` (false when either is NaN).
    fn lt(self, o: Self) -> bool;
    /// Whether the value is (or, for complex, has) a NaN.
    fn is_nan(self) -> bool;
}

macro_rules! ordered_int {
    ($($t:ty),*) => {$(
        impl Ordered for $t {
            const LOWEST: Self = <$t>::MIN;
            const HIGHEST: Self = <$t>::MAX;
            #[inline(always)] fn gt(self, o: Self) -> bool { self > o }
            #[inline(always)] fn lt(self, o: Self) -> bool { self < o }
            #[inline(always)] fn is_nan(self) -> bool { false }
        }
    )*};
}
ordered_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Ordered for bool {
    const LOWEST: Self = false;
    const HIGHEST: Self = true;
    #[inline(always)]
    fn gt(self, o: Self) -> bool {
        self & !o
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        !self & o
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        false
    }
}

macro_rules! ordered_float {
    ($($t:ty),*) => {$(
        impl Ordered for $t {
            const LOWEST: Self = <$t>::NEG_INFINITY;
            const HIGHEST: Self = <$t>::INFINITY;
            #[inline(always)] fn gt(self, o: Self) -> bool { self > o }
            #[inline(always)] fn lt(self, o: Self) -> bool { self < o }
            #[allow(clippy::eq_op)]
            #[inline(always)] fn is_nan(self) -> bool { self != self }
        }
    )*};
}
ordered_float!(f32, f64, f16, bf16);

impl Ordered for C64 {
    const LOWEST: Self = C64::new(f32::NEG_INFINITY, f32::NEG_INFINITY);
    const HIGHEST: Self = C64::new(f32::INFINITY, f32::INFINITY);
    #[inline(always)]
    fn gt(self, o: Self) -> bool {
        self.re > o.re || (self.re == o.re && self.im > o.im)
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        self.re < o.re || (self.re == o.re && self.im < o.im)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.re.is_nan() || self.im.is_nan()
    }
}

/// NaN-propagating maximum (the `step` of `max`).
#[inline(always)]
pub(crate) fn max_step<T: Ordered>(a: T, x: T) -> T {
    if x.gt(a) || x.is_nan() { x } else { a }
}

/// NaN-propagating minimum (the `step` of `min`).
#[inline(always)]
pub(crate) fn min_step<T: Ordered>(a: T, x: T) -> T {
    if x.lt(a) || x.is_nan() { x } else { a }
}

/// The row-major elements of `x`: its own buffer when row-contiguous, else a copy.
/// Returns the data and the offset of element 0.
pub(crate) fn row_major<T: Element>(x: &Array) -> Result<Data> {
    let d = x.ready_data()?;
    if d.row_contiguous {
        return Ok(d);
    }
    drop(d);
    let spec = OutputSpec {
        shape: x.shape().to_vec(),
        dtype: x.dtype(),
    };
    super::elementwise::copy::<T>(x, &spec)
}

/// Folds a slice with 8 independent accumulators (vectorisable), starting from `init`.
#[inline(always)]
pub(crate) fn fold_lanes<T: Copy>(xs: &[T], init: T, step: impl Fn(T, T) -> T) -> T {
    let mut acc = [init; 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            acc[i] = step(acc[i], c[i]);
        }
    }
    let mut r = init;
    for a in acc {
        r = step(r, a);
    }
    for &v in chunks.remainder() {
        r = step(r, v);
    }
    r
}

/// `sum(a * b)` with 8 independent accumulators (vectorisable).
pub(crate) fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Sum of f32 values: 16 lanes within blocks of 4096, block totals added in f64, so long rows
/// stay accurate.
#[inline(always)]
fn sum_f32_body(xs: &[f32]) -> f32 {
    let mut total = 0f64;
    for block in xs.chunks(4096) {
        let mut acc = [0f32; 16];
        let mut chunks = block.chunks_exact(16);
        for c in &mut chunks {
            for i in 0..16 {
                acc[i] += c[i];
            }
        }
        let mut s = 0f32;
        for v in chunks.remainder() {
            s += v;
        }
        // Pairwise combination of the lanes.
        let mut w = 16;
        while w > 1 {
            w /= 2;
            for i in 0..w {
                acc[i] += acc[i + w];
            }
        }
        total += (acc[0] + s) as f64;
    }
    total as f32
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sum_f32_avx2(xs: &[f32]) -> f32 {
    sum_f32_body(xs)
}

/// [`sum_f32_body`] with AVX-512: the norms' four-accumulator row sum per block, prefetching
/// 4 KB ahead (the hardware prefetcher stops at page boundaries, and the next page is usually
/// the rest of the row or the next row).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum_f32_avx512(xs: &[f32]) -> f32 {
    use std::arch::x86_64::_mm512_add_ps;
    let mut total = 0f64;
    for block in xs.chunks(4096) {
        // SAFETY: the CPU has AVX-512F (this function's feature) and the block is readable.
        let s = unsafe {
            crate::cpu::fast::avx512::sum_row(block.as_ptr(), block.len(), Some(1024), |a, v| {
                _mm512_add_ps(a, v)
            })
        };
        total += s as f64;
    }
    total as f32
}

/// Sum of an f32 slice (AVX-512 or AVX2 when the CPU has them).
pub(crate) fn sum_f32(xs: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { sum_f32_avx512(xs) };
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { sum_f32_avx2(xs) };
    }
    sum_f32_body(xs)
}

#[inline(always)]
fn add_rows_f32_body(acc: &mut [f32], rows: &[&[f32]]) {
    if let [r0, r1, r2, r3] = rows {
        let w = acc.len();
        let (r0, r1, r2, r3) = (&r0[..w], &r1[..w], &r2[..w], &r3[..w]);
        for j in 0..w {
            acc[j] += (r0[j] + r1[j]) + (r2[j] + r3[j]);
        }
        return;
    }
    for row in rows {
        for (a, &v) in acc.iter_mut().zip(*row) {
            *a += v;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn add_rows_f32_avx2(acc: &mut [f32], rows: &[&[f32]]) {
    add_rows_f32_body(acc, rows)
}

/// `acc[j] += row[j]` for each of up to four f32 rows (AVX2 when available).
pub(crate) fn add_row_f32(acc: &mut [f32], row: &[&[f32]]) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { add_rows_f32_avx2(acc, row) };
    }
    add_rows_f32_body(acc, row)
}

/// Offsets of every index of `dims` (size, stride), in row-major order.
fn odometer(dims: &[(usize, usize)]) -> Vec<usize> {
    let total: usize = dims.iter().map(|d| d.0).product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; dims.len()];
    let mut off = 0usize;
    for _ in 0..total {
        out.push(off);
        for d in (0..dims.len()).rev() {
            idx[d] += 1;
            off += dims[d].1;
            if idx[d] < dims[d].0 {
                break;
            }
            off -= dims[d].1 * dims[d].0;
            idx[d] = 0;
        }
    }
    out
}

/// Reduces `x` over `axes` (sorted, normalised) into `spec` (same dtype as `x`; reduced
/// dimensions removed or kept as 1, which is the same row-major order).
///
/// `init` is the identity, `step` combines, `slice(xs)` reduces a contiguous slice from the
/// identity and `rows(acc, rows)` does `acc[j] = step(acc[j], row[j])` for each of up to four
/// rows (so a kernel can fold several rows per pass over the accumulators).
pub(crate) fn reduce<T: Element>(
    x: &Array,
    axes: &[usize],
    spec: &OutputSpec,
    init: T,
    step: impl Fn(T, T) -> T + Sync + Send + Copy,
    slice: impl Fn(&[T]) -> T + Sync + Send,
    rows: impl Fn(&mut [T], &[&[T]]) + Sync + Send,
) -> Result<Data> {
    let n_out = spec.size();
    let (mut buf, _) = Data::alloc(spec)?;
    {
        let out = &mut buffer_elements_mut::<T>(&mut buf)[..n_out];
        if n_out > 0 && x.size() == 0 {
            out.fill(init);
        } else if n_out > 0 {
            let data = row_major::<T>(x)?;
            let src = &data.elements::<T>()[data.offset..data.offset + x.size()];
            reduce_into(src, x.shape(), axes, out, init, step, &slice, &rows);
        }
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

#[allow(clippy::too_many_arguments)]
fn reduce_into<T: Element>(
    src: &[T],
    shape: &[usize],
    axes: &[usize],
    out: &mut [T],
    init: T,
    step: impl Fn(T, T) -> T + Sync + Send + Copy,
    slice: &(impl Fn(&[T]) -> T + Sync + Send),
    rows: &(impl Fn(&mut [T], &[&[T]]) + Sync + Send),
) {
    // Alternating groups of kept / reduced dimensions (size-1 dimensions dropped).
    let mut groups: Vec<(usize, bool)> = Vec::new();
    for (d, &s) in shape.iter().enumerate() {
        if s == 1 {
            continue;
        }
        let r = axes.contains(&d);
        match groups.last_mut() {
            Some(g) if g.1 == r => g.0 *= s,
            _ => groups.push((s, r)),
        }
    }
    if groups.is_empty() {
        groups.push((1, false));
    }
    let mut strides = vec![0usize; groups.len()];
    let mut acc = 1;
    for i in (0..groups.len()).rev() {
        strides[i] = acc;
        acc *= groups[i].0;
    }
    let (inner, last_reduced) = *groups.last().expect("non-empty");
    let head = &groups[..groups.len() - 1];
    let pick = |want: bool| {
        let dims: Vec<(usize, usize)> = head
            .iter()
            .zip(&strides)
            .filter(|(g, _)| g.1 == want)
            .map(|(g, &s)| (g.0, s))
            .collect();
        odometer(&dims)
    };
    let kept = pick(false);
    let red = pick(true);
    let big = src.len() >= PARALLEL_THRESHOLD;
    let threads = rayon::current_num_threads().max(1);

    if last_reduced {
        // Each output folds the contiguous segments src[k + r ..][..inner].
        let one = |k: usize| {
            red.iter()
                .fold(init, |a, &r| step(a, slice(&src[k + r..k + r + inner])))
        };
        if !big {
            for (o, &k) in out.iter_mut().zip(&kept) {
                *o = one(k);
            }
        } else if kept.len() >= 4 * threads {
            let c = kept.len().div_ceil(threads * 8);
            out.par_chunks_mut(c)
                .zip(kept.par_chunks(c))
                .for_each(|(o, k)| {
                    for (o, &k) in o.iter_mut().zip(k) {
                        *o = one(k);
                    }
                });
        } else {
            const PIECE: usize = 1 << 15;
            for (o, &k) in out.iter_mut().zip(&kept) {
                *o = red
                    .par_iter()
                    .flat_map_iter(|&r| (0..inner).step_by(PIECE).map(move |s| (r, s)))
                    .map(|(r, s)| slice(&src[k + r + s..k + r + (s + PIECE).min(inner)]))
                    .reduce(|| init, step);
            }
        }
        return;
    }

    // The innermost group is kept: accumulate whole rows of `m` into a row of accumulators.
    let m = inner;
    let accumulate = |k: usize, reds: &[usize], dst: &mut [T], col: usize| {
        let w = dst.len();
        let row = |r: usize| &src[k + r + col..k + r + col + w];
        let mut quads = reds.chunks_exact(4);
        for q in &mut quads {
            rows(dst, &[row(q[0]), row(q[1]), row(q[2]), row(q[3])]);
        }
        for &r in quads.remainder() {
            rows(dst, &[row(r)]);
        }
    };
    if !big {
        for (dst, &k) in out.chunks_mut(m).zip(&kept) {
            dst.fill(init);
            accumulate(k, &red, dst, 0);
        }
    } else if kept.len() >= 4 * threads {
        let c = kept.len().div_ceil(threads * 8);
        out.par_chunks_mut(c * m)
            .zip(kept.par_chunks(c))
            .for_each(|(o, ks)| {
                for (dst, &k) in o.chunks_mut(m).zip(ks) {
                    dst.fill(init);
                    accumulate(k, &red, dst, 0);
                }
            });
    } else if red.len() < 2 * threads {
        // Few output rows and few reduced rows: split the columns.
        let cb = (m.div_ceil(threads * 2)).div_ceil(64) * 64;
        for (dst, &k) in out.chunks_mut(m).zip(&kept) {
            dst.par_chunks_mut(cb).enumerate().for_each(|(i, d)| {
                d.fill(init);
                accumulate(k, &red, d, i * cb);
            });
        }
    } else {
        // Few output rows: split the reduced rows (each worker streams a contiguous block of
        // rows into its own row of accumulators), then combine the partial rows.
        let rc = red.len().div_ceil(threads).max(1);
        for (dst, &k) in out.chunks_mut(m).zip(&kept) {
            let parts: Vec<Vec<T>> = red
                .par_chunks(rc)
                .map(|rs| {
                    let mut a = vec![init; m];
                    accumulate(k, rs, &mut a, 0);
                    a
                })
                .collect();
            dst.fill(init);
            for p in parts {
                rows(dst, &[&p]);
            }
        }
    }
}

/// Splits an array's shape around `axis`: (outer, n, inner).
pub(crate) fn split_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

/// Whether `v` beats `best` for argmax (`MAX`) or argmin: strictly better, or the first NaN.
#[inline(always)]
fn better<T: Ordered, const MAX: bool>(v: T, best: T) -> bool {
    (if MAX { v.gt(best) } else { v.lt(best) }) || (v.is_nan() && !best.is_nan())
}

/// Index of the best element of a non-empty row (first of ties, first NaN wins).
#[inline(always)]
fn arg_row<T: Ordered, const MAX: bool>(row: &[T]) -> u32 {
    let mut bi = 0usize;
    let mut b = row[0];
    for (i, &v) in row.iter().enumerate().skip(1) {
        if better::<T, MAX>(v, b) {
            b = v;
            bi = i;
        }
    }
    bi as u32
}

/// The best value of a block (16 vectorisable lanes) and whether it holds a NaN.
#[inline(always)]
fn block_best_f32<const MAX: bool>(blk: &[f32]) -> (f32, bool) {
    const L: usize = 16;
    let init = if MAX {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    let mut best = [init; L];
    let mut nan = [0u32; L];
    let mut chunks = blk.chunks_exact(L);
    for c in &mut chunks {
        for l in 0..L {
            let v = c[l];
            let win = if MAX { v > best[l] } else { v < best[l] };
            best[l] = if win { v } else { best[l] };
            nan[l] |= v.is_nan() as u32;
        }
    }
    let mut b = init;
    let mut has_nan = nan.iter().any(|&n| n != 0);
    for &v in best.iter().chain(chunks.remainder()) {
        if if MAX { v > b } else { v < b } {
            b = v;
        }
        has_nan |= v.is_nan();
    }
    (b, has_nan)
}

#[inline(always)]
fn arg_row_f32_body<const MAX: bool>(row: &[f32]) -> u32 {
    // One vectorised pass over blocks of 256 finds the best value and the first block holding
    // it; only that block is scanned again for the index.
    const B: usize = 256;
    let mut best = if MAX {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    let mut best_blk = 0;
    let mut nan = false;
    for (i, blk) in row.chunks(B).enumerate() {
        let (m, n) = block_best_f32::<MAX>(blk);
        nan |= n;
        if if MAX { m > best } else { m < best } {
            best = m;
            best_blk = i;
        }
    }
    if nan {
        return row.iter().position(|v| v.is_nan()).unwrap_or(0) as u32;
    }
    let start = best_blk * B;
    let blk = &row[start..row.len().min(start + B)];
    (start + blk.iter().position(|&v| v == best).unwrap_or(0)) as u32
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn arg_row_f32_avx2<const MAX: bool>(row: &[f32]) -> u32 {
    arg_row_f32_body::<MAX>(row)
}

/// argmax/argmin of an f32 row (vectorised two-pass).
fn arg_row_f32<const MAX: bool>(row: &[f32]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { arg_row_f32_avx2::<MAX>(row) };
    }
    arg_row_f32_body::<MAX>(row)
}

/// argmax (`MAX`) or argmin of `x` along `axis` into a uint32 `spec`. `x` must not be empty.
pub(crate) fn arg_reduce<T: Ordered, const MAX: bool>(
    x: &Array,
    axis: usize,
    spec: &OutputSpec,
) -> Result<Data> {
    let (outer, n, inner) = split_axis(x.shape(), axis);
    let (mut buf, _) = Data::alloc(spec)?;
    let out = &mut buffer_elements_mut::<u32>(&mut buf)[..outer * inner];
    let data = row_major::<T>(x)?;
    let src = &data.elements::<T>()[data.offset..data.offset + x.size()];
    let big = x.size() >= PARALLEL_THRESHOLD;
    if inner == 1 {
        let row_fn = |row: &[T]| -> u32 {
            if T::DTYPE == crate::Dtype::Float32 {
                // SAFETY: T is f32 (checked by its dtype), so the slice has the same layout.
                let r =
                    unsafe { std::slice::from_raw_parts(row.as_ptr() as *const f32, row.len()) };
                arg_row_f32::<MAX>(r)
            } else {
                arg_row::<T, MAX>(row)
            }
        };
        if big && outer > 1 {
            let c = outer.div_ceil(rayon::current_num_threads() * 8).max(1);
            out.par_chunks_mut(c)
                .zip(src.par_chunks(c * n))
                .for_each(|(o, s)| {
                    for (o, row) in o.iter_mut().zip(s.chunks(n)) {
                        *o = row_fn(row);
                    }
                });
        } else {
            for (o, row) in out.iter_mut().zip(src.chunks(n)) {
                *o = row_fn(row);
            }
        }
    } else {
        let block = |o: usize, dst: &mut [u32], col: usize| {
            let w = dst.len();
            let base = o * n * inner + col;
            let mut best: Vec<T> = src[base..base + w].to_vec();
            dst.fill(0);
            for i in 1..n {
                let row = &src[base + i * inner..base + i * inner + w];
                for j in 0..w {
                    if better::<T, MAX>(row[j], best[j]) {
                        best[j] = row[j];
                        dst[j] = i as u32;
                    }
                }
            }
        };
        if big && outer >= 4 {
            out.par_chunks_mut(inner)
                .enumerate()
                .for_each(|(o, d)| block(o, d, 0));
        } else if big {
            for (o, d) in out.chunks_mut(inner).enumerate() {
                d.par_chunks_mut(1024)
                    .enumerate()
                    .for_each(|(i, dd)| block(o, dd, i * 1024));
            }
        } else {
            for (o, d) in out.chunks_mut(inner).enumerate() {
                block(o, d, 0);
            }
        }
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// Calls `f(row, out_row)` for each contiguous row of `n` elements of `x` (all of `x`'s
/// elements in row-major order), writing `m` outputs per row into `spec`. Rows run on both
/// cores when the work is large.
pub(crate) fn map_rows<T: Element, U: Element>(
    x: &Array,
    n: usize,
    m: usize,
    spec: &OutputSpec,
    f: impl Fn(&[T], &mut [U]) + Sync + Send,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let total = spec.size();
    if total > 0 && n > 0 {
        let out = &mut buffer_elements_mut::<U>(&mut buf)[..total];
        let data = row_major::<T>(x)?;
        let src = &data.elements::<T>()[data.offset..data.offset + x.size()];
        let rows = total / m;
        if x.size() >= PARALLEL_THRESHOLD / 4 && rows > 1 {
            let c = rows.div_ceil(rayon::current_num_threads() * 8).max(1);
            out.par_chunks_mut(c * m)
                .zip(src.par_chunks(c * n))
                .for_each(|(o, s)| {
                    for (d, r) in o.chunks_mut(m).zip(s.chunks(n)) {
                        f(r, d);
                    }
                });
        } else {
            for (d, r) in out.chunks_mut(m).zip(src.chunks(n)) {
                f(r, d);
            }
        }
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// [`reduce`] with generic multi-lane kernels built from `step` alone.
pub(crate) fn reduce_with<T: Element>(
    x: &Array,
    axes: &[usize],
    spec: &OutputSpec,
    init: T,
    step: impl Fn(T, T) -> T + Sync + Send + Copy,
) -> Result<Data> {
    reduce(
        x,
        axes,
        spec,
        init,
        step,
        move |s: &[T]| fold_lanes(s, init, step),
        move |acc: &mut [T], rows: &[&[T]]| {
            for row in rows {
                for (a, &v) in acc.iter_mut().zip(*row) {
                    *a = step(*a, v);
                }
            }
        },
    )
}
