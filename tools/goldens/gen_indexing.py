"""Goldens for the indexing family: take, take_along_axis, put_along_axis, dynamic slices,
slice_update, NumPy-style getitem / setitem and the .at[] updates.

Getitem, setitem and at cases carry their index in kwargs["index"], a list of entries:
  {"int": i} | {"slice": [start, stop, step]} (null = omitted) | {"none": true}
  | {"ellipsis": true} | {"array": k}   (k-th index array among the case's inputs)
The inputs are the array, then (setitem / at) the value, then the index arrays. Indices are
always given as a tuple (x[(i,)]), which is how the Rust index type works.

Out-of-range indices are kept out (MLX reads garbage there; rmlx raises, tested in Rust).
"""
import numpy as np
import mlx.core as mx
from golden import Goldens, Input, sample, ALL_DTYPES

g = Goldens("indexing")
IDX_DTYPES = [mx.int32, mx.uint32, mx.int64, mx.int8, mx.uint8]


def idx(vals, dtype=mx.int32):
    return mx.array(np.array(vals)).astype(dtype)


def build_index(spec, arrays):
    out = []
    for e in spec:
        if "int" in e:
            out.append(e["int"])
        elif "slice" in e:
            out.append(slice(*e["slice"]))
        elif "none" in e:
            out.append(None)
        elif "ellipsis" in e:
            out.append(...)
        else:
            out.append(arrays[e["array"]])
    return tuple(out)


def I(i):
    return {"int": i}


def S(start=None, stop=None, step=None):
    return {"slice": [start, stop, step]}


NONE = {"none": True}
ELL = {"ellipsis": True}


def A(k):
    return {"array": k}


def getitem(a, spec, arrays=()):
    g.case("getitem", [a, *arrays], lambda x, *arr: x[build_index(spec, arr)],
           kwargs={"index": spec})


def setitem(a, v, spec, arrays=()):
    def f(x, val, *arr):
        y = mx.array(x)
        y[build_index(spec, arr)] = val
        return y
    g.case("setitem", [a, v, *arrays], f, kwargs={"index": spec})


def at(a, v, spec, method, arrays=()):
    g.case("at", [a, v, *arrays],
           lambda x, val, *arr: getattr(x.at[build_index(spec, arr)], method)(val),
           kwargs={"index": spec, "method": method})


def take(a, i, axis="none"):
    kw = {} if axis == "none" else {"axis": axis}
    if isinstance(i, int):
        kw["int_index"] = i
        g.case("take", [a], lambda x: mx.take(x, i, **({} if axis == "none" else {"axis": axis})),
               kwargs=kw)
    else:
        g.case("take", [a, i], lambda x, j: mx.take(x, j, **({} if axis == "none" else {"axis": axis})),
               kwargs=kw)


def take_along(a, i, axis):
    g.case("take_along_axis", [a, i], lambda x, j: mx.take_along_axis(x, j, axis=axis),
           kwargs={"axis": axis})


def put_along(a, i, v, axis):
    g.case("put_along_axis", [a, i, v], lambda x, j, w: mx.put_along_axis(x, j, w, axis=axis),
           kwargs={"axis": axis})


