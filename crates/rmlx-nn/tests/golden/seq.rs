//! Embedding, Bilinear, positional encodings (nn_seq), MultiHeadAttention and the transformer
//! layers (nn_transformer), RNN, GRU and LSTM (nn_recurrent).

use crate::common::*;
use rmlx_nn as nn;
use rmlx_nn::core::{self as mx, Array, Dtype, Error, Result};
use serde_json::Value;

fn activation(case: &Value, key: &str, default: nn::Activation) -> nn::Activation {
    match kw_str(case, key) {
        Some("relu") => nn::Activation::RELU,
        Some("gelu") => nn::Activation::GELU,
        Some("silu") => nn::Activation::SILU,
        Some("tanh") => nn::Activation::TANH,
        Some("sigmoid") => nn::Activation::SIGMOID,
        Some(other) => panic!("unknown activation {other}"),
        None => default,
    }
}

fn dtype(case: &Value) -> Option<Dtype> {
    match kw_str(case, "dtype") {
        Some("float16") => Some(mx::float16),
        Some("bfloat16") => Some(mx::bfloat16),
        Some("float32") => Some(mx::float32),
        Some(other) => panic!("unknown dtype {other}"),
        None => None,
    }
}

fn arg(xs: &[Option<Array>], i: usize) -> Option<&Array> {
    xs.get(i).and_then(Option::as_ref)
}

fn first(xs: &[Option<Array>]) -> Result<&Array> {
    arg(xs, 0).ok_or_else(|| Error::value("missing input"))
}

fn transformer_options(case: &Value) -> nn::TransformerOptions {
    nn::TransformerOptions {
        mlp_dims: kw_usize(case, "mlp_dims"),
        dropout: kw_f64(case, "dropout").unwrap_or(0.0),
        activation: activation(case, "activation", nn::Activation::RELU),
        norm_first: kw_bool(case, "norm_first").unwrap_or(true),
        checkpoint: kw_bool(case, "checkpoint").unwrap_or(false),
    }
}

/// The layer of a case, cast to the case's dtype when it names one.
fn build(case: &Value) -> Result<UnderTest> {
    let mut ut = build_layer(case)?;
    if let Some(dt) = dtype(case)
        && !case["params"].as_array().is_some_and(|p| p.is_empty())
    {
        ut.module.set_dtype(dt, None)?;
    }
    Ok(ut)
}

