"""Unary elementwise ops: every op over all 14 dtypes (MLX's errors included), special values
(nan, +-inf, -0.0, tiny and huge, just outside each domain), 0-d, empty and non-contiguous
inputs, round(decimals), nan_to_num options.

Complex64 transcendentals are checked on finite values only: at infinities and NaNs MLX's
results come from its C++ standard library's complex functions (e.g. sin(inf+0j) = nan+0j)
whose special-value conventions rmlx does not promise to reproduce bit for bit.
"""
import math

import mlx.core as mx
import numpy as np
from golden import Goldens, Input, sample, ALL_DTYPES

g = Goldens("unary")

FLOAT_MATH = ["sqrt", "rsqrt", "reciprocal", "exp", "expm1", "log", "log2", "log10", "log1p",
              "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
              "arcsinh", "arccosh", "arctanh", "sigmoid", "erf", "erfinv", "degrees", "radians"]
KEEP_DTYPE = ["abs", "sign", "negative", "positive", "square", "floor", "ceil", "trunc", "round",
              "stop_gradient"]
CLASSIFY = ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not"]
OTHER = ["bitwise_invert", "real", "imag", "conj", "conjugate", "nan_to_num"]
ALIASES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
           "acosh": "arccosh", "atanh": "arctanh"}
ALL_OPS = FLOAT_MATH + KEEP_DTYPE + CLASSIFY + OTHER

# Ops defined only on part of the real line: sampled on a range mostly inside the domain.
DOMAIN = {"arcsin": (-1, 1), "arccos": (-1, 1), "arctanh": (-1, 1), "erfinv": (-1, 1),
          "arccosh": (1, 6), "log": (0, 6), "log2": (0, 6), "log10": (0, 6), "sqrt": (0, 6),
          "rsqrt": (0.1, 6), "log1p": (-0.9, 6)}

FLOAT_DTYPES = [mx.float16, mx.bfloat16, mx.float32, mx.float64]


def fn_of(op, **kw):
    f = getattr(mx, op)
    return lambda x: f(x, **kw)


def vals(dtype, seed, op, shape=(2, 3)):
    lo, hi = DOMAIN.get(op, (-5, 5))
    if dtype in (mx.float16, mx.bfloat16, mx.float32, mx.float64, mx.complex64):
        return sample(shape, dtype, seed=seed, low=lo, high=hi)
    return sample(shape, dtype, seed=seed)


# 1. Every op over every dtype (errors recorded where MLX raises).
for i, op in enumerate(ALL_OPS):
    for j, d in enumerate(ALL_DTYPES):
        # One input per (dtype, domain): shared by the ops, so stored once.
        g.case(op, [vals(d, j, op)], fn_of(op), name=f"{op}_{d}")

# Aliases map to the same function.
for alias, op in ALIASES.items():
    g.case(alias, [vals(mx.float32, 7, op)], fn_of(alias))

# Integer edge values: wrapping abs/negative/square, sign, bitwise_invert, int64/uint64 > 2^53.
INT_EDGES = {
    mx.int8: [-128, -1, 0, 1, 127], mx.int16: [-32768, -3, 0, 3, 32767],
    mx.int32: [-2**31, -7, 0, 7, 2**31 - 1], mx.int64: [-2**63, -(2**53) - 1, 0, 2**53 + 1, 2**63 - 1],
    mx.uint8: [0, 1, 128, 255], mx.uint64: [0, 1, 2**53 + 1, 2**64 - 1],
}
for d, v in INT_EDGES.items():
    a = mx.array(np.array(v, dtype=np.dtype(str(d).split(".")[-1])))
    for op in ["abs", "sign", "negative", "square", "bitwise_invert", "round", "floor", "logical_not"]:
        g.case(op, [a], fn_of(op), name=f"{op}_edges_{d}")

# 2. Special values through every float op and float dtype.
SPECIAL = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e-30, -1e-30, 1e-8, 1e30, -1e30, 0.5, -0.5,
           1.0, -1.0, 1.5, -2.5, 2.5, 2.0, 20.0, -20.0, 88.8, -88.8, -104.0, 3.0e38]


