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
        base,
        "reset_peak_memory starts again from the active bytes"
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
    assert_eq!(mx::get_peak_memory(), base);
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
}
