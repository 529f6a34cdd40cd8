import os

import pytest

import cairn

# `cairn add` starts a background compaction once enough data waits to be compressed; a
# process outliving its test would race with the test's checks and clean-up. Tests of
# compaction switch it on themselves.
os.environ["CAIRN_AUTOCOMPACT"] = "0"

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
