// Splitting text into the tokens str.split() gives, for the text kernels (internal header).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "cairn/text/utf8.h"

namespace cairn::text {

/// Calls visit(token) for each whitespace-separated token of `s`, as str.split() gives
/// them, and line_break() for each "\n" or "\r" between them (universal newlines end a
/// line at either; "\r\n" calls it twice, which callers treat as one break).
template <typename Visit, typename LineBreak>
void ForEachToken(std::string_view s, Visit&& visit, LineBreak&& line_break) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    while (i < n) {  // skip whitespace
      uint8_t cls = kByteClass[p[i]];
      if (cls == 0) break;
      if (cls == 1) {
        if (p[i] == '\n' || p[i] == '\r') line_break();
        ++i;
        continue;
      }
      int space = SpaceLengthAt(s, i);
      if (space == 0) break;
      i += space;
    }
    if (i >= n) break;
    size_t start = i;
    while (i < n) {
      uint8_t cls = kByteClass[p[i]];
      if (cls == 0) {
        ++i;
        // Then 8 bytes at a time while none is below '!' or past 0x7F (then the byte loop
        // decides): the lowest flagged byte is exact, borrows only run upwards.
        while (i + 8 <= n) {
          uint64_t w;
          std::memcpy(&w, p + i, 8);
          const uint64_t stop = ((w - 0x2121212121212121ull) | w) & 0x8080808080808080ull;
          if (stop != 0) {
            i += static_cast<size_t>(std::countr_zero(stop)) / 8;
            break;
          }
          i += 8;
        }
        continue;
      }
      if (cls == 1 || SpaceLengthAt(s, i) > 0) break;
      i += p[i] < 0xE0 ? 2 : p[i] < 0xF0 ? 3 : 4;
    }
    visit(s.substr(start, i - start));
  }
}

template <typename Visit>
void ForEachToken(std::string_view s, Visit&& visit) {
  ForEachToken(s, visit, [] {});
}

}  // namespace cairn::text
