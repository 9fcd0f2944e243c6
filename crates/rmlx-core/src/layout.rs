//! Strided iteration, written once: every kernel that walks a non-contiguous layout goes through
//! these helpers, which collapse dimensions that are contiguous for all operands and hand the
//! kernel whole rows.

/// Dimensions merged where every operand is contiguous across them; size-1 dimensions dropped.
/// Returns the collapsed shape and each operand's collapsed strides.
pub(crate) fn collapse<const N: usize>(
    shape: &[usize],
    strides: [&[isize]; N],
) -> (Vec<usize>, [Vec<isize>; N]) {
    let mut out_shape: Vec<usize> = Vec::with_capacity(shape.len());
    let mut out_strides: [Vec<isize>; N] = std::array::from_fn(|_| Vec::with_capacity(shape.len()));
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        let mergeable = !out_shape.is_empty()
            && (0..N).all(|k| {
                let prev = *out_strides[k].last().expect("non-empty");
                prev == strides[k][d] * shape[d] as isize
            });
        if mergeable {
            *out_shape.last_mut().expect("non-empty") *= shape[d];
            for k in 0..N {
                *out_strides[k].last_mut().expect("non-empty") = strides[k][d];
            }
        } else {
            out_shape.push(shape[d]);
            for k in 0..N {
                out_strides[k].push(strides[k][d]);
            }
        }
    }
    (out_shape, out_strides)
}

/// Calls `f(starts, inner_strides, len)` for each innermost row of `shape`, in row-major order:
/// operand `k`'s elements of that row are at `starts[k] + i * inner_strides[k]` for `i < len`.
pub(crate) fn for_each_row<const N: usize>(
    shape: &[usize],
    strides: [&[isize]; N],
    offsets: [usize; N],
    mut f: impl FnMut([isize; N], [isize; N], usize),
) {
    if shape.contains(&0) {
        return;
    }
    let (cshape, cstrides) = collapse(shape, strides);
    let start: [isize; N] = std::array::from_fn(|k| offsets[k] as isize);
    if cshape.is_empty() {
        f(start, [0; N], 1);
        return;
    }
    let nd = cshape.len();
    let len = cshape[nd - 1];
    let inner: [isize; N] = std::array::from_fn(|k| cstrides[k][nd - 1]);
    let outer_dims = &cshape[..nd - 1];
    let rows: usize = outer_dims.iter().product();
    let mut idx = vec![0usize; nd - 1];
    let mut pos = start;
    for _ in 0..rows {
        f(pos, inner, len);
        // Advance the outer multi-index (odometer), updating every operand's position.
        for d in (0..nd - 1).rev() {
            idx[d] += 1;
            for k in 0..N {
                pos[k] += cstrides[k][d];
            }
            if idx[d] < outer_dims[d] {
                break;
            }
            for k in 0..N {
                pos[k] -= cstrides[k][d] * outer_dims[d] as isize;
            }
            idx[d] = 0;
        }
    }
}

