//! Golden cases of the convolution family (conv1d/2d/3d, conv_general, conv_transpose1d/2d/3d,
//! convolve) against MLX 0.32.4.

use crate::common::*;
use rmlx_core as mx;
use serde_json::Value;

/// An int-or-list kwarg (`default` when absent).
fn arg(kw: &Value, key: &str, default: i64) -> mx::ConvArg {
    mx::ConvArg(kw_list(kw, key).unwrap_or_else(|| vec![default]))
}

/// conv_general's padding: an int, a list, or two lists `[lo, hi]`.
fn padding(kw: &Value) -> mx::ConvPadding {
    match kw.get("padding") {
        Some(Value::Array(v)) if v.first().is_some_and(Value::is_array) => {
            let list = |x: &Value| -> Vec<i64> {
                x.as_array()
                    .expect("list")
                    .iter()
                    .map(|d| d.as_i64().expect("int"))
                    .collect()
            };
            mx::ConvPadding {
                lo: list(&v[0]),
                hi: list(&v[1]),
            }
        }
        _ => arg(kw, "padding", 0).into(),
    }
}

#[test]
fn conv_family_matches_mlx() {
    check_family("conv", |op, ins, kw| {
        let (x, w) = (arr(&ins[0]), arr(&ins[1]));
        let groups = kw_i64(kw, "groups").unwrap_or(1);
        let s = arg(kw, "stride", 1);
        let d = arg(kw, "dilation", 1);
        let p = || arg(kw, "padding", 0);
        let op_pad = arg(kw, "output_padding", 0);
        Ok(vec![match op {
            "conv1d" => mx::conv1d(&x, &w, s, p(), d, groups)?,
            "conv2d" => mx::conv2d(&x, &w, s, p(), d, groups)?,
            "conv3d" => mx::conv3d(&x, &w, s, p(), d, groups)?,
            "conv_transpose1d" => mx::conv_transpose1d(&x, &w, s, p(), d, op_pad, groups)?,
            "conv_transpose2d" => mx::conv_transpose2d(&x, &w, s, p(), d, op_pad, groups)?,
            "conv_transpose3d" => mx::conv_transpose3d(&x, &w, s, p(), d, op_pad, groups)?,
            "conv_general" => mx::conv_general(
                &x,
                &w,
                s,
                padding(kw),
                arg(kw, "kernel_dilation", 1),
                arg(kw, "input_dilation", 1),
                groups,
                kw_bool(kw, "flip").unwrap_or(false),
            )?,
            "convolve" => {
                let mode = kw["mode"].as_str().expect("mode");
                mx::convolve(&x, &w, mx::ConvolveMode::from_name(mode)?)?
            }
            _ => panic!("unknown op {op}"),
        }])
    });
}

