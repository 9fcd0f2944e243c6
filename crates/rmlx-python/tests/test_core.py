"""Tests of the Python bindings (no MLX needed): pytest crates/rmlx-python/tests."""

import math

import numpy as np
import pytest

import rmlx
import rmlx.core as mx


def test_construction_and_dtypes():
    assert mx.array(5).dtype == mx.int32
    assert mx.array(2**40).dtype == mx.int64
    assert mx.array(1.5).dtype == mx.float32
    assert mx.array(True).dtype == mx.bool_
    assert mx.array([1, 2.0]).dtype == mx.float32
    assert mx.array([True, 2]).dtype == mx.int32
    assert mx.array([1 + 2j]).dtype == mx.complex64
    assert mx.array([]).shape == (0,)
    assert mx.array([[]]).shape == (1, 0)
    assert mx.array([1.7, 2.2], mx.int32).tolist() == [1, 2]
    assert mx.array([mx.array(1), mx.array(2)]).tolist() == [1, 2]
    assert repr(mx.float32) == "mlx.core.float32"
    assert mx.float16.size == 2
    with pytest.raises(ValueError, match="non-uniform length"):
        mx.array([[1, 2], [3]])
    with pytest.raises(ValueError, match="extra dimension"):
        mx.array([1, [2]])


def test_repr_item_tolist():
    a = mx.array([[1, 2], [3, 4]])
    assert repr(a) == "array([[1, 2],\n       [3, 4]], dtype=int32)"
    assert a.tolist() == [[1, 2], [3, 4]]
    assert mx.array(2.5).item() == 2.5
    assert isinstance(mx.array(3).item(), int)
    assert mx.array([1 + 2j]).tolist() == [1 + 2j]
    with pytest.raises(ValueError):
        a.item()


def test_numpy_round_trip():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    a = mx.array(x)
    assert a.shape == (3, 4) and a.dtype == mx.float32
    assert np.array_equal(np.array(a), x)
    assert mx.array(np.array([1.0])).dtype == mx.float32  # float64 numpy -> float32
    assert mx.array(np.array([1], dtype=np.int64)).dtype == mx.int64
    assert mx.array(x.T).tolist() == x.T.tolist()  # non-contiguous input
    assert np.array(mx.array([True, False])).dtype == np.bool_


