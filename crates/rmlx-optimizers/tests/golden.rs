//! Replays the optimizer goldens recorded from real MLX 0.32.4 by
//! tools/goldens/gen_optimizers.py (its docstring gives the format): parameters and state
//! after 1, 2 and 5 updates for every optimizer and option set, schedules, clip_grad_norm and
//! MLX's errors.

use rmlx_core::tree::{Tree, tree_flatten, tree_merge, tree_unflatten};
use rmlx_core::{self as mx, Array, Dtype};
use rmlx_optimizers::{self as optim, LearningRate, Optimizer, Schedule, schedulers};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

struct Goldens {
    root: Value,
    arrays: HashMap<String, Array>,
}

impl Goldens {
    fn load() -> Goldens {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/goldens");
        let json = std::fs::read_to_string(dir.join("optimizers.json"))
            .expect("missing goldens (run tools/goldens/gen_optimizers.py)");
        let root: Value = serde_json::from_str(&json).expect("json");
        let arrays = mx::io::npz::load_npz(dir.join("optimizers.npz"))
            .expect("npz")
            .into_iter()
            .collect();
        Goldens { root, arrays }
    }

    /// The stored array; keys starting with "bf" hold bfloat16 bits as uint16.
    fn array(&self, key: &Value) -> Array {
        let key = key.as_str().expect("key");
        let a = self.arrays[key].clone();
        if key.starts_with("bf") {
            mx::view(&a, Dtype::Bfloat16).expect("bfloat16 view")
        } else {
            a
        }
    }

    fn flat(&self, v: &Value) -> Vec<(String, Array)> {
        v.as_object()
            .expect("flat tree")
            .iter()
            .map(|(k, r)| (k.clone(), self.array(r)))
            .collect()
    }

    fn tree(&self, v: &Value, dtype: Dtype) -> Tree {
        let items: Vec<(String, Tree)> = self
            .flat(v)
            .into_iter()
            .map(|(k, a)| (k, Tree::from(a.astype(dtype).unwrap())))
            .collect();
        tree_unflatten(&items)
    }

