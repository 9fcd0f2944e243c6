//! `compile`: equal results, caching per signature, transforms through compiled functions.
use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Result};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Tests here switch compile off and on, or need it on: one at a time.
static MODE: Mutex<()> = Mutex::new(());

fn bits(a: &Array) -> Vec<u32> {
    a.to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

fn f32s(shape: &[usize], seed: u64) -> Array {
    let a = rand(shape, seed).astype(mx::float32).unwrap();
    a.eval().unwrap();
    a
}

type Case = fn(&[Array]) -> Result<Array>;
type MultiCase = fn(&[Array]) -> Result<Vec<Array>>;

fn cases() -> Vec<(&'static str, Case, Vec<Array>)> {
    let x = f32s(&[7, 33], 1);
    let y = f32s(&[7, 33], 2);
    let row = f32s(&[33], 3);
    let big = f32s(&[3, 5000], 4);
    vec![
        (
            "chain",
            |a| Ok(mx::tanh(&(&a[0] * 2.0 + 1.0))? * mx::sigmoid(&a[0])?),
            vec![x.clone()],
        ),
        (
            "two inputs",
            |a| Ok(mx::exp(&(&a[0] - &a[1]))? / (mx::abs(&a[1])? + 1.0)),
            vec![x.clone(), y.clone()],
        ),
        (
            "broadcast row",
            |a| Ok(mx::maximum(&(&a[0] * &a[1]), 0.0)? + mx::square(&a[1])?),
            vec![x.clone(), row.clone()],
        ),
        (
            "shared intermediate",
            |a| {
                let t = mx::sin(&a[0])?;
                Ok(&t * &t + mx::cos(&t)?)
            },
            vec![x.clone()],
        ),
        (
            "with reduction",
            |a| Ok(mx::sum_axes(&mx::exp(&a[0])?, [1], true)? * mx::log1p(&mx::abs(&a[0])?)?),
            vec![x.clone()],
        ),
        (
            "matmul inside",
            |a| Ok(mx::tanh(&mx::matmul(&a[0], &a[1].transpose()?)?)? * 3.0 - 1.0),
            vec![x.clone(), y.clone()],
        ),
        (
            "many tiles",
            |a| Ok(mx::sqrt(&(mx::square(&a[0])? + 1.0))? - mx::rsqrt(&(&a[0] * &a[0] + 2.0))?),
            vec![big.clone()],
        ),
        (
            "transposed input",
            |a| Ok(mx::exp(&a[0].transpose()?)? * 2.0 + mx::negative(&a[0].transpose()?)?),
            vec![x.clone()],
        ),
        (
            "power minimum",
            |a| mx::minimum(&mx::power(&mx::abs(&a[0])?, 1.5)?, &a[1]),
            vec![x.clone(), y.clone()],
        ),
        (
            // A traced 0-d input (a learning rate) broadcast into the chain: read as a splat.
            "scalar input",
            |a| Ok(&a[0] - &(&(&a[1] * &a[0]) / &(mx::sqrt(&mx::square(&a[0])?)? + 1e-8))),
            vec![big.clone(), Array::scalar(0.01f32)],
        ),
        (
            "float64 untouched",
            |a| Ok(mx::exp(&a[0].astype(mx::float64)?)? * 2.0),
            vec![x.clone()],
        ),
    ]
}

#[test]
fn compiled_functions_equal_the_plain_ones_bit_for_bit() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    for (name, f, inputs) in cases() {
        let want = f(&inputs).unwrap();
        let got = mx::compile(f)(&inputs).unwrap().remove(0);
        assert_eq!(got.shape(), want.shape(), "{name}");
        assert_eq!(got.dtype(), want.dtype(), "{name}");
        let (g, w) = (
            got.astype(mx::float32).unwrap(),
            want.astype(mx::float32).unwrap(),
        );
        assert_eq!(bits(&g), bits(&w), "{name}");
    }
}

#[test]
fn elementwise_chains_become_one_node() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let f = mx::compile(|a: &[Array]| Ok(mx::tanh(&(&a[0] * 2.0 + 1.0))? * mx::sigmoid(&a[0])?));
    let out = f(&[f32s(&[4, 4], 1)]).unwrap();
    assert_eq!(out[0].primitive_name(), Some("Compiled"));
    let dot = mx::export_to_dot(&out);
    assert_eq!(dot.matches("shape=box").count(), 1, "{dot}");
}

#[test]
fn traces_once_per_signature() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let f = mx::compile(|a: &[Array]| {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Ok(&a[0] * 2.0)
    });
    let start = CALLS.load(Ordering::SeqCst);
    for _ in 0..3 {
        f(&[f32s(&[3], 1)]).unwrap();
    }
    assert_eq!(
        CALLS.load(Ordering::SeqCst) - start,
        1,
        "one trace for one signature"
    );
    f(&[f32s(&[4], 1)]).unwrap();
    f(&[rand(&[3], 1)]).unwrap();
    assert_eq!(
        CALLS.load(Ordering::SeqCst) - start,
        3,
        "a new shape or dtype traces again"
    );
    let got = f(&[mx::array![1.0, 2.0, 3.0]]).unwrap();
    assert_eq!(got[0].to_vec::<f32>().unwrap(), vec![2.0, 4.0, 6.0]);
}

#[test]
fn disable_compile_calls_the_plain_function() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let f = mx::compile(|a: &[Array]| {
        CALLS.fetch_add(1, Ordering::SeqCst);
        mx::exp(&a[0])
    });
    mx::disable_compile();
    let start = CALLS.load(Ordering::SeqCst);
    let x = f32s(&[5], 2);
    let a = f(std::slice::from_ref(&x)).unwrap();
    let b = f(std::slice::from_ref(&x)).unwrap();
    assert_eq!(CALLS.load(Ordering::SeqCst) - start, 2);
    assert_eq!(a[0].primitive_name(), Some("Exp"));
    mx::enable_compile();
    let c = f(std::slice::from_ref(&x)).unwrap();
    assert_eq!(bits(&b[0]), bits(&c[0]));
}

