//! Golden cases of window functions, minmax, hadamard_transform, gather_mm, segmented_mm and
//! block_masked_mm against MLX 0.32.4, plus rmlx's own checks where rmlx goes beyond MLX.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::Array;

#[test]
fn extra_ops_match_mlx() {
    check_family("extra", |op, ins, kw| {
        let a = |i: usize| arr(&ins[i]);
        let flag = |k: &str| kw_bool(kw, k).unwrap_or(false);
        // Optional array inputs follow the two operands in order, as flagged in kwargs.
        let optional = |names: &[&str]| -> Vec<Option<Array>> {
            let mut next = 2;
            names
                .iter()
                .map(|k| {
                    flag(k).then(|| {
                        next += 1;
                        a(next - 1)
                    })
                })
                .collect()
        };
        Ok(match op {
            "hanning" => vec![mx::hanning(kw_i64(kw, "m").unwrap())?],
            "hamming" => vec![mx::hamming(kw_i64(kw, "m").unwrap())?],
            "blackman" => vec![mx::blackman(kw_i64(kw, "m").unwrap())?],
            "bartlett" => vec![mx::bartlett(kw_i64(kw, "m").unwrap())?],
            "minmax" => {
                let (lo, hi) = match kw_list(kw, "axis") {
                    Some(axes) => mx::minmax_axes(&a(0), axes, flag("keepdims"))?,
                    None => mx::minmax(&a(0))?,
                };
                vec![lo, hi]
            }
            "hadamard_transform" => {
                let scale = kw_f64(kw, "scale").map(|s| s as f32);
                vec![mx::hadamard_transform(&a(0), scale)?]
            }
            "gather_mm" => {
                let idx = optional(&["lhs", "rhs"]);
                vec![mx::gather_mm(
                    &a(0),
                    &a(1),
                    idx[0].as_ref(),
                    idx[1].as_ref(),
                    flag("sorted"),
                )?]
            }
            "segmented_mm" => vec![mx::segmented_mm(&a(0), &a(1), &a(2))?],
            "block_masked_mm" => {
                let m = optional(&["out", "lhs", "rhs"]);
                vec![mx::block_masked_mm(
                    &a(0),
                    &a(1),
                    kw_i64(kw, "block_size").unwrap() as usize,
                    m[0].as_ref(),
                    m[1].as_ref(),
                    m[2].as_ref(),
                )?]
            }
            "gated_delta_update" => {
                let s0 = flag("state").then(|| a(5));
                let m = flag("mask").then(|| a(ins.len() - 1));
                let (o, s) = mx::fast::gated_delta_update(
                    &a(0),
                    &a(1),
                    &a(2),
                    &a(3),
                    &a(4),
                    s0.as_ref(),
                    m.as_ref(),
                )?;
                vec![o, s]
            }
            _ => panic!("unknown op {op}"),
        })
    });
}

/// MLX's CPU gather_mm computes float32 only; rmlx's half-precision path multiplies in f32 and
/// rounds once, so it matches the float32 result rounded.
#[test]
fn gather_mm_half_precision_matches_float32() -> mx::Result<()> {
    let a = mx::arange(0.0, 30.0, 1.0)?.reshape([2, 3, 5])?;
    let b = mx::arange(0.0, 20.0, 0.5)?.reshape([2, 5, 4])?;
    let (li, ri) = (mx::array![1, 0, 1], mx::array![0, 0, 1]);
    let want = mx::gather_mm(&a, &b, Some(&li), Some(&ri), false)?;
    for d in [mx::float16, mx::bfloat16, mx::float64] {
        let got = mx::gather_mm(&a.astype(d)?, &b.astype(d)?, Some(&li), Some(&ri), false)?;
        assert_eq!(got.dtype(), d);
        assert_eq!(got.to_vec::<f64>()?, want.astype(d)?.to_vec::<f64>()?);
    }
    Ok(())
}

/// MLX's float16 segmented_mm returns rows out of order on the CPU; rmlx's half precision
/// agrees with float32 rounded.
#[test]
fn segmented_mm_half_precision_matches_float32() -> mx::Result<()> {
    let a = mx::arange(0.0, 24.0, 0.5)?.reshape([3, 16])?;
    let b = mx::arange(0.0, 32.0, 1.0)?.reshape([16, 2])?;
    let segs = mx::array![[0, 4], [4, 16], [3, 3]];
    let want = mx::segmented_mm(&a, &b, &segs)?;
    let got = mx::segmented_mm(&a.astype(mx::float16)?, &b.astype(mx::float16)?, &segs)?;
    assert_eq!(
        got.to_vec::<f32>()?,
        want.astype(mx::float16)?.to_vec::<f32>()?
    );
    Ok(())
}

/// rmlx reports out-of-range indices and segments (MLX reads out of bounds).
#[test]
fn out_of_range_indices_are_errors() -> mx::Result<()> {
    let a = mx::ones(&[2, 3, 4], mx::float32)?;
    let b = mx::ones(&[4, 5], mx::float32)?;
    let r = mx::gather_mm(&a, &b, Some(&mx::array![0, 2]), None, false)?;
    assert_eq!(r.eval().unwrap_err().kind(), mx::ErrorKind::Index);
    let a2 = mx::ones(&[3, 4], mx::float32)?;
    let r = mx::segmented_mm(&a2, &b, &mx::array![[0, 5]])?;
    assert_eq!(r.eval().unwrap_err().kind(), mx::ErrorKind::Index);
    // A length MLX transforms into meaningless values is an error here.
    assert!(mx::hadamard_transform(&mx::ones(&[36], mx::float32)?, None).is_err());
    Ok(())
}

/// A large transform runs the parallel path and is its own inverse (orthonormal scale).
#[test]
fn hadamard_is_an_involution() -> mx::Result<()> {
    let x = mx::arange(0.0, 64.0 * 1024.0, 1.0)?.reshape([64, 1024])?;
    let y = mx::hadamard_transform(&mx::hadamard_transform(&x, None)?, None)?;
    let err = mx::max(&mx::abs(&(&y - &x))?)?.item::<f32>()?;
    assert!(err < 0.1, "round trip error {err}");
    Ok(())
}
