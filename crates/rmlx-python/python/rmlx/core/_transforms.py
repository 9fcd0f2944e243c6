"""Autodiff and vectorisation over Python functions of pytrees of arrays.

The compiled transforms (``rmlx._ext._*_flat``) work on flat lists of arrays; this layer
flattens the arguments a user passes (lists, tuples, dicts of arrays), rebuilds them inside
the transformed function, and shapes the results the way MLX returns them.
"""

from rmlx import _ext

array = _ext.array


def _flatten(tree):
    """The array leaves of ``tree`` and a function that rebuilds it from new leaves."""
    leaves = []
    return leaves, _flatten_walk(tree, leaves)


def _flatten_walk(t, leaves):
    """``_flatten``'s walk, at module level: a recursive closure would form a reference cycle
    holding ``leaves`` until the garbage collector runs, which keeps the caller's arrays alive
    (a compiled function could then not reuse a dropped argument's buffer, as MLX does)."""
    if isinstance(t, array):
        leaves.append(t)
        i = len(leaves) - 1
        return lambda xs: xs[i]
    if isinstance(t, (list, tuple)):
        parts = [_flatten_walk(x, leaves) for x in t]
        kind = type(t)
        if hasattr(kind, "_fields"):  # a namedtuple takes its fields as arguments
            return lambda xs: kind(*(p(xs) for p in parts))
        return lambda xs: kind([p(xs) for p in parts])
    if isinstance(t, dict):
        parts = {k: _flatten_walk(v, leaves) for k, v in t.items()}
        return lambda xs: {k: p(xs) for k, p in parts.items()}
    return lambda xs: t


def _fill(tree, values):
    """``tree`` with its array leaves replaced, in order, by ``values``: in place in lists and
    dicts (their subclasses too), a new tuple for a tuple."""
    if isinstance(tree, array):
        return next(values)
    if isinstance(tree, list):
        for i, t in enumerate(tree):
            tree[i] = _fill(t, values)
        return tree
    if isinstance(tree, tuple):
        parts = [_fill(t, values) for t in tree]
        return type(tree)(*parts) if hasattr(type(tree), "_fields") else type(tree)(parts)
    if isinstance(tree, dict):
        for k in list(tree.keys()):
            tree[k] = _fill(tree[k], values)
        return tree
    return tree


def _restore(tree, originals):
    """Puts the original arrays back in the lists and dicts of ``tree`` wherever a tracer (by
    ``id``, a key of ``originals``) is still there."""
    if isinstance(tree, list):
        for i, t in enumerate(tree):
            if isinstance(t, array) and id(t) in originals:
                tree[i] = originals[id(t)]
            else:
                _restore(t, originals)
    elif isinstance(tree, dict):
        for k, t in tree.items():
            if isinstance(t, array) and id(t) in originals:
                tree[k] = originals[id(t)]
            else:
                _restore(t, originals)
    elif isinstance(tree, tuple):
        for t in tree:
            _restore(t, originals)


def _check_argnums(argnums, argnames):
    """MLX's checks of ``grad``'s arguments, made when the transform is created."""
    if argnums is None:
        return
    nums = (argnums,) if isinstance(argnums, int) else argnums
    try:
        nums = tuple(nums)
    except TypeError:
        raise TypeError("argnums must be an int or a sequence of ints") from None
    if not all(isinstance(a, int) for a in nums):
        raise TypeError("argnums must be an int or a sequence of ints")
    if not nums and not argnames:
        raise ValueError(
            "[grad] Must specify at least one argument in argnums or argnames."
        )
    if len(set(nums)) != len(nums):
        raise ValueError("[grad] Repeat argument number provided.")


def _only_arrays(tree):
    """Raises MLX's error unless every leaf of ``tree`` is an array."""
    if isinstance(tree, array):
        return
    if isinstance(tree, (list, tuple)):
        for t in tree:
            _only_arrays(t)
        return
    if isinstance(tree, dict):
        for t in tree.values():
            _only_arrays(t)
        return
    raise ValueError("[tree_flatten] The argument should contain only arrays")


def _norm_argnums(argnums, argnames, nargs):
    if argnums is None:
        argnums = () if argnames else 0
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    # One argument number, as an int or in a list, gives the gradient itself (as MLX).
    single = len(nums) == 1
    out = []
    for a in nums:
        if a < 0:
            a += nargs
        if a < 0 or a >= nargs:
            raise ValueError(
                f"[grad] Invalid argument number for function with {nargs} arguments."
            )
        out.append(a)
    if len(set(out)) != len(out):
        raise ValueError("[grad] Repeat argument number provided.")
    return out, single


