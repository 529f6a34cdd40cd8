"""Drawing task graphs with graphviz."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, Hashable

from .base import _merged_graph, _optimize, _unpack, key_split, task_dependencies

__all__ = ["visualize", "to_dot"]

_FORMATS = {"png", "svg", "pdf", "jpeg", "jpg", "dot"}


def _label(task: Any) -> str:
    if isinstance(task, tuple) and task and callable(task[0]):
        func = task[0]
        from .delayed import apply, funcname

        if func is apply and len(task) > 1:
            func = task[1]
        return funcname(func)
    return ""


def to_dot(dsk: dict) -> str:
    """The graph as graphviz DOT text: a box per task result, an ellipse per function."""
    ids = {k: f"n{i}" for i, k in enumerate(dsk)}
    lines = ["digraph cairn {", "  rankdir=BT;", '  node [fontname="Helvetica"];']
    for key, task in dsk.items():
        nid = ids[key]
        lines.append(f'  {nid} [shape=box, label="{_escape(key_split(key))}"];')
        label = _label(task)
        deps: set = set()
        task_dependencies(task, dsk, deps)
        if label:
            lines.append(f'  {nid}f [shape=ellipse, label="{_escape(label)}"];')
            lines.append(f"  {nid}f -> {nid};")
            for d in deps:
                lines.append(f"  {ids[d]} -> {nid}f;")
        else:
            for d in deps:
                lines.append(f"  {ids[d]} -> {nid};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(text: Hashable) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def visualize(*args: Any, filename: str | None = "mydask", format: str | None = None,
              optimize_graph: bool = False, **kwargs: Any) -> Any:
    """Write the task graph of collections as an image with graphviz's ``dot``.

    Parameters
    ----------
    *args : collections
        What to draw (their graphs are merged).
    filename : str
        Output file; its extension picks the format unless ``format`` is given
        (``mydask`` -> ``mydask.png``).
    format : {"png", "svg", "pdf", "jpeg", "dot"}, optional
        ``"dot"`` writes the DOT text and needs no graphviz.
    optimize_graph : bool
        Draw the graph as compute runs it, after each collection's optimization (for a
        Bag: element-wise steps fused into one task per partition), as Dask's option does.

    Returns
    -------
    IPython.display.Image or SVG when IPython is installed, else the path written.

    Raises
    ------
    RuntimeError
        When graphviz's ``dot`` program is missing (with how to install it).

    Examples
    --------
    >>> import cairn, os, tempfile
    >>> x = cairn.delayed(sum)([1, 2])
    >>> path = os.path.join(tempfile.mkdtemp(), "graph.dot")
    >>> _ = cairn.visualize(x, filename=path)
    >>> with open(path) as f:
    ...     f.read().startswith("digraph")
    True
    """
    if kwargs:
        raise TypeError(f"visualize() got unexpected keyword arguments {sorted(kwargs)}")
    collections: list = []
    for a in args:
        _unpack(a, collections, True)
    if not collections:
        raise ValueError("visualize() needs at least one cairn collection (e.g. a Delayed)")
    dsk = _merged_graph(collections)
    if optimize_graph:
        dsk = _optimize(collections, dsk, [c.__cairn_keys__() for c in collections])
    root, ext = os.path.splitext(filename or "mydask")
    fmt = (format or ext.lstrip(".") or "png").lower()
    if fmt not in _FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; use one of {sorted(_FORMATS)}")
    path = f"{root}.{fmt}"
    text = to_dot(dsk)
    if fmt == "dot":
        with open(path, "w") as f:
            f.write(text)
        return path
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "drawing a graph needs graphviz's `dot` program, which was not found on PATH. "
            "Install it (Debian/Ubuntu: `sudo apt-get install graphviz`; conda: "
            "`conda install graphviz`; macOS: `brew install graphviz`), or pass "
            "format='dot' to write the graph as DOT text."
        )
    subprocess.run([dot, f"-T{fmt}", "-o", path], input=text.encode(), check=True)
    return _display(path, fmt)


def _display(path: str, fmt: str) -> Any:
    try:
        from IPython.display import SVG, Image
    except ImportError:
        return path
    return SVG(filename=path) if fmt == "svg" else Image(filename=path)
