//! Elementwise drivers: every unary, binary and ternary kernel is a closure handed to these.
//!
//! Inputs of binary and ternary kernels already have the output's shape (the op broadcast
//! them as zero-stride views), so the drivers only deal with layouts, never with shapes.

use super::PARALLEL_THRESHOLD;
use crate::allocator::Buffer;
use crate::array::{Array, Data, buffer_elements_mut};
use crate::element::Element;
use crate::error::Result;
use crate::layout::par_for_each_row;
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

/// Elements per tile of the contiguous binary and ternary loops.
const TILE: usize = 512;

/// A contiguous operand of a binary or ternary kernel.
#[derive(Copy, Clone)]
enum Flat<T> {
    /// Elements from this pointer on; `true` when the output is being written over them (a
    /// donated buffer).
    Dense(*const T, bool),
    /// One value everywhere (a broadcast scalar).
    Scalar(T),
}

// SAFETY: the pointer is only read, at indices of the range a worker owns (see `tile`).
unsafe impl<T: Send> Send for Flat<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Flat<T> {}

impl<T: Element> Flat<T> {
    /// The operand of `d` (a dense view of `n` elements or a broadcast scalar), or `None` for
    /// other layouts. The pointer stays valid while the array holds its buffer (or after the
    /// buffer was donated to the output: see `written_by`).
    fn of(d: &Data, n: usize) -> Option<Flat<T>> {
        if d.strides.iter().all(|&s| s == 0) {
            return Some(Flat::Scalar(d.elements::<T>()[d.offset]));
        }
        if !d.row_contiguous {
            return None;
        }
        Some(Flat::Dense(
            d.elements::<T>()[d.offset..d.offset + n].as_ptr(),
            false,
        ))
    }

    /// The operand marked as read from the output's buffer when it is that buffer (donated).
    fn written_by<U>(self, out: *const U) -> Flat<T> {
        match self {
            Flat::Dense(p, _) => Flat::Dense(p, std::ptr::eq(p as *const u8, out as *const u8)),
            scalar => scalar,
        }
    }

    /// Fills `tmp` with a scalar operand's value, once per worker.
    fn prepare(self, tmp: &mut [T; TILE]) {
        if let Flat::Scalar(v) = self {
            tmp.fill(v);
        }
    }

    /// Elements `i..i + len` (`len <= TILE`): a slice of the input, or of `tmp` when the
    /// value is a scalar (see `prepare`) or the output is about to overwrite these elements.
    ///
    /// # Safety
    /// `i + len` must not pass the operand's elements, and the output may write over these
    /// elements only after this call.
    unsafe fn tile(self, i: usize, len: usize, tmp: &mut [T; TILE]) -> &[T] {
        match self {
            // SAFETY: in bounds as the caller guarantees; nobody writes these elements while
            // the slice lives (the output is another buffer).
            Flat::Dense(p, false) => unsafe { std::slice::from_raw_parts(p.add(i), len) },
            Flat::Dense(p, true) => {
                // SAFETY: as above; the copy is taken before the output overwrites them.
                unsafe { std::ptr::copy_nonoverlapping(p.add(i), tmp.as_mut_ptr(), len) };
                &tmp[..len]
            }
            Flat::Scalar(_) => &tmp[..len],
        }
    }
}

/// Runs `tile(scratch, i, dst)` over `0..n` in tiles, on both cores when `n` is large: `dst`
/// is where the outputs `i..i + dst.len()` go, written with non-temporal stores afterwards
/// when the output is large (see [`super::stream_bytes`]); `scratch` comes from `init`, once
/// per worker.
fn for_each_tile<U: Element, S>(
    out: SendPtr<U>,
    n: usize,
    init: impl Fn() -> S + Sync + Send,
    tile: impl Fn(&mut S, usize, &mut [U]) + Sync + Send,
) {
    let c = chunks(n);
    let stream = n * std::mem::size_of::<U>() >= super::stream_bytes();
    let work = |start: usize| {
        let end = (start + c).min(n);
        let mut staged = [U::default(); TILE];
        let mut scratch = init();
        let mut i = start;
        while i < end {
            let len = TILE.min(end - i);
            if stream {
                tile(&mut scratch, i, &mut staged[..len]);
                // SAFETY: this worker owns outputs start..end.
                unsafe { stream_store(out.get().add(i), &staged[..len]) };
            } else {
                // SAFETY: as above; no input slice aliases these elements (a donated input
                // is read through a copy, see `Flat::tile`).
                let dst = unsafe { std::slice::from_raw_parts_mut(out.get().add(i), len) };
                tile(&mut scratch, i, dst);
            }
            i += len;
        }
        #[cfg(target_arch = "x86_64")]
        if stream {
            // Order the streaming stores before the worker reports completion.
            // SAFETY: a store fence has no preconditions.
            unsafe { std::arch::x86_64::_mm_sfence() };
        }
    };
    if c >= n {
        work(0);
    } else {
        (0..n.div_ceil(c)).into_par_iter().for_each(|k| work(k * c));
    }
}

