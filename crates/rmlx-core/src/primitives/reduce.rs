//! Reduction primitives: sum, prod, max, min, all, any over axes; argmax/argmin along one axis;
//! softmax, logsumexp and median over the last axis of a `(rows, n)` array (the ops move the
//! reduced axes there); isclose. The loops are the drivers of [`crate::cpu::reduce`].
//!
//! The ops cast inputs to the accumulation dtype first (int8 sums run in int32, float16 sums in
//! float32 and round once), so every reduction here maps a dtype to itself.

use crate::array::{Array, Data};
use crate::cpu::elementwise;
use crate::cpu::num::Num;
use crate::cpu::reduce::{self as red, Ordered, max_step, min_step, reduce_with};
use crate::dtype::Dtype;
use crate::element::{C64, Element};
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive, same_params};
use half::{bf16, f16};

/// A reduction over axes: one small type per operation, sharing the `axes` parameter.
macro_rules! axes_primitive {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $kernel:ident $(, rules { $($rules:tt)* })?) => {
        $(#[$doc])*
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub(crate) struct $ty {
            /// Normalised, sorted axes.
            pub(crate) axes: Vec<usize>,
        }
        impl Primitive for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
                Ok(vec![$kernel(&inputs[0], &self.axes, &outputs[0])?])
            }
            fn is_equivalent(&self, other: &dyn Primitive) -> bool {
                same_params(self, other)
            }
            fn output_shapes(&self, inputs: &[Array], traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
                reduced_shapes(inputs, &self.axes, traced)
            }
            $($($rules)*)?
        }
    };
}

/// The output shape of reducing `axes` of the input, keeping them as 1 when the traced output
/// did (shapeless compilation).
pub(crate) fn reduced_shapes(
    inputs: &[Array],
    axes: &[usize],
    traced: &[OutputSpec],
) -> Result<Vec<Vec<usize>>> {
    let shape = inputs[0].shape();
    if axes.iter().any(|&a| a >= shape.len()) {
        return Err(Error::value("[reduce] The input's rank changed."));
    }
    let keepdims = traced[0].shape.len() == shape.len();
    let out = shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    Ok(vec![out])
}

axes_primitive!(
    /// `sum` (the input already has the accumulation dtype).
    Sum, "Sum", sum_kernel,
    rules {
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            _argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let x = &primals[0];
            // The reduced axes back as size 1 (kept or re-inserted), then broadcast against
            // the input itself, so that a shapeless replay follows its shape.
            let c = &cotangents[0];
            let c = if c.ndim() == x.ndim() {
                c.clone()
            } else {
                crate::ops::expand_dims(c, self.axes.clone())?
            };
            Ok(vec![crate::ops::broadcast_arrays(&[c, x.clone()])?.swap_remove(0)])
        }
        fn jvp(
            &self,
            primals: &[Array],
            tangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let keepdims = outputs[0].ndim() == primals[0].ndim();
            Ok(vec![crate::ops::sum_axes(&tangents[0], self.axes.clone(), keepdims)?])
        }
        fn vmap(
            &self,
            inputs: &[Array],
            axes: &[Option<usize>],
            outputs: &[OutputSpec],
        ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            vmap_axes_reduce(&self.axes, inputs, axes, outputs, |x, a, k| crate::ops::sum_axes(x, a, k))
        }
    }
);

/// The `vmap` rule of a reduction over `axes` of its input, given the public op `op(x, axes,
/// keepdims)`: the reduced axes shift past the batch axis; `keepdims` is read off the ranks.
pub(crate) fn vmap_axes_reduce(
    axes: &[usize],
    inputs: &[Array],
    batch: &[Option<usize>],
    outputs: &[OutputSpec],
    op: impl Fn(&Array, Vec<usize>, bool) -> Result<Array>,
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    let x = &inputs[0];
    let Some(b) = batch[0] else {
        let keepdims = outputs[0].shape.len() == x.ndim();
        return Ok((vec![op(x, axes.to_vec(), keepdims)?], vec![None]));
    };
    let keepdims = outputs[0].shape.len() + 1 == x.ndim();
    let shifted: Vec<usize> = axes
        .iter()
        .map(|&a| if a < b { a } else { a + 1 })
        .collect();
    let out_axis = if keepdims {
        b
    } else {
        b - axes.iter().filter(|&&a| a < b).count()
    };
    Ok((vec![op(x, shifted, keepdims)?], vec![Some(out_axis)]))
}

