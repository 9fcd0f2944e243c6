"""Goldens for rmlx-nn's Identity, Linear, Sequential and the Module API on them."""
import mlx.core as mx
import mlx.nn as nn

from nn_golden import NnGoldens, randn

g = NnGoldens("nn_linear")

for i, (din, dout, bias, shape) in enumerate([
    (3, 2, True, (4, 3)), (5, 1, False, (2, 5)), (1, 7, True, (3, 1)),
    (4, 4, True, (2, 3, 4)), (6, 3, True, (6,)), (2, 2, False, (0, 2)),
]):
    mx.random.seed(i)
    layer = nn.Linear(din, dout, bias=bias)
    g.layer(f"linear_{din}x{dout}_bias{bias}_{len(shape)}d", layer,
            {"input_dims": din, "output_dims": dout, "bias": bias}, [randn(shape, seed=i)])

mx.random.seed(11)
layer = nn.Linear(3, 2)
g.layer("linear_float16", layer.set_dtype(mx.float16) or layer,
        {"input_dims": 3, "output_dims": 2, "bias": True, "dtype": "float16"},
        [randn((4, 3), seed=3, dtype=mx.float16)])
g.layer("linear_wrong_input_dims", nn.Linear(3, 2), {"input_dims": 3, "output_dims": 2, "bias": True},
        [randn((4, 5), seed=3)])

g.layer("identity", nn.Identity(), {}, [randn((2, 3), seed=4)])

mx.random.seed(5)
seq = nn.Sequential(nn.Linear(3, 8), nn.Identity(), nn.Linear(8, 2, bias=False))
g.layer("sequential_linear_identity_linear", seq, {"layers": [[3, 8, True], None, [8, 2, False]]},
        [randn((5, 3), seed=6)])
mx.random.seed(7)
seq = nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 4))
seq.layers[0].freeze()
g.layer("sequential_first_frozen", seq, {"layers": [[2, 4, True], [4, 4, True]], "freeze": [0]},
        [randn((3, 2), seed=8)])
seq = nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 4))
seq.freeze(keys=["bias"])
g.layer("sequential_biases_frozen", seq, {"layers": [[2, 4, True], [4, 4, True]], "freeze_keys": ["bias"]},
        [randn((3, 2), seed=9)])
g.save()
