"""Victims for the crafted-remote tests: repositories whose clone's default remote is a
folder the attacker fills, and every user path run against it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import cairn.data
from cairn._core import store as _store
from cairn.data.repo import CairnError

import forge
from store_helpers import Cli, git, new_repo


class Victim:
    """A repository that tracks data.bin (committed), a clone of it whose default remote is
    `evil` (a folder the attacker fills), and the bytes and oid of data.bin. With `push`, the
    owner first pushes the real data to `evil` (for the attacker to damage); `remote` (an
    s3:// URL) replaces the folder as the remote."""

    def __init__(self, tmp_path: Path, capsys, size: int, push: bool = False,
                 remote: str | None = None):
        self.tmp = tmp_path
        self.evil = tmp_path / "evil"
        self.owner = Cli(tmp_path / "work", capsys)
        new_repo(self.owner.root)
        self.owner("init")
        self.owner("remote", "add", "origin", remote or str(self.evil))
        self.data = os.urandom(size)
        (self.owner.root / "data.bin").write_bytes(self.data)
        self.owner("add", "data.bin")
        self.owner.git("add", "-A")
        self.owner.git("commit", "-qm", "data")
        if push:
            self.owner("push")
        self.oid = hashlib.sha256(self.data).hexdigest()
        git(tmp_path, "clone", "-q", str(self.owner.root), str(tmp_path / "clone"))
        self.clone = Cli(tmp_path / "clone", capsys)

    @property
    def packs(self) -> Path:
        return self.evil / "packs"

    def evil_pack(self) -> str:
        """The name of the remote's one pack."""
        (name,) = {p.stem for p in self.packs.glob("pack-*.idx")}
        return name

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


def assert_clear(message: str, names: tuple[str, ...]) -> None:
    """A message a user can act on: it names one of `names` (the remote, pack, object or
    path) and says what to run, and it is no traceback."""
    assert "Traceback" not in message, message
    assert any(n in message for n in names), (names, message)
    assert "`cairn " in message or "`git " in message, message


def assert_refused_everywhere(v: Victim, names: tuple[str, ...], path: str = "data.bin",
                              remote_fsck: int = 1) -> dict[str, str]:
    """Every user path against the hostile remote ends in a clear error naming one of
    `names`, and nothing wrong is written or stored: `cairn fetch`, `cairn pull`, `cairn
    checkout`, `cairn.data.read_bytes`, `cairn.data.open`, `cairn fsck` (the clone's cache
    stays clean) and `cairn fsck -r origin` (exit `remote_fsck`). Returns what each said."""
    said = {}
    for command in ("fetch", "pull"):
        said[command] = v.clone(command, expect=2)
        assert_clear(said[command], names)
        v.assert_nothing_wrong_stored()
    said["checkout"] = v.clone("checkout", expect=2)
    assert_clear(said["checkout"], (path,))
    target = str(v.clone.root / path)
    with pytest.raises((CairnError, OSError)) as e:
        cairn.data.read_bytes(target, repo=v.clone.root)
    said["read_bytes"] = str(e.value)
    assert_readable_error(said["read_bytes"], names)
    with pytest.raises((CairnError, OSError)) as e:
        with cairn.data.open(target, repo=v.clone.root) as f:
            f.read()
    said["open"] = str(e.value)
    assert_readable_error(said["open"], names)
    said["fsck -r"] = v.clone("fsck", "-r", "origin", expect=remote_fsck)
    assert_clear(said["fsck -r"], names)
    v.assert_nothing_wrong_stored()
    return said


def assert_readable_error(message: str, names: tuple[str, ...]) -> None:
    assert "Traceback" not in message, message
    assert any(n in message for n in names), (names, message)


class FolderVictim:
    """A repository that tracks the folder `data/` (two files, pushed to `evil`) and a clone
    of it. `forge_manifest` commits, as an attacker with push access would, a pointer to a
    crafted manifest that the attacker also put on `evil` (`clone_and_pull` first: the clone
    already has the real data)."""

    def __init__(self, tmp_path: Path, capsys):
        self.tmp = tmp_path
        self.evil = tmp_path / "evil"
        self.owner = Cli(tmp_path / "work", capsys)
        new_repo(self.owner.root)
        self.owner("init")
        self.owner("remote", "add", "origin", str(self.evil))
        self.files = {"a.txt": os.urandom(1000), "b.txt": os.urandom(2000)}
        for name, data in self.files.items():
            (self.owner.root / "data").mkdir(exist_ok=True)
            (self.owner.root / "data" / name).write_bytes(data)
        self.owner("add", "data")
        self.owner("push")
        self.owner.git("add", "-A")
        self.owner.git("commit", "-qm", "data")
        self.clone_root = tmp_path / "clone"
        self.clone = Cli(self.clone_root, capsys)

    def oid(self, name: str) -> bytes:
        return hashlib.sha256(self.files[name]).digest()

    def forge_manifest(self, entries: list[tuple[str | bytes, bytes, int]]) -> str:
        """Puts a manifest of `entries` on the remote, commits a pointer to it, clones the
        repository, and returns the manifest's id (hex)."""
        body = forge.manifest(entries)
        mid = forge.sha(body)
        forge.write_pack(self.evil / "packs", [forge.Entry(forge.MANIFEST, mid, body)])
        total = sum(size for _, _, size in entries)
        (self.owner.root / "data.cairn").write_text(forge.pointer_dir(mid, total, len(entries)))
        self.owner.git("add", "-A")
        self.owner.git("commit", "-qm", "forged folder")
        if self.clone_root.exists():  # a clone made before: it fetches the new commit
            self.clone.git("pull", "-q", "--ff-only")
        else:
            git(self.tmp, "clone", "-q", str(self.owner.root), str(self.clone_root))
        return mid.hex()

    def clone_and_pull(self) -> None:
        """A clone with the real data checked out (and in its cache) before any forgery."""
        git(self.tmp, "clone", "-q", str(self.owner.root), str(self.clone_root))
        self.clone("pull")

    def assert_nothing_written(self):
        """No file outside data/ appeared (in the clone, beside it, or in its .git), and the
        clone's cache verifies."""
        allowed = {".git", ".cairn", "data", "data.cairn", ".gitignore"}
        assert {p.name for p in self.clone_root.iterdir()} <= allowed
        assert sorted(p.name for p in self.tmp.iterdir()) == ["clone", "evil", "work"]
        assert not list((self.clone_root / ".git").rglob("*escape*"))
        assert not list(self.tmp.rglob("escape*"))
        assert "every pack and object verified" in self.clone("fsck")
