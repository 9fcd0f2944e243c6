//! Matrix products: matmul, addmm, inner, outer, vecdot, tensordot, kron, gather_mm,
//! segmented_mm, block_masked_mm, and the Hadamard transform.
//!
//! `matmul` follows MLX (and numpy): a 1-D first operand gets a leading dimension, a 1-D second
//! operand a trailing one, both removed from the result; the dimensions before the last two
//! broadcast. Only inexact dtypes multiply as matrices (MLX rejects integers and bool).

use super::{Axes, broadcast_two, normalize_axis};
use crate::array::Array;
use crate::dtype::{Dtype, promote_types};
use crate::error::{Error, Result, fmt_shape};
use crate::primitives::linalg::{AddMM, GatherMM, Hadamard, Matmul, SegmentedMM, VecDot};

/// Operands of a (batched) matrix product, ready for the node.
struct Prepared {
    a: Array,
    b: Array,
    /// `batch + [m, n]`.
    full: Vec<usize>,
    /// Axes of `full` that a 1-D operand added (removed from the result).
    added: Vec<usize>,
}

/// Expands 1-D operands, checks the inner dimensions, broadcasts the batch dimensions and
/// converts both to `dtype`.
fn prepare(a: &Array, b: &Array, dtype: Dtype, op: &str) -> Result<Prepared> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(Error::value(format!(
            "[{op}] Got 0 dimension input. Inputs must have at least one dimension."
        )));
    }
    let a2 = if a.ndim() == 1 {
        super::expand_dims(a, 0)?
    } else {
        a.clone()
    };
    let b2 = if b.ndim() == 1 {
        super::expand_dims(b, -1)?
    } else {
        b.clone()
    };
    let (na, nb) = (a2.ndim(), b2.ndim());
    let (m, k) = (a2.shape()[na - 2], a2.shape()[na - 1]);
    let (k2, n) = (b2.shape()[nb - 2], b2.shape()[nb - 1]);
    if k != k2 {
        return Err(Error::value(format!(
            "[{op}] Last dimension of first input with shape {} must match second to last \
             dimension of second input with shape {}.",
            fmt_shape(a2.shape()),
            fmt_shape(b2.shape())
        )));
    }
    let batch = broadcast_two(&a2.shape()[..na - 2], &b2.shape()[..nb - 2])?;
    let with = |tail: [usize; 2]| {
        let mut s = batch.clone();
        s.extend(tail);
        s
    };
    // Each operand's batch broadcast against the other's (MLX's BroadcastAxes): a shapeless
    // replay follows both.
    let (a2, b2) = (super::astype(&a2, dtype)?, super::astype(&b2, dtype)?);
    let (a2, b2) = (
        super::shape::broadcast_batch(&a2, &b2, with([m, k]))?,
        super::shape::broadcast_batch(&b2, &a2, with([k, n]))?,
    );
    let full = with([m, n]);
    let nd = full.len();
    let mut added = Vec::new();
    if a.ndim() == 1 {
        added.push(nd - 2);
    }
    if b.ndim() == 1 {
        added.push(nd - 1);
    }
    Ok(Prepared {
        a: a2,
        b: b2,
        full,
        added,
    })
}

/// `a`'s batch axes folded into its rows, as MLX does when the second operand of a product
/// has no batch axes (`b.ndim() <= 2`): one 2-D product, so the second operand's gradient is
/// one product over all rows instead of one per batch element summed after. `None` when that
/// does not apply: `a` with at most 2 axes, a batched `b`, inner dimensions that do not match
/// (the unfolded path reports them), or a shapeless trace, whose replays may change the batch
/// sizes the fold would bake in (MLX's `in_dynamic_tracing`).
fn fold_rows(a: &Array, b: &Array) -> Result<Option<(Array, Vec<usize>)>> {
    let (na, nb) = (a.ndim(), b.ndim());
    if na <= 2 || nb == 0 || nb > 2 || crate::transforms::in_shapeless_tracing() {
        return Ok(None);
    }
    let k = a.shape()[na - 1];
    let (kb, n) = match *b.shape() {
        [kb] => (kb, None),
        [kb, n] => (kb, Some(n)),
        _ => unreachable!("1 or 2 axes"),
    };
    if k != kb {
        return Ok(None);
    }
    let rows: usize = a.shape()[..na - 1].iter().product();
    let mut out_shape = a.shape()[..na - 1].to_vec();
    out_shape.extend(n);
    Ok(Some((super::reshape(a, [rows, k])?, out_shape)))
}

