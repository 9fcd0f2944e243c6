"""Goldens for rmlx-nn's Dropout, Dropout2d and Dropout3d: with the same seed, the masks
drawn by mx.random.bernoulli must match bit for bit."""
import mlx.core as mx
import mlx.nn as nn

from nn_golden import NnGoldens, randn

g = NnGoldens("nn_dropout")


def case(name, cls, p, shape, seed, train=True, dtype=mx.float32, **kw):
    try:
        layer = cls(p)
    except Exception as e:  # noqa: BLE001
        g.cases.append({"name": name, "layer": cls.__name__, "kwargs": {"p": p}, "call": {},
                        "train": False, "seed": None, "params": [], "trainable": [],
                        "weights": {}, "inputs": [], "error": type(e).__name__,
                        "message": str(e)})
        return
    g.layer(name, layer, {"p": p}, [randn(shape, seed=seed, dtype=dtype)], train=train,
            seed=seed, **kw)


case("dropout_half", nn.Dropout, 0.5, (4, 8), 0)
case("dropout_0.1", nn.Dropout, 0.1, (3, 5, 7), 1)
case("dropout_0.9", nn.Dropout, 0.9, (64,), 2)
case("dropout_zero", nn.Dropout, 0.0, (3, 4), 3)
case("dropout_eval", nn.Dropout, 0.5, (3, 4), 4, train=False)
case("dropout_float16", nn.Dropout, 0.3, (5, 6), 5, dtype=mx.float16)
case("dropout_bfloat16", nn.Dropout, 0.25, (5, 6), 6, dtype=mx.bfloat16)
case("dropout_p_one", nn.Dropout, 1.0, (3,), 7)
case("dropout_negative", nn.Dropout, -0.1, (3,), 8)
case("dropout2d_4d", nn.Dropout2d, 0.5, (2, 3, 4, 5), 10)
case("dropout2d_3d", nn.Dropout2d, 0.3, (3, 4, 6), 11)
case("dropout2d_eval", nn.Dropout2d, 0.5, (2, 3, 4, 5), 12, train=False)
case("dropout2d_bad_ndim", nn.Dropout2d, 0.5, (4, 5), 13)
case("dropout2d_bad_ndim_eval", nn.Dropout2d, 0.5, (2, 2, 2, 2, 2), 14, train=False)
case("dropout3d_5d", nn.Dropout3d, 0.5, (2, 2, 3, 2, 4), 20)
case("dropout3d_4d", nn.Dropout3d, 0.2, (2, 3, 2, 5), 21)
case("dropout3d_bad_ndim", nn.Dropout3d, 0.5, (2, 3, 4), 22)
g.save()
