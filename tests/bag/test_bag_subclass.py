"""Extending Bag (Dask's pattern: ``MyBag(*bag._args)`` and methods that return MyBag) did
not work: ``Bag._args`` was missing and every method returned a plain Bag."""

import cairn
import cairn.bag as cb


class BagOfDicts(cb.Bag):
    def get(self, key):
        return self.map(lambda d: d.get(key))


def _records():
    return BagOfDicts(*cb.from_sequence([{"a": {"b": 1}}, {"a": {"b": 2}}], npartitions=2)._args)


def test_bag_args_rebuild_the_bag():
    b = cb.from_sequence(range(5), npartitions=2).map(lambda x: x + 1)
    again = cb.Bag(*b._args)
    assert (again.name, again.npartitions) == (b.name, b.npartitions)
    assert again.compute() == [1, 2, 3, 4, 5]


def test_subclass_methods_return_the_subclass():
    records = _records()
    assert isinstance(records.get("a"), BagOfDicts)
    assert isinstance(records.get("a").get("b"), BagOfDicts)
    assert records.get("a").get("b").compute() == [1, 2]
    for made in (records.filter(None), records.pluck("a"), records.flatten(),
                 records.map_partitions(list), records.groupby(len),
                 records.foldby(len, lambda acc, x: acc + 1, 0), records.product(records)):
        assert isinstance(made, BagOfDicts), made


def test_persisted_subclass_stays_the_subclass():
    (persisted,) = cairn.persist(_records().get("a"))
    assert isinstance(persisted, BagOfDicts)
    assert persisted.get("b").compute() == [1, 2]


def test_mixed_bag_types_give_a_plain_bag():
    mixed = cb.map(lambda d, x: x, _records(), cb.from_sequence([1, 2], npartitions=2))
    assert type(mixed) is cb.Bag
    assert mixed.compute() == [1, 2]
