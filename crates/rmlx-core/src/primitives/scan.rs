//! Scan primitives (cumsum, cumprod, cummax, cummin, logcumsumexp) along one axis; the loop is
//! [`crate::cpu::scan::scan`]. The ops cast first where MLX changes the dtype (cumsum of bool
//! is int32, logcumsumexp of integers is float32), so each scan maps a dtype to itself.

use crate::array::{Array, Data};
use crate::cpu::num::Num;
use crate::cpu::reduce::{Ordered, max_step, min_step};
use crate::cpu::scan::scan;
use crate::dtype::Dtype;
use crate::element::{C64, Element};
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::{OutputSpec, Primitive, same_params};
use half::{bf16, f16};

/// A scan: one small type per operation, sharing the axis and direction parameters.
macro_rules! scan_primitive {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $kernel:ident $(, rules { $($rules:tt)* })?) => {
        $(#[$doc])*
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub(crate) struct $ty {
            /// Normalised axis.
            pub(crate) axis: usize,
            /// Scan from the end.
            pub(crate) reverse: bool,
            /// Include the element at each position.
            pub(crate) inclusive: bool,
        }
        impl $ty {
            /// The scan's parameters, for the rules.
            #[allow(dead_code)]
            fn scan(&self) -> Params {
                Params { axis: self.axis, reverse: self.reverse, inclusive: self.inclusive }
            }
        }
        impl Primitive for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
                let p = Params { axis: self.axis, reverse: self.reverse, inclusive: self.inclusive };
                Ok(vec![$kernel(&inputs[0], &outputs[0], p)?])
            }
            fn is_equivalent(&self, other: &dyn Primitive) -> bool {
                same_params(self, other)
            }
            fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
                Ok(vec![inputs[0].shape().to_vec()])
            }
            fn vmap(
                &self,
                inputs: &[Array],
                axes: &[Option<usize>],
                _outputs: &[OutputSpec],
            ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
                let x = &inputs[0];
                let axis = match axes[0] {
                    Some(b) if b <= self.axis => self.axis + 1,
                    _ => self.axis,
                };
                let p = $ty { axis, reverse: self.reverse, inclusive: self.inclusive };
                Ok((vec![Array::from_op(x.shape().to_vec(), x.dtype(), p, vec![x.clone()])], axes.to_vec()))
            }
            $($($rules)*)?
        }
    };
}

/// MLX's `Scan::jvp` covers only sum and logaddexp: the others raise its error.
macro_rules! no_scan_jvp {
    () => {
        fn jvp(
            &self,
            _primals: &[Array],
            _tangents: &[Array],
            _argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Err(Error::runtime(
                "JVP is not implemented for cumulative prod/min/max",
            ))
        }
    };
}

#[derive(Copy, Clone)]
struct Params {
    axis: usize,
    reverse: bool,
    inclusive: bool,
}

fn run<T: Element>(
    x: &Array,
    spec: &OutputSpec,
    p: Params,
    init: T,
    step: impl Fn(T, T) -> T + Sync + Send,
) -> Result<Data> {
    scan(x, p.axis, spec, p.reverse, p.inclusive, init, step)
}

scan_primitive!(
    /// `cumsum` (wrapping for integers).
    CumSum, "CumSum", cumsum_kernel,
    rules {
        // A sum's transpose is the sum the other way, with the same inclusiveness.
        fn vjp(
            &self,
            _primals: &[Array],
            cotangents: &[Array],
            _argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let c = &cotangents[0];
            let p = CumSum { axis: self.axis, reverse: !self.reverse, inclusive: self.inclusive };
            Ok(vec![Array::from_op(c.shape().to_vec(), c.dtype(), p, vec![c.clone()])])
        }
        fn jvp(
            &self,
            _primals: &[Array],
            tangents: &[Array],
            _argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let t = &tangents[0];
            let p = CumSum { axis: self.axis, reverse: self.reverse, inclusive: self.inclusive };
            Ok(vec![Array::from_op(t.shape().to_vec(), t.dtype(), p, vec![t.clone()])])
        }
    }
);
scan_primitive!(
    /// `cumprod` (logical and for bool).
    CumProd, "CumProd", cumprod_kernel,
    rules {
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![cumprod_vjp(self.scan(), &primals[0], &cotangents[0], &outputs[0])?])
        }
        no_scan_jvp!();
    }
);
scan_primitive!(
    /// `cummax`, propagating NaN.
    CumMax, "CumMax", cummax_kernel,
    rules {
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![extreme_vjp(self.scan(), &primals[0], &cotangents[0], &outputs[0])?])
        }
        no_scan_jvp!();
    }
);
scan_primitive!(
    /// `cummin`, propagating NaN.
    CumMin, "CumMin", cummin_kernel,
    rules {
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![extreme_vjp(self.scan(), &primals[0], &cotangents[0], &outputs[0])?])
        }
        no_scan_jvp!();
    }
);
scan_primitive!(
    /// `logcumsumexp` (float and complex dtypes).
    CumLogSumExp, "CumLogaddexp", logcumsumexp_kernel,
    rules {
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![logaddexp_vjp(self.scan(), &primals[0], &cotangents[0], &outputs[0])?])
        }
        fn jvp(
            &self,
            primals: &[Array],
            tangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![logaddexp_jvp(self.scan(), &primals[0], &tangents[0], &outputs[0])?])
        }
    }
);

