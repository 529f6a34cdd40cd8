"""Callbacks fed by the executor (tasks done / total) and a progress bar built on them."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable, TextIO

__all__ = ["Callback", "ProgressBar"]

_registered: list["Callback"] = []
_local = threading.local()


def _active_callbacks() -> list["Callback"]:
    scoped = getattr(_local, "scoped", None)
    if not scoped:
        return list(_registered)
    return list(_registered) + [cb for cb in scoped if cb not in _registered]


class Callback:
    """Hooks called around every computation, like ``dask.callbacks.Callback``.

    Use as a context manager (active for computations started in the block, on this
    thread) or ``register()`` it globally. Hooks run on the thread that called compute.

    Parameters
    ----------
    start : callable(dsk), optional
        Called before the graph runs.
    progress : callable(done, total), optional
        Called by the executor as tasks finish (at most ~20 times a second, and once at
        the end). ``total`` counts tasks after optimization.
    finish : callable(dsk, errored), optional
        Called after the run, also when it failed or was interrupted.

    Examples
    --------
    >>> import cairn
    >>> seen = []
    >>> with cairn.diagnostics.Callback(progress=lambda d, t: seen.append((d, t))):
    ...     cairn.delayed(sum)([1, 2]).compute()
    3
    >>> seen[-1]
    (1, 1)
    """

    def __init__(self, start: Callable | None = None, progress: Callable | None = None,
                 finish: Callable | None = None) -> None:
        if start is not None:
            self._start = start  # type: ignore[method-assign]
        if progress is not None:
            self._progress = progress  # type: ignore[method-assign]
        if finish is not None:
            self._finish = finish  # type: ignore[method-assign]

    def _start(self, dsk: dict) -> None:
        pass

    def _progress(self, done: int, total: int) -> None:
        pass

    def _finish(self, dsk: dict, errored: bool) -> None:
        pass

    def __enter__(self) -> "Callback":
        if not hasattr(_local, "scoped"):
            _local.scoped = []
        _local.scoped.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _local.scoped.remove(self)

    def register(self) -> None:
        """Activate for every computation in the process until ``unregister()``."""
        if self not in _registered:
            _registered.append(self)

    def unregister(self) -> None:
        """Undo ``register()``."""
        if self in _registered:
            _registered.remove(self)


class ProgressBar(Callback):
    """A progress bar for computations: a terminal bar, or a widget in Jupyter.

    Built on tqdm (``tqdm.auto`` picks the notebook widget when ipywidgets is present).

    Parameters
    ----------
    minimum : float
        Seconds a computation must run before the bar appears (short ones stay quiet).
    width : int
        Width of the bar in characters (terminal only).
    out : file, optional
        Where the terminal bar is written (default ``sys.stdout``, as Dask's).

    Examples
    --------
    >>> import io, cairn
    >>> out = io.StringIO()
    >>> with cairn.diagnostics.ProgressBar(out=out):
    ...     cairn.delayed(sum)([1, 2, 3]).compute()
    6
    >>> "100%" in out.getvalue()
    True
    """

    def __init__(self, minimum: float = 0.0, width: int = 40, dt: float = 0.1,
                 out: TextIO | None = None) -> None:
        super().__init__()
        self.minimum = minimum
        self.width = width
        self.dt = dt
        self._out = out
        self._bar: Any = None
        self._start_time = 0.0
        self.last_duration: float | None = None

    def _start(self, dsk: dict) -> None:
        self._start_time = time.perf_counter()
        self._bar = None

    def _make_bar(self, total: int) -> Any:
        out = self._out if self._out is not None else sys.stdout
        if self._out is None:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        return tqdm(total=total, file=out, ncols=self.width + 40, mininterval=self.dt,
                    unit="task", leave=True, dynamic_ncols=False)

    def _progress(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self._start_time
        if self._bar is None:
            if elapsed < self.minimum:
                return
            self._bar = self._make_bar(total)
        if self._bar.total != total:
            self._bar.total = total
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def _finish(self, dsk: dict, errored: bool) -> None:
        self.last_duration = time.perf_counter() - self._start_time
        if self._bar is not None:
            self._bar.close()
            self._bar = None
