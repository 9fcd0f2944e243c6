"""Golden cases for rmlx-nn from real MLX 0.32.4 (layers, losses, activations, init).

A family script (gen_nn_<family>.py) builds an `NnGoldens`, adds cases and saves
`crates/rmlx-nn/tests/goldens/<family>.npz` (arrays) and `<family>.json` (cases), replayed by
crates/rmlx-nn/tests/golden/<family>.rs through the harness in tests/golden/common.rs.

Case (JSON object):
  name       unique name
  layer      what the Rust side builds (a layer class name, or a function name)
  kwargs     the constructor's (or function's) arguments, JSON values
  inputs     npz keys of the call's array inputs, in order (None entries: JSON null)
  call       optional extra JSON for the call (e.g. {"mask": "causal"})
  params     [[dotted key, shape, dtype], ...] of layer.parameters(), in MLX's order
  trainable  dotted keys of layer.trainable_parameters()
  repr       str(layer)
  weights    {dotted key: npz key}: the layer's parameters (the Rust side loads them strictly)
  train      whether the layer is in training mode for the call
  seed       the global seed set right before the call (dropout), or null
  outputs    npz keys of the outputs (a layer returning a tuple has several)
  cotangents npz keys of the cotangents (one per output) when gradients were recorded
  grads      {"params": {dotted key: npz key}, "inputs": [npz key or null]}
  rtol, atol the float tolerance, with the reason in "why"
  error      the exception name when MLX raised (then "message" holds its text)

Gradients are of sum_i sum(output_i * cotangent_i) with respect to the trainable parameters
and the float inputs.

Run: python3 tools/goldens/gen_all.py   (needs `pip install "mlx[cpu]==0.32.4" numpy`)
"""
import json
import os

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten, tree_unflatten

HERE = os.path.dirname(os.path.abspath(__file__))
NN_DIR = os.path.join(HERE, "..", "..", "crates", "rmlx-nn", "tests", "goldens")


def dtype_name(d):
    return str(d).split(".")[-1]


def to_numpy(a):
    if a.dtype == mx.bfloat16:
        return np.array(a.view(mx.uint16))
    return np.array(a)


