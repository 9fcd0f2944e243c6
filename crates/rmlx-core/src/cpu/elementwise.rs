//! Elementwise drivers: every unary, binary and ternary kernel is a closure handed to these.
//!
//! Inputs of binary and ternary kernels already have the output's shape (the op broadcast
//! them as zero-stride views), so the drivers only deal with layouts, never with shapes.

use super::PARALLEL_THRESHOLD;
use crate::allocator::Buffer;
use crate::array::{Array, Data, buffer_elements_mut};
use crate::element::Element;
use crate::error::Result;
use crate::layout::{for_each_row, par_for_each_row};
use crate::primitive::OutputSpec;
use rayon::prelude::*;

/// A pointer that may cross into rayon's workers: each worker writes a disjoint range.
#[derive(Copy, Clone)]
struct SendPtr<T>(*mut T);
// SAFETY: used only to write disjoint index ranges from different threads.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *mut T {
        self.0
    }
}

/// An output buffer for `spec`: a donated input buffer when one is free, else a new one.
fn output_buffer(spec: &OutputSpec, donors: &[&Array]) -> Result<Buffer> {
    let bytes = spec.size() * spec.dtype.size();
    for d in donors {
        if d.dtype().size() == spec.dtype.size()
            && d.shape() == spec.shape.as_slice()
            && let Some(buf) = d.try_donate(bytes)
        {
            return Ok(buf);
        }
    }
    Ok(Data::alloc(spec)?.0)
}

/// The data of an empty output.
pub(crate) fn empty(spec: &OutputSpec) -> Result<Data> {
    Ok(Data::from_buffer(Data::alloc(spec)?.0, &spec.shape))
}

/// Splits `0..n` into chunks for both cores when `n` is large.
fn chunks(n: usize) -> usize {
    if n >= PARALLEL_THRESHOLD {
        n.div_ceil(rayon::current_num_threads().max(1) * 4)
            .max(4096)
    } else {
        n.max(1)
    }
}

/// `out[i] = f(x[i])` over any layout of `x`.
pub(crate) fn unary<T: Element, U: Element>(
    x: &Array,
    spec: &OutputSpec,
    f: impl Fn(T) -> U + Sync + Send,
) -> Result<Data> {
    unary_slices(x, spec, |src: &[T], dst: &mut [U]| {
        for (o, &i) in dst.iter_mut().zip(src) {
            *o = f(i);
        }
    })
}

