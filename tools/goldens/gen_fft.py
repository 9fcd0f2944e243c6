"""Goldens for the FFT family (mx.fft): fft, ifft, rfft, irfft, fft2, ifft2, rfft2, irfft2,
fftn, ifftn, rfftn, irfftn, fftfreq, rfftfreq, fftshift, ifftshift.

Case kwargs: "n" / "axis" (1-D ops) and "s" / "axes" (n-D ops) are passed only when present
("axes": null is MLX's None, every axis); "norm" likewise. fftfreq/rfftfreq take no inputs
("n", "d" in kwargs); fftshift/ifftshift take "axes" (absent or null: every axis; an int or
a list).

Tolerance: MLX (pocketfft) and rmlx (rustfft/realfft) both compute in float32 but round
differently; the error of an FFT grows with the transform length and with the size of the
largest output, not of each element. Each transform case therefore gets
atol = 2e-6 * (1 + log2(L)) * max(1, max|output|), with L the product of the transformed
lengths, and rtol 1e-5 (recorded with the reason in "why").
"""
import math

import mlx.core as mx
import numpy as np
from golden import ALL_DTYPES, Goldens, Input, sample

g = Goldens("fft")

ONE_D = {"fft": mx.fft.fft, "ifft": mx.fft.ifft, "rfft": mx.fft.rfft, "irfft": mx.fft.irfft}
N_D = {
    "fft2": mx.fft.fft2, "ifft2": mx.fft.ifft2, "rfft2": mx.fft.rfft2, "irfft2": mx.fft.irfft2,
    "fftn": mx.fft.fftn, "ifftn": mx.fft.ifftn, "rfftn": mx.fft.rfftn, "irfftn": mx.fft.irfftn,
}


def materialize(x):
    return x.materialize() if isinstance(x, Input) else x


def tolerance(fn, x):
    """(atol, why) for the transform `fn` of `x`, or (None, None) when MLX raises."""
    try:
        out = fn(materialize(x))
        mx.eval(out)
    except Exception:  # noqa: BLE001 - the case records the error itself
        return None, None
    big = float(mx.max(mx.abs(out)).item()) if out.size else 0.0
    return None, big


def transform_case(op, x, kw, lengths):
    f = ONE_D.get(op) or N_D[op]
    call = {k: v for k, v in kw.items()}
    fn = lambda a: f(a, **call)  # noqa: E731
    _, big = tolerance(fn, x)
    if big is None:
        g.case(op, [x], fn, kwargs=kw)
        return
    L = max(1, int(np.prod(lengths))) if lengths else 1
    atol = 2e-6 * (1 + math.log2(L)) * max(1.0, big)
    why = (f"float32 FFT of {L} points: error scales with log2(L) and the largest output "
           f"({big:.3g}), not each element")
    g.case(op, [x], fn, kwargs=kw, rtol=1e-5, atol=atol, why=why)


def shape_of(x):
    return materialize(x).shape


def one_d(op, x, n=None, axis=None, norm=None):
    kw = {}
    if n is not None:
        kw["n"] = n
    if axis is not None:
        kw["axis"] = axis
    if norm is not None:
        kw["norm"] = norm
    shp = shape_of(x)
    ax = -1 if axis is None else axis
    try:
        length = n if n is not None else shp[ax]
        if op == "irfft" and n is None:
            length = 2 * (shp[ax] - 1)
    except IndexError:
        length = 1
    transform_case(op, x, kw, [length])


def n_d(op, x, s="absent", axes="absent", norm=None):
    kw = {}
    if s != "absent":
        kw["s"] = s
    if axes != "absent":
        kw["axes"] = axes
    if norm is not None:
        kw["norm"] = norm
    shp = shape_of(x)
    if axes == "absent":
        ax = [-2, -1] if op.endswith("2") else list(range(len(shp)))
    elif axes is None:
        ax = list(range(len(shp)))
    else:
        ax = axes
    try:
        lengths = list(s) if s not in ("absent", None) else [shp[a] for a in ax]
        if op.startswith("irfft") and s in ("absent", None) and lengths:
            lengths[-1] = 2 * (lengths[-1] - 1)
    except IndexError:
        lengths = [1]
    transform_case(op, x, kw, [max(v, 1) for v in lengths])


def c64(shape, seed):
    return sample(shape, mx.complex64, seed=seed)


def f32(shape, seed):
    return sample(shape, mx.float32, seed=seed)


# Every accepted dtype through each 1-D op.
for i, d in enumerate(ALL_DTYPES):
    x = sample((3, 8), d, seed=10 + i)
    for op in ONE_D:
        one_d(op, x)
    one_d("rfft", sample((5,), d, seed=40 + i))

