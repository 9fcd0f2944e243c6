"""Goldens of the smaller core ops of the second core issue: window functions, minmax,
hadamard_transform, gather_mm, segmented_mm and block_masked_mm.

Float tolerances: products get 16 float32 epsilons times the largest sum of |terms|; the
Hadamard transform (MLX rounds after every butterfly stage in half precision, rmlx once) gets
a few epsilons of the dtype times the sum of |x| over the row; windows agree to a few ulps.
"""
import mlx.core as mx
import numpy as np
from golden import Goldens, Input, sample

g = Goldens("extra")
EPS = {mx.float32: 2.0**-23, mx.float16: 2.0**-10, mx.bfloat16: 2.0**-7}


def s(shape, seed, dtype=mx.float32):
    return sample(shape, dtype, seed=seed, low=-3, high=3)


# Windows: float32, m < 1 empty, m == 1 ones.
for name in ["hanning", "hamming", "blackman", "bartlett"]:
    for m in [-3, 0, 1, 2, 3, 8, 51, 1000]:
        g.case(name, [], lambda m=m, name=name: getattr(mx, name)(m), kwargs={"m": m},
               atol=4e-7, why="sin/cos of float32 arguments: a few ulps of 1")

# minmax over all axes and over given axes, every dtype that min/max accept.
for d in [mx.bool_, mx.uint8, mx.int32, mx.int64, mx.float16, mx.bfloat16, mx.float32]:
    x = sample((3, 4), d, seed=3)
    g.case("minmax", [x], lambda x: mx.minmax(x))
    g.case("minmax", [x], lambda x: mx.minmax(x, axis=1), kwargs={"axis": [1]})
    g.case("minmax", [x], lambda x: mx.minmax(x, axis=[0, 1], keepdims=True),
           kwargs={"axis": [0, 1], "keepdims": True})
g.case("minmax", [s((0,), 1)], lambda x: mx.minmax(x))


def had(x, scale=None, **kw):
    xv = x.materialize() if isinstance(x, Input) else x
    d = xv.dtype if xv.dtype in EPS else mx.float32
    n = xv.shape[-1] if xv.ndim else 1
    flat = np.abs(np.array(xv.astype(mx.float32))).reshape(-1)
    row_sum = float(np.max(np.sum(flat.reshape(-1, n), -1), initial=0.0)) if flat.size and n else 0.0
    sc = abs(scale) if scale is not None else 1.0 / np.sqrt(max(n, 1))
    atol = 4 * EPS[d] * row_sum * sc * max(1, np.log2(max(n, 2))) + 1e-30
    kwargs = dict(kw)
    if scale is not None:
        kwargs["scale"] = scale
    g.case("hadamard_transform", [x], lambda x: mx.hadamard_transform(x, scale=scale),
           kwargs=kwargs, atol=atol, why="butterfly sums; MLX rounds each stage in half precision")


for n in [1, 2, 4, 8, 64, 1024, 12, 24, 20, 40, 28, 56 * 4]:
    had(s((3, n), n))
had(s((2, 3, 16), 1), scale=1.0)
had(s((16,), 2), scale=-0.5)
had(s((4, 12 * 8), 3, mx.float16))
had(s((4, 20 * 4), 4, mx.bfloat16))
had(s((2, 8), 5, mx.int32))
had(Input(s((8, 4), 6), {"kind": "transpose"}))
had(mx.array(2.0))
had(mx.array([3], mx.int32))
had(mx.array([3], mx.int32), scale=2.0)
for bad in [s((3,), 7), s((2, 0), 8), s((24,), 9, mx.float64), s((6,), 10)]:
    had(bad)


def prod_atol(a, b):
    x = np.abs(np.array(a.astype(mx.float64)))
    y = np.abs(np.array(b.astype(mx.float64)))
    try:
        bound = float(np.max(x @ y, initial=0.0))
    except ValueError:
        return None
    return 16 * 2.0**-23 * bound + 1e-30


WHY = "float sums in a different order: error relative to the magnitude of the sums"


