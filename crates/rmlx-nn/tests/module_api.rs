//! The Module API against MLX 0.32.4 (tests/goldens/nn_module.json, written by
//! tools/goldens/gen_nn_module.py): one nested model, rebuilt here field for field, gives
//! MLX's trees, orders, printing, freezing results and error messages.

use rmlx_nn::core::{self as mx, Array, ErrorKind, tree::Tree};
use rmlx_nn::{self as nn, FreezeOptions, Module, ModuleState};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Clone, nn::Module)]
struct Block {
    proj: nn::Linear,
    extra: Vec<Box<dyn Module>>,
    table: BTreeMap<String, nn::Linear>,
    scale: Array,
    stats: BTreeMap<String, Array>,
    state: ModuleState,
}

#[derive(Clone, nn::Module)]
#[module(name = "Model")]
struct Model {
    blocks: Vec<Block>,
    head: nn::Linear,
}

impl Model {
    /// The same forward as gen_nn_module.py's `Model.__call__`.
    fn forward(&self, x: &Array) -> mx::Result<Array> {
        use nn::Forward;
        let (b0, b1) = (&self.blocks[0], &self.blocks[1]);
        let extra0 = |b: &Block, h: &Array| -> mx::Result<Array> {
            let l = b.extra[0]
                .as_any()
                .downcast_ref::<nn::Linear>()
                .expect("Linear");
            l.forward(h)
        };
        let h = mx::multiply(&extra0(b0, &b0.proj.forward(x)?)?, &b0.scale)?;
        let h = mx::add(
            &mx::add(&extra0(b1, &h)?, &b1.table["a"].forward(&h)?)?,
            &mx::sum(&b1.stats["m"])?,
        )?;
        self.head.forward(&h)
    }
}

fn block() -> Block {
    Block {
        proj: nn::Linear::new(2, 3).unwrap(),
        extra: vec![
            Box::new(nn::Linear::new(3, 3).unwrap()),
            Box::new(nn::Identity::new()),
        ],
        table: BTreeMap::from([
            ("a".to_string(), nn::Linear::new(3, 1).unwrap()),
            ("b".to_string(), nn::Linear::with_bias(1, 1, false).unwrap()),
        ]),
        scale: mx::ones(&[3], mx::float32).unwrap(),
        stats: BTreeMap::from([
            ("m".to_string(), mx::zeros(&[2], mx::float32).unwrap()),
            ("v".to_string(), mx::ones(&[2], mx::float32).unwrap()),
        ]),
        state: ModuleState::default(),
    }
}

fn model() -> Model {
    Model {
        blocks: vec![block(), block()],
        head: nn::Linear::with_bias(3, 1, false).unwrap(),
    }
}

fn golden() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/goldens/nn_module.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("nn_module.json")).expect("json")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("list")
        .iter()
        .map(|s| s.as_str().expect("str").to_string())
        .collect()
}

fn keys(t: &Tree) -> Vec<String> {
    nn::flat_parameters(t).into_iter().map(|(k, _)| k).collect()
}

fn trainable(m: &Model) -> Vec<String> {
    keys(&m.trainable_parameters().unwrap())
}

/// The (kind, message) MLX recorded, or None; KeyError's text is quoted by Python.
fn expected_error(v: &Value) -> Option<(String, String)> {
    let a = v.as_array()?;
    Some((
        a[0].as_str()?.to_string(),
        a[1].as_str()?.trim_matches('"').to_string(),
    ))
}

fn check_error(what: &str, got: mx::Result<()>, want: &Value) {
    match (got, expected_error(want)) {
        (Ok(()), None) => {}
        (Err(e), Some((kind, msg))) => {
            let ours = match e.kind() {
                ErrorKind::Key => "KeyError",
                ErrorKind::Value => "ValueError",
                ErrorKind::Type => "TypeError",
                ErrorKind::Index => "IndexError",
                ErrorKind::Runtime => "RuntimeError",
                ErrorKind::Overflow => "OverflowError",
            };
            assert_eq!((ours, e.message()), (kind.as_str(), msg.as_str()), "{what}");
        }
        (got, want) => panic!("{what}: rmlx {got:?}, MLX {want:?}"),
    }
}

