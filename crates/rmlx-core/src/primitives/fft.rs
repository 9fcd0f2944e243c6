//! The FFT primitive (MLX's `FFT`): a discrete Fourier transform along distinct axes, complex
//! or real, forward or inverse, computed by [`crate::cpu::fft`].
//!
//! The op functions in [`crate::fft`] crop or zero-pad the input and cast it first, so the
//! primitive's input already has the transform's lengths: complex64 for complex transforms and
//! `irfftn`, float32 for `rfftn`.

use crate::array::{Array, Data};
use crate::dtype::Dtype;
use crate::error::Result;
use crate::fft::{FftNorm, fftn_impl};
use crate::ops;
use crate::primitive::{OutputSpec, Primitive, same_params};
use crate::scalar::Scalar;

/// A transform along `axes` (distinct, normalised). `real`: `rfftn` (forward, float32 in) or
/// `irfftn` (inverse, float32 out), the last axis being the real one. Inverse transforms are
/// scaled by `1 / n` ("backward" normalisation).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Fft {
    pub(crate) axes: Vec<usize>,
    pub(crate) inverse: bool,
    pub(crate) real: bool,
}

impl Fft {
    fn axes_isize(&self) -> Vec<isize> {
        self.axes.iter().map(|&a| a as isize).collect()
    }
    fn last(&self) -> usize {
        *self.axes.last().expect("an FFT has at least one axis")
    }
}

/// A 0-D array of `v` in `dtype`.
fn constant(v: f64, dtype: Dtype) -> Result<Array> {
    Scalar::Float(v).to_array(dtype)
}

/// The weights along the real axis that account for the Hermitian symmetry of a real
/// transform: `inner` for the frequencies strictly between 0 and the last one that has a
/// mirror image (`len - 1 + odd`), `edge` at the others; shaped to broadcast along `axis`.
fn symmetry_mask(
    ndim: usize,
    axis: usize,
    len: usize,
    odd: bool,
    inner: f64,
    edge: f64,
    dtype: Dtype,
) -> Result<Array> {
    let mut shape = vec![1isize; ndim];
    shape[axis] = len as isize;
    let idx = ops::reshape(&ops::arange(0, len as i64, 1)?, &shape[..])?;
    let last = len as i64 - 1 + odd as i64;
    let inside = ops::logical_and(&ops::greater(&idx, 0)?, &ops::less(&idx, last)?)?;
    ops::r#where(&inside, &constant(inner, dtype)?, &constant(edge, dtype)?)
}

impl Primitive for Fft {
    fn name(&self) -> &'static str {
        "FFT"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![crate::cpu::fft::fft(
            &inputs[0],
            &self.axes,
            self.inverse,
            self.real,
            &outputs[0],
        )?])
    }
    /// MLX's rule: the adjoint transform, with the Hermitian weights of real transforms.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let cot = &cotangents[0];
        let axes = self.axes_isize();
        let sized = if self.inverse { cot } else { x };
        let n_elements: f64 = self.axes.iter().map(|&a| sized.shape()[a] as f64).product();
        let last = self.last();
        let back = FftNorm::Backward;
        let g = match (self.real, self.inverse) {
            (true, true) => {
                let len = x.shape()[last];
                let odd = cot.shape()[last] % 2 == 1;
                let mask = symmetry_mask(
                    x.ndim(),
                    last,
                    len,
                    odd,
                    2.0 / n_elements,
                    1.0 / n_elements,
                    x.dtype(),
                )?;
                let n: Vec<isize> = self.axes.iter().map(|&a| cot.shape()[a] as isize).collect();
                ops::multiply(&fftn_impl(cot, &n, &axes, true, false, back)?, &mask)?
            }
            (true, false) => {
                let n: Vec<isize> = self.axes.iter().map(|&a| x.shape()[a] as isize).collect();
                let len = cot.shape()[last];
                let odd = x.shape()[last] % 2 == 1;
                let mask = symmetry_mask(x.ndim(), last, len, odd, 0.5, 1.0, Dtype::Complex64)?;
                let y = fftn_impl(&ops::multiply(cot, &mask)?, &n, &axes, true, true, back)?;
                ops::multiply(&y, &constant(n_elements, x.dtype())?)?
            }
            (false, inverse) => {
                let n: Vec<isize> = self.axes.iter().map(|&a| cot.shape()[a] as isize).collect();
                let y = fftn_impl(cot, &n, &axes, false, !inverse, back)?;
                let s = if inverse {
                    1.0 / n_elements
                } else {
                    n_elements
                };
                ops::multiply(&y, &constant(s, Dtype::Complex64)?)?
            }
        };
        Ok(vec![g])
    }
    /// The same transform of the tangent (the op is linear). For `irfftn` the output's real
    /// length is kept (MLX 0.32.4 uses `2 * (m - 1)`, wrong for an odd length).
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let t = &tangents[0];
        let sized = if self.real && self.inverse {
            &outputs[0]
        } else {
            t
        };
        let n: Vec<isize> = self
            .axes
            .iter()
            .map(|&a| sized.shape()[a] as isize)
            .collect();
        let y = fftn_impl(
            t,
            &n,
            &self.axes_isize(),
            self.real,
            self.inverse,
            FftNorm::Backward,
        )?;
        Ok(vec![y])
    }
    /// The transform axes shifted past the batch axis.
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let b = axes[0];
        let shift = |a: usize| match b {
            Some(b) if a >= b => a + 1,
            _ => a,
        };
        let p = Fft {
            axes: self.axes.iter().map(|&a| shift(a)).collect(),
            inverse: self.inverse,
            real: self.real,
        };
        let mut shape = x.shape().to_vec();
        shape[p.last()] = outputs[0].shape[self.last()];
        let out = Array::from_op(shape, outputs[0].dtype, p, vec![x.clone()]);
        Ok((vec![out], vec![b]))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