impl Prepared {
    /// The result's shape: `full` without the added axes.
    fn out_shape(&self) -> Vec<usize> {
        (0..self.full.len())
            .filter(|i| !self.added.contains(i))
            .map(|i| self.full[i])
            .collect()
    }
}

/// Matrix product with broadcast batch dimensions (`mx.matmul`, the `@` operator).
///
/// 1-D operands are treated as a row (first) or column (second) vector, and that dimension is
/// removed from the result. Integer and bool inputs are an error, as in MLX; mixed dtypes
/// promote.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 2.0], [3.0, 4.0]];
/// let c = mx::matmul(&a, &mx::array![1.0, 1.0])?;
/// assert_eq!(c.to_vec::<f32>()?, vec![3.0, 7.0]);
/// assert!(mx::matmul(&mx::array![[1, 2]], &mx::array![[3], [4]]).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn matmul(a: &Array, b: &Array) -> Result<Array> {
    let dtype = promote_types(a.dtype(), b.dtype());
    if !dtype.is_inexact() {
        return Err(Error::value(format!(
            "[matmul] Only inexact types are supported but {} and {} were provided which \
             results in {dtype}, which is not a floating point type.",
            a.dtype(),
            b.dtype()
        )));
    }
    if let Some((rows, out_shape)) = fold_rows(a, b)? {
        return super::reshape(&matmul(&rows, b)?, out_shape);
    }
    let p = prepare(a, b, dtype, "matmul")?;
    let out_shape = p.out_shape();
    let out = Array::from_op(p.full, dtype, Matmul, vec![p.a, p.b]);
    if p.added.is_empty() {
        Ok(out)
    } else {
        super::reshape(&out, out_shape)
    }
}

/// `alpha * (a @ b) + beta * c` (`mx.addmm`); `c` must broadcast to the product's shape.
/// MLX's defaults are `alpha = 1.0, beta = 1.0`. With `beta == 0`, `c` is not read (a NaN in
/// it does not propagate), as in BLAS.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 2.0]];
/// let b = mx::array![[3.0], [4.0]];
/// let r = mx::addmm(&mx::array![1.0], &a, &b, 2.0, 0.5)?;
/// assert_eq!(r.to_vec::<f32>()?, vec![22.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn addmm(c: &Array, a: &Array, b: &Array, alpha: f32, beta: f32) -> Result<Array> {
    let dtype = promote_types(promote_types(c.dtype(), a.dtype()), b.dtype());
    if !dtype.is_inexact() {
        return Err(Error::value(format!(
            "[addmm] Only real floating point types are supported but {}, {} and {} were \
             provided which results in {dtype}, which is not a real floating point type.",
            c.dtype(),
            a.dtype(),
            b.dtype()
        )));
    }
    if b.ndim() == 2
        && c.ndim() <= 1
        && let Some((rows, out_shape)) = fold_rows(a, b)?
    {
        if broadcast_two(c.shape(), &out_shape).is_err() {
            return Err(Error::value(
                "[addmm] input c must broadcast to the output shape",
            ));
        }
        let flat = addmm(c, &rows, b, alpha, beta)?;
        return super::reshape(&flat, out_shape);
    }
    let p = prepare(a, b, dtype, "addmm")?;
    let out_shape = p.out_shape();
    if broadcast_two(c.shape(), &out_shape).ok().as_deref() != Some(out_shape.as_slice()) {
        return Err(Error::value(
            "[addmm] input c must broadcast to the output shape",
        ));
    }
    let mut c2 = super::broadcast_to(super::astype(c, dtype)?, &out_shape)?;
    if !p.added.is_empty() {
        c2 = super::expand_dims(&c2, p.added.clone())?;
    }
    let out = Array::from_op(p.full, dtype, AddMM { alpha, beta }, vec![c2, p.a, p.b]);
    if p.added.is_empty() {
        Ok(out)
    } else {
        super::reshape(&out, out_shape)
    }
}

