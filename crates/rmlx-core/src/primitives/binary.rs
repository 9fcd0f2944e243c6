//! Binary elementwise primitives. Inputs arrive converted to one dtype and broadcast to the
//! output shape; each op is one type whose kernel is a closure handed to the drivers, with the
//! per-type math in [`crate::cpu::binary`] and [`crate::cpu::num`].

use crate::array::{Array, Data};
use crate::cpu::binary::{
    Bits, FloatMath, Ordered, RealArith, Shift, complex_div, complex_logaddexp, complex_pow,
    dispatch_float, dispatch_int, dispatch_real,
};
use crate::cpu::elementwise::binary;
use crate::cpu::num::Num;
use crate::element::C64;
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive, same_params};
use crate::transforms::rules::binary_vmap_rule;

/// Declares a parameterless binary primitive: `$a`, `$b` are the inputs and `$spec` the output
/// spec inside `$body`, which returns `Result<Data>`.
macro_rules! binary_primitive {
    ($(#[$doc:meta])* $Name:ident, |$a:ident, $b:ident, $spec:ident| $body:expr
        $(, rules { $($rules:tt)* })?) => {
        $(#[$doc])*
        #[derive(Debug, PartialEq)]
        pub(crate) struct $Name;

        impl Primitive for $Name {
            fn name(&self) -> &'static str {
                stringify!($Name)
            }
            fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
                let ($a, $b, $spec) = (&inputs[0], &inputs[1], &outputs[0]);
                Ok(vec![$body?])
            }
            fn is_equivalent(&self, other: &dyn Primitive) -> bool {
                same_params(self, other)
            }
            $($($rules)*)?
        }
    };
}

/// The error of a kernel reached with a dtype its op rejects (the op checks first).
fn unsupported(op: &str, a: &Array) -> Error {
    Error::value(format!("[{op}] Not supported for {}.", a.dtype()))
}

/// Runs a numeric closure on every dtype but bool, and `bool_f` on bool.
macro_rules! numeric_binary {
    ($a:expr, $b:expr, $spec:expr, |$x:ident, $y:ident| $e:expr, bool: |$bx:ident, $by:ident| $be:expr) => {{
        let (a, b, spec) = ($a, $b, $spec);
        crate::dispatch_numeric!(a.dtype(), T => binary::<T, T>(a, b, spec, |$x: T, $y: T| $e),
            bool => binary::<bool, bool>(a, b, spec, |$bx: bool, $by: bool| $be))
    }};
}

/// Runs `$e` (an elementwise closure body over `T`) for any dtype, giving `$U` outputs.
macro_rules! any_binary {
    ($a:expr, $b:expr, $spec:expr, $U:ty, |$x:ident, $y:ident| $e:expr) => {{
        let (a, b, spec) = ($a, $b, $spec);
        crate::dispatch_dtype!(a.dtype(), T => binary::<T, $U>(a, b, spec, |$x: T, $y: T| $e))
    }};
}

binary_primitive!(
    /// `add` (bool: logical or, as MLX).
    Add,
    |a, b, spec| numeric_binary!(a, b, spec, |x, y| x.add(y), bool: |x, y| x | y),
    rules {
        fn vjp(
            &self,
            _primals: &[Array],
            cotangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(argnums.iter().map(|_| cotangents[0].clone()).collect())
        }
        fn jvp(
            &self,
            _primals: &[Array],
            tangents: &[Array],
            _argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![match tangents {
                [t] => t.clone(),
                [a, b] => crate::ops::add(a, b)?,
                _ => return Err(Error::runtime("[Add::jvp] expected one or two tangents")),
            }])
        }
        binary_vmap_rule!(crate::ops::add);
    }
);

binary_primitive!(
    /// `subtract` (bool: exclusive or).
    Subtract,
    |a, b, spec| numeric_binary!(a, b, spec, |x, y| x.sub(y), bool: |x, y| x ^ y)
);

