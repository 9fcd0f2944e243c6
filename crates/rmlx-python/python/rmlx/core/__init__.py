"""``mlx.core`` on rmlx: the compiled functions of ``rmlx._ext`` plus the Python layer
(transforms over pytrees, array methods that forward to functions)."""

from rmlx._ext import *  # noqa: F401,F403
from rmlx._ext import array, Dtype, DtypeCategory  # noqa: F401
from rmlx import _ext

from ._transforms import grad, value_and_grad, vjp, jvp, vmap, compile  # noqa: F401
from ._methods import attach as _attach

__version__ = _ext.__version__

_attach(array, globals())
del _attach

import sys as _sys

# `import mlx.core.random` / `from mlx.core import fft` style access.
for _name in ("random", "linalg", "fft", "fast", "metal", "cuda", "distributed"):
    _sys.modules[f"{__name__}.{_name}"] = getattr(_ext, _name)
del _sys, _name