/// The rules of `max` and `min` over `axes`: the cotangent goes to the elements equal to the
/// result, shared equally among ties (as MLX).
fn extremum_vjp(axes: &[usize], x: &Array, out: &Array, cot: &Array) -> Result<Array> {
    let kept = kept_shape(x.shape(), axes);
    let out = crate::ops::reshape(out, kept.clone())?;
    let cot = crate::ops::reshape(cot, kept)?;
    let mask = crate::ops::equal(x, &out)?;
    let count = crate::ops::sum_axes(&mask, axes.to_vec(), true)?;
    crate::ops::multiply(&crate::ops::divide(&cot, &count)?, &mask)
}

fn extremum_jvp(axes: &[usize], x: &Array, out: &Array, t: &Array, max: bool) -> Result<Array> {
    // MLX's rule: the tangent at the first extremum (ties are not shared, unlike the vjp's).
    // The reduced axes go last and become one, so one arg-reduction finds the position.
    let kept: Vec<usize> = (0..x.ndim()).filter(|a| !axes.contains(a)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let flat = |a: &Array| -> Result<Array> {
        let a = crate::ops::transpose(a, Some(perm.clone()))?;
        crate::ops::flatten(&a, kept.len() as isize, -1)
    };
    let (xf, tf) = (flat(x)?, flat(t)?);
    let idx = if max {
        crate::ops::argmax_axis(&xf, -1, true)?
    } else {
        crate::ops::argmin_axis(&xf, -1, true)?
    };
    let picked = crate::ops::take_along_axis(&tf, &idx, Some(-1))?;
    crate::ops::reshape(&picked, out.shape())
}

/// `x` with the axes in `axes` moved to the back and flattened into one, and the permutation
/// used (MLX's prod rules work along that one axis).
fn axes_to_back(x: &Array, axes: &[usize]) -> Result<(Array, Vec<usize>)> {
    let mut perm: Vec<usize> = (0..x.ndim()).filter(|a| !axes.contains(a)).collect();
    let kept = perm.len();
    perm.extend_from_slice(axes);
    let moved = crate::ops::transpose(x, Some(perm.clone()))?;
    Ok((crate::ops::flatten(&moved, kept as isize, -1)?, perm))
}

/// The product of every other element along `axis`: an exclusive cumprod each way,
/// multiplied (exact with zeros in the input, as MLX's rule).
fn exclusive_prod(x: &Array, axis: usize) -> Result<Array> {
    use crate::ops::{ScanOptions, cumprod_with};
    let ax = Some(axis as isize);
    let fwd = cumprod_with(
        x,
        ax,
        ScanOptions {
            reverse: false,
            inclusive: false,
        },
    )?;
    let bwd = cumprod_with(
        x,
        ax,
        ScanOptions {
            reverse: true,
            inclusive: false,
        },
    )?;
    crate::ops::multiply(&fwd, &bwd)
}

/// `prod`'s vjp (MLX's `Reduce::vjp` for Prod): the cotangent times the conjugated product of
/// the other elements of each reduced group.
fn prod_vjp(axes: &[usize], x: &Array, cot: &Array) -> Result<Array> {
    let cot = crate::ops::reshape(cot, kept_shape(x.shape(), axes))?;
    let conj = |a: Array| {
        if a.dtype().is_complex() {
            crate::ops::conjugate(&a)
        } else {
            Ok(a)
        }
    };
    match axes {
        [] => crate::ops::broadcast_to(&cot, x.shape()),
        [a] => crate::ops::multiply(&conj(exclusive_prod(x, *a)?)?, &cot),
        _ => {
            let (flat, perm) = axes_to_back(x, axes)?;
            let (cflat, _) = axes_to_back(&cot, axes)?;
            let last = flat.ndim() - 1;
            let g = crate::ops::multiply(&conj(exclusive_prod(&flat, last)?)?, &cflat)?;
            let moved: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
            let g = crate::ops::reshape(&g, moved)?;
            let mut back = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                back[p] = i;
            }
            crate::ops::transpose(&g, Some(back))
        }
    }
}

/// `prod`'s jvp: the sum over each group of the tangent times the product of the others.
fn prod_jvp(axes: &[usize], x: &Array, t: &Array, out_shape: &[usize]) -> Result<Array> {
    let r = match axes {
        [] => t.clone(),
        [a] => crate::ops::sum_axes(
            &crate::ops::multiply(&exclusive_prod(x, *a)?, t)?,
            vec![*a],
            true,
        )?,
        _ => {
            let (flat, _) = axes_to_back(x, axes)?;
            let (tflat, _) = axes_to_back(t, axes)?;
            let last = flat.ndim() - 1;
            crate::ops::sum_axes(
                &crate::ops::multiply(&exclusive_prod(&flat, last)?, &tflat)?,
                vec![last],
                false,
            )?
        }
    };
    crate::ops::reshape(&r, out_shape.to_vec())
}

