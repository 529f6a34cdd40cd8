// Python tasks: a task expression in Dask's graph spec, evaluated under the GIL.
#pragma once

#include <Python.h>

#include <memory>
#include <vector>

#include "cairn/graph/task.h"

namespace cairn::py {

/// One node of a task expression (Dask's spec): a literal, a reference to a dependency's
/// result, a list of expressions, or a call `(func, *args)` of expressions.
struct Expr {
  enum class Kind { kLiteral, kInput, kList, kCall };
  Kind kind = Kind::kLiteral;
  PyObject* object = nullptr;  // literal value or callable (owned reference)
  uint32_t input = 0;          // kInput: index into the task's inputs
  std::vector<Expr> children;  // kList items, kCall arguments

  Expr() = default;
  Expr(Expr&& other) noexcept;
  Expr& operator=(Expr&& other) noexcept;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;
  ~Expr();  // GIL must be held (graphs are built and dropped by the Python caller)
};

/// Evaluates an Expr with the task's inputs. NeedsPython: runs only with the GIL held.
/// A Python exception becomes a Status carrying the exception and its traceback.
class PythonTaskBody final : public TaskBody {
 public:
  explicit PythonTaskBody(Expr expr) : expr_(std::move(expr)) {}
  bool NeedsPython() const override { return true; }
  Result<ValuePtr> Run(std::span<const ValuePtr> inputs) override;
  std::string Label() const override { return "python"; }

 private:
  Expr expr_;
};

}  // namespace cairn::py