/// Ordinary inner product over the last axes (`mx.inner`); with a 0-D operand, the product.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 2.0], [3.0, 4.0]];
/// let r = mx::inner(&a, &mx::array![1.0, 1.0])?;
/// assert_eq!(r.to_vec::<f32>()?, vec![3.0, 7.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn inner(a: &Array, b: &Array) -> Result<Array> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return super::multiply(a, b);
    }
    if a.shape()[a.ndim() - 1] != b.shape()[b.ndim() - 1] {
        return Err(Error::value(format!(
            "[inner] a and b must have the same last dimension, got shapes {} and {}.",
            fmt_shape(a.shape()),
            fmt_shape(b.shape())
        )));
    }
    tensordot(a, b, ([-1], [-1]))
}

/// Outer product of the flattened operands (`mx.outer`): shape `(a.size, b.size)`.
///
/// ```
/// use rmlx_core as mx;
/// let r = mx::outer(&mx::array![1, 2], &mx::array![1, 10, 100])?;
/// assert_eq!(r.shape(), &[2, 3]);
/// assert_eq!(r.to_vec::<i32>()?, vec![1, 10, 100, 2, 20, 200]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn outer(a: &Array, b: &Array) -> Result<Array> {
    super::multiply(super::reshape(a, [-1, 1])?, super::reshape(b, [-1])?)
}

/// `sum(conj(a) * b)` along the last axis (`mx.vecdot` with its default `axis=-1`).
///
/// ```
/// use rmlx_core as mx;
/// let r = mx::vecdot(&mx::array![[1, 2], [3, 4]], &mx::array![[1, 1], [2, 2]])?;
/// assert_eq!(r.to_vec::<i32>()?, vec![3, 14]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vecdot(a: &Array, b: &Array) -> Result<Array> {
    vecdot_axis(a, b, -1)
}

/// `vecdot` along `axis` (`mx.vecdot(a, b, axis=axis)`). Both operands must have the same
/// number of dimensions and the same size along `axis`; the other dimensions broadcast. The
/// first operand is conjugated; bool and small integers sum into int32 / uint32 as `sum` does.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 2.0], [3.0, 4.0]];
/// assert_eq!(mx::vecdot_axis(&a, &a, 0)?.to_vec::<f32>()?, vec![10.0, 20.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vecdot_axis(a: &Array, b: &Array, axis: isize) -> Result<Array> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(Error::value("[vecdot] inputs must be at least 1D."));
    }
    let nd = a.ndim();
    if nd != b.ndim() {
        return Err(Error::value(format!(
            "[vecdot] axis is out of bounds: the inputs have shapes {} and {} (different \
             numbers of dimensions).",
            fmt_shape(a.shape()),
            fmt_shape(b.shape())
        )));
    }
    let ax = normalize_axis(axis, nd, "vecdot")?;
    if a.shape()[ax] != b.shape()[ax] {
        return Err(Error::value(format!(
            "[vecdot] a and b must have the same size along axis {axis}, got shapes {} and {}.",
            fmt_shape(a.shape()),
            fmt_shape(b.shape())
        )));
    }
    let dtype = promote_types(a.dtype(), b.dtype());
    let out_dtype = match dtype {
        Dtype::Bool | Dtype::Int8 | Dtype::Int16 => Dtype::Int32,
        Dtype::Uint8 | Dtype::Uint16 => Dtype::Uint32,
        d => d,
    };
    let last = nd as isize - 1;
    let a2 = super::moveaxis(&super::astype(a, dtype)?, ax as isize, last)?;
    let b2 = super::moveaxis(&super::astype(b, dtype)?, ax as isize, last)?;
    let shape = broadcast_two(a2.shape(), b2.shape())?;
    let a2 = super::broadcast_to(a2, &shape)?;
    let b2 = super::broadcast_to(b2, &shape)?;
    Ok(Array::from_op(
        shape[..nd - 1].to_vec(),
        out_dtype,
        VecDot,
        vec![a2, b2],
    ))
}

