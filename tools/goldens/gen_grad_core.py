"""Goldens of MLX 0.32.4's transforms over representative functions of the core ops: grad
(argnums), value_and_grad, jvp, vmap (in/out axes, None), their nestings (grad of grad,
vmap of grad, grad of vmap, jvp of grad), MLX's conventions at kinks and ties (abs, maximum,
max/min reductions, where), the dtypes of gradients (float16, bfloat16, integer inputs), and
the errors MLX raises for misuse.

Case encoding: op "<transform>_<fn>" with kwargs "np" (how many leading inputs are the
transformed arguments), "argnums", "in_axes"/"out_axes" (-1 for None) and the function's own
parameters. For jvp the inputs are the primals then the tangents.
"""
import mlx.core as mx
import numpy as np
from golden import Goldens

g = Goldens("grad_core")
rng = np.random.default_rng(11)


def rnd(*shape, lo=-1.0, hi=1.0, dtype=mx.float32):
    return mx.array(rng.uniform(lo, hi, shape).astype(np.float32)).astype(dtype)


# Functions by name; each takes its arrays and returns one array (a scalar for grad).
def fn_poly(x, y):
    return mx.sum(x * x * x - 2 * x * y + mx.sin(y))


def fn_mlp(x, w1, b1, w2):
    return mx.sum(mx.square(mx.tanh(x @ w1 + b1) @ w2))


def fn_softmax_xent(logits, target):
    return mx.mean(mx.logsumexp(logits, axis=-1) - mx.sum(mx.softmax(logits, axis=-1) * target, axis=-1))


def fn_norm(x):
    return mx.sum(x * mx.rsqrt(mx.mean(x * x, axis=-1, keepdims=True) + 1e-5) * mx.arange(x.shape[-1]))


def fn_kinks(x, y):
    return mx.sum(mx.abs(x) + mx.maximum(x, y) + mx.minimum(x, 0.0) + mx.where(x > 0, x * y, y))


def fn_reduce_ties(x):
    return mx.sum(mx.max(x, axis=0)) + mx.sum(mx.min(x, axis=1, keepdims=True)) + mx.max(x)


def fn_shapes(x, y):
    z = mx.concatenate([x.T, y[::2]], axis=0)
    z = mx.broadcast_to(z.reshape(1, *z.shape), (2, *z.shape))
    return mx.sum(mx.cumsum(z, axis=1, reverse=True) * mx.arange(z.size).reshape(z.shape))


def fn_binary_mix(x, y):
    return mx.sum(mx.power(mx.abs(x) + 0.5, y) + mx.logaddexp(x, y) + mx.arctan2(x, y + 2)
                  + mx.remainder(x * 3, 0.7) + mx.clip(x, -0.3, 0.4) * y)


def fn_unary_mix(x):
    return mx.sum(mx.exp(x) * mx.log1p(x * x) + mx.erf(x) + mx.sigmoid(x) * mx.cos(x)
                  + mx.sqrt(x * x + 1) + mx.arcsinh(x) + mx.expm1(x))


def fn_prod_mean_var(x):
    return mx.sum(mx.var(x, axis=0)) + mx.mean(mx.exp(x)) + mx.sum(mx.logsumexp(x, axis=1))


def fn_cast(x):
    return mx.sum(mx.square(x.astype(mx.float16)).astype(mx.float32) * 3)


def fn_int_scale(x, k):
    return mx.sum(x * k)


# Vector functions for jvp/vmap (any output shape).
def fn_vec_mlp(x, w, b):
    return mx.tanh(x @ w + b)


def fn_vec_rows(x, y):
    return mx.softmax(x, axis=-1) * y + mx.max(x, axis=-1, keepdims=True)


def fn_vec_mix(x):
    return mx.cumsum(mx.sin(x), axis=0) + x.T.sum(axis=0)


FNS = {k[3:]: v for k, v in globals().items() if k.startswith("fn_")}


