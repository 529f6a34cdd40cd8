#include "cairn/graph/graph.h"

namespace cairn {

TaskId Graph::AddTask(std::string key, std::shared_ptr<TaskBody> body) {
  tasks_.push_back(Task{std::move(key), std::move(body), {}});
  return static_cast<TaskId>(tasks_.size() - 1);
}

void Graph::AddDependency(TaskId task, TaskId dependency) {
  tasks_[task].dependencies.push_back(dependency);
}

Result<TaskId> Graph::Find(const std::string& key) const {
  for (size_t i = 0; i < tasks_.size(); ++i) {
    if (tasks_[i].key == key) return static_cast<TaskId>(i);
  }
  return Status::KeyError("no task with key '", key, "' in the graph");
}

ChainBody::ChainBody(std::vector<std::shared_ptr<TaskBody>> links) : links_(std::move(links)) {
  for (const auto& link : links_) needs_python_ = needs_python_ || link->NeedsPython();
}

Result<ValuePtr> ChainBody::Run(std::span<const ValuePtr> inputs) {
  CAIRN_ASSIGN_OR_RAISE(ValuePtr value, links_.front()->Run(inputs));
  for (size_t i = 1; i < links_.size(); ++i) {
    ValuePtr input = std::move(value);  // freed as soon as the next link has run
    CAIRN_ASSIGN_OR_RAISE(value, links_[i]->Run(std::span<const ValuePtr>(&input, 1)));
  }
  return value;
}

std::string ChainBody::Label() const {
  std::string label;
  for (const auto& link : links_) {
    if (!label.empty()) label += "+";
    label += link->Label();
  }
  return label;
}

}  // namespace cairn
