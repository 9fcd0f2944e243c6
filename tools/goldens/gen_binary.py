"""Binary and ternary elementwise ops: every op of the family against real MLX.

Two parts:
- `cases` (the common format, replayed by `check_family`): NaN/inf/-0.0 tables, integer edge
  cases (division and remainder by zero, negative operands, wrapping powers, shifts by more
  than the bit width), int64/uint64 beyond 2^53, broadcasting, non-contiguous views, `where`,
  `clip`, errors.
- `sweep` (a compact table, replayed by golden_binary.rs): (op, a, b) -> result dtype or
  exception, for every op over all 14 same-dtype pairs, for 12 representative ops over all
  14x14 dtype pairs, and for every op with weak Python scalars on either side. Its inputs are
  one sample array per dtype and side; its outputs are concatenated into one stream per dtype
  to keep the files small.

Left out because MLX leaves them undefined (they trap with SIGFPE on x86): integer `divmod`
by zero and integer MIN // -1 or MIN % -1. rmlx returns the floor_divide/remainder values
there (0 and the dividend; MIN and 0). Bool `divmod` by False is also left out (MLX's bool
division by zero returns an arbitrary quotient).
"""
import mlx.core as mx
import numpy as np

from golden import ALL_DTYPES, Goldens, Input, dtype_name, sample

INT_DTYPES = [mx.uint8, mx.uint16, mx.uint32, mx.uint64, mx.int8, mx.int16, mx.int32, mx.int64]
FLOAT_DTYPES = [mx.float16, mx.bfloat16, mx.float32, mx.float64]

BINARY_OPS = {
    "add": mx.add, "subtract": mx.subtract, "multiply": mx.multiply, "divide": mx.divide,
    "floor_divide": mx.floor_divide, "remainder": mx.remainder, "divmod": mx.divmod,
    "power": mx.power, "maximum": mx.maximum, "minimum": mx.minimum, "arctan2": mx.arctan2,
    "logaddexp": mx.logaddexp, "equal": mx.equal, "not_equal": mx.not_equal,
    "greater": mx.greater, "greater_equal": mx.greater_equal, "less": mx.less,
    "less_equal": mx.less_equal, "logical_and": mx.logical_and, "logical_or": mx.logical_or,
    "logical_xor": mx.logical_xor, "bitwise_and": mx.bitwise_and, "bitwise_or": mx.bitwise_or,
    "bitwise_xor": mx.bitwise_xor, "left_shift": mx.left_shift, "right_shift": mx.right_shift,
}
PAIR_OPS = ["add", "multiply", "divide", "floor_divide", "remainder", "maximum", "equal",
            "logical_and", "bitwise_and", "left_shift", "power", "arctan2"]
BITWISE = {"bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"}


