#include "cairn/graph/synthetic.h"

#include <cstdint>
#include <string>

namespace cairn {
namespace {

std::shared_ptr<TaskBody> SumBody() {
  return std::make_shared<NativeBody>("sum", [](std::span<const ValuePtr> inputs) -> Result<ValuePtr> {
    int64_t total = 0;
    for (const auto& input : inputs) {
      const int64_t* v = ValueAs<int64_t>(input);
      if (v == nullptr) return Status::TypeError("sum: input is not an int64");
      total += *v;
    }
    return MakeValue<int64_t>(total);
  });
}

}  // namespace

Graph MakeWideSumGraph(size_t num_tasks, size_t group_width, bool empty_bodies,
                       std::vector<TaskId>* outputs) {
  Graph graph;
  graph.Reserve(num_tasks);
  auto empty = std::make_shared<NativeBody>(
      "noop", [](std::span<const ValuePtr>) -> Result<ValuePtr> { return ValuePtr(); });
  auto sum = empty_bodies ? empty : SumBody();
  if (group_width == 0) group_width = 1;
  // leaves + ceil(leaves / width) reducers + 1 final = num_tasks (approximately)
  size_t leaves = num_tasks > 2 ? (num_tasks - 1) * group_width / (group_width + 1) : 1;
  std::vector<TaskId> reducers;
  size_t leaf = 0;
  while (leaf < leaves) {
    size_t end = std::min(leaves, leaf + group_width);
    std::vector<TaskId> group;
    for (; leaf < end; ++leaf) {
      std::shared_ptr<TaskBody> body = empty;
      if (!empty_bodies) {
        int64_t index = static_cast<int64_t>(leaf);
        body = std::make_shared<NativeBody>("leaf", [index](std::span<const ValuePtr>) -> Result<ValuePtr> {
          return MakeValue<int64_t>(index);
        });
      }
      group.push_back(graph.AddTask("leaf-" + std::to_string(leaf), body));
    }
    TaskId reducer = graph.AddTask("group-" + std::to_string(reducers.size()), sum);
    for (TaskId t : group) graph.AddDependency(reducer, t);
    reducers.push_back(reducer);
  }
  TaskId total = graph.AddTask("total", sum);
  for (TaskId r : reducers) graph.AddDependency(total, r);
  outputs->assign(1, total);
  return graph;
}

Graph MakeChainGraph(size_t length, std::vector<TaskId>* outputs) {
  Graph graph;
  graph.Reserve(length);
  auto first = std::make_shared<NativeBody>(
      "one", [](std::span<const ValuePtr>) -> Result<ValuePtr> { return MakeValue<int64_t>(1); });
  auto increment = std::make_shared<NativeBody>("inc", [](std::span<const ValuePtr> inputs) -> Result<ValuePtr> {
    const int64_t* v = ValueAs<int64_t>(inputs[0]);
    if (v == nullptr) return Status::TypeError("inc: input is not an int64");
    return MakeValue<int64_t>(*v + 1);
  });
  TaskId previous = graph.AddTask("chain-0", first);
  for (size_t i = 1; i < length; ++i) {
    TaskId t = graph.AddTask("chain-" + std::to_string(i), increment);
    graph.AddDependency(t, previous);
    previous = t;
  }
  outputs->assign(1, previous);
  return graph;
}

}  // namespace cairn
