#include <gtest/gtest.h>

#include <atomic>
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

}  // namespace
}  // namespace dseek