#[test]
fn trees_orders_and_printing_match_mlx() {
    let g = golden();
    let m = model();
    let params: Vec<(String, Vec<usize>)> = nn::flat_parameters(&m.parameters().unwrap())
        .into_iter()
        .map(|(k, a)| (k, a.shape().to_vec()))
        .collect();
    let want: Vec<(String, Vec<usize>)> = g["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                serde_json::from_value(p[1].clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(params, want);
    assert_eq!(trainable(&m), strings(&g["trainable"]));
    let named: Vec<String> = m.named_modules().into_iter().map(|(k, _)| k).collect();
    assert_eq!(named, strings(&g["named_modules"]));
    let types: Vec<String> = m
        .modules()
        .into_iter()
        .map(|m| m.type_name().to_string())
        .collect();
    assert_eq!(types, strings(&g["module_types"]));
    let leaves: Vec<String> = m.leaf_modules().into_iter().map(|(k, _)| k).collect();
    assert_eq!(leaves, strings(&g["leaf_modules"]));
    let children: Vec<String> = m.children().into_iter().map(|(k, _)| k).collect();
    assert_eq!(children, strings(&g["children"]));
    assert_eq!(m.to_string(), g["repr"].as_str().unwrap());
}

#[test]
fn freezing_matches_mlx() {
    let g = golden();
    let s = &g["freeze_steps"];
    let mut m = model();
    m.freeze(&FreezeOptions::keys(["bias"])).unwrap();
    assert_eq!(trainable(&m), strings(&s["freeze_bias"]));
    m.unfreeze(&FreezeOptions::default()).unwrap();
    assert_eq!(trainable(&m), strings(&s["unfreeze_all"]));
    m.blocks[0].freeze(&FreezeOptions::default()).unwrap();
    assert_eq!(trainable(&m), strings(&s["freeze_block0"]));
    m.blocks[0]
        .unfreeze(&FreezeOptions {
            recurse: false,
            ..FreezeOptions::keys(["scale"])
        })
        .unwrap();
    assert_eq!(trainable(&m), strings(&s["unfreeze_block0_scale"]));
    m.unfreeze(&FreezeOptions::default()).unwrap();
    m.freeze(&FreezeOptions {
        recurse: false,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(trainable(&m), strings(&s["freeze_root_only"]));
    m.blocks[1]
        .freeze(&FreezeOptions {
            recurse: false,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(trainable(&m), strings(&s["freeze_block1_own"]));
    m.unfreeze(&FreezeOptions::default()).unwrap();
    m.freeze(&FreezeOptions {
        strict: true,
        ..FreezeOptions::keys(["stats"])
    })
    .unwrap();
    assert_eq!(trainable(&m), strings(&s["freeze_stats_strict"]));
    m.unfreeze(&FreezeOptions::default()).unwrap();
    check_error(
        "freeze_missing_strict",
        m.freeze(&FreezeOptions {
            strict: true,
            ..FreezeOptions::keys(["nope"])
        }),
        &s["freeze_missing_strict"],
    );
    check_error(
        "freeze_missing_lax",
        m.freeze(&FreezeOptions::keys(["nope"])),
        &s["freeze_missing_lax"],
    );
    check_error(
        "blocks0_freeze_missing_strict_norecurse",
        m.blocks[0].freeze(&FreezeOptions {
            strict: true,
            recurse: false,
            ..FreezeOptions::keys(["weight"])
        }),
        &s["blocks0_freeze_missing_strict_norecurse"],
    );
}

#[test]
fn update_and_load_weights_errors_match_mlx() {
    let g = golden();
    let e = &g["errors"];
    let mut m = model();
    let z = || Tree::from(mx::zeros(&[1], mx::float32).unwrap());
    check_error(
        "update_unknown",
        m.update(&Tree::dict([("nope", z())]), true),
        &e["update_unknown"],
    );
    check_error(
        "update_unknown_lax",
        m.update(&Tree::dict([("nope", z())]), false),
        &e["update_unknown_lax"],
    );
    check_error(
        "update_list_for_array",
        m.update(
            &Tree::dict([("head", Tree::dict([("weight", Tree::List(vec![z()]))]))]),
            true,
        ),
        &e["update_list_for_array"],
    );
    let empty = || Tree::Dict(vec![]);
    check_error(
        "update_out_of_bounds",
        m.update(
            &Tree::dict([("blocks", Tree::List(vec![empty(), empty(), empty()]))]),
            true,
        ),
        &e["update_out_of_bounds"],
    );
    check_error(
        "update_array_for_module",
        m.update(&Tree::dict([("head", z())]), true),
        &e["update_array_for_module"],
    );
    let params = nn::flat_parameters(&m.parameters().unwrap());
    check_error(
        "load_missing",
        m.load_weights_from(params[1..].to_vec(), true),
        &e["load_missing"],
    );
    let mut extra = params.clone();
    extra.push(("extra.w".to_string(), mx::zeros(&[1], mx::float32).unwrap()));
    check_error(
        "load_extra",
        m.load_weights_from(extra, true),
        &e["load_extra"],
    );
    let bad: Vec<(String, Array)> = params
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == "head.weight" {
                    mx::zeros(&[7], mx::float32).unwrap()
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    check_error(
        "load_bad_shape",
        m.load_weights_from(bad, true),
        &e["load_bad_shape"],
    );
    check_error(
        "load_lax_subset",
        m.load_weights_from(params[..2].to_vec(), false),
        &e["load_lax_subset"],
    );
}

#[test]
fn training_mode_matches_mlx() {
    let g = golden();
    let mut m = model();
    m.eval().unwrap();
    let flags: Vec<bool> = m.modules().iter().map(|m| m.training()).collect();
    assert_eq!(
        flags,
        serde_json::from_value::<Vec<bool>>(g["training_after_eval"].clone()).unwrap()
    );
    m.blocks[1].train(true).unwrap();
    let flags: Vec<bool> = m.modules().iter().map(|m| m.training()).collect();
    assert_eq!(
        flags,
        serde_json::from_value::<Vec<bool>>(g["training_after_block1_train"].clone()).unwrap()
    );
}

#[test]
fn update_modules_apply_and_set_dtype() {
    let mut m = model();
    // Replace a boxed child with another type, and a typed child with the same type.
    m.update_modules(
        vec![(
            "blocks.0.extra.1".into(),
            Box::new(nn::Linear::new(3, 3).unwrap()),
        )],
        true,
    )
    .unwrap();
    assert_eq!(m.blocks[0].extra[1].type_name(), "Linear");
    let new_head =
        nn::Linear::from_weights(mx::full(&[1, 3], 2.0f32, None).unwrap(), None).unwrap();
    m.update_modules(vec![("head".into(), Box::new(new_head))], true)
        .unwrap();
    assert_eq!(m.head.weight.to_vec::<f32>().unwrap(), vec![2.0; 3]);
    // A typed field cannot hold another type; a missing path is an error when strict only.
    assert!(
        m.update_modules(vec![("head".into(), Box::new(nn::Identity::new()))], true)
            .is_err()
    );
    assert!(
        m.update_modules(vec![("nope".into(), Box::new(nn::Identity::new()))], true)
            .is_err()
    );
    m.update_modules(vec![("nope".into(), Box::new(nn::Identity::new()))], false)
        .unwrap();
    // apply maps every parameter; set_dtype casts the floating ones.
    m.apply(&mut |a| mx::multiply(a, 0.0), None).unwrap();
    assert!(
        nn::flat_parameters(&m.parameters().unwrap())
            .iter()
            .all(|(_, a)| a.to_vec::<f32>().unwrap().iter().all(|v| *v == 0.0))
    );
    m.set_dtype(mx::float16, None).unwrap();
    assert!(
        nn::flat_parameters(&m.parameters().unwrap())
            .iter()
            .all(|(_, a)| a.dtype() == mx::float16)
    );
}

#[test]
fn weights_round_trip_through_both_file_formats() {
    let dir = std::env::temp_dir().join(format!("rmlx_nn_weights_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let m = model();
    for ext in ["npz", "safetensors"] {
        let path = dir.join(format!("w.{ext}"));
        let path = path.to_str().unwrap();
        m.save_weights(path).unwrap();
        let mut other = model();
        other.load_weights(path, true).unwrap();
        for ((k, a), (_, b)) in nn::flat_parameters(&m.parameters().unwrap())
            .into_iter()
            .zip(nn::flat_parameters(&other.parameters().unwrap()))
        {
            assert_eq!(
                a.to_vec::<f32>().unwrap(),
                b.to_vec::<f32>().unwrap(),
                "{k} ({ext})"
            );
        }
    }
    let err = m
        .save_weights(dir.join("w.bin").to_str().unwrap())
        .unwrap_err();
    assert!(
        err.message().contains("Unsupported file extension"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn value_and_grad_copies_cells_back_and_leaves_parameters_alone() {
    #[derive(Clone, nn::Module)]
    struct Counter {
        w: Array,
        calls: nn::ArrayCell,
    }
    let model = Counter {
        w: mx::array![2.0f32],
        calls: nn::ArrayCell::new(mx::array![0.0f32]),
    };
    let loss = |m: &Counter, x: &[Array]| -> mx::Result<Array> {
        m.calls.set(mx::add(&m.calls.get(), 1.0)?);
        mx::sum(&mx::multiply(&m.w, &x[0])?)
    };
    let vg = nn::value_and_grad(loss);
    for _ in 0..3 {
        let (v, g) = vg(&model, &[mx::array![5.0f32]]).unwrap();
        assert_eq!(v.item::<f32>().unwrap(), 10.0);
        assert_eq!(
            g.get("w")
                .unwrap()
                .as_array()
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            vec![5.0]
        );
    }
    // The forward pass's cell writes landed on the caller's model, three times.
    assert_eq!(model.calls.get().item::<f32>().unwrap(), 3.0);
    assert_eq!(model.w.item::<f32>().unwrap(), 2.0);
    // A frozen parameter gets no gradient: the tree holds the trainable ones only.
    let mut layer = nn::Linear::new(2, 1).unwrap();
    layer.freeze(&FreezeOptions::keys(["bias"])).unwrap();
    use nn::Forward;
    let vg = nn::value_and_grad(|m: &nn::Linear, x: &[Array]| mx::sum(&m.forward(&x[0])?));
    let (_, g) = vg(&layer, &[mx::ones(&[3, 2], mx::float32).unwrap()]).unwrap();
    assert_eq!(keys(&g), ["weight"]);
    assert_eq!(
        g.get("weight")
            .unwrap()
            .as_array()
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![3.0, 3.0]
    );
}

#[test]
fn freezing_own_parameters_without_state_is_a_clear_error() {
    #[derive(Clone, nn::Module)]
    struct Bare {
        w: Array,
    }
    let mut b = Bare {
        w: mx::array![1.0f32],
    };
    let err = b.freeze(&FreezeOptions::default()).unwrap_err();
    assert!(err.message().contains("ModuleState"), "{err}");
}

fn goldens_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens")
}

#[test]
fn weights_saved_by_mlx_load_strictly_and_give_mlx_outputs() {
    let dir = goldens_dir();
    let io = mx::io::load(dir.join("nn_module_mlx_io.npz")).unwrap();
    let (x, y) = (io.get("x").unwrap().clone(), io.get("y").unwrap().clone());
    for ext in ["npz", "safetensors"] {
        let mut m = model();
        let path = dir.join(format!("nn_module_mlx_weights.{ext}"));
        m.load_weights(path.to_str().unwrap(), true).unwrap();
        let got = m.forward(&x).unwrap().to_vec::<f32>().unwrap();
        for (a, b) in got.iter().zip(y.to_vec::<f32>().unwrap()) {
            assert!((a - b).abs() < 1e-5, "{ext}: rmlx {a}, MLX {b}");
        }
    }
}

/// With RMLX_WRITE_NN_FILES=1, writes weight files and outputs for gen_nn_module.py to load
/// in MLX (the reverse direction of the interop test).
#[test]
fn weights_saved_by_rmlx_for_mlx() {
    if std::env::var("RMLX_WRITE_NN_FILES").is_err() {
        return;
    }
    let dir = goldens_dir().join("rmlx_written");
    std::fs::create_dir_all(&dir).unwrap();
    mx::random::seed(9);
    let m = model();
    let x = mx::random::normal(&[4, 2], mx::float32, None).unwrap();
    let y = m.forward(&x).unwrap();
    mx::io::savez(dir.join("io.npz"), &[("x", &x), ("y", &y)]).unwrap();
    for ext in ["npz", "safetensors"] {
        m.save_weights(dir.join(format!("weights.{ext}")).to_str().unwrap())
            .unwrap();
    }
}

#[test]
fn value_and_grad_composes_with_compile_and_vmap() {
    use nn::Forward;
    mx::random::seed(4);
    let model = nn::Sequential::new()
        .append(nn::Linear::new(3, 8).unwrap())
        .append(nn::Linear::new(8, 1).unwrap());
    let loss = |m: &nn::Sequential, xy: &[Array]| -> mx::Result<Array> {
        mx::mean(&mx::square(&mx::subtract(&m.forward(&xy[0])?, &xy[1])?)?)
    };
    let x = mx::random::normal(&[5, 3], mx::float32, None).unwrap();
    let y = mx::random::normal(&[5, 1], mx::float32, None).unwrap();
    let (l0, g0) = nn::value_and_grad(loss)(&model, &[x.clone(), y.clone()]).unwrap();

    // A compiled step over the parameters' leaves and the batch.
    let params = model.trainable_parameters().unwrap();
    let n = params.leaves().len();
    let (m2, p2) = (model.clone(), params.clone());
    let step = mx::compile(move |args: &[Array]| -> mx::Result<Vec<Array>> {
        let m = nn::with_parameters(&m2, &p2.with_leaves(&mut args[..n].iter().cloned())?)?;
        let (l, g) = nn::value_and_grad(loss)(&m, &args[n..])?;
        let mut out = vec![l];
        out.extend(g.leaves());
        Ok(out)
    });
    let mut args = params.leaves();
    args.extend([x.clone(), y.clone()]);
    for _ in 0..2 {
        let out = step(&args).unwrap();
        assert!((out[0].item::<f32>().unwrap() - l0.item::<f32>().unwrap()).abs() < 1e-6);
        for (a, b) in out[1..].iter().zip(g0.leaves()) {
            let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
            assert!(
                a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5),
                "{a:?} vs {b:?}"
            );
        }
    }

    // Per-example losses through vmap of the model's forward.
    let per_example = mx::vmap(
        |xs: &[Array]| -> mx::Result<Array> { model.forward(&xs[0]) },
        &[Some(0)],
        &[Some(0)],
    );
    let batched = per_example(std::slice::from_ref(&x)).unwrap();
    let direct = model.forward(&x).unwrap();
    let (a, b) = (
        batched[0].to_vec::<f32>().unwrap(),
        direct.to_vec::<f32>().unwrap(),
    );
    assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5));
}
