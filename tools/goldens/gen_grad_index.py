"""Goldens of MLX 0.32.4's derivatives of the indexing, linear algebra, convolution, fast and
quantized primitives: the conventions a finite-difference test cannot pin down (duplicate
indices in gathers and scatters, ties of scatter max/min and slice-update max, the weight
gradients of strided/grouped/dilated/flipped convolutions, the fast ops' gradients in
float32) and the errors MLX raises.

Case encoding: op "vjp_<fn>" records `mx.vjp(fn, primals, [cotangent])[1]`; op "vmap_<fn>"
records `mx.vmap(fn, in_axes)(*args)`. kwargs: "np" (how many leading inputs are primals;
for vmap, how many are arguments), "in_axes" (vmap), and the function's own parameters.
The remaining inputs are fixed arrays the function closes over (indices, starts), and for a
vjp the last input is the cotangent.
"""
import mlx.core as mx
import numpy as np
from golden import Goldens

g = Goldens("grad_index")
f32 = mx.float32
rng = np.random.default_rng(7)


def rnd(*shape, lo=-1.0, hi=1.0):
    return mx.array(rng.uniform(lo, hi, shape).astype(np.float32))


def ints(v):
    return mx.array(np.array(v, dtype=np.int32))


# Functions by name, each taking (primals..., extras..., **kwargs).
def fn_take(x, idx, axis=None):
    return mx.take(x, idx, axis=axis)


def fn_index2(x, i0, i2):
    return x[i0, :, i2]


def fn_setitem(x, u, idx):
    y = x * 1
    y[idx] = u
    return y


def fn_at(x, u, idx, how):
    return getattr(x.at[idx], how)(u)


def fn_at_slice(x, u, how):
    return getattr(x.at[1:4], how)(u)


def fn_set_slice(x, u):
    y = x * 1
    y[1:5:2, ::-1] = u
    return y


def fn_take_along(x, idx, axis):
    return mx.take_along_axis(x, idx, axis=axis)


def fn_put_along(x, u, idx, axis):
    return mx.put_along_axis(x, idx, u, axis=axis)


def fn_dyn_slice(x, start):
    return mx.slice(x, start, [0, 1], [2, 3])


def fn_dyn_update(x, u, start):
    return mx.slice_update(x, u, start, [0, 1])


def fn_addmm(c, a, b, alpha, beta):
    return mx.addmm(c, a, b, alpha=alpha, beta=beta)


def fn_vecdot(a, b):
    return mx.vecdot(a, b)


def fn_gather_mm(a, b, lhs, rhs):
    return mx.gather_mm(a, b, lhs, rhs)


def fn_hadamard(x):
    return mx.hadamard_transform(x)


def fn_conv(x, w, stride, lo, hi, kd, idl, groups, flip):
    return mx.conv_general(x, w, stride=stride, padding=(lo, hi), kernel_dilation=kd,
                           input_dilation=idl, groups=groups, flip=flip)


def fn_rms(x, w):
    return mx.fast.rms_norm(x, w, 1e-5)


def fn_ln(x, w, b):
    return mx.fast.layer_norm(x, w, b, 1e-5)


def fn_rope(x, traditional, offset):
    return mx.fast.rope(x, 6, traditional=traditional, base=10000.0, scale=0.5, offset=offset)


def fn_sdpa(q, k, v, mask):
    m = None if mask == "none" else mask
    return mx.fast.scaled_dot_product_attention(q, k, v, scale=0.6, mask=m)


def fn_sdpa_additive(q, k, v, m, s):
    return mx.fast.scaled_dot_product_attention(q, k, v, scale=0.6, mask=m, sinks=s)


def fn_qmm(x, scales, biases, wq, transpose):
    return mx.quantized_matmul(x, wq, scales, biases, transpose=transpose, group_size=32, bits=4)


def fn_dequantize(scales, biases, wq):
    return mx.dequantize(wq, scales, biases, group_size=32, bits=4)


FNS = {k[3:]: v for k, v in globals().items() if k.startswith("fn_")}


def vjp(name, fn, primals, extras=(), rtol=None, atol=None, why=None, **kw):
    out = FNS[fn](*primals, *extras, **kw)
    cot = mx.array(rng.uniform(-1, 1, out.shape).astype(np.float32)).astype(out.dtype)
    n = len(primals)

    def run(*args):
        p, rest, c = list(args[:n]), args[n:-1], args[-1]
        return mx.vjp(lambda *q: FNS[fn](*q, *rest, **kw), p, [c])[1]

    g.case("vjp_" + fn, list(primals) + list(extras) + [cot], run,
           kwargs={"np": n, **kw}, name=name, rtol=rtol, atol=atol, why=why)


