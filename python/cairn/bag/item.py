"""Item: one lazy value computed from a Bag (a reduction's result), and the graph helpers
Bags and Items share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

from .. import base
from ..delayed import _NO_TASK, Delayed, _unpack, funcname
from ..tokenize import tokenize
from .optimize import optimize as _optimize

__all__ = ["Item"]


class Item(Delayed):
    """One lazy value computed from a Bag (the result of a reduction such as ``count``).

    Behaves like a :class:`cairn.Delayed` (operators, attributes, ``compute``); as in Dask,
    ``int()``, ``float()``, ``complex()`` and ``bool()`` of an Item compute it.

    Examples
    --------
    >>> import cairn.bag as cb
    >>> total = cb.from_sequence(range(5), npartitions=2).sum()
    >>> int(total), total.name == total.key
    (10, True)
    """

    __slots__ = ()
    __cairn_optimize__ = staticmethod(_optimize)

    def __init__(self, key: Any, task: Any = _NO_TASK, deps: Any = (),
                 length: int | None = None, layer: Any = None) -> None:
        if isinstance(key, Mapping):
            # Dask's form, Item(dsk, key, layer=None): a graph and the key of the value in
            # it (Dask's ``layer`` names a HighLevelGraph layer; cairn graphs have none).
            dsk, key = key, task
            if key not in dsk:
                raise ValueError(f"Item(dsk, {key!r}): the key is not in the graph dsk")
            super().__init__(key, _NO_TASK, (), layer=dict(dsk))
            return
        super().__init__(key, task, deps, length, layer)
    __dask_optimize__ = staticmethod(_optimize)

    @property
    def name(self) -> Any:
        """The key of this value's task (as Dask's ``Item.name``)."""
        return self._key

    @staticmethod
    def from_delayed(value: Any) -> "Item":
        """An Item computing the value of a Delayed (cairn's, or any object speaking Dask's
        collection protocol, such as a ``dask.delayed`` value).

        Examples
        --------
        >>> import cairn
        >>> import cairn.bag as cb
        >>> cb.Item.from_delayed(cairn.delayed(sum)([1, 2, 3])).compute()
        6
        """
        if isinstance(value, Delayed):
            return Item(value._key, _NO_TASK, (value,))
        if not base.is_dask_collection(value):
            raise TypeError(f"Item.from_delayed needs a Delayed value, got "
                            f"{type(value).__name__}")
        key, deps = _unpack(value)
        return Item(key, _NO_TASK, tuple(deps))

    def apply(self, func: Callable) -> "Item":
        """A new Item: ``func`` applied to this one's value."""
        name = f"{funcname(func)}-{tokenize(self, func, 'apply')}"
        return Item(name, (func, self._key), (self,))

    def to_delayed(self, optimize_graph: bool = True) -> Delayed:
        """This value as a plain Delayed (over the optimized graph unless
        ``optimize_graph=False``)."""
        dsk = _graph_to_hand_over(self, optimize_graph)
        return Delayed(self._key, dsk[self._key], (), layer=dsk)

    def __cairn_postpersist__(self) -> tuple:
        return _rebuild_item, (self._key,)

    __dask_postpersist__ = __cairn_postpersist__

    def __reduce__(self) -> tuple:
        # The "no task here" marker is an identity-compared object: never pickle or copy it.
        has_task = self._task is not _NO_TASK
        return (_restore_item, (self._key, has_task, self._task if has_task else None,
                                self._deps, self._layer))

    def __int__(self) -> int:
        return int(self.compute())

    def __float__(self) -> float:
        return float(self.compute())

    def __complex__(self) -> complex:
        return complex(self.compute())

    def __bool__(self) -> bool:
        return bool(self.compute())

    __nonzero__ = __bool__

    def __repr__(self) -> str:
        return f"cairn.bag.Item<{self._key}>"


def _restore_item(key: Any, has_task: bool, task: Any, deps: tuple, layer: dict | None) -> Item:
    return Item(key, task if has_task else _NO_TASK, deps, layer=layer)


def _rebuild_item(dsk: dict, key: Any, rename: dict | None = None) -> Item:
    """The persisted Item (Dask's postpersist ``rebuild``; ``rename`` maps old keys to new)."""
    if rename:
        key = rename.get(key, key)
    return Item(key, dsk[key], ())


def _graph_to_hand_over(collection: Any, optimize_graph: bool) -> dict:
    """``collection``'s graph for the Delayed objects of ``to_delayed`` (which carry their
    tasks, so they pickle and copy whole), optimized as Dask does unless told not to."""
    dsk = collection.__cairn_graph__()
    if optimize_graph:
        dsk = collection.__cairn_optimize__(dsk, collection.__cairn_keys__())
    return dsk


def _lit(value: Any) -> tuple:
    """The task expression whose value is ``value`` itself (never read as a key or task)."""
    return (base.literal(value),)


def _item(name: str, layer: dict, deps: tuple) -> Item:
    return Item(name, _NO_TASK, deps, layer=layer)
