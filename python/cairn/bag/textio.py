"""Reading and writing the bytes of text files for Bag tasks (local files and s3:// URLs)."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import tempfile
import zipfile
from typing import Any, BinaryIO

from .. import filesystems

COMPRESSIONS = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst", "zip": ".zip"}
_BY_EXTENSION = {ext: name for name, ext in COMPRESSIONS.items()}
_BY_EXTENSION[".zstd"] = "zstd"


class TextDecodeError(UnicodeDecodeError):
    """Invalid text in a file: says which file and at which byte offset."""

    def __init__(self, path: str, offset: int, cause: UnicodeDecodeError) -> None:
        super().__init__(cause.encoding, cause.object, cause.start, cause.end, cause.reason)
        self.path = path
        self.offset = offset

    def __str__(self) -> str:
        bad = self.object[self.start:self.end]
        return (f"{self.path}: invalid {self.encoding} at byte offset {self.offset} "
                f"(bytes {bad!r}: {self.reason}). Pass errors='replace' to read_text to "
                "substitute U+FFFD, or check the file's encoding.")

    def __reduce__(self) -> tuple:
        cause = UnicodeDecodeError(self.encoding, self.object, self.start, self.end, self.reason)
        return (TextDecodeError, (self.path, self.offset, cause))


def parse_bytes(text: str) -> int:
    """``"64MiB"`` / ``"10 MB"`` / ``"1000"`` -> a number of bytes."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?i?b?)?\s*", text.lower())
    if not m:
        raise ValueError(f"cannot read {text!r} as a size in bytes (e.g. '64MiB', '10MB')")
    number = float(m.group(1))
    unit = (m.group(2) or "b").rstrip("b") or ""
    scale = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
             "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}[unit]
    return int(number * scale)


def infer_compression(path: str) -> str | None:
    return _BY_EXTENSION.get(os.path.splitext(path)[1].lower())


def check_compression(name: str | None) -> None:
    if name is not None and name not in COMPRESSIONS:
        raise ValueError(f"unknown compression {name!r}; use one of {sorted(COMPRESSIONS)} "
                         "or None")


def _open_read(path: str, compression: str | None) -> BinaryIO:
    if compression is None:
        return open(path, "rb")
    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression == "bz2":
        return bz2.open(path, "rb")
    if compression == "xz":
        return lzma.open(path, "rb")
    if compression == "zip":
        with zipfile.ZipFile(path) as archive:  # the member stays open after the archive
            return archive.open(_first_member(archive))
    import pyarrow as pa

    return pa.CompressedInputStream(pa.OSFile(path, "rb"), "zstd")


def _decompress(data: bytes, compression: str | None) -> bytes:
    if compression is None:
        return data
    if compression == "gzip":
        return gzip.decompress(data)
    if compression == "bz2":
        return bz2.decompress(data)
    if compression == "xz":
        return lzma.decompress(data)
    if compression == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read(_first_member(archive))
    import pyarrow as pa

    return pa.CompressedInputStream(pa.BufferReader(data), "zstd").read()


def _read_s3(path: str, s3: Any, offset: int = 0, delimiter: bytes | None = None,
             blocksize: int = -1) -> Any:
    """An S3 object's bytes (all; or, with ``delimiter``, the block's ``(start, data)``),
    retried while the server is busy; errors name the URL."""
    def read() -> Any:
        with filesystems.open_input(path, s3) as f:
            if delimiter is None:
                return f.read()
            start = _block_start(f, offset, delimiter)
            end = _block_start(f, offset + blocksize, delimiter)
            f.seek(start)
            return start, f.read(max(end - start, 0))

    try:
        return filesystems.retrying(read, s3)
    except (FileNotFoundError, PermissionError, filesystems.S3Error):
        raise
    except OSError as e:
        raise filesystems.explain(e, path, "reading") from None


def read_bytes(path: str, compression: str | None, s3: Any = None) -> bytes:
    """All of a file's (decompressed) bytes; errors name the file."""
    if filesystems.is_s3(path):
        raw = _read_s3(path, s3)
    try:
        if filesystems.is_s3(path):
            return _decompress(raw, compression)
        with _open_read(path, compression) as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path!r} (was it moved or deleted after "
                                "read_text() was called?)") from None
    except (EOFError, OSError, lzma.LZMAError, ValueError, zipfile.BadZipFile) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise OSError(f"{path}: cannot read {compression or 'uncompressed'} data: {e} "
                      "(the file may be truncated or corrupt)") from e


