"""Reductions, scans, softmax and the closeness tests (isclose, allclose, array_equal).

kwargs are MLX's own keyword arguments (axis, keepdims, ddof, reverse, inclusive, precise,
rtol, atol, equal_nan); the Rust side replays them through the matching rmlx function.
Left out: argmax/argmin of a 0-d array with keepdims=True (MLX 0.32.4 raises a C++
"cannot create std::vector larger than max_size()", an MLX bug), and complex inputs holding
NaN (MLX's ordering of complex NaN is not defined).
"""
import numpy as np
import mlx.core as mx
from golden import Goldens, Input, sample, ALL_DTYPES

g = Goldens("reduce")
nan, inf = float("nan"), float("inf")

REDUCE = ["sum", "prod", "mean", "var", "std", "max", "min", "all", "any", "logsumexp",
          "count_nonzero", "median"]
ARG = ["argmax", "argmin"]
SCAN = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"]
CLOSE = ["isclose", "allclose", "array_equal"]
HALF = [mx.float16, mx.bfloat16]
INTS = [mx.uint8, mx.uint16, mx.uint32, mx.uint64, mx.int8, mx.int16, mx.int32, mx.int64]


def R(op, x, why=None, rtol=None, atol=None, **kw):
    g.case(op, [x], lambda a: getattr(mx, op)(a, **kw), kwargs=kw, why=why, rtol=rtol, atol=atol)


def C(op, x, y, **kw):
    g.case(op, [x, y], lambda a, b: getattr(mx, op)(a, b, **kw), kwargs=kw)


# Every op over every dtype: all axes, the last axis with keepdims, the first axis.
for i, d in enumerate(ALL_DTYPES):
    x = sample((3, 4), d, seed=10 + i, low=-3, high=4)
    for op in REDUCE:
        R(op, x)
        R(op, x, axis=-1, keepdims=True)
        R(op, x, axis=0)
    for op in ARG:
        R(op, x)
        R(op, x, axis=1, keepdims=True)
        R(op, x, axis=0)
    for op in SCAN:
        R(op, x)
        R(op, x, axis=1, reverse=True)
        R(op, x, axis=0, inclusive=False)
        R(op, x, axis=-1, reverse=True, inclusive=False)
    R("softmax", x, axis=-1)
    if d not in INTS:
        # Off the last-axis path MLX casts the result back to the input dtype; for integers
        # that casts NaN/inf (C++ undefined behaviour), so those are left out.
        R("softmax", x)
        R("softmax", x, axis=0, precise=True)
    y = sample((3, 4), d, seed=40 + i, low=-3, high=4)
    C("isclose", x, y)
    C("isclose", x, x)
    C("allclose", x, x)
    C("array_equal", x, y)
    C("array_equal", x, x)

# Non-contiguous views.
for d in [mx.float32, mx.int32, mx.float16]:
    views = [Input(sample((4, 3), d, seed=1), {"kind": "transpose"}),
             Input(sample((3, 8), d, seed=2), {"kind": "step", "axis": 1}),
             Input(sample((3, 4), d, seed=3), {"kind": "reverse", "axis": 0}),
             Input(sample((4,), d, seed=4), {"kind": "broadcast", "shape": [3, 4]})]
    for v in views:
        for op in ["sum", "max", "mean", "median", "logsumexp"]:
            R(op, v, axis=0)
            R(op, v, axis=-1)
        for op in ["argmax", "argmin", "cumsum", "cummax"]:
            R(op, v, axis=0)
            R(op, v, axis=1)
        R("softmax", v, axis=0)
        R("softmax", v, axis=1)

# Several axes, negative axes, keepdims, 3-D.
for d in [mx.float32, mx.int32, mx.bfloat16]:
    x = sample((2, 3, 4), d, seed=5)
    for op in ["sum", "prod", "mean", "var", "max", "min", "all", "logsumexp", "median", "count_nonzero"]:
        R(op, x, axis=[0, 2])
        R(op, x, axis=[-1, 0], keepdims=True)
        R(op, x, axis=[1])
        R(op, x, axis=[])
    R("softmax", x, axis=[0, 2])
    R("softmax", x, axis=[-1, -2])
    for op in ["argmax", "cumsum", "cumprod"]:
        R(op, x, axis=1)
        R(op, x, axis=-3)