def vmap(name, fn, args, in_axes, extras=(), **kw):
    n = len(args)

    def run(*all_args):
        a, rest = all_args[:n], all_args[n:]
        return mx.vmap(lambda *q: FNS[fn](*q, *rest, **kw), in_axes=tuple(in_axes))(*a)

    g.case("vmap_" + fn, list(args) + list(extras), run,
           kwargs={"np": n, "in_axes": [-1 if a is None else a for a in in_axes], **kw},
           name=name)


# ---------------------------------------------------------------------------------------
# Gathers: duplicate indices accumulate.
x = rnd(5, 4)
vjp("take dup rows", "take", [x], [ints([3, 0, 3, -1, 3])], axis=0)
vjp("take dup cols 2-D idx", "take", [x], [ints([[1, 1], [2, 1]])], axis=1)
vjp("take flat", "take", [x], [ints([0, 19, 19, 7])])
vjp("index two arrays", "index2", [rnd(4, 3, 5)], [ints([0, 3, 3, 1]), ints([4, 0, 4, 1])])
vjp("take_along dup", "take_along", [x], [ints([[0, 0, 3], [1, 1, 1], [2, 3, 2], [0, 0, 0], [3, 2, 1]])],
    axis=1)

# Scatters: overwritten places get no gradient; duplicate updates each get the cotangent of
# their place; ties of max/min send the cotangent to both sides.
base = rnd(6, 3)
vjp("setitem dup", "setitem", [base, rnd(4, 3)], [ints([1, 4, 1, 0])])
vjp("at add dup", "at", [base, rnd(4, 3)], [ints([1, 4, 1, 0])], how="add")
tie = mx.array(np.array([[0.5, -0.2, 0.1]] * 6, dtype=np.float32))
upd = mx.array(np.array([[0.5, 0.3, -1.0], [0.5, -0.2, 2.0]], dtype=np.float32))
vjp("at maximum ties", "at", [tie, upd], [ints([2, 2])], how="maximum")
vjp("at minimum ties", "at", [tie, upd], [ints([2, 5])], how="minimum")
vjp("at multiply (no vjp)", "at", [base, rnd(2, 3)], [ints([1, 1])], how="multiply")
vjp("put_along dup", "put_along", [rnd(4, 5), rnd(4, 1)], [ints([[2], [0], [4], [2]])], axis=1)

# Slice updates.
vjp("slice update strided reversed", "set_slice", [rnd(6, 4), rnd(2, 4)])
vjp("slice at add", "at_slice", [rnd(5, 2), rnd(3, 2)], how="add")
tie5 = mx.array(np.array([[0.2, 0.4]] * 5, dtype=np.float32))
vjp("slice at maximum ties", "at_slice", [tie5, mx.array(np.array([[0.2, 0.1], [0.3, 0.4], [0.0, 0.9]],
                                                                    dtype=np.float32))], how="maximum")
vjp("slice at multiply", "at_slice", [rnd(5, 2), rnd(3, 2)], how="multiply")
vjp("dynamic slice", "dyn_slice", [rnd(4, 6)], [ints([1, 2])])
vjp("dynamic slice update", "dyn_update", [rnd(4, 6), rnd(2, 3)], [ints([2, 3])])

# Linear algebra.
vjp("addmm alpha beta", "addmm", [rnd(3, 4), rnd(3, 2), rnd(2, 4)], alpha=0.5, beta=-2.0)
vjp("addmm broadcast c", "addmm", [rnd(4), rnd(2, 3, 2), rnd(2, 4)], alpha=1.5, beta=0.25)
vjp("vecdot", "vecdot", [rnd(3, 4), rnd(3, 4)])
vjp("gather_mm dup", "gather_mm", [rnd(2, 3, 4), rnd(3, 4, 2)], [ints([0, 1, 1, 0]), ints([2, 2, 0, 1])])
vjp("hadamard 16", "hadamard", [rnd(3, 16)])
vjp("hadamard 12", "hadamard", [rnd(2, 12)])

