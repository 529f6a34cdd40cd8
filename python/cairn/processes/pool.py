"""The parent's side of the worker processes: spawning, messaging, replacing dead ones.

Workers are started with ``subprocess`` (fork + exec of a fresh interpreter: nothing of
the threaded parent is inherited), kept warm between computations, and stopped at exit.
Each worker dies with its parent (PR_SET_PDEATHSIG) and when its socket closes. The
kernel sends PR_SET_PDEATHSIG when the *thread* that forked the worker ends, so every
worker is forked by one long-lived thread of this process (:class:`_Spawner`), whichever
thread asked for it.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any, Callable, Iterator

import cloudpickle

__all__ = ["WorkerDied", "WorkerHandle", "WorkerPool", "get_pool", "shutdown", "using_pool"]

MAX_IN_FLIGHT = 8  # tasks sent to one worker ahead of their replies


class WorkerDied(RuntimeError):
    """A worker process exited while it had work (crash, os._exit, OOM kill). ``blamed``:
    the request this was raised for is the one the worker was running when it died."""

    def __init__(self, pid: int, returncode: int | None, blamed: bool = False):
        self.pid = pid
        self.returncode = returncode
        self.blamed = blamed
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


class _Spawner:
    """One long-lived daemon thread that forks every worker of this process, so that no
    worker gets PR_SET_PDEATHSIG when the (possibly short-lived) thread that asked ends."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._requests: "queue.Queue[tuple]" = queue.Queue()
        threading.Thread(target=self._serve, daemon=True, name="cairn-spawner").start()

    def _serve(self) -> None:
        while True:
            make, done = self._requests.get()
            try:
                done.append((make(), None))
            except BaseException as e:  # noqa: BLE001 (raised again in the caller)
                done.append((None, e))
            done[0].set()

    def run(self, make: Callable[[], Any]) -> Any:
        """``make()`` called on the spawner thread; its result (or exception) here."""
        done: list = [threading.Event()]
        self._requests.put((make, done))
        done[0].wait()
        value, error = done[1]
        if error is not None:
            raise error
        return value


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def _spawn(make: Callable[[], Any]) -> Any:
    global _spawner
    with _spawner_lock:
        if _spawner is None or _spawner.pid != os.getpid():  # (a forked child has no thread)
            _spawner = _Spawner()
        spawner = _spawner
    return spawner.run(make)


class _Reply:
    __slots__ = ("event", "status", "payload", "slot", "seen", "blamed", "counted")

    def __init__(self, slot: bool = False) -> None:
        self.event = threading.Event()
        self.status = ""
        self.payload: Any = None
        self.slot = slot  # holds one of the worker's in-flight task slots
        self.seen = False  # a task's warnings were raised again already
        self.blamed = False  # died: the worker was running this request when it died
        self.counted = False  # died: the death was charged to the task already


