"""Goldens for creation ops: arange (dtype rules, negative and float steps, empty ranges,
errors, explicit dtypes, accumulated rounding), full, zeros, ones and the *_like ops.

kwargs.sample = [offset, stride, count] keeps only a[offset::stride][:count] of a long result.
Left out (C++ undefined behaviour): arange values that do not fit the integer dtype asked for
(a negative start or step converted to an unsigned type), and full_like of NaN, inf or 1e40
into an integer array.
"""
import mlx.core as mx
from golden import Goldens, ALL_DTYPES, dtype_name, sample

g = Goldens("creation")

# Reuse stored input arrays instead of storing one copy per case.
_store = g._store
_memo = {}


def store(a):
    if id(a) not in _memo:
        _memo[id(a)] = (a, _store(a))
    return dict(_memo[id(a)][1])


g._store = store
NAN, INF = float("nan"), float("inf")


def arange(start, stop, step, dtype=None, sample_=None):
    kw = {}
    if dtype is not None:
        kw["dtype"] = dtype_name(dtype)
    if sample_ is not None:
        kw["sample"] = list(sample_)

    def fn(a, b, c):
        out = mx.arange(a, b, c, dtype=dtype) if dtype is not None else mx.arange(a, b, c)
        if sample_ is not None:
            o, s, n = sample_
            out = out[o::s][:n]
        return out
    g.case("arange", [start, stop, step], fn, kwargs=kw, rtol=0.0, atol=0.0)


# Dtype inference from the scalars.
for args in [(0, 5, 1), (0, 5.0, 1), (0.5, 5, 1), (0, 5, 2), (True, 5, 1), (2**40, 2**40 + 3, 1),
             (-2**31 - 1, -2**31 + 2, 1), (5, 0, -1), (5, 0, -2), (0, 5, -1), (5, 5, 1), (0, 0, 0.5),
             (-3, 3, 1), (10, -10, -3), (0, 1, 0.1), (1, 0, -0.1), (0.1, 0.95, 0.2), (-1.5, 1.5, 0.5),
             (0, 5, 0), (0.0, 5, 0.0), (True, False, True), (0, NAN, 1), (NAN, 5, 1), (0, 5, NAN),
             (0, INF, 1), (-INF, 5, 1), (0, 5, INF), (0, -5, INF), (5, 0, -INF), (0, 5, -INF),
             (0, 2**31, 1), (0, 1e10, 1e-3), (1e10, 1e10 + 5, 1), (0, 3, 1.5), (3, 0, -1.5)]:
    arange(*args)

# Explicit dtypes (every dtype but bool, which is an error, and unsigned types with
# negative values).
for d in ALL_DTYPES:
    arange(0, 10, 1, d)
    arange(10, 0, -3, d)
    arange(0.5, 5, 1.5, d)
    arange(0, 2, 0.3, d)
    if d not in (mx.uint8, mx.uint16, mx.uint32, mx.uint64):
        arange(-2.5, 2, 0.7, d)
        arange(3, -3, -1, d)
for d in (mx.float16, mx.bfloat16, mx.float32, mx.float64):
    arange(0, 1, 0.1, d)
    arange(1, 0, -0.1, d)
    arange(-1, 1, 0.125, d)
arange(0, 200, 1, mx.int8, sample_=(120, 1, 16))  # wraps past 127
arange(0, 300, 1, mx.uint8, sample_=(250, 1, 12))  # wraps past 255
arange(0, 70000, 1, mx.int16, sample_=(32760, 1, 16))
arange(1e9, 1e9 + 5, 1, mx.int32)
arange(2.0**53, 2.0**53 + 5, 1, mx.int64)
arange(2.0**53, 2.0**53 + 5, 1, mx.float64)
arange(2.0**24, 2.0**24 + 5, 1, mx.float32)

# Accumulated rounding over long float ranges.
arange(0, 5000, 1, mx.float16, sample_=(2040, 1, 16))      # float16 stalls at 2048
arange(0, 600, 1, mx.bfloat16, sample_=(250, 1, 16))       # bfloat16 stalls at 256
arange(0, 100000, 0.1, sample_=(0, 9973, 200))             # float32 drifts
arange(0, 100000, 0.1, sample_=(999990, 1, 10))
arange(0, 1000, 0.001, mx.float64, sample_=(0, 99991, 20))
arange(0, 100, 0.01, mx.float16, sample_=(0, 97, 200))
arange(-1, 1, 1e-3, mx.bfloat16, sample_=(0, 37, 100))

# full / zeros / ones and the *_like ops.
SCALARS = [True, False, 0, 7, -1, 300, -200, 2**31, 2**40, 1.5, -0.0, 0.1, NAN, INF, 1e40, 1 + 2j]
for d in ALL_DTYPES:
    g.case("zeros", [], lambda d=d: mx.zeros((2, 3), d), kwargs={"shape": [2, 3], "dtype": dtype_name(d)})
    g.case("ones", [], lambda d=d: mx.ones((3,), d), kwargs={"shape": [3], "dtype": dtype_name(d)})
    g.case("zeros", [], lambda d=d: mx.zeros((), d), kwargs={"shape": [], "dtype": dtype_name(d)})
    g.case("ones", [], lambda d=d: mx.ones((2, 0), d), kwargs={"shape": [2, 0], "dtype": dtype_name(d)})
    a = sample((2, 2), d, seed=3)
    g.case("zeros_like", [a], lambda x: mx.zeros_like(x))
    g.case("ones_like", [a], lambda x: mx.ones_like(x))
    for s in SCALARS:
        g.case("full", [s], lambda v, d=d: mx.full((2,), v, dtype=d), kwargs={"shape": [2], "dtype": dtype_name(d)})
        if mx.issubdtype(d, mx.integer) and isinstance(s, float) and not abs(s) < 2**31:
            continue  # NaN, inf and 1e40 cast to an integer: C++ undefined behaviour
        g.case("full_like", [a, s], lambda x, v: mx.full_like(x, v))
    g.case("full_like", [a, 3], lambda x, v: mx.full_like(x, v, dtype=mx.float16), kwargs={"dtype": "float16"})
    g.case("full", [sample((3,), d, seed=4)], lambda v: mx.full((2, 3), v), kwargs={"shape": [2, 3]})
    g.case("full", [sample((3,), d, seed=4)], lambda v: mx.full((2, 3), v, dtype=mx.float16),
           kwargs={"shape": [2, 3], "dtype": "float16"})
    g.case("full_like", [a, sample((2,), d, seed=5)], lambda x, v: mx.full_like(x, v, dtype=mx.int8),
           kwargs={"dtype": "int8"})
for s in SCALARS:
    g.case("full", [s], lambda v: mx.full((2, 2), v), kwargs={"shape": [2, 2]})
g.case("full", [1], lambda v: mx.full((2, -1), v), kwargs={"shape": [2, -1]})
g.case("full", [sample((3,), mx.float32)], lambda v: mx.full((2, 4), v), kwargs={"shape": [2, 4]})
g.case("full", [2.5], lambda v: mx.full((), v), kwargs={"shape": []})
g.case("full", [2.5], lambda v: mx.full((0, 3), v), kwargs={"shape": [0, 3]})
g.case("zeros", [], lambda: mx.zeros((2, -3)), kwargs={"shape": [2, -3], "dtype": "float32"})

g.save()
