"""Versioned data beside git (Git LFS's and DVC's job): read tracked data at any revision.

The command line (``cairn add/push/pull/checkout …``) manages the data; this module reads
it from Python::

    import cairn.data
    with cairn.data.open("data/corpus.txt", rev="v1", mode="r") as f:
        header = f.readline()
"""

from .files import ls, open, read_bytes
from .repo import CairnError, Repo

__all__ = ["CairnError", "Repo", "ls", "open", "read_bytes"]
