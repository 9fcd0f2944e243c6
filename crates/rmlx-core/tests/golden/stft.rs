//! Golden cases of the short-time transforms (`mx.fft.stft`, `mx.fft.istft`) recorded from
//! MLX 0.32.4 by tools/goldens/gen_stft.py, the messages of the errors they raise, and round
//! trips back to the signal.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::fft::{self, FftNorm, IstftOptions, StftOptions};
use rmlx_core::{Array, Operand, PadMode};
use serde_json::Value;

fn opt_isize(kw: &Value, key: &str) -> Option<isize> {
    kw_i64(kw, key).map(|v| v as isize)
}

fn dispatch(op: &str, ins: &[Operand], kw: &Value) -> mx::Result<Vec<Array>> {
    let x = arr(&ins[0]);
    let window = kw_bool(kw, "window").unwrap_or(false).then(|| arr(&ins[1]));
    let norm: FftNorm = match kw.get("norm").and_then(Value::as_str) {
        Some(s) => s.parse()?,
        None => FftNorm::Backward,
    };
    let onesided = kw_bool(kw, "onesided");
    let center = kw_bool(kw, "center").unwrap_or(true);
    let out = match op {
        "stft" => {
            let pad_mode = match kw.get("pad_mode").and_then(Value::as_str) {
                Some(s) => s.parse()?,
                None => PadMode::Reflect,
            };
            let opts = StftOptions {
                n_fft: opt_isize(kw, "n_fft").unwrap_or(2048),
                hop_length: opt_isize(kw, "hop_length"),
                win_length: opt_isize(kw, "win_length"),
                window,
                center,
                pad_mode,
                norm,
                onesided,
            };
            fft::stft(&x, &opts)?
        }
        "istft" => {
            let opts = IstftOptions {
                n_fft: opt_isize(kw, "n_fft"),
                hop_length: opt_isize(kw, "hop_length"),
                win_length: opt_isize(kw, "win_length"),
                window,
                center,
                norm,
                onesided,
                length: opt_isize(kw, "length"),
            };
            fft::istft(&x, &opts)?
        }
        _ => panic!("unknown op {op}"),
    };
    Ok(vec![out])
}

#[test]
fn stft_matches_mlx() {
    check_family("stft", dispatch);
}

/// The errors stft and istft raise themselves carry MLX's text. (A bad `norm` or `pad_mode`
/// is a string only in Python: here the enums' parsers report it; other errors come from the
/// ops stft is built of, whose texts are rmlx's.)
#[test]
fn stft_error_messages_match_mlx() {
    let g = Goldens::load("stft");
    let mut checked = 0;
    for case in &g.cases {
        let Some(msg) = case.get("message").and_then(Value::as_str) else {
            continue;
        };
        let own = msg.starts_with("[stft]") || msg.starts_with("[istft]") || msg.contains("[full]");
        if !own || msg.contains("Invalid norm") {
            continue;
        }
        let inputs: Vec<Operand> = case["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| g.input(r))
            .collect();
        let op = case["op"].as_str().unwrap();
        let err = dispatch(op, &inputs, &case["kwargs"]).expect_err(msg);
        assert_eq!(err.message(), msg, "{}", case["name"]);
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} messages checked");
}

fn ramp(n: usize, seed: f32) -> Array {
    let v: Vec<f32> = (0..n)
        .map(|i| ((i as f32 * 0.37 + seed).sin() * 2.0) + 0.1 * i as f32)
        .collect();
    Array::from_slice(&v, &[n]).unwrap()
}

fn hann(n: usize) -> Array {
    // Periodic Hann: sum of squares constant over hops of n / 4.
    let v: Vec<f32> = (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n as f32).cos())
        .collect();
    Array::from_slice(&v, &[n]).unwrap()
}

fn assert_close(got: &Array, want: &Array, tol: f32, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!((a - b).abs() <= tol, "{what}[{i}]: {a} vs {b}");
    }
}

