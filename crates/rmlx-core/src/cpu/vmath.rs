//! Vectorised float32 math on slices: `exp`, `tanh`, `sigmoid`, `log`.
//!
//! Each function is written once as a branchless per-lane formula (range reduction and a
//! minimax polynomial, special values handled with selects) and mapped over fixed chunks of
//! [`LANES`] elements, which LLVM turns into SIMD code. The same code is compiled three times:
//! for AVX-512 + FMA, for AVX2 + FMA (both chosen at run time with `is_x86_feature_detected!`)
//! and portably (plain multiply-add, for other targets and older CPUs).
//!
//! Accuracy: within a few ulp of the correctly rounded result over the whole range, including
//! subnormal results; `inf`, `-inf`, `nan` and `-0.0` give what the C library gives.
//! The polynomial coefficients are least-squares (Lawson-reweighted, near minimax) fits on the
//! reduced ranges, computed in float64.

/// Elements per chunk: one AVX-512 register of f32.
const LANES: usize = 16;

/// `a * b + c`, fused where the target has FMA (`FMA` is a compile-time switch, so the
/// portable build never calls the slow software `fmaf`).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `2^n` for an integer `n` in `-126..=127`, from its exponent bits.
#[inline(always)]
fn pow2i(n: i32) -> f32 {
    f32::from_bits((n.wrapping_add(127) as u32) << 23)
}

/// `e^x = 2^n * p` for `x` already clamped to `[-104, 89]`: `x = n ln2 + r` with
/// `|r| <= ln2/2` and `p = e^r` from a degree-6 polynomial.
#[inline(always)]
fn exp_parts<const FMA: bool>(xc: f32) -> (f32, i32) {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that n * LN2_HI is exact for |n| < 2^9.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits.
    const SHIFTER: f32 = 12_582_912.0;
    let t = madd::<FMA>(xc, LOG2E, SHIFTER);
    let n = (t.to_bits() as i32).wrapping_sub(SHIFTER.to_bits() as i32);
    let nf = t - SHIFTER;
    let r = madd::<FMA>(nf, -LN2_HI, xc);
    let r = madd::<FMA>(nf, -LN2_LO, r);
    let mut q = 1.381_461_3e-3f32;
    q = madd::<FMA>(q, r, 8.368_71e-3);
    q = madd::<FMA>(q, r, 4.166_839e-2);
    q = madd::<FMA>(q, r, 0.166_665_21);
    q = madd::<FMA>(q, r, 0.499_999_94);
    (madd::<FMA>(q, r * r, r) + 1.0, n)
}

/// `e^x` for one lane. `x` is clamped to `[-104, 89]` (beyond which the result is 0 or inf)
/// and the polynomial result is scaled by `2^n` in two halves so that subnormal results and
/// overflow come out right.
#[inline(always)]
fn exp_lane<const FMA: bool>(x: f32) -> f32 {
    // NaN passes through the clamp.
    let xc = x.clamp(-104.0, 89.0);
    let (p, n) = exp_parts::<FMA>(xc);
    // 2^n = 2^(n/2) * 2^(n - n/2); both halves are normal for n in [-150, 129].
    let h = n >> 1;
    p * pow2i(h) * pow2i(n - h)
}

/// `tanh(x)` for one lane: an odd polynomial for `|x| < 0.625`, else
/// `1 - 2 / (e^(2|x|) + 1)`, with the sign of `x`.
#[inline(always)]
fn tanh_lane<const FMA: bool>(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let mut q = -5.704_988_3e-3f32;
    q = madd::<FMA>(q, z, 2.063_908_8e-2);
    q = madd::<FMA>(q, z, -5.373_971_5e-2);
    q = madd::<FMA>(q, z, 0.133_314_42);
    q = madd::<FMA>(q, z, -0.333_332_8);
    let small = madd::<FMA>(q * z, a, a);
    // tanh(x) rounds to 1 from |x| = 9.01 on, so e^(2|x|) is needed only up to e^20 (one
    // scaling suffices); NaN passes through the comparison.
    let (p, n) = exp_parts::<FMA>(if a > 10.0 { 20.0 } else { a + a });
    let e = p * pow2i(n);
    let large = 1.0 - 2.0 / (e + 1.0);
    (if a < 0.625 { small } else { large }).copysign(x)
}

