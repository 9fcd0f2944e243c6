"""Goldens of MLX 0.32.4's derivatives of the sorting, reduction, scan, rearranging and view
primitives, nan_to_num, divmod and the gated delta update: the conventions a finite-difference
test cannot pin down (ties of sort/partition/topk/median/cummax/cummin, zeros in prod and
cumprod, exclusive and reverse scans, replaced NaN/inf, dtypes of the gradients) and the
errors MLX raises where it has no rule.

Case encoding (as gen_grad_index.py): op "vjp_<fn>" records `mx.vjp(fn, primals,
[cotangent])[1]`; op "jvp_<fn>" records `mx.jvp(fn, primals, tangents)[1]`; op "vmap_<fn>"
records `mx.vmap(fn, in_axes)(*args)`. kwargs: "np" (how many leading inputs are primals; for
vmap, how many are arguments), "in_axes" (vmap), and the function's own parameters. The
remaining inputs are fixed arrays the function closes over, and for a vjp the last input is
the cotangent (for a jvp, the last `np` inputs are the tangents).
"""
import mlx.core as mx
import numpy as np
from golden import Goldens

g = Goldens("grad_more")
rng = np.random.default_rng(11)


def rnd(*shape, lo=-1.0, hi=1.0, dtype=mx.float32):
    return mx.array(rng.uniform(lo, hi, shape).astype(np.float32)).astype(dtype)


def arr(v, dtype=mx.float32):
    return mx.array(np.array(v, dtype=np.float32)).astype(dtype)


def opt_axis(axis):
    return None if axis == "none" else axis


# Functions by name, each taking (primals..., extras..., **kwargs).
def fn_sort(x, axis):
    return mx.sort(x, axis=opt_axis(axis))


def fn_x_argsort(x, axis):
    return x * mx.argsort(x, axis=axis).astype(x.dtype)


def fn_partition(x, kth, axis):
    # MLX leaves the order inside each side of a partition to its kernel: the sums of the
    # two sides and the element at kth do not depend on it.
    p = mx.partition(x, kth, axis=axis)
    n = x.shape[axis]
    k = kth % n
    idx = mx.arange(n)
    shape = [1] * x.ndim
    shape[axis] = n
    lo = (idx < k).reshape(shape)
    hi = (idx > k).reshape(shape)
    at = mx.take(p, mx.array([k]), axis=axis)
    return mx.concatenate([mx.sum(p * lo, axis=axis, keepdims=True), at,
                           mx.sum(p * hi, axis=axis, keepdims=True)], axis=axis)


def fn_topk(x, k, axis):
    return mx.topk(x, k, axis=axis)


def fn_prod(x, axes, keepdims):
    return mx.prod(x, axis=axes, keepdims=keepdims)


def fn_x_argmax(x, axis):
    return x * mx.argmax(x, axis=axis, keepdims=True).astype(x.dtype)


def fn_median(x, axes):
    return mx.median(x, axis=axes)


def fn_x_isclose(x, y):
    return x * mx.isclose(x, y).astype(x.dtype) + y * mx.array_equal(x, y).astype(x.dtype)


def fn_scan(x, kind, axis, reverse, inclusive):
    f = {"cumprod": mx.cumprod, "cummax": mx.cummax, "cummin": mx.cummin,
         "logcumsumexp": mx.logcumsumexp}[kind]
    return f(x, axis=axis, reverse=reverse, inclusive=inclusive)


def fn_pad(x, lo, hi):
    return mx.pad(x, list(zip(lo, hi)))


def fn_diag(x, k):
    return mx.diag(x, k=k)


def fn_diagonal(x, offset, axis1, axis2):
    return mx.diagonal(x, offset=offset, axis1=axis1, axis2=axis2)


def fn_tril(x, k):
    return mx.tril(x, k=k)


def fn_triu(x, k):
    return mx.triu(x, k=k)


def fn_as_strided(x, shape, strides, offset):
    return mx.as_strided(x, shape, strides, offset)


