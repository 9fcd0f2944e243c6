//! Special functions the standard library lacks: `erf` and its inverse, in float64 (float32
//! callers round the float64 result once).
//!
//! - `erf(x)` for `|x| < 3` from the everywhere-positive series
//!   `erf(x) = 2/sqrt(pi) e^(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))` (no cancellation);
//!   for `|x| >= 3` as `1 - erfc(x)` with Laplace's continued fraction for `erfc`.
//! - `erfinv(y)`: a starting value from a closed-form approximation in `w = -ln(1 - y^2)`
//!   (after M. Giles, "Approximating the erfinv function", 2010), refined by Newton steps on
//!   `erf(x) = y` (on `erfc(x) = 1 - y` in the tail, where `1 - y` is exact).

use std::f64::consts::PI;

/// `2 / sqrt(pi)`.
const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;

/// `erfc(x)` for `x >= 3` from its continued fraction, evaluated bottom-up at a fixed depth
/// (enough for full double precision from `x = 3` on).
fn erfc_tail(x: f64) -> f64 {
    let mut f = x;
    for k in (1..=60).rev() {
        f = x + (k as f64 * 0.5) / f;
    }
    (-x * x).exp() / (PI.sqrt() * f)
}

/// The error function `erf(x)`.
pub(crate) fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    if a >= 6.0 {
        return 1.0f64.copysign(x);
    }
    if a >= 3.0 {
        return (1.0 - erfc_tail(a)).copysign(x);
    }
    // Positive-term series; the ratio of terms is 2x^2/(2n+3) and the loop stops once a term
    // no longer changes the sum.
    let z = a * a;
    let mut term = a;
    let mut sum = a;
    let mut n = 0.0;
    while term > sum * 1e-17 {
        term *= 2.0 * z / (2.0 * n + 3.0);
        sum += term;
        n += 1.0;
    }
    (TWO_OVER_SQRT_PI * (-z).exp() * sum).copysign(x)
}

/// A first approximation of `erfinv(y)` for `|y| < 1`, about 1e-7 relative.
fn erfinv_guess(y: f64) -> f64 {
    let w = -(-y * y).ln_1p();
    let p = if w < 5.0 {
        let w = w - 2.5;
        let c = [
            2.810_226_36e-08,
            3.432_739_39e-07,
            -3.523_387_7e-06,
            -4.391_506_54e-06,
            0.000_218_580_87,
            -0.001_253_725_03,
            -0.004_177_681_64,
            0.246_640_727,
            1.501_409_41,
        ];
        c.iter().fold(0.0, |acc, &k| acc * w + k)
    } else {
        let w = w.sqrt() - 3.0;
        let c = [
            -0.000_200_214_257,
            0.000_100_950_558,
            0.001_349_343_22,
            -0.003_673_428_44,
            0.005_739_507_73,
            -0.007_622_461_3,
            0.009_438_870_47,
            1.001_674_06,
            2.832_976_82,
        ];
        c.iter().fold(0.0, |acc, &k| acc * w + k)
    };
    p * y
}

/// The inverse error function: `erfinv(erf(x)) = x`; `±inf` at `±1`, NaN outside `[-1, 1]`.
pub(crate) fn erfinv(y: f64) -> f64 {
    if y.is_nan() || y.abs() > 1.0 {
        return f64::NAN;
    }
    if y.abs() == 1.0 {
        return f64::INFINITY.copysign(y);
    }
    if y == 0.0 {
        return y;
    }
    let a = y.abs();
    let mut x = erfinv_guess(a);
    // Newton converges quadratically from the 1e-7 start (in the far tail, where the start
    // is rougher, monotonically); a few more steps cover that.
    for _ in 0..12 {
        // Residual a - erf(x); in the tail as erfc(x) - (1 - a), where 1 - a is exact.
        let r = if x >= 3.0 {
            erfc_tail(x) - (1.0 - a)
        } else {
            a - erf(x)
        };
        let slope = TWO_OVER_SQRT_PI * (-x * x).exp();
        let step = r / slope;
        if !step.is_finite() {
            break;
        }
        x += step;
        if step.abs() <= 1e-16 * x {
            break;
        }
    }
    x.copysign(y)
}

/// `atanh(x)` for float32, accurate near -1 too. The standard library computes
/// `0.5 ln_1p(2x / (1 - x))`, whose argument tends to -1 as `x` does, so rounding it loses
/// most digits (1e-5 relative error at `x = -0.9989`); the argument is well-conditioned for
/// positive `x`, and `atanh` is odd.
pub(crate) fn atanh_f32(x: f32) -> f32 {
    x.abs().atanh().copysign(x)
}

/// [`atanh_f32`] for float64.
pub(crate) fn atanh_f64(x: f64) -> f64 {
    x.abs().atanh().copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_values() {
        // Reference values (erf to 17 digits).
        let cases = [
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
            (4.0, 0.999_999_984_582_742_1),
            (1e-10, 1.128_379_167_095_512_6e-10),
        ];
        for (x, want) in cases {
            assert!(
                (erf(x) - want).abs() <= 4e-16 * want,
                "erf({x}) = {}, want {want}",
                erf(x)
            );
            assert_eq!(erf(-x), -erf(x));
        }
        assert_eq!(erf(f64::INFINITY), 1.0);
        assert_eq!(erf(-0.0).to_bits(), (-0.0f64).to_bits());
        assert!(erf(f64::NAN).is_nan());
    }

    #[test]
    fn erfinv_inverts_erf() {
        for i in 1..400 {
            let x = i as f64 * 0.015;
            let y = erf(x);
            if y < 1.0 {
                let back = erfinv(y);
                // y carries half an ulp of rounding, worth 1.2e-16 / erf'(x) in x.
                let tol = 1e-11 + 1.2e-16 / (TWO_OVER_SQRT_PI * (-x * x).exp());
                assert!((back - x).abs() <= tol, "erfinv(erf({x})) = {back}");
            }
        }
        for y in [
            1e-300,
            1e-10,
            0.3,
            0.9,
            0.999,
            1.0 - 1e-12,
            1.0 - 2f64.powi(-53),
        ] {
            let x = erfinv(y);
            let back = if x >= 3.0 { 1.0 - erfc_tail(x) } else { erf(x) };
            assert!((back - y).abs() <= 4e-16 * y, "erf(erfinv({y})) = {back}");
        }
        assert_eq!(erfinv(1.0), f64::INFINITY);
        assert_eq!(erfinv(-1.0), f64::NEG_INFINITY);
        assert!(erfinv(1.5).is_nan());
        assert_eq!(erfinv(-0.0).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn atanh_is_accurate_near_minus_one() {
        let x = -0.9989416f32;
        let exact = -3.771_807_392_823_859_f64; // (x as f64).atanh() with the sign folded
        assert!(((atanh_f32(x) as f64 - exact) / exact).abs() < 2e-7);
        assert_eq!(atanh_f32(-x), -atanh_f32(x));
        assert!(atanh_f32(f32::NAN).is_nan());
        assert_eq!(atanh_f32(-1.0), f32::NEG_INFINITY);
        assert_eq!(atanh_f64(-0.0).to_bits(), (-0.0f64).to_bits());
    }
}