# Lengths: 1, small, odd, even, primes, powers of two, composite.
for n in [1, 2, 3, 4, 5, 7, 8, 12, 13, 16, 17, 31, 60, 64, 97, 128, 210, 251, 1024]:
    one_d("fft", c64((n,), n))
    one_d("ifft", c64((n,), n + 1))
    one_d("rfft", f32((n,), n + 2))
    one_d("irfft", c64((n // 2 + 1,), n + 3), n=n)
    if n > 1 and n < 1000:
        one_d("irfft", c64((2, n), n + 4))
one_d("fft", c64((2048,), 5000))
one_d("rfft", f32((2, 1000), 5001))

# n smaller and larger than the axis, along several axes.
x = c64((4, 6, 5), 7)
r = f32((4, 6, 5), 8)
for n in [1, 3, 6, 9, 16]:
    for ax in [0, 1, -1, -3]:
        one_d("fft", x, n=n, axis=ax)
        one_d("ifft", x, n=n, axis=ax)
        one_d("rfft", r, n=n, axis=ax)
        one_d("irfft", x, n=n, axis=ax)
one_d("irfft", c64((3, 1), 9))
one_d("irfft", c64((3, 1), 9), n=1)
one_d("irfft", c64((3, 4), 9), n=1)

# Norms.
for norm in ["backward", "ortho", "forward"]:
    for op in ONE_D:
        one_d(op, c64((3, 10), 20) if op != "rfft" else f32((3, 10), 21), norm=norm)
        one_d(op, c64((3, 9), 22) if op != "rfft" else f32((3, 9), 23), n=6, axis=0, norm=norm)
    for op in N_D:
        x = c64((3, 4, 5), 24) if not op.startswith("rfft") else f32((3, 4, 5), 25)
        n_d(op, x, norm=norm)
        n_d(op, x, s=[4, 7], axes=[0, 2], norm=norm)

# n-D: default axes, explicit axes (any order, negative), sizes, None.
for op in N_D:
    real_in = op.startswith("rfft")
    mk = f32 if real_in else c64
    x3 = mk((3, 4, 6), 30)
    n_d(op, x3)
    n_d(op, x3, axes=[0, 2])
    n_d(op, x3, axes=[2, 0])
    n_d(op, x3, axes=[-1, 0, 1])
    n_d(op, x3, axes=[1])
    n_d(op, x3, axes=None)
    n_d(op, x3, s=[5, 3], axes=[0, 1])
    n_d(op, x3, s=[2, 9], axes=[1, -1])
    n_d(op, x3, s=[1, 1, 1], axes=[0, 1, 2])
    n_d(op, x3, s=[8, 7, 5], axes=[2, 1, 0])
    n_d(op, mk((2, 3, 4, 5), 31))
    n_d(op, mk((5, 7), 32))
    n_d(op, mk((16, 9), 33))
    n_d(op, mk((4,), 34), axes=[0])
    n_d(op, x3, axes=[])
    # Errors.
    n_d(op, mk((4,), 35))                      # default axes [-2, -1] on a 1-D array
    n_d(op, x3, s=[3, 3])                      # s without axes
    n_d(op, x3, s=[3], axes=[0, 1])            # different sizes
    n_d(op, x3, axes=[0, 0])                   # duplicated
    n_d(op, x3, axes=[0, -3])                  # duplicated after normalising
    n_d(op, x3, s=[3, 3], axes=[0, 3])         # out of range
    n_d(op, x3, s=[3, 3], axes=[-4, 0])        # out of range
    n_d(op, x3, axes=[5])                      # out of range, no sizes
    n_d(op, x3, s=[0, 3], axes=[0, 1])         # size 0
    n_d(op, x3, s=[-2, 3], axes=[0, 1])        # negative size
    n_d(op, mx.array(1.0))                     # 0-D
rfn = f32((6, 8), 36)
n_d("rfftn", rfn, s=[6, 8], axes=[0, 1])
n_d("irfftn", c64((6, 5), 37), s=[6, 8], axes=[0, 1])
n_d("irfftn", c64((6, 5), 37), s=[6, 9], axes=[0, 1])
n_d("irfftn", c64((6, 5), 37), s=[3, 1], axes=[0, 1])

# Non-contiguous inputs.
views = [
    ({"kind": "transpose"}, (8, 6)),
    ({"kind": "step", "axis": 1}, (6, 16)),
    ({"kind": "step", "axis": 0}, (12, 8)),
    ({"kind": "reverse", "axis": 1}, (6, 8)),
    ({"kind": "reverse", "axis": 0}, (6, 8)),
    ({"kind": "broadcast", "shape": [4, 8]}, (8,)),
]
for k, (view, shape) in enumerate(views):
    xc = Input(c64(shape, 50 + k), view)
    xr = Input(f32(shape, 60 + k), view)
    for ax in [0, 1]:
        one_d("fft", xc, axis=ax)
        one_d("ifft", xc, axis=ax)
        one_d("rfft", xr, axis=ax)
        one_d("irfft", xc, axis=ax)
    for op in N_D:
        n_d(op, xr if op.startswith("rfft") else xc)
        n_d(op, xr if op.startswith("rfft") else xc, s=[5, 7], axes=[1, 0])

# Empty axes and other sizes.
one_d("fft", c64((3, 0), 70), axis=0)
one_d("rfft", f32((3, 0), 71), axis=0)
one_d("fft", c64((0,), 72))
one_d("fft", c64((0, 4), 73))
one_d("irfft", c64((3, 0), 74), axis=0)
n_d("fftn", c64((0, 4), 75))
n_d("rfft2", f32((2, 0, 4), 76))

# 1-D errors.
x = c64((4, 5), 80)
one_d("fft", mx.array(1.0))
one_d("rfft", mx.array(1.0))
one_d("fft", x, n=0)
one_d("ifft", x, n=-3)
one_d("rfft", f32((4, 5), 81), n=0)
one_d("irfft", x, n=0)
one_d("irfft", c64((4, 1), 82))                # default length 0
one_d("fft", x, axis=2)
one_d("fft", x, axis=-3)
one_d("fft", x, n=3, axis=2)
one_d("rfft", f32((4, 5), 81), n=3, axis=-3)

# Frequencies.
for n in [1, 2, 3, 4, 5, 8, 11]:
    for d in [1.0, 0.1, -2.0, 3.5]:
        g.case("fftfreq", [], lambda n=n, d=d: mx.fft.fftfreq(n, d), kwargs={"n": n, "d": d})
        g.case("rfftfreq", [], lambda n=n, d=d: mx.fft.rfftfreq(n, d), kwargs={"n": n, "d": d})
for op, f in [("fftfreq", mx.fft.fftfreq), ("rfftfreq", mx.fft.rfftfreq)]:
    g.case(op, [], lambda f=f: f(0, 1.0), kwargs={"n": 0, "d": 1.0})
    g.case(op, [], lambda f=f: f(-3, 1.0), kwargs={"n": -3, "d": 1.0})
    g.case(op, [], lambda f=f: f(4, 0.0), kwargs={"n": 4, "d": 0.0})

# Shifts.
for op, f in [("fftshift", mx.fft.fftshift), ("ifftshift", mx.fft.ifftshift)]:
    for shape in [(5,), (4,), (3, 4), (2, 5, 3), (1,), (0, 3)]:
        a = mx.arange(int(np.prod(shape))).reshape(shape)
        g.case(op, [a], lambda x, f=f: f(x), kwargs={})
        g.case(op, [a], lambda x, f=f: f(x, axes=None), kwargs={"axes": None})
        g.case(op, [a], lambda x, f=f: f(x, axes=-1), kwargs={"axes": -1})
        g.case(op, [a], lambda x, f=f: f(x, axes=[0]), kwargs={"axes": [0]})
        if len(shape) > 1:
            g.case(op, [a], lambda x, f=f: f(x, axes=[1, 0]), kwargs={"axes": [1, 0]})
            g.case(op, [a], lambda x, f=f: f(x, axes=[-1, -1]), kwargs={"axes": [-1, -1]})
        g.case(op, [a], lambda x, f=f: f(x, axes=[]), kwargs={"axes": []})
        g.case(op, [a], lambda x, f=f: f(x, axes=[len(shape)]), kwargs={"axes": [len(shape)]})
        g.case(op, [a], lambda x, f=f: f(x, axes=-len(shape) - 1),
               kwargs={"axes": -len(shape) - 1})
    g.case(op, [mx.array(2.5)], lambda x, f=f: f(x), kwargs={})
    g.case(op, [mx.array(2.5)], lambda x, f=f: f(x, axes=0), kwargs={"axes": 0})
    g.case(op, [Input(f32((4, 6), 90), {"kind": "transpose"})], lambda x, f=f: f(x), kwargs={})
    g.case(op, [c64((3, 5), 91)], lambda x, f=f: f(x), kwargs={})

g.save()
