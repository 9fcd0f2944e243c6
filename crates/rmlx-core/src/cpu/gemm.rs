//! Matrix products on the CPU: batched GEMM through `faer` (strided views, no copies of
//! transposed or sliced operands) and the dot products of `vecdot`.
//!
//! Inputs of [`gemm`] arrive in the output dtype with their batch dimensions already broadcast
//! (zero strides) to the output's: `a` is `batch + [m, k]`, `b` is `batch + [k, n]` and the
//! optional addend `c` is `batch + [m, n]` (an operand whose batch dimensions still need a
//! broadcast, as a shapeless replay may hand one, is broadcast here; one that does not fit
//! is an error). float16 and bfloat16 multiply in float32 and round
//! once at the end.

use crate::allocator::Buffer;
use crate::array::{Array, Data, buffer_elements_mut};
use crate::dtype::Dtype;
use crate::element::{C64, Element};
use crate::error::{Error, Result};
use crate::layout::for_each_offset;
use crate::primitive::OutputSpec;
use faer::{Accum, MatMut, MatRef, Par};
use half::{bf16, f16};
use rayon::prelude::*;

/// Products of at most this many multiply-adds (`m * n * k`) run on one thread each; a batch
/// of them is split across threads by batch element instead.
const SMALL_GEMM: usize = 192 * 192 * 192;

/// A read-only pointer that may cross into rayon's workers.
#[derive(Copy, Clone)]
struct ConstPtr<T>(*const T);
// SAFETY: only read through, while the owning buffers are alive for the whole call.
unsafe impl<T> Send for ConstPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for ConstPtr<T> {}
impl<T> ConstPtr<T> {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *const T {
        self.0
    }
}

/// A writable pointer whose users write disjoint regions.
#[derive(Copy, Clone)]
struct MutPtr<T>(*mut T);
// SAFETY: each batch element writes its own `m * n` block of the output.
unsafe impl<T> Send for MutPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for MutPtr<T> {}
impl<T> MutPtr<T> {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *mut T {
        self.0
    }
}

/// One operand's layout: buffer offsets of each product's matrix and the matrix strides.
pub(crate) struct Operand {
    pub offsets: Vec<usize>,
    pub row_stride: isize,
    pub col_stride: isize,
}

fn operand(x: &Data, batch: &[usize]) -> Operand {
    let nb = batch.len();
    let mut offsets = Vec::with_capacity(batch.iter().product());
    for_each_offset(batch, &x.strides[..nb], x.offset, |o| offsets.push(o));
    Operand {
        offsets,
        row_stride: x.strides[nb],
        col_stride: x.strides[nb + 1],
    }
}

/// The data of `x` laid out as `batch + matrix`: its own batch dimensions broadcast (zero
/// strides) to `batch`. The ops broadcast the operands before the product; this keeps the
/// kernel in bounds when a shapeless replay hands it operands whose batch dimensions no longer
/// agree (they then broadcast, as MLX's product does), and rejects operands that do not fit.
fn batch_view(x: &Array, batch: &[usize], matrix: [usize; 2]) -> Result<Data> {
    let d = x.ready_data()?;
    let shape = x.shape();
    let nd = shape.len();
    let heads = &shape[..nd - 2];
    let fits = shape[nd - 2..] == matrix
        && heads.len() <= batch.len()
        && heads
            .iter()
            .zip(&batch[batch.len() - heads.len()..])
            .all(|(&h, &b)| h == b || h == 1);
    if !fits {
        let mut want = batch.to_vec();
        want.extend(matrix);
        return Err(Error::value(format!(
            "[matmul] An operand of shape {} does not broadcast to {}.",
            crate::error::fmt_shape(shape),
            crate::error::fmt_shape(&want)
        )));
    }
    if heads == batch {
        return Ok(d);
    }
    let lead = batch.len() - heads.len();
    let mut strides = vec![0isize; lead];
    strides.extend(
        heads
            .iter()
            .zip(&batch[lead..])
            .zip(&d.strides)
            .map(|((&h, &b), &s)| if h == b { s } else { 0 }),
    );
    strides.extend_from_slice(&d.strides[nd - 2..]);
    let mut full = batch.to_vec();
    full.extend(matrix);
    Ok(Data::view(d.buffer.clone(), &full, d.offset, strides))
}

