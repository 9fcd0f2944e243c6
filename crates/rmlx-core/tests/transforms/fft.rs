//! Rules of the FFT primitive: vjp and jvp against finite differences and each other (complex
//! inputs built from two real ones, complex outputs split into real and imaginary parts), vmap
//! against stacking slices, for every kind of transform, padded and cropped sizes, several
//! axes and each norm.
//!
//! The transforms compute in float32, so the finite differences take a large step: the
//! functions are linear, for which any step is exact.
use crate::common::*;
use rmlx_core as mx;
use rmlx_core::fft::{self, FftNorm};
use rmlx_core::{Array, C64, Result};

/// `x + i y` as complex64.
fn complex(x: &Array, y: &Array) -> Result<Array> {
    let re = x.astype(mx::complex64)?;
    let im = mx::multiply(&y.astype(mx::complex64)?, C64::new(0.0, 1.0))?;
    mx::add(&re, &im)
}

/// The real and imaginary parts of a complex result side by side (a real result as is).
fn split(z: Array) -> Result<Array> {
    if z.dtype() != mx::complex64 {
        return Ok(z);
    }
    mx::concatenate(&[mx::real(&z)?, mx::imag(&z)?], -1)
}

type Op = fn(&Array) -> Result<Array>;

/// Each transform, applied to a complex input (real for `rfft*`).
fn ops() -> Vec<(&'static str, bool, Op)> {
    vec![
        ("complex identity", false, |z| mx::multiply(z, 1.0)),
        ("fft", false, |z| fft::fft(z)),
        ("fft n=7 axis 0", false, |z| {
            fft::fft_with(z, Some(7), 0, FftNorm::Backward)
        }),
        ("fft n=2 ortho", false, |z| {
            fft::fft_with(z, Some(2), -1, FftNorm::Ortho)
        }),
        ("ifft", false, |z| fft::ifft(z)),
        ("ifft n=9 forward", false, |z| {
            fft::ifft_with(z, Some(9), 1, FftNorm::Forward)
        }),
        ("fft2", false, |z| fft::fft2(z)),
        ("ifft2 s", false, |z| {
            fft::ifft2_with(z, Some(&[3, 6]), Some(&[-2, -1]), FftNorm::Backward)
        }),
        ("fftn axes 2,0", false, |z| {
            fft::fftn_with(z, None, Some(&[2, 0]), FftNorm::Ortho)
        }),
        ("ifftn", false, |z| fft::ifftn(z)),
        ("rfft even", true, |x| fft::rfft(x)),
        ("rfft odd n", true, |x| {
            fft::rfft_with(x, Some(5), -1, FftNorm::Backward)
        }),
        ("rfft n=8 axis 1", true, |x| {
            fft::rfft_with(x, Some(8), 1, FftNorm::Ortho)
        }),
        ("rfft2", true, |x| fft::rfft2(x)),
        ("rfftn s", true, |x| {
            fft::rfftn_with(x, Some(&[3, 5]), Some(&[0, 2]), FftNorm::Forward)
        }),
        ("irfft", false, |z| fft::irfft(z)),
        ("irfft odd n", false, |z| {
            fft::irfft_with(z, Some(7), -1, FftNorm::Backward)
        }),
        ("irfft n=3 axis 0", false, |z| {
            fft::irfft_with(z, Some(3), 0, FftNorm::Ortho)
        }),
        ("irfft2", false, |z| fft::irfft2(z)),
        ("irfftn odd s", false, |z| {
            fft::irfftn_with(z, Some(&[4, 5]), Some(&[1, 2]), FftNorm::Forward)
        }),
    ]
}

#[test]
fn fft_grads_match_finite_differences() {
    for (k, (name, real_in, op)) in ops().into_iter().enumerate() {
        let shape = [3, 4, 6];
        if real_in {
            let f = move |a: &[Array]| split(op(&a[0])?);
            check_grads_step(name, f, &[rand(&shape, 10 + k as u64)], 2e-3, 0.25);
        } else {
            let f = move |a: &[Array]| split(op(&complex(&a[0], &a[1])?)?);
            let inputs = [rand(&shape, 10 + k as u64), rand(&shape, 50 + k as u64)];
            check_grads_step(name, f, &inputs, 2e-3, 0.25);
        }
    }
}

