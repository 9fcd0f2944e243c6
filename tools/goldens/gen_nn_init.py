"""Goldens for rmlx-nn's initializers (nn.init.*): the values after mx.random.seed(k) (the
same global-key draws as MLX), shapes, dtypes, fan computation and MLX's errors."""
import mlx.core as mx
import mlx.nn as nn

from nn_golden import NnGoldens

g = NnGoldens("nn_init")
I = nn.init
DT = {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}


def case(name, init_name, make_kw, shape, call_kw=None, dtype="float32", seed=0, **extra):
    """`nn.init.<init_name>(**make_kw, dtype=...)(zeros(shape), **call_kw)`."""
    call_kw = call_kw or {}
    init = getattr(I, init_name)(**make_kw, dtype=DT[dtype])
    kwargs = {"make": make_kw, "call": call_kw, "dtype": dtype}
    g.function(name, init_name, kwargs, [mx.zeros(shape)], lambda a: init(a, **call_kw),
               grads=False, seed=seed, **extra)


case("constant", "constant", {"value": 0.5}, (2, 3))
case("constant_f16", "constant", {"value": -3.25}, (4,), dtype="float16")
case("normal_default", "normal", {}, (3, 4), seed=1)
case("normal_mean_std", "normal", {"mean": 2.0, "std": 0.5}, (5, 2), seed=2)
case("normal_bf16", "normal", {"mean": -1.0, "std": 3.0}, (4, 4), dtype="bfloat16", seed=3)
case("uniform_default", "uniform", {}, (3, 4), seed=4)
case("uniform_range", "uniform", {"low": -2.0, "high": 5.0}, (6,), seed=5)
case("uniform_f16", "uniform", {"low": -1.0, "high": 1.0}, (2, 5), dtype="float16", seed=6)
case("identity", "identity", {}, (4, 4))
case("identity_f16", "identity", {}, (3, 3), dtype="float16")
case("identity_not_square", "identity", {}, (3, 4))
case("identity_1d", "identity", {}, (3,))
for init_name in ("glorot_normal", "glorot_uniform"):
    case(f"{init_name}_2d", init_name, {}, (4, 6), seed=7)
    case(f"{init_name}_gain", init_name, {}, (3, 5), {"gain": 2.5}, seed=8)
    case(f"{init_name}_4d", init_name, {}, (8, 3, 3, 2), seed=9)
    case(f"{init_name}_f16", init_name, {}, (4, 4), dtype="float16", seed=10)
    case(f"{init_name}_1d", init_name, {}, (5,))
for init_name in ("he_normal", "he_uniform"):
    case(f"{init_name}_fan_in", init_name, {}, (4, 6), seed=11)
    case(f"{init_name}_fan_out", init_name, {}, (4, 6), {"mode": "fan_out"}, seed=12)
    case(f"{init_name}_3d_gain", init_name, {}, (6, 2, 5), {"mode": "fan_in", "gain": 0.5},
         seed=13)
    case(f"{init_name}_3d_fan_out", init_name, {}, (6, 2, 5), {"mode": "fan_out", "gain": 3.0},
         seed=14)
    case(f"{init_name}_bf16", init_name, {}, (4, 4), dtype="bfloat16", seed=15)
    case(f"{init_name}_bad_mode", init_name, {}, (4, 4), {"mode": "fan_avg"})
    case(f"{init_name}_0d", init_name, {}, ())
case("sparse_half", "sparse", {"sparsity": 0.5}, (4, 6), seed=16)
case("sparse_tenth", "sparse", {"sparsity": 0.1, "mean": 1.0, "std": 0.2}, (3, 10), seed=17)
case("sparse_zero", "sparse", {"sparsity": 0.0}, (2, 3), seed=18)
case("sparse_all", "sparse", {"sparsity": 1.0}, (2, 3), seed=19)
case("sparse_f16", "sparse", {"sparsity": 0.3}, (3, 4), dtype="float16", seed=20)
case("sparse_3d", "sparse", {"sparsity": 0.5}, (2, 3, 4))
case("orthogonal_square", "orthogonal", {}, (4, 4), seed=21, rtol=1e-4, atol=1e-5,
     why="QR of the same normal draw by another algorithm")
case("orthogonal_tall", "orthogonal", {"gain": 2.0}, (6, 3), seed=22, rtol=1e-4, atol=1e-5,
     why="QR of the same normal draw by another algorithm")
case("orthogonal_wide", "orthogonal", {}, (2, 5), dtype="float16", seed=23)
case("orthogonal_1d", "orthogonal", {}, (4,))
g.save()
