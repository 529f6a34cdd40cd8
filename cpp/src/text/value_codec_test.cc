#include "cairn/text/value_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "cairn/text/counts.h"
#include "cairn/text/ngram_counts.h"

namespace cairn::text {
namespace {

using Pairs = std::vector<std::pair<std::string, int64_t>>;

Pairs PairsOf(const ValuePtr& value) {
  auto* counts = dynamic_cast<const CountsValue*>(value.get());
  EXPECT_NE(counts, nullptr);
  auto table = counts->Table();
  Pairs out;
  const size_t n = counts->has_order ? counts->order.size() : table->size();
  for (size_t j = 0; j < n; ++j) {
    const size_t i = counts->has_order ? counts->order[j] : j;
    out.emplace_back(table->key(i), table->count(i));
  }
  return out;
}

ValuePtr Roundtrip(const ValuePtr& value) {
  auto bytes = EncodeValue(value);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  auto back = DecodeValue(*bytes);
  EXPECT_TRUE(back.ok()) << back.status();
  return *back;
}

std::shared_ptr<const NgramCounts> Bigrams(const std::string& text, int64_t partition) {
  auto counter = NgramCounter::Make(2, " ", partition);
  counter->FeedText(text);
  return *counter->Finish();
}

ValuePtr NgramValue() {
  auto a = Bigrams("the cat sat\non the mat\nthe cat\n", 0);
  auto b = Bigrams("a cat sat on the mat\n", 1);
  std::vector<std::shared_ptr<const NgramCounts>> parts{a, b};
  auto value = std::make_shared<CountsValue>();
  value->ngrams = *NgramCounts::Concat(parts);  // two runs
  return value;
}

TEST(ValueCodec, Int64Roundtrips) {
  auto back = Roundtrip(MakeValue<int64_t>(-42));
  ASSERT_NE(ValueAs<int64_t>(back), nullptr);
  EXPECT_EQ(*ValueAs<int64_t>(back), -42);
}

TEST(ValueCodec, CountsTableKeepsKeysCountsOrderAndFlags) {
  auto value = std::make_shared<CountsValue>();
  auto table = std::make_shared<CountsTable>();
  table->Add("short", 3);
  table->Add(std::string(100, 'x'), 7);  // a key stored outside the entry
  table->Add("", 1);
  value->table = table;
  value->order = table->LargestFirst(2);
  value->has_order = true;
  value->keys_only = true;
  auto back = Roundtrip(value);
  auto* counts = dynamic_cast<const CountsValue*>(back.get());
  ASSERT_NE(counts, nullptr);
  EXPECT_TRUE(counts->keys_only);
  EXPECT_EQ(PairsOf(back), PairsOf(value));
  EXPECT_EQ(counts->table->size(), 3u);
}

TEST(ValueCodec, NgramRunsStayRunsAndMergeToTheSameCounts) {
  auto value = NgramValue();
  auto back = Roundtrip(value);
  auto* counts = dynamic_cast<const CountsValue*>(back.get());
  ASSERT_NE(counts, nullptr);
  ASSERT_NE(counts->ngrams, nullptr);
  EXPECT_EQ(counts->ngrams->entries(), dynamic_cast<const CountsValue*>(value.get())->ngrams->entries());
  EXPECT_EQ(PairsOf(back), PairsOf(value));
  auto top = counts->ngrams->LargestFirst(1);
  EXPECT_EQ(top->key(0), "the cat");
  EXPECT_EQ(top->count(0), 2);
}

TEST(ValueCodec, EveryCutShortEncodingIsAnError) {
  for (const ValuePtr& value : {NgramValue(), ValuePtr(MakeValue<int64_t>(5))}) {
    auto bytes = *EncodeValue(value);
    for (size_t size = 0; size < bytes.size(); ++size) {
      auto back = DecodeValue(std::string_view(bytes).substr(0, size));
      EXPECT_TRUE(back.status().IsInvalid()) << "prefix of " << size << " bytes";
    }
    EXPECT_TRUE(DecodeValue(bytes + "x").status().IsInvalid());
  }
}

TEST(ValueCodec, MutatedBytesNeverCrash) {
  const auto bytes = *EncodeValue(NgramValue());
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> at(0, bytes.size() - 1);
  std::uniform_int_distribution<int> bit(0, 7);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = bytes;
    for (int flips = 0; flips < 1 + i % 4; ++flips) mutated[at(rng)] ^= static_cast<char>(1 << bit(rng));
    auto back = DecodeValue(mutated);
    if (!back.ok()) continue;
    ++decoded;
    PairsOf(*back);  // whatever decodes must be usable
  }
  SUCCEED() << decoded << " mutations decoded";
}

TEST(ValueCodec, OtherValuesAreATypeError) {
  ValuePtr value = MakeValue<std::string>("no");
  EXPECT_FALSE(IsEncodable(value));
  EXPECT_TRUE(EncodeValue(value).status().IsTypeError());
}

}  // namespace
}  // namespace cairn::text