/// The `axes` argument of [`tensordot`]: a count (the last `n` axes of `a` against the first
/// `n` of `b`) or two lists of axes contracted pairwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensordotAxes {
    /// Contract the last `n` axes of `a` with the first `n` axes of `b`.
    Count(i64),
    /// Contract `a`'s axes `.0[i]` with `b`'s axes `.1[i]`.
    Pairs(Vec<isize>, Vec<isize>),
}

impl From<i32> for TensordotAxes {
    fn from(n: i32) -> Self {
        TensordotAxes::Count(n as i64)
    }
}
impl From<i64> for TensordotAxes {
    fn from(n: i64) -> Self {
        TensordotAxes::Count(n)
    }
}
impl From<usize> for TensordotAxes {
    fn from(n: usize) -> Self {
        TensordotAxes::Count(n as i64)
    }
}
impl<A: Axes, B: Axes> From<(A, B)> for TensordotAxes {
    fn from((a, b): (A, B)) -> Self {
        TensordotAxes::Pairs(a.to_axes(), b.to_axes())
    }
}

/// Tensor contraction (`mx.tensordot`); MLX's default is `axes = 2`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::ones(&[2, 3, 4], mx::float32)?;
/// let b = mx::ones(&[4, 3, 5], mx::float32)?;
/// assert_eq!(mx::tensordot(&a, &b, ([1, 2], [1, 0]))?.shape(), &[2, 5]);
/// assert_eq!(mx::tensordot(&a, &mx::ones(&[4, 5], mx::float32)?, 1)?.shape(), &[2, 3, 5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tensordot(a: &Array, b: &Array, axes: impl Into<TensordotAxes>) -> Result<Array> {
    let (na, nb) = (a.ndim(), b.ndim());
    let (ax_a, ax_b): (Vec<usize>, Vec<usize>) = match axes.into() {
        TensordotAxes::Count(n) => {
            if n < 0 {
                return Err(Error::value(format!(
                    "[tensordot] axis must be greater or equal to 0, got {n}."
                )));
            }
            let n = n as usize;
            if n > na || n > nb {
                return Err(Error::value(format!(
                    "[tensordot] axis must be less than the number of dimensions of a and b, \
                     got {n} for shapes {} and {}.",
                    fmt_shape(a.shape()),
                    fmt_shape(b.shape())
                )));
            }
            ((na - n..na).collect(), (0..n).collect())
        }
        TensordotAxes::Pairs(x, y) => {
            if x.len() != y.len() {
                return Err(Error::value(format!(
                    "[tensordot] axes must have the same size, got {} and {}.",
                    x.len(),
                    y.len()
                )));
            }
            let norm = |axes: &[isize], nd: usize| -> Result<Vec<usize>> {
                let mut out: Vec<usize> = Vec::with_capacity(axes.len());
                for &ax in axes {
                    let v = normalize_axis(ax, nd, "tensordot")?;
                    if out.contains(&v) {
                        return Err(Error::value(format!(
                            "[tensordot] Received duplicate axis {ax}."
                        )));
                    }
                    out.push(v);
                }
                Ok(out)
            };
            (norm(&x, na)?, norm(&y, nb)?)
        }
    };
    if ax_a
        .iter()
        .zip(&ax_b)
        .any(|(&i, &j)| a.shape()[i] != b.shape()[j])
    {
        return Err(Error::value(format!(
            "[tensordot] a and b must have the same shape on the contracted axes, got shapes \
             {} and {}.",
            fmt_shape(a.shape()),
            fmt_shape(b.shape())
        )));
    }
    let free_a: Vec<usize> = (0..na).filter(|i| !ax_a.contains(i)).collect();
    let free_b: Vec<usize> = (0..nb).filter(|i| !ax_b.contains(i)).collect();
    let size = |x: &Array, axes: &[usize]| axes.iter().map(|&i| x.shape()[i]).product::<usize>();
    let (m, k, n) = (size(a, &free_a), size(a, &ax_a), size(b, &free_b));
    let perm_a: Vec<usize> = free_a.iter().chain(&ax_a).copied().collect();
    let perm_b: Vec<usize> = ax_b.iter().chain(&free_b).copied().collect();
    let a2 = super::reshape(&super::permute_dims(a, perm_a)?, [m, k])?;
    let b2 = super::reshape(&super::permute_dims(b, perm_b)?, [k, n])?;
    let out_shape: Vec<usize> = free_a
        .iter()
        .map(|&i| a.shape()[i])
        .chain(free_b.iter().map(|&i| b.shape()[i]))
        .collect();
    super::reshape(&matmul(&a2, &b2)?, out_shape)
}

