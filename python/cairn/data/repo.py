"""A cairn repository: a git work tree with a ``.cairn`` folder (docs/store-format.md).

This module knows the layout, git, pointer files, ``.gitignore`` entries, the lock and the
remotes. The heavy work (hashing, chunking, packs, transfers) is in ``cairn._core.store``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from .. import _core, filesystems

_store = _core.store

POINTER_SUFFIX = ".cairn"
TEMP_PREFIX = ".cairn-tmp-"  # temporary files of the store's writes (never tracked)

__all__ = ["CairnError", "Repo", "POINTER_SUFFIX"]


def write_durably(path: Path, text: str) -> None:
    """Writes a small file crash-safely: a temporary file next to it, fsync, rename, fsync
    of the folder (as the C++ store writes everything)."""
    tmp = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync folders; the rename stands
    finally:
        os.close(fd)


class CairnError(Exception):
    """A store command could not do what was asked; the message says why and what to do."""


def _git(root: Path | str, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, input=input, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, check=False,
        )
    except FileNotFoundError:
        raise CairnError("git is not installed; cairn keeps its pointers in git") from None
    if check and proc.returncode != 0:
        raise CairnError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


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


def _shown(name: str) -> str:
    """A file name as text, its bytes that are not UTF-8 shown as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def not_utf8(path: str) -> CairnError:
    return CairnError(f"the file name '{_shown(path)}' is not valid UTF-8: cairn records names "
                      "as UTF-8 (docs/store-format.md); rename the file")


def first_non_utf8_name(folder: Path) -> str | None:
    """The first path below ``folder`` whose name is not valid UTF-8, or None."""
    for dirpath, dirnames, names in os.walk(folder):
        for n in dirnames + names:
            try:
                n.encode("utf-8")
            except UnicodeEncodeError:
                return os.path.join(dirpath, n)
    return None


def scan_directory(full: Path, where: str) -> list:
    """``_store.scan_directory`` of a work-tree folder; a file name that is not UTF-8 is a
    CairnError naming it (not a bare decoding error)."""
    try:
        return _store.scan_directory(str(full))
    except UnicodeDecodeError:
        bad = first_non_utf8_name(full)
        raise CairnError(f"{where}: {not_utf8(bad or str(full))}") from None


def manifest_entries(store, oid: str, where: str) -> list:
    """The entries of manifest ``oid`` in ``store`` (path, oid, size, executable). A manifest
    naming a file that is not UTF-8 (none that `cairn add` writes), a damaged one, or one
    whose entries are refused (paths that escape the folder, duplicates ...) is a CairnError
    naming ``where``, the manifest and what is wrong."""
    try:
        return _store.Materializer.make(store, 1).read_manifest(oid)
    except UnicodeDecodeError:
        bad = []
        for line in bytes(store.read(oid)).split(b"\n")[1:]:
            fields = line.split(b" ", 3)
            if len(fields) == 4:
                try:
                    fields[3].decode("utf-8")
                except UnicodeDecodeError:
                    bad.append(fields[3].decode("utf-8", "backslashreplace"))
        names = ", ".join(f"'{b}'" for b in bad[:5]) or "?"
        raise CairnError(
            f"{where}: its manifest {oid} lists file name(s) that are not valid UTF-8: "
            f"{names}; no `cairn add` writes such a "
            "manifest. Rename the files where the folder was added and `cairn add` it "
            "again") from None
    except ValueError as e:  # damaged here, or crafted: paths that escape, unsorted, ...
        raise CairnError(
            f"{where}: {e}\n(`cairn fsck` lists damage in the cache; a manifest that verifies "
            f"but lists such entries was crafted: `git log -- {where}` shows who committed "
            "it)") from None


@dataclasses.dataclass
class TreeScan:
    """A tracked folder's files as ``stat`` sees them (``Repo.scan_tree``)."""

    signature: str                          # SHA-256 over every file's path and stat fields
    newest: int                             # the newest mtime_ns among them
    files: dict[str, os.stat_result]        # relative path -> stat


