#include "cairn/exec/run.h"

namespace cairn {

Run::Run(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {
  const size_t n = plan_->nodes.size();
  values_.resize(n);
  pending_dependencies_ = std::make_unique<std::atomic<uint32_t>[]>(n);
  remaining_consumers_ = std::make_unique<std::atomic<uint32_t>[]>(n);
  for (size_t i = 0; i < n; ++i) {
    const Plan::Node& node = plan_->nodes[i];
    pending_dependencies_[i].store(node.num_dependencies, std::memory_order_relaxed);
    remaining_consumers_[i].store(node.num_dependents + (node.is_output ? 1 : 0),
                                  std::memory_order_relaxed);
  }
  if (n == 0) ended_ = true;
}

Run::~Run() = default;

bool Run::WaitFor(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return ended_cv_.wait_for(lock, timeout, [this] { return ended_; });
}

bool Run::ended() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ended_;
}

void Run::Cancel(Status reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ended_ && first_error_.ok() && done_.load() == plan_->nodes.size()) return;
    if (first_error_.ok()) first_error_ = std::move(reason);
  }
  cancelled_.store(true, std::memory_order_seq_cst);
  MarkEndedIfDone();
}

void Run::Fail(Status status) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (first_error_.ok()) {
      first_error_ = std::move(status);
    }
  }
  // A later error (if any) is destroyed here, outside the lock.
  cancelled_.store(true, std::memory_order_seq_cst);
}

void Run::MarkEndedIfDone() {
  bool all_done = done_.load(std::memory_order_acquire) == plan_->nodes.size();
  bool stopped = cancelled_.load(std::memory_order_seq_cst) &&
                 running_.load(std::memory_order_seq_cst) == 0;
  if (!all_done && !stopped) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ended_) return;
    ended_ = true;
  }
  ended_cv_.notify_all();
}

bool Run::BeginTask() {
  running_.fetch_add(1, std::memory_order_seq_cst);
  if (cancelled_.load(std::memory_order_seq_cst)) {
    EndTask();
    return false;
  }
  return true;
}

void Run::EndTask() {
  if (running_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
      cancelled_.load(std::memory_order_seq_cst)) {
    MarkEndedIfDone();
  }
}

void Run::Execute(uint32_t index, std::vector<uint32_t>* ready) {
  const Plan::Node& node = plan_->nodes[index];
  auto deps = plan_->DependenciesOf(index);
  Result<ValuePtr> result;
  {
    // Inputs are copied (not moved) because a value may feed several consumers.
    thread_local std::vector<ValuePtr> inputs;
    inputs.clear();
    for (uint32_t dep : deps) inputs.push_back(values_[dep]);
    result = node.body->Run(std::span<const ValuePtr>(inputs.data(), inputs.size()));
    inputs.clear();
  }
  if (!result.ok()) {
    Fail(result.status());
    return;
  }
  values_[index] = std::move(result).ValueUnsafe();
  for (uint32_t dep : deps) {
    if (remaining_consumers_[dep].fetch_sub(1, std::memory_order_acq_rel) == 1) {
      values_[dep].reset();  // last consumer has run: free the intermediate result now
    }
  }
  for (uint32_t dependent : plan_->DependentsOf(index)) {
    if (pending_dependencies_[dependent].fetch_sub(1, std::memory_order_acq_rel) == 1) {
      ready->push_back(dependent);
    }
  }
  if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == plan_->nodes.size()) {
    MarkEndedIfDone();
  }
}

Result<std::vector<ValuePtr>> Run::TakeOutputs() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!first_error_.ok()) return first_error_;
  if (done_.load() != plan_->nodes.size()) {
    return Status::Cancelled("the computation was stopped before it finished");
  }
  std::vector<ValuePtr> outputs;
  outputs.reserve(plan_->outputs.size());
  for (uint32_t node : plan_->outputs) outputs.push_back(values_[node]);
  for (uint32_t node : plan_->outputs) values_[node].reset();
  return outputs;
}

}  // namespace cairn
