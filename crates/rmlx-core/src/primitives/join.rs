//! Primitives that assemble one output from several inputs.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::copy::copy_into;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `concatenate`: the inputs (already in the output dtype) placed one after another along
/// `axis`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Concatenate {
    pub(crate) axis: usize,
}

impl Primitive for Concatenate {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let mut out = inputs[0].shape().to_vec();
        for x in &inputs[1..] {
            let s = x.shape();
            let agree = s.len() == out.len()
                && s.iter()
                    .zip(&out)
                    .enumerate()
                    .all(|(i, (a, b))| i == self.axis || a == b);
            if !agree {
                return Err(crate::error::Error::value(
                    "[concatenate] All the input array dimensions must match exactly except for \
                     the concatenation axis.",
                ));
            }
            out[self.axis] += s[self.axis];
        }
        Ok(vec![out])
    }
    fn name(&self) -> &'static str {
        "Concatenate"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let spec = &outputs[0];
        let (mut buf, strides) = Data::alloc(spec)?;
        crate::dispatch_dtype!(spec.dtype, T => {
            let out = buffer_elements_mut::<T>(&mut buf);
            let mut pos = 0usize;
            for x in inputs {
                let n = x.shape()[self.axis];
                if x.size() > 0 {
                    let d = x.ready_data()?;
                    copy_into::<T>(&d, x.shape(), out, pos * strides[self.axis] as usize, &strides);
                }
                pos += n;
            }
        });
        Ok(vec![Data::from_buffer(buf, &spec.shape)])
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let c = &cotangents[0];
        let ax = self.axis;
        let mut starts = Vec::with_capacity(primals.len());
        let mut pos = 0usize;
        for p in primals {
            starts.push(pos);
            pos += p.shape()[ax];
        }
        argnums
            .iter()
            .map(|&i| {
                let mut start = vec![0isize; c.ndim()];
                let mut stop: Vec<isize> = c.shape().iter().map(|&d| d as isize).collect();
                start[ax] = starts[i] as isize;
                stop[ax] = (starts[i] + primals[i].shape()[ax]) as isize;
                crate::ops::slice(c, start, stop, vec![1isize; c.ndim()])
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
        let parts = primals
            .iter()
            .enumerate()
            .map(|(i, p)| match argnums.iter().position(|&a| a == i) {
                Some(k) => Ok(tangents[k].clone()),
                None => crate::ops::zeros_like(p),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(vec![crate::ops::concatenate(&parts, self.axis as isize)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let size = inputs
            .iter()
            .zip(axes)
            .find_map(|(x, a)| a.map(|a| x.shape()[a]));
        let Some(size) = size else {
            return Ok((
                vec![crate::ops::concatenate(inputs, self.axis as isize)?],
                vec![None],
            ));
        };
        let parts = inputs
            .iter()
            .zip(axes)
            .map(|(x, a)| match a {
                Some(a) => crate::ops::moveaxis(x, *a as isize, 0),
                None => {
                    let mut shape = vec![size];
                    shape.extend_from_slice(x.shape());
                    crate::ops::broadcast_to(&crate::ops::expand_dims(x, 0)?, shape)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((
            vec![crate::ops::concatenate(&parts, self.axis as isize + 1)?],
            vec![Some(0)],
        ))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
