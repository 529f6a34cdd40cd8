"""Crafted remotes, recipes: a remote is not trusted. Every file read or written must match
its pointer's oid, and a forged or inconsistent recipe ends in a clear error on every user
path with nothing wrong written to the work tree or the local store. (Packs and indexes:
test_hostile_packs.py; manifests: test_hostile_manifests.py.)"""

from __future__ import annotations

import pytest

import cairn.data
from cairn.data.repo import CairnError

import forge
from hostile import Victim, assert_refused_everywhere


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


@pytest.mark.parametrize("pieces", [1, 2])
def test_forged_recipe_is_refused_by_every_user_path(request, pieces):
    v = sized_victim(request, pieces)
    forge.write_pack(v.packs, forged_recipe(v, pieces))
    said = assert_refused_everywhere(v, (v.oid,))
    assert "origin" in said["pull"] and "forged or damaged" in said["pull"], said["pull"]
    assert not v.local_store().contains(v.oid)


def real_chunks(v: Victim, pieces: int) -> list[forge.Entry]:
    step = -(-len(v.data) // pieces)
    return [forge.chunk(v.data[i: i + step]) for i in range(0, len(v.data), step)]


def recipe_entry(v: Victim, file_size: int, chunks: list[tuple[bytes, int]]) -> forge.Entry:
    return forge.Entry(forge.RECIPE, bytes.fromhex(v.oid), forge.recipe(file_size, chunks))


def test_recipe_whose_chunk_sizes_do_not_add_up_to_its_total_is_refused(victim):
    chunks = real_chunks(victim, 2)
    listed = [(c.id, len(c.stored)) for c in chunks]
    listed[1] = (listed[1][0], listed[1][1] - 1)  # a valid checksum, one byte short
    forge.write_pack(victim.packs, chunks + [recipe_entry(victim, len(victim.data), listed)])
    said = assert_refused_everywhere(victim, (victim.oid,))
    assert "do not add up" in said["fsck -r"], said["fsck -r"]


def test_recipe_listing_sizes_its_chunks_do_not_have_is_refused(victim):
    chunks = real_chunks(victim, 2)
    first, second = (len(c.stored) for c in chunks)
    listed = [(chunks[0].id, first + 5), (chunks[1].id, second - 5)]  # the total is right
    forge.write_pack(victim.packs, chunks + [recipe_entry(victim, len(victim.data), listed)])
    assert_refused_everywhere(victim, (victim.oid,))


def test_recipe_whose_total_is_not_the_pointers_size_is_refused(victim):
    chunks = real_chunks(victim, 2) + [forge.chunk(b"tail")]  # consistent, 4 bytes too long
    listed = [(c.id, len(c.stored)) for c in chunks]
    forge.write_pack(victim.packs, chunks + [recipe_entry(victim, len(victim.data) + 4, listed)])
    assert_refused_everywhere(victim, (victim.oid,))


def test_recipe_naming_chunks_the_remote_lacks_is_refused(victim):
    chunks = real_chunks(victim, 3)
    listed = [(c.id, len(c.stored)) for c in chunks]
    forge.write_pack(victim.packs, chunks[:2] + [recipe_entry(victim, len(victim.data), listed)])
    said = assert_refused_everywhere(victim, (chunks[2].id.hex()[:12], victim.oid))
    assert "origin" in said["fetch"], said["fetch"]