    fn cases(&self, kind: &str) -> Vec<Value> {
        self.root["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] == kind)
            .cloned()
            .collect()
    }
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

fn betas(o: &Value, default: (f64, f64)) -> (f64, f64) {
    match o.get("betas") {
        Some(b) => (f(&b[0]), f(&b[1])),
        None => default,
    }
}

fn opt_f(o: &Value, key: &str, default: f64) -> f64 {
    o.get(key).map(f).unwrap_or(default)
}

fn opt_b(o: &Value, key: &str, default: bool) -> bool {
    o.get(key).and_then(Value::as_bool).unwrap_or(default)
}

fn schedule(name: &str, args: &Value) -> mx::Result<Schedule> {
    let a = args.as_array().unwrap();
    let i = |k: usize| a[k].as_i64().unwrap();
    match name {
        "cosine_decay" => schedulers::cosine_decay(f(&a[0]), i(1), a.get(2).map(f).unwrap_or(0.0)),
        "exponential_decay" => Ok(schedulers::exponential_decay(f(&a[0]), f(&a[1]))),
        "step_decay" => schedulers::step_decay(f(&a[0]), f(&a[1]), i(2)),
        "linear_schedule" => schedulers::linear_schedule(f(&a[0]), f(&a[1]), i(2)),
        "join_schedules" => {
            let subs = a[0]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| schedule(s[0].as_str().unwrap(), &s[1]))
                .collect::<mx::Result<Vec<_>>>()?;
            let bounds: Vec<i64> = a[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_i64().unwrap())
                .collect();
            schedulers::join_schedules(subs, &bounds)
        }
        other => panic!("unknown schedule {other}"),
    }
}

fn learning_rate(lr: &Value) -> mx::Result<Option<LearningRate>> {
    Ok(match lr {
        Value::Null => None,
        Value::Number(n) => Some(n.as_f64().unwrap().into()),
        _ => Some(schedule(lr["schedule"].as_str().unwrap(), &lr["args"])?.into()),
    })
}

fn build(name: &str, lr: &Value, o: &Value) -> mx::Result<Box<dyn Optimizer + Send>> {
    let lr_req = || -> mx::Result<LearningRate> { Ok(learning_rate(lr)?.expect("lr")) };
    Ok(match name {
        "SGD" => Box::new(optim::SGD::with_options(
            lr_req()?,
            &optim::SgdOptions {
                momentum: opt_f(o, "momentum", 0.0),
                weight_decay: opt_f(o, "weight_decay", 0.0),
                dampening: opt_f(o, "dampening", 0.0),
                nesterov: opt_b(o, "nesterov", false),
            },
        )?),
        "RMSprop" => Box::new(optim::RMSprop::with_options(
            lr_req()?,
            &optim::RmspropOptions {
                alpha: opt_f(o, "alpha", 0.99),
                eps: opt_f(o, "eps", 1e-8),
            },
        )?),
        "Adagrad" => Box::new(optim::Adagrad::with_options(
            lr_req()?,
            &optim::AdagradOptions {
                eps: opt_f(o, "eps", 1e-8),
            },
        )?),
        "AdaDelta" => Box::new(optim::AdaDelta::with_options(
            lr_req()?,
            &optim::AdaDeltaOptions {
                rho: opt_f(o, "rho", 0.9),
                eps: opt_f(o, "eps", 1e-6),
            },
        )?),
        "Adam" => Box::new(optim::Adam::with_options(
            lr_req()?,
            &optim::AdamOptions {
                betas: betas(o, (0.9, 0.999)),
                eps: opt_f(o, "eps", 1e-8),
                bias_correction: opt_b(o, "bias_correction", false),
            },
        )?),
        "AdamW" => Box::new(optim::AdamW::with_options(
            lr_req()?,
            &optim::AdamWOptions {
                betas: betas(o, (0.9, 0.999)),
                eps: opt_f(o, "eps", 1e-8),
                weight_decay: opt_f(o, "weight_decay", 0.01),
                bias_correction: opt_b(o, "bias_correction", false),
            },
        )?),
        "Adamax" => Box::new(optim::Adamax::with_options(
            lr_req()?,
            &optim::AdamaxOptions {
                betas: betas(o, (0.9, 0.999)),
                eps: opt_f(o, "eps", 1e-8),
            },
        )?),
        "Lion" => Box::new(optim::Lion::with_options(
            lr_req()?,
            &optim::LionOptions {
                betas: betas(o, (0.9, 0.99)),
                weight_decay: opt_f(o, "weight_decay", 0.0),
            },
        )?),
        "Adafactor" => {
            let d = optim::AdafactorOptions::default();
            Box::new(optim::Adafactor::with_options(&optim::AdafactorOptions {
                learning_rate: learning_rate(lr)?,
                eps: o.get("eps").map(|e| (f(&e[0]), f(&e[1]))).unwrap_or(d.eps),
                clip_threshold: opt_f(o, "clip_threshold", d.clip_threshold),
                decay_rate: opt_f(o, "decay_rate", d.decay_rate),
                beta_1: o.get("beta_1").map(f),
                weight_decay: opt_f(o, "weight_decay", 0.0),
                scale_parameter: opt_b(o, "scale_parameter", true),
                relative_step: opt_b(o, "relative_step", true),
                warmup_init: opt_b(o, "warmup_init", false),
            })?)
        }
        "Muon" => Box::new(optim::Muon::with_options(
            lr_req()?,
            &optim::MuonOptions {
                momentum: opt_f(o, "momentum", 0.95),
                weight_decay: opt_f(o, "weight_decay", 0.01),
                nesterov: opt_b(o, "nesterov", true),
                ns_steps: o.get("ns_steps").and_then(Value::as_u64).unwrap_or(5) as usize,
            },
        )?),
        "Multi" => {
            let subs = o["optimizers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| build(s["optimizer"].as_str().unwrap(), &s["lr"], &s["options"]))
                .collect::<mx::Result<Vec<_>>>()?;
            let filters: Vec<optim::ParamFilter> = o["filters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let sub = s.as_str().unwrap().to_string();
                    Box::new(move |path: &str, _: &Array| path.contains(&sub)) as optim::ParamFilter
                })
                .collect();
            Box::new(optim::MultiOptimizer::new(subs, filters)?)
        }
        other => panic!("unknown optimizer {other}"),
    })
}

fn dtype_of(name: &str) -> Dtype {
    match name {
        "float32" => Dtype::Float32,
        "float16" => Dtype::Float16,
        "bfloat16" => Dtype::Bfloat16,
        other => panic!("dtype {other}"),
    }
}

fn assert_close(what: &str, got: &Array, want: &Array, dtype: Dtype) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    let (rtol, atol) = if dtype == Dtype::Float16 {
        (1e-2, 1e-3)
    } else if dtype == Dtype::Bfloat16 {
        (2e-2, 1e-2)
    } else {
        (1e-4, 1e-6)
    };
    let g = got.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap();
    let w = want
        .astype(Dtype::Float64)
        .unwrap()
        .to_vec::<f64>()
        .unwrap();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = (a - b).abs() <= atol + rtol * b.abs() || (a.is_nan() && b.is_nan());
        assert!(ok, "{what}[{i}]: got {a}, MLX {b}");
    }
}

fn check_flat(what: &str, got: &Tree, want: &[(String, Array)], dtype: Dtype) {
    let got: Vec<(String, Tree)> = tree_flatten(got, "");
    let got_keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    let mut want_keys: Vec<&str> = want.iter().map(|(k, _)| k.as_str()).collect();
    let mut sorted_got = got_keys.clone();
    sorted_got.sort();
    want_keys.sort();
    assert_eq!(sorted_got, want_keys, "{what}: keys");
    for (k, w) in want {
        let (_, g) = got.iter().find(|(gk, _)| gk == k).unwrap();
        assert_close(&format!("{what} {k}"), g.as_array().unwrap(), w, dtype);
    }
}

