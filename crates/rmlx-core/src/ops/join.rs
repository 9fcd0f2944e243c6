//! Joining and splitting: concatenate, stack, split, unstack, meshgrid.

use super::{broadcast_arrays, expand_dims, flatten, normalize_axis, reshape, slice, squeeze};
use crate::array::Array;
use crate::dtype::promote_types;
use crate::error::{Error, Result, fmt_shape};
use crate::primitives::join::Concatenate;
use std::borrow::Borrow;

/// Joins arrays along an existing axis (`mx.concatenate`). The arrays must have the same
/// shape except along `axis`; the result has their promoted dtype.
///
/// As in MLX, a single array is returned as it is (its dtype and the axis are not checked).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1, 2]];
/// let b = mx::array![[3.5, 4.0]];
/// let c = mx::concatenate(&[&a, &b], 0)?;
/// assert_eq!(c.shape(), &[2, 2]);
/// assert_eq!(c.dtype(), mx::float32);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn concatenate<A: Borrow<Array>>(arrays: &[A], axis: isize) -> Result<Array> {
    let arrays: Vec<&Array> = arrays.iter().map(|a| a.borrow()).collect();
    match arrays.len() {
        0 => {
            return Err(Error::value(
                "[concatenate] No arrays provided for concatenation",
            ));
        }
        1 => return Ok(arrays[0].clone()),
        _ => {}
    }
    let first = arrays[0];
    let ax = normalize_axis(axis, first.ndim(), "concatenate")?;
    let mut shape = first.shape().to_vec();
    let mut total = 0usize;
    for a in &arrays {
        if a.ndim() != shape.len() {
            return Err(Error::value(format!(
                "[concatenate] All the input arrays must have the same number of dimensions. However, got arrays with dimensions {} and {}.",
                shape.len(),
                a.ndim()
            )));
        }
        if a.shape()
            .iter()
            .zip(&shape)
            .enumerate()
            .any(|(i, (x, y))| i != ax && x != y)
        {
            let shapes: Vec<String> = arrays.iter().map(|a| fmt_shape(a.shape())).collect();
            return Err(Error::value(format!(
                "[concatenate] All the input array dimensions must match exactly except for the concatenation axis. However, the provided shapes are {}, and the concatenation axis is {axis}.",
                shapes.join(", ")
            )));
        }
        total = total
            .checked_add(a.shape()[ax])
            .ok_or_else(|| Error::value("[concatenate] The concatenated size overflows."))?;
    }
    shape[ax] = crate::error::check_dim("concatenate", total)?;
    let dtype = arrays
        .iter()
        .skip(1)
        .fold(first.dtype(), |d, a| promote_types(d, a.dtype()));
    let inputs = arrays
        .iter()
        .map(|a| super::astype(a, dtype))
        .collect::<Result<Vec<_>>>()?;
    Ok(Array::from_op(
        shape,
        dtype,
        Concatenate { axis: ax },
        inputs,
    ))
}

/// `mx.concat`: the same as [`concatenate`].
pub fn concat<A: Borrow<Array>>(arrays: &[A], axis: isize) -> Result<Array> {
    concatenate(arrays, axis)
}

/// Joins the flattened arrays (`mx.concatenate(arrays, axis=None)`).
///
/// ```
/// use rmlx_core as mx;
/// let c = mx::concatenate_flat(&[mx::zeros(&[2, 2], mx::int32)?, mx::ones(&[3], mx::int32)?])?;
/// assert_eq!(c.to_vec::<i32>()?, vec![0, 0, 0, 0, 1, 1, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn concatenate_flat<A: Borrow<Array>>(arrays: &[A]) -> Result<Array> {
    let flat = arrays
        .iter()
        .map(|a| flatten(a.borrow(), 0, -1))
        .collect::<Result<Vec<_>>>()?;
    concatenate(&flat, 0)
}

/// Joins same-shaped arrays along a new axis `axis` of the result (`mx.stack`).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1, 2, 3];
/// assert_eq!(mx::stack(&[&a, &a], -1)?.shape(), &[3, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn stack<A: Borrow<Array>>(arrays: &[A], axis: isize) -> Result<Array> {
    let arrays: Vec<&Array> = arrays.iter().map(|a| a.borrow()).collect();
    let Some(first) = arrays.first() else {
        return Err(Error::value("[stack] No arrays provided for stacking"));
    };
    if arrays.iter().any(|a| a.shape() != first.shape()) {
        return Err(Error::value("[stack] All arrays must have the same shape"));
    }
    let ax = normalize_axis(axis, first.ndim() + 1, "stack")?;
    let expanded = arrays
        .iter()
        .map(|a| expand_dims(a, ax as isize))
        .collect::<Result<Vec<_>>>()?;
    concatenate(&expanded, ax as isize)
}

