"""cairn.bag.utils.assert_eq, as dask.bag.utils's."""

import pytest

import cairn
import cairn.bag as cb
from cairn.bag.utils import assert_eq


def test_assert_eq_computes_bags_items_and_delayed_values():
    b = cb.from_sequence([1, 2, 3], npartitions=2)
    assert_eq(b.map(lambda x: x + 1), [2, 3, 4])
    assert_eq(b.sum(), cairn.delayed(6))
    with pytest.raises(AssertionError, match=r"\[1, 2, 3\] != \[1, 2\]"):
        assert_eq(b, [1, 2])
