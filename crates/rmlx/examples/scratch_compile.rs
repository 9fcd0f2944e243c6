use rmlx::core as mx;
use std::time::Instant;
fn main() -> mx::Result<()> {
    let n = 1usize << 24;
    let v: Vec<f32> = (0..n).map(|i| ((i % 1000) as f32) / 500.0 - 1.0).collect();
    let x = mx::Array::from_slice(&v, &[4096, 4096])?;
    let f =
        mx::compile(|a: &[mx::Array]| Ok(mx::tanh(&(&a[0] * 2.0 + 1.0))? * mx::sigmoid(&a[0])?));
    let out = f(std::slice::from_ref(&x))?;
    println!("{}", mx::export_to_dot(&out));
    for _ in 0..5 {
        let t = Instant::now();
        let out = f(std::slice::from_ref(&x))?;
        let t1 = t.elapsed();
        out[0].eval()?;
        println!("replay {:?} total {:?}", t1, t.elapsed());
    }
    Ok(())
}