def fn_view(x, dtype):
    return mx.view(x, getattr(mx, dtype))


def fn_nan_to_num(x):
    return mx.nan_to_num(x, nan=0.5, posinf=9.0, neginf=-9.0)


def fn_divmod(a, b, which):
    return mx.divmod(a, b)[which]


def fn_searchsorted(seq, v):
    return mx.searchsorted(seq, v, side="right")


def fn_gated_delta(q, k, v, gamma, beta, state, which):
    return mx.fast.gated_delta_update(q, k, v, gamma, beta, state)[which]


def fn_conv1d(x, w):
    return mx.conv1d(x, w)


def fn_qmm(x, scales, biases, wq):
    return mx.quantized_matmul(x, wq, scales, biases, transpose=True, group_size=32, bits=4)


def fn_fp8(x):
    return mx.from_fp8(mx.to_fp8(x), mx.float32)


def fn_qqmm(x, scales, wq):
    return mx.qqmm(x, wq, scales, mode="mxfp8")


def fn_qqmm_scales(scales, x, wq):
    return mx.qqmm(x, wq, scales, mode="mxfp8")


def fn_quantize(w, which, mode, group_size, bits):
    out = mx.quantize(w, group_size=group_size, bits=bits, mode=mode)[which]
    return out if out.dtype != mx.uint8 else out.astype(mx.float32)


def fn_quantize_all(w, mode, group_size, bits):
    return mx.quantize(w, group_size=group_size, bits=bits, mode=mode)


def fn_unique(x, size):
    return mx.unique(x, size=size)


def fn_unique_fill(x, fill, size):
    return mx.unique(x, size=size, fill_value=fill)


def fn_unique_all(x, size):
    return mx.unique(x, size=size, return_index=True, return_inverse=True, return_counts=True)


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


