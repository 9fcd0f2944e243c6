//! The char_lm example's pieces on small made-up text: vocabulary, split, reproducible
//! batches, a few training steps lowering the loss, and an exact resume from a checkpoint.

use rmlx::core as mx;
use rmlx::core::tree::tree_flatten;
use rmlx::nn::{self, Module};
use rmlx::optimizers as optim;
use rmlx_examples::charlm::{
    Gpt, GptConfig, Vocab, eval_loss, generate, lr_schedule, sample_batch, split, step_seed,
};
use rmlx_examples::classifier::{
    OptimizerKind, Trainer, checkpoint_paths, load_checkpoint_with, loss_fn, make_optimizer,
};

const TEXT: &str = "To be, or not to be, that is the question:\n\
Whether 'tis nobler in the mind to suffer\n\
The slings and arrows of outrageous fortune,\n\
Or to take arms against a sea of troubles\n";

fn cfg(vocab: usize) -> GptConfig {
    GptConfig {
        vocab,
        layers: 2,
        dim: 32,
        heads: 4,
        context: 16,
    }
}

#[test]
fn vocabulary_and_round_trip() {
    let v = Vocab::from_text(TEXT.as_bytes());
    let mut distinct: Vec<u8> = TEXT.bytes().collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(v.bytes(), &distinct[..]);
    let t = v.encode(TEXT.as_bytes()).unwrap();
    assert_eq!(t.len(), TEXT.len());
    assert!(t.iter().all(|&i| (i as usize) < v.len()));
    assert_eq!(v.decode(&t), TEXT);
    // Token order follows byte order.
    assert_eq!(v.encode(b"\n").unwrap(), vec![0]);
    let err = v.encode(b"Q").unwrap_err().to_string();
    assert!(err.contains("'Q'"), "{err}");
    assert_eq!(Vocab::from_hex(&v.to_hex()).unwrap(), v);
    assert!(Vocab::from_hex("0g").is_err());
}

#[test]
fn split_holds_out_the_tail() {
    let t: Vec<u32> = (0..1000).collect();
    let (train, valid) = split(&t, 0.1);
    assert_eq!(train.len(), 900);
    assert_eq!(valid[0], 900);
    assert_eq!(valid.len(), 100);
    let (train, valid) = split(&t, 0.0);
    assert_eq!((train.len(), valid.len()), (1000, 0));
}

#[test]
fn batches_are_reproducible_windows() {
    let v = Vocab::from_text(TEXT.as_bytes());
    let t = v.encode(TEXT.as_bytes()).unwrap();
    let (x1, y1) = sample_batch(&t, 8, 16, step_seed(3, 5)).unwrap();
    let (x2, y2) = sample_batch(&t, 8, 16, step_seed(3, 5)).unwrap();
    let (x3, _) = sample_batch(&t, 8, 16, step_seed(3, 6)).unwrap();
    assert_eq!(x1.shape(), &[8, 16]);
    let (x1, y1) = (x1.to_vec::<u32>().unwrap(), y1.to_vec::<u32>().unwrap());
    assert_eq!(x1, x2.to_vec::<u32>().unwrap());
    assert_eq!(y1, y2.to_vec::<u32>().unwrap());
    assert_ne!(x1, x3.to_vec::<u32>().unwrap());
    // Each row is a window of the text and its targets are the next characters.
    for r in 0..8 {
        let row = &x1[r * 16..(r + 1) * 16];
        let start = t
            .windows(16)
            .position(|w| w == row)
            .expect("a window of the text");
        assert_eq!(&y1[r * 16..(r + 1) * 16], &t[start + 1..start + 17]);
    }
    assert!(sample_batch(&t[..10], 2, 16, 0).is_err());
}

#[test]
fn training_lowers_the_loss_and_samples_decode() {
    let v = Vocab::from_text(TEXT.as_bytes());
    let t = v.encode(TEXT.as_bytes()).unwrap();
    mx::random::seed(0);
    let model = Gpt::new(&cfg(v.len())).unwrap();
    let before = eval_loss(&model, &t, 2, 8, 16).unwrap();
    let opt = make_optimizer(OptimizerKind::AdamW, 3e-3).unwrap();
    let mut trainer = Trainer::new(model, opt, false).unwrap();
    for step in 0..40 {
        let (x, y) = sample_batch(&t, 8, 16, step_seed(0, step)).unwrap();
        trainer.step(&x, &y).unwrap();
    }
    let after = eval_loss(trainer.model().unwrap(), &t, 2, 8, 16).unwrap();
    assert!(after < before - 0.5, "loss {before} -> {after}");
    let prompt = v.encode(b"To be").unwrap();
    let key = mx::random::key(1);
    let out = generate(trainer.model().unwrap(), &prompt, 30, 16, 0.8, &key).unwrap();
    assert_eq!(out.len(), 30);
    assert_eq!(v.decode(&out).len(), 30);
    let again = generate(trainer.model().unwrap(), &prompt, 30, 16, 0.8, &key).unwrap();
    assert_eq!(out, again);
    assert!(
        Gpt::new(&GptConfig {
            heads: 5,
            ..cfg(v.len())
        })
        .is_err()
    );
}