def test_operators_and_weak_scalars():
    a = mx.array([1.0, 2.0], dtype=mx.float16)
    assert (a * 2.0).dtype == mx.float16
    assert (2 + mx.array([1, 2])).tolist() == [3, 4]
    assert (mx.array([1, 2]) / 2).tolist() == [0.5, 1.0]
    assert (mx.array([5, 7]) // 2).tolist() == [2, 3]
    assert (2 ** mx.array([1, 2])).tolist() == [2, 4]
    assert (mx.array([[1.0, 2], [3, 4]]) @ mx.array([1.0, 1])).tolist() == [3, 7]
    assert (mx.array([1, 2]) == 2).tolist() == [False, True]
    assert (-mx.array([1, -2])).tolist() == [-1, 2]
    b = mx.array([1, 2])
    b += 1
    assert b.tolist() == [2, 3]
    with pytest.raises(ValueError):
        mx.array([1, 2]) + mx.array([1, 2, 3])


def test_indexing():
    a = mx.arange(12).reshape(3, 4)
    assert a[1].tolist() == [4, 5, 6, 7]
    assert a[:, 1].tolist() == [1, 5, 9]
    assert a[::-1, 0].tolist() == [8, 4, 0]
    assert a[None, ..., 1].shape == (1, 3)
    assert a[mx.array([2, 0])].shape == (2, 4)
    with pytest.raises(IndexError):
        a[3]
    a[0, 0] = 100
    assert a[0, 0].item() == 100
    b = mx.zeros(3).at[mx.array([0, 0, 2])].add(1.0)
    assert b.tolist() == [2.0, 0.0, 1.0]


def test_reductions_and_methods():
    a = mx.arange(6, dtype=mx.float32).reshape(2, 3)
    assert mx.sum(a).item() == 15.0
    assert a.sum(axis=1).tolist() == [3.0, 12.0]
    assert a.mean(axis=0, keepdims=True).shape == (1, 3)
    assert a.max().item() == 5.0
    assert mx.argmax(a, axis=1).tolist() == [2, 2]
    assert a.T.shape == (3, 2)
    assert a.reshape(3, 2).shape == (3, 2)
    assert a.transpose(1, 0).shape == (3, 2)
    assert mx.var(mx.array([1.0, 2.0, 3.0, 4.0]), ddof=1).item() == pytest.approx(1.6666666)
    assert mx.cumsum(mx.array([1, 2, 3])).tolist() == [1, 3, 6]


def test_creation():
    assert mx.zeros((2, 3)).dtype == mx.float32
    assert mx.ones(3, dtype=mx.int32).tolist() == [1, 1, 1]
    assert mx.full((2,), 7).tolist() == [7, 7]
    assert mx.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert mx.arange(1, 2, 0.5).tolist() == [1.0, 1.5]
    assert mx.arange(0, 3, dtype=mx.float32).dtype == mx.float32
    assert mx.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
    assert mx.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_grad_over_pytrees():
    def loss(params, x):
        return mx.sum(params["w"] * x + params["b"][0])

    params = {"w": mx.array([1.0, 2.0]), "b": [mx.array(0.5)]}
    x = mx.array([3.0, 4.0])
    value, grads = mx.value_and_grad(loss)(params, x)
    assert value.item() == pytest.approx(12.0)
    assert grads["w"].tolist() == [3.0, 4.0]
    assert grads["b"][0].item() == pytest.approx(2.0)
    dx = mx.grad(loss, argnums=1)(params, x)
    assert dx.tolist() == [1.0, 2.0]
    # Auxiliary outputs are for value_and_grad; grad wants a scalar array (as MLX).
    (v, aux), g = mx.value_and_grad(lambda x: (mx.sum(x * x), x))(mx.array([1.0, 2.0]))
    assert g.tolist() == [2.0, 4.0] and aux.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError):
        mx.grad(lambda x: 1.0)(mx.array(1.0))


def test_python_errors_pass_through_transforms():
    def bad(x):
        raise KeyError("from inside")

    with pytest.raises(KeyError, match="from inside"):
        mx.grad(bad)(mx.array(1.0))


def test_vjp_jvp_vmap():
    outs, vjps = mx.vjp(lambda x: x * x, [mx.array([1.0, 2.0])], [mx.array([1.0, 1.0])])
    assert vjps[0].tolist() == [2.0, 4.0]
    outs, jvps = mx.jvp(lambda x: mx.sin(x), [mx.array(0.0)], [mx.array(1.0)])
    assert jvps[0].item() == pytest.approx(1.0)
    f = mx.vmap(lambda x, y: x @ y, in_axes=(0, None))
    out = f(mx.ones((4, 2, 3)), mx.ones((3, 5)))
    assert out.shape == (4, 2, 5)


def test_use_as_mlx():
    core = rmlx.use_as_mlx()
    import mlx.core as mlx_core

    assert mlx_core is core
    assert math.isclose(mlx_core.exp(mlx_core.array(0.0)).item(), 1.0)


def test_custom_function_vjp_and_checkpoint():
    @mx.custom_function
    def f(x):
        return mx.sin(x)

    @f.vjp
    def f_vjp(primals, cotangent, output):
        return (cotangent * 10.0,)

    g = mx.grad(lambda x: mx.sum(f(x)))(mx.array([0.5, 1.0]))
    assert g.tolist() == [10.0, 10.0]
    h = mx.grad(lambda x: mx.sum(mx.checkpoint(lambda y: y * y)(x)))(mx.array([3.0]))
    assert h.tolist() == [6.0]


