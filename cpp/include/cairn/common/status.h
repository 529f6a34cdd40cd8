// Status and Result: cairn reuses Arrow's (DESIGN.md decision 3).
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

namespace cairn {

/// Outcome of an operation that can fail on user input or I/O. Cheap to return when OK.
using Status = arrow::Status;
/// A value or the Status that explains why there is none.
template <typename T>
using Result = arrow::Result<T>;

}  // namespace cairn

#define CAIRN_RETURN_NOT_OK(expr) ARROW_RETURN_NOT_OK(expr)
#define CAIRN_ASSIGN_OR_RAISE(lhs, rexpr) ARROW_ASSIGN_OR_RAISE(lhs, rexpr)
