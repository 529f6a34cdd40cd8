"""Per-partition functions of Bag tasks. Module-level so they pickle by reference."""

from __future__ import annotations

import collections
import functools
import heapq
import itertools
from collections.abc import Iterator
from typing import Any, Callable

from .._no_default import no_default


class _NoResult:
    """Marks an empty partition's reduction result, skipped by the aggregate."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "no_result"

    def __repr__(self) -> str:
        return "no_result"


no_result = _NoResult()


def reify(seq: Any) -> Any:
    """Materialize an iterator result of a user function into a list (and, as Dask does,
    its items too when they are iterators: ``map`` with a generator function gives lists).
    Every element-wise step's result goes through it, fused or not."""
    if isinstance(seq, Iterator):
        seq = list(seq)
    if isinstance(seq, list) and seq and isinstance(seq[0], Iterator):
        seq = [list(x) for x in seq]
    return seq


def map_chunk(func: Callable, iters: list, iter_kwarg_keys: list | None, kwargs: dict | None) -> list:
    """``func`` over the zipped partitions ``iters``; the last ``len(iter_kwarg_keys)`` of them
    are passed as those keyword arguments; ``kwargs`` are passed as they are."""
    nkw = len(iter_kwarg_keys) if iter_kwarg_keys else 0
    bag_lengths = {len(x) for x in iters if isinstance(x, (list, tuple))}
    if len(bag_lengths) > 1:
        raise ValueError(
            "map called with multiple bags that aren't identically partitioned. Please "
            "ensure that all bag arguments have the same partition lengths")
    positional = iters[: len(iters) - nkw] if nkw else iters
    if not nkw:
        return reify(list(map_lazy(func, positional, None, kwargs)))
    out = []
    for values in zip(*iters):
        kw = dict(kwargs) if kwargs else {}
        kw.update(zip(iter_kwarg_keys, values[len(values) - nkw:]))
        out.append(func(*values[: len(values) - nkw], **kw))
    return reify(out)


def repeat_constant(value: Any) -> Any:
    return itertools.repeat(value)


def starmap_chunk(func: Callable, part: list, kwargs: dict | None) -> list:
    return reify(list(starmap_lazy(func, part, kwargs)))


def filter_chunk(predicate: Callable, part: list) -> list:
    return reify([x for x in part if predicate(x)])


def remove_chunk(predicate: Callable, part: list) -> list:
    return reify([x for x in part if not predicate(x)])


def flatten_chunk(part: list) -> list:
    return reify(list(itertools.chain.from_iterable(part)))


def apply_partition(func: Callable, args: list, kwargs: dict | None) -> Any:
    return reify(func(*args, **kwargs) if kwargs else func(*args))


def pluck_chunk(key: Any, part: list, default: Any) -> list:
    return reify(list(pluck_lazy(key, part, default)))


def _get(x: Any, key: Any, default: Any) -> Any:
    try:
        return x[key]
    except (KeyError, IndexError):
        return default


def empty_safe_apply(func: Callable, part: Any, is_last: bool) -> Any:
    """``func(part)``, or :data:`no_result` for an empty partition that is not the last one
    (so a reduction over partitions some of which are empty skips them)."""
    part = reify(part)
    if not is_last and is_empty(part):
        return no_result
    return func(part)


def is_empty(part: Any) -> bool:
    """Whether a partition holds nothing: by ``len`` (lists, NumPy arrays), else by ``nnz``
    (sparse matrices, whose ``len`` is an error) or a zero in ``shape``. Never by truth value,
    which NumPy refuses for arrays of more than one element."""
    try:
        return len(part) == 0
    except TypeError:
        pass
    nnz = getattr(part, "nnz", None)
    if nnz is not None:
        return nnz == 0
    shape = getattr(part, "shape", None)
    if isinstance(shape, tuple):
        return 0 in shape
    return False


def empty_safe_aggregate(func: Callable, parts: list, is_last: bool) -> Any:
    return empty_safe_apply(func, [p for p in parts if p is not no_result], is_last)


