// Synthetic graphs of native tasks, for tests and benchmarks of the engine itself.
#pragma once

#include <cstddef>
#include <vector>

#include "cairn/graph/graph.h"

namespace cairn {

/// A wide graph of `num_tasks` native tasks: groups of `group_width` independent leaves, each
/// group reduced by one task, and the group results reduced by a final task (the only output,
/// returned in `outputs`). Each leaf returns its index as int64; reducers return the sum of
/// their inputs, so the output is the sum of all leaf indices. With `empty_bodies`, tasks
/// do nothing and return null (measures pure scheduling cost).
Graph MakeWideSumGraph(size_t num_tasks, size_t group_width, bool empty_bodies,
                       std::vector<TaskId>* outputs);

/// A chain of `length` native tasks, each adding one to its input (the first returns 1).
Graph MakeChainGraph(size_t length, std::vector<TaskId>* outputs);

}  // namespace cairn
