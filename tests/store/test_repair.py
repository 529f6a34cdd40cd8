"""Damage in the local cache that the remote has good copies of: fsck lists every problem
with what to do, and `cairn pull` (what fsck says to run) repairs it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from store_helpers import make_text


@pytest.fixture
def pushed(repo, tmp_path):
    """A tracked folder d/ (small files and a multi-chunk one, so a manifest and a recipe)
    and a file big.txt, committed and pushed; returns their bytes."""
    repo("remote", "add", "origin", str(tmp_path / "remote"))
    d = repo.root / "d"
    d.mkdir()
    files = {f"f{i}.bin": os.urandom(500 + i) for i in range(5)}
    for name, data in files.items():
        (d / name).write_bytes(data)
    files["large.txt"] = make_text(d / "large.txt", 20_000, 7)
    big = make_text(repo.root / "big.txt", 30_000, 8)
    repo("add", "d", "big.txt")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "data")
    repo("push")
    return files, big


def packs(repo) -> Path:
    return repo.root / ".cairn" / "cache" / "packs"


def flip_after(repo, marker: bytes, skip: int = 20) -> None:
    """Flips a byte `skip` bytes after `marker` in the cache pack holding it."""
    for pack in packs(repo).glob("*.pack"):
        raw = bytearray(pack.read_bytes())
        at = raw.find(marker)
        if at >= 0:
            raw[at + skip] ^= 0x01
            pack.write_bytes(bytes(raw))
            return
    raise AssertionError(f"no pack holds {marker!r}")


def remove_data(repo) -> None:
    shutil.rmtree(repo.root / "d")
    (repo.root / "big.txt").unlink()


def assert_restored(repo, pushed) -> None:
    files, big = pushed
    for name, data in files.items():
        assert (repo.root / "d" / name).read_bytes() == data
    assert (repo.root / "big.txt").read_bytes() == big
    assert "every pack and object verified" in repo("fsck")


@pytest.mark.parametrize("marker", [b"cairn-manifest 1", b"CAIRNRC1"], ids=["manifest", "recipe"])
def test_pull_repairs_a_damaged_manifest_or_recipe(repo, pushed, marker):
    flip_after(repo, marker)
    out = repo("fsck", expect=1)
    assert "to repair: `cairn pull`" in out
    remove_data(repo)
    repo("pull")
    assert_restored(repo, pushed)


def test_pull_repairs_a_pack_that_is_gone_while_its_index_remains(repo, pushed):
    for pack in packs(repo).glob("*.pack"):
        pack.unlink()
    out = repo("fsck", expect=1)
    assert "to repair: `cairn pull`" in out
    remove_data(repo)
    repo("pull")
    assert_restored(repo, pushed)
    assert all(p.with_suffix(".pack").exists() for p in packs(repo).glob("*.idx"))


def test_pull_repairs_a_truncated_pack_and_keeps_what_verifies(repo, pushed):
    (pack,) = packs(repo).glob("*.pack")
    size = pack.stat().st_size
    os.truncate(pack, size // 2)
    out = repo("fsck", expect=1)
    assert "cut short" in out and "to repair: `cairn pull`" in out
    remove_data(repo)
    out = repo("pull")
    assert_restored(repo, pushed)
    # what was before the cut was kept, not fetched again
    assert "already there" in out and " 0 already there" not in out


def test_a_repaired_damaged_index_is_no_longer_reported(repo, pushed):
    (idx,) = packs(repo).glob("*.idx")
    raw = bytearray(idx.read_bytes())
    raw[20] ^= 0x01
    idx.write_bytes(bytes(raw))
    out = repo("fsck", expect=1)
    assert "index is corrupt" in out
    repo("pull")
    assert "every pack and object verified" in repo("fsck")
    assert "every pack and object verified" in repo("fsck")  # and stays so


def test_pull_repairs_damage_fsck_found_in_data_already_checked_out(repo, pushed):
    """Data the work tree already has is not read by pull's checkout: the hint must still
    be true, so pull repairs what the last fsck named."""
    flip_after(repo, b"CAIRNRC1")
    assert "to repair: `cairn pull`" in repo("fsck", expect=1)
    out = repo("pull")
    assert "repaired" in out
    assert "every pack and object verified" in repo("fsck")


def test_fsck_lists_every_problem_not_only_the_first(repo, pushed):
    flip_after(repo, b"cairn-manifest 1")
    flip_after(repo, b"CAIRNRC1")
    (repo.root / "bad.txt.cairn").write_text("not a pointer\n")
    out = repo("fsck", expect=1)
    assert "fsck: 3 problem(s)" in out, out
    assert "manifest" in out and "recipe" in out and "bad.txt.cairn" in out
    assert out.count("to repair:") == 3
