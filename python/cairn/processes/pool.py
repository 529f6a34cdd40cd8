"""The parent's side of the worker processes: spawning, messaging, replacing dead ones.

Workers are started with ``subprocess`` (fork + exec of a fresh interpreter: nothing of
the threaded parent is inherited), kept warm between computations, and stopped at exit.
Each worker dies with its parent (PR_SET_PDEATHSIG) and when its socket closes.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["WorkerDied", "WorkerHandle", "WorkerPool", "get_pool", "shutdown"]

MAX_IN_FLIGHT = 8  # tasks sent to one worker ahead of their replies


class WorkerDied(RuntimeError):
    """A worker process exited while it had work (crash, os._exit, OOM kill)."""

    def __init__(self, pid: int, returncode: int | None):
        self.pid = pid
        self.returncode = returncode
        super().__init__(f"worker process {pid} died ({describe_exit(returncode)})")


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "it stopped answering"
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class _Reply:
    __slots__ = ("event", "status", "payload", "slot", "seen")

    def __init__(self, slot: bool = False) -> None:
        self.event = threading.Event()
        self.status = ""
        self.payload: Any = None
        self.slot = slot  # holds one of the worker's in-flight task slots
        self.seen = False  # a task's warnings were raised again already


class WorkerHandle:
    """One worker process. request() is thread-safe; replies are routed by request id."""

    def __init__(self, index: int):
        self.index = index
        parent, child = socket.socketpair()
        env = dict(os.environ)
        # The worker imports cairn from where this process did.
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in [package_root, env.get("PYTHONPATH", "")] if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cairn.processes.worker", str(child.fileno())],
            pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL,
            start_new_session=True)
        child.close()
        self.conn = Connection(parent.detach())
        self.pid = self.proc.pid
        self.graphs: set[str] = set()
        self.dead = False
        self._send_lock = threading.Lock()
        self._pending: dict[int, _Reply] = {}
        self._pending_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._releases: list[tuple] = []
        self._releases_lock = threading.RLock()  # finalizers may run while it is held
        # Tasks are sent ahead of their replies (the worker runs them in order); this bounds
        # how many wait in its queue.
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self.in_flight = 0  # tasks sent and not answered yet
        ready = _Reply()
        self._pending[0] = ready
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name=f"cairn-worker-{index}")
        self._reader.start()
        if not ready.event.wait(60) or ready.status != "ok":
            self.kill()
            raise RuntimeError(
                f"worker process {self.pid} did not start ({describe_exit(self.proc.poll())}); "
                f"check that `{sys.executable} -m cairn.processes.worker` can import cairn")

    def _read(self) -> None:
        while True:
            try:
                rid, status, payload = pickle.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                break
            with self._pending_lock:
                reply = self._pending.pop(rid, None)
            if reply is not None:
                reply.status, reply.payload = status, payload
                if reply.slot:
                    with self._pending_lock:
                        self.in_flight -= 1
                    self._slots.release()
                reply.event.set()
        self.dead = True
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for reply in pending.values():
            reply.status = "died"
            if reply.slot:
                self._slots.release()
            reply.event.set()

    def send(self, message: tuple) -> None:
        with self._releases_lock:
            releases, self._releases = self._releases, []
        data = pickle.dumps(message, protocol=5)
        with self._send_lock:
            if releases:
                self.conn.send_bytes(pickle.dumps(("release_keys", releases), protocol=5))
            self.conn.send_bytes(data)

    def release_later(self, gid: str, key: Any) -> None:
        """Queues a result for the worker to drop; sent with the next message (this may be
        called from a finalizer, which must not block on the socket)."""
        with self._releases_lock:
            self._releases.append((gid, key))

    def submit(self, kind: str, *args: Any, task: bool = False,
               cancelled: threading.Event | None = None) -> _Reply:
        """Sends (kind, rid, *args) without waiting for the reply. A task takes one of the
        worker's in-flight slots first (waiting while all are taken)."""
        if self.dead:
            raise WorkerDied(self.pid, self.proc.poll())
        if task:
            while not self._slots.acquire(timeout=0.1):
                if self.dead:
                    raise WorkerDied(self.pid, self.proc.poll())
                if cancelled is not None and cancelled.is_set():
                    raise KeyboardInterrupt
        reply = _Reply(slot=task)
        rid = next(self._ids)
        with self._pending_lock:
            self._pending[rid] = reply
            if task:
                self.in_flight += 1
        try:
            self.send((kind, rid, *args))
        except OSError:
            self.dead = True
            with self._pending_lock:
                self._pending.pop(rid, None)
                if task:
                    self.in_flight -= 1
            if task:
                self._slots.release()
            raise WorkerDied(self.pid, self.proc.poll()) from None
        return reply

    def wait(self, reply: _Reply, cancelled: threading.Event | None = None) -> Any:
        """The reply's payload; raises WorkerDied, or the error payload as RemoteError."""
        while not reply.event.wait(0.1):
            if cancelled is not None and cancelled.is_set():
                self.kill()  # its work is abandoned; the pool replaces it
                reply.event.wait(5)
                raise KeyboardInterrupt
        if reply.status == "died":
            raise WorkerDied(self.pid, self.proc.poll())
        if reply.status == "error":
            raise RemoteError(*reply.payload)
        return reply.payload

    def request(self, kind: str, *args: Any, cancelled: threading.Event | None = None) -> Any:
        """submit() and wait()."""
        return self.wait(self.submit(kind, *args, cancelled=cancelled), cancelled)

    def kill(self) -> None:
        self.dead = True
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        if not self.dead:
            try:
                self.send(("exit",))
            except OSError:
                pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
        self.conn.close()