class NnGoldens:
    def __init__(self, family):
        self.family = family
        self.cases = []
        self.arrays = {}
        self.dtypes = {}

    def store(self, a, hint):
        """Stores array `a` under a fresh key; returns {"key", "dtype"}."""
        key = f"{len(self.arrays)}_{hint}"
        mx.eval(a)
        self.arrays[key] = to_numpy(a)
        return {"key": key, "dtype": dtype_name(a.dtype)}

    def layer(self, name, layer, kwargs, inputs, call=None, train=False, seed=None,
              grads=True, rtol=None, atol=None, why=None, call_fn=None, extra=None):
        """A layer case: `layer` was built by MLX from `kwargs` (its constructor's), and is
        called on `inputs` (arrays or None) as `call_fn(layer, *inputs)` (default
        `layer(*inputs)`)."""
        case = {"name": name, "layer": type(layer).__name__ if not isinstance(layer, str) else layer,
                "kwargs": kwargs, "call": call or {}, "train": train, "seed": seed}
        if extra:
            case.update(extra)
        layer.train(train)
        params = tree_flatten(layer.parameters())
        case["params"] = [[k, list(v.shape), dtype_name(v.dtype)] for k, v in params]
        case["trainable"] = [k for k, _ in tree_flatten(layer.trainable_parameters())]
        case["repr"] = str(layer)
        case["weights"] = {k: self.store(v, "w")["key"] for k, v in params}
        case["inputs"] = [None if x is None else self.store(x, "x") for x in inputs]
        fn = call_fn or (lambda l, *xs: l(*xs))
        try:
            if seed is not None:
                mx.random.seed(seed)
            out = fn(layer, *inputs)
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            mx.eval(outs)
        except Exception as e:  # noqa: BLE001 - recorded as the expected error
            case["error"] = type(e).__name__
            case["message"] = str(e)
            self.cases.append(case)
            return case
        case["outputs"] = [self.store(o, "y") for o in outs]
        float_inputs = [i for i, x in enumerate(inputs)
                        if x is not None and mx.issubdtype(x.dtype, mx.floating)]
        differentiable = float_inputs or tree_flatten(layer.trainable_parameters())
        if grads and differentiable and all(mx.issubdtype(o.dtype, mx.inexact) for o in outs):
            rng = np.random.default_rng(len(self.cases) + 7)
            cots = [mx.array(rng.standard_normal(o.shape).astype(np.float32)).astype(o.dtype)
                    for o in outs]
            trainable = layer.trainable_parameters()

            def loss(p, xs):
                layer.update(p)
                full = list(inputs)
                for i, x in zip(float_inputs, xs):
                    full[i] = x
                if seed is not None:
                    mx.random.seed(seed)
                o = fn(layer, *full)
                o = list(o) if isinstance(o, (tuple, list)) else [o]
                return sum((oi * ci).astype(mx.float32).sum() for oi, ci in zip(o, cots))

            xs = [inputs[i] for i in float_inputs]
            _, (gp, gx) = mx.value_and_grad(loss, argnums=(0, 1))(trainable, xs)
            layer.update(tree_unflatten(params))  # undo the tracers loss() put in
            case["cotangents"] = [self.store(c, "c") for c in cots]
            gin = [None] * len(inputs)
            for i, g in zip(float_inputs, gx):
                gin[i] = self.store(g, "gx")
            case["grads"] = {"params": {k: self.store(v, "gp") for k, v in tree_flatten(gp)},
                             "inputs": gin}
        if rtol is not None:
            case["rtol"] = rtol
        if atol is not None:
            case["atol"] = atol
        if why:
            case["why"] = why
        self.cases.append(case)
        return case

    def function(self, name, fn_name, kwargs, inputs, fn, grads=True, rtol=None, atol=None,
                 why=None, seed=None):
        """A function case (activation, loss, initializer): `fn(*inputs)` with MLX."""
        case = {"name": name, "layer": fn_name, "kwargs": kwargs, "call": {}, "seed": seed,
                "params": [], "trainable": [], "weights": {}, "train": False}
        case["inputs"] = [None if x is None else self.store(x, "x") for x in inputs]
        try:
            if seed is not None:
                mx.random.seed(seed)
            out = fn(*inputs)
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            mx.eval(outs)
        except Exception as e:  # noqa: BLE001
            case["error"] = type(e).__name__
            case["message"] = str(e)
            self.cases.append(case)
            return case
        case["outputs"] = [self.store(o, "y") for o in outs]
        float_inputs = [i for i, x in enumerate(inputs)
                        if x is not None and mx.issubdtype(x.dtype, mx.floating)]
        if grads and float_inputs and all(mx.issubdtype(o.dtype, mx.inexact) for o in outs):
            rng = np.random.default_rng(len(self.cases) + 7)
            cots = [mx.array(rng.standard_normal(o.shape).astype(np.float32)).astype(o.dtype)
                    for o in outs]

            def loss(xs):
                full = list(inputs)
                for i, x in zip(float_inputs, xs):
                    full[i] = x
                o = fn(*full)
                o = list(o) if isinstance(o, (tuple, list)) else [o]
                return sum((oi * ci).astype(mx.float32).sum() for oi, ci in zip(o, cots))

            gx = mx.grad(loss)([inputs[i] for i in float_inputs])
            case["cotangents"] = [self.store(c, "c") for c in cots]
            gin = [None] * len(inputs)
            for i, g in zip(float_inputs, gx):
                gin[i] = self.store(g, "gx")
            case["grads"] = {"params": {}, "inputs": gin}
        if rtol is not None:
            case["rtol"] = rtol
        if atol is not None:
            case["atol"] = atol
        if why:
            case["why"] = why
        self.cases.append(case)
        return case

    def save(self):
        os.makedirs(NN_DIR, exist_ok=True)
        np.savez(os.path.join(NN_DIR, f"{self.family}.npz"), **self.arrays)
        with open(os.path.join(NN_DIR, f"{self.family}.json"), "w") as f:
            json.dump({"mlx_version": mx.__version__, "cases": self.cases}, f, indent=0)
        print(f"{self.family}: {len(self.cases)} cases, {len(self.arrays)} arrays")


def randn(shape, seed=0, dtype=mx.float32, scale=1.0):
    rng = np.random.default_rng(seed)
    return mx.array((rng.standard_normal(shape) * scale).astype(np.float32)).astype(dtype)
