#include "cairn/text/ngram_counts.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

namespace cairn::text {
namespace {

using Pairs = std::vector<std::pair<std::string, int64_t>>;

Pairs PairsOf(const CountsTable& table) {
  Pairs out;
  for (size_t i = 0; i < table.size(); ++i) out.emplace_back(table.key(i), table.count(i));
  return out;
}

// What Python gives: per line, str.split(), then the joined n-grams, counted in order.
Pairs Expected(const std::vector<std::string>& texts, int n, const std::string& sep) {
  CountsTable table;
  for (const auto& text : texts) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream in(line);
      std::vector<std::string> words;
      for (std::string w; in >> w;) words.push_back(w);
      for (size_t i = 0; i + n <= words.size(); ++i) {
        std::string gram = words[i];
        for (int j = 1; j < n; ++j) gram += sep + words[i + j];
        table.Add(gram);
      }
    }
  }
  return PairsOf(table);
}

std::shared_ptr<const NgramCounts> CountPartition(const std::string& text, int n,
                                                  const std::string& sep, int64_t partition) {
  auto counter = NgramCounter::Make(n, sep, partition);
  counter->FeedText(text);
  auto counts = counter->Finish();
  EXPECT_TRUE(counts.ok()) << counts.status();
  return *counts;
}

std::string RandomText(std::mt19937* rng, int lines, int vocabulary) {
  std::string text;
  std::uniform_int_distribution<int> length(0, 7), word(0, vocabulary - 1);
  for (int i = 0; i < lines; ++i) {
    int words = length(*rng);
    for (int j = 0; j < words; ++j) {
      if (j > 0) text += j % 3 == 0 ? "\t " : " ";
      text += "w" + std::to_string(word(*rng) * 7919 % 1000);
    }
    text += "\n";
  }
  return text;
}

TEST(NgramCounts, MatchStringCountsInOrderAcrossPartitions) {
  std::mt19937 rng(7);
  for (int n = 1; n <= kMaxIdNgram; ++n) {
    std::vector<std::string> texts;
    std::vector<std::shared_ptr<const NgramCounts>> parts;
    for (int p = 0; p < 5; ++p) {
      texts.push_back(RandomText(&rng, 200, 3 + p * 10));
      parts.push_back(CountPartition(texts.back(), n, " ", p));
    }
    const Pairs expected = Expected(texts, n, " ");
    // One merged run, a lazy list of runs, and a merge of merges: all the same.
    std::vector<const NgramCounts*> views;
    for (const auto& p : parts) views.push_back(p.get());
    auto merged = NgramCounts::Merge(views);
    ASSERT_TRUE(merged.ok());
    EXPECT_EQ(PairsOf(*(*merged)->ToTable()), expected) << "n=" << n;
    auto listed = NgramCounts::Concat(parts);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(PairsOf(*(*listed)->ToTable()), expected) << "n=" << n;
    std::vector<const NgramCounts*> halves_a(views.begin(), views.begin() + 2);
    std::vector<const NgramCounts*> halves_b(views.begin() + 2, views.end());
    auto a = NgramCounts::Merge(halves_a), b = NgramCounts::Merge(halves_b);
    std::vector<std::shared_ptr<const NgramCounts>> ab{*a, *b};
    auto tree = NgramCounts::Concat(ab);
    EXPECT_EQ(PairsOf(*(*tree)->ToTable()), expected) << "n=" << n;

    // LargestFirst equals CountsTable::LargestFirst (ties in first-occurrence order).
    CountsTable reference;
    for (const auto& [key, count] : expected) reference.Add(key, count);
    for (int64_t k : {0, 1, 5, 1000000, -1}) {
      Pairs want;
      for (size_t i : reference.LargestFirst(k)) {
        want.emplace_back(reference.key(i), reference.count(i));
      }
      EXPECT_EQ(PairsOf(*(*tree)->LargestFirst(k)), want) << "n=" << n << " k=" << k;
    }
    EXPECT_EQ((*tree)->total(), reference.total());
  }
}

// Big enough that merges and LargestFirst split the key space over threads (on a machine
// with several cores): the same counts and order as counting strings.
TEST(NgramCounts, MergesSplitByKeyRangeMatchStringCounts) {
  std::mt19937 rng(11);
  for (int n : {1, 2, 3}) {
    std::vector<std::string> texts;
    std::vector<std::shared_ptr<const NgramCounts>> parts;
    for (int p = 0; p < 4; ++p) {
      texts.push_back(RandomText(&rng, 40000, 1000));
      parts.push_back(CountPartition(texts.back(), n, " ", p));
    }
    const Pairs expected = Expected(texts, n, " ");
    std::vector<const NgramCounts*> views;
    for (const auto& p : parts) views.push_back(p.get());
    auto merged = NgramCounts::Merge(views);
    ASSERT_TRUE(merged.ok());
    EXPECT_EQ(PairsOf(*(*merged)->ToTable()), expected) << "n=" << n;
    CountsTable reference;
    for (const auto& [key, count] : expected) reference.Add(key, count);
    auto listed = NgramCounts::Concat(parts);
    ASSERT_TRUE(listed.ok());
    for (int64_t k : {1, 20, 100000, -1}) {
      Pairs want;
      for (size_t i : reference.LargestFirst(k)) {
        want.emplace_back(reference.key(i), reference.count(i));
      }
      EXPECT_EQ(PairsOf(*(*merged)->LargestFirst(k)), want) << "n=" << n << " k=" << k;
      EXPECT_EQ(PairsOf(*(*listed)->LargestFirst(k)), want) << "n=" << n << " k=" << k;
    }
  }
}

TEST(NgramCounts, LinesShorterThanNAndUniversalNewlines) {
  auto counts = CountPartition("a b\r\nc d\re\n\nf g h", 2, " ", 0);
  EXPECT_EQ(PairsOf(*counts->ToTable()), (Pairs{{"a b", 1}, {"c d", 1}, {"f g", 1}, {"g h", 1}}));
  EXPECT_EQ(CountNgrams("a b\r\nc d\re\n\nf g h", 2), 4);
  EXPECT_EQ(CountNgrams("a b c", 4), 0);
  EXPECT_EQ(PairsOf(*CountPartition("", 3, " ", 0)->ToTable()), Pairs{});
}

TEST(NgramCounts, UnicodeWordsAndWhitespace) {
  // U+2028 and U+00A0 split words (str.split) but do not end a line (universal newlines).
  auto counts = CountPartition("é\xE2\x80\xA8z\xC2\xA0é\xE3\x80\x80z\n", 2, " ", 0);
  EXPECT_EQ(PairsOf(*counts->ToTable()), (Pairs{{"é z", 2}, {"z é", 1}}));
}

TEST(NgramCounts, OnlyInjectiveSeparatorsAreCountedAsIds) {
  EXPECT_TRUE(NgramsCountableAsIds(2, " "));
  EXPECT_TRUE(NgramsCountableAsIds(3, " \t"));
  EXPECT_TRUE(NgramsCountableAsIds(1, ""));
  EXPECT_FALSE(NgramsCountableAsIds(2, ""));   // ("ab","c") and ("a","bc") both give "abc"
  EXPECT_FALSE(NgramsCountableAsIds(2, "-"));
  EXPECT_FALSE(NgramsCountableAsIds(kMaxIdNgram + 1, " "));
}

}  // namespace
}  // namespace cairn::text