binary_primitive!(
    /// `multiply` (bool: logical and).
    Multiply,
    |a, b, spec| numeric_binary!(a, b, spec, |x, y| x.mul(y), bool: |x, y| x & y),
    rules {
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            argnums
                .iter()
                .map(|&i| crate::ops::multiply(&cotangents[0], &primals[1 - i]))
                .collect()
        }
        fn jvp(
            &self,
            primals: &[Array],
            tangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let mut out: Option<Array> = None;
            for (&i, t) in argnums.iter().zip(tangents) {
                let term = crate::ops::multiply(t, &primals[1 - i])?;
                out = Some(match out {
                    Some(acc) => crate::ops::add(&acc, &term)?,
                    None => term,
                });
            }
            out.map(|o| vec![o])
                .ok_or_else(|| Error::runtime("[Multiply::jvp] expected a tangent"))
        }
        binary_vmap_rule!(crate::ops::multiply);
    }
);

binary_primitive!(
    /// `divide`: inputs are inexact (the op promotes integers to float); complex64 divides as
    /// C++'s `std::complex` (a nonzero number over zero is infinite).
    Divide,
    |a, b, spec| match a.dtype() {
        crate::Dtype::Complex64 => binary::<C64, C64>(a, b, spec, complex_div),
        _ => numeric_binary!(a, b, spec, |x, y| x.div(y), bool: |x, _y| x),
    }
);

binary_primitive!(
    /// `floor_divide`: Python's `//` for bool, integers and floats; plain division for
    /// complex64 (MLX's `floor` leaves complex numbers as they are).
    FloorDivide,
    |a, b, spec| dispatch_real!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.floor_div(y)),
        _ => binary::<C64, C64>(a, b, spec, complex_div))
);

binary_primitive!(
    /// `remainder`: Python's `%` (the result takes the divisor's sign); not for complex64.
    Remainder,
    |a, b, spec| dispatch_real!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.rem(y)),
        _ => Err(unsupported("remainder", a)))
);

/// `divmod`: the floor quotient and the remainder, computed together as two outputs.
#[derive(Debug, PartialEq)]
pub(crate) struct DivMod;

impl Primitive for DivMod {
    fn name(&self) -> &'static str {
        "DivMod"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        // Extra handles keep the first pass from donating an input buffer the second pass
        // still reads.
        let (a, b) = (inputs[0].clone(), inputs[1].clone());
        let (q, r) = (&outputs[0], &outputs[1]);
        let (qd, rd) = dispatch_real!(a.dtype(), T => (
            binary::<T, T>(&a, &b, q, |x: T, y: T| x.floor_div(y))?,
            binary::<T, T>(&a, &b, r, |x: T, y: T| x.rem(y))?,
        ), _ => return Err(unsupported("divmod", &a)));
        Ok(vec![qd, rd])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

binary_primitive!(
    /// `power`: integers by squaring (negative exponents give 0), floats as C's `pow`, complex
    /// as `cpow`; bool: `a or not b`.
    Power,
    |a, b, spec| dispatch_real!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.power(y)),
        _ => binary::<C64, C64>(a, b, spec, complex_pow))
);

binary_primitive!(
    /// `maximum`: NaN propagates; complex numbers compare lexicographically.
    Maximum,
    |a, b, spec| any_binary!(a, b, spec, T, |x, y| x.max_nan(y))
);

binary_primitive!(
    /// `minimum`: NaN propagates; complex numbers compare lexicographically.
    Minimum,
    |a, b, spec| any_binary!(a, b, spec, T, |x, y| x.min_nan(y))
);

binary_primitive!(
    /// `arctan2(a, b)`: the angle of the point `(b, a)`; real floats only.
    ArcTan2,
    |a, b, spec| dispatch_float!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.atan2(y)),
        _ => Err(unsupported("arctan2", a)))
);

