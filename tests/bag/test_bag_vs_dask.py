"""cairn.bag against dask.bag: the same inputs and methods must give identical results.

Every case builds the same pipeline twice, once with ``cairn.bag`` and once with
``dask.bag`` (computed with Dask's sync scheduler), and compares partition counts, the
contents of each partition and the computed result. Each runs under every cairn scheduler.
"""

import math
import random
import warnings
from operator import add, mul

import pytest

import cairn
import cairn.bag as cb

dask = pytest.importorskip("dask")
db = pytest.importorskip("dask.bag")


# --- helpers -------------------------------------------------------------------------------
def dask_compute(x):
    return x.compute(scheduler="sync")


def cairn_parts(b):
    return [list(p) for p in cairn.compute(*b.to_delayed())]


def dask_parts(b):
    return [list(p) for p in dask.compute(*b.to_delayed(), scheduler="sync")]


def assert_same_bag(c, d):
    """Same number of partitions, same partitions, same computed list."""
    assert isinstance(c, cb.Bag)
    assert c.npartitions == d.npartitions
    assert cairn_parts(c) == dask_parts(d)
    assert c.compute() == dask_compute(d)


def assert_same_item(c, d):
    assert isinstance(c, cb.Item)
    got, want = c.compute(), dask_compute(d)
    assert type(got) is type(want)
    assert got == want


def inc(x):
    return x + 1


def double(x):
    return 2 * x


def iseven(x):
    return x % 2 == 0


def add3(x, y, z=0):
    return x + y + z


def with_kw(x, y=0, z=0):
    return (x, y, z)


def records(n=30):
    return [{"name": "abcde"[i % 5], "amount": i * 3 % 7, "id": i,
             **({"extra": i} if i % 4 else {})} for i in range(n)]


