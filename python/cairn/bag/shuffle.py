"""groupby for Bags: a hash partition with a fixed, seedless hash."""

from __future__ import annotations

import zlib
from typing import Any, Callable

from ..tokenize import tokenize

from .core import Bag, getter

__all__ = ["groupby", "stable_hash"]


def stable_hash(x: Any) -> int:
    """A hash of ``x`` that is the same in every process and run (unlike ``hash``)."""
    # Equal keys must hash equal across types, as in a dict: True == 1 == 1.0.
    if isinstance(x, str):
        return zlib.crc32(x.encode("utf-8", "surrogatepass"))
    if isinstance(x, bytes):
        return zlib.crc32(x)
    if x is None:
        return zlib.crc32(b"None")
    if isinstance(x, int):  # bool included
        x = int(x)
        return zlib.crc32(x.to_bytes((x.bit_length() + 8) // 8, "little", signed=True))
    if isinstance(x, float) and x.is_integer():
        return stable_hash(int(x))  # 1.0 == 1 must land together
    if isinstance(x, tuple):
        h = 0x345678
        for item in x:
            h = zlib.crc32(stable_hash(item).to_bytes(4, "little"), h)
        return h
    return int(tokenize(x)[:8], 16)


def split_by_hash(grouper: Callable, n: int, part: list) -> list:
    buckets: list = [[] for _ in range(n)]
    for x in part:
        buckets[stable_hash(grouper(x)) % n].append(x)
    return buckets


def collect_groups(grouper: Callable, pieces: list) -> list:
    groups: dict = {}
    for piece in pieces:
        for x in piece:
            groups.setdefault(grouper(x), []).append(x)
    return list(groups.items())


def _bucket(buckets: list, j: int) -> list:
    return buckets[j]


def groupby(b: Bag, grouper: Any, npartitions: int | None = None) -> Bag:
    if not callable(grouper):
        grouper = getter(grouper)
    n = npartitions or b.npartitions
    if n < 1:
        raise ValueError(f"npartitions must be at least 1, got {n}")
    token = tokenize(b, grouper, n)
    split, name = f"groupby-split-{token}", f"groupby-{token}"
    dsk: dict = {(split, i): (split_by_hash, grouper, n, (b.name, i)) for i in range(b.npartitions)}
    for j in range(n):
        dsk[(name, j)] = (collect_groups, grouper,
                          [(_bucket, (split, i), j) for i in range(b.npartitions)])
    return Bag(dsk, name, n, (b,))


