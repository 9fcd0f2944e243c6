"""Goldens of mlx.core.fast: rms_norm, layer_norm, rope, scaled_dot_product_attention.

On the CPU, MLX 0.32.4 evaluates these through its plain-ops fallbacks, which round half
precision intermediates (the normalized x before the weight, rope's cos and sin and each
product, attention's scaled q and scores) to the input dtype; rmlx's fused kernels compute
in float32 and round once. Tolerances therefore allow a few units in the last place of half
precision. For float64, MLX's norms and rope compute in float32, so float64 cases are held
to float32 accuracy.

Case encoding: inputs are the arrays in order; kwargs say which optional arrays are present
("weight", "bias", "freqs", "offset_array", "mask_array", "sinks") and hold the scalars.
"""
import mlx.core as mx
import numpy as np
from golden import Goldens, Input, sample

g = Goldens("fast")
F = mx.fast
FLOATS = [mx.float32, mx.float16, mx.bfloat16, mx.float64]
f32, f16, bf16, f64 = mx.float32, mx.float16, mx.bfloat16, mx.float64

# (rtol, atol) per dtype, by the magnitude of the values each op produces.
NORM_TOL = {f32: (1e-5, 1e-5), f16: (4e-3, 2e-2), bf16: (3e-2, 1.5e-1), f64: (1e-5, 1e-5)}
ROPE_TOL = {f32: (1e-5, 1e-5), f16: (4e-3, 2e-2), bf16: (3e-2, 1.5e-1), f64: (1e-5, 1e-5)}
# MLX's float64 softmax exponentiates with float32 accuracy.
SDPA_TOL = {f32: (1e-5, 1e-5), f16: (1e-2, 1e-2), bf16: (5e-2, 6e-2), f64: (1e-6, 1e-7)}
WHY = "MLX's CPU fallback rounds intermediates to the dtype; rmlx's fused kernel rounds once"


def out_dtype(xs):
    return mx.result_type(*[(x.base if isinstance(x, Input) else x) for x in xs])


def tol(table, xs):
    d = out_dtype(xs)
    return table.get(d, (None, None))


# ---------------------------------------------------------------------------------------
# rms_norm / layer_norm


def rms(x, w=None, eps=1e-5, name=None):
    ins = [x] + ([w] if w is not None else [])
    rt, at = tol(NORM_TOL, ins)
    g.case("rms_norm", ins,
           lambda x, *w: F.rms_norm(x, w[0] if w else None, eps),
           kwargs={"eps": eps, "weight": w is not None}, name=name, rtol=rt, atol=at, why=WHY)


def ln(x, w=None, b=None, eps=1e-5, name=None):
    ins = [x] + [p for p in (w, b) if p is not None]
    rt, at = tol(NORM_TOL, [x] + ([w] if w is not None else []) + ([b] if (w is not None and b is not None) else []))

    def fn(x, *rest):
        rest = list(rest)
        ww = rest.pop(0) if w is not None else None
        bb = rest.pop(0) if b is not None else None
        return F.layer_norm(x, ww, bb, eps)

    g.case("layer_norm", ins, fn, kwargs={"eps": eps, "weight": w is not None, "bias": b is not None},
           name=name, rtol=rt, atol=at, why=WHY)


for d in FLOATS:
    x = sample((2, 3, 8), d, seed=1)
    w = sample((8,), d, seed=2)
    b = sample((8,), d, seed=3)
    rms(x)
    rms(x, w)
    ln(x)
    ln(x, w)
    ln(x, None, b)
    ln(x, w, b)
    # a row length that is not a multiple of the kernel's lanes, and a long one
    x2 = sample((3, 37), d, seed=4)
    rms(x2, sample((37,), d, seed=5), eps=1e-3)
    ln(x2, sample((37,), d, seed=5), sample((37,), d, seed=6), eps=1e-3)
    # non-contiguous inputs
    rms(Input(sample((8, 3, 2), d, seed=7), {"kind": "transpose"}), Input(sample((16,), d, seed=8), {"kind": "step", "axis": 0}))
    ln(Input(sample((4, 16), d, seed=9), {"kind": "step", "axis": 1}), Input(sample((8,), d, seed=10), {"kind": "reverse", "axis": 0}),
       Input(sample((1,), d, seed=11), {"kind": "broadcast", "shape": [8]}))

x = sample((16, 300), f32, seed=12)
rms(x, sample((300,), f32, seed=13))
ln(x, sample((300,), f32, seed=13), sample((300,), f32, seed=14))
# A large mean: the variance must not cancel. MLX's float32 result is off by 4.5e-4 from the
# exact value here (rmlx's by 1.5e-5), hence the tolerance.
xl = sample((2, 64), f32, seed=15, low=1000, high=1001)
g.case("layer_norm", [xl], lambda x: F.layer_norm(x, None, None, 1e-5),
       kwargs={"eps": 1e-5, "weight": False, "bias": False}, rtol=0.0, atol=1e-3,
       why="MLX's float32 mean of values near 1000 is off by about 1e-4 (checked in float64)")
