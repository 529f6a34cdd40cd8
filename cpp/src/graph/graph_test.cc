#include "cairn/graph/graph.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

std::shared_ptr<TaskBody> Constant(int64_t v) {
  return std::make_shared<NativeBody>("const", [v](std::span<const ValuePtr>) -> Result<ValuePtr> {
    return MakeValue<int64_t>(v);
  });
}

TEST(Graph, IdsAreDenseInInsertionOrder) {
  Graph g;
  EXPECT_EQ(g.AddTask("a", Constant(1)), 0u);
  EXPECT_EQ(g.AddTask("b", Constant(2)), 1u);
  g.AddDependency(1, 0);
  EXPECT_EQ(g.size(), 2u);
  EXPECT_EQ(g.key(1), "b");
  EXPECT_EQ(g.dependencies(1), std::vector<TaskId>{0});
}

TEST(Graph, FindReportsMissingKey) {
  Graph g;
  g.AddTask("a", Constant(1));
  ASSERT_TRUE(g.Find("a").ok());
  auto missing = g.Find("zzz");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("zzz"), std::string::npos);
}

TEST(ChainBody, RunsLinksInOrderPassingResults) {
  auto add_ten = std::make_shared<NativeBody>("add10", [](std::span<const ValuePtr> in) -> Result<ValuePtr> {
    return MakeValue<int64_t>(*ValueAs<int64_t>(in[0]) + 10);
  });
  ChainBody chain({Constant(1), add_ten, add_ten});
  auto out = chain.Run({});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*ValueAs<int64_t>(*out), 21);
  EXPECT_EQ(chain.Label(), "const+add10+add10");
}

TEST(ChainBody, StopsAtFirstError) {
  int calls = 0;
  auto fail = std::make_shared<NativeBody>("fail", [](std::span<const ValuePtr>) -> Result<ValuePtr> {
    return Status::Invalid("boom");
  });
  auto count = std::make_shared<NativeBody>("count", [&calls](std::span<const ValuePtr>) -> Result<ValuePtr> {
    ++calls;
    return ValuePtr();
  });
  ChainBody chain({Constant(1), fail, count});
  EXPECT_TRUE(chain.Run({}).status().IsInvalid());
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace cairn
