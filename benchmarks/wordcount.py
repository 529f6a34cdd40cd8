"""Word count and bigram count: cairn.bag's native text path against Dask, joblib, plain
Python, PySpark and a hand-written C++ program, on the same files in the same run.

Workloads (top-20 of each, checked equal between all tools):

- **words**: ``read_text(...).str.split().flatten().frequencies().topk(20, key=1)``
- **bigrams**: the same with ``.str.split().ngrams(2).flatten()`` (``"w1 w2"`` strings of
  neighbouring words within a line; the other tools build the same strings per line with
  :func:`line_bigrams`).

Corpora (generated once into ``$CAIRN_BENCH_CORPUS``, default ``/tmp/cairn-bench-corpus``,
and reused):

1. **zipf**: ``cairn.datasets.zipf_corpus`` - 1 GiB in 8 files (50,000-word Zipf vocabulary,
   ASCII plus a few capitalised and ``é`` words);
2. **real**: English prose, the King James Bible as printed by Debian's ``bible-kjv``
   package (``bible -f gen1:1-rev22:21``, one verse a line, the verse references stripped;
   3.9 MiB, 31,102 lines), written 8 times into each of 8 files (253 MiB). Without the
   ``bible`` program (``apt-get install bible-kjv``) the text of Python's own documentation
   topics (``pydoc_data.topics``) is used instead, and the report says so.

Tools (each in a fresh subprocess, so every tool starts from the same state and reports its
own peak RSS; 2 workers wherever there is a choice):

- cairn native (threads, 2 workers, ``blocksize="64MiB"``);
- cairn with ``cairn.config.set({"bag.native": False})`` (its Python path);
- dask.bag with its default scheduler (processes) and with ``scheduler="threads"``;
- joblib (loky, 2 jobs) over the same 64 MiB blocks, a ``collections.Counter`` per block;
- plain Python: one ``collections.Counter`` over the lines of all files, one process;
- PySpark ``local[2]``: ``textFile -> flatMap -> map((w, 1)) -> reduceByKey -> takeOrdered``,
  JVM start-up excluded from the time (reported separately);
- ``reference/wordcount_ref.cc`` (mmap, 2 threads), compiled here, the whole process timed
  (words only: it has no bigram mode).

The files are read once before anything is timed, so every tool runs on page-cached files.
Slow tools (cairn's Python path) run on a subset (the first files of the corpus) and their
MiB/s is scaled to the whole corpus; the report says which. Zipf bigrams (24 million
distinct keys in 1 GiB) are counted by every tool on the first 2 files, and by cairn native
on all of them too. Answers are checked against cairn native run on the same files.

Also reported: cairn native's pipeline cut short at each step (where its time goes), its
peak RSS with 64 MiB and 16 MiB blocks (fresh processes), and for every row the CPU that
other processes used meanwhile (:class:`LoadMonitor`); before each tool the script waits
until no other process is busy.

Run ``python benchmarks/wordcount.py`` (``--quick``: a 64 MiB Zipf corpus and one copy of
the real text per file, 32 MiB, every tool on all files; about 4 minutes;
``--workloads zipf-bigrams``: a subset, reported in ``results/wordcount-zipf-bigrams.md``;
``--max-wait S``: wait at most S seconds for a quiet machine before each tool).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from subprocess import TimeoutExpired
from typing import Any

from harness import (BENCH_DIR, ChildFailed, Row, fmt_float, measure,
                     run_isolated, write_report)

MiB = 2**20
TOPK = 20
WORKERS = 2
BLOCKSIZE = 64 * MiB
CACHE_DIR = Path(os.environ.get("CAIRN_BENCH_CORPUS", "/tmp/cairn-bench-corpus"))
REF_SOURCE = BENCH_DIR / "reference" / "wordcount_ref.cc"

# Targets for cairn native word count on the Zipf corpus (this project's goals).
TARGET_VS_DASK = 10.0      # >= 10x faster than dask.bag with its default scheduler
TARGET_VS_SPARK = 5.0      # >= 5x faster than PySpark
TARGET_VS_REF = 0.75       # >= 0.75x the speed of the hand-written C++ program
# Targets for cairn native bigram count on the whole Zipf corpus (issue 15, item 9).
TARGET_BIGRAM_MIBS = 250.0
TARGET_BIGRAM_RSS_MB = 1500.0
WORKLOADS = ("zipf-words", "zipf-bigrams", "real-words", "real-bigrams")


# --------------------------------------------------------------------------- corpora


def _complete(folder: Path, files: int) -> list[str]:
    paths = sorted(glob.glob(str(folder / "*.txt")))
    return paths if len(paths) == files and (folder / "DONE").exists() else []


def zipf_files(total_mb: int, files: int, seed: int = 0) -> list[str]:
    """The Zipf corpus, generated on first use (about 25 MB/s) and cached."""
    folder = CACHE_DIR / f"zipf-{total_mb}mb-{files}files-seed{seed}"
    paths = _complete(folder, files)
    if paths:
        return paths
    import cairn.datasets

    print(f"generating {total_mb} MiB Zipf corpus in {folder} ...", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    cairn.datasets.zipf_corpus(str(folder), total_mb=total_mb, files=files, seed=seed)
    (folder / "DONE").write_text("ok\n")
    print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    return _complete(folder, files)


_VERSE_REF = re.compile(r"^\S*?\d+:\d+ ")


def real_text() -> tuple[str, str]:
    """(text, description) of the real English text: the KJV Bible, else Python's docs."""
    bible = shutil.which("bible")
    if bible:
        out = subprocess.run([bible, "-f", "gen1:1-rev22:21"], capture_output=True,
                             stdin=subprocess.DEVNULL, check=False).stdout
        lines = [_VERSE_REF.sub("", ln) for ln in out.decode("utf-8").splitlines()]
        text = "\n".join(ln for ln in lines if ln.strip()) + "\n"
        if len(lines) > 30_000 and len(text) > 4_000_000:
            return text, ("King James Bible (Debian package bible-kjv, `bible -f "
                          "gen1:1-rev22:21`, one verse a line, verse references stripped)")
    from pydoc_data.topics import topics  # always there: CPython's own documentation

    text = "\n".join(topics[k] for k in sorted(topics)) + "\n"
    return text, ("CPython documentation topics (`pydoc_data.topics`; the `bible` program "
                  "of Debian's bible-kjv package was not found)")


