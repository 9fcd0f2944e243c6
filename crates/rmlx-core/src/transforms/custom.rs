//! User-defined transform rules: `custom_function` (a function with its own vjp, jvp or vmap),
//! `custom_vjp`, `checkpoint` (recompute the forward pass in the backward pass) and `depends`
//! (an explicit ordering dependency), as MLX's.
//!
//! As in MLX, a custom function computes its outputs with the plain function, cuts them off
//! from the function's graph with `stop_gradient`, and hands them to a `CustomTransforms` node
//! whose rules are the user's (or, for a rule the user did not give, the transform of the plain
//! function).

use super::autodiff::{FnOutputs, jvp, vjp};
use super::vmap::vmap;
use crate::array::{Array, Data};
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive};
use std::sync::Arc;

/// The forward function of a custom function.
type ForwardFn = Arc<dyn Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync>;
/// `(primals, cotangents, outputs) -> one cotangent per primal`.
pub type CustomVjpFn =
    Arc<dyn Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync>;
/// `(primals, tangents, argnums) -> one tangent per output`; `tangents[i]` goes with the primal
/// `argnums[i]`, the other primals are constants.
pub type CustomJvpFn =
    Arc<dyn Fn(&[Array], &[Array], &[usize]) -> Result<Vec<Array>> + Send + Sync>;
/// `(inputs, axes) -> (outputs, output axes)`; `None` marks an unbatched array.
pub type CustomVmapFn = Arc<
    dyn Fn(&[Array], &[Option<usize>]) -> Result<(Vec<Array>, Vec<Option<usize>>)> + Send + Sync,
>;

/// A function with user-given transform rules, built by [`custom_function`]. Call it with
/// [`CustomFunction::call`] (or turn it into a closure with [`CustomFunction::into_fn`]).
///
/// ```
/// use rmlx_core as mx;
/// // exp with a (deliberately different) gradient of 2 everywhere.
/// let f = mx::custom_function(|x: &[mx::Array]| mx::exp(&x[0]))
///     .with_vjp(|_primals, cotangents, _outputs| Ok(vec![&cotangents[0] * 2.0]));
/// let g = mx::grad(move |x: &[mx::Array]| mx::sum(&f.call(x)?[0]), 0)(&[mx::array![0.0, 1.0]])?;
/// assert_eq!(g[0].to_vec::<f32>()?, vec![2.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone)]
pub struct CustomFunction {
    fun: ForwardFn,
    vjp: Option<CustomVjpFn>,
    jvp: Option<CustomJvpFn>,
    vmap: Option<CustomVmapFn>,
}

/// Wraps `f` so that its vjp, jvp and vmap can be replaced (MLX's `mx.custom_function`).
///
/// ```
/// use rmlx_core as mx;
/// let f = mx::custom_function(|x: &[mx::Array]| mx::sin(&x[0]))
///     .with_jvp(|_primals, tangents, _argnums| Ok(vec![&tangents[0] * 10.0]));
/// let (_, t) = mx::jvp(move |x: &[mx::Array]| f.call(x), &[mx::array![1.0]], &[mx::array![1.0]])?;
/// assert_eq!(t[0].item::<f32>()?, 10.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn custom_function<F, O>(f: F) -> CustomFunction
where
    F: Fn(&[Array]) -> Result<O> + Send + Sync + 'static,
    O: FnOutputs,
{
    CustomFunction {
        fun: Arc::new(move |xs: &[Array]| Ok(f(xs)?.into_outputs())),
        vjp: None,
        jvp: None,
        vmap: None,
    }
}

impl CustomFunction {
    /// Sets the vjp: `(primals, cotangents, outputs)` to one cotangent per primal.
    pub fn with_vjp<V>(mut self, vjp: V) -> Self
    where
        V: Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    {
        self.vjp = Some(Arc::new(vjp));
        self
    }

    /// Sets the jvp: `(primals, tangents, argnums)` to one tangent per output.
    pub fn with_jvp<J>(mut self, jvp: J) -> Self
    where
        J: Fn(&[Array], &[Array], &[usize]) -> Result<Vec<Array>> + Send + Sync + 'static,
    {
        self.jvp = Some(Arc::new(jvp));
        self
    }

