"""A linear chain of ``N`` tiny Python tasks (``x_i = inc(x_{i-1})``, one dict graph) on
``scheduler="threads"`` and ``"processes"``: time and peak RSS of the parent and of the
workers, each run in a fresh process. Measures the fusion of linear chains before tasks are
shipped to worker processes (docs/engine.md, "Faults and fusion").

Run ``python benchmarks/processes_chain.py [N ...]`` (default 1,000,000).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, os, resource, sys, time
import cairn

def inc(x):
    return x + 1

n, scheduler = int(sys.argv[1]), sys.argv[2]
dsk = {("x", 0): (inc, 0)}
for i in range(1, n):
    dsk[("x", i)] = (inc, ("x", i - 1))
t0 = time.perf_counter()
value = cairn.get(dsk, ("x", n - 1), scheduler=scheduler, num_workers=2)
seconds = time.perf_counter() - t0
assert value == n, value
workers = 0
if scheduler == "processes":
    from cairn.processes import pool
    for w in pool.get_pool(2).workers:
        with open(f"/proc/{w.pid}/status") as f:
            workers = max(workers, next(int(l.split()[1]) for l in f if l.startswith("VmHWM")))
print(json.dumps({"seconds": seconds,
                  "parent_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_mb": workers / 1024}))
"""


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1_000_000]
    print("| tasks | scheduler | compute (s) | parent peak RSS (MB) | worker peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for n in sizes:
        for scheduler in ("threads", "processes"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(n), scheduler],
                                 capture_output=True, text=True, check=True, env=os.environ)
            r = json.loads(out.stdout.splitlines()[-1])
            print(f"| {n:,} | {scheduler} | {r['seconds']:.2f} | {r['parent_mb']:,.0f} | "
                  f"{r['worker_mb']:,.0f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