def real_files(total_mb: int, files: int) -> tuple[list[str], str]:
    """Real text replicated to about ``total_mb`` MiB in ``files`` files, cached."""
    folder = CACHE_DIR / f"real-{total_mb}mb-{files}files"
    paths = _complete(folder, files)
    if paths:
        return paths, (folder / "SOURCE").read_text(encoding="utf-8").strip()
    text, what = real_text()
    data = text.encode("utf-8")
    copies = max(1, round(total_mb * MiB / files / len(data)))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(files):
        with open(folder / f"part-{i:03d}.txt", "wb") as f:
            for _ in range(copies):
                f.write(data)
    desc = (f"{what}: {len(data) / MiB:.1f} MiB, {text.count(chr(10)):,} lines, "
            f"written {copies} time{'s' if copies > 1 else ''} into each of {files} files")
    (folder / "SOURCE").write_text(desc + "\n", encoding="utf-8")
    (folder / "DONE").write_text("ok\n")
    return _complete(folder, files), desc


def warm_cache(paths: list[str]) -> float:
    """Read every file once (so all tools run on page-cached data); returns seconds."""
    t0 = time.perf_counter()
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while f.read(16 * MiB):
                pass
    return time.perf_counter() - t0


def size_of(paths: list[str]) -> int:
    return sum(os.path.getsize(p) for p in paths)


# --------------------------------------------------------------------------- shared helpers


def line_bigrams(line: str) -> list[str]:
    """The bigrams of one line, as cairn's ``.str.split().ngrams(2)`` makes them."""
    w = line.split()
    return [a + " " + b for a, b in zip(w, w[1:])]


def _by_value() -> None:
    """Let workers unpickle this module's functions although they cannot import it.

    In a :func:`run_isolated` child this file is loaded as ``_bench_child_module``, which
    dask's, loky's and Spark's worker processes cannot import: its functions must be pickled
    by value. cloudpickle does that by itself for ``__main__`` and for modules missing from
    ``sys.modules`` (as in that child); a module that is registered must be marked.
    """
    module = sys.modules.get(__name__)
    if module is None or __name__ == "__main__":
        return
    for name in ("cloudpickle", "pyspark.cloudpickle"):
        try:
            cp = __import__(name, fromlist=["register_pickle_by_value"])
            cp.register_pickle_by_value(module)
        except Exception:  # noqa: BLE001 - that tool is then not used / not installed
            pass


def _top(pairs: Any) -> list[tuple[str, int]]:
    return [(str(k), int(v)) for k, v in pairs]


def blocks(paths: list[str], blocksize: int) -> list[tuple[str, int, int]]:
    """(path, offset, size) byte ranges of about ``blocksize``; lines are cut in
    :func:`read_block` (a line belongs to the block its first byte is in)."""
    out = []
    for p in paths:
        n = os.path.getsize(p)
        for off in range(0, max(n, 1), blocksize):
            out.append((p, off, min(blocksize, n - off)))
    return out


def read_block(path: str, offset: int, size: int) -> str:
    """The lines starting in ``[offset, offset + size)`` of a file, decoded."""
    import mmap

    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        n = len(mm)
        start = 0 if offset == 0 else mm.find(b"\n", offset - 1) + 1 or n
        stop = offset + size
        end = n if stop >= n else mm.find(b"\n", stop - 1) + 1 or n
        return mm[start:end].decode("utf-8")


def count_block(path: str, offset: int, size: int, mode: str) -> Counter:
    """A Counter of the words (or bigrams) of one block (joblib's task)."""
    text = read_block(path, offset, size)
    if mode == "words":
        return Counter(text.split())
    c: Counter = Counter()
    for line in text.split("\n"):
        c.update(line_bigrams(line))
    return c


# --------------------------------------------------------------------------- tools (children)


def _cairn_tokens(paths: list[str], mode: str, blocksize: Any = "64MiB") -> Any:
    import cairn.bag as cb

    lines = cb.read_text(paths, blocksize=blocksize)
    if mode == "words":
        return lines.str.split().flatten()
    return lines.str.split().ngrams(2).flatten()


