"""cairn on dask.distributed, side by side with Dask on the same cluster, data and machine.

Every cluster is ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
dashboard_address=":0", host="127.0.0.1")``. A LocalCluster's scheduler runs in this (the
client's) process, on its "IO loop" thread; the two workers are processes.

- **words**: top-20 words of ``wordcount.py``'s 1 GiB Zipf corpus,
  ``read_text(paths, blocksize="64MiB").str.split().flatten().frequencies().topk(20, ...)``:
  cairn on a cluster (``compute(scheduler=client)``), dask.bag on a cluster of its own
  (``compute()``, the client being the default one), cairn's threads (``scheduler="threads",
  num_workers=2``, no cluster running). Top-20s checked equal.
- **delayed**: ``N`` (100,000) independent ``inc(i)`` tasks summed in a tree (``sum`` of
  ``GROUP`` = 100 at a time, level by level, up to one total), built with ``cairn.delayed``
  and with ``dask.delayed`` the same way, each tool on a cluster of its own; graph
  construction timed apart from submit + compute.
- **grid**: ``GridSearchCV(SVC(), grid, cv=3, n_jobs=-1)`` on scikit-learn's digits (24
  parameter sets, 72 fits): joblib's loky (its default) against ``parallel_backend("cairn",
  scheduler="processes")``; Dask's joblib backend (``parallel_backend("dask")``) against
  ``parallel_backend("cairn", scheduler=client)`` on one LocalCluster. ``best_params_``
  checked equal.

Times are wall clock, never asserted on; the report gives ratios and VERDICT lines against
the targets. Run ``python benchmarks/cluster.py`` (``--quick``: small sizes, under 2
minutes, report ``results/cluster-quick.md``; ``--parts words,delayed,grid``; ``--profile``:
one more delayed-graph run per tool under cProfile). Details: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import io
import math
import os
import pstats
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from harness import BENCH_DIR, Row, fmt_float, fmt_seconds, machine_info, write_report
from processes import descendants

import wordcount

MiB = 2**20
WORKERS = 2
TOPK = 20
GROUP = 100
FULL = {"corpus_mb": 1024, "files": 8, "blocksize": "64MiB", "repeat": 3, "tasks": 100_000,
        "grid": {"C": [0.1, 1, 10, 100], "gamma": [1e-4, 1e-3, 1e-2],
                 "kernel": ["rbf", "poly"]}}
QUICK = {"corpus_mb": 64, "files": 8, "blocksize": "8MiB", "repeat": 2, "tasks": 5_000,
         "grid": {"C": [1, 10], "gamma": [1e-3, 1e-2], "kernel": ["rbf", "poly"]}}
CV = 3
PARTS = ("words", "delayed", "grid")
TARGET_VS_DASK_BAG = 10.0    # cairn on distributed >= 10x as fast as dask.bag there
TARGET_VS_THREADS = 1.3      # cairn on distributed within 1.3x of cairn's threads
TARGET_DELAYED = 1.0         # cairn's submit + compute <= Dask's
TARGET_VS_LOKY = 1.1         # cairn processes <= 1.1x loky
TARGET_VS_DASK_JOBLIB = 1.0  # cairn on the client <= Dask's joblib backend on it

# --------------------------------------------------------------------------- tasks (workers)


def inc(x: int) -> int:
    return x + 1


def _importable() -> Any:
    """This file imported as ``cluster``, so the workers unpickle its functions by name (run
    as a script it is ``__main__``, whose functions cloudpickle sends by value, per task)."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    module = importlib.import_module("cluster")
    assert Path(module.__file__).resolve() == Path(__file__).resolve(), module.__file__
    return module


def tree_sum(delayed: Callable, n: int, group: int = GROUP) -> tuple[Any, int]:
    """(root, number of tasks) of ``n`` ``inc(i)`` tasks summed ``group`` at a time, level
    by level, built with ``delayed`` (``cairn.delayed`` or ``dask.delayed``)."""
    bench = _importable()
    level = [delayed(bench.inc)(i) for i in range(n)]
    tasks = n
    while len(level) > 1:
        level = [delayed(sum)(level[i:i + group]) for i in range(0, len(level), group)]
        tasks += len(level)
    return level[0], tasks


