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

import sys
from collections.abc import Mapping
from typing import Any, Callable, Hashable, Sequence

from . import config as _config
from .containers import _Rebuild, _repack, _Slot, container_parts
from .scheduling import _execute, _flatten, _resolve_scheduler, get_scheduler

__all__ = ["compute", "persist", "get", "optimize", "is_cairn_collection", "is_dask_collection",
           "literal", "unpack_collections", "get_scheduler", "named_schedulers", "visualize",
           "tokenize", "DaskMethodsMixin", "annotate"]

_PLAIN_VALUES = (int, float, bool, complex, type(None))


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
    """True if ``x`` implements the cairn collection protocol (``Delayed``, ``Bag`` ...)."""
    return not isinstance(x, type) and hasattr(type(x), "__cairn_graph__")


def is_dask_collection(x: Any) -> bool:
    """True if ``x`` is a collection: a cairn one, or any object speaking Dask's protocol
    (``__dask_graph__()`` returns a graph), like ``dask.base.is_dask_collection``.

    Examples
    --------
    >>> import cairn
    >>> cairn.is_dask_collection(cairn.delayed(1) + 1), cairn.is_dask_collection(2)
    (True, False)
    """
    if isinstance(x, type):
        return False
    if is_cairn_collection(x):
        return True
    method = getattr(type(x), "__dask_graph__", None)
    return method is not None and method(x) is not None


class _DaskProtocol:
    """A collection speaking Dask's protocol, seen through cairn's (``__cairn_graph__`` ...)."""

    __slots__ = ("collection",)

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    def __cairn_graph__(self) -> dict:
        return {k: _from_dask_task_spec(v)
                for k, v in self.collection.__dask_graph__().items()}

    def __cairn_keys__(self) -> list:
        return self.collection.__dask_keys__()

    def __cairn_postcompute__(self) -> tuple:
        return self.collection.__dask_postcompute__()

    def __cairn_postpersist__(self) -> tuple:
        return self.collection.__dask_postpersist__()

    def __cairn_tokenize__(self) -> Any:
        from .tokenize import normalize_token

        return normalize_token(self.collection)


class _DaskNode:
    """Runs one node of Dask's task spec (``dask._task_spec.Task``, ``Alias``, ``DataNode``)
    as a cairn task: its dependencies arrive as arguments, in ``keys`` order."""

    __slots__ = ("node", "keys")

    def __init__(self, node: Any, keys: tuple) -> None:
        self.node = node
        self.keys = keys

    def __call__(self, *values: Any) -> Any:
        return self.node(dict(zip(self.keys, values)))

    def __reduce__(self) -> tuple:
        return (_DaskNode, (self.node, self.keys))


def _from_dask_task_spec(value: Any) -> Any:
    """A graph value of a Dask collection in cairn's graph spec: Dask's task-spec nodes
    (newer Dask) become tasks; tuples, literals and keys are already cairn's spec."""
    if type(value).__module__ != "dask._task_spec" or not hasattr(value, "dependencies"):
        return value
    keys = tuple(value.dependencies)
    return (_DaskNode(value, keys), *keys)


