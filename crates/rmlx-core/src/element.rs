//! The Rust element types behind each dtype, the casts between them, and the dispatch macro
//! that turns a runtime [`Dtype`] into a generic call.

use crate::dtype::Dtype;
use half::{bf16, f16};
use num_complex::Complex32;

/// complex64's element type.
pub type C64 = Complex32;

/// How an element type behaves under casts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ElementKind {
    Bool,
    Int,
    Float,
    Complex,
}

/// A Rust type that stores one dtype's elements.
///
/// Casts go through three hubs so that every pair converts the way C++'s `static_cast` does in
/// MLX: integers through `i128` (wrapping), floats through `f64` (one rounding), complex through
/// `Complex32`.
pub trait Element: Copy + Send + Sync + 'static + Default + PartialEq + std::fmt::Debug {
    /// The dtype stored as this type.
    const DTYPE: Dtype;
    /// How it casts.
    const KIND: ElementKind;
    /// The value as an integer (floats truncate toward zero, complex takes the real part).
    fn to_i128(self) -> i128;
    /// The value as f64 (complex: the real part).
    fn to_f64(self) -> f64;
    /// The value as complex.
    fn to_c64(self) -> C64;
    /// From an integer, wrapping into range for integer types and rounding for floats.
    fn from_i128(v: i128) -> Self;
    /// From f64: rounds for floats, truncates for integers.
    fn from_f64(v: f64) -> Self;
    /// From complex: the real part for real types.
    fn from_c64(v: C64) -> Self;
    /// Converts to another element type as MLX's `astype` does.
    #[inline(always)]
    fn cast<U: Element>(self) -> U {
        match Self::KIND {
            ElementKind::Bool | ElementKind::Int => U::from_i128(self.to_i128()),
            ElementKind::Float => U::from_f64(self.to_f64()),
            ElementKind::Complex => U::from_c64(self.to_c64()),
        }
    }
}

macro_rules! int_element {
    ($t:ty, $d:ident) => {
        impl Element for $t {
            const DTYPE: Dtype = Dtype::$d;
            const KIND: ElementKind = ElementKind::Int;
            #[inline(always)]
            fn to_i128(self) -> i128 {
                self as i128
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn to_c64(self) -> C64 {
                C64::new(self as f32, 0.0)
            }
            #[inline(always)]
            fn from_i128(v: i128) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                // As x86 C++ does for in-range values; out of range is undefined in C++.
                (v as i64) as $t
            }
            #[inline(always)]
            fn from_c64(v: C64) -> Self {
                Self::from_f64(v.re as f64)
            }
        }
    };
}
int_element!(u8, Uint8);
int_element!(u16, Uint16);
int_element!(u32, Uint32);
int_element!(i8, Int8);
int_element!(i16, Int16);
int_element!(i32, Int32);
int_element!(i64, Int64);

