//! Golden cases of `mlx.core.fast` (rms_norm, layer_norm, rope, scaled_dot_product_attention)
//! against MLX 0.32.4.

use crate::common::*;
use mx::fast::{AttentionMask, RopeOffset};
use rmlx_core as mx;
use serde_json::Value;

/// Takes the next input as an array.
fn next(ins: &[mx::Operand], i: &mut usize) -> mx::Array {
    *i += 1;
    arr(&ins[*i - 1])
}

fn flag(kw: &Value, key: &str) -> bool {
    kw_bool(kw, key).unwrap_or(false)
}

fn dispatch(op: &str, ins: &[mx::Operand], kw: &Value) -> mx::Result<Vec<mx::Array>> {
    let mut i = 0;
    let x = next(ins, &mut i);
    let eps = kw_f64(kw, "eps").unwrap_or(1e-5) as f32;
    Ok(vec![match op {
        "rms_norm" => {
            let w = flag(kw, "weight").then(|| next(ins, &mut i));
            mx::fast::rms_norm(&x, w.as_ref(), eps)?
        }
        "layer_norm" => {
            let w = flag(kw, "weight").then(|| next(ins, &mut i));
            let b = flag(kw, "bias").then(|| next(ins, &mut i));
            mx::fast::layer_norm(&x, w.as_ref(), b.as_ref(), eps)?
        }
        "rope" => {
            let offset = if flag(kw, "offset_array") {
                RopeOffset::Array(next(ins, &mut i))
            } else {
                RopeOffset::Int(kw_i64(kw, "offset").unwrap_or(0) as i32)
            };
            let freqs = flag(kw, "freqs").then(|| next(ins, &mut i));
            mx::fast::rope(
                &x,
                kw_i64(kw, "dims").expect("dims") as i32,
                flag(kw, "traditional"),
                kw_f64(kw, "base").map(|b| b as f32),
                kw_f64(kw, "scale").unwrap_or(1.0) as f32,
                offset,
                freqs.as_ref(),
            )?
        }
        "sdpa" => {
            let (k, v) = (next(ins, &mut i), next(ins, &mut i));
            let mask = match kw.get("mask").and_then(Value::as_str) {
                Some("array") => AttentionMask::Array(next(ins, &mut i)),
                Some(s) => s.parse()?,
                None => AttentionMask::None,
            };
            let sinks = flag(kw, "sinks").then(|| next(ins, &mut i));
            mx::fast::scaled_dot_product_attention(
                &x,
                &k,
                &v,
                kw_f64(kw, "scale").expect("scale") as f32,
                mask,
                sinks.as_ref(),
            )?
        }
        _ => panic!("unknown op {op}"),
    }])
}

#[test]
fn fast_family_matches_mlx() {
    check_family("fast", dispatch);
}

#[test]
fn string_masks_parse_as_mlx() {
    assert!(matches!(
        "causal".parse::<AttentionMask>(),
        Ok(AttentionMask::Causal)
    ));
    let e = "foo".parse::<AttentionMask>().unwrap_err();
    assert_eq!(e.kind(), mx::ErrorKind::Value);
    assert_eq!(
        e.message(),
        "[scaled_dot_product_attention] invalid mask option 'foo'. Must be 'causal', or an array."
    );
}

#[test]
fn zero_kv_heads_is_an_error_not_a_crash() {
    let q = mx::ones(&[1, 2, 2, 2], mx::float32).unwrap();
    let kv = mx::ones(&[1, 0, 2, 2], mx::float32).unwrap();
    let r = mx::fast::scaled_dot_product_attention(&q, &kv, &kv, 1.0, AttentionMask::None, None);
    assert!(r.is_err());
}

