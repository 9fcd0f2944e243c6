"""Goldens for mx.linalg: norm, qr, svd, inv, tri_inv, cholesky, cholesky_inv, pinv, det,
slogdet, eigh, eigvalsh, eig, eigvals, lu, lu_factor, solve, solve_triangular, cross.

Values are compared directly where they are unique (norms, inverses, solves, determinants,
Cholesky factors, singular values, symmetric eigenvalues, LU with its pivots). Where a
factorisation is unique only up to signs or order, the case records invariants that both
sides compute from their own factors (the op name says which):
  qr:       Q @ R, Q^T Q, tril(R, -1)
  svd:      S, U[:, :k] * S @ Vt[:k], U^T U, Vt Vt^T
  eigh:     w, A V - V w, V^T V
  eig:      sorted real parts of w, sorted imaginary parts of w, |A V - V w|, column norms
  eigvals:  sorted real parts, sorted imaginary parts
complex64 input (svd, eigh, eigvalsh, eig, eigvals; "_c" ops) is compared the same way, with
conjugate transposes, plus exact checks that singular values are descending and Hermitian
eigenvalues ascending:
  svd_c:    S, U[:, :k] * S @ Vt[:k], U^H U, Vt Vt^H, S[:-1] >= S[1:]
  svd_s_c:  S, S[:-1] >= S[1:]
  eigh_c:   w, H V - V w (H: the Hermitian matrix the UPLO triangle describes), V^H V,
            w[1:] >= w[:-1]
  eig_c:    sorted real parts, sorted imaginary parts, |A V - V w|, column norms. MLX 0.32.4
            returns the conjugates of the right eigenvectors for complex input (it reads the
            row-major matrix as its transpose and takes LAPACK's left eigenvectors, which
            are then conj(v)); rmlx returns the right eigenvectors its docs promise, so the
            residual is computed from conj(V) on the MLX side and from V on the rmlx side.
Tolerances for complex64 are float32 ones scaled to the entries (up to 5 in magnitude, up to
8 x 8): 3e-4 relative and absolute (LAPACK and faer round differently).
MLX runs these on the CPU stream. Failures where MLX returns garbage (Cholesky of a matrix
that is not positive definite) are errors in rmlx and stay out of these goldens.
"""
import mlx.core as mx
import numpy as np
from golden import Goldens, Input, sample

g = Goldens("linalg")
C = mx.cpu
F32, F64 = mx.float32, mx.float64
LA = mx.linalg


def tol(dtype, f32=1e-4, f64=1e-9):
    t = f32 if dtype == F32 else f64
    return {"rtol": t, "atol": t, "why": "factorisations round differently (LAPACK vs faer)"}


def rand(shape, dtype, seed):
    return sample(shape, dtype, seed=seed)


def spd(n, dtype, seed, batch=()):
    a = np.random.default_rng(seed).uniform(-1, 1, batch + (n, n))
    s = a @ np.swapaxes(a, -1, -2) + n * np.eye(n)
    return mx.array(s).astype(dtype)


def sym(n, dtype, seed, batch=()):
    a = np.random.default_rng(seed).uniform(-2, 2, batch + (n, n))
    return mx.array(a + np.swapaxes(a, -1, -2)).astype(dtype)


def well(n, dtype, seed, batch=()):
    """A well-conditioned general square matrix."""
    a = np.random.default_rng(seed).uniform(-1, 1, batch + (n, n)) + 2 * n * np.eye(n) * 0.5
    return mx.array(a).astype(dtype)


def tri(n, dtype, seed, upper, batch=()):
    a = np.random.default_rng(seed).uniform(-1, 1, batch + (n, n))
    a = a + np.sign(np.diagonal(a, axis1=-2, axis2=-1))[..., None] * 2 * np.eye(n)
    return mx.array(a).astype(dtype)


def case(op, inputs, fn, dtype=None, **kw):
    t = tol(dtype) if dtype is not None else {}
    g.case(op, inputs, fn, kwargs=kw, **t)


def mT(x):
    return mx.swapaxes(x, -1, -2)


