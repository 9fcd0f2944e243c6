"""Goldens for rmlx-nn's sequence layers, in three files: nn_seq (Embedding, Bilinear, RoPE,
SinusoidalPositionalEncoding, ALiBi), nn_transformer (MultiHeadAttention and the transformer
layers) and nn_recurrent (RNN, GRU, LSTM)."""
import re

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from nn_golden import NnGoldens, randn

g = NnGoldens("nn_seq")
ACT = {"relu": nn.relu, "gelu": nn.gelu, "tanh": nn.tanh, "sigmoid": nn.sigmoid, "silu": nn.silu}


def ints(shape, high, seed, dtype=mx.int32):
    rng = np.random.default_rng(seed)
    return mx.array(rng.integers(0, high, size=shape)).astype(dtype)


def bools(shape, seed):
    rng = np.random.default_rng(seed)
    m = rng.random(shape) < 0.7
    m[..., 0] = True  # every query sees at least one key
    return mx.array(m)


# ----- Embedding -----
for i, (n, d, shape, dt) in enumerate([(10, 4, (3,), mx.int32), (7, 3, (2, 5), mx.int32),
                                       (5, 2, (2, 2, 3), mx.uint32), (4, 6, (6,), mx.int64)]):
    mx.random.seed(100 + i)
    layer = nn.Embedding(n, d)
    g.layer(f"embedding_{n}x{d}_{len(shape)}d_{str(dt).split('.')[-1]}", layer,
            {"num_embeddings": n, "dims": d}, [ints(shape, n, i, dt)])
mx.random.seed(110)
layer = nn.Embedding(6, 4)
g.layer("embedding_as_linear", layer, {"num_embeddings": 6, "dims": 4}, [randn((3, 4), seed=11)],
        call={"as_linear": True}, call_fn=lambda l, x: l.as_linear(x))
g.layer("embedding_float_indices", layer, {"num_embeddings": 6, "dims": 4},
        [randn((3,), seed=12)])

# ----- Bilinear -----
for i, (a, b, o, bias, lead) in enumerate([(3, 2, 4, True, (5,)), (2, 5, 1, False, (3,)),
                                           (4, 3, 2, True, (2, 3)), (1, 1, 3, True, ())]):
    mx.random.seed(120 + i)
    layer = nn.Bilinear(a, b, o, bias=bias)
    g.layer(f"bilinear_{a}_{b}_{o}_bias{bias}_{len(lead)}lead", layer,
            {"input1_dims": a, "input2_dims": b, "output_dims": o, "bias": bias},
            [randn(lead + (a,), seed=20 + i), randn(lead + (b,), seed=30 + i)])

for i, dt in enumerate([mx.float16, mx.bfloat16]):
    name = str(dt).split(".")[-1]
    mx.random.seed(130 + i)
    layer = nn.Embedding(5, 4)
    layer.set_dtype(dt)
    g.layer(f"embedding_{name}", layer, {"num_embeddings": 5, "dims": 4, "dtype": name},
            [ints((2, 3), 5, 13 + i)])
    mx.random.seed(140 + i)
    layer = nn.Bilinear(3, 2, 4)
    layer.set_dtype(dt)
    g.layer(f"bilinear_{name}", layer,
            {"input1_dims": 3, "input2_dims": 2, "output_dims": 4, "bias": True, "dtype": name},
            [randn((5, 3), seed=24 + i, dtype=dt), randn((5, 2), seed=34 + i, dtype=dt)],
            rtol=3e-2, atol=3e-2, why="half-precision matmuls")

# ----- RoPE -----
for i, (dims, trad, base, scale, offset, shape, dt) in enumerate([
    (8, False, 10000, 1.0, 0, (2, 5, 8), mx.float32),
    (8, True, 10000, 1.0, 3, (2, 5, 8), mx.float32),
    (4, False, 500.0, 0.5, 1, (1, 2, 3, 6), mx.float32),
    (6, True, 10000, 2.0, 0, (3, 6), mx.float32),
    (8, False, 10000, 1.0, 2, (2, 4, 8), mx.float16),
]):
    layer = nn.RoPE(dims, traditional=trad, base=base, scale=scale)
    g.layer(f"rope_{dims}_trad{trad}_{i}", layer,
            {"dims": dims, "traditional": trad, "base": base, "scale": scale},
            [randn(shape, seed=40 + i, dtype=dt)], call={"offset": offset},
            call_fn=lambda l, x, o=offset: l(x, offset=o))

