//! Gradient clipping by global norm.

use crate::optimizer::py_float;
use rmlx_core::tree::{Tree, tree_map};
use rmlx_core::{self as mx, Array, Dtype, Error, Result};

/// Scales the gradients so their global 2-norm is at most `max_norm`, and returns them with
/// that norm before clipping (a lazy scalar array): MLX's `clip_grad_norm`. float16 squares
/// are summed in float32; floating gradients keep their dtype.
///
/// ```
/// use rmlx_optimizers::clip_grad_norm;
/// use rmlx_core::{self as mx, tree::Tree};
/// let grads = Tree::dict([("w1", Tree::from(mx::array![3.0, 0.0])), ("w2", Tree::from(mx::array![4.0]))]);
/// let (clipped, norm) = clip_grad_norm(&grads, 1.0)?;
/// assert_eq!(norm.item::<f32>()?, 5.0);
/// let w2 = clipped.get("w2").unwrap().as_array().unwrap().item::<f32>()?;
/// assert!((w2 - 0.8).abs() < 1e-5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn clip_grad_norm(grads: &Tree, max_norm: f64) -> Result<(Tree, Array)> {
    if max_norm < 0.0 {
        return Err(Error::value(format!(
            "max_norm should be >=0, {} was provided instead",
            py_float(max_norm)
        )));
    }
    let mut norm_squared: Option<Array> = None;
    for g in grads.leaves() {
        let g = if g.dtype() == Dtype::Float16 {
            g.astype(Dtype::Float32)?
        } else {
            g
        };
        let sq = mx::square(&g)?.sum()?;
        norm_squared = Some(match norm_squared {
            // `0.0 + sq` first, as MLX's reduce from 0.0.
            None => mx::add(0.0, &sq)?,
            Some(acc) => mx::add(&acc, &sq)?,
        });
    }
    let total_norm = match norm_squared {
        Some(n) => mx::sqrt(&n)?,
        None => Array::scalar(0.0f32),
    };
    let normalizer = mx::minimum(mx::divide(max_norm, mx::add(&total_norm, 1e-6)?)?, 1.0)?;
    let clipped = tree_map(grads, &mut |g: &Array| {
        let scaled = mx::multiply(g, &normalizer)?;
        if mx::issubdtype(g.dtype(), mx::floating) {
            scaled.astype(g.dtype())
        } else {
            Ok(scaled)
        }
    })?;
    Ok((clipped, total_norm))
}