def _value_and_grad_impl(fun, argnums, argnames, args, kwargs, scalar_only=False):
    nums, single = _norm_argnums(argnums, argnames, len(args))
    if isinstance(argnames, str):
        argnames = (argnames,)
    argnames = tuple(argnames or ())
    for n in argnames:
        if n not in kwargs:
            raise ValueError(
                f"[grad] Can't compute the gradient of argument {n} because the function "
                "was not called with it as a keyword argument."
            )
    # Flatten the differentiated arguments (positional by number, keyword by name).
    targets = [args[i] for i in nums] + [kwargs[n] for n in argnames]
    _only_arrays(targets)
    leaves, rebuild = _flatten(targets)
    holder = {}

    def flat(xs):
        # As MLX, the tracers go into the caller's own lists and dicts (a Module is a dict),
        # so the function sees its containers and may change them; the originals are put
        # back afterwards wherever the function left a tracer.
        parts = _fill(targets, iter(xs))
        holder["tracers"] = xs
        call_args = list(args)
        for k, i in enumerate(nums):
            call_args[i] = parts[k]
        call_kwargs = dict(kwargs)
        for k, n in enumerate(argnames):
            call_kwargs[n] = parts[len(nums) + k]
        out = fun(*call_args, **call_kwargs)
        first = out if isinstance(out, array) else (
            out[0] if isinstance(out, (list, tuple)) and out else None
        )
        if isinstance(first, array) and first.ndim != 0:
            raise ValueError(
                f"[vjp] Output shape {_shape_text(first.shape)} does not match cotangent shape (). "
                "If you are using grad your function must return a scalar."
            )
        if isinstance(out, array):
            holder["tree"] = None
            return [out]
        if scalar_only:
            raise ValueError(
                "[grad] The return value of the function whose gradient we want to compute "
                f"should be a scalar array; but {type(out).__name__} was returned."
            )
        if isinstance(out, (list, tuple)) and out and isinstance(out[0], array):
            first = out[0]
            rest, rest_rebuild = _flatten(list(out[1:]))
            holder["tree"] = (type(out), rest_rebuild)
            return [first] + rest
        raise ValueError(
            "[value_and_grad] The return value of the function whose gradient we want to "
            "compute should be either a scalar array or a tuple with the first value being a "
            "scalar array (Union[array, Tuple[array, Any, ...]]); but "
            f"{type(out).__name__} was returned."
        )

    try:
        vals, grads = _ext._value_and_grad_flat(flat, leaves, list(range(len(leaves))))
    finally:
        if "tracers" in holder:
            _restore(targets, {id(t): o for t, o in zip(holder["tracers"], leaves)})
    g = rebuild(grads)
    pos = g[: len(nums)]
    kw = {n: g[len(nums) + k] for k, n in enumerate(argnames)}
    if argnames:
        positional = None if not nums else (pos[0] if single else tuple(pos))
        g_out = (positional, kw)
    else:
        g_out = pos[0] if single else tuple(pos)
    tree = holder.get("tree")
    if tree is None:
        value = vals[0]
    else:
        kind, rest_rebuild = tree
        value = (vals[0], *rest_rebuild(vals[1:]))
        if kind is list:
            value = list(value)
    return value, g_out


def _shape_text(shape):
    return "(" + ",".join(str(d) for d in shape) + ")"


def value_and_grad(fun, argnums=None, argnames=()):
    """A function returning ``(fun(*args), gradient)`` (``mx.value_and_grad``)."""
    _check_argnums(argnums, argnames)

    def wrapper(*args, **kwargs):
        return _value_and_grad_impl(fun, argnums, argnames, args, kwargs)

    return wrapper


def grad(fun, argnums=None, argnames=()):
    """A function returning the gradient of ``fun`` (``mx.grad``)."""
    _check_argnums(argnums, argnames)

    def wrapper(*args, **kwargs):
        return _value_and_grad_impl(fun, argnums, argnames, args, kwargs, scalar_only=True)[1]

    return wrapper


def _outputs(out):
    if isinstance(out, array):
        return [out]
    return list(out)


