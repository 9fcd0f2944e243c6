//! The gated delta rule scan (`mx.fast.gated_delta_update`); the math is in
//! [`crate::cpu::gated_delta`].

use crate::array::{Array, Data};
use crate::cpu::gated_delta::{self, Dims};
use crate::dtype::Dtype;
use crate::error::Result;
use crate::ops;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// Inputs `[q, k, v, gamma, beta, initial_state?, mask?]`, outputs `[out, state]`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct GatedDelta {
    pub has_state: bool,
    pub has_mask: bool,
}

impl GatedDelta {
    /// The recurrence written with plain ops, one step at a time (what MLX differentiates
    /// and vmaps through): returns `[out, state]` with the primitive's dtypes.
    fn fallback(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        let (q, k, v) = (&inputs[0], &inputs[1], &inputs[2]);
        let (b, t, hk, dk) = (q.shape()[0], q.shape()[1], q.shape()[2], q.shape()[3]);
        let (hv, dv) = (v.shape()[2], v.shape()[3]);
        let mut out_dtype = crate::dtype::promote_types(
            crate::dtype::promote_types(q.dtype(), k.dtype()),
            v.dtype(),
        );
        if !out_dtype.is_floating() {
            out_dtype = Dtype::Float32;
        }
        let sd = if out_dtype == Dtype::Float64 {
            Dtype::Float64
        } else {
            Dtype::Float32
        };
        let cast = |x: &Array| ops::astype(x, sd);
        let heads = |x: &Array| -> Result<Array> {
            let x = cast(x)?;
            if hv == hk {
                Ok(x)
            } else {
                ops::repeat_axis(&x, hv / hk, 2)
            }
        };
        let (q, k, v) = (heads(q)?, heads(k)?, cast(v)?);
        let (gamma, beta) = (cast(&inputs[3])?, cast(&inputs[4])?);
        let gamma_vec = gamma.ndim() == 4;
        let mut next = 5;
        let mut state = if self.has_state {
            next += 1;
            cast(&inputs[5])?
        } else {
            ops::zeros([b, hv, dv, dk], sd)?
        };
        let mask = if self.has_mask {
            Some(&inputs[next])
        } else {
            None
        };
        let step = |x: &Array, i: usize| -> Result<Array> {
            ops::squeeze(
                &ops::slice_axis(x, 1, i as isize..i as isize + 1)?,
                Some([1usize]),
            )
        };
        let mut outs = Vec::with_capacity(t);
        for i in 0..t {
            let (qt, kt, vt) = (step(&q, i)?, step(&k, i)?, step(&v, i)?);
            let g = step(&gamma, i)?;
            let g = if gamma_vec {
                ops::expand_dims(&g, [2usize])?
            } else {
                ops::expand_dims(&g, [2usize, 3])?
            };
            let bt = ops::expand_dims(&step(&beta, i)?, [2usize, 3])?;
            let decayed = ops::multiply(&g, &state)?;
            let kcol = ops::expand_dims(&kt, [3usize])?;
            let sk = ops::matmul(&decayed, &kcol)?;
            let delta =
                ops::multiply(&bt, &ops::subtract(&ops::expand_dims(&vt, [3usize])?, &sk)?)?;
            let updated = ops::add(
                &decayed,
                &ops::multiply(&delta, &ops::expand_dims(&kt, [2usize])?)?,
            )?;
            let o = ops::squeeze(
                &ops::matmul(&updated, &ops::expand_dims(&qt, [3usize])?)?,
                Some([3usize]),
            )?;
            match mask {
                Some(m) => {
                    let mt = step(m, i)?;
                    let ms = ops::reshape(&mt, [b, 1, 1, 1])?;
                    state = ops::r#where(&ms, &updated, &state)?;
                    outs.push(ops::r#where(&ops::reshape(&mt, [b, 1, 1])?, &o, 0)?);
                }
                None => {
                    state = updated;
                    outs.push(o);
                }
            }
        }
        let out = if outs.is_empty() {
            ops::zeros([b, 0, hv, dv], out_dtype)?
        } else {
            ops::astype(&ops::stack(&outs, 1)?, out_dtype)?
        };
        Ok(vec![out, state])
    }
}

impl Primitive for GatedDelta {
    fn name(&self) -> &'static str {
        "GatedDelta"
    }
    // MLX differentiates and vmaps gated_delta_update through its plain-ops form.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let f = |xs: &[Array]| self.fallback(xs);
        Ok(crate::transforms::vjp_argnums(f, primals, cotangents, argnums)?.1)
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let mut all = primals
            .iter()
            .map(ops::zeros_like)
            .collect::<Result<Vec<_>>>()?;
        for (&i, t) in argnums.iter().zip(tangents) {
            all[i] = t.clone();
        }
        Ok(crate::transforms::jvp(|xs: &[Array]| self.fallback(xs), primals, &all)?.1)
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if axes.iter().all(Option::is_none) {
            return Ok((self.fallback(inputs)?, vec![None, None]));
        }
        let in_axes: Vec<Option<isize>> = axes.iter().map(|a| a.map(|a| a as isize)).collect();
        let outs =
            crate::transforms::vmap(|xs: &[Array]| self.fallback(xs), &in_axes, &[])(inputs)?;
        Ok((outs, vec![Some(0), Some(0)]))
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