# --------------------------------------------------------------------------- measuring


@contextmanager
def local_cluster() -> Iterator[tuple[Any, float]]:
    """A fresh LocalCluster with the benchmark's settings and a Client on it (the default
    client while open); yields (client, seconds it took to start both)."""
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                      dashboard_address=":0", host="127.0.0.1") as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(WORKERS)
        yield client, time.perf_counter() - t0


def thread_cpu() -> dict[int, tuple[str, float]]:
    """Native thread id -> (Python thread name, CPU seconds) for this process's threads."""
    hz = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:  # the thread has just ended
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = (names.get(int(tid), "?"), (int(fields[11]) + int(fields[12])) / hz)
    return out


def children_cpu() -> dict[tuple[int, int], float]:
    """(pid, start time) -> CPU seconds of every live process below this one (the cluster's
    workers, loky's or cairn's worker processes)."""
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[(pid, int(fields[19]))] = (int(fields[11]) + int(fields[12])) / hz
    return out


@dataclass
class Run:
    """One timed call. ``wall_s`` is None if it did not finish within its budget."""

    wall_s: float | None
    cpu_s: float = 0.0         # time.process_time(): the whole client process, all threads
    caller_cpu_s: float = 0.0  # time.thread_time() of the thread that made the call
    io_loop_cpu_s: float = 0.0  # the "IO loop" thread: the in-process scheduler + client comms
    workers_cpu_s: float = 0.0  # processes below this one (workers), those alive at the end
    other_cores: str = ""      # cores other processes used meanwhile (wordcount.LoadMonitor)
    result: Any = None
    error: BaseException | None = None
    profile: cProfile.Profile | None = None


def timed_call(fn: Callable[[], Any], budget_s: float | None = None,
               abort: Callable[[], Any] | None = None, profile: bool = False) -> Run:
    """Call ``fn()`` in a helper thread and measure it (wall, process and thread CPU). If it
    has not returned after ``budget_s``, ``abort()`` is called (it closes the client) and
    the run is reported as not finished. ``profile``: run it under cProfile (that thread)."""
    box: dict[str, Any] = {}
    gc.collect()

    def target() -> None:
        prof = cProfile.Profile() if profile else None
        before, kids = thread_cpu(), children_cpu()
        c0, tc0, t0 = time.process_time(), time.thread_time(), time.perf_counter()
        if prof is not None:
            prof.enable()
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported, and re-raised by the caller
            box["error"] = exc
        finally:
            if prof is not None:
                prof.disable()
            box["wall"] = time.perf_counter() - t0
            box["cpu"] = time.process_time() - c0
            box["caller"] = time.thread_time() - tc0
            after = thread_cpu()
            box["loop"] = sum(s - before.get(tid, (name, 0.0))[1]
                              for tid, (name, s) in after.items() if name == "IO loop")
            box["profile"] = prof
            box["workers"] = sum(s - kids.get(k, 0.0) for k, s in children_cpu().items())

    load0, t00 = (wordcount.MONITOR.cpu_s() if wordcount.MONITOR else 0.0), time.perf_counter()
    thread = threading.Thread(target=target, name="bench-caller", daemon=True)
    thread.start()
    thread.join(budget_s)
    if thread.is_alive():
        if abort is not None:
            abort()
        thread.join(60)
        return Run(None, other_cores=wordcount.other_cores(load0, t00))
    return Run(box["wall"], box["cpu"], box["caller"], box["loop"], box["workers"],
               wordcount.other_cores(load0, t00), box.get("result"), box.get("error"),
               box.get("profile"))


