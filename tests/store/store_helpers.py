"""Helpers for the store tests: real git repositories in temporary folders, the CLI."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from cairn import cli


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_text(path: Path, lines: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
    data = "".join(
        " ".join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(8)) + "\n"
        for _ in range(lines)
    ).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def commit_versions(repo, blob: str, blob_bytes: int, add_args: tuple, push) -> list:
    """Three tagged commits v0-v2 of data/text.txt (a line inserted mid-file each time after
    the first) and data/<blob>, added with `cairn add *add_args`, each followed by `push()`;
    returns every version's (text, blob) bytes."""
    path = repo.root / "data" / "text.txt"
    data = make_text(path, 40_000, 4)
    versions = []
    for i in range(3):
        if i:
            lines = data.split(b"\n")
            lines.insert(len(lines) // 2, f"inserted line {i}".encode())
            data = b"\n".join(lines)
            path.write_bytes(data)
        (repo.root / "data" / blob).write_bytes(os.urandom(blob_bytes) * (i + 1))
        repo("add", *add_args)
        repo.git("add", "-A")
        repo.git("commit", "-qm", f"v{i}")
        repo.git("tag", f"v{i}")
        versions.append((data, (repo.root / "data" / blob).read_bytes()))
        push()
    return versions


class Cli:
    """Runs `cairn` in-process in a folder and captures what it prints."""

    def __init__(self, root: Path, capsys):
        self.root = root
        self.capsys = capsys

    def __call__(self, *args, expect: int = 0) -> str:
        old = os.getcwd()
        os.chdir(self.root)
        try:
            code = cli.main(["-q", *args])
        finally:
            os.chdir(old)
        out, err = self.capsys.readouterr()
        assert code == expect, f"cairn {' '.join(args)} exited {code}:\n{out}\n{err}"
        return out + err

    def git(self, *args) -> str:
        return git(self.root, *args)


def run_cairn(cwd, *args, **kwargs) -> subprocess.CompletedProcess:
    """`cairn` in a separate process (for kills and concurrency)."""
    return subprocess.run([sys.executable, "-m", "cairn", "-q", *args], cwd=cwd,
                          capture_output=True, text=True, **kwargs)


def new_repo(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "cairn test")
    git(root, "config", "commit.gpgsign", "false")


@contextlib.contextmanager
def mounted_tmpfs(path: Path, size: str):
    """A tmpfs of `size` mounted at `path` (a small disk to fill, or another file system)
    while the block runs. Skips the test where mounting is not allowed."""
    path.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)
    if proc.returncode != 0:
        pytest.skip("needs permission to mount a tmpfs (root in a container)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def repo_on_small_disk(tmp_path: Path, capsys, size: str = "48m"):
    """A cairn repository on a tmpfs of `size`, to fill the disk on purpose; yields the
    mount point, the work tree and a Cli there."""
    with mounted_tmpfs(tmp_path / "small", size) as small:
        root = small / "work"
        new_repo(root)
        c = Cli(root, capsys)
        c("init")
        yield small, root, c
