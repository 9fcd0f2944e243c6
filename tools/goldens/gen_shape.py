"""Goldens for the shape family: slicing, joining/splitting, rearranging and creation ops.

Left out on purpose (documented deviations or MLX undefined behaviour):
- a slice step of 0: MLX divides by it (the process dies with SIGFPE); rmlx raises ValueError.
- `view` to bool: MLX keeps raw bytes (bool values other than 0/1, C++ UB); rmlx maps to != 0.
- `roll` with several shifts and a one-element axis tuple: MLX uses only the first shift
  (an integer axis adds them up); rmlx cannot tell `axis=0` from `axis=(0,)` and adds them up.
- `pad` with an empty `constant_values` array: MLX reads past the data; rmlx raises ValueError.
- negative counts (eye/tri n or m, repeat repeats, linspace num): rmlx takes `usize` there.
"""
import mlx.core as mx
import numpy as np
from golden import Goldens, Input, sample, ALL_DTYPES

g = Goldens("shape")

T = {"kind": "transpose"}


def step(axis):
    return {"kind": "step", "axis": axis}


def rev(axis):
    return {"kind": "reverse", "axis": axis}


def bcast(shape):
    return {"kind": "broadcast", "shape": shape}


def py_slice(x, start, stop, strides):
    return x[tuple(slice(s, e, k) for s, e, k in zip(start, stop, strides))]


# ---------------------------------------------------------------- slice (C++ static form)
def slice_case(inp, start, stop, strides):
    g.case("slice", [inp], lambda x: py_slice(x, start, stop, strides),
           kwargs={"start": start, "stop": stop, "strides": strides})


for i, d in enumerate(ALL_DTYPES):
    slice_case(sample((3, 4), d, seed=i), [1, -1], [3, -5], [1, -2])
slice_case(sample((3, 4), mx.float32, seed=20), [0, 0], [3, 4], [1, 1])          # whole: identity
slice_case(sample((3, 4), mx.int32, seed=21), [-10, 10], [10, -10], [2, -1])      # clamping
slice_case(sample((3, 4), mx.int32, seed=22), [2, 3], [0, 1], [1, 1])             # empty (start > stop)
slice_case(sample((3, 4), mx.int32, seed=23), [5, 0], [-20, 4], [-1, 3])          # backward from past the end
slice_case(Input(sample((4, 3), mx.int16, seed=24), T), [0, 1], [3, 4], [2, 2])   # transposed input
slice_case(Input(sample((3, 6), mx.uint8, seed=25), step(1)), [2, 0], [-4, 3], [-1, 2])
slice_case(Input(sample((3, 4), mx.float16, seed=26), rev(0)), [1, 0], [3, 4], [1, 3])
slice_case(Input(sample((4,), mx.int64, seed=27), bcast([3, 4])), [0, -1], [3, -5], [2, -1])
slice_case(sample((0, 3), mx.float32, seed=28), [0, 1], [0, 3], [1, 1])
slice_case(sample((0, 3), mx.float32, seed=28), [-1, 2], [-2, 0], [-1, -1])
slice_case(mx.array(3.5), [], [], [])
big = mx.array([2**62 + 1, -(2**60) - 3, 5, 2**53 + 1], dtype=mx.int64)
slice_case(big, [3], [-5], [-1])


# ---------------------------------------------------------------- slice_axis (Python a[..., s])
def slice_axis_case(inp, axis, start, stop, step_):
    def f(x):
        ax = axis % x.ndim
        return x[(slice(None),) * ax + (slice(start, stop, step_),)]
    g.case("slice_axis", [inp], f, kwargs={"axis": axis, "start": start, "stop": stop, "step": step_})


slice_axis_case(sample((3, 5), mx.float32, seed=30), 1, None, None, -1)
slice_axis_case(sample((3, 5), mx.float32, seed=31), -1, 1, None, 2)
slice_axis_case(sample((3, 5), mx.int8, seed=32), 0, None, -1, None)
slice_axis_case(sample((3, 5), mx.int8, seed=33), 0, -1, None, -2)
slice_axis_case(Input(sample((5, 3), mx.bfloat16, seed=34), T), 1, 3, 0, -1)
slice_axis_case(sample((0, 2), mx.bool_, seed=35), 0, None, None, -1)