def grad(name, fn, args, argnums=0, **kw):
    an = argnums if isinstance(argnums, int) else list(argnums)
    g.case("grad_" + fn, args, lambda *a: mx.grad(FNS[fn], argnums=argnums)(*a),
           kwargs={"argnums": an, **kw}, name=name, rtol=2e-5, atol=1e-6)


def value_and_grad(name, fn, args, argnums=0):
    def run(*a):
        v, gr = mx.value_and_grad(FNS[fn], argnums=argnums)(*a)
        return [v] + (list(gr) if isinstance(gr, (list, tuple)) else [gr])
    an = argnums if isinstance(argnums, int) else list(argnums)
    g.case("vag_" + fn, args, run, kwargs={"argnums": an}, name=name, rtol=2e-5, atol=1e-6)


def jvp(name, fn, primals, tangents):
    n = len(primals)

    def run(*a):
        outs, tans = mx.jvp(FNS[fn], list(a[:n]), list(a[n:]))
        return list(outs) + list(tans)
    g.case("jvp_" + fn, list(primals) + list(tangents), run, kwargs={"np": n}, name=name,
           rtol=2e-5, atol=1e-6)


def vmap(name, fn, args, in_axes, out_axes=0):
    g.case("vmap_" + fn, args,
           lambda *a: mx.vmap(FNS[fn], in_axes=tuple(in_axes), out_axes=out_axes)(*a),
           kwargs={"in_axes": [-1 if a is None else a for a in in_axes],
                   "out_axes": -1 if out_axes is None else out_axes},
           name=name, rtol=2e-5, atol=1e-6)


# grad / value_and_grad.
x, y = rnd(3, 4), rnd(3, 4)
grad("poly x", "poly", [x, y])
grad("poly y", "poly", [x, y], argnums=1)
grad("poly both", "poly", [x, y], argnums=(0, 1))
grad("poly negative argnum", "poly", [x, y], argnums=-1)
value_and_grad("poly value_and_grad", "poly", [x, y], argnums=(1, 0))
grad("mlp all", "mlp", [rnd(5, 3), rnd(3, 4), rnd(4), rnd(4, 2)], argnums=(0, 1, 2, 3))
grad("softmax cross-entropy", "softmax_xent", [rnd(4, 6, lo=-3, hi=3), rnd(4, 6, lo=0, hi=1)])
grad("rms normalise", "norm", [rnd(3, 5)])
kx = mx.array(np.array([[0.0, 1.0, -0.5, 0.25], [0.5, 0.0, -1.0, 0.3]], np.float32))
ky = mx.array(np.array([[0.0, 1.0, 0.5, -0.25], [0.5, 0.2, -1.0, 0.3]], np.float32))
grad("kinks and ties", "kinks", [kx, ky], argnums=(0, 1))
tx = mx.array(np.array([[1.0, 3.0, 3.0], [3.0, -2.0, -2.0], [0.5, 3.0, -2.0]], np.float32))
grad("max/min ties", "reduce_ties", [tx])
grad("shape ops", "shapes", [rnd(4, 3), rnd(6, 4)], argnums=(0, 1))
grad("binary mix", "binary_mix", [rnd(3, 4), rnd(3, 4)], argnums=(0, 1))
grad("unary mix", "unary_mix", [rnd(2, 5)])
grad("var mean logsumexp", "prod_mean_var", [rnd(4, 3)])
grad("float16 cast inside", "cast", [rnd(3, 2)])
grad("float16 input", "poly", [rnd(3, 2, dtype=mx.float16), rnd(3, 2, dtype=mx.float16)])
grad("bfloat16 input", "poly", [rnd(3, 2, dtype=mx.bfloat16), rnd(3, 2, dtype=mx.bfloat16)])
grad("float64 input", "poly", [rnd(3, 2, dtype=mx.float64), rnd(3, 2, dtype=mx.float64)])
grad("integer input", "int_scale", [mx.array([[1, 2], [3, 4]]), mx.array(3)])
grad("integer scale", "int_scale", [rnd(2, 2), mx.array(3)], argnums=1)