/// How [`split`] divides an axis: into a number of equal sections (from an integer), or at
/// the given indices (from a list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndicesOrSections {
    /// This many equal parts.
    Sections(isize),
    /// Cut before each of these indices (Python slicing rules: negative counts from the end,
    /// out of range clamps, so unsorted indices give empty parts).
    Indices(Vec<isize>),
}

macro_rules! split_from {
    ($($t:ty),*) => {$(
        impl From<$t> for IndicesOrSections {
            fn from(n: $t) -> Self { IndicesOrSections::Sections(n as isize) }
        }
        impl<const N: usize> From<[$t; N]> for IndicesOrSections {
            fn from(v: [$t; N]) -> Self { IndicesOrSections::Indices(v.iter().map(|&i| i as isize).collect()) }
        }
        impl<const N: usize> From<&[$t; N]> for IndicesOrSections {
            fn from(v: &[$t; N]) -> Self { IndicesOrSections::Indices(v.iter().map(|&i| i as isize).collect()) }
        }
        impl From<&[$t]> for IndicesOrSections {
            fn from(v: &[$t]) -> Self { IndicesOrSections::Indices(v.iter().map(|&i| i as isize).collect()) }
        }
        impl From<Vec<$t>> for IndicesOrSections {
            fn from(v: Vec<$t>) -> Self { IndicesOrSections::Indices(v.iter().map(|&i| i as isize).collect()) }
        }
    )*};
}
split_from!(i32, i64, isize, usize);

/// Splits `a` along `axis` (`mx.split`): into `n` equal parts when given an integer (an error
/// if the axis does not divide evenly), or at the given indices when given a list (`k` indices
/// make `k + 1` parts). Every part is a view of `a`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::arange(0, 6, 1)?;
/// let parts = mx::split(&a, 3, 0)?;
/// assert_eq!(parts[1].to_vec::<i32>()?, vec![2, 3]);
/// let parts = mx::split(&a, [1, 4], 0)?;
/// assert_eq!(parts.iter().map(|p| p.size()).collect::<Vec<_>>(), vec![1, 3, 2]);
/// assert!(mx::split(&a, 4, 0).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn split(
    a: &Array,
    indices_or_sections: impl Into<IndicesOrSections>,
    axis: isize,
) -> Result<Vec<Array>> {
    let ax = normalize_axis(axis, a.ndim(), "split")?;
    let n = a.shape()[ax];
    let indices: Vec<isize> = match indices_or_sections.into() {
        IndicesOrSections::Indices(v) => v,
        IndicesOrSections::Sections(k) => {
            if k <= 0 {
                return Err(Error::value(format!(
                    "[split] num_splits must be positive and non-zero but got {k}."
                )));
            }
            if !n.is_multiple_of(k as usize) {
                return Err(Error::value(format!(
                    "Array split does not result in sub arrays with equal size: attempting {k} splits along axis {axis} for shape {}.",
                    fmt_shape(a.shape())
                )));
            }
            let size = n / k as usize;
            (1..k as usize).map(|i| (i * size) as isize).collect()
        }
    };
    let mut start = vec![0isize; a.ndim()];
    let mut stop: Vec<isize> = a.shape().iter().map(|&d| d as isize).collect();
    let strides = vec![1isize; a.ndim()];
    let mut parts = Vec::with_capacity(indices.len() + 1);
    for i in 0..=indices.len() {
        stop[ax] = indices.get(i).copied().unwrap_or(n as isize);
        parts.push(slice(a, &start, &stop, &strides)?);
        start[ax] = stop[ax];
    }
    Ok(parts)
}

/// The slices of `a` along `axis`, with that axis removed (`mx.unstack`; the inverse of
/// [`stack`]). Views of `a`.
///
/// ```
/// use rmlx_core as mx;
/// let rows = mx::unstack(&mx::array![[1, 2], [3, 4]], 1)?;
/// assert_eq!(rows[1].to_vec::<i32>()?, vec![2, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn unstack(a: &Array, axis: isize) -> Result<Vec<Array>> {
    let ax = normalize_axis(axis, a.ndim(), "unstack")?;
    if a.shape()[ax] == 0 {
        return Ok(Vec::new());
    }
    split(a, a.shape()[ax], ax as isize)?
        .iter()
        .map(|p| squeeze(p, Some(ax)))
        .collect()
}

