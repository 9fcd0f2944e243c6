//! The gated delta rule scan (`mx.fast.gated_delta_update`); the math is in
//! [`crate::cpu::gated_delta`].

use crate::array::{Array, Data};
use crate::cpu::gated_delta::{self, Dims};
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// Inputs `[q, k, v, gamma, beta, initial_state?, mask?]`, outputs `[out, state]`.
#[derive(Debug, PartialEq)]
pub(crate) struct GatedDelta {
    pub has_state: bool,
    pub has_mask: bool,
}

impl Primitive for GatedDelta {
    fn name(&self) -> &'static str {
        "GatedDelta"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let (q, v) = (inputs[0].shape(), inputs[2].shape());
        let dims = Dims {
            b: q[0],
            t: q[1],
            hk: q[2],
            dk: q[3],
            hv: v[2],
            dv: v[3],
            gamma_vec: inputs[3].ndim() == 4,
        };
        gated_delta::gated_delta(inputs, dims, self.has_state, self.has_mask, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
