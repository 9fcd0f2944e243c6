//! Vectorised float32 math on slices: `exp`, `tanh`, `sigmoid`, `log`, `erf` (and MLX's own
//! `erf` and `erfinv` formulas, bit for bit, where its values must be matched).
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

/// The coefficients of glibc's `logf` polynomial for `log1p(r)` (after the `r` term).
const LOG_A0: f64 = -0.25089342214237154;
const LOG_A1: f64 = 0.333456765744066;
const LOG_A2: f64 = -0.4999997485802103;

/// The table of glibc's `logf` (from the ARM optimized-routines `logf`): for each of 16
/// subintervals of the mantissa, `1/c` and `ln c` for a point `c` in it.
const LOGF_TAB: [(f64, f64); 16] = [
    (1.398907162146528, -0.33569133332882284),
    (1.3403141896637998, -0.2929040563774074),
    (1.286432210124115, -0.2518726580937369),
    (1.2367150214269895, -0.21245868807117255),
    (1.1906977166711752, -0.17453945183745634),
    (1.1479821020556429, -0.1380057072319758),
    (1.1082251448272158, -0.10275976698545139),
    (1.0711297413057381, -0.06871392447020525),
    (1.036437278977283, -0.0357891387398228),
    (1.0, 0.0),
    (0.9492859795739057, 0.05204517742929496),
    (0.8951049428609004, 0.11081431298787942),
    (0.8476821620351103, 0.1652495223695143),
    (0.8050314851692001, 0.21687389031699977),
    (0.7664671008843108, 0.2659635028121397),
    (0.731428603316328, 0.3127556664073557),
];

/// `ln(x)` for one lane, computed as glibc's `logf` computes it (so bit for bit the C
/// library's result, which is what MLX's CPU backend returns): `x = 2^k z` with `z` near one
/// of 16 table points `c`, then `ln x = k ln2 + ln c + log1p(z/c - 1)` in float64 with a
/// degree-4 polynomial for `log1p`, rounded once to float32 (under 1 ulp).
#[inline(always)]
fn log_lane<const FMA: bool>(x: f32) -> f32 {
    const LN2: f64 = std::f64::consts::LN_2;
    const A0: f64 = LOG_A0;
    const A1: f64 = LOG_A1;
    const A2: f64 = LOG_A2;
    // Subnormals are scaled into the normal range first.
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 8_388_608.0 } else { x };
    let ix = xs.to_bits().wrapping_sub(if sub { 23 << 23 } else { 0 });
    let tmp = ix.wrapping_sub(0x3f33_0000);
    let (invc, logc) = LOGF_TAB[((tmp >> 19) & 15) as usize];
    let k = (tmp as i32) >> 23;
    let z = f32::from_bits(ix.wrapping_sub(tmp & 0xff80_0000)) as f64;
    // Contracted or not, these steps give the same float32 result for every input (checked
    // exhaustively against glibc), so the portable build may skip FMA.
    let r = z * invc - 1.0;
    let y0 = logc + k as f64 * LN2;
    let r2 = r * r;
    let y = A1 * r + A2;
    let y = A0 * r2 + y;
    let r = (y * r2 + (y0 + r)) as f32;
    let _ = FMA;
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

/// `erfinv(a)` for one lane, as MLX's CPU backend computes it for float32 (and float16,
/// bfloat16 through float32): `t = ln(1 - a^2)` (a fused `1 - a*a`), then one of two
/// polynomials in `t` (fused multiply-adds) chosen by `|t| > 6.125`, times `a`. The fused
/// steps use `mul_add` in every build, so the result is the same bits on every target.
#[inline(always)]
fn erfinv_lane<const FMA: bool>(a: f32) -> f32 {
    erfinv_poly(a, log_lane::<FMA>(a.mul_add(-a, 1.0)))
}

