//! Evaluation: an iterative topological walk of the pending graph, run on the caller's thread.

use crate::array::{Array, Node, State};
use crate::error::{Error, Result};
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// One evaluation at a time: kernels are free to use every core, and an `async_eval` running on
/// a worker is never raced by a synchronous `eval` of the same arrays.
static EVAL_LOCK: Mutex<()> = Mutex::new(());

/// Pending work handed to workers by [`async_eval`], joined by [`crate::synchronize`] and by
/// the next [`eval`] that has work to do.
static IN_FLIGHT: Mutex<Vec<std::thread::JoinHandle<Result<()>>>> = Mutex::new(Vec::new());

thread_local! {
    /// Whether this thread is an [`async_eval`] worker.
    static ASYNC_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Evaluates the given arrays and everything they depend on.
///
/// Errors that can only appear while computing (a failed allocation, a kernel failure) are
/// stored on the array that failed and on every array depending on it; `eval` returns the first
/// such error among `arrays`.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::ones(&[3], mx::float32)?;
/// let b = mx::exp(&a)?;
/// let c = &b + &a;
/// mx::eval([&b, &c])?;
/// assert!(b.is_evaluated() && c.is_evaluated());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn eval<'a>(arrays: impl IntoIterator<Item = &'a Array>) -> Result<()> {
    let roots: Vec<&Array> = arrays.into_iter().collect();
    if roots
        .iter()
        .all(|a| !matches!(*a.inner.lock_state(), State::Pending(_)))
    {
        return first_error(&roots);
    }
    // MLX runs a stream's work in order, so an `eval` returns after every `async_eval` started
    // before it, its allocations and frees included (a peak-memory reading taken after an
    // `eval` must not move because earlier async work is still running). An `async_eval`
    // worker does not wait (it would wait for itself).
    if !ASYNC_WORKER.with(Cell::get) {
        wait_in_flight();
    }
    let _guard = EVAL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tape = schedule(&roots);
    for (array, node) in tape {
        run_node(&array, &node);
        // `array` and `node` drop here: once the output holds data the node's inputs are
        // released, so intermediates free their buffers as soon as nothing needs them.
    }
    first_error(&roots)
}

fn first_error(roots: &[&Array]) -> Result<()> {
    for a in roots {
        if let State::Failed(e) = &*a.inner.lock_state() {
            return Err(e.clone());
        }
    }
    Ok(())
}

fn pending_node(a: &Array) -> Option<Arc<Node>> {
    match &*a.inner.lock_state() {
        State::Pending(n) => Some(n.clone()),
        _ => None,
    }
}

/// The pending nodes reachable from `roots`, each once, inputs before consumers.
///
/// An iterative post-order walk: a node is marked when it is expanded (not when it is first
/// pushed), so a node reached again through another path is still emitted before every
/// consumer (diamond-shaped graphs: `c = f(a, g(a))`).
fn schedule(roots: &[&Array]) -> Vec<(Array, Arc<Node>)> {
    let mut tape = Vec::new();
    // Nodes visited (expanded); a node is marked when it is expanded, not when it is pushed, so
    // that a root which is also an input of a later root is still scheduled before it.
    let mut seen: HashSet<usize> = HashSet::new();
    // Depth-first with an explicit stack: (array, node, children pushed?).
    let mut stack: Vec<(Array, Arc<Node>, bool)> = Vec::new();
    for r in roots.iter().rev() {
        if let Some(node) = pending_node(r) {
            stack.push(((*r).clone(), node, false));
        }
    }
    while let Some((array, node, expanded)) = stack.pop() {
        if expanded {
            tape.push((array, node));
            continue;
        }
        if !seen.insert(Arc::as_ptr(&node) as usize) {
            continue;
        }
        let inputs: Vec<(Array, Arc<Node>)> = node
            .inputs
            .iter()
            .filter_map(|i| pending_node(i).map(|n| (i.clone(), n)))
            .filter(|(_, n)| !seen.contains(&(Arc::as_ptr(n) as usize)))
            .collect();
        stack.push((array, node, true));
        for (input, n) in inputs.into_iter().rev() {
            stack.push((input, n, false));
        }
    }
    tape
}

