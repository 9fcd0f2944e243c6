//! [`MultiOptimizer`]: different optimizers for different parameters.

use crate::optimizer::{LearningRate, Optimizer};
use rmlx_core::tree::{Tree, tree_flatten, tree_merge, tree_unflatten};
use rmlx_core::{Array, Error, Result};

/// A predicate on a parameter's dotted path and value.
pub type ParamFilter = Box<dyn Fn(&str, &Array) -> bool + Send + Sync>;

/// Delegates each parameter to the first optimizer whose filter accepts its path and value;
/// the last optimizer takes the rest (MLX's `MultiOptimizer`). Its state is
/// `{"states": [state of each optimizer]}`.
///
/// ```
/// use rmlx_optimizers::{Optimizer, MultiOptimizer, SGD, Adam};
/// use rmlx_core::{self as mx, tree::Tree};
/// let mut opt = MultiOptimizer::new(
///     vec![Box::new(SGD::new(1.0)?), Box::new(Adam::new(0.1)?)],
///     vec![Box::new(|path: &str, _: &mx::Array| path.ends_with("bias"))],
/// )?;
/// let p = Tree::dict([("weight", Tree::from(mx::array![1.0])), ("bias", Tree::from(mx::array![1.0]))]);
/// let p = opt.apply_gradients(&p.clone(), &p)?;
/// assert_eq!(p.get("bias").unwrap().as_array().unwrap().item::<f32>()?, 0.0); // SGD
/// assert!(p.get("weight").unwrap().as_array().unwrap().item::<f32>()? > 0.5); // Adam
/// # Ok::<(), mx::Error>(())
/// ```
pub struct MultiOptimizer {
    /// The optimizers, the fallback last.
    pub optimizers: Vec<Box<dyn Optimizer + Send>>,
    filters: Vec<ParamFilter>,
}

impl std::fmt::Debug for MultiOptimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MultiOptimizer({} optimizers)", self.optimizers.len())
    }
}

impl MultiOptimizer {
    /// `optimizers` with one filter fewer than optimizers (MLX's error otherwise).
    pub fn new(
        optimizers: Vec<Box<dyn Optimizer + Send>>,
        filters: Vec<ParamFilter>,
    ) -> Result<MultiOptimizer> {
        if filters.len() + 1 != optimizers.len() {
            return Err(Error::value(format!(
                "Given {} filters but {} needed.",
                filters.len(),
                optimizers.len() as i64 - 1
            )));
        }
        Ok(MultiOptimizer {
            optimizers,
            filters,
        })
    }

    fn split(&self, tree: &Tree) -> Vec<Tree> {
        if self.optimizers.len() == 1 {
            return vec![tree.clone()];
        }
        let mut parts: Vec<Vec<(String, Tree)>> = vec![Vec::new(); self.optimizers.len()];
        for (k, g) in tree_flatten(tree, "") {
            let idx = match &g {
                Tree::Array(a) => self
                    .filters
                    .iter()
                    .position(|f| f(&k, a))
                    .unwrap_or(self.filters.len()),
                _ => self.filters.len(),
            };
            parts[idx].push((k, g));
        }
        parts
            .into_iter()
            .map(|p| {
                if p.is_empty() {
                    Tree::Dict(Vec::new())
                } else {
                    tree_unflatten(&p)
                }
            })
            .collect()
    }
}

impl Optimizer for MultiOptimizer {
    fn init(&mut self, parameters: &Tree) -> Result<()> {
        let parts = self.split(parameters);
        for (o, p) in self.optimizers.iter_mut().zip(parts.iter()) {
            o.init(p)?;
        }
        Ok(())
    }

    fn apply_gradients(&mut self, gradients: &Tree, parameters: &Tree) -> Result<Tree> {
        let parts = self.split(gradients);
        let mut tree = Tree::Dict(Vec::new());
        for (o, g) in self.optimizers.iter_mut().zip(parts.iter()) {
            let updated = o.apply_gradients(g, parameters)?;
            tree = tree_merge(&tree, &updated, None)?;
        }
        Ok(tree)
    }

    fn state(&self) -> Tree {
        Tree::dict([(
            "states",
            Tree::List(self.optimizers.iter().map(|o| o.state()).collect()),
        )])
    }

    fn set_state(&mut self, state: Tree) -> Result<()> {
        let invalid = || Error::value("Invalid state provided");
        let states = match state.get("states") {
            Some(Tree::List(v) | Tree::Tuple(v)) if v.len() == self.optimizers.len() => v.clone(),
            _ => return Err(invalid()),
        };
        for (o, s) in self.optimizers.iter_mut().zip(states) {
            o.set_state(s)?;
        }
        Ok(())
    }

    /// The first optimizer's step.
    fn step(&self) -> Array {
        self.optimizers[0].step()
    }

    /// The first optimizer's learning rate (as MLX's).
    fn learning_rate(&self) -> Result<Array> {
        self.optimizers[0].learning_rate()
    }

    /// Sets the learning rate of every optimizer.
    fn set_learning_rate(&mut self, learning_rate: LearningRate) -> Result<()> {
        for o in &mut self.optimizers {
            o.set_learning_rate(learning_rate.clone())?;
        }
        Ok(())
    }
}
