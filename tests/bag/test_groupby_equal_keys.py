"""groupby split keys that Python holds equal across types (1, np.int64(1), True, 1.0;
0.5 and Fraction(1, 2)) into separate groups: the hash that picks a key's partition must
agree with ``==``, and stay seedless so every process picks the same partition."""

import decimal
import fractions
import operator

import numpy as np
import pytest

import cairn.bag as cb
from cairn.bag.shuffle import stable_hash

ONES = [1, np.int64(1), True, 1.0, fractions.Fraction(1), decimal.Decimal(1), np.bool_(True),
        complex(1, 0), np.float32(1)]
HALVES = [0.5, fractions.Fraction(1, 2), np.float64(0.5), np.float32(0.5),
          decimal.Decimal("0.5")]
TWOS = [2, np.int32(2), 2.0, np.uint8(2)]
ITEMS = ONES + HALVES + TWOS


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_groupby_puts_equal_keys_of_different_types_in_one_group(scheduler):
    b = cb.from_sequence(ITEMS, npartitions=6)
    groups = b.groupby(lambda x: x, npartitions=4).compute(scheduler=scheduler)
    assert sorted(len(members) for _, members in groups) == sorted(
        [len(ONES), len(HALVES), len(TWOS)])


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_foldby_and_frequencies_group_equal_keys_of_different_types(scheduler):
    b = cb.from_sequence(ITEMS, npartitions=6)
    folded = b.foldby(lambda x: x, lambda n, _: n + 1, 0, operator.add).compute(
        scheduler=scheduler)
    assert sorted(n for _, n in folded) == sorted([len(ONES), len(HALVES), len(TWOS)])
    assert sorted(n for _, n in b.frequencies().compute(scheduler=scheduler)) == sorted(
        [len(ONES), len(HALVES), len(TWOS)])


def test_stable_hash_agrees_with_equality_inside_tuples_and_frozensets():
    assert stable_hash((1, 0.5)) == stable_hash((np.int8(1), fractions.Fraction(1, 2)))
    assert stable_hash(frozenset({1, 2})) == stable_hash(frozenset({2.0, True}))
    assert stable_hash(1 + 2j) == stable_hash(np.complex128(1 + 2j))
    assert stable_hash(0.5) != stable_hash(1)
    assert stable_hash("1") != stable_hash(1)
