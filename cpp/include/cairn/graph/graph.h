// A graph of tasks and their dependencies, as built by the Python front or by C++ callers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/graph/task.h"

namespace cairn {

using TaskId = uint32_t;

/// Tasks (a key, a body) and dependency edges. Building is cheap and does no validation;
/// MakePlan (plan.h) checks for cycles and dangling edges when the graph is about to run.
/// Not thread-safe while being built; safe to share read-only afterwards.
class Graph {
 public:
  /// Adds a task and returns its id (ids are dense, in insertion order). Keys are labels for
  /// users and error messages; the caller keeps them unique.
  TaskId AddTask(std::string key, std::shared_ptr<TaskBody> body);

  /// Declares that `task` consumes the result of `dependency`. The order of calls is the
  /// order of the task's inputs. Either id may belong to a task added later; invalid ids and
  /// cycles are reported by MakePlan.
  void AddDependency(TaskId task, TaskId dependency);

  size_t size() const { return tasks_.size(); }
  const std::string& key(TaskId id) const { return tasks_[id].key; }
  const std::shared_ptr<TaskBody>& body(TaskId id) const { return tasks_[id].body; }
  const std::vector<TaskId>& dependencies(TaskId id) const { return tasks_[id].dependencies; }

  /// Finds a task by key with a linear scan; for tests and diagnostics, not hot paths.
  Result<TaskId> Find(const std::string& key) const;

  void Reserve(size_t n) { tasks_.reserve(n); }

 private:
  struct Task {
    std::string key;
    std::shared_ptr<TaskBody> body;
    std::vector<TaskId> dependencies;
  };
  std::vector<Task> tasks_;
};

}  // namespace cairn