# --- bag-valued pipelines ----------------------------------------------------------------------
# Each builder gets the module (cairn.bag or dask.bag) and returns a Bag.
BAG_CASES = {
    # constructors
    "from_sequence-default-small": lambda m: m.from_sequence(range(10)),
    "from_sequence-default-large": lambda m: m.from_sequence(range(250)),
    "from_sequence-default-101": lambda m: m.from_sequence(range(101)),
    "from_sequence-partition_size": lambda m: m.from_sequence(range(10), partition_size=3),
    "from_sequence-partition_size-big": lambda m: m.from_sequence(range(10), partition_size=50),
    "from_sequence-npartitions": lambda m: m.from_sequence(range(10), npartitions=3),
    "from_sequence-npartitions-large": lambda m: m.from_sequence(range(1000), npartitions=7),
    "from_sequence-npartitions-101": lambda m: m.from_sequence(range(101), npartitions=10),
    "from_sequence-both": lambda m: m.from_sequence(range(10), partition_size=4, npartitions=2),
    "from_sequence-empty": lambda m: m.from_sequence([]),
    "from_sequence-empty-npartitions": lambda m: m.from_sequence([], npartitions=3),
    "from_sequence-fewer-than-partitions": lambda m: m.from_sequence(range(2), npartitions=5),
    "from_sequence-7-in-5": lambda m: m.from_sequence(range(7), npartitions=5),
    "from_sequence-string": lambda m: m.from_sequence("abcdefg", npartitions=3),
    "from_sequence-generator": lambda m: m.from_sequence((i * i for i in range(9)),
                                                         npartitions=2),
    "from_sequence-objects": lambda m: m.from_sequence([None, (1, 2), "x", 1.5, [3]],
                                                       npartitions=2),
    "range-even": lambda m: m.range(12, npartitions=4),
    "range-uneven": lambda m: m.range(10, npartitions=3),
    "range-100-7": lambda m: m.range(100, npartitions=7),
    "range-one": lambda m: m.range(5, npartitions=1),
    "range-equal": lambda m: m.range(4, npartitions=4),
    "concat": lambda m: m.concat([m.from_sequence(range(5), npartitions=2),
                                  m.from_sequence("abc", npartitions=3)]),
    "concat-one": lambda m: m.concat([m.from_sequence(range(5), npartitions=2)]),
    "zip": lambda m: m.zip(m.from_sequence(range(10), npartitions=3),
                           m.from_sequence(range(10, 20), npartitions=3)),
    "zip-three": lambda m: m.zip(m.range(9, npartitions=3), m.range(9, npartitions=3).map(str),
                                 m.range(9, npartitions=3).map(double)),
    # element-wise
    "map": lambda m: m.from_sequence(range(10), npartitions=3).map(inc),
    "map-lambda": lambda m: m.from_sequence(range(10), npartitions=3).map(lambda x: x * x),
    "map-bag-arg": lambda m: m.from_sequence(range(10), npartitions=3).map(
        add, m.from_sequence(range(100, 110), npartitions=3)),
    "map-constant-arg": lambda m: m.from_sequence(range(10), npartitions=3).map(add, 10),
    "map-list-constant": lambda m: m.from_sequence(range(4), npartitions=2).map(
        lambda x, c: c + [x], [7, 8]),
    "map-kwargs": lambda m: m.from_sequence(range(10), npartitions=3).map(with_kw, y=5, z=6),
    "map-bag-kwarg": lambda m: m.from_sequence(range(10), npartitions=3).map(
        with_kw, y=m.from_sequence(range(10, 20), npartitions=3), z=1),
    "map-bag-arg-and-kwarg": lambda m: m.from_sequence(range(6), npartitions=2).map(
        with_kw, m.range(6, npartitions=2), z=m.range(6, npartitions=2).map(double)),
    "map-item-arg": lambda m: (lambda b: b.map(add, b.sum()))(
        m.from_sequence(range(10), npartitions=3)),
    "map-item-kwarg": lambda m: (lambda b: b.map(with_kw, y=b.max(), z=b.count()))(
        m.from_sequence(range(10), npartitions=3)),
    "map-item-from-other-bag": lambda m: m.from_sequence(range(5), npartitions=2).map(
        add, m.from_sequence(range(100), npartitions=10).sum()),
    "module-map": lambda m: m.map(add3, m.range(9, npartitions=3), m.range(9, npartitions=3),
                                  z=100),
    "module-map-constant-first": lambda m: m.map(add3, 1000, m.range(9, npartitions=3)),
    "starmap": lambda m: m.from_sequence([(1, 2), (3, 4), (5, 6)], npartitions=2).starmap(add),
    "starmap-kwargs": lambda m: m.from_sequence([(1, 2), (3, 4), (5, 6)], npartitions=2)
    .starmap(add3, z=10),
    "starmap-item-kwarg": lambda m: (lambda b: b.starmap(add3, z=b.count()))(
        m.from_sequence([(1, 2), (3, 4), (5, 6)], npartitions=2)),
    "filter": lambda m: m.from_sequence(range(20), npartitions=4).filter(iseven),
    "filter-lambda": lambda m: m.from_sequence(range(20), npartitions=4).filter(lambda x: x > 13),
    "filter-bool": lambda m: m.from_sequence([0, 1, "", "a", None, [], [0]], npartitions=3)
    .filter(bool),
    "filter-None": lambda m: m.from_sequence([0, 1, "", "a", None, 2], npartitions=2)
    .filter(None),
    "remove": lambda m: m.from_sequence(range(20), npartitions=4).remove(iseven),
    "flatten": lambda m: m.from_sequence([[1, 2], [], [3], [4, 5, 6], []], npartitions=2)
    .flatten(),
    "flatten-strings": lambda m: m.from_sequence(["ab", "", "cde"], npartitions=2).flatten(),
    "map_partitions": lambda m: m.from_sequence(range(10), npartitions=3).map_partitions(
        lambda p: [sum(p)]),
    "map_partitions-sorted": lambda m: m.from_sequence([5, 3, 9, 1, 7, 2], npartitions=2)
    .map_partitions(sorted),
    "map_partitions-generator": lambda m: m.from_sequence(range(10), npartitions=3)
    .map_partitions(lambda p: (x * 10 for x in p)),
    "map_partitions-args": lambda m: m.from_sequence(range(10), npartitions=3).map_partitions(
        lambda p, q, k=0: [len(list(p)), sum(q), k], m.range(10, npartitions=3), k=7),
    "map_partitions-bag-kwarg": lambda m: m.from_sequence(range(10), npartitions=3)
    .map_partitions(lambda p, other=None: [a + b for a, b in zip(p, other)],
                    other=m.range(10, npartitions=3)),
    "map_partitions-item": lambda m: (lambda b: b.map_partitions(
        lambda p, total: [x / total for x in p], b.sum()))(
        m.from_sequence(range(1, 11), npartitions=3)),
    "map_partitions-item-kwarg": lambda m: (lambda b: b.map_partitions(
        lambda p, den=1: [x / den for x in p], den=b.max()))(
        m.from_sequence(range(1, 11), npartitions=3)),
    "module-map_partitions": lambda m: m.map_partitions(
        lambda a, b: [len(list(a)) * 100 + len(list(b))], m.range(10, npartitions=3),
        m.range(10, npartitions=3)),
    "pluck": lambda m: m.from_sequence(records(), npartitions=4).pluck("name"),
    "pluck-list": lambda m: m.from_sequence(records(), npartitions=4).pluck(["name", "id"]),
    "pluck-default": lambda m: m.from_sequence(records(), npartitions=4).pluck("extra", None),
    "pluck-list-default": lambda m: m.from_sequence(records(), npartitions=4)
    .pluck(["id", "extra"], -1),
    "pluck-index": lambda m: m.from_sequence([(1, "a"), (2, "b"), (3, "c")], npartitions=2)
    .pluck(1),
    "pluck-index-list": lambda m: m.from_sequence([(1, "a", 9), (2, "b", 8)], npartitions=2)
    .pluck([2, 0]),
    "pluck-twice": lambda m: m.from_sequence([{"a": [1, 2]}, {"a": [3, 4]}], npartitions=2)
    .pluck("a").pluck(0),
    # bag-valued reductions
    "frequencies": lambda m: m.from_sequence(list("abracadabra"), npartitions=4).frequencies(),
    "frequencies-sorted": lambda m: m.from_sequence(list("abracadabra"), npartitions=4)
    .frequencies(sort=True),
    "frequencies-ties-sorted": lambda m: m.from_sequence(list("zyxxyzabcw"), npartitions=3)
    .frequencies(sort=True),
    "frequencies-split_every": lambda m: m.from_sequence([i % 7 for i in range(100)],
                                                         npartitions=20)
    .frequencies(split_every=3),
    "frequencies-one-partition": lambda m: m.from_sequence(list("hello"), npartitions=1)
    .frequencies(),
    "frequencies-empty": lambda m: m.from_sequence([], npartitions=1).frequencies(),
    "topk": lambda m: m.from_sequence([10, 3, 5, 7, 11, 4], npartitions=3).topk(2),
    "topk-key": lambda m: m.from_sequence([10, 3, 5, 7, 11, 4], npartitions=3)
    .topk(2, key=lambda x: -x),
    "topk-key-index": lambda m: m.from_sequence([("a", 3), ("b", 9), ("c", 1), ("d", 9)],
                                                npartitions=2).topk(3, key=1),
    "topk-key-multiarg": lambda m: m.from_sequence([("a", 3), ("b", 9), ("c", 1), ("d", 9)],
                                                   npartitions=2)
    .topk(2, key=lambda name, n: (n, name)),
    "topk-key-list-of-indices": lambda m: m.from_sequence([(1, "a"), (3, "b"), (3, "a"),
                                                           (2, "c")], npartitions=2)
    .topk(3, key=[0, 1]),
    "topk-more-than-available": lambda m: m.from_sequence(range(5), npartitions=2).topk(10),
    "topk-split_every": lambda m: m.from_sequence(list(range(97)) * 2, npartitions=20)
    .topk(7, split_every=3),
    "topk-ties-stable": lambda m: m.from_sequence([("x", 1), ("y", 2), ("z", 1), ("w", 2)],
                                                  npartitions=2).topk(3, key=lambda t: t[1]),
    "frequencies-topk": lambda m: m.from_sequence(list("mississippi"), npartitions=3)
    .frequencies().topk(2, key=1),
    "distinct": lambda m: m.from_sequence(list("abracadabra"), npartitions=4).distinct(),
    "distinct-key": lambda m: m.from_sequence(range(20), npartitions=4)
    .distinct(key=lambda x: x % 3),
    "distinct-key-name": lambda m: m.from_sequence(records(), npartitions=4)
    .distinct(key="name"),
    "reduction-bag": lambda m: m.from_sequence(range(10), npartitions=3).reduction(
        sorted, lambda parts: [sum(map(sum, parts))], out_type=m.Bag),
    "fold-bag": lambda m: m.from_sequence(range(10), npartitions=3).fold(
        lambda acc, x: acc + [x], lambda a, b: a + b, initial=[], out_type=m.Bag),
    "foldby": lambda m: m.from_sequence(range(10), npartitions=3).foldby(iseven, add),
    "foldby-initial": lambda m: m.from_sequence(range(10), npartitions=3)
    .foldby(iseven, add, 100),
    "foldby-combine": lambda m: m.from_sequence(records(), npartitions=4).foldby(
        "name", lambda total, x: total + x["amount"], 0, add),
    "foldby-combine_initial": lambda m: m.from_sequence(records(), npartitions=4).foldby(
        lambda r: r["name"], lambda total, x: total + x["amount"], 1000, add, 1),
    "foldby-split_every": lambda m: m.from_sequence(range(200), npartitions=20).foldby(
        lambda x: x % 7, add, 0, add, 0, split_every=3),
    "foldby-split_every-no-initials": lambda m: m.from_sequence(range(200), npartitions=20)
    .foldby(lambda x: x % 7, max, split_every=4),
    "foldby-callable-initial": lambda m: m.from_sequence(range(12), npartitions=3).foldby(
        lambda x: x % 3, lambda acc, x: acc + [x], list, add, list),
    # structure
    "repartition-down": lambda m: m.from_sequence(range(20), npartitions=7).repartition(3),
    "repartition-up": lambda m: m.from_sequence(range(20), npartitions=3).repartition(8),
    "repartition-up-uneven": lambda m: m.from_sequence(range(10), npartitions=2)
    .repartition(7),
    "repartition-to-one": lambda m: m.from_sequence(range(20), npartitions=5).repartition(1),
    "repartition-same": lambda m: m.from_sequence(range(20), npartitions=5).repartition(5),
    "repartition-keyword": lambda m: m.from_sequence(range(9), npartitions=4)
    .repartition(npartitions=2),
    "accumulate": lambda m: m.from_sequence([1, 2, 3, 4, 5], npartitions=2).accumulate(add),
    "accumulate-initial": lambda m: m.from_sequence([1, 2, 3, 4, 5], npartitions=2)
    .accumulate(add, initial=-1),
    "accumulate-many": lambda m: m.from_sequence(range(1, 30), npartitions=7)
    .accumulate(mul, initial=1),
    "accumulate-one-partition": lambda m: m.from_sequence(range(5), npartitions=1)
    .accumulate(add),
    "join-list": lambda m: m.from_sequence(["Alice", "Bob", "Charlie", "Dan"], npartitions=2)
    .join(["Apple", "Apricot", "Banana", "Cherry", "Kiwi"], lambda x: x[0]),
    "join-tuple-on_other": lambda m: m.from_sequence(range(10), npartitions=3)
    .join((10, 11, 12, 25), lambda x: x % 5, lambda y: y % 10),
    "join-one-partition-bag": lambda m: m.from_sequence(range(10), npartitions=3)
    .join(m.from_sequence([1, 2, 3, 2], npartitions=1), lambda x: x),
    "product": lambda m: m.from_sequence(range(3), npartitions=2)
    .product(m.from_sequence("ab", npartitions=2)),
    "product-uneven": lambda m: m.from_sequence(range(5), npartitions=3)
    .product(m.from_sequence(range(2), npartitions=1)),
    "random_sample-seed": lambda m: m.from_sequence(range(100), npartitions=7)
    .random_sample(0.3, 42),
    "random_sample-other-seed": lambda m: m.from_sequence(range(100), npartitions=7)
    .random_sample(0.5, 1234),
    "random_sample-Random": lambda m: m.from_sequence(range(50), npartitions=3)
    .random_sample(0.5, random.Random(7)),
    "random_sample-0": lambda m: m.from_sequence(range(20), npartitions=3)
    .random_sample(0.0, 1),
    "random_sample-1": lambda m: m.from_sequence(range(20), npartitions=3)
    .random_sample(1.0, 1),
    "random_sample-docstring": lambda m: m.from_sequence(range(10)).random_sample(0.5, 43),
    # .str accessor
    "str-split": lambda m: m.from_sequence(["a b  c", " x ", ""], npartitions=2).str.split(),
    "str-split-sep": lambda m: m.from_sequence(["a,b,,c", "x"], npartitions=2).str.split(","),
    "str-split-maxsplit": lambda m: m.from_sequence(["a,b,,c", "x"], npartitions=2)
    .str.split(",", 1),
    "str-split-kw": lambda m: m.from_sequence(["a b c d"], npartitions=1)
    .str.split(maxsplit=2),
    "str-lower": lambda m: m.from_sequence(["Alice Smith", "ÉCOLE", "İstanbul", "ΟΔΟΣ"],
                                           npartitions=2).str.lower(),
    "str-upper": lambda m: m.from_sequence(["straße", "ﬁne", "abc"], npartitions=2).str.upper(),
    "str-strip": lambda m: m.from_sequence(["  a \n", "\tb\u3000", "c"], npartitions=2)
    .str.strip(),
    "str-strip-chars": lambda m: m.from_sequence(["xxaxx", "xbx"], npartitions=2).str.strip("x"),
    "str-replace": lambda m: m.from_sequence(["banana", "bandana"], npartitions=2)
    .str.replace("an", "AN"),
    "str-replace-count": lambda m: m.from_sequence(["banana", "bandana"], npartitions=2)
    .str.replace("an", "", 1),
    "str-startswith": lambda m: m.from_sequence(["apple", "banana", "avocado"], npartitions=2)
    .str.startswith("a"),
    "str-endswith": lambda m: m.from_sequence(["apple", "banana", "avocado"], npartitions=2)
    .str.endswith(("a", "o")),
    "str-match": lambda m: m.from_sequence(["Alice Smith", "Bob Jones", "Charlie Smith"],
                                           npartitions=2).str.match("*Smith"),
    "str-match-charclass": lambda m: m.from_sequence(["a1", "b2", "c3", "a22"], npartitions=2)
    .str.match("[ab]?"),
    "str-count": lambda m: m.from_sequence(["banana", "apple"], npartitions=2).str.count("a"),
    "str-chain": lambda m: m.from_sequence(["  Hello World ", "FOO bar"], npartitions=2)
    .str.strip().str.lower().str.split(),
    # pipelines and edge cases
    "nested-pipeline": lambda m: m.from_sequence(["the cat", "the dog sat", "", "a cat"],
                                                 npartitions=3)
    .map(str.split).filter(bool).flatten().frequencies(),
    "nested-pipeline-sorted": lambda m: m.from_sequence([[1, 2], [2, 3, 4], [], [4, 4]],
                                                        npartitions=2)
    .map(lambda xs: [x * 2 for x in xs]).filter(len).flatten().frequencies(sort=True),
    "empty-partitions-topk": lambda m: m.from_sequence(range(20), npartitions=5)
    .filter(lambda x: x < 3).topk(2),
    "empty-partitions-frequencies": lambda m: m.from_sequence(range(20), npartitions=5)
    .filter(lambda x: 8 <= x < 11).map(iseven).frequencies(),
    "empty-partitions-distinct": lambda m: m.from_sequence(range(20), npartitions=5)
    .filter(lambda x: x > 17).distinct(),
    "empty-partitions-foldby": lambda m: m.from_sequence(range(20), npartitions=5)
    .filter(lambda x: x > 14).foldby(iseven, add),
    "all-empty-topk": lambda m: m.from_sequence(range(20), npartitions=5)
    .filter(lambda x: x > 100).topk(2),
    "all-empty-frequencies": lambda m: m.from_sequence(range(20), npartitions=5)
    .filter(lambda x: x > 100).frequencies(),
    "empty-partitions-repartition": lambda m: m.from_sequence(range(20), npartitions=5)
    .filter(lambda x: x > 14).repartition(2),
    "empty-bag-map": lambda m: m.from_sequence([], npartitions=2).map(inc),
    "take-compute-false": lambda m: m.from_sequence(range(10), npartitions=3)
    .take(4, npartitions=2, compute=False),
}


