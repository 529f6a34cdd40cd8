"""S3 listing at scale and the errors a user meets: missing bucket or key, wrong
credentials (never echoed), bad URLs and options."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import cairn.bag as cb
import cairn.data
from cairn.filesystems import S3Options


def test_listing_more_than_a_thousand_keys(s3_env, bucket):
    client = s3_env.client()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"many/{i:05d}.txt",
                                                  Body=f"{i}\n".encode()), range(1100)))
    client.put_object(Bucket=bucket, Key="many/sub/deep.txt", Body=b"deep\n")
    b = cb.read_text(f"s3://{bucket}/many/*.txt", files_per_partition=100)
    assert b.npartitions == 11  # 1100 files; '*' does not descend into many/sub/
    assert sorted(int(x) for x in b.compute()) == list(range(1100))
    deep = cb.read_text(f"s3://{bucket}/many/**/*.txt", files_per_partition=500)
    assert deep.npartitions == 3  # 1101 files: '**' does
    last = deep.to_delayed()[2].compute()  # keys sorted: many/sub/deep.txt comes last
    assert len(last) == 101 and last[-1] == "deep\n"


def test_missing_bucket_key_and_glob_get_clear_errors(s3_env, bucket):
    with pytest.raises(FileNotFoundError, match="bucket 'no-such-bucket-x' does not exist"):
        cb.read_text("s3://no-such-bucket-x/a.txt")
    with pytest.raises(FileNotFoundError, match=f"no such S3 object: 's3://{bucket}/nope.txt'"):
        cb.read_text(f"s3://{bucket}/nope.txt")
    with pytest.raises(ValueError, match="No files found matching"):
        cb.read_text(f"s3://{bucket}/nothing/*.txt")
    with pytest.raises(ValueError, match="not an S3 URL"):
        cb.read_text("s3:///a.txt")
    with pytest.raises(TypeError, match="unknown option 'secrett'"):
        cb.read_text(f"s3://{bucket}/a.txt", storage_options={"secrett": "x"})


def test_an_object_deleted_after_read_text_names_it(s3_env, bucket):
    s3_env.client().put_object(Bucket=bucket, Key="gone.txt", Body=b"a\nb\n")
    b = cb.read_text(f"s3://{bucket}/gone.txt")
    s3_env.client().delete_object(Bucket=bucket, Key="gone.txt")
    with pytest.raises(OSError, match="gone.txt"):
        b.compute()


def test_wrong_credentials_are_refused_and_never_echoed(s3_env, bucket, monkeypatch):
    s3_env.client().put_object(Bucket=bucket, Key="k.txt", Body=b"x\n")
    secret = "Wr0ngSecretValue+Do-Not-Print"
    bad = s3_env.options(secret=secret)
    with pytest.raises(PermissionError) as info:
        cb.read_text(f"s3://{bucket}/k.txt", storage_options=bad)
    assert "credentials" in str(info.value) and secret not in str(info.value)
    # the native reader in the engine refuses them too, naming the file, not the secret
    good = cb.read_text(f"s3://{bucket}/k.txt", storage_options=s3_env.options())
    assert good.compute() == ["x\n"]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    with pytest.raises(PermissionError) as info:
        cb.from_sequence(["a"]).to_textfiles(f"s3://{bucket}/out/*.txt")
    assert secret not in str(info.value)
    assert secret not in repr(S3Options.resolve())
    assert secret not in repr(cb.read_text(f"s3://{bucket}/k.txt",
                                           storage_options=s3_env.options()).dask)


@pytest.mark.parametrize("command", ["push", "fetch", "fsck", "gc"])
def test_a_missing_bucket_says_so_and_how_to_create_it_not_to_run_again(repo, s3_env, command):
    (repo.root / "f.txt").write_text("data\n" * 1000)
    repo("add", "f.txt")
    repo("remote", "add", "origin", "s3://no-such-bucket-z/p")
    out = repo(*([command] if command in ("push", "fetch") else [command, "-r", "origin"]),
               expect=2)
    assert "S3 bucket 'no-such-bucket-z' does not exist" in out
    assert "aws s3 mb s3://no-such-bucket-z" in out and "cairn remote remove origin" in out
    assert "again" not in out


def test_store_push_with_wrong_credentials_or_missing_bucket(repo, s3_env, bucket, monkeypatch):
    (repo.root / "f.txt").write_text("data\n" * 1000)
    repo("add", "f.txt")
    repo("remote", "add", "origin", "s3://no-such-bucket-y/p")
    out = repo("push", expect=2)
    assert "no-such-bucket-y" in out
    repo("remote", "remove", "origin")
    repo("remote", "add", "origin", f"s3://{bucket}/p")
    secret = "An0therWrongSecret"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    out = repo("push", expect=2)
    assert "credentials" in out and secret not in out and "again to resume" not in out
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_env.secret)
    assert "pushed to origin: " in repo("push")


def test_cairn_data_open_reads_an_s3_object(s3_env, bucket):
    s3_env.client().put_object(Bucket=bucket, Key="notes.txt", Body="héllo\nworld\n".encode())
    with cairn.data.open(f"s3://{bucket}/notes.txt") as f:
        assert f.read() == "héllo\nworld\n".encode()
    with cairn.data.open(f"s3://{bucket}/notes.txt", mode="r") as f:
        assert f.readlines() == ["héllo\n", "world\n"]
    assert cairn.data.read_bytes(f"s3://{bucket}/notes.txt") == "héllo\nworld\n".encode()
    with pytest.raises(FileNotFoundError, match="no such S3 object"):
        cairn.data.open(f"s3://{bucket}/missing.txt")
    with pytest.raises(ValueError, match="rev="):
        cairn.data.open(f"s3://{bucket}/notes.txt", rev="HEAD")
