//! The MNIST example's pieces on small data made here: IDX files (good and corrupt), batching,
//! training steps lowering the loss, checkpoints resuming exactly, the PNG chart.

use std::io::Write;
use std::path::{Path, PathBuf};

use rmlx::core as mx;
use rmlx::core::tree::tree_flatten;
use rmlx::nn::Module;
use rmlx_examples::classifier::{
    CheckpointMeta, Cnn, Mlp, OptimizerKind, Trainer, checkpoint_paths, epoch_seed,
    load_checkpoint, make_optimizer, read_checkpoint_meta, train_epoch,
};
use rmlx_examples::datasets::idx::{self, encode_u8};
use rmlx_examples::datasets::mnist::Split;
use rmlx_examples::progress::{Mode, Progress};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rmlx-mnist-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// `n` 4x4 images of 4 classes: class `c` lights pixels `4c..4c+4` (a row), plus noise.
fn synthetic(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut pixels = Vec::with_capacity(n * 16);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = (i * 7 + i / 3) % 4;
        labels.push(c as u8);
        for p in 0..16 {
            let noise = ((i * 31 + p * 17) % 23) as u8 * 3;
            pixels.push(if p / 4 == c { 200 + noise / 2 } else { noise });
        }
    }
    (pixels, labels)
}

fn synthetic_split(n: usize) -> Split {
    let (pixels, labels) = synthetic(n);
    let images = idx::parse(&encode_u8(&[n as u32, 4, 4], &pixels)[..], "img").unwrap();
    let labels = idx::parse(&encode_u8(&[n as u32], &labels)[..], "lab").unwrap();
    Split::from_idx(images, "img", labels, "lab").unwrap()
}

#[test]
fn idx_files_raw_and_gzipped_load_as_a_split() {
    let (pixels, labels) = synthetic(10);
    let img = tmp("images-idx3-ubyte.gz");
    let lab = tmp("labels-idx1-ubyte");
    std::fs::write(&img, gzip(&encode_u8(&[10, 4, 4], &pixels))).unwrap();
    std::fs::write(&lab, encode_u8(&[10], &labels)).unwrap();
    let split = Split::from_files(&img, &lab).unwrap();
    assert_eq!(split.images.shape(), &[10, 16]);
    assert_eq!((split.rows, split.cols, split.len()), (4, 4, 10));
    let x = split.images.to_vec::<f32>().unwrap();
    assert_eq!(x[0], f32::from(pixels[0]) / 255.0);
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(
        split.labels.to_vec::<u32>().unwrap(),
        labels.iter().map(|&l| u32::from(l)).collect::<Vec<_>>()
    );
    assert_eq!(split.labels.dtype(), mx::uint32);

    // Corrupt files: errors naming the file.
    let err = |img: &Path, lab: &Path| format!("{:#}", Split::from_files(img, lab).unwrap_err());
    let bad = tmp("bad-idx");
    std::fs::write(&bad, b"\x00\x00\x08\x03\x00\x00\x00\x0a").unwrap();
    let e = err(&bad, &lab);
    assert!(e.contains("bad-idx") && e.contains("truncated"), "{e}");
    let mut cut = gzip(&encode_u8(&[10, 4, 4], &pixels));
    cut.truncate(cut.len() / 2);
    std::fs::write(&bad, cut).unwrap();
    assert!(err(&bad, &lab).contains("bad-idx"));
    std::fs::write(&bad, encode_u8(&[9], &labels[..9])).unwrap();
    let e = err(&img, &bad);
    assert!(e.contains("10 images but") && e.contains("9 labels"), "{e}");
    let e = err(&lab, &lab);
    assert!(
        e.contains("expected u8 images of shape [n, rows, cols]"),
        "{e}"
    );
    std::fs::write(&bad, encode_u8(&[4_000_000, 1000, 1000], &[])).unwrap();
    assert!(err(&bad, &lab).contains("too large"));
    std::fs::write(&bad, encode_u8(&[60000, 28, 28], &[1, 2, 3])).unwrap();
    assert!(err(&bad, &lab).contains("need 47040000 bytes of data, the file has 3"));
}

