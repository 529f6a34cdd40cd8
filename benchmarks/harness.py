"""Shared helpers for cairn's side-by-side benchmarks.

Everything here uses the standard library only, so that a fresh subprocess which imports
this module (see :func:`run_isolated`) starts from a small, known memory footprint.

Peak memory
-----------
:func:`run_isolated` runs a callable in a new interpreter and reports that child's peak
resident set size. On Linux, ``getrusage(RUSAGE_SELF).ru_maxrss`` is *not* reset by
``execve``: the child inherits the high-water mark of the parent's address space at fork
time, so a child started by a 1.5 GB parent reports >= 1.5 GB even if it used 15 MB. The
per-address-space high-water mark ``VmHWM`` in ``/proc/self/status`` is reset at exec, so
the child reports that when it is available and falls back to ``ru_maxrss`` elsewhere.
Both numbers are returned to the caller.
"""

from __future__ import annotations

import datetime as _dt
import gc
import importlib.util
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
TRAILING_COLUMNS = ("runs",)  # extra columns always shown last


# --------------------------------------------------------------------------- machine info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _ram_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def _version(module: str) -> str:
    """Version of an installed module, or a short reason why there is none."""
    try:
        mod = __import__(module)
    except Exception as exc:  # noqa: BLE001 - report any import failure
        return f"not importable ({type(exc).__name__})"
    return str(getattr(mod, "__version__", "unknown"))


def _installed_at(module: str) -> str:
    """When an installed package's files were last written (UTC), to tell builds apart."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return "unknown"
    if spec is None or spec.origin is None:
        return "unknown"
    mtime = Path(spec.origin).stat().st_mtime
    return _dt.datetime.fromtimestamp(mtime, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def machine_info() -> dict[str, str]:
    """Describe the machine and software the benchmarks ran on.

    Returns
    -------
    dict
        CPU model, logical cores, RAM, OS, Python, the versions of cairn (and when it was
        installed), dask and pyarrow, and the 1/5/15-minute load average (other work on
        the machine skews timings), as strings ready to print.
    """
    ram = _ram_gb()
    try:
        load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "ram": f"{ram:.1f} GB" if ram is not None else "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cairn": _version("cairn"),
        "cairn_installed": _installed_at("cairn"),
        "dask": _version("dask"),
        "pyarrow": _version("pyarrow"),
        "load": load,
    }


# --------------------------------------------------------------------------- other load


@dataclass
class CpuSnapshot:
    """Wall clock, whole-machine busy CPU time and this process's own CPU time (seconds)."""

    wall_s: float
    machine_busy_s: float | None
    own_cpu_s: float


