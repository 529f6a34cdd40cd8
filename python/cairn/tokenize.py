"""Deterministic tokens for objects, used to name tasks of pure functions.

A token is the MD5 of a *normalized* form of the object: a tree of plain values (str, bytes,
numbers, tuples) built without Python's randomized ``hash()``, so equal inputs give equal tokens
in every process, before and after a (cloud)pickle round trip.

- Python functions are named by what they do, not only by their name: their code (bytecode,
  constants, names), defaults, closure values and, for functions defined in ``__main__`` (a
  notebook or script), the module globals they use. Editing a function in a notebook gives
  its tasks new keys, so old and new pipelines never share results.
- ``object()`` and other objects that cannot be named by content (unpicklable ones) get a
  token unique to the object: equal for the same object, different between objects.
- ``__cairn_tokenize__()`` (or Dask's ``__dask_tokenize__()``) lets a type name itself;
  :data:`normalize_token` ``.register(type)`` adds a normalizer for a type you do not own.
"""

from __future__ import annotations

import copyreg
import dataclasses
import datetime
import decimal
import enum
import functools
import hashlib
import itertools
import os
import pathlib
import pickle
import sys
import threading
import types
from collections import OrderedDict
from typing import Any, Callable

__all__ = ["tokenize", "unique_token", "normalize_token", "TokenizationError"]

_PREFIX = os.urandom(6).hex()
_counter = itertools.count()


class TokenizationError(RuntimeError):
    """Raised with ``ensure_deterministic=True`` for an object that cannot be named by content."""


def unique_token() -> str:
    """Return a token unique in this process and, with high probability, across processes."""
    return f"{_PREFIX}{next(_counter):x}"


class _State(threading.local):
    """Per-thread state of one tokenize() call: objects on the current path (for cycles)
    and whether a non-deterministic object is an error."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}
        self.deterministic: bool | None = None


_state = _State()

# object() instances have no content and no weakref support: remember a token per instance,
# keeping the instance alive so its id is never reused for another object (as Dask does).
_object_tokens: dict[int, tuple[object, str]] = {}
_object_lock = threading.Lock()


def _nondeterministic(what: str) -> None:
    deterministic = _state.deterministic
    if deterministic is None:
        from . import config

        deterministic = config.get("tokenize.ensure-deterministic", False)
    if deterministic:
        raise TokenizationError(
            f"{what} cannot be deterministically hashed (tokenized); give its type a "
            "__cairn_tokenize__ method, or pass ensure_deterministic=False"
        )


class _Dispatch:
    """``normalize_token(obj)``: the normalized form of ``obj``. ``register(type)`` adds a
    normalizer for instances of a type (and its subclasses), like Dask's ``normalize_token``."""

    def __init__(self) -> None:
        self._registry: dict[type, Callable[[Any], Any]] = {}
        self._cache: dict[type, Callable[[Any], Any] | None] = {}

    def register(self, types_: type | tuple, func: Callable | None = None) -> Callable:
        def add(f: Callable) -> Callable:
            for t in types_ if isinstance(types_, tuple) else (types_,):
                self._registry[t] = f
            self._cache.clear()
            return f

        return add(func) if func is not None else add

    def lookup(self, typ: type) -> Callable[[Any], Any] | None:
        try:
            return self._cache[typ]
        except KeyError:
            pass
        found = None
        for base in typ.__mro__:
            if base in self._registry:
                found = self._registry[base]
                break
        self._cache[typ] = found
        return found

    def __call__(self, obj: Any) -> Any:
        return _normalize(obj)


normalize_token = _Dispatch()

_PLAIN = (bool, int, float, complex, str, bytes, type(None), type(Ellipsis))
# Values whose repr() is exact and deterministic: they stand for themselves, as in Dask.
_BY_REPR = {slice, decimal.Decimal, datetime.date, datetime.datetime, datetime.time,
            datetime.timedelta, datetime.timezone, pathlib.PurePath, pathlib.PurePosixPath,
            pathlib.PureWindowsPath, pathlib.Path, pathlib.PosixPath}
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined in Python
_DESCRIPTORS = (types.MemberDescriptorType, types.GetSetDescriptorType,
                types.WrapperDescriptorType, types.MethodDescriptorType)


def _normalize(obj: Any) -> Any:
    typ = type(obj)
    if typ in _PLAIN or typ in _BY_REPR:
        return obj  # repr() tells these apart (1, 1.0, True, "1", b"1")
    registered = normalize_token.lookup(typ)
    if registered is not None:
        return ("registered", typ.__qualname__, _normalize_plain(registered(obj)))
    if not isinstance(obj, type):
        for hook in ("__cairn_tokenize__", "__dask_tokenize__"):
            method = getattr(obj, hook, None)
            if method is not None:
                return ("self", _normalize_plain(method()))
    if typ in (list, tuple, set, frozenset, dict, OrderedDict) or isinstance(obj, (list, tuple)):
        return _on_path(obj, _normalize_container)
    if isinstance(obj, (types.FunctionType, types.MethodType, functools.partial,
                        types.BuiltinFunctionType, staticmethod, classmethod, property)):
        return _on_path(obj, _normalize_callable)
    if isinstance(obj, types.ModuleType):
        return ("module", obj.__name__)
    if isinstance(obj, enum.Enum):
        return ("enum", _normalize(type(obj)), obj.name, _normalize(obj.value))
    if typ is object:
        return ("object", _object_token(obj))
    if isinstance(obj, type):
        return _on_path(obj, _normalize_class)
    if isinstance(obj, _DESCRIPTORS):
        return ("descriptor", _normalize(obj.__objclass__), obj.__name__)
    if dataclasses.is_dataclass(obj):
        return _on_path(obj, _normalize_dataclass)
    toolz = _normalize_toolz(obj)
    if toolz is not None:
        return toolz
    array = _normalize_array(obj)
    if array is not None:
        return array
    if _plain_instance(typ):
        return _on_path(obj, _normalize_instance)
    return _normalize_pickled(obj)


