//! Reductions, scans, softmax and closeness tests against MLX 0.32.4 goldens, plus checks of
//! the parallel paths (arrays above the parallel threshold) against a plain loop.

use crate::common::*;
use rmlx_core as mx;
use serde_json::Value;

/// The `axis` kwarg: `None` when absent or null, else the list of axes.
fn axes(kw: &Value) -> Option<Vec<isize>> {
    kw_list(kw, "axis").map(|v| v.into_iter().map(|a| a as isize).collect())
}

/// Runs a reduction with MLX's (axis, keepdims) semantics: all axes when `axis` is None.
fn reduce(
    x: &mx::Array,
    kw: &Value,
    all: impl Fn(&mx::Array) -> mx::Result<mx::Array>,
    some: impl Fn(&mx::Array, Vec<isize>, bool) -> mx::Result<mx::Array>,
) -> mx::Result<mx::Array> {
    let keep = kw_bool(kw, "keepdims").unwrap_or(false);
    match axes(kw) {
        None if !keep => all(x),
        None => some(x, (0..x.ndim() as isize).collect(), true),
        Some(ax) => some(x, ax, keep),
    }
}

fn dispatch(op: &str, ins: &[mx::Operand], kw: &Value) -> mx::Result<Vec<mx::Array>> {
    let x = arr(&ins[0]);
    let keep = kw_bool(kw, "keepdims").unwrap_or(false);
    let ddof = kw_i64(kw, "ddof").unwrap_or(0);
    let axis1 = kw_i64(kw, "axis").map(|a| a as isize);
    let scan_opts = mx::ScanOptions {
        reverse: kw_bool(kw, "reverse").unwrap_or(false),
        inclusive: kw_bool(kw, "inclusive").unwrap_or(true),
    };
    let close = || mx::CloseOptions {
        rtol: kw_f64(kw, "rtol").unwrap_or(1e-5),
        atol: kw_f64(kw, "atol").unwrap_or(1e-8),
        equal_nan: kw_bool(kw, "equal_nan").unwrap_or(false),
    };
    let out = match op {
        "sum" => reduce(&x, kw, |a| mx::sum(a), |a, ax, k| mx::sum_axes(a, ax, k)),
        "prod" => reduce(&x, kw, |a| mx::prod(a), |a, ax, k| mx::prod_axes(a, ax, k)),
        "mean" => reduce(&x, kw, |a| mx::mean(a), |a, ax, k| mx::mean_axes(a, ax, k)),
        "max" => reduce(&x, kw, |a| mx::max(a), |a, ax, k| mx::max_axes(a, ax, k)),
        "min" => reduce(&x, kw, |a| mx::min(a), |a, ax, k| mx::min_axes(a, ax, k)),
        "all" => reduce(&x, kw, |a| mx::all(a), |a, ax, k| mx::all_axes(a, ax, k)),
        "any" => reduce(&x, kw, |a| mx::any(a), |a, ax, k| mx::any_axes(a, ax, k)),
        "logsumexp" => reduce(
            &x,
            kw,
            |a| mx::logsumexp(a),
            |a, ax, k| mx::logsumexp_axes(a, ax, k),
        ),
        "count_nonzero" => reduce(
            &x,
            kw,
            |a| mx::count_nonzero(a),
            |a, ax, k| mx::count_nonzero_axes(a, ax, k),
        ),
        "median" => reduce(
            &x,
            kw,
            |a| mx::median(a),
            |a, ax, k| mx::median_axes(a, ax, k),
        ),
        "var" => reduce(
            &x,
            kw,
            |a| mx::var_axes(a, (0..a.ndim() as isize).collect::<Vec<_>>(), false, ddof),
            |a, ax, k| mx::var_axes(a, ax, k, ddof),
        ),
        "std" => reduce(
            &x,
            kw,
            |a| mx::std_axes(a, (0..a.ndim() as isize).collect::<Vec<_>>(), false, ddof),
            |a, ax, k| mx::std_axes(a, ax, k, ddof),
        ),
        "argmax" => mx::argmax_opts(&x, axis1, keep),
        "argmin" => mx::argmin_opts(&x, axis1, keep),
        "cumsum" => mx::cumsum_with(&x, axis1, scan_opts),
        "cumprod" => mx::cumprod_with(&x, axis1, scan_opts),
        "cummax" => mx::cummax_with(&x, axis1, scan_opts),
        "cummin" => mx::cummin_with(&x, axis1, scan_opts),
        "logcumsumexp" => mx::logcumsumexp_with(&x, axis1, scan_opts),
        "softmax" => {
            let ax = axes(kw);
            mx::softmax_opts(&x, ax.as_deref(), kw_bool(kw, "precise").unwrap_or(false))
        }
        "isclose" => mx::isclose_with(&x, &arr(&ins[1]), close()),
        "allclose" => mx::allclose_with(&x, &arr(&ins[1]), close()),
        "array_equal" => {
            mx::array_equal(&x, arr(&ins[1]), kw_bool(kw, "equal_nan").unwrap_or(false))
        }
        _ => panic!("unknown op {op}"),
    }?;
    Ok(vec![out])
}