def jvp(name, fn, primals, extras=(), rtol=None, atol=None, why=None, **kw):
    n = len(primals)
    tans = [mx.array(rng.uniform(-1, 1, p.shape).astype(np.float32)).astype(p.dtype) for p in primals]

    def run(*args):
        p, rest, t = list(args[:n]), args[n:-n], list(args[-n:])
        return mx.jvp(lambda *q: FNS[fn](*q, *rest, **kw), p, t)[1]

    g.case("jvp_" + fn, list(primals) + list(extras) + tans, run,
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
# Sorting: ties route by the stable order; topk at ties picks what MLX's partition picks.
ties = arr([[1, 3, 2, 3, 1], [0, 0, 0, 5, 0], [2, 2, 1, 2, 7]])
vjp("sort ties last axis", "sort", [ties], axis=-1)
vjp("sort ties axis 0", "sort", [ties], axis=0)
vjp("sort flat", "sort", [ties], axis="none")
vjp("sort float16", "sort", [rnd(3, 4, dtype=mx.float16)], axis=1)
jvp("sort ties jvp", "sort", [ties], axis=-1)
vjp("x * argsort", "x_argsort", [ties], axis=1)
vjp("partition ties", "partition", [ties], kth=2, axis=1)
jvp("partition jvp", "partition", [rnd(4, 6)], kth=-2, axis=-1)
vjp("topk k=1 ties", "topk", [ties], k=1, axis=-1)
vjp("topk k=2 ties", "topk", [ties], k=2, axis=-1)
vjp("topk ties at the boundary", "topk", [arr([[3, 1, 3, 3], [2, 2, 2, 2]])], k=2, axis=-1)
vjp("topk axis 0", "topk", [rnd(5, 3)], k=3, axis=0)
jvp("topk jvp", "topk", [rnd(3, 6)], k=2, axis=-1)
vmap("vmap sort", "sort", [rnd(3, 4, 5)], [1], axis=-1)
vmap("vmap partition", "partition", [rnd(4, 6, 2)], [2], kth=1, axis=0)
vmap("vmap topk", "topk", [rnd(2, 6, 3)], [2], k=2, axis=-1)
vmap("vmap searchsorted values", "searchsorted", [arr([-0.5, 0.0, 0.5]), rnd(3, 4)], [None, 1])
vmap("vmap searchsorted sequence (error)", "searchsorted", [rnd(2, 3), rnd(2, 4)], [0, 0])

# Reductions: prod with zeros (one zero: the product of the others; two: zero).
zeros = arr([[1, 3, 2, 3], [0, 2, 0, 5], [0, 2, 4, 5]])
vjp("prod zeros axis 1", "prod", [zeros], axes=1, keepdims=False)
vjp("prod zeros axis 0 keepdims", "prod", [zeros], axes=0, keepdims=True)
vjp("prod zeros all", "prod", [arr([[1, 3], [0, 2]])], axes=[0, 1], keepdims=False)
vjp("prod two axes", "prod", [rnd(2, 3, 4)], axes=[0, 2], keepdims=False)
jvp("prod zeros jvp", "prod", [zeros], axes=1, keepdims=False)
jvp("prod two axes jvp", "prod", [rnd(2, 3, 4)], axes=[-1, 0], keepdims=True)
vjp("prod float16", "prod", [rnd(3, 4, lo=0.5, hi=1.5, dtype=mx.float16)], axes=1, keepdims=False)
vjp("x * argmax", "x_argmax", [ties], axis=1)
vjp("median ties even", "median", [arr([[1, 3, 2, 3], [4, 4, 4, 4]])], axes=1)
vjp("median ties odd", "median", [ties], axes=1)
vjp("median two axes", "median", [rnd(2, 3, 4)], axes=[0, 2])
jvp("median jvp", "median", [ties], axes=-1)
vjp("isclose array_equal", "x_isclose", [arr([1, 2, 3]), arr([1, 2.5, 3])])
vmap("vmap median", "median", [rnd(3, 5, 2)], [2], axes=0)
vmap("vmap prod", "prod", [rnd(3, 4, 2)], [1], axes=[0, 1], keepdims=False)

# Scans: every direction and inclusiveness; zeros in cumprod; ties in cummax/cummin.
zs = arr([[0.5, 0.0, 2.0, -1.5, 0.7], [1.5, 0.0, 2.0, 0.0, 1.1], [1.2, -0.3, 2.0, 1.0, 0.0]])
tie_s = arr([[1, 3, 2, 3, 3], [2, 1, 1, 0, 2], [-1, -1, -1, -1, -1]])
for reverse in (False, True):
    for inclusive in (True, False):
        tag = f"{'reverse' if reverse else 'forward'} {'inclusive' if inclusive else 'exclusive'}"
        vjp(f"cumprod zeros {tag}", "scan", [zs], kind="cumprod", axis=1, reverse=reverse,
            inclusive=inclusive)
        vjp(f"cummax ties {tag}", "scan", [tie_s], kind="cummax", axis=1, reverse=reverse,
            inclusive=inclusive)
        vjp(f"cummin ties {tag}", "scan", [tie_s], kind="cummin", axis=1, reverse=reverse,
            inclusive=inclusive)
        vjp(f"logcumsumexp {tag}", "scan", [rnd(3, 5)], kind="logcumsumexp", axis=-1,
            reverse=reverse, inclusive=inclusive)
        jvp(f"logcumsumexp jvp {tag}", "scan", [rnd(3, 5)], kind="logcumsumexp", axis=0,
            reverse=reverse, inclusive=inclusive)
vjp("cumprod axis 0", "scan", [zs], kind="cumprod", axis=0, reverse=False, inclusive=True)
jvp("cumprod jvp (error)", "scan", [zs], kind="cumprod", axis=0, reverse=False, inclusive=True)
jvp("cummax jvp (error)", "scan", [zs], kind="cummax", axis=0, reverse=False, inclusive=True)

# Rearranging and views.
vjp("pad", "pad", [rnd(3, 4)], lo=[1, 0], hi=[2, 3])
jvp("pad jvp", "pad", [rnd(3, 4)], lo=[0, 2], hi=[1, 1])
vmap("vmap pad", "pad", [rnd(3, 4, 2)], [2], lo=[1, 0], hi=[2, 1])
vjp("diag vector", "diag", [rnd(4)], k=1)
jvp("diag vector jvp (error)", "diag", [rnd(4)], k=0)
vjp("diag matrix", "diag", [rnd(4, 5)], k=-1)
vmap("vmap diag vector", "diag", [rnd(4, 3)], [1], k=-2)
vjp("diagonal 3-D", "diagonal", [rnd(4, 3, 5)], offset=1, axis1=2, axis2=0)
jvp("diagonal jvp", "diagonal", [rnd(4, 3, 5)], offset=-1, axis1=0, axis2=1)
vmap("vmap diagonal", "diagonal", [rnd(4, 3, 5)], [1], offset=0, axis1=0, axis2=1)
vjp("tril", "tril", [rnd(2, 4, 5)], k=-1)
vjp("triu", "triu", [rnd(4, 5)], k=2)
jvp("triu jvp", "triu", [rnd(4, 5)], k=0)
vmap("vmap tril last axis", "tril", [rnd(4, 5, 3)], [2], k=1)
vjp("as_strided overlapping", "as_strided", [rnd(10)], shape=[3, 4], strides=[2, 1], offset=1)
jvp("as_strided jvp", "as_strided", [rnd(10)], shape=[4, 3], strides=[1, 2], offset=0)
vmap("vmap as_strided (error)", "as_strided", [rnd(2, 10)], [0], shape=[3, 4], strides=[2, 1], offset=1)
vmap("vmap view", "view", [rnd(3, 4)], [0], dtype="int16")
vjp("view vjp (error)", "view", [rnd(3, 4)], dtype="int32")

# nan_to_num, divmod, gated delta, and rules MLX lacks.
special = arr([1.0, np.nan, np.inf, -2.0, -np.inf])
vjp("nan_to_num", "nan_to_num", [special])
jvp("nan_to_num jvp", "nan_to_num", [special])
vmap("vmap nan_to_num", "nan_to_num", [rnd(3, 2)], [1])
a, b = rnd(3, 4, lo=-5, hi=5), rnd(3, 4, lo=0.5, hi=2)
vjp("divmod quotient", "divmod", [a, b], which=0)
jvp("divmod remainder jvp", "divmod", [a, b], which=1)
# (MLX 0.32.4's DivMod::vmap fails, "[moveaxis] Invalid axis", for every in_axes; rmlx
# follows stacking slices, tested in tests/transforms/more_rules.rs.)
B, T, Hk, Hv, Dk, Dv = 1, 3, 1, 2, 4, 2
gd = [rnd(B, T, Hk, Dk), rnd(B, T, Hk, Dk, lo=-0.5, hi=0.5), rnd(B, T, Hv, Dv),
      rnd(B, T, Hv, lo=0.5, hi=1.0), rnd(B, T, Hv, lo=0.1, hi=0.9), rnd(B, Hv, Dv, Dk)]
GD_WHY = "MLX differentiates its plain-ops fallback in float32 in another order"
vjp("gated_delta out", "gated_delta", gd, which=0, rtol=1e-4, atol=1e-5, why=GD_WHY)
vjp("gated_delta state", "gated_delta", gd, which=1, rtol=1e-4, atol=1e-5, why=GD_WHY)
jvp("conv1d jvp (error)", "conv1d", [rnd(1, 5, 2), rnd(3, 2, 2)])
wq, sc, bi = mx.quantize(rnd(8, 64), group_size=32, bits=4)
vmap("vmap quantized_matmul (error)", "qmm", [rnd(2, 3, 64), sc, bi], [0, None, None], extras=[wq])
x8 = rnd(3, 4)
vjp("fp8 vjp (error)", "fp8", [x8])
jvp("fp8 jvp (error)", "fp8", [x8])
vmap("vmap fp8 (error)", "fp8", [x8], [0])
wq8, sc8 = mx.quantize(rnd(32, 64), mode="mxfp8")
xq = rnd(1, 64)
vjp("qqmm vjp x (error)", "qqmm", [xq, sc8], [wq8])
vjp("qqmm vjp scales", "qqmm_scales", [sc8], [xq, wq8])
jvp("qqmm jvp (error)", "qqmm", [xq], [sc8, wq8])

# Quantize: affine through MLX's plain-ops scales and biases; the fp modes as MLX's CPU
# composition (zeros for mxfp4, errors for mxfp8 and nvfp4).
QW = rnd(3, 128)
for gs, bits in ((32, 4), (64, 2), (128, 8), (64, 1)):
    for which, part in ((1, "scales"), (2, "biases")):
        vjp(f"quantize affine {part} g{gs} b{bits}", "quantize", [QW], which=which, mode="affine",
            group_size=gs, bits=bits)
        jvp(f"quantize affine {part} jvp g{gs} b{bits}", "quantize", [QW], which=which,
            mode="affine", group_size=gs, bits=bits)
vjp("quantize affine float16", "quantize", [rnd(2, 64, dtype=mx.float16)], which=1, mode="affine",
    group_size=32, bits=4)
vjp("quantize mxfp4 scales", "quantize", [QW], which=1, mode="mxfp4", group_size=32, bits=4)
jvp("quantize mxfp4 jvp", "quantize", [QW], which=1, mode="mxfp4", group_size=32, bits=4)
vjp("quantize mxfp8 scales", "quantize", [QW], which=1, mode="mxfp8", group_size=32, bits=8)
jvp("quantize nvfp4 jvp (error)", "quantize", [QW], which=1, mode="nvfp4", group_size=16, bits=4)
vjp("quantize nvfp4 (error)", "quantize", [QW], which=1, mode="nvfp4", group_size=16, bits=4)
vmap("vmap quantize affine last axis", "quantize_all", [rnd(2, 64, 3)], [2], mode="affine",
     group_size=32, bits=4)
vmap("vmap quantize affine", "quantize_all", [rnd(2, 3, 64)], [0], mode="affine", group_size=64,
     bits=8)
vmap("vmap quantize mxfp4", "quantize_all", [rnd(2, 3, 64)], [1], mode="mxfp4", group_size=32, bits=4)
vmap("vmap quantize mxfp8 (error)", "quantize_all", [rnd(2, 3, 64)], [1], mode="mxfp8", group_size=32,
     bits=8)

# Unique (composed in MLX): the cotangent goes to each value's first occurrence; padding goes
# to the first value's, or to the fill value.
ux = arr([[1, 3, 2], [3, 1, 5]])
vjp("unique padded", "unique", [ux], size=6)
vjp("unique truncated", "unique", [ux], size=2)
vjp("unique fill", "unique_fill", [ux, arr(9.0)], size=6)
jvp("unique jvp (error)", "unique", [ux], size=3)
vmap("vmap unique", "unique", [ux], [1], size=3)
vmap("vmap unique all outputs", "unique_all", [arr([[1, 3, 3], [2, 2, 0]])], [0], size=4)

# Complex inputs: prod conjugates the other factors (as MLX's rule); cumprod does not.
zc = mx.array(np.array([[1 + 2j, 3 - 1j, 0.5 + 0.5j], [0.0, 2 - 1j, -1 + 0.25j]], dtype=np.complex64))
vjp("prod complex", "prod", [zc], axes=1, keepdims=False)
jvp("prod complex jvp", "prod", [zc], axes=1, keepdims=False)
vjp("cumprod complex", "scan", [zc], kind="cumprod", axis=1, reverse=False, inclusive=True)
vjp("sort complex", "sort", [zc], axis=1)
vjp("nan_to_num complex", "nan_to_num", [mx.array(np.array([1 + 1j, np.inf, complex(np.nan, 1.0), -np.inf,
                                                            complex(np.inf, 1.0)], dtype=np.complex64))])

g.save()