class Repo:
    """The cairn repository around a folder. Use :meth:`find` or :meth:`init`.

    Paths given to methods may be absolute or relative to the current folder; paths in
    results are relative to the repository root, with ``/``.
    """

    def __init__(self, root: Path):
        self.root = root
        self.dir = root / ".cairn"
        self.packs = self.dir / "cache" / "packs"
        self.tmp = self.dir / "tmp"
        self._cache = None
        self._state: dict | None = None
        self._state_dirty = False
        self._hashed: dict[tuple, str] = {}  # files hashed by this process, by stat

    # -- finding and creating ------------------------------------------------------------
    @staticmethod
    def _git_root(start: Path) -> Path:
        out = _git(start, "rev-parse", "--show-toplevel", check=False)
        if not out.strip():
            raise CairnError(
                f"'{start}' is not inside a git work tree; run `git init` (and then "
                "`cairn init`) first"
            )
        return Path(out.decode().strip()).resolve()

    @classmethod
    def find(cls, start: str | os.PathLike | None = None) -> "Repo":
        root = cls._git_root(Path(start or os.getcwd()).resolve())
        if not (root / ".cairn").is_dir():
            raise CairnError(f"no cairn repository in '{root}'; run `cairn init` there first")
        return cls(root)

    @classmethod
    def init(cls, start: str | os.PathLike | None = None) -> tuple["Repo", bool]:
        """Creates ``.cairn`` in the git work tree around ``start``; returns (repo, created)."""
        root = cls._git_root(Path(start or os.getcwd()).resolve())
        repo = cls(root)
        created = not repo.dir.is_dir()
        repo.packs.mkdir(parents=True, exist_ok=True)
        repo.tmp.mkdir(parents=True, exist_ok=True)
        ignore = repo.dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# cairn's local cache and scratch space (never committed)\n"
                              "/cache/\n/tmp/\n/lock\n/state\n")
        config = repo.dir / "config"
        if not config.exists():
            config.write_text("")
        repo.ignore_temp_files()
        return repo, created

    # -- the local cache -------------------------------------------------------------------
    def cache(self):
        """The local object store (``.cairn/cache/packs``), opened once per Repo."""
        if self._cache is None:
            self.packs.mkdir(parents=True, exist_ok=True)
            self.tmp.mkdir(parents=True, exist_ok=True)
            self._cache = _store.ObjectStore.open(str(self.packs))
        return self._cache

    @contextlib.contextmanager
    def lock(self, exclusive: bool = False, sweep: bool = False) -> Iterator[None]:
        """Shared for commands that only add; exclusive for what deletes packs (gc, dropping
        damaged copies, compaction's last step). Says so when it has to wait. The cache is
        opened afresh inside: a pack another process replaced meanwhile is seen as gone.
        With ``sweep``, first removes what killed commands left (:meth:`leftovers`) if no
        other cairn command runs on the repository now."""
        self.dir.mkdir(exist_ok=True)
        if sweep:
            self.ignore_temp_files()
        with open(self.dir / "lock", "a+") as f:
            if sweep and not exclusive:
                with self._alone(f) as alone:
                    if alone:
                        self._remove(self._leftover_candidates())
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            try:
                fcntl.flock(f, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                print("cairn: waiting for another cairn command on this repository "
                      "(or a background compaction) to finish ...", file=sys.stderr, flush=True)
                fcntl.flock(f, mode)
            self._cache = None
            try:
                if sweep and exclusive:
                    self._remove(self._leftover_candidates())
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # -- what killed commands leave: temporary files and packs without an index -----------
    # Every cairn command that writes into the cache or the work tree holds the repository
    # lock (shared) while it writes, so when the lock can be taken exclusively, no writer of
    # any such file is alive: they are leftovers of killed commands, never files in use.
    @contextlib.contextmanager
    def _alone(self, f) -> Iterator[bool]:
        """Whether the exclusive lock could be had at once on ``f`` (held inside if so)."""
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

    def _leftover_candidates(self) -> list[Path]:
        """Files a killed command may have left: everything in .cairn/tmp, temporary files
        in .cairn/, the cache's pack folder, beside pointer files and data files and inside
        tracked folders, and packs whose index was never written (not part of the store)."""
        found: list[Path] = []
        if self.tmp.is_dir():
            found += [p for p in self.tmp.rglob("*") if not p.is_dir()]
        found += list(self.dir.glob(TEMP_PREFIX + "*")) + list(self.dir.glob("state.tmp-*"))
        if self.packs.is_dir():
            found += list(self.packs.glob(TEMP_PREFIX + "*"))
            found += [p for p in self.packs.glob("pack-*.pack")
                      if not p.with_suffix(".idx").exists()]
        try:
            pointers = self.worktree_pointers()
        except CairnError:
            pointers = []
        folders = {(self.root / p).parent for p in pointers}
        for folder in folders:
            found += list(folder.glob(TEMP_PREFIX + "*"))
        for p in pointers:
            data = self.root / p[: -len(POINTER_SUFFIX)]
            if data.is_dir() and not data.is_symlink():
                for dirpath, dirnames, names in os.walk(data):
                    found += [Path(dirpath, n) for n in names if n.startswith(TEMP_PREFIX)]
        return sorted(set(p for p in found if p.is_file() and not p.is_symlink()))

    def leftovers(self) -> list[tuple[Path, int]] | None:
        """(path, size) of every file killed commands left (see :meth:`lock`), or None when
        another cairn command runs now (its files in use cannot be told apart)."""
        self.dir.mkdir(exist_ok=True)
        with open(self.dir / "lock", "a+") as f, self._alone(f) as alone:
            if not alone:
                return None
            out = []
            for p in self._leftover_candidates():
                try:
                    out.append((p, p.stat().st_size))
                except OSError:
                    pass
            return out

    @staticmethod
    def _remove(paths: list[Path]) -> None:
        for p in paths:
            try:
                p.unlink()
            except OSError:
                pass  # gone already, or not ours to remove: it is reported again

    def ignore_temp_files(self) -> None:
        """Makes git ignore the store's temporary files in this clone (.git/info/exclude),
        so `git add -A` never commits one that a killed command left."""
        out = _git(self.root, "rev-parse", "--git-path", "info/exclude", check=False).decode().strip()
        if not out:
            return
        exclude = Path(out) if os.path.isabs(out) else self.root / out
        pattern = TEMP_PREFIX + "*"
        try:
            text = exclude.read_text() if exclude.exists() else ""
            if pattern in text.splitlines():
                return
            exclude.parent.mkdir(parents=True, exist_ok=True)
            if text and not text.endswith("\n"):
                text += "\n"
            write_durably(exclude, text + "# temporary files of cairn's writes\n" + pattern + "\n")
        except OSError:
            pass  # git then shows them; status names them and the next command removes them

    # -- the stat cache: oids of work-tree files that did not change since they were hashed
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
    def rel(self, path: str | os.PathLike) -> str:
        """``path`` relative to the root, refusing anything that resolves outside the
        repository (``..``, absolute paths elsewhere, symlinked folders) or inside .git or
        .cairn."""
        p = Path(path)
        if not p.is_absolute():
            p = Path(os.getcwd()) / p
        p = Path(os.path.normpath(p))
        # The folder must resolve inside the root: a symlinked folder must not lead out.
        parent = p.parent.resolve()
        if parent != self.root and self.root not in parent.parents:
            raise CairnError(f"'{path}' is outside the repository '{self.root}'; refusing it")
        full = parent / p.name
        rel = full.relative_to(self.root).as_posix()
        if rel in ("", ".") or rel.split("/")[0] in (".git", ".cairn"):
            raise CairnError(f"'{path}' cannot be tracked (it is the repository itself, .git or .cairn)")
        _store.validate_relative_path(rel, str(path))
        return rel

    def data_path(self, pointer_rel: str) -> Path:
        """Where the data of a pointer lives; refused if a symlinked folder leads out."""
        _store.validate_relative_path(pointer_rel, pointer_rel)
        data_rel = pointer_rel[: -len(POINTER_SUFFIX)]
        full = self.root / data_rel
        parent = full.parent.resolve()
        if parent != self.root and self.root not in parent.parents:
            raise CairnError(
                f"{pointer_rel}: its data path '{data_rel}' leads outside the repository "
                "(through a symlink); refusing it"
            )
        if full.is_symlink():
            raise CairnError(f"{pointer_rel}: '{data_rel}' is a symlink; refusing to write through it")
        return full

    # -- pointers ------------------------------------------------------------------------------
    def read_pointer(self, pointer_rel: str) -> str:
        path = self.root / pointer_rel
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            raise CairnError(f"{pointer_rel}: no such pointer file") from None
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError:
            raise CairnError(f"{pointer_rel}: malformed cairn pointer (not text)") from None
        parse_pointer(decoded, pointer_rel)
        return decoded

    def write_pointer(self, pointer_rel: str, text: str) -> None:
        write_durably(self.root / pointer_rel, text)

    def worktree_pointers(self, paths: list[str] | None = None) -> list[str]:
        """Pointer files in the work tree (committed or not, not ignored), optionally only
        those for the given data paths or folders."""
        out = _git(self.root, "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                   "--", f"*{POINTER_SUFFIX}")
        found = sorted({p for p in out.decode().split("\0") if p and (self.root / p).is_file()})
        if paths is None:
            return found
        wanted = []
        for given in paths:
            rel = self.rel(given)
            if rel.endswith(POINTER_SUFFIX):
                rel = rel[: -len(POINTER_SUFFIX)]
            matches = [p for p in found
                       if p[: -len(POINTER_SUFFIX)] == rel or p.startswith(rel.rstrip("/") + "/")]
            if not matches:
                raise CairnError(f"'{given}' is not tracked by cairn (no {rel}{POINTER_SUFFIX})")
            wanted.extend(m for m in matches if m not in wanted)
        return wanted

    def pointers_at(self, rev: str) -> dict[str, str]:
        """{pointer path: text} for every pointer file in commit ``rev``."""
        commit = self.resolve_rev(rev)
        out = _git(self.root, "ls-tree", "-r", "-z", commit)
        blobs = {}
        for line in out.decode().split("\0"):
            if not line:
                continue
            meta, path = line.split("\t", 1)
            mode, kind, sha = meta.split()
            if kind == "blob" and path.endswith(POINTER_SUFFIX):
                blobs[path] = sha
        texts = self._cat_blobs(list(blobs.values()))
        return {path: texts[sha] for path, sha in blobs.items()}

    def resolve_rev(self, rev: str) -> str:
        out = _git(self.root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        if not out.strip():
            raise CairnError(f"unknown git revision '{rev}'")
        return out.decode().strip()

    def _cat_blobs(self, shas: list[str]) -> dict[str, str]:
        if not shas:
            return {}
        out = _git(self.root, "cat-file", "--batch", input=("\n".join(shas) + "\n").encode())
        texts, pos = {}, 0
        for sha in shas:
            header_end = out.index(b"\n", pos)
            header = out[pos:header_end].split()
            if len(header) < 3 or header[1] == b"missing":
                raise CairnError(f"git object {sha} is missing from the repository; run "
                                 "`git fsck` (gc keeps everything until git is healthy)")
            size = int(header[2])
            texts[sha] = out[header_end + 1: header_end + 1 + size].decode("utf-8", "replace")
            pos = header_end + 1 + size + 1
        return texts

    def pointers_in_history(self) -> list[tuple[str, str]]:
        """(text, where) of every distinct pointer in any commit of any branch or tag, in the
        index, and in the work tree: everything gc must keep."""
        has_commits = bool(_git(self.root, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
                           .strip()) or bool(_git(self.root, "for-each-ref").strip())
        # A git failure must stop gc, never read as "nothing to keep".
        out = _git(self.root, "rev-list", "--all", "--objects").decode() if has_commits else ""
        shas = {}
        for line in out.splitlines():
            parts = line.split(" ", 1)
            if len(parts) == 2 and parts[1].endswith(POINTER_SUFFIX):
                shas.setdefault(parts[0], parts[1])
        staged = _git(self.root, "ls-files", "-s", "-z", "--", f"*{POINTER_SUFFIX}").decode()
        for entry in staged.split("\0"):
            if entry:
                meta, path = entry.split("\t", 1)
                shas.setdefault(meta.split()[1], path)
        texts = self._cat_blobs(list(shas))
        result = {}
        for sha, path in shas.items():
            try:
                parse_pointer(texts[sha], f"{path} (git object {sha[:12]})")
            except CairnError:
                continue  # a malformed pointer in history names nothing to keep
            result.setdefault(texts[sha], f"{path} (git object {sha[:12]})")
        for p in self.worktree_pointers():
            result.setdefault(self.read_pointer(p), p)
        return [(text, where) for text, where in result.items()]

    def add_to_gitignore(self, data_rel: str) -> None:
        """Adds ``/name`` to the .gitignore next to the data (under the repository lock)."""
        folder, _, name = data_rel.rpartition("/")
        ignore = self.root / folder / ".gitignore" if folder else self.root / ".gitignore"
        entry = "/" + name.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?") \
            .replace("[", "\\[")
        lines = ignore.read_text().splitlines() if ignore.exists() else []
        if entry in lines:
            return
        text = ignore.read_text() if ignore.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        write_durably(ignore, text + entry + "\n")

    def is_tracked_by_git(self, rel: str) -> bool:
        out = _git(self.root, "ls-files", "-z", "--", rel)
        return bool(out.strip(b"\0"))

    # -- remotes -------------------------------------------------------------------------------
    def _config(self, *args: str, check: bool = True) -> str:
        return _git(self.root, "config", "-f", str(self.dir / "config"), *args, check=check).decode()

    def remotes(self) -> dict[str, str]:
        out = self._config("--get-regexp", r"^remote\..*\.url$", check=False)
        result = {}
        for line in out.splitlines():
            key, _, url = line.partition(" ")
            result[key[len("remote."): -len(".url")]] = url
        return result

    def add_remote(self, name: str, url: str, default: bool = True, endpoint_url: str | None = None,
                   region: str | None = None) -> None:
        """Adds a folder or ``s3://bucket/prefix`` remote. For S3, ``endpoint_url`` and
        ``region`` are kept in .cairn/config (credentials never are: they come from the
        AWS environment or profile)."""
        if not name or any(c in name for c in " \t\n/\\.\"'"):
            raise CairnError(f"bad remote name '{name}': use letters, digits, - and _")
        if name in self.remotes():
            raise CairnError(f"remote '{name}' exists; remove it first with `cairn remote remove {name}`")
        for what, value in (("URL", url), ("--endpoint-url", endpoint_url)):
            leak = filesystems.credentials_in_url(value) if value else None
            if leak:  # .cairn/config is committed and `cairn remote` shows it
                raise CairnError(
                    f"remote '{name}': refusing the {what} {filesystems.redact_url(value)!r}: "
                    f"{leak}. It would be saved in .cairn/config, which is committed; "
                    f"{filesystems.CREDENTIALS_GO}")
        if filesystems.is_s3(url):
            try:
                filesystems.split_s3(url)
                filesystems.S3Options.resolve({"endpoint_url": endpoint_url, "region": region})
            except ValueError as e:
                raise CairnError(f"remote '{name}': {e}") from None
            url = url.rstrip("/")
        elif endpoint_url or region:
            raise CairnError("--endpoint-url and --region apply to s3:// remotes only")
        elif "://" in url and not url.startswith("file://"):
            raise CairnError(f"remote '{name}': '{url}' is neither a folder nor s3://bucket/prefix")
        elif "://" not in url:
            url = str(Path(url).expanduser().resolve())
        self._config(f"remote.{name}.url", url)
        if endpoint_url:
            self._config(f"remote.{name}.endpointurl", endpoint_url)
        if region:
            self._config(f"remote.{name}.region", region)
        if default or "core.remote" not in self._config("--list", check=False):
            self._config("core.remote", name)

    def remove_remote(self, name: str) -> None:
        if name not in self.remotes():
            raise CairnError(f"no remote named '{name}'")
        self._config("--remove-section", f"remote.{name}")
        if self._config("--get", "core.remote", check=False).strip() == name:
            self._config("--unset", "core.remote", check=False)

    def remote_url(self, name: str | None = None) -> tuple[str, str]:
        remotes = self.remotes()
        if name is None:
            name = self._config("--get", "core.remote", check=False).strip() or None
            if name is None and len(remotes) == 1:
                name = next(iter(remotes))
        if name is None:
            raise CairnError("no remote configured; add one with `cairn remote add NAME URL`")
        if name not in remotes:
            raise CairnError(f"no remote named '{name}' (known: {', '.join(sorted(remotes)) or 'none'})")
        return name, remotes[name]

    def remote_s3_options(self, name: str) -> "filesystems.S3Options":
        """The S3 options of remote ``name``: its configured endpoint and region, the
        credentials from the AWS environment (or the SDK's default chain)."""
        get = lambda key: self._config("--get", f"remote.{name}.{key}", check=False).strip()  # noqa: E731
        try:
            return filesystems.S3Options.resolve({"endpoint_url": get("endpointurl") or None,
                                                  "region": get("region") or None})
        except ValueError as e:
            raise CairnError(f"remote '{name}': {e}") from None

    def remote_store(self, name: str | None = None):
        name, url = self.remote_url(name)
        if filesystems.is_s3(url):
            options = self.remote_s3_options(name)
            try:
                store = _store.ObjectStore.open(url + "/packs", options.core_spec())
            except OSError as e:
                error = filesystems.explain(e, url, 'listing')
                raise CairnError(f"remote '{name}' ({url}): {error}"
                                 + missing_bucket_hint(name, url, error)) from None
            if not store.pack_names():  # empty, or no bucket: listing one says nothing
                try:
                    filesystems.info_bucket(url, options)
                except OSError as e:
                    raise CairnError(f"remote '{name}' ({url}): {e}"
                                     + missing_bucket_hint(name, url, e)) from None
            return name, store
        if "://" in url and not url.startswith("file://"):
            raise CairnError(f"remote '{name}': '{url}' is neither a folder nor s3://bucket/prefix")
        folder = Path(url[len("file://"):] if url.startswith("file://") else url)
        try:
            (folder / "packs").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CairnError(f"remote '{name}': cannot use folder '{folder}': {e.strerror}") from None
        return name, _store.ObjectStore.open(str(folder / "packs"))


def missing_bucket_hint(name: str, url: str, error: BaseException) -> str:
    """What to do when ``error`` says remote ``name``'s bucket does not exist ("" if not)."""
    if not (isinstance(error, FileNotFoundError) and "bucket" in str(error)):
        return ""
    bucket = filesystems.split_s3(url)[0]
    return (f"\nCreate the bucket (e.g. `aws s3 mb s3://{bucket}`, with --endpoint-url for an "
            f"S3-compatible server), or fix the remote's URL: `cairn remote remove {name}`, "
            f"then `cairn remote add {name} s3://BUCKET/PREFIX`.")


def parse_pointer(text: str, where: str) -> tuple[str, str, int, bool, int]:
    """(kind, oid, size, executable, files) of a pointer's text; CairnError if malformed."""
    try:
        return _store.parse_pointer(text, where)
    except ValueError as e:
        raise CairnError(str(e)) from None
    except TypeError:  # a str the binding cannot pass on (lone surrogates: bytes not UTF-8)
        raise CairnError(f"{_shown(where)}: malformed cairn pointer (not UTF-8 text; restore it "
                         f"with `git checkout -- {_shown(where)}` or re-run `cairn add`)") from None