def _cairn_bag(paths: list[str], mode: str, blocksize: Any = "64MiB") -> Any:
    return _cairn_tokens(paths, mode, blocksize).frequencies().topk(TOPK, key=1)


def _dask_bag(paths: list[str], mode: str) -> Any:
    import dask.bag as db

    lines = db.read_text(paths, blocksize=BLOCKSIZE)
    toks = lines.str.split().flatten() if mode == "words" else lines.map(line_bigrams).flatten()
    return toks.frequencies().topk(TOPK, key=1)


def _spark_context() -> Any:
    from pyspark import SparkConf, SparkContext

    conf = (SparkConf().setMaster(f"local[{WORKERS}]").setAppName("cairn-wordcount")
            .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.ui.enabled", "false").set("spark.driver.memory", "6g")
            .set("spark.python.worker.reuse", "true"))
    sc = SparkContext(conf=conf)
    sc.setLogLevel("ERROR")
    return sc


def run_tool(tool: str, paths: list[str], mode: str, repeat: int, budget_s: float) -> dict:
    """Run one tool ``repeat`` times (stopping after ``budget_s``) in this process.

    Returns
    -------
    dict
        ``times`` (seconds of each run), ``top`` (top-20 of the last run), ``extra``.
    """
    from operator import add

    _by_value()
    extra: dict[str, Any] = {}
    fn: Any
    if tool == "cairn native":
        import cairn

        with cairn.config.set({"bag.native": True}):
            if getattr(_cairn_tokens(paths, mode), "_native", None) is None:
                raise RuntimeError("cairn's pipeline is not native")

        def fn() -> Any:
            return _cairn_bag(paths, mode).compute(scheduler="threads", num_workers=WORKERS)
    elif tool == "cairn python path":
        import cairn

        def fn() -> Any:
            with cairn.config.set({"bag.native": False}):
                return _cairn_bag(paths, mode).compute(scheduler="threads",
                                                       num_workers=WORKERS)
    elif tool == "dask processes":
        def fn() -> Any:
            return _dask_bag(paths, mode).compute()  # dask.bag's default: processes
    elif tool == "dask threads":
        def fn() -> Any:
            return _dask_bag(paths, mode).compute(scheduler="threads", num_workers=WORKERS)
    elif tool == "joblib":
        from joblib import Parallel, delayed

        pool = Parallel(n_jobs=WORKERS, backend="loky", return_as="generator_unordered")

        def fn() -> Any:
            total: Counter = Counter()
            for c in pool(delayed(count_block)(p, o, s, mode)
                          for p, o, s in blocks(paths, BLOCKSIZE)):
                total.update(c)
            return total.most_common(TOPK)
    elif tool == "plain python":
        def fn() -> Any:
            c: Counter = Counter()
            for p in paths:
                with open(p, encoding="utf-8") as f:
                    if mode == "words":
                        for line in f:
                            c.update(line.split())
                    else:
                        for line in f:
                            c.update(line_bigrams(line))
            return c.most_common(TOPK)
    elif tool == "pyspark":
        t0 = time.perf_counter()
        sc = _spark_context()
        extra["startup_s"] = time.perf_counter() - t0
        files = ",".join(paths)
        split = str.split

        def fn() -> Any:
            rdd = sc.textFile(files)
            toks = rdd.flatMap(split) if mode == "words" else rdd.flatMap(line_bigrams)
            return (toks.map(lambda w: (w, 1)).reduceByKey(add)
                    .takeOrdered(TOPK, key=lambda kv: -kv[1]))
    else:
        raise ValueError(f"unknown tool {tool!r}")
    try:
        m = measure(fn, repeat=repeat, budget_s=budget_s)
    finally:
        if tool == "pyspark":
            sc.stop()
    return {"times": m.times_s, "top": _top(m.result), "extra": extra}


def cairn_native_once(paths: list[str], mode: str, blocksize: str) -> dict:
    """One cairn native run (for peak RSS in a fresh subprocess)."""
    t0 = time.perf_counter()
    top = _cairn_bag(paths, mode, blocksize).compute(scheduler="threads", num_workers=WORKERS)
    return {"time": time.perf_counter() - t0, "top": _top(top)}


STAGES = {
    "read_text(...).count(): read + cut lines": lambda L: L.count(),
    ".str.split().flatten().count(): + split into words": lambda L: L.str.split().flatten()
    .count(),
    ".str.split().flatten().frequencies().topk(20): + count words (the benchmark)":
        lambda L: L.str.split().flatten().frequencies().topk(TOPK, key=1),
    ".str.lower().str.split().flatten().frequencies().topk(20): + lower()":
        lambda L: L.str.lower().str.split().flatten().frequencies().topk(TOPK, key=1),
    ".str.split().ngrams(2).flatten().count(): bigram strings, not counted":
        lambda L: L.str.split().ngrams(2).flatten().count(),
}


def native_stages(paths: list[str], repeat: int = 3) -> dict:
    """Best time of each pipeline in :data:`STAGES` (cairn native, 2 workers)."""
    import cairn.bag as cb

    out = {}
    for label, make in STAGES.items():
        def fn(make: Any = make) -> Any:
            lines = cb.read_text(paths, blocksize="64MiB")
            return make(lines).compute(scheduler="threads", num_workers=WORKERS)
        m = measure(fn, repeat=repeat)
        out[label] = m.best_s
    return out