/// Kronecker product (`mx.kron`): every element of `a` times the whole of `b`, tiled. The
/// operands may be of any dtype (the product is elementwise) but not empty.
///
/// ```
/// use rmlx_core as mx;
/// let r = mx::kron(&mx::array![1, 2], &mx::array![1, 10])?;
/// assert_eq!(r.to_vec::<i32>()?, vec![1, 10, 2, 20]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn kron(a: &Array, b: &Array) -> Result<Array> {
    if a.size() == 0 || b.size() == 0 {
        return Err(Error::value(format!(
            "[kron] Input arrays cannot be empty, got shapes {} and {}.",
            fmt_shape(a.shape()),
            fmt_shape(b.shape())
        )));
    }
    let nd = a.ndim().max(b.ndim());
    let pad = |s: &[usize]| {
        let mut v = vec![1usize; nd - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (sa, sb) = (pad(a.shape()), pad(b.shape()));
    let a_shape: Vec<usize> = sa.iter().flat_map(|&d| [d, 1]).collect();
    let b_shape: Vec<usize> = sb.iter().flat_map(|&d| [1, d]).collect();
    let out_shape: Vec<usize> = sa
        .iter()
        .zip(&sb)
        .map(|(x, y)| crate::error::check_dim("kron", x.saturating_mul(*y)))
        .collect::<Result<_>>()?;
    let prod = super::multiply(super::reshape(a, a_shape)?, super::reshape(b, b_shape)?)?;
    super::reshape(&prod, out_shape)
}

/// The result dtype of the MLX products that accept only real floating types.
fn real_float_type(a: &Array, b: &Array, op: &str) -> Result<Dtype> {
    let dtype = promote_types(a.dtype(), b.dtype());
    if !dtype.is_floating() {
        return Err(Error::value(format!(
            "[{op}] Only real floating point types are supported but {} and {} were provided \
             which results in {dtype}, which is not a real floating point type.",
            a.dtype(),
            b.dtype()
        )));
    }
    Ok(dtype)
}

/// `a` and `b` as matrices: a 1-D `a` becomes a row, a 1-D `b` a column; the inner
/// dimensions must agree.
fn as_matrices(a: &Array, b: &Array, op: &str) -> Result<(Array, Array)> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(Error::value(format!(
            "[{op}] Got 0 dimension input. Inputs must have at least one dimension."
        )));
    }
    let a2 = if a.ndim() == 1 {
        super::expand_dims(a, 0)?
    } else {
        a.clone()
    };
    let b2 = if b.ndim() == 1 {
        super::expand_dims(b, 1)?
    } else {
        b.clone()
    };
    if a2.shape()[a2.ndim() - 1] != b2.shape()[b2.ndim() - 2] {
        return Err(Error::value(format!(
            "[{op}] Last dimension of first input with shape {} must match second to last \
             dimension of second input with shape {}.",
            fmt_shape(a2.shape()),
            fmt_shape(b2.shape())
        )));
    }
    Ok((a2, b2))
}

