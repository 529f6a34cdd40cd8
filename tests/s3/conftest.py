"""An S3-compatible server (moto, in server mode on 127.0.0.1) for the S3 tests, started
once per test session, and a fresh bucket per test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))  # store_helpers: repos, the CLI
pytest.importorskip("moto", reason="the S3 tests need moto[server] (./dev test installs it)")


class S3Server:
    """The running server: its endpoint, a valid key pair, and stop/start for fault tests."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("moto_server.py"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError("the moto S3 server did not start (see its output above)")
        info = json.loads(line)
        self.endpoint = f"http://127.0.0.1:{info['port']}"
        self.key, self.secret = info["key"], info["secret"]

    def _command(self, word: str) -> None:
        self.process.stdin.write(word + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == word

    def stop(self) -> None:
        self._command("stop")

    def start(self) -> None:
        self._command("start")

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.key, aws_secret_access_key=self.secret)

    def options(self, **changes) -> dict:
        return {"key": self.key, "secret": self.secret, "endpoint_url": self.endpoint,
                "region": "us-east-1", **changes}

    def close(self) -> None:
        self.process.stdin.close()
        self.process.stdout.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server()
    yield server
    server.close()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """The AWS environment a user would set for this server (and nothing from the host's
    own AWS configuration; the instance metadata service is never asked)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    return s3_server


@pytest.fixture
def bucket(s3_env) -> str:
    """A new, empty bucket's name."""
    name = f"cairn-{uuid.uuid4().hex[:12]}"
    s3_env.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def repo(tmp_path, capsys):
    from store_helpers import Cli, new_repo

    root = tmp_path / "work"
    new_repo(root)
    c = Cli(root, capsys)
    c("init")
    return c
