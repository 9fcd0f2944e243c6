//! Batch normalization in training mode, fused, for float32 (the kernels behind
//! [`crate::fast::batch_norm_train`]), and the fused float32 gradient of layer normalization: the input is a row-major `(rows, C)` matrix normalized
//! per column. The statistics take two reads of the input (the mean, then the squared
//! deviations from it, as `mean` and `var` would), the output one write; the gradient one
//! read of the input and its cotangent, and one write. Sums are kept in f64 per worker.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::reduce::{dot_lanes, fold_lanes, row_major};
use crate::error::Result;
use crate::primitive::OutputSpec;
use rayon::prelude::*;

/// Rows per task: enough to amortise the per-task accumulators, small enough for both cores.
fn block_rows(rows: usize, c: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let min = (1 << 14) / c.max(1) + 1;
    rows.div_ceil(4 * threads).max(min).min(rows.max(1))
}

/// Column sums of `f(row)` terms: `cols` accumulators per output, summed over every row
/// block in parallel. `f(r0, r1, acc)` adds rows `r0..r1` into `acc` (`k * c` values).
fn column_sums(
    rows: usize,
    c: usize,
    k: usize,
    f: impl Fn(usize, usize, &mut [f64]) + Sync,
) -> Vec<f64> {
    let br = block_rows(rows, c);
    let blocks = rows.div_ceil(br);
    (0..blocks)
        .into_par_iter()
        .fold(
            || vec![0f64; k * c],
            |mut acc, b| {
                f(b * br, ((b + 1) * br).min(rows), &mut acc);
                acc
            },
        )
        .reduce(
            || vec![0f64; k * c],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    *x += y;
                }
                a
            },
        )
}

/// Row-major `f32` elements of `x` (a copy when it is a view).
fn rows_of(x: &Array) -> Result<Data> {
    row_major::<f32>(x)
}

fn slice_of(d: &Data, n: usize) -> &[f32] {
    &d.elements::<f32>()[d.offset..d.offset + n]
}

/// Calls `f(i, row)` for every row `i` of the row-major `(rows, c)` output, over row blocks
/// in parallel.
fn write_rows(out: &mut [f32], c: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = out.len() / c.max(1);
    let br = block_rows(rows, c);
    out.par_chunks_mut(br * c)
        .enumerate()
        .for_each(|(b, chunk)| {
            for (i, row) in chunk.chunks_exact_mut(c).enumerate() {
                f(b * br + i, row);
            }
        });
}

/// `[y, mean, ss]` for inputs `[x, weight, bias]` (`weight` and `bias` of shape `(C,)`):
/// `mean` and `ss` (the sum of squared deviations) per column, and
/// `y = (x - mean) * rsqrt(ss / rows + eps) * weight + bias`.
pub(crate) fn forward(inputs: &[Array], eps: f32, outputs: &[OutputSpec]) -> Result<Vec<Data>> {
    let x = &inputs[0];
    let c = *x.shape().last().unwrap_or(&1);
    let n = x.size();
    let rows = n / c.max(1);
    let (xd, wd, bd) = (rows_of(x)?, rows_of(&inputs[1])?, rows_of(&inputs[2])?);
    let (xs, w, b) = (slice_of(&xd, n), slice_of(&wd, c), slice_of(&bd, c));
    let sums = column_sums(rows, c, 1, |r0, r1, acc| {
        for row in xs[r0 * c..r1 * c].chunks_exact(c) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v as f64;
            }
        }
    });
    let inv = 1.0 / rows as f32;
    let mean: Vec<f32> = sums.iter().map(|&s| s as f32 * inv).collect();
    let sq = column_sums(rows, c, 1, |r0, r1, acc| {
        for row in xs[r0 * c..r1 * c].chunks_exact(c) {
            for ((a, &v), &m) in acc.iter_mut().zip(row).zip(&mean) {
                let d = v - m;
                *a += (d * d) as f64;
            }
        }
    });
    let ss: Vec<f32> = sq.iter().map(|&s| s as f32).collect();
    let r: Vec<f32> = ss
        .iter()
        .map(|&s| 1.0 / (s / rows as f32 + eps).sqrt())
        .collect();
    let (mut ybuf, _) = Data::alloc(&outputs[0])?;
    write_rows(
        &mut buffer_elements_mut::<f32>(&mut ybuf)[..n],
        c,
        |i, out| {
            let row = &xs[i * c..(i + 1) * c];
            let params = mean.iter().zip(&r).zip(w.iter().zip(b));
            for ((o, &v), ((&m, &r), (&w, &b))) in out.iter_mut().zip(row).zip(params) {
                *o = (v - m) * r * w + b;
            }
        },
    );
    let small = |v: &[f32], spec: &OutputSpec| -> Result<Data> {
        let (mut buf, _) = Data::alloc(spec)?;
        buffer_elements_mut::<f32>(&mut buf)[..c].copy_from_slice(v);
        Ok(Data::from_buffer(buf, &spec.shape))
    };
    Ok(vec![
        Data::from_buffer(ybuf, &outputs[0].shape),
        small(&mean, &outputs[1])?,
        small(&ss, &outputs[2])?,
    ])
}

