//! Primitives that copy an input into a new arrangement: constant padding, a vector placed on
//! a diagonal, and the triangular masks.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::copy::{copy_into, first_element};
use crate::element::Element;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `pad` in constant mode: the output filled with the first element of the second input (the
/// pad value, already in the output dtype), the first input copied in at offset `low` on each
/// axis.
#[derive(Debug, PartialEq)]
pub(crate) struct Pad {
    pub(crate) low: Vec<usize>,
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
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `diag` of a vector: a square matrix of zeros with the vector on diagonal `k`.
#[derive(Debug, PartialEq)]
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
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
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
#[derive(Debug, PartialEq)]
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
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `triu`: zeroes the elements below diagonal `k` of each matrix (columns `j < i + k`).
#[derive(Debug, PartialEq)]
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
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
