"""cairn demo: real task graphs on generated data, with results and timings.

Run with ``./dev demo`` (or ``python examples/demo.py [--small]`` once cairn is installed).
Each step prints what it computed and how long it took; where Dask is installed the same
work runs on Dask's threaded scheduler beside it.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import time
from typing import Any, Callable

import numpy as np

import cairn
from cairn import delayed


def timed(label: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t0
    print(f"  {label:<44} {elapsed:8.3f} s")
    return result, elapsed


# --- 1. numeric: statistics over a generated dataset, partition by partition -------------
def make_partition(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.lognormal(mean=1.0, sigma=0.75, size=n)


def partition_stats(x: np.ndarray) -> tuple[int, float, float, np.ndarray]:
    hist, _ = np.histogram(np.log(x), bins=40, range=(-3.0, 5.0))
    return x.size, float(x.sum()), float(np.square(x).sum()), hist


def combine(parts: list) -> tuple[int, float, float, np.ndarray]:
    n = sum(p[0] for p in parts)
    return n, sum(p[1] for p in parts), sum(p[2] for p in parts), sum(p[3] for p in parts)


def stats_graph(dlayed: Callable, partitions: int, rows: int) -> Any:
    parts = [dlayed(partition_stats)(dlayed(make_partition)(i, rows)) for i in range(partitions)]
    while len(parts) > 1:  # tree reduction, 4 at a time
        parts = [dlayed(combine)(parts[i:i + 4]) for i in range(0, len(parts), 4)]
    return parts[0]


def demo_numeric(partitions: int, rows: int, dask: Any) -> None:
    gb = partitions * rows * 8 / 1e9
    print(f"\n[1] statistics of {partitions * rows:,} generated values ({gb:.1f} GB in "
          f"{partitions} partitions, never all in memory)")
    graph = stats_graph(delayed, partitions, rows)
    with cairn.ProgressBar(minimum=1.0):
        (n, s, sq, hist), t_cairn = timed("cairn threads", graph.compute)
    _, t_sync = timed("cairn sync (one thread)", lambda: graph.compute(scheduler="sync"))
    if dask is not None:
        dgraph = stats_graph(dask.delayed, partitions, rows)
        (dn, ds, _, _), t_dask = timed("dask threaded", lambda: dgraph.compute(scheduler="threads"))
        assert dn == n and abs(ds - s) <= 1e-6 * abs(s)
    mean = s / n
    std = (sq / n - mean * mean) ** 0.5
    print(f"  n={n:,} mean={mean:.4f} std={std:.4f}  (lognormal(1, 0.75): mean "
          f"{np.exp(1 + 0.75 ** 2 / 2):.4f})")
    peak = int(np.argmax(hist))
    print(f"  histogram peak at log(x) in [{-3 + peak * 0.2:.1f}, {-3 + (peak + 1) * 0.2:.1f})")
    print(f"  speed-up of threads over one thread: {t_sync / t_cairn:.2f}x on {os.cpu_count()} cores")


# --- 2. text: word frequencies of a generated corpus ----------------------------------
VOCAB = [w for w in (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when "
    "data model text corpus token parse graph task cairn dask bag store version remote "
    "cluster worker thread process memory result error value word count frequency"
).split()]


def make_lines(seed: int, n_lines: int) -> list[str]:
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) for rank in range(len(VOCAB))]  # Zipf-like
    return [" ".join(rng.choices(VOCAB, weights, k=rng.randint(5, 15))) for _ in range(n_lines)]


def count_words(lines: list[str]) -> collections.Counter:
    c: collections.Counter = collections.Counter()
    for line in lines:
        c.update(line.split())
    return c


def merge_counts(counters: list) -> collections.Counter:
    total: collections.Counter = collections.Counter()
    for c in counters:
        total.update(c)
    return total


def demo_text(partitions: int, lines: int) -> None:
    print(f"\n[2] word frequencies of a generated corpus ({partitions * lines:,} lines, "
          f"{partitions} partitions; pure-Python tasks)")
    counts = [delayed(count_words)(delayed(make_lines)(i, lines)) for i in range(partitions)]
    total = delayed(merge_counts)(counts)
    top = delayed(lambda c: c.most_common(5))(total)
    (result, words), _ = timed("cairn threads", lambda: cairn.compute(top, total))
    expected = merge_counts([count_words(make_lines(i, lines)) for i in range(partitions)])
    assert words == expected, "cairn's result differs from plain Python"
    print(f"  {sum(words.values()):,} words; top 5: " + ", ".join(f"{w}={c:,}" for w, c in result))
    print("  (identical to a plain sequential Python run)")


# --- 3. scheduler overhead: 100k tiny Python tasks ------------------------------------
def inc(x: int) -> int:
    return x + 1


def demo_overhead(n: int, dask: Any) -> None:
    print(f"\n[3] scheduler overhead: {n:,} tiny Python tasks + one sum (same dict graph)")
    dsk: dict = {("inc", i): (inc, i) for i in range(n)}
    dsk["total"] = (sum, [("inc", i) for i in range(n)])
    expected = sum(range(1, n + 1))
    r, t_cairn = timed("cairn threads", lambda: cairn.get(dsk, "total"))
    assert r == expected
    print(f"  -> {t_cairn / (n + 1) * 1e6:.2f} us per task")
    if dask is not None:
        import dask.threaded

        r, t_dask = timed("dask threaded", lambda: dask.threaded.get(dsk, "total"))
        assert r == expected
        print(f"  -> {t_dask / (n + 1) * 1e6:.2f} us per task; cairn is {t_dask / t_cairn:.0f}x lower")
    xs = [delayed(inc)(i) for i in range(n)]
    r, _ = timed("cairn.delayed: build + compute", lambda: delayed(sum)(xs).compute())
    assert r == expected


def demo_native(n: int) -> None:
    print(f"\n[4] {n:,} empty native (C++) tasks, GIL released")
    for workers in (1, 2):
        t = cairn._core.run_synthetic_graph("wide", n, 1000, workers)
        print(f"  {workers} worker(s): build {t['build_s']:.3f} s, plan {t['plan_s']:.3f} s, "
              f"run {t['run_s']:.3f} s -> {t['nodes'] / t['run_s'] / 1e6:.2f} M tasks/s")


# --- 5. corpus statistics with Bag (native text path) --------------------------------------
def demo_bag(tmpdir: str, total_mb: float, dask: Any) -> None:
    import cairn.bag as cb
    from cairn.datasets import zipf_corpus

    folder = os.path.join(tmpdir, "corpus")
    (paths, _) = timed(f"generate a {total_mb:.0f} MiB Zipf corpus (4 files)",
                       lambda: zipf_corpus(folder, total_mb=total_mb, files=4))
    mb = sum(os.path.getsize(p) for p in paths) / 2**20
    print(f"\n[5] corpus statistics with cairn.bag over {mb:.0f} MiB of text (native path)")
    pattern = os.path.join(folder, "*.txt")
    lines = cb.read_text(pattern, blocksize="16MiB")
    words = lines.str.lower().str.split().flatten()
    top, t_words = timed("top 10 words (lower, split, frequencies)",
                         lambda: words.frequencies().topk(10, key=1).compute())
    print(f"  -> {mb / t_words:.0f} MiB/s: " + ", ".join(f"{w}={c:,}" for w, c in top[:5]) + " ...")
    bigrams = lines.str.lower().str.split().ngrams(2).flatten().frequencies().topk(5, key=1)
    top2, t_bi = timed("top 5 bigrams", bigrams.compute)
    print("  -> " + ", ".join(f"'{w}'={c:,}" for w, c in top2))
    (n_words, n_distinct, n_lines), _ = timed(
        "words, distinct words, lines (3 scans, one compute)",
        lambda: cairn.compute(words.count(), words.distinct().count(), lines.count()))
    print(f"  -> {n_words:,} words, {n_distinct:,} distinct, {n_lines:,} lines")
    if dask is not None:
        import dask.bag as db

        sample = paths[:1]
        sample_mb = os.path.getsize(sample[0]) / 2**20
        d_top, t_dask = timed(f"dask.bag on one file ({sample_mb:.0f} MiB), threads",
                              lambda: db.read_text(sample[0], blocksize=16 * 2**20).str.lower()
                              .str.split().flatten().frequencies().topk(10, key=1)
                              .compute(scheduler="threads"))
        c_top, t_c = timed("cairn.bag on the same file",
                           lambda: cb.read_text(sample[0], blocksize="16MiB").str.lower()
                           .str.split().flatten().frequencies().topk(10, key=1).compute())
        assert list(d_top) == list(c_top), "cairn and dask disagree"
        print(f"  -> same top 10 as dask; cairn {t_dask / t_c:.0f}x faster on this file")


# --- 6. errors and graphs -----------------------------------------------------------------
def parse_record(text: str) -> int:
    return int(text)


def demo_errors_and_graph(tmpdir: str) -> None:
    print("\n[6] a failing task: the original exception, raised once, dependents cancelled")
    records = [delayed(parse_record)(t) for t in ["1", "2", "three", "4"]]
    try:
        delayed(sum)(records).compute()
    except ValueError as e:
        import traceback

        frames = [f.name for f in traceback.extract_tb(e.__traceback__)]
        print(f"  ValueError: {e}  (traceback reaches {frames[-1]!r} in the task)")
    path = os.path.join(tmpdir, "demo-graph.svg")
    try:
        cairn.visualize(delayed(sum)(records[:2] + [delayed(inc)(1)]), filename=path)
        print(f"  graph drawn to {path}")
    except RuntimeError as e:
        print(f"  (graph not drawn: {e})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="a quick run on less data")
    args = parser.parse_args(argv)
    try:
        import dask
    except ImportError:
        dask = None
    print(f"cairn {cairn.__version__} on {os.cpu_count()} cores, Python {sys.version.split()[0]}"
          + (f", dask {dask.__version__}" if dask else ""))
    t0 = time.perf_counter()
    small = args.small
    demo_numeric(partitions=16 if small else 64, rows=500_000 if small else 2_000_000, dask=dask)
    demo_text(partitions=8, lines=5_000 if small else 40_000)
    demo_overhead(10_000 if small else 100_000, dask)
    demo_native(100_000 if small else 1_000_000)
    import shutil
    import tempfile

    tmpdir = tempfile.mkdtemp(prefix="cairn-demo-")
    try:
        demo_bag(tmpdir, 32 if small else 256, dask)
        demo_errors_and_graph(tmpdir)
        from pathlib import Path

        from demo_cluster import demo_cluster
        from demo_processes import demo_processes
        from demo_s3 import demo_s3
        from demo_store import demo_store

        demo_store(Path(tmpdir) / "corpus", Path(tmpdir))
        demo_processes(Path(tmpdir) / "corpus")
        demo_s3(Path(tmpdir) / "corpus", Path(tmpdir) / "project", Path(tmpdir))
        demo_cluster(Path(tmpdir) / "corpus", Path(tmpdir) / "project")
    finally:
        for name in ("corpus", "project", "remote", "clone", "clone-s3", "s3-data"):
            shutil.rmtree(os.path.join(tmpdir, name), ignore_errors=True)
    print(f"\ndemo finished in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
