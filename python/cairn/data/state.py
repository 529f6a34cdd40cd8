"""The stat cache of a cairn repository (``.cairn/state``): oids of work-tree files and
folders that did not change since they were hashed, trusted only when their stat says so
(it is a cache anyone may edit: garbage in it costs a re-hash, never an exception). Mixed
into :class:`~cairn.data.repo.Repo`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
import sys
import time
from pathlib import Path

from .. import _core
from .common import TEMP_PREFIX, not_utf8

_store = _core.store


def _file_entry(st: os.stat_result, oid: str, hashed_at_ns: int) -> list:
    """A file's stat-cache entry: its stat when it was hashed, its oid, and when."""
    return [st.st_size, st.st_mtime_ns, st.st_ino, oid, hashed_at_ns, st.st_ctime_ns]


def _well_formed(entry, kinds: tuple) -> bool:
    """Whether a stat-cache entry has the shape of one (the file is a cache anyone may have
    edited: garbage in it must cost a re-hash, never an exception)."""
    return isinstance(entry, list) and len(entry) == len(kinds) and all(
        isinstance(v, k) and not isinstance(v, bool) for v, k in zip(entry, kinds))


_FILE_ENTRY = (int, int, int, str, int, int)   # size, mtime, inode, oid, hashed at, ctime
_TREE_ENTRY = (str, str, int, int, int, int)   # signature, manifest id, size, files, hashed at, newest


def _vouched_oid(entry: list | None, st: os.stat_result) -> str | None:
    """The entry's oid if the file's stat now is the one it was hashed with (ctime too: an
    in-place edit that restores the mtime, rsync -t or touch -r, changes it) and the file
    was already 2 s old then; else None."""
    if _well_formed(entry, _FILE_ENTRY) and entry[:3] == [st.st_size, st.st_mtime_ns, st.st_ino] \
            and entry[5] == st.st_ctime_ns and st.st_mtime_ns + 2_000_000_000 < entry[4]:
        return entry[3]
    return None


@dataclasses.dataclass
class TreeScan:
    """A tracked folder's files as ``stat`` sees them (``Repo.scan_tree``)."""

    signature: str                          # SHA-256 over every file's path and stat fields
    newest: int                             # the newest mtime_ns among them
    files: dict[str, os.stat_result]        # relative path -> stat


