"""What killed pushes leave on a folder remote (named by `fsck --remote`, removed by `gc
--remote --force` once stale), and the store lock around `cairn.data.local_paths`."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from store_helpers import git

from cairn.data import remote_leftovers
from cairn.data.files import local_paths


def _pushed(repo, tmp_path, files: dict[str, bytes]):
    """Adds, commits and pushes `files` to a folder remote; its packs folder."""
    for name, content in files.items():
        (repo.root / name).parent.mkdir(exist_ok=True)
        (repo.root / name).write_bytes(content)
    repo("add", *files)
    repo("remote", "add", "origin", str(tmp_path / "remote"))
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo("push")
    return tmp_path / "remote" / "packs"


def test_fsck_remote_names_what_killed_pushes_left_on_a_folder_remote(repo, tmp_path,
                                                                      monkeypatch):
    packs = _pushed(repo, tmp_path, {"a.bin": os.urandom(300_000)})
    left = [packs / ".cairn-tmp-4242-pack-1.pack", packs / ("pack-" + "0" * 64 + ".pack")]
    for p in left:
        p.write_bytes(os.urandom(70_000))
    out = repo("fsck", "--remote", "origin")
    assert "verified on remote origin" in out
    assert "2 file(s) on remote origin left by killed pushes" in out and "136.7 KiB" in out
    assert "`cairn gc --remote origin --force` removes those older than 1 hour(s)" in out
    repo("gc", "--remote", "origin", "--force")
    assert all(p.exists() for p in left)  # young: a push elsewhere may be writing them
    monkeypatch.setattr(remote_leftovers, "STALE_AFTER", -60.0)
    repo("gc", "--remote", "origin", "--force")
    assert not any(p.exists() for p in left)
    assert "left by killed" not in repo("fsck", "--remote", "origin")
    assert len(list(packs.glob("*.idx"))) == 1  # the pushed pack stays


def test_fsck_remote_with_nothing_left_says_nothing_about_leftovers(repo, tmp_path):
    _pushed(repo, tmp_path, {"a.bin": os.urandom(300_000)})
    assert "left by killed" not in repo("fsck", "--remote", "origin")


def test_local_paths_waits_for_the_store_lock(repo):
    """local_paths writes into .cairn/cache/files, which `gc --force` (exclusive lock)
    empties: it used to write without the lock."""
    content = b"one line\n" * 1000
    (repo.root / "t.txt").write_bytes(content)
    repo("add", "t.txt")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "t")
    (repo.root / "t.txt").write_bytes(b"edited\n")  # so the file comes from the cache
    got: list = []
    with open(repo.root / ".cairn" / "lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # as `cairn gc --force` holds it
        try:
            reader = threading.Thread(target=lambda: got.append(
                local_paths(str(repo.root / "t.txt"), rev="HEAD", repo=repo.root)))
            reader.start()
            time.sleep(1.0)
            assert reader.is_alive() and not (repo.root / ".cairn" / "cache" / "files").exists()
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
        reader.join(timeout=60)
    assert got and Path(got[0][0]).read_bytes() == content


def test_local_paths_of_several_files_fetched_from_the_remote(repo, tmp_path):
    """Each file fetched is written from the cache as it is after that fetch (a reader made
    before a fetch does not see the packs it adds)."""
    data = {f"d/f{i}.txt": os.urandom(50_000 + i) for i in range(3)}
    _pushed(repo, tmp_path, data)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.root), str(clone))  # no pull: its cache is empty
    old = os.getcwd()
    os.chdir(clone)
    try:
        paths = local_paths("d/*.txt", rev="HEAD")
    finally:
        os.chdir(old)
    assert [Path(p).read_bytes() for p in paths] == list(data.values())