/// `[dx, dweight, dbias]` for inputs `[x, mean, ss, weight, g, g_mean, g_ss]`: the gradient
/// of [`forward`]'s outputs against their cotangents `g` (of `y`), `g_mean` and `g_ss`.
/// With `xc = x - mean`, `r = rsqrt(ss / n + eps)` and `s = weight * r`:
/// `dx = s * (g - sum(g) / n - xc * r^2 * sum(g * xc) / n) + g_mean / n + 2 * g_ss * xc`,
/// `dweight = r * sum(g * xc)`, `dbias = sum(g)`.
pub(crate) fn backward(inputs: &[Array], eps: f32, outputs: &[OutputSpec]) -> Result<Vec<Data>> {
    let x = &inputs[0];
    let c = *x.shape().last().unwrap_or(&1);
    let n = x.size();
    let rows = n / c.max(1);
    let ds: Vec<Data> = inputs.iter().map(rows_of).collect::<Result<_>>()?;
    let xs = slice_of(&ds[0], n);
    let (mean, ss, w) = (
        slice_of(&ds[1], c),
        slice_of(&ds[2], c),
        slice_of(&ds[3], c),
    );
    let g = slice_of(&ds[4], n);
    let (gm, gs) = (slice_of(&ds[5], c), slice_of(&ds[6], c));
    let sums = column_sums(rows, c, 2, |r0, r1, acc| {
        let (sg, sgx) = acc.split_at_mut(c);
        for (xr, gr) in xs[r0 * c..r1 * c]
            .chunks_exact(c)
            .zip(g[r0 * c..r1 * c].chunks_exact(c))
        {
            let terms = gr.iter().zip(xr).zip(mean);
            for ((a, b), ((&g, &x), &m)) in sg.iter_mut().zip(sgx.iter_mut()).zip(terms) {
                *a += g as f64;
                *b += (g * (x - m)) as f64;
            }
        }
    });
    let nf = rows as f32;
    let (sg, sgx): (Vec<f32>, Vec<f32>) =
        (0..c).map(|j| (sums[j] as f32, sums[c + j] as f32)).unzip();
    let r: Vec<f32> = ss.iter().map(|&s| 1.0 / (s / nf + eps).sqrt()).collect();
    let scale: Vec<f32> = (0..c).map(|j| w[j] * r[j]).collect();
    let k: Vec<f32> = (0..c)
        .map(|j| -scale[j] * r[j] * r[j] * sgx[j] / nf + 2.0 * gs[j])
        .collect();
    let off: Vec<f32> = (0..c)
        .map(|j| -scale[j] * sg[j] / nf + gm[j] / nf)
        .collect();
    let (mut dbuf, _) = Data::alloc(&outputs[0])?;
    write_rows(
        &mut buffer_elements_mut::<f32>(&mut dbuf)[..n],
        c,
        |i, out| {
            let (xr, gr) = (&xs[i * c..(i + 1) * c], &g[i * c..(i + 1) * c]);
            let params = scale.iter().zip(mean).zip(k.iter().zip(&off));
            for (((o, &g), &x), ((&s, &m), (&k, &f))) in out.iter_mut().zip(gr).zip(xr).zip(params)
            {
                *o = g * s + (x - m) * k + f;
            }
        },
    );
    let small = |v: &[f32], spec: &OutputSpec| -> Result<Data> {
        let (mut buf, _) = Data::alloc(spec)?;
        buffer_elements_mut::<f32>(&mut buf)[..c].copy_from_slice(v);
        Ok(Data::from_buffer(buf, &spec.shape))
    };
    let dw: Vec<f32> = (0..c).map(|j| sgx[j] * r[j]).collect();
    Ok(vec![
        Data::from_buffer(dbuf, &outputs[0].shape),
        small(&dw, &outputs[1])?,
        small(&sg, &outputs[2])?,
    ])
}

