"""What killed commands and bad input leave behind: temporary files, a damaged stat cache,
secrets pasted into remote URLs, file names that are not UTF-8."""

from __future__ import annotations

import fcntl
import json
import os

import pytest
from store_helpers import Cli, git

import cairn.data
from cairn.data.repo import CairnError


@pytest.mark.parametrize("content", [b"[1, 2]", b"7", b'"text"', b"{\"f\": 7}", b"{tru",
                                     b"\xff\xfe garbage", "hashed-at"])
def test_a_stat_cache_of_the_wrong_json_type_is_rebuilt(repo, content):
    (repo.root / "f").write_bytes(b"hello\n")
    repo("add", "f")
    state = repo.root / ".cairn" / "state"
    if content == "hashed-at":  # an entry that matches the file, one field of the wrong type
        entries = json.loads(state.read_text())
        entries["f"][4] = "yesterday"
        content = json.dumps(entries).encode()
    state.write_bytes(content)
    out = repo("status")
    assert "all up to date" in out
    if content.startswith(b"{\""):
        assert "stat cache" not in out  # a bad entry is only re-hashed
    else:
        assert out.count("stat cache") == 1 and "rebuilding it" in out
    assert "stat cache" not in repo("status")  # rewritten


SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("url", [
    f"s3://AKIAIOSFODNN7EXAMPLE:{SECRET}@bucket/prefix",
    f"s3://bucket/prefix?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101&X-Amz-Signature={SECRET}",
    f"s3://bucket/prefix?secret_key={SECRET}",
    "s3://bucket/AKIAIOSFODNN7EXAMPLE/prefix",
    f"file://user:{SECRET}@host/folder",
])
def test_a_secret_in_a_remote_url_is_refused_and_never_saved(repo, url):
    out = repo("remote", "add", "origin", url, expect=2)
    assert "credentials" in out and "AWS_ACCESS_KEY_ID" in out and "~/.aws/credentials" in out
    assert SECRET not in out and "AKIAIOSFODNN7EXAMPLE" not in out
    config = (repo.root / ".cairn" / "config").read_text()
    assert SECRET not in config and "AKIA" not in config and "origin" not in config


def test_a_secret_in_the_endpoint_url_is_refused_and_never_saved(repo):
    out = repo("remote", "add", "lab", "s3://bucket/p", "--endpoint-url",
               f"http://AKIAIOSFODNN7EXAMPLE:{SECRET}@127.0.0.1:9000", expect=2)
    assert "--endpoint-url" in out and "AWS_SECRET_ACCESS_KEY" in out
    assert SECRET not in out and SECRET not in (repo.root / ".cairn" / "config").read_text()


def test_remote_list_hides_a_secret_saved_before_it_was_refused(repo):
    repo.git("config", "-f", ".cairn/config", "remote.old.url", f"s3://bucket/p?token={SECRET}")
    out = repo("remote")
    assert "old\ts3://bucket/p?token=***" in out and SECRET not in out


def _leave_temp_files(repo) -> list:
    """What killed commands leave: a file-sized temporary file beside a checked-out file
    and inside a tracked folder, pack-sized ones in .cairn/tmp and the pack folder, and a
    pack whose index was never written."""
    packs = repo.root / ".cairn" / "cache" / "packs"
    left = [repo.root / "data" / ".cairn-tmp-0123456789abcdef",
            repo.root / "data" / "images" / ".cairn-tmp-fedcba9876543210",
            repo.root / ".cairn" / "tmp" / ".cairn-tmp-1111111111111111",
            packs / ".cairn-tmp-2222222222222222", packs / ("pack-" + "0" * 64 + ".pack")]
    for i, p in enumerate(left):
        p.write_bytes(os.urandom(100_000 + i))
    return left


@pytest.fixture
def tracked(repo):
    (repo.root / "data" / "images").mkdir(parents=True)
    (repo.root / "data" / "corpus.txt").write_bytes(os.urandom(200_000))
    (repo.root / "data" / "images" / "a.png").write_bytes(os.urandom(50_000))
    repo("add", "data/corpus.txt", "data/images")
    return repo


def test_temp_files_of_killed_commands_are_never_committed_by_git_add(tracked):
    _leave_temp_files(tracked)
    tracked.git("add", "-A")
    staged = tracked.git("diff", "--cached", "--name-only")
    assert "cairn-tmp" not in staged and "data/corpus.txt.cairn" in staged


