//! Matrix-product primitives. Inputs arrive in the output dtype, with batch dimensions
//! broadcast to the output's; the math runs in [`crate::cpu::gemm`].

use crate::array::{Array, Data, State};
use crate::cpu::gemm::{self, Scale};
use crate::cpu::num::Num;
use crate::dtype::Dtype;
use crate::element::C64;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};
use crate::primitives::shape::Transpose;
use half::{bf16, f16};

/// Whether `x` is a pending transpose of the last two axes (`w.T` of a matrix, `swapaxes(x,
/// -1, -2)`), whose cotangent is transposed back by the transpose's own rule.
fn is_matrix_transpose(x: &Array) -> bool {
    match &*x.inner.lock_state() {
        State::Pending(n) => n
            .primitive
            .as_any()
            .downcast_ref::<Transpose>()
            .is_some_and(|t| {
                let k = t.axes.len();
                k >= 2
                    && t.axes[..k - 2].iter().enumerate().all(|(i, &a)| a == i)
                    && t.axes[k - 2] == k - 1
                    && t.axes[k - 1] == k - 2
            }),
        _ => false,
    }
}

/// The cotangent of `a` in `a @ b` from the output's cotangent `c`: `c @ b^T`. When `a` is
/// itself a transpose (its rule transposes this back), the product is taken as
/// `(b @ c^T)^T` instead (the same sums), so the cotangent of the transposed array comes out
/// row-major, not as a transposed view every later elementwise op would have to gather.
fn grad_lhs(c: &Array, b: &Array, a: &Array) -> Result<Array> {
    use crate::ops::{matmul, swapaxes};
    if is_matrix_transpose(a) {
        swapaxes(&matmul(b, &swapaxes(c, -1, -2)?)?, -1, -2)
    } else {
        matmul(c, &swapaxes(b, -1, -2)?)
    }
}

/// The cotangent of `b` in `a @ b`: `a^T @ c`, or `(c^T @ a)^T` when `b` is a transpose (a
/// linear layer's `w.T`), so that the weight's gradient comes out row-major (see
/// [`grad_lhs`]).
fn grad_rhs(a: &Array, c: &Array, b: &Array) -> Result<Array> {
    use crate::ops::{matmul, swapaxes};
    if is_matrix_transpose(b) {
        swapaxes(&matmul(&swapaxes(c, -1, -2)?, a)?, -1, -2)
    } else {
        matmul(&swapaxes(a, -1, -2)?, c)
    }
}

/// `a @ b` over broadcast batch dimensions (inputs `[a, b]`).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Matmul;

impl Primitive for Matmul {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let (a, b) = (inputs[0].shape(), inputs[1].shape());
        if a.len() < 2 || b.len() < 2 || a[a.len() - 1] != b[b.len() - 2] {
            return Err(crate::error::Error::value(format!(
                "[matmul] Last dimension of first input with shape {} must match second to last \
                 dimension of second input with shape {}.",
                crate::error::fmt_shape(a),
                crate::error::fmt_shape(b)
            )));
        }
        let mut out = crate::ops::broadcast_shapes(&[&a[..a.len() - 2], &b[..b.len() - 2]])?;
        out.extend([a[a.len() - 2], b[b.len() - 1]]);
        Ok(vec![out])
    }
    fn name(&self) -> &'static str {
        "Matmul"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let scale = Scale {
            alpha: 1.0,
            beta: 0.0,
        };
        Ok(vec![gemm::gemm(
            &inputs[0],
            &inputs[1],
            None,
            scale,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let c = &cotangents[0];
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    grad_lhs(c, &primals[1], &primals[0])
                } else {
                    grad_rhs(&primals[0], c, &primals[1])
                }
            })
            .collect()
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        crate::transforms::rules::sum_terms(
            "Matmul",
            argnums.iter().zip(tangents).map(|(&i, t)| {
                if i == 0 {
                    crate::ops::matmul(t, &primals[1])
                } else {
                    crate::ops::matmul(&primals[0], t)
                }
            }),
        )
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        use crate::transforms::rules::batch_to_front;
        // Batch axes in front; an unbatched operand broadcasts against the batch.
        let a = batch_to_front(&inputs[0], axes[0])?;
        let b = batch_to_front(&inputs[1], axes[1])?;
        let (a, b) = match (axes[0], axes[1]) {
            (Some(_), None) => (a, crate::ops::expand_dims(&b, 0)?),
            (None, Some(_)) => (crate::ops::expand_dims(&a, 0)?, b),
            _ => (a, b),
        };
        let out_axis = if axes.iter().any(Option::is_some) {
            Some(0)
        } else {
            None
        };
        Ok((vec![crate::ops::matmul(&a, &b)?], vec![out_axis]))
    }
}

