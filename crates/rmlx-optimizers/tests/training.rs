//! Training with every optimizer: a small MLP of `nn::Linear` layers on a deterministic
//! regression lowers its loss; a run saved after N steps (weights and optimizer state, in
//! safetensors files) and resumed in fresh objects ends with the parameters of an unbroken
//! run; an update inside `compile_with_state` matches the uncompiled one; misuse errors.

use rmlx_core::tree::{Tree, tree_flatten, tree_unflatten};
use rmlx_core::{self as mx, Array};
use rmlx_nn::{self as nn, Forward, Module};
use rmlx_optimizers::{self as optim, Optimizer, schedulers};
use std::sync::{Arc, Mutex};

#[derive(Clone, nn::Module)]
struct Mlp {
    layers: Vec<nn::Linear>,
}

impl Mlp {
    fn new() -> mx::Result<Mlp> {
        Ok(Mlp {
            layers: vec![
                nn::Linear::new(2, 16)?,
                nn::Linear::new(16, 16)?,
                nn::Linear::new(16, 1)?,
            ],
        })
    }
}

impl Forward for Mlp {
    fn forward(&self, x: &Array) -> mx::Result<Array> {
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = mx::maximum(&h, 0.0)?;
            }
        }
        Ok(h)
    }
}

fn data() -> (Array, Array) {
    let n = 32;
    let xs: Vec<f32> = (0..n * 2)
        .map(|i| ((i * 37 % 23) as f32 / 23.0) * 2.0 - 1.0)
        .collect();
    let x = Array::from_slice(&xs, &[n, 2]).unwrap();
    let x0 = x.slice_axis(1, 0..1).unwrap();
    let x1 = x.slice_axis(1, 1..2).unwrap();
    let y = (&(&x0 * 0.5) - &(&x1 * &x1)) + 0.25;
    (x, y)
}

fn loss_fn(m: &Mlp, a: &[Array]) -> mx::Result<Array> {
    mx::mean(&mx::square(&(m.forward(&a[0])? - &a[1]))?)
}

fn all_optimizers() -> Vec<(&'static str, Box<dyn Optimizer + Send>)> {
    vec![
        (
            "SGD",
            Box::new(
                optim::SGD::with_options(
                    0.1,
                    &optim::SgdOptions {
                        momentum: 0.9,
                        ..Default::default()
                    },
                )
                .unwrap(),
            ),
        ),
        ("RMSprop", Box::new(optim::RMSprop::new(0.003).unwrap())),
        ("Adagrad", Box::new(optim::Adagrad::new(0.05).unwrap())),
        ("AdaDelta", Box::new(optim::AdaDelta::new(1.0).unwrap())),
        ("Adam", Box::new(optim::Adam::new(0.01).unwrap())),
        ("AdamW", Box::new(optim::AdamW::new(0.01).unwrap())),
        ("Adamax", Box::new(optim::Adamax::new(0.01).unwrap())),
        ("Lion", Box::new(optim::Lion::new(0.002).unwrap())),
        ("Adafactor", Box::new(optim::Adafactor::new().unwrap())),
        ("Muon", Box::new(optim::Muon::new(0.02).unwrap())),
        (
            "Multi",
            Box::new(
                optim::MultiOptimizer::new(
                    vec![
                        Box::new(optim::Muon::new(0.02).unwrap()),
                        Box::new(optim::Adam::new(0.01).unwrap()),
                    ],
                    vec![Box::new(|path: &str, a: &Array| {
                        a.ndim() == 2 && !path.starts_with("layers.2")
                    })],
                )
                .unwrap(),
            ),
        ),
        (
            "Adam+cosine",
            Box::new(optim::Adam::new(schedulers::cosine_decay(0.02, 40, 0.001).unwrap()).unwrap()),
        ),
    ]
}

fn params_of(m: &Mlp) -> Vec<(String, Vec<f32>)> {
    tree_flatten(&m.parameters().unwrap(), "")
        .into_iter()
        .map(|(k, t)| (k, t.as_array().unwrap().to_vec::<f32>().unwrap()))
        .collect()
}

fn train(m: &mut Mlp, opt: &mut dyn Optimizer, steps: usize) -> Vec<f32> {
    let (x, y) = data();
    let vg = nn::value_and_grad(loss_fn);
    let mut losses = Vec::new();
    for _ in 0..steps {
        let (loss, grads) = vg(m, &[x.clone(), y.clone()]).unwrap();
        opt.update(m, &grads).unwrap();
        mx::eval(std::slice::from_ref(&loss)).unwrap();
        losses.push(loss.item::<f32>().unwrap());
    }
    losses
}