/// `shape` with every axis in `axes` set to 1 (a reduction's output with `keepdims`).
pub(crate) fn kept_shape(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    let mut s = shape.to_vec();
    for &a in axes {
        s[a] = 1;
    }
    s
}
axes_primitive!(
    /// `prod` (the input already has the accumulation dtype).
    Prod, "Prod", prod_kernel,
    rules {
        fn vjp(&self, primals: &[Array], cotangents: &[Array], _argnums: &[usize], _outputs: &[Array]) -> Result<Vec<Array>> {
            Ok(vec![prod_vjp(&self.axes, &primals[0], &cotangents[0])?])
        }
        fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize], outputs: &[Array]) -> Result<Vec<Array>> {
            Ok(vec![prod_jvp(&self.axes, &primals[0], &tangents[0], outputs[0].shape())?])
        }
        fn vmap(&self, inputs: &[Array], axes: &[Option<usize>], outputs: &[OutputSpec]) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            vmap_axes_reduce(&self.axes, inputs, axes, outputs, |x, a, k| crate::ops::prod_axes(x, a, k))
        } }
);
axes_primitive!(
    /// `max`, propagating NaN.
    Max, "Max", max_kernel,
    rules {
        fn vjp(&self, primals: &[Array], cotangents: &[Array], _argnums: &[usize], outputs: &[Array]) -> Result<Vec<Array>> {
            Ok(vec![extremum_vjp(&self.axes, &primals[0], &outputs[0], &cotangents[0])?])
        }
        fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize], outputs: &[Array]) -> Result<Vec<Array>> {
            Ok(vec![extremum_jvp(&self.axes, &primals[0], &outputs[0], &tangents[0], true)?])
        }
        fn vmap(&self, inputs: &[Array], axes: &[Option<usize>], outputs: &[OutputSpec]) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            vmap_axes_reduce(&self.axes, inputs, axes, outputs, |x, a, k| crate::ops::max_axes(x, a, k))
        } }
);
axes_primitive!(
    /// `min`, propagating NaN.
    Min, "Min", min_kernel,
    rules {
        fn vjp(&self, primals: &[Array], cotangents: &[Array], _argnums: &[usize], outputs: &[Array]) -> Result<Vec<Array>> {
            Ok(vec![extremum_vjp(&self.axes, &primals[0], &outputs[0], &cotangents[0])?])
        }
        fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize], outputs: &[Array]) -> Result<Vec<Array>> {
            Ok(vec![extremum_jvp(&self.axes, &primals[0], &outputs[0], &tangents[0], false)?])
        }
        fn vmap(&self, inputs: &[Array], axes: &[Option<usize>], outputs: &[OutputSpec]) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            vmap_axes_reduce(&self.axes, inputs, axes, outputs, |x, a, k| crate::ops::min_axes(x, a, k))
        } }
);
axes_primitive!(
    /// `all` of a bool input.
    All, "All", all_kernel,
    rules { crate::transforms::rules::zero_derivative_rules!();
        fn vmap(&self, inputs: &[Array], axes: &[Option<usize>], outputs: &[OutputSpec]) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            vmap_axes_reduce(&self.axes, inputs, axes, outputs, |x, a, k| crate::ops::all_axes(x, a, k))
        } }
);
axes_primitive!(
    /// `any` of a bool input.
    Any, "Any", any_kernel,
    rules { crate::transforms::rules::zero_derivative_rules!();
        fn vmap(&self, inputs: &[Array], axes: &[Option<usize>], outputs: &[OutputSpec]) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            vmap_axes_reduce(&self.axes, inputs, axes, outputs, |x, a, k| crate::ops::any_axes(x, a, k))
        } }
);

fn no_bool(op: &str) -> Error {
    Error::value(format!("[{op}] bool input must be cast before reducing."))
}

fn sum_kernel(x: &Array, axes: &[usize], spec: &OutputSpec) -> Result<Data> {
    if x.dtype() == Dtype::Float32 {
        return red::reduce::<f32>(
            x,
            axes,
            spec,
            0.0,
            |a, b| a + b,
            red::sum_f32,
            red::add_row_f32,
        );
    }
    crate::dispatch_numeric!(x.dtype(), T => reduce_with::<T>(x, axes, spec, T::ZERO, T::add), bool => Err(no_bool("sum")))
}

fn prod_kernel(x: &Array, axes: &[usize], spec: &OutputSpec) -> Result<Data> {
    crate::dispatch_numeric!(x.dtype(), T => reduce_with::<T>(x, axes, spec, T::ONE, T::mul), bool => Err(no_bool("prod")))
}

fn max_kernel(x: &Array, axes: &[usize], spec: &OutputSpec) -> Result<Data> {
    crate::dispatch_dtype!(x.dtype(), T => reduce_with::<T>(x, axes, spec, T::LOWEST, max_step::<T>))
}

