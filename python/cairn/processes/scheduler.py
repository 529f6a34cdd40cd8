"""``scheduler="processes"``: the C++ scheduler runs the graph; Python tasks run in workers.

The graph is rewritten so that each Python task becomes a call of a :class:`RemoteTask`
on its dependencies. The C++ executor's threads call them; each thread drives one worker
process, so a chain of tasks on one thread stays in one worker and its intermediate
results never leave it. A task's result stays in the worker as a :class:`RemoteRef`;
another worker that needs it gets it through shared memory (:mod:`cairn.processes.shm`),
and the caller gets the final values the same way. The Python tasks of a graph are
cloudpickled once and sent once to each worker that runs any of them.

A worker that dies is replaced and its task retried (``processes.retries``, default 1);
results that died with it are recomputed from their tasks.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import uuid
import warnings
import weakref
from typing import Any

import cloudpickle

from .. import config as _config
from ..base import task_dependencies
from . import shm
from .pool import RemoteError, WorkerDied, WorkerHandle, WorkerPool, describe_exit, get_pool
from .spec import is_task


class TaskCrashedError(RuntimeError):
    """A task killed its worker process more often than the retries allow."""


class _Graph:
    """A graph's Python tasks, pickled once, sent once per worker."""

    def __init__(self, tasks: dict):
        self.gid = uuid.uuid4().hex
        self.tasks = tasks
        self._payload: bytes | None = None
        self._lock = threading.Lock()
        self.exports: list[tuple] = []  # shared-memory files to remove at the end
        self.cancelled = threading.Event()
        self.pending: list = []  # (worker, reply) of every task sent, waited for at the end

    def payload(self) -> bytes:
        with self._lock:
            if self._payload is None:
                try:
                    self._payload = cloudpickle.dumps(self.tasks, protocol=5)
                except Exception as e:  # noqa: BLE001 (find the task to name it)
                    raise _unpicklable(self.tasks, e) from None
            return self._payload

    def ship_to(self, worker: WorkerHandle) -> None:
        if self.gid not in worker.graphs:
            # The parent's import path, so functions pickled by reference (defined in an
            # importable module) import in the worker as they did here.
            worker.send(("graph", self.gid, self.payload(), list(sys.path)))
            worker.graphs.add(self.gid)


def _unpicklable(tasks: dict, error: Exception) -> Exception:
    for key, task in tasks.items():
        try:
            cloudpickle.dumps(task)
        except Exception as e:  # noqa: BLE001
            return TypeError(
                f"task {key!r} cannot be sent to a worker process: {type(e).__name__}: {e} "
                "(use scheduler='threads' for tasks that hold locks, open files or sockets)")
    return TypeError(f"the graph cannot be sent to the worker processes: {error}")


