//! Binary elementwise ops: promote (MLX's table, weak scalars), broadcast, build the node.
//!
//! Every op takes two [`ArrayLike`] arguments, so Rust scalars work on either side and are
//! weakly typed: `mx::add(&x_u8, 2)` stays uint8, and `mx::add(&x_u8, 300)` is an error, as in
//! MLX.

use crate::array::Array;
use crate::dtype::{Dtype, promote_types};
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive};
use crate::primitives::binary::*;
use crate::scalar::{ArrayLike, promote_pair};

/// Promotes and broadcasts two operands: the arrays (in one dtype) and the output shape.
pub(crate) fn prepare_binary(a: impl ArrayLike, b: impl ArrayLike) -> Result<(Array, Array)> {
    let (a, b) = promote_pair(a.into_operand(), b.into_operand())?;
    broadcast_pair(a, b)
}

/// Broadcasts two arrays to their common shape.
fn broadcast_pair(a: Array, b: Array) -> Result<(Array, Array)> {
    let shape = super::broadcast_two(a.shape(), b.shape())?;
    Ok((
        super::broadcast_to(&a, &shape)?,
        super::broadcast_to(&b, &shape)?,
    ))
}

/// The two operands as arrays, each keeping its own dtype (weak scalars resolved).
pub(crate) fn weak_pair(a: impl ArrayLike, b: impl ArrayLike) -> Result<(Array, Array)> {
    crate::scalar::weak_pair(a.into_operand(), b.into_operand())
}

/// Both arrays as `dtype`, broadcast together.
fn cast_pair(a: &Array, b: &Array, dtype: Dtype) -> Result<(Array, Array)> {
    broadcast_pair(super::astype(a, dtype)?, super::astype(b, dtype)?)
}

/// Builds a binary node whose output dtype is `dtype`.
pub(crate) fn binary_op(a: Array, b: Array, dtype: Dtype, p: impl Primitive) -> Array {
    Array::from_op(a.shape().to_vec(), dtype, p, vec![a, b])
}

/// Promotes, broadcasts, and builds a node whose output has the promoted dtype.
fn same_dtype_op(a: impl ArrayLike, b: impl ArrayLike, p: impl Primitive) -> Result<Array> {
    let (a, b) = prepare_binary(a, b)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, p))
}

/// Promotes, broadcasts, and builds a node with a bool output (comparisons).
fn comparison_op(a: impl ArrayLike, b: impl ArrayLike, p: impl Primitive) -> Result<Array> {
    let (a, b) = prepare_binary(a, b)?;
    Ok(binary_op(a, b, Dtype::Bool, p))
}

/// `a + b` with broadcasting (`mx.add`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1, 2], [3, 4]];
/// assert_eq!(mx::add(&a, 10)?.to_vec::<i32>()?, vec![11, 12, 13, 14]);
/// assert_eq!(mx::add(&a, &mx::array![1, 1])?.shape(), &[2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn add(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    same_dtype_op(a, b, Add)
}

/// `a - b` (`mx.subtract`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::subtract(10, &mx::array![1, 2])?.to_vec::<i32>()?, vec![9, 8]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn subtract(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    same_dtype_op(a, b, Subtract)
}

/// `a * b` (`mx.multiply`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::multiply(&mx::array![1.5, 2.0], 2)?.to_vec::<f32>()?, vec![3.0, 4.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn multiply(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    same_dtype_op(a, b, Multiply)
}

/// True division `a / b` (`mx.divide`): integers promote to float32.
///
/// ```
/// use rmlx_core as mx;
/// let q = mx::divide(&mx::array![1, 3], 2)?;
/// assert_eq!(q.dtype(), mx::float32);
/// assert_eq!(q.to_vec::<f32>()?, vec![0.5, 1.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn divide(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = prepare_binary(a, b)?;
    let d = super::unary::at_least_float(a.dtype());
    let (a, b) = (super::astype(&a, d)?, super::astype(&b, d)?);
    Ok(binary_op(a, b, d, Divide))
}

/// Floor division `a // b` (`mx.floor_divide`), rounding toward negative infinity as Python
/// does. Integer division by zero gives 0; complex inputs are divided without flooring.
///
/// ```
/// use rmlx_core as mx;
/// let q = mx::floor_divide(&mx::array![7, -7, 7], &mx::array![2, 2, 0])?;
/// assert_eq!(q.to_vec::<i32>()?, vec![3, -4, 0]);
/// assert_eq!(mx::floor_divide(&mx::array![-7.5], 2)?.item::<f32>()?, -4.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn floor_divide(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    same_dtype_op(a, b, FloorDivide)
}

