"""cairn on a dask.distributed cluster.

cairn has no cluster scheduler of its own: past one machine its graphs run on
dask.distributed. :func:`get` hands a graph to a ``distributed.Client`` after three steps:
native tasks become the calls that rebuild them on the worker (:mod:`cairn.core.recipes`),
linear chains of tasks are fused into one task each (the distributed scheduler costs about a
millisecond a task), and the workers are checked once for a cairn of the client's version.
"""

from __future__ import annotations

import sys
import uuid
import weakref
from typing import Any

from .. import _core
from ..core import recipes

NAMES = ("distributed", "dask.distributed")


def is_client(obj: Any) -> bool:
    """A ``distributed.Client`` (without importing distributed when it is not loaded)."""
    if "distributed" not in sys.modules:
        return False
    from distributed import Client

    return isinstance(obj, Client)


def default_client() -> Any | None:
    """The default ``distributed.Client`` of this process, or None (as Dask, cairn uses it
    for compute() when no scheduler is chosen)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client as _default

    try:
        return _default()
    except ValueError:  # no client
        return None


def named_client() -> Any:
    """The client ``scheduler="distributed"`` means: the default one, else a clear error."""
    client = default_client()
    if client is None:
        raise ValueError("scheduler='distributed' needs a distributed.Client: start one first, "
                         "e.g. `from distributed import Client; client = Client()` (a local "
                         "cluster) or Client('tcp://scheduler:8786'), or pass scheduler=client")
    return client


class VersionMismatch(RuntimeError):
    """A worker of the cluster has no cairn, or another version than the client's."""


def worker_version() -> str:
    """Runs on a worker: the cairn version it imports."""
    import cairn

    return cairn.__version__


# Worker addresses already checked, per client (checked again when workers join).
_CHECKED: "weakref.WeakKeyDictionary[Any, set]" = weakref.WeakKeyDictionary()


def check_workers(client: Any) -> int:
    """Raises a clear error if ``client`` is closed or a worker lacks this cairn version;
    returns the cluster's worker threads."""
    import cairn

    if getattr(client, "status", None) in ("closed", "closing"):
        raise ValueError(f"the distributed Client {client!r} is closed: compute with an open "
                         "client (Client(...)), or with scheduler='threads'")
    info = client.scheduler_info().get("workers", {})
    threads = sum(w.get("nthreads", 1) for w in info.values())
    workers = set(info)
    checked = _CHECKED.setdefault(client, set())
    if workers <= checked:
        return threads
    found = client.run(worker_version, workers=sorted(workers - checked), on_error="return")
    for worker, version in sorted(found.items()):
        if isinstance(version, BaseException):
            raise VersionMismatch(
                f"dask worker {worker} cannot run cairn tasks: {type(version).__name__}: "
                f"{version} (the client runs cairn {cairn.__version__}); install the same "
                f"cairn on every worker (pip install cairn=={cairn.__version__})")
        if version != cairn.__version__:
            raise VersionMismatch(
                f"dask worker {worker} runs cairn {version}, the client cairn "
                f"{cairn.__version__}: install the same version on every worker")
        checked.add(worker)
    return threads


class FusedChain:
    """A linear chain of tasks run as one task: ``specs`` in order, each link on the value
    of the one before (named ``links[i]``), the first on the chain's inputs ``deps``."""

    __slots__ = ("deps", "links", "specs")

    def __init__(self, deps: list, links: list, specs: list) -> None:
        self.deps, self.links, self.specs = deps, links, specs

    def __reduce__(self) -> tuple:
        return (FusedChain, (self.deps, self.links, self.specs))

    def __call__(self, *values: Any) -> Any:
        from ..processes.spec import evaluate

        value = evaluate(self.specs[0], dict(zip(self.deps, values)))
        for key, link in zip(self.links, self.specs[1:]):
            value = evaluate(link, {key: value})
        return value


def fuse(dsk: dict, keys: list) -> dict:
    """``dsk`` with each linear chain the C++ plan would fuse (a task whose one input no
    other task reads) made one task under the chain's last key."""
    from ..base import task_dependencies

    order = list(dsk)
    out = dict(dsk)
    for chain in _core.plan_chains(dsk, keys):
        links = [order[i] for i in chain]
        first = dsk[links[0]]
        deps: set = set()
        task_dependencies(first, dsk, deps)
        deps_list = list(deps)
        out[links[-1]] = (FusedChain(deps_list, links[:-1], [dsk[k] for k in links]), *deps_list)
        for key in links[:-1]:
            del out[key]
    return out


# A fan-in is inlined only if at least this many such tasks per worker thread remain.
_FAN_IN_TASKS_PER_THREAD = 4


