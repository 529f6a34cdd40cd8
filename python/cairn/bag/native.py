"""Bag's native fast path: pipelines of built-in text operations run in C++.

A Bag read by :func:`read_text` (UTF-8, universal newlines) carries a :class:`NativeText`
description. Built-in steps (``str.lower/upper/strip/split``, ``flatten``, ``ngrams``,
``filter(bool)``) extend it instead of adding tasks, so the whole chain runs as one native
task per partition, on Arrow strings, without the GIL and without a Python object per
element. Terminal steps (``frequencies``, ``count``, ``distinct``, ``topk`` of frequencies)
reduce natively too. Any other step sees ordinary Python lists (converted when it runs).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from .. import _core
from .. import config as _config
from ..core import recipes
from ..tokenize import tokenize

_CODECS = {None: "", "gzip": "gzip", "bz2": "bz2", "zstd": "zstd"}  # xz: Python path


@dataclass(frozen=True)
class NativeText:
    """What a native Bag computes: input segments per partition and the steps so far."""

    parts: tuple          # per partition: tuple of segments(): path, offset, size, codec, ...
    errors: str           # "strict" or "replace"
    ops: tuple = ()       # (name, n, sep) steps
    kind: str = "str"     # element type after the steps: "str" or "list"


def enabled() -> bool:
    """Native paths are on unless ``cairn.config.set({"bag.native": False})``."""
    return bool(_config.get("bag.native", True))


def can_read(encoding: str, errors: str, linedelimiter: Any, include_path: bool,
             codecs: list) -> bool:
    return (enabled() and encoding.lower().replace("_", "-") in ("utf-8", "utf8")
            and errors in ("strict", "replace") and linedelimiter is None and not include_path
            and all(c in _CODECS for c in codecs))


def _collect_scan(part: tuple, errors: str, ops: tuple) -> Any:
    return recipes.make(_scan_task, part, errors, ops, "collect")


def make_bag(spec: NativeText, prefix: str = "read-text") -> Any:
    from .core import Bag

    name = f"{prefix}-{tokenize(spec.parts, spec.errors, spec.ops)}"
    layer = {(name, i): (_collect_scan(part, spec.errors, spec.ops),)
             for i, part in enumerate(spec.parts)}
    bag = Bag(layer, name, len(spec.parts))
    bag._native = spec
    return bag


def segments(path: str, codec: str | None, offset: int = 0, size: int = -1,
             s3: Any = None, listed_size: int = -1) -> tuple:
    """One input piece; ``s3``: the :class:`~cairn.filesystems.S3Options` of an s3:// path
    (kept as the object, whose repr hides secrets, until the C++ task is made);
    ``listed_size``: its size as listed (saves a request per file on S3)."""
    return (path, offset, size, _CODECS[codec], s3, listed_size)


_LOCAL = ("", "", "", "", "", 0)


def _scan_task(part: Any, errors: str, ops: Any, sink: str, partition: int = 0) -> Any:
    """``partition``: the index that orders first occurrences across partitions in n-gram
    counts (they count word-id tuples and keep where each key first occurred)."""
    core_part = [(p, off, size, codec, s3.core_spec() if s3 is not None else _LOCAL, listed)
                 for p, off, size, codec, s3, listed in part]
    return _core.text_scan(core_part, errors, list(ops), sink, partition)


# The native reductions, as module-level functions so their recipes pickle by name.
def _merge_task(concat: bool) -> Any:
    return _core.merge_counts(concat)


def _sum_task() -> Any:
    return _core.sum_int64()


def _largest_task(k: int) -> Any:
    return _core.largest_counts(k)


def extend(bag: Any, op: str, kind: str, n: int = 0, sep: str = "") -> Any:
    spec: NativeText = bag._native
    new = NativeText(spec.parts, spec.errors, spec.ops + ((op, n, sep),), kind)
    return make_bag(new, prefix=op)


def native_spec(bag: Any, kind: str | None = None) -> NativeText | None:
    spec = getattr(bag, "_native", None)
    if spec is None or not enabled():
        return None
    if kind is not None and spec.kind != kind:
        return None
    return spec


_STR_METHODS = {str.lower: "lower", str.upper: "upper", str.strip: "strip", str.split: "split"}


def map_op(func: Any, args: tuple, kwargs: dict) -> str | None:
    """The native step for ``bag.map(func)``, if ``func`` is a built-in one."""
    if args or kwargs:
        return None
    if isinstance(func, operator.methodcaller):
        ctor, args_ = func.__reduce__()[:2]
        if ctor is operator.methodcaller and len(args_) == 1 and args_[0] in (
                "lower", "upper", "strip", "split"):
            return args_[0]
        return None  # has arguments (or keyword arguments): the Python path
    try:
        return _STR_METHODS.get(func)
    except TypeError:  # unhashable callable
        return None


def _tree(scan_name: str, n: int, split_every: int, merge: Any, token: str,
          last_merge: Any = None) -> tuple[dict, Any]:
    """Tree-reduce keys (scan_name, i) with the native `merge` (`last_merge`, if given, for
    the level whose results the caller takes); returns (layer, final key)."""
    dsk: dict = {}
    level = [(scan_name, i) for i in range(n)]
    depth = 0
    while len(level) > split_every:
        name = f"{scan_name}-merge{depth}-{token}"
        groups = range(0, len(level), split_every)
        func = last_merge if last_merge is not None and len(groups) <= split_every else merge
        nxt = []
        for j in groups:
            key = (name, j // split_every)
            dsk[key] = (func, level[j:j + split_every])
            nxt.append(key)
        level = nxt
        depth += 1
    return dsk, level


def reduce_bag(bag: Any, sink: str, split_every: int | None, name: str,
               concat_last: bool = False) -> tuple[dict, str, list]:
    """Per-partition native scans with `sink`, reduced in a tree to the last level's keys;
    `concat_last`: that level only lists n-gram counts together (see topk_of_counts)."""
    spec: NativeText = bag._native
    split_every = split_every or 8
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2, got {split_every}")
    token = tokenize(spec.parts, spec.errors, spec.ops, sink, split_every, concat_last)
    scan = f"{name}-part-{token}"
    dsk = {(scan, i): (recipes.make(_scan_task, part, spec.errors, spec.ops, sink, i),)
           for i, part in enumerate(spec.parts)}
    merge = recipes.make(_sum_task) if sink == "count" else recipes.make(_merge_task, False)
    last_merge = recipes.make(_merge_task, True) if concat_last and sink != "count" else None
    tree, last = _tree(scan, len(spec.parts), split_every, merge, token, last_merge)
    dsk.update(tree)
    return dsk, token, last


def frequencies(bag: Any, split_every: int | None, sort: bool) -> Any:
    from .core import Bag

    dsk, token, last = reduce_bag(bag, "frequencies", split_every, "frequencies")
    final = f"frequencies-aggregate-{token}"
    # concat: n-gram counts are only listed together; topk and the conversion stream the merge
    dsk[(final, 0)] = (recipes.make(_merge_task, True), last)
    if sort:
        sorted_name = f"frequencies-sorted-{token}"
        dsk[(sorted_name, 0)] = (recipes.make(_largest_task, -1), (final, 0))
        final = sorted_name
    out = Bag(dsk, final, 1)
    out._native_counts = True
    if not sort:
        out._native_topk_source = (bag, split_every)
    return out


def topk_of_counts(bag: Any, k: int) -> Any:
    """The k largest of a native frequencies result. Straight after frequencies(), the
    tree's last level of merges is left out: LargestFirst finds the best k of the listed
    runs without merging them (a threshold on counts), which saves the largest merges; the
    runs of the last two levels (at most split_every**2) are then held at once."""
    from .core import Bag

    source = getattr(bag, "_native_topk_source", None)
    if source is not None:
        dsk, token, last = reduce_bag(source[0], "frequencies", source[1], "frequencies",
                                      concat_last=True)
        final = f"frequencies-aggregate-{token}"
        dsk[(final, 0)] = (recipes.make(_merge_task, True), last)
        name = f"topk-{tokenize(final, k)}"
        dsk[(name, 0)] = (recipes.make(_largest_task, k), (final, 0))
        return Bag(dsk, name, 1)
    name = f"topk-{tokenize(bag, k)}"
    out = Bag({(name, 0): (recipes.make(_largest_task, k), (bag.name, 0))}, name, 1, (bag,))
    return out


def distinct(bag: Any) -> Any:
    from .core import Bag

    dsk, token, last = reduce_bag(bag, "distinct", None, "distinct")
    final = f"distinct-aggregate-{token}"
    dsk[(final, 0)] = (recipes.make(_merge_task, True), last)
    return Bag(dsk, final, 1)


def count(bag: Any, split_every: int | None) -> Any:
    from .core import _item

    dsk, token, last = reduce_bag(bag, "count", split_every, "count")
    final = f"count-aggregate-{token}"
    dsk[final] = (recipes.make(_sum_task), last)
    return _item(final, dsk, ())
