"""Writes store objects byte by byte (docs/store-format.md), to build hostile remotes:
packs, indexes, recipes and manifests with any content, right or wrong."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

CHUNK, RECIPE, MANIFEST = 1, 2, 3
RAW, ZSTD, DEFERRED = 0, 1, 2


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def recipe(file_size: int, chunks: list[tuple[bytes, int]], checksum: bool = True) -> bytes:
    """A recipe payload; `chunks` are (id, size); the self checksum right unless told."""
    body = b"CAIRNRC1" + struct.pack("<QQ", file_size, len(chunks))
    body += b"".join(cid + struct.pack("<I", size) for cid, size in chunks)
    return body + (sha(body) if checksum else b"\0" * 32)


def manifest(entries: list[tuple[str | bytes, bytes, int]]) -> bytes:
    """A manifest payload of (path, oid, size), written in the order given; a path given as
    bytes is written as it is (names that are not UTF-8)."""
    lines = [b"cairn-manifest 1"]
    for path, oid, size in entries:
        name = path if isinstance(path, bytes) else path.encode()
        lines.append(f"{oid.hex()} {size} 644 ".encode() + name)
    return b"\n".join(lines) + b"\n"


def pointer_dir(manifest_id: bytes, size: int, files: int) -> str:
    """The text of a folder's pointer file."""
    return (f"cairn-pointer 1\nkind dir\noid sha256:{manifest_id.hex()}\nsize {size}\n"
            f"files {files}\n")


@dataclass
class Entry:
    type: int
    id: bytes
    stored: bytes              # the bytes as they are in the pack
    raw_size: int | None = None  # default: len(stored) (raw) or the decompressed size
    codec: int = RAW
    stored_size: int | None = None  # default: len(stored)


def chunk(data: bytes) -> Entry:
    return Entry(CHUNK, sha(data), data)


def zstd(type_: int, id_: bytes, payload: bytes, raw_size: int | None = None) -> Entry:
    packed = pa.compress(payload, codec="zstd", asbytes=True)
    return Entry(type_, id_, packed, len(payload) if raw_size is None else raw_size, ZSTD)


def pack(entries: list[Entry]) -> tuple[bytes, list[tuple]]:
    """The pack bytes and its records (id, type, codec, stored_size, offset, raw_size)."""
    out = bytearray(b"CAIRNPK1")
    records = []
    for e in entries:
        stored_size = len(e.stored) if e.stored_size is None else e.stored_size
        raw_size = len(e.stored) if e.raw_size is None else e.raw_size
        records.append((e.id, e.type, e.codec, stored_size, len(out), raw_size))
        out += struct.pack("<BBHIQ", e.type, e.codec, 0, stored_size, raw_size) + e.id + e.stored
    return bytes(out), records


def index(records: list[tuple], count: int | None = None, sort: bool = True) -> bytes:
    rows = sorted(records) if sort else list(records)
    body = b"CAIRNIX1" + struct.pack("<Q", len(rows) if count is None else count)
    for rid, type_, codec, stored_size, offset, raw_size in rows:
        body += rid + struct.pack("<BBHIQQ", type_, codec, 0, stored_size, offset, raw_size)
    return body + sha(body)


def read_index(path: Path) -> list[tuple]:
    """The records of an index file (id, type, codec, stored_size, offset, raw_size)."""
    return read_index_bytes(path.read_bytes())


def read_index_bytes(data: bytes) -> list[tuple]:
    count = struct.unpack_from("<Q", data, 8)[0]
    out = []
    for i in range(count):
        at = 16 + 56 * i
        type_, codec, _, stored_size, offset, raw_size = struct.unpack_from("<BBHIQQ", data, at + 32)
        out.append((data[at: at + 32], type_, codec, stored_size, offset, raw_size))
    return out


def rewrite_index(packs_dir: Path, name: str, records: list[tuple], sort: bool = True) -> str:
    """Replaces pack `name`'s index with one of `records`, renaming the pack to the new
    index's name as cairn names packs. Returns the new name."""
    idx = index(records, sort=sort)
    new = "pack-" + idx[-32:].hex()
    (packs_dir / f"{name}.pack").rename(packs_dir / f"{new}.pack")
    (packs_dir / f"{name}.idx").unlink()
    (packs_dir / f"{new}.idx").write_bytes(idx)
    return new


def write_pack(packs_dir: Path, entries: list[Entry], records: list[tuple] | None = None,
               pack_bytes: bytes | None = None) -> str:
    """Writes a pack and its index (named as cairn names them) into `packs_dir`; `records`
    and `pack_bytes` replace the computed ones (to make them disagree). Returns the name."""
    data, computed = pack(entries)
    idx = index(computed if records is None else records)
    name = "pack-" + idx[-32:].hex()
    packs_dir.mkdir(parents=True, exist_ok=True)
    (packs_dir / f"{name}.pack").write_bytes(data if pack_bytes is None else pack_bytes)
    (packs_dir / f"{name}.idx").write_bytes(idx)
    return name