# ---------------------------------------------------------------- concatenate / stack
for i, d in enumerate(ALL_DTYPES):
    a, b = sample((2, 3), d, seed=40 + i), sample((2, 2), d, seed=60 + i)
    g.case("concatenate", [a, Input(sample((2, 2), d, seed=80 + i), T), b],
           lambda x, y, z: mx.concatenate([x, y, z], axis=-1), kwargs={"axis": -1})
    g.case("stack", [a, Input(sample((3, 2), d, seed=100 + i), T)], lambda x, y: mx.stack([x, y], axis=1),
           kwargs={"axis": 1})
g.case("concatenate", [sample((2, 3), mx.int8, seed=120), sample((1, 3), mx.uint8, seed=121),
                       sample((0, 3), mx.float16, seed=122)],
       lambda x, y, z: mx.concatenate([x, y, z], axis=0), kwargs={"axis": 0})       # promotion, empty part
g.case("concatenate", [Input(sample((2, 3), mx.int64, seed=123), rev(1)), Input(mx.array([2**62 + 7, -5]), bcast([3, 2]))],
       lambda x, y: mx.concatenate([x, y], axis=None), kwargs={"axis": None})
g.case("concatenate", [sample((2, 3), mx.bool_, seed=124), sample((2, 1), mx.complex64, seed=125)],
       lambda x, y: mx.concatenate([x, y], axis=1), kwargs={"axis": 1})
g.case("concatenate", [sample((2, 3), mx.float32, seed=126)], lambda x: mx.concatenate([x], axis=5),
       kwargs={"axis": 5})                                                          # one array: returned as is
g.case("concatenate", [], lambda: mx.concatenate([], axis=0), kwargs={"axis": 0})
g.case("concatenate", [sample((2, 3), mx.float32), sample((2, 3), mx.float32)],
       lambda x, y: mx.concatenate([x, y], axis=2), kwargs={"axis": 2})
g.case("concatenate", [sample((2, 3), mx.float32), sample((3,), mx.float32)],
       lambda x, y: mx.concatenate([x, y], axis=0), kwargs={"axis": 0})
g.case("concatenate", [sample((2, 3), mx.float32), sample((3, 2), mx.float32)],
       lambda x, y: mx.concatenate([x, y], axis=0), kwargs={"axis": 0})
g.case("concatenate", [mx.array(1), mx.array(2)], lambda x, y: mx.concatenate([x, y], axis=0), kwargs={"axis": 0})
g.case("concatenate", [mx.array(1), mx.array(2.5)], lambda x, y: mx.concatenate([x, y], axis=None), kwargs={"axis": None})
g.case("stack", [mx.array(1), mx.array(2.5)], lambda x, y: mx.stack([x, y]), kwargs={"axis": 0})
g.case("stack", [sample((2, 3), mx.int32)], lambda x: mx.stack([x], axis=-1), kwargs={"axis": -1})
g.case("stack", [sample((2, 3), mx.int32), sample((2, 3), mx.int32)], lambda x, y: mx.stack([x, y], axis=3), kwargs={"axis": 3})
g.case("stack", [sample((2, 3), mx.int32), sample((3, 2), mx.int32)], lambda x, y: mx.stack([x, y]), kwargs={"axis": 0})
g.case("stack", [], lambda: mx.stack([]), kwargs={"axis": 0})
g.case("stack", [sample((0, 2), mx.float32), sample((0, 2), mx.float32)], lambda x, y: mx.stack([x, y], axis=-2), kwargs={"axis": -2})

# ---------------------------------------------------------------- split / unstack
for i, d in enumerate(ALL_DTYPES):
    a = sample((4, 6), d, seed=130 + i)
    g.case("split", [a], lambda x: mx.split(x, 3, axis=1), kwargs={"sections": 3, "axis": 1})
    g.case("split", [Input(sample((6, 4), d, seed=150 + i), T)], lambda x: mx.split(x, [1, -2, 9], axis=-1),
           kwargs={"indices": [1, -2, 9], "axis": -1})
