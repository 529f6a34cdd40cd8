"""Bag Items: pickled or copied Items computed to the "no task" marker object (it is compared
by identity, and a copy is another object); persist() of an Item gave a plain Delayed;
Item.from_delayed, Item.name and int()/float()/complex()/bool() of an Item were missing;
Dask's constructor form Item(dsk, key) made an Item whose key was the graph."""

import copy
import pickle

import pytest

import cairn
import cairn.bag as cb


def _total():
    return cb.from_sequence(range(100), npartitions=4).sum()


@pytest.mark.parametrize("roundtrip", [lambda x: pickle.loads(pickle.dumps(x)), copy.deepcopy,
                                       copy.copy], ids=["pickle", "deepcopy", "copy"])
def test_pickled_or_copied_item_computes_its_value(roundtrip):
    again = roundtrip(_total())
    assert isinstance(again, cb.Item)
    assert again.compute() == 4950
    assert (roundtrip(_total().apply(str))).compute() == "4950"


@pytest.mark.parametrize("roundtrip", [lambda x: pickle.loads(pickle.dumps(x)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
def test_pickled_or_copied_to_delayed_computes_its_value(roundtrip):
    b = cb.from_sequence(range(6), npartitions=2)
    assert [roundtrip(d).compute() for d in b.to_delayed()] == [[0, 1, 2], [3, 4, 5]]
    assert roundtrip(b.sum().to_delayed()).compute() == 15
    assert roundtrip(b.sum().to_delayed(optimize_graph=False)).compute() == 15


def test_persist_of_item_gives_an_item():
    persisted = _total().persist()
    assert isinstance(persisted, cb.Item)
    assert persisted.compute() == 4950
    assert (persisted + 1).compute() == 4951
    (again,) = cairn.persist(_total())
    assert isinstance(again, cb.Item)


def test_item_from_delayed():
    item = cb.Item.from_delayed(cairn.delayed(sum)([1, 2, 3]))
    assert isinstance(item, cb.Item)
    assert item.compute() == 6
    assert item.apply(lambda x: x * 2).compute() == 12
    with pytest.raises(TypeError, match="Delayed"):
        cb.Item.from_delayed(6)


def test_builtin_conversions_of_an_item_compute_it():
    b = cb.from_sequence([0, 1, 2, 3], npartitions=2)
    assert int(b.sum()) == 6
    assert float(b.mean()) == 1.5
    assert complex(b.max()) == 3 + 0j
    assert bool(b.any()) is True and bool(b.all()) is False
    assert b.sum().name == b.sum().key


def test_item_from_a_graph_and_key_as_in_dask():
    total = _total()
    again = cb.Item(total.dask, total.key)
    assert again.key == total.key
    assert again.compute() == 4950
    assert pickle.loads(pickle.dumps(again)).compute() == 4950
    with pytest.raises(ValueError, match="not in the graph"):
        cb.Item(total.dask, "no-such-key")