# ---------------------------------------------------------------- norm
def norm_kw(ord, axis, keepdims):
    kw = {"keepdims": keepdims}
    if ord is not None:
        kw["ord"] = ord if not isinstance(ord, float) or np.isfinite(ord) else repr(ord)
    if axis is not None:
        kw["axis"] = axis
    return kw


def norm_case(x, ord=None, axis=None, keepdims=False, dtype=None):
    kw = norm_kw(ord, axis, keepdims)
    fn = lambda a: LA.norm(a, ord=ord, axis=axis, keepdims=keepdims, stream=C)
    t = tol(dtype) if dtype is not None else {}
    g.case("norm", [x], fn, kwargs=kw, **t)


inf = float("inf")
for dt in (F32, F64):
    v = rand((5,), dt, 1)
    for o in (None, 0, 1, 2, 3, 0.5, -1, inf, -inf):
        norm_case(v, o)
    m = rand((3, 4), dt, 2)
    for o in (None, "fro", "nuc", 1, -1, 2, -2, inf, -inf):
        norm_case(m, o, dtype=dt if o in ("nuc", 2, -2) else None)
    b = rand((2, 3, 4), dt, 3)
    norm_case(b, None, (1, 2))
    norm_case(b, None, (2, 0), keepdims=True)
    norm_case(b, 1, (0, 2), keepdims=True)
    norm_case(b, -inf, (2, 1))
    norm_case(b, inf, (2, 0), keepdims=True)
    norm_case(b, 2, (1, 2), dtype=dt)
    norm_case(b, -2, (2, 1), keepdims=True, dtype=dt)
    norm_case(b, "nuc", (0, 2), dtype=dt)
    norm_case(b, "fro", (0, 1), keepdims=True)
    norm_case(b, 3, 1, keepdims=True)
    norm_case(b, 0, -1)
    norm_case(b, None, None, keepdims=True)
    norm_case(b, None, 0)
    norm_case(Input(m, {"kind": "transpose"}), 1)
    norm_case(Input(b, {"kind": "step", "axis": 2}), None, (1, 2))
norm_case(rand((3, 4), mx.int32, 4))
norm_case(rand((3, 4), mx.int32, 4), 1)
norm_case(rand((6,), mx.int32, 4), 3)
norm_case(rand((6,), mx.float16, 5), inf)
norm_case(rand((2, 2), F32, 6), 2, (0, 1), dtype=F32)
# errors
norm_case(rand((2, 2), F32, 6), "nuc", 0)
norm_case(rand((2, 2), F32, 6), 3, (0, 1))
norm_case(rand((2, 2), F32, 6), "foo")
norm_case(rand((2, 2, 2), F32, 6), None, (0, 1, 2))
norm_case(rand((2, 2, 2), F32, 6), 2)
norm_case(rand((2, 2), F32, 6), None, 5)
norm_case(rand((2, 2), mx.int32, 6), 2)

# ---------------------------------------------------------------- qr
def qr_inv(a):
    q, r = LA.qr(a, stream=C)
    return q @ r, mT(q) @ q, mx.tril(r, -1)


for dt in (F32, F64):
    for shape, seed in (((1, 1), 10), ((3, 3), 11), ((5, 3), 12), ((3, 5), 13), ((2, 4, 3), 14)):
        case("qr", [rand(shape, dt, seed)], qr_inv, dt)
    case("qr", [Input(rand((4, 4), dt, 15), {"kind": "transpose"})], qr_inv, dt)
case("qr", [rand((3,), F32, 1)], qr_inv)
case("qr", [rand((3, 3), mx.int32, 1)], qr_inv)
case("qr", [rand((3, 3), mx.float16, 1)], qr_inv)

# ---------------------------------------------------------------- svd
def svd_inv(a):
    u, s, vt = LA.svd(a, stream=C)
    k = s.shape[-1]
    recon = (u[..., :, :k] * s[..., None, :]) @ vt[..., :k, :]
    return s, recon, mT(u) @ u, vt @ mT(vt)


for dt in (F32, F64):
    for shape, seed in (((1, 1), 20), ((4, 4), 21), ((5, 3), 22), ((3, 5), 23), ((2, 3, 4), 24)):
        case("svd", [rand(shape, dt, seed)], svd_inv, dt)
        case("svd_s", [rand(shape, dt, seed)], lambda a: LA.svd(a, compute_uv=False, stream=C), dt)
    case("svd", [Input(rand((4, 3), dt, 25), {"kind": "reverse", "axis": 0})], svd_inv, dt)
