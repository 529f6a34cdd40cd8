"""Element-wise and partition-wise application of functions across aligned Bags."""

from __future__ import annotations

from typing import Any, Callable

from ..delayed import _unpack, funcname
from ..tokenize import tokenize
from . import chunk
from .core import Bag, _lit

__all__ = ["bag_map", "map_partitions"]

_range = range
_zip = zip


def _bag_args(args: tuple, kwargs: dict) -> tuple[list, int | None]:
    bags = [a for a in args if isinstance(a, Bag)] + [v for v in kwargs.values()
                                                       if isinstance(v, Bag)]
    ns = {b.npartitions for b in bags}
    if len(ns) > 1:
        raise ValueError("Bags passed together must have the same number of partitions, got "
                         + ", ".join(str(b.npartitions) for b in bags))
    return bags, (ns.pop() if ns else None)


def _result_type(bags: list) -> type:
    """The Bag subclass of the result: the bags' own type when they share one (as Dask)."""
    types = {type(b) for b in bags}
    return types.pop() if len(types) == 1 else Bag


def bag_map(func: Callable, *args: Any, **kwargs: Any) -> Bag:
    """Apply ``func`` element-wise across bags (others are passed to every call)."""
    bags, n = _bag_args(args, kwargs)
    if n is None:
        raise ValueError("map needs at least one Bag argument")
    name = f"{funcname(func)}-{tokenize(func, 'map', args, kwargs)}"
    deps: list = list(bags)
    const_args: list = []
    for a in args:
        if not isinstance(a, Bag):
            e, d = _unpack(a)
            deps.extend(d)
            const_args.append(e)
    bag_kw = [k for k, v in kwargs.items() if isinstance(v, Bag)]
    other_kw = {k: v for k, v in kwargs.items() if not isinstance(v, Bag)}
    kw_expr, kw_deps = _unpack(other_kw) if other_kw else (None, [])
    deps.extend(kw_deps)
    dsk: dict = {}
    for i in _range(n):
        iters: list = []
        ci = iter(const_args)
        for a in args:
            iters.append((a.name, i) if isinstance(a, Bag) else (chunk.repeat_constant, next(ci)))
        iters.extend((kwargs[k].name, i) for k in bag_kw)
        dsk[(name, i)] = (chunk.map_chunk, func, iters, _lit(bag_kw) if bag_kw else None,
                          kw_expr)
    return _result_type(bags)(dsk, name, n, deps)


def map_partitions(func: Callable, *args: Any, token: str | None = None, **kwargs: Any) -> Bag:
    """Apply ``func`` to aligned whole partitions of the bag arguments.

    Other arguments (Items and Delayed values among them) are passed to every call;
    ``token`` names the tasks (``token-<hash>``) instead of the function's name, as in Dask.

    Examples
    --------
    >>> import cairn.bag as cb
    >>> b = cb.from_sequence(range(6), npartitions=2)
    >>> cb.map_partitions(lambda part, k: [x * k for x in part], b, 10).compute()
    [0, 10, 20, 30, 40, 50]
    >>> b.map_partitions(len, token="sizes").name.startswith("sizes-")
    True
    """
    bags, n = _bag_args(args, kwargs)
    if n is None:
        raise ValueError("map_partitions needs at least one Bag argument")
    name = f"{token or funcname(func)}-{tokenize(func, 'map-partitions', args, kwargs)}"
    deps: list = list(bags)
    exprs: list = []
    for a in args:
        if isinstance(a, Bag):
            exprs.append(None)
        else:
            e, d = _unpack(a)
            deps.extend(d)
            exprs.append(e)
    dsk: dict = {}
    for i in _range(n):
        call_args = [(a.name, i) if isinstance(a, Bag) else e for a, e in _zip(args, exprs)]
        kw_items = []
        for k, v in kwargs.items():
            if isinstance(v, Bag):
                kw_items.append([k, (v.name, i)])
            else:
                e, d = _unpack(v)
                deps.extend(d)
                kw_items.append([k, e])
        kw_expr = (dict, kw_items) if kw_items else None
        dsk[(name, i)] = (chunk.apply_partition, func, call_args, kw_expr)
    return _result_type(bags)(dsk, name, n, deps)
