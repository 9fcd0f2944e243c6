"""Goldens for the short-time transforms mx.fft.stft and mx.fft.istft.

Case inputs: the signal (stft) or the spectrogram (istft), then the window when kwargs has
"window": true. Other kwargs are MLX's arguments, passed only when present: n_fft,
hop_length, win_length, center, pad_mode (stft), norm, onesided, length (istft).
Error cases also record MLX's message; the replay compares the ones raised by stft/istft
themselves.

Tolerance: both sides compute in float32 (MLX pocketfft, rmlx rustfft/realfft). Each case
gets atol = 2e-6 * (1 + log2(n_fft)) * max(1, max|output|) as for the FFT family; an istft
divides by the overlap-added squared window, which magnifies rounding where the window is
small, so there atol is at least 4x MLX's own distance from a float64 evaluation of the same
formula (the "why" of each case says which).
"""
import math

import mlx.core as mx
import numpy as np
from golden import Goldens, Input, sample

g = Goldens("stft")


def f32(shape, seed):
    return sample(shape, mx.float32, seed=seed)


def c64(shape, seed):
    return sample(shape, mx.complex64, seed=seed)


def hann(n, periodic=False):
    if periodic:
        return mx.array(np.hanning(n + 1)[:-1].astype(np.float32))
    return mx.array(np.hanning(n).astype(np.float32))


# ---- A float64 evaluation of the same formulas (for the istft tolerance only). ----

def centred(w, wl, n_fft):
    w = np.ones(wl) if w is None else np.asarray(w).astype(np.complex128 if np.iscomplexobj(w) else np.float64)
    left = (n_fft - w.shape[0]) // 2
    return np.pad(w, (left, n_fft - w.shape[0] - left))


def istft64(S, window, kw):
    S = np.asarray(S).astype(np.complex128)
    onesided = kw.get("onesided", True)
    onesided = True if onesided is None else onesided
    nfreq, nfr = S.shape[-2], S.shape[-1]
    n_fft = kw.get("n_fft") or ((nfreq - 1) * 2 if onesided else nfreq)
    hop = kw.get("hop_length") or n_fft // 4
    wl = kw.get("win_length") or n_fft
    w = centred(window, wl, n_fft)
    norm = kw.get("norm", "backward")
    z = np.swapaxes(S.reshape(-1, nfreq, nfr), -1, -2)
    if onesided:
        fr = np.fft.irfft(z, n=n_fft, axis=-1, norm=norm)
    else:
        fr = np.fft.ifft(z, n=n_fft, axis=-1, norm=norm).real
    fr = fr * w
    L = n_fft + (nfr - 1) * hop
    sig = np.zeros((fr.shape[0], L), fr.dtype)
    env = np.zeros(L, (w * w).dtype)
    for i in range(nfr):
        sig[:, i * hop:i * hop + n_fft] += fr[:, i]
        env[i * hop:i * hop + n_fft] += w * w
    env = np.maximum(env, 1e-8)  # complex: NumPy and MLX both compare lexicographically
    sig = sig / env
    start = n_fft // 2 if kw.get("center", True) else 0
    stop = L - n_fft // 2 if kw.get("center", True) else L
    return sig[:, start:stop]


def materialize(x):
    return x.materialize() if isinstance(x, Input) else x


def run(op, x, window, kw):
    f = mx.fft.stft if op == "stft" else mx.fft.istft
    args = dict(kw)
    args.pop("window", None)
    if window is not None:
        args["window"] = window
    return f(x, **args)


def case(op, x, window=None, **kw):
    if window is not None:
        kw["window"] = True
    inputs = [x] if window is None else [x, window]
    fn = (lambda a, kw=kw: run(op, a, None, kw)) if window is None else \
        (lambda a, w, kw=kw: run(op, a, w, kw))
    try:
        out = run(op, materialize(x), window, kw)
        mx.eval(out)
    except Exception:  # noqa: BLE001 - the case records the error itself
        g.case(op, inputs, fn, kwargs=kw)
        return
    n_fft = kw.get("n_fft", 2048 if op == "stft" else None)
    if n_fft is None:
        shp = materialize(x).shape
        n_fft = (shp[-2] - 1) * 2 if kw.get("onesided", True) in (True, None) else shp[-2]
    big = float(mx.max(mx.abs(out)).item()) if out.size else 0.0
    atol = 2e-6 * (1 + math.log2(max(n_fft, 1))) * max(1.0, big)
    why = (f"float32 transforms of {n_fft} points: error scales with log2(n_fft) and the "
           f"largest output ({big:.3g})")
    if op == "istft" and out.size and "length" not in kw:
        want = istft64(np.array(materialize(x)), None if window is None else np.array(window), kw)
        err = float(np.max(np.abs(np.array(out).reshape(want.shape) - want)))
        if 4 * err > atol:
            atol = 4 * err
            why += f"; MLX itself is {err:.3g} from a float64 evaluation (window envelope)"
    g.case(op, inputs, fn, kwargs=kw, rtol=1e-5, atol=atol, why=why)


