#include "pybridge/python_task.h"

#include "pybridge/native_values.h"
#include "pybridge/python_runtime.h"

namespace cairn::py {
namespace {

constexpr size_t kStackArgs = 8;

// Returns a new reference, or nullptr with a Python error set.
PyObject* Evaluate(const Expr& expr, std::span<const ValuePtr> inputs) {
  switch (expr.kind) {
    case Expr::Kind::kLiteral:
      Py_INCREF(expr.object);
      return expr.object;
    case Expr::Kind::kInput: {
      // Native values (Arrow strings, counts) become Python objects here, under the GIL.
      return ValueToPython(inputs[expr.input]);
    }
    case Expr::Kind::kList: {
      PyObject* list = PyList_New(static_cast<Py_ssize_t>(expr.children.size()));
      if (list == nullptr) return nullptr;
      for (size_t i = 0; i < expr.children.size(); ++i) {
        PyObject* item = Evaluate(expr.children[i], inputs);
        if (item == nullptr) {
          Py_DECREF(list);
          return nullptr;
        }
        PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), item);
      }
      return list;
    }
    case Expr::Kind::kCall: {
      const size_t n = expr.children.size();
      PyObject* stack_args[kStackArgs];
      std::vector<PyObject*> heap_args;
      PyObject** args = stack_args;
      if (n > kStackArgs) {
        heap_args.resize(n);
        args = heap_args.data();
      }
      size_t made = 0;
      PyObject* result = nullptr;
      for (; made < n; ++made) {
        args[made] = Evaluate(expr.children[made], inputs);
        if (args[made] == nullptr) break;
      }
      if (made == n) result = PyObject_Vectorcall(expr.object, args, n, nullptr);
      for (size_t i = 0; i < made; ++i) Py_DECREF(args[i]);
      return result;
    }
  }
  return nullptr;
}

}  // namespace

Expr::Expr(Expr&& other) noexcept
    : kind(other.kind), object(other.object), input(other.input),
      children(std::move(other.children)) {
  other.object = nullptr;
}

Expr& Expr::operator=(Expr&& other) noexcept {
  if (this != &other) {
    Py_XDECREF(object);
    kind = other.kind;
    object = other.object;
    input = other.input;
    children = std::move(other.children);
    other.object = nullptr;
  }
  return *this;
}

Expr::~Expr() {
  if (object != nullptr && Py_IsInitialized() && !InterpreterFinalizing()) {
    PyGILState_STATE state = PyGILState_Ensure();
    Py_DECREF(object);
    PyGILState_Release(state);
  }
}

Result<ValuePtr> PythonTaskBody::Run(std::span<const ValuePtr> inputs) {
  PyObject* result = Evaluate(expr_, inputs);
  if (result == nullptr) return StatusFromPythonError();
  return std::make_shared<PyValue>(result);
}

}  // namespace cairn::py
