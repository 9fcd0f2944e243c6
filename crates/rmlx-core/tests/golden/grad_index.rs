//! Derivatives of the indexing, linear algebra, convolution, fast and quantized primitives
//! against MLX 0.32.4 (tools/goldens/gen_grad_index.py): duplicate indices, ties, convolution
//! weight gradients, fast ops in float32, and MLX's errors.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, AxisSlice, Index, Operand, QuantMode, s};
use serde_json::Value;

/// An integer kwarg given as one number or a list.
fn kw_ints(kw: &Value, key: &str) -> Vec<i64> {
    match &kw[key] {
        Value::Number(n) => vec![n.as_i64().expect("int")],
        Value::Array(v) => v.iter().map(|x| x.as_i64().expect("int")).collect(),
        other => panic!("kwarg {key}: {other}"),
    }
}

/// The function `name` of the generator on its positional arguments `p` (the primals or
/// mapped arguments, then the arrays it closes over).
fn call(name: &str, p: &[Array], kw: &Value) -> mx::Result<Array> {
    macro_rules! how {
        ($at:expr, $u:expr) => {
            match kw["how"].as_str().expect("how") {
                "add" => $at.add($u),
                "maximum" => $at.maximum($u),
                "minimum" => $at.minimum($u),
                "multiply" => $at.multiply($u),
                h => panic!("at.{h}"),
            }
        };
    }
    match name {
        "take" => mx::take(&p[0], &p[1], kw_i64(kw, "axis").map(|a| a as isize)),
        "index2" => p[0].index(s![&p[1], .., &p[2]]),
        "setitem" => {
            let mut y = mx::multiply(&p[0], 1.0)?;
            y.index_put(s![&p[2]], &p[1])?;
            Ok(y)
        }
        "at" => how!(p[0].at(s![&p[2]]), &p[1]),
        "at_slice" => how!(p[0].at(s![1..4]), &p[1]),
        "set_slice" => {
            let mut y = mx::multiply(&p[0], 1.0)?;
            let idx = [
                Index::Slice(AxisSlice::new(Some(1), Some(5), 2)),
                Index::Slice(AxisSlice::full().step(-1)),
            ];
            y.index_put(idx, &p[1])?;
            Ok(y)
        }
        "take_along" => mx::take_along_axis(&p[0], &p[1], kw_i64(kw, "axis").map(|a| a as isize)),
        "put_along" => {
            mx::put_along_axis(&p[0], &p[2], &p[1], kw_i64(kw, "axis").map(|a| a as isize))
        }
        "dyn_slice" => mx::slice_dynamic(&p[0], &p[1], [0, 1], [2, 3]),
        "dyn_update" => mx::slice_update_dynamic(&p[0], &p[1], &p[2], [0, 1]),
        "addmm" => {
            let alpha = kw_f64(kw, "alpha").unwrap() as f32;
            let beta = kw_f64(kw, "beta").unwrap() as f32;
            mx::addmm(&p[0], &p[1], &p[2], alpha, beta)
        }
        "vecdot" => mx::vecdot(&p[0], &p[1]),
        "gather_mm" => mx::gather_mm(&p[0], &p[1], Some(&p[2]), Some(&p[3]), false),
        "hadamard" => mx::hadamard_transform(&p[0], None),
        "conv" => mx::conv_general(
            &p[0],
            &p[1],
            kw_ints(kw, "stride"),
            (kw_ints(kw, "lo"), kw_ints(kw, "hi")),
            kw_ints(kw, "kd"),
            kw_ints(kw, "idl"),
            kw_i64(kw, "groups").unwrap(),
            kw_bool(kw, "flip").unwrap(),
        ),
        "rms" => mx::fast::rms_norm(&p[0], Some(&p[1]), 1e-5),
        "ln" => mx::fast::layer_norm(&p[0], Some(&p[1]), Some(&p[2]), 1e-5),
        "rope" => mx::fast::rope(
            &p[0],
            6,
            kw_bool(kw, "traditional").unwrap(),
            Some(10000.0),
            0.5,
            kw_i64(kw, "offset").unwrap() as i32,
            None,
        ),
        "sdpa" => {
            let mask = match kw["mask"].as_str().unwrap() {
                "causal" => mx::fast::AttentionMask::Causal,
                _ => mx::fast::AttentionMask::None,
            };
            mx::fast::scaled_dot_product_attention(&p[0], &p[1], &p[2], 0.6, mask, None)
        }
        "sdpa_additive" => mx::fast::scaled_dot_product_attention(
            &p[0],
            &p[1],
            &p[2],
            0.6,
            mx::fast::AttentionMask::Array(p[3].clone()),
            Some(&p[4]),
        ),
        "qmm" => mx::quantized_matmul(
            &p[0],
            &p[3],
            &p[1],
            Some(&p[2]),
            kw_bool(kw, "transpose").unwrap(),
            Some(32),
            Some(4),
            QuantMode::Affine,
        ),
        "dequantize" => mx::dequantize(
            &p[2],
            &p[0],
            Some(&p[1]),
            Some(32),
            Some(4),
            QuantMode::Affine,
            None,
        ),
        other => panic!("unknown fn {other}"),
    }
}

fn dispatch(op: &str, ins: &[Operand], kw: &Value) -> mx::Result<Vec<Array>> {
    let ins: Vec<Array> = ins.iter().map(arr).collect();
    let n = kw_i64(kw, "np").expect("np") as usize;
    if let Some(name) = op.strip_prefix("vjp_") {
        let (p, rest) = ins.split_at(n);
        let (e, cot) = rest.split_at(rest.len() - 1);
        let (_, grads) = mx::vjp(|q| call(name, &[q, e].concat(), kw), p, cot)?;
        Ok(grads)
    } else if let Some(name) = op.strip_prefix("vmap_") {
        let (p, e) = ins.split_at(n);
        let axes: Vec<Option<isize>> = kw_ints(kw, "in_axes")
            .into_iter()
            .map(|a| if a < 0 { None } else { Some(a as isize) })
            .collect();
        mx::vmap(|q: &[Array]| call(name, &[q, e].concat(), kw), &axes, &[])(p)
    } else {
        panic!("unknown op {op}")
    }
}

#[test]
fn grad_index_goldens() {
    check_family("grad_index", dispatch);
}