def _normalize_plain(value: Any) -> Any:
    """A hook's return value, normalized (hooks may return any tokenizable value)."""
    return value if type(value) in _PLAIN else _normalize(value)


def _on_path(obj: Any, normalize: Callable[[Any], Any]) -> Any:
    """Normalize a container or function; a reference back to an object being normalized
    (a cycle) becomes its position on the path, so cyclic structures tokenize by shape."""
    seen = _state.seen
    ident = id(obj)
    if ident in seen:
        return ("seen", seen[ident])
    seen[ident] = len(seen)
    try:
        return normalize(obj)
    finally:
        del seen[ident]


def _normalize_container(obj: Any) -> Any:
    name = type(obj).__qualname__
    if isinstance(obj, dict):
        items = [(_normalize(k), _normalize(v)) for k, v in obj.items()]
        if type(obj) is not OrderedDict:
            items.sort(key=repr)
        return (name, tuple(items))
    if isinstance(obj, (set, frozenset)):
        return (name, tuple(sorted((_normalize(x) for x in obj), key=repr)))
    fields = getattr(type(obj), "_fields", None)  # a namedtuple: its class matters too
    head = (name, type(obj).__module__, fields) if fields is not None else name
    return (head, tuple(_normalize(x) for x in obj))


def _normalize_callable(func: Any) -> Any:
    if isinstance(func, types.FunctionType):
        return _normalize_function(func)
    if isinstance(func, types.MethodType):
        return ("method", func.__name__, _normalize(func.__self__), _normalize(func.__func__))
    if isinstance(func, functools.partial):
        return ("partial", _normalize(func.func), _normalize(func.args),
                _normalize(func.keywords))
    if isinstance(func, (staticmethod, classmethod)):
        return (type(func).__name__, _normalize(func.__func__))
    if isinstance(func, property):
        return ("property", _normalize(func.fget), _normalize(func.fset), _normalize(func.fdel))
    self = getattr(func, "__self__", None)  # a builtin: a method of an object, or a function
    if self is not None and not isinstance(self, types.ModuleType):
        return ("builtin-method", func.__name__, _normalize(self))
    return _normalize_pickled(func)


def _normalize_function(func: types.FunctionType) -> Any:
    closure = tuple(_normalize(_cell_value(c)) for c in func.__closure__ or ())
    used_globals: tuple = ()
    if func.__module__ == "__main__":
        # A notebook or script: the globals the function uses are part of what it does
        # (Dask pickles such functions by value, globals included).
        names = sorted(_global_names(func.__code__))
        used_globals = tuple((n, _normalize(func.__globals__[n])) for n in names
                             if n in func.__globals__)
    return ("function", func.__module__, func.__qualname__, _normalize_code(func.__code__),
            _normalize(func.__defaults__), _normalize(func.__kwdefaults__), closure,
            used_globals)


_EMPTY_CELL = ("empty-cell",)