def import_only() -> dict:
    """Import cairn.bag and nothing else (baseline for peak RSS)."""
    import cairn.bag  # noqa: F401

    return {}


# --------------------------------------------------------------------------- C++ reference


def build_reference(tmp: str) -> str:
    exe = os.path.join(tmp, "wordcount_ref")
    subprocess.run(["g++", "-O3", "-std=c++20", "-pthread", str(REF_SOURCE), "-o", exe],
                   check=True)
    return exe


def run_reference(exe: str, paths: list[str], repeat: int) -> dict:
    times, top = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = subprocess.run([exe, str(WORKERS), str(TOPK), *paths], capture_output=True,
                             check=True).stdout
        times.append(time.perf_counter() - t0)
        top = [(w, int(c)) for w, c in (ln.rsplit("\t", 1) for ln in
                                         out.decode("utf-8").splitlines())]
    return {"times": times, "top": top, "extra": {}}


# --------------------------------------------------------------------------- checks


def same_top(a: list[tuple[str, int]], b: list[tuple[str, int]]) -> str:
    """'' if two top-k lists agree, else what differs.

    Counts must match exactly, position by position. Keys must match for every count above
    the smallest one in the list; among keys tied at that smallest count, the cut at k may
    pick different ones, so there only the counts are compared.
    """
    if [c for _, c in a] != [c for _, c in b]:
        return f"counts differ: {[c for _, c in a]} vs {[c for _, c in b]}"
    if not a:
        return ""
    low = a[-1][1]
    ka = {k for k, c in a if c > low}
    kb = {k for k, c in b if c > low}
    if ka != kb:
        return f"words differ: {sorted(ka ^ kb)[:6]}"
    return ""


