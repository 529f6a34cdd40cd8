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

}  // namespace

size_t NextChunkLength(const uint8_t* data, size_t size, bool at_end) {
  using L = ChunkerLimits;
  if (size <= L::kMin) return at_end ? size : 0;
  const size_t limit = std::min(size, L::kMax);
  const size_t normal = std::min(limit, L::kNormal);
  uint64_t fp = 0;
  size_t i = L::kMin;
  for (; i < normal; ++i) {
    fp = (fp << 1) + kGear[data[i]];
    if ((fp & kMaskSmall) == 0) return i + 1;
  }
  for (; i < limit; ++i) {
    fp = (fp << 1) + kGear[data[i]];
    if ((fp & kMaskLarge) == 0) return i + 1;
  }
  if (limit == L::kMax || at_end) return limit;
  return 0;
}

}  // namespace cairn::store
