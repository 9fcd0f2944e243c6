"""Goldens for rmlx-nn's MaxPool1d..3d and AvgPool1d..3d."""
import mlx.core as mx
import mlx.nn as nn

from nn_golden import NnGoldens, randn

g = NnGoldens("nn_pooling")


def case(name, cls, kwargs, shape, seed, dtype=mx.float32, **kw):
    try:
        layer = cls(**kwargs)
    except Exception as e:  # noqa: BLE001
        g.cases.append({"name": name, "layer": cls.__name__, "kwargs": kwargs, "call": {},
                        "train": False, "seed": None, "params": [], "trainable": [],
                        "weights": {}, "inputs": [], "error": type(e).__name__,
                        "message": str(e)})
        return
    g.layer(name, layer, kwargs, [randn(shape, seed=seed, dtype=dtype)], **kw)


for cls, tag in [(nn.MaxPool1d, "max"), (nn.AvgPool1d, "avg")]:
    case(f"{tag}pool1d_default", cls, {"kernel_size": 2}, (2, 8, 3), 0)
    case(f"{tag}pool1d_stride_pad", cls, {"kernel_size": 3, "stride": 2, "padding": 1},
         (2, 7, 2), 1)
    case(f"{tag}pool1d_overlap", cls, {"kernel_size": 3, "stride": 1}, (1, 6, 2), 2)
    case(f"{tag}pool1d_remainder", cls, {"kernel_size": 2}, (1, 7, 2), 3)
    case(f"{tag}pool1d_tuple", cls, {"kernel_size": (2,), "stride": (1,)}, (1, 5, 1), 4)
    case(f"{tag}pool1d_float16", cls, {"kernel_size": 2}, (2, 6, 2), 5, dtype=mx.float16)
    case(f"{tag}pool1d_2d_input", cls, {"kernel_size": 2}, (6, 2), 6)
    case(f"{tag}pool1d_zero_kernel", cls, {"kernel_size": 0}, (1, 6, 2), 7)
    case(f"{tag}pool1d_bad_tuple", cls, {"kernel_size": (2, 2)}, (1, 6, 2), 8)
for cls, tag in [(nn.MaxPool2d, "max"), (nn.AvgPool2d, "avg")]:
    case(f"{tag}pool2d_default", cls, {"kernel_size": 2}, (2, 4, 6, 3), 10)
    case(f"{tag}pool2d_tuple", cls, {"kernel_size": (2, 3), "stride": (1, 2),
                                     "padding": (1, 0)}, (1, 5, 7, 2), 11)
    case(f"{tag}pool2d_pad", cls, {"kernel_size": 3, "stride": 2, "padding": 1}, (2, 6, 6, 2), 12)
    case(f"{tag}pool2d_bfloat16", cls, {"kernel_size": 2}, (1, 4, 4, 2), 13, dtype=mx.bfloat16)
    case(f"{tag}pool2d_wrong_ndim", cls, {"kernel_size": 2}, (1, 4, 4), 14)
    case(f"{tag}pool2d_zero_stride", cls, {"kernel_size": 2, "stride": (1, 0)}, (1, 4, 4, 1), 15)
for cls, tag in [(nn.MaxPool3d, "max"), (nn.AvgPool3d, "avg")]:
    case(f"{tag}pool3d_default", cls, {"kernel_size": 2}, (1, 4, 4, 4, 2), 20)
    case(f"{tag}pool3d_options", cls, {"kernel_size": (2, 1, 3), "stride": 1,
                                       "padding": (1, 0, 1)}, (2, 3, 3, 4, 1), 21)
g.save()
