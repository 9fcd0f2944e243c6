//! rmlx: MLX in pure Rust. Depend on this facade and import the core as `mx`:
//!
//! ```
//! use rmlx::core as mx;
//! let x = mx::array![1.0, 2.0, 3.0];
//! let y = (&x * &x).sum()?;
//! assert_eq!(y.item::<f32>()?, 14.0);
//! # Ok::<(), mx::Error>(())
//! ```

/// `mlx.core`: arrays, dtypes, ops, devices and streams, memory, printing.
pub mod core {
    pub use rmlx_core::*;
}

/// `mlx.utils`: trees of arrays (`tree_flatten`, `tree_unflatten`, `tree_map`, `tree_merge`,
/// ...) and the transforms over trees (`grad_tree`, `vjp_tree`, `jvp_tree`, `vmap_tree`).
///
/// ```
/// use rmlx::{core as mx, utils::{Tree, tree_flatten}};
/// let t = Tree::List(vec![Tree::from(mx::array![1.0]), Tree::None]);
/// assert_eq!(tree_flatten(&t, "")[1].0, "1");
/// ```
pub mod utils {
    pub use rmlx_core::tree::*;
}

/// `mlx.nn`: the `Module` system (`#[derive(Module)]`), layers, and `value_and_grad` for
/// models.
///
/// ```
/// use rmlx::{core as mx, nn::{self, Forward, Module}};
///
/// #[derive(Clone, nn::Module)]
/// struct Model {
///     proj: nn::Linear,
/// }
///
/// let m = Model { proj: nn::Linear::new(4, 2)? };
/// assert_eq!(m.proj.forward(&mx::zeros(&[1, 4], mx::float32)?)?.shape(), &[1, 2]);
/// assert_eq!(m.to_string(), "Model(\n  (proj): Linear(input_dims=4, output_dims=2, bias=True)\n)");
/// # Ok::<(), mx::Error>(())
/// ```
pub mod nn {
    pub use rmlx_nn::*;
}

/// `mlx.optimizers`: MLX's optimizers (SGD, Adam, AdamW, ..., MultiOptimizer), the
/// `Optimizer` interface with its state as a tree, schedules and `clip_grad_norm`.
///
/// ```
/// use rmlx::{core as mx, optimizers::{self as optim, Optimizer}, utils::Tree};
/// let mut opt = optim::Adam::new(optim::schedulers::cosine_decay(1e-2, 100, 0.0)?)?;
/// let params = Tree::dict([("w", Tree::from(mx::array![1.0, 2.0]))]);
/// let grads = Tree::dict([("w", Tree::from(mx::array![0.5, -0.5]))]);
/// let params = opt.apply_gradients(&grads, &params)?;
/// assert_eq!(opt.step().item::<u64>()?, 1);
/// assert!(params.get("w").unwrap().as_array().unwrap().to_vec::<f32>()?[0] < 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub mod optimizers {
    pub use rmlx_optimizers::*;
}