# ----- SinusoidalPositionalEncoding -----
for i, kw in enumerate([
    {"dims": 8}, {"dims": 2}, {"dims": 6, "min_freq": 0.01, "max_freq": 2.0},
    {"dims": 8, "scale": 1.0}, {"dims": 4, "scale": 0.3, "cos_first": True},
    {"dims": 10, "full_turns": True},
]):
    layer = nn.SinusoidalPositionalEncoding(**kw)
    x = mx.arange(0, 5).astype(mx.float32) if i % 2 == 0 else randn((2, 3), seed=50 + i)
    g.layer(f"sinusoidal_{i}", layer, kw, [x])
try:
    nn.SinusoidalPositionalEncoding(5)
except ValueError as e:
    g.cases.append({"name": "sinusoidal_odd_dims", "layer": "SinusoidalPositionalEncoding",
                    "kwargs": {"dims": 5}, "call": {}, "train": False, "seed": None, "params": [],
                    "trainable": [], "weights": {}, "inputs": [], "error": "ValueError",
                    "message": str(e)})

# ----- ALiBi -----
for i, (shape, offset, with_mask, dt) in enumerate([
    ((2, 4, 5, 5), 0, False, mx.float32), ((1, 3, 2, 6), 4, False, mx.float32),
    ((2, 6, 4, 4), 0, True, mx.float32), ((1, 8, 3, 3), 1, False, mx.float16),
]):
    layer = nn.ALiBi()
    inputs = [randn(shape, seed=60 + i, dtype=dt)]
    if with_mask:
        inputs.append(nn.MultiHeadAttention.create_additive_causal_mask(shape[-1]))
    g.layer(f"alibi_{i}", layer, {}, inputs, call={"offset": offset},
            call_fn=lambda l, x, m=None, o=offset: l(x, offset=o, mask=m))
for heads in [1, 3, 6, 8, 12]:
    g.function(f"alibi_matrix_{heads}", "create_alibi_matrix",
               {"q": 4, "k": 5, "num_heads": heads, "offset": 1}, [],
               lambda h=heads: nn.ALiBi.create_alibi_matrix(4, 5, h, offset=1))

g.save()

# ----- MultiHeadAttention -----
g = NnGoldens("nn_transformer")
for dt in ["float32", "float16", "bfloat16"]:
    for n in [1, 4]:
        g.function(f"causal_mask_{n}_{dt}", "create_additive_causal_mask", {"n": n, "dtype": dt},
                   [], lambda n=n, dt=dt: nn.MultiHeadAttention.create_additive_causal_mask(
                       n, getattr(mx, dt)))


def mha_case(name, dims, heads, kw, lq, lkv, mask=None, batch=2, dt=mx.float32, seed=0,
             tol=None):
    mx.random.seed(seed)
    layer = nn.MultiHeadAttention(dims, heads, **kw)
    qd = kw.get("query_input_dims") or dims
    kd = kw.get("key_input_dims") or dims
    vd = kw.get("value_input_dims") or kd
    if dt != mx.float32:
        layer.set_dtype(dt)
    inputs = [randn((batch, lq, qd), seed=seed + 1, dtype=dt),
              randn((batch, lkv, kd), seed=seed + 2, dtype=dt),
              randn((batch, lkv, vd), seed=seed + 3, dtype=dt)]
    call = {}
    if mask is not None:
        inputs.append(mask)
        call["mask"] = True
    kwargs = dict(kw, dims=dims, num_heads=heads)
    if dt != mx.float32:
        kwargs["dtype"] = str(dt).split(".")[-1]
    g.layer(name, layer, kwargs, inputs, call=call,
            call_fn=lambda l, q, k, v, m=None: l(q, k, v, mask=m),
            **({"rtol": tol[0], "atol": tol[1], "why": "float16 attention"} if tol else {}))


