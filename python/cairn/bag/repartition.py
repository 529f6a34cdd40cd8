"""``Bag.repartition``: to a number of partitions, or to partitions of about a size in
memory. Order is kept."""

from __future__ import annotations

import sys
from typing import Any

from ..tokenize import tokenize
from . import chunk
from .core import Bag

__all__ = ["mem_usage", "repartition_count", "repartition_size"]


def repartition_count(bag: Bag, npartitions: int) -> Bag:
    """``npartitions`` partitions: neighbours joined, or each partition cut in equal parts
    (as Dask cuts them)."""
    if npartitions < 1:
        raise ValueError(f"npartitions must be at least 1, got {npartitions}")
    if npartitions == bag.npartitions:
        return bag
    name = f"repartition-{npartitions}-{tokenize(bag, npartitions)}"
    dsk: dict = {}
    if bag.npartitions > npartitions:
        ratio = bag.npartitions / npartitions
        bounds = [int(i * ratio) for i in range(npartitions + 1)]
        for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
            dsk[(name, i)] = (chunk.concat_lists, [(bag.name, j) for j in range(lo, hi)])
    else:
        div, mod = divmod(npartitions, bag.npartitions)
        splits = [div] * bag.npartitions
        splits[-1] += mod
        out = 0
        for j, n in enumerate(splits):
            for s in range(n):
                dsk[(name, out)] = (split_part, (bag.name, j), s, n)
                out += 1
    return Bag(dsk, name, npartitions, (bag,))


def mem_usage(part: Any) -> int:
    """Bytes a partition holds: the list and its elements (``sys.getsizeof``, not deep)."""
    part = chunk.reify(part)
    try:
        return sys.getsizeof(part) + sum(sys.getsizeof(x) for x in part)
    except TypeError:
        return sys.getsizeof(part)


def repartition_size(bag: "Bag", size: Any) -> "Bag":
    """Partitions of about ``size`` bytes in memory (as Dask: measures the partitions
    first, splits the large ones, then joins neighbours up to ``size``)."""
    from .textio import parse_bytes

    if isinstance(size, str):
        size = parse_bytes(size)
    size = int(size)
    if size < 1:
        raise ValueError(f"partition_size must be a positive number of bytes, got {size}")
    usages = bag.map_partitions(mem_usage).compute()
    nsplits = [1 + u // size for u in usages]
    name = f"repartition-size-{tokenize(bag, size)}"
    pieces: list = []  # (key expression, usage)
    for j, (n, u) in enumerate(zip(nsplits, usages)):
        for s_ in range(n):
            pieces.append(((split_part, (bag.name, j), s_, n), u / n))
    groups: list = []
    current: list = []
    total = 0.0
    for expr, u in pieces:
        if current and total + u > size:
            groups.append(current)
            current, total = [], 0.0
        current.append(expr)
        total += u
    if current:
        groups.append(current)
    dsk = {(name, i): (chunk.concat_lists, g) for i, g in enumerate(groups)}
    return Bag(dsk, name, len(dsk), (bag,))


def split_part(part: list, index: int, nsplits: int) -> list:
    """Part ``index`` of ``part`` cut into ``nsplits`` parts of (nearly) equal length."""
    n = len(part)
    lo = n * index // nsplits
    hi = n * (index + 1) // nsplits
    return part[lo:hi]