# mixed dtypes promote; integer weights promote to the input's float type
rms(sample((2, 8), f16, seed=16), sample((8,), f32, seed=17))
rms(sample((2, 8), f32, seed=16), sample((8,), f16, seed=17))
rms(sample((2, 8), f16, seed=16), sample((8,), mx.int32, seed=17))
ln(sample((2, 8), f16, seed=16), sample((8,), f16, seed=17), sample((8,), f64, seed=18))
ln(sample((2, 8), f16, seed=16), None, sample((8,), f64, seed=18))  # no weight: x's dtype
ln(sample((2, 8), f32, seed=16), sample((8,), mx.bool_, seed=18))
# 1-D input, a single element per row, empty arrays
rms(sample((5,), f32, seed=19))
ln(sample((5,), f32, seed=19))
ln(sample((3, 1), f32, seed=20))
rms(mx.zeros((0, 4)))
rms(mx.zeros((3, 0)))
ln(mx.zeros((0, 4)), mx.ones((4,)), mx.zeros((4,)))
ln(mx.zeros((3, 0)))
# errors
rms(mx.array(1.0))
ln(mx.array(1.0))
rms(mx.zeros((2, 4), mx.int32))
ln(mx.zeros((2, 4), mx.bool_))
rms(mx.zeros((2, 4)), mx.ones((1, 4)))
rms(mx.zeros((2, 4)), mx.ones((3,)))
ln(mx.zeros((2, 4)), mx.ones((1, 4)))
ln(mx.zeros((2, 4)), None, mx.ones((1, 4)))
ln(mx.zeros((2, 4)), None, mx.ones((5,)))
ln(mx.zeros((2, 4)), mx.ones((4,), mx.complex64))
rms(mx.zeros((2, 4), mx.int32), mx.ones((4,), mx.int32))

# ---------------------------------------------------------------------------------------
# rope


def rope(x, dims, traditional=False, base=10000.0, scale=1.0, offset=0, freqs=None, name=None):
    ins = [x]
    kw = {"dims": dims, "traditional": traditional, "base": base, "scale": scale,
          "offset_array": isinstance(offset, (mx.array, Input)), "freqs": freqs is not None}
    if kw["offset_array"]:
        ins.append(offset)
    else:
        kw["offset"] = offset
    if freqs is not None:
        ins.append(freqs)
    rt, at = tol(ROPE_TOL, [x])

    def fn(x, *rest):
        rest = list(rest)
        off = rest.pop(0) if kw["offset_array"] else offset
        fr = rest.pop(0) if freqs is not None else None
        return F.rope(x, dims, traditional=traditional, base=base, scale=scale, offset=off, freqs=fr)

    g.case("rope", ins, fn, kwargs=kw, name=name, rtol=rt, atol=at, why=WHY)


for d in FLOATS:
    x = sample((2, 3, 8), d, seed=30, low=-2, high=2)
    for trad in (False, True):
        rope(x, 8, trad)
        rope(x, 4, trad, offset=5)                      # dims < last dim
        rope(x, 6, trad, scale=0.5, offset=-3)
        rope(x, 8, trad, base=None, freqs=mx.array([1.0, 3.0, 10.0, 50.0]))
        rope(sample((2, 2, 5, 6), d, seed=31, low=-2, high=2), 6, trad, base=500.0, offset=mx.array([2, 7]))
    rope(Input(sample((8, 3, 2), d, seed=32, low=-2, high=2), {"kind": "transpose"}), 8, False, offset=1)
    rope(Input(sample((2, 3, 16), d, seed=33, low=-2, high=2), {"kind": "step", "axis": 2}), 8, True, offset=1)

