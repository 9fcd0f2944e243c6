//! The Walsh–Hadamard transform along the last axis, for lengths `m * 2^k` with `m` in
//! `{1, 12, 20, 28}`: a fast butterfly transform over the `2^k` factor, then a dense product
//! with MLX's `m x m` Hadamard matrix, i.e. the row viewed as `(m, 2^k)` is multiplied by
//! `H_m ⊗ H_{2^k}`. Each row is transformed in f32 and rounded once to the output dtype.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::element::Element;
use crate::error::Result;
use crate::layout::for_each_offset;
use crate::primitive::OutputSpec;
use half::{bf16, f16};
use rayon::prelude::*;

/// The Hadamard matrices of orders 12, 20 and 28 that MLX uses (from N. J. A. Sloane's
/// library of Hadamard matrices), one row per string, `+` for 1 and `-` for -1. The transform
/// depends on the choice of matrix, so these must be MLX's for results to agree.
const H12: [&str; 12] = [
    "+-++++++++++",
    "--+-+-+-+-+-",
    "+++-++----++",
    "+---+--+-++-",
    "+++++-++----",
    "+-+---+--+-+",
    "++--+++-++--",
    "+--++---+--+",
    "++----+++-++",
    "+--+-++---+-",
    "++++----+++-",
    "+-+--+-++---",
];
const H20: [&str; 20] = [
    "+----+----++--++-++-",
    "-+----+---+++---+-++",
    "--+----+---+++-+-+-+",
    "---+----+---+++++-+-",
    "----+----++--++-++-+",
    "-+++++-----+--+++--+",
    "+-+++-+---+-+--+++--",
    "++-++--+---+-+--+++-",
    "+++-+---+---+-+--+++",
    "++++-----++--+-+--++",
    "--++-+-++-+-----++++",
    "---++-+-++-+---+-+++",
    "+---++-+-+--+--++-++",
    "++---++-+----+-+++-+",
    "-++---++-+----+++++-",
    "-+--+--++-+----+----",
    "+-+-----++-+----+---",
    "-+-+-+---+--+----+--",
    "--+-+++------+----+-",
    "+--+--++------+----+",
];
const H28: [&str; 28] = [
    "+------++----++-+--+-+--++--",
    "-+-----+++-----+-+--+-+--++-",
    "--+-----+++---+-+-+----+--++",
    "---+-----+++---+-+-+-+--+--+",
    "----+-----+++---+-+-+++--+--",
    "-----+-----++++--+-+--++--+-",
    "------++----++-+--+-+--++--+",
    "--++++-+-------++--+++-+--+-",
    "---++++-+-----+-++--+-+-+--+",
    "+---+++--+----++-++--+-+-+--",
    "++---++---+----++-++--+-+-+-",
    "+++---+----+----++-++--+-+-+",
    "++++--------+-+--++-++--+-+-",
    "-++++--------+++--++--+--+-+",
    "-+-++-++--++--+--------++++-",
    "+-+-++--+--++--+--------++++",
    "-+-+-++--+--++--+----+---+++",
    "+-+-+-++--+--+---+---++---++",
    "++-+-+-++--+------+--+++---+",
    "-++-+-+-++--+------+-++++---",
    "+-++-+---++--+------+-++++--",
    "-++--++-+-++-+++----++------",
    "+-++--++-+-++-+++-----+-----",
    "++-++---+-+-++-+++-----+----",
    "-++-++-+-+-+-+--+++-----+---",
    "--++-++++-+-+----+++-----+--",
    "+--++-+-++-+-+----+++-----+-",
    "++--++-+-++-+-+----++------+",
];

/// Splits a length into `(2^k, m)`, or `None` when it is not `m * 2^k` with `m` in
/// `{1, 12, 20, 28}` and `k <= 26` (MLX's limit).
pub(crate) fn decompose(len: usize) -> Option<(usize, usize)> {
    let (n, m) = if len.is_power_of_two() {
        (len, 1)
    } else {
        [12usize, 20, 28]
            .into_iter()
            .find(|&f| len.is_multiple_of(f) && (len / f).is_power_of_two())
            .map(|f| (len / f, f))?
    };
    (n <= 1 << 26).then_some((n, m))
}