#[test]
fn every_optimizer_lowers_the_loss() {
    mx::random::seed(7);
    let model = Mlp::new().unwrap();
    for (name, mut opt) in all_optimizers() {
        let mut m = model.clone();
        let losses = train(&mut m, opt.as_mut(), 40);
        let (first, last) = (losses[0], *losses.last().unwrap());
        assert!(
            last < 0.7 * first,
            "{name}: loss {first} -> {last} ({losses:?})"
        );
        assert_eq!(opt.step().item::<u64>().unwrap(), 40, "{name}");
    }
}

fn save(path: &std::path::Path, tree: &Tree) {
    let flat: Vec<(String, Array)> = tree_flatten(tree, "")
        .into_iter()
        .map(|(k, t)| (k, t.as_array().unwrap().clone()))
        .collect();
    let refs: Vec<(&str, &Array)> = flat.iter().map(|(k, a)| (k.as_str(), a)).collect();
    mx::io::save_safetensors(path, &refs, &[]).unwrap();
}

fn load(path: &std::path::Path) -> Tree {
    let st = mx::io::safetensors::load_safetensors(path).unwrap();
    let items: Vec<(String, Tree)> = st
        .arrays
        .into_iter()
        .map(|(k, a)| (k, Tree::from(a)))
        .collect();
    tree_unflatten(&items)
}

