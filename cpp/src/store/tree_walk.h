// Listing the files of a folder to track (internal to cpp/src/store).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/common/status.h"

namespace cairn::store {

struct TreeFile {
  std::string rel;   // relative to the folder, '/'-separated, validated
  std::string path;  // full path
  uint64_t size = 0;
  bool executable = false;
};

/// Every regular file below `root`, sorted by `rel`. Symlinks, devices, sockets and paths a
/// manifest could not hold are refused: the error names them and what to do.
Result<std::vector<TreeFile>> ListTree(const std::string& root);

}  // namespace cairn::store