#[test]
fn istft_inverts_stft() -> mx::Result<()> {
    let x = mx::stack(&[ramp(101, 0.0), ramp(101, 1.0)], 0)?;
    for (n_fft, hop, window) in [
        (16, 4, None),
        (16, 4, Some(hann(16))),
        (15, 5, None),
        (8, 3, None),
        (10, 10, None),
        (32, 8, Some(hann(32))),
    ] {
        for center in [true, false] {
            for pad_mode in [PadMode::Reflect, PadMode::Constant, PadMode::Edge] {
                for onesided in [true, false] {
                    let s = fft::stft(
                        &x,
                        &StftOptions {
                            n_fft,
                            hop_length: Some(hop),
                            window: window.clone(),
                            center,
                            pad_mode,
                            norm: FftNorm::Ortho,
                            onesided: Some(onesided),
                            ..Default::default()
                        },
                    )?;
                    let opts = IstftOptions {
                        n_fft: Some(n_fft),
                        hop_length: Some(hop),
                        window: window.clone(),
                        center,
                        norm: FftNorm::Ortho,
                        onesided: Some(onesided),
                        length: Some(101),
                        ..Default::default()
                    };
                    let back = fft::istft(&s, &opts)?;
                    // Without centring the frames cover the signal up to the last whole hop,
                    // and a Hann window vanishes at the first and last samples.
                    let (lo, hi) = if center {
                        (0, 101)
                    } else {
                        let covered = n_fft + (101 - n_fft) / hop * hop;
                        let edge = if window.is_some() { n_fft / 2 } else { 0 };
                        (edge, covered - edge)
                    };
                    let what = format!("n_fft {n_fft} hop {hop} center {center} {pad_mode:?}");
                    let keep = |a: &Array| mx::slice(a, [0, lo], [2, hi], [1, 1]);
                    assert_close(&keep(&back)?, &keep(&x)?, 2e-4, &what);
                }
            }
        }
    }
    Ok(())
}

/// Median milliseconds of `f` over about one second of calls after two warm-ups.
fn median_ms(mut f: impl FnMut() -> mx::Result<()>) -> mx::Result<f64> {
    f()?;
    f()?;
    let mut times = Vec::new();
    let start = std::time::Instant::now();
    while times.len() < 5 || start.elapsed().as_secs_f64() < 1.0 {
        let t = std::time::Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times[times.len() / 2])
}

/// stft and istft of four 10 s signals at 16 kHz (n_fft 512, hop 128, Hann), for a quick look:
/// `cargo test -p rmlx-core --test golden stft_timings -- --ignored --nocapture`.
#[test]
#[ignore]
fn stft_timings() -> mx::Result<()> {
    let x = mx::stack(
        &(0..4).map(|k| ramp(160_000, k as f32)).collect::<Vec<_>>(),
        0,
    )?;
    let window = Some(hann(512));
    let s_opts = StftOptions {
        n_fft: 512,
        hop_length: Some(128),
        window: window.clone(),
        ..Default::default()
    };
    let i_opts = IstftOptions {
        n_fft: Some(512),
        hop_length: Some(128),
        window,
        ..Default::default()
    };
    let s = fft::stft(&x, &s_opts)?;
    s.eval()?;
    let a = median_ms(|| fft::stft(&x, &s_opts)?.eval())?;
    let b = median_ms(|| fft::istft(&s, &i_opts)?.eval())?;
    println!("stft {a:.2} ms, istft {b:.2} ms");
    Ok(())
}

#[test]
fn huge_sizes_are_errors_not_panics() -> mx::Result<()> {
    let x = ramp(16, 0.0);
    let huge = StftOptions {
        n_fft: isize::MAX,
        hop_length: Some(1),
        window: Some(mx::ones(&[2], mx::float32)?),
        ..Default::default()
    };
    assert!(fft::stft(&x, &huge).is_err());
    let s = mx::zeros(&[0, 5, 4], mx::complex64)?;
    for hop in [isize::MAX / 2, isize::MAX] {
        let opts = IstftOptions {
            hop_length: Some(hop),
            window: Some(mx::ones(&[2], mx::float32)?),
            ..Default::default()
        };
        assert!(fft::istft(&s, &opts).is_err());
    }
    Ok(())
}
