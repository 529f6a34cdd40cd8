"""The store with an s3:// remote: push/pull/fetch/gc/fsck against the local S3 server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from store_helpers import Cli, commit_versions, git, make_text

import cairn.data


def commit(repo, message: str) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", message)


def keys(server, bucket: str, prefix: str = "") -> dict[str, dict]:
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                      Prefix=prefix)
    # (Arrow leaves an empty "folder/" marker object where it deleted a folder's last file)
    return {o["Key"]: o for page in pages for o in page.get("Contents", [])
            if not o["Key"].endswith("/")}


def test_push_clone_pull_every_revision_byte_identical(repo, bucket, s3_env, tmp_path, capsys):
    repo("remote", "add", "origin", f"s3://{bucket}/team/store")

    def push() -> None:
        assert "pushed to origin" in repo("push")

    versions = commit_versions(repo, "blob.bin", 1000, ("data",), push)
    assert "pushed to origin: 0 object(s)" in repo("push")  # nothing left to move
    stored = keys(s3_env, bucket, "team/store/packs/")
    assert stored and all(k.endswith((".pack", ".idx")) for k in stored)
    # the remote keeps the three versions deduplicated: far less than three copies
    assert sum(o["Size"] for o in stored.values()) < 1.5 * len(versions[0][0])
    assert "verified on remote origin" in repo("fsck", "--remote", "origin")

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.root), str(clone))
    other = Cli(clone, capsys)
    for i, (text, blob) in enumerate(versions):
        git(clone, "checkout", "-q", f"v{i}")
        other("pull")
        assert (clone / "data" / "text.txt").read_bytes() == text
        assert (clone / "data" / "blob.bin").read_bytes() == blob
    # reading an old revision fetches what the cache lacks from S3
    third = tmp_path / "third"
    git(tmp_path, "clone", "-q", str(repo.root), str(third))
    old = os.getcwd()
    os.chdir(third)
    try:
        with cairn.data.open("data/text.txt", rev="v0") as f:
            assert f.read() == versions[0][0]
    finally:
        os.chdir(old)


def test_credentials_are_never_written_to_the_repository(repo, bucket, s3_env):
    repo("remote", "add", "origin", f"s3://{bucket}/p", "--endpoint-url", s3_env.endpoint,
         "--region", "us-east-1")
    make_text(repo.root / "t.txt", 1000, 1)
    repo("add", "t.txt")
    commit(repo, "t")
    out = repo("push")
    for folder in (repo.root / ".cairn", repo.root):
        for p in folder.rglob("*"):
            if p.is_file() and ".git/objects" not in str(p) and p.stat().st_size < 10 << 20:
                assert s3_env.secret.encode() not in p.read_bytes(), p
    assert s3_env.secret not in out
    listed = repo("remote")
    assert f"s3://{bucket}/p" in listed and s3_env.secret not in listed


def test_large_packs_go_up_as_multipart_uploads(repo, bucket, s3_env):
    (repo.root / "big.bin").write_bytes(os.urandom(40 << 20))
    repo("add", "big.bin")
    commit(repo, "big")
    repo("remote", "add", "origin", f"s3://{bucket}/m")
    repo("push")
    packs = [o for k, o in keys(s3_env, bucket, "m/packs/").items() if k.endswith(".pack")]
    assert len(packs) == 1 and packs[0]["Size"] > 40 << 20
    # an S3 multipart upload's ETag is "<md5 of the part md5s>-<number of parts>"
    assert packs[0]["ETag"].strip('"').rsplit("-", 1)[1].isdigit()


def _big_repo(repo, bucket):
    repo("remote", "add", "origin", f"s3://{bucket}/r")
    data = repo.root / "data"
    data.mkdir()
    for i in range(3):
        (data / f"part{i}.bin").write_bytes(os.urandom(45 << 20))
    repo("add", "data")
    commit(repo, "data")


def _push_until_a_pack_lands(repo, server, bucket) -> subprocess.Popen:
    """Starts `cairn push` and stops the server once the first pack is complete on it."""
    proc = subprocess.Popen([sys.executable, "-m", "cairn", "-q", "push"], cwd=repo.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(k.endswith(".idx") for k in keys(server, bucket, "r/packs/")):
            server.stop()
            return proc
        time.sleep(0.05)
    proc.kill()
    proc.communicate()
    raise AssertionError("push finished before the server could be stopped")


def _check_round_trip(repo, tmp_path, capsys):
    assert "verified on remote origin" in repo("fsck", "--remote", "origin")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.root), str(clone))
    Cli(clone, capsys)("pull")
    for i in range(3):
        name = f"data/part{i}.bin"
        assert (clone / name).read_bytes() == (repo.root / name).read_bytes()


def test_server_restarted_while_push_retries_push_completes(repo, bucket, s3_env, tmp_path,
                                                            capsys, monkeypatch):
    # Enough retries to span the stop and the server's restart on a busy machine (the
    # default, 6 attempts, backs off for 0.8-1.6 s in all; 10 attempts for 8-16 s).
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "10")
    _big_repo(repo, bucket)
    proc = _push_until_a_pack_lands(repo, s3_env, bucket)
    try:
        time.sleep(1.0)  # requests fail meanwhile; the push backs off and retries
    finally:
        s3_env.start()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    _check_round_trip(repo, tmp_path, capsys)


def test_server_stopped_mid_push_then_restarted_rerun_completes(repo, bucket, s3_env, tmp_path,
                                                                capsys, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # give up quickly
    _big_repo(repo, bucket)
    proc = _push_until_a_pack_lands(repo, s3_env, bucket)
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        s3_env.start()
    assert proc.returncode != 0
    assert f"push to origin (s3://{bucket}/r) stopped" in err and "run `cairn push` again" in err
    assert s3_env.secret not in err
    listed = keys(s3_env, bucket, "r/packs/")
    # every index on the server names a complete pack: nothing half-written is visible
    assert all(k[:-4] + ".pack" in listed for k in listed if k.endswith(".idx"))
    assert "already there" in repo("push")
    _check_round_trip(repo, tmp_path, capsys)


def test_remote_gc_drops_only_unreferenced_objects(repo, bucket, s3_env, tmp_path, capsys):
    repo("remote", "add", "origin", f"s3://{bucket}/g")
    keep = make_text(repo.root / "keep.txt", 20_000, 1)
    repo("add", "keep.txt")
    commit(repo, "keep")
    repo("push")
    make_text(repo.root / "scratch.txt", 20_000, 2)
    repo("add", "scratch.txt")
    repo("push")  # pushed, but its pointer is never committed
    (repo.root / "scratch.txt.cairn").unlink()
    (repo.root / "scratch.txt").unlink()
    repo.git("checkout", "--", ".gitignore")
    before = sum(o["Size"] for o in keys(s3_env, bucket, "g/packs/").values())
    assert "would drop" in repo("gc", "--remote", "origin")
    assert "remote origin: dropped" in repo("gc", "--remote", "origin", "--force")
    after = sum(o["Size"] for o in keys(s3_env, bucket, "g/packs/").values())
    assert after < 0.7 * before
    assert "verified on remote origin" in repo("fsck", "--remote", "origin")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.root), str(clone))
    Cli(clone, capsys)("pull")
    assert (clone / "keep.txt").read_bytes() == keep


def test_remote_gc_removes_a_pack_whose_index_never_arrived(repo, bucket, s3_env, monkeypatch):
    from cairn.data import remote_leftovers

    repo("remote", "add", "origin", f"s3://{bucket}/s")
    make_text(repo.root / "k.txt", 5_000, 3)
    repo("add", "k.txt")
    commit(repo, "k")
    repo("push")
    orphan = "s/packs/pack-" + "0" * 64 + ".pack"  # as a push killed between its uploads
    s3_env.client().put_object(Bucket=bucket, Key=orphan, Body=b"partial")
    assert "1 file(s) on remote origin left by killed pushes" in repo("fsck", "--remote",
                                                                      "origin")
    repo("gc", "--remote", "origin", "--force")
    assert orphan in keys(s3_env, bucket, "s/packs/")  # young: maybe a push in progress
    monkeypatch.setattr(remote_leftovers, "STALE_AFTER", -60.0)
    repo("gc", "--remote", "origin", "--force")
    left = keys(s3_env, bucket, "s/packs/")
    assert orphan not in left and len(left) == 2  # the real pack and its index stay
    assert "verified on remote origin" in repo("fsck", "--remote", "origin")


def test_busy_server_answering_503_is_retried_with_backoff(repo, bucket, s3_env, tmp_path,
                                                           capsys, monkeypatch):
    from flaky_proxy import FlakyProxy

    proxy = FlakyProxy(("127.0.0.1", int(s3_env.endpoint.rsplit(":", 1)[1])), every=4)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
        # plain Content-Length uploads, which this small proxy understands
        monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
        repo("remote", "add", "origin", f"s3://{bucket}/busy")
        data = repo.root / "data"
        for i in range(3):
            make_text(data / f"t{i}.txt", 30_000, i)
        (data / "big.bin").write_bytes(os.urandom(12 << 20))
        repo("add", "data")
        commit(repo, "data")
        assert "pushed to origin" in repo("push")
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(repo.root), str(clone))
        Cli(clone, capsys)("pull")
        for p in sorted(data.iterdir()):
            assert (clone / "data" / p.name).read_bytes() == p.read_bytes()
        import cairn.bag as cb

        words = cb.read_text(f"{clone}/data/t*.txt").count().compute()
        assert words == 90_000
        assert proxy.failed >= 3 and proxy.forwarded > proxy.failed
    finally:
        proxy.close()


def test_a_hung_request_times_out_and_is_retried(s3_env, bucket, monkeypatch):
    """A GET that the server never answers (the proxy holds it for 20 s) is given up after
    the client's timeout and sent again; the read completes long before the 20 s."""
    from flaky_proxy import FlakyProxy

    import cairn.bag as cb

    for i in range(3):
        s3_env.client().put_object(Bucket=bucket, Key=f"h/t{i}.txt", Body=b"a b c\n" * 10_000)
    proxy = FlakyProxy(("127.0.0.1", int(s3_env.endpoint.rsplit(":", 1)[1])), every=0,
                       stall_every=4, stall=20)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
        start = time.monotonic()
        assert cb.read_text(f"s3://{bucket}/h/*.txt").count().compute() == 30_000
        assert proxy.stalled >= 1 and time.monotonic() - start < 15
    finally:
        proxy.close()



