//! Unary elementwise primitives. Each op is one type; its kernel is a closure handed to the
//! elementwise drivers. Float math on float16/bfloat16 computes in f32 and rounds once; exp,
//! log, tanh and sigmoid on float32 (and half precision) run the vectorised kernels of
//! [`crate::cpu::vmath`].

use crate::array::{Array, Data};
use crate::cpu::elementwise;
use crate::cpu::num::Num;
use crate::cpu::special;
use crate::cpu::unary::{FloatClass, UnaryNum, each, rsqrt32, rsqrt64, sigmoid64, via_f32};
use crate::cpu::vmath;
use crate::dtype::Dtype;
use crate::element::C64;
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive, same_params};
use crate::transforms::rules::{
    unary_derivative_rules, unary_vmap_rule, zero_derivative_rules, zero_tangent_rules,
};
use half::{bf16, f16};

/// Applies float math to a float or complex input: an f32 slice kernel for float32 (and, in
/// chunks converted to f32, for float16/bfloat16), `f64f` for float64, `c` for complex64 when
/// the op has a complex form.
pub(crate) fn float_unary_slices(
    name: &str,
    x: &Array,
    spec: &OutputSpec,
    f32s: impl Fn(&[f32], &mut [f32]) + Sync + Send,
    f64f: impl Fn(f64) -> f64 + Sync + Send,
    c: Option<fn(C64) -> C64>,
) -> Result<Vec<Data>> {
    use crate::dtype::Dtype::*;
    let d = match x.dtype() {
        Float32 => elementwise::unary_slices::<f32, f32>(x, spec, f32s),
        Float64 => elementwise::unary::<f64, f64>(x, spec, f64f),
        Float16 => elementwise::unary_slices::<f16, f16>(
            x,
            spec,
            via_f32(f32s, f16::to_f32, f16::from_f32),
        ),
        Bfloat16 => elementwise::unary_slices::<bf16, bf16>(
            x,
            spec,
            via_f32(f32s, bf16::to_f32, bf16::from_f32),
        ),
        Complex64 => match c {
            Some(c) => elementwise::unary::<C64, C64>(x, spec, c),
            None => Err(Error::value(format!(
                "[{name}] Not supported for complex64."
            ))),
        },
        other => Err(Error::value(format!("[{name}] Not supported for {other}."))),
    }?;
    Ok(vec![d])
}

/// [`float_unary_slices`] with a per-element f32 function.
pub(crate) fn float_unary(
    name: &str,
    x: &Array,
    spec: &OutputSpec,
    f32f: impl Fn(f32) -> f32 + Sync + Send,
    f64f: impl Fn(f64) -> f64 + Sync + Send,
    c: Option<fn(C64) -> C64>,
) -> Result<Vec<Data>> {
    float_unary_slices(name, x, spec, each(f32f), f64f, c)
}

/// The output shares the input's data (an identity kernel, as MLX's `copy_shared_buffer`).
fn share(x: &Array) -> Result<Vec<Data>> {
    Ok(vec![x.ready_data()?])
}

