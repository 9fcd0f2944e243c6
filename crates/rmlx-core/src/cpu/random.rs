//! Random bits: MLX's Threefry-2x32 counter scheme (20 rounds), laid out exactly as MLX's CPU
//! backend lays it out, so the same key gives the same bytes.
//!
//! For each key, the output block of `bytes_per_key` bytes is read as `w = ceil(bytes / 4)`
//! little-endian 32-bit words, `h = w / 2` and `odd = w % 2`. Counter pair `(i, i + h + odd)`
//! for `i < h` gives word `i` (first half of the hash) and word `i + h + odd` (second half);
//! when `w` is odd, word `h` is the first half of the hash of `(h, 0)`. The last word is cut to
//! the bytes that remain, so widths 1 and 2 and odd sizes pack with no gap, and consecutive
//! keys' blocks follow each other byte for byte.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::error::Result;
use crate::primitive::OutputSpec;
use rayon::prelude::*;

/// Counter pairs hashed per step: one AVX-512 register of `u32`.
const LANES: usize = 16;

/// Threefry-2x32 with 20 rounds of `key` over the counter pair `(c0, c1)`.
#[inline(always)]
pub(crate) fn threefry2x32(key: (u32, u32), c0: u32, c1: u32) -> (u32, u32) {
    let mut x = [c0];
    let mut y = [c1];
    threefry_lanes(key, &mut x, &mut y);
    (x[0], y[0])
}

/// Threefry-2x32 on every lane of `x`/`y` in place (the counters in, the hash out): MLX's
/// rotations and key injections, written out so that each step is one vector instruction.
#[inline(always)]
fn threefry_lanes<const N: usize>(key: (u32, u32), x: &mut [u32; N], y: &mut [u32; N]) {
    let ks = [key.0, key.1, key.0 ^ key.1 ^ 0x1BD1_1BDA];
    let mut a = *x;
    let mut b = *y;
    for i in 0..N {
        a[i] = a[i].wrapping_add(ks[0]);
        b[i] = b[i].wrapping_add(ks[1]);
    }
    macro_rules! mix {
        ($r:literal) => {
            for i in 0..N {
                a[i] = a[i].wrapping_add(b[i]);
                b[i] = b[i].rotate_left($r) ^ a[i];
            }
        };
    }
    macro_rules! inject {
        ($round:literal) => {
            let ka = ks[($round + 1) % 3];
            let kb = ks[($round + 2) % 3].wrapping_add($round + 1);
            for i in 0..N {
                a[i] = a[i].wrapping_add(ka);
                b[i] = b[i].wrapping_add(kb);
            }
        };
    }
    mix!(13);
    mix!(15);
    mix!(26);
    mix!(6);
    inject!(0);
    mix!(17);
    mix!(29);
    mix!(16);
    mix!(24);
    inject!(1);
    mix!(13);
    mix!(15);
    mix!(26);
    mix!(6);
    inject!(2);
    mix!(17);
    mix!(29);
    mix!(16);
    mix!(24);
    inject!(3);
    mix!(13);
    mix!(15);
    mix!(26);
    mix!(6);
    inject!(4);
    *x = a;
    *y = b;
}

/// The hashes of the `LANES` counter pairs `(c, c + shift)` from `c = first`.
#[inline(always)]
fn hash_chunk(key: (u32, u32), first: usize, shift: usize) -> ([u32; LANES], [u32; LANES]) {
    let mut x = [0u32; LANES];
    let mut y = [0u32; LANES];
    for l in 0..LANES {
        let c = (first + l) as u32;
        x[l] = c;
        y[l] = c.wrapping_add(shift as u32);
    }
    threefry_lanes(key, &mut x, &mut y);
    (x, y)
}

