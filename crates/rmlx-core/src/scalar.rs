//! Rust scalars as operands: MLX's "weak" Python scalars.
//!
//! A scalar takes the dtype of the array it meets when it can (`x_f16 * 2.0` stays float16,
//! `x_i8 + 3` stays int8); an integer that does not fit that dtype is an error, as in MLX.

use crate::array::Array;
use crate::dtype::Dtype;
use crate::element::{C64, Element};
use crate::error::{Error, Result};

/// A scalar value without a fixed dtype.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i128),
    Float(f64),
    Complex(C64),
}

impl Scalar {
    /// The dtype a lone scalar gets (`mx.array(3)`): bool, int32 (int64 if it needs it),
    /// float32, complex64.
    pub fn default_dtype(&self) -> Result<Dtype> {
        Ok(match *self {
            Scalar::Bool(_) => Dtype::Bool,
            Scalar::Int(v) if i32::try_from(v).is_ok() => Dtype::Int32,
            Scalar::Int(v) if i64::try_from(v).is_ok() => Dtype::Int64,
            Scalar::Int(v) => return Err(too_big(v)),
            Scalar::Float(_) => Dtype::Float32,
            Scalar::Complex(_) => Dtype::Complex64,
        })
    }

    /// The dtype this scalar takes next to an array of dtype `other` (MLX's weak typing).
    pub fn weak_dtype(&self, other: Dtype) -> Dtype {
        match *self {
            Scalar::Bool(_) => other,
            Scalar::Int(_) => {
                if other == Dtype::Bool {
                    Dtype::Int32
                } else {
                    other
                }
            }
            Scalar::Float(_) => {
                if other.is_inexact() {
                    other
                } else {
                    Dtype::Float32
                }
            }
            Scalar::Complex(_) => Dtype::Complex64,
        }
    }

    /// A 0-D array of this value in `dtype`. Integers that do not fit an integer dtype are an
    /// error (uint64, int64 and the bool-to-int32 promotion wrap, as in MLX).
    pub fn to_array(&self, dtype: Dtype) -> Result<Array> {
        if let Scalar::Int(v) = *self {
            if dtype.is_integer() && !matches!(dtype, Dtype::Uint64 | Dtype::Int64) {
                let info = crate::dtype::iinfo(dtype)?;
                if v < info.min || v > info.max {
                    return Err(Error::value(format!(
                        "Converting {v} to {dtype} would result in overflow."
                    )));
                }
            }
            if i64::try_from(v).is_err() {
                return Err(too_big(v));
            }
        }
        Ok(crate::dispatch_dtype!(dtype, T => Array::scalar(self.cast::<T>())))
    }

    /// A 0-D array of this scalar as MLX converts a Python scalar next to an array of dtype
    /// `dtype` (or alone, with `None`): the weak-typing rule of binary ops and of `full`.
    ///
    /// - bool: `dtype` (bool alone);
    /// - int: `dtype` (int32, or int64 if it needs it, alone), but int32 when `dtype` is bool (the
    ///   value wraps), and an error when `dtype` is an integer narrower than 64 bits that cannot
    ///   hold it (uint64 and int64 wrap: `uint64 + -1` is `2^64 - 1`); outside int64 is an error;
    /// - float: `dtype` when floating, else float32;
    /// - complex: complex64.
    ///
    /// ```
    /// use rmlx_core as mx;
    /// let s = mx::Scalar::Int(300);
    /// assert_eq!(s.to_weak_array(Some(mx::float16))?.dtype(), mx::float16);
    /// assert_eq!(s.to_weak_array(Some(mx::bool_))?.dtype(), mx::int32);
    /// assert!(s.to_weak_array(Some(mx::uint8)).is_err());
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn to_weak_array(&self, dtype: Option<Dtype>) -> Result<Array> {
        match *self {
            Scalar::Bool(_) => self.to_array(dtype.unwrap_or(Dtype::Bool)),
            Scalar::Int(v) => {
                let out = match dtype {
                    Some(d) => d,
                    None => self.default_dtype()?,
                };
                if i64::try_from(v).is_err() {
                    return Err(too_big(v));
                }
                if out == Dtype::Bool {
                    // bool is always promoted to int32, and the value wraps there.
                    return Ok(Array::scalar(v as i32));
                }
                self.to_array(out)
            }
            // Half types round through f32 as every cast to them does (element.rs).
            Scalar::Float(_) => match dtype {
                Some(d) if d.is_floating() => self.to_array(d),
                _ => self.to_array(Dtype::Float32),
            },
            Scalar::Complex(_) => self.to_array(Dtype::Complex64),
        }
    }

