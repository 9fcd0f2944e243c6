//! Scalar math of the unary kernels that is not plain float math: absolute value, sign,
//! rounding, and float classification, over every element type that has them. Half precision
//! goes through f32 (exact for all of these).

use super::num::Num;
use crate::element::C64;
use half::{bf16, f16};

/// Sign, magnitude and rounding with MLX's CPU semantics.
pub(crate) trait UnaryNum: Num {
    /// `|x|` (integers wrap: `abs(-128i8) == -128`).
    fn abs(self) -> Self;
    /// -1, 0 or 1 (0 for NaN and -0.0); `x / |x|` for complex (0 stays 0).
    fn sign(self) -> Self;
    /// Rounds down (identity for integers; per part for complex).
    fn floor(self) -> Self;
    /// Rounds up.
    fn ceil(self) -> Self;
    /// Rounds to the nearest integer, halves to even.
    fn round_even(self) -> Self;
    /// Rounds towards zero.
    fn trunc(self) -> Self;
}

macro_rules! int_unary {
    ($abs:ident; $($t:ty),*) => {$(
        impl UnaryNum for $t {
            #[inline(always)]
            fn abs(self) -> Self { int_unary!(@$abs self) }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn sign(self) -> Self { if self > 0 { 1 } else if self < 0 { (0 as $t).wrapping_sub(1) } else { 0 } }
            #[inline(always)] fn floor(self) -> Self { self }
            #[inline(always)] fn ceil(self) -> Self { self }
            #[inline(always)] fn round_even(self) -> Self { self }
            #[inline(always)] fn trunc(self) -> Self { self }
        }
    )*};
    (@signed $x:ident) => { $x.wrapping_abs() };
    (@unsigned $x:ident) => { $x };
}
int_unary!(signed; i8, i16, i32, i64);
int_unary!(unsigned; u8, u16, u32, u64);

macro_rules! float_unary {
    ($($t:ty),*) => {$(
        impl UnaryNum for $t {
            #[inline(always)] fn abs(self) -> Self { <$t>::abs(self) }
            #[inline(always)]
            fn sign(self) -> Self { if self > 0.0 { 1.0 } else if self < 0.0 { -1.0 } else { 0.0 } }
            #[inline(always)] fn floor(self) -> Self { <$t>::floor(self) }
            #[inline(always)] fn ceil(self) -> Self { <$t>::ceil(self) }
            #[inline(always)] fn round_even(self) -> Self { <$t>::round_ties_even(self) }
            #[inline(always)] fn trunc(self) -> Self { <$t>::trunc(self) }
        }
    )*};
}
float_unary!(f32, f64);

macro_rules! half_unary {
    ($($t:ty),*) => {$(
        impl UnaryNum for $t {
            #[inline(always)] fn abs(self) -> Self { <$t>::from_f32(self.to_f32().abs()) }
            #[inline(always)] fn sign(self) -> Self { <$t>::from_f32(UnaryNum::sign(self.to_f32())) }
            #[inline(always)] fn floor(self) -> Self { <$t>::from_f32(self.to_f32().floor()) }
            #[inline(always)] fn ceil(self) -> Self { <$t>::from_f32(self.to_f32().ceil()) }
            #[inline(always)] fn round_even(self) -> Self { <$t>::from_f32(self.to_f32().round_ties_even()) }
            #[inline(always)] fn trunc(self) -> Self { <$t>::from_f32(self.to_f32().trunc()) }
        }
    )*};
}
half_unary!(f16, bf16);

impl UnaryNum for C64 {
    fn abs(self) -> Self {
        C64::new(self.norm(), 0.0)
    }
    fn sign(self) -> Self {
        if self.re == 0.0 && self.im == 0.0 {
            return self;
        }
        let n = self.norm();
        C64::new(self.re / n, self.im / n)
    }
    fn floor(self) -> Self {
        C64::new(self.re.floor(), self.im.floor())
    }
    fn ceil(self) -> Self {
        C64::new(self.re.ceil(), self.im.ceil())
    }
    fn round_even(self) -> Self {
        C64::new(self.re.round_ties_even(), self.im.round_ties_even())
    }
    fn trunc(self) -> Self {
        C64::new(self.re.trunc(), self.im.trunc())
    }
}

