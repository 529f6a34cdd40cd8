// UTF-8 text with Python's semantics: validation, decoding with replacement, case mapping,
// whitespace. Native kernels use these so their results equal Python's str methods.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cairn::text {

/// Offset of the first byte of the first invalid UTF-8 sequence in `data`, or -1 when all
/// of it is valid (Python's strict 'utf-8' decoder accepts exactly the same inputs).
int64_t FindInvalidUtf8(std::string_view data);

/// Appends `data` to `out` with every invalid sequence replaced by U+FFFD, the way Python's
/// bytes.decode('utf-8', 'replace') does (one replacement per maximal invalid subpart).
void AppendReplacingInvalid(std::string_view data, std::string* out);

/// Appends Python's str.lower() / str.upper() of valid UTF-8 `s` to `out` (full case
/// mappings, including Greek final sigma for lower).
void AppendLower(std::string_view s, std::string* out);
void AppendUpper(std::string_view s, std::string* out);

/// True if the code point is whitespace for Python's str.isspace / str.split / str.strip.
bool IsSpace(uint32_t code_point);

/// Decodes the code point starting at s[i] (valid UTF-8) and its length in bytes.
inline uint32_t DecodeAt(std::string_view s, size_t i, int* length) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + i;
  if (p[0] < 0x80) {
    *length = 1;
    return p[0];
  }
  if (p[0] < 0xE0) {
    *length = 2;
    return ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
  }
  if (p[0] < 0xF0) {
    *length = 3;
    return ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
  }
  *length = 4;
  return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
}

/// For each byte value: 1 if it is ASCII whitespace (Python's), 2 if it starts a multi-byte
/// sequence (look further), 0 otherwise.
extern const uint8_t kByteClass[256];

/// Length in bytes of the whitespace character at s[i], or 0 if it is not whitespace.
inline int SpaceLengthAt(std::string_view s, size_t i) {
  auto b = static_cast<uint8_t>(s[i]);
  uint8_t cls = kByteClass[b];
  if (cls != 2) return cls;
  int length = 0;
  uint32_t cp = DecodeAt(s, i, &length);
  return IsSpace(cp) ? length : 0;
}

}  // namespace cairn::text
