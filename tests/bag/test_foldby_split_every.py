"""``foldby(split_every=False)`` gave an empty bag (False, taken as a fan-in of 0, combined
nothing) and ``split_every=1`` never finished building the graph; reductions refused both
with a message that did not mention False."""

from operator import add

import pytest

import cairn.bag as cb


def _bag():
    return cb.from_sequence(range(100), npartitions=30)


@pytest.mark.parametrize("split_every", [None, False, 2, 3, 8, 30, 31])
def test_foldby_any_fan_in_gives_the_groups(split_every):
    result = _bag().foldby(lambda x: x % 3, add, 0, split_every=split_every).compute()
    assert sorted(result) == [(r, sum(range(r, 100, 3))) for r in range(3)]


@pytest.mark.parametrize("split_every", [None, False, 2, 7])
def test_reduction_any_fan_in_gives_the_total(split_every):
    assert _bag().sum(split_every=split_every).compute() == 4950
    assert _bag().reduction(len, sum, split_every=split_every).compute() == 100


@pytest.mark.parametrize("split_every", [0, 1])
def test_fan_in_below_two_is_refused(split_every):
    with pytest.raises(ValueError, match="split_every must be at least 2 .or False"):
        _bag().foldby(lambda x: x % 3, add, split_every=split_every)
    with pytest.raises(ValueError, match="split_every must be at least 2 .or False"):
        _bag().sum(split_every=split_every)