#[test]
fn batches_cover_the_split_once_in_a_seeded_order() {
    let split = synthetic_split(10);
    assert_eq!(split.num_batches(4), 3);
    let sizes: Vec<usize> = split
        .batches(4, Some(1))
        .map(|(_, y)| y.shape()[0])
        .collect();
    assert_eq!(sizes, vec![4, 4, 2]);
    let order = |seed| -> Vec<u32> {
        split
            .batches(4, Some(seed))
            .flat_map(|(x, y)| {
                assert_eq!(x.shape()[1], 16);
                y.to_vec::<u32>().unwrap()
            })
            .collect()
    };
    // Every label comes once: the labels of a shuffled pass are a permutation.
    let mut a = order(1);
    assert_eq!(a, order(1));
    assert_ne!(a, order(2));
    let plain: Vec<u32> = split
        .batches(4, None)
        .flat_map(|(_, y)| y.to_vec::<u32>().unwrap())
        .collect();
    assert_eq!(plain, split.labels.to_vec::<u32>().unwrap());
    let mut sorted_plain = plain.clone();
    a.sort();
    sorted_plain.sort();
    assert_eq!(a, sorted_plain);
    // Images and labels stay paired under shuffling: the bright row is the label's.
    for (x, y) in split.batches(3, Some(5)) {
        let x = x.to_vec::<f32>().unwrap();
        for (i, c) in y.to_vec::<u32>().unwrap().into_iter().enumerate() {
            assert!(x[i * 16 + 4 * c as usize] > 0.7);
        }
    }
    assert_eq!(split.head(3).unwrap().len(), 3);
    assert_eq!(split.batches(4, None).len(), 3);
}

fn trained(compile: bool, optimizer: OptimizerKind, steps: usize) -> Vec<f32> {
    mx::random::seed(1);
    let split = synthetic_split(64);
    let model = Mlp::new(16, 32, 2, 4).unwrap();
    let opt = make_optimizer(
        optimizer,
        if optimizer == OptimizerKind::Sgd {
            0.5
        } else {
            1e-2
        },
    )
    .unwrap();
    let mut trainer = Trainer::new(model, opt, compile).unwrap();
    let mut losses = Vec::new();
    for epoch in 0..steps {
        for (x, y) in split.batches(16, Some(epoch as u64)) {
            losses.push(trainer.step(&x, &y).unwrap());
        }
    }
    assert_eq!(trainer.steps_done().unwrap(), (steps * 4) as u64);
    let acc = trainer.accuracy(&split, 10).unwrap();
    assert!(acc > 0.9, "accuracy {acc} after {losses:?}");
    losses
}

#[test]
fn training_lowers_the_loss_with_every_optimizer_compiled_or_not() {
    for kind in [
        OptimizerKind::Sgd,
        OptimizerKind::Adam,
        OptimizerKind::AdamW,
    ] {
        let plain = trained(false, kind, 10);
        assert!(
            plain.last().unwrap() < &(0.3 * plain[0]),
            "{kind:?}: {plain:?}"
        );
        let compiled = trained(true, kind, 10);
        for (a, b) in plain.iter().zip(&compiled) {
            assert!(
                (a - b).abs() <= 1e-4 * a.abs().max(1.0),
                "{kind:?}: {plain:?} vs {compiled:?}"
            );
        }
    }
}

#[test]
fn the_cnn_trains_on_28x28_images() {
    mx::random::seed(2);
    let n = 16;
    let pixels: Vec<u8> = (0..n * 784)
        .map(|i| ((i / 784) % 2 * 200 + i % 7) as u8)
        .collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    let split = Split::from_idx(
        idx::parse(&encode_u8(&[n as u32, 28, 28], &pixels)[..], "i").unwrap(),
        "i",
        idx::parse(&encode_u8(&[n as u32], &labels)[..], "l").unwrap(),
        "l",
    )
    .unwrap();
    let mut trainer = Trainer::new(
        Cnn::new(10).unwrap(),
        make_optimizer(OptimizerKind::Adam, 1e-3).unwrap(),
        false,
    )
    .unwrap();
    let (x, y) = split.batches(n, None).next().unwrap();
    let first = trainer.step(&x, &y).unwrap();
    let mut last = first;
    for _ in 0..5 {
        last = trainer.step(&x, &y).unwrap();
    }
    assert!(last < first, "{first} -> {last}");
}

fn params(trainer: &mut Trainer<Mlp>) -> Vec<(String, Vec<f32>)> {
    tree_flatten(&trainer.model().unwrap().parameters().unwrap(), "")
        .into_iter()
        .map(|(k, t)| (k, t.as_array().unwrap().to_vec::<f32>().unwrap()))
        .collect()
}

fn epochs(
    trainer: &mut Trainer<Mlp>,
    split: &Split,
    from: usize,
    to: usize,
    meta: &mut CheckpointMeta,
) {
    for epoch in from..=to {
        let bar = Progress::with_mode("t", split.num_batches(16), Mode::Hidden);
        let (summary, losses) = train_epoch(trainer, split, 16, epoch_seed(7, epoch), bar).unwrap();
        assert_eq!(summary.steps, losses.len());
        meta.step_losses.extend(losses);
        meta.epoch = epoch;
    }
}