/// `alpha * (a @ b) + beta * c` (inputs `[c, a, b]`, as MLX orders them); `c` is ignored when
/// `beta` is 0.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AddMM {
    pub alpha: f32,
    pub beta: f32,
}

impl Primitive for AddMM {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        // Inputs are [c, a, b]: a's shape with b's last dimension.
        let mut out = inputs[1].shape().to_vec();
        if let (Some(last), Some(&n)) = (out.last_mut(), inputs[2].shape().last()) {
            *last = n;
        }
        Ok(vec![out])
    }
    fn name(&self) -> &'static str {
        "AddMM"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let scale = Scale {
            alpha: self.alpha,
            beta: self.beta,
        };
        Ok(vec![gemm::gemm(
            &inputs[1],
            &inputs[2],
            Some(&inputs[0]),
            scale,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        use crate::ops;
        // Inputs are [c, a, b].
        let c = &cotangents[0];
        let scaled = |k: f32| -> Result<Array> {
            if k == 1.0 {
                Ok(c.clone())
            } else {
                ops::multiply(c, k)
            }
        };
        argnums
            .iter()
            .map(|&i| match i {
                0 => scaled(self.beta),
                1 => grad_lhs(&scaled(self.alpha)?, &primals[2], &primals[1]),
                _ => grad_rhs(&primals[1], &scaled(self.alpha)?, &primals[2]),
            })
            .collect()
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        use crate::ops;
        // alpha * (ta @ b + a @ tb) + beta * tc. (MLX's rule leaves out alpha and beta.)
        let mut prod: Option<Array> = None;
        let mut tc: Option<Array> = None;
        for (&i, t) in argnums.iter().zip(tangents) {
            let term = match i {
                0 => {
                    tc = Some(t.clone());
                    continue;
                }
                1 => ops::matmul(t, &primals[2])?,
                _ => ops::matmul(&primals[1], t)?,
            };
            prod = Some(match prod {
                Some(acc) => ops::add(&acc, &term)?,
                None => term,
            });
        }
        let out = match (prod, tc) {
            (Some(p), Some(t)) => ops::add(
                ops::multiply(&p, self.alpha)?,
                ops::multiply(&t, self.beta)?,
            )?,
            (Some(p), None) => ops::multiply(&p, self.alpha)?,
            (None, Some(t)) => ops::multiply(&t, self.beta)?,
            (None, None) => {
                return Err(crate::error::Error::runtime(
                    "[AddMM::jvp] expected a tangent",
                ));
            }
        };
        Ok(vec![out])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        use crate::transforms::rules::batch_to_front;
        // Batch axes in front; an unbatched operand broadcasts against the batch (its own
        // batch dimensions, if any, are already those of the output).
        let front = |i: usize| -> Result<Array> {
            match axes[i] {
                Some(_) => batch_to_front(&inputs[i], axes[i]),
                None => crate::ops::expand_dims(&inputs[i], 0),
            }
        };
        let (c, mut a, b) = (front(0)?, front(1)?, front(2)?);
        if axes[1].is_none() && axes[2].is_none() {
            // Only c is batched: the product must have its batch size too.
            let mut shape = a.shape().to_vec();
            shape[0] = c.shape()[0];
            a = crate::ops::broadcast_to(&a, shape)?;
        }
        Ok((
            vec![crate::ops::addmm(&c, &a, &b, self.alpha, self.beta)?],
            vec![Some(0)],
        ))
    }
}

/// `sum(conj(a) * b)` along the last axis of two same-shaped inputs; the output dtype is the
/// sum's (bool and small integers widen to int32 / uint32), half precision sums in f32.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct VecDot;

impl Primitive for VecDot {
    fn name(&self) -> &'static str {
        "VecDot"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (a, b, spec) = (&inputs[0], &inputs[1], &outputs[0]);
        let out = match a.dtype() {
            Dtype::Float16 => gemm::vecdot::<f16, f32, f16>(a, b, spec, Num::mul, add::<f32>),
            Dtype::Bfloat16 => gemm::vecdot::<bf16, f32, bf16>(a, b, spec, Num::mul, add::<f32>),
            Dtype::Complex64 => {
                gemm::vecdot::<C64, C64, C64>(a, b, spec, |x, y| x.conj() * y, add::<C64>)
            }
            Dtype::Int8 => gemm::vecdot::<i8, i32, i32>(a, b, spec, Num::mul, add::<i32>),
            Dtype::Int16 => gemm::vecdot::<i16, i32, i32>(a, b, spec, Num::mul, add::<i32>),
            Dtype::Uint8 => gemm::vecdot::<u8, u32, u32>(a, b, spec, Num::mul, add::<u32>),
            Dtype::Uint16 => gemm::vecdot::<u16, u32, u32>(a, b, spec, Num::mul, add::<u32>),
            d => {
                crate::dispatch_numeric!(d, T => gemm::vecdot::<T, T, T>(a, b, spec, Num::mul, add::<T>),
                bool => gemm::vecdot::<bool, i32, i32>(a, b, spec, |x, y| x & y, add::<i32>))
            }
        }?;
        Ok(vec![out])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        use crate::ops;
        // MLX's vecdot is sum(conj(a) * b, axis): its graph gives these cotangents.
        let c = ops::expand_dims(&cotangents[0], -1)?;
        argnums
            .iter()
            .map(|&i| {
                let g = if i == 0 {
                    ops::conjugate(ops::multiply(&c, &primals[1])?)?
                } else {
                    ops::multiply(&c, ops::conjugate(&primals[0])?)?
                };
                ops::astype(&g, primals[i].dtype())
            })
            .collect()
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        use crate::ops;
        let mut out: Option<Array> = None;
        for (&i, t) in argnums.iter().zip(tangents) {
            let term = if i == 0 {
                ops::vecdot(t, &primals[1])?
            } else {
                ops::vecdot(&primals[0], t)?
            };
            out = Some(match out {
                Some(acc) => ops::add(&acc, &term)?,
                None => term,
            });
        }
        out.map(|o| vec![o])
            .ok_or_else(|| crate::error::Error::runtime("[VecDot::jvp] expected a tangent"))
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        use crate::transforms::rules::batch_to_front;
        let front = |i: usize| -> Result<Array> {
            match axes[i] {
                Some(_) => batch_to_front(&inputs[i], axes[i]),
                None => crate::ops::expand_dims(&inputs[i], 0),
            }
        };
        Ok((
            vec![crate::ops::vecdot(&front(0)?, &front(1)?)?],
            vec![Some(0)],
        ))
    }
}

