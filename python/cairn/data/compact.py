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
from dataclasses import dataclass

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


def auto_enabled(repo: Repo) -> bool:
    env = os.environ.get("CAIRN_AUTOCOMPACT")
    if env is not None:
        return env.strip().lower() not in ("0", "false", "no", "off")
    value = repo._config("--get", "core.autocompact", check=False).strip().lower()
    return value not in ("false", "0", "no", "off")


def _lock_path(repo: Repo):
    return repo.dir / "cache" / "compact.lock"


def _again_path(repo: Repo):
    return repo.dir / "cache" / "compact.again"


MAX_PASSES = 8  # adds that keep coming while a compaction runs are picked up this often


def compact(repo: Repo, level: int = COMPACT_LEVEL, progress=None, wait: bool = True) -> CompactResult:
    """Compresses every deferred object in the cache, including what adds store while it
    runs. With ``wait=False`` (background runs) it does not wait for a compaction that is
    already running: it asks that one to look again (``compact.again``) and returns
    ``skipped``. Packs that cannot be compacted stay as they are; the error names them
    (the others are compacted)."""
    if not 1 <= level <= 19:
        raise CairnError(f"--level must be 1 to 19 (zstd), not {level}")
    start = time.perf_counter()
    (repo.dir / "cache").mkdir(parents=True, exist_ok=True)
    result = CompactResult()
    problems: list[str] = []
    with open(_lock_path(repo), "a+") as guard:
        if not _take(guard, repo, wait):
            return CompactResult(skipped=True)
        while True:
            for i in range(MAX_PASSES):
                _again_path(repo).unlink(missing_ok=True)
                if not _one_pass(repo, level, progress, result, problems, sweep=i == 0):
                    break
            fcntl.flock(guard, fcntl.LOCK_UN)
            # An add that found this run busy asked for another look after our last pass:
            # take the lock again (unless that add's own run has taken it).
            if not _again_path(repo).exists() or not _take(guard, repo, wait=False, ask=False):
                break
    result.seconds = time.perf_counter() - start
    if problems:
        raise CairnError("compaction left some packs as they were (the rest is compacted):\n  "
                         + "\n  ".join(problems) + "\n(`cairn fsck` checks every pack)")
    return result


def _take(guard, repo: Repo, wait: bool, ask: bool = True) -> bool:
    """Takes the compaction lock; without waiting, if it is busy, leaves ``compact.again``
    for the holder (when ``ask``) and tries once more (the holder may just have let go)."""
    try:
        fcntl.flock(guard, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        if not ask:
            return False
        _again_path(repo).touch()
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False


def _one_pass(repo: Repo, level: int, progress, result: CompactResult, problems: list,
              sweep: bool = False) -> bool:
    """Compacts what is deferred now; False when there was nothing to do."""
    with repo.lock(sweep=sweep):
        cache = repo.cache()
        total = _store.deferred_bytes(cache)
        if total == 0:
            return False
        callback = progress("compact", total) if progress else None
        stats = _store.compact_packs(cache, level, callback)
    if stats["replaced"]:
        with repo.lock(exclusive=True):
            # Freshly opened (by the lock): exactly what is on disk now.
            result.dropped += _store.drop_redundant_packs(repo.cache(), stats["replaced"])
    repo._cache = None
    result.packs += stats["packs"]
    result.objects += stats["objects"]
    result.bytes_before += stats["bytes_before"]
    result.bytes_after += stats["bytes_after"]
    new = [p for p in stats["problems"] if p not in problems]
    problems.extend(new)
    # Packs that failed stay deferred: another pass would only fail on them again.
    return not stats["problems"] and bool(stats["replaced"])


def pending(repo: Repo) -> tuple[int, bool]:
    """(payload bytes waiting to be compressed, whether a compaction is running now)."""
    deferred = _store.deferred_bytes(repo.cache())
    running = False
    if deferred and _lock_path(repo).exists():
        with open(_lock_path(repo), "a+") as guard:
            try:
                fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(guard, fcntl.LOCK_UN)
            except BlockingIOError:
                running = True
    return deferred, running


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
    compaction is on); returns the process, or None. The add has succeeded whatever happens
    here: a failure to start one is a warning (the data stays raw until `cairn compact`)."""
    try:
        if _store.deferred_bytes(repo.cache()) < AUTO_BYTES or not auto_enabled(repo):
            return None
        return start_background(repo)
    except (OSError, ValueError) as e:
        print(f"cairn: warning: could not start a background compaction ({e}); the new data "
              "stays uncompressed until `cairn compact`", file=sys.stderr)
        return None


def run_auto(repo: Repo) -> CompactResult:
    """The body of ``cairn compact --auto``: lowest priority, and nothing to do if another
    compaction runs (it will pick up this add's packs too, or the next add starts one)."""
    try:
        os.nice(19)
    except OSError:
        pass
    return compact(repo, wait=False)
