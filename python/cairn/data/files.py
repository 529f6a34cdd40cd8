"""Reading tracked data as of any git revision: ``cairn.data.open``, ``read_bytes``, ``ls``."""

from __future__ import annotations

import bisect
import fnmatch
import glob as _glob
import hashlib
import io
import os
import time
from pathlib import Path

from .. import filesystems
from .repo import POINTER_SUFFIX, CairnError, Repo, _store, manifest_entries, parse_pointer

__all__ = ["open", "read_bytes", "ls", "local_paths"]


class _ChunkReader(io.RawIOBase):
    """A seekable, read-only file over a tracked file's chunks (each read verified)."""

    def __init__(self, store, chunks: list[tuple[str, int]], name: str, oid: str):
        self._store = store
        self._oid = oid
        self._hash = hashlib.sha256()
        self._hashed = 0  # chunks fed to _hash, in file order
        self._ids = [c[0] for c in chunks]
        self._starts = []
        pos = 0
        for _, size in chunks:
            self._starts.append(pos)
            pos += size
        self._size = pos
        self._pos = 0
        self._cached = (-1, b"")
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def _check(self, i: int, data: bytes) -> None:
        """Hashes chunk i if it is the next in file order; when the last chunk is reached,
        before any of its bytes are returned, the whole must hash to the oid (a reader that
        reads to the end, as read_bytes does, never gets bytes of a forged recipe)."""
        if i != self._hashed or self._ids == [self._oid]:  # one chunk: read() checked it
            return
        self._hash.update(data)
        self._hashed += 1
        if self._hashed == len(self._ids) and self._hash.hexdigest() != self._oid:
            self._cached = (-1, b"")
            raise OSError(
                f"'{self.name}' (oid {self._oid}): its chunks in the cache do not make a file "
                "with that oid (a forged or damaged recipe); `cairn fsck` names it, `cairn "
                "pull` fetches a good copy")

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        i = bisect.bisect_right(self._starts, self._pos) - 1
        if self._cached[0] != i:
            self._cached = (i, self._store.read(self._ids[i]))
            self._check(i, self._cached[1])
        data = self._cached[1]
        offset = self._pos - self._starts[i]
        n = min(len(buffer), len(data) - offset)
        buffer[:n] = data[offset: offset + n]
        self._pos += n
        return n


def _locate(repo: Repo, path: str, rev: str | None) -> tuple[str, str, str]:
    """(pointer text, pointer path, path inside a tracked folder or "") for `path`."""
    rel = repo.rel(path)
    if rel.endswith(POINTER_SUFFIX):
        rel = rel[: -len(POINTER_SUFFIX)]
    if rev is None:
        pointers = {p: None for p in repo.worktree_pointers()}
    else:
        pointers = repo.pointers_at(rev)
    parts = rel.split("/")
    for i in range(len(parts), 0, -1):
        candidate = "/".join(parts[:i]) + POINTER_SUFFIX
        if candidate in pointers:
            text = pointers[candidate] if rev is not None else repo.read_pointer(candidate)
            return text, candidate, "/".join(parts[i:])
    where = f"at {rev}" if rev else "in the work tree"
    raise CairnError(f"'{rel}' is not tracked by cairn {where}")


def _ensure(repo: Repo, text: str, pointer_rel: str, top_only: bool = False) -> None:
    """Fetches from the default remote what the cache lacks to read one pointer (with
    top_only, just its top object: a folder's listing). What arrives is verified: every
    object against its id, every recipe by the file its chunks make."""
    from .transfer import _closure, _copy, missing_on_remote

    cache = repo.cache()
    kind, oid, _, _, _ = parse_pointer(text, pointer_rel)
    if top_only and cache.contains(oid):
        return
    if not top_only:
        _, missing, _, _ = _closure([cache], [(text, pointer_rel)], "the cache")
        if not missing:
            return
    try:
        name, remote = repo.remote_store(None)
    except CairnError as e:  # "no remote configured": say what it was needed for
        raise CairnError(f"the data of '{pointer_rel[: -len(POINTER_SUFFIX)]}' is not in the "
                         f"cache, and {e}") from None
    if top_only:
        ids, missing = ([oid], []) if remote.contains(oid) else ([], [oid])
    else:
        ids, missing, _, _ = _closure([cache, remote], [(text, pointer_rel)],
                                      f"the cache or remote '{name}'")
    if missing:
        raise missing_on_remote(name, remote, missing,
                                f"'{pointer_rel[: -len(POINTER_SUFFIX)]}'")
    if kind == "dir" and not cache.contains(oid):  # refused before it is stored
        manifest_entries(remote, oid, pointer_rel)
    with repo.lock():
        _copy(name, remote, repo.cache(), ids, [], repo, f"fetch from {name}",
              lambda description, total: None, time.perf_counter(), pointers=[(text, pointer_rel)])


