#include "cairn/store/chunker.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "cairn/store/hash.h"

namespace cairn::store {
namespace {

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::vector<std::string> Chunks(const std::string& data) {
  std::vector<std::string> out;
  size_t pos = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  while (pos < data.size()) {
    size_t len = NextChunkLength(p + pos, data.size() - pos, true);
    out.push_back(data.substr(pos, len));
    pos += len;
  }
  return out;
}

TEST(Chunker, ChunksStayWithinBoundsAndAverageNearNormal) {
  std::string data = RandomBytes(16 << 20, 1);
  auto chunks = Chunks(data);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_GE(chunks[i].size(), ChunkerLimits::kMin);
    EXPECT_LE(chunks[i].size(), ChunkerLimits::kMax);
  }
  double average = static_cast<double>(data.size()) / static_cast<double>(chunks.size());
  EXPECT_GT(average, 40 * 1024);
  EXPECT_LT(average, 100 * 1024);
}

TEST(Chunker, NeedsMoreDataUnlessAtEnd) {
  std::string data(1000, 'x');
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  EXPECT_EQ(NextChunkLength(p, data.size(), false), 0u);
  EXPECT_EQ(NextChunkLength(p, data.size(), true), data.size());
  std::string zeros(1 << 20, '\0');  // no cut point in constant data: cut at the maximum
  EXPECT_EQ(NextChunkLength(reinterpret_cast<const uint8_t*>(zeros.data()), zeros.size(), false),
            ChunkerLimits::kMax);
}

// After an insert or delete, cuts resynchronise: all chunks but the ones touching the edit
// are the same as before.
TEST(Chunker, BoundariesStableUnderInsertAndDelete) {
  std::string base = RandomBytes(8 << 20, 2);
  std::set<std::string> before;
  for (auto& c : Chunks(base)) before.insert(c);
  for (size_t at : {size_t{0}, size_t{3} << 20, base.size() - 10}) {
    std::string inserted = base;
    inserted.insert(at, "a few new lines\nin the middle\n");
    std::string deleted = base;
    deleted.erase(at, 7);
    for (const std::string* edited : {&inserted, &deleted}) {
      auto after = Chunks(*edited);
      size_t changed = 0;
      for (auto& c : after) changed += before.count(c) == 0;
      EXPECT_LE(changed, 2u) << "edit at " << at;
    }
  }
}

// The rule exactly as docs/store-format.md states it, one byte at a time: the optimised
// chunker must cut at the very same places (cut points are part of the format).
size_t SpecChunkLength(const uint8_t* data, size_t size) {
  uint64_t gear[256];
  uint64_t x = 0;
  for (auto& g : gear) {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    g = z ^ (z >> 31);
  }
  const uint64_t mask_s = ~uint64_t{0} << 46, mask_l = ~uint64_t{0} << 50;
  if (size <= ChunkerLimits::kMin) return size;
  uint64_t fp = 0;
  for (size_t i = ChunkerLimits::kMin; i < size && i < ChunkerLimits::kMax; ++i) {
    fp = (fp << 1) + gear[data[i]];
    if ((fp & (i < ChunkerLimits::kNormal ? mask_s : mask_l)) == 0) return i + 1;
  }
  return std::min(size, ChunkerLimits::kMax);
}

TEST(Chunker, CutsFollowTheSpecifiedRule) {
  for (uint64_t seed : {4, 5, 6}) {
    std::string data = RandomBytes(6 << 20, seed);
    const auto* p = reinterpret_cast<const uint8_t*>(data.data());
    size_t pos = 0;
    while (pos < data.size()) {
      size_t want = SpecChunkLength(p + pos, data.size() - pos);
      ASSERT_EQ(NextChunkLength(p + pos, data.size() - pos, true), want) << "at " << pos;
      pos += want;
    }
  }
}

TEST(Chunker, SameDataSameCuts) {
  std::string data = RandomBytes(2 << 20, 3);
  EXPECT_EQ(Chunks(data), Chunks(std::string(data)));
}

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(Sha256::Of("").ToHex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 s;
  s.Update("ab", 2);
  s.Update("c", 1);
  EXPECT_EQ(s.Finish().ToHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_FALSE(Digest::FromHex("xyz").ok());
  EXPECT_EQ(Digest::FromHex(Sha256::Of("").ToHex()).ValueOrDie(), Sha256::Of(""));
}

}  // namespace
}  // namespace cairn::store