class BinaryGoldens(Goldens):
    """Goldens stored compactly: every array is a slice of one 1-D stream per dtype (an
    ArrayRef with "offset" and "shape", which tests/common/mod.rs reads), each distinct array
    is stored once, and the JSON has one case per line. Also holds the sweep table."""

    def __init__(self, family):
        super().__init__(family)
        self._seen = {}
        self._streams = {}
        self.sweep = None

    def _store(self, a):
        a = mx.array(a) if not isinstance(a, mx.array) else a
        name = dtype_name(a.dtype)
        raw = np.array(a.view(mx.uint16)) if a.dtype == mx.bfloat16 else np.array(a)
        sig = (name, raw.shape, raw.tobytes())
        if sig not in self._seen:
            parts = self._streams.setdefault(name, [])
            offset = sum(p.size for p in parts)
            parts.append(np.ascontiguousarray(raw).reshape(-1))
            self._seen[sig] = {"key": f"s_{name}", "dtype": name, "offset": offset,
                               "shape": list(raw.shape)}
        return dict(self._seen[sig])

    def save(self):
        import json
        import os
        from golden import OUT_DIR
        self.arrays = {f"s_{k}": np.concatenate(v) for k, v in self._streams.items()}
        os.makedirs(OUT_DIR, exist_ok=True)
        np.savez(os.path.join(OUT_DIR, f"{self.family}.npz"), **self.arrays)
        dumps = lambda x: json.dumps(x, separators=(",", ":"))  # noqa: E731
        lines = ['{"mlx_version":' + dumps(mx.__version__) + ',"cases":[']
        lines.append(",\n".join(dumps(c) for c in self.cases))
        lines.append('],"sweep":' + dumps(self.sweep) + "}")
        with open(os.path.join(OUT_DIR, f"{self.family}.json"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"{self.family}: {len(self.cases)} cases, {len(self.sweep['entries'])} sweep ops, "
              f"{sum(a.nbytes for a in self.arrays.values())} bytes of arrays")


g = BinaryGoldens("binary")


def op_fn(name):
    f = BINARY_OPS[name]
    return lambda x, y: f(x, y)


# ---------------------------------------------------------------- the sweep
def nonzero(a):
    """Divisors for divmod: MLX traps on integer division by zero (and bool by False)."""
    if a.dtype == mx.bool_:
        return mx.ones(a.shape, mx.bool_)
    if issubclass_int(a.dtype):
        return mx.where(a == 0, mx.array(1, a.dtype), a)
    return a


def issubclass_int(d):
    return d in INT_DTYPES


SWEEP_A = {dtype_name(d): sample((2, 3), d, seed=11) for d in ALL_DTYPES}
# b stays in [0, 10): it is also the shift count, and MLX shifts by negative counts (C++ UB)
# differently on its vectorized and scalar paths. Negative divisors are in the cases below.
SWEEP_B = {dtype_name(d): sample((3,), d, seed=12, low=0, high=10) for d in ALL_DTYPES}
# divmod's divisors: integer (and bool) division by zero traps in MLX's divmod
SWEEP_B.update({"nz:" + k: nonzero(v) for k, v in list(SWEEP_B.items())})
SCALARS = {"int:3": 3, "int:-2": -2, "int:300": 300, "int:1099511627776": 2**40,
           "float:2.5": 2.5, "float:-0.0": -0.0, "bool:true": True, "bool:false": False,
           "complex:1:2": complex(1, 2)}


def operand(tok, side):
    if tok in SCALARS:
        return SCALARS[tok]
    return (SWEEP_A if side == 0 else SWEEP_B)[tok]


streams = {}  # dtype name -> the outputs of that dtype, flattened, in entry order
tokens, results, entries = [], [], []


def index(lst, v):
    if v not in lst:
        lst.append(v)
    return lst.index(v)


def record(op, ta, tb, result):
    if not entries or entries[-1][0] != op:
        entries.append([op, []])
    entries[-1][1].append([index(tokens, ta), index(tokens, tb), index(results, result)])


DIVISION = {"divide", "floor_divide", "remainder", "divmod", "power"}


def sweep(op, ta, tb):
    a, b = operand(ta, 0), operand(tb, 1)
    zero_divisor = tb in ("bool:false", "float:-0.0")
    if op == "divmod" and (zero_divisor or tb == "int:1099511627776"):
        return  # integer divmod by zero traps in MLX (2**40 wraps to 0 next to bool)
    if op in ("left_shift", "right_shift") and tb in ("int:-2", "int:300", "int:1099511627776"):
        return  # shift counts outside [0, width): C++ UB, MLX's results depend on the layout
    if op in DIVISION and zero_divisor and ta == "complex64":
        return  # C++'s complex division by zero special-cases infinities; not compared
    if op == "divmod" and isinstance(b, mx.array):
        tb = "nz:" + tb
        b = SWEEP_B[tb]
    try:
        out = BINARY_OPS[op](a, b)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        mx.eval(outs)
    except Exception as e:  # noqa: BLE001 - MLX's exception class is the golden
        record(op, ta, tb, "!" + type(e).__name__)
        return
    for o in outs:
        streams.setdefault(dtype_name(o.dtype), []).append(o.reshape(-1))
    record(op, ta, tb, ",".join(dtype_name(o.dtype) for o in outs))


names = [dtype_name(d) for d in ALL_DTYPES]
for op in BINARY_OPS:
    for n in names:
        sweep(op, n, n)
for op in PAIR_OPS:
    for na in names:
        for nb in names:
            if na != nb:
                sweep(op, na, nb)
for op in BINARY_OPS:
    for n in ["bool", "uint8", "int8", "int32", "uint64", "float16", "float32", "complex64"]:
        for s in SCALARS:
            sweep(op, n, s)
    for s in ["int:3", "float:2.5", "bool:true", "complex:1:2"]:
        sweep(op, s, "int16")
        sweep(op, s, "float16")
    sweep(op, "int:3", "float:2.5")
    sweep(op, "bool:true", "int:3")

g.sweep = {
    "a": {k: g._store(v) for k, v in SWEEP_A.items()},
    "b": {k: g._store(v) for k, v in SWEEP_B.items()},
    "streams": {k: g._store(mx.concatenate(v)) for k, v in streams.items()},
    "tokens": tokens,
    "results": results,
    "entries": entries,
}

# ---------------------------------------------------------------- float special values
SPECIAL = [float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1.0, -1.0, 2.5, -3.0]
FLOAT_OPS = ["add", "subtract", "multiply", "divide", "floor_divide", "remainder", "divmod",
             "power", "maximum", "minimum", "arctan2", "logaddexp", "equal", "not_equal",
             "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or",
             "logical_xor"]
for d in FLOAT_DTYPES:
    x = mx.array(SPECIAL, d).reshape(-1, 1)
    y = mx.array(SPECIAL, d)
    for op in FLOAT_OPS:
        g.case(op, [x, y], op_fn(op), name=f"special_{op}_{dtype_name(d)}")

# complex: NaN only where MLX's C++ complex arithmetic has no special-case recovery to differ
CPLX = [complex(1, 1), complex(1, 2), complex(2, 0), complex(-1, 5), complex(float("nan"), 0),
        complex(1, float("nan")), complex(0, 0), complex(-0.0, 0)]
cx = mx.array(CPLX).reshape(-1, 1)
cy = mx.array(CPLX)
for op in ["maximum", "minimum", "equal", "not_equal", "greater", "greater_equal", "less",
           "less_equal", "logical_and", "logical_or", "logical_xor", "add", "subtract"]:
    g.case(op, [cx, cy], op_fn(op), name=f"special_{op}_complex")
FIN = [complex(1, 1), complex(-2, 0.5), complex(0.5, -3), complex(2, 0), complex(-1, 0)]
fx, fy = mx.array(FIN).reshape(-1, 1), mx.array(FIN)
for op in ["multiply", "divide", "floor_divide", "power", "logaddexp"]:
    g.case(op, [fx, fy], op_fn(op), name=f"finite_{op}_complex")
g.case("power", [mx.array([0j, 0j, 0j, 0j]), mx.array([0j, 2 + 0j, 1 + 1j, 0.5 + 0j])], op_fn("power"),
       name="power_complex_zero_base")

# ---------------------------------------------------------------- integer edge cases
for d in INT_DTYPES:
    info = mx.iinfo(d)
    lo, hi = int(info.min), int(info.max)
    signed = lo < 0
    if signed:
        av = [-7, 7, 0, 5, -5, lo, hi, lo + 1, -1]
        bv = [2, -2, 3, -3, 0, 1, 7, hi]  # no -1: MIN // -1 traps in MLX
    else:
        av = [7, 0, 5, 1, hi, hi - 1]
        bv = [2, 3, 0, 1, 7, hi]
    x = mx.array(np.array(av, dtype=np.dtype(dtype_name(d)))).reshape(-1, 1)
    y = mx.array(np.array(bv, dtype=np.dtype(dtype_name(d))))
    for op in ["add", "subtract", "multiply", "floor_divide", "remainder", "maximum", "minimum",
               "greater", "less_equal", "bitwise_and", "bitwise_or", "bitwise_xor"]:
        g.case(op, [x, y], op_fn(op), name=f"intedge_{op}_{dtype_name(d)}")
    nz = mx.array(np.array([v for v in bv if v != 0], dtype=np.dtype(dtype_name(d))))
    g.case("divmod", [x, nz], op_fn("divmod"), name=f"intedge_divmod_{dtype_name(d)}")
    # powers: negative exponents give 0, large ones wrap
    base = [-3, -2, -1, 0, 1, 2, 3, 7] if signed else [0, 1, 2, 3, 7, hi]
    ex = [-2, -1, 0, 1, 2, 5, 13, 40] if signed else [0, 1, 2, 5, 13, 40]
    g.case("power", [mx.array(np.array(base, dtype=np.dtype(dtype_name(d)))).reshape(-1, 1),
                     mx.array(np.array(ex, dtype=np.dtype(dtype_name(d))))], op_fn("power"),
           name=f"intedge_power_{dtype_name(d)}")
    # shifts by 0..100 (past the bit width) and, for signed types, negative counts: C++ UB,
    # but consistent in MLX when both operands are arrays of the output's shape (the x86
    # count masking rmlx implements); with a broadcast scalar count MLX's vectorized loop
    # gives other values, so those are left out.
    counts = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100] + ([-1, -3] if signed else [])
    vals = ([1, -1, 5, lo, hi, -100] if signed else [1, 5, hi, 200 if hi >= 200 else 100])
    sx = mx.array(np.array(vals, dtype=np.dtype(dtype_name(d)))).reshape(-1, 1)
    sc = mx.array(np.array(counts, dtype=np.int64)).astype(d)
    for op in ["left_shift", "right_shift"]:
        g.case(op, [sx, sc], op_fn(op), name=f"intedge_{op}_{dtype_name(d)}")