g.case("split", [sample((2, 3), mx.int32)], lambda x: mx.split(x, [2, 1, 5, -1], axis=1), kwargs={"indices": [2, 1, 5, -1], "axis": 1})
g.case("split", [sample((2, 3), mx.int32)], lambda x: mx.split(x, [], axis=1), kwargs={"indices": [], "axis": 1})
g.case("split", [sample((0, 2), mx.float32)], lambda x: mx.split(x, 3), kwargs={"sections": 3, "axis": 0})
g.case("split", [sample((2, 3), mx.int32)], lambda x: mx.split(x, 0, axis=1), kwargs={"sections": 0, "axis": 1})
g.case("split", [sample((2, 3), mx.int32)], lambda x: mx.split(x, -2, axis=1), kwargs={"sections": -2, "axis": 1})
g.case("split", [sample((2, 3), mx.int32)], lambda x: mx.split(x, 2, axis=1), kwargs={"sections": 2, "axis": 1})
g.case("split", [sample((2, 3), mx.int32)], lambda x: mx.split(x, 2, axis=-3), kwargs={"sections": 2, "axis": -3})
g.case("split", [mx.array(1)], lambda x: mx.split(x, 1), kwargs={"sections": 1, "axis": 0})
g.case("split", [Input(sample((3, 4), mx.int32, seed=170), rev(0))], lambda x: mx.split(x, [1, 2]),
       kwargs={"indices": [1, 2], "axis": 0})
for i, d in enumerate([mx.bool_, mx.uint64, mx.bfloat16, mx.complex64]):
    g.case("unstack", [Input(sample((3, 2, 4), d, seed=175 + i), step(2))], lambda x: mx.unstack(x, axis=-1), kwargs={"axis": -1})
g.case("unstack", [sample((2, 3), mx.int32)], lambda x: mx.unstack(x), kwargs={"axis": 0})
g.case("unstack", [sample((0, 3), mx.int32)], lambda x: mx.unstack(x), kwargs={"axis": 0})
g.case("unstack", [sample((2, 3), mx.int32)], lambda x: mx.unstack(x, axis=2), kwargs={"axis": 2})
g.case("unstack", [mx.array(2)], lambda x: mx.unstack(x), kwargs={"axis": 0})


# ---------------------------------------------------------------- pad
def pad_case(inp, width, mode="constant", value=0):
    g.case("pad", [inp, value], lambda x, v: mx.pad(x, width, mode=mode, constant_values=v),
           kwargs={"pad_width": width, "mode": mode})


for i, d in enumerate(ALL_DTYPES):
    pad_case(sample((2, 3), d, seed=180 + i), [(1, 0), (0, 2)], "constant", 1)
    pad_case(Input(sample((3, 2), d, seed=200 + i), T), (2, 1), "edge")
    pad_case(Input(sample((2, 6), d, seed=220 + i), step(1)), [(1, 2), (4, 5)], "reflect")
    pad_case(Input(sample((2, 3), d, seed=240 + i), rev(1)), [(3, 0), (7, 2)], "symmetric")
pad_case(sample((2, 3), mx.int32), 1, "constant", 2.7)
pad_case(sample((2, 3), mx.int32), (1,), "constant", mx.array([7, 8]))
pad_case(sample((2, 3), mx.float16), [(2, 1)], "constant", mx.array(1e10))
pad_case(sample((2, 3), mx.float32), 1, "constant", 3 + 1j)
pad_case(sample((2,), mx.complex64), 1, "constant", 3.5)
pad_case(sample((2,), mx.bool_), 2, "constant", 5)
pad_case(sample((2, 3), mx.uint8), 1, "constant", 300)
pad_case(sample((2, 3), mx.uint8), 1, "edge", -1)
pad_case(mx.array([2**62 + 1, -3], dtype=mx.int64), (1, 2), "constant", 2**61)
pad_case(mx.array([0.0, float("nan"), float("inf"), -0.0]), (1, 2), "reflect")
pad_case(sample((4,), mx.int32), (7, 9), "reflect")
pad_case(sample((4,), mx.int32), (7, 9), "symmetric")
pad_case(sample((1,), mx.int32), (3, 2), "reflect")
pad_case(sample((2,), mx.int32), (5, 6), "reflect")
pad_case(sample((0, 2), mx.float32), 1, "edge")
pad_case(sample((0, 2), mx.float32), [(0, 0), (1, 1)], "edge")
pad_case(sample((0,), mx.float32), (1, 0), "reflect")
pad_case(sample((0,), mx.float32), (1, 0), "symmetric")
pad_case(sample((0,), mx.float32), (0, 0), "reflect")
pad_case(sample((0, 3), mx.float32), 2, "constant", 1.5)
pad_case(mx.array(3), 2)
pad_case(mx.array(3), [(1, 1)], "edge")
pad_case(sample((2, 3), mx.int32), [(1, 0), (1, 1), (1, 1)])
pad_case(sample((2, 3), mx.int32), [])
pad_case(sample((2, 3), mx.int32), -1)
pad_case(sample((2, 3), mx.int32), [(0, 1), (0, -2)])
pad_case(sample((2, 3), mx.int32), 1, "wrap")
pad_case(sample((2, 3), mx.int32), [(0, 0), (0, 0)], "reflect")