fn build_layer(case: &Value) -> Result<UnderTest> {
    let u = |k: &str| kw_usize(case, k).unwrap_or_else(|| panic!("kwarg {k}"));
    let call = &case["call"];
    Ok(match case["layer"].as_str().unwrap() {
        "Embedding" => {
            let e = nn::Embedding::new(u("num_embeddings"), u("dims"))?;
            if call.get("as_linear").is_some() {
                with_call(e, |e, xs| Ok(vec![e.as_linear(first(xs)?)?]))
            } else {
                unary(e)
            }
        }
        "Bilinear" => with_call(
            nn::Bilinear::with_bias(
                u("input1_dims"),
                u("input2_dims"),
                u("output_dims"),
                kw_bool(case, "bias").unwrap(),
            )?,
            |l, xs| Ok(vec![l.forward(first(xs)?, arg(xs, 1).unwrap())?]),
        ),
        "RoPE" => {
            let opts = nn::RoPEOptions {
                traditional: kw_bool(case, "traditional").unwrap(),
                base: kw_f64(case, "base").unwrap() as f32,
                scale: kw_f64(case, "scale").unwrap() as f32,
            };
            let offset = call["offset"].as_i64().unwrap() as i32;
            with_call(nn::RoPE::with_options(u("dims"), &opts), move |l, xs| {
                Ok(vec![l.forward_offset(first(xs)?, offset)?])
            })
        }
        "SinusoidalPositionalEncoding" => {
            let d = nn::SinusoidalPositionalEncodingOptions::default();
            let opts = nn::SinusoidalPositionalEncodingOptions {
                min_freq: kw_f64(case, "min_freq").unwrap_or(d.min_freq),
                max_freq: kw_f64(case, "max_freq").unwrap_or(d.max_freq),
                scale: kw_f64(case, "scale"),
                cos_first: kw_bool(case, "cos_first").unwrap_or(false),
                full_turns: kw_bool(case, "full_turns").unwrap_or(false),
            };
            unary(nn::SinusoidalPositionalEncoding::with_options(
                u("dims"),
                &opts,
            )?)
        }
        "ALiBi" => {
            let offset = call["offset"].as_u64().unwrap() as usize;
            with_call(nn::ALiBi::new(), move |l, xs| {
                Ok(vec![l.forward_with(first(xs)?, offset, arg(xs, 1))?])
            })
        }
        "create_alibi_matrix" => {
            let (q, k, h, o) = (u("q"), u("k"), u("num_heads"), u("offset"));
            function(move |_| {
                Ok(vec![nn::ALiBi::create_alibi_matrix(
                    q,
                    k,
                    h,
                    o,
                    mx::float32,
                )?])
            })
        }
        "create_additive_causal_mask" => {
            let (n, dt) = (u("n"), dtype(case).unwrap());
            function(move |_| {
                Ok(vec![nn::MultiHeadAttention::create_additive_causal_mask(
                    n, dt,
                )?])
            })
        }
        "MultiHeadAttention" => {
            let opts = nn::MultiHeadAttentionOptions {
                query_input_dims: kw_usize(case, "query_input_dims"),
                key_input_dims: kw_usize(case, "key_input_dims"),
                value_input_dims: kw_usize(case, "value_input_dims"),
                value_dims: kw_usize(case, "value_dims"),
                value_output_dims: kw_usize(case, "value_output_dims"),
                bias: kw_bool(case, "bias").unwrap_or(false),
            };
            let l = nn::MultiHeadAttention::with_options(u("dims"), u("num_heads"), &opts)?;
            with_call(l, |l, xs| {
                Ok(vec![l.forward(
                    first(xs)?,
                    arg(xs, 1).unwrap(),
                    arg(xs, 2).unwrap(),
                    arg(xs, 3),
                )?])
            })
        }
        "TransformerEncoderLayer" => with_call(
            nn::TransformerEncoderLayer::with_options(
                u("dims"),
                u("num_heads"),
                &transformer_options(case),
            )?,
            |l, xs| Ok(vec![l.forward(first(xs)?, arg(xs, 1))?]),
        ),
        "TransformerDecoderLayer" => with_call(
            nn::TransformerDecoderLayer::with_options(
                u("dims"),
                u("num_heads"),
                &transformer_options(case),
            )?,
            |l, xs| {
                Ok(vec![l.forward(
                    first(xs)?,
                    arg(xs, 1).unwrap(),
                    arg(xs, 2),
                    arg(xs, 3),
                )?])
            },
        ),
        "TransformerEncoder" => with_call(
            nn::TransformerEncoder::with_options(
                u("num_layers"),
                u("dims"),
                u("num_heads"),
                &transformer_options(case),
            )?,
            |l, xs| Ok(vec![l.forward(first(xs)?, arg(xs, 1))?]),
        ),
        "TransformerDecoder" => with_call(
            nn::TransformerDecoder::with_options(
                u("num_layers"),
                u("dims"),
                u("num_heads"),
                &transformer_options(case),
            )?,
            |l, xs| {
                Ok(vec![l.forward(
                    first(xs)?,
                    arg(xs, 1).unwrap(),
                    arg(xs, 2),
                    arg(xs, 3),
                )?])
            },
        ),
        "Transformer" => with_call(
            nn::Transformer::with_options(
                u("dims"),
                u("num_heads"),
                u("num_encoder_layers"),
                u("num_decoder_layers"),
                &transformer_options(case),
            )?,
            |l, xs| {
                Ok(vec![l.forward(
                    first(xs)?,
                    arg(xs, 1).unwrap(),
                    arg(xs, 2),
                    arg(xs, 3),
                    arg(xs, 4),
                )?])
            },
        ),
        "RNN" => with_call(
            nn::RNN::with_options(
                u("input_size"),
                u("hidden_size"),
                kw_bool(case, "bias").unwrap(),
                Some(activation(case, "nonlinearity", nn::Activation::TANH)),
            )?,
            |l, xs| Ok(vec![l.forward_with_hidden(first(xs)?, arg(xs, 1))?]),
        ),
        "GRU" => with_call(
            nn::GRU::with_bias(
                u("input_size"),
                u("hidden_size"),
                kw_bool(case, "bias").unwrap(),
            )?,
            |l, xs| Ok(vec![l.forward_with_hidden(first(xs)?, arg(xs, 1))?]),
        ),
        "LSTM" => with_call(
            nn::LSTM::with_bias(
                u("input_size"),
                u("hidden_size"),
                kw_bool(case, "bias").unwrap(),
            )?,
            |l, xs| {
                let (h, c) = l.forward(first(xs)?, arg(xs, 1), arg(xs, 2))?;
                Ok(vec![h, c])
            },
        ),
        other => return Err(Error::value(format!("unknown layer {other}"))),
    })
}

#[test]
fn seq_family_matches_mlx() {
    check_family("nn_seq", &build);
}

#[test]
fn transformer_family_matches_mlx() {
    check_family("nn_transformer", &build);
}

#[test]
fn recurrent_family_matches_mlx() {
    check_family("nn_recurrent", &build);
}
