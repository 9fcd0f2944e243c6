"""Goldens for the sorting family: sort, argsort, partition, argpartition, topk,
searchsorted, unique.

MLX leaves the order inside each side of a partition, and the order of topk's result,
unspecified. Those cases (kwargs "canon": true) record a canonical form of MLX's output that
holds exactly what the op promises, and the Rust test brings rmlx's output to the same form:
  partition:     each lane as sorted(lane[:kth]) + [lane[kth]] + sorted(lane[kth+1:])
  argpartition:  the input values the indices pick, canonicalised as for partition (the Rust
                 side also checks that each lane of indices is a permutation)
  topk:          each lane sorted
The property (not larger before kth, not smaller after) depends only on these, so matching
them exactly proves rmlx's result is a valid partition with the right kth element.
"""
import numpy as np
import mlx.core as mx
from golden import Goldens, Input, sample, ALL_DTYPES



class DedupGoldens(Goldens):
    """Stores each distinct array once (many cases share inputs), keeping the file small."""

    def __init__(self, family):
        super().__init__(family)
        self.seen = {}

    def _store(self, a):
        a = mx.array(a) if not isinstance(a, mx.array) else a
        raw = np.array(a.view(mx.uint16)) if a.dtype == mx.bfloat16 else np.array(a)
        sig = (str(a.dtype), raw.shape, raw.tobytes())
        if sig not in self.seen:
            self.seen[sig] = super()._store(a)
        return dict(self.seen[sig])


g = DedupGoldens("sort")
NAN, INF = float("nan"), float("inf")


def canon_partition(out, kth, axis):
    if axis is None:
        axis = 0
    x = mx.moveaxis(out, axis, -1)
    n = x.shape[-1]
    if x.size == 0:
        return out
    k = kth % n
    parts = [mx.sort(x[..., :k], -1), x[..., k:k + 1], mx.sort(x[..., k + 1:], -1)]
    return mx.moveaxis(mx.concatenate(parts, -1), -1, axis)


def part_case(a, kth, axis="default"):
    kw = {"kth": kth, "canon": True}
    if axis != "default":
        kw["axis"] = axis
    ax = -1 if axis == "default" else axis

    # One case, two outputs: canonical partition, canonical values picked by argpartition.
    def both(x):
        p = canon_partition(mx.partition(x, kth, axis=ax), kth, ax)
        idx = mx.argpartition(x, kth, axis=ax)
        src = x.reshape(-1) if ax is None else x
        return p, canon_partition(mx.take_along_axis(src, idx, axis=0 if ax is None else ax),
                                  kth, ax)
    g.case("partition_argpartition", [a], both, kwargs=kw)


def topk_case(a, k, axis="default"):
    kw = {"k": k, "canon": True}
    if axis != "default":
        kw["axis"] = axis
    ax = -1 if axis == "default" else axis
    g.case("topk", [a], lambda x: mx.sort(mx.topk(x, k, axis=ax), axis=-1 if ax is None else ax),
           kwargs=kw)


def sort_cases(a, axis="default"):
    kw = {} if axis == "default" else {"axis": axis}
    ax = -1 if axis == "default" else axis
    # One case, two outputs: the sorted values and the argsort indices.
    g.case("sort_argsort", [a], lambda x: (mx.sort(x, axis=ax), mx.argsort(x, axis=ax)),
           kwargs=kw)


def unique_case(a, size, ri=True, rv=True, rc=True, fill=None):
    kw = {"size": size, "return_index": ri, "return_inverse": rv, "return_counts": rc}
    ins = [a] if fill is None else [a, fill]
    g.case("unique", ins, lambda x, *f: mx.unique(x, size, ri, rv, rc,
                                                    fill_value=f[0] if f else None), kwargs=kw)


def ss_case(s, v, side=None):
    kw = {} if side is None else {"side": side}
    g.case("searchsorted", [s, v], lambda a, b: mx.searchsorted(a, b, **kw), kwargs=kw)


