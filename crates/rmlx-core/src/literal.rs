//! The `array!` macro: nested Rust array literals become an `Array`, with Python's defaults
//! (`1.5` is float32, `1` is int32, `true` is bool).

use crate::array::Array;
use crate::element::{C64, Element};

/// A value that can appear in an `array!` literal: a scalar, or a Rust array of them.
pub trait Literal {
    /// The element type stored.
    type Elem: Element;
    /// Appends this literal's dimensions (the first element's, for nested arrays).
    fn shape_into(&self, shape: &mut Vec<usize>);
    /// Appends the elements in row-major order.
    fn flatten_into(&self, out: &mut Vec<Self::Elem>);
}

macro_rules! literal_scalar {
    ($($t:ty => $e:ty),*) => {$(
        impl Literal for $t {
            type Elem = $e;
            fn shape_into(&self, _shape: &mut Vec<usize>) {}
            fn flatten_into(&self, out: &mut Vec<$e>) { out.push((*self).cast::<$e>()); }
        }
    )*};
}
// f64 literals are Python floats: float32, as `mx.array([1.5])`.
literal_scalar!(bool => bool, u8 => u8, u16 => u16, u32 => u32, u64 => u64, i8 => i8, i16 => i16,
    i32 => i32, i64 => i64, f32 => f32, f64 => f32, half::f16 => half::f16, half::bf16 => half::bf16, C64 => C64);

impl<T: Literal, const N: usize> Literal for [T; N] {
    type Elem = T::Elem;
    fn shape_into(&self, shape: &mut Vec<usize>) {
        shape.push(N);
        if let Some(first) = self.first() {
            first.shape_into(shape);
        }
    }
    fn flatten_into(&self, out: &mut Vec<Self::Elem>) {
        for x in self {
            x.flatten_into(out);
        }
    }
}

/// Builds an array from a slice of literals (what `array!` expands to).
pub fn from_literals<T: Literal>(items: &[T]) -> Array {
    let mut shape = vec![items.len()];
    if let Some(first) = items.first() {
        first.shape_into(&mut shape);
    }
    let mut flat = Vec::new();
    for x in items {
        x.flatten_into(&mut flat);
    }
    Array::from_slice(&flat, &shape).expect("Rust array literals are never ragged")
}

/// An array from nested literals, as `mx.array([...])`: `array![[1, 2], [3, 4]]` is a 2x2
/// int32 array, `array![1.5, 2.0]` a float32 vector.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1, 2, 3], [4, 5, 6]];
/// assert_eq!(a.shape(), &[2, 3]);
/// assert_eq!(a.dtype(), mx::int32);
/// assert_eq!(mx::array![0.5, 1.0].dtype(), mx::float32);
/// ```
#[macro_export]
macro_rules! array {
    ($($e:expr),+ $(,)?) => {
        $crate::literal::from_literals(&[$($e),+])
    };
}
