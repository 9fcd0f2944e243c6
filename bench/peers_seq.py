"""PyTorch and MLX peers of crates/rmlx-nn/examples/seq_bench.rs (median ms, fwd + bwd):
LSTM (input 64, hidden 128, seq 100, batch 32) and a TransformerEncoderLayer (d 256, 4 heads,
mlp 1024, seq 128, batch 16, norm first, no dropout).

Run: /tmp/mlxenv/bin/python bench/peers_seq.py [runs]"""
import sys
import time

import numpy as np

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10


def median_ms(f, runs=RUNS):
    for _ in range(2):
        f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t) * 1e3)
    return float(np.median(ts))


def torch_peer():
    import torch
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    lstm = torch.nn.LSTM(64, 128, batch_first=True)
    x = torch.randn(32, 100, 64)

    def lstm_step():
        lstm.zero_grad(set_to_none=True)
        lstm(x)[0].sum().backward()
    print(f"torch lstm_fwd_bwd: {median_ms(lstm_step):.2f} ms")
    with torch.no_grad():
        print(f"torch lstm_fwd: {median_ms(lambda: lstm(x)):.2f} ms")
    layer = torch.nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.0,
                                             batch_first=True, norm_first=True)
    x = torch.randn(16, 128, 256)

    def enc_step():
        layer.zero_grad(set_to_none=True)
        layer(x).sum().backward()
    print(f"torch encoder_layer_fwd_bwd: {median_ms(enc_step):.2f} ms")
    layer.eval()
    with torch.no_grad():
        print(f"torch encoder_layer_fwd (eval, fast path): {median_ms(lambda: layer(x)):.2f} ms")


def mlx_peer():
    import mlx.core as mx
    import mlx.nn as nn
    mx.random.seed(0)
    print(f"mlx {mx.__version__} ({mx.default_device()})")
    lstm = nn.LSTM(64, 128)
    x = mx.random.normal((32, 100, 64))
    vg = nn.value_and_grad(lstm, lambda x: lstm(x)[0].sum())
    print(f"mlx lstm_fwd_bwd: {median_ms(lambda: mx.eval(vg(x))):.2f} ms")
    print(f"mlx lstm_fwd: {median_ms(lambda: mx.eval(lstm(x)[0])):.2f} ms")
    layer = nn.TransformerEncoderLayer(256, 4)
    layer.eval()
    x = mx.random.normal((16, 128, 256))
    vg = nn.value_and_grad(layer, lambda x: layer(x, None).sum())
    print(f"mlx encoder_layer_fwd_bwd: {median_ms(lambda: mx.eval(vg(x))):.2f} ms")
    print(f"mlx encoder_layer_fwd: {median_ms(lambda: mx.eval(layer(x, None))):.2f} ms")


for peer in (torch_peer, mlx_peer):
    try:
        peer()
    except ImportError as e:
        print(f"skipped: {e}")
