"""Testing helpers for bags, as ``dask.bag.utils``."""

from __future__ import annotations

from typing import Any


def assert_eq(a: Any, b: Any, scheduler: str = "sync") -> None:
    """Asserts that two bags, items or plain values compute to equal values (collections are
    computed on ``scheduler``, the calling thread by default).

    Examples
    --------
    >>> import cairn.bag as cb
    >>> from cairn.bag.utils import assert_eq
    >>> assert_eq(cb.from_sequence([1, 2, 3]).map(lambda x: x * 2), [2, 4, 6])
    """
    if hasattr(a, "compute"):
        a = a.compute(scheduler=scheduler)
    if hasattr(b, "compute"):
        b = b.compute(scheduler=scheduler)
    assert a == b, f"{a!r} != {b!r}"
