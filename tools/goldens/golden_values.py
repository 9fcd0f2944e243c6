"""Golden cases whose expected result is a JSON value (a string, bool, number, dict) rather
than arrays: printed text, dtype names, `can_cast` answers, `finfo` fields.

A value case is recorded like an array case (same "name", "op", "inputs", "kwargs"), with the
expected value in `field` (e.g. "text" or "value") or, when MLX raised, "error"/"message",
and "value_case": true.
The Rust side reads them with `check_values` in crates/rmlx-core/tests/common/mod.rs;
`check_family` skips them.
"""


def value_case(g, op, inputs, fn, kwargs=None, name=None, field="value"):
    """Records `fn(*inputs)` (a JSON value) as the expected `field` of a new case of `g`."""
    rec = {"name": name or f"{op}_{len(g.cases)}", "op": op, "kwargs": kwargs or {}, "value_case": True}
    ins, mx_ins = g.record_inputs(inputs)
    rec["inputs"] = ins
    try:
        rec[field] = fn(*mx_ins)
    except Exception as e:  # noqa: BLE001 - MLX's exception class is the golden
        rec["error"] = type(e).__name__
        rec["message"] = str(e)
    g.cases.append(rec)
