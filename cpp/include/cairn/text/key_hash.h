// How the text tables load and hash their keys: CountsTable (counts.h) and WordIds.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace cairn::text::key_hash {

/// A key of at most 16 bytes as two little-endian words, zero-padded: the form the tables
/// store it in, so lookups compare two words instead of calling memcmp. Reads only key bytes.
inline void LoadShort(std::string_view key, uint64_t* w0, uint64_t* w1) {
  const auto* p = reinterpret_cast<const uint8_t*>(key.data());
  const size_t n = key.size();
  uint64_t lo = 0, hi = 0;
  if (n >= 8) {
    std::memcpy(&lo, p, 8);
    if (n > 8) {
      std::memcpy(&hi, p + n - 8, 8);
      hi >>= 8 * (16 - n);
    }
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    lo = a | (uint64_t{b} << (8 * (n - 4)));
  } else if (n > 0) {
    lo = p[0] | (uint64_t{p[n / 2]} << (8 * (n / 2))) | (uint64_t{p[n - 1]} << (8 * (n - 1)));
  }
  *w0 = lo;
  *w1 = hi;
}

inline uint64_t Mix(uint64_t h) {
  h *= 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

/// The hash of a key of `n` bytes loaded by LoadShort.
inline uint64_t HashShort(uint64_t n, uint64_t w0, uint64_t w1) {
  uint64_t h = Mix(Mix(n ^ w0) ^ w1);
  h ^= h >> 32;
  return h * 0x9E3779B97F4A7C15ull;
}

/// The hash of a key of any length: a 64-bit multiply-mix over 8-byte words.
inline uint64_t HashLong(std::string_view key) {
  uint64_t h = Mix(key.size());
  const char* p = key.data();
  size_t n = key.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = Mix(h ^ w);
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = Mix(h ^ w);
  }
  h ^= h >> 32;
  return h * 0x9E3779B97F4A7C15ull;
}

}  // namespace cairn::text::key_hash
