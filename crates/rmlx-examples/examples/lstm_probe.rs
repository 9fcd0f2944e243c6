use rmlx::core as mx;
use rmlx::nn::{self, Module};
use std::time::Instant;

fn main() {
    let which = std::env::args().nth(1).unwrap_or("lstm".into());
    mx::random::seed(0);
    let f: Box<dyn Fn() -> mx::Result<()>> = if which == "lstm" {
        let lstm = nn::LSTM::new(64, 128).unwrap();
        let x = mx::random::normal(&[32, 100, 64], mx::float32, None).unwrap();
        let vg = nn::value_and_grad(|m: &nn::LSTM, a: &[mx::Array]| {
            mx::sum(&m.forward(&a[0], None, None)?.0)
        });
        Box::new(move || {
            let (v, g) = vg(&lstm, std::slice::from_ref(&x))?;
            let mut all = vec![v];
            all.extend(nn::flat_parameters(&g).into_iter().map(|(_, a)| a));
            mx::eval(&all)
        })
    } else {
        let mut layer = nn::TransformerEncoderLayer::new(256, 4).unwrap();
        layer.eval().unwrap();
        let x = mx::random::normal(&[16, 128, 256], mx::float32, None).unwrap();
        let vg = nn::value_and_grad(|m: &nn::TransformerEncoderLayer, a: &[mx::Array]| {
            use rmlx::nn::Forward;
            mx::sum(&m.forward(&a[0], None)?)
        });
        Box::new(move || {
            let (v, g) = vg(&layer, std::slice::from_ref(&x))?;
            let mut all = vec![v];
            all.extend(nn::flat_parameters(&g).into_iter().map(|(_, a)| a));
            mx::eval(&all)
        })
    };
    for _ in 0..3 {
        f().unwrap();
    }
    let mut v = vec![];
    for _ in 0..20 {
        let t = Instant::now();
        f().unwrap();
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    println!("median {:.3} ms", v[10]);
    unsafe { std::env::set_var("RMLX_PROF", "1") };
    for _ in 0..10 {
        f().unwrap();
    }
    mx::eval::prof_dump();
}