xt = Input(sample((4, 3, 2), mx.float32, seed=6), {"kind": "transpose"})
for op in ["sum", "max", "median", "logsumexp", "softmax"]:
    R(op, xt, axis=[0, 2])
R("argmax", xt, axis=1)
R("cumsum", xt, axis=1, reverse=True)

# Errors: duplicate and out-of-range axes.
x = sample((2, 3), mx.float32, seed=7)
for op in REDUCE + ["softmax"]:
    R(op, x, axis=[0, 0])
    R(op, x, axis=[1, -1])
    R(op, x, axis=2)
    R(op, x, axis=-3)
for op in ARG:
    R(op, x, axis=2)
    R(op, x, axis=-3)
for op in SCAN:
    R(op, x, axis=2)
    R(op, x, axis=-3)

# 0-d inputs.
for d in [mx.float32, mx.int32, mx.bool_]:
    s = mx.array(3).astype(d)
    for op in REDUCE + ARG + SCAN + ["softmax"]:
        R(op, s)
    for op in ["sum", "max", "mean", "logsumexp"]:
        R(op, s, keepdims=True)
        R(op, s, axis=[])
        R(op, s, axis=0)
    R("argmax", s, axis=0)
    R("cumsum", s, axis=0)
    C("isclose", s, s)
    C("array_equal", s, s)

# Empty arrays and empty axes.
for shape in [(0,), (0, 3), (3, 0)]:
    for d in [mx.float32]:
        e = mx.zeros(shape, d)
        for op in REDUCE + ARG:
            R(op, e)
            for ax in range(len(shape)):
                R(op, e, axis=ax)
        for op in SCAN:
            R(op, e)
            R(op, e, axis=-1)
        R("softmax", e, axis=-1)
        R("softmax", e)
        C("allclose", e, e)
        C("array_equal", e, e)

# NaN, inf, -0.0.
specials = [
    [1.0, nan, 3.0, -2.0],
    [nan, 1.0, nan, 0.0],
    [1.0, inf, nan, -inf],
    [-inf, -inf, -inf, -inf],
    [inf, 1.0, 2.0, inf],
    [-0.0, 0.0, -0.0, 0.0],
    [2.0, -inf, 5.0, inf],
]
for d in [mx.float32, mx.float64, mx.float16, mx.bfloat16]:
    for row in (specials if d == mx.float32 else specials[:3]):
        x = mx.array(row).astype(d)
        for op in ["sum", "prod", "max", "min", "argmax", "argmin", "median", "logsumexp", "all", "any",
                   "count_nonzero", "mean", "var", "cummax", "cummin", "cumsum", "logcumsumexp", "softmax"]:
            if op in ("cummax", "cummin") and d in HALF and any(v != v for v in row):
                continue  # MLX's half-precision cummax/cummin turn NaN into 0 (a bug)
            R(op, x)
    m = mx.array([specials[0], specials[2], specials[5]]).astype(d)
    for op in ["max", "min", "argmax", "argmin", "median", "logsumexp", "cummax", "cummin", "logcumsumexp", "softmax"]:
        if op in ("cummax", "cummin") and d in HALF:
            continue  # as above
        R(op, m, axis=0)
        R(op, m, axis=1)
    a = mx.array([1.0, nan, inf, -inf, 2.0]).astype(d)
    b = mx.array([1.0, nan, inf, inf, 2.00001]).astype(d)
    C("isclose", a, b)
    C("isclose", a, b, equal_nan=True)
    C("allclose", a, a, equal_nan=True)
    C("allclose", a, a)
    C("array_equal", a, a)
    C("array_equal", a, a, equal_nan=True)
    C("isclose", a, b, rtol=0.1, atol=1.0)

# Large 64-bit integers (exact arithmetic above 2^53).
big_i = mx.array(np.array([2**53 + 1, 2**60 + 3, -(2**62) + 7, 5, 2**53 + 1, -3], dtype=np.int64))
big_u = mx.array(np.array([2**63 + 1, 2**53 + 1, 7, 2**63 + 1, 2**60 + 5, 1], dtype=np.uint64))
for x in [big_i, big_u]:
    for op in ["sum", "prod", "max", "min", "argmax", "argmin", "count_nonzero", "all"]:
        R(op, x)
    for op in ["cumsum", "cumprod", "cummax", "cummin"]:
        R(op, x)
        R(op, x, reverse=True, inclusive=False)
    x2 = x.reshape(2, 3)
    R("sum", x2, axis=0)
    R("max", x2, axis=1)
    R("argmax", x2, axis=0)
    C("isclose", x, x)
    C("array_equal", x, x + 1)
    C("array_equal", x, x)
