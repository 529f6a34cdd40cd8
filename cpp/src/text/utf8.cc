#include "cairn/text/utf8.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace cairn::text {
namespace {

struct CaseMapping {
  uint32_t code_point;
  const char* utf8;
};
struct CodeRange {
  uint32_t first;
  uint32_t last;
};

#include "unicode_tables.inc"

template <size_t N>
const char* FindMapping(const CaseMapping (&table)[N], uint32_t cp) {
  auto it = std::lower_bound(std::begin(table), std::end(table), cp,
                             [](const CaseMapping& m, uint32_t v) { return m.code_point < v; });
  return (it != std::end(table) && it->code_point == cp) ? it->utf8 : nullptr;
}

template <size_t N>
bool InRanges(const CodeRange (&table)[N], uint32_t cp) {
  auto it = std::upper_bound(std::begin(table), std::end(table), cp,
                             [](uint32_t v, const CodeRange& r) { return v < r.first; });
  return it != std::begin(table) && cp <= (it - 1)->last;
}

bool IsCased(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
  return InRanges(kCased, cp);
}

bool IsCaseIgnorable(uint32_t cp) {
  if (cp < 0x80) return cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`';
  return InRanges(kCaseIgnorable, cp);
}

// Python's Final_Sigma: preceded by a cased letter and not followed by one (skipping
// case-ignorable characters on both sides).
bool IsFinalSigma(std::string_view s, size_t at, size_t length) {
  bool cased_before = false;
  for (size_t j = at; j > 0;) {
    size_t k = j - 1;
    while (k > 0 && (static_cast<uint8_t>(s[k]) & 0xC0) == 0x80) --k;
    int n = 0;
    uint32_t cp = DecodeAt(s, k, &n);
    if (!IsCaseIgnorable(cp)) {
      cased_before = IsCased(cp);
      break;
    }
    j = k;
  }
  if (!cased_before) return false;
  for (size_t j = at + length; j < s.size();) {
    int n = 0;
    uint32_t cp = DecodeAt(s, j, &n);
    if (!IsCaseIgnorable(cp)) return !IsCased(cp);
    j += n;
  }
  return true;
}

// Length of the valid sequence at p[0..n) or 0 if invalid; `maximal` gets the length of the
// maximal subpart (>= 1) to replace when invalid.
int ValidSequenceLength(const uint8_t* p, size_t n, int* maximal) {
  uint8_t b0 = p[0];
  *maximal = 1;
  if (b0 < 0x80) return 1;
  int need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int k = 1; k < need; ++k) {
    if (static_cast<size_t>(k) >= n) return 0;
    uint8_t b = p[k];
    uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) return 0;
    *maximal = k + 1;
  }
  return need;
}

constexpr std::array<uint8_t, 256> MakeByteClass() {
  std::array<uint8_t, 256> t{};
  for (int b = 0; b < 256; ++b) {
    if ((b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x20)) t[b] = 1;
    if (b >= 0x80) t[b] = 2;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kByteClassArray = MakeByteClass();

}  // namespace

const uint8_t kByteClass[256] = {
#define CAIRN_ROW(r) kByteClassArray[r + 0], kByteClassArray[r + 1], kByteClassArray[r + 2], \
    kByteClassArray[r + 3], kByteClassArray[r + 4], kByteClassArray[r + 5],                  \
    kByteClassArray[r + 6], kByteClassArray[r + 7]
    CAIRN_ROW(0),   CAIRN_ROW(8),   CAIRN_ROW(16),  CAIRN_ROW(24),  CAIRN_ROW(32),
    CAIRN_ROW(40),  CAIRN_ROW(48),  CAIRN_ROW(56),  CAIRN_ROW(64),  CAIRN_ROW(72),
    CAIRN_ROW(80),  CAIRN_ROW(88),  CAIRN_ROW(96),  CAIRN_ROW(104), CAIRN_ROW(112),
    CAIRN_ROW(120), CAIRN_ROW(128), CAIRN_ROW(136), CAIRN_ROW(144), CAIRN_ROW(152),
    CAIRN_ROW(160), CAIRN_ROW(168), CAIRN_ROW(176), CAIRN_ROW(184), CAIRN_ROW(192),
    CAIRN_ROW(200), CAIRN_ROW(208), CAIRN_ROW(216), CAIRN_ROW(224), CAIRN_ROW(232),
    CAIRN_ROW(240), CAIRN_ROW(248)
#undef CAIRN_ROW
};

int64_t FindInvalidUtf8(std::string_view data) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  size_t i = 0;
  while (i < n) {
    // Skip ASCII 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if (word & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    int maximal = 0;
    int length = ValidSequenceLength(p + i, n - i, &maximal);
    if (length == 0) return static_cast<int64_t>(i);
    i += length;
  }
  return -1;
}

void AppendReplacingInvalid(std::string_view data, std::string* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  size_t i = 0;
  while (i < n) {
    int maximal = 0;
    int length = ValidSequenceLength(p + i, n - i, &maximal);
    if (length > 0) {
      out->append(data.data() + i, length);
      i += length;
    } else {
      out->append("\xEF\xBF\xBD");
      i += maximal;
    }
  }
}

bool IsSpace(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  return InRanges(kSpace, cp);
}

void AppendLower(std::string_view s, std::string* out) {
  out->reserve(out->size() + s.size());
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      out->push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b));
      ++i;
      continue;
    }
    int length = 0;
    uint32_t cp = DecodeAt(s, i, &length);
    if (cp == 0x03A3) {
      out->append(IsFinalSigma(s, i, length) ? "\xCF\x82" : "\xCF\x83");
    } else if (const char* mapped = FindMapping(kLowerMap, cp)) {
      out->append(mapped);
    } else {
      out->append(s.data() + i, length);
    }
    i += length;
  }
}

void AppendUpper(std::string_view s, std::string* out) {
  out->reserve(out->size() + s.size());
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      out->push_back(static_cast<char>(b >= 'a' && b <= 'z' ? b - 32 : b));
      ++i;
      continue;
    }
    int length = 0;
    uint32_t cp = DecodeAt(s, i, &length);
    if (const char* mapped = FindMapping(kUpperMap, cp)) {
      out->append(mapped);
    } else {
      out->append(s.data() + i, length);
    }
    i += length;
  }
}

}  // namespace cairn::text