/// Classification of inexact values, as MLX defines it: for complex, NaN or infinite if
/// either part is, but `+inf` / `-inf` only for exactly `±inf + 0j`.
pub(crate) trait FloatClass: Copy {
    fn is_nan_(self) -> bool;
    fn is_inf_(self) -> bool;
    fn is_pos_inf(self) -> bool;
    fn is_neg_inf(self) -> bool;
    /// A value of this type from an f32 parameter (one rounding).
    fn from_param(v: f32) -> Self;
}

macro_rules! float_class {
    ($($t:ty: $from:expr),*) => {$(
        impl FloatClass for $t {
            #[inline(always)] fn is_nan_(self) -> bool { self.is_nan() }
            #[inline(always)] fn is_inf_(self) -> bool { self.is_infinite() }
            #[inline(always)] fn is_pos_inf(self) -> bool { self.is_infinite() && self.is_sign_positive() }
            #[inline(always)] fn is_neg_inf(self) -> bool { self.is_infinite() && self.is_sign_negative() }
            #[inline(always)] fn from_param(v: f32) -> Self { let f: fn(f32) -> $t = $from; f(v) }
        }
    )*};
}
float_class!(f32: |v| v, f64: |v| v as f64, f16: f16::from_f32, bf16: bf16::from_f32);

impl FloatClass for C64 {
    fn is_nan_(self) -> bool {
        self.re.is_nan() || self.im.is_nan()
    }
    fn is_inf_(self) -> bool {
        self.re.is_infinite() || self.im.is_infinite()
    }
    fn is_pos_inf(self) -> bool {
        self.re == f32::INFINITY && self.im == 0.0
    }
    fn is_neg_inf(self) -> bool {
        self.re == f32::NEG_INFINITY && self.im == 0.0
    }
    fn from_param(v: f32) -> Self {
        C64::new(v, 0.0)
    }
}

/// `nan_to_num` of one value: NaN, `+inf` and `-inf` replaced.
#[inline(always)]
pub(crate) fn nan_to_num<T: FloatClass>(v: T, nan: T, posinf: T, neginf: T) -> T {
    if v.is_nan_() {
        nan
    } else if v.is_pos_inf() {
        posinf
    } else if v.is_neg_inf() {
        neginf
    } else {
        v
    }
}

/// A slice kernel applying `f` to each element.
#[inline(always)]
pub(crate) fn each<T: Copy, U>(f: impl Fn(T) -> U) -> impl Fn(&[T], &mut [U]) {
    move |src, dst| {
        for (o, &i) in dst.iter_mut().zip(src) {
            *o = f(i);
        }
    }
}

/// A half-precision slice kernel that converts chunks to f32, runs the f32 slice kernel `f`
/// and rounds the results back once.
pub(crate) fn via_f32<H: Copy + Default>(
    f: impl Fn(&[f32], &mut [f32]),
    to: fn(H) -> f32,
    from: fn(f32) -> H,
) -> impl Fn(&[H], &mut [H]) {
    const CHUNK: usize = 256;
    move |src, dst| {
        let mut a = [0.0f32; CHUNK];
        let mut b = [0.0f32; CHUNK];
        for (s, d) in src.chunks(CHUNK).zip(dst.chunks_mut(CHUNK)) {
            let n = s.len();
            for (x, &v) in a.iter_mut().zip(s) {
                *x = to(v);
            }
            f(&a[..n], &mut b[..n]);
            for (o, &v) in d.iter_mut().zip(&b[..n]) {
                *o = from(v);
            }
        }
    }
}

/// `1 / sqrt(x)`.
#[inline(always)]
pub(crate) fn rsqrt32(x: f32) -> f32 {
    1.0 / x.sqrt()
}
/// `1 / sqrt(x)`.
#[inline(always)]
pub(crate) fn rsqrt64(x: f64) -> f64 {
    1.0 / x.sqrt()
}
/// `1 / (1 + e^-x)`, computed without overflow.
#[inline(always)]
pub(crate) fn sigmoid64(x: f64) -> f64 {
    let e = (-x.abs()).exp();
    if x < 0.0 {
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + e)
    }
}
