"""Text in and out of Bags: read_text, to_textfiles, and the ``.str`` accessor."""

from __future__ import annotations

import fnmatch
import glob
import operator
import os
from functools import partial
from typing import Any, Callable

from .. import filesystems
from ..tokenize import tokenize
from . import textio
from .core import Bag

__all__ = ["read_text", "to_textfiles", "StringAccessor"]


def _expand_paths(urlpath: Any, s3: Any) -> list[tuple[str, tuple[int, float]]]:
    """Local paths (absolute) and s3:// URLs, globs expanded, in order, each with its
    ``(size, mtime)``."""
    items = [urlpath] if isinstance(urlpath, (str, os.PathLike)) else list(urlpath)
    if not items:
        raise ValueError("read_text() got an empty list of paths")
    paths: list[tuple[str, tuple[int, float]]] = []
    for item in items:
        item = os.fspath(item)
        if item.startswith("file://"):
            item = item[len("file://"):]
        if filesystems.is_s3(item):
            if glob.has_magic(item):
                matches = filesystems.glob(item, s3)
                if not matches:
                    raise ValueError(f"No files found matching {item!r}: check the path and "
                                     "the glob pattern")
                paths.extend(matches.items())
            else:
                paths.append((item, filesystems.info(item, s3)))  # a clear error if missing
            continue
        if "://" in item:
            scheme = item.split("://", 1)[0]
            raise ValueError(f"read_text(): {scheme}:// paths are not supported ({item!r}); "
                             "use a local path or s3://bucket/key")
        if glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
            if not matches:
                raise ValueError(f"No files found matching {item!r}: check the path and the "
                                 "glob pattern")
            paths.extend((os.path.abspath(p), _stat(p)) for p in matches)
        else:
            if os.path.isdir(item):
                raise IsADirectoryError(f"read_text(): {item!r} is a directory; pass a glob such "
                                        f"as {os.path.join(item, '*')!r}")
            if not os.path.exists(item):
                raise FileNotFoundError(f"read_text(): no such file: {item!r}")
            paths.append((os.path.abspath(item), _stat(item)))
    return paths


def _stat(path: str) -> tuple[int, float]:
    st = os.stat(path)
    return st.st_size, st.st_mtime


def _uses_s3(urlpath: Any) -> bool:
    items = [urlpath] if isinstance(urlpath, (str, os.PathLike)) else list(urlpath)
    return any(filesystems.is_s3(os.fspath(i)) for i in items)


