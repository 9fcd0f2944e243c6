//! The LSTM recurrence, fused, for float32 (the kernels behind [`crate::fast::lstm_sequence`]).
//!
//! Batch rows are independent, so each worker runs the whole sequence for its own block of
//! rows: per step one small product `h @ w_h^T` and the gate arithmetic, with no
//! synchronisation between steps. The backward pass runs the steps in reverse the same way
//! and then forms the gradient of `w_h` as one product over every step and row, instead of
//! one small product and one accumulation per step.
//!
//! Layouts (row-major): `x_proj`, the gates and their gradient are `(N, L, 4H)` with the
//! gates in MLX's order (input, forget, cell, output); `w_h` is `(4H, H)`; the hidden and cell
//! states `(N, L, H)`; initial states `(N, H)`.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::gemm::seq_matmul;
use crate::cpu::reduce::row_major;
use crate::cpu::vmath::{sigmoid_f32, tanh_f32};
use crate::error::Result;
use crate::primitive::OutputSpec;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Sizes of one recurrence: batch, steps, hidden size, and whether initial states exist.
#[derive(Copy, Clone)]
struct Dims {
    n: usize,
    l: usize,
    h: usize,
    hidden: bool,
    cell: bool,
}

impl Dims {
    /// The sizes of `x_proj`'s shape `(N, L, 4H)`.
    fn of(x_proj: &[usize], hidden: bool, cell: bool) -> Dims {
        Dims {
            n: x_proj[0],
            l: x_proj[1],
            h: x_proj[2] / 4,
            hidden,
            cell,
        }
    }

    /// The initial states among `inputs` (`[x_proj, w_h, h0?, c0?, ...]`), row-major.
    fn states(&self, inputs: &[Array]) -> Result<[Option<(Data, usize)>; 2]> {
        let h0 = match self.hidden {
            true => Some(rows_of(&inputs[2])?),
            false => None,
        };
        let c0 = match self.cell {
            true => Some(rows_of(&inputs[2 + self.hidden as usize])?),
            false => None,
        };
        Ok([h0, c0])
    }
}

/// Batch rows per worker.
fn rows_per_task(n: usize) -> usize {
    n.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// The row-major `f32` elements of `x` (a copy when it is a view).
fn rows_of(x: &Array) -> Result<(Data, usize)> {
    Ok((row_major::<f32>(x)?, x.size()))
}

fn elements(d: &(Data, usize)) -> &[f32] {
    &d.0.elements::<f32>()[d.0.offset..d.0.offset + d.1]
}

/// A cotangent: its elements, or one value broadcast everywhere (the zeros of an output the
/// loss does not read, the ones of a sum), which is then not materialised.
enum Cotangent {
    Rows((Data, usize)),
    Fill(f32),
}

impl Cotangent {
    fn of(x: &Array) -> Result<Cotangent> {
        let d = x.ready_data()?;
        if x.size() > 0 && d.strides.iter().all(|&s| s == 0) {
            return Ok(Cotangent::Fill(d.elements::<f32>()[d.offset]));
        }
        drop(d);
        Ok(Cotangent::Rows(rows_of(x)?))
    }

    /// A view of the rows `range` (`width` elements each).
    fn view(&self, range: std::ops::Range<usize>, width: usize) -> CotRows<'_> {
        match self {
            Cotangent::Rows(d) => {
                CotRows::Rows(&elements(d)[range.start * width..range.end * width])
            }
            Cotangent::Fill(v) => CotRows::Fill(vec![*v; width]),
        }
    }
}

/// One worker's rows of a [`Cotangent`].
enum CotRows<'a> {
    Rows(&'a [f32]),
    Fill(Vec<f32>),
}

impl CotRows<'_> {
    /// Row `at` of the view (`width` elements).
    fn row(&self, at: usize, width: usize) -> &[f32] {
        match self {
            CotRows::Rows(v) => &v[at * width..][..width],
            CotRows::Fill(v) => &v[..width],
        }
    }
}

