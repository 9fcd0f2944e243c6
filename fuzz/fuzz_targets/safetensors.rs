//! Fuzzes the safetensors parser: any input must give arrays or an error, never a panic, an
//! out-of-bounds read or a runaway allocation. Run: `cargo fuzz run safetensors` (see fuzz/README.md).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(arrays) = rmlx_core::io::safetensors::from_bytes(data).map(|s| s.arrays) {
        // Whatever loads must be usable: evaluate a reduction of each array.
        for (_, a) in arrays {
            let _ = rmlx_core::sum(&a).and_then(|s| s.eval());
        }
    }
});