def _file_entry(repo: Repo, path: str, rev: str | None) -> tuple[str, int, str]:
    text, pointer_rel, inner = _locate(repo, path, rev)
    kind, oid, size, _, _ = parse_pointer(text, pointer_rel)
    if kind == "file":
        if inner:
            raise CairnError(f"'{path}': {pointer_rel[:-len(POINTER_SUFFIX)]} is a file, not a folder")
        _ensure(repo, text, pointer_rel)
        return oid, size, pointer_rel
    _ensure(repo, text, pointer_rel, top_only=True)
    for p, file_oid, file_size, _ in manifest_entries(repo.cache(), oid, pointer_rel):
        if p == inner:
            _ensure_file(repo, {"oid": file_oid, "size": file_size, "path": f"{pointer_rel}/{p}"})
            return file_oid, file_size, pointer_rel
    if not inner:
        raise IsADirectoryError(f"'{path}' is a tracked folder; use cairn.data.ls to list it")
    raise FileNotFoundError(f"'{path}' is not in the tracked folder {pointer_rel[:-len(POINTER_SUFFIX)]}"
                            + (f" at {rev}" if rev else ""))


def open(path: str | os.PathLike, rev: str | None = None, mode: str = "rb",
         encoding: str = "utf-8", errors: str = "strict", repo: str | os.PathLike | None = None,
         storage_options: dict | None = None):
    """Open a file tracked by cairn as it was at git revision ``rev``, or an
    ``s3://bucket/key`` object.

    Reads from the local cache, fetching from the default remote what is missing. Every
    chunk is verified against its hash as it is read.

    Parameters
    ----------
    path : str
        A tracked file, or a file inside a tracked folder (relative to the current folder).
    rev : str, optional
        Any git revision (commit, branch, tag). Default: the pointers in the work tree.
    mode : {'rb', 'r'}
        Binary (a seekable buffered reader) or text.
    encoding, errors : str
        For text mode.
    repo : path, optional
        A folder inside the repository (default: the current folder).
    storage_options : dict, optional
        For ``s3://`` URLs, as in :func:`cairn.read_text` (default: the AWS environment).

    Examples
    --------
    >>> with cairn.data.open("data/corpus.txt", rev="v1", mode="r") as f:  # doctest: +SKIP
    ...     first = f.readline()
    """
    if mode not in ("rb", "r"):
        raise ValueError(f"mode must be 'rb' or 'r', not {mode!r} (tracked data is read-only)")
    if filesystems.is_s3(str(path)):
        if rev is not None:
            raise ValueError(f"rev= applies to data tracked by cairn, not to {str(path)!r}; "
                             "S3 objects are read as they are now")
        raw = filesystems.open_input(str(path), filesystems.S3Options.resolve(storage_options))
        buffered = io.BufferedReader(raw, buffer_size=256 * 1024)  # a raw stream already
        return buffered if mode == "rb" else io.TextIOWrapper(buffered, encoding=encoding,
                                                              errors=errors)
    r = Repo.find(repo)
    oid, size, _ = _file_entry(r, str(path), rev)
    chunks = _store.Materializer.make(r.cache(), 1).file_chunks(oid, size)
    raw = _ChunkReader(r.cache(), chunks, str(path), oid)
    buffered = io.BufferedReader(raw, buffer_size=256 * 1024)
    return buffered if mode == "rb" else io.TextIOWrapper(buffered, encoding=encoding, errors=errors)


def read_bytes(path: str | os.PathLike, rev: str | None = None,
               repo: str | os.PathLike | None = None,
               storage_options: dict | None = None) -> bytes:
    """The whole content of a tracked file at ``rev`` (see :func:`open`).

    Examples
    --------
    >>> cairn.data.read_bytes("data/labels.csv", rev="HEAD~1")[:10]  # doctest: +SKIP
    """
    with open(path, rev=rev, repo=repo, storage_options=storage_options) as f:
        return f.read()


