//! Conv1d..Conv3d and ConvTranspose1d..ConvTranspose3d against MLX.

use crate::common::*;
use rmlx_nn::core::{self as mx, Error, Result};
use rmlx_nn::{self as nn, Dims, Module};
use serde_json::Value;

/// A JSON int or list as `Dims`.
pub fn dims(v: &Value) -> Dims {
    match v {
        Value::Array(a) => Dims::Each(a.iter().map(|d| d.as_u64().unwrap() as usize).collect()),
        _ => Dims::One(v.as_u64().unwrap() as usize),
    }
}

fn kw_dims(case: &Value, key: &str, default: usize) -> Dims {
    case["kwargs"].get(key).map_or(Dims::One(default), dims)
}

fn arg(case: &Value, i: usize) -> usize {
    case["kwargs"]["args"][i].as_u64().unwrap() as usize
}

fn build(case: &Value) -> Result<UnderTest> {
    let (cin, cout) = (arg(case, 0), arg(case, 1));
    let kernel = dims(&case["kwargs"]["args"][2]);
    let one = |key: &str, default: usize| kw_usize(case, key).unwrap_or(default);
    let bias = kw_bool(case, "bias").unwrap_or(true);
    let ut = |mut m: Box<dyn FnMut(&mut dyn Module) -> Result<()>>,
              layer: Box<dyn Fn() -> Result<UnderTest>>| {
        let mut ut = layer()?;
        m(&mut *ut.module)?;
        Ok::<_, Error>(ut)
    };
    let dtype = match kw_str(case, "dtype") {
        Some("float16") => Some(mx::float16),
        Some("bfloat16") => Some(mx::bfloat16),
        _ => None,
    };
    let set_dtype: Box<dyn FnMut(&mut dyn Module) -> Result<()>> = Box::new(move |m| match dtype {
        Some(d) => m.set_dtype(d, None),
        None => Ok(()),
    });
    let k1 = || match &kernel {
        Dims::One(k) => *k,
        Dims::Each(v) => v[0],
    };
    let layer: Box<dyn Fn() -> Result<UnderTest>> = match case["layer"].as_str().unwrap() {
        "Conv1d" => {
            let opts = nn::Conv1dOptions {
                stride: one("stride", 1),
                padding: one("padding", 0),
                dilation: one("dilation", 1),
                groups: one("groups", 1),
                bias,
            };
            let k = k1();
            Box::new(move || Ok(unary(nn::Conv1d::with_options(cin, cout, k, &opts)?)))
        }
        "Conv2d" => {
            let opts = nn::Conv2dOptions {
                stride: kw_dims(case, "stride", 1),
                padding: kw_dims(case, "padding", 0),
                dilation: kw_dims(case, "dilation", 1),
                groups: one("groups", 1),
                bias,
            };
            let k = kernel.clone();
            Box::new(move || Ok(unary(nn::Conv2d::with_options(cin, cout, k.clone(), &opts)?)))
        }
        "Conv3d" => {
            let opts = nn::Conv3dOptions {
                stride: kw_dims(case, "stride", 1),
                padding: kw_dims(case, "padding", 0),
                dilation: kw_dims(case, "dilation", 1),
                bias,
            };
            let k = kernel.clone();
            Box::new(move || Ok(unary(nn::Conv3d::with_options(cin, cout, k.clone(), &opts)?)))
        }
        "ConvTranspose1d" => {
            let opts = nn::ConvTranspose1dOptions {
                stride: one("stride", 1),
                padding: one("padding", 0),
                dilation: one("dilation", 1),
                output_padding: one("output_padding", 0),
                bias,
            };
            let k = k1();
            Box::new(move || Ok(unary(nn::ConvTranspose1d::with_options(cin, cout, k, &opts)?)))
        }
        name @ ("ConvTranspose2d" | "ConvTranspose3d") => {
            let opts = nn::ConvTransposeOptions {
                stride: kw_dims(case, "stride", 1),
                padding: kw_dims(case, "padding", 0),
                dilation: kw_dims(case, "dilation", 1),
                output_padding: kw_dims(case, "output_padding", 0),
                bias,
            };
            let k = kernel.clone();
            if name == "ConvTranspose2d" {
                Box::new(move || {
                    Ok(unary(nn::ConvTranspose2d::with_options(cin, cout, k.clone(), &opts)?))
                })
            } else {
                Box::new(move || {
                    Ok(unary(nn::ConvTranspose3d::with_options(cin, cout, k.clone(), &opts)?))
                })
            }
        }
        other => return Err(Error::value(format!("unknown layer {other}"))),
    };
    ut(set_dtype, layer)
}

#[test]
fn convolution_family_matches_mlx() {
    check_family("nn_convolution", &build);
}

#[test]
fn conv_options_errors() {
    assert!(nn::Conv2d::new(2, 2, (1, 2, 3)).is_err());
    assert!(nn::Conv1d::with_options(3, 3, 2, &nn::Conv1dOptions { groups: 0, ..Default::default() }).is_err());
}
