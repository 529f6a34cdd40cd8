// Fixed-width little-endian integers in the store's binary formats (docs/store-format.md).
// Internal to cpp/src/store.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace cairn::store {

/// Appends `value` to `out`; the store is little-endian, like x86-64 and arm64.
template <typename T>
void PutLittleEndian(std::string* out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out->append(bytes, sizeof(T));
}

/// Reads a T at `p` (no alignment needed).
template <typename T>
T GetLittleEndian(const void* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

}  // namespace cairn::store
