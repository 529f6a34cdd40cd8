"""Crafted remotes, manifests: an attacker with push access to the git repository and the
remote commits a folder pointer whose manifest (on the remote, hashing to its id) lists
paths that escape the folder, reach into `.git`, repeat or are out of order, are not UTF-8,
or claim sizes the data does not have. Every user path ends in a clear error naming the
folder and the entry, and nothing is written outside the folder (or inside it, wrong)."""

from __future__ import annotations

import pytest

import cairn.data
from cairn.data.repo import CairnError

from hostile import FolderVictim, assert_clear


@pytest.fixture
def folder(tmp_path, capsys) -> FolderVictim:
    return FolderVictim(tmp_path, capsys)


def assert_manifest_refused(v: FolderVictim, names: tuple[str, ...],
                            listing: bool = False) -> dict[str, str]:
    """`cairn fetch`, `pull`, `checkout`, `cairn.data.read_bytes/open/ls` of the folder and
    `cairn fsck -r` all refuse, naming the folder (data) or one of `names`; with `listing`,
    cairn.data.ls lists the manifest (a size is only checked when the data is read)."""
    said = {}
    for command in ("fetch", "pull", "checkout"):
        said[command] = v.clone(command, expect=2)
        assert_clear(said[command], names)
        v.assert_nothing_written()
    for name, read in [("read_bytes", lambda: cairn.data.read_bytes(
                            str(v.clone_root / "data" / "a.txt"), repo=v.clone_root)),
                       ("open", lambda: cairn.data.open(
                           str(v.clone_root / "data" / "a.txt"), repo=v.clone_root).read()),
                       ("ls", lambda: cairn.data.ls(str(v.clone_root / "data"),
                                                    repo=v.clone_root))]:
        if name == "ls" and listing:
            assert [e["path"] for e in read()] == ["data/a.txt"]
            continue
        with pytest.raises((CairnError, OSError)) as e:
            read()
        said[name] = str(e.value)
        assert any(n in said[name] for n in names), (name, said[name])
    said["fsck -r"] = v.clone("fsck", "-r", "origin", expect=1)
    assert_clear(said["fsck -r"], names)
    v.assert_nothing_written()
    assert not (v.clone_root / "data").exists() or not any((v.clone_root / "data").iterdir())
    return said


@pytest.mark.parametrize("path", [
    "../escape.txt",
    "sub/../../escape.txt",
    "ABSOLUTE",
    ".git/hooks/escape-hook",
    "sub/.GIT/escape",
    "./a.txt",
    "sub//a.txt",
])
def test_manifest_with_a_path_that_escapes_the_folder_is_refused(folder, path):
    if path == "ABSOLUTE":
        path = str(folder.tmp / "escape-absolute.txt")
    mid = folder.forge_manifest([(path, folder.oid("a.txt"), 1000)])
    said = assert_manifest_refused(folder, (mid, "data"))
    assert path in said["pull"], said["pull"]


@pytest.mark.parametrize("order", ["duplicate", "unsorted"])
def test_manifest_with_duplicate_or_unsorted_entries_is_refused(folder, order):
    a, b = ("a.txt", folder.oid("a.txt"), 1000), ("b.txt", folder.oid("b.txt"), 2000)
    entries = [a, ("a.txt", folder.oid("b.txt"), 2000)] if order == "duplicate" else [b, a]
    mid = folder.forge_manifest(entries)
    said = assert_manifest_refused(folder, (mid, "data"))
    assert "not sorted or duplicated" in said["pull"], said["pull"]


def test_manifest_with_a_name_that_is_not_utf8_is_refused(folder):
    mid = folder.forge_manifest([(b"caf\xe9.txt", folder.oid("a.txt"), 1000)])
    said = assert_manifest_refused(folder, (mid, "data"))
    assert "UTF-8" in said["pull"], said["pull"]


@pytest.mark.parametrize("size", [999, 1001, 2**64 - 1])
def test_manifest_claiming_a_size_the_file_does_not_have_is_refused(folder, size):
    mid = folder.forge_manifest([("a.txt", folder.oid("a.txt"), size)])
    said = assert_manifest_refused(folder, (mid, "a.txt"), listing=True)
    assert f"says {size} bytes" in said["pull"], said["pull"]


def test_manifest_lying_about_a_size_the_cache_has_the_data_for_is_refused(folder):
    """Nothing to fetch: the clone already holds a.txt's data, and the new commit's manifest
    says it has another size. Fetches and reads refuse; the files checked out stay."""
    folder.clone_and_pull()
    mid = folder.forge_manifest([("a.txt", folder.oid("a.txt"), 999),
                                 ("b.txt", folder.oid("b.txt"), 2000)])
    for command in ("fetch", "pull"):
        out = folder.clone(command, expect=2)
        assert_clear(out, (mid,))
        assert "entry 'a.txt') says 999 bytes" in out, out
    assert_clear(folder.clone("checkout", expect=2), (mid,))  # the manifest was not stored
    out = folder.clone("fsck", "-r", "origin", expect=1)
    assert mid in out and "'a.txt' as 999 bytes" in out and "git log -- data.cairn" in out, out
    folder.assert_nothing_written()
    with pytest.raises(CairnError, match="a.txt.* says 999 bytes"):
        cairn.data.read_bytes(str(folder.clone_root / "data" / "a.txt"), repo=folder.clone_root)
    # The listing fetch of cairn.data stored the manifest (well-formed, hashing to its id):
    # with the data at hand, fsck names it, and the user what brought it.
    out = folder.clone("fsck", expect=1)
    assert mid in out and "'a.txt' as 999 bytes" in out and "git log -- data.cairn" in out, out
    for name, data in folder.files.items():
        assert (folder.clone_root / "data" / name).read_bytes() == data
