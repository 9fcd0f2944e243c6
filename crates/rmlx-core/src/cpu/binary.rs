//! The math of the binary and ternary elementwise families, per element type, with MLX's CPU
//! semantics: Python-style floor division and remainder (integer division by zero gives 0 and
//! remainder by zero gives the dividend, instead of trapping), integer powers by squaring
//! (negative exponents give 0), NaN-propagating maximum/minimum, lexicographic order for
//! complex numbers, and shifts whose count is masked the way x86 does it.
//!
//! Half-precision floats compute through f32 and round once per MLX operation.

use crate::cpu::num::Num;
use crate::element::C64;
use half::{bf16, f16};

/// Runs `$body` with `$T` bound to the element type of `$dtype` when it is in the list;
/// otherwise evaluates `$other`.
macro_rules! dispatch_in {
    ($dtype:expr, [$($D:ident => $t:ty),*], $T:ident => $body:expr, _ => $other:expr) => {{
        match $dtype {
            $( $crate::Dtype::$D => { type $T = $t; $body } )*
            #[allow(unreachable_patterns)]
            _ => $other,
        }
    }};
}
pub(crate) use dispatch_in;

/// [`dispatch_in`] over bool, the integers and the real floats (everything but complex).
macro_rules! dispatch_real {
    ($dtype:expr, $T:ident => $body:expr, _ => $other:expr) => {
        $crate::cpu::binary::dispatch_in!($dtype, [Bool => bool, Uint8 => u8, Uint16 => u16,
            Uint32 => u32, Uint64 => u64, Int8 => i8, Int16 => i16, Int32 => i32, Int64 => i64,
            Float16 => $crate::half::f16, Bfloat16 => $crate::half::bf16, Float32 => f32,
            Float64 => f64], $T => $body, _ => $other)
    };
}
pub(crate) use dispatch_real;

/// [`dispatch_in`] over the eight integer dtypes.
macro_rules! dispatch_int {
    ($dtype:expr, $T:ident => $body:expr, _ => $other:expr) => {
        $crate::cpu::binary::dispatch_in!($dtype, [Uint8 => u8, Uint16 => u16, Uint32 => u32,
            Uint64 => u64, Int8 => i8, Int16 => i16, Int32 => i32, Int64 => i64],
            $T => $body, _ => $other)
    };
}
pub(crate) use dispatch_int;

/// [`dispatch_in`] over the four real float dtypes.
macro_rules! dispatch_float {
    ($dtype:expr, $T:ident => $body:expr, _ => $other:expr) => {
        $crate::cpu::binary::dispatch_in!($dtype, [Float16 => $crate::half::f16,
            Bfloat16 => $crate::half::bf16, Float32 => f32, Float64 => f64],
            $T => $body, _ => $other)
    };
}
pub(crate) use dispatch_float;

/// Order, NaN tests and maximum/minimum, for every element type. Complex numbers compare
/// lexicographically (real part, then imaginary part), as MLX does.
pub(crate) trait Ordered: crate::element::Element {
    fn is_nan(self) -> bool;
    fn greater(self, o: Self) -> bool;
    fn greater_equal(self, o: Self) -> bool;
    fn less(self, o: Self) -> bool;
    fn less_equal(self, o: Self) -> bool;
    /// MLX's maximum: `a` if it is NaN, else the larger, else `b` (so `b`'s NaN propagates and
    /// `maximum(-0.0, 0.0)` is `0.0` while `maximum(0.0, -0.0)` is `-0.0`).
    #[inline(always)]
    fn max_nan(self, o: Self) -> Self {
        if self.is_nan() || self.greater(o) {
            self
        } else {
            o
        }
    }
    /// MLX's minimum, the mirror of [`Ordered::max_nan`].
    #[inline(always)]
    fn min_nan(self, o: Self) -> Self {
        if self.is_nan() || self.less(o) {
            self
        } else {
            o
        }
    }
}

macro_rules! ordered_by_partial_ord {
    ($($t:ty: |$x:ident| $nan:expr),*) => {$(
        impl Ordered for $t {
            #[inline(always)] fn is_nan(self) -> bool { let $x = self; $nan }
            #[inline(always)] fn greater(self, o: Self) -> bool { self > o }
            #[inline(always)] fn greater_equal(self, o: Self) -> bool { self >= o }
            #[inline(always)] fn less(self, o: Self) -> bool { self < o }
            #[inline(always)] fn less_equal(self, o: Self) -> bool { self <= o }
        }
    )*};
}
ordered_by_partial_ord!(
    bool: |_x| false, u8: |_x| false, u16: |_x| false, u32: |_x| false, u64: |_x| false,
    i8: |_x| false, i16: |_x| false, i32: |_x| false, i64: |_x| false,
    f16: |x| x.is_nan(), bf16: |x| x.is_nan(), f32: |x| x.is_nan(), f64: |x| x.is_nan()
);

