//! Golden cases that exercise the harness itself (views, weak scalars, errors).

use crate::common::*;
use rmlx_core as mx;

#[test]
fn smoke_matches_mlx() {
    check_family("smoke", |op, ins, _kw| match op {
        "add" => Ok(vec![mx::add(ins[0].clone(), ins[1].clone())?]),
        "exp" => Ok(vec![mx::exp(ins[0].clone())?]),
        "astype" => Ok(vec![mx::astype(&arr(&ins[0]), mx::float32)?]),
        _ => panic!("unknown op {op}"),
    });
}
