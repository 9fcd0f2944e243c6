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
use crate::transforms::rules::{
    binary_partial_rules, binary_vmap_rule, zero_derivative_rules, zero_tangent_rules,
};

/// Declares a parameterless binary primitive: `$a`, `$b` are the inputs and `$spec` the output
/// spec inside `$body`, which returns `Result<Data>`.
macro_rules! binary_primitive {
    ($(#[$doc:meta])* $Name:ident, |$a:ident, $b:ident, $spec:ident| $body:expr
        $(, rules { $($rules:tt)* })?) => {
        $(#[$doc])*
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
            fn is_elementwise(&self) -> bool {
                true
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
            crate::transforms::rules::sum_terms("Add", tangents.iter().map(|t| Ok(t.clone())))
        }
        binary_vmap_rule!(crate::ops::add);
    }
);

binary_primitive!(
    /// `subtract` (bool: exclusive or).
    Subtract,
    |a, b, spec| numeric_binary!(a, b, spec, |x, y| x.sub(y), bool: |x, y| x ^ y),
    rules {
        fn vjp(&self, _p: &[Array], cotangents: &[Array], argnums: &[usize], _o: &[Array]) -> Result<Vec<Array>> {
            argnums.iter().map(|&i| if i == 0 { Ok(cotangents[0].clone()) } else { crate::ops::negative(&cotangents[0]) }).collect()
        }
        fn jvp(&self, _p: &[Array], tangents: &[Array], argnums: &[usize], _o: &[Array]) -> Result<Vec<Array>> {
            Ok(vec![match (argnums, tangents) {
                ([0], [t]) => t.clone(),
                ([_], [t]) => crate::ops::negative(t)?,
                (_, [t0, t1]) => crate::ops::subtract(t0, t1)?,
                _ => return Err(Error::runtime("[Subtract::jvp] expected one or two tangents")),
            }])
        }
        binary_vmap_rule!(crate::ops::subtract); }
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
                // MLX's rule: the other factor conjugated (a no-op for real dtypes).
                .map(|&i| {
                    crate::ops::multiply(&cotangents[0], &crate::ops::conjugate(&primals[1 - i])?)
                })
                .collect()
        }
        fn jvp(
            &self,
            primals: &[Array],
            tangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            crate::transforms::rules::sum_terms(
                "Multiply",
                argnums
                    .iter()
                    .zip(tangents)
                    .map(|(&i, t)| crate::ops::multiply(t, &primals[1 - i])),
            )
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
    },
    rules { binary_partial_rules!(conj |a, b, out, i| if i == 0 { crate::ops::reciprocal(b) } else { crate::ops::negative(&crate::ops::divide(out, b)?) }); binary_vmap_rule!(crate::ops::divide); }
);

binary_primitive!(
    /// `floor_divide`: Python's `//` for bool, integers and floats; plain division for
    /// complex64 (MLX's `floor` leaves complex numbers as they are).
    FloorDivide,
    |a, b, spec| dispatch_real!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.floor_div(y)),
        _ => binary::<C64, C64>(a, b, spec, complex_div)),
    rules { zero_derivative_rules!(); binary_vmap_rule!(crate::ops::floor_divide); }
);

binary_primitive!(
    /// `remainder`: Python's `%` (the result takes the divisor's sign); not for complex64.
    Remainder,
    |a, b, spec| dispatch_real!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.rem(y)),
        _ => Err(unsupported("remainder", a))),
    rules { binary_partial_rules!(|a, b, out, i| if i == 0 { crate::ops::ones_like(a) } else { crate::ops::negative(&crate::ops::floor(&crate::ops::divide(a, b)?)?) }); binary_vmap_rule!(crate::ops::remainder); }
);

/// `divmod`: the floor quotient and the remainder, computed together as two outputs.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DivMod;

