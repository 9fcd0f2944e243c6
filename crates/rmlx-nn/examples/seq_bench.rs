//! Forward + backward timings of the issue 6 sequence workloads (median milliseconds):
//! LSTM (input 64, hidden 128, sequence 100, batch 32) and TransformerEncoderLayer (dims 256,
//! 4 heads, sequence 128, batch 16). Peers: bench/peers_seq.py.
//!
//! Run: `cargo run --release -p rmlx-nn --example seq_bench -- [runs]`

use rmlx_nn::core::{self as mx, Array, Result};
use rmlx_nn::{self as nn, Module};
use std::time::Instant;

fn median_ms(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    for _ in 0..2 {
        f()?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times[times.len() / 2])
}

fn eval_all(value: &Array, grads: &mx::tree::Tree) -> Result<()> {
    let mut all = vec![value.clone()];
    all.extend(nn::flat_parameters(grads).into_iter().map(|(_, a)| a));
    mx::eval(&all)
}

fn main() -> Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    mx::random::seed(0);

    let lstm = nn::LSTM::new(64, 128)?;
    let x = mx::random::normal(&[32, 100, 64], mx::float32, None)?;
    mx::eval(std::slice::from_ref(&x))?;
    let vg =
        nn::value_and_grad(|m: &nn::LSTM, a: &[Array]| mx::sum(&m.forward(&a[0], None, None)?.0));
    let t = median_ms(runs, || {
        let (v, g) = vg(&lstm, std::slice::from_ref(&x))?;
        eval_all(&v, &g)
    })?;
    println!("lstm_fwd_bwd (in 64, hidden 128, seq 100, batch 32): {t:.2} ms");
    let t = median_ms(runs, || {
        let (h, _) = lstm.forward(&x, None, None)?;
        mx::eval(&[h])
    })?;
    println!("lstm_fwd: {t:.2} ms");

    let mut layer = nn::TransformerEncoderLayer::new(256, 4)?;
    layer.eval()?;
    let x = mx::random::normal(&[16, 128, 256], mx::float32, None)?;
    mx::eval(std::slice::from_ref(&x))?;
    let vg = nn::value_and_grad(|m: &nn::TransformerEncoderLayer, a: &[Array]| {
        mx::sum(&m.forward(&a[0], None)?)
    });
    let t = median_ms(runs, || {
        let (v, g) = vg(&layer, std::slice::from_ref(&x))?;
        eval_all(&v, &g)
    })?;
    println!("encoder_layer_fwd_bwd (d 256, 4 heads, seq 128, batch 16): {t:.2} ms");
    let t = median_ms(runs, || mx::eval(&[layer.forward(&x, None)?]))?;
    println!("encoder_layer_fwd: {t:.2} ms");
    Ok(())
}