# Wrapping of small integer scans and products.
R("cumsum", mx.array([100, 100, 100], dtype=mx.int8))
R("cumprod", mx.array([100, 100], dtype=mx.int8))
R("sum", mx.array([100, 100, 100], dtype=mx.int8))
R("prod", mx.array([200, 200], dtype=mx.uint8))
R("mean", mx.array([2**31 - 1, 2**31 - 1], dtype=mx.int32))
C("isclose", mx.array([1, 2], dtype=mx.uint8), mx.array([3, 1], dtype=mx.uint8), atol=5.0)

# ddof.
x = sample((3, 5), mx.float32, seed=8)
for ddof in [1, 2, 5, 6, -1]:
    R("var", x, ddof=ddof)
    R("std", x, axis=1, ddof=ddof)
    R("var", x, axis=0, ddof=ddof, keepdims=True)
R("var", mx.array([1.0, 1.0]), ddof=2)
R("var", mx.array([2**24 + 1, 2**24 + 3], dtype=mx.int32))

# Median on even and odd counts, ties.
for row in [[1, 4, 3, 2], [5, 1, 3], [2, 2, 2, 1], [7]]:
    for d in [mx.int32, mx.float32, mx.uint8, mx.float16]:
        R("median", mx.array(row).astype(d))
R("median", mx.array([[1.0, 4.0, 2.0], [3.0, 2.0, 9.0]]), axis=[0, 1], keepdims=True)

# Long rows: float32 accumulation accuracy, half precision accumulating in float32.
rng = np.random.default_rng(3)
long = mx.array(rng.uniform(0, 1, 5000).astype(np.float32))
R("sum", long)
R("mean", long)
R("logsumexp", long)
R("argmax", long)
R("sum", mx.ones((3000,), dtype=mx.float16))
R("sum", mx.array(rng.uniform(0, 1, 3000)).astype(mx.bfloat16))
R("cumsum", mx.ones((2100,), dtype=mx.float16))
R("sum", mx.array(rng.uniform(-1, 1, (7, 300)).astype(np.float32)), axis=0, atol=1e-5,
  why="float32 summation order differs from MLX's")
R("sum", mx.array(rng.uniform(-1, 1, (7, 300)).astype(np.float32)), axis=1, atol=1e-5,
  why="float32 summation order differs from MLX's")
R("argmax", mx.array(rng.uniform(-1, 1, (5, 100)).astype(np.float32)), axis=1)
R("argmin", mx.array(rng.uniform(-1, 1, (5, 100)).astype(np.float32)), axis=1)
R("softmax", mx.array(rng.uniform(-5, 5, (4, 300)).astype(np.float32)), axis=-1)
sm = mx.array(rng.uniform(-5, 5, (4, 37))).astype(mx.float16)
R("softmax", sm, axis=-1)
R("softmax", sm, axis=-1, precise=True)

# Closeness with broadcasting, mixed dtypes, tolerances.
C("isclose", mx.array([[1.0], [2.0]]), mx.array([1.0, 2.0, 3.0]))
C("isclose", mx.array([0.5], dtype=mx.float16), mx.array([0.5001]))
C("isclose", mx.array([1.0], dtype=mx.bfloat16), mx.array([1.003]), rtol=1e-3)
C("isclose", mx.array([1, 2, 3]), mx.array([1.0, 2.5, 3.00001]))
C("allclose", mx.array([1.0, 2.0]), mx.array([1.0, 2.0, 3.0]))
C("array_equal", mx.array([1.0, 2.0]), mx.array([1.0, 2.0, 3.0]))
C("array_equal", mx.array([1, 2]), mx.array([True, True]))
C("array_equal", mx.array([1, 2]), mx.array([1.0, 2.0]))
C("array_equal", mx.array([[1, 2]]), mx.array([1, 2]))
C("allclose", mx.array([1e10, 1e-8]), mx.array([1.00001e10, 1e-9]))
C("allclose", mx.array([1e-8, 1e-7]), mx.array([1e-9, 1e-8]), rtol=0.0, atol=1e-7)

g.save()
