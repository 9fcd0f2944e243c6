//! Arithmetic over every numeric element type with C++'s semantics as MLX has them on CPU:
//! integers wrap, half precision computes through f32, integer division by zero gives 0
//! instead of trapping.

use crate::element::{C64, Element};
use half::{bf16, f16};

/// The arithmetic kernels need from an element type.
pub(crate) trait Num: Element {
    const ZERO: Self;
    const ONE: Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// True division for floats; truncating division for integers (0 when `o == 0`).
    fn div(self, o: Self) -> Self;
    fn neg(self) -> Self;
}

macro_rules! int_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            #[inline(always)] fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline(always)] fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            #[inline(always)] fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            #[inline(always)] fn div(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_div(o) } }
            #[inline(always)] fn neg(self) -> Self { (0 as $t).wrapping_sub(self) }
        }
    )*};
}
int_num!(u8, u16, u32, u64, i8, i16, i32, i64);

macro_rules! float_num {
    ($($t:ty: $zero:expr, $one:expr),*) => {$(
        impl Num for $t {
            const ZERO: Self = $zero;
            const ONE: Self = $one;
            #[inline(always)] fn add(self, o: Self) -> Self { self + o }
            #[inline(always)] fn sub(self, o: Self) -> Self { self - o }
            #[inline(always)] fn mul(self, o: Self) -> Self { self * o }
            #[inline(always)] fn div(self, o: Self) -> Self { self / o }
            #[inline(always)] fn neg(self) -> Self { -self }
        }
    )*};
}
float_num!(f32: 0.0, 1.0, f64: 0.0, 1.0, f16: f16::ZERO, f16::ONE, bf16: bf16::ZERO, bf16::ONE, C64: C64::new(0.0, 0.0), C64::new(1.0, 0.0));

/// Runs `$body` with `$T` bound to the element type of a numeric (non-bool) dtype; `$bool`
/// handles bool.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_numeric {
    ($dtype:expr, $T:ident => $body:expr, bool => $bool:expr) => {{
        use $crate::Dtype as __D;
        match $dtype {
            __D::Bool => $bool,
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
