//! Replays rmlx-nn golden cases recorded from real MLX 0.32.4 (tools/goldens/nn_golden.py
//! documents the format): parameter trees (keys, shapes, dtypes), printing, outputs and
//! gradients with respect to the trainable parameters and the float inputs.
#![allow(dead_code)]

use rmlx_nn::core::{self as mx, Array, Dtype, tree::Tree};
use rmlx_nn::{Forward, Module};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// The golden file of one family.
pub struct Goldens {
    pub cases: Vec<Value>,
    arrays: HashMap<String, Array>,
}

impl Goldens {
    pub fn load(family: &str) -> Goldens {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join("goldens");
        let json =
            std::fs::read_to_string(dir.join(format!("{family}.json"))).unwrap_or_else(|e| {
                panic!("missing goldens for {family} (run tools/goldens/gen_all.py): {e}")
            });
        let v: Value = serde_json::from_str(&json).expect("golden json");
        let arrays = mx::io::npz::load_npz(dir.join(format!("{family}.npz")))
            .expect("golden npz")
            .into_iter()
            .collect();
        Goldens {
            cases: v["cases"].as_array().expect("cases").clone(),
            arrays,
        }
    }

    /// The array stored under `key` ({"key", "dtype"} or a bare key string), bfloat16 bits
    /// reinterpreted.
    pub fn array(&self, r: &Value) -> Array {
        let (key, dtype) = match r {
            Value::String(k) => (k.as_str(), None),
            _ => (r["key"].as_str().expect("key"), r["dtype"].as_str()),
        };
        let a = self
            .arrays
            .get(key)
            .unwrap_or_else(|| panic!("no array {key}"))
            .clone();
        match dtype {
            Some("bfloat16") => mx::view(&a, mx::bfloat16).expect("bf16 view"),
            _ => a,
        }
    }

    /// The call's inputs (None stays None).
    pub fn inputs(&self, case: &Value) -> Vec<Option<Array>> {
        case["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .map(|r| {
                if r.is_null() {
                    None
                } else {
                    Some(self.array(r))
                }
            })
            .collect()
    }
}

/// A layer built from a case, and how to call it: `call(module, inputs)` → outputs.
pub struct UnderTest {
    pub module: Box<dyn Module>,
    pub call: CallFn,
}

pub type CallFn = Box<dyn Fn(&dyn Module, &[Option<Array>]) -> mx::Result<Vec<Array>>>;

/// A layer called with its one input (`Forward`).
pub fn unary<M: Forward + Clone + 'static>(m: M) -> UnderTest {
    UnderTest {
        module: Box::new(m),
        call: Box::new(|m, xs| {
            let m = m.as_any().downcast_ref::<M>().expect("layer type");
            let x = xs.first().cloned().flatten().expect("one input");
            Ok(vec![m.forward(&x)?])
        }),
    }
}

/// A layer called by `f(layer, inputs)`.
pub fn with_call<M: Module + Clone + 'static>(
    m: M,
    f: impl Fn(&M, &[Option<Array>]) -> mx::Result<Vec<Array>> + 'static,
) -> UnderTest {
    UnderTest {
        module: Box::new(m),
        call: Box::new(move |m, xs| f(m.as_any().downcast_ref::<M>().expect("layer type"), xs)),
    }
}

/// A function case (no module): `f(inputs)`.
pub fn function(f: impl Fn(&[Option<Array>]) -> mx::Result<Vec<Array>> + 'static) -> UnderTest {
    UnderTest {
        module: Box::new(rmlx_nn::Identity::new()),
        call: Box::new(move |_, xs| f(xs)),
    }
}

/// The default float tolerance of a dtype (relative, absolute).
pub fn tolerance(d: Dtype) -> (f64, f64) {
    match d {
        Dtype::Float16 => (2e-3, 2e-3),
        Dtype::Bfloat16 => (2e-2, 2e-2),
        Dtype::Float64 => (1e-10, 1e-10),
        _ => (1e-4, 1e-5),
    }
}

/// Compares `got` with `want`: shape and dtype exactly, values exactly for integers and
/// booleans, within (rtol, atol) for floats (NaNs must agree).
pub fn compare(
    what: &str,
    got: &Array,
    want: &Array,
    tol: Option<(f64, f64)>,
) -> Result<(), String> {
    if got.shape() != want.shape() {
        return Err(format!(
            "{what}: shape {:?}, MLX {:?}",
            got.shape(),
            want.shape()
        ));
    }
    if got.dtype() != want.dtype() {
        return Err(format!(
            "{what}: dtype {:?}, MLX {:?}",
            got.dtype(),
            want.dtype()
        ));
    }
    let (rtol, atol) = tol.unwrap_or_else(|| tolerance(want.dtype()));
    let to64 = |a: &Array| -> Result<Vec<f64>, String> {
        a.astype(mx::float64)
            .and_then(|a| a.to_vec::<f64>())
            .map_err(|e| format!("{what}: {e}"))
    };
    let (g, w) = (to64(got)?, to64(want)?);
    let exact = !want.dtype().is_inexact();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = if exact {
            a == b
        } else if a.is_nan() || b.is_nan() {
            a.is_nan() && b.is_nan()
        } else if a.is_infinite() || b.is_infinite() {
            a == b
        } else {
            (a - b).abs() <= atol + rtol * b.abs()
        };
        if !ok {
            return Err(format!(
                "{what}: element {i}: rmlx {a}, MLX {b} (rtol {rtol}, atol {atol})"
            ));
        }
    }
    Ok(())
}

