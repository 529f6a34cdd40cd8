"""compute, persist, get: running task graphs and collections on cairn's executors.

A *collection* is any object whose type defines the cairn collection protocol:

- ``__cairn_graph__()`` -> dict mapping keys to tasks (Dask's graph spec);
- ``__cairn_keys__()`` -> list of keys (may nest lists), the collection's outputs;
- ``__cairn_postcompute__()`` -> ``(finalize, extra_args)``; the computed value is
  ``finalize(results, *extra_args)`` where ``results`` has the shape of the keys;
- ``__cairn_postpersist__()`` -> ``(rebuild, extra_args)``; ``rebuild(dsk, *extra_args)``
  returns an equivalent collection whose graph holds the computed results.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Hashable, Sequence

from . import _core
from . import config as _config
from .diagnostics import _active_callbacks

__all__ = ["compute", "persist", "get", "is_cairn_collection", "literal"]

_SCHEDULER_ALIASES = {
    "threads": "threads",
    "threading": "threads",
    "sync": "sync",
    "synchronous": "sync",
    "single-threaded": "sync",
    "processes": "processes",
    "multiprocessing": "processes",
}
_LATER = {"distributed"}


class literal:
    """A value that a task graph must hand over as is (never read as a task or a key).

    ``(literal(x),)`` is a task whose result is ``x``.
    """

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        self.data = data

    def __call__(self) -> Any:
        return self.data

    def __repr__(self) -> str:
        return f"literal<type={type(self.data).__name__}>"

    def __reduce__(self) -> tuple:
        return (literal, (self.data,))


def is_cairn_collection(x: Any) -> bool:
    """True if ``x`` implements the cairn collection protocol (``Delayed``, later ``Bag``)."""
    return not isinstance(x, type) and hasattr(type(x), "__cairn_graph__")


def _scheduler_mode(scheduler: Any) -> str:
    if isinstance(scheduler, str):
        mode = _SCHEDULER_ALIASES.get(scheduler.lower())
        if mode is not None:
            return mode
        if scheduler.lower() in _LATER:
            raise ValueError(
                f"scheduler {scheduler!r} is not available in this version of cairn; "
                "use 'threads' (default), 'processes' or 'sync'"
            )
    choices = ", ".join(repr(k) for k in _SCHEDULER_ALIASES)
    raise ValueError(
        f"unknown scheduler {scheduler!r}; expected one of {choices}, or a get(dsk, keys) function"
    )


def _check_num_workers(num_workers: Any) -> int:
    if isinstance(num_workers, bool) or not isinstance(num_workers, int):
        raise TypeError(f"num_workers must be a positive integer, got {num_workers!r}")
    if num_workers < 1:
        raise ValueError(
            f"num_workers must be a positive integer (1 or more), got {num_workers}; "
            "use scheduler='sync' to run on the calling thread"
        )
    return num_workers


def task_dependencies(task: Any, dsk: dict, out: set) -> None:
    """Adds to ``out`` the keys of ``dsk`` that a task spec refers to (Dask's graph spec:
    task tuples' arguments and lists are traversed)."""
    if isinstance(task, tuple) and task and callable(task[0]):
        for arg in task[1:]:
            task_dependencies(arg, dsk, out)
    elif isinstance(task, list):
        for arg in task:
            task_dependencies(arg, dsk, out)
    else:
        try:
            if task in dsk:
                out.add(task)
        except TypeError:
            pass


def _flatten(keys: Any, out: list) -> None:
    if isinstance(keys, list):
        for k in keys:
            _flatten(k, out)
    else:
        out.append(keys)


def _pack(keys: Any, values: Any, container: type = list) -> Any:
    """Arrange flat results in the nesting of `keys` (only the key structure is rebuilt)."""
    if isinstance(keys, list):
        return container(_pack(k, values, container) for k in keys)
    return next(values)


def get(
    dsk: dict,
    keys: Any,
    *,
    scheduler: str | None = None,
    num_workers: int | None = None,
    optimize_graph: bool = True,
    **kwargs: Any,
) -> Any:
    """Compute keys of a task graph in Dask's graph spec (like ``dask.threaded.get``).

    Parameters
    ----------
    dsk : dict
        Maps keys to tasks. A task is a tuple ``(callable, *args)``; an argument that is a
        key of ``dsk`` is replaced by that key's result; lists are traversed.
    keys : key or list of keys
        What to compute. A list (possibly nested) gives a tuple of the same shape.
    scheduler : {"threads", "sync", "processes"}, optional
        Default from ``cairn.config`` (``"threads"``). ``"processes"`` runs Python tasks
        in warm worker processes (one per worker), for code that holds the GIL.
    num_workers : int, optional
        Threads (or worker processes) to use (default: the number of cores).
    optimize_graph : bool
        Fuse linear chains of tasks (culling of unneeded tasks always happens).

    Examples
    --------
    >>> from operator import add
    >>> import cairn
    >>> dsk = {"x": 1, "y": (add, "x", 10), "z": (sum, ["x", "y"])}
    >>> cairn.get(dsk, "z")
    12
    >>> cairn.get(dsk, ["x", "z"])
    (1, 12)
    """
    if kwargs:
        raise TypeError(f"get() got unexpected keyword arguments {sorted(kwargs)}")
    scheduler = scheduler if scheduler is not None else _config.get("scheduler", "threads")
    if callable(scheduler):
        return scheduler(dsk, keys)
    values = _execute(dsk, keys, scheduler, num_workers, optimize_graph)
    if isinstance(keys, list):
        return _pack(keys, iter(values), tuple)
    return values[0]


def _execute(
    dsk: dict,
    keys: Any,
    scheduler: Any,
    num_workers: int | None,
    optimize_graph: bool,
) -> list:
    """Run the graph; return the values of the flattened keys, in order."""
    mode = _scheduler_mode(scheduler)
    if num_workers is None:
        num_workers = _config.get("num_workers", None) or os.cpu_count() or 1
    num_workers = _check_num_workers(num_workers)

    flat: list = []
    _flatten(keys, flat)
    callbacks = _active_callbacks()
    progress: Callable[[int, int], None] | None = None
    if callbacks:
        for cb in callbacks:
            cb._start(dsk)

        def report(done: int, total: int) -> None:
            for cb in callbacks:
                cb._progress(done, total)

        progress = report

    try:
        if mode == "processes":
            from .processes import scheduler as _processes

            values = _processes.execute(dsk, flat, num_workers, progress, optimize_graph)
        else:
            values = _core.execute(dsk, flat, mode, num_workers, progress, optimize_graph)
    except BaseException:
        for cb in callbacks:
            cb._finish(dsk, True)
        raise
    for cb in callbacks:
        cb._finish(dsk, False)
    return values


class _Slot:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def _unpack(obj: Any, collections: list, traverse: bool) -> Any:
    if is_cairn_collection(obj):
        collections.append(obj)
        return _Slot(len(collections) - 1)
    if traverse:
        typ = type(obj)
        if typ in (list, tuple, set, frozenset):
            return typ(_unpack(x, collections, traverse) for x in obj)
        if typ is dict:
            return {k: _unpack(v, collections, traverse) for k, v in obj.items()}
    return obj


def _repack(obj: Any, results: list) -> Any:
    if type(obj) is _Slot:
        return results[obj.index]
    typ = type(obj)
    if typ in (list, tuple, set, frozenset):
        return typ(_repack(x, results) for x in obj)
    if typ is dict:
        return {k: _repack(v, results) for k, v in obj.items()}
    return obj


def collect_graph(*roots: Any) -> dict:
    """The merged graph of collections built from layers (``_layer``) and dependencies
    (``_deps``), walking each shared ancestor once. Other collections contribute their
    ``__cairn_graph__()``."""
    dsk: dict = {}
    seen: set = set()
    stack = list(roots)
    while stack:
        c = stack.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        deps = getattr(c, "_deps", None)
        if deps is None:
            dsk.update(c.__cairn_graph__())
            continue
        layer = c._layer
        if layer:
            dsk.update(layer)
        task = getattr(c, "_task", _NO_LAYER_TASK)
        if task is not _NO_LAYER_TASK and task is not _delayed_no_task():
            dsk[c._key] = task
        stack.extend(deps)
    return dsk


_NO_LAYER_TASK = object()


def _delayed_no_task() -> Any:
    from .delayed import _NO_TASK

    return _NO_TASK


def _merged_graph(collections: Sequence[Any]) -> dict:
    if len(collections) == 1:
        return collections[0].__cairn_graph__()
    dsk: dict = {}
    for c in collections:
        dsk.update(c.__cairn_graph__())
    return dsk


def _run_collections(collections: Sequence[Any], scheduler: Any = None,
                     num_workers: int | None = None, optimize_graph: bool = True,
                     **kwargs: Any) -> tuple[list, list]:
    """Compute the collections' keys; return (keys, results) per collection, nested as keys."""
    if kwargs:
        raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}")
    dsk = _merged_graph(collections)
    keys = [c.__cairn_keys__() for c in collections]
    if optimize_graph:
        dsk = _optimize(collections, dsk, keys)
    scheduler = scheduler if scheduler is not None else _config.get("scheduler", "threads")
    if callable(scheduler):
        results = _pack(keys, iter(_flatten_like(keys, scheduler(dsk, keys))), list)
    else:
        values = _execute(dsk, keys, scheduler, num_workers, optimize_graph)
        results = _pack(keys, iter(values), list)
    return keys, results