# ---------------------------------------------------------------- repeat / tile
for i, d in enumerate(ALL_DTYPES):
    g.case("repeat", [Input(sample((3, 2), d, seed=260 + i), T)], lambda x: mx.repeat(x, 2, axis=-1),
           kwargs={"repeats": 2, "axis": -1})
    g.case("tile", [Input(sample((2, 4), d, seed=280 + i), step(1))], lambda x: mx.tile(x, [2, 1, 3]),
           kwargs={"reps": [2, 1, 3]})
g.case("repeat", [sample((2, 3), mx.int32)], lambda x: mx.repeat(x, 3), kwargs={"repeats": 3, "axis": None})
g.case("repeat", [sample((2, 3), mx.int32)], lambda x: mx.repeat(x, 0, axis=1), kwargs={"repeats": 0, "axis": 1})
g.case("repeat", [sample((2, 3), mx.int32)], lambda x: mx.repeat(x, 0), kwargs={"repeats": 0, "axis": None})
g.case("repeat", [sample((2, 3), mx.int32)], lambda x: mx.repeat(x, 1, axis=0), kwargs={"repeats": 1, "axis": 0})
g.case("repeat", [sample((2, 3), mx.int32)], lambda x: mx.repeat(x, 2, axis=2), kwargs={"repeats": 2, "axis": 2})
g.case("repeat", [mx.array(3)], lambda x: mx.repeat(x, 2), kwargs={"repeats": 2, "axis": None})
g.case("repeat", [mx.array(3)], lambda x: mx.repeat(x, 2, axis=0), kwargs={"repeats": 2, "axis": 0})
g.case("repeat", [Input(mx.array([1, 2], mx.uint16), bcast([2, 2]))], lambda x: mx.repeat(x, 2, axis=0), kwargs={"repeats": 2, "axis": 0})
g.case("tile", [sample((2, 3), mx.int32)], lambda x: mx.tile(x, 2), kwargs={"reps": [2]})
g.case("tile", [sample((2, 3), mx.int32)], lambda x: mx.tile(x, [0, 2]), kwargs={"reps": [0, 2]})
g.case("tile", [sample((2, 3), mx.int32)], lambda x: mx.tile(x, [-1, 2]), kwargs={"reps": [-1, 2]})
g.case("tile", [mx.array(4)], lambda x: mx.tile(x, [2]), kwargs={"reps": [2]})
g.case("tile", [mx.array(4)], lambda x: mx.tile(x, []), kwargs={"reps": []})
g.case("tile", [sample((0, 2), mx.float32)], lambda x: mx.tile(x, [3, 2]), kwargs={"reps": [3, 2]})


# ---------------------------------------------------------------- roll / flip
def roll_case(inp, shift, axis):
    g.case("roll", [inp], lambda x: mx.roll(x, shift) if axis is None else mx.roll(x, shift, axis),
           kwargs={"shift": shift, "axis": axis})


def flip_case(inp, axis):
    g.case("flip", [inp], lambda x: mx.flip(x) if axis is None else mx.flip(x, axis), kwargs={"axis": axis})


for i, d in enumerate(ALL_DTYPES):
    roll_case(Input(sample((3, 4), d, seed=300 + i), rev(1)), [1, -5], [0, -1])
    flip_case(Input(sample((4, 3), d, seed=320 + i), T), -1)
roll_case(sample((2, 3), mx.int32), 1, None)
roll_case(sample((2, 3), mx.int32), -4, 1)
roll_case(sample((2, 3), mx.int32), [1, 2], None)
roll_case(sample((2, 3), mx.int32), [1, 2], 1)
roll_case(sample((2, 3), mx.int32), 1, [0, 1])
roll_case(sample((2, 3), mx.int32), [1], [0, 1])
roll_case(sample((2, 3), mx.int32), 1, [1, 1])
roll_case(sample((2, 3), mx.int32), 1, 2)
roll_case(sample((2, 3), mx.int32), 1, [])
roll_case(sample((2, 3), mx.int32), 2**31 - 1, 1)
roll_case(mx.array(5), 3, None)
roll_case(mx.array(5), 3, 0)
roll_case(sample((0, 3), mx.float32), 3, 0)
roll_case(Input(mx.array(np.array([2**63 + 5, 1, 2**60], dtype=np.uint64)), bcast([2, 3])), 1, None)
flip_case(sample((2, 3), mx.int32), None)
flip_case(sample((2, 3, 2), mx.int32), [0, 2])
flip_case(sample((2, 3), mx.int32), [1, 1])
flip_case(sample((2, 3), mx.int32), 2)
flip_case(mx.array(1), None)
flip_case(mx.array(1), 0)
flip_case(sample((0, 3), mx.float32), 0)
flip_case(Input(sample((3,), mx.float32), bcast([2, 3])), None)

