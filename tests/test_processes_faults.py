"""scheduler="processes" when workers die: lost results recomputed from their lineage, one
death blamed once and on the task that ran, slots, /dev/shm files, workers started from
short-lived threads, exceptions that do not pickle plainly, and fused chains."""

from __future__ import annotations

import glob
import mmap
import os
import signal
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import cairn
import cairn.bag as cb
from cairn import delayed
from cairn.processes import TaskCrashedError, WorkerDied


def _shm_files(pids) -> list[str]:
    """cairn's /dev/shm files made by these processes (other test runs may have their own)."""
    return [p for pid in pids for p in glob.glob(f"/dev/shm/cairn-{pid}-*")]


def _dies_once(marker: str):
    """A task function that kills its worker the first time any worker runs it on 5."""
    def f(x):
        if x == 5 and not os.path.exists(marker):
            with open(marker, "w") as out:
                out.write(str(os.getpid()))
            os._exit(1)
        return x * 2
    return f


@pytest.mark.parametrize("run", range(2))
def test_a_result_lost_with_a_dead_worker_is_recomputed_from_its_lineage(tmp_path, run):
    # The partitions made before the death died with the worker; their inputs were
    # already dropped: they are made again from the tasks that made them.
    f = _dies_once(str(tmp_path / "died"))
    got = cb.from_sequence(range(8), npartitions=8).map(f).compute(scheduler="processes")
    assert got == [x * 2 for x in range(8)]
    assert (tmp_path / "died").exists()


def test_results_lost_far_upstream_are_recomputed(tmp_path):
    marker = str(tmp_path / "died")

    def combine(*parts):
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return sum(parts)

    def add(a, b):
        return a + b

    # Each level's results are dropped once the next level used them.
    level = [delayed(inc)(i) for i in range(6)]
    for _ in range(3):
        level = [delayed(add)(level[i], level[(i + 1) % len(level)]) for i in range(len(level))]
    total = delayed(combine)(*level)
    open(marker, "w").close()
    want = total.compute(scheduler="threads")
    os.unlink(marker)
    assert total.compute(scheduler="processes", num_workers=1) == want


def inc(x):
    return x + 1


def segfault_on_3(x):
    if x == 3:
        os.kill(os.getpid(), signal.SIGSEGV)
    return x


@pytest.mark.parametrize("run", range(2))
def test_a_task_that_always_crashes_is_named_never_an_innocent_one(run):
    b = cb.from_sequence(range(8), npartitions=8).map(segfault_on_3)
    with pytest.raises(TaskCrashedError) as info:
        b.compute(scheduler="processes")
    message = str(info.value)
    key = b.__cairn_keys__()[3]
    assert repr(key) in message and "SIGSEGV" in message, message
    assert "lost" not in message


def test_one_death_uses_up_only_the_crashing_tasks_retry(tmp_path):
    # With no retry left for anyone, the task that killed its worker fails alone; the
    # tasks queued behind it on that worker are not charged with its death.
    marker = str(tmp_path / "died")
    f = _dies_once(marker)
    b = cb.from_sequence(range(8), npartitions=8).map(f)
    with cairn.config.set({"processes.retries": 0}):
        with pytest.raises(TaskCrashedError) as info:
            b.compute(scheduler="processes", num_workers=1)
    assert repr(b.__cairn_keys__()[5]) in str(info.value)
    assert "exit code 1" in str(info.value)


class _DiesOnSend:
    """A worker's connection whose next send kills the worker first, waits until the
    parent's reader thread has seen the death, then fails as the real send would."""

    def __init__(self, handle):
        self.handle, self.conn = handle, handle.conn

    def send_bytes(self, data):
        self.handle.proc.kill()
        self.handle._reader.join(10)
        raise BrokenPipeError

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_worker_death_never_releases_a_slot_twice():
    # The worker dies between a task's registration and its send: the reader thread's
    # death path settles the task, and the failed send must not settle it again.
    from cairn.processes.pool import WorkerHandle

    handle = WorkerHandle(0)
    handle.conn = _DiesOnSend(handle)
    try:
        with pytest.raises(WorkerDied):
            handle.submit("run", "gid", "key", {}, task=True)
        assert handle.in_flight == 0
    finally:
        handle.stop()


