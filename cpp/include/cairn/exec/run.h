// One computation in flight: its values, counters, and the first error.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/common/value.h"
#include "cairn/graph/plan.h"

namespace cairn {

/// The state of one execution of a Plan, shared by the caller and the worker threads.
/// All methods are thread-safe. A task's result is released as soon as its last consumer
/// has run (outputs are kept until TakeOutputs). The first failure cancels the run: no task
/// starts after it, and the failure is what TakeOutputs returns.
class Run {
 public:
  explicit Run(std::shared_ptr<const Plan> plan);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  const Plan& plan() const { return *plan_; }

  /// Blocks for at most `timeout`; returns true once the run has ended: every node done, or
  /// cancelled (by an error or Cancel) with no task still running.
  bool WaitFor(std::chrono::milliseconds timeout);
  bool ended() const;

  /// Stops the run: no further task starts. `reason` is reported unless a task already
  /// failed. Safe to call more than once and after the end.
  void Cancel(Status reason);
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  size_t tasks_done() const { return done_.load(std::memory_order_relaxed); }
  size_t tasks_total() const { return plan_->nodes.size(); }

  /// After the run ended: the outputs in request order, or the first error. Call once.
  Result<std::vector<ValuePtr>> TakeOutputs();

  // --- Used by executors -------------------------------------------------------------
  /// Registers a task as running; false (and nothing registered) when the run is cancelled.
  bool BeginTask();
  /// Runs node `index` (between BeginTask and EndTask). Appends the nodes that became ready
  /// to `ready`, in priority order. A failure is recorded and cancels the run.
  void Execute(uint32_t index, std::vector<uint32_t>* ready);
  void EndTask();

 private:
  void Fail(Status status);
  void MarkEndedIfDone();

  std::shared_ptr<const Plan> plan_;
  std::vector<ValuePtr> values_;
  std::unique_ptr<std::atomic<uint32_t>[]> pending_dependencies_;
  std::unique_ptr<std::atomic<uint32_t>[]> remaining_consumers_;
  std::atomic<size_t> done_{0};
  std::atomic<int64_t> running_{0};
  std::atomic<bool> cancelled_{false};

  mutable std::mutex mutex_;
  std::condition_variable ended_cv_;
  bool ended_ = false;
  Status first_error_;
};

}  // namespace cairn
