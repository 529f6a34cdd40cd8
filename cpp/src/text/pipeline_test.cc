#include "cairn/text/pipeline.h"

#include <gtest/gtest.h>

#include "cairn/text/counts.h"

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