class StateMixin:
    """The stat-cache methods of :class:`~cairn.data.repo.Repo`."""

    root: Path
    dir: Path

    def _load_state(self) -> dict:
        if self._state is None:
            path = self.dir / "state"
            try:
                self._state = json.loads(path.read_bytes())
                problem = None if isinstance(self._state, dict) else \
                    f"a JSON {type(self._state).__name__}, not an object"
            except FileNotFoundError:
                self._state, problem = {}, None
            except OSError as e:
                self._state, problem = {}, e.strerror
            except ValueError:
                self._state, problem = {}, "not valid JSON: truncated or overwritten"
            if problem:
                # Only a cache: files are hashed again and it is written anew.
                print(f"cairn: {path} (the stat cache) is unusable ({problem}); rebuilding it",
                      file=sys.stderr)
                self._state, self._state_dirty = {}, True
        return self._state

    def file_oid(self, full: Path) -> str:
        """SHA-256 of a work-tree file, from the stat cache when size, mtime and inode are
        unchanged (and the file was already 2 s old when it was hashed, so an edit within
        the file system's timestamp granularity is never missed)."""
        cached = self.cached_oid(full)
        if cached is not None:
            return cached
        st = full.stat()
        key = (str(full), st.st_size, st.st_mtime_ns, st.st_ino)
        if key in self._hashed:
            return self._hashed[key]
        now = time.time_ns()
        oid = _store.hash_file(str(full))
        self._hashed[key] = oid
        self._load_state()[full.relative_to(self.root).as_posix()] = _file_entry(st, oid, now)
        self._state_dirty = True
        return oid

    def cached_oid(self, full: Path) -> str | None:
        """The stat cache's oid for a work-tree file, or None (no hashing)."""
        entry = self._load_state().get(full.relative_to(self.root).as_posix())
        return _vouched_oid(entry, full.stat())

    def remember_oid(self, full: Path, oid: str, hashed_at_ns: int) -> None:
        self._load_state()[full.relative_to(self.root).as_posix()] = \
            _file_entry(full.stat(), oid, hashed_at_ns)
        self._state_dirty = True

    # -- the same for tracked folders: their manifest id while no file in them changed, and
    # each file's oid while it did not change (so an edit re-hashes only the edited files)
    def scan_tree(self, full: Path) -> "TreeScan | None":
        """Every file below ``full`` with its stat, and a signature over them (path, size,
        executable bit, mtime, ctime, inode), from stat calls only. None when something in
        the folder cannot be tracked (a symlink, a socket ...): the full scan reports it."""
        files, rows, newest, stack = {}, [], 0, [(full, "")]
        while stack:
            folder, prefix = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                return None
            for e in entries:
                if e.is_symlink():
                    return None
                rel = prefix + e.name
                try:
                    e.name.encode("utf-8")
                except UnicodeEncodeError:
                    raise not_utf8(os.path.relpath(os.path.join(full, rel), self.root)) from None
                if e.is_dir(follow_symlinks=False):
                    stack.append((Path(e.path), rel + "/"))
                    continue
                if e.name.startswith(TEMP_PREFIX):
                    continue  # a killed write: add skips such files too
                st = e.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode):
                    return None
                files[rel] = st
                rows.append(f"{rel}\0{st.st_size} {st.st_mode & 0o100} {st.st_mtime_ns} "
                            f"{st.st_ctime_ns} {st.st_ino}")
                newest = max(newest, st.st_mtime_ns)
        rows.sort()
        digest = hashlib.sha256("\n".join(rows).encode("utf-8", "surrogateescape")).hexdigest()
        return TreeScan(digest, newest, files)

    def cached_tree(self, full: Path) -> tuple[tuple[str, int, int] | None, "TreeScan | None"]:
        """(the stat cache's (manifest id, total size, file count) for a work-tree folder or
        None, the folder's scan now). Trusted only if no file in it changed and the newest
        was already 2 s old when it was hashed (as for files)."""
        scan = self.scan_tree(full)
        entry = self._load_state().get(full.relative_to(self.root).as_posix() + "/")
        if scan and _well_formed(entry, _TREE_ENTRY) and entry[0] == scan.signature \
                and scan.newest + 2_000_000_000 < entry[4]:
            return (entry[1], entry[2], entry[3]), scan
        return None, scan

    def known_oids(self, full: Path, scan: "TreeScan | None") -> dict[str, str]:
        """{relative path: oid} of the folder's files the stat cache vouches for (same
        size, mtime, inode and ctime as when hashed, and 2 s old then)."""
        if scan is None:
            return {}
        state, prefix, known = self._load_state(), full.relative_to(self.root).as_posix() + "/", {}
        for rel, st in scan.files.items():
            oid = _vouched_oid(state.get(prefix + rel), st)
            if oid is not None:
                known[rel] = oid
        return known

    def tree_oid(self, full: Path) -> tuple[str, int, int]:
        """(manifest id, total size, file count) of a work-tree folder, as `cairn add` would
        record it: from the stat cache while no file in it changed (stat calls only), else
        by hashing the files the stat cache cannot vouch for."""
        recorded, scan = self.cached_tree(full)
        if recorded:
            return recorded
        hashed_at = time.time_ns()
        oid, total, count, files = _store.manifest_id(str(full), self.known_oids(full, scan))
        if scan:
            self.remember_tree(full, scan, (oid, total, count), hashed_at, files)
        return oid, total, count

    def remember_tree(self, full: Path, scan: "TreeScan", recorded: tuple[str, int, int],
                      hashed_at_ns: int, files: dict[str, str]) -> None:
        """Records a folder's manifest id and its files' oids (``files``: relative path ->
        oid) with the stats of ``scan``, taken before they were hashed."""
        state, prefix = self._load_state(), full.relative_to(self.root).as_posix() + "/"
        state[prefix] = [scan.signature, *recorded, hashed_at_ns, scan.newest]
        for rel, oid in files.items():
            st = scan.files.get(rel)
            if st is not None:
                state[prefix + rel] = _file_entry(st, oid, hashed_at_ns)
        self._state_dirty = True

    def prune_state(self) -> int:
        """Forgets stat-cache entries of paths that no longer exist; returns how many."""
        state = self._load_state()
        gone = [k for k in state if not (self.root / k.rstrip("/")).exists()]
        for k in gone:
            del state[k]
        self._state_dirty |= bool(gone)
        return len(gone)

    def save_state(self) -> None:
        if not self._state_dirty:
            return
        tmp = self.dir / f"{TEMP_PREFIX}state-{os.getpid()}"
        try:
            tmp.write_text(json.dumps(self._state))
            os.replace(tmp, self.dir / "state")
        except OSError:
            pass  # only a cache: losing it costs a re-hash
        self._state_dirty = False

    # -- paths -------------------------------------------------------------------------------