# bool tables
bx = mx.array([True, True, False, False])
by = mx.array([True, False, True, False])
for op in BINARY_OPS:
    if op != "divmod":
        g.case(op, [bx, by], op_fn(op), name=f"bool_table_{op}")
g.case("divmod", [bx, mx.array([True, True, True, True])], op_fn("divmod"), name="bool_table_divmod")

# int64 / uint64 beyond 2^53 (exact integer arithmetic, no float round trip)
i64a = mx.array(np.array([2**53 + 1, 2**62 + 3, -(2**62) - 5, 2**63 - 1, -(2**63)], dtype=np.int64))
i64b = mx.array(np.array([3, 2**53 + 1, 7, 2**62 + 1, 5], dtype=np.int64))
u64a = mx.array(np.array([2**63 + 5, 2**64 - 1, 2**53 + 1, 2**60], dtype=np.uint64))
u64b = mx.array(np.array([3, 2**53 + 1, 7, 2**63], dtype=np.uint64))
for op in ["add", "subtract", "multiply", "floor_divide", "remainder", "divmod", "maximum",
           "minimum", "equal", "less", "greater_equal", "bitwise_and", "bitwise_xor", "power"]:
    g.case(op, [i64a, i64b], op_fn(op), name=f"big_{op}_int64")
    g.case(op, [u64a, u64b], op_fn(op), name=f"big_{op}_uint64")