/// Removes the axes a 1-D operand added (the row of `a`, the column of `b`).
fn drop_added(out: Array, a_was_1d: bool, b_was_1d: bool) -> Result<Array> {
    let nd = out.ndim() as isize;
    let mut axes = Vec::new();
    if a_was_1d {
        axes.push(nd - 2);
    }
    if b_was_1d {
        axes.push(nd - 1);
    }
    if axes.is_empty() {
        Ok(out)
    } else {
        super::squeeze(&out, Some(axes))
    }
}

/// Matrix product with a gather of whole matrices (`mx.gather_mm`): output element `i` (over
/// the broadcast shape of the index arrays) is `a[lhs_indices[i]] @ b[rhs_indices[i]]`, where
/// the indices are flat over the batch dimensions (all but the last two) of each operand. A
/// missing index array means "every matrix in order"; with neither, this is [`matmul`].
/// `sorted_indices` is a hint MLX may use for speed; the result does not depend on it. An index
/// out of range is an index error at evaluation.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 2.0]];                              // (1, 2)
/// let b = mx::array![[[1.0], [0.0]], [[0.0], [1.0]]];          // two (2, 1) matrices
/// let r = mx::gather_mm(&a, &b, None, Some(&mx::array![1, 0, 1]), false)?;
/// assert_eq!(r.shape(), &[3, 1, 1]);
/// assert_eq!(r.to_vec::<f32>()?, vec![2.0, 1.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn gather_mm(
    a: &Array,
    b: &Array,
    lhs_indices: Option<&Array>,
    rhs_indices: Option<&Array>,
    sorted_indices: bool,
) -> Result<Array> {
    let _ = sorted_indices;
    if lhs_indices.is_none() && rhs_indices.is_none() {
        return matmul(a, b);
    }
    let (a2, b2) = as_matrices(a, b, "gather_mm")?;
    let dtype = real_float_type(a, b, "gather_mm")?;
    let li = super::quantized::indices_or_default("gather_mm", lhs_indices, &a2)?;
    let ri = super::quantized::indices_or_default("gather_mm", rhs_indices, &b2)?;
    let shape = broadcast_two(li.shape(), ri.shape())?;
    let li = super::broadcast_to(&li, &shape[..])?;
    let ri = super::broadcast_to(&ri, &shape[..])?;
    let (m, n) = (a2.shape()[a2.ndim() - 2], b2.shape()[b2.ndim() - 1]);
    let mut out_shape = shape;
    out_shape.extend([m, n]);
    let inputs = vec![
        super::astype(&a2, dtype)?,
        super::astype(&b2, dtype)?,
        li,
        ri,
    ];
    let out = Array::from_op(out_shape, dtype, GatherMM, inputs);
    drop_added(out, a.ndim() == 1, b.ndim() == 1)
}

/// One matrix product per segment of the inner dimension (`mx.segmented_mm`): for 2-D `a`
/// `(M, K)` and `b` `(K, N)` and integer `segments` of shape `(..., 2)` holding `[start, end)`
/// pairs, the result `(..., M, N)` holds `a[:, start:end] @ b[start:end, :]` per segment. An
/// empty or reversed segment gives zeros; a segment past the inner dimension of `a` or `b` is
/// an index error at evaluation (as in MLX, `a`'s columns and `b`'s rows need not agree
/// beyond the segments).
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 2.0, 3.0]];
/// let b = mx::array![[1.0], [1.0], [1.0]];
/// let r = mx::segmented_mm(&a, &b, &mx::array![[0, 1], [1, 3]])?;
/// assert_eq!(r.to_vec::<f32>()?, vec![1.0, 5.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn segmented_mm(a: &Array, b: &Array, segments: &Array) -> Result<Array> {
    if a.ndim() != 2 || b.ndim() != 2 {
        return Err(Error::value("[segmented_mm] Batched matmul not supported"));
    }
    if segments.ndim() < 1 || segments.shape()[segments.ndim() - 1] != 2 {
        return Err(Error::value(format!(
            "[segmented_mm] The segments should have shape (..., 2) but {} was provided.",
            fmt_shape(segments.shape())
        )));
    }
    let dtype = real_float_type(a, b, "segmented_mm")?;
    if !segments.dtype().is_integer() {
        return Err(Error::value(
            "[segmented_mm] Got segments with invalid dtype. Segments must be integral.",
        ));
    }
    let mut out_shape = segments.shape()[..segments.ndim() - 1].to_vec();
    out_shape.extend([a.shape()[0], b.shape()[1]]);
    let inputs = vec![
        super::astype(a, dtype)?,
        super::astype(b, dtype)?,
        super::astype(segments, Dtype::Uint32)?,
    ];
    Ok(Array::from_op(out_shape, dtype, SegmentedMM, inputs))
}

