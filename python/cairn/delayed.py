"""cairn.delayed: lazy function calls that build a task graph, named and behaving like Dask's."""

from __future__ import annotations

import dataclasses
import functools
import operator
import types
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, Callable

from . import config as _config
from .core import recipes as _recipes
from .base import _as_collection, compute, is_cairn_collection, literal, persist
from .containers import is_namedtuple_instance
from .threaded import get as _threaded_get
from .tokenize import tokenize, unique_token

__all__ = ["Delayed", "delayed", "apply"]

_SIMPLE = (int, float, bool, complex, type(None))


def apply(func: Callable, args: list, kwargs: dict | None = None) -> Any:
    """Call ``func(*args, **kwargs)``: the task form of a call with keyword arguments."""
    return func(*args, **kwargs) if kwargs else func(*args)


def _call_delayed_result(func: Callable, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class _MethodCaller:
    """``obj.name(*args, **kwargs)`` as a picklable callable."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, obj: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(obj, self.name)(*args, **kwargs)

    def __reduce__(self) -> tuple:
        return (_MethodCaller, (self.name,))


def funcname(func: Any) -> str:
    """A short readable name for a callable, used as the prefix of task keys."""
    while isinstance(func, functools.partial):
        func = func.func
    if isinstance(func, _MethodCaller):
        return func.name
    if isinstance(func, operator.attrgetter):
        return "getattr"
    name = getattr(func, "__name__", None) or type(func).__name__
    return "lambda" if name == "<lambda>" else name


def _quote(obj: Any) -> Any:
    """The task expression for a literal argument (never misread as a key or a task)."""
    if type(obj) in _SIMPLE:
        return obj
    if isinstance(obj, (str, bytes, tuple, list)):
        return (literal(obj),)
    return obj


def _unpack(expr: Any) -> tuple[Any, list]:
    """Task expression for ``expr`` plus the Delayed objects it references."""
    if isinstance(expr, Delayed):
        return expr._key, [expr]
    collection = _as_collection(expr)
    if collection is not None:
        d = _finalize_collection(collection)
        return d._key, [d]
    typ = type(expr)
    if typ in (list, tuple, set, frozenset) or is_namedtuple_instance(expr):
        parts = [_unpack(e) for e in expr]
        deps = [d for _, ds in parts for d in ds]
        if not deps:
            return _quote(expr), []
        items = [p[0] for p in parts]
        if typ is list:
            return items, deps
        if typ in (tuple, set, frozenset):
            return (typ, items), deps
        return (typ, *items), deps  # a namedtuple: its class called with the fields
    if typ is dict or typ is OrderedDict:
        parts = [(_unpack(k), _unpack(v)) for k, v in expr.items()]
        deps = [d for (_, kd), (_, vd) in parts for d in kd + vd]
        if not deps:
            return expr, []
        return (typ, [[k[0], v[0]] for k, v in parts]), deps
    if typ is slice:
        parts = [_unpack(e) for e in (expr.start, expr.stop, expr.step)]
        deps = [d for _, ds in parts for d in ds]
        return ((slice, *(p[0] for p in parts)), deps) if deps else (expr, [])
    if dataclasses.is_dataclass(expr) and not isinstance(expr, type):
        fields = [f for f in dataclasses.fields(expr) if hasattr(expr, f.name)]
        parts = [_unpack(getattr(expr, f.name)) for f in fields]
        deps = [d for _, ds in parts for d in ds]
        if not deps:
            return expr, []
        names = [(f.name, f.init) for f in fields]
        try:
            dataclasses.replace(expr, **{f.name: getattr(expr, f.name) for f in fields if f.init})
        except TypeError as e:
            raise TypeError(
                f"cannot rebuild the {typ.__name__} instance holding Delayed values: a "
                "dataclass with a custom __init__ is not supported; pass its fields to a "
                "delayed function that builds it instead") from e
        return (_make_dataclass, typ, (literal(names),), [p[0] for p in parts]), deps
    if isinstance(expr, Iterator):
        return _unpack(list(expr))
    return _quote(expr), []


def _make_dataclass(typ: type, names: list, values: list) -> Any:
    """A dataclass instance from its fields' values (``(name, init)`` pairs in ``names``)."""
    obj = typ(**{n: v for (n, init), v in zip(names, values) if init})
    for (n, init), v in zip(names, values):
        if not init:
            object.__setattr__(obj, n, v)
    return obj


def _finalize_collection(collection: Any) -> "Delayed":
    finalize, extra = collection.__cairn_postcompute__()
    keys = collection.__cairn_keys__()
    name = f"finalize-{tokenize(collection)}"
    task = (finalize, keys, *(_quote(e) for e in extra))
    return Delayed(name, task, (), layer=collection.__cairn_graph__())


def call_function(
    func: Callable,
    args: tuple,
    kwargs: dict,
    *,
    pure: bool | None,
    nout: int | None,
    dask_key_name: Any = None,
    name_prefix: str | None = None,
) -> "Delayed":
    if pure is None:
        pure = _config.get("delayed_pure", False)
    if dask_key_name is not None:
        key = dask_key_name
    else:
        token = tokenize(func, args, kwargs) if pure else unique_token()
        key = f"{name_prefix or funcname(func)}-{token}"
    arg_exprs = []
    deps: list = []
    for a in args:
        e, d = _unpack(a)
        arg_exprs.append(e)
        deps.extend(d)
    if isinstance(func, Delayed):
        deps.append(func)
        arg_exprs.insert(0, func._key)
        func = _call_delayed_result
    if kwargs:
        kw_expr, kw_deps = _unpack(kwargs)
        deps.extend(kw_deps)
        task = (apply, func, arg_exprs, kw_expr)
    else:
        task = (func, *arg_exprs)
    return Delayed(key, task, deps, length=nout)


class Delayed:
    """A lazy value: the result of a task graph, computed with ``.compute()``.

    Operators, attribute access, indexing and calls on a Delayed give new Delayed objects.
    Iterating needs a known length (``nout=``). Delayed objects are immutable.

    Examples
    --------
    >>> import cairn
    >>> x = cairn.delayed(3)
    >>> y = (x + 1) * 2
    >>> y.compute()
    8
    """

    __slots__ = ("_key", "_task", "_deps", "_length", "_layer", "__weakref__")

    def __init__(self, key: Any, task: Any, deps: Any = (), length: int | None = None,
                 layer: dict | None = None) -> None:
        if isinstance(task, Mapping):
            # Dask's form, Delayed(key, dsk[, length]): the second argument is the graph.
            if isinstance(deps, int):
                length, deps = deps, ()
            graph = dict(task)
            if layer:
                graph.update(layer)
            task, layer = _NO_TASK, graph
            if key not in graph:
                raise ValueError(f"Delayed({key!r}, dsk): the key is not in the graph dsk")
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_task", task)
        object.__setattr__(self, "_deps", tuple(deps))
        object.__setattr__(self, "_length", length)
        object.__setattr__(self, "_layer", layer)

    # --- collection protocol -----------------------------------------------------------
    def __cairn_graph__(self) -> dict:
        dsk: dict = {}
        others: list = []
        stack = [self]
        while stack:
            d = stack.pop()
            if not isinstance(d, Delayed):
                others.append(d)  # another kind of collection (a Bag): merged below
                continue
            if d._key in dsk:
                continue
            if d._layer:
                dsk.update(d._layer)
            if d._task is not _NO_TASK:
                dsk[d._key] = d._task
            elif d._key not in dsk and not d._layer and not d._deps:
                raise ValueError(f"Delayed {d._key!r} has no task")
            stack.extend(d._deps)
        if others:
            from .base import collect_graph

            dsk.update(collect_graph(*others))
        return dsk

    def __cairn_keys__(self) -> list:
        return [self._key]

    def __cairn_postcompute__(self) -> tuple:
        return _first, ()

    def __cairn_postpersist__(self) -> tuple:
        return _rebuild, (self._key, self._length)

    def __cairn_tokenize__(self) -> Any:
        return self._key

    # Dask's collection protocol, so Dask (and dask.distributed) accept a cairn Delayed.
    def __dask_graph__(self) -> dict:
        return _recipes.dask_graph(self)

    __dask_keys__ = __cairn_keys__
    def __dask_postcompute__(self) -> tuple:
        return _recipes.dask_postcompute(self)

    __dask_postpersist__ = __cairn_postpersist__
    __dask_tokenize__ = __cairn_tokenize__

    def __dask_layers__(self) -> tuple:
        return (self._key,)

    # Dask's compute() of a cairn Delayed runs on cairn's threads by default.
    __dask_scheduler__ = staticmethod(_threaded_get)

    @staticmethod
    def __dask_optimize__(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        return dsk

    # --- public API --------------------------------------------------------------------
    @property
    def key(self) -> Any:
        """The key of this value's task in the graph."""
        return self._key

    @property
    def dask(self) -> dict:
        """The task graph (a dict in Dask's graph spec), as Dask's schedulers receive it:
        native tasks appear as the Python calls that rebuild and run them."""
        return self.__dask_graph__()

    def compute(self, **kwargs: Any) -> Any:
        """Compute this value; keywords as for :func:`cairn.compute`."""
        return compute(self, traverse=False, **kwargs)[0]

    def persist(self, **kwargs: Any) -> "Delayed":
        """Compute this value and return a Delayed that holds the result."""
        return persist(self, traverse=False, **kwargs)[0]

    def visualize(self, filename: str | None = "mydask", format: str | None = None,
                  **kwargs: Any) -> Any:
        """Draw the task graph with graphviz; see :func:`cairn.visualize`."""
        from .dot import visualize

        return visualize(self, filename=filename, format=format, **kwargs)

    def __repr__(self) -> str:
        return f"Delayed({self._key!r})"

    def __hash__(self) -> int:
        return hash(self._key)

    def __bool__(self) -> bool:
        raise TypeError(
            "Truth of Delayed objects is not supported: compute it first, e.g. "
            "`if x.compute(): ...`"
        )

    __nonzero__ = __bool__

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("Delayed objects of unspecified length have no len(); "
                            "pass nout= to cairn.delayed to give one")
        return self._length

    def __iter__(self):
        if self._length is None:
            raise TypeError("Delayed objects of unspecified length are not iterable; "
                            "pass nout= to cairn.delayed to unpack results")
        for i in range(self._length):
            yield self[i]

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("Delayed objects are immutable")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError("Delayed objects are immutable")

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(f"Attribute {attr} not found")
        if attr == "visualise":
            warnings.warn("cairn.delayed objects have no `visualise` method; did you mean "
                          "`visualize`? (Delayed.visualise is a lazy attribute access)",
                          UserWarning, stacklevel=2)
        return DelayedAttr(self, attr)

    def __call__(self, *args: Any, pure: bool | None = None, dask_key_name: Any = None,
                 **kwargs: Any) -> "Delayed":
        return call_function(self, args, kwargs, pure=pure, nout=None,
                             dask_key_name=dask_key_name, name_prefix="call")

    def __dir__(self) -> list:
        return sorted(set(object.__dir__(self)) | {"key", "dask", "compute", "persist"})

    def __reduce__(self) -> tuple:
        return (Delayed, (self._key, self._task, self._deps, self._length, self._layer))


class _NoTask:
    """The marker of a Delayed without a task of its own; one object, also after pickling."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_NO_TASK"

    def __repr__(self) -> str:
        return "<no task>"


_NO_TASK = _NoTask()


def _first(results: list) -> Any:
    return results[0]


def _rebuild(dsk: dict, key: Any, length: int | None, rename: dict | None = None) -> Delayed:
    if rename:  # Dask's rename=: {old name: new name}, the name being a key's first part
        if isinstance(key, tuple) and key:
            key = (rename.get(key[0], key[0]), *key[1:])
        else:
            key = rename.get(key, key)
    return Delayed(key, _NO_TASK, (), length=length, layer=dsk)


_LEAF_KEYS: dict = {}
_CACHEABLE = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)


def _leaf_key(obj: Any, nout: int | None, pure: bool | None) -> str:
    """The key of ``delayed(obj)``: unique, or with ``pure`` (default: config
    ``delayed_pure``) named by ``obj``'s token, as in Dask."""
    prefix = funcname(obj) if callable(obj) else type(obj).__name__
    if not (pure if pure is not None else _config.get("delayed_pure", False)):
        return f"{prefix}-{unique_token()}"
    # `delayed(f, pure=True)(x)` in a loop makes a leaf per call: remember the key of plain
    # functions (tokenizing one costs more than the rest of the call).
    # Not functions whose closure or (in __main__) globals take part in their token: those
    # can change while the function object stays the same.
    cacheable = isinstance(obj, _CACHEABLE) and not (
        isinstance(obj, types.FunctionType)
        and (obj.__closure__ or obj.__module__ == "__main__"))
    if cacheable:
        key = _LEAF_KEYS.get((obj, nout))
        if key is not None:
            return key
    key = f"{prefix}-{tokenize(obj, nout)}"
    if cacheable:
        if len(_LEAF_KEYS) > 4096:
            _LEAF_KEYS.clear()
        _LEAF_KEYS[(obj, nout)] = key
    return key


class DelayedLeaf(Delayed):
    """``delayed(obj)`` for an object without Delayed inside: calling it builds a task."""

    __slots__ = ("_obj", "_pure", "_nout")

    def __init__(self, obj: Any, key: Any = None, pure: bool | None = None,
                 nout: int | None = None) -> None:
        if key is None:
            key = _leaf_key(obj, nout, pure)
        task = obj if type(obj) in _SIMPLE else (literal(obj),)
        super().__init__(key, task, (), length=nout)
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_pure", pure)
        object.__setattr__(self, "_nout", nout)

    def __call__(self, *args: Any, pure: bool | None = None, dask_key_name: Any = None,
                 **kwargs: Any) -> Delayed:
        if not callable(self._obj):
            raise TypeError(
                f"cannot call delayed({type(self._obj).__name__}): a "
                f"{type(self._obj).__name__} is not callable. Wrap a function instead, e.g. "
                "cairn.delayed(func)(*args)"
            )
        return call_function(self._obj, args, kwargs,
                             pure=self._pure if pure is None else pure, nout=self._nout,
                             dask_key_name=dask_key_name)

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return funcname(self._obj)

    @property
    def __wrapped__(self) -> Any:
        return self._obj

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        # ``@delayed`` on a method: ``obj.method(x)`` calls the function with ``obj`` first.
        if instance is None:
            return self
        return types.MethodType(self, instance)

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return getattr(self._obj, "__doc__", None)

    def __reduce__(self) -> tuple:
        return (DelayedLeaf, (self._obj, self._key, self._pure, self._nout))


class DelayedAttr(Delayed):
    """``x.attr`` of a Delayed ``x``; calling it calls the method."""

    __slots__ = ("_obj", "_attr")

    def __init__(self, obj: Delayed, attr: str) -> None:
        key = f"getattr-{tokenize(obj, attr)}"
        super().__init__(key, (operator.attrgetter(attr), obj._key), (obj,))
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_attr", attr)

    def __call__(self, *args: Any, pure: bool | None = None, dask_key_name: Any = None,
                 **kwargs: Any) -> Delayed:
        return call_function(_MethodCaller(self._attr), (self._obj, *args), kwargs,
                             pure=pure, nout=None, dask_key_name=dask_key_name)

    def __reduce__(self) -> tuple:
        return (DelayedAttr, (self._obj, self._attr))


def _bind_operator(op: Callable, reflected: bool = False) -> Callable:
    name = funcname(op).strip("_")

    if op in (operator.neg, operator.pos, operator.abs, operator.invert):
        def unary(self: Delayed) -> Delayed:
            return call_function(op, (self,), {}, pure=True, nout=None, name_prefix=name)
        return unary

    def binary(self: Delayed, other: Any) -> Delayed:
        args = (other, self) if reflected else (self, other)
        return call_function(op, args, {}, pure=True, nout=None, name_prefix=name)
    return binary


for _op in (operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
            operator.mod, operator.pow, operator.matmul, operator.and_, operator.or_,
            operator.xor, operator.lshift, operator.rshift):
    _name = _op.__name__.strip("_")
    setattr(Delayed, f"__{_name}__", _bind_operator(_op))
    setattr(Delayed, f"__r{_name}__", _bind_operator(_op, reflected=True))
for _op in (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge,
            operator.getitem, operator.neg, operator.pos, operator.abs, operator.invert):
    setattr(Delayed, f"__{_op.__name__.strip('_')}__", _bind_operator(_op))


def delayed(obj: Any = _NO_TASK, name: Any = None, pure: bool | None = None,
            nout: int | None = None, traverse: bool = True, dask_key_name: Any = None) -> Any:
    """Wrap a function or object so that using it builds a task graph instead of running.

    Parameters
    ----------
    obj : callable or object
        A function (calls of the result become tasks), or a value. Lists, tuples, sets and
        dicts holding Delayed objects become one Delayed of the container.
    name : str, optional
        The key to use for ``obj`` itself (``dask_key_name`` is an alias here).
    pure : bool, optional
        Name calls by a hash of the function and arguments, so equal calls share one task.
        Default: ``cairn.config.get("delayed_pure", False)``.
    nout : int, optional
        Number of outputs of the call, so its result can be unpacked and iterated.
    traverse : bool
        Look for Delayed objects inside Python containers.

    Examples
    --------
    >>> import cairn
    >>> @cairn.delayed
    ... def inc(x):
    ...     return x + 1
    >>> total = cairn.delayed(sum)([inc(i) for i in range(10)])
    >>> total.compute()
    55
    >>> a, b = cairn.delayed(divmod, nout=2)(17, 5)
    >>> cairn.compute(a, b)
    (3, 2)
    """
    if nout is not None and (isinstance(nout, bool) or not isinstance(nout, int) or nout < 0):
        raise ValueError(f"nout must be None or a non-negative integer, got {nout!r}")
    if obj is _NO_TASK:  # used as @delayed(pure=True)
        return functools.partial(delayed, name=name, pure=pure, nout=nout,
                                 traverse=traverse, dask_key_name=dask_key_name)
    if isinstance(obj, Delayed):
        return obj
    name = name if name is not None else dask_key_name
    collection = _as_collection(obj)
    if collection is not None:
        return _finalize_collection(collection)
    if traverse:
        if isinstance(obj, Iterator):
            obj = list(obj)
        task, deps = _unpack(obj)
        if deps:
            token = tokenize(task, pure=True) if pure else unique_token()
            return Delayed(name or f"{type(obj).__name__}-{token}", task, deps, length=nout)
    return DelayedLeaf(obj, key=name, pure=pure, nout=nout)
