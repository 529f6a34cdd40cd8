"""Running graphs: get/compute/persist, errors, cancellation, culling, schedulers."""

import threading
import time
import traceback
from operator import add

import pytest

import cairn
from cairn import _core, delayed


def inc(x):
    return x + 1


def test_get_dask_spec_graph(scheduler):
    dsk = {
        "x": 1,
        "y": (inc, "x"),
        "z": (add, "y", (inc, "x")),  # nested task evaluated inline
        "w": (sum, ["x", "y", "z", 100]),
        "alias": "w",
        ("t", 0): (add, "x", 1),
        ("t", 1): (add, ("t", 0), 1),
    }
    assert cairn.get(dsk, "w") == 1 + 2 + 4 + 100
    assert cairn.get(dsk, "alias") == 107
    assert cairn.get(dsk, ["x", ["y", ("t", 1)]]) == (1, (2, 3))
    assert cairn.get(dsk, ("t", 1)) == 3


def test_get_returns_list_values_unchanged(scheduler):
    dsk = {"a": (list, [1, 2]), "b": (tuple, "a")}
    assert cairn.get(dsk, ["a", "b"]) == ([1, 2], (1, 2))


def test_get_matches_dask_on_same_graph(scheduler):
    dask = pytest.importorskip("dask")
    dsk = {("x", i): (inc, i) for i in range(200)}
    dsk.update({("y", i): (add, ("x", i), ("x", (i + 1) % 200)) for i in range(200)})
    dsk["total"] = (sum, [("y", i) for i in range(200)])
    keys = ["total", [("y", 3), ("x", 7)]]
    assert cairn.get(dsk, keys) == dask.get(dsk, keys)


def test_threads_and_sync_give_identical_results():
    def build():
        xs = [delayed(inc)(i) for i in range(500)]
        pairs = [delayed(add)(a, b) for a, b in zip(xs, xs[1:])]
        return delayed(sorted)(pairs), delayed(max)(pairs), xs[10]

    assert cairn.compute(*build(), scheduler="sync") == cairn.compute(
        *build(), scheduler="threads") == cairn.compute(*build(), scheduler="threads",
                                                        num_workers=4)


def test_missing_key_is_a_clear_error():
    with pytest.raises(KeyError, match="not in the task graph"):
        cairn.get({"a": 1}, "b")


def test_graph_must_be_a_dict():
    with pytest.raises(TypeError, match="dict"):
        cairn.get([("a", 1)], "a")


class CustomError(Exception):
    pass


def fails(x):
    raise CustomError(f"bad value {x}")


def test_exception_is_raised_once_with_original_type_and_traceback(scheduler):
    x = delayed(inc)(1)
    y = delayed(fails)(x)
    z = delayed(inc)(y)
    with pytest.raises(CustomError, match="bad value 2") as info:
        z.compute()
    if scheduler == "processes":  # the task's frames are in the worker's traceback
        assert "in fails" in str(info.value.__cause__)
        return
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "fails" in frames  # the task's own frame survives the trip through C++


def test_exception_cancels_dependents(scheduler):
    ran = []

    def record(x):
        ran.append(x)
        return x

    bad = delayed(fails)(0)
    outs = [delayed(record)(bad) for _ in range(20)]
    with pytest.raises(CustomError):
        cairn.compute(*outs)
    assert ran == []


def test_first_exception_stops_the_run():
    started = []

    def slow(i):
        started.append(i)
        time.sleep(0.01)
        return i

    tasks = [delayed(fails)(-1)] + [delayed(slow)(i) for i in range(300)]
    with pytest.raises(CustomError):
        cairn.compute(*tasks, scheduler="threads", num_workers=2)
    time.sleep(0.1)
    n = len(started)
    assert n < 300
    time.sleep(0.1)
    assert len(started) == n  # nothing runs after compute() raised


def test_culling_skips_unneeded_tasks(inprocess_scheduler):
    ran = []

    def record(name):
        ran.append(name)
        return name

    dsk = {"a": (record, 1), "b": (record, 2), "c": (inc, "a")}
    assert cairn.get(dsk, "c") == 2
    assert ran == [1]
    stats = _core.plan_stats(dsk, ["c"])
    assert stats["culled"] == 1


