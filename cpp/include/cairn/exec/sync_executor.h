// The single-threaded executor (scheduler="sync"), for debugging and nested computes.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/common/value.h"
#include "cairn/graph/plan.h"

namespace cairn {

/// Called between tasks (at most every ~50 ms and once at the end) with the progress so far.
/// A non-OK Status stops the run and is returned.
using BetweenTasks = std::function<Status(size_t done, size_t total)>;

/// Runs every node of `plan` on the calling thread in plan order, with the same semantics as
/// ThreadPool (results freed after their last consumer, first error stops the run).
/// Whatever lock a body needs (the GIL) must already be held by the caller.
Result<std::vector<ValuePtr>> RunSync(std::shared_ptr<const Plan> plan,
                                      const BetweenTasks& between_tasks = nullptr);

}  // namespace cairn