for op in ["left_shift", "right_shift"]:
    g.case(op, [i64a, mx.array([1, 2, 60, 63, 64], mx.int64)], op_fn(op), name=f"big_{op}_int64")
    g.case(op, [u64a, mx.array(np.array([1, 2, 63, 64], dtype=np.uint64))], op_fn(op), name=f"big_{op}_uint64")
# int64 with uint64 promotes to float32 (MLX's table): equal values after rounding compare equal
g.case("equal", [mx.array([2**53 + 1], mx.int64), mx.array(np.array([2**53], dtype=np.uint64))],
       op_fn("equal"), name="big_equal_int64_uint64")
g.case("add", [i64a, 1], op_fn("add"), name="big_add_int64_scalar")
g.case("add", [u64a, 2**62], op_fn("add"), name="big_add_uint64_scalar")

# ---------------------------------------------------------------- shapes and views
def rep_dtype(op):
    return mx.int32 if op in BITWISE else mx.float32


def rep_sample(shape, d, seed, op):
    # shift counts stay in range (see the sweep); other ops get negative values too
    return sample(shape, d, seed=seed, low=0 if op in BITWISE else -5)


for op in BINARY_OPS:
    d = rep_dtype(op)
    f = op_fn(op)
    for i, (sa, sb) in enumerate([((2, 1), (1, 3)), ((), (2, 3)), ((2, 3), ()), ((0, 3), (3,)),
                                  ((2, 0), (1,)), ((), ()), ((2, 3), (4,)), ((1, 2, 1), (3, 1, 4))]):
        if i in (2, 4, 5) and op not in ("add", "divmod", "equal", "maximum", "left_shift", "arctan2"):
            continue
        a, b = rep_sample(sa, d, 20 + i, op), rep_sample(sb, d, 40 + i, op)
        if op == "divmod":
            b = mx.where(b == 0, 1, b)
        g.case(op, [a, b], f, name=f"shape{i}_{op}")
    a = Input(rep_sample((3, 2), d, 60, op), {"kind": "transpose"})
    b = Input(rep_sample((2, 6), d, 61, op), {"kind": "step", "axis": 1})
    g.case(op, [a, b], f, name=f"view_transpose_step_{op}")
    a = Input(rep_sample((2, 3), d, 62, op), {"kind": "reverse", "axis": 0})
    b = Input(rep_sample((3,), d, 63, op), {"kind": "broadcast", "shape": [2, 3]})
    g.case(op, [a, b], f, name=f"view_reverse_broadcast_{op}")
    if op in ("subtract", "power", "remainder", "right_shift", "logaddexp", "less_equal"):
        a = Input(rep_sample((4, 3), d, 64, op), {"kind": "reverse", "axis": -1})
        g.case(op, [2, a], f, name=f"view_reverse_scalar_{op}")