def test_linear_chains_are_fused():
    dsk = {("x", 0): 0}
    for i in range(1, 100):
        dsk[("x", i)] = (inc, ("x", i - 1))
    stats = _core.plan_stats(dsk, [("x", 99)])
    assert stats["nodes"] == 1 and stats["fused"] == 99
    assert _core.plan_stats(dsk, [("x", 99)], fuse=False)["nodes"] == 100
    assert cairn.get(dsk, ("x", 99)) == 99
    assert cairn.get(dsk, ("x", 99), optimize_graph=False) == 99


def test_deep_chain_of_ten_thousand(scheduler):
    x = delayed(0)
    for _ in range(10_000):
        x = delayed(inc)(x)
    assert x.compute() == 10_000
    assert x.compute(optimize_graph=False) == 10_000


def test_cycle_built_by_hand_is_a_clear_error():
    dsk = {"a": (inc, "b"), "b": (inc, "c"), "c": (inc, "a"), "d": (inc, 1)}
    with pytest.raises(ValueError, match="cycle") as info:
        cairn.get(dsk, "a")
    assert "'a'" in str(info.value) and "'b'" in str(info.value)
    assert cairn.get(dsk, "d") == 2  # unrelated parts still compute


def test_self_reference_is_a_cycle():
    with pytest.raises(ValueError, match="cycle"):
        cairn.get({"a": (inc, "a")}, "a")


def test_unknown_scheduler_is_a_clear_error():
    x = delayed(inc)(1)
    with pytest.raises(ValueError, match="unknown scheduler 'thread'.*'threads'"):
        x.compute(scheduler="thread")
    with pytest.raises(ValueError, match="unknown scheduler"):
        cairn.config.set(scheduler="gpu")
    with pytest.raises(ValueError, match="needs a distributed.Client: start one first"):
        x.compute(scheduler="distributed")  # no client running


def test_num_workers_must_be_positive():
    x = delayed(inc)(1)
    with pytest.raises(ValueError, match="num_workers must be a positive integer"):
        x.compute(num_workers=0)
    with pytest.raises(ValueError, match="num_workers"):
        x.compute(num_workers=-2)
    with pytest.raises(TypeError, match="num_workers"):
        x.compute(num_workers="2")
    with pytest.raises(ValueError, match="num_workers"):
        cairn.config.set(num_workers=0)


def test_config_scheduler_and_workers_are_used():
    seen = set()

    def who(i):
        seen.add(threading.current_thread().name)
        time.sleep(0.002)
        return i

    xs = [delayed(who)(i) for i in range(50)]
    with cairn.config.set(scheduler="sync"):
        cairn.compute(*xs)
    assert seen == {threading.current_thread().name}
    seen.clear()
    with cairn.config.set(scheduler="threads", num_workers=2):
        cairn.compute(*[delayed(who)(i) for i in range(50)])
    assert threading.current_thread().name not in seen


def test_custom_get_function_is_accepted():
    dask = pytest.importorskip("dask")
    import dask.threaded

    x = delayed(inc)(delayed(inc)(1))
    assert x.compute(scheduler=dask.threaded.get) == 3
    assert cairn.compute(x, [x], scheduler=dask.get) == (3, [3])


def test_nested_compute_inside_a_task_does_not_deadlock():
    def inner(i):
        return delayed(inc)(i).compute()

    xs = [delayed(inner)(i) for i in range(8)]
    assert cairn.compute(*xs, scheduler="threads", num_workers=1) == tuple(range(1, 9))


def test_compute_passes_through_non_collections():
    assert cairn.compute(1, "a", [2]) == (1, "a", [2])
    x = delayed(inc)(1)
    assert cairn.compute({"a": x, "b": [x, 5]}) == ({"a": 2, "b": [2, 5]},)
    assert cairn.compute([x], traverse=False)[0][0] is x


def test_persist_keeps_results_and_key():
    calls = []

    def source():
        calls.append(1)
        return [1, 2, 3]

    x = delayed(source)()
    (y,) = cairn.persist(x)
    assert y.key == x.key
    assert calls == [1]
    assert y.compute() == [1, 2, 3]
    assert delayed(sum)(y).compute() == 6
    assert x.persist().compute() == [1, 2, 3]
    assert calls == [1, 1]


def test_results_are_freed_after_last_consumer():
    import gc
    import weakref

    refs = []

    class Big:
        pass

    def make(i):
        b = Big()
        refs.append(weakref.ref(b))
        return b

    def consume(b):
        return 1

    total = delayed(sum)([delayed(consume)(delayed(make)(i)) for i in range(100)])
    assert total.compute(optimize_graph=False) == 100
    gc.collect()
    assert all(r() is None for r in refs)