fn reject_complex(op: &str, a: &Array) -> Result<()> {
    if a.dtype() == Dtype::Complex64 {
        return Err(Error::value(format!("[{op}] Complex type not supported.")));
    }
    Ok(())
}

/// Remainder `a % b` with the sign of `b`, as Python's `%` (`mx.remainder`). Integer remainder
/// by zero gives `a`. Not defined for complex64 (a value error).
///
/// ```
/// use rmlx_core as mx;
/// let r = mx::remainder(&mx::array![7, -7, 7], &mx::array![3, 3, -3])?;
/// assert_eq!(r.to_vec::<i32>()?, vec![1, 2, -2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn remainder(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = prepare_binary(a, b)?;
    reject_complex("remainder", &a)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, Remainder))
}

/// The floor quotient and the remainder together (`mx.divmod`): the same values as
/// [`floor_divide`] and [`remainder`], from one node with two outputs.
///
/// ```
/// use rmlx_core as mx;
/// let (q, r) = mx::divmod(&mx::array![7, -7], 2)?;
/// assert_eq!(q.to_vec::<i32>()?, vec![3, -4]);
/// assert_eq!(r.to_vec::<i32>()?, vec![1, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn divmod(a: impl ArrayLike, b: impl ArrayLike) -> Result<(Array, Array)> {
    let (a, b) = prepare_binary(a, b)?;
    reject_complex("divmod", &a)?;
    let spec = OutputSpec {
        shape: a.shape().to_vec(),
        dtype: a.dtype(),
    };
    let mut outs = Array::multi_from_op(vec![spec.clone(), spec], DivMod, vec![a, b]);
    let r = outs.pop().expect("two outputs");
    let q = outs.pop().expect("two outputs");
    Ok((q, r))
}

/// `a ** b` (`mx.power`). Integer powers wrap on overflow, and a negative integer exponent
/// gives 0 (as MLX computes it).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::power(&mx::array![2, 3], 2)?.to_vec::<i32>()?, vec![4, 9]);
/// assert_eq!(mx::power(2.0, &mx::array![-1.0])?.item::<f32>()?, 0.5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn power(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    same_dtype_op(a, b, Power)
}

/// Alias of [`power`] (`mx.pow`).
pub fn pow(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    power(a, b)
}

/// Elementwise maximum (`mx.maximum`); NaN in either input gives NaN.
///
/// ```
/// use rmlx_core as mx;
/// let m = mx::maximum(&mx::array![1.0, f32::NAN], &mx::array![2.0, 0.0])?;
/// assert_eq!(m.to_vec::<f32>()?[0], 2.0);
/// assert!(m.to_vec::<f32>()?[1].is_nan());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn maximum(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    same_dtype_op(a, b, Maximum)
}

/// Elementwise minimum (`mx.minimum`); NaN in either input gives NaN.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::minimum(&mx::array![1, 5], 3)?.to_vec::<i32>()?, vec![1, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn minimum(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    same_dtype_op(a, b, Minimum)
}

/// Float math of two operands: the promoted dtype raised to at least float32.
fn float_binary(
    op: &str,
    a: impl ArrayLike,
    b: impl ArrayLike,
    complex_ok: bool,
) -> Result<(Array, Array)> {
    let (a, b) = weak_pair(a, b)?;
    if !complex_ok && (a.dtype() == Dtype::Complex64 || b.dtype() == Dtype::Complex64) {
        return Err(Error::value(format!("[{op}] Not supported for complex64.")));
    }
    let d = super::unary::at_least_float(promote_types(a.dtype(), b.dtype()));
    cast_pair(&a, &b, d)
}

/// The angle of the point `(b, a)`, `atan(a / b)` in the right quadrant (`mx.arctan2`).
/// Integers promote to float32; complex inputs are a value error.
///
/// ```
/// use rmlx_core as mx;
/// let t = mx::arctan2(&mx::array![1.0, -1.0], &mx::array![0.0, 0.0])?;
/// assert_eq!(t.to_vec::<f32>()?, vec![std::f32::consts::FRAC_PI_2, -std::f32::consts::FRAC_PI_2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arctan2(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = float_binary("arctan2", a, b, false)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, ArcTan2))
}

/// Alias of [`arctan2`] (`mx.atan2`).
pub fn atan2(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    arctan2(a, b)
}

