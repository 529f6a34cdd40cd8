// Content-defined chunking (FastCDC-style gear hash with normalized chunking); the exact
// rule is specified in docs/store-format.md and must not change within a format version.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cairn::store {

struct ChunkerLimits {
  static constexpr size_t kMin = 16 * 1024;
  static constexpr size_t kNormal = 64 * 1024;
  static constexpr size_t kMax = 256 * 1024;
};

/// Length of the chunk that starts at data[0]: a cut point found by the gear hash, or kMax,
/// or `size` when the data ends first. When `at_end` is false and no cut is found within
/// `size` bytes (size < kMax), returns 0: the caller must supply more data (at least kMax
/// bytes, or everything that is left) and call again from the same start.
/// Pure function; thread-safe.
size_t NextChunkLength(const uint8_t* data, size_t size, bool at_end);

}  // namespace cairn::store
