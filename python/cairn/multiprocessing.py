"""``cairn.multiprocessing.get``: run a task graph in worker processes (``dask.multiprocessing``)."""

from __future__ import annotations

from typing import Any, Mapping

from . import base as _base

__all__ = ["get"]


def get(dsk: Mapping, keys: Any, num_workers: int | None = None, func_loads: Any = None,
        func_dumps: Any = None, optimize_graph: bool = True, pool: Any = None,
        initializer: Any = None, chunksize: Any = None, **kwargs: Any) -> Any:
    """Compute ``keys`` of the graph ``dsk`` in cairn's warm worker processes.

    ``initializer`` (default: config ``multiprocessing.initializer``) runs once in each
    worker process as it starts. ``func_loads``, ``func_dumps``, ``pool`` and ``chunksize``
    are accepted for Dask compatibility and not used: cairn's workers are spawned and kept
    warm, and serialize with cloudpickle (see docs/dask-compat.md).

    Examples
    --------
    >>> from operator import add
    >>> from cairn.multiprocessing import get
    >>> get({"x": 1, "y": (add, "x", 1)}, "y", num_workers=1)
    2
    """
    return _base.get(dsk, keys, scheduler="processes", num_workers=num_workers,
                     optimize_graph=optimize_graph, initializer=initializer, **kwargs)