def read_text(urlpath: Any, blocksize: int | str | None = None, compression: str | None = "infer",
              encoding: str = "utf-8", errors: str = "strict", linedelimiter: str | None = None,
              collection: bool = True, storage_options: dict | None = None,
              files_per_partition: int | None = None, include_path: bool = False,
              rev: str | None = None) -> Any:
    """Read text files into a Bag of lines (line endings kept, as in Dask).

    Parameters
    ----------
    urlpath : str, path, or list of them
        Files, globs (``data/*.txt``, ``**`` for subfolders), or ``s3://bucket/key`` URLs
        and globs.
    blocksize : int or str, optional
        Split uncompressed files into partitions of about this many bytes, at line
        boundaries (``"64MiB"`` style strings work). Default: one partition per file.
    compression : str or None
        ``"infer"`` (from the extension: gz, bz2, xz, zst), a name, or None.
    encoding, errors : str
        How bytes become text. ``errors="replace"`` turns invalid bytes into U+FFFD;
        with ``"strict"`` invalid UTF-8 raises an error naming the file and byte offset.
    linedelimiter : str, optional
        Split lines on this string (kept at the end of each line). Default: universal
        newlines (``\\n``, ``\\r\\n``, ``\\r`` all end a line and become ``\\n``).
    storage_options : dict, optional
        For ``s3://`` paths: ``key``, ``secret``, ``token``, ``endpoint_url``, ``region``
        (or ``client_kwargs``), as in Dask; otherwise the ``AWS_*`` environment variables
        and the AWS credential chain are used. See :mod:`cairn.filesystems`.
    files_per_partition : int, optional
        Group several small files into one partition.
    include_path : bool
        Give ``(line, path)`` pairs.
    rev : str, optional
        Read data tracked by ``cairn add`` as it was at this git revision (commit, branch
        or tag), fetching it from the remote if the cache lacks it. Paths and globs name
        tracked files or folders; see :func:`cairn.data.local_paths`.

    Examples
    --------
    >>> import cairn.bag as cb, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("hello world\\nbye\\n")
    >>> cb.read_text(path).compute()
    ['hello world\\n', 'bye\\n']
    """
    if blocksize is not None and files_per_partition is not None:
        raise ValueError("Only one of blocksize or files_per_partition can be set")
    if isinstance(blocksize, str):
        blocksize = textio.parse_bytes(blocksize)
    if blocksize is not None and blocksize < 1:
        raise ValueError(f"blocksize must be a positive number of bytes, got {blocksize}")
    if files_per_partition is not None and files_per_partition < 1:
        raise ValueError(f"files_per_partition must be at least 1, got {files_per_partition}")
    if rev is not None:
        from ..data.files import local_paths

        urlpath = local_paths(urlpath, rev)
    remote = _uses_s3(urlpath)
    if storage_options and not remote:
        raise ValueError("read_text(): storage_options apply to s3:// paths only")
    s3 = filesystems.S3Options.resolve(storage_options) if remote else None
    found = _expand_paths(urlpath, s3)
    paths = [p for p, _ in found]
    stats = dict(found)
    codecs = [textio.infer_compression(p) if compression == "infer" else compression
              for p in paths]
    for c in codecs:
        textio.check_compression(c)
    from . import native

    # Partitions as lists of pieces (path, codec, offset, size); size -1: the whole file.
    pieces: list = []
    if blocksize is None:
        per = files_per_partition or 1
        for i in range(0, len(paths), per):
            pieces.append([(p, c, 0, -1) for p, c in zip(paths[i:i + per], codecs[i:i + per])])
    else:
        for p, c in zip(paths, codecs):
            if c is not None:
                raise ValueError(f"Cannot do chunked reads on compressed files ({p!r}); "
                                 "set blocksize=None to read it whole")
            size = stats[p][0]
            offs = textio.block_offsets(size, blocksize)
            for off, nxt in zip(offs, offs[1:] + [size]):
                pieces.append([(p, None, off, max(nxt - off, 1))])
    if native.can_read(encoding, errors, linedelimiter, include_path, codecs):
        parts = tuple(tuple(native.segments(p, c, off, size, s3, stats[p][0])
                            if filesystems.is_s3(p) else native.segments(p, c, off, size)
                            for p, c, off, size in part)
                      for part in pieces)
        bag = native.make_bag(native.NativeText(parts, errors))
        return bag if collection else bag.to_delayed()
    opts = (encoding, errors, linedelimiter, include_path, s3)
    token = tokenize(paths, [stats[p] for p in paths], blocksize, codecs, opts,
                     files_per_partition)
    name = f"read-text-{token}"
    tasks: list = []
    for part in pieces:
        if blocksize is None:
            tasks.append((textio.read_files, [(p, c) for p, c, _, _ in part], *opts))
        else:
            (p, _, off, size), = part
            tasks.append((textio.read_block, p, off, size, *opts))
    dsk = {(name, i): t for i, t in enumerate(tasks)}
    bag = Bag(dsk, name, len(dsk))
    return bag if collection else bag.to_delayed()


def _name_function_default(num: int) -> Callable[[int], str]:
    width = len(str(max(num - 1, 0)))
    return lambda i: str(i).zfill(width)


def _absolute(path: str) -> str:
    if path.startswith("file://"):
        path = path[len("file://"):]
    if filesystems.is_s3(path):
        filesystems.split_s3(path)
        return path
    if "://" in path:
        raise ValueError(f"to_textfiles(): {path.split('://')[0]}:// paths are not supported "
                         "(use a local path or s3://bucket/key)")
    return os.path.abspath(path)


