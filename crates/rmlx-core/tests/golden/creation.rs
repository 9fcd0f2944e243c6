//! Creation goldens: arange, full, zeros, ones and the `_like` ops against MLX 0.32.4.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Operand, ScalarArg};
use serde_json::Value;

fn scalar(op: &Operand) -> ScalarArg {
    match op {
        Operand::Scalar(s) => ScalarArg(*s),
        Operand::Array(_) => panic!("arange takes scalars"),
    }
}

fn shape(kw: &Value) -> Vec<i64> {
    kw_list(kw, "shape").expect("shape")
}

/// `a[offset::stride][:count]` of a 1-D array, as the generator's `sample` kwarg says.
fn sampled(a: Array, kw: &Value) -> mx::Result<Array> {
    let Some(s) = kw_list(kw, "sample") else {
        return Ok(a);
    };
    let (offset, stride, count) = (s[0] as usize, s[1] as usize, s[2] as usize);
    let available = a.size().saturating_sub(offset).div_ceil(stride);
    mx::as_strided(&a, [count.min(available)], &[stride as isize], offset)
}

#[test]
fn creation_matches_mlx() {
    check_family("creation", |op, ins, kw| {
        let dtype = kw_dtype(kw, "dtype");
        Ok(vec![match op {
            "arange" => {
                let (a, b, c) = (scalar(&ins[0]), scalar(&ins[1]), scalar(&ins[2]));
                let out = match dtype {
                    None => mx::arange(a, b, c)?,
                    Some(d) => mx::arange_dtype(
                        a.0.cast::<f64>(),
                        b.0.cast::<f64>(),
                        c.0.cast::<f64>(),
                        d,
                    )?,
                };
                sampled(out, kw)?
            }
            "zeros" => mx::zeros(shape(kw), dtype.expect("dtype"))?,
            "ones" => mx::ones(shape(kw), dtype.expect("dtype"))?,
            "zeros_like" => mx::zeros_like(&arr(&ins[0]))?,
            "ones_like" => mx::ones_like(&arr(&ins[0]))?,
            "full" => mx::full(shape(kw), ins[0].clone(), dtype)?,
            "full_like" => mx::full_like(&arr(&ins[0]), ins[1].clone(), dtype)?,
            _ => panic!("unknown op {op}"),
        }])
    });
}
