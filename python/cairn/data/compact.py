"""Deferred compression: ``cairn add`` stores new data raw, compaction compresses it later.

``add`` is bound by hashing (the file's oid and the chunk ids, two SHA-256 passes), so zstd
at add time would cost it about half its speed. Instead new objects go into the cache raw,
marked as deferred (codec 2, docs/store-format.md), and compaction replaces each pack that
holds them by one with those objects compressed:

- after an ``add`` that leaves at least :data:`AUTO_BYTES` deferred, a background
  ``cairn compact --auto`` starts (detached, lowest CPU priority; git's ``gc --auto`` does
  the same), unless ``core.autocompact`` is false in ``.cairn/config`` or
  ``CAIRN_AUTOCOMPACT=0`` is set;
- ``cairn compact`` does it in the foreground (waiting for a background run first).

Compaction writes the new pack (durable, indexed) under the shared lock, so adds and reads
go on meanwhile, then deletes the old pack under the exclusive lock, only if every object
in it has another copy on disk. A run killed at any point leaves at worst two copies.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from .repo import CairnError, Repo, _store

COMPACT_LEVEL = 1     # zstd level of compaction: 0.388 of the text corpus vs 0.378 at 3,
                      # at 1.3x the speed (docs/store.md)
AUTO_BYTES = 16 << 20  # deferred bytes that start a background compaction after add


@dataclass
class CompactResult:
    packs: int = 0           # packs replaced by compressed ones
    objects: int = 0         # deferred objects compressed (or found incompressible)
    bytes_before: int = 0    # size of those packs
    bytes_after: int = 0     # size of their replacements
    dropped: int = 0         # old packs deleted
    seconds: float = 0.0
    skipped: bool = False    # --auto and another compaction was running
    kept: list[str] = field(default_factory=list)  # replaced packs not deleted (see compact)


def auto_enabled(repo: Repo) -> bool:
    env = os.environ.get("CAIRN_AUTOCOMPACT")
    if env is not None:
        return env.strip().lower() not in ("0", "false", "no", "off")
    value = repo._config("--get", "core.autocompact", check=False).strip().lower()
    return value not in ("false", "0", "no", "off")


def _lock_path(repo: Repo):
    return repo.dir / "cache" / "compact.lock"


def compact(repo: Repo, level: int = COMPACT_LEVEL, progress=None, wait: bool = True) -> CompactResult:
    """Compresses every deferred object in the cache. With ``wait=False`` (background runs)
    returns at once, ``skipped``, if another compaction holds the compaction lock."""
    if not 1 <= level <= 19:
        raise CairnError(f"--level must be 1 to 19 (zstd), not {level}")
    start = time.perf_counter()
    (repo.dir / "cache").mkdir(parents=True, exist_ok=True)
    with open(_lock_path(repo), "a+") as guard:
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return CompactResult(skipped=True)
        with repo.lock():
            repo._cache = None  # packs another process added since this Repo opened
            cache = repo.cache()
            total = _store.deferred_bytes(cache)
            if total == 0:
                return CompactResult(seconds=time.perf_counter() - start)
            callback = progress("compact", total) if progress else None
            stats = _store.compact_packs(cache, level, callback)
        with repo.lock(exclusive=True):
            # Freshly opened: exactly what is on disk now (a gc may have run in between).
            repo._cache = None
            dropped = _store.drop_redundant_packs(repo.cache(), stats["replaced"])
        repo._cache = None
    return CompactResult(stats["packs"], stats["objects"], stats["bytes_before"],
                         stats["bytes_after"], dropped, time.perf_counter() - start)


def start_background(repo: Repo) -> subprocess.Popen:
    """Starts ``cairn compact --auto`` detached from this process (its own session, so
    Ctrl-C in the terminal does not reach it), at the lowest CPU priority. Errors go to
    ``.cairn/cache/compact.log``."""
    log = open(repo.dir / "cache" / "compact.log", "ab")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cairn", "-q", "compact", "--auto"], cwd=repo.root,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
            start_new_session=True, close_fds=True)
    finally:
        log.close()
    # Reaped when it ends if this process lives longer (a notebook, a test run); if this
    # one exits first, the compaction goes on and init reaps it.
    threading.Thread(target=proc.wait, name="cairn-compact-reaper", daemon=True).start()
    return proc


def after_add(repo: Repo) -> subprocess.Popen | None:
    """Starts a background compaction when an add left enough deferred data (and automatic
    compaction is on); returns the process, or None."""
    if _store.deferred_bytes(repo.cache()) < AUTO_BYTES or not auto_enabled(repo):
        return None
    return start_background(repo)


def run_auto(repo: Repo) -> CompactResult:
    """The body of ``cairn compact --auto``: lowest priority, and nothing to do if another
    compaction runs (it will pick up this add's packs too, or the next add starts one)."""
    try:
        os.nice(19)
    except OSError:
        pass
    return compact(repo, wait=False)