/// The part of [`erfinv_lane`] after the logarithm: `t = ln(1 - a^2)`.
#[inline(always)]
fn erfinv_poly(a: f32, t: f32) -> f32 {
    let mut p = 3.0369757e-10f32;
    p = p.mul_add(t, 2.932431e-08);
    p = p.mul_add(t, 1.2215033e-06);
    p = p.mul_add(t, 2.8410896e-05);
    p = p.mul_add(t, 0.00039355297);
    p = p.mul_add(t, 0.0030269881);
    p = p.mul_add(t, 0.004831858);
    p = p.mul_add(t, -0.26464614);
    let lhs = p.mul_add(t, 0.8400165);
    let mut q = 5.4387783e-09f32;
    q = q.mul_add(t, 1.4328545e-07);
    q = q.mul_add(t, 1.2277479e-06);
    q = q.mul_add(t, 1.12963626e-07);
    q = q.mul_add(t, -5.6153076e-05);
    q = q.mul_add(t, -0.00014769763);
    q = q.mul_add(t, 0.0023146868);
    q = q.mul_add(t, 0.011539258);
    q = q.mul_add(t, -0.23201548);
    let rhs = q.mul_add(t, 0.8862269);
    a * if t.abs() > 6.125 { lhs } else { rhs }
}

/// `e^x` as MLX's CPU backend computes it (its own Cephes-style kernel, not the C library's):
/// `2^round(x log2 e)` from the exponent bits times a degree-6 polynomial in the remainder;
/// 0 below -88, inf above 88. Used where MLX's float32 kernels use it (`erf`).
// MLX's own literals, kept as written (they round to the std constants' float32 values).
#[allow(clippy::approx_constant)]
#[inline(always)]
fn mlx_exp_lane(x_init: f32) -> f32 {
    let x = x_init * 1.442695;
    // MLX adds the 0.5 in double precision.
    let ipart = ((x as f64) + 0.5).floor() as f32;
    let fpart = x - ipart;
    let mut p = 0.00015353362f32;
    p = p.mul_add(fpart, 0.0013398874);
    p = p.mul_add(fpart, 0.009618437);
    p = p.mul_add(fpart, 0.055503324);
    p = p.mul_add(fpart, 0.24022648);
    p = p.mul_add(fpart, 0.6931472);
    p = p.mul_add(fpart, 1.0);
    let scale = f32::from_bits(((ipart as i32).wrapping_add(127) as u32).wrapping_shl(23));
    if x_init.is_nan() {
        x_init
    } else if x_init > 88.0 {
        f32::INFINITY
    } else if x_init < -88.0 {
        0.0
    } else {
        scale * p
    }
}

/// `erf(x)` as MLX's CPU backend computes it for float32 (and the half types through float32):
/// Abramowitz and Stegun 7.1.26, `1 - t p(t) e^(-x^2)` with `t = 1 / (1 + 0.3275911 |x|)`,
/// fused multiply-adds as MLX writes them and MLX's own `exp`. About 1e-7 absolute error (so
/// up to 1.7% relative error near 0): kept only where MLX's exact bits matter
/// (`truncated_normal`'s bounds); the public `erf` is [`erf_lane`].
#[inline(always)]
fn erf_mlx_lane<const FMA: bool>(x: f32) -> f32 {
    let t = 1.0 / 0.3275911f32.mul_add(x.abs(), 1.0);
    let mut r = 1.0614054f32.mul_add(t, -1.4531521);
    r = r.mul_add(t, 1.4214138);
    r = r.mul_add(t, -0.28449672);
    r = r.mul_add(t, 0.2548296);
    let e = -mlx_exp_lane(-x * x);
    let result = (e * t).mul_add(r, 1.0);
    let _ = FMA;
    if x > 0.0 { result } else { -result }
}