def quiet_machine(max_wait_s: float) -> str:
    """Wait (up to ``max_wait_s``) for a 1-minute load average < 1 and no busy process;
    returns the load average when the wait ended."""
    t0 = time.perf_counter()
    while os.getloadavg()[0] >= 1.0 and time.perf_counter() - t0 < max_wait_s:
        print(f"  waiting for a quiet machine: load average {os.getloadavg()[0]:.2f}",
              flush=True)
        time.sleep(15)
    wordcount.wait_until_idle(max(0.0, max_wait_s - (time.perf_counter() - t0)))
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def cpu_cells(run: Run) -> dict[str, str]:
    """The CPU columns of a row."""
    return {"client CPU (s)": fmt_float(run.cpu_s),
            "caller thread CPU (s)": fmt_float(run.caller_cpu_s),
            "IO loop CPU (s)": fmt_float(run.io_loop_cpu_s),
            "workers CPU (s)": fmt_float(run.workers_cpu_s),
            "other CPU (cores)": run.other_cores}


def best(runs: list[Run]) -> Run | None:
    """The fastest finished run, or None."""
    done = [r for r in runs if r.wall_s is not None and r.error is None]
    return min(done, key=lambda r: r.wall_s) if done else None


def ratio_verdict(label: str, num: Run | None, den: Run | None, target: float, what: str,
                  below: bool = True) -> str:
    """A VERDICT line for ``num.wall_s / den.wall_s`` against ``target`` (met if <= target,
    or >= target when ``below`` is False)."""
    if num is None or den is None:
        return f"VERDICT: {label}: NOT MEASURED (a run did not finish or failed)"
    ratio = num.wall_s / den.wall_s
    ok = ratio <= target if below else ratio >= target
    return (f"VERDICT: {label}: {what} = {fmt_seconds(num.wall_s)} s / "
            f"{fmt_seconds(den.wall_s)} s = {ratio:.2f}x (target {'<=' if below else '>='} "
            f"{target}x): {'MET' if ok else 'NOT MET'}")


# --------------------------------------------------------------------------- (1) words


