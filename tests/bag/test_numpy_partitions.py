"""A reduction over partitions that are NumPy arrays (``map_partitions(np.asarray).sum()``)
raised "The truth value of an array with more than one element is ambiguous": empty
partitions were found by truth value instead of by length."""

import pytest

import cairn.bag as cb
from cairn.bag.chunk import is_empty

np = pytest.importorskip("numpy")


def test_reduction_over_numpy_partitions():
    arrays = cb.from_sequence(range(10), npartitions=3).map_partitions(np.asarray)
    assert arrays.sum().compute() == 45
    assert arrays.max().compute() == 9
    assert arrays.reduction(len, sum).compute() == 10


def test_reduction_skips_empty_numpy_partitions():
    parts = (cb.from_sequence([1, 2, 3], npartitions=3).filter(lambda x: x != 2)
             .map_partitions(np.asarray))  # partitions [1], [], [3]
    assert parts.max().compute() == 3
    assert parts.reduction(len, sum).compute() == 2
    assert parts.reduction(lambda a: a.min(), min).compute() == 1  # min of [] would raise


class _Sparse:
    """Like a SciPy sparse matrix: ``len`` is an error, ``nnz`` counts the stored values."""

    def __init__(self, nnz):
        self.nnz = nnz

    def __len__(self):
        raise TypeError("sparse matrix length is ambiguous")


class _Shaped:
    """An array-like with a shape and no ``len``."""

    def __init__(self, shape):
        self.shape = shape


def test_emptiness_by_length_nnz_or_shape():
    assert is_empty([]) and not is_empty([0])
    assert is_empty(np.array([])) and not is_empty(np.array([0, 0]))
    assert is_empty(_Sparse(0)) and not is_empty(_Sparse(3))
    assert is_empty(_Shaped((2, 0))) and not is_empty(_Shaped((2, 1)))