def empty_safe_stream(func: Callable, part: Any, is_last: bool) -> Any:
    """:func:`empty_safe_apply` for a reduction that gives the same answer on an iterator as
    on a list (``frequencies``, ``count``, ``sum``, ...): a fused, lazy partition is counted
    as it streams, without a list of it."""
    if not isinstance(part, Iterator):
        return empty_safe_apply(func, part, is_last)
    box = [next(part, _END)]  # held in a box, not a local, so the reduction may free it
    if box[0] is _END:
        return empty_safe_apply(func, [], is_last)
    if isinstance(box[0], Iterator):  # reify's rule: items that are iterators become lists
        return empty_safe_apply(func, [box.pop(), *part], is_last)
    return func(_with_head(box, part))


def _with_head(box: list, rest: Iterator) -> Iterator:
    """The element in ``box`` then those of ``rest``, holding none once handed on."""
    yield box.pop()
    yield from rest


_END = object()


# Lazy forms of the element-wise steps: inside a fused chain (bag/optimize.py) a step hands
# the next an iterator instead of a list; only the chain's last step makes a list.
def map_lazy(func: Callable, iters: list, iter_kwarg_keys: None, kwargs: dict | None) -> Any:
    if kwargs:
        func = functools.partial(func, **kwargs)  # a generator would hold each input
    return lists_if_iterators(map(func, *iters))


def lists_if_iterators(results: Iterator) -> Iterator:
    """``results`` of a user function, each made a list when the first is an iterator (a
    generator function), as :func:`reify` does: the next step sees what it would see if the
    steps were not fused. Holds no element once it is handed on (the first is kept in a box,
    not a local, which a suspended generator would hold until resumed): a chain of fused
    steps holds one element at a time."""
    box = [next(results, _END)]
    if box[0] is _END:
        return
    if isinstance(box[0], Iterator):
        yield list(box.pop())
        yield from map(list, results)
    else:
        yield box.pop()
        yield from results


def filter_lazy(predicate: Callable, part: Any) -> Any:
    return filter(predicate, part)


def remove_lazy(predicate: Callable, part: Any) -> Any:
    return itertools.filterfalse(predicate, part)


def flatten_lazy(part: Any) -> Any:
    return itertools.chain.from_iterable(part)


def starmap_lazy(func: Callable, part: Any, kwargs: dict | None) -> Any:
    if kwargs:
        func = functools.partial(func, **kwargs)
    return lists_if_iterators(itertools.starmap(func, part))


def pluck_lazy(key: Any, part: Any, default: Any) -> Any:
    if isinstance(key, list):
        if default is no_default:
            return (tuple(x[k] for k in key) for x in part)
        return (tuple(_get(x, k, default) for k in key) for x in part)
    if default is no_default:
        return (x[key] for x in part)
    return (_get(x, key, default) for x in part)


def reduce_with(binop: Callable, seq: Any, initial: Any = no_default) -> Any:
    if initial is no_default:
        return functools.reduce(binop, seq)
    return functools.reduce(binop, seq, initial)


def count(seq: list) -> int:
    return len(seq) if isinstance(seq, list) else sum(1 for _ in seq)


def frequencies(seq: list) -> dict:
    # Counter counts in C (collections._count_elements); keys keep first-seen order.
    return dict(collections.Counter(seq))


def merge_frequencies(dicts: list) -> dict:
    if not dicts:
        return {}
    out = dict(dicts[0])
    for d in dicts[1:]:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def dictitems(d: dict) -> list:
    return list(d.items())


def sort_counts(pairs: list) -> list:
    return sorted(pairs, key=_second, reverse=True)


def _second(pair: tuple) -> Any:
    return pair[1]


def topk(k: int, key: Callable | None, seq: Any) -> tuple:
    return tuple(heapq.nlargest(k, seq, key=key))


def topk_merge(k: int, key: Callable | None, parts: list) -> tuple:
    return tuple(heapq.nlargest(k, itertools.chain.from_iterable(parts), key=key))


def unique(seq: Any, key: Callable | None = None) -> list:
    seen: set = set()
    out = []
    if key is None:
        for x in seq:
            if x not in seen:
                seen.add(x)
                out.append(x)
    else:
        for x in seq:
            k = key(x)
            if k not in seen:
                seen.add(k)
                out.append(x)
    return out