/// The scalars of `alpha * a @ b + beta * c`, as MLX holds them (single precision).
#[derive(Copy, Clone)]
pub(crate) struct Scale {
    pub alpha: f32,
    pub beta: f32,
}

/// A list of independent `m x n` products, product `i` writing output block `i`: where its
/// `a` (`m x ks[i]`), `b` (`ks[i] x n`) and optional addend `c` (`m x n`) start in their
/// buffers. Batched matmul, gather_mm and segmented_mm are all such lists.
pub(crate) struct Products {
    pub m: usize,
    pub n: usize,
    pub a: Operand,
    pub b: Operand,
    pub c: Option<Operand>,
    pub ks: Vec<usize>,
}

/// `alpha * a @ b (+ beta * c)` over the batch; see the module doc for the layouts.
pub(crate) fn gemm(
    a: &Array,
    b: &Array,
    c: Option<&Array>,
    scale: Scale,
    spec: &OutputSpec,
) -> Result<Data> {
    let nd = spec.shape.len();
    if nd < 2 || a.ndim() < 2 || b.ndim() < 2 {
        return Err(Error::value("[matmul] The operands' rank changed."));
    }
    let batch = &spec.shape[..nd - 2];
    let (m, n) = (spec.shape[nd - 2], spec.shape[nd - 1]);
    let k = a.shape()[a.ndim() - 1];
    let ad = batch_view(a, batch, [m, k])?;
    let bd = batch_view(b, batch, [k, n])?;
    let cd = c.map(|c| batch_view(c, batch, [m, n])).transpose()?;
    if let Some(products) = fold_batch(k, &ad, &bd, cd.as_ref(), spec) {
        return gemm_products(&ad, &bd, cd.as_ref(), &products, scale, spec);
    }
    let a_op = operand(&ad, batch);
    let ks = vec![k; a_op.offsets.len()];
    let products = Products {
        m: spec.shape[nd - 2],
        n: spec.shape[nd - 1],
        a: a_op,
        b: operand(&bd, batch),
        c: cd.as_ref().map(|d| operand(d, batch)),
        ks,
    };
    gemm_products(&ad, &bd, cd.as_ref(), &products, scale, spec)
}

/// The stride between consecutive rows when the leading dimensions `shape[..len - 1]`
/// (batch dimensions and rows) fold into one row dimension, or `None`.
fn folded_row_stride(shape: &[usize], strides: &[isize]) -> Option<isize> {
    let last = shape.len() - 1;
    let rs = strides[last];
    let mut expect = rs * shape[last] as isize;
    for i in (0..last).rev() {
        if shape[i] != 1 && strides[i] != expect {
            return None;
        }
        expect *= shape[i] as isize;
    }
    Some(rs)
}

/// A batched product whose right operand is the same matrix for every batch element (a
/// `(B, L, K) @ (K, N)` layer applied to a batch) as one product of `B * L` rows, when the
/// left operand's (and the addend's) batch dimensions fold into its rows. One tall product
/// reads the right operand once instead of once per batch element, and keeps the GEMM
/// kernel's blocks full.
fn fold_batch(
    k: usize,
    ad: &Data,
    bd: &Data,
    cd: Option<&Data>,
    spec: &OutputSpec,
) -> Option<Products> {
    let nd = spec.shape.len();
    let nbatch: usize = spec.shape[..nd - 2].iter().product();
    if nd <= 2 || nbatch <= 1 || spec.size() == 0 || k == 0 {
        return None;
    }
    if bd.strides[..nd - 2].iter().any(|&s| s != 0) {
        return None;
    }
    let rows_shape = &spec.shape[..nd - 1];
    let a_rs = folded_row_stride(rows_shape, &ad.strides[..nd - 1])?;
    let c = match cd {
        Some(c) => Some(Operand {
            offsets: vec![c.offset],
            row_stride: folded_row_stride(rows_shape, &c.strides[..nd - 1])?,
            col_stride: c.strides[nd - 1],
        }),
        None => None,
    };
    Some(Products {
        m: nbatch * spec.shape[nd - 2],
        n: spec.shape[nd - 1],
        a: Operand {
            offsets: vec![ad.offset],
            row_stride: a_rs,
            col_stride: ad.strides[nd - 1],
        },
        b: Operand {
            offsets: vec![bd.offset],
            row_stride: bd.strides[nd - 2],
            col_stride: bd.strides[nd - 1],
        },
        c,
        ks: vec![k],
    })
}

