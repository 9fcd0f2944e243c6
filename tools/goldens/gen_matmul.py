"""Goldens of the matrix-product family: matmul, addmm, inner, outer, vecdot, tensordot, kron.

Float tolerances: a product's rounding error grows with the magnitude of the sums it adds up,
not with the (possibly cancelled) result, so float cases get an `atol` proportional to
`(|a| @ |b|).max()` times the accumulator's epsilon (MLX and rmlx add in different orders).
"""
import mlx.core as mx
import numpy as np
from golden import Goldens, Input, sample, ALL_DTYPES

g = Goldens("matmul")
INEXACT = [mx.float16, mx.bfloat16, mx.float32, mx.float64, mx.complex64]
# Accumulator epsilon per dtype: half precision multiplies in float32.
ACC_EPS = {mx.float16: 2.0**-23, mx.bfloat16: 2.0**-23, mx.float32: 2.0**-23,
           mx.float64: 2.0**-52, mx.complex64: 2.0**-23}


def np64(x):
    x = x.astype(mx.complex64) if x.dtype == mx.complex64 else x.astype(mx.float64)
    return np.abs(np.array(x))


def sums_atol(a, b, op=lambda x, y: x @ y, scale=1.0):
    """16 epsilons of the largest sum of |terms|: the ordering error, with margin."""
    x, y = np64(a.materialize() if isinstance(a, Input) else a), np64(b.materialize() if isinstance(b, Input) else b)
    try:
        with np.errstate(invalid="ignore"):
            bound = float(np.max(op(x, y), initial=0.0))
    except ValueError:
        return None
    if not np.isfinite(bound):
        return None
    d = mx.result_type(mx.zeros((), x_dtype(a)), mx.zeros((), x_dtype(b)))
    eps = ACC_EPS.get(d)
    return None if eps is None else 16 * eps * bound * scale + 1e-30


def x_dtype(a):
    return (a.base if isinstance(a, Input) else a).dtype


WHY = "float sums in a different order: error relative to the magnitude of the sums"


def mm(a, b, name=None, fn=lambda x, y: x @ y):
    g.case("matmul", [a, b], fn, name=name, atol=sums_atol(a, b), why=WHY)


# Every dtype (integers and bool are rejected by MLX).
for d in ALL_DTYPES:
    mm(sample((2, 3), d, seed=1), sample((3, 4), d, seed=2))
    # matmul against each dtype through promotion with float32 / float16
    mm(sample((2, 3), d, seed=3), sample((3, 2), mx.float32, seed=4))
    mm(sample((2, 3), mx.float16, seed=5), sample((3, 2), d, seed=6))

# 1-D operands, batches, broadcast batch dims.
f32 = mx.float32
for sa, sb in [((3,), (3,)), ((3,), (3, 4)), ((4, 3), (3,)), ((3,), (2, 3, 4)), ((2, 4, 3), (3,)),
               ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 5)),
               ((2, 3, 4), (4, 5)), ((1, 3, 4), (6, 4, 2)), ((33, 65), (65, 17)),
               ((70, 70), (70, 70)), ((8, 16, 16), (8, 16, 16)), ((3, 1, 5), (1, 5, 1))]:
    for d in INEXACT:
        big = sa in ((33, 65), (70, 70), (8, 16, 16))
        if d != f32 and (big or len(sa) + len(sb) > 5) and sa != (2, 3, 4):
            continue
        mm(sample(sa, d, seed=7), sample(sb, d, seed=8))
# f16 / bf16 products large enough for faer's blocked kernels
for d in [mx.float16, mx.bfloat16]:
    mm(sample((33, 65), d, seed=25), sample((65, 17), d, seed=26))

# Views: transposed, strided, reversed and broadcast operands (no copies on the rmlx side).
for d in INEXACT:
    mm(Input(sample((5, 4), d, seed=9), {"kind": "transpose"}), sample((5, 3), d, seed=10))
    mm(sample((4, 5), d, seed=11), Input(sample((3, 5), d, seed=12), {"kind": "transpose"}))
    mm(Input(sample((4, 10), d, seed=13), {"kind": "step", "axis": 1}), sample((5, 3), d, seed=14))
    mm(sample((4, 5), d, seed=15), Input(sample((10, 3), d, seed=16), {"kind": "step", "axis": 0}))
    mm(Input(sample((4, 5), d, seed=17), {"kind": "reverse", "axis": 1}),
       Input(sample((5, 3), d, seed=18), {"kind": "reverse", "axis": 0}))
    mm(Input(sample((4, 5), d, seed=19), {"kind": "broadcast", "shape": [3, 4, 5]}),
       sample((3, 5, 2), d, seed=20))
    mm(Input(sample((2, 3, 4), d, seed=21), {"kind": "transpose"}), sample((2, 5), d, seed=22))
    mm(Input(sample((6, 1), d, seed=23), {"kind": "broadcast", "shape": [6, 5]}), sample((5, 2), d, seed=24))