fn min_kernel(x: &Array, axes: &[usize], spec: &OutputSpec) -> Result<Data> {
    crate::dispatch_dtype!(x.dtype(), T => reduce_with::<T>(x, axes, spec, T::HIGHEST, min_step::<T>))
}

fn all_kernel(x: &Array, axes: &[usize], spec: &OutputSpec) -> Result<Data> {
    reduce_with::<bool>(x, axes, spec, true, |a, b| a & b)
}

fn any_kernel(x: &Array, axes: &[usize], spec: &OutputSpec) -> Result<Data> {
    reduce_with::<bool>(x, axes, spec, false, |a, b| a | b)
}

/// `argmax` along one axis (uint32 indices; the first NaN, else the first maximum).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ArgMax {
    pub(crate) axis: usize,
}

impl Primitive for ArgMax {
    fn output_shapes(&self, inputs: &[Array], traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        reduced_shapes(inputs, &[self.axis], traced)
    }
    fn name(&self) -> &'static str {
        "ArgMax"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let x = &inputs[0];
        Ok(vec![
            crate::dispatch_dtype!(x.dtype(), T => red::arg_reduce::<T, true>(x, self.axis, &outputs[0]))?,
        ])
    }
    crate::transforms::rules::zero_derivative_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_axes_reduce(&[self.axis], inputs, axes, outputs, |x, a, k| {
            crate::ops::argmax_axis(x, a[0] as isize, k)
        })
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `argmin` along one axis (uint32 indices; the first NaN, else the first minimum).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ArgMin {
    pub(crate) axis: usize,
}

impl Primitive for ArgMin {
    fn output_shapes(&self, inputs: &[Array], traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        reduced_shapes(inputs, &[self.axis], traced)
    }
    fn name(&self) -> &'static str {
        "ArgMin"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let x = &inputs[0];
        Ok(vec![
            crate::dispatch_dtype!(x.dtype(), T => red::arg_reduce::<T, false>(x, self.axis, &outputs[0]))?,
        ])
    }
    crate::transforms::rules::zero_derivative_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_axes_reduce(&[self.axis], inputs, axes, outputs, |x, a, k| {
            crate::ops::argmin_axis(x, a[0] as isize, k)
        })
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// NaN-propagating maximum of an f32 row, in 16 lanes.
fn max_f32(row: &[f32]) -> f32 {
    let mut best = [f32::NEG_INFINITY; 16];
    let mut nan = [0u32; 16];
    let mut chunks = row.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            best[i] = if c[i] > best[i] { c[i] } else { best[i] };
            nan[i] |= c[i].is_nan() as u32;
        }
    }
    let mut m = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |a, &v| max_step(a, v));
    for b in best {
        m = max_step(m, b);
    }
    if nan.iter().any(|&n| n != 0) {
        f32::NAN
    } else {
        m
    }
}

/// Softmax of one f32 row: max, fused exp + sum, scale.
fn softmax_f32(row: &[f32], out: &mut [f32]) {
    const TILE: usize = 256;
    let m = max_f32(row);
    let mut tmp = [0f32; TILE];
    let mut sum = 0f32;
    for (src, dst) in row.chunks(TILE).zip(out.chunks_mut(TILE)) {
        let t = &mut tmp[..src.len()];
        for (t, &v) in t.iter_mut().zip(src) {
            *t = v - m;
        }
        crate::cpu::vmath::exp_f32(t, dst);
        sum += red::sum_f32(dst);
    }
    let inv = 1.0 / sum;
    for v in out.iter_mut() {
        *v *= inv;
    }
}

/// Softmax of a row in f64.
fn softmax_f64(row: &[f64], out: &mut [f64]) {
    let m = row.iter().fold(f64::NEG_INFINITY, |a, &v| max_step(a, v));
    let mut sum = 0.0;
    for (o, &v) in out.iter_mut().zip(row) {
        *o = (v - m).exp();
        sum += *o;
    }
    let inv = 1.0 / sum;
    out.iter_mut().for_each(|o| *o *= inv);
}

