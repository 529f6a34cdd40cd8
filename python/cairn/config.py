"""Configuration, as ``dask.config``: nested values set in code, YAML files or ``CAIRN_*``
environment variables, built on donfig (Dask's configuration code, kept as a library).

Sources, later ones winning: defaults, YAML files in :data:`paths` (``/etc/cairn``,
``<prefix>/etc/cairn``, ``~/.config/cairn`` and the folder or file named by ``CAIRN_CONFIG``),
then environment variables (``CAIRN_NUM_WORKERS=4``; ``__`` nests: ``CAIRN_BAG__NATIVE=False``;
values are read as Python literals). ``set(...)`` overrides them, globally or in a ``with``.
``-`` and ``_`` in key names are interchangeable. Keys renamed or removed are listed in
:data:`deprecations` (``{"old.key": "new.key" or None}``, as ``dask.config.deprecations``):
setting an old key warns (FutureWarning) and sets the new one, a removed one is a ValueError;
in YAML files and the environment an old key is moved with one warning (none if a source
that wins sets the new key), a removed one dropped unless ``ignore-deprecated.<key>`` is set.

Known keys (validated when set):

- ``scheduler``: ``"threads"`` (default), ``"sync"``, ``"processes"``, a name in
  ``cairn.base.named_schedulers``, a ``get(dsk, keys)`` callable, or an Executor.
- ``num_workers``: threads of the thread scheduler (default: the number of cores).
- ``delayed_pure``: default for ``cairn.delayed(..., pure=)`` (default ``False``).
- ``tokenize.ensure-deterministic``: make :func:`cairn.tokenize` refuse objects it can only
  name by identity (default ``False``).
"""

from __future__ import annotations

import ast
import builtins
import os
import pathlib
import site
import sys
import warnings
from typing import Any, Iterator, Mapping, Sequence

from donfig._lock import SerializableLock
from donfig.config_obj import _load_config_file
from donfig.config_obj import (
    ConfigSet,
    canonical_name,
    deserialize,
    expand_environment_variables,
    serialize,
)

__all__ = [
    "canonical_name", "check_deprecations", "collect", "collect_env", "collect_yaml", "config",
    "defaults", "deprecations", "deserialize", "ensure_file", "expand_environment_variables",
    "get", "global_config", "merge", "paths", "paths_containing_key", "pop", "refresh", "rename",
    "serialize", "set", "update", "update_defaults",
]

_no_default = "__no_default__"
_unset = object()

config: dict = {}
global_config = config  # Dask's alias of the global configuration
config_lock = SerializableLock()
defaults: list[Mapping] = []
# Renamed keys, old -> new (None: removed). cairn has renamed none of its own keys yet;
# libraries built on cairn add theirs here (as with dask.config.deprecations).
deprecations: dict[str, str | None] = {}


def _get_paths() -> list[str]:
    """Folders searched for YAML files, in order (later ones win)."""
    found = [
        os.getenv("CAIRN_ROOT_CONFIG", "/etc/cairn"),
        os.path.join(sys.prefix, "etc", "cairn"),
        *[os.path.join(prefix, "etc", "cairn") for prefix in site.PREFIXES],
        os.path.join(os.path.expanduser("~"), ".config", "cairn"),
    ]
    if "CAIRN_CONFIG" in os.environ:
        found.append(os.environ["CAIRN_CONFIG"])
    return list(reversed(list(dict.fromkeys(reversed(found)))))  # drop repeats, keep order


paths = _get_paths()
PATH = os.environ.get("CAIRN_CONFIG", os.path.join(os.path.expanduser("~"), ".config", "cairn"))


def _validate(key: str, value: Any) -> None:
    name = key.replace("-", "_")
    if name == "scheduler" and value is not None and not callable(value):
        from concurrent.futures import Executor

        from .base import named_schedulers
        from .scheduling import _scheduler_mode
        from .schedulers import distributed

        if (not isinstance(value, Executor) and not distributed.is_client(value)
                and not (isinstance(value, str) and value.lower() in distributed.NAMES)
                and value not in named_schedulers):
            _scheduler_mode(value)  # raises ValueError naming the valid choices
    if name == "num_workers" and value is not None:
        from .scheduling import _check_num_workers

        _check_num_workers(value)


def get(key: str, default: Any = _no_default, config: Mapping | None = None,
        override_with: Any = None) -> Any:
    """Return a configuration value.

    Parameters
    ----------
    key : str
        The name, e.g. ``"scheduler"``. Dots address nested values (``"bag.native"``).
    default : optional
        Returned when the key is not set; without it a missing key raises ``KeyError``.
    config : dict, optional
        The configuration to read (default: the global one).
    override_with : optional
        Returned instead, if not None (for functions whose argument overrides the config).

    Examples
    --------
    >>> import cairn
    >>> with cairn.config.set(num_workers=2):
    ...     cairn.config.get("num_workers")
    2
    >>> cairn.config.get("no-such-key", None) is None
    True
    """
    if override_with is not None:
        return override_with
    node: Any = global_config if config is None else config
    for part in key.split("."):
        try:
            node = node[canonical_name(part, node)]
        except (TypeError, IndexError, KeyError):
            if default is _no_default:
                raise KeyError(f"configuration key {key!r} is not set") from None
            return default
    return node