# ------------------------------------------------------------------ every value dtype
for d in ALL_DTYPES:
    a = sample((4, 5), d, seed=1)
    take(a, idx([3, -1, 0, 3]), 0)
    take(a, idx([[4, 0], [-2, 1]]), 1)
    take(a, idx([7, -20, 0]))
    take(a, 2, 1)
    take(a, -3)
    take(Input(sample((5, 4), d, seed=2), {"kind": "transpose"}), idx([1, 3]), 1)
    take_along(a, idx([[0, 4, 1], [2, 2, 0], [1, 1, 1], [4, 3, 2]]), 1)
    take_along(a, idx([[3, 0, 1, 2, 0]]), 0)
    take_along(a, idx([0, 19, -1]), None)
    put_along(a, idx([[0, 4], [2, 2], [1, 1], [4, 3]]), sample((4, 2), d, seed=3), 1)
    put_along(a, idx([[3, 0, 1, 2, 0]]), sample((1,), d, seed=4), 0)
    put_along(a, idx([0, 19, -1]), sample((3,), d, seed=5), None)
    getitem(a, [A(0), S(1, None, 2)], [idx([[0, 3], [-1, 1]])])
    getitem(Input(sample((4, 6), d, seed=6), {"kind": "step", "axis": 1}), [S(None, None, -1), I(-2)])
    setitem(a, sample((2, 5), d, seed=7), [A(0)], [idx([2, 0])])
    setitem(a, sample((5,), d, seed=8), [I(1)])
    setitem(Input(sample((5, 4), d, seed=9), {"kind": "transpose"}),
            sample((4, 2), d, seed=10), [S(), S(0, None, 3)])
    dup = idx([1, 3, 1, 1])
    for m in ["add", "multiply", "maximum", "minimum"]:
        at(a, sample((4, 5), d, seed=11), [A(0)], m, [dup])
        at(a, sample((2, 5), d, seed=12), [S(1, 3)], m)
    if d != mx.bool_:
        at(a, sample((4, 5), d, seed=13), [A(0)], "subtract", [dup])
    if d not in (mx.bool_,) and not mx.issubdtype(d, mx.integer):
        at(a, sample((4, 1), d, seed=14, low=1, high=3), [A(0)], "divide", [dup])
    g.case("slice_dynamic", [a, idx([1, 2])],
           lambda x, s: mx.slice(x, s, [0, 1], [2, 3]),
           kwargs={"axes": [0, 1], "slice_size": [2, 3]})
    g.case("slice_update_dynamic", [a, sample((2, 2), d, seed=15), idx([2])],
           lambda x, u, s: mx.slice_update(x, u, s, [1]), kwargs={"axes": [1]})

# integer at-divide (multiplies by the reciprocal cast to the integer dtype)
at(mx.array([3, 4, 5]), 2, [A(0)], "divide", [idx([0, 0])])
at(mx.array([3, 4, 5]), 0.5, [I(0)], "divide")
at(mx.array([3, 4, 5]), 1, [A(0)], "divide", [idx([2])])
at(mx.array([3, 4, 5], dtype=mx.uint8), 4, [A(0)], "subtract", [idx([0, 1])])
at(mx.array([1.0, float("nan"), 2.0]), mx.array([float("nan"), 5.0, 1.0]), [A(0)], "maximum",
   [idx([0, 1, 2])])
at(mx.array([1.0, float("nan"), 2.0]), mx.array([float("nan"), 5.0, 1.0]), [A(0)], "minimum",
   [idx([0, 1, 2])])

# ------------------------------------------------------------------ index dtypes, views
base = sample((6, 3), mx.float32, seed=20)
for it in IDX_DTYPES:
    vals = [5, 0, 2, 2] if it in (mx.uint32, mx.uint8) else [5, -6, 2, -1]
    take(base, idx(vals, it), 0)
    take_along(base, idx([[0, 2, 1]], it), 1)
    put_along(base, idx([[0], [2], [1], [1], [0], [2]], it), mx.array(9.0), 1)
    getitem(base, [A(0), A(1)], [idx(vals, it), idx([0, 2, 1, 0], it)])
    setitem(base, 7.5, [A(0)], [idx(vals, it)])
    at(base, 1.0, [A(0)], "add", [idx(vals, it)])
    g.case("slice_dynamic", [base, idx([3], it)], lambda x, s: mx.slice(x, s, [0], [2, 3]),
           kwargs={"axes": [0], "slice_size": [2, 3]})
# mixed index dtypes
getitem(base, [A(0), A(1)], [idx([1, 2], mx.uint8), idx([0, -1], mx.int64)])
# non-contiguous index arrays
getitem(base, [A(0)], [Input(idx([[1, 5], [0, 3], [2, 2]]), {"kind": "transpose"})])
getitem(base, [A(0), S()], [Input(idx([5, 4, 3, 2, 1, 0]), {"kind": "step", "axis": 0})])
take(base, Input(idx([0, 1, 2, 3]), {"kind": "reverse", "axis": 0}), 0)
take_along(base, Input(idx([[2, 0, 1]]), {"kind": "broadcast", "shape": [6, 3]}), 1)
setitem(base, Input(mx.arange(3).astype(mx.float32), {"kind": "broadcast", "shape": [2, 3]}),
        [A(0)], [Input(idx([4, 1]), {"kind": "reverse", "axis": 0})])

