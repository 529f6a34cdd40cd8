"""A cairn worker process: runs tasks of a graph and keeps their results.

Started by :mod:`cairn.processes.pool` with ``python -m cairn.processes.worker FD PID``,
where FD is its end of a socket pair and PID the parent's process id. Messages (pickled tuples) from the parent:

- ``("graph", gid, payload, sys_path)``: the cloudpickled Python tasks of graph ``gid``
  (once), and the parent's import path.
- ``("run", rid, gid, key, deps)``: compute ``key``; ``deps`` maps each dependency key to
  ``("local", gid)`` (held here), or an :func:`cairn.processes.shm.export` description.
  Tasks arrive ahead of their replies and run in order; a task whose local input failed
  fails with the same error.
- ``("init", rid, payload, sys_path)``: run the pool's cloudpickled initializer (first,
  before any task; answered when it has run).
- ``("export", rid, gid, key)``: describe a held result for another process (answered when
  the task that makes it is done).
- ``("release", gid)``, ``("release_keys", [(gid, key)])``: drop a graph's results, or
  results no task needs any more (in order with the tasks); ``("cancel", gid)``: skip the
  graph's queued tasks.

Replies: ``(rid, "ok", payload)`` or ``(rid, "error", (pickled exception or None,
traceback text, pickled exception type or None, message, type name))``;
a task's payload is (the warnings it raised, which the parent raises again, and the value
itself when it is small).
Exports are answered by a second thread, so a worker busy with a task still serves data.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import queue
import signal
import socket
import sys
import threading
import traceback
import warnings
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from . import shm
from .spec import ExceptionState, run


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when the parent dies, even by kill -9 (the parent forks
    its workers from a thread that lives as long as it does: the signal comes when the
    forking thread ends)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


_SCALARS = (int, float, bool, complex, type(None))


def _inline(value: Any) -> tuple | None:
    """Small plain values travel back with the task's reply, so another process needs no
    export round trip for them."""
    t = type(value)
    if t in _SCALARS or (t in (str, bytes) and len(value) <= 1024) or (
            t is tuple and len(value) <= 16 and all(type(v) in _SCALARS for v in value)):
        return ("inline", pickle.dumps(value, protocol=5), [])
    return None


def _warning(message: Any, category: type, filename: str, lineno: int) -> tuple:
    """A warning a task raised, to be raised again in the parent."""
    try:
        pickle.dumps(category)
    except Exception:  # noqa: BLE001 (a warning class defined in __main__ or a closure)
        category = UserWarning
    return (category, str(message), filename, lineno)


def _add_to_path(path: list) -> None:
    """The parent's import path, so what it pickled by reference imports here too."""
    for entry in reversed(path):
        if entry not in sys.path:
            sys.path.insert(0, entry)


