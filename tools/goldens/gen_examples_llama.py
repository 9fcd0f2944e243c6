"""Goldens for rmlx-examples' Llama model (crates/rmlx-examples/tests/llama.rs).

Needs the reference venv: /tmp/mlxenv (mlx==0.32.4, numpy). Run:
    /tmp/mlxenv/bin/python tools/goldens/gen_examples_llama.py

A tiny Llama written as mlx-lm's models/llama.py writes it (RMSNorm, grouped-query attention
with RoPE, SiLU-gated MLP, tied embedding), with random weights, and its outputs: the blocks
(norm, attention with traditional and half-split RoPE, attention through a KV cache, MLP, one
block), the model's logits, and the logits after nn.quantize (group 32, 4 bits).
Writes crates/rmlx-examples/tests/goldens/llama.npz (weights under the model's keys, inputs
and outputs under `in.*` / `out.*`).
"""
import os

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "crates", "rmlx-examples", "tests", "goldens", "llama.npz")

VOCAB, DIM, FFN, LAYERS, HEADS, KV_HEADS, HEAD_DIM = 61, 32, 64, 2, 4, 2, 8
EPS, THETA = 1e-5, 10000.0


class KVCache:
    def __init__(self):
        self.keys = None
        self.values = None
        self.offset = 0

    def update_and_fetch(self, k, v):
        if self.keys is None:
            self.keys, self.values = k, v
        else:
            self.keys = mx.concatenate([self.keys, k], axis=2)
            self.values = mx.concatenate([self.values, v], axis=2)
        self.offset += k.shape[2]
        return self.keys, self.values


class Attention(nn.Module):
    def __init__(self, traditional=True):
        super().__init__()
        self.q_proj = nn.Linear(DIM, HEADS * HEAD_DIM, bias=False)
        self.k_proj = nn.Linear(DIM, KV_HEADS * HEAD_DIM, bias=False)
        self.v_proj = nn.Linear(DIM, KV_HEADS * HEAD_DIM, bias=False)
        self.o_proj = nn.Linear(HEADS * HEAD_DIM, DIM, bias=False)
        self.traditional = traditional

    def __call__(self, x, cache=None):
        B, L, _ = x.shape
        q = self.q_proj(x).reshape(B, L, HEADS, -1).transpose(0, 2, 1, 3)
        k = self.k_proj(x).reshape(B, L, KV_HEADS, -1).transpose(0, 2, 1, 3)
        v = self.v_proj(x).reshape(B, L, KV_HEADS, -1).transpose(0, 2, 1, 3)
        offset = cache.offset if cache is not None else 0
        rope = lambda t: mx.fast.rope(
            t, HEAD_DIM, traditional=self.traditional, base=THETA, scale=1.0, offset=offset
        )
        q, k = rope(q), rope(k)
        if cache is not None:
            k, v = cache.update_and_fetch(k, v)
        mask = "causal" if L > 1 else None
        o = mx.fast.scaled_dot_product_attention(q, k, v, scale=HEAD_DIM**-0.5, mask=mask)
        return self.o_proj(o.transpose(0, 2, 1, 3).reshape(B, L, -1))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate_proj = nn.Linear(DIM, FFN, bias=False)
        self.up_proj = nn.Linear(DIM, FFN, bias=False)
        self.down_proj = nn.Linear(FFN, DIM, bias=False)

    def __call__(self, x):
        return self.down_proj(nn.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = Attention()
        self.mlp = MLP()
        self.input_layernorm = nn.RMSNorm(DIM, eps=EPS)
        self.post_attention_layernorm = nn.RMSNorm(DIM, eps=EPS)

    def __call__(self, x, cache=None):
        h = x + self.self_attn(self.input_layernorm(x), cache)
        return h + self.mlp(self.post_attention_layernorm(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB, DIM)
        self.layers = [Block() for _ in range(LAYERS)]
        self.norm = nn.RMSNorm(DIM, eps=EPS)

    def __call__(self, tokens, cache=None):
        h = self.embed_tokens(tokens)
        for i, layer in enumerate(self.layers):
            h = layer(h, cache[i] if cache else None)
        return self.embed_tokens.as_linear(self.norm(h))


def main():
    mx.random.seed(7)
    model = Llama()
    # Non-trivial norm weights.
    for m in [model.norm] + [l.input_layernorm for l in model.layers] + [
        l.post_attention_layernorm for l in model.layers
    ]:
        m.weight = 1.0 + 0.1 * mx.random.normal(m.weight.shape)
    mx.eval(model.parameters())
    weights = dict(tree_flatten(model.parameters()))

    tokens = mx.array([[3, 17, 42, 5, 60, 0, 29]], dtype=mx.uint32)
    x = mx.random.normal((1, 7, DIM))
    block = model.layers[0]
    attn = block.self_attn

    # Attention through a cache: 5 positions, then one at a time.
    cache = KVCache()
    parts = [attn(x[:, :5], cache), attn(x[:, 5:6], cache), attn(x[:, 6:7], cache)]
    attn_cached = mx.concatenate(parts, axis=1)

    halves = Attention(traditional=False)
    halves.update(attn.parameters())

    out = {
        "in.tokens": tokens,
        "in.x": x,
        "out.norm": block.input_layernorm(x),
        "out.attn": attn(x),
        "out.attn_halves": halves(x),
        "out.attn_cached": attn_cached,
        "out.mlp": block.mlp(x),
        "out.block": block(x),
        "out.logits": model(tokens),
    }
    nn.quantize(model, group_size=32, bits=4)
    out["out.logits_q4"] = model(tokens)
    qweights = dict(tree_flatten(model.parameters()))
    out["q.layers.1.mlp.down_proj.weight"] = qweights["layers.1.mlp.down_proj.weight"]
    out["q.layers.1.mlp.down_proj.scales"] = qweights["layers.1.mlp.down_proj.scales"]
    out["q.layers.1.mlp.down_proj.biases"] = qweights["layers.1.mlp.down_proj.biases"]
    arrays = {k: np.array(v) for k, v in {**weights, **out}.items()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    np.savez(OUT, **arrays)
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
