"""Goldens for rmlx-optimizers from real MLX 0.32.4: for each optimizer and option set, the
parameters and the flattened optimizer state after 1, 2 and 5 updates from fixed parameters
and fixed (per-step different) gradients; schedules' values over their steps;
clip_grad_norm; MLX's errors.

Output: crates/rmlx-optimizers/tests/goldens/optimizers.{json,npz}
Format: {"params": {flat key: npz key}, "grads": [{flat key: npz key}, ...] (one per step),
  "cases": [{"name", "kind": "optimizer", "optimizer": name, "options": {...},
             "lr": float | {"schedule": name, "args": [...]} | null, "dtype": "float32"|...,
             "checkpoints": [{"step": n, "params": {flat: npz}, "state": {flat: npz}}]}
           | {"name", "kind": "error", "call": name, "args": [...], "kwargs": {...},
              "error": class, "message": str}
           | {"name", "kind": "schedule", "schedule": name, "args": [...], "steps": n,
              "values": npz key}
           | {"name", "kind": "clip", "grads": {flat: npz}, "max_norm": x,
              "clipped": {flat: npz}, "norm": npz key}]}
Run: cd tools/goldens && /tmp/mlxenv/bin/python gen_optimizers.py
"""
import json
import os

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
from mlx.utils import tree_flatten

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "..", "crates", "rmlx-optimizers", "tests", "goldens")

arrays = {}


def store(a):
    # bfloat16 arrays are stored as their uint16 bits under a key starting with "bf".
    if isinstance(a, mx.array) and a.dtype == mx.bfloat16:
        key = f"bf{len(arrays)}"
        arrays[key] = np.array(a.view(mx.uint16))
        return key
    key = f"a{len(arrays)}"
    arrays[key] = np.array(a)
    return key


def store_flat(tree):
    return {k: store(v) for k, v in tree_flatten(tree)}


def randn(shape, seed, scale=1.0):
    return mx.array(np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * scale)


def make_params():
    return {
        "w": randn((3, 4), 1),
        "b": randn((4,), 2),
        "conv": randn((2, 2, 3), 3),
        "layers": [randn((2, 2), 4), {"x": randn((3,), 5)}],
    }


def make_grads(step):
    p = make_params()
    flat = tree_flatten(p)
    from mlx.utils import tree_unflatten
    return tree_unflatten([(k, randn(v.shape, 100 + 10 * step + i, 0.5))
                           for i, (k, v) in enumerate(flat)])


STEPS = 5
PARAMS = make_params()
GRADS = [make_grads(s) for s in range(STEPS)]

SCHEDULES = {
    "cosine_decay": optim.cosine_decay,
    "exponential_decay": optim.exponential_decay,
    "step_decay": optim.step_decay,
    "linear_schedule": optim.linear_schedule,
}

OPTIMIZERS = {
    "SGD": optim.SGD, "RMSprop": optim.RMSprop, "Adagrad": optim.Adagrad,
    "AdaDelta": optim.AdaDelta, "Adam": optim.Adam, "AdamW": optim.AdamW,
    "Adamax": optim.Adamax, "Lion": optim.Lion, "Adafactor": optim.Adafactor,
    "Muon": optim.Muon,
}


def make_lr(lr):
    if isinstance(lr, dict):
        return SCHEDULES[lr["schedule"]](*lr["args"])
    return lr


def make_optimizer(name, lr, options):
    if name == "Multi":
        subs = [make_optimizer(o["optimizer"], o["lr"], o["options"]) for o in options["optimizers"]]
        filters = [(lambda sub: (lambda path, g: sub in path))(f) for f in options["filters"]]
        return optim.MultiOptimizer(subs, filters)
    kw = dict(options)
    if lr is not None:
        kw["learning_rate"] = make_lr(lr)
    return OPTIMIZERS[name](**kw)


cases = []
HEADER_PARAMS = store_flat(PARAMS)
HEADER_GRADS = [store_flat(g) for g in GRADS]


def opt_case(name, optimizer, lr, options, dtype="float32"):
    opt = make_optimizer(optimizer, lr, options)
    dt = getattr(mx, dtype)
    from mlx.utils import tree_map
    params = tree_map(lambda a: a.astype(dt), PARAMS)
    checkpoints = []
    for s in range(STEPS):
        grads = tree_map(lambda a: a.astype(dt), GRADS[s])
        params = tree_merge_update(params, opt.apply_gradients(grads, params))
        mx.eval(params, opt.state)
        if s + 1 in (1, 2, 5):
            checkpoints.append({"step": s + 1, "params": store_flat(params),
                                "state": store_flat(opt.state)})
    cases.append({"name": name, "kind": "optimizer", "optimizer": optimizer, "lr": lr,
                  "options": options, "dtype": dtype, "checkpoints": checkpoints})


def tree_merge_update(params, new):
    from mlx.utils import tree_merge
    return tree_merge(params, new, lambda a, b: b)


