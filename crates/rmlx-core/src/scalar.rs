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
            Scalar::Int(v) => {
                return Err(Error::value(format!("Integer {v} does not fit in a 64-bit integer.")));
            }
            Scalar::Float(_) => Dtype::Float32,
            Scalar::Complex(_) => Dtype::Complex64,
        })
    }

    /// The dtype this scalar takes next to an array of dtype `other` (MLX's weak typing).
    pub fn weak_dtype(&self, other: Dtype) -> Dtype {
        match *self {
            Scalar::Bool(_) => other,
            Scalar::Int(_) => {
                if other == Dtype::Bool { Dtype::Int32 } else { other }
            }
            Scalar::Float(_) => {
                if other.is_inexact() { other } else { Dtype::Float32 }
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
            if i64::try_from(v).is_err() && u64::try_from(v).is_err() {
                return Err(Error::value(format!("Integer {v} does not fit in a 64-bit integer.")));
            }
        }
        Ok(crate::dispatch_dtype!(dtype, T => Array::scalar(self.cast::<T>())))
    }

    /// This scalar as a 0-D array next to an array of dtype `other` ([`Scalar::weak_dtype`]).
    /// An integer next to a bool array becomes int32, wrapping like a C cast as MLX does
    /// (`mx.array([True]) + 2**40` is `[1]`); next to another integer dtype it must fit.
    pub fn to_weak_array(&self, other: Dtype) -> Result<Array> {
        if let (Scalar::Int(v), Dtype::Bool) = (*self, other)
            && (i64::try_from(v).is_ok() || u64::try_from(v).is_ok())
        {
            return Ok(Array::scalar(v as i32));
        }
        self.to_array(self.weak_dtype(other))
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

/// The two operands as arrays, each keeping its own dtype: a scalar takes the dtype it gets next
/// to the other operand (MLX's weak typing, see [`Scalar::to_weak_array`]), or its default dtype
/// next to another scalar.
pub(crate) fn weak_pair(a: Operand, b: Operand) -> Result<(Array, Array)> {
    match (a, b) {
        (Operand::Array(x), Operand::Scalar(s)) => {
            let y = s.to_weak_array(x.dtype())?;
            Ok((x, y))
        }
        (Operand::Scalar(s), Operand::Array(y)) => {
            let x = s.to_weak_array(y.dtype())?;
            Ok((x, y))
        }
        (a, b) => Ok((a.into_array()?, b.into_array()?)),
    }
}

/// Turns two operands into arrays of one promoted dtype, applying MLX's weak-scalar rules.
pub(crate) fn promote_pair(a: Operand, b: Operand) -> Result<(Array, Array)> {
    let (a, b) = weak_pair(a, b)?;
    let ts = crate::dtype::promote_types(a.dtype(), b.dtype());
    Ok((crate::ops::astype(&a, ts)?, crate::ops::astype(&b, ts)?))
}