#[test]
fn eval_inside_a_compiled_function_is_an_error() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let f = mx::compile(|a: &[Array]| {
        let y = &a[0] * 2.0;
        y.eval()?;
        Ok(y)
    });
    let e = f(&[f32s(&[2], 1)]).unwrap_err();
    assert!(e.message().contains("Attempting to eval"), "{e}");
}

#[test]
fn grad_of_compile_and_compile_of_value_and_grad() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let loss = |a: &[Array]| mx::sum(&(mx::tanh(&(&a[0] * 2.0 + 1.0))? * mx::sigmoid(&a[0])?));
    let x = f32s(&[6, 5], 3);
    let want = mx::grad(loss, 0)(std::slice::from_ref(&x)).unwrap();
    let compiled = mx::compile(loss);
    let got = mx::grad(move |a: &[Array]| Ok(compiled(a)?.remove(0)), 0)(std::slice::from_ref(&x))
        .unwrap();
    let close = |a: &Array, b: &Array| {
        let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        a.iter()
            .zip(&b)
            .all(|(x, y)| (x - y).abs() <= 1e-6 * (1.0 + y.abs()))
    };
    assert!(close(&got[0], &want[0]));

    // value_and_grad returns (values, grads): compiled, its outputs are both, concatenated.
    let vg = mx::compile(mx::value_and_grad(loss, 0));
    let out = vg(std::slice::from_ref(&x)).unwrap();
    assert!(close(&out[1], &want[0]));
    let value = loss(std::slice::from_ref(&x)).unwrap();
    assert!(close(&out[0], &value));

    // jvp and vmap through a fused node.
    let fused = mx::compile(|a: &[Array]| Ok(mx::exp(&a[0])? * 3.0 + 1.0));
    let (_, t) = mx::jvp(
        |a| Ok(fused(a)?.remove(0)),
        std::slice::from_ref(&x),
        &[mx::ones_like(&x).unwrap()],
    )
    .unwrap();
    let want_t = mx::exp(&x).unwrap() * 3.0;
    assert!(close(&t[0], &want_t));
    let fused = mx::compile(|a: &[Array]| Ok(mx::exp(&a[0])? * 3.0 + 1.0));
    let per_row = mx::vmap(
        move |a: &[Array]| Ok(fused(a)?.remove(0)),
        &[Some(1)],
        &[Some(1)],
    );
    let got = per_row(std::slice::from_ref(&x)).unwrap();
    assert!(close(&got[0], &(mx::exp(&x).unwrap() * 3.0 + 1.0)));
}

#[test]
fn compiled_training_step_updates_captured_state() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    static TRACES: AtomicUsize = AtomicUsize::new(0);
    // Gradient descent on sum((w * x - 1)^2): the weights live in the captured state.
    let loss = |a: &[Array]| mx::sum(&mx::square(&(&a[0] * &a[1] - 1.0))?);
    let x = f32s(&[8], 5);
    let w0 = f32s(&[8], 6);
    let state = mx::CompileState::new(vec![w0.clone()]);
    let s = state.clone();
    let step = mx::compile_with_state(
        move |inp: &[Array]| {
            TRACES.fetch_add(1, Ordering::SeqCst);
            let w = s.get().remove(0);
            let (v, g) = mx::value_and_grad(loss, 0)(&[w.clone(), inp[0].clone()])?;
            s.set(vec![&w - &(&g[0] * 0.1)]);
            Ok(v[0].clone())
        },
        state.clone(),
    );
    let mut w = w0;
    for _ in 0..4 {
        let l = step(std::slice::from_ref(&x)).unwrap();
        let (v, g) = mx::value_and_grad(loss, 0)(&[w.clone(), x.clone()]).unwrap();
        w = &w - &(&g[0] * 0.1);
        assert!((l[0].item::<f32>().unwrap() - v[0].item::<f32>().unwrap()).abs() < 1e-5);
    }
    assert_eq!(TRACES.load(Ordering::SeqCst), 1, "traced once");
    let (a, b) = (
        state.get()[0].to_vec::<f32>().unwrap(),
        w.to_vec::<f32>().unwrap(),
    );
    assert!(
        a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5),
        "{a:?} vs {b:?}"
    );
}

