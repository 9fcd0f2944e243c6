//! Primitives that create data from parameters alone.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::num::Num;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `arange`: `start`, then repeatedly adding the step, in the output dtype as MLX does.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Arange {
    pub(crate) start: f64,
    pub(crate) step: f64,
}

impl Primitive for Arange {
    fn name(&self) -> &'static str {
        "Arange"
    }
    fn eval_cpu(&self, _inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let spec = &outputs[0];
        let (mut buf, _) = Data::alloc(spec)?;
        crate::dispatch_numeric!(spec.dtype,
            T => fill_arange::<T>(buffer_elements_mut::<T>(&mut buf), self.start, self.step),
            bool => return Err(Error::value("[arange] bool not supported for arange.")));
        Ok(vec![Data::from_buffer(buf, &spec.shape)])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// MLX's arange: the first value and the step live in the output type (the step is the
/// difference of the first two values there), and each value adds the step to the previous one
/// in that type, so float rounding accumulates and integers wrap.
fn fill_arange<T: Num>(out: &mut [T], start: f64, step: f64) {
    let mut v = T::from_f64(start);
    let d = T::from_f64(start + step).sub(v);
    for o in out.iter_mut() {
        *o = v;
        v = v.add(d);
    }
}

/// Fills an `(n, m)` output with `f(i, j)` as 0 or 1 in the output dtype.
fn fill_matrix(spec: &OutputSpec, f: impl Fn(isize, isize) -> bool) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    let m = spec.shape[1];
    crate::dispatch_dtype!(spec.dtype, T => {
        let (zero, one) = (T::from_i128(0), T::from_i128(1));
        let out = buffer_elements_mut::<T>(&mut buf);
        if m > 0 {
            for (i, row) in out.chunks_exact_mut(m).enumerate() {
                for (j, o) in row.iter_mut().enumerate() {
                    *o = if f(i as isize, j as isize) { one } else { zero };
                }
            }
        }
    });
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// `eye`: ones on diagonal `k` (`j == i + k`), zeros elsewhere.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Eye {
    pub(crate) k: isize,
}

impl Primitive for Eye {
    fn name(&self) -> &'static str {
        "Eye"
    }
    fn eval_cpu(&self, _inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let k = self.k;
        Ok(vec![fill_matrix(&outputs[0], |i, j| {
            i.checked_add(k) == Some(j)
        })?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `tri`: ones at and below diagonal `k` (`j <= i + k`), zeros elsewhere.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Tri {
    pub(crate) k: isize,
}

impl Primitive for Tri {
    fn name(&self) -> &'static str {
        "Tri"
    }
    fn eval_cpu(&self, _inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let k = self.k;
        Ok(vec![fill_matrix(&outputs[0], |i, j| {
            j <= i.saturating_add(k)
        })?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