/// `erf(x)` for one lane, within about one ulp: `x + x P(x^2)` for `|x| < 1` (`P` fits
/// `erf(x)/x - 1`, so tiny arguments keep full relative accuracy), `1 - e^(r(|x|) - x^2)` for
/// `1 <= |x| < 4` (`r` fits `ln erfc(a) + a^2` in `a - 2.5`), and 1 from 4 on (erf rounds to 1
/// in float32 from 3.92), with the sign of `x`. NaN takes the first branch and stays NaN.
#[inline(always)]
fn erf_lane<const FMA: bool>(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let mut p = 7.854_036e-5f32;
    p = madd::<FMA>(p, z, -8.010_251e-4);
    p = madd::<FMA>(p, z, 5.188_334_7e-3);
    p = madd::<FMA>(p, z, -2.685_381_7e-2);
    p = madd::<FMA>(p, z, 0.112_835_854);
    p = madd::<FMA>(p, z, -0.376_126_26);
    p = madd::<FMA>(p, z, 0.128_379_17);
    let small = madd::<FMA>(x, p, x);
    // Clamped so that the unused branch stays finite (NaN goes to 4 too).
    let ac = a.min(4.0);
    let s = ac - 2.5;
    let mut r = -5.555_544_3e-8f32;
    r = madd::<FMA>(r, s, 1.614_953_4e-6);
    r = madd::<FMA>(r, s, -1.302_811_9e-5);
    r = madd::<FMA>(r, s, 7.739_041e-5);
    r = madd::<FMA>(r, s, -4.206_192_7e-4);
    r = madd::<FMA>(r, s, 2.165_166e-3);
    r = madd::<FMA>(r, s, -1.085_822e-2);
    r = madd::<FMA>(r, s, 5.610_636e-2);
    r = madd::<FMA>(r, s, -0.352_680_74);
    r = madd::<FMA>(r, s, -1.556_815_3);
    let (q, n) = exp_parts::<FMA>(madd::<FMA>(-ac, ac, r));
    let large = 1.0 - q * pow2i(n);
    let large = if a >= 4.0 { 1.0 } else { large };
    if a >= 1.0 { large.copysign(x) } else { small }
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
pub(crate) enum Level {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

pub(crate) fn level() -> Level {
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
    /// `dst[i] = ln(src[i])`, lane by lane.
    log_f32_lanes,
    log_lane
);
slice_fn!(
    /// `dst[i] = erf(src[i])`, within about one ulp.
    erf_f32,
    erf_lane
);
slice_fn!(
    /// `dst[i] = erf(src[i])`, MLX's float32 approximation bit for bit (about 1e-7 absolute
    /// error): for samplers whose values must equal MLX's.
    erf_mlx_f32,
    erf_mlx_lane
);
slice_fn!(
    /// `dst[i] = erfinv(src[i])` (MLX's float32 approximation), lane by lane.
    erfinv_f32_lanes,
    erfinv_lane
);

/// `xs[i] = e^(xs[i] - shift)` in place, returning the sum of the results: a softmax row's
/// numerators and their total in one pass.
#[inline(always)]
fn exp_shifted_sum_body<const FMA: bool>(xs: &mut [f32], shift: f32) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = xs.chunks_exact_mut(LANES);
    for c in &mut chunks {
        let c: &mut [f32; LANES] = c.try_into().expect("exact chunk");
        for i in 0..LANES {
            let e = exp_lane::<FMA>(c[i] - shift);
            c[i] = e;
            acc[i] += e;
        }
    }
    let mut tail = 0f32;
    for v in chunks.into_remainder() {
        *v = exp_lane::<FMA>(*v - shift);
        tail += *v;
    }
    acc.iter().sum::<f32>() + tail
}

/// `xs[i] = e^(xs[i] - shift)` in place; returns the sum of the new values (a softmax row's
/// numerators and their total, in one pass over the row).
pub fn exp_shifted_sum_f32(xs: &mut [f32], shift: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512(xs: &mut [f32], shift: f32) -> f32 {
            exp_shifted_sum_body::<true>(xs, shift)
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2(xs: &mut [f32], shift: f32) -> f32 {
            exp_shifted_sum_body::<true>(xs, shift)
        }
        match level() {
            // SAFETY: the CPU has these features (checked at run time by `level`).
            Level::Avx512 => return unsafe { avx512(xs, shift) },
            // SAFETY: as above.
            Level::Avx2 => return unsafe { avx2(xs, shift) },
            Level::Portable => {}
        }
    }
    exp_shifted_sum_body::<false>(xs, shift)
}

/// `dst[i] = ln(src[i])`, bit for bit the C library's `logf`.
///
/// # Panics
/// If `src` and `dst` have different lengths.
pub fn log_f32(src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if matches!(level(), Level::Avx512) {
        // SAFETY: the CPU has AVX-512F and FMA (checked at run time by `level`).
        return unsafe { avx512::log(src, dst) };
    }
    log_f32_lanes(src, dst)
}

/// `dst[i] = erfinv(src[i])` (MLX's float32 approximation, bit for bit).
///
/// # Panics
/// If `src` and `dst` have different lengths.
pub fn erfinv_f32(src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if matches!(level(), Level::Avx512) {
        // SAFETY: the CPU has AVX-512F and FMA (checked at run time by `level`).
        return unsafe { avx512::erfinv(src, dst) };
    }
    erfinv_f32_lanes(src, dst)
}

/// `ln` (and `erfinv`, which needs it) with AVX-512: glibc's `logf` steps on 16 lanes, the
/// 16-entry table read with two-register permutes (the gathers LLVM emits for the lane code
/// cost twice as much).
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{LOG_A0, LOG_A1, LOG_A2, LOGF_TAB, erfinv_poly};
    use std::arch::x86_64::*;

    const fn column(second: bool) -> [f64; 16] {
        let mut t = [0f64; 16];
        let mut i = 0;
        while i < 16 {
            t[i] = if second { LOGF_TAB[i].1 } else { LOGF_TAB[i].0 };
            i += 1;
        }
        t
    }
    const INVC: [f64; 16] = column(false);
    const LOGC: [f64; 16] = column(true);

    /// `ln` of 16 lanes, as `log_lane` computes it (the same operations, unfused).
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn log16(src: &[f32; 16], dst: &mut [f32; 16]) {
        // SAFETY: unaligned loads and stores of whole 16-element arrays and of the 16-entry
        // tables; AVX-512F is enabled on this function.
        unsafe {
            let x = _mm512_loadu_ps(src.as_ptr());
            // Subnormals (and, harmlessly, non-positive lanes) scaled into the normal range.
            let sub = _mm512_cmp_ps_mask(x, _mm512_set1_ps(f32::MIN_POSITIVE), _CMP_LT_OQ);
            let xs =
                _mm512_castps_si512(_mm512_mask_mul_ps(x, sub, x, _mm512_set1_ps(8_388_608.0)));
            let ix = _mm512_mask_sub_epi32(xs, sub, xs, _mm512_set1_epi32(23 << 23));
            let tmp = _mm512_sub_epi32(ix, _mm512_set1_epi32(0x3f33_0000));
            let idx = _mm512_and_si512(_mm512_srli_epi32(tmp, 19), _mm512_set1_epi32(15));
            let k = _mm512_srai_epi32(tmp, 23);
            let iz = _mm512_sub_epi32(
                ix,
                _mm512_and_si512(tmp, _mm512_set1_epi32(0xff80_0000u32 as i32)),
            );
            let z = _mm512_castsi512_ps(iz);
            let (ic0, ic1) = (
                _mm512_loadu_pd(INVC.as_ptr()),
                _mm512_loadu_pd(INVC.as_ptr().add(8)),
            );
            let (lc0, lc1) = (
                _mm512_loadu_pd(LOGC.as_ptr()),
                _mm512_loadu_pd(LOGC.as_ptr().add(8)),
            );
            // Eight lanes in float64.
            let half = |z8: __m256, i8: __m256i, k8: __m256i| -> __m256 {
                let zd = _mm512_cvtps_pd(z8);
                let i64 = _mm512_cvtepu32_epi64(i8);
                let ic = _mm512_permutex2var_pd(ic0, i64, ic1);
                let lc = _mm512_permutex2var_pd(lc0, i64, lc1);
                let kd = _mm512_cvtepi32_pd(k8);
                let r = _mm512_sub_pd(_mm512_mul_pd(zd, ic), _mm512_set1_pd(1.0));
                let ln2 = _mm512_set1_pd(std::f64::consts::LN_2);
                let y0 = _mm512_add_pd(lc, _mm512_mul_pd(kd, ln2));
                let r2 = _mm512_mul_pd(r, r);
                let y = _mm512_add_pd(
                    _mm512_mul_pd(_mm512_set1_pd(LOG_A1), r),
                    _mm512_set1_pd(LOG_A2),
                );
                let y = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(LOG_A0), r2), y);
                let y = _mm512_add_pd(_mm512_mul_pd(y, r2), _mm512_add_pd(y0, r));
                _mm512_cvtpd_ps(y)
            };
            let lo = half(
                _mm512_castps512_ps256(z),
                _mm512_castsi512_si256(idx),
                _mm512_castsi512_si256(k),
            );
            let hi = half(
                _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z), 1)),
                _mm512_extracti64x4_epi64(idx, 1),
                _mm512_extracti64x4_epi64(k, 1),
            );
            let out = _mm512_insertf64x4(
                _mm512_castpd256_pd512(_mm256_castps_pd(lo)),
                _mm256_castps_pd(hi),
                1,
            );
            _mm512_storeu_ps(dst.as_mut_ptr(), _mm512_castpd_ps(out));
            let good = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ)
                & _mm512_cmp_ps_mask(x, _mm512_set1_ps(f32::INFINITY), _CMP_LT_OQ);
            if good != 0xffff {
                for i in 0..16 {
                    if good & (1 << i) == 0 {
                        let v = src[i];
                        dst[i] = if v == 0.0 {
                            f32::NEG_INFINITY
                        } else if v == f32::INFINITY {
                            v
                        } else {
                            f32::NAN
                        };
                    }
                }
            }
        }
    }

    /// Elements per block of `erfinv`: `1 - a^2`, its logarithm, then the polynomials, each
    /// over the whole block (so that each loop vectorises).
    const BLOCK: usize = 256;

    /// `erfinv` of a block of [`BLOCK`] elements.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn erfinv_block(s: &[f32; BLOCK], d: &mut [f32; BLOCK]) {
        let mut t = [0f32; BLOCK];
        for i in 0..BLOCK {
            t[i] = s[i].mul_add(-s[i], 1.0);
        }
        for (tc, dc) in t.chunks_exact(16).zip(d.chunks_exact_mut(16)) {
            log16(
                tc.try_into().expect("exact chunk"),
                dc.try_into().expect("exact chunk"),
            );
        }
        for i in 0..BLOCK {
            d[i] = erfinv_poly(s[i], d[i]);
        }
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn erfinv(src: &[f32], dst: &mut [f32]) {
        assert_eq!(
            src.len(),
            dst.len(),
            "vmath: source and destination lengths differ"
        );
        let mut s_it = src.chunks_exact(BLOCK);
        let mut d_it = dst.chunks_exact_mut(BLOCK);
        for (s, d) in (&mut s_it).zip(&mut d_it) {
            erfinv_block(
                s.try_into().expect("exact chunk"),
                d.try_into().expect("exact chunk"),
            );
        }
        let (s, d) = (s_it.remainder(), d_it.into_remainder());
        if !s.is_empty() {
            let mut sb = [0f32; BLOCK];
            let mut db = [0f32; BLOCK];
            sb[..s.len()].copy_from_slice(s);
            erfinv_block(&sb, &mut db);
            d.copy_from_slice(&db[..s.len()]);
        }
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn log(src: &[f32], dst: &mut [f32]) {
        assert_eq!(
            src.len(),
            dst.len(),
            "vmath: source and destination lengths differ"
        );
        let mut s_it = src.chunks_exact(16);
        let mut d_it = dst.chunks_exact_mut(16);
        for (s, d) in (&mut s_it).zip(&mut d_it) {
            log16(
                s.try_into().expect("exact chunk"),
                d.try_into().expect("exact chunk"),
            );
        }
        let (s, d) = (s_it.remainder(), d_it.into_remainder());
        if !s.is_empty() {
            let mut sb = [1f32; 16];
            let mut db = [0f32; 16];
            sb[..s.len()].copy_from_slice(s);
            log16(&sb, &mut db);
            d.copy_from_slice(&db[..s.len()]);
        }
    }
}

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

    /// The public float32 `erf` against the exact float64 one: within 2 ulp everywhere,
    /// tiny arguments included (MLX's formula, [`erf_mlx_f32`], is up to 1.7% off there).
    #[test]
    fn erf_is_accurate() {
        let mut xs = inputs(-6.0, 6.0);
        // 1e-8 .. 1e-3 (and their negatives), geometrically.
        let tiny: Vec<f32> = (0..=5000)
            .map(|i| 10f32.powf(-8.0 + 5.0 * i as f32 / 5000.0))
            .collect();
        xs.extend(tiny.iter().flat_map(|&t| [t, -t]));
        xs.extend([
            0.999_999_94,
            1.0,
            1.000_000_1,
            3.919,
            3.92,
            3.999_999_8,
            4.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        check(
            erf_f32,
            erf_lane::<false>,
            crate::cpu::special::erf,
            &xs,
            2.0,
        );
        let mut got = vec![0.0f32; tiny.len()];
        erf_f32(&tiny, &mut got);
        for (&x, &g) in tiny.iter().zip(&got) {
            let want = crate::cpu::special::erf(x as f64);
            assert!(
                ((g as f64) - want).abs() <= 1e-6 * want,
                "erf({x:e}) = {g:e}, want {want:e}"
            );
        }
        // The old formula really was off there (what this test guards against).
        let mut mlx = [0.0f32];
        erf_mlx_f32(&[1e-4], &mut mlx);
        assert!(((mlx[0] as f64) - crate::cpu::special::erf(1e-4)).abs() > 1e-6 * 1.1e-4);
    }

    /// Every 97th float32 bit pattern (all signs, subnormals, specials): the vectorised `ln`
    /// is bit for bit the C library's `logf`.
    #[test]
    fn log_is_the_c_librarys() {
        let xs: Vec<f32> = (0..=u32::MAX / 97)
            .map(|i| f32::from_bits(i * 97))
            .collect();
        let mut got = vec![0.0f32; xs.len()];
        log_f32(&xs, &mut got);
        let mut lanes = vec![0.0f32; xs.len()];
        log_f32_lanes(&xs, &mut lanes);
        for ((x, g), l) in xs.iter().zip(&got).zip(&lanes) {
            assert!(g.to_bits() == l.to_bits() || (g.is_nan() && l.is_nan()));
            let want = x.ln();
            assert!(
                g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                "ln({x:e}) = {g:e}, C library {want:e}"
            );
        }
    }

    /// MLX's erfinv (one element at a time, as its CPU backend runs it on x86) against the
    /// vectorised one.
    #[test]
    fn erfinv_is_mlxs() {
        fn mlx(a: f32) -> f32 {
            let t = a.mul_add(0.0 - a, 1.0).ln();
            let lhs = [
                3.0369757e-10f32,
                2.932431e-08,
                1.2215033e-06,
                2.8410896e-05,
                0.00039355297,
                0.0030269881,
                0.004831858,
                -0.26464614,
                0.8400165,
            ];
            let rhs = [
                5.4387783e-09f32,
                1.4328545e-07,
                1.2277479e-06,
                1.12963626e-07,
                -5.6153076e-05,
                -0.00014769763,
                0.0023146868,
                0.011539258,
                -0.23201548,
                0.8862269,
            ];
            let poly = |c: &[f32]| c[1..].iter().fold(c[0], |p, &k| p.mul_add(t, k));
            if t.abs() > 6.125 {
                a * poly(&lhs)
            } else {
                a * poly(&rhs)
            }
        }
        let mut xs: Vec<f32> = (0..=2_000_000).map(|i| -1.0 + i as f32 * 1e-6).collect();
        xs.extend([
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.5,
            f32::NAN,
            0.999_999_94,
            -0.999_999_94,
            1e-30,
        ]);
        let mut got = vec![0.0f32; xs.len()];
        erfinv_f32(&xs, &mut got);
        let mut lanes = vec![0.0f32; xs.len()];
        erfinv_f32_lanes(&xs, &mut lanes);
        for ((x, g), l) in xs.iter().zip(&got).zip(&lanes) {
            assert!(g.to_bits() == l.to_bits() || (g.is_nan() && l.is_nan()));
            let want = mlx(*x);
            assert!(
                g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                "erfinv({x:e}) = {g:e}, MLX {want:e}"
            );
        }
        // Values MLX 0.32.4 printed.
        assert_eq!(mlx(0.5), 0.476_936_28);
        assert_eq!(mlx(1.0), f32::INFINITY);
    }
}