# Convolutions (float32): input and weight gradients.
CONV = [
    ("conv1d stride 2 pad 1", (2, 9, 4), (3, 3, 4), 2, [1], [1], 1, 1, 1, False),
    ("conv1d asymmetric pad", (2, 9, 4), (3, 2, 4), 2, [3], [0], 1, 1, 1, False),
    ("conv1d pad past kernel", (1, 7, 2), (2, 2, 2), 2, [4], [5], 1, 1, 1, False),
    ("conv1d stride 3 remainder", (1, 10, 2), (2, 3, 2), 3, [0], [0], 1, 1, 1, False),
    ("conv1d kernel dilation", (2, 11, 2), (3, 3, 2), 2, [2], [1], 2, 1, 1, False),
    ("conv1d input dilation", (2, 6, 2), (3, 3, 2), 1, [1], [2], 1, 2, 1, False),
    ("conv1d groups", (2, 9, 6), (4, 3, 3), 2, [1], [1], 2, 1, 2, False),
    ("conv1d flip groups", (2, 9, 4), (4, 3, 2), 2, [2], [0], 1, 2, 2, True),
    ("conv2d groups stride", (2, 7, 6, 4), (4, 3, 2, 2), [2, 1], [1, 0], [1, 0], [1, 2], 1, 2, False),
    ("conv2d flip dilation", (1, 6, 5, 2), (3, 2, 3, 2), [1, 2], [0, 1], [1, 1], [2, 1], [1, 2], 1, True),
]
for name, xs, ws, stride, lo, hi, kd, idl, groups, flip in CONV:
    vjp(name, "conv", [rnd(*xs), rnd(*ws)], stride=stride, lo=lo, hi=hi, kd=kd, idl=idl,
        groups=groups, flip=flip, rtol=1e-4, atol=1e-5, why="float32 sums in another order")

# fast (float32).
FAST_WHY = "MLX differentiates its plain-ops fallbacks; rmlx writes the derivative out"
vjp("rms_norm", "rms", [rnd(3, 8), rnd(8)], rtol=1e-4, atol=1e-5, why=FAST_WHY)
vjp("layer_norm", "ln", [rnd(3, 8), rnd(8), rnd(8)], rtol=1e-4, atol=1e-5, why=FAST_WHY)
vjp("rope", "rope", [rnd(2, 3, 5, 8)], traditional=False, offset=3, rtol=1e-4, atol=1e-5, why=FAST_WHY)
vjp("rope traditional", "rope", [rnd(2, 3, 5, 8)], traditional=True, offset=1, rtol=1e-4, atol=1e-5,
    why=FAST_WHY)
q, k, v = rnd(2, 4, 3, 4), rnd(2, 2, 5, 4), rnd(2, 2, 5, 4)
vjp("sdpa gqa", "sdpa", [q, k, v], mask="none", rtol=1e-4, atol=1e-5, why=FAST_WHY)
vjp("sdpa causal", "sdpa", [q, k, v], mask="causal", rtol=1e-4, atol=1e-5, why=FAST_WHY)
vjp("sdpa additive mask sinks", "sdpa_additive", [q, k, v, rnd(4, 3, 5), rnd(4)], rtol=1e-4, atol=1e-5,
    why=FAST_WHY)

# Quantized: gradients of x, scales and biases.
wq, sc, bi = mx.quantize(rnd(8, 64), group_size=32, bits=4)
vjp("quantized_matmul", "qmm", [rnd(2, 3, 64), sc, bi], [wq], transpose=True, rtol=1e-4, atol=1e-5,
    why="float32 sums in another order")
wq2, sc2, bi2 = mx.quantize(rnd(64, 32), group_size=32, bits=4)
vjp("quantized_matmul no transpose", "qmm", [rnd(3, 64), sc2, bi2], [wq2], transpose=False, rtol=1e-4,
    atol=1e-5, why="float32 sums in another order")
vjp("dequantize", "dequantize", [sc, bi], [wq], rtol=1e-5, atol=1e-5)

# vmap.
vmap("vmap take_along both", "take_along", [rnd(3, 4, 2), ints([[[0], [2]], [[1], [1]]])], [2, 0], axis=0)
# (MLX's vmap over grouped weights alone, and over a dynamic update's source alone, disagree with
# stacking slices; rmlx follows the slices, and those cases are left out.)
vmap("vmap conv weights", "conv", [rnd(2, 9, 4), rnd(2, 4, 3, 4)], [None, 0], stride=2, lo=[1],
     hi=[0], kd=1, idl=1, groups=1, flip=False)
vmap("vmap conv both", "conv", [rnd(2, 2, 9, 4), rnd(2, 4, 3, 2)], [1, 0], stride=1, lo=[1], hi=[1], kd=2,
     idl=1, groups=2, flip=False)
vmap("vmap sdpa", "sdpa", [rnd(2, 4, 2, 3, 4), k, v], [2, None, None], mask="causal")
vmap("vmap rms_norm last axis", "rms", [rnd(3, 8, 2), rnd(8)], [2, None])
vmap("vmap dynamic slice update", "dyn_update", [rnd(4, 6, 2), rnd(2, 2, 3)], [2, 0], extras=[ints([2, 3])])

g.save()
