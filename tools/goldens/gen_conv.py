"""Goldens of the convolution family: conv1d/2d/3d, conv_general, conv_transpose1d/2d/3d and
convolve.

Float tolerances: a convolution is a sum of products, so its rounding error grows with the sum
of |terms| (the same convolution of |input| and |weight|, computed in float64), not with the
possibly cancelled result. Each float case gets an `atol` of 16 accumulator epsilons of that
bound (float16 / bfloat16 accumulate in float32 in MLX and rmlx and round once at the end,
which the default rtol covers).

MLX 0.32.4's CPU evaluates float64 only for plain convolutions (its slow path raises "got
unsupported data type"); those float64 cases are skipped, not recorded as errors.

Kwargs: `stride`, `padding`, `dilation`, `kernel_dilation`, `input_dilation`, `output_padding`
are an int or a list (conv_general's asymmetric padding is a list of two lists [lo, hi]);
`groups` an int, `flip` a bool, `mode` a string.
"""
import mlx.core as mx
import numpy as np
from golden import Goldens, Input, sample

g = Goldens("conv")
FLOATS = [mx.float16, mx.bfloat16, mx.float32, mx.float64]
# MLX 0.32.4 computes float64 convolutions in float32 (its results equal the float32 ones), so
# float64 cases are held to float32's epsilon; rmlx computes them in float64.
ACC_EPS = {mx.float16: 2.0**-23, mx.bfloat16: 2.0**-23, mx.float32: 2.0**-23, mx.float64: 2.0**-23}
WHY = "float sums in a different order: error relative to the sum of |terms|"
f32 = mx.float32


def mat(x):
    return x.materialize() if isinstance(x, Input) else x


def sums_atol(fn, ins):
    """16 accumulator epsilons of the largest sum of |terms| (None if MLX rejects the case)."""
    try:
        # |terms| sum without cancellation: float32 is exact enough (and MLX's float64
        # convolution only runs its plain GEMM path, see below).
        xs = [mx.abs(mat(x)).astype(mx.float32) for x in ins]
        bound = fn(*xs)
        mx.eval(bound)
        bound = float(np.max(np.array(bound), initial=0.0))
        d = mx.result_type(*[mat(x) for x in ins])
    except Exception:  # noqa: BLE001 - the case itself records MLX's error
        return None
    eps = ACC_EPS.get(d)
    if eps is None or not np.isfinite(bound):
        return None
    return 16 * eps * bound + 1e-30


def tup(v):
    return tuple(v) if isinstance(v, list) else v


def case(op, ins, kwargs=None, name=None):
    kwargs = dict(kwargs or {})
    f = getattr(mx, op)
    if op == "conv_general":
        def call(*a):
            kw = dict(kwargs)
            if isinstance(kw.get("padding"), list) and kw["padding"] and isinstance(kw["padding"][0], list):
                kw["padding"] = tuple(kw["padding"])
            return f(*a, **kw)
    elif op == "convolve":
        def call(*a):
            return f(*a, **kwargs)
    else:
        def call(*a):
            return f(*a, **{k: tup(v) for k, v in kwargs.items()})
    g.case(op, ins, call, kwargs=kwargs, name=name, atol=sums_atol(call, ins), why=WHY)
    if "unsupported data type" in g.cases[-1].get("message", ""):
        # MLX 0.32.4 evaluates float64 convolutions only on its GEMM path (no dilation,
        # stride or depthwise groups); rmlx computes every float64 convolution, so such cases
        # are not recorded (the float32 ones cover the math).
        g.cases.pop()