/// `log(exp(a) + exp(b))`, computed without overflow (`mx.logaddexp`). Integers promote to
/// float32.
///
/// ```
/// use rmlx_core as mx;
/// let l = mx::logaddexp(&mx::array![0.0, 1000.0], &mx::array![0.0, 1000.0])?;
/// let v = l.to_vec::<f32>()?;
/// assert!((v[0] - 2f32.ln()).abs() < 1e-6 && (v[1] - 1000.6931).abs() < 1e-3);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn logaddexp(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = float_binary("logaddexp", a, b, true)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, LogAddExp))
}

/// `a == b` elementwise (`mx.equal`); NaN is not equal to itself.
///
/// ```
/// use rmlx_core as mx;
/// let e = mx::equal(&mx::array![1, 2, 3], 2)?;
/// assert_eq!(e.to_vec::<bool>()?, vec![false, true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn equal(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    comparison_op(a, b, Equal { equal_nan: false })
}

/// `a != b` elementwise (`mx.not_equal`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::not_equal(&mx::array![1, 2], 2)?.to_vec::<bool>()?, vec![true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn not_equal(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    comparison_op(a, b, NotEqual)
}

/// `a > b` elementwise (`mx.greater`); complex numbers compare by real part, then imaginary.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::greater(&mx::array![1, 2, 3], 2)?.to_vec::<bool>()?, vec![false, false, true]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn greater(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    comparison_op(a, b, Greater)
}

/// `a >= b` elementwise (`mx.greater_equal`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::greater_equal(&mx::array![1, 2, 3], 2)?.to_vec::<bool>()?, vec![false, true, true]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn greater_equal(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    comparison_op(a, b, GreaterEqual)
}

/// `a < b` elementwise (`mx.less`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::less(&mx::array![1.0, 2.0], 1.5)?.to_vec::<bool>()?, vec![true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn less(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    comparison_op(a, b, Less)
}

/// `a <= b` elementwise (`mx.less_equal`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::less_equal(&mx::array![1, 2, 3], 2)?.to_vec::<bool>()?, vec![true, true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn less_equal(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    comparison_op(a, b, LessEqual)
}

/// Both operands as bool (nonzero is true), broadcast together. Rust scalars take their
/// default dtypes, not the other operand's (MLX converts each side on its own here, so
/// `logical_and(&x_u8, -2)` is fine).
fn bool_pair(a: impl ArrayLike, b: impl ArrayLike) -> Result<(Array, Array)> {
    let (a, b) = (
        a.into_operand().into_array()?,
        b.into_operand().into_array()?,
    );
    cast_pair(&a, &b, Dtype::Bool)
}

/// Logical and of the truth values of `a` and `b` (`mx.logical_and`); any dtype, nonzero is
/// true.
///
/// ```
/// use rmlx_core as mx;
/// let r = mx::logical_and(&mx::array![1, 0, 2], &mx::array![0.5, 1.0, 0.0])?;
/// assert_eq!(r.to_vec::<bool>()?, vec![true, false, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn logical_and(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = bool_pair(a, b)?;
    Ok(binary_op(a, b, Dtype::Bool, LogicalAnd))
}

/// Logical or of the truth values of `a` and `b` (`mx.logical_or`).
///
/// ```
/// use rmlx_core as mx;
/// let r = mx::logical_or(&mx::array![1, 0, 0], &mx::array![false, true, false])?;
/// assert_eq!(r.to_vec::<bool>()?, vec![true, true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn logical_or(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = bool_pair(a, b)?;
    Ok(binary_op(a, b, Dtype::Bool, LogicalOr))
}

/// Logical exclusive or of the truth values of `a` and `b` (`mx.logical_xor`).
///
/// ```
/// use rmlx_core as mx;
/// let r = mx::logical_xor(&mx::array![1, 0, 2], 0.5)?;
/// assert_eq!(r.to_vec::<bool>()?, vec![false, true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn logical_xor(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = bool_pair(a, b)?;
    Ok(binary_op(a, b, Dtype::Bool, NotEqual))
}

/// Operands of a bitwise op in `dtype` (the promoted one unless the op says otherwise), which
/// must be an integer or bool dtype (else a runtime error, as MLX raises).
fn bitwise_pair(
    op: &str,
    a: impl ArrayLike,
    b: impl ArrayLike,
    shift: bool,
) -> Result<(Array, Array)> {
    let (a, b) = weak_pair(a, b)?;
    let mut d = promote_types(a.dtype(), b.dtype());
    if shift && d == Dtype::Bool {
        d = Dtype::Uint8;
    }
    if !(d.is_integer() || d == Dtype::Bool) {
        return Err(Error::runtime(format!(
            "[{op}] Only allowed on integer or boolean types but got types {} and {}.",
            a.dtype(),
            b.dtype()
        )));
    }
    cast_pair(&a, &b, d)
}