def test_compile_matches_eager():
    def f(x, y, scale=2.0):
        return mx.exp(x) * y + scale

    c = mx.compile(f)
    x, y = mx.array([0.0, 1.0]), mx.array([2.0, 3.0])
    assert mx.allclose(c(x, y), f(x, y)).item()
    assert mx.allclose(c(x, y, scale=5.0), f(x, y, scale=5.0)).item()  # a new constant retraces



def test_compiled_kernel_donates_a_dropped_input():
    def ptr(a):
        return np.asarray(a, copy=False).__array_interface__["data"][0]

    c = mx.compile(lambda x: mx.sin(x) * 2 + 1)
    x = mx.arange(64, dtype=mx.float32)
    want = (mx.sin(x) * 2 + 1).tolist()
    at = ptr(x)
    out = c(x)
    del x  # the compiled graph now holds the only reference: its buffer becomes the output
    assert ptr(out) == at and out.tolist() == want
    kept = mx.arange(64, dtype=mx.float32)
    out = c(kept)  # still referenced: a fresh buffer, `kept` unchanged
    assert ptr(out) != ptr(kept) and kept.tolist() == list(range(64))

def test_save_load_round_trip(tmp_path):
    a = mx.arange(6, dtype=mx.float32).reshape(2, 3)
    mx.save(str(tmp_path / "a.npy"), a)
    assert mx.load(str(tmp_path / "a.npy")).tolist() == a.tolist()
    mx.save_safetensors(str(tmp_path / "w"), {"w": a}, metadata={"k": "v"})
    arrays, meta = mx.load(str(tmp_path / "w.safetensors"), return_metadata=True)
    assert arrays["w"].tolist() == a.tolist() and meta == {"k": "v"}
    with pytest.raises(ValueError):
        mx.load(str(tmp_path / "a.unknown"))


def test_random_is_reproducible():
    mx.random.seed(3)
    a = mx.random.normal((4,))
    mx.random.seed(3)
    assert mx.array_equal(a, mx.random.normal((4,))).item()
    k = mx.random.key(0)
    assert mx.random.uniform(shape=(2,), key=k).tolist() == mx.random.uniform(shape=(2,), key=k).tolist()


def test_export_import_round_trip(tmp_path):
    def f(x, y, scale=None):
        return mx.exp(x) * y + scale

    path = str(tmp_path / "f.mlxfn")
    x, y, s = mx.array([0.0, 1.0]), mx.array([2.0, 3.0]), mx.array(1.0)
    mx.export_function(path, f, x, y, scale=s)
    (out,) = mx.import_function(path)(x, y, scale=s)
    assert mx.allclose(out, f(x, y, scale=s)).item()
    with mx.exporter(str(tmp_path / "g.mlxfn"), lambda a: a * 2) as export:
        export(mx.array([1.0]))
        export(mx.array([1.0, 2.0]))
    g = mx.import_function(str(tmp_path / "g.mlxfn"))
    assert g(mx.array([1.0, 2.0]))[0].tolist() == [2.0, 4.0]