/// Writes the words `lo[j] = hash(start + j, start + j + shift).0` and
/// `hi[j] = hash(...).1` for one stretch of counters (`lo` and `hi` as little-endian bytes; `hi`
/// may end in a partial word).
#[inline(always)]
fn fill_pairs(key: (u32, u32), start: usize, shift: usize, lo: &mut [u8], hi: &mut [u8]) {
    let hash = |j: usize| hash_chunk(key, start + j, shift);
    // SAFETY: any bytes are valid u32s and any u32s valid bytes; `align_to_mut` only hands out
    // the aligned middle.
    let (lo_pre, lo_w, lo_post) = unsafe { lo.align_to_mut::<u32>() };
    let (hi_pre, hi_w, hi_post) = unsafe { hi.align_to_mut::<u32>() };
    if lo_pre.is_empty()
        && lo_post.is_empty()
        && hi_pre.is_empty()
        && hi_post.is_empty()
        && cfg!(target_endian = "little")
    {
        // Whole aligned words (uint32 output, the common case): vector stores.
        let n = lo_w.len();
        let full = n / LANES;
        for (c, (l, h)) in lo_w
            .chunks_exact_mut(LANES)
            .zip(hi_w.chunks_exact_mut(LANES))
            .enumerate()
        {
            let (x, y) = hash(c * LANES);
            l.copy_from_slice(&x);
            h.copy_from_slice(&y);
        }
        let j = full * LANES;
        if j < n {
            let (x, y) = hash(j);
            let m = n - j;
            lo_w[j..].copy_from_slice(&x[..m]);
            hi_w[j..].copy_from_slice(&y[..m]);
        }
        return;
    }
    let n = lo.len() / 4;
    let mut j = 0;
    while j < n {
        let m = (n - j).min(LANES);
        let (x, y) = hash(j);
        for l in 0..m {
            let w = j + l;
            lo[4 * w..4 * w + 4].copy_from_slice(&x[l].to_le_bytes());
            let end = (4 * w + 4).min(hi.len());
            hi[4 * w..end].copy_from_slice(&y[l].to_le_bytes()[..end - 4 * w]);
        }
        j += m;
    }
}

/// [`fill_pairs`] compiled for AVX-512 or AVX2 when the CPU has them (chosen at run time).
fn fill_pairs_best(key: (u32, u32), start: usize, shift: usize, lo: &mut [u8], hi: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2")]
        fn avx512(key: (u32, u32), start: usize, shift: usize, lo: &mut [u8], hi: &mut [u8]) {
            fill_pairs(key, start, shift, lo, hi)
        }
        #[target_feature(enable = "avx2")]
        fn avx2(key: (u32, u32), start: usize, shift: usize, lo: &mut [u8], hi: &mut [u8]) {
            fill_pairs(key, start, shift, lo, hi)
        }
        use std::sync::OnceLock;
        static LEVEL: OnceLock<u8> = OnceLock::new();
        let level = *LEVEL.get_or_init(|| {
            if is_x86_feature_detected!("avx512f") {
                2
            } else if is_x86_feature_detected!("avx2") {
                1
            } else {
                0
            }
        });
        match level {
            // SAFETY: the CPU has AVX-512F (checked at run time above).
            2 => return unsafe { avx512(key, start, shift, lo, hi) },
            // SAFETY: the CPU has AVX2 (checked at run time above).
            1 => return unsafe { avx2(key, start, shift, lo, hi) },
            _ => {}
        }
    }
    fill_pairs(key, start, shift, lo, hi)
}

/// Counter pairs per parallel task.
const CHUNK_PAIRS: usize = 1 << 14;

/// Fills one key's block of `out.len()` bytes.
fn fill_block(key: (u32, u32), out: &mut [u8]) {
    let words = out.len().div_ceil(4);
    let half = words / 2;
    let odd = words % 2;
    let (lo, rest) = out.split_at_mut(4 * half);
    // With an odd word count the middle word may be the last, partial one.
    let (mid, hi) = rest.split_at_mut((4 * odd).min(rest.len()));
    if odd == 1 {
        let (w, _) = threefry2x32(key, half as u32, 0);
        mid.copy_from_slice(&w.to_le_bytes()[..mid.len()]);
    }
    let shift = half + odd;
    if half < CHUNK_PAIRS {
        fill_pairs_best(key, 0, shift, lo, hi);
        return;
    }
    lo.par_chunks_mut(4 * CHUNK_PAIRS)
        .zip(hi.par_chunks_mut(4 * CHUNK_PAIRS))
        .enumerate()
        .for_each(|(c, (l, h))| fill_pairs_best(key, c * CHUNK_PAIRS, shift, l, h));
}

