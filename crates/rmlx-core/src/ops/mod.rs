//! Ops: graph construction. Each op validates its arguments (shapes, dtypes, axes), promotes
//! and broadcasts, and builds a node holding one primitive. No math happens here.
//!
//! Argument conventions shared by every op:
//! - array arguments take anything [`ArrayLike`](crate::ArrayLike): `&Array`, `Array`, or a
//!   Rust scalar, which is weakly typed as MLX's Python scalars are;
//! - an axis argument takes one axis or a list ([`Axes`]), negative counting from the end;
//! - a shape argument takes any list of integers ([`ShapeArg`]).

pub mod binary;
pub mod conv;
pub mod creation;
pub mod einsum;
pub(crate) mod gated_delta;
pub mod indexing;
pub mod join;
pub mod linalg;
pub mod quantized;
pub mod rearrange;
pub mod reduce;
pub mod scan;
pub mod shape;
pub mod slicing;
pub mod sort;
pub mod ternary;
pub mod unary;
pub mod windows;

pub use binary::*;
pub use conv::*;
pub use creation::*;
pub use einsum::*;
pub use indexing::*;
pub use join::*;
pub use linalg::*;
pub use quantized::*;
pub use rearrange::*;
pub use reduce::*;
pub use scan::*;
pub use shape::*;
pub use slicing::*;
pub use sort::*;
pub use ternary::*;
pub use unary::*;
pub use windows::*;

use crate::error::{Error, Result, fmt_shape};

/// One axis or several: `1`, `-1`, `[0, 2]`, `&[0, 1]`, `vec![1]`.
pub trait Axes {
    /// The axes as written (not yet normalised).
    fn to_axes(&self) -> Vec<isize>;
}

/// A list of dimensions: `&[2, 3]`, `[2, -1]`, `vec![4]`, `a.shape()`.
pub trait ShapeArg {
    /// The dimensions as written (`-1` allowed where the op infers one).
    fn to_dims(&self) -> Vec<isize>;
}

macro_rules! int_args {
    ($($t:ty),*) => {$(
        impl Axes for $t {
            fn to_axes(&self) -> Vec<isize> { vec![*self as isize] }
        }
        impl<const N: usize> Axes for [$t; N] {
            fn to_axes(&self) -> Vec<isize> { self.iter().map(|&x| x as isize).collect() }
        }
        impl<const N: usize> Axes for &[$t; N] {
            fn to_axes(&self) -> Vec<isize> { self.iter().map(|&x| x as isize).collect() }
        }
        impl Axes for &[$t] {
            fn to_axes(&self) -> Vec<isize> { self.iter().map(|&x| x as isize).collect() }
        }
        impl Axes for Vec<$t> {
            fn to_axes(&self) -> Vec<isize> { self.iter().map(|&x| x as isize).collect() }
        }
        impl<const N: usize> ShapeArg for [$t; N] {
            fn to_dims(&self) -> Vec<isize> { self.iter().map(|&x| x as isize).collect() }
        }
        impl<const N: usize> ShapeArg for &[$t; N] {
            fn to_dims(&self) -> Vec<isize> { self.iter().map(|&x| x as isize).collect() }
        }
        impl ShapeArg for &[$t] {
            fn to_dims(&self) -> Vec<isize> { self.iter().map(|&x| x as isize).collect() }
        }
        impl ShapeArg for Vec<$t> {
            fn to_dims(&self) -> Vec<isize> { self.iter().map(|&x| x as isize).collect() }
        }
        impl ShapeArg for &Vec<$t> {
            fn to_dims(&self) -> Vec<isize> { self.iter().map(|&x| x as isize).collect() }
        }
    )*};
}
int_args!(i32, i64, isize, usize);

/// The shape written by `shape`, which must not contain negative sizes.
pub(crate) fn to_shape(shape: &impl ShapeArg, op: &str) -> Result<Vec<usize>> {
    shape
        .to_dims()
        .into_iter()
        .map(|d| {
            usize::try_from(d).map_err(|_| {
                Error::value(format!(
                    "[{op}] Negative dimensions are not allowed, got {d}."
                ))
            })
        })
        .collect()
}

/// `axis` normalised into `0..ndim`, or an index error naming the op.
pub(crate) fn normalize_axis(axis: isize, ndim: usize, op: &str) -> Result<usize> {
    let n = ndim as isize;
    if axis < -n || axis >= n {
        return Err(Error::index(format!(
            "[{op}] Invalid axis {axis} for array with {ndim} dimensions."
        )));
    }
    Ok(if axis < 0 {
        (axis + n) as usize
    } else {
        axis as usize
    })
}

/// Normalised, sorted axes without repeats (a repeat is an error).
pub(crate) fn normalize_axes(axes: &[isize], ndim: usize, op: &str) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let ax = normalize_axis(a, ndim, op)?;
        if out.contains(&ax) {
            return Err(Error::value(format!("[{op}] Received duplicate axis {a}.")));
        }
        out.push(ax);
    }
    out.sort_unstable();
    Ok(out)
}

/// The shape two shapes broadcast to (`mx.broadcast_shapes` for two).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::broadcast_shapes(&[&[2, 1, 3], &[4, 1]])?, vec![2, 4, 3]);
/// assert!(mx::broadcast_shapes(&[&[2, 3], &[4]]).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let mut out: Vec<usize> = Vec::new();
    for s in shapes {
        out = broadcast_two(&out, s)?;
    }
    Ok(out)
}

pub(crate) fn broadcast_two(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::value(format!(
                "[broadcast_shapes] Shapes {} and {} cannot be broadcast.",
                fmt_shape(a),
                fmt_shape(b)
            )));
        };
    }
    Ok(out)
}
