//! Fusion: chains of float32 elementwise nodes of a [`Program`] become one `Compiled` node.
//!
//! A node joins the group of its consumers when every consumer is fusible and in that one
//! group; otherwise it starts a group. A group is then the set of ancestors of its root whose
//! values no other node needs, which keeps the graph acyclic. The root's value leaves the
//! fused node, and so does each member that is an output of the program (as MLX's compiled
//! kernels, one node with several outputs): an optimizer's new state and parameter come out
//! of one pass over the old ones instead of one pass each.

use super::program::{ProgNode, Program, Ref};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::primitive::{OutputSpec, Primitive};
use crate::primitives::fused::{Compiled, Operand, Step, tile_kernel};
use std::collections::HashMap;
use std::sync::Arc;

/// A float32 value a fused kernel can read as a constant: a one-element array, or a
/// broadcast of one (what the ops make of a scalar operand).
fn scalar_value(a: &Array) -> Option<f32> {
    if a.dtype() != Dtype::Float32 {
        return None;
    }
    let source = if a.size() == 1 {
        a.clone()
    } else if a.primitive_name() == Some("Broadcast") {
        let inner = a.inputs().into_iter().next()?;
        if inner.size() != 1 || inner.dtype() != Dtype::Float32 {
            return None;
        }
        inner
    } else {
        return None;
    };
    source.to_vec::<f32>().ok().map(|v| v[0])
}

/// Whether node `n` can run inside a fused float32 kernel, and the constants it reads.
/// `mask[m]`: node `m` is a comparison only converted to float32 (see [`fused_masks`]).
fn fusible(p: &Program, n: usize, mask: &[bool]) -> bool {
    let node = &p.nodes[n];
    if node.outputs.len() != 1
        || (node.outputs[0].dtype != Dtype::Float32 && !mask[n])
        || tile_kernel(node.primitive.name()).is_none()
    {
        return false;
    }
    let shape = &node.outputs[0].shape;
    let spec = OutputSpec {
        shape: shape.clone(),
        dtype: Dtype::Float32,
    };
    let reads_mask = node.primitive.name() == "AsType";
    node.inputs.iter().all(|r| match r {
        Ref::Node(m, k) => p.nodes[*m].outputs[*k] == spec || (reads_mask && mask[*m]),
        Ref::Input(_) => true, // the caller checks the input's spec
        Ref::Const(a) => {
            (a.dtype() == Dtype::Float32 && a.shape() == shape.as_slice())
                || scalar_value(a).is_some()
        }
        Ref::Broadcast(a, s) => {
            scalar_value(a).is_some() || (a.dtype() == Dtype::Float32 && s == shape)
        }
    })
}

/// The comparisons (`Greater`, as in the gradient of `relu`) whose one reader converts them
/// to float32 and which the program does not return: inside a fused kernel the pair is a
/// step writing 1.0 or 0.0 and a copy, so the mask never exists as booleans.
fn fused_masks(p: &Program, consumers: &[Vec<usize>], is_output: &[bool]) -> Vec<bool> {
    (0..p.nodes.len())
        .map(|n| {
            let node = &p.nodes[n];
            node.primitive.name() == "Greater"
                && node.outputs.len() == 1
                && node.outputs[0].dtype == Dtype::Bool
                && !is_output[n]
                && matches!(consumers[n].as_slice(), [c]
                    if p.nodes[*c].primitive.name() == "AsType"
                        && p.nodes[*c].outputs[0].dtype == Dtype::Float32)
        })
        .collect()
}

