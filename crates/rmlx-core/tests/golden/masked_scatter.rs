//! Golden cases of `masked_scatter` (`x[mask] = value` in MLX 0.32.4's Python), recorded
//! from MLX and replayed through `mx::masked_scatter`, plus `index_put` with a mask.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Index, Operand};
use serde_json::Value;

fn dispatch(op: &str, ins: &[Operand], _kw: &Value) -> mx::Result<Vec<Array>> {
    match op {
        "masked_scatter" => Ok(vec![mx::masked_scatter(
            &arr(&ins[0]),
            &arr(&ins[1]),
            ins[2].clone(),
        )?]),
        _ => panic!("unknown op {op}"),
    }
}

#[test]
fn masked_scatter_matches_mlx() {
    check_family("masked_scatter", dispatch);
}

/// `x[mask] = v` through `index_put` is the same op.
#[test]
fn index_put_with_a_mask() {
    let mut x = mx::array![1.0f32, 2.0, 3.0];
    x.index_put(
        [Index::Array(mx::array![true, false, true])],
        mx::array![5.0f32, 6.0],
    )
    .unwrap();
    assert_eq!(x.to_vec::<f32>().unwrap(), vec![5.0, 2.0, 6.0]);
    // A 0-d mask: every element or none.
    let mut y = mx::array![1, 2, 3];
    y.index_put([Index::Array(Array::scalar(true))], 7).unwrap();
    assert_eq!(y.to_vec::<i32>().unwrap(), vec![7, 7, 7]);
    y.index_put([Index::Array(Array::scalar(false))], 0)
        .unwrap();
    assert_eq!(y.to_vec::<i32>().unwrap(), vec![7, 7, 7]);
    // A mask with other entries is not supported (as in MLX).
    let mut z = mx::zeros(&[2, 2], mx::float32).unwrap();
    let e = z
        .index_put([Index::Int(0), Index::Array(mx::array![true, false])], 1.0)
        .unwrap_err();
    assert!(e.to_string().contains("boolean indices"), "{e}");
}