def _as_collection(x: Any) -> Any:
    """``x`` as a cairn collection, or None if it is not a collection."""
    if is_cairn_collection(x):
        return x
    if is_dask_collection(x):
        return _DaskProtocol(x)
    return None


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
    cache : dict, optional
        Results already known, by key (as ``dask.local``'s ``cache=``): their tasks are not
        run, and a key the graph lacks may be given here.
    initializer : callable, optional
        ``scheduler="processes"``: run once in each worker process as it starts (default:
        config ``multiprocessing.initializer``).

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
    _refuse_get_keyword(kwargs)
    scheduler = _resolve_scheduler(scheduler)
    if callable(scheduler):
        if getattr(scheduler, "accepts_optimize_graph", False):
            kwargs["optimize_graph"] = optimize_graph
        return scheduler(_as_graph(dsk), keys, **kwargs)
    cache = kwargs.get("cache")
    dsk = _as_graph(dsk, cache)
    if cache:
        dsk = {**dsk, **{k: v if type(v) in _PLAIN_VALUES else (literal(v),)
                         for k, v in cache.items()}}
    values = _execute(dsk, keys, scheduler, num_workers, optimize_graph,
                      kwargs.get("initializer"))
    if isinstance(keys, list):
        return _pack(keys, iter(values), tuple)
    return values[0]


def _as_graph(dsk: Any, cache: Mapping | None = None) -> dict:
    """A graph argument as cairn's dict: a dict of cairn tasks as it is; a Mapping (Dask's
    HighLevelGraph), an object with ``__dask_graph__()`` (what Dask's compute() hands a
    scheduler) or a dict holding Dask's task-spec nodes (``dask._task_spec.Task``) with
    those nodes made cairn tasks. A node's dependency that neither the graph nor ``cache``
    holds is a ValueError naming both keys."""
    if not isinstance(dsk, Mapping) and hasattr(dsk, "__dask_graph__"):
        dsk = dsk.__dask_graph__()
    if not isinstance(dsk, Mapping):
        raise TypeError(
            f"get() needs a task graph: a dict (or other Mapping) of key -> task, "
            f"got {type(dsk).__name__}"
        )
    if type(dsk) is dict:
        spec = sys.modules.get("dask._task_spec")
        node_type = getattr(spec, "GraphNode", None)
        if node_type is None or not any(issubclass(t, node_type)
                                        for t in set(map(type, dsk.values()))):
            return dsk  # no Dask task-spec node in it: cairn's graph already
    out = {k: _from_dask_task_spec(v) for k, v in dsk.items()}
    for key, value in out.items():
        if type(value) is tuple and value and type(value[0]) is _DaskNode:
            for dep in value[0].keys:
                if dep not in out and (cache is None or dep not in cache):
                    raise ValueError(f"Missing dependency {dep!r} for task {key!r}: the "
                                     "graph has no such key; add its task to the graph")
    return out


def _refuse_get_keyword(kwargs: dict) -> None:
    if "get" in kwargs:
        raise TypeError("the get= keyword is not supported; use scheduler= instead, e.g. "
                        "compute(scheduler='sync') or compute(scheduler=my_get)")


def _unpack(obj: Any, collections: list, traverse: bool, seen: dict | None = None) -> Any:
    """``obj`` with each collection in it replaced by a slot (one per distinct collection,
    when ``seen`` is given) and each searched container by a :class:`_Rebuild`."""
    collection = _as_collection(obj)
    if collection is not None:
        if seen is not None:
            slot = seen.get(id(obj))
            if slot is not None:
                return slot
        collections.append(collection)
        slot = _Slot(len(collections) - 1)
        if seen is not None:
            seen[id(obj)] = slot
        return slot
    if traverse:
        found = container_parts(obj)
        if found is not None:
            build, parts = found
            return _Rebuild(build, [_unpack(x, collections, traverse, seen) for x in parts])
    return obj


def unpack_collections(*args: Any, traverse: bool = True) -> tuple[list, Callable]:
    """Find the collections in ``args``: return ``(collections, repack)`` where
    ``repack(results)`` gives ``args`` with each collection replaced by its result (as
    ``dask.base.unpack_collections``).

    Examples
    --------
    >>> import cairn
    >>> a = cairn.delayed(1) + 1
    >>> collections, repack = cairn.base.unpack_collections([a, 5], {"x": a})
    >>> repack(["A"])
    (['A', 5], {'x': 'A'})
    """
    found: list = []
    seen: dict = {}
    packed = [_unpack(a, found, traverse, seen) for a in args]
    originals = [c.collection if type(c) is _DaskProtocol else c for c in found]

    def repack(results: Sequence) -> tuple:
        results = list(results)
        return tuple(_repack(p, results) for p in packed)

    return originals, repack


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


def _refuse_differing_defaults(collections: Sequence[Any]) -> None:
    """As Dask: collections whose types name different default schedulers
    (``__dask_scheduler__``: a Dask Array's is Dask's threads, a cairn Bag's cairn's) are not
    computed together unless ``scheduler=`` says where."""
    defaults = set()
    for c in collections:
        default = getattr(type(c.collection if type(c) is _DaskProtocol else c),
                          "__dask_scheduler__", None)
        if default is not None:
            defaults.add(default)
    if len(defaults) > 1:
        raise ValueError("Compute called on multiple collections with differing default "
                         "schedulers (cairn's and Dask's, say); pass scheduler= to choose "
                         "one, e.g. compute(a, b, scheduler='threads')")


def _run_collections(collections: Sequence[Any], scheduler: Any = None,
                     num_workers: int | None = None, optimize_graph: bool = True,
                     **kwargs: Any) -> tuple[list, list]:
    """Compute the collections' keys; return (keys, results) per collection, nested as keys.

    Keywords cairn's schedulers do not know are passed to a callable scheduler (as Dask
    passes them to its ``get``) and otherwise ignored, as Dask's own schedulers do."""
    _refuse_get_keyword(kwargs)
    if scheduler is None and _config.get("scheduler", None) is None:
        _refuse_differing_defaults(collections)
    dsk = _merged_graph(collections)
    keys = [c.__cairn_keys__() for c in collections]
    if optimize_graph:
        dsk = _optimize(collections, dsk, keys)
    scheduler = _resolve_scheduler(scheduler)
    if callable(scheduler):
        if getattr(scheduler, "accepts_optimize_graph", False):
            kwargs["optimize_graph"] = optimize_graph
        results = _pack(keys, iter(_flatten_like(keys, scheduler(dsk, keys, **kwargs))), list)
    else:
        values = _execute(dsk, keys, scheduler, num_workers, optimize_graph,
                          kwargs.get("initializer"))
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
        return tuple(_repack(p, []) for p in packed)
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
        return tuple(_repack(p, []) for p in packed)
    keys, results = _run_collections(collections, **kwargs)
    rebuilt = []
    for c, ks, rs in zip(collections, keys, results):
        flat_keys: list = []
        _flatten(ks, flat_keys)
        flat_results = _flatten_like(ks, rs)
        # As in Dask, a persisted graph holds plain values as they are (``{key: 1}``);
        # anything a graph could misread as a key or a task is quoted.
        layer = {k: v if type(v) in _PLAIN_VALUES else (literal(v),)
                 for k, v in zip(flat_keys, flat_results)}
        rebuild, extra = c.__cairn_postpersist__()
        rebuilt.append(rebuild(layer, *extra))
    return tuple(_repack(p, rebuilt) for p in packed)


def _flatten_like(keys: Any, results: Any) -> list:
    """Flatten `results` following the nesting of `keys` only (values stay intact)."""
    out: list = []

    def walk(k: Any, r: Any) -> None:
        if isinstance(k, list) and len(k) == 1 and not isinstance(r, (list, tuple)):
            walk(k[0], r)  # a scheduler that answers one key with its value, not a list
        elif isinstance(k, list):
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


def optimize(*args: Any, traverse: bool = True, **kwargs: Any) -> tuple:
    """Return collections equivalent to ``args`` whose graphs are optimized (each collection
    type's own optimization, run once on the merged graph), as ``dask.optimize``.

    Examples
    --------
    >>> import cairn
    >>> a = cairn.delayed(1) + 1
    >>> (b,) = cairn.optimize(a)
    >>> b.compute()
    2
    """
    collections: list = []
    packed = [_unpack(a, collections, traverse) for a in args]
    if not collections:
        return tuple(_repack(p, []) for p in packed)
    dsk = _merged_graph(collections)
    dsk = _optimize(collections, dsk, [c.__cairn_keys__() for c in collections])
    rebuilt = []
    for c in collections:
        rebuild, extra = c.__cairn_postpersist__()
        rebuilt.append(rebuild(dsk, *extra))
    return tuple(_repack(p, rebuilt) for p in packed)


class DaskMethodsMixin:
    """``compute``, ``persist`` and ``visualize`` for a class that implements the collection
    protocol (cairn's ``__cairn_*__`` or Dask's ``__dask_*__``), like Dask's mixin."""

    __slots__ = ("__weakref__",)

    def compute(self, **kwargs: Any) -> Any:
        """Compute this collection; keywords as for :func:`cairn.compute`."""
        (result,) = compute(self, traverse=False, **kwargs)
        return result

    def persist(self, **kwargs: Any) -> Any:
        """Compute this collection and return one whose graph holds the results."""
        (result,) = persist(self, traverse=False, **kwargs)
        return result

    def visualize(self, filename: str | None = "mydask", format: str | None = None,
                  **kwargs: Any) -> Any:
        """Draw the task graph with graphviz; see :func:`cairn.visualize`."""
        return visualize(self, filename=filename, format=format, **kwargs)


def annotate(**annotations: Any) -> Any:
    """Accepted for Dask compatibility: a context that annotates tasks built inside it.

    cairn's schedulers do not read annotations (priorities, resources and retries belong to a
    cluster scheduler); on a dask.distributed cluster use Dask's own ``dask.annotate``.

    Examples
    --------
    >>> import cairn
    >>> with cairn.annotate(priority=1):
    ...     (cairn.delayed(1) + 1).compute()
    2
    """
    import contextlib

    if not annotations:
        raise ValueError("annotate() needs at least one annotation, e.g. priority=1")
    return contextlib.nullcontext()


def visualize(*args: Any, **kwargs: Any) -> Any:
    """Draw the task graph of collections with graphviz; see :func:`cairn.dot.visualize`."""
    from .dot import visualize as _visualize

    return _visualize(*args, **kwargs)


from . import local as _local, multiprocessing as _multiprocessing, threaded as _threaded  # noqa: E402
from .tokenize import tokenize  # noqa: E402,F401

named_schedulers: dict[str, Callable] = {
    "sync": _local.get_sync,
    "synchronous": _local.get_sync,
    "single-threaded": _local.get_sync,
    "threads": _threaded.get,
    "threading": _threaded.get,
    "processes": _multiprocessing.get,
    "multiprocessing": _multiprocessing.get,
}
