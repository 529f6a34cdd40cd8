#include "cairn/text/counts.h"

#include <gtest/gtest.h>

#include <map>

namespace cairn::text {
namespace {

TEST(CountsTable, KeepsFirstInsertionOrder) {
  CountsTable t;
  for (auto w : {"b", "a", "b", "c", "a", "b"}) t.Add(w);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.key(0), "b");
  EXPECT_EQ(t.count(0), 3);
  EXPECT_EQ(t.key(1), "a");
  EXPECT_EQ(t.key(2), "c");
  EXPECT_EQ(t.total(), 6);
}

TEST(CountsTable, GrowsAndMatchesAReferenceCount) {
  CountsTable t;
  std::map<std::string, int64_t> expected;
  for (int i = 0; i < 200000; ++i) {
    std::string key = "w" + std::to_string((i * 7919) % 50021);
    t.Add(key);
    ++expected[key];
  }
  ASSERT_EQ(t.size(), expected.size());
  for (size_t i = 0; i < t.size(); ++i) EXPECT_EQ(t.count(i), expected[std::string(t.key(i))]);
}

TEST(CountsTable, MergeAppendsNewKeysInOrder) {
  CountsTable a, b;
  a.Add("x", 2);
  a.Add("y");
  b.Add("z");
  b.Add("x", 5);
  a.Merge(b);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a.key(2), "z");
  EXPECT_EQ(a.count(0), 7);
}

TEST(CountsTable, LargestFirstIsStable) {
  CountsTable t;
  t.Add("a", 1);
  t.Add("b", 3);
  t.Add("c", 1);
  t.Add("d", 3);
  auto all = t.LargestFirst(-1);
  std::vector<std::string> keys;
  for (size_t i : all) keys.emplace_back(t.key(i));
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "d", "a", "c"}));
  auto top = t.LargestFirst(3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(t.key(top[2]), "a");
}

TEST(CountsTable, EmptyKeyAndBinaryKeys) {
  CountsTable t;
  t.Add("");
  t.Add(std::string_view("a\0b", 3));
  t.Add(std::string_view("a\0c", 3));
  t.Add("");
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.count(0), 2);
}

// Short keys are compared as two zero-padded words: a key must never match another of a
// different length or with one byte changed at any position, and trailing NULs count.
TEST(CountsTable, KeysOfEveryLengthDifferingInOneByteStayDistinct) {
  CountsTable t;
  std::map<std::string, int64_t> expected;
  for (size_t n = 0; n <= 40; ++n) {
    std::string base(n, 'a');
    for (int repeat = 0; repeat < 2; ++repeat) {
      t.Add(base);
      ++expected[base];
      for (size_t i = 0; i < n; ++i) {
        std::string changed = base;
        changed[i] = 'b';
        t.Add(changed);
        ++expected[changed];
      }
      std::string with_nul = base + std::string(1, '\0');
      t.Add(with_nul);
      ++expected[with_nul];
    }
  }
  ASSERT_EQ(t.size(), expected.size());
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t.count(i), expected[std::string(t.key(i))]) << "key of length " << t.key(i).size();
  }
}

}  // namespace
}  // namespace cairn::text
