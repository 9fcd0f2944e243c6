"""Goldens for mx.random: keys, split, bits, and every sampler, for fixed keys over many
shapes (empty, odd sizes, scalars) and dtypes, the global key sequence after `seed`, vmap over
batched keys, and the errors MLX raises.

Python MLX does not expose `random.bits`; its C++ `random::bits` (widths 1, 2 and 4) is
recorded through tools/goldens/random_bits.cpp, compiled here against the wheel's libmlx.so.

Every case records a tolerance of 0: rmlx matches MLX bit for bit, the samplers that pass
through erfinv, erf and log included (rmlx's float32 erfinv is MLX's kernel, truncated_normal
takes erf of its bounds with MLX's float32 formula (the internal ErfMlx primitive; the public erf
is accurate), its log is glibc's logf, which MLX calls).
"""
import os
import subprocess
import tempfile

import numpy as np
import mlx.core as mx
from golden import Goldens

g = Goldens("random")
HERE = os.path.dirname(os.path.abspath(__file__))

FLOATS = [mx.float32, mx.float16, mx.bfloat16]
SHAPES = [(), (0,), (1,), (3,), (4,), (5,), (2, 3), (3, 0, 2), (7, 5), (33,), (2, 3, 4)]


def key(seed):
    return mx.random.key(seed)


def dname(d):
    return str(d).split(".")[-1]


def exact(op, inputs, fn, **kw):
    g.case(op, inputs, fn, kwargs=kw, rtol=0.0, atol=0.0)


def ulp(op, inputs, fn, tol_dtype, **kw):
    """A sampler through erfinv/erf/log; bit for bit too (tol_dtype documents the output)."""
    del tol_dtype
    exact(op, inputs, fn, **kw)


# ---- keys and split -------------------------------------------------------------------
for s in [0, 1, 42, 2 ** 32 + 7, 2 ** 64 - 1, 123456789]:
    exact("key", [], lambda s=s: mx.random.key(s), seed=s)
for s in [0, 5, 2 ** 40 + 3]:
    for num in [0, 1, 2, 3, 5]:
        exact("split", [key(s)], lambda k, num=num: mx.random.split(k, num), num=num)
exact("split", [key(3)], lambda k: mx.random.split(k), num=2)
# Keys that are not (2,) uint32.
exact("split", [mx.array([1, 2])], lambda k: mx.random.split(k, 2), num=2)
exact("split", [mx.zeros((3, 2), mx.uint32)], lambda k: mx.random.split(k, 2), num=2)
exact("split", [mx.array([1, 2, 3], mx.uint32)], lambda k: mx.random.split(k, 2), num=2)

# ---- bits through the C++ API ---------------------------------------------------------
def build_bits_tool():
    mlx_dir = os.path.dirname(mx.__file__)
    out = os.path.join(tempfile.mkdtemp(), "random_bits")
    subprocess.run(["g++", "-std=c++20", "-O1", "-I", os.path.join(mlx_dir, "include"),
                    os.path.join(HERE, "random_bits.cpp"), "-L", os.path.join(mlx_dir, "lib"),
                    "-lmlx", "-Wl,-rpath," + os.path.join(mlx_dir, "lib"), "-o", out],
                   check=True)
    return out


TOOL = build_bits_tool()
BITS_DT = {1: np.uint8, 2: np.uint16, 4: np.uint32}
for (k0, k1) in [(0, 0), (7, 9), (4294967295, 12345)]:
    for width in [1, 2, 4]:
        for shape in [(), (0,), (1,), (2,), (3,), (5,), (6,), (7,), (9,), (2, 3), (3, 5), (1000,),
                      (3, 333)]:
            raw = subprocess.run([TOOL, str(k0), str(k1), str(width)] + [str(d) for d in shape],
                                 check=True, capture_output=True).stdout
            want = np.frombuffer(raw, dtype=BITS_DT[width]).reshape(shape)
            k = mx.array([k0, k1], dtype=mx.uint32)
            exact("bits", [k], lambda k, want=want: mx.array(want), shape=list(shape),
                  width=width)