def _cell_value(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return _EMPTY_CELL


def _global_names(code: types.CodeType) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


@functools.lru_cache(maxsize=4096)
def _normalize_code(code: types.CodeType) -> tuple:
    """What a code object does, without where it is (file and line numbers are left out)."""
    consts = tuple(_normalize_code(c) if isinstance(c, types.CodeType) else _normalize(c)
                   for c in code.co_consts)
    return ("code", code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars,
            code.co_cellvars, code.co_argcount, code.co_posonlyargcount,
            code.co_kwonlyargcount, code.co_flags)


def _normalize_dataclass(obj: Any) -> Any:
    fields = tuple((f.name, _normalize(getattr(obj, f.name, None)))
                   for f in dataclasses.fields(obj))
    return ("dataclass", _normalize(type(obj)), fields)


def _importable(cls: type) -> bool:
    """True if pickle would find ``cls`` again by its module and name."""
    module = sys.modules.get(cls.__module__)
    if module is None or cls.__module__ == "__main__":
        return False
    found: Any = module
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is cls


_CLASS_NOISE = {"__dict__", "__weakref__", "__module__", "__qualname__", "__doc__",
                "__slotnames__", "__annotations__", "__dataclass_params__",
                "__dataclass_fields__", "__match_args__", "__hash__"}


def _normalize_class(cls: type) -> Any:
    """A class by name if it can be imported again, else (a local or ``__main__`` class)
    by what defines it: its bases and the values in its namespace."""
    if _importable(cls):
        return ("class", cls.__module__, cls.__qualname__)
    namespace = tuple(sorted(((k, _normalize(v)) for k, v in vars(cls).items()
                              if k not in _CLASS_NOISE), key=repr))
    fields = ()
    if dataclasses.is_dataclass(cls):
        fields = tuple((f.name, repr(f.type)) for f in dataclasses.fields(cls))
    return ("class", cls.__module__, cls.__qualname__,
            tuple(_normalize(b) for b in cls.__bases__), namespace, fields)


def _plain_instance(typ: type) -> bool:
    """True for instances of Python classes that pickle by their ``__dict__`` and slots."""
    return bool(typ.__flags__ & _HEAPTYPE) and all(
        getattr(typ, name) is getattr(object, name)
        for name in ("__reduce__", "__reduce_ex__", "__getstate__"))


def _normalize_instance(obj: Any) -> Any:
    typ = type(obj)
    state = getattr(obj, "__dict__", None)
    slots = tuple((name, _normalize(getattr(obj, name, _EMPTY_CELL)))
                  for name in copyreg._slotnames(typ))  # type: ignore[attr-defined]
    return ("instance", _normalize(typ), _normalize(state), slots)


def _normalize_toolz(obj: Any) -> Any:
    """toolz's ``curry`` and ``compose``, by what they wrap (as Dask does)."""
    module = type(obj).__module__
    if not module.startswith(("toolz", "tlz", "cytoolz")):
        return None
    name = type(obj).__name__
    if name == "curry":
        return _on_path(obj, lambda c: ("curry", _normalize(c.func), _normalize(c.args),
                                        _normalize(c.keywords)))
    if name == "Compose":
        return _on_path(obj, lambda c: ("compose", _normalize((c.first, *c.funcs))))
    return None


def _object_token(obj: object) -> str:
    _nondeterministic("object()")
    with _object_lock:
        entry = _object_tokens.get(id(obj))
        if entry is None or entry[0] is not obj:
            entry = (obj, unique_token())
            _object_tokens[id(obj)] = entry
    return entry[1]


def _normalize_array(obj: Any) -> Any:
    if type(obj).__module__ != "numpy" or not hasattr(obj, "tobytes"):
        return None
    dtype = getattr(obj, "dtype", None)
    if dtype is None or dtype == object:
        return None
    import numpy as np

    data = np.ascontiguousarray(obj)
    return ("ndarray", str(obj.dtype), getattr(obj, "shape", ()),
            hashlib.md5(data.tobytes()).hexdigest())


def _pickled(obj: Any) -> bytes:
    """``obj``'s pickle (cloudpickle, by value, for what plain pickle refuses or what lives in
    ``__main__``)."""
    try:
        data = pickle.dumps(obj, protocol=5)
        if b"__main__" not in data:
            return data
    except Exception:  # noqa: BLE001 - cloudpickle may manage (lambdas, local classes)
        pass
    import cloudpickle

    return cloudpickle.dumps(obj, protocol=5)


def _normalize_pickled(obj: Any) -> Any:
    """Objects without a normalizer: by their pickle, or a unique token if they cannot be
    pickled. Pickling can cache on the object (``__slotnames__``, cloudpickle's class
    tracking), so it is repeated until two pickles agree."""
    copyreg._slotnames(obj if isinstance(obj, type) else type(obj))  # type: ignore[attr-defined]
    try:
        data = _pickled(obj)
        for _ in range(2):
            again = _pickled(obj)
            if again == data:
                break
            data = again
        else:
            _nondeterministic(f"{type(obj).__name__} object (pickles differently each time)")
    except Exception:  # noqa: BLE001 - not picklable: cannot be named deterministically
        _nondeterministic(f"{type(obj).__name__} object (not picklable)")
        return ("unique", unique_token())
    return ("pickle", hashlib.md5(data).hexdigest())


def tokenize(*args: Any, ensure_deterministic: bool | None = None, **kwargs: Any) -> str:
    """Return a deterministic token for the arguments (equal inputs give equal tokens).

    Parameters
    ----------
    *args, **kwargs
        What to name.
    ensure_deterministic : bool, optional
        Raise :class:`TokenizationError` rather than give an object a token unique to it
        (``object()``, unpicklable objects). Default: config ``tokenize.ensure-deterministic``.

    Examples
    --------
    >>> from cairn.tokenize import tokenize
    >>> tokenize(1, "a", [2.0]) == tokenize(1, "a", [2.0])
    True
    >>> tokenize(1) == tokenize(2)
    False
    >>> tokenize(object()) == tokenize(object())
    False
    """
    outer = (_state.seen, _state.deterministic)
    _state.seen = {}
    if ensure_deterministic is not None:
        _state.deterministic = ensure_deterministic
    try:
        normalized = (_normalize(args), _normalize(kwargs) if kwargs else None)
    finally:
        _state.seen, _state.deterministic = outer
    # repr, not pickle: pickle's output depends on which equal parts are one shared object.
    return hashlib.md5(repr(normalized).encode()).hexdigest()