def ls(path: str | os.PathLike = ".", rev: str | None = None,
       repo: str | os.PathLike | None = None) -> list[dict]:
    """What cairn tracks at ``path`` as of ``rev``: for a tracked folder, its files; for a
    tracked file, itself; for any other folder, the tracked paths below it. Each entry is a
    dict with ``path`` (relative to the repository root), ``size``, ``oid`` and ``type``.

    Examples
    --------
    >>> [e["path"] for e in cairn.data.ls("data", rev="v1")]  # doctest: +SKIP
    ['data/corpus.txt', 'data/images']
    """
    r = Repo.find(repo)
    p = r.rel(path) if str(path) not in (".", "") else ""
    pointers = r.pointers_at(rev) if rev is not None else {
        q: r.read_pointer(q) for q in r.worktree_pointers()}
    base = p[: -len(POINTER_SUFFIX)] if p.endswith(POINTER_SUFFIX) else p
    if base + POINTER_SUFFIX in pointers:
        text = pointers[base + POINTER_SUFFIX]
        kind, oid, size, _, _ = parse_pointer(text, base + POINTER_SUFFIX)
        if kind == "file":
            return [{"path": base, "size": size, "oid": oid, "type": "file"}]
        _ensure(r, text, base + POINTER_SUFFIX, top_only=True)
        entries = manifest_entries(r.cache(), oid, base + POINTER_SUFFIX)
        return [{"path": f"{base}/{q}", "size": s, "oid": o, "type": "file"} for q, o, s, _ in entries]
    out = []
    for pointer_rel, text in sorted(pointers.items()):
        data_rel = pointer_rel[: -len(POINTER_SUFFIX)]
        if base and not data_rel.startswith(base.rstrip("/") + "/"):
            continue
        kind, oid, size, _, files = parse_pointer(text, pointer_rel)
        out.append({"path": data_rel, "size": size, "oid": oid,
                    "type": "directory" if kind == "dir" else "file"})
    return out


def local_paths(urlpath, rev: str, repo: str | os.PathLike | None = None) -> list[str]:
    """Local files holding the tracked data ``urlpath`` had at git revision ``rev``, for
    readers that need real files (``cairn.read_text(..., rev=)``).

    ``urlpath`` is a path, a glob, or a list of them, relative to the current folder; a
    tracked folder stands for all its files. A work-tree file that already has the right
    content is used as it is; other files are written once, verified, to
    ``.cairn/cache/files/<oid>/<name>`` (``cairn gc --force`` removes them).
    """
    items = [urlpath] if isinstance(urlpath, (str, os.PathLike)) else list(urlpath)
    r = Repo.find(repo)
    listing = ls(".", rev=rev, repo=r.root)
    files: dict[str, dict] = {}
    for entry in listing:
        if entry["type"] == "file":
            files[entry["path"]] = entry
        else:
            for inner in ls(entry["path"], rev=rev, repo=r.root):
                files[inner["path"]] = inner
    chosen: list[dict] = []
    for item in items:
        rel = r.rel(os.fspath(item)) if not _glob.has_magic(os.fspath(item)) else None
        if rel is None:
            pattern = Path(os.path.abspath(os.fspath(item))).relative_to(r.root).as_posix()
            matches = [files[p] for p in sorted(files) if fnmatch.fnmatchcase(p, pattern)]
            if not matches:
                raise FileNotFoundError(f"no tracked files match {os.fspath(item)!r} at {rev}")
        elif rel in files:
            matches = [files[rel]]
        else:
            matches = [files[p] for p in sorted(files) if p.startswith(rel + "/")]
            if not matches:
                raise FileNotFoundError(f"{os.fspath(item)!r} is not tracked by cairn at {rev}")
        chosen.extend(m for m in matches if m not in chosen)
    out = []
    # Under the store lock, as every command that writes into .cairn: `gc --force` (which
    # empties .cairn/cache/files) waits for these writes, and the stat cache is saved by one
    # writer at a time.
    with r.lock():
        for entry in chosen:
            here = r.root / entry["path"]
            if here.is_file() and not here.is_symlink() \
                    and here.stat().st_size == entry["size"] and r.file_oid(here) == entry["oid"]:
                out.append(str(here))
                continue
            target = r.dir / "cache" / "files" / entry["oid"] / here.name
            if not target.is_file():
                _ensure_file(r, entry)
                # made after the fetch: a fetch opens the cache anew (it may add packs)
                materializer = _store.Materializer.make(r.cache())
                pointer = _store.encode_pointer("file", entry["oid"], entry["size"], False, 0)
                materializer.write(pointer, entry["path"], str(target), None)
            out.append(str(target))
        r.save_state()
    return out


def _ensure_file(repo: Repo, entry: dict) -> None:
    pointer = _store.encode_pointer("file", entry["oid"], entry["size"], False, 0)
    _ensure(repo, pointer, entry["path"] + POINTER_SUFFIX)