# Errors of bits (as the C++ API raises them).
for shape, width in [((2,), 3), ((2,), 8), ((-1,), 4)]:
    rec = {"name": f"bits_{len(g.cases)}", "op": "bits", "kwargs": {"shape": list(shape),
                                                                   "width": width}}
    ins, _ = g.record_inputs([key(0)])
    rec["inputs"] = ins
    rec["error"] = "ValueError"
    g.cases.append(rec)

# ---- uniform --------------------------------------------------------------------------
for dt in FLOATS:
    for shape in SHAPES:
        exact("uniform", [0, 1, key(1)],
              lambda lo, hi, k, shape=shape, dt=dt: mx.random.uniform(lo, hi, shape, dt, key=k),
              shape=list(shape), dtype=dname(dt))
for lo, hi in [(-3.5, 2.0), (5, 7), (2.0, -2.0), (0.0, 0.0), (-1e30, 1e30)]:
    exact("uniform", [lo, hi, key(9)],
          lambda a, b, k: mx.random.uniform(a, b, (17,), key=k), shape=[17], dtype="float32")
exact("uniform", [mx.array([[0.0], [10.0], [-5.0]]), mx.array([1.0, 2.0]), key(4)],
      lambda a, b, k: mx.random.uniform(a, b, (3, 2), key=k), shape=[3, 2], dtype="float32")
exact("uniform", [mx.array([0, 1], mx.int32), mx.array(3, mx.int8), key(4)],
      lambda a, b, k: mx.random.uniform(a, b, (5, 2), mx.float16, key=k), shape=[5, 2],
      dtype="float16")
for k0 in [0, 2, 77, 1234567]:
    exact("uniform", [0, 1, key(k0)],
          lambda a, b, k: mx.random.uniform(a, b, (257,), key=k), shape=[257], dtype="float32")
# Errors.
for dt, shape, lo in [(mx.int32, (2,), 0), (mx.float64, (2,), 0), (mx.float32, (-2,), 0),
                      (mx.float32, (2,), mx.zeros((3,))), (mx.float32, (2,), mx.zeros((1, 2)))]:
    exact("uniform", [lo, 1, key(1)],
          lambda a, b, k, shape=shape, dt=dt: mx.random.uniform(a, b, shape, dt, key=k),
          shape=list(shape), dtype=dname(dt))
for bad in [mx.array([1, 2]), mx.array([1, 2, 3], mx.uint32), mx.zeros((2, 2), mx.uint32)]:
    exact("uniform", [0, 1, bad], lambda a, b, k: mx.random.uniform(a, b, (2,), key=k),
          shape=[2], dtype="float32")

# ---- normal ---------------------------------------------------------------------------
for dt in FLOATS + [mx.float64]:
    for shape in SHAPES:
        ulp("normal", [key(2)], lambda k, shape=shape, dt=dt: mx.random.normal(shape, dt, key=k),
            dt, shape=list(shape), dtype=dname(dt))
for k0 in [0, 3, 99]:
    ulp("normal", [key(k0)], lambda k: mx.random.normal((1000,), key=k), mx.float32,
        shape=[1000], dtype="float32")
for dt in [mx.float32, mx.float16]:
    ulp("normal", [key(5), 2.5, 0.5],
        lambda k, l, s, dt=dt: mx.random.normal((3, 4), dt, loc=l, scale=s, key=k), dt,
        shape=[3, 4], dtype=dname(dt))
ulp("normal", [key(5), mx.array([0.0, 10.0, -10.0]), mx.array([[1.0], [3.0]])],
    lambda k, l, s: mx.random.normal((2, 3), loc=l, scale=s, key=k), mx.float32,
    shape=[2, 3], dtype="float32")
ulp("normal", [key(6)], lambda k: mx.random.normal((3, 2), mx.complex64, key=k), mx.float32,
    shape=[3, 2], dtype="complex64")
ulp("normal", [key(6), 1.0, 2.0],
    lambda k, l, s: mx.random.normal((5,), mx.complex64, loc=l, scale=s, key=k), mx.float32,
    shape=[5], dtype="complex64")
for dt in [mx.int32, mx.bool_]:
    ulp("normal", [key(1)], lambda k, dt=dt: mx.random.normal((2,), dt, key=k), dt,
        shape=[2], dtype=dname(dt))