fn run_steps(trainer: &mut Trainer<Gpt>, t: &[u32], steps: std::ops::Range<u64>) -> Vec<f32> {
    steps
        .map(|s| {
            let (x, y) = sample_batch(t, 4, 16, step_seed(7, s)).unwrap();
            trainer.step(&x, &y).unwrap()
        })
        .collect()
}

fn weights(m: &Gpt) -> Vec<Vec<f32>> {
    m.parameters()
        .unwrap()
        .leaves()
        .iter()
        .map(|a| a.to_vec::<f32>().unwrap())
        .collect()
}

/// The optimizer of the tests: MLX's AdamW at 1e-3, or (`scheduled`) the example's
/// bias-corrected AdamW with warmup and cosine decay.
fn optimizer(scheduled: bool) -> Box<dyn optim::Optimizer + Send> {
    if scheduled {
        let opts = optim::AdamWOptions {
            bias_correction: true,
            ..Default::default()
        };
        Box::new(optim::AdamW::with_options(lr_schedule(1e-3, 2, Some(6)).unwrap(), &opts).unwrap())
    } else {
        make_optimizer(OptimizerKind::AdamW, 1e-3).unwrap()
    }
}

fn resume_matches(compile: bool, scheduled: bool) {
    let v = Vocab::from_text(TEXT.as_bytes());
    let t = v.encode(TEXT.as_bytes()).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "rmlx-charlm-test-{}-{compile}-{scheduled}",
        std::process::id()
    ));
    let path = dir.join("ck.safetensors");

    // The unbroken run: 6 steps.
    mx::random::seed(11);
    let model = Gpt::new(&cfg(v.len())).unwrap();
    let fresh = model.clone();
    let opt = optimizer(scheduled);
    let mut a = Trainer::new(model, opt, compile).unwrap();
    let mut losses_a = run_steps(&mut a, &t, 0..3);
    let meta = vec![("step".to_string(), "3".to_string())];
    a.save_checkpoint_with(&path, &meta).unwrap();
    losses_a.extend(run_steps(&mut a, &t, 3..6));

    // A new process would start from other weights: load the checkpoint over them.
    let mut model = fresh;
    let mut opt = optimizer(scheduled);
    let got = load_checkpoint_with(&path, &mut model, opt.as_mut(), "a GPT").unwrap();
    assert!(got.contains(&meta[0]));
    let mut b = Trainer::new(model, opt, compile).unwrap();
    assert_eq!(b.steps_done().unwrap(), 3);
    let losses_b = run_steps(&mut b, &t, 3..6);
    assert_eq!(&losses_a[3..], &losses_b[..]);
    assert_eq!(weights(a.model().unwrap()), weights(b.model().unwrap()));
    let (w, o) = checkpoint_paths(&path);
    assert!(w.is_file() && o.is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn checkpoint_resume_continues_exactly() {
    resume_matches(false, false);
}

#[test]
fn checkpoint_resume_continues_exactly_compiled() {
    resume_matches(true, false);
}

#[test]
fn checkpoint_resume_continues_exactly_with_the_schedule() {
    resume_matches(false, true);
    resume_matches(true, true);
}

/// One batch through a tiny GPT whose weights come from the PyTorch reference
/// (tools/reference/char_lm_torch.py, golden by tools/goldens/gen_examples_char_lm.py): the
/// loss and the gradient of every parameter match torch's.
#[test]
fn gradients_match_torch() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/goldens/char_lm_grads.safetensors"
    );
    let st = mx::io::safetensors::load_safetensors(path).unwrap();
    let get = |k: &str| {
        st.arrays
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| panic!("{k} missing from the golden"))
    };
    let weights: Vec<(String, mx::Array)> = st
        .arrays
        .iter()
        .filter(|(k, _)| !k.starts_with("grad.") && !["x", "y", "loss"].contains(&k.as_str()))
        .cloned()
        .collect();
    let x = get("x").astype(mx::uint32).unwrap();
    let y = get("y").astype(mx::uint32).unwrap();
    let cfg = GptConfig {
        vocab: 84,
        layers: 2,
        dim: 16,
        heads: 2,
        context: 12,
    };
    let mut model = Gpt::new(&cfg).unwrap();
    model.load_weights_from(weights, true).unwrap();
    let (loss, grads) = nn::value_and_grad(loss_fn::<Gpt>)(&model, &[x, y]).unwrap();
    let want = get("loss").to_vec::<f32>().unwrap()[0];
    let got = loss.item::<f32>().unwrap();
    assert!((got - want).abs() < 1e-5, "loss {got} vs torch {want}");
    let flat = tree_flatten(&grads, "");
    assert_eq!(flat.len(), 2 + 2 * 12 + 4, "one gradient per parameter");
    let mut worst = Vec::new();
    for (k, g) in flat {
        let g = g.as_array().unwrap().to_vec::<f32>().unwrap();
        let w = get(&format!("grad.{k}")).to_vec::<f32>().unwrap();
        assert_eq!(g.len(), w.len(), "{k}");
        let scale = w.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        let err = g
            .iter()
            .zip(&w)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
            / scale;
        worst.push((k, err));
    }
    let bad: Vec<_> = worst.iter().filter(|(_, e)| *e > 1e-4).collect();
    assert!(
        bad.is_empty(),
        "gradients off (relative to the largest): {bad:?}"
    );
}