/// Fuses the program's float32 elementwise chains; `input_specs` are the function's inputs.
pub(crate) fn fuse(p: &mut Program, input_specs: &[OutputSpec]) {
    let count = p.nodes.len();
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (n, node) in p.nodes.iter().enumerate() {
        for r in &node.inputs {
            if let Ref::Node(m, _) = r
                && !consumers[*m].contains(&n)
            {
                consumers[*m].push(n);
            }
        }
    }
    let is_output: Vec<bool> = (0..count)
        .map(|n| {
            p.outputs
                .iter()
                .any(|r| matches!(r, Ref::Node(m, _) if *m == n))
        })
        .collect();
    let mask = fused_masks(p, &consumers, &is_output);
    let mut can: Vec<bool> = (0..count)
        .map(|n| {
            let spec = OutputSpec {
                shape: p.nodes[n].outputs[0].shape.clone(),
                dtype: Dtype::Float32,
            };
            fusible(p, n, &mask)
                && p.nodes[n].inputs.iter().all(|r| match r {
                    Ref::Input(i) => input_specs[*i] == spec,
                    _ => true,
                })
        })
        .collect();
    // A mask's reader is fused only together with the mask (it cannot read booleans).
    for n in 0..count {
        if (p.nodes[n].inputs.iter()).any(|r| matches!(r, Ref::Node(m, _) if mask[*m] && !can[*m]))
        {
            can[n] = false;
        }
    }
    // Group of each fusible node: the index of its root.
    let mut group: Vec<Option<usize>> = vec![None; count];
    for n in (0..count).rev() {
        if !can[n] {
            continue;
        }
        let shared = consumers[n]
            .iter()
            .map(|&c| group[c])
            .collect::<Option<Vec<usize>>>()
            .filter(|g| !g.is_empty() && g.iter().all(|&x| x == g[0]))
            .map(|g| g[0]);
        // A program output joins too: only program outputs (not nodes) read it outside, so
        // the fused node exports it without making a cycle.
        group[n] = Some(shared.unwrap_or(n));
    }
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for (n, g) in group.iter().enumerate() {
        if let Some(root) = g {
            members.entry(*root).or_default().push(n);
        }
    }
    for (root, nodes) in members {
        if nodes.len() >= 2 {
            // Members other than the root that the program returns: outputs 1.. of the node.
            let exported: Vec<usize> = nodes
                .iter()
                .copied()
                .filter(|&n| n != root && is_output[n])
                .collect();
            p.nodes[root] = fused_node(p, &nodes, root, &exported);
            for r in &mut p.outputs {
                if let Ref::Node(m, 0) = *r
                    && let Some(k) = exported.iter().position(|&e| e == m)
                {
                    *r = Ref::Node(root, k + 1);
                }
            }
        }
    }
    p.drop_unused();
}

/// Whether node `m` broadcasts a single input (no inputs that only give the shape): a fused
/// kernel can read its source broadcast instead.
fn is_plain_broadcast(p: &Program, m: usize) -> bool {
    let node = &p.nodes[m];
    node.primitive.name() == "Broadcast" && node.inputs.len() == 1 && node.outputs.len() == 1
}

