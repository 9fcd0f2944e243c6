//! The allocator's counters and cache: active, peak and cached bytes, `clear_cache`,
//! `set_cache_limit(0)`, `set_memory_limit`.
//!
//! The counters are process-wide, so this binary holds a single test that runs the steps in
//! order (tests in one binary run on parallel threads).

use rmlx_core as mx;

const N: usize = 1 << 18; // float32 elements: 1 MiB, a multiple of the allocator's 4 KiB class
const BYTES: usize = 4 * N;

/// A freshly computed (not broadcast) array of `n` float32 values.
fn materialized(n: usize) -> mx::Array {
    let a = mx::arange(0.0, n as f64, 1.0).unwrap();
    a.eval().unwrap();
    a
}

#[test]
fn memory_counters_and_cache() {
    mx::clear_cache();
    assert_eq!(mx::get_cache_memory(), 0, "clear_cache empties the cache");
    let base = mx::get_active_memory();
    mx::reset_peak_memory();
    assert_eq!(
        mx::get_peak_memory(),
        0,
        "reset_peak_memory starts again from zero, as MLX"
    );

    // Active and peak grow with a live array.
    let a = materialized(N);
    assert_eq!(mx::get_active_memory(), base + BYTES);
    assert!(mx::get_peak_memory() >= base + BYTES);

    // Freeing returns the bytes to the cache, not to the system.
    drop(a);
    assert_eq!(mx::get_active_memory(), base);
    assert_eq!(mx::get_cache_memory(), BYTES, "a freed buffer is cached");
    assert!(mx::get_peak_memory() >= base + BYTES, "the peak remembers");

    // The same size reuses the cached buffer.
    let b = materialized(N);
    assert_eq!(mx::get_cache_memory(), 0, "the cached buffer was reused");
    assert_eq!(mx::get_active_memory(), base + BYTES);
    drop(b);
    assert_eq!(mx::get_cache_memory(), BYTES);

    // clear_cache gives everything back.
    mx::clear_cache();
    assert_eq!(mx::get_cache_memory(), 0);
    assert_eq!(mx::get_active_memory(), base);

    // Peak: reset, then a smaller allocation raises it only that far.
    mx::reset_peak_memory();
    assert_eq!(mx::get_peak_memory(), 0);
    let c = materialized(N / 4);
    assert_eq!(mx::get_peak_memory(), base + BYTES / 4);
    drop(c);

    // A cache limit of 0 disables caching; the previous limit comes back from the setter.
    mx::clear_cache();
    let old_cache_limit = mx::set_cache_limit(0);
    assert!(old_cache_limit > 0);
    drop(materialized(N));
    assert_eq!(
        mx::get_cache_memory(),
        0,
        "nothing is cached with a limit of 0"
    );
    assert_eq!(mx::get_active_memory(), base);
    // A limit smaller than the cache trims it.
    mx::set_cache_limit(old_cache_limit);
    drop(materialized(N));
    drop(materialized(N / 2));
    assert_eq!(mx::get_cache_memory(), BYTES + BYTES / 2);
    mx::set_cache_limit(BYTES);
    assert!(
        mx::get_cache_memory() <= BYTES,
        "set_cache_limit trims the cache to the limit"
    );
    mx::set_cache_limit(old_cache_limit);
    mx::clear_cache();

    // Memory limit: the setter returns the previous value; above the limit the allocator gives
    // its cache back before allocating anew.
    let old_limit = mx::get_memory_limit();
    assert!(old_limit > 0);
    assert_eq!(mx::set_memory_limit(base + BYTES), old_limit);
    assert_eq!(mx::get_memory_limit(), base + BYTES);
    drop(materialized(N));
    assert_eq!(mx::get_cache_memory(), BYTES);
    let d = materialized(2 * N); // a different size class: a new allocation past the limit
    assert_eq!(
        mx::get_cache_memory(),
        0,
        "over the memory limit the cache is emptied first"
    );
    assert_eq!(d.size(), 2 * N, "the allocation itself still succeeds");
    drop(d);
    assert_eq!(mx::set_memory_limit(old_limit), base + BYTES);
    assert_eq!(mx::get_memory_limit(), old_limit);
    mx::clear_cache();
    assert_eq!(mx::get_active_memory(), base);

    // Repeated: without `eval` waiting, a worker's allocation lands in the window only now
    // and then (a few percent of single tries on a loaded machine).
    for _ in 0..10 {
        donated_chain_after_async_work_keeps_the_peak();
    }
    fused_chain_allocates_only_its_output();
    checkpoint_lowers_the_peak_of_a_gradient();
    npy_load_reads_into_the_array();
}

