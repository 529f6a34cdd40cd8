"""Fault-injection soak for ``scheduler="processes"``: worker processes SIGKILLed at random
moments while bag, delayed and large-result (NumPy arrays through /dev/shm) graphs run.

After every run it checks: the result is exactly right, the run ended within its timeout,
no /dev/shm file of this process or of any of its workers (dead or alive) is left, and the
only child processes are the pool's live workers (no zombie, no orphan). At the end the pool
is shut down and nothing may remain. Run as a script::

    python tests/soak/processes_soak.py --kills 200 [--seed 1] [--timeout 60]

It exits 0 only if every check passed; the counts are printed (see docs/engine.md,
"Faults"). tests/test_processes_faults.py runs a short version (a few kills).
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import psutil

import cairn
import cairn.bag as cb
from cairn import delayed
from cairn.processes import pool as _pool

WORKERS = 2
ARRAY = 1_000_000  # float64: 8 MB per array, well past the inline limit (through /dev/shm)


def slow_inc(x: int) -> int:
    time.sleep(random.random() * 0.004)
    return x + 1


def is_even(x: int) -> bool:
    return x % 2 == 0


def add(a: Any, b: Any) -> Any:
    time.sleep(random.random() * 0.004)
    return a + b


def make_array(seed: int) -> np.ndarray:
    time.sleep(random.random() * 0.01)
    return np.full(ARRAY, float(seed))


def scale(a: np.ndarray) -> np.ndarray:
    return a * 2.0


def dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def bag_graph(rng: random.Random) -> tuple[Any, Any]:
    n, parts = rng.randint(100, 400), rng.randint(4, 16)
    b = cb.from_sequence(range(n), npartitions=parts).map(slow_inc)
    if rng.random() < 0.5:
        return b.filter(is_even).sum(), sum(x + 1 for x in range(n) if (x + 1) % 2 == 0)
    return b.map(slow_inc).count(), n


def delayed_graph(rng: random.Random) -> tuple[Any, Any]:
    n = rng.randint(16, 64)
    level = [delayed(slow_inc)(i) for i in range(n)]
    while len(level) > 1:  # a tree: each level's results are dropped once used
        level = [delayed(add)(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0], sum(range(1, n + 1))


def large_graph(rng: random.Random) -> tuple[Any, Any]:
    k = rng.randint(2, 4)
    scaled = [delayed(scale)(delayed(make_array)(i)) for i in range(k)]
    dots = [delayed(dot)(scaled[i], scaled[(i + 1) % k]) for i in range(k)]
    want = sum(ARRAY * (2.0 * i) * (2.0 * ((i + 1) % k)) for i in range(k))
    if rng.random() < 0.5:  # an array to the caller as well
        return delayed(lambda ds, a: (sum(ds), a))(dots, scaled[-1]), (want, 2.0 * (k - 1))
    return delayed(sum)(dots), want


GRAPHS: dict[str, Callable[[random.Random], tuple[Any, Any]]] = {
    "bag": bag_graph, "delayed": delayed_graph, "large": large_graph}


def same(got: Any, want: Any) -> bool:
    if isinstance(want, tuple):  # (sum of dots, value every element of the array has)
        return got[0] == want[0] and bool((got[1] == want[1]).all()) and len(got[1]) == ARRAY
    return got == want


@dataclass
class Counts:
    runs: int = 0
    kills: int = 0
    wrong: int = 0
    errors: int = 0  # any exception, TaskCrashedError included
    hangs: int = 0
    leaked_files: int = 0
    leaked_processes: int = 0
    by_graph: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def ok(self) -> bool:
        return not (self.wrong or self.errors or self.hangs or self.leaked_files
                    or self.leaked_processes)


class Killer:
    """SIGKILLs a random live worker of the pool at random moments while a run lasts."""

    def __init__(self, rng: random.Random, budget: int, mean_gap_s: float):
        self.rng, self.budget, self.mean_gap_s = rng, budget, mean_gap_s
        self.kills = 0
        self.killed: set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while self.kills < self.budget and not self.stop.wait(
                self.rng.expovariate(1 / self.mean_gap_s)):
            pool = _pool._pool
            live = [w for w in (pool.workers if pool else []) if not w.dead]
            if not live:
                continue
            w = self.rng.choice(live)
            try:
                os.kill(w.pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.kills += 1
            self.killed.add(w.pid)


def shm_files(pids: set[int]) -> list[str]:
    return [p for pid in pids for p in glob.glob(f"/dev/shm/cairn-{pid}-*")]


def live_workers() -> set[int]:
    pool = _pool._pool
    return {w.pid for w in pool.workers if not w.dead} if pool else set()


def other_children() -> set[int]:
    """Children that are not the pool's workers (a test server the caller started, say):
    present before the soak, they are not the soak's to count."""
    workers = live_workers()
    return {c.pid for c in psutil.Process().children(recursive=True) if c.pid not in workers}


