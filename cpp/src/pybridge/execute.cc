#include "pybridge/execute.h"

#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>

#include "cairn/exec/sync_executor.h"
#include "cairn/exec/thread_pool.h"
#include "cairn/graph/plan.h"
#include "cairn/graph/synthetic.h"
#include "pybridge/graph_builder.h"
#include "pybridge/native_values.h"
#include "pybridge/python_runtime.h"

namespace cairn::py {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWaitTick = std::chrono::milliseconds(50);
constexpr auto kInterruptGrace = std::chrono::milliseconds(400);

// Pools by worker count, created on first use and kept warm. Guarded by the GIL.
std::map<int, std::shared_ptr<ThreadPool>>& Pools() {
  static auto* pools = new std::map<int, std::shared_ptr<ThreadPool>>();
  return *pools;
}

Result<std::shared_ptr<ThreadPool>> GetPool(int num_workers) {
  auto& pools = Pools();
  static pid_t owner = getpid();
  if (owner != getpid()) {
    // A forked child inherits the pools but not their threads: abandon them (joining or
    // destroying them here would wait on threads that do not exist) and start afresh.
    static auto* abandoned = new std::vector<std::shared_ptr<ThreadPool>>();
    for (auto& [n, pool] : pools) abandoned->push_back(std::move(pool));
    pools.clear();
    owner = getpid();
  }
  auto it = pools.find(num_workers);
  if (it != pools.end()) return it->second;
  CAIRN_ASSIGN_OR_RAISE(auto pool, ThreadPool::Make(num_workers, std::make_shared<GilLock>()));
  pools.emplace(num_workers, pool);
  return pool;
}

PyObject* Fail(const Status& status) {
  SetPythonError(status);
  return nullptr;
}

Status ReportProgress(PyObject* progress, size_t done, size_t total) {
  if (progress == nullptr) return Status::OK();
  PyObject* result = PyObject_CallFunction(progress, "nn", static_cast<Py_ssize_t>(done),
                                           static_cast<Py_ssize_t>(total));
  if (result == nullptr) return StatusFromPythonError();
  Py_DECREF(result);
  return Status::OK();
}

PyObject* ToPythonList(const std::vector<ValuePtr>& values) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(values.size()));
  if (list == nullptr) return nullptr;
  for (size_t i = 0; i < values.size(); ++i) {
    PyObject* item = ValueToPython(values[i]);
    if (item == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), item);
  }
  return list;
}

// Waits on a Run with the GIL released, waking every tick to deliver progress and to notice
// Ctrl-C (signal handlers only run on the main thread, under the GIL).
Result<std::vector<ValuePtr>> WaitForRun(const std::shared_ptr<Run>& run, PyObject* progress) {
  size_t reported = static_cast<size_t>(-1);
  while (true) {
    bool ended;
    Py_BEGIN_ALLOW_THREADS
    ended = run->WaitFor(kWaitTick);
    Py_END_ALLOW_THREADS
    if (PyErr_CheckSignals() != 0) {
      Status interrupted = StatusFromPythonError();
      run->Cancel(interrupted);
      // Let running tasks finish briefly so their side effects stop; do not wait on a long
      // task: it finishes in the background and its result is dropped.
      Py_BEGIN_ALLOW_THREADS
      run->WaitFor(std::chrono::duration_cast<std::chrono::milliseconds>(kInterruptGrace));
      Py_END_ALLOW_THREADS
      return interrupted;
    }
    size_t done = run->tasks_done();
    if (done != reported || ended) {
      reported = done;
      Status st = ReportProgress(progress, done, run->tasks_total());
      if (!st.ok()) {
        run->Cancel(st);
        Py_BEGIN_ALLOW_THREADS
        run->WaitFor(std::chrono::duration_cast<std::chrono::milliseconds>(kInterruptGrace));
        Py_END_ALLOW_THREADS
        return st;
      }
    }
    if (ended) return run->TakeOutputs();
  }
}

}  // namespace

PyObject* Execute(PyObject* dsk, PyObject* keys, const ExecuteOptions& options) {
  auto built = BuildGraph(dsk, keys);
  if (!built.ok()) return Fail(built.status());
  auto plan = MakePlan(built->graph, built->outputs, PlanOptions{.fuse = options.fuse});
  if (!plan.ok()) return Fail(plan.status());

  Result<std::vector<ValuePtr>> outputs;
  if (options.scheduler == "sync" || ThreadPool::InWorkerThread()) {
    PyObject* progress = options.progress;
    outputs = RunSync(*plan, [progress](size_t done, size_t total) -> Status {
      if (PyErr_CheckSignals() != 0) return StatusFromPythonError();
      return ReportProgress(progress, done, total);
    });
  } else if (options.scheduler == "threads") {
    auto pool = GetPool(options.num_workers);
    if (!pool.ok()) return Fail(pool.status());
    outputs = WaitForRun((*pool)->Submit(*plan), options.progress);
  } else {
    return Fail(Status::Invalid("unknown scheduler '", options.scheduler, "'"));
  }
  if (!outputs.ok()) return Fail(outputs.status());
  return ToPythonList(*outputs);
}