def gmm(a, b, li=None, ri=None, **kw):
    am = a.materialize() if isinstance(a, Input) else a
    bm = b.materialize() if isinstance(b, Input) else b
    ins = [a, b] + ([li] if li is not None else []) + ([ri] if ri is not None else [])
    kwargs = {"lhs": li is not None, "rhs": ri is not None, **kw}

    def f(*xs):
        xs = list(xs)
        x, y = xs.pop(0), xs.pop(0)
        l = xs.pop(0) if li is not None else None
        r = xs.pop(0) if ri is not None else None
        return mx.gather_mm(x, y, l, r, sorted_indices=kw.get("sorted", False))
    atol = None
    if am.ndim >= 1 and bm.ndim >= 1:
        aa = am if am.ndim > 1 else am[None]
        bb = bm if bm.ndim > 1 else bm[:, None]
        atol = prod_atol(aa.reshape(-1, aa.shape[-1]), bb.reshape(-1, bb.shape[-2], bb.shape[-1]).max(0)) if aa.shape[-1] == bb.shape[-2] else None
    g.case("gather_mm", ins, f, kwargs=kwargs, atol=atol, why=WHY if atol else None)


A3, B3 = s((4, 3, 5), 11), s((3, 5, 2), 12)
gmm(A3, B3, mx.array([0, 3, 1]), mx.array([2, 2, 0]))
gmm(A3, B3, mx.array([[0], [3]], mx.uint8), mx.array([1, 0, 2], mx.int64))
gmm(A3, B3, None, mx.array([2, 0, 1, 1]).reshape(2, 2)[:, :1])
gmm(s((3, 5), 13), B3, None, mx.array([1, 0, 2, 2]), sorted=True)
gmm(A3, s((5, 2), 14), mx.array([3, 3]), None)
gmm(s((5,), 15), B3, None, mx.array([1, 0]))
gmm(A3, s((5,), 16), mx.array([2]), None)
gmm(A3, B3)
gmm(Input(s((4, 5, 3), 17), {"kind": "transpose"}), B3, mx.array([0, 1]), mx.array([1, 2]))
gmm(s((2, 2, 3, 5), 18), s((2, 5, 4), 19), mx.array([3, 0]), mx.array([1, 0]))
# (MLX's CPU GatherMM computes float32 only; rmlx's half-precision path is tested in Rust.)
gmm(s((2, 3, 5), 22, mx.int32), s((2, 5, 2), 23), mx.array([1]), mx.array([0]))
gmm(s((2, 3, 5), 24, mx.int32), s((2, 5, 2), 25, mx.int32), mx.array([1]), mx.array([0]))
gmm(A3, B3, mx.array([0.0]), mx.array([1]))
gmm(A3, s((4, 2), 26), mx.array([0]), None)
gmm(A3, B3, mx.array([0, 1]), mx.array([0, 1, 2]))
gmm(s((2, 0, 5), 27), B3, mx.array([1]), mx.array([0]))
gmm(A3, B3, mx.array([], mx.int32), mx.array([0]))


def seg(a, b, segs):
    am = a.materialize() if isinstance(a, Input) else a
    bm = b.materialize() if isinstance(b, Input) else b
    atol = prod_atol(am, bm) if am.ndim == 2 and bm.ndim == 2 and am.shape[1] == bm.shape[0] else None
    g.case("segmented_mm", [a, b, segs], mx.segmented_mm, atol=atol, why=WHY if atol else None)


SA, SB = s((3, 8), 30), s((8, 4), 31)
seg(SA, SB, mx.array([[0, 3], [3, 8]]))
seg(SA, SB, mx.array([[0, 8], [2, 2], [5, 1], [1, 7]], mx.int64))
seg(SA, SB, mx.array([[[0, 4], [4, 8]], [[0, 2], [6, 8]]], mx.uint8))
seg(Input(s((8, 3), 32), {"kind": "transpose"}), Input(s((4, 8), 33), {"kind": "transpose"}), mx.array([[1, 5]]))
# (MLX 0.32.4's float16 segmented_mm on the CPU returns rows in the wrong order, so half
# precision is checked in Rust against float32.)
seg(s((3, 8), 36, mx.int32), SB, mx.array([[0, 4]]))
seg(s((2, 3, 8), 37), SB, mx.array([[0, 4]]))
seg(SA, SB, mx.array([0, 4, 8]))
seg(SA, SB, mx.array([[0.0, 4.0]]))
seg(SA, s((5, 4), 38), mx.array([[0, 4]]))
seg(SA, SB, mx.zeros((0, 2), mx.int32))


