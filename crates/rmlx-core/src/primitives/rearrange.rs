//! Primitives that copy an input into a new arrangement: constant padding, a vector placed on
//! a diagonal, and the triangular masks.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::copy::{copy_into, first_element};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::{OutputSpec, Primitive, same_params};
use crate::transforms::rules::batch_to_front;

/// `pad` in constant mode: the output filled with the first element of the second input (the
/// pad value, already in the output dtype), the first input copied in at offset `low` on each
/// axis.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pad {
    pub(crate) low: Vec<usize>,
}

impl Pad {
    /// The part of `cot` (shaped as the output) over the input `x`: the pad's vjp.
    fn inner(&self, x: &Array, cot: &Array) -> Result<Array> {
        let stop: Vec<usize> = self.low.iter().zip(x.shape()).map(|(l, d)| l + d).collect();
        ops::slice(cot, self.low.clone(), stop, vec![1usize; x.ndim()])
    }
}

impl Primitive for Pad {
    fn name(&self) -> &'static str {
        "Pad"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, v, spec) = (&inputs[0], &inputs[1], &outputs[0]);
        let (mut buf, strides) = Data::alloc(spec)?;
        if spec.size() > 0 {
            let (xd, vd) = (x.ready_data()?, v.ready_data()?);
            let start: isize = self
                .low
                .iter()
                .zip(&strides)
                .map(|(&l, &s)| l as isize * s)
                .sum();
            crate::dispatch_dtype!(spec.dtype, T => {
                let out = buffer_elements_mut::<T>(&mut buf);
                out.fill(first_element::<T>(&vd));
                if x.size() > 0 {
                    copy_into::<T>(&xd, x.shape(), out, start as usize, &strides);
                }
            });
        }
        Ok(vec![Data::from_buffer(buf, &spec.shape)])
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, v, cot) = (&primals[0], &primals[1], &cotangents[0]);
        let inner = self.inner(x, cot)?;
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    return Ok(inner.clone());
                }
                // The pad value fills every position outside the input: its cotangent is
                // the sum of the cotangent there, on the value's first element.
                let d = ops::subtract(&ops::sum(cot)?, &ops::sum(&inner)?)?;
                if v.size() <= 1 {
                    return ops::reshape(&d, v.shape().to_vec());
                }
                let rest = ops::zeros([v.size() - 1], d.dtype())?;
                let flat = ops::concatenate(&[ops::reshape(&d, [1usize])?, rest], 0)?;
                ops::reshape(&flat, v.shape().to_vec())
            })
            .collect()
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let out = &outputs[0];
        let terms = argnums.iter().zip(tangents).map(|(&i, t)| {
            let ins = if i == 0 {
                vec![t.clone(), ops::zeros([0usize; 0], t.dtype())?]
            } else {
                vec![ops::zeros_like(&primals[0])?, t.clone()]
            };
            let p = Pad {
                low: self.low.clone(),
            };
            Ok(Array::from_op(out.shape().to_vec(), out.dtype(), p, ins))
        });
        crate::transforms::rules::sum_terms(self.name(), terms)
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if axes[1].is_some() {
            return Err(Error::value(
                "[Pad::vmap] Vmap over padding value is not supported.",
            ));
        }
        let x = &inputs[0];
        let Some(b) = axes[0] else {
            let p = Pad {
                low: self.low.clone(),
            };
            return Ok((
                vec![Array::from_op(
                    outputs[0].shape.clone(),
                    outputs[0].dtype,
                    p,
                    inputs.to_vec(),
                )],
                vec![None],
            ));
        };
        let mut low = self.low.clone();
        low.insert(b, 0);
        let mut shape = outputs[0].shape.clone();
        shape.insert(b, x.shape()[b]);
        let p = Pad { low };
        Ok((
            vec![Array::from_op(shape, outputs[0].dtype, p, inputs.to_vec())],
            vec![Some(b)],
        ))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `diag` of a vector: a square matrix of zeros with the vector on diagonal `k`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DiagMatrix {
    pub(crate) k: isize,
}

