"""read_text and to_textfiles on s3:// URLs, against the local S3 server."""

from __future__ import annotations

import gzip

import pytest

import cairn.bag as cb

LINES = [f"line {i} alpha beta\n" for i in range(2000)]


def put(server, bucket, key, data: bytes) -> None:
    server.client().put_object(Bucket=bucket, Key=key, Body=data)


def test_read_text_round_trip_matches_local(s3_env, bucket, tmp_path, scheduler):
    data = "".join(LINES).encode()
    put(s3_env, bucket, "corpus/a.txt", data)
    put(s3_env, bucket, "corpus/b.txt.gz", gzip.compress(data))
    (tmp_path / "a.txt").write_bytes(data)
    local = cb.read_text(str(tmp_path / "a.txt"), blocksize=5000)
    remote = cb.read_text(f"s3://{bucket}/corpus/a.txt", blocksize=5000)
    assert remote.npartitions == local.npartitions > 1
    assert remote.compute() == local.compute() == LINES
    both = cb.read_text(f"s3://{bucket}/corpus/*")
    assert both.npartitions == 2
    assert both.compute() == LINES + LINES
    # a Python step: under processes the S3 scan runs in the worker, from its recipe
    assert remote.map(str.upper).compute() == [line.upper() for line in LINES]
    words = remote.str.split().flatten().frequencies().compute()
    assert dict(words)["alpha"] == len(LINES)


def test_python_path_reads_s3_too(s3_env, bucket):
    put(s3_env, bucket, "x.txt", b"a\r\nb\r\nc")
    b = cb.read_text(f"s3://{bucket}/x.txt", include_path=True, blocksize=2)
    assert b.compute() == [("a\n", f"s3://{bucket}/x.txt"), ("b\n", f"s3://{bucket}/x.txt"),
                           ("c", f"s3://{bucket}/x.txt")]
    assert cb.read_text(f"s3://{bucket}/x.txt", encoding="latin-1").compute() == [
        "a\n", "b\n", "c"]


def test_storage_options_override_the_environment(s3_env, bucket, monkeypatch):
    put(s3_env, bucket, "k.txt", b"hello\n")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
    options = s3_env.options()
    assert cb.read_text(f"s3://{bucket}/k.txt", storage_options=options).compute() == ["hello\n"]
    with pytest.raises(PermissionError) as info:
        cb.read_text(f"s3://{bucket}/k.txt").compute()
    assert "wrong-secret-value" not in str(info.value)


def test_to_textfiles_writes_objects(s3_env, bucket):
    b = cb.from_sequence([f"w{i}" for i in range(10)], npartitions=3)
    paths = b.to_textfiles(f"s3://{bucket}/out/*.txt.gz")
    assert paths == [f"s3://{bucket}/out/{i}.txt.gz" for i in range(3)]
    back = cb.read_text(f"s3://{bucket}/out/*.txt.gz").map(str.strip).compute()
    assert back == [f"w{i}" for i in range(10)]
    body = s3_env.client().get_object(Bucket=bucket, Key="out/0.txt.gz")["Body"].read()
    assert gzip.decompress(body).startswith(b"w0\nw1")


def test_a_big_block_read_in_concurrent_pieces_matches_local(s3_env, bucket, tmp_path):
    line = b"".join(b"word%d " % i for i in range(40)) + b"\n"
    data = line * (45 * 2**20 // len(line)) + b"no newline at the end"
    (tmp_path / "big.txt").write_bytes(data)
    put(s3_env, bucket, "big.txt", data)
    local = cb.read_text(str(tmp_path / "big.txt"), blocksize="40MiB")
    remote = cb.read_text(f"s3://{bucket}/big.txt", blocksize="40MiB")
    assert remote.npartitions == local.npartitions == 1
    assert remote.count().compute() == local.count().compute()
    assert remote.str.split().flatten().frequencies().compute() == \
        local.str.split().flatten().frequencies().compute()
    halves = cb.read_text(f"s3://{bucket}/big.txt", blocksize="20MiB")
    assert halves.npartitions == 2
    assert halves.map(len).sum().compute() == len(data.decode())