def test_a_worker_that_dies_as_the_graph_is_sent_is_replaced():
    from cairn.processes import pool

    pool.shutdown()
    (worker,) = pool.get_pool(1).workers
    worker.conn = _DiesOnSend(worker)
    assert delayed(inc)(1).compute(scheduler="processes", num_workers=1) == 2
    assert pool.get_pool(1).workers[0] is not worker
    pool.shutdown()


def _worker_pids(n):
    return set(cairn.compute(*[delayed(os.getpid)(dask_key_name=f"pid-{i}") for i in range(n)],
                             scheduler="processes", num_workers=2))


def test_workers_started_from_a_short_lived_thread_survive_it():
    from cairn.processes import pool

    pool.shutdown()
    with ThreadPoolExecutor(1) as executor:
        executor.submit(_worker_pids, 4).result()
        started = {w.pid for w in pool.get_pool(2).workers}
    # The executor's thread has ended; the workers it started must not die with it.
    assert _worker_pids(8) <= started
    assert all(not w.dead for w in pool.get_pool(2).workers)


def truncated_array(marker: str):
    """A 32 MB array over a file that is then truncated: the first time, reading it (when
    the worker writes it into /dev/shm) kills the worker with SIGBUS."""
    n = 4_000_000
    if os.path.exists(marker):
        return np.ones(n)
    with open(marker, "w+b") as f:
        f.truncate(n * 8)
        m = mmap.mmap(f.fileno(), n * 8)
        f.truncate(0)
    return np.frombuffer(m, dtype=np.float64)


def test_a_worker_killed_while_writing_a_large_result_leaves_no_shm_file(tmp_path):
    from cairn.processes import pool

    marker = str(tmp_path / "mapped")
    before = {w.pid for w in pool.get_pool(2).workers}
    got = delayed(truncated_array)(marker).compute(scheduler="processes", num_workers=2)
    assert got.sum() == 4_000_000
    after = {w.pid for w in pool.get_pool(2).workers}
    dead = before - after
    assert dead, "no worker died: the test did not test anything"
    assert _shm_files(dead | {os.getpid()}) == []


def test_no_shm_file_is_left_when_the_parent_exits_after_a_death(tmp_path):
    marker = str(tmp_path / "mapped")
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import cairn
        from cairn.processes import pool
        from test_processes_faults import truncated_array
        before = {{w.pid for w in pool.get_pool(2).workers}}
        r = cairn.delayed(truncated_array)({marker!r}).compute(scheduler="processes",
                                                               num_workers=2)
        assert r.sum() == 4_000_000
        print(" ".join(map(str, before | {{w.pid for w in pool.get_pool(2).workers}}
                                     | {{os.getpid()}})))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    pids = {int(p) for p in out.stdout.split()}
    assert len(pids) >= 4 and _shm_files(pids) == []  # parent, 2 workers, 1+ replaced


def test_a_dead_workers_file_still_in_use_survives_another_process_starting_a_pool():
    # A worker of this process wrote a large result to /dev/shm and then died; this process
    # still reads the file. Another process (another notebook, another user) that starts a
    # pool must not take the file for an orphan: its owner, this process, is alive.
    writer = textwrap.dedent(f"""
        import numpy as np
        from cairn.processes import shm
        shm.OWNER = {os.getpid()}
        print(repr(shm.export(np.arange(1_000_000))))
    """)
    out = subprocess.run([sys.executable, "-c", writer], capture_output=True, text=True,
                         timeout=120, check=True)
    from cairn.processes import shm
    description = eval(out.stdout)  # noqa: S307 (our own repr of a tuple)
    assert description[0] == "shm"
    other = "import cairn; print(cairn.delayed(sum)([1, 2]).compute(scheduler='processes'))"
    done = subprocess.run([sys.executable, "-c", other], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "3", done.stderr
    try:
        assert shm.load(description).sum() == np.arange(1_000_000).sum()
    finally:
        shm.discard(description)


class TwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a} and {b}")
        self.a, self.b = a, b


def raise_two_args(x):
    raise TwoArgs(x, "b")


