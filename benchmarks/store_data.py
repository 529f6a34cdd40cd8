"""Data for benchmarks/store.py, generated once: Zipf text files and their edited versions,
a folder of small files, and .npy arrays with 1% of their values changed per version.
Each generator runs in a fresh process (harness.run_isolated) and returns SHA-256s."""

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness import run_isolated

MiB = 2**20
ROOT = Path(os.environ.get("CAIRN_BENCH_STORE", "/tmp/cairn-bench-store"))
VERSIONS = 5
INSERTED_LINES = 5


@dataclass(frozen=True)
class Plan:
    """Sizes: big file (MiB), small files (count), text and array versions (MiB)."""

    quick: bool
    big_mb: int
    files: int
    text_mb: int
    array_mb: int


QUICK, FULL = Plan(True, 64, 1_000, 20, 10), Plan(False, 1024, 10_000, 200, 100)


# --------------------------------------------------------------------------- data (children)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while block := f.read(8 * MiB):
            h.update(block)
    return h.hexdigest()


def gen_text(path: str, mb: float, seed: int) -> str:
    """One Zipf text file of about ``mb`` MiB; returns its SHA-256."""
    import cairn.datasets

    parts = path + ".parts"
    shutil.rmtree(parts, ignore_errors=True)
    [part] = cairn.datasets.zipf_corpus(parts, total_mb=mb, files=1, seed=seed)
    os.replace(part, path)
    shutil.rmtree(parts)
    return sha256_file(path)


def gen_inserted(src: str, dst: str, seed: int) -> str:
    """``src`` with INSERTED_LINES new lines at a line start near its middle; SHA-256."""
    import random

    rng = random.Random(seed)
    size = os.path.getsize(src)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fin.seek(int(size * rng.uniform(0.45, 0.55)))
        fin.readline()
        cut = fin.tell()
        fin.seek(0)
        left = cut
        while left and (block := fin.read(min(left, 8 * MiB))):
            fout.write(block)
            left -= len(block)
        for i in range(INSERTED_LINES):
            words = " ".join(f"w{rng.randrange(10**6)}" for _ in range(12))
            fout.write(f"inserted line {i} of edit {seed}: {words}\n".encode())
        shutil.copyfileobj(fin, fout, 8 * MiB)
    return sha256_file(dst)


def gen_arrays(folder: str, mb: int, seed: int, clustered: bool) -> list[str]:
    """VERSIONS .npy float64 arrays, each with 1% of the previous one's values replaced."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = mb * MiB // 8
    a = rng.standard_normal(n)
    hashes = []
    for k in range(1, VERSIONS + 1):
        if k > 1:
            m = n // 100
            if clustered:  # 10 runs of 0.1% each
                run = m // 10
                starts = rng.choice(n // run, 10, replace=False) * run
                idx = np.concatenate([np.arange(s, s + run) for s in starts])
            else:
                idx = rng.choice(n, m, replace=False)
            a[idx] = rng.standard_normal(len(idx))
        path = os.path.join(folder, f"v{k}.npy")
        np.save(path, a)
        hashes.append(sha256_file(path))
    return hashes


def gen_small_files(folder: str, n: int, source: str, seed: int) -> int:
    """``n`` files of 1-8 KiB cut from ``source``, in 100 subfolders; their total size."""
    import numpy as np

    sizes = np.random.default_rng(seed).integers(1024, 8193, n)
    with open(source, "rb") as f:
        for i, size in enumerate(sizes):
            os.makedirs(sub := os.path.join(folder, f"d{i % 100:02d}"), exist_ok=True)
            with open(os.path.join(sub, f"f{i:05d}.txt"), "wb") as out:
                out.write(f.read(int(size)))
    return int(sizes.sum())


def zstd1_size(path: str) -> tuple[int, str]:
    """Size of ``path`` compressed whole with zstd level 1 (pyarrow's libzstd)."""
    import pyarrow as pa

    data = Path(path).read_bytes()
    return len(pa.Codec("zstd", compression_level=1).compress(data, asbytes=True)), \
        f"pyarrow {pa.__version__}"


def ensure_data(plan: Plan) -> dict:
    """Generate the data once into ROOT/data/<plan> (each piece in a fresh process)."""
    folder = ROOT / "data" / f"{plan.big_mb}-{plan.files}-{plan.text_mb}-{plan.array_mb}"
    manifest = folder / "manifest.json"
    if manifest.exists():
        return json.loads(manifest.read_text())
    print(f"generating data in {folder} ...", flush=True)
    t0 = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    d: dict = {"folder": str(folder)}
    big, edited = str(folder / "big.txt"), str(folder / "big-edited.txt")
    d["big"] = [run_isolated(gen_text, big, plan.big_mb, 0).result,
                run_isolated(gen_inserted, big, edited, 1).result]
    d["small_bytes"] = run_isolated(gen_small_files, str(folder / "files"), plan.files,
                                     big, 2).result
    (folder / "text").mkdir()
    hashes = [run_isolated(gen_text, str(folder / "text" / "v1.txt"), plan.text_mb, 3).result]
    for k in range(2, VERSIONS + 1):
        hashes.append(run_isolated(gen_inserted, str(folder / "text" / f"v{k - 1}.txt"),
                                   str(folder / "text" / f"v{k}.txt"), 100 + k).result)
    d["text"] = hashes
    for name, clustered in (("array", False), ("array-clustered", True)):
        (folder / name).mkdir()
        d[name] = run_isolated(gen_arrays, str(folder / name), plan.array_mb, 4, clustered).result
    for name, first in (("text", "v1.txt"), ("array", "v1.npy"), ("array-clustered", "v1.npy")):
        d[f"{name}_zstd1"] = run_isolated(zstd1_size, str(folder / name / first)).result
    manifest.write_text(json.dumps(d, indent=1))
    print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    return d
