//! The random-bits primitive: Threefry-2x32 bits of a key (or of a batch of keys), the source
//! every sampler in [`crate::random`] is built on.

use crate::array::{Array, Data};
use crate::cpu::random::random_bits;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::ops;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// Random bits of `width` bytes per element (1, 2 or 4: uint8, uint16, uint32) from keys of
/// shape `[..., 2]`. `shape` is the whole output shape: the keys' batch dimensions, then the
/// shape asked for; each key fills an equal consecutive share of the output (MLX's
/// `RandomBits`).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RandomBits {
    pub(crate) shape: Vec<usize>,
    pub(crate) width: usize,
}

/// The dtype of `width`-byte random bits.
pub(crate) fn bits_dtype(width: usize) -> Dtype {
    match width {
        1 => Dtype::Uint8,
        2 => Dtype::Uint16,
        _ => Dtype::Uint32,
    }
}

impl Primitive for RandomBits {
    fn name(&self) -> &'static str {
        "RandomBits"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![random_bits(&inputs[0], &outputs[0])?])
    }
    /// Batched keys give batched bits: the batch axis of the keys (moved off the last axis,
    /// which holds the key pair) becomes an axis of the output at the same place.
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let mut key = inputs[0].clone();
        let Some(mut kax) = axes[0] else {
            let out = Array::from_op(
                self.shape.clone(),
                bits_dtype(self.width),
                RandomBits {
                    shape: self.shape.clone(),
                    width: self.width,
                },
                vec![key],
            );
            return Ok((vec![out], vec![None]));
        };
        if kax + 1 == key.ndim() {
            key = ops::swapaxes(&key, kax as isize, kax as isize - 1)?;
            kax -= 1;
        }
        let mut shape = self.shape.clone();
        shape.insert(kax, key.shape()[kax]);
        let out = Array::from_op(
            shape.clone(),
            bits_dtype(self.width),
            RandomBits {
                shape,
                width: self.width,
            },
            vec![key],
        );
        Ok((vec![out], vec![Some(kax)]))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