/// Implements `Primitive` for a parameterless unary type: its name and `eval_cpu` body.
macro_rules! unary_primitive {
    ($(#[$doc:meta])* $T:ident, $name:literal, |$x:ident, $spec:ident| $body:expr
        $(, rules { $($rules:tt)* })?) => {
        $(#[$doc])*
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub(crate) struct $T;

        impl Primitive for $T {
            fn name(&self) -> &'static str {
                $name
            }
            fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
                let ($x, $spec) = (&inputs[0], &outputs[0]);
                $body
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

/// A float-math primitive: `f32` slice kernel, `f64` function and optional complex form.
macro_rules! float_math {
    ($(#[$doc:meta])* $T:ident, $name:literal, $op:literal, $f32s:expr, $f64:expr, $c:expr
        $(, rules { $($rules:tt)* })?) => {
        unary_primitive!($(#[$doc])* $T, $name, |x, spec| float_unary_slices($op, x, spec, $f32s, $f64, $c)
            $(, rules { $($rules)* })?);
    };
}

unary_primitive!(
    /// `abs`: identity on unsigned and bool (shares the buffer), magnitude (float32) on complex.
    Abs, "Abs", |x, spec| {
        if x.dtype() == Dtype::Bool || x.dtype().is_unsigned_integer() {
            return share(x);
        }
        if x.dtype() == Dtype::Complex64 {
            return Ok(vec![elementwise::unary::<C64, f32>(x, spec, |c| c.norm())?]);
        }
        let d = crate::dispatch_numeric!(x.dtype(), T => elementwise::unary::<T, T>(x, spec, UnaryNum::abs),
            bool => unreachable!("bool shares its buffer above"))?;
        Ok(vec![d])
    },
    rules {
        // The vjp is `cotangent * sign(x)` (complex for a complex input: its parts are the
        // gradients with respect to the input's parts); `|z|` is real, so its jvp is
        // `Re(t * conj(sign(z)))`, as MLX.
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            _argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![crate::ops::multiply(&cotangents[0], &crate::ops::sign(&primals[0])?)?])
        }
        fn jvp(
            &self,
            primals: &[Array],
            tangents: &[Array],
            _argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let s = crate::ops::sign(&primals[0])?;
            if primals[0].dtype() == Dtype::Complex64 {
                let p = crate::ops::multiply(&tangents[0], &crate::ops::conjugate(&s)?)?;
                return Ok(vec![crate::ops::real(&p)?]);
            }
            Ok(vec![crate::ops::multiply(&tangents[0], &s)?])
        }
        unary_vmap_rule!(Abs);
    }
);

unary_primitive!(
    /// `sign`: -1, 0, 1 (0 for NaN); `x / |x|` for complex; identity on bool.
    Sign, "Sign", |x, spec| {
        if x.dtype() == Dtype::Bool {
            return share(x);
        }
        let d = crate::dispatch_numeric!(x.dtype(), T => elementwise::unary::<T, T>(x, spec, UnaryNum::sign),
            bool => unreachable!("bool shares its buffer above"))?;
        Ok(vec![d])
    },
    rules { zero_derivative_rules!(); unary_vmap_rule!(Sign); }
);

unary_primitive!(
    /// `negative`: wraps for integers; not defined for bool.
    Negative, "Negative", |x, spec| {
        let d = crate::dispatch_numeric!(x.dtype(), T => elementwise::unary::<T, T>(x, spec, |v| v.neg()),
            bool => Err(Error::value("[negative] Not supported for bool, use logical_not instead.")))?;
        Ok(vec![d])
    },
    rules {
        fn vjp(
            &self,
            _primals: &[Array],
            cotangents: &[Array],
            _argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![crate::ops::negative(&cotangents[0])?])
        }
        fn jvp(
            &self,
            _primals: &[Array],
            tangents: &[Array],
            _argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![crate::ops::negative(&tangents[0])?])
        }
        unary_vmap_rule!(Negative);
    }
);

unary_primitive!(
    /// `square`: `x * x` (integers wrap; bool stays bool).
    Square, "Square", |x, spec| {
        let d = crate::dispatch_numeric!(x.dtype(), T => elementwise::unary::<T, T>(x, spec, |v| v.mul(v)),
            bool => elementwise::copy::<bool>(x, spec))?;
        Ok(vec![d])
    },
    rules { unary_derivative_rules!(Square, |x, _out| crate::ops::multiply(x, 2.0)); }
);

float_math!(
    /// `exp` (vectorised for float32).
    Exp, "Exp", "exp", vmath::exp_f32, f64::exp, Some(|c: C64| c.exp()),
    rules { unary_derivative_rules!(Exp, |_x, out| Ok::<_, Error>(out.clone())); }
);
float_math!(
    /// `expm1`: `e^x - 1`, accurate near 0; no complex form.
    Expm1, "Expm1", "expm1", each(f32::exp_m1), f64::exp_m1, None,
    rules { unary_derivative_rules!(Expm1, |x, out| { let _ = (&x, &out); crate::ops::add(out, 1.0) }); }
);
float_math!(
    /// `sqrt`.
    Sqrt, "Sqrt", "sqrt", each(f32::sqrt), f64::sqrt, Some(|c: C64| c.sqrt()),
    rules { unary_derivative_rules!(Sqrt, |x, out| { let _ = (&x, &out); crate::ops::divide(0.5, out) }); }
);
float_math!(
    /// `rsqrt`: `1 / sqrt(x)`.
    Rsqrt, "Rsqrt", "rsqrt", each(rsqrt32), rsqrt64, Some(|c: C64| c.sqrt().inv()),
    rules { unary_derivative_rules!(Rsqrt, |x, out| { let _ = (&x, &out); crate::ops::multiply(&crate::ops::divide(out, x)?, -0.5) }); }
);
float_math!(
    /// `log1p`: `ln(1 + x)`, accurate near 0.
    Log1p, "Log1p", "log1p", each(f32::ln_1p), f64::ln_1p, Some(|c: C64| (c + 1.0).ln()),
    rules { unary_derivative_rules!(Log1p, |x, out| { let _ = (&x, &out); crate::ops::reciprocal(&crate::ops::add(x, 1.0)?) }); }
);
float_math!(
    /// `sin`.
    Sin, "Sin", "sin", each(f32::sin), f64::sin, Some(|c: C64| c.sin()),
    rules { unary_derivative_rules!(Sin, |x, _out| crate::ops::cos(x)); }
);
float_math!(
    /// `cos`.
    Cos, "Cos", "cos", each(f32::cos), f64::cos, Some(|c: C64| c.cos()),
    rules { unary_derivative_rules!(Cos, |x, _out| crate::ops::negative(&crate::ops::sin(x)?)); }
);
float_math!(
    /// `tan`.
    Tan, "Tan", "tan", each(f32::tan), f64::tan, Some(|c: C64| c.tan()),
    rules { unary_derivative_rules!(Tan, |x, out| { let _ = (&x, &out); crate::ops::reciprocal(&crate::ops::square(&crate::ops::cos(x)?)?) }); }
);
float_math!(
    /// `arcsin`.
    ArcSin, "ArcSin", "arcsin", each(f32::asin), f64::asin, Some(|c: C64| c.asin()),
    rules { unary_derivative_rules!(ArcSin, |x, out| { let _ = (&x, &out); crate::ops::rsqrt(&crate::ops::subtract(1.0, &crate::ops::square(x)?)?) }); }
);
float_math!(
    /// `arccos`.
    ArcCos, "ArcCos", "arccos", each(f32::acos), f64::acos, Some(|c: C64| c.acos()),
    rules { unary_derivative_rules!(ArcCos, |x, out| { let _ = (&x, &out); crate::ops::negative(&crate::ops::rsqrt(&crate::ops::subtract(1.0, &crate::ops::square(x)?)?)?) }); }
);
float_math!(
    /// `arctan`.
    ArcTan, "ArcTan", "arctan", each(f32::atan), f64::atan, Some(|c: C64| c.atan()),
    rules { unary_derivative_rules!(ArcTan, |x, out| { let _ = (&x, &out); crate::ops::reciprocal(&crate::ops::add(&crate::ops::square(x)?, 1.0)?) }); }
);
float_math!(
    /// `sinh`.
    Sinh, "Sinh", "sinh", each(f32::sinh), f64::sinh, Some(|c: C64| c.sinh()),
    rules { unary_derivative_rules!(Sinh, |x, out| { let _ = (&x, &out); crate::ops::cosh(x) }); }
);
float_math!(
    /// `cosh`.
    Cosh, "Cosh", "cosh", each(f32::cosh), f64::cosh, Some(|c: C64| c.cosh()),
    rules { unary_derivative_rules!(Cosh, |x, out| { let _ = (&x, &out); crate::ops::sinh(x) }); }
);
float_math!(
    /// `tanh` (vectorised for float32).
    Tanh, "Tanh", "tanh", vmath::tanh_f32, f64::tanh, Some(|c: C64| c.tanh()),
    rules {
        // 1 - tanh(x)^2, from the output.
        unary_derivative_rules!(Tanh, |_x, out| crate::ops::subtract(1.0, &crate::ops::square(out)?));
    }
);
float_math!(
    /// `arcsinh`.
    ArcSinh, "ArcSinh", "arcsinh", each(asinh32), asinh64, Some(|c: C64| c.asinh()),
    rules { unary_derivative_rules!(ArcSinh, |x, out| { let _ = (&x, &out); crate::ops::rsqrt(&crate::ops::add(&crate::ops::square(x)?, 1.0)?) }); }
);
float_math!(
    /// `arccosh`.
    ArcCosh, "ArcCosh", "arccosh", each(acosh32), acosh64, Some(|c: C64| c.acosh()),
    rules { unary_derivative_rules!(ArcCosh, |x, out| { let _ = (&x, &out); crate::ops::rsqrt(&crate::ops::subtract(&crate::ops::square(x)?, 1.0)?) }); }
);
float_math!(
    /// `arctanh`.
    ArcTanh, "ArcTanh", "arctanh", each(special::atanh_f32), special::atanh_f64, Some(|c: C64| c.atanh()),
    rules { unary_derivative_rules!(ArcTanh, |x, out| { let _ = (&x, &out); crate::ops::reciprocal(&crate::ops::subtract(1.0, &crate::ops::square(x)?)?) }); }
);
float_math!(
    /// `sigmoid`: `1 / (1 + e^-x)` (vectorised for float32); no complex form.
    Sigmoid, "Sigmoid", "sigmoid", vmath::sigmoid_f32, sigmoid64, None,
    rules { unary_derivative_rules!(Sigmoid, |x, out| { let _ = (&x, &out); crate::ops::multiply(out, &crate::ops::subtract(1.0, out)?) }); }
);
float_math!(
    /// `erf`; no complex form. Float32 (and the half types through it) is within about one
    /// ulp (vectorised); float64 is exact to the last bit.
    Erf, "Erf", "erf", vmath::erf_f32, special::erf, None,
    rules { unary_derivative_rules!(Erf, |x, out| { let _ = (&x, &out); crate::ops::multiply(&crate::ops::exp(&crate::ops::negative(&crate::ops::square(x)?)?)?, std::f64::consts::FRAC_2_SQRT_PI) }); }
);
float_math!(
    /// `erf` as MLX's CPU backend computes it for float32 (and the half types through it),
    /// bit for bit: Abramowitz-Stegun 7.1.26, about 1e-7 absolute error. Internal, for
    /// `truncated_normal`, whose samples must equal MLX's; float64 is exact as in [`Erf`]. A
    /// separate primitive (not a flag on `Erf`) so that the two never compare equal in
    /// `compile` and each exports under its own tag.
    ErfMlx, "ErfMlx", "erf", vmath::erf_mlx_f32, special::erf, None,
    rules { unary_derivative_rules!(ErfMlx, |x, out| { let _ = (&x, &out); crate::ops::multiply(&crate::ops::exp(&crate::ops::negative(&crate::ops::square(x)?)?)?, std::f64::consts::FRAC_2_SQRT_PI) }); }
);
float_math!(
    /// `erfinv`; no complex form. Float32 (and the half types through it) runs MLX's own
    /// float32 approximation, bit for bit (vectorised); float64 is exact to the last bit.
    ErfInv, "ErfInv", "erfinv", vmath::erfinv_f32, special::erfinv, None,
    rules { unary_derivative_rules!(ErfInv, |x, out| { let _ = (&x, &out); crate::ops::multiply(&crate::ops::exp(&crate::ops::square(out)?)?, 0.5 * std::f64::consts::PI.sqrt()) }); }
);

/// `asinh` that stays finite for large `|x|` (where `x^2` would overflow).
fn asinh64(x: f64) -> f64 {
    let a = x.abs();
    let r = if a > 1e150 {
        a.ln() + std::f64::consts::LN_2
    } else {
        a.asinh()
    };
    r.copysign(x)
}
fn asinh32(x: f32) -> f32 {
    asinh64(x as f64) as f32
}
/// `acosh` that stays finite for large `x`.
fn acosh64(x: f64) -> f64 {
    if x > 1e150 {
        x.ln() + std::f64::consts::LN_2
    } else {
        x.acosh()
    }
}
fn acosh32(x: f32) -> f32 {
    acosh64(x as f64) as f32
}

/// Which logarithm [`Log`] computes.
#[derive(Debug, PartialEq, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) enum LogBase {
    E,
    Two,
    Ten,
}

/// `log`, `log2`, `log10` (natural log vectorised for float32).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Log {
    pub(crate) base: LogBase,
}

