//! Complex-input rules as MLX 0.32.4 has them: the vjp of a holomorphic op is the cotangent
//! times the conjugate derivative, `|z|` has a real jvp and a complex vjp, and the tangent of
//! a comparison (or another bool-valued test) is zeros in the tangent's dtype.
use rmlx_core as mx;
use rmlx_core::{Array, C64, Result};

/// Deterministic complex64 values away from 0, 1 and -1 (where some derivatives blow up).
fn cplx(n: usize, seed: u64) -> Array {
    let re = crate::common::rand_vec(n, seed);
    let im = crate::common::rand_vec(n, seed + 7);
    let v: Vec<C64> = re
        .iter()
        .zip(&im)
        .map(|(&r, &i)| C64::new((0.3 + 0.6 * r) as f32, (0.2 + 0.5 * i) as f32))
        .collect();
    Array::from_vec(v)
}

fn c64s(a: &Array) -> Vec<C64> {
    a.to_vec::<C64>().unwrap()
}

fn assert_close(name: &str, got: &Array, want: &Array, tol: f32) {
    assert_eq!(got.dtype(), want.dtype(), "{name}: dtype");
    assert_eq!(got.shape(), want.shape(), "{name}: shape");
    for (i, (g, w)) in c64s(&got.astype(mx::complex64).unwrap())
        .iter()
        .zip(c64s(&want.astype(mx::complex64).unwrap()))
        .enumerate()
    {
        let scale = 1.0 + w.norm();
        assert!((g - w).norm() <= tol * scale, "{name}[{i}]: {g} vs {w}");
    }
}

type Unary = fn(&Array) -> Result<Array>;

/// Each op with its derivative `f'(z)`.
fn holomorphic() -> Vec<(&'static str, Unary, Unary)> {
    vec![
        ("exp", |z| mx::exp(z), |z| mx::exp(z)),
        ("log", |z| mx::log(z), |z| mx::reciprocal(z)),
        (
            "log2",
            |z| mx::log2(z),
            |z| mx::reciprocal(&mx::multiply(z, std::f64::consts::LN_2)?),
        ),
        (
            "log10",
            |z| mx::log10(z),
            |z| mx::reciprocal(&mx::multiply(z, std::f64::consts::LN_10)?),
        ),
        (
            "log1p",
            |z| mx::log1p(z),
            |z| mx::reciprocal(&mx::add(z, 1.0)?),
        ),
        ("sqrt", |z| mx::sqrt(z), |z| mx::divide(0.5, &mx::sqrt(z)?)),
        ("square", |z| mx::square(z), |z| mx::multiply(z, 2.0)),
        ("sin", |z| mx::sin(z), |z| mx::cos(z)),
        ("cos", |z| mx::cos(z), |z| mx::negative(&mx::sin(z)?)),
        (
            "tan",
            |z| mx::tan(z),
            |z| mx::reciprocal(&mx::square(&mx::cos(z)?)?),
        ),
        ("sinh", |z| mx::sinh(z), |z| mx::cosh(z)),
        ("cosh", |z| mx::cosh(z), |z| mx::sinh(z)),
        (
            "tanh",
            |z| mx::tanh(z),
            |z| mx::subtract(1.0, &mx::square(&mx::tanh(z)?)?),
        ),
        (
            "arctan",
            |z| mx::arctan(z),
            |z| mx::reciprocal(&mx::add(&mx::square(z)?, 1.0)?),
        ),
        (
            "reciprocal",
            |z| mx::reciprocal(z),
            |z| mx::negative(&mx::reciprocal(&mx::square(z)?)?),
        ),
    ]
}

#[test]
fn holomorphic_vjp_is_cotangent_times_conjugate_derivative() {
    let z = cplx(12, 1);
    let c = cplx(12, 2);
    for (name, f, d) in holomorphic() {
        let (_, vjps) = mx::vjp(
            |x: &[Array]| f(&x[0]),
            std::slice::from_ref(&z),
            std::slice::from_ref(&c),
        )
        .unwrap();
        let want = mx::multiply(&c, &mx::conjugate(&d(&z).unwrap()).unwrap()).unwrap();
        assert_close(&format!("{name} vjp"), &vjps[0], &want, 1e-5);
        // The jvp has no conjugate.
        let (_, jvps) = mx::jvp(
            |x: &[Array]| f(&x[0]),
            std::slice::from_ref(&z),
            std::slice::from_ref(&c),
        )
        .unwrap();
        let want = mx::multiply(&c, &d(&z).unwrap()).unwrap();
        assert_close(&format!("{name} jvp"), &jvps[0], &want, 1e-5);
    }
}