def test_many_threads_computing_at_once():
    results = []

    def worker(n):
        xs = [delayed(inc)(i) for i in range(n)]
        results.append(delayed(sum)(xs).compute() == sum(range(1, n + 1)))

    threads = [threading.Thread(target=worker, args=(200 + i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [True] * 6


def test_compute_in_a_forked_child_after_the_pool_started():
    import os
    import warnings

    assert delayed(inc)(1).compute() == 2  # the parent's pool exists now
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads, 3.12+
        pid = os.fork()
    if pid == 0:  # child: must get fresh worker threads, not hang on the parent's
        try:
            ok = delayed(sum)([delayed(inc)(i) for i in range(100)]).compute() == 5050
        finally:
            os._exit(0 if ok else 1)
    deadline = time.time() + 30
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    pytest.fail("compute() in a forked child hung")


# --- Dask compatibility (issue 15, item 8) ---------------------------------------------------
import collections.abc as _abc
import contextvars as _contextvars
from concurrent.futures import ThreadPoolExecutor as _ThreadPoolExecutor

_request_id = _contextvars.ContextVar("request_id", default="unset")


@pytest.mark.parametrize("num_workers", [1, 2])
def test_caller_contextvars_visible_in_tasks_on_threads(num_workers):
    token = _request_id.set("abc")
    try:
        dsk = {("x", i): (_request_id.get,) for i in range(4)}
        assert cairn.threaded.get(dsk, list(dsk), num_workers=num_workers) == ("abc",) * 4
    finally:
        _request_id.reset(token)
    assert cairn.get({"x": (_request_id.get,)}, "x") == "unset"


class _ReadOnlyGraph(_abc.Mapping):
    def __init__(self, d):
        self._d = d

    def __getitem__(self, k):
        return self._d[k]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)


def test_get_accepts_mappings_that_are_not_dicts():
    g = _ReadOnlyGraph({"x": 1, "y": (add, "x", 2)})
    assert cairn.get(g, "y") == 3
    assert cairn.local.get_sync(g, ["x", "y"]) == (1, 3)


def test_get_refuses_a_non_mapping_with_a_clear_message():
    with pytest.raises(TypeError, match="Mapping"):
        cairn.get([("x", 1)], "x")


def test_unknown_compute_keywords_reach_a_callable_scheduler():
    seen = {}

    def my_get(dsk, keys, **kwargs):
        seen.update(kwargs)
        return cairn.get(dsk, keys, scheduler="sync")

    assert delayed(add)(1, 2).compute(scheduler=my_get, chunksize=7) == 3
    assert seen == {"chunksize": 7}
    # cairn's own schedulers ignore keywords they do not use, as Dask's do
    assert delayed(add)(1, 2).compute(scheduler="threads", chunksize=7) == 3


def test_get_keyword_is_refused_naming_scheduler():
    with pytest.raises(TypeError, match="scheduler="):
        delayed(add)(1, 2).compute(get=cairn.get)


def test_named_schedulers_resolve_by_name():
    cairn.base.named_schedulers["always-7"] = lambda dsk, keys, **kw: [7]
    try:
        assert delayed(add)(1, 2).compute(scheduler="always-7") == 7
        with cairn.config.set(scheduler="always-7"):
            assert delayed(add)(1, 2).compute() == 7
    finally:
        del cairn.base.named_schedulers["always-7"]
    assert cairn.base.get_scheduler(scheduler="threads") is cairn.threaded.get
    assert cairn.base.get_scheduler(scheduler="sync") is cairn.local.get_sync
    assert cairn.base.get_scheduler() is None


def test_thread_pool_kwarg_runs_tasks_on_that_pool():
    def ident():
        time.sleep(0.01)
        return threading.get_ident()

    dsk = {("x", i): (ident,) for i in range(12)}
    with _ThreadPoolExecutor(3) as pool:
        idents = cairn.threaded.get(dsk, list(dsk), pool=pool)
        pool_threads = {t.ident for t in pool._threads}
    assert set(idents) <= pool_threads


def test_dask_protocol_collection_computes_and_persists():
    class Pair(cairn.base.DaskMethodsMixin):
        __slots__ = ("_dsk", "_keys")

        def __init__(self, dsk, keys):
            self._dsk, self._keys = dsk, keys

        def __dask_graph__(self):
            return self._dsk

        def __dask_keys__(self):
            return self._keys

        def __dask_postcompute__(self):
            return tuple, ()

        def __dask_postpersist__(self):
            return (lambda dsk, keys, rename=None: Pair(dsk, keys)), (self._keys,)

    p = Pair({"a": 1, "b": (add, "a", 1)}, ["a", "b"])
    assert cairn.is_dask_collection(p) and not cairn.is_dask_collection(Pair)
    assert p.compute() == (1, 2)
    assert cairn.compute(p, {"k": p}) == ((1, 2), {"k": (1, 2)})
    assert p.persist().compute() == (1, 2)


def test_unpack_collections_repacks_containers():
    a = delayed(1) + 1
    collections, repack = cairn.base.unpack_collections([a, 5], {"k": (a, 2)}, iter([a]))
    assert len(collections) == 1
    assert repack(["A"]) == (["A", 5], {"k": ("A", 2)}, ["A"])


def test_optimize_returns_equivalent_collections():
    a = delayed(add)(1, 2)
    b = a + 1
    a2, b2, c = cairn.optimize(a, b, 7)
    assert c == 7
    assert cairn.compute(a2, b2) == (3, 4)
    assert dict(a2.dask) == dict(b2.dask)


def test_annotate_is_accepted():
    with cairn.annotate(priority=1):
        assert (delayed(1) + 1).compute() == 2


def test_persisted_graph_holds_plain_values_as_they_are():
    from cairn.delayed import Delayed

    d = Delayed("a", {"a": "b", "b": 1})
    (p,) = cairn.persist(d)
    assert dict(p.dask) == {"a": 1}
    (q,) = cairn.persist(cairn.delayed(lambda: "b")())
    assert q.compute() == "b"  # a string result stays a value, never read as a key


def test_get_cache_gives_results_already_known():
    calls = []
    dsk = {"x": (calls.append, 1), "y": (inc, "x")}
    assert cairn.get(dsk, "y", cache={"x": 41}) == 42
    assert cairn.threaded.get(dsk, "y", cache={"x": 41}) == 42
    assert cairn.local.get_sync(dsk, "y", cache={"x": 41}) == 42
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert cairn.threaded.get(dsk, "y", cache={"x": 41}, pool=pool) == 42
    assert calls == []


def test_get_runs_a_dict_of_dask_task_spec_nodes():
    task_spec = pytest.importorskip("dask._task_spec")
    x = task_spec.Task("x", inc, 1)
    dsk = {"x": x, "y": task_spec.Task("y", add, 10, x.ref())}
    assert cairn.get(dsk, "y") == 12


def test_get_names_a_missing_dependency_of_a_dask_task_spec_node():
    task_spec = pytest.importorskip("dask._task_spec")
    dsk = {"y": task_spec.Task("y", inc, task_spec.TaskRef("x"))}
    with pytest.raises(ValueError, match="Missing dependency 'x' for task 'y'"):
        cairn.get(dsk, "y")
    assert cairn.get(dsk, "y", cache={"x": 1}) == 2


def test_compute_on_an_executor_given_as_scheduler():
    from concurrent.futures import ThreadPoolExecutor

    from cairn.local import synchronous_executor

    total = delayed(add)(delayed(inc)(1), 10)
    assert total.compute(scheduler=synchronous_executor) == 12
    with ThreadPoolExecutor(2) as executor:
        assert total.compute(scheduler=executor) == 12
    with cairn.config.set(scheduler=synchronous_executor):
        assert cairn.compute(total) == (12,)


def test_collections_with_differing_default_schedulers_need_a_scheduler_as_in_dask():
    # A Dask collection defaults to Dask's threads, cairn's to cairn's: as dask.compute does,
    # cairn refuses to guess, and computes them together once scheduler= says where.
    dask_delayed = pytest.importorskip("dask").delayed
    a, b = cairn.delayed(1) + 1, dask_delayed(10) + 1
    with pytest.raises(ValueError, match="differing default schedulers"):
        cairn.compute(a, b)
    assert cairn.compute(a, b, scheduler="sync") == (2, 11)
    assert cairn.compute(a, cairn.from_sequence([1, 2]).sum()) == (2, 3)  # cairn's own: one