fn opts(reverse: bool, inclusive: bool) -> ops::ScanOptions {
    ops::ScanOptions { reverse, inclusive }
}

/// MLX's `Scan::vjp` for prod: the usual `cumsum(out * cot) / x` the other way, except at the
/// first zero of each lane (its gradient recomputed with that zero set to one) and after it
/// (zero).
fn cumprod_vjp(p: Params, x: &Array, cot: &Array, out: &Array) -> Result<Array> {
    let ax = Some(p.axis as isize);
    let other = ops::cumprod_with(x, ax, opts(p.reverse, !p.inclusive))?;
    let (excl, incl) = if p.inclusive {
        (other, out.clone())
    } else {
        (out.clone(), other)
    };
    let eq_zero = ops::equal(&incl, 0)?;
    let first_zero = ops::logical_and(&eq_zero, &ops::not_equal(&excl, 0)?)?;
    let partial = |a: &Array| -> Result<Array> {
        ops::cumsum_with(&ops::multiply(a, cot)?, ax, opts(!p.reverse, p.inclusive))
    };
    let ones = ops::r#where(&first_zero, 1, x)?;
    let with_one = ops::cumprod_with(&ones, ax, opts(p.reverse, p.inclusive))?;
    let grad_with_one = partial(&with_one)?;
    let grad = ops::divide(&partial(out)?, x)?;
    let rest = ops::r#where(&eq_zero, 0, &grad)?;
    ops::r#where(&first_zero, &grad_with_one, &rest)
}

/// MLX's `Scan::vjp` for cummax/cummin: each position's cotangent goes to the element holding
/// the running extreme there (ties: the latest in scan order), by a scatter-add.
fn extreme_vjp(p: Params, x: &Array, cot: &Array, out: &Array) -> Result<Array> {
    let (axis, rev) = (p.axis, p.reverse);
    let n = x.shape()[axis] as isize;
    let ax = axis as isize;
    let (mut xw, mut ew, mut cw) = (x.clone(), out.clone(), cot.clone());
    let iota = if p.inclusive {
        ops::arange_dtype(0.0, n as f64, 1.0, Dtype::Int32)?
    } else {
        let (xs, es) = if rev {
            (1..n, 0..n - 1)
        } else {
            (0..n - 1, 1..n)
        };
        xw = ops::slice_axis(x, ax, xs.clone())?;
        ew = ops::slice_axis(out, ax, es.clone())?;
        cw = ops::slice_axis(cot, ax, es)?;
        ops::arange_dtype(xs.start as f64, xs.end as f64, 1.0, Dtype::Int32)?
    };
    let mut index_shape = vec![1usize; x.ndim()];
    index_shape[axis] = iota.size();
    let iota = ops::reshape(&iota, index_shape)?;
    let none = Array::scalar(if rev { n as i32 } else { -1 });
    let masked = ops::r#where(&ops::equal(&xw, &ew)?, &iota, &none)?;
    let owner = if rev {
        ops::cummin_with(&masked, Some(ax), opts(true, true))?
    } else {
        ops::cummax_with(&masked, Some(ax), opts(false, true))?
    };
    let owner = ops::stop_gradient(&ops::astype(&owner, Dtype::Uint32)?)?;
    ops::scatter_add_axis(&ops::zeros_like(x)?, &owner, &cw, Some(ax))
}

/// `where(g > 0, log|g|, lowest)` and the same for `g < 0`: the positive and negative parts
/// of `g` in log space.
fn log_parts(g: &Array) -> Result<(Array, Array)> {
    let lowest = crate::dtype::finfo(g.dtype())?.min;
    let log_abs = ops::log(&ops::abs(g)?)?;
    let pos = ops::r#where(&ops::greater(g, 0)?, &log_abs, lowest)?;
    let neg = ops::r#where(&ops::less(g, 0)?, &log_abs, lowest)?;
    Ok((pos, neg))
}