class Worker:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.send_lock = threading.Lock()
        self.graphs: dict[str, dict] = {}
        self.results: dict[tuple, Any] = {}
        self.failed: dict[tuple, tuple] = {}  # (gid, key) -> error payload
        self.waiting: dict[tuple, list[int]] = {}  # exports asked before the value exists
        self.cancelled: set[str] = set()
        self.lock = threading.Lock()
        self.tasks: "queue.Queue[tuple | None]" = queue.Queue()
        self.caught: list[tuple] = []
        # Warnings that pass the filters (as in the parent: once per place by default) are
        # recorded for the running task instead of printed; cheaper than catch_warnings.
        warnings.showwarning = self._record_warning

    def _record_warning(self, message, category, filename, lineno, file=None, line=None):
        self.caught.append(_warning(message, category, filename, lineno))

    def reply(self, rid: int, status: str, payload: Any) -> None:
        data = pickle.dumps((rid, status, payload), protocol=5)
        with self.send_lock:
            self.conn.send_bytes(data)

    def fail(self, rid: int, exc: BaseException) -> None:
        self.reply(rid, "error", self.error_payload(exc))

    def error_payload(self, exc: BaseException) -> tuple:
        text = "".join(traceback.format_exception(exc))
        blob = None
        # As itself; else (a constructor that takes other arguments than its args, say) as
        # its type, args and attributes, rebuilt without calling the constructor.
        for packed in (exc, ExceptionState(exc)):
            try:
                blob = cloudpickle.dumps(packed)
                pickle.loads(blob)  # some exceptions pickle but do not unpickle
                break
            except Exception:  # noqa: BLE001 (the parent rebuilds it from its type)
                blob = None
        try:
            # cloudpickle: a class of __main__ or a closure comes back as the parent's own
            kind = cloudpickle.dumps(type(exc))
        except Exception:  # noqa: BLE001
            kind = None
        name = f"{type(exc).__module__}.{type(exc).__qualname__}"
        return (blob, text, kind, str(exc), name)

    def reader(self) -> None:
        """Receives messages; serves exports at once (or when the task that makes the value
        is done), queues tasks and releases in the order they came."""
        while True:
            try:
                msg = pickle.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                os._exit(0)  # the parent is gone
            kind = msg[0]
            if kind == "graph":
                _, gid, payload, path = msg
                _add_to_path(path)
                with self.lock:
                    self.graphs[gid] = payload  # unpickled by the task thread, on first use
            elif kind == "export":
                _, rid, gid, key = msg
                with self.lock:
                    ready = (gid, key) in self.results or (gid, key) in self.failed
                    if not ready:  # its task is still queued: answer when it is done
                        self.waiting.setdefault((gid, key), []).append(rid)
                if ready:
                    self.export(rid, (gid, key))
            elif kind == "cancel":
                self.cancelled.add(msg[1])
            elif kind in ("run", "release", "release_keys", "init"):
                self.tasks.put(msg)
            elif kind == "exit":
                self.tasks.put(None)
                return

    def export(self, rid: int, name: tuple) -> None:
        with self.lock:
            failed = self.failed.get(name)
            value = self.results.get(name, None)
        if failed is not None:
            self.reply(rid, "error", failed)
            return
        try:
            self.reply(rid, "ok", shm.export(value))
        except BaseException as e:  # noqa: BLE001 (reported to the parent)
            self.fail(rid, e)

    def initialize(self, rid: int, payload: bytes, path: list) -> None:
        """Runs the pool's initializer, on the main thread before any task."""
        _add_to_path(path)
        try:
            cloudpickle.loads(payload)()
        except BaseException as e:  # noqa: BLE001 (reported to the parent)
            self.fail(rid, e)
            return
        self.reply(rid, "ok", None)

    def graph(self, gid: str) -> dict:
        with self.lock:
            g = self.graphs[gid]
            if isinstance(g, bytes):
                g = self.graphs[gid] = cloudpickle.loads(g)
            return g

    def run_tasks(self) -> None:
        while True:
            msg = self.tasks.get()
            if msg is None:
                return
            kind = msg[0]
            if kind == "release_keys":
                with self.lock:
                    for k in msg[1]:
                        self.results.pop(k, None)
                        self.failed.pop(k, None)
                continue
            if kind == "init":
                self.initialize(*msg[1:])
                continue
            if kind == "release":
                gid = msg[1]
                with self.lock:
                    self.graphs.pop(gid, None)
                    for table in (self.results, self.failed):
                        for k in [k for k in table if k[0] == gid]:
                            del table[k]
                self.cancelled.discard(gid)
                continue
            _, rid, gid, key, deps = msg
            failure = None
            try:
                if gid in self.cancelled:
                    raise KeyboardInterrupt("the computation was cancelled")
                data = {}
                for dep, where in deps.items():
                    if where[0] == "local":
                        with self.lock:
                            failure = self.failed.get((gid, dep))
                            if failure is not None:
                                break  # a failed input: this task fails the same way
                            data[dep] = self.results[(gid, dep)]
                    else:
                        data[dep] = shm.load(where)
                if failure is None:
                    self.caught = []
                    value = run(self.graph(gid)[key], data)
                    with self.lock:
                        self.results[(gid, key)] = value
                    self.reply(rid, "ok", (self.caught, _inline(value)))
            except BaseException as e:  # noqa: BLE001 (reported to the parent)
                failure = self.error_payload(e)
            if failure is not None:
                with self.lock:
                    self.failed[(gid, key)] = failure
                self.reply(rid, "error", failure)
            with self.lock:
                waiting = self.waiting.pop((gid, key), [])
            for export_rid in waiting:
                self.export(export_rid, (gid, key))


def main(fd: int, parent: int) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; Ctrl-C reaches it
    from .. import config

    config.set(scheduler="sync")  # a task that computes runs here, in-process
    shm.OWNER = parent
    sock = socket.socket(fileno=fd)
    conn = Connection(sock.detach())
    worker = Worker(conn)
    threading.Thread(target=worker.reader, daemon=True, name="cairn-worker-reader").start()
    worker.reply(0, "ok", os.getpid())  # ready
    worker.run_tasks()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
