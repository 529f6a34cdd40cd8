"""Choosing and running a scheduler: names and aliases, Executors as schedulers, and
``_execute``, which runs a graph on threads, processes or the calling thread with the
active callbacks (split from :mod:`cairn.base`, which re-exports the public names)."""

from __future__ import annotations

import contextvars
import os
from typing import Any, Callable

from . import _core
from . import config as _config
from . import diagnostics as _diagnostics
from .diagnostics import RunHooks, _active_callbacks
from .schedulers import distributed as _distributed

_SCHEDULER_ALIASES = {
    "threads": "threads",
    "threading": "threads",
    "sync": "sync",
    "synchronous": "sync",
    "single-threaded": "sync",
    "processes": "processes",
    "multiprocessing": "processes",
}


def _distributed_scheduler(scheduler: Any) -> Callable | None:
    """``get`` on a dask.distributed client for ``scheduler=client`` or ``"distributed"``
    (the default client), else None."""
    if _distributed.is_client(scheduler):
        return _distributed.Get(scheduler)
    if isinstance(scheduler, str) and scheduler.lower() in _distributed.NAMES:
        return _distributed.Get(_distributed.named_client())
    return None


def _scheduler_mode(scheduler: Any) -> str:
    if isinstance(scheduler, str):
        mode = _SCHEDULER_ALIASES.get(scheduler.lower())
        if mode is not None:
            return mode
    choices = ", ".join(repr(k) for k in _SCHEDULER_ALIASES)
    raise ValueError(
        f"unknown scheduler {scheduler!r}; expected one of {choices}, 'distributed', a "
        "distributed.Client, or a get(dsk, keys) function"
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


def _flatten(keys: Any, out: list) -> None:
    if isinstance(keys, list):
        for k in keys:
            _flatten(k, out)
    else:
        out.append(keys)


def _resolve_scheduler(scheduler: Any) -> Any:
    """A scheduler name of cairn's own, or a get(dsk, keys, **kwargs) callable (an Executor
    becomes one that runs the tasks on it)."""
    if scheduler is None:
        scheduler = _config.get("scheduler", None)
        if scheduler is None:
            client = _distributed.default_client()
            if client is not None:  # as Dask: a default distributed Client runs compute()
                return _distributed.Get(client)
            scheduler = "threads"
    cluster = _distributed_scheduler(scheduler)
    if cluster is not None:
        return cluster
    from concurrent.futures import Executor

    if isinstance(scheduler, Executor):
        return _executor_scheduler(scheduler)
    if isinstance(scheduler, str) and scheduler.lower() not in _SCHEDULER_ALIASES:
        from .base import named_schedulers

        custom = named_schedulers.get(scheduler)
        if custom is not None:
            return custom
    return scheduler


def _execute(
    dsk: dict,
    keys: Any,
    scheduler: Any,
    num_workers: int | None,
    optimize_graph: bool,
    initializer: Callable[[], Any] | None = None,
) -> list:
    """Run the graph; return the values of the flattened keys, in order. ``initializer``
    (default: config ``multiprocessing.initializer``) runs once in each worker process as
    it starts (``scheduler="processes"`` only)."""
    mode = _scheduler_mode(scheduler)
    if num_workers is None:
        num_workers = _config.get("num_workers", None) or os.cpu_count() or 1
    num_workers = _check_num_workers(num_workers)

    flat: list = []
    _flatten(keys, flat)
    callbacks = _active_callbacks()
    hooks = RunHooks(callbacks, dsk) if callbacks else None
    scope = _diagnostics._scoped()
    outer_scope = scope[:]
    scope.clear()  # tasks that compute (nested) do not report to this run's callbacks
    try:
        run_dsk = dsk
        progress: Callable[[int, int], None] | None = None
        if hooks is not None:
            hooks.start()
            progress = hooks.progress
            if mode != "processes":
                run_dsk = hooks.wrap(run_dsk)
        if mode == "threads":
            run_dsk = _in_caller_context(run_dsk)
        try:
            if mode == "processes":
                from .processes import scheduler as _processes

                if initializer is None:
                    initializer = _config.get("multiprocessing.initializer", None)
                values = _processes.execute(run_dsk, flat, num_workers, progress, optimize_graph,
                                            hooks=hooks, initializer=initializer)
            else:
                values = _core.execute(run_dsk, flat, mode, num_workers, progress,
                                       optimize_graph)
        except BaseException:
            if hooks is not None:
                try:
                    hooks.finish(True)
                except Exception:  # noqa: BLE001 - the task's error is the one to raise
                    pass
            raise
        if hooks is not None:
            hooks.finish(False)
    finally:
        scope[:] = outer_scope
    return values


class _InContext:
    """Runs a task's callable in (a copy of) the context of the thread that called compute,
    so ``contextvars`` set by the caller are visible in tasks on worker threads."""

    __slots__ = ("context", "func")

    def __init__(self, context: contextvars.Context, func: Callable) -> None:
        self.context = context
        self.func = func

    def __call__(self, *args: Any) -> Any:
        return self.context.copy().run(self.func, *args)


def _in_caller_context(dsk: dict) -> dict:
    context = contextvars.copy_context()
    if not len(context):
        return dsk  # nothing set: worker threads' own (empty) context is the same
    return wrap_tasks(dsk, lambda key, func: _InContext(context, func))


class _OnExecutor:
    """Runs one task's callable on a ``concurrent.futures.Executor`` (a scheduler built from
    an executor: cairn orders the graph, the executor runs the work)."""

    __slots__ = ("executor", "func")

    def __init__(self, executor: Any, func: Callable) -> None:
        self.executor = executor
        self.func = func

    def __call__(self, *args: Any) -> Any:
        submit = getattr(self.executor, "submit", None)
        if submit is not None:  # a concurrent.futures.Executor
            return submit(self.func, *args).result()
        return self.executor.apply_async(self.func, args).get()  # a multiprocessing Pool


def wrap_tasks(dsk: dict, wrap: Callable[[Any, Callable], Callable]) -> dict:
    """The graph with each task's callable ``f`` replaced by ``wrap(key, f)`` (top-level task
    tuples only; values and references stay as they are)."""
    from .base import literal

    out = {}
    for key, task in dsk.items():
        if type(task) is tuple and task and callable(task[0]) and type(task[0]) is not literal:
            out[key] = (wrap(key, task[0]), *task[1:])
        else:
            out[key] = task
    return out


def get_on_executor(executor: Any, dsk: Any, keys: Any, **kwargs: Any) -> Any:
    """Compute ``keys`` of ``dsk`` with each task run on ``executor`` (a
    ``concurrent.futures.Executor`` or a ``multiprocessing.pool`` Pool): cairn orders the
    graph on as many threads as the executor has workers, the executor runs the tasks."""
    from .base import _as_graph, get

    dsk = wrap_tasks(_as_graph(dsk, kwargs.get("cache")),
                     lambda key, f: _OnExecutor(executor, f))
    workers = getattr(executor, "_max_workers", None) or getattr(executor, "_processes", None)
    kwargs.pop("num_workers", None)
    return get(dsk, keys, scheduler="threads", num_workers=workers or None, **kwargs)


def _executor_scheduler(executor: Any) -> Callable:
    import functools

    return functools.partial(get_on_executor, executor)


def get_scheduler(get: Callable | None = None, scheduler: Any = None,
                  collections: Any = None, cls: Any = None) -> Callable | None:
    """The ``get(dsk, keys, **kwargs)`` function a computation would use, or None when nothing
    chose one (then cairn's default, threads, runs it), as ``dask.base.get_scheduler``.

    ``scheduler`` may be a name from :data:`named_schedulers`, a callable, or a
    ``concurrent.futures.Executor`` (cairn orders the graph, the executor runs the tasks).

    Examples
    --------
    >>> import cairn
    >>> cairn.base.get_scheduler(scheduler="sync") is cairn.local.get_sync
    True
    """
    if get is not None:
        return get
    if scheduler is None:
        scheduler = _config.get("scheduler", None)
    if scheduler is None:
        client = _distributed.default_client()
        if client is not None:
            return _distributed.Get(client)
        if collections:
            for c in collections:
                default = getattr(type(c), "__dask_scheduler__", None)
                if default is not None:
                    return default
        return None
    cluster = _distributed_scheduler(scheduler)
    if cluster is not None:
        return cluster
    if isinstance(scheduler, str):
        from .base import named_schedulers

        found = named_schedulers.get(scheduler.lower(), named_schedulers.get(scheduler))
        if found is None:
            _scheduler_mode(scheduler)  # raises ValueError naming the valid choices
        return found
    from concurrent.futures import Executor

    if isinstance(scheduler, Executor):
        return _executor_scheduler(scheduler)
    if callable(scheduler):
        return scheduler
    raise TypeError(f"scheduler must be a name, a get(dsk, keys) function, an Executor or a "
                    f"distributed.Client, got {type(scheduler).__name__}")


