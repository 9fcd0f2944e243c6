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