/// Replays `f` compiled shapeless on each input set, checking against the plain function and
/// counting traces.
fn check_shapeless(
    name: &str,
    f: fn(&[Array]) -> Result<Array>,
    calls: &[Vec<Array>],
    traces: usize,
) {
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let compiled = mx::compile_shapeless(move |x: &[Array]| {
        seen.fetch_add(1, Ordering::SeqCst);
        f(x)
    });
    for (k, xs) in calls.iter().enumerate() {
        let got = compiled(xs).unwrap_or_else(|e| panic!("{name} call {k}: {e}"));
        let want = f(xs).unwrap();
        assert_eq!(got[0].shape(), want.shape(), "{name} call {k}: shape");
        assert_eq!(got[0].dtype(), want.dtype(), "{name} call {k}: dtype");
        let (g, w) = (
            got[0].astype(mx::float64).unwrap().to_vec::<f64>().unwrap(),
            want.astype(mx::float64).unwrap().to_vec::<f64>().unwrap(),
        );
        for (a, b) in g.iter().zip(&w) {
            assert!(
                (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                "{name} call {k}: {a} vs {b}"
            );
        }
    }
    assert_eq!(count.load(Ordering::SeqCst), traces, "{name}: traces");
}

#[test]
fn shapeless_compile_replays_one_trace_for_new_shapes() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let (a, b, c) = (f32s(&[3, 4], 1), f32s(&[5, 2], 2), f32s(&[1, 7], 3));
    let calls = vec![vec![a.clone()], vec![b.clone()], vec![c.clone()]];
    // Elementwise chain with scalar operands (fused), reductions with and without keepdims,
    // softmax, logsumexp, cumsum, argmax, transpose, reshape(-1), concatenate.
    check_shapeless(
        "chain",
        |x| {
            mx::multiply(
                &mx::tanh(&mx::add(&mx::multiply(&x[0], 2.0)?, 1.0)?)?,
                &mx::sigmoid(&x[0])?,
            )
        },
        &calls,
        1,
    );
    check_shapeless(
        "sum axis 0",
        |x| mx::sum_axes(&mx::exp(&x[0])?, [0], false),
        &calls,
        1,
    );
    check_shapeless(
        "max keepdims",
        |x| mx::subtract(&x[0], &mx::max_axes(&x[0], [-1], true)?),
        &calls,
        1,
    );
    check_shapeless("softmax", |x| mx::softmax(&x[0], [-1]), &calls, 1);
    check_shapeless(
        "logsumexp",
        |x| mx::logsumexp_axes(&x[0], [-1], false),
        &calls,
        1,
    );
    check_shapeless(
        "cumsum",
        |x| mx::cumsum(&mx::sin(&x[0])?, Some(1)),
        &calls,
        1,
    );
    check_shapeless("argmax", |x| mx::argmax_axis(&x[0], 1, false), &calls, 1);
    check_shapeless("transpose", |x| mx::exp(&x[0].transpose()?), &calls, 1);
    check_shapeless(
        "reshape -1",
        |x| mx::reshape(&mx::cos(&x[0])?, [-1]),
        &calls,
        1,
    );
    check_shapeless(
        "concatenate",
        |x| mx::concatenate(&[x[0].clone(), mx::exp(&x[0])?], 1),
        &calls,
        1,
    );
    // Matmul with a broadcast batch, and rows of different lengths.
    let mm = |x: &[Array]| mx::add(&mx::matmul(&x[0], &x[1])?, 1.0);
    check_shapeless(
        "matmul",
        mm,
        &[
            vec![f32s(&[3, 4], 4), f32s(&[4, 2], 5)],
            vec![f32s(&[2, 5, 3], 6), f32s(&[3, 7], 7)],
            vec![f32s(&[6, 3], 8), f32s(&[3, 1], 9)],
        ],
        2, // the rank of the first input changed once
    );
    // A new dtype is a new trace.
    check_shapeless(
        "dtype",
        |x| mx::exp(&x[0]),
        &[vec![a.clone()], vec![a.astype(mx::float64).unwrap()]],
        2,
    );
}

