"""cairn on a dask.distributed cluster (a LocalCluster of two single-threaded worker
processes on 127.0.0.1): the collection protocol, scheduler selection, native tasks on the
workers, fusion before submission, faults and bad input."""

import operator
import os
import pickle
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

import cairn  # noqa: E402
import cairn.bag as cb  # noqa: E402
from cairn import _core  # noqa: E402
from cairn.schedulers import distributed as cairn_distributed  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", host="127.0.0.1") as c:
        yield c


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    import cairn.datasets

    folder = tmp_path_factory.mktemp("corpus")
    return cairn.datasets.zipf_corpus(str(folder), total_mb=24, files=3, seed=3)


def word_count(files):
    return cb.read_text(files, blocksize="4MiB").str.split().flatten().frequencies()


def inc(x):
    return x + 1


def test_dask_compute_and_client_compute_accept_cairn_collections(client, corpus):
    import dask

    d = cairn.delayed(sum)([1, 2, cairn.delayed(inc)(2)])
    assert dask.compute(d) == (6,)
    assert client.compute(d).result() == 6
    b = cb.from_sequence(range(10), npartitions=3).map(inc)
    assert client.compute(b).result() == list(range(1, 11))
    top = word_count(corpus).topk(5, key=1)
    assert client.compute(top).result() == top.compute(scheduler="threads")
    assert dask.compute(top, scheduler="sync") == (top.compute(scheduler="threads"),)


def test_persist_wait_as_completed_and_futures_into_delayed(client, corpus):
    freqs = word_count(corpus)
    (persisted,) = client.persist([freqs])
    distributed.wait(persisted)
    assert dict(persisted.compute()) == dict(freqs.compute(scheduler="threads"))
    futures = client.compute([cairn.delayed(inc)(i) for i in range(5)])
    assert sorted(f.result() for f in distributed.as_completed(futures)) == [1, 2, 3, 4, 5]
    counted = client.compute(word_count(corpus).topk(3, key=1))
    distributed.progress(counted, notebook=False)  # a text bar that returns when done
    assert counted.done() and counted.result() == word_count(corpus).topk(3, key=1).compute(
        scheduler="threads")
    future = client.submit(inc, 41)
    assert cairn.delayed(inc)(future).compute() == 43  # runs on the default client


@pytest.mark.parametrize("how", ["default", "name", "client", "config"])
def test_every_way_of_choosing_the_cluster_gives_the_threads_result(client, corpus, how):
    pipelines = [word_count(corpus).topk(20, key=1),
                 cb.read_text(corpus, blocksize="4MiB").str.split().ngrams(2).flatten()
                 .frequencies().topk(20, key=1),
                 cb.read_text(corpus, blocksize="4MiB").str.split().flatten().count(),
                 cb.from_sequence(range(1000), npartitions=7).groupby(lambda x: x % 13)
                 .map(lambda kv: (kv[0], sum(kv[1]))),
                 cb.from_sequence(range(1000), npartitions=7).foldby(lambda x: x % 5, operator.add)]
    expected = cairn.compute(*pipelines, scheduler="threads")
    if how == "default":
        got = cairn.compute(*pipelines)
    elif how == "name":
        got = cairn.compute(*pipelines, scheduler="distributed")
    elif how == "client":
        got = cairn.compute(*pipelines, scheduler=client)
    else:
        with cairn.config.set(scheduler=client):
            got = cairn.compute(*pipelines)
    assert [sorted(g) if isinstance(g, list) else g for g in got] == \
        [sorted(e) if isinstance(e, list) else e for e in expected]
    assert got[0] == expected[0] and got[1] == expected[1]  # order too (first occurrence)


def test_native_work_runs_on_the_workers_not_in_the_client(client, corpus):
    # bigrams: enough work per byte that the client's own share (graph, messages) is small
    freqs = (cb.read_text(corpus, blocksize="4MiB").str.split().ngrams(2).flatten()
             .frequencies().topk(10, key=1))
    freqs.compute(scheduler=client)  # warm: the workers' first imports are not measured
    start = time.process_time()
    expected = freqs.compute(scheduler="sync")
    here = time.process_time() - start
    start = time.process_time()
    assert freqs.compute(scheduler=client) == expected
    on_cluster = time.process_time() - start
    print(f"client CPU: {on_cluster:.3f} s on the cluster, {here:.3f} s computing here")
    assert on_cluster < 0.3 * here, (on_cluster, here)


def test_native_counts_travel_between_workers_as_native_values(client, corpus):
    from cairn.core import recipes

    freqs = word_count(corpus)
    dsk = recipes.portable(freqs.__cairn_graph__())
    scans = [k for k, v in dsk.items() if v[0] is recipes.run]
    assert scans, "partition counts should stay native until the final merge"
    value = client.get(dsk, scans[0])
    assert isinstance(value, _core.NativeValue)
    again = pickle.loads(pickle.dumps(value))
    assert again.to_python() == value.to_python()


def test_a_pipeline_sends_about_one_task_per_partition_per_stage(client):
    b = (cb.from_sequence(range(1000), npartitions=10)
         .map(inc).filter(lambda x: x % 3).map(str).map(len))
    with distributed.get_task_stream(client) as stream:
        assert b.compute() == b.compute(scheduler="sync")
    assert len(stream.data) <= 2 * b.npartitions