mha_case("mha_no_mask", 8, 2, {}, 4, 4, seed=200)
mha_case("mha_additive_causal", 8, 2, {}, 5, 5,
         mask=nn.MultiHeadAttention.create_additive_causal_mask(5), seed=210)
mha_case("mha_bool_mask", 8, 4, {}, 3, 5, mask=bools((3, 5), 7), seed=220)
mha_case("mha_bool_mask_4d", 6, 3, {"bias": True}, 3, 4, mask=bools((2, 1, 3, 4), 8), seed=230)
mha_case("mha_dims_bias", 8, 2, {"query_input_dims": 5, "key_input_dims": 3, "value_input_dims": 7,
                                 "value_dims": 6, "value_output_dims": 4, "bias": True},
         3, 6, seed=240)
mha_case("mha_key_dims_default_value", 4, 1, {"key_input_dims": 3}, 2, 3, seed=250)
mha_case("mha_additive_float_mask", 8, 2, {}, 4, 4, mask=randn((4, 4), seed=9), seed=260)
mha_case("mha_float16", 8, 2, {"bias": True}, 4, 4, dt=mx.float16, seed=270, tol=(1e-2, 1e-2))
mx.random.seed(280)
g.layer("mha_2d_input", nn.MultiHeadAttention(8, 2), {"dims": 8, "num_heads": 2},
        [randn((3, 8), seed=1), randn((3, 8), seed=2), randn((3, 8), seed=3)])
try:
    nn.MultiHeadAttention(8, 3)
except ValueError as e:
    g.cases.append({"name": "mha_heads_not_dividing", "layer": "MultiHeadAttention",
                    "kwargs": {"dims": 8, "num_heads": 3}, "call": {}, "train": False,
                    "seed": None, "params": [], "trainable": [], "weights": {}, "inputs": [],
                    "error": "ValueError", "message": str(e)})


# ----- Transformer layers -----
def act_name(f):
    return [k for k, v in ACT.items() if v is f][0]


for i, (norm_first, mask, kw) in enumerate([
    (True, None, {}), (False, None, {}), (True, "causal", {"mlp_dims": 12}),
    (False, "causal", {"mlp_dims": 6, "dropout": 0.1}),
    (True, "bool", {"activation": nn.gelu}),
]):
    mx.random.seed(300 + i)
    layer = nn.TransformerEncoderLayer(8, 2, norm_first=norm_first, **kw)
    kwargs = {"dims": 8, "num_heads": 2, "norm_first": norm_first,
              **{k: (act_name(v) if k == "activation" else v) for k, v in kw.items()}}
    inputs = [randn((2, 4, 8), seed=310 + i)]
    if mask == "causal":
        inputs.append(nn.MultiHeadAttention.create_additive_causal_mask(4))
    elif mask == "bool":
        inputs.append(bools((4, 4), 11))
    g.layer(f"encoder_layer_{i}_nf{norm_first}_{mask}", layer, kwargs, inputs,
            call_fn=lambda l, x, m=None: l(x, m))

for i, (norm_first, masks, kw) in enumerate([
    (True, False, {}), (False, True, {}), (True, True, {"mlp_dims": 10, "activation": nn.silu}),
]):
    mx.random.seed(400 + i)
    layer = nn.TransformerDecoderLayer(8, 4, norm_first=norm_first, **kw)
    kwargs = {"dims": 8, "num_heads": 4, "norm_first": norm_first,
              **{k: (act_name(v) if k == "activation" else v) for k, v in kw.items()}}
    inputs = [randn((2, 3, 8), seed=410 + i), randn((2, 5, 8), seed=420 + i)]
    if masks:
        inputs += [nn.MultiHeadAttention.create_additive_causal_mask(3), bools((3, 5), 12)]
    else:
        inputs += [None, None]
    g.layer(f"decoder_layer_{i}_nf{norm_first}_masks{masks}", layer, kwargs, inputs,
            call_fn=lambda l, x, mem, xm, mm: l(x, mem, xm, mm))

