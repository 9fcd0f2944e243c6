//! Golden cases of the quantization family (quantize, dequantize, quantized_matmul,
//! gather_qmm, to_fp8, from_fp8) against MLX 0.32.4. Packed words, scales, biases and
//! dequantized values must match bit for bit.

use crate::common::*;
use rmlx_core::{self as mx, Array, QuantMode};
use serde_json::Value;

fn mode(kw: &Value) -> mx::Result<QuantMode> {
    kw.get("mode")
        .and_then(Value::as_str)
        .unwrap_or("affine")
        .parse()
}

fn close(rtol: f64, atol: f64) -> mx::CloseOptions {
    mx::CloseOptions {
        rtol,
        atol,
        equal_nan: false,
    }
}

fn usize_kw(kw: &Value, key: &str) -> Option<usize> {
    kw_i64(kw, key).map(|v| v as usize)
}

#[test]
fn quantized_family_matches_mlx() {
    check_family("quantized", |op, ins, kw| {
        let a = |i: usize| arr(&ins[i]);
        let (gs, bits) = (usize_kw(kw, "group_size"), usize_kw(kw, "bits"));
        let transpose = kw_bool(kw, "transpose").unwrap_or(true);
        Ok(match op {
            "quantize" => {
                let (wq, s, b) = mx::quantize(&a(0), gs, bits, mode(kw)?)?;
                let mut v = vec![wq, s];
                v.extend(b);
                v
            }
            "dequantize" => {
                let m = mode(kw)?;
                let b = ins.get(2).map(arr);
                vec![mx::dequantize(
                    &a(0),
                    &a(1),
                    b.as_ref(),
                    gs,
                    bits,
                    m,
                    kw_dtype(kw, "dtype"),
                )?]
            }
            "quantized_matmul" => {
                let b = ins.get(3).map(arr);
                vec![mx::quantized_matmul(
                    &a(0),
                    &a(1),
                    &a(2),
                    b.as_ref(),
                    transpose,
                    gs,
                    bits,
                    mode(kw)?,
                )?]
            }
            "gather_qmm" => {
                let m = mode(kw)?;
                let mut rest: Vec<Array> = ins[2..].iter().map(arr).collect();
                let scales = rest.remove(0);
                let biases = (m == QuantMode::Affine && !rest.is_empty()).then(|| rest.remove(0));
                let lhs = kw_bool(kw, "has_lhs")
                    .unwrap_or(false)
                    .then(|| rest.remove(0));
                let rhs = kw_bool(kw, "has_rhs")
                    .unwrap_or(false)
                    .then(|| rest.remove(0));
                vec![mx::gather_qmm(
                    &a(0),
                    &a(1),
                    &scales,
                    biases.as_ref(),
                    lhs.as_ref(),
                    rhs.as_ref(),
                    transpose,
                    gs,
                    bits,
                    m,
                    kw_bool(kw, "sorted_indices").unwrap_or(false),
                )?]
            }
            "qqmm" => {
                let s = ins.get(2).map(arr);
                vec![mx::qqmm(&a(0), &a(1), s.as_ref(), gs, bits, mode(kw)?)?]
            }
            "to_fp8" => vec![mx::to_fp8(&a(0))?],
            "from_fp8" => vec![mx::from_fp8(
                &a(0),
                kw_dtype(kw, "dtype").unwrap_or(mx::bfloat16),
            )?],
            _ => panic!("unknown op {op}"),
        })
    });
}

/// `x` with no rows: MLX 0.32.4 crashes (division by zero); rmlx returns an empty result.
#[test]
fn quantized_matmul_of_empty_x() -> mx::Result<()> {
    let w = mx::ones(&[8, 64], mx::float32)?;
    let (wq, s, b) = mx::quantize(&w, None, None, QuantMode::Affine)?;
    let x = mx::zeros(&[0, 64], mx::float32)?;
    let y = mx::quantized_matmul(&x, &wq, &s, b.as_ref(), true, None, None, QuantMode::Affine)?;
    assert_eq!(y.shape(), &[0, 8]);
    y.eval()
}

