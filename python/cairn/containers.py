"""How cairn searches Python containers for collections and rebuilds them around results
(lists, tuples, sets, dicts, namedtuples, dataclasses, iterators, as Dask does); used by
:func:`cairn.base.unpack_collections` and ``compute``."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Callable

class _Slot:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class _Rebuild:
    """A container found while searching for collections, to rebuild around their results."""

    __slots__ = ("build", "parts")

    def __init__(self, build: Callable[[list], Any], parts: list) -> None:
        self.build = build
        self.parts = parts


def is_namedtuple_instance(obj: Any) -> bool:
    return isinstance(obj, tuple) and hasattr(type(obj), "_fields")


def container_parts(obj: Any) -> tuple[Callable[[list], Any], list] | None:
    """How to search a Python container for collections: ``(build, parts)`` where
    ``build(new_parts)`` makes the container again; None for anything else. Lists, tuples,
    sets, dicts (keys and values), namedtuples, dataclass instances and iterators (which
    become lists) are searched, as Dask does."""
    typ = type(obj)
    if typ in (list, tuple, set, frozenset):
        return typ, list(obj)
    if typ is dict or typ is OrderedDict:
        items = list(obj.items())
        return (lambda parts: typ(zip(parts[:len(items)], parts[len(items):])),
                [k for k, _ in items] + [v for _, v in items])
    if is_namedtuple_instance(obj):
        return (lambda parts: typ(*parts)), list(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = [f for f in dataclasses.fields(obj) if hasattr(obj, f.name)]
        return (lambda parts: _build_dataclass(typ, fields, parts),
                [getattr(obj, f.name) for f in fields])
    if isinstance(obj, Iterator):
        return list, list(obj)
    return None


def _build_dataclass(typ: type, fields: list, values: list) -> Any:
    init = {f.name: v for f, v in zip(fields, values) if f.init}
    obj = typ(**init)
    for f, v in zip(fields, values):
        if not f.init:
            object.__setattr__(obj, f.name, v)
    return obj


def _repack(obj: Any, results: list) -> Any:
    typ = type(obj)
    if typ is _Slot:
        return results[obj.index]
    if typ is _Rebuild:
        return obj.build([_repack(x, results) for x in obj.parts])
    return obj
