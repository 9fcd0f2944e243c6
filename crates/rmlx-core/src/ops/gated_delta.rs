//! `gated_delta_update`: the gated delta network recurrence (exported as
//! `fast::gated_delta_update`, as MLX has it in `mx.fast`).

use crate::array::Array;
use crate::dtype::{Dtype, promote_types};
use crate::error::{Error, Result, fmt_shape};
use crate::primitive::OutputSpec;
use crate::primitives::gated_delta::GatedDelta;

/// The gated delta rule over a sequence (`mx.fast.gated_delta_update`), returning
/// `(output, final_state)`.
///
/// Shapes: `q`, `k` `(B, T, Hk, Dk)`; `v` `(B, T, Hv, Dv)` with `Hv` a multiple of `Hk` (value
/// head `h` reads key head `h / (Hv / Hk)`); `gamma` `(B, T, Hv)` or `(B, T, Hv, Dk)`; `beta`
/// `(B, T, Hv)`; `initial_state` `(B, Hv, Dv, Dk)` (zeros when `None`); `mask` `(B, T)`: a false
/// step leaves the state unchanged and outputs zeros. Per head and step:
/// `S = gamma * S; S += beta * (v - S k) k^T; o = S q`. The output has the dtype of `q`, `k`,
/// `v` promoted (float32 for integers); the state is float32 (float64 for float64 inputs).
///
/// MLX's CPU version broadcasts mismatched shapes into odd results; rmlx requires the shapes
/// above, and accepts `T == 0` (MLX raises), returning the initial state.
///
/// ```
/// use rmlx_core as mx;
/// let q = mx::ones(&[1, 2, 1, 2], mx::float32)?;
/// let v = mx::ones(&[1, 2, 1, 1], mx::float32)?;
/// let g = mx::ones(&[1, 2, 1], mx::float32)?;
/// let (o, s) = mx::fast::gated_delta_update(&q, &q, &v, &g, &(&g * 0.5), None, None)?;
/// assert_eq!(o.shape(), &[1, 2, 1, 1]);
/// assert_eq!(s.shape(), &[1, 1, 1, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn gated_delta_update(
    q: &Array,
    k: &Array,
    v: &Array,
    gamma: &Array,
    beta: &Array,
    initial_state: Option<&Array>,
    mask: Option<&Array>,
) -> Result<(Array, Array)> {
    let bad = |what: &str, x: &Array, want: String| {
        Err(Error::value(format!(
            "[gated_delta_update] {what} must have shape {want} but got {}.",
            fmt_shape(x.shape())
        )))
    };
    if q.ndim() != 4 {
        return bad("q", q, "(B, T, Hk, Dk)".into());
    }
    let (b, t, hk, dk) = (q.shape()[0], q.shape()[1], q.shape()[2], q.shape()[3]);
    if k.shape() != q.shape() {
        return bad("k", k, fmt_shape(q.shape()));
    }
    if v.ndim() != 4 || v.shape()[..2] != q.shape()[..2] {
        return bad("v", v, format!("({b},{t},Hv,Dv)"));
    }
    let (hv, dv) = (v.shape()[2], v.shape()[3]);
    if hk == 0 || hv % hk != 0 {
        return Err(Error::value(format!(
            "[gated_delta_update] The value heads ({hv}) must be a multiple of the key heads \
             ({hk})."
        )));
    }
    let heads = [b, t, hv];
    if gamma.shape() != heads && gamma.shape() != [b, t, hv, dk] {
        return bad(
            "gamma",
            gamma,
            format!("({b},{t},{hv}) or ({b},{t},{hv},{dk})"),
        );
    }
    if beta.shape() != heads {
        return bad("beta", beta, fmt_shape(&heads));
    }
    let mut dtype = promote_types(promote_types(q.dtype(), k.dtype()), v.dtype());
    if !dtype.is_floating() {
        dtype = Dtype::Float32;
    }
    let state_dtype = if dtype == Dtype::Float64 {
        Dtype::Float64
    } else {
        Dtype::Float32
    };
    let state_shape = vec![b, hv, dv, dk];
    let mut inputs = vec![q.clone(), k.clone(), v.clone(), gamma.clone(), beta.clone()];
    if let Some(s) = initial_state {
        if s.shape() != state_shape {
            return bad("initial_state", s, fmt_shape(&state_shape));
        }
        inputs.push(s.clone());
    }
    if let Some(m) = mask {
        if m.shape() != [b, t] {
            return bad("mask", m, fmt_shape(&[b, t]));
        }
        inputs.push(crate::ops::astype(m, Dtype::Bool)?);
    }
    let outs = Array::multi_from_op(
        vec![
            OutputSpec {
                shape: vec![b, t, hv, dv],
                dtype,
            },
            OutputSpec {
                shape: state_shape,
                dtype: state_dtype,
            },
        ],
        GatedDelta {
            has_state: initial_state.is_some(),
            has_mask: mask.is_some(),
        },
        inputs,
    );
    let mut it = outs.into_iter();
    Ok((it.next().expect("output"), it.next().expect("state")))
}
