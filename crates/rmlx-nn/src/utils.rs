//! `mlx.nn.utils`' gradient helpers: [`average_gradients`] and [`checkpoint`] (`nn::utils::checkpoint`).

use crate::core::tree::{Tree, tree_flatten, tree_map, tree_unflatten};
use crate::core::{self as mx, Array, Result, distributed::Group};

pub use crate::autodiff::checkpoint;

/// Averages gradients over the processes of `group` (the global group when `None`): MLX's
/// `nn.average_gradients`. Gradients of one dtype are concatenated into all-reduces of about
/// `all_reduce_size` bytes (0 or less: one all-reduce per array); mixed dtypes fall back to one
/// per array. In a group of one (rmlx has no multi-process backend yet) the gradients are
/// returned as they are.
///
/// ```
/// use rmlx_nn::{average_gradients, core::{self as mx, tree::Tree}};
/// let grads = Tree::dict([("w", Tree::from(mx::array![1.0, 2.0]))]);
/// let avg = average_gradients(&grads, None, 32 * 1024 * 1024)?;
/// assert_eq!(avg.get("w").unwrap().as_array().unwrap().to_vec::<f32>()?, vec![1.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn average_gradients(
    gradients: &Tree,
    group: Option<Group>,
    all_reduce_size: i64,
) -> Result<Tree> {
    let group = match group {
        Some(g) => g,
        None => mx::distributed::init(false)?,
    };
    let n = group.size();
    if n == 1 {
        return Ok(gradients.clone());
    }
    let average = |x: &Array| mx::divide(mx::distributed::all_sum(x, Some(group))?, n as f64);
    if all_reduce_size <= 0 {
        return tree_map(gradients, &mut |x: &Array| average(x));
    }
    let flat: Vec<(String, Array)> = tree_flatten(gradients, "")
        .into_iter()
        .filter_map(|(k, t)| t.as_array().cloned().map(|a| (k, a)))
        .collect();
    if flat.is_empty() {
        return Ok(gradients.clone());
    }
    let dtype = flat[0].1.dtype();
    if flat.iter().any(|(_, a)| a.dtype() != dtype) {
        return average_gradients(gradients, Some(group), 0);
    }
    // Groups of arrays just reaching `all_reduce_size` bytes.
    let itemsize = flat[0].1.itemsize() as i64;
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0i64;
    for (i, (_, a)) in flat.iter().enumerate() {
        current.push(i);
        bytes += a.size() as i64 * itemsize;
        if bytes >= all_reduce_size {
            groups.push(std::mem::take(&mut current));
            bytes = 0;
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    let mut out = Vec::with_capacity(flat.len());
    for g in groups {
        let parts: Vec<Array> = g
            .iter()
            .map(|&i| flat[i].1.reshape([-1isize]))
            .collect::<Result<_>>()?;
        let mut offsets = Vec::with_capacity(g.len());
        let mut total = 0isize;
        for &i in &g[..g.len() - 1] {
            total += flat[i].1.size() as isize;
            offsets.push(total);
        }
        let big = average(&mx::concatenate(&parts, 0)?)?;
        for (piece, &i) in big.split(offsets, 0)?.into_iter().zip(&g) {
            out.push((
                flat[i].0.clone(),
                Tree::from(piece.reshape(flat[i].1.shape())?),
            ));
        }
    }
    Ok(tree_unflatten(&out))
}