ulp("normal", [key(1), mx.zeros((3,)), 1.0],
    lambda k, l, s: mx.random.normal((2,), loc=l, scale=s, key=k), mx.float32, shape=[2],
    dtype="float32")

# ---- randint --------------------------------------------------------------------------
for dt in [mx.int32, mx.int8, mx.uint8, mx.int16, mx.uint16, mx.uint32, mx.int64, mx.uint64,
           mx.bool_]:
    for shape in [(), (0,), (5,), (3, 4)]:
        exact("randint", [0, 100 if dt != mx.bool_ else 2, key(3)],
              lambda a, b, k, shape=shape, dt=dt: mx.random.randint(a, b, shape, dt, key=k),
              shape=list(shape), dtype=dname(dt))
for lo, hi in [(-5, 5), (5, 2), (0, 1), (-(2 ** 31), 2 ** 31 - 1), (10, 10)]:
    exact("randint", [lo, hi, key(8)], lambda a, b, k: mx.random.randint(a, b, (50,), key=k),
          shape=[50], dtype="int32")
exact("randint", [mx.array([0, 10, 100]), mx.array([[5], [20]]), key(8)],
      lambda a, b, k: mx.random.randint(a, b, (2, 3), key=k), shape=[2, 3], dtype="int32")
exact("randint", [0, 10, key(8)], lambda a, b, k: mx.random.randint(a, b, (2,), mx.float32, key=k),
      shape=[2], dtype="float32")
exact("randint", [mx.zeros((3,), mx.int32), 10, key(8)],
      lambda a, b, k: mx.random.randint(a, b, (2,), key=k), shape=[2], dtype="int32")

# ---- bernoulli ------------------------------------------------------------------------
for p in [0.5, 0.0, 1.0, 0.1, 0.999]:
    for shape in [None, (), (0,), (7,), (3, 5)]:
        exact("bernoulli", [p, key(4)],
              lambda p, k, shape=shape: mx.random.bernoulli(p, shape, key=k),
              shape=None if shape is None else list(shape))
for p in [mx.array([0.0, 0.25, 0.5, 0.75, 1.0]), mx.array([[0.3], [0.9]], mx.float16),
          mx.array([0.5, 2.0, -1.0], mx.bfloat16), mx.array([0.2, 0.7], mx.float64)]:
    exact("bernoulli", [p, key(5)], lambda p, k: mx.random.bernoulli(p, key=k), shape=None)
exact("bernoulli", [mx.array([[0.3], [0.9]]), key(5)],
      lambda p, k: mx.random.bernoulli(p, (2, 4), key=k), shape=[2, 4])
for p, shape in [(1, (2,)), (mx.array([0.5, 0.2]), (3,)), (mx.array([0.5, 0.2]), (3, 2))]:
    exact("bernoulli", [p, key(5)], lambda p, k, shape=shape: mx.random.bernoulli(p, shape, key=k),
          shape=list(shape))

# ---- truncated_normal -----------------------------------------------------------------
for dt in FLOATS:
    for shape in [(), (0,), (5,), (3, 4), (100,)]:
        ulp("truncated_normal", [-1.0, 1.0, key(6)],
            lambda a, b, k, shape=shape, dt=dt: mx.random.truncated_normal(a, b, shape, dt, key=k),
            dt, shape=list(shape), dtype=dname(dt))
for lo, hi in [(-2.0, 0.5), (0.0, 3.0), (-0.1, 0.1), (1.0, 5.0)]:
    ulp("truncated_normal", [lo, hi, key(7)],
        lambda a, b, k: mx.random.truncated_normal(a, b, (64,), key=k), mx.float32, shape=[64],
        dtype="float32")
ulp("truncated_normal", [mx.array([-1.0, -2.0, 0.0]), mx.array([[1.0], [0.5]]), key(7)],
    lambda a, b, k: mx.random.truncated_normal(a, b, key=k), mx.float32, shape=None,
    dtype="float32")
