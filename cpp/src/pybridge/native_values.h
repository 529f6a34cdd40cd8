// Native task values and native tasks as Python sees them.
#pragma once

#include <Python.h>

#include <memory>
#include <string>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/common/value.h"
#include "cairn/graph/task.h"

namespace cairn::py {

/// A native task body wrapped for Python (cairn._core.NativeTask). Used as the callable of a
/// task tuple: (native_task, key, [key, ...]) runs the body with those keys' values as
/// inputs, without the GIL.
struct NativeTaskHandle {
  std::shared_ptr<TaskBody> body;
};

/// A native task value held by Python (cairn._core.NativeValue): what RunNativeTask returns
/// for results that stay native between tasks on other processes (counts tables), so
/// they are converted only where Python needs them and pickle as EncodeValue's bytes.
struct NativeValueHandle {
  ValuePtr value;
};

/// Runs `task` on the calling thread with `inputs`, the GIL released (held on entry and
/// exit; the inputs are dropped before it is taken back). Errors: the task's Status.
Result<ValuePtr> RunNativeTask(const NativeTaskHandle& task, std::vector<ValuePtr> inputs);

/// The Python form of a task value (GIL held): PyValue -> its object, null -> None, int64 ->
/// int, text values -> lists of str / lists of lists / (str, int) pairs. New reference, or
/// nullptr with a Python error set.
PyObject* ValueToPython(const ValuePtr& value);

}  // namespace cairn::py
