"""``array`` methods that forward to the module's functions (``a.sum(axis=1)``)."""


def _forward(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


_FORWARDED = [
    "abs", "all", "any", "argmax", "argmin", "conj", "cummax", "cummin", "cumprod", "cumsum",
    "diag", "diagonal", "exp", "flatten", "log", "log10", "log1p", "log2", "logcumsumexp",
    "logsumexp", "max", "mean", "min", "moveaxis", "prod", "reciprocal", "round", "rsqrt",
    "sin", "cos", "split", "sqrt", "square", "std", "sum", "swapaxes", "var", "view",
]


def attach(array, ns):
    for name in _FORWARDED:
        if name in ns:
            setattr(array, name, _forward(ns[name]))

    def reshape(self, *shape, stream=None):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return ns["reshape"](self, shape)

    def transpose(self, *axes, stream=None):
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return ns["transpose"](self, list(axes) if axes else None)

    def squeeze(self, axis=None, *, stream=None):
        return ns["squeeze"](self, axis)

    array.reshape = reshape
    array.transpose = transpose
    array.squeeze = squeeze