def test_an_exception_with_constructor_arguments_comes_back_as_itself():
    with pytest.raises(TwoArgs, match="1 and b") as info:
        delayed(raise_two_args)(1).compute(scheduler="processes")
    assert (info.value.a, info.value.b) == (1, "b")
    assert "raise_two_args" in str(info.value.__cause__)  # the worker's traceback


def test_awkward_exceptions_come_back_as_their_type():
    class KeywordOnly(Exception):
        def __init__(self, *, code):
            super().__init__(f"code {code}")
            self.code = code

    class HoldsALock(ValueError):
        def __init__(self, message):
            super().__init__(message)
            self.lock = threading.Lock()

    def keyword_only(_):
        raise KeywordOnly(code=7)

    def holds_a_lock(_):
        raise HoldsALock("cannot pickle me")

    with pytest.raises(KeywordOnly, match="code 7") as info:
        delayed(keyword_only)(1).compute(scheduler="processes")
    assert info.value.code == 7
    with pytest.raises(HoldsALock, match="cannot pickle me") as info:
        delayed(holds_a_lock)(1).compute(scheduler="processes")
    assert "holds_a_lock" in str(info.value.__cause__)


class BadText(UnicodeDecodeError):
    def __init__(self, path):
        super().__init__("utf-8", b"ab\xff", 2, 3, "invalid start byte")
        self.path = path


def raise_bad_text(path):
    raise BadText(path)


def test_an_exception_rebuilt_without_its_constructor_keeps_its_builtin_fields():
    # BadText(*args) cannot be called, so it is rebuilt from its state: the fields only
    # UnicodeDecodeError's own __init__ sets (object, start, end) must come back too.
    with pytest.raises(BadText) as info:
        delayed(raise_bad_text)("f.txt").compute(scheduler="processes")
    e = info.value
    assert (e.object, e.start, e.end, e.path) == (b"ab\xff", 2, 3, "f.txt")
    assert "can't decode byte 0xff in position 2" in str(e)


def test_linear_chains_are_fused_before_shipping():
    from cairn.processes.scheduler import rewrite

    x = delayed(inc)(0)
    for _ in range(99):
        x = delayed(inc)(x)
    shipped, graph = rewrite(dict(x.dask), x.__cairn_keys__(), pool=None)
    assert len(graph.tasks) == 1  # one task for the whole chain
    assert x.compute(scheduler="processes") == 100


def test_a_fused_chain_keeps_results_others_need():
    a = delayed(inc)(1)
    b = delayed(inc)(a)
    c = delayed(inc)(b)
    d = delayed(lambda p, q: p * q)(b, c)
    assert cairn.compute(c, d, a, scheduler="processes") == (4, 12, 2)


def test_a_value_too_big_for_dev_shm_goes_through_the_socket(monkeypatch):
    # A sparse file in a full /dev/shm would kill the writer with SIGBUS half-way.
    import errno

    from cairn.processes import shm

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shm.os, "posix_fallocate", full)
    value = np.arange(1_000_000, dtype=np.float64)
    description = shm.export(value)
    assert description[0] == "inline"
    np.testing.assert_array_equal(shm.load(description), value)
    assert _shm_files({os.getpid()}) == []


def test_a_short_soak_of_random_worker_kills():
    # The short version of tests/soak/processes_soak.py (docs/engine.md, "Faults").
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "soak"))
    try:  # (on the path while it runs: the workers import its task functions)
        import processes_soak

        counts = processes_soak.soak(kills=6, seed=7, timeout_s=60)
    finally:
        sys.path.pop(0)
    assert counts.ok(), counts.problems
    assert counts.kills == 6


def test_plan_chains_are_the_chains_the_plan_fuses():
    from cairn import _core

    dsk = {"a": (inc, 1), "b": (inc, "a"), "c": (inc, "b"), "d": (inc, "c"),
           "e": (sum, ["c", "d"]), "f": (inc, "e")}
    order = list(dsk)
    chains = [[order[i] for i in chain] for chain in _core.plan_chains(dsk, ["f", "b"])]
    # b is requested, so it ends a chain; c feeds d and e, so neither fuses with it.
    assert sorted(chains) == [["a", "b"], ["e", "f"]]
