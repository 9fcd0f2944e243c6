//! Operator sugar: `+ - * / % & | ^ << >>` and unary `-` on `Array`, `&Array` and Rust
//! scalars on either side.
//!
//! | operator | op |
//! |---|---|
//! | `a + b`, `a - b`, `a * b`, `a / b` | [`add`], [`subtract`], [`multiply`], [`divide`] (true division) |
//! | `a % b` | [`remainder`] (Python's sign rule) |
//! | `a & b`, `a \| b`, `a ^ b` | [`bitwise_and`], [`bitwise_or`], [`bitwise_xor`] (logical on bool arrays) |
//! | `a << b`, `a >> b` | [`left_shift`], [`right_shift`] |
//! | `-a` | [`negative`] |
//! | `a += b`, `a -= b`, ..., `a >>= b` | the same ops, rebinding `a` to the result |
//!
//! Comparisons have no operators (Rust's `==` and `<` must return `bool`): use [`equal`],
//! [`less`], ... or the methods `a.equal(&b)`, `a.less(&b)`.
//!
//! A scalar on the left may be an `i32`, `f64`, `bool` or `C64` (the types of unsuffixed
//! literals); any Rust scalar works on the right.
//!
//! Operators cannot return `Result`, so they panic with the op's error message (for example
//! when shapes cannot be broadcast, when a weak scalar does not fit the array's dtype as in
//! `&x_u8 + 300`, or for `&` on floats); use the named functions (`mx::add`) to handle errors.
//!
//! [`add`]: crate::ops::add
//! [`subtract`]: crate::ops::subtract
//! [`multiply`]: crate::ops::multiply
//! [`divide`]: crate::ops::divide
//! [`remainder`]: crate::ops::remainder
//! [`bitwise_and`]: crate::ops::bitwise_and
//! [`bitwise_or`]: crate::ops::bitwise_or
//! [`bitwise_xor`]: crate::ops::bitwise_xor
//! [`left_shift`]: crate::ops::left_shift
//! [`right_shift`]: crate::ops::right_shift
//! [`negative`]: crate::ops::negative
//! [`equal`]: crate::ops::equal
//! [`less`]: crate::ops::less
//!
//! ```
//! use rmlx_core as mx;
//! let a = mx::array![5, -5, 12];
//! assert_eq!((&a % 3).to_vec::<i32>()?, vec![2, 1, 0]);
//! assert_eq!((&a & 6).to_vec::<i32>()?, vec![4, 2, 4]);
//! assert_eq!((1 << &mx::array![0, 3]).to_vec::<i32>()?, vec![1, 8]);
//! let m = mx::array![true, false];
//! assert_eq!((&m | true).to_vec::<bool>()?, vec![true, true]);
//! # Ok::<(), mx::Error>(())
//! ```

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
binary_operator!(Rem, rem, crate::ops::remainder);
binary_operator!(BitAnd, bitand, crate::ops::bitwise_and);
binary_operator!(BitOr, bitor, crate::ops::bitwise_or);
binary_operator!(BitXor, bitxor, crate::ops::bitwise_xor);
binary_operator!(Shl, shl, crate::ops::left_shift);
binary_operator!(Shr, shr, crate::ops::right_shift);

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

/// `!x`: bitwise inversion of integers, logical not of bools (MLX's `~x`).
impl ops::Not for &Array {
    type Output = Array;
    #[track_caller]
    fn not(self) -> Array {
        crate::ops::bitwise_invert(self).unwrap_or_else(|e| panic!("{e}"))
    }
}
/// `!x`: see the `&Array` form.
impl ops::Not for Array {
    type Output = Array;
    #[track_caller]
    fn not(self) -> Array {
        crate::ops::bitwise_invert(&self).unwrap_or_else(|e| panic!("{e}"))
    }
}

macro_rules! assign_operator {
    ($Trait:ident, $method:ident, $func:path) => {
        /// Compound assignment (Python's in-place operator): rebinds the handle to a new lazy
        /// array; other handles to the old array keep their value. Panics as the binary
        /// operator does.
        impl<R: ArrayLike> ops::$Trait<R> for Array {
            #[track_caller]
            fn $method(&mut self, rhs: R) {
                *self = $func(&*self, rhs).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    };
}

assign_operator!(AddAssign, add_assign, crate::ops::add);
assign_operator!(SubAssign, sub_assign, crate::ops::subtract);
assign_operator!(MulAssign, mul_assign, crate::ops::multiply);
assign_operator!(DivAssign, div_assign, crate::ops::divide);
assign_operator!(RemAssign, rem_assign, crate::ops::remainder);
assign_operator!(BitAndAssign, bitand_assign, crate::ops::bitwise_and);
assign_operator!(BitOrAssign, bitor_assign, crate::ops::bitwise_or);
assign_operator!(BitXorAssign, bitxor_assign, crate::ops::bitwise_xor);
assign_operator!(ShlAssign, shl_assign, crate::ops::left_shift);
assign_operator!(ShrAssign, shr_assign, crate::ops::right_shift);

#[cfg(test)]
mod tests {
    use crate as mx;

    #[test]
    fn compound_assignment_rebinds_the_handle() {
        let mut a = mx::array![1, 2, 3];
        let before = a.clone();
        a += 1;
        a *= &mx::array![2, 2, 2];
        a <<= 1;
        a %= 5;
        assert_eq!(a.to_vec::<i32>().unwrap(), vec![3, 2, 1]);
        assert_eq!(before.to_vec::<i32>().unwrap(), vec![1, 2, 3]);
    }
}