    /// Sets the vmap: `(inputs, axes)` to the batched outputs and their batch axes.
    ///
    /// ```
    /// use rmlx_core as mx;
    /// // A vmap rule that sums over the batch instead of mapping (to show it is used).
    /// let f = mx::custom_function(|x: &[mx::Array]| mx::exp(&x[0])).with_vmap(|xs, axes| {
    ///     let s = mx::sum_axes(&xs[0], [axes[0].unwrap() as isize], false)?;
    ///     Ok((vec![s], vec![None]))
    /// });
    /// let out = mx::vmap(move |x: &[mx::Array]| f.call(x), &[Some(0)], &[None])(&[mx::ones(&[3, 2], mx::float32)?])?;
    /// assert_eq!(out[0].to_vec::<f32>()?, vec![3.0, 3.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn with_vmap<M>(mut self, vmap: M) -> Self
    where
        M: Fn(&[Array], &[Option<usize>]) -> Result<(Vec<Array>, Vec<Option<usize>>)>
            + Send
            + Sync
            + 'static,
    {
        self.vmap = Some(Arc::new(vmap));
        self
    }

    /// Calls the function: its outputs, carrying the custom rules.
    pub fn call(&self, args: &[Array]) -> Result<Vec<Array>> {
        if self.vjp.is_none() && self.jvp.is_none() && self.vmap.is_none() {
            return (self.fun)(args);
        }
        let outputs = (self.fun)(args)?;
        if outputs.is_empty() {
            return Err(Error::value(
                "[custom_function] The function must return at least one array.",
            ));
        }
        let outputs = outputs
            .iter()
            .map(crate::ops::stop_gradient)
            .collect::<Result<Vec<_>>>()?;
        let specs: Vec<OutputSpec> = outputs
            .iter()
            .map(|o| OutputSpec {
                shape: o.shape().to_vec(),
                dtype: o.dtype(),
            })
            .collect();
        let mut inputs = args.to_vec();
        inputs.extend(outputs.iter().cloned());
        let p = CustomTransforms {
            num_outputs: outputs.len(),
            fun: self.fun.clone(),
            vjp: self.vjp.clone(),
            jvp: self.jvp.clone(),
            vmap: self.vmap.clone(),
        };
        Ok(Array::multi_from_op(specs, p, inputs))
    }

    /// The function as a closure.
    pub fn into_fn(self) -> impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static {
        move |args: &[Array]| self.call(args)
    }
}

/// [`custom_function`] with a vjp only (MLX's `custom_vjp`).
///
/// ```
/// use rmlx_core as mx;
/// // A straight-through estimator: round forward, identity backward.
/// let ste = mx::custom_vjp(
///     |x: &[mx::Array]| mx::round(&x[0]),
///     |_p, c, _o| Ok(vec![c[0].clone()]),
/// );
/// let g = mx::grad(move |x: &[mx::Array]| mx::sum(&ste(x)?[0]), 0)(&[mx::array![0.3, 1.7]])?;
/// assert_eq!(g[0].to_vec::<f32>()?, vec![1.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn custom_vjp<F, O, V>(
    f: F,
    vjp: V,
) -> impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static
where
    F: Fn(&[Array]) -> Result<O> + Send + Sync + 'static,
    O: FnOutputs,
    V: Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
{
    custom_function(f).with_vjp(vjp).into_fn()
}

/// `f` whose backward pass recomputes its forward pass instead of keeping its intermediate
/// arrays alive until the gradient is computed (MLX's `checkpoint`): less memory for a second
/// evaluation of `f`.
///
/// ```
/// use rmlx_core as mx;
/// let block = mx::checkpoint(|x: &[mx::Array]| mx::tanh(&mx::exp(&x[0])?));
/// let g = mx::grad(move |x: &[mx::Array]| mx::sum(&block(x)?[0]), 0)(&[mx::array![0.0]])?;
/// let t = 1f32.tanh();
/// assert!((g[0].item::<f32>()? - (1.0 - t * t)).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn checkpoint<F, O>(f: F) -> impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static
where
    F: Fn(&[Array]) -> Result<O> + Send + Sync + 'static,
    O: FnOutputs,
{
    let f = Arc::new(f);
    let recompute = f.clone();
    custom_vjp(
        move |xs: &[Array]| f(xs),
        move |primals: &[Array], cotangents: &[Array], outputs: &[Array]| {
            // The recomputation waits for the forward outputs, so that it runs in the backward
            // pass rather than alongside the forward one.
            let primals = depends(primals, outputs)?;
            Ok(vjp(|xs: &[Array]| recompute(xs), &primals, cotangents)?.1)
        },
    )
}

/// `inputs` unchanged, but computed only after `dependencies` (MLX's `depends`): the outputs
/// share the inputs' data; gradients flow to the inputs only.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![1.0, 2.0];
/// let b = mx::exp(&a)?;
/// let out = mx::depends(&[a.clone()], &[b])?;
/// assert_eq!(out[0].to_vec::<f32>()?, vec![1.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn depends(inputs: &[Array], dependencies: &[Array]) -> Result<Vec<Array>> {
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let specs: Vec<OutputSpec> = inputs
        .iter()
        .map(|o| OutputSpec {
            shape: o.shape().to_vec(),
            dtype: o.dtype(),
        })
        .collect();
    let mut all = inputs.to_vec();
    all.extend(dependencies.iter().cloned());
    Ok(Array::multi_from_op(
        specs,
        Depends {
            num_inputs: inputs.len(),
        },
        all,
    ))
}

