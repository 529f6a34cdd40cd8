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
from .pool import RemoteError, WorkerDied, WorkerHandle, WorkerPool, describe_exit, using_pool
from .spec import Chain, is_task


class TaskCrashedError(RuntimeError):
    """A task killed its worker process more often than the retries allow."""


MAX_DEATHS = 100  # worker deaths in one computation before it is given up


class _Graph:
    """A graph's Python tasks, pickled once, sent once per worker; and what the run knows
    about its workers' deaths."""

    def __init__(self, tasks: dict):
        self.gid = uuid.uuid4().hex
        self.tasks = tasks
        self._payload: bytes | None = None
        self._lock = threading.Lock()
        self.exports: list[tuple] = []  # shared-memory files to remove at the end
        self.cancelled = threading.Event()
        self.pending: list = []  # (worker, reply) of every task sent, waited for at the end
        self.retries = int(_config.get("processes.retries", 1))
        self.crashes: dict = {}  # key -> how often a worker died running it
        self.crashed: dict = {}  # key -> the TaskCrashedError message, once out of retries
        self.dead_workers: set[int] = set()
        # Held while lost results are sent again (by any thread), so one is sent once.
        self.remaking = threading.RLock()

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

    def died(self, died: WorkerDied, running: Any = None) -> None:
        """Counts a death: against ``running``, the key of the task the worker was running
        (each death once, by the one who saw it first), which fails with TaskCrashedError
        once that is more than the retries; and against the computation, which fails once
        MAX_DEATHS workers died in it whatever they ran (deaths no task is charged with:
        killed from outside, say)."""
        with self._lock:
            self.dead_workers.add(died.pid)
            if len(self.dead_workers) > MAX_DEATHS:
                raise TaskCrashedError(
                    f"{len(self.dead_workers)} worker processes died during this computation "
                    f"(the last: {describe_exit(died.returncode)}); it was stopped")
            if running is None:
                return
            n = self.crashes[running] = self.crashes.get(running, 0) + 1
            key = running
            if n > self.retries and key not in self.crashed:
                self.crashed[key] = (
                    f"task {key!r} killed its worker process {n} times "
                    f"({describe_exit(died.returncode)}); it was retried {self.retries} "
                    "time(s) (config 'processes.retries')")
        self.check(key)

    def check(self, key: Any) -> None:
        """Raises the TaskCrashedError of ``key`` if it crashed its workers too often."""
        message = self.crashed.get(key)
        if message is not None:
            raise TaskCrashedError(message)


def _unpicklable(tasks: dict, error: Exception) -> Exception:
    for key, task in tasks.items():
        try:
            cloudpickle.dumps(task)
        except Exception as e:  # noqa: BLE001
            return TypeError(
                f"task {key!r} cannot be sent to a worker process: {type(e).__name__}: {e} "
                "(use scheduler='threads' for tasks that hold locks, open files or sockets)")
    return TypeError(f"the graph cannot be sent to the worker processes: {error}")


class _Lineage:
    """How to make a result again: its task and the task's arguments, where an argument
    that another Python task made is that task's lineage (the values themselves are not
    kept: a result no task needs any more is dropped in its worker, and made again from
    here if a worker's death loses something downstream of it)."""

    __slots__ = ("task", "args", "current")

    def __init__(self, task: "RemoteTask", args: tuple):
        self.task = task
        self.args = tuple(a.lineage if isinstance(a, RemoteRef) else a for a in args)
        self.current: weakref.ref | None = None  # the RemoteRef of the latest making

    def ref(self) -> "RemoteRef | None":
        return None if self.current is None else self.current()


