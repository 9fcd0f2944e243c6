//! Loading a large safetensors file from a cold page cache, against `dd` reading the same file
//! (issue 5's target: at least 90% of dd's speed, peak memory at most the file's size plus a
//! small constant).
//!
//!     cargo bench -p rmlx --bench load_bench -- [--mib 1024] [--runs 3] [--dir DIR]
//!
//! The file (float32, one tensor) is written once to DIR (default: the workspace's target/).
//! Before each timed read the file's pages are dropped from the page cache with GNU dd's
//! `iflag=nocache count=0`. rmlx's time covers `load_safetensors` plus a pass that touches
//! every page (a sum), so the data really came off the disk. Peak memory is the process's
//! resident high-water mark (VmHWM), which counts the mapped file pages.

use rmlx::core as mx;
use std::process::Command;
use std::time::Instant;

fn drop_cache(path: &str) {
    let ok = Command::new("dd")
        .args([
            &format!("if={path}"),
            "iflag=nocache",
            "count=0",
            "status=none",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "dd iflag=nocache failed: GNU dd is needed to empty the page cache"
    );
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> mx::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let mib: usize = arg("--mib").and_then(|v| v.parse().ok()).unwrap_or(1024);
    let runs: usize = arg("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir =
        arg("--dir").unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").into());
    let path = format!("{dir}/load_bench_{mib}mib.safetensors");
    let n = mib << 18; // float32 elements
    if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) < (mib as u64) << 20 {
        let a = mx::arange(0.0, n as f64, 1.0)?;
        mx::io::save_safetensors(&path, &[("w", &a)], &[])?;
        drop(a);
        // Measure in a fresh process: writing the file raised this one's memory high-water mark.
        let status = Command::new(std::env::current_exe().expect("own path"))
            .args(&args[1..])
            .status()
            .expect("rerun");
        std::process::exit(status.code().unwrap_or(1));
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let (mut dd, mut ours) = (Vec::new(), Vec::new());
    let base_hwm = vm_hwm_kib();
    for run in 0..runs {
        drop_cache(&path);
        let t = Instant::now();
        let ok = Command::new("dd")
            .args([
                &format!("if={path}"),
                "of=/dev/null",
                "bs=4M",
                "status=none",
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "dd failed");
        dd.push(t.elapsed().as_secs_f64());
        drop_cache(&path);
        let t = Instant::now();
        let st = mx::io::safetensors::load_safetensors(&path)?;
        let s = mx::sum(st.get("w").expect("tensor w"))?;
        s.eval()?;
        ours.push(t.elapsed().as_secs_f64());
        eprintln!(
            "[run {run}] dd {:.3} s, rmlx load + touch {:.3} s",
            dd[run], ours[run]
        );
    }
    let (dd_m, ours_m) = (median(&mut dd), median(&mut ours));
    let gib = size as f64 / (1u64 << 30) as f64;
    let peak_extra_mib = (vm_hwm_kib().saturating_sub(base_hwm)) as f64 / 1024.0;
    println!(
        "file {:.0} MiB: dd {:.3} s ({:.2} GiB/s), rmlx {:.3} s ({:.2} GiB/s): {:.0}% of dd; \
         peak resident memory grew by {:.0} MiB (file {:.0} MiB)",
        size as f64 / 1048576.0,
        dd_m,
        gib / dd_m,
        ours_m,
        gib / ours_m,
        100.0 * dd_m / ours_m,
        peak_extra_mib,
        size as f64 / 1048576.0
    );
    Ok(())
}
