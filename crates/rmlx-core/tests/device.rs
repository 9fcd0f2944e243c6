//! Devices and streams: the CPU is the only device, the GPU is refused with MLX's error kind,
//! streams are distinct, `stream` guards nest per thread, `synchronize` waits for `async_eval`.
//!
//! The default device and stream are process-wide: the tests that change them hold `LOCK`.

use rmlx_core as mx;
use std::sync::Mutex;

static LOCK: Mutex<()> = Mutex::new(());

#[test]
fn the_cpu_is_the_default_and_only_device() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(mx::default_device(), mx::cpu);
    assert_eq!(mx::default_device().to_string(), "Device(cpu, 0)");
    assert_eq!(mx::Device::new(mx::DeviceType::Cpu, 0), mx::cpu);
    assert_ne!(mx::cpu, mx::gpu);
    assert!(mx::is_available(mx::cpu));
    assert!(!mx::is_available(mx::gpu));
    assert_eq!(mx::device_count(mx::DeviceType::Cpu), 1);
    assert_eq!(mx::device_count(mx::DeviceType::Gpu), 0);
    assert_eq!(
        mx::default_stream(mx::cpu).unwrap().to_string(),
        "Stream(Device(cpu, 0), 0)"
    );
}

#[test]
fn the_gpu_is_refused_with_a_value_error() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // MLX without a GPU backend raises ValueError for each of these.
    let e = mx::set_default_device(mx::gpu).unwrap_err();
    assert_eq!(e.kind(), mx::ErrorKind::Value, "{e}");
    assert!(e.to_string().contains("set_default_device"), "{e}");
    assert_eq!(
        mx::default_device(),
        mx::cpu,
        "a refused device leaves the default alone"
    );
    assert_eq!(
        mx::default_stream(mx::gpu).unwrap_err().kind(),
        mx::ErrorKind::Value
    );
    assert_eq!(
        mx::new_stream(mx::gpu).unwrap_err().kind(),
        mx::ErrorKind::Value
    );
    // A second CPU does not exist either.
    assert!(mx::set_default_device(mx::Device::new(mx::DeviceType::Cpu, 1)).is_err());
    mx::set_default_device(mx::cpu).unwrap();
    assert_eq!(mx::default_device(), mx::cpu);
}

#[test]
fn new_streams_are_distinct_cpu_streams() {
    let s1 = mx::new_stream(mx::cpu).unwrap();
    let s2 = mx::new_stream(mx::cpu).unwrap();
    assert_ne!(s1, s2);
    assert_ne!(s1.index, s2.index);
    assert_eq!(s1.device, mx::cpu);
    assert_eq!(
        s2.to_string(),
        format!("Stream(Device(cpu, 0), {})", s2.index)
    );
}

#[test]
fn stream_guards_nest_and_restore() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let base = mx::default_stream(mx::cpu).unwrap();
    let s1 = mx::new_stream(mx::cpu).unwrap();
    let s2 = mx::new_stream(mx::cpu).unwrap();
    {
        let _g1 = mx::stream(s1);
        assert_eq!(mx::default_stream(mx::cpu).unwrap(), s1);
        {
            let _g2 = mx::stream(s2);
            assert_eq!(mx::default_stream(mx::cpu).unwrap(), s2);
            // Work scheduled inside a scope computes as anywhere else.
            let x = mx::arange(0, 4, 1).unwrap() * 2;
            assert_eq!(x.to_vec::<i32>().unwrap(), vec![0, 2, 4, 6]);
        }
        assert_eq!(
            mx::default_stream(mx::cpu).unwrap(),
            s1,
            "the inner guard restores the outer stream"
        );
        // A scope belongs to its thread: another thread still sees the default.
        let other = std::thread::spawn(|| mx::default_stream(mx::cpu).unwrap())
            .join()
            .unwrap();
        assert_eq!(other, base);
    }
    assert_eq!(mx::default_stream(mx::cpu).unwrap(), base);
}

#[test]
fn set_default_stream_changes_the_default() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let base = mx::default_stream(mx::cpu).unwrap();
    let s = mx::new_stream(mx::cpu).unwrap();
    mx::set_default_stream(s).unwrap();
    assert_eq!(mx::default_stream(mx::cpu).unwrap(), s);
    mx::set_default_stream(base).unwrap();
    assert_eq!(mx::default_stream(mx::cpu).unwrap(), base);
    let gpu_stream = mx::Stream {
        index: 0,
        device: mx::gpu,
    };
    assert!(mx::set_default_stream(gpu_stream).is_err());
}

/// Tests that `synchronize` hold this: it joins every pending `async_eval` of the process, so
/// one test's call could take (and report) another's work.
static ASYNC_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn synchronize_waits_for_async_eval() {
    let _one = ASYNC_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let x = mx::arange(0.0, 1e6, 1.0).unwrap();
    let y = mx::exp(&(&x * 1e-6)).unwrap();
    mx::async_eval([&y]).unwrap();
    mx::synchronize(None).unwrap();
    assert!(
        y.is_evaluated(),
        "synchronize returns after the async work finished"
    );
    let s = mx::new_stream(mx::cpu).unwrap();
    let z = &x + 1.0;
    mx::async_eval([&z]).unwrap();
    mx::synchronize(Some(s)).unwrap();
    assert!(z.is_evaluated());
    assert_eq!(z.to_vec::<f32>().unwrap()[..3], [1.0, 2.0, 3.0]);
}

#[test]
fn synchronize_reports_a_failed_async_eval() {
    // A singular matrix fails only while computing: the error reaches `synchronize` (MLX
    // raises it there) and stays on the array.
    let _one = ASYNC_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let a = mx::linalg::inv(&mx::array![[1.0f32, 2.0], [2.0, 4.0]]).unwrap();
    mx::async_eval([&a]).unwrap();
    let e = mx::synchronize(None).expect_err("the async_eval failed");
    assert_eq!(e.kind(), mx::ErrorKind::Runtime, "{e}");
    assert!(a.eval().is_err());
    // Once reported, the next synchronize has nothing left to report.
    mx::synchronize(None).unwrap();
}
