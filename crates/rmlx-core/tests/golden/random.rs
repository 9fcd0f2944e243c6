//! Golden cases of `mx.random` recorded from MLX 0.32.4 (tools/goldens/gen_random.py): keys,
//! split, bits of every width (through MLX's C++ API), every sampler over shapes and dtypes,
//! the global key sequence after `seed`, vmap over batched keys, and MLX's errors. Every case
//! matches bit for bit (tolerance 0), the samplers through erfinv, erf and log included.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Dtype, Operand};
use serde_json::Value;

fn shape_kw(kw: &Value) -> Vec<i64> {
    kw_list(kw, "shape").expect("shape")
}

/// The optional `shape` kwarg (`null` is MLX's `None`).
fn opt_shape(kw: &Value) -> Option<Vec<usize>> {
    match kw.get("shape") {
        None | Some(Value::Null) => None,
        Some(_) => Some(shape_kw(kw).iter().map(|&d| d as usize).collect()),
    }
}

fn dtype_kw(kw: &Value) -> Dtype {
    kw_dtype(kw, "dtype").expect("dtype")
}

/// A draw from the global sequence, as the generator's `sequence` function makes them.
fn sequence(seed: u64) -> mx::Result<Vec<Array>> {
    use mx::random as r;
    r::seed(seed);
    Ok(vec![
        r::uniform(0, 1, &[3], mx::float32, None)?,
        r::normal(&[2, 2], mx::float32, None)?,
        r::randint(0, 10, &[4], mx::int32, None)?,
        r::permutation(6, None)?,
        r::bernoulli(0.3, Some(&[5]), None)?,
    ])
}

fn dispatch(op: &str, ins: &[Operand], kw: &Value) -> mx::Result<Vec<Array>> {
    use mx::random as r;
    let a = |i: usize| arr(&ins[i]);
    let o = |i: usize| ins[i].clone();
    let out = match op {
        "key" => r::key(kw["seed"].as_u64().expect("seed")),
        "split" => r::split(&a(0), kw_i64(kw, "num").expect("num") as usize)?,
        "bits" => r::bits(
            shape_kw(kw),
            kw_i64(kw, "width").expect("width") as usize,
            Some(&a(0)),
        )?,
        "uniform" => r::uniform(o(0), o(1), shape_kw(kw), dtype_kw(kw), Some(&a(2)))?,
        "normal" => {
            if ins.len() == 3 {
                r::normal_with(shape_kw(kw), dtype_kw(kw), o(1), o(2), Some(&a(0)))?
            } else {
                r::normal(shape_kw(kw), dtype_kw(kw), Some(&a(0)))?
            }
        }
        "randint" => r::randint(o(0), o(1), shape_kw(kw), dtype_kw(kw), Some(&a(2)))?,
        "bernoulli" => r::bernoulli(o(0), opt_shape(kw).as_deref(), Some(&a(1)))?,
        "truncated_normal" => r::truncated_normal(
            o(0),
            o(1),
            opt_shape(kw).as_deref(),
            dtype_kw(kw),
            Some(&a(2)),
        )?,
        "gumbel" => r::gumbel(shape_kw(kw), dtype_kw(kw), Some(&a(0)))?,
        "multivariate_normal" => {
            let shape: Vec<usize> = shape_kw(kw).iter().map(|&d| d as usize).collect();
            r::multivariate_normal(&a(0), &a(1), &shape, dtype_kw(kw), Some(&a(2)))?
        }
        "laplace" => r::laplace(
            shape_kw(kw),
            dtype_kw(kw),
            kw_f64(kw, "loc").expect("loc") as f32,
            kw_f64(kw, "scale").expect("scale") as f32,
            Some(&a(0)),
        )?,
        "categorical" => {
            let axis = kw_i64(kw, "axis").expect("axis") as isize;
            if let Some(n) = kw_i64(kw, "num_samples") {
                r::categorical_num_samples(&a(0), axis, n as usize, Some(&a(1)))?
            } else if let Some(s) = opt_shape(kw) {
                r::categorical_shape(&a(0), axis, &s, Some(&a(1)))?
            } else {
                r::categorical(&a(0), axis, Some(&a(1)))?
            }
        }
        "permutation" => r::permutation(kw_i64(kw, "n").expect("n") as usize, Some(&a(0)))?,
        "permutation_of" => r::permutation_of(
            &a(0),
            kw_i64(kw, "axis").expect("axis") as isize,
            Some(&a(1)),
        )?,
        "seed_sequence" => return sequence(kw["seed"].as_u64().expect("seed")),
        "vmap_uniform" | "vmap_split" => {
            let shape = kw_list(kw, "shape");
            let num = kw_i64(kw, "num");
            let in_axis = kw_i64(kw, "in_axis").map(|x| x as isize);
            let out_axis = kw_i64(kw, "out_axis").unwrap_or(0) as isize;
            let (in_axes, out_axes) = ([in_axis], [Some(out_axis)]);
            let f = mx::vmap(
                move |k: &[Array]| match (&shape, num) {
                    (Some(s), _) => r::uniform(0, 1, s, mx::float32, Some(&k[0])),
                    (None, Some(n)) => r::split(&k[0], n as usize),
                    _ => unreachable!("shape or num"),
                },
                &in_axes,
                &out_axes,
            );
            return f(&[a(0)]);
        }
        "vmap2_uniform" => {
            let shape = shape_kw(kw);
            let inner = move |k: &[Array]| r::uniform(0, 1, &shape, mx::float32, Some(&k[0]));
            let inner = mx::vmap(inner, &[Some(0)], &[Some(0)]);
            let outer = mx::vmap(move |k: &[Array]| inner(k), &[Some(0)], &[Some(0)]);
            return outer(&[a(0)]);
        }
        other => panic!("unknown random op {other}"),
    };
    Ok(vec![out])
}