#[test]
fn shapeless_compile_errors_and_transforms() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    // A slice cannot infer its output shape: MLX's error at the call with new shapes.
    let f = mx::compile_shapeless(|x: &[Array]| mx::slice(&x[0], [1], [3], [1]));
    assert_eq!(f(&[f32s(&[4], 1)]).unwrap()[0].shape(), &[2]);
    let e = f(&[f32s(&[6], 2)]).unwrap_err();
    assert_eq!(
        e.message(),
        "[Primitive::output_shapes] Slice cannot infer output shapes."
    );
    // A reshape to fixed sizes no longer fits a new size.
    let g = mx::compile_shapeless(|x: &[Array]| mx::reshape(&x[0], [2, 2]));
    assert!(g(&[f32s(&[4], 1)]).is_ok());
    assert!(g(&[f32s(&[6], 1)]).is_err());
    // grad of a shapeless compiled function at a new shape.
    let h = mx::compile_shapeless(|x: &[Array]| mx::sum(&mx::multiply(&mx::sin(&x[0])?, 3.0)?));
    let _ = h(&[f32s(&[2, 2], 3)]).unwrap();
    let x = f32s(&[3, 5], 4);
    let gr = mx::grad(&h, 0)(std::slice::from_ref(&x)).unwrap();
    let want = mx::multiply(&mx::cos(&x).unwrap(), 3.0).unwrap();
    assert_eq!(gr[0].shape(), &[3, 5]);
    for (a, b) in gr[0]
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .zip(want.to_vec::<f32>().unwrap())
    {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

/// A quantized `(out, in)` weight of fixed values, as `quantize` gives it.
fn quantized_weight(out: usize, inp: usize) -> (Array, Array, Option<Array>) {
    let w = mx::multiply(&f32s(&[out, inp], 40), 0.1).unwrap();
    mx::quantize(&w, None, None, mx::QuantMode::Affine).unwrap()
}

#[test]
fn shapeless_compile_infers_more_primitives_shapes() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let x2 = |a, b, s| vec![f32s(&[a, b], s)];
    let calls = vec![x2(3, 4, 1), x2(5, 4, 2), x2(1, 4, 3)];
    // A mean divides by the new count (MLX's NumberOfElements), with and without keepdims.
    check_shapeless("mean", |x| mx::mean(&x[0]), &calls, 1);
    check_shapeless("mean axis", |x| mx::mean_axes(&x[0], [0], true), &calls, 1);
    // full_like and friends follow the input's shape, as do squeeze and expand_dims.
    check_shapeless("zeros_like", |x| mx::zeros_like(&x[0]), &calls, 1);
    check_shapeless(
        "full_like",
        |x| mx::full_like(&x[0], 2.5, Some(mx::float32)),
        &calls,
        1,
    );
    check_shapeless(
        "expand then squeeze",
        |x| {
            let e = mx::expand_dims(&mx::exp(&x[0])?, [0, 2])?;
            mx::squeeze(&mx::sin(&e)?, Some([0]))
        },
        &calls,
        1,
    );
    // Gathers (take, take_along_axis) take their indices' new shape; reductions after them
    // see the new sizes (also a size-1 reduction at trace time).
    let idx = |n: i32| mx::arange(0, n, 1).unwrap();
    let buf = || mx::array![10.0, 20.0, 30.0, 40.0, 50.0];
    let take_calls: Vec<Vec<Array>> = [1, 3, 2, 4].iter().map(|&n| vec![buf(), idx(n)]).collect();
    check_shapeless(
        "take sum",
        |x| mx::sum(&mx::take(&x[0], &x[1], Some(0))?),
        &take_calls,
        1,
    );
    check_shapeless(
        "take mean",
        |x| mx::mean(&mx::take(&x[0], &x[1], Some(0))?),
        &take_calls,
        1,
    );
    check_shapeless(
        "take argmax",
        |x| mx::argmax(&mx::take(&x[0], &x[1], Some(0))?),
        &take_calls,
        1,
    );
    check_shapeless(
        "take_along_axis",
        |x| {
            let i = mx::argmax_axis(&x[0], 1, true)?;
            mx::take_along_axis(&x[0], &i, Some(1))
        },
        &calls,
        1,
    );
    check_shapeless(
        "searchsorted",
        |x| {
            let s = mx::array![0.0, 0.25, 0.5, 0.75];
            mx::searchsorted(&s, &x[0])
        },
        &calls,
        1,
    );
    // addmm, gather_mm, quantized matmuls, convolution.
    check_shapeless(
        "addmm",
        |x| mx::addmm(&x[0], &x[1], &x[2], 2.0, 3.0),
        &[
            vec![f32s(&[2, 4], 4), f32s(&[2, 3], 5), f32s(&[3, 4], 6)],
            vec![f32s(&[3, 5], 7), f32s(&[3, 6], 8), f32s(&[6, 5], 9)],
        ],
        1,
    );
    check_shapeless(
        "gather_mm",
        |x| {
            let b = f32s(&[4, 8, 3], 10);
            let i = mx::array![0u32, 1, 2, 3];
            mx::gather_mm(&x[0], &b, Some(&i), Some(&i), false)
        },
        &[vec![f32s(&[4, 2, 8], 11)], vec![f32s(&[4, 5, 8], 12)]],
        1,
    );
    check_shapeless(
        "quantized_matmul",
        |x| {
            let (w, s, b) = quantized_weight(32, 64);
            mx::quantized_matmul(
                &x[0],
                &w,
                &s,
                b.as_ref(),
                true,
                None,
                None,
                mx::QuantMode::Affine,
            )
        },
        &[vec![f32s(&[2, 64], 13)], vec![f32s(&[7, 64], 14)]],
        1,
    );
    check_shapeless(
        "gather_qmm",
        |x| {
            let w = mx::multiply(&f32s(&[4, 32, 64], 15), 0.1)?;
            let (w, s, b) = mx::quantize(&w, None, None, mx::QuantMode::Affine)?;
            let i = mx::array![0u32, 1, 2, 3];
            mx::gather_qmm(
                &x[0],
                &w,
                &s,
                b.as_ref(),
                Some(&i),
                Some(&i),
                true,
                None,
                None,
                mx::QuantMode::Affine,
                false,
            )
        },
        &[vec![f32s(&[4, 2, 64], 16)], vec![f32s(&[4, 6, 64], 17)]],
        1,
    );
    check_shapeless(
        "conv1d",
        |x| {
            let w = f32s(&[5, 3, 2], 18);
            mx::conv1d(&x[0], &w, 2, 1, 1, 1)
        },
        &[vec![f32s(&[2, 9, 2], 19)], vec![f32s(&[1, 14, 2], 20)]],
        1,
    );
    // broadcast_arrays follows every operand; a sum's gradient follows the input.
    check_shapeless(
        "broadcast_arrays",
        |x| Ok(mx::broadcast_arrays(&[x[0].clone(), x[1].clone()])?.swap_remove(0)),
        &[
            vec![f32s(&[1, 3], 21), f32s(&[2, 1], 22)],
            vec![f32s(&[1, 5], 23), f32s(&[4, 1], 24)],
        ],
        1,
    );
    check_shapeless(
        "grad of a batched matmul",
        |x| {
            let g = mx::grad(
                |y: &[Array]| mx::sum(&mx::matmul(&y[0], &y[1])?),
                vec![0usize, 1],
            )(x)?;
            mx::add(&mx::sum(&g[0])?, &mx::sum(&g[1])?)
        },
        &[
            vec![f32s(&[2, 1, 4, 2], 25), f32s(&[3, 2, 5], 26)],
            vec![f32s(&[3, 1, 4, 2], 27), f32s(&[2, 2, 5], 28)],
        ],
        1,
    );
    // A broadcast to a fixed shape that no longer fits is MLX's error.
    let f = mx::compile_shapeless(|x: &[Array]| mx::broadcast_to(&x[0], [2, 2]));
    assert!(f(&[f32s(&[1, 1], 29)]).is_ok());
    let e = f(&[f32s(&[3, 1], 30)]).unwrap_err();
    assert_eq!(e.message(), "[Broadcast] Unable to infer broadcast shape");
}

#[test]
fn compiling_a_function_that_captures_its_input_is_an_error() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let x = mx::add(&mx::array![1, 2, 3], 2).unwrap();
    let captured = x.clone();
    let f = mx::compile(move |a: &[Array]| mx::add(&a[0], &mx::add(&captured, 1)?));
    let e = f(std::slice::from_ref(&x)).unwrap_err();
    assert_eq!(
        e.message(),
        "[compile] Attempting to compile a function with uncaptured inputs is not allowed."
    );
    // Reaching it through an unevaluated array computed from it is the same error.
    let y = mx::add(&x, 1).unwrap();
    let g = mx::compile(move |a: &[Array]| mx::add(&a[0], &y));
    assert!(g(std::slice::from_ref(&x)).is_err());
    // An evaluated capture is a constant.
    let z = mx::add(&x, 1).unwrap();
    z.eval().unwrap();
    let h = mx::compile(move |a: &[Array]| mx::add(&a[0], &z));
    assert_eq!(h(&[x]).unwrap()[0].to_vec::<i32>().unwrap(), vec![7, 9, 11]);
}