def error_case(name, call, args, kwargs=None):
    kwargs = kwargs or {}
    fn = {**OPTIMIZERS, **SCHEDULES, "join_schedules": optim.join_schedules,
          "MultiOptimizer": optim.MultiOptimizer, "clip_grad_norm": optim.clip_grad_norm}[call]
    real_args = list(args)
    if call == "MultiOptimizer":
        real_args = [[optim.SGD(0.1) for _ in range(args[0])],
                     [(lambda p, g: True) for _ in range(args[1])]]
    if call == "join_schedules":
        real_args = [[optim.exponential_decay(0.1, 0.9) for _ in range(args[0])], args[1]]
    if call == "clip_grad_norm":
        real_args = [{"w": mx.array([1.0])}, args[0]]
    try:
        fn(*real_args, **kwargs)
        raise SystemExit(f"{name}: expected an error")
    except (ValueError, TypeError) as e:
        cases.append({"name": name, "kind": "error", "call": call, "args": args,
                      "kwargs": kwargs, "error": type(e).__name__, "message": str(e)})


# ---- optimizers and option sets
opt_case("sgd_default", "SGD", 0.1, {})
opt_case("sgd_momentum", "SGD", 0.1, {"momentum": 0.9})
opt_case("sgd_all", "SGD", 0.05, {"momentum": 0.8, "weight_decay": 0.01, "dampening": 0.1})
opt_case("sgd_nesterov", "SGD", 0.05, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1})
opt_case("sgd_negative_lr", "SGD", -0.1, {})
opt_case("sgd_f16", "SGD", 0.1, {"momentum": 0.9}, dtype="float16")
opt_case("sgd_bf16", "SGD", 0.1, {"momentum": 0.9, "weight_decay": 0.01}, dtype="bfloat16")
opt_case("rmsprop_default", "RMSprop", 0.01, {})
opt_case("rmsprop_opts", "RMSprop", 0.02, {"alpha": 0.9, "eps": 1e-5})
opt_case("adagrad_default", "Adagrad", 0.1, {})
opt_case("adagrad_eps", "Adagrad", 0.1, {"eps": 1e-2})
opt_case("adadelta_default", "AdaDelta", 1.0, {})
opt_case("adadelta_opts", "AdaDelta", 0.5, {"rho": 0.5, "eps": 1e-4})
opt_case("adam_default", "Adam", 0.01, {})
opt_case("adam_bias_correction", "Adam", 0.01, {"bias_correction": True})
opt_case("adam_opts", "Adam", 0.02, {"betas": [0.5, 0.9], "eps": 1e-3, "bias_correction": True})
opt_case("adam_f16", "Adam", 0.01, {"bias_correction": True}, dtype="float16")
opt_case("adam_bf16", "Adam", 0.01, {}, dtype="bfloat16")
opt_case("adamw_f16", "AdamW", 0.01, {"weight_decay": 0.1}, dtype="float16")
opt_case("lion_bf16", "Lion", 0.01, {"weight_decay": 0.1}, dtype="bfloat16")
opt_case("adafactor_f16", "Adafactor", None, {"beta_1": 0.9}, dtype="float16")
opt_case("adam_cosine", "Adam", {"schedule": "cosine_decay", "args": [0.1, 4, 0.01]}, {})
opt_case("adam_step_decay", "Adam", {"schedule": "step_decay", "args": [0.1, 0.5, 2]}, {})
opt_case("adamw_default", "AdamW", 0.01, {})
opt_case("adamw_opts", "AdamW", 0.01, {"weight_decay": 0.1, "betas": [0.8, 0.99],
                                       "bias_correction": True})
opt_case("adamax_default", "Adamax", 0.01, {})
opt_case("adamax_opts", "Adamax", 0.02, {"betas": [0.5, 0.9], "eps": 1e-3})
opt_case("lion_default", "Lion", 0.01, {})
opt_case("lion_wd", "Lion", 0.01, {"betas": [0.8, 0.9], "weight_decay": 0.1})
opt_case("adafactor_default", "Adafactor", None, {})
opt_case("adafactor_lr", "Adafactor", 0.01, {"relative_step": False})
opt_case("adafactor_beta1", "Adafactor", None, {"beta_1": 0.9, "weight_decay": 0.1})
opt_case("adafactor_warmup", "Adafactor", None, {"warmup_init": True, "scale_parameter": False})
opt_case("adafactor_opts", "Adafactor", 0.05,
         {"relative_step": False, "clip_threshold": 0.5, "decay_rate": -0.5,
          "eps": [1e-20, 1e-2], "scale_parameter": False})
opt_case("muon_default", "Muon", 0.02, {})
opt_case("muon_opts", "Muon", 0.05, {"momentum": 0.9, "weight_decay": 0.0, "nesterov": False,
                                     "ns_steps": 3})
opt_case("multi", "Multi", None, {
    "optimizers": [{"optimizer": "SGD", "lr": 0.1, "options": {"momentum": 0.9}},
                   {"optimizer": "Adam", "lr": 0.01, "options": {}}],
    "filters": ["layers"]})
