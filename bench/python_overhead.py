#!/usr/bin/env python3
"""Python call overhead per op: `a + b` on two scalar arrays, in a loop (graph building only,
then one `eval` of the last result), for rmlx.core and/or real MLX.

    python bench/python_overhead.py [--lib rmlx|mlx] [--n 200000] [--runs 5]

Prints the median over runs of the time per `a + b`, and the same with an eval per op.
"""

import argparse
import statistics
import time


def measure(mx, n, runs, with_eval):
    a, b = mx.array(1.0), mx.array(2.0)
    mx.eval(a, b)
    per_op = []
    for _ in range(runs):
        t = time.perf_counter()
        if with_eval:
            for _ in range(n):
                c = a + b
                mx.eval(c)
        else:
            for _ in range(n):
                c = a + b
            mx.eval(c)
        per_op.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(per_op)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lib", default="rmlx", choices=["rmlx", "mlx"])
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if args.lib == "rmlx":
        import rmlx.core as mx
    else:
        import mlx.core as mx
    build = measure(mx, args.n, args.runs, False)
    evald = measure(mx, args.n // 10, args.runs, True)
    print(f"{args.lib}: a + b {build:.3f} us/op (graph only); with eval per op {evald:.3f} us/op")


if __name__ == "__main__":
    main()