def _open_uploads(server, bucket: str) -> list[dict]:
    return server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


@pytest.mark.parametrize("interrupted", [False, True], ids=["stalled", "ctrl-c"])
def test_push_whose_part_uploads_stall_leaves_no_multipart_upload_open(
        repo, bucket, s3_env, monkeypatch, interrupted):
    """The proxy holds every part upload (PUT ...?partNumber=) for 30 s: each times out and
    the retries run out (or Ctrl-C comes while they wait). The push stops, and the multipart
    upload it began is aborted, not left open on the server (S3 bills its parts until then).
    Arrow's stream counts as closed once its Close has failed, so an Abort after that did
    nothing; the parts are now awaited before Close. The rerun, straight to the server,
    completes."""
    from flaky_proxy import FlakyProxy

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    repo("remote", "add", "origin", f"s3://{bucket}/stall")
    (repo.root / "big.bin").write_bytes(os.urandom(30 << 20))
    repo("add", "big.bin")
    commit(repo, "big")
    proxy = FlakyProxy(("127.0.0.1", int(s3_env.endpoint.rsplit(":", 1)[1])), every=0,
                       stall=30, stall_if=lambda method, path: method == "PUT"
                       and "partNumber=" in path)
    try:
        env = dict(os.environ, AWS_ENDPOINT_URL=proxy.endpoint)
        proc = subprocess.Popen([sys.executable, "-m", "cairn", "-q", "push"], cwd=repo.root,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        if interrupted:
            deadline = time.monotonic() + 60
            while not proxy.stalled and time.monotonic() < deadline:
                time.sleep(0.05)
            assert proxy.stalled, "the push sent no part"
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == (130 if interrupted else 2), err
        if not interrupted:
            assert "run `cairn push` again" in err
    finally:
        proxy.close()
    assert _open_uploads(s3_env, bucket) == []
    assert not [k for k in keys(s3_env, bucket, "stall/") if k.endswith(".idx")]
    assert "pushed to origin" in repo("push")
    assert _open_uploads(s3_env, bucket) == []
    assert "verified on remote origin" in repo("fsck", "--remote", "origin")
