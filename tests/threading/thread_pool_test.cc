// The engine's thread pool: every pthreadpool loop shape visits exactly the
// items of its documented sequential loop, denormal flags reach every thread,
// and a worker that cannot run does not hold up the caller.
#include "engine/threading/thread_pool.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "core/port/cpu_port.h"
#include "tests/testing/address_space.h"

namespace edgepipe::engine {
namespace {

using Item = std::array<size_t, 8>;  // starts, then tile sizes (unused entries 0)

struct Recorder {
  std::mutex mutex;
  std::vector<Item> items;
  void Add(Item item) {
    std::lock_guard<std::mutex> lock(mutex);
    items.push_back(item);
  }
  std::vector<Item> Sorted() {
    std::sort(items.begin(), items.end());
    return items;
  }
};

std::vector<Item> Sorted(std::vector<Item> items) {
  std::sort(items.begin(), items.end());
  return items;
}

class LoopShapes : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (GetParam() > 0) {
      auto pool = ThreadPool::Create(GetParam());
      ASSERT_TRUE(pool.ok()) << pool.status();
      pool_ = std::move(*pool);
    }
  }
  // Null (sequential, as XNNPACK calls it with one thread) or our pool.
  pthreadpool_t pool() { return pool_ != nullptr ? pool_->as_pthreadpool() : nullptr; }
  std::unique_ptr<ThreadPool> pool_;
};

TEST_P(LoopShapes, OneDimension) {
  Recorder r;
  pthreadpool_parallelize_1d(
      pool(), [](void* c, size_t i) { static_cast<Recorder*>(c)->Add({i}); }, &r, 1000, 0);
  std::vector<Item> expected;
  for (size_t i = 0; i < 1000; ++i) expected.push_back({i});
  EXPECT_EQ(r.Sorted(), expected);
}

TEST_P(LoopShapes, OneDimensionTiled) {
  Recorder r;
  pthreadpool_parallelize_1d_tile_1d(
      pool(), [](void* c, size_t i, size_t n) { static_cast<Recorder*>(c)->Add({i, n}); }, &r, 103, 10, 0);
  std::vector<Item> expected;
  for (size_t i = 0; i < 103; i += 10) expected.push_back({i, std::min<size_t>(10, 103 - i)});
  EXPECT_EQ(r.Sorted(), expected);
}

TEST_P(LoopShapes, TwoDimensions) {
  Recorder r;
  pthreadpool_parallelize_2d(
      pool(), [](void* c, size_t i, size_t j) { static_cast<Recorder*>(c)->Add({i, j}); }, &r, 7, 13, 0);
  std::vector<Item> expected;
  for (size_t i = 0; i < 7; ++i)
    for (size_t j = 0; j < 13; ++j) expected.push_back({i, j});
  EXPECT_EQ(r.Sorted(), expected);
}

TEST_P(LoopShapes, TwoDimensionsTiledLast) {
  Recorder r;
  pthreadpool_parallelize_2d_tile_1d(
      pool(), [](void* c, size_t i, size_t j, size_t n) { static_cast<Recorder*>(c)->Add({i, j, n}); }, &r, 5, 17,
      4, 0);
  std::vector<Item> expected;
  for (size_t i = 0; i < 5; ++i)
    for (size_t j = 0; j < 17; j += 4) expected.push_back({i, j, std::min<size_t>(4, 17 - j)});
  EXPECT_EQ(r.Sorted(), expected);
}

TEST_P(LoopShapes, TwoDimensionsTiledBoth) {
  Recorder r;
  pthreadpool_parallelize_2d_tile_2d(
      pool(),
      [](void* c, size_t i, size_t j, size_t ni, size_t nj) { static_cast<Recorder*>(c)->Add({i, j, ni, nj}); }, &r,
      23, 50, 7, 16, 0);
  std::vector<Item> expected;
  for (size_t i = 0; i < 23; i += 7)
    for (size_t j = 0; j < 50; j += 16)
      expected.push_back({i, j, std::min<size_t>(7, 23 - i), std::min<size_t>(16, 50 - j)});
  EXPECT_EQ(r.Sorted(), expected);
}

