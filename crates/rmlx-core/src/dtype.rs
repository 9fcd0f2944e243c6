//! Dtypes, MLX's promotion table, categories, and `finfo`/`iinfo`.

use crate::error::{Error, Result};
use std::fmt;

/// The 14 element types of MLX.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::float16.size(), 2);
/// assert_eq!(mx::result_type(&[mx::int8.into(), mx::uint8.into()]), mx::int16);
/// ```
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Dtype {
    Bool,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Int8,
    Int16,
    Int32,
    Int64,
    Float16,
    Bfloat16,
    Float32,
    Float64,
    Complex64,
}

/// MLX's names for the dtypes, so `mx::float32` reads as in Python.
#[allow(non_upper_case_globals)]
mod consts {
    use super::Dtype;
    pub const bool_: Dtype = Dtype::Bool;
    pub const uint8: Dtype = Dtype::Uint8;
    pub const uint16: Dtype = Dtype::Uint16;
    pub const uint32: Dtype = Dtype::Uint32;
    pub const uint64: Dtype = Dtype::Uint64;
    pub const int8: Dtype = Dtype::Int8;
    pub const int16: Dtype = Dtype::Int16;
    pub const int32: Dtype = Dtype::Int32;
    pub const int64: Dtype = Dtype::Int64;
    pub const float16: Dtype = Dtype::Float16;
    pub const bfloat16: Dtype = Dtype::Bfloat16;
    pub const float32: Dtype = Dtype::Float32;
    pub const float64: Dtype = Dtype::Float64;
    pub const complex64: Dtype = Dtype::Complex64;
}
pub use consts::*;

/// The abstract dtype categories of MLX (`mx.floating`, `mx.integer`, ...).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DtypeCategory {
    ComplexFloating,
    Floating,
    Inexact,
    SignedInteger,
    UnsignedInteger,
    Integer,
    Number,
    Generic,
}

#[allow(non_upper_case_globals)]
mod category_consts {
    use super::DtypeCategory;
    pub const complexfloating: DtypeCategory = DtypeCategory::ComplexFloating;
    pub const floating: DtypeCategory = DtypeCategory::Floating;
    pub const inexact: DtypeCategory = DtypeCategory::Inexact;
    pub const signedinteger: DtypeCategory = DtypeCategory::SignedInteger;
    pub const unsignedinteger: DtypeCategory = DtypeCategory::UnsignedInteger;
    pub const integer: DtypeCategory = DtypeCategory::Integer;
    pub const number: DtypeCategory = DtypeCategory::Number;
    pub const generic: DtypeCategory = DtypeCategory::Generic;
}
pub use category_consts::*;

/// Every dtype, in MLX's order.
pub const ALL_DTYPES: [Dtype; 14] = [
    Dtype::Bool,
    Dtype::Uint8,
    Dtype::Uint16,
    Dtype::Uint32,
    Dtype::Uint64,
    Dtype::Int8,
    Dtype::Int16,
    Dtype::Int32,
    Dtype::Int64,
    Dtype::Float16,
    Dtype::Bfloat16,
    Dtype::Float32,
    Dtype::Float64,
    Dtype::Complex64,
];

