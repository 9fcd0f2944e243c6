//! Optimizer workloads of issue 7: the MLP training step of ../shared/bench (784-512-512-10,
//! batch 256, cross-entropy, Adam), plain and compiled; the 2-layer transformer LM training
//! step of ../shared/bench (d_model 256, 4 heads, MLP 1024, seq 128, batch 16, vocab 1024,
//! causal, pre-norm, Adam), plain and compiled; and an Adam update of a 100M-parameter tree,
//! compiled. Prints median milliseconds.
//!
//!     cargo bench -p rmlx-optimizers --bench optim_bench [-- adam100m|mlp|lm]

use rmlx_core::tree::Tree;
use rmlx_core::{self as mx, Array};
use rmlx_nn::{self as nn, Forward, Module};
use rmlx_optimizers::{Adam, Optimizer};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone, nn::Module)]
struct Mlp {
    layers: Vec<nn::Linear>,
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

fn xent(m: &Mlp, a: &[Array]) -> mx::Result<Array> {
    let logits = m.forward(&a[0])?;
    let lse = mx::logsumexp_axes(&logits, [-1], false)?;
    let picked = mx::take_along_axis(&logits, &a[1].expand_dims([-1])?, Some(-1))?.squeeze()?;
    mx::mean(&(lse - picked))
}

/// The language model of ../shared/bench/peers.py (MLX's `LM` there): token and learned
/// position embeddings, MLX's `nn.TransformerEncoder` (2 pre-norm layers, ReLU MLP of 1024,
/// final LayerNorm) under an additive causal mask, and a linear head to the vocabulary.
#[derive(Clone, nn::Module)]
struct Lm {
    emb: nn::Embedding,
    pos: nn::Embedding,
    enc: nn::TransformerEncoder,
    out: nn::Linear,
}

const LM_D: usize = 256;
const LM_HEADS: usize = 4;
const LM_FF: usize = 1024;
const LM_T: usize = 128;
const LM_B: usize = 16;
const LM_V: usize = 1024;
const LM_LAYERS: usize = 2;

impl Lm {
    fn new() -> mx::Result<Lm> {
        let options = nn::TransformerOptions {
            mlp_dims: Some(LM_FF),
            norm_first: true,
            ..Default::default()
        };
        Ok(Lm {
            emb: nn::Embedding::new(LM_V, LM_D)?,
            pos: nn::Embedding::new(LM_T, LM_D)?,
            enc: nn::TransformerEncoder::with_options(LM_LAYERS, LM_D, LM_HEADS, &options)?,
            out: nn::Linear::new(LM_D, LM_V)?,
        })
    }
}

impl Forward for Lm {
    fn forward(&self, tok: &Array) -> mx::Result<Array> {
        let t = tok.shape()[1];
        let positions = mx::arange(0, t as i64, 1)?;
        let h = mx::add(self.emb.forward(tok)?, self.pos.forward(&positions)?)?;
        let mask = nn::MultiHeadAttention::create_additive_causal_mask(t, mx::float32)?;
        self.out.forward(&self.enc.forward(&h, Some(&mask))?)
    }
}

fn lm_xent(m: &Lm, a: &[Array]) -> mx::Result<Array> {
    let logits = m.forward(&a[0])?;
    let options = nn::losses::CrossEntropyOptions {
        reduction: nn::losses::Reduction::Mean,
        ..Default::default()
    };
    nn::losses::cross_entropy(&logits, &a[1], &options)
}

fn median(mut f: impl FnMut(), reps: usize) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[reps / 2]
}

