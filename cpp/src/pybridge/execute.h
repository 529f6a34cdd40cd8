// Running a Dask-spec graph from Python: scheduler choice, the wait loop that keeps Ctrl-C
// and progress callbacks working, and the process-wide thread pools.
#pragma once

#include <Python.h>

#include <string>

#include "cairn/common/status.h"

namespace cairn::py {

struct ExecuteOptions {
  std::string scheduler = "threads";  // "threads" or "sync"
  int num_workers = 0;                // threads; <= 0 is rejected by the caller
  bool fuse = true;
  PyObject* progress = nullptr;  // callable(done, total) or nullptr; borrowed
};

/// Computes `keys` of `dsk` and returns a new list of their values (GIL held on entry and
/// exit; released while waiting). A task's exception is re-raised with its traceback;
/// KeyboardInterrupt (Ctrl-C) cancels the run. Called from inside a pool worker (a nested
/// compute), it runs on the calling thread instead of waiting on the pool it occupies.
/// Returns nullptr with a Python error set on failure.
PyObject* Execute(PyObject* dsk, PyObject* keys, const ExecuteOptions& options);

/// Plan statistics without running: a new dict {graph_tasks, culled, fused, nodes}.
PyObject* PlanStats(PyObject* dsk, PyObject* keys, bool fuse);

/// The linear chains MakePlan fuses, without running: a new list of lists of task positions
/// (the order of `dsk`'s keys), each chain first task first; only chains of two or more
/// tasks. Lets a scheduler that ships tasks elsewhere (worker processes) fuse them the same
/// way before shipping.
PyObject* PlanChains(PyObject* dsk, PyObject* keys);

/// Joins and drops every pool (registered with atexit by the Python package).
void ShutdownPools();

/// Runs a synthetic native graph (see graph/synthetic.h) with the GIL released; returns a
/// new dict of timings {build_s, plan_s, run_s, nodes}. kind is "wide" or "chain".
PyObject* RunSyntheticGraph(const std::string& kind, size_t num_tasks, size_t group_width,
                            int num_workers);

}  // namespace cairn::py
