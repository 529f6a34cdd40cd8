#include "pybridge/python_runtime.h"

#include "cairn/io/file_io.h"
#include "cairn/text/pipeline.h"

namespace cairn::py {
namespace {
thread_local PyThreadState* tl_thread_state = nullptr;
}  // namespace

bool InterpreterFinalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

void GilLock::Acquire() {
  if (tl_thread_state == nullptr) {
    PyGILState_Ensure();  // creates this thread's PyThreadState and takes the GIL
    tl_thread_state = PyThreadState_Get();
    return;
  }
  PyEval_RestoreThread(tl_thread_state);
}

void GilLock::Release() { tl_thread_state = PyEval_SaveThread(); }

void GilLock::ThreadExit() {
  if (tl_thread_state == nullptr || InterpreterFinalizing()) return;
  PyEval_RestoreThread(tl_thread_state);
  tl_thread_state = nullptr;
  PyGILState_Release(PyGILState_UNLOCKED);  // deletes the thread state and drops the GIL
}

PyValue::~PyValue() {
  if (object_ == nullptr || !Py_IsInitialized() || InterpreterFinalizing()) return;
  PyGILState_STATE state = PyGILState_Ensure();
  Py_DECREF(object_);
  PyGILState_Release(state);
}

PythonErrorDetail::~PythonErrorDetail() {
  if (exception_ == nullptr || !Py_IsInitialized() || InterpreterFinalizing()) return;
  PyGILState_STATE state = PyGILState_Ensure();
  Py_DECREF(exception_);
  PyGILState_Release(state);
}

Status StatusFromPythonError() {
  PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  if (type == nullptr) return Status::UnknownError("a Python call failed without an exception");
  PyErr_NormalizeException(&type, &value, &traceback);
  if (traceback != nullptr) PyException_SetTraceback(value, traceback);
  std::string summary = reinterpret_cast<PyTypeObject*>(type)->tp_name;
  if (PyObject* text = PyObject_Str(value)) {
    if (const char* utf8 = PyUnicode_AsUTF8(text)) summary += std::string(": ") + utf8;
    Py_DECREF(text);
  }
  PyErr_Clear();
  Py_XDECREF(type);
  Py_XDECREF(traceback);
  return Status(arrow::StatusCode::ExecutionError, summary,
                std::make_shared<PythonErrorDetail>(value, summary));
}

namespace {

// Raises cairn.bag.textio.TextDecodeError(path, offset, UnicodeDecodeError(...)); false if
// that fails (then the caller raises a plain error with the same message).
bool SetTextDecodeError(const text::TextDecodeDetail& d) {
  PyObject* module = PyImport_ImportModule("cairn.bag.textio");
  if (module == nullptr) {
    PyErr_Clear();
    return false;
  }
  PyObject* cls = PyObject_GetAttrString(module, "TextDecodeError");
  Py_DECREF(module);
  if (cls == nullptr) {
    PyErr_Clear();
    return false;
  }
  PyObject* cause = PyUnicodeDecodeError_Create("utf-8", d.bad_bytes.data(),
                                                static_cast<Py_ssize_t>(d.bad_bytes.size()), 0,
                                                1, "invalid utf-8");
  PyObject* error = cause ? PyObject_CallFunction(cls, "sLO", d.path.c_str(),
                                                  static_cast<long long>(d.offset), cause)
                          : nullptr;
  Py_XDECREF(cause);
  if (error == nullptr) {
    Py_DECREF(cls);
    PyErr_Clear();
    return false;
  }
  PyErr_SetObject(cls, error);
  Py_DECREF(error);
  Py_DECREF(cls);
  return true;
}

}  // namespace

void SetPythonError(const Status& status) {
  if (auto* detail = dynamic_cast<PythonErrorDetail*>(status.detail().get())) {
    PyObject* exception = detail->exception();
    PyObject* traceback = PyException_GetTraceback(exception);  // new reference
    Py_INCREF(reinterpret_cast<PyObject*>(Py_TYPE(exception)));
    Py_INCREF(exception);
    PyErr_Restore(reinterpret_cast<PyObject*>(Py_TYPE(exception)), exception, traceback);
    return;
  }
  if (auto* decode = dynamic_cast<text::TextDecodeDetail*>(status.detail().get())) {
    if (SetTextDecodeError(*decode)) return;
  }
  if (dynamic_cast<io::NotFoundDetail*>(status.detail().get()) != nullptr) {
    PyErr_SetString(PyExc_FileNotFoundError, status.message().c_str());
    return;
  }
  PyObject* type = PyExc_RuntimeError;
  switch (status.code()) {
    case arrow::StatusCode::Invalid: type = PyExc_ValueError; break;
    case arrow::StatusCode::TypeError: type = PyExc_TypeError; break;
    case arrow::StatusCode::KeyError: type = PyExc_KeyError; break;
    case arrow::StatusCode::IndexError: type = PyExc_IndexError; break;
    case arrow::StatusCode::IOError: type = PyExc_OSError; break;
    case arrow::StatusCode::OutOfMemory: type = PyExc_MemoryError; break;
    case arrow::StatusCode::NotImplemented: type = PyExc_NotImplementedError; break;
    default: break;
  }
  PyErr_SetString(type, status.message().c_str());
}

}  // namespace cairn::py
