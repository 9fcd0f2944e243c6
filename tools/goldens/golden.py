"""Golden outputs from real MLX 0.32.4 for rmlx's conformance tests.

Each family script (gen_<family>.py) builds a `Goldens`, adds cases and saves
`crates/rmlx-core/tests/goldens/<family>.npz` (the arrays) and `<family>.json` (the cases).
The Rust side (crates/rmlx-core/tests/common/mod.rs) replays every case through rmlx and
compares: exact for integers, bools, shapes, dtypes and errors; floats within a tolerance.

Case format (JSON):
  {"name": str, "op": str, "inputs": [Input...], "kwargs": {...},
   "outputs": [ArrayRef...]            # on success
   "error": "ValueError" | ... ,       # when MLX raised (at build or at eval)
   "rtol": float?, "atol": float?}     # optional per-case tolerance, with a reason in "why"
  Input = {"key": k, "dtype": d, "view": View?}   an array (stored base, then the view)
        | {"scalar": v, "kind": "bool"|"int"|"float"|"complex"}   a Python scalar (weak);
          a non-finite float scalar is the string "nan", "inf" or "-inf"
  View  = {"kind": "transpose"}                  base.T (all axes reversed)
        | {"kind": "step", "axis": a}            every other element along axis a
        | {"kind": "reverse", "axis": a}         reversed along axis a (negative strides)
        | {"kind": "broadcast", "shape": [...]}  broadcast_to(base, shape)
  ArrayRef = {"key": k, "dtype": d}
bfloat16 arrays are stored as their uint16 bits; the JSON dtype says how to read them.

Run: python3 tools/goldens/gen_all.py   (needs `pip install "mlx[cpu]==0.32.4" numpy gguf`)
"""
import json
import math
import os

import mlx.core as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "..", "crates", "rmlx-core", "tests", "goldens")

ALL_DTYPES = [mx.bool_, mx.uint8, mx.uint16, mx.uint32, mx.uint64, mx.int8, mx.int16,
              mx.int32, mx.int64, mx.float16, mx.bfloat16, mx.float32, mx.float64,
              mx.complex64]


def dtype_name(d):
    return str(d).split(".")[-1]


class Input:
    """An array input with an optional non-contiguous view."""

    def __init__(self, base, view=None):
        self.base = base
        self.view = view

    def materialize(self):
        b = self.base
        v = self.view
        if v is None:
            return b
        k = v["kind"]
        if k == "transpose":
            return b.T
        if k == "step":
            idx = [slice(None)] * b.ndim
            idx[v["axis"]] = slice(None, None, 2)
            return b[tuple(idx)]
        if k == "reverse":
            idx = [slice(None)] * b.ndim
            idx[v["axis"]] = slice(None, None, -1)
            return b[tuple(idx)]
        if k == "broadcast":
            return mx.broadcast_to(b, v["shape"])
        raise ValueError(k)


class Goldens:
    def __init__(self, family):
        self.family = family
        self.cases = []
        self.arrays = {}
        self._seen = {}

    def _store(self, a):
        a = mx.array(a) if not isinstance(a, mx.array) else a
        name = dtype_name(a.dtype)
        if a.dtype == mx.bfloat16:
            npv = np.array(a.view(mx.uint16), order="C")  # (ascontiguousarray makes 0-D 1-D)
        else:
            npv = np.array(a, order="C")
        # Identical arrays (same dtype, shape and bytes) are stored once.
        ident = (name, npv.dtype.str, npv.shape, npv.tobytes())
        key = self._seen.get(ident)
        if key is None:
            key = f"a{len(self.arrays)}"
            self.arrays[key] = npv
            self._seen[ident] = key
        return {"key": key, "dtype": name}

    def record_inputs(self, inputs):
        """The JSON records of `inputs` (arrays stored, views noted, scalars encoded) and the
        MLX values to call the function with."""
        ins, mx_ins = [], []
        for x in inputs:
            if isinstance(x, (bool, int, float, complex)) and not isinstance(x, mx.array):
                kind = ("bool" if isinstance(x, bool) else "int" if isinstance(x, int)
                        else "float" if isinstance(x, float) else "complex")
                v = [x.real, x.imag] if kind == "complex" else x
                if kind == "float" and not math.isfinite(x):
                    v = repr(x)  # "nan", "inf", "-inf": JSON has no such numbers
                ins.append({"scalar": v, "kind": kind})
                mx_ins.append(x)
            else:
                inp = x if isinstance(x, Input) else Input(x)
                ref = self._store(inp.base)
                if inp.view is not None:
                    ref["view"] = inp.view
                ins.append(ref)
                mx_ins.append(inp.materialize())
        return ins, mx_ins

    def case(self, op, inputs, fn, kwargs=None, name=None, rtol=None, atol=None, why=None):
        """Records `fn(*inputs)` as computed by MLX (or the exception it raised).

        `inputs` holds mx.arrays, `Input`s (array + view) and Python scalars; `fn` gets the
        materialised MLX values and returns an array or a tuple/list of arrays.
        """
        rec = {"name": name or f"{op}_{len(self.cases)}", "op": op, "kwargs": kwargs or {}}
        ins, mx_ins = self.record_inputs(inputs)
        rec["inputs"] = ins
        try:
            out = fn(*mx_ins)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            mx.eval(outs)
            rec["outputs"] = [self._store(o) for o in outs]
        except Exception as e:  # noqa: BLE001 - MLX's exception class is the golden
            rec["error"] = type(e).__name__
            rec["message"] = str(e)
        if rtol is not None:
            rec["rtol"] = rtol
        if atol is not None:
            rec["atol"] = atol
        if why is not None:
            rec["why"] = why
        self.cases.append(rec)

    def save(self):
        os.makedirs(OUT_DIR, exist_ok=True)
        np.savez(os.path.join(OUT_DIR, f"{self.family}.npz"), **self.arrays)
        with open(os.path.join(OUT_DIR, f"{self.family}.json"), "w") as f:
            json.dump({"mlx_version": mx.__version__, "cases": self.cases}, f, indent=0)
        print(f"{self.family}: {len(self.cases)} cases, {len(self.arrays)} arrays")


def sample(shape, dtype, seed=0, low=-5, high=5):
    """Deterministic test values of a dtype (integers in range, a few special floats)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape)) if shape else 1
    if dtype == mx.bool_:
        v = rng.integers(0, 2, n).astype(np.bool_)
    elif dtype in (mx.uint8, mx.uint16, mx.uint32, mx.uint64):
        v = rng.integers(0, max(high, 1) * 2, n).astype(np.uint64)
    elif dtype in (mx.int8, mx.int16, mx.int32, mx.int64):
        v = rng.integers(low, high, n).astype(np.int64)
    elif dtype == mx.complex64:
        v = (rng.uniform(low, high, n) + 1j * rng.uniform(low, high, n)).astype(np.complex64)
    else:
        v = rng.uniform(low, high, n).astype(np.float64)
    a = mx.array(v.reshape(shape) if shape else v.reshape(()))
    return a.astype(dtype)