# ------------------------------------------------------------------ getitem forms
x = mx.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
i1 = idx([0, 2, 1])
i2 = idx([[1], [0]])
i3 = idx([3, -1])
getitem(x, [I(1)])
getitem(x, [I(-1), S(None, None, 2), NONE, I(0)])
getitem(x, [ELL, I(1)])
getitem(x, [NONE, ELL, NONE])
getitem(x, [S(1, None), ELL, S(None, None, -2)])
getitem(x, [S(5, 9)])
getitem(x, [S(-100, 100, 3)])
getitem(x, [])
getitem(x, [ELL])
getitem(x, [S(), A(0)], [i1])                        # adjacent: in place
getitem(x, [S(), A(0), A(1)], [i1, idx([0, 3, 2])])   # adjacent pair
getitem(x, [A(0), S(), A(1)], [i2, i3])               # separated: moved to front
getitem(x, [I(1), S(), A(0)], [i3])                   # int + array separated: front
getitem(x, [S(), I(1), A(0)], [i3])                   # int + array adjacent
getitem(x, [A(0), NONE, A(1)], [i2, idx([2, -1])])              # separated by None
getitem(x, [NONE, A(0), A(1)], [i2, idx([2, -1])])
getitem(x, [S(), A(0), NONE, S(1, 3)], [i2])
getitem(x, [ELL, A(0)], [i3])
getitem(x, [ELL, A(0), S()], [i3])
getitem(x, [A(0), ELL, A(1)], [i2, i3])
getitem(x, [A(0), A(1), A(2), A(3)], [i2, i1, idx([0]), idx(4)])
getitem(x, [A(0)], [idx(1)])                          # 0-d index array
getitem(x, [S(None, None, -1), A(0), S(None, None, 2)], [i2])
getitem(x, [I(0), A(0), I(-1), S(1, 3)], [i2])
getitem(mx.arange(5), [A(0)], [idx([[4, 0], [1, 1]])])
# empty arrays and empty index arrays
getitem(x, [A(0)], [idx(np.zeros((0,), np.int32))])
getitem(x, [S(), A(0), S()], [idx(np.zeros((2, 0), np.int32))])
getitem(mx.zeros((0, 3)), [S(), A(0)], [idx([2, 0])])
getitem(mx.zeros((0, 3)), [A(0)], [idx(np.zeros((0,), np.int32))])
getitem(x, [S(2, 1)])
take(mx.zeros((0, 3)), idx([1]), 1)
take(mx.zeros((3, 0)), idx(np.zeros((0,), np.int32)), 1)
take_along(mx.zeros((0, 3)), idx(np.zeros((0, 3), np.int32)), 0)
put_along(mx.zeros((0, 3)), idx(np.zeros((0, 3), np.int32)), mx.array(1.0), 0)
setitem(mx.zeros((4, 2)), 1.0, [A(0)], [idx(np.zeros((0,), np.int32))])
at(mx.zeros((4, 2)), 1.0, [A(0)], "add", [idx(np.zeros((0,), np.int32))])
# broadcasting index arrays
getitem(x, [A(0), A(1)], [idx([[0], [1]]), idx([[0, 1, 2]])])
getitem(x, [A(0), S(), A(1)], [idx([[0], [1]]), idx([[0, 3, 2]])])
take_along(x, idx(np.zeros((1, 3, 2, 1), np.int32)), 2)
take_along(mx.arange(6).reshape(2, 3), idx([[2], [0]]), 1)
put_along(mx.zeros((2, 3)), idx([[1], [0]]), mx.array([1.0, 2.0, 3.0]), 0)
put_along(mx.zeros((3, 4)), idx([[1, 1, 1, 1]]), mx.arange(12).reshape(3, 4), 0)

