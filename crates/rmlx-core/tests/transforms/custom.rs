//! custom_function (user vjp, jvp, vmap and the defaults through the plain function),
//! custom_vjp, checkpoint and depends.

use crate::common::{check_grads, check_vmap, rand};
use rmlx_core as mx;
use rmlx_core::{Array, Result};

fn v(a: &Array) -> Vec<f64> {
    a.astype(mx::float64).unwrap().to_vec::<f64>().unwrap()
}

fn close(a: &Array, b: &Array) {
    let (a, b) = (v(a), v(b));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-9 * (1.0 + y.abs()), "{x} vs {y}");
    }
}

/// x * sin(y): two inputs, for argnums.
fn plain(x: &[Array]) -> Result<Vec<Array>> {
    Ok(vec![mx::multiply(&x[0], &mx::sin(&x[1])?)?])
}

#[test]
fn the_user_vjp_replaces_the_gradient() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    // A vjp that scales the true gradient by 3, so using it is visible.
    let f = mx::custom_function(plain).with_vjp(move |p, c, o| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(o.len(), 1, "the outputs are passed to the vjp");
        Ok(vec![
            mx::multiply(&mx::multiply(&c[0], &mx::sin(&p[1])?)?, 3.0)?,
            mx::multiply(
                &mx::multiply(&c[0], &mx::multiply(&p[0], &mx::cos(&p[1])?)?)?,
                3.0,
            )?,
        ])
    });
    let (x, y) = (rand(&[3, 2], 1), rand(&[3, 2], 2));
    let f2 = f.clone();
    let loss = move |a: &[Array]| mx::sum(&f2.call(a)?[0]);
    let g = mx::grad(loss, [0, 1])(&[x.clone(), y.clone()]).unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    let want =
        mx::grad(|a: &[Array]| mx::sum(&plain(a)?[0]), [0, 1])(&[x.clone(), y.clone()]).unwrap();
    close(&g[0], &mx::multiply(&want[0], 3.0).unwrap());
    close(&g[1], &mx::multiply(&want[1], 3.0).unwrap());
    // The forward value is the plain function's.
    close(
        &f.call(&[x.clone(), y.clone()]).unwrap()[0],
        &plain(&[x, y]).unwrap()[0],
    );
}

#[test]
fn rules_not_given_come_from_the_plain_function() {
    // Only a vmap is custom: vjp and jvp are the plain function's, checked numerically.
    let f = mx::custom_function(plain).with_vmap(|xs, axes| {
        let out = mx::vmap(
            plain,
            &[axes[0].map(|a| a as isize), axes[1].map(|a| a as isize)],
            &[Some(0)],
        )(xs)?;
        Ok((out, vec![Some(0)]))
    });
    static F: std::sync::OnceLock<mx::CustomFunction> = std::sync::OnceLock::new();
    F.set(f).ok();
    let call = |a: &[Array]| Ok(F.get().unwrap().call(a)?.remove(0));
    check_grads(
        "custom default vjp/jvp",
        call,
        &[rand(&[4], 3), rand(&[4], 4)],
        1e-6,
    );
    check_vmap(
        "custom vmap",
        call,
        &[rand(&[3, 4], 5), rand(&[4], 6)],
        &[Some(0), None],
        1e-12,
    );

    // Only a vjp is custom: vmap comes from the plain function, over any axis.
    let g = mx::custom_function(plain).with_vjp(|_, c, _| Ok(vec![c[0].clone(), c[0].clone()]));
    let out = mx::vmap(
        move |a: &[Array]| g.call(a),
        &[Some(1), Some(1)],
        &[Some(0)],
    )(&[rand(&[4, 3], 7), rand(&[4, 3], 8)])
    .unwrap();
    let want = plain(&[
        rand(&[4, 3], 7).transpose().unwrap(),
        rand(&[4, 3], 8).transpose().unwrap(),
    ])
    .unwrap();
    close(&out[0], &want[0]);
}

#[test]
fn the_user_jvp_and_vmap_are_used_with_argnums() {
    // jvp: records which arguments carry tangents.
    let f = mx::custom_function(plain).with_jvp(|p, t, argnums| {
        assert_eq!(argnums, &[1], "only y carries a tangent");
        Ok(vec![mx::multiply(
            &mx::multiply(&t[0], &mx::cos(&p[1])?)?,
            &p[0],
        )?])
    });
    let (x, y) = (rand(&[5], 9), rand(&[5], 10));
    // Tangent for y only: x enters as a closed-over constant.
    let xc = x.clone();
    let (_, t) = mx::jvp(
        move |a: &[Array]| f.call(&[xc.clone(), a[0].clone()]),
        std::slice::from_ref(&y),
        &[mx::ones_like(&y).unwrap()],
    )
    .unwrap();
    close(&t[0], &mx::multiply(&x, &mx::cos(&y).unwrap()).unwrap());

    // vmap: a rule that reports the axes it was given and returns batch-last outputs.
    let h = mx::custom_function(|x: &[Array]| mx::exp(&x[0])).with_vmap(|xs, axes| {
        assert_eq!(axes, &[Some(0)]);
        let out = mx::moveaxis(&mx::exp(&xs[0])?, 0, -1)?;
        let last = out.ndim() - 1;
        Ok((vec![out], vec![Some(last)]))
    });
    let x = rand(&[3, 2], 11);
    let out =
        mx::vmap(move |a: &[Array]| h.call(a), &[Some(0)], &[Some(0)])(std::slice::from_ref(&x))
            .unwrap();
    close(&out[0], &mx::exp(&x).unwrap());
}