case("svd", [rand((3,), F32, 1)], svd_inv)
case("svd", [rand((3, 3), mx.int32, 1)], svd_inv)

# ---------------------------------------------------------------- inverses
for dt in (F32, F64):
    for n, batch, seed in ((1, (), 30), (3, (), 31), (4, (2,), 32), (5, (2, 1), 33)):
        case("inv", [well(n, dt, seed, batch)], lambda a: LA.inv(a, stream=C), dt)
        for up in (False, True):
            case("tri_inv", [tri(n, dt, seed, up, batch)],
                 lambda a, up=up: LA.tri_inv(a, upper=up, stream=C), dt, upper=up)
            case("cholesky", [spd(n, dt, seed, batch)],
                 lambda a, up=up: LA.cholesky(a, upper=up, stream=C), dt, upper=up)
            case("cholesky_inv", [LA.cholesky(spd(n, dt, seed, batch), upper=up, stream=C)],
                 lambda a, up=up: LA.cholesky_inv(a, upper=up, stream=C), dt, upper=up)
    case("inv", [Input(well(4, dt, 34), {"kind": "transpose"})], lambda a: LA.inv(a, stream=C), dt)
    case("cholesky", [Input(spd(4, dt, 35), {"kind": "step", "axis": 0})],
         lambda a: LA.cholesky(a, stream=C), dt, upper=False)
    for shape, seed in (((3, 3), 36), ((4, 2), 37), ((2, 5), 38), ((2, 3, 4), 39)):
        case("pinv", [rand(shape, dt, seed)], lambda a: LA.pinv(a, stream=C), dt)
    case("pinv", [mx.array([[1.0, 2.0], [2.0, 4.0]], dtype=dt)], lambda a: LA.pinv(a, stream=C), dt)
case("inv", [mx.zeros((3, 3))], lambda a: LA.inv(a, stream=C))
case("tri_inv", [mx.array([[1.0, 0.0], [5.0, 0.0]])], lambda a: LA.tri_inv(a, stream=C),
     upper=False)
for bad in (rand((3,), F32, 1), rand((2, 3), F32, 1), rand((2, 2), mx.int32, 1)):
    case("inv", [bad], lambda a: LA.inv(a, stream=C))
    case("tri_inv", [bad], lambda a: LA.tri_inv(a, stream=C), upper=False)
    case("cholesky", [bad], lambda a: LA.cholesky(a, stream=C), upper=False)
    case("cholesky_inv", [bad], lambda a: LA.cholesky_inv(a, stream=C), upper=False)
    case("pinv", [bad], lambda a: LA.pinv(a, stream=C))
case("pinv", [mx.zeros((2, 0, 3))], lambda a: LA.pinv(a, stream=C))

# ---------------------------------------------------------------- det / slogdet
for dt in (F32, F64):
    for n, batch, seed in ((1, (), 40), (2, (), 41), (3, (2,), 42), (4, (), 43), (6, (2,), 44)):
        a = rand(batch + (n, n), dt, seed) / 4
        # MLX's float64 exp and log are float32-accurate.
        g.case("det", [a], lambda a: LA.det(a, stream=C), rtol=1e-4 if dt == F32 else 1e-6,
               atol=1e-5 if dt == F32 else 1e-9, why="MLX's float64 exp/log are float32-accurate")
        case("slogdet", [a], lambda a: LA.slogdet(a, stream=C), dt)
    sing = mx.array(np.ones((5, 5))).astype(dt)
    case("slogdet", [sing], lambda a: LA.slogdet(a, stream=C), dt)
    g.case("det", [Input(rand((5, 5), dt, 45) / 4, {"kind": "transpose"})],
           lambda a: LA.det(a, stream=C), rtol=1e-4 if dt == F32 else 1e-6,
           atol=1e-5 if dt == F32 else 1e-9, why="MLX's float64 exp/log are float32-accurate")
