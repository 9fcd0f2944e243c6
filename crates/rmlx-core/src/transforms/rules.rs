//! Helpers shared by the primitives' transform rules.

use crate::array::Array;
use crate::error::Result;

/// The batched form of an elementwise op: every batched input gets its batch axis moved to
/// the front, every unbatched one a leading axis of size 1 (the inputs of an elementwise node
/// already share one shape), then `op` runs on them; the output is batched on axis 0.
pub(crate) fn vmap_elementwise(
    inputs: &[Array],
    axes: &[Option<usize>],
    op: impl FnOnce(&[Array]) -> Result<Array>,
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    if axes.iter().all(Option::is_none) {
        return Ok((vec![op(inputs)?], vec![None]));
    }
    // One batched input on its own keeps its batch axis where it is.
    if inputs.len() == 1 {
        return Ok((vec![op(inputs)?], axes.to_vec()));
    }
    let aligned = inputs
        .iter()
        .zip(axes)
        .map(|(x, ax)| match ax {
            Some(0) => Ok(x.clone()),
            Some(ax) => crate::ops::moveaxis(x, *ax as isize, 0),
            None => crate::ops::expand_dims(x, 0),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((vec![op(&aligned)?], vec![Some(0)]))
}

/// The batch axis of `x` moved to the front (an unbatched `x` is returned as is).
pub(crate) fn batch_to_front(x: &Array, axis: Option<usize>) -> Result<Array> {
    match axis {
        Some(0) | None => Ok(x.clone()),
        Some(ax) => crate::ops::moveaxis(x, ax as isize, 0),
    }
}

/// The transform rules of a parameterless unary elementwise primitive `$T` from its
/// derivative: `vjp` and `jvp` multiply the incoming cotangent or tangent by `$d` (an
/// expression of the input `$x` and output `$out` giving `Result<Array>`), as MLX does (no
/// conjugation for complex inputs); `vmap` applies `$T` to the batched input.
macro_rules! unary_derivative_rules {
    ($T:ident, |$x:ident, $out:ident| $d:expr) => {
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let ($x, $out) = (&primals[0], &outputs[0]);
            let _ = (&$x, &$out);
            let d: Array = $d?;
            Ok(vec![crate::ops::multiply(&cotangents[0], &d)?])
        }
        fn jvp(
            &self,
            primals: &[Array],
            tangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let ($x, $out) = (&primals[0], &outputs[0]);
            let _ = (&$x, &$out);
            let d: Array = $d?;
            Ok(vec![crate::ops::multiply(&tangents[0], &d)?])
        }
        crate::transforms::rules::unary_vmap_rule!($T);
    };
}
pub(crate) use unary_derivative_rules;

/// The `vmap` rule of a parameterless unary elementwise primitive `$T`: the same primitive on
/// the batched input, batched on the same axis.
macro_rules! unary_vmap_rule {
    ($T:ident) => {
        fn vmap(
            &self,
            inputs: &[Array],
            axes: &[Option<usize>],
            outputs: &[OutputSpec],
        ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            let x = &inputs[0];
            Ok((
                vec![Array::from_op(
                    x.shape().to_vec(),
                    outputs[0].dtype,
                    $T,
                    vec![x.clone()],
                )],
                axes.to_vec(),
            ))
        }
    };
}
pub(crate) use unary_vmap_rule;

/// The `vmap` rule of a binary elementwise primitive whose op function is `$op` (a public op
/// taking two arrays; the inputs already share a dtype, so it adds no cast).
macro_rules! binary_vmap_rule {
    ($op:path) => {
        fn vmap(
            &self,
            inputs: &[Array],
            axes: &[Option<usize>],
            _outputs: &[OutputSpec],
        ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            crate::transforms::rules::vmap_elementwise(inputs, axes, |xs| $op(&xs[0], &xs[1]))
        }
    };
}
pub(crate) use binary_vmap_rule;