/// Coordinate grids from 1-D coordinate arrays (`mx.meshgrid`): `indexing` is `"xy"`
/// (Cartesian: the first two output axes swapped) or `"ij"` (matrix); with `sparse` the
/// outputs are left unbroadcast (size 1 on the other axes). Inputs of other ranks are
/// flattened.
///
/// ```
/// use rmlx_core as mx;
/// let g = mx::meshgrid(&[mx::array![1, 2, 3], mx::array![4, 5]], false, "xy")?;
/// assert_eq!(g[0].shape(), &[2, 3]);
/// assert_eq!(g[1].to_vec::<i32>()?, vec![4, 4, 4, 5, 5, 5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn meshgrid<A: Borrow<Array>>(
    arrays: &[A],
    sparse: bool,
    indexing: &str,
) -> Result<Vec<Array>> {
    if indexing != "xy" && indexing != "ij" {
        return Err(Error::value(
            "[meshgrid] Invalid indexing value. Valid values are 'xy' and 'ij'.",
        ));
    }
    let arrays: Vec<&Array> = arrays.iter().map(|a| a.borrow()).collect();
    let nd = arrays.len();
    let mut outputs = Vec::with_capacity(nd);
    for (i, a) in arrays.iter().enumerate() {
        let mut shape = vec![1isize; nd];
        shape[i] = a.size() as isize;
        if indexing == "xy" && i < 2 && nd > 1 {
            shape[i] = 1;
            shape[1 - i] = a.size() as isize;
        }
        outputs.push(reshape(a, &shape)?);
    }
    if sparse {
        Ok(outputs)
    } else {
        broadcast_arrays(&outputs)
    }
}

/// Joining methods on `Array`.
impl Array {
    /// See [`split`].
    pub fn split(
        &self,
        indices_or_sections: impl Into<IndicesOrSections>,
        axis: isize,
    ) -> Result<Vec<Array>> {
        split(self, indices_or_sections, axis)
    }
}

#[cfg(test)]
mod tests {
    use crate as mx;
    use std::sync::Arc;

    #[test]
    fn dims_past_32_bits_are_overflow_errors() {
        // Lazy: nothing of this size is allocated.
        let big = mx::zeros(&[1 << 30], mx::float32).unwrap();
        let err = mx::concatenate(&[&big, &big, &big], 0).unwrap_err();
        assert_eq!(err.kind(), mx::ErrorKind::Overflow);
        assert!(err.to_string().contains("3221225472"), "{err}");
        let err = mx::repeat(&big, 2).unwrap_err();
        assert_eq!(err.kind(), mx::ErrorKind::Overflow);
        let small = mx::zeros(&[1 << 16], mx::float32).unwrap();
        let err = mx::kron(&small, &small).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("[kron] Shape dimension 4294967296"),
            "{err}"
        );
        let err = mx::concatenate(&[&big, &big], 0).unwrap_err();
        assert!(err.to_string().contains("2147483648"), "{err}");
        let half = mx::zeros(&[(1 << 30) - 1], mx::float32).unwrap();
        let fits = mx::concatenate(&[&big, &half], 0).unwrap();
        assert_eq!(fits.shape(), &[i32::MAX as usize]);
    }

    #[test]
    fn split_parts_are_views() {
        let a = mx::arange(0, 12, 1).unwrap().reshape(&[3, 4]).unwrap();
        a.eval().unwrap();
        let parts = mx::split(&a, [1, -1, 9], 1).unwrap();
        let shapes: Vec<&[usize]> = parts.iter().map(|p| p.shape()).collect();
        assert_eq!(shapes, vec![&[3, 1][..], &[3, 2], &[3, 1], &[3, 0]]);
        for p in &parts {
            assert!(Arc::ptr_eq(
                &p.data().unwrap().buffer,
                &a.data().unwrap().buffer
            ));
        }
        let cols = mx::unstack(&a, -1).unwrap();
        assert_eq!(cols[2].to_vec::<i32>().unwrap(), vec![2, 6, 10]);
        assert!(Arc::ptr_eq(
            &cols[2].data().unwrap().buffer,
            &a.data().unwrap().buffer
        ));
    }

    #[test]
    fn concatenate_copies_strided_inputs() {
        let a = mx::arange(0, 6, 1).unwrap().reshape(&[2, 3]).unwrap();
        let c = mx::concatenate(&[a.T(), mx::flip(&a.T()).unwrap()], 1).unwrap();
        assert_eq!(
            c.to_vec::<i32>().unwrap(),
            vec![0, 3, 5, 2, 1, 4, 4, 1, 2, 5, 3, 0]
        );
    }

    /// A diamond: `x1` feeds the result directly and through a slice of it.
    #[test]
    fn diamond_graphs_evaluate_inputs_first() {
        let a = mx::arange(0, 4, 1).unwrap();
        let x1 = mx::concatenate(&[&a, &a], 0).unwrap();
        let edge = mx::slice_axis(&x1, 0, 0..1).unwrap();
        let y = mx::concatenate(&[&edge, &x1], 0).unwrap();
        assert_eq!(y.to_vec::<i32>().unwrap(), vec![0, 0, 1, 2, 3, 0, 1, 2, 3]);
    }
}