impl Primitive for DivMod {
    fn is_elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "DivMod"
    }
    // Piecewise constant: zero derivatives for both outputs (as MLX).
    fn vjp(
        &self,
        primals: &[Array],
        _cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| crate::ops::zeros_like(&primals[i]))
            .collect()
    }
    fn jvp(
        &self,
        primals: &[Array],
        _tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let z = crate::ops::zeros_like(&primals[0])?;
        Ok(vec![z.clone(), z])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let mut pair = None;
        let (mut outs, out_axes) =
            crate::transforms::rules::vmap_elementwise(inputs, axes, |xs| {
                let (q, r) = crate::ops::divmod(&xs[0], &xs[1])?;
                pair = Some(r);
                Ok(q)
            })?;
        outs.push(pair.expect("divmod ran"));
        Ok((outs, vec![out_axes[0]; 2]))
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
        _ => binary::<C64, C64>(a, b, spec, complex_pow)),
    rules { binary_partial_rules!(|a, b, out, i| if i == 0 { crate::ops::multiply(&crate::ops::power(a, &crate::ops::subtract(b, 1)?)?, b) } else { crate::ops::r#where(out, &crate::ops::multiply(&crate::ops::log(a)?, out)?, 0.0) }); binary_vmap_rule!(crate::ops::power); }
);

binary_primitive!(
    /// `maximum`: NaN propagates; complex numbers compare lexicographically.
    Maximum,
    |a, b, spec| any_binary!(a, b, spec, T, |x, y| x.max_nan(y)),
    rules { binary_partial_rules!(|a, b, out, i| if i == 0 { crate::ops::greater(a, b) } else { crate::ops::less_equal(a, b) }); binary_vmap_rule!(crate::ops::maximum); }
);

binary_primitive!(
    /// `minimum`: NaN propagates; complex numbers compare lexicographically.
    Minimum,
    |a, b, spec| any_binary!(a, b, spec, T, |x, y| x.min_nan(y)),
    rules { binary_partial_rules!(|a, b, out, i| if i == 0 { crate::ops::less(a, b) } else { crate::ops::greater_equal(a, b) }); binary_vmap_rule!(crate::ops::minimum); }
);

binary_primitive!(
    /// `arctan2(a, b)`: the angle of the point `(b, a)`; real floats only.
    ArcTan2,
    |a, b, spec| dispatch_float!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.atan2(y)),
        _ => Err(unsupported("arctan2", a))),
    rules { binary_partial_rules!(|a, b, out, i| { let r = crate::ops::add(&crate::ops::square(a)?, &crate::ops::square(b)?)?; if i == 0 { crate::ops::divide(b, &r) } else { crate::ops::negative(&crate::ops::divide(a, &r)?) } }); binary_vmap_rule!(crate::ops::arctan2); }
);

binary_primitive!(
    /// `logaddexp`: `log(exp(a) + exp(b))` without overflow; floats and complex64.
    LogAddExp,
    |a, b, spec| dispatch_float!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.logaddexp(y)),
        _ => match a.dtype() {
            crate::Dtype::Complex64 => binary::<C64, C64>(a, b, spec, complex_logaddexp),
            _ => Err(unsupported("logaddexp", a)),
        }),
    rules { binary_partial_rules!(|a, b, out, i| { let s = crate::ops::sigmoid(&crate::ops::subtract(a, b)?)?; if i == 0 { Ok(s) } else { crate::ops::subtract(1.0, &s) } }); binary_vmap_rule!(crate::ops::logaddexp); }
);

/// `equal`; with `equal_nan`, two NaNs compare equal (for `array_equal` and `isclose`).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Equal {
    pub(crate) equal_nan: bool,
}

