"""`cairn add/status/checkout/push/pull/log/diff/gc/fsck` end to end on real git repos."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

import cairn
import cairn.data
from cairn._core import store as _store
from cairn.data.repo import Repo

from store_helpers import Cli, commit_versions, git, make_text


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_add_writes_pointer_gitignore_and_git_lfs_compatible_oid(repo):
    data = make_text(repo.root / "data" / "corpus.txt", 50_000, 1)
    out = repo("add", "data/corpus.txt")
    assert "added data/corpus.txt" in out
    pointer = (repo.root / "data" / "corpus.txt.cairn").read_text()
    assert pointer == (f"cairn-pointer 1\nkind file\noid sha256:{sha256(data)}\n"
                       f"size {len(data)}\nmode 644\n")
    assert "/corpus.txt" in (repo.root / "data" / ".gitignore").read_text().splitlines()
    # git sees the pointer and the .gitignore, never the data
    status = repo.git("status", "--porcelain", "--untracked-files=all")
    assert "data/corpus.txt.cairn" in status and "data/corpus.txt\n" not in status
    shown = repo("status").splitlines()
    assert shown[0] == "1 tracked path(s), all up to date"
    assert "of added data waits to be compressed" in shown[1]  # add stored it raw


def test_status_checkout_and_refusal_to_lose_unsaved_changes(repo):
    original = make_text(repo.root / "a.txt", 20_000, 2)
    repo("add", "a.txt")
    (repo.root / "a.txt").write_bytes(b"edited\n")
    assert "modified:" in repo("status", "a.txt")
    out = repo("checkout", expect=2)
    assert "a.txt" in out and "not in the cache" in out and "--force" in out
    assert (repo.root / "a.txt").read_bytes() == b"edited\n"  # nothing lost
    repo("checkout", "--force")
    assert (repo.root / "a.txt").read_bytes() == original
    (repo.root / "a.txt").unlink()
    assert "missing:" in repo("status")
    repo("checkout", "a.txt")
    assert (repo.root / "a.txt").read_bytes() == original


def test_directory_versions_log_diff_and_checkout_of_an_old_revision(repo):
    d = repo.root / "images"
    v1 = {f"img{i}.bin": os.urandom(1000 + i) for i in range(20)}
    for name, data in v1.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
    (d / "sub").mkdir()
    (d / "sub" / "big.txt").write_bytes(make_text(d / "sub" / "big.txt", 30_000, 3))
    repo("add", "images")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "images v1")
    repo.git("tag", "v1")
    (d / "img0.bin").write_bytes(b"changed")
    (d / "img1.bin").unlink()
    (d / "new.bin").write_bytes(b"new file")
    (d / "new2.bin").write_bytes(b"another new file")
    diff = repo("diff", "images")
    assert "modified:  images/img0.bin" in diff
    assert "deleted:   images/img1.bin" in diff
    assert "added:     images/new.bin" in diff
    repo("add", "images")
    repo.git("commit", "-qam", "images v2")
    log = repo("log", "images")
    assert "images v2" in log and "images v1" in log and "22 files" in log and "21 files" in log
    repo.git("checkout", "-q", "v1")
    repo("checkout", "--force")
    for name, data in v1.items():
        assert (d / name).read_bytes() == data
    assert cairn.data.read_bytes(str(d / "img0.bin"), rev="main", repo=repo.root) == b"changed"
    assert cairn.data.read_bytes(str(d / "img0.bin"), rev="v1", repo=repo.root) == v1["img0.bin"]


def test_clone_and_pull_gives_identical_files_at_every_revision(repo, tmp_path, capsys):
    remote = tmp_path / "remote"
    repo("remote", "add", "origin", str(remote))
    versions = commit_versions(repo, "small.bin", 100, ("data/text.txt", "data/small.bin"),
                               lambda: repo("push"))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.root), str(clone))
    other = Cli(clone, capsys)
    for i, (text, small) in enumerate(versions):
        other.git("checkout", "-q", f"v{i}")
        other("pull", "--force")
        assert (clone / "data" / "text.txt").read_bytes() == text
        assert (clone / "data" / "small.bin").read_bytes() == small
    # the remote holds the versions deduplicated: far less than three copies
    remote_bytes = sum(p.stat().st_size for p in (remote / "packs").iterdir())
    assert remote_bytes < 1.5 * len(versions[0][0])


def test_flipped_byte_fsck_names_it_checkout_refuses_pull_repairs(repo, tmp_path):
    data = make_text(repo.root / "c.txt", 60_000, 5)
    repo("remote", "add", "origin", str(tmp_path / "remote"))
    repo("add", "c.txt")
    repo("push")
    pack = next((repo.root / ".cairn" / "cache" / "packs").glob("*.pack"))
    raw = bytearray(pack.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    pack.write_bytes(bytes(raw))
    out = repo("fsck", expect=1)
    assert pack.name in out and "used by c.txt" in out
    (repo.root / "c.txt").unlink()
    out = repo("checkout", expect=2)
    assert "damaged" in out or "corrupt" in out
    assert not (repo.root / "c.txt").exists()
    out = repo("pull")
    assert "repaired" in out
    assert (repo.root / "c.txt").read_bytes() == data
    assert "every pack and object verified" in repo("fsck")


def test_gc_is_a_dry_run_unless_forced_and_keeps_every_committed_version(repo):
    path = repo.root / "m.bin"
    kept = []
    for i in range(2):
        path.write_bytes(os.urandom(300_000))
        kept.append(path.read_bytes())
        repo("add", "m.bin")
        repo.git("add", "-A")
        repo.git("commit", "-qm", f"model {i}")
    path.write_bytes(os.urandom(300_000))
    repo("add", "m.bin")  # never committed, then replaced: garbage
    path.write_bytes(kept[-1])
    repo("add", "m.bin")
    packs = repo.root / ".cairn" / "cache" / "packs"
    before = sorted(packs.iterdir())
    bytes_before = sum(p.stat().st_size for p in before)
    out = repo("gc")
    assert "would drop" in out and "dry run" in out
    assert sorted(packs.iterdir()) == before
    out = repo("gc", "--force")
    assert "dropped" in out
    assert sum(p.stat().st_size for p in packs.iterdir()) < bytes_before - 250_000
    repo.git("checkout", "-q", "HEAD~1")
    repo("checkout", "--force")
    assert path.read_bytes() == kept[0]
    assert "every pack and object verified" in repo("fsck")


def test_bad_input_gets_clear_errors(repo, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    assert "outside the repository" in repo("add", str(outside), expect=2)
    assert "no such file" in repo("add", "nope.txt", expect=2)
    (repo.root / "link").symlink_to(outside)
    assert "symlink" in repo("add", "link", expect=2)
    (repo.root / "ok.txt").write_text("ok\n")
    repo("add", "ok.txt")
    (repo.root / "ok.txt.cairn").write_text("cairn-pointer 1\nkind file\noid sha256:xyz\n")
    out = repo("status", expect=2)
    assert "ok.txt.cairn" in out and "malformed" in out
    assert "no remote configured" in repo("push", expect=2)
    (repo.root / "tracked.txt").write_text("in git\n")
    repo.git("add", "tracked.txt")
    assert "already tracked by git" in repo("add", "tracked.txt", expect=2)


def test_a_symlinked_folder_leading_out_of_the_repo_is_refused(repo, tmp_path):
    (repo.root / "d").mkdir()
    (repo.root / "d" / "f.txt").write_text("data\n")
    repo("add", "d/f.txt")
    pointer = (repo.root / "d" / "f.txt.cairn").read_text()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "f.txt.cairn").write_text(pointer)
    (repo.root / "escape").symlink_to(elsewhere)
    out = repo("checkout", "escape/f.txt", expect=2)
    assert "outside" in out
    assert not (elsewhere / "f.txt").exists()


def test_cairn_data_open_ls_and_text_mode(repo):
    data = make_text(repo.root / "t.txt", 30_000, 6)
    repo("add", "t.txt")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "t")
    with cairn.data.open(repo.root / "t.txt", rev="HEAD", repo=repo.root) as f:
        f.seek(100)
        assert f.read(50) == data[100:150]
        f.seek(0)
        assert f.read() == data
    with cairn.data.open(repo.root / "t.txt", mode="r", repo=repo.root) as f:
        assert f.readline() == data.decode().splitlines(keepends=True)[0]
    (entry,) = cairn.data.ls(".", rev="HEAD", repo=repo.root)
    assert entry == {"path": "t.txt", "size": len(data), "oid": sha256(data), "type": "file"}
    with pytest.raises(ValueError, match="mode"):
        cairn.data.open(repo.root / "t.txt", mode="w", repo=repo.root)


def test_help_for_every_command(repo):
    for command in ("init", "add", "status", "checkout", "remote", "push", "fetch", "pull",
                    "gc", "compact", "fsck", "log", "diff"):
        with pytest.raises(SystemExit) as e:
            from cairn import cli
            cli.main([command, "--help"])
        assert e.value.code == 0
        assert command in repo.capsys.readouterr().out


def test_status_sees_an_edit_that_keeps_size_and_mtime(repo):
    path = repo.root / "s.txt"
    path.write_bytes(b"a" * 1000)
    repo("add", "s.txt")
    st = path.stat()
    with open(path, "r+b") as f:  # same inode, same size
        f.write(b"b")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "modified:" in repo("status")


def test_an_in_place_edit_that_restores_an_old_mtime_is_seen(repo):
    path = repo.root / "old.txt"
    path.write_bytes(b"a" * 1000)
    old = path.stat().st_mtime_ns - 10_000_000_000
    os.utime(path, ns=(old, old))
    repo("add", "old.txt")  # hashed long after its mtime: the stat cache trusts it
    with open(path, "r+b") as f:  # same inode and size; the mtime is put back (rsync -t)
        f.write(b"b")
    os.utime(path, ns=(old, old))
    assert "modified:" in repo("status")
    assert "added old.txt" in repo("add", "old.txt")


def test_adding_an_unchanged_file_again_stores_nothing(repo):
    path = repo.root / "u.bin"
    path.write_bytes(os.urandom(200_000))
    repo("add", "u.bin")
    old = path.stat().st_mtime_ns - 10_000_000_000  # make it old enough to trust its stat
    os.utime(path, ns=(old, old))
    assert "(0 B new, 0 B stored)" in repo("add", "u.bin")  # hashed again: its stat changed
    packs = sorted((repo.root / ".cairn" / "cache" / "packs").iterdir())
    out = repo("add", "u.bin")  # now the stat cache knows it: not even read
    assert "unchanged u.bin" in out
    assert sorted((repo.root / ".cairn" / "cache" / "packs").iterdir()) == packs
    with open(path, "r+b") as f:  # an edit is never missed
        f.write(b"x")
    assert "added u.bin" in repo("add", "u.bin")


def test_folder_status_and_add_again_trust_the_stat_cache_but_see_every_change(repo, monkeypatch):
    folder = repo.root / "imgs"
    for i in range(30):
        path = folder / f"part{i % 3}" / f"{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(3000))
    for p in folder.rglob("*.bin"):  # old enough to trust their stat once hashed
        old = p.stat().st_mtime_ns - 10_000_000_000
        os.utime(p, ns=(old, old))
    repo("add", "imgs")
    hashed = []
    real = _store.manifest_id
    monkeypatch.setattr(_store, "manifest_id",
                        lambda path, known: hashed.append(len(known)) or real(path, known))
    assert "all up to date" in repo("status")
    assert "unchanged imgs" in repo("add", "imgs")
    assert hashed == []  # neither hashed a file
    target = folder / "part1" / "4.bin"
    st = target.stat()
    with open(target, "r+b") as f:  # same inode and size, mtime put back: ctime differs
        f.write(b"x")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "modified:" in repo("status")
    assert hashed == [29]  # only the edited file is read: the other 29 are vouched for
    vouched = []
    real_known = Repo.known_oids
    monkeypatch.setattr(Repo, "known_oids",
                        lambda self, full, scan: vouched.append(real_known(self, full, scan))
                        or vouched[-1])
    out = repo("add", "imgs")
    # status hashed the edited file, so all 30 are vouched for; its new content is not in
    # the cache yet, so add reads that one file and stores it
    assert len(vouched[0]) == 30 and "added imgs" in out and "(0 B new" not in out
    (folder / "part2" / "new.bin").write_bytes(b"new")
    assert "modified:" in repo("status")
    (folder / "part2" / "new.bin").unlink()
    (folder / "part0" / "0.bin").unlink()
    assert "modified:" in repo("status")


def test_folder_stat_cache_sees_files_below_a_folder_named_like_a_temporary_file(repo):
    inner = repo.root / "d" / ".cairn-tmp-not-really"
    inner.mkdir(parents=True)
    (inner / "f.bin").write_bytes(b"one")  # add tracks it: only temporary *files* are skipped
    old = (inner / "f.bin").stat().st_mtime_ns - 10_000_000_000
    os.utime(inner / "f.bin", ns=(old, old))
    repo("add", "d")
    assert "all up to date" in repo("status")
    (inner / "f.bin").write_bytes(b"two")
    assert "modified:" in repo("status")


def test_gc_force_forgets_stat_cache_entries_of_deleted_paths(repo):
    (repo.root / "d").mkdir()
    for name in ("a", "b"):
        (repo.root / "d" / name).write_text(name)
    repo("add", "d")
    state = json.loads((repo.root / ".cairn" / "state").read_text())
    assert {"d/", "d/a", "d/b"} <= set(state)
    (repo.root / "d" / "b").unlink()
    repo("gc", "--force")
    state = json.loads((repo.root / ".cairn" / "state").read_text())
    assert "d/b" not in state and "d/a" in state


def test_output_to_a_closed_pipe_stops_quietly(repo):
    (repo.root / "a.txt").write_text("a")
    repo("add", "a.txt")
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `cairn status | head -0` would
    try:
        proc = subprocess.run([sys.executable, "-m", "cairn", "status"], cwd=repo.root,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert proc.returncode == 141 and proc.stderr == ""


def test_read_text_at_a_revision_reads_tracked_data(repo, monkeypatch):
    corpus = repo.root / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("one two\nthree\n")
    (corpus / "b.txt").write_text("four\n")
    repo("add", "corpus")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "v1")
    repo.git("tag", "v1")
    (corpus / "a.txt").write_text("changed\n")
    repo("add", "corpus")
    repo.git("commit", "-qam", "v2")
    monkeypatch.chdir(repo.root)
    words = cairn.read_text("corpus/*.txt", rev="v1").str.split().flatten()
    assert sorted(words.compute()) == ["four", "one", "three", "two"]
    assert cairn.read_text("corpus", rev="main").compute() == ["changed\n", "four\n"]
    with pytest.raises(FileNotFoundError, match="not tracked"):
        cairn.read_text("nothing.txt", rev="v1")


def test_remote_fsck_and_gc(repo, tmp_path):
    repo("remote", "add", "origin", str(tmp_path / "remote"))
    (repo.root / "keep.bin").write_bytes(os.urandom(100_000))
    repo("add", "keep.bin")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "keep")
    repo("push")
    (repo.root / "tmp.bin").write_bytes(os.urandom(100_000))
    repo("add", "tmp.bin")
    repo("push")
    (repo.root / "tmp.bin.cairn").unlink()
    assert "every pack and object verified on remote origin" in repo("fsck", "--remote", "origin")
    assert "would drop" in repo("gc", "--remote", "origin")
    assert "remote origin: dropped" in repo("gc", "--remote", "origin", "--force")
    shutil.rmtree(repo.root / ".cairn" / "cache")
    (repo.root / "keep.bin").unlink()
    repo("pull")
    assert (repo.root / "keep.bin").stat().st_size == 100_000
    assert "every pack and object verified" in repo("fsck", "--remote", "origin")


def test_push_sends_a_denser_zstd_level_and_level_0_sends_as_stored(repo, tmp_path, capsys):
    data = make_text(repo.root / "t.txt", 60_000, 11)
    repo("add", "t.txt")
    repo("remote", "add", "dense", str(tmp_path / "dense"))
    repo("remote", "add", "same", str(tmp_path / "same"), "--no-default")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "t")
    repo("push", "--remote", "dense")
    repo("push", "--remote", "same", "--level", "0")

    def packs(folder):
        return sum(p.stat().st_size for p in folder.glob("pack-*.pack"))

    cache = packs(repo.root / ".cairn" / "cache" / "packs")
    assert packs(tmp_path / "same" / "packs") == cache
    assert packs(tmp_path / "dense" / "packs") < 0.99 * cache
    assert "verified on remote dense" in repo("fsck", "--remote", "dense")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.root), str(clone))
    Cli(clone, capsys)("pull", "--remote", "dense")
    assert (clone / "t.txt").read_bytes() == data