#[test]
fn optimizers_match_mlx() {
    let g = Goldens::load();
    let cases = g.cases("optimizer");
    assert!(cases.len() >= 30);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let dtype = dtype_of(case["dtype"].as_str().unwrap());
        let mut opt = build(
            case["optimizer"].as_str().unwrap(),
            &case["lr"],
            &case["options"],
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut params = g.tree(&g.root["params"], dtype);
        let grads: Vec<Tree> = g.root["grads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| g.tree(t, dtype))
            .collect();
        let checkpoints = case["checkpoints"].as_array().unwrap();
        let mut next = 0;
        for (s, grad) in grads.iter().enumerate() {
            let updated = opt
                .apply_gradients(grad, &params)
                .unwrap_or_else(|e| panic!("{name} step {}: {e}", s + 1));
            params = tree_merge(
                &params,
                &updated,
                Some(&mut |_: &Tree, b: &Tree| Ok(b.clone())),
            )
            .unwrap();
            if next < checkpoints.len() && checkpoints[next]["step"] == s + 1 {
                let cp = &checkpoints[next];
                check_flat(
                    &format!("{name} step {} params", s + 1),
                    &params,
                    &g.flat(&cp["params"]),
                    dtype,
                );
                check_flat(
                    &format!("{name} step {} state", s + 1),
                    &opt.state(),
                    &g.flat(&cp["state"]),
                    dtype,
                );
                next += 1;
            }
        }
        assert_eq!(next, checkpoints.len(), "{name}: checkpoints");
    }
}

#[test]
fn schedules_match_mlx() {
    let g = Goldens::load();
    for case in g.cases("schedule") {
        let name = case["name"].as_str().unwrap();
        let s = schedule(case["schedule"].as_str().unwrap(), &case["args"]).unwrap();
        let want = g.array(&case["values"]);
        let steps = case["steps"].as_u64().unwrap();
        let got: Vec<Array> = (0..steps)
            .map(|i| s.call(&Array::scalar(i)).unwrap())
            .collect();
        let got = mx::stack(&got, 0).unwrap();
        assert_close(name, &got, &want, Dtype::Float32);
    }
}

#[test]
fn clip_grad_norm_matches_mlx() {
    let g = Goldens::load();
    for case in g.cases("clip") {
        let name = case["name"].as_str().unwrap();
        let grads = tree_unflatten(
            &g.flat(&case["grads"])
                .into_iter()
                .map(|(k, a)| (k, Tree::from(a)))
                .collect::<Vec<_>>(),
        );
        let dtype = grads.leaves()[0].dtype();
        let (clipped, norm) = optim::clip_grad_norm(&grads, f(&case["max_norm"])).unwrap();
        assert_close(name, &norm, &g.array(&case["norm"]), Dtype::Float32);
        check_flat(name, &clipped, &g.flat(&case["clipped"]), dtype);
    }
}

fn error_of(case: &Value) -> Option<mx::Error> {
    let call = case["call"].as_str().unwrap();
    let args = &case["args"];
    let kw = &case["kwargs"];
    let lr = &args[0];
    let built = match call {
        "MultiOptimizer" => {
            let n = args[0].as_u64().unwrap() as usize;
            let m = args[1].as_u64().unwrap() as usize;
            let subs: Vec<Box<dyn Optimizer + Send>> = (0..n)
                .map(|_| Box::new(optim::SGD::new(0.1).unwrap()) as Box<dyn Optimizer + Send>)
                .collect();
            let filters: Vec<optim::ParamFilter> = (0..m)
                .map(|_| Box::new(|_: &str, _: &Array| true) as optim::ParamFilter)
                .collect();
            optim::MultiOptimizer::new(subs, filters).map(|_| ())
        }
        "join_schedules" => {
            let n = args[0].as_u64().unwrap() as usize;
            let subs = (0..n)
                .map(|_| schedulers::exponential_decay(0.1, 0.9))
                .collect();
            let b: Vec<i64> = args[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            schedulers::join_schedules(subs, &b).map(|_| ())
        }
        "step_decay" | "cosine_decay" | "linear_schedule" => schedule(call, args).map(|_| ()),
        "clip_grad_norm" => {
            let t = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
            optim::clip_grad_norm(&t, f(&args[0])).map(|_| ())
        }
        _ => build(call, lr, kw).map(|_| ()),
    };
    built.err()
}

#[test]
fn errors_match_mlx() {
    let g = Goldens::load();
    let cases = g.cases("error");
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let err = error_of(&case).unwrap_or_else(|| panic!("{name}: no error"));
        assert_eq!(err.kind(), mx::ErrorKind::Value, "{name}");
        assert_eq!(err.message(), case["message"].as_str().unwrap(), "{name}");
    }
}