@pytest.mark.parametrize("build", BAG_CASES.values(), ids=BAG_CASES.keys())
def test_bag_matches_dask(scheduler, build):
    assert_same_bag(build(cb), build(db))


# --- item-valued reductions ---------------------------------------------------------------------
def twenty(m):
    return m.from_sequence(range(100), npartitions=20)


def floats20(m):
    return m.from_sequence([math.sin(i) * 1000 + 1e6 for i in range(200)], npartitions=20)


def with_empties(m):
    """Five partitions of which three end up empty."""
    return m.from_sequence(range(20), npartitions=5).filter(lambda x: x < 3 or x > 17)


def one_partition(m):
    return m.from_sequence([4, 1, 3], npartitions=1)


def tree_shape_perpartition(part):
    return tuple(part)


def tree_shape_aggregate(parts):
    return tuple(parts)


class StrictReal(float):
    """A number that refuses comparison with anything but its own type (as in Dask's tests)."""

    def __lt__(self, other):
        if type(other) is not StrictReal:
            raise TypeError("comparing StrictReal with something else")
        return float(self) < float(other)

    def __gt__(self, other):
        if type(other) is not StrictReal:
            raise TypeError("comparing StrictReal with something else")
        return float(self) > float(other)


ITEM_CASES = {
    "count": lambda m: m.from_sequence(range(10), npartitions=3).count(),
    "sum": lambda m: m.from_sequence(range(10), npartitions=3).sum(),
    "sum-floats": lambda m: floats20(m).sum(),
    "min": lambda m: m.from_sequence([5, 3, 9, 1], npartitions=3).min(),
    "max": lambda m: m.from_sequence([5, 3, 9, 1], npartitions=3).max(),
    "max-strings": lambda m: m.from_sequence(list("hello"), npartitions=3).max(),
    "mean": lambda m: m.from_sequence(range(10), npartitions=3).mean(),
    "var": lambda m: m.from_sequence(range(10), npartitions=3).var(),
    "var-ddof1": lambda m: m.from_sequence(range(10), npartitions=3).var(ddof=1),
    "std": lambda m: m.from_sequence(range(10), npartitions=3).std(),
    "std-ddof1": lambda m: m.from_sequence(range(10), npartitions=3).std(ddof=1),
    "any-true": lambda m: m.from_sequence([0, 0, 1, 0], npartitions=2).any(),
    "any-false": lambda m: m.from_sequence([0, 0, 0], npartitions=2).any(),
    "all-true": lambda m: m.from_sequence([1, 2, 3], npartitions=2).all(),
    "all-false": lambda m: m.from_sequence([1, 0, 3], npartitions=2).all(),
    "fold": lambda m: m.from_sequence(range(10), npartitions=3).fold(add),
    "fold-initial": lambda m: m.from_sequence(range(10), npartitions=3).fold(add, initial=10),
    "fold-combine": lambda m: m.from_sequence(range(10), npartitions=3).fold(
        lambda acc, x: acc + [x], add, initial=[]),
    "fold-combine-set": lambda m: m.from_sequence([1, 2, 1, 3, 2], npartitions=2).fold(
        lambda acc, x: acc | {x}, lambda a, b: a | b, initial=frozenset()),
    "fold-split_every": lambda m: twenty(m).fold(add, initial=1, split_every=3),
    "fold-non-commutative": lambda m: m.from_sequence("abcdefghij", npartitions=4)
    .fold(lambda a, b: a + b, initial="_"),
    "reduction": lambda m: m.from_sequence(range(10), npartitions=4).reduction(sum, sum),
    "reduction-tree-shape": lambda m: twenty(m).reduction(
        tree_shape_perpartition, tree_shape_aggregate, split_every=3),
    "reduction-tree-shape-default": lambda m: m.from_sequence(range(50), npartitions=50)
    .reduction(tree_shape_perpartition, tree_shape_aggregate),
    "reduction-split_every-false": lambda m: twenty(m).reduction(
        tree_shape_perpartition, tree_shape_aggregate, split_every=False),
    "sum-split_every": lambda m: twenty(m).sum(split_every=3),
    "count-split_every": lambda m: twenty(m).count(split_every=2),
    "max-split_every": lambda m: twenty(m).max(split_every=4),
    "fold-non-comparable": lambda m: m.from_sequence([StrictReal(x) for x in range(10)],
                                                     partition_size=2).fold(max, max),
    "min-many-empty-partitions": lambda m: m.from_sequence(range(10), npartitions=100)
    .filter(iseven).min(),
    "max-split_every-2-empties": lambda m: m.from_sequence([0, 0, 0, 1], npartitions=4)
    .filter(bool).max(split_every=2),
    # many partitions: Dask aggregates mean/var in one step (no tree)
    "mean-20-partitions": lambda m: twenty(m).mean(),
    "var-20-partitions": lambda m: twenty(m).var(),
    "var-ddof1-20-partitions": lambda m: floats20(m).var(ddof=1),
    "std-20-partitions": lambda m: floats20(m).std(),
    "mean-floats-20-partitions": lambda m: floats20(m).mean(),
    # empty partitions
    "empty-partitions-count": lambda m: with_empties(m).count(),
    "empty-partitions-sum": lambda m: with_empties(m).sum(),
    "empty-partitions-mean": lambda m: with_empties(m).mean(),
    "empty-partitions-var": lambda m: with_empties(m).var(1),
    "empty-partitions-max": lambda m: with_empties(m).max(),
    "empty-partitions-min": lambda m: with_empties(m).min(),
    "empty-partitions-fold": lambda m: with_empties(m).fold(add),
    "empty-partitions-fold-initial": lambda m: with_empties(m).fold(add, initial=100),
    "empty-partitions-any": lambda m: with_empties(m).any(),
    "empty-partitions-all": lambda m: with_empties(m).all(),
    "all-empty-sum": lambda m: m.from_sequence(range(6), npartitions=3)
    .filter(lambda x: x > 10).sum(),
    "all-empty-count": lambda m: m.from_sequence(range(6), npartitions=3)
    .filter(lambda x: x > 10).count(),
    "empty-bag-sum": lambda m: m.from_sequence([]).sum(),
    "empty-bag-count": lambda m: m.from_sequence([], npartitions=4).count(),
    "empty-bag-any": lambda m: m.from_sequence([]).any(),
    "empty-bag-all": lambda m: m.from_sequence([]).all(),
    "empty-bag-fold-initial": lambda m: m.from_sequence([]).fold(add, initial=5),
    # one partition
    "one-partition-sum": lambda m: one_partition(m).sum(),
    "one-partition-mean": lambda m: one_partition(m).mean(),
    "one-partition-var": lambda m: one_partition(m).var(ddof=1),
    "one-partition-fold-initial": lambda m: one_partition(m).fold(add, initial=10),
    "one-partition-reduction": lambda m: one_partition(m).reduction(
        tree_shape_perpartition, tree_shape_aggregate),
    # Items built from Items
    "item-apply": lambda m: m.from_sequence(range(10), npartitions=3).sum().apply(inc),
    "nested-pipeline-count": lambda m: m.from_sequence([[1, 2], [], [3, 4, 5]], npartitions=2)
    .flatten().filter(iseven).map(inc).count(),
    "map-item-sum": lambda m: (lambda b: b.map(add, b.sum()).sum())(
        m.from_sequence(range(10), npartitions=3)),
}


