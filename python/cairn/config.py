"""Configuration, as in ``dask.config``: ``cairn.config.set(...)`` globally or as a context.

Known keys (validated when set):

- ``scheduler``: ``"threads"`` (default), ``"sync"``, or a ``get(dsk, keys)`` callable.
- ``num_workers``: threads of the thread scheduler (default: the number of cores).
- ``delayed_pure``: default for ``cairn.delayed(..., pure=)`` (default ``False``).
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["get", "set", "config"]

config: dict[str, Any] = {}
_lock = threading.Lock()
_no_default = object()


def _normalize(key: str) -> str:
    return key.replace("-", "_")


def _validate(key: str, value: Any) -> None:
    if key == "scheduler" and value is not None and not callable(value):
        from .base import _scheduler_mode

        _scheduler_mode(value)  # raises ValueError naming the valid choices
    if key == "num_workers" and value is not None:
        from .base import _check_num_workers

        _check_num_workers(value)


def get(key: str, default: Any = _no_default) -> Any:
    """Return a configuration value.

    Parameters
    ----------
    key : str
        The name, e.g. ``"scheduler"``. Dots address nested values (``"a.b"``).
    default : optional
        Returned when the key is not set; without it a missing key raises ``KeyError``.

    Examples
    --------
    >>> import cairn
    >>> with cairn.config.set(num_workers=2):
    ...     cairn.config.get("num_workers")
    2
    >>> cairn.config.get("no-such-key", None) is None
    True
    """
    node: Any = config
    for part in _normalize(key).split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif default is _no_default:
            raise KeyError(f"configuration key {key!r} is not set")
        else:
            return default
    return node


class set:  # noqa: A001 - named like dask.config.set on purpose
    """Set configuration values, globally or for a ``with`` block.

    Parameters
    ----------
    arg : dict, optional
        Values to set, by key (dots address nested values).
    **kwargs
        More values to set, by key.

    Examples
    --------
    >>> import cairn
    >>> with cairn.config.set(scheduler="sync"):
    ...     cairn.config.get("scheduler")
    'sync'
    >>> cairn.config.get("scheduler", "threads")
    'threads'
    """

    def __init__(self, arg: dict | None = None, **kwargs: Any) -> None:
        updates = dict(arg or {})
        updates.update(kwargs)
        self._undo: list[tuple[list[str], bool, Any]] = []
        with _lock:
            for key, value in updates.items():
                path = _normalize(key).split(".")
                _validate(".".join(path), value)
                node = config
                for part in path[:-1]:
                    node = node.setdefault(part, {})
                existed = path[-1] in node
                self._undo.append((path, existed, node.get(path[-1])))
                node[path[-1]] = value

    def __enter__(self) -> "set":
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            for path, existed, old in reversed(self._undo):
                node = config
                for part in path[:-1]:
                    node = node.setdefault(part, {})
                if existed:
                    node[path[-1]] = old
                else:
                    node.pop(path[-1], None)