def bmm(a, b, bs=64, mo=None, ml=None, mr=None):
    ins = [a, b] + [m for m in (mo, ml, mr) if m is not None]
    kwargs = {"block_size": bs, "out": mo is not None, "lhs": ml is not None, "rhs": mr is not None}

    def f(*xs):
        xs = list(xs)
        x, y = xs.pop(0), xs.pop(0)
        o = xs.pop(0) if mo is not None else None
        l = xs.pop(0) if ml is not None else None
        r = xs.pop(0) if mr is not None else None
        return mx.block_masked_mm(x, y, bs, o, l, r)
    am = a if a.ndim > 1 else a[None]
    bm_ = b if b.ndim > 1 else b[:, None]
    atol = prod_atol(am.reshape(-1, am.shape[-1]), bm_.reshape(-1, bm_.shape[-2], bm_.shape[-1]).max(0)) if am.shape[-1] == bm_.shape[-2] else None
    g.case("block_masked_mm", ins, f, kwargs=kwargs, atol=atol, why=WHY if atol else None)


BA, BB = s((70, 100), 40), s((100, 40), 41)
rng = np.random.default_rng(0)
bm_out = mx.array(rng.integers(0, 2, (2, 1)).astype(bool))
bm_lhs = mx.array(rng.integers(0, 2, (2, 2)).astype(bool))
bm_rhs = mx.array(rng.integers(0, 2, (2, 1)).astype(bool))
bmm(BA, BB, 64, bm_out)
bmm(BA, BB, 64, None, bm_lhs, bm_rhs)
bmm(BA, BB, 64, bm_out, bm_lhs, bm_rhs)
bmm(BA, BB, 64, None, bm_lhs, None)
bmm(BA, BB, 32, mx.array(rng.integers(0, 2, (3, 2)).astype(bool)))
bmm(BA, BB, 32, None, mx.array(rng.standard_normal((3, 4)).astype(np.float32)),
    mx.array(rng.standard_normal((4, 2)).astype(np.float32)))
bmm(BA, BB, 64, mx.array(rng.standard_normal((2, 1)).astype(np.float32)))
bmm(BA, BB, 64, None, bm_lhs, mx.array([[0.5], [2.0]]))
bmm(s((2, 70, 100), 42), BB, 64, mx.array(rng.integers(0, 2, (2, 2, 1)).astype(bool)))
bmm(s((100,), 43), BB, 64, mx.array([[True]]), mx.array([True, False]), None)
bmm(BA, BB)
bmm(BA, BB, 16, bm_out)
bmm(BA, s((99, 40), 44), 64, bm_out)
bmm(s((70, 100), 45, mx.int32), BB, 64, bm_out)
bmm(BA, BB, 64, mx.ones((3, 3), mx.bool_))


# fast.gated_delta_update: GQA heads, vector gamma, initial state, mask, half precision.
def gdu(B, T, Hk, Hv, Dk, Dv, seed, dtype=mx.float32, gvec=False, state=False, mask=False):
    rng = np.random.default_rng(seed)
    r = lambda *sh: mx.array(rng.standard_normal(sh).astype(np.float32) * 0.5).astype(dtype)
    u = lambda *sh: mx.array(rng.uniform(0.5, 1.0, sh).astype(np.float32)).astype(dtype)
    ins = [r(B, T, Hk, Dk), r(B, T, Hk, Dk), r(B, T, Hv, Dv), u(B, T, Hv, Dk) if gvec else u(B, T, Hv),
           u(B, T, Hv)]
    if state:
        ins.append(r(B, Hv, Dv, Dk))
    if mask:
        ins.append(mx.array(rng.integers(0, 2, (B, T)).astype(bool)))

    def f(*xs):
        xs = list(xs)
        s0 = xs[5] if state else None
        m = xs[-1] if mask else None
        return mx.fast.gated_delta_update(*xs[:5], initial_state=s0, mask=m)
    tol = {mx.float32: 2e-5, mx.float16: 2e-2, mx.bfloat16: 1e-1}[dtype]
    g.case("gated_delta_update", ins, f, kwargs={"state": state, "mask": mask}, rtol=tol, atol=tol,
           why="a sequential float scan; half precision inputs round differently")


gdu(1, 3, 1, 1, 4, 3, 1)
gdu(2, 5, 2, 4, 3, 2, 2)
gdu(2, 6, 1, 3, 8, 4, 3, gvec=True)
gdu(1, 4, 2, 2, 4, 4, 4, state=True)
gdu(2, 5, 1, 2, 4, 3, 5, mask=True, state=True)
gdu(1, 4, 1, 2, 4, 3, 6, dtype=mx.float16)
gdu(1, 4, 1, 1, 4, 3, 7, dtype=mx.bfloat16)
g.save()