# ---------------------------------------------------------------- diag / diagonal
for i, d in enumerate(ALL_DTYPES):
    g.case("diag", [sample((3,), d, seed=340 + i)], lambda x: mx.diag(x, -1), kwargs={"k": -1})
    g.case("diagonal", [Input(sample((4, 3, 2), d, seed=360 + i), T)], lambda x: mx.diagonal(x, 1, 2, 0),
           kwargs={"offset": 1, "axis1": 2, "axis2": 0})
b = sample((2, 3, 4), mx.int32, seed=380)
g.case("diag", [sample((2, 3), mx.int32)], lambda x: mx.diag(x, 1), kwargs={"k": 1})
g.case("diag", [Input(sample((3, 3), mx.float64), rev(0))], lambda x: mx.diag(x), kwargs={"k": 0})
g.case("diag", [sample((0,), mx.float32)], lambda x: mx.diag(x, 2), kwargs={"k": 2})
g.case("diag", [Input(sample((6,), mx.int64), step(0))], lambda x: mx.diag(x, 2), kwargs={"k": 2})
g.case("diag", [b], lambda x: mx.diag(x), kwargs={"k": 0})
g.case("diag", [mx.array(1)], lambda x: mx.diag(x), kwargs={"k": 0})
for off, a1, a2 in [(0, 0, 1), (1, 0, 1), (-1, 0, 1), (5, 0, 1), (-5, 0, 1), (-1, -1, -3), (0, 1, -2), (0, 3, 0), (0, 0, -4)]:
    g.case("diagonal", [b], lambda x: mx.diagonal(x, off, a1, a2), kwargs={"offset": off, "axis1": a1, "axis2": a2})
g.case("diagonal", [sample((3,), mx.int32)], lambda x: mx.diagonal(x), kwargs={"offset": 0, "axis1": 0, "axis2": 1})
g.case("diagonal", [Input(sample((3,), mx.int32), bcast([2, 3]))], lambda x: mx.diagonal(x, 1),
       kwargs={"offset": 1, "axis1": 0, "axis2": 1})

# ---------------------------------------------------------------- view (bitcast)
views = {mx.bool_: mx.uint8, mx.uint8: mx.int8, mx.uint16: mx.float16, mx.uint32: mx.float32,
         mx.uint64: mx.float64, mx.int8: mx.uint8, mx.int16: mx.bfloat16, mx.int32: mx.int16,
         mx.int64: mx.int32, mx.float16: mx.int16, mx.bfloat16: mx.uint8, mx.float32: mx.uint32,
         mx.float64: mx.uint64, mx.complex64: mx.float32}
for i, d in enumerate(ALL_DTYPES):
    to = views[d]
    g.case("view", [sample((2, 4), d, seed=400 + i)], lambda x: mx.view(x, to), kwargs={"dtype": str(to).split(".")[-1]})
    g.case("view", [Input(sample((4, 2), d, seed=420 + i), T)], lambda x: mx.view(x, to), kwargs={"dtype": str(to).split(".")[-1]})
for src, to, view in [(mx.int16, mx.int32, T), (mx.int16, mx.int32, step(1)), (mx.int16, mx.int32, bcast([3, 2])),
                      (mx.uint8, mx.uint64, None), (mx.complex64, mx.float64, None), (mx.int32, mx.int16, rev(0))]:
    base = sample((2, 8) if view is None or view["kind"] != "broadcast" else (2,), src, seed=440)
    if view is not None and view["kind"] == "transpose":
        base = sample((8, 2), src, seed=441)
    inp = Input(base, view) if view is not None else base
    g.case("view", [inp], lambda x: mx.view(x, to), kwargs={"dtype": str(to).split(".")[-1]})
