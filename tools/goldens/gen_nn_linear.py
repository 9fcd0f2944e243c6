"""Goldens for rmlx-nn's Identity, Linear, Sequential and the Module API on them."""
import mlx.core as mx
import mlx.nn as nn

from nn_golden import NnGoldens, randn

g = NnGoldens("nn_linear")

for i, (din, dout, bias, shape) in enumerate([
    (3, 2, True, (4, 3)), (5, 1, False, (2, 5)), (1, 7, True, (3, 1)),
    (4, 4, True, (2, 3, 4)), (6, 3, True, (6,)), (2, 2, False, (0, 2)),
]):
    mx.random.seed(i)
    layer = nn.Linear(din, dout, bias=bias)
    g.layer(f"linear_{din}x{dout}_bias{bias}_{len(shape)}d", layer,
            {"input_dims": din, "output_dims": dout, "bias": bias}, [randn(shape, seed=i)])

mx.random.seed(11)
layer = nn.Linear(3, 2)
g.layer("linear_float16", layer.set_dtype(mx.float16) or layer,
        {"input_dims": 3, "output_dims": 2, "bias": True, "dtype": "float16"},
        [randn((4, 3), seed=3, dtype=mx.float16)])
g.layer("linear_wrong_input_dims", nn.Linear(3, 2), {"input_dims": 3, "output_dims": 2, "bias": True},
        [randn((4, 5), seed=3)])

g.layer("identity", nn.Identity(), {}, [randn((2, 3), seed=4)])

mx.random.seed(5)
seq = nn.Sequential(nn.Linear(3, 8), nn.Identity(), nn.Linear(8, 2, bias=False))
g.layer("sequential_linear_identity_linear", seq, {"layers": [[3, 8, True], None, [8, 2, False]]},
        [randn((5, 3), seed=6)])
mx.random.seed(7)
seq = nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 4))
seq.layers[0].freeze()
g.layer("sequential_first_frozen", seq, {"layers": [[2, 4, True], [4, 4, True]], "freeze": [0]},
        [randn((3, 2), seed=8)])
seq = nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 4))
seq.freeze(keys=["bias"])
g.layer("sequential_biases_frozen", seq, {"layers": [[2, 4, True], [4, 4, True]], "freeze_keys": ["bias"]},
        [randn((3, 2), seed=9)])

# Quantized: MLX's QuantizedLinear, Linear.to_quantized, nn.quantize with a predicate.
for i, (din, dout, bias, gs, bits, mode) in enumerate([
    (64, 16, True, None, None, "affine"), (64, 8, False, 32, 8, "affine"),
    (128, 4, True, 128, 2, "affine"), (64, 4, True, 32, 3, "affine"),
    (64, 4, False, 64, 5, "affine"), (64, 4, True, 32, 6, "affine"),
    (64, 8, True, None, None, "mxfp4"), (64, 8, True, None, None, "nvfp4"),
    (64, 8, False, None, None, "mxfp8"),
]):
    mx.random.seed(20 + i)
    layer = nn.QuantizedLinear(din, dout, bias, gs, bits, mode=mode)
    if bias:
        layer.bias = mx.random.normal((dout,))  # a non-zero bias shows in the output
    g.layer(f"quantized_linear_{din}x{dout}_{mode}_g{gs}_b{bits}_bias{bias}", layer,
            {"input_dims": din, "output_dims": dout, "bias": bias, "group_size": gs, "bits": bits,
             "mode": mode}, [randn((3, din), seed=30 + i)],
            rtol=1e-4, atol=1e-4, why="quantized products accumulate in another order")
mx.random.seed(40)
lin = nn.Linear(64, 8)
g.layer("linear_to_quantized_g32_b4", lin.to_quantized(group_size=32, bits=4),
        {"input_dims": 64, "output_dims": 8, "bias": True, "group_size": 32, "bits": 4,
         "mode": "affine", "from_linear": True}, [randn((2, 64), seed=41)],
        rtol=1e-4, atol=1e-4, why="quantized products accumulate in another order")
mx.random.seed(42)
seq = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 8))
nn.quantize(seq, group_size=32, bits=8, class_predicate=lambda p, m: p != "layers.1")
g.layer("sequential_quantize_all_but_last", seq,
        {"layers": [[64, 64, True], [64, 8, True]], "quantize": {"group_size": 32, "bits": 8,
                                                                 "skip": "layers.1"}},
        [randn((2, 64), seed=43)], rtol=1e-4, atol=1e-4,
        why="quantized products accumulate in another order")

# Quantized embeddings: MLX's QuantizedEmbedding, Embedding.to_quantized, as_linear, and
# nn.quantize's default predicate over an Embedding + Linear model.
ids = mx.array([[1, 0, 9], [3, 3, 7]], dtype=mx.int32)
for i, (n, d, gs, bits, mode) in enumerate([
    (10, 64, None, None, "affine"), (10, 128, 32, 8, "affine"), (10, 64, 64, 2, "affine"),
    (10, 64, None, None, "mxfp4"), (10, 64, None, None, "nvfp4"),
]):
    mx.random.seed(50 + i)
    layer = nn.QuantizedEmbedding(n, d, gs, bits, mode=mode)
    kw = {"num_embeddings": n, "dims": d, "group_size": gs, "bits": bits, "mode": mode}
    g.layer(f"quantized_embedding_{n}x{d}_{mode}_g{gs}_b{bits}", layer, kw, [ids])
    g.layer(f"quantized_embedding_{n}x{d}_{mode}_g{gs}_b{bits}_as_linear", layer,
            dict(kw, as_linear=True), [randn((2, d), seed=60 + i)],
            call_fn=lambda l, x: l.as_linear(x), rtol=1e-4, atol=1e-4,
            why="quantized products accumulate in another order")
mx.random.seed(70)
emb = nn.Embedding(10, 64)
g.layer("embedding_to_quantized_g32_b4", emb.to_quantized(group_size=32, bits=4),
        {"num_embeddings": 10, "dims": 64, "group_size": 32, "bits": 4, "mode": "affine",
         "from_embedding": True}, [ids])
mx.random.seed(71)
seq = nn.Sequential(nn.Embedding(10, 64), nn.Linear(64, 8))
nn.quantize(seq)
g.layer("sequential_embedding_linear_quantize_default", seq,
        {"embedding_then_linear": [10, 64, 8], "quantize_default": True}, [ids],
        rtol=1e-4, atol=1e-4, why="quantized products accumulate in another order")
g.save()
