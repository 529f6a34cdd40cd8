"""``cairn.local``: run a task graph on the calling thread (like ``dask.local``).

``get_sync`` runs a graph one task at a time on this thread (for debugging);
``synchronous_executor`` is a ``concurrent.futures.Executor`` that runs each submitted call at
once on the submitting thread, for code that wants an Executor (``scheduler=`` accepts one).
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import Any, Callable, Mapping

from . import base as _base

__all__ = ["get_sync", "SynchronousExecutor", "synchronous_executor"]


def get_sync(dsk: Mapping, keys: Any, **kwargs: Any) -> Any:
    """Compute ``keys`` of the graph ``dsk`` one task at a time on this thread (for debugging).

    Examples
    --------
    >>> from operator import add
    >>> from cairn.local import get_sync
    >>> get_sync({"x": 1, "y": (add, "x", 1)}, ["x", "y"])
    (1, 2)
    """
    kwargs.pop("num_workers", None)
    return _base.get(dsk, keys, scheduler="sync", **kwargs)


class SynchronousExecutor(Executor):
    """An Executor that runs each call when it is submitted, on the submitting thread.

    Examples
    --------
    >>> import cairn
    >>> from cairn.local import synchronous_executor
    >>> synchronous_executor.submit(pow, 2, 10).result()
    1024
    >>> (cairn.delayed(1) + 1).compute(scheduler=synchronous_executor)
    2
    """

    _max_workers = 1

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - the future carries the task's error
            future.set_exception(e)
        return future


synchronous_executor = SynchronousExecutor()
