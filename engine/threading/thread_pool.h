// The engine's thread pool, and the pthreadpool C API on top of it.
//
// XNNPACK hands its parallel loops to pthreadpool. Debian 12's pthreadpool
// (2021) makes the caller wait, after every parallel loop, until each worker
// thread has woken up and checked in, even when the caller has already done
// all the work itself. On a machine where another process holds the worker's
// core, every operator then waits for a scheduler slice: 2-thread invokes of a
// 4 ms model took 190 ms (docs/benchmarks.md). In this pool, each thread
// works through its own range of the loop and then steals from the others',
// and the caller waits only for chunks that some thread took: a worker that
// never got a CPU delays nothing, because the caller takes its share.
//
// thread_pool.cc also defines the pthreadpool functions Debian's
// XNNPACK calls (pthreadpool_create, pthreadpool_parallelize_1d ... 6d_tile_2d,
// with the same loop orders and flags), so XNNPACK runs on this pool: the
// definitions in our binary come first in the dynamic linker's search order.
// The engine checks once that XNNPACK really dispatches here
// (loops_through_pthreadpool_api) before it gives XNNPACK a pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <pthreadpool.h>

#include "core/status.h"

namespace edgepipe::engine {

class ThreadPool {
 public:
  // More threads than this is a mistake (a typo in --threads), not a pool.
  static constexpr int kMaxThreads = 1024;

  // A pool running loops on `num_threads` threads: the caller and
  // num_threads - 1 workers. Fails (never aborts) when the system refuses a
  // thread.
  static Result<std::unique_ptr<ThreadPool>> Create(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const;

  // Calls task(context, begin, end) over disjoint ranges covering [0, count)
  // and returns when all have returned. flags: PTHREADPOOL_FLAG_*.
  using RangeTask = void (*)(void* context, size_t begin, size_t end);
  void Run(RangeTask task, void* context, size_t count, uint32_t flags);

  // Loops run through pthreadpool_parallelize_* on this pool so far.
  uint64_t loops_through_pthreadpool_api() const;
  void CountLoop();

  // The same pool as XNNPACK and pthreadpool_parallelize_* see it.
  pthreadpool_t as_pthreadpool() { return reinterpret_cast<pthreadpool_t>(this); }
  static ThreadPool* FromPthreadpool(pthreadpool_t pool) { return reinterpret_cast<ThreadPool*>(pool); }

 private:
  struct State;
  explicit ThreadPool(int num_threads);
  std::unique_ptr<State> state_;
};

}  // namespace edgepipe::engine