x = sample((2, 2, 4, 16), f32, seed=34, low=-2, high=2)
rope(x, 16, False, offset=mx.array(11))                 # 0-D array offset
rope(x, 16, False, offset=mx.array([11]))               # (1,) offset
rope(x, 16, True, offset=mx.array([1, 40], mx.int64))   # cast to int32
rope(x, 16, False, offset=mx.array([1, 40], mx.uint32))
rope(x, 16, False, offset=mx.array([3, 9], mx.uint8))
rope(x, 12, False, offset=1000)
rope(x, 8, True, base=None, scale=2.0, freqs=Input(sample((8,), f32, seed=35, low=1, high=20), {"kind": "step", "axis": 0}))
rope(x, 8, False, base=None, freqs=mx.array([1, 2, 4, 8], mx.int32))
rope(sample((2, 2, 2, 3, 8), f32, seed=36, low=-2, high=2), 8, False, offset=mx.array([4, 1]))
rope(sample((2, 3, 8), f32, seed=37, low=-2, high=2), 8, True, offset=mx.array([4, 1]))
rope(sample((4, 8, 32), f32, seed=38, low=-2, high=2), 32, False, offset=3)
rope(mx.zeros((0, 3, 4)), 4)
rope(mx.zeros((0, 3, 4)), 4, offset=mx.array([1]))
rope(mx.zeros((2, 0, 4)), 4)
# errors
rope(mx.zeros((3, 4)), 4)
rope(mx.zeros((2, 3, 4), mx.int32), 4)
rope(mx.zeros((2, 3, 4)), 3)
rope(mx.zeros((2, 3, 4)), 0)
rope(mx.zeros((2, 3, 4)), -2)
rope(mx.zeros((2, 3, 4)), 6)
rope(mx.zeros((2, 3, 4)), 4, base=10000.0, freqs=mx.ones(2), name="rope_base_and_freqs")
rope(mx.zeros((2, 3, 4)), 4, base=None, name="rope_neither")
rope(mx.zeros((2, 3, 4)), 4, base=None, freqs=mx.ones(3))
rope(mx.zeros((2, 3, 4)), 4, base=None, freqs=mx.ones((1, 2)))
rope(mx.zeros((2, 3, 4)), 4, offset=mx.zeros((1, 2), mx.int32))
rope(mx.zeros((2, 3, 4)), 4, offset=mx.zeros((3,), mx.int32))
rope(mx.zeros((2, 3, 4)), 4, offset=mx.zeros((2,), mx.float32))
rope(mx.zeros((2, 3, 4)), 4, offset=mx.array([True, False]))

# ---------------------------------------------------------------------------------------
# scaled_dot_product_attention


def sdpa(q, k, v, scale=None, mask=None, sinks=None, name=None):
    qq = q.base if isinstance(q, Input) else q
    if scale is None:
        scale = float(qq.shape[-1] if qq.ndim else 1) ** -0.5
    ins = [q, k, v]
    kw = {"scale": scale, "mask": None, "sinks": sinks is not None}
    if isinstance(mask, str):
        kw["mask"] = mask
    elif mask is not None:
        kw["mask"] = "array"
        ins.append(mask)
    if sinks is not None:
        ins.append(sinks)
    rt, at = tol(SDPA_TOL, [q, k, v])

    def fn(q, k, v, *rest):
        rest = list(rest)
        m = mask if isinstance(mask, str) else (rest.pop(0) if mask is not None else None)
        s = rest.pop(0) if sinks is not None else None
        return F.scaled_dot_product_attention(q, k, v, scale=scale, mask=m, sinks=s)

    g.case("sdpa", ins, fn, kwargs=kw, name=name, rtol=rt, atol=at, why=WHY)


def qkv(b, nq, nkv, lq, lkv, d, dv=None, dtype=f32, seed=0):
    dv = d if dv is None else dv
    return (sample((b, nq, lq, d), dtype, seed=seed, low=-1, high=1),
            sample((b, nkv, lkv, d), dtype, seed=seed + 1, low=-1, high=1),
            sample((b, nkv, lkv, dv), dtype, seed=seed + 2, low=-1, high=1))


for d in FLOATS:
    q, k, v = qkv(2, 2, 2, 5, 7, 8, dtype=d, seed=40)
    sdpa(q, k, v)
    sdpa(q, k, v, mask="causal")
    sdpa(q, k, v, mask=sample((5, 7), mx.bool_, seed=41))
    sdpa(q, k, v, mask=sample((5, 7), d, seed=42, low=-2, high=2))
    sdpa(q, k, v, sinks=sample((2,), d, seed=43, low=-1, high=1))
    q, k, v = qkv(1, 4, 2, 6, 6, 16, 12, dtype=d, seed=44)      # GQA, D_v != D
    sdpa(q, k, v, mask="causal", sinks=sample((4,), d, seed=45))

