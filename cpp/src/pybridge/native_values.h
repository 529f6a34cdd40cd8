// Native task values and native tasks as Python sees them.
#pragma once

#include <Python.h>

#include <memory>
#include <string>

#include "cairn/common/value.h"
#include "cairn/graph/task.h"

namespace cairn::py {

/// A native task body wrapped for Python (cairn._core.NativeTask). Used as the callable of a
/// task tuple: (native_task, key, [key, ...]) runs the body with those keys' values as
/// inputs, without the GIL.
struct NativeTaskHandle {
  std::shared_ptr<TaskBody> body;
};

/// The Python form of a task value (GIL held): PyValue -> its object, null -> None, int64 ->
/// int, text values -> lists of str / lists of lists / (str, int) pairs. New reference, or
/// nullptr with a Python error set.
PyObject* ValueToPython(const ValuePtr& value);

}  // namespace cairn::py
