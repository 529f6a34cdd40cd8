"""Callbacks fed by the executor, a progress bar and a profiler built on them (as
``dask.callbacks`` and ``dask.diagnostics``)."""

from __future__ import annotations

import inspect
import sys
import threading
import time
from collections import namedtuple
from typing import Any, Callable, TextIO

__all__ = ["Callback", "ProgressBar", "Profiler"]

_registered: list["Callback"] = []
_local = threading.local()
_HOOKS = ("_start", "_start_state", "_pretask", "_posttask", "_finish", "_progress")


def _scoped() -> list["Callback"]:
    scoped = getattr(_local, "scoped", None)
    if scoped is None:
        scoped = _local.scoped = []
    return scoped


def _active_callbacks() -> list["Callback"]:
    scoped = getattr(_local, "scoped", None)
    if not scoped:
        return list(_registered)
    return list(_registered) + [cb for cb in scoped if cb not in _registered]


class _Active:
    """``Callback.active``: the callbacks a computation started now on this thread would
    call (empty inside a running computation's tasks, as in Dask)."""

    def _items(self) -> list:
        return _active_callbacks()

    def __bool__(self) -> bool:
        return bool(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self):
        return iter(self._items())

    def __contains__(self, cb: object) -> bool:
        return cb in self._items()

    def __repr__(self) -> str:
        return f"Callback.active({self._items()!r})"