def pop(key: str, default: Any = _no_default, config: dict | None = None) -> Any:
    """Remove a configuration value and return it (``default`` if it is not set)."""
    node: Any = global_config if config is None else config
    parts = key.split(".")
    for i, part in enumerate(parts):
        try:
            name = canonical_name(part, node)
            if i == len(parts) - 1:
                return node.pop(name)
            node = node[name]
        except (TypeError, IndexError, KeyError):
            if default is _no_default:
                raise KeyError(f"configuration key {key!r} is not set") from None
            return default


def check_deprecations(key: str, deprecations: Mapping[str, str | None] = deprecations) -> str:
    """The key to use for ``key``: its new name, with a FutureWarning, if it was renamed
    (``deprecations`` maps old keys to new ones); ValueError if it was removed (mapped to
    None); else ``key`` itself. ``-`` and ``_`` are interchangeable.

    Examples
    --------
    >>> import warnings
    >>> from cairn.config import check_deprecations
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # (it warns: FutureWarning, use 'new.key')
    ...     check_deprecations("old_key", {"old-key": "new.key"})
    'new.key'
    >>> check_deprecations("other", {"old-key": "new.key"})
    'other'
    """
    for old in (key, key.replace("_", "-")):
        if old in deprecations:
            new = deprecations[old]
            if new:
                warnings.warn(f"cairn configuration key {key!r} has been deprecated; "
                              f"please use {new!r} instead", FutureWarning, stacklevel=4)
                return new
            raise ValueError(f"cairn configuration key {key!r} has been removed")
    return key


class _Assign(ConfigSet):
    """donfig's ConfigSet, with cairn's handling of deprecated keys (a FutureWarning naming
    the new key, as dask.config does)."""

    def _check_deprecations(self, key: str) -> str:
        return check_deprecations(key, self.deprecations)


class set(_Assign):  # noqa: A001 - named like dask.config.set on purpose
    """Set configuration values, globally or for a ``with`` block.

    Parameters
    ----------
    arg : dict, optional
        Values to set, by key (dots address nested values).
    config : dict, optional
        The configuration to change (default: the global one).
    **kwargs
        More values to set; ``__`` in a keyword nests (``bag__native=False``).

    Leaving the block restores the previous values and removes what it added, parents
    included.

    Examples
    --------
    >>> import cairn
    >>> with cairn.config.set(scheduler="sync"):
    ...     cairn.config.get("scheduler")
    'sync'
    >>> cairn.config.get("scheduler", "threads")
    'threads'
    """

    def __init__(self, arg: Mapping | None = None, config: dict | None = None,
                 lock: Any = config_lock, **kwargs: Any) -> None:
        for key, value in {**(arg or {}), **kwargs}.items():
            _validate(key.replace("__", "."), value)
        super().__init__(global_config if config is None else config, lock, deprecations,
                         arg=arg, **kwargs)

    def __enter__(self) -> "set":
        return self


def update(old: dict, new: Mapping, priority: str = "new",
           defaults: Mapping | None = None) -> dict:
    """Update the nested dict ``old`` with ``new`` in place, and return it.

    ``priority="new"``: values of ``new`` win; ``"old"``: values already in ``old`` stay;
    ``"new-defaults"``: ``new`` wins only where ``old`` still holds the value in ``defaults``.
    A dict in ``new`` replaces a non-dict in ``old`` (and is merged into a dict).

    Examples
    --------
    >>> from cairn.config import update
    >>> update({"a": {"x": 1}, "b": 2}, {"a": {"y": 3}, "b": 4})
    {'a': {'x': 1, 'y': 3}, 'b': 4}
    """
    for k, v in new.items():
        k = canonical_name(k, old)
        if isinstance(v, Mapping):
            if not isinstance(old.get(k), dict):
                old[k] = {}
            update(old[k], v, priority=priority,
                   defaults=defaults.get(k) if defaults else None)
        elif (priority == "new" or k not in old
              or (priority == "new-defaults" and defaults and k in defaults
                  and defaults[k] == old[k])):
            old[k] = v
    return old


def merge(*dicts: Mapping) -> dict:
    """Merge nested dicts into a new one; later ones win.

    Examples
    --------
    >>> from cairn.config import merge
    >>> merge({"a": {"x": 1}}, {"a": {"y": 2}})
    {'a': {'x': 1, 'y': 2}}
    """
    result: dict = {}
    for d in dicts:
        update(result, d)
    return result


def interpret_value(value: str) -> Any:
    """An environment variable's value: a Python literal if it parses as one, None for
    ``none``/``null``, True/False for ``true``/``false`` (any case), else the string."""
    try:
        return ast.literal_eval(value)
    except (SyntaxError, ValueError):
        pass
    return {"none": None, "null": None, "false": False, "true": True}.get(value.lower(), value)


_INHERIT = "CAIRN_INTERNAL_INHERIT_CONFIG"  # serialized config handed to a child process