/// `[hs, cs, gates]` for inputs `[x_proj, w_h, h0?, c0?]` (`hidden` / `cell`: whether the
/// initial states are given; a missing hidden state skips step 0's product and a missing
/// cell state its forget term, as MLX's layer does).
pub(crate) fn forward(
    inputs: &[Array],
    hidden: bool,
    cell: bool,
    outputs: &[OutputSpec],
) -> Result<Vec<Data>> {
    let d = Dims::of(inputs[0].shape(), hidden, cell);
    let (h, l) = (d.h, d.l);
    let xp = rows_of(&inputs[0])?;
    let wh = rows_of(&inputs[1])?;
    let [h0, c0] = d.states(inputs)?;
    let (xp, wh) = (elements(&xp), elements(&wh));
    let (h0, c0) = (h0.as_ref().map(elements), c0.as_ref().map(elements));
    // w_h^T, row-major (H, 4H): the right operand of every step's product.
    let mut wht = vec![0f32; wh.len()];
    for (r, row) in wh.chunks_exact(h.max(1)).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            wht[j * 4 * h + r] = v;
        }
    }
    let wht = &wht[..];
    let mut bufs = Vec::with_capacity(3);
    for spec in outputs {
        bufs.push(Data::alloc(spec)?.0);
    }
    let [hb, cb, gb] = &mut bufs[..] else {
        unreachable!("three outputs")
    };
    let nb = rows_per_task(d.n);
    let (hs, cs, gates) = (
        &mut buffer_elements_mut::<f32>(hb)[..d.n * l * h],
        &mut buffer_elements_mut::<f32>(cb)[..d.n * l * h],
        &mut buffer_elements_mut::<f32>(gb)[..d.n * l * 4 * h],
    );
    if d.n > 0 && l > 0 && h > 0 {
        hs.par_chunks_mut(nb * l * h)
            .zip(cs.par_chunks_mut(nb * l * h))
            .zip(gates.par_chunks_mut(nb * l * 4 * h))
            .enumerate()
            .for_each(|(task, ((hs, cs), gates))| {
                let b0 = task * nb;
                let rows = hs.len() / (l * h);
                let xp = &xp[b0 * l * 4 * h..(b0 + rows) * l * 4 * h];
                let h0 = h0.map(|v| &v[b0 * h..(b0 + rows) * h]);
                let c0 = c0.map(|v| &v[b0 * h..(b0 + rows) * h]);
                forward_rows(d, rows, xp, wht, h0, c0, hs, cs, gates);
            });
    }
    Ok(bufs
        .into_iter()
        .zip(outputs)
        .map(|(b, s)| Data::from_buffer(b, &s.shape))
        .collect())
}

/// The forward recurrence of `rows` batch rows (slices hold only those rows).
#[allow(clippy::too_many_arguments)]
fn forward_rows(
    d: Dims,
    rows: usize,
    xp: &[f32],
    wht: &[f32],
    h0: Option<&[f32]>,
    c0: Option<&[f32]>,
    hs: &mut [f32],
    cs: &mut [f32],
    gates: &mut [f32],
) {
    let (h, l) = (d.h, d.l);
    let g4 = 4 * h;
    let mut h_cur = h0.map_or_else(|| vec![0f32; rows * h], <[f32]>::to_vec);
    let mut c_cur = c0.map_or_else(|| vec![0f32; rows * h], <[f32]>::to_vec);
    let mut pre = vec![0f32; rows * g4];
    let mut tc = vec![0f32; h];
    for t in 0..l {
        for (b, p) in pre.chunks_exact_mut(g4).enumerate() {
            p.copy_from_slice(&xp[(b * l + t) * g4..][..g4]);
        }
        if t > 0 || d.hidden {
            add_product(&mut pre, &h_cur, wht, rows, h, g4);
        }
        for b in 0..rows {
            let at = b * l + t;
            let (p, a) = (&pre[b * g4..][..g4], &mut gates[at * g4..][..g4]);
            sigmoid_f32(&p[..2 * h], &mut a[..2 * h]);
            tanh_f32(&p[2 * h..3 * h], &mut a[2 * h..3 * h]);
            sigmoid_f32(&p[3 * h..], &mut a[3 * h..]);
            let (i, rest) = a.split_at(h);
            let (f, rest) = rest.split_at(h);
            let (g, o) = rest.split_at(h);
            let c = &mut c_cur[b * h..][..h];
            if t > 0 || d.cell {
                for j in 0..h {
                    c[j] = f[j] * c[j] + i[j] * g[j];
                }
            } else {
                for j in 0..h {
                    c[j] = i[j] * g[j];
                }
            }
            tanh_f32(c, &mut tc);
            let hn = &mut h_cur[b * h..][..h];
            for j in 0..h {
                hn[j] = o[j] * tc[j];
            }
            hs[at * h..][..h].copy_from_slice(hn);
            cs[at * h..][..h].copy_from_slice(c);
        }
    }
}

