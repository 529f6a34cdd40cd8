"""The store part of the cairn demo: a text corpus versioned beside git, pushed, cloned.

Run from demo.py (step [7]) or alone: ``python examples/demo_store.py CORPUS_FOLDER``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import cairn
from cairn import cli


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _cairn(cwd: Path, *args: str) -> float:
    """Runs `cairn ARGS` in cwd as a user would type it; prints its output and the time."""
    print(f"  $ cairn {' '.join(args)}")
    old = os.getcwd()
    os.chdir(cwd)
    t0 = time.perf_counter()
    try:
        code = cli.main(["-q", *args])
    finally:
        os.chdir(old)
    if code != 0:
        raise SystemExit(f"cairn {' '.join(args)} failed with exit code {code}")
    return time.perf_counter() - t0


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def demo_store(corpus: Path, tmpdir: Path) -> None:
    work, remote, clone = tmpdir / "project", tmpdir / "remote", tmpdir / "clone"
    work.mkdir()
    _git(work, "init", "-q", "-b", "main")
    _git(work, "config", "user.email", "demo@example.com")
    _git(work, "config", "user.name", "cairn demo")
    data = work / "data"
    data.mkdir()
    for p in sorted(corpus.glob("*.txt")):
        if _same_device(p, data):
            os.link(p, data / p.name)  # no copy; v2 replaces its file instead of editing it
        else:
            (data / p.name).write_bytes(p.read_bytes())
    raw = _size(data)
    print(f"\n[7] the corpus versioned beside git ({raw / 2**20:.0f} MiB in "
          f"{len(list(data.iterdir()))} files), pushed to a remote, cloned and pulled")
    _cairn(work, "init")
    _cairn(work, "remote", "add", "origin", str(remote))
    t_add = _cairn(work, "add", "data")
    _git(work, "add", "-A")
    _git(work, "commit", "-qm", "corpus v1")
    _git(work, "tag", "v1")
    packs = work / ".cairn" / "cache" / "packs"
    print(f"  -> add v1 at {raw / t_add / 2**20:.0f} MiB/s: new data goes into the cache raw, "
          "and a compaction that add starts in the background compresses it")
    t_compact = _cairn(work, "compact")  # waits for the background compaction
    print(f"  -> `cairn compact` waited {t_compact:.2f} s for it: v1 takes "
          f"{_size(packs) / 2**20:.0f} MiB in the cache")
    # v2: a few lines inserted in the middle of one file (a new file, not the hard link)
    first = sorted(data.iterdir())[0]
    text = first.read_bytes()
    middle = text.index(b"\n", len(text) // 2) + 1
    first.unlink()
    first.write_bytes(text[:middle] + b"a few new lines\ninserted in the middle\n" + text[middle:])
    t_add2 = _cairn(work, "add", "data")
    _git(work, "commit", "-qam", "corpus v2")
    _cairn(work, "compact")
    cache = _size(packs)
    print(f"  -> add v2 (one file edited; files whose stat did not change are not read "
          f"again, only new chunks are stored) at "
          f"{raw / t_add2 / 2**20:.0f} MiB/s; both versions take {cache / 2**20:.0f} MiB "
          f"({cache / raw:.2f}x one raw copy)")
    t_push = _cairn(work, "push", "--all-commits")  # every version, not just the checked-out one
    print(f"  -> pushed {_size(remote) / 2**20:.0f} MiB in {t_push:.2f} s")
    _git(tmpdir, "clone", "-q", str(work), str(clone))
    t_pull = _cairn(clone, "pull")
    same = _digest(clone / "data") == _digest(data)
    print(f"  -> clone + pull in {t_pull:.2f} s; files byte-identical: {same}")
    assert same, "the pulled data differs from the original"
    os.chdir(clone)
    try:
        t0 = time.perf_counter()
        v1, v2 = cairn.compute(
            cairn.read_text("data/*.txt", rev="v1").str.split().flatten().count(),
            cairn.read_text("data/*.txt", rev="main").str.split().flatten().count())
        print(f"  -> words at v1 {v1:,}, at main {v2:,} (read_text(rev=...) over the store, "
              f"{time.perf_counter() - t0:.2f} s)")
        assert v2 == v1 + 8, "the inserted lines hold 8 words"
    finally:
        os.chdir(tmpdir)
    _cairn(clone, "fsck")


def _same_device(a: Path, folder: Path) -> bool:
    return a.stat().st_dev == folder.stat().st_dev


if __name__ == "__main__":
    import tempfile

    demo_store(Path(sys.argv[1]), Path(tempfile.mkdtemp(prefix="cairn-demo-store-")))