def stray_children(deadline_s: float = 5.0, before: frozenset[int] = frozenset()) -> list[str]:
    """Child processes that are not live workers of the pool (zombies included) and were not
    there ``before``; a killed worker is reaped by its reader thread, so wait a little."""
    deadline = time.monotonic() + deadline_s
    while True:
        workers = live_workers()
        stray = []
        for child in psutil.Process().children(recursive=True):
            if child.pid in before:
                continue
            try:
                status = child.status()
            except psutil.NoSuchProcess:
                continue
            if child.pid not in workers or status == psutil.STATUS_ZOMBIE:
                stray.append(f"{child.pid} ({status})")
        if not stray or time.monotonic() > deadline:
            return stray
        time.sleep(0.05)


def run_once(kind: str, rng: random.Random, kills_left: int, timeout_s: float,
             counts: Counts, seen_pids: set[int], before: frozenset[int] = frozenset()) -> int:
    graph, want = GRAPHS[kind](rng)
    box: dict = {}

    def compute() -> None:
        try:
            box["value"] = graph.compute(scheduler="processes", num_workers=WORKERS)
        except BaseException as e:  # noqa: BLE001 (counted)
            box["error"] = e

    pool = _pool.get_pool(WORKERS)
    seen_pids.update(w.pid for w in pool.workers)
    budget = min(kills_left, rng.randint(1, 3))
    killer = Killer(rng, budget, mean_gap_s=0.15)
    killing = threading.Thread(target=killer.run, daemon=True)
    killing.start()
    t = threading.Thread(target=compute, daemon=True)
    t.start()
    t.join(timeout_s)
    killer.stop.set()
    killing.join()
    seen_pids.update(killer.killed)
    seen_pids.update(w.pid for w in _pool.get_pool(WORKERS).workers)
    counts.runs += 1
    counts.kills += killer.kills
    stats = counts.by_graph.setdefault(kind, {"runs": 0, "kills": 0})
    stats["runs"] += 1
    stats["kills"] += killer.kills
    if t.is_alive():
        counts.hangs += 1
        counts.problems.append(f"run {counts.runs} ({kind}): no answer after {timeout_s} s")
        return killer.kills
    if "error" in box:
        counts.errors += 1
        e = box["error"]
        where = "".join(traceback.format_tb(e.__traceback__, limit=-3))
        counts.problems.append(f"run {counts.runs} ({kind}): {type(e).__name__}: {e}\n{where}")
    elif not same(box["value"], want):
        counts.wrong += 1
        counts.problems.append(f"run {counts.runs} ({kind}): wrong result")
    files = shm_files(seen_pids | {os.getpid()})
    if files:
        counts.leaked_files += len(files)
        counts.problems.append(f"run {counts.runs} ({kind}): left {files}")
        for f in files:
            os.unlink(f)
    stray = stray_children(before=before)
    if stray:
        counts.leaked_processes += len(stray)
        counts.problems.append(f"run {counts.runs} ({kind}): stray processes {stray}")
    return killer.kills


def soak(kills: int, seed: int = 0, timeout_s: float = 60.0, retries: int = 3,
         log: Callable[[str], None] | None = None) -> Counts:
    """Runs random graphs until ``kills`` workers were killed; returns the counts."""
    rng = random.Random(seed)
    before = frozenset(other_children())
    counts = Counts()
    seen: set[int] = set()
    kinds = list(GRAPHS)
    with cairn.config.set({"processes.retries": retries}):
        while counts.kills < kills:
            kind = kinds[counts.runs % len(kinds)]
            run_once(kind, rng, kills - counts.kills, timeout_s, counts, seen, before)
            if log and counts.runs % 20 == 0:
                log(f"{counts.runs} runs, {counts.kills} kills, {len(counts.problems)} problems")
    _pool.shutdown()
    files = shm_files(seen | {os.getpid()})
    stray = stray_children(deadline_s=5.0, before=before)
    counts.leaked_files += len(files)
    counts.leaked_processes += len(stray)
    if files or stray:
        counts.problems.append(f"after shutdown: files {files}, processes {stray}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="workers to kill in all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a run may take")
    parser.add_argument("--retries", type=int, default=3, help="config processes.retries")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    counts = soak(args.kills, args.seed, args.timeout, args.retries,
                  log=lambda line: print(line, flush=True))
    print(f"{counts.runs} runs, {counts.kills} worker kills in {time.monotonic() - t0:.0f} s "
          f"(processes.retries={args.retries}, seed {args.seed})")
    for kind, s in counts.by_graph.items():
        print(f"  {kind}: {s['runs']} runs, {s['kills']} kills")
    print(f"wrong results {counts.wrong}, errors {counts.errors}, hangs {counts.hangs}, "
          f"leaked /dev/shm files {counts.leaked_files}, "
          f"leaked processes {counts.leaked_processes}")
    for p in counts.problems:
        print("  " + p)
    return 0 if counts.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
