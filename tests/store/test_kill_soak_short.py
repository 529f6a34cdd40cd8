"""A short run of tests/soak/store_kill_soak.py: add, compact, push, pull and gc --force each
SIGKILLed at random moments (twice each, on a tenth of the soak's data); after every kill
fsck passes or names a repair that works, the rerun completes, every committed version reads
back byte-identical and no temporary file is left. The full soak (50 kills each) is run by
hand; its results are in docs/store.md, "Reliability"."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "soak"))

from store_kill_soak import COMMANDS, Soak  # noqa: E402


def test_store_commands_killed_at_random_moments_lose_nothing(tmp_path):
    counts = Soak(tmp_path / "soak", seed=7, log=lambda s: None, scale=0.1).run(kills=2)
    assert counts.problems == []
    assert counts.ok()
    assert all(counts.kills[c] >= 2 for c in COMMANDS)