TEST_P(LoopShapes, ThreeToSixDimensions) {
  Recorder r3, r3t, r4, r4t, r5, r5t, r6t;
  pthreadpool_parallelize_3d(
      pool(), [](void* c, size_t i, size_t j, size_t k) { static_cast<Recorder*>(c)->Add({i, j, k}); }, &r3, 3, 4, 5,
      0);
  pthreadpool_parallelize_3d_tile_2d(
      pool(),
      [](void* c, size_t i, size_t j, size_t k, size_t nj, size_t nk) {
        static_cast<Recorder*>(c)->Add({i, j, k, nj, nk});
      },
      &r3t, 2, 9, 10, 4, 3, 0);
  pthreadpool_parallelize_4d(
      pool(),
      [](void* c, size_t i, size_t j, size_t k, size_t l) { static_cast<Recorder*>(c)->Add({i, j, k, l}); }, &r4, 2,
      3, 4, 5, 0);
  pthreadpool_parallelize_4d_tile_2d(
      pool(),
      [](void* c, size_t i, size_t j, size_t k, size_t l, size_t nk, size_t nl) {
        static_cast<Recorder*>(c)->Add({i, j, k, l, nk, nl});
      },
      &r4t, 2, 3, 11, 6, 5, 4, 0);
  pthreadpool_parallelize_5d(
      pool(),
      [](void* c, size_t i, size_t j, size_t k, size_t l, size_t m) {
        static_cast<Recorder*>(c)->Add({i, j, k, l, m});
      },
      &r5, 2, 2, 3, 2, 3, 0);
  pthreadpool_parallelize_5d_tile_2d(
      pool(),
      [](void* c, size_t i, size_t j, size_t k, size_t l, size_t m, size_t nl, size_t nm) {
        static_cast<Recorder*>(c)->Add({i, j, k, l, m, nl, nm});
      },
      &r5t, 2, 2, 2, 7, 9, 3, 4, 0);
  pthreadpool_parallelize_6d_tile_2d(
      pool(),
      [](void* c, size_t i, size_t j, size_t k, size_t l, size_t m, size_t n, size_t nm, size_t nn) {
        static_cast<Recorder*>(c)->Add({i, j, k, l, m, n, nm, nn});
      },
      &r6t, 2, 1, 2, 2, 5, 8, 2, 3, 0);

  std::vector<Item> e3, e3t, e4, e4t, e5, e5t, e6t;
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < 4; ++j)
      for (size_t k = 0; k < 5; ++k) e3.push_back({i, j, k});
  for (size_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < 9; j += 4)
      for (size_t k = 0; k < 10; k += 3) e3t.push_back({i, j, k, std::min<size_t>(4, 9 - j), std::min<size_t>(3, 10 - k)});
  for (size_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < 3; ++j)
      for (size_t k = 0; k < 4; ++k)
        for (size_t l = 0; l < 5; ++l) e4.push_back({i, j, k, l});
  for (size_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < 3; ++j)
      for (size_t k = 0; k < 11; k += 5)
        for (size_t l = 0; l < 6; l += 4)
          e4t.push_back({i, j, k, l, std::min<size_t>(5, 11 - k), std::min<size_t>(4, 6 - l)});
  for (size_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < 2; ++j)
      for (size_t k = 0; k < 3; ++k)
        for (size_t l = 0; l < 2; ++l)
          for (size_t m = 0; m < 3; ++m) e5.push_back({i, j, k, l, m});
  for (size_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < 2; ++j)
      for (size_t k = 0; k < 2; ++k)
        for (size_t l = 0; l < 7; l += 3)
          for (size_t m = 0; m < 9; m += 4)
            e5t.push_back({i, j, k, l, m, std::min<size_t>(3, 7 - l), std::min<size_t>(4, 9 - m)});
  for (size_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < 1; ++j)
      for (size_t k = 0; k < 2; ++k)
        for (size_t l = 0; l < 2; ++l)
          for (size_t m = 0; m < 5; m += 2)
            for (size_t n = 0; n < 8; n += 3)
              e6t.push_back({i, j, k, l, m, n, std::min<size_t>(2, 5 - m), std::min<size_t>(3, 8 - n)});
  EXPECT_EQ(r3.Sorted(), Sorted(e3));
  EXPECT_EQ(r3t.Sorted(), Sorted(e3t));
  EXPECT_EQ(r4.Sorted(), Sorted(e4));
  EXPECT_EQ(r4t.Sorted(), Sorted(e4t));
  EXPECT_EQ(r5.Sorted(), Sorted(e5));
  EXPECT_EQ(r5t.Sorted(), Sorted(e5t));
  EXPECT_EQ(r6t.Sorted(), Sorted(e6t));
}