def collect_env(env: Mapping[str, str] | None = None) -> dict:
    """Configuration from ``CAIRN_*`` environment variables: ``CAIRN_A__B_C=1`` gives
    ``{"a": {"b_c": 1}}`` (see :func:`interpret_value`)."""
    env = os.environ if env is None else env
    flat = deserialize(env[_INHERIT]) if _INHERIT in env else {}
    for name, value in env.items():
        if name.startswith("CAIRN_") and name != _INHERIT:
            flat[name[len("CAIRN_"):].lower().replace("__", ".")] = interpret_value(value)
    result: dict = {}
    _Assign(result, config_lock, deprecations, flat)  # unchecked: a bad value fails on use
    return result


def collect(paths: Sequence[str] = paths, env: Mapping[str, str] | None = None) -> dict:
    """Configuration from YAML files in ``paths`` and from environment variables, merged
    (later ones win).

    A deprecated key (see :data:`deprecations`) is moved to its new name with one
    FutureWarning, unless a source that wins over it sets the new key already (an older
    file left by an administrator, say); a removed key is dropped with a FutureWarning,
    unless a winning source sets ``ignore-deprecated.<key>``.
    """
    configs = [*collect_yaml(paths=list(paths)), collect_env(env)]
    result: dict = {}
    warned: builtins.set[str] = builtins.set()
    for config in reversed(configs):  # the winning sources first
        for old, new in rename(config=config).items():
            if old in warned:
                continue
            warned.add(old)
            if get(new or f"ignore-deprecated.{old}", _unset, config=result) is not _unset:
                continue  # a winning source sets it: the old key there is outdated
            if new:
                message = f"cairn configuration key {old!r} has been deprecated; please use " \
                          f"{new!r} instead"
            else:
                message = (f"cairn configuration key {old!r} has been removed; set "
                           f"'ignore-deprecated.{old}' in a configuration source that wins "
                           "over this one to silence this warning")
            warnings.warn(message, FutureWarning, stacklevel=2)
        update(result, config, priority="old")
    return result


def refresh(config: dict | None = None, defaults: list[Mapping] = defaults,
            paths: Sequence[str] = paths, env: Mapping[str, str] | None = None) -> None:
    """Reread defaults, YAML files and environment variables into the configuration (the
    global one unless ``config`` is given), dropping values set in code."""
    config = global_config if config is None else config
    config.clear()
    for d in defaults:
        update(config, d, priority="old")
    update(config, collect(paths=paths, env=env))


def update_defaults(new: Mapping, config: dict | None = None,
                    defaults: list[Mapping] = defaults) -> None:
    """Add defaults (e.g. from a library built on cairn): values not set otherwise take them,
    and values equal to the previous default follow the new one."""
    config = global_config if config is None else config
    current = merge(*defaults)
    defaults.append(new)
    update(config, new, priority="new-defaults", defaults=current)


def rename(deprecations: Mapping[str, str | None] = deprecations,
           config: dict | None = None) -> dict[str, str | None]:
    """Move values from old keys to new ones (``{"old.key": "new.key"}``; a new key of None
    drops the value); return the old keys that were found, with their new names."""
    config = global_config if config is None else config
    found: dict[str, str | None] = {}
    for key, new in deprecations.items():
        try:
            value = pop(key, config=config)
        except (TypeError, IndexError, KeyError):
            continue
        found[key] = new
        if new:
            _Assign(config, config_lock, {}, {new: value})
    return found


def ensure_file(source: str, destination: str | None = None, comment: bool = True) -> None:
    """Copy a default YAML file into the user's configuration folder (``CAIRN_CONFIG`` or
    ``~/.config/cairn``) if no file of that name is there, commented out by default."""
    from donfig import Config

    target = Config("cairn", paths=[], env={})
    target.main_path = PATH if destination is None else destination
    target.ensure_file(source, comment=comment)


def _config_files(paths: Sequence[str]) -> list[str]:
    """The files among ``paths``, and the YAML/JSON files in the folders among them."""
    files = []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            try:
                names = os.listdir(path)
            except OSError:  # an unreadable folder is skipped
                continue
            files.extend(sorted(os.path.join(path, n) for n in names
                                if os.path.splitext(n)[1].lower() in (".json", ".yaml", ".yml")))
        elif os.path.exists(path):
            files.append(path)
    return files


def collect_yaml(paths: Sequence[str] = paths, *, return_paths: bool = False) -> list:
    """The configurations in YAML (or JSON) files in ``paths`` (files or folders), in order;
    with ``return_paths``, ``(path, config)`` pairs. Unreadable files are skipped; a file
    that is not a mapping raises ``ValueError`` naming it."""
    out: list = []
    for path in _config_files(paths):
        data = _load_config_file(path)
        if data is not None:
            out.append((pathlib.Path(path), data) if return_paths else data)
    return out


def paths_containing_key(key: str, paths: Sequence[str] = paths) -> Iterator[pathlib.Path]:
    """The YAML files in ``paths`` that set ``key``."""
    for path, data in collect_yaml(paths, return_paths=True):
        try:
            get(key, config=data)
        except KeyError:
            continue
        yield path


refresh()
