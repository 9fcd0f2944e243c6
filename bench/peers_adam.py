#!/usr/bin/env python3
"""PyTorch's Adam on a 100M-parameter float32 tree, the peer of optim_bench's `adam100m`:

    /tmp/peers/bin/python bench/peers_adam.py [--runs 3] [--json OUT]

25 parameters of 2000 x 2000 (100M float32, 400 MB) with fixed random gradients, updated by
`torch.optim.Adam(lr=1e-3)` with `fused=True` and with `foreach=True` (bias correction is
always on in PyTorch). Each variant: 3 warm-up steps, then 7 timed steps, median ms (as
optim_bench); with --runs N the variant is measured N times and the median of the medians is
reported too. GB/s counts what one fused pass must move per step: read p, g, m, v and write p,
m, v (7 x 400 MB), the accounting of optim_bench.

Also a copy bandwidth reference in the same process: a 1 GiB float32 copy with torch (all
threads) and numpy (one thread), counting read + write, as ../shared/bench/peers.py does.
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch

N, SHAPE = 25, (2000, 2000)
BYTES_PER_STEP = 7 * N * SHAPE[0] * SHAPE[1] * 4


def timed(f, warm=3, reps=7):
    for _ in range(warm):
        f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def adam_ms(**kind):
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(SHAPE)) for _ in range(N)]
    for p in params:
        p.grad = torch.randn(SHAPE)
    opt = torch.optim.Adam(params, lr=1e-3, **kind)
    ms = timed(opt.step)
    del opt, params
    return ms


def copy_gbps(nbytes=1 << 30):
    src = torch.ones(nbytes // 4)
    dst = torch.empty_like(src)
    t_torch = timed(lambda: dst.copy_(src), warm=1, reps=5)
    a = np.ones(nbytes // 4, np.float32)
    b = np.empty_like(a)
    t_np = timed(lambda: np.copyto(b, a), warm=1, reps=5)
    return {
        f"torch_copy_1GiB_{torch.get_num_threads()}threads_GBps": 2 * nbytes / t_torch / 1e6,
        "numpy_copy_1GiB_1thread_GBps": 2 * nbytes / t_np / 1e6,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    res = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for name, kind in (("fused", {"fused": True}), ("foreach", {"foreach": True})):
        runs = [adam_ms(**kind) for _ in range(args.runs)]
        ms = statistics.median(runs)
        res[f"adam_100m_{name}"] = {"runs_ms": runs, "median_ms": ms,
                                    "GBps": BYTES_PER_STEP / (ms / 1e3) / 1e9}
        print(f"torch adam_100m {name}: runs {' '.join(f'{r:.1f}' for r in runs)} ms, "
              f"median {ms:.1f} ms ({BYTES_PER_STEP / (ms / 1e3) / 1e9:.1f} GB/s)")
    res["bandwidth"] = copy_gbps()
    for k, v in res["bandwidth"].items():
        print(f"{k}: {v:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