def test_export_forms_shapeless_and_metadata(tmp_path):
    path = str(tmp_path / "f.mlxfn")

    def f(x, z=None):
        return x if z is None else x + z

    x, z = mx.array([1.0, 2.0]), mx.array([3.0, 4.0])
    # A tuple and a dict of inputs; keyword inputs are matched by name at the call.
    mx.export_function(path, f, (x,), {"z": z}, metadata="cfg")
    g, meta = mx.import_function(path, return_metadata=True)
    assert meta == "cfg"
    assert g(x, z=z)[0].tolist() == [4.0, 6.0]
    assert g((x,), {"z": z})[0].tolist() == [4.0, 6.0]
    with pytest.raises(ValueError):
        g(x, z)
    with pytest.raises(ValueError):
        g(x, y=z)
    with pytest.raises(TypeError):
        mx.export_function(path, f, x, metadata={"a": 1})
    # A shapeless export serves new shapes of the traced ranks.
    mx.export_function(path, lambda a: mx.mean(a * 2, axis=-1), mx.zeros((2, 3)), shapeless=True)
    h = mx.import_function(path)
    assert h(mx.ones((4, 5)))[0].tolist() == [2.0] * 4
    with pytest.raises(ValueError):
        h(mx.ones((4,)))
    # Traces with other keyword inputs in one exporter.
    with mx.exporter(path, f) as export:
        export(x)
        export(x, z=z)
    k = mx.import_function(path)
    assert k(x)[0].tolist() == [1.0, 2.0] and k(x, z=z)[0].tolist() == [4.0, 6.0]
    # A callback receives the graph.
    seen = []
    mx.export_function(lambda a: seen.append(a["type"]), lambda a: mx.exp(a), x)
    assert seen == ["inputs", "keyword_inputs", "outputs", "constants", "primitive"]


def test_compiled_functions_run_in_other_threads():
    import threading

    c = mx.compile(lambda a: (a + 1, a * 2))
    out = []
    t = threading.Thread(target=lambda: out.append([v.item() for v in c(mx.array([1.0]))]))
    t.start()
    t.join()
    assert out == [[2.0, 2.0]]


def test_in_place_ops_alias_and_self_operands():
    a = mx.array([[1.0, 2.0], [3.0, 4.0]])
    b = a
    b @= a  # the operand is the array being updated
    assert a.tolist() == [[7.0, 10.0], [15.0, 22.0]]
    c = mx.array([1, 2, 3])
    c[0] = c[2]
    assert c.tolist() == [3, 2, 3]
    d = mx.array([1, 2])
    e = d
    d += 1.5  # the result's dtype is kept, and every name sees it
    assert e.dtype == mx.float32 and e.tolist() == [2.5, 3.5]
    with pytest.raises(ValueError, match="In place division"):
        f = mx.array([1])
        f /= 1


def test_numpy_scalars():
    assert mx.array(np.float32(2.0)).shape == ()
    assert mx.arange(10)[np.int64(5)].item() == 5
    assert np.array(mx.array(3)).shape == ()


def test_buffer_protocol_and_numpy_views():
    a = mx.arange(12, dtype=mx.int32).reshape(3, 4)
    m = memoryview(a.T)
    assert m.format == "i" and m.shape == (4, 3) and m.strides == (4, 16) and not m.readonly
    view = np.array(a, copy=False)  # no copy: numpy sees rmlx's memory
    assert not view.flags.owndata and view.tolist() == a.tolist()
    assert memoryview(mx.array([1 + 2j])).format == "Zf"
    assert memoryview(mx.ones((2,), dtype=mx.bfloat16)).format == "bfloat16"
    # A broadcast shares one element between positions: numpy may read it, not write it.
    b = mx.broadcast_to(mx.array([1.0, 2.0]), (3, 2))
    assert memoryview(b).readonly and np.array(b, copy=False).strides == (0, 4)


def test_dlpack_both_ways():
    x = mx.arange(16).reshape(4, 4)[::2, ::2]
    assert x.__dlpack_device__() == (1, 0)
    assert np.from_dlpack(x).tolist() == x.tolist()
    src = np.arange(12, dtype=np.float32).reshape(3, 4).T
    y = mx.from_dlpack(src)
    assert y.tolist() == src.tolist() and memoryview(y).strides == src.strides
    assert mx.from_dlpack(np.ones(2, dtype=np.float64)).dtype == mx.float32
    assert mx.from_dlpack(np.array([1 + 2j])).tolist() == [1 + 2j]
    with pytest.raises(ValueError):
        mx.from_dlpack(np.arange(3.0)[::-1])
    with pytest.raises(ValueError):
        mx.asarray(np.arange(3), copy=False)
    assert mx.array(1.0).__array_namespace__() is mx