/// The `m x m` matrix as signs, row-major.
fn matrix(m: usize) -> Vec<f32> {
    let rows: &[&str] = match m {
        12 => &H12,
        20 => &H20,
        _ => &H28,
    };
    rows.iter()
        .flat_map(|r| r.bytes().map(|c| if c == b'+' { 1.0 } else { -1.0 }))
        .collect()
}

/// Transforms one row in place (length `m * n`, viewed as `(m, n)`), scaling by `scale`.
fn transform_row(row: &mut [f32], n: usize, m: usize, hm: &[f32], scale: f32, tmp: &mut [f32]) {
    for block in row.chunks_exact_mut(n) {
        let mut h = 1;
        while h < n {
            for pair in block.chunks_exact_mut(2 * h) {
                let (lo, hi) = pair.split_at_mut(h);
                for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                    let (a, b) = (*x, *y);
                    *x = a + b;
                    *y = a - b;
                }
            }
            h *= 2;
        }
    }
    if m == 1 {
        row.iter_mut().for_each(|x| *x *= scale);
        return;
    }
    // out[j, i] = scale * sum_k H[j, k] * row[k, i]
    for i in 0..n {
        for (j, t) in tmp.iter_mut().enumerate().take(m) {
            let hrow = &hm[j * m..(j + 1) * m];
            *t = (0..m).map(|k| hrow[k] * row[k * n + i]).sum::<f32>();
        }
        for j in 0..m {
            row[j * n + i] = tmp[j] * scale;
        }
    }
}

/// The transform of `x` (float32, float16 or bfloat16) along its last axis.
pub(crate) fn hadamard(x: &Array, scale: f32, spec: &OutputSpec) -> Result<Data> {
    let xd = x.ready_data()?;
    let len = *spec.shape.last().expect("at least 1-D");
    let (n, m) = decompose(len).expect("validated when the graph was built");
    let (mut buf, _) = Data::alloc(spec)?;
    match spec.dtype {
        crate::Dtype::Float32 => run::<f32>(&xd, &spec.shape, &mut buf, n, m, scale),
        crate::Dtype::Float16 => run::<f16>(&xd, &spec.shape, &mut buf, n, m, scale),
        _ => run::<bf16>(&xd, &spec.shape, &mut buf, n, m, scale),
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}

fn run<T: Element>(
    xd: &Data,
    shape: &[usize],
    buf: &mut crate::allocator::Buffer,
    n: usize,
    m: usize,
    scale: f32,
) {
    let nd = shape.len();
    let len = shape[nd - 1];
    let src = xd.elements::<T>();
    let step = xd.strides[nd - 1];
    let mut starts = Vec::with_capacity(shape[..nd - 1].iter().product());
    for_each_offset(&shape[..nd - 1], &xd.strides[..nd - 1], xd.offset, |o| {
        starts.push(o)
    });
    let out = buffer_elements_mut::<T>(buf);
    let hm = if m > 1 { matrix(m) } else { Vec::new() };
    let work = |(row_out, &start): (&mut [T], &usize)| {
        let mut row: Vec<f32> = (0..len)
            .map(|j| src[(start as isize + j as isize * step) as usize].to_f64() as f32)
            .collect();
        let mut tmp = vec![0.0f32; m];
        transform_row(&mut row, n, m, &hm, scale, &mut tmp);
        for (o, v) in row_out.iter_mut().zip(&row) {
            *o = T::from_f64(*v as f64);
        }
    };
    if out.len() >= 1 << 15 {
        out.par_chunks_mut(len)
            .zip(starts.par_iter())
            .for_each(work);
    } else {
        out.chunks_mut(len).zip(starts.iter()).for_each(work);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_are_hadamard() {
        for m in [12, 20, 28] {
            let h = matrix(m);
            for i in 0..m {
                for j in 0..m {
                    let dot: f32 = (0..m).map(|k| h[i * m + k] * h[j * m + k]).sum();
                    assert_eq!(dot, if i == j { m as f32 } else { 0.0 }, "order {m}");
                }
            }
        }
    }

    #[test]
    fn decomposes_only_supported_lengths() {
        assert_eq!(decompose(64), Some((64, 1)));
        assert_eq!(decompose(24), Some((2, 12)));
        assert_eq!(decompose(28 * 4), Some((4, 28)));
        assert_eq!(decompose(36), None);
        assert_eq!(decompose(3), None);
        assert_eq!(decompose(1 << 27), None);
    }
}
