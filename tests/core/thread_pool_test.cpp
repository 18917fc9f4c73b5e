#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace kiln {
namespace {

TEST(ThreadPool, CoversEveryIndexOnceWithGrain) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (size_t n : {1u, 7u, 64u, 1000u}) {
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(
          n,
          [&](size_t b, size_t e, int t) {
            EXPECT_LT(t, threads);
            EXPECT_TRUE(b % 4 == 0);
            for (size_t i = b; i < e; ++i) hits[i]++;
          },
          4);
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ThreadPool, ManyRoundsDoNotDeadlock) {
  ThreadPool pool(4);
  std::atomic<long> sum{0};
  for (int round = 0; round < 2000; ++round) {
    pool.parallel_for(16, [&](size_t b, size_t e, int) { sum += static_cast<long>(e - b); });
  }
  EXPECT_EQ(sum.load(), 2000 * 16);
}

// Ranges are handed out dynamically: every index exactly once, boundaries on
// the grain, and no two concurrent calls share a thread index (callers use it
// to pick per-thread scratch).
TEST(ThreadPool, DynamicRangesAreDisjointAndThreadIndicesExclusive) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> busy(3);
  for (int round = 0; round < 300; ++round) {
    const size_t n = 1 + static_cast<size_t>(round * 7 % 97);
    const size_t grain = 1 + static_cast<size_t>(round % 5);
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(
        n,
        [&](size_t b, size_t e, int t) {
          ASSERT_GE(t, 0);
          ASSERT_LT(t, 3);
          EXPECT_EQ(busy[t].fetch_add(1), 0) << "thread index " << t << " used concurrently";
          EXPECT_EQ(b % grain, 0u);
          EXPECT_TRUE(e == n || e % grain == 0);
          for (size_t i = b; i < e; ++i) hits[i]++;
          busy[t].fetch_sub(1);
        },
        grain);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "round " << round << " i " << i;
  }
}

// A slow range on a worker is waited for: parallel_for returns only when all
// ranges are done. The caller's ranges hold on until a worker has one.
TEST(ThreadPool, WaitsForSlowRanges) {
  ThreadPool pool(2);
  for (int round = 0; round < 10; ++round) {
    std::atomic<int> done{0};
    std::atomic<bool> worker_in{false};
    pool.parallel_for(8, [&](size_t b, size_t e, int t) {
      if (t != 0) {
        worker_in = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      } else {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (!worker_in && std::chrono::steady_clock::now() < until) std::this_thread::yield();
      }
      done += static_cast<int>(e - b);
    });
    EXPECT_EQ(done.load(), 8);
  }
}

}  // namespace
}  // namespace kiln
