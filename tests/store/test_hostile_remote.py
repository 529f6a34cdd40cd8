"""Crafted remotes: a remote is not trusted. Every file read or written must match its
pointer's oid, every object its id, and a hostile pack, index, recipe or manifest ends in a
clear error with nothing wrong written to the work tree or the local store."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
from pathlib import Path

import pytest

import cairn.data
from cairn._core import store as _store
from cairn.data.repo import CairnError

import forge
from store_helpers import Cli, git, new_repo


class Victim:
    """A repository that tracks data.bin (committed), a clone of it whose default remote is
    `evil` (a folder the attacker fills), and the bytes and oid of data.bin."""

    def __init__(self, tmp_path: Path, capsys, size: int):
        self.tmp = tmp_path
        self.evil = tmp_path / "evil"
        self.owner = Cli(tmp_path / "work", capsys)
        new_repo(self.owner.root)
        self.owner("init")
        self.owner("remote", "add", "origin", str(self.evil))
        self.data = os.urandom(size)
        (self.owner.root / "data.bin").write_bytes(self.data)
        self.owner("add", "data.bin")
        self.owner.git("add", "-A")
        self.owner.git("commit", "-qm", "data")
        self.oid = hashlib.sha256(self.data).hexdigest()
        git(tmp_path, "clone", "-q", str(self.owner.root), str(tmp_path / "clone"))
        self.clone = Cli(tmp_path / "clone", capsys)

    @property
    def packs(self) -> Path:
        return self.evil / "packs"

    def local_store(self):
        return _store.ObjectStore.open(str(self.clone.root / ".cairn" / "cache" / "packs"))

    def assert_nothing_wrong_stored(self):
        """The clone's work tree has no data.bin but the right one, and its store holds
        nothing that fails verification, and no copy of data.bin's oid unless right."""
        target = self.clone.root / "data.bin"
        assert not target.exists() or target.read_bytes() == self.data
        assert not [p for p in self.clone.root.iterdir() if p.name.startswith(".cairn-tmp-")]
        store = self.local_store()
        if store.contains(self.oid):
            with cairn.data.open(str(self.clone.root / "data.bin"), repo=self.clone.root) as f:
                assert f.read() == self.data
        assert "every pack and object verified" in self.clone("fsck")


@pytest.fixture
def victim(tmp_path, capsys) -> Victim:
    return Victim(tmp_path, capsys, 300_000)


def sized_victim(request, pieces: int) -> Victim:
    """A victim whose data.bin is one chunk (100 KB) for a one-piece forgery, else several."""
    tmp_path, capsys = request.getfixturevalue("tmp_path"), request.getfixturevalue("capsys")
    return Victim(tmp_path, capsys, 100_000 if pieces == 1 else 300_000)


def forged_recipe(v: Victim, pieces: int) -> list[forge.Entry]:
    """Attacker's bytes of data.bin's size in `pieces` chunks, and a recipe under the real
    oid that lists them (a valid self checksum, sizes adding up)."""
    evil = b"attacker!" * (len(v.data) // 9 + 1)
    evil = evil[: len(v.data)]
    step = -(-len(evil) // pieces)
    parts = [evil[i: i + step] for i in range(0, len(evil), step)]
    chunks = [forge.chunk(p) for p in parts]
    body = forge.recipe(len(evil), [(c.id, len(c.stored)) for c in chunks])
    return chunks + [forge.Entry(forge.RECIPE, bytes.fromhex(v.oid), body)]


@pytest.mark.parametrize("pieces", [1, 2])
def test_pull_refuses_a_forged_recipe_under_a_real_oid(request, pieces):
    v = sized_victim(request, pieces)
    forge.write_pack(v.packs, forged_recipe(v, pieces))
    out = v.clone("pull", expect=2)
    assert "data.bin" in out and v.oid in out, out
    assert not (v.clone.root / "data.bin").exists()
    assert not v.local_store().contains(v.oid)  # the forged recipe was not stored
    v.assert_nothing_wrong_stored()


@pytest.mark.parametrize("pieces", [1, 2])
def test_read_bytes_refuses_a_forged_recipe_from_the_remote(request, pieces):
    v = sized_victim(request, pieces)
    forge.write_pack(v.packs, forged_recipe(v, pieces))
    with pytest.raises((CairnError, OSError, ValueError)) as e:
        cairn.data.read_bytes(str(v.clone.root / "data.bin"), repo=v.clone.root)
    assert v.oid in str(e.value) and "data.bin" in str(e.value)
    assert not v.local_store().contains(v.oid)


@pytest.mark.parametrize("pieces", [1, 2])
def test_forged_recipe_in_the_local_cache_is_refused_by_every_reader_and_named_by_fsck(
        request, pieces):
    v = sized_victim(request, pieces)
    forge.write_pack(v.clone.root / ".cairn" / "cache" / "packs", forged_recipe(v, pieces))
    out = v.clone("fsck", expect=1)
    assert v.oid in out and "data.bin" in out, out
    with pytest.raises(OSError, match=v.oid):
        cairn.data.read_bytes(str(v.clone.root / "data.bin"), repo=v.clone.root)
    with cairn.data.open(str(v.clone.root / "data.bin"), repo=v.clone.root) as f, pytest.raises(OSError, match=v.oid):
        f.read()
    out = v.clone("checkout", expect=2)
    assert v.oid in out and "data.bin" in out
    assert not (v.clone.root / "data.bin").exists()


@pytest.mark.parametrize("pieces", [1, 2])
def test_remote_fsck_names_a_forged_recipe(request, pieces):
    v = sized_victim(request, pieces)
    forge.write_pack(v.packs, forged_recipe(v, pieces))
    out = v.clone("fsck", "--remote", "origin", expect=1)
    assert v.oid in out, out
