//! Binary and ternary elementwise ops against MLX 0.32.4 (tools/goldens/gen_binary.py): the
//! common cases, and the sweep of result dtypes, errors and values over dtype pairs and weak
//! scalars.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Dtype, Operand, Scalar};
use serde_json::Value;

/// Runs the binary op `op` (by MLX name) on two operands; `divmod` gives two outputs.
fn run_binary(op: &str, a: Operand, b: Operand) -> mx::Result<Vec<Array>> {
    let one = |r: mx::Result<Array>| r.map(|x| vec![x]);
    match op {
        "add" => one(mx::add(a, b)),
        "subtract" => one(mx::subtract(a, b)),
        "multiply" => one(mx::multiply(a, b)),
        "divide" => one(mx::divide(a, b)),
        "floor_divide" => one(mx::floor_divide(a, b)),
        "remainder" => one(mx::remainder(a, b)),
        "divmod" => mx::divmod(a, b).map(|(q, r)| vec![q, r]),
        "power" => one(mx::power(a, b)),
        "maximum" => one(mx::maximum(a, b)),
        "minimum" => one(mx::minimum(a, b)),
        "arctan2" => one(mx::arctan2(a, b)),
        "logaddexp" => one(mx::logaddexp(a, b)),
        "equal" => one(mx::equal(a, b)),
        "not_equal" => one(mx::not_equal(a, b)),
        "greater" => one(mx::greater(a, b)),
        "greater_equal" => one(mx::greater_equal(a, b)),
        "less" => one(mx::less(a, b)),
        "less_equal" => one(mx::less_equal(a, b)),
        "logical_and" => one(mx::logical_and(a, b)),
        "logical_or" => one(mx::logical_or(a, b)),
        "logical_xor" => one(mx::logical_xor(a, b)),
        "bitwise_and" => one(mx::bitwise_and(a, b)),
        "bitwise_or" => one(mx::bitwise_or(a, b)),
        "bitwise_xor" => one(mx::bitwise_xor(a, b)),
        "left_shift" => one(mx::left_shift(a, b)),
        "right_shift" => one(mx::right_shift(a, b)),
        _ => panic!("unknown op {op}"),
    }
}

fn dispatch(op: &str, ins: &[Operand], kw: &Value) -> mx::Result<Vec<Array>> {
    match op {
        "where" => Ok(vec![mx::r#where(
            ins[0].clone(),
            ins[1].clone(),
            ins[2].clone(),
        )?]),
        "clip" => {
            let mut rest = ins[1..].iter().cloned();
            let lo = if kw_bool(kw, "min").unwrap() {
                rest.next()
            } else {
                None
            };
            let hi = if kw_bool(kw, "max").unwrap() {
                rest.next()
            } else {
                None
            };
            Ok(vec![mx::clip(ins[0].clone(), lo, hi)?])
        }
        _ => run_binary(op, ins[0].clone(), ins[1].clone()),
    }
}

#[test]
fn binary_cases_match_mlx() {
    check_family("binary", dispatch);
}

/// A sweep operand: a sample array of the side (`a` or `b`) by dtype name, or a weak scalar
/// written `kind:value`.
fn sweep_operand(g: &Goldens, side: &Value, tok: &str) -> Operand {
    if let Some(r) = side.get(tok) {
        return Operand::Array(g.array(r));
    }
    let mut parts = tok.split(':');
    let s = match (parts.next().unwrap(), parts.next()) {
        ("int", Some(v)) => Scalar::Int(v.parse().unwrap()),
        ("float", Some(v)) => Scalar::Float(v.parse().unwrap()),
        ("bool", Some(v)) => Scalar::Bool(v == "true"),
        ("complex", Some(re)) => Scalar::Complex(mx::C64::new(
            re.parse().unwrap(),
            parts.next().unwrap().parse().unwrap(),
        )),
        (k, _) => panic!("unknown sweep token kind {k}"),
    };
    Operand::Scalar(s)
}

