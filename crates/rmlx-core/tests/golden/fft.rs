//! Golden cases of the FFT family (`mx.fft`) recorded from MLX 0.32.4 by
//! tools/goldens/gen_fft.py, plus checks against a plain DFT on lengths the goldens do not
//! reach and of the parallel paths.
//!
//! Float tolerances of transform cases scale with the transform length and the largest output
//! (each case's "why" says so): MLX uses pocketfft, rmlx rustfft/realfft, both in float32.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::fft::{self, FftNorm};
use rmlx_core::{Array, C64, Operand};
use serde_json::Value;

fn norm_kw(kw: &Value) -> FftNorm {
    kw.get("norm")
        .and_then(Value::as_str)
        .map(|s| s.parse().expect("norm"))
        .unwrap_or_default()
}

/// A list kwarg: absent, `null` (Python's None) or a list of ints.
enum ListKw {
    Absent,
    Null,
    List(Vec<isize>),
}

fn list_kw(kw: &Value, key: &str) -> ListKw {
    match kw.get(key) {
        None => ListKw::Absent,
        Some(Value::Null) => ListKw::Null,
        Some(Value::Array(v)) => {
            ListKw::List(v.iter().map(|x| x.as_i64().unwrap() as isize).collect())
        }
        Some(v) => ListKw::List(vec![v.as_i64().expect("int") as isize]),
    }
}

type OneD = fn(&Array, Option<isize>, isize, FftNorm) -> mx::Result<Array>;
type NDim = fn(&Array, Option<&[isize]>, Option<&[isize]>, FftNorm) -> mx::Result<Array>;

fn one_d(
    a: &Array,
    kw: &Value,
    plain: fn(&Array) -> mx::Result<Array>,
    with: OneD,
) -> mx::Result<Array> {
    if kw.as_object().is_none_or(|o| o.is_empty()) {
        return plain(a);
    }
    let n = kw_i64(kw, "n").map(|v| v as isize);
    let axis = kw_i64(kw, "axis").unwrap_or(-1) as isize;
    with(a, n, axis, norm_kw(kw))
}

fn n_dim(
    a: &Array,
    kw: &Value,
    plain: fn(&Array) -> mx::Result<Array>,
    with: NDim,
    two: bool,
) -> mx::Result<Array> {
    let s = match list_kw(kw, "s") {
        ListKw::List(v) => Some(v),
        _ => None,
    };
    let axes = match list_kw(kw, "axes") {
        ListKw::Absent if two => Some(vec![-2, -1]),
        ListKw::Absent | ListKw::Null => None,
        ListKw::List(v) => Some(v),
    };
    if kw.as_object().is_none_or(|o| o.is_empty()) {
        return plain(a);
    }
    with(a, s.as_deref(), axes.as_deref(), norm_kw(kw))
}

fn dispatch(op: &str, ins: &[Operand], kw: &Value) -> mx::Result<Vec<Array>> {
    let out = match op {
        "fftfreq" | "rfftfreq" => {
            let n = kw_i64(kw, "n").expect("n");
            let d = kw_f64(kw, "d").expect("d");
            if op == "fftfreq" {
                fft::fftfreq(n, d)?
            } else {
                fft::rfftfreq(n, d)?
            }
        }
        _ => {
            let a = arr(&ins[0]);
            match op {
                "fft" => one_d(&a, kw, fft::fft, fft::fft_with)?,
                "ifft" => one_d(&a, kw, fft::ifft, fft::ifft_with)?,
                "rfft" => one_d(&a, kw, fft::rfft, fft::rfft_with)?,
                "irfft" => one_d(&a, kw, fft::irfft, fft::irfft_with)?,
                "fft2" => n_dim(&a, kw, fft::fft2, fft::fft2_with, true)?,
                "ifft2" => n_dim(&a, kw, fft::ifft2, fft::ifft2_with, true)?,
                "rfft2" => n_dim(&a, kw, fft::rfft2, fft::rfft2_with, true)?,
                "irfft2" => n_dim(&a, kw, fft::irfft2, fft::irfft2_with, true)?,
                "fftn" => n_dim(&a, kw, fft::fftn, fft::fftn_with, false)?,
                "ifftn" => n_dim(&a, kw, fft::ifftn, fft::ifftn_with, false)?,
                "rfftn" => n_dim(&a, kw, fft::rfftn, fft::rfftn_with, false)?,
                "irfftn" => n_dim(&a, kw, fft::irfftn, fft::irfftn_with, false)?,
                "fftshift" | "ifftshift" => {
                    let f = if op == "fftshift" {
                        fft::fftshift
                    } else {
                        fft::ifftshift
                    };
                    match list_kw(kw, "axes") {
                        ListKw::Absent | ListKw::Null => f(&a, None)?,
                        ListKw::List(v) => f(&a, Some(&v))?,
                    }
                }
                _ => panic!("unknown op {op}"),
            }
        }
    };
    Ok(vec![out])
}

#[test]
fn fft_matches_mlx() {
    check_family("fft", dispatch);
}

