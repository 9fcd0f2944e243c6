//! Golden cases of the sorting family (sort, argsort, partition, argpartition, topk,
//! searchsorted, unique) recorded from MLX 0.32.4, plus checks of the parallel paths.
//!
//! MLX leaves the order inside each side of a partition and the order of topk's result
//! unspecified, so those cases (kwargs `"canon": true`) compare a canonical form that
//! tools/goldens/gen_sort.py documents: each partitioned lane as `sorted(lane[..kth])`,
//! `lane[kth]`, `sorted(lane[kth + 1..])` (for argpartition: of the input values its indices
//! pick, after checking that every lane is a permutation), and topk's lanes sorted. The
//! partition property depends only on that form, so an exact match proves it holds.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Operand};
use serde_json::Value;

/// The axis kwarg: absent is MLX's default `-1`, `null` is `None` (flatten).
fn axis_kw(kw: &Value) -> Option<isize> {
    match kw.get("axis") {
        None => Some(-1),
        Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().expect("axis") as isize),
    }
}

/// The normalised axis an op worked along (0 for a flattened input).
fn lane_axis(a: &Array, axis: Option<isize>) -> usize {
    match axis {
        None => 0,
        Some(ax) if ax < 0 => (ax + a.ndim() as isize) as usize,
        Some(ax) => ax as usize,
    }
}

/// `a` as the op saw it: flattened for `None`.
fn lane_view(a: &Array, axis: Option<isize>) -> mx::Result<Array> {
    match axis {
        None => mx::reshape(a, [-1]),
        Some(_) => Ok(a.clone()),
    }
}

fn sorted_vec<T: mx::Element>(v: &[T]) -> mx::Result<Vec<T>> {
    if v.is_empty() {
        return Ok(Vec::new());
    }
    mx::sort(&Array::from_slice(v, &[v.len()])?)?.to_vec::<T>()
}

/// Each lane along `axis` as `sorted(lane[..k]) + [lane[k]] + sorted(lane[k + 1..])`.
fn canon_partition(out: &Array, kth: i64, axis: usize) -> mx::Result<Array> {
    if out.size() == 0 {
        return Ok(out.clone());
    }
    let x = mx::moveaxis(out, axis as isize, -1)?;
    let n = *x.shape().last().expect("at least 1-D");
    let k = kth.rem_euclid(n as i64) as usize;
    mx::dispatch_dtype!(x.dtype(), T => {
        let v = x.to_vec::<T>()?;
        let mut res: Vec<T> = Vec::with_capacity(v.len());
        for lane in v.chunks(n) {
            res.extend(sorted_vec(&lane[..k])?);
            res.push(lane[k]);
            res.extend(sorted_vec(&lane[k + 1..])?);
        }
        mx::moveaxis(&Array::from_slice(&res, x.shape())?, -1, axis as isize)
    })
}

/// The values of `x` that `idx` picks along `axis`, after checking each lane of `idx` is a
/// permutation.
fn gather_lanes(x: &Array, idx: &Array, axis: usize) -> mx::Result<Array> {
    if x.size() == 0 {
        return Ok(x.clone());
    }
    let xm = mx::moveaxis(x, axis as isize, -1)?;
    let im = mx::moveaxis(idx, axis as isize, -1)?.to_vec::<u32>()?;
    let n = *xm.shape().last().expect("at least 1-D");
    mx::dispatch_dtype!(xm.dtype(), T => {
        let v = xm.to_vec::<T>()?;
        let mut res: Vec<T> = Vec::with_capacity(v.len());
        for (lane, il) in v.chunks(n).zip(im.chunks(n)) {
            let mut seen = vec![false; n];
            for &i in il {
                let i = i as usize;
                if i >= n || seen[i] {
                    return Err(mx::Error::runtime(format!("lane {il:?} is not a permutation")));
                }
                seen[i] = true;
                res.push(lane[i]);
            }
        }
        mx::moveaxis(&Array::from_slice(&res, xm.shape())?, -1, axis as isize)
    })
}

fn partition_canon(a: &Array, kw: &Value) -> mx::Result<Array> {
    let kth = kw_i64(kw, "kth").expect("kth");
    let axis = axis_kw(kw);
    let p = match axis {
        Some(ax) => mx::partition_axis(a, kth as isize, ax)?,
        None => mx::partition_axis(a, kth as isize, None)?,
    };
    canon_partition(&p, kth, lane_axis(a, axis))
}

fn argpartition_canon(a: &Array, kw: &Value) -> mx::Result<Array> {
    let kth = kw_i64(kw, "kth").expect("kth");
    let axis = axis_kw(kw);
    let idx = mx::argpartition_axis(a, kth as isize, axis)?;
    let ax = lane_axis(a, axis);
    let picked = gather_lanes(&lane_view(a, axis)?, &idx, ax)?;
    canon_partition(&picked, kth, ax)
}