# jvp.
jvp("jvp mlp", "vec_mlp", [rnd(2, 3), rnd(3, 4), rnd(4)], [rnd(2, 3), rnd(3, 4), rnd(4)])
jvp("jvp rows", "vec_rows", [rnd(3, 5), rnd(3, 5)], [rnd(3, 5), rnd(3, 5)])
jvp("jvp mix", "vec_mix", [rnd(4, 4)], [rnd(4, 4)])
jvp("jvp kinks", "kinks", [kx, ky], [rnd(2, 4), rnd(2, 4)])
jvp("jvp ties", "reduce_ties", [tx], [rnd(3, 3)])

# vmap.
vmap("vmap mlp rows", "vec_mlp", [rnd(6, 2, 3), rnd(3, 4), rnd(4)], [0, None, None])
vmap("vmap mlp weights", "vec_mlp", [rnd(2, 3), rnd(3, 4, 5), rnd(5, 4)], [None, 2, 0], out_axes=1)
vmap("vmap rows axis 1", "vec_rows", [rnd(3, 4, 5), rnd(3, 5)], [1, None], out_axes=2)
vmap("vmap mix axis 2", "vec_mix", [rnd(4, 4, 3)], [2])
vmap("vmap poly", "poly", [rnd(5, 3, 4), rnd(3, 4, 5)], [0, 2])

# Nestings.
g.case("hess_poly", [x, y], lambda a, b: mx.grad(lambda u, v: mx.sum(mx.grad(fn_poly)(u, v)))(a, b),
       name="grad of grad", rtol=2e-5, atol=1e-6)
g.case("vmapgrad_poly", [rnd(5, 3, 4), rnd(3, 4)],
       lambda a, b: mx.vmap(mx.grad(fn_poly), in_axes=(0, None))(a, b), name="vmap of grad",
       rtol=2e-5, atol=1e-6)
g.case("gradvmap_vec_mlp", [rnd(6, 2, 3), rnd(3, 4), rnd(4)],
       lambda a, w, b: mx.grad(lambda w_: mx.sum(mx.vmap(fn_vec_mlp, in_axes=(0, None, None))(a, w_, b)))(w),
       name="grad of vmap", rtol=2e-5, atol=1e-6)
g.case("jvpgrad_poly", [x, y, rnd(3, 4)],
       lambda a, b, t: mx.jvp(lambda u: mx.grad(fn_poly)(u, b), [a], [t])[1][0],
       name="jvp of grad", rtol=2e-5, atol=1e-6)

# Errors.
g.case("grad_vec_mix", [rnd(3, 3)], lambda a: mx.grad(fn_vec_mix)(a), kwargs={"argnums": 0},
       name="grad of a non-scalar")
g.case("grad_poly", [x, y], lambda a, b: mx.grad(fn_poly, argnums=2)(a, b), kwargs={"argnums": 2},
       name="argnums out of range")
g.case("vjpbad_vec_mix", [rnd(3, 3), rnd(2, 3)],
       lambda a, c: mx.vjp(fn_vec_mix, [a], [c])[1][0], name="cotangent of the wrong shape")
g.case("jvp_vec_mix", [rnd(3, 3), rnd(3, 2)], lambda a, t: mx.jvp(fn_vec_mix, [a], [t])[1][0],
       kwargs={"np": 1}, name="tangent of the wrong shape")
g.case("vmap_vec_mix", [rnd(4, 4, 3)], lambda a: mx.vmap(fn_vec_mix, in_axes=(3,))(a),
       kwargs={"in_axes": [3], "out_axes": 0}, name="in_axes out of range")
g.case("vmap_vec_rows", [rnd(3, 4), rnd(2, 4)], lambda a, b: mx.vmap(fn_vec_rows)(a, b),
       kwargs={"in_axes": [0, 0], "out_axes": 0}, name="mismatched batch sizes")

g.save()
