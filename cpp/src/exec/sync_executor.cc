#include "cairn/exec/sync_executor.h"

#include <chrono>

#include "cairn/exec/run.h"

namespace cairn {

Result<std::vector<ValuePtr>> RunSync(std::shared_ptr<const Plan> plan,
                                      const BetweenTasks& between_tasks) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kTick = std::chrono::milliseconds(50);
  Run run(std::move(plan));
  std::vector<uint32_t> ready;  // plan order is already topological; readiness is implied
  auto last_tick = Clock::now();
  const uint32_t n = static_cast<uint32_t>(run.tasks_total());
  for (uint32_t i = 0; i < n; ++i) {
    if (!run.BeginTask()) break;
    ready.clear();
    run.Execute(i, &ready);
    run.EndTask();
    if (between_tasks && (i % 64 == 0 || i + 1 == n)) {
      auto now = Clock::now();
      if (now - last_tick >= kTick || i + 1 == n) {
        last_tick = now;
        Status st = between_tasks(run.tasks_done(), run.tasks_total());
        if (!st.ok()) run.Cancel(std::move(st));
      }
    }
  }
  return run.TakeOutputs();
}

}  // namespace cairn
