//! Trees of arrays, as Python's nested lists, tuples and dicts (MLX's "pytrees"): the one
//! type that parameters, gradients and optimizer state use, with `mlx.utils`' functions.

use crate::array::Array;
use crate::error::{Error, Result};

/// A tree: an array, None, a list or tuple of trees, or a string-keyed map of trees that keeps
/// insertion order (as Python's dicts).
///
/// ```
/// use rmlx_core::{self as mx, tree::{Tree, tree_flatten}};
/// let params = Tree::dict([
///     ("w", Tree::from(mx::zeros(&[2, 2], mx::float32)?)),
///     ("layers", Tree::List(vec![Tree::from(mx::array![1.0]), Tree::None])),
/// ]);
/// let keys: Vec<String> = tree_flatten(&params, "").into_iter().map(|(k, _)| k).collect();
/// assert_eq!(keys, ["w", "layers.0", "layers.1"]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub enum Tree {
    /// Python's `None`: a leaf with no array.
    None,
    /// An array leaf.
    Array(Array),
    /// A list of subtrees.
    List(Vec<Tree>),
    /// A tuple of subtrees.
    Tuple(Vec<Tree>),
    /// A map from names to subtrees, in insertion order.
    Dict(Vec<(String, Tree)>),
}

impl From<Array> for Tree {
    fn from(a: Array) -> Tree {
        Tree::Array(a)
    }
}

impl From<&Array> for Tree {
    fn from(a: &Array) -> Tree {
        Tree::Array(a.clone())
    }
}

impl From<Vec<Array>> for Tree {
    fn from(v: Vec<Array>) -> Tree {
        Tree::List(v.into_iter().map(Tree::Array).collect())
    }
}