# ---- stft ----
x1 = f32((40,), 1)
xb = f32((2, 3, 33), 2)
xc = c64((37,), 3)
xcb = c64((2, 29), 4)

# Defaults other than n_fft; n_fft odd and even, hop dividing or not.
for n_fft in [1, 2, 3, 4, 5, 8, 9, 16]:
    case("stft", x1, n_fft=n_fft, hop_length=max(1, n_fft // 4))
for hop in [1, 2, 3, 5, 7, 11, 20]:
    case("stft", x1, n_fft=8, hop_length=hop)
    case("stft", x1, n_fft=7, hop_length=hop, center=False)
case("stft", x1, n_fft=8)
case("stft", x1, n_fft=40, center=False)
case("stft", xb, n_fft=8, hop_length=3)
case("stft", xb, n_fft=6, hop_length=4, center=False)
case("stft", f32((1, 1, 20), 5), n_fft=5, hop_length=2)
case("stft", f32((4, 12), 6), n_fft=12, hop_length=12)

# win_length < n_fft (even and odd differences), custom windows.
for wl in [1, 2, 3, 5, 7, 8]:
    case("stft", x1, n_fft=8, hop_length=2, win_length=wl)
case("stft", x1, n_fft=8, hop_length=2, win_length=0)
for n_fft, hop in [(8, 2), (9, 3), (16, 4), (15, 5)]:
    case("stft", x1, hann(n_fft), n_fft=n_fft, hop_length=hop)
    case("stft", x1, hann(n_fft, periodic=True), n_fft=n_fft, hop_length=hop, center=False)
    case("stft", xb, hann(n_fft - 3), n_fft=n_fft, hop_length=hop)
case("stft", x1, hann(5), n_fft=8, hop_length=2, win_length=3)  # window wins over win_length
case("stft", x1, f32((6,), 7), n_fft=8, hop_length=2)
case("stft", x1, f32((8,), 8).astype(mx.float16), n_fft=8, hop_length=2)
case("stft", x1, mx.array([1, 2, 3, 2]), n_fft=4, hop_length=1)

# Pad modes, with pads shorter and longer than the signal (reflection wraps around).
for pm in ["reflect", "constant", "edge", "symmetric"]:
    case("stft", x1, n_fft=8, hop_length=2, pad_mode=pm)
    case("stft", xb, n_fft=9, hop_length=4, pad_mode=pm)
    case("stft", f32((5,), 9), n_fft=16, hop_length=3, pad_mode=pm)
    case("stft", f32((2, 1), 10), n_fft=4, hop_length=1, pad_mode=pm)
    case("stft", f32((6,), 11), n_fft=4, hop_length=2, pad_mode=pm, center=False)

# Norms and sidedness, real and complex input.
for norm in ["backward", "ortho", "forward"]:
    case("stft", x1, n_fft=8, hop_length=3, norm=norm)
    case("stft", xc, n_fft=8, hop_length=3, norm=norm)
    case("stft", xb, hann(7), n_fft=7, hop_length=2, norm=norm, onesided=False)
for ones in [True, False, None]:
    case("stft", x1, n_fft=6, hop_length=2, onesided=ones)
    case("stft", xc, n_fft=6, hop_length=2, onesided=ones)
    case("stft", xcb, n_fft=5, hop_length=2, onesided=ones)
case("stft", xc, hann(8), n_fft=8, hop_length=2)
case("stft", x1, mx.array([1, 0.5j, 1j, 1]), n_fft=4, hop_length=2)    # frames complex: rfft
case("stft", xc, mx.array([1, 0.5j, 1j, 1]), n_fft=4, hop_length=2)    # drops the imaginary part

# Other input dtypes and non-contiguous inputs.
for d in [mx.int32, mx.bool_, mx.float16, mx.bfloat16, mx.uint8]:
    case("stft", sample((2, 20), d, seed=12), n_fft=6, hop_length=2)
case("stft", Input(f32((24, 3), 13), {"kind": "transpose"}), n_fft=8, hop_length=2)
case("stft", Input(f32((2, 48), 14), {"kind": "step", "axis": 1}), n_fft=6, hop_length=3)
case("stft", Input(f32((30,), 15), {"kind": "reverse", "axis": 0}), n_fft=6, hop_length=2)
case("stft", Input(f32((20,), 16), {"kind": "broadcast", "shape": [3, 20]}), n_fft=4,
     hop_length=2)
case("stft", Input(c64((20, 2), 17), {"kind": "transpose"}), n_fft=4, hop_length=1)

# Empty batches.
case("stft", f32((0, 10), 18), n_fft=4, hop_length=1)
case("stft", f32((2, 0, 10), 19), n_fft=4, hop_length=3, pad_mode="edge")

# stft errors.
case("stft", x1, n_fft=0)
case("stft", x1, n_fft=-2)
case("stft", mx.array(1.0), n_fft=4)
case("stft", x1, n_fft=4, hop_length=0)
case("stft", x1, n_fft=4, hop_length=-1)
case("stft", x1, n_fft=3)                              # default hop 0
case("stft", x1, n_fft=50, center=False)               # too short
case("stft", f32((3,), 20), n_fft=4, center=False)
case("stft", x1, n_fft=4, norm="bad")
case("stft", x1, mx.ones((2, 2)), n_fft=4)
case("stft", x1, mx.ones((5,)), n_fft=4)
case("stft", x1, n_fft=4, win_length=5)
case("stft", x1, n_fft=4, win_length=-1)
case("stft", f32((3, 0), 21), n_fft=4)
case("stft", x1, n_fft=4, pad_mode="bad")

# ---- istft ----
def spec(x, **kw):
    s = mx.fft.stft(x, **kw)
    mx.eval(s)
    return s


# Round trips with the stft's own arguments, with and without length.
sig = f32((41,), 30)
sigb = f32((2, 3, 26), 31)
for n_fft, hop, win in [(8, 2, None), (8, 2, hann(8, True)), (9, 3, hann(9)), (16, 4, None),
                        (7, 1, None), (6, 3, None), (5, 5, None), (12, 5, hann(10))]:
    for center in [True, False]:
        skw = dict(n_fft=n_fft, hop_length=hop, center=center)
        S = spec(sig, **skw) if win is None else spec(sig, window=win, **skw)
        ikw = dict(n_fft=n_fft, hop_length=hop, center=center)
        case("istft", S, win, **ikw)
        case("istft", S, win, length=41, **ikw)
        case("istft", S, win, length=20, **ikw)
        case("istft", S, win, length=60, **ikw)
Sb = spec(sigb, n_fft=8, hop_length=2)
case("istft", Sb, n_fft=8, hop_length=2)
case("istft", Sb, n_fft=8, hop_length=2, length=26)
case("istft", Sb)                                      # n_fft inferred: 8, hop 2

# win_length, norms, two-sided.
S8 = spec(sig, n_fft=8, hop_length=2)
for wl in [3, 4, 6]:
    case("istft", spec(sig, n_fft=8, hop_length=2, win_length=wl), n_fft=8, hop_length=2,
         win_length=wl)
for norm in ["backward", "ortho", "forward"]:
    Sn = spec(sig, n_fft=8, hop_length=2, norm=norm)
    case("istft", Sn, norm=norm)
    case("istft", Sn, norm=norm, length=41)
S2 = spec(sig, n_fft=8, hop_length=2, onesided=False)
case("istft", S2, onesided=False)
case("istft", S2, onesided=False, hop_length=2, length=41)
case("istft", S2, n_fft=8, hop_length=2)                  # two-sided read as one-sided
Sc = spec(c64((30,), 32), n_fft=6, hop_length=2)
case("istft", Sc, onesided=False, hop_length=2)
S7 = spec(sig, n_fft=7, hop_length=2)
case("istft", S7, n_fft=7, hop_length=2)
case("istft", S7, hop_length=2)                           # inferred even n_fft = 6

# Negative lengths (a slice stop counting from the end, as in MLX), length 0.
for length in [0, 1, -1, -3, -50]:
    case("istft", S8, hop_length=2, length=length)
    case("istft", spec(sig, n_fft=8, hop_length=2, center=False), hop_length=2,
         length=length, center=False)

# Other spectrogram and window dtypes, arbitrary spectrograms, hop > n_fft.
case("istft", c64((3, 5), 33))
case("istft", c64((2, 5, 6), 34), n_fft=8, hop_length=3)
case("istft", f32((5, 6), 35), hop_length=2)
case("istft", sample((5, 6), mx.int32, seed=36), hop_length=2)
case("istft", c64((3, 4), 37), hop_length=7)
case("istft", c64((3, 4), 37), hop_length=7, center=False)
case("istft", S8, mx.array(np.linspace(0.5, 1.0, 8).astype(np.float16)), hop_length=2)
case("istft", S8, mx.array([1, 2, 3, 4, 4, 3, 2, 1]), hop_length=2)
case("istft", S8, mx.zeros((8,)), hop_length=2)
case("istft", S8, mx.array([0, 0, 1, 1, 1, 1, 0, 0.0]), hop_length=8)
case("istft", S8, mx.array([1, 1, 1, 0.5j, 1j, 1, 1, 1]), hop_length=2)  # complex output
case("istft", Input(c64((6, 5), 38), {"kind": "transpose"}), n_fft=8, hop_length=2)
case("istft", c64((0, 3, 4), 39))

# istft errors.
case("istft", f32((5,), 40))
case("istft", mx.array(1.0))
case("istft", S8, n_fft=0)
case("istft", S8, n_fft=-4)
case("istft", c64((1, 3), 41))                            # inferred n_fft 0
case("istft", S8, hop_length=0)
case("istft", c64((3, 4), 42), onesided=False)            # n_fft 3: default hop 0
case("istft", S8, norm="bad")
case("istft", S8, mx.ones((9,)))
case("istft", S8, mx.ones((2, 4)))
case("istft", S8, win_length=9)
case("istft", S8, win_length=-2)
case("istft", c64((3, 0), 43))
case("istft", c64((0, 4), 44), n_fft=4)

g.save()
