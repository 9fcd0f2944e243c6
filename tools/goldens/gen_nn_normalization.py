"""Goldens for rmlx-nn's LayerNorm, RMSNorm, GroupNorm, InstanceNorm and BatchNorm (running
statistics after several training-mode calls included)."""
import mlx.core as mx
import mlx.nn as nn

from nn_golden import NnGoldens, randn

g = NnGoldens("nn_normalization")
LOW = {"rtol": 1e-2, "atol": 1e-2, "why": "half-precision normalization"}


def case(name, cls, kwargs, shape, seed, dtype=mx.float32, train=False, build=None, **kw):
    try:
        layer = cls(**kwargs)
    except Exception as e:  # noqa: BLE001
        g.cases.append({"name": name, "layer": cls.__name__, "kwargs": kwargs, "call": {},
                        "train": False, "seed": None, "params": [], "trainable": [],
                        "weights": {}, "inputs": [], "error": type(e).__name__,
                        "message": str(e)})
        return
    kwargs = dict(kwargs)
    if build:
        build(layer)
    if dtype != mx.float32:
        layer.set_dtype(dtype)
        kwargs["dtype"] = str(dtype).split(".")[-1]
    # Non-trivial affine parameters.
    if "weight" in layer:
        layer.weight = randn(layer.weight.shape, seed=seed + 100, dtype=layer.weight.dtype)
    if "bias" in layer:
        layer.bias = randn(layer.bias.shape, seed=seed + 200, dtype=layer.bias.dtype)
    g.layer(name, layer, kwargs, [randn(shape, seed=seed, dtype=dtype, scale=2.0)], train=train,
            **kw)


# LayerNorm
case("layernorm_default", nn.LayerNorm, {"dims": 4}, (2, 5, 4), 0)
case("layernorm_eps", nn.LayerNorm, {"dims": 6, "eps": 1e-3}, (3, 6), 1)
case("layernorm_no_affine", nn.LayerNorm, {"dims": 4, "affine": False}, (2, 4), 2)
case("layernorm_no_bias", nn.LayerNorm, {"dims": 4, "bias": False}, (2, 3, 4), 3)
case("layernorm_float16", nn.LayerNorm, {"dims": 8}, (2, 8), 4, dtype=mx.float16, **LOW)
case("layernorm_bfloat16", nn.LayerNorm, {"dims": 8}, (2, 8), 5, dtype=mx.bfloat16,
     rtol=5e-2, atol=5e-2, why="bfloat16 normalization")
case("layernorm_bad_eps", nn.LayerNorm, {"dims": 4, "eps": 0.0}, (2, 4), 6)
# RMSNorm
case("rmsnorm_default", nn.RMSNorm, {"dims": 5}, (3, 5), 10)
case("rmsnorm_eps", nn.RMSNorm, {"dims": 4, "eps": 1e-2}, (2, 2, 4), 11)
case("rmsnorm_float16", nn.RMSNorm, {"dims": 8}, (2, 8), 12, dtype=mx.float16, **LOW)
# GroupNorm
case("groupnorm_default", nn.GroupNorm, {"num_groups": 3, "dims": 6}, (2, 3, 4, 6), 20)
case("groupnorm_pytorch", nn.GroupNorm, {"num_groups": 2, "dims": 6, "pytorch_compatible": True},
     (2, 5, 6), 21)
case("groupnorm_no_affine", nn.GroupNorm, {"num_groups": 2, "dims": 4, "affine": False,
                                           "eps": 1e-3}, (2, 3, 4), 22)
case("groupnorm_2d_input", nn.GroupNorm, {"num_groups": 2, "dims": 8}, (3, 8), 23)
case("groupnorm_float16", nn.GroupNorm, {"num_groups": 2, "dims": 4}, (2, 3, 4), 24,
     dtype=mx.float16, **LOW)
case("groupnorm_indivisible", nn.GroupNorm, {"num_groups": 3, "dims": 4}, (2, 4), 25)
case("groupnorm_zero_groups", nn.GroupNorm, {"num_groups": 0, "dims": 4}, (2, 4), 26)
# InstanceNorm
case("instancenorm_default", nn.InstanceNorm, {"dims": 3}, (2, 4, 5, 3), 30)
case("instancenorm_affine", nn.InstanceNorm, {"dims": 2, "affine": True}, (2, 6, 2), 31)
case("instancenorm_3d_spatial", nn.InstanceNorm, {"dims": 2, "eps": 1e-3}, (1, 2, 3, 4, 2), 32)
case("instancenorm_2d_input", nn.InstanceNorm, {"dims": 3}, (4, 3), 33)
# BatchNorm
case("batchnorm_train_2d", nn.BatchNorm, {"num_features": 4}, (6, 4), 40, train=True)
case("batchnorm_train_3d", nn.BatchNorm, {"num_features": 3, "momentum": 0.3}, (2, 5, 3), 41,
     train=True)
case("batchnorm_train_4d", nn.BatchNorm, {"num_features": 2, "eps": 1e-3}, (2, 3, 3, 2), 42,
     train=True)
case("batchnorm_eval_default_stats", nn.BatchNorm, {"num_features": 4}, (5, 4), 43)


def pretrain(layer):
    for s in range(3):
        layer(randn((8, layer.num_features), seed=500 + s, scale=3.0) + 1.0)
    mx.eval(layer.parameters())


case("batchnorm_eval_trained_stats", nn.BatchNorm, {"num_features": 4}, (5, 4), 44,
     build=pretrain)
case("batchnorm_no_affine_train", nn.BatchNorm, {"num_features": 3, "affine": False}, (4, 3), 45,
     train=True)
case("batchnorm_no_tracking_train", nn.BatchNorm,
     {"num_features": 3, "track_running_stats": False}, (4, 2, 3), 46, train=True)
case("batchnorm_no_tracking_eval", nn.BatchNorm,
     {"num_features": 3, "track_running_stats": False}, (4, 2, 3), 47)
case("batchnorm_unfreeze_keeps_stats_frozen", nn.BatchNorm, {"num_features": 3}, (4, 3), 48,
     build=lambda l: l.unfreeze(), extra={"call": {"unfreeze": True}})
case("batchnorm_frozen", nn.BatchNorm, {"num_features": 3}, (4, 3), 49, train=True,
     build=lambda l: l.freeze(), extra={"call": {"freeze": True}})
case("batchnorm_float16_train", nn.BatchNorm, {"num_features": 4}, (6, 4), 50, train=True,
     dtype=mx.float16, **LOW)
case("batchnorm_5d_input", nn.BatchNorm, {"num_features": 2}, (2, 2, 2, 2, 2), 51, train=True)
case("batchnorm_one_value_per_channel", nn.BatchNorm, {"num_features": 3}, (1, 3), 52,
     train=True)
case("batchnorm_bad_eps", nn.BatchNorm, {"num_features": 3, "eps": -1.0}, (2, 3), 53)


def three_calls(layer, x):
    """Three training-mode calls; the running statistics after them."""
    y = layer(x)
    y = layer(x * 2.0 + 1.0)
    y = layer(x - 3.0)
    return y, layer.running_mean, layer.running_var


for i, (shape, mom) in enumerate([((6, 3), 0.1), ((2, 4, 3), 0.5), ((2, 3, 2, 3), 0.25)]):
    mx.random.seed(i)
    layer = nn.BatchNorm(3, momentum=mom)
    g.layer(f"batchnorm_running_stats_3_calls_{len(shape)}d", layer,
            {"num_features": 3, "momentum": mom}, [randn(shape, seed=60 + i)], train=True,
            call_fn=three_calls, extra={"call": {"three_calls": True}})
g.save()