/// Matrix product with blocks masked out (`mx.block_masked_mm`). With `a` `(..., M, K)` and `b`
/// `(..., K, N)`, the masks hold one value per `block_size x block_size` block (32 or 64):
/// `mask_lhs` `(..., ceil(M/bs), ceil(K/bs))` and `mask_rhs` `(..., ceil(K/bs), ceil(N/bs))`
/// apply to the operands, `mask_out` `(..., ceil(M/bs), ceil(N/bs))` to the result. A bool mask
/// zeroes the blocks where it is false; a float mask multiplies each block by its value
/// (a bool mask paired with a float one is converted to 0/1). With no mask this is [`matmul`].
///
/// MLX's CPU backend computes only float32; rmlx computes every real float type.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::ones(&[64, 64], mx::float32)?;
/// let mask = mx::array![[false]];
/// let r = mx::block_masked_mm(&a, &a, 64, Some(&mask), None, None)?;
/// assert_eq!(mx::sum(&r)?.item::<f32>()?, 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn block_masked_mm(
    a: &Array,
    b: &Array,
    block_size: usize,
    mask_out: Option<&Array>,
    mask_lhs: Option<&Array>,
    mask_rhs: Option<&Array>,
) -> Result<Array> {
    if mask_out.is_none() && mask_lhs.is_none() && mask_rhs.is_none() {
        return matmul(a, b);
    }
    if block_size != 32 && block_size != 64 {
        return Err(Error::value(format!(
            "[block_masked_mm] Only block_sizes 32, 64 are supported.Got block size {block_size}."
        )));
    }
    let (a2, b2) = as_matrices(a, b, "block_masked_mm")?;
    let dtype = real_float_type(a, b, "block_masked_mm")?;
    let (na, nb) = (a2.ndim(), b2.ndim());
    let (m, k, n) = (a2.shape()[na - 2], a2.shape()[na - 1], b2.shape()[nb - 1]);
    let batch = broadcast_two(&a2.shape()[..na - 2], &b2.shape()[..nb - 2])?;
    let tiles = |x: usize| x.div_ceil(block_size);
    let with = |tail: [usize; 2]| {
        let mut s = batch.clone();
        s.extend(tail);
        s
    };
    let mut a3 = super::broadcast_to(super::astype(&a2, dtype)?, with([m, k]))?;
    let mut b3 = super::broadcast_to(super::astype(&b2, dtype)?, with([k, n]))?;
    // A block mask broadcast to `(..., rows/bs, cols/bs)`, expanded to `(..., rows, cols)`.
    let expand = |mask: &Array, rows: usize, cols: usize, dt: Dtype| -> Result<Array> {
        let t = super::broadcast_to(super::astype(mask, dt)?, with([tiles(rows), tiles(cols)]))?;
        let nd = t.ndim() as isize;
        let t = super::repeat_axis(&t, block_size, nd - 2)?;
        let t = super::repeat_axis(&t, block_size, nd - 1)?;
        let mut stop: Vec<isize> = t.shape().iter().map(|&d| d as isize).collect();
        let len = stop.len();
        (stop[len - 2], stop[len - 1]) = (rows as isize, cols as isize);
        super::slice(&t, vec![0isize; len], stop, vec![1isize; len])
    };
    let apply = |x: &Array, mask: &Array| -> Result<Array> {
        if mask.dtype() == Dtype::Bool {
            super::where_(mask, x, &Array::scalar(0.0f32).astype(dtype)?)
        } else {
            super::multiply(x, mask)
        }
    };
    if mask_lhs.is_some() || mask_rhs.is_some() {
        let all_bool = mask_lhs.is_none_or(|x| x.dtype() == Dtype::Bool)
            && mask_rhs.is_none_or(|x| x.dtype() == Dtype::Bool);
        let mdt = if all_bool { Dtype::Bool } else { dtype };
        let vector_mask = |mask: Option<&Array>, axis: isize, add: bool| -> Result<Option<Array>> {
            match mask {
                None => Ok(None),
                Some(x) if add => Ok(Some(super::expand_dims(x, axis)?)),
                Some(x) => Ok(Some(x.clone())),
            }
        };
        if let Some(ml) = vector_mask(mask_lhs, -2, a.ndim() == 1)? {
            a3 = apply(&a3, &expand(&ml, m, k, mdt)?)?;
        }
        if let Some(mr) = vector_mask(mask_rhs, -1, b.ndim() == 1)? {
            b3 = apply(&b3, &expand(&mr, k, n, mdt)?)?;
        }
    }
    let mut out = Array::from_op(with([m, n]), dtype, Matmul, vec![a3, b3]);
    if let Some(mo) = mask_out {
        let mut mo = mo.clone();
        if a.ndim() == 1 {
            mo = super::expand_dims(&mo, -2)?;
        }
        if b.ndim() == 1 {
            mo = super::expand_dims(&mo, -1)?;
        }
        let mdt = if mo.dtype() == Dtype::Bool {
            Dtype::Bool
        } else {
            dtype
        };
        out = apply(&out, &expand(&mo, m, n, mdt)?)?;
    }
    drop_added(out, a.ndim() == 1, b.ndim() == 1)
}