g.case("view", [sample((3,), mx.int16)], lambda x: mx.view(x, mx.int32), kwargs={"dtype": "int32"})
g.case("view", [mx.array(1, mx.int32)], lambda x: mx.view(x, mx.float32), kwargs={"dtype": "float32"})
g.case("view", [mx.array(1, mx.int32)], lambda x: mx.view(x, mx.int16), kwargs={"dtype": "int16"})
g.case("view", [1.0], lambda x: mx.view(x, mx.int32), kwargs={"dtype": "int32"})
g.case("view", [sample((2, 0), mx.int16)], lambda x: mx.view(x, mx.int32), kwargs={"dtype": "int32"})
g.case("view", [mx.array([1.5, float("nan"), -0.0, float("-inf")])], lambda x: mx.view(x, mx.uint32), kwargs={"dtype": "uint32"})
g.case("view", [mx.array(np.array([2**63 + 1], dtype=np.uint64))], lambda x: mx.view(x, mx.int64), kwargs={"dtype": "int64"})

# ---------------------------------------------------------------- diff
for i, d in enumerate(ALL_DTYPES):
    g.case("diff", [Input(sample((4, 3), d, seed=460 + i), T)], lambda x: mx.diff(x), kwargs={"n": 1, "axis": -1})
g.case("diff", [sample((2, 5), mx.int32)], lambda x: mx.diff(x, 2, 1), kwargs={"n": 2, "axis": 1})
g.case("diff", [sample((2, 3), mx.int32)], lambda x: mx.diff(x, 0), kwargs={"n": 0, "axis": -1})
g.case("diff", [sample((2, 3), mx.int32)], lambda x: mx.diff(x, 5, 1), kwargs={"n": 5, "axis": 1})
g.case("diff", [sample((2, 3), mx.int32)], lambda x: mx.diff(x, 2, 0), kwargs={"n": 2, "axis": 0})
g.case("diff", [sample((2, 3), mx.int32)], lambda x: mx.diff(x, 1, 2), kwargs={"n": 1, "axis": 2})
g.case("diff", [mx.array(3)], lambda x: mx.diff(x), kwargs={"n": 1, "axis": -1})
g.case("diff", [mx.array([3, 1, 2], mx.uint8)], lambda x: mx.diff(x), kwargs={"n": 1, "axis": -1})
g.case("diff", [mx.array([2**62, -(2**62), 2**62], mx.int64)], lambda x: mx.diff(x), kwargs={"n": 1, "axis": -1})
g.case("diff", [mx.array([1.0, float("inf"), float("inf"), float("nan")])], lambda x: mx.diff(x), kwargs={"n": 1, "axis": -1})

# ---------------------------------------------------------------- tril / triu
for i, d in enumerate(ALL_DTYPES):
    g.case("tril", [Input(sample((4, 3), d, seed=480 + i), T)], lambda x: mx.tril(x, 1), kwargs={"k": 1})
    g.case("triu", [sample((2, 3, 4), d, seed=500 + i)], lambda x: mx.triu(x, -1), kwargs={"k": -1})
g.case("tril", [sample((3, 4), mx.int32)], lambda x: mx.tril(x, -5), kwargs={"k": -5})
g.case("triu", [sample((3, 4), mx.int32)], lambda x: mx.triu(x, 9), kwargs={"k": 9})
g.case("tril", [Input(sample((3,), mx.float32), bcast([2, 3]))], lambda x: mx.tril(x), kwargs={"k": 0})
g.case("triu", [mx.array([[float("nan"), float("nan")], [1.0, 2.0]])], lambda x: mx.triu(x), kwargs={"k": 0})
g.case("tril", [sample((0, 3), mx.float32)], lambda x: mx.tril(x), kwargs={"k": 0})
g.case("tril", [sample((3,), mx.int32)], lambda x: mx.tril(x), kwargs={"k": 0})
g.case("triu", [mx.array(1)], lambda x: mx.triu(x), kwargs={"k": 0})

# ---------------------------------------------------------------- meshgrid / atleast_nd
g.case("meshgrid", [sample((2,), mx.int32), sample((3,), mx.float32)], lambda x, y: mx.meshgrid(x, y),
       kwargs={"sparse": False, "indexing": "xy"})
g.case("meshgrid", [sample((2,), mx.int32), Input(sample((6,), mx.uint8), step(0))], lambda x, y: mx.meshgrid(x, y, indexing="ij"),
       kwargs={"sparse": False, "indexing": "ij"})