class RemoteError(Exception):
    """An exception raised by a task in a worker, carried back."""

    def __init__(self, blob: bytes | None, text: str, kind: bytes | None = None,
                 message: str = ""):
        super().__init__(text)
        self.blob = blob
        self.text = text
        self.kind = kind
        self.message = message

    def original(self) -> BaseException:
        """The task's own exception (with the worker's traceback as its cause); if it does
        not survive pickling, an exception of a subclass of its type with its message."""
        exc: BaseException | None = None
        if self.blob is not None:
            try:
                exc = pickle.loads(self.blob)
            except Exception:  # noqa: BLE001 (rebuilt from the type below)
                exc = None
        if exc is None and self.kind is not None:
            exc = _rebuilt(self.kind, self.message)
        if exc is None:
            return self
        exc.__cause__ = _RemoteTraceback(self.text)
        return exc


def _rebuilt(kind: bytes, message: str) -> BaseException | None:
    try:
        cls = pickle.loads(kind)
        sub = type(cls.__name__, (cls,), {"__str__": lambda self: message,
                                          "__module__": cls.__module__})
        exc = sub.__new__(sub)
        exc.args = (message,)
        return exc
    except Exception:  # noqa: BLE001
        return None


class _RemoteTraceback(Exception):
    def __init__(self, text: str):
        super().__init__(text)

    def __str__(self) -> str:
        return "\n\nTraceback in the worker process:\n" + self.args[0]


def _remove_orphaned_exports() -> None:
    """Shared-memory files of processes that no longer exist (a parent killed with -9)."""
    from .shm import SHM_DIR

    if SHM_DIR is None:
        return
    for name in os.listdir(SHM_DIR):
        if not name.startswith("cairn-"):
            continue
        try:
            pid = int(name.split("-")[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(SHM_DIR, name))
            except OSError:
                pass
        except (ValueError, IndexError, PermissionError):
            pass


class WorkerPool:
    """``size`` warm workers. Each thread of the parent's executor uses one worker (its
    own while the computation lasts), so results stay where the next task of a chain runs."""

    def __init__(self, size: int):
        _remove_orphaned_exports()
        self.size = size
        self.workers: list[WorkerHandle] = [WorkerHandle(i) for i in range(size)]
        self._lock = threading.Lock()
        self._free = list(range(size))
        self._local = threading.local()

    def worker_for_thread(self) -> WorkerHandle:
        index = getattr(self._local, "index", None)
        if index is None:
            with self._lock:
                index = self._free.pop() if self._free else \
                    threading.get_ident() % self.size
            self._local.index = index
        worker = self.workers[index]
        if worker.dead:
            worker = self.replace(worker)
        return worker

    def least_loaded(self) -> WorkerHandle:
        """A live worker with the fewest tasks in flight (the calling thread's own on a tie)."""
        own = self.worker_for_thread()
        best = min((w for w in self.workers if not w.dead), key=lambda w: w.in_flight,
                   default=own)
        return own if own.in_flight <= best.in_flight else best

    def release_threads(self) -> None:
        """Called when a computation ends: threads claim workers afresh next time."""
        with self._lock:
            self._free = list(range(self.size))
        self._local = threading.local()

    def replace(self, dead: WorkerHandle) -> WorkerHandle:
        with self._lock:
            current = self.workers[dead.index]
            if current is dead or current.dead:
                current.kill()
                current = self.workers[dead.index] = WorkerHandle(dead.index)
            return current

    def shutdown(self) -> None:
        for w in self.workers:
            w.stop()
        self.workers = []


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def get_pool(size: int) -> WorkerPool:
    """The warm pool, (re)started with ``size`` workers if it has another size."""
    global _pool
    with _pool_lock:
        if _pool is not None and (_pool.size != size or _pool_pid != os.getpid()):
            if _pool_pid == os.getpid():
                _pool.shutdown()
            _pool = None
        if _pool is None:
            _set_pool(WorkerPool(size))
        return _pool


_pool_pid = os.getpid()


def _set_pool(pool: WorkerPool) -> None:
    global _pool, _pool_pid
    _pool, _pool_pid = pool, os.getpid()


def shutdown() -> None:
    """Stops the worker processes (also done at exit)."""
    global _pool
    with _pool_lock:
        if _pool is not None and _pool_pid == os.getpid():
            _pool.shutdown()
        _pool = None


atexit.register(shutdown)