class RemoteRef:
    """A task result held by a worker process, possibly still being computed (tasks are
    sent ahead of their replies). When the executor drops it (its last consumer ran), the
    worker is told to drop the value too. Lost with its worker, it is made again from its
    lineage."""

    __slots__ = ("worker", "graph", "key", "lineage", "export", "reply", "__weakref__")

    def __init__(self, graph: _Graph, key: Any, lineage: _Lineage):
        self.worker: WorkerHandle | None = None
        self.graph = graph
        self.key = key
        self.lineage = lineage
        lineage.current = weakref.ref(self)
        self.export: tuple | None = None
        self.reply = None  # the pending reply of the task that makes it

    def __del__(self) -> None:
        worker = self.worker
        if worker is not None and not worker.dead:
            try:
                worker.release_later(self.graph.gid, self.key)
            except Exception:  # noqa: BLE001 (interpreter shutdown)
                pass

    def lost(self) -> bool:
        """Neither being made nor held anywhere (its worker died with it)."""
        return self.reply is None and self.export is None and (
            self.worker is None or self.worker.dead)

    def ready(self, pool: WorkerPool) -> None:
        """Waits until the value exists: raises the task's own exception if it failed, and
        makes it again on a live worker if it was lost with its worker."""
        while True:
            reply, worker = self.reply, self.worker
            if reply is not None:
                try:
                    caught, inline = worker.wait(reply, self.graph.cancelled)
                except RemoteError as e:
                    original = e.original()
                    raise original from original.__cause__
                except WorkerDied as died:
                    self._lost_with(worker, reply, died, pool)
                    continue
                if self.reply is reply:
                    self.reply = None
                    if inline is not None:
                        self.export = inline  # small: it came with the reply
                _raise_warnings(reply, caught)
            elif self.lost():
                _remake(self.lineage, pool)
            else:
                return

    def _lost_with(self, worker: WorkerHandle, reply: Any, died: WorkerDied,
                   pool: WorkerPool) -> None:
        """The worker died before answering ``reply``: charge the death to this task if it
        was running it (once, whoever saw it first), and mark the value lost."""
        with self.graph.remaking:
            first = not reply.counted
            reply.counted = True
            if self.reply is reply:
                self.reply = None
        pool.replace(worker)
        self.graph.died(died, self.key if first and died.blamed else None)
        self.graph.check(self.key)

    def describe(self, pool: WorkerPool) -> tuple:
        """Where another process can load this value from (exported once)."""
        while self.export is None:
            self.ready(pool)
            if self.export is not None:
                break
            worker = self.worker
            try:
                export = worker.request("export", self.graph.gid, self.key,
                                        cancelled=self.graph.cancelled)
            except WorkerDied as died:  # lost: make it again, then export again
                pool.replace(worker)
                self.graph.died(died, self.key if died.blamed else None)  # (writing it)
                continue
            except RemoteError as e:
                raise TypeError(
                    f"the result of task {self.key!r} cannot be sent between processes: "
                    f"{e.message} (return picklable values, or use scheduler='threads')"
                ) from e.original()
            if export[0] == "shm":
                self.graph.exports.append(export)
            if self.worker is worker:
                self.export = export
        return self.export

    def __reduce__(self):
        raise TypeError("a worker's result cannot be pickled directly")


def _remake(lineage: _Lineage, pool: WorkerPool) -> None:
    """Sends the task of ``lineage`` again, after the tasks of every input that was lost
    too, however far up (inputs first; iterative, so a long lineage does not recurse)."""
    graph = lineage.task.graph
    with graph.remaking:
        order: list[_Lineage] = []
        kept: list[RemoteRef] = []
        seen: set[int] = set()
        stack: list[tuple[_Lineage, bool]] = [(lineage, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            ref = node.ref()
            if ref is not None and not ref.lost():
                kept.append(ref)  # (an input: alive until its consumers were sent)
                continue  # being made, or held by a live worker (or in /dev/shm)
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if isinstance(a, _Lineage))
        made = kept  # the remade inputs too
        for node in order:
            graph.check(node.task.key)
            ref = node.ref()
            if ref is None:
                ref = RemoteRef(graph, node.task.key, node)
            made.append(ref)
            if ref.lost():
                args = tuple(a.ref() if isinstance(a, _Lineage) else a for a in node.args)
                node.task.send(args, ref)


def _raise_warnings(reply: Any, caught: list) -> None:
    if not reply.seen:
        reply.seen = True
        for category, message, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)


class RemoteTask:
    """Sends one Python task of a graph to the calling thread's worker, without waiting
    for it: the worker runs its tasks in order, and a value is waited for only where it
    must leave its worker (another worker's task, or the caller)."""

    __slots__ = ("graph", "key", "deps", "pool")

    def __init__(self, graph: _Graph, key: Any, deps: list, pool: WorkerPool):
        self.graph, self.key, self.deps, self.pool = graph, key, deps, pool

    def __call__(self, *args: Any) -> RemoteRef:
        ref = RemoteRef(self.graph, self.key, _Lineage(self, args))
        self.send(args, ref)
        return ref

    def send(self, args: tuple, ref: RemoteRef) -> None:
        """Sends the task to a live worker (the best placed for ``args``), into ``ref``."""
        while True:
            worker = self._choose_worker(args)
            try:
                self.submit(self.pool, worker, args, into=ref)
                # The reply, not the ref (holding the ref would keep its value alive).
                self.graph.pending.append((worker, ref.reply))
                return
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
        self.graph.check(self.key)
        self.graph.ship_to(worker)
        into.worker, into.export = worker, None  # (before the reply: readers take both)
        into.reply = worker.submit("run", self.graph.gid, self.key, deps, task=True,
                                   cancelled=self.graph.cancelled)


def _dependencies(spec: Any, dsk: dict) -> list:
    """The keys a task refers to, once each (the order its arguments are passed in)."""
    out: set = set()
    task_dependencies(spec, dsk, out)
    return list(out)