@pytest.mark.parametrize("build", ITEM_CASES.values(), ids=ITEM_CASES.keys())
def test_item_matches_dask(scheduler, build):
    assert_same_item(build(cb), build(db))


# --- cases that need more than one comparison ---------------------------------------------------
def test_many_partitions_pipeline_matches_dask(scheduler):
    def build(m):
        b = m.from_sequence(range(20000), npartitions=400)
        words = b.map(lambda x: f"w{x % 97}").filter(lambda w: not w.endswith("3"))
        return (words.frequencies(sort=True), words.distinct().count(), b.sum(split_every=5),
                words.map(len).fold(add, initial=0))

    got = cairn.compute(*build(cb))
    want = dask.compute(*build(db), scheduler="sync")
    assert got == want


def test_from_delayed_matches_dask(scheduler):
    def load(i):
        return list(range(i * 3, i * 3 + i))

    c = cb.from_delayed([cairn.delayed(load)(i) for i in range(5)])
    d = db.from_delayed([dask.delayed(load)(i) for i in range(5)])
    assert_same_bag(c, d)


def test_from_delayed_single_value_and_iterators(scheduler):
    c = cb.from_delayed(cairn.delayed(lambda: iter([1, 2, 3]))())
    d = db.from_delayed(dask.delayed(lambda: iter([1, 2, 3]))())
    assert_same_bag(c, d)


