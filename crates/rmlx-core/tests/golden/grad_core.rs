//! Transforms of representative core functions against MLX 0.32.4
//! (tools/goldens/gen_grad_core.py): grad with argnums, value_and_grad, jvp, vmap with in/out
//! axes, nestings, kinks and ties, gradient dtypes, and MLX's errors for misuse.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Argnums, Array, Operand, Result, ScanOptions};
use serde_json::Value;

fn ints(kw: &Value, key: &str) -> Vec<i64> {
    match &kw[key] {
        Value::Number(n) => vec![n.as_i64().expect("int")],
        Value::Array(v) => v.iter().map(|x| x.as_i64().expect("int")).collect(),
        other => panic!("kwarg {key}: {other}"),
    }
}

fn argnums(kw: &Value) -> Argnums {
    match &kw["argnums"] {
        Value::Number(n) => (n.as_i64().unwrap() as isize).into(),
        Value::Array(v) => v
            .iter()
            .map(|x| x.as_i64().unwrap() as isize)
            .collect::<Vec<_>>()
            .into(),
        other => panic!("argnums {other}"),
    }
}

fn axis(a: i64) -> Option<isize> {
    (a >= 0 || a != -1)
        .then_some(a as isize)
        .filter(|_| a != -1)
}

/// `mx.arange(n)` (int32) in `shape`.
fn iota(shape: &[usize]) -> Result<Array> {
    let n: usize = shape.iter().product();
    mx::reshape(&mx::arange(0, n as i32, 1)?, shape)
}

/// The generator's functions, by name.
fn call(name: &str, a: &[Array]) -> Result<Array> {
    match name {
        "poly" => {
            let (x, y) = (&a[0], &a[1]);
            let t = mx::subtract(
                mx::multiply(mx::multiply(x, x)?, x)?,
                mx::multiply(mx::multiply(x, 2)?, y)?,
            )?;
            mx::sum(mx::add(t, mx::sin(y)?)?)
        }
        "mlp" => {
            let h = mx::tanh(mx::add(mx::matmul(&a[0], &a[1])?, &a[2])?)?;
            mx::sum(mx::square(mx::matmul(&h, &a[3])?)?)
        }
        "softmax_xent" => {
            let lse = mx::logsumexp_axes(&a[0], [-1], false)?;
            let dot = mx::sum_axes(mx::multiply(mx::softmax(&a[0], [-1])?, &a[1])?, [-1], false)?;
            mx::mean(mx::subtract(lse, dot)?)
        }
        "norm" => {
            let x = &a[0];
            let n = *x.shape().last().unwrap();
            let ms = mx::mean_axes(mx::multiply(x, x)?, [-1], true)?;
            let y = mx::multiply(x, mx::rsqrt(mx::add(ms, 1e-5)?)?)?;
            mx::sum(mx::multiply(y, iota(&[n])?)?)
        }
        "kinks" => {
            let (x, y) = (&a[0], &a[1]);
            let w = mx::where_(mx::greater(x, 0)?, mx::multiply(x, y)?, y)?;
            let s = mx::add(
                mx::add(mx::abs(x)?, mx::maximum(x, y)?)?,
                mx::minimum(x, 0.0)?,
            )?;
            mx::sum(mx::add(s, w)?)
        }
        "reduce_ties" => {
            let x = &a[0];
            let s = mx::add(
                mx::sum(mx::max_axes(x, [0], false)?)?,
                mx::sum(mx::min_axes(x, [1], true)?)?,
            )?;
            mx::add(s, mx::max(x)?)
        }
        "shapes" => {
            let (x, y) = (&a[0], &a[1]);
            let y2 = mx::slice(y, [0, 0], [y.shape()[0], y.shape()[1]], [2, 1])?;
            let z = mx::concatenate(&[x.transpose()?, y2], 0)?;
            let mut shape = vec![1];
            shape.extend_from_slice(z.shape());
            let z = mx::reshape(&z, shape.clone())?;
            shape[0] = 2;
            let z = mx::broadcast_to(&z, shape.clone())?;
            let opts = ScanOptions {
                reverse: true,
                inclusive: true,
            };
            let c = mx::cumsum_with(&z, Some(1), opts)?;
            mx::sum(mx::multiply(c, iota(&shape)?)?)
        }
        "binary_mix" => {
            let (x, y) = (&a[0], &a[1]);
            let p = mx::power(mx::add(mx::abs(x)?, 0.5)?, y)?;
            let t = mx::add(p, mx::logaddexp(x, y)?)?;
            let t = mx::add(t, mx::arctan2(x, mx::add(y, 2)?)?)?;
            let t = mx::add(t, mx::remainder(mx::multiply(x, 3)?, 0.7)?)?;
            let c = mx::clip(x, Some(-0.3), Some(0.4))?;
            mx::sum(mx::add(t, mx::multiply(c, y)?)?)
        }
        "unary_mix" => {
            let x = &a[0];
            let t = mx::multiply(mx::exp(x)?, mx::log1p(mx::multiply(x, x)?)?)?;
            let t = mx::add(t, mx::erf(x)?)?;
            let t = mx::add(t, mx::multiply(mx::sigmoid(x)?, mx::cos(x)?)?)?;
            let t = mx::add(t, mx::sqrt(mx::add(mx::multiply(x, x)?, 1)?)?)?;
            let t = mx::add(t, mx::arcsinh(x)?)?;
            mx::sum(mx::add(t, mx::expm1(x)?)?)
        }
        "prod_mean_var" => {
            let x = &a[0];
            let t = mx::add(
                mx::sum(mx::var_axes(x, [0], false, 0)?)?,
                mx::mean(mx::exp(x)?)?,
            )?;
            mx::add(t, mx::sum(mx::logsumexp_axes(x, [1], false)?)?)
        }
        "cast" => {
            let h = mx::square(a[0].astype(mx::float16)?)?.astype(mx::float32)?;
            mx::sum(mx::multiply(h, 3)?)
        }
        "int_scale" => mx::sum(mx::multiply(&a[0], &a[1])?),
        "vec_mlp" => mx::tanh(mx::add(mx::matmul(&a[0], &a[1])?, &a[2])?),
        "vec_rows" => {
            let s = mx::multiply(mx::softmax(&a[0], [-1])?, &a[1])?;
            mx::add(s, mx::max_axes(&a[0], [-1], true)?)
        }
        "vec_mix" => {
            let x = &a[0];
            let c = mx::cumsum(mx::sin(x)?, Some(0))?;
            mx::add(c, mx::sum_axes(x.transpose()?, [0], false)?)
        }
        other => panic!("unknown fn {other}"),
    }
}