/// MLX's test_broadcast_axes_vmap: a shapeless compile of a vmapped matmul whose batch
/// broadcast changes between calls replays its one trace (the batch broadcast follows the
/// new shapes).
#[test]
fn shapeless_compile_vmapped_matmul_follows_batch_broadcast() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    for (in_axes, calls) in [
        (
            [Some(0), Some(1)],
            [
                [f32s(&[2, 3, 1, 4, 5], 1), f32s(&[1, 2, 5, 6], 2)],
                [f32s(&[3, 2, 1, 4, 5], 3), f32s(&[2, 3, 5, 6], 4)],
            ],
        ),
        (
            [Some(0), None],
            [
                [f32s(&[2, 3, 1, 4, 5], 5), f32s(&[1, 2, 5, 6], 6)],
                [f32s(&[2, 3, 1, 7, 2], 7), f32s(&[1, 2, 2, 3], 8)],
            ],
        ),
    ] {
        let seen = count.clone();
        let plain = mx::vmap(|x: &[Array]| mx::matmul(&x[0], &x[1]), &in_axes, &[]);
        let vf = mx::vmap(
            move |x: &[Array]| {
                seen.fetch_add(1, Ordering::SeqCst);
                mx::matmul(&x[0], &x[1])
            },
            &in_axes,
            &[],
        );
        let before = count.load(Ordering::SeqCst);
        let compiled = mx::compile_shapeless(vf);
        for xs in &calls {
            let got = compiled(xs).unwrap_or_else(|e| panic!("{in_axes:?}: {e}"));
            let want = plain(xs).unwrap();
            assert_eq!(got[0].shape(), want[0].shape());
            assert_eq!(bits(&got[0]), bits(&want[0]));
        }
        // One trace for both calls.
        assert_eq!(count.load(Ordering::SeqCst), before + 1, "{in_axes:?}");
    }
}

/// MLX's test_shapeless_compile_slice_update: a slice update replays on a destination of a
/// new size (its start and strides stay as traced); one that no longer fits is an error at
/// the call (MLX writes out of bounds there).
#[test]
fn shapeless_compile_slice_update() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let v = |n: usize| mx::arange(0.0, n as f64, 1.0).unwrap();
    // x[2] = 3
    let one = |x: &[Array]| mx::slice_update(&x[0], mx::array![3.0], [2], [3], [1]);
    let calls: Vec<Vec<Array>> = [4, 5, 3, 9].iter().map(|&n| vec![v(n)]).collect();
    check_shapeless("x[2] = 3", one, &calls, 1);
    // x[1:5:2] = [7, 8]
    let strided = |x: &[Array]| mx::slice_update(&x[0], mx::array![7.0, 8.0], [1], [5], [2]);
    let calls: Vec<Vec<Array>> = [6, 4, 5, 10].iter().map(|&n| vec![v(n)]).collect();
    check_shapeless("x[1:5:2] = [7, 8]", strided, &calls, 1);
    let f = mx::compile_shapeless(one);
    assert_eq!(
        f(&[v(4)]).unwrap()[0].to_vec::<f32>().unwrap(),
        [0.0, 1.0, 3.0, 3.0]
    );
    let e = f(&[v(2)]).unwrap_err();
    assert_eq!(
        e.message(),
        "[slice_update] The update of shape (1) at start (2) with strides (1) does not fit in \
         an array of shape (2)."
    );
    let g = mx::compile_shapeless(strided);
    let _ = g(&[v(6)]).unwrap();
    assert!(g(&[v(3)]).is_err());
    // An update that is an input: its new shape is the slice's (from the traced start).
    let upd = |x: &[Array]| mx::slice_update(&x[0], mx::exp(&x[1])?, [1], [3], [1]);
    let k = mx::compile_shapeless(upd);
    let _ = k(&[v(5), v(2)]).unwrap();
    let y = k(&[v(6), v(4)]).unwrap()[0].to_vec::<f32>().unwrap();
    let want = [0.0, 1.0, 1f32.exp(), 2f32.exp(), 3f32.exp(), 5.0];
    assert!(
        y.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-5),
        "{y:?}"
    );
    assert!(k(&[v(4), v(4)]).is_err());
}

/// Primitives with fixed slice sizes or shape agreements between their inputs check them
/// against the new shapes of a shapeless replay, instead of reading or writing out of bounds.
#[test]
fn shapeless_compile_checks_fixed_gather_sizes() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    // take along axis 0 gathers whole rows: slices of (1, 3).
    let f = mx::compile_shapeless(|x: &[Array]| mx::take(&x[0], &x[1], Some(0)));
    let rows = mx::array![0u32, 2];
    let y = f(&[f32s(&[4, 3], 1), rows.clone()]).unwrap();
    assert_eq!(y[0].shape(), &[2, 3]);
    // More rows: fine.
    let y = f(&[f32s(&[6, 3], 2), rows.clone()]).unwrap();
    assert_eq!(y[0].shape(), &[2, 3]);
    // Shorter rows than the traced slice: an error, not a read past the rows.
    let e = f(&[f32s(&[4, 2], 3), rows.clone()]).unwrap_err();
    assert_eq!(
        e.message(),
        "[gather] Slice sizes must be in [0, a.shape(i)]. Got (1,3) for array with shape (4,2)."
    );
    // take_along_axis on arrays of one shape at the trace: new shapes that no longer agree.
    let g = mx::compile_shapeless(|x: &[Array]| mx::take_along_axis(&x[0], &x[1], Some(1)));
    let idx = |r: usize| mx::zeros(&[r, 1], mx::uint32).unwrap();
    let y = g(&[f32s(&[3, 4], 4), idx(3)]).unwrap();
    assert_eq!(y[0].shape(), &[3, 1]);
    let y = g(&[f32s(&[5, 2], 5), idx(5)]).unwrap();
    assert_eq!(y[0].shape(), &[5, 1]);
    let e = g(&[f32s(&[2, 4], 6), idx(3)]).unwrap_err();
    assert!(
        e.message()
            .starts_with("[take_along_axis] Indices of shape (3,1)"),
        "{e}"
    );
    // put_along_axis likewise.
    let p = mx::compile_shapeless(|x: &[Array]| {
        mx::put_along_axis(&x[0], &x[1], mx::array![1.0], Some(1))
    });
    let y = p(&[f32s(&[3, 4], 7), idx(3)]).unwrap();
    assert_eq!(y[0].shape(), &[3, 4]);
    assert!(p(&[f32s(&[2, 4], 8), idx(3)]).is_err());
}