# Special values.
nan, inf = float("nan"), float("inf")
mm(mx.array([[nan, 1.0], [inf, 2.0], [-0.0, 1.0]]), mx.array([[1.0, 0.0], [2.0, -inf]]))

# Empty dimensions: k = 0 gives zeros; m, n or a batch of 0 give empty results.
for sa, sb in [((2, 0), (0, 3)), ((0, 3), (3, 2)), ((2, 3), (3, 0)), ((0, 2, 3), (3, 4)),
               ((0,), (0,)), ((0,), (0, 3)), ((3, 2, 0), (3, 0, 4))]:
    for d in [mx.float32, mx.float16, mx.complex64]:
        mm(mx.zeros(sa, d), mx.zeros(sb, d))

# Shape errors.
for sa, sb in [((2, 3), (4, 2)), ((3,), (4,)), ((2, 2, 3), (3, 3, 2)), ((), (3,)), ((3,), ()),
               ((2, 3), (2,)), ((4,), (3, 4))]:
    mm(mx.zeros(sa), mx.zeros(sb))

# addmm(c, a, b, alpha, beta)
def addmm(c, a, b, alpha=1.0, beta=1.0):
    atol = sums_atol(a, b, scale=max(abs(alpha), 1.0))
    g.case("addmm", [c, a, b], lambda c, a, b: mx.addmm(c, a, b, alpha=alpha, beta=beta),
           kwargs={"alpha": alpha, "beta": beta}, atol=atol, why=WHY)


for d in ALL_DTYPES:
    addmm(sample((2, 4), d, seed=30), sample((2, 3), d, seed=31), sample((3, 4), d, seed=32), 2.0, 0.5)
for d in INEXACT:
    addmm(sample((4,), d, seed=33), sample((3, 2, 5), d, seed=34), sample((5, 4), d, seed=35), -1.5, 2.0)
    addmm(sample((2, 1), d, seed=36), Input(sample((5, 2), d, seed=37), {"kind": "transpose"}),
          Input(sample((3, 5), d, seed=38), {"kind": "transpose"}))
addmm(sample((70, 70), f32, seed=39), sample((70, 70), f32, seed=40), sample((70, 70), f32, seed=41), 0.5, -1.0)
addmm(mx.array([[nan, inf]]), mx.ones((1, 3)), mx.ones((3, 2)), 1.0, 0.0)   # beta 0 ignores c
addmm(mx.ones((2, 2)), mx.zeros((2, 0)), mx.zeros((0, 2)), 2.0, 3.0)        # k = 0: beta * c
addmm(mx.ones(()), mx.ones((3,)), mx.ones((3, 2)))
addmm(mx.ones((2,)), mx.ones((3,)), mx.ones((3, 2)))
addmm(mx.ones((3,)), mx.ones((3, 2)), mx.ones((2,)))
addmm(mx.ones((1, 2)), mx.ones((3,)), mx.ones((3, 2)))      # c has more dims: error
addmm(mx.ones((3, 2, 2)), mx.ones((2, 3)), mx.ones((3, 2)))  # c wider than the output: error
addmm(mx.ones((2, 2)), mx.ones((2, 3)), mx.ones((4, 2)))     # inner mismatch
addmm(mx.ones((2, 2), mx.int32), mx.ones((2, 3)), mx.ones((3, 2)))
addmm(mx.ones((2, 2)), mx.ones((2, 3), mx.int32), mx.ones((3, 2), mx.bool_))
addmm(mx.ones((2, 2), mx.float16), mx.ones((2, 3)), mx.ones((3, 2)))

# inner / outer
for d in ALL_DTYPES:
    g.case("inner", [sample((2, 3), d, seed=50), sample((4, 3), d, seed=51)], mx.inner,
           atol=sums_atol(sample((2, 3), d, seed=50), sample((3, 4), d, seed=51)), why=WHY)
    g.case("outer", [sample((2, 3), d, seed=52), sample((4,), d, seed=53)], mx.outer)
for sa, sb in [((3,), (3,)), ((2, 5, 3), (4, 3)), ((), (4, 3)), ((2, 3), ()), ((2, 3), (4, 2))]:
    a, b = sample(sa, f32, seed=54), sample(sb, f32, seed=55)
    g.case("inner", [a, b], mx.inner, atol=1e-4, why=WHY)
