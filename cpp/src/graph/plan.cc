#include "cairn/graph/plan.h"

#include <algorithm>
#include <limits>

namespace cairn {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
enum Mark : uint8_t { kUnseen = 0, kOnStack = 1, kDone = 2 };

Status CycleError(const Graph& graph, const std::vector<std::pair<TaskId, size_t>>& stack,
                  TaskId again) {
  std::string path;
  bool on_cycle = false;
  for (const auto& [task, next] : stack) {
    if (task == again) on_cycle = true;
    if (on_cycle) path += "'" + graph.key(task) + "' -> ";
  }
  path += "'" + graph.key(again) + "'";
  return Status::Invalid("the task graph has a cycle: ", path,
                         ". A task cannot depend on its own result; check how the graph was "
                         "built.");
}

// Depth-first post-order from the outputs: dependencies come before their consumers and a
// branch is finished before the next one starts. Marks what is reachable (everything else is
// culled) and detects cycles.
Result<std::vector<TaskId>> PostOrder(const Graph& graph, std::span<const TaskId> outputs) {
  std::vector<uint8_t> mark(graph.size(), kUnseen);
  std::vector<TaskId> order;
  std::vector<std::pair<TaskId, size_t>> stack;  // (task, next dependency to visit)
  for (TaskId out : outputs) {
    if (mark[out] != kUnseen) continue;
    stack.emplace_back(out, 0);
    mark[out] = kOnStack;
    while (!stack.empty()) {
      auto& [task, next] = stack.back();
      const auto& deps = graph.dependencies(task);
      if (next < deps.size()) {
        TaskId dep = deps[next++];
        if (dep >= graph.size()) {
          return Status::Invalid("task '", graph.key(task), "' depends on task id ", dep,
                                 ", which is not in the graph");
        }
        if (mark[dep] == kOnStack) return CycleError(graph, stack, dep);
        if (mark[dep] == kUnseen) {
          mark[dep] = kOnStack;
          stack.emplace_back(dep, 0);
        }
        continue;
      }
      mark[task] = kDone;
      order.push_back(task);
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace

Result<std::shared_ptr<const Plan>> MakePlan(const Graph& graph, std::span<const TaskId> outputs,
                                             const PlanOptions& options) {
  for (TaskId out : outputs) {
    if (out >= graph.size()) {
      return Status::Invalid("requested output task id ", out, " is not in the graph");
    }
  }
  CAIRN_ASSIGN_OR_RAISE(std::vector<TaskId> order, PostOrder(graph, outputs));

  const size_t n = graph.size();
  std::vector<uint8_t> is_output(n, 0);
  for (TaskId out : outputs) is_output[out] = 1;

  // Consumers of each reachable task (counted per edge, duplicates included).
  std::vector<uint32_t> consumer_count(n, 0);
  std::vector<TaskId> only_consumer(n, kNone);
  for (TaskId task : order) {
    for (TaskId dep : graph.dependencies(task)) {
      ++consumer_count[dep];
      only_consumer[dep] = task;
    }
  }

  // fused_into[a] = b: a's result feeds only b, b has no other input, a is not an output.
  std::vector<uint8_t> fused_away(n, 0);
  size_t fused = 0;
  if (options.fuse) {
    for (TaskId task : order) {
      const auto& deps = graph.dependencies(task);
      if (deps.size() != 1) continue;
      TaskId dep = deps[0];
      if (consumer_count[dep] == 1 && !is_output[dep] && only_consumer[dep] == task) {
        fused_away[dep] = 1;
        ++fused;
      }
    }
  }

  auto plan = std::make_shared<Plan>();
  plan->graph_tasks = n;
  plan->culled = n - order.size();
  plan->fused = fused;
  std::vector<uint32_t> node_of(n, kNone);
  plan->nodes.reserve(order.size() - fused);

  // Nodes in post-order; a chain becomes one node at the position of its last task.
  std::vector<std::shared_ptr<TaskBody>> links;
  for (TaskId task : order) {
    if (fused_away[task]) continue;
    TaskId head = task;
    links.clear();
    links.push_back(graph.body(task));
    while (graph.dependencies(head).size() == 1 && fused_away[graph.dependencies(head)[0]]) {
      head = graph.dependencies(head)[0];
      links.push_back(graph.body(head));
    }
    std::shared_ptr<TaskBody> body;
    if (links.size() == 1) {
      body = links[0];
    } else {
      std::reverse(links.begin(), links.end());
      body = std::make_shared<ChainBody>(links);
    }
    Plan::Node node{};
    node.body = std::move(body);
    node.source = task;
    node.first_dependency = static_cast<uint32_t>(plan->dependencies.size());
    for (TaskId dep : graph.dependencies(head)) plan->dependencies.push_back(node_of[dep]);
    node.num_dependencies = static_cast<uint32_t>(graph.dependencies(head).size());
    node.is_output = is_output[task] != 0;
    node.needs_python = node.body && node.body->NeedsPython();
    node_of[task] = static_cast<uint32_t>(plan->nodes.size());
    if (node.num_dependencies == 0) plan->roots.push_back(node_of[task]);
    plan->nodes.push_back(std::move(node));
  }

  // Dependents (CSR), in node order so the first ready dependent is the highest priority.
  std::vector<uint32_t> dependent_count(plan->nodes.size(), 0);
  for (uint32_t dep : plan->dependencies) ++dependent_count[dep];
  uint32_t offset = 0;
  for (size_t i = 0; i < plan->nodes.size(); ++i) {
    plan->nodes[i].first_dependent = offset;
    plan->nodes[i].num_dependents = 0;
    offset += dependent_count[i];
  }
  plan->dependents.resize(offset);
  for (uint32_t i = 0; i < plan->nodes.size(); ++i) {
    for (uint32_t dep : plan->DependenciesOf(i)) {
      Plan::Node& d = plan->nodes[dep];
      plan->dependents[d.first_dependent + d.num_dependents++] = i;
    }
  }
  plan->outputs.reserve(outputs.size());
  for (TaskId out : outputs) plan->outputs.push_back(node_of[out]);
  return std::shared_ptr<const Plan>(std::move(plan));
}

}  // namespace cairn