def words_part(size: dict, repeat: int, max_s: float, notes: list[str],
               verdicts: list[str]) -> list[Row]:
    """Word count on the cluster: cairn, dask.bag, and cairn's threads for reference."""
    import cairn.bag as cb
    import dask.bag as db

    paths = wordcount.zipf_files(size["corpus_mb"], size["files"])
    warm = wordcount.warm_cache(paths)
    nbytes = wordcount.size_of(paths)
    bs = size["blocksize"]
    print(f"words: {nbytes / MiB:,.0f} MiB in {len(paths)} files (page cache warmed in "
          f"{warm:.1f} s)", flush=True)

    def cairn_top(scheduler: Any, **kw: Any) -> list:
        bag = cb.read_text(paths, blocksize=bs).str.split().flatten().frequencies()
        return bag.topk(TOPK, key=1).compute(scheduler=scheduler, **kw)

    def dask_top(files: list[str]) -> list:
        bag = db.read_text(files, blocksize=bs).str.split().flatten().frequencies()
        return bag.topk(TOPK, key=lambda kv: kv[1]).compute()

    runs: dict[str, list[Run]] = {}
    starts: dict[str, float] = {}
    wordcount.wait_until_idle()
    print("  cairn threads", flush=True)
    cairn_top("threads", num_workers=WORKERS)  # untimed warm-up
    runs["cairn threads"] = [timed_call(lambda: cairn_top("threads", num_workers=WORKERS),
                                        max_s) for _ in range(repeat)]
    for tool in ("cairn on distributed", "dask.bag on distributed"):
        wordcount.wait_until_idle()
        print(f"  {tool}", flush=True)
        with local_cluster() as (client, starts[tool]):
            if tool.startswith("cairn"):
                cairn_top(client)  # untimed warm-up: workers import cairn, versions checked
                runs[tool] = [timed_call(lambda: cairn_top(client), max_s, client.close)
                              for _ in range(repeat)]
                continue
            dask_top(paths[:1])  # untimed warm-up on the first file only (1/8 of the corpus)
            runs[tool], spent = [], 0.0
            while len(runs[tool]) < repeat:
                run = timed_call(lambda: dask_top(paths), max_s - spent, client.close)
                runs[tool].append(run)
                if run.wall_s is None or run.error is not None:
                    break
                spent += run.wall_s
                if spent + run.wall_s > max_s:  # no further run that would not fit
                    break
    failed = False
    ref = best(runs["cairn threads"])
    rows = []
    for tool in ("cairn on distributed", "dask.bag on distributed", "cairn threads"):
        b = best(runs[tool])
        errors = [r.error for r in runs[tool] if r.error is not None]
        if errors:
            failed = True
            notes.append(f"FAILED: words, {tool}: {type(errors[0]).__name__}: {errors[0]}")
        check = ""
        if b is not None and ref is not None:
            check = wordcount.same_top(b.result, ref.result) or "same"
            if check != "same":
                failed = True
                notes.append(f"DIFFERS: words, {tool}: top-{TOPK} {check}")
        unfinished = next((r for r in runs[tool] if r.wall_s is None), None)
        status = f"did not finish within {max_s:.0f} s" if unfinished and b is None else ""
        row = Row("word count", tool, b.wall_s if b else None, baseline=tool.startswith("cairn on"),
                  status=status, at_least_s=max_s if status else None,
                  extra={"MiB/s": fmt_float(nbytes / MiB / b.wall_s, 1) if b else "—",
                         "runs": f"{sum(r.wall_s is not None for r in runs[tool])}"
                                 + (" + 1 stopped" if unfinished and b is not None else ""),
                         **(cpu_cells(b) if b else {}),
                         "cluster start (s)": fmt_float(starts.get(tool), 1)
                         if tool in starts else "—",
                         f"top-{TOPK} vs threads": check if tool != "cairn threads"
                         else "reference"})
        rows.append(row)
    dist, bag, thr = (best(runs[t]) for t in ("cairn on distributed", "dask.bag on distributed",
                                               "cairn threads"))
    if bag is None and dist is not None:
        bound = max_s / dist.wall_s
        verdicts.append(f"VERDICT: word count, cairn on distributed vs dask.bag on the same "
                        f"kind of cluster: dask.bag did not finish within {max_s:.0f} s, so the "
                        f"ratio is > {bound:.1f}x (target >= {TARGET_VS_DASK_BAG}x): "
                        f"{'MET' if bound >= TARGET_VS_DASK_BAG else 'NOT SHOWN'}")
    else:
        verdicts.append(ratio_verdict("word count, cairn on distributed vs dask.bag on the same "
                                      "kind of cluster", bag, dist, TARGET_VS_DASK_BAG,
                                      "dask.bag / cairn", below=False))
    verdicts.append(ratio_verdict("word count, cairn on distributed within 1.3x of cairn threads",
                                  dist, thr, TARGET_VS_THREADS, "cairn distributed / threads"))
    if dist is not None:
        notes.append(
            f"Word count, client process CPU during the best cairn-on-distributed run "
            f"(time.process_time(), every thread of this process, so it includes the "
            f"LocalCluster's in-process scheduler): {dist.cpu_s:.2f} s over "
            f"{dist.wall_s:.2f} s wall; of it the calling thread {dist.caller_cpu_s:.2f} s and "
            f"the IO loop thread (scheduler and client comms) {dist.io_loop_cpu_s:.2f} s. "
            f"Per run: {', '.join(f'{r.cpu_s:.2f}' for r in runs['cairn on distributed'])} s.")
    notes.append(
        f"Word count: {nbytes:,} bytes ({nbytes / 2**30:.2f} GiB) in {len(paths)} files "
        f"(wordcount.zipf_files), page-cached, blocksize {bs}. Time = best of up to {repeat} "
        "runs after one untimed warm-up (dask.bag's warm-up reads only the first file; its "
        f"runs stop once they would exceed --max-seconds {max_s:.0f} s). One fresh "
        "LocalCluster per tool; cairn threads ran with no cluster alive. Top-20s are compared "
        "with cairn threads' (counts exactly, words except ties at the lowest count).")
    if failed:
        notes.append("FAILED: see above")
    return rows


