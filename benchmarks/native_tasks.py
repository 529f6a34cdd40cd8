"""Native task throughput and memory: 1M empty C++ tasks, and a 1M-task Python graph.

Part 1 (engine only): ``cairn._core.run_synthetic_graph("wide", N, 1000, workers)`` builds
a graph of ``N`` empty native tasks, sums them in groups of 1000 and then into one total,
plans it (no fusion) and runs it on the thread pool, all in C++ with the GIL released. It
returns the build, plan and run times. We report tasks/s for the run alone and for
build + plan + run, for 1 and 2 workers (best of ``--repeat`` in-process calls), and the
peak RSS of a fresh subprocess doing one such call, next to the peak RSS of a subprocess
that only imports cairn (the difference is the graph's own cost).

Part 2 (Python tasks): a Dask-spec dict graph of ``N`` ``inc(i)`` tasks, ``N/1000`` group
sums and a total, run with ``cairn.get`` on threads in a fresh subprocess; reported with
its time and peak RSS, next to a subprocess that builds the same dict but does not run it.

Run ``python benchmarks/native_tasks.py`` (``--quick`` for 100k tasks).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from harness import (Row, cpu_snapshot, fmt_count, fmt_float, other_load_note, run_isolated,
                     write_report)

FULL_TASKS = 1_000_000
QUICK_TASKS = 100_000
GROUP = 1000
TARGET_TASKS_PER_S = 1_000_000


def inc(x: int) -> int:
    """The Python task: add one."""
    return x + 1


# --------------------------------------------------------------------------- child functions


def import_only() -> dict:
    """Import cairn and do nothing else (baseline for peak RSS)."""
    import cairn  # noqa: F401

    return {}


def native_run(n: int, group: int, workers: int) -> dict:
    """One ``run_synthetic_graph`` call; returns its timing dict."""
    import cairn

    return dict(cairn._core.run_synthetic_graph("wide", n, group, workers))  # noqa: SLF001


def python_graph(n: int, group: int) -> dict:
    """Dict graph: ``n`` inc tasks, a sum per ``group`` of them, and a ``"total"`` sum."""
    dsk: dict = {("inc", i): (inc, i) for i in range(n)}
    n_groups = (n + group - 1) // group
    for g in range(n_groups):
        members = range(g * group, min((g + 1) * group, n))
        dsk[("group", g)] = (sum, [("inc", i) for i in members])
    dsk["total"] = (sum, [("group", g) for g in range(n_groups)])
    return dsk


def python_graph_run(n: int, group: int, execute: bool, workers: int | None = None) -> dict:
    """Build the Python dict graph (after importing cairn) and optionally run it.

    Returns
    -------
    dict
        ``build_s``, ``tasks``, and when executed ``get_s`` and ``result``.
    """
    import cairn

    t0 = time.perf_counter()
    dsk = python_graph(n, group)
    out: dict[str, Any] = {"build_s": time.perf_counter() - t0, "tasks": len(dsk)}
    if execute:
        t1 = time.perf_counter()
        out["result"] = cairn.get(dsk, "total", num_workers=workers)
        out["get_s"] = time.perf_counter() - t1
    return out


# --------------------------------------------------------------------------- measurements


def best_native(n: int, workers: int, repeat: int) -> dict:
    """Best run time and best build+plan+run time of ``repeat`` in-process calls."""
    runs = [native_run(n, GROUP, workers) for _ in range(max(1, repeat))]
    totals = [r["build_s"] + r["plan_s"] + r["run_s"] for r in runs]
    best = min(runs, key=lambda r: r["run_s"])
    return {**best, "total_s": min(totals), "runs": len(runs)}


def native_rows(n: int, workers_list: list[int], repeat: int) -> tuple[list[Row], list[str]]:
    """Rows (and notes) for part 1: native throughput and peak RSS."""
    workload = f"{n:,} empty native tasks (wide, sums of {GROUP})"
    base = run_isolated(import_only)
    rows = [Row(workload, "python + import cairn only (no graph)", None, status="n/a",
                extra={"peak RSS (MB)": fmt_float(base.peak_rss_mb, 0)})]
    best_rate = 0.0
    for i, workers in enumerate(workers_list):
        child = run_isolated(native_run, n, GROUP, workers)
        best = best_native(n, workers, repeat)
        nodes = best["nodes"]
        run_rate, total_rate = nodes / best["run_s"], nodes / best["total_s"]
        best_rate = max(best_rate, run_rate)
        print(f"  {workers} worker(s): run {best['run_s']:.4f} s ({run_rate:,.0f} tasks/s), "
              f"build+plan+run {best['total_s']:.4f} s; peak RSS {child.peak_rss_mb:.0f} MB",
              flush=True)
        rows.append(Row(workload, f"cairn native, {workers} worker{'s' if workers > 1 else ''}",
                        best["run_s"], nodes, baseline=(i == 0), extra={
                            "build (s)": fmt_float(best["build_s"], 4),
                            "plan (s)": fmt_float(best["plan_s"], 4),
                            "tasks/s (run)": fmt_count(run_rate),
                            "tasks/s (build+plan+run)": fmt_count(total_rate),
                            "first call in fresh process: run (s)":
                                fmt_float(child.result["run_s"], 4),
                            "peak RSS (MB)": fmt_float(child.peak_rss_mb, 0),
                            "graph RSS (MB)": fmt_float(child.peak_rss_mb - base.peak_rss_mb, 0),
                            "runs": str(best["runs"]),
                        }))
    ok = "MET" if best_rate >= TARGET_TASKS_PER_S else "NOT MET"
    notes = [f"VERDICT: native run throughput {best_rate:,.0f} tasks/s "
             f"(target >= {TARGET_TASKS_PER_S:,}: {ok})",
             "Native rows: time is run_s (execution only), best of the in-process calls "
             "(the pool is warm); 'first call in fresh process' is run_s of the single call "
             "in the RSS subprocess (pool start-up, cold allocator). The ratio column "
             "compares with 1 worker (>1 means 1 worker was faster). 'graph RSS' = peak "
             "RSS minus the import-only subprocess."]
    return rows, notes


def python_rows(n: int, workers: int) -> tuple[list[Row], list[str]]:
    """Rows (and notes) for part 2: a Python-task dict graph through cairn.get."""
    workload = f"{n:,} Python inc tasks, dict graph (+ group sums + total)"
    build = run_isolated(python_graph_run, n, GROUP, False)
    run = run_isolated(python_graph_run, n, GROUP, True, workers)
    expected = n * (n + 1) // 2
    assert run.result["result"] == expected, f"cairn.get gave {run.result['result']!r}"
    tasks = run.result["tasks"]
    print(f"  python graph: {tasks:,} tasks, build {run.result['build_s']:.3f} s, get "
          f"{run.result['get_s']:.3f} s, peak RSS {run.peak_rss_mb:.0f} MB", flush=True)
    rows = [
        Row(workload, "dict graph built, not run", None, status="n/a", extra={
            "build (s)": fmt_float(build.result["build_s"], 4),
            "peak RSS (MB)": fmt_float(build.peak_rss_mb, 0)}),
        Row(workload, f"cairn.get threads ({workers} workers)", run.result["get_s"], tasks,
            baseline=True, extra={
                "build (s)": fmt_float(run.result["build_s"], 4),
                "tasks/s (run)": fmt_count(tasks / run.result["get_s"]),
                "peak RSS (MB)": fmt_float(run.peak_rss_mb, 0),
                "graph RSS (MB)": fmt_float(run.peak_rss_mb - build.peak_rss_mb, 0),
                "runs": "1"}),
    ]
    notes = ["Python-graph rows: one run each in a fresh subprocess; time is cairn.get only "
             "(the dict is built first, see 'build (s)'); 'graph RSS' for cairn.get is its "
             "peak RSS minus the build-only subprocess, i.e. what executing adds on top of "
             "the dict itself. The result was checked (n(n+1)/2)."]
    return rows, notes


def main(argv: list[str] | None = None) -> None:
    """Run both parts and write ``results/native_tasks.md``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TASKS:,} tasks")
    parser.add_argument("--repeat", type=int, default=3, help="in-process runs (best kept)")
    args = parser.parse_args(argv)
    n = QUICK_TASKS if args.quick else FULL_TASKS
    cores = os.cpu_count() or 1
    workers_list = sorted({1, 2, cores})

    start = cpu_snapshot()
    print("native tasks", flush=True)
    rows, notes = native_rows(n, workers_list, args.repeat)
    print("python tasks", flush=True)
    prows, pnotes = python_rows(n, cores)
    write_report("native_tasks", rows + prows, notes + pnotes + [other_load_note(start)],
                 title="Native task throughput and memory (cairn only)",
                 columns=["build (s)", "plan (s)", "tasks/s (run)", "tasks/s (build+plan+run)",
                          "first call in fresh process: run (s)", "peak RSS (MB)",
                          "graph RSS (MB)"])


if __name__ == "__main__":
    main()
