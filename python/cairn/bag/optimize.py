"""Fusing a Bag's element-wise steps into one lazy task per partition (Dask's ``fuse`` +
``lazify`` for bags).

``read_text(...).map(f).flatten().frequencies()`` is, per partition, a chain of tasks that
each make a full list: ``map`` a list of lists, ``flatten`` a list of tokens, then the
counts. Each of those tasks is also a message to a worker process under
``scheduler="processes"``. Here a step whose result only the next step uses is nested into
that step as its lazy form (:mod:`cairn.bag.chunk`'s ``*_lazy`` functions, iterators), so
the chain is one task that streams the partition: ``Counter(chain.from_iterable(map(f,
lines)))``. Only the chain's last step makes a list (or a reduction's value), so results
are the ones the unfused graph gives (and, as in Dask, a step sees each element as soon as
the step before made it).

Runs at compute time (``optimize_graph=True``, the default), on the whole graph, so a step
that more than one task (or the caller) needs is never fused and never run twice.
"""

from __future__ import annotations

import builtins
from collections import Counter
from functools import partial
from typing import Any, Callable

from . import chunk

__all__ = ["optimize"]

# Element-wise steps: the function, its lazy form, and which argument is the partition.
_LAZY = {
    chunk.map_chunk: chunk.map_lazy,
    chunk.filter_chunk: chunk.filter_lazy,
    chunk.remove_chunk: chunk.remove_lazy,
    chunk.flatten_chunk: chunk.flatten_lazy,
    chunk.starmap_chunk: chunk.starmap_lazy,
    chunk.pluck_chunk: chunk.pluck_lazy,
}
_PART_ARG = {
    chunk.map_chunk: 2, chunk.map_lazy: 2,  # the one Bag in ``iters`` (see _map_part)
    chunk.filter_chunk: 2, chunk.filter_lazy: 2,
    chunk.remove_chunk: 2, chunk.remove_lazy: 2,
    chunk.flatten_chunk: 1, chunk.flatten_lazy: 1,
    chunk.starmap_chunk: 2, chunk.starmap_lazy: 2,
    chunk.pluck_chunk: 2, chunk.pluck_lazy: 2,
    chunk.reduceby: 3,
    chunk.empty_safe_apply: 2, chunk.empty_safe_stream: 2,
}
# Per-partition reductions that give the same value on an iterator as on a list.
_STREAMING = {chunk.frequencies, chunk.count, chunk.unique, chunk.mean_chunk, chunk.var_chunk,
              builtins.sum, builtins.min, builtins.max, builtins.any, builtins.all}
_STREAMING_PARTIALS = {chunk.topk, chunk.reduce_with, chunk.unique}


def optimize(dsk: Any, keys: list, fuse_keys: list | None = None, **kwargs: Any) -> dict:
    """``dsk`` with each element-wise step nested, lazily, into the one task that uses its
    result; ``keys`` (the outputs) and ``fuse_keys`` (keys to keep, as in Dask's bag
    ``optimize``) stay. Other tasks are left as they are. Other keywords (Dask's optimizer
    options) are accepted and ignored.

    Examples
    --------
    >>> import cairn.bag as cb
    >>> b = cb.from_sequence(["a b", "b"], npartitions=1).map(str.split).flatten()
    >>> freqs = b.frequencies()
    >>> dsk = optimize(freqs.dask, freqs.__cairn_keys__())
    >>> len(dsk) < len(freqs.dask)
    True
    """
    out = dict(dsk)
    uses: Counter = Counter()
    for task in out.values():
        _count_uses(task, out, uses)
    kept: list = []
    _flatten_keys([keys, fuse_keys or []], kept)
    for key in kept:
        uses[key] += 1
    for key in list(out):
        if key in out:
            out[key] = _fuse_input(out[key], out, uses)
    return out


def _flatten_keys(keys: Any, out: list) -> None:
    """The keys in ``keys``, nested in lists as ``__dask_keys__`` may nest them."""
    if type(keys) is list:
        for k in keys:
            _flatten_keys(k, out)
    else:
        out.append(keys)


def _count_uses(expr: Any, dsk: dict, uses: Counter) -> None:
    if type(expr) is tuple and expr and callable(expr[0]):
        for arg in expr[1:]:
            _count_uses(arg, dsk, uses)
    elif type(expr) is list:
        for arg in expr:
            _count_uses(arg, dsk, uses)
    elif type(expr).__module__ == "dask._task_spec" and hasattr(expr, "dependencies"):
        # A node of Dask's task spec, in the graph when Dask computes a cairn Bag (its
        # finalize task): what it depends on is used, and must not be fused away.
        for key in expr.dependencies:
            if key in dsk:
                uses[key] += 1
    else:
        try:
            if expr in dsk:
                uses[expr] += 1
        except TypeError:  # unhashable: a plain value
            pass


def _fuse_input(task: Any, dsk: dict, uses: Counter) -> Any:
    """``task`` with its partition argument replaced by the lazy form of the task that makes
    it (and so on up the chain), where that task has no other user."""
    where = _part_position(task)
    if where is None:
        return task
    index, sub = where
    part = task[index] if sub is None else task[index][sub]
    producer = _take_producer(part, dsk, uses)
    if producer is None:
        return task
    lazy = (_LAZY[producer[0]], *producer[1:])
    lazy = _fuse_input(lazy, dsk, uses)
    task = list(task)
    if sub is None:
        task[index] = lazy
    else:
        task[index] = [*task[index][:sub], lazy, *task[index][sub + 1:]]
    if task[0] is chunk.empty_safe_apply and _streams(task[1]):
        task[0] = chunk.empty_safe_stream
    return tuple(task)


def _part_position(task: Any) -> tuple[int, int | None] | None:
    """(argument index, index in the ``iters`` list or None) of a step's partition."""
    if type(task) is not tuple or not task:
        return None
    try:
        index = _PART_ARG.get(task[0])
    except TypeError:  # an unhashable callable
        return None
    if index is None or len(task) <= index:
        return None
    if task[0] in (chunk.map_chunk, chunk.map_lazy):
        sub = _map_part(task)
        return None if sub is None else (index, sub)
    return index, None


def _map_part(task: tuple) -> int | None:
    """The position of the one Bag partition in a ``map_chunk``'s ``iters``; None when it
    zips several Bags (their lengths are checked against each other, on lists) or passes
    Bags as keywords."""
    _, _, iters, iter_kwarg_keys, _ = task
    if iter_kwarg_keys or type(iters) is not list:
        return None
    parts = [i for i, it in enumerate(iters)
             if not (type(it) is tuple and it and it[0] is chunk.repeat_constant)]
    return parts[0] if len(parts) == 1 else None


def _take_producer(part: Any, dsk: dict, uses: Counter) -> tuple | None:
    """The task that makes ``part``, removed from ``dsk``, if it is an element-wise step
    nothing else uses; else None."""
    try:
        if part not in dsk or uses[part] != 1:
            return None
    except TypeError:  # unhashable: not a key
        return None
    task = dsk[part]
    if type(task) is not tuple or not task or _lazy_step(task) is None:
        return None
    del dsk[part]
    return task


def _lazy_step(task: tuple) -> Callable | None:
    try:
        lazy = _LAZY.get(task[0])
    except TypeError:
        return None
    if lazy is chunk.map_lazy and _map_part(task) is None:
        return None
    return lazy


def _streams(func: Any) -> bool:
    if isinstance(func, partial):
        return func.func in _STREAMING_PARTIALS
    try:
        return func in _STREAMING
    except TypeError:
        return False