TEST_P(LoopShapes, EmptyRangesCallNothing) {
  std::atomic<int> calls{0};
  pthreadpool_parallelize_2d(
      pool(), [](void* c, size_t, size_t) { static_cast<std::atomic<int>*>(c)->fetch_add(1); }, &calls, 0, 9, 0);
  pthreadpool_parallelize_1d_tile_1d(
      pool(), [](void* c, size_t, size_t) { static_cast<std::atomic<int>*>(c)->fetch_add(1); }, &calls, 0, 4, 0);
  EXPECT_EQ(calls.load(), 0);
}

// Whether this thread's float arithmetic flushes denormals: a denormal input
// times one (volatile, so computed at run time, here) comes out as zero.
bool FlushesDenormals() {
  static volatile float denormal = std::numeric_limits<float>::denorm_min() * 64;
  volatile float one = 1.0f;
  return denormal * one == 0.0f;
}

TEST_P(LoopShapes, DisableDenormalsHoldsOnEveryThreadAndIsRestored) {
  ASSERT_TRUE(port::CanFlushDenormals()) << "no denormal control for this architecture";
  ASSERT_FALSE(FlushesDenormals()) << "denormals are flushed already before the loop";
  std::atomic<int> without_flush{0};
  pthreadpool_parallelize_1d(
      pool(),
      [](void* c, size_t) {
        if (!FlushesDenormals()) static_cast<std::atomic<int>*>(c)->fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(20));  // let every thread take part
      },
      &without_flush, 200, PTHREADPOOL_FLAG_DISABLE_DENORMALS);
  EXPECT_EQ(without_flush.load(), 0);
  EXPECT_FALSE(FlushesDenormals()) << "the caller's mode was not restored";
  // Without the flag nothing is flushed, on any thread.
  std::atomic<int> flushed{0};
  pthreadpool_parallelize_1d(
      pool(), [](void* c, size_t) { if (FlushesDenormals()) static_cast<std::atomic<int>*>(c)->fetch_add(1); },
      &flushed, 200, 0);
  EXPECT_EQ(flushed.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(NullOneTwoFourThreads, LoopShapes, ::testing::Values(0, 1, 2, 4),
                         [](const auto& info) { return "threads" + std::to_string(info.param); });

TEST(ThreadPool, ManyBackToBackLoopsCoverEveryItemOnce) {
  auto pool = ThreadPool::Create(3);
  ASSERT_TRUE(pool.ok());
  std::vector<std::atomic<int>> hits(4096);
  struct Context {
    std::vector<std::atomic<int>>* hits;
  } context{&hits};
  for (size_t count : {1, 2, 3, 17, 64, 1000, 4096}) {
    for (int repeat = 0; repeat < 300; ++repeat) {
      for (auto& h : hits) h.store(0, std::memory_order_relaxed);
      (*pool)->Run(
          [](void* c, size_t begin, size_t end) {
            for (size_t i = begin; i < end; ++i) (*static_cast<Context*>(c)->hits)[i].fetch_add(1);
          },
          &context, count, repeat % 7 == 0 ? PTHREADPOOL_FLAG_YIELD_WORKERS : 0);
      for (size_t i = 0; i < count; ++i) ASSERT_EQ(hits[i].load(), 1) << "item " << i << " of " << count;
      for (size_t i = count; i < hits.size(); ++i) ASSERT_EQ(hits[i].load(), 0);
    }
  }
}

TEST(ThreadPool, LoopsFromSeveralCallerThreadsAreSerialised) {
  auto pool = ThreadPool::Create(2);
  ASSERT_TRUE(pool.ok());
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        (*pool)->Run([](void* c, size_t b, size_t e) { static_cast<std::atomic<long>*>(c)->fetch_add(e - b); },
                     &total, 100, 0);
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 3 * 200 * 100);
}

