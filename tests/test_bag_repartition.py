"""repartition(partition_size=): partitions of about that many bytes, results unchanged."""

import pytest

import cairn.bag as cb
from cairn.bag.repartition import mem_usage


@pytest.mark.parametrize("size", [100, 1000, "2kB", 10**6])
def test_partition_size_keeps_results_and_bounds_partitions(size, scheduler):
    data = [f"item-{i}" * (i % 5 + 1) for i in range(1000)]
    b = cb.from_sequence(data, npartitions=7).repartition(partition_size=size)
    assert b.compute() == data
    limit = mem_usage([]) + (size if isinstance(size, int) else 2000)
    sizes = b.map_partitions(mem_usage).compute()
    assert len(sizes) == b.npartitions
    # every partition except single oversized elements stays near the target
    assert all(s <= limit * 2 for s in sizes)


def test_partition_size_matches_dask_results():
    db = pytest.importorskip("dask.bag")
    ours = cb.from_sequence(range(500), npartitions=3).repartition(partition_size="1kB")
    theirs = db.from_sequence(range(500), npartitions=3).repartition(partition_size="1kB")
    assert ours.compute() == theirs.compute(scheduler="sync")
    assert abs(ours.npartitions - theirs.npartitions) <= max(1, theirs.npartitions // 10)


def test_partition_size_must_be_positive():
    with pytest.raises(ValueError, match="partition_size"):
        cb.from_sequence([1, 2]).repartition(partition_size=0)