/// `x + y` with the element type's arithmetic (integers wrap).
fn add<T: Num>(x: T, y: T) -> T {
    x.add(y)
}

/// `gather_mm` (inputs `[a, b, lhs_indices, rhs_indices]`, indices uint32 of the output's batch
/// shape): product `i` multiplies `a`'s matrix `lhs_indices[i]` by `b`'s matrix `rhs_indices[i]`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct GatherMM;

impl Primitive for GatherMM {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        // The indices' shape, then a's rows and b's columns.
        let (a, b) = (inputs[0].shape(), inputs[1].shape());
        let mut out = inputs[2].shape().to_vec();
        out.push(a.get(a.len().wrapping_sub(2)).copied().unwrap_or(1));
        out.push(b.last().copied().unwrap_or(1));
        Ok(vec![out])
    }
    fn name(&self) -> &'static str {
        "GatherMM"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![gemm::gather_mm(
            &inputs[0],
            &inputs[1],
            &inputs[2],
            &inputs[3],
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    // Only a vjp, as in MLX (no jvp or vmap rule there).
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        use crate::ops;
        let (a, b, lhs, rhs) = (&primals[0], &primals[1], &primals[2], &primals[3]);
        let cot = &cotangents[0];
        // Scatter-adds the per-product gradients `g` (index shape + matrix) into the matrices
        // of `x` they came from (duplicate indices accumulate).
        let scatter_into = |x: &Array, idx: &Array, g: &Array| -> Result<Array> {
            let nd = x.ndim();
            let mats = x.shape()[..nd - 2].iter().product::<usize>();
            let shape = [mats, x.shape()[nd - 2], x.shape()[nd - 1]];
            let zeros = ops::zeros(shape, x.dtype())?;
            let s = ops::scatter(
                &zeros,
                std::slice::from_ref(idx),
                &ops::expand_dims(g, -3)?,
                0,
                crate::cpu::indexing::ScatterReduce::Sum,
            )?;
            ops::reshape(&s, x.shape())
        };
        argnums
            .iter()
            .map(|&i| match i {
                0 => {
                    let g =
                        ops::gather_mm(cot, &ops::swapaxes(b, -1, -2)?, None, Some(rhs), false)?;
                    scatter_into(a, lhs, &g)
                }
                1 => {
                    let g =
                        ops::gather_mm(&ops::swapaxes(a, -1, -2)?, cot, Some(lhs), None, false)?;
                    scatter_into(b, rhs, &g)
                }
                _ => Err(crate::error::Error::value(
                    "[GatherMM] Cannot calculate VJP with respect to indices. Use stop_gradient \
                     on indices to stop gradients from being computed.",
                )),
            })
            .collect()
    }
}

