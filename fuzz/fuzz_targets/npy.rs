//! Fuzzes the npy parser: any input must give arrays or an error, never a panic, an
//! out-of-bounds read or a runaway allocation. Run: `cargo fuzz run npy` (see fuzz/README.md).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(arrays) = rmlx_core::io::npy::parse_npy(data).map(|a| vec![(String::new(), a)]) {
        // Whatever loads must be usable: evaluate a reduction of each array.
        for (_, a) in arrays {
            let _ = rmlx_core::sum(&a).and_then(|s| s.eval());
        }
    }
});