for i, (norm_first, ckpt) in enumerate([(True, False), (False, False), (True, True)]):
    mx.random.seed(500 + i)
    layer = nn.TransformerEncoder(2, 8, 2, mlp_dims=16, norm_first=norm_first, checkpoint=ckpt)
    g.layer(f"encoder_nf{norm_first}_ckpt{ckpt}", layer,
            {"num_layers": 2, "dims": 8, "num_heads": 2, "mlp_dims": 16,
             "norm_first": norm_first, "checkpoint": ckpt},
            [randn((2, 4, 8), seed=510 + i), nn.MultiHeadAttention.create_additive_causal_mask(4)],
            call_fn=lambda l, x, m: l(x, m))
    mx.random.seed(600 + i)
    layer = nn.TransformerDecoder(2, 8, 2, mlp_dims=16, norm_first=norm_first, checkpoint=ckpt)
    g.layer(f"decoder_nf{norm_first}_ckpt{ckpt}", layer,
            {"num_layers": 2, "dims": 8, "num_heads": 2, "mlp_dims": 16,
             "norm_first": norm_first, "checkpoint": ckpt},
            [randn((2, 3, 8), seed=610 + i), randn((2, 4, 8), seed=620 + i),
             nn.MultiHeadAttention.create_additive_causal_mask(3), None],
            call_fn=lambda l, x, mem, xm, mm: l(x, mem, xm, mm))

for i, norm_first in enumerate([True, False]):
    mx.random.seed(700 + i)
    layer = nn.Transformer(8, 2, 1, 2, mlp_dims=12, norm_first=norm_first)
    g.layer(f"transformer_nf{norm_first}", layer,
            {"dims": 8, "num_heads": 2, "num_encoder_layers": 1, "num_decoder_layers": 2,
             "mlp_dims": 12, "norm_first": norm_first},
            [randn((2, 5, 8), seed=710 + i), randn((2, 3, 8), seed=720 + i), None,
             nn.MultiHeadAttention.create_additive_causal_mask(3), None],
            call_fn=lambda l, s, t, sm, tm, mm: l(s, t, sm, tm, mm))

mx.random.seed(650)
layer = nn.TransformerDecoder(1, 8, 2, mlp_dims=8, checkpoint=True)
g.layer("decoder_ckpt_bool_masks", layer,
        {"num_layers": 1, "dims": 8, "num_heads": 2, "mlp_dims": 8, "checkpoint": True},
        [randn((2, 3, 8), seed=651), randn((2, 4, 8), seed=652), None, bools((3, 4), 13)],
        call_fn=lambda l, x, mem, xm, mm: l(x, mem, xm, mm))

mx.random.seed(660)
layer = nn.TransformerEncoderLayer(8, 2, mlp_dims=16)
layer.set_dtype(mx.float16)
g.layer("encoder_layer_float16", layer,
        {"dims": 8, "num_heads": 2, "mlp_dims": 16, "dtype": "float16"},
        [randn((2, 4, 8), seed=661, dtype=mx.float16),
         nn.MultiHeadAttention.create_additive_causal_mask(4, mx.float16)],
        rtol=3e-2, atol=3e-2, why="float16 attention, norms and matmuls",
        call_fn=lambda l, x, m: l(x, m))

# Dropout in training mode draws MLX's bernoulli bits from the global seed.
mx.random.seed(800)
layer = nn.TransformerEncoderLayer(8, 2, mlp_dims=8, dropout=0.25)
g.layer("encoder_layer_dropout_train", layer,
        {"dims": 8, "num_heads": 2, "mlp_dims": 8, "dropout": 0.25, "norm_first": True},
        [randn((2, 3, 8), seed=801)], train=True, seed=42, call_fn=lambda l, x: l(x, None))


g.save()

