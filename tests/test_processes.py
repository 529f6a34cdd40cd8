"""scheduler="processes": the same results as threads, in warm worker processes, and
what happens when workers die, tasks cannot be pickled, or the parent is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import cairn
import cairn.bag as cb
from cairn import delayed
from cairn.processes import TaskCrashedError


def inc(x):
    return x + 1


def pid(_):
    return os.getpid()


def test_delayed_graph_same_result_as_threads():
    parts = [delayed(inc)(i) for i in range(50)]
    pairs = [delayed(lambda a, b: (a, b))(parts[i], parts[-i - 1]) for i in range(10)]
    total = delayed(sum)(parts)
    expected = cairn.compute(total, pairs, scheduler="threads")
    assert cairn.compute(total, pairs, scheduler="processes") == expected


def test_tasks_run_in_other_processes_and_the_pool_stays_warm():
    pids = set(cairn.compute(*[delayed(pid)(i) for i in range(8)], scheduler="processes"))
    assert os.getpid() not in pids
    again = set(cairn.compute(*[delayed(pid)(i) for i in range(8)], scheduler="processes"))
    assert pids & again  # the same worker processes served the second computation


def test_numpy_arrays_between_tasks():
    a = delayed(np.arange)(2_000_000, dtype=np.float64)
    b = delayed(np.multiply)(a, 2.0)
    c = delayed(np.add)(b, a)
    result = c.compute(scheduler="processes")
    np.testing.assert_array_equal(result, np.arange(2_000_000, dtype=np.float64) * 3)


def test_exception_is_the_tasks_own_with_the_workers_traceback():
    def parse(text):
        return int(text)

    with pytest.raises(ValueError, match="invalid literal") as info:
        delayed(parse)("x").compute(scheduler="processes")
    assert "Traceback in the worker process" in str(info.value.__cause__)


def test_unpicklable_task_names_the_task():
    lock = threading.Lock()

    def uses_lock(x):
        with lock:
            return x

    with pytest.raises(TypeError, match="holds-a-lock.*cannot be sent"):
        delayed(uses_lock)(1, dask_key_name="holds-a-lock").compute(scheduler="processes")


def test_a_worker_killed_once_is_replaced_and_the_task_retried(tmp_path):
    marker = tmp_path / "died-once"

    def dies_first_time(x):
        if not marker.exists():
            marker.write_text("x")
            os._exit(3)
        return x * 10

    assert delayed(dies_first_time)(4).compute(scheduler="processes") == 40
    assert delayed(inc)(1).compute(scheduler="processes") == 2  # the pool works on


def test_a_task_that_kills_its_worker_every_time_fails_with_the_signal():
    def segfault(x):
        os.kill(os.getpid(), signal.SIGSEGV)

    with pytest.raises(TaskCrashedError, match=r"'crasher'.*SIGSEGV"):
        delayed(segfault)(1, dask_key_name="crasher").compute(scheduler="processes")


def test_bag_methods_same_as_threads():
    b = cb.from_sequence(range(1000), npartitions=7)
    words = cb.from_sequence(["a b", "b c", "c d a"] * 50, npartitions=4)
    cases = [
        b.map(lambda x: x * 2).filter(lambda x: x % 3).sum(),
        b.foldby(lambda x: x % 5, lambda acc, x: acc + x, 0),
        b.groupby(lambda x: x % 4).map(lambda kv: (kv[0], sorted(kv[1]))),
        words.str.split().flatten().frequencies(),
        b.topk(5, key=lambda x: -x),
        b.distinct().count(),
    ]
    for case in cases:
        got = case.compute(scheduler="processes")
        want = case.compute(scheduler="threads")
        if isinstance(want, list):
            got, want = sorted(map(repr, got)), sorted(map(repr, want))
        assert got == want


def _child_script(body: str) -> str:
    return textwrap.dedent(f"""
        import os, sys, time
        import cairn
        from cairn import delayed
        {textwrap.indent(textwrap.dedent(body), "        ").strip()}
    """)


def test_no_worker_survives_the_parent_killed_with_sigkill():
    script = _child_script("""
        pids = cairn.compute(*[delayed(os.getpid)() for _ in range(4)], scheduler="processes")
        from cairn.processes.pool import get_pool
        print(" ".join(str(w.pid) for w in get_pool(2).workers), flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "CAIRN_TEST": "1"})
    line = proc.stdout.readline()
    workers = [int(p) for p in line.split()]
    assert workers
    proc.kill()
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.05)
    assert not alive, f"worker processes {alive} outlived their parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_ctrl_c_stops_the_workers_work_quickly():
    script = _child_script("""
        def slow(x):
            time.sleep(60)
            return x
        print("start", flush=True)
        t0 = time.monotonic()
        try:
            cairn.compute(delayed(slow)(1), delayed(slow)(2), scheduler="processes", num_workers=2)
        except KeyboardInterrupt:
            print(f"interrupted after {time.monotonic() - t0:.1f} s", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "start"
    time.sleep(1.5)  # workers started and sleeping in the task
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert "interrupted after" in out
    waited = float(out.split("interrupted after")[1].split()[0])
    assert waited < 1.5 + 3.0


def test_an_unpicklable_result_names_its_task():
    def make_lock(_):
        return threading.Lock()

    with pytest.raises(TypeError, match=r"result of task 'locker' cannot be sent"):
        delayed(make_lock)(1, dask_key_name="locker").compute(scheduler="processes")


def test_workers_that_cannot_start_give_a_clear_error(monkeypatch):
    from cairn.processes import pool

    pool.shutdown()
    monkeypatch.setattr(pool.sys, "executable", "/bin/false")
    try:
        with pytest.raises(RuntimeError, match="did not start"):
            delayed(inc)(1).compute(scheduler="processes")
    finally:
        monkeypatch.undo()
        pool.shutdown()
    assert delayed(inc)(1).compute(scheduler="processes") == 2


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_results_are_dropped_in_the_worker_once_consumed():
    from cairn.processes import pool

    pool.shutdown()

    def big(i):
        return np.full(5_000_000, float(i))  # 40 MB

    def total(a):
        return float(a.sum())

    sums = [delayed(total)(delayed(big)(i)) for i in range(12)]  # 480 MB made in all
    result = delayed(sum)(sums).compute(scheduler="processes", num_workers=1)
    assert result == sum(5_000_000.0 * i for i in range(12))
    (worker,) = pool.get_pool(1).workers
    assert _peak_rss_mb(worker.pid) < 250, "the worker kept results nobody needed"
    pool.shutdown()


def test_a_read_text_scan_feeding_python_steps_runs_in_the_worker(tmp_path):
    from cairn.core.recipes import run_to_python
    from cairn.processes.scheduler import rewrite

    path = tmp_path / "lines.txt"
    path.write_text("a b\nc\n")
    b = cb.read_text(str(path)).map(len)
    _, graph = rewrite(b.__cairn_graph__(), b.__cairn_keys__(), pool=None, fuse=False)
    assert [spec[0] for spec in graph.tasks.values()].count(run_to_python) == 1


class _Setting:
    value = 0


def _set_up_worker():
    _Setting.value = 1


def _setting(_):
    return _Setting.value


def _initializer_that_fails():
    raise RuntimeError("no licence server")


def test_initializer_runs_in_each_worker_and_does_not_leak_into_later_computations():
    tasks = [delayed(_setting, pure=False)(i) for i in range(6)]
    assert cairn.compute(*tasks, scheduler="processes", num_workers=2,
                         initializer=_set_up_worker) == (1,) * 6
    # Workers started with an initializer are not reused by a computation without it.
    assert cairn.compute(*tasks, scheduler="processes", num_workers=2) == (0,) * 6
    with cairn.config.set({"multiprocessing.initializer": _set_up_worker}):
        assert cairn.compute(*tasks, scheduler="processes", num_workers=2) == (1,) * 6
    from cairn.multiprocessing import get

    assert get({"x": (_setting, 1)}, "x", num_workers=2, initializer=_set_up_worker) == 1
    assert get({"x": (_setting, 1)}, "x", num_workers=2) == 0


def test_an_initializer_that_fails_raises_its_error():
    with pytest.raises(RuntimeError, match="no licence server"):
        cairn.compute(delayed(_setting)(1), scheduler="processes", num_workers=1,
                      initializer=_initializer_that_fails)
    assert cairn.compute(delayed(_setting)(1), scheduler="processes", num_workers=1) == (0,)


def test_pretask_and_posttask_callbacks_run_with_processes():
    from cairn.diagnostics import Callback, Profiler

    seen = []
    dsk = {"x": 1, "y": (inc, "x"), "z": (inc, "y")}
    with Callback(pretask=lambda key, dsk, state: seen.append(("pre", key)),
                  posttask=lambda key, result, dsk, state, worker: seen.append((key, result))):
        assert cairn.get(dsk, "z", scheduler="processes", optimize_graph=False) == 3
    assert seen == [("pre", "y"), ("y", 2), ("pre", "z"), ("z", 3)]

    sleeps = [delayed(time.sleep, pure=False)(0.5) for _ in range(3)]
    with Profiler() as prof:
        cairn.compute(*sleeps, scheduler="processes", num_workers=3)
    assert len({r.worker_id for r in prof.results}) == 3


def test_a_computation_that_needs_other_workers_does_not_stop_one_running():
    # Another num_workers (or initializer) starts another pool; the running computation's
    # workers are stopped only when it ends.
    slow = [delayed(lambda i: time.sleep(1.5) or i, pure=False)(i) for i in range(2)]
    out = {}
    first = threading.Thread(target=lambda: out.setdefault(
        "first", cairn.compute(*slow, scheduler="processes", num_workers=1)))
    first.start()
    time.sleep(0.7)
    assert cairn.compute(delayed(_setting)(1), scheduler="processes", num_workers=2,
                         initializer=_set_up_worker) == (1,)
    first.join(30)
    assert out["first"] == (0, 1)
    assert cairn.compute(delayed(_setting)(1), scheduler="processes", num_workers=1) == (0,)