/// Like [`unary`], but the kernel maps whole slices (for hand-vectorised math).
/// `f(src, dst)` must write every element of `dst` from the same index of `src`.
pub(crate) fn unary_slices<T: Element, U: Element>(
    x: &Array,
    spec: &OutputSpec,
    f: impl Fn(&[T], &mut [U]) + Sync + Send,
) -> Result<Data> {
    let n = spec.size();
    if n == 0 {
        return empty(spec);
    }
    let xd = x.ready_data()?;
    if xd.row_contiguous {
        let src_ptr = xd.elements::<T>()[xd.offset..xd.offset + n].as_ptr();
        // Drop our clone of the input's data so that a sole owner can donate its buffer.
        drop(xd);
        let mut buf = output_buffer(spec, &[x])?;
        let out = buffer_elements_mut::<U>(&mut buf);
        if std::ptr::eq(out.as_ptr() as *const u8, src_ptr as *const u8) {
            // Donated: the output overwrites the input in place. Each chunk is read into a
            // small stack buffer first, so no element is read after it was written.
            in_place(out, n, &f);
        } else {
            // SAFETY: not donated, so the input still owns its buffer and keeps it alive; the
            // n elements from its offset were checked in bounds above.
            let src = unsafe { std::slice::from_raw_parts(src_ptr, n) };
            par_zip(src, &mut out[..n], &f);
        }
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let (mut buf, _) = Data::alloc(spec)?;
    let out_ptr = SendPtr(buffer_elements_mut::<U>(&mut buf).as_mut_ptr());
    let src = xd.elements::<T>();
    // Pieces of strided rows, on both cores when large; a strided piece is gathered into a
    // small stack tile first so the kernel still sees slices.
    par_for_each_row(
        &spec.shape,
        [&xd.strides],
        [xd.offset],
        chunks(n),
        |pos, [s], [st], len| {
            // SAFETY: pieces cover disjoint output ranges pos..pos + len inside the buffer.
            let out = unsafe { std::slice::from_raw_parts_mut(out_ptr.get().add(pos), len) };
            if st == 1 {
                f(&src[s as usize..s as usize + len], out);
                return;
            }
            const TILE: usize = 256;
            let mut tmp = [T::default(); TILE];
            for (j, d) in out.chunks_mut(TILE).enumerate() {
                let s0 = s + (j * TILE) as isize * st;
                let t = &mut tmp[..d.len()];
                if st == 0 {
                    t.fill(src[s0 as usize]);
                } else {
                    for (i, v) in t.iter_mut().enumerate() {
                        *v = src[(s0 + i as isize * st) as usize];
                    }
                }
                f(t, d);
            }
        },
    );
    Ok(Data::from_buffer(buf, &spec.shape))
}

fn par_zip<T: Element, U: Element>(src: &[T], dst: &mut [U], f: &(impl Fn(&[T], &mut [U]) + Sync)) {
    let n = dst.len();
    let c = chunks(n);
    if c >= n {
        f(src, dst);
    } else {
        dst.par_chunks_mut(c)
            .zip(src.par_chunks(c))
            .for_each(|(d, s)| f(s, d));
    }
}

fn in_place<T: Element, U: Element>(out: &mut [U], n: usize, f: &(impl Fn(&[T], &mut [U]) + Sync)) {
    const TILE: usize = 512;
    let base = SendPtr(out.as_mut_ptr());
    let c = chunks(n).div_ceil(TILE) * TILE;
    let work = |start: usize| {
        let end = (start + c).min(n);
        let mut tmp = [T::default(); TILE];
        let mut i = start;
        while i < end {
            let m = TILE.min(end - i);
            // SAFETY: this worker owns [start, end); the input elements were read into `tmp`
            // before the same bytes are overwritten, and T and U have the same size.
            unsafe {
                let p = base.get().add(i);
                std::ptr::copy_nonoverlapping(p as *const T, tmp.as_mut_ptr(), m);
                f(&tmp[..m], std::slice::from_raw_parts_mut(p, m));
            }
            i += m;
        }
    };
    if c >= n {
        work(0);
    } else {
        (0..n.div_ceil(c)).into_par_iter().for_each(|k| work(k * c));
    }
}

/// `*o.add(i) = f(i)` for `i` in `start..end`; with `stream`, through non-temporal stores.
///
/// # Safety
/// `o.add(i)` must be valid for writes for every `i` in the range, and `f(i)` must only read
/// what it may (inputs aliasing the output must be read at index `i` only).
#[inline(always)]
unsafe fn store_range<U: Element>(
    o: *mut U,
    start: usize,
    end: usize,
    stream: bool,
    f: impl Fn(usize) -> U,
) {
    #[cfg(target_arch = "x86_64")]
    if stream {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_sfence, _mm_stream_si128};
        const TILE: usize = 256;
        let mut i = start;
        // SAFETY (whole block): every write stays in start..end as the caller guarantees;
        // element sizes (1..=8 bytes) divide 16, so after the head loop every tile start is
        // 16-byte aligned and a tile (TILE elements) is a whole number of 16-byte lanes.
        unsafe {
            while i < end && !(o.add(i) as usize).is_multiple_of(16) {
                *o.add(i) = f(i);
                i += 1;
            }
            let mut tmp = [U::default(); TILE];
            let lanes = TILE * std::mem::size_of::<U>() / 16;
            while i + TILE <= end {
                for (t, v) in tmp.iter_mut().enumerate() {
                    *v = f(i + t);
                }
                let src = tmp.as_ptr() as *const __m128i;
                let dst = o.add(i) as *mut __m128i;
                for k in 0..lanes {
                    _mm_stream_si128(dst.add(k), _mm_loadu_si128(src.add(k)));
                }
                i += TILE;
            }
            while i < end {
                *o.add(i) = f(i);
                i += 1;
            }
            // Order the streaming stores before the worker reports completion.
            _mm_sfence();
        }
        return;
    }
    let _ = stream;
    for i in start..end {
        // SAFETY: as the caller guarantees.
        unsafe { *o.add(i) = f(i) };
    }
}

