//! Operator sugar: `+ - * / % & | ^ << >>` and unary `-`, `!` on `Array`, `&Array` and Rust
//! scalars on either side.
//!
//! A scalar on the left may be an `i32`, `f64`, `bool` or `C64` (the types of unsuffixed
//! literals); any Rust scalar works on the right.
//!
//! Operators cannot return `Result`, so they panic with the op's error message (for example
//! when shapes cannot be broadcast); use the named functions (`mx::add`) to handle errors.

use crate::array::Array;
use crate::element::C64;
use crate::scalar::ArrayLike;
use std::ops;

macro_rules! binary_operator {
    ($Trait:ident, $method:ident, $func:path) => {
        // Generic over the right-hand side so that `&a + 1.0` has a known output type while
        // the literal's own type is still being inferred.
        impl<R: ArrayLike> ops::$Trait<R> for &Array {
            type Output = Array;
            #[track_caller]
            fn $method(self, rhs: R) -> Array {
                $func(self, rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl<R: ArrayLike> ops::$Trait<R> for Array {
            type Output = Array;
            #[track_caller]
            fn $method(self, rhs: R) -> Array {
                $func(&self, rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        // A scalar on the left: only the literal defaults (i32, f64) and bool/complex, so that
        // `2.0 * &x` and `1 - &x` infer; other typed scalars go on the right or use the
        // named function (`mx::multiply(s, &x)`).
        binary_operator!(@scalars $Trait, $method, $func, bool, i32, f64, C64);
    };
    (@scalars $Trait:ident, $method:ident, $func:path, $($s:ty),*) => {$(
        impl ops::$Trait<&Array> for $s {
            type Output = Array;
            #[track_caller]
            fn $method(self, rhs: &Array) -> Array {
                $func(self, rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl ops::$Trait<Array> for $s {
            type Output = Array;
            #[track_caller]
            fn $method(self, rhs: Array) -> Array {
                $func(self, &rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
    )*};
}

binary_operator!(Add, add, crate::ops::add);
binary_operator!(Sub, sub, crate::ops::subtract);
binary_operator!(Mul, mul, crate::ops::multiply);
binary_operator!(Div, div, crate::ops::divide);

impl ops::Neg for &Array {
    type Output = Array;
    #[track_caller]
    fn neg(self) -> Array {
        crate::ops::negative(self).unwrap_or_else(|e| panic!("{e}"))
    }
}
impl ops::Neg for Array {
    type Output = Array;
    #[track_caller]
    fn neg(self) -> Array {
        crate::ops::negative(&self).unwrap_or_else(|e| panic!("{e}"))
    }
}