impl Dtype {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        use Dtype::*;
        match self {
            Bool | Uint8 | Int8 => 1,
            Uint16 | Int16 | Float16 | Bfloat16 => 2,
            Uint32 | Int32 | Float32 => 4,
            Uint64 | Int64 | Float64 | Complex64 => 8,
        }
    }
    /// MLX's name (`"float32"`, `"bool"`).
    pub const fn name(self) -> &'static str {
        use Dtype::*;
        match self {
            Bool => "bool",
            Uint8 => "uint8",
            Uint16 => "uint16",
            Uint32 => "uint32",
            Uint64 => "uint64",
            Int8 => "int8",
            Int16 => "int16",
            Int32 => "int32",
            Int64 => "int64",
            Float16 => "float16",
            Bfloat16 => "bfloat16",
            Float32 => "float32",
            Float64 => "float64",
            Complex64 => "complex64",
        }
    }
    /// Parses MLX's name of a dtype (`"float32"`, `"bool"` or `"bool_"`).
    pub fn from_name(name: &str) -> Result<Dtype> {
        ALL_DTYPES
            .iter()
            .copied()
            .find(|d| d.name() == name || (name == "bool_" && *d == Dtype::Bool))
            .ok_or_else(|| Error::value(format!("Unknown dtype name '{name}'.")))
    }
    /// True for float16, bfloat16, float32, float64.
    pub const fn is_floating(self) -> bool {
        matches!(
            self,
            Dtype::Float16 | Dtype::Bfloat16 | Dtype::Float32 | Dtype::Float64
        )
    }
    /// True for floating and complex dtypes.
    pub const fn is_inexact(self) -> bool {
        self.is_floating() || self.is_complex()
    }
    /// True for complex64.
    pub const fn is_complex(self) -> bool {
        matches!(self, Dtype::Complex64)
    }
    /// True for signed and unsigned integers (not bool).
    pub const fn is_integer(self) -> bool {
        self.is_signed_integer() || self.is_unsigned_integer()
    }
    /// True for int8..int64.
    pub const fn is_signed_integer(self) -> bool {
        matches!(
            self,
            Dtype::Int8 | Dtype::Int16 | Dtype::Int32 | Dtype::Int64
        )
    }
    /// True for uint8..uint64.
    pub const fn is_unsigned_integer(self) -> bool {
        matches!(
            self,
            Dtype::Uint8 | Dtype::Uint16 | Dtype::Uint32 | Dtype::Uint64
        )
    }
    /// The category of a concrete dtype (bool has none of its own: `Generic`).
    pub const fn category(self) -> DtypeCategory {
        if self.is_complex() {
            DtypeCategory::ComplexFloating
        } else if self.is_floating() {
            DtypeCategory::Floating
        } else if self.is_signed_integer() {
            DtypeCategory::SignedInteger
        } else if self.is_unsigned_integer() {
            DtypeCategory::UnsignedInteger
        } else {
            DtypeCategory::Generic
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl DtypeCategory {
    fn parent(self) -> Option<DtypeCategory> {
        use DtypeCategory::*;
        match self {
            ComplexFloating | Floating => Some(Inexact),
            SignedInteger | UnsignedInteger => Some(Integer),
            Inexact | Integer => Some(Number),
            Number => Some(Generic),
            Generic => None,
        }
    }
}

// MLX 0.32.4's promotion table (read off `mx.result_type` for every pair), rows and columns in
// the order of `ALL_DTYPES`.
const PROMOTION: [[u8; 14]; 14] = {
    const B: u8 = 0;
    const U8: u8 = 1;
    const U16: u8 = 2;
    const U32: u8 = 3;
    const U64: u8 = 4;
    const I8: u8 = 5;
    const I16: u8 = 6;
    const I32: u8 = 7;
    const I64: u8 = 8;
    const F16: u8 = 9;
    const BF: u8 = 10;
    const F32: u8 = 11;
    const F64: u8 = 12;
    const C: u8 = 13;
    [
        [
            B, U8, U16, U32, U64, I8, I16, I32, I64, F16, BF, F32, F64, C,
        ],
        [
            U8, U8, U16, U32, U64, I16, I16, I32, I64, F16, BF, F32, F64, C,
        ],
        [
            U16, U16, U16, U32, U64, I32, I32, I32, I64, F16, BF, F32, F64, C,
        ],
        [
            U32, U32, U32, U32, U64, I64, I64, I64, I64, F16, BF, F32, F64, C,
        ],
        [
            U64, U64, U64, U64, U64, F32, F32, F32, F32, F16, BF, F32, F64, C,
        ],
        [
            I8, I16, I32, I64, F32, I8, I16, I32, I64, F16, BF, F32, F64, C,
        ],
        [
            I16, I16, I32, I64, F32, I16, I16, I32, I64, F16, BF, F32, F64, C,
        ],
        [
            I32, I32, I32, I64, F32, I32, I32, I32, I64, F16, BF, F32, F64, C,
        ],
        [
            I64, I64, I64, I64, F32, I64, I64, I64, I64, F16, BF, F32, F64, C,
        ],
        [
            F16, F16, F16, F16, F16, F16, F16, F16, F16, F16, F32, F32, F64, C,
        ],
        [BF, BF, BF, BF, BF, BF, BF, BF, BF, F32, BF, F32, F64, C],
        [
            F32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F64, C,
        ],
        [
            F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, C,
        ],
        [C, C, C, C, C, C, C, C, C, C, C, C, C, C],
    ]
};

/// The dtype two dtypes promote to (MLX's `promote_types`).
pub fn promote_types(a: Dtype, b: Dtype) -> Dtype {
    ALL_DTYPES[PROMOTION[a.index()][b.index()] as usize]
}

/// A dtype or an array, for [`result_type`].
pub enum DtypeOrArray<'a> {
    Dtype(Dtype),
    Array(&'a crate::Array),
}
impl From<Dtype> for DtypeOrArray<'_> {
    fn from(d: Dtype) -> Self {
        DtypeOrArray::Dtype(d)
    }
}
impl<'a> From<&'a crate::Array> for DtypeOrArray<'a> {
    fn from(a: &'a crate::Array) -> Self {
        DtypeOrArray::Array(a)
    }
}