impl Ordered for C64 {
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.re.is_nan() || self.im.is_nan()
    }
    #[inline(always)]
    fn greater(self, o: Self) -> bool {
        self.re > o.re || (self.re == o.re && self.im > o.im)
    }
    #[inline(always)]
    fn greater_equal(self, o: Self) -> bool {
        self.re > o.re || (self.re == o.re && self.im >= o.im)
    }
    #[inline(always)]
    fn less(self, o: Self) -> bool {
        self.re < o.re || (self.re == o.re && self.im < o.im)
    }
    #[inline(always)]
    fn less_equal(self, o: Self) -> bool {
        self.re < o.re || (self.re == o.re && self.im <= o.im)
    }
}

/// Floor division, remainder and power for bool, integers and real floats (complex numbers
/// have their own kernels: see [`complex_pow`]).
pub(crate) trait RealArith: Ordered {
    /// Python's `//`: rounds toward negative infinity; integers by zero give 0; floats are
    /// `floor(a / b)` with the quotient rounded to the dtype first.
    fn floor_div(self, o: Self) -> Self;
    /// Python's `%`: the result has the divisor's sign; integers by zero give `a`; floats
    /// start from `fmod`.
    fn rem(self, o: Self) -> Self;
    /// `a ** b`: integers by squaring with wrapping, negative exponents give 0; floats as C's
    /// `pow`.
    fn power(self, o: Self) -> Self;
}

impl RealArith for bool {
    /// `a // b` is `a` when `b` is true and false (division by zero) otherwise.
    #[inline(always)]
    fn floor_div(self, o: Self) -> Self {
        self && o
    }
    /// `a % b` is 0 when `b` is true and `a` (remainder by zero) otherwise.
    #[inline(always)]
    fn rem(self, o: Self) -> Self {
        self && !o
    }
    /// `a ** b` is 1 when `b` is false, `a` otherwise.
    #[inline(always)]
    fn power(self, o: Self) -> Self {
        self || !o
    }
}

macro_rules! int_arith {
    ($signed:literal: $($t:ty),*) => {$(
        impl RealArith for $t {
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn floor_div(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let q = self.wrapping_div(o);
                if $signed && self.wrapping_rem(o) != 0 && ((self < 0) != (o < 0)) {
                    q.wrapping_sub(1)
                } else {
                    q
                }
            }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn rem(self, o: Self) -> Self {
                if o == 0 {
                    return self;
                }
                let r = self.wrapping_rem(o);
                if $signed && r != 0 && ((r < 0) != (o < 0)) {
                    r.wrapping_add(o)
                } else {
                    r
                }
            }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn power(self, o: Self) -> Self {
                if o < 0 {
                    return 0;
                }
                let (mut base, mut exp, mut acc) = (self, o, 1 as $t);
                while exp != 0 {
                    if exp & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    exp >>= 1;
                    base = base.wrapping_mul(base);
                }
                acc
            }
        }
    )*};
}
int_arith!(false: u8, u16, u32, u64);
int_arith!(true: i8, i16, i32, i64);

/// Python-sign adjustment of a C `fmod` result.
#[inline(always)]
fn py_mod_adjust<F: Copy + PartialOrd + std::ops::Add<Output = F> + Default>(r: F, b: F) -> F {
    let zero = F::default();
    if r != zero && ((r < zero) != (b < zero)) {
        r + b
    } else {
        r
    }
}

impl RealArith for f32 {
    #[inline(always)]
    fn floor_div(self, o: Self) -> Self {
        (self / o).floor()
    }
    #[inline(always)]
    fn rem(self, o: Self) -> Self {
        py_mod_adjust(self % o, o)
    }
    #[inline(always)]
    fn power(self, o: Self) -> Self {
        self.powf(o)
    }
}

impl RealArith for f64 {
    #[inline(always)]
    fn floor_div(self, o: Self) -> Self {
        (self / o).floor()
    }
    #[inline(always)]
    fn rem(self, o: Self) -> Self {
        py_mod_adjust(self % o, o)
    }
    #[inline(always)]
    fn power(self, o: Self) -> Self {
        self.powf(o)
    }
}