/// Runs every product of `p` into a new row-major output of `spec` (blocks of `m * n`).
pub(crate) fn gemm_products(
    a: &Data,
    b: &Data,
    c: Option<&Data>,
    p: &Products,
    scale: Scale,
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    if spec.size() > 0 {
        match spec.dtype {
            Dtype::Float32 => run::<f32>(a, b, c, p, scale, &mut buf, |x| x),
            Dtype::Float64 => run::<f64>(a, b, c, p, scale, &mut buf, f64::from),
            Dtype::Complex64 => run::<C64>(a, b, c, p, scale, &mut buf, |x| C64::new(x, 0.0)),
            Dtype::Float16 => run_half::<f16>(a, b, c, p, scale, &mut buf),
            Dtype::Bfloat16 => run_half::<bf16>(a, b, c, p, scale, &mut buf),
            d => {
                return Err(Error::value(format!(
                    "[matmul] Only inexact types are supported, got {d}."
                )));
            }
        }
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// Whether to split the products across threads (each product then runs on one thread).
fn batch_parallel(nbatch: usize, m: usize, n: usize, k: usize) -> bool {
    nbatch > 1 && m.saturating_mul(n).saturating_mul(k) <= SMALL_GEMM
}

/// Threads for one product: sequential when it is small, both cores otherwise.
fn par_for(m: usize, n: usize, k: usize) -> Par {
    if m.saturating_mul(n).saturating_mul(k) <= 64 * 64 * 64 {
        Par::Seq
    } else {
        Par::rayon(0)
    }
}

/// Runs `f(i)` for each product, in parallel when `parallel`.
fn for_batch(nbatch: usize, parallel: bool, f: impl Fn(usize) + Sync + Send) {
    if parallel {
        (0..nbatch).into_par_iter().for_each(f);
    } else {
        (0..nbatch).for_each(f);
    }
}

/// The buffer of an operand, or an empty slice when no product reads it (an empty operand
/// may have no buffer at all).
fn elements_or_empty<'a, T: Element>(x: &'a Data, p: &Products) -> &'a [T] {
    if p.ks.iter().all(|&k| k == 0) {
        &[]
    } else {
        x.elements::<T>()
    }
}

