//! Identity, Linear, Sequential, and freezing in the parameter trees.

use crate::common::*;
use rmlx_nn::core::{self as mx, Error, Result};
use rmlx_nn::{self as nn, FreezeOptions, Module, QuantizeOptions};
use serde_json::Value;

fn linear(spec: &Value) -> Result<nn::Linear> {
    let dims = spec.as_array().ok_or_else(|| Error::value("spec"))?;
    nn::Linear::with_bias(
        dims[0].as_u64().unwrap() as usize,
        dims[1].as_u64().unwrap() as usize,
        dims[2].as_bool().unwrap(),
    )
}

fn build(case: &Value) -> Result<UnderTest> {
    match case["layer"].as_str().unwrap() {
        "Linear" => {
            let mut l = nn::Linear::with_bias(
                kw_usize(case, "input_dims").unwrap(),
                kw_usize(case, "output_dims").unwrap(),
                kw_bool(case, "bias").unwrap(),
            )?;
            if kw_str(case, "dtype") == Some("float16") {
                l.set_dtype(mx::float16, None)?;
            }
            Ok(unary(l))
        }
        "QuantizedLinear" => {
            let opts = QuantizeOptions {
                group_size: kw_usize(case, "group_size"),
                bits: kw_usize(case, "bits"),
                mode: kw_str(case, "mode").unwrap().parse()?,
            };
            let (din, dout, bias) = (
                kw_usize(case, "input_dims").unwrap(),
                kw_usize(case, "output_dims").unwrap(),
                kw_bool(case, "bias").unwrap(),
            );
            if kw_bool(case, "from_linear") == Some(true) {
                Ok(unary(
                    nn::Linear::with_bias(din, dout, bias)?.to_quantized(&opts)?,
                ))
            } else {
                Ok(unary(nn::Linear::quantized(din, dout, bias, &opts)?))
            }
        }
        "QuantizedEmbedding" => {
            let opts = QuantizeOptions {
                group_size: kw_usize(case, "group_size"),
                bits: kw_usize(case, "bits"),
                mode: kw_str(case, "mode").unwrap().parse()?,
            };
            let (n, d) = (
                kw_usize(case, "num_embeddings").unwrap(),
                kw_usize(case, "dims").unwrap(),
            );
            let e = if kw_bool(case, "from_embedding") == Some(true) {
                nn::Embedding::new(n, d)?.to_quantized(&opts)?
            } else {
                nn::Embedding::quantized(n, d, &opts)?
            };
            if kw_bool(case, "as_linear") == Some(true) {
                Ok(with_call(e, |e: &nn::Embedding, xs| {
                    Ok(vec![e.as_linear(xs[0].as_ref().unwrap())?])
                }))
            } else {
                Ok(unary(e))
            }
        }
        "Identity" => Ok(unary(nn::Identity::new())),
        "Sequential" => {
            let mut seq = nn::Sequential::new();
            if let Some(dims) = kw_usizes(case, "embedding_then_linear") {
                seq.layers
                    .push(Box::new(nn::Embedding::new(dims[0], dims[1])?));
                seq.layers
                    .push(Box::new(nn::Linear::new(dims[1], dims[2])?));
                nn::quantize(&mut seq, &QuantizeOptions::default(), None)?;
                return Ok(unary(seq));
            }
            for spec in case["kwargs"]["layers"].as_array().unwrap() {
                seq.layers.push(if spec.is_null() {
                    Box::new(nn::Identity::new())
                } else {
                    Box::new(linear(spec)?)
                });
            }
            if let Some(frozen) = kw_usizes(case, "freeze") {
                for i in frozen {
                    seq.layers[i].freeze(&FreezeOptions::default())?;
                }
            }
            if let Some(keys) = case["kwargs"].get("freeze_keys").and_then(Value::as_array) {
                seq.freeze(&FreezeOptions::keys(
                    keys.iter().map(|k| k.as_str().unwrap()),
                ))?;
            }
            if let Some(q) = case["kwargs"].get("quantize") {
                let opts = QuantizeOptions {
                    group_size: q["group_size"].as_u64().map(|v| v as usize),
                    bits: q["bits"].as_u64().map(|v| v as usize),
                    ..Default::default()
                };
                let skip = q["skip"].as_str().unwrap().to_string();
                let o = opts.clone();
                let pred = move |path: &str, _: &dyn Module| (path != skip).then(|| o.clone());
                nn::quantize(&mut seq, &opts, Some(&pred))?;
            }
            Ok(unary(seq))
        }
        other => Err(Error::value(format!("unknown layer {other}"))),
    }
}

#[test]
fn linear_family_matches_mlx() {
    check_family("nn_linear", &build);
}