/// The case's stated tolerance, if any.
pub fn case_tolerance(case: &Value) -> Option<(f64, f64)> {
    match (
        case.get("rtol").and_then(Value::as_f64),
        case.get("atol").and_then(Value::as_f64),
    ) {
        (None, None) => None,
        (r, a) => Some((r.unwrap_or(1e-4), a.unwrap_or(1e-5))),
    }
}

fn shape_of(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect()
}

/// Replays one case; `build` makes the layer from the case (kwargs, call options). Returns
/// the first mismatch.
pub fn check_case(
    g: &Goldens,
    case: &Value,
    build: &dyn Fn(&Value) -> mx::Result<UnderTest>,
) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or("?").to_string();
    let expected_error = case.get("error").and_then(Value::as_str);
    let built = build(case);
    let mut ut = match (built, expected_error) {
        (Ok(ut), _) => ut,
        (Err(_), Some(_)) => return Ok(()),
        (Err(e), None) => return Err(format!("{name}: build failed: {e}")),
    };
    let tol = case_tolerance(case);
    // Layer cases carry a repr (also those without parameters); function cases do not.
    let is_layer = case.get("repr").is_some()
        || case["weights"].as_object().is_some_and(|w| !w.is_empty())
        || !case["params"].as_array().is_some_and(|p| p.is_empty());
    if is_layer {
        // Parameter tree: keys, shapes and dtypes as MLX's (order-insensitive), repr.
        let params = ut
            .module
            .parameters()
            .map_err(|e| format!("{name}: parameters: {e}"))?;
        let mut got: Vec<(String, Vec<usize>, String)> = rmlx_nn::flat_parameters(&params)
            .into_iter()
            .map(|(k, a)| {
                (
                    k,
                    a.shape().to_vec(),
                    format!("{:?}", a.dtype()).to_lowercase(),
                )
            })
            .collect();
        let mut want: Vec<(String, Vec<usize>, String)> = case["params"]
            .as_array()
            .expect("params")
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    shape_of(&p[1]),
                    p[2].as_str().unwrap().to_string(),
                )
            })
            .collect();
        got.sort();
        want.sort();
        if got != want {
            return Err(format!(
                "{name}: parameters\n  rmlx {got:?}\n  MLX  {want:?}"
            ));
        }
        let trainable = ut
            .module
            .trainable_parameters()
            .map_err(|e| format!("{name}: {e}"))?;
        let mut got_t: Vec<String> = rmlx_nn::flat_parameters(&trainable)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut want_t: Vec<String> = case["trainable"]
            .as_array()
            .expect("trainable")
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        got_t.sort();
        want_t.sort();
        if got_t != want_t {
            return Err(format!(
                "{name}: trainable parameters\n  rmlx {got_t:?}\n  MLX  {want_t:?}"
            ));
        }
        if let Some(r) = case.get("repr").and_then(Value::as_str) {
            let ours = ut.module.repr();
            if ours != r {
                return Err(format!("{name}: repr\n  rmlx {ours:?}\n  MLX  {r:?}"));
            }
        }
        // The weights are stored by bare key; their dtypes (bfloat16 is stored as its bits)
        // come from the parameter list.
        let dtypes: HashMap<&str, &str> = case["params"]
            .as_array()
            .expect("params")
            .iter()
            .map(|p| (p[0].as_str().unwrap(), p[2].as_str().unwrap()))
            .collect();
        let weights: Vec<(String, Array)> = case["weights"]
            .as_object()
            .expect("weights")
            .iter()
            .map(|(k, v)| {
                let a = g.array(v);
                let a = if dtypes.get(k.as_str()) == Some(&"bfloat16") {
                    mx::view(&a, mx::bfloat16).expect("bf16 view")
                } else {
                    a
                };
                (k.clone(), a)
            })
            .collect();
        ut.module
            .load_weights_from(weights, true)
            .map_err(|e| format!("{name}: load_weights: {e}"))?;
    }
    ut.module
        .train(case["train"].as_bool().unwrap_or(false))
        .map_err(|e| e.to_string())?;
    let inputs = g.inputs(case);
    let seed = case.get("seed").and_then(Value::as_u64);
    if let Some(s) = seed {
        mx::random::seed(s);
    }
    let outs = (ut.call)(&*ut.module, &inputs).and_then(|o| {
        mx::eval(&o)?;
        Ok(o)
    });
    let outs = match (outs, expected_error) {
        (Err(_), Some(_)) => return Ok(()),
        (Ok(_), Some(e)) => {
            return Err(format!(
                "{name}: MLX raised {e} ({}), rmlx did not",
                case["message"]
            ));
        }
        (Err(e), None) => return Err(format!("{name}: call failed: {e}")),
        (Ok(o), None) => o,
    };
    let want_outs = case["outputs"].as_array().expect("outputs");
    if outs.len() != want_outs.len() {
        return Err(format!(
            "{name}: {} outputs, MLX {}",
            outs.len(),
            want_outs.len()
        ));
    }
    for (i, (o, w)) in outs.iter().zip(want_outs).enumerate() {
        compare(&format!("{name}: output {i}"), o, &g.array(w), tol)?;
    }
    if let Some(grads) = case.get("grads") {
        check_grads(g, case, &ut, &inputs, grads, seed, tol).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn check_grads(
    g: &Goldens,
    case: &Value,
    ut: &UnderTest,
    inputs: &[Option<Array>],
    grads: &Value,
    seed: Option<u64>,
    tol: Option<(f64, f64)>,
) -> Result<(), String> {
    let cots: Vec<Array> = case["cotangents"]
        .as_array()
        .expect("cotangents")
        .iter()
        .map(|c| g.array(c))
        .collect();
    let float_inputs: Vec<usize> = inputs
        .iter()
        .enumerate()
        .filter(|(_, x)| x.as_ref().is_some_and(|x| x.dtype().is_floating()))
        .map(|(i, _)| i)
        .collect();
    let trainable = ut
        .module
        .trainable_parameters()
        .map_err(|e| e.to_string())?;
    let xs = Tree::List(
        float_inputs
            .iter()
            .map(|&i| Tree::from(inputs[i].clone().unwrap()))
            .collect(),
    );
    let loss = |args: &[Tree]| -> mx::Result<Tree> {
        let mut m = ut.module.clone();
        m.update(&args[0], true)?;
        let mut full = inputs.to_vec();
        let Tree::List(xs) = &args[1] else {
            unreachable!()
        };
        for (&i, x) in float_inputs.iter().zip(xs) {
            full[i] = x.as_array().cloned();
        }
        if let Some(s) = seed {
            mx::random::seed(s);
        }
        let outs = (ut.call)(&*m, &full)?;
        let mut total = Array::scalar(0.0f32);
        for (o, c) in outs.iter().zip(&cots) {
            total = mx::add(&total, &mx::sum(&mx::multiply(o, c)?.astype(mx::float32)?)?)?;
        }
        Ok(Tree::from(total))
    };
    let (_, gr) = mx::tree::value_and_grad_tree(loss, &[0, 1])(&[trainable, xs])
        .map_err(|e| format!("grad: {e}"))?;
    let Tree::Tuple(parts) = gr else {
        return Err("grad tree".into());
    };
    let gp: HashMap<String, Array> = rmlx_nn::flat_parameters(&parts[0]).into_iter().collect();
    let want_p = grads["params"].as_object().expect("grad params");
    for (k, v) in want_p {
        let got = gp
            .get(k)
            .ok_or_else(|| format!("no gradient for parameter {k}"))?;
        compare(&format!("grad of {k}"), got, &g.array(v), tol)?;
    }
    if gp.len() != want_p.len() {
        return Err(format!(
            "{} parameter gradients, MLX {}",
            gp.len(),
            want_p.len()
        ));
    }
    let Tree::List(gx) = &parts[1] else {
        return Err("grad of inputs".into());
    };
    let want_x = grads["inputs"].as_array().expect("grad inputs");
    for (&i, got) in float_inputs.iter().zip(gx) {
        if let Some(w) = want_x.get(i).filter(|w| !w.is_null()) {
            compare(
                &format!("grad of input {i}"),
                got.as_array().unwrap(),
                &g.array(w),
                tol,
            )?;
        }
    }
    Ok(())
}

/// Replays every case of a family; panics listing all failures.
pub fn check_family(family: &str, build: &dyn Fn(&Value) -> mx::Result<UnderTest>) {
    let g = Goldens::load(family);
    assert!(!g.cases.is_empty(), "{family}: no cases");
    let failures: Vec<String> = g
        .cases
        .iter()
        .filter_map(|c| check_case(&g, c, build).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{family}: {} of {} cases failed:\n{}",
        failures.len(),
        g.cases.len(),
        failures.join("\n")
    );
}

// Keyword-argument helpers.
pub fn kw_usize(case: &Value, key: &str) -> Option<usize> {
    case["kwargs"]
        .get(key)
        .and_then(Value::as_u64)
        .map(|v| v as usize)
}
pub fn kw_f64(case: &Value, key: &str) -> Option<f64> {
    case["kwargs"].get(key).and_then(Value::as_f64)
}
pub fn kw_bool(case: &Value, key: &str) -> Option<bool> {
    case["kwargs"].get(key).and_then(Value::as_bool)
}
pub fn kw_str<'a>(case: &'a Value, key: &str) -> Option<&'a str> {
    case["kwargs"].get(key).and_then(Value::as_str)
}
pub fn kw_usizes(case: &Value, key: &str) -> Option<Vec<usize>> {
    case["kwargs"].get(key).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_u64().map(|v| v as usize))
            .collect()
    })
}