class RemoteRef:
    """A task result held by a worker process, possibly still being computed (tasks are
    sent ahead of their replies). When the executor drops it (its last consumer ran), the
    worker is told to drop the value too."""

    __slots__ = ("worker", "graph", "key", "task", "args", "export", "reply", "deaths",
                 "__weakref__")

    def __init__(self, worker: WorkerHandle, graph: _Graph, key: Any, task: "RemoteTask",
                 args: tuple):
        self.worker = worker
        self.graph = graph
        self.key = key
        self.task = task
        # To recompute it if its worker dies: inputs that are results are held weakly, so
        # holding this result does not keep every upstream result alive in the workers.
        self.args = tuple(weakref.ref(a) if isinstance(a, RemoteRef) else a for a in args)
        self.export: tuple | None = None
        self.reply = None  # the pending reply of the task that makes it
        self.deaths: list[WorkerDied] = []

    def __del__(self) -> None:
        worker = self.worker
        if worker is not None and not worker.dead:
            try:
                worker.release_later(self.graph.gid, self.key)
            except Exception:  # noqa: BLE001 (interpreter shutdown)
                pass

    def inputs(self) -> tuple:
        """The task's arguments again (a lost upstream result cannot be recomputed)."""
        out = []
        for a in self.args:
            if isinstance(a, weakref.ref):
                a = a()
                if a is None:
                    raise TaskCrashedError(
                        f"an input of task {self.key!r} was lost with a worker process and "
                        "is no longer known; run the computation again")
            out.append(a)
        return tuple(out)

    def ready(self, pool: WorkerPool) -> None:
        """Waits until the value exists: raises the task's own exception if it failed, and
        recomputes it on a live worker if its worker died."""
        while self.reply is not None:
            reply = self.reply
            try:
                caught, inline = self.worker.wait(reply, self.graph.cancelled)
            except RemoteError as e:
                original = e.original()
                raise original from original.__cause__
            except WorkerDied as died:
                self.deaths.append(died)
                pool.replace(self.worker)
                retries = int(_config.get("processes.retries", 1))
                if len(self.deaths) > retries:
                    raise TaskCrashedError(
                        f"task {self.key!r} killed its worker process {len(self.deaths)} "
                        f"times ({describe_exit(died.returncode)}); it was retried {retries} "
                        "time(s) (config 'processes.retries')") from None
                self.task.submit(pool, pool.worker_for_thread(), self.inputs(), into=self)
                continue
            if self.reply is reply:
                self.reply = None
                if inline is not None:
                    self.export = inline  # small: it came with the reply
            _raise_warnings(reply, caught)

    def describe(self, pool: WorkerPool) -> tuple:
        """Where another process can load this value from (exported once)."""
        while self.export is None:
            self.ready(pool)
            if self.export is not None:
                break
            try:
                self.export = self.worker.request("export", self.graph.gid, self.key,
                                                  cancelled=self.graph.cancelled)
            except WorkerDied as died:
                self.reply = _died_reply(died)  # recompute it, then export again
                continue
            except RemoteError as e:
                raise TypeError(
                    f"the result of task {self.key!r} cannot be sent between processes: "
                    f"{e.message} (return picklable values, or use scheduler='threads')"
                ) from e.original()
            if self.export[0] == "shm":
                self.graph.exports.append(self.export)
        return self.export

    def __reduce__(self):
        raise TypeError("a worker's result cannot be pickled directly")


def _raise_warnings(reply: Any, caught: list) -> None:
    if not reply.seen:
        reply.seen = True
        for category, message, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)


def _died_reply(died: WorkerDied):
    from .pool import _Reply

    reply = _Reply()
    reply.status = "died"
    reply.event.set()
    return reply


class RemoteTask:
    """Sends one Python task of a graph to the calling thread's worker, without waiting
    for it: the worker runs its tasks in order, and a value is waited for only where it
    must leave its worker (another worker's task, or the caller)."""

    __slots__ = ("graph", "key", "deps", "pool")

    def __init__(self, graph: _Graph, key: Any, deps: list, pool: WorkerPool):
        self.graph, self.key, self.deps, self.pool = graph, key, deps, pool

    def __call__(self, *args: Any) -> RemoteRef:
        ref = RemoteRef(None, self.graph, self.key, self, args)  # type: ignore[arg-type]
        while True:
            worker = self._choose_worker(args)
            try:
                self.submit(self.pool, worker, args, into=ref)
                # The reply, not the ref (holding the ref would keep its value alive).
                self.graph.pending.append((worker, ref.reply))
                return ref
            except WorkerDied:
                self.pool.replace(worker)  # never got the task: send it to the new one

    def _choose_worker(self, args: tuple) -> WorkerHandle:
        """Where the inputs are, if they are all in one worker (they stay there); with no
        input in a worker, the least busy one (tasks are sent ahead, so the calling thread's
        own worker could otherwise get every independent task)."""
        homes = {a.worker for a in args
                 if isinstance(a, RemoteRef) and a.worker is not None and not a.worker.dead}
        if len(homes) == 1:
            return homes.pop()
        if not homes:
            return self.pool.least_loaded()
        own = self.pool.worker_for_thread()
        return own if own in homes else next(iter(homes))

    def submit(self, pool: WorkerPool, worker: WorkerHandle, args: tuple, into: RemoteRef) -> None:
        deps = {}
        for key, value in zip(self.deps, args):
            if isinstance(value, RemoteRef):
                if value.worker is worker and not worker.dead:
                    deps[key] = ("local",)  # made (or queued) before this task, in order
                else:
                    deps[key] = value.describe(pool)
            else:
                deps[key] = shm.export(value)
                if deps[key][0] == "shm":
                    self.graph.exports.append(deps[key])
        self.graph.ship_to(worker)
        into.reply = worker.submit("run", self.graph.gid, self.key, deps, task=True,
                                   cancelled=self.graph.cancelled)
        into.worker = worker
        into.export = None


def _dependencies(spec: Any, dsk: dict) -> list:
    """The keys a task refers to, once each (the order its arguments are passed in)."""
    out: set = set()
    task_dependencies(spec, dsk, out)
    return list(out)