/// Two operands' shapes and their vmap axes.
type BroadcastCase = (&'static [usize], &'static [usize], [Option<isize>; 2]);

/// The vmap rules of the broadcasts that follow their inputs (a matmul's batch broadcast, and
/// `broadcast_arrays`): batched and unbatched operands of every rank against each other.
#[test]
fn vmap_of_batch_broadcasts() {
    let mm = |x: &[Array]| mx::matmul(&x[0], &x[1]);
    let cases: [BroadcastCase; 5] = [
        (&[2, 3, 1, 4, 5], &[1, 2, 5, 6], [Some(0), Some(1)]),
        (&[2, 3, 1, 4, 5], &[1, 2, 5, 6], [Some(0), None]),
        (&[2, 4, 5], &[3, 5, 6], [Some(0), None]),
        (&[4, 5], &[3, 2, 5, 6], [None, Some(1)]),
        (&[2, 1, 4, 5], &[3, 5, 6, 2], [Some(0), Some(3)]),
    ];
    for (k, (a, b, axes)) in cases.iter().enumerate() {
        let xs = [f32s(a, 2 * k as u64), f32s(b, 2 * k as u64 + 1)];
        check_vmap(&format!("matmul {k}"), mm, &xs, axes, 1e-5);
    }
    let first = |x: &[Array]| Ok(mx::broadcast_arrays(x)?.swap_remove(0));
    let second = |x: &[Array]| Ok(mx::broadcast_arrays(x)?.swap_remove(1));
    let cases: [BroadcastCase; 3] = [
        (&[2, 3], &[4, 1], [Some(0), None]),
        (&[3, 2], &[2, 5, 1], [Some(1), Some(0)]),
        (&[3], &[2, 4, 1, 1], [None, Some(0)]),
    ];
    for (k, (a, b, axes)) in cases.iter().enumerate() {
        let xs = [f32s(a, 20 + k as u64), f32s(b, 30 + k as u64)];
        check_vmap(&format!("broadcast_arrays {k} [0]"), first, &xs, axes, 0.0);
        check_vmap(&format!("broadcast_arrays {k} [1]"), second, &xs, axes, 0.0);
    }
}

/// The address of an evaluated array's buffer.
fn ptr(a: &Array) -> *const u8 {
    a.data().unwrap().as_ptr()
}

#[test]
fn fused_kernels_donate_an_input_nobody_else_holds() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let plain = |a: &[Array]| Ok(mx::sin(&a[0])? + 1.0);
    let f = mx::compile(plain);
    // MLX's test_compile_donates_input_buffer: the caller gives up its only handle.
    let x = mx::arange(0.0, 16.0, 1.0).unwrap();
    x.eval().unwrap();
    let (at, want) = (ptr(&x), bits(&plain(std::slice::from_ref(&x)).unwrap()));
    let out = f(&[x]).unwrap().remove(0);
    assert_eq!(out.primitive_name(), Some("Compiled"));
    assert_eq!(ptr(&out), at, "the output reuses the input's buffer");
    assert_eq!(bits(&out), want);

    // Still held elsewhere: a fresh output, and the other holder's values stay.
    let y = f32s(&[16], 1);
    let keep = y.clone();
    let before = bits(&keep);
    let out = f(&[y]).unwrap().remove(0);
    assert_ne!(ptr(&out), ptr(&keep));
    assert_eq!(bits(&keep), before);
    assert_eq!(
        bits(&out),
        bits(&plain(std::slice::from_ref(&keep)).unwrap())
    );

    // A view sharing the buffer (its base held) is not donated either.
    let base = f32s(&[4, 4], 2);
    let before = bits(&base);
    let view = base.reshape(&[16]).unwrap();
    view.eval().unwrap();
    let out = f(&[view]).unwrap().remove(0);
    assert_ne!(ptr(&out), ptr(&base));
    assert_eq!(bits(&base), before);
}

#[test]
fn donated_fused_kernels_equal_the_plain_ones_bit_for_bit() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    type Two = fn(&[Array]) -> Result<Array>;
    let cases: [(&str, Two); 4] = [
        // The last step reads the donated input (it computes into a register first).
        ("x*sin(x)", |a| Ok(&a[0] * &mx::sin(&a[0])?)),
        // Earlier steps and the last read it.
        ("tanh(2x+1)*sigmoid(x)", |a| {
            Ok(mx::tanh(&(&a[0] * 2.0 + 1.0))? * mx::sigmoid(&a[0])?)
        }),
        // Two inputs; the first one free is donated.
        ("exp(y)*x+y", |a| Ok(&(&mx::exp(&a[1])? * &a[0]) + &a[1])),
        // A broadcast row next to the donated input.
        (
            "sqrt(|x|)+row",
            |a| Ok(&mx::sqrt(&mx::abs(&a[0])?)? + &a[2]),
        ),
    ];
    // One tile, two tiles, and enough for several blocks on every core.
    for n in [7usize, 2048, 100_003] {
        for (name, g) in cases {
            let inputs = |held: bool| {
                let x = f32s(&[n, 1], 3);
                let y = f32s(&[n, 1], 4);
                let row = f32s(&[1], 5);
                if held {
                    vec![x, y, row]
                } else {
                    // Temporaries with their own buffers, nothing else holding them.
                    vec![&x * 1.0, &y * 1.0, row]
                }
            };
            let want = bits(&g(&inputs(true)).unwrap());
            let f = mx::compile(g);
            let mut ins = inputs(false);
            mx::eval(ins.iter()).unwrap();
            let ptrs: Vec<*const u8> = ins[..2].iter().map(ptr).collect();
            let out = f(&std::mem::take(&mut ins)).unwrap().remove(0);
            assert_eq!(out.primitive_name(), Some("Compiled"), "{name}");
            let p = ptr(&out);
            assert!(ptrs.contains(&p), "{name} n={n}: an input was donated");
            assert_eq!(bits(&out), want, "{name} n={n}");
        }
    }
}

