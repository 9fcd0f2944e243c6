#!/usr/bin/env python3
"""Run MLX's own Python test suite against rmlx (or against real MLX, for the baseline).

    python tools/conformance/run_mlx_tests.py <mlx-checkout>/python/tests [--reference]
        [--files test_ops.py,test_array.py] [--timeout 600] [--json out.json]

The tests are read where they are (never copied into this repo). For rmlx, the pinned MLX
wheel (mlx==0.32.4) is installed into a private folder without dependencies, only for its
pure-Python packages mlx.nn, mlx.optimizers and mlx.utils; `mlx.core` is pointed at
`rmlx.core` (which must be installed in this interpreter: pip install ./crates/rmlx-python).
With --reference the suite runs on real MLX instead (`pip install "mlx[cpu]==0.32.4"` in this
interpreter), to record which tests pass there.

Prints a table of pass / fail / error / skip per test file and the total; --json writes every
test's outcome (for comparing the two runs: tools/conformance/compare.py).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MLX_VERSION = "0.32.4"
SKIP_FILES = {
    # Distributed tests need MPI/NCCL/ring launchers, not a single process.
    "mlx_distributed_tests.py", "mpi_test_distributed.py", "nccl_test_distributed.py",
    "ring_test_distributed.py", "mlx_tests.py", "__main__.py",
}


def mlx_python_packages(cache):
    """A folder holding the pinned MLX wheel's Python packages (installed once)."""
    target = os.path.join(cache, f"mlx-{MLX_VERSION}-py")
    if not os.path.isdir(os.path.join(target, "mlx", "nn")):
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
             target, f"mlx=={MLX_VERSION}"],
            check=True,
        )
    return target


def shim_folder(cache, mlx_py):
    """A folder with a sitecustomize.py that points mlx.core at rmlx.core at startup."""
    shim = os.path.join(cache, "shim")
    os.makedirs(shim, exist_ok=True)
    with open(os.path.join(shim, "sitecustomize.py"), "w") as f:
        f.write(
            "import sys\n"
            f"sys.path.append({mlx_py!r})\n"
            "import rmlx\n"
            "rmlx.use_as_mlx()\n"
        )
    return shim


def run_file(path, tests_dir, env, timeout):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = out.name
    cmd = [sys.executable, os.path.join(HERE, "driver.py"), path, out_path]
    try:
        p = subprocess.run(cmd, cwd=tests_dir, env=env, timeout=timeout,
                           capture_output=True, text=True)
        status = "ok" if p.returncode in (0, 1) else f"exit {p.returncode}"
        tail = (p.stderr or "")[-2000:]
    except subprocess.TimeoutExpired:
        status, tail = "timeout", ""
    try:
        with open(out_path) as f:
            results = json.load(f)
    except (OSError, ValueError):
        results = {}
    os.unlink(out_path)
    return status, results, tail


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tests_dir", help="python/tests of an MLX source checkout")
    ap.add_argument("--reference", action="store_true", help="run on real MLX instead")
    ap.add_argument("--files", default="", help="comma-separated test files (default: all)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per test file")
    ap.add_argument("--json", default="", help="write every test's outcome here")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "rmlx-conformance"))
    args = ap.parse_args()

    tests_dir = os.path.abspath(args.tests_dir)
    files = sorted(
        f for f in os.listdir(tests_dir)
        if f.endswith(".py") and f.startswith("test_") and f not in SKIP_FILES
    )
    if args.files:
        wanted = set(args.files.split(","))
        files = [f for f in files if f in wanted]

    env = dict(os.environ)
    env["PYTHONPATH"] = tests_dir
    if not args.reference:
        os.makedirs(args.cache, exist_ok=True)
        mlx_py = mlx_python_packages(args.cache)
        shim = shim_folder(args.cache, mlx_py)
        env["PYTHONPATH"] = os.pathsep.join([shim, tests_dir])

    totals = {"pass": 0, "fail": 0, "error": 0, "skip": 0}
    every = {}
    rows = []
    for f in files:
        status, results, tail = run_file(os.path.join(tests_dir, f), tests_dir, env,
                                         args.timeout)
        counts = {k: 0 for k in totals}
        for test, r in results.items():
            counts[r["outcome"]] += 1
            every[f"{f}::{test}"] = r
        for k in totals:
            totals[k] += counts[k]
        rows.append((f, counts, status))
        print(f"{f:28} pass {counts['pass']:4}  fail {counts['fail']:4}  error "
              f"{counts['error']:4}  skip {counts['skip']:4}  {status}", flush=True)
        if status != "ok" and tail:
            print("    " + tail.strip().splitlines()[-1][:200], flush=True)

    print()
    print("| file | pass | fail | error | skip | run |")
    print("|---|---|---|---|---|---|")
    for f, c, status in rows:
        print(f"| {f} | {c['pass']} | {c['fail']} | {c['error']} | {c['skip']} | {status} |")
    print(f"| **total** | {totals['pass']} | {totals['fail']} | {totals['error']} | "
          f"{totals['skip']} | |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(every, fh, indent=0, sort_keys=True)


if __name__ == "__main__":
    main()