# --------------------------------------------------------------------------- (2) delayed


def client_side_breakdown(root: Any, threads: int = WORKERS) -> str:
    """Times of the steps cairn's distributed get takes on the client before it submits a
    graph, run again (untimed in the benchmark) on the same graph, and the size of what it
    submits."""
    from dask._expr import LLGExpr
    from distributed.protocol import serialize, to_serialize

    from cairn import _core
    from cairn.base import _flatten
    from cairn.core import recipes
    from cairn.schedulers import distributed as cd

    dsk = root.__cairn_graph__()
    flat: list = []
    _flatten([root.__cairn_keys__()], flat)  # as cairn's compute hands keys to the get
    steps = {}

    def step(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = fn()
        steps[name] = time.perf_counter() - t0
        return value

    graph = step("recipes.portable", lambda: recipes.portable(dsk))
    chains = step("_core.plan_chains", lambda: _core.plan_chains(graph, flat))
    graph = step("fuse (linear chains, with plan_chains)", lambda: cd.fuse(graph, flat))
    inline = getattr(cd, "inline_fan_ins", None)  # cairn after commit 757d218
    if inline is not None:
        graph = step("inline_fan_ins", lambda: inline(graph, flat, threads))
    expr = step("distributed's LLGExpr(dsk) (tokenizes the whole dict)", lambda: LLGExpr(graph))
    frames = step("distributed serialize", lambda: serialize(to_serialize(expr),
                                                             on_error="raise"))
    size = sum(memoryview(f).nbytes for f in frames[1])
    return (f"cairn's client-side steps before submitting, rerun on the same {len(dsk):,}-task "
            f"graph ({len(chains)} linear chains): "
            + "; ".join(f"{k} {v:.3f} s" for k, v in steps.items())
            + f". Submitted: {len(graph):,} tasks, {size / MiB:.1f} MiB serialized.")


def installed_note() -> str:
    """Which cairn ran: its newest installed Python file and the extension's file times
    (the venv can be reinstalled from a newer commit while benchmarks run)."""
    import cairn

    folder = Path(cairn.__file__).parent
    newest = max(folder.rglob("*.py"), key=lambda p: p.stat().st_mtime)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(newest.stat().st_mtime))
    return (f"Installed cairn: {folder}; its newest Python file is "
            f"{newest.relative_to(folder)} (written {when}).")


PROFILE_PATTERNS = (("cairn/core/recipes.py", "portable"),
                    ("cairn/schedulers/distributed.py", "fuse"), ("~", "plan_chains"),
                    ("cairn/schedulers/distributed.py", "inline_fan_ins"),
                    ("cairn/schedulers/distributed.py", "check_workers"),
                    ("dask/_expr.py", "__new__"), ("dask/tokenize.py", "_tokenize_deterministic"),
                    ("dask/base.py", "collections_to_expr"),
                    ("distributed/protocol/serialize.py", "serialize"),
                    ("distributed/client.py", "_graph_to_futures"),
                    ("distributed/client.py", "gather"))


def profile_summary(prof: cProfile.Profile, tool: str, total_s: float) -> str:
    """One line: cumulative time in the functions of :data:`PROFILE_PATTERNS` (the full
    top-30 goes to stdout)."""
    stats = pstats.Stats(prof)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
    print(f"--- cProfile, {tool}, caller thread ---\n{buf.getvalue()}", flush=True)
    found = []
    for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        for p, f in PROFILE_PATTERNS:
            hit = f in func if p == "~" else (func == f and path.endswith(p))
            if hit and ct >= 0.0005:
                found.append((ct, f"{func} ({path.split('site-packages/')[-1]}) {ct:.3f} s"))
    found.sort(reverse=True)
    return (f"PROFILE ({tool}, a separate run under cProfile, caller thread only, "
            f"{total_s:.2f} s in all): " + "; ".join(x for _, x in found) + ".")