def test_argument_forms():
    assert mx.arange(-3, None, -1).tolist() == [0, -1, -2]
    assert mx.arange(stop=2, step=0.5).tolist() == [0, 0.5, 1.0, 1.5]
    with pytest.raises(TypeError):
        mx.arange(start=1, step=2)
    assert mx.linspace(0, 10, 5, False).tolist() == [0, 2, 4, 6, 8]
    assert mx.zeros_like(mx.array([1, 2]), mx.float16).dtype == mx.float16
    assert mx.pad(mx.zeros((1, 1)), (1,)).shape == (3, 3)
    with pytest.raises(ValueError, match="num_splits"):
        mx.split(mx.arange(6), -1)
    with pytest.raises(OverflowError, match="2147483648"):
        mx.zeros([2**31])
    with pytest.raises(OverflowError, match="concatenate"):
        mx.concatenate([mx.zeros(2**30)] * 3)
    with pytest.raises(ValueError, match="32-bit"):
        mx.arange(3)[2**32]
    with pytest.raises(ValueError, match="bitwise and"):
        mx.array(1.0) & mx.array(1)
    assert mx.array(bytearray([1, 2])).tolist() == [1, 2]
    x, y = mx.array([1], mx.uint8), mx.array([2], mx.int8)
    assert mx.array([[x, [2.0]], [[3.0], y]]).dtype == mx.float32
    assert complex(mx.array(1 + 2j)) == 1 + 2j
    assert mx.array([1], mx.int8).dtype is mx.int8


def test_transforms_of_containers():
    # grad sees the caller's own list and keeps what the function put there.
    def loss(params):
        params[1] = mx.array(5.0)
        return (params[0] * 2).sum()

    params = [mx.array(1.0), mx.array(1.0)]
    first = params[0]
    assert mx.grad(loss)(params).__class__ is list
    assert params[0] is first and params[1].item() == 5.0
    assert mx.grad(lambda x, y: x * y, argnums=[0])(mx.array(2.0), mx.array(3.0)).item() == 3.0
    with pytest.raises(ValueError, match="scalar array"):
        mx.grad(lambda x: (x.sum(), 1))(mx.array([1.0]))

    def tree_fun(t):
        return t["a"] + t["b"][0]

    t = {"a": mx.ones((2, 3)), "b": (mx.ones((3, 2)),)}
    assert mx.vmap(tree_fun, in_axes={"a": 0, "b": (1,)})(t).shape == (2, 3)
    with pytest.raises(ValueError, match="prefix"):
        mx.vmap(tree_fun, in_axes=[0])(t)
    out = mx.vmap(lambda x: {"a": x, "b": x}, out_axes={"a": 1, "b": 0})(mx.ones((2, 3)))
    assert out["a"].shape == (3, 2) and out["b"].shape == (2, 3)

    @mx.custom_function
    def double(p):
        return {"out": 2 * p["x"]}

    @double.vjp
    def double_vjp(primals, cotangents, outputs):
        return {"x": mx.ones_like(primals["x"]) * 7}

    g = mx.grad(lambda p: double(p)["out"].sum())({"x": mx.ones(2)})
    assert g["x"].tolist() == [7.0, 7.0]

    def traced(x):
        y = x + 1
        mx.async_eval(y)
        return y.sum()

    with pytest.raises(ValueError, match="async_eval"):
        mx.grad(traced)(mx.array([1.0]))


