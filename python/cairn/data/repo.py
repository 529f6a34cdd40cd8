"""A cairn repository: a git work tree with a ``.cairn`` folder (docs/store-format.md).

This module knows the layout, pointer files, ``.gitignore`` entries, the lock and the
leftovers of killed commands; the stat cache is in :mod:`.state`, the remotes in
:mod:`.remotes`, what they share in :mod:`.common`. The heavy work (hashing, chunking,
packs, transfers) is in ``cairn._core.store``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from pathlib import Path
from typing import Iterator

from .. import _core
from .common import (POINTER_SUFFIX, TEMP_PREFIX, CairnError, _git, _shown,  # noqa: F401
                     not_utf8, write_durably)
from .remotes import RemotesMixin, missing_bucket_hint  # noqa: F401
from .state import StateMixin

_store = _core.store

__all__ = ["CairnError", "Repo", "POINTER_SUFFIX"]


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


class Repo(RemotesMixin, StateMixin):
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



def parse_pointer(text: str, where: str) -> tuple[str, str, int, bool, int]:
    """(kind, oid, size, executable, files) of a pointer's text; CairnError if malformed."""
    try:
        return _store.parse_pointer(text, where)
    except ValueError as e:
        raise CairnError(str(e)) from None
    except TypeError:  # a str the binding cannot pass on (lone surrogates: bytes not UTF-8)
        raise CairnError(f"{_shown(where)}: malformed cairn pointer (not UTF-8 text; restore it "
                         f"with `git checkout -- {_shown(where)}` or re-run `cairn add`)") from None
