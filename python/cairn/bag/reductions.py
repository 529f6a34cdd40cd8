"""Tree reductions of Bags: ``Bag.reduction`` (and the reductions built on it) and
``Bag.foldby``. Each partition is reduced on its own, then the results are combined
``split_every`` at a time, level by level, into one."""

from __future__ import annotations

from typing import Any, Callable

from ..delayed import funcname
from ..tokenize import tokenize
from . import chunk
from .item import Item, _item, _lit

__all__ = ["fan_in", "foldby", "reduction"]


def fan_in(split_every: Any, npartitions: int) -> int:
    """How many results each combining task takes: 8 by default, all at once for False (as
    Dask); fewer than 2 could never finish."""
    if split_every is None:
        return 8
    if split_every is False:
        return max(npartitions, 2)
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2 (or False: combine all at once), "
                         f"got {split_every}")
    return split_every


def _combine_levels(dsk: dict, name: str, n: int, split_every: int, level: str,
                    combine: Callable[[list], tuple]) -> tuple[str, int]:
    """Add to ``dsk`` the levels that combine ``(name, 0..n-1)`` ``split_every`` at a time
    (``combine(input keys)`` makes a task), until ``split_every`` or fewer are left; return
    the name and count of that last level."""
    depth = 0
    while n > split_every:
        next_name = f"{level}{depth}"
        starts = range(0, n, split_every)
        for i, start in enumerate(starts):
            dsk[(next_name, i)] = combine([(name, j) for j in
                                           range(start, min(start + split_every, n))])
        name, n, depth = next_name, len(starts), depth + 1
    return name, n


def reduction(bag: Any, perpartition: Callable, aggregate: Callable, split_every: Any,
              out_type: type, name: str | None) -> Any:
    """See :meth:`cairn.bag.Bag.reduction`."""
    split_every = fan_in(split_every, bag.npartitions)
    token = tokenize(bag, perpartition, aggregate, split_every)
    part = f"{name or funcname(perpartition)}-part-{token}"
    is_last = bag.npartitions == 1
    dsk: dict = {(part, i): (chunk.empty_safe_apply, perpartition, (bag.name, i), is_last)
                 for i in range(bag.npartitions)}
    fmt = f"{name or funcname(aggregate)}-aggregate-{token}"
    last, n = _combine_levels(dsk, part, bag.npartitions, split_every, fmt,
                              lambda keys: (chunk.empty_safe_aggregate, aggregate, keys, False))
    final = (chunk.empty_safe_aggregate, aggregate, [(last, j) for j in range(n)], True)
    if out_type is Item:
        dsk[fmt] = final
        return _item(fmt, dsk, (bag,))
    from .core import Bag

    dsk[(fmt, 0)] = final
    return Bag(dsk, fmt, 1, (bag,))


def foldby(bag: Any, key: Callable, binop: Callable, initial: Any, combine: Callable | None,
           combine_initial: Any, split_every: Any) -> Any:
    """See :meth:`cairn.bag.Bag.foldby`."""
    from .core import getter

    split_every = fan_in(split_every, bag.npartitions)
    if combine is None:
        combine = binop
    if not callable(key):
        key = getter(key)
    token = tokenize(bag, key, binop, initial, combine, combine_initial)
    part = f"foldby-a-{token}"
    dsk: dict = {(part, i): (chunk.reduceby, key, binop, (bag.name, i), _lit(initial))
                 for i in range(bag.npartitions)}
    last, n = _combine_levels(dsk, part, bag.npartitions, split_every, part,
                              lambda keys: (chunk.foldby_combine, combine,
                                            _lit(combine_initial), keys))
    name = f"foldby-b-{token}"
    dsk[(name, 0)] = (chunk.dictitems, (chunk.foldby_combine, combine, _lit(combine_initial),
                                        [(last, j) for j in range(n)]))
    return type(bag)(dsk, name, 1, (bag,))

