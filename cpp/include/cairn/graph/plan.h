// From a Graph and the wanted outputs to what an executor runs.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/graph/graph.h"

namespace cairn {

struct PlanOptions {
  /// Merge linear chains (a task whose only input comes from a task with no other consumer)
  /// into one task, so a chain's intermediate results never wait in a queue.
  bool fuse = true;
};

/// The executable form of the part of a Graph that the outputs need: culled, with linear
/// chains fused, and nodes numbered in run-priority order. Node i's dependencies all have
/// indices < i (a topological order) and the order is depth-first from the outputs, so a
/// branch is finished and its intermediates freed before the next one starts (the idea
/// behind dask.order). Immutable once made; executors share it read-only.
struct Plan {
  struct Node {
    std::shared_ptr<TaskBody> body;
    TaskId source;               // graph task whose result this node produces (chain's last)
    uint32_t first_dependency;   // range in `dependencies`
    uint32_t num_dependencies;
    uint32_t first_dependent;    // range in `dependents`
    uint32_t num_dependents;
    bool is_output;
    bool needs_python;
  };
  std::vector<Node> nodes;
  std::vector<uint32_t> dependencies;  // node indices, grouped per node
  std::vector<uint32_t> dependents;    // node indices, grouped per node
  std::vector<uint32_t> outputs;       // node index of each requested output, in request order
  std::vector<uint32_t> roots;         // nodes without dependencies, in priority order
  size_t graph_tasks = 0;              // tasks in the graph
  size_t culled = 0;                   // tasks dropped because no output needs them
  size_t fused = 0;                    // tasks merged into a chain (not counting chain heads)

  std::span<const uint32_t> DependenciesOf(uint32_t node) const {
    const Node& n = nodes[node];
    return {dependencies.data() + n.first_dependency, n.num_dependencies};
  }
  std::span<const uint32_t> DependentsOf(uint32_t node) const {
    const Node& n = nodes[node];
    return {dependents.data() + n.first_dependent, n.num_dependents};
  }
};

/// Culls, checks and orders `graph` for the given outputs (which may repeat).
/// Errors: Invalid for an output or dependency id out of range, or for a dependency cycle
/// (the message names the keys on the cycle).
Result<std::shared_ptr<const Plan>> MakePlan(const Graph& graph, std::span<const TaskId> outputs,
                                             const PlanOptions& options = {});

}  // namespace cairn
