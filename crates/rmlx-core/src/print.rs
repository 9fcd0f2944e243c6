//! Printing arrays exactly as MLX's `repr(array)` does:
//!
//! ```text
//! array([[0, 1, 2, ..., 7, 8, 9],
//!        [10, 11, 12, ..., 17, 18, 19],
//!        ...,
//!        [90, 91, 92, ..., 97, 98, 99]], dtype=int32)
//! ```
//!
//! The rules (MLX 0.32.4; `str(a)` and `repr(a)` are the same text, so `Display` and `Debug`
//! print the same):
//! - every axis longer than 6 shows its first 3 and last 3 entries around `...`;
//! - rows of axis `d` (all but the last) are separated by `",\n"` and `7 + d` spaces; there is no
//!   column alignment and no blank line between blocks;
//! - bools print `True`/`False`, integers in full (uint64 above 2^63 too);
//! - floats (float16 and bfloat16 through float32) print as C++'s `ostream << x`: six
//!   significant digits in `%g` style (`1`, `0.1`, `1e-08`, `1.23457e+08`, `-0`, `nan`, `-nan`,
//!   `inf`); with a precision set by [`set_printoptions`], fixed notation with that many
//!   decimals (`%.Nf`; a negative precision other than -1 means 6);
//! - complex64 prints `re+imj`, or `re-|im|j` when the imaginary part is below zero (so `-0.0`
//!   prints as `+-0j` and a negative NaN as `+-nanj`).
//! - an empty axis prints `[]`, nested as far as the shape goes before it.

use crate::array::Array;
use crate::element::{Element, ElementKind};
use std::fmt::{self, Write as _};
use std::sync::Mutex;

/// Print options (`mx.set_printoptions`, `mx.get_printoptions`, `mx.printoptions`).
///
/// `precision` is MLX's: `-1` (the default) prints floats with six significant digits; a value
/// `>= 0` prints them in fixed notation with that many decimals.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PrintOptions {
    /// Decimals of floats in fixed notation, or `-1` for MLX's default `%g` style.
    pub precision: i32,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions { precision: -1 }
    }
}

static OPTIONS: Mutex<PrintOptions> = Mutex::new(PrintOptions { precision: -1 });

