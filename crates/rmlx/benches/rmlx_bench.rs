//! rmlx's benchmark, with the workload names of the peer benchmark (../shared/bench/peers.py)
//! and of the repo's own peer script (bench/peers_extra.py), so results sit side by side.
//!
//!     cargo bench -p rmlx --bench rmlx_bench -- [--out FILE] [--runs 3] [--only NAME,NAME]
//!
//! (`--out` defaults to the workspace's `target/rmlx_bench.json`; a relative path is relative
//! to crates/rmlx, where cargo runs benches.)
//!
//! Each workload builds its graph and evaluates it; 2 warm-up calls, then reps for about one
//! second (at least 5); the median and min are reported. With `--runs 3` the whole suite runs
//! three times and the JSON holds the median of the three medians (with each run's median).

use rmlx::core as mx;
use std::time::Instant;

type Workload = Box<dyn FnMut() -> mx::Result<()>>;

fn randn(shape: &[usize], seed: u64) -> mx::Array {
    // A small deterministic generator (xorshift + Box-Muller) keeps the bench free of the
    // random module, which a later issue brings.
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let v: Vec<f32> = (0..n)
        .map(|_| {
            let (u1, u2) = (next(), next());
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
        })
        .collect();
    let a = mx::Array::from_slice(&v, shape).expect("shape matches");
    a.eval().expect("eval");
    a
}

