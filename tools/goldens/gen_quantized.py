"""Goldens of the quantization family: quantize, dequantize, quantized_matmul, gather_qmm,
to_fp8, from_fp8.

Quantize and dequantize are deterministic on MLX's CPU, so their cases are exact (rtol = atol
= 0): packed words, scales, biases and dequantized values bit for bit. Products add in a
different order (rmlx accumulates in f32), so they get an `atol` proportional to
`|x| @ |W|` (the magnitude of the sums) times the output dtype's epsilon.
"""
import mlx.core as mx
import numpy as np
from golden import Goldens, Input

g = Goldens("quantized")
EXACT = dict(rtol=0.0, atol=0.0, why="quantization is deterministic: bit-exact")
FLOATS = [mx.float32, mx.float16, mx.bfloat16]
EPS = {mx.float32: 2.0**-23, mx.float16: 2.0**-10, mx.bfloat16: 2.0**-7}
MODES = {"affine": None, "mxfp4": (32, 4), "mxfp8": (32, 8), "nvfp4": (16, 4)}


def randn(shape, dtype=mx.float32, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return mx.array((rng.standard_normal(shape) * scale).astype(np.float32)).astype(dtype)


def kw(gs, bits, mode, **extra):
    d = {"group_size": gs, "bits": bits, "mode": mode}
    d.update(extra)
    return d


def quant(w, gs=None, bits=None, mode="affine", name=None, exact=True):
    extra = EXACT if exact else {}
    g.case("quantize", [w], lambda a: mx.quantize(a, gs, bits, mode), kw(gs, bits, mode),
           name=name, **extra)


# --- quantize: every affine group size and bit width, float32 ---
for bits in [1, 2, 3, 4, 5, 6, 8]:
    for gs in [32, 64, 128]:
        quant(randn((2, 128), seed=bits * 10 + gs), gs, bits, name=f"quantize_affine_b{bits}_g{gs}")
# half precision inputs, leading dims, defaults
for d in [mx.float16, mx.bfloat16]:
    for bits in [2, 3, 4, 5, 6, 8]:
        quant(randn((2, 128), d, seed=100 + bits), 64, bits)
quant(randn((2, 3, 64), seed=7), name="quantize_defaults_3d")
quant(randn((2, 64), seed=8, scale=100.0), 32, 4)
quant(randn((2, 64), seed=9, scale=1e-3), 32, 8)
# constant rows, zero rows, positive-only and negative-only groups
quant(mx.concatenate([mx.zeros((1, 64)), mx.full((1, 64), 3.0), mx.full((1, 64), -2.5),
                      mx.abs(randn((1, 64), seed=10)), -mx.abs(randn((1, 64), seed=11))]), 32, 4)
quant(mx.zeros((0, 64)), 64, 4, name="quantize_empty_rows")
quant(Input(randn((128, 4), seed=12), {"kind": "transpose"}), 64, 4, name="quantize_transposed_view")
quant(Input(randn((4, 128), seed=13), {"kind": "step", "axis": 0}), 32, 3, name="quantize_step_view")

# --- quantize: the float formats ---
for mode, (gs, bits) in [(m, p) for m, p in MODES.items() if p]:
    for d in FLOATS:
        quant(randn((2, 128), d, seed=20), gs, bits, mode, name=f"quantize_{mode}_{d}")
        quant(randn((2, 64), d, seed=21, scale=300.0), None, None, mode)
        quant(randn((2, 64), d, seed=22, scale=1e-3), None, None, mode)
    quant(mx.concatenate([mx.zeros((1, 64)), mx.full((1, 64), 3.0), randn((1, 64), seed=23)]),
          gs, bits, mode, name=f"quantize_{mode}_special_rows")
    # values on the e2m1 / e4m3 rounding boundaries
    ramp = mx.reshape(mx.linspace(-6.0, 6.0, 4 * 64), (4, 64))
    quant(ramp, gs, bits, mode, name=f"quantize_{mode}_ramp")

# --- quantize errors ---
w64 = randn((4, 64), seed=30)
for name, gs, bits, mode in [
    ("err_group_16", 16, 4, "affine"),
    ("err_bits_7", 64, 7, "affine"),
    ("err_bits_9", 64, 9, "affine"),
    ("err_not_divisible", 128, 4, "affine"),
    ("err_mxfp4_group", 64, 4, "mxfp4"),
    ("err_mxfp8_bits", 32, 4, "mxfp8"),
    ("err_nvfp4_group", 32, 4, "nvfp4"),
]:
    g.case("quantize", [w64], lambda a: mx.quantize(a, gs, bits, mode), kw(gs, bits, mode), name=name)
g.case("quantize", [mx.zeros((4, 64), mx.int32)], lambda a: mx.quantize(a), kw(None, None, "affine"),
       name="err_int_input")
g.case("quantize", [mx.zeros((64,))], lambda a: mx.quantize(a), kw(None, None, "affine"),
       name="err_1d")
g.case("quantize", [mx.zeros((4, 64), mx.float64)], lambda a: mx.quantize(a),
       kw(None, None, "affine"), name="err_float64_affine")

# --- dequantize: of MLX's own quantization, exact ---
def deq(w, gs=None, bits=None, mode="affine", dtype=None, name=None, sdtype=None, bdtype=None):
    wq, *sb = mx.quantize(w, gs, bits, mode)
    s = sb[0] if sdtype is None else sb[0].astype(sdtype)
    ins = [wq, s]
    if mode == "affine":
        ins.append(sb[1] if bdtype is None else sb[1].astype(bdtype))
    extra = {"dtype": str(dtype).split(".")[-1]} if dtype is not None else {}

    def f(*a):
        b = a[2] if mode == "affine" else None
        return mx.dequantize(a[0], a[1], b, gs, bits, mode, dtype=dtype)
    g.case("dequantize", ins, f, kw(gs, bits, mode, **extra), name=name, **EXACT)


for bits in [1, 2, 3, 4, 5, 6, 8]:
    for gs in [32, 64, 128]:
        deq(randn((2, 128), seed=40 + bits + gs), gs, bits, name=f"dequantize_affine_b{bits}_g{gs}")
for d in [mx.float16, mx.bfloat16]:
    for bits in [3, 4, 8]:
        deq(randn((2, 128), d, seed=50 + bits), 64, bits)
deq(randn((2, 64), seed=55), 32, 4, dtype=mx.float16, name="dequantize_affine_to_f16")
deq(randn((2, 64), seed=56), 32, 4, dtype=mx.float64, name="dequantize_affine_to_f64")
deq(randn((2, 64), seed=57), 32, 4, sdtype=mx.float16, name="dequantize_affine_mixed_f16_f32")
deq(randn((2, 64), seed=58), 32, 4, sdtype=mx.bfloat16, bdtype=mx.float16,
    name="dequantize_affine_mixed_bf16_f16")
deq(randn((2, 64), seed=59), 32, 4, sdtype=mx.float64, bdtype=mx.float64,
    name="dequantize_affine_f64_scales")
deq(randn((2, 3, 64), seed=60), name="dequantize_defaults_3d")
for mode, (gs, bits) in [(m, p) for m, p in MODES.items() if p]:
    for d in FLOATS:
        deq(randn((2, 128), d, seed=61), gs, bits, mode, name=f"dequantize_{mode}_{d}_default_dtype")
        deq(randn((2, 128), d, seed=62, scale=50.0), gs, bits, mode, dtype=d)
    # (MLX 0.32.4's CPU fp8 conversions return garbage for float64; rmlx's float64 path is
    # checked in Rust against float32.)
    deq(mx.concatenate([mx.zeros((1, 64)), randn((1, 64), seed=64, scale=1e-4)]), gs, bits, mode,
        dtype=mx.float16, name=f"dequantize_{mode}_tiny_to_f16")
# a non-contiguous packed matrix
wq, s, b = mx.quantize(randn((8, 64), seed=65), 32, 4)
g.case("dequantize", [Input(wq, {"kind": "step", "axis": 0}), Input(s, {"kind": "step", "axis": 0}),
                      Input(b, {"kind": "step", "axis": 0})],
       lambda a, s, b: mx.dequantize(a, s, b, 32, 4), kw(32, 4, "affine"), name="dequantize_step_views",
       **EXACT)

# dequantize errors
g.case("dequantize", [wq, s, b], lambda a, s, b: mx.dequantize(a, s, b, 64, 4), kw(64, 4, "affine"),
       name="dequantize_err_group")
g.case("dequantize", [wq, s], lambda a, s: mx.dequantize(a, s, None, 32, 4), kw(32, 4, "affine"),
       name="dequantize_err_no_biases")
g.case("dequantize", [wq, s, b], lambda a, s, b: mx.dequantize(a, s, b, 32, 4, dtype=mx.int32),
       kw(32, 4, "affine", dtype="int32"), name="dequantize_err_int_dtype")
g.case("dequantize", [wq.astype(mx.float32), s, b], lambda a, s, b: mx.dequantize(a, s, b, 32, 4),
       kw(32, 4, "affine"), name="dequantize_err_float_w")
g.case("dequantize", [wq[0], s[0], b[0]], lambda a, s, b: mx.dequantize(a, s, b, 32, 4),
       kw(32, 4, "affine"), name="dequantize_err_1d")
g.case("dequantize", [wq, s[:4], b[:4]], lambda a, s, b: mx.dequantize(a, s, b, 32, 4),
       kw(32, 4, "affine"), name="dequantize_err_shape")
g.case("dequantize", [wq, s, b], lambda a, s, b: mx.dequantize(a, s, b, 32, 0), kw(32, 0, "affine"),
       name="dequantize_err_bits0")
wq4, s4 = mx.quantize(randn((2, 64), seed=66), mode="mxfp4")
g.case("dequantize", [wq4, s4, b[:2]], lambda a, s, b: mx.dequantize(a, s, b, mode="mxfp4"),
       kw(None, None, "mxfp4"), name="dequantize_err_mx_biases")
g.case("dequantize", [wq4, s4.astype(mx.float32)], lambda a, s: mx.dequantize(a, s, mode="mxfp4"),
       kw(None, None, "mxfp4"), name="dequantize_err_mx_float_scales")
g.case("dequantize", [wq4, s4], lambda a, s: mx.dequantize(a, s, None, 64, 4, "mxfp4"),
       kw(64, 4, "mxfp4"), name="dequantize_err_mx_group")


# --- quantized_matmul ---
def qmm_atol(x, wdeq, transpose, dtype):
    xa = np.abs(np.array(x.astype(mx.float32)).astype(np.float64))
    wa = np.abs(np.array(wdeq.astype(mx.float32)).astype(np.float64))
    m = xa @ (wa.T if transpose else wa)
    return float(8 * EPS[dtype] * max(float(np.max(m, initial=0.0)), 1e-30))


def qmm(x, w_shape, gs=None, bits=None, mode="affine", transpose=True, wdtype=mx.float32, name=None,
        seed=0, view=None, sdtype=None):
    w = randn(w_shape, wdtype, seed=seed + 1)
    wq, *sb = mx.quantize(w, gs, bits, mode)
    if sdtype is not None:
        sb = [a.astype(sdtype) for a in sb]
    wdeq = mx.dequantize(wq, *sb, group_size=gs, bits=bits, mode=mode, dtype=mx.float32) \
        if mode == "affine" else mx.dequantize(wq, sb[0], None, gs, bits, mode, dtype=mx.float32)
    xin = x if view is None else Input(x, view)
    xm = x if view is None else xin.materialize()
    ins = [xin, wq] + sb
    out_dtype = mx.quantized_matmul(xm, wq, *sb, transpose=transpose, group_size=gs, bits=bits,
                                    mode=mode).dtype if mode == "affine" else \
        mx.quantized_matmul(xm, wq, sb[0], None, transpose, gs, bits, mode).dtype
    wd2 = wdeq if wdeq.ndim == 2 else wdeq.reshape(-1, wdeq.shape[-1])
    xm2 = xm.reshape(-1, xm.shape[-1]) if xm.ndim > 1 else xm.reshape(1, -1)
    if wdeq.ndim > 2:
        atol = max(qmm_atol(xm2, wdeq[i], transpose, out_dtype) for i in range(wdeq.shape[0]))
    else:
        atol = qmm_atol(xm2, wd2, transpose, out_dtype)

    def f(*a):
        b = a[3] if mode == "affine" else None
        return mx.quantized_matmul(a[0], a[1], a[2], b, transpose, gs, bits, mode)
    g.case("quantized_matmul", ins, f, kw(gs, bits, mode, transpose=transpose), name=name,
           atol=atol, rtol=0.0, why="sums in a different order (f32 accumulation)")


for bits in [1, 2, 3, 4, 5, 6, 8]:
    for gs in [32, 64, 128]:
        qmm(randn((2, 128), seed=70), (8, 128), gs, bits, name=f"qmm_affine_b{bits}_g{gs}", seed=bits)
        qmm(randn((2, 8), seed=71), (8, 128), gs, bits, transpose=False,
            name=f"qmm_affine_b{bits}_g{gs}_notrans", seed=bits)
for mode, (gs, bits) in [(m, p) for m, p in MODES.items() if p]:
    qmm(randn((3, 64), seed=72), (16, 64), gs, bits, mode, name=f"qmm_{mode}")
    qmm(randn((3, 16), seed=73), (16, 64), gs, bits, mode, transpose=False, name=f"qmm_{mode}_notrans")
    for d in [mx.float16, mx.bfloat16]:
        qmm(randn((2, 64), d, seed=74), (8, 64), gs, bits, mode, wdtype=d, name=f"qmm_{mode}_{d}")
# dtypes: half precision x and scales, promotion, integer x
for d in [mx.float16, mx.bfloat16]:
    qmm(randn((2, 128), d, seed=75), (16, 128), 64, 4, wdtype=d, name=f"qmm_affine_{d}")
    qmm(randn((2, 16), d, seed=75), (16, 128), 64, 4, wdtype=d, transpose=False)
qmm(randn((2, 128), mx.float16, seed=76), (16, 128), 64, 4, name="qmm_f16_x_f32_scales")
qmm(randn((2, 128), seed=76), (16, 128), 64, 4, sdtype=mx.bfloat16, name="qmm_f32_x_bf16_scales")
qmm(mx.array(np.arange(-128, 128).reshape(2, 128) % 7, mx.int32), (16, 128), 64, 4, name="qmm_int_x")
# shapes: 1-D x, leading dims, batched w (broadcast), empty x, larger rows (tiled path)
qmm(randn((128,), seed=77), (16, 128), 64, 4, name="qmm_1d_x")
qmm(randn((2, 3, 128), seed=78), (16, 128), 64, 4, name="qmm_batched_x")
qmm(randn((2, 3, 128), seed=79), (2, 16, 128), 64, 4, name="qmm_batched_w")
qmm(randn((3, 1, 2, 64), seed=80), (2, 8, 64), 32, 4, name="qmm_broadcast_batch")
qmm(randn((2, 2, 8), seed=80), (2, 8, 64), 32, 4, transpose=False, name="qmm_batched_w_notrans")
qmm(randn((3, 64), seed=81), (2, 8, 64), 32, 4, name="qmm_2d_x_batched_w")
qmm(randn((16, 128), seed=82), (24, 128), 64, 4, name="qmm_tiled_rows")
qmm(randn((16, 24), seed=83), (24, 128), 64, 4, transpose=False, name="qmm_tiled_rows_notrans")
qmm(randn((13, 64), seed=84), (16, 64), 32, 3, name="qmm_tiled_3bit")
qmm(randn((13, 64), seed=85), (16, 64), 32, 4, "mxfp4", name="qmm_tiled_mxfp4")
# non-contiguous x
qmm(randn((128, 3), seed=86), (16, 128), 64, 4, view={"kind": "transpose"}, name="qmm_x_transposed")
qmm(randn((6, 128), seed=87), (16, 128), 64, 4, view={"kind": "step", "axis": 0}, name="qmm_x_step")
qmm(randn((3, 128), seed=88), (16, 128), 64, 4, view={"kind": "reverse", "axis": 1},
    name="qmm_x_reversed")

# quantized_matmul errors
wq, s, b = mx.quantize(randn((8, 64), seed=90))
x = randn((3, 64), seed=91)
for name, ins, f, kws in [
    ("qmm_err_bad_k", [randn((3, 32)), wq, s, b], lambda x, w, s, b: mx.quantized_matmul(x, w, s, b),
     kw(None, None, "affine")),
    ("qmm_err_no_biases", [x, wq, s], lambda x, w, s: mx.quantized_matmul(x, w, s),
     kw(None, None, "affine")),
    ("qmm_err_float_w", [x, wq.astype(mx.float32), s, b],
     lambda x, w, s, b: mx.quantized_matmul(x, w, s, b), kw(None, None, "affine")),
    ("qmm_err_bias_shape", [x, wq, s, b[:4]], lambda x, w, s, b: mx.quantized_matmul(x, w, s, b),
     kw(None, None, "affine")),
    ("qmm_err_bits_mismatch", [x, wq, s, b], lambda x, w, s, b: mx.quantized_matmul(x, w, s, b, bits=8),
     kw(None, 8, "affine")),
    ("qmm_err_int_scales", [x, wq, s.astype(mx.int32), b.astype(mx.int32)],
     lambda x, w, s, b: mx.quantized_matmul(x, w, s, b), kw(None, None, "affine")),
    ("qmm_err_float64_x", [x.astype(mx.float64), wq, s, b],
     lambda x, w, s, b: mx.quantized_matmul(x, w, s, b), kw(None, None, "affine")),
    ("qmm_err_batch_broadcast", [randn((4, 3, 64)), mx.stack([wq, wq]), mx.stack([s, s]),
                                 mx.stack([b, b])],
     lambda x, w, s, b: mx.quantized_matmul(x, w, s, b), kw(None, None, "affine")),
]:
    g.case("quantized_matmul", ins, f, kws, name=name)
wq4, s4 = mx.quantize(randn((8, 64), seed=92), mode="mxfp4")
g.case("quantized_matmul", [x, wq4, s4, b], lambda x, w, s, b: mx.quantized_matmul(x, w, s, b, mode="mxfp4"),
       kw(None, None, "mxfp4"), name="qmm_err_mx_biases")
g.case("quantized_matmul", [x.astype(mx.int32), wq4, s4],
       lambda x, w, s: mx.quantized_matmul(x, w, s, mode="mxfp4"), kw(None, None, "mxfp4"),
       name="qmm_err_mx_int_x")
g.case("quantized_matmul", [x, wq4, s], lambda x, w, s: mx.quantized_matmul(x, w, s, mode="mxfp4"),
       kw(None, None, "mxfp4"), name="qmm_err_mx_float_scales")


# --- gather_qmm ---
def gqmm(x, w_shape, lhs, rhs, gs=None, bits=None, mode="affine", transpose=True, name=None, seed=0,
         sorted_indices=False):
    w = randn(w_shape, seed=seed + 1)
    wq, *sb = mx.quantize(w, gs, bits, mode)
    ins = [x, wq] + sb
    if lhs is not None:
        ins.append(lhs)
    if rhs is not None:
        ins.append(rhs)
    wdeq = mx.dequantize(wq, *sb, group_size=gs, bits=bits, mode=mode, dtype=mx.float32) \
        if mode == "affine" else mx.dequantize(wq, sb[0], None, gs, bits, mode, dtype=mx.float32)
    xm2 = x.reshape(-1, x.shape[-1])
    atol = max(qmm_atol(xm2, wdeq[i], transpose, mx.float32) for i in range(wdeq.shape[0]))
    nb = len(sb)

    def f(*a):
        b = a[3] if mode == "affine" else None
        rest = list(a[2 + nb:])
        li = rest.pop(0) if lhs is not None else None
        ri = rest.pop(0) if rhs is not None else None
        return mx.gather_qmm(a[0], a[1], a[2], b, li, ri, transpose, gs, bits, mode,
                             sorted_indices=sorted_indices)
    g.case("gather_qmm", ins, f,
           kw(gs, bits, mode, transpose=transpose, has_lhs=lhs is not None, has_rhs=rhs is not None,
              sorted_indices=sorted_indices),
           name=name, atol=atol, rtol=0.0, why="sums in a different order (f32 accumulation)")


u32 = lambda v: mx.array(v, mx.uint32)  # noqa: E731
gqmm(randn((2, 3, 64), seed=100), (3, 8, 64), u32([1, 0]), u32([2, 2]), name="gqmm_both")
gqmm(randn((2, 3, 64), seed=101), (3, 8, 64), None, u32([[2], [1]]), name="gqmm_rhs_only")
gqmm(randn((2, 3, 64), seed=102), (3, 8, 64), u32([1, 1, 0]), None, name="gqmm_lhs_only")
gqmm(randn((2, 3, 64), seed=103), (3, 8, 64), None, mx.array([1, 0, 2, 2], mx.int64),
     name="gqmm_int64_indices_broadcast_x")
gqmm(randn((1, 2, 8), seed=104), (3, 8, 64), None, u32([0, 2, 1]), transpose=False, name="gqmm_notrans")
gqmm(randn((4, 1, 64), seed=105), (3, 8, 64), None, u32([0, 0, 1, 2]), mode="mxfp8",
     name="gqmm_mxfp8", sorted_indices=True)
gqmm(randn((4, 1, 64), seed=106), (3, 8, 64), None, u32([2, 0, 1, 2]), mode="nvfp4", name="gqmm_nvfp4")
gqmm(randn((2, 13, 64), seed=107), (3, 16, 64), None, u32([2, 1]), 64, 4, name="gqmm_tiled_rows")
gqmm(randn((2, 3, 64), seed=108), (3, 8, 64), None, mx.array(1, mx.uint32), name="gqmm_scalar_index")
# errors
wq, s, b = mx.quantize(randn((3, 8, 64), seed=110))
x = randn((2, 3, 64), seed=111)
g.case("gather_qmm", [x, wq, s, b, mx.array([1.0, 0.0])],
       lambda x, w, s, b, r: mx.gather_qmm(x, w, s, b, None, r),
       kw(None, None, "affine", has_lhs=False, has_rhs=True), name="gqmm_err_float_indices")
g.case("gather_qmm", [x, wq, s, b, u32([0, 1]), u32([0, 1, 2])],
       lambda x, w, s, b, l, r: mx.gather_qmm(x, w, s, b, l, r),
       kw(None, None, "affine", has_lhs=True, has_rhs=True), name="gqmm_err_index_broadcast")
g.case("gather_qmm", [randn((64,)), wq, s, b, u32([0])],
       lambda x, w, s, b, r: mx.gather_qmm(x, w, s, b, None, r),
       kw(None, None, "affine", has_lhs=False, has_rhs=True), name="gqmm_err_1d_x")

# --- qqmm: on MLX's CPU only a quantized w and one row of x ---
def qq(x, w_shape, mode, wdtype=mx.float32, name=None, seed=0):
    w = randn(w_shape, wdtype, seed=seed + 1)
    wq, s = mx.quantize(w, mode=mode)
    wdeq = mx.dequantize(wq, s, None, mode=mode, dtype=mx.float32)
    xm2 = x.reshape(-1, x.shape[-1])
    atol = qmm_atol(xm2, wdeq, True, x.dtype)
    g.case("qqmm", [x, wq, s], lambda a, w, s: mx.qqmm(a, w, s, mode=mode), {"mode": mode},
           name=name, atol=atol, rtol=0.0, why="sums in a different order (f32 accumulation)")


for mode in ["nvfp4", "mxfp4", "mxfp8"]:
    for d in FLOATS:
        qq(randn((1, 64), d, seed=130), (8, 64), mode, d, name=f"qqmm_{mode}_{d}")
    qq(randn((64,), seed=131, scale=20.0), (8, 64), mode, name=f"qqmm_{mode}_1d")
    qq(randn((1, 1, 64), seed=132), (8, 64), mode, name=f"qqmm_{mode}_3d_one_row")
wq, s = mx.quantize(randn((8, 64), seed=133), mode="nvfp4")
g.case("qqmm", [randn((3, 64)), wq, s], lambda a, w, s: mx.qqmm(a, w, s), {"mode": "nvfp4"},
       name="qqmm_err_rows_nyi")
g.case("qqmm", [randn((1, 64)), randn((8, 64))], lambda a, w: mx.qqmm(a, w), {"mode": "nvfp4"},
       name="qqmm_err_float_w_nyi")
g.case("qqmm", [randn((1, 64)), wq], lambda a, w: mx.qqmm(a, w), {"mode": "nvfp4"},
       name="qqmm_err_no_scales")
g.case("qqmm", [randn((2, 1, 64)), mx.stack([wq, wq]), mx.stack([s, s])],
       lambda a, w, s: mx.qqmm(a, w, s), {"mode": "nvfp4"}, name="qqmm_err_3d")
g.case("qqmm", [randn((1, 64), mx.float64), wq, s], lambda a, w, s: mx.qqmm(a, w, s),
       {"mode": "nvfp4"}, name="qqmm_err_f64")

# --- fp8 conversions: every code, and float values around the rounding boundaries ---
codes = mx.arange(256).astype(mx.uint8)
# float64 left out: MLX 0.32.4 reads float64 fp8 conversions wrongly on the CPU.
for d in [mx.float32, mx.float16, mx.bfloat16]:
    g.case("from_fp8", [codes], lambda c: mx.from_fp8(c, d), {"dtype": str(d).split(".")[-1]},
           name=f"from_fp8_{d}", **EXACT)
g.case("from_fp8", [codes], lambda c: mx.from_fp8(c), {}, name="from_fp8_default", **EXACT)
all_vals = mx.from_fp8(codes, mx.float32)
mids = np.array(all_vals)[:-1].astype(np.float64)
vals = np.concatenate([
    mids, (mids[:-1] + mids[1:]) / 2, mids * 1.0001, mids * 0.9999,
    [0.0, -0.0, 1e-9, 2.0**-10, 2.0**-9 * 1.5, 448.0, 464.0, 465.0, 480.0, 500.0, 1e6, -1e6,
     np.inf, -np.inf, np.nan, 1e-30, -2.0**-7],
])
vals = vals[np.isfinite(vals) | np.isinf(vals) | np.isnan(vals)]
for d in [mx.float32, mx.float16, mx.bfloat16]:
    x = mx.array(vals.astype(np.float32)).astype(d)
    g.case("to_fp8", [x], lambda a: mx.to_fp8(a), {}, name=f"to_fp8_{d}")
g.case("to_fp8", [Input(mx.reshape(mx.array(vals[:120].astype(np.float32)), (10, 12)),
                        {"kind": "transpose"})], lambda a: mx.to_fp8(a), {}, name="to_fp8_transposed")
g.case("to_fp8", [mx.array([1, 2], mx.int32)], lambda a: mx.to_fp8(a), {}, name="to_fp8_err_int")
g.case("from_fp8", [mx.array([1.0, 2.0])], lambda a: mx.from_fp8(a), {}, name="from_fp8_err_float_input")
g.case("from_fp8", [codes], lambda a: mx.from_fp8(a, mx.int32), {"dtype": "int32"},
       name="from_fp8_err_int_dtype")
# round trip
g.case("from_fp8", [mx.to_fp8(randn((4, 16), seed=120, scale=50.0))],
       lambda a: mx.from_fp8(a, mx.float32), {"dtype": "float32"}, name="fp8_round_trip", **EXACT)

g.save()