for op in ("det", "slogdet"):
    f = getattr(LA, op)
    case(op, [rand((3, 3), mx.int32, 46)], lambda a, f=f: f(a, stream=C))
    case(op, [rand((5, 5), mx.int32, 46)], lambda a, f=f: f(a, stream=C), F32)
    case(op, [mx.zeros((0, 0))], lambda a, f=f: f(a, stream=C))
    case(op, [rand((3,), F32, 1)], lambda a, f=f: f(a, stream=C))
    case(op, [rand((2, 3), F32, 1)], lambda a, f=f: f(a, stream=C))
    case(op, [rand((2, 2), mx.complex64, 1)], lambda a, f=f: f(a, stream=C))

# ---------------------------------------------------------------- eigh / eigvalsh
def eigh_inv(a, uplo="L"):
    w, v = LA.eigh(a, UPLO=uplo, stream=C)
    return w, a @ v - v * w[..., None, :], mT(v) @ v


for dt in (F32, F64):
    for n, batch, seed in ((1, (), 50), (4, (), 51), (5, (3,), 52)):
        s = sym(n, dt, seed, batch)
        for uplo in ("L", "U"):
            case("eigh", [s], lambda a, u=uplo: eigh_inv(a, u), dt, UPLO=uplo)
        general = rand(batch + (n, n), dt, seed)
        for uplo in ("L", "U"):
            case("eigvalsh", [general], lambda a, u=uplo: LA.eigvalsh(a, UPLO=u, stream=C), dt,
                 UPLO=uplo)
    case("eigvalsh", [Input(sym(4, dt, 53), {"kind": "step", "axis": 1})],
         lambda a: LA.eigvalsh(a, stream=C), dt, UPLO="L")
for bad in (rand((3,), F32, 1), rand((2, 3), F32, 1), rand((2, 2), mx.int32, 1)):
    case("eigh", [bad], lambda a: eigh_inv(a), UPLO="L")
    case("eigvalsh", [bad], lambda a: LA.eigvalsh(a, stream=C), UPLO="L")


# ---------------------------------------------------------------- eig / eigvals
def sorted_parts(w):
    return mx.sort(mx.real(w), -1), mx.sort(mx.imag(w), -1)


def eig_inv(a):
    w, v = LA.eig(a, stream=C)
    ac = a.astype(mx.complex64)
    res = mx.abs(ac @ v - v * w[..., None, :])
    return (*sorted_parts(w), res, mx.sum(mx.abs(v) ** 2, -2))


for dt in (F32, F64):
    for n, batch, seed in ((1, (), 60), (3, (), 61), (4, (2,), 62)):
        a = rand(batch + (n, n), dt, seed)
        case("eig", [a], eig_inv, F32)
        case("eigvals", [a], lambda a: sorted_parts(LA.eigvals(a, stream=C)), F32)
    case("eigvals", [mx.array([[0.0, -1.0], [1.0, 0.0]], dtype=dt)],
         lambda a: sorted_parts(LA.eigvals(a, stream=C)), F32)
for bad in (rand((3,), F32, 1), rand((2, 3), F32, 1), rand((2, 2), mx.int32, 1)):
    case("eig", [bad], eig_inv)
    case("eigvals", [bad], lambda a: sorted_parts(LA.eigvals(a, stream=C)))

# ---------------------------------------------------------------- complex64
CX = mx.complex64
CTOL = {"rtol": 3e-4, "atol": 3e-4,
        "why": "float32 factorisations of complex matrices with entries up to 5 (LAPACK vs faer)"}


def mH(x):
    return mx.conj(mT(x))


def desc(s):
    return s[..., :-1] >= s[..., 1:]


def svd_c(a):
    u, s, vt = LA.svd(a, stream=C)
    k = s.shape[-1]
    recon = (u[..., :, :k] * s[..., None, :]) @ vt[..., :k, :]
    return s, recon, mH(u) @ u, vt @ mH(vt), desc(s)


def svd_s_c(a):
    s = LA.svd(a, compute_uv=False, stream=C)
    return s, desc(s)


def hermitian(a, uplo):
    """The Hermitian matrix LAPACK sees from the `uplo` triangle of `a` (real diagonal)."""
    t = mx.tril(a, -1) if uplo == "L" else mH(mx.triu(a, 1))
    n = a.shape[-1]
    d = mx.real(mx.diagonal(a, 0, -2, -1))[..., None, :] * mx.eye(n)
    return t + mH(t) + d.astype(CX)