fn dispatch(op: &str, ins: &[Operand], kw: &Value) -> mx::Result<Vec<Array>> {
    let a = arr(&ins[0]);
    let axis = axis_kw(kw);
    match op {
        "sort_argsort" => {
            if kw.get("axis").is_none() {
                Ok(vec![mx::sort(&a)?, mx::argsort(&a)?])
            } else {
                Ok(vec![mx::sort_axis(&a, axis)?, mx::argsort_axis(&a, axis)?])
            }
        }
        "sort" => Ok(vec![mx::sort_axis(&a, axis)?]),
        "argsort" => Ok(vec![mx::argsort_axis(&a, axis)?]),
        "partition" => Ok(vec![partition_canon(&a, kw)?]),
        "partition_argpartition" => Ok(vec![partition_canon(&a, kw)?, argpartition_canon(&a, kw)?]),
        "topk" => {
            let k = kw_i64(kw, "k").expect("k") as isize;
            let t = if kw.get("axis").is_none() {
                mx::topk(&a, k)?
            } else {
                mx::topk_axis(&a, k, axis)?
            };
            let sort_axis = axis.unwrap_or(-1);
            Ok(vec![mx::sort_axis(&t, sort_axis)?])
        }
        "searchsorted" => {
            let v = arr(&ins[1]);
            match kw.get("side").and_then(Value::as_str) {
                None => Ok(vec![mx::searchsorted(&a, &v)?]),
                Some(side) => Ok(vec![mx::searchsorted_side(&a, &v, side)?]),
            }
        }
        "unique" => {
            let size = kw_i64(kw, "size").expect("size") as isize;
            let flags = ["return_index", "return_inverse", "return_counts"]
                .map(|k| kw_bool(kw, k).unwrap_or(false));
            if flags == [false; 3] && ins.len() == 1 {
                return Ok(vec![mx::unique(&a, size)?]);
            }
            let opts = mx::UniqueOptions {
                return_index: flags[0],
                return_inverse: flags[1],
                return_counts: flags[2],
                fill_value: ins.get(1).cloned(),
            };
            mx::unique_with(&a, size, &opts)
        }
        _ => panic!("unknown op {op}"),
    }
}

#[test]
fn sort_matches_mlx() {
    check_family("sort", dispatch);
}

/// A deterministic pseudo-random sequence with many ties.
fn lcg(n: usize, modulo: u64) -> Vec<i32> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) % modulo) as i32
        })
        .collect()
}

/// The stable argsort of one lane, computed the plain way.
fn reference_argsort(lane: &[i32]) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..lane.len() as u32).collect();
    idx.sort_by_key(|&i| lane[i as usize]);
    idx
}

#[test]
fn large_sorts_use_every_path() -> mx::Result<()> {
    // One long lane (parallel sort inside it), many lanes (parallel over lanes), and a
    // non-last axis; all against a plain stable sort.
    for (rows, cols) in [(1usize, 100_000usize), (3, 40_000), (400, 300)] {
        let v = lcg(rows * cols, 50);
        let a = Array::from_slice(&v, &[rows, cols])?;
        let idx = mx::argsort(&a)?.to_vec::<u32>()?;
        let s = mx::sort(&a)?.to_vec::<i32>()?;
        for r in 0..rows {
            let lane = &v[r * cols..(r + 1) * cols];
            let want = reference_argsort(lane);
            assert_eq!(&idx[r * cols..(r + 1) * cols], want.as_slice());
            let vals: Vec<i32> = want.iter().map(|&i| lane[i as usize]).collect();
            assert_eq!(&s[r * cols..(r + 1) * cols], vals.as_slice());
        }
        // Along axis 0 through a transposed view: the same lanes.
        let t = mx::argsort_axis(&a.T(), 0)?;
        assert_eq!(t.T().to_vec::<u32>()?, idx);
        let k = cols / 3;
        let top = mx::topk(&a, k as isize)?.to_vec::<i32>()?;
        let p = mx::partition(&a, k as isize)?.to_vec::<i32>()?;
        for r in 0..rows {
            let sorted = &s[r * cols..(r + 1) * cols];
            assert_eq!(&top[r * k..(r + 1) * k], &sorted[cols - k..]);
            let lane = &p[r * cols..(r + 1) * cols];
            assert_eq!(lane[k], sorted[k]);
            assert!(lane[..k].iter().all(|&x| x <= lane[k]));
            assert!(lane[k + 1..].iter().all(|&x| x >= lane[k]));
        }
    }
    Ok(())
}

#[test]
fn large_unique_and_searchsorted() -> mx::Result<()> {
    let v = lcg(100_000, 1000);
    let a = Array::from_slice(&v, &[100_000])?;
    let opts = mx::UniqueOptions {
        return_index: true,
        return_inverse: true,
        return_counts: true,
        fill_value: None,
    };
    let out = mx::unique_with(&a, 1000, &opts)?;
    let vals = out[0].to_vec::<i32>()?;
    assert_eq!(vals, (0..1000).collect::<Vec<i32>>());
    let index = out[1].to_vec::<u32>()?;
    let inverse = out[2].to_vec::<u32>()?;
    let counts = out[3].to_vec::<i32>()?;
    for (u, &i) in index.iter().enumerate() {
        assert_eq!(v[i as usize], u as i32);
        assert!(v[..i as usize].iter().all(|&x| x != u as i32));
    }
    for (i, &g) in inverse.iter().enumerate() {
        assert_eq!(vals[g as usize], v[i]);
    }
    assert_eq!(counts.iter().sum::<i32>(), 100_000);
    let sorted = mx::sort(&a)?;
    let pos = mx::searchsorted(&sorted, &a)?.to_vec::<u32>()?;
    let s = sorted.to_vec::<i32>()?;
    for (i, &p) in pos.iter().enumerate() {
        assert_eq!(p as usize, s.partition_point(|&x| x < v[i]));
    }
    Ok(())
}