def _output_paths(path: Any, n: int, name_function: Callable | None) -> list[str]:
    if isinstance(path, (list, tuple)):
        if len(path) != n:
            raise ValueError(f"to_textfiles() got {len(path)} paths for {n} partitions")
        return [_absolute(os.fspath(p)) for p in path]
    path = os.fspath(path)
    if "*" not in path:
        path = path.rstrip("/") + "/*.part" if filesystems.is_s3(path) else os.path.join(
            path, "*.part")
    if path.count("*") > 1:
        raise ValueError(f"to_textfiles(): the path may hold one '*', got {path!r}")
    name_function = name_function or _name_function_default(n)
    return [_absolute(path.replace("*", name_function(i))) for i in range(n)]


def to_textfiles(b: Bag, path: Any, name_function: Callable | None = None,
                 compression: str | None = "infer", encoding: str = "utf-8", compute: bool = True,
                 storage_options: dict | None = None, last_endline: bool = False,
                 **kwargs: Any) -> Any:
    """Write a Bag of strings to text files, one per partition.

    ``path`` is a glob-like name with one ``*`` (replaced by the partition number, or by
    ``name_function(i)``), a directory (files ``0.part``, ``1.part`` …) or a list of paths;
    local or ``s3://bucket/prefix`` (with ``storage_options`` as in :func:`read_text`).
    Elements are joined by newlines (the last line gets one with ``last_endline=True``).
    Each file appears complete or not at all (written to a temporary name, then renamed).

    Returns the list of paths written (or a list of Delayed with ``compute=False``).

    Examples
    --------
    >>> import cairn.bag as cb, os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "*.txt")
    >>> paths = cb.from_sequence(["a", "b", "c"], npartitions=2).to_textfiles(out)
    >>> from pathlib import Path
    >>> [Path(p).read_text() for p in paths]
    ['a\\nb', 'c']
    """
    paths = _output_paths(path, b.npartitions, name_function)
    remote = any(filesystems.is_s3(p) for p in paths)
    if storage_options and not remote:
        raise ValueError("to_textfiles(): storage_options apply to s3:// paths only")
    s3 = filesystems.S3Options.resolve(storage_options) if remote else None
    codecs = [textio.infer_compression(p) if compression == "infer" else compression
              for p in paths]
    for c in codecs:
        textio.check_compression(c)
    name = f"to-textfiles-{tokenize(b, paths, codecs, encoding, last_endline, s3)}"
    dsk = {(name, i): (textio.write_partition, (b.name, i), p, c, encoding, last_endline, s3)
           for i, (p, c) in enumerate(zip(paths, codecs))}
    out = Bag(dsk, name, b.npartitions, (b,))
    if compute:
        out.compute(**kwargs)
        return paths
    return out.to_delayed()


class StringAccessor:
    """String methods over a Bag of strings: ``b.str.lower()``, ``b.str.split()`` …

    Any ``str`` method works (``b.str.<method>(*args)`` maps it over the elements);
    ``match(pattern)`` keeps elements matching a glob-style pattern, as in Dask.

    Examples
    --------
    >>> import cairn.bag as cb
    >>> b = cb.from_sequence(["Alice Smith", "Bob Jones", "Charlie Smith"])
    >>> b.str.lower().compute()
    ['alice smith', 'bob jones', 'charlie smith']
    >>> b.str.match("*Smith").compute()
    ['Alice Smith', 'Charlie Smith']
    """

    def __init__(self, bag: Bag) -> None:
        self._bag = bag

    def __dir__(self) -> list:
        return sorted(set(dir(type(self))) | set(dir(str)))

    def _strmap(self, key: str, *args: Any, **kwargs: Any) -> Bag:
        from . import native

        if (not args and not kwargs and key in ("lower", "upper", "strip", "split")
                and native.native_spec(self._bag, "str") is not None):
            return native.extend(self._bag, key, "list" if key == "split" else "str")
        return self._bag.map(operator.methodcaller(key, *args, **kwargs))

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_") or not hasattr(str, key):
            raise AttributeError(f"str has no method {key!r}")
        return partial(self._strmap, key)

    def match(self, pattern: str) -> Bag:
        """Keep the strings that match the glob-style ``pattern`` (``fnmatch``)."""
        return self._bag.filter(partial(_fnmatch, pat=pattern))

    def len(self) -> Bag:
        """The length of every string."""
        return self._bag.map(len)


def _fnmatch(name: str, pat: str) -> bool:
    return fnmatch.fnmatch(name, pat)
