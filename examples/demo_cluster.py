"""The cluster part of the cairn demo: the corpus word count and a read of the versioned
corpus at a git tag, on a dask.distributed LocalCluster of worker processes, timed next to
cairn's threads; then a scikit-learn grid search spread over the same workers.

Run from demo.py (step [10]) or alone: ``python examples/demo_cluster.py CORPUS PROJECT``
(PROJECT: a git work tree where demo_store.py versioned the corpus under data/, tag v1).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import cairn.bag as cb


def _timed(label: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t0
    print(f"  {label:<44} {elapsed:8.3f} s")
    return out, elapsed


def demo_cluster(corpus: Path, project: Path) -> None:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("\n[10] (skipped: dask.distributed is not installed)")
        return
    files = sorted(str(p) for p in corpus.glob("*.txt"))
    mb = sum(Path(f).stat().st_size for f in files) / 2**20
    print(f"\n[10] on a dask.distributed cluster: 2 worker processes (LocalCluster), the {mb:.0f} "
          "MiB corpus and the store")
    cluster, t_start = _timed("start the LocalCluster", lambda: LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        host="127.0.0.1"))
    try:
        with Client(cluster) as client:
            print(f"  -> dashboard: {client.dashboard_link}")
            words = cb.read_text(files, blocksize="32MiB").str.split().flatten().frequencies() \
                .topk(10, key=1)
            on_threads, t_threads = _timed("top 10 words, cairn threads",
                                           lambda: words.compute(scheduler="threads"))
            words.compute()  # first run: workers import cairn and warm their page cache
            on_cluster, t_cluster = _timed("top 10 words, the cluster (default client)",
                                           words.compute)
            assert on_cluster == on_threads, "the cluster and threads disagree"
            print(f"  -> same top 10 as threads ({mb / t_cluster:.0f} MiB/s; threads "
                  f"{mb / t_threads:.0f} MiB/s)")

            old = os.getcwd()
            os.chdir(project)
            try:
                at_v1 = cb.read_text("data/*.txt", rev="v1").str.split().flatten().count()
                (n_threads, t_v1) = _timed("words of the corpus at tag v1, threads",
                                           lambda: at_v1.compute(scheduler="threads"))
                n_cluster, t_v1c = _timed("the same on the cluster", at_v1.compute)
            finally:
                os.chdir(old)
            assert n_cluster == n_threads
            print(f"  -> {n_cluster:,} words at v1 on both")
            demo_grid_search(client)
    finally:
        cluster.close()


def demo_grid_search(client: Any) -> None:
    try:
        import joblib
        from sklearn.datasets import load_digits
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC
    except ImportError:
        print("  (grid search skipped: scikit-learn is not installed)")
        return
    X, y = load_digits(return_X_y=True)
    grid = {"C": [1, 10, 100], "gamma": [1e-4, 1e-3, 1e-2], "kernel": ["rbf", "poly"]}
    fits = 3 * 3 * 2 * 3

    def search(**backend: Any) -> Any:
        with joblib.parallel_backend("cairn", **backend):
            return GridSearchCV(SVC(), grid, n_jobs=-1, cv=3).fit(X, y)

    local, _ = _timed(f"GridSearchCV ({fits} fits), cairn processes",
                      lambda: search(scheduler="processes"))
    remote, _ = _timed("the same on the cluster (joblib backend)", lambda: search(scheduler=client))
    assert local.best_params_ == remote.best_params_
    print(f"  -> best {remote.best_params_} (accuracy {remote.best_score_:.3f}) on both")


if __name__ == "__main__":
    demo_cluster(Path(sys.argv[1]), Path(sys.argv[2]))
