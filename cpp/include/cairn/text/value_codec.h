// Text task values as bytes, for results that move between processes (dask.distributed
// workers pass counts tables to the tasks that merge them).
#pragma once

#include <string>
#include <string_view>

#include "cairn/common/status.h"
#include "cairn/common/value.h"

namespace cairn::text {

/// True for the values EncodeValue takes: counts tables (strings or n-gram runs) and int64.
bool IsEncodable(const ValuePtr& value);

/// The bytes of `value` (IsEncodable). The layout is private to one cairn build and one
/// byte order: both ends must run the same cairn, which the cluster scheduler checks.
/// Errors: TypeError for a value of another type.
Result<std::string> EncodeValue(const ValuePtr& value);

/// The value EncodeValue made. Bytes that do not decode (cut short, lengths past the end,
/// ids past a dictionary, keys out of order) give Invalid; nothing is read out of bounds.
Result<ValuePtr> DecodeValue(std::string_view bytes);

}  // namespace cairn::text