for d in [mx.int8, mx.float16, mx.bfloat16, mx.complex64, mx.bool_, mx.uint64]:
    for op in ["add", "maximum", "less", "floor_divide", "bitwise_xor", "right_shift"]:
        a = Input(sample((3, 2), d, seed=70), {"kind": "transpose"})
        b = Input(sample((2, 3), d, seed=71, low=0), {"kind": "reverse", "axis": 1})
        g.case(op, [a, b], op_fn(op), name=f"view_{op}_{dtype_name(d)}")

# ---------------------------------------------------------------- where
W = lambda c, x, y: mx.where(c, x, y)  # noqa: E731
cond = mx.array([[True, False, True], [False, True, False]])
for dx, dy in [(mx.int8, mx.float16), (mx.uint8, mx.int8), (mx.bool_, mx.bool_), (mx.int64, mx.uint64),
               (mx.bfloat16, mx.float16), (mx.complex64, mx.int32), (mx.float64, mx.float32),
               (mx.uint32, mx.bool_)]:
    g.case("where", [cond, sample((2, 3), dx, seed=90), sample((3,), dy, seed=91)], W,
           name=f"where_{dtype_name(dx)}_{dtype_name(dy)}")
for dc in [mx.int32, mx.float32, mx.complex64, mx.uint8]:
    g.case("where", [mx.array([0, 1, 2, 0]).astype(dc), mx.array([1.0, 2.0, 3.0, 4.0]), -1.0], W,
           name=f"where_cond_{dtype_name(dc)}")
g.case("where", [mx.array([True, False]), 1, 2.5], W, name="where_scalars_int_float")
g.case("where", [mx.array([True, False]), True, 2], W, name="where_scalars_bool_int")
g.case("where", [mx.array([True, False]), mx.array([1, 2], mx.uint8), 3], W, name="where_weak_int")
g.case("where", [mx.array([True, False]), mx.array([1, 2], mx.uint8), 300], W, name="where_weak_overflow")
g.case("where", [mx.array([True, False]), mx.array([1, 2], mx.int8), 2.5], W, name="where_weak_float")
g.case("where", [mx.array([True, False]), mx.array([1, 2], mx.float16), 2.5], W, name="where_weak_float16")
g.case("where", [True, mx.array([1, 2]), 0], W, name="where_scalar_condition")
g.case("where", [mx.array([[True], [False]]), mx.array([1, 2, 3]), mx.zeros((2, 1, 1))], W,
       name="where_broadcast3")