/// The node of a custom function: inputs are the arguments then the (gradient-stopped) outputs
/// of the plain function, which it passes through.
struct CustomTransforms {
    num_outputs: usize,
    fun: ForwardFn,
    vjp: Option<CustomVjpFn>,
    jvp: Option<CustomJvpFn>,
    vmap: Option<CustomVmapFn>,
}

impl CustomTransforms {
    fn num_args(&self, primals: &[Array]) -> usize {
        primals.len() - self.num_outputs
    }
}

/// The data of the last `n` inputs, passed through.
fn pass_through(inputs: &[Array], n: usize) -> Result<Vec<Data>> {
    inputs[inputs.len() - n..]
        .iter()
        .map(Array::ready_data)
        .collect()
}

fn check_count(what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(Error::value(format!(
            "[custom_function] The custom {what} returned {got} arrays but {want} were expected."
        )));
    }
    Ok(())
}

impl Primitive for CustomTransforms {
    fn name(&self) -> &'static str {
        "CustomTransforms"
    }
    fn eval_cpu(&self, inputs: &[Array], _outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        pass_through(inputs, self.num_outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let n = self.num_args(primals);
        let args = &primals[..n];
        let mut all = match &self.vjp {
            Some(v) => v(args, cotangents, outputs)?,
            None => {
                let fun = self.fun.clone();
                vjp(move |xs: &[Array]| fun(xs), args, cotangents)?.1
            }
        };
        check_count("vjp", all.len(), n)?;
        // The outputs given as inputs pass their cotangents through (MLX does the same; they
        // are gradient-stopped, so nothing flows further).
        all.extend(cotangents.iter().cloned());
        Ok(argnums.iter().map(|&a| all[a].clone()).collect())
    }
    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let n = self.num_args(primals);
        let args = &primals[..n];
        // The pass-through outputs are gradient-stopped: only argument tangents matter.
        let (arg_tangents, arg_nums): (Vec<Array>, Vec<usize>) = argnums
            .iter()
            .zip(tangents)
            .filter(|(a, _)| **a < n)
            .map(|(a, t)| (t.clone(), *a))
            .unzip();
        let out = match &self.jvp {
            Some(j) => j(args, &arg_tangents, &arg_nums)?,
            None => {
                let mut all = Vec::with_capacity(n);
                let mut given = arg_nums.iter().zip(&arg_tangents).peekable();
                for (i, x) in args.iter().enumerate() {
                    match given.peek() {
                        Some((a, t)) if **a == i => {
                            all.push((*t).clone());
                            given.next();
                        }
                        _ => all.push(crate::ops::zeros_like(x)?),
                    }
                }
                let fun = self.fun.clone();
                jvp(move |xs: &[Array]| fun(xs), args, &all)?.1
            }
        };
        check_count("jvp", out.len(), self.num_outputs)?;
        Ok(out)
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let n = self.num_args(inputs);
        let (args, arg_axes) = (&inputs[..n], &axes[..n]);
        let (outs, out_axes) = match &self.vmap {
            Some(m) => m(args, arg_axes)?,
            None => {
                let in_axes: Vec<Option<isize>> =
                    arg_axes.iter().map(|a| a.map(|a| a as isize)).collect();
                let out_axes = vec![Some(0isize); self.num_outputs];
                let fun = self.fun.clone();
                let outs = vmap(move |xs: &[Array]| fun(xs), &in_axes, &out_axes)(args)?;
                (outs, vec![Some(0); self.num_outputs])
            }
        };
        check_count("vmap", outs.len(), self.num_outputs)?;
        check_count("vmap's axes", out_axes.len(), self.num_outputs)?;
        Ok((outs, out_axes))
    }
}

/// The node of [`depends`]: inputs are the arrays then their dependencies; the outputs are the
/// arrays.
#[derive(Debug, PartialEq)]
struct Depends {
    num_inputs: usize,
}

impl Primitive for Depends {
    fn name(&self) -> &'static str {
        "Depends"
    }
    fn eval_cpu(&self, inputs: &[Array], _outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        inputs[..self.num_inputs]
            .iter()
            .map(Array::ready_data)
            .collect()
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&a| {
                if a < self.num_inputs {
                    Ok(cotangents[a].clone())
                } else {
                    crate::ops::zeros_like(&primals[a])
                }
            })
            .collect()
    }
}