def vjp(fun, primals, cotangents):
    """``(outputs, vjps)`` of ``fun`` at ``primals`` (lists of arrays), as ``mx.vjp``."""
    primals, cotangents = list(primals), list(cotangents)
    outs, vjps = _ext._vjp_flat(
        lambda xs: _outputs(fun(*xs)), primals, cotangents, list(range(len(primals)))
    )
    return outs, vjps


def jvp(fun, primals, tangents):
    """``(outputs, jvps)`` of ``fun`` at ``primals`` (lists of arrays), as ``mx.jvp``."""
    return _ext._jvp_flat(lambda xs: _outputs(fun(*xs)), list(primals), list(tangents))


def _is_axis(a):
    return a is None or (isinstance(a, int) and not isinstance(a, bool))


def _match_axes(tree, axes, where):
    """One axis per array leaf of ``tree``: ``axes`` is an axis (int or None) for every leaf,
    or a prefix of ``tree`` (the same containers, with an axis wherever it stops)."""
    out = []

    def prefix_error():
        return ValueError(
            f"[{where}] Additional input tree is not a valid prefix of the first tree."
        )

    def match(t, a):
        if _is_axis(a):
            out.extend([a] * len(_flatten(t)[0]))
        elif isinstance(t, array):
            raise ValueError("[vmap] axis must be int or None.")
        elif isinstance(a, dict):
            if not isinstance(t, dict) or set(a) != set(t):
                raise prefix_error()
            for k in t:
                match(t[k], a[k])
        elif isinstance(a, (list, tuple)):
            if isinstance(t, dict) or not isinstance(t, (list, tuple)):
                raise prefix_error()
            if isinstance(a, list) != isinstance(t, list) or len(a) != len(t):
                raise prefix_error()
            for x, y in zip(t, a):
                match(x, y)
        else:
            raise ValueError("[vmap] axis must be int or None.")

    match(tree, axes)
    return out


def vmap(fun, in_axes=0, out_axes=0):
    """``fun`` vectorised over ``in_axes`` of its arguments (``mx.vmap``). The axes are an
    int or None for everything, or a prefix tree of the arguments (a tuple, one entry per
    argument; anything else is taken as the entry of a lone argument) and of the outputs."""

    def wrapper(*args):
        leaves, rebuild = _flatten(list(args))
        spec = in_axes if _is_axis(in_axes) or isinstance(in_axes, tuple) else (in_axes,)
        axes = _match_axes(tuple(args), spec, "tree_map")
        holder = {}

        def flat(xs):
            out = fun(*rebuild(xs))
            leaves_out, rebuild_out = _flatten(out)
            holder["rebuild"] = rebuild_out
            return leaves_out

        flat_spec = isinstance(out_axes, (list, tuple)) and all(_is_axis(a) for a in out_axes)
        if _is_axis(out_axes):  # one axis for every output, however many the trace gives
            res = _ext._vmap_flat(flat, leaves, axes, None, out_axes)
            return holder["rebuild"](res)
        if flat_spec:
            res = _ext._vmap_flat(flat, leaves, axes, list(out_axes))
            out = holder["rebuild"](res)
            # A lone output is the one entry of the outputs' tuple.
            _match_axes((out,) if isinstance(out, array) else out, out_axes, "tree_visit")
            return out
        # A nested spec: stack along 0, then move each output's axis where the spec says.
        res = _ext._vmap_flat(flat, leaves, axes, None, 0)
        out = holder["rebuild"](res)
        per_leaf = _match_axes(out, out_axes, "tree_visit")
        if any(a is None for a in per_leaf):
            raise ValueError("[vmap] rmlx takes None out axes only as a flat list or alone.")
        return holder["rebuild"](
            [x if a == 0 else _ext.moveaxis(x, 0, a) for x, a in zip(res, per_leaf)]
        )

    return wrapper


def _structure_key(tree):
    """A hashable description of ``tree`` with arrays replaced by their dtype and rank (the
    compiled trace depends on everything else: constants, containers, keyword names)."""

    def walk(t):
        if isinstance(t, array):
            return ("array",)
        if isinstance(t, (list, tuple)):
            return (type(t).__name__, tuple(walk(x) for x in t))
        if isinstance(t, dict):
            return ("dict", tuple((k, walk(v)) for k, v in t.items()))
        if t is None or isinstance(t, (bool, int, float, complex, str)):
            return ("const", type(t).__name__, repr(t))
        raise ValueError(
            "[compile] Function arguments must be trees of arrays or constants (floats, ints, "
            f"strings, or None), but received type {type(t).__module__}.{type(t).__qualname__}."
        )

    return walk(tree)