# --- every float dtype, the common shapes ---
for d in FLOATS:
    x1, w1 = sample((2, 9, 3), d, seed=1), sample((4, 3, 3), d, seed=2)
    case("conv1d", [x1, w1])
    case("conv1d", [x1, w1], {"stride": 2, "padding": 1, "dilation": 2})
    case("conv1d", [sample((2, 9, 4), d, seed=3), sample((6, 3, 2), d, seed=4)], {"groups": 2, "padding": 1})
    x2, w2 = sample((2, 6, 7, 3), d, seed=5), sample((5, 3, 2, 3), d, seed=6)
    case("conv2d", [x2, w2])
    case("conv2d", [x2, w2], {"stride": [2, 1], "padding": [1, 2], "dilation": [1, 2]})
    case("conv2d", [sample((2, 6, 6, 8), d, seed=7), sample((8, 3, 3, 1), d, seed=8)], {"groups": 8, "padding": 1})
    case("conv3d", [sample((1, 5, 4, 6, 2), d, seed=9), sample((3, 2, 3, 2, 2), d, seed=10)],
         {"stride": [1, 2, 1], "padding": [1, 0, 2], "dilation": [2, 1, 1]})
    case("conv_general", [x2, w2], {"padding": [[1, 0], [0, 2]], "input_dilation": 2, "flip": True})
    case("conv_transpose1d", [x1, sample((5, 3, 3), d, seed=11)], {"stride": 2, "padding": 1, "output_padding": 1})
    case("conv_transpose2d", [x2, sample((4, 3, 2, 3), d, seed=12)],
         {"stride": [2, 3], "padding": [1, 0], "dilation": [1, 2], "output_padding": [1, 2]})
    case("conv_transpose3d", [sample((1, 3, 2, 3, 2), d, seed=13), sample((2, 2, 3, 2, 2), d, seed=14)],
         {"stride": 2, "padding": [0, 1, 0], "output_padding": [1, 0, 0]})
    case("convolve", [sample((9,), d, seed=15), sample((4,), d, seed=16)], {"mode": "full"})

# --- conv1d / conv2d / conv3d parameters ---
x = sample((3, 11, 4), f32, seed=20)
for kw in [{}, {"stride": 3}, {"padding": 2}, {"dilation": 3}, {"stride": 2, "padding": 3, "dilation": 2},
           {"padding": -1}, {"padding": -2, "stride": 2}]:
    case("conv1d", [x, sample((5, 3, 4), f32, seed=21)], kw)
