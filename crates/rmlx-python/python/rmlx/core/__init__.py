"""``mlx.core`` on rmlx: the compiled functions of ``rmlx._ext`` plus the Python layer
(transforms over pytrees, array methods that forward to functions)."""

from rmlx._ext import *  # noqa: F401,F403
from rmlx._ext import array, Dtype, DtypeCategory  # noqa: F401
from rmlx import _ext

from ._transforms import grad, value_and_grad, vjp, jvp, vmap, compile, custom_function, checkpoint  # noqa: F401
from ._transforms import export_function, import_function, exporter, export_to_dot  # noqa: F401
from ._methods import attach as _attach

__version__ = _ext.__version__

_attach(array, globals())
del _attach

import sys as _sys


class _RandomState:
    """``mx.random.state``: the global random state as a list-like of arrays (the key)."""

    def __getitem__(self, i):
        return _ext.random._state_get()[i]

    def __setitem__(self, i, value):
        state = _ext.random._state_get()
        state[i] = value
        _ext.random._state_set(state)

    def __len__(self):
        return len(_ext.random._state_get())

    def __iter__(self):
        return iter(_ext.random._state_get())


_ext.random.state = _RandomState()

# `import mlx.core.random` / `from mlx.core import fft` style access.
for _name in ("random", "linalg", "fft", "fast", "metal", "cuda", "distributed"):
    _sys.modules[f"{__name__}.{_name}"] = getattr(_ext, _name)
del _sys, _name


class PrintOptions:
    """The print options (``mx.get_printoptions()``)."""

    def __init__(self, precision):
        self.precision = precision

    def __repr__(self):
        return f"PrintOptions(precision={self.precision})"


def set_printoptions(precision=-1):
    """Set the number of decimals arrays print with (``-1``: MLX's default style)."""
    _ext._set_print_precision(precision)


def get_printoptions():
    """The current print options."""
    return PrintOptions(_ext._get_print_precision())


class printoptions:
    """``with mx.printoptions(precision=4):`` prints with 4 decimals inside the block."""

    def __init__(self, precision=-1):
        self._precision = precision

    def __enter__(self):
        self._previous = _ext._get_print_precision()
        _ext._set_print_precision(self._precision)
        return self

    def __exit__(self, *exc):
        _ext._set_print_precision(self._previous)
        return False