def compile(fun=None, inputs=None, outputs=None, shapeless=False):
    """``mx.compile``: ``fun`` traced once per kind of input and replayed as a fused graph.

    Functions that capture state through ``inputs``/``outputs`` run uncompiled (same results,
    no fusion): rmlx's Python layer does not yet thread captured state through a trace.
    """
    import functools

    if fun is None:
        return functools.partial(compile, inputs=inputs, outputs=outputs, shapeless=shapeless)
    if inputs is not None or outputs is not None:

        @functools.wraps(fun)
        def eager(*args, **kwargs):
            return fun(*args, **kwargs)

        return eager

    cache = {}

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        leaves, rebuild = _flatten((args, kwargs))
        key = _structure_key((args, kwargs))
        entry = cache.get(key)
        if entry is None:
            holder = {}

            def flat(xs):
                a, k = rebuild(xs)
                out = fun(*a, **k)
                out_leaves, out_rebuild = _flatten(out)
                holder["rebuild"] = out_rebuild
                return out_leaves

            entry = (_ext._compile_flat(flat, shapeless), holder)
            cache[key] = entry
        res = entry[0](leaves)
        return entry[1]["rebuild"](res)

    return wrapper


class custom_function:
    """``mx.custom_function``: a function whose vjp, jvp or vmap you give.

    ::

        @mx.custom_function
        def f(x, y):
            return mx.sin(x) * y

        @f.vjp
        def f_vjp(primals, cotangent, output):
            x, y = primals
            return cotangent * mx.cos(x) * y, cotangent * mx.sin(x)

    The arguments are arrays; the output an array or a tuple of arrays.
    """

    def __init__(self, fun):
        import functools

        self._fun = fun
        self._vjp = None
        self._jvp = None
        self._vmap = None
        functools.update_wrapper(self, fun)

    def vjp(self, f):
        self._vjp = f
        return f

    def jvp(self, f):
        self._jvp = f
        return f

    def vmap(self, f):
        self._vmap = f
        return f

    def __call__(self, *args, **kwargs):
        # The arguments and outputs are pytrees; the rules see them as the function does:
        # the one argument itself, or the tuple of them.
        leaves, rebuild = _flatten(list(args))
        holder = {}

        def as_args(xs):
            parts = rebuild(xs)
            return parts[0] if len(parts) == 1 else tuple(parts)

        def flat(xs):
            out = self._fun(*rebuild(xs), **kwargs)
            out_leaves, out_rebuild = _flatten(out)
            holder["rebuild"] = out_rebuild
            return out_leaves

        def leaves_of(tree):
            return _flatten(tree)[0]

        def vjp_flat(primals, cotangents, outputs):
            out_tree = holder["rebuild"]
            g = self._vjp(as_args(primals), out_tree(cotangents), out_tree(outputs))
            return leaves_of(g if len(args) == 1 else list(g))

        def jvp_flat(primals, tangents, argnums):
            full = [None] * len(primals)
            for t, i in zip(tangents, argnums):
                full[i] = t
            full = [t if t is not None else _ext.zeros_like(p) for t, p in zip(full, primals)]
            return leaves_of(self._jvp(as_args(primals), as_args(full)))

        def vmap_flat(inputs, axes):
            outs, out_axes = self._vmap(as_args(inputs), as_args(axes))
            out_leaves = leaves_of(outs)
            return out_leaves, _match_axes(outs, out_axes, "tree_map")

        res = _ext._custom_call(
            flat,
            leaves,
            vjp_flat if self._vjp else None,
            jvp_flat if self._jvp else None,
            vmap_flat if self._vmap else None,
        )
        return holder["rebuild"](res)


def checkpoint(fun):
    """``mx.checkpoint``: ``fun`` whose intermediates are recomputed in the backward pass
    instead of kept (the results are the same, the memory lower)."""
    import functools

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        leaves, rebuild = _flatten(list(args))
        holder = {}

        def flat(xs):
            out = fun(*rebuild(xs), **kwargs)
            out_leaves, out_rebuild = _flatten(out)
            holder["rebuild"] = out_rebuild
            return out_leaves

        if not leaves:
            return fun(*args, **kwargs)
        res = _ext._checkpoint_call(flat, leaves)
        return holder["rebuild"](res)

    return wrapper


