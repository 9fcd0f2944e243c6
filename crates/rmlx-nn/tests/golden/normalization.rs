//! LayerNorm, RMSNorm, GroupNorm, InstanceNorm and BatchNorm against MLX, and BatchNorm's
//! running statistics through `nn::value_and_grad`.

use crate::common::*;
use rmlx_nn::core::{self as mx, Array, Error, Result};
use rmlx_nn::{self as nn, Forward, FreezeOptions, Module};
use serde_json::Value;

fn dtype(case: &Value) -> Option<mx::Dtype> {
    match kw_str(case, "dtype") {
        Some("float16") => Some(mx::float16),
        Some("bfloat16") => Some(mx::bfloat16),
        _ => None,
    }
}

fn finish<M: Forward + Clone + 'static>(case: &Value, mut m: M) -> Result<UnderTest> {
    if let Some(d) = dtype(case) {
        m.set_dtype(d, None)?;
    }
    let call = &case["call"];
    if call.get("unfreeze").is_some() {
        m.unfreeze(&FreezeOptions::default())?;
    }
    if call.get("freeze").is_some() {
        m.freeze(&FreezeOptions::default())?;
    }
    Ok(unary(m))
}

fn batch_norm(case: &Value) -> Result<nn::BatchNorm> {
    let opts = nn::BatchNormOptions {
        eps: kw_f64(case, "eps").unwrap_or(1e-5),
        momentum: kw_f64(case, "momentum").unwrap_or(0.1),
        affine: kw_bool(case, "affine").unwrap_or(true),
        track_running_stats: kw_bool(case, "track_running_stats").unwrap_or(true),
    };
    nn::BatchNorm::with_options(kw_usize(case, "num_features").unwrap(), &opts)
}

/// Three training-mode calls, as the generator's `three_calls`.
fn three_calls(bn: &nn::BatchNorm, x: &Array) -> Result<Vec<Array>> {
    bn.forward(x)?;
    bn.forward(&mx::add(mx::multiply(x, 2.0)?, 1.0)?)?;
    let y = bn.forward(&mx::subtract(x, 3.0)?)?;
    let rm = bn.running_mean.as_ref().unwrap().get();
    let rv = bn.running_var.as_ref().unwrap().get();
    Ok(vec![y, rm, rv])
}

fn build(case: &Value) -> Result<UnderTest> {
    let eps = kw_f64(case, "eps").unwrap_or(1e-5);
    let dims = || kw_usize(case, "dims").unwrap();
    match case["layer"].as_str().unwrap() {
        "LayerNorm" => {
            let opts = nn::LayerNormOptions {
                eps,
                affine: kw_bool(case, "affine").unwrap_or(true),
                bias: kw_bool(case, "bias").unwrap_or(true),
            };
            finish(case, nn::LayerNorm::with_options(dims(), &opts)?)
        }
        "RMSNorm" => finish(case, nn::RMSNorm::with_eps(dims(), eps)?),
        "GroupNorm" => {
            let opts = nn::GroupNormOptions {
                eps,
                affine: kw_bool(case, "affine").unwrap_or(true),
                pytorch_compatible: kw_bool(case, "pytorch_compatible").unwrap_or(false),
            };
            let groups = kw_usize(case, "num_groups").unwrap();
            finish(case, nn::GroupNorm::with_options(groups, dims(), &opts)?)
        }
        "InstanceNorm" => finish(
            case,
            nn::InstanceNorm::with_options(dims(), eps, kw_bool(case, "affine").unwrap_or(false))?,
        ),
        "BatchNorm" => {
            let bn = batch_norm(case)?;
            if case["call"].get("three_calls").is_some() {
                Ok(with_call(bn, |bn, xs| {
                    three_calls(bn, xs[0].as_ref().unwrap())
                }))
            } else {
                finish(case, bn)
            }
        }
        other => Err(Error::value(format!("unknown layer {other}"))),
    }
}

#[test]
fn normalization_family_matches_mlx() {
    check_family("nn_normalization", &build);
}

#[test]
fn batchnorm_running_stats_land_on_the_model_through_value_and_grad() -> Result<()> {
    #[derive(Clone, nn::Module)]
    struct Net {
        lin: nn::Linear,
        bn: nn::BatchNorm,
    }
    let net = Net {
        lin: nn::Linear::from_weights(mx::array![[1.0f32, 0.0], [0.0, 2.0]], None)?,
        bn: nn::BatchNorm::new(2)?,
    };
    let x = mx::array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 0.0]];
    let loss = |m: &Net, args: &[Array]| mx::sum(&m.bn.forward(&m.lin.forward(&args[0])?)?);
    let vg = nn::value_and_grad(loss);
    for _ in 0..2 {
        vg(&net, std::slice::from_ref(&x))?;
    }
    // h = x W^T: columns [1, 3, 5] (mean 3, unbiased var 4) and [4, 8, 0] (mean 4, var 16).
    // After two updates with momentum 0.1: mean = 0.19 * batch, var = 0.81 + 0.19 * batch.
    let rm = net
        .bn
        .running_mean
        .as_ref()
        .unwrap()
        .get()
        .to_vec::<f32>()?;
    let rv = net.bn.running_var.as_ref().unwrap().get().to_vec::<f32>()?;
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-5);
    assert!(close(&rm, &[0.57, 0.76]), "running_mean {rm:?}");
    assert!(
        close(&rv, &[0.81 + 0.76, 0.81 + 3.04]),
        "running_var {rv:?}"
    );
    // The gradients cover the trainable parameters only (the running statistics are frozen).
    let (_, grads) = vg(&net, std::slice::from_ref(&x))?;
    let keys: Vec<String> = nn::flat_parameters(&grads)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["lin.weight", "bn.weight", "bn.bias"]);
    Ok(())
}

#[test]
fn batchnorm_unfreeze_keeps_running_stats_frozen() -> Result<()> {
    let mut bn = nn::BatchNorm::new(3)?;
    bn.freeze(&FreezeOptions::default())?;
    assert!(nn::flat_parameters(&bn.trainable_parameters()?).is_empty());
    bn.unfreeze(&FreezeOptions::default())?;
    let keys: Vec<String> = nn::flat_parameters(&bn.trainable_parameters()?)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["weight", "bias"]);
    let keys: Vec<String> = nn::flat_parameters(&bn.parameters()?)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["weight", "bias", "running_mean", "running_var"]);
    Ok(())
}

#[test]
fn normalization_errors_carry_mlx_messages() {
    check_error_messages("nn_normalization", &build, &[]);
}

/// As in MLX, only `BatchNorm::unfreeze` itself re-freezes the running statistics: a parent's
/// recursive `unfreeze` clears every module's frozen keys (MLX 0.32.4 lists
/// `layers.1.running_mean` and `layers.1.running_var` among the trainable parameters of
/// `Sequential(Linear(2, 2), BatchNorm(2))` after `freeze()` then `unfreeze()`).
#[test]
fn parent_unfreeze_makes_running_stats_trainable_as_in_mlx() -> Result<()> {
    let mut m = nn::Sequential::new()
        .append(nn::Linear::new(2, 2)?)
        .append(nn::BatchNorm::new(2)?);
    m.freeze(&FreezeOptions::default())?;
    m.unfreeze(&FreezeOptions::default())?;
    let keys: Vec<String> = nn::flat_parameters(&m.trainable_parameters()?)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.1.weight",
            "layers.1.bias",
            "layers.1.running_mean",
            "layers.1.running_var"
        ]
    );
    Ok(())
}