def delayed_part(size: dict, max_s: float, profile: bool, notes: list[str],
                 verdicts: list[str]) -> list[Row]:
    """The 100,000-task tree of delayed calls, on a fresh cluster per tool."""
    import dask

    import cairn

    n = size["tasks"]
    expect = n * (n + 1) // 2
    rows: list[Row] = []
    result: dict[str, Run | None] = {}
    failed = False
    for tool, mod in (("cairn.delayed", cairn), ("dask.delayed", dask)):
        wordcount.wait_until_idle()
        print(f"delayed: {tool}, {n:,} tasks", flush=True)
        with local_cluster() as (client, start_s):
            warm, _ = tree_sum(mod.delayed, 2 * GROUP)  # untimed: imports on the workers
            compute = ((lambda r: r.compute(scheduler=client)) if mod is cairn
                       else (lambda r: r.compute()))
            assert compute(warm) == (2 * GROUP) * (2 * GROUP + 1) // 2
            build = timed_call(lambda: tree_sum(mod.delayed, n))
            root, tasks = build.result
            run = timed_call(lambda: compute(root), max_s, client.close)
            prof_note = ""
            if profile and run.wall_s is not None:
                root2, _ = tree_sum(mod.delayed, n)
                prun = timed_call(lambda: compute(root2), max_s, client.close, profile=True)
                if prun.profile is not None and prun.wall_s is not None:
                    prof_note = profile_summary(prun.profile, tool, prun.wall_s)
        if run.error is not None or (run.wall_s is not None and run.result != expect):
            failed = True
            notes.append(f"FAILED: delayed, {tool}: "
                         + (f"{type(run.error).__name__}: {run.error}" if run.error
                            else f"result {run.result!r} != {expect}"))
            run = Run(None)
        result[tool] = run if run.wall_s is not None else None
        base = mod is cairn
        rows.append(Row("delayed tree: build", tool, build.wall_s, tasks, baseline=base,
                        extra={"cluster start (s)": fmt_float(start_s, 1),
                               "client CPU (s)": fmt_float(build.cpu_s),
                               "other CPU (cores)": build.other_cores}))
        status = f"did not finish within {max_s:.0f} s" if run.wall_s is None else ""
        rows.append(Row("delayed tree: submit + compute", tool, run.wall_s, tasks, baseline=base,
                        status=status, at_least_s=max_s if status and not failed else None,
                        extra={"cluster start (s)": fmt_float(start_s, 1),
                               **(cpu_cells(run) if run.wall_s is not None else
                                  {"other CPU (cores)": run.other_cores})}))
        if mod is cairn:
            notes.append("Delayed: " + client_side_breakdown(root))
        if prof_note:
            notes.append(prof_note)
        root = build = None  # free the graphs before the next tool
    verdicts.append(ratio_verdict(f"{n:,}-task delayed tree on distributed, submit + compute, "
                                  "cairn <= Dask", result["cairn.delayed"],
                                  result["dask.delayed"], TARGET_DELAYED, "cairn / Dask"))
    notes.append(
        f"Delayed: {n:,} independent inc(i), summed {GROUP} at a time level by level "
        f"({rows[0].n_tasks:,} tasks in all), built with cairn.delayed / dask.delayed the same "
        "way; inc is a module function the workers import by name (sum is a builtin). One "
        "fresh LocalCluster per tool, warmed by an untimed 200-task graph; one timed run each "
        "(cairn: compute(scheduler=client), Dask: compute() on the default client). "
        "'client CPU' is time.process_time() over the run (includes the in-process scheduler); "
        "'IO loop' is the thread the scheduler and the client's comms share.")
    return rows


# --------------------------------------------------------------------------- (3) grid