q, k, v = qkv(2, 4, 2, 5, 7, 8, seed=50)
sdpa(q, k, v, mask=sample((2, 1, 5, 7), mx.bool_, seed=51))        # 4-D broadcast bool
sdpa(q, k, v, mask=sample((2, 4, 5, 7), mx.bool_, seed=52))        # per head, GQA
sdpa(q, k, v, mask=sample((4, 1, 7), f32, seed=53))                # 3-D additive, per head
sdpa(q, k, v, mask=sample((7,), f32, seed=54))                     # 1-D
sdpa(q, k, v, mask=mx.array(0.5))                                  # 0-D
sdpa(q, k, v, mask=sample((5, 7), mx.int32, seed=55))              # integer additive
sdpa(q, k, v, mask=Input(sample((7, 5), f32, seed=56), {"kind": "transpose"}))
sdpa(q, k, v, mask=sample((5, 7), mx.bool_, seed=57), sinks=sample((4,), f32, seed=58))
q1, k1, v1 = qkv(1, 3, 1, 4, 9, 8, seed=59)                            # MQA
sdpa(q1, k1, v1, mask="causal")
# causal with L_q > L_kv: the first rows see nothing (MLX averages v; with sinks, zeros)
q2, k2, v2 = qkv(1, 2, 2, 7, 3, 8, seed=60)
sdpa(q2, k2, v2, mask="causal")
sdpa(q2, k2, v2, mask="causal", sinks=mx.array([0.5, -1.0]))
# rows fully masked: bool (average of v) and additive -inf (NaN)
sdpa(q2, k2, v2, mask=mx.array([[False] * 3, [True, False, False]] + [[True] * 3] * 5))
inf = float("inf")
sdpa(q2, k2, v2, mask=mx.array([[-inf] * 3, [0.0, -inf, -inf], [-inf, -inf, 1.0]] + [[0.0] * 3] * 4))
# head dims 64, 128 and an odd one; lengths past the kernel's blocks (128)
sdpa(*qkv(1, 2, 1, 10, 12, 64, seed=61), mask="causal")
sdpa(*qkv(1, 1, 1, 6, 5, 128, seed=62))
sdpa(*qkv(1, 2, 2, 4, 9, 5, 3, seed=63), mask="causal")
sdpa(*qkv(1, 2, 1, 150, 150, 4, seed=64), mask="causal")
sdpa(*qkv(1, 1, 1, 130, 200, 4, seed=65), mask="causal", sinks=mx.array([0.3]))
sdpa(*qkv(1, 1, 1, 200, 130, 4, seed=66), mask="causal")
qb, kb, vb = qkv(1, 1, 1, 130, 135, 4, seed=67)
sdpa(qb, kb, vb, mask=sample((130, 135), mx.bool_, seed=68))
# non-contiguous q, k, v: (B, L, H, D) storage read as (B, H, L, D)
sdpa(Input(sample((8, 5, 2, 2), f32, seed=69, low=-1, high=1), {"kind": "transpose"}),
     Input(sample((8, 6, 2, 2), f32, seed=70, low=-1, high=1), {"kind": "transpose"}),
     Input(sample((8, 6, 2, 2), f32, seed=71, low=-1, high=1), {"kind": "transpose"}), mask="causal")
sdpa(Input(sample((2, 2, 5, 16), f32, seed=72, low=-1, high=1), {"kind": "step", "axis": 3}), k, v, scale=1.0)
# mixed dtypes promote
sdpa(q.astype(f16), k, v)
sdpa(q, k, v, mask=sample((5, 7), f16, seed=73), scale=0.7)
sdpa(q, k, v, sinks=mx.array([1, 0, -1, 2]))
# empty sizes
sdpa(*qkv(1, 1, 1, 0, 3, 4, seed=74))
sdpa(*qkv(1, 1, 1, 2, 0, 4, seed=75))
sdpa(*qkv(1, 1, 1, 2, 0, 4, seed=75), mask="causal")
sdpa(*qkv(1, 1, 1, 2, 0, 4, seed=75), sinks=mx.array([1.0]))
sdpa(*qkv(0, 1, 1, 2, 3, 4, seed=76))
sdpa(*qkv(1, 1, 1, 2, 3, 4, 0, seed=77))
# errors
sdpa(q[0], k, v)
sdpa(q, k[None], v)
sdpa(q, k[:1], v)
sdpa(q, k[..., :4], v)
sdpa(q, k, v[:, :1])
sdpa(q[:, :3], k, v)
sdpa(q.astype(mx.int32), k.astype(mx.int32), v.astype(mx.int32))
sdpa(q, k, v, mask=mx.zeros((1, 1, 1, 1, 1)))
sdpa(q, k, v, mask=mx.zeros((4, 7)))
sdpa(q, k, v, mask=mx.zeros((5, 7), f64))
sdpa(q.astype(f16), k.astype(f16), v.astype(f16), mask=mx.zeros((5, 7)))
sdpa(q, k, v, mask=mx.zeros((5, 7), mx.complex64))
sdpa(q, k, v, sinks=mx.zeros((2,)))
sdpa(q, k, v, sinks=mx.zeros((1, 4)))
sdpa(q, k, v, sinks=mx.zeros((4,), f64))
sdpa(q.astype(f16), k.astype(f16), v.astype(f16), sinks=mx.zeros((4,)))

g.save()