for dt, shape, lo in [(mx.int32, (2,), -1.0), (mx.float32, (2,), mx.zeros((3,))),
                      (mx.float64, (2,), -1.0)]:
    ulp("truncated_normal", [lo, 1.0, key(7)],
        lambda a, b, k, shape=shape, dt=dt: mx.random.truncated_normal(a, b, shape, dt, key=k),
        dt, shape=list(shape), dtype=dname(dt))

# ---- gumbel, laplace ------------------------------------------------------------------
for dt in FLOATS:
    for shape in [(), (0,), (5,), (3, 4), (200,)]:
        ulp("gumbel", [key(8)], lambda k, shape=shape, dt=dt: mx.random.gumbel(shape, dt, key=k),
            dt, shape=list(shape), dtype=dname(dt))
        ulp("laplace", [key(9)], lambda k, shape=shape, dt=dt: mx.random.laplace(shape, dt, key=k),
            dt, shape=list(shape), dtype=dname(dt), loc=0.0, scale=1.0)
for loc, scale in [(1.5, 2.0), (-3.0, 0.25), (0.0, 3.0), (2.0, 1.0)]:
    ulp("laplace", [key(10)],
        lambda k, loc=loc, scale=scale: mx.random.laplace((50,), loc=loc, scale=scale, key=k),
        mx.float32, shape=[50], dtype="float32", loc=loc, scale=scale)
ulp("laplace", [key(10)], lambda k: mx.random.laplace((9,), mx.float64, key=k), mx.float64,
    shape=[9], dtype="float64", loc=0.0, scale=1.0)
for dt in [mx.int32]:
    ulp("gumbel", [key(8)], lambda k: mx.random.gumbel((2,), mx.int32, key=k), dt, shape=[2],
        dtype="int32")
    ulp("laplace", [key(8)], lambda k: mx.random.laplace((2,), mx.int32, key=k), dt, shape=[2],
        dtype="int32", loc=0.0, scale=1.0)

# ---- categorical ----------------------------------------------------------------------
rng = np.random.default_rng(0)
L2 = mx.array(rng.normal(size=(4, 6)).astype(np.float32))
L1 = mx.array(rng.normal(size=(10,)).astype(np.float32))
L3 = mx.array(rng.normal(size=(2, 5, 3)).astype(np.float32))
for logits, axis in [(L2, -1), (L2, 0), (L1, 0), (L3, 1), (L3, -1), (L3, 0)]:
    exact("categorical", [logits, key(11)],
          lambda l, k, axis=axis: mx.random.categorical(l, axis, key=k), axis=axis)
for logits, axis, shape in [(L2, -1, (4,)), (L2, -1, (3, 4)), (L1, 0, (7,)), (L1, 0, (2, 3)),
                            (L3, 1, (5, 2, 3)), (L2, -1, (2,))]:
    exact("categorical", [logits, key(12)],
          lambda l, k, axis=axis, shape=shape: mx.random.categorical(l, axis, shape=shape, key=k),
          axis=axis, shape=list(shape))
for logits, axis, n in [(L2, -1, 5), (L1, 0, 8), (L3, 2, 3), (L2, 0, 1), (L2, -1, 0)]:
    exact("categorical", [logits, key(13)],
          lambda l, k, axis=axis, n=n: mx.random.categorical(l, axis, num_samples=n, key=k),
          axis=axis, num_samples=n)
# Infinite and half-precision logits.
LI = mx.array([0.0, float("inf"), 1.0, float("inf")])
exact("categorical", [LI, key(14)], lambda l, k: mx.random.categorical(l, 0, num_samples=6, key=k),
      axis=0, num_samples=6)
exact("categorical", [mx.array([[0.0, -float("inf"), 2.0]] * 3), key(14)],
      lambda l, k: mx.random.categorical(l, key=k), axis=-1)
exact("categorical", [L2.astype(mx.float16), key(15)],
      lambda l, k: mx.random.categorical(l, key=k), axis=-1)
exact("categorical", [L1.astype(mx.bfloat16), key(15)],
      lambda l, k: mx.random.categorical(l, 0, num_samples=4, key=k), axis=0, num_samples=4)
