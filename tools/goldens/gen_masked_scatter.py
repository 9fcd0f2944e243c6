"""Goldens for masked_scatter: `x[mask] = value` with a boolean mask (MLX 0.32.4 has no
`mx.masked_scatter` in Python; its setitem calls the C++ op). Inputs are the array, the mask
and the value (an array or a Python scalar); rmlx replays them through `mx::masked_scatter`.
"""
import numpy as np
import mlx.core as mx
from golden import Goldens, Input, sample, ALL_DTYPES, dtype_name

g = Goldens("masked_scatter")


def setmask(x, m, v):
    x = mx.array(x)  # a copy: the golden input stays as recorded
    x[m] = v
    return x


def case(a, m, v, name=None):
    g.case("masked_scatter", [a, m, v], setmask, name=name)


def mask(vals):
    return mx.array(np.array(vals, dtype=bool))


# One value per masked element, every dtype.
for i, dt in enumerate(ALL_DTYPES):
    a = sample((2, 3), dt, seed=i)
    m = mask([[True, False, True], [False, True, True]])
    case(a, m, sample((4,), dt, seed=100 + i), name=f"elements_{dtype_name(dt)}")

# Value cast to the array's dtype; a Python scalar broadcast to every masked element.
case(mx.arange(6), mask([True, True, True, False, True, False]),
     mx.array([1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]), name="float_into_int_extra_values")
case(sample((3, 4), mx.float32), sample((3, 4), mx.bool_, seed=3), 2.0, name="scalar_value")
case(sample((3, 4), mx.int32), sample((3, 4), mx.bool_, seed=4), 2.5, name="float_scalar_int")
# A mask over the leading axes selects whole blocks: one block broadcast, or one per row.
case(sample((3, 4), mx.float32), mask([True, False, True]), sample((4,), mx.float32, seed=5),
     name="rows_one_block")
case(sample((3, 4), mx.float32), mask([True, False, True]), sample((2, 4), mx.float32, seed=6),
     name="rows_two_blocks")
case(sample((3, 4), mx.float32), mask([True, False, True]), sample((1, 4), mx.float32, seed=7),
     name="rows_too_few_blocks")
case(sample((2, 3, 4), mx.float32), mask([[True, False, True], [False, False, True]]),
     sample((3, 1), mx.float32, seed=8), name="blocks_broadcast_inner")
case(sample((2, 3, 4), mx.float32), mask([[True, False, True], [False, False, True]]),
     sample((4,), mx.float32, seed=9), name="blocks_broadcast_row")
case(sample((2, 3, 4), mx.float32), mask([False, True]), 7.0, name="outer_mask_scalar")
# 0-d masks: everything or nothing.
case(sample((3,), mx.float32), mx.array(True), sample((3,), mx.float32, seed=10),
     name="scalar_mask_true")
case(sample((3,), mx.float32), mx.array(False), sample((3,), mx.float32, seed=10),
     name="scalar_mask_false")
case(mx.array(3.0), mx.array(True), 5.0, name="scalar_array")
# Nothing selected, empty arrays.
case(sample((2, 2), mx.float32), mask([[False, False], [False, False]]), mx.array([1.0]),
     name="none_selected")
case(mx.zeros((0,)), mx.zeros((0,), dtype=mx.bool_), mx.zeros((0,)), name="empty")
# Views: a strided array, a strided mask, a reversed value.
case(Input(sample((10,), mx.float32, seed=11), {"kind": "step", "axis": 0}),
     Input(mask([False, True, False, False, True, False, False, True, False, False]),
           {"kind": "step", "axis": 0}),
     Input(sample((4,), mx.float32, seed=12), {"kind": "step", "axis": 0}), name="strided")
case(Input(sample((3, 4), mx.float32, seed=13), {"kind": "transpose"}),
     sample((4, 3), mx.bool_, seed=14),
     Input(sample((12,), mx.float32, seed=15), {"kind": "reverse", "axis": 0}),
     name="transposed")
# Errors.
case(sample((2, 3), mx.float32), sample((2, 3), mx.bool_), sample((2,), mx.float32),
     name="too_few_values")
case(sample((2, 3), mx.float32), mx.array([[[True]]]), 0.0, name="mask_more_dims")
case(mx.arange(1000).reshape(10, 10, 10), mx.zeros((1, 10, 10), dtype=mx.bool_), 0,
     name="mask_shape_prefix")
case(mx.arange(1000).reshape(10, 10, 10), mx.zeros((10, 10, 1), dtype=mx.bool_), 0,
     name="mask_shape_suffix")
case(sample((2, 3), mx.float32), mask([True, False]), mx.zeros((1, 1, 3)),
     name="value_too_many_dims")
case(sample((2, 3), mx.float32), mask([[True, False, True], [False, False, True]]),
     mx.array([[1.0, 2.0], [3.0, 4.0]]), name="value_2d_for_full_mask")
case(sample((2, 3), mx.float32), mask([True, True]), mx.array([1.0, 2.0]),
     name="value_not_broadcastable")

g.save()
