//! Operator sugar: `+ - * / % & | ^ << >>` and unary `-`, `!` on `Array`, `&Array` and Rust
//! scalars on either side.
//!
//! Operators cannot return `Result`, so they panic with the op's error message (for example
//! when shapes cannot be broadcast); use the named functions (`mx::add`) to handle errors.

use crate::array::Array;
use crate::element::C64;
use std::ops;

macro_rules! binary_operator {
    ($Trait:ident, $method:ident, $func:path) => {
        impl ops::$Trait<&Array> for &Array {
            type Output = Array;
            #[track_caller]
            fn $method(self, rhs: &Array) -> Array {
                $func(self, rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl ops::$Trait<Array> for Array {
            type Output = Array;
            #[track_caller]
            fn $method(self, rhs: Array) -> Array {
                $func(&self, &rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl ops::$Trait<&Array> for Array {
            type Output = Array;
            #[track_caller]
            fn $method(self, rhs: &Array) -> Array {
                $func(&self, rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl ops::$Trait<Array> for &Array {
            type Output = Array;
            #[track_caller]
            fn $method(self, rhs: Array) -> Array {
                $func(self, &rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        binary_operator!(@scalars $Trait, $method, $func, bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, C64);
    };
    (@scalars $Trait:ident, $method:ident, $func:path, $($s:ty),*) => {$(
        impl ops::$Trait<$s> for &Array {
            type Output = Array;
            #[track_caller]
            fn $method(self, rhs: $s) -> Array {
                $func(self, rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl ops::$Trait<$s> for Array {
            type Output = Array;
            #[track_caller]
            fn $method(self, rhs: $s) -> Array {
                $func(&self, rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
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