def arr(values, d):
    """An array of exactly these values in dtype d (float64 without a float32 detour)."""
    return mx.array(np.array(values, np.float64), dtype=d)


for d in FLOAT_DTYPES:
    a = arr(SPECIAL, d)
    for op in FLOAT_MATH + KEEP_DTYPE + CLASSIFY + ["nan_to_num"]:
        rtol = atol = why = None
        if op == "exp" and d == mx.float64:
            # MLX's float64 exp runs float32's algorithm: exp(88.8) is inf there (the true value,
            # 3.6e38, is what rmlx returns). Kept to the range where MLX is right.
            a_exp = arr([80.0 if v == 88.8 else v for v in SPECIAL], d)
            g.case(op, [a_exp], fn_of(op), name=f"{op}_special_{d}")
            continue
        if op in ("sin", "cos", "tan") and d in (mx.float32, mx.float64):
            # sin/cos/tan of 1e30 and 3e38: argument reduction of huge values differs between
            # implementations (both are "correct" to the float32 input's precision).
            atol, why = 2.0, "huge-argument trig reduction differs; finite results only"
        if op == "erf" and d == mx.float64:
            atol, why = 2e-8, "MLX's float64 erf(1e-8) is 0 (true value 1.13e-8)"
        if op == "sigmoid":
            # MLX's sigmoid underflows to 0 (1/(1+inf)) below about -88.7; rmlx returns the
            # subnormal result.
            atol, why = 1e-37, "sigmoid of large negative values underflows in MLX"
        g.case(op, [a], fn_of(op), name=f"{op}_special_{d}", rtol=rtol, atol=atol, why=why)

# Just outside the domains (nan), on the edges (inf), and the largest finite values.
EDGE = [-1.0, -1.0000001, 1.0000001, 2.0, -2.0, 0.9999999, 1.0, 0.0, -0.0]
for d in [mx.float32, mx.float64, mx.float16]:
    a = arr(EDGE, d)
    for op in ["arcsin", "arccos", "arctanh", "arccosh", "erfinv", "log", "log1p", "sqrt", "rsqrt",
               "log2", "log10"]:
        rtol = why = None
        if op == "erfinv" and d == mx.float64:
            # MLX evaluates float64 erfinv in float32: erfinv(0.9999999) is 3.744 there (the
            # float32 neighbour's value) against the true 3.767.
            rtol, why = 1e-2, "MLX's float64 erfinv has float32 accuracy near 1"
        g.case(op, [a], fn_of(op), name=f"{op}_domain_{d}", rtol=rtol, why=why)

# Complex special values for the ops whose results do not depend on libm conventions.
nan, inf = math.nan, math.inf
cs = mx.array(np.array([complex(nan, 1), complex(1, nan), complex(inf, 0), complex(-inf, 0),
                        complex(inf, 1), complex(0, inf), complex(-0.0, -0.0), 3 + 4j], np.complex64))
for op in ["abs", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not", "real", "imag",
           "conj", "negative", "round", "square"]:
    if op == "square":
        cs_f = mx.array(np.array([3 + 4j, -1 - 2j, 0j, 0.5 - 0.25j], np.complex64))
        g.case(op, [cs_f], fn_of(op), name=f"{op}_complex_values")
        continue
    g.case(op, [cs], fn_of(op), name=f"{op}_complex_special")

# 3. round: halves to even, decimals (positive, negative), integer and bool inputs.
HALVES = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.125, 0.375, 1.005, 2.675, 1234.5678, -0.0, math.nan, math.inf]
for d in FLOAT_DTYPES:
    a = arr(HALVES, d)
    for dec in [0, 1, 2, -1, -2]:
        g.case("round", [a], fn_of("round", decimals=dec), kwargs={"decimals": dec},
               name=f"round_{dec}_{d}")
for d in [mx.int32, mx.uint8, mx.int64, mx.bool_, mx.complex64]:
    a = sample((2, 4), d, seed=11, low=-300, high=300)
    if d == mx.int32:
        a = mx.array([1234, 1250, 1350, -1250, -1350, 5, 15, 25], dtype=mx.int32)
    for dec in [0, 1, -1, -2]:
        g.case("round", [a], fn_of("round", decimals=dec), kwargs={"decimals": dec},
               name=f"round_{dec}_{d}")