/// A plain O(n^2) DFT of one complex lane, in f64.
fn dft(x: &[C64], inverse: bool) -> Vec<(f64, f64)> {
    let n = x.len();
    let sign = if inverse { 1.0 } else { -1.0 };
    (0..n)
        .map(|k| {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (j, v) in x.iter().enumerate() {
                let t = sign * 2.0 * std::f64::consts::PI * ((j * k) % n) as f64 / n as f64;
                let (s, c) = t.sin_cos();
                re += v.re as f64 * c - v.im as f64 * s;
                im += v.re as f64 * s + v.im as f64 * c;
            }
            if inverse {
                (re / n as f64, im / n as f64)
            } else {
                (re, im)
            }
        })
        .collect()
}

fn lcg_c64(n: usize, seed: u64) -> Vec<C64> {
    let mut s = seed;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    (0..n).map(|_| C64::new(next(), next())).collect()
}

fn assert_close_dft(got: &[C64], want: &[(f64, f64)], what: &str) {
    let big = want
        .iter()
        .fold(1.0f64, |m, (r, i)| m.max(r.abs()).max(i.abs()));
    let tol = 1e-5 * big;
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g.re as f64 - w.0).abs() <= tol && (g.im as f64 - w.1).abs() <= tol,
            "{what}[{k}]: got {g} want {w:?}"
        );
    }
}

#[test]
fn lengths_against_a_plain_dft() -> mx::Result<()> {
    // Primes, prime powers, mixed radices and large primes (Bluestein/Rader paths).
    for n in [1usize, 6, 9, 25, 49, 121, 127, 243, 509, 720, 1009, 2310] {
        let x = lcg_c64(n, n as u64);
        let a = Array::from_slice(&x, &[n])?;
        assert_close_dft(&fft::fft(&a)?.to_vec::<C64>()?, &dft(&x, false), "fft");
        assert_close_dft(&fft::ifft(&a)?.to_vec::<C64>()?, &dft(&x, true), "ifft");
        // rfft of the real parts: the first n / 2 + 1 outputs of the full DFT.
        let re: Vec<f32> = x.iter().map(|c| c.re).collect();
        let full = dft(
            &re.iter().map(|&r| C64::new(r, 0.0)).collect::<Vec<_>>(),
            false,
        );
        let r = fft::rfft(&Array::from_slice(&re, &[n])?)?.to_vec::<C64>()?;
        assert_close_dft(&r, &full[..n / 2 + 1], "rfft");
        // irfft inverts it for both parities of n.
        let back = fft::irfft_with(
            &fft::rfft(&Array::from_slice(&re, &[n])?)?,
            Some(n as isize),
            -1,
            FftNorm::Backward,
        )?;
        let back = back.to_vec::<f32>()?;
        for (k, (b, w)) in back.iter().zip(&re).enumerate() {
            assert!((b - w).abs() <= 1e-4, "irfft(rfft)[{k}] n={n}: {b} vs {w}");
        }
    }
    Ok(())
}

#[test]
fn parallel_and_strided_paths_agree() -> mx::Result<()> {
    // Many lanes along a middle axis (strided gathers, batches on both cores) against the
    // same transform on a contiguous copy with the axis moved last.
    let x = Array::from_slice(&lcg_c64(64 * 300 * 8, 7), &[64, 300, 8])?;
    let along = fft::fft_with(&x, None, 1, FftNorm::Backward)?;
    let moved = mx::contiguous(&mx::moveaxis(&x, 1, -1)?)?;
    let want = mx::moveaxis(&fft::fft(&moved)?, -1, 1)?;
    assert!(
        mx::allclose_with(
            &along,
            &want,
            mx::CloseOptions {
                rtol: 1e-5,
                atol: 1e-4,
                equal_nan: false
            }
        )?
        .item::<bool>()?
    );
    // Real transforms over two axes of a large input, round trip.
    let r = mx::real(&x)?;
    let back = fft::irfftn_with(
        &fft::rfftn_with(&r, None, Some(&[0, 1]), FftNorm::Backward)?,
        Some(&[64, 300]),
        Some(&[0, 1]),
        FftNorm::Backward,
    )?;
    assert!(
        mx::allclose_with(
            &back,
            &r,
            mx::CloseOptions {
                rtol: 1e-5,
                atol: 1e-5,
                equal_nan: false
            }
        )?
        .item::<bool>()?
    );
    Ok(())
}

/// Median milliseconds of `f` over about one second of calls after two warm-ups (as the
/// benchmark harness measures).
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

/// The benchmark workloads `fft_1m_c64` and `rfft2_1024` (crates/rmlx/benches/rmlx_bench.rs)
/// in the test profile, for a quick look without a release build:
/// `cargo test -p rmlx-core --test golden fft_timings -- --ignored --nocapture`.
#[test]
#[ignore]
fn fft_timings() -> mx::Result<()> {
    let z = Array::from_slice(&lcg_c64(1 << 20, 41), &[1 << 20])?;
    let img = mx::real(&Array::from_slice(&lcg_c64(1 << 20, 43), &[1024, 1024])?)?;
    mx::eval([&z, &img])?;
    let a = median_ms(|| fft::fft(&z)?.eval())?;
    let b = median_ms(|| fft::rfft2(&img)?.eval())?;
    println!("fft_1m_c64 {a:.3} ms, rfft2_1024 {b:.3} ms");
    Ok(())
}