g.case("meshgrid", [sample((2,), mx.int8), sample((3,), mx.bool_), sample((2,), mx.complex64)],
       lambda x, y, z: mx.meshgrid(x, y, z, sparse=True), kwargs={"sparse": True, "indexing": "xy"})
g.case("meshgrid", [sample((2,), mx.int8), sample((3,), mx.bool_), sample((4,), mx.bfloat16)],
       lambda x, y, z: mx.meshgrid(x, y, z), kwargs={"sparse": False, "indexing": "xy"})
g.case("meshgrid", [sample((2, 2), mx.float32), mx.array(7)], lambda x, y: mx.meshgrid(x, y, indexing="ij"),
       kwargs={"sparse": False, "indexing": "ij"})
g.case("meshgrid", [sample((2,), mx.int32)], lambda x: mx.meshgrid(x), kwargs={"sparse": False, "indexing": "xy"})
g.case("meshgrid", [sample((0,), mx.int32), sample((3,), mx.int32)], lambda x, y: mx.meshgrid(x, y),
       kwargs={"sparse": False, "indexing": "xy"})
g.case("meshgrid", [sample((2,), mx.int32)], lambda x: mx.meshgrid(x, indexing="ab"), kwargs={"sparse": False, "indexing": "ab"})
for fn, name in [(mx.atleast_1d, "atleast_1d"), (mx.atleast_2d, "atleast_2d"), (mx.atleast_3d, "atleast_3d")]:
    for shape in [(), (3,), (2, 3), (2, 1, 2)]:
        g.case(name, [sample(shape, mx.float16, seed=len(shape))], lambda x: fn(x))
    g.case(name, [Input(sample((3, 2), mx.int32), T)], lambda x: fn(x))

# ---------------------------------------------------------------- creation
for i, d in enumerate(ALL_DTYPES):
    dn = str(d).split(".")[-1]
    g.case("linspace", [], lambda: mx.linspace(-1.3, 2.9, 7, dtype=d),
           kwargs={"start": -1.3, "stop": 2.9, "num": 7, "endpoint": True, "dtype": dn})
    g.case("eye", [], lambda: mx.eye(3, 4, -1, d), kwargs={"n": 3, "m": 4, "k": -1, "dtype": dn})
    g.case("tri", [], lambda: mx.tri(4, 3, 1, d), kwargs={"n": 4, "m": 3, "k": 1, "dtype": dn})
    g.case("identity", [], lambda: mx.identity(2, d), kwargs={"n": 2, "dtype": dn})
for start, stop, num, endpoint, dn in [(0, 1, 5, True, "float32"), (0, 10, 4, True, "int32"), (0, 1, 4, False, "float32"),
                                       (3.5, 1, 1, True, "float32"), (3.5, 1, 1, True, "int32"), (0.1, 1, 1, True, "float16"),
                                       (3.5, 1, 0, True, "float32"), (0.1, 0.7, 7, True, "float64"), (0.1, 0.7, 7, False, "float16"),
                                       (1e10, -1e10, 9, True, "float32"), (0, 2**40, 5, True, "int64"), (2, 2, 50, True, "float32"),
                                       (-7, 100, 50, False, "bfloat16"), (1, 0, 3, True, "bool")]:
    g.case("linspace", [], lambda: mx.linspace(start, stop, num, endpoint, getattr(mx, dn if dn != "bool" else "bool_")),
           kwargs={"start": start, "stop": stop, "num": num, "endpoint": endpoint, "dtype": dn})
for n, m, k in [(3, None, 0), (2, 4, 1), (4, 3, -2), (3, 3, 3), (3, 3, -3), (0, None, 0), (0, 3, 1), (3, 0, 0)]:
    g.case("eye", [], lambda: mx.eye(n, m, k), kwargs={"n": n, "m": m, "k": k, "dtype": "float32"})
    g.case("tri", [], lambda: mx.tri(n, m, k), kwargs={"n": n, "m": m, "k": k, "dtype": "float32"})
g.case("tri", [], lambda: mx.tri(2, 3, -10, mx.int8), kwargs={"n": 2, "m": 3, "k": -10, "dtype": "int8"})
g.case("tri", [], lambda: mx.tri(2, 3, 10, mx.int8), kwargs={"n": 2, "m": 3, "k": 10, "dtype": "int8"})

g.save()
