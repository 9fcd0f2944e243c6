"""Goldens for dtypes: promotion (result_type, weak Python scalars), can_cast, issubdtype,
isdtype, finfo/iinfo, and astype between every pair of the 14 dtypes.

Value cases (golden_values.py) hold the answers that are not arrays; astype and the weak
scalar promotion (through add) are array cases.

Left out (C++ undefined behaviour in MLX's casts): float or complex values whose truncation
falls outside the target integer's range, and NaN/inf, cast to integers.
"""
import math

import mlx.core as mx
import numpy as np
from golden import Goldens, Input, ALL_DTYPES, dtype_name
from golden_values import value_case

g = Goldens("dtype")
names = [dtype_name(d) for d in ALL_DTYPES]
CATS = {"complexfloating": mx.complexfloating, "floating": mx.floating, "inexact": mx.inexact,
        "signedinteger": mx.signedinteger, "unsignedinteger": mx.unsignedinteger,
        "integer": mx.integer, "number": mx.number, "generic": mx.generic}
KINDS = ["bool", "signed integer", "unsigned integer", "integral", "real floating",
         "complex floating", "numeric"]

# Casts (and x + 0) are exact: no tolerance on any array case of this family (rtol = atol = 0).
_case = g.case


def exact_case(*args, **kw):
    kw.setdefault("rtol", 0.0)
    kw.setdefault("atol", 0.0)
    _case(*args, **kw)


g.case = exact_case

# Reuse stored input arrays instead of storing one copy per case.
_store = g._store
_memo = {}


def store(a):
    if id(a) not in _memo:
        _memo[id(a)] = (a, _store(a))
    return dict(_memo[id(a)][1])


g._store = store

# --- promotion ---------------------------------------------------------------------------
for a, an in zip(ALL_DTYPES, names):
    value_case(g, "result_type_row", [], lambda a=a: [dtype_name(mx.result_type(a, b)) for b in ALL_DTYPES],
               kwargs={"a": an})
    value_case(g, "can_cast_row", [], lambda a=a: [mx.can_cast(a, b) for b in ALL_DTYPES], kwargs={"from": an})
for trio in [("int8", "uint8", "float16"), ("bool", "bool", "bool"), ("uint64", "int8", "bfloat16"),
             ("float16", "bfloat16", "int8"), ("int32",), ("complex64", "float64", "bool")]:
    value_case(g, "result_type", [], lambda trio=trio: dtype_name(mx.result_type(*[getattr(mx, t if t != "bool" else "bool_") for t in trio])),
               kwargs={"dtypes": list(trio)})
# With arrays among the inputs.
value_case(g, "result_type_arrays", [mx.zeros((2,), mx.int8), mx.zeros((3,), mx.uint16)],
           lambda x, y: dtype_name(mx.result_type(x, y, mx.float16)), kwargs={"dtype": "float16"})
value_case(g, "can_cast_array", [mx.zeros((2,), mx.int8)], lambda x: [mx.can_cast(x, b) for b in ALL_DTYPES])

# --- categories --------------------------------------------------------------------------
everything = [(n, d) for n, d in zip(names, ALL_DTYPES)] + list(CATS.items())
for an, a in everything:
    value_case(g, "issubdtype_row", [], lambda a=a: [mx.issubdtype(a, b) for _, b in everything], kwargs={"a": an})
value_case(g, "issubdtype_columns", [], lambda: [n for n, _ in everything])
for d, n in zip(ALL_DTYPES, names):
    value_case(g, "isdtype_row", [], lambda d=d: [mx.isdtype(d, k) for k in KINDS] + [mx.isdtype(d, e) for e in ALL_DTYPES],
               kwargs={"dtype": n})
    value_case(g, "isdtype_tuple", [], lambda d=d: mx.isdtype(d, ("unsigned integer", mx.float16, "bool")),
               kwargs={"dtype": n, "kinds": ["unsigned integer", "float16", "bool"]})
value_case(g, "isdtype_columns", [], lambda: KINDS + names)
value_case(g, "isdtype_tuple", [], lambda: mx.isdtype(mx.int8, ()), kwargs={"dtype": "int8", "kinds": []})
value_case(g, "isdtype_tuple", [], lambda: mx.isdtype(mx.int8, ("integral", "foo")),
           kwargs={"dtype": "int8", "kinds": ["integral", "foo"]})
value_case(g, "isdtype_tuple", [], lambda: mx.isdtype(mx.int8, "real"), kwargs={"dtype": "int8", "kinds": ["real"]})


def finfo(d):
    f = mx.finfo(d)
    return {"min": float(f.min), "max": float(f.max), "eps": float(f.eps),
            "smallest_normal": float(f.smallest_normal), "bits": int(f.bits), "dtype": dtype_name(f.dtype)}


def iinfo(d):
    i = mx.iinfo(d)
    return {"min": int(i.min), "max": int(i.max), "dtype": dtype_name(i.dtype)}


for d, n in zip(ALL_DTYPES, names):
    value_case(g, "finfo", [], lambda d=d: finfo(d), kwargs={"dtype": n})
    value_case(g, "iinfo", [], lambda d=d: iinfo(d), kwargs={"dtype": n})

# --- weak Python scalars -------------------------------------------------------------------
SCALARS = [True, False, 0, 1, -1, 127, 128, 255, 256, 300, -128, -129, -200, 32767, 32768, 65535, 65536,
           -32769, 2**31 - 1, 2**31, -2**31 - 1, 2**32, 2**40, 2**53 + 1, 2**63 - 1, -2**63, 2**63, 2**64,
           1.5, -0.0, 0.1, 1e40, float("nan"), float("inf"), 1 + 1.0 / 2**11 + 1.0 / 2**40, 1 + 2j, -1j]