# Every dtype: ties (small integer ranges), several axes, None, views.
for d in ALL_DTYPES:
    a = sample((3, 7), d, seed=1)
    sort_cases(a)
    sort_cases(a, 0)
    sort_cases(a, -2)
    sort_cases(a, None)
    sort_cases(Input(sample((7, 3), d, seed=2), {"kind": "transpose"}))
    sort_cases(Input(sample((4, 6), d, seed=3), {"kind": "step", "axis": -1}), 0)
    sort_cases(Input(sample((3, 5), d, seed=4), {"kind": "reverse", "axis": 1}))
    sort_cases(Input(sample((5,), d, seed=5), {"kind": "broadcast", "shape": [2, 5]}), 0)
    g.case("sort", [a], lambda x: mx.sort(x, axis=1), kwargs={"axis": 1})
    g.case("argsort", [a], lambda x: mx.argsort(x, axis=-1), kwargs={"axis": -1})
    g.case("partition", [a], lambda x: canon_partition(mx.partition(x, 3, axis=1), 3, 1),
           kwargs={"kth": 3, "axis": 1, "canon": True})
    part_case(a, 2)
    part_case(a, -1)
    part_case(a, 1, 0)
    part_case(a, 5, None)
    part_case(Input(sample((7, 3), d, seed=6), {"kind": "transpose"}), 3)
    topk_case(a, 3)
    topk_case(a, 2, 0)
    topk_case(a, 4, None)
    topk_case(Input(sample((4, 6), d, seed=7), {"kind": "reverse", "axis": 0}), 2, 0)
    s = mx.sort(sample((8,), d, seed=8))
    v = sample((2, 3), d, seed=9)
    ss_case(s, v)
    ss_case(s, v, "right")
    ss_case(Input(mx.sort(sample((8,), d, seed=10))[::-1], {"kind": "reverse", "axis": 0}),
            Input(sample((3, 2), d, seed=11), {"kind": "transpose"}), "right")
    u = sample((4, 5), d, seed=12)
    unique_case(u, 25)
    unique_case(u, 3)
    unique_case(u, 0)
    unique_case(u, 8, ri=False, rv=True, rc=False)
    unique_case(Input(sample((5, 4), d, seed=13), {"kind": "transpose"}), 10, fill=1)
    unique_case(u, 30, fill=mx.array([2], dtype=mx.int32))
    g.case("unique", [u], lambda x: mx.unique(x, 6), kwargs={"size": 6})

# Floats: NaN, infinities, signed zeros.
special = [3.0, NAN, -0.0, 0.0, 1.0, -INF, INF, NAN, -1.0, 0.0, -0.0, 2.5]
for d in [mx.float16, mx.bfloat16, mx.float32, mx.float64]:
    a = mx.array(special, dtype=d)
    sort_cases(a)
    sort_cases(a.reshape(3, 4), 0)
    part_case(a, 3)
    part_case(a, -2)
    part_case(a, 10)
    topk_case(a, 3)
    topk_case(a, 5)
    s = mx.array([-INF, -1.0, -0.0, 0.0, 2.0, 2.0, INF, NAN], dtype=d)
    vals = mx.array([NAN, INF, -INF, 0.0, -0.0, 2.0, 1.5, -5.0], dtype=d)
    ss_case(s, vals)
    ss_case(s, vals, "right")
    unique_case(a, 12)
    unique_case(a, 4)
    unique_case(mx.array([-0.0, 0.0, 0.0], dtype=d), 2)
# Complex: lexicographic, NaN in either part last.
c = mx.array([1 + 2j, complex(1, NAN), complex(NAN, 1), complex(NAN, NAN), 1 + 1j,
              complex(NAN, 0), complex(0, NAN), 1 - 1j, -1 + 5j, complex(1, INF), 1 + 1j])