def _export_inputs(args, kwargs, prefix):
    """MLX's forms of example (or call) inputs: arrays by position and by keyword, or one
    tuple/list of arrays and/or one dict of named arrays. Returns the positional arrays and
    the keyword arrays."""

    def bad():
        raise ValueError(
            f"{prefix} Inputs can either be a variable number of positional and keyword "
            "arrays or a single tuple and/or dictionary of arrays."
        )

    def arrays(seq):
        if not isinstance(seq, (list, tuple)) or not all(isinstance(x, array) for x in seq):
            bad()
        return list(seq)

    def named(d):
        if not isinstance(d, dict) or not all(
            isinstance(k, str) and isinstance(v, array) for k, v in d.items()
        ):
            bad()
        return dict(d)

    if len(args) == 0:
        return [], named(kwargs)
    if isinstance(args[0], array):
        return arrays(args), named(kwargs)
    if kwargs or len(args) > 2:
        bad()
    if len(args) == 1:
        if isinstance(args[0], dict):
            return [], named(args[0])
        return arrays(args[0]), {}
    return arrays(args[0]), named(args[1])


def _flat_inputs(args, kwargs):
    """The flat inputs (positional, then keyword by sorted name) and the keyword names."""
    names = sorted(kwargs)
    return list(args) + [kwargs[k] for k in names], names


def _export_outputs(out):
    if isinstance(out, array):
        return [out]
    if isinstance(out, (list, tuple)) and all(isinstance(x, array) for x in out):
        return list(out)
    raise ValueError(
        "[export_function] Outputs can be either a single array, a tuple, or a list of arrays."
    )


def _flat_caller(fun, holder):
    """``fun`` as a function of flat inputs; ``holder["split"]`` (the number of positional
    inputs and the keyword names) says how to split them and may change between traces."""

    def flat(xs):
        n, names = holder["split"]
        return _export_outputs(fun(*xs[:n], **dict(zip(names, xs[n:]))))

    return flat


def _is_path(file):
    import os

    return isinstance(file, (str, os.PathLike))


def _fspath(file):
    import os

    return os.fspath(file)


def _check_metadata(metadata):
    if metadata is not None and not isinstance(metadata, str):
        raise TypeError(
            f"[export_function] metadata must be a string, not {type(metadata).__name__}."
        )


_LOG_BASES = {"Two": 0, "Ten": 1, "E": 2}


def _callback_arguments(node):
    """The primitive's parameters as MLX's export callback lists them."""
    import rmlx.core as mx

    name, params = node["name"], node["params"]
    if name == "AsType":
        return [getattr(mx, node["outputs"][0]["dtype"])]
    if name == "Log" and isinstance(params, dict):
        return [_LOG_BASES.get(params.get("base"), params.get("base"))]
    if params is None:
        return []
    values = list(params.values()) if isinstance(params, dict) else [params]
    dtypes = {
        "bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
        "float16", "bfloat16", "float32", "float64", "complex64",
    }
    return [getattr(mx, v) if isinstance(v, str) and v in dtypes else v for v in values]


