//! `compile`: trace a function once per input signature, simplify and fuse its graph, and
//! replay the result on later calls.

use super::fuse::fuse;
use super::program::{Program, Ref};
use super::tape::{graph_tape, placeholder};
use super::{FnOutputs, TracingGuard};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitive::OutputSpec;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

/// 0: not decided yet (read `MLX_DISABLE_COMPILE`), 1: enabled, 2: disabled.
static COMPILE_MODE: AtomicU8 = AtomicU8::new(0);

fn compile_enabled() -> bool {
    match COMPILE_MODE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let off = std::env::var("MLX_DISABLE_COMPILE")
                .is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
            COMPILE_MODE.store(if off { 2 } else { 1 }, Ordering::Relaxed);
            !off
        }
    }
}

/// Turns `compile` off everywhere: compiled functions call the plain function (as setting the
/// environment variable `MLX_DISABLE_COMPILE` does).
pub fn disable_compile() {
    COMPILE_MODE.store(2, Ordering::Relaxed);
}

/// Turns `compile` back on.
pub fn enable_compile() {
    COMPILE_MODE.store(1, Ordering::Relaxed);
}

/// The cache key of a call: each input's shape and dtype.
type Signature = Vec<(Vec<usize>, Dtype)>;

/// A compiled function: `f` is traced once per input signature (shapes and dtypes) on arrays
/// without data; its graph is simplified (tracer copies and no-op reshapes dropped, equal
/// scalar constants merged, common subexpressions merged) and its float32 elementwise chains
/// fused into single-pass nodes; later calls with the same signature replay the cached graph
/// without calling `f`. The result can be transformed (`grad` of a compiled function, and
/// `compile` of `value_and_grad`).
///
/// As in MLX, `f` must be pure: side effects run only while tracing, and evaluating an array
/// inside `f` is an error.
///
/// ```
/// use rmlx_core as mx;
/// let f = mx::compile(|x: &[mx::Array]| Ok(mx::tanh(&(&x[0] * 2.0 + 1.0))? * mx::sigmoid(&x[0])?));
/// let x = mx::array![0.5, -1.0];
/// let plain = mx::tanh(&(&x * 2.0 + 1.0))? * mx::sigmoid(&x)?;
/// assert_eq!(f(&[x])?[0].to_vec::<f32>()?, plain.to_vec::<f32>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn compile<F, O>(f: F) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    compile_with_state(f, CompileState::default())
}

/// Arrays a compiled function reads and replaces between calls (a model's parameters, an
/// optimizer's state): MLX's `compile(fun, inputs=state, outputs=state)`. The function reads
/// them with [`CompileState::get`] and stores new ones with [`CompileState::set`]; the
/// compiled function takes them as hidden inputs and writes the new values back after each
/// call. Cloning shares the same state.
///
/// ```
/// use rmlx_core as mx;
/// let state = mx::CompileState::new(vec![mx::array![0.0]]);
/// let s = state.clone();
/// let step = mx::compile_with_state(
///     move |x: &[mx::Array]| {
///         let total = &s.get()[0] + &x[0];
///         s.set(vec![total.clone()]);
///         Ok(total)
///     },
///     state.clone(),
/// );
/// step(&[mx::array![2.0]])?;
/// step(&[mx::array![3.0]])?;
/// assert_eq!(state.get()[0].item::<f32>()?, 5.0);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct CompileState(Arc<Mutex<Vec<Array>>>);

impl CompileState {
    /// State holding `arrays`.
    pub fn new(arrays: Vec<Array>) -> CompileState {
        CompileState(Arc::new(Mutex::new(arrays)))
    }
    /// The current arrays.
    pub fn get(&self) -> Vec<Array> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// Replaces the arrays.
    pub fn set(&self, arrays: Vec<Array>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = arrays;
    }
}

/// [`compile`] for a function that reads and updates `state` (see [`CompileState`]).
pub fn compile_with_state<F, O>(
    f: F,
    state: CompileState,
) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    compile_impl(f, state, false)
}

