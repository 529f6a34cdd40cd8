"""Run every benchmark and collect the reports into ``benchmarks/results/SUMMARY.md``.

Each benchmark runs as its own script in a fresh interpreter (so one benchmark's memory
and thread pools cannot affect the next). ``--quick`` is passed through.

Usage: ``python benchmarks/run_all.py [--quick]`` (``./dev bench`` from the repo root).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from harness import BENCH_DIR, RESULTS_DIR, cpu_snapshot, machine_header, other_load_note

BENCHMARKS = ["scheduler_overhead", "native_tasks", "wordcount"]


def run_benchmark(name: str, quick: bool) -> tuple[int, float]:
    """Run ``benchmarks/<name>.py``; return (exit code, wall seconds)."""
    cmd = [sys.executable, str(BENCH_DIR / f"{name}.py")] + (["--quick"] if quick else [])
    print(f"\n==== {name} {'(quick)' if quick else ''}", flush=True)
    t0 = time.perf_counter()
    code = subprocess.call(cmd, cwd=BENCH_DIR)
    return code, time.perf_counter() - t0


HEADER_PREFIXES = ("- date:", "- cpu:", "- os:", "- cairn ", "- load average")


def strip_header(report: str) -> str:
    """A report without its machine header (the summary prints that once)."""
    lines = [ln for ln in report.splitlines() if not ln.startswith(HEADER_PREFIXES)]
    out: list[str] = []
    for ln in lines:
        if ln.strip() or (out and out[-1].strip()):  # collapse runs of blank lines
            out.append(ln)
    return "\n".join(out)


def write_summary(outcomes: dict[str, tuple[int, float]], quick: bool, header: str,
                  load_note: str = "") -> Path:
    """Concatenate the benchmarks' reports into SUMMARY.md and return its path.

    ``header`` is the machine description taken before the benchmarks ran (so its load
    average shows whether something else was using the CPUs); ``load_note`` says how much
    CPU other processes used during the whole run.
    """
    parts = ["# cairn benchmarks: summary", "", header, ""]
    parts.append(f"- mode: {'quick (small sizes)' if quick else 'full size'}")
    if load_note:
        parts.append(f"- {load_note}")
    for name, (code, wall) in outcomes.items():
        state = "ok" if code == 0 else f"FAILED (exit code {code})"
        parts.append(f"- {name}: {state}, {wall:.0f} s")
    for name, (code, _) in outcomes.items():
        report = RESULTS_DIR / f"{name}.md"
        parts.append("")
        if code == 0 and report.exists():
            parts.append(strip_header(report.read_text(encoding="utf-8")).strip())
        else:
            parts.append(f"## {name}\n\nThis benchmark failed; see its output above.")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "SUMMARY.md"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Run all benchmarks; exit non-zero if any failed."""
    header = machine_header(load_when="before the run")
    start = cpu_snapshot()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    args = parser.parse_args(argv)
    outcomes = {name: run_benchmark(name, args.quick) for name in BENCHMARKS}
    path = write_summary(outcomes, args.quick, header, other_load_note(start))
    print(f"\nwrote {path}")
    return max(code != 0 for code, _ in outcomes.values())


if __name__ == "__main__":
    sys.exit(main())
