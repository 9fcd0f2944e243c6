//! Matrix products on the CPU: batched GEMM through `faer` (strided views, no copies of
//! transposed or sliced operands) and the dot products of `vecdot`.
//!
//! Inputs of [`gemm`] arrive in the output dtype with their batch dimensions already broadcast
//! (zero strides) to the output's: `a` is `batch + [m, k]`, `b` is `batch + [k, n]` and the
//! optional addend `c` is `batch + [m, n]`. float16 and bfloat16 multiply in float32 and round
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

/// One operand's layout: buffer offsets of each batch element and the matrix strides.
struct Operand {
    offsets: Vec<usize>,
    row_stride: isize,
    col_stride: isize,
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

/// The scalars of `alpha * a @ b + beta * c`, as MLX holds them (single precision).
#[derive(Copy, Clone)]
pub(crate) struct Scale {
    pub alpha: f32,
    pub beta: f32,
}

/// `alpha * a @ b (+ beta * c)` over the batch; see the module doc for the layouts.
pub(crate) fn gemm(
    a: &Array,
    b: &Array,
    c: Option<&Array>,
    scale: Scale,
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    if spec.size() > 0 {
        match spec.dtype {
            Dtype::Float32 => run::<f32>(a, b, c, scale, &mut buf, spec, |x| x)?,
            Dtype::Float64 => run::<f64>(a, b, c, scale, &mut buf, spec, f64::from)?,
            Dtype::Complex64 => run::<C64>(a, b, c, scale, &mut buf, spec, |x| C64::new(x, 0.0))?,
            Dtype::Float16 => run_half::<f16>(a, b, c, scale, &mut buf, spec)?,
            Dtype::Bfloat16 => run_half::<bf16>(a, b, c, scale, &mut buf, spec)?,
            d => {
                return Err(Error::value(format!(
                    "[matmul] Only inexact types are supported, got {d}."
                )));
            }
        }
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// Shapes of one product: batch dims, m, n, k.
fn dims(spec: &OutputSpec, a: &Array) -> (Vec<usize>, usize, usize, usize) {
    let nd = spec.shape.len();
    let batch = spec.shape[..nd - 2].to_vec();
    (
        batch,
        spec.shape[nd - 2],
        spec.shape[nd - 1],
        a.shape()[nd - 1],
    )
}

/// Whether to split the batch across threads (each product then runs on one thread).
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

/// Runs `f(i)` for each batch element, in parallel when `parallel`.
fn for_batch(nbatch: usize, parallel: bool, f: impl Fn(usize) + Sync + Send) {
    if parallel {
        (0..nbatch).into_par_iter().for_each(f);
    } else {
        (0..nbatch).for_each(f);
    }
}

/// The GEMM for dtypes faer multiplies directly (f32, f64, complex64).
fn run<T: Element + faer::traits::ComplexField>(
    a: &Array,
    b: &Array,
    c: Option<&Array>,
    scale: Scale,
    out: &mut Buffer,
    spec: &OutputSpec,
    lift: fn(f32) -> T,
) -> Result<()> {
    let (batch, m, n, k) = dims(spec, a);
    let (ad, bd) = (a.ready_data()?, b.ready_data()?);
    let cd = c.map(|c| c.ready_data()).transpose()?;
    let (ao, bo) = (operand(&ad, &batch), operand(&bd, &batch));
    let co = cd.as_ref().map(|d| operand(d, &batch));
    let nbatch = ao.offsets.len();
    let parallel = batch_parallel(nbatch, m, n, k);
    let par = if parallel { Par::Seq } else { par_for(m, n, k) };
    // An empty operand (k == 0) may have no buffer at all: never touch its elements.
    let (ap, bp) = if k == 0 {
        (ConstPtr(std::ptr::null()), ConstPtr(std::ptr::null()))
    } else {
        (
            ConstPtr(ad.elements::<T>().as_ptr()),
            ConstPtr(bd.elements::<T>().as_ptr()),
        )
    };
    let cv = cd.as_ref().map(|d| d.elements::<T>());
    let op = MutPtr(buffer_elements_mut::<T>(out).as_mut_ptr());
    let (alpha, beta) = (lift(scale.alpha), lift(scale.beta));
    let use_c = cv.is_some() && scale.beta != 0.0;
    for_batch(nbatch, parallel, |i| {
        // SAFETY: batch element i owns the output block [i*m*n, (i+1)*m*n), which lies in the
        // buffer allocated for the output's m*n*nbatch elements.
        let dst_ptr = unsafe { op.get().add(i * m * n) };
        // SAFETY: as above; row-major m x n.
        let mut dst = unsafe { MatMut::from_raw_parts_mut(dst_ptr, m, n, n as isize, 1) };
        if let (true, Some(cv), Some(co)) = (use_c, cv, co.as_ref()) {
            let base = co.offsets[i] as isize;
            for r in 0..m {
                for col in 0..n {
                    let idx = base + r as isize * co.row_stride + col as isize * co.col_stride;
                    // SAFETY: (r, col) is inside the block of batch element i.
                    unsafe { *dst_ptr.add(r * n + col) = beta * cv[idx as usize] };
                }
            }
        }
        if k == 0 {
            if !use_c {
                dst.fill(T::default());
            }
            return;
        }
        // SAFETY: the views stay inside the inputs' buffers: element (r, j) of each lies at
        // offset + r*row_stride + j*col_stride, which is an element of the input's layout.
        let (lhs, rhs) = unsafe {
            (
                MatRef::from_raw_parts(
                    ap.get().add(ao.offsets[i]),
                    m,
                    k,
                    ao.row_stride,
                    ao.col_stride,
                ),
                MatRef::from_raw_parts(
                    bp.get().add(bo.offsets[i]),
                    k,
                    n,
                    bo.row_stride,
                    bo.col_stride,
                ),
            )
        };
        let accum = if use_c { Accum::Add } else { Accum::Replace };
        faer::linalg::matmul::matmul(dst, accum, lhs, rhs, alpha, par);
    });
    Ok(())
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
    a: &Array,
    b: &Array,
    c: Option<&Array>,
    scale: Scale,
    out: &mut Buffer,
    spec: &OutputSpec,
) -> Result<()> {
    let (batch, m, n, k) = dims(spec, a);
    let (ad, bd) = (a.ready_data()?, b.ready_data()?);
    let cd = c.map(|c| c.ready_data()).transpose()?;
    let (ao, bo) = (operand(&ad, &batch), operand(&bd, &batch));
    let co = cd.as_ref().map(|d| operand(d, &batch));
    let nbatch = ao.offsets.len();
    let parallel = batch_parallel(nbatch, m, n, k);
    let par = if parallel { Par::Seq } else { par_for(m, n, k) };
    let (av, bv): (&[H], &[H]) = if k == 0 {
        (&[], &[])
    } else {
        (ad.elements::<H>(), bd.elements::<H>())
    };
    let cv = cd.as_ref().map(|d| d.elements::<H>());
    let use_c = cv.is_some() && scale.beta != 0.0;
    let out = buffer_elements_mut::<H>(out);
    let op = MutPtr(out.as_mut_ptr());
    for_batch(nbatch, parallel, |i| {
        let mut acc = match (use_c, cv, co.as_ref()) {
            (true, Some(cv), Some(co)) => {
                let mut v = widen(cv, co.offsets[i], co.row_stride, co.col_stride, m, n);
                v.iter_mut().for_each(|x| *x *= scale.beta);
                v
            }
            _ => vec![0.0f32; m * n],
        };
        if k > 0 {
            let wa = widen(av, ao.offsets[i], ao.row_stride, ao.col_stride, m, k);
            let wb = widen(bv, bo.offsets[i], bo.row_stride, bo.col_stride, k, n);
            let lhs = MatRef::from_row_major_slice(&wa, m, k);
            let rhs = MatRef::from_row_major_slice(&wb, k, n);
            let dst = MatMut::from_row_major_slice_mut(&mut acc, m, n);
            faer::linalg::matmul::matmul(dst, Accum::Add, lhs, rhs, scale.alpha, par);
        }
        // SAFETY: batch element i owns the output block [i*m*n, (i+1)*m*n).
        let block = unsafe { std::slice::from_raw_parts_mut(op.get().add(i * m * n), m * n) };
        for (o, &x) in block.iter_mut().zip(&acc) {
            *o = H::from_f64(x as f64);
        }
    });
    Ok(())
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
