//! A traced function as a list of nodes: what `compile` caches, simplifies, fuses and replays.

use super::tape::{dependent_tape, graph_tape};
use crate::array::Array;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Where a node's input comes from.
#[derive(Clone)]
pub(crate) enum Ref {
    /// The i-th input of the function.
    Input(usize),
    /// Output `k` of node `n`.
    Node(usize, usize),
    /// An array the function captured (it does not depend on the inputs).
    Const(Array),
    /// A captured array broadcast to a shape (what the ops make of a scalar operand): rebuilt
    /// at each replay, so that a shapeless replay can broadcast it to its consumer's shape.
    Broadcast(Array, Vec<usize>),
}

/// `source` broadcast to `shape`.
fn rebuild_broadcast(source: &Array, shape: &[usize]) -> Result<Array> {
    crate::ops::broadcast_to(source, shape.to_vec())
}

impl Ref {
    /// Identity of what the reference points at, for comparing inputs.
    pub(crate) fn key(&self) -> (u8, usize, usize) {
        match self {
            Ref::Input(i) => (0, *i, 0),
            Ref::Node(n, k) => (1, *n, *k),
            Ref::Const(a) => (2, a.id(), 0),
            Ref::Broadcast(a, shape) => {
                // The shape folded into one number: equal keys for equal shapes.
                let h = shape.iter().fold(shape.len(), |h, &d| {
                    h.wrapping_mul(1_000_003).wrapping_add(d)
                });
                (3, a.id(), h)
            }
        }
    }
}