PyObject* PlanStats(PyObject* dsk, PyObject* keys, bool fuse) {
  auto built = BuildGraph(dsk, keys);
  if (!built.ok()) return Fail(built.status());
  auto plan = MakePlan(built->graph, built->outputs, PlanOptions{.fuse = fuse});
  if (!plan.ok()) return Fail(plan.status());
  return Py_BuildValue("{s:n,s:n,s:n,s:n}", "graph_tasks",
                       static_cast<Py_ssize_t>((*plan)->graph_tasks), "culled",
                       static_cast<Py_ssize_t>((*plan)->culled), "fused",
                       static_cast<Py_ssize_t>((*plan)->fused), "nodes",
                       static_cast<Py_ssize_t>((*plan)->nodes.size()));
}

PyObject* PlanChains(PyObject* dsk, PyObject* keys) {
  auto built = BuildGraph(dsk, keys);
  if (!built.ok()) return Fail(built.status());
  auto plan = MakePlan(built->graph, built->outputs, PlanOptions{.fuse = true});
  if (!plan.ok()) return Fail(plan.status());
  const Graph& graph = built->graph;
  // A reachable task that is no node's source was fused into the node of its consumer.
  std::vector<uint8_t> is_source(graph.size(), 0);
  for (const auto& node : (*plan)->nodes) is_source[node.source] = 1;
  PyObject* chains = PyList_New(0);
  if (chains == nullptr) return nullptr;
  std::vector<TaskId> chain;
  for (const auto& node : (*plan)->nodes) {
    chain.assign(1, node.source);
    while (graph.dependencies(chain.back()).size() == 1 &&
           !is_source[graph.dependencies(chain.back())[0]]) {
      chain.push_back(graph.dependencies(chain.back())[0]);
    }
    if (chain.size() < 2) continue;
    PyObject* ids = PyList_New(static_cast<Py_ssize_t>(chain.size()));
    if (ids == nullptr || PyList_Append(chains, ids) != 0) {
      Py_XDECREF(ids);
      Py_DECREF(chains);
      return nullptr;
    }
    Py_DECREF(ids);
    for (size_t i = 0; i < chain.size(); ++i) {
      PyObject* id = PyLong_FromUnsignedLong(chain[chain.size() - 1 - i]);
      if (id == nullptr) {
        Py_DECREF(chains);
        return nullptr;
      }
      PyList_SET_ITEM(ids, static_cast<Py_ssize_t>(i), id);
    }
  }
  return chains;
}

void ShutdownPools() {
  std::map<int, std::shared_ptr<ThreadPool>> pools;
  pools.swap(Pools());
  Py_BEGIN_ALLOW_THREADS
  for (auto& [n, pool] : pools) pool->Shutdown();
  pools.clear();
  Py_END_ALLOW_THREADS
}

PyObject* RunSyntheticGraph(const std::string& kind, size_t num_tasks, size_t group_width,
                            int num_workers) {
  if (kind != "wide" && kind != "chain") {
    return Fail(Status::Invalid("kind must be 'wide' or 'chain', got '", kind, "'"));
  }
  auto pool = GetPool(num_workers);
  if (!pool.ok()) return Fail(pool.status());
  double build_s = 0, plan_s = 0, run_s = 0;
  size_t nodes = 0;
  Status status;
  Py_BEGIN_ALLOW_THREADS
  auto t0 = Clock::now();
  std::vector<TaskId> outputs;
  Graph graph = kind == "wide" ? MakeWideSumGraph(num_tasks, group_width, true, &outputs)
                               : MakeChainGraph(num_tasks, &outputs);
  auto t1 = Clock::now();
  auto plan = MakePlan(graph, outputs, PlanOptions{.fuse = false});
  auto t2 = Clock::now();
  if (plan.ok()) {
    nodes = (*plan)->nodes.size();
    auto run = (*pool)->Submit(*plan);
    while (!run->WaitFor(std::chrono::milliseconds(1000))) {
    }
    status = run->TakeOutputs().status();
  } else {
    status = plan.status();
  }
  auto t3 = Clock::now();
  build_s = std::chrono::duration<double>(t1 - t0).count();
  plan_s = std::chrono::duration<double>(t2 - t1).count();
  run_s = std::chrono::duration<double>(t3 - t2).count();
  Py_END_ALLOW_THREADS
  if (!status.ok()) return Fail(status);
  return Py_BuildValue("{s:d,s:d,s:d,s:n}", "build_s", build_s, "plan_s", plan_s, "run_s", run_s,
                       "nodes", static_cast<Py_ssize_t>(nodes));
}

}  // namespace cairn::py
