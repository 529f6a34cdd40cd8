#include "pybridge/native_values.h"

#include <arrow/array.h>

#include "cairn/text/counts.h"
#include "cairn/text/pipeline.h"
#include "pybridge/python_runtime.h"

namespace cairn::py {
namespace {

PyObject* Str(std::string_view s) {
  return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "strict");
}

PyObject* StringArrayToList(const arrow::LargeStringArray& array, int64_t begin, int64_t end) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(end - begin));
  if (list == nullptr) return nullptr;
  for (int64_t i = begin; i < end; ++i) {
    PyObject* item = Str(array.GetView(i));
    if (item == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i - begin), item);
  }
  return list;
}

PyObject* StringsToPython(const text::StringsValue& value) {
  if (auto* strings = dynamic_cast<const arrow::LargeStringArray*>(value.array.get())) {
    return StringArrayToList(*strings, 0, strings->length());
  }
  auto* lists = dynamic_cast<const arrow::LargeListArray*>(value.array.get());
  if (lists == nullptr) {
    PyErr_SetString(PyExc_TypeError, "unexpected native array type");
    return nullptr;
  }
  auto items = std::static_pointer_cast<arrow::LargeStringArray>(lists->values());
  PyObject* out = PyList_New(static_cast<Py_ssize_t>(lists->length()));
  if (out == nullptr) return nullptr;
  for (int64_t i = 0; i < lists->length(); ++i) {
    PyObject* inner = StringArrayToList(*items, lists->value_offset(i), lists->value_offset(i + 1));
    if (inner == nullptr) {
      Py_DECREF(out);
      return nullptr;
    }
    PyList_SET_ITEM(out, static_cast<Py_ssize_t>(i), inner);
  }
  return out;
}

PyObject* CountsToPython(const text::CountsValue& value) {
  const auto table_ptr = value.Table();
  const auto& table = *table_ptr;
  const size_t n = value.has_order ? value.order.size() : table.size();
  PyObject* out = PyList_New(static_cast<Py_ssize_t>(n));
  if (out == nullptr) return nullptr;
  for (size_t j = 0; j < n; ++j) {
    size_t i = value.has_order ? value.order[j] : j;
    PyObject* item;
    if (value.keys_only) {
      item = Str(table.key(i));
    } else {
      item = Py_BuildValue("(NL)", Str(table.key(i)), static_cast<long long>(table.count(i)));
    }
    if (item == nullptr) {
      Py_DECREF(out);
      return nullptr;
    }
    PyList_SET_ITEM(out, static_cast<Py_ssize_t>(j), item);
  }
  return out;
}

}  // namespace

PyObject* ValueToPython(const ValuePtr& value) {
  if (value == nullptr) Py_RETURN_NONE;
  if (auto* py = dynamic_cast<const PyValue*>(value.get())) return Py_NewRef(py->object());
  if (const int64_t* v = ValueAs<int64_t>(value)) return PyLong_FromLongLong(*v);
  if (auto* strings = dynamic_cast<const text::StringsValue*>(value.get())) {
    return StringsToPython(*strings);
  }
  if (auto* counts = dynamic_cast<const text::CountsValue*>(value.get())) {
    return CountsToPython(*counts);
  }
  PyErr_SetString(PyExc_TypeError, "a native task produced a value with no Python form");
  return nullptr;
}

Result<ValuePtr> RunNativeTask(const NativeTaskHandle& task, std::vector<ValuePtr> inputs) {
  Result<ValuePtr> out;
  Py_BEGIN_ALLOW_THREADS
  out = task.body->Run(inputs);
  inputs.clear();
  Py_END_ALLOW_THREADS
  return out;
}

}  // namespace cairn::py
