//! Shared checks for the transform tests: finite differences, a dot-product test tying vjp to
//! jvp, and vmap against stacking the function over slices.
#![allow(dead_code)]

use rmlx_core as mx;
use rmlx_core::{Array, Result};

/// Deterministic pseudo-random values in [-1, 1) (the random module is another issue).
pub fn rand_vec(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// A float64 array of `shape` with values from [`rand_vec`].
pub fn rand(shape: &[usize], seed: u64) -> Array {
    let n = shape.iter().product();
    Array::from_slice(&rand_vec(n, seed), shape).unwrap()
}

/// A float64 array with values in `[lo, hi)`.
pub fn rand_in(shape: &[usize], seed: u64, lo: f64, hi: f64) -> Array {
    let n = shape.iter().product();
    let v: Vec<f64> = rand_vec(n, seed)
        .into_iter()
        .map(|x| lo + (x + 1.0) / 2.0 * (hi - lo))
        .collect();
    Array::from_slice(&v, shape).unwrap()
}

fn values(a: &Array) -> Vec<f64> {
    a.to_vec::<f64>().unwrap()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Checks the vjp and jvp of `f` at `inputs` (float64 arrays) against central finite
/// differences: `jvp(t) ≈ (f(x + h t) - f(x - h t)) / 2h` and `<c, J t> = <vjp(c), t>` for
/// random tangents `t` and cotangent `c`. `tol` is relative to the size of the values.
pub fn check_grads<F>(name: &str, f: F, inputs: &[Array], tol: f64)
where
    F: Fn(&[Array]) -> Result<Array> + Copy,
{
    check_grads_step(name, f, inputs, tol, 1e-6)
}

/// [`check_grads`] with finite-difference step `h`: a large step suits functions that are
/// linear (exact for any step) but computed in float32, where a tiny step drowns in rounding.
pub fn check_grads_step<F>(name: &str, f: F, inputs: &[Array], tol: f64, h: f64)
where
    F: Fn(&[Array]) -> Result<Array> + Copy,
{
    let out = f(inputs).unwrap_or_else(|e| panic!("{name}: forward failed: {e}"));
    let tangents: Vec<Array> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| rand(x.shape(), 1000 + i as u64))
        .collect();
    let cot = rand(out.shape(), 77).astype(out.dtype()).unwrap();

    let (_, jvps) = mx::jvp(f, inputs, &tangents).unwrap_or_else(|e| panic!("{name}: jvp: {e}"));
    let (_, vjps) = mx::vjp(f, inputs, std::slice::from_ref(&cot))
        .unwrap_or_else(|e| panic!("{name}: vjp: {e}"));

    // Finite differences of the directional derivative.
    let shifted = |sign: f64| -> Vec<f64> {
        let xs: Vec<Array> = inputs
            .iter()
            .zip(&tangents)
            .map(|(x, t)| (x + &(t * (sign * h))).astype(x.dtype()).unwrap())
            .collect();
        values(&f(&xs).unwrap())
    };
    let (plus, minus) = (shifted(1.0), shifted(-1.0));
    let fd: Vec<f64> = plus
        .iter()
        .zip(&minus)
        .map(|(p, m)| (p - m) / (2.0 * h))
        .collect();
    let jt = values(&jvps[0]);
    assert_eq!(jt.len(), fd.len(), "{name}: jvp shape");
    let scale = 1.0 + fd.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (a, b)) in jt.iter().zip(&fd).enumerate() {
        assert!(
            (a - b).abs() <= tol * scale,
            "{name}: jvp[{i}] = {a}, finite difference {b}"
        );
    }
    // Dot-product test: <c, J t> == sum_i <vjp_i, t_i>.
    let lhs = dot(&values(&cot), &jt);
    let rhs: f64 = vjps
        .iter()
        .zip(&tangents)
        .map(|(g, t)| {
            assert_eq!(g.shape(), t.shape(), "{name}: vjp shape");
            dot(&values(g), &values(t))
        })
        .sum();
    assert!(
        (lhs - rhs).abs() <= tol * (1.0 + lhs.abs().max(rhs.abs())),
        "{name}: <c, J t> = {lhs} but <J^T c, t> = {rhs}"
    );
}

/// Checks `vmap(f)` over axis `axes[i]` of each input against applying `f` to each slice and
/// stacking the results along axis 0.
pub fn check_vmap<F>(name: &str, f: F, inputs: &[Array], axes: &[Option<isize>], tol: f64)
where
    F: Fn(&[Array]) -> Result<Array> + Copy,
{
    let vf = mx::vmap(f, axes, &[]);
    let got = vf(inputs).unwrap_or_else(|e| panic!("{name}: vmap: {e}"))[0].clone();
    let n = inputs
        .iter()
        .zip(axes)
        .find_map(|(x, a)| a.map(|a| x.dim(a).unwrap()))
        .expect("one mapped input");
    let mut slices = Vec::new();
    for k in 0..n {
        let xs: Vec<Array> = inputs
            .iter()
            .zip(axes)
            .map(|(x, a)| match a {
                Some(a) => mx::take(x, k as isize, Some(*a)).unwrap(),
                None => x.clone(),
            })
            .collect();
        slices.push(f(&xs).unwrap_or_else(|e| panic!("{name}: slice {k}: {e}")));
    }
    let want = mx::stack(&slices, 0).unwrap();
    assert_eq!(got.shape(), want.shape(), "{name}: vmap shape");
    assert_eq!(got.dtype(), want.dtype(), "{name}: vmap dtype");
    let (g, w) = (
        got.astype(mx::float64).unwrap().to_vec::<f64>().unwrap(),
        want.astype(mx::float64).unwrap().to_vec::<f64>().unwrap(),
    );
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = (a - b).abs() <= tol * (1.0 + b.abs()) || (a.is_nan() && b.is_nan()) || a == b;
        assert!(ok, "{name}: vmap[{i}] = {a}, stacked slices give {b}");
    }
}
