"""Goldens for rmlx-nn's Conv1d..Conv3d and ConvTranspose1d..ConvTranspose3d."""
import mlx.core as mx
import mlx.nn as nn

from nn_golden import NnGoldens, randn

g = NnGoldens("nn_convolution")


def case(name, cls, args, kwargs, shape, seed, dtype=mx.float32, **kw):
    mx.random.seed(seed)
    try:
        layer = cls(*args, **kwargs)
    except Exception as e:  # noqa: BLE001
        g.cases.append({"name": name, "layer": cls.__name__,
                        "kwargs": {"args": list(args), **kwargs}, "call": {}, "train": False,
                        "seed": None, "params": [], "trainable": [], "weights": {}, "inputs": [],
                        "error": type(e).__name__, "message": str(e)})
        return
    if dtype != mx.float32:
        layer.set_dtype(dtype)
    all_kwargs = {"args": list(args), **kwargs}
    if dtype != mx.float32:
        all_kwargs["dtype"] = str(dtype).split(".")[-1]
    g.layer(name, layer, all_kwargs, [randn(shape, seed=seed, dtype=dtype)], **kw)


# Conv1d
case("conv1d_default", nn.Conv1d, (3, 4, 3), {}, (2, 7, 3), 0)
case("conv1d_stride_pad_dil", nn.Conv1d, (3, 5, 3), {"stride": 2, "padding": 2, "dilation": 2},
     (2, 9, 3), 1)
case("conv1d_groups_nobias", nn.Conv1d, (4, 6, 2), {"groups": 2, "bias": False}, (1, 5, 4), 2)
case("conv1d_float16", nn.Conv1d, (2, 3, 3), {"padding": 1}, (2, 5, 2), 3, dtype=mx.float16,
     rtol=1e-2, atol=1e-2, why="float16 sums of products")
case("conv1d_bad_groups", nn.Conv1d, (3, 4, 3), {"groups": 2}, (1, 5, 3), 4)
case("conv1d_wrong_channels", nn.Conv1d, (3, 4, 3), {}, (1, 5, 2), 5)
# Conv2d
case("conv2d_default", nn.Conv2d, (3, 4, 3), {}, (2, 6, 5, 3), 10)
case("conv2d_tuple_kernel", nn.Conv2d, (2, 3, (2, 3)), {"stride": (1, 2), "padding": (1, 0)},
     (1, 5, 6, 2), 11)
case("conv2d_dilation_tuple", nn.Conv2d, (2, 2, 3), {"dilation": (2, 1), "padding": 1},
     (1, 7, 5, 2), 12)
case("conv2d_groups", nn.Conv2d, (6, 4, 1), {"groups": 2, "bias": False}, (2, 3, 3, 6), 13)
case("conv2d_stride2", nn.Conv2d, (3, 2, 3), {"stride": 2, "padding": 1}, (1, 7, 7, 3), 14)
case("conv2d_bfloat16", nn.Conv2d, (2, 2, 2), {}, (1, 4, 4, 2), 15, dtype=mx.bfloat16,
     rtol=5e-2, atol=5e-2, why="bfloat16 sums of products")
# Conv3d
case("conv3d_default", nn.Conv3d, (2, 3, 2), {}, (1, 4, 3, 3, 2), 20)
case("conv3d_options", nn.Conv3d, (1, 2, (2, 1, 2)), {"stride": (1, 2, 1), "padding": 1,
                                                      "dilation": 1, "bias": False},
     (2, 3, 4, 3, 1), 21)
# ConvTranspose1d
case("convt1d_default", nn.ConvTranspose1d, (3, 2, 3), {}, (2, 5, 3), 30)
case("convt1d_options", nn.ConvTranspose1d, (2, 3, 3), {"stride": 2, "padding": 1,
                                                        "dilation": 2, "output_padding": 1},
     (1, 4, 2), 31)
case("convt1d_nobias", nn.ConvTranspose1d, (2, 2, 2), {"bias": False}, (1, 3, 2), 32)
# ConvTranspose2d
case("convt2d_default", nn.ConvTranspose2d, (2, 3, 3), {}, (1, 3, 4, 2), 40)
case("convt2d_options", nn.ConvTranspose2d, (3, 2, (2, 3)), {"stride": (2, 1), "padding": (0, 1),
                                                             "output_padding": (1, 0)},
     (2, 3, 3, 3), 41, grads=False)
# MLX 0.32.4's gradient with respect to the input of conv_transpose2d with output_padding has
# the wrong shape ((2, 2, 3, 3) for a (2, 3, 3, 3) input), so the case above records no
# gradients; the same layer without output_padding does.
case("convt2d_options_no_output_padding", nn.ConvTranspose2d, (3, 2, (2, 3)),
     {"stride": (2, 1), "padding": (0, 1)}, (2, 3, 3, 3), 43)
case("convt2d_stride2", nn.ConvTranspose2d, (2, 2, 2), {"stride": 2}, (1, 3, 3, 2), 42)
# ConvTranspose3d
case("convt3d_default", nn.ConvTranspose3d, (2, 2, 2), {}, (1, 2, 2, 3, 2), 50)
case("convt3d_options", nn.ConvTranspose3d, (1, 2, 2), {"stride": 2, "padding": 1,
                                                        "output_padding": 1, "bias": False},
     (1, 2, 3, 2, 1), 51)
g.save()
