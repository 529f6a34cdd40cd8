"""Dask's graph spec as the workers evaluate it (kept apart from the worker's main module,
which the parent imports nothing from)."""

from __future__ import annotations

from typing import Any


def is_task(x: Any) -> bool:
    """A task tuple of Dask's graph spec: a callable and its arguments."""
    return type(x) is tuple and len(x) > 0 and callable(x[0])


def evaluate(arg: Any, data: dict) -> Any:
    """Dask's graph spec: lists are traversed, task tuples called, keys replaced."""
    if isinstance(arg, list):
        return [evaluate(a, data) for a in arg]
    if is_task(arg):
        func, *args = arg
        return func(*(evaluate(a, data) for a in args))
    try:
        if arg in data:
            return data[arg]
    except TypeError:  # unhashable: a plain value
        pass
    return arg
