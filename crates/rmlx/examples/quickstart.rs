//! A first tour of rmlx: arrays, dtypes, ops, broadcasting, laziness, printing.
//!
//!     cargo run --release -p rmlx --example quickstart

use rmlx::core as mx;

fn main() -> mx::Result<()> {
    // Arrays from literals: Python's defaults (ints are int32, floats float32).
    let a = mx::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let b = mx::arange(0, 3, 1)?;
    println!("a = {a}");
    println!("b = {b}");

    // Ops build a graph; nothing runs until the result is needed.
    let c = (&a * 2.0 + &b).exp()?;
    println!("c is evaluated? {}", c.is_evaluated());
    c.eval()?;
    println!("after eval: {}", c.is_evaluated());
    println!("exp(2a + b) =\n{c}");

    // Reductions and shape ops.
    let total = a.sum()?;
    let per_column = a.sum_axes(0, false)?;
    let t = a.T();
    println!("sum = {total}, per column = {per_column}");
    println!("a.T = {t} (shape {:?}, a view: no copy)", t.shape());
    println!("softmax over rows = {}", mx::softmax(&a, -1)?);

    // Weak scalars keep the array's dtype, as in MLX.
    let h = mx::ones(&[3], mx::float16)?;
    println!("float16 * 2.0 stays {}", (&h * 2.0).dtype());

    // Errors name the op and the shapes.
    if let Err(e) = mx::add(&a, &mx::zeros(&[4], mx::float32)?) {
        println!("error: {e}");
    }

    // A long lazy chain evaluates iteratively, freeing intermediates as it goes.
    let mut x = mx::zeros(&[1000], mx::float32)?;
    for _ in 0..10_000 {
        x = &x + 1.0;
    }
    println!("after 10,000 lazy adds: x[0] = {}", x.to_vec::<f32>()?[0]);
    println!(
        "active memory: {} bytes, peak {} bytes",
        mx::get_active_memory(),
        mx::get_peak_memory()
    );

    // Transforms: the gradient of sum(tanh(x)^2), compiled (traced once, fused, cached), and
    // vmapped over the rows of a matrix.
    let loss = |x: &[mx::Array]| mx::sum(&mx::square(&mx::tanh(&x[0])?)?);
    let grad = mx::compile(mx::grad(loss, 0));
    println!(
        "grad of sum(tanh(a)^2) = {}",
        grad(std::slice::from_ref(&a))?[0]
    );
    let row_norms = mx::vmap(
        |r: &[mx::Array]| mx::sqrt(&mx::sum(&mx::square(&r[0])?)?),
        &[],
        &[],
    );
    println!(
        "row norms (vmap) = {}",
        row_norms(std::slice::from_ref(&a))?[0]
    );
    Ok(())
}
