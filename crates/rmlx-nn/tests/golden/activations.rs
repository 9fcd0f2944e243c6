//! Activation functions (`nn.relu`, ...) and activation layers (`nn.ReLU`, ...).

use crate::common::*;
use rmlx_nn::core::{self as mx, Array, Error, Result};
use rmlx_nn::{self as nn, Module};
use serde_json::Value;

fn f32_kw(case: &Value, key: &str, default: f32) -> f32 {
    kw_f64(case, key).map_or(default, |v| v as f32)
}

fn axis_kw(case: &Value, default: isize) -> isize {
    case["kwargs"]
        .get("axis")
        .and_then(Value::as_i64)
        .map_or(default, |v| v as isize)
}

fn one(f: impl Fn(&Array) -> Result<Array> + 'static) -> UnderTest {
    function(move |xs| Ok(vec![f(xs[0].as_ref().expect("input"))?]))
}

fn activation(case: &Value, name: &str) -> Result<UnderTest> {
    let c = case.clone();
    let axis = axis_kw(case, -1);
    Ok(match name {
        "sigmoid" => one(nn::sigmoid),
        "relu" => one(nn::relu),
        "relu2" => one(nn::relu2),
        "relu6" => one(nn::relu6),
        "leaky_relu" => {
            let s = f32_kw(&c, "negative_slope", 0.01);
            one(move |x| nn::leaky_relu(x, s))
        }
        "log_softmax" => one(move |x| nn::log_softmax(x, axis)),
        "elu" => {
            let a = f32_kw(&c, "alpha", 1.0);
            one(move |x| nn::elu(x, a))
        }
        "softmax" => one(move |x| nn::softmax(x, axis)),
        "softplus" => one(nn::softplus),
        "softsign" => one(nn::softsign),
        "softshrink" => {
            let l = f32_kw(&c, "lambd", 0.5);
            one(move |x| nn::softshrink(x, l))
        }
        "celu" => {
            let a = f32_kw(&c, "alpha", 1.0);
            one(move |x| nn::celu(x, a))
        }
        "silu" => one(nn::silu),
        "log_sigmoid" => one(nn::log_sigmoid),
        "gelu" => one(nn::gelu),
        "gelu_approx" => one(nn::gelu_approx),
        "gelu_fast_approx" => one(nn::gelu_fast_approx),
        "glu" => one(move |x| nn::glu(x, axis)),
        "step" => {
            let t = f32_kw(&c, "threshold", 0.0);
            one(move |x| nn::step(x, t))
        }
        "selu" => one(nn::selu),
        "mish" => one(nn::mish),
        "hardswish" => one(nn::hardswish),
        "hard_tanh" => {
            let (lo, hi) = (f32_kw(&c, "min_val", -1.0), f32_kw(&c, "max_val", 1.0));
            one(move |x| nn::hard_tanh(x, lo, hi))
        }
        "hard_shrink" => {
            let l = f32_kw(&c, "lambd", 0.5);
            one(move |x| nn::hard_shrink(x, l))
        }
        "softmin" => one(move |x| nn::softmin(x, axis)),
        "tanh" => one(nn::tanh),
        "prelu" => function(|xs| {
            Ok(vec![nn::prelu(
                xs[0].as_ref().expect("x"),
                xs[1].as_ref().expect("alpha"),
            )?])
        }),
        other => return Err(Error::value(format!("unknown function {other}"))),
    })
}

fn layer(case: &Value, name: &str) -> Result<UnderTest> {
    Ok(match name {
        "ReLU" => unary(nn::ReLU::new()),
        "ReLU2" => unary(nn::ReLU2::new()),
        "ReLU6" => unary(nn::ReLU6::new()),
        "Sigmoid" => unary(nn::Sigmoid::new()),
        "Mish" => unary(nn::Mish::new()),
        "Softmax" => unary(nn::Softmax::new()),
        "Softplus" => unary(nn::Softplus::new()),
        "Softsign" => unary(nn::Softsign::new()),
        "SiLU" => unary(nn::SiLU::new()),
        "LogSoftmax" => unary(nn::LogSoftmax::new()),
        "LogSigmoid" => unary(nn::LogSigmoid::new()),
        "Tanh" => unary(nn::Tanh::new()),
        "Hardswish" => unary(nn::Hardswish::new()),
        "SELU" => unary(nn::SELU::new()),
        "HardTanh" => unary(nn::HardTanh::new()),
        "Softmin" => unary(nn::Softmin::new()),
        "LeakyReLU" => unary(nn::LeakyReLU::new(f32_kw(case, "negative_slope", 0.01))),
        "ELU" => unary(nn::ELU::new(f32_kw(case, "alpha", 1.0))),
        "CELU" => unary(nn::CELU::new(f32_kw(case, "alpha", 1.0))),
        "Softshrink" => unary(nn::Softshrink::new(f32_kw(case, "lambd", 0.5))),
        "HardShrink" => unary(nn::HardShrink::new(f32_kw(case, "lambd", 0.5))),
        "Step" => unary(nn::Step::new(f32_kw(case, "threshold", 0.0))),
        "GLU" => unary(nn::GLU::new(axis_kw(case, -1))),
        "GELU" => unary(nn::GELU::with_approx(
            kw_str(case, "approx").unwrap_or("none").parse()?,
        )),
        "PReLU" => unary(nn::PReLU::new(
            kw_usize(case, "num_parameters").unwrap_or(1),
            f32_kw(case, "init", 0.25),
        )?),
        other => return Err(Error::value(format!("unknown layer {other}"))),
    })
}