fn workloads() -> Vec<(&'static str, Workload)> {
    let n16m = [1usize << 24];
    let a = randn(&n16m, 1);
    let b = randn(&n16m, 2);
    let big = randn(&[4096, 4096], 3);
    let scalar = mx::Array::scalar(1.5f32);
    scalar.eval().expect("eval");
    let mut w: Vec<(&'static str, Workload)> = Vec::new();
    macro_rules! wl {
        ($name:expr, $body:expr) => {
            w.push(($name, Box::new($body)));
        };
    }
    let (a1, b1) = (a.clone(), b.clone());
    wl!("add_16m", move || mx::add(&a1, &b1)?.eval());
    let (a1, b1) = (a.clone(), b.clone());
    wl!("multiply_16m", move || mx::multiply(&a1, &b1)?.eval());
    let a1 = a.clone();
    wl!("exp_16m", move || mx::exp(&a1)?.eval());
    let a1 = a.clone();
    wl!("tanh_16m", move || mx::tanh(&a1)?.eval());
    let a1 = a.clone();
    wl!("sigmoid_16m", move || mx::sigmoid(&a1)?.eval());
    let x = big.clone();
    wl!("ew_chain", move || (mx::tanh(&(&x * 2.0 + 1.0))?
        * mx::sigmoid(&x)?)
    .eval());
    let x = big.clone();
    wl!("sum_axis0", move || mx::sum_axes(&x, 0, false)?.eval());
    let x = big.clone();
    wl!("sum_axis1", move || mx::sum_axes(&x, 1, false)?.eval());
    let x = big.clone();
    wl!("argmax_last", move || mx::argmax_axis(&x, -1, false)?
        .eval());
    let x = big.clone();
    wl!("softmax_last", move || mx::softmax(&x, -1)?.eval());
    let s = scalar.clone();
    wl!("scalar_op", move || (&s + 1.0).eval());
    // --- matmul family (peers.py: matmul_256/1024/2048, bmm_64x128) ---
    for (name, n) in [
        ("matmul_256", 256usize),
        ("matmul_1024", 1024),
        ("matmul_2048", 2048),
    ] {
        let (a, b) = (randn(&[n, n], 30 + n as u64), randn(&[n, n], 31 + n as u64));
        wl!(name, move || mx::matmul(&a, &b)?.eval());
    }
    let (a, b) = (randn(&[64, 128, 128], 32), randn(&[64, 128, 128], 33));
    wl!("bmm_64x128", move || mx::matmul(&a, &b)?.eval());
    // --- conv ---
    // NHWC input (batch 32, 32x32), 3x3 kernel, padding 1: the first layer of a small CNN
    // and a 64-channel inner layer.
    let (x3, w3) = (randn(&[32, 32, 32, 3], 11), randn(&[64, 3, 3, 3], 12));
    wl!("conv2d_3to64", move || mx::conv2d(&x3, &w3, 1, 1, 1, 1)?
        .eval());
    let (x64, w64) = (randn(&[32, 32, 32, 64], 13), randn(&[64, 3, 3, 64], 14));
    wl!("conv2d_64to64", move || mx::conv2d(&x64, &w64, 1, 1, 1, 1)?
        .eval());
    // --- quant ---
    {
        let wf = randn(&[4096, 4096], 40);
        let (wq, sc, bi) =
            mx::quantize(&wf, Some(64), Some(4), mx::QuantMode::Affine).expect("quantize");
        mx::eval([&wq, &sc]).expect("eval");
        let bi = bi.expect("affine biases");
        bi.eval().expect("eval");
        for (name, rows) in [("qmm_4bit_b1", 1usize), ("qmm_4bit_b32", 32)] {
            let x = randn(&[rows, 4096], 41);
            let (wq, sc, bi) = (wq.clone(), sc.clone(), bi.clone());
            wl!(name, move || mx::quantized_matmul(
                &x,
                &wq,
                &sc,
                Some(&bi),
                true,
                Some(64),
                Some(4),
                mx::QuantMode::Affine
            )?
            .eval());
        }
        let wt = wf.T();
        for (name, rows) in [("matmul_b1_4096", 1usize), ("matmul_b32_4096", 32)] {
            let x = randn(&[rows, 4096], 41);
            let wt = wt.clone();
            wl!(name, move || mx::matmul(&x, &wt)?.eval());
        }
    }
    // --- fast ---
    let x = randn(&[4096, 1024], 20);
    let (lw, lb) = (randn(&[1024], 21), randn(&[1024], 22));
    wl!("layernorm_1024", move || mx::fast::layer_norm(
        &x,
        Some(&lw),
        Some(&lb),
        1e-5
    )?
    .eval());
    let (q, k, v) = (
        randn(&[4, 8, 1024, 64], 23),
        randn(&[4, 8, 1024, 64], 24),
        randn(&[4, 8, 1024, 64], 25),
    );
    wl!("sdpa_causal_1024", move || {
        mx::fast::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            0.125,
            mx::fast::AttentionMask::Causal,
            None,
        )?
        .eval()
    });
    // --- transforms ---
    let x = big.clone();
    let chain =
        mx::compile(|a: &[mx::Array]| Ok(mx::tanh(&(&a[0] * 2.0 + 1.0))? * mx::sigmoid(&a[0])?));
    wl!("ew_chain_compiled", move || chain(std::slice::from_ref(
        &x
    ))?[0]
        .eval());
    // A compiled chain `sin(x)*2+1` over 1M and 16M float32, on an input the caller keeps
    // (the fused kernel writes a fresh output) and fed its own previous output, a temporary
    // nobody else holds (MLX's compiled kernels write such an input's buffer in place).
    let sin_chain = std::rc::Rc::new(mx::compile(|a: &[mx::Array]| {
        Ok(mx::sin(&a[0])? * 2.0 + 1.0)
    }));
    for (held, fed, n) in [
        ("compiled_sin_1m", "compiled_sin_1m_fed", 1usize << 20),
        ("compiled_sin_16m", "compiled_sin_16m_fed", 1 << 24),
    ] {
        let (x, f) = (randn(&[n], 37), sin_chain.clone());
        wl!(held, move || f(std::slice::from_ref(&x))?[0].eval());
        let (mut s, f) = (randn(&[n], 38), sin_chain.clone());
        let spare = scalar.clone();
        wl!(fed, move || {
            let x = std::mem::replace(&mut s, spare.clone());
            // The slice holding `x` is dropped with this statement: the graph holds it alone.
            let y = f(&[x])?.remove(0);
            y.eval()?;
            s = y;
            Ok(())
        });
    }
    let (wg, xg) = (randn(&[1024, 1024], 31) * 0.03, randn(&[1024, 256], 32));
    mx::eval([&wg, &xg]).expect("eval");
    let vg = mx::value_and_grad(
        |a: &[mx::Array]| mx::sum(&mx::tanh(&mx::matmul(&a[0], &a[1])?)?),
        0,
    );
    wl!("grad_tanh_matmul", move || {
        let (v, g) = vg(&[wg.clone(), xg.clone()])?;
        mx::eval([&v[0], &g[0]])
    });
    // 16M float32 standard normals from a fixed key (numpy's standard_normal, torch.randn).
    let k = mx::random::key(0);
    wl!("random_normal_16m", move || mx::random::normal(
        &[1usize << 24],
        mx::float32,
        Some(&k)
    )?
    .eval());
    let small = randn(&[256], 33);
    wl!("compile_trace_1000", move || {
        let f = mx::compile(thousand_ops);
        f(std::slice::from_ref(&small)).map(|_| ())
    });
    let small = randn(&[256], 34);
    let hot = mx::compile(thousand_ops);
    hot(std::slice::from_ref(&small)).expect("trace");
    wl!("compile_cache_hit_1000", move || hot(std::slice::from_ref(
        &small
    ))
    .map(|_| ()));
    let m512 = randn(&[512, 512], 35);
    wl!("svd_512", move || mx::eval(mx::linalg::svd(&m512)?.iter()));
    let g512 = randn(&[512, 512], 36);
    let s512 = mx::add(&g512, g512.T()).expect("add");
    s512.eval().expect("eval");
    wl!("eigh_512", move || {
        let (w, v) = mx::linalg::eigh(&s512, "L")?;
        mx::eval([&w, &v])
    });
    // --- fft ---
    let (re, im) = (randn(&[1 << 20], 41), randn(&[1 << 20], 42));
    let z = mx::add(
        &re.astype(mx::complex64).expect("cast"),
        &mx::multiply(
            &im.astype(mx::complex64).expect("cast"),
            mx::C64::new(0.0, 1.0),
        )
        .expect("multiply"),
    )
    .expect("add");
    z.eval().expect("eval");
    wl!("fft_1m_c64", move || mx::fft::fft(&z)?.eval());
    let img = randn(&[1024, 1024], 43);
    wl!("rfft2_1024", move || mx::fft::rfft2(&img)?.eval());
    nn_workloads(&mut w);
    w
}