impl Tree {
    /// A dict from `(key, subtree)` pairs, in order.
    pub fn dict<K: Into<String>>(items: impl IntoIterator<Item = (K, Tree)>) -> Tree {
        Tree::Dict(items.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The array of an array leaf.
    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Tree::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Whether this is a leaf (an array or None).
    pub fn is_leaf(&self) -> bool {
        matches!(self, Tree::Array(_) | Tree::None)
    }

    /// The subtree under `key` of a dict.
    pub fn get(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Dict(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Every array leaf, in flattening order.
    pub fn leaves(&self) -> Vec<Array> {
        tree_flatten(self, "")
            .into_iter()
            .filter_map(|(_, t)| t.as_array().cloned())
            .collect()
    }

    /// The same structure with its array leaves replaced, in flattening order, by `arrays`.
    pub fn with_leaves(&self, arrays: &mut impl Iterator<Item = Array>) -> Result<Tree> {
        tree_map(self, &mut |a: &Array| {
            let _ = a;
            arrays
                .next()
                .ok_or_else(|| Error::value("[tree] Not enough arrays for the tree's leaves."))
        })
    }
}

/// The leaves of `tree` with MLX's dotted keys (`layers.0.weight`), `prefix` first. `None`
/// is a leaf, as in MLX.
pub fn tree_flatten(tree: &Tree, prefix: &str) -> Vec<(String, Tree)> {
    let mut out = Vec::new();
    // Iterative: (key, subtree) pairs still to visit, in reverse order.
    let mut stack: Vec<(String, &Tree)> = vec![(prefix.to_string(), tree)];
    while let Some((key, t)) = stack.pop() {
        let join = |k: &str| {
            if key.is_empty() {
                k.to_string()
            } else {
                format!("{key}.{k}")
            }
        };
        match t {
            Tree::List(items) | Tree::Tuple(items) => {
                for (i, c) in items.iter().enumerate().rev() {
                    stack.push((join(&i.to_string()), c));
                }
            }
            Tree::Dict(items) => {
                for (k, c) in items.iter().rev() {
                    stack.push((join(k), c));
                }
            }
            leaf => out.push((key, leaf.clone())),
        }
    }
    out
}

/// Rebuilds a tree from dotted keys, as MLX's `tree_unflatten`: a level whose keys are all
/// integers is a list (missing positions become empty dicts), any other a dict.
pub fn tree_unflatten(items: &[(String, Tree)]) -> Tree {
    if items.len() == 1 && items[0].0.is_empty() {
        return items[0].1.clone();
    }
    let mut children: Vec<(String, Vec<(String, Tree)>)> = Vec::new();
    for (key, value) in items {
        let (head, rest) = match key.split_once('.') {
            Some((h, r)) => (h.to_string(), r.to_string()),
            None => (key.clone(), String::new()),
        };
        match children.iter_mut().find(|(h, _)| *h == head) {
            Some((_, v)) => v.push((rest, value.clone())),
            None => children.push((head, vec![(rest, value.clone())])),
        }
    }
    let indices: Option<Vec<usize>> = children
        .iter()
        .map(|(h, _)| h.parse::<usize>().ok().filter(|i| i.to_string() == *h))
        .collect();
    match indices {
        Some(idx) => {
            let mut pairs: Vec<(usize, &Vec<(String, Tree)>)> = idx
                .into_iter()
                .zip(children.iter().map(|(_, v)| v))
                .collect();
            pairs.sort_by_key(|(i, _)| *i);
            let mut list = Vec::new();
            for (i, v) in pairs {
                while list.len() < i {
                    list.push(Tree::Dict(Vec::new()));
                }
                list.push(tree_unflatten(v));
            }
            Tree::List(list)
        }
        None => Tree::Dict(
            children
                .iter()
                .map(|(h, v)| (h.clone(), tree_unflatten(v)))
                .collect(),
        ),
    }
}

/// `tree` with `f` applied to every array leaf (None leaves stay None).
///
/// ```
/// use rmlx_core::{self as mx, tree::{Tree, tree_map}};
/// let t = Tree::List(vec![Tree::from(mx::array![1.0]), Tree::None]);
/// let doubled = tree_map(&t, &mut |a: &mx::Array| Ok(a * 2.0))?;
/// assert_eq!(doubled.leaves()[0].item::<f32>()?, 2.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tree_map(tree: &Tree, f: &mut impl FnMut(&Array) -> Result<Array>) -> Result<Tree> {
    tree_map_with_path(tree, "", &mut |_, a| f(a))
}

/// [`tree_map`] with each leaf's dotted path.
pub fn tree_map_with_path(
    tree: &Tree,
    prefix: &str,
    f: &mut impl FnMut(&str, &Array) -> Result<Array>,
) -> Result<Tree> {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    Ok(match tree {
        Tree::None => Tree::None,
        Tree::Array(a) => Tree::Array(f(prefix, a)?),
        Tree::List(v) => Tree::List(
            v.iter()
                .enumerate()
                .map(|(i, c)| tree_map_with_path(c, &join(&i.to_string()), f))
                .collect::<Result<_>>()?,
        ),
        Tree::Tuple(v) => Tree::Tuple(
            v.iter()
                .enumerate()
                .map(|(i, c)| tree_map_with_path(c, &join(&i.to_string()), f))
                .collect::<Result<_>>()?,
        ),
        Tree::Dict(items) => Tree::Dict(
            items
                .iter()
                .map(|(k, c)| Ok((k.clone(), tree_map_with_path(c, &join(k), f)?)))
                .collect::<Result<_>>()?,
        ),
    })
}

/// Folds `f` over the array leaves, in flattening order, starting from `init`.
///
/// ```
/// use rmlx_core::{self as mx, tree::{Tree, tree_reduce}};
/// let t = Tree::dict([("a", Tree::from(mx::ones(&[3], mx::float32)?)), ("b", Tree::None)]);
/// let n = tree_reduce(&t, 0usize, |acc, a| acc + a.size());
/// assert_eq!(n, 3);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tree_reduce<T>(tree: &Tree, init: T, f: impl FnMut(T, &Array) -> T) -> T {
    tree.leaves().iter().fold(init, f)
}

/// Merges two trees into one holding the values of both, as a deep `dict.update` (MLX's
/// `tree_merge`): None and empty containers are empty subtrees; lists and tuples merge position
/// by position, dicts key by key (the first tree's keys first); two leaves at the same place
/// go to `merge_fn`, and without one they are an error.
///
/// ```
/// use rmlx_core::{self as mx, tree::{Tree, tree_merge}};
/// let a = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
/// let b = Tree::dict([("b", Tree::from(mx::array![2.0]))]);
/// let m = tree_merge(&a, &b, None)?;
/// assert!(m.get("w").is_some() && m.get("b").is_some());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tree_merge(a: &Tree, b: &Tree, mut merge_fn: Option<&mut MergeFn>) -> Result<Tree> {
    merge_rec(a, b, &mut merge_fn)
}

/// How [`tree_merge`] combines two leaves at the same place.
pub type MergeFn = dyn FnMut(&Tree, &Tree) -> Result<Tree>;

fn merge_rec(a: &Tree, b: &Tree, merge_fn: &mut Option<&mut MergeFn>) -> Result<Tree> {
    let kind = |t: &Tree| match t {
        Tree::List(_) => "list",
        Tree::Tuple(_) => "tuple",
        Tree::Dict(_) => "dict",
        Tree::None => "None",
        Tree::Array(_) => "array",
    };
    let empty = |t: &Tree| match t {
        Tree::List(v) | Tree::Tuple(v) => v.is_empty(),
        Tree::Dict(d) => d.is_empty(),
        _ => false,
    };
    let (ea, eb) = (empty(a), empty(b));
    if ea && eb {
        if kind(a) != kind(b) {
            return Err(Error::value(format!(
                "Cannot merge {} with {}",
                kind(a),
                kind(b)
            )));
        }
        return Ok(a.clone());
    }
    let a_none = ea || matches!(a, Tree::None);
    let b_none = eb || matches!(b, Tree::None);
    if a_none && !b_none {
        return Ok(b.clone());
    }
    if b_none && !a_none {
        return Ok(a.clone());
    }
    if a_none && b_none {
        return Ok(Tree::None);
    }
    match (a, b) {
        (Tree::List(x) | Tree::Tuple(x), Tree::List(y) | Tree::Tuple(y)) => {
            let n = x.len().max(y.len());
            let items = (0..n)
                .map(|i| {
                    let (l, r) = (
                        x.get(i).unwrap_or(&Tree::None),
                        y.get(i).unwrap_or(&Tree::None),
                    );
                    merge_rec(l, r, merge_fn)
                })
                .collect::<Result<Vec<_>>>()?;
            // The result has the first tree's kind, as MLX's.
            Ok(match a {
                Tree::Tuple(_) => Tree::Tuple(items),
                _ => Tree::List(items),
            })
        }
        (Tree::Dict(x), Tree::Dict(y)) => {
            let mut items = Vec::with_capacity(x.len() + y.len());
            for (k, l) in x {
                let r = b.get(k).unwrap_or(&Tree::None);
                items.push((k.clone(), merge_rec(l, r, merge_fn)?));
            }
            for (k, r) in y {
                if a.get(k).is_none() {
                    items.push((k.clone(), merge_rec(&Tree::None, r, merge_fn)?));
                }
            }
            Ok(Tree::Dict(items))
        }
        _ => match merge_fn {
            Some(f) => f(a, b),
            None => Err(Error::value(
                "Trees contain elements at the same locations but no merge function was provided",
            )),
        },
    }
}

/// [`crate::vjp`] over trees: `f` maps argument trees to an output tree; `cotangents` has the
/// output's structure. Returns the output and one cotangent tree per argument.
///
/// ```
/// use rmlx_core::{self as mx, tree::{Tree, vjp_tree}};
/// let p = Tree::dict([("w", Tree::from(mx::array![1.0, 2.0]))]);
/// let f = |t: &[Tree]| -> mx::Result<Tree> {
///     Ok(Tree::from(mx::square(t[0].get("w").unwrap().as_array().unwrap())?))
/// };
/// let (_, g) = vjp_tree(f, &[p], &Tree::from(mx::array![1.0, 1.0]))?;
/// assert_eq!(g[0].get("w").unwrap().as_array().unwrap().to_vec::<f32>()?, vec![2.0, 4.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vjp_tree<F>(f: F, primals: &[Tree], cotangents: &Tree) -> Result<(Tree, Vec<Tree>)>
where
    F: Fn(&[Tree]) -> Result<Tree>,
{
    let counts: Vec<usize> = primals.iter().map(|t| t.leaves().len()).collect();
    let flat: Vec<Array> = primals.iter().flat_map(Tree::leaves).collect();
    let out_tree = std::cell::RefCell::new(Tree::None);
    let call = |xs: &[Array]| -> Result<Vec<Array>> {
        let out = f(&rebuild(primals, xs)?)?;
        let leaves = out.leaves();
        *out_tree.borrow_mut() = out;
        Ok(leaves)
    };
    let (outs, grads) = crate::transforms::vjp(call, &flat, &cotangents.leaves())?;
    let out = out_tree.into_inner().with_leaves(&mut outs.into_iter())?;
    let mut it = grads.into_iter();
    let grads = primals
        .iter()
        .zip(&counts)
        .map(|(t, &n)| t.with_leaves(&mut it.by_ref().take(n)))
        .collect::<Result<Vec<_>>>()?;
    Ok((out, grads))
}

/// [`crate::jvp`] over trees: one tangent tree per argument, of its structure. Returns the
/// output tree and its tangent tree.
///
/// ```
/// use rmlx_core::{self as mx, tree::{Tree, jvp_tree}};
/// let p = Tree::List(vec![Tree::from(mx::array![3.0]), Tree::None]);
/// let f = |t: &[Tree]| -> mx::Result<Tree> { Ok(Tree::from(mx::square(&t[0].leaves()[0])?)) };
/// let (_, t) = jvp_tree(f, &[p], &[Tree::List(vec![Tree::from(mx::array![1.0]), Tree::None])])?;
/// assert_eq!(t.as_array().unwrap().item::<f32>()?, 6.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn jvp_tree<F>(f: F, primals: &[Tree], tangents: &[Tree]) -> Result<(Tree, Tree)>
where
    F: Fn(&[Tree]) -> Result<Tree>,
{
    let flat: Vec<Array> = primals.iter().flat_map(Tree::leaves).collect();
    let flat_t: Vec<Array> = tangents.iter().flat_map(Tree::leaves).collect();
    let out_tree = std::cell::RefCell::new(Tree::None);
    let call = |xs: &[Array]| -> Result<Vec<Array>> {
        let out = f(&rebuild(primals, xs)?)?;
        let leaves = out.leaves();
        *out_tree.borrow_mut() = out;
        Ok(leaves)
    };
    let (outs, tans) = crate::transforms::jvp(call, &flat, &flat_t)?;
    let structure = out_tree.into_inner();
    Ok((
        structure.with_leaves(&mut outs.into_iter())?,
        structure.with_leaves(&mut tans.into_iter())?,
    ))
}

/// [`crate::vmap`] over trees: `in_axes` gives one axis (or None) per argument, applied to every
/// array leaf of that argument (empty: axis 0 for all); `out_axis` applies to every output leaf.
///
/// ```
/// use rmlx_core::{self as mx, tree::{Tree, vmap_tree}};
/// let params = Tree::dict([("w", Tree::from(mx::array![1.0, 2.0]))]);
/// let batch = Tree::from(mx::array![[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]);
/// let f = |t: &[Tree]| -> mx::Result<Tree> {
///     let w = t[0].get("w").unwrap().as_array().unwrap();
///     Ok(Tree::from(mx::sum(&(w * t[1].as_array().unwrap()))?))
/// };
/// let out = vmap_tree(f, &[None, Some(0)], Some(0))(&[params, batch])?;
/// assert_eq!(out.as_array().unwrap().to_vec::<f32>()?, vec![3.0, 6.0, 9.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vmap_tree<F>(
    f: F,
    in_axes: &[Option<isize>],
    out_axis: Option<isize>,
) -> impl Fn(&[Tree]) -> Result<Tree>
where
    F: Fn(&[Tree]) -> Result<Tree>,
{
    let in_axes = in_axes.to_vec();
    move |args: &[Tree]| {
        if !in_axes.is_empty() && in_axes.len() != args.len() {
            return Err(Error::value(format!(
                "[vmap] The number of in axes ({}) must match the number of arguments ({}).",
                in_axes.len(),
                args.len()
            )));
        }
        let mut leaf_axes = Vec::new();
        for (i, t) in args.iter().enumerate() {
            let ax = in_axes.get(i).copied().unwrap_or(Some(0));
            leaf_axes.extend(std::iter::repeat_n(ax, t.leaves().len()));
        }
        let flat: Vec<Array> = args.iter().flat_map(Tree::leaves).collect();
        let out_tree = std::cell::RefCell::new(Tree::None);
        // The output structure is only known after tracing: every output leaf goes on
        // `out_axis`.
        let call = |xs: &[Array]| -> Result<Vec<Array>> {
            let out = f(&rebuild(args, xs)?)?;
            let leaves = out.leaves();
            *out_tree.borrow_mut() = out;
            Ok(leaves)
        };
        let outs = crate::transforms::vmap_uniform_out(call, &leaf_axes, out_axis)(&flat)?;
        out_tree.into_inner().with_leaves(&mut outs.into_iter())
    }
}