/// Norms of outputs large enough to be written with non-temporal stores (over 32 MB), with
/// rows that are and are not a whole number of 16-float vectors (so row starts fall off the
/// 64-byte boundaries), against a float64 loop over the same values.
#[test]
fn large_norms_match_a_direct_loop() {
    for (rows, d) in [(8400usize, 1024usize), (8400, 1001), (9000, 3)] {
        let n = rows * d;
        let xs: Vec<f32> = (0..n)
            .map(|i| ((i * 7919 % 1013) as f32 / 200.0 - 2.5) * if i % 3 == 0 { 4.0 } else { 1.0 })
            .collect();
        let ws: Vec<f32> = (0..d).map(|i| 0.5 + (i % 11) as f32 / 7.0).collect();
        let bs: Vec<f32> = (0..d).map(|i| (i % 5) as f32 / 3.0 - 0.6).collect();
        let x = mx::Array::from_slice(&xs, &[rows, d]).unwrap();
        let w = mx::Array::from_slice(&ws, &[d]).unwrap();
        let b = mx::Array::from_slice(&bs, &[d]).unwrap();
        for layer in [true, false] {
            let y = if layer {
                mx::fast::layer_norm(&x, Some(&w), Some(&b), 1e-5).unwrap()
            } else {
                mx::fast::rms_norm(&x, Some(&w), 1e-5).unwrap()
            };
            let got = y.to_vec::<f32>().unwrap();
            for r in (0..rows).step_by(37).chain([rows - 1]) {
                let row: Vec<f64> = xs[r * d..(r + 1) * d].iter().map(|&v| v as f64).collect();
                let mean = if layer {
                    row.iter().sum::<f64>() / d as f64
                } else {
                    0.0
                };
                let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / d as f64;
                let inv = 1.0 / (var + 1e-5).sqrt();
                for j in 0..d {
                    let want = (row[j] - mean) * inv * ws[j] as f64
                        + if layer { bs[j] as f64 } else { 0.0 };
                    let g = got[r * d + j] as f64;
                    assert!(
                        (g - want).abs() <= 1e-5 * (1.0 + want.abs()),
                        "{} ({rows}, {d}) row {r} col {j}: {g} vs {want}",
                        if layer { "layer_norm" } else { "rms_norm" }
                    );
                }
            }
        }
    }
}

/// The blocked attention kernel (over 256 keys, so not the short-sequence one) across several
/// key blocks, with a causal mask, an additive mask, sinks and grouped heads, against
/// `softmax(q k^T * scale + mask) v` computed in float64.
#[test]
fn long_attention_matches_the_unfused_formula() {
    let (nq, nkv, lq, lkv, d) = (2usize, 1usize, 300usize, 1100usize, 16usize);
    let val = |i: usize, salt: usize| ((i * 7919 + salt * 104729) % 2003) as f32 / 1001.5 - 1.0;
    let qs: Vec<f32> = (0..nq * lq * d).map(|i| val(i, 1)).collect();
    let ks: Vec<f32> = (0..nkv * lkv * d).map(|i| val(i, 2)).collect();
    let vs: Vec<f32> = (0..nkv * lkv * d).map(|i| val(i, 3)).collect();
    let ms: Vec<f32> = (0..lq * lkv).map(|i| 2.0 * val(i, 4)).collect();
    let sinks = [0.25f32, -0.5];
    let q = mx::Array::from_slice(&qs, &[1, nq, lq, d]).unwrap();
    let k = mx::Array::from_slice(&ks, &[1, nkv, lkv, d]).unwrap();
    let v = mx::Array::from_slice(&vs, &[1, nkv, lkv, d]).unwrap();
    let m = mx::Array::from_slice(&ms, &[lq, lkv]).unwrap();
    let sk = mx::Array::from_slice(&sinks, &[nq]).unwrap();
    let scale = 0.3f32;
    for (causal, additive, with_sinks) in [
        (true, false, false),
        (false, true, true),
        (true, false, true),
    ] {
        let mask = if causal {
            AttentionMask::Causal
        } else if additive {
            AttentionMask::Array(m.clone())
        } else {
            AttentionMask::None
        };
        let o = mx::fast::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            scale,
            mask,
            with_sinks.then_some(&sk),
        )
        .unwrap();
        let got = o.to_vec::<f32>().unwrap();
        for h in 0..nq {
            for i in (0..lq).step_by(7).chain([lq - 1]) {
                let qi = &qs[(h * lq + i) * d..][..d];
                let mut logits: Vec<f64> = (0..lkv)
                    .map(|j| {
                        let kj = &ks[j * d..][..d];
                        let dot: f64 = qi.iter().zip(kj).map(|(&a, &b)| a as f64 * b as f64).sum();
                        let mut s = dot * scale as f64;
                        if additive {
                            s += ms[i * lkv + j] as f64;
                        }
                        if causal && j > i + (lkv - lq) {
                            s = f64::NEG_INFINITY;
                        }
                        s
                    })
                    .collect();
                let sink = with_sinks.then(|| sinks[h] as f64);
                let top = logits
                    .iter()
                    .copied()
                    .chain(sink)
                    .fold(f64::NEG_INFINITY, f64::max);
                for l in &mut logits {
                    *l = (*l - top).exp();
                }
                let total: f64 = logits.iter().sum::<f64>() + sink.map_or(0.0, |s| (s - top).exp());
                for c in 0..d {
                    let want: f64 = logits
                        .iter()
                        .enumerate()
                        .map(|(j, p)| p * vs[j * d + c] as f64)
                        .sum::<f64>()
                        / total;
                    let g = got[(h * lq + i) * d + c] as f64;
                    assert!(
                        (g - want).abs() <= 1e-5 + 1e-4 * want.abs(),
                        "causal {causal} additive {additive} sinks {with_sinks}: head {h} row {i} col {c}: {g} vs {want}"
                    );
                }
            }
        }
    }
}