/// The current (process-wide) print options (`mx.get_printoptions()`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::PrintOptions::default().precision, -1);
/// let _p = mx::get_printoptions().precision;
/// ```
pub fn get_printoptions() -> PrintOptions {
    *OPTIONS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets the process-wide print options (`mx.set_printoptions(precision=...)`); pass
/// `PrintOptions::default()` to go back to MLX's default.
///
/// ```
/// use rmlx_core as mx;
/// let old = mx::get_printoptions();
/// mx::set_printoptions(mx::PrintOptions { precision: 3 });
/// assert_eq!(mx::Array::scalar(1.0f32 / 3.0).to_string(), "array(0.333, dtype=float32)");
/// mx::set_printoptions(old);
/// ```
pub fn set_printoptions(options: PrintOptions) {
    *OPTIONS.lock().unwrap_or_else(|e| e.into_inner()) = options;
}

/// Sets print options until the returned guard drops (`with mx.printoptions(precision=...):`).
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::Array::scalar(0.5f32);
/// {
///     let _g = mx::printoptions(mx::PrintOptions { precision: 2 });
///     assert_eq!(x.to_string(), "array(0.50, dtype=float32)");
/// }
/// assert_eq!(x.to_string(), "array(0.5, dtype=float32)");
/// ```
pub fn printoptions(options: PrintOptions) -> PrintOptionsGuard {
    let mut current = OPTIONS.lock().unwrap_or_else(|e| e.into_inner());
    let previous = *current;
    *current = options;
    PrintOptionsGuard { previous }
}

/// Restores the print options that were in force before [`printoptions`] when dropped.
#[must_use = "the options are restored as soon as the guard drops"]
pub struct PrintOptionsGuard {
    previous: PrintOptions,
}

impl Drop for PrintOptionsGuard {
    fn drop(&mut self) {
        set_printoptions(self.previous);
    }
}

/// Entries shown at each end of an axis that is summarised.
const EDGE_ITEMS: usize = 3;

/// Writes a float as MLX does: `%g` with 6 digits for precision -1, else `%.{p}f` (6 if p < 0).
fn write_float(out: &mut String, x: f64, precision: i32) {
    if x.is_nan() {
        out.push_str(if x.is_sign_negative() { "-nan" } else { "nan" });
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
    } else if precision == -1 {
        out.push_str(&format_g(x, 6));
    } else {
        let p = if precision < 0 { 6 } else { precision as usize };
        let _ = write!(out, "{:.*}", p, x);
    }
}

/// Formats a finite or special float as C's `%.{precision}g` (C++'s default `ostream << x`).
pub(crate) fn format_g(x: f64, precision: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let p = precision.max(1);
    // Rounding to p significant digits first decides the exponent (999999.5 -> 1e+06).
    let sci = format!("{:.*e}", p - 1, x);
    let (mant, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("integer exponent");
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim_zeros(mant), exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, x)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Writes one element as MLX prints it.
fn write_element<T: Element>(out: &mut String, x: T, precision: i32) {
    match T::KIND {
        ElementKind::Bool => out.push_str(if x.to_i128() != 0 { "True" } else { "False" }),
        ElementKind::Int => {
            let _ = write!(out, "{}", x.to_i128());
        }
        ElementKind::Float => write_float(out, x.to_f64(), precision),
        ElementKind::Complex => {
            let c = x.to_c64();
            write_float(out, c.re as f64, precision);
            // As MLX: `+` unless the imaginary part compares below zero (-0.0 and NaN take `+`).
            if c.im >= 0.0 || c.im.is_nan() {
                out.push('+');
                write_float(out, c.im as f64, precision);
            } else {
                out.push('-');
                write_float(out, -c.im as f64, precision);
            }
            out.push('j');
        }
    }
}

/// Writes the bracketed rows of axis `dim` and below, starting at element offset `offset`.
fn write_axis<T: Element>(
    out: &mut String,
    src: &[T],
    shape: &[usize],
    strides: &[isize],
    dim: usize,
    offset: isize,
    precision: i32,
) {
    let n = shape[dim];
    let last = dim + 1 == shape.len();
    out.push('[');
    let mut i = 0;
    while i < n {
        if i > 0 && !last {
            out.extend(std::iter::repeat_n(' ', 7 + dim));
        }
        if i == EDGE_ITEMS && n > 2 * EDGE_ITEMS {
            out.push_str("...");
            i = n - EDGE_ITEMS - 1;
        } else {
            let o = offset + i as isize * strides[dim];
            if last {
                write_element(out, src[o as usize], precision);
            } else {
                write_axis(out, src, shape, strides, dim + 1, o, precision);
            }
        }
        if i + 1 != n {
            out.push_str(if last { ", " } else { ",\n" });
        }
        i += 1;
    }
    out.push(']');
}

/// The text of `a` under `options`, or the error that evaluating it raised.
fn render(a: &Array, options: PrintOptions) -> crate::Result<String> {
    let data = a.data()?;
    let mut out = String::from("array(");
    crate::dispatch_dtype!(a.dtype(), T => {
        let src = data.elements::<T>();
        if a.ndim() == 0 {
            write_element(&mut out, src[data.offset], options.precision);
        } else {
            write_axis(&mut out, src, a.shape(), &data.strides, 0, data.offset as isize, options.precision);
        }
    });
    let _ = write!(out, ", dtype={})", a.dtype());
    Ok(out)
}

/// Prints as MLX's `repr(a)` (evaluating the array first); an array whose evaluation fails
/// prints `array(<error: ...>, dtype=...)`.
impl fmt::Display for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match render(self, get_printoptions()) {
            Ok(s) => f.write_str(&s),
            Err(e) => write!(f, "array(<error: {e}>, dtype={})", self.dtype()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dtype;

    fn text(a: &Array, precision: i32) -> String {
        render(a, PrintOptions { precision }).unwrap()
    }

    #[test]
    fn g_format() {
        assert_eq!(format_g(1.5, 6), "1.5");
        assert_eq!(format_g(2.0, 6), "2");
        assert_eq!(format_g(1e-8, 6), "1e-08");
        assert_eq!(format_g(1e8, 6), "1e+08");
        assert_eq!(format_g(1.0 / 3.0, 6), "0.333333");
        assert_eq!(format_g(123456.0, 6), "123456");
        assert_eq!(format_g(1234567.0, 6), "1.23457e+06");
        assert_eq!(format_g(999999.5, 6), "1e+06");
        assert_eq!(format_g(1234565.0, 6), "1.23456e+06"); // exact tie: to even, as glibc
        assert_eq!(format_g(1e300, 6), "1e+300");
    }

    #[test]
    fn layout_and_summaries() {
        let a = crate::arange(0, 100, 1).unwrap().reshape([10, 10]).unwrap();
        let want = "array([[0, 1, 2, ..., 7, 8, 9],\n       [10, 11, 12, ..., 17, 18, 19],\n       \
                    [20, 21, 22, ..., 27, 28, 29],\n       ...,\n       [70, 71, 72, ..., 77, 78, 79],\n       \
                    [80, 81, 82, ..., 87, 88, 89],\n       [90, 91, 92, ..., 97, 98, 99]], dtype=int32)";
        assert_eq!(text(&a, -1), want);
        let e = crate::zeros([2, 0, 3], Dtype::Float32).unwrap();
        assert_eq!(text(&e, -1), "array([[],\n       []], dtype=float32)");
        assert_eq!(
            text(&crate::zeros([0, 3], Dtype::Int8).unwrap(), -1),
            "array([], dtype=int8)"
        );
    }

    #[test]
    fn special_values() {
        let c = Array::from_vec(vec![crate::C64::new(1.0, -2.0), crate::C64::new(0.0, -0.0)]);
        assert_eq!(text(&c, -1), "array([1-2j, 0+-0j], dtype=complex64)");
        let f = Array::from_vec(vec![-f32::NAN, f32::INFINITY, -0.0, 0.125]);
        assert_eq!(text(&f, -1), "array([-nan, inf, -0, 0.125], dtype=float32)");
        assert_eq!(
            text(&f, 2),
            "array([-nan, inf, -0.00, 0.12], dtype=float32)"
        );
        assert_eq!(
            text(&f, -3),
            "array([-nan, inf, -0.000000, 0.125000], dtype=float32)"
        );
        let b = Array::from_vec(vec![true, false]);
        assert_eq!(text(&b, -1), "array([True, False], dtype=bool)");
        assert_eq!(
            text(&Array::scalar(u64::MAX), -1),
            "array(18446744073709551615, dtype=uint64)"
        );
    }
}
