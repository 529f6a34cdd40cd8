#include "cairn/store/chunker.h"

#include <algorithm>
#include <array>

namespace cairn::store {
namespace {

constexpr std::array<uint64_t, 256> MakeGear() {
  std::array<uint64_t, 256> gear{};
  uint64_t x = 0;  // SplitMix64, seed 0
  for (auto& g : gear) {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    g = z ^ (z >> 31);
  }
  return gear;
}

constexpr std::array<uint64_t, 256> kGear = MakeGear();
// Top bits: bit k of the gear hash depends on the last k+1 bytes only, so the top bits see
// the widest window. 18 bits below the normal size (cuts rarer), 14 after (cuts likelier).
constexpr uint64_t kMaskSmall = ~uint64_t{0} << (64 - 18);
constexpr uint64_t kMaskLarge = ~uint64_t{0} << (64 - 14);

// The first i in [begin, end) where the rolling hash, continued from *fp, has no bit of
// `mask` set; `end` if none. Two bytes per step: the hash two bytes on is
// (fp << 2) + (gear[a] << 1) + gear[b], whose second part does not depend on fp, so the
// loop-carried chain is one shift and one add per two bytes.
size_t FindCut(const uint8_t* data, size_t begin, size_t end, uint64_t mask, uint64_t* fp) {
  uint64_t h = *fp;
  size_t i = begin;
  for (; i + 2 <= end; i += 2) {
    const uint64_t ga = kGear[data[i]];
    const uint64_t pair = (ga << 1) + kGear[data[i + 1]];
    const uint64_t first = (h << 1) + ga;
    h = (h << 2) + pair;
    if ((first & mask) == 0) {
      *fp = first;
      return i;
    }
    if ((h & mask) == 0) {
      *fp = h;
      return i + 1;
    }
  }
  for (; i < end; ++i) {
    h = (h << 1) + kGear[data[i]];
    if ((h & mask) == 0) {
      *fp = h;
      return i;
    }
  }
  *fp = h;
  return end;
}

}  // namespace

size_t NextChunkLength(const uint8_t* data, size_t size, bool at_end) {
  using L = ChunkerLimits;
  if (size <= L::kMin) return at_end ? size : 0;
  const size_t limit = std::min(size, L::kMax);
  const size_t normal = std::min(limit, L::kNormal);
  uint64_t fp = 0;
  size_t cut = FindCut(data, L::kMin, normal, kMaskSmall, &fp);
  if (cut < normal) return cut + 1;
  cut = FindCut(data, normal, limit, kMaskLarge, &fp);
  if (cut < limit) return cut + 1;
  if (limit == L::kMax || at_end) return limit;
  return 0;
}

}  // namespace cairn::store