/// [`compile`] that traces once per input rank and dtypes rather than per shape (MLX's
/// `shapeless=True`): a call with new shapes replays the traced graph, each primitive working
/// out its output shapes. As in MLX, the function must not depend on its inputs' shapes (a
/// reshape to fixed sizes, a slice), and a primitive that cannot infer its output shapes (a
/// slice) is an error at such a call: "[Primitive::output_shapes] Slice cannot infer output
/// shapes.". A reshape given with -1 follows the size. Parameters fixed at the trace (a slice
/// update's start and strides, a gather's slice sizes) are checked against the new shapes: one
/// that no longer fits is an error at the call, where MLX reads or writes out of bounds.
///
/// ```
/// use rmlx_core as mx;
/// let f = mx::compile_shapeless(|x: &[mx::Array]| mx::sum_axes(&mx::exp(&(&x[0] * 2.0))?, [0], false));
/// assert_eq!(f(&[mx::ones(&[3, 4], mx::float32)?])?[0].shape(), &[4]);
/// let y = f(&[mx::zeros(&[2, 5], mx::float32)?])?;   // same trace, new shapes
/// assert_eq!(y[0].to_vec::<f32>()?, vec![2.0; 5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn compile_shapeless<F, O>(f: F) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    compile_impl(f, CompileState::default(), true)
}

/// [`compile_shapeless`] for a function with state (see [`CompileState`]).
pub fn compile_shapeless_with_state<F, O>(
    f: F,
    state: CompileState,
) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    compile_impl(f, state, true)
}

/// A traced program, the number of the function's own outputs, and the input shapes traced.
type CacheEntry = Arc<(Program, usize, Vec<Vec<usize>>)>;

fn compile_impl<F, O>(
    f: F,
    state: CompileState,
    shapeless: bool,
) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    let cache: Mutex<HashMap<Signature, CacheEntry>> = Mutex::new(HashMap::new());
    move |inputs: &[Array]| {
        if !compile_enabled() {
            return Ok(f(inputs)?.into_outputs());
        }
        let mut all: Vec<Array> = inputs.to_vec();
        let held = state.get();
        let n_state = held.len();
        all.extend(held);
        // Shapeless: the rank stands for the shape.
        let key: Signature = all
            .iter()
            .map(|x| {
                let shape = if shapeless {
                    vec![0; x.ndim()]
                } else {
                    x.shape().to_vec()
                };
                (shape, x.dtype())
            })
            .collect();
        let cached = cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let entry = match cached {
            Some(p) => p,
            None => {
                let (program, n_outputs) = trace(&f, &all, inputs.len(), &state, shapeless)?;
                let shapes = all.iter().map(|x| x.shape().to_vec()).collect();
                let p = Arc::new((program, n_outputs, shapes));
                cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, p.clone());
                p
            }
        };
        let (program, n_outputs, traced) = (&entry.0, entry.1, &entry.2);
        let same_shapes = all
            .iter()
            .zip(traced)
            .all(|(x, s)| x.shape() == s.as_slice());
        let mut outs = if same_shapes {
            program.replay(&all)?
        } else {
            program.replay_shapeless(&all)?
        };
        let new_state = outs.split_off(n_outputs);
        if n_state > 0 || !new_state.is_empty() {
            state.set(new_state);
        }
        Ok(outs)
    }
}

/// Traces `f` on placeholders for `all` (the call's inputs, then the state's arrays): the
/// program's outputs are `f`'s, then the state as `f` left it. Returns the program and the
/// number of `f`'s outputs.
fn trace<F, O>(
    f: &F,
    all: &[Array],
    n_inputs: usize,
    state: &CompileState,
    shapeless: bool,
) -> Result<(Program, usize)>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    let _tracing = TracingGuard::new();
    let _shapeless = super::ShapelessTracingGuard::new(shapeless);
    let placeholders: Vec<Array> = all
        .iter()
        .map(|x| placeholder(x.shape().to_vec(), x.dtype()))
        .collect();
    let held = state.get();
    state.set(placeholders[n_inputs..].to_vec());
    let result = f(&placeholders[..n_inputs]);
    let new_state = state.get();
    // The state holds real arrays again whatever happened; the replay sets the new ones.
    state.set(held);
    let mut outputs = result?.into_outputs();
    let n_outputs = outputs.len();
    outputs.extend(new_state);
    let mut program = Program::from_trace(&placeholders, &outputs);
    // As in MLX, only outside other transforms (whose tracers may legitimately be captured).
    if !crate::transforms::any_tracer(all) {
        reject_uncaptured(&program, all)?;
    }
    program.simplify()?;
    let specs: Vec<OutputSpec> = all
        .iter()
        .map(|x| OutputSpec {
            shape: x.shape().to_vec(),
            dtype: x.dtype(),
        })
        .collect();
    fuse(&mut program, &specs);
    Ok((program, n_outputs))
}

