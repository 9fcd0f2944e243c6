//! Loss functions (`nn.losses.*`).

use crate::common::*;
use rmlx_nn::core::{Array, Error, Result};
use rmlx_nn::losses::{self as l, Reduction};
use serde_json::Value;

fn f32_kw(case: &Value, key: &str, default: f32) -> f32 {
    kw_f64(case, key).map_or(default, |v| v as f32)
}

fn isize_kw(case: &Value, key: &str, default: isize) -> isize {
    case["kwargs"]
        .get(key)
        .and_then(Value::as_i64)
        .map_or(default, |v| v as isize)
}

fn reduction(case: &Value, default: Reduction) -> Result<Reduction> {
    kw_str(case, "reduction").map_or(Ok(default), str::parse)
}

type LossFn = Box<dyn Fn(&[Array]) -> Result<Array>>;

/// The loss the case names, called on its inputs.
fn loss(case: &Value) -> Result<LossFn> {
    let c = case.clone();
    let weighted = kw_bool(case, "weights").unwrap_or(false);
    let weights = move |xs: &[Array]| weighted.then(|| xs[xs.len() - 1].clone());
    Ok(match case["layer"].as_str().unwrap() {
        "cross_entropy" => {
            let red = reduction(&c, Reduction::None)?;
            Box::new(move |xs| {
                let opts = l::CrossEntropyOptions {
                    weights: weights(xs),
                    axis: isize_kw(&c, "axis", -1),
                    label_smoothing: f32_kw(&c, "label_smoothing", 0.0),
                    reduction: red,
                };
                l::cross_entropy(&xs[0], &xs[1], &opts)
            })
        }
        "binary_cross_entropy" => {
            let red = reduction(&c, Reduction::Mean)?;
            Box::new(move |xs| {
                let opts = l::BinaryCrossEntropyOptions {
                    weights: weights(xs),
                    with_logits: kw_bool(&c, "with_logits").unwrap_or(true),
                    reduction: red,
                };
                l::binary_cross_entropy(&xs[0], &xs[1], &opts)
            })
        }
        "l1_loss" => {
            let red = reduction(&c, Reduction::Mean)?;
            Box::new(move |xs| l::l1_loss(&xs[0], &xs[1], red))
        }
        "mse_loss" => {
            let red = reduction(&c, Reduction::Mean)?;
            Box::new(move |xs| l::mse_loss(&xs[0], &xs[1], red))
        }
        "smooth_l1_loss" => {
            let red = reduction(&c, Reduction::Mean)?;
            let beta = f32_kw(&c, "beta", 1.0);
            Box::new(move |xs| l::smooth_l1_loss(&xs[0], &xs[1], beta, red))
        }
        "nll_loss" => {
            let red = reduction(&c, Reduction::None)?;
            let axis = isize_kw(&c, "axis", -1);
            Box::new(move |xs| l::nll_loss(&xs[0], &xs[1], axis, red))
        }
        "kl_div_loss" => {
            let red = reduction(&c, Reduction::None)?;
            let axis = isize_kw(&c, "axis", -1);
            Box::new(move |xs| l::kl_div_loss(&xs[0], &xs[1], axis, red))
        }
        "gaussian_nll_loss" => {
            let opts = l::GaussianNllLossOptions {
                full: kw_bool(&c, "full").unwrap_or(false),
                eps: f32_kw(&c, "eps", 1e-6),
                reduction: reduction(&c, Reduction::Mean)?,
            };
            Box::new(move |xs| l::gaussian_nll_loss(&xs[0], &xs[1], &xs[2], &opts))
        }
        "triplet_loss" => {
            let opts = l::TripletLossOptions {
                axis: isize_kw(&c, "axis", -1),
                p: isize_kw(&c, "p", 2) as i32,
                margin: f32_kw(&c, "margin", 1.0),
                eps: f32_kw(&c, "eps", 1e-6),
                reduction: reduction(&c, Reduction::None)?,
            };
            Box::new(move |xs| l::triplet_loss(&xs[0], &xs[1], &xs[2], &opts))
        }
        "hinge_loss" => {
            let red = reduction(&c, Reduction::None)?;
            Box::new(move |xs| l::hinge_loss(&xs[0], &xs[1], red))
        }
        "huber_loss" => {
            let red = reduction(&c, Reduction::None)?;
            let delta = f32_kw(&c, "delta", 1.0);
            Box::new(move |xs| l::huber_loss(&xs[0], &xs[1], delta, red))
        }
        "log_cosh_loss" => {
            let red = reduction(&c, Reduction::None)?;
            Box::new(move |xs| l::log_cosh_loss(&xs[0], &xs[1], red))
        }
        "cosine_similarity_loss" => {
            let opts = l::CosineSimilarityLossOptions {
                axis: isize_kw(&c, "axis", 1),
                eps: f32_kw(&c, "eps", 1e-8),
                reduction: reduction(&c, Reduction::None)?,
            };
            Box::new(move |xs| l::cosine_similarity_loss(&xs[0], &xs[1], &opts))
        }
        "margin_ranking_loss" => {
            let red = reduction(&c, Reduction::None)?;
            let margin = f32_kw(&c, "margin", 0.0);
            Box::new(move |xs| l::margin_ranking_loss(&xs[0], &xs[1], &xs[2], margin, red))
        }
        other => return Err(Error::value(format!("unknown loss {other}"))),
    })
}

fn build(case: &Value) -> Result<UnderTest> {
    let f = loss(case)?;
    Ok(function(move |xs| {
        let xs: Vec<Array> = xs.iter().map(|x| x.clone().expect("input")).collect();
        Ok(vec![f(&xs)?])
    }))
}

#[test]
fn losses_match_mlx() {
    check_family("nn_losses", &build);
}

/// Where MLX raised, rmlx raises with the same text.
#[test]
fn loss_errors_are_mlx_errors() {
    let g = Goldens::load("nn_losses");
    for case in g.cases.iter().filter(|c| c.get("error").is_some()) {
        let want = case["message"].as_str().unwrap();
        let got = loss(case).and_then(|f| {
            let xs: Vec<Array> = g.inputs(case).into_iter().map(Option::unwrap).collect();
            f(&xs)
        });
        let err = got
            .err()
            .unwrap_or_else(|| panic!("{}: no error", case["name"]));
        assert_eq!(err.to_string(), want, "{}", case["name"]);
    }
}

#[test]
fn losses_compile_like_mlx() {
    let (compiled, _) = crate::activations::check_transformed("nn_losses", &build, &|_| false);
    assert!(compiled > 80, "{compiled} compiled");
}
