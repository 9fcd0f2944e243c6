"""Goldens for rmlx-nn's activation functions (nn.relu, ...) and layers (nn.ReLU, ...)."""
import mlx.core as mx
import mlx.nn as nn

from nn_golden import NnGoldens, randn

g = NnGoldens("nn_activations")

# name -> (function, kwargs variants: each a dict of the function's keyword arguments)
FUNCS = {
    "sigmoid": [{}], "relu": [{}], "relu2": [{}], "relu6": [{}],
    "leaky_relu": [{}, {"negative_slope": 0.2}],
    "log_softmax": [{}, {"axis": 0}],
    "elu": [{}, {"alpha": 0.5}],
    "softmax": [{}, {"axis": 0}],
    "softplus": [{}], "softsign": [{}],
    "softshrink": [{}, {"lambd": 1.25}],
    "celu": [{}, {"alpha": 2.0}],
    "silu": [{}], "log_sigmoid": [{}], "gelu": [{}], "gelu_approx": [{}],
    "gelu_fast_approx": [{}],
    "glu": [{}, {"axis": 0}],
    "step": [{}, {"threshold": 0.5}],
    "selu": [{}], "mish": [{}], "hardswish": [{}],
    "hard_tanh": [{}, {"min_val": -0.5, "max_val": 2.0}],
    "hard_shrink": [{}, {"lambd": 1.0}],
    "softmin": [{}, {"axis": 0}],
    "tanh": [{}],
}

x = randn((4, 6), seed=1, scale=3.0)
finite_edges = mx.array([[0.0, 1e-3, -1e-3, 5.0, -5.0, 20.0],
                         [-20.0, 50.0, -50.0, 100.0, -100.0, 0.5]])
nonfinite = mx.array([[float("nan"), float("inf"), float("-inf"), 0.0, 1e4, -1e4]])

for fname, variants in FUNCS.items():
    f = getattr(nn, fname)
    for i, kw in enumerate(variants):
        g.function(f"{fname}_{i}", fname, kw, [x], lambda a, f=f, kw=kw: f(a, **kw))
    kw = variants[-1]
    g.function(f"{fname}_edges", fname, kw, [finite_edges], lambda a, f=f, kw=kw: f(a, **kw),
               rtol=1e-4, atol=1e-5)
    # MLX 0.32.4 segfaults on these (compiled, shapeless) after earlier shapes
    if fname not in ("log_softmax", "softmax", "softmin"):
        g.function(f"{fname}_nonfinite", fname, kw, [nonfinite],
                   lambda a, f=f, kw=kw: f(a, **kw), grads=False)
    for dt in (mx.float16, mx.bfloat16):
        g.function(f"{fname}_{str(dt).split('.')[-1]}",
                   fname, variants[0], [randn((2, 6), seed=2, dtype=dt, scale=2.0)],
                   lambda a, f=f, kw=variants[0]: f(a, **kw))

# prelu with an alpha per channel (gradients for both)
g.function("prelu_scalar_alpha", "prelu", {}, [x, mx.array([0.25])], nn.prelu)
g.function("prelu_channel_alpha", "prelu", {}, [x, randn((6,), seed=3)], nn.prelu)
g.function("prelu_edges", "prelu", {}, [finite_edges, mx.array([0.1])], nn.prelu)
# integer inputs keep MLX's dtype rules
xi = mx.array([[-3, -1, 0, 2, 7, 9]])
for fname in ("relu", "relu6", "relu2", "step", "hard_tanh", "leaky_relu", "softsign"):
    g.function(f"{fname}_int32", fname, {}, [xi], getattr(nn, fname))
# errors
g.function("glu_odd_axis", "glu", {}, [randn((2, 5), seed=4)], nn.glu)
g.function("softmax_bad_axis", "softmax", {"axis": 3}, [x], lambda a: nn.softmax(a, axis=3))
g.function("log_softmax_bad_axis", "log_softmax", {"axis": -3}, [x],
           lambda a: nn.log_softmax(a, axis=-3))

# layers
x3 = randn((2, 3, 4), seed=5, scale=2.0)
LAYERS = [
    ("ReLU", {}), ("ReLU2", {}), ("ReLU6", {}), ("Sigmoid", {}), ("Mish", {}),
    ("Softmax", {}), ("Softplus", {}), ("Softsign", {}), ("SiLU", {}), ("LogSoftmax", {}),
    ("LogSigmoid", {}), ("Tanh", {}), ("Hardswish", {}), ("SELU", {}), ("HardTanh", {}),
    ("Softmin", {}),
    ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.3}),
    ("ELU", {}), ("ELU", {"alpha": 0.7}), ("CELU", {}), ("CELU", {"alpha": 1.5}),
    ("Softshrink", {}), ("Softshrink", {"lambd": 1.0}),
    ("HardShrink", {}), ("HardShrink", {"lambd": 1.0}),
    ("Step", {}), ("Step", {"threshold": 0.7}),
    ("GLU", {}), ("GLU", {"axis": 1}), ("GLU", {"axis": 0}),
    ("GELU", {}), ("GELU", {"approx": "precise"}), ("GELU", {"approx": "tanh"}),
    ("GELU", {"approx": "fast"}),
    ("PReLU", {}), ("PReLU", {"num_parameters": 4, "init": 0.1}),
]
for i, (cls, kw) in enumerate(LAYERS):
    layer = getattr(nn, cls)(**kw)
    if cls == "PReLU":
        layer.weight = randn(layer.weight.shape, seed=20 + i)
    g.layer(f"{cls}_{i}", layer, kw, [x3])
g.layer("PReLU_train", nn.PReLU(4), {"num_parameters": 4}, [x3], train=True)
g.layer("GELU_float16", nn.GELU(), {}, [x3.astype(mx.float16)])
g.layer("GLU_odd", nn.GLU(axis=1), {"axis": 1}, [x3])
try:
    nn.GELU(approx="exact")
except ValueError as e:
    g.cases.append({"name": "GELU_bad_approx", "layer": "GELU", "kwargs": {"approx": "exact"},
                    "call": {}, "train": False, "seed": None, "params": [], "trainable": [],
                    "weights": {}, "inputs": [], "error": "ValueError", "message": str(e)})
g.save()
