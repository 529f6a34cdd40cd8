"""``cairn.callbacks.Callback``, where Dask keeps it (``dask.callbacks``)."""

from __future__ import annotations

from .diagnostics import Callback

__all__ = ["Callback"]