/// MLX's `test_donation_for_noops` right after `test_async_eval_with_multiple_streams`: a
/// chain of donated ops allocates nothing, so the peak stays where it was, even with many
/// `async_eval`s just started (each `eval` waits for them, as a stream's work runs in order).
fn donated_chain_after_async_work_keeps_the_peak() {
    let one = mx::ones(&[1], mx::float32).unwrap();
    let mut x = one.clone();
    for _ in 0..50 {
        for _ in 0..20 {
            x = mx::add(&x, &one).unwrap();
        }
        mx::async_eval([&x]).unwrap();
        mx::eval([&mx::add(&one, &one).unwrap()]).unwrap();
    }
    let big = materialized(N);
    mx::reset_peak_memory();
    let pre = mx::get_active_memory();
    let mut out = big.clone();
    for _ in 0..10 {
        out = mx::abs(&out).unwrap();
    }
    drop(big);
    mx::eval([&out]).unwrap();
    // Zero (nothing allocated since the reset) or at most what was live before.
    let peak = mx::get_peak_memory();
    assert!(peak <= pre, "the peak moved: {peak} > {pre}");
    assert_eq!(x.to_vec::<f32>().unwrap(), vec![1001.0]);
    mx::clear_cache();
}

/// Bytes allocated at the peak of evaluating `out`, above what was live before.
fn peak_of_eval(out: &[mx::Array]) -> usize {
    mx::clear_cache();
    let before = mx::get_active_memory();
    mx::reset_peak_memory();
    mx::eval(out).unwrap();
    // The reset peak is zero: an eval that allocates nothing leaves it below `before`.
    mx::get_peak_memory().saturating_sub(before)
}

/// A compiled elementwise chain runs as one fused pass: evaluating it allocates the output and
/// nothing else, while the same chain uncompiled materialises its intermediates.
fn fused_chain_allocates_only_its_output() {
    let chain = |x: &[mx::Array]| -> mx::Result<mx::Array> {
        let x = &x[0];
        let y = mx::tanh(&mx::add(&mx::multiply(x, 2.0)?, 1.0)?)?;
        mx::multiply(&y, &mx::sigmoid(x)?)
    };
    let x = materialized(N);
    let compiled = mx::compile(chain);
    let fused = compiled(std::slice::from_ref(&x)).unwrap();
    assert_eq!(
        peak_of_eval(&fused),
        BYTES,
        "the fused chain allocates its output only"
    );
    let plain = chain(std::slice::from_ref(&x)).unwrap();
    let plain_peak = peak_of_eval(std::slice::from_ref(&plain));
    assert!(
        plain_peak > BYTES + BYTES / 2,
        "uncompiled, the chain allocates intermediates: peak {plain_peak}"
    );
    assert_eq!(
        fused[0].to_vec::<f32>().unwrap(),
        plain.to_vec::<f32>().unwrap()
    );
}

/// With each block checkpointed, the backward pass recomputes a block's intermediates instead
/// of keeping every block's intermediates alive from the forward pass.
fn checkpoint_lowers_the_peak_of_a_gradient() {
    const BLOCKS: usize = 4;
    const DEPTH: usize = 4;
    fn block(x: &[mx::Array]) -> mx::Result<mx::Array> {
        let mut y = x[0].clone();
        for _ in 0..DEPTH {
            y = mx::sin(&y)?;
        }
        Ok(y)
    }
    let run = |checkpointed: bool| -> usize {
        let ck = mx::checkpoint(block);
        let loss = move |x: &[mx::Array]| -> mx::Result<mx::Array> {
            let mut y = x[0].clone();
            for _ in 0..BLOCKS {
                y = if checkpointed {
                    ck(&[y])?.remove(0)
                } else {
                    block(&[y])?
                };
            }
            mx::sum(&y)
        };
        let x = materialized(N);
        let (value, grads) = mx::value_and_grad(loss, 0)(&[x]).unwrap();
        let mut outs = value;
        outs.extend(grads);
        peak_of_eval(&outs)
    };
    let (plain, checkpointed) = (run(false), run(true));
    assert!(
        checkpointed * 2 <= plain,
        "checkpointing should at least halve the peak: {checkpointed} vs {plain} bytes"
    );
}

/// Loading an `.npy` file reads its data when the array is evaluated, straight into the
/// array's memory, which a following elementwise op may take over (MLX's `test_load_donation`).
fn npy_load_reads_into_the_array() {
    let path = std::env::temp_dir().join(format!("rmlx_memory_{}.npy", std::process::id()));
    let x = materialized(N);
    mx::io::npy::save(&path, &x).unwrap();
    mx::clear_cache();
    let before = mx::get_active_memory();
    let loaded = mx::io::npy::load(&path).unwrap();
    assert_eq!(
        mx::get_active_memory(),
        before,
        "load allocates nothing before eval"
    );
    assert_eq!(peak_of_eval(std::slice::from_ref(&loaded)), BYTES);
    drop(loaded);
    let scaled = mx::multiply(&mx::io::npy::load(&path).unwrap(), 2.0).unwrap();
    assert_eq!(
        peak_of_eval(std::slice::from_ref(&scaled)),
        BYTES,
        "the product reuses the loaded buffer"
    );
    assert_eq!(
        scaled.to_vec::<f32>().unwrap(),
        mx::multiply(&x, 2.0).unwrap().to_vec::<f32>().unwrap()
    );
    std::fs::remove_file(&path).ok();
}