#[test]
fn complex_division_vjp_conjugates_both_partials() {
    let (a, b, c) = (cplx(6, 3), cplx(6, 4), cplx(6, 5));
    let (_, vjps) = mx::vjp(
        |x: &[Array]| mx::divide(&x[0], &x[1]),
        &[a.clone(), b.clone()],
        std::slice::from_ref(&c),
    )
    .unwrap();
    let da = mx::reciprocal(&b).unwrap();
    let db = mx::negative(&mx::divide(&a, &mx::square(&b).unwrap()).unwrap()).unwrap();
    let want_a = mx::multiply(&c, &mx::conjugate(&da).unwrap()).unwrap();
    let want_b = mx::multiply(&c, &mx::conjugate(&db).unwrap()).unwrap();
    assert_close("divide vjp a", &vjps[0], &want_a, 1e-5);
    assert_close("divide vjp b", &vjps[1], &want_b, 1e-5);
}

#[test]
fn complex_abs_has_a_real_jvp_and_a_complex_vjp() {
    let z = cplx(10, 6);
    let t = cplx(10, 7);
    let (_, jvps) = mx::jvp(
        |x: &[Array]| mx::abs(&x[0]),
        std::slice::from_ref(&z),
        std::slice::from_ref(&t),
    )
    .unwrap();
    assert_eq!(jvps[0].dtype(), mx::float32);
    // d|z| = Re(conj(z) t) / |z|.
    let want = mx::divide(
        &mx::real(&mx::multiply(&mx::conjugate(&z).unwrap(), &t).unwrap()).unwrap(),
        &mx::abs(&z).unwrap(),
    )
    .unwrap();
    assert_close("abs jvp", &jvps[0], &want, 1e-5);
    // The vjp of a real cotangent: cotangent * z / |z|, complex.
    let c = crate::common::rand(&[10], 8).astype(mx::float32).unwrap();
    let (_, vjps) = mx::vjp(
        |x: &[Array]| mx::abs(&x[0]),
        std::slice::from_ref(&z),
        std::slice::from_ref(&c),
    )
    .unwrap();
    assert_eq!(vjps[0].dtype(), mx::complex64);
    let want = mx::multiply(&c, &mx::divide(&z, &mx::abs(&z).unwrap()).unwrap()).unwrap();
    assert_close("abs vjp", &vjps[0], &want, 1e-5);
    // Real inputs keep sign(x) * t.
    crate::common::check_grads(
        "abs real",
        |x| mx::abs(&x[0]),
        &[crate::common::rand(&[7], 9)],
        1e-6,
    );
}

#[test]
fn comparison_tangents_take_the_tangent_dtype() {
    let x = mx::array![1.0f32, -2.0, 3.0];
    let t = mx::ones_like(&x).unwrap();
    type Cmp = fn(&Array) -> Result<Array>;
    let ops: Vec<(&str, Cmp)> = vec![
        ("greater", |x| mx::greater(x, 0.0)),
        ("less", |x| mx::less(x, 0.0)),
        ("equal", |x| mx::equal(x, 0.0)),
        ("not_equal", |x| mx::not_equal(x, 0.0)),
        ("greater_equal", |x| mx::greater_equal(x, 0.0)),
        ("less_equal", |x| mx::less_equal(x, 0.0)),
        ("isnan", |x| mx::isnan(x)),
        ("isinf", |x| mx::isinf(x)),
        ("logical_not", |x| mx::logical_not(&mx::greater(x, 0.0)?)),
    ];
    for (name, f) in ops {
        let (outs, tans) = mx::jvp(
            |a: &[Array]| f(&a[0]),
            std::slice::from_ref(&x),
            std::slice::from_ref(&t),
        )
        .unwrap();
        assert_eq!(outs[0].dtype(), mx::bool_, "{name}");
        assert_eq!(tans[0].dtype(), mx::float32, "{name}");
        assert_eq!(tans[0].shape(), &[3], "{name}");
        assert_eq!(tans[0].to_vec::<f32>().unwrap(), vec![0.0; 3], "{name}");
        // A half-precision tangent stays half precision (MLX: zeros of the tangent's dtype).
        let th = t.astype(mx::float16).unwrap();
        let (_, tans) = mx::jvp(|a: &[Array]| f(&a[0]), std::slice::from_ref(&x), &[th]).unwrap();
        assert_eq!(tans[0].dtype(), mx::float16, "{name}");
    }
    // A broadcasting comparison: the tangent has the output's shape.
    let (_, tans) = mx::jvp(
        |a: &[Array]| mx::greater(&a[0], &mx::zeros(&[2, 3], mx::float32)?),
        std::slice::from_ref(&x),
        std::slice::from_ref(&t),
    )
    .unwrap();
    assert_eq!(tans[0].shape(), &[2, 3]);
    // Downstream ops accept the tangent (a bool tangent used to fail in `negative`).
    let (_, tans) = mx::jvp(
        |a: &[Array]| mx::negative(&mx::greater(&a[0], 0.0)?.astype(mx::float32)?),
        &[x],
        &[t],
    )
    .unwrap();
    assert_eq!(tans[0].dtype(), mx::float32);
}
