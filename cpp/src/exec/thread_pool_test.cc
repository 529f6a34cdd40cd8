#include "cairn/exec/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "cairn/graph/synthetic.h"

namespace cairn {
namespace {

using namespace std::chrono_literals;

Result<std::vector<ValuePtr>> RunToEnd(ThreadPool& pool, const Graph& g,
                                       const std::vector<TaskId>& outputs) {
  CAIRN_ASSIGN_OR_RAISE(auto plan, MakePlan(g, outputs));
  auto run = pool.Submit(plan);
  if (!run->WaitFor(60s)) return Status::Invalid("timed out");
  return run->TakeOutputs();
}

std::shared_ptr<TaskBody> Body(std::function<Result<ValuePtr>(std::span<const ValuePtr>)> f) {
  return std::make_shared<NativeBody>("f", std::move(f));
}

class ThreadPoolTest : public ::testing::TestWithParam<int> {
 protected:
  std::shared_ptr<ThreadPool> pool = *ThreadPool::Make(GetParam(), nullptr);
};

TEST_P(ThreadPoolTest, WideGraphSumsEveryLeaf) {
  std::vector<TaskId> out;
  Graph g = MakeWideSumGraph(20001, 100, false, &out);
  auto result = RunToEnd(*pool, g, out);
  ASSERT_TRUE(result.ok()) << result.status();
  int64_t leaves = 0;
  for (size_t i = 0; i < g.size(); ++i) leaves += g.key(i).rfind("leaf-", 0) == 0;
  EXPECT_EQ(*ValueAs<int64_t>((*result)[0]), leaves * (leaves - 1) / 2);
}

TEST_P(ThreadPoolTest, DeepChainRuns) {
  std::vector<TaskId> out;
  Graph g = MakeChainGraph(10000, &out);
  for (bool fuse : {true, false}) {
    auto plan = MakePlan(g, out, {.fuse = fuse});
    ASSERT_TRUE(plan.ok());
    auto run = pool->Submit(*plan);
    ASSERT_TRUE(run->WaitFor(60s));
    auto result = run->TakeOutputs();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(*ValueAs<int64_t>((*result)[0]), 10000);
  }
}

TEST_P(ThreadPoolTest, DiamondComputesSharedDependencyOnce) {
  std::atomic<int> root_runs{0};
  Graph g;
  TaskId a = g.AddTask("a", Body([&](std::span<const ValuePtr>) -> Result<ValuePtr> {
    ++root_runs;
    return MakeValue<int64_t>(5);
  }));
  auto twice = Body([](std::span<const ValuePtr> in) -> Result<ValuePtr> {
    return MakeValue<int64_t>(*ValueAs<int64_t>(in[0]) * 2);
  });
  auto add = Body([](std::span<const ValuePtr> in) -> Result<ValuePtr> {
    return MakeValue<int64_t>(*ValueAs<int64_t>(in[0]) + *ValueAs<int64_t>(in[1]));
  });
  TaskId b = g.AddTask("b", twice);
  TaskId c = g.AddTask("c", twice);
  TaskId d = g.AddTask("d", add);
  g.AddDependency(b, a);
  g.AddDependency(c, a);
  g.AddDependency(d, b);
  g.AddDependency(d, c);
  auto result = RunToEnd(*pool, g, {d, a});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*ValueAs<int64_t>((*result)[0]), 20);
  EXPECT_EQ(*ValueAs<int64_t>((*result)[1]), 5);
  EXPECT_EQ(root_runs.load(), 1);
}

TEST_P(ThreadPoolTest, ErrorCancelsDependentsAndIsReturnedOnce) {
  std::atomic<int> dependents_ran{0};
  Graph g;
  TaskId bad = g.AddTask("bad", Body([](std::span<const ValuePtr>) -> Result<ValuePtr> {
    return Status::Invalid("task bad failed");
  }));
  std::vector<TaskId> outs;
  for (int i = 0; i < 50; ++i) {
    TaskId t = g.AddTask("after-" + std::to_string(i), Body([&](std::span<const ValuePtr>) -> Result<ValuePtr> {
      ++dependents_ran;
      return ValuePtr();
    }));
    g.AddDependency(t, bad);
    outs.push_back(t);
  }
  auto result = RunToEnd(*pool, g, outs);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "task bad failed");
  EXPECT_EQ(dependents_ran.load(), 0);
}

