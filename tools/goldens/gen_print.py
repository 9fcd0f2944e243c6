"""Goldens for printing: the exact text of MLX's repr(array) (str(array) is the same text).

Each case stores its input array (with an optional view) and the expected text in "text";
kwargs.precision, when present, is set with mx.printoptions around the repr.
"""
import mlx.core as mx
import numpy as np
from golden import Goldens, Input, sample, ALL_DTYPES
from golden_values import value_case

g = Goldens("print")


def text(x, precision=None, name=None):
    if precision is None:
        value_case(g, "repr", [x], lambda a: repr(a), field="text", name=name)
    else:
        def fn(a):
            with mx.printoptions(precision=precision):
                return repr(a)
        value_case(g, "repr", [x], fn, kwargs={"precision": precision}, field="text", name=name)


NAN, INF = float("nan"), float("inf")


def f64(values):
    """A float64 MLX array holding exactly these doubles (mx.array(numpy f64) gives float32)."""
    return mx.array(np.array(values, dtype=np.float64), dtype=mx.float64)


neg_nan = np.copysign(np.float64(np.nan), -1.0)
FLOATS = [1.0, 0.1, 1e-8, 1e20, -0.0, 0.0, NAN, INF, -INF, 123456789.0, 1234567.0, 1 / 3,
          100.0, 1e-4, 1e-5, 999999.5, 65504.0, -2.5, 0.5, 1.5, 2.5, 1234565.0, 3e38, 1e-40,
          6e-8, 16777217.0, 0.000123456789, 12345.678, -1e-3]
COMPLEX = [1 + 2j, 1 - 2j, complex(NAN, NAN), complex(0, -0.0), complex(1, -INF), complex(-0.5, 0.25),
           complex(1e-8, 1e20), complex(-1, 0), complex(INF, NAN), complex(1 / 3, -1 / 3)]

# Every dtype: a small 2-D, a 0-d, a 1-D below and at the summarisation threshold.
for d in ALL_DTYPES:
    text(sample((2, 3), d, seed=1))
    text(sample((), d, seed=2))
    text(sample((6,), d, seed=3))
    text(sample((7,), d, seed=4))
    text(sample((3, 7), d, seed=5))
    for shape in [(0,), (2, 0), (0, 3), (2, 0, 3), (2, 3, 0), (1, 0), (0, 0)]:
        text(mx.zeros(shape, dtype=d))

# Integer extremes.
text(mx.array(np.array([0, 2**64 - 1, 2**63, 2**63 - 1, 2**53 + 1], dtype=np.uint64)))
text(mx.array(np.array([-2**63, 2**63 - 1, -2**53 - 1, 0, -1], dtype=np.int64)))
text(mx.array(np.array([-2**31, 2**31 - 1], dtype=np.int32)))
text(mx.array(np.array([0, 2**32 - 1], dtype=np.uint32)))
text(mx.array(np.array([-32768, 32767], dtype=np.int16)))
text(mx.array(np.array([0, 65535], dtype=np.uint16)))
text(mx.array(np.array([-128, 127, 0], dtype=np.int8)))
text(mx.array(np.array([0, 255], dtype=np.uint8)))
text(mx.array([True, False, True]))
text(mx.array(False))

# Float formatting, in chunks of 5 (no summarisation), then all at once, for each float dtype.
for d in (mx.float16, mx.bfloat16, mx.float32, mx.float64):
    for k in range(0, len(FLOATS), 5):
        text(f64(FLOATS[k:k + 5]).astype(d))
    text(f64(FLOATS).astype(d))
    text(f64([neg_nan, 1.0]).astype(d))
    for v in (1.0, -0.0, 0.1, NAN, 1e20, 1e-8):
        text(mx.array(v, dtype=d))
# Doubles that need more than float32's digits.
text(f64([1 + 2**-40, 1e300, 1e-300, 5e-324, 123456.5, 0.1 + 0.2]))

# Complex.
for k in range(0, len(COMPLEX), 5):
    text(mx.array(np.array(COMPLEX[k:k + 5], dtype=np.complex64)))
c = np.array([1 + 1j, complex(NAN, 2)], dtype=np.complex64)
c.imag[0] = neg_nan
c.real[1] = neg_nan
text(mx.array(c), name="complex_negative_nan")
text(mx.array(2 - 3j))

# Nesting and summarisation.
text(mx.arange(24).reshape(2, 3, 4))
text(mx.arange(48).reshape(2, 2, 3, 4))
text(mx.arange(2 * 3 * 2 * 2 * 2).reshape(2, 3, 2, 2, 2))
text(mx.arange(100))
text(mx.arange(100).reshape(10, 10))
text(mx.arange(21).reshape(7, 3))
text(mx.arange(21).reshape(3, 7))
text(mx.arange(512).reshape(8, 8, 8))
text(mx.arange(49).reshape(7, 1, 7))
text(mx.arange(7 * 2 * 2 * 7).reshape(7, 2, 2, 7))
text(mx.arange(8 * 7).reshape(8, 7).astype(mx.float32) / 7)
text(mx.zeros((1, 1, 1)))
text(mx.ones((7, 0)))
text(mx.ones((0, 7)))
text(mx.ones((8, 0, 2)))

# Views: what is printed is the logical order, whatever the strides.
text(Input(mx.arange(12).reshape(3, 4), {"kind": "transpose"}))
text(Input(mx.arange(24).reshape(2, 3, 4), {"kind": "transpose"}))
text(Input(mx.arange(20).reshape(4, 5), {"kind": "step", "axis": 1}))
text(Input(mx.arange(20).reshape(4, 5), {"kind": "reverse", "axis": 0}))
text(Input(mx.arange(20).reshape(4, 5), {"kind": "reverse", "axis": 1}))
text(Input(mx.arange(3), {"kind": "broadcast", "shape": [8, 3]}))
text(Input(mx.arange(16).reshape(16), {"kind": "reverse", "axis": 0}))
text(Input(mx.arange(200).reshape(20, 10), {"kind": "step", "axis": 0}))

# Precision (fixed notation with that many decimals; negative other than -1 means 6).
fx = f64([0.5, 1.5, 2.5, -0.0, 1e20, 123456789.0, 1 / 3, NAN, -INF, 0.125, 1e-8, 0.875])
for p in (0, 1, 2, 3, 6, 10, 20, -1, -2, -7):
    for d in (mx.float16, mx.bfloat16, mx.float32, mx.float64):
        text(fx.astype(d)[:6], precision=p)
        text(fx.astype(d)[6:], precision=p)
    text(mx.array(np.array(COMPLEX[:5], dtype=np.complex64)), precision=p)
    text(mx.array(np.array(COMPLEX[5:], dtype=np.complex64)), precision=p)
    text(mx.array([1, -2, 3]), precision=p)
    text(mx.array([True, False]), precision=p)
    text(mx.array(1 / 3), precision=p)
text(mx.arange(100).reshape(10, 10).astype(mx.float32) / 3, precision=2)
text(f64([1e300, 2.0**-1074, 0.1]), precision=40)

g.save()
