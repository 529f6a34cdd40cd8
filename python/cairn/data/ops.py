"""The store commands (``cairn add``, ``status``, ``checkout``, ``push`` …) as functions.

Each takes a :class:`~cairn.data.repo.Repo`, does its work through ``cairn._core.store``
and returns what happened; ``cairn.cli`` prints it. Errors a user can cause raise
:class:`~cairn.data.repo.CairnError` (or OSError/ValueError from the core) with a message
that names the file and what to do.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .repo import (POINTER_SUFFIX, CairnError, Repo, _git, _store, manifest_entries,
                   parse_pointer, scan_directory)

Progress = Callable[[str, int], Callable[[int], None] | None]
"""progress(description, total_bytes) -> callback(done_bytes), or None for no progress."""


def _no_progress(description: str, total: int):
    return None


@dataclass
class AddResult:
    path: str
    pointer: str
    kind: str
    size: int
    files: int
    new_bytes: int
    stored_bytes: int
    seconds: float
    unchanged: bool = False     # already recorded by its pointer: nothing was read


def add(repo: Repo, paths: list[str], progress: Progress = _no_progress, level: int = 0) -> list[AddResult]:
    """Stores files or folders in the cache and writes their pointer files. New data is
    compressed at zstd ``level``, or with 0 stored raw for compaction to compress
    (``cairn.data.compact``; the CLI starts it in the background)."""
    if not paths:
        raise CairnError("nothing to add: give one or more files or folders")
    targets = []
    for given in paths:
        rel = repo.rel(given)
        if rel.endswith(POINTER_SUFFIX):
            raise CairnError(f"'{given}' is a cairn pointer file; add the data it names instead")
        full = repo.root / rel
        if full.is_symlink():
            raise CairnError(f"cannot add '{given}': it is a symlink (track the file it points to)")
        if not full.exists():
            raise CairnError(f"cannot add '{given}': no such file or folder")
        if repo.is_tracked_by_git(rel):
            raise CairnError(
                f"'{rel}' is already tracked by git; run `git rm -r --cached {rel}` first so "
                "cairn can track it instead"
            )
        targets.append((given, rel, full))
    results = []
    with repo.lock(sweep=True):
        cache = repo.cache()
        adder = _store.Adder.make(cache, str(repo.tmp), level)
        staged, folders = [], []
        for given, rel, full in targets:
            start = time.perf_counter()
            before = adder.stats()
            is_dir = full.is_dir()
            scan = None
            if is_dir:
                unchanged, scan = _unchanged_dir(repo, cache, rel, full)
            else:
                unchanged = _unchanged_file(repo, cache, rel, full)
            if unchanged is not None:
                kind, oid, size, executable, files = parse_pointer(unchanged, rel + POINTER_SUFFIX)
                results.append(AddResult(rel, rel + POINTER_SUFFIX, kind, size,
                                         files if kind == "dir" else 1, 0, 0,
                                         time.perf_counter() - start, unchanged=True))
                continue
            hashed_at = time.time_ns()
            total = _tree_size(full) if is_dir else full.stat().st_size
            callback = progress(f"add {rel}", total)
            try:
                if is_dir:  # files the stat cache vouches for are not read again
                    pointer = adder.add_directory(str(full), callback,
                                                  repo.known_oids(full, scan))
                else:
                    pointer = adder.add_file(str(full), callback)
            except ValueError as e:
                raise CairnError(str(e)) from None
            after = adder.stats()
            kind, oid, size, executable, files = parse_pointer(pointer, rel + POINTER_SUFFIX)
            if kind == "file":
                repo.remember_oid(full, oid, hashed_at)
            elif scan:
                folders.append((full, scan, (oid, size, files), hashed_at))
            staged.append((rel, pointer))
            results.append(AddResult(
                rel, rel + POINTER_SUFFIX, kind, size, files if kind == "dir" else 1,
                after["new_bytes"] - before["new_bytes"],
                after["stored_bytes"] - before["stored_bytes"], time.perf_counter() - start))
        # Data first, durable; pointers after: a crash never leaves a pointer without data.
        start = time.perf_counter()
        adder.commit()
        committed = time.perf_counter() - start
        for r in results:  # each path's data is durable only now
            if not r.unchanged:
                r.seconds += committed
        for full, scan, recorded, hashed_at in folders:  # their files' oids, from the manifest
            files = {p: o for p, o, _, _ in manifest_entries(cache, recorded[0], str(full))}
            repo.remember_tree(full, scan, recorded, hashed_at, files)
        for rel, pointer in staged:
            repo.add_to_gitignore(rel)
            repo.write_pointer(rel + POINTER_SUFFIX, pointer)
        repo.save_state()
    return results


def _recorded_pointer(repo: Repo, rel: str) -> tuple[str, tuple] | None:
    """(text, parsed fields) of the pointer that records ``rel`` now, or None if there is
    none or it cannot be read (add then writes a new one)."""
    if not (repo.root / (rel + POINTER_SUFFIX)).is_file():
        return None
    try:
        text = repo.read_pointer(rel + POINTER_SUFFIX)
    except CairnError:
        return None
    return text, parse_pointer(text, rel + POINTER_SUFFIX)


def _unchanged_file(repo: Repo, cache, rel: str, full: Path) -> str | None:
    """The current pointer text if the file is already recorded by it (per the stat cache)
    and its data is in the cache: `cairn add` of an unchanged file is then instant."""
    pointer = None if full.is_symlink() else _recorded_pointer(repo, rel)
    if pointer is None:
        return None
    text, (kind, oid, size, executable, _) = pointer
    st = full.stat()
    if kind != "file" or st.st_size != size or bool(st.st_mode & 0o100) != executable:
        return None
    return text if repo.cached_oid(full) == oid and cache.contains(oid) else None


def _unchanged_dir(repo: Repo, cache, rel: str, full: Path):
    """(the current pointer text if the folder is already recorded by it, per the stat
    cache, and its manifest is in the cache, else None; the folder's scan now)."""
    recorded, scan = repo.cached_tree(full)
    pointer = _recorded_pointer(repo, rel) if recorded is not None else None
    if pointer is None:
        return None, scan
    text, (kind, oid, size, _, files) = pointer
    if kind == "dir" and (oid, size, files) == recorded and cache.contains(oid):
        return text, scan
    return None, scan


def _tree_size(folder: Path) -> int:
    total = 0
    for dirpath, _, names in os.walk(folder):
        for n in names:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_size
            except OSError:
                pass
    return total


@dataclass
class Status:
    path: str           # the data path
    state: str          # "ok", "modified", "missing", "not in cache"
    detail: str = ""


def _current_oid(repo: Repo, full: Path, kind: str) -> tuple[str, int] | None:
    """(oid, size) of what is in the work tree now, or None if nothing is there."""
    if kind == "file":
        if not full.is_file() or full.is_symlink():
            return None
        return repo.file_oid(full), full.stat().st_size
    if not full.is_dir():
        return None
    oid, size, _ = repo.tree_oid(full)
    return oid, size


def status(repo: Repo, paths: list[str] | None = None) -> list[Status]:
    """How the work tree differs from the pointers (and what the cache lacks)."""
    out = []
    cache = repo.cache()
    for pointer_rel in repo.worktree_pointers(paths):
        data_rel = pointer_rel[: -len(POINTER_SUFFIX)]
        text = repo.read_pointer(pointer_rel)
        kind, oid, size, _, _ = parse_pointer(text, pointer_rel)
        full = repo.data_path(pointer_rel)
        try:
            now = _current_oid(repo, full, kind)
        except CairnError as e:  # e.g. a file name in the folder that is not UTF-8
            out.append(Status(data_rel, "cannot check", str(e)))
            continue
        if now is None:
            state = Status(data_rel, "missing", "run `cairn checkout` to restore it")
        elif now[0] != oid:
            state = Status(data_rel, "modified", f"{_fmt(size)} -> {_fmt(now[1])}; `cairn add` to record it")
        else:
            state = Status(data_rel, "ok")
        if state.state != "modified" and not cache.contains(oid):
            state = Status(data_rel, "not in cache", "run `cairn fetch` to get its data")
        out.append(state)
    repo.save_state()
    return out


@dataclass
class CheckoutResult:
    path: str
    written: int        # files written (0: already up to date)


def checkout(repo: Repo, paths: list[str] | None = None, force: bool = False,
             progress: Progress = _no_progress) -> list[CheckoutResult]:
    """Materialises the data the current pointers name. Refuses to overwrite data whose
    content is not in the cache (it would be lost) unless ``force``."""
    results = []
    with repo.lock(sweep=True):
        cache = repo.cache()
        materializer = _store.Materializer.make(cache)
        pointers = repo.worktree_pointers(paths)
        plans = []
        for pointer_rel in pointers:
            text = repo.read_pointer(pointer_rel)
            kind, oid, size, _, _ = parse_pointer(text, pointer_rel)
            full = repo.data_path(pointer_rel)
            if kind == "dir":  # refuses names that are not UTF-8 before anything is written
                _manifest_or_none(cache, oid, pointer_rel)
            if not force:
                _refuse_unsaved(repo, cache, full, kind, oid, pointer_rel)
            plans.append((pointer_rel, text, kind, oid, size, full))
        for pointer_rel, text, kind, oid, size, full in plans:
            data_rel = pointer_rel[: -len(POINTER_SUFFIX)]
            if kind == "file" and full.is_file() and full.stat().st_size == size \
                    and repo.file_oid(full) == oid:
                results.append(CheckoutResult(data_rel, 0))
                continue
            if kind == "file" and full.is_dir():
                raise CairnError(f"cannot check out '{data_rel}': a folder is in the way")
            if kind == "dir" and full.exists() and not full.is_dir():
                raise CairnError(f"cannot check out '{data_rel}': a file is in the way")
            callback = progress(f"checkout {data_rel}", size)
            started = time.time_ns()
            try:
                written = materializer.write(text, pointer_rel, str(full), callback)
            except (OSError, LookupError, ValueError) as e:
                raise CairnError(f"cannot check out '{data_rel}': {e}") from None
            if kind == "file":
                repo.remember_oid(full, oid, started)
            results.append(CheckoutResult(data_rel, written))
        repo.save_state()
    return results


def _refuse_unsaved(repo: Repo, cache, full: Path, kind: str, oid: str, pointer_rel: str) -> None:
    data_rel = pointer_rel[: -len(POINTER_SUFFIX)]
    hint = (f"; `cairn add {data_rel}` to keep them, or `cairn checkout --force` to discard them")
    if kind == "file":
        if full.is_file() and not full.is_symlink():
            now = repo.file_oid(full)
            if now != oid and not cache.contains(now):
                raise CairnError(f"'{data_rel}' has changes that are not in the cache{hint}")
        return
    if not full.is_dir():
        return
    wanted = {}
    for path, file_oid, _, _ in _manifest_or_none(cache, oid, pointer_rel):
        wanted[path] = file_oid
    for path, file_oid, _, _ in scan_directory(full, pointer_rel):
        if path in wanted and wanted[path] != file_oid and not cache.contains(file_oid):
            raise CairnError(f"'{data_rel}/{path}' has changes that are not in the cache{hint}")


def _manifest_or_none(cache, oid: str, where: str) -> list:
    if not cache.contains(oid):
        return []
    return manifest_entries(cache, oid, where)


@dataclass
class Version:
    commit: str
    date: str
    subject: str
    oid: str
    size: int
    files: int


def log(repo: Repo, path: str) -> list[Version]:
    """The versions of a tracked path across git history, newest first."""
    rel = repo.rel(path)
    if rel.endswith(POINTER_SUFFIX):
        rel = rel[: -len(POINTER_SUFFIX)]
    pointer_rel = rel + POINTER_SUFFIX
    out = _git(repo.root, "log", "--format=%H%x1f%ad%x1f%s", "--date=short", "--", pointer_rel).decode()
    versions = []
    for line in out.splitlines():
        commit, date, subject = line.split("\x1f", 2)
        text = _git(repo.root, "show", f"{commit}:{pointer_rel}", check=False).decode("utf-8", "replace")
        if not text:
            versions.append(Version(commit, date, subject, "", 0, 0))  # deleted in this commit
            continue
        kind, oid, size, _, files = parse_pointer(text, f"{pointer_rel} at {commit[:12]}")
        versions.append(Version(commit, date, subject, oid, size, files if kind == "dir" else 1))
    if not versions:
        raise CairnError(f"'{rel}' has no committed versions (no {pointer_rel} in git history)")
    return versions


@dataclass
class Change:
    path: str
    change: str         # "added", "deleted", "modified"
    old_size: int
    new_size: int


def diff(repo: Repo, path: str, rev: str = "HEAD") -> list[Change]:
    """What changed in a tracked path between ``rev`` and the work tree (file by file for a
    folder)."""
    rel = repo.rel(path)
    if rel.endswith(POINTER_SUFFIX):
        rel = rel[: -len(POINTER_SUFFIX)]
    pointer_rel = rel + POINTER_SUFFIX
    old_text = repo.pointers_at(rev).get(pointer_rel)
    full = repo.data_path(pointer_rel)
    old = parse_pointer(old_text, f"{pointer_rel} at {rev}") if old_text else None
    kind = old[0] if old else ("dir" if full.is_dir() else "file")
    if kind == "file":
        now = _current_oid(repo, full, "file")
        if old is None and now is None:
            raise CairnError(f"'{rel}' is neither in {rev} nor in the work tree")
        if old is None:
            return [Change(rel, "added", 0, now[1])]
        if now is None:
            return [Change(rel, "deleted", old[2], 0)]
        return [] if now[0] == old[1] else [Change(rel, "modified", old[2], now[1])]
    old_entries = {}
    if old:
        cache = repo.cache()
        if not cache.contains(old[1]):
            from .files import _ensure

            _ensure(repo, old_text, pointer_rel, top_only=True)  # just the listing
        old_entries = {p: (o, s) for p, o, s, _ in
                       manifest_entries(cache, old[1], f"{pointer_rel} at {rev}")}
    new_entries = {}
    if full.is_dir():
        new_entries = {p: (o, s) for p, o, s, _ in scan_directory(full, rel)}
    changes = []
    for p in sorted(set(old_entries) | set(new_entries)):
        if p not in new_entries:
            changes.append(Change(f"{rel}/{p}", "deleted", old_entries[p][1], 0))
        elif p not in old_entries:
            changes.append(Change(f"{rel}/{p}", "added", 0, new_entries[p][1]))
        elif old_entries[p][0] != new_entries[p][0]:
            changes.append(Change(f"{rel}/{p}", "modified", old_entries[p][1], new_entries[p][1]))
    return changes


def _fmt(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
