//! Printing arrays the way MLX does: `array([[1, 2],\n       [3, 4]], dtype=int32)`.

use crate::array::Array;
use crate::dtype::Dtype;
use crate::element::{C64, Element};
use std::fmt;
use std::sync::Mutex;

/// Print options (`mx.set_printoptions`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PrintOptions {
    /// Significant digits of floats (C++ stream precision); MLX's default is 6.
    pub precision: usize,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions { precision: 6 }
    }
}

static OPTIONS: Mutex<PrintOptions> = Mutex::new(PrintOptions { precision: 6 });

/// The current print options.
pub fn get_printoptions() -> PrintOptions {
    *OPTIONS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets the print options.
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

/// Formats a float as C++'s `ostream << x` with `precision` significant digits (`%g`).
pub(crate) fn format_g(x: f64, precision: usize) -> String {
    if x.is_nan() {
        return "nan".into();
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
    let sci = format!("{:.*e}", p - 1, x);
    let (mant, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("integer exponent");
    if exp < -4 || exp >= p as i32 {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
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

fn format_element<T: Element>(x: T, precision: usize) -> String {
    match T::DTYPE {
        Dtype::Bool => {
            if x.to_i128() != 0 {
                "True".into()
            } else {
                "False".into()
            }
        }
        Dtype::Complex64 => {
            let c: C64 = x.to_c64();
            let re = format_g(c.re as f64, precision);
            let im = format_g(c.im as f64, precision);
            if c.im.is_sign_negative() && !c.im.is_nan() {
                format!("{re}{im}j")
            } else {
                format!("{re}+{im}j")
            }
        }
        d if d.is_floating() => format_g(x.to_f64(), precision),
        _ => x.to_i128().to_string(),
    }
}

fn write_nested(out: &mut String, shape: &[usize], vals: &[String], indent: usize) {
    if shape.is_empty() {
        out.push_str(&vals[0]);
        return;
    }
    out.push('[');
    let n = shape[0];
    let inner: usize = shape[1..].iter().product();
    for i in 0..n {
        if i > 0 {
            if shape.len() == 1 {
                out.push_str(", ");
            } else {
                out.push_str(",\n");
                out.push_str(&" ".repeat(indent + 1));
            }
        }
        write_nested(
            out,
            &shape[1..],
            &vals[i * inner..(i + 1) * inner],
            indent + 1,
        );
    }
    out.push(']');
}

impl fmt::Display for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = get_printoptions().precision;
        let vals: Result<Vec<String>, crate::Error> = crate::dispatch_dtype!(self.dtype(), T => {
            self.to_vec::<T>().map(|v| v.into_iter().map(|x| format_element(x, precision)).collect())
        });
        let vals = match vals {
            Ok(v) => v,
            Err(e) => return write!(f, "array(<error: {e}>, dtype={})", self.dtype()),
        };
        let mut body = String::new();
        if self.size() == 0 && self.ndim() > 0 {
            // MLX prints one pair of brackets per level down to the empty one.
            body.push_str(&"[".repeat(self.ndim()));
            body.push_str(&"]".repeat(self.ndim()));
        } else {
            write_nested(&mut body, self.shape(), &vals, 6);
        }
        write!(f, "array({body}, dtype={})", self.dtype())
    }
}

#[cfg(test)]
mod tests {
    use super::format_g;
    #[test]
    fn g_format() {
        assert_eq!(format_g(1.5, 6), "1.5");
        assert_eq!(format_g(2.0, 6), "2");
        assert_eq!(format_g(1e-8, 6), "1e-08");
        assert_eq!(format_g(1e8, 6), "1e+08");
        assert_eq!(format_g(1.0 / 3.0, 6), "0.333333");
        assert_eq!(format_g(123456.0, 6), "123456");
        assert_eq!(format_g(1234567.0, 6), "1.23457e+06");
    }
}