/// Cases MLX itself cannot run (it crashes or misreports), where rmlx returns an error or the
/// mathematically expected result.
#[test]
fn conv_edge_cases() -> mx::Result<()> {
    let x = mx::ones(&[2, 5, 3], mx::float32)?;
    let w = mx::ones(&[4, 3, 3], mx::float32)?;
    // groups = 0 (MLX divides by zero).
    assert!(mx::conv1d(&x, &w, 1, 0, 1, 0).is_err());
    // A complex weight (MLX promotes, then uses only the real parts).
    let wc = mx::astype(&w, mx::complex64)?;
    assert!(mx::conv1d(&x, &wc, 1, 0, 1, 1).is_err());
    // No input channels, no output channels, an empty kernel (MLX's BLAS call fails).
    let y = mx::conv1d(
        &mx::ones(&[2, 5, 0], mx::float32)?,
        &mx::ones(&[4, 3, 0], mx::float32)?,
        1,
        0,
        1,
        1,
    )?;
    assert_eq!(y.shape(), &[2, 3, 4]);
    assert!(y.to_vec::<f32>()?.iter().all(|&v| v == 0.0));
    let y = mx::conv1d(&x, &mx::ones(&[0, 3, 3], mx::float32)?, 1, 0, 1, 1)?;
    assert_eq!(y.shape(), &[2, 3, 0]);
    let y = mx::conv1d(&x, &mx::ones(&[4, 0, 3], mx::float32)?, 1, 0, 1, 1)?;
    assert_eq!(y.shape(), &[2, 6, 4]);
    assert!(y.to_vec::<f32>()?.iter().all(|&v| v == 0.0));
    // float64 with the parameters MLX's CPU only runs for float32.
    let x64 = mx::astype(&mx::arange(0, 10, 1)?, mx::float64)?.reshape([1, 10, 1])?;
    let w64 = mx::astype(&mx::array![1.0, 2.0], mx::float64)?.reshape([1, 2, 1])?;
    let y = mx::conv1d(&x64, &w64, 3, 1, 2, 1)?;
    // positions -1, 2, 5, 8 with taps at +0 and +2
    assert_eq!(y.to_vec::<f64>()?, vec![2.0, 10.0, 19.0, 8.0]);
    // A window running past the input: MLX's truncating division gives one output (and MLX
    // reads uninitialised memory for the missing tap); rmlx reads a zero there.
    let x3 = mx::reshape(&mx::array![1.0, 2.0, 3.0], [1, 3, 1])?;
    let w4 = mx::reshape(&mx::array![1.0, 10.0, 100.0, 1000.0], [1, 4, 1])?;
    assert_eq!(
        mx::conv1d(&x3, &w4, 2, 0, 1, 1)?.to_vec::<f32>()?,
        vec![321.0]
    );
    // Parameter lists of the wrong length for the fixed-rank wrappers.
    let x2 = mx::ones(&[1, 4, 4, 1], mx::float32)?;
    let w2 = mx::ones(&[1, 2, 2, 1], mx::float32)?;
    assert!(mx::conv2d(&x2, &w2, [1, 2, 3], 0, 1, 1).is_err());
    assert!(mx::conv_transpose2d(&x2, &w2, 1, [0, 0, 0], 1, 0, 1).is_err());
    // Parameters beyond MLX's 32-bit ints.
    assert!(mx::conv2d(&x2, &w2, 1, 1i64 << 40, 1, 1).is_err());
    Ok(())
}

