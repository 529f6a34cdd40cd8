"""Fusing a Bag's element-wise steps (cairn/bag/optimize.py): one lazy task per partition,
the same results and call order as Dask, and no step run twice or lost."""

from operator import add

import pytest

import cairn
import cairn.bag as cb
from cairn.bag.optimize import optimize

db = pytest.importorskip("dask.bag")


def inc(x):
    return x + 1


def iseven(x):
    return x % 2 == 0


def tasks_after_optimize(*collections):
    dsk = cairn.base._merged_graph(collections)
    keys = [c.__cairn_keys__() for c in collections]
    return cairn.base._optimize(collections, dsk, keys)


def test_map_flatten_frequencies_is_one_task_per_partition():
    b = cb.from_sequence(["a b", "b c", "c"], npartitions=3).map(str.split).flatten()
    dsk = tasks_after_optimize(b.frequencies())
    per_partition = [k for k in dsk if isinstance(k, tuple) and k[0].startswith(
        ("split", "flatten", "frequencies-part"))]
    assert sorted(k[0].split("-")[0] for k in per_partition) == ["frequencies"] * 3


def test_step_used_twice_is_not_fused_and_runs_once(inprocess_scheduler):
    calls = []

    def tokens(line):
        calls.append(line)
        return line.split()

    words = cb.from_sequence(["a b", "b", "c a"], npartitions=2).map(tokens).flatten()
    freqs, n = cairn.compute(words.frequencies(), words.count())
    assert (sorted(freqs), n) == ([("a", 2), ("b", 2), ("c", 1)], 5)
    assert sorted(calls) == ["a b", "b", "c a"]


def test_step_that_is_also_an_output_is_kept(scheduler):
    words = cb.from_sequence(["a b", "b"], npartitions=2).map(str.split)
    lists, n = cairn.compute(words, words.flatten().count())
    assert (lists, n) == ([["a", "b"], ["b"]], 3)


def test_fused_steps_call_functions_in_dask_order(inprocess_scheduler):
    def run(m):
        log = []

        def f(x):
            log.append(("f", x))
            return x + 1

        def g(x):
            log.append(("g", x))
            return iseven(x)

        m.from_sequence(range(4), npartitions=1).map(f).filter(g).count().compute(
            scheduler="sync" if m is db else None)
        return log

    assert run(cb) == run(db)


def count_lengths(acc, xs):
    return acc + len(xs)


PIPELINES = {
    "map-flatten-frequencies": lambda b: b.map(lambda x: [x % 3, x % 5]).flatten()
    .frequencies(),
    "filter-map-count": lambda b: b.filter(iseven).map(inc).count(),
    "remove-sum": lambda b: b.remove(iseven).sum(),
    "map-constant-and-kwargs-max": lambda b: b.map(lambda x, y, z=0: x * y - z, 3, z=2).max(),
    "map-min": lambda b: b.map(lambda x: -x).min(),
    "starmap-kwargs-topk": lambda b: b.map(lambda x: (x, x % 4)).starmap(
        lambda a, c, d=0: a * c + d, d=1).topk(3),
    "pluck-default-distinct": lambda b: b.map(lambda x: {"k": x % 4} if x % 3 else {})
    .pluck("k", default=-1).distinct(),
    "pluck-list-frequencies": lambda b: b.map(lambda x: (x % 2, x % 3, x)).pluck([0, 1])
    .frequencies(sort=True),
    "map-any-all": lambda b: b.map(iseven).any(),
    "mean-var": lambda b: b.map(inc).var(ddof=1),
    "fold-initial": lambda b: b.map(inc).fold(add, initial=10),
    "foldby": lambda b: b.map(inc).foldby(iseven, add),
    "iterators-are-lists-in-a-reduction": lambda b: b.map(lambda x: iter(range(x % 4)))
    .fold(count_lengths, add, initial=0),
    "all-filtered-out-frequencies": lambda b: b.filter(lambda x: x > 100).map(inc)
    .frequencies(),
    "some-empty-partitions-topk": lambda b: b.filter(lambda x: x < 4).map(inc).topk(2),
    "user-reduction-gets-lists": lambda b: b.map(inc).reduction(len, sum),
    "map-map-bag": lambda b: b.map(inc).filter(iseven).map(str),
}
# Dask hands a fused partition to these as an iterator (of iterators), where len() fails;
# cairn keeps giving reductions lists, as it does without fusion.
LISTS_NOT_ITERATORS = {"iterators-are-lists-in-a-reduction", "user-reduction-gets-lists"}


@pytest.mark.parametrize("name", PIPELINES)
def test_fused_pipeline_matches_unfused_and_dask(scheduler, name):
    data = list(range(40))
    fused = PIPELINES[name](cb.from_sequence(data, npartitions=5))
    got = fused.compute()
    assert got == fused.compute(optimize_graph=False)
    if name not in LISTS_NOT_ITERATORS:
        dask_bag = PIPELINES[name](db.from_sequence(data, npartitions=5))
        assert got == dask_bag.compute(scheduler="sync")


def test_error_in_a_fused_step_is_raised_as_itself(scheduler):
    def bad(x):
        if x == 7:
            raise ValueError("bad element 7")
        return [x]

    b = cb.from_sequence(range(10), npartitions=2).map(bad).flatten()
    with pytest.raises(ValueError, match="bad element 7"):
        b.frequencies().compute()


def test_optimize_keeps_the_outputs_and_other_tasks():
    b = cb.from_sequence(range(6), npartitions=2).map(inc)
    c = b.filter(iseven)
    dsk = optimize({**b.dask, **c.dask}, b.__cairn_keys__() + c.__cairn_keys__())
    assert set(dsk) == set(b.dask) | set(c.dask)
