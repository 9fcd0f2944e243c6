//! Convolution on the CPU: im2col tiles fed to faer's GEMM.
//!
//! The output is a `(rows, C_out)` matrix with one row per output position
//! (`N * prod(out_spatial)`). Rows are processed in tiles, in parallel: each tile gathers its
//! patches (`rows x (taps * C_in)`, zeros where the window falls on padding or between the
//! elements of a dilated input) and multiplies them, group by group, with the packed weight
//! (`(taps * C_in / groups) x (C_out / groups)` per group, flipped when asked). Every stride,
//! padding, dilation and flip is folded into one lookup table per spatial axis, so the same
//! gather serves all of them and views are read in place. float16 and bfloat16 gather into
//! float32, multiply there and round once.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::gemm::seq_matmul;
use crate::dtype::Dtype;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::primitive::OutputSpec;
use crate::primitives::conv::Convolution;
use faer::{Accum, MatMut, MatRef};
use half::{bf16, f16};
use rayon::prelude::*;

/// Elements of the patch tile one task gathers (about 512 KB of f32: it stays in L2).
const TILE_ELEMS: usize = 1 << 17;

/// A pointer that crosses into rayon's workers; users touch disjoint regions.
#[derive(Copy, Clone)]
struct SendPtr<T>(*mut T);
// SAFETY: each tile writes only its own rows of the output.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *mut T {
        self.0
    }
}

/// A float element type and the type it accumulates in.
trait ConvFloat: Element {
    type Acc: Element
        + faer::traits::ComplexField
        + std::ops::AddAssign
        + std::ops::Mul<Output = Self::Acc>;
    /// Whether `Acc` is `Self`: the GEMMs then write the output in place.
    const DIRECT: bool;
    fn widen(self) -> Self::Acc;
    fn narrow(a: Self::Acc) -> Self;
}

impl ConvFloat for f32 {
    type Acc = f32;
    const DIRECT: bool = true;
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
    #[inline(always)]
    fn narrow(a: f32) -> f32 {
        a
    }
}
impl ConvFloat for f64 {
    type Acc = f64;
    const DIRECT: bool = true;
    #[inline(always)]
    fn widen(self) -> f64 {
        self
    }
    #[inline(always)]
    fn narrow(a: f64) -> f64 {
        a
    }
}
impl ConvFloat for f16 {
    type Acc = f32;
    const DIRECT: bool = false;
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn narrow(a: f32) -> f16 {
        f16::from_f32(a)
    }
}
impl ConvFloat for bf16 {
    type Acc = f32;
    const DIRECT: bool = false;
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn narrow(a: f32) -> bf16 {
        bf16::from_f32(a)
    }
}

