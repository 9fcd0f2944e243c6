//! Printing goldens: `format!("{a}")` and `format!("{a:?}")` must be MLX's `repr(a)`, byte for
//! byte, under the print precision the case sets.
//!
//! Print options are process-wide, so this binary holds a single test.

use crate::common::*;
use rmlx_core as mx;
use serde_json::Value;

#[test]
fn print_matches_mlx() {
    check_values("print", |op, ins, kw| {
        assert_eq!(op, "repr");
        let a = arr(&ins[0]);
        let precision = kw_i64(kw, "precision").map_or(-1, |p| p as i32);
        let _g = mx::printoptions(mx::PrintOptions { precision });
        let display = format!("{a}");
        let debug = format!("{a:?}");
        assert_eq!(display, debug, "Display and Debug differ");
        Ok(Value::String(display))
    });
    assert_eq!(
        mx::get_printoptions(),
        mx::PrintOptions::default(),
        "guards restored the options"
    );
}