sort_cases(c)
# Complex NaNs all tie, so a partition's canonical form would depend on the order MLX leaves
# them in: partition and topk get the NaN-free values only.
c_finite = mx.array([1 + 2j, 1 + 1j, 1 - 1j, -1 + 5j, complex(1, INF), 1 + 1j, 2j, -3 + 0j])
part_case(c_finite, 4)
topk_case(c_finite, 3)
unique_case(c, 11)
ss_case(mx.array([1 + 1j, 1 + 2j, 2 + 0j]), mx.array([1 + 1.5j, 3 + 0j, 1 + 1j, -1j]))
ss_case(mx.array([1 + 1j, 1 + 2j, 2 + 0j]), mx.array([1 + 1.5j, 3 + 0j, 1 + 1j, -1j]), "right")
# 64-bit integers above 2^53 (neighbours differ only below float64's precision).
big = np.array([2**60 + 3, 2**60 + 1, 2**60 + 2, 2**60 + 1, -(2**60), 5], dtype=np.int64)
sort_cases(mx.array(big))
unique_case(mx.array(big), 6)
ss_case(mx.array(np.sort(big)), mx.array(big))
ubig = np.array([2**63 + 3, 2**63 + 1, 2**64 - 1, 2**63 + 1, 7, 2**53 + 1], dtype=np.uint64)
sort_cases(mx.array(ubig))
part_case(mx.array(ubig), 2)
topk_case(mx.array(ubig), 2)
unique_case(mx.array(ubig), 6)
ss_case(mx.array(np.sort(ubig)), mx.array(ubig), "right")
# Stable argsort over many ties, and a 3-D middle axis.
ties = sample((3, 4, 50), mx.int8, seed=20, low=0, high=3)
sort_cases(ties)
sort_cases(ties, 1)
part_case(ties, 2, 1)
topk_case(ties, 3, 1)

# Promotion in searchsorted.
ss_case(mx.array([1, 2, 3]), mx.array([1.5, 2.0]))
ss_case(mx.array([1, 2, 200], mx.uint8), mx.array([-1, 2], mx.int8))
ss_case(mx.array([1, 2], mx.uint64), mx.array([-1, 3], mx.int64))
ss_case(mx.array([False, True]), mx.array([1, 0]))
ss_case(mx.array([1, 2], mx.float16), mx.array([1.5], mx.float32), "right")
ss_case(mx.array([1.0, 2.0]), mx.array(1.5))
# Unique: fill values (weak scalars, arrays), truncation, bool, 0-D.
iu = mx.array([[2, 1], [2, 3], [1, 5]])
unique_case(iu, 6, fill=-7)
unique_case(iu, 6, fill=2.5)
unique_case(iu, 6, fill=True)
unique_case(iu, 6, fill=mx.array(9.5))
unique_case(iu, 2)
unique_case(mx.array([True, False, True]), 3)
unique_case(mx.array(5), 2)
unique_case(mx.array([1, 2, 3, 4, 5, 6, 7, 8]), 2)

# Empty arrays.
e = mx.zeros((0, 3))
sort_cases(e)
sort_cases(e, 0)
sort_cases(e, None)
part_case(e, 0)
part_case(e, 0, 0)  # kth out of range for an empty axis: ValueError
topk_case(e, 1)
topk_case(e, 0, 0)
topk_case(e, 1, 0)  # ValueError
ss_case(mx.zeros((0,)), mx.array([1.0, 2.0]))
ss_case(mx.array([1.0, 2.0]), mx.zeros((0, 3)))
unique_case(mx.zeros((0,)), 3)  # ValueError: no fill value
unique_case(mx.zeros((0,)), 3, fill=4)
unique_case(mx.zeros((0, 2)), 0)

# 0-D inputs: the default axis -1 does not exist; None flattens.
z = mx.array(3.0)
sort_cases(z)
sort_cases(z, None)
part_case(z, 0)
part_case(z, 0, None)
topk_case(z, 1)
topk_case(z, 1, None)
ss_case(z, mx.array([1.0]))  # ValueError: 0-D sequence
ss_case(mx.array([1.0, 2.0]), z)

# Errors at graph construction.
a = mx.array([[3, 1, 2], [9, 7, 8]])
sort_cases(a, 2)
sort_cases(a, -3)
part_case(a, 3)
part_case(a, -4)
part_case(a, -3)
part_case(a, 6, None)
part_case(a, 1, 5)
topk_case(a, -1)
topk_case(a, 4)
topk_case(a, 0)
topk_case(a, 3)
topk_case(a, 1, -3)
ss_case(mx.zeros((2, 2)), mx.array([1.0]))
ss_case(mx.array([1.0]), mx.array([1.0]), "middle")
unique_case(a, -1)
unique_case(a, 6, fill=mx.array([9, 8]))
unique_case(a.astype(mx.uint8), 6, fill=300)
unique_case(a.astype(mx.uint8), 6, fill=-1)
g.save()
