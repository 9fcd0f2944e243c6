//! Conv1d..Conv3d and ConvTranspose1d..ConvTranspose3d against MLX.

use crate::common::*;
use rmlx_nn::core::{self as mx, Error, Result};
use rmlx_nn::{self as nn, Dims, Forward};
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

fn finish<M: Forward + Clone + 'static>(case: &Value, mut m: M) -> Result<UnderTest> {
    match kw_str(case, "dtype") {
        Some("float16") => m.set_dtype(mx::float16, None)?,
        Some("bfloat16") => m.set_dtype(mx::bfloat16, None)?,
        _ => {}
    }
    Ok(unary(m))
}

fn build(case: &Value) -> Result<UnderTest> {
    let (cin, cout) = (arg(case, 0), arg(case, 1));
    let kernel = dims(&case["kwargs"]["args"][2]);
    let one = |key: &str, default: usize| kw_usize(case, key).unwrap_or(default);
    let bias = kw_bool(case, "bias").unwrap_or(true);
    let k1 = match &kernel {
        Dims::One(k) => *k,
        Dims::Each(v) => v[0],
    };
    let transpose_opts = || nn::ConvTransposeOptions {
        stride: kw_dims(case, "stride", 1),
        padding: kw_dims(case, "padding", 0),
        dilation: kw_dims(case, "dilation", 1),
        output_padding: kw_dims(case, "output_padding", 0),
        bias,
    };
    match case["layer"].as_str().unwrap() {
        "Conv1d" => {
            let opts = nn::Conv1dOptions {
                stride: one("stride", 1),
                padding: one("padding", 0),
                dilation: one("dilation", 1),
                groups: one("groups", 1),
                bias,
            };
            finish(case, nn::Conv1d::with_options(cin, cout, k1, &opts)?)
        }
        "Conv2d" => {
            let opts = nn::Conv2dOptions {
                stride: kw_dims(case, "stride", 1),
                padding: kw_dims(case, "padding", 0),
                dilation: kw_dims(case, "dilation", 1),
                groups: one("groups", 1),
                bias,
            };
            finish(case, nn::Conv2d::with_options(cin, cout, kernel, &opts)?)
        }
        "Conv3d" => {
            let opts = nn::Conv3dOptions {
                stride: kw_dims(case, "stride", 1),
                padding: kw_dims(case, "padding", 0),
                dilation: kw_dims(case, "dilation", 1),
                bias,
            };
            finish(case, nn::Conv3d::with_options(cin, cout, kernel, &opts)?)
        }
        "ConvTranspose1d" => {
            let opts = nn::ConvTranspose1dOptions {
                stride: one("stride", 1),
                padding: one("padding", 0),
                dilation: one("dilation", 1),
                output_padding: one("output_padding", 0),
                bias,
            };
            finish(
                case,
                nn::ConvTranspose1d::with_options(cin, cout, k1, &opts)?,
            )
        }
        "ConvTranspose2d" => finish(
            case,
            nn::ConvTranspose2d::with_options(cin, cout, kernel, &transpose_opts())?,
        ),
        "ConvTranspose3d" => finish(
            case,
            nn::ConvTranspose3d::with_options(cin, cout, kernel, &transpose_opts())?,
        ),
        other => Err(Error::value(format!("unknown layer {other}"))),
    }
}

#[test]
fn convolution_family_matches_mlx() {
    check_family("nn_convolution", &build);
}

#[test]
fn conv_options_errors() {
    assert!(nn::Conv2d::new(2, 2, (1, 2, 3)).is_err());
    assert!(
        nn::Conv1d::with_options(
            3,
            3,
            2,
            &nn::Conv1dOptions {
                groups: 0,
                ..Default::default()
            }
        )
        .is_err()
    );
}

#[test]
fn convolution_errors_carry_mlx_messages() {
    check_error_messages("nn_convolution", &build, &[]);
}

/// The case MLX 0.32.4 gets wrong (the input gradient of `conv_transpose2d` with
/// `output_padding` comes out with the wrong shape, so its golden records no gradients):
/// the layer is linear in `x`, so `<grad_x sum(f(x) * c), v> = sum(f(v) * c)` for any `v`.
#[test]
fn conv_transpose2d_output_padding_input_gradient_is_the_adjoint() -> Result<()> {
    let opts = nn::ConvTransposeOptions {
        stride: (2, 1).into(),
        padding: (0, 1).into(),
        output_padding: (1, 0).into(),
        bias: false,
        ..Default::default()
    };
    let layer = nn::ConvTranspose2d::with_options(3, 2, (2, 3), &opts)?;
    let key = mx::random::key(3);
    let x = mx::random::normal(&[2, 3, 3, 3], mx::float32, Some(&key))?;
    let v = mx::random::normal(&[2, 3, 3, 3], mx::float32, Some(&mx::random::key(4)))?;
    let y = layer.forward(&x)?;
    assert_eq!(y.shape(), &[2, 7, 3, 2]);
    let c = mx::random::normal(y.shape(), mx::float32, Some(&mx::random::key(5)))?;
    let f = |a: &[mx::Array]| mx::sum(&mx::multiply(&layer.forward(&a[0])?, &c)?);
    let g = mx::grad(f, 0)(std::slice::from_ref(&x))?.remove(0);
    assert_eq!(g.shape(), x.shape());
    let lhs = mx::sum(&mx::multiply(&g, &v)?)?.item::<f32>()?;
    let rhs = mx::sum(&mx::multiply(&layer.forward(&v)?, &c)?)?.item::<f32>()?;
    assert!(
        (lhs - rhs).abs() <= 1e-4 * rhs.abs().max(1.0),
        "{lhs} vs {rhs}"
    );
    Ok(())
}
