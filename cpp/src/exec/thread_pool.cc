#include "cairn/exec/thread_pool.h"

#include <chrono>

namespace cairn {
namespace {

thread_local bool tl_in_worker = false;
// How long a worker keeps the interpreter lock across consecutive Python tasks.
constexpr auto kLockBatch = std::chrono::milliseconds(5);

}  // namespace

Result<std::shared_ptr<ThreadPool>> ThreadPool::Make(int num_workers,
                                                     std::shared_ptr<InterpreterLock> lock) {
  if (num_workers < 1) {
    return Status::Invalid("num_workers must be at least 1, got ", num_workers);
  }
  return std::shared_ptr<ThreadPool>(new ThreadPool(num_workers, std::move(lock)));
}

ThreadPool::ThreadPool(int num_workers, std::shared_ptr<InterpreterLock> lock)
    : lock_(std::move(lock)) {
  workers_.reserve(num_workers);
  for (int i = 0; i < num_workers; ++i) workers_.push_back(std::make_unique<Worker>());
  for (int i = 0; i < num_workers; ++i) {
    workers_[i]->thread = std::thread([this, i] { WorkerLoop(i); });
  }
}

ThreadPool::~ThreadPool() { Shutdown(); }

bool ThreadPool::InWorkerThread() { return tl_in_worker; }

void ThreadPool::Shutdown() {
  std::lock_guard<std::mutex> guard(shutdown_mutex_);
  if (shut_down_) return;
  shut_down_ = true;
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    stopping_.store(true);
  }
  sleep_cv_.notify_all();
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  // Jobs still queued belong to runs nobody will finish; cancel them so waiters return.
  std::deque<Job> leftover;
  {
    std::lock_guard<std::mutex> lock(shared_mutex_);
    leftover.swap(shared_jobs_);
  }
  for (auto& worker : workers_) {
    std::lock_guard<std::mutex> lock(worker->mutex);
    for (auto& job : worker->jobs) leftover.push_back(std::move(job));
    worker->jobs.clear();
  }
  for (auto& job : leftover) job.run->Cancel(Status::Cancelled("the thread pool was shut down"));
}

std::shared_ptr<Run> ThreadPool::Submit(std::shared_ptr<const Plan> plan) {
  auto run = std::make_shared<Run>(std::move(plan));
  if (stopping_.load()) {
    run->Cancel(Status::Cancelled("the thread pool was shut down"));
    return run;
  }
  const auto& roots = run->plan().roots;
  if (roots.empty()) return run;
  {
    std::lock_guard<std::mutex> lock(shared_mutex_);
    for (uint32_t node : roots) shared_jobs_.push_back(Job{run, node});
  }
  WakeWorkers(roots.size());
  return run;
}

void ThreadPool::WakeWorkers(size_t jobs_added) {
  queued_.fetch_add(static_cast<int64_t>(jobs_added), std::memory_order_seq_cst);
  int idle = idle_.load(std::memory_order_seq_cst);
  if (idle == 0) return;
  { std::lock_guard<std::mutex> lock(sleep_mutex_); }
  if (jobs_added >= static_cast<size_t>(idle)) {
    sleep_cv_.notify_all();
  } else {
    for (size_t i = 0; i < jobs_added; ++i) sleep_cv_.notify_one();
  }
}

bool ThreadPool::SleepUntilWork() {
  std::unique_lock<std::mutex> lock(sleep_mutex_);
  idle_.fetch_add(1, std::memory_order_seq_cst);
  sleep_cv_.wait(lock, [this] {
    return queued_.load(std::memory_order_seq_cst) > 0 || stopping_.load();
  });
  idle_.fetch_sub(1, std::memory_order_seq_cst);
  return !stopping_.load();
}

bool ThreadPool::TakeJob(int index, Job* job) {
  {  // own deque, newest first (depth-first)
    Worker& self = *workers_[index];
    std::lock_guard<std::mutex> lock(self.mutex);
    if (!self.jobs.empty()) {
      *job = std::move(self.jobs.front());
      self.jobs.pop_front();
      queued_.fetch_sub(1, std::memory_order_seq_cst);
      return true;
    }
  }
  {  // roots, in priority order
    std::lock_guard<std::mutex> lock(shared_mutex_);
    if (!shared_jobs_.empty()) {
      *job = std::move(shared_jobs_.front());
      shared_jobs_.pop_front();
      queued_.fetch_sub(1, std::memory_order_seq_cst);
      return true;
    }
  }
  const int n = num_workers();
  for (int k = 1; k < n; ++k) {  // steal the oldest job of another worker
    Worker& victim = *workers_[(index + k) % n];
    std::lock_guard<std::mutex> lock(victim.mutex);
    if (!victim.jobs.empty()) {
      *job = std::move(victim.jobs.back());
      victim.jobs.pop_back();
      queued_.fetch_sub(1, std::memory_order_seq_cst);
      return true;
    }
  }
  return false;
}

void ThreadPool::PushReady(int index, const std::shared_ptr<Run>& run,
                           const std::vector<uint32_t>& ready) {
  if (ready.empty()) return;
  Worker& self = *workers_[index];
  {
    std::lock_guard<std::mutex> lock(self.mutex);
    // `ready` is in priority order; the first must end up at the front.
    for (auto it = ready.rbegin(); it != ready.rend(); ++it) self.jobs.push_front(Job{run, *it});
  }
  // This worker takes one of them next; wake others only for the rest.
  queued_.fetch_add(1, std::memory_order_seq_cst);
  if (ready.size() > 1) WakeWorkers(ready.size() - 1);
}

void ThreadPool::WorkerLoop(int index) {
  using Clock = std::chrono::steady_clock;
  tl_in_worker = true;
  bool holding = false;
  Clock::time_point held_since;
  std::vector<uint32_t> ready;
  while (true) {
    Job job;
    if (!TakeJob(index, &job)) {
      if (holding) {
        lock_->Release();
        holding = false;
      }
      if (!SleepUntilWork()) break;
      continue;
    }
    Run& run = *job.run;
    const bool python = run.plan().nodes[job.node].needs_python && lock_ != nullptr;
    if (python && !holding) {
      lock_->Acquire();
      holding = true;
      held_since = Clock::now();
    } else if (!python && holding) {
      lock_->Release();
      holding = false;
    }
    if (run.BeginTask()) {
      ready.clear();
      run.Execute(job.node, &ready);
      if (!run.cancelled()) PushReady(index, job.run, ready);
      run.EndTask();
    }
    job.run.reset();  // may free the Run's values; bodies' values handle their own locking
    if (holding && Clock::now() - held_since > kLockBatch) {
      lock_->Release();
      holding = false;
    }
  }
  if (holding) lock_->Release();
  if (lock_) lock_->ThreadExit();
  tl_in_worker = false;
}

}  // namespace cairn