/// Softmax of a half-precision row: in f32 when `precise`, else as MLX does it (exponentials
/// rounded to the dtype, summed and scaled in the dtype).
fn softmax_half<T: Element>(row: &[T], out: &mut [T], precise: bool) {
    let xs: Vec<f32> = row.iter().map(|v| v.to_f64() as f32).collect();
    if precise {
        let mut o = vec![0f32; xs.len()];
        softmax_f32(&xs, &mut o);
        for (d, v) in out.iter_mut().zip(o) {
            *d = T::from_f64(v as f64);
        }
        return;
    }
    let m = xs.iter().fold(f32::NEG_INFINITY, |a, &v| max_step(a, v));
    let round = |v: f32| T::from_f64(v as f64).to_f64() as f32;
    let mut sum = 0f32;
    for (d, &v) in out.iter_mut().zip(&xs) {
        let e = round(round(v - m).exp());
        *d = T::from_f64(e as f64);
        sum = round(sum + e);
    }
    let inv = round(1.0 / sum);
    for d in out.iter_mut() {
        *d = T::from_f64((round(d.to_f64() as f32 * inv)) as f64);
    }
}

/// Softmax of a complex row: `exp(x - max) / sum`, the max ordered lexicographically.
fn softmax_c64(row: &[C64], out: &mut [C64]) {
    let m = row.iter().fold(C64::LOWEST, |a, &v| max_step(a, v));
    let mut sum = C64::new(0.0, 0.0);
    for (o, &v) in out.iter_mut().zip(row) {
        *o = (v - m).exp();
        sum += *o;
    }
    out.iter_mut().for_each(|o| *o /= sum);
}

/// `softmax` over the last axis of a `(rows, n)` input of a float or complex dtype.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Softmax {
    pub(crate) precise: bool,
}

