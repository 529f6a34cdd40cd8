"""Fixtures shared by the Bag-vs-Dask test modules."""

import pytest

import cairn

dask = pytest.importorskip("dask")


@pytest.fixture(autouse=True)
def dask_sync():
    """Dask computes in this process (bag's default is a process pool), so that its warnings
    are seen and the comparison is cheap."""
    with dask.config.set(scheduler="sync"):
        yield


@pytest.fixture(params=[True, False], ids=["native", "python"])
def native(request):
    """Run a test on cairn's native text path and on the Python path."""
    with cairn.config.set({"bag.native": request.param}):
        yield request.param