class WorkerHandle:
    """One worker process. submit() and request() are thread-safe; replies are routed by
    request id. A request leaves ``_pending`` exactly once (:meth:`_settle`), and that is
    where its in-flight slot is given back."""

    def __init__(self, index: int, initializer: bytes | None = None):
        self.index = index
        parent, child = socket.socketpair()
        env = dict(os.environ)
        # The worker imports cairn from where this process did.
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in [package_root, env.get("PYTHONPATH", "")] if p)
        args = [sys.executable, "-m", "cairn.processes.worker", str(child.fileno()),
                str(os.getpid())]
        try:
            self.proc = _spawn(lambda: subprocess.Popen(
                args, pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL,
                start_new_session=True))
        finally:
            child.close()
        self.conn = Connection(parent.detach())
        self.pid = self.proc.pid
        self.graphs: set[str] = set()
        self.dead = False
        self._send_lock = threading.Lock()
        self._pending: dict[int, _Reply] = {}  # in the order the requests were sent
        self._pending_lock = threading.Lock()
        self._changed = threading.Condition(self._pending_lock)  # a slot was given back
        self._closed = False  # the reader saw the socket close: nothing more is answered
        self._ids = itertools.count(1)
        self._releases: list[tuple] = []
        self._releases_lock = threading.RLock()  # finalizers may run while it is held
        # Tasks are sent ahead of their replies (the worker runs them in order); this bounds
        # how many wait in its queue: tasks in _pending, plus slots taken but not yet sent.
        self.in_flight = 0
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
        if initializer is not None:
            try:
                self.request("init", initializer, list(sys.path))
            except RemoteError as e:
                self.stop()
                original = e.original()
                raise original from original.__cause__
            except WorkerDied:
                self.kill()
                raise

    def _settle(self, rid: int, status: str, payload: Any) -> None:
        """Answers request ``rid`` if it is still pending (once: later calls do nothing)."""
        with self._pending_lock:
            reply = self._pending.pop(rid, None)
            if reply is None:
                return
            if reply.slot:
                self.in_flight -= 1
                self._changed.notify_all()
        reply.status, reply.payload = status, payload
        reply.event.set()

    def _read(self) -> None:
        while True:
            try:
                rid, status, payload = pickle.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                break
            self._settle(rid, status, payload)
        self.dead = True
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        with self._pending_lock:
            self._closed = True
            # The worker runs its tasks in the order they were sent and answers each when it
            # is done, so the first task still pending is the one that was running; with no
            # task pending, the first request (an export being written).
            running = next((rid for rid, r in self._pending.items() if r.slot),
                           next(iter(self._pending), None))
            if running is not None:
                self._pending[running].blamed = True
            rids = list(self._pending)
        for rid in rids:
            self._settle(rid, "died", None)

    def send(self, message: tuple) -> None:
        """Sends a message that has no reply; raises WorkerDied if the worker is gone."""
        with self._send_lock:
            try:
                self._write(message)
            except OSError:
                self.dead = True
                raise WorkerDied(self.pid, self.proc.poll()) from None

    def _write(self, message: tuple) -> None:
        """Sends ``message`` after the releases queued so far (``_send_lock`` held)."""
        with self._releases_lock:
            releases, self._releases = self._releases, []
        if releases:
            self.conn.send_bytes(pickle.dumps(("release_keys", releases), protocol=5))
        self.conn.send_bytes(pickle.dumps(message, protocol=5))

    def release_later(self, gid: str, key: Any) -> None:
        """Queues a result for the worker to drop; sent with the next message (this may be
        called from a finalizer, which must not block on the socket)."""
        with self._releases_lock:
            self._releases.append((gid, key))

    def submit(self, kind: str, *args: Any, task: bool = False,
               cancelled: threading.Event | None = None) -> _Reply:
        """Sends (kind, rid, *args) without waiting for the reply. A task takes one of the
        worker's in-flight slots first (waiting while all are taken)."""
        with self._changed:
            while task and not self._closed and self.in_flight >= MAX_IN_FLIGHT:
                if cancelled is not None and cancelled.is_set():
                    raise KeyboardInterrupt
                self._changed.wait(0.1)
            if self._closed or self.dead:
                raise WorkerDied(self.pid, self.proc.poll())
            if task:
                self.in_flight += 1  # taken; given back by _settle once it is pending
        reply = _Reply(slot=task)
        with self._send_lock:  # pending in the order sent: the worker runs them so
            with self._changed:
                if self._closed:
                    if task:
                        self.in_flight -= 1
                        self._changed.notify_all()
                    raise WorkerDied(self.pid, self.proc.poll())
                rid = next(self._ids)
                self._pending[rid] = reply  # (before the send: the answer may come at once)
            try:
                self._write((kind, rid, *args))
            except OSError:
                self.dead = True
                self._settle(rid, "died", None)  # unless the reader's death path did already
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
            raise WorkerDied(self.pid, self.proc.poll(), blamed=reply.blamed)
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
            except WorkerDied:
                pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
        self._reader.join(10)
        self.conn.close()


class RemoteError(Exception):
    """An exception raised by a task in a worker, carried back."""

    def __init__(self, blob: bytes | None, text: str, kind: bytes | None = None,
                 message: str = "", name: str = ""):
        super().__init__(text)
        self.blob = blob
        self.text = text
        self.kind = kind
        self.message = message
        self.name = name

    def original(self) -> BaseException:
        """The task's own exception (with the worker's traceback as its cause); if it does
        not survive pickling, an exception of a subclass of its type with its message; if
        its type does not either, a RuntimeError naming the type and the message."""
        exc: BaseException | None = None
        if self.blob is not None:
            try:
                exc = pickle.loads(self.blob)
            except Exception:  # noqa: BLE001 (rebuilt from the type below)
                exc = None
        if exc is None and self.kind is not None:
            exc = _rebuilt(self.kind, self.message)
        if exc is None:
            exc = RuntimeError(
                f"a task raised {self.name or 'an exception'}: {self.message} (neither the "
                "exception nor its type could be sent back from the worker process; see "
                "the worker's traceback below)")
        exc.__cause__ = _RemoteTraceback(self.text)
        return exc


def _rebuilt(kind: bytes, message: str) -> BaseException | None:
    try:
        cls = pickle.loads(kind)
        sub = type(cls.__name__, (cls,), {"__str__": lambda self: message,
                                          "__module__": cls.__module__,
                                          "__qualname__": cls.__qualname__})
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


def _remove_files(pids, keep: set = frozenset()) -> bool:
    """Removes the shared-memory files of processes ``pids`` but those in ``keep``; whether
    it removed them all."""
    from .shm import SHM_DIR, file_prefix

    if SHM_DIR is None:
        return True
    prefixes = tuple(file_prefix(pid) for pid in pids)
    kept = False
    for name in os.listdir(SHM_DIR):
        if name.startswith(prefixes):
            path = os.path.join(SHM_DIR, name)
            if path in keep:
                kept = True
                continue
            try:
                os.unlink(path)
            except OSError:
                pass
    return not kept