TEST_P(ThreadPoolTest, CancelStopsQueuedTasks) {
  std::atomic<int> ran{0};
  Graph g;
  std::vector<TaskId> outs;
  for (int i = 0; i < 2000; ++i) {
    outs.push_back(g.AddTask("t" + std::to_string(i), Body([&](std::span<const ValuePtr>) -> Result<ValuePtr> {
      ++ran;
      std::this_thread::sleep_for(1ms);
      return ValuePtr();
    })));
  }
  auto plan = MakePlan(g, outs);
  ASSERT_TRUE(plan.ok());
  auto run = pool->Submit(*plan);
  std::this_thread::sleep_for(20ms);
  auto cancel_time = std::chrono::steady_clock::now();
  run->Cancel(Status::Cancelled("stop"));
  ASSERT_TRUE(run->WaitFor(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - cancel_time, 500ms);
  int seen = ran.load();
  EXPECT_LT(seen, 2000);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(ran.load(), seen);  // nothing starts after the run ended
  EXPECT_TRUE(run->TakeOutputs().status().IsCancelled());
}

TEST_P(ThreadPoolTest, IntermediatesFreedAfterLastConsumer) {
  // Leaves hold a marker; once the reducer ran, no leaf value is alive.
  auto alive = std::make_shared<std::atomic<int>>(0);
  struct Tracked : Value {
    explicit Tracked(std::shared_ptr<std::atomic<int>> c) : counter(std::move(c)) { ++*counter; }
    ~Tracked() override { --*counter; }
    std::shared_ptr<std::atomic<int>> counter;
  };
  Graph g;
  TaskId total = g.AddTask("total", Body([alive](std::span<const ValuePtr> in) -> Result<ValuePtr> {
    return MakeValue<int64_t>(static_cast<int64_t>(in.size()));
  }));
  for (int i = 0; i < 100; ++i) {
    TaskId leaf = g.AddTask("leaf" + std::to_string(i), Body([alive](std::span<const ValuePtr>) -> Result<ValuePtr> {
      return std::make_shared<Tracked>(alive);
    }));
    g.AddDependency(total, leaf);
  }
  auto result = RunToEnd(*pool, g, {total});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*ValueAs<int64_t>((*result)[0]), 100);
  EXPECT_EQ(alive->load(), 0);
}

TEST_P(ThreadPoolTest, ConcurrentRunsDoNotMix) {
  std::vector<std::thread> callers;
  std::atomic<int> correct{0};
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&, c] {
      std::vector<TaskId> out;
      Graph g = MakeWideSumGraph(2000 + c * 100, 10, false, &out);
      auto result = RunToEnd(*pool, g, out);
      int64_t leaves = 0;
      for (size_t i = 0; i < g.size(); ++i) leaves += g.key(i).rfind("leaf-", 0) == 0;
      if (result.ok() && *ValueAs<int64_t>((*result)[0]) == leaves * (leaves - 1) / 2) ++correct;
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(correct.load(), 4);
}

INSTANTIATE_TEST_SUITE_P(Threads, ThreadPoolTest, ::testing::Values(1, 2, 4, 8));

// An interpreter lock that checks mutual exclusion and counts acquisitions.
class CountingLock : public InterpreterLock {
 public:
  void Acquire() override {
    mutex.lock();
    ++acquisitions;
  }
  void Release() override { mutex.unlock(); }
  std::mutex mutex;
  std::atomic<int> acquisitions{0};
};

class PythonLikeBody : public TaskBody {
 public:
  explicit PythonLikeBody(CountingLock* lock, std::atomic<int>* violations)
      : lock_(lock), violations_(violations) {}
  bool NeedsPython() const override { return true; }
  Result<ValuePtr> Run(std::span<const ValuePtr>) override {
    if (lock_->mutex.try_lock()) {  // must already be held by this worker
      lock_->mutex.unlock();
      ++*violations_;
    }
    return ValuePtr();
  }

 private:
  CountingLock* lock_;
  std::atomic<int>* violations_;
};

TEST(ThreadPoolInterpreterLock, PythonTasksRunUnderLockInBatches) {
  auto lock = std::make_shared<CountingLock>();
  std::atomic<int> violations{0};
  auto pool = *ThreadPool::Make(2, lock);
  Graph g;
  auto body = std::make_shared<PythonLikeBody>(lock.get(), &violations);
  std::vector<TaskId> outs;
  for (int i = 0; i < 10000; ++i) outs.push_back(g.AddTask("p" + std::to_string(i), body));
  auto result = RunToEnd(*pool, g, outs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_LT(lock->acquisitions.load(), 10000 / 4);  // batched, not once per task
}

TEST(ThreadPoolMake, RejectsZeroWorkers) {
  auto pool = ThreadPool::Make(0, nullptr);
  ASSERT_FALSE(pool.ok());
  EXPECT_NE(pool.status().message().find("num_workers"), std::string::npos);
}

TEST(ThreadPoolMake, InWorkerThreadIsTrueOnlyInWorkers) {
  EXPECT_FALSE(ThreadPool::InWorkerThread());
  auto pool = *ThreadPool::Make(2, nullptr);
  std::atomic<bool> inside{false};
  Graph g;
  TaskId t = g.AddTask("t", Body([&](std::span<const ValuePtr>) -> Result<ValuePtr> {
    inside = ThreadPool::InWorkerThread();
    return ValuePtr();
  }));
  ASSERT_TRUE(RunToEnd(*pool, g, {t}).ok());
  EXPECT_TRUE(inside.load());
}

TEST(ThreadPoolMake, MillionTaskGraphRuns) {
  auto pool = *ThreadPool::Make(2, nullptr);
  std::vector<TaskId> out;
  Graph g = MakeWideSumGraph(1000000, 1000, true, &out);
  auto result = RunToEnd(*pool, g, out);
  ASSERT_TRUE(result.ok()) << result.status();
}

}  // namespace
}  // namespace cairn
