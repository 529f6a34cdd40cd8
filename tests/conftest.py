import pytest

import cairn

SCHEDULERS = ["threads", "sync"]


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    """Run a test under every scheduler; results must not depend on it."""
    with cairn.config.set(scheduler=request.param):
        yield request.param