#[test]
fn custom_rules_nest_and_compile() {
    // grad of grad: the user's vjp is made of ops, so it is differentiated in turn.
    let cube = mx::custom_vjp(
        |x: &[Array]| mx::multiply(&mx::square(&x[0])?, &x[0]),
        |p, c, _| {
            Ok(vec![mx::multiply(
                &mx::multiply(&mx::square(&p[0])?, 3.0)?,
                &c[0],
            )?])
        },
    );
    let d1 = move |x: &[Array]| -> Result<Array> { mx::sum(&cube(x)?[0]) };
    let d2 = mx::grad(move |x: &[Array]| mx::sum(&mx::grad(&d1, 0)(x)?[0]), 0);
    let x = mx::array![1.0f64, -2.0];
    close(
        &d2(std::slice::from_ref(&x)).unwrap()[0],
        &mx::multiply(&x, 6.0).unwrap(),
    );

    // A compiled custom function keeps its rule.
    let ste = mx::custom_vjp(
        |x: &[Array]| mx::round(&x[0]),
        |_, c, _| Ok(vec![c[0].clone()]),
    );
    let compiled = mx::compile(move |x: &[Array]| mx::sum(&ste(x)?[0]));
    let g = mx::grad(compiled, 0)(&[mx::array![0.2f32, 2.6]]).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
}

#[test]
fn custom_function_errors() {
    // A vjp returning the wrong number of cotangents is an error, not a panic.
    let f = mx::custom_function(plain).with_vjp(|_, c, _| Ok(vec![c[0].clone()]));
    let err =
        mx::grad(move |a: &[Array]| mx::sum(&f.call(a)?[0]), 0)(&[rand(&[2], 1), rand(&[2], 2)])
            .unwrap_err();
    assert!(
        err.to_string()
            .contains("custom vjp returned 1 arrays but 2"),
        "{err}"
    );
    // A function with no outputs.
    let g =
        mx::custom_function(|_: &[Array]| Ok(Vec::<Array>::new())).with_vjp(|_, _, _| Ok(vec![]));
    assert!(g.call(&[rand(&[2], 1)]).is_err());
}

#[test]
fn checkpoint_gives_the_plain_gradient() {
    let block =
        |x: &[Array]| -> Result<Array> { mx::tanh(&mx::multiply(&mx::sin(&x[0])?, &x[1])?) };
    let ck = mx::checkpoint(block);
    type Boxed = Box<dyn Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync>;
    static CK: std::sync::OnceLock<Boxed> = std::sync::OnceLock::new();
    CK.set(Box::new(ck)).ok();
    let f = |x: &[Array]| Ok(CK.get().unwrap()(x)?.remove(0));
    check_grads(
        "checkpoint",
        f,
        &[rand(&[3, 4], 12), rand(&[3, 4], 13)],
        1e-6,
    );
    let (x, y) = (rand(&[3, 4], 14), rand(&[3, 4], 15));
    let want =
        mx::grad(move |a: &[Array]| mx::sum(&block(a)?), [0, 1])(&[x.clone(), y.clone()]).unwrap();
    let got = mx::grad(move |a: &[Array]| mx::sum(&f(a)?), [0, 1])(&[x, y]).unwrap();
    close(&got[0], &want[0]);
    close(&got[1], &want[1]);
}

#[test]
fn depends_orders_without_changing_values_or_gradients() {
    let a = rand(&[4], 16);
    let dep = mx::exp(&rand(&[4], 17)).unwrap();
    let out = mx::depends(std::slice::from_ref(&a), std::slice::from_ref(&dep)).unwrap();
    out[0].eval().unwrap();
    assert!(
        dep.is_evaluated(),
        "evaluating the output evaluated the dependency"
    );
    close(&out[0], &a);
    // Gradients flow to the inputs, not to the dependencies.
    let g = mx::grad(
        |x: &[Array]| {
            let d = mx::depends(&[x[0].clone()], &[mx::exp(&x[1])?])?;
            mx::sum(&mx::multiply(&d[0], 2.0)?)
        },
        [0, 1],
    )(&[rand(&[3], 18), rand(&[3], 19)])
    .unwrap();
    assert_eq!(v(&g[0]), vec![2.0; 3]);
    assert_eq!(v(&g[1]), vec![0.0; 3]);
    assert!(mx::depends(&[], &[a]).unwrap().is_empty());
}