def test_setitem_with_boolean_masks():
    # A bool array, a list of bools, a NumPy bool array: masked_scatter.
    a = mx.array([1.0, 2.0, 3.0])
    a[mx.array([True, False, True])] = mx.array([5.0, 6.0])
    assert a.tolist() == [5.0, 2.0, 6.0]
    a[[False, True, False]] = 7.0
    assert a.tolist() == [5.0, 7.0, 6.0]
    b = mx.zeros((2, 3))
    b[np.array([False, True])] = mx.array([1.0, 2.0, 3.0])
    assert b.tolist() == [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]
    # A Python bool is a 0-d mask, not the index 1.
    c = mx.array([1, 2, 3])
    c[True] = 9
    assert c.tolist() == [9, 9, 9]
    c[False] = 0
    assert c.tolist() == [9, 9, 9]
    with pytest.raises(ValueError):
        mx.zeros((2, 2))[mx.zeros((1, 2), dtype=mx.bool_)] = 1.0
    # A lone integer index takes an update with extra leading size-1 axes.
    d = mx.zeros((3, 4))
    d[1] = mx.array([[1.0, 2.0, 3.0, 4.0]])
    assert d[1].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_norm_without_axes_flattens_any_rank():
    x = mx.arange(1, 25, dtype=mx.float32).reshape(2, 3, 4)
    want = float(np.linalg.norm(np.arange(1, 25, dtype=np.float32)))
    assert abs(mx.linalg.norm(x).item() - want) < 1e-3
    k = mx.linalg.norm(x, keepdims=True)
    assert k.shape == (1, 1, 1)
    assert abs(k.item() - want) < 1e-3


def test_fft2_axes_none_is_every_axis():
    x = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    # Left out: the last two axes; given as None: every axis (as MLX).
    assert np.allclose(np.array(mx.fft.fft2(mx.array(x))), np.fft.fft2(x), atol=1e-4)
    assert np.allclose(
        np.array(mx.fft.fft2(mx.array(x), axes=None)), np.fft.fftn(x), atol=1e-4
    )
    assert mx.fft.rfft2(mx.array(x), axes=None).shape == (3, 4, 3)


def test_streams_belong_to_their_thread_as_in_mlx():
    import threading

    owned = mx.new_stream(mx.cpu)
    local = mx.new_thread_local_stream(mx.cpu)
    shared = mx.new_thread_unsafe_stream(mx.cpu)
    assert repr(local).startswith("ThreadLocalStream(")
    results = {}

    def use(name, s):
        try:
            with mx.stream(s):
                results[name] = (2 * mx.arange(3)).tolist()
        except RuntimeError as e:
            results[name] = str(e)

    for name, s in [("owned", owned), ("local", local), ("shared", shared)]:
        t = threading.Thread(target=use, args=(name, s))
        t.start()
        t.join()
    assert "in current thread" in results["owned"]
    assert results["local"] == [0, 2, 4]
    assert results["shared"] == [0, 2, 4]
    use("owner", owned)
    assert results["owner"] == [0, 2, 4]


def test_metal_kernel_is_recorded_only_while_exporting(tmp_path):
    kernel = mx.fast.metal_kernel(
        name="copy",
        input_names=["a"],
        output_names=["out"],
        source="uint i = thread_position_in_grid.x; out[i] = a[i];",
    )

    def call(a, stream=mx.gpu):
        return kernel(
            inputs=[a],
            grid=(a.size, 1, 1),
            threadgroup=(a.size, 1, 1),
            output_shapes=[a.shape],
            output_dtypes=[a.dtype],
            stream=stream,
        )[0]

    a = mx.zeros((2, 2))
    with pytest.raises(RuntimeError, match="No Metal back-end"):
        call(a)
    path = str(tmp_path / "k.mlxfn")
    mx.export_function(path, call, a)
    with pytest.raises(RuntimeError, match="only run on GPU"):
        mx.eval(mx.import_function(path)(a)[0])
    with pytest.raises(ValueError, match="Only supports the GPU"):
        mx.export_function(path, lambda x: call(x, mx.cpu), a)
    with pytest.raises(RuntimeError, match="No CUDA back-end"):
        mx.fast.cuda_kernel(name="k", input_names=["a"], output_names=["o"], source="")(
            inputs=[a],
            grid=(1, 1, 1),
            threadgroup=(1, 1, 1),
            output_shapes=[(2, 2)],
            output_dtypes=[mx.float32],
        )
