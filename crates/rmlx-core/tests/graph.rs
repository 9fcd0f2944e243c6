//! The graph: laziness, iterative eval and drop, memory release, errors, donation.

use rmlx_core as mx;

#[test]
fn nothing_is_computed_before_eval() {
    let a = mx::ones(&[4], mx::float32).unwrap();
    let b = &a + 1.0;
    assert!(!b.is_evaluated());
    assert_eq!(b.primitive_name(), Some("Add"));
    b.eval().unwrap();
    assert!(b.is_evaluated());
    assert!(b.inputs().is_empty(), "the graph is released after eval");
    assert_eq!(b.to_vec::<f32>().unwrap(), vec![2.0; 4]);
}

#[test]
fn a_million_op_chain_evaluates_without_overflowing_the_stack() {
    let mut x = mx::Array::scalar(0i32);
    for _ in 0..1_000_000 {
        x = &x + 1;
    }
    assert_eq!(x.item::<i32>().unwrap(), 1_000_000);
}

#[test]
fn a_million_op_chain_drops_without_overflowing_the_stack() {
    let mut x = mx::Array::scalar(0.0f32);
    for _ in 0..1_000_000 {
        x = mx::exp(&x).unwrap();
    }
    drop(x);
}

#[test]
fn shared_subgraphs_are_computed_once_and_siblings_survive() {
    let a = mx::array![1.0, 2.0];
    let b = mx::exp(&a).unwrap();
    let c = &b + &b;
    let d = &b * 2.0;
    mx::eval([&c, &d]).unwrap();
    assert_eq!(c.to_vec::<f32>().unwrap(), d.to_vec::<f32>().unwrap());
    assert!(b.is_evaluated());
}

#[test]
fn intermediates_are_freed_after_eval() {
    let base = mx::get_active_memory();
    let n = 1 << 20;
    let x = mx::ones(&[n], mx::float32).unwrap();
    let mut y = &x + 1.0;
    for _ in 0..20 {
        y = &y * 1.5;
    }
    y.eval().unwrap();
    // Only `x` and the result stay alive (donation reuses one buffer along the chain); one
    // more buffer's worth of slack for the tests running beside this one.
    assert!(
        mx::get_active_memory() <= base + 3 * 4 * n,
        "{} > {}",
        mx::get_active_memory(),
        base + 3 * 4 * n
    );
    drop(y);
}

#[test]
fn eval_errors_are_reported_not_panicked() {
    let a = mx::zeros(&[2, 3], mx::float32).unwrap();
    let b = mx::zeros(&[4], mx::float32).unwrap();
    let e = mx::add(&a, &b).unwrap_err();
    assert_eq!(e.kind(), mx::ErrorKind::Value);
    assert!(e.to_string().contains("(2,3) and (4)"), "{e}");
}

#[test]
fn async_eval_then_read() {
    let a = mx::exp(&mx::ones(&[1 << 16], mx::float32).unwrap()).unwrap();
    mx::async_eval([&a]).unwrap();
    mx::synchronize(None).unwrap();
    assert!(a.is_evaluated());
    assert!((a.to_vec::<f32>().unwrap()[0] - std::f32::consts::E).abs() < 1e-6);
}

#[test]
fn arrays_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<mx::Array>();
    let a = mx::array![1, 2, 3];
    let h = std::thread::spawn(move || (&a * 2).to_vec::<i32>().unwrap());
    assert_eq!(h.join().unwrap(), vec![2, 4, 6]);
}

#[test]
fn scalars_on_the_left() {
    let x = mx::array![1.0, 2.0];
    let y = 2.0 * &x;
    let z = 1 - &x;
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![2.0, 4.0]);
    assert_eq!(z.to_vec::<f32>().unwrap(), vec![0.0, -1.0]);
}

#[test]
fn a_root_that_feeds_a_later_root_is_computed_first() {
    // eval([b, c]) with c = b + a: b must run before c although both are roots.
    let a = mx::Array::from_vec(vec![1.0f32, 2.0]);
    let b = mx::exp(&a).unwrap();
    let c = &b + &a;
    mx::eval([&b, &c]).unwrap();
    let got = c.to_vec::<f32>().unwrap();
    let want = [1.0f32.exp() + 1.0, 2.0f32.exp() + 2.0];
    assert!(
        got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 1e-5 * w),
        "{got:?} != {want:?}"
    );
}

#[test]
fn not_operator_inverts_bits_and_bools() {
    let x = mx::array![0u8, 5];
    assert_eq!((!&x).to_vec::<u8>().unwrap(), vec![255, 250]);
    let b = mx::array![true, false];
    assert_eq!((!b).to_vec::<bool>().unwrap(), vec![false, true]);
}

#[test]
fn large_binary_outputs_use_streaming_stores_correctly() {
    // Over 8 MB of output takes the non-temporal store path; an odd length makes the workers'
    // chunks start at unaligned addresses, and the chain donates its buffers.
    let n = 3_000_001usize;
    let a = mx::arange(0.0, n as f64, 1.0).unwrap();
    let b = mx::arange_dtype(1.0, 1.0 + n as f64, 1.0, mx::float32).unwrap();
    let c = &(&a + &b) * 2.0 - 1.0;
    let v = c.to_vec::<f32>().unwrap();
    assert_eq!(v.len(), n);
    for i in [
        0usize,
        1,
        2,
        15,
        16,
        17,
        375_000,
        375_001,
        1_000_003,
        n - 2,
        n - 1,
    ] {
        let want = ((i as f32 + (i + 1) as f32) * 2.0) - 1.0;
        assert_eq!(v[i], want, "element {i}");
    }
    let u8s = mx::astype(&mx::arange(0, 9_000_011, 1).unwrap(), mx::uint8).unwrap();
    let s = (&u8s + 1u8).to_vec::<u8>().unwrap();
    assert!(
        s.iter()
            .enumerate()
            .all(|(i, &x)| x == ((i % 256) as u8).wrapping_add(1))
    );
}

#[test]
fn async_eval_inside_a_transform_is_an_error() {
    let f = |x: &[mx::Array]| -> mx::Result<mx::Array> {
        let y = &x[0] + 1.0;
        mx::async_eval([&y])?;
        mx::exp(&y)
    };
    let x = mx::array![1.0f32];
    let err = mx::grad(f, 0)(std::slice::from_ref(&x)).unwrap_err();
    assert_eq!(err.kind(), mx::ErrorKind::Value);
    assert!(err.to_string().contains("[async_eval]"), "{err}");
    // Outside a transform the same function runs.
    assert!(f(std::slice::from_ref(&x)).is_ok());
}