/// Issue 6's layer workloads, forward + backward: the gradients of the output's sum with
/// respect to every parameter (as bench/peers_extra.py's PyTorch and MLX versions).
fn nn_workloads(w: &mut Vec<(&'static str, Workload)>) {
    use rmlx::nn::{self, Forward, Module};
    fn eval_all(value: &mx::Array, grads: &mx::tree::Tree) -> mx::Result<()> {
        let mut all = vec![value.clone()];
        all.extend(nn::flat_parameters(grads).into_iter().map(|(_, a)| a));
        mx::eval(&all)
    }
    mx::random::seed(0);
    let lstm = nn::LSTM::new(64, 128).expect("lstm");
    let x = randn(&[32, 100, 64], 51);
    let vg = nn::value_and_grad(|m: &nn::LSTM, a: &[mx::Array]| {
        mx::sum(&m.forward(&a[0], None, None)?.0)
    });
    w.push((
        "lstm_fwd_bwd",
        Box::new(move || {
            let (v, g) = vg(&lstm, std::slice::from_ref(&x))?;
            eval_all(&v, &g)
        }),
    ));
    let mut layer = nn::TransformerEncoderLayer::new(256, 4).expect("encoder layer");
    layer.eval().expect("eval mode");
    let x = randn(&[16, 128, 256], 52);
    let vg = nn::value_and_grad(|m: &nn::TransformerEncoderLayer, a: &[mx::Array]| {
        mx::sum(&m.forward(&a[0], None)?)
    });
    w.push((
        "transformer_layer_fwd_bwd",
        Box::new(move || {
            let (v, g) = vg(&layer, std::slice::from_ref(&x))?;
            eval_all(&v, &g)
        }),
    ));
    let block = nn::Sequential::new()
        .append(
            nn::Conv2d::with_options(
                64,
                64,
                3,
                &nn::Conv2dOptions {
                    padding: 1.into(),
                    ..Default::default()
                },
            )
            .expect("conv"),
        )
        .append(nn::BatchNorm::new(64).expect("batch norm"))
        .append(nn::ReLU::new());
    let x = randn(&[32, 32, 32, 64], 53);
    let vg = nn::value_and_grad(|m: &nn::Sequential, a: &[mx::Array]| mx::sum(&m.forward(&a[0])?));
    w.push((
        "conv_bn_relu_fwd_bwd",
        Box::new(move || {
            let (v, g) = vg(&block, std::slice::from_ref(&x))?;
            eval_all(&v, &g)
        }),
    ));
}

/// A function of 1,000 elementwise ops (500 multiply-adds), for the compile benchmarks.
fn thousand_ops(a: &[mx::Array]) -> mx::Result<mx::Array> {
    let mut y = a[0].clone();
    for i in 0..500 {
        y = mx::add(&mx::multiply(&y, 0.999)?, 0.001 * (i % 7) as f64)?;
    }
    Ok(y)
}

struct Stat {
    median_ms: f64,
    min_ms: f64,
    reps: usize,
}

fn measure(f: &mut Workload) -> mx::Result<Stat> {
    f()?;
    let t = Instant::now();
    f()?;
    let second = t.elapsed().as_secs_f64();
    let reps = ((1.0 / second.max(1e-7)) as usize).clamp(5, 200_000);
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(Stat {
        median_ms: times[times.len() / 2],
        min_ms: times[0],
        reps,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    // cargo runs benches in the crate's directory; default to the workspace's target/.
    let out = arg("--out").unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/rmlx_bench.json").into()
    });
    let runs: usize = arg("--runs").and_then(|r| r.parse().ok()).unwrap_or(1);
    let only: Option<Vec<String>> = arg("--only").map(|s| s.split(',').map(String::from).collect());
    let mut all = workloads();
    let mut medians: Vec<(&str, Vec<f64>, f64, usize)> = Vec::new();
    for run in 0..runs {
        for (name, f) in all.iter_mut() {
            if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == name)) {
                continue;
            }
            match measure(f) {
                Ok(s) => {
                    eprintln!(
                        "[rmlx run {run}] {name:24} {:10.4} ms (min {:.4}, reps {})",
                        s.median_ms, s.min_ms, s.reps
                    );
                    match medians.iter_mut().find(|m| m.0 == *name) {
                        Some(m) => {
                            m.1.push(s.median_ms);
                            m.2 = m.2.min(s.min_ms);
                        }
                        None => medians.push((name, vec![s.median_ms], s.min_ms, s.reps)),
                    }
                }
                Err(e) => eprintln!("[rmlx] {name} ERROR {e}"),
            }
        }
    }
    let mut json = String::from("{\"framework\": \"rmlx\", \"results\": {");
    for (i, (name, ms, min, reps)) in medians.iter().enumerate() {
        let mut sorted = ms.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let med = sorted[sorted.len() / 2];
        let runs_txt: Vec<String> = ms.iter().map(|m| format!("{m:.5}")).collect();
        if i > 0 {
            json.push_str(", ");
        }
        json.push_str(&format!(
            "\"{name}\": {{\"median_ms\": {med:.5}, \"min_ms\": {min:.5}, \"reps\": {reps}, \"run_medians_ms\": [{}]}}",
            runs_txt.join(", ")
        ));
        println!(
            "{name:24} {med:10.4} ms  (run medians: {})",
            runs_txt.join(", ")
        );
    }
    json.push_str("}}\n");
    if let Some(dir) = std::path::Path::new(&out).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&out, json).expect("write results");
    eprintln!("wrote {out}");
}