impl Primitive for Equal {
    fn is_elementwise(&self) -> bool {
        true
    }
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
    zero_tangent_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let nan = self.equal_nan;
        crate::transforms::rules::vmap_elementwise(inputs, axes, |xs| {
            let shape = crate::ops::broadcast_shapes(&[xs[0].shape(), xs[1].shape()])?;
            let a = crate::ops::broadcast_to(&xs[0], &shape)?;
            let b = crate::ops::broadcast_to(&xs[1], &shape)?;
            Ok(Array::from_op(
                shape,
                crate::Dtype::Bool,
                Equal { equal_nan: nan },
                vec![a, b],
            ))
        })
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

binary_primitive!(
    /// `not_equal` (true where either is NaN).
    NotEqual,
    |a, b, spec| any_binary!(a, b, spec, bool, |x, y| x != y),
    rules { zero_tangent_rules!(); binary_vmap_rule!(crate::ops::not_equal); }
);

binary_primitive!(
    /// `greater` (complex: lexicographic).
    Greater,
    |a, b, spec| any_binary!(a, b, spec, bool, |x, y| x.greater(y)),
    rules { zero_tangent_rules!(); binary_vmap_rule!(crate::ops::greater); }
);

binary_primitive!(
    /// `greater_equal` (complex: lexicographic).
    GreaterEqual,
    |a, b, spec| any_binary!(a, b, spec, bool, |x, y| x.greater_equal(y)),
    rules { zero_tangent_rules!(); binary_vmap_rule!(crate::ops::greater_equal); }
);

binary_primitive!(
    /// `less` (complex: lexicographic).
    Less,
    |a, b, spec| any_binary!(a, b, spec, bool, |x, y| x.less(y)),
    rules { zero_tangent_rules!(); binary_vmap_rule!(crate::ops::less); }
);

binary_primitive!(
    /// `less_equal` (complex: lexicographic).
    LessEqual,
    |a, b, spec| any_binary!(a, b, spec, bool, |x, y| x.less_equal(y)),
    rules { zero_tangent_rules!(); binary_vmap_rule!(crate::ops::less_equal); }
);

binary_primitive!(
    /// `logical_and` of bool inputs.
    LogicalAnd,
    |a, b, spec| binary::<bool, bool>(a, b, spec, |x, y| x && y),
    rules { zero_derivative_rules!(); binary_vmap_rule!(crate::ops::logical_and); }
);

binary_primitive!(
    /// `logical_or` of bool inputs.
    LogicalOr,
    |a, b, spec| binary::<bool, bool>(a, b, spec, |x, y| x || y),
    rules { zero_derivative_rules!(); binary_vmap_rule!(crate::ops::logical_or); }
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
    |a, b, spec| bits_binary!("bitwise_and", a, b, spec, and),
    rules { zero_tangent_rules!(); binary_vmap_rule!(crate::ops::bitwise_and); }
);

binary_primitive!(
    /// `bitwise_or` (bool: logical or).
    BitwiseOr,
    |a, b, spec| bits_binary!("bitwise_or", a, b, spec, or),
    rules { zero_tangent_rules!(); binary_vmap_rule!(crate::ops::bitwise_or); }
);

binary_primitive!(
    /// `bitwise_xor` (bool: logical xor).
    BitwiseXor,
    |a, b, spec| bits_binary!("bitwise_xor", a, b, spec, xor),
    rules { zero_tangent_rules!(); binary_vmap_rule!(crate::ops::bitwise_xor); }
);

binary_primitive!(
    /// `left_shift` of integers (bool arrives as uint8).
    LeftShift,
    |a, b, spec| dispatch_int!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.shl(y)),
        _ => Err(unsupported("left_shift", a))),
    rules { zero_tangent_rules!(); binary_vmap_rule!(crate::ops::left_shift); }
);

binary_primitive!(
    /// `right_shift` of integers, arithmetic for signed types (bool arrives as uint8).
    RightShift,
    |a, b, spec| dispatch_int!(a.dtype(), T => binary::<T, T>(a, b, spec, |x: T, y: T| x.shr(y)),
        _ => Err(unsupported("right_shift", a))),
    rules { zero_tangent_rules!(); binary_vmap_rule!(crate::ops::right_shift); }
);
