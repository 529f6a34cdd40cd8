"""``cairn.threaded.get``: run a task graph on cairn's thread pool (like ``dask.threaded.get``)."""

from __future__ import annotations

from typing import Any, Mapping

from . import base as _base
from . import config as _config

__all__ = ["get"]


def get(dsk: Mapping, keys: Any, cache: Any = None, num_workers: int | None = None,
        pool: Any = None, **kwargs: Any) -> Any:
    """Compute ``keys`` of the graph ``dsk`` on threads; see :func:`cairn.get`.

    ``pool``, a ``concurrent.futures.Executor`` or a ``multiprocessing.pool.ThreadPool``
    (default: config ``pool``), runs the tasks instead of cairn's own C++ thread pool.
    ``cache`` gives results already known, by key (their tasks are not run); it is not
    filled with the results computed (cairn frees each result after its last use).

    Examples
    --------
    >>> from operator import add
    >>> from cairn.threaded import get
    >>> get({"x": 1, "y": (add, "x", 1)}, "y")
    2
    """
    pool = pool if pool is not None else _config.get("pool", None)
    if pool is not None:
        from .scheduling import get_on_executor

        return get_on_executor(pool, dsk, keys, cache=cache, **kwargs)
    return _base.get(dsk, keys, scheduler="threads", num_workers=num_workers, cache=cache,
                     **kwargs)
