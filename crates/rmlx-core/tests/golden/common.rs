//! Replays golden cases recorded from real MLX 0.32.4 (tools/goldens/golden.py documents the
//! format) through rmlx and compares: integers, bools, shapes, dtypes and errors exactly;
//! floats within a tolerance (per dtype, or the case's own with the reason it records).
#![allow(dead_code)]

use rmlx_core as mx;
use rmlx_core::{Array, Dtype, Operand, Scalar};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// Loaded golden file of one family.
pub struct Goldens {
    pub cases: Vec<Value>,
    arrays: HashMap<String, Array>,
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("goldens")
}

impl Goldens {
    pub fn load(family: &str) -> Goldens {
        let dir = golden_dir();
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

    /// The stored array `r` ({"key", "dtype"}), reinterpreting bfloat16 bits.
    pub fn array(&self, r: &Value) -> Array {
        let key = r["key"].as_str().expect("key");
        let mut a = self
            .arrays
            .get(key)
            .unwrap_or_else(|| panic!("no array {key}"))
            .clone();
        // A packed reference: elements `offset..offset + size` of a 1-D stream, with a shape.
        if let (Some(off), Some(shape)) = (r.get("offset"), r.get("shape")) {
            let off = off.as_u64().expect("offset") as usize;
            let shape: Vec<usize> = shape
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let strides = mx::array::row_major_strides(&shape);
            a = mx::as_strided(&a, &shape, &strides, off).expect("packed slice");
        }
        let dtype = Dtype::from_name(r["dtype"].as_str().expect("dtype")).expect("dtype name");
        if dtype == Dtype::Bfloat16 {
            let bits = a.to_vec::<u16>().expect("bits");
            let bytes: Vec<u8> = bits.iter().flat_map(|b| b.to_le_bytes()).collect();
            return mx::io::npy::from_bytes(&bytes, a.shape(), Dtype::Bfloat16).expect("bf16");
        }
        assert_eq!(a.dtype(), dtype, "stored dtype of {key}");
        a
    }

    /// An input of a case: an array with its view applied, or a weak scalar.
    pub fn input(&self, r: &Value) -> Operand {
        if let Some(v) = r.get("scalar") {
            let s = match r["kind"].as_str().expect("kind") {
                "bool" => Scalar::Bool(v.as_bool().expect("bool")),
                // Beyond u64 (Python ints are unbounded) JSON gives a float; 2^64 and the like
                // are exact there.
                "int" => Scalar::Int(v.as_i64().map(i128::from).unwrap_or_else(|| {
                    v.as_u64()
                        .map(i128::from)
                        .unwrap_or_else(|| v.as_f64().expect("int") as i128)
                })),
                "float" => Scalar::Float(
                    v.as_f64()
                        .unwrap_or_else(|| v.as_str().expect("float").parse().expect("nan/inf")),
                ),
                "complex" => Scalar::Complex(mx::C64::new(
                    v[0].as_f64().unwrap() as f32,
                    v[1].as_f64().unwrap() as f32,
                )),
                k => panic!("unknown scalar kind {k}"),
            };
            return Operand::Scalar(s);
        }
        let base = self.array(r);
        Operand::Array(match r.get("view") {
            None => base,
            Some(v) => apply_view(&base, v),
        })
    }
}

/// Builds the non-contiguous view the generator applied (transpose, step 2, reverse, broadcast).
pub fn apply_view(base: &Array, v: &Value) -> Array {
    let nd = base.ndim();
    let strides = mx::array::row_major_strides(base.shape());
    let axis = |v: &Value| {
        let a = v["axis"].as_i64().expect("axis");
        if a < 0 {
            (a + nd as i64) as usize
        } else {
            a as usize
        }
    };
    match v["kind"].as_str().expect("view kind") {
        "transpose" => base.T(),
        "step" => {
            let ax = axis(v);
            let mut shape = base.shape().to_vec();
            shape[ax] = shape[ax].div_ceil(2);
            let mut st = strides.clone();
            st[ax] *= 2;
            mx::as_strided(base, &shape, &st, 0).expect("step view")
        }
        "reverse" => {
            let ax = axis(v);
            let mut st = strides.clone();
            let offset = if base.shape()[ax] == 0 {
                0
            } else {
                (base.shape()[ax] - 1) * strides[ax] as usize
            };
            st[ax] = -st[ax];
            mx::as_strided(base, base.shape(), &st, offset).expect("reverse view")
        }
        "broadcast" => {
            let shape: Vec<usize> = v["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            mx::broadcast_to(base, &shape).expect("broadcast view")
        }
        k => panic!("unknown view {k}"),
    }
}

/// The MLX exception class an rmlx error kind stands for.
pub fn exception_name(kind: mx::ErrorKind) -> &'static str {
    match kind {
        mx::ErrorKind::Value => "ValueError",
        mx::ErrorKind::Type => "TypeError",
        mx::ErrorKind::Index => "IndexError",
        mx::ErrorKind::Runtime => "RuntimeError",
        mx::ErrorKind::Overflow => "OverflowError",
        mx::ErrorKind::Key => "KeyError",
    }
}

fn default_tolerance(d: Dtype) -> (f64, f64) {
    match d {
        // MLX computes float64 transcendentals with float32-accurate polynomials (exp is off
        // by about 1e-7 relative), so float64 is held to what MLX actually delivers.
        Dtype::Float64 => (1e-6, 1e-9),
        Dtype::Float32 | Dtype::Complex64 => (1e-5, 1e-6),
        Dtype::Float16 => (1e-3, 1e-3),
        Dtype::Bfloat16 => (1e-2, 1e-2),
        _ => (0.0, 0.0),
    }
}

fn close(a: f64, b: f64, rtol: f64, atol: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= atol + rtol * b.abs()
}

/// Compares one output; returns a description of the first mismatch.
pub fn compare(
    got: &Array,
    want: &Array,
    rtol: Option<f64>,
    atol: Option<f64>,
) -> Result<(), String> {
    if got.dtype() != want.dtype() {
        return Err(format!("dtype {} != {}", got.dtype(), want.dtype()));
    }
    if got.shape() != want.shape() {
        return Err(format!("shape {:?} != {:?}", got.shape(), want.shape()));
    }
    let d = want.dtype();
    if d.is_inexact() {
        let (r0, a0) = default_tolerance(d);
        let (rtol, atol) = (rtol.unwrap_or(r0), atol.unwrap_or(a0));
        let g = got.to_vec::<mx::C64>().map_err(|e| e.to_string())?;
        let w = want.to_vec::<mx::C64>().map_err(|e| e.to_string())?;
        // f64 data compared in f64 (the C64 hub would round it to f32).
        let (g64, w64) = if d == Dtype::Float64 {
            (got.to_vec::<f64>().unwrap(), want.to_vec::<f64>().unwrap())
        } else {
            (
                g.iter().map(|c| c.re as f64).collect(),
                w.iter().map(|c| c.re as f64).collect(),
            )
        };
        for i in 0..w.len() {
            let ok = close(g64[i], w64[i], rtol, atol)
                && close(g[i].im as f64, w[i].im as f64, rtol, atol);
            if !ok {
                return Err(format!(
                    "element {i}: got {:?} want {:?} (rtol {rtol}, atol {atol})",
                    g[i], w[i]
                ));
            }
        }
    } else {
        let r: mx::Result<Option<String>> = mx::dispatch_dtype!(d, T => (|| {
            let g = got.to_vec::<T>()?;
            let w = want.to_vec::<T>()?;
            Ok((0..w.len()).find(|&i| g[i] != w[i]).map(|i| format!("element {i}: got {:?} want {:?}", g[i], w[i])))
        })());
        match r {
            Ok(Some(msg)) => return Err(msg),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// Runs every case of `family` through `dispatch(op, inputs, kwargs)` and panics with a list of
/// the cases that disagree with MLX.
pub fn check_family(
    family: &str,
    dispatch: impl Fn(&str, &[Operand], &Value) -> mx::Result<Vec<Array>>,
) {
    let g = Goldens::load(family);
    let mut failures = Vec::new();
    for case in &g.cases {
        if is_value_case(case) {
            continue; // checked by `check_values`
        }
        let name = case["name"].as_str().unwrap_or("?");
        let op = case["op"].as_str().expect("op");
        let inputs: Vec<Operand> = case["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| g.input(r))
            .collect();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            dispatch(op, &inputs, &case["kwargs"]).and_then(|outs| {
                mx::eval(outs.iter())?;
                Ok(outs)
            })
        }));
        let result = match result {
            Ok(r) => r,
            Err(_) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
        };
        match (case.get("error"), result) {
            (Some(err), Ok(_)) => failures.push(format!("{name}: expected {err}, got success")),
            (Some(err), Err(e)) => {
                if exception_name(e.kind()) != err.as_str().unwrap() {
                    failures.push(format!("{name}: expected {err}, got {:?}: {e}", e.kind()));
                }
            }
            (None, Err(e)) => failures.push(format!("{name}: unexpected error {e}")),
            (None, Ok(outs)) => {
                let want = case["outputs"].as_array().unwrap();
                if outs.len() != want.len() {
                    failures.push(format!(
                        "{name}: {} outputs, expected {}",
                        outs.len(),
                        want.len()
                    ));
                    continue;
                }
                let rtol = case.get("rtol").and_then(Value::as_f64);
                let atol = case.get("atol").and_then(Value::as_f64);
                for (k, (o, w)) in outs.iter().zip(want).enumerate() {
                    if let Err(msg) = compare(o, &g.array(w), rtol, atol) {
                        failures.push(format!("{name} (op {op}) output {k}: {msg}"));
                    }
                }
                // The same case exported to bytes and imported back must agree too.
                if let Some(exported) = run_exported(&dispatch, op, &inputs, &case["kwargs"]) {
                    match exported {
                        Err(e) => failures.push(format!("{name} (op {op}) exported: {e}")),
                        Ok(couts) => {
                            for (k, (o, w)) in couts.iter().zip(want).enumerate() {
                                if let Err(msg) = compare(o, &g.array(w), rtol, atol) {
                                    failures.push(format!(
                                        "{name} (op {op}) exported output {k}: {msg}"
                                    ));
                                }
                            }
                        }
                    }
                }
                // The same case through `compile` (traced on arrays without data, simplified,
                // fused) must agree too.
                if let Some(compiled) = run_compiled(&dispatch, op, &inputs, &case["kwargs"]) {
                    match compiled {
                        Err(e) => failures.push(format!("{name} (op {op}) compiled: {e}")),
                        Ok(couts) => {
                            for (k, (o, w)) in couts.iter().zip(want).enumerate() {
                                if let Err(msg) = compare(o, &g.array(w), rtol, atol) {
                                    failures.push(format!(
                                        "{name} (op {op}) compiled output {k}: {msg}"
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {family} cases disagree with MLX:\n{}",
        failures.len(),
        g.cases.len(),
        failures
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The case's array operands, and a function of them rebuilding the full operand list.
fn as_function<'a>(
    dispatch: &'a impl Fn(&str, &[Operand], &Value) -> mx::Result<Vec<Array>>,
    op: &'a str,
    inputs: &'a [Operand],
    kwargs: &'a Value,
) -> (Vec<Array>, impl Fn(&[Array]) -> mx::Result<Vec<Array>> + 'a) {
    let arrays: Vec<Array> = inputs
        .iter()
        .filter_map(|o| match o {
            Operand::Array(a) => Some(a.clone()),
            Operand::Scalar(_) => None,
        })
        .collect();
    let traced = move |xs: &[Array]| {
        let mut next = xs.iter();
        let ops: Vec<Operand> = inputs
            .iter()
            .map(|o| match o {
                Operand::Array(_) => Operand::Array(next.next().expect("one per array").clone()),
                Operand::Scalar(s) => Operand::Scalar(*s),
            })
            .collect();
        dispatch(op, &ops, kwargs)
    };
    (arrays, traced)
}

/// Runs a case through `mx::export_function_bytes` and `mx::import_function_bytes`. `None`
/// when the case cannot be traced (as for [`run_compiled`]).
fn run_exported(
    dispatch: &impl Fn(&str, &[Operand], &Value) -> mx::Result<Vec<Array>>,
    op: &str,
    inputs: &[Operand],
    kwargs: &Value,
) -> Option<mx::Result<Vec<Array>>> {
    let (arrays, traced) = as_function(dispatch, op, inputs, kwargs);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let bytes = mx::export_function_bytes(&traced, &arrays)?;
        let f = mx::import_function_bytes(&bytes)?;
        let outs = f.call(&arrays)?;
        mx::eval(outs.iter())?;
        Ok::<_, mx::Error>(outs)
    }));
    match result {
        Err(_) => None,
        Ok(Err(e)) if e.message().contains("Attempting to eval") => None,
        Ok(r) => Some(r),
    }
}

/// Runs a case through `mx::compile`, its array operands becoming the compiled function's
/// inputs. `None` when the case cannot be traced: the op reads data while building its graph
/// (an error in MLX's compile too) or the dispatcher panics on an array without data.
fn run_compiled(
    dispatch: &impl Fn(&str, &[Operand], &Value) -> mx::Result<Vec<Array>>,
    op: &str,
    inputs: &[Operand],
    kwargs: &Value,
) -> Option<mx::Result<Vec<Array>>> {
    let (arrays, traced) = as_function(dispatch, op, inputs, kwargs);
    let f = mx::compile(traced);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f(&arrays).and_then(|outs| {
            mx::eval(outs.iter())?;
            Ok(outs)
        })
    }));
    match result {
        Err(_) => None,
        Ok(Err(e)) if e.message().contains("Attempting to eval") => None,
        Ok(r) => Some(r),
    }
}

/// `kwargs[key]` as an i64, if present and not null.
pub fn kw_i64(kw: &Value, key: &str) -> Option<i64> {
    kw.get(key).and_then(Value::as_i64)
}
/// `kwargs[key]` as f64.
pub fn kw_f64(kw: &Value, key: &str) -> Option<f64> {
    kw.get(key).and_then(Value::as_f64)
}
/// `kwargs[key]` as bool.
pub fn kw_bool(kw: &Value, key: &str) -> Option<bool> {
    kw.get(key).and_then(Value::as_bool)
}
/// `kwargs[key]` as a list of i64 (a single integer becomes a one-element list).
pub fn kw_list(kw: &Value, key: &str) -> Option<Vec<i64>> {
    match kw.get(key)? {
        Value::Array(a) => Some(a.iter().map(|x| x.as_i64().expect("int list")).collect()),
        Value::Number(n) => Some(vec![n.as_i64().expect("int")]),
        _ => None,
    }
}
/// `kwargs[key]` as a dtype name.
pub fn kw_dtype(kw: &Value, key: &str) -> Option<Dtype> {
    kw.get(key)
        .and_then(Value::as_str)
        .map(|s| Dtype::from_name(s).expect("dtype"))
}
/// The operand as an array (a scalar gets its default dtype).
pub fn arr(op: &Operand) -> Array {
    op.clone().into_array().expect("scalar fits")
}

/// The fields a value case (tools/goldens/golden_values.py) keeps its expected result in.
pub const VALUE_FIELDS: [&str; 2] = ["text", "value"];

/// Whether a case expects a JSON value (text, dtype name, bool, ...) rather than arrays.
pub fn is_value_case(case: &Value) -> bool {
    case.get("value_case").is_some() || VALUE_FIELDS.iter().any(|f| case.get(*f).is_some())
}

/// Whether two JSON values agree: numbers within a relative 1e-15 (JSON parsing of doubles may
/// be off by an ulp), everything else exactly.
pub fn values_match(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => {
                    let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                    x == y || (x - y).abs() <= 1e-15 * y.abs()
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_match(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| values_match(x, y)))
        }
        _ => got == want,
    }
}

/// Runs every value case of `family` (tools/goldens/golden_values.py: a "text" or "value"
/// field, or an error) through `dispatch(op, inputs, kwargs)`, which returns the value as JSON,
/// and panics with a list of the cases that disagree with MLX. Errors must match MLX's class.
pub fn check_values(
    family: &str,
    dispatch: impl Fn(&str, &[Operand], &Value) -> mx::Result<Value>,
) {
    let g = Goldens::load(family);
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in g.cases.iter().filter(|c| is_value_case(c)) {
        checked += 1;
        let name = case["name"].as_str().unwrap_or("?");
        let op = case["op"].as_str().expect("op");
        let inputs: Vec<Operand> = case["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| g.input(r))
            .collect();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            dispatch(op, &inputs, &case["kwargs"])
        }));
        let Ok(result) = result else {
            failures.push(format!("{name}: panicked"));
            continue;
        };
        match (case.get("error"), result) {
            (Some(err), Ok(v)) => failures.push(format!("{name}: expected {err}, got {v}")),
            (Some(err), Err(e)) => {
                if exception_name(e.kind()) != err.as_str().unwrap() {
                    failures.push(format!("{name}: expected {err}, got {:?}: {e}", e.kind()));
                }
            }
            (None, Err(e)) => failures.push(format!("{name}: unexpected error {e}")),
            (None, Ok(v)) => {
                let field = VALUE_FIELDS
                    .iter()
                    .find(|f| case.get(**f).is_some())
                    .expect("a value field");
                let want = &case[*field];
                if !values_match(&v, want) {
                    let show = |x: &Value| {
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string())
                    };
                    failures.push(format!(
                        "{name} (op {op}, kwargs {}):\n  got  {}\n  want {}",
                        case["kwargs"],
                        show(&v),
                        show(want)
                    ));
                }
            }
        }
    }
    assert!(checked > 0, "no value cases in {family}");
    assert!(
        failures.is_empty(),
        "{} of {checked} {family} value cases disagree with MLX:\n{}",
        failures.len(),
        failures
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
