// Micro benchmarks of the engine: scheduling cost per native task.
#include <benchmark/benchmark.h>

#include <chrono>

#include "cairn/exec/sync_executor.h"
#include "cairn/exec/thread_pool.h"
#include "cairn/graph/synthetic.h"

namespace cairn {
namespace {

void BM_ThreadPoolWideEmptyTasks(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto pool = *ThreadPool::Make(static_cast<int>(state.range(1)), nullptr);
  std::vector<TaskId> outputs;
  Graph graph = MakeWideSumGraph(n, 1000, true, &outputs);
  auto plan = *MakePlan(graph, outputs, PlanOptions{.fuse = false});
  for (auto _ : state) {
    auto run = pool->Submit(plan);
    while (!run->WaitFor(std::chrono::milliseconds(100))) {
    }
    benchmark::DoNotOptimize(run->TakeOutputs());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * plan->nodes.size()));
}
BENCHMARK(BM_ThreadPoolWideEmptyTasks)->Args({1000000, 1})->Args({1000000, 2})->Unit(benchmark::kMillisecond);

void BM_SyncChain(benchmark::State& state) {
  std::vector<TaskId> outputs;
  Graph graph = MakeChainGraph(static_cast<size_t>(state.range(0)), &outputs);
  auto plan = *MakePlan(graph, outputs, PlanOptions{.fuse = false});
  for (auto _ : state) benchmark::DoNotOptimize(RunSync(plan));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * plan->nodes.size()));
}
BENCHMARK(BM_SyncChain)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_MakePlanWide(benchmark::State& state) {
  std::vector<TaskId> outputs;
  Graph graph = MakeWideSumGraph(static_cast<size_t>(state.range(0)), 1000, true, &outputs);
  for (auto _ : state) benchmark::DoNotOptimize(MakePlan(graph, outputs));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * graph.size()));
}
BENCHMARK(BM_MakePlanWide)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cairn
