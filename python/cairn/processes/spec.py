"""Dask's graph spec as the workers evaluate it (kept apart from the worker's main module,
which the parent imports nothing from)."""

from __future__ import annotations

from typing import Any


def is_task(x: Any) -> bool:
    """A task tuple of Dask's graph spec: a callable and its arguments."""
    return type(x) is tuple and len(x) > 0 and callable(x[0])


def evaluate(arg: Any, data: dict) -> Any:
    """Dask's graph spec: lists are traversed, task tuples called, keys replaced."""
    if isinstance(arg, list):
        return [evaluate(a, data) for a in arg]
    if is_task(arg):
        func, *args = arg
        return func(*(evaluate(a, data) for a in args))
    try:
        if arg in data:
            return data[arg]
    except TypeError:  # unhashable: a plain value
        pass
    return arg


class Chain:
    """A linear chain of tasks fused into one (see ``scheduler._fuse_chains``): ``specs``
    run in order, each link on the value of the one before, which it names ``keys[i]``
    (a link's only input); only the first link reads the task's inputs."""

    __slots__ = ("keys", "specs")

    def __init__(self, keys: list, specs: list):
        self.keys, self.specs = keys, specs

    def __reduce__(self):
        return (Chain, (self.keys, self.specs))


def run(spec: Any, data: dict) -> Any:
    """A task's value: ``spec`` evaluated on its inputs ``data`` (a chain link by link, each
    intermediate value dropped as soon as the next link made its own)."""
    if type(spec) is not Chain:
        return evaluate(spec, data)
    value = evaluate(spec.specs[0], data)
    for key, link in zip(spec.keys, spec.specs[1:]):
        value = evaluate(link, {key: value})
    return value


class ExceptionState:
    """Pickles an exception as its type, args and attributes: unpickled, it is rebuilt
    without calling the constructor (which may want other arguments than ``args``)."""

    def __init__(self, exc: BaseException):
        self.exc = exc

    def __reduce__(self):
        exc = self.exc
        return (rebuild_exception, (type(exc), exc.args, dict(getattr(exc, "__dict__", {}))))


def rebuild_exception(cls: type, args: tuple, state: dict) -> BaseException:
    exc = cls.__new__(cls, *args)
    # A built-in base (UnicodeDecodeError, OSError...) keeps fields of its own that only its
    # __init__ sets from the args; the subclass's constructor is still not called.
    builtin = next(c for c in cls.__mro__ if c.__module__ == "builtins")
    try:
        builtin.__init__(exc, *args)
    except Exception:  # noqa: BLE001 (args the base does not take: keep them as args only)
        pass
    exc.args = args
    exc.__dict__.update(state)
    return exc