/// A large float32 convolution against a direct loop (several parallel row tiles, groups).
#[test]
fn conv_matches_direct_loop() -> mx::Result<()> {
    let (n, h, wd, cin, cout, k, groups) = (3usize, 13, 11, 6, 8, 3, 2);
    let xs: Vec<f32> = (0..n * h * wd * cin)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    let cg = cin / groups;
    let ws: Vec<f32> = (0..cout * k * k * cg)
        .map(|i| ((i * 53 % 89) as f32 - 44.0) / 30.0)
        .collect();
    let x = mx::Array::from_slice(&xs, &[n, h, wd, cin])?;
    let w = mx::Array::from_slice(&ws, &[cout, k, k, cg])?;
    let (s, p) = (2usize, 1usize);
    let y = mx::conv2d(&x, &w, s, p, 1, groups as i64)?;
    let (oh, ow) = ((h + 2 * p - k) / s + 1, (wd + 2 * p - k) / s + 1);
    assert_eq!(y.shape(), &[n, oh, ow, cout]);
    let got = y.to_vec::<f32>()?;
    let og = cout / groups;
    for b in 0..n {
        for i in 0..oh {
            for j in 0..ow {
                for o in 0..cout {
                    let grp = o / og;
                    let mut acc = 0f64;
                    for ki in 0..k {
                        for kj in 0..k {
                            let (yi, xj) = (
                                (i * s + ki) as isize - p as isize,
                                (j * s + kj) as isize - p as isize,
                            );
                            if yi < 0 || xj < 0 || yi >= h as isize || xj >= wd as isize {
                                continue;
                            }
                            for c in 0..cg {
                                let xv = xs[((b * h + yi as usize) * wd + xj as usize) * cin
                                    + grp * cg
                                    + c];
                                let wv = ws[((o * k + ki) * k + kj) * cg + c];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    let g = got[((b * oh + i) * ow + j) * cout + o] as f64;
                    assert!((g - acc).abs() < 1e-4, "({b},{i},{j},{o}): {g} vs {acc}");
                }
            }
        }
    }
    Ok(())
}

/// Weight gradients (computed position-major) agree whether the cotangent is row-major or a
/// strided view (whose rows the kernel gathers per tile), and with a float64 direct sum.
#[test]
fn weight_grads_of_strided_cotangents() {
    let (n, h, w, ci, co) = (3usize, 9usize, 7usize, 5usize, 4usize);
    let vals = |len: usize, k: usize| -> Vec<f32> {
        (0..len)
            .map(|i| ((i * k % 97) as f32 / 48.0) - 1.0)
            .collect()
    };
    let xs = vals(n * h * w * ci, 31);
    let ws = vals(co * 3 * 3 * ci, 17);
    let x = mx::Array::from_slice(&xs, &[n, h, w, ci]).unwrap();
    let wt = mx::Array::from_slice(&ws, &[co, 3, 3, ci]).unwrap();
    // (n, h, w, co) cotangents: every other column of a wider array (rows one stride apart)
    // and the first columns of a wider array (rows gathered per tile).
    let wide = vals(n * h * (2 * w) * co, 13);
    let cw = mx::Array::from_slice(&wide, &[n, h, 2 * w, co]).unwrap();
    let (ni, hi, wi, ci_) = (n as i64, h as i64, w as i64, co as i64);
    let strided = mx::slice(&cw, [0, 0, 0, 0], [ni, hi, 2 * wi, ci_], [1, 1, 2, 1]).unwrap();
    let cut = mx::slice(&cw, [0, 0, 0, 0], [ni, hi, wi, ci_], [1, 1, 1, 1]).unwrap();
    let cut_vals: Vec<f32> = cut.to_vec::<f32>().unwrap();
    let dense: Vec<f32> = strided.to_vec::<f32>().unwrap();
    let dense_a = mx::Array::from_slice(&dense, &[n, h, w, co]).unwrap();
    let f = |a: &[mx::Array]| mx::conv2d(&a[0], &a[1], 1, 1, 1, 1);
    let grad = |cot: &mx::Array| {
        let (_, g) = mx::vjp(f, &[x.clone(), wt.clone()], std::slice::from_ref(cot)).unwrap();
        g[1].to_vec::<f32>().unwrap()
    };
    let (a, b) = (grad(&strided), grad(&dense_a));
    let cut_dense = mx::Array::from_slice(&cut_vals, &[n, h, w, co]).unwrap();
    let (c1, c2) = (grad(&cut), grad(&cut_dense));
    for (k, (u, v)) in c1.iter().zip(&c2).enumerate() {
        assert!(
            (u - v).abs() <= 1e-5 * (1.0 + v.abs()),
            "cut {k}: {u} vs {v}"
        );
    }
    for o in 0..co {
        for ky in 0..3 {
            for kx in 0..3 {
                for c in 0..ci {
                    let mut s = 0f64;
                    for b_ in 0..n {
                        for y in 0..h {
                            for xx in 0..w {
                                let (iy, ix) = (y + ky, xx + kx);
                                if iy < 1 || ix < 1 || iy > h || ix > w {
                                    continue;
                                }
                                let xv = xs[((b_ * h + iy - 1) * w + ix - 1) * ci + c] as f64;
                                s += xv * dense[((b_ * h + y) * w + xx) * co + o] as f64;
                            }
                        }
                    }
                    let k = ((o * 3 + ky) * 3 + kx) * ci + c;
                    assert!(
                        (a[k] as f64 - s).abs() < 1e-4,
                        "strided {k}: {} vs {s}",
                        a[k]
                    );
                    assert!((b[k] as f64 - s).abs() < 1e-4, "dense {k}: {} vs {s}", b[k]);
                }
            }
        }
    }
}