def _proc_table() -> dict[tuple[int, int], tuple[int, int, str]]:
    """(pid, start time) -> (ppid, CPU ticks user + system, short command) of live processes."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as f:
                stat = f.read()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] in ("Z", "X"):  # zombies use no CPU (ps still shows their average)
                continue
            out[(int(name), int(fields[19]))] = (int(fields[1]), int(fields[11]) + int(fields[12]),
                                                 comm)
        except (OSError, ValueError, IndexError):
            continue
    return out


class LoadMonitor:
    """Samples ``/proc`` once a second in a background thread and adds up the CPU time of
    processes outside this benchmark's process tree (a process once seen below this one
    stays ours, also after it is orphaned, e.g. Spark's JVM or loky's workers shutting
    down). On a 2-core machine any such load skews the timings; rows and notes show it.
    """

    def __init__(self, interval_s: float = 1.0) -> None:
        import threading

        self.interval_s = interval_s
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.others_s = 0.0
        self.by_command: Counter = Counter()
        self._mine: set[tuple[int, int]] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.enabled = os.path.isdir("/proc")
        self.t0 = time.perf_counter()
        if self.enabled:
            self._prev = _proc_table()
            self._thread.start()

    def _ours(self, key: tuple[int, int], ppid_of: dict, key_of: dict) -> bool:
        """Is the process this one or below it (now, or when it was first seen)?"""
        me, pid = os.getpid(), key[0]
        for _ in range(64):
            if pid == me or key_of.get(pid) in self._mine:
                return True
            pid = ppid_of.get(pid, 0)
            if pid <= 1:
                return False
        return False

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            cur = _proc_table()
            ppid_of = {k[0]: v[0] for k, v in cur.items()}
            key_of = {k[0]: k for k in cur}
            others = 0.0
            for key, (_, ticks, comm) in cur.items():
                if key not in self._mine and self._ours(key, ppid_of, key_of):
                    self._mine.add(key)
                before = self._prev[key][1] if key in self._prev else 0
                if key in self._mine:
                    continue
                d = (ticks - before) / self.hz
                if d > 0:
                    others += d
                    self.by_command[comm] += d
            with self._lock:
                self.others_s += others
            self._prev = cur

    def cpu_s(self) -> float:
        """CPU seconds used by other processes since the monitor started."""
        with self._lock:
            return self.others_s

    def stop(self) -> None:
        self._stop.set()
        if self.enabled:
            self._thread.join()

    def note(self) -> str:
        wall = time.perf_counter() - self.t0
        if not self.enabled:
            return "Other processes' CPU use: not measured (no /proc)."
        top = ", ".join(f"{c} {s:.0f} s" for c, s in self.by_command.most_common(4) if s >= 1)
        return (f"Other processes (outside this benchmark's process tree) used "
                f"{self.others_s:.0f} CPU-seconds during the {wall / 60:.1f} min run "
                f"({self.others_s / wall:.2f} of {os.cpu_count()} cores on average)"
                + (f"; most: {top}" if top else "") + ". The 'other CPU' column gives each "
                "row's share (cores busy with other work while that tool ran).")


MONITOR: LoadMonitor | None = None


def other_cores(before: float, t0: float) -> str:
    """Average number of cores other processes used since (``before``, ``t0``)."""
    if MONITOR is None or not MONITOR.enabled:
        return ""
    wall = max(time.perf_counter() - t0, 1e-9)
    return f"{(MONITOR.cpu_s() - before) / wall:.2f}"


def busy_processes(window_s: float = 2.0, threshold: float = 0.3) -> list[str]:
    """Other processes that used more than ``threshold`` of a core over ``window_s``."""
    if not os.path.isdir("/proc"):
        return []
    hz = os.sysconf("SC_CLK_TCK")
    a = _proc_table()
    time.sleep(window_s)
    b = _proc_table()
    me = os.getpid()
    return [f"{key[0]} ({(t - a[key][1]) / hz / window_s:.0%}) {comm}"
            for key, (_, t, comm) in b.items()
            if key[0] != me and key in a and (t - a[key][1]) / hz / window_s > threshold]


MAX_WAIT_S = 900.0  # --max-wait


def wait_until_idle(max_wait_s: float | None = None) -> None:
    """Wait (up to ``max_wait_s``) while another process is using the CPU, e.g. another
    benchmark, pytest or a JVM, so that timings are not skewed on this 2-core machine."""
    max_wait_s = MAX_WAIT_S if max_wait_s is None else max_wait_s
    t0 = time.perf_counter()
    while True:
        busy = busy_processes()
        if not busy:
            return
        if time.perf_counter() - t0 > max_wait_s:
            print(f"  WARNING: still busy after {max_wait_s:.0f} s, going on: {busy}",
                  flush=True)
            return
        print(f"  waiting for other processes to finish: {busy}", flush=True)
        time.sleep(10)


# --------------------------------------------------------------------------- driver


class Plan:
    """Which files each tool reads, how often, and how long it may take."""

    # Files of the corpus a workload reads (first N; default all). Bigrams of the Zipf corpus
    # have 24 million distinct keys in 1 GiB; the Python tools need minutes and many GB
    # for that, so every tool counts them on the first 2 files (cairn native also on all).
    WORKLOAD_FILES = {("zipf", "bigrams"): 2}
    # Tools that read only the first N of the workload's files (their MiB/s is scaled).
    SUBSET = {
        ("zipf", "words"): {"cairn python path": 1},
        ("zipf", "bigrams"): {"cairn python path": 1},
        ("real", "words"): {},
        ("real", "bigrams"): {"cairn python path": 2},
    }

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.zipf_mb, self.real_mb, self.files = (64, 16, 8) if quick else (1024, 256, 8)
        self.timeout = 180 if quick else 420

    def workload_files(self, corpus: str, mode: str, paths: list[str]) -> list[str]:
        n = None if self.quick else self.WORKLOAD_FILES.get((corpus, mode))
        return paths if n is None else paths[:n]

    def files_for(self, corpus: str, mode: str, tool: str, paths: list[str]) -> list[str]:
        n = None if self.quick else self.SUBSET[(corpus, mode)].get(tool)
        return paths if n is None else paths[:n]

    @staticmethod
    def repeat(tool: str) -> tuple[int, float]:
        """(runs, seconds after which no further run starts)."""
        if tool in ("cairn native", "C++ reference"):
            return 3, 60.0
        return 2, 20.0


TOOLS = ["cairn native", "C++ reference", "cairn python path", "dask processes",
         "dask threads", "joblib", "plain python", "pyspark"]


def fmt_mib(paths: list[str]) -> str:
    return f"{size_of(paths) / MiB:,.0f} MiB"


def run_workload(plan: Plan, corpus: str, mode: str, paths: list[str], ref_exe: str | None,
                 notes: list[str], n_corpus: int) -> tuple[list[Row], dict[str, float]]:
    """All tools on one (corpus, mode) and the given files (``n_corpus``: files in the
    corpus); returns rows and MiB/s per tool."""
    total = size_of(paths)
    workload = f"{corpus} {mode}, {fmt_mib(paths)}"
    if len(paths) < n_corpus:
        workload += f" (first {len(paths)} of {n_corpus} files)"
    rows: list[Row] = []
    rates: dict[str, float] = {}
    native_tops: dict[int, list] = {}   # number of files -> cairn native top-20

    def native_top(files: list[str]) -> list:
        n = len(files)
        if n not in native_tops:
            native_tops[n] = run_isolated(cairn_native_once, files, mode, "64MiB").result["top"]
        return native_tops[n]

    for tool in TOOLS:
        if tool == "C++ reference" and (mode != "words" or ref_exe is None):
            continue
        files = plan.files_for(corpus, mode, tool, paths)
        size = size_of(files)
        runs, budget = plan.repeat(tool)
        wait_until_idle()
        print(f"[{workload}] {tool} on {fmt_mib(files)} ({len(files)} files) ...", flush=True)
        peak = ""
        load0, t0 = (MONITOR.cpu_s() if MONITOR else 0.0), time.perf_counter()
        try:
            if tool == "C++ reference":
                res = run_reference(ref_exe, files, runs)
            else:
                child = run_isolated(run_tool, tool, files, mode, runs, budget,
                                     timeout=plan.timeout)
                res, peak = child.result, fmt_float(child.peak_rss_mb, 0)
        except TimeoutExpired:
            print(f"  timeout after {plan.timeout} s", flush=True)
            scale = total / size
            rows.append(Row(workload, tool, None, status=f"timeout > {plan.timeout} s",
                            at_least_s=plan.timeout * scale,
                            extra={"measured on": fmt_mib(files)}))
            notes.append(f"{workload}: {tool} did not finish in {plan.timeout} s on "
                         f"{fmt_mib(files)} and was stopped.")
            continue
        except (ChildFailed, subprocess.CalledProcessError) as exc:
            msg = str(exc).strip().splitlines()[-1][:160]
            print(f"  FAILED: {msg}", flush=True)
            rows.append(Row(workload, tool, None, status="failed"))
            notes.append(f"{workload}: {tool} FAILED: {msg}")
            continue
        best = min(res["times"])
        rate = size / MiB / best
        rates[tool] = rate
        if tool == "cairn native" and len(files) == len(paths):
            native_tops[len(files)] = res["top"]
        expected = native_top(files)
        diff = same_top(res["top"], expected)
        check = "equal" if not diff else "DIFFERS"
        if diff:
            notes.append(f"{workload}: {tool}'s top-{TOPK} DIFFERS from cairn native's on the "
                         f"same files: {diff}")
        extra = {
            "MiB/s": fmt_float(rate, 1),
            "measured on": (fmt_mib(files) if len(files) == len(paths)
                            else f"{fmt_mib(files)} ({len(files)}/{len(paths)} files)"),
            "measured (s)": fmt_float(best, 3),
            "peak RSS (MB)": peak,
            f"top-{TOPK} vs cairn": check,
            "other CPU (cores)": other_cores(load0, t0),
            "runs": str(len(res["times"])),
        }
        if "startup_s" in res["extra"]:
            extra["start-up (s)"] = fmt_float(res["extra"]["startup_s"], 1)
        rows.append(Row(workload, tool, total / MiB / rate, baseline=(tool == "cairn native"),
                        extra=extra))
        print(f"  {best:.3f} s on {size / MiB:,.0f} MiB = {rate:,.1f} MiB/s; top-{TOPK} "
              f"{check}; {res['top'][:2]}", flush=True)
    return rows, rates


def whole_corpus_row(corpus: str, mode: str, paths: list[str]) -> tuple[Row, tuple[float,
                                                                                  float]]:
    """cairn native alone on the whole corpus (one run, fresh subprocess); the row and
    (MiB/s, peak RSS in MB)."""
    wait_until_idle()
    print(f"[{corpus} {mode}] cairn native on the whole corpus ({fmt_mib(paths)}) ...",
          flush=True)
    load0, t0 = (MONITOR.cpu_s() if MONITOR else 0.0), time.perf_counter()
    child = run_isolated(cairn_native_once, paths, mode, "64MiB")
    t = child.result["time"]
    print(f"  {t:.2f} s = {size_of(paths) / MiB / t:,.1f} MiB/s, peak RSS "
          f"{child.peak_rss_mb:,.0f} MB", flush=True)
    rate = size_of(paths) / MiB / t
    return Row(f"{corpus} {mode}, {fmt_mib(paths)} (whole corpus)", "cairn native", t,
               baseline=True, extra={
                   "MiB/s": fmt_float(size_of(paths) / MiB / t, 1),
                   "measured on": fmt_mib(paths), "measured (s)": fmt_float(t, 3),
                   "peak RSS (MB)": fmt_float(child.peak_rss_mb, 0),
                   "other CPU (cores)": other_cores(load0, t0),
                   "runs": "1 (fresh process)"}), (rate, child.peak_rss_mb)


def bigram_verdict(rate: float, peak_rss_mb: float) -> str:
    """VERDICT line for cairn native bigram count on the whole Zipf corpus."""
    ok = rate >= TARGET_BIGRAM_MIBS and peak_rss_mb <= TARGET_BIGRAM_RSS_MB
    return (f"VERDICT: bigram count of the whole Zipf corpus: cairn native {rate:,.0f} MiB/s, "
            f"peak RSS {peak_rss_mb:,.0f} MB (target >= {TARGET_BIGRAM_MIBS:,.0f} MiB/s with "
            f"<= {TARGET_BIGRAM_RSS_MB:,.0f} MB: {'MET' if ok else 'NOT MET'})")


def stage_rows(paths: list[str], ref_rate: float | None) -> tuple[list[Row], list[str]]:
    """Where cairn native's word-count time goes: the pipeline cut short at each step."""
    wait_until_idle()
    print("[stages] cairn native pipelines cut short ...", flush=True)
    load0, t0 = (MONITOR.cpu_s() if MONITOR else 0.0), time.perf_counter()
    res = run_isolated(native_stages, paths).result
    other = other_cores(load0, t0)
    total = size_of(paths) / MiB
    workload = f"cairn native by stage, zipf {total:,.0f} MiB"
    rows = []
    for label, t in res.items():
        rows.append(Row(workload, label, t, baseline="(the benchmark)" in label,
                        extra={"MiB/s": fmt_float(total / t, 1), "other CPU (cores)": other,
                               "runs": "best of 3"}))
        print(f"  {t:.3f} s = {total / t:,.0f} MiB/s  {label}", flush=True)
    t = list(res.values())
    notes = [f"STAGES (cairn native, zipf words): reading and cutting lines {t[0]:.2f} s, "
             f"+ splitting words {t[1] - t[0]:+.2f} s, + counting them {t[2] - t[1]:+.2f} s "
             f"(total {t[2]:.2f} s); lower() adds {t[3] - t[2]:+.2f} s."
             + (f" The C++ reference needs {total / ref_rate:.2f} s for the whole job."
                if ref_rate else "")]
    return rows, notes