#[test]
fn binary_sweep_matches_mlx() {
    let g = Goldens::load("binary");
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/goldens/binary.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&json).unwrap();
    let sw = &doc["sweep"];
    let tokens: Vec<&str> = sw["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let results: Vec<&str> = sw["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    // Expected values: one stream per dtype, the outputs of that dtype in entry order.
    let streams: std::collections::HashMap<Dtype, Array> = sw["streams"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, r)| (Dtype::from_name(name).unwrap(), g.array(r)))
        .collect();
    let mut cursors: std::collections::HashMap<Dtype, usize> = std::collections::HashMap::new();
    let mut failures = Vec::new();
    let mut count = 0;
    for group in sw["entries"].as_array().unwrap() {
        let op = group[0].as_str().unwrap();
        for e in group[1].as_array().unwrap() {
            count += 1;
            let (ta, tb) = (
                tokens[e[0].as_u64().unwrap() as usize],
                tokens[e[1].as_u64().unwrap() as usize],
            );
            let want = results[e[2].as_u64().unwrap() as usize];
            let what = format!("{op}({ta}, {tb})");
            let got = run_binary(
                op,
                sweep_operand(&g, &sw["a"], ta),
                sweep_operand(&g, &sw["b"], tb),
            )
            .and_then(|outs| mx::eval(outs.iter()).map(|_| outs));
            if let Some(exc) = want.strip_prefix('!') {
                match got {
                    Ok(_) => failures.push(format!("{what}: expected {exc}, got success")),
                    Err(e) if exception_name(e.kind()) != exc => {
                        failures.push(format!("{what}: expected {exc}, got {:?}: {e}", e.kind()))
                    }
                    Err(_) => {}
                }
                continue;
            }
            let dtypes: Vec<Dtype> = want
                .split(',')
                .map(|d| Dtype::from_name(d).unwrap())
                .collect();
            let outs = match got {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{what}: unexpected error {e}"));
                    // The stream position is lost with this entry's outputs: stop here.
                    break;
                }
            };
            if outs.len() != dtypes.len() {
                failures.push(format!(
                    "{what}: {} outputs, expected {}",
                    outs.len(),
                    dtypes.len()
                ));
                break;
            }
            for (o, &d) in outs.iter().zip(&dtypes) {
                // The expected values: the next `size` elements of the dtype's stream.
                let stream = &streams[&d];
                let at = cursors.entry(d).or_insert(0);
                let strides = mx::array::row_major_strides(o.shape());
                let want = mx::as_strided(stream, o.shape(), &strides, *at).unwrap();
                *at += o.size();
                if o.dtype() != d {
                    failures.push(format!("{what}: dtype {} != {d}", o.dtype()));
                } else if let Err(msg) = compare(o, &want, None, None) {
                    failures.push(format!("{what}: {msg}"));
                }
            }
        }
    }
    for (d, stream) in &streams {
        assert_eq!(
            cursors.get(d).copied().unwrap_or(0),
            stream.size(),
            "{d} stream not consumed\n{}",
            failures.join("\n")
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {count} sweep entries disagree with MLX:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn operators_call_the_ops() {
    let a = mx::array![5, -5, 12];
    assert_eq!((&a % 3).to_vec::<i32>().unwrap(), vec![2, 1, 0]);
    assert_eq!((a.clone() % -3).to_vec::<i32>().unwrap(), vec![-1, -2, 0]);
    assert_eq!((7 % &a).to_vec::<i32>().unwrap(), vec![2, -3, 7]);
    assert_eq!((&a & 6).to_vec::<i32>().unwrap(), vec![4, 2, 4]);
    assert_eq!((&a | 1).to_vec::<i32>().unwrap(), vec![5, -5, 13]);
    assert_eq!((&a ^ &a).to_vec::<i32>().unwrap(), vec![0, 0, 0]);
    assert_eq!((&a << 2).to_vec::<i32>().unwrap(), vec![20, -20, 48]);
    assert_eq!((&a >> 1).to_vec::<i32>().unwrap(), vec![2, -3, 6]);
    assert_eq!(
        (1 << &mx::array![0, 3]).to_vec::<i32>().unwrap(),
        vec![1, 8]
    );
    let t = mx::array![true, true, false];
    let f = mx::array![true, false, false];
    assert_eq!(
        (&t & &f).to_vec::<bool>().unwrap(),
        vec![true, false, false]
    );
    assert_eq!((&t | &f).dtype(), mx::bool_);
    assert_eq!(
        (true ^ &f).to_vec::<bool>().unwrap(),
        vec![false, true, true]
    );
    assert_eq!(
        (2.5 % &mx::array![2.0, -2.0]).to_vec::<f32>().unwrap(),
        vec![0.5, -1.5]
    );
}

#[test]
fn operators_panic_with_the_ops_message() {
    let u = mx::array![1u8, 2];
    let msg = std::panic::catch_unwind(|| &u + 300).unwrap_err();
    assert!(msg.downcast_ref::<String>().unwrap().contains("overflow"));
    let x = mx::array![1.0, 2.0];
    let msg = std::panic::catch_unwind(|| &x & 1).unwrap_err();
    assert!(
        msg.downcast_ref::<String>()
            .unwrap()
            .contains("[bitwise_and]")
    );
}

#[test]
fn methods_and_aliases() {
    let a = mx::array![1, 2, 3];
    assert_eq!(
        a.equal(2).unwrap().to_vec::<bool>().unwrap(),
        vec![false, true, false]
    );
    assert_eq!(
        a.not_equal(2).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, true]
    );
    assert_eq!(
        a.greater(2).unwrap().to_vec::<bool>().unwrap(),
        vec![false, false, true]
    );
    assert_eq!(
        a.greater_equal(2).unwrap().to_vec::<bool>().unwrap(),
        vec![false, true, true]
    );
    assert_eq!(
        a.less_equal(2).unwrap().to_vec::<bool>().unwrap(),
        vec![true, true, false]
    );
    assert_eq!(
        a.maximum(2).unwrap().to_vec::<i32>().unwrap(),
        vec![2, 2, 3]
    );
    assert_eq!(
        a.minimum(2).unwrap().to_vec::<i32>().unwrap(),
        vec![1, 2, 2]
    );
    assert_eq!(a.power(2).unwrap().to_vec::<i32>().unwrap(), vec![1, 4, 9]);
    assert_eq!(
        a.logical_and(0).unwrap().to_vec::<bool>().unwrap(),
        vec![false; 3]
    );
    assert_eq!(
        a.logical_or(0).unwrap().to_vec::<bool>().unwrap(),
        vec![true; 3]
    );
    assert_eq!(
        a.clip(Some(2), None::<i32>)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![2, 2, 3]
    );
    assert_eq!(
        mx::pow(&a, 3).unwrap().to_vec::<i32>().unwrap(),
        vec![1, 8, 27]
    );
    assert_eq!(
        mx::atan2(1.0, 1.0).unwrap().item::<f32>().unwrap(),
        std::f32::consts::FRAC_PI_4
    );
    assert_eq!(
        mx::bitwise_left_shift(&a, 1)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![2, 4, 6]
    );
    assert_eq!(
        mx::bitwise_right_shift(&a, 1)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![0, 1, 1]
    );
    assert_eq!(
        mx::where_(a.greater(1).unwrap(), &a, 0)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![0, 2, 3]
    );
    assert_eq!(mx::add(2, mx::array![1u8]).unwrap().dtype(), mx::uint8);
    assert_eq!(mx::equal(&a, &a).unwrap().primitive_name(), Some("Equal"));
    assert_eq!(
        mx::r#where(true, 1, 2).unwrap().primitive_name(),
        Some("Select")
    );
}

#[test]
fn divmod_outputs_survive_donation_and_are_siblings() {
    // The inputs are owned only by the node, so a kernel could donate them: the second output
    // must still see them.
    let n = 100_000;
    let (q, r) = mx::divmod(
        mx::arange(-50_000.0, 50_000.0, 1.0)
            .unwrap()
            .astype(mx::int32)
            .unwrap(),
        7,
    )
    .unwrap();
    mx::eval([&q, &r]).unwrap();
    let (q, r) = (q.to_vec::<i32>().unwrap(), r.to_vec::<i32>().unwrap());
    for i in 0..n {
        let x = i as i32 - 50_000;
        assert_eq!((q[i], r[i]), (x.div_euclid(7), x.rem_euclid(7)), "{x}");
    }
    // Evaluating one output computes the other.
    let (q, r) = mx::divmod(mx::array![7.5, -7.5], 2.0).unwrap();
    q.eval().unwrap();
    assert!(r.is_evaluated());
    assert_eq!(r.to_vec::<f32>().unwrap(), vec![1.5, 0.5]);
}

#[test]
fn large_inputs_take_the_parallel_paths() {
    let n = 300;
    let a = mx::arange(0.0, (n * n) as f64, 1.0)
        .unwrap()
        .reshape([n as i64, n as i64])
        .unwrap();
    let a = mx::remainder(&a, 97.0).unwrap();
    let b = mx::arange(0.0, n as f64, 1.0).unwrap();
    let m = mx::maximum(&a, &b).unwrap().to_vec::<f32>().unwrap();
    let lt = mx::less(a.T(), &b).unwrap().to_vec::<bool>().unwrap();
    let w = mx::r#where(mx::greater(&a, 50.0).unwrap(), &a, -1.0)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    for i in 0..n {
        for j in 0..n {
            let v = ((i * n + j) % 97) as f32;
            let vt = ((j * n + i) % 97) as f32;
            assert_eq!(m[i * n + j], v.max(j as f32));
            assert_eq!(lt[i * n + j], vt < j as f32);
            assert_eq!(w[i * n + j], if v > 50.0 { v } else { -1.0 });
        }
    }
    let s = (mx::arange(0.0, 200_000.0, 1.0)
        .unwrap()
        .astype(mx::uint8)
        .unwrap()
        << 1)
        .to_vec::<u8>()
        .unwrap();
    assert!(
        s.iter()
            .enumerate()
            .all(|(i, &v)| v == ((i % 256) as u8).wrapping_shl(1))
    );
}
