"""A fused chain of ``map`` steps held each step's first result while the next steps ran (a
suspended generator kept it in a local), so two objects were alive where one should be
(Dask's issue 5189): a chain over large elements held more memory than its steps need."""

import gc
import weakref

import pytest

import cairn.bag as cb


class _Big:
    def __init__(self, i):
        self.i = i


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
@pytest.mark.parametrize("kwargs", [{}, {"extra": 0}], ids=["plain", "keywords"])
def test_fused_map_chain_holds_one_element_at_a_time(scheduler, kwargs):
    alive = weakref.WeakSet()

    def make(i, extra=0):
        assert len(alive) == 0, "an element of an earlier step is still held"
        big = _Big(i + extra)
        alive.add(big)
        return big

    def drop(big, extra=0):
        return big.i + 100

    chain = (cb.from_sequence(range(4), npartitions=1)
             .map(make, **kwargs).map(drop, **kwargs).map(make, **kwargs).map(drop, **kwargs))
    gc.disable()  # reference cycles must not be what frees them
    try:
        assert chain.sum().compute(scheduler=scheduler) == sum(range(200, 204))
        assert chain.compute(scheduler=scheduler) == [200, 201, 202, 203]
    finally:
        gc.enable()