macro_rules! half_arith {
    ($($t:ty),*) => {$(
        impl RealArith for $t {
            #[inline(always)]
            fn floor_div(self, o: Self) -> Self {
                // The quotient is rounded to the half type (MLX divides, then floors).
                let q = <$t>::from_f32(self.to_f32() / o.to_f32());
                <$t>::from_f32(q.to_f32().floor())
            }
            #[inline(always)]
            fn rem(self, o: Self) -> Self {
                // fmod is exact, so rounding it to the half type loses nothing; the sign
                // adjustment then rounds like a half-precision addition.
                let r = <$t>::from_f32(self.to_f32() % o.to_f32());
                py_mod_adjust(r, o)
            }
            #[inline(always)]
            fn power(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32().powf(o.to_f32()))
            }
        }
    )*};
}
half_arith!(f16, bf16);

/// Float-only binary math: `arctan2` and `logaddexp`.
pub(crate) trait FloatMath: Ordered + Num {
    fn atan2(self, o: Self) -> Self;
    fn logaddexp(self, o: Self) -> Self;
}

macro_rules! float_math {
    ($($t:ty),*) => {$(
        impl FloatMath for $t {
            #[inline(always)]
            fn atan2(self, o: Self) -> Self {
                <$t>::atan2(self, o)
            }
            #[inline(always)]
            fn logaddexp(self, o: Self) -> Self {
                let (hi, lo) = (self.max_nan(o), self.min_nan(o));
                if lo == <$t>::NEG_INFINITY || hi == <$t>::INFINITY {
                    hi
                } else {
                    hi + (lo - hi).exp().ln_1p()
                }
            }
        }
    )*};
}
float_math!(f32, f64);

macro_rules! half_float_math {
    ($($t:ty),*) => {$(
        impl FloatMath for $t {
            #[inline(always)]
            fn atan2(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32().atan2(o.to_f32()))
            }
            #[inline(always)]
            fn logaddexp(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32().logaddexp(o.to_f32()))
            }
        }
    )*};
}
half_float_math!(f16, bf16);

/// `a / b` for complex numbers as C++'s `std::complex` division (libgcc's `__divsc3`): the
/// quotient computed in f64, then infinities and zeros recovered where that gives NaN + NaN i
/// (so a nonzero number divided by zero is infinite, as in MLX).
#[inline(always)]
pub(crate) fn complex_div(x: C64, y: C64) -> C64 {
    let (a, b, c, d) = (x.re as f64, x.im as f64, y.re as f64, y.im as f64);
    let denom = c * c + d * d;
    let mut re = (a * c + b * d) / denom;
    let mut im = (b * c - a * d) / denom;
    if re.is_nan() && im.is_nan() {
        if c == 0.0 && d == 0.0 && (!a.is_nan() || !b.is_nan()) {
            let inf = f64::INFINITY.copysign(c);
            (re, im) = (inf * a, inf * b);
        } else if (a.is_infinite() || b.is_infinite()) && c.is_finite() && d.is_finite() {
            let a1 = (if a.is_infinite() { 1.0f64 } else { 0.0 }).copysign(a);
            let b1 = (if b.is_infinite() { 1.0f64 } else { 0.0 }).copysign(b);
            (re, im) = (
                f64::INFINITY * (a1 * c + b1 * d),
                f64::INFINITY * (b1 * c - a1 * d),
            );
        } else if (c.is_infinite() || d.is_infinite()) && a.is_finite() && b.is_finite() {
            let c1 = (if c.is_infinite() { 1.0f64 } else { 0.0 }).copysign(c);
            let d1 = (if d.is_infinite() { 1.0f64 } else { 0.0 }).copysign(d);
            (re, im) = (0.0 * (a * c1 + b * d1), 0.0 * (b * c1 - a * d1));
        }
    }
    C64::new(re as f32, im as f32)
}

/// `a ** b` for complex numbers, as C's `cpow`: `exp(b * log(a))` (so `0 ** 0` is NaN, as in
/// MLX).
#[inline(always)]
pub(crate) fn complex_pow(a: C64, b: C64) -> C64 {
    let log_a = C64::new(a.re.hypot(a.im).ln(), a.im.atan2(a.re));
    // The plain product, without C's recovery of infinities from NaN results.
    let w = C64::new(
        b.re * log_a.re - b.im * log_a.im,
        b.re * log_a.im + b.im * log_a.re,
    );
    complex_exp(w)
}

/// C's `cexp`, including its answers for infinite real parts with a non-finite imaginary part.
#[inline(always)]
fn complex_exp(w: C64) -> C64 {
    if w.re.is_infinite() && !w.im.is_finite() {
        return if w.re < 0.0 {
            C64::new(0.0, 0.0f32.copysign(w.im))
        } else {
            C64::new(w.re, f32::NAN)
        };
    }
    let m = w.re.exp();
    if w.im == 0.0 {
        return C64::new(m, w.im);
    }
    C64::new(m * w.im.cos(), m * w.im.sin())
}

