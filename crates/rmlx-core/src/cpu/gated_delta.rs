//! The gated delta rule recurrence (`mx.fast.gated_delta_update`), one sequential scan per
//! (batch, value head), heads in parallel. The state of each head is a `Dv x Dk` matrix kept
//! in the state dtype (f32, or f64 for float64 inputs); for each step `t`:
//!
//! ```text
//! S = gamma_t * S                      (gamma a scalar, or a Dk vector scaling S's columns)
//! S = S + beta_t * (v_t - S k_t) k_t^T
//! o_t = S q_t
//! ```
//!
//! and a masked-out step leaves `S` unchanged and outputs zeros.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::element::Element;
use crate::error::Result;
use crate::layout::for_each_offset;
use crate::primitive::OutputSpec;
use rayon::prelude::*;

/// The values of `x` in row-major order, converted to `T`.
fn values<T: Element>(x: &Array) -> Result<Vec<T>> {
    let d = x.ready_data()?;
    let mut out = Vec::with_capacity(x.size());
    crate::dispatch_dtype!(x.dtype(), E => {
        let v = d.elements::<E>();
        for_each_offset(x.shape(), &d.strides, d.offset, |o| out.push(v[o].cast::<T>()));
    });
    Ok(out)
}

/// Sizes of the problem: batch, steps, key heads, value heads, key dim, value dim, and whether
/// gamma carries a Dk vector per step.
#[derive(Clone, Copy)]
pub(crate) struct Dims {
    pub b: usize,
    pub t: usize,
    pub hk: usize,
    pub hv: usize,
    pub dk: usize,
    pub dv: usize,
    pub gamma_vec: bool,
}

/// Runs the scan. `inputs` are `[q, k, v, gamma, beta, state0?, mask?]` (state and mask as
/// flagged); outputs are `(out, state)` in their specs' dtypes.
pub(crate) fn gated_delta(
    inputs: &[Array],
    dims: Dims,
    has_state: bool,
    has_mask: bool,
    specs: &[OutputSpec],
) -> Result<Vec<Data>> {
    match specs[1].dtype {
        crate::Dtype::Float64 => run::<f64>(inputs, dims, has_state, has_mask, specs),
        _ => run::<f32>(inputs, dims, has_state, has_mask, specs),
    }
}

fn run<A: Element + num_traits_like::Float>(
    inputs: &[Array],
    d: Dims,
    has_state: bool,
    has_mask: bool,
    specs: &[OutputSpec],
) -> Result<Vec<Data>> {
    let (q, k, v) = (
        values::<A>(&inputs[0])?,
        values::<A>(&inputs[1])?,
        values::<A>(&inputs[2])?,
    );
    let (g, beta) = (values::<A>(&inputs[3])?, values::<A>(&inputs[4])?);
    let mut next = 5;
    let s0 = if has_state {
        next += 1;
        Some(values::<A>(&inputs[5])?)
    } else {
        None
    };
    let mask = if has_mask {
        Some(values::<bool>(&inputs[next])?)
    } else {
        None
    };
    let per_head = d.dv * d.dk;
    let mut out = vec![A::zero(); d.b * d.t * d.hv * d.dv];
    let mut state = match s0 {
        Some(s) => s,
        None => vec![A::zero(); d.b * d.hv * per_head],
    };
    let ratio = d.hv / d.hk;
    // Each (batch, head) task owns its state block; outputs are gathered afterwards.
    let results: Vec<Vec<A>> = state
        .par_chunks_mut(per_head)
        .enumerate()
        .map(|(task, s)| {
            let (bi, h) = (task / d.hv, task % d.hv);
            let hk = h / ratio;
            let mut o = vec![A::zero(); d.t * d.dv];
            let mut sk = vec![A::zero(); d.dv];
            for t in 0..d.t {
                if let Some(m) = &mask
                    && !m[bi * d.t + t]
                {
                    continue;
                }
                let qk_base = ((bi * d.t + t) * d.hk + hk) * d.dk;
                let (qt, kt) = (&q[qk_base..qk_base + d.dk], &k[qk_base..qk_base + d.dk]);
                let v_base = ((bi * d.t + t) * d.hv + h) * d.dv;
                let vt = &v[v_base..v_base + d.dv];
                let gh = (bi * d.t + t) * d.hv + h;
                let bt = beta[gh];
                // Decay.
                if d.gamma_vec {
                    let gv = &g[gh * d.dk..(gh + 1) * d.dk];
                    for row in s.chunks_exact_mut(d.dk) {
                        row.iter_mut().zip(gv).for_each(|(x, &y)| *x = *x * y);
                    }
                } else {
                    let gs = g[gh];
                    s.iter_mut().for_each(|x| *x = *x * gs);
                }
                // Delta update: S += beta * (v - S k) k^T.
                for (i, row) in s.chunks_exact(d.dk).enumerate() {
                    sk[i] = row
                        .iter()
                        .zip(kt)
                        .fold(A::zero(), |acc, (&x, &y)| acc + x * y);
                }
                for (i, row) in s.chunks_exact_mut(d.dk).enumerate() {
                    let c = bt * (vt[i] - sk[i]);
                    row.iter_mut().zip(kt).for_each(|(x, &y)| *x = *x + c * y);
                }
                // Output: S q.
                for (i, row) in s.chunks_exact(d.dk).enumerate() {
                    o[t * d.dv + i] = row
                        .iter()
                        .zip(qt)
                        .fold(A::zero(), |acc, (&x, &y)| acc + x * y);
                }
            }
            o
        })
        .collect();
    for (task, o) in results.iter().enumerate() {
        let (bi, h) = (task / d.hv, task % d.hv);
        for t in 0..d.t {
            let dst = ((bi * d.t + t) * d.hv + h) * d.dv;
            out[dst..dst + d.dv].copy_from_slice(&o[t * d.dv..(t + 1) * d.dv]);
        }
    }
    Ok(vec![store(&out, &specs[0])?, store(&state, &specs[1])?])
}

/// A new array of `spec` holding `vals` converted to its dtype.
fn store<A: Element>(vals: &[A], spec: &OutputSpec) -> Result<Data> {
    let (mut buf, _) = Data::alloc(spec)?;
    crate::dispatch_dtype!(spec.dtype, E => {
        let dst = buffer_elements_mut::<E>(&mut buf);
        dst.iter_mut().zip(vals).for_each(|(o, &x)| *o = x.cast::<E>());
    });
    Ok(Data::from_buffer(buf, &spec.shape))
}

/// The little float arithmetic the scan needs, for f32 and f64.
mod num_traits_like {
    pub trait Float:
        Copy
        + Send
        + Sync
        + std::ops::Add<Output = Self>
        + std::ops::Sub<Output = Self>
        + std::ops::Mul<Output = Self>
    {
        fn zero() -> Self;
    }
    impl Float for f32 {
        fn zero() -> Self {
            0.0
        }
    }
    impl Float for f64 {
        fn zero() -> Self {
            0.0
        }
    }
}
