"""cairn.bag.random (Dask's ``dask.bag.random``: sample, choices) was missing."""

import collections
import random as rnd

import pytest

import cairn.bag as cb
from cairn.bag import random


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_sample_draws_distinct_elements_from_every_partition_layout(scheduler):
    b = cb.from_sequence(range(100), npartitions=10)
    for k in (0, 1, 10, 100):
        drawn = random.sample(b, k, split_every=3).compute(scheduler=scheduler)
        assert len(drawn) == k == len(set(drawn))
        assert set(drawn) <= set(range(100))
    uneven = cb.from_sequence(range(10), partition_size=9).repartition(3)  # [9, 0, 1]
    assert sorted(random.sample(uneven, 10).compute(scheduler=scheduler)) == list(range(10))


def test_sample_larger_than_the_bag_is_an_error():
    with pytest.raises(ValueError, match="Sample larger than population"):
        random.sample(cb.from_sequence(range(3), npartitions=3), 4).compute()
    with pytest.raises(ValueError, match="negative"):
        random.sample(cb.from_sequence(range(3)), -1)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_choices_draws_with_replacement(scheduler):
    b = cb.from_sequence(range(3), npartitions=3)
    drawn = random.choices(b, k=7).compute(scheduler=scheduler)
    assert len(drawn) == 7 and set(drawn) <= {0, 1, 2}
    empty_middle = cb.from_sequence(range(10), partition_size=9).repartition(3)
    assert len(random.choices(empty_middle, k=4).compute(scheduler=scheduler)) == 4
    assert isinstance(random.choices(b), cb.Bag)


def test_sample_is_uniform_across_unequal_partitions():
    # 9 elements in one partition, 1 in the other: each must be drawn about equally often.
    rnd.seed(1234)
    b = cb.from_sequence(range(10), partition_size=9)
    counts = collections.Counter()
    for _ in range(300):
        counts.update(random.sample(b, 2).compute(scheduler="sync"))
    assert sum(counts.values()) == 600
    assert min(counts.values()) > 30 and max(counts.values()) < 100  # expected 60 each
