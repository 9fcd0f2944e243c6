//! Golden cases of einsum and einsum_path against MLX 0.32.4 (the path and its info text
//! exactly, the results within a tolerance set by the magnitude of the sums).

use crate::common::*;
use rmlx_core as mx;
use serde_json::{Value, json};

fn subscripts(kw: &Value) -> &str {
    kw["subscripts"].as_str().expect("subscripts")
}

#[test]
fn einsum_matches_mlx() {
    check_family("einsum", |op, ins, kw| {
        let arrays: Vec<mx::Array> = ins.iter().map(arr).collect();
        Ok(vec![match op {
            "einsum" => mx::einsum(subscripts(kw), &arrays)?,
            _ => panic!("unknown op {op}"),
        }])
    });
}

#[test]
fn einsum_path_matches_mlx() {
    check_values("einsum", |op, ins, kw| {
        let arrays: Vec<mx::Array> = ins.iter().map(arr).collect();
        match op {
            "einsum_path" => {
                let (path, info) = mx::einsum_path(subscripts(kw), &arrays)?;
                Ok(json!([path, info]))
            }
            _ => panic!("unknown op {op}"),
        }
    });
}