impl Primitive for DiagMatrix {
    fn name(&self) -> &'static str {
        "DiagMatrix"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, spec) = (&inputs[0], &outputs[0]);
        let (mut buf, _) = Data::alloc(spec)?;
        let n = spec.shape[1];
        let (r0, c0) = ((-self.k).max(0) as usize, self.k.max(0) as usize);
        crate::dispatch_dtype!(spec.dtype, T => {
            let out = buffer_elements_mut::<T>(&mut buf);
            out.fill(T::from_i128(0));
            if x.size() > 0 {
                copy_into::<T>(&x.ready_data()?, x.shape(), out, r0 * n + c0, &[n as isize + 1]);
            }
        });
        Ok(vec![Data::from_buffer(buf, &spec.shape)])
    }
    // MLX's diag of a vector scatters it into zeros: the rules are those of that scatter.
    crate::transforms::rules::rules_via_fallback!(|s, xs| diag_fallback(&xs[0], s.k));
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `diag` of a vector written with plain ops, as MLX composes it: the vector scattered onto
/// diagonal `k` of a square matrix of zeros.
fn diag_fallback(x: &Array, k: isize) -> Result<Array> {
    let m = x.size();
    let n = m + k.unsigned_abs();
    let res = ops::zeros([n, n], x.dtype())?;
    if m == 0 {
        return Ok(res);
    }
    let (r0, c0) = ((-k).max(0) as f64, k.max(0) as f64);
    let rows = ops::arange_dtype(r0, r0 + m as f64, 1.0, crate::dtype::Dtype::Uint32)?;
    let cols = ops::arange_dtype(c0, c0 + m as f64, 1.0, crate::dtype::Dtype::Uint32)?;
    let upd = ops::reshape(x, [m, 1, 1])?;
    ops::scatter(
        &res,
        &[rows, cols],
        &upd,
        [0usize, 1],
        ops::ScatterReduce::None,
    )
}

/// `vmap` of a primitive acting on the last two axes (tril, triu): a batch axis among them
/// moves to the front first.
fn vmap_last_two(
    x: &Array,
    axis: Option<usize>,
    op: impl Fn(&Array) -> Result<Array>,
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    match axis {
        Some(b) if b + 2 >= x.ndim() => {
            Ok((vec![op(&batch_to_front(x, Some(b))?)?], vec![Some(0)]))
        }
        _ => Ok((vec![op(x)?], vec![axis])),
    }
}

/// Copies `x` row-major and zeroes, in each matrix of the last two axes, the columns of row `i`
/// in `zero(i)` (a range clamped to the row).
fn masked_copy(
    x: &Array,
    spec: &OutputSpec,
    zero: impl Fn(isize, isize) -> (isize, isize),
) -> Result<Data> {
    let (mut buf, strides) = Data::alloc(spec)?;
    if spec.size() == 0 {
        return Ok(Data::from_buffer(buf, &spec.shape));
    }
    let nd = spec.shape.len();
    let (rows, cols) = (spec.shape[nd - 2], spec.shape[nd - 1]);
    let xd = x.ready_data()?;
    crate::dispatch_dtype!(spec.dtype, T => {
        let out = buffer_elements_mut::<T>(&mut buf);
        copy_into::<T>(&xd, x.shape(), out, 0, &strides);
        for (r, row) in out.chunks_exact_mut(cols).enumerate() {
            let (lo, hi) = zero((r % rows) as isize, cols as isize);
            let (lo, hi) = (lo.clamp(0, cols as isize) as usize, hi.clamp(0, cols as isize) as usize);
            if lo < hi {
                row[lo..hi].fill(T::from_i128(0));
            }
        }
    });
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// `tril`: zeroes the elements above diagonal `k` of each matrix (columns `j > i + k`).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Tril {
    pub(crate) k: isize,
}

impl Primitive for Tril {
    fn name(&self) -> &'static str {
        "Tril"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let k = self.k;
        Ok(vec![masked_copy(&inputs[0], &outputs[0], |i, cols| {
            (i.saturating_add(k).saturating_add(1), cols)
        })?])
    }
    // MLX's tril is a where with a triangular mask: the cotangent and tangent are masked
    // the same way.
    fn vjp(
        &self,
        _primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![ops::tril(&cotangents[0], self.k)?])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![ops::tril(&tangents[0], self.k)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_last_two(&inputs[0], axes[0], |x| ops::tril(x, self.k))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `triu`: zeroes the elements below diagonal `k` of each matrix (columns `j < i + k`).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Triu {
    pub(crate) k: isize,
}

impl Primitive for Triu {
    fn name(&self) -> &'static str {
        "Triu"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let k = self.k;
        Ok(vec![masked_copy(&inputs[0], &outputs[0], |i, _| {
            (0, i.saturating_add(k))
        })?])
    }
    // MLX's triu is a where with a triangular mask: the cotangent and tangent are masked
    // the same way.
    fn vjp(
        &self,
        _primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![ops::triu(&cotangents[0], self.k)?])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![ops::triu(&tangents[0], self.k)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_last_two(&inputs[0], axes[0], |x| ops::triu(x, self.k))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