/// `1 / (1 + e^-x)` for one lane, from `e = e^-|x|` (never overflows): `1 / (1 + e)` for
/// `x >= 0`, `e / (1 + e)` for `x < 0`.
#[inline(always)]
fn sigmoid_lane<const FMA: bool>(x: f32) -> f32 {
    let e = exp_lane::<FMA>(-x.abs());
    let d = 1.0 / (1.0 + e);
    if x < 0.0 { e * d } else { d }
}

/// `ln(x)` for one lane: `x = 2^k m` with `m` in `[sqrt(1/2), sqrt(2))`, then
/// `ln m = 2 atanh(s)`, `s = (m - 1) / (m + 1)`, from an odd polynomial.
#[inline(always)]
fn log_lane<const FMA: bool>(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Subnormals are scaled into the normal range first.
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 8_388_608.0 } else { x };
    let bits = xs.to_bits() as i32;
    // Offset so that the mantissa lands in [sqrt(1/2), sqrt(2)).
    let adj = bits.wrapping_sub(0x3f35_04f3);
    let k = (adj >> 23) - if sub { 23 } else { 0 };
    let m = f32::from_bits((adj & 0x007f_ffff).wrapping_add(0x3f35_04f3) as u32);
    let f = m - 1.0;
    let s = f / (m + 1.0);
    let z = s * s;
    let mut q = 0.298_709_36f32;
    q = madd::<FMA>(q, z, 0.399_775_74);
    q = madd::<FMA>(q, z, 0.666_667_76);
    let lnm = madd::<FMA>(q * z, s, s + s);
    let kf = k as f32;
    let r = madd::<FMA>(kf, LN2_HI, madd::<FMA>(kf, LN2_LO, lnm));
    if x > 0.0 && x < f32::INFINITY {
        r
    } else if x == 0.0 {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        x
    } else {
        // Negative or NaN.
        f32::NAN
    }
}

/// Maps `f` over `src` into `dst` in chunks of [`LANES`] (the tail through a padded chunk).
#[inline(always)]
fn map_chunks(src: &[f32], dst: &mut [f32], f: impl Fn(f32) -> f32) {
    assert_eq!(
        src.len(),
        dst.len(),
        "vmath: source and destination lengths differ"
    );
    let mut s_it = src.chunks_exact(LANES);
    let mut d_it = dst.chunks_exact_mut(LANES);
    for (s, d) in (&mut s_it).zip(&mut d_it) {
        let s: &[f32; LANES] = s.try_into().expect("exact chunk");
        let d: &mut [f32; LANES] = d.try_into().expect("exact chunk");
        for i in 0..LANES {
            d[i] = f(s[i]);
        }
    }
    let (s, d) = (s_it.remainder(), d_it.into_remainder());
    if !s.is_empty() {
        let mut buf = [0.0f32; LANES];
        buf[..s.len()].copy_from_slice(s);
        for v in buf.iter_mut() {
            *v = f(*v);
        }
        d.copy_from_slice(&buf[..s.len()]);
    }
}

/// The best instruction set this CPU has, detected once.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Level {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

fn level() -> Level {
    use std::sync::OnceLock;
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            let fma = is_x86_feature_detected!("fma");
            if fma && is_x86_feature_detected!("avx512f") {
                return Level::Avx512;
            }
            if fma && is_x86_feature_detected!("avx2") {
                return Level::Avx2;
            }
        }
        Level::Portable
    })
}

