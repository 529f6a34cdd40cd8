"""``cairn.local.get_sync``: run a task graph on the calling thread (like ``dask.local``)."""

from __future__ import annotations

from typing import Any, Mapping

from . import base as _base

__all__ = ["get_sync"]


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