/// Like [`for_each_row`], but over pieces of rows that may run on several workers: calls
/// `f(out, starts, inner_strides, len)` for pieces covering every element once, where `out` is
/// the row-major index of the piece's first element. Rows are cut into pieces of at most
/// `chunk` elements, so one long row still spreads over the workers.
pub(crate) fn par_for_each_row<const N: usize>(
    shape: &[usize],
    strides: [&[isize]; N],
    offsets: [usize; N],
    chunk: usize,
    f: impl Fn(usize, [isize; N], [isize; N], usize) + Sync + Send,
) {
    use rayon::prelude::*;
    if shape.contains(&0) {
        return;
    }
    let (cshape, cstrides) = collapse(shape, strides);
    let start: [isize; N] = std::array::from_fn(|k| offsets[k] as isize);
    if cshape.is_empty() {
        f(0, start, [0; N], 1);
        return;
    }
    let nd = cshape.len();
    let len = cshape[nd - 1];
    let inner: [isize; N] = std::array::from_fn(|k| cstrides[k][nd - 1]);
    let n: usize = cshape.iter().product();
    let chunk = chunk.clamp(1, n);
    // Elements [s, e) in row-major order: start at row s / len (its position from the outer
    // multi-index), then walk rows like an odometer.
    let piece = |s: usize, e: usize| {
        let (mut row, mut col) = (s / len, s % len);
        let mut pos = start;
        let mut r = row;
        for d in (0..nd - 1).rev() {
            let i = (r % cshape[d]) as isize;
            r /= cshape[d];
            for k in 0..N {
                pos[k] += i * cstrides[k][d];
            }
        }
        let mut at = s;
        while at < e {
            let m = (len - col).min(e - at);
            let p: [isize; N] = std::array::from_fn(|k| pos[k] + col as isize * inner[k]);
            f(at, p, inner, m);
            at += m;
            col = 0;
            row += 1;
            if at < e {
                // Next row: bump the outer multi-index (row was just incremented).
                let mut q = row;
                for d in (0..nd - 1).rev() {
                    let i = q % cshape[d];
                    for k in 0..N {
                        pos[k] += cstrides[k][d];
                    }
                    if i != 0 {
                        break;
                    }
                    for k in 0..N {
                        pos[k] -= cstrides[k][d] * cshape[d] as isize;
                    }
                    q /= cshape[d];
                }
            }
        }
    };
    let pieces = n.div_ceil(chunk);
    if pieces <= 1 {
        piece(0, n);
    } else {
        (0..pieces)
            .into_par_iter()
            .for_each(|t| piece(t * chunk, ((t + 1) * chunk).min(n)));
    }
}

/// Calls `f(offset)` for each element of a strided layout, in row-major order.
pub(crate) fn for_each_offset(
    shape: &[usize],
    strides: &[isize],
    offset: usize,
    mut f: impl FnMut(usize),
) {
    for_each_row(shape, [strides], [offset], |[start], [step], len| {
        let mut p = start;
        for _ in 0..len {
            f(p as usize);
            p += step;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn collapse_merges_contiguous_dims() {
        let (s, [st]) = collapse(&[2, 3, 4], [&[12, 4, 1]]);
        assert_eq!(s, vec![24]);
        assert_eq!(st, vec![1]);
        let (s, [a, b]) = collapse(&[2, 3, 4], [&[12, 4, 1], &[0, 4, 1]]);
        assert_eq!(s, vec![2, 12]);
        assert_eq!(a, vec![12, 1]);
        assert_eq!(b, vec![0, 1]);
    }
    #[test]
    fn parallel_rows_cover_every_element_in_order() {
        use std::sync::Mutex;
        // A transposed 3-d layout with a broadcast operand, cut into odd-sized pieces.
        let shape = [3, 4, 5];
        let a = [1isize, 3, 12];
        let b = [0isize, 5, 1];
        let mut want = vec![];
        for_each_row(&shape, [&a, &b], [2, 0], |[sa, sb], [ta, tb], len| {
            for i in 0..len as isize {
                want.push((sa + i * ta, sb + i * tb));
            }
        });
        for chunk in [1, 3, 7, 60, 1000] {
            let got = Mutex::new(vec![(0isize, 0isize); 60]);
            par_for_each_row(
                &shape,
                [&a, &b],
                [2, 0],
                chunk,
                |o, [sa, sb], [ta, tb], len| {
                    let mut g = got.lock().unwrap();
                    for i in 0..len {
                        let ii = i as isize;
                        g[o + i] = (sa + ii * ta, sb + ii * tb);
                    }
                },
            );
            assert_eq!(got.into_inner().unwrap(), want, "chunk {chunk}");
        }
    }
    #[test]
    fn offsets_of_a_transpose() {
        let mut v = vec![];
        for_each_offset(&[3, 2], &[1, 3], 0, |o| v.push(o));
        assert_eq!(v, vec![0, 3, 1, 4, 2, 5]);
        let mut v = vec![];
        for_each_offset(&[3], &[-1], 2, |o| v.push(o));
        assert_eq!(v, vec![2, 1, 0]);
        let mut v = vec![];
        for_each_offset(&[], &[], 5, |o| v.push(o));
        assert_eq!(v, vec![5]);
    }
}