#[test]
fn fft_vmap_matches_stacked_slices() {
    for (k, (name, real_in, op)) in ops().into_iter().enumerate() {
        for axis in [0isize, 1, 3] {
            // Slices of shape [3, 4, 6], stacked along `axis`.
            let mut s = vec![3, 4, 6];
            s.insert(axis as usize, 2);
            let x = rand(&s, 90 + k as u64).astype(mx::float32).unwrap();
            let y = rand(&s, 95 + k as u64).astype(mx::float32).unwrap();
            let label = format!("{name} batch axis {axis}");
            if real_in {
                let f = move |a: &[Array]| op(&a[0]);
                check_vmap(&label, f, &[x], &[Some(axis)], 1e-4);
            } else {
                let f = move |a: &[Array]| op(&complex(&a[0], &a[1])?);
                check_vmap(&label, f, &[x, y], &[Some(axis), Some(axis)], 1e-4);
            }
        }
    }
}

#[test]
fn fft_grads_nest() {
    // A second-order derivative through the rules (the vjp of the vjp): the function is
    // quadratic, the power spectrum re^2 + im^2 of rfft(x) summed, whose gradient is linear in x.
    let f = |a: &[Array]| {
        let g = mx::grad(
            |b: &[Array]| {
                let y = fft::rfft(&b[0])?;
                let power = mx::add(&mx::square(&mx::real(&y)?)?, &mx::square(&mx::imag(&y)?)?)?;
                mx::sum(&power)
            },
            0,
        );
        Ok(g(a)?[0].clone())
    };
    check_grads_step("grad of |rfft|^2", f, &[rand(&[2, 7], 3)], 2e-3, 0.25);
}

/// stft with a window shorter than the frame, reflect padding and a hop that does not divide.
fn stft_small(x: &Array) -> Result<Array> {
    let opts = fft::StftOptions {
        n_fft: 6,
        hop_length: Some(4),
        window: Some(mx::array![0.5f32, 1.0, 0.75, 0.25]),
        ..Default::default()
    };
    fft::stft(x, &opts)
}

/// istft of a (…, 4, frames) spectrogram with n_fft 6, hop 2 and a trimmed length.
fn istft_small(z: &Array) -> Result<Array> {
    let opts = fft::IstftOptions {
        n_fft: Some(6),
        hop_length: Some(2),
        window: Some(mx::array![0.5f32, 1.0, 1.0, 0.75, 0.5, 0.25]),
        length: Some(9),
        ..Default::default()
    };
    fft::istft(z, &opts)
}

#[test]
fn stft_grads_match_finite_differences() {
    let f = |a: &[Array]| split(stft_small(&a[0])?);
    check_grads_step("stft", f, &[rand(&[2, 13], 7)], 2e-3, 0.25);
    let two_sided = |a: &[Array]| {
        let opts = fft::StftOptions {
            n_fft: 5,
            hop_length: Some(2),
            pad_mode: mx::PadMode::Edge,
            norm: FftNorm::Ortho,
            onesided: Some(false),
            ..Default::default()
        };
        split(fft::stft(&complex(&a[0], &a[1])?, &opts)?)
    };
    check_grads_step(
        "stft complex two-sided",
        two_sided,
        &[rand(&[11], 8), rand(&[11], 9)],
        2e-3,
        0.25,
    );
    // istft divides by the window envelope, which does not depend on the input: linear too.
    let g = |a: &[Array]| istft_small(&complex(&a[0], &a[1])?);
    check_grads_step(
        "istft",
        g,
        &[rand(&[2, 4, 5], 10), rand(&[2, 4, 5], 11)],
        2e-3,
        0.25,
    );
}

#[test]
fn stft_vmap_matches_stacked_slices() {
    // MLX cannot vmap stft (its frames are an as_strided view); rmlx gathers them.
    for axis in [0isize, 1, 2] {
        let mut s = vec![3, 14];
        s.insert(axis as usize, 2);
        let x = rand(&s, 20 + axis as u64).astype(mx::float32).unwrap();
        let f = |a: &[Array]| stft_small(&a[0]);
        check_vmap(&format!("stft axis {axis}"), f, &[x], &[Some(axis)], 1e-4);
    }
    for axis in [0isize, 2, 3] {
        let mut s = vec![3, 4, 5];
        s.insert(axis as usize, 2);
        let x = rand(&s, 30 + axis as u64).astype(mx::float32).unwrap();
        let y = rand(&s, 40 + axis as u64).astype(mx::float32).unwrap();
        let f = |a: &[Array]| istft_small(&complex(&a[0], &a[1])?);
        check_vmap(
            &format!("istft axis {axis}"),
            f,
            &[x, y],
            &[Some(axis), Some(axis)],
            1e-4,
        );
    }
}
