#include "cairn/exec/sync_executor.h"

#include <gtest/gtest.h>

#include "cairn/graph/synthetic.h"

namespace cairn {
namespace {

TEST(SyncExecutor, MatchesExpectedSum) {
  std::vector<TaskId> out;
  Graph g = MakeWideSumGraph(5001, 50, false, &out);
  auto plan = MakePlan(g, out);
  ASSERT_TRUE(plan.ok());
  auto result = RunSync(*plan);
  ASSERT_TRUE(result.ok());
  int64_t leaves = 0;
  for (size_t i = 0; i < g.size(); ++i) leaves += g.key(i).rfind("leaf-", 0) == 0;
  EXPECT_EQ(*ValueAs<int64_t>((*result)[0]), leaves * (leaves - 1) / 2);
}

TEST(SyncExecutor, BetweenTasksErrorStopsTheRun) {
  std::vector<TaskId> out;
  Graph g = MakeChainGraph(100000, &out);
  auto plan = MakePlan(g, out, {.fuse = false});
  ASSERT_TRUE(plan.ok());
  size_t calls = 0;
  auto result = RunSync(*plan, [&](size_t done, size_t total) -> Status {
    ++calls;
    EXPECT_LE(done, total);
    return Status::Cancelled("interrupted");
  });
  // The callback runs at the end at the latest; a fast run may only see that one.
  EXPECT_GE(calls, 1u);
  if (!result.ok()) {
    EXPECT_TRUE(result.status().IsCancelled());
  }
}

TEST(SyncExecutor, FirstErrorIsReturned) {
  Graph g;
  TaskId a = g.AddTask("a", std::make_shared<NativeBody>("a", [](std::span<const ValuePtr>) -> Result<ValuePtr> {
    return Status::IOError("disk on fire");
  }));
  std::vector<TaskId> out = {a};
  auto result = RunSync(*MakePlan(g, out));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().IsIOError());
}

}  // namespace
}  // namespace cairn
