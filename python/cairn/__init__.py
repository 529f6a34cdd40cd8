"""cairn: task graphs, text collections and versioned data, with a C++20 core.

The Python API follows Dask's names and behaviour::

    import cairn
    total = cairn.delayed(sum)([cairn.delayed(f)(x) for x in data])
    total.compute()
"""

from __future__ import annotations

import atexit as _atexit

try:
    # _core finds the wheel's libarrow through its rpath ($ORIGIN/../pyarrow), without
    # importing pyarrow (which costs ~60 ms and numpy); a CLI command starts faster.
    from . import _core
except ImportError:  # e.g. a symlinked build tree: let pyarrow load libarrow(_s3) first
    import pyarrow.fs as _pyarrow_fs  # noqa: F401

    from . import _core
from . import bag, callbacks, config, diagnostics, local, multiprocessing, threaded
from .base import (annotate, compute, get, is_cairn_collection, is_dask_collection, optimize,
                   persist)
from .delayed import Delayed, delayed
from .diagnostics import Callback, ProgressBar
from .dot import visualize
from .tokenize import tokenize
from .bag import from_sequence, read_text

__version__ = "0.1.0"

__all__ = [
    "Callback",
    "Delayed",
    "annotate",
    "bag",
    "callbacks",
    "from_sequence",
    "read_text",
    "ProgressBar",
    "compute",
    "config",
    "delayed",
    "diagnostics",
    "get",
    "is_cairn_collection",
    "is_dask_collection",
    "local",
    "multiprocessing",
    "optimize",
    "persist",
    "threaded",
    "tokenize",
    "visualize",
]

# Worker threads hold Python thread states; join them while the interpreter is intact.
_atexit.register(_core.shutdown_pools)


def _register_joblib_backend() -> None:
    from .schedulers import joblib_backend

    joblib_backend.register()


# joblib.parallel_backend("cairn"): registered once joblib is imported (importing it here
# would double cairn's import time).
from .schedulers.when_imported import when_imported as _when_imported  # noqa: E402

_when_imported("joblib", _register_joblib_backend)