/// `segmented_mm` (inputs `[a, b, segments]`: 2-D `a`, `b`, uint32 `segments` of shape
/// `(..., 2)`): one product per segment of the inner dimension.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SegmentedMM;

impl Primitive for SegmentedMM {
    fn name(&self) -> &'static str {
        "SegmentedMM"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![gemm::segmented_mm(
            &inputs[0],
            &inputs[1],
            &inputs[2],
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// The Walsh–Hadamard transform along the last axis, times `scale` (input already float32,
/// float16 or bfloat16, of a supported length).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Hadamard {
    pub scale: f32,
}

impl Primitive for Hadamard {
    fn name(&self) -> &'static str {
        "Hadamard"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![crate::cpu::hadamard::hadamard(
            &inputs[0],
            self.scale,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        _primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        // As MLX: the transform is its own transpose (exact for the Sylvester matrices).
        Ok(vec![crate::ops::hadamard_transform(
            &cotangents[0],
            Some(self.scale),
        )?])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::hadamard_transform(
            &tangents[0],
            Some(self.scale),
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        // The transform runs along the last axis: a batch axis there moves to the front.
        let (x, ax) = match axes[0] {
            Some(a) if a + 1 == x.ndim() => (crate::ops::moveaxis(x, a as isize, 0)?, Some(0)),
            a => (x.clone(), a),
        };
        Ok((
            vec![crate::ops::hadamard_transform(&x, Some(self.scale))?],
            vec![ax],
        ))
    }
}
