"""The sentinel for "argument not given" (as dask's ``no_default``)."""

from __future__ import annotations


class _NoDefault:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<no_default>"

    def __reduce__(self) -> str:
        return "no_default"


no_default = _NoDefault()
