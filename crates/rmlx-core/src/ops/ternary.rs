//! Ternary elementwise ops: `where` (select by a condition) and `clip`.

use crate::array::Array;
use crate::dtype::{Dtype, promote_types};
use crate::error::{Error, Result};
use crate::primitives::ternary::Select;
use crate::scalar::{ArrayLike, Operand};

/// `x` where `condition` is true, `y` elsewhere (`mx.where`; `where` is a Rust keyword, so this
/// is also spelled [`where_`]).
///
/// The condition is taken as bool (nonzero is true); `x` and `y` promote to a common dtype (Rust
/// scalars weakly, as MLX's Python scalars); all three broadcast together.
///
/// ```
/// use rmlx_core as mx;
/// let c = mx::array![true, false, true];
/// let r = mx::r#where(&c, &mx::array![1, 2, 3], 0)?;
/// assert_eq!(r.to_vec::<i32>()?, vec![1, 0, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn r#where(condition: impl ArrayLike, x: impl ArrayLike, y: impl ArrayLike) -> Result<Array> {
    let c = super::astype(&condition.into_operand().into_array()?, Dtype::Bool)?;
    let (x, y) = super::binary::weak_pair(x, y)?;
    let d = promote_types(x.dtype(), y.dtype());
    let (x, y) = (super::astype(&x, d)?, super::astype(&y, d)?);
    let shape = super::broadcast_shapes(&[c.shape(), x.shape(), y.shape()])?;
    let inputs = vec![
        super::broadcast_to(&c, &shape)?,
        super::broadcast_to(&x, &shape)?,
        super::broadcast_to(&y, &shape)?,
    ];
    Ok(Array::from_op(shape, d, Select, inputs))
}

/// Alias of [`r#where`] that needs no raw identifier.
///
/// ```
/// use rmlx_core as mx;
/// let r = mx::where_(&mx::array![0.0, 2.0], 1.5, -1.5)?;
/// assert_eq!(r.to_vec::<f32>()?, vec![-1.5, 1.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn where_(condition: impl ArrayLike, x: impl ArrayLike, y: impl ArrayLike) -> Result<Array> {
    r#where(condition, x, y)
}

/// A bound of `clip` as an array: a Rust scalar takes its dtype weakly from `a`'s.
fn bound(b: impl ArrayLike, a: &Array) -> Result<Array> {
    match b.into_operand() {
        Operand::Array(x) => Ok(x),
        Operand::Scalar(s) => s.to_weak_array(Some(a.dtype())),
    }
}

/// Clips `a` to `[a_min, a_max]` (`mx.clip`): `minimum(maximum(a, a_min), a_max)`, with the
/// usual promotion and broadcasting. Either bound may be `None`, not both (a value error).
/// Bounds may be arrays or Rust scalars.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1, 5, 10];
/// assert_eq!(mx::clip(&a, Some(2), Some(8))?.to_vec::<i32>()?, vec![2, 5, 8]);
/// assert_eq!(mx::clip(&a, None::<i32>, Some(4))?.to_vec::<i32>()?, vec![1, 4, 4]);
/// assert_eq!(mx::clip(&a, Some(2.5), None::<f32>)?.dtype(), mx::float32);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn clip(
    a: impl ArrayLike,
    a_min: Option<impl ArrayLike>,
    a_max: Option<impl ArrayLike>,
) -> Result<Array> {
    let a = a.into_operand().into_array()?;
    if a_min.is_none() && a_max.is_none() {
        return Err(Error::value(
            "[clip] At most one of a_min and a_max may be None",
        ));
    }
    let lo = a_min.map(|m| bound(m, &a)).transpose()?;
    let hi = a_max.map(|m| bound(m, &a)).transpose()?;
    let mut result = a;
    if let Some(lo) = lo {
        result = super::maximum(&result, &lo)?;
    }
    if let Some(hi) = hi {
        result = super::minimum(&result, &hi)?;
    }
    Ok(result)
}

impl Array {
    /// See [`clip`].
    ///
    /// ```
    /// use rmlx_core as mx;
    /// let a = mx::array![-1.0, 0.5, 2.0];
    /// assert_eq!(a.clip(Some(0.0), Some(1.0))?.to_vec::<f32>()?, vec![0.0, 0.5, 1.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn clip(
        &self,
        a_min: Option<impl ArrayLike>,
        a_max: Option<impl ArrayLike>,
    ) -> Result<Array> {
        clip(self, a_min, a_max)
    }
}