def test_from_delayed_iterator_of_iterators(scheduler):
    """Dask's reify materialises a partition that is an iterator of iterators."""
    c = cb.from_delayed([cairn.delayed(lambda: iter([iter([1, 2]), iter([3])]))()])
    d = db.from_delayed([dask.delayed(lambda: iter([iter([1, 2]), iter([3])]))()])
    assert_same_bag(c, d)


def test_from_delayed_then_reduce(scheduler):
    def load(i):
        return [i] * i

    c = cb.from_delayed([cairn.delayed(load)(i) for i in range(6)]).frequencies()
    d = db.from_delayed([dask.delayed(load)(i) for i in range(6)]).frequencies()
    assert_same_bag(c, d)


def test_map_with_delayed_argument(scheduler):
    c = cb.from_sequence(range(5), npartitions=2).map(add, cairn.delayed(inc)(10))
    d = db.from_sequence(range(5), npartitions=2).map(add, dask.delayed(inc)(10))
    assert_same_bag(c, d)


def test_join_with_delayed(scheduler):
    c = cb.from_sequence(range(10), npartitions=3).join(
        cairn.delayed(list)([1, 5, 5, 9]), lambda x: x)
    d = db.from_sequence(range(10), npartitions=3).join(
        dask.delayed(list)([1, 5, 5, 9]), lambda x: x)
    assert_same_bag(c, d)