/// The Walsh–Hadamard transform along the last axis (`mx.hadamard_transform`): `H @ x * scale`
/// per row, for lengths `m * 2^k` with `m` in `{1, 12, 20, 28}` and `k <= 26`, using MLX's
/// Hadamard matrices of orders 12, 20 and 28. `scale` defaults to `1 / sqrt(n)`, which makes
/// the transform orthonormal. Integer inputs become float32; float32, float16 and bfloat16 are
/// computed (float64 is an error, as in MLX).
///
/// Unlike MLX, which returns meaningless values for lengths such as 36 (12 times a
/// non-power of two), rmlx rejects every length it cannot transform.
///
/// ```
/// use rmlx_core as mx;
/// let h = mx::hadamard_transform(&mx::array![1.0, 0.0, 0.0, 0.0], Some(1.0))?;
/// assert_eq!(h.to_vec::<f32>()?, vec![1.0, 1.0, 1.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn hadamard_transform(a: &Array, scale: Option<f32>) -> Result<Array> {
    if a.size() == 0 {
        return Err(Error::value(
            "[hadamard_transform] Does not support empty arrays.",
        ));
    }
    let n = if a.ndim() > 0 {
        a.shape()[a.ndim() - 1]
    } else {
        1
    };
    let scale = scale.unwrap_or((1.0 / (n as f64).sqrt()) as f32);
    let dtype = if a.dtype().is_floating() {
        a.dtype()
    } else {
        Dtype::Float32
    };
    if n == 1 {
        if scale == 1.0 {
            return Ok(a.clone());
        }
        return super::multiply(a, &Array::scalar(scale).astype(dtype)?);
    }
    if dtype == Dtype::Float64 {
        return Err(Error::value("[hadamard] Unsupported type."));
    }
    if crate::cpu::hadamard::decompose(n).is_none() {
        let shape_ok = [1usize, 12, 20, 28]
            .iter()
            .any(|&f| n % f == 0 && (n / f).is_power_of_two());
        let msg = if shape_ok {
            "[hadamard] Only supports n = m*2^k where k <= 26"
        } else {
            "[hadamard] Only supports n = m*2^k where m in (1, 12, 20, 28)."
        };
        return Err(Error::value(msg));
    }
    let x = super::astype(a, dtype)?;
    Ok(Array::from_op(
        a.shape().to_vec(),
        dtype,
        Hadamard { scale },
        vec![x],
    ))
}