zero = {d: mx.zeros((1,), d) for d in ALL_DTYPES}
for d in ALL_DTYPES:
    for s in SCALARS:
        g.case("add", [zero[d], s], lambda x, y: x + y)
    for s in (300, -1, 2**40, 1.5, True, 1j, 2**63):
        g.case("add", [s, zero[d]], lambda x, y: x + y)
    # A nonzero array too: the scalar's conversion and the arithmetic together.
    g.case("add", [mx.array([1, 0, 1]).astype(d), 2**31 - 1], lambda x, y: x + y)
for a, b in [(1, 2.0), (True, 2), (2**40, 1), (True, False), (1.5, 1j), (2**31, 0)]:
    g.case("add", [a, b], lambda x, y: mx.add(x, y))

# --- astype ------------------------------------------------------------------------------
INT_VALUES = [0, 1, -1, 2, -2, 7, 100, -100, 127, -128, 128, 200, 255, 256, 1000, -1000, 2048, 2049, 4097,
              32767, -32768, 40000, 65504, 65519, 65520, 65535, 65536, 70000, -70000, 16777216, 16777217,
              16843009, 2**24 + 2**16 + 1, 2**31 - 1, -2**31, 2**32 - 1, 2**32 + 3, 2**53 + 1, -(2**53) - 1,
              2**62 + 2**40 + 1, 2**63 - 1, -2**63]
FLOAT_VALUES = [0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.9, -2.9, 0.1, 100.7, 127.0, 127.99, -128.0, -128.9, 255.5,
                256.0, 1000.25, 65504.0, 65519.0, 65520.0, 70000.0, 2.0**31 - 1, 2.0**31, -2.0**31,
                2.0**32, 1e10, 1e-8, 6e-8, 1e-40, 3e38, 3.5e38, 1e300, -1e300,
                1 + 2.0**-8 + 2.0**-30, 1 + 2.0**-11 + 2.0**-40, 1 + 2.0**-24 + 2.0**-60, 1.00390625,
                1.0009765625, 2.0**53 + 2, float("nan"), float("inf"), float("-inf")]


def f64(values):
    return mx.array(np.array(values, dtype=np.float64), dtype=mx.float64)


def int_range(d):
    if d == mx.bool_:
        return None
    i = mx.iinfo(d)
    return int(i.min), int(i.max)


def source_values(src, dst):
    """Values of dtype `src` whose cast to `dst` is defined (see the module doc)."""
    if src == mx.bool_:
        return mx.array([True, False, True])
    if mx.issubdtype(src, mx.integer):
        lo, hi = int_range(src)
        vals = [v for v in INT_VALUES if lo <= v <= hi]
        return mx.array(np.array(vals, dtype=np.dtype(names[ALL_DTYPES.index(src)])))
    # Floating or complex: round the candidates to src first, then keep the defined ones.
    cand = f64(FLOAT_VALUES).astype(src if src != mx.complex64 else mx.float32)
    vals = [v for v in np.array(cand.astype(mx.float64)).tolist()]
    rng = int_range(dst) if mx.issubdtype(dst, mx.integer) else None
    if rng is not None:
        vals = [v for v in vals if math.isfinite(v) and rng[0] <= math.trunc(v) <= rng[1]]
    if src == mx.complex64:
        ims = [((-1) ** k) * (k % 5) * 0.75 for k in range(len(vals))]
        z = np.array(vals, dtype=np.float64) + 1j * np.array(ims)
        if dst == mx.bool_:
            z = np.concatenate([z, [0j, 1j, -0.0 + 0j]])
        return mx.array(z.astype(np.complex64))
    return f64(vals).astype(src)


_inputs = {}
for src in ALL_DTYPES:
    for dst in ALL_DTYPES:
        a = source_values(src, dst)
        key = (src, tuple(np.array(a.astype(mx.float64) if src != mx.complex64 else mx.real(a).astype(mx.float64)).tolist()))
        a = _inputs.setdefault(key, a) if src != mx.complex64 else a
        g.case("astype", [a], lambda x, dst=dst: x.astype(dst), kwargs={"dtype": dtype_name(dst)})

# Views, 0-d and empty arrays.
for src, dst in [(mx.int32, mx.float16), (mx.float32, mx.int8), (mx.bfloat16, mx.float64), (mx.uint8, mx.bool_)]:
    base = mx.arange(24).reshape(4, 6).astype(src)
    for view in ({"kind": "transpose"}, {"kind": "step", "axis": 1}, {"kind": "reverse", "axis": 0}):
        g.case("astype", [Input(base, view)], lambda x, dst=dst: x.astype(dst), kwargs={"dtype": dtype_name(dst)})
    g.case("astype", [Input(mx.arange(4).astype(src), {"kind": "broadcast", "shape": [3, 4]})],
           lambda x, dst=dst: x.astype(dst), kwargs={"dtype": dtype_name(dst)})
    g.case("astype", [mx.array(3).astype(src)], lambda x, dst=dst: x.astype(dst), kwargs={"dtype": dtype_name(dst)})
    g.case("astype", [mx.zeros((2, 0), src)], lambda x, dst=dst: x.astype(dst), kwargs={"dtype": dtype_name(dst)})

g.save()