/// `logaddexp` for complex numbers: MLX's formula with lexicographic maximum/minimum.
#[inline(always)]
pub(crate) fn complex_logaddexp(a: C64, b: C64) -> C64 {
    let (hi, lo) = (a.max_nan(b), a.min_nan(b));
    if lo == C64::new(f32::NEG_INFINITY, 0.0) || hi == C64::new(f32::INFINITY, 0.0) {
        hi
    } else {
        hi + (C64::new(1.0, 0.0) + complex_exp(lo - hi)).ln()
    }
}

/// Bitwise and, or, xor for bool and integers.
pub(crate) trait Bits: Copy {
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
}

macro_rules! bits {
    ($($t:ty),*) => {$(
        impl Bits for $t {
            #[inline(always)] fn and(self, o: Self) -> Self { self & o }
            #[inline(always)] fn or(self, o: Self) -> Self { self | o }
            #[inline(always)] fn xor(self, o: Self) -> Self { self ^ o }
        }
    )*};
}
bits!(bool, u8, u16, u32, u64, i8, i16, i32, i64);

/// Shifts with MLX's (x86 C++) semantics: types narrower than 32 bits shift as `int`, so
/// their count is taken modulo 32 and bits shifted past the type's width are lost; 32- and
/// 64-bit types take the count modulo their width. Right shifts of signed types are
/// arithmetic.
pub(crate) trait Shift: Copy {
    fn shl(self, o: Self) -> Self;
    fn shr(self, o: Self) -> Self;
}

macro_rules! narrow_shift {
    ($($t:ty),*) => {$(
        impl Shift for $t {
            #[inline(always)]
            fn shl(self, o: Self) -> Self {
                ((self as i32).wrapping_shl(o as i32 as u32)) as $t
            }
            #[inline(always)]
            fn shr(self, o: Self) -> Self {
                ((self as i32).wrapping_shr(o as i32 as u32)) as $t
            }
        }
    )*};
}
narrow_shift!(u8, u16, i8, i16);

macro_rules! wide_shift {
    ($($t:ty),*) => {$(
        impl Shift for $t {
            #[inline(always)]
            fn shl(self, o: Self) -> Self {
                self.wrapping_shl(o as u32)
            }
            #[inline(always)]
            fn shr(self, o: Self) -> Self {
                self.wrapping_shr(o as u32)
            }
        }
    )*};
}
wide_shift!(u32, u64, i32, i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_division_and_remainder_follow_python() {
        assert_eq!((-7i32).floor_div(2), -4);
        assert_eq!(7i32.floor_div(-2), -4);
        assert_eq!((-7i32).rem(2), 1);
        assert_eq!(7i32.rem(-2), -1);
        assert_eq!(5i8.floor_div(0), 0);
        assert_eq!((-5i8).rem(0), -5);
        assert_eq!(i32::MIN.floor_div(-1), i32::MIN);
        assert_eq!(i32::MIN.rem(-1), 0);
        assert_eq!((-5.5f32).rem(3.0), 0.5);
        assert_eq!((-3.0f32).rem(f32::INFINITY), f32::INFINITY);
        assert_eq!(
            f16::from_f32(-7.0).floor_div(f16::from_f32(2.0)),
            f16::from_f32(-4.0)
        );
    }

    #[test]
    fn integer_powers() {
        assert_eq!(RealArith::power(3i32, 4), 81);
        assert_eq!(RealArith::power(1i32, -1), 0);
        assert_eq!(RealArith::power(2u8, 8), 0);
        assert_eq!(RealArith::power(3i32, 40), 689956897);
    }

    #[test]
    fn shifts_mask_like_x86() {
        assert_eq!(1i32.shl(32), 1);
        assert_eq!(1u8.shl(8), 0);
        assert_eq!(1u8.shl(33), 2);
        assert_eq!((-128i8).shr(9), -1);
        assert_eq!(64i8.shr(-1), 0);
        assert_eq!(1i64.shl(64), 1);
    }

    #[test]
    fn maximum_propagates_nan_and_orders_complex() {
        assert!(f32::NAN.max_nan(1.0).is_nan());
        assert!(1.0f32.max_nan(f32::NAN).is_nan());
        assert!(0.0f32.max_nan(-0.0).is_sign_negative());
        assert_eq!(
            C64::new(1.0, 2.0).max_nan(C64::new(1.0, 1.0)),
            C64::new(1.0, 2.0)
        );
        assert!(
            complex_pow(C64::new(0.0, 0.0), C64::new(0.0, 0.0))
                .re
                .is_nan()
        );
    }
}