def _inline(spec: Any, inputs: dict) -> Any:
    if type(spec) is list:
        return [_inline(s, inputs) for s in spec]
    if type(spec) is tuple and spec and callable(spec[0]):
        return (spec[0], *(_inline(a, inputs) for a in spec[1:]))
    try:
        return inputs.get(spec, spec)
    except TypeError:  # unhashable: a plain value
        return spec


def _count_names(spec: Any, dsk: dict, out: dict) -> None:
    """Adds to ``out`` how many times ``spec`` names each key of ``dsk``."""
    if type(spec) is list:
        for s in spec:
            _count_names(s, dsk, out)
    elif type(spec) is tuple and spec and callable(spec[0]):
        for a in spec[1:]:
            _count_names(a, dsk, out)
    else:
        try:
            if spec in dsk:
                out[spec] = out.get(spec, 0) + 1
        except TypeError:
            pass


def inline_fan_ins(dsk: dict, keys: list, threads: int) -> dict:
    """``dsk`` with each task whose two or more inputs are tasks only it reads (and nobody
    wants) made one task that computes those inputs inline: ``sum`` of a hundred tiny
    ``inc`` calls becomes one task instead of 101. Done only when at least
    ``_FAN_IN_TASKS_PER_THREAD`` such tasks per worker thread remain, so every thread still
    has work (24 fits feeding one ``sum`` stay 24 tasks)."""
    from ..processes.spec import is_task

    wanted = set()
    for k in keys:
        try:
            wanted.add(k)
        except TypeError:
            pass
    deps: dict = {}
    readers: dict = {}  # key -> how many times tasks name it (twice in one task counts 2)
    for key, spec in dsk.items():
        named: dict = {}
        _count_names(spec, dsk, named)
        deps[key] = set(named)
        for d, times in named.items():
            readers[d] = readers.get(d, 0) + times
    # (an input named twice by its reader would be computed twice if inlined: left alone)
    fan_ins = {k for k, found in deps.items()
               if len(found) >= 2 and is_task(dsk[k])
               and all(readers[d] == 1 and d not in wanted and is_task(dsk[d]) for d in found)}
    fan_ins = {k for k in fan_ins if not deps[k] & fan_ins}  # one level: inputs stay whole
    if len(fan_ins) < _FAN_IN_TASKS_PER_THREAD * max(threads, 1):
        return dsk
    out = dict(dsk)
    for key in fan_ins:
        out[key] = _inline(dsk[key], {d: dsk[d] for d in deps[key]})
        for d in deps[key]:
            del out[d]
    return out


class Get:
    """``get(dsk, keys, **kwargs)`` on one client: what ``scheduler=client`` resolves to.
    Takes ``optimize_graph`` (compute() hands it on), unlike an arbitrary get function."""

    accepts_optimize_graph = True

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, dsk: dict, keys: Any, **kwargs: Any) -> Any:
        return get(self.client, dsk, keys, **kwargs)


def get(client: Any, dsk: dict, keys: Any, **kwargs: Any) -> Any:
    """Compute ``keys`` of ``dsk`` on ``client``'s cluster (as ``client.get``), with native
    tasks made portable and linear chains fused first. Results come back to the caller."""
    from ..base import _flatten

    threads = check_workers(client)
    cache = kwargs.pop("cache", None)
    if cache:  # results already known (as cairn.get's cache=): handed over, not recomputed
        from ..base import literal

        dsk = {**dsk, **{k: (literal(v),) for k, v in cache.items()}}
    flat: list = []
    _flatten(keys, flat)
    dsk = recipes.portable(dsk)
    if kwargs.pop("optimize_graph", True):
        dsk = inline_fan_ins(fuse(dsk, flat), flat, threads)
    for cairn_only in ("num_workers", "initializer"):
        kwargs.pop(cairn_only, None)
    # As a HighLevelGraph: distributed tokenizes a plain dict graph first (1.3 s of 3 s for a
    # 100,000-task graph).
    from dask.highlevelgraph import HighLevelGraph

    graph = HighLevelGraph.from_collections(f"cairn-{uuid.uuid4().hex}", dsk, dependencies=())
    try:
        return recipes.to_python(client.get(graph, keys, **kwargs))
    except Exception as exc:
        text = str(exc)
        if not any(word in text for word in ("serializ", "pickle", "tokenize")):
            raise
        _raise_unpicklable(dsk, exc)
        raise


def _raise_unpicklable(dsk: dict, exc: BaseException) -> None:
    """After the graph failed to pickle: the TypeError naming the first task that does not."""
    import cloudpickle

    for key, spec in dsk.items():
        try:
            cloudpickle.dumps(spec)
        except Exception as err:  # noqa: BLE001 - any pickling failure names the task
            raise TypeError(
                f"task {key!r} cannot be sent to the dask.distributed cluster: {err} "
                "(its function and arguments must pickle; make the object inside the task, "
                "or compute with scheduler='threads'); nothing was computed") from exc
