#!/usr/bin/env python3
"""Compare two runs of run_mlx_tests.py (--json files): real MLX and rmlx.

    python tools/conformance/compare.py reference.json rmlx.json [--list] [--table]

Prints, for the tests that pass with real MLX, how many pass with rmlx, then the others grouped
by cause (the exception's first line, with quoted names kept so that missing functions group
together); --list also names every such test; --table prints the per-file table of
CONFORMANCE.md instead.
"""

import argparse
import collections
import json
import re


def outcome(r):
    return r["outcome"] if isinstance(r, dict) else r


def cause(message):
    # Numbers and array reprs vary from test to test; the rest of the line names the cause.
    m = re.sub(r"array\(.*", "array(...)", message, flags=re.S)
    m = re.sub(r"\b\d+(\.\d+)?(e[-+]?\d+)?\b", "N", m)
    return m[:160]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reference")
    ap.add_argument("rmlx")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    ref = json.load(open(args.reference))
    got = json.load(open(args.rmlx))
    if args.table:
        print_table(ref, got)
        return
    passing = [t for t, r in ref.items() if outcome(r) == "pass"]
    missing = []
    for t in passing:
        r = got.get(t)
        if r is None:
            # The whole file failed to import (one "<import>" entry).
            f = t.split("::")[0]
            r = got.get(f"{f}::<import>", {"outcome": "missing", "message": "not run"})
        if outcome(r) != "pass":
            missing.append((t, r))
    print(f"{len(passing) - len(missing)} of the {len(passing)} tests that pass with MLX pass "
          f"with rmlx; {len(missing)} do not.")
    by_cause = collections.defaultdict(list)
    for t, r in missing:
        msg = r.get("message", "") if isinstance(r, dict) else ""
        by_cause[cause(msg) or outcome(r)].append(t)
    print()
    print("| tests | cause |")
    print("|---|---|")
    for c, ts in sorted(by_cause.items(), key=lambda kv: -len(kv[1])):
        print(f"| {len(ts)} | {c.replace('|', '/')} |")
        if args.list:
            for t in ts:
                print(f"|   | {t} |")


def print_table(ref, got):
    """Per test file: MLX's and rmlx's pass / fail / error / skip counts, and how many of the
    tests passing with MLX pass with rmlx."""
    kinds = ["pass", "fail", "error", "skip"]

    def counts(results, f):
        c = collections.Counter(outcome(r) for t, r in results.items()
                                if t.split("::")[0] == f and not t.endswith("<import>"))
        return c, " / ".join(str(c[k]) for k in kinds)

    print("| file | MLX 0.32.4 pass / fail / error / skip | rmlx pass / fail / error / skip "
          "| passing with MLX, passing with rmlx |")
    print("|---|---|---|---|")
    totals = [collections.Counter(), collections.Counter(), 0, 0]
    for f in sorted({t.split("::")[0] for t in ref}):
        rc, rtext = counts(ref, f)
        gc, gtext = counts(got, f)
        passing = [t for t, r in ref.items() if t.split("::")[0] == f and outcome(r) == "pass"]
        kept = sum(1 for t in passing if outcome(got.get(t, {"outcome": "missing"})) == "pass")
        totals[0] += rc
        totals[1] += gc
        totals[2] += len(passing)
        totals[3] += kept
        print(f"| {f} | {rtext} | {gtext} | {kept} of {len(passing)} |")
    rt = " / ".join(str(totals[0][k]) for k in kinds)
    gt = " / ".join(str(totals[1][k]) for k in kinds)
    print(f"| **total** | {rt} | {gt} | **{totals[3]} of {totals[2]}** |")


if __name__ == "__main__":
    main()