def test_status_and_fsck_name_leftover_temp_files_with_their_size(tracked):
    left = _leave_temp_files(tracked)
    total = sum(p.stat().st_size for p in left)
    for command in ("status", "fsck"):
        out = tracked(command)
        assert f"{len(left)} file(s) left by killed cairn commands, {total / 1024:.1f} KiB" in out
    assert "would remove 5 file(s) left by killed cairn commands" in tracked("gc")
    assert all(p.exists() for p in left)  # a dry run removes nothing


@pytest.mark.parametrize("command", [("checkout",), ("add", "data/corpus.txt"), ("compact",),
                                     ("gc", "--force")])
def test_the_next_command_removes_what_killed_commands_left(tracked, command):
    left = _leave_temp_files(tracked)
    tracked(*command)
    assert not any(p.exists() for p in left)
    assert "left by killed" not in tracked("status")
    assert "every pack and object verified" in tracked("fsck")


def test_temp_files_of_a_running_command_are_never_removed(tracked):
    left = _leave_temp_files(tracked)
    # Another cairn command holds the repository lock (shared) while it writes them.
    with open(tracked.root / ".cairn" / "lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        try:
            tracked("checkout")
            tracked("add", "data/corpus.txt")
            assert "left by killed" not in tracked("status")  # cannot be told from live ones
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
    assert all(p.exists() for p in left)
    tracked("checkout")
    assert not any(p.exists() for p in left)


BAD_NAME = b"bad\xff.txt".decode("utf-8", "surrogateescape")  # a name Linux allows


def _folder_with_a_non_utf8_name(repo):
    folder = repo.root / "d"
    folder.mkdir()
    (folder / "ok.txt").write_text("fine\n")
    (folder / BAD_NAME).write_text("x\n")
    return folder


def _craft_manifest_with_a_non_utf8_name(repo) -> str:
    """What a forged remote (or another tool) could hold: the C++ adder, called directly,
    records the name as it is; `cairn add` refuses it."""
    from cairn.data.repo import Repo, _store

    _folder_with_a_non_utf8_name(repo)
    r = Repo.find(repo.root)
    with r.lock():
        adder = _store.Adder.make(r.cache(), str(r.tmp), 1)
        pointer = adder.add_directory(str(repo.root / "d"), None, {})
        adder.commit()
    r.add_to_gitignore("d")
    r.write_pointer("d.cairn", pointer)
    return pointer.split("sha256:")[1].split()[0]


def test_add_refuses_a_file_name_that_is_not_utf8_before_storing_anything(repo):
    _folder_with_a_non_utf8_name(repo)
    out = repo("add", "d", expect=2)
    assert "'d/bad\\xff.txt' is not valid UTF-8" in out and "rename" in out
    assert "codec" not in out
    assert not (repo.root / "d.cairn").exists()
    assert not list((repo.root / ".cairn" / "cache" / "packs").glob("*.idx"))


def test_pull_refuses_a_manifest_with_a_file_name_that_is_not_utf8(repo, tmp_path, capsys):
    oid = _craft_manifest_with_a_non_utf8_name(repo)
    repo("remote", "add", "origin", str(tmp_path / "remote"))
    repo.git("add", "-A")
    repo.git("commit", "-qm", "forged")
    repo("push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.root), str(clone))
    other = Cli(clone, capsys)
    out = other("pull", expect=2)
    assert f"manifest {oid}" in out and "'bad\\xff.txt'" in out and "d.cairn" in out
    assert "codec" not in out
    assert not (clone / "d").exists()  # nothing checked out from it


def test_status_checkout_diff_and_ls_name_a_manifest_with_a_non_utf8_name(repo):
    oid = _craft_manifest_with_a_non_utf8_name(repo)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "forged")
    out = repo("status")
    assert "cannot check" in out and "'d/bad\\xff.txt' is not valid UTF-8" in out
    for command in (("checkout",), ("checkout", "--force"), ("diff", "d")):
        out = repo(*command, expect=2)
        assert f"manifest {oid}" in out and "'bad\\xff.txt'" in out and "codec" not in out
    with pytest.raises(CairnError, match="not valid UTF-8"):
        cairn.data.ls(repo.root / "d", repo=repo.root)