/// `[dx_proj, dw_h, dh0?, dc0?]` for inputs
/// `[x_proj, w_h, h0?, c0?, hs, cs, gates, g_hs, g_cs, g_gates]` (the last three the
/// cotangents of [`forward`]'s outputs).
pub(crate) fn backward(
    inputs: &[Array],
    hidden: bool,
    cell: bool,
    outputs: &[OutputSpec],
) -> Result<Vec<Data>> {
    let d = Dims::of(inputs[0].shape(), hidden, cell);
    let (n, l, h) = (d.n, d.l, d.h);
    let g4 = 4 * h;
    let base = 2 + hidden as usize + cell as usize;
    let wh = rows_of(&inputs[1])?;
    let [h0, c0] = d.states(inputs)?;
    let (hs, cs, gates) = (
        rows_of(&inputs[base])?,
        rows_of(&inputs[base + 1])?,
        rows_of(&inputs[base + 2])?,
    );
    let (g_hs, g_cs, g_gates) = (
        Cotangent::of(&inputs[base + 3])?,
        Cotangent::of(&inputs[base + 4])?,
        Cotangent::of(&inputs[base + 5])?,
    );
    let wh = elements(&wh);
    let (h0, c0) = (h0.as_ref().map(elements), c0.as_ref().map(elements));
    let (hs, cs, gates) = (elements(&hs), elements(&cs), elements(&gates));
    let mut dxp_buf = Data::alloc(&outputs[0])?.0;
    let mut dh0_buf = match hidden {
        true => Some(Data::alloc(&outputs[2])?.0),
        false => None,
    };
    let mut dc0_buf = match cell {
        true => Some(Data::alloc(&outputs[2 + hidden as usize])?.0),
        false => None,
    };
    let dxp = &mut buffer_elements_mut::<f32>(&mut dxp_buf)[..n * l * g4];
    let nb = rows_per_task(n);
    // Each worker's final state gradients, kept when the initial states are inputs.
    let mut dh_all = vec![0f32; n * h];
    let mut dc_all = vec![0f32; n * h];
    if n > 0 && l > 0 && h > 0 {
        dxp.par_chunks_mut(nb * l * g4)
            .zip(dh_all.par_chunks_mut(nb * h))
            .zip(dc_all.par_chunks_mut(nb * h))
            .enumerate()
            .for_each(|(task, ((dxp, dh), dc))| {
                let b0 = task * nb;
                let rows = dh.len() / h;
                let range = |w: usize| b0 * l * w..(b0 + rows) * l * w;
                let steps = b0 * l..(b0 + rows) * l;
                let c0 = c0.map(|v| &v[b0 * h..(b0 + rows) * h]);
                let fwd = Saved {
                    cs: &cs[range(h)],
                    gates: &gates[range(g4)],
                    g_hs: g_hs.view(steps.clone(), h),
                    g_cs: g_cs.view(steps.clone(), h),
                    g_gates: g_gates.view(steps, g4),
                };
                backward_rows(d, rows, wh, c0, &fwd, dxp, dh, dc);
            });
    }
    // dw_h = sum over steps with a product of dpre_t^T @ h_{t-1}: one (4H, N*L) @ (N*L, H)
    // product, the rows of step 0 zero when it had no product.
    let mut hprev = vec![0f32; n * l * h];
    for b in 0..n {
        for t in 0..l {
            let row = &mut hprev[(b * l + t) * h..][..h];
            if t > 0 {
                row.copy_from_slice(&hs[(b * l + t - 1) * h..][..h]);
            } else if let Some(h0) = h0 {
                row.copy_from_slice(&h0[b * h..][..h]);
            }
        }
    }
    let mut dwh_buf = Data::alloc(&outputs[1])?.0;
    {
        let dwh = &mut buffer_elements_mut::<f32>(&mut dwh_buf)[..g4 * h];
        let lhs = MatRef::from_row_major_slice(dxp, n * l, g4).transpose();
        let rhs = MatRef::from_row_major_slice(&hprev, n * l, h);
        let out = MatMut::from_row_major_slice_mut(dwh, g4, h);
        let par = if g4 * h * n * l > 1 << 18 {
            Par::rayon(0)
        } else {
            Par::Seq
        };
        // Row blocks on rayon tasks (faer's own threading spins at barriers).
        crate::cpu::gemm::matmul_split(out, Accum::Replace, lhs, rhs, 1.0f32, par);
    }
    let mut out = vec![
        Data::from_buffer(dxp_buf, &outputs[0].shape),
        Data::from_buffer(dwh_buf, &outputs[1].shape),
    ];
    for (buf, all) in [(dh0_buf.take(), &dh_all), (dc0_buf.take(), &dc_all)] {
        if let Some(mut buf) = buf {
            buffer_elements_mut::<f32>(&mut buf)[..n * h].copy_from_slice(all);
            let i = out.len();
            out.push(Data::from_buffer(buf, &outputs[i].shape));
        }
    }
    Ok(out)
}

