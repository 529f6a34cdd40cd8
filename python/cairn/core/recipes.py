"""Native tasks as the calls that made them, so a graph holding them can leave the process.

A native task (``cairn._core.NativeTask``) is a C++ object: it cannot be pickled. Each one is
made through :func:`make`, which remembers its **recipe**, the module-level function and
arguments that made it. :func:`portable` turns a graph's native tasks into ordinary Python
tasks that rebuild the native task from its recipe where they run (a dask.distributed
worker, another process) and run it there with the GIL released (:func:`run`). Results
that stay native between tasks (counts tables on their way to a merge) travel as
``cairn._core.NativeValue``, which pickles as bytes; the others come back as Python values.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

from .. import _core

_RECIPES: "weakref.WeakKeyDictionary[Any, Recipe]" = weakref.WeakKeyDictionary()


class Recipe:
    """How a native task was made: ``factory(*args)``, a module-level function (pickled by
    name) and picklable arguments. An object, not a tuple, so no graph reads it as a task."""

    __slots__ = ("factory", "args")

    def __init__(self, factory: Callable[..., Any], args: tuple) -> None:
        self.factory, self.args = factory, args

    def __reduce__(self) -> tuple:
        return (Recipe, (self.factory, self.args))

    def __repr__(self) -> str:
        return f"Recipe({getattr(self.factory, '__qualname__', self.factory)})"


def make(factory: Callable[..., Any], *args: Any) -> Any:
    """``factory(*args)`` (a module-level function returning a native task), remembered
    with its :class:`Recipe`; the arguments must pickle."""
    task = factory(*args)
    _RECIPES[task] = Recipe(factory, args)
    return task


def recipe_of(task: Any) -> "Recipe | None":
    """The recipe a native task was made from, or None if it was made some other way."""
    try:
        return _RECIPES.get(task)
    except TypeError:
        return None


def is_native(spec: Any) -> bool:
    """A task tuple whose callable is a native task."""
    return type(spec) is tuple and len(spec) > 0 and isinstance(spec[0], _core.NativeTask)


def _flat(values: Any, out: list) -> list:
    for v in values:
        if type(v) is list:
            _flat(v, out)
        else:
            out.append(v)
    return out


def run(recipe: Recipe, *inputs: Any) -> Any:
    """Rebuilds a native task from its recipe and runs it here on ``inputs``: a
    ``NativeValue`` for a counts table (so a key holds the same kind of value in every
    graph that names it), else the result's Python value."""
    task = recipe.factory(*recipe.args)
    return _core.run_native(task, list(inputs), False)


class ToPython:
    """A task's callable that reads native results: NativeValue arguments (also inside
    lists) become their Python values before ``func`` is called."""

    __slots__ = ("func",)

    def __init__(self, func: Callable) -> None:
        self.func = func

    def __reduce__(self) -> tuple:
        return (ToPython, (self.func,))

    def __call__(self, *args: Any) -> Any:
        return self.func(*(to_python(a) for a in args))


def _reading_native(spec: Any) -> Any:
    """``spec`` with every callable of its task tuples wrapped in :class:`ToPython`."""
    if type(spec) is list:
        return [_reading_native(s) for s in spec]
    if type(spec) is tuple and spec and callable(spec[0]):
        return (ToPython(spec[0]), *(_reading_native(a) for a in spec[1:]))
    return spec


def to_python(value: Any) -> Any:
    """``value`` with a NativeValue (a native result handed over as is) made Python; a list
    holding none is returned as it is."""
    if isinstance(value, _core.NativeValue):
        return value.to_python()
    if type(value) is list:
        converted = [to_python(v) for v in value]
        if any(c is not v for c, v in zip(converted, value)):
            return converted
    return value


def run_to_python(recipe: Recipe, *inputs: Any) -> Any:
    """:func:`run`, its result always a Python value (for a task whose reader is Python)."""
    return to_python(run(recipe, *inputs))


def _keys_in(arg: Any, dsk: dict, out: set) -> None:
    if type(arg) is list:
        for a in arg:
            _keys_in(a, dsk, out)
    elif type(arg) is tuple and arg and (callable(arg[0]) or isinstance(arg[0], _core.NativeTask)):
        for a in arg[1:]:
            _keys_in(a, dsk, out)
    else:
        try:
            if arg in dsk:
                out.add(arg)
        except TypeError:
            pass


def portable(dsk: dict) -> dict:
    """``dsk`` with each native task ``(native, *keys)`` replaced by ``(run, recipe, *keys)``
    (its input keys flattened), and each Python task that reads a native result given
    that result as a Python value (:class:`ToPython`). A counts table stays a
    ``NativeValue`` under its key in every graph; the collection's ``__dask_postcompute__``
    makes outputs Python. A graph without native tasks is returned as it is. A native task
    without a recipe is a TypeError naming its key."""
    native = {k for k, v in dsk.items() if is_native(v)}
    if not native:
        return dsk
    out = dict(dsk)
    for key in native:
        task, *args = dsk[key]
        recipe = recipe_of(task)
        if recipe is None:
            raise TypeError(f"native task {key!r} ({task!r}) was not made through "
                            "cairn.core.recipes.make, so it cannot leave this process")
        out[key] = (run, recipe, *_flat(args, []))
    for key, spec in dsk.items():
        if key in native:
            continue
        reads: set = set()
        _keys_in(spec, dsk, reads)
        if reads & native:
            out[key] = _reading_native(spec)
    return out


def _flat_keys(keys: Any, out: list) -> list:
    for k in keys if type(keys) is list else [keys]:
        if type(k) is list:
            _flat_keys(k, out)
        else:
            out.append(k)
    return out


def dask_graph(collection: Any) -> dict:
    """A cairn collection's ``__dask_graph__()``: its graph made :func:`portable`, so Dask's
    schedulers (dask.distributed's workers among them) can run and move every task."""
    return portable(collection.__cairn_graph__())


def _finalize_python(results: Any, finalize: Callable, *extra: Any) -> Any:
    return finalize(to_python(results), *extra)


def dask_postcompute(collection: Any) -> tuple:
    """A cairn collection's ``__dask_postcompute__()``: its own, after native results (a
    counts table kept native under its key) are made Python."""
    finalize, extra = collection.__cairn_postcompute__()
    return _finalize_python, (finalize, *extra)