/// An index past the batch of `w` is an error (MLX reads out of bounds).
#[test]
fn gather_qmm_index_out_of_range_is_an_error() -> mx::Result<()> {
    let w = mx::ones(&[2, 8, 64], mx::float32)?;
    let (wq, s, b) = mx::quantize(&w, None, None, QuantMode::Affine)?;
    let x = mx::ones(&[1, 1, 64], mx::float32)?;
    let rhs = mx::array![5u32];
    let y = mx::gather_qmm(
        &x,
        &wq,
        &s,
        b.as_ref(),
        None,
        Some(&rhs),
        true,
        None,
        None,
        QuantMode::Affine,
        false,
    )?;
    assert!(y.eval().is_err());
    Ok(())
}

/// The tiled (many rows) and streaming (few rows) product paths agree with a dequantized
/// matmul on a larger problem, for both orientations.
#[test]
fn quantized_matmul_paths_agree_with_dequantized_matmul() -> mx::Result<()> {
    let k = 256;
    let n = 80;
    let vals: Vec<f32> = (0..n * k)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    let w = Array::from_slice(&vals, &[n, k])?;
    for (mode, gs, bits) in [
        (QuantMode::Affine, 64, 4),
        (QuantMode::Affine, 32, 5),
        (QuantMode::Mxfp4, 32, 4),
    ] {
        let (wq, s, b) = mx::quantize(&w, Some(gs), Some(bits), mode)?;
        let wd = mx::dequantize(
            &wq,
            &s,
            b.as_ref(),
            Some(gs),
            Some(bits),
            mode,
            Some(mx::float32),
        )?;
        for m in [1usize, 5, 30] {
            let xv: Vec<f32> = (0..m * k)
                .map(|i| ((i * 13 % 29) as f32 - 14.0) / 7.0)
                .collect();
            let x = Array::from_slice(&xv, &[m, k])?;
            let y =
                mx::quantized_matmul(&x, &wq, &s, b.as_ref(), true, Some(gs), Some(bits), mode)?;
            let r = mx::matmul(&x, &wd.T())?;
            assert!(mx::allclose_with(&y, &r, close(1e-4, 1e-3))?.item::<bool>()?);
            // Not transposed: x (m x n) @ w (n x k).
            let xv: Vec<f32> = (0..m * n)
                .map(|i| ((i * 7 % 23) as f32 - 11.0) / 5.0)
                .collect();
            let x = Array::from_slice(&xv, &[m, n])?;
            let y =
                mx::quantized_matmul(&x, &wq, &s, b.as_ref(), false, Some(gs), Some(bits), mode)?;
            let r = mx::matmul(&x, &wd)?;
            assert!(mx::allclose_with(&y, &r, close(1e-4, 1e-3))?.item::<bool>()?);
        }
    }
    Ok(())
}

/// MLX 0.32.4's CPU fp8 conversions read float64 wrongly, so rmlx's float64 path is checked
/// against float32 (every fp8 code is exact in both).
#[test]
fn fp8_float64_matches_float32() -> mx::Result<()> {
    let codes = mx::arange(0, 256, 1)?.astype(mx::uint8)?;
    let f32s = mx::from_fp8(&codes, mx::float32)?;
    let f64s = mx::from_fp8(&codes, mx::float64)?;
    assert_eq!(f64s.dtype(), mx::float64);
    let (a, b) = (f32s.to_vec::<f64>()?, f64s.to_vec::<f64>()?);
    for (x, y) in a.iter().zip(&b) {
        assert!(x == y || (x.is_nan() && y.is_nan()), "{x} vs {y}");
    }
    let vals = mx::array![1.0, 0.001, -3.5, 448.0, 500.0];
    assert_eq!(
        mx::to_fp8(&vals.astype(mx::float64)?)?.to_vec::<u8>()?,
        mx::to_fp8(&vals)?.to_vec::<u8>()?
    );
    Ok(())
}