/// The GEMM for dtypes faer multiplies directly (f32, f64, complex64).
fn run<T: Element + faer::traits::ComplexField>(
    a: &Data,
    b: &Data,
    c: Option<&Data>,
    p: &Products,
    scale: Scale,
    out: &mut Buffer,
    lift: fn(f32) -> T,
) {
    let (m, n) = (p.m, p.n);
    let nbatch = p.ks.len();
    let kmax = p.ks.iter().copied().max().unwrap_or(0);
    let parallel = batch_parallel(nbatch, m, n, kmax);
    let (ap, bp) = (
        ConstPtr(elements_or_empty::<T>(a, p).as_ptr()),
        ConstPtr(elements_or_empty::<T>(b, p).as_ptr()),
    );
    let cv = c.map(|d| d.elements::<T>());
    let op = MutPtr(buffer_elements_mut::<T>(out).as_mut_ptr());
    let (alpha, beta) = (lift(scale.alpha), lift(scale.beta));
    let use_c = cv.is_some() && scale.beta != 0.0;
    for_batch(nbatch, parallel, |i| {
        let k = p.ks[i];
        let par = if parallel { Par::Seq } else { par_for(m, n, k) };
        // SAFETY: product i owns the output block [i*m*n, (i+1)*m*n), which lies in the
        // buffer allocated for the output's m*n*nbatch elements.
        let dst_ptr = unsafe { op.get().add(i * m * n) };
        // SAFETY: as above; row-major m x n.
        let mut dst = unsafe { MatMut::from_raw_parts_mut(dst_ptr, m, n, n as isize, 1) };
        // The addend `beta * c`, written into each block of the output just before that
        // block is accumulated into (on the block's own thread, so it is still in cache).
        let fill_block = |mut block: MatMut<'_, T>, row0: usize, col0: usize| {
            let (Some(cv), Some(co)) = (cv, p.c.as_ref()) else {
                return;
            };
            let base = co.offsets[i] as isize + col0 as isize * co.col_stride;
            let width = block.ncols();
            for r in 0..block.nrows() {
                let row = base + (row0 + r) as isize * co.row_stride;
                // SAFETY: row r of the block: `width` elements at unit column stride (the
                // output is row-major and blocks are whole row or column ranges of it).
                let d = unsafe {
                    std::slice::from_raw_parts_mut(block.as_mut().ptr_at_mut(r, 0), width)
                };
                if co.col_stride == 1 {
                    // Whole rows (a row-major addend, or a bias broadcast over the rows).
                    let src = &cv[row as usize..row as usize + width];
                    if scale.beta == 1.0 {
                        d.copy_from_slice(src);
                    } else {
                        for (o, &x) in d.iter_mut().zip(src) {
                            *o = beta * x;
                        }
                    }
                } else {
                    for (col, o) in d.iter_mut().enumerate() {
                        *o = beta * cv[(row + col as isize * co.col_stride) as usize];
                    }
                }
            }
        };
        if k == 0 {
            match use_c {
                true => fill_block(dst, 0, 0),
                false => dst.fill(T::default()),
            }
            return;
        }
        // SAFETY: the views stay inside the inputs' buffers: element (r, j) of each lies at
        // offset + r*row_stride + j*col_stride, an element of the input's layout (the callers
        // build offsets and ks from the inputs' shapes and strides).
        let (lhs, rhs) = unsafe {
            (
                MatRef::from_raw_parts(
                    ap.get().add(p.a.offsets[i]),
                    m,
                    k,
                    p.a.row_stride,
                    p.a.col_stride,
                ),
                MatRef::from_raw_parts(
                    bp.get().add(p.b.offsets[i]),
                    k,
                    n,
                    p.b.row_stride,
                    p.b.col_stride,
                ),
            )
        };
        let accum = if use_c { Accum::Add } else { Accum::Replace };
        if !use_c && column_major_product_is_faster(lhs, rhs) {
            // The weight gradients `dy^T @ x` of linear layers with 1024 or 2048 outputs
            // are such products: multiplied into a column-major buffer, then transposed.
            let mut tmp = vec![T::default(); m * n];
            let tmp_view = MatMut::from_column_major_slice_mut(&mut tmp, m, n);
            matmul_split(tmp_view, Accum::Replace, lhs, rhs, alpha, par);
            transpose_into_rows(&tmp, m, n, dst, !parallel);
        } else if use_c {
            split_product(dst, Accum::Add, lhs, rhs, alpha, par, Some(&fill_block));
        } else {
            matmul_split(dst, accum, lhs, rhs, alpha, par);
        }
    });
}

/// Whether `lhs @ rhs` runs faster into a column-major result than into a row-major one.
/// faer reads a column-major `lhs` column by column as it multiplies into a row-major result;
/// when the column stride is a multiple of 4 KB every column maps to the same L1 sets, and
/// over a long inner dimension the product runs at half speed (measured on 2 cores: 1024 x
/// 2048 x 256, 189 GFLOP/s; 2048 x 1024 x 256, 193), while into a column-major result it
/// runs at 330-355. Shorter inner dimensions, other strides and wide results with a
/// row-major `rhs` measured no gain, or a loss, from the detour.
fn column_major_product_is_faster<T>(lhs: MatRef<'_, T>, rhs: MatRef<'_, T>) -> bool {
    let (m, k, n) = (lhs.nrows(), lhs.ncols(), rhs.ncols());
    let col_major = |x: MatRef<'_, T>| x.row_stride() == 1 && x.col_stride() != 1;
    let aliasing =
        (lhs.col_stride().unsigned_abs() * std::mem::size_of::<T>()).is_multiple_of(4096);
    col_major(lhs) && aliasing && k >= 1024 && (col_major(rhs) || m >= n)
}