def cpu_snapshot() -> CpuSnapshot:
    """Take a :class:`CpuSnapshot` (machine busy time from ``/proc/stat``; None elsewhere).

    Own CPU time includes reaped child processes, so benchmark subprocesses count as own.
    """
    busy: float | None = None
    try:
        with open("/proc/stat", encoding="utf-8") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal ...: busy = all but idle, iowait, steal
        busy = (sum(fields[:3]) + sum(fields[5:7])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    t = os.times()
    own = t.user + t.system + t.children_user + t.children_system
    return CpuSnapshot(time.perf_counter(), busy, own)


def other_load_note(start: CpuSnapshot, end: CpuSnapshot | None = None) -> str:
    """A sentence saying how much CPU other processes used between two snapshots.

    Work by other processes on a 2-core machine distorts the timings; this makes it visible.
    """
    end = end or cpu_snapshot()
    if start.machine_busy_s is None or end.machine_busy_s is None:
        return "CPU use by other processes during the run: unknown (no /proc/stat)"
    wall = max(end.wall_s - start.wall_s, 1e-9)
    others = (end.machine_busy_s - start.machine_busy_s) - (end.own_cpu_s - start.own_cpu_s)
    cores = max(others, 0.0) / wall
    flag = " (the machine was NOT quiet: timings are suspect)" if cores > 0.2 else ""
    return (f"CPU use by other processes during the run: {cores:.2f} of "
            f"{os.cpu_count()} cores on average over {wall:.0f} s{flag}")


# --------------------------------------------------------------------------- timing


@dataclass
class Measurement:
    """Result of timing a callable several times.

    Attributes
    ----------
    best_s : float
        Fastest wall time of the runs, in seconds.
    times_s : list of float
        Every run's wall time.
    result : Any
        Return value of the last run (for correctness checks).
    """

    best_s: float
    times_s: list[float]
    result: Any


def measure(fn: Callable[[], Any], repeat: int = 3, budget_s: float | None = None) -> Measurement:
    """Run ``fn`` up to ``repeat`` times and keep the best wall time.

    Parameters
    ----------
    fn : callable
        Called with no arguments. Garbage is collected before each run (not timed).
    repeat : int
        Number of runs.
    budget_s : float, optional
        Stop repeating once the runs so far took longer than this in total (at least one
        run always happens). Keeps slow peers from dominating the benchmark's run time.

    Returns
    -------
    Measurement
    """
    times: list[float] = []
    result: Any = None
    for _ in range(max(1, repeat)):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        if budget_s is not None and sum(times) > budget_s:
            break
    return Measurement(min(times), times, result)


def time_best(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Best wall time in seconds of ``repeat`` calls of ``fn()``."""
    return measure(fn, repeat).best_s


# --------------------------------------------------------------------------- subprocesses


class ChildFailed(RuntimeError):
    """The benchmark subprocess exited with an error."""


_CHILD = r"""
import importlib.util, pickle, resource, sys
path, name, out = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, sys.argv[4])
spec = importlib.util.spec_from_file_location("_bench_child_module", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
fn = module
for part in name.split("."):
    fn = getattr(fn, part)
args, kwargs = pickle.load(sys.stdin.buffer)
result = fn(*args, **kwargs)
hwm_kb = None
try:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm_kb = int(line.split()[1])
except OSError:
    pass
maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.platform == "darwin":
    maxrss_kb //= 1024
with open(out, "wb") as f:
    pickle.dump((result, hwm_kb, maxrss_kb), f)
"""


@dataclass
class ChildRun:
    """What :func:`run_isolated` brings back from the child process.

    Attributes
    ----------
    result : Any
        The callable's return value.
    peak_rss_mb : float
        Peak resident set size of the child (``VmHWM``; ``ru_maxrss`` if unavailable).
    ru_maxrss_mb : float
        The child's ``getrusage(RUSAGE_SELF).ru_maxrss`` (includes the parent's peak on
        Linux, see the module docstring).
    wall_s : float
        Wall time of the whole child process, including interpreter start-up.
    """

    result: Any
    peak_rss_mb: float
    ru_maxrss_mb: float
    wall_s: float


def _module_file(fn: Callable) -> Path:
    module = sys.modules.get(fn.__module__)
    path = getattr(module, "__file__", None)
    if path is None:
        spec = importlib.util.find_spec(fn.__module__)
        path = spec.origin if spec is not None else None
    if path is None:
        raise ValueError(f"cannot locate the source file of {fn!r}")
    return Path(path).resolve()


def run_isolated(
    fn: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any
) -> ChildRun:
    """Call ``fn(*args, **kwargs)`` in a fresh Python interpreter; return result and peak RSS.

    Parameters
    ----------
    fn : callable
        A module-level function of an importable file (a script's functions work too: the
        file is loaded under another name, so its ``if __name__ == "__main__"`` block does
        not run). Arguments and the result must be picklable.
    *args, **kwargs
        Passed to ``fn``.
    timeout : float, optional
        Seconds after which the child is killed and :class:`subprocess.TimeoutExpired`
        is raised.

    Returns
    -------
    ChildRun

    Raises
    ------
    ChildFailed
        If the child exits with an error (its stderr tail is in the message).
    """
    path = _module_file(fn)
    with tempfile.TemporaryDirectory(prefix="cairn-bench-") as tmp:
        out = Path(tmp) / "result.pickle"
        cmd = [sys.executable, "-c", _CHILD, str(path), fn.__qualname__, str(out), str(BENCH_DIR)]
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd,
            input=pickle.dumps((args, kwargs)),
            capture_output=True,
            timeout=timeout,
            cwd=tempfile.gettempdir(),  # never import cairn from a source tree by accident
            check=False,
        )
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not out.exists():
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-15:]
            raise ChildFailed(
                f"{fn.__qualname__} exited with code {proc.returncode}:\n" + "\n".join(tail)
            )
        with open(out, "rb") as f:
            result, hwm_kb, maxrss_kb = pickle.load(f)
    peak_kb = hwm_kb if hwm_kb is not None else maxrss_kb
    return ChildRun(result, peak_kb / 1024, maxrss_kb / 1024, wall)


def peak_rss_self_mb() -> float:
    """Peak RSS of the current process in MB (``VmHWM``, else ``ru_maxrss``)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 / (1024 if sys.platform == "darwin" else 1)


# --------------------------------------------------------------------------- reports


@dataclass
class Row:
    """One line of a benchmark table.

    Attributes
    ----------
    workload : str
        Rows with the same workload are compared with each other.
    tool : str
        What ran (e.g. ``"cairn threads"``).
    time_s : float or None
        Best wall time, or None if the run failed or timed out (explain in ``status``).
    n_tasks : int or None
        Number of tasks, for the per-task column.
    baseline : bool
        This row is the cairn time the workload's other rows are compared with.
    status : str
        Shown instead of the time when ``time_s`` is None (e.g. ``"timeout > 60 s"``).
    at_least_s : float, optional
        For a run stopped by a timeout: it took at least this long (the ratio column then
        shows a lower bound).
    extra : dict
        Further columns (name -> already formatted value), e.g. peak RSS.
    """

    workload: str
    tool: str
    time_s: float | None
    n_tasks: int | None = None
    baseline: bool = False
    status: str = ""
    at_least_s: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def per_task_us(self) -> float | None:
        """Wall time per task in microseconds."""
        if self.time_s is None or not self.n_tasks:
            return None
        return self.time_s / self.n_tasks * 1e6


def ratio_vs_cairn(rows: Sequence[Row], row: Row) -> float | None:
    """``row``'s time divided by its workload's cairn baseline time (>1: cairn is faster)."""
    base = _baseline(rows, row)
    if base is None or base.time_s is None or row.time_s is None or base.time_s <= 0:
        return None
    return row.time_s / base.time_s


def _baseline(rows: Sequence[Row], row: Row) -> Row | None:
    return next((r for r in rows if r.workload == row.workload and r.baseline), None)


def ratio_cell(rows: Sequence[Row], row: Row) -> str:
    """The 'ratio vs cairn' cell: a ratio, a lower bound (``> 74``) for timeouts, or a dash."""
    if row.baseline:
        return "1.00 (baseline)"
    ratio = ratio_vs_cairn(rows, row)
    if ratio is not None:
        return f"{ratio:,.2f}"
    base = _baseline(rows, row)
    if row.at_least_s is not None and base is not None and base.time_s:
        return f"> {row.at_least_s / base.time_s:,.0f}"
    return "—"


def fmt_seconds(s: float | None) -> str:
    """Seconds with about four significant digits."""
    if s is None:
        return "—"
    return f"{s:.4f}" if s < 1 else f"{s:.3f}" if s < 100 else f"{s:.1f}"


def fmt_float(x: float | None, digits: int = 2) -> str:
    """A float with thousands separators, or a dash for None."""
    return "—" if x is None else f"{x:,.{digits}f}"


def fmt_count(x: float | None) -> str:
    """A large count with thousands separators (no decimals)."""
    return "—" if x is None else f"{x:,.0f}"


def markdown_table(rows: Sequence[Row], columns: Sequence[str] = ()) -> str:
    """Render rows as a GitHub markdown table.

    Extra columns follow the standard ones: first those named in ``columns``, then the
    others in order of first appearance, with :data:`TRAILING_COLUMNS` last.
    """
    extra_cols: list[str] = list(columns)
    for r in rows:
        extra_cols += [c for c in r.extra if c not in extra_cols]
    extra_cols.sort(key=lambda c: c in TRAILING_COLUMNS)  # stable: keeps first-seen order
    header = ["workload", "tool", "time (s)", "per-task µs", "ratio vs cairn", *extra_cols]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [
            r.workload,
            r.tool,
            fmt_seconds(r.time_s) if r.time_s is not None else (r.status or "—"),
            fmt_float(r.per_task_us),
            ratio_cell(rows, r),
            *(r.extra.get(c, "") for c in extra_cols),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine_header(info: dict[str, str] | None = None,
                   load_when: str = "when the report was written") -> str:
    """Markdown lines describing the machine, the date and the current load average."""
    info = info or machine_info()
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return "\n".join(
        [
            f"- date: {now}",
            f"- cpu: {info['cpu']} ({info['cores']} logical cores), RAM {info['ram']}",
            f"- os: {info['os']}; {info['python']}",
            f"- cairn {info['cairn']} (installed {info['cairn_installed']}), dask {info['dask']}, "
            f"pyarrow {info['pyarrow']}",
            f"- load average {load_when} (1/5/15 min): {info['load']}",
        ]
    )


def write_report(name: str, rows: Sequence[Row], notes: Sequence[str] = (),
                 title: str | None = None, columns: Sequence[str] = ()) -> Path:
    """Print a benchmark's markdown report and write it to ``benchmarks/results/<name>.md``.

    Parameters
    ----------
    name : str
        File stem of the report.
    rows : sequence of Row
        The table.
    notes : sequence of str
        Paragraphs printed after the table (verdicts, caveats, failures).
    title : str, optional
        Heading (default: ``name``).
    columns : sequence of str
        Preferred order of the extra columns (see :func:`markdown_table`).

    Returns
    -------
    Path
        The file written.
    """
    parts = [f"## {title or name}", "", machine_header(), "", markdown_table(rows, columns)]
    if notes:
        parts += ["", *[f"- {n}" for n in notes]]
    return save_report(name, "\n".join(parts) + "\n")


def save_report(name: str, text: str) -> Path:
    """Print a finished markdown report and write it to ``benchmarks/results/<name>.md``
    (for benchmarks that lay out several tables themselves)."""
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path