def eigh_c(a, uplo):
    w, v = LA.eigh(a, UPLO=uplo, stream=C)
    h = hermitian(a, uplo)
    return w, h @ v - v * w[..., None, :].astype(CX), mH(v) @ v, w[..., 1:] >= w[..., :-1]


def eig_c(a):
    w, v = LA.eig(a, stream=C)
    v = mx.conj(v)  # MLX 0.32.4's complex eig vectors are conj(right eigenvectors)
    res = mx.abs(a @ v - v * w[..., None, :])
    return (*sorted_parts(w), res, mx.sum(mx.abs(v) ** 2, -2))


def ccase(op, inputs, fn, **kw):
    g.case(op, inputs, fn, kwargs=kw, **CTOL)


def herm_input(n, seed, batch=()):
    a = rand(batch + (n, n), CX, seed)
    return (a + mH(a)) / 2


seed = 200
for shape in ((1, 1), (2, 2), (3, 3), (5, 5), (8, 8), (5, 3), (3, 5), (2, 3, 3), (2, 1, 2, 4),
              (3, 5, 2), (2, 0, 3)):
    seed += 1
    ccase("svd_c", [rand(shape, CX, seed)], svd_c)
    ccase("svd_s_c", [rand(shape, CX, seed)], svd_s_c)
ccase("svd_c", [Input(rand((3, 4), CX, 230), {"kind": "transpose"})], svd_c)
for n, batch in ((1, ()), (2, ()), (3, ()), (5, ()), (8, ()), (3, (2,)), (4, (2, 1)), (0, ())):
    seed += 1
    general = rand(batch + (n, n), CX, seed)
    for uplo in ("L", "U"):
        ccase("eigh_c", [general], lambda a, u=uplo: eigh_c(a, u), UPLO=uplo)
        ccase("eigvalsh", [general], lambda a, u=uplo: LA.eigvalsh(a, UPLO=u, stream=C),
              UPLO=uplo)
    ccase("eigh_c", [herm_input(n, seed + 50, batch)], lambda a: eigh_c(a, "L"), UPLO="L")
    ccase("eig_c", [general], eig_c)
    ccase("eigvals", [general], lambda a: sorted_parts(LA.eigvals(a, stream=C)))
ccase("eigh_c", [Input(rand((4, 4), CX, 240), {"kind": "transpose"})],
      lambda a: eigh_c(a, "U"), UPLO="U")
ccase("eig_c", [Input(rand((4, 8), CX, 241), {"kind": "step", "axis": 1})], eig_c)
ccase("eig_c", [mx.array([[2, 1j], [0, 2]], dtype=CX)], eig_c)
# Matrix norms of complex matrices (the 2-norms and the nuclear norm go through the SVD).
cm = rand((2, 3, 4), CX, 245)
for o in ("nuc", 2, -2, "fro", 1, inf):
    g.case("norm", [cm], lambda a, o=o: LA.norm(a, ord=o, axis=(1, 2), stream=C),
           kwargs=norm_kw(o, (1, 2), False), **CTOL)
for o in (None, 1, 3):
    norm_case(rand((5,), CX, 246), o)
# The ops MLX keeps to float32 / float64 reject complex64.
cx = rand((3, 3), CX, 242)
case("qr", [cx], qr_inv)
case("inv", [cx], lambda a: LA.inv(a, stream=C))
case("tri_inv", [cx], lambda a: LA.tri_inv(a, stream=C), upper=False)
case("cholesky", [cx], lambda a: LA.cholesky(a, stream=C), upper=False)
case("cholesky_inv", [cx], lambda a: LA.cholesky_inv(a, stream=C), upper=False)
case("pinv", [cx], lambda a: LA.pinv(a, stream=C))
case("lu", [cx], lambda a: LA.lu(a, stream=C))
case("lu_factor", [cx], lambda a: LA.lu_factor(a, stream=C))
case("solve", [cx, rand((3,), CX, 243)], lambda a, b: LA.solve(a, b, stream=C))
case("solve", [rand((3, 3), F32, 244), rand((3,), CX, 243)], lambda a, b: LA.solve(a, b, stream=C))
case("solve_triangular", [cx, rand((3,), CX, 243)],
     lambda a, b: LA.solve_triangular(a, b, stream=C), upper=False)