/// Copies the column-major `m x n` matrix `src` into the row-major view `dst`, in tiles of
/// 16 rows (each tile reads one cache line of every column it crosses); on rayon's threads
/// when `parallel`.
fn transpose_into_rows<T: faer::traits::ComplexField + Copy>(
    src: &[T],
    m: usize,
    n: usize,
    dst: MatMut<'_, T>,
    parallel: bool,
) {
    const TILE: usize = 16;
    let dp = MutPtr(dst.as_ptr_mut());
    let (rs, cs) = (dst.row_stride(), dst.col_stride());
    let tile = |t: usize| {
        let rows = t * TILE..((t + 1) * TILE).min(m);
        for j in 0..n {
            let column = &src[j * m..(j + 1) * m];
            for r in rows.clone() {
                // SAFETY: (r, j) is inside dst, and tiles own disjoint rows.
                unsafe { *dp.get().offset(r as isize * rs + j as isize * cs) = column[r] };
            }
        }
    };
    let tiles = m.div_ceil(TILE);
    if parallel && m * n >= super::PARALLEL_THRESHOLD {
        (0..tiles).into_par_iter().for_each(tile);
    } else {
        (0..tiles).for_each(tile);
    }
}

/// `dst (+)= alpha * lhs @ rhs` by faer's kernel on the calling thread, denormals flushed
/// (see [`super::flushing_denormals`]): every matrix product of the CPU kernels goes
/// through here.
pub(crate) fn seq_matmul<T: faer::traits::ComplexField>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
) {
    super::flushing_denormals(|| {
        faer::linalg::matmul::matmul(dst, accum, lhs, rhs, alpha, Par::Seq)
    });
}

/// Rows (or columns) of the output below which a product is not split further.
const SPLIT_MIN: usize = 96;

/// `dst (+)= alpha * lhs @ rhs`. With `Par::Seq`, one call of faer's kernel; otherwise the
/// output is cut into row blocks (column blocks when it is wider than tall), at most two per
/// thread, each multiplied sequentially on its own rayon task. faer's own parallel GEMM
/// synchronises its threads with spinning barriers and packs the left operand once per
/// thread and column block; for the mid-sized products of small models (a few hundred rows
/// by 384 to 1536) that costs a third of the time on two cores, and the blocks here avoid
/// both. Each output element is still one dot product over the whole inner dimension.
pub(crate) fn matmul_split<T: faer::traits::ComplexField>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    par: Par,
) {
    split_product(dst, accum, lhs, rhs, alpha, par, None);
}

/// Writes the addend into a block of the output (the block, its first row and column).
type FillBlock<'a, T> = &'a (dyn Fn(MatMut<'_, T>, usize, usize) + Sync);

/// [`matmul_split`], with `fill` (when given) writing each block's addend right before the
/// block is accumulated into.
fn split_product<T: faer::traits::ComplexField>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    par: Par,
    fill: Option<FillBlock<'_, T>>,
) {
    let threads = rayon::current_num_threads();
    let (m, n) = (dst.nrows(), dst.ncols());
    let by_rows = m >= n;
    let len = if by_rows { m } else { n };
    let pieces = if matches!(par, Par::Seq) || threads <= 1 {
        1
    } else {
        (2 * threads).min(len / SPLIT_MIN).max(1)
    };
    let split = Split {
        accum,
        alpha: &alpha,
        by_rows,
        fill,
    };
    split_rec(dst, lhs, rhs, &split, pieces, [0, 0]);
}

/// How [`split_rec`] cuts and finishes its blocks.
struct Split<'a, T> {
    accum: Accum,
    alpha: &'a T,
    /// Cut along rows (else columns).
    by_rows: bool,
    /// Writes a block's addend before the product is added to it.
    fill: Option<FillBlock<'a, T>>,
}

/// Splits the output into `pieces` blocks along rows or columns (`split.by_rows`), block
/// edges on multiples of 16 elements, and runs them as rayon tasks; `at` is the block's first
/// row and column in the whole output.
fn split_rec<T: faer::traits::ComplexField>(
    mut dst: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    split: &Split<'_, T>,
    pieces: usize,
    at: [usize; 2],
) {
    let len = if split.by_rows {
        dst.nrows()
    } else {
        dst.ncols()
    };
    let first = pieces / 2;
    let cut = (len * first / pieces.max(1)).next_multiple_of(16).min(len);
    if pieces <= 1 || cut == 0 || cut == len {
        if let Some(fill) = split.fill {
            fill(dst.as_mut(), at[0], at[1]);
        }
        seq_matmul(dst, split.accum, lhs, rhs, split.alpha.clone());
        return;
    }
    if split.by_rows {
        let (d0, d1) = dst.split_at_row_mut(cut);
        let (l0, l1) = lhs.split_at_row(cut);
        rayon::join(
            || split_rec(d0, l0, rhs, split, first, at),
            || split_rec(d1, l1, rhs, split, pieces - first, [at[0] + cut, at[1]]),
        );
    } else {
        let (d0, d1) = dst.split_at_col_mut(cut);
        let (r0, r1) = rhs.split_at_col(cut);
        rayon::join(
            || split_rec(d0, lhs, r0, split, first, at),
            || split_rec(d1, lhs, r1, split, pieces - first, [at[0], at[1] + cut]),
        );
    }
}