/// `out[i] = f(a[i], b[i])` for same-shaped (possibly broadcast) inputs.
pub(crate) fn binary<T: Element, U: Element>(
    a: &Array,
    b: &Array,
    spec: &OutputSpec,
    f: impl Fn(T, T) -> U + Sync + Send,
) -> Result<Data> {
    let n = spec.size();
    if n == 0 {
        return empty(spec);
    }
    let ad = a.ready_data()?;
    let bd = b.ready_data()?;
    let a_scalar = ad.strides.iter().all(|&s| s == 0);
    let b_scalar = bd.strides.iter().all(|&s| s == 0);
    if (ad.row_contiguous || a_scalar) && (bd.row_contiguous || b_scalar) {
        let av = &ad.elements::<T>()[ad.offset..ad.offset + if a_scalar { 1 } else { n }];
        let bv = &bd.elements::<T>()[bd.offset..bd.offset + if b_scalar { 1 } else { n }];
        let (ap, bp) = (av.as_ptr() as usize, bv.as_ptr() as usize);
        // Drop our clones of the inputs' data so that a sole owner can donate its buffer; the
        // inputs' buffers stay alive (held by the inputs, or become the output).
        drop((ad, bd));
        let donors: Vec<&Array> = [(a, a_scalar), (b, b_scalar)]
            .into_iter()
            .filter(|(_, s)| !*s)
            .map(|(x, _)| x)
            .collect();
        let mut buf = output_buffer(spec, &donors)?;
        let out_ptr = SendPtr(buffer_elements_mut::<U>(&mut buf).as_mut_ptr());
        let (ap, bp) = (SendPtr(ap as *mut T), SendPtr(bp as *mut T));
        let c = chunks(n);
        let stream = n * std::mem::size_of::<U>() >= super::stream_bytes();
        let work = |start: usize| {
            let end = (start + c).min(n);
            // SAFETY: indices stay below n; a donated output aliases an input exactly
            // (same index), and each element is read before its own slot is written.
            unsafe {
                let o = out_ptr.get();
                match (a_scalar, b_scalar) {
                    (true, true) => {
                        let v = f(*ap.get(), *bp.get());
                        for i in start..end {
                            *o.add(i) = v;
                        }
                    }
                    (true, false) => {
                        let x = *ap.get();
                        store_range(o, start, end, stream, |i| f(x, *bp.get().add(i)));
                    }
                    (false, true) => {
                        let y = *bp.get();
                        store_range(o, start, end, stream, |i| f(*ap.get().add(i), y));
                    }
                    (false, false) => {
                        store_range(o, start, end, stream, |i| {
                            f(*ap.get().add(i), *bp.get().add(i))
                        });
                    }
                }
            }
        };
        if c >= n {
            work(0);
        } else {
            (0..n.div_ceil(c)).into_par_iter().for_each(|k| work(k * c));
        }
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let (mut buf, _) = Data::alloc(spec)?;
    let out_ptr = SendPtr(buffer_elements_mut::<U>(&mut buf).as_mut_ptr());
    let (av, bv) = (ad.elements::<T>(), bd.elements::<T>());
    // Pieces of rows, on both cores when large. The common inner layouts (both contiguous,
    // or one of them broadcast along the row, as `x + bias` over the last axis) get loops
    // over slices, which the compiler vectorises.
    par_for_each_row(
        &spec.shape,
        [&ad.strides, &bd.strides],
        [ad.offset, bd.offset],
        chunks(n),
        |pos, [sa, sb], [ta, tb], len| {
            // SAFETY: pieces cover disjoint output ranges pos..pos + len inside the buffer.
            let row = unsafe { std::slice::from_raw_parts_mut(out_ptr.get().add(pos), len) };
            let (sa, sb) = (sa as usize, sb as usize);
            match (ta, tb) {
                (1, 1) => {
                    let (x, y) = (&av[sa..sa + len], &bv[sb..sb + len]);
                    for ((o, &x), &y) in row.iter_mut().zip(x).zip(y) {
                        *o = f(x, y);
                    }
                }
                (1, 0) => {
                    let y = bv[sb];
                    for (o, &x) in row.iter_mut().zip(&av[sa..sa + len]) {
                        *o = f(x, y);
                    }
                }
                (0, 1) => {
                    let x = av[sa];
                    for (o, &y) in row.iter_mut().zip(&bv[sb..sb + len]) {
                        *o = f(x, y);
                    }
                }
                _ => {
                    for (i, o) in row.iter_mut().enumerate() {
                        let i = i as isize;
                        *o = f(
                            av[(sa as isize + i * ta) as usize],
                            bv[(sb as isize + i * tb) as usize],
                        );
                    }
                }
            }
        },
    );
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// `out[i] = f(a[i], b[i], c[i])` over any layouts (for `where`, `clip`).
pub(crate) fn ternary<A: Element, B: Element, C: Element, U: Element>(
    a: &Array,
    b: &Array,
    c: &Array,
    spec: &OutputSpec,
    f: impl Fn(A, B, C) -> U,
) -> Result<Data> {
    let (ad, bd, cd) = (a.ready_data()?, b.ready_data()?, c.ready_data()?);
    let (mut buf, _) = Data::alloc(spec)?;
    let out = buffer_elements_mut::<U>(&mut buf);
    let (av, bv, cv) = (ad.elements::<A>(), bd.elements::<B>(), cd.elements::<C>());
    let mut pos = 0usize;
    for_each_row(
        &spec.shape,
        [&ad.strides, &bd.strides, &cd.strides],
        [ad.offset, bd.offset, cd.offset],
        |[sa, sb, sc], [ta, tb, tc], len| {
            for (i, o) in out[pos..pos + len].iter_mut().enumerate() {
                let i = i as isize;
                *o = f(
                    av[(sa + i * ta) as usize],
                    bv[(sb + i * tb) as usize],
                    cv[(sc + i * tc) as usize],
                );
            }
            pos += len;
        },
    );
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// Copies any layout of `x` into a new row-major buffer (the `contiguous` kernel).
pub(crate) fn copy<T: Element>(x: &Array, spec: &OutputSpec) -> Result<Data> {
    unary_slices(x, spec, |s: &[T], d: &mut [T]| d.copy_from_slice(s))
}
