//! The part of a graph that depends on a transform's inputs, in topological order.

use crate::array::{Array, Node, State};
use crate::primitive::{OutputSpec, Primitive};
use crate::primitives::transform::{Copy, Placeholder};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

/// One node of a tape with every one of its outputs.
pub(crate) struct TapeEntry {
    pub(crate) node: Arc<Node>,
    pub(crate) outputs: Vec<Array>,
}

/// The nodes reachable from `outputs` that depend on an array whose id is in `sources`,
/// inputs before consumers, each node once; the walk does not go past arrays in `boundary`
/// (a transform's tracers, which include `sources`). With `stop_gradients`, a `StopGradient` node
/// cuts the dependence (autodiff); `vmap` keeps it.
///
/// Iterative (a chain of a million ops must not overflow the stack): a node is expanded when
/// first popped and emitted when popped again after all of its inputs.
pub(crate) fn dependent_tape(
    outputs: &[Array],
    boundary: &HashSet<usize>,
    sources: &HashSet<usize>,
    stop_gradients: bool,
) -> Vec<TapeEntry> {
    walk(outputs, boundary, Some(sources), stop_gradients)
}

/// Every pending node reachable from `outputs`, inputs before consumers.
pub(crate) fn graph_tape(outputs: &[Array]) -> Vec<TapeEntry> {
    walk(outputs, &HashSet::new(), None, false)
}

/// Every pending node reachable from `outputs` without going past the arrays in `boundary`,
/// inputs before consumers (what `export_function` saves: the captured computations too).
pub(crate) fn graph_tape_within(outputs: &[Array], boundary: &HashSet<usize>) -> Vec<TapeEntry> {
    walk(outputs, boundary, None, false)
}

fn walk(
    outputs: &[Array],
    boundary: &HashSet<usize>,
    sources: Option<&HashSet<usize>>,
    stop_gradients: bool,
) -> Vec<TapeEntry> {
    let sources_or_empty = HashSet::new();
    let sources_set = sources.unwrap_or(&sources_or_empty);
    let mut seen: HashSet<usize> = boundary.clone();
    let mut dependent: HashSet<usize> = sources_set.clone();
    let mut tape = Vec::new();
    let mut stack: Vec<(Array, Option<TapeEntry>)> =
        outputs.iter().rev().map(|o| (o.clone(), None)).collect();
    while let Some((array, expanded)) = stack.pop() {
        match expanded {
            Some(entry) => {
                if stop_gradients && entry.node.primitive.name() == "StopGradient" {
                    continue;
                }
                if sources.is_none()
                    || entry
                        .node
                        .inputs
                        .iter()
                        .any(|i| dependent.contains(&i.id()))
                {
                    dependent.extend(entry.outputs.iter().map(Array::id));
                    tape.push(entry);
                }
            }
            None => {
                if !seen.insert(array.id()) {
                    continue;
                }
                let Some(node) = array.graph_node() else {
                    continue;
                };
                let outputs = array.node_outputs(&node);
                seen.extend(outputs.iter().map(Array::id));
                let inputs: Vec<Array> = node
                    .inputs
                    .iter()
                    .filter(|i| !seen.contains(&i.id()))
                    .cloned()
                    .collect();
                stack.push((array, Some(TapeEntry { node, outputs })));
                stack.extend(inputs.into_iter().rev().map(|i| (i, None)));
            }
        }
    }
    tape
}

/// A tracer standing for `p`: a `Copy` node (so the same array passed twice gets two
/// identities) that marks what is built from it as a tracer.
pub(crate) fn make_tracer(p: &Array) -> Array {
    // A copy made by an outer transform is looked through, as MLX does.
    let source = match p.graph_node() {
        Some(n) if !p.inner.tracer && n.primitive.name() == "Copy" && !n.inputs.is_empty() => {
            n.inputs[0].clone()
        }
        _ => p.clone(),
    };
    traced_node(p.shape().to_vec(), p.dtype(), Arc::new(Copy), vec![source])
}

/// A tracer with no data: `vmap` and `compile` trace functions with these. Evaluating one is
/// an error, as in MLX.
pub(crate) fn placeholder(shape: Vec<usize>, dtype: crate::Dtype) -> Array {
    traced_node(shape, dtype, Arc::new(Placeholder), Vec::new())
}

fn traced_node(
    shape: Vec<usize>,
    dtype: crate::Dtype,
    primitive: Arc<dyn Primitive>,
    inputs: Vec<Array>,
) -> Array {
    let node = Node {
        primitive,
        inputs,
        outputs: vec![OutputSpec {
            shape: shape.clone(),
            dtype,
        }],
        siblings: OnceLock::new(),
    };
    Array::with_state_traced(shape, dtype, State::Pending(Arc::new(node)), true)
}