def rewrite(dsk: dict, pool: WorkerPool) -> tuple[dict, _Graph]:
    """The graph the C++ executor runs: Python tasks become RemoteTask calls."""
    from .. import _core

    from ..bag.native import RECIPES, run_recipe

    native = _core.NativeTask
    python_tasks = {k: v for k, v in dsk.items()
                    if is_task(v) and not isinstance(v[0], native)}
    # A native scan that feeds Python tasks runs in the worker too (from its recipe), so
    # its lines are made where they are used instead of being shipped there.
    feeding: set = set()
    for spec in python_tasks.values():
        deps = _dependencies(spec, dsk)
        feeding.update(d for d in deps if d not in python_tasks)
    for key in feeding:
        spec = dsk[key]
        # (a NativeTask is not callable, so is_task() does not see these)
        if type(spec) is tuple and len(spec) == 1 and isinstance(spec[0], native) \
                and spec[0] in RECIPES:
            python_tasks[key] = (run_recipe, RECIPES[spec[0]])
    graph = _Graph(python_tasks)
    out = {}
    for key, spec in dsk.items():
        if key in python_tasks:
            spec = python_tasks[key]
            deps = _dependencies(spec, dsk)
            out[key] = (RemoteTask(graph, key, deps, pool), *deps)
        else:
            if is_task(spec):
                deps = _dependencies(spec, dsk)
                if any(d in python_tasks for d in deps):
                    raise NotImplementedError(
                        f"native task {key!r} depends on a Python task; run this graph with "
                        "scheduler='threads'")
            out[key] = spec
    return out, graph


def fetch(value: Any, pool: WorkerPool) -> Any:
    """The caller's copy of a result (results the executor put in containers included)."""
    if isinstance(value, RemoteRef):
        return shm.load(value.describe(pool))  # waits for it (and raises its error)
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(fetch(v, pool) for v in value)
    if type(value) is dict:
        return {k: fetch(v, pool) for k, v in value.items()}
    return value


def execute(dsk: dict, keys: list, num_workers: int, progress, optimize_graph: bool) -> list:
    from .. import _core

    pool = get_pool(num_workers)
    graph_dsk, graph = rewrite(dsk, pool)
    previous = None
    if threading.current_thread() is threading.main_thread():
        def on_interrupt(signum, frame):
            graph.cancelled.set()
            signal.default_int_handler(signum, frame)

        previous = signal.signal(signal.SIGINT, on_interrupt)
    failed = True
    seen_total = [0]

    def finished() -> int:
        return sum(1 for _, reply in graph.pending if reply.event.is_set())

    def report(done: int, total: int) -> None:
        # The executor counts tasks as they are sent; report those that have finished.
        seen_total[0] = total
        progress(min(done, finished()), total)

    try:
        values = _core.execute(graph_dsk, keys, "threads", num_workers,
                               report if progress else None, optimize_graph)
        # Every task's reply first: the progress shown follows them, an error nobody waited
        # for yet and every warning surface here. (A task whose worker died was needed only
        # by tasks that ran before it died, or fetching the outputs recomputes it.)
        last = time.monotonic()
        for worker, reply in graph.pending:
            while progress and seen_total[0] and not reply.event.wait(0.05):
                if time.monotonic() - last > 0.05:
                    progress(min(finished(), seen_total[0]), seen_total[0])
                    last = time.monotonic()
                if graph.cancelled.is_set():
                    break
            try:
                caught, _ = worker.wait(reply, graph.cancelled)
            except WorkerDied:
                continue
            except RemoteError as e:
                original = e.original()
                raise original from original.__cause__
            _raise_warnings(reply, caught)
        out = [fetch(v, pool) for v in values]
        if progress and seen_total[0]:
            progress(seen_total[0], seen_total[0])
        failed = False
        return out
    finally:
        graph.pending.clear()
        if graph.cancelled.is_set():  # Ctrl-C: stop what the workers are doing now
            for w in pool.workers:
                if graph.gid in w.graphs:
                    w.kill()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        for w in pool.workers:
            if graph.gid in w.graphs and not w.dead:
                try:
                    if failed:
                        w.send(("cancel", graph.gid))  # skip its queued tasks
                    w.send(("release", graph.gid))
                except OSError:
                    pass
                w.graphs.discard(graph.gid)
        for e in graph.exports:
            shm.discard(e)
        pool.release_threads()
