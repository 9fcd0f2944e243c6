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
/// expression of the input `$x` and output `$out` giving `Result<Array>`); for a complex
/// input the vjp multiplies by the conjugate derivative (`cotangent * conj(f'(x))`, as MLX
/// does for holomorphic `f`); `vmap` applies `$T` to the batched input.
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
            Ok(vec![crate::ops::multiply(
                &cotangents[0],
                &crate::ops::conjugate(&d)?,
            )?])
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

/// `vjp` and `jvp` rules of an op whose derivative is zero wherever it exists (rounding,
/// comparisons, tests): zero cotangents for the inputs, a zero tangent for the output.
macro_rules! zero_derivative_rules {
    () => {
        fn vjp(
            &self,
            primals: &[Array],
            _cotangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            argnums
                .iter()
                .map(|&i| crate::ops::zeros_like(&primals[i]))
                .collect()
        }
        fn jvp(
            &self,
            _primals: &[Array],
            _tangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![crate::ops::zeros_like(&outputs[0])?])
        }
    };
}
pub(crate) use zero_derivative_rules;

/// `vjp` and `jvp` rules of a comparison (or other bool- or bit-valued op with a zero
/// derivative): zero cotangents for the inputs and, as MLX, a zero tangent of the output's
/// shape in the incoming tangent's dtype (a bool tangent would break the ops downstream).
macro_rules! zero_tangent_rules {
    () => {
        fn vjp(
            &self,
            primals: &[Array],
            _cotangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            argnums
                .iter()
                .map(|&i| crate::ops::zeros_like(&primals[i]))
                .collect()
        }
        fn jvp(
            &self,
            _primals: &[Array],
            tangents: &[Array],
            _argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            Ok(vec![crate::ops::zeros(
                outputs[0].shape(),
                tangents[0].dtype(),
            )?])
        }
    };
}
pub(crate) use zero_tangent_rules;

/// `vjp` and `jvp` of a binary elementwise primitive from its partial derivatives:
/// `$d` gives `∂out/∂input_$i` from the inputs `$a`, `$b` and the output `$out`; the vjp
/// multiplies the cotangent by it, the jvp sums tangent times partial over the inputs given.
macro_rules! binary_partial_rules {
    (|$a:ident, $b:ident, $out:ident, $i:ident| $d:expr) => {
        crate::transforms::rules::binary_partial_rules!(@rules |$a, $b, $out, $i| $d, |d| Ok::<Array, crate::error::Error>(d));
    };
    // `conj`: the vjp multiplies by the conjugate partial (MLX's rule for holomorphic ops).
    (conj |$a:ident, $b:ident, $out:ident, $i:ident| $d:expr) => {
        crate::transforms::rules::binary_partial_rules!(@rules |$a, $b, $out, $i| $d, |d| crate::ops::conjugate(&d));
    };
    (@rules |$a:ident, $b:ident, $out:ident, $i:ident| $d:expr, |$dv:ident| $vjp_d:expr) => {
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let ($a, $b, $out) = (&primals[0], &primals[1], &outputs[0]);
            let _ = (&$a, &$b, &$out);
            argnums
                .iter()
                .map(|&$i| {
                    let $dv: Array = $d?;
                    crate::ops::multiply(&cotangents[0], &$vjp_d?)
                })
                .collect()
        }
        fn jvp(
            &self,
            primals: &[Array],
            tangents: &[Array],
            argnums: &[usize],
            outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let ($a, $b, $out) = (&primals[0], &primals[1], &outputs[0]);
            let _ = (&$a, &$b, &$out);
            crate::transforms::rules::sum_terms(
                self.name(),
                argnums
                    .iter()
                    .zip(tangents)
                    .map(|(&$i, t)| crate::ops::multiply(t, &$d?)),
            )
        }
    };
}
pub(crate) use binary_partial_rules;

/// The sum of a jvp's per-input terms (`name` is the primitive, for the error when a rule is
/// called without tangents).
pub(crate) fn sum_terms(
    name: &str,
    terms: impl IntoIterator<Item = Result<Array>>,
) -> Result<Vec<Array>> {
    let mut acc: Option<Array> = None;
    for term in terms {
        let term = term?;
        acc = Some(match acc {
            Some(x) => crate::ops::add(&x, &term)?,
            None => term,
        });
    }
    acc.map(|x| vec![x])
        .ok_or_else(|| crate::error::Error::runtime(format!("[{name}::jvp] expected a tangent")))
}

/// The `vjp` of a primitive through `f`, the same function written with plain ops (MLX
/// differentiates its fast primitives through their fallbacks too).
pub(crate) fn vjp_via(
    f: impl Fn(&[Array]) -> Result<Array>,
    primals: &[Array],
    cotangents: &[Array],
    argnums: &[usize],
) -> Result<Vec<Array>> {
    Ok(super::vjp_argnums(f, primals, cotangents, argnums)?.1)
}

/// The `jvp` of a primitive through `f` (inputs without a tangent get zeros).
pub(crate) fn jvp_via(
    f: impl Fn(&[Array]) -> Result<Array>,
    primals: &[Array],
    tangents: &[Array],
    argnums: &[usize],
) -> Result<Vec<Array>> {
    let mut all = primals
        .iter()
        .map(crate::ops::zeros_like)
        .collect::<Result<Vec<_>>>()?;
    for (&i, t) in argnums.iter().zip(tangents) {
        all[i] = t.clone();
    }
    Ok(super::jvp(f, primals, &all)?.1)
}

/// The `vmap` of a primitive through `f`: the output is batched on axis 0.
pub(crate) fn vmap_via(
    f: impl Fn(&[Array]) -> Result<Array>,
    inputs: &[Array],
    axes: &[Option<usize>],
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    if axes.iter().all(Option::is_none) {
        return Ok((vec![f(inputs)?], vec![None]));
    }
    let in_axes: Vec<Option<isize>> = axes.iter().map(|a| a.map(|a| a as isize)).collect();
    Ok((super::vmap(f, &in_axes, &[])(inputs)?, vec![Some(0)]))
}

/// `vjp`, `jvp` and `vmap` of a primitive through its plain-ops form `$f` (a closure
/// expression over `self` and the inputs).
macro_rules! rules_via_fallback {
    (|$s:ident, $xs:ident| $f:expr) => {
        fn vjp(
            &self,
            primals: &[Array],
            cotangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let $s = self;
            crate::transforms::rules::vjp_via(|$xs: &[Array]| $f, primals, cotangents, argnums)
        }
        fn jvp(
            &self,
            primals: &[Array],
            tangents: &[Array],
            argnums: &[usize],
            _outputs: &[Array],
        ) -> Result<Vec<Array>> {
            let $s = self;
            crate::transforms::rules::jvp_via(|$xs: &[Array]| $f, primals, tangents, argnums)
        }
        fn vmap(
            &self,
            inputs: &[Array],
            axes: &[Option<usize>],
            _outputs: &[OutputSpec],
        ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            let $s = self;
            crate::transforms::rules::vmap_via(|$xs: &[Array]| $f, inputs, axes)
        }
    };
}
pub(crate) use rules_via_fallback;
