//! Unary elementwise ops against MLX: every op over all 14 dtypes, special values, rounding
//! with decimals, nan_to_num options, 0-d, empty and non-contiguous inputs.

use crate::common::*;
use rmlx_core as mx;

#[test]
fn unary_matches_mlx() {
    check_family("unary", |op, ins, kw| {
        let x = ins[0].clone();
        let out = match op {
            "abs" => mx::abs(x),
            "sign" => mx::sign(x),
            "negative" => mx::negative(x),
            "positive" => mx::positive(x),
            "square" => mx::square(x),
            "sqrt" => mx::sqrt(x),
            "rsqrt" => mx::rsqrt(x),
            "reciprocal" => mx::reciprocal(x),
            "exp" => mx::exp(x),
            "expm1" => mx::expm1(x),
            "log" => mx::log(x),
            "log2" => mx::log2(x),
            "log10" => mx::log10(x),
            "log1p" => mx::log1p(x),
            "sin" => mx::sin(x),
            "cos" => mx::cos(x),
            "tan" => mx::tan(x),
            "arcsin" => mx::arcsin(x),
            "asin" => mx::asin(x),
            "arccos" => mx::arccos(x),
            "acos" => mx::acos(x),
            "arctan" => mx::arctan(x),
            "atan" => mx::atan(x),
            "sinh" => mx::sinh(x),
            "cosh" => mx::cosh(x),
            "tanh" => mx::tanh(x),
            "arcsinh" => mx::arcsinh(x),
            "asinh" => mx::asinh(x),
            "arccosh" => mx::arccosh(x),
            "acosh" => mx::acosh(x),
            "arctanh" => mx::arctanh(x),
            "atanh" => mx::atanh(x),
            "floor" => mx::floor(x),
            "ceil" => mx::ceil(x),
            "trunc" => mx::trunc(x),
            "round" => mx::round_decimals(x, kw_i64(kw, "decimals").unwrap_or(0) as i32),
            "sigmoid" => mx::sigmoid(x),
            "erf" => mx::erf(x),
            "erfinv" => mx::erfinv(x),
            "isnan" => mx::isnan(x),
            "isinf" => mx::isinf(x),
            "isfinite" => mx::isfinite(x),
            "isposinf" => mx::isposinf(x),
            "isneginf" => mx::isneginf(x),
            "logical_not" => mx::logical_not(x),
            "bitwise_invert" => mx::bitwise_invert(x),
            "real" => mx::real(x),
            "imag" => mx::imag(x),
            "conj" => mx::conj(x),
            "conjugate" => mx::conjugate(x),
            "degrees" => mx::degrees(x),
            "radians" => mx::radians(x),
            "nan_to_num" => mx::nan_to_num_with(
                x,
                kw_f64(kw, "nan").unwrap_or(0.0) as f32,
                kw_f64(kw, "posinf").map(|v| v as f32),
                kw_f64(kw, "neginf").map(|v| v as f32),
            ),
            "stop_gradient" => mx::stop_gradient(x),
            _ => panic!("unknown op {op}"),
        }?;
        Ok(vec![out])
    });
}