g.case("where", [mx.array([True, False]), mx.array([1, 2, 3]), 0], W, name="where_broadcast_error")
g.case("where", [mx.zeros((0, 3), mx.bool_), mx.zeros((3,)), 1.0], W, name="where_empty")
g.case("where", [mx.array(True), mx.array(1.5), mx.array(2)], W, name="where_0d")
g.case("where", [mx.array([True, False, True]), mx.array([float("nan"), 1.0, -0.0]),
                 mx.array([0.0, float("nan"), float("inf")])], W, name="where_nan")
g.case("where", [Input(sample((3, 2), mx.bool_, seed=92), {"kind": "transpose"}),
                 Input(sample((2, 6), mx.int16, seed=93), {"kind": "step", "axis": 1}),
                 Input(sample((2, 3), mx.int16, seed=94), {"kind": "reverse", "axis": 0})], W,
       name="where_views")

# ---------------------------------------------------------------- clip
def clip_case(name, a, lo, hi):
    ins = [a] + ([lo] if lo is not None else []) + ([hi] if hi is not None else [])
    kw = {"min": lo is not None, "max": hi is not None}

    def fn(x, *rest):
        rest = list(rest)
        mn = rest.pop(0) if lo is not None else None
        mxv = rest.pop(0) if hi is not None else None
        return mx.clip(x, mn, mxv)
    g.case("clip", ins, fn, kwargs=kw, name=name)


ci = mx.array([1, 5, 10])
clip_case("clip_int", ci, 2, 8)
clip_case("clip_int_float_bound", ci, 2.5, 8)
clip_case("clip_uint8_overflow", ci.astype(mx.uint8), 2, 300)
clip_case("clip_none_none", ci, None, None)
clip_case("clip_max_only", ci.astype(mx.uint8), None, 4)
clip_case("clip_min_only", ci.astype(mx.int16), 3, None)
clip_case("clip_array_bound_promotes", ci.astype(mx.uint8), mx.array([2, 2, 2], mx.int8), 4)
clip_case("clip_float16_array_bound", ci.astype(mx.int8), mx.array([2.5], mx.float16), None)
clip_case("clip_broadcast_error", ci.astype(mx.int8), mx.array([9, 9], mx.float16), None)
clip_case("clip_nan_bound", mx.array([1.0, float("nan"), 10]), 2.0, mx.array(float("nan")))  # JSON has no NaN scalars
clip_case("clip_min_above_max", mx.array([1.0, float("nan"), 10]), 5.0, 2.0)
clip_case("clip_complex", mx.array([1 + 1j, 2 - 1j, 0.5 + 4j]), 1.5 + 0j, 3)
clip_case("clip_bool", mx.array([True, False]), True, None)
clip_case("clip_bool_int", mx.array([True, False]), 1, None)
clip_case("clip_neg_zero", mx.array([1.0, -0.0, 0.0, -2.0]), -0.0, None)
clip_case("clip_neg_zero_max", mx.array([1.0, -0.0, 0.0, -2.0]), None, -0.0)
clip_case("clip_array_bounds", sample((2, 3), mx.float32, seed=95), sample((3,), mx.float32, seed=96),
          sample((2, 1), mx.float32, seed=97) + 3)
clip_case("clip_view", Input(sample((3, 2), mx.bfloat16, seed=98), {"kind": "transpose"}), -1.0, 1.0)
clip_case("clip_empty", mx.zeros((0, 2), mx.int32), 0, 1)
clip_case("clip_0d", mx.array(7, mx.int64), 0, 5)

g.save()