/// A node's primitive name and input references: candidates for merging share one.
type NodeKey = (&'static str, Vec<(u8, usize, usize)>);

/// One node: a primitive applied to inputs.
#[derive(Clone)]
pub(crate) struct ProgNode {
    pub(crate) primitive: Arc<dyn Primitive>,
    pub(crate) inputs: Vec<Ref>,
    pub(crate) outputs: Vec<OutputSpec>,
}

/// A traced function: nodes in topological order and the references of its outputs.
#[derive(Clone)]
pub(crate) struct Program {
    pub(crate) n_inputs: usize,
    pub(crate) nodes: Vec<ProgNode>,
    pub(crate) outputs: Vec<Ref>,
}

impl Program {
    /// The program computing `outputs` from the `inputs` tracers.
    pub(crate) fn from_trace(inputs: &[Array], outputs: &[Array]) -> Program {
        let ids: HashSet<usize> = inputs.iter().map(Array::id).collect();
        let tape = dependent_tape(outputs, &ids, &ids, false);
        Program::from_tape(inputs, outputs, &tape)
    }

    /// The program computing `outputs` from the `inputs` tracers, with the pending
    /// computations the function captured as nodes too (only evaluated arrays are constants):
    /// what `export_function` saves, so that a captured computation is stored as its graph
    /// rather than as its (possibly large) result. Nodes without inputs stay constants.
    pub(crate) fn from_trace_full(inputs: &[Array], outputs: &[Array]) -> Program {
        let ids: HashSet<usize> = inputs.iter().map(Array::id).collect();
        // A node without inputs (arange, eye) stays a constant: its parameters may not be
        // representable (an arange from infinity), and its result is what it computes.
        let tape: Vec<_> = super::tape::graph_tape_within(outputs, &ids)
            .into_iter()
            .filter(|e| !e.node.inputs.is_empty())
            .collect();
        Program::from_tape(inputs, outputs, &tape)
    }

    /// The program of the whole pending graph behind `outputs` (no inputs: evaluated arrays
    /// are constants).
    pub(crate) fn from_graph(outputs: &[Array]) -> Program {
        Program::from_tape(&[], outputs, &graph_tape(outputs))
    }

    fn from_tape(inputs: &[Array], outputs: &[Array], tape: &[super::tape::TapeEntry]) -> Program {
        let mut refs: HashMap<usize, Ref> = inputs
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id(), Ref::Input(i)))
            .collect();
        let lookup = |refs: &HashMap<usize, Ref>, a: &Array| {
            refs.get(&a.id()).cloned().unwrap_or_else(|| {
                match (a.primitive_name(), a.inputs().into_iter().next()) {
                    (Some("Broadcast"), Some(src)) => Ref::Broadcast(src, a.shape().to_vec()),
                    _ => Ref::Const(a.clone()),
                }
            })
        };
        let mut nodes = Vec::with_capacity(tape.len());
        for entry in tape {
            let inputs = entry.node.inputs.iter().map(|a| lookup(&refs, a)).collect();
            let n = nodes.len();
            for (k, o) in entry.outputs.iter().enumerate() {
                refs.insert(o.id(), Ref::Node(n, k));
            }
            nodes.push(ProgNode {
                primitive: entry.node.primitive.clone(),
                inputs,
                outputs: entry.node.outputs.clone(),
            });
        }
        let outputs = outputs.iter().map(|a| lookup(&refs, a)).collect();
        Program {
            n_inputs: inputs.len(),
            nodes,
            outputs,
        }
    }

    /// Builds the graph of the program on `inputs`.
    pub(crate) fn replay(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        debug_assert_eq!(inputs.len(), self.n_inputs, "inputs of a replayed program");
        let mut values: Vec<Vec<Array>> = Vec::with_capacity(self.nodes.len());
        let get = |values: &Vec<Vec<Array>>, r: &Ref| match r {
            Ref::Input(i) => Ok(inputs[*i].clone()),
            Ref::Node(n, k) => Ok(values[*n][*k].clone()),
            Ref::Const(a) => Ok(a.clone()),
            Ref::Broadcast(a, shape) => rebuild_broadcast(a, shape),
        };
        for node in &self.nodes {
            let ins = node
                .inputs
                .iter()
                .map(|r| get(&values, r))
                .collect::<Result<_>>()?;
            values.push(Array::from_shared_op(
                node.outputs.clone(),
                node.primitive.clone(),
                ins,
            ));
        }
        self.outputs.iter().map(|r| get(&values, r)).collect()
    }

    /// Builds the graph of the program on inputs whose shapes may differ from the traced ones
    /// (`compile`'s shapeless mode): each node's output shapes come from its primitive's
    /// `output_shapes`. A broadcast that only feeds elementwise nodes (the ops' broadcast of an
    /// operand, a scalar's above all) follows its peers: it is rebuilt at the consumer to the
    /// broadcast shape of the consumer's operands.
    pub(crate) fn replay_shapeless(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        let count = self.nodes.len();
        // Broadcast nodes whose every consumer is elementwise (and that are not outputs).
        let mut peer: Vec<bool> = self
            .nodes
            .iter()
            .map(|n| n.primitive.name() == "Broadcast")
            .collect();
        for node in &self.nodes {
            let elementwise = node.primitive.is_elementwise();
            for r in &node.inputs {
                if let Ref::Node(m, _) = r {
                    peer[*m] &= elementwise;
                }
            }
        }
        for r in &self.outputs {
            if let Ref::Node(m, _) = r {
                peer[*m] = false;
            }
        }
        // A peer broadcast's value is its source, broadcast at each consumer.
        let mut values: Vec<Vec<Array>> = Vec::with_capacity(count);
        let elementwise: Vec<bool> = self
            .nodes
            .iter()
            .map(|n| n.primitive.is_elementwise() && n.inputs.len() > 1)
            .collect();
        // At an elementwise consumer a captured broadcast is its source; elsewhere it is
        // rebuilt as traced.
        let get = |values: &Vec<Vec<Array>>, r: &Ref, at_peer: bool| match r {
            Ref::Input(i) => Ok(inputs[*i].clone()),
            Ref::Node(n, k) => Ok(values[*n][*k].clone()),
            Ref::Const(a) => Ok(a.clone()),
            Ref::Broadcast(a, _) if at_peer => Ok(a.clone()),
            Ref::Broadcast(a, shape) => rebuild_broadcast(a, shape),
        };
        for (i, node) in self.nodes.iter().enumerate() {
            let mut ins: Vec<Array> = node
                .inputs
                .iter()
                .map(|r| get(&values, r, elementwise[i]))
                .collect::<Result<_>>()?;
            if peer[i] {
                values.push(vec![ins.remove(0)]);
                continue;
            }
            if elementwise[i] {
                let shapes: Vec<&[usize]> = ins.iter().map(Array::shape).collect();
                let shape = crate::ops::broadcast_shapes(&shapes)?;
                for x in ins.iter_mut() {
                    if x.shape() != shape.as_slice() {
                        *x = crate::ops::broadcast_to(&*x, shape.clone())?;
                    }
                }
            }
            // A node without inputs (arange, eye) makes what it made when traced.
            let shapes = if ins.is_empty() {
                node.outputs.iter().map(|o| o.shape.clone()).collect()
            } else {
                node.primitive.output_shapes(&ins, &node.outputs)?
            };
            let specs = shapes
                .into_iter()
                .zip(&node.outputs)
                .map(|(shape, o)| OutputSpec {
                    shape,
                    dtype: o.dtype,
                })
                .collect();
            values.push(Array::from_shared_op(specs, node.primitive.clone(), ins));
        }
        self.outputs
            .iter()
            .map(|r| get(&values, r, false))
            .collect()
    }

    /// Simplifies in place: `Copy` nodes and no-op reshapes/broadcasts are bypassed, equal
    /// scalar constants merged, equivalent nodes on the same inputs merged (common
    /// subexpressions), and nodes nothing uses dropped.
    pub(crate) fn simplify(&mut self) -> Result<()> {
        self.merge_scalar_constants()?;
        let mut remap: HashMap<(usize, usize), Ref> = HashMap::new();
        // Candidates for each (name, inputs) key.
        let mut seen: HashMap<NodeKey, Vec<usize>> = HashMap::new();
        let apply = |remap: &HashMap<(usize, usize), Ref>, r: &Ref| match r {
            Ref::Node(n, k) => remap.get(&(*n, *k)).cloned().unwrap_or_else(|| r.clone()),
            _ => r.clone(),
        };
        for n in 0..self.nodes.len() {
            let inputs: Vec<Ref> = self.nodes[n]
                .inputs
                .iter()
                .map(|r| apply(&remap, r))
                .collect();
            self.nodes[n].inputs = inputs;
            let node = &self.nodes[n];
            let name = node.primitive.name();
            // No-ops: a tracer copy, a reshape or broadcast to the input's own shape.
            if node.outputs.len() == 1 && node.inputs.len() == 1 {
                let same_shape = match &node.inputs[0] {
                    Ref::Const(a) => a.shape() == node.outputs[0].shape.as_slice(),
                    Ref::Broadcast(_, shape) => shape == &node.outputs[0].shape,
                    Ref::Input(_) => false,
                    Ref::Node(m, k) => self.nodes[*m].outputs[*k] == node.outputs[0],
                };
                if name == "Copy" || (same_shape && matches!(name, "Reshape" | "Broadcast")) {
                    remap.insert((n, 0), node.inputs[0].clone());
                    continue;
                }
            }
            let key = (name, node.inputs.iter().map(Ref::key).collect::<Vec<_>>());
            let candidates = seen.entry(key).or_default();
            let twin = candidates.iter().copied().find(|&m| {
                let other = &self.nodes[m];
                other.outputs == node.outputs && node.primitive.is_equivalent(&*other.primitive)
            });
            match twin {
                Some(m) => {
                    for k in 0..node.outputs.len() {
                        remap.insert((n, k), Ref::Node(m, k));
                    }
                }
                None => candidates.push(n),
            }
        }
        self.outputs = self.outputs.iter().map(|r| apply(&remap, r)).collect();
        self.drop_unused();
        Ok(())
    }

    /// Scalar constants with the same dtype and value become one array, so the nodes that
    /// use them can be merged.
    fn merge_scalar_constants(&mut self) -> Result<()> {
        let mut by_value: HashMap<(crate::Dtype, Vec<usize>, Vec<u8>), Array> = HashMap::new();
        for node in &mut self.nodes {
            for r in &mut node.inputs {
                let Ref::Const(a) = r else { continue };
                if a.size() != 1 || !a.is_evaluated() {
                    continue;
                }
                let bytes = scalar_bytes(a)?;
                let key = (a.dtype(), a.shape().to_vec(), bytes);
                let canonical = by_value.entry(key).or_insert_with(|| a.clone());
                *r = Ref::Const(canonical.clone());
            }
        }
        Ok(())
    }

    /// Removes nodes no output depends on and renumbers the rest.
    pub(crate) fn drop_unused(&mut self) {
        let mut live = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = self
            .outputs
            .iter()
            .filter_map(|r| match r {
                Ref::Node(n, _) => Some(*n),
                _ => None,
            })
            .collect();
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut live[n], true) {
                continue;
            }
            for r in &self.nodes[n].inputs {
                if let Ref::Node(m, _) = r {
                    stack.push(*m);
                }
            }
        }
        let mut new_index = vec![usize::MAX; self.nodes.len()];
        let mut kept = Vec::new();
        for (n, node) in std::mem::take(&mut self.nodes).into_iter().enumerate() {
            if live[n] {
                new_index[n] = kept.len();
                kept.push(node);
            }
        }
        let fix = |r: &mut Ref| {
            if let Ref::Node(n, _) = r {
                *n = new_index[*n];
            }
        };
        for node in &mut kept {
            node.inputs.iter_mut().for_each(fix);
        }
        self.outputs.iter_mut().for_each(fix);
        self.nodes = kept;
    }
}

/// The bytes of a one-element evaluated array.
fn scalar_bytes(a: &Array) -> Result<Vec<u8>> {
    let d = a.ready_data()?;
    let size = a.itemsize();
    let start = d.offset * size;
    let buf = &d.buffer;
    // SAFETY: the array is evaluated and holds one element at `offset`.
    let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().add(start), size) };
    Ok(bytes.to_vec())
}
