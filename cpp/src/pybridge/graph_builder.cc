#include "pybridge/graph_builder.h"

#include <nanobind/nanobind.h>

#include <unordered_map>

#include "pybridge/native_values.h"
#include "pybridge/python_runtime.h"
#include "pybridge/python_task.h"

namespace cairn::py {
namespace {

// Builds one task's expression, collecting its distinct dependencies in first-use order.
class ExprParser {
 public:
  ExprParser(PyObject* ids, std::vector<TaskId>* dependencies)
      : ids_(ids), dependencies_(dependencies) {}

  Result<Expr> Parse(PyObject* object) {
    Expr expr;
    if (PyTuple_CheckExact(object) && PyTuple_GET_SIZE(object) > 0 &&
        PyCallable_Check(PyTuple_GET_ITEM(object, 0))) {
      expr.kind = Expr::Kind::kCall;
      expr.object = Py_NewRef(PyTuple_GET_ITEM(object, 0));
      Py_ssize_t n = PyTuple_GET_SIZE(object);
      expr.children.reserve(n - 1);
      for (Py_ssize_t i = 1; i < n; ++i) {
        CAIRN_ASSIGN_OR_RAISE(Expr child, Parse(PyTuple_GET_ITEM(object, i)));
        expr.children.push_back(std::move(child));
      }
      return expr;
    }
    if (PyList_CheckExact(object)) {
      Py_ssize_t n = PyList_GET_SIZE(object);
      std::vector<Expr> children;
      children.reserve(n);
      for (Py_ssize_t i = 0; i < n; ++i) {
        CAIRN_ASSIGN_OR_RAISE(Expr child, Parse(PyList_GET_ITEM(object, i)));
        children.push_back(std::move(child));
      }
      // Lists are rebuilt per run (even of literals), as in Dask, so no run sees another's.
      expr.kind = Expr::Kind::kList;
      expr.children = std::move(children);
      return expr;
    }
    if (IsKeyLike(object)) {
      PyObject* id = PyDict_GetItemWithError(ids_, object);  // borrowed
      if (id != nullptr) {
        expr.kind = Expr::Kind::kInput;
        expr.input = SlotFor(static_cast<TaskId>(PyLong_AsUnsignedLong(id)));
        return expr;
      }
      if (PyErr_Occurred()) PyErr_Clear();  // unhashable: a literal
    }
    expr.kind = Expr::Kind::kLiteral;
    expr.object = Py_NewRef(object);
    return expr;
  }

 private:
  static bool IsKeyLike(PyObject* object) {
    // Keys are hashable; skip the lookup for common unhashable containers.
    return !(PyList_Check(object) || PyDict_Check(object) || PySet_Check(object) ||
             object == Py_None);
  }

  // Dependencies are few for most tasks (linear scan) and many for reductions (hashed).
  uint32_t SlotFor(TaskId dependency) {
    constexpr size_t kScanLimit = 16;
    if (slots_.empty()) {
      for (size_t i = 0; i < dependencies_->size(); ++i) {
        if ((*dependencies_)[i] == dependency) return static_cast<uint32_t>(i);
      }
      if (dependencies_->size() == kScanLimit) {
        for (size_t i = 0; i < dependencies_->size(); ++i) {
          slots_.emplace((*dependencies_)[i], static_cast<uint32_t>(i));
        }
      }
    }
    if (!slots_.empty()) {
      auto [it, added] =
          slots_.emplace(dependency, static_cast<uint32_t>(dependencies_->size()));
      if (!added) return it->second;
    }
    dependencies_->push_back(dependency);
    return static_cast<uint32_t>(dependencies_->size() - 1);
  }

