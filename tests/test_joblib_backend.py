"""joblib.parallel_backend("cairn"): joblib's (and scikit-learn's) n_jobs on cairn's
threads, worker processes and a dask.distributed cluster."""

import subprocess
import sys

import pytest

joblib = pytest.importorskip("joblib")

import cairn  # noqa: E402,F401 - registers the backend


def square(x):
    return x * x


class FitFailed(Exception):
    def __init__(self, which, detail):  # a constructor with other arguments than args
        super().__init__(f"fit {which} failed: {detail}")
        self.which = which


def fail_on_three(x):
    if x == 3:
        raise FitFailed(x, "on purpose")
    return x


def nested_sum(n):
    return sum(joblib.Parallel(n_jobs=2)(joblib.delayed(square)(i) for i in range(n)))


@pytest.mark.parametrize("scheduler", ["threads", "processes", "sync"])
def test_parallel_runs_on_every_local_scheduler(scheduler):
    with joblib.parallel_backend("cairn", scheduler=scheduler):
        out = joblib.Parallel(n_jobs=-1)(joblib.delayed(square)(i) for i in range(200))
    assert out == [i * i for i in range(200)]


def test_the_scheduler_in_effect_is_the_default():
    with cairn.config.set(scheduler="processes"):
        with joblib.parallel_backend("cairn"):
            backend, n_jobs = joblib.parallel.get_active_backend()
            assert backend.mode == "processes" and not backend.supports_sharedmem
            assert joblib.Parallel(n_jobs=2)(joblib.delayed(square)(i) for i in range(5)) == \
                [0, 1, 4, 9, 16]


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_a_failing_call_raises_the_original_exception(scheduler):
    with joblib.parallel_backend("cairn", scheduler=scheduler):
        with pytest.raises(FitFailed, match="fit 3 failed: on purpose") as caught:
            joblib.Parallel(n_jobs=2)(joblib.delayed(fail_on_three)(i) for i in range(8))
    assert caught.value.which == 3
    with joblib.parallel_backend("cairn", scheduler=scheduler):  # the backend still works
        assert joblib.Parallel(n_jobs=2)(joblib.delayed(square)(i) for i in range(3)) == [0, 1, 4]


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_nested_parallel_calls_run_inside_their_task(scheduler):
    with joblib.parallel_backend("cairn", scheduler=scheduler):
        out = joblib.Parallel(n_jobs=2)(joblib.delayed(nested_sum)(n) for n in range(6))
    assert out == [sum(i * i for i in range(n)) for n in range(6)]


def test_an_unknown_scheduler_is_a_clear_error():
    with pytest.raises(ValueError, match="joblib backend 'cairn': unknown scheduler 'gpu'"):
        with joblib.parallel_backend("cairn", scheduler="gpu"):
            pass


@pytest.mark.parametrize("first", ["cairn", "joblib"])
def test_the_backend_is_registered_whichever_is_imported_first(first):
    second = "joblib" if first == "cairn" else "cairn"
    code = (f"import {first}, {second}\n"
            "with joblib.parallel_backend('cairn', scheduler='threads'):\n"
            "    print(joblib.Parallel(n_jobs=2)(joblib.delayed(abs)(-i) for i in range(3)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0, 1, 2]"


def test_grid_search_spreads_over_worker_processes_with_the_sequential_result():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    grid = {"C": [1, 10, 100], "gamma": [1e-4, 1e-3], "kernel": ["rbf", "poly"]}
    sequential = GridSearchCV(SVC(), grid, n_jobs=1, cv=3).fit(X, y)
    with joblib.parallel_backend("cairn", scheduler="processes"):
        spread = GridSearchCV(SVC(), grid, n_jobs=-1, cv=3).fit(X, y)
    assert spread.best_params_ == sequential.best_params_
    assert list(spread.cv_results_["mean_test_score"]) == \
        list(sequential.cv_results_["mean_test_score"])


def test_a_fit_that_raises_reaches_the_caller_as_itself():
    pytest.importorskip("sklearn")
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.model_selection import GridSearchCV

    class Broken(ClassifierMixin, BaseEstimator):
        def __init__(self, c=1):
            self.c = c

        def fit(self, X, y):
            raise FitFailed(self.c, "bad data")

    with joblib.parallel_backend("cairn", scheduler="threads"):
        with pytest.raises(FitFailed, match="bad data"):
            GridSearchCV(Broken(), {"c": [1, 2]}, n_jobs=2, cv=2,
                         error_score="raise").fit([[0], [1], [2], [3]], [0, 1, 0, 1])


def test_parallel_on_a_distributed_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", host="127.0.0.1") as cluster:
        with distributed.Client(cluster) as client:
            with joblib.parallel_backend("cairn", scheduler=client):
                out = joblib.Parallel(n_jobs=-1)(joblib.delayed(square)(i) for i in range(50))
                assert out == [i * i for i in range(50)]
                with pytest.raises(FitFailed):
                    joblib.Parallel(n_jobs=-1)(joblib.delayed(fail_on_three)(i)
                                               for i in range(8))
            with joblib.parallel_backend("cairn"):  # the default client
                backend, _ = joblib.parallel.get_active_backend()
                assert backend.mode == "distributed"