def _remove_orphaned_exports() -> None:
    """Shared-memory files whose owner (the process whose pool made them) no longer exists
    (a parent killed with -9). A dead writer alone says nothing: its owner may still be
    running a computation that reads them (another user's, another notebook's)."""
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

    def __init__(self, size: int, initializer: Callable[[], Any] | None = None):
        _remove_orphaned_exports()
        self.size = size
        self.initializer = initializer
        self._init_payload = None if initializer is None else _pickled_initializer(initializer)
        self._lock = threading.Lock()
        self._free = list(range(size))
        self._local = threading.local()
        self.dead_pids: set[int] = set()  # replaced workers whose files may remain
        self.running: set = set()  # the graphs being computed on this pool
        self.users = 0  # computations holding the pool (see using_pool)
        self.retired = False  # replaced by another pool: stopped when its last user ends
        self.workers: list[WorkerHandle] = []
        try:
            for i in range(size):
                self.workers.append(WorkerHandle(i, self._init_payload))
        except BaseException:
            self.shutdown()
            raise

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
                self.dead_pids.add(current.pid)
                current = self.workers[dead.index] = WorkerHandle(dead.index, self._init_payload)
            return current

    def remove_files_of_dead_workers(self, keep: set) -> None:
        """Removes what replaced workers left in /dev/shm (a file half written when one was
        killed, or results only it knew of), but for the exports in ``keep``."""
        with self._lock:
            pids = list(self.dead_pids)
        for pid in pids:
            if _remove_files([pid], keep):
                with self._lock:
                    self.dead_pids.discard(pid)

    def shutdown(self, parent_files: bool = True) -> None:
        """Stops the workers and removes their /dev/shm files, and the parent's too unless
        ``parent_files`` is False (another pool's computation may be using them)."""
        for w in self.workers:
            w.stop()
        pids = {w.pid for w in self.workers} | self.dead_pids
        _remove_files(pids | {os.getpid()} if parent_files else pids)
        self.workers = []
        self.dead_pids = set()


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def _pickled_initializer(initializer: Callable[[], Any]) -> bytes:
    if not callable(initializer):
        raise TypeError(f"initializer must be a callable taking no arguments, got "
                        f"{type(initializer).__name__}")
    try:
        return cloudpickle.dumps(initializer, protocol=5)
    except Exception as e:  # noqa: BLE001
        raise TypeError(f"the initializer {initializer!r} cannot be sent to the worker "
                        f"processes: {type(e).__name__}: {e}") from None


_retired: list[WorkerPool] = []  # replaced pools that computations still use


def _in_use_besides(pool: WorkerPool) -> bool:
    return any(p.users for p in [_pool, *_retired] if p is not None and p is not pool)


def _retire(pool: WorkerPool) -> None:
    """``pool`` is replaced: stopped now, or by its last user (called with _pool_lock)."""
    if pool.users:
        pool.retired = True
        _retired.append(pool)
    else:
        pool.shutdown(parent_files=not _in_use_besides(pool))


def _current_pool(size: int, initializer: Callable[[], Any] | None) -> WorkerPool:
    global _pool
    if _pool is not None and (_pool.size != size or _pool_pid != os.getpid()
                              or _pool.initializer is not initializer):
        if _pool_pid == os.getpid():
            _retire(_pool)
        _pool = None
    if _pool is None:
        _set_pool(WorkerPool(size, initializer))
    return _pool


def get_pool(size: int, initializer: Callable[[], Any] | None = None) -> WorkerPool:
    """The warm pool, (re)started with ``size`` workers if it has another size, or if its
    workers were started with another ``initializer`` (run once in each worker as it
    starts, as ``multiprocessing.Pool(initializer=)`` does): what one initializer set up in
    the workers never leaks into a computation that asked for another, or for none. A pool
    replaced while a computation uses it (see :func:`using_pool`) stops when that ends."""
    with _pool_lock:
        return _current_pool(size, initializer)


@contextlib.contextmanager
def using_pool(size: int, initializer: Callable[[], Any] | None = None) -> Iterator[WorkerPool]:
    """:func:`get_pool`, held for one computation: another computation that needs other
    workers meanwhile starts them without stopping these."""
    with _pool_lock:
        pool = _current_pool(size, initializer)
        pool.users += 1
    try:
        yield pool
    finally:
        with _pool_lock:
            pool.users -= 1
            if pool.retired and not pool.users:
                _retired.remove(pool)
                pool.shutdown(parent_files=not _in_use_besides(pool))


_pool_pid = os.getpid()


def _set_pool(pool: WorkerPool) -> None:
    global _pool, _pool_pid
    _pool, _pool_pid = pool, os.getpid()


def shutdown() -> None:
    """Stops the worker processes (also done at exit)."""
    global _pool
    with _pool_lock:
        if _pool_pid == os.getpid():
            for pool in [*_retired, _pool]:
                if pool is not None:
                    pool.shutdown()
        _retired.clear()
        _pool = None


atexit.register(shutdown)