/// MLX's error when the traced graph reaches one of the call's own input arrays other than
/// through its tracer: the function captured an input (or an array computed from one and not
/// yet evaluated) instead of reading its argument.
fn reject_uncaptured(program: &Program, inputs: &[Array]) -> Result<()> {
    let originals: HashSet<usize> = inputs.iter().map(Array::id).collect();
    let mut stack: Vec<Array> = Vec::new();
    let push = |r: &Ref, stack: &mut Vec<Array>| {
        if let Ref::Const(a) | Ref::Broadcast(a, _) = r {
            stack.push(a.clone());
        }
    };
    for node in &program.nodes {
        node.inputs.iter().for_each(|r| push(r, &mut stack));
    }
    program.outputs.iter().for_each(|r| push(r, &mut stack));
    let mut seen: HashSet<usize> = HashSet::new();
    while let Some(a) = stack.pop() {
        if !seen.insert(a.id()) {
            continue;
        }
        if originals.contains(&a.id()) {
            return Err(Error::value(
                "[compile] Attempting to compile a function with uncaptured inputs is not allowed.",
            ));
        }
        if !a.is_evaluated() {
            stack.extend(a.inputs());
        }
    }
    Ok(())
}

/// Arrays computing the same values as `outputs` through a simplified graph: equal scalar
/// constants and equivalent nodes on the same inputs merged, no-op reshapes dropped (the
/// simplification pass of `compile`, on a graph as it stands; an rmlx extension, as MLX no
/// longer exports it).
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::array![1.0, 2.0];
/// let y = &mx::exp(&x)? + &mx::exp(&x)?;   // two Exp nodes
/// let s = mx::simplify(&[y])?;
/// let exps = mx::export_to_dot(&s).matches("Exp").count();
/// assert_eq!(exps, 1);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn simplify(outputs: &[Array]) -> Result<Vec<Array>> {
    let mut program = Program::from_graph(outputs);
    program.simplify()?;
    program.replay(&[])
}

/// The pending graph behind `outputs` as Graphviz `dot` text: one box per primitive, one
/// ellipse per array (shape and dtype), edges from inputs to consumers.
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::array![1.0, 2.0];
/// let dot = mx::export_to_dot(&[mx::exp(&x)?]);
/// assert!(dot.starts_with("digraph {") && dot.contains("Exp"));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn export_to_dot(outputs: &[Array]) -> String {
    let tape = graph_tape(outputs);
    let mut s = String::from("digraph {\n  rankdir=LR;\n");
    let mut arrays: HashMap<usize, String> = HashMap::new();
    let mut label = |a: &Array, s: &mut String| -> String {
        let next = arrays.len();
        arrays
            .entry(a.id())
            .or_insert_with(|| {
                let name = format!("a{next}");
                let _ = writeln!(
                    s,
                    "  {name} [label=\"{} {}\", shape=ellipse];",
                    crate::error::fmt_shape(a.shape()),
                    a.dtype()
                );
                name
            })
            .clone()
    };
    for (i, entry) in tape.iter().enumerate() {
        let _ = writeln!(
            s,
            "  p{i} [label=\"{}\", shape=box];",
            entry.node.primitive.label()
        );
        for input in &entry.node.inputs {
            let a = label(input, &mut s);
            let _ = writeln!(s, "  {a} -> p{i};");
        }
        for out in &entry.outputs {
            let a = label(out, &mut s);
            let _ = writeln!(s, "  p{i} -> {a};");
        }
    }
    for out in outputs {
        label(out, &mut s);
    }
    s.push_str("}\n");
    s
}
