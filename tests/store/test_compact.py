"""Deferred compression: `cairn add` stores new data raw, compaction compresses it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from store_helpers import repo_on_small_disk
from test_reliability import _kill_when

from cairn._core import store as _store
from cairn.data import compact
from cairn.data.repo import Repo


def _hex_text(n: int) -> bytes:
    """n bytes of hex digits in lines: compresses to about half."""
    raw = os.urandom(n // 2).hex().encode()
    return b"\n".join(raw[i:i + 99] for i in range(0, len(raw), 99))


def _deferred(root) -> int:
    return _store.deferred_bytes(_store.ObjectStore.open(str(root / ".cairn" / "cache" / "packs")))


def _cache_bytes(root) -> int:
    return sum(p.stat().st_size for p in (root / ".cairn" / "cache" / "packs").glob("pack-*"))


def _versions(repo, n: int, size: int) -> list[bytes]:
    """n committed versions of data.txt, each with a line inserted mid-file."""
    data = _hex_text(size)
    versions = []
    for i in range(n):
        if i:
            mid = data.index(b"\n", len(data) // 2)
            data = data[:mid] + f"\ninserted {i}".encode() + data[mid:]
        (repo.root / "data.txt").write_bytes(data)
        repo("add", "data.txt")
        repo.git("add", "-A")
        repo.git("commit", "-qm", f"v{i}")
        repo.git("tag", f"v{i}")
        versions.append(data)
    return versions


def _check_every_version(repo, versions) -> None:
    for i, data in enumerate(versions):
        repo.git("checkout", "-q", f"v{i}")
        repo("checkout", "--force")
        assert (repo.root / "data.txt").read_bytes() == data
    repo.git("checkout", "-q", "main")


def test_add_defers_compression_and_compact_compresses(repo):
    versions = _versions(repo, 3, 8 << 20)
    raw_cache = _cache_bytes(repo.root)
    assert raw_cache > len(versions[0])  # stored raw: nothing compressed yet
    assert _deferred(repo.root) >= len(versions[0])
    assert "old pack(s) deleted" in repo("compact")
    assert _deferred(repo.root) == 0
    assert _cache_bytes(repo.root) < 0.65 * raw_cache
    assert "every pack and object verified" in repo("fsck")
    _check_every_version(repo, versions)
    assert "nothing to compress" in repo("compact")


def test_status_says_what_waits_to_be_compressed(repo):
    (repo.root / "a.txt").write_bytes(_hex_text(2 << 20))
    repo("add", "a.txt")
    assert "of added data waits to be compressed" in repo("status")
    repo("compact")
    assert "compressed" not in repo("status")


def test_add_with_a_level_compresses_at_once(repo):
    (repo.root / "a.txt").write_bytes(_hex_text(4 << 20))
    repo("add", "--level", "3", "a.txt")
    assert _deferred(repo.root) == 0
    assert _cache_bytes(repo.root) < 0.65 * (4 << 20)


def test_background_compaction_starts_after_add_and_finishes(repo, monkeypatch):
    monkeypatch.setenv("CAIRN_AUTOCOMPACT", "1")
    monkeypatch.setattr(compact, "AUTO_BYTES", 1 << 20)
    versions = _versions(repo, 2, 4 << 20)  # the CLI starts compactions in the background
    deadline = time.monotonic() + 60
    while _deferred(repo.root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _deferred(repo.root) == 0, (repo.root / ".cairn/cache/compact.log").read_text()
    # `cairn compact` waits for a running one; then nothing is left to do
    r = compact.compact(Repo.find(repo.root))
    assert r.packs == 0 and not r.skipped
    assert (repo.root / ".cairn/cache/compact.log").read_text() == ""
    _check_every_version(repo, versions)


def test_background_compaction_is_a_detached_process_and_can_be_switched_off(repo, monkeypatch):
    (repo.root / "a.txt").write_bytes(_hex_text(4 << 20))
    repo("add", "a.txt")  # automatic compaction is off in the tests
    r = Repo.find(repo.root)
    monkeypatch.setattr(compact, "AUTO_BYTES", 64 << 20)
    monkeypatch.setenv("CAIRN_AUTOCOMPACT", "1")
    assert compact.after_add(r) is None  # below the threshold
    monkeypatch.setattr(compact, "AUTO_BYTES", 1 << 20)
    monkeypatch.setenv("CAIRN_AUTOCOMPACT", "0")
    assert compact.after_add(r) is None  # switched off
    monkeypatch.delenv("CAIRN_AUTOCOMPACT")
    subprocess.run(["git", "config", "-f", str(repo.root / ".cairn/config"), "core.autocompact",
                    "false"], check=True)
    assert compact.after_add(r) is None  # switched off in .cairn/config
    subprocess.run(["git", "config", "-f", str(repo.root / ".cairn/config"), "core.autocompact",
                    "true"], check=True)
    proc = compact.after_add(r)
    assert proc is not None
    assert os.getsid(proc.pid) == proc.pid  # its own session: Ctrl-C here does not reach it
    assert proc.wait(timeout=60) == 0
    assert _deferred(repo.root) == 0


def test_a_second_compaction_waits_or_skips(repo):
    (repo.root / "a.txt").write_bytes(_hex_text(2 << 20))
    repo("add", "a.txt")
    r = Repo.find(repo.root)
    import fcntl
    with open(repo.root / ".cairn/cache/compact.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert compact.compact(r, wait=False).skipped  # what --auto does
    assert compact.compact(r).packs == 1


def test_an_add_during_a_compaction_is_compacted_too(repo):
    (repo.root / "big.txt").write_bytes(_hex_text(64 << 20))
    repo("add", "big.txt")
    proc = subprocess.Popen([sys.executable, "-m", "cairn", "-q", "compact"], cwd=repo.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    (repo.root / "late.txt").write_bytes(_hex_text(4 << 20))
    repo("add", "late.txt")  # while the compaction (probably) runs
    # What the add's --auto run does: if the compaction still runs, ask it to look again
    # (compact.again) instead of waiting; if it has finished, compact late.txt itself.
    compact.compact(Repo.find(repo.root), wait=False)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert _deferred(repo.root) == 0
    assert not (repo.root / ".cairn/cache/compact.again").exists()


def test_gc_and_checkout_during_a_compaction_lose_nothing(repo):
    versions = _versions(repo, 2, 32 << 20)
    packs = repo.root / ".cairn" / "cache" / "packs"
    proc = subprocess.Popen([sys.executable, "-m", "cairn", "-q", "compact"], cwd=repo.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline and not any(
            p.name.startswith(".cairn-tmp") for p in packs.iterdir()):
        time.sleep(0.002)  # until the compaction writes its replacement pack
    repo("gc", "--force")  # waits for the compaction's shared lock, or runs between its steps
    _check_every_version(repo, versions)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert _deferred(repo.root) == 0
    assert "every pack and object verified" in repo("fsck")
    _check_every_version(repo, versions)


@pytest.mark.parametrize("when", ["writing", "written"])
def test_compaction_killed_then_rerun_loses_nothing(repo, when):
    versions = _versions(repo, 2, 48 << 20)
    packs = repo.root / ".cairn" / "cache" / "packs"
    before = {p.name for p in packs.glob("*.idx")}
    proc = subprocess.Popen([sys.executable, "-m", "cairn", "-q", "compact"], cwd=repo.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if when == "writing":  # the replacement pack is being written
        ready = lambda: any(p.name.startswith(".cairn-tmp") for p in packs.iterdir())  # noqa: E731
    else:  # a replacement is in place, the old packs not yet deleted
        ready = lambda: any(p.name not in before for p in packs.glob("*.idx"))  # noqa: E731
    assert _kill_when(proc, ready), "compaction finished before it could be interrupted"
    assert "every pack and object verified" in repo("fsck")
    _check_every_version(repo, versions)
    repo("compact")
    assert _deferred(repo.root) == 0
    assert not before & {p.name for p in packs.glob("*.idx")}  # the raw packs are gone
    assert "every pack and object verified" in repo("fsck")
    _check_every_version(repo, versions)


def test_compaction_on_a_full_disk_keeps_the_cache_intact(tmp_path, capsys):
    with repo_on_small_disk(tmp_path, capsys) as (small, root, c):
        data = _hex_text(12 << 20)
        (root / "a.txt").write_bytes(data)
        c("add", "a.txt")
        free = os.statvfs(small).f_bavail * os.statvfs(small).f_frsize
        (small / "filler").write_bytes(b"\0" * (free - (1 << 20)))  # 1 MiB left
        out = c("compact", expect=2)
        assert "disk full" in out
        assert [p.name for p in (root / ".cairn/cache/packs").iterdir()
                if p.name.startswith(".cairn-tmp")] == []
        assert "every pack and object verified" in c("fsck")
        (root / "a.txt").unlink()
        c("checkout", "a.txt")
        assert (root / "a.txt").read_bytes() == data
        (small / "filler").unlink()
        c("compact")
        assert _deferred(root) == 0
