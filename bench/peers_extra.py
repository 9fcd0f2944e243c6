#!/usr/bin/env python3
"""Peer timings for rmlx workloads that ../shared/bench/peers.py lacks (numpy, PyTorch, MLX),
written in peers.py's JSON layout so that ../shared/bench/compare.py reads it:

    python3 bench/peers_extra.py --out target/peers_extra.json [--runs 3]

Workloads: add_16m, multiply_16m (16M float32, fresh output each call, as the frameworks do),
exp_16m, tanh_16m, sigmoid_16m, scalar_op (build and evaluate one op on a scalar);
conv2d_64to64 (batch 32, 32x32, 64->64 channels, 3x3, padding 1), sdpa_causal_1024 (batch 4,
8 heads, seq 1024, head dim 64, causal), matmul_b1_4096 / matmul_b32_4096 ((1 or 32, 4096) @
(4096, 4096)^T), random_normal_16m (16M float32 standard normals: numpy's default_rng
standard_normal, torch.randn, mx.random.normal) and, for MLX, qmm_4bit_b1 / qmm_4bit_b32 (4-bit
affine, group 64, same shapes);
svd_512 (full U and Vt of a 512 x 512 float32 matrix) and eigh_512 (eigenvalues and vectors of
a symmetric 512 x 512 float32 matrix);
fft_1m_c64 (fft of 2^20 complex64 points) and rfft2_1024 (rfft2 of a 1024x1024 float32);
for PyTorch and MLX, issue 6's layers forward + backward (gradients of the output's sum with
respect to every parameter): lstm_fwd_bwd (LSTM input 64, hidden 128, seq 100, batch 32),
transformer_layer_fwd_bwd (TransformerEncoderLayer d 256, 4 heads, MLP 1024 as MLX's default,
no dropout, norm first as MLX's default, seq 128, batch 16) and conv_bn_relu_fwd_bwd (Conv2d 64->64 3x3 padding 1 +
BatchNorm in training mode + ReLU, batch 32, 32x32).
Each framework runs in its own process; median of about one second of calls after 2 warm-ups.
The copy bandwidth probe (1 GiB, numpy, both threads of the machine counted as peers.py does)
is recorded under "bandwidth" so add/multiply can be set against it.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


def bench(f):
    f()
    t = time.perf_counter()
    f()
    second = time.perf_counter() - t
    reps = max(5, min(200000, int(1.0 / max(second, 1e-7))))
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return {"median_ms": statistics.median(ts) * 1e3, "min_ms": min(ts) * 1e3, "reps": reps}


def build(fw):
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.standard_normal(1 << 24, dtype=np.float32)
    b = rng.standard_normal(1 << 24, dtype=np.float32)
    w = {}
    x_conv = rng.standard_normal((32, 32, 32, 64), dtype=np.float32)
    w_conv = rng.standard_normal((64, 3, 3, 64), dtype=np.float32) * 0.05
    q = rng.standard_normal((4, 8, 1024, 64), dtype=np.float32)
    k = rng.standard_normal((4, 8, 1024, 64), dtype=np.float32)
    v = rng.standard_normal((4, 8, 1024, 64), dtype=np.float32)
    wq = rng.standard_normal((4096, 4096), dtype=np.float32) * 0.02
    xb1 = rng.standard_normal((1, 4096), dtype=np.float32)
    xb32 = rng.standard_normal((32, 4096), dtype=np.float32)
    m512 = rng.standard_normal((512, 512), dtype=np.float32)
    s512 = m512 + m512.T
    zc = (rng.standard_normal(1 << 20, dtype=np.float32)
          + 1j * rng.standard_normal(1 << 20, dtype=np.float32)).astype(np.complex64)
    img = rng.standard_normal((1024, 1024), dtype=np.float32)
    if fw == "numpy":
        w["matmul_b1_4096"] = lambda: xb1 @ wq.T
        w["matmul_b32_4096"] = lambda: xb32 @ wq.T
        w["add_16m"] = lambda: a + b
        w["multiply_16m"] = lambda: a * b
        w["exp_16m"] = lambda: np.exp(a)
        w["tanh_16m"] = lambda: np.tanh(a)
        w["sigmoid_16m"] = lambda: 1 / (1 + np.exp(-a))
        s = np.float32(1.5)
        w["scalar_op"] = lambda: s + 1
        w["svd_512"] = lambda: np.linalg.svd(m512)
        w["eigh_512"] = lambda: np.linalg.eigh(s512)
        w["fft_1m_c64"] = lambda: np.fft.fft(zc)
        w["rfft2_1024"] = lambda: np.fft.rfft2(img)
        w["random_normal_16m"] = lambda: rng.standard_normal(1 << 24, dtype=np.float32)
    elif fw == "torch":
        import torch
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        w["add_16m"] = lambda: ta + tb
        w["multiply_16m"] = lambda: ta * tb
        w["exp_16m"] = lambda: torch.exp(ta)
        w["tanh_16m"] = lambda: torch.tanh(ta)
        w["sigmoid_16m"] = lambda: torch.sigmoid(ta)
        s = torch.tensor(1.5)
        w["scalar_op"] = lambda: s + 1
        tx = torch.from_numpy(x_conv).permute(0, 3, 1, 2).contiguous()
        tw = torch.from_numpy(w_conv).permute(0, 3, 1, 2).contiguous()
        w["conv2d_64to64"] = lambda: torch.nn.functional.conv2d(tx, tw, padding=1)
        tq, tk, tv = (torch.from_numpy(t) for t in (q, k, v))
        w["sdpa_causal_1024"] = lambda: torch.nn.functional.scaled_dot_product_attention(
            tq, tk, tv, is_causal=True)
        twq, tb1, tb32 = (torch.from_numpy(t) for t in (wq, xb1, xb32))
        w["matmul_b1_4096"] = lambda: tb1 @ twq.T
        w["matmul_b32_4096"] = lambda: tb32 @ twq.T
        tm, ts512 = torch.from_numpy(m512), torch.from_numpy(s512)
        w["svd_512"] = lambda: torch.linalg.svd(tm)
        w["eigh_512"] = lambda: torch.linalg.eigh(ts512)
        tz, timg = torch.from_numpy(zc), torch.from_numpy(img)
        w["fft_1m_c64"] = lambda: torch.fft.fft(tz)
        w["rfft2_1024"] = lambda: torch.fft.rfft2(timg)
        w["random_normal_16m"] = lambda: torch.randn(1 << 24)
        w.update(torch_nn_workloads(torch, rng))
    elif fw == "mlx":
        import mlx.core as mx
        ma, mb = mx.array(a), mx.array(b)
        mx.eval(ma, mb)
        w["add_16m"] = lambda: mx.eval(ma + mb)
        w["multiply_16m"] = lambda: mx.eval(ma * mb)
        w["exp_16m"] = lambda: mx.eval(mx.exp(ma))
        w["tanh_16m"] = lambda: mx.eval(mx.tanh(ma))
        w["sigmoid_16m"] = lambda: mx.eval(mx.sigmoid(ma))
        s = mx.array(1.5)
        mx.eval(s)
        w["scalar_op"] = lambda: mx.eval(s + 1)
        mxc, mwc = mx.array(x_conv), mx.array(w_conv)
        w["conv2d_64to64"] = lambda: mx.eval(mx.conv2d(mxc, mwc, padding=1))
        mq, mk, mv = mx.array(q), mx.array(k), mx.array(v)
        w["sdpa_causal_1024"] = lambda: mx.eval(mx.fast.scaled_dot_product_attention(
            mq, mk, mv, scale=0.125, mask="causal"))
        mwq, mb1, mb32 = mx.array(wq), mx.array(xb1), mx.array(xb32)
        w["matmul_b1_4096"] = lambda: mx.eval(mb1 @ mwq.T)
        w["matmul_b32_4096"] = lambda: mx.eval(mb32 @ mwq.T)
        w["random_normal_16m"] = lambda: mx.eval(mx.random.normal((1 << 24,)))
        qw, qs, qb = mx.quantize(mwq, group_size=64, bits=4)
        mx.eval(qw, qs, qb)
        w["qmm_4bit_b1"] = lambda: mx.eval(mx.quantized_matmul(mb1, qw, qs, qb, True, 64, 4))
        w["qmm_4bit_b32"] = lambda: mx.eval(mx.quantized_matmul(mb32, qw, qs, qb, True, 64, 4))
        mm, ms = mx.array(m512), mx.array(s512)
        w["svd_512"] = lambda: mx.eval(mx.linalg.svd(mm, stream=mx.cpu))
        w["eigh_512"] = lambda: mx.eval(mx.linalg.eigh(ms, stream=mx.cpu))
        mz, mimg = mx.array(zc), mx.array(img)
        mx.eval(mz, mimg)
        w["fft_1m_c64"] = lambda: mx.eval(mx.fft.fft(mz))
        w["rfft2_1024"] = lambda: mx.eval(mx.fft.rfft2(mimg))
        w.update(mlx_nn_workloads(mx, rng))
    return w


def torch_nn_workloads(torch, rng):
    import numpy as np
    nn = torch.nn
    w = {}

    def fwd_bwd(model, x):
        def run():
            model.zero_grad(set_to_none=True)
            out = model(x)
            out = out[0] if isinstance(out, tuple) else out
            out.sum().backward()
        return run

    lstm = nn.LSTM(64, 128, batch_first=True)
    w["lstm_fwd_bwd"] = fwd_bwd(lstm, torch.from_numpy(
        rng.standard_normal((32, 100, 64), dtype=np.float32)))
    enc = nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.0, batch_first=True,
                                     norm_first=True)
    w["transformer_layer_fwd_bwd"] = fwd_bwd(enc, torch.from_numpy(
        rng.standard_normal((16, 128, 256), dtype=np.float32)))
    block = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU())
    block.train()
    w["conv_bn_relu_fwd_bwd"] = fwd_bwd(block, torch.from_numpy(
        rng.standard_normal((32, 64, 32, 32), dtype=np.float32)))
    return w


def mlx_nn_workloads(mx, rng):
    import mlx.nn as nn
    import numpy as np
    w = {}

    def fwd_bwd(model, x, *extra):
        def loss(m, x):
            out = m(x, *extra)
            out = out[0] if isinstance(out, tuple) else out
            return out.sum()
        vg = nn.value_and_grad(model, loss)

        def run():
            mx.eval(vg(model, x))
        return run

    w["lstm_fwd_bwd"] = fwd_bwd(nn.LSTM(64, 128),
                                mx.array(rng.standard_normal((32, 100, 64), dtype=np.float32)))
    w["transformer_layer_fwd_bwd"] = fwd_bwd(
        nn.TransformerEncoderLayer(256, 4, mlp_dims=1024, dropout=0.0),
        mx.array(rng.standard_normal((16, 128, 256), dtype=np.float32)), None)
    block = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm(64), nn.ReLU())
    w["conv_bn_relu_fwd_bwd"] = fwd_bwd(
        block, mx.array(rng.standard_normal((32, 32, 32, 64), dtype=np.float32)))
    return w


def bandwidth():
    import numpy as np
    n = 1 << 30
    src = np.ones(n // 4, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(dst, src)
        ts.append(time.perf_counter() - t)
    return {"numpy_copy_1GiB_1thread_GBps(read+write)": 2 * n / statistics.median(ts) / 1e9}


def worker(fw, runs, only):
    w = build(fw)
    res = {}
    for name, f in w.items():
        if only and name not in only:
            continue
        meds = [bench(f)["median_ms"] for _ in range(runs)]
        res[name] = {"median_ms": statistics.median(meds), "run_medians_ms": meds}
        print(f"[{fw}] {name:16s} {res[name]['median_ms']:10.4f} ms", file=sys.stderr, flush=True)
    out = {"results": res}
    if fw == "numpy":
        out["bandwidth"] = bandwidth()
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="target/peers_extra.json")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--fw")
    p.add_argument("--only", default="", help="comma-separated workload names")
    p.add_argument("--frameworks", nargs="*", default=["numpy", "torch", "mlx"])
    args = p.parse_args()
    if args.fw:
        worker(args.fw, args.runs, [n for n in args.only.split(",") if n])
        return
    frameworks = {}
    for fw in args.frameworks:
        r = subprocess.run([sys.executable, __file__, "--fw", fw, "--runs", str(args.runs),
                            "--only", args.only],
                           capture_output=True, text=True)
        sys.stderr.write(r.stderr)
        if r.returncode == 0:
            frameworks[fw] = json.loads(r.stdout.strip().splitlines()[-1])
        else:
            frameworks[fw] = {"error": r.stderr[-300:]}
    with open(args.out, "w") as f:
        json.dump({"frameworks": frameworks}, f, indent=1)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
