//! The `Primitive` trait: one small type per operation, holding the op's parameters, its CPU
//! kernel and its transform rules.
//!
//! Transform rules (`vjp`, `jvp`, `vmap`) default to a clear "not supported yet" error naming the
//! primitive and the transform; the transforms issue fills them in.

use crate::array::{Array, Data};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use std::any::Any;

/// The shape and dtype of one output of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    pub shape: Vec<usize>,
    pub dtype: Dtype,
}

impl OutputSpec {
    /// Number of elements.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Lets a `&dyn Primitive` be downcast, for equivalence tests.
pub trait AsAny {
    fn as_any(&self) -> &dyn Any;
}
impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One operation of the graph.
///
/// An op function validates its arguments and builds a node holding a primitive; `eval` later
/// calls [`Primitive::eval_cpu`] once every input holds data.
pub trait Primitive: Send + Sync + AsAny + 'static {
    /// The op's name, as MLX prints it (`"Add"`, `"Exp"`).
    fn name(&self) -> &'static str;

    /// The node's label in a graph drawing (`export_to_dot`): the name, or for a fused node
    /// the names of what it fuses (`"CompiledMultiplyAdd"`, as MLX).
    fn label(&self) -> String {
        self.name().to_string()
    }

    /// Computes the outputs on the CPU. Every input is evaluated; `outputs` gives the shape and
    /// dtype each returned [`Data`] must have.
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>>;

    /// Vector-Jacobian product: the cotangents of the inputs listed in `argnums` (one per
    /// listed input, in order), given the primal inputs, one cotangent per output and the
    /// outputs. Rules use the public ops, so that what they build can be transformed again.
    fn vjp(
        &self,
        _primals: &[Array],
        _cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Err(Error::transform_unsupported(self.name(), "vjp"))
    }

    /// Jacobian-vector product: the tangents of the outputs, given the primal inputs, the
    /// tangents of the inputs listed in `argnums` (the others have none: zero) and the
    /// outputs (for rules that reuse them, as `exp`'s does).
    fn jvp(
        &self,
        _primals: &[Array],
        _tangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Err(Error::transform_unsupported(self.name(), "jvp"))
    }

    /// Batched version of the op: given the inputs, each with its batch axis (`None`: not
    /// batched, shared by every slice) and the unbatched outputs' specs, returns the batched
    /// outputs and the batch axis of each.
    fn vmap(
        &self,
        _inputs: &[Array],
        _axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Err(Error::transform_unsupported(self.name(), "vmap"))
    }

    /// Whether `other` is the same operation with the same parameters (for `compile`'s
    /// common-subexpression elimination). The default, `false`, is always safe.
    fn is_equivalent(&self, _other: &dyn Primitive) -> bool {
        false
    }

    /// Whether the op maps elements independently: every output has the broadcast shape of
    /// the inputs (unary and binary math, comparisons, `where`, casts, fused chains).
    fn is_elementwise(&self) -> bool {
        false
    }

    /// The output shapes for inputs whose shapes differ from those traced (`compile`'s
    /// shapeless mode); `traced` are the outputs as traced. Elementwise ops give the inputs'
    /// broadcast shape; others without a rule give MLX's error.
    fn output_shapes(&self, inputs: &[Array], traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        if self.is_elementwise() {
            let shapes: Vec<&[usize]> = inputs.iter().map(Array::shape).collect();
            let shape = crate::ops::broadcast_shapes(&shapes)?;
            return Ok(vec![shape; traced.len()]);
        }
        Err(Error::value(format!(
            "[Primitive::output_shapes] {} cannot infer output shapes.",
            self.name()
        )))
    }
}

/// `is_equivalent` for primitives whose parameters are compared with `PartialEq`.
pub(crate) fn same_params<T: PartialEq + 'static>(a: &T, other: &dyn Primitive) -> bool {
    other.as_any().downcast_ref::<T>().is_some_and(|o| o == a)
}

impl std::fmt::Debug for dyn Primitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