  PyObject* ids_;
  std::vector<TaskId>* dependencies_;
  std::unordered_map<TaskId, uint32_t> slots_;
};

std::string KeyLabel(PyObject* key);

// (native_task, key | [keys], ...): the inputs, in order, must all be keys of the graph.
Status NativeInputs(PyObject* task, PyObject* ids, PyObject* key, std::vector<TaskId>* deps) {
  auto add = [&](PyObject* arg) -> Status {
    PyObject* id = PyDict_GetItemWithError(ids, arg);
    if (id == nullptr) {
      if (PyErr_Occurred()) PyErr_Clear();
      return Status::TypeError("task ", KeyLabel(key),
                               ": arguments of a native task must be keys of the graph");
    }
    deps->push_back(static_cast<TaskId>(PyLong_AsUnsignedLong(id)));
    return Status::OK();
  };
  for (Py_ssize_t i = 1; i < PyTuple_GET_SIZE(task); ++i) {
    PyObject* arg = PyTuple_GET_ITEM(task, i);
    if (PyList_CheckExact(arg)) {
      for (Py_ssize_t j = 0; j < PyList_GET_SIZE(arg); ++j) {
        CAIRN_RETURN_NOT_OK(add(PyList_GET_ITEM(arg, j)));
      }
    } else {
      CAIRN_RETURN_NOT_OK(add(arg));
    }
  }
  return Status::OK();
}

std::string KeyLabel(PyObject* key) {
  if (PyUnicode_Check(key)) {
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(key, &size);
    if (utf8 != nullptr) return std::string(utf8, size);
    PyErr_Clear();
    return "<key>";
  }
  PyObject* text = PyObject_Repr(key);
  if (text == nullptr) {
    PyErr_Clear();
    return "<key>";
  }
  const char* utf8 = PyUnicode_AsUTF8(text);
  std::string label = utf8 ? utf8 : "<key>";
  if (utf8 == nullptr) PyErr_Clear();
  Py_DECREF(text);
  return label;
}

}  // namespace

Result<BuiltGraph> BuildGraph(PyObject* dsk, PyObject* keys) {
  if (!PyDict_Check(dsk)) {
    return Status::TypeError("a task graph must be a dict mapping keys to tasks, got ",
                             Py_TYPE(dsk)->tp_name);
  }
  BuiltGraph built;
  const Py_ssize_t n = PyDict_Size(dsk);
  built.graph.Reserve(static_cast<size_t>(n));

  // key -> task id (as a Python dict so any hashable key works, with Python's equality)
  PyObject* ids = PyDict_New();
  if (ids == nullptr) return StatusFromPythonError();
  struct Release {
    PyObject* o;
    ~Release() { Py_DECREF(o); }
  } release_ids{ids};
  {
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    TaskId next = 0;
    while (PyDict_Next(dsk, &pos, &key, &value)) {
      PyObject* id = PyLong_FromUnsignedLong(next++);
      int rc = PyDict_SetItem(ids, key, id);
      Py_DECREF(id);
      if (rc != 0) return StatusFromPythonError();
    }
  }
  {
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    std::vector<TaskId> dependencies;
    while (PyDict_Next(dsk, &pos, &key, &value)) {
      dependencies.clear();
      if (PyTuple_CheckExact(value) && PyTuple_GET_SIZE(value) > 0 &&
          nanobind::isinstance<NativeTaskHandle>(nanobind::handle(PyTuple_GET_ITEM(value, 0)))) {
        auto* native = nanobind::inst_ptr<NativeTaskHandle>(PyTuple_GET_ITEM(value, 0));
        CAIRN_RETURN_NOT_OK(NativeInputs(value, ids, key, &dependencies));
        TaskId id = built.graph.AddTask(KeyLabel(key), native->body);
        for (TaskId dep : dependencies) built.graph.AddDependency(id, dep);
        continue;
      }
      ExprParser parser(ids, &dependencies);
      CAIRN_ASSIGN_OR_RAISE(Expr expr, parser.Parse(value));
      TaskId id = built.graph.AddTask(KeyLabel(key),
                                      std::make_shared<PythonTaskBody>(std::move(expr)));
      for (TaskId dep : dependencies) built.graph.AddDependency(id, dep);
    }
  }
  PyObject* iterator = PyObject_GetIter(keys);
  if (iterator == nullptr) return StatusFromPythonError();
  while (PyObject* key = PyIter_Next(iterator)) {
    PyObject* id = PyDict_GetItemWithError(ids, key);
    if (id == nullptr) {
      if (PyErr_Occurred()) PyErr_Clear();
      std::string label = KeyLabel(key);
      Py_DECREF(key);
      Py_DECREF(iterator);
      return Status::KeyError("cannot compute key ", label,
                              ": it is not in the task graph (keys are case- and "
                              "type-sensitive; check the name)");
    }
    built.outputs.push_back(static_cast<TaskId>(PyLong_AsUnsignedLong(id)));
    Py_DECREF(key);
  }
  Py_DECREF(iterator);
  if (PyErr_Occurred()) return StatusFromPythonError();
  return built;
}

}  // namespace cairn::py