/// The convolution `p` of `input` by `weight` (both in the output dtype).
pub(crate) fn conv(
    input: &Array,
    weight: &Array,
    p: &Convolution,
    spec: &OutputSpec,
) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    if spec.size() > 0 {
        let out = &mut buf;
        match spec.dtype {
            Dtype::Float32 => run::<f32>(input, weight, p, spec, buffer_elements_mut(out))?,
            Dtype::Float64 => run::<f64>(input, weight, p, spec, buffer_elements_mut(out))?,
            Dtype::Float16 => run::<f16>(input, weight, p, spec, buffer_elements_mut(out))?,
            Dtype::Bfloat16 => run::<bf16>(input, weight, p, spec, buffer_elements_mut(out))?,
            d => {
                return Err(Error::value(format!(
                    "[conv] Convolution currently only supports floating point types, got {d}."
                )));
            }
        }
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// Marks a window position that reads zero (padding, or a hole of the dilated input).
const NONE: isize = isize::MIN;

/// Shapes of one convolution, with the spatial axes padded to three (leading size-1 axes).
struct Geometry {
    n: usize,
    out: [usize; 3],
    k: [usize; 3],
    c_in: usize,
    c_out: usize,
    groups: usize,
    /// Input channels per group.
    cg: usize,
    /// Output channels per group.
    og: usize,
    /// Kernel taps (`prod(k)`).
    taps: usize,
}

impl Geometry {
    fn new(input: &[usize], weight: &[usize], out: &[usize], groups: usize) -> Geometry {
        let sd = input.len() - 2;
        let pad = |s: &[usize]| {
            let mut v = [1usize; 3];
            v[3 - sd..].copy_from_slice(s);
            v
        };
        let k = pad(&weight[1..=sd]);
        let c_in = input[sd + 1];
        let c_out = weight[0];
        Geometry {
            n: input[0],
            out: pad(&out[1..=sd]),
            k,
            c_in,
            c_out,
            groups,
            cg: c_in / groups,
            og: c_out / groups,
            taps: k.iter().product(),
        }
    }
}

/// Per spatial axis (padded to three), for each (output position, tap): the input element
/// offset along that axis (`index * stride`), or [`NONE`].
fn tables(p: &Convolution, g: &Geometry, in_sp: &[usize], in_strides: &[isize]) -> [Vec<isize>; 3] {
    let sd = in_sp.len();
    let mut t: [Vec<isize>; 3] = [vec![0], vec![0], vec![0]];
    for a in 0..sd {
        let ax = 3 - sd + a;
        let (o_n, k_n) = (g.out[ax], g.k[ax]);
        let (s, kd, id) = (
            p.stride[a] as i64,
            p.kernel_dilation[a] as i64,
            p.input_dilation[a] as i64,
        );
        let lo = p.padding_lo[a] as i64;
        let mut v = Vec::with_capacity(o_n * k_n);
        for o in 0..o_n as i64 {
            for k in 0..k_n as i64 {
                let pos = o * s + k * kd - lo;
                let entry = if pos < 0 || pos % id != 0 || pos / id >= in_sp[a] as i64 {
                    NONE
                } else {
                    (pos / id) as isize * in_strides[a]
                };
                v.push(entry);
            }
        }
        t[ax] = v;
    }
    t
}

/// The weight as `groups` row-major `(taps * cg) x og` matrices of the accumulator type,
/// kernel axes reversed when `flip`.
fn pack_weight<T: ConvFloat>(weight: &Array, g: &Geometry, flip: bool) -> Result<Vec<T::Acc>> {
    let wd = weight.ready_data()?;
    let src = wd.elements::<T>();
    let nd = weight.ndim();
    let sd = nd - 2;
    let ws = &wd.strides;
    // Strides of the padded kernel axes (size-1 axes never move).
    let mut ks = [0isize; 3];
    for a in 0..sd {
        ks[3 - sd + a] = ws[1 + a];
    }
    let cs = ws[nd - 1];
    let kcg = g.taps * g.cg;
    let mut out = vec![T::Acc::default(); g.groups * kcg * g.og];
    for grp in 0..g.groups {
        for o in 0..g.og {
            let base = wd.offset as isize + (grp * g.og + o) as isize * ws[0];
            let mut tap = 0;
            for k0 in 0..g.k[0] {
                for k1 in 0..g.k[1] {
                    for k2 in 0..g.k[2] {
                        let kk = if flip {
                            [g.k[0] - 1 - k0, g.k[1] - 1 - k1, g.k[2] - 1 - k2]
                        } else {
                            [k0, k1, k2]
                        };
                        let off = base
                            + kk[0] as isize * ks[0]
                            + kk[1] as isize * ks[1]
                            + kk[2] as isize * ks[2];
                        for c in 0..g.cg {
                            let v = src[(off + c as isize * cs) as usize];
                            out[grp * kcg * g.og + (tap * g.cg + c) * g.og + o] = v.widen();
                        }
                        tap += 1;
                    }
                }
            }
        }
    }
    Ok(out)
}

fn run<T: ConvFloat>(
    input: &Array,
    weight: &Array,
    p: &Convolution,
    spec: &OutputSpec,
    out: &mut [T],
) -> Result<()> {
    let g = Geometry::new(input.shape(), weight.shape(), &spec.shape, p.groups);
    let rows = g.n * g.out.iter().product::<usize>();
    let kc = g.taps * g.c_in;
    if kc == 0 {
        // No input channels or an empty kernel: every sum is empty.
        out.fill(T::narrow(T::Acc::default()));
        return Ok(());
    }
    let ad = input.ready_data()?;
    let sd = input.ndim() - 2;
    // A reduction longer than the output (a weight gradient: the input is a transposed view
    // whose batch axis is the forward's channels, with stride 1): multiply position-major.
    if T::DIRECT
        && g.groups == 1
        && !p.flip
        && p.input_dilation.iter().all(|&d| d == 1)
        && ad.strides[0] == 1
        && ad.strides[sd + 1] != 1
        && kc > rows
    {
        return run_transposed::<T>(input, weight, p, &g, out);
    }
    let src = ad.elements::<T>();
    let in_sp = &input.shape()[1..=sd];
    let tabs = tables(p, &g, in_sp, &ad.strides[1..=sd]);
    let wpack = pack_weight::<T>(weight, &g, p.flip)?;
    let (sn, sc) = (ad.strides[0], ad.strides[sd + 1]);
    let base0 = ad.offset as isize;
    // A 1x1 kernel over the unpadded, undilated, unstrided input of one group: the patches
    // are the input rows themselves.
    let identity = T::DIRECT
        && g.taps == 1
        && g.groups == 1
        && ad.row_contiguous
        && (0..sd).all(|a| p.stride[a] == 1 && p.padding_lo[a] == 0 && p.padding_hi[a] == 0)
        && p.input_dilation.iter().all(|&d| d == 1);
    // One group, channels contiguous, the last spatial axis neither dilated (kernel or input)
    // nor gapped: consecutive taps of that axis read consecutive input elements.
    let runs = g.groups == 1
        && sc == 1
        && p.kernel_dilation[sd - 1] == 1
        && p.input_dilation[sd - 1] == 1
        && ad.strides[sd] == g.c_in as isize;
    // Few output channels per group (depthwise): plain dot products beat tiny GEMMs.
    let direct_dots = g.groups > 1 && g.og <= 4;

    let threads = rayon::current_num_threads().max(1);
    let mut rt = (TILE_ELEMS / kc).clamp(16, 256);
    rt = rt.min(rows.div_ceil(4 * threads).max(16)).min(rows);
    let ntiles = rows.div_ceil(rt);
    let out_ptr = SendPtr(out.as_mut_ptr());
    let src_ptr = SendPtr(src.as_ptr() as *mut T);
    let kcg = g.taps * g.cg;
    let one = T::Acc::from_f64(1.0);

    let work = |(patches, acc): &mut (Vec<T::Acc>, Vec<T::Acc>), t: usize| {
        let r0 = t * rt;
        let r1 = (r0 + rt).min(rows);
        let m = r1 - r0;
        // The patch matrix: its rows, row stride and a pointer to element (0, 0).
        let (pp, prs): (*const T::Acc, usize) = if identity {
            // SAFETY: T == T::Acc (DIRECT) and the input is row-major: row r of the
            // (rows x c_in) matrix starts at offset + r * c_in, inside the buffer.
            let ptr = unsafe { (src_ptr.get() as *const T::Acc).add(ad.offset + r0 * g.c_in) };
            (ptr, g.c_in)
        } else {
            gather::<T>(
                src,
                &g,
                &tabs,
                base0,
                sn,
                sc,
                r0,
                r1,
                kc,
                kcg,
                runs,
                &mut patches[..m * kc],
            );
            (patches.as_ptr(), kc)
        };
        // Where this tile's outputs go: in place, or an f32 block rounded afterwards.
        let (dp, drs): (*mut T::Acc, usize) = if T::DIRECT {
            // SAFETY: T == T::Acc; rows r0..r1 of the (rows x c_out) output are this tile's.
            (
                unsafe { (out_ptr.get() as *mut T::Acc).add(r0 * g.c_out) },
                g.c_out,
            )
        } else {
            (acc.as_mut_ptr(), g.c_out)
        };
        if direct_dots {
            for r in 0..m {
                for grp in 0..g.groups {
                    for o in 0..g.og {
                        let mut s = T::Acc::default();
                        let w = &wpack[grp * kcg * g.og..];
                        for j in 0..kcg {
                            // SAFETY: (r, grp * kcg + j) is inside the m x kc patch block.
                            let x = unsafe { *pp.add(r * prs + grp * kcg + j) };
                            s += x * w[j * g.og + o];
                        }
                        // SAFETY: (r, grp * og + o) is inside this tile's output rows.
                        unsafe { *dp.add(r * drs + grp * g.og + o) = s };
                    }
                }
            }
        } else {
            for grp in 0..g.groups {
                // SAFETY: the views lie inside the patch block (m x kc, or the input rows),
                // the packed weight (groups x kcg x og) and this tile's output rows.
                let (lhs, rhs, dst) = unsafe {
                    (
                        MatRef::from_raw_parts(pp.add(grp * kcg), m, kcg, prs as isize, 1),
                        MatRef::from_raw_parts(
                            wpack.as_ptr().add(grp * kcg * g.og),
                            kcg,
                            g.og,
                            g.og as isize,
                            1,
                        ),
                        MatMut::from_raw_parts_mut(dp.add(grp * g.og), m, g.og, drs as isize, 1),
                    )
                };
                seq_matmul(dst, Accum::Replace, lhs, rhs, one);
            }
        }
        if !T::DIRECT {
            // SAFETY: rows r0..r1 of the output belong to this tile.
            let block = unsafe {
                std::slice::from_raw_parts_mut(out_ptr.get().add(r0 * g.c_out), m * g.c_out)
            };
            for (o, &a) in block.iter_mut().zip(&acc[..m * g.c_out]) {
                *o = T::narrow(a);
            }
        }
    };
    let init = || {
        let pl = if identity { 0 } else { rt * kc };
        let al = if T::DIRECT { 0 } else { rt * g.c_out };
        (vec![T::Acc::default(); pl], vec![T::Acc::default(); al])
    };
    if ntiles > 1 {
        (0..ntiles).into_par_iter().for_each_init(init, work);
    } else {
        let mut bufs = init();
        (0..ntiles).for_each(|t| work(&mut bufs, t));
    }
    Ok(())
}

/// The convolution `O[b, os, co] = sum_(ks, c) X[b, os * stride + ks * dil - lo, c] K[co, ks, c]`
/// computed position-major: the positions `p = (c, ks)` are the rows of a patch matrix
/// `P[p, (os, b)]` (the roles of output positions and kernel taps swapped, so `gather` builds
/// it from runs along `b`) and `O[(os, b), co] = sum_p P[p, (os, b)] K[p, co]` is one long
/// reduction, split over the workers (each keeps its own sum) and tiled so that a tile of `P`
/// stays in cache. A weight gradient (few outputs, a reduction over the whole batch) takes
/// this path; only float32 and float64 (no flip, one group, no input dilation) reach it.
fn run_transposed<T: ConvFloat>(
    input: &Array,
    weight: &Array,
    p: &Convolution,
    g: &Geometry,
    out: &mut [T],
) -> Result<()> {
    let ad = input.ready_data()?;
    let wd = weight.ready_data()?;
    let src = ad.elements::<T>();
    let wsrc = wd.elements::<T::Acc>();
    let sd = input.ndim() - 2;
    let in_sp = &input.shape()[1..=sd];
    // Positions (c, ks...) play the forward's (batch, output position); taps are the output
    // positions os; channels are the input's batch b.
    let swapped = Convolution {
        stride: p.kernel_dilation.clone(),
        kernel_dilation: p.stride.clone(),
        padding_lo: p.padding_lo.clone(),
        padding_hi: p.padding_hi.clone(),
        input_dilation: p.input_dilation.clone(),
        groups: 1,
        flip: false,
    };
    let gs = Geometry {
        n: g.c_in,
        out: g.k,
        k: g.out,
        c_in: g.n,
        c_out: g.c_out,
        groups: 1,
        cg: g.n,
        og: g.c_out,
        taps: g.out.iter().product(),
    };
    let tabs = tables(&swapped, &gs, in_sp, &ad.strides[1..=sd]);
    let (sn, sc) = (ad.strides[sd + 1], ad.strides[0]);
    let runs =
        sc == 1 && swapped.kernel_dilation[sd - 1] == 1 && ad.strides[sd] == gs.c_in as isize;
    // P's columns (os, b) and the output's channels.
    let (m, co) = (gs.taps * gs.c_in, g.c_out);
    let positions = gs.n * gs.out.iter().product::<usize>();
    // K[co, ks, c] as a (positions x co) matrix: position p = (c, ks) at p * ps when the
    // kernel's strides chain (c outermost), else rows gathered per tile.
    let nd = weight.ndim();
    let ws = &wd.strides;
    let mut ks = [0isize; 3];
    for a in 0..sd {
        ks[3 - sd + a] = ws[1 + a];
    }
    // From the innermost: (extent, stride) of the position axes.
    let axes = [
        (gs.out[2], ks[2]),
        (gs.out[1], ks[1]),
        (gs.out[0], ks[0]),
        (gs.n, ws[nd - 1]),
    ];
    let ps = axes.iter().find(|a| a.0 > 1).map_or(1, |a| a.1);
    let chained = axes
        .iter()
        .try_fold(ps, |want, &(len, stride)| {
            (len == 1 || stride == want).then_some(want * len as isize)
        })
        .is_some();
    let wcs = ws[0];
    let w0 = wd.offset as isize;
    let rt = (TILE_ELEMS / m.max(co)).clamp(16, 512).min(positions);
    let ntiles = positions.div_ceil(rt);
    let threads = rayon::current_num_threads().max(1);
    let zero = T::Acc::default();
    let one = T::Acc::from_f64(1.0);
    let accs: Vec<Vec<T::Acc>> = (0..ntiles)
        .into_par_iter()
        .with_min_len((ntiles / (4 * threads)).max(1))
        .fold(
            || (vec![zero; rt * m], Vec::new(), vec![zero; m * co]),
            |(mut patches, mut kbuf, mut acc), t| {
                let r0 = t * rt;
                let r1 = (r0 + rt).min(positions);
                let n = r1 - r0;
                gather::<T>(
                    src,
                    &gs,
                    &tabs,
                    ad.offset as isize,
                    sn,
                    sc,
                    r0,
                    r1,
                    m,
                    m,
                    runs,
                    &mut patches[..n * m],
                );
                let (kp, krs, kcs): (*const T::Acc, isize, isize) = if chained {
                    // SAFETY: rows r0..r1 of the chained (positions x co) view lie in the
                    // kernel's buffer.
                    (
                        unsafe { wsrc.as_ptr().offset(w0 + r0 as isize * ps) },
                        ps,
                        wcs,
                    )
                } else {
                    kbuf.resize(n * co, zero);
                    let [o0n, o1n, o2n] = gs.out;
                    for (i, row) in kbuf.chunks_exact_mut(co).enumerate() {
                        let q = r0 + i;
                        let (k2, k1, k0, c) = (
                            q % o2n,
                            (q / o2n) % o1n,
                            (q / (o2n * o1n)) % o0n,
                            q / (o2n * o1n * o0n),
                        );
                        let b = w0
                            + c as isize * ws[nd - 1]
                            + k0 as isize * ks[0]
                            + k1 as isize * ks[1]
                            + k2 as isize * ks[2];
                        for (j, v) in row.iter_mut().enumerate() {
                            *v = wsrc[(b + j as isize * wcs) as usize];
                        }
                    }
                    (kbuf.as_ptr(), co as isize, 1)
                };
                // SAFETY: the views lie inside the patch tile (n x m, read transposed), the
                // kernel rows of this tile and the accumulator (m x co).
                let (lhs, rhs, dst) = unsafe {
                    (
                        MatRef::from_raw_parts(patches.as_ptr(), m, n, 1, m as isize),
                        MatRef::from_raw_parts(kp, n, co, krs, kcs),
                        MatMut::from_raw_parts_mut(acc.as_mut_ptr(), m, co, co as isize, 1),
                    )
                };
                seq_matmul(dst, Accum::Add, lhs, rhs, one);
                (patches, kbuf, acc)
            },
        )
        .map(|(_, _, acc)| acc)
        .collect();
    // O[(b, os), co] from the sums' rows (os, b).
    let (taps, nb) = (gs.taps, gs.c_in);
    let outs = out.par_chunks_mut(taps * co);
    outs.enumerate().for_each(|(b, ob)| {
        for (os, o) in ob.chunks_exact_mut(co).enumerate() {
            let r = (os * nb + b) * co;
            for (j, v) in o.iter_mut().enumerate() {
                let mut s = zero;
                for a in &accs {
                    s += a[r + j];
                }
                *v = T::narrow(s);
            }
        }
    });
    Ok(())
}

/// Gathers the patches of output rows `r0..r1` into `dst` (`(r1 - r0) x kc`, each row laid
/// out group-major: `[group][tap][channel of the group]`).
#[allow(clippy::too_many_arguments)]
fn gather<T: ConvFloat>(
    src: &[T],
    g: &Geometry,
    tabs: &[Vec<isize>; 3],
    base0: isize,
    sn: isize,
    sc: isize,
    r0: usize,
    r1: usize,
    kc: usize,
    kcg: usize,
    runs: bool,
    dst: &mut [T::Acc],
) {
    let [o0n, o1n, o2n] = g.out;
    let [k0n, k1n, k2n] = g.k;
    let zero = T::Acc::default();
    // The output position of row r0; later rows step it like an odometer (no divisions).
    let (mut o2, mut o1, mut o0) = (r0 % o2n, (r0 / o2n) % o1n, (r0 / (o2n * o1n)) % o0n);
    let mut n = r0 / (o2n * o1n * o0n);
    for (i, row) in dst.chunks_exact_mut(kc).take(r1 - r0).enumerate() {
        if i > 0 {
            o2 += 1;
            if o2 == o2n {
                o2 = 0;
                o1 += 1;
                if o1 == o1n {
                    o1 = 0;
                    o0 += 1;
                    if o0 == o0n {
                        o0 = 0;
                        n += 1;
                    }
                }
            }
        }
        let base = base0 + n as isize * sn;
        let (t0, t1, t2) = (
            &tabs[0][o0 * k0n..(o0 + 1) * k0n],
            &tabs[1][o1 * k1n..(o1 + 1) * k1n],
            &tabs[2][o2 * k2n..(o2 + 1) * k2n],
        );
        let mut tap = 0;
        for &a in t0 {
            for &b in t1 {
                if runs && a != NONE && b != NONE && t2[0] != NONE && t2[k2n - 1] != NONE {
                    // The whole kernel row reads one contiguous run of the input.
                    let s0 = (base + a + b + t2[0]) as usize;
                    let len = k2n * g.c_in;
                    let d = &mut row[tap * g.c_in..][..len];
                    for (x, &y) in d.iter_mut().zip(&src[s0..s0 + len]) {
                        *x = y.widen();
                    }
                    tap += k2n;
                    continue;
                }
                for &c in t2 {
                    let valid = a != NONE && b != NONE && c != NONE;
                    let off = base + if valid { a + b + c } else { 0 };
                    for grp in 0..g.groups {
                        let d = &mut row[grp * kcg + tap * g.cg..][..g.cg];
                        if !valid {
                            d.fill(zero);
                        } else if sc == 1 {
                            let s0 = (off + (grp * g.cg) as isize) as usize;
                            for (x, &y) in d.iter_mut().zip(&src[s0..s0 + g.cg]) {
                                *x = y.widen();
                            }
                        } else {
                            let s0 = off + (grp * g.cg) as isize * sc;
                            for (j, x) in d.iter_mut().enumerate() {
                                *x = src[(s0 + j as isize * sc) as usize].widen();
                            }
                        }
                    }
                    tap += 1;
                }
            }
        }
    }
}
