"""cairn.bag: partitioned collections of Python objects, with Dask's bag API.

Examples
--------
>>> import cairn.bag as cb
>>> words = cb.from_sequence(["a b", "b c", "c"]).str.split().flatten()
>>> sorted(words.frequencies().compute())
[('a', 1), ('b', 2), ('c', 2)]
"""

from ..base import compute
from .core import Bag, Item
from .mapping import bag_map as map, map_partitions
from .sources import concat, from_delayed, from_sequence, from_url, range, zip
from .text import read_text, to_textfiles
from .textio import TextDecodeError
from . import random, utils  # noqa: E402,F401 (submodules, as dask.bag.random and dask.bag.utils)

__all__ = ["Bag", "Item", "TextDecodeError", "compute", "concat", "from_delayed", "from_sequence",
           "from_url", "map", "map_partitions", "range", "read_text", "to_textfiles", "zip"]