// A worker stopped inside a signal handler stands for one whose core another
// process holds: the caller must finish the loop on its own.
std::atomic<bool> worker_held{false};
std::atomic<bool> release_worker{false};

void HoldThread(int) {
  worker_held.store(true);
  while (!release_worker.load()) {
    struct timespec ts{0, 1000000};
    nanosleep(&ts, nullptr);
  }
}

TEST(ThreadPool, CallerDoesNotWaitForAWorkerThatCannotRun) {
  auto pool = ThreadPool::Create(2);
  ASSERT_TRUE(pool.ok());
  // Find the worker thread: the one that runs part of a slow loop besides us.
  struct Seen {
    pthread_t caller;
    std::mutex mutex;
    std::set<pthread_t> others;
  } seen{pthread_self(), {}, {}};
  for (int attempt = 0; attempt < 50 && seen.others.empty(); ++attempt)
    (*pool)->Run(
        [](void* c, size_t, size_t) {
          auto& s = *static_cast<Seen*>(c);
          if (!pthread_equal(pthread_self(), s.caller)) {
            std::lock_guard<std::mutex> lock(s.mutex);
            s.others.insert(pthread_self());
          }
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        },
        &seen, 64, 0);
  ASSERT_EQ(seen.others.size(), 1u) << "the worker never took part";

  struct sigaction action{};
  action.sa_handler = HoldThread;
  sigemptyset(&action.sa_mask);
  struct sigaction previous{};
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  ASSERT_EQ(pthread_kill(*seen.others.begin(), SIGUSR1), 0);
  while (!worker_held.load()) std::this_thread::yield();

  const auto start = std::chrono::steady_clock::now();
  std::atomic<int> items{0};
  for (int loop = 0; loop < 100; ++loop)
    (*pool)->Run([](void* c, size_t b, size_t e) { static_cast<std::atomic<int>*>(c)->fetch_add(e - b); }, &items,
                 256, 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  release_worker.store(true);
  sigaction(SIGUSR1, &previous, nullptr);
  EXPECT_EQ(items.load(), 100 * 256);
  // Each loop would otherwise wait for the held worker forever.
  EXPECT_LT(seconds, 5.0);
}

TEST(ThreadPool, AbsurdThreadCountIsAnError) {
  auto pool = ThreadPool::Create(100000);
  ASSERT_FALSE(pool.ok());
  EXPECT_NE(pool.status().message().find("100000 threads"), std::string::npos) << pool.status();
  EXPECT_EQ(pthreadpool_create(100000), nullptr);
}

using edgepipe::testing::CapAddressSpace;

// Thread stacks are mapped memory: with the address space capped just above
// what the process uses, the system refuses the workers, as a process limit
// (ulimit -u, which root is exempt from) does. In a child process (a death
// test) so that the cap stays there.
TEST(ThreadPool, RefusedThreadsAreAnErrorNotAnAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (!CapAddressSpace(4u << 20)) std::_Exit(2);  // less than one 8 MB thread stack
        auto pool = ThreadPool::Create(8);
        std::fprintf(stderr, "%s\n", pool.ok() ? "OK" : pool.status().ToString().c_str());
        std::_Exit(pool.ok() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "UNAVAILABLE: cannot start worker thread 1 of a 8-thread pool");
}

}  // namespace
}  // namespace edgepipe::engine
