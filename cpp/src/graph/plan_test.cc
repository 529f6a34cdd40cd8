#include "cairn/graph/plan.h"

#include <gtest/gtest.h>

#include "cairn/graph/synthetic.h"

namespace cairn {
namespace {

std::shared_ptr<TaskBody> Noop() {
  return std::make_shared<NativeBody>("noop", [](std::span<const ValuePtr>) -> Result<ValuePtr> {
    return ValuePtr();
  });
}

// a -> b -> c, and an unrelated d
Graph ChainPlusStray() {
  Graph g;
  TaskId a = g.AddTask("a", Noop());
  TaskId b = g.AddTask("b", Noop());
  TaskId c = g.AddTask("c", Noop());
  g.AddTask("d", Noop());
  g.AddDependency(b, a);
  g.AddDependency(c, b);
  return g;
}

TEST(Plan, CullsTasksNoOutputNeeds) {
  Graph g = ChainPlusStray();
  std::vector<TaskId> out = {1};
  auto plan = MakePlan(g, out, {.fuse = false});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ((*plan)->nodes.size(), 2u);  // a, b
  EXPECT_EQ((*plan)->culled, 2u);        // c, d
}

TEST(Plan, FusesLinearChainIntoOneNode) {
  Graph g = ChainPlusStray();
  std::vector<TaskId> out = {2};
  auto plan = MakePlan(g, out);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ((*plan)->nodes.size(), 1u);
  EXPECT_EQ((*plan)->fused, 2u);
  EXPECT_EQ((*plan)->nodes[0].body->Label(), "noop+noop+noop");
  EXPECT_EQ((*plan)->nodes[0].source, 2u);
}

TEST(Plan, DoesNotFuseAwayAnOutput) {
  Graph g = ChainPlusStray();
  std::vector<TaskId> out = {2, 1};
  auto plan = MakePlan(g, out);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)->nodes.size(), 2u);  // (a+b), c
  EXPECT_EQ((*plan)->outputs.size(), 2u);
}

TEST(Plan, DoesNotFuseSharedDependency) {
  // diamond: a -> b, a -> c, (b, c) -> d
  Graph g;
  TaskId a = g.AddTask("a", Noop());
  TaskId b = g.AddTask("b", Noop());
  TaskId c = g.AddTask("c", Noop());
  TaskId d = g.AddTask("d", Noop());
  g.AddDependency(b, a);
  g.AddDependency(c, a);
  g.AddDependency(d, b);
  g.AddDependency(d, c);
  std::vector<TaskId> out = {d};
  auto plan = MakePlan(g, out);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)->nodes.size(), 4u);
  EXPECT_EQ((*plan)->fused, 0u);
  EXPECT_EQ((*plan)->roots.size(), 1u);
}

TEST(Plan, OrderIsTopological) {
  std::vector<TaskId> out;
  Graph g = MakeWideSumGraph(1000, 10, true, &out);
  auto plan = MakePlan(g, out);
  ASSERT_TRUE(plan.ok());
  for (uint32_t i = 0; i < (*plan)->nodes.size(); ++i) {
    for (uint32_t dep : (*plan)->DependenciesOf(i)) EXPECT_LT(dep, i);
  }
}

TEST(Plan, OrderIsDepthFirst) {
  // Two independent branches: the first branch's reducer comes before the second's leaves.
  std::vector<TaskId> out;
  Graph g = MakeWideSumGraph(7, 2, true, &out);  // groups of two leaves
  auto plan = MakePlan(g, out, {.fuse = false});
  ASSERT_TRUE(plan.ok());
  const auto& nodes = (*plan)->nodes;
  EXPECT_EQ(g.key(nodes[0].source), "leaf-0");
  EXPECT_EQ(g.key(nodes[1].source), "leaf-1");
  EXPECT_EQ(g.key(nodes[2].source), "group-0");
}

TEST(Plan, ReportsCycleWithKeys) {
  Graph g;
  TaskId a = g.AddTask("alpha", Noop());
  TaskId b = g.AddTask("beta", Noop());
  TaskId c = g.AddTask("gamma", Noop());
  g.AddDependency(a, c);
  g.AddDependency(c, b);
  g.AddDependency(b, c);
  std::vector<TaskId> out = {a};
  auto plan = MakePlan(g, out);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(plan.status().IsInvalid());
  const std::string& msg = plan.status().message();
  EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'beta'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'gamma'"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("'alpha'"), std::string::npos) << msg;
}

TEST(Plan, RejectsSelfDependencyAndBadIds) {
  Graph g;
  TaskId a = g.AddTask("a", Noop());
  g.AddDependency(a, a);
  std::vector<TaskId> out = {a};
  EXPECT_TRUE(MakePlan(g, out).status().IsInvalid());

  Graph h;
  TaskId x = h.AddTask("x", Noop());
  h.AddDependency(x, 42);
  std::vector<TaskId> out_x = {x};
  EXPECT_TRUE(MakePlan(h, out_x).status().IsInvalid());
  std::vector<TaskId> bad_out = {7};
  EXPECT_TRUE(MakePlan(h, bad_out).status().IsInvalid());
}

TEST(Plan, DuplicateDependencyEdgesAreKept) {
  Graph g;
  TaskId a = g.AddTask("a", Noop());
  TaskId b = g.AddTask("b", Noop());
  g.AddDependency(b, a);
  g.AddDependency(b, a);
  std::vector<TaskId> out = {b};
  auto plan = MakePlan(g, out);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)->nodes.size(), 2u);  // b has two inputs, so no fusion
  EXPECT_EQ((*plan)->DependenciesOf(1).size(), 2u);
}

}  // namespace
}  // namespace cairn
