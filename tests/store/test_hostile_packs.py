"""Crafted remotes, packs and indexes: the owner pushed the real data.bin to the remote
`evil`, then the attacker (or a broken disk) changed the pack or its index. Every user path
ends in a clear error naming the remote's pack or object and what to do, and nothing wrong
is written to the work tree or stored in the clone's cache."""

from __future__ import annotations

import pytest

from cairn.data import ops

import forge
from hostile import Victim, assert_clear, assert_refused_everywhere


@pytest.fixture
def pushed(tmp_path, capsys) -> Victim:
    """data.bin (300 KB of random bytes: several raw chunks) pushed to `evil`."""
    return Victim(tmp_path, capsys, 300_000, push=True)


def chunk_records(v: Victim) -> list[tuple]:
    return [r for r in forge.read_index(v.packs / f"{v.evil_pack()}.idx") if r[1] == forge.CHUNK]


def test_pack_whose_chunk_does_not_hash_to_its_id_is_refused(pushed):
    _, _, codec, stored_size, offset, _ = chunk_records(pushed)[1]
    assert codec == forge.RAW  # random bytes do not compress
    pack = pushed.packs / f"{pushed.evil_pack()}.pack"
    data = bytearray(pack.read_bytes())
    data[offset + 48 + stored_size // 2] ^= 0xFF  # the index and the entry header stay right
    pack.write_bytes(bytes(data))
    assert_refused_everywhere(pushed, (pushed.evil_pack(),))


def test_truncated_pack_with_an_intact_index_is_refused(pushed):
    pack = pushed.packs / f"{pushed.evil_pack()}.pack"
    pack.write_bytes(pack.read_bytes()[: pack.stat().st_size // 2])
    assert_refused_everywhere(pushed, (pushed.evil_pack(),))


def rewrite_records(v: Victim, change) -> str:
    """Replaces the remote's index with `change(records)` (a valid checksum) and returns the
    pack's new name."""
    records = forge.read_index(v.packs / f"{v.evil_pack()}.idx")
    return forge.rewrite_index(v.packs, v.evil_pack(), change(records))


def with_chunk(records, i, **fields):
    """`records` with the i-th chunk record's fields changed."""
    names = ("id", "type", "codec", "stored_size", "offset", "raw_size")
    chunks = [n for n, r in enumerate(records) if r[1] == forge.CHUNK]
    out = list(records)
    row = dict(zip(names, out[chunks[i]]))
    row.update({k: (v(row) if callable(v) else v) for k, v in fields.items()})
    out[chunks[i]] = tuple(row[n] for n in names)
    return out


def pack_size(v: Victim) -> int:
    return (v.packs / f"{v.evil_pack()}.pack").stat().st_size


@pytest.mark.parametrize("where", ["past the end", "straddling the end"])
def test_index_whose_offsets_point_outside_the_pack_is_refused(pushed, where):
    end = pack_size(pushed)
    offset = (lambda r: end + 1000) if where == "past the end" else (lambda r: end - 100)
    name = rewrite_records(pushed, lambda rs: with_chunk(rs, 0, offset=offset))
    assert_refused_everywhere(pushed, (name,))


def test_index_whose_entries_overlap_is_refused(pushed):
    # The second chunk's record points into the middle of the first one's bytes.
    name = rewrite_records(pushed, lambda rs: with_chunk(
        rs, 1, offset=lambda r: chunk_offset(rs, 0) + 100))
    assert_refused_everywhere(pushed, (name,))


def chunk_offset(records, i) -> int:
    return [r for r in records if r[1] == forge.CHUNK][i][4]


@pytest.mark.parametrize("sizes", [
    {"stored_size": 0xFFFFFFFF, "raw_size": 0xFFFFFFFF},
    {"raw_size": 1 << 62, "codec": forge.ZSTD},
    {"stored_size": 0xFFFFFFFF, "codec": forge.ZSTD},
])
def test_index_claiming_huge_sizes_is_refused(pushed, sizes):
    name = rewrite_records(pushed, lambda rs: with_chunk(rs, 0, **sizes))
    assert_refused_everywhere(pushed, (name,))


def test_index_listing_an_id_whose_bytes_are_different_is_refused(pushed):
    # The record of chunk 0 keeps its id but names chunk 1's place and sizes.
    def swap(rs):
        chunks = [r for r in rs if r[1] == forge.CHUNK]
        other = chunks[1]
        return with_chunk(rs, 0, offset=other[4], stored_size=other[3], raw_size=other[5])
    name = rewrite_records(pushed, swap)
    assert_refused_everywhere(pushed, (name,))


def test_pack_replaced_between_listing_and_reading_is_refused(pushed, monkeypatch):
    """The remote's index was read (the pack listed) when the attacker swaps the pack for one
    of the same size whose chunks are other bytes."""
    real_copy = ops._store.copy_objects

    def swap_then_copy(*args, **kwargs):
        pack = pushed.packs / f"{pushed.evil_pack()}.pack"
        data = bytearray(pack.read_bytes())
        for _, _, _, stored_size, offset, _ in chunk_records(pushed):
            data[offset + 48: offset + 48 + stored_size] = bytes(stored_size)
        pack.write_bytes(bytes(data))
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(ops._store, "copy_objects", swap_then_copy)
    out = pushed.clone("pull", expect=2)
    assert_clear(out, (pushed.evil_pack(),))
    pushed.assert_nothing_wrong_stored()
    monkeypatch.undo()
    assert_refused_everywhere(pushed, (pushed.evil_pack(),))


@pytest.mark.parametrize("damage", ["empty pack", "empty index", "garbage pack",
                                    "garbage index", "index without pack"])
def test_zero_length_and_garbage_files_are_refused(pushed, damage):
    name = pushed.evil_pack()
    pack, idx = pushed.packs / f"{name}.pack", pushed.packs / f"{name}.idx"
    if damage == "empty pack":
        pack.write_bytes(b"")
    elif damage == "empty index":
        idx.write_bytes(b"")
    elif damage == "garbage pack":
        pack.write_bytes(b"\x89garbage" * 5000)
    elif damage == "garbage index":
        idx.write_bytes(b"CAIRNIX1" + b"\xff" * 100)
    else:
        pack.unlink()
    assert_refused_everywhere(pushed, (name,))


def test_stray_garbage_beside_a_good_pack_does_not_stop_a_pull(pushed):
    """Files that are not a pack pair (an empty `pack-<id>.idx` of no pack, a zero-length
    file, junk) are named by `fsck -r` but the good pack is still fetched and verified."""
    (pushed.packs / ("pack-" + "0" * 64 + ".idx")).write_bytes(b"")
    (pushed.packs / "notes.txt").write_bytes(b"\xff\xfe junk")
    (pushed.packs / ("pack-" + "1" * 64 + ".pack")).write_bytes(b"")
    pushed.clone("pull")
    assert (pushed.clone.root / "data.bin").read_bytes() == pushed.data
    pushed.assert_nothing_wrong_stored()
    out = pushed.clone("fsck", "-r", "origin", expect=1)
    assert_clear(out, ("pack-" + "0" * 64,))