def _takes_state(func: Callable) -> bool:
    """True if a finish hook has Dask's signature ``(dsk, state, errored)``, False for
    cairn's older ``(dsk, errored)``."""
    try:
        params = [p for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return True
    return len(params) != 2


class Callback:
    """Hooks called around a computation and its tasks, like ``dask.callbacks.Callback``.

    Use as a context manager (active for computations started in the block, on this
    thread) or ``register()`` it globally. Subclass and override the hooks, or pass them:

    Parameters
    ----------
    start : callable(dsk), optional
        Called before the graph runs.
    start_state : callable(dsk, state), optional
        Called once the run's ``state`` dict exists (``state["cache"]``, ``"finished"``).
    pretask : callable(key, dsk, state), optional
        Called before each task.
    posttask : callable(key, result, dsk, state, worker_id), optional
        Called after each task that succeeded.
    finish : callable(dsk, state, errored), optional
        Called after the run, also when it failed or was interrupted (``(dsk, errored)`` is
        accepted too).
    progress : callable(done, total), optional
        Called by the executor as tasks finish (at most ~20 times a second, and once at the
        end). ``total`` counts tasks after optimization.

    Hooks run on the thread that called compute, except ``pretask`` and ``posttask``, which
    run (one at a time) on the thread that runs the task; with ``scheduler="processes"`` they
    are not called, since tasks run in other processes. An exception in a hook fails the
    computation; the task's own error, if any, is the one raised.

    Examples
    --------
    >>> import cairn
    >>> seen = []
    >>> with cairn.diagnostics.Callback(progress=lambda d, t: seen.append((d, t))):
    ...     cairn.delayed(sum)([1, 2]).compute()
    3
    >>> seen[-1]
    (1, 1)
    """

    active = _Active()

    def __init__(self, start: Callable | None = None, start_state: Callable | None = None,
                 pretask: Callable | None = None, posttask: Callable | None = None,
                 finish: Callable | None = None, progress: Callable | None = None) -> None:
        for name, hook in (("_start", start), ("_start_state", start_state),
                           ("_pretask", pretask), ("_posttask", posttask),
                           ("_finish", finish), ("_progress", progress)):
            if hook is not None:
                setattr(self, name, hook)

    def _start(self, dsk: dict) -> None:
        pass

    def _start_state(self, dsk: dict, state: dict) -> None:
        pass

    def _pretask(self, key: Any, dsk: dict, state: dict) -> None:
        pass

    def _posttask(self, key: Any, result: Any, dsk: dict, state: dict, worker_id: int) -> None:
        pass

    def _progress(self, done: int, total: int) -> None:
        pass

    def _finish(self, dsk: dict, state: dict, errored: bool) -> None:
        pass

    def _has(self, hook: str) -> bool:
        """True if this callback does something in ``hook`` (overridden or passed)."""
        return hook in self.__dict__ or getattr(type(self), hook) is not getattr(Callback, hook)

    def _call_finish(self, dsk: dict, state: dict, errored: bool) -> None:
        finish = self._finish
        if _takes_state(finish):
            finish(dsk, state, errored)
        else:
            finish(dsk, errored)

    def __enter__(self) -> "Callback":
        _scoped().append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _scoped().remove(self)

    def register(self) -> None:
        """Activate for every computation in the process until ``unregister()``."""
        if self not in _registered:
            _registered.append(self)

    def unregister(self) -> None:
        """Undo ``register()``."""
        if self in _registered:
            _registered.remove(self)


class _TaskHooks:
    """A task's callable, calling the callbacks' ``_pretask``/``_posttask`` around it."""

    __slots__ = ("key", "func", "run")

    def __init__(self, key: Any, func: Callable, run: "RunHooks") -> None:
        self.key = key
        self.func = func
        self.run = run

    def __call__(self, *args: Any) -> Any:
        self.run.before(self.key)
        result = self.func(*args)
        self.run.after(self.key, result, threading.get_ident())
        return result


class RunHooks:
    """The callbacks of one computation: started before the graph runs, finished after.

    ``wrap(dsk)`` returns the graph whose tasks call the per-task hooks (or ``dsk`` itself
    when no callback has any)."""

    def __init__(self, callbacks: list[Callback], dsk: dict) -> None:
        self.callbacks = callbacks
        self.dsk = dsk
        self.state: dict = {"cache": {k: v for k, v in dsk.items() if not _is_task(v)},
                            "running": set(), "finished": set(), "released": set()}
        self.pre = [cb for cb in callbacks if cb._has("_pretask")]
        self.post = [cb for cb in callbacks if cb._has("_posttask")]
        self.lock = threading.Lock()
        self.workers: dict[int, int] = {}

    def start(self) -> None:
        for cb in self.callbacks:
            cb._start(self.dsk)
        for cb in self.callbacks:
            cb._start_state(self.dsk, self.state)

    def wrap(self, dsk: dict) -> dict:
        if not (self.pre or self.post):
            return dsk
        from .scheduling import wrap_tasks

        return wrap_tasks(dsk, lambda key, func: _TaskHooks(key, func, self))

    def before(self, key: Any) -> None:
        """A task starts: the ``_pretask`` hooks."""
        with self.lock:
            self.state["running"].add(key)
            for cb in self.pre:
                cb._pretask(key, self.dsk, self.state)

    def after(self, key: Any, result: Any, worker: Any) -> None:
        """A task is done on ``worker`` (a thread's or a process's id, numbered 0, 1, ...
        in the order they are first seen): the ``_posttask`` hooks."""
        with self.lock:
            state = self.state
            state["running"].discard(key)
            state["finished"].add(key)
            worker_id = self.workers.setdefault(worker, len(self.workers))
            for cb in self.post:
                cb._posttask(key, result, self.dsk, state, worker_id)

    def progress(self, done: int, total: int) -> None:
        for cb in self.callbacks:
            cb._progress(done, total)

    def finish(self, errored: bool) -> None:
        """Call every finish hook, even if one raises (the first such error is raised)."""
        first: BaseException | None = None
        for cb in self.callbacks:
            try:
                cb._call_finish(self.dsk, self.state, errored)
            except Exception as e:  # noqa: BLE001 - re-raised below, after the others ran
                first = first or e
        if first is not None:
            raise first


def _is_task(value: Any) -> bool:
    return type(value) is tuple and bool(value) and callable(value[0])


TaskData = namedtuple("TaskData", ("key", "task", "start_time", "end_time", "worker_id"))


class Profiler(Callback):
    """Records when each task ran and on which worker, like ``dask.diagnostics.Profiler``.

    ``results`` is a list of ``TaskData(key, task, start_time, end_time, worker_id)`` for
    the computations run inside the ``with`` block (times from ``time.time()``).

    Examples
    --------
    >>> import cairn
    >>> with cairn.diagnostics.Profiler() as prof:
    ...     (cairn.delayed(1) + 1).compute()
    2
    >>> [r.key.split("-")[0] for r in prof.results]
    ['add']
    """

    def __init__(self) -> None:
        super().__init__()
        self._results: dict = {}
        self.results: list[TaskData] = []
        self._dsk: dict = {}
        self.start_time: float | None = None
        self.end_time: float | None = None

    def __enter__(self) -> "Profiler":
        self.clear()
        self.start_time = time.time()
        return super().__enter__()  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        self.end_time = time.time()
        super().__exit__(*exc)

    def _start(self, dsk: dict) -> None:
        self._dsk.update(dsk)

    def _pretask(self, key: Any, dsk: dict, state: dict) -> None:
        self._results[key] = (key, dsk.get(key), time.time())

    def _posttask(self, key: Any, result: Any, dsk: dict, state: dict, worker_id: int) -> None:
        start = self._results.pop(key, None)
        if start is not None:
            self.results.append(TaskData(*start, time.time(), worker_id))

    def _finish(self, dsk: dict, state: dict, errored: bool) -> None:
        self._results.clear()

    def clear(self) -> None:
        """Forget what was recorded."""
        self._results.clear()
        self.results = []
        self._dsk = {}


class ProgressBar(Callback):
    """A progress bar for computations: a terminal bar, or a widget in Jupyter.

    Built on tqdm (``tqdm.auto`` picks the notebook widget when ipywidgets is present).

    Parameters
    ----------
    minimum : float
        Seconds a computation must run before the bar appears (short ones stay quiet).
    width : int
        Width of the bar in characters (terminal only).
    out : file, optional
        Where the terminal bar is written (default ``sys.stdout``, as Dask's).

    Examples
    --------
    >>> import io, cairn
    >>> out = io.StringIO()
    >>> with cairn.diagnostics.ProgressBar(out=out):
    ...     cairn.delayed(sum)([1, 2, 3]).compute()
    6
    >>> "100%" in out.getvalue()
    True
    """

    def __init__(self, minimum: float = 0.0, width: int = 40, dt: float = 0.1,
                 out: TextIO | None = None) -> None:
        super().__init__()
        self.minimum = minimum
        self.width = width
        self.dt = dt
        self._out = out
        self._bar: Any = None
        self._start_time = 0.0
        self.last_duration: float | None = None

    def _start(self, dsk: dict) -> None:
        self._start_time = time.perf_counter()
        self._bar = None

    def _make_bar(self, total: int) -> Any:
        out = self._out if self._out is not None else sys.stdout
        if self._out is None:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        return tqdm(total=total, file=out, ncols=self.width + 40, mininterval=self.dt,
                    unit="task", leave=True, dynamic_ncols=False)

    def _progress(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self._start_time
        if self._bar is None:
            if elapsed < self.minimum:
                return
            self._bar = self._make_bar(total)
        if self._bar.total != total:
            self._bar.total = total
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def _finish(self, dsk: dict, state: dict, errored: bool) -> None:
        self.last_duration = time.perf_counter() - self._start_time
        if self._bar is not None:
            self._bar.close()
            self._bar = None