impl Element for u64 {
    const DTYPE: Dtype = Dtype::Uint64;
    const KIND: ElementKind = ElementKind::Int;
    #[inline(always)]
    fn to_i128(self) -> i128 {
        self as i128
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn to_c64(self) -> C64 {
        C64::new(self as f32, 0.0)
    }
    #[inline(always)]
    fn from_i128(v: i128) -> Self {
        v as u64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        if v < 0.0 { (v as i64) as u64 } else { v as u64 }
    }
    #[inline(always)]
    fn from_c64(v: C64) -> Self {
        Self::from_f64(v.re as f64)
    }
}

impl Element for bool {
    const DTYPE: Dtype = Dtype::Bool;
    const KIND: ElementKind = ElementKind::Bool;
    #[inline(always)]
    fn to_i128(self) -> i128 {
        self as i128
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn to_c64(self) -> C64 {
        C64::new(self as u8 as f32, 0.0)
    }
    #[inline(always)]
    fn from_i128(v: i128) -> Self {
        v != 0
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    #[inline(always)]
    fn from_c64(v: C64) -> Self {
        v.re != 0.0 || v.im != 0.0
    }
}

macro_rules! float_element {
    ($t:ty, $d:ident, $to64:expr, $from64:expr, $fromi:expr) => {
        impl Element for $t {
            const DTYPE: Dtype = Dtype::$d;
            const KIND: ElementKind = ElementKind::Float;
            #[inline(always)]
            fn to_i128(self) -> i128 {
                let f: fn($t) -> f64 = $to64;
                f(self) as i128
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                let f: fn($t) -> f64 = $to64;
                f(self)
            }
            #[inline(always)]
            fn to_c64(self) -> C64 {
                let f: fn($t) -> f64 = $to64;
                C64::new(f(self) as f32, 0.0)
            }
            #[inline(always)]
            fn from_i128(v: i128) -> Self {
                let f: fn(i128) -> $t = $fromi;
                f(v)
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                let f: fn(f64) -> $t = $from64;
                f(v)
            }
            #[inline(always)]
            fn from_c64(v: C64) -> Self {
                Self::from_f64(v.re as f64)
            }
        }
    };
}
float_element!(f32, Float32, |x| x as f64, |v| v as f32, |v| v as f32);
float_element!(f64, Float64, |x| x, |v| v, |v| v as f64);
// MLX converts to and from its half types through float32 (C++ `static_cast<float>` first), so
// f64 and integer values round twice: first to f32, then to the half type. `1 + 2^-8 + 2^-30`
// becomes bfloat16 1.0 that way (a tie after the f32 rounding), not 1.0078125.
float_element!(
    f16,
    Float16,
    |x| x.to_f64(),
    |v| f16::from_f32(v as f32),
    |v| f16::from_f32(v as f32)
);
float_element!(
    bf16,
    Bfloat16,
    |x| x.to_f64(),
    |v| bf16::from_f32(v as f32),
    |v| bf16::from_f32(v as f32)
);

impl Element for C64 {
    const DTYPE: Dtype = Dtype::Complex64;
    const KIND: ElementKind = ElementKind::Complex;
    #[inline(always)]
    fn to_i128(self) -> i128 {
        self.re as i128
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.re as f64
    }
    #[inline(always)]
    fn to_c64(self) -> C64 {
        self
    }
    #[inline(always)]
    fn from_i128(v: i128) -> Self {
        C64::new(v as f32, 0.0)
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        C64::new(v as f32, 0.0)
    }
    #[inline(always)]
    fn from_c64(v: C64) -> Self {
        v
    }
}

/// Runs `$body` with `$T` bound to the element type of `$dtype`.
///
/// ```ignore
/// dispatch_dtype!(a.dtype(), T => a.to_vec::<T>()?.len())
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {{
        use $crate::Dtype as __D;
        match $dtype {
            __D::Bool => {
                type $T = bool;
                $body
            }
            __D::Uint8 => {
                type $T = u8;
                $body
            }
            __D::Uint16 => {
                type $T = u16;
                $body
            }
            __D::Uint32 => {
                type $T = u32;
                $body
            }
            __D::Uint64 => {
                type $T = u64;
                $body
            }
            __D::Int8 => {
                type $T = i8;
                $body
            }
            __D::Int16 => {
                type $T = i16;
                $body
            }
            __D::Int32 => {
                type $T = i32;
                $body
            }
            __D::Int64 => {
                type $T = i64;
                $body
            }
            __D::Float16 => {
                type $T = $crate::half::f16;
                $body
            }
            __D::Bfloat16 => {
                type $T = $crate::half::bf16;
                $body
            }
            __D::Float32 => {
                type $T = f32;
                $body
            }
            __D::Float64 => {
                type $T = f64;
                $body
            }
            __D::Complex64 => {
                type $T = $crate::num_complex::Complex32;
                $body
            }
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn casts() {
        assert_eq!((-1i32).cast::<u8>(), 255);
        assert_eq!(3.7f32.cast::<i32>(), 3);
        assert_eq!((-3.7f64).cast::<i8>(), -3);
        assert!(0.5f32.cast::<bool>());
        assert_eq!(true.cast::<f32>(), 1.0);
        assert_eq!(((1i64 << 60) + 1).cast::<f32>(), (1u64 << 60) as f32);
        assert_eq!(C64::new(2.5, 1.0).cast::<f32>(), 2.5);
        assert_eq!(f16::from_f32(1.5).cast::<bf16>(), bf16::from_f32(1.5));
    }
}