# ----- Recurrent -----
g = NnGoldens("nn_recurrent")
def strip_addr(case, name):
    if "repr" in case:
        case["repr"] = re.sub(r"nonlinearity=<[^>]*>", f"nonlinearity=<function {name}>",
                              case["repr"])


for i, (inp, hid, bias, act, shape, with_h) in enumerate([
    (3, 4, True, "tanh", (2, 5, 3), False), (3, 4, False, "tanh", (2, 5, 3), True),
    (2, 3, True, "relu", (4, 2), False), (2, 3, True, "tanh", (4, 2), True),
]):
    mx.random.seed(900 + i)
    layer = nn.RNN(inp, hid, bias=bias, nonlinearity=ACT[act])
    inputs = [randn(shape, seed=910 + i)]
    if with_h:
        inputs.append(randn(shape[:-2] + (hid,), seed=920 + i))
    c = g.layer(f"rnn_{i}_bias{bias}_{act}_{len(shape)}d_h{with_h}", layer,
                {"input_size": inp, "hidden_size": hid, "bias": bias, "nonlinearity": act},
                inputs, call_fn=lambda l, x, h=None: l(x, h))
    strip_addr(c, act)

for i, (inp, hid, bias, shape, with_h) in enumerate([
    (3, 4, True, (2, 5, 3), False), (3, 4, True, (2, 5, 3), True),
    (3, 2, False, (2, 4, 3), True), (2, 3, False, (4, 2), False), (2, 3, True, (4, 2), True),
]):
    mx.random.seed(1000 + i)
    layer = nn.GRU(inp, hid, bias=bias)
    inputs = [randn(shape, seed=1010 + i)]
    if with_h:
        inputs.append(randn(shape[:-2] + (hid,), seed=1020 + i))
    g.layer(f"gru_{i}_bias{bias}_{len(shape)}d_h{with_h}", layer,
            {"input_size": inp, "hidden_size": hid, "bias": bias},
            inputs, call_fn=lambda l, x, h=None: l(x, h))

for i, (inp, hid, bias, shape, with_h, with_c) in enumerate([
    (3, 4, True, (2, 5, 3), False, False), (3, 4, True, (2, 5, 3), True, True),
    (3, 2, False, (2, 4, 3), True, False), (2, 3, True, (4, 2), False, True),
    (2, 3, False, (4, 2), True, True),
]):
    mx.random.seed(1100 + i)
    layer = nn.LSTM(inp, hid, bias=bias)
    hs = shape[:-2] + (hid,)
    inputs = [randn(shape, seed=1110 + i),
              randn(hs, seed=1120 + i) if with_h else None,
              randn(hs, seed=1130 + i) if with_c else None]
    g.layer(f"lstm_{i}_bias{bias}_{len(shape)}d_h{with_h}_c{with_c}", layer,
            {"input_size": inp, "hidden_size": hid, "bias": bias},
            inputs, call_fn=lambda l, x, h, c: l(x, h, c))
for i, dt in enumerate([mx.float16, mx.bfloat16]):
    name = str(dt).split(".")[-1]
    for j, cls in enumerate([nn.GRU, nn.LSTM]):
        mx.random.seed(1150 + 2 * i + j)
        layer = cls(3, 4)
        layer.set_dtype(dt)
        inputs = [randn((2, 4, 3), seed=1160 + i, dtype=dt)]
        if cls is nn.LSTM:
            inputs += [None, None]
        g.layer(f"{cls.__name__.lower()}_{name}", layer,
                {"input_size": 3, "hidden_size": 4, "bias": True, "dtype": name}, inputs,
                rtol=5e-2, atol=5e-2, why="half-precision recurrences",
                call_fn=(lambda l, x, h, c: l(x, h, c)) if cls is nn.LSTM else (lambda l, x: l(x)))

mx.random.seed(1200)
g.layer("rnn_empty_sequence", nn.RNN(2, 3), {"input_size": 2, "hidden_size": 3, "bias": True,
                                              "nonlinearity": "tanh"},
        [randn((2, 0, 2), seed=1)], call_fn=lambda l, x: l(x))
strip_addr(g.cases[-1], "tanh")
g.save()
