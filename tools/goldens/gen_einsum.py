"""Goldens of einsum and einsum_path (value cases: the path and MLX's info text).

Float tolerance: the contraction order decides the rounding, so each case gets an `atol` of
16 float32 epsilons times the largest sum of |terms| (numpy's einsum of the absolute values).
"""
import mlx.core as mx
import numpy as np
from golden import Goldens, Input, sample
from golden_values import value_case

g = Goldens("einsum")
WHY = "float sums in a different order: error relative to the magnitude of the sums"


def ein(sub, *ops, dtype=mx.float32, name=None):
    arrays = [o.materialize() if isinstance(o, Input) else o for o in ops]
    atol = None
    try:
        bound = np.einsum(sub, *[np.abs(np.array(a.astype(mx.float64))) for a in arrays])
        eps = 2.0**-52 if dtype == mx.float64 else 2.0**-23
        atol = float(16 * eps * np.max(bound, initial=0.0) + 1e-30)
    except Exception:  # noqa: BLE001 - errors are cases too; numpy may reject what MLX does
        pass
    g.case("einsum", list(ops), lambda *xs: mx.einsum(sub, *xs), kwargs={"subscripts": sub},
           name=name, atol=atol, why=WHY if atol else None)


def path(sub, *ops, name=None):
    def f(*xs):
        p, info = mx.einsum_path(sub, *xs)
        return [[list(t) for t in p], info]
    value_case(g, "einsum_path", list(ops), f, kwargs={"subscripts": sub}, name=name)


def s(shape, seed, dtype=mx.float32):
    return sample(shape, dtype, seed=seed, low=-3, high=3)


A, B, C, D = s((3, 4), 1), s((4, 5), 2), s((5, 2), 3), s((2, 3), 4)
sq = s((4, 4), 5)
v3, v4, v5 = s((3,), 6), s((4,), 7), s((5,), 8)
bat1, bat2 = s((2, 3, 4), 9), s((2, 4, 5), 10)

# Two operands: matmul-like, batch, outer, elementwise, reductions.
for sub, ops in [
    ("ij,jk->ik", [A, B]), ("ij,jk", [A, B]), ("ij,kj->ik", [A, s((5, 4), 11)]),
    ("ji,jk->ik", [s((4, 3), 12), B]), ("bij,bjk->bik", [bat1, bat2]),
    ("bij,bjk->kbi", [bat1, bat2]), ("i,j->ij", [v3, v4]), ("i,i->", [v4, v4]),
    ("i,i->i", [v4, v4]), ("ij,ij->ij", [A, A]), ("ij,ij->", [A, A]), ("ij,j->i", [A, v4]),
    ("ij,i->j", [A, v3]), ("ijk,ikl->jl", [s((2, 3, 4), 13), s((2, 4, 5), 14)]),
    ("ab,cd->abcd", [s((2, 2), 15), s((3, 2), 16)]), ("i,jk->ijk", [v3, D]),
]:
    ein(sub, *ops)
# One operand: transpose, trace, diagonal, sums, repeated letters.
for sub, op in [
    ("ij->ji", A), ("ii", sq), ("ii->i", sq), ("ij->", A), ("ij->j", A), ("ij", A), ("ji", A),
    ("iij->j", s((3, 3, 2), 17)), ("iji->j", s((3, 2, 3), 18)), ("iii->i", s((3, 3, 3), 19)),
    ("ijij->ij", s((2, 3, 2, 3), 20)), ("i->", v5), ("...->...", A), ("...ij->...ji", bat1),
    ("Ab->bA", A),
]:
    ein(sub, op)
# Three and more operands (greedy path).
for sub, ops in [
    ("ij,jk,kl->il", [A, B, C]), ("ij,jk,kl,lm->im", [A, B, C, D]),
    ("ij,jk,kl,li->", [A, B, C, s((2, 3), 21)]), ("i,i,i->", [v4, v4, v4]),
    ("ij,k,l->ijkl", [D, v3, v4]), ("bij,bjk,bkl->bil", [bat1, bat2, s((2, 5, 3), 22)]),
    ("ab,bc,cd,de,ef->af", [s((2, 3), 23), s((3, 4), 24), s((4, 2), 25), s((2, 5), 26), s((5, 3), 27)]),
    ("ea,fb,abcd,gc,hd->efgh", [s((2, 3), 28), s((2, 2), 29), s((3, 2, 4, 2), 30), s((2, 4), 31), s((3, 2), 32)]),
]:
    ein(sub, *ops)
    path(sub, *ops)
# Ellipsis and broadcasting of size-1 axes.
ein("...ij,...jk->...ik", s((2, 1, 3, 4), 33), s((3, 4, 2), 34))
ein("...ij,...jk", bat1, bat2)
ein("ij...,jk...->ik...", s((3, 4, 2), 35), s((4, 5, 2), 36))
ein("ij,jk->ik", s((3, 1), 37), s((4, 5), 38))
ein("ij,ij->ij", s((3, 1), 39), s((1, 4), 40))
ein("i...,i...->...", s((3, 2), 41), s((3,), 42))
# Views and other dtypes.
ein("ij,jk->ik", Input(s((4, 3), 43), {"kind": "transpose"}), Input(s((4, 10), 44), {"kind": "step", "axis": 1}))
ein("ij,jk->ik", s((3, 4), 45, mx.float64), s((4, 2), 46, mx.float64), dtype=mx.float64)
ein("ij->ji", s((3, 4), 47, mx.int32))
ein("ii->", s((3, 3), 48, mx.int32))
ein("i,i->i", s((4,), 49, mx.int32), s((4,), 50, mx.int32))
ein("ij,jk->ik", s((3, 4), 51, mx.int32), s((4, 2), 52, mx.int32))  # matmul rejects ints
ein("ij,jk->ik", s((3, 4), 53, mx.float16), s((4, 2), 54, mx.float16), dtype=mx.float16)
# Empty arrays.
ein("ij,jk->ik", s((0, 4), 55), B)
ein("ij,jk->ik", s((3, 0), 56), s((0, 5), 57))
ein("i->", s((0,), 58))
# Two-operand paths and errors.
path("ij,jk", A, B)
path("ii", sq)
for sub, ops in [
    ("ij->ii", [A]), ("ij", []), ("ij,jk", [A]), ("ij,jk", [A, s((5, 5), 59)]), ("ii", [A]),
    ("...ij,j", [v3, v3]), ("i.j", [A]), ("i...j...", [A]), ("ijk", [A]), ("i1", [A]),
]:
    ein(sub, *ops)
path("ij,jk", A, s((5, 5), 60))
g.save()