#[test]
fn fused_kernels_leave_captured_constants_alone() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let c = f32s(&[64], 6);
    let before = bits(&c);
    let held = c.clone();
    let f = mx::compile(move |a: &[Array]| Ok(&(&mx::sin(&held)? * &a[0]) + 1.0));
    for _ in 0..2 {
        let x = &f32s(&[64], 7) * 1.0;
        x.eval().unwrap();
        let at = ptr(&x);
        let out = f(&[x]).unwrap().remove(0);
        assert_eq!(ptr(&out), at, "the argument, not the constant, is donated");
        assert_eq!(bits(&c), before);
    }
}

/// An optimizer-like update: the new moment `m'` is returned and also read by the new
/// parameter `p'`, so both leave one fused node.
fn moment_and_step(a: &[Array]) -> Result<Vec<Array>> {
    let (g, m, p) = (&a[0], &a[1], &a[2]);
    let m2 = &(m * 0.9) + &(g * 0.1);
    let p2 = p - &(&(&m2 * 0.01) / &(mx::sqrt(&mx::abs(&m2)?)? + 1e-8));
    Ok(vec![m2, p2])
}

/// `[m', u - p]`: the last step reads the parameter as its second operand.
fn moment_and_reversed_step(a: &[Array]) -> Result<Vec<Array>> {
    let (g, m, p) = (&a[0], &a[1], &a[2]);
    let m2 = &(m * 0.9) + &(g * 0.1);
    let p2 = &(&m2 * 0.01) - p;
    Ok(vec![m2, p2])
}

#[test]
fn fused_steps_write_over_the_donated_operand_they_read_last() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let shape = [3usize, 5000];
    let inputs = |seed: u64| -> Vec<Array> { (0..3).map(|i| f32s(&shape, seed + i)).collect() };
    for function in [moment_and_step, moment_and_reversed_step] {
        let want: Vec<Vec<u32>> = function(&inputs(60)).unwrap().iter().map(bits).collect();
        let f = mx::compile(function);
        // The gradient held: m is finished with before m' is written and goes to it; p is
        // read by the last step only, which then runs over p's tile.
        let mut ins = inputs(60);
        let g = ins[0].clone();
        let ptrs: Vec<*const u8> = ins[1..].iter().map(ptr).collect();
        let out = f(&std::mem::take(&mut ins)).unwrap();
        mx::eval(out.iter()).unwrap();
        let got: Vec<*const u8> = out.iter().map(ptr).collect();
        assert_eq!(got, ptrs, "m' over m, p' over p");
        assert_eq!(out.iter().map(bits).collect::<Vec<_>>(), want);
        assert_eq!(
            bits(&g),
            bits(&inputs(60)[0]),
            "the held gradient is untouched"
        );
    }
}

/// A product by a scalar is computed inside the one step that reads it, unless its operand
/// is overwritten in between: here `p` by `p + g` written over `p`'s (donated) buffer, and
/// `exp(x)`'s register by `sin(x)`, which reuses it.
fn products_whose_operands_are_overwritten(a: &[Array]) -> Result<Vec<Array>> {
    let (p, g, x) = (&a[0], &a[1], &a[2]);
    let scaled_p = p * 2.0;
    let p2 = p + g;
    let e = &mx::exp(x)? * 3.0;
    let s = mx::sin(x)?;
    Ok(vec![&(&(&scaled_p * &p2) + &e) - &s, p2])
}

#[test]
fn fused_scalar_products_fold_only_where_their_operand_survives() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    let shape = [3usize, 5000];
    let inputs = |seed: u64| -> Vec<Array> { (0..3).map(|i| f32s(&shape, seed + i)).collect() };
    let want: Vec<Vec<u32>> = products_whose_operands_are_overwritten(&inputs(70))
        .unwrap()
        .iter()
        .map(bits)
        .collect();
    let f = mx::compile(products_whose_operands_are_overwritten);
    let mut ins: Vec<Array> = inputs(70).iter().map(|a| a * 1.0).collect();
    mx::eval(ins.iter()).unwrap();
    let p_buffer = ptr(&ins[0]);
    let out = f(&std::mem::take(&mut ins)).unwrap();
    let dot = mx::export_to_dot(&out);
    assert_eq!(dot.matches("shape=box").count(), 1, "one fused node: {dot}");
    mx::eval(out.iter()).unwrap();
    assert!(
        out.iter().any(|o| ptr(o) == p_buffer),
        "p's buffer was donated"
    );
    assert_eq!(out.iter().map(bits).collect::<Vec<_>>(), want);
}

