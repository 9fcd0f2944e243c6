"""rmlx: MLX's array framework in pure Rust.

``import rmlx.core as mx`` gives the ``mlx.core`` API. ``rmlx.use_as_mlx()`` makes
``import mlx.core`` resolve to it, so MLX's pure-Python packages (``mlx.nn``,
``mlx.optimizers``, ``mlx.utils``) run on rmlx.
"""

import sys


def use_as_mlx():
    """Make ``import mlx.core`` return ``rmlx.core``.

    Call it before anything imports ``mlx``. ``mlx.nn``, ``mlx.optimizers`` and ``mlx.utils``
    come from an installed ``mlx`` package if there is one (its compiled core is never loaded).
    """
    from rmlx import core

    sys.modules["mlx.core"] = core
    try:
        import mlx  # the namespace package of an installed MLX, if any
    except ImportError:
        import types

        mlx = types.ModuleType("mlx")
        mlx.__path__ = []
        sys.modules["mlx"] = mlx
    mlx.core = core
    return core