/// Copies an `r x c` strided matrix of `H` into a row-major f32 block.
fn widen<H: Element>(src: &[H], off: usize, rs: isize, cs: isize, r: usize, c: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(r * c);
    for i in 0..r {
        let row = off as isize + i as isize * rs;
        out.extend((0..c).map(|j| src[(row + j as isize * cs) as usize].to_f64() as f32));
    }
    out
}

/// float16 / bfloat16: each product multiplies in f32 and rounds once.
fn run_half<H: Element>(
    a: &Data,
    b: &Data,
    c: Option<&Data>,
    p: &Products,
    scale: Scale,
    out: &mut Buffer,
) {
    let (m, n) = (p.m, p.n);
    let nbatch = p.ks.len();
    let kmax = p.ks.iter().copied().max().unwrap_or(0);
    let parallel = batch_parallel(nbatch, m, n, kmax);
    let (av, bv) = (elements_or_empty::<H>(a, p), elements_or_empty::<H>(b, p));
    let cv = c.map(|d| d.elements::<H>());
    let use_c = cv.is_some() && scale.beta != 0.0;
    let out = buffer_elements_mut::<H>(out);
    let op = MutPtr(out.as_mut_ptr());
    for_batch(nbatch, parallel, |i| {
        let k = p.ks[i];
        let par = if parallel { Par::Seq } else { par_for(m, n, k) };
        let mut acc = match (use_c, cv, p.c.as_ref()) {
            (true, Some(cv), Some(co)) => {
                let mut v = widen(cv, co.offsets[i], co.row_stride, co.col_stride, m, n);
                v.iter_mut().for_each(|x| *x *= scale.beta);
                v
            }
            _ => vec![0.0f32; m * n],
        };
        if k > 0 {
            let wa = widen(av, p.a.offsets[i], p.a.row_stride, p.a.col_stride, m, k);
            let wb = widen(bv, p.b.offsets[i], p.b.row_stride, p.b.col_stride, k, n);
            let lhs = MatRef::from_row_major_slice(&wa, m, k);
            let rhs = MatRef::from_row_major_slice(&wb, k, n);
            let dst = MatMut::from_row_major_slice_mut(&mut acc, m, n);
            matmul_split(dst, Accum::Add, lhs, rhs, scale.alpha, par);
        }
        // SAFETY: product i owns the output block [i*m*n, (i+1)*m*n).
        let block = unsafe { std::slice::from_raw_parts_mut(op.get().add(i * m * n), m * n) };
        for (o, &x) in block.iter_mut().zip(&acc) {
            *o = H::from_f64(x as f64);
        }
    });
}

