"""A back-of-the-envelope model of a cairn word count (and bigram count) on dask.distributed.

cairn runs past one machine on dask.distributed: ``read_text(...).str.split().flatten()
.frequencies().topk(k)`` becomes one native scan task per text block, a tree of native
merges (``split_every`` inputs each, python/cairn/bag/native.py ``_tree``), one final
merge and a top-k. This script prints, for a corpus on S3 and a cluster size, the tasks per
stage, the scheduler's time for them, S3 GET requests and their rate per prefix, bytes moved
per merge level, memory per worker, wall-time bounds, and the resource that saturates first.
It is a deterministic model, not a measurement: every input is an option, and the defaults
(100 TB, 1,000 workers) come from cairn's benchmarks, this machine and cited documentation
(see docs/scale-plan.md). ``--measure N`` times N no-op tasks on a 2-worker LocalCluster.

    python tools/scale_plan.py                      # 100 TB, 1,000 workers
    python tools/scale_plan.py --sweep              # workers from 10 to 10,000
    python tools/scale_plan.py --blocksize 1GiB --sweep
    nice -n 19 python tools/scale_plan.py --measure 20000
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass

MiB = 2**20
_UNITS = {"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "PIB": 2**50}
PIECE, MAX_PIECES = 8 * MiB, 8   # cpp/src/io/text_block.cc: ranged GETs per remote block


def parse_bytes(text: str) -> float:
    """``"64MiB"`` -> 67108864.0; decimal (TB) and binary (TiB) units."""
    m = re.fullmatch(r"\s*([\d.e+]+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).upper() not in _UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2).upper()]


def parse_range(text: str) -> tuple[float, float]:
    """``"115:404"`` -> (115.0, 404.0); ``"400"`` -> (400.0, 400.0)."""
    low, _, high = text.partition(":")
    return float(low), float(high or low)


def human(n: float, unit: str = "B") -> str:
    """Bytes in binary units (2**30 -> '1 GiB'), other units in words (3e6 -> '3 million')."""
    step, prefixes = (1024, ("", "Ki", "Mi", "Gi", "Ti", "Pi")) if unit == "B" else \
        (1000, ("", "thousand ", "million ", "billion ", "trillion "))
    for prefix in prefixes:
        if abs(n) < step or prefix == prefixes[-1]:
            return f"{n:,.0f} {prefix}{unit}" if abs(n) >= 100 else f"{n:.3g} {prefix}{unit}"
        n /= step
    return ""


def seconds(s: float) -> str:
    """120 -> '2 min'."""
    if s < 100:
        return f"{s:.2g} s" if s < 10 else f"{s:.0f} s"
    return f"{s / 60:,.0f} min" if s < 6000 else f"{s / 3600:,.1f} h"


@dataclass(frozen=True)
class Workload:
    """A counting job: distinct keys per 64 MiB partition, their growth when partitions
    are merged (Heaps' law, keys ~ bytes**beta), bytes per key on the wire, scan speed."""

    name: str
    keys_per_64mib: float
    beta: float
    key_bytes: float
    rate: tuple[float, float]  # MiB/s per core, (slow, fast)
    scan_mem: float            # peak bytes of a scan per byte of the segment it reads

    def keys(self, nbytes: float) -> float:
        """Distinct keys in ``nbytes`` of text."""
        return self.keys_per_64mib * (nbytes / (64 * MiB)) ** self.beta


def merge_levels(parts: int, split_every: int) -> list[int]:
    """Tasks per merge level, as native._tree builds them (levels while > split_every)."""
    levels = []
    while parts > split_every:
        parts = math.ceil(parts / split_every)
        levels.append(parts)
    return levels


def layout(a: argparse.Namespace) -> tuple[int, int, int, float]:
    """(files, files per partition, partitions, S3 GETs) as read_text cuts the corpus: blocks
    of a file, or, with blocks of a file or more, whole files, k per partition
    (``blocksize=None, files_per_partition=k``). A remote read of over 16 MiB is
    min(8, size / 8 MiB) concurrent ranged GETs; a block boundary inside a file costs one
    64 KiB GET to find the line start (cpp/src/io/text_block.cc)."""
    files = math.ceil(a.total / a.file_size)

    def pieces(size: float) -> int:
        return min(MAX_PIECES, math.ceil(size / PIECE)) if size > 2 * PIECE else 1

    if a.blocksize >= a.file_size:
        per_part = int(a.blocksize // a.file_size)
        return files, per_part, math.ceil(files / per_part), files * pieces(a.file_size)
    per_file = int(a.file_size // a.blocksize)  # textio.block_offsets: floor(size / blocksize)
    parts = files * per_file
    return files, 1, parts, parts * pieces(a.file_size / per_file) + 2 * (parts - files)


def plan(a: argparse.Namespace, w: Workload, workers: int) -> dict:
    """The model for one workload and cluster size (times in s, sizes in bytes)."""
    files, per_part, parts, gets = layout(a)
    block = a.total / parts                                       # bytes per scan task
    levels = merge_levels(parts, a.split_every)
    tasks = [parts, *levels, 1] + ([1] if a.topk else [])
    task_s = [block / MiB / r for r in w.rate]                    # one scan task (slow, fast)
    bounds = {"S3/network": a.total / (workers * a.bandwidth),
              "CPU": a.total / MiB / (workers * a.threads * w.rate[1]),
              "scheduler": parts / a.task_rate,
              "S3 GET limit": gets / (a.get_limit * a.prefixes)}
    cpu_slow = a.total / MiB / (workers * a.threads * w.rate[0])
    scan = (max(bounds.values()), max(cpu_slow, *bounds.values()))
    pace = max((k for k in bounds if k != "S3 GET limit"), key=bounds.get)
    demand = gets / bounds[pace]                      # GET/s at the pace of the next bound
    # Merge levels: a task covers `cover` partitions; its inputs arrive from the level below.
    rows, inputs, merge_s = [], parts, 0.0
    for n in [*levels, 1]:
        cover, fan_in = parts / n, inputs / n
        in_bytes = fan_in * w.keys(cover / fan_in * block) * w.key_bytes
        out = w.keys(cover * block) * w.key_bytes
        moved = n * in_bytes * (1 - 1 / fan_in)                  # one input is already local
        busy = min(workers, n)
        at_once = min(a.threads, math.ceil(n / busy))
        mem = at_once * (in_bytes * (1 + a.mem_factor) + out * a.mem_factor)
        t = max(moved / (busy * a.bandwidth), n / a.task_rate,
                n * in_bytes / MiB / (busy * at_once * a.merge_rate))
        rows.append((n, fan_in, in_bytes, out, moved, mem, t))
        merge_s, inputs = merge_s + t, n
    table = w.keys(block) * w.key_bytes
    blocks_per_s = min(a.bandwidth / block, a.threads / task_s[1])  # one worker, fast scan
    limits = {"scheduler task rate": a.task_rate / blocks_per_s,
              f"S3 GETs ({a.prefixes} prefix{'es' if a.prefixes > 1 else ''})":
              a.get_limit * a.prefixes / (gets / parts * blocks_per_s)}
    final_keys = w.keys(a.total)
    return dict(files=files, per_part=per_part, parts=parts, gets=gets, block=block,
                tasks=tasks, task_s=task_s, bounds=bounds, cpu_slow=cpu_slow, scan=scan,
                demand=demand, pace=pace, levels=rows, merge_s=merge_s, table=table,
                scan_mem=a.threads * (w.scan_mem * block / per_part + a.mem_factor * table),
                peak_mem=max(r[5] for r in rows), final_keys=final_keys, limits=limits,
                result=(a.topk or final_keys) * a.client_key_bytes,
                graph_s=parts * a.graph_us * 1e-6, sched_s=sum(tasks) / a.task_rate)


def describe(a: argparse.Namespace, p: dict) -> str:
    """One line naming the corpus and how it is cut."""
    how = (f"whole files, {p['per_part']} per task" if a.blocksize >= a.file_size
           else f"blocks of {human(p['block'])}")
    return (f"{a.total / 1e12:,.4g} TB ({human(a.total)}) in {p['files']:,} objects of "
            f"{human(a.file_size)}, {how}, split_every={a.split_every}")


def report(a: argparse.Namespace, w: Workload) -> None:
    """The model for ``a.workers`` workers: a table per stage, then the totals."""
    p = plan(a, w, a.workers)
    print(f"\n## {w.name}: {describe(a, p)}, {a.workers:,} workers x {a.threads} threads\n")
    print("| stage | tasks | inputs per task | bytes in per task | bytes out per task "
          "| moved between workers | memory per worker |\n|---|---|---|---|---|---|---|")
    print(f"| scan | {p['parts']:,} | {p['per_part']} | {human(p['block'])} | {human(p['table'])} "
          f"| - | {human(p['scan_mem'])} ({a.threads} at once) |")
    for i, (n, fan, inb, out, moved, mem, _) in enumerate(p["levels"]):
        name = f"merge {i}" if i < len(p["levels"]) - 1 else "final merge"
        print(f"| {name} | {n:,} | {fan:.3g} | {human(inb)} | {human(out)} | {human(moved)} "
              f"| {human(mem)} |")
    if a.topk:
        print(f"| top-{a.topk} | 1 | 1 | - | {human(p['result'])} | - | - |")
    b = p["bounds"]
    moved = sum(r[4] for r in p["levels"])
    print(f"\n- tasks: {sum(p['tasks']):,} ({' + '.join(f'{t:,}' for t in p['tasks'])}); "
          f"scheduler time at {a.task_rate:,.0f} tasks/s: {seconds(p['sched_s'])}; "
          f"client graph build at {a.graph_us:g} us/partition: {seconds(p['graph_s'])}")
    print(f"- S3: {p['gets']:,.0f} GETs ({p['gets'] / p['parts']:.3g} per task) + "
          f"{math.ceil(p['files'] / 1000):,} LIST pages; at the pace of its {p['pace']} bound "
          f"the scan wants {p['demand']:,.0f} GET/s "
          f"= {p['demand'] / a.get_limit:,.1f} partitioned prefixes at {a.get_limit:,.0f} GET/s "
          f"each ({a.prefixes} given)")
    print(f"- scan bounds: S3/network {seconds(b['S3/network'])}, CPU {seconds(b['CPU'])} - "
          f"{seconds(p['cpu_slow'])} ({w.rate[1]:g}-{w.rate[0]:g} MiB/s per core), scheduler "
          f"{seconds(b['scheduler'])}, S3 GET limit {seconds(b['S3 GET limit'])}; a scan task "
          f"takes {seconds(p['task_s'][1])}-{seconds(p['task_s'][0])}")
    print(f"- wall time: scan {seconds(p['scan'][0])} - {seconds(p['scan'][1])} (bound by "
          f"{max(b, key=b.get)}), then merges >= {seconds(p['merge_s'])}; merges move "
          f"{human(moved)} between workers ({moved / a.total:.2g}x the corpus)")
    fits = "fits" if p["peak_mem"] <= a.worker_memory else "DOES NOT FIT"
    print(f"- final table {human(p['final_keys'], 'keys')}; result to the client "
          f"{human(p['result'])}; peak merge memory on one worker {human(p['peak_mem'])}: "
          f"{fits} in {human(a.worker_memory)}; the top merges split by key hash into "
          f">= {math.ceil(p['peak_mem'] / a.worker_memory):,} buckets would fit")
    first = sorted(p["limits"].items(), key=lambda kv: kv[1])
    print("- shared resources saturate at: "
          + "; ".join(f"{k} ~{v:,.0f} workers" for k, v in first))


def sweep(a: argparse.Namespace, w: Workload) -> None:
    """One row per worker count: the scan's bounds, what limits it, GET demand, merges."""
    print(f"\n## {w.name}: {describe(a, plan(a, w, 1))}, {a.threads} threads per worker\n")
    print("| workers | S3/network | CPU (fast-slow) | scheduler | S3 GETs | scan wall | limited by "
          "| GET/s wanted | prefixes needed | merges | peak merge memory |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in (10, 30, 100, 300, 1000, 3000, 10000):
        p = plan(a, w, n)
        b = p["bounds"]
        print(f"| {n:,} | {seconds(b['S3/network'])} | {seconds(b['CPU'])}-{seconds(p['cpu_slow'])}"
              f" | {seconds(b['scheduler'])} | {seconds(b['S3 GET limit'])} "
              f"| {seconds(p['scan'][0])}-{seconds(p['scan'][1])} | {max(b, key=b.get)} "
              f"| {p['demand']:,.0f} | {math.ceil(p['demand'] / a.get_limit):,} "
              f"| {seconds(p['merge_s'])} | {human(p['peak_mem'])} |")


def _noop(x: int) -> int:
    """The task --measure runs."""
    return x


def measure(n: int) -> None:
    """N no-op tasks through client.map on a 2-worker LocalCluster: tasks/s and CPU per task."""
    import os
    import time

    import psutil
    from distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.gather(client.map(_noop, range(200), pure=False))
        procs = [psutil.Process()] + [psutil.Process(pid) for pid in client.run(os.getpid).values()]
        cpu0 = [sum(p.cpu_times()[:2]) for p in procs]
        t0 = time.perf_counter()
        wait(client.map(_noop, range(n), pure=False))
        wall = time.perf_counter() - t0
        cpu = [sum(p.cpu_times()[:2]) - c for p, c in zip(procs, cpu0)]
    print(f"{n:,} no-op tasks on 2 workers: {wall:.1f} s wall = {n / wall:,.0f} tasks/s; CPU per "
          f"task: scheduler+client process {1e6 * cpu[0] / n:,.0f} us, workers "
          f"{1e6 * sum(cpu[1:]) / n:,.0f} us; load average {os.getloadavg()[0]:.2f}")


def main(argv: list[str] | None = None) -> None:
    """Parse the options; print the model (or the sweep, or a measurement)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    size = parse_bytes
    ap.add_argument("--workers", type=int, default=1000, help="dask workers")
    ap.add_argument("--threads", type=int, default=4, help="threads (cores) per worker")
    ap.add_argument("--total", type=size, default="100TB", help="corpus size")
    ap.add_argument("--file-size", type=size, default="1GiB", help="size of each S3 object")
    ap.add_argument("--blocksize", type=size, default="64MiB", help="read_text blocksize")
    ap.add_argument("--split-every", type=int, default=8, help="merge fan-in (frequencies)")
    ap.add_argument("--words-per-part", type=float, default=250_000,
                    help="distinct words per 64 MiB (assumed for web text)")
    ap.add_argument("--bigrams-per-part", type=float, default=2_850_000,
                    help="distinct bigrams per 64 MiB (measured, Zipf corpus)")
    ap.add_argument("--heaps-words", type=float, default=0.5, help="distinct ~ bytes**beta")
    ap.add_argument("--heaps-bigrams", type=float, default=0.77, help="(measured, Zipf)")
    ap.add_argument("--word-key-bytes", type=float, default=24, help="wire bytes per word key")
    ap.add_argument("--bigram-key-bytes", type=float, default=24.2, help="(measured)")
    ap.add_argument("--word-rate", type=parse_range, default="115:404",
                    help="scan MiB/s per core, slow:fast (benchmarks/README.md)")
    ap.add_argument("--bigram-rate", type=parse_range, default="47:106", help="(same)")
    ap.add_argument("--word-scan-mem", type=float, default=1.2,
                    help="peak scan memory per block byte (measured)")
    ap.add_argument("--bigram-scan-mem", type=float, default=3.2, help="(measured)")
    ap.add_argument("--merge-rate", type=float, default=500, help="merge MiB/s of input per core")
    ap.add_argument("--mem-factor", type=float, default=1.5, help="decoded bytes per wire byte")
    ap.add_argument("--task-rate", type=float, default=1000,
                    help="scheduler tasks/s (Dask: about 1 ms a task)")
    ap.add_argument("--bandwidth", type=size, default="1.25GB",
                    help="S3 bytes/s per worker (10 Gb/s NIC)")
    ap.add_argument("--get-limit", type=float, default=5500, help="S3 GET/HEAD per s per prefix")
    ap.add_argument("--prefixes", type=int, default=1, help="partitioned S3 prefixes")
    ap.add_argument("--worker-memory", type=size, default="16GiB", help="RAM per worker")
    ap.add_argument("--topk", type=int, default=20, help="0: the whole table to the client")
    ap.add_argument("--client-key-bytes", type=float, default=120,
                    help="client memory per key of a whole table as Python (str, int) tuples")
    ap.add_argument("--graph-us", type=float, default=60,
                    help="client graph build per partition, us (measured)")
    ap.add_argument("--workload", choices=("words", "bigrams", "both"), default="both",
                    help="which count to model")
    ap.add_argument("--sweep", action="store_true", help="a table over worker counts")
    ap.add_argument("--measure", type=int, metavar="N", help="time N no-op distributed tasks")
    a = ap.parse_args(argv)
    if a.measure:
        measure(a.measure)
        return
    loads = {"words": Workload("word count", a.words_per_part, a.heaps_words,
                               a.word_key_bytes, a.word_rate, a.word_scan_mem),
             "bigrams": Workload("bigram count", a.bigrams_per_part, a.heaps_bigrams,
                                 a.bigram_key_bytes, a.bigram_rate, a.bigram_scan_mem)}
    for name in (("words", "bigrams") if a.workload == "both" else (a.workload,)):
        (sweep if a.sweep else report)(a, loads[name])


if __name__ == "__main__":
    main()