opt_case("multi3", "Multi", None, {
    "optimizers": [{"optimizer": "Muon", "lr": 0.02, "options": {}},
                   {"optimizer": "Lion", "lr": 0.01, "options": {}},
                   {"optimizer": "AdamW", "lr": 0.01, "options": {}}],
    "filters": ["conv", "b"]})

# ---- errors
error_case("sgd_nesterov_no_momentum", "SGD", [0.1], {"nesterov": True})
error_case("sgd_nesterov_dampening", "SGD", [0.1], {"momentum": 0.9, "nesterov": True,
                                                    "dampening": 0.1})
error_case("rmsprop_alpha", "RMSprop", [0.1], {"alpha": -0.5})
error_case("rmsprop_eps", "RMSprop", [0.1], {"eps": 0.0})
error_case("adagrad_eps", "Adagrad", [0.1], {"eps": -1e-8})
error_case("adadelta_rho", "AdaDelta", [0.1], {"rho": -0.1})
error_case("adadelta_eps", "AdaDelta", [0.1], {"eps": 0.0})
error_case("adam_beta1", "Adam", [0.1], {"betas": [1.0, 0.999]})
error_case("adam_beta2", "Adam", [0.1], {"betas": [0.9, -0.5]})
error_case("adam_eps", "Adam", [0.1], {"eps": -1e-05})
error_case("adamw_beta", "AdamW", [0.1], {"betas": [0.9, 1.5]})
error_case("adamax_beta", "Adamax", [0.1], {"betas": [1.0, 0.9]})
error_case("lion_beta", "Lion", [0.1], {"betas": [0.9, 1.0]})
error_case("multi_filters", "MultiOptimizer", [3, 1])
error_case("multi_filters_many", "MultiOptimizer", [1, 1])
error_case("step_decay_size", "step_decay", [0.1, 0.9, 0])
error_case("cosine_decay_steps", "cosine_decay", [0.1, 0])
error_case("linear_schedule_steps", "linear_schedule", [0.0, 1.0, -2])
error_case("join_none", "join_schedules", [0, []])
error_case("join_boundaries", "join_schedules", [2, [3, 4]])
error_case("clip_negative", "clip_grad_norm", [-1.0])

# ---- schedules over their steps
def schedule_case(name, sched, args, steps, fn=None):
    s = fn if fn is not None else SCHEDULES[sched](*args)
    vals = mx.stack([s(mx.array(i, mx.uint64)) for i in range(steps)])
    cases.append({"name": name, "kind": "schedule", "schedule": sched, "args": args,
                  "steps": steps, "values": store(vals)})


schedule_case("cosine", "cosine_decay", [0.1, 10], 15)
schedule_case("cosine_end", "cosine_decay", [0.1, 10, 0.02], 15)
schedule_case("cosine_up", "cosine_decay", [0.01, 7, 0.1], 10)
schedule_case("exponential", "exponential_decay", [0.1, 0.9], 12)
schedule_case("step", "step_decay", [0.1, 0.5, 3], 12)
schedule_case("linear", "linear_schedule", [0.0, 0.1, 8], 12)
schedule_case("linear_down", "linear_schedule", [1.0, -1.0, 5], 8)
schedule_case("join", "join_schedules",
              [[["linear_schedule", [0.0, 0.1, 5]], ["cosine_decay", [0.1, 10, 0.0]]], [5]], 20,
              optim.join_schedules([optim.linear_schedule(0.0, 0.1, 5),
                                    optim.cosine_decay(0.1, 10)], [5]))
schedule_case("join3", "join_schedules",
              [[["linear_schedule", [0.0, 0.1, 3]], ["exponential_decay", [0.1, 0.5]],
                ["step_decay", [0.02, 0.5, 2]]], [3, 7]], 14,
              optim.join_schedules([optim.linear_schedule(0.0, 0.1, 3),
                                    optim.exponential_decay(0.1, 0.5),
                                    optim.step_decay(0.02, 0.5, 2)], [3, 7]))

# ---- clip_grad_norm
def clip_case(name, grads, max_norm):
    clipped, norm = optim.clip_grad_norm(grads, max_norm)
    cases.append({"name": name, "kind": "clip", "grads": store_flat(grads), "max_norm": max_norm,
                  "clipped": store_flat(clipped), "norm": store(norm)})


clip_case("clip_scaled", GRADS[0], 1.0)
clip_case("clip_unchanged", GRADS[1], 100.0)
clip_case("clip_zero", GRADS[2], 0.0)
from mlx.utils import tree_map  # noqa: E402
clip_case("clip_f16", tree_map(lambda a: (a * 300).astype(mx.float16), GRADS[3]), 2.0)

os.makedirs(OUT_DIR, exist_ok=True)
np.savez(os.path.join(OUT_DIR, "optimizers.npz"), **arrays)
with open(os.path.join(OUT_DIR, "optimizers.json"), "w") as f:
    json.dump({"mlx_version": mx.__version__, "params": HEADER_PARAMS, "grads": HEADER_GRADS,
               "cases": cases}, f, indent=0)
print(f"optimizers: {len(cases)} cases, {len(arrays)} arrays")