/// `vecdot` along the last axis of two same-shaped arrays of `T`: the sum over the last axis
/// of `conj(a) * b`, each product in `T` (integers wrap) and the sum accumulated in `A`, then
/// converted to the output element type `U`.
pub(crate) fn vecdot<T: Element, A: Element, U: Element>(
    a: &Array,
    b: &Array,
    spec: &OutputSpec,
    mul: impl Fn(T, T) -> T,
    add: impl Fn(A, A) -> A,
) -> Result<Data> {
    let (ad, bd) = (a.ready_data()?, b.ready_data()?);
    let nd = a.ndim();
    let (outer, k) = (&a.shape()[..nd - 1], a.shape()[nd - 1]);
    let (mut buf, _) = Data::alloc(spec)?;
    let out = buffer_elements_mut::<U>(&mut buf);
    if k == 0 {
        out.fill(A::default().cast::<U>());
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let (av, bv) = (ad.elements::<T>(), bd.elements::<T>());
    let (sa, sb) = (ad.strides[nd - 1], bd.strides[nd - 1]);
    let mut bo = Vec::with_capacity(out.len());
    for_each_offset(outer, &bd.strides[..nd - 1], bd.offset, |o| bo.push(o));
    let mut idx = 0usize;
    for_each_offset(outer, &ad.strides[..nd - 1], ad.offset, |ao| {
        let (mut pa, mut pb) = (ao as isize, bo[idx] as isize);
        let mut acc = A::default();
        for _ in 0..k {
            acc = add(acc, mul(av[pa as usize], bv[pb as usize]).cast::<A>());
            pa += sa;
            pb += sb;
        }
        out[idx] = acc.cast::<U>();
        idx += 1;
    });
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// The values of a `uint32` array in row-major order.
fn read_u32(x: &Array) -> Result<Vec<u32>> {
    let d = x.ready_data()?;
    let v = d.elements::<u32>();
    let mut out = Vec::with_capacity(x.size());
    for_each_offset(x.shape(), &d.strides, d.offset, |o| out.push(v[o]));
    Ok(out)
}

/// Offsets of the matrices picked by `indices` (flat indices over the batch dimensions of
/// `x`), or an index error naming the first index out of range.
fn pick(x: &Array, xd: &Data, indices: &[u32], which: &str) -> Result<Operand> {
    let nd = x.ndim();
    let all = operand(xd, &x.shape()[..nd - 2]);
    let count = all.offsets.len();
    let offsets = indices
        .iter()
        .map(|&i| {
            all.offsets.get(i as usize).copied().ok_or_else(|| {
                Error::index(format!(
                    "[gather_mm] {which} index {i} is out of range for {count} matrices."
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Operand { offsets, ..all })
}

/// `gather_mm`: product `i` multiplies matrix `lhs[i]` of `a` by matrix `rhs[i]` of `b` (flat
/// indices over their batch dimensions; the index arrays have the output's batch shape).
pub(crate) fn gather_mm(
    a: &Array,
    b: &Array,
    lhs: &Array,
    rhs: &Array,
    spec: &OutputSpec,
) -> Result<Data> {
    let (ad, bd) = (a.ready_data()?, b.ready_data()?);
    let (li, ri) = (read_u32(lhs)?, read_u32(rhs)?);
    let nd = spec.shape.len();
    let products = Products {
        m: spec.shape[nd - 2],
        n: spec.shape[nd - 1],
        a: pick(a, &ad, &li, "lhs")?,
        b: pick(b, &bd, &ri, "rhs")?,
        c: None,
        ks: vec![a.shape()[a.ndim() - 1]; li.len()],
    };
    let scale = Scale {
        alpha: 1.0,
        beta: 0.0,
    };
    gemm_products(&ad, &bd, None, &products, scale, spec)
}

/// `segmented_mm`: for each `[start, end)` pair of `segments` (uint32, last axis 2), the
/// product of `a[:, start:end]` and `b[start:end, :]`; an empty or reversed segment gives
/// zeros and a segment past the inner dimension is an index error.
pub(crate) fn segmented_mm(
    a: &Array,
    b: &Array,
    segments: &Array,
    spec: &OutputSpec,
) -> Result<Data> {
    let (ad, bd) = (a.ready_data()?, b.ready_data()?);
    let bounds = read_u32(segments)?;
    let k_all = a.shape()[1].min(b.shape()[0]);
    let count = bounds.len() / 2;
    let (mut ao, mut bo, mut ks) = (
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
    );
    for seg in bounds.chunks_exact(2) {
        let (start, end) = (seg[0] as usize, seg[1] as usize);
        if end <= start {
            ao.push(ad.offset);
            bo.push(bd.offset);
            ks.push(0);
            continue;
        }
        if end > k_all {
            return Err(Error::index(format!(
                "[segmented_mm] Segment [{start}, {end}) is out of range for an inner \
                 dimension of {k_all}."
            )));
        }
        ao.push((ad.offset as isize + start as isize * ad.strides[1]) as usize);
        bo.push((bd.offset as isize + start as isize * bd.strides[0]) as usize);
        ks.push(end - start);
    }
    let products = Products {
        m: a.shape()[0],
        n: b.shape()[1],
        a: Operand {
            offsets: ao,
            row_stride: ad.strides[0],
            col_stride: ad.strides[1],
        },
        b: Operand {
            offsets: bo,
            row_stride: bd.strides[0],
            col_stride: bd.strides[1],
        },
        c: None,
        ks,
    };
    let scale = Scale {
        alpha: 1.0,
        beta: 0.0,
    };
    gemm_products(&ad, &bd, None, &products, scale, spec)
}