exact("categorical", [L2, key(15)], lambda l, k: mx.random.categorical(l, 2, key=k), axis=2)
exact("categorical", [mx.zeros((0, 4)), key(15)], lambda l, k: mx.random.categorical(l, key=k),
      axis=-1)

# ---- permutation ----------------------------------------------------------------------
for n in [0, 1, 2, 5, 16, 100, 1001]:
    exact("permutation", [key(16)], lambda k, n=n: mx.random.permutation(n, key=k), n=n)
X = mx.arange(24).reshape(2, 3, 4)
for axis in [0, 1, 2, -1]:
    exact("permutation_of", [X, key(17)],
          lambda x, k, axis=axis: mx.random.permutation(x, axis, key=k), axis=axis)
exact("permutation_of", [mx.array(1.0), key(17)], lambda x, k: mx.random.permutation(x, 0, key=k),
      axis=0)
exact("permutation_of", [X, key(17)], lambda x, k: mx.random.permutation(x, 3, key=k), axis=3)

# ---- the global key sequence ----------------------------------------------------------
def sequence(s):
    mx.random.seed(s)
    a = mx.random.uniform(shape=(3,))
    b = mx.random.normal((2, 2))
    c = mx.random.randint(0, 10, (4,))
    d = mx.random.permutation(6)
    e = mx.random.bernoulli(0.3, (5,))
    return [a, b, c, d, e]


for s in [0, 1, 2 ** 63 + 5]:
    g.case("seed_sequence", [], lambda s=s: sequence(s), kwargs={"seed": s}, rtol=0.0, atol=0.0)

# ---- vmap over keys -------------------------------------------------------------------
keys = mx.random.split(key(18), 4)
exact("vmap_uniform", [keys], lambda ks: mx.vmap(
    lambda k: mx.random.uniform(shape=(3,), key=k))(ks), shape=[3], in_axis=0)
exact("vmap_uniform", [keys.T], lambda ks: mx.vmap(
    lambda k: mx.random.uniform(shape=(2, 3), key=k), in_axes=1)(ks), shape=[2, 3], in_axis=1)
exact("vmap_uniform", [keys], lambda ks: mx.vmap(
    lambda k: mx.random.uniform(shape=(5,), key=k), out_axes=1)(ks), shape=[5], in_axis=0,
      out_axis=1)
exact("vmap_split", [keys], lambda ks: mx.vmap(lambda k: mx.random.split(k, 3))(ks), num=3,
      in_axis=0)
nested = mx.random.split(key(19), 6).reshape(2, 3, 2)
exact("vmap2_uniform", [nested], lambda ks: mx.vmap(mx.vmap(
    lambda k: mx.random.uniform(shape=(4,), key=k)))(ks), shape=[4])

# ---- multivariate_normal (through an SVD: floats within a tolerance) -------------------
_r = np.random.default_rng(7)


def spd(*batch, n=3):
    a = _r.standard_normal(batch + (n, n)).astype(np.float32)
    return mx.array(a @ np.swapaxes(a, -1, -2) + n * np.eye(n, dtype=np.float32))


def mvn(inputs, shape, dtype=mx.float32, **extra):
    g.case("multivariate_normal", inputs + [key(20)],
           lambda m, c, k: mx.random.multivariate_normal(m, c, shape, dtype, key=k),
           kwargs={"shape": list(shape), "dtype": dname(dtype)}, rtol=1e-4, atol=1e-4,
           why="the covariance's square root comes from an SVD (LAPACK in MLX, faer in rmlx)")


mvn([mx.array([1.0, -2.0, 0.5]), spd()], (5,))
mvn([mx.array(_r.standard_normal((2, 3)).astype(np.float32)), spd()], ())
mvn([mx.array([0.0, 1.0, 2.0]), spd(2)], (4, 2))
mvn([mx.array([0.0, 1.0, 2.0]), spd()], (2,), mx.float16)
mvn([mx.array(1.0), spd()], ())
mvn([mx.array([1.0, 2.0, 3.0]), mx.array([1.0, 2.0, 3.0])], ())
mvn([mx.array([1.0, 2.0, 3.0]), mx.zeros((3, 2))], ())
mvn([mx.array([1.0, 2.0]), spd()], ())

g.save()