def merge_distinct(parts: list, key: Callable | None = None) -> list:
    return unique(itertools.chain.from_iterable(parts), key)


def mean_chunk(seq: list) -> tuple:
    total, n = 0.0, 0
    for x in seq:
        total += x
        n += 1
    return total, n


def mean_aggregate(parts: list) -> float:
    totals, counts = list(zip(*parts))
    return 1.0 * sum(totals) / sum(counts)


def var_chunk(seq: list) -> tuple:
    squares, total, n = 0.0, 0.0, 0
    for x in seq:
        squares += x**2
        total += x
        n += 1
    return squares, total, n


def var_aggregate(parts: list, ddof: int) -> float:
    squares, totals, counts = list(zip(*parts))
    x2, x, n = float(sum(squares)), float(sum(totals)), sum(counts)
    result = (x2 / n) - (x / n) ** 2
    return result * n / (n - ddof)


def reduceby(key: Callable, binop: Callable, seq: Any, initial: Any) -> dict:
    out: dict = {}
    for item in seq:
        k = key(item)
        if k in out:
            out[k] = binop(out[k], item)
        elif initial is no_default:
            out[k] = item
        else:
            start = initial() if callable(initial) else initial
            out[k] = binop(start, item)
    return out


def foldby_combine(combine: Callable, initial: Any, dicts: list) -> dict:
    out: dict = {}
    for d in dicts:
        for k, v in d.items():
            if k in out:
                out[k] = combine(out[k], v)
            elif initial is no_default:
                out[k] = v
            else:
                start = initial() if callable(initial) else initial
                out[k] = combine(start, v)
    return out


def take_chunk(k: int, part: list) -> list:
    return list(itertools.islice(part, k))


def safe_take(k: int, parts: list, warn: bool) -> list:
    import warnings

    r = list(itertools.islice(itertools.chain.from_iterable(parts), k))
    if len(r) != k and warn:
        warnings.warn(
            f"Insufficient elements for `take`. {k} elements requested, only {len(r)} "
            "elements available. Try passing larger `npartitions` to `take`."
        )
    return r


def accumulate_part(binop: Callable, seq: list, initial: Any, is_first: bool = False) -> tuple:
    if initial is no_default:
        res = list(itertools.accumulate(seq, binop))
    else:
        res = list(itertools.accumulate(seq, binop, initial=initial))
    if is_first:
        return res, (res[-1] if res else []), initial
    return res[1:], res[-1]


def first(x: Any) -> Any:
    return x[0]


def second(x: Any) -> Any:
    return x[1]


def concat_lists(parts: list) -> list:
    return list(itertools.chain.from_iterable(parts))


def slice_list(part: list, start: int, stop: int) -> list:
    return part[start:stop]


def zip_chunk(*parts: list) -> list:
    return list(zip(*parts))


def product_chunk(a: list, b: list) -> list:
    return list(itertools.product(a, b))


def join_chunk(other_index: dict, on_self: Callable, part: list) -> list:
    out = []
    for item in part:
        for match in other_index.get(on_self(item), ()):
            out.append((match, item))
    return out


def index_by(on: Callable, seq: Any) -> dict:
    index: dict = {}
    for x in seq:
        index.setdefault(on(x), []).append(x)
    return index


def random_sample_chunk(part: list, state_data: Any, prob: float) -> list:
    import random

    rng = random.Random()
    rng.setstate(state_data)
    return [x for x in part if rng.random() < prob]


def range_chunk(start: int, stop: int) -> list:
    return list(range(start, stop))


def finalize(results: list) -> Any:
    """A computed Bag: its partitions concatenated (as Dask: when partitions are iterable)."""
    if not results:
        return results
    head = results[0]
    if hasattr(head, "__iter__") and not isinstance(head, str):
        return list(itertools.chain.from_iterable(results))
    return results


def ngrams(n: int, sep: str, items: Any) -> list:
    items = list(items)
    return [sep.join(items[i:i + n]) for i in range(len(items) - n + 1)]
