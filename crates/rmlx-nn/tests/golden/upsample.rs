//! Upsample (nearest, linear, cubic; align_corners; antialias) against MLX.

use crate::common::*;
use rmlx_nn::core::{self as mx, Result};
use rmlx_nn::{self as nn, ScaleFactor, UpsampleMode, UpsampleOptions};
use serde_json::Value;

fn build(case: &Value) -> Result<UnderTest> {
    let kw = &case["kwargs"];
    let scale = match &kw["scale_factor"] {
        Value::Array(a) => ScaleFactor::Each(a.iter().map(|v| v.as_f64().unwrap()).collect()),
        v => ScaleFactor::One(v.as_f64().unwrap()),
    };
    let opts = UpsampleOptions {
        mode: UpsampleMode::from_name(kw_str(case, "mode").unwrap_or("nearest"))?,
        align_corners: kw_bool(case, "align_corners").unwrap_or(false),
        antialias: kw_bool(case, "antialias").unwrap_or(false),
    };
    Ok(unary(nn::Upsample::with_options(scale, &opts)?))
}

#[test]
fn upsample_family_matches_mlx() {
    check_family("nn_upsample", &build);
}

#[test]
fn upsample_functions_check_the_scales() {
    let x = mx::ones(&[1, 2, 2, 1], mx::float32).unwrap();
    assert!(nn::upsample_nearest(&x, &[2.0]).is_err());
    assert!(nn::upsample_linear(&x, &[2.0, 2.0], true, true).is_err());
    assert!(nn::upsample_cubic(&x, &[2.0, 2.0, 2.0], false, false).is_err());
}

#[test]
fn upsample_errors_carry_mlx_messages() {
    check_error_messages("nn_upsample", &build, &[]);
}