def decode(data: bytes, path: str, base_offset: int, encoding: str, errors: str) -> str:
    try:
        return data.decode(encoding, errors)
    except UnicodeDecodeError as e:
        raise TextDecodeError(path, base_offset + e.start, e) from None


_NEWLINES = (None, "", "\n", "\r", "\r\n")


def _file_lines(text: str, newline: str | None) -> list[str]:
    """The lines a text file opened with ``newline=`` yields (``open(..., newline=)``)."""
    if newline is None:
        return split_lines(text, None)
    if newline == "":
        out, start, i, n = [], 0, 0, len(text)
        while i < n:
            c = text[i]
            if c == "\n" or c == "\r":
                end = i + 2 if c == "\r" and i + 1 < n and text[i + 1] == "\n" else i + 1
                out.append(text[start:end])
                start = i = end
            else:
                i += 1
        if start < n:
            out.append(text[start:])
        return out
    parts = text.split(newline)
    last = parts.pop()
    return [p + newline for p in parts] + ([last] if last else [])


def lines_whole_file(text: str, linedelimiter: str | None) -> list[str]:
    """Lines of a whole file, as Dask's read_text(blocksize=None) gives them."""
    if linedelimiter in _NEWLINES:
        return _file_lines(text, linedelimiter)
    if not text:
        return []
    parts = text.split(linedelimiter)
    return [p + linedelimiter for p in parts[:-1]] + parts[-1:]


def lines_of_block(text: str, linedelimiter: str | None) -> list[str]:
    """Lines of a block, as Dask's read_text(blocksize=...) gives them (it reads the block
    through io.StringIO(text, newline=linedelimiter) for newline delimiters)."""
    if linedelimiter in _NEWLINES:
        return list(io.StringIO(text, newline=linedelimiter))
    if not text:
        return []
    parts = text.split(linedelimiter)
    return [p + linedelimiter for p in parts[:-1]] + (
        parts[-1:] if not text.endswith(linedelimiter) else [])


def split_lines(text: str, linedelimiter: str | None) -> list[str]:
    """Lines with their ending kept; universal newlines when no delimiter is given."""
    if linedelimiter is None:
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        last = lines.pop()
        out = [line + "\n" for line in lines]
        if last:
            out.append(last)
        return out
    parts = text.split(linedelimiter)
    last = parts.pop()
    out = [p + linedelimiter for p in parts]
    if last:
        out.append(last)
    return out


def _lines_of(data: bytes, path: str, base_offset: int, encoding: str, errors: str,
              linedelimiter: str | None, include_path: bool, whole_file: bool = True) -> list:
    text = decode(data, path, base_offset, encoding, errors)
    if whole_file:
        lines = lines_whole_file(text, linedelimiter)
    else:
        lines = lines_of_block(text, linedelimiter)
    if include_path:
        return [(line, path) for line in lines]
    return lines


def read_files(group: list, encoding: str, errors: str, linedelimiter: str | None,
               include_path: bool, s3: Any = None) -> list:
    """The lines of whole files, one after the other."""
    out: list = []
    for path, compression in group:
        data = read_bytes(path, compression, s3)
        out.extend(_lines_of(data, path, 0, encoding, errors, linedelimiter, include_path))
    return out


def _block_start(f: BinaryIO, offset: int, delimiter: bytes) -> int:
    """Position just after the first delimiter at or after ``offset`` (0 stays 0)."""
    if offset == 0:
        return 0
    f.seek(offset)
    pos = offset
    carry = b""
    while True:
        chunk = f.read(1 << 16)
        if not chunk:
            return pos + len(carry)
        buf = carry + chunk
        i = buf.find(delimiter)
        if i >= 0:
            return pos + i + len(delimiter)
        keep = len(delimiter) - 1
        carry = buf[len(buf) - keep:] if keep else b""
        pos += len(buf) - len(carry)