impl Primitive for Softmax {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![inputs[0].shape().to_vec()])
    }
    fn name(&self) -> &'static str {
        "Softmax"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, spec) = (&inputs[0], &outputs[0]);
        let n = x.shape()[1];
        let p = self.precise;
        let d = match x.dtype() {
            Dtype::Float32 => red::map_rows::<f32, f32>(x, n, n, spec, softmax_f32),
            Dtype::Float64 => red::map_rows::<f64, f64>(x, n, n, spec, softmax_f64),
            Dtype::Float16 => {
                red::map_rows::<f16, f16>(x, n, n, spec, |r, o| softmax_half(r, o, p))
            }
            Dtype::Bfloat16 => {
                red::map_rows::<bf16, bf16>(x, n, n, spec, |r, o| softmax_half(r, o, p))
            }
            Dtype::Complex64 => red::map_rows::<C64, C64>(x, n, n, spec, softmax_c64),
            d => Err(Error::value(format!("[softmax] Not supported for {d}."))),
        }?;
        Ok(vec![d])
    }
    fn vjp(
        &self,
        _primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![softmax_linear(&outputs[0], &cotangents[0])?])
    }
    fn jvp(
        &self,
        _primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![softmax_linear(&outputs[0], &tangents[0])?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let precise = self.precise;
        rows_vmap(inputs, axes, outputs, move |rows, n| {
            Ok(Array::from_op(
                rows.shape()[..1].iter().copied().chain([n]).collect(),
                rows.dtype(),
                Softmax { precise },
                vec![rows],
            ))
        })
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `s * (v - sum(v * s))` over the last axis: the softmax Jacobian (symmetric) applied to `v`.
fn softmax_linear(s: &Array, v: &Array) -> Result<Array> {
    let dot = crate::ops::sum_axes(&crate::ops::multiply(v, s)?, [-1], true)?;
    crate::ops::multiply(s, &crate::ops::subtract(v, &dot)?)
}

/// A per-row value as a `(rows, 1)` column.
fn column(x: &Array) -> Result<Array> {
    if x.ndim() == 1 {
        crate::ops::expand_dims(x, -1)
    } else {
        Ok(x.clone())
    }
}

/// `vmap` of a primitive over the rows of a `(rows, n)` input: the batch folds into the rows.
fn rows_vmap(
    inputs: &[Array],
    axes: &[Option<usize>],
    outputs: &[OutputSpec],
    op: impl Fn(Array, usize) -> Result<Array>,
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    let x = &inputs[0];
    let Some(b) = axes[0] else {
        let n = x.shape()[1];
        return Ok((vec![op(x.clone(), n)?], vec![None]));
    };
    let x = crate::ops::moveaxis(x, b as isize, 0)?;
    let (batch, rows, n) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let flat = crate::ops::reshape(&x, [batch * rows, n])?;
    let out = op(flat, n)?;
    let mut shape = vec![batch];
    shape.extend_from_slice(&outputs[0].shape);
    Ok((vec![crate::ops::reshape(&out, shape)?], vec![Some(0)]))
}

/// log(sum(exp(x))) of a real row in f64, shifted by the max (0 when the max is infinite).
fn logsumexp_real(xs: impl Iterator<Item = f64> + Clone, shift: bool) -> f64 {
    let m = if shift {
        xs.clone().fold(f64::NEG_INFINITY, max_step)
    } else {
        0.0
    };
    let m = if m.is_infinite() { 0.0 } else { m };
    xs.map(|v| (v - m).exp()).sum::<f64>().ln() + m
}

/// log(sum(exp(x))) of an f32 row: as [`softmax_f32`], the exponentials in tiles with the
/// vector `exp` (libm's scalar `expf` made a language model's loss spend more time here
/// than in its matmuls).
fn logsumexp_f32(row: &[f32], shift: bool) -> f32 {
    const TILE: usize = 256;
    let m = if shift { max_f32(row) } else { 0.0 };
    let m = if m.is_infinite() { 0.0 } else { m };
    let mut shifted = [0f32; TILE];
    let mut exps = [0f32; TILE];
    let mut s = 0f32;
    for src in row.chunks(TILE) {
        let t = &mut shifted[..src.len()];
        for (t, &v) in t.iter_mut().zip(src) {
            *t = v - m;
        }
        let e = &mut exps[..src.len()];
        crate::cpu::vmath::exp_f32(t, e);
        s += red::sum_f32(e);
    }
    s.ln() + m
}

/// `logsumexp` over the last axis of a `(rows, n)` input of a float or complex dtype.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LogSumExp {
    /// Shift by the row's maximum (false only to reproduce MLX's integer path, whose input was
    /// already shifted).
    pub(crate) shift: bool,
}

impl Primitive for LogSumExp {
    fn output_shapes(&self, inputs: &[Array], traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let last = inputs[0]
            .ndim()
            .checked_sub(1)
            .ok_or_else(|| Error::value("[logsumexp] The input's rank changed."))?;
        reduced_shapes(inputs, &[last], traced)
    }
    fn name(&self) -> &'static str {
        "LogSumExp"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, spec) = (&inputs[0], &outputs[0]);
        let n = x.shape()[1];
        let sh = self.shift;
        let half = |r: &[f16], o: &mut [f16]| {
            let xs: Vec<f32> = r.iter().map(|v| v.to_f32()).collect();
            o[0] = f16::from_f32(logsumexp_f32(&xs, sh));
        };
        let bhalf = |r: &[bf16], o: &mut [bf16]| {
            let xs: Vec<f32> = r.iter().map(|v| v.to_f32()).collect();
            o[0] = bf16::from_f32(logsumexp_f32(&xs, sh));
        };
        let d = match x.dtype() {
            Dtype::Float32 => {
                red::map_rows::<f32, f32>(x, n, 1, spec, |r, o| o[0] = logsumexp_f32(r, sh))
            }
            Dtype::Float64 => red::map_rows::<f64, f64>(x, n, 1, spec, |r, o| {
                o[0] = logsumexp_real(r.iter().copied(), sh)
            }),
            Dtype::Float16 => red::map_rows::<f16, f16>(x, n, 1, spec, half),
            Dtype::Bfloat16 => red::map_rows::<bf16, bf16>(x, n, 1, spec, bhalf),
            Dtype::Complex64 => red::map_rows::<C64, C64>(x, n, 1, spec, |r, o| {
                let m = r.iter().fold(C64::LOWEST, |a, &v| max_step(a, v));
                let m = if m.re.is_infinite() || m.im.is_infinite() {
                    C64::new(0.0, 0.0)
                } else {
                    m
                };
                let s: C64 = r.iter().map(|&v| (v - m).exp()).sum();
                o[0] = s.ln() + m;
            }),
            d => Err(Error::value(format!("[logsumexp] Not supported for {d}."))),
        }?;
        Ok(vec![d])
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let out = column(&outputs[0])?;
        let p = crate::ops::exp(&crate::ops::subtract(&primals[0], &out)?)?;
        Ok(vec![crate::ops::multiply(&column(&cotangents[0])?, &p)?])
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let p = crate::ops::exp(&crate::ops::subtract(&primals[0], &column(&outputs[0])?)?)?;
        let keep = outputs[0].ndim() == 2;
        Ok(vec![crate::ops::sum_axes(
            &crate::ops::multiply(&tangents[0], &p)?,
            [-1],
            keep,
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let shift = self.shift;
        let keep = outputs[0].shape.len() == 2;
        rows_vmap(inputs, axes, outputs, move |rows, _n| {
            let shape = if keep {
                vec![rows.shape()[0], 1]
            } else {
                vec![rows.shape()[0]]
            };
            Ok(Array::from_op(
                shape,
                rows.dtype(),
                LogSumExp { shift },
                vec![rows],
            ))
        })
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// Median of a non-empty row: NaN if it holds one, else the middle element, or the mean of the
/// two middle ones (`half(a + b)`).
fn median_row<T: Ordered>(row: &[T], half: impl Fn(T, T) -> T) -> T {
    if let Some(&v) = row.iter().find(|v| v.is_nan()) {
        return v;
    }
    let mut v = row.to_vec();
    let cmp = |a: &T, b: &T| {
        if a.lt(*b) {
            std::cmp::Ordering::Less
        } else if b.lt(*a) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    };
    let n = v.len();
    let k = (n - 1) / 2;
    let (_, &mut a, rest) = v.select_nth_unstable_by(k, cmp);
    if n % 2 == 1 {
        return a;
    }
    let b = rest
        .iter()
        .copied()
        .fold(T::HIGHEST, |m, x| if x.lt(m) { x } else { m });
    half(a, b)
}

/// The median over the last axis of `x` (`(rows, n)`) written with plain ops, as MLX composes
/// it: sort, the middle element (the mean of the two middle ones for an even `n`), NaN where
/// a row holds a NaN.
fn median_fallback(x: &Array) -> Result<Array> {
    let n = x.shape()[1] as isize;
    let sorted = crate::ops::sort_axis(x, -1)?;
    let mid = n / 2;
    let mut m = crate::ops::slice_axis(&sorted, -1, mid..mid + 1)?;
    if n % 2 == 0 {
        let lo = crate::ops::slice_axis(&sorted, -1, mid - 1..mid)?;
        m = crate::ops::multiply(&crate::ops::add(&m, &lo)?, 0.5)?;
    }
    let nan = crate::ops::any_axes(&crate::ops::isnan(x)?, vec![1usize], true)?;
    let m = crate::ops::r#where(&nan, f64::NAN, &m)?;
    crate::ops::reshape(&m, vec![x.shape()[0]])
}

/// `median` over the last axis of a `(rows, n)` input of a float or complex dtype.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Median;

impl Primitive for Median {
    fn name(&self) -> &'static str {
        "Median"
    }
    // MLX's median is composed of a sort, slices of the middle and a where for NaN: the rules
    // are those of that composition.
    crate::transforms::rules::rules_via_fallback!(|_s, xs| median_fallback(&xs[0]));
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (x, spec) = (&inputs[0], &outputs[0]);
        let n = x.shape()[1];
        fn via_f32<T: Ordered>(r: &[T], o: &mut [T]) {
            o[0] = median_row(r, |a, b| {
                T::from_f64(((a.to_f64() as f32 + b.to_f64() as f32) * 0.5) as f64)
            });
        }
        let d = match x.dtype() {
            Dtype::Float32 => red::map_rows::<f32, f32>(x, n, 1, spec, |r, o| {
                o[0] = median_row(r, |a, b| (a + b) * 0.5)
            }),
            Dtype::Float64 => red::map_rows::<f64, f64>(x, n, 1, spec, |r, o| {
                o[0] = median_row(r, |a, b| (a + b) * 0.5)
            }),
            Dtype::Float16 => red::map_rows::<f16, f16>(x, n, 1, spec, via_f32),
            Dtype::Bfloat16 => red::map_rows::<bf16, bf16>(x, n, 1, spec, via_f32),
            Dtype::Complex64 => red::map_rows::<C64, C64>(x, n, 1, spec, |r, o| {
                o[0] = median_row(r, |a, b| (a + b) * 0.5)
            }),
            d => Err(Error::value(format!("[median] Not supported for {d}."))),
        }?;
        Ok(vec![d])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `isclose`: `|a - b| <= atol + rtol * |b|` with `a - b` in the inputs' dtype (integers wrap,
/// as MLX's subtraction does) and the right side in float32 (float64 for float64 inputs);
/// infinities are close only to themselves; NaNs only with `equal_nan`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct IsClose {
    pub(crate) rtol: f64,
    pub(crate) atol: f64,
    pub(crate) equal_nan: bool,
}

impl Primitive for IsClose {
    fn name(&self) -> &'static str {
        "IsClose"
    }
    crate::transforms::rules::zero_derivative_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        crate::transforms::rules::vmap_elementwise(inputs, axes, |xs| {
            let xs = crate::ops::broadcast_arrays(xs)?;
            let p = IsClose {
                rtol: self.rtol,
                atol: self.atol,
                equal_nan: self.equal_nan,
            };
            Ok(Array::from_op(xs[0].shape().to_vec(), Dtype::Bool, p, xs))
        })
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (a, b, spec) = (&inputs[0], &inputs[1], &outputs[0]);
        let (rtol, atol, eq_nan) = (self.rtol, self.atol, self.equal_nan);
        let (r32, a32) = (rtol as f32, atol as f32);
        // The decision from |a - b|, |b| (as f32), and the special-value flags.
        let decide32 =
            move |lhs: f32, absb: f32, inf: (bool, bool), same: bool, nan: (bool, bool)| {
                if nan.0 || nan.1 {
                    return eq_nan && nan.0 && nan.1;
                }
                if inf.0 || inf.1 {
                    return same;
                }
                lhs <= a32 + r32 * absb
            };
        let d = match a.dtype() {
            Dtype::Float64 => elementwise::binary::<f64, bool>(a, b, spec, move |x, y| {
                if x.is_nan() || y.is_nan() {
                    return eq_nan && x.is_nan() && y.is_nan();
                }
                if x.is_infinite() || y.is_infinite() {
                    return x == y;
                }
                (x - y).abs() <= atol + rtol * y.abs()
            }),
            Dtype::Complex64 => elementwise::binary::<C64, bool>(a, b, spec, move |x, y| {
                let inf = |c: C64| c.re.is_infinite() || c.im.is_infinite();
                decide32(
                    (x - y).norm(),
                    y.norm(),
                    (inf(x), inf(y)),
                    x == y,
                    (x.is_nan(), y.is_nan()),
                )
            }),
            Dtype::Bool => elementwise::binary::<bool, bool>(a, b, spec, move |x, y| {
                decide32(
                    (x != y) as u8 as f32,
                    y as u8 as f32,
                    (false, false),
                    x == y,
                    (false, false),
                )
            }),
            d => crate::dispatch_numeric!(d, T => {
                elementwise::binary::<T, bool>(a, b, spec, move |x, y| {
                    let diff = x.sub(y);
                    let absd = if diff.to_f64() < 0.0 { diff.neg() } else { diff };
                    let absb = if y.to_f64() < 0.0 { y.neg() } else { y };
                    let fx = x.to_f64();
                    let fy = y.to_f64();
                    decide32(
                        absd.to_f64() as f32,
                        absb.to_f64() as f32,
                        (fx.is_infinite(), fy.is_infinite()),
                        x == y,
                        (fx.is_nan(), fy.is_nan()),
                    )
                })
            }, bool => Err(Error::runtime("[isclose] bool dispatch"))),
        }?;
        Ok(vec![d])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// Elementwise equality for `array_equal`: `a == b`, or both NaN when `equal_nan`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ArrayEqual {
    pub(crate) equal_nan: bool,
}

impl Primitive for ArrayEqual {
    fn name(&self) -> &'static str {
        "ArrayEqual"
    }
    crate::transforms::rules::zero_derivative_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        crate::transforms::rules::vmap_elementwise(inputs, axes, |xs| {
            let xs = crate::ops::broadcast_arrays(xs)?;
            let p = ArrayEqual {
                equal_nan: self.equal_nan,
            };
            Ok(Array::from_op(xs[0].shape().to_vec(), Dtype::Bool, p, xs))
        })
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (a, b, spec) = (&inputs[0], &inputs[1], &outputs[0]);
        let eq_nan = self.equal_nan;
        let d = crate::dispatch_dtype!(a.dtype(), T => elementwise::binary::<T, bool>(a, b, spec, move |x, y| {
            x == y || (eq_nan && x.is_nan() && y.is_nan())
        }))?;
        Ok(vec![d])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// The number of elements of the input over `axes` (or its inverse), as a scalar of `dtype`:
/// MLX's `NumberOfElements`, the divisor of a mean, worked out from the input's shape when the
/// graph runs so that a shapeless replay divides by the new count.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct NumberOfElements {
    pub(crate) axes: Vec<usize>,
    pub(crate) inverted: bool,
    pub(crate) dtype: Dtype,
}

impl Primitive for NumberOfElements {
    fn output_shapes(&self, _inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![vec![]])
    }
    fn name(&self) -> &'static str {
        "NumberOfElements"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let shape = inputs[0].shape();
        let mut n = 1f64;
        for &a in &self.axes {
            let d = shape
                .get(a)
                .ok_or_else(|| Error::value("[NumberOfElements] The input's rank changed."))?;
            n *= *d as f64;
        }
        let v = if self.inverted { 1.0 / n } else { n };
        let spec = &outputs[0];
        let data = crate::dispatch_numeric!(spec.dtype,
            T => Data::from_slice(&[T::from_f64(v)], &spec.shape)?,
            bool => Data::from_slice(&[v != 0.0], &spec.shape)?);
        Ok(vec![data])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    crate::transforms::rules::zero_derivative_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        // Every slice has the same count: the axes shift past the batch axis.
        let shifted = match axes[0] {
            Some(b) => self
                .axes
                .iter()
                .map(|&a| if a >= b { a + 1 } else { a })
                .collect(),
            None => self.axes.clone(),
        };
        let out =
            crate::ops::reduce::number_of_elements(&inputs[0], shifted, self.inverted, self.dtype)?;
        Ok((vec![out], vec![None]))
    }
}
