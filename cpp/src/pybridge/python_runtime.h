// How the engine meets the Python interpreter: the GIL as an InterpreterLock, Python objects
// as task values, Python exceptions as Status details. Compiled into the extension only.
#pragma once

#include <Python.h>

#include <string>

#include "cairn/common/status.h"
#include "cairn/common/value.h"
#include "cairn/exec/interpreter_lock.h"

namespace cairn::py {

/// The GIL for pool worker threads. Each worker gets one PyThreadState on first use and
/// keeps it for its lifetime (so threading.local and tracebacks work across tasks); Acquire
/// and Release only swap the GIL. ThreadExit deletes the thread state.
class GilLock final : public InterpreterLock {
 public:
  void Acquire() override;
  void Release() override;
  void ThreadExit() override;
};

/// A Python object as a task result. Owns one reference; the destructor takes the GIL when
/// the calling thread does not hold it, so it may run on any thread.
class PyValue final : public Value {
 public:
  /// Steals the reference to `object`.
  explicit PyValue(PyObject* object) : object_(object) {}
  ~PyValue() override;
  PyObject* object() const { return object_; }

 private:
  PyObject* object_;
};

/// The Python exception raised by a task, kept with its traceback as a Status detail.
class PythonErrorDetail final : public arrow::StatusDetail {
 public:
  /// Steals `exception` (a normalized exception instance with __traceback__ set).
  PythonErrorDetail(PyObject* exception, std::string summary)
      : exception_(exception), summary_(std::move(summary)) {}
  ~PythonErrorDetail() override;
  const char* type_id() const override { return "cairn::python_error"; }
  std::string ToString() const override { return summary_; }
  PyObject* exception() const { return exception_; }

 private:
  PyObject* exception_;
  std::string summary_;
};

/// Converts the pending Python exception (GIL held) into a Status carrying it; clears it.
Status StatusFromPythonError();

/// Sets the Python error for `status` (GIL held): the original exception and traceback if it
/// came from Python code, otherwise a built-in exception type matching the Status code.
void SetPythonError(const Status& status);

/// True when the interpreter is shutting down (the GIL must not be taken then).
bool InterpreterFinalizing();

}  // namespace cairn::py