def memory_rows(paths: list[str]) -> tuple[list[Row], list[str]]:
    """Peak RSS of cairn native word count in fresh subprocesses, two block sizes."""
    total = size_of(paths)
    workload = f"memory: zipf words, {total / MiB:,.0f} MiB corpus"
    wait_until_idle()
    base = run_isolated(import_only)
    rows = [Row(workload, "python + import cairn.bag only", None, status="n/a",
                extra={"peak RSS (MB)": fmt_float(base.peak_rss_mb, 0)})]
    peaks = {}
    for bs in ("64MiB", "16MiB"):
        wait_until_idle()
        load0, t0 = (MONITOR.cpu_s() if MONITOR else 0.0), time.perf_counter()
        child = run_isolated(cairn_native_once, paths, "words", bs)
        peaks[bs] = child.peak_rss_mb
        print(f"[memory] blocksize {bs}: peak RSS {child.peak_rss_mb:,.0f} MB, "
              f"{child.result['time']:.2f} s", flush=True)
        rows.append(Row(workload, f"cairn native, blocksize={bs}", child.result["time"],
                        baseline=(bs == "64MiB"), extra={
                            "MiB/s": fmt_float(total / MiB / child.result["time"], 1),
                            "peak RSS (MB)": fmt_float(child.peak_rss_mb, 0),
                            "RSS above import (MB)":
                                fmt_float(child.peak_rss_mb - base.peak_rss_mb, 0),
                            "other CPU (cores)": other_cores(load0, t0),
                            "runs": "1 (fresh process)"}))
    notes = [f"MEMORY: cairn native word count of the {total / MiB:,.0f} MiB corpus peaks at "
             f"{peaks['64MiB']:,.0f} MB RSS with 64 MiB blocks and {peaks['16MiB']:,.0f} MB "
             f"with 16 MiB blocks (import alone: {base.peak_rss_mb:,.0f} MB): memory follows "
             f"the blocks in flight ({WORKERS} workers), not the corpus size."]
    return rows, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpora (a smoke test)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated subset of " + ", ".join(WORKLOADS) + " (the "
                        "stage and memory rows need zipf-words); a subset's report is "
                        "results/wordcount-<workloads>.md")
    parser.add_argument("--max-wait", type=float, default=900.0,
                        help="seconds to wait for a quiet machine before each tool")
    args = parser.parse_args(argv)
    selected = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = sorted(set(selected) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")
    global MAX_WAIT_S
    MAX_WAIT_S = args.max_wait
    plan = Plan(args.quick)
    t_start = time.perf_counter()
    global MONITOR
    MONITOR = LoadMonitor()

    zipf = zipf_files(plan.zipf_mb, plan.files)
    real, real_desc = real_files(plan.real_mb, plan.files)
    warm = warm_cache(zipf + real)
    print(f"page cache warmed: read {size_of(zipf + real) / MiB:,.0f} MiB in {warm:.1f} s",
          flush=True)

    notes: list[str] = []
    rows: list[Row] = []
    rates: dict[tuple[str, str], dict[str, float]] = {}
    whole: dict[tuple[str, str], tuple[float, float]] = {}  # (MiB/s, peak RSS MB)
    with tempfile.TemporaryDirectory(prefix="cairn-wc-ref-") as tmp:
        try:
            ref_exe: str | None = build_reference(tmp)
        except (OSError, subprocess.CalledProcessError) as exc:
            ref_exe = None
            notes.append(f"C++ reference could not be compiled: {exc}")
        for corpus, paths in (("zipf", zipf), ("real", real)):
            for mode in ("words", "bigrams"):
                if f"{corpus}-{mode}" not in selected:
                    continue
                files = plan.workload_files(corpus, mode, paths)
                r, rt = run_workload(plan, corpus, mode, files, ref_exe, notes, len(paths))
                rows += r
                rates[(corpus, mode)] = rt
                if len(files) < len(paths):
                    row, whole[(corpus, mode)] = whole_corpus_row(corpus, mode, paths)
                    rows.append(row)
    mem_notes: list[str] = []
    st_notes: list[str] = []
    if "zipf-words" in selected:
        st_rows, st_notes = stage_rows(zipf, rates[("zipf", "words")].get("C++ reference"))
        mem_rows, mem_notes = memory_rows(zipf)
        rows += st_rows + mem_rows

    verdicts = []
    if "zipf-words" in selected:
        verdicts += verdict_notes(rates[("zipf", "words")], rates.get(("real", "words"), {}))
    if ("zipf", "bigrams") in whole:
        verdicts.append(bigram_verdict(*whole[("zipf", "bigrams")]))
    verdicts.append(fastest_peers_note(rates))
    head = [
        f"Corpora: **zipf** = `cairn.datasets.zipf_corpus`, {size_of(zipf):,} bytes "
        f"({size_of(zipf) / 2**30:.2f} GiB) in {len(zipf)} files; **real** = {real_desc}; "
        f"{size_of(real):,} bytes ({size_of(real) / MiB:,.0f} MiB) in {len(real)} files.",
        "All files were read once before timing (page cache warm: "
        f"{size_of(zipf + real) / MiB:,.0f} MiB in {warm:.1f} s), so every tool reads cached "
        "files. Each tool runs in a fresh subprocess; time is the best of its runs.",
        "'time (s)' is for the whole corpus: for a tool measured on a subset ('measured on' "
        "names it: the first files of the corpus) it is the subset time scaled by size, i.e. "
        "the corpus size divided by the measured MiB/s; 'measured (s)' is the real time. The "
        "ratio column is time / cairn native time (> 1: cairn native is faster).",
        f"Every top-{TOPK} is compared with cairn native's on the same files: counts exactly, "
        "words too except among those tied at the lowest count.",
        "peak RSS is the measuring subprocess's own VmHWM: for dask processes, joblib and "
        "PySpark it does not include their worker processes (or Spark's JVM); the C++ "
        "reference's is not measured.",
        "PySpark: time excludes starting the JVM / SparkContext ('start-up (s)'); local[2], "
        "driver on 127.0.0.1, UI off. joblib: loky, 2 jobs, one Counter per 64 MiB block "
        "(Counter(text.split()) for words), merged in the parent as they arrive. plain "
        "python: one Counter, `for line in f: c.update(line.split())`. dask: default "
        "scheduler (processes, 2 workers) and threads (2 workers), blocksize 64 MiB.",
        "The C++ reference (benchmarks/reference/wordcount_ref.cc, g++ -O3) is timed as a "
        "whole process (start-up, mmap, count, merge, print), 2 threads; it counts words "
        "only, so the bigram workloads have no reference row.",
    ]
    elapsed = time.perf_counter() - t_start
    tail = [f"Whole benchmark run: {elapsed / 60:.1f} min."]
    MONITOR.stop()
    tail += [MONITOR.note(), extension_note()]
    name = "wordcount" if set(selected) == set(WORKLOADS) else "wordcount-" + "-".join(
        w for w in WORKLOADS if w in selected)
    write_report(name, rows, verdicts + mem_notes + st_notes + head + notes + tail,
                 title="Word count and bigrams: cairn.bag native vs Dask, joblib, Python, "
                       "PySpark, C++",
                 columns=["MiB/s", "measured on", "measured (s)", "peak RSS (MB)",
                          "start-up (s)", f"top-{TOPK} vs cairn"])
    return 1 if any("DIFFERS" in n or "FAILED" in n for n in notes) else 0


def verdict_notes(rates: dict[str, float], real: dict[str, float]) -> list[str]:
    """VERDICT lines for the word-count targets on the Zipf corpus (real text in brackets)."""
    out = []
    native = rates.get("cairn native")
    if native is None:
        return ["VERDICT: cairn native word count did not run; no verdicts."]

    def line(label: str, peer: str, target: float, speedup: bool) -> str:
        other = rates.get(peer)
        if other is None:
            return f"VERDICT: {label}: {peer} did not finish, NOT MEASURED"
        ratio = native / other
        ok = "MET" if ratio >= target else "NOT MET"
        how = f"{ratio:,.2f}x" if speedup else f"{ratio:,.2f}x the speed of"
        also = ""
        if real.get("cairn native") and real.get(peer):
            also = f"; on the real text: {real['cairn native'] / real[peer]:,.2f}x"
        return (f"VERDICT: {label}: cairn native {native:,.0f} MiB/s vs {peer} "
                f"{other:,.1f} MiB/s = {how} (target >= {target}x: {ok}){also}")

    out.append(line("word count vs Dask bag default scheduler (processes)", "dask processes",
                    TARGET_VS_DASK, True))
    out.append(line("word count vs PySpark local[2]", "pyspark", TARGET_VS_SPARK, True))
    out.append(line("word count vs hand-written C++ (2 threads)", "C++ reference",
                    TARGET_VS_REF, False))
    return out


def fastest_peers_note(rates: dict[tuple[str, str], dict[str, float]]) -> str:
    """One line: per workload, cairn native against the fastest tool that is not cairn's."""
    parts = []
    for (corpus, mode), r in rates.items():
        native = r.get("cairn native")
        peers = {t: v for t, v in r.items() if not t.startswith("cairn")
                 and t != "C++ reference"}
        if native and peers:
            best = max(peers, key=peers.get)
            parts.append(f"{corpus} {mode}: {native / peers[best]:,.1f}x {best} "
                         f"({peers[best]:,.1f} MiB/s)")
    return ("cairn native vs the fastest Python-based peer: " + "; ".join(parts) + "."
            if parts else "")


def extension_note() -> str:
    """Which compiled cairn extension ran, and when it was built (file time)."""
    try:
        import cairn._core as core

        path = Path(core.__file__).resolve()
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(path.stat().st_mtime))
        return f"cairn extension: {path} (file written {when})."
    except Exception as exc:  # noqa: BLE001 - informational only
        return f"cairn extension: unknown ({type(exc).__name__})."


if __name__ == "__main__":
    sys.exit(main())