#[test]
fn reduce_matches_mlx() {
    check_family("reduce", dispatch);
}

/// Large arrays take the parallel paths; compare them with a plain f64 loop.
#[test]
fn parallel_paths_match_a_plain_loop() -> mx::Result<()> {
    let (r, c) = (700usize, 300usize);
    let vals: Vec<f32> = (0..r * c)
        .map(|i| ((i * 7919) % 1000) as f32 / 100.0 - 5.0)
        .collect();
    let a = mx::Array::from_slice(&vals, &[r, c])?;
    let s0 = mx::sum_axes(&a, 0, false)?.to_vec::<f32>()?;
    let s1 = mx::sum_axes(&a, 1, false)?.to_vec::<f32>()?;
    for j in 0..c {
        let want: f64 = (0..r).map(|i| vals[i * c + j] as f64).sum();
        assert!((s0[j] as f64 - want).abs() < 1e-3, "column {j}");
    }
    for i in 0..r {
        let want: f64 = (0..c).map(|j| vals[i * c + j] as f64).sum();
        assert!((s1[i] as f64 - want).abs() < 1e-3, "row {i}");
    }
    let total = mx::sum(&a)?.item::<f32>()? as f64;
    let want: f64 = vals.iter().map(|&v| v as f64).sum();
    assert!((total - want).abs() < 1e-2 * want.abs().max(1.0));
    let am = mx::argmax_axis(&a, -1, false)?.to_vec::<u32>()?;
    let am0 = mx::argmax_axis(&a, 0, false)?.to_vec::<u32>()?;
    for i in 0..r {
        let row = &vals[i * c..(i + 1) * c];
        let best = (0..c).fold(0, |b, j| if row[j] > row[b] { j } else { b });
        assert_eq!(am[i] as usize, best);
    }
    for j in 0..c {
        let best = (0..r).fold(0, |b, i| {
            if vals[i * c + j] > vals[b * c + j] {
                i
            } else {
                b
            }
        });
        assert_eq!(am0[j] as usize, best);
    }
    let mx0 = mx::max_axes(&a, 0, false)?.to_vec::<f32>()?;
    for j in 0..c {
        assert_eq!(
            mx0[j],
            (0..r).map(|i| vals[i * c + j]).fold(f32::MIN, f32::max)
        );
    }
    // Few long output rows: the column split, and the split of reduced rows.
    let b = mx::Array::from_slice(&vals, &[r * c / 20, 20])?;
    let sb = mx::sum_axes(&b, 0, false)?.to_vec::<f32>()?;
    for j in 0..20 {
        let want: f64 = (0..r * c / 20).map(|i| vals[i * 20 + j] as f64).sum();
        assert!((sb[j] as f64 - want).abs() < 1e-2, "column {j}");
    }
    let sm = mx::softmax(&a, -1)?.sum_axes(-1, false)?.to_vec::<f32>()?;
    assert!(sm.iter().all(|&v| (v - 1.0).abs() < 1e-5));
    let cs = mx::cumsum(&a, Some(0))?.to_vec::<f32>()?;
    let last: f64 = (0..r).map(|i| vals[i * c + 5] as f64).sum();
    assert!((cs[(r - 1) * c + 5] as f64 - last).abs() < 1e-2);
    Ok(())
}

/// `softmax` of a 0-d array: over no axes (or all of none) it is 1; naming an axis is MLX's
/// ValueError, not an axis error.
#[test]
fn softmax_of_a_scalar() {
    let x = mx::Array::scalar(3.0f32);
    assert_eq!(
        mx::softmax_opts(&x, None, false)
            .unwrap()
            .item::<f32>()
            .unwrap(),
        1.0
    );
    assert_eq!(
        mx::softmax_opts(&x, Some(&[]), false)
            .unwrap()
            .item::<f32>()
            .unwrap(),
        1.0
    );
    for axis in [0isize, -1] {
        let e = mx::softmax(&x, axis).unwrap_err();
        assert_eq!(e.kind(), mx::ErrorKind::Value);
        assert_eq!(
            e.message(),
            "[softmax] Received non-empty axes for array with 0 dimensions."
        );
    }
}
