#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "base/thread_pool.h"

namespace dseek {
namespace {

TEST(ThreadPool, ParallelForCoversEveryIndexOnce) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (size_t n : {0, 1, 5, 100, 1001}) {
      std::vector<std::atomic<int>> hits(n);
      pool.ParallelFor(n, 7, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) hits[i]++;
      });
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1);
    }
  }
}

TEST(ThreadPool, ManyShortJobs) {
  ThreadPool pool(2);
  std::atomic<long> sum{0};
  for (int j = 0; j < 20000; ++j) pool.RunOnAll([&](int t) { sum += t + 1; });
  EXPECT_EQ(sum.load(), 20000L * 3);
}

TEST(ThreadPool, TwoPoolsUsedFromTwoThreadsAreIndependent) {
  ThreadPool a(2), b(2);
  std::atomic<long> na{0}, nb{0};
  std::thread ta([&] { for (int i = 0; i < 2000; ++i) a.RunOnAll([&](int) { na++; }); });
  std::thread tb([&] { for (int i = 0; i < 2000; ++i) b.RunOnAll([&](int) { nb++; }); });
  ta.join();
  tb.join();
  EXPECT_EQ(na.load(), 4000);
  EXPECT_EQ(nb.load(), 4000);
}

// Pinned workers run on the CPUs PinOrder lists for them (each one its own
// while there are enough), the calling thread stays free, and the order
// covers exactly the CPUs this process may use, each once.
TEST(ThreadPool, PinnedWorkersStayOnTheirCpus) {
  const std::vector<int> order = PinOrder();
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  ASSERT_EQ(static_cast<int>(order.size()), CPU_COUNT(&allowed));
  EXPECT_EQ(std::set<int>(order.begin(), order.end()).size(), order.size());
  const int n = std::max(2, static_cast<int>(order.size()));
  ThreadPool pool(n, /*pin=*/true);
  ASSERT_EQ(static_cast<int>(pool.pinned_cpus().size()), n);
  std::vector<int> seen(n, -1);
  for (int rep = 0; rep < 50; ++rep)
    pool.RunOnAll([&](int t) {
      if (t > 0) {
        const int cpu = sched_getcpu();
        if (seen[t] != -1 && seen[t] != cpu) seen[t] = -2;  // moved
        else seen[t] = cpu;
      }
    });
  for (int t = 1; t < n; ++t) EXPECT_EQ(seen[t], pool.pinned_cpus()[t]) << "worker " << t;
  cpu_set_t mine;
  CPU_ZERO(&mine);
  ASSERT_EQ(sched_getaffinity(0, sizeof(mine), &mine), 0);
  EXPECT_EQ(CPU_COUNT(&mine), CPU_COUNT(&allowed));  // the caller was not bound
  EXPECT_TRUE(ThreadPool(2).pinned_cpus().empty());
}

}  // namespace
}  // namespace dseek
