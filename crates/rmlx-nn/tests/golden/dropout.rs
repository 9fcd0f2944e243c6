//! Dropout, Dropout2d and Dropout3d against MLX: the same seed gives the same masks.

use crate::common::*;
use rmlx_nn as nn;
use rmlx_nn::core::{Error, Result};
use serde_json::Value;

fn build(case: &Value) -> Result<UnderTest> {
    let p = kw_f64(case, "p").unwrap();
    match case["layer"].as_str().unwrap() {
        "Dropout" => Ok(unary(nn::Dropout::new(p)?)),
        "Dropout2d" => Ok(unary(nn::Dropout2d::new(p)?)),
        "Dropout3d" => Ok(unary(nn::Dropout3d::new(p)?)),
        other => Err(Error::value(format!("unknown layer {other}"))),
    }
}

#[test]
fn dropout_family_matches_mlx() {
    check_family("nn_dropout", &build);
}

#[test]
fn dropout_errors_carry_mlx_messages() {
    check_error_messages("nn_dropout", &build, &[]);
}