GROUPBY_CASES = {
    "mod7": lambda m, **kw: m.from_sequence(range(50), npartitions=6).groupby(
        lambda x: x % 7, **kw),
    "mod7-npartitions": lambda m, **kw: m.from_sequence(range(50), npartitions=6).groupby(
        lambda x: x % 7, npartitions=3, **kw),
    "letters": lambda m, **kw: m.from_sequence(list("mississippi"), npartitions=3).groupby(
        lambda x: x, **kw),
    "index-key": lambda m, **kw: m.from_sequence(records(), npartitions=4).groupby(
        "name", **kw).map(lambda kv: (kv[0], sorted(r["id"] for r in kv[1]))),
    "empty-partitions": lambda m, **kw: m.from_sequence(range(20), npartitions=5)
    .filter(lambda x: x > 14).groupby(iseven, **kw),
    "empty": lambda m, **kw: m.from_sequence([], npartitions=2).groupby(iseven, **kw),
    "one-partition": lambda m, **kw: m.from_sequence(range(9), npartitions=1).groupby(
        lambda x: x // 4, **kw),
    "list-of-indices-key": lambda m, **kw: m.from_sequence(
        [(1, 2, 3), (1, 2, 4), (2, 2, 5)], npartitions=2).groupby([0, 1], **kw),
    "none-key": lambda m, **kw: m.from_sequence([(None, i) for i in range(10)], npartitions=3)
    .groupby(lambda x: x[0], **kw),
}


def as_tuples(x):
    """Dask's disk shuffle turns tuples into lists; compare both as tuples."""
    if isinstance(x, (list, tuple)):
        return tuple(as_tuples(y) for y in x)
    return x


def canonical_groups(groups):
    return sorted((as_tuples(k), sorted(as_tuples(v))) for k, v in groups)


# Dask's default (disk) shuffle cannot group by tuple keys (partd turns them into lists).
DASK_GROUPBY_KWARGS = {"none-key": {"shuffle": "tasks"}}


@pytest.mark.parametrize("case", GROUPBY_CASES.keys())
def test_groupby_matches_dask_as_sorted_groups(scheduler, case):
    build = GROUPBY_CASES[case]
    c, d = build(cb), build(db, **DASK_GROUPBY_KWARGS.get(case, {}))
    assert c.npartitions == d.npartitions
    got = c.compute()
    assert all(isinstance(g, tuple) and isinstance(g[1], list) for g in got)
    assert canonical_groups(got) == canonical_groups(dask_compute(d))
    # each key in exactly one partition
    keys = [k for part in cairn_parts(c) for k, _ in part]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("data", [
    [1, True, 1.0, 0, False, 0.0, 2, 2.0, -0.0],
    [(1, 0), (True, False), (1.0, 0.0), (2, 1), (2.0, True)],
    ["a", "b", "a"] + [b"a"],
], ids=["numbers", "tuples", "str-bytes"])
@pytest.mark.parametrize("npartitions", [1, 3, 4])
def test_groupby_equal_keys_of_different_types_form_one_group(scheduler, data, npartitions):
    """Keys that are equal (0 == 0.0 == False) form one group, as dict keys do. (Dask hashes
    keys with tokenize, so whether it keeps them together depends on hash luck.)"""
    want = {}
    for x in data:
        want.setdefault(x, []).append(x)
    got = cb.from_sequence(data, npartitions=3).groupby(lambda x: x,
                                                         npartitions=npartitions).compute()
    assert len(got) == len(want)
    assert {k: sorted(map(repr, v)) for k, v in got} == {
        k: sorted(map(repr, v)) for k, v in want.items()}


def test_groupby_tuples_keeps_elements_matches_dask(scheduler):
    # Dask's disk shuffle turns tuple elements into lists; its task shuffle keeps them.
    data = [(i % 3, i) for i in range(20)]
    got = cb.from_sequence(data, npartitions=4).groupby(0).compute()
    want = dask_compute(db.from_sequence(data, npartitions=4).groupby(lambda x: x[0],
                                                                       shuffle="tasks"))
    assert canonical_groups(got) == canonical_groups(want)
    assert all(isinstance(x, tuple) for _, v in got for x in v)


def test_groupby_then_reduce_matches_dask(scheduler):
    def build(m):
        return (m.from_sequence(range(100), npartitions=7)
                .groupby(lambda x: x % 10)
                .map(lambda kv: (kv[0], sum(kv[1]))))

    assert sorted(build(cb).compute()) == sorted(dask_compute(build(db)))
    assert build(cb).count().compute() == dask_compute(build(db).count())


@pytest.mark.parametrize("k, npartitions", [(3, 1), (2, 1), (5, 2), (4, 3), (9, -1), (10, -1),
                                            (0, 1)])
def test_take_matches_dask(scheduler, k, npartitions):
    c = cb.from_sequence(range(10), npartitions=3).take(k, npartitions=npartitions)
    d = db.from_sequence(range(10), npartitions=3).take(k, npartitions=npartitions)
    assert type(c) is tuple
    assert c == d


@pytest.mark.parametrize("k, npartitions", [(5, 1), (9, 2), (11, -1)])
def test_take_insufficient_elements_warns_like_dask(scheduler, k, npartitions):
    with pytest.warns(UserWarning, match="Insufficient elements") as got:
        c = cb.from_sequence(range(10), npartitions=3).take(k, npartitions=npartitions)
    with pytest.warns(UserWarning, match="Insufficient elements") as want:
        d = db.from_sequence(range(10), npartitions=3).take(k, npartitions=npartitions)
    assert c == d
    assert [str(w.message) for w in got] == [str(w.message) for w in want]


def test_take_warn_false_is_silent(scheduler):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = cb.from_sequence(range(10), npartitions=3).take(5, warn=False)
    assert got == db.from_sequence(range(10), npartitions=3).take(5, warn=False)


def test_take_after_filter_with_empty_first_partition(scheduler):
    def build(m):
        return m.from_sequence(range(20), npartitions=5).filter(lambda x: x > 6)

    assert build(cb).take(3, npartitions=-1) == build(db).take(3, npartitions=-1)
    with pytest.warns(UserWarning, match="Insufficient elements"):
        c = build(cb).take(3)
    with pytest.warns(UserWarning, match="Insufficient elements"):
        d = build(db).take(3)
    assert c == d == ()


def test_take_more_partitions_than_exist_is_an_error(scheduler):
    with pytest.raises(ValueError, match="only 3 partitions, take received 4"):
        cb.from_sequence(range(10), npartitions=3).take(2, npartitions=4)
    with pytest.raises(ValueError, match="only 3 partitions, take received 4"):
        db.from_sequence(range(10), npartitions=3).take(2, npartitions=4)


def test_to_delayed_matches_dask(scheduler):
    c = cb.from_sequence(range(10), npartitions=4).map(inc).to_delayed()
    d = db.from_sequence(range(10), npartitions=4).map(inc).to_delayed()
    assert len(c) == len(d) == 4
    assert all(isinstance(x, cairn.Delayed) for x in c)
    assert [list(x.compute()) for x in c] == [list(x.compute(scheduler="sync")) for x in d]
    assert list(cairn.compute(*c)) == list(dask.compute(*d, scheduler="sync"))


def test_to_delayed_of_reduced_bag_round_trips_through_from_delayed(scheduler):
    parts = cb.from_sequence(range(10), npartitions=4).map(double).to_delayed()
    back = cb.from_delayed(parts)
    dparts = db.from_sequence(range(10), npartitions=4).map(double).to_delayed()
    assert_same_bag(back, db.from_delayed(dparts))


def test_item_to_delayed(scheduler):
    c = cb.from_sequence(range(10), npartitions=3).sum().to_delayed()
    d = db.from_sequence(range(10), npartitions=3).sum().to_delayed()
    assert isinstance(c, cairn.Delayed)
    assert c.compute() == d.compute(scheduler="sync")


def test_compute_lists_and_len(scheduler):
    def build(m):
        return m.from_sequence(range(25), npartitions=4).map(double).filter(lambda x: x % 3)

    got = build(cb).compute()
    want = dask_compute(build(db))
    assert type(got) is list and got == want
    assert len(got) == len(want)
    assert list(build(cb)) == list(build(db).compute(scheduler="sync"))


def test_compute_several_collections_together(scheduler):
    def build(m):
        b = m.from_sequence(range(10), npartitions=3)
        return b.map(inc), b.sum(), b.frequencies()

    got = cairn.compute(*build(cb))
    want = dask.compute(*build(db), scheduler="sync")
    assert got == want


def test_persist_keeps_results(scheduler):
    c = cb.from_sequence(range(10), npartitions=3).map(double).persist()
    d = db.from_sequence(range(10), npartitions=3).map(double).persist(scheduler="sync")
    assert_same_bag(c, d)
    assert_same_bag(c.map(inc), d.map(inc))


def test_map_with_bags_of_different_npartitions_is_an_error():
    a = cb.from_sequence(range(10), npartitions=3)
    b = cb.from_sequence(range(10), npartitions=4)
    with pytest.raises(ValueError, match="partitions"):
        a.map(add, b)
    with pytest.raises(ValueError, match="partitions"):
        db.from_sequence(range(10), npartitions=3).map(add, db.from_sequence(range(10),
                                                                             npartitions=4))


def test_map_with_unequal_partition_lengths_is_an_error_like_dask(scheduler):
    """Dask raises at compute time when zipped partitions differ in length (it does not
    silently drop the extra elements)."""
    def build(m):
        a = m.from_sequence(range(10), npartitions=2)
        return a.map(add, a.filter(iseven))

    with pytest.raises(ValueError, match="partition"):
        dask_compute(build(db))
    with pytest.raises(ValueError, match="partition"):
        build(cb).compute()


def test_random_sample_is_reproducible_and_matches_dask(scheduler):
    b = cb.from_sequence(range(1000), npartitions=9)
    first = b.random_sample(0.1, 2024).compute()
    assert first == b.random_sample(0.1, 2024).compute()
    assert first != b.random_sample(0.1, 2025).compute()
    assert first == dask_compute(db.from_sequence(range(1000), npartitions=9)
                                 .random_sample(0.1, 2024))


def test_random_sample_bad_probability():
    for prob in (-0.1, 1.5):
        with pytest.raises(ValueError, match="interval"):
            cb.from_sequence(range(3)).random_sample(prob)
        with pytest.raises(ValueError, match="interval"):
            db.from_sequence(range(3)).random_sample(prob)


def test_str_len_matches_map_len(scheduler):
    words = ["", "a", "héllo", "😀x"]
    got = cb.from_sequence(words, npartitions=2).str.len()
    assert_same_bag(got, db.from_sequence(words, npartitions=2).map(len))


def test_str_accessor_unknown_method():
    with pytest.raises(AttributeError):
        cb.from_sequence(["a"]).str.not_a_method
    with pytest.raises(AttributeError):
        db.from_sequence(["a"]).str.not_a_method


def test_std_is_sqrt_of_var(scheduler):
    b = cb.from_sequence([1.5, 2.5, 10.0, -3.0], npartitions=3)
    assert b.std(ddof=1).compute() == math.sqrt(b.var(ddof=1).compute())


def test_repr_and_html():
    b = cb.from_sequence(range(10), npartitions=3)
    assert "npartitions=3" in repr(b)
    assert "npartitions=3" in repr(db.from_sequence(range(10), npartitions=3))
    html = b._repr_html_()
    assert "partitions" in html and "3" in html
    assert "Item" in repr(b.sum()) or "item" in repr(b.sum()).lower()