#[test]
fn random_goldens() {
    check_family("random", dispatch);
}

/// The bits of a batch of keys under vmap are the bits of each key, stacked (MLX's
/// `RandomBits::vmap`), whichever axis holds the batch.
#[test]
fn vmap_of_bits_stacks_each_keys_bits() -> mx::Result<()> {
    use mx::random as r;
    let keys = r::split(&r::key(5), 3)?;
    let f = mx::vmap(
        |k: &[Array]| r::bits(&[2, 3], 2, Some(&k[0])),
        &[Some(0)],
        &[Some(0)],
    );
    let batched = f(std::slice::from_ref(&keys))?.remove(0);
    assert_eq!(batched.shape(), &[3, 2, 3]);
    let rows: Vec<Array> = (0..3)
        .map(|i| {
            let k = mx::reshape(&mx::take(&keys, i, Some(0))?, [2])?;
            r::bits(&[2, 3], 2, Some(&k))
        })
        .collect::<mx::Result<_>>()?;
    let want = mx::stack(&rows, 0)?;
    assert_eq!(batched.to_vec::<u16>()?, want.to_vec::<u16>()?);
    // Keys batched along their last axis (the pair on axis 0).
    let g = mx::vmap(
        |k: &[Array]| r::bits(&[4], 4, Some(&k[0])),
        &[Some(1)],
        &[Some(1)],
    );
    let out = g(&[keys.T()])?.remove(0);
    assert_eq!(out.shape(), &[4, 3]);
    let want: Vec<Array> = (0..3)
        .map(|i| {
            let k = mx::reshape(&mx::take(&keys, i, Some(0))?, [2])?;
            r::bits(&[4], 4, Some(&k))
        })
        .collect::<mx::Result<_>>()?;
    assert_eq!(out.to_vec::<u32>()?, mx::stack(&want, 1)?.to_vec::<u32>()?);
    Ok(())
}

/// A compiled step drawing from the global key sequence (the key passed as compile state)
/// draws what the plain step draws, call after call, and leaves the same key behind.
#[test]
fn compiled_step_with_random_state_draws_as_uncompiled() -> mx::Result<()> {
    use mx::random as r;
    let step = |x: &[Array]| -> mx::Result<Vec<Array>> {
        let noise = r::normal(&[4], mx::float32, None)?;
        let drop = r::bernoulli(0.5, Some(&[4]), None)?;
        Ok(vec![mx::where_(&drop, &(&x[0] + &noise), 0.0)?])
    };
    let compiled = mx::compile_with_state(step, r::state());
    let x = mx::array![1.0f32, 2.0, 3.0, 4.0];
    r::seed(11);
    let plain: Vec<Vec<f32>> = (0..3)
        .map(|_| step(std::slice::from_ref(&x))?[0].to_vec::<f32>())
        .collect::<mx::Result<_>>()?;
    let plain_key = r::state().get()[0].to_vec::<u32>()?;
    r::seed(11);
    let comp: Vec<Vec<f32>> = (0..3)
        .map(|_| compiled(std::slice::from_ref(&x))?[0].to_vec::<f32>())
        .collect::<mx::Result<_>>()?;
    let comp_key = r::state().get()[0].to_vec::<u32>()?;
    assert_eq!(plain, comp);
    assert_eq!(plain_key, comp_key);
    // Different calls drew different numbers.
    assert_ne!(comp[0], comp[1]);
    Ok(())
}