# 4. nan_to_num options.
NTN = mx.array([math.nan, math.inf, -math.inf, 1.0, -0.0])
for d in FLOAT_DTYPES + [mx.complex64]:
    a = NTN.astype(d)
    for kw in [{}, {"nan": 5.0}, {"posinf": 100.0}, {"neginf": -7.5}, {"nan": 1.0, "posinf": 2.0, "neginf": -3.0},
               {"nan": -1.0, "posinf": 1e30, "neginf": -1e30}]:
        g.case("nan_to_num", [a], fn_of("nan_to_num", **kw), kwargs=kw,
               name=f"nan_to_num_{d}_{'_'.join(kw)}")
g.case("nan_to_num", [cs], fn_of("nan_to_num", nan=2.0, posinf=3.0, neginf=4.0),
       kwargs={"nan": 2.0, "posinf": 3.0, "neginf": 4.0}, name="nan_to_num_complex_special")

# 5. Shapes and layouts: 0-d, empty, non-contiguous views, larger arrays for the vector kernels.
for op in ALL_OPS:
    d = mx.float32 if op != "bitwise_invert" else mx.int32
    g.case(op, [mx.array(0.75).astype(d)], fn_of(op), name=f"{op}_0d")
    g.case(op, [mx.zeros((0, 3), dtype=d)], fn_of(op), name=f"{op}_empty")

VIEW_OPS = ["exp", "tanh", "sigmoid", "log", "sqrt", "abs", "sign", "square", "round", "floor",
            "isnan", "logical_not", "stop_gradient", "nan_to_num", "erf", "real", "imag", "conj"]
VIEWS = [{"kind": "transpose"}, {"kind": "step", "axis": 1}, {"kind": "reverse", "axis": 0},
         {"kind": "broadcast", "shape": [3, 4, 5]}]
# float32 through every view; uint8 (buffer-sharing identities) and complex64 through two.
VIEW_DTYPES = {mx.float32: VIEWS, mx.uint8: VIEWS[1:3], mx.complex64: VIEWS[1:3]}
VIEW_OPS_OTHER = {mx.uint8: ["abs", "sign", "round", "floor", "stop_gradient", "square", "logical_not", "exp"],
                  mx.complex64: ["abs", "sign", "exp", "sqrt", "real", "imag", "conj", "isnan", "nan_to_num"]}
for op in VIEW_OPS:
    for dt, views in VIEW_DTYPES.items():
        if dt in VIEW_OPS_OTHER and op not in VIEW_OPS_OTHER[dt]:
            continue
        for k, v in enumerate(views):
            base = sample((4, 5) if v["kind"] != "transpose" else (5, 4), dt, seed=50 + k, low=0.1, high=4)
            if v["kind"] == "broadcast":
                base = sample((4, 1), dt, seed=60 + k, low=0.1, high=4)
            g.case(op, [Input(base, v)], fn_of(op), name=f"{op}_{v['kind']}_{dt}")

# Sizes that cross the vector kernels' chunk boundaries and tails (values up to +-100).
for op in ["exp", "tanh", "sigmoid", "log"]:
    for n in [1, 15, 17, 33, 100]:
        # MLX's exp overflows to inf from about x = 88.3 on (the true limit is 88.72) and
        # flushes results below float32's normal range to 0; exp stays inside (-80, 80).
        lo, hi = {"log": (0.0, 100.0), "exp": (-80.0, 80.0)}.get(op, (-100.0, 100.0))
        a = sample((n,), mx.float32, seed=n, low=lo, high=hi)
        atol = 1e-37 if op == "sigmoid" else None
        why = "sigmoid of large negative values underflows in MLX" if atol else None
        g.case(op, [a], fn_of(op), name=f"{op}_n{n}", atol=atol, why=why)

# Python scalars (weakly typed) as inputs.
for op in ["exp", "abs", "sign", "isnan", "square", "round", "sqrt"]:
    g.case(op, [2], fn_of(op), name=f"{op}_int_scalar")
    g.case(op, [-1.5], fn_of(op), name=f"{op}_float_scalar")

g.save()