# ------------------------------------------------------------------ setitem / at forms
z = mx.zeros((3, 4, 5))
setitem(z, 1.0, [I(1)])
setitem(z, mx.arange(5).astype(mx.float32), [S(), I(2)])
setitem(z, mx.arange(20).reshape(1, 4, 5), [I(-1)])
setitem(z, mx.arange(3).reshape(3, 1, 1), [ELL])
setitem(z, 2.0, [NONE, S(None, None, 2), NONE, I(0)])
setitem(z, mx.arange(6).reshape(3, 2), [S(), I(1), S(None, None, 3)])
setitem(z, mx.arange(4), [S(None, None, -1), ELL, I(0)])
setitem(z, mx.arange(2), [A(0)], [idx([0, 2])])
setitem(z, mx.arange(10).reshape(2, 5), [A(0), I(1)], [idx([0, 2])])
setitem(z, mx.arange(6).reshape(2, 3), [A(0), S(None, None, 2), A(1)], [idx([0, 2]), idx([[1], [4]])])
setitem(z, 5.0, [S(), A(0), A(1)], [idx([0, 3]), idx([1, 1])])
setitem(z, mx.arange(8).reshape(2, 4), [A(0), S(), I(0)], [idx([1, 2])])
setitem(z, mx.arange(6).reshape(1, 2, 3), [A(0), S(1, 3), S(0, 3)], [idx([1])])
setitem(z, mx.arange(40).reshape(2, 4, 5), [A(0)], [idx([2, 2])])
setitem(z, 3.0, [A(0), NONE], [idx([1, 0])])
setitem(z, mx.arange(4).reshape(2, 2), [NONE, A(0), S(1, 3), I(0)], [idx([0, 2])])
setitem(z, mx.ones((1, 1, 4, 5)), [A(0)], [idx([0, 1])])
for m in ["add", "multiply", "maximum", "minimum", "subtract", "divide"]:
    at(z + 2, mx.arange(1, 11).reshape(2, 5), [A(0), I(1)], m, [idx([0, 0])])
    at(z + 2, mx.arange(1, 4), [S(0, 2), I(1), S(None, None, 2)], m)
    at(z + 2, 3.0, [A(0), S(), A(1)], m, [idx([2, 2, 1]), idx([4, 4, 4])])
    at(z + 2, 3.0, [ELL], m)
# errors
setitem(z, mx.ones((2, 5)), [A(0)], [idx([0, 1, 2])])       # update shape mismatch
setitem(z, mx.ones((3,)), [I(0)])                          # update shape mismatch
at(z, mx.ones((2, 2)), [A(0)], "add", [idx([0, 1])])
getitem(z, [A(0)], [mx.array([0.0, 1.0])])                 # float indices
getitem(z, [A(0)], [mx.array([True, False, True])])        # boolean mask
setitem(z, 1.0, [A(0)], [mx.array([1.5])])
take(z, mx.array([1.0]), 0)
take(z, idx([0]), 3)
take(z, idx([0]), -4)
take_along(z, idx([[[0]]]), 3)
put_along(z, idx([[[0]]]), mx.array(1.0), -4)
getitem(z, [I(0), I(0), I(0), I(0)])                       # too many
getitem(z, [ELL, I(0), ELL])                               # two ellipses
getitem(mx.array(3.0), [I(0)])
getitem(z, [A(0), A(1)], [idx([0, 1]), idx([0, 1, 2])])    # index arrays do not broadcast
take_along(z, idx([[0]]), 0)                               # rank mismatch
put_along(z, idx([[[0]]]), mx.ones((2, 2, 2)), 0)          # values do not broadcast
g.case("slice_dynamic", [z, idx([0, 0])], lambda x, s: mx.slice(x, s, [0], [1, 1, 1]),
       kwargs={"axes": [0], "slice_size": [1, 1, 1]})
g.case("slice_dynamic", [z, mx.array([0.0])], lambda x, s: mx.slice(x, s, [0], [1, 1, 1]),
       kwargs={"axes": [0], "slice_size": [1, 1, 1]})
g.case("slice_dynamic", [z, idx([0])], lambda x, s: mx.slice(x, s, [0], [4, 1, 1]),
       kwargs={"axes": [0], "slice_size": [4, 1, 1]})
g.case("slice_dynamic", [z, idx([0])], lambda x, s: mx.slice(x, s, [3], [1, 1, 1]),
       kwargs={"axes": [3], "slice_size": [1, 1, 1]})
g.case("slice_dynamic", [z, idx(1)], lambda x, s: mx.slice(x, s, [-1], [3, 4, 2]),
       kwargs={"axes": [-1], "slice_size": [3, 4, 2]})
g.case("slice_update_dynamic", [z, mx.ones((4, 1)), idx([1, 2])],
       lambda x, u, s: mx.slice_update(x, u, s, [0, 2]), kwargs={"axes": [0, 2]})
g.case("slice_update_dynamic", [z, mx.ones((2,)), idx([1, 2])],
       lambda x, u, s: mx.slice_update(x, u, s, [1, 2]), kwargs={"axes": [1, 2]})
g.case("slice_update_dynamic", [z, mx.ones((2, 2)), idx([1, 1])],
       lambda x, u, s: mx.slice_update(x, u, s, [1, 1]), kwargs={"axes": [1, 1]})

g.save()