#[test]
fn comparisons_converted_to_float_fuse_as_masks() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    // relu's gradient: g * (x > 0) as float32, NaN and infinities included.
    let relu_grad = |a: &[Array]| -> Result<Vec<Array>> {
        let mask = mx::greater(&a[0], 0.0)?.astype(mx::float32)?;
        Ok(vec![&a[1] * &mask])
    };
    // The mask is also returned, or also read as booleans: it stays a comparison.
    let mask_returned = |a: &[Array]| -> Result<Vec<Array>> {
        let mask = mx::greater(&a[0], &a[1])?;
        Ok(vec![&a[1] * &mask.astype(mx::float32)?, mask])
    };
    let mask_shared = |a: &[Array]| -> Result<Vec<Array>> {
        let mask = mx::greater(&a[0], &a[1])?;
        let both = &mx::r#where(&mask, &a[0], 1.0)? + &mask.astype(mx::float32)?;
        Ok(vec![&both * 2.0])
    };
    let mut x = f32s(&[3, 700], 80).to_vec::<f32>().unwrap();
    x[..4].copy_from_slice(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0]);
    let x = mx::Array::from_slice(&x, &[3, 700]).unwrap();
    let g = f32s(&[3, 700], 81);
    let cases: [(&str, MultiCase); 3] = [
        ("relu_grad", relu_grad),
        ("mask_returned", mask_returned),
        ("mask_shared", mask_shared),
    ];
    let fbits = |a: &Array| bits(&a.astype(mx::float32).unwrap());
    for (name, function) in cases {
        let inputs = [x.clone(), g.clone()];
        let plain = function(&inputs).unwrap();
        let out = mx::compile(function)(&inputs).unwrap();
        let dot = mx::export_to_dot(&out);
        let boxes = dot.matches("shape=box").count();
        let comparison_left = dot.contains("[label=\"Greater\"");
        if name == "relu_grad" {
            assert!(boxes == 1 && dot.contains("CompiledGreater"), "{dot}");
        } else {
            assert!(comparison_left, "{name}: {dot}");
        }
        assert_eq!(
            out.iter().map(|a| a.dtype()).collect::<Vec<_>>(),
            plain.iter().map(|a| a.dtype()).collect::<Vec<_>>()
        );
        assert_eq!(
            out.iter().map(fbits).collect::<Vec<_>>(),
            plain.iter().map(fbits).collect::<Vec<_>>(),
            "{name}"
        );
    }
}

#[test]
fn fused_kernels_export_every_output_of_the_chain() {
    let _m = MODE.lock().unwrap_or_else(|e| e.into_inner());
    // Below and above the two-tile (one worker) size.
    for (k, shape) in [[3usize, 7], [3, 5000]].iter().enumerate() {
        let inputs =
            |seed: u64| -> Vec<Array> { (0..3).map(|i| f32s(shape, seed + i)).collect::<Vec<_>>() };
        let want: Vec<Vec<u32>> = moment_and_step(&inputs(40))
            .unwrap()
            .iter()
            .map(bits)
            .collect();
        let f = mx::compile(moment_and_step);
        // Held inputs: fresh outputs.
        let held = inputs(40);
        let out = f(&held).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].primitive_name(), Some("Compiled"), "shape {k}");
        assert_eq!(out[1].primitive_name(), Some("Compiled"), "shape {k}");
        let dot = mx::export_to_dot(&out);
        assert_eq!(dot.matches("shape=box").count(), 1, "one fused node: {dot}");
        assert_eq!(out.iter().map(bits).collect::<Vec<_>>(), want, "shape {k}");
        // Given up: the gradient is still held, m and p give their buffers to the outputs.
        let mut ins = inputs(40);
        let g = ins[0].clone();
        let ptrs: Vec<*const u8> = ins[1..].iter().map(ptr).collect();
        let out = f(&std::mem::take(&mut ins)).unwrap();
        mx::eval(out.iter()).unwrap();
        let got: Vec<*const u8> = out.iter().map(ptr).collect();
        assert!(
            got.iter().all(|p| ptrs.contains(p)),
            "shape {k}: both donated"
        );
        assert_ne!(got[0], got[1]);
        assert_eq!(out.iter().map(bits).collect::<Vec<_>>(), want, "shape {k}");
        assert_eq!(
            bits(&g),
            bits(&inputs(40)[0]),
            "the held gradient is untouched"
        );
    }

    // Gradients, jvp and vmap through the two-output node equal the plain function's.
    let xs = [f32s(&[4, 6], 50), f32s(&[4, 6], 51), f32s(&[4, 6], 52)];
    let compiled = mx::compile(moment_and_step);
    let want = mx::grad(
        |a: &[Array]| {
            let o = moment_and_step(a)?;
            mx::sum(&(&o[0] * 2.0 + &o[1] * 3.0))
        },
        [0, 1, 2],
    )(&xs)
    .unwrap();
    let got = mx::grad(
        move |a: &[Array]| {
            let o = compiled(a)?;
            mx::sum(&(&o[0] * 2.0 + &o[1] * 3.0))
        },
        [0, 1, 2],
    )(&xs)
    .unwrap();
    assert_eq!(got.len(), 3);
    let close = |a: &Array, b: &Array| {
        let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        a.iter()
            .zip(&b)
            .all(|(x, y)| (x - y).abs() <= 1e-6 * (1.0 + y.abs()))
    };
    for (g, w) in got.iter().zip(&want) {
        assert!(close(g, w));
    }
    let ones: Vec<Array> = xs.iter().map(|x| mx::ones_like(x).unwrap()).collect();
    let compiled = mx::compile(moment_and_step);
    let (_, t) = mx::jvp(move |a| compiled(a), &xs, &ones).unwrap();
    let (_, want_t) = mx::jvp(moment_and_step, &xs, &ones).unwrap();
    assert_eq!(t.len(), 2);
    for (g, w) in t.iter().zip(&want_t) {
        assert!(close(g, w));
    }
    let compiled = mx::compile(moment_and_step);
    let per_row = mx::vmap(
        move |a: &[Array]| compiled(a),
        &[Some(1), Some(1), None],
        &[],
    );
    let plain_rows = mx::vmap(moment_and_step, &[Some(1), Some(1), None], &[]);
    let xs_rows = [xs[0].clone(), xs[1].clone(), f32s(&[4], 53)];
    let (got, want) = (per_row(&xs_rows).unwrap(), plain_rows(&xs_rows).unwrap());
    assert_eq!(got.len(), 2);
    for (g, w) in got.iter().zip(&want) {
        assert!(close(g, w));
    }
}
