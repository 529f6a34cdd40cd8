// Status is Arrow's; this unit exists so the common subsystem has a home for helpers that
// grow with it (logging, hashing) and keeps the static library non-empty.
#include "cairn/common/status.h"

namespace cairn {
namespace {
[[maybe_unused]] const Status kOk = Status::OK();
}  // namespace
}  // namespace cairn