/// The type that results from promoting all inputs together (`mx.result_type`).
/// With no inputs it is `bool`, the identity of promotion.
pub fn result_type(inputs: &[DtypeOrArray<'_>]) -> Dtype {
    inputs.iter().fold(Dtype::Bool, |acc, x| {
        let d = match x {
            DtypeOrArray::Dtype(d) => *d,
            DtypeOrArray::Array(a) => a.dtype(),
        };
        promote_types(acc, d)
    })
}

/// Whether `from` can be cast to `to`: promoting the two gives back `to` (`mx.can_cast`).
pub fn can_cast(from: Dtype, to: Dtype) -> bool {
    promote_types(from, to) == to
}

/// A dtype or a category, for [`issubdtype`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DtypeOrCategory {
    Dtype(Dtype),
    Category(DtypeCategory),
}
impl From<Dtype> for DtypeOrCategory {
    fn from(d: Dtype) -> Self {
        DtypeOrCategory::Dtype(d)
    }
}
impl From<DtypeCategory> for DtypeOrCategory {
    fn from(c: DtypeCategory) -> Self {
        DtypeOrCategory::Category(c)
    }
}

/// MLX's `issubdtype`: is `a` the same as, or below, `b` in the dtype hierarchy?
///
/// ```
/// use rmlx_core as mx;
/// assert!(mx::issubdtype(mx::float32, mx::floating));
/// assert!(mx::issubdtype(mx::floating, mx::inexact));
/// assert!(!mx::issubdtype(mx::int8, mx::unsignedinteger));
/// ```
pub fn issubdtype(a: impl Into<DtypeOrCategory>, b: impl Into<DtypeOrCategory>) -> bool {
    match (a.into(), b.into()) {
        (DtypeOrCategory::Dtype(a), DtypeOrCategory::Dtype(b)) => a == b,
        (DtypeOrCategory::Dtype(_), DtypeOrCategory::Category(DtypeCategory::Generic)) => true,
        (DtypeOrCategory::Dtype(a), DtypeOrCategory::Category(c)) => {
            a != Dtype::Bool && category_below(a.category(), c)
        }
        (DtypeOrCategory::Category(_), DtypeOrCategory::Dtype(_)) => false,
        (DtypeOrCategory::Category(a), DtypeOrCategory::Category(c)) => category_below(a, c),
    }
}

fn category_below(mut a: DtypeCategory, b: DtypeCategory) -> bool {
    loop {
        if a == b {
            return true;
        }
        match a.parent() {
            Some(p) => a = p,
            None => return false,
        }
    }
}

/// A kind for [`isdtype`]: a dtype or one of the array-API kind strings.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DtypeKind {
    Dtype(Dtype),
    /// `"bool"`
    Bool,
    /// `"signed integer"`
    SignedInteger,
    /// `"unsigned integer"`
    UnsignedInteger,
    /// `"integral"`
    Integral,
    /// `"real floating"`
    RealFloating,
    /// `"complex floating"`
    ComplexFloating,
    /// `"numeric"`
    Numeric,
}

impl DtypeKind {
    /// Parses the array-API kind names MLX accepts.
    pub fn from_name(name: &str) -> Result<DtypeKind> {
        Ok(match name {
            "bool" => DtypeKind::Bool,
            "signed integer" => DtypeKind::SignedInteger,
            "unsigned integer" => DtypeKind::UnsignedInteger,
            "integral" => DtypeKind::Integral,
            "real floating" => DtypeKind::RealFloating,
            "complex floating" => DtypeKind::ComplexFloating,
            "numeric" => DtypeKind::Numeric,
            _ => return Err(Error::value(format!("[isdtype] Unknown kind '{name}'."))),
        })
    }
}