fn dispatch(op: &str, ins: &[Operand], kw: &Value) -> Result<Vec<Array>> {
    let ins: Vec<Array> = ins.iter().map(arr).collect();
    let (kind, name) = op.split_once('_').expect("<transform>_<fn>");
    let f = |a: &[Array]| call(name, a);
    match kind {
        "grad" => mx::grad(f, argnums(kw))(&ins),
        "vag" => {
            let (mut v, g) = mx::value_and_grad(f, argnums(kw))(&ins)?;
            v.extend(g);
            Ok(v)
        }
        "jvp" => {
            let n = kw_i64(kw, "np").unwrap() as usize;
            let (outs, tans) = mx::jvp(f, &ins[..n], &ins[n..])?;
            Ok([outs, tans].concat())
        }
        "vmap" => {
            let in_axes: Vec<Option<isize>> = ints(kw, "in_axes").into_iter().map(axis).collect();
            let out = axis(kw_i64(kw, "out_axes").unwrap());
            mx::vmap(f, &in_axes, &[out])(&ins)
        }
        "vjpbad" => Ok(mx::vjp(f, &ins[..1], &ins[1..])?.1),
        "hess" => mx::grad(
            |a: &[Array]| mx::sum(&mx::grad(|b: &[Array]| call(name, b), 0)(a)?[0]),
            0,
        )(&ins),
        "vmapgrad" => mx::vmap(
            |a: &[Array]| Ok(mx::grad(|b: &[Array]| call(name, b), 0)(a)?.remove(0)),
            &[Some(0), None],
            &[],
        )(&ins),
        "gradvmap" => {
            let (x, b) = (ins[0].clone(), ins[2].clone());
            mx::grad(
                move |w: &[Array]| {
                    let v = mx::vmap(|q: &[Array]| call(name, q), &[Some(0), None, None], &[])(&[
                        x.clone(),
                        w[0].clone(),
                        b.clone(),
                    ])?;
                    mx::sum(&v[0])
                },
                0,
            )(&ins[1..2])
        }
        "jvpgrad" => {
            let y = ins[1].clone();
            let (_, t) = mx::jvp(
                move |u: &[Array]| {
                    Ok(
                        mx::grad(|q: &[Array]| call(name, q), 0)(&[u[0].clone(), y.clone()])?
                            .remove(0),
                    )
                },
                &ins[..1],
                &ins[2..],
            )?;
            Ok(t)
        }
        other => panic!("unknown transform {other}"),
    }
}

#[test]
fn grad_core_goldens() {
    check_family("grad_core", dispatch);
}
