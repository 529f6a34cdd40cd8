"""Moving Python values between processes through shared memory.

A value is pickled with protocol 5; its out-of-band buffers (NumPy arrays, Arrow buffers,
bytes-like data) are written once into a file in ``/dev/shm`` and the receiver maps that
file and unpickles with the buffers pointing into the mapping: no copy on the receiving
side, and nothing large goes through a pipe.
"""

from __future__ import annotations

import errno
import mmap
import os
import pickle
import uuid
from typing import Any

import cloudpickle

SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None
INLINE_LIMIT = 64 * 1024  # smaller values travel inside the message
# The process whose pool the files belong to (a worker sets its parent's pid). Files are
# named cairn-<owner>-<writer>-<uuid>: a replaced worker's files are still read by the live
# owner's other workers, so only an owner that no longer exists makes them orphans.
OWNER: int | None = None


def file_prefix(writer: int) -> str:
    """The name prefix of the files ``writer`` (a pid) writes for this process's pool."""
    owner = OWNER if OWNER is not None else os.getpid()
    return f"cairn-{owner}-{writer}-"


def dumps(value: Any) -> tuple[bytes, list[pickle.PickleBuffer]]:
    buffers: list[pickle.PickleBuffer] = []
    header = cloudpickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    return header, buffers


def export(value: Any) -> tuple:
    """A picklable description of ``value``: ("inline", header, [bytes]) for small values,
    ("shm", path, header, [(offset, size)]) otherwise (the caller unlinks ``path``); inline
    as well if /dev/shm has no room for it."""
    header, buffers = dumps(value)
    views = [b.raw() for b in buffers]
    total = sum(v.nbytes for v in views)
    if SHM_DIR is None or total + len(header) <= INLINE_LIMIT:
        return ("inline", header, [bytes(v) for v in views])
    path = os.path.join(SHM_DIR, file_prefix(os.getpid()) + uuid.uuid4().hex)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            # Reserve the pages now: a sparse file would die of SIGBUS half-way through
            # the copy when /dev/shm is full.
            os.posix_fallocate(fd, 0, max(total, 1))
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EFBIG):
                raise
            os.close(fd)
            os.unlink(path)
            # Too big for /dev/shm: through the socket instead (slower, but right).
            return ("inline", header, [bytes(v) for v in views])
        spans = []
        with mmap.mmap(fd, max(total, 1)) as m:
            offset = 0
            for v in views:
                m[offset: offset + v.nbytes] = v.cast("B")
                spans.append((offset, v.nbytes))
                offset += v.nbytes
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return ("shm", path, header, spans)


def load(description: tuple) -> Any:
    """The value an :func:`export` describes (buffers map the shared file, not copies)."""
    if description[0] == "inline":
        _, header, buffers = description
        return pickle.loads(header, buffers=buffers)
    _, path, header, spans = description
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    view = memoryview(m)
    return pickle.loads(header, buffers=[view[o: o + n] for o, n in spans])


def discard(description: tuple) -> None:
    if description[0] == "shm":
        try:
            os.unlink(description[1])
        except FileNotFoundError:
            pass