/// Whether `dtype` belongs to any of `kinds` (`mx.isdtype`).
pub fn isdtype(dtype: Dtype, kinds: &[DtypeKind]) -> bool {
    kinds.iter().any(|k| match *k {
        DtypeKind::Dtype(d) => d == dtype,
        DtypeKind::Bool => dtype == Dtype::Bool,
        DtypeKind::SignedInteger => dtype.is_signed_integer(),
        DtypeKind::UnsignedInteger => dtype.is_unsigned_integer(),
        DtypeKind::Integral => dtype.is_integer(),
        DtypeKind::RealFloating => dtype.is_floating(),
        DtypeKind::ComplexFloating => dtype.is_complex(),
        DtypeKind::Numeric => dtype != Dtype::Bool,
    })
}

/// Machine limits of a floating dtype (`mx.finfo`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Finfo {
    pub dtype: Dtype,
    pub bits: usize,
    pub min: f64,
    pub max: f64,
    pub eps: f64,
    pub smallest_normal: f64,
}

/// `mx.finfo`: limits of a floating (or complex: those of its float32 parts) dtype.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::finfo(mx::float16)?.max, 65504.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn finfo(dtype: Dtype) -> Result<Finfo> {
    let (bits, max, eps, smallest_normal) = match dtype {
        Dtype::Float16 => (16, 65504.0, 0.0009765625, 6.103515625e-05),
        Dtype::Bfloat16 => (16, 3.3895313892515355e38, 0.0078125, 1.1754943508222875e-38),
        Dtype::Float32 | Dtype::Complex64 => (
            32,
            f32::MAX as f64,
            f32::EPSILON as f64,
            f32::MIN_POSITIVE as f64,
        ),
        Dtype::Float64 => (64, f64::MAX, f64::EPSILON, f64::MIN_POSITIVE),
        _ => {
            return Err(Error::value(format!(
                "[finfo] dtype {dtype} is not inexact."
            )));
        }
    };
    let dtype = if dtype == Dtype::Complex64 {
        Dtype::Float32
    } else {
        dtype
    };
    Ok(Finfo {
        dtype,
        bits,
        min: -max,
        max,
        eps,
        smallest_normal,
    })
}

/// Limits of an integer dtype (`mx.iinfo`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Iinfo {
    pub dtype: Dtype,
    pub min: i128,
    pub max: i128,
}

/// `mx.iinfo`: the range of an integer dtype.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::iinfo(mx::int8)?.min, -128);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn iinfo(dtype: Dtype) -> Result<Iinfo> {
    let (min, max): (i128, i128) = match dtype {
        Dtype::Uint8 => (0, u8::MAX as i128),
        Dtype::Uint16 => (0, u16::MAX as i128),
        Dtype::Uint32 => (0, u32::MAX as i128),
        Dtype::Uint64 => (0, u64::MAX as i128),
        Dtype::Int8 => (i8::MIN as i128, i8::MAX as i128),
        Dtype::Int16 => (i16::MIN as i128, i16::MAX as i128),
        Dtype::Int32 => (i32::MIN as i128, i32::MAX as i128),
        Dtype::Int64 => (i64::MIN as i128, i64::MAX as i128),
        _ => {
            return Err(Error::value(format!(
                "[iinfo] Only integer types supported but {dtype} was provided"
            )));
        }
    };
    Ok(Iinfo { dtype, min, max })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn promotion_is_symmetric() {
        for a in ALL_DTYPES {
            for b in ALL_DTYPES {
                assert_eq!(promote_types(a, b), promote_types(b, a), "{a} {b}");
            }
        }
    }
    #[test]
    fn categories() {
        assert!(issubdtype(Dtype::Uint8, DtypeCategory::Integer));
        assert!(issubdtype(Dtype::Complex64, DtypeCategory::Inexact));
        assert!(!issubdtype(Dtype::Bool, DtypeCategory::Number));
        assert!(issubdtype(Dtype::Bool, DtypeCategory::Generic));
        assert!(!issubdtype(DtypeCategory::Inexact, DtypeCategory::Floating));
        assert!(can_cast(Dtype::Int8, Dtype::Int16));
        assert!(!can_cast(Dtype::Int16, Dtype::Int8));
    }
}
