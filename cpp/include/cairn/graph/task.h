// What a task runs.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "cairn/common/status.h"
#include "cairn/common/value.h"

namespace cairn {

/// The work of one task. A body may be shared by many tasks and run concurrently from several
/// worker threads, so Run must be thread-safe. Errors come back as a Status; a body never
/// throws (a body that calls user code catches at this boundary).
class TaskBody {
 public:
  virtual ~TaskBody() = default;

  /// True when Run needs the Python interpreter (the executor then holds the GIL around it,
  /// batching consecutive Python tasks under one acquisition). Native bodies return false and
  /// run with the GIL released.
  virtual bool NeedsPython() const { return false; }

  /// Runs the task. `inputs` are the results of the task's dependencies, in the order the
  /// dependencies were added to the graph.
  virtual Result<ValuePtr> Run(std::span<const ValuePtr> inputs) = 0;

  /// A short label for diagrams and error messages (e.g. the function name).
  virtual std::string Label() const { return "task"; }
};

/// A native task: a C++ callable.
class NativeBody final : public TaskBody {
 public:
  using Function = std::function<Result<ValuePtr>(std::span<const ValuePtr>)>;
  NativeBody(std::string label, Function function)
      : label_(std::move(label)), function_(std::move(function)) {}
  Result<ValuePtr> Run(std::span<const ValuePtr> inputs) override { return function_(inputs); }
  std::string Label() const override { return label_; }

 private:
  std::string label_;
  Function function_;
};

/// Several bodies run back to back as one task: the first gets the chain's inputs, each next
/// one gets the previous result as its only input. Built by plan fusion of linear chains.
class ChainBody final : public TaskBody {
 public:
  explicit ChainBody(std::vector<std::shared_ptr<TaskBody>> links);
  bool NeedsPython() const override { return needs_python_; }
  Result<ValuePtr> Run(std::span<const ValuePtr> inputs) override;
  std::string Label() const override;
  size_t size() const { return links_.size(); }

 private:
  std::vector<std::shared_ptr<TaskBody>> links_;
  bool needs_python_ = false;
};

}  // namespace cairn