#[test]
fn a_resumed_run_matches_an_unbroken_one() {
    mx::random::seed(11);
    let model = Mlp::new().unwrap();
    let dir = std::env::temp_dir().join(format!("rmlx_optim_resume_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fresh = all_optimizers;
    for (i, (name, mut opt)) in fresh().into_iter().enumerate() {
        // Unbroken: 12 steps.
        let mut unbroken = model.clone();
        train(&mut unbroken, opt.as_mut(), 12);

        // 5 steps, saved.
        let (_, mut first) = fresh().swap_remove(i);
        let mut m = model.clone();
        train(&mut m, first.as_mut(), 5);
        let wpath = dir.join(format!("{i}_weights.safetensors"));
        let spath = dir.join(format!("{i}_state.safetensors"));
        m.save_weights(wpath.to_str().unwrap()).unwrap();
        save(&spath, &first.state());

        // Fresh objects (another initialisation), loaded, 7 more steps.
        let mut resumed = Mlp::new().unwrap();
        resumed.load_weights(wpath.to_str().unwrap(), true).unwrap();
        let (_, mut second) = fresh().swap_remove(i);
        second.set_state(load(&spath)).unwrap();
        assert_eq!(second.step().item::<u64>().unwrap(), 5, "{name}");
        train(&mut resumed, second.as_mut(), 7);

        let a = params_of(&unbroken);
        let b = params_of(&resumed);
        assert_eq!(a.len(), b.len());
        for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
            assert_eq!(ka, kb);
            assert_eq!(va, vb, "{name}: {ka} differs after resuming");
        }
        let keys = |t: Tree| -> Vec<String> {
            // Sorted: a safetensors file keeps its keys sorted, as MLX's loads do.
            let mut k: Vec<String> = tree_flatten(&t, "").into_iter().map(|(k, _)| k).collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(opt.state()),
            keys(second.state()),
            "{name}: state keys"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_compiled_update_matches_the_uncompiled_one() {
    mx::random::seed(3);
    let model = Mlp::new().unwrap();
    let (x, y) = data();

    // Uncompiled.
    let mut plain = model.clone();
    let mut opt = optim::Adam::with_options(
        schedulers::exponential_decay(0.01, 0.9),
        &optim::AdamOptions {
            bias_correction: true,
            ..Default::default()
        },
    )
    .unwrap();
    let plain_losses = {
        let vg = nn::value_and_grad(loss_fn);
        (0..4)
            .map(|_| {
                let (loss, grads) = vg(&plain, &[x.clone(), y.clone()]).unwrap();
                opt.update(&mut plain, &grads).unwrap();
                loss.item::<f32>().unwrap()
            })
            .collect::<Vec<_>>()
    };

    // Compiled: parameters and optimizer state are the compiled function's state.
    let copt = optim::Adam::with_options(
        schedulers::exponential_decay(0.01, 0.9),
        &optim::AdamOptions {
            bias_correction: true,
            ..Default::default()
        },
    )
    .unwrap();
    let copt = Arc::new(Mutex::new(copt));
    copt.lock()
        .unwrap()
        .init(&model.trainable_parameters().unwrap())
        .unwrap();
    let param_template = model.parameters().unwrap();
    let state_template = copt.lock().unwrap().state();
    let n_params = param_template.leaves().len();
    let state = mx::CompileState::new([param_template.leaves(), state_template.leaves()].concat());
    let (s, o, m0) = (state.clone(), copt.clone(), model.clone());
    let step = mx::compile_with_state(
        move |args: &[Array]| {
            let arrays = s.get();
            let params = param_template.with_leaves(&mut arrays[..n_params].iter().cloned())?;
            let ostate = state_template.with_leaves(&mut arrays[n_params..].iter().cloned())?;
            let mut opt = o.lock().unwrap();
            opt.set_state(ostate)?;
            let mut m = m0.clone();
            m.update(&params, true)?;
            let vg = nn::value_and_grad(loss_fn);
            let (loss, grads) = vg(&m, args)?;
            opt.update(&mut m, &grads)?;
            s.set([m.parameters()?.leaves(), opt.state().leaves()].concat());
            Ok(loss)
        },
        state.clone(),
    );
    let mut compiled_losses = Vec::new();
    for _ in 0..4 {
        compiled_losses.push(
            step(&[x.clone(), y.clone()]).unwrap()[0]
                .item::<f32>()
                .unwrap(),
        );
    }
    for (a, b) in plain_losses.iter().zip(&compiled_losses) {
        assert!(
            (a - b).abs() <= 1e-5 * a.abs().max(1.0),
            "{plain_losses:?} vs {compiled_losses:?}"
        );
    }
    let arrays = state.get();
    let plain_leaves = plain.parameters().unwrap().leaves();
    for (a, b) in plain_leaves.iter().zip(&arrays[..n_params]) {
        let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        for (u, v) in a.iter().zip(&b) {
            assert!((u - v).abs() <= 1e-5 + 1e-4 * u.abs(), "{u} vs {v}");
        }
    }
    // The step went through the compiled state: 4 updates.
    let step_index = tree_flatten(&opt.state(), "")
        .iter()
        .position(|(k, _)| k == "step")
        .unwrap();
    assert_eq!(arrays[n_params + step_index].item::<u64>().unwrap(), 4);
}

#[test]
fn misuse_is_an_error() {
    let mut opt = optim::Adam::new(0.1).unwrap();
    let params = Tree::dict([("w", Tree::from(mx::array![1.0, 2.0]))]);
    // A gradient for a parameter that does not exist.
    let bad = Tree::dict([("v", Tree::from(mx::array![1.0, 2.0]))]);
    let e = opt.apply_gradients(&bad, &params).unwrap_err();
    assert!(e.message().contains("'v'"), "{e}");
    // A gradient of the wrong shape.
    let mut opt = optim::Adam::new(0.1).unwrap();
    let bad = Tree::dict([("w", Tree::from(mx::array![1.0, 2.0, 3.0]))]);
    let e = opt.apply_gradients(&bad, &params).unwrap_err();
    assert!(e.message().contains("shape"), "{e}");
    // A list where the parameters have an array.
    let mut opt = optim::SGD::new(0.1).unwrap();
    let bad = Tree::dict([("w", Tree::List(vec![Tree::from(mx::array![1.0])]))]);
    assert!(opt.apply_gradients(&bad, &params).is_err());
    // A negative learning rate is accepted (as in MLX).
    let mut opt = optim::SGD::new(-0.5).unwrap();
    let g = Tree::dict([("w", Tree::from(mx::array![1.0, 1.0]))]);
    let out = opt.apply_gradients(&g, &params).unwrap();
    assert_eq!(
        out.get("w")
            .unwrap()
            .as_array()
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![1.5, 2.5]
    );
    // Adafactor without a learning rate has none to read.
    let opt = optim::Adafactor::new().unwrap();
    assert!(opt.learning_rate().is_err());
    // MultiOptimizer's state must have one entry per optimizer.
    let mut multi =
        optim::MultiOptimizer::new(vec![Box::new(optim::SGD::new(0.1).unwrap())], vec![]).unwrap();
    let e = multi
        .set_state(Tree::dict([("states", Tree::List(vec![]))]))
        .unwrap_err();
    assert_eq!(e.message(), "Invalid state provided");
}

#[test]
fn the_learning_rate_is_settable_at_any_time() {
    let mut opt = optim::SGD::new(1.0).unwrap();
    let params = Tree::dict([("w", Tree::from(mx::array![0.0]))]);
    let g = Tree::dict([("w", Tree::from(mx::array![1.0]))]);
    let p = opt.apply_gradients(&g, &params).unwrap();
    opt.set_learning_rate(0.5.into()).unwrap();
    assert_eq!(opt.learning_rate().unwrap().item::<f32>().unwrap(), 0.5);
    let p = opt.apply_gradients(&g, &p).unwrap();
    assert_eq!(
        p.get("w")
            .unwrap()
            .as_array()
            .unwrap()
            .item::<f32>()
            .unwrap(),
        -1.5
    );
    // A schedule takes the step at the time it is set.
    opt.set_learning_rate(schedulers::exponential_decay(1.0, 0.5).into())
        .unwrap();
    assert_eq!(opt.learning_rate().unwrap().item::<f32>().unwrap(), 0.25);
}

/// Adam's float32 update runs fused (through `compile`); it must give exactly what MLX's
/// sequence of operations gives, with and without bias correction.
#[test]
fn adam_fused_update_matches_the_plain_operations() {
    mx::random::seed(5);
    let shape = [37, 53];
    let g = mx::random::normal(&shape, mx::float32, None).unwrap();
    let p0 = mx::random::normal(&shape, mx::float32, None).unwrap();
    for bias_correction in [false, true] {
        let opts = optim::AdamOptions {
            bias_correction,
            ..Default::default()
        };
        let (b1, b2, eps, lr) = (0.9f64, 0.999f64, 1e-8f64, 0.01f32);
        let mut opt = optim::Adam::with_options(lr, &opts).unwrap();
        let tree = |a: &Array| Tree::dict([("w", Tree::from(a.clone()))]);
        let mut p = p0.clone();
        let (mut m, mut v) = (
            mx::zeros(&shape, mx::float32).unwrap(),
            mx::zeros(&shape, mx::float32).unwrap(),
        );
        let mut expected = p0.clone();
        for step in 1..=3 {
            let g = mx::multiply(&g, step as f64).unwrap();
            let out = opt.apply_gradients(&tree(&g), &tree(&p)).unwrap();
            p = out.get("w").unwrap().as_array().unwrap().clone();
            // MLX's operations, one at a time.
            m = mx::add(
                mx::multiply(b1, &m).unwrap(),
                mx::multiply(1.0 - b1, &g).unwrap(),
            )
            .unwrap();
            v = mx::add(
                mx::multiply(b2, &v).unwrap(),
                mx::multiply(1.0 - b2, mx::square(&g).unwrap()).unwrap(),
            )
            .unwrap();
            let lr_a = opt.learning_rate().unwrap();
            expected = if bias_correction {
                let t = opt.step();
                let c1 = mx::divide(&lr_a, mx::subtract(1, mx::power(b1, &t).unwrap()).unwrap())
                    .unwrap()
                    .astype(mx::float32)
                    .unwrap();
                let c2 = mx::rsqrt(mx::subtract(1, mx::power(b2, &t).unwrap()).unwrap())
                    .unwrap()
                    .astype(mx::float32)
                    .unwrap();
                let num = mx::multiply(&c1, &m).unwrap();
                let den = mx::add(mx::multiply(mx::sqrt(&v).unwrap(), &c2).unwrap(), eps).unwrap();
                mx::subtract(&expected, mx::divide(num, den).unwrap()).unwrap()
            } else {
                let num = mx::multiply(lr_a.astype(mx::float32).unwrap(), &m).unwrap();
                let den = mx::add(mx::sqrt(&v).unwrap(), eps).unwrap();
                mx::subtract(&expected, mx::divide(num, den).unwrap()).unwrap()
            };
            assert_eq!(
                p.to_vec::<f32>().unwrap(),
                expected.to_vec::<f32>().unwrap(),
                "step {step}, bias correction {bias_correction}"
            );
            let state = opt.state();
            let sm = state
                .get("w")
                .unwrap()
                .get("m")
                .unwrap()
                .as_array()
                .unwrap();
            assert_eq!(sm.to_vec::<f32>().unwrap(), m.to_vec::<f32>().unwrap());
        }
    }
}

/// The weight gradient of a linear layer (`x @ w.T`) comes out row-major, so the optimizer's
/// elementwise update reads it without gathering a transposed view.
#[test]
fn linear_weight_gradients_are_row_major() {
    mx::random::seed(6);
    let model = Mlp::new().unwrap();
    let (x, y) = data();
    let (_, grads) = nn::value_and_grad(loss_fn)(&model, &[x, y]).unwrap();
    for (name, g) in tree_flatten(&grads, "") {
        let g = g.as_array().unwrap().clone();
        mx::eval([&g]).unwrap();
        assert!(g.data().unwrap().is_row_contiguous(), "{name}");
    }
}
