"""Running code once another module has been imported (lazy integrations: registering the
joblib backend without importing joblib, which takes longer than importing cairn)."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Any, Callable


class _Watch(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the real loader of one module to call hooks after it."""

    def __init__(self, name: str, hooks: list) -> None:
        self.name, self.hooks = name, hooks

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once, and not for the lookup just below
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module
        hooks = self.hooks

        def exec_then_hook(module: Any) -> None:
            exec_module(module)
            for hook in hooks:
                hook()

        spec.loader.exec_module = exec_then_hook  # type: ignore[method-assign]
        return spec


def when_imported(name: str, hook: Callable[[], None]) -> None:
    """Calls ``hook()`` now if module ``name`` is loaded, else right after it first loads."""
    if name in sys.modules:
        hook()
        return
    for finder in sys.meta_path:
        if isinstance(finder, _Watch) and finder.name == name:
            finder.hooks.append(hook)
            return
    sys.meta_path.insert(0, _Watch(name, [hook]))