    /// The value converted to an element type.
    pub fn cast<T: Element>(&self) -> T {
        match *self {
            Scalar::Bool(b) => T::from_i128(b as i128),
            Scalar::Int(v) => T::from_i128(v),
            Scalar::Float(v) => T::from_f64(v),
            Scalar::Complex(c) => T::from_c64(c),
        }
    }
}

/// Something an op accepts as an array argument: an [`Array`] (owned or borrowed) or a Rust
/// scalar, which is weakly typed as MLX's Python scalars are.
pub trait ArrayLike {
    /// The operand.
    fn into_operand(self) -> Operand;
}

/// An array argument after conversion: an array, or a scalar waiting to learn its dtype.
#[derive(Clone, Debug)]
pub enum Operand {
    Array(Array),
    Scalar(Scalar),
}

impl Operand {
    /// The array, giving a lone scalar its default dtype.
    pub fn into_array(self) -> Result<Array> {
        match self {
            Operand::Array(a) => Ok(a),
            Operand::Scalar(s) => s.to_array(s.default_dtype()?),
        }
    }
    /// The array, giving a scalar the dtype `dtype`.
    pub fn into_array_as(self, dtype: Dtype) -> Result<Array> {
        match self {
            Operand::Array(a) => Ok(a),
            Operand::Scalar(s) => s.to_array(dtype),
        }
    }
}

impl ArrayLike for Array {
    fn into_operand(self) -> Operand {
        Operand::Array(self)
    }
}
impl ArrayLike for &Array {
    fn into_operand(self) -> Operand {
        Operand::Array(self.clone())
    }
}
impl ArrayLike for &&Array {
    fn into_operand(self) -> Operand {
        Operand::Array((*self).clone())
    }
}
impl ArrayLike for Operand {
    fn into_operand(self) -> Operand {
        self
    }
}
impl ArrayLike for Scalar {
    fn into_operand(self) -> Operand {
        Operand::Scalar(self)
    }
}
impl ArrayLike for bool {
    fn into_operand(self) -> Operand {
        Operand::Scalar(Scalar::Bool(self))
    }
}
macro_rules! int_like {
    ($($t:ty),*) => {$(
        impl ArrayLike for $t {
            fn into_operand(self) -> Operand {
                Operand::Scalar(Scalar::Int(self as i128))
            }
        }
    )*};
}
int_like!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
impl ArrayLike for f32 {
    fn into_operand(self) -> Operand {
        Operand::Scalar(Scalar::Float(self as f64))
    }
}
impl ArrayLike for f64 {
    fn into_operand(self) -> Operand {
        Operand::Scalar(Scalar::Float(self))
    }
}
impl ArrayLike for C64 {
    fn into_operand(self) -> Operand {
        Operand::Scalar(Scalar::Complex(self))
    }
}

/// The error for an integer outside int64 (MLX's Python binding raises RuntimeError there).
fn too_big(v: i128) -> Error {
    Error::runtime(format!(
        "Integer {v} does not fit in a 64-bit signed integer."
    ))
}

/// The two operands as arrays, each keeping its own dtype: a scalar next to an array is
/// converted with [`Scalar::to_weak_array`] for that array's dtype, a scalar next to a scalar
/// gets its default dtype.
pub(crate) fn weak_pair(a: Operand, b: Operand) -> Result<(Array, Array)> {
    Ok(match (a, b) {
        (Operand::Array(x), Operand::Array(y)) => (x, y),
        (Operand::Array(x), Operand::Scalar(s)) => {
            let y = s.to_weak_array(Some(x.dtype()))?;
            (x, y)
        }
        (Operand::Scalar(s), Operand::Array(y)) => (s.to_weak_array(Some(y.dtype()))?, y),
        (Operand::Scalar(s), Operand::Scalar(t)) => {
            (s.to_weak_array(None)?, t.to_weak_array(None)?)
        }
    })
}

/// Turns two operands into arrays of one promoted dtype, applying MLX's weak-scalar rules
/// ([`weak_pair`]), then promoting both as arrays do.
pub(crate) fn promote_pair(a: Operand, b: Operand) -> Result<(Array, Array)> {
    let (a, b) = weak_pair(a, b)?;
    let ts = crate::dtype::promote_types(a.dtype(), b.dtype());
    Ok((crate::ops::astype(&a, ts)?, crate::ops::astype(&b, ts)?))
}