/// The `Compiled` node computing `root` (its output 0) and the `exported` members (outputs
/// 1..) from the group `nodes` (in topological order).
fn fused_node(p: &Program, nodes: &[usize], root: usize, exported: &[usize]) -> ProgNode {
    let local: HashMap<usize, usize> = nodes.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let mut ext_inputs: Vec<Ref> = Vec::new();
    let mut ext_index: HashMap<(u8, usize, usize), usize> = HashMap::new();
    let mut scalars: Vec<f32> = Vec::new();
    let mut original_nodes: Vec<ProgNode> = Vec::new();
    // Where each member and each fused broadcast sits in the sub-program `original`.
    let mut sub_index: HashMap<usize, usize> = HashMap::new();
    // Per member: its step's operands, and for `original`, its inputs in the sub-program.
    let mut operands: Vec<Vec<Operand>> = Vec::new();
    for &n in nodes {
        let node = &p.nodes[n];
        let mut ops = Vec::new();
        let mut sub_inputs = Vec::new();
        for r in &node.inputs {
            match r {
                Ref::Node(m, _) if local.contains_key(m) => {
                    ops.push(Operand::Reg(local[m]));
                    sub_inputs.push(Ref::Node(sub_index[m], 0));
                }
                // A broadcast of one source (shared with nodes outside the group or not) is
                // fused too: the kernel reads its source broadcast, and `original` keeps the
                // broadcast node.
                Ref::Node(m, 0) if is_plain_broadcast(p, *m) => {
                    let source = p.nodes[*m].inputs[0].clone();
                    let key = source.key();
                    let i = *ext_index.entry(key).or_insert_with(|| {
                        ext_inputs.push(source.clone());
                        ext_inputs.len() - 1
                    });
                    ops.push(Operand::Input(i));
                    let at = *sub_index.entry(*m).or_insert_with(|| {
                        original_nodes.push(ProgNode {
                            primitive: p.nodes[*m].primitive.clone(),
                            inputs: vec![Ref::Input(i)],
                            outputs: p.nodes[*m].outputs.clone(),
                        });
                        original_nodes.len() - 1
                    });
                    sub_inputs.push(Ref::Node(at, 0));
                }
                Ref::Const(a) | Ref::Broadcast(a, _) if scalar_value(a).is_some() => {
                    let v = scalar_value(a).unwrap_or_default();
                    ops.push(Operand::Scalar(scalars.len()));
                    scalars.push(v);
                    sub_inputs.push(r.clone());
                }
                other => {
                    let key = other.key();
                    let i = *ext_index.entry(key).or_insert_with(|| {
                        ext_inputs.push(other.clone());
                        ext_inputs.len() - 1
                    });
                    ops.push(Operand::Input(i));
                    sub_inputs.push(Ref::Input(i));
                }
            }
        }
        operands.push(ops);
        sub_index.insert(n, original_nodes.len());
        original_nodes.push(ProgNode {
            primitive: node.primitive.clone(),
            inputs: sub_inputs,
            outputs: node.outputs.clone(),
        });
    }
    // Registers: one per member, reused once its last reader has run; an exported member's
    // register is kept to the end of the tile, when it is copied out.
    let last_use: Vec<usize> = (0..nodes.len())
        .map(|i| {
            if exported.contains(&nodes[i]) {
                return usize::MAX;
            }
            operands
                .iter()
                .enumerate()
                .filter(|(_, ops)| ops.contains(&Operand::Reg(i)))
                .map(|(j, _)| j)
                .max()
                .unwrap_or(i)
        })
        .collect();
    let mut reg_of: Vec<usize> = vec![0; nodes.len()];
    let mut free: Vec<usize> = Vec::new();
    let mut n_regs = 0;
    let mut steps = Vec::with_capacity(nodes.len());
    for (i, &n) in nodes.iter().enumerate() {
        let args: Vec<Operand> = operands[i]
            .iter()
            .map(|o| match *o {
                Operand::Reg(m) => Operand::Reg(reg_of[m]),
                other => other,
            })
            .collect();
        // The destination is never an operand's register (a step takes its destination out
        // of the register file while it reads the operands); registers whose last reader is
        // this step are freed after it.
        let dst = free.pop().unwrap_or_else(|| {
            n_regs += 1;
            n_regs - 1
        });
        reg_of[i] = dst;
        for o in &operands[i] {
            if let Operand::Reg(m) = *o
                && last_use[m] == i
                && !free.contains(&reg_of[m])
            {
                free.push(reg_of[m]);
            }
        }
        let kernel = tile_kernel(p.nodes[n].primitive.name()).expect("fusible node");
        steps.push(Step { kernel, args, dst });
    }
    let mut out = p.nodes[root].outputs.clone();
    out.extend(exported.iter().map(|&e| p.nodes[e].outputs[0].clone()));
    let original = Program {
        n_inputs: ext_inputs.len(),
        nodes: original_nodes,
        outputs: std::iter::once(root)
            .chain(exported.iter().copied())
            .map(|n| Ref::Node(sub_index[&n], 0))
            .collect(),
    };
    let compiled = Compiled {
        steps,
        n_regs,
        scalars,
        exported: exported.iter().map(|e| reg_of[local[e]]).collect(),
        original,
    };
    ProgNode {
        primitive: Arc::new(compiled) as Arc<dyn Primitive>,
        inputs: ext_inputs,
        outputs: out,
    }
}