/// Rows per task of [`layer_norm_vjp`]: a fixed count, so the partial sums of the weight and
/// bias gradients are added in the same order on every machine.
const LN_ROWS_PER_TASK: usize = 64;

/// The fused float32 gradient of `layer_norm` over the last axis: inputs `[x, w, g]` (`w` of
/// shape `(D,)`), outputs `[dx, dw, db]`. Per row, with `xhat = (x - mean) * rstd` and
/// `wg = w * g`: `dx = (wg - mean(wg) - xhat * mean(wg * xhat)) * rstd` (MLX's LayerNormVJP);
/// `dw` and `db` sum `g * xhat` and `g` over the rows. One pass over x and g per row block,
/// where the plain-ops formula makes about fifteen.
pub(crate) fn layer_norm_vjp(
    inputs: &[Array],
    eps: f32,
    outputs: &[OutputSpec],
) -> Result<Vec<Data>> {
    let (xd, wd, gd) = (
        row_major::<f32>(&inputs[0])?,
        row_major::<f32>(&inputs[1])?,
        row_major::<f32>(&inputs[2])?,
    );
    let d = outputs[1].shape[0];
    let n = outputs[0].shape.iter().product::<usize>();
    let (xs, g, w) = (slice_of(&xd, n), slice_of(&gd, n), slice_of(&wd, d));
    let (mut dbuf, _) = Data::alloc(&outputs[0])?;
    let dx = &mut buffer_elements_mut::<f32>(&mut dbuf)[..n];
    let inv_d = 1.0 / d as f32;
    let partials: Vec<Vec<f32>> = dx
        .par_chunks_mut(LN_ROWS_PER_TASK * d)
        .enumerate()
        .map(|(t, out)| {
            // dw in [..d], db in [d..].
            let mut acc = vec![0.0f32; 2 * d];
            let (mut xhat, mut wg) = (vec![0.0f32; d], vec![0.0f32; d]);
            for (r, o) in out.chunks_exact_mut(d).enumerate() {
                let i = t * LN_ROWS_PER_TASK + r;
                let (xr, gr) = (&xs[i * d..(i + 1) * d], &g[i * d..(i + 1) * d]);
                // Each pass is a plain loop or an 8-lane fold, so all of them vectorise.
                let mean = fold_lanes(xr, 0.0, |a, x| a + x) * inv_d;
                for (h, &x) in xhat.iter_mut().zip(xr) {
                    *h = x - mean;
                }
                let var = dot_lanes(&xhat, &xhat) * inv_d;
                let rstd = 1.0 / (var + eps).sqrt();
                for ((h, v), (&gv, &wv)) in xhat.iter_mut().zip(wg.iter_mut()).zip(gr.iter().zip(w))
                {
                    *h *= rstd;
                    *v = wv * gv;
                }
                let m1 = fold_lanes(&wg, 0.0, |a, v| a + v) * inv_d;
                let m2 = dot_lanes(&wg, &xhat) * inv_d;
                let (dw, db) = acc.split_at_mut(d);
                for j in 0..d {
                    o[j] = (wg[j] - m1 - xhat[j] * m2) * rstd;
                    dw[j] += gr[j] * xhat[j];
                    db[j] += gr[j];
                }
            }
            acc
        })
        .collect();
    let mut sums = vec![0.0f32; 2 * d];
    for p in &partials {
        for (s, &v) in sums.iter_mut().zip(p) {
            *s += v;
        }
    }
    let small = |v: &[f32], spec: &OutputSpec| -> Result<Data> {
        let (mut buf, _) = Data::alloc(spec)?;
        buffer_elements_mut::<f32>(&mut buf)[..d].copy_from_slice(v);
        Ok(Data::from_buffer(buf, &spec.shape))
    };
    Ok(vec![
        Data::from_buffer(dbuf, &outputs[0].shape),
        small(&sums[..d], &outputs[1])?,
        small(&sums[d..], &outputs[2])?,
    ])
}