/// Defines a public slice function `$name(src, dst)` that runs `$lane` through the best
/// compiled variant for this CPU.
macro_rules! slice_fn {
    ($(#[$doc:meta])* $name:ident, $lane:ident) => {
        $(#[$doc])*
        ///
        /// # Panics
        /// If `src` and `dst` have different lengths.
        pub fn $name(src: &[f32], dst: &mut [f32]) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn avx512(src: &[f32], dst: &mut [f32]) {
                    map_chunks(src, dst, $lane::<true>)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2(src: &[f32], dst: &mut [f32]) {
                    map_chunks(src, dst, $lane::<true>)
                }
                match level() {
                    // SAFETY: the CPU has these features (checked at run time by `level`).
                    Level::Avx512 => return unsafe { avx512(src, dst) },
                    // SAFETY: as above.
                    Level::Avx2 => return unsafe { avx2(src, dst) },
                    Level::Portable => {}
                }
            }
            map_chunks(src, dst, $lane::<false>)
        }
    };
}

slice_fn!(
    /// `dst[i] = e^src[i]`.
    exp_f32,
    exp_lane
);
slice_fn!(
    /// `dst[i] = tanh(src[i])`.
    tanh_f32,
    tanh_lane
);
slice_fn!(
    /// `dst[i] = 1 / (1 + e^-src[i])`.
    sigmoid_f32,
    sigmoid_lane
);
slice_fn!(
    /// `dst[i] = ln(src[i])`.
    log_f32,
    log_lane
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite floats of the same sign.
    fn ulps(a: f32, b: f64) -> f64 {
        let b32 = b as f32;
        if a == b32 {
            return 0.0;
        }
        let ulp = if b32 == 0.0 {
            f32::from_bits(1) as f64
        } else {
            (b32.abs().next_up() - b32.abs()) as f64
        };
        ((a as f64) - b).abs() / ulp
    }

    /// A spread of test inputs: a dense grid plus special values.
    fn inputs(lo: f32, hi: f32) -> Vec<f32> {
        let mut v: Vec<f32> = (0..20001)
            .map(|i| lo + (hi - lo) * i as f32 / 20000.0)
            .collect();
        v.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            1e-8,
            -1e-8,
            f32::MIN_POSITIVE,
            1e-40,
            f32::MAX,
            f32::MIN,
        ]);
        v
    }

    fn check(
        f: fn(&[f32], &mut [f32]),
        lane: fn(f32) -> f32,
        reference: fn(f64) -> f64,
        xs: &[f32],
        max_ulp: f64,
    ) {
        let mut out = vec![0.0; xs.len()];
        f(xs, &mut out);
        for (i, &x) in xs.iter().enumerate() {
            let want = reference(x as f64);
            for got in [out[i], lane(x)] {
                if want.is_nan() {
                    assert!(got.is_nan(), "f({x}) = {got}, want nan");
                } else if (want as f32).is_infinite() || want == 0.0 {
                    assert_eq!(got, want as f32, "f({x})");
                    assert_eq!(
                        got.is_sign_negative(),
                        (want as f32).is_sign_negative(),
                        "sign of f({x})"
                    );
                } else {
                    assert!(
                        ulps(got, want) <= max_ulp,
                        "f({x}) = {got}, want {want} ({} ulp)",
                        ulps(got, want)
                    );
                }
            }
        }
    }

    fn sigmoid64(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    #[test]
    fn exp_is_accurate() {
        let mut xs = inputs(-110.0, 95.0);
        xs.extend([
            88.72,
            88.73,
            -87.3,
            -100.0,
            -103.9,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        check(exp_f32, exp_lane::<false>, f64::exp, &xs, 2.0);
    }

    #[test]
    fn tanh_is_accurate() {
        let mut xs = inputs(-12.0, 12.0);
        xs.extend([
            0.6249,
            0.625,
            -0.625,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        check(tanh_f32, tanh_lane::<false>, f64::tanh, &xs, 3.0);
    }

    #[test]
    fn sigmoid_is_accurate() {
        let mut xs = inputs(-110.0, 110.0);
        xs.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
        check(sigmoid_f32, sigmoid_lane::<false>, sigmoid64, &xs, 3.0);
    }

    #[test]
    fn log_is_accurate() {
        let mut xs = inputs(-1.0, 1000.0);
        xs.extend([1.0, 0.999_999_9, 1.000_000_1, 2.0, 0.5, 1e-45, 3e38]);
        xs.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -1.0]);
        check(log_f32, log_lane::<false>, f64::ln, &xs, 2.0);
    }
}
