"""Bag: a partitioned collection of Python objects, named and behaving like ``dask.bag``."""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Callable, Iterable

from .. import base
from .._no_default import no_default
from ..core import recipes as _recipes
from ..delayed import Delayed, _unpack, funcname
from ..tokenize import tokenize
from . import chunk
from .item import Item, _graph_to_hand_over, _item, _lit  # noqa: F401 - native.py's _item
from .optimize import optimize as _optimize

__all__ = ["Bag", "Item"]

# Dask's ``dask.bag.core`` also holds the module-level API; the same names here, made by
# the modules that import this one (so they are looked up when first asked for).
_ELSEWHERE = {
    "from_sequence": ("sources", "from_sequence"), "from_delayed": ("sources", "from_delayed"),
    "concat": ("sources", "concat"), "from_url": ("sources", "from_url"),
    "bag_range": ("sources", "range"),
    "bag_zip": ("sources", "zip"), "bag_map": ("mapping", "bag_map"),
    "map_partitions": ("mapping", "map_partitions"), "to_textfiles": ("text", "to_textfiles"),
}


def __getattr__(name: str) -> Any:
    where = _ELSEWHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__package__}.{where[0]}"), where[1])

_range = range
_zip = zip


class Bag:
    """A parallel collection of Python objects in ``npartitions`` partitions (lists).

    Build one with :func:`from_sequence`, :func:`read_text`, :func:`from_delayed` or
    :func:`range`; transform it lazily; get a Python list with ``.compute()``.

    Examples
    --------
    >>> import cairn.bag as cb
    >>> b = cb.from_sequence(range(10), npartitions=3)
    >>> b.map(lambda x: x * 2).filter(lambda x: x > 5).compute()
    [6, 8, 10, 12, 14, 16, 18]
    >>> b.sum().compute()
    45
    """

    def __init__(self, layer: dict, name: str, npartitions: int,
                 dependencies: Iterable[Any] = ()) -> None:
        self._layer = layer
        self.name = name
        self.npartitions = npartitions
        self._deps = tuple(dependencies)
        self._native = None          # NativeText when the partitions come from native scans
        self._native_counts = False  # True for a native frequencies result (for topk)
        # (source bag, split_every) of a native unsorted frequencies result: topk rebuilds it
        self._native_topk_source: Any = None

    # --- collection protocol -----------------------------------------------------------
    __cairn_optimize__ = staticmethod(_optimize)

    def __cairn_graph__(self) -> dict:
        return base.collect_graph(self)

    def __cairn_keys__(self) -> list:
        return [(self.name, i) for i in _range(self.npartitions)]

    def __cairn_postcompute__(self) -> tuple:
        return chunk.finalize, ()

    def __cairn_postpersist__(self) -> tuple:
        return _rebuild_bag, (type(self), self.name, self.npartitions)

    def __cairn_tokenize__(self) -> Any:
        return self.name

    # Dask's collection protocol, so Dask (and dask.distributed) accept a cairn Bag.
    def __dask_graph__(self) -> dict:
        return _recipes.dask_graph(self)

    __dask_keys__ = __cairn_keys__
    def __dask_postcompute__(self) -> tuple:
        return _recipes.dask_postcompute(self)

    __dask_postpersist__ = __cairn_postpersist__
    __dask_tokenize__ = __cairn_tokenize__
    __dask_optimize__ = staticmethod(_optimize)

    def __dask_layers__(self) -> tuple:
        return (self.name,)

    # Dask's compute() of a cairn Bag runs on cairn's threads by default: the function a
    # Delayed (and an Item) names, so Dask sees one default scheduler for all of them.
    __dask_scheduler__ = staticmethod(Delayed.__dask_scheduler__)

    @property
    def _args(self) -> tuple:
        """``(graph, name, npartitions)``: ``Bag(*b._args)`` (or a subclass's) is ``b`` again,
        as in Dask, where extending Bag starts from it."""
        return (self.__cairn_graph__(), self.name, self.npartitions)

    @property
    def dask(self) -> dict:
        """The task graph (a dict in Dask's graph spec), as Dask's schedulers receive it:
        native tasks appear as the Python calls that rebuild and run them."""
        return self.__dask_graph__()

    def compute(self, **kwargs: Any) -> list:
        """Compute the bag into a list; keywords as for :func:`cairn.compute`."""
        return base.compute(self, traverse=False, **kwargs)[0]

    def persist(self, **kwargs: Any) -> "Bag":
        """Compute the partitions and keep them; returns a Bag over the results."""
        return base.persist(self, traverse=False, **kwargs)[0]

    def visualize(self, filename: str = "mydask", format: str | None = None,
                  optimize_graph: bool = False, **kwargs: Any) -> Any:
        """Draw the task graph (see :func:`cairn.visualize`)."""
        from ..dot import visualize

        return visualize(self, filename=filename, format=format, optimize_graph=optimize_graph,
                         **kwargs)

    def __repr__(self) -> str:
        return f"cairn.bag<{_short(self.name)}, npartitions={self.npartitions}>"

    def _repr_html_(self) -> str:
        tasks = len(self.__cairn_graph__())
        return (
            "<div><strong>cairn.bag</strong> "
            f"<code>{_short(self.name)}</code><table>"
            f"<tr><th style='text-align:left'>partitions</th><td>{self.npartitions}</td></tr>"
            f"<tr><th style='text-align:left'>tasks in graph</th><td>{tasks}</td></tr>"
            "</table></div>"
        )

    def __iter__(self):
        return iter(self.compute())

    def _new(self, prefix: str, layer_fn: Callable[[str], dict], token_args: tuple,
             npartitions: int | None = None, extra_deps: tuple = ()) -> "Bag":
        name = f"{prefix}-{tokenize(self, *token_args)}"
        return type(self)(layer_fn(name), name, npartitions or self.npartitions,
                          (self, *extra_deps))

    def _keys(self) -> list:
        return [(self.name, i) for i in _range(self.npartitions)]

    # --- element-wise --------------------------------------------------------------------
    def map(self, func: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Apply ``func`` to every element; other Bag arguments are zipped element-wise.

        Examples
        --------
        >>> import cairn.bag as cb
        >>> a = cb.from_sequence([1, 2, 3], npartitions=2)
        >>> a.map(lambda x, y: x + y, a).compute()
        [2, 4, 6]
        """
        from . import native

        if native.native_spec(self, "str") is not None:
            op = native.map_op(func, args, kwargs)
            if op is not None:
                return native.extend(self, op, "list" if op == "split" else "str")
        from .mapping import bag_map

        return bag_map(func, self, *args, **kwargs)

    def ngrams(self, n: int, sep: str = " ") -> "Bag":
        """For elements that are sequences of strings: the list of their ``n``-grams, each
        joined by ``sep`` (``["a", "b", "c"]`` -> ``["a b", "b c"]`` for n=2).

        Examples
        --------
        >>> import cairn.bag as cb
        >>> cb.from_sequence(["a b c"]).str.split().ngrams(2).compute()
        [['a b', 'b c']]
        """
        from . import native

        if n < 1:
            raise ValueError(f"ngrams: n must be at least 1, got {n}")
        if native.native_spec(self, "list") is not None:
            return native.extend(self, "ngrams", "list", n, sep)
        return self.map(partial(chunk.ngrams, n, sep))

    def starmap(self, func: Callable, **kwargs: Any) -> "Bag":
        """Apply ``func`` to the unpacked elements: ``func(*element, **kwargs)``."""
        kw_expr, kw_deps = _unpack(kwargs) if kwargs else (None, [])
        return self._new(
            f"{funcname(func)}-starmap",
            lambda n: {(n, i): (chunk.starmap_chunk, func, k, kw_expr)
                       for i, k in enumerate(self._keys())},
            (func, kwargs), extra_deps=tuple(kw_deps))

    def filter(self, predicate: Callable) -> "Bag":
        """Keep the elements for which ``predicate`` is true (``None``: truthy elements)."""
        from . import native

        if predicate is None:
            predicate = bool

        spec = native.native_spec(self)
        if spec is not None and predicate is bool:
            return native.extend(self, "nonempty", spec.kind)
        return self._new(f"filter-{funcname(predicate)}",
                         lambda n: {(n, i): (chunk.filter_chunk, predicate, k)
                                    for i, k in enumerate(self._keys())}, (predicate,))

    def remove(self, predicate: Callable) -> "Bag":
        """Drop the elements for which ``predicate`` is true."""
        return self._new(f"remove-{funcname(predicate)}",
                         lambda n: {(n, i): (chunk.remove_chunk, predicate, k)
                                    for i, k in enumerate(self._keys())}, (predicate,))

    def flatten(self) -> "Bag":
        """Concatenate the elements (each an iterable) into one stream of elements."""
        from . import native

        if native.native_spec(self, "list") is not None:
            return native.extend(self, "flatten", "str")
        return self._new("flatten", lambda n: {(n, i): (chunk.flatten_chunk, k)
                                               for i, k in enumerate(self._keys())}, ())

    concat = flatten

    def map_partitions(self, func: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Apply ``func`` to each whole partition (a list); Bag arguments are aligned."""
        from .mapping import map_partitions

        return map_partitions(func, self, *args, **kwargs)

    def pluck(self, key: Any, default: Any = no_default) -> "Bag":
        """Select ``element[key]`` from every element (a list of keys gives tuples)."""
        return self._new("pluck", lambda n: {(n, i): (chunk.pluck_chunk, _lit(key), k,
                                                      _lit(default))
                                             for i, k in enumerate(self._keys())},
                         (key, default))

    def unzip(self, n: int) -> tuple:
        """A bag of ``n``-tuples as ``n`` bags, one per position.

        Examples
        --------
        >>> import cairn.bag as cb
        >>> first, second = cb.from_sequence([(1, "a"), (2, "b")]).unzip(2)
        >>> first.compute(), second.compute()
        ([1, 2], ['a', 'b'])
        """
        return tuple(self.pluck(i) for i in _range(n))

    def random_sample(self, prob: float, random_state: Any = None) -> "Bag":
        """Keep each element with probability ``prob``; a seed makes it reproducible."""
        import random as _random

        if not 0 <= prob <= 1:
            raise ValueError("prob must be a number in the interval [0, 1]")
        if not isinstance(random_state, _random.Random):
            random_state = _random.Random(random_state)
        states = _random_states(self.npartitions, random_state)
        return self._new("random-sample", lambda n: {
            (n, i): (chunk.random_sample_chunk, k, _lit(s), prob)
            for i, (k, s) in enumerate(_zip(self._keys(), states))}, (prob, states[:1]))

    # --- reductions ------------------------------------------------------------------------
    def reduction(self, perpartition: Callable, aggregate: Callable, split_every: int | None = None,
                  out_type: type = Item, name: str | None = None) -> Any:
        """Reduce each partition with ``perpartition``, then the results with ``aggregate``
        (in a tree, ``split_every`` at a time).

        Examples
        --------
        >>> import cairn.bag as cb
        >>> cb.from_sequence(range(10), npartitions=4).reduction(sum, sum).compute()
        45
        """
        from .reductions import reduction

        return reduction(self, perpartition, aggregate, split_every, out_type, name)

    def fold(self, binop: Callable, combine: Callable | None = None, initial: Any = no_default,
             split_every: int | None = None, out_type: type = Item) -> Any:
        """Reduce with a binary operator: ``binop`` within partitions, ``combine`` across.

        ``initial`` starts every partition's reduction (not the combination's), as in Dask.

        Examples
        --------
        >>> import cairn.bag as cb
        >>> from operator import add
        >>> cb.from_sequence(range(5), npartitions=2).fold(add).compute()
        10
        """
        combine = combine or binop
        return self.reduction(partial(chunk.reduce_with, binop, initial=initial),
                              partial(chunk.reduce_with, combine),
                              split_every=split_every, out_type=out_type)

    def foldby(self, key: Callable, binop: Callable, initial: Any = no_default,
               combine: Callable | None = None, combine_initial: Any = no_default,
               split_every: int | None = None) -> "Bag":
        """Group by ``key`` and reduce each group with ``binop`` (no full groups in memory).

        Examples
        --------
        >>> import cairn.bag as cb
        >>> from operator import add
        >>> b = cb.from_sequence(range(10), npartitions=3)
        >>> sorted(b.foldby(lambda x: x % 2, add).compute())
        [(0, 20), (1, 25)]
        """
        from .reductions import foldby

        return foldby(self, key, binop, initial, combine, combine_initial, split_every)

    def frequencies(self, split_every: int | None = None, sort: bool = False) -> "Bag":
        """Count occurrences of each element: a Bag of ``(element, count)`` pairs.

        Examples
        --------
        >>> import cairn.bag as cb
        >>> cb.from_sequence(["a", "b", "a"]).frequencies(sort=True).compute()
        [('a', 2), ('b', 1)]
        """
        from . import native

        if native.native_spec(self, "str") is not None:
            return native.frequencies(self, split_every, sort)
        result = self.reduction(chunk.frequencies, chunk.merge_frequencies, out_type=Bag,
                                split_every=split_every, name="frequencies")
        result = result.map_partitions(chunk.dictitems)
        if sort:
            result = result.map_partitions(chunk.sort_counts)
        return result

    def topk(self, k: int, key: Any = None, split_every: int | None = None) -> "Bag":
        """The ``k`` largest elements (by ``key``), largest first.

        Examples
        --------
        >>> import cairn.bag as cb
        >>> cb.from_sequence([5, 1, 9, 3]).topk(2).compute()
        [9, 5]
        """
        from . import native

        if self._native_counts and key == 1 and native.enabled():
            return native.topk_of_counts(self, k)
        if key is not None and not callable(key):
            key = getter(key)
        elif key is not None and _takes_multiple_arguments(key):
            key = partial(_apply_star, key)
        return self.reduction(partial(chunk.topk, k, key), partial(chunk.topk_merge, k, key),
                              out_type=Bag, split_every=split_every, name="topk")

    def distinct(self, key: Any = None) -> "Bag":
        """Distinct elements (by ``key``), in order of first appearance."""
        from . import native

        if key is None and native.native_spec(self, "str") is not None:
            return native.distinct(self)
        if key is not None and not callable(key):
            key = getter(key)
        func = chunk.unique if key is None else partial(chunk.unique, key=key)
        agg = chunk.merge_distinct if key is None else partial(chunk.merge_distinct, key=key)
        return self.reduction(func, agg, out_type=Bag, name="distinct")

    def count(self, split_every: int | None = None) -> Item:
        """Number of elements."""
        from . import native

        if native.native_spec(self) is not None:
            return native.count(self, split_every)
        return self.reduction(chunk.count, sum, split_every=split_every)

    def sum(self, split_every: int | None = None) -> Item:
        """Sum of the elements."""
        return self.reduction(sum, sum, split_every=split_every)

    def min(self, split_every: int | None = None) -> Item:
        """Smallest element."""
        return self.reduction(min, min, split_every=split_every)

    def max(self, split_every: int | None = None) -> Item:
        """Largest element."""
        return self.reduction(max, max, split_every=split_every)

    def any(self, split_every: int | None = None) -> Item:
        """True if any element is true."""
        return self.reduction(any, any, split_every=split_every)

    def all(self, split_every: int | None = None) -> Item:
        """True if every element is true."""
        return self.reduction(all, all, split_every=split_every)

    def mean(self) -> Item:
        """Arithmetic mean of the elements (a float)."""
        return self.reduction(chunk.mean_chunk, chunk.mean_aggregate, split_every=False,
                              name="mean")

    def var(self, ddof: int = 0) -> Item:
        """Variance of the elements."""
        return self.reduction(chunk.var_chunk, partial(chunk.var_aggregate, ddof=ddof),
                              split_every=False, name="var")

    def std(self, ddof: int = 0) -> Item:
        """Standard deviation of the elements."""
        return self.var(ddof=ddof).apply(math.sqrt)

    # --- structure ----------------------------------------------------------------------------
    def take(self, k: int, npartitions: int = 1, compute: bool = True, warn: bool = True) -> Any:
        """The first ``k`` elements, looking in the first ``npartitions`` partitions
        (``-1``: all). Returns a tuple (or a Bag with ``compute=False``).

        Examples
        --------
        >>> import cairn.bag as cb
        >>> cb.from_sequence(range(10), npartitions=2).take(3)
        (0, 1, 2)
        """
        if npartitions <= -1:
            npartitions = self.npartitions
        if npartitions > self.npartitions:
            raise ValueError(f"only {self.npartitions} partitions, take received {npartitions}")
        token = tokenize(self, k, npartitions)
        name = f"take-{token}"
        if npartitions > 1:
            name_p = f"take-partial-{token}"
            dsk: dict = {(name_p, i): (chunk.take_chunk, k, (self.name, i))
                         for i in _range(npartitions)}
            dsk[(name, 0)] = (chunk.safe_take, k, [(name_p, i) for i in _range(npartitions)], warn)
        else:
            dsk = {(name, 0): (chunk.safe_take, k, [(self.name, 0)], warn)}
        b = Bag(dsk, name, 1, (self,))
        return tuple(b.compute()) if compute else b

    def repartition(self, npartitions: int | None = None,
                    partition_size: int | None = None) -> "Bag":
        """Change the number of partitions (order is kept)."""
        if (npartitions is None) == (partition_size is None):
            raise ValueError("Please provide exactly one ``npartitions`` or ``partition_size`` "
                             "keyword arguments")
        from .repartition import repartition_count, repartition_size

        if partition_size is not None:
            return repartition_size(self, partition_size)
        return repartition_count(self, npartitions)

    def accumulate(self, binop: Callable, initial: Any = no_default) -> "Bag":
        """Running reduction over the elements in order (like ``itertools.accumulate``).

        Examples
        --------
        >>> import cairn.bag as cb
        >>> from operator import add
        >>> cb.from_sequence([1, 2, 3, 4], npartitions=2).accumulate(add).compute()
        [1, 3, 6, 10]
        """
        token = tokenize(self, binop, initial)
        bname = funcname(binop)
        a, b, c = (f"{bname}-part-{token}", f"{bname}-first-{token}", f"{bname}-second-{token}")
        dsk: dict = {
            (a, 0): (chunk.accumulate_part, binop, (self.name, 0), _lit(initial), True),
            (b, 0): (chunk.first, (a, 0)),
            (c, 0): (chunk.second, (a, 0)),
        }
        for i in _range(1, self.npartitions):
            dsk[(a, i)] = (chunk.accumulate_part, binop, (self.name, i), (c, i - 1))
            dsk[(b, i)] = (chunk.first, (a, i))
            dsk[(c, i)] = (chunk.second, (a, i))
        return Bag(dsk, b, self.npartitions, (self,))

    def join(self, other: Any, on_self: Any, on_other: Any = None) -> "Bag":
        """Join with ``other`` (an iterable, a Delayed, or a one-partition Bag) on keys:
        a Bag of ``(other_element, self_element)`` pairs."""
        on_other = on_self if on_other is None else on_other
        if not callable(on_self):
            on_self = partial(_getitem, on_self)
        if not callable(on_other):
            on_other = partial(_getitem, on_other)
        deps: tuple = ()
        if isinstance(other, Bag):
            if other.npartitions != 1:
                raise NotImplementedError(
                    "Multi-bag joins are not implemented; join a bag with one partition "
                    "(other.repartition(npartitions=1)) or a list")
            other_expr: Any = (other.name, 0)
            deps = (other,)
        elif isinstance(other, Delayed):
            other_expr, deps = other._key, (other,)
        else:
            other_expr = _lit(list(other))
        token = tokenize(self, other, on_self, on_other)
        index = f"join-index-{token}"
        name = f"join-{token}"
        dsk: dict = {index: (chunk.index_by, on_other, other_expr)}
        for i, k in enumerate(self._keys()):
            dsk[(name, i)] = (chunk.join_chunk, index, on_self, k)
        return type(self)(dsk, name, self.npartitions, (self, *deps))

    def product(self, other: "Bag") -> "Bag":
        """Cartesian product of two bags: every ``(a, b)`` pair."""
        name = f"product-{tokenize(self, other)}"
        n, m = self.npartitions, other.npartitions
        dsk = {(name, i * m + j): (chunk.product_chunk, (self.name, i), (other.name, j))
               for i in _range(n) for j in _range(m)}
        return type(self)(dsk, name, n * m, (self, other))

    def groupby(self, grouper: Any, method: str | None = None, npartitions: int | None = None,
                blocksize: int = 2**20, max_branch: int | None = None,
                shuffle: str | None = None) -> "Bag":
        """Group elements by ``grouper``: a Bag of ``(key, [elements])`` pairs.

        Grouping hashes keys with a fixed, seedless hash, so partitions (and their order)
        are the same on every run and every executor.
        """
        from .shuffle import groupby

        return groupby(self, grouper, npartitions)

    def to_delayed(self, optimize_graph: bool = True) -> list[Delayed]:
        """One Delayed per partition, each carrying the bag's graph (optimized, as in Dask,
        unless ``optimize_graph=False``)."""
        dsk = _graph_to_hand_over(self, optimize_graph)
        return [Delayed(k, dsk[k], (), layer=dsk) for k in self._keys()]

    def to_textfiles(self, path: Any, name_function: Callable | None = None,
                     compression: str = "infer", encoding: str = "utf-8", compute: bool = True,
                     storage_options: dict | None = None, last_endline: bool = False,
                     **kwargs: Any) -> Any:
        """Write each partition to a text file; see :func:`cairn.bag.to_textfiles`."""
        from .text import to_textfiles

        return to_textfiles(self, path, name_function=name_function, compression=compression,
                            encoding=encoding, compute=compute, storage_options=storage_options,
                            last_endline=last_endline, **kwargs)

    @property
    def str(self) -> Any:
        """String methods applied to every element: ``b.str.lower()``, ``b.str.split()``."""
        from .text import StringAccessor

        return StringAccessor(self)


def _short(name: str) -> str:
    return name if len(name) < 40 else name[:37] + "..."


def _rebuild_bag(dsk: dict, cls: type, name: str, npartitions: int,
                 rename: dict | None = None) -> Bag:
    """The persisted bag (Dask's postpersist ``rebuild``; ``rename`` maps old names to new)."""
    if rename:
        name = rename.get(name, name)
    return cls(dsk, name, npartitions)


def _getitem(key: Any, x: Any) -> Any:
    return x[key]


def _getitems(keys: list, x: Any) -> tuple:
    return tuple(x[k] for k in keys)


def getter(key: Any) -> Callable:
    """``x[key]`` as a function; a list of keys gives a tuple (as Dask's ``getter``)."""
    if isinstance(key, list):
        return partial(_getitems, key)
    return partial(_getitem, key)


def _apply_star(func: Callable, args: Any) -> Any:
    return func(*args)


def _takes_multiple_arguments(func: Callable) -> bool:
    import inspect

    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    params = [p for p in sig.parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    return len(params) > 1


def _random_states(n: int, random_state: Any) -> list:
    """Per-partition Mersenne Twister states derived from one seed (as Dask derives them)."""
    import numpy as np

    random_state = random_state.randint(0, 1 << 32)
    data = np.random.default_rng(random_state).bytes(624 * n * 4)
    rows = np.frombuffer(data, dtype=np.uint32).reshape((n, -1)).tolist()
    return [(3, tuple(row) + (624,), None) for row in rows]
