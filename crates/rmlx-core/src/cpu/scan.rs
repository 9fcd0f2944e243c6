//! The scan driver (cumsum, cumprod, cummax, cummin, logcumsumexp): one loop for every scan,
//! forward or reversed, inclusive or exclusive, along any axis. Along the last axis each row
//! is a running fold; along an outer axis whole rows are folded into the previous output row,
//! so the inner loop stays contiguous.

use super::PARALLEL_THRESHOLD;
use super::reduce::{row_major, split_axis};
use crate::array::{Array, Data, buffer_elements_mut};
use crate::element::Element;
use crate::error::Result;
use crate::primitive::OutputSpec;
use rayon::prelude::*;

/// Scans `x` along `axis` with `step`, starting from the identity `init`, into `spec` (same
/// shape and dtype as `x`). `reverse` runs from the end; an exclusive scan writes the fold of
/// the elements before each position (`init` first).
pub(crate) fn scan<T: Element>(
    x: &Array,
    axis: usize,
    spec: &OutputSpec,
    reverse: bool,
    inclusive: bool,
    init: T,
    step: impl Fn(T, T) -> T + Sync + Send,
) -> Result<Data> {
    let size = spec.size();
    let (mut buf, _) = Data::alloc(spec)?;
    if size > 0 {
        let out = &mut buffer_elements_mut::<T>(&mut buf)[..size];
        let data = row_major::<T>(x)?;
        let src = &data.elements::<T>()[data.offset..data.offset + size];
        let (_, n, inner) = split_axis(x.shape(), axis);
        let block = n * inner;
        let one = |xs: &[T], ys: &mut [T]| {
            let order = |i: usize| if reverse { n - 1 - i } else { i };
            if inner == 1 {
                let mut acc = init;
                for i in 0..n {
                    let k = order(i);
                    if inclusive {
                        acc = step(acc, xs[k]);
                        ys[k] = acc;
                    } else {
                        ys[k] = acc;
                        acc = step(acc, xs[k]);
                    }
                }
                return;
            }
            let mut prev: Option<usize> = None;
            for i in 0..n {
                let k = order(i) * inner;
                match prev {
                    None => {
                        if inclusive {
                            ys[k..k + inner].copy_from_slice(&xs[k..k + inner]);
                        } else {
                            ys[k..k + inner].fill(init);
                        }
                    }
                    Some(p) => {
                        // Inclusive: y[k] = y[p] + x[k]; exclusive: y[k] = y[p] + x[p].
                        let xr = if inclusive { k } else { p };
                        let (lo, hi) = ys.split_at_mut(k.max(p));
                        let (dst, prev_row) = if k > p {
                            (&mut hi[..inner], &lo[p..p + inner])
                        } else {
                            (&mut lo[k..k + inner], &hi[..inner])
                        };
                        for ((d, &a), &v) in dst.iter_mut().zip(prev_row).zip(&xs[xr..xr + inner]) {
                            *d = step(a, v);
                        }
                    }
                }
                prev = Some(k);
            }
        };
        let outer = size / block.max(1);
        if size >= PARALLEL_THRESHOLD && outer > 1 {
            let c = outer.div_ceil(rayon::current_num_threads() * 8).max(1);
            out.par_chunks_mut(c * block)
                .zip(src.par_chunks(c * block))
                .for_each(|(o, s)| {
                    for (ys, xs) in o.chunks_mut(block).zip(s.chunks(block)) {
                        one(xs, ys);
                    }
                });
        } else {
            for (ys, xs) in out.chunks_mut(block).zip(src.chunks(block)) {
                one(xs, ys);
            }
        }
    }
    Ok(Data::from_buffer(buf, &spec.shape))
}