def _optimize(collections: Sequence[Any], dsk: dict, keys: list) -> dict:
    """The graph after each collection type's own optimization (``__cairn_optimize__(dsk,
    keys)``, like Dask's ``__dask_optimize__``), each run once on the whole graph."""
    flat: list = []
    _flatten(keys, flat)
    done: list = []
    for c in collections:
        optimize = getattr(type(c), "__cairn_optimize__", None)
        if optimize is not None and optimize not in done:
            done.append(optimize)
            dsk = optimize(dsk, flat)
    return dsk


def _compute_collections(collections: Sequence[Any], **kwargs: Any) -> list:
    _, results = _run_collections(collections, **kwargs)
    out = []
    for c, r in zip(collections, results):
        finalize, extra = c.__cairn_postcompute__()
        out.append(finalize(r, *extra))
    return out


def compute(*args: Any, traverse: bool = True, **kwargs: Any) -> tuple:
    """Compute several collections at once, sharing their common tasks.

    Parameters
    ----------
    *args : collections or any objects
        Collections are computed; lists, tuples, sets and dicts are searched for collections
        when ``traverse`` is true; other objects are returned as they are.
    traverse : bool
        Look for collections inside Python containers.
    scheduler, num_workers, optimize_graph
        As for :func:`cairn.get`.

    Returns
    -------
    tuple
        One result per argument.

    Examples
    --------
    >>> import cairn
    >>> a = cairn.delayed(lambda: 2)()
    >>> b = a * 10
    >>> cairn.compute(a, b, {"both": [a, b]})
    (2, 20, {'both': [2, 20]})
    """
    collections: list = []
    packed = [_unpack(a, collections, traverse) for a in args]
    if not collections:
        return tuple(args)
    results = _compute_collections(collections, **kwargs)
    return tuple(_repack(p, results) for p in packed)