fn mlp() {
    mx::random::seed(0);
    let model = Mlp {
        layers: vec![
            nn::Linear::new(784, 512).unwrap(),
            nn::Linear::new(512, 512).unwrap(),
            nn::Linear::new(512, 10).unwrap(),
        ],
    };
    let x = mx::random::normal(&[256, 784], mx::float32, None).unwrap();
    let y = mx::random::randint(0, 10, &[256], mx::int32, None).unwrap();
    mx::eval(&[x.clone(), y.clone()]).unwrap();

    let mut m = model.clone();
    let mut opt = Adam::new(1e-3).unwrap();
    let vg = nn::value_and_grad(xent);
    let plain = median(
        || {
            let (loss, grads) = vg(&m, &[x.clone(), y.clone()]).unwrap();
            opt.update(&mut m, &grads).unwrap();
            let mut outs = vec![loss];
            outs.extend(m.parameters().unwrap().leaves());
            outs.extend(opt.state().leaves());
            mx::eval(&outs).unwrap();
        },
        21,
    );
    println!("mlp_step: {plain:.2} ms");
    // The same forward and backward without the update: what the optimizer adds.
    let grad_only = median(
        || {
            let (loss, grads) = vg(&m, &[x.clone(), y.clone()]).unwrap();
            let mut outs = vec![loss];
            outs.extend(grads.leaves());
            mx::eval(&outs).unwrap();
        },
        21,
    );
    println!("mlp_value_and_grad (no update): {grad_only:.2} ms");

    let opt = Arc::new(Mutex::new(Adam::new(1e-3).unwrap()));
    opt.lock()
        .unwrap()
        .init(&model.trainable_parameters().unwrap())
        .unwrap();
    let ptemp = model.parameters().unwrap();
    let stemp = opt.lock().unwrap().state();
    let np = ptemp.leaves().len();
    let state = mx::CompileState::new([ptemp.leaves(), stemp.leaves()].concat());
    let (s, o, m0) = (state.clone(), opt.clone(), model.clone());
    let step = mx::compile_with_state(
        move |args: &[Array]| {
            let arrays = s.get();
            let params = ptemp.with_leaves(&mut arrays[..np].iter().cloned())?;
            let ostate: Tree = stemp.with_leaves(&mut arrays[np..].iter().cloned())?;
            let mut opt = o.lock().unwrap();
            opt.set_state(ostate)?;
            let mut m = m0.clone();
            m.update(&params, true)?;
            let (loss, grads) = nn::value_and_grad(xent)(&m, args)?;
            opt.update(&mut m, &grads)?;
            s.set([m.parameters()?.leaves(), opt.state().leaves()].concat());
            Ok(loss)
        },
        state.clone(),
    );
    let compiled = median(
        || {
            let mut outs = step(&[x.clone(), y.clone()]).unwrap();
            outs.extend(state.get());
            mx::eval(&outs).unwrap();
        },
        21,
    );
    println!("mlp_step_compiled: {compiled:.2} ms");
}