# ---------------------------------------------------------------- lu
for dt in (F32, F64):
    for shape, seed in (((1, 1), 70), ((4, 4), 71), ((3, 5), 72), ((5, 3), 73), ((2, 4, 4), 74)):
        a = rand(shape, dt, seed)
        case("lu", [a], lambda a: LA.lu(a, stream=C), dt)
        case("lu_factor", [a], lambda a: LA.lu_factor(a, stream=C), dt)
    case("lu", [Input(rand((4, 4), dt, 75), {"kind": "transpose"})], lambda a: LA.lu(a, stream=C), dt)
    case("lu_factor", [mx.array(np.ones((3, 3))).astype(dt)], lambda a: LA.lu_factor(a, stream=C), dt)
for bad in (rand((3,), F32, 1), rand((2, 2), mx.int32, 1)):
    case("lu", [bad], lambda a: LA.lu(a, stream=C))
    case("lu_factor", [bad], lambda a: LA.lu_factor(a, stream=C))

# ---------------------------------------------------------------- solve
for dt in (F32, F64):
    for n, bshape, seed in ((1, (1,), 80), (3, (3,), 81), (4, (4, 2), 82), (3, (2, 3, 1), 83)):
        a = well(n, dt, seed)
        b = rand(bshape, dt, seed + 100)
        case("solve", [a, b], lambda a, b: LA.solve(a, b, stream=C), dt)
        for up in (False, True):
            t = tri(n, dt, seed, up)
            case("solve_triangular", [t, b],
                 lambda a, b, up=up: LA.solve_triangular(a, b, upper=up, stream=C), dt, upper=up)
    case("solve", [well(3, dt, 84, (2,)), rand((2, 3, 2), dt, 85)],
         lambda a, b: LA.solve(a, b, stream=C), dt)
case("solve", [well(3, F32, 86), rand((3,), F64, 87)], lambda a, b: LA.solve(a, b, stream=C), F32)
case("solve", [mx.zeros((2, 2)), mx.ones((2,))], lambda a, b: LA.solve(a, b, stream=C))
case("solve", [rand((2, 2), mx.int32, 1), rand((2,), mx.int32, 1)],
     lambda a, b: LA.solve(a, b, stream=C))
case("solve", [mx.eye(2), mx.ones((3,))], lambda a, b: LA.solve(a, b, stream=C))
case("solve", [mx.ones((2, 3)), mx.ones((3,))], lambda a, b: LA.solve(a, b, stream=C))
case("solve", [mx.ones((2,)), mx.ones((2,))], lambda a, b: LA.solve(a, b, stream=C))
case("solve", [mx.eye(2), mx.array(1.0)], lambda a, b: LA.solve(a, b, stream=C))
case("solve_triangular", [mx.eye(2), mx.ones((3,))],
     lambda a, b: LA.solve_triangular(a, b, stream=C), upper=False)

# ---------------------------------------------------------------- cross
def cross_case(a, b, axis=-1):
    g.case("cross", [a, b], lambda a, b: LA.cross(a, b, axis=axis), kwargs={"axis": axis})


cross_case(rand((3,), F32, 90), rand((3,), F32, 91))
cross_case(rand((4, 3), F32, 92), rand((3,), F32, 93))
cross_case(rand((3, 4), F64, 94), rand((3, 1), F64, 95), 0)
cross_case(rand((2,), F32, 96), rand((3,), F32, 97))
cross_case(rand((3,), F32, 96), rand((2,), F32, 97))
cross_case(rand((5, 2), F32, 98), rand((5, 2), F32, 99))
cross_case(rand((3,), mx.int32, 98), rand((3,), mx.int32, 99))
cross_case(rand((2, 3), mx.int32, 98), rand((3,), F32, 99))
cross_case(rand((4,), F32, 1), rand((3,), F32, 1))
cross_case(rand((3,), F32, 1), rand((3,), F32, 1), 2)
cross_case(rand((3,), F32, 1), rand((3,), F32, 1), -2)

g.save()