g.case("inner", [mx.array(2), sample((3,), mx.int32, seed=56)], mx.inner)
g.case("outer", [mx.array(2.0), sample((4,), f32, seed=57)], mx.outer)
g.case("outer", [mx.zeros((0,)), sample((4,), f32, seed=58)], mx.outer)
g.case("outer", [sample((2,), mx.int32, seed=59), sample((4,), mx.float16, seed=60)], mx.outer)
g.case("outer", [Input(sample((3, 2), f32, seed=61), {"kind": "transpose"}), sample((2,), f32, seed=62)], mx.outer)

# vecdot(a, b, axis=-1): conj(a) * b summed; small integers widen as sum does.
for d in ALL_DTYPES:
    g.case("vecdot", [sample((3, 4), d, seed=70), sample((3, 4), d, seed=71)], mx.vecdot,
           kwargs={"axis": -1}, atol=1e-2 if d in (mx.float16, mx.bfloat16) else 1e-4, why=WHY)
g.case("vecdot", [mx.full((3,), 200, mx.uint8), mx.full((3,), 2, mx.uint8)], mx.vecdot, kwargs={"axis": -1})
g.case("vecdot", [mx.array([1 + 2j, 3j]), mx.array([1 + 1j, 2])], mx.vecdot, kwargs={"axis": -1})
for sa, sb, ax in [((3, 2), (3, 2), 0), ((2, 3), (2, 3), -2), ((4, 2, 3), (4, 1, 3), -1),
                   ((2, 3), (4, 1, 3), -1), ((2, 3), (2, 3), 5), ((3, 2), (3, 4), -1),
                   ((2, 0), (2, 0), -1), ((), (), 0)]:
    a, b = sample(sa, f32, seed=72), sample(sb, f32, seed=73)
    g.case("vecdot", [a, b], lambda x, y, ax=ax: mx.vecdot(x, y, axis=ax), kwargs={"axis": ax},
           atol=1e-5, why=WHY)
g.case("vecdot", [Input(sample((4, 3), f32, seed=74), {"kind": "transpose"}),
                  Input(sample((3, 8), f32, seed=75), {"kind": "step", "axis": 1})],
       lambda x, y: mx.vecdot(x, y, axis=0), kwargs={"axis": 0}, atol=1e-5, why=WHY)

# tensordot(a, b, axes): an int or two lists.
for sa, sb, axes in [((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (3, 4), 0),
                     ((2, 3, 5), (5, 3, 4), [[1, 2], [1, 0]]), ((2, 3, 5), (5, 3, 4), [[-2, -1], [1, 0]]),
                     ((), (3, 4), 0), ((2, 3), (3, 4), 2), ((2, 3), (3, 4), 3), ((2, 3), (3, 4), -1),
                     ((2, 3), (3, 4), [[1], [0, 1]]), ((2, 3, 5), (5, 3, 4), [[1, 2], [0, 1]]),
                     ((3, 3), (3, 3), [[0, 0], [0, 1]]), ((2, 0), (0, 3), 1), ((4, 3, 2), (2, 3), [[1], [1]])]:
    a, b = sample(sa, f32, seed=80), sample(sb, f32, seed=81)
    g.case("tensordot", [a, b], lambda x, y, axes=axes: mx.tensordot(x, y, axes=axes),
           kwargs={"axes": axes}, atol=1e-4, why=WHY)
for d in ALL_DTYPES:
    g.case("tensordot", [sample((2, 3, 4), d, seed=82), sample((3, 4, 2), d, seed=83)],
           lambda x, y: mx.tensordot(x, y, axes=2), kwargs={"axes": 2},
           atol=sums_atol(sample((2, 12), d, seed=82), sample((12, 2), d, seed=83)), why=WHY)
g.case("tensordot", [Input(sample((4, 3, 2), f32, seed=84), {"kind": "transpose"}), sample((4, 5), f32, seed=85)],
       lambda x, y: mx.tensordot(x, y, axes=1), kwargs={"axes": 1}, atol=1e-4, why=WHY)

# kron: elementwise underneath, so every dtype works; empty inputs are an error.
for d in ALL_DTYPES:
    g.case("kron", [sample((2, 3), d, seed=90), sample((2, 2), d, seed=91)], mx.kron)
for sa, sb in [((2,), (2, 2)), ((2, 3), (4, 1, 2)), ((), (3,)), ((3,), ()), ((2, 3), (0,))]:
    g.case("kron", [sample(sa, mx.int32, seed=92), sample(sb, mx.int32, seed=93)], mx.kron)
g.case("kron", [sample((2, 3), mx.complex64, seed=94), sample((2,), mx.float16, seed=95)], mx.kron)
g.case("kron", [Input(sample((3, 2), f32, seed=96), {"kind": "transpose"}),
                Input(sample((2, 3), f32, seed=97), {"kind": "reverse", "axis": 1})], mx.kron)
g.save()
