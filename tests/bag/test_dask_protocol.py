"""A Bag did not speak Dask's collection protocol (``__dask_graph__``, ``__dask_keys__`` ...):
``dask.compute`` of a cairn Bag handed the Bag back uncomputed, and ``b.__dask_keys__()``
was an AttributeError. Once it did, Dask computing a Bag together with a reduction of it
lost the Bag's partitions: the optimizer fused them into the reduction because it did not
see that Dask's finalize task (a node of Dask's task spec) uses them."""

import pytest

import cairn.bag as cb
from cairn.bag.optimize import optimize

dask = pytest.importorskip("dask")


def _doubled():
    return cb.from_sequence(range(10), npartitions=3).map(lambda x: x * 2)


def test_bag_dask_keys_are_its_partitions():
    b = _doubled()
    assert b.__dask_keys__() == [(b.name, i) for i in range(3)]
    assert b.__dask_graph__() == b.dask
    assert b.__dask_layers__() == (b.name,)


def test_dask_compute_of_a_bag_gives_its_elements():
    assert dask.compute(_doubled()) == ([2 * i for i in range(10)],)


def test_dask_compute_of_a_bag_and_its_reduction_keeps_both():
    b = _doubled()
    assert dask.compute(b, b.sum(), b.filter(None).count()) == (
        [2 * i for i in range(10)], 90, 9)


def test_dask_persist_of_a_bag_gives_a_bag():
    (persisted,) = dask.persist(_doubled())
    assert isinstance(persisted, cb.Bag)
    assert persisted.compute() == [2 * i for i in range(10)]


def test_dask_persist_of_an_item_gives_an_item():
    (persisted,) = dask.persist(_doubled().sum())
    assert isinstance(persisted, cb.Item)
    assert persisted.compute() == 90


def test_optimize_keeps_fuse_keys():
    y = cb.range(10, npartitions=2).map(lambda x: x + 1)
    z = y.map(lambda x: x * 2)
    fused = optimize(z.dask, z.__dask_keys__())
    assert not set(y.__dask_keys__()) & set(fused)
    kept = z.__dask_optimize__(z.dask, z.__dask_keys__(), fuse_keys=y.__dask_keys__())
    assert set(y.__dask_keys__()) <= set(kept)
    assert cb.Bag(kept, z.name, 2).compute() == [2 * (i + 1) for i in range(10)]
