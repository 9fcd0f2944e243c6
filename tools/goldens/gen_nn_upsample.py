"""Goldens for rmlx-nn's Upsample (nearest, linear, cubic; align_corners; antialias)."""
import mlx.core as mx
import mlx.nn as nn

from nn_golden import NnGoldens, randn

g = NnGoldens("nn_upsample")


def case(name, kwargs, x, **kw):
    try:
        layer = nn.Upsample(**kwargs)
    except Exception as e:  # noqa: BLE001
        g.cases.append({"name": name, "layer": "Upsample", "kwargs": kwargs, "call": {},
                        "train": False, "seed": None, "params": [], "trainable": [],
                        "weights": {}, "inputs": [], "error": type(e).__name__,
                        "message": str(e)})
        return
    g.layer(name, layer, kwargs, [x], **kw)


x2 = randn((2, 3, 4, 2), seed=0)
x1 = randn((2, 5, 3), seed=1)
x3 = randn((1, 2, 3, 2, 2), seed=2)
ints = mx.arange(1, 5).reshape((1, 2, 2, 1))
big = randn((1, 8, 6, 2), seed=3)

for mode in ["nearest", "linear", "cubic"]:
    case(f"{mode}_2d_x2", {"scale_factor": 2, "mode": mode}, x2)
    case(f"{mode}_1d_x3", {"scale_factor": 3, "mode": mode}, x1)
    case(f"{mode}_3d_x2", {"scale_factor": 2.0, "mode": mode}, x3)
    case(f"{mode}_2d_x1.5", {"scale_factor": 1.5, "mode": mode}, x2)
    case(f"{mode}_2d_tuple", {"scale_factor": (2, 1.5), "mode": mode}, x2)
    case(f"{mode}_2d_down", {"scale_factor": 0.5, "mode": mode}, big)
    case(f"{mode}_ints", {"scale_factor": 2, "mode": mode}, ints)
    if mode != "nearest":
        case(f"{mode}_2d_align", {"scale_factor": 2, "mode": mode, "align_corners": True}, x2)
        case(f"{mode}_1d_align_x2.5", {"scale_factor": 2.5, "mode": mode, "align_corners": True},
             x1)
        case(f"{mode}_3d_align", {"scale_factor": (1, 2, 1.5), "mode": mode,
                                  "align_corners": True}, x3)
        case(f"{mode}_aa_down", {"scale_factor": 0.5, "mode": mode, "antialias": True}, big)
        case(f"{mode}_aa_down_1d", {"scale_factor": 0.4, "mode": mode, "antialias": True},
             randn((1, 10, 2), seed=4))
        case(f"{mode}_aa_up", {"scale_factor": 2, "mode": mode, "antialias": True}, x2)
        case(f"{mode}_aa_align", {"scale_factor": 2, "mode": mode, "antialias": True,
                                  "align_corners": True}, x2)
    case(f"{mode}_float16", {"scale_factor": 2, "mode": mode},
         randn((1, 3, 3, 2), seed=5, dtype=mx.float16), rtol=1e-2, atol=1e-2,
         why="float16 input")
    case(f"{mode}_2d_input", {"scale_factor": 2, "mode": mode}, randn((3, 2), seed=6))
    case(f"{mode}_wrong_scale_count", {"scale_factor": (2, 2, 2), "mode": mode}, x2)
case("nearest_antialias", {"scale_factor": 2, "mode": "nearest", "antialias": True}, x2)
case("bad_mode", {"scale_factor": 2, "mode": "bilinear"}, x2)
g.save()