def persist(*args: Any, traverse: bool = True, **kwargs: Any) -> tuple:
    """Compute collections and return new ones whose graphs hold the computed results.

    Later computations that use a persisted collection start from its results instead of
    recomputing them.

    Examples
    --------
    >>> import cairn
    >>> calls = []
    >>> x = cairn.delayed(lambda: calls.append(1) or 5)()
    >>> (y,) = cairn.persist(x)
    >>> (y + 1).compute(), (y + 2).compute(), len(calls)
    (6, 7, 1)
    """
    collections: list = []
    packed = [_unpack(a, collections, traverse) for a in args]
    if not collections:
        return tuple(args)
    keys, results = _run_collections(collections, **kwargs)
    rebuilt = []
    for c, ks, rs in zip(collections, keys, results):
        flat_keys: list = []
        _flatten(ks, flat_keys)
        flat_results = _flatten_like(ks, rs)
        layer = {k: (literal(v),) for k, v in zip(flat_keys, flat_results)}
        rebuild, extra = c.__cairn_postpersist__()
        rebuilt.append(rebuild(layer, *extra))
    return tuple(_repack(p, rebuilt) for p in packed)


def _flatten_like(keys: Any, results: Any) -> list:
    """Flatten `results` following the nesting of `keys` only (values stay intact)."""
    out: list = []

    def walk(k: Any, r: Any) -> None:
        if isinstance(k, list):
            for kk, rr in zip(k, r):
                walk(kk, rr)
        else:
            out.append(r)

    walk(keys, results)
    return out


def key_split(key: Hashable) -> str:
    """The readable prefix of a key: ``'inc-1f2e3d'`` -> ``'inc'``, ``('x', 0)`` -> ``'x'``."""
    if isinstance(key, tuple) and key:
        key = key[0]
    if not isinstance(key, str):
        return str(key)
    head, sep, tail = key.rpartition("-")
    if sep and head and all(c in "0123456789abcdef" for c in tail) and len(tail) >= 8:
        return head
    return key
