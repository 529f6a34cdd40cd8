"""Making Bags: from Python sequences, Delayed values, ranges, and other Bags."""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterable

from .. import base
from ..delayed import Delayed, _unpack
from ..tokenize import tokenize
from . import chunk
from .core import Bag, _lit
from .mapping import _bag_args

__all__ = ["from_sequence", "from_delayed", "from_url", "range", "concat", "zip"]

_range = range


def from_sequence(seq: Iterable, partition_size: int | None = None,
                  npartitions: int | None = None) -> Bag:
    """A Bag from a Python sequence, split like Dask splits it.

    Parameters
    ----------
    seq : iterable
    partition_size : int, optional
        Elements per partition.
    npartitions : int, optional
        Number of partitions (used when ``partition_size`` is not given).

    Examples
    --------
    >>> import cairn.bag as cb
    >>> b = cb.from_sequence(range(10), npartitions=3)
    >>> b.npartitions, b.compute()
    (3, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    seq = list(seq)
    if npartitions is not None and npartitions < 1:
        raise ValueError(f"npartitions must be at least 1, got {npartitions}")
    if partition_size is not None and partition_size < 1:
        raise ValueError(f"partition_size must be at least 1, got {partition_size}")
    if npartitions and not partition_size:
        if len(seq) <= 100:
            partition_size = int(math.ceil(len(seq) / npartitions))
        else:
            partition_size = max(1, int(math.floor(len(seq) / npartitions)))
    if npartitions is None and partition_size is None:
        if len(seq) <= 100:
            partition_size = 1
        else:
            partition_size = max(1, math.ceil(math.sqrt(len(seq)) / math.sqrt(100)))
    parts = [seq[i:i + partition_size] for i in _range(0, len(seq), partition_size or 1)]
    name = f"from_sequence-{tokenize(seq, partition_size)}"
    if parts:
        dsk = {(name, i): _lit(part) for i, part in enumerate(parts)}
    else:
        dsk = {(name, 0): (list, [])}
    return Bag(dsk, name, len(dsk))


def from_delayed(values: Any) -> Bag:
    """A Bag with one partition per Delayed value (each should compute to a list, or any
    iterable: an iterator is made a list).

    ``values`` is one Delayed or a list of them: cairn's, or any object speaking Dask's
    collection protocol (a ``dask.delayed`` value, a Dask array's ``to_delayed()`` pieces).

    Examples
    --------
    >>> import cairn
    >>> import cairn.bag as cb
    >>> parts = [cairn.delayed(list)(range(i, i + 2)) for i in (0, 10)]
    >>> cb.from_delayed(parts).compute()
    [0, 1, 10, 11]
    """
    if _is_one_value(values):
        values = [values]
    exprs, deps = [], []
    for i, v in enumerate(values):
        if not _is_one_value(v):
            raise TypeError(f"from_delayed: value {i} is a {type(v).__name__}, not a Delayed; "
                            "wrap it with cairn.delayed first")
        key, found = _unpack(v)
        exprs.append(key)
        deps.extend(found)
    name = f"bag-from-delayed-{tokenize(*exprs)}"
    dsk = {(name, i): (chunk.reify, e) for i, e in enumerate(exprs)}
    return Bag(dsk, name, len(exprs), deps)


def _is_one_value(x: Any) -> bool:
    """A cairn Delayed, or a single value of another collection speaking Dask's protocol
    (one output key, as a ``dask.delayed`` value has)."""
    if isinstance(x, Delayed):
        return True
    if isinstance(x, Bag) or not base.is_dask_collection(x):
        return False
    return not isinstance(x.__dask_keys__(), list) or len(x.__dask_keys__()) == 1


def from_url(urls: str | list[str]) -> Bag:
    """A Bag of the lines of each URL (``bytes``, line endings kept), one partition per URL,
    as Dask's ``from_url``. The URLs are read when the bag is computed, with
    :func:`urllib.request.urlopen` (``http://``, ``https://``, ``file://``).

    Examples
    --------
    >>> import cairn.bag as cb
    >>> cb.from_url(["http://example.com/a.txt", "http://example.com/b.txt"]).npartitions
    2
    """
    if isinstance(urls, str):
        urls = [urls]
    urls = list(urls)
    if not urls:
        raise ValueError("from_url() got an empty list of URLs")
    name = f"from_url-{tokenize(urls)}"
    dsk = {(name, i): (_url_lines, url) for i, url in enumerate(urls)}
    return Bag(dsk, name, len(urls))


def _url_lines(url: str) -> list[bytes]:
    from urllib.error import HTTPError
    from urllib.request import urlopen

    try:
        with urlopen(url) as response:
            return list(response)
    except OSError as e:  # URLError, HTTPError, a refused connection: say which URL
        if isinstance(e, HTTPError):
            e.close()  # its error page's connection, else left open until collected
        e.add_note(f"cairn.bag.from_url: reading {url}")
        raise


def range(n: int, npartitions: int) -> Bag:  # noqa: A001 - dask.bag.range
    """Integers ``0 .. n-1`` in ``npartitions`` partitions.

    Examples
    --------
    >>> import cairn.bag as cb
    >>> cb.range(5, npartitions=2).compute()
    [0, 1, 2, 3, 4]
    """
    if npartitions < 1:
        raise ValueError(f"npartitions must be at least 1, got {npartitions}")
    size = max(1, n // npartitions)
    name = f"range-{n}-npartitions-{npartitions}"
    starts = list(itertools.islice(_range(0, n, size), npartitions))
    dsk = {(name, i): (chunk.range_chunk, j, min(j + size, n)) for i, j in enumerate(starts)}
    if n % npartitions != 0 and starts:
        i, j = len(starts) - 1, starts[-1]
        dsk[(name, i)] = (chunk.range_chunk, j, n)
    if not dsk:
        dsk = {(name, 0): (list, [])}
    return Bag(dsk, name, len(dsk))


def concat(bags: list[Bag]) -> Bag:
    """One Bag with the partitions of ``bags`` one after another."""
    name = f"concat-{tokenize(*bags)}"
    keys = [k for b in bags for k in b._keys()]
    dsk = {(name, i): (chunk.reify, k) for i, k in enumerate(keys)}
    return Bag(dsk, name, len(dsk), bags)


def zip(*bags: Bag) -> Bag:  # noqa: A001 - dask.bag.zip
    """Element-wise tuples of bags with the same partitioning."""
    _, n = _bag_args(bags, {})
    name = f"zip-{tokenize(*bags)}"
    dsk = {(name, i): (chunk.zip_chunk, *[(b.name, i) for b in bags]) for i in _range(n or 0)}
    return Bag(dsk, name, n or 0, bags)