impl Log {
    /// `x * ln(base)`: the derivative of the logarithm is its reciprocal.
    fn scaled_input(&self, x: &Array) -> Result<Array> {
        match self.base {
            LogBase::E => Ok(x.clone()),
            LogBase::Two => crate::ops::multiply(x, std::f64::consts::LN_2),
            LogBase::Ten => crate::ops::multiply(x, std::f64::consts::LN_10),
        }
    }
}

impl Primitive for Log {
    fn is_elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        match self.base {
            LogBase::E => "Log",
            LogBase::Two => "Log2",
            LogBase::Ten => "Log10",
        }
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, spec) = (&inputs[0], &outputs[0]);
        match self.base {
            LogBase::E => float_unary_slices(
                "log",
                x,
                spec,
                vmath::log_f32,
                f64::ln,
                Some(|c: C64| c.ln()),
            ),
            LogBase::Two => float_unary(
                "log2",
                x,
                spec,
                f32::log2,
                f64::log2,
                Some(|c: C64| c.log2()),
            ),
            LogBase::Ten => float_unary(
                "log10",
                x,
                spec,
                f32::log10,
                f64::log10,
                Some(|c: C64| c.log10()),
            ),
        }
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        // `cotangent / conj(x ln b)`: the conjugate derivative, as MLX (a no-op for reals).
        Ok(vec![crate::ops::divide(
            &cotangents[0],
            &crate::ops::conjugate(&self.scaled_input(&primals[0])?)?,
        )?])
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::divide(
            &tangents[0],
            &self.scaled_input(&primals[0])?,
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let out = Array::from_op(
            x.shape().to_vec(),
            outputs[0].dtype,
            Log { base: self.base },
            vec![x.clone()],
        );
        Ok((vec![out], axes.to_vec()))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// A rounding primitive: identity on integers and bool (which share their buffer), `$method`
/// of [`UnaryNum`] on floats and (per part) on complex.
macro_rules! rounding_primitive {
    ($(#[$doc:meta])* $T:ident, $name:literal, $method:ident) => {
        unary_primitive!($(#[$doc])* $T, $name, |x, spec| {
            if !x.dtype().is_inexact() {
                return share(x);
            }
            let d = crate::dispatch_numeric!(x.dtype(), T => elementwise::unary::<T, T>(x, spec, UnaryNum::$method),
                bool => unreachable!("bool shares its buffer above"))?;
            Ok(vec![d])
        }, rules { zero_derivative_rules!(); unary_vmap_rule!($T); });
    };
}
rounding_primitive!(
    /// `floor` (identity on integers and bool).
    Floor, "Floor", floor
);
rounding_primitive!(
    /// `ceil` (identity on integers and bool).
    Ceil, "Ceil", ceil
);
rounding_primitive!(
    /// `trunc`: rounds towards zero (identity on integers and bool).
    Trunc, "Trunc", trunc
);
rounding_primitive!(
    /// `round` to the nearest integer, halves to even (per part for complex; identity on
    /// integers and bool).
    Round, "Round", round_even
);

/// Runs a bool-valued test over an inexact input.
fn classify(x: &Array, spec: &OutputSpec, name: &str, f: fn(Inexact) -> bool) -> Result<Vec<Data>> {
    let d = match x.dtype() {
        Dtype::Float32 => elementwise::unary::<f32, bool>(x, spec, move |v| f(Inexact::F32(v))),
        Dtype::Float64 => elementwise::unary::<f64, bool>(x, spec, move |v| f(Inexact::F64(v))),
        Dtype::Float16 => {
            elementwise::unary::<f16, bool>(x, spec, move |v| f(Inexact::F32(v.to_f32())))
        }
        Dtype::Bfloat16 => {
            elementwise::unary::<bf16, bool>(x, spec, move |v| f(Inexact::F32(v.to_f32())))
        }
        Dtype::Complex64 => elementwise::unary::<C64, bool>(x, spec, move |v| f(Inexact::C(v))),
        other => Err(Error::value(format!("[{name}] Not supported for {other}."))),
    }?;
    Ok(vec![d])
}

/// An inexact value of any width, for the classification kernels (half precision widens
/// exactly to f32).
#[derive(Copy, Clone)]
pub(crate) enum Inexact {
    F32(f32),
    F64(f64),
    C(C64),
}

impl Inexact {
    #[inline(always)]
    fn test(self, f32f: fn(f32) -> bool, f64f: fn(f64) -> bool, cf: fn(C64) -> bool) -> bool {
        match self {
            Inexact::F32(v) => f32f(v),
            Inexact::F64(v) => f64f(v),
            Inexact::C(v) => cf(v),
        }
    }
}

macro_rules! class_primitive {
    ($(#[$doc:meta])* $T:ident, $name:literal, $op:literal, $method:ident) => {
        unary_primitive!($(#[$doc])* $T, $name, |x, spec| classify(x, spec, $op,
            |v| v.test(FloatClass::$method, FloatClass::$method, FloatClass::$method)),
            rules { zero_tangent_rules!(); unary_vmap_rule!($T); });
    };
}
class_primitive!(
    /// `isnan` of an inexact input (complex: either part NaN).
    IsNan, "IsNan", "isnan", is_nan_
);
class_primitive!(
    /// `isinf` of an inexact input (complex: either part infinite).
    IsInf, "IsInf", "isinf", is_inf_
);
class_primitive!(
    /// `isposinf` of an inexact input (complex: exactly `inf + 0j`).
    IsPosInf, "IsPosInf", "isposinf", is_pos_inf
);
class_primitive!(
    /// `isneginf` of an inexact input (complex: exactly `-inf + 0j`).
    IsNegInf, "IsNegInf", "isneginf", is_neg_inf
);

unary_primitive!(
    /// `isfinite` of an inexact input: neither infinite nor NaN.
    IsFinite, "IsFinite", |x, spec| classify(x, spec, "isfinite",
        |v| v.test(|a| a.is_finite(), |a| a.is_finite(), |c| !c.is_nan_() && !c.is_inf_())),
    rules { zero_tangent_rules!(); unary_vmap_rule!(IsFinite); }
);

unary_primitive!(
    /// `logical_not` of a bool input (the op casts first).
    LogicalNot, "LogicalNot", |x, spec| Ok(vec![elementwise::unary::<bool, bool>(x, spec, |v| !v)?]),
    rules { zero_tangent_rules!(); unary_vmap_rule!(LogicalNot); }
);

unary_primitive!(
    /// `bitwise_invert` of an integer input.
    BitwiseInvert, "BitwiseInvert", |x, spec| {
        macro_rules! inv {
            ($($D:ident => $t:ty),*) => {
                match x.dtype() {
                    $(Dtype::$D => elementwise::unary::<$t, $t>(x, spec, |v| !v),)*
                    other => Err(Error::value(format!(
                        "[bitwise_invert] Bitwise inverse only allowed on integer types, got {other}."))),
                }
            };
        }
        let d = inv!(Bool => bool, Uint8 => u8, Uint16 => u16, Uint32 => u32, Uint64 => u64,
            Int8 => i8, Int16 => i16, Int32 => i32, Int64 => i64)?;
        Ok(vec![d])
    },
    rules { unary_vmap_rule!(BitwiseInvert); }
);

unary_primitive!(
    /// `real` of a complex64 input (float32).
    Real, "Real", |x, spec| Ok(vec![elementwise::unary::<C64, f32>(x, spec, |c| c.re)?]),
    rules {
        unary_vmap_rule!(Real);
        // MLX's rules: the cotangent as the input's dtype; the real part of the tangent.
        fn vjp(&self, primals: &[Array], cotangents: &[Array], _argnums: &[usize], _outputs: &[Array]) -> Result<Vec<Array>> {
            let (x, c) = (&primals[0], &cotangents[0]);
            let _ = x;
            Ok(vec![crate::ops::astype(c, x.dtype())?])
        }
        fn jvp(&self, _primals: &[Array], tangents: &[Array], _argnums: &[usize], _outputs: &[Array]) -> Result<Vec<Array>> {
            Ok(vec![crate::ops::real(&tangents[0])?])
        }
    }
);
unary_primitive!(
    /// `imag` of a complex64 input (float32).
    Imag, "Imag", |x, spec| Ok(vec![elementwise::unary::<C64, f32>(x, spec, |c| c.im)?]),
    rules {
        unary_vmap_rule!(Imag);
        // MLX's rules: i times the cotangent; the imaginary part of the tangent.
        fn vjp(&self, primals: &[Array], cotangents: &[Array], _argnums: &[usize], _outputs: &[Array]) -> Result<Vec<Array>> {
            let (x, c) = (&primals[0], &cotangents[0]);
            let _ = x;
            Ok(vec![crate::ops::multiply(Array::scalar(C64::new(0.0, 1.0)).astype(x.dtype())?, c)?])
        }
        fn jvp(&self, _primals: &[Array], tangents: &[Array], _argnums: &[usize], _outputs: &[Array]) -> Result<Vec<Array>> {
            Ok(vec![crate::ops::imag(&tangents[0])?])
        }
    }
);
unary_primitive!(
    /// `conjugate` of a complex64 input.
    Conjugate, "Conjugate", |x, spec| Ok(vec![elementwise::unary::<C64, C64>(x, spec, |c| c.conj())?]),
    rules {
        unary_vmap_rule!(Conjugate);
        fn vjp(&self, primals: &[Array], cotangents: &[Array], _argnums: &[usize], _outputs: &[Array]) -> Result<Vec<Array>> {
            let (x, c) = (&primals[0], &cotangents[0]);
            let _ = x;
            Ok(vec![crate::ops::conjugate(c)?])
        }
        fn jvp(&self, _primals: &[Array], tangents: &[Array], _argnums: &[usize], _outputs: &[Array]) -> Result<Vec<Array>> {
            Ok(vec![crate::ops::conjugate(&tangents[0])?])
        }
    }
);
unary_primitive!(
    /// `stop_gradient`: the identity (shares the input's buffer); blocks gradients.
    StopGradient, "StopGradient", |x, _spec| share(x),
    rules {
        fn jvp(
            &self,
            primals: &[Array],
            _tangents: &[Array],
            _argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![crate::ops::zeros_like(&primals[0])?])
        }
        unary_vmap_rule!(StopGradient);
    }
);

/// Where `nan_to_num` replaces `x`: NaN, `+inf` and `-inf` (for complex, `±inf + 0j`).
fn nan_to_num_replaced(x: &Array) -> Result<Array> {
    let inf = crate::ops::logical_or(
        &crate::ops::equal(x, f64::INFINITY)?,
        &crate::ops::equal(x, f64::NEG_INFINITY)?,
    )?;
    crate::ops::logical_or(&crate::ops::isnan(x)?, &inf)
}

/// `nan_to_num`: NaN, `+inf` and `-inf` replaced by the given values (converted to the
/// input's dtype).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct NanToNum {
    pub(crate) nan: f32,
    pub(crate) posinf: f32,
    pub(crate) neginf: f32,
}

impl Primitive for NanToNum {
    fn is_elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "NanToNum"
    }
    // MLX's nan_to_num is a chain of wheres: the derivative is 1 where the input is kept and
    // 0 where it is replaced.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::r#where(
            &nan_to_num_replaced(&primals[0])?,
            0,
            &cotangents[0],
        )?])
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::r#where(
            &nan_to_num_replaced(&primals[0])?,
            0,
            &tangents[0],
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let p = NanToNum {
            nan: self.nan,
            posinf: self.posinf,
            neginf: self.neginf,
        };
        Ok((
            vec![Array::from_op(
                x.shape().to_vec(),
                outputs[0].dtype,
                p,
                vec![x.clone()],
            )],
            axes.to_vec(),
        ))
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, spec) = (&inputs[0], &outputs[0]);
        fn run<T: FloatClass + crate::element::Element>(
            x: &Array,
            spec: &OutputSpec,
            p: &NanToNum,
        ) -> Result<Data> {
            let (n, pi, ni) = (
                T::from_param(p.nan),
                T::from_param(p.posinf),
                T::from_param(p.neginf),
            );
            elementwise::unary::<T, T>(x, spec, move |v| {
                crate::cpu::unary::nan_to_num(v, n, pi, ni)
            })
        }
        let d = match x.dtype() {
            Dtype::Float32 => run::<f32>(x, spec, self),
            Dtype::Float64 => run::<f64>(x, spec, self),
            Dtype::Float16 => run::<f16>(x, spec, self),
            Dtype::Bfloat16 => run::<bf16>(x, spec, self),
            Dtype::Complex64 => run::<C64>(x, spec, self),
            other => Err(Error::value(format!(
                "[nan_to_num] Not supported for {other}."
            ))),
        }?;
        Ok(vec![d])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<NanToNum>().is_some_and(|o| {
            (o.nan.to_bits(), o.posinf.to_bits(), o.neginf.to_bits())
                == (
                    self.nan.to_bits(),
                    self.posinf.to_bits(),
                    self.neginf.to_bits(),
                )
        })
    }
}
