"""The store under faults: killed transfers, concurrent adds, a full disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from store_helpers import Cli, git, make_text, mounted_tmpfs, repo_on_small_disk


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 60) -> bool:
    """SIGKILLs proc as soon as ready() is true; False if proc ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            proc.communicate()
            return False
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            return True
        time.sleep(0.002)
    proc.kill()
    proc.communicate()
    raise AssertionError("the transfer neither finished nor reached the kill point")


def _start(cwd, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cairn", "-q", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def big_repo(repo, tmp_path):
    """A repository with ~200 MiB of incompressible data (several 64 MiB transfer packs)."""
    data = repo.root / "data"
    data.mkdir()
    for i in range(4):
        (data / f"part{i}.bin").write_bytes(os.urandom(50 << 20))
    repo("add", "data")
    repo("remote", "add", "origin", str(tmp_path / "remote"))
    repo.git("add", "-A")
    repo.git("commit", "-qm", "data")
    return repo


def test_push_killed_mid_transfer_then_rerun_completes(big_repo, tmp_path, capsys):
    remote_packs = tmp_path / "remote" / "packs"
    proc = _start(big_repo.root, "push")
    killed = _kill_when(proc, lambda: remote_packs.is_dir() and any(
        p.suffix == ".idx" for p in remote_packs.iterdir()))
    assert killed, "push finished before it could be interrupted"
    idx_before = {p.name for p in remote_packs.glob("*.idx")}
    assert 0 < len(idx_before)
    # what the killed push left is either complete (pack + index) or invisible (no index)
    for idx in remote_packs.glob("*.idx"):
        assert idx.with_suffix(".pack").exists()
    out = big_repo("push")
    assert "already there" in out
    assert {p.name for p in remote_packs.glob("*.idx")} >= idx_before
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(big_repo.root), str(clone))
    other = Cli(clone, capsys)
    other("pull")
    for i in range(4):
        name = f"data/part{i}.bin"
        assert (clone / name).read_bytes() == (big_repo.root / name).read_bytes()


def test_pull_killed_mid_transfer_then_rerun_completes(big_repo, tmp_path, capsys):
    big_repo("push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(big_repo.root), str(clone))
    packs = clone / ".cairn" / "cache" / "packs"
    proc = _start(clone, "pull")
    killed = _kill_when(proc, lambda: packs.is_dir() and any(p.suffix == ".idx" for p in packs.iterdir()))
    assert killed, "pull finished before it could be interrupted"
    other = Cli(clone, capsys)
    assert "every pack and object verified" in other("fsck")
    other("pull")
    for i in range(4):
        name = f"data/part{i}.bin"
        assert (clone / name).read_bytes() == (big_repo.root / name).read_bytes()
    assert "every pack and object verified" in other("fsck")


def test_a_killed_checkout_leaves_no_temp_file_for_git_and_the_next_checkout_removes_it(repo):
    content = os.urandom(150 << 20)
    big = repo.root / "big.bin"  # a tracked file: its temporary file goes beside it
    big.write_bytes(content)
    repo("add", "big.bin")
    big.unlink()
    proc = _start(repo.root, "checkout")
    killed = _kill_when(proc, lambda: any(p.name.startswith(".cairn-tmp-") and p.stat().st_size
                                          for p in repo.root.iterdir()))
    assert killed, "checkout finished before it could be interrupted"
    assert "cairn-tmp" not in repo.git("status", "--porcelain", "--untracked-files=all")
    assert "left by killed cairn commands" in repo("status")
    repo("checkout")
    assert not list(repo.root.glob(".cairn-tmp-*"))
    assert big.read_bytes() == content


def test_two_adds_at_once(repo):
    for name, seed in (("a.txt", 1), ("b.txt", 2)):
        make_text(repo.root / name, 300_000, seed)
    procs = [_start(repo.root, "add", name) for name in ("a.txt", "b.txt")]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert "all up to date" in repo("status")
    originals = {n: (repo.root / n).read_bytes() for n in ("a.txt", "b.txt")}
    for n in originals:
        (repo.root / n).unlink()
    repo("checkout")
    for n, data in originals.items():
        assert (repo.root / n).read_bytes() == data
    assert "every pack and object verified" in repo("fsck")


def test_disk_full_gives_a_clear_error_and_keeps_the_cache_intact(tmp_path, capsys):
    with repo_on_small_disk(tmp_path, capsys) as (_, root, c):
        first = os.urandom(10 << 20)
        (root / "first.bin").write_bytes(first)
        c("add", "first.bin")
        # 20 MiB of data plus 20 MiB of cache do not fit in what is left
        (root / "second.bin").write_bytes(os.urandom(20 << 20))
        out = c("add", "second.bin", expect=2)
        assert "disk full" in out and "second.bin" not in os.listdir(root / ".cairn" / "tmp")
        assert not (root / "second.bin.cairn").exists()
        assert list((root / ".cairn" / "tmp").iterdir()) == []
        assert "every pack and object verified" in c("fsck")
        (root / "first.bin").unlink()
        c("checkout", "first.bin")
        assert (root / "first.bin").read_bytes() == first


def test_push_and_pull_with_a_remote_on_another_file_system(repo, tmp_path, capsys):
    """A NAS or another mount: packs cannot be renamed across file systems."""
    with mounted_tmpfs(tmp_path / "mnt", "32m") as other:
        data = make_text(repo.root / "t.txt", 20_000, 7)
        repo("remote", "add", "nas", str(other / "store"))
        repo("add", "t.txt")
        repo.git("add", "-A")
        repo.git("commit", "-qm", "t")
        assert "pushed to nas" in repo("push")
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(repo.root), str(clone))
        Cli(clone, capsys)("pull")
        assert (clone / "t.txt").read_bytes() == data
