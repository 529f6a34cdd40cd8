"""Random samples of a Bag's elements (``dask.bag.random``): ``sample`` without replacement,
``choices`` with replacement, both uniform over the whole bag.

Each partition draws a reservoir of up to ``k`` elements (Algorithm L; with replacement, ``k``
reservoirs of one), and the reservoirs are merged in a tree, each element weighted by how many
elements its reservoir stood for, as Dask does. Draws use Python's global ``random`` module (as
Dask's), so ``random.seed`` in the process that runs the tasks makes them repeatable.

Examples
--------
>>> import cairn.bag as cb
>>> from cairn.bag import random
>>> b = cb.from_sequence(range(10), npartitions=3)
>>> picked = random.sample(b, 4).compute()
>>> len(picked), len(set(picked)), all(x in range(10) for x in picked)
(4, 4, True)
"""

from __future__ import annotations

import heapq
import itertools
import math
import random as rnd
from functools import partial
from typing import Iterable, Sequence

from .core import Bag

__all__ = ["sample", "choices"]


def sample(population: Bag, k: int, split_every: int | None = None) -> Bag:
    """``k`` distinct elements of ``population`` chosen at random (no element twice).

    Raises ``ValueError("Sample larger than population")`` when computed if the bag has fewer
    than ``k`` elements.

    Examples
    --------
    >>> import cairn.bag as cb
    >>> from cairn.bag import random
    >>> sorted(random.sample(cb.from_sequence([1, 2, 3], npartitions=2), 3).compute())
    [1, 2, 3]
    """
    return _draw(population, k, split_every, replace=False)


def choices(population: Bag, k: int = 1, split_every: int | None = None) -> Bag:
    """``k`` elements of ``population`` chosen at random with replacement.

    Examples
    --------
    >>> import cairn.bag as cb
    >>> from cairn.bag import random
    >>> random.choices(cb.from_sequence([7], npartitions=1), k=3).compute()
    [7, 7, 7]
    """
    return _draw(population, k, split_every, replace=True)


def _draw(population: Bag, k: int, split_every: int | None, replace: bool) -> Bag:
    if k < 0:
        raise ValueError("Cannot take a negative number of samples")
    per_partition = _sample_with_replacement_map_partitions if replace else _sample_map_partitions
    drawn = population.reduction(partial(per_partition, k=k),
                                 partial(_sample_reduce, k=k, replace=replace), out_type=Bag,
                                 split_every=split_every, name="choices" if replace else "sample")
    return drawn.map_partitions(_finalize_sample, k)


def _finalize_sample(reduced: list, k: int) -> list:
    drawn = reduced[0]
    if len(drawn) < k:
        raise ValueError("Sample larger than population")
    return drawn


def _sample_map_partitions(population: Iterable, k: int) -> tuple[list, int]:
    """Up to ``k`` elements drawn uniformly without replacement from ``population`` (Algorithm
    L reservoir sampling), and how many elements there were."""
    stream = iter(population)
    reservoir = list(itertools.islice(stream, k))
    length = len(reservoir)
    if k == 0:
        return reservoir, length + sum(1 for _ in stream)
    w = math.exp(math.log(rnd.random()) / k)
    nxt = (k - 1) + _geometric(w)
    for i, e in enumerate(stream, k):
        if i == nxt:
            reservoir[rnd.randrange(k)] = e
            w *= math.exp(math.log(rnd.random()) / k)
            nxt += _geometric(w)
        length += 1
    return reservoir, length


def _sample_with_replacement_map_partitions(population: Iterable, k: int) -> tuple[list, int]:
    """``k`` elements drawn uniformly with replacement from ``population`` (``k`` reservoirs of
    one element each), and how many elements there were."""
    stream = iter(population)
    first = next(stream, _EMPTY)
    if first is _EMPTY:
        return [], 0
    reservoir, length = [first] * k, 1
    if k == 0:
        return reservoir, length + sum(1 for _ in stream)
    w = [rnd.random() for _ in range(k)]
    nxt = [_geometric(wi) for wi in w]
    min_nxt = min(nxt)
    for i, e in enumerate(stream, 1):
        if i == min_nxt:
            for j, n in enumerate(nxt):
                if n == min_nxt:
                    reservoir[j] = e
                    w[j] *= rnd.random()
                    nxt[j] += _geometric(w[j])
            min_nxt = min(nxt)
        length += 1
    return reservoir, length


_EMPTY = object()  # never leaves this module's functions


def _sample_reduce(reduced: Iterable[tuple[list, int]], k: int, replace: bool) -> tuple[list, int]:
    """Merge per-partition draws ``(reservoir, population size)`` into one draw of ``k``: each
    element stands for ``size / len(reservoir)`` elements of its partition."""
    pool: list = []
    weights: list = []
    total = 0
    sizes = []
    for drawn, n in reduced:
        pool.extend(drawn)
        total += n
        sizes.append((n, len(drawn)))
    if k > total and not replace:
        return pool, total
    for n, m in sizes:
        if m > 0:
            weights.extend([n / (m * total)] * m)
    if replace:
        return (rnd.choices(pool, weights=weights, k=k) if pool else []), total
    return _weighted_sampling_without_replacement(pool, weights, k), total


def _weighted_sampling_without_replacement(population: Sequence, weights: Sequence[float],
                                           k: int) -> list:
    """``k`` distinct elements of ``population``, each drawn with its weight (Efraimidis and
    Spirakis, weighted random sampling with a reservoir)."""
    keys = [(math.log(rnd.random()) / weights[i], i) for i in range(len(weights))]
    return [population[i] for _, i in heapq.nlargest(k, keys)]


def _geometric(p: float) -> int:
    return int(math.log(rnd.uniform(0, 1)) / math.log(1 - p)) + 1
