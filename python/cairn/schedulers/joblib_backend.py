"""A joblib backend, ``"cairn"``: joblib's work (scikit-learn's ``n_jobs=``) on cairn's
threads, its worker processes, or a dask.distributed cluster.

``import cairn`` registers it (at once if joblib is loaded, else as soon as it is)::

    import joblib
    with joblib.parallel_backend("cairn"):                  # the scheduler in effect
        GridSearchCV(model, grid, n_jobs=-1).fit(X, y)
    with joblib.parallel_backend("cairn", scheduler="processes"):
        ...
    with joblib.parallel_backend("cairn", scheduler=client):  # a distributed.Client
        ...

Each batch joblib hands over becomes one task: on a cluster a ``client.submit``, locally a
one-task graph run by cairn's scheduler from one of ``n_jobs`` dispatch threads (worker
processes are cairn's warm, crash-recovering pool). A task's exception reaches joblib, and
so the caller, as itself.
"""

from __future__ import annotations

import copy
import functools
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from joblib.parallel import AutoBatchingMixin, ParallelBackendBase, SequentialBackend

from .. import config as _config
from . import distributed as _distributed

NAME = "cairn"
_SCATTER_BYTES = 1e3  # arguments larger than this go to the cluster once (as Dask's backend)


def _run_batch(batch: Any, tasks: list) -> list:
    """On a worker: joblib's batch with its calls (large arguments arrive resolved)."""
    batch.items = tasks
    return batch()


def _resolve(scheduler: Any) -> tuple[str, Any]:
    """("distributed", client) or (local mode, None) for a scheduler= value (None: what
    compute() would use)."""
    from ..scheduling import _SCHEDULER_ALIASES

    if scheduler is None:
        scheduler = _config.get("scheduler", None)
        if scheduler is None:
            client = _distributed.default_client()
            return ("distributed", client) if client is not None else ("threads", None)
    if _distributed.is_client(scheduler):
        return "distributed", scheduler
    if isinstance(scheduler, str):
        if scheduler.lower() in _distributed.NAMES:
            return "distributed", _distributed.named_client()
        mode = _SCHEDULER_ALIASES.get(scheduler.lower())
        if mode is not None:
            return mode, None
    raise ValueError(f"joblib backend 'cairn': unknown scheduler {scheduler!r}; use 'threads', "
                     "'processes', 'sync', 'distributed' or a distributed.Client")


class CairnBackend(AutoBatchingMixin, ParallelBackendBase):
    """joblib's ParallelBackend on a cairn scheduler (see the module docstring)."""

    supports_retrieve_callback = True
    default_n_jobs = 1

    def __init__(self, scheduler: Any = None, nesting_level: int | None = None,
                 **backend_kwargs: Any) -> None:
        super().__init__(nesting_level=nesting_level, **backend_kwargs)
        self.mode, self.client = _resolve(scheduler)
        self._scheduler = scheduler
        self._dispatch: ThreadPoolExecutor | None = None
        self._futures: set = set()
        self._lock = threading.Lock()
        self._scattered: dict = {}  # id(arg) -> (arg, its future on the cluster), per call

    @property
    def uses_threads(self) -> bool:  # joblib's require="sharedmem" asks for this
        return self.mode in ("threads", "sync")

    @property
    def supports_sharedmem(self) -> bool:
        return self.uses_threads

    def effective_n_jobs(self, n_jobs: int | None) -> int:
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        if self.mode == "sync":
            return 1
        if self.mode == "distributed":
            threads = sum(w.get("nthreads", 1)
                          for w in self.client.scheduler_info().get("workers", {}).values())
            total = max(threads, 1)
        else:
            total = _config.get("num_workers", None) or os.cpu_count() or 1
        if n_jobs is None:
            return total
        if n_jobs < 0:
            return max(total + 1 + n_jobs, 1)
        return n_jobs

    def configure(self, n_jobs: int = 1, parallel: Any = None, **backend_kwargs: Any) -> int:
        self.parallel = parallel
        self._n_jobs = self.effective_n_jobs(n_jobs)
        if self.mode == "distributed":
            _distributed.check_workers(self.client)
        return self._n_jobs

    def start_call(self) -> None:
        if self.mode != "distributed" and self._dispatch is None:
            self._dispatch = ThreadPoolExecutor(max_workers=self._n_jobs,
                                                thread_name_prefix="cairn-joblib")

    def _run_local(self, func: Any) -> Any:
        from ..base import get

        key = f"joblib-batch-{uuid.uuid4().hex}"
        return get({key: (func,)}, key, scheduler=self.mode, num_workers=self._n_jobs)

    def _on_cluster(self, arg: Any) -> Any:
        """``arg``, or for a large one (a training set, say) its future: sent to the cluster
        once per Parallel call instead of inside every batch."""
        from dask.sizeof import sizeof

        try:
            large = sizeof(arg) > _SCATTER_BYTES
        except Exception:  # noqa: BLE001 - sizeof of an odd object: send it as it is
            large = False
        if not large:
            return arg
        with self._lock:
            known = self._scattered.get(id(arg))
        if known is None:
            known = (arg, self.client.scatter(arg, hash=False))
            with self._lock:
                known = self._scattered.setdefault(id(arg), known)
        return known[1]

    def _submit_to_cluster(self, func: Any) -> Any:
        tasks = [(f, [self._on_cluster(a) for a in args],
                  {k: self._on_cluster(v) for k, v in kwargs.items()})
                 for f, args, kwargs in func.items]
        empty = copy.copy(func)  # joblib's batch (its nested backend) without the calls
        empty.items = []
        return self.client.submit(_run_batch, empty, tasks, pure=False,
                                  key=f"joblib-batch-{len(tasks)}-{uuid.uuid4().hex}")

    def submit(self, func: Any, callback: Any = None) -> Any:
        if self.mode == "distributed":
            future = self._submit_to_cluster(func)
        else:
            self.start_call()
            future = self._dispatch.submit(self._run_local, func)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(functools.partial(self._done, callback))
        return future

    def _done(self, callback: Any, future: Any) -> None:
        with self._lock:
            self._futures.discard(future)
        if callback is not None:
            callback(future)

    def retrieve_result_callback(self, future: Any) -> Any:
        return future.result()

    def abort_everything(self, ensure_ready: bool = True) -> None:
        with self._lock:
            pending, self._futures = list(self._futures), set()
        for future in pending:
            future.cancel()
        if not ensure_ready:
            self.terminate()

    def stop_call(self) -> None:
        with self._lock:
            self._scattered = {}
        self.terminate()

    def terminate(self) -> None:
        if self._dispatch is not None:
            self._dispatch.shutdown(wait=True, cancel_futures=True)
            self._dispatch = None

    def get_nested_backend(self) -> tuple:
        # A Parallel inside a task runs where the task runs, one call after another: the
        # outer level already uses every worker.
        return SequentialBackend(nesting_level=(self.nesting_level or 0) + 1), None


def register() -> None:
    """Registers the backend with joblib as ``"cairn"`` (called by ``import cairn``)."""
    import joblib

    joblib.register_parallel_backend(NAME, CairnBackend)