/// Bitwise and (`mx.bitwise_and`); logical and for bool. Floats are a runtime error.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::bitwise_and(&mx::array![12, 10], 6)?.to_vec::<i32>()?, vec![4, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn bitwise_and(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = bitwise_pair("bitwise_and", a, b, false)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, BitwiseAnd))
}

/// Bitwise or (`mx.bitwise_or`); logical or for bool.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::bitwise_or(&mx::array![12, 10], 1)?.to_vec::<i32>()?, vec![13, 11]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn bitwise_or(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = bitwise_pair("bitwise_or", a, b, false)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, BitwiseOr))
}

/// Bitwise exclusive or (`mx.bitwise_xor`); logical xor for bool.
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::bitwise_xor(&mx::array![12, 10], 6)?.to_vec::<i32>()?, vec![10, 12]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn bitwise_xor(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = bitwise_pair("bitwise_xor", a, b, false)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, BitwiseXor))
}

/// `a << b` (`mx.left_shift`); bool inputs shift as uint8. As in MLX on x86, types narrower
/// than 32 bits shift as 32-bit integers (bits past their width are lost) and the count is
/// taken modulo 32 (modulo 64 for 64-bit types).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::left_shift(&mx::array![1, 3], 2)?.to_vec::<i32>()?, vec![4, 12]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn left_shift(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = bitwise_pair("left_shift", a, b, true)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, LeftShift))
}

/// Alias of [`left_shift`] (`mx.bitwise_left_shift`).
pub fn bitwise_left_shift(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    left_shift(a, b)
}

/// `a >> b` (`mx.right_shift`), arithmetic for signed types; bool inputs shift as uint8. The
/// count is reduced as in [`left_shift`].
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::right_shift(&mx::array![-8, 8], 2)?.to_vec::<i32>()?, vec![-2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn right_shift(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    let (a, b) = bitwise_pair("right_shift", a, b, true)?;
    let d = a.dtype();
    Ok(binary_op(a, b, d, RightShift))
}

/// Alias of [`right_shift`] (`mx.bitwise_right_shift`).
pub fn bitwise_right_shift(a: impl ArrayLike, b: impl ArrayLike) -> Result<Array> {
    right_shift(a, b)
}

/// Binary ops as `Array` methods, mirroring MLX's names (`a.equal(&b)` rather than Rust's
/// `PartialEq` names, which `Array` does not implement).
impl Array {
    /// See [`equal`].
    pub fn equal(&self, other: impl ArrayLike) -> Result<Array> {
        equal(self, other)
    }
    /// See [`not_equal`].
    pub fn not_equal(&self, other: impl ArrayLike) -> Result<Array> {
        not_equal(self, other)
    }
    /// See [`greater`].
    pub fn greater(&self, other: impl ArrayLike) -> Result<Array> {
        greater(self, other)
    }
    /// See [`greater_equal`].
    pub fn greater_equal(&self, other: impl ArrayLike) -> Result<Array> {
        greater_equal(self, other)
    }
    /// See [`less`].
    ///
    /// ```
    /// use rmlx_core as mx;
    /// let a = mx::array![1, 2, 3];
    /// assert_eq!(a.less(3)?.to_vec::<bool>()?, vec![true, true, false]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn less(&self, other: impl ArrayLike) -> Result<Array> {
        less(self, other)
    }
    /// See [`less_equal`].
    pub fn less_equal(&self, other: impl ArrayLike) -> Result<Array> {
        less_equal(self, other)
    }
    /// See [`maximum`].
    pub fn maximum(&self, other: impl ArrayLike) -> Result<Array> {
        maximum(self, other)
    }
    /// See [`minimum`].
    pub fn minimum(&self, other: impl ArrayLike) -> Result<Array> {
        minimum(self, other)
    }
    /// See [`power`].
    pub fn power(&self, other: impl ArrayLike) -> Result<Array> {
        power(self, other)
    }
    /// See [`logical_and`].
    pub fn logical_and(&self, other: impl ArrayLike) -> Result<Array> {
        logical_and(self, other)
    }
    /// See [`logical_or`].
    pub fn logical_or(&self, other: impl ArrayLike) -> Result<Array> {
        logical_or(self, other)
    }
}