binary_primitive!(
    /// `logaddexp`: `log(exp(a) + exp(b))` without overflow; floats and complex64.
    LogAddExp,
    |a, b, spec| dispatch_float!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.logaddexp(y)),
        _ => match a.dtype() {
            crate::Dtype::Complex64 => binary::<C64, C64>(a, b, spec, complex_logaddexp),
            _ => Err(unsupported("logaddexp", a)),
        })
);

/// `equal`; with `equal_nan`, two NaNs compare equal (for `array_equal` and `isclose`).
#[derive(Debug, PartialEq)]
pub(crate) struct Equal {
    pub(crate) equal_nan: bool,
}

impl Primitive for Equal {
    fn name(&self) -> &'static str {
        if self.equal_nan { "NaNEqual" } else { "Equal" }
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (a, b, spec) = (&inputs[0], &inputs[1], &outputs[0]);
        let d = if self.equal_nan {
            any_binary!(a, b, spec, bool, |x, y| x == y
                || (x.is_nan() && y.is_nan()))
        } else {
            any_binary!(a, b, spec, bool, |x, y| x == y)
        }?;
        Ok(vec![d])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

binary_primitive!(
    /// `not_equal` (true where either is NaN).
    NotEqual,
    |a, b, spec| any_binary!(a, b, spec, bool, |x, y| x != y)
);

binary_primitive!(
    /// `greater` (complex: lexicographic).
    Greater,
    |a, b, spec| any_binary!(a, b, spec, bool, |x, y| x.greater(y))
);

binary_primitive!(
    /// `greater_equal` (complex: lexicographic).
    GreaterEqual,
    |a, b, spec| any_binary!(a, b, spec, bool, |x, y| x.greater_equal(y))
);

binary_primitive!(
    /// `less` (complex: lexicographic).
    Less,
    |a, b, spec| any_binary!(a, b, spec, bool, |x, y| x.less(y))
);

binary_primitive!(
    /// `less_equal` (complex: lexicographic).
    LessEqual,
    |a, b, spec| any_binary!(a, b, spec, bool, |x, y| x.less_equal(y))
);

binary_primitive!(
    /// `logical_and` of bool inputs.
    LogicalAnd,
    |a, b, spec| binary::<bool, bool>(a, b, spec, |x, y| x && y)
);

binary_primitive!(
    /// `logical_or` of bool inputs.
    LogicalOr,
    |a, b, spec| binary::<bool, bool>(a, b, spec, |x, y| x || y)
);

/// Runs a [`Bits`] closure on bool and the integers.
macro_rules! bits_binary {
    ($op:literal, $a:expr, $b:expr, $spec:expr, $f:ident) => {{
        let (a, b, spec) = ($a, $b, $spec);
        dispatch_int!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.$f(y)),
            _ => match a.dtype() {
                crate::Dtype::Bool => binary::<bool, bool>(a, b, spec, |x, y| x.$f(y)),
                _ => Err(unsupported($op, a)),
            })
    }};
}

binary_primitive!(
    /// `bitwise_and` (bool: logical and).
    BitwiseAnd,
    |a, b, spec| bits_binary!("bitwise_and", a, b, spec, and)
);

binary_primitive!(
    /// `bitwise_or` (bool: logical or).
    BitwiseOr,
    |a, b, spec| bits_binary!("bitwise_or", a, b, spec, or)
);

binary_primitive!(
    /// `bitwise_xor` (bool: logical xor).
    BitwiseXor,
    |a, b, spec| bits_binary!("bitwise_xor", a, b, spec, xor)
);

binary_primitive!(
    /// `left_shift` of integers (bool arrives as uint8).
    LeftShift,
    |a, b, spec| dispatch_int!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.shl(y)),
        _ => Err(unsupported("left_shift", a)))
);

binary_primitive!(
    /// `right_shift` of integers, arithmetic for signed types (bool arrives as uint8).
    RightShift,
    |a, b, spec| dispatch_int!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.shr(y)),
        _ => Err(unsupported("right_shift", a)))
);
