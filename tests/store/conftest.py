"""Fixtures for the store tests."""

from __future__ import annotations

import pytest
from store_helpers import Cli, new_repo


@pytest.fixture
def repo(tmp_path, capsys) -> Cli:
    root = tmp_path / "work"
    new_repo(root)
    c = Cli(root, capsys)
    c("init")
    return c