def _fuse_chains(dsk: dict, keys: list, python_tasks: dict) -> dict:
    """``python_tasks`` with each linear chain of them that the C++ plan fuses (as it does
    for threads: a task whose one input no other task uses) made one task, a
    :class:`~cairn.processes.spec.Chain` under the chain's last key, so a chain costs one
    message and one result in the worker instead of one per link. Returns {last key: the
    spec of the chain's first task} for the chains fused (the others' keys are gone)."""
    from .. import _core

    fused = {}
    order = list(dsk)
    for chain in _core.plan_chains(dsk, keys):
        run: list = []
        # (Each link's one input is the link before: the plan read it from the same specs.)
        for key in [order[i] for i in chain] + [None]:  # (None: the end of the chain)
            if key is not None and key in python_tasks:
                run.append(key)
                continue
            if len(run) > 1:
                fused[run[-1]] = python_tasks[run[0]]
                python_tasks[run[-1]] = Chain(run[:-1], [python_tasks[k] for k in run])
                for k in run[:-1]:
                    del python_tasks[k]
            run = [key] if key is not None and key in python_tasks else []
    return fused


def rewrite(dsk: dict, keys: list, pool: WorkerPool, fuse: bool = True) -> tuple[dict, _Graph]:
    """The graph the C++ executor runs: Python tasks become RemoteTask calls (a fused chain
    one call, under its last key, with its first task's inputs)."""
    from .. import _core

    from ..core import recipes

    native = _core.NativeTask
    python_tasks = {k: v for k, v in dsk.items()
                    if is_task(v) and not isinstance(v[0], native)}
    # A native scan that feeds Python tasks runs in the worker too (from its recipe), so
    # its lines are made where they are used instead of being shipped there.
    # (a NativeTask is not callable, so is_task() does not see these)
    scans = {k for k, v in dsk.items() if type(v) is tuple and len(v) == 1
             and isinstance(v[0], native) and recipes.recipe_of(v[0]) is not None}
    feeding: set = set()
    for spec in python_tasks.values() if scans else ():
        feeding.update(d for d in _dependencies(spec, dsk) if d in scans)
    for key in feeding:
        python_tasks[key] = (recipes.run_to_python, recipes.recipe_of(dsk[key][0]))
    known = set(python_tasks)
    heads = _fuse_chains(dsk, keys, python_tasks) if fuse else {}
    graph = _Graph(python_tasks)
    out = {}
    for key, spec in dsk.items():
        if key in python_tasks:
            deps = _dependencies(heads.get(key, python_tasks[key]), dsk)
            out[key] = (RemoteTask(graph, key, deps, pool), *deps)
        elif key in known:
            continue  # fused into the task of its chain's last key
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


class _HookedTask:
    """A RemoteTask with the computation's ``_pretask``/``_posttask`` callbacks around it,
    called in the parent (as Dask's process scheduler does): the value is brought back for
    ``_posttask``, so with such callbacks each task waits for its reply before the next is
    sent from this thread."""

    __slots__ = ("task", "hooks")

    def __init__(self, task: RemoteTask, hooks: Any):
        self.task, self.hooks = task, hooks

    def __call__(self, *args: Any) -> RemoteRef:
        self.hooks.before(self.task.key)
        ref = self.task(*args)
        value = fetch(ref, self.task.pool)
        self.hooks.after(self.task.key, value, ref.worker.pid)
        return ref


def execute(dsk: dict, keys: list, num_workers: int, progress, optimize_graph: bool,
            hooks: Any = None, initializer: Any = None) -> list:
    """Runs ``dsk`` with its Python tasks in the warm worker processes (started with
    ``initializer``, see :func:`~cairn.processes.pool.get_pool`); ``hooks`` is the
    computation's :class:`~cairn.diagnostics.RunHooks`, if it has callbacks."""
    with using_pool(num_workers, initializer) as pool:
        return _execute_on(pool, dsk, keys, num_workers, progress, optimize_graph, hooks)


def _execute_on(pool: WorkerPool, dsk: dict, keys: list, num_workers: int, progress,
                optimize_graph: bool, hooks: Any) -> list:
    from .. import _core

    graph_dsk, graph = rewrite(dsk, keys, pool, fuse=optimize_graph)
    if hooks is not None and (hooks.pre or hooks.post):
        graph_dsk = {k: (_HookedTask(v[0], hooks), *v[1:])
                     if type(v) is tuple and v and type(v[0]) is RemoteTask else v
                     for k, v in graph_dsk.items()}
    pool.running.add(graph)
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
                except WorkerDied:
                    pass
                w.graphs.discard(graph.gid)
        for e in graph.exports:
            shm.discard(e)
        pool.running.discard(graph)
        # What dead workers left in /dev/shm (a file half written when one was killed),
        # but for exports that other computations still use.
        pool.remove_files_of_dead_workers(
            {e[1] for g in list(pool.running) for e in g.exports if e[0] == "shm"})
        pool.release_threads()
