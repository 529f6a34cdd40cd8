import pytest

import cairn

SCHEDULERS = ["threads", "sync", "processes"]


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    """Run a test under every scheduler; results must not depend on it."""
    with cairn.config.set(scheduler=request.param):
        yield request.param


@pytest.fixture(params=["threads", "sync"])
def inprocess_scheduler(request):
    """For tests that watch side effects in this process (worker processes have their own
    memory, as with Dask's processes scheduler)."""
    with cairn.config.set(scheduler=request.param):
        yield request.param
