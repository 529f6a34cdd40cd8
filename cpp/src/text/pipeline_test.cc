#include "cairn/text/pipeline.h"

#include <gtest/gtest.h>

#include <random>

#include "cairn/text/counts.h"
#include "cairn/text/utf8.h"
#include "tokens.h"

namespace cairn::text {
namespace {

using Kind = TextOp::Kind;

std::vector<std::string> Collect(std::string_view text, std::vector<TextOp> ops) {
  PipelineRunner runner(ops, SinkKind::kCollect);
  FeedLines(text, &runner);
  auto value = runner.Finish();
  EXPECT_TRUE(value.ok()) << value.status();
  auto* strings = dynamic_cast<StringsValue*>(value->get());
  auto array = std::static_pointer_cast<arrow::LargeStringArray>(strings->array);
  std::vector<std::string> out;
  for (int64_t i = 0; i < array->length(); ++i) out.emplace_back(array->GetView(i));
  return out;
}

// str.split() one character at a time: the reference for ForEachToken's word-at-a-time scan.
std::vector<std::string> SplitByCharacters(std::string_view s) {
  std::vector<std::string> out;
  std::string word;
  for (size_t i = 0; i < s.size();) {
    if (const int space = SpaceLengthAt(s, i); space > 0) {
      if (!word.empty()) out.push_back(word);
      word.clear();
      i += static_cast<size_t>(space);
      continue;
    }
    const auto b = static_cast<uint8_t>(s[i]);
    const size_t length = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    word.append(s.substr(i, length));
    i += length;
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

TEST(ForEachToken, ScanningEightBytesAtATimeMatchesCharacterByCharacter) {
  // Control bytes that are not whitespace, 0x1c-0x1f (whitespace to Python), DEL, non-ASCII
  // letters and spaces, at every offset of the 8-byte scan.
  const std::vector<std::string> pieces = {
      "a", "bc", "\x01", "\x1f", "\x1c", " ", "\t", "\n", "\r", "\x7f", "!", "~", "0123456789",
      "\xc3\xa9", "\xe2\x80\x83", "\xf0\x9f\x98\x80"};
  std::mt19937 rng(5);
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1), length(0, 60);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    for (size_t i = length(rng); i > 0; --i) text += pieces[pick(rng)];
    std::vector<std::string> tokens;
    ForEachToken(text, [&tokens](std::string_view t) { tokens.emplace_back(t); });
    EXPECT_EQ(tokens, SplitByCharacters(text)) << text;
  }
}

TEST(FeedLines, UniversalNewlinesKeepEndings) {
  EXPECT_EQ(Collect("a\nb\r\nc\rd", {}),
            (std::vector<std::string>{"a\n", "b\n", "c\n", "d"}));
  EXPECT_EQ(Collect("x\n", {}), (std::vector<std::string>{"x\n"}));
  EXPECT_EQ(Collect("", {}), (std::vector<std::string>{}));
  EXPECT_EQ(Collect("\n\n", {}), (std::vector<std::string>{"\n", "\n"}));
  EXPECT_EQ(Collect("a\r\n", {}), (std::vector<std::string>{"a\n"}));
}

TEST(Pipeline, LowerSplitFlatten) {
  auto words = Collect("The cat\nthe  DOG\n", {{Kind::kLower}, {Kind::kSplit}, {Kind::kFlatten}});
  EXPECT_EQ(words, (std::vector<std::string>{"the", "cat", "the", "dog"}));
}

TEST(Pipeline, StripAndNonEmpty) {
  auto lines = Collect("  a \n\n\t\n b\n", {{Kind::kStrip}, {Kind::kNonEmpty}});
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b"}));
}

TEST(Pipeline, NgramsWithinEachLine) {
  TextOp bigrams{Kind::kNgrams, 2, " "};
  auto grams = Collect("a b c\nd e\nf\n", {{Kind::kSplit}, bigrams, {Kind::kFlatten}});
  EXPECT_EQ(grams, (std::vector<std::string>{"a b", "b c", "d e"}));
}

TEST(Pipeline, FrequenciesInFirstSeenOrder) {
  PipelineRunner runner({{Kind::kSplit}, {Kind::kFlatten}}, SinkKind::kFrequencies);
  FeedLines("b a\nb c\n", &runner);
  auto value = runner.Finish();
  ASSERT_TRUE(value.ok());
  auto* counts = dynamic_cast<CountsValue*>(value->get());
  ASSERT_EQ(counts->table->size(), 3u);
  EXPECT_EQ(counts->table->key(0), "b");
  EXPECT_EQ(counts->table->count(0), 2);
}

TEST(Pipeline, CountsListsOrStrings) {
  PipelineRunner runner({{Kind::kSplit}}, SinkKind::kCount);
  FeedLines("a b\nc\n\n", &runner);
  EXPECT_EQ(*ValueAs<int64_t>(*runner.Finish()), 3);
}

TEST(Pipeline, ValidationRejectsTypeErrors) {
  EXPECT_TRUE(ValidatePipeline({{Kind::kSplit}, {Kind::kLower}}, SinkKind::kCollect).IsInvalid());
  EXPECT_TRUE(ValidatePipeline({{Kind::kFlatten}}, SinkKind::kCollect).IsInvalid());
  EXPECT_TRUE(ValidatePipeline({{Kind::kSplit}}, SinkKind::kFrequencies).IsTypeError());
  EXPECT_TRUE(ValidatePipeline({{Kind::kSplit}, {Kind::kFlatten}}, SinkKind::kFrequencies).ok());
}

}  // namespace
}  // namespace cairn::text