/// The argument trees with their array leaves replaced, in order, by `xs`.
fn rebuild(args: &[Tree], xs: &[Array]) -> Result<Vec<Tree>> {
    let mut it = xs.iter().cloned();
    args.iter().map(|t| t.with_leaves(&mut it)).collect()
}

/// The gradients of `f`'s first output (a scalar; further leaves of the output are auxiliary)
/// with respect to the array leaves of the arguments listed in `argnums`, as trees of the same
/// structure: one argument gives its tree, several a tuple of trees. Returns `f`'s output too.
///
/// ```
/// use rmlx_core::{self as mx, tree::{Tree, value_and_grad_tree}};
/// let params = Tree::dict([("w", Tree::from(mx::array![1.0, 2.0])), ("b", Tree::None)]);
/// let loss = |args: &[Tree]| -> mx::Result<Tree> {
///     let w = args[0].get("w").and_then(Tree::as_array).unwrap();
///     Ok(Tree::from(mx::sum(&(w * w))?))
/// };
/// let (value, grads) = value_and_grad_tree(loss, &[0])(&[params])?;
/// assert_eq!(value.as_array().unwrap().item::<f32>()?, 5.0);
/// let gw = grads.get("w").and_then(Tree::as_array).unwrap();
/// assert_eq!(gw.to_vec::<f32>()?, vec![2.0, 4.0]);
/// assert!(matches!(grads.get("b"), Some(Tree::None)));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn value_and_grad_tree<F>(f: F, argnums: &[usize]) -> impl Fn(&[Tree]) -> Result<(Tree, Tree)>
where
    F: Fn(&[Tree]) -> Result<Tree>,
{
    let argnums = argnums.to_vec();
    move |args: &[Tree]| {
        if argnums.is_empty() {
            return Err(Error::value("[grad] Must specify at least one argument."));
        }
        if let Some(&bad) = argnums.iter().find(|&&a| a >= args.len()) {
            return Err(Error::value(format!(
                "[grad] Can't compute the gradient of argument index {bad} because the \
                 function is called with only {} positional arguments.",
                args.len()
            )));
        }
        // The differentiated leaves, flattened argument by argument.
        let counts: Vec<usize> = argnums.iter().map(|&a| args[a].leaves().len()).collect();
        let primals: Vec<Array> = argnums.iter().flat_map(|&a| args[a].leaves()).collect();
        let out_tree = std::cell::RefCell::new(Tree::None);
        let flat = |xs: &[Array]| -> Result<Vec<Array>> {
            let mut it = xs.iter().cloned();
            let mut call: Vec<Tree> = args.to_vec();
            for &a in &argnums {
                call[a] = args[a].with_leaves(&mut it)?;
            }
            let out = f(&call)?;
            let leaves = out.leaves();
            if leaves.is_empty() {
                return Err(Error::value(
                    "[value_and_grad] The function must return an array or a tree whose first \
                     leaf is the scalar loss.",
                ));
            }
            *out_tree.borrow_mut() = out;
            let mut outs = leaves;
            for o in outs.iter_mut().skip(1) {
                *o = crate::ops::stop_gradient(&*o)?;
            }
            Ok(outs)
        };
        let (outs, grads) = crate::transforms::vjp(flat, &primals, &[Array::scalar(1.0f32)])?;
        let value = out_tree.into_inner().with_leaves(&mut outs.into_iter())?;
        let mut it = grads.into_iter();
        let mut trees = Vec::with_capacity(argnums.len());
        for (&a, &n) in argnums.iter().zip(&counts) {
            let part: Vec<Array> = it.by_ref().take(n).collect();
            trees.push(args[a].with_leaves(&mut part.into_iter())?);
        }
        let grads = if trees.len() == 1 {
            trees.remove(0)
        } else {
            Tree::Tuple(trees)
        };
        Ok((value, grads))
    }
}