#[test]
fn a_resumed_run_continues_exactly() {
    let split = synthetic_split(40);
    for compile in [false, true] {
        for kind in [OptimizerKind::Adam, OptimizerKind::Sgd] {
            mx::random::seed(5);
            let model = Mlp::new(16, 8, 1, 4).unwrap();
            let fresh_opt = || make_optimizer(kind, 0.01).unwrap();
            let mut meta = CheckpointMeta {
                model: "mlp".into(),
                dataset: "mnist".into(),
                optimizer: kind.name().into(),
                seed: 7,
                batch_size: 16,
                ..Default::default()
            };

            // Unbroken: 3 epochs.
            let mut unbroken = Trainer::new(model.clone(), fresh_opt(), compile).unwrap();
            let mut full = meta.clone();
            epochs(&mut unbroken, &split, 1, 3, &mut full);

            // 1 epoch, saved; a fresh model (other weights) and optimizer load it; 2 more.
            let mut first = Trainer::new(model.clone(), fresh_opt(), compile).unwrap();
            epochs(&mut first, &split, 1, 1, &mut meta);
            meta.test_accuracy.push(first.accuracy(&split, 8).unwrap());
            let path = tmp(&format!("ckpt-{compile}-{}", kind.name()));
            first.save_checkpoint(&path, &meta).unwrap();
            let (w, s) = checkpoint_paths(&path);
            assert!(w.is_file() && s.is_file());

            let mut other = Mlp::new(16, 8, 1, 4).unwrap();
            let mut opt = fresh_opt();
            let loaded = load_checkpoint(&path, &mut other, opt.as_mut()).unwrap();
            assert_eq!(loaded, meta);
            assert_eq!(read_checkpoint_meta(&path).unwrap(), meta);
            assert_eq!(opt.step().item::<u64>().unwrap(), 3);
            let mut resumed = Trainer::new(other, opt, compile).unwrap();
            let mut meta2 = loaded.clone();
            epochs(&mut resumed, &split, 2, 3, &mut meta2);

            assert_eq!(
                params(&mut unbroken),
                params(&mut resumed),
                "compile {compile}, {kind:?}"
            );
            assert_eq!(full.step_losses, meta2.step_losses);
            assert_eq!(resumed.steps_done().unwrap(), 9);

            // The weights file alone loads with Module::load_weights.
            let mut plain = Mlp::new(16, 8, 1, 4).unwrap();
            plain.load_weights(w.to_str().unwrap(), true).unwrap();

            // A checkpoint for another model is an error, not a panic.
            let mut wrong = Mlp::new(16, 9, 1, 4).unwrap();
            let mut opt = fresh_opt();
            let e = format!(
                "{:#}",
                load_checkpoint(&path, &mut wrong, opt.as_mut()).unwrap_err()
            );
            assert!(e.contains("does not fit this model"), "{e}");
        }
    }
    let e = format!("{:#}", read_checkpoint_meta(&tmp("missing")).unwrap_err());
    assert!(e.contains("not found"), "{e}");
    let junk = tmp("junk.safetensors");
    std::fs::write(&junk, b"not a safetensors file").unwrap();
    assert!(read_checkpoint_meta(&junk).is_err());
}

#[test]
fn the_chart_is_a_valid_png() {
    let losses: Vec<f32> = (0..500)
        .map(|i| 2.3 * (-(i as f32) / 100.0).exp() + 0.05)
        .collect();
    let path = tmp("chart.png");
    rmlx_examples::plot::write_training_chart(
        &path,
        "MLP ON MNIST",
        &losses,
        &[0.96, 0.975, 0.981],
    )
    .unwrap();
    let png = std::fs::read(&path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Walk the chunks: lengths, CRCs, IHDR, and the pixel data's size.
    let mut pos = 8;
    let (mut width, mut height, mut idat, mut kinds) = (0, 0, Vec::new(), Vec::new());
    while pos < png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &png[pos + 4..pos + 8];
        let body = &png[pos + 8..pos + 8 + len];
        let crc = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().unwrap());
        assert_eq!(
            crc,
            rmlx_examples::plot::crc32(&png[pos + 4..pos + 8 + len])
        );
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(body[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
                assert_eq!(&body[8..10], &[8, 2]);
            }
            b"IDAT" => idat.extend_from_slice(body),
            _ => {}
        }
        kinds.push(String::from_utf8_lossy(kind).into_owned());
        pos += 12 + len;
    }
    assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).unwrap();
    assert_eq!(raw.len(), height * (1 + 3 * width));
    // Something was drawn: dark (text, axes), blue (loss) and orange (accuracy) pixels.
    let pixels: Vec<&[u8]> = raw
        .chunks(1 + 3 * width)
        .flat_map(|row| row[1..].chunks(3))
        .collect();
    assert!(pixels.iter().any(|p| p == &[30, 30, 30]));
    assert!(pixels.iter().any(|p| p == &[31, 90, 180]));
    assert!(pixels.iter().any(|p| p == &[230, 110, 20]));
    // Empty histories still make a chart.
    let empty = rmlx_examples::plot::training_chart("EMPTY", &[], &[]);
    assert_eq!(&empty[..4], b"\x89PNG");
}
