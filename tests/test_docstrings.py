"""Every example in the public docstrings runs and gives what it shows."""

import builtins
import doctest
import importlib

import pytest

MODULES = ["cairn.base", "cairn.config", "cairn.datasets", "cairn.delayed", "cairn.diagnostics",
           "cairn.dot", "cairn.scheduling", "cairn.bag.core", "cairn.bag.item", "cairn.bag.mapping", "cairn.bag.optimize",
           "cairn.bag.sources", "cairn.bag.text", "cairn.bag.utils", "cairn.bag",
           "cairn.tokenize"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    # cairn.bag defines range/zip like dask.bag; examples mean the builtins.
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS,
                             extraglobs={"range": builtins.range, "zip": builtins.zip})
    assert result.failed == 0
    assert result.attempted > 0 or name == "cairn.dot"
