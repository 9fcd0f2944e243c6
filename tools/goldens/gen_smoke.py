"""A few cases that exercise the golden harness itself: views, scalars, errors."""
import mlx.core as mx
from golden import Goldens, Input, sample, ALL_DTYPES

g = Goldens("smoke")
for d in ALL_DTYPES:
    a = sample((2, 3), d, seed=1)
    b = sample((3,), d, seed=2)
    g.case("add", [a, b], lambda x, y: x + y)
    g.case("add", [Input(sample((3, 2), d, seed=3), {"kind": "transpose"}), 2], lambda x, y: x + y)
    g.case("astype", [Input(sample((4, 6), d, seed=4), {"kind": "step", "axis": -1})], lambda x: x.astype(mx.float32))
    g.case("add", [Input(sample((3, 4), d, seed=5), {"kind": "reverse", "axis": 0}), 1.5], lambda x, y: x + y)
    g.case("exp", [a], lambda x: mx.exp(x))
g.case("add", [mx.zeros((2, 3)), mx.zeros((4,))], lambda x, y: x + y)
g.case("add", [mx.zeros((2,), dtype=mx.uint8), 300], lambda x, y: x + y)
g.case("add", [Input(mx.arange(3), {"kind": "broadcast", "shape": [2, 3]}), mx.zeros((2, 3), mx.int64)], lambda x, y: x + y)
g.save()