fn lm() {
    mx::random::seed(0);
    let model = Lm::new().unwrap();
    let tok = mx::random::randint(0, LM_V as i64, &[LM_B, LM_T], mx::int32, None).unwrap();
    let tgt = mx::random::randint(0, LM_V as i64, &[LM_B, LM_T], mx::int32, None).unwrap();
    mx::eval(&[tok.clone(), tgt.clone()]).unwrap();
    let mut outs = model.parameters().unwrap().leaves();
    outs.push(tok.clone());
    mx::eval(&outs).unwrap();

    let mut m = model.clone();
    let mut opt = Adam::new(1e-3).unwrap();
    let vg = nn::value_and_grad(lm_xent);
    let plain = median(
        || {
            let (loss, grads) = vg(&m, &[tok.clone(), tgt.clone()]).unwrap();
            opt.update(&mut m, &grads).unwrap();
            let mut outs = vec![loss];
            outs.extend(m.parameters().unwrap().leaves());
            outs.extend(opt.state().leaves());
            mx::eval(&outs).unwrap();
        },
        11,
    );
    println!("lm_step: {plain:.2} ms");
    let grad_only = median(
        || {
            let (loss, grads) = vg(&m, &[tok.clone(), tgt.clone()]).unwrap();
            let mut outs = vec![loss];
            outs.extend(grads.leaves());
            mx::eval(&outs).unwrap();
        },
        11,
    );
    println!("lm_value_and_grad (no update): {grad_only:.2} ms");

    let opt = Arc::new(Mutex::new(Adam::new(1e-3).unwrap()));
    opt.lock()
        .unwrap()
        .init(&model.trainable_parameters().unwrap())
        .unwrap();
    let ptemp = model.parameters().unwrap();
    let stemp = opt.lock().unwrap().state();
    let np = ptemp.leaves().len();
    let state = mx::CompileState::new([ptemp.leaves(), stemp.leaves()].concat());
    let (s, o, m0) = (state.clone(), opt.clone(), model.clone());
    let step = mx::compile_with_state(
        move |args: &[Array]| {
            let arrays = s.get();
            let params = ptemp.with_leaves(&mut arrays[..np].iter().cloned())?;
            let ostate: Tree = stemp.with_leaves(&mut arrays[np..].iter().cloned())?;
            let mut opt = o.lock().unwrap();
            opt.set_state(ostate)?;
            let mut m = m0.clone();
            m.update(&params, true)?;
            let (loss, grads) = nn::value_and_grad(lm_xent)(&m, args)?;
            opt.update(&mut m, &grads)?;
            s.set([m.parameters()?.leaves(), opt.state().leaves()].concat());
            Ok(loss)
        },
        state.clone(),
    );
    let compiled = median(
        || {
            let mut outs = step(&[tok.clone(), tgt.clone()]).unwrap();
            outs.extend(state.get());
            mx::eval(&outs).unwrap();
        },
        11,
    );
    println!("lm_step_compiled: {compiled:.2} ms");
}

fn adam100m() {
    // 100M float32 parameters: 25 matrices of 2000 x 2000.
    let n = 25;
    let shape = [2000usize, 2000];
    let params: Vec<Array> = (0..n)
        .map(|_| mx::random::normal(&shape, mx::float32, None).unwrap())
        .collect();
    let grads: Vec<Array> = (0..n)
        .map(|_| mx::random::normal(&shape, mx::float32, None).unwrap())
        .collect();
    mx::eval(&[params.clone(), grads.clone()].concat()).unwrap();
    let ptree = Tree::dict(
        params
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("p{i}"), Tree::from(a))),
    );
    let opt = Arc::new(Mutex::new(Adam::new(1e-3).unwrap()));
    opt.lock().unwrap().init(&ptree).unwrap();
    let stemp = opt.lock().unwrap().state();
    let state = mx::CompileState::new([ptree.leaves(), stemp.leaves()].concat());
    let (s, o, pt) = (state.clone(), opt.clone(), ptree.clone());
    let step = mx::compile_with_state(
        move |g: &[Array]| {
            let arrays = s.get();
            let params = pt.with_leaves(&mut arrays[..n].iter().cloned())?;
            let ostate = stemp.with_leaves(&mut arrays[n..].iter().cloned())?;
            let grads = pt.with_leaves(&mut g.iter().cloned())?;
            let mut opt = o.lock().unwrap();
            opt.set_state(ostate)?;
            let new = opt.apply_gradients(&grads, &params)?;
            s.set([new.leaves(), opt.state().leaves()].concat());
            Ok(opt.step())
        },
        state.clone(),
    );
    let ms = median(
        || {
            let mut outs = step(&grads).unwrap();
            outs.extend(state.get());
            mx::eval(&outs).unwrap();
        },
        7,
    );
    // Bytes moved per update: read p, g, m, v; write p, m, v (7 x 400 MB).
    let gbps = 7.0 * 4e8 / (ms / 1e3) / 1e9;
    println!("adam_100m_compiled: {ms:.1} ms ({gbps:.1} GB/s)");
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if run("mlp") {
        mlp();
    }
    if run("lm") {
        lm();
    }
    if run("adam100m") {
        adam100m();
    }
}