/// The random bits for every key of `keys` (`uint32`, shape `[..., 2]`, any layout): `spec`'s
/// bytes split evenly between the keys in order.
pub(crate) fn random_bits(keys: &Array, spec: &OutputSpec) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let nbytes = spec.size() * spec.dtype.size();
    let num_keys = keys.size() / 2;
    if nbytes == 0 || num_keys == 0 {
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let kd = keys.ready_data()?;
    let kv = kd.elements::<u32>();
    let loc = |i: usize| -> usize {
        // The element offset of flat index `i` of the keys under their strides.
        let mut rem = i;
        let mut off = kd.offset() as isize;
        for (d, &s) in keys.shape().iter().zip(kd.strides()).rev() {
            off += (rem % d) as isize * s;
            rem /= d;
        }
        off as usize
    };
    let key_pairs: Vec<(u32, u32)> = (0..num_keys)
        .map(|k| (kv[loc(2 * k)], kv[loc(2 * k + 1)]))
        .collect();
    let bytes_per_key = nbytes / num_keys;
    let out = &mut buffer_elements_mut::<u8>(&mut buf)[..nbytes];
    write_blocks(&key_pairs, bytes_per_key, out);
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// Fills `out` with one block of `bytes_per_key` bytes per key.
fn write_blocks(keys: &[(u32, u32)], bytes_per_key: usize, out: &mut [u8]) {
    if bytes_per_key == 0 {
        return;
    }
    if keys.len() > 1 && bytes_per_key < 4 * CHUNK_PAIRS && out.len() >= 8 * CHUNK_PAIRS {
        // Many small blocks: the keys split between the threads.
        out.par_chunks_mut(bytes_per_key)
            .zip(keys.par_iter())
            .for_each(|(block, &k)| fill_block(k, block));
    } else {
        for (block, &k) in out.chunks_mut(bytes_per_key).zip(keys) {
            fill_block(k, block);
        }
    }
}

/// A buffer of `n` random `u32` words from `key` (tests and benchmarks).
#[cfg(test)]
fn words(key: (u32, u32), n: usize) -> Vec<u32> {
    let mut bytes = vec![0u8; 4 * n];
    write_blocks(&[key], 4 * n, &mut bytes);
    bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straight transcription of the layout described in the module docs, one word at a time.
    fn reference(key: (u32, u32), bytes: usize) -> Vec<u8> {
        let words = bytes.div_ceil(4);
        let (half, odd) = (words / 2, words % 2);
        let mut out = Vec::with_capacity(4 * words);
        for w in 0..words {
            let v = if w < half {
                threefry2x32(key, w as u32, (w + half + odd) as u32).0
            } else if odd == 1 && w == half {
                threefry2x32(key, half as u32, 0).0
            } else {
                threefry2x32(key, (w - half - odd) as u32, w as u32).1
            };
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.truncate(bytes);
        out
    }

    #[test]
    fn split_of_key_zero_matches_mlx() {
        // mx.random.split(mx.random.key(0)) in MLX 0.32.4.
        assert_eq!(
            words((0, 0), 4),
            vec![4146024105, 967050713, 2718843009, 1272950319]
        );
    }

    #[test]
    fn blocks_match_the_reference_layout() {
        for bytes in [
            0,
            1,
            2,
            3,
            4,
            5,
            7,
            8,
            9,
            13,
            64,
            67,
            1000,
            4 * CHUNK_PAIRS * 2 + 6,
        ] {
            let mut out = vec![0u8; bytes];
            write_blocks(&[(7, 9)], bytes, &mut out);
            assert_eq!(out, reference((7, 9), bytes), "{bytes} bytes");
        }
        // Several keys, blocks back to back.
        let keys = [(1, 2), (3, 4), (5, 6)];
        let mut out = vec![0u8; 15];
        write_blocks(&keys, 5, &mut out);
        let want: Vec<u8> = keys.iter().flat_map(|&k| reference(k, 5)).collect();
        assert_eq!(out, want);
    }
}
