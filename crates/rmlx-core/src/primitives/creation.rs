//! Primitives that create data from parameters alone.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::element::Element;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `arange`: `start + i * step`, computed in the output dtype as MLX does.
#[derive(Debug, PartialEq)]
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
        crate::dispatch_dtype!(spec.dtype, T => fill_arange::<T>(buffer_elements_mut::<T>(&mut buf), self.start, self.step));
        Ok(vec![Data::from_buffer(buf, &spec.shape)])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

fn fill_arange<T: Element>(out: &mut [T], start: f64, step: f64) {
    match T::KIND {
        crate::element::ElementKind::Float if std::mem::size_of::<T>() == 4 => {
            let (s, d) = (start as f32, step as f32);
            for (i, o) in out.iter_mut().enumerate() {
                *o = T::from_f64((s + i as f32 * d) as f64);
            }
        }
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = T::from_f64(start + i as f64 * step);
            }
        }
    }
}