/// Runs one node and stores its outputs (or its error) on every live output array.
fn run_node(array: &Array, node: &Arc<Node>) {
    // Another eval may have computed it meanwhile (a sibling's node).
    if !matches!(&*array.inner.lock_state(), State::Pending(n) if Arc::ptr_eq(n, node)) {
        return;
    }
    let failed_input = node
        .inputs
        .iter()
        .find_map(|i| match &*i.inner.lock_state() {
            State::Failed(e) => Some(e.clone()),
            State::Donated => Some(Error::runtime("[eval] input buffer was donated")),
            _ => None,
        });
    let result = match failed_input {
        Some(e) => Err(e),
        None => crate::profiler::timed(
            || node.primitive.name().to_string(),
            &node.inputs,
            || node.primitive.eval_cpu(&node.inputs, &node.outputs),
        ),
    };
    let result = result.and_then(|datas| {
        if datas.len() == node.outputs.len() {
            Ok(datas)
        } else {
            Err(Error::runtime(format!(
                "[eval] {} produced {} outputs, expected {}",
                node.primitive.name(),
                datas.len(),
                node.outputs.len()
            )))
        }
    });
    // While a transform traces, evaluated arrays keep their node so the trace still sees
    // the graph (MLX keeps the graph of tracers alive through `eval`).
    let retain = crate::transforms::is_tracing();
    let set = |target: &Array, state: State| {
        let mut s = target.inner.lock_state();
        if matches!(&*s, State::Pending(n) if Arc::ptr_eq(n, node)) {
            *s = state;
            if retain && target.inner.tracer {
                *target
                    .inner
                    .retained
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(node.clone());
            }
        }
    };
    match node.siblings.get() {
        None => set(array, to_state(result.map(|mut d| d.remove(0)))),
        Some(siblings) => {
            let outs: Vec<Option<Array>> = siblings
                .iter()
                .map(|w| {
                    w.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .upgrade()
                        .map(|inner| Array { inner })
                })
                .collect();
            match result {
                Ok(datas) => {
                    for (o, d) in outs.iter().zip(datas) {
                        if let Some(o) = o {
                            set(o, State::Ready(d));
                        }
                    }
                }
                Err(e) => {
                    for o in outs.iter().flatten() {
                        set(o, State::Failed(e.clone()));
                    }
                }
            }
        }
    }
}

fn to_state(r: Result<crate::array::Data>) -> State {
    match r {
        Ok(d) => State::Ready(d),
        Err(e) => State::Failed(e),
    }
}

/// Starts evaluating the arrays on a worker thread and returns at once. Reading an array
/// (`item`, `to_vec`, `eval`) waits for the work to finish. Inside a transform (an array that
/// is a tracer of `grad`, `vmap`...) it is an error, as in MLX.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::exp(&mx::ones(&[1000], mx::float32)?)?;
/// mx::async_eval([&a])?;
/// assert_eq!(a.to_vec::<f32>()?.len(), 1000);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn async_eval<'a>(arrays: impl IntoIterator<Item = &'a Array>) -> Result<()> {
    let owned: Vec<Array> = arrays.into_iter().cloned().collect();
    if crate::transforms::any_tracer(&owned) {
        return Err(Error::value(
            "[async_eval] Not allowed inside a graph transformation.",
        ));
    }
    let handle = std::thread::spawn(move || {
        ASYNC_WORKER.with(|w| w.set(true));
        // Errors stay on the arrays (reading them reports the error) and reach the next
        // `synchronize`.
        eval(owned.iter())
    });
    IN_FLIGHT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(handle);
    Ok(())
}

/// Errors of finished `async_eval`s, kept for the next [`crate::synchronize`].
static ASYNC_ERRORS: Mutex<Vec<Error>> = Mutex::new(Vec::new());

/// Waits for every `async_eval` started so far, keeping their errors for `synchronize`.
fn wait_in_flight() {
    let handles: Vec<_> = std::mem::take(&mut *IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner()));
    for h in handles {
        let r = h
            .join()
            .unwrap_or_else(|_| Err(Error::runtime("[async_eval] the worker panicked")));
        if let Err(e) = r {
            ASYNC_ERRORS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(e);
        }
    }
}

/// Waits for every `async_eval` started so far and returns the first error among those not
/// reported yet.
pub(crate) fn synchronize() -> Result<()> {
    wait_in_flight();
    let errors = std::mem::take(&mut *ASYNC_ERRORS.lock().unwrap_or_else(|e| e.into_inner()));
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate as mx;

    /// An `eval` started after an `async_eval` returns after it (as a stream's work runs in
    /// order in MLX), even when it evaluates unrelated arrays: without that, a worker still
    /// running moves the memory counters under the caller (MLX's `test_donation_for_noops`
    /// failed that way after `test_async_eval_with_multiple_streams`).
    #[test]
    fn eval_waits_for_earlier_async_eval() {
        for _ in 0..3 {
            // Long enough that the worker is still running when the small eval below starts.
            let mut x = mx::ones(&[1 << 18], mx::float32).unwrap();
            for _ in 0..200 {
                x = mx::add(&x, 1.0).unwrap();
            }
            mx::async_eval([&x]).unwrap();
            let y = mx::add(&mx::ones(&[1], mx::float32).unwrap(), 1.0).unwrap();
            mx::eval([&y]).unwrap();
            assert!(
                x.is_evaluated(),
                "eval returned before the earlier async_eval"
            );
            assert_eq!(x.to_vec::<f32>().unwrap()[0], 201.0);
        }
    }
}