fn build(case: &Value) -> Result<UnderTest> {
    let name = case["layer"].as_str().unwrap();
    if name.starts_with(char::is_uppercase) {
        layer(case, name)
    } else {
        activation(case, name)
    }
}

#[test]
fn activations_match_mlx() {
    check_family("nn_activations", &build);
}

#[test]
fn gelu_rejects_unknown_approximations() {
    let err = "exact".parse::<nn::GeluApprox>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "The approximation should be in ['none', 'precise', 'tanh', 'fast'] but 'exact' was given"
    );
}

#[test]
fn activation_layers_have_no_parameters_but_prelu() {
    assert!(nn::flat_parameters(&nn::ReLU::new().parameters().unwrap()).is_empty());
    let p = nn::PReLU::new(3, 0.5).unwrap();
    let params = nn::flat_parameters(&p.parameters().unwrap());
    assert_eq!(params.len(), 1);
    assert_eq!(params[0].0, "weight");
    assert_eq!(params[0].1.to_vec::<f32>().unwrap(), vec![0.5; 3]);
    let _ = mx::float32;
}

/// Replays a family's cases without an error or parameters through `mx::compile` and,
/// when `vmap_ok(case)`, through `mx::vmap` over the inputs' first axis, comparing with
/// MLX's outputs (MLX compiles most activations itself). Returns the number of cases
/// (compiled, vmapped).
pub fn check_transformed(
    family: &str,
    build: &dyn Fn(&Value) -> Result<UnderTest>,
    vmap_ok: &dyn Fn(&Value) -> bool,
) -> (usize, usize) {
    let (mut compiled, mut vmapped) = (0, 0);
    let g = Goldens::load(family);
    let mut failures = Vec::new();
    let plain = |c: &&Value| {
        c.get("error").is_none() && c["weights"].as_object().is_none_or(|w| w.is_empty())
    };
    for case in g.cases.iter().filter(plain) {
        let name = case["name"].as_str().unwrap();
        let ut = build(case).unwrap();
        let inputs: Vec<Array> = g.inputs(case).into_iter().map(Option::unwrap).collect();
        let want: Vec<Array> = case["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| g.array(o))
            .collect();
        let call = |xs: &[Array]| -> Result<Vec<Array>> {
            let xs: Vec<Option<Array>> = xs.iter().cloned().map(Some).collect();
            (ut.call)(&*ut.module, &xs)
        };
        let mut runs = vec![("compile", mx::compile(call)(&inputs))];
        let batched = inputs.iter().all(|x| x.ndim() > 0 && x.shape()[0] > 0);
        if vmap_ok(case) && batched {
            let axes = vec![Some(0); inputs.len()];
            runs.push(("vmap", mx::vmap(call, &axes, &[Some(0)])(&inputs)));
            vmapped += 1;
        }
        compiled += 1;
        for (how, got) in runs {
            let res = got.map_err(|e| e.to_string()).and_then(|got| {
                got.iter()
                    .zip(&want)
                    .try_for_each(|(o, w)| compare(name, o, w, case_tolerance(case)))
            });
            if let Err(e) = res {
                failures.push(format!("{how}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    (compiled, vmapped)
}

#[test]
fn activations_compile_and_vmap_like_mlx() {
    // Elementwise functions and those over the last axis map row by row; `axis` variants
    // and prelu (its alpha has no batch axis) do not.
    let (compiled, vmapped) = check_transformed("nn_activations", &build, &|case| {
        case["layer"]
            .as_str()
            .is_some_and(|n| n.starts_with(char::is_lowercase) && n != "prelu")
            && case["kwargs"].get("axis").is_none()
    });
    assert!(
        compiled > 150 && vmapped > 100,
        "{compiled} compiled, {vmapped} vmapped"
    );
}