/// MLX's `Scan::vjp` for logaddexp: the transposed scan of `cot * exp(x - out)`, split into
/// its positive and negative parts to stay in log space.
fn logaddexp_vjp(p: Params, x: &Array, cot: &Array, out: &Array) -> Result<Array> {
    let ax = Some(p.axis as isize);
    let (pos, neg) = log_parts(cot)?;
    let part = |l: &Array| -> Result<Array> {
        let s = ops::logcumsumexp_with(&ops::subtract(l, out)?, ax, opts(!p.reverse, p.inclusive))?;
        ops::exp(&ops::add(&s, x)?)
    };
    ops::subtract(&part(&pos)?, &part(&neg)?)
}

/// The jvp of logcumsumexp: at each position, the tangents of the scanned elements weighted
/// by their softmax weights `exp(x - out)`, in log space as the vjp; zero where nothing is
/// scanned yet (the first position of an exclusive scan).
fn logaddexp_jvp(p: Params, x: &Array, t: &Array, out: &Array) -> Result<Array> {
    let ax = Some(p.axis as isize);
    let (pos, neg) = log_parts(t)?;
    let part = |l: &Array| -> Result<Array> {
        let s = ops::logcumsumexp_with(&ops::add(l, x)?, ax, opts(p.reverse, p.inclusive))?;
        ops::exp(&ops::subtract(&s, out)?)
    };
    let d = ops::subtract(&part(&pos)?, &part(&neg)?)?;
    ops::r#where(&ops::isneginf(out)?, 0, &d)
}

fn cumsum_kernel(x: &Array, spec: &OutputSpec, p: Params) -> Result<Data> {
    crate::dispatch_numeric!(x.dtype(), T => run::<T>(x, spec, p, T::ZERO, T::add),
        bool => Err(Error::value("[cumsum] bool input must be cast to int32 first.")))
}

fn cumprod_kernel(x: &Array, spec: &OutputSpec, p: Params) -> Result<Data> {
    crate::dispatch_numeric!(x.dtype(), T => run::<T>(x, spec, p, T::ONE, T::mul),
        bool => run::<bool>(x, spec, p, true, |a, b| a & b))
}

fn cummax_kernel(x: &Array, spec: &OutputSpec, p: Params) -> Result<Data> {
    crate::dispatch_dtype!(x.dtype(), T => run::<T>(x, spec, p, T::LOWEST, max_step::<T>))
}

fn cummin_kernel(x: &Array, spec: &OutputSpec, p: Params) -> Result<Data> {
    crate::dispatch_dtype!(x.dtype(), T => run::<T>(x, spec, p, T::HIGHEST, min_step::<T>))
}

/// `log(e^a + e^b)` for reals, exact at infinities and NaN-propagating.
fn logaddexp(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY || hi == f64::INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

fn logaddexp_f32(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        return f32::NAN;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f32::NEG_INFINITY || hi == f32::INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

fn logaddexp_c64(a: C64, b: C64) -> C64 {
    let (hi, lo) = if a.gt(b) { (a, b) } else { (b, a) };
    if lo.re == f32::NEG_INFINITY || hi.re == f32::INFINITY {
        return hi;
    }
    hi + (C64::new(1.0, 0.0) + (lo - hi).exp()).ln()
}

fn logcumsumexp_kernel(x: &Array, spec: &OutputSpec, p: Params) -> Result<Data> {
    let ninf = f64::NEG_INFINITY;
    match x.dtype() {
        Dtype::Float32 => run::<f32>(x, spec, p, f32::NEG_INFINITY, logaddexp_f32),
        Dtype::Float64 => run::<f64>(x, spec, p, ninf, logaddexp),
        Dtype::Float16 => run::<f16>(x, spec, p, f16::NEG_INFINITY, |a, b| {
            f16::from_f32(logaddexp_f32(a.to_f32(), b.to_f32()))
        }),
        Dtype::Bfloat16 => run::<bf16>(x, spec, p, bf16::NEG_INFINITY, |a, b| {
            bf16::from_f32(logaddexp_f32(a.to_f32(), b.to_f32()))
        }),
        Dtype::Complex64 => run::<C64>(x, spec, p, C64::new(f32::NEG_INFINITY, 0.0), logaddexp_c64),
        d => Err(Error::value(format!(
            "[logcumsumexp] Not supported for {d}."
        ))),
    }
}