def read_block(path: str, offset: int, blocksize: int, encoding: str, errors: str,
               linedelimiter: str | None, include_path: bool, s3: Any = None) -> list:
    """The lines that start in ``[offset, offset + blocksize)`` of an uncompressed file.

    A line belongs to the block in which its first byte lies after the previous block's
    boundary: each block starts just after the first delimiter at or after its offset.
    """
    delimiter = (linedelimiter or "\n").encode(encoding)
    if filesystems.is_s3(path):
        start, data = _read_s3(path, s3, offset, delimiter, blocksize)
        if not data:
            return []
        return _lines_of(data, path, start, encoding, errors, linedelimiter, include_path,
                         whole_file=False)
    try:
        with open(path, "rb") as f:
            start = _block_start(f, offset, delimiter)
            end = _block_start(f, offset + blocksize, delimiter)
            if end <= start:
                return []
            f.seek(start)
            data = f.read(end - start)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path!r}") from None
    return _lines_of(data, path, start, encoding, errors, linedelimiter, include_path,
                     whole_file=False)


def _first_member(archive: zipfile.ZipFile) -> str:
    """A zip archive's text is its first member (as Dask and fsspec read it)."""
    names = archive.namelist()
    if not names:
        raise ValueError("the zip archive holds no file")
    return names[0]


class _ZipMemberWriter:
    """Writes one member of a new zip archive into ``raw`` (which it leaves open)."""

    def __init__(self, raw: BinaryIO, member: str) -> None:
        self._archive = zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)
        self._member = self._archive.open(member, "w")

    def write(self, data: bytes) -> int:
        return self._member.write(data)

    def close(self) -> None:
        self._member.close()
        self._archive.close()


def _open_write(f: BinaryIO, compression: str | None, path: str) -> Any:
    if compression is None:
        return f
    if compression == "zip":
        name = os.path.basename(path)
        return _ZipMemberWriter(f, name[:-4] if name.lower().endswith(".zip") else name)
    if compression == "gzip":
        return gzip.GzipFile(fileobj=f, mode="wb")
    if compression == "bz2":
        return bz2.BZ2File(f, "wb")
    if compression == "xz":
        return lzma.LZMAFile(f, "wb")
    import pyarrow as pa

    return pa.CompressedOutputStream(f, "zstd")


def _ensure_bytes(d: Any, encoding: str | None) -> bytes:
    if isinstance(d, str):
        return d.encode(encoding or "utf-8")
    if isinstance(d, (bytes, bytearray)):
        return bytes(d)
    raise TypeError(f"Object {d!r} is neither a str object nor can be decoded to str; "
                    "map str (or json.dumps) over the bag before to_textfiles")


def block_offsets(size: int, blocksize: int) -> list[int]:
    """Start offsets of the blocks of a file, as Dask's read_bytes cuts it: the block size
    shrinks so that the remainder is spread over the blocks instead of making a small last
    one."""
    if size % blocksize and size > blocksize:
        step = size / (size // blocksize)
    else:
        step = blocksize
    place = 0.0
    offsets = [0]
    while size - place > (step * 2) - 1:
        place += step
        offsets.append(int(place))
    return offsets


def _write_lines(raw: BinaryIO, data: list, path: str, compression: str | None,
                 encoding: str | None, last_endline: bool) -> None:
    out = _open_write(raw, compression, path)
    endline = b"\n"
    started = False
    for d in data:
        if started:
            out.write(endline)
        started = True
        out.write(_ensure_bytes(d, encoding))
    if last_endline:
        out.write(endline)
    if out is not raw:
        out.close()  # some codec streams close `raw` too


def write_partition(data: list, path: str, compression: str | None, encoding: str | None,
                    last_endline: bool, s3: Any = None) -> None:
    """Write the elements joined by newlines to ``path`` atomically (local: temp file +
    rename; S3: the object is uploaded once complete, so it appears whole or not at all)."""
    if filesystems.is_s3(path):
        buffer = io.BytesIO()
        _write_lines(_Unclosed(buffer), data, path, compression, encoding, last_endline)
        filesystems.write_object(path, buffer.getvalue(), s3)
        return
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as raw:
            _write_lines(raw, data, path, compression, encoding, last_endline)
        synced = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(synced)
        finally:
            os.close(synced)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class _Unclosed(io.RawIOBase):
    """A BytesIO seen through a stream that codec writers may close without losing it."""

    def __init__(self, buffer: io.BytesIO) -> None:
        self._buffer = buffer

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._buffer.write(data)
