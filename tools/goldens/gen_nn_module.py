"""Goldens for the Module API (rmlx-nn's module.rs) from MLX 0.32.4: trees, orders, printing,
freezing, update/load_weights errors, on one nested model that tests/module_api.rs rebuilds."""
import json
import os

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten

from nn_golden import NN_DIR


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(2, 3)
        self.extra = [nn.Linear(3, 3), nn.Identity()]
        self.table = {"a": nn.Linear(3, 1), "b": nn.Linear(1, 1, bias=False)}
        self.scale = mx.ones((3,))
        self.stats = {"m": mx.zeros((2,)), "v": mx.ones((2,))}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = [Block(), Block()]
        self.head = nn.Linear(3, 1, bias=False)

    def __call__(self, x):
        # The same forward as tests/module_api.rs's `Model::forward`.
        b0, b1 = self.blocks
        h = b0.extra[0](b0.proj(x)) * b0.scale
        h = b1.extra[0](h) + b1.table["a"](h) + b1.stats["m"].sum()
        return self.head(h)


def keys(tree):
    return [k for k, _ in tree_flatten(tree)]


def err(f):
    try:
        f()
    except Exception as e:  # noqa: BLE001
        return [type(e).__name__, str(e)]
    return None


out = {}
m = Model()
out["parameters"] = [[k, list(v.shape)] for k, v in tree_flatten(m.parameters())]
out["trainable"] = keys(m.trainable_parameters())
out["named_modules"] = [k for k, _ in m.named_modules()]
out["module_types"] = [type(v).__name__ for v in m.modules()]
out["leaf_modules"] = [k for k, _ in tree_flatten(m.leaf_modules(), is_leaf=nn.Module.is_module)]
out["children"] = [k for k, _ in tree_flatten(m.children(), is_leaf=nn.Module.is_module)]
out["repr"] = str(m)

steps = {}
m.freeze(keys=["bias"])
steps["freeze_bias"] = keys(m.trainable_parameters())
m.unfreeze()
steps["unfreeze_all"] = keys(m.trainable_parameters())
m.blocks[0].freeze()
steps["freeze_block0"] = keys(m.trainable_parameters())
m.blocks[0].unfreeze(keys=["scale"], recurse=False)
steps["unfreeze_block0_scale"] = keys(m.trainable_parameters())
m.unfreeze()
m.freeze(recurse=False)
steps["freeze_root_only"] = keys(m.trainable_parameters())
m.blocks[1].freeze(recurse=False)
steps["freeze_block1_own"] = keys(m.trainable_parameters())
m.unfreeze()
m.freeze(keys=["stats"], strict=True)
steps["freeze_stats_strict"] = keys(m.trainable_parameters())
m.unfreeze()
steps["freeze_missing_strict"] = err(lambda: m.freeze(keys=["nope"], strict=True))
steps["freeze_missing_lax"] = err(lambda: m.freeze(keys=["nope"]))
steps["blocks0_freeze_missing_strict_norecurse"] = err(
    lambda: m.blocks[0].freeze(keys=["weight"], strict=True, recurse=False))
m.unfreeze()
out["freeze_steps"] = steps

errors = {}
errors["update_unknown"] = err(lambda: m.update({"nope": mx.zeros((1,))}))
errors["update_unknown_lax"] = err(lambda: m.update({"nope": mx.zeros((1,))}, strict=False))
errors["update_list_for_array"] = err(lambda: m.update({"head": {"weight": [mx.zeros((1,))]}}))
errors["update_out_of_bounds"] = err(lambda: m.update({"blocks": [{}, {}, {}]}))
errors["update_array_for_module"] = err(lambda: m.update({"head": mx.zeros((1,))}))
params = tree_flatten(m.parameters())
errors["load_missing"] = err(lambda: m.load_weights(params[1:]))
errors["load_extra"] = err(lambda: m.load_weights(params + [("extra.w", mx.zeros((1,)))]))
bad = [(k, mx.zeros((7,)) if k == "head.weight" else v) for k, v in params]
errors["load_bad_shape"] = err(lambda: m.load_weights(bad))
errors["load_lax_subset"] = err(lambda: m.load_weights(params[:2], strict=False))
out["errors"] = errors

m.train(False)
out["training_after_eval"] = [v.training for v in m.modules()]
m.blocks[1].train(True)
out["training_after_block1_train"] = [v.training for v in m.modules()]

# Interop: weights MLX saves load strictly into rmlx's Model and give MLX's outputs; files
# rmlx wrote (RMLX_WRITE_NN_FILES=1 cargo test -p rmlx-nn --test module_api) load strictly in
# MLX and give the outputs rmlx recorded beside them.
mx.random.seed(3)
m = Model()
x = mx.random.normal((4, 2))
m.save_weights(os.path.join(NN_DIR, "nn_module_mlx_weights.safetensors"))
m.save_weights(os.path.join(NN_DIR, "nn_module_mlx_weights.npz"))
mx.savez(os.path.join(NN_DIR, "nn_module_mlx_io.npz"), x=x, y=m(x))
written = os.path.join(NN_DIR, "rmlx_written")
if os.path.isdir(written):
    io = mx.load(os.path.join(written, "io.npz"))
    for ext in ["npz", "safetensors"]:
        other = Model()
        other.load_weights(os.path.join(written, f"weights.{ext}"), strict=True)
        err = mx.abs(other(io["x"]) - io["y"]).max().item()
        assert err < 1e-5, (ext, err)
    print("rmlx-written weights load strictly in MLX and give rmlx's outputs")

os.makedirs(NN_DIR, exist_ok=True)
with open(os.path.join(NN_DIR, "nn_module.json"), "w") as f:
    json.dump(out, f, indent=1)
print("nn_module:", len(out), "sections")
