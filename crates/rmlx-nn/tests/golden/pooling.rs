//! MaxPool1d..3d and AvgPool1d..3d against MLX.

use crate::common::*;
use crate::convolution::dims;
use rmlx_nn::core::{Error, Result};
use rmlx_nn::{self as nn, PoolOptions};
use serde_json::Value;

fn build(case: &Value) -> Result<UnderTest> {
    let kw = &case["kwargs"];
    let kernel = dims(&kw["kernel_size"]);
    let opts = PoolOptions {
        stride: kw.get("stride").map(dims),
        padding: kw.get("padding").map(dims),
    };
    match case["layer"].as_str().unwrap() {
        "MaxPool1d" => Ok(unary(nn::MaxPool1d::with_options(kernel, &opts)?)),
        "MaxPool2d" => Ok(unary(nn::MaxPool2d::with_options(kernel, &opts)?)),
        "MaxPool3d" => Ok(unary(nn::MaxPool3d::with_options(kernel, &opts)?)),
        "AvgPool1d" => Ok(unary(nn::AvgPool1d::with_options(kernel, &opts)?)),
        "AvgPool2d" => Ok(unary(nn::AvgPool2d::with_options(kernel, &opts)?)),
        "AvgPool3d" => Ok(unary(nn::AvgPool3d::with_options(kernel, &opts)?)),
        other => Err(Error::value(format!("unknown layer {other}"))),
    }
}

#[test]
fn pooling_family_matches_mlx() {
    check_family("nn_pooling", &build);
}

#[test]
fn pooling_errors_carry_mlx_messages() {
    check_error_messages("nn_pooling", &build, &[]);
}