def test_many_tiny_fan_ins_are_sent_as_one_task_each(client):
    level = [cairn.delayed(inc)(i) for i in range(2000)]
    total = cairn.delayed(sum)([cairn.delayed(sum)(level[i:i + 50]) for i in range(0, 2000, 50)])
    with distributed.get_task_stream(client) as stream:
        assert total.compute() == sum(range(1, 2001))
    assert len(stream.data) <= 41 + 1  # 40 sums, each with its 50 incs inside, and the total


def fresh_token(i):
    import uuid

    return f"{i}-{uuid.uuid4().hex}"


def same(a, b, c):
    return a == b


def test_an_input_a_task_names_twice_is_computed_once(client):
    outs = []
    for i in range(12):  # enough fan-ins per worker thread for inlining to be considered
        x = cairn.delayed(fresh_token)(i)
        outs.append(cairn.delayed(same)(x, x, cairn.delayed(inc)(i)))
    assert cairn.delayed(all)(outs).compute(scheduler=client) is True


def test_optimize_graph_false_reaches_the_cluster_unfused(client):
    b = cb.from_sequence(range(100), npartitions=5).map(inc).map(inc)
    with distributed.get_task_stream(client) as stream:
        assert b.compute(scheduler=client, optimize_graph=False) == [x + 2 for x in range(100)]
    assert len(stream.data) == len(b.__cairn_graph__())  # every task on its own


def test_a_few_heavy_inputs_of_one_task_stay_parallel(client):
    parts = [cairn.delayed(time.sleep)(0.05, dask_key_name=f"fit-{i}") for i in range(6)]
    with distributed.get_task_stream(client) as stream:
        cairn.delayed(len)(parts).compute()
    assert {t["key"] for t in stream.data} >= {f"fit-{i}" for i in range(6)}
    assert len({t["worker"] for t in stream.data if str(t["key"]).startswith("fit-")}) == 2


def test_the_tasks_have_readable_names_on_the_dashboard(client, corpus):
    with distributed.get_task_stream(client) as stream:
        word_count(corpus).compute()
    prefixes = {distributed.utils.key_split(t["key"]) for t in stream.data}
    assert any("frequencies" in p for p in prefixes), prefixes


def test_an_exception_arrives_as_itself_with_its_traceback(client):
    class Odd(Exception):
        def __init__(self, a, b):
            super().__init__(a, b)

    def explode(x):
        raise Odd(x, "b")

    with pytest.raises(Odd) as caught:
        cairn.delayed(explode)(1).compute(scheduler=client)
    assert "explode" in "".join(__import__("traceback").format_tb(caught.value.__traceback__))


def test_a_worker_killed_mid_run_is_survived_with_an_exact_result(client, tmp_path):
    marker = tmp_path / "died-once"

    def maybe_die(x):
        if x == 3 and not marker.exists():
            marker.write_text("x")
            os._exit(1)  # the worker process dies mid-computation
        return x * x

    b = cb.from_sequence(range(8), npartitions=8).map(maybe_die)
    assert b.compute(scheduler=client) == [x * x for x in range(8)]
    assert marker.exists()


def test_bad_scheduler_objects_and_closed_clients_are_clear_errors(cluster):
    x = cairn.delayed(inc)(1)
    with pytest.raises(ValueError, match="unknown scheduler <object.*distributed.Client"):
        x.compute(scheduler=object())
    c = distributed.Client(cluster)
    c.close()
    with pytest.raises(ValueError, match="is closed"):
        x.compute(scheduler=c)


def test_an_unpicklable_task_names_its_key_and_loses_nothing(client):
    lock = threading.Lock()
    bad = cairn.delayed(lambda lk: 1)(lock, dask_key_name="holds-a-lock")
    with pytest.raises(TypeError, match="holds-a-lock"):
        bad.compute(scheduler=client)
    assert cairn.delayed(inc)(1).compute(scheduler=client) == 2  # the client still works


_PRELOAD_OTHER_VERSION = """
import cairn
cairn.__version__ = "0.0.0-other"
"""

_PRELOAD_NO_CAIRN = """
import sys
class _NoCairn:
    def find_spec(self, name, path=None, target=None):
        if name == "cairn" or name.startswith("cairn."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, _NoCairn())
for name in [m for m in sys.modules if m == "cairn" or m.startswith("cairn.")]:
    del sys.modules[name]
"""


@pytest.mark.parametrize("preload,message", [
    (_PRELOAD_OTHER_VERSION, r"runs cairn 0\.0\.0-other, the client cairn"),
    (_PRELOAD_NO_CAIRN, r"cannot run cairn tasks: .*No module named 'cairn"),
])
def test_a_worker_with_another_cairn_or_none_is_named(tmp_path, preload, message):
    import subprocess

    script = tmp_path / "preload_worker.py"
    script.write_text(preload)
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0",
                                  host="127.0.0.1") as cluster:
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address,
             "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
             "--preload", str(script)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with distributed.Client(cluster) as c:
                c.wait_for_workers(1, timeout=60)
                (address,) = c.scheduler_info()["workers"]
                with pytest.raises(cairn_distributed.VersionMismatch, match=message) as err:
                    cairn.delayed(inc)(1).compute(scheduler=c)
                assert address in str(err.value) and cairn.__version__ in str(err.value)
        finally:
            worker.kill()
            worker.wait()
