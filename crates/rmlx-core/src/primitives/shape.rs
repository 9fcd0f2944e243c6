//! Layout primitives: views that share their input's buffer (broadcast, reshape of contiguous
//! data, transpose, as_strided) and the copies that make data contiguous or change its dtype.

use crate::array::{Array, Data, row_major_strides};
use crate::cpu::elementwise;
use crate::element::Element;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `broadcast_to`: a view with zero strides on the broadcast dimensions.
#[derive(Debug, PartialEq)]
pub(crate) struct Broadcast;

impl Primitive for Broadcast {
    fn name(&self) -> &'static str {
        "Broadcast"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        let out_shape = &outputs[0].shape;
        let in_shape = inputs[0].shape();
        let lead = out_shape.len() - in_shape.len();
        let strides = (0..out_shape.len())
            .map(|i| {
                if i < lead || in_shape[i - lead] != out_shape[i] {
                    0
                } else {
                    d.strides[i - lead]
                }
            })
            .collect();
        Ok(vec![Data::view(
            d.buffer.clone(),
            out_shape,
            d.offset,
            strides,
        )])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `reshape`: a view of row-contiguous data, a copy otherwise.
#[derive(Debug, PartialEq)]
pub(crate) struct Reshape;

impl Primitive for Reshape {
    fn name(&self) -> &'static str {
        "Reshape"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        let spec = &outputs[0];
        if d.row_contiguous {
            return Ok(vec![Data::view(
                d.buffer.clone(),
                &spec.shape,
                d.offset,
                row_major_strides(&spec.shape),
            )]);
        }
        // Copy in the input's row-major order, then the copy is laid out for the new shape.
        let flat = OutputSpec {
            shape: inputs[0].shape().to_vec(),
            dtype: spec.dtype,
        };
        let copied =
            crate::dispatch_dtype!(spec.dtype, T => elementwise::copy::<T>(&inputs[0], &flat))?;
        Ok(vec![Data::view(
            copied.buffer,
            &spec.shape,
            0,
            row_major_strides(&spec.shape),
        )])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `transpose`: a view with permuted strides.
#[derive(Debug, PartialEq)]
pub(crate) struct Transpose {
    pub(crate) axes: Vec<usize>,
}

impl Primitive for Transpose {
    fn name(&self) -> &'static str {
        "Transpose"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        let strides = self.axes.iter().map(|&a| d.strides[a]).collect();
        Ok(vec![Data::view(
            d.buffer.clone(),
            &outputs[0].shape,
            d.offset,
            strides,
        )])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `as_strided`: a view with caller-given strides and offset, relative to the input's
/// row-major layout (the input is made contiguous first by the op).
#[derive(Debug, PartialEq)]
pub(crate) struct AsStrided {
    pub(crate) strides: Vec<isize>,
    pub(crate) offset: usize,
}

impl Primitive for AsStrided {
    fn name(&self) -> &'static str {
        "AsStrided"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        Ok(vec![Data::view(
            d.buffer.clone(),
            &outputs[0].shape,
            d.offset + self.offset,
            self.strides.clone(),
        )])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `contiguous`: a row-major copy (or the input itself when already row-major).
#[derive(Debug, PartialEq)]
pub(crate) struct Contiguous;

impl Primitive for Contiguous {
    fn name(&self) -> &'static str {
        "Contiguous"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let d = inputs[0].ready_data()?;
        if d.row_contiguous {
            return Ok(vec![d]);
        }
        drop(d);
        let spec = &outputs[0];
        Ok(vec![
            crate::dispatch_dtype!(spec.dtype, T => elementwise::copy::<T>(&inputs[0], spec))?,
        ])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `astype`: converts every element as C++'s `static_cast` does in MLX.
#[derive(Debug, PartialEq)]
pub(crate) struct AsType;

impl Primitive for AsType {
    fn name(&self) -> &'static str {
        "AsType"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let spec = &outputs[0];
        let data = crate::dispatch_dtype!(inputs[0].dtype(), S => {
            crate::dispatch_dtype!(spec.dtype, D => elementwise::unary::<S, D>(&inputs[0], spec, |x| x.cast::<D>()))
        })?;
        Ok(vec![data])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