def _export_to_callback(callback, flat, leaves, names, shapeless):
    """MLX's export with a callback: the graph's inputs, keyword inputs, outputs, constants and
    primitives, each passed to ``callback`` as a dict (read from rmlx's exported graph)."""
    import json
    import struct

    import numpy as np

    import rmlx.core as mx

    data = _ext._export_bytes_flat(flat, leaves, names, shapeless)
    (length,) = struct.unpack("<Q", data[8:16])
    header = json.loads(data[16 : 16 + length])
    fn = header["functions"][0]
    consts = header["constants"]
    blob = data[16 + length :]

    def spec(prefix, i, s):
        return (f"{prefix}{i}", tuple(s["shape"]), getattr(mx, s["dtype"]))

    def ref_name(r):
        if "input" in r:
            return f"in{r['input']}"
        if "node" in r:
            return f"n{r['node'][0]}_{r['node'][1]}"
        return f"c{r.get('const', r.get('broadcast'))}"

    def ref_spec(r):
        if "input" in r:
            s = fn["inputs"][r["input"]]
        elif "node" in r:
            s = fn["nodes"][r["node"][0]]["outputs"][r["node"][1]]
        else:
            s = dict(consts[r.get("const", r.get("broadcast"))])
            if "broadcast" in r:
                s["shape"] = r["shape"]
        return (ref_name(r), tuple(s["shape"]), getattr(mx, s["dtype"]))

    inputs = [spec("in", i, s) for i, s in enumerate(fn["inputs"])]
    callback({"type": "inputs", "inputs": inputs})
    n_args = len(inputs) - len(names)
    keywords = [(k, inputs[n_args + j][0]) for j, k in enumerate(names)]
    callback({"type": "keyword_inputs", "keywords": keywords})
    callback({"type": "outputs", "outputs": [ref_spec(r) for r in fn["outputs"]]})
    constants = []
    for i, c in enumerate(consts):
        raw = blob[c["offset"] : c["offset"] + c["nbytes"]]
        dt = "bool_" if c["dtype"] == "bool" else c["dtype"]
        if dt == "bfloat16":
            value = mx.array(np.frombuffer(raw, np.uint16).reshape(c["shape"])).view(mx.bfloat16)
        else:
            value = mx.array(np.frombuffer(raw, getattr(np, dt)).reshape(c["shape"]))
        constants.append((f"c{i}", value))
    callback({"type": "constants", "constants": constants})
    for n, node in enumerate(fn["nodes"]):
        callback(
            {
                "type": "primitive",
                "inputs": [ref_spec(r) for r in node["inputs"]],
                "outputs": [spec(f"n{n}_", k, o) for k, o in enumerate(node["outputs"])],
                "name": node["name"],
                "arguments": _callback_arguments(node),
            }
        )


def export_function(file_or_callback, fun, *args, shapeless=False, metadata=None, **kwargs):
    """``mx.export_function``: write ``fun`` traced on the example arguments to a file (rmlx's
    format), or describe its graph to a callback. The example inputs are arrays by position and
    keyword, or one tuple/list of arrays and/or one dict of named arrays."""
    _check_metadata(metadata)
    a, kw = _export_inputs(args, kwargs, "[export_function]")
    leaves, names = _flat_inputs(a, kw)
    holder = {"split": (len(a), names)}
    flat = _flat_caller(fun, holder)
    if _is_path(file_or_callback):
        _ext._export_flat(
            _fspath(file_or_callback), flat, leaves, names, bool(shapeless), metadata
        )
    elif callable(file_or_callback):
        if metadata:
            raise ValueError(
                "[export_function] The metadata argument is only supported when exporting to "
                "a file, not when using a callback."
            )
        _export_to_callback(file_or_callback, flat, leaves, names, bool(shapeless))
    else:
        raise TypeError("[export_function] Expected a file path or a callback.")


class _Imported:
    def __init__(self, f):
        self._f = f

    def __call__(self, *args, **kwargs):
        a, kw = _export_inputs(args, kwargs, "[import_function::call]")
        leaves, names = _flat_inputs(a, kw)
        return tuple(self._f(leaves, names))


def import_function(file, return_metadata=False):
    """``mx.import_function``: a function read back from ``file``; it returns a tuple. With
    ``return_metadata``, also the metadata string saved with it."""
    f = _ext._import_flat(_fspath(file))
    imported = _Imported(f)
    if return_metadata:
        return imported, f.metadata
    return imported


class exporter:
    """``with mx.exporter(file, fun) as export: export(x); export(y)`` writes one trace per
    kind of input to ``file`` when the block ends."""

    def __init__(self, file, fun, *, shapeless=False, metadata=None):
        _check_metadata(metadata)
        self._holder = {"split": (0, [])}
        self._exporter = _ext._exporter_flat(
            _fspath(file), _flat_caller(fun, self._holder), bool(shapeless), metadata
        )

    def __call__(self, *args, **kwargs):
        a, kw = _export_inputs(args, kwargs, "[export_function]")
        leaves, names = _flat_inputs(a, kw)
        self._holder["split"] = (len(a), names)
        self._exporter.add(leaves, names)

    def close(self):
        self._exporter.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def export_to_dot(file, *args, **kwargs):
    """``mx.export_to_dot``: write the graph behind the given arrays to ``file`` (a path or a
    writable text file) in Graphviz DOT."""
    outputs, _ = _flatten([list(args), list(kwargs.values())])
    dot = _ext._export_to_dot(outputs)
    if hasattr(file, "write"):
        file.write(dot)
    else:
        with open(_fspath(file), "w") as f:
            f.write(dot)