/// Copies `src` to `dst` with non-temporal stores where 16-byte aligned (x86-64).
///
/// # Safety
/// `dst` must be valid for `src.len()` writes.
unsafe fn stream_store<U: Element>(dst: *mut U, src: &[U]) {
    let n = src.len();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: every write stays in dst..dst + n; element sizes (1..=16 bytes) divide 16, so
    // after the head every 16-byte lane holds whole elements.
    unsafe {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
        let size = std::mem::size_of::<U>();
        let mut i = 0;
        while i < n && !(dst.add(i) as usize).is_multiple_of(16) {
            *dst.add(i) = src[i];
            i += 1;
        }
        let per = 16 / size.clamp(1, 16);
        while i + per <= n {
            let v = _mm_loadu_si128(src.as_ptr().add(i) as *const __m128i);
            _mm_stream_si128(dst.add(i) as *mut __m128i, v);
            i += per;
        }
        while i < n {
            *dst.add(i) = src[i];
            i += 1;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: as the caller guarantees.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), dst, n)
    };
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
    if let (Some(x), Some(y)) = (Flat::<T>::of(&ad, n), Flat::<T>::of(&bd, n)) {
        // Drop our clones of the inputs' data so that a sole owner can donate its buffer; the
        // inputs' buffers stay alive (held by the inputs, or become the output).
        drop((ad, bd));
        let donors: Vec<&Array> = [(a, x), (b, y)]
            .into_iter()
            .filter(|(_, f)| matches!(f, Flat::Dense(..)))
            .map(|(a, _)| a)
            .collect();
        let mut buf = output_buffer(spec, &donors)?;
        let out = buffer_elements_mut::<U>(&mut buf).as_mut_ptr();
        let (x, y) = (x.written_by(out), y.written_by(out));
        let init = || {
            let (mut tx, mut ty) = ([T::default(); TILE], [T::default(); TILE]);
            x.prepare(&mut tx);
            y.prepare(&mut ty);
            (tx, ty)
        };
        for_each_tile(SendPtr(out), n, init, |(tx, ty), i, dst| {
            let len = dst.len();
            // SAFETY: i + len <= n, and `for_each_tile` writes the tile after this read.
            let (xs, ys) = unsafe { (x.tile(i, len, tx), y.tile(i, len, ty)) };
            for ((d, &x), &y) in dst.iter_mut().zip(xs).zip(ys) {
                *d = f(x, y);
            }
        });
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
    f: impl Fn(A, B, C) -> U + Sync + Send,
) -> Result<Data> {
    let n = spec.size();
    if n == 0 {
        return empty(spec);
    }
    let (ad, bd, cd) = (a.ready_data()?, b.ready_data()?, c.ready_data()?);
    let (mut buf, _) = Data::alloc(spec)?;
    let out = SendPtr(buffer_elements_mut::<U>(&mut buf).as_mut_ptr());
    let flats = (
        Flat::<A>::of(&ad, n),
        Flat::<B>::of(&bd, n),
        Flat::<C>::of(&cd, n),
    );
    if let (Some(x), Some(y), Some(z)) = flats {
        // Dense or scalar operands (the output is a fresh buffer, so nothing aliases it).
        let init = || {
            let mut t = (
                [A::default(); TILE],
                [B::default(); TILE],
                [C::default(); TILE],
            );
            x.prepare(&mut t.0);
            y.prepare(&mut t.1);
            z.prepare(&mut t.2);
            t
        };
        for_each_tile(out, n, init, |(tx, ty, tz), i, dst| {
            let len = dst.len();
            // SAFETY: i + len <= n, the size of every dense operand.
            let (xs, ys, zs) =
                unsafe { (x.tile(i, len, tx), y.tile(i, len, ty), z.tile(i, len, tz)) };
            for (((d, &x), &y), &z) in dst.iter_mut().zip(xs).zip(ys).zip(zs) {
                *d = f(x, y, z);
            }
        });
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let (av, bv, cv) = (ad.elements::<A>(), bd.elements::<B>(), cd.elements::<C>());
    par_for_each_row(
        &spec.shape,
        [&ad.strides, &bd.strides, &cd.strides],
        [ad.offset, bd.offset, cd.offset],
        chunks(n),
        |pos, [sa, sb, sc], [ta, tb, tc], len| {
            // SAFETY: pieces cover disjoint output ranges pos..pos + len inside the buffer.
            let row = unsafe { std::slice::from_raw_parts_mut(out.get().add(pos), len) };
            for (i, o) in row.iter_mut().enumerate() {
                let i = i as isize;
                *o = f(
                    av[(sa + i * ta) as usize],
                    bv[(sb + i * tb) as usize],
                    cv[(sc + i * tc) as usize],
                );
            }
        },
    );
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// Copies any layout of `x` into a new row-major buffer (the `contiguous` kernel).
pub(crate) fn copy<T: Element>(x: &Array, spec: &OutputSpec) -> Result<Data> {
    unary_slices(x, spec, |s: &[T], d: &mut [T]| d.copy_from_slice(s))
}

#[cfg(test)]
mod tests {
    use crate::{self as mx, Array};

    fn ramp(n: usize, scale: f32) -> Array {
        let v: Vec<f32> = (0..n).map(|i| (i % 97) as f32 * scale - 3.0).collect();
        Array::from_slice(&v, &[n]).unwrap()
    }

    #[test]
    fn binary_tiles_cover_ragged_chunks_scalars_and_donated_inputs() {
        // 200,003 elements: several workers, ragged chunk and tile ends.
        let n = 200_003;
        let (a, b) = (ramp(n, 0.5), ramp(n, -0.25));
        let (av, bv) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        // `a + 1` is an intermediate nobody else holds: the product writes over it.
        let donated = mx::multiply(&mx::add(&a, &Array::scalar(1.0f32)).unwrap(), &b).unwrap();
        let got = donated.to_vec::<f32>().unwrap();
        for i in 0..n {
            assert_eq!(got[i], (av[i] + 1.0) * bv[i], "element {i}");
        }
        // The same intermediate on both sides: both operands are the output's buffer.
        let t = mx::add(&a, &Array::scalar(1.0f32)).unwrap();
        let sq = mx::multiply(&t, &t).unwrap();
        drop(t);
        let got = sq.to_vec::<f32>().unwrap();
        for i in 0..n {
            assert_eq!(got[i], (av[i] + 1.0) * (av[i] + 1.0), "element {i}");
        }
        let cmp = mx::greater(&Array::scalar(2.0f32), &a)
            .unwrap()
            .to_vec::<bool>()
            .unwrap();
        for i in 0..n {
            assert_eq!(cmp[i], 2.0 > av[i], "element {i}");
        }
    }

    #[test]
    fn streamed_outputs_are_written_whole() {
        // Above the largest streaming threshold (32 MB of float32), with an odd length.
        let n = (32 << 20) / 4 + 5;
        let a = ramp(n, 1.0);
        let got = mx::maximum(&a, &Array::scalar(0.0f32))
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        let av = a.to_vec::<f32>().unwrap();
        assert!(got.iter().zip(&av).all(|(&g, &x)| g == x.max(0.0)));
    }

    #[test]
    fn select_takes_dense_scalar_and_strided_operands() {
        let n = 100_001;
        let a = ramp(n, 1.0);
        let mask = mx::greater(&a, &Array::scalar(0.0f32)).unwrap();
        let g = ramp(n, -2.0);
        let zero = Array::scalar(0.0f32);
        let (av, gv) = (a.to_vec::<f32>().unwrap(), g.to_vec::<f32>().unwrap());
        let got = mx::r#where(&mask, &g, &zero)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        for i in 0..n {
            assert_eq!(got[i], if av[i] > 0.0 { gv[i] } else { 0.0 }, "element {i}");
        }
        // A transposed operand takes the strided path.
        let m = Array::from_slice(&[true, false, false, true, true, false], &[2, 3]).unwrap();
        let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2])
            .unwrap()
            .T();
        let got = mx::r#where(&m, &x, &Array::scalar(-1.0f32)).unwrap();
        assert_eq!(
            got.to_vec::<f32>().unwrap(),
            vec![1.0, -1.0, -1.0, 2.0, 4.0, -1.0]
        );
    }
}
