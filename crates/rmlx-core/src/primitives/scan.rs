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
use crate::primitive::{OutputSpec, Primitive, same_params};
use half::{bf16, f16};

/// A scan: one small type per operation, sharing the axis and direction parameters.
macro_rules! scan_primitive {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $kernel:ident $(, rules { $($rules:tt)* })?) => {
        $(#[$doc])*
        #[derive(Debug, PartialEq)]
        pub(crate) struct $ty {
            /// Normalised axis.
            pub(crate) axis: usize,
            /// Scan from the end.
            pub(crate) reverse: bool,
            /// Include the element at each position.
            pub(crate) inclusive: bool,
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
    CumProd, "CumProd", cumprod_kernel
);
scan_primitive!(
    /// `cummax`, propagating NaN.
    CumMax, "CumMax", cummax_kernel
);
scan_primitive!(
    /// `cummin`, propagating NaN.
    CumMin, "CumMin", cummin_kernel
);
scan_primitive!(
    /// `logcumsumexp` (float and complex dtypes).
    CumLogSumExp, "CumLogaddexp", logcumsumexp_kernel
);

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