def grid_part(size: dict, repeat: int, max_s: float, notes: list[str],
              verdicts: list[str]) -> list[Row]:
    """GridSearchCV through four joblib backends, pairs interleaved round by round."""
    import joblib
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    X, y = load_digits(return_X_y=True)
    grid = size["grid"]
    fits = math.prod(len(v) for v in grid.values()) * CV

    def fit() -> tuple[dict, float]:
        search = GridSearchCV(SVC(), grid, cv=CV, n_jobs=-1).fit(X, y)
        return search.best_params_, search.best_score_

    def with_backend(*args: Any, **kw: Any) -> Callable[[], tuple[dict, float]]:
        def run() -> tuple[dict, float]:
            with joblib.parallel_backend(*args, **kw):
                return fit()
        return run

    def rounds(tools: dict[str, Callable], abort: Callable | None) -> dict[str, list[Run]]:
        out: dict[str, list[Run]] = {t: [] for t in tools}
        for tool, fn in tools.items():
            print(f"  {tool}: warm-up", flush=True)
            fn()
        for i in range(repeat):  # alternate which tool goes first
            order = list(tools) if i % 2 == 0 else list(tools)[::-1]
            for tool in order:
                out[tool].append(timed_call(tools[tool], max_s, abort))
        return out

    wordcount.wait_until_idle()
    print(f"grid: GridSearchCV, {fits} fits", flush=True)
    runs = rounds({"cairn processes": with_backend("cairn", scheduler="processes"),
                   "loky (joblib's default)": with_backend("loky")}, None)
    wordcount.wait_until_idle()
    with local_cluster() as (client, start_s):
        runs.update(rounds({"cairn on the client": with_backend("cairn", scheduler=client),
                            "Dask's joblib backend": with_backend("dask")}, client.close))
    rows = []
    ref = best(runs["loky (joblib's default)"])
    failed = False
    for workload, tools in (("GridSearchCV, 2 local processes",
                             ("cairn processes", "loky (joblib's default)")),
                            ("GridSearchCV, LocalCluster", ("cairn on the client",
                                                            "Dask's joblib backend"))):
        for tool in tools:
            b = best(runs[tool])
            errors = [r.error for r in runs[tool] if r.error is not None]
            if errors:
                failed = True
                notes.append(f"FAILED: grid, {tool}: {type(errors[0]).__name__}: {errors[0]}")
            same = ""
            if b is not None and ref is not None:
                same = "same" if b.result[0] == ref.result[0] else f"DIFFERS: {b.result[0]}"
                if same != "same":
                    failed = True
                    notes.append(f"DIFFERS: grid, {tool}: best_params_ {b.result[0]} vs "
                                 f"loky's {ref.result[0]}")
            rows.append(Row(workload, tool, b.wall_s if b else None, fits,
                            baseline=tool.startswith("cairn"),
                            status="" if b else "failed or did not finish",
                            extra={"runs": str(sum(r.wall_s is not None for r in runs[tool])),
                                   **(cpu_cells(b) if b else {}),
                                   "cluster start (s)": fmt_float(start_s, 1)
                                   if "LocalCluster" in workload else "—",
                                   "best_params_ vs loky": same if tool != "loky (joblib's default)"
                                   else "reference"}))
    verdicts.append(ratio_verdict("GridSearchCV, cairn processes <= 1.1x loky",
                                  best(runs["cairn processes"]),
                                  best(runs["loky (joblib's default)"]), TARGET_VS_LOKY,
                                  "cairn processes / loky"))
    verdicts.append(ratio_verdict("GridSearchCV on the LocalCluster, cairn <= Dask's joblib "
                                  "backend", best(runs["cairn on the client"]),
                                  best(runs["Dask's joblib backend"]), TARGET_VS_DASK_JOBLIB,
                                  "cairn / Dask"))
    if ref is not None:
        notes.append(f"GridSearchCV: best_params_ {ref.result[0]}, best_score_ "
                     f"{ref.result[1]:.4f} (loky).")
    notes.append(
        f"GridSearchCV: SVC on load_digits ({X.shape[0]} x {X.shape[1]}), grid "
        f"{ {k: v for k, v in grid.items()} } x cv={CV} = {fits} fits (and the refit), "
        f"n_jobs=-1. One untimed run per tool, then best of {repeat}; the two tools of a pair "
        "take turns (the first of a round alternates). Both cluster tools share one "
        "LocalCluster and Client; loky and cairn processes ran with no cluster alive.")
    if failed:
        notes.append("FAILED: see above")
    return rows


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under 2 minutes)")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help="comma-separated subset of " + ", ".join(PARTS))
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed runs per tool (default 3, 2 with --quick; delayed: 1)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="budget of one timed run (dask.bag: of all its runs); a run "
                        "still going is stopped and reported as not finished (default 420; "
                        "120 with --quick)")
    parser.add_argument("--max-wait", type=float, default=600.0,
                        help="seconds to wait for a quiet machine (load < 1) at the start, and "
                        "for no busy process before each part")
    parser.add_argument("--tasks", type=int, default=None,
                        help="delayed: number of inc tasks (default 100,000; 5,000 with --quick)")
    parser.add_argument("--profile", action="store_true",
                        help="delayed: one more run per tool under cProfile (caller thread)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if set(parts) - set(PARTS):
        parser.error(f"unknown parts {sorted(set(parts) - set(PARTS))}")
    size = dict(QUICK if args.quick else FULL)
    if args.tasks:
        size["tasks"] = args.tasks
    repeat = args.repeat or size["repeat"]
    max_s = args.max_seconds or (120.0 if args.quick else 420.0)
    wordcount.MAX_WAIT_S = args.max_wait
    _importable()  # BENCH_DIR on sys.path before the workers start: they import `cluster`

    load_start = quiet_machine(args.max_wait)
    info = machine_info()
    wordcount.MONITOR = wordcount.LoadMonitor()
    t_start = time.perf_counter()
    rows: list[Row] = []
    notes: list[str] = []
    verdicts: list[str] = []
    if "words" in parts:
        rows += words_part(size, repeat, max_s, notes, verdicts)
    if "delayed" in parts:
        rows += delayed_part(size, max_s, args.profile, notes, verdicts)
    if "grid" in parts:
        rows += grid_part(size, repeat, max_s, notes, verdicts)
    elapsed = time.perf_counter() - t_start
    wordcount.MONITOR.stop()
    if args.quick:
        notes.append("QUICK sizes: fixed costs (a compute's round trips to the cluster) weigh "
                     "far more than at full size; the targets are set for the full sizes.")
    import distributed
    import joblib
    import sklearn

    notes += [
        f"Machine: {info['cpu']}, {info['cores']} logical cores, {info['ram']} RAM, "
        f"{info['python']}; cairn {info['cairn']} (installed {info['cairn_installed']}), dask "
        f"{info['dask']}, distributed {distributed.__version__}, joblib {joblib.__version__}, "
        f"scikit-learn {sklearn.__version__}. Load average at the start (1/5/15 min): "
        f"{load_start}.",
        "Every cluster: LocalCluster(n_workers=2, threads_per_worker=1, processes=True, "
        "dashboard_address=':0', host='127.0.0.1'); its scheduler runs in the client process. "
        "'ratio vs cairn' = the row's time / its workload's cairn row (> 1: cairn is faster). "
        "Times are never asserted on.",
        f"Whole benchmark run: {elapsed / 60:.1f} min.",
        wordcount.MONITOR.note(),
        wordcount.extension_note(),
        installed_note(),
    ]
    name = "cluster" + ("" if set(parts) == set(PARTS) else "-" + "-".join(
        p for p in PARTS if p in parts)) + ("-quick" if args.quick else "")
    write_report(name, rows, verdicts + notes,
                 title="cairn on dask.distributed vs Dask (LocalCluster, 2 worker processes)",
                 columns=["MiB/s", "runs", "client CPU (s)", "caller thread CPU (s)",
                          "IO loop CPU (s)", "workers CPU (s)"])
    return 1 if any(n.startswith(("FAILED", "DIFFERS")) for n in notes) else 0


if __name__ == "__main__":
    sys.exit(main())