for grp, cout in [(2, 4), (4, 4), (4, 8), (2, 6)]:
    case("conv1d", [x, sample((cout, 3, 4 // grp), f32, seed=22)], {"groups": grp, "stride": 2, "padding": 1})
# (A window that runs past the input, e.g. length 3, kernel 4, stride 2, gets an output of 1
# in MLX through C++'s truncating division, but MLX then reads uninitialised memory for the
# missing tap: not recorded; rmlx reads zeros there, see tests/golden_conv.rs.)
for kw in [{"stride": 2}, {"padding": 1}, {"padding": [0, 2], "stride": [1, 3]}, {"dilation": [2, 1]},
           {"stride": 2, "padding": 1, "dilation": 2}]:
    case("conv2d", [sample((2, 7, 8, 3), f32, seed=27), sample((4, 3, 3, 3), f32, seed=28)], kw)
for grp, cin, cout in [(2, 4, 6), (3, 6, 3), (4, 8, 8), (8, 8, 16), (6, 6, 6)]:
    case("conv2d", [sample((2, 5, 6, cin), f32, seed=29), sample((cout, 3, 3, cin // grp), f32, seed=30)],
         {"groups": grp, "padding": 1})
# big enough for several row tiles in parallel, and the 1x1 fast path
case("conv2d", [sample((2, 16, 16, 8), f32, seed=31), sample((16, 3, 3, 8), f32, seed=32)], {"padding": 1})
case("conv2d", [sample((2, 8, 8, 16), f32, seed=33), sample((8, 1, 1, 16), f32, seed=34)])
case("conv2d", [sample((2, 8, 8, 16), f32, seed=33), sample((8, 1, 1, 16), f32, seed=34)], {"stride": 2})
case("conv2d", [sample((2, 8, 8, 16), mx.float16, seed=33), sample((8, 1, 1, 16), mx.float16, seed=34)])
for kw in [{}, {"stride": 2, "padding": 1}, {"dilation": 2, "padding": [2, 0, 1]}, {"stride": [1, 2, 3]}]:
    case("conv3d", [sample((2, 5, 6, 7, 3), f32, seed=35), sample((4, 2, 3, 2, 3), f32, seed=36)], kw)

# --- conv_general: asymmetric and negative padding, input dilation, flip, broadcast lists ---
x2, w2 = sample((2, 6, 7, 4), f32, seed=40), sample((6, 3, 2, 4), f32, seed=41)
for kw in [{"padding": [[2, 0], [1, 3]]}, {"padding": [[0], [2, 1]]}, {"padding": [[1, 1], [0]]},
           {"padding": [1, 2]}, {"stride": [2]}, {"stride": [2, 3], "kernel_dilation": [2, 1]},
           {"input_dilation": [2, 3]}, {"input_dilation": 2, "stride": 3, "padding": 2},
           {"flip": True}, {"flip": True, "padding": [[2, 1], [1, 0]], "kernel_dilation": 2},
           {"groups": 2, "flip": True, "input_dilation": 2, "padding": 1},
           {"padding": [[-1, 0], [2, -2]]}, {"padding": [[-2], [1]], "input_dilation": 2},
           {"stride": [], "padding": [], "kernel_dilation": [], "input_dilation": []}]:
    ws = w2 if kw.get("groups", 1) == 1 else sample((6, 3, 2, 2), f32, seed=42)
    case("conv_general", [x2, ws], kw)
case("conv_general", [sample((2, 9, 3), f32, seed=43), sample((2, 4, 3), f32, seed=44)],
     {"padding": [[3], [0]], "input_dilation": 3, "kernel_dilation": 2, "flip": True, "stride": 2})
case("conv_general", [sample((1, 4, 3, 5, 2), f32, seed=45), sample((3, 2, 2, 3, 2), f32, seed=46)],
     {"padding": [[1, 0, 2], [0, 1, 1]], "input_dilation": [1, 2, 1], "flip": True})
case("conv_general", [sample((1, 8, 2), f32, seed=47), sample((2, 3, 2), f32, seed=48)], {"padding": [[-2], [-1]]})
for kw in [{"padding": 2}, {"groups": 2, "padding": [1, 0]}, {"stride": 2}, {"dilation": 2}]:
    case("conv2d", [sample((2, 5, 6, 4), mx.float64, seed=49), sample((4, 3, 2, 4 // kw.get("groups", 1)), mx.float64, seed=48)], kw)

# --- transposed ---
x1 = sample((2, 5, 4), f32, seed=50)
for kw in [{}, {"stride": 2}, {"stride": 3, "padding": 1}, {"stride": 2, "output_padding": 1},
           {"stride": 2, "output_padding": 3}, {"dilation": 2, "padding": 2}, {"padding": 2},
           {"padding": -1}, {"output_padding": -1}, {"stride": 2, "groups": 2},
           {"stride": 2, "groups": 4, "padding": 1, "output_padding": 1}]:
    grp = kw.get("groups", 1)
    case("conv_transpose1d", [x1, sample((6, 3, 4 // grp), f32, seed=51)], kw)
x2 = sample((2, 4, 3, 4), f32, seed=52)
for kw in [{}, {"stride": 2, "padding": 1, "output_padding": 1}, {"stride": [1, 2], "dilation": [2, 1]},
           {"groups": 2, "stride": 2}, {"padding": [1, 0], "output_padding": [0, 1], "stride": [2, 2]}]:
    grp = kw.get("groups", 1)
    case("conv_transpose2d", [x2, sample((4, 3, 2, 4 // grp), f32, seed=53)], kw)
for kw in [{}, {"stride": [2, 1, 2], "padding": 1, "output_padding": [1, 0, 0]}, {"dilation": 2}]:
    case("conv_transpose3d", [sample((1, 3, 3, 2, 2), f32, seed=54), sample((3, 2, 2, 2, 2), f32, seed=55)], kw)

# --- batch sizes, empty batch, empty spatial axes made valid by padding ---
for n in [1, 4]:
    case("conv2d", [sample((n, 5, 5, 3), f32, seed=60), sample((2, 3, 3, 3), f32, seed=61)], {"padding": 1})
case("conv2d", [mx.zeros((0, 5, 5, 3)), sample((2, 3, 3, 3), f32, seed=61)])
case("conv1d", [mx.zeros((0, 5, 4)), sample((2, 3, 2), f32, seed=62)], {"groups": 2})
case("conv_transpose2d", [mx.zeros((0, 3, 3, 2)), sample((2, 3, 3, 2), f32, seed=63)], {"stride": 2})
case("conv1d", [mx.zeros((2, 0, 3)), sample((2, 1, 3), f32, seed=64)], {"padding": 1})
case("conv2d", [mx.zeros((1, 0, 3, 2)), sample((2, 1, 2, 2), f32, seed=65)], {"padding": [2, 0]})

# --- non-contiguous inputs (read in place) ---
case("conv1d", [Input(sample((3, 7, 2), f32, seed=70), {"kind": "transpose"}), sample((4, 3, 3), f32, seed=71)])
case("conv2d", [Input(sample((2, 12, 5, 3), f32, seed=72), {"kind": "step", "axis": 1}),
                sample((4, 3, 3, 3), f32, seed=73)], {"padding": 1})
case("conv2d", [Input(sample((2, 6, 5, 3), f32, seed=74), {"kind": "reverse", "axis": 3}),
                Input(sample((4, 3, 3, 3), f32, seed=75), {"kind": "reverse", "axis": 1})], {"stride": 2})
case("conv2d", [Input(sample((1, 6, 5, 8), f32, seed=76), {"kind": "step", "axis": 3}),
                Input(sample((1, 3, 3, 2), f32, seed=77), {"kind": "broadcast", "shape": [4, 3, 3, 2]})],
     {"groups": 2})
case("conv2d", [Input(sample((4, 6, 5, 3), mx.float16, seed=78), {"kind": "transpose"}),
                Input(sample((4, 3, 3, 5), mx.float16, seed=79), {"kind": "transpose"})])
case("conv_transpose2d", [Input(sample((2, 5, 4, 3), f32, seed=80), {"kind": "reverse", "axis": 1}),
                          Input(sample((3, 3, 3, 2), f32, seed=81), {"kind": "transpose"})], {"stride": 2})
case("conv1d", [Input(sample((1, 6, 1), f32, seed=82), {"kind": "broadcast", "shape": [2, 6, 4]}),
                sample((3, 2, 4), f32, seed=83)])

# --- promotion: the weight may be any real dtype ---
case("conv1d", [sample((2, 6, 3), mx.float16, seed=90), sample((2, 3, 3), f32, seed=91)])
case("conv1d", [sample((2, 6, 3), mx.float16, seed=90), sample((2, 3, 3), mx.bfloat16, seed=91)])
case("conv1d", [sample((2, 6, 3), f32, seed=90), sample((2, 3, 3), mx.int32, seed=91)])
case("conv1d", [sample((2, 6, 3), mx.bfloat16, seed=90), sample((2, 3, 3), mx.bool_, seed=91)])
case("conv2d", [sample((1, 4, 4, 2), mx.float64, seed=92), sample((2, 2, 2, 2), f32, seed=93)])

# --- convolve ---
a9, a4, a5, a1 = (sample((9,), f32, seed=100), sample((4,), f32, seed=101),
                  sample((5,), f32, seed=102), sample((1,), f32, seed=103))
for mode in ["full", "same", "valid"]:
    for a, v in [(a9, a4), (a9, a5), (a4, a9), (a5, a9), (a9, a1), (a1, a9), (a4, a4), (a1, a1)]:
        case("convolve", [a, v], {"mode": mode})
case("convolve", [sample((6,), mx.float16, seed=104), sample((3,), f32, seed=105)], {"mode": "same"})
case("convolve", [sample((6,), mx.float64, seed=104), sample((2,), mx.int32, seed=105)], {"mode": "full"})
case("convolve", [Input(sample((12,), f32, seed=106), {"kind": "step", "axis": 0}),
                  Input(sample((3,), f32, seed=107), {"kind": "reverse", "axis": 0})], {"mode": "full"})
# errors
case("convolve", [sample((6,), mx.int32, seed=108), sample((3,), f32, seed=109)], {"mode": "full"})
case("convolve", [sample((3,), f32, seed=108), sample((6,), mx.int32, seed=109)], {"mode": "full"})
case("convolve", [sample((2, 3), f32, seed=110), sample((3,), f32, seed=111)], {"mode": "full"})
case("convolve", [sample((), f32, seed=110), sample((3,), f32, seed=111)], {"mode": "full"})
case("convolve", [mx.zeros((0,)), sample((3,), f32, seed=111)], {"mode": "valid"})
case("convolve", [a9, a4], {"mode": "middle"})
case("convolve", [sample((6,), mx.complex64, seed=112), sample((3,), f32, seed=113)], {"mode": "full"})

# --- errors of the conv ops ---
x1, w1 = sample((2, 6, 4), f32, seed=120), sample((3, 3, 4), f32, seed=121)
x2, w2 = sample((1, 5, 5, 4), f32, seed=122), sample((2, 3, 3, 4), f32, seed=123)
for xi, wi, kw, op in [
    (sample((2, 6, 4), mx.int32, seed=124), w1, {}, "conv1d"),
    (sample((2, 6, 4), mx.bool_, seed=124), w1, {}, "conv1d"),
    (sample((2, 6, 4), mx.complex64, seed=124), w1, {}, "conv1d"),
    (sample((6, 4), f32, seed=124), w1, {}, "conv1d"),               # input rank
    (x1, sample((3, 4), f32, seed=125), {}, "conv1d"),               # weight rank
    (x1, w2, {}, "conv1d"),
    (x2, w1, {}, "conv2d"),
    (x1, sample((3, 3, 5), f32, seed=126), {}, "conv1d"),            # channel mismatch
    (x1, sample((3, 3, 4), f32, seed=126), {"groups": 3}, "conv1d"),  # 4 % 3
    (x1, sample((3, 3, 2), f32, seed=126), {"groups": 2}, "conv1d"),  # out channels 3 % 2
    (x1, sample((4, 3, 4), f32, seed=126), {"groups": 2}, "conv1d"),  # weight channels 4 != 2
    (x1, w1, {"groups": -1}, "conv1d"),
    (sample((1, 3, 3, 3, 4), f32, seed=127), sample((2, 2, 2, 2, 2), f32, seed=128), {"groups": 2}, "conv3d"),
    (x1, w1, {"stride": 0}, "conv1d"),
    (x1, w1, {"stride": -2}, "conv1d"),
    (x1, w1, {"dilation": 0}, "conv1d"),
    (x1, w1, {"dilation": -1}, "conv1d"),
    (x1, sample((3, 7, 4), f32, seed=129), {}, "conv1d"),            # kernel larger than input
    (x1, w1, {"dilation": 3}, "conv1d"),                             # dilated kernel too large
    (x1, w1, {"padding": -3}, "conv1d"),                             # cropped away
    (x2, w2, {"stride": [1, 0]}, "conv2d"),
    (x2, w2, {"padding": [3, -3]}, "conv2d"),
    (x2, w2, {"stride": [1, 1, 1]}, "conv_general"),
    (x2, w2, {"padding": [[1, 1, 1], [1, 1]]}, "conv_general"),
    (x2, w2, {"kernel_dilation": [1, 1, 1]}, "conv_general"),
    (x2, w2, {"input_dilation": [1, 1, 1]}, "conv_general"),
    (x2, w2, {"input_dilation": 0}, "conv_general"),
    (x2, w2, {"padding": [[-5], [1]]}, "conv_general"),
    (sample((1, 2, 2, 2, 2, 1), f32, seed=130), sample((1, 1, 1, 1, 1, 1), f32, seed=131), {}, "conv_general"),
    (x1, w1, {"stride": 0}, "conv_transpose1d"),
    (x1, w1, {"padding": 5}, "conv_transpose1d"),
    (x1, sample((3, 3, 4), f32, seed=132), {"groups": 3}, "conv_transpose1d"),
    (sample((6, 4), f32, seed=124), w1, {}, "conv_transpose1d"),
    (x2, w2, {"dilation": 0}, "conv_transpose2d"),
    (sample((1, 3, 3, 3, 4), f32, seed=127), sample((2, 2, 2, 2, 2), f32, seed=128), {"groups": 2},
     "conv_transpose3d"),
    (sample((1, 5, 5, 4), mx.int32, seed=133), w2, {}, "conv_transpose2d"),
]:
    case(op, [xi, wi], kw)
g.save()
