//! Initializers (`nn.init.*`): values after the same seed as MLX, shapes, dtypes, errors.

use crate::common::*;
use rmlx_nn::core::{self as mx, Array, Dtype, Error, Result};
use rmlx_nn::init::{self, FanMode};
use serde_json::Value;

fn num(v: &Value, key: &str, default: f64) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(default)
}

type InitFn = Box<dyn Fn(&Array) -> Result<Array>>;

fn initializer(case: &Value) -> Result<InitFn> {
    let kw = &case["kwargs"];
    let (make, call) = (kw["make"].clone(), kw["call"].clone());
    let dtype = match kw["dtype"].as_str().unwrap() {
        "float16" => mx::float16,
        "bfloat16" => mx::bfloat16,
        _ => mx::float32,
    };
    let gain = num(&call, "gain", 1.0);
    let mode = || -> Result<FanMode> {
        call.get("mode")
            .and_then(Value::as_str)
            .map_or(Ok(FanMode::FanIn), str::parse)
    };
    Ok(match case["layer"].as_str().unwrap() {
        "constant" => Box::new(init::constant(num(&make, "value", 0.0), dtype)),
        "normal" => Box::new(init::normal(
            num(&make, "mean", 0.0),
            num(&make, "std", 1.0),
            dtype,
        )),
        "uniform" => Box::new(init::uniform(
            num(&make, "low", 0.0),
            num(&make, "high", 1.0),
            dtype,
        )),
        "identity" => Box::new(init::identity(dtype)),
        "glorot_normal" => {
            let f = init::glorot_normal(dtype);
            Box::new(move |a| f(a, gain))
        }
        "glorot_uniform" => {
            let f = init::glorot_uniform(dtype);
            Box::new(move |a| f(a, gain))
        }
        "he_normal" => {
            let (f, m) = (init::he_normal(dtype), mode()?);
            Box::new(move |a| f(a, m, gain))
        }
        "he_uniform" => {
            let (f, m) = (init::he_uniform(dtype), mode()?);
            Box::new(move |a| f(a, m, gain))
        }
        "sparse" => Box::new(init::sparse(
            num(&make, "sparsity", 0.0),
            num(&make, "mean", 0.0),
            num(&make, "std", 1.0),
            dtype,
        )),
        "orthogonal" => Box::new(init::orthogonal(num(&make, "gain", 1.0), dtype)),
        other => return Err(Error::value(format!("unknown initializer {other}"))),
    })
}

fn build(case: &Value) -> Result<UnderTest> {
    let f = initializer(case)?;
    Ok(function(move |xs| {
        Ok(vec![f(xs[0].as_ref().expect("input"))?])
    }))
}

#[test]
fn initializers_match_mlx() {
    check_family("nn_init", &build);
}

/// Where MLX raised, rmlx raises with the same text.
#[test]
fn initializer_errors_are_mlx_errors() {
    let g = Goldens::load("nn_init");
    for case in g.cases.iter().filter(|c| c.get("error").is_some()) {
        let want = case["message"].as_str().unwrap();
        let x = g.inputs(case)[0].clone().unwrap();
        let err = initializer(case)
            .and_then(|f| f(&x))
            .err()
            .unwrap_or_else(|| panic!("{}: no error", case["name"]));
        assert_eq!(err.to_string(), want, "{}", case["name"]);
    }
}

#[test]
fn initializers_keep_shape_and_dtype() {
    let a = mx::zeros(&[3, 2], mx::float32).unwrap();
    let out = init::he_uniform(Dtype::Float16)(&a, FanMode::FanOut, 1.0).unwrap();
    assert_eq!((out.shape(), out.dtype()), (&[3usize, 2][..], mx::float16));
}
