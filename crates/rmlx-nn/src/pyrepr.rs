//! Python's `repr` of floats, tuples and booleans: MLX prints layers and words errors with
//! them (`LayerNorm(4, eps=1e-05, affine=True)`, `shape (2, 3)`), and rmlx prints the same.
//!
//! ```
//! use rmlx_nn::pyrepr::{py_bool, py_float, py_shape};
//! assert_eq!(py_float(1e-5), "1e-05");
//! assert_eq!(py_float(2.0), "2.0");
//! assert_eq!(py_shape(&[3]), "(3,)");
//! assert_eq!(py_bool(true), "True");
//! ```

/// A float as Python's `repr` prints it: the shortest digits that read back, `1e-05`,
/// `0.1`, `2.0`, `1e+16`.
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            let mut d = digits.clone();
            while d.len() < int_len {
                d.push('0');
            }
            let (int, frac) = d.split_at(int_len);
            format!("{int}.{}", if frac.is_empty() { "0" } else { frac })
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{frac}e{esign}{:02}", exp.abs())
    };
    format!("{sign}{body}")
}

/// A shape as Python prints a tuple: `(2, 3)`, `(3,)`, `()`.
pub fn py_shape(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A boolean as Python prints it: `True`, `False`.
pub fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}