/// What the backward pass reads of one worker's rows: the forward's cell states and gates,
/// and the cotangents of the three outputs.
struct Saved<'a> {
    cs: &'a [f32],
    gates: &'a [f32],
    g_hs: CotRows<'a>,
    g_cs: CotRows<'a>,
    g_gates: CotRows<'a>,
}

/// The reverse recurrence of `rows` batch rows: writes their gate gradients `dxp` and leaves
/// the gradients of the initial states in `dh` and `dc`.
#[allow(clippy::too_many_arguments)]
fn backward_rows(
    d: Dims,
    rows: usize,
    wh: &[f32],
    c0: Option<&[f32]>,
    s: &Saved<'_>,
    dxp: &mut [f32],
    dh: &mut [f32],
    dc: &mut [f32],
) {
    let (h, l) = (d.h, d.l);
    let g4 = 4 * h;
    let mut dpre = vec![0f32; rows * g4];
    let mut tc = vec![0f32; h];
    let zeros = vec![0f32; h];
    for t in (0..l).rev() {
        for b in 0..rows {
            let at = b * l + t;
            let a = &s.gates[at * g4..][..g4];
            let (i, f, g, o) = (&a[..h], &a[h..2 * h], &a[2 * h..3 * h], &a[3 * h..]);
            let c = &s.cs[at * h..][..h];
            // Without a previous cell state the forget gate multiplies nothing.
            let (c_prev, keep) = if t > 0 {
                (&s.cs[(at - 1) * h..][..h], 1.0)
            } else {
                match c0 {
                    Some(c0) => (&c0[b * h..][..h], 1.0),
                    None => (&zeros[..], 0.0),
                }
            };
            tanh_f32(c, &mut tc);
            let (gh, gc, gg) = (s.g_hs.row(at, h), s.g_cs.row(at, h), s.g_gates.row(at, g4));
            let p = &mut dpre[b * g4..][..g4];
            let (dh, dc) = (&mut dh[b * h..][..h], &mut dc[b * h..][..h]);
            let (p_i, rest) = p.split_at_mut(h);
            let (p_f, rest) = rest.split_at_mut(h);
            let (p_g, p_o) = rest.split_at_mut(h);
            let (gg_i, gg_f, gg_g, gg_o) =
                (&gg[..h], &gg[h..2 * h], &gg[2 * h..3 * h], &gg[3 * h..]);
            for j in 0..h {
                let dh_j = dh[j] + gh[j];
                let d_o = dh_j * tc[j] + gg_o[j];
                let dc_j = dc[j] + gc[j] + dh_j * o[j] * (1.0 - tc[j] * tc[j]);
                let d_i = dc_j * g[j] + gg_i[j];
                let d_g = dc_j * i[j] + gg_g[j];
                let d_f = dc_j * c_prev[j] + gg_f[j];
                dc[j] = dc_j * f[j] * keep;
                p_i[j] = d_i * i[j] * (1.0 - i[j]);
                p_f[j] = d_f * f[j] * (1.0 - f[j]);
                p_g[j] = d_g * (1.0 - g[j] * g[j]);
                p_o[j] = d_o * o[j] * (1.0 - o[j]);
            }
            dxp[at * g4..][..g4].copy_from_slice(p);
        }
        // dh_{t-1} = dpre_t @ w_h, when step t had the product.
        dh.fill(0.0);
        if t > 0 || d.hidden {
            add_product(dh, &dpre, wh, rows, g4, h);
        }
    }
}

/// `c += a @ b` for row-major `a` `(m, k)`, `b` `(k, n)` and `c` `(m, n)`, on this thread.
fn add_product(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    let lhs = MatRef::from_row_major_slice(&a[..m * k], m, k);
    let rhs = MatRef::from_row_major_slice(&b[..k * n], k, n);
    let out = MatMut::from_row_major_slice_mut(&mut c[..m * n], m, n);
    seq_matmul(out, Accum::Add, lhs, rhs, 1.0f32);
}
