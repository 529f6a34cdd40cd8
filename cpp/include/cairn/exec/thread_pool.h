// The work-stealing thread executor.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/exec/interpreter_lock.h"
#include "cairn/exec/run.h"
#include "cairn/graph/plan.h"

namespace cairn {

/// N long-lived worker threads that run Plans. Each worker has its own deque: it pushes the
/// tasks its work made ready to the front and takes from the front (depth-first, so results
/// are consumed while hot and freed early); an idle worker takes a root from the shared
/// queue, else steals the oldest task from another worker. Workers sleep when there is no
/// work (no spinning). Several Runs may be in flight at once. Thread-safe.
///
/// Tasks whose body NeedsPython run with `lock` held; a worker keeps the lock across
/// consecutive Python tasks (for up to ~5 ms) instead of taking it per task.
class ThreadPool {
 public:
  /// Errors: Invalid when num_workers < 1.
  static Result<std::shared_ptr<ThreadPool>> Make(int num_workers,
                                                  std::shared_ptr<InterpreterLock> lock);
  ~ThreadPool();  // Shutdown()

  /// Starts running `plan`; returns at once. Wait on the returned Run.
  std::shared_ptr<Run> Submit(std::shared_ptr<const Plan> plan);

  /// Stops the workers after the tasks they are running (queued tasks are dropped) and joins
  /// them. Must not be called from a worker thread. Idempotent.
  void Shutdown();

  int num_workers() const { return static_cast<int>(workers_.size()); }

  /// True on a thread owned by any ThreadPool (a nested compute must not block one).
  static bool InWorkerThread();

 private:
  struct Job {
    std::shared_ptr<Run> run;
    uint32_t node;
  };
  struct Worker {
    std::mutex mutex;
    std::deque<Job> jobs;
    std::thread thread;
  };

  ThreadPool(int num_workers, std::shared_ptr<InterpreterLock> lock);
  void WorkerLoop(int index);
  bool TakeJob(int index, Job* job);
  void PushReady(int index, const std::shared_ptr<Run>& run, const std::vector<uint32_t>& ready);
  void WakeWorkers(size_t jobs_added);
  bool SleepUntilWork();

  std::shared_ptr<InterpreterLock> lock_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex shared_mutex_;
  std::deque<Job> shared_jobs_;

  std::atomic<int64_t> queued_{0};
  std::atomic<int> idle_{0};
  std::atomic<bool> stopping_{false};
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
  std::mutex shutdown_mutex_;
  bool shut_down_ = false;
};

}  // namespace cairn