/// [`value_and_grad_tree`] without the value.
pub fn grad_tree<F>(f: F, argnums: &[usize]) -> impl Fn(&[Tree]) -> Result<Tree>
where
    F: Fn(&[Tree]) -> Result<Tree>,
{
    let vg = value_and_grad_tree(f, argnums);
    move |args: &[Tree]| Ok(vg(args)?.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(v: f32) -> Tree {
        Tree::from(Array::scalar(v))
    }

    #[test]
    fn flatten_and_unflatten_round_trip_with_mlx_keys() {
        let t = Tree::dict([
            (
                "layers",
                Tree::List(vec![
                    Tree::dict([("w", leaf(1.0))]),
                    Tree::dict([("w", leaf(2.0))]),
                ]),
            ),
            ("head", Tree::Tuple(vec![leaf(3.0), Tree::None])),
        ]);
        let flat = tree_flatten(&t, "");
        let keys: Vec<&str> = flat.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["layers.0.w", "layers.1.w", "head.0", "head.1"]);
        let back = tree_unflatten(&flat);
        // Tuples come back as lists, as in MLX.
        let keys2: Vec<String> = tree_flatten(&back, "")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, keys2);
        assert!(matches!(back.get("head"), Some(Tree::List(v)) if v.len() == 2));
        assert_eq!(tree_flatten(&t, "model")[0].0, "model.layers.0.w");
    }

    #[test]
    fn unflatten_fills_missing_list_positions_with_empty_dicts() {
        let t = tree_unflatten(&[("2".to_string(), leaf(1.0))]);
        match t {
            Tree::List(v) => {
                assert_eq!(v.len(), 3);
                assert!(matches!(&v[0], Tree::Dict(d) if d.is_empty()));
            }
            other => panic!("expected a list, got {other:?}"),
        }
        // "01" is not an integer key: a dict.
        assert!(matches!(
            tree_unflatten(&[("01".to_string(), leaf(1.0))]),
            Tree::Dict(_)
        ));
    }

    #[test]
    fn grads_of_several_arguments_come_back_as_a_tuple() {
        let loss = |args: &[Tree]| -> Result<Tree> {
            let a = args[0].leaves();
            let b = args[1].as_array().unwrap().clone();
            let s = crate::ops::add(&crate::ops::multiply(&a[0], &b)?, &a[1])?;
            Ok(Tree::Tuple(vec![
                Tree::from(crate::ops::sum(&s)?),
                Tree::from(b),
            ]))
        };
        let a = Tree::List(vec![
            Tree::from(crate::array![1.0, 2.0]),
            Tree::from(crate::array![0.0, 0.0]),
        ]);
        let b = Tree::from(crate::array![3.0, 4.0]);
        let (value, grads) = value_and_grad_tree(loss, &[0, 1])(&[a, b]).unwrap();
        assert_eq!(value.leaves()[0].item::<f32>().unwrap(), 11.0);
        let Tree::Tuple(g) = grads else {
            panic!("a tuple")
        };
        assert_eq!(g[0].leaves()[0].to_vec::<f32>().unwrap(), vec![3.0, 4.0]);
        assert_eq!(g[0].leaves()[1].to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
        assert_eq!(
            g[1].as_array().unwrap().to_vec::<f32>().unwrap(),
            vec![1.0, 2.0]
        );
    }
}
