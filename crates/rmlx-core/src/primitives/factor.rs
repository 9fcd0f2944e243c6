//! Factorisation primitives (`mx.linalg`'s LAPACK-backed nodes): `Inverse`, `Cholesky`,
//! `QRF`, `SVD`, `Eigh`, `Eig`, `LUF`, with the kernels in [`crate::cpu::lapack`].
//!
//! `SVD`, `Eigh` and `Eig` take float32, float64 and complex64 (as MLX does), the others
//! float32 and float64.
//!
//! As in MLX, none has a `vjp` or `jvp`; those that MLX batches (`SVD`, `Inverse`,
//! `Cholesky`, `Eig`, `Eigh`) have a `vmap` that moves the batch axis to the front, where the
//! kernels already loop over leading dimensions.

use crate::array::{Array, Data};
use crate::cpu::lapack;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive, same_params};
use crate::transforms::rules::batch_to_front;

/// Runs `$f::<T>` for the input's real dtype (float32 or float64).
macro_rules! by_real {
    ($a:expr, $name:expr, |$T:ident| $e:expr) => {
        match $a.dtype() {
            Dtype::Float32 => {
                type $T = f32;
                $e
            }
            Dtype::Float64 => {
                type $T = f64;
                $e
            }
            d => Err(Error::value(format!(
                "[{}] Arrays must have type float32 or float64. Received array with type {d}.",
                $name
            ))),
        }
    };
}

/// Runs `$f::<T>` for the input's dtype among float32, float64 and complex64 (the SVD and the
/// eigendecompositions).
macro_rules! by_field {
    ($a:expr, $name:expr, |$T:ident| $e:expr) => {
        match $a.dtype() {
            Dtype::Float32 => {
                type $T = f32;
                $e
            }
            Dtype::Float64 => {
                type $T = f64;
                $e
            }
            Dtype::Complex64 => {
                type $T = crate::element::C64;
                $e
            }
            d => Err(Error::value(format!(
                "[{}] Arrays must have type float32, float64 or complex64. Received array \
                 with type {d}.",
                $name
            ))),
        }
    };
}

/// A batched primitive's `vmap`: the batch axis moved to the front, the same primitive
/// applied (it loops over leading dimensions), every output batched on axis 0.
fn vmap_front(
    p: impl Primitive,
    inputs: &[Array],
    axes: &[Option<usize>],
    outputs: &[OutputSpec],
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    let x = batch_to_front(&inputs[0], axes[0])?;
    if axes[0].is_none() {
        let outs = Array::multi_from_op(outputs.to_vec(), p, vec![x]);
        let n = outs.len();
        return Ok((outs, vec![None; n]));
    }
    let b = x.shape()[0];
    let specs: Vec<OutputSpec> = outputs
        .iter()
        .map(|o| {
            let mut shape = vec![b];
            shape.extend_from_slice(&o.shape);
            OutputSpec {
                shape,
                dtype: o.dtype,
            }
        })
        .collect();
    let outs = Array::multi_from_op(specs, p, vec![x]);
    let n = outs.len();
    Ok((outs, vec![Some(0); n]))
}

/// The inverse of square matrices (`tri`: of the lower or `upper` triangle).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Inverse {
    pub(crate) tri: bool,
    pub(crate) upper: bool,
}

impl Primitive for Inverse {
    fn name(&self) -> &'static str {
        "Inverse"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let a = &inputs[0];
        by_real!(a, "linalg::inv", |T| Ok(vec![lapack::inverse::<T>(
            a,
            self.tri,
            self.upper,
            &outputs[0]
        )?]))
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_front(self.clone(), inputs, axes, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![inputs[0].shape().to_vec()])
    }
}

/// The Cholesky factor, lower or `upper`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Cholesky {
    pub(crate) upper: bool,
}

impl Primitive for Cholesky {
    fn name(&self) -> &'static str {
        "Cholesky"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let a = &inputs[0];
        by_real!(a, "linalg::cholesky", |T| Ok(vec![lapack::cholesky::<T>(
            a,
            self.upper,
            &outputs[0]
        )?]))
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_front(self.clone(), inputs, axes, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![inputs[0].shape().to_vec()])
    }
}

/// The thin QR factorisation: outputs `[Q, R]`.
// MLX's name (export files and printed graphs use it).
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct QRF;

impl Primitive for QRF {
    fn name(&self) -> &'static str {
        "QRF"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let a = &inputs[0];
        by_real!(a, "linalg::qr", |T| lapack::qr::<T>(a, outputs))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// The singular value decomposition: outputs `[U, S, Vt]`, or `[S]` without `compute_uv`.
// MLX's name (export files and printed graphs use it).
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SVD {
    pub(crate) compute_uv: bool,
}

impl Primitive for SVD {
    fn name(&self) -> &'static str {
        "SVD"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let a = &inputs[0];
        by_field!(a, "linalg::svd", |T| lapack::svd::<T>(
            a,
            self.compute_uv,
            outputs
        ))
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_front(self.clone(), inputs, axes, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// The eigendecomposition of symmetric (complex: Hermitian) matrices read from the `"L"` or `"U"` triangle:
/// outputs `[w]` or `[w, V]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Eigh {
    pub(crate) uplo: String,
    pub(crate) compute_eigenvectors: bool,
}

impl Primitive for Eigh {
    fn name(&self) -> &'static str {
        "Eigh"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let a = &inputs[0];
        let upper = self.uplo == "U";
        by_field!(a, "linalg::eigh", |T| lapack::eigh::<T>(
            a,
            upper,
            self.compute_eigenvectors,
            outputs
        ))
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_front(self.clone(), inputs, axes, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let s = inputs[0].shape();
        let mut out = vec![s[..s.len() - 1].to_vec()];
        if self.compute_eigenvectors {
            out.push(s.to_vec());
        }
        Ok(out)
    }
}

/// The eigendecomposition of general square matrices (complex64 results): outputs `[w]` or
/// `[w, V]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Eig {
    pub(crate) compute_eigenvectors: bool,
}

impl Primitive for Eig {
    fn name(&self) -> &'static str {
        "Eig"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let a = &inputs[0];
        by_field!(a, "linalg::eig", |T| lapack::eig::<T>(
            a,
            self.compute_eigenvectors,
            outputs
        ))
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_front(self.clone(), inputs, axes, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let s = inputs[0].shape();
        let mut out = vec![s[..s.len() - 1].to_vec()];
        if self.compute_eigenvectors {
            out.push(s.to_vec());
        }
        Ok(out)
    }
}

/// LU factorisation with partial pivoting: outputs `[LU, pivots, rows]` (see
/// [`lapack::lu`]).
// MLX's name (export files and printed graphs use it).
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LUF;

impl Primitive for LUF {
    fn name(&self) -> &'static str {
        "LUF"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let a = &inputs[0];
        by_real!(a, "linalg::lu", |T| lapack::lu::<T>(a, outputs))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
