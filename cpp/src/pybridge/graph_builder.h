// Dask-spec task graphs (a dict of key -> task) into a cairn Graph.
#pragma once

#include <Python.h>

#include <vector>

#include "cairn/graph/graph.h"

namespace cairn::py {

struct BuiltGraph {
  Graph graph;
  std::vector<TaskId> outputs;  // one per requested key, in order
};

/// Builds a Graph from `dsk`, a dict mapping keys to tasks in Dask's graph spec: a task is a
/// tuple whose first element is callable, its arguments may be keys of `dsk` (replaced by
/// that key's result), lists (traversed), nested tasks (evaluated inline) or literals; a
/// value that is a key is an alias; anything else is a literal value. `keys` is a sequence
/// of keys to compute. GIL held. Errors: KeyError when a requested key is not in `dsk`,
/// TypeError when `dsk` is not a dict.
Result<BuiltGraph> BuildGraph(PyObject* dsk, PyObject* keys);

}  // namespace cairn::py
