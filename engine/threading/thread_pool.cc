#include "engine/threading/thread_pool.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#if defined(__SSE__)
#include <immintrin.h>
#endif

namespace edgepipe::engine {
namespace {

using Clock = std::chrono::steady_clock;

// Between the operators of one invoke a worker's next loop arrives within
// microseconds: spinning that long saves a futex wake-up (5-20 us) per
// operator. After that the worker sleeps so that it does not take a core from
// other processes.
constexpr auto kWorkerSpin = std::chrono::microseconds(50);
// The caller spins this long for claimed chunks to finish, then yields its core
// (the worker it waits for may be queued on it).
constexpr auto kCallerSpin = std::chrono::microseconds(20);
// The claim word holds the next unclaimed index in 32 bits; longer loops run
// as several jobs.
constexpr uint64_t kMaxItemsPerJob = uint64_t{1} << 31;

inline void CpuRelax() {
#if defined(__SSE__)
  _mm_pause();
#endif
}

// PTHREADPOOL_FLAG_DISABLE_DENORMALS: flush-to-zero and denormals-are-zero
// for the duration of a loop, on every thread that runs part of it.
class DenormalsOff {
 public:
  explicit DenormalsOff(uint32_t flags) : active_((flags & PTHREADPOOL_FLAG_DISABLE_DENORMALS) != 0) {
#if defined(__SSE__)
    if (active_) {
      saved_ = _mm_getcsr();
      _mm_setcsr(saved_ | 0x8040);  // FTZ (bit 15) | DAZ (bit 6)
    }
#endif
  }
  ~DenormalsOff() {
#if defined(__SSE__)
    if (active_) _mm_setcsr(saved_);
#endif
  }
  DenormalsOff(const DenormalsOff&) = delete;
  DenormalsOff& operator=(const DenormalsOff&) = delete;

 private:
  bool active_;
  unsigned saved_ = 0;
};

}  // namespace

// One parallel loop at a time. A loop is published as a job in one of two
// slots (by epoch parity) and claimed through `claim` = epoch << 32 | next
// unclaimed index. A claim is a compare-and-swap that also checks the epoch,
// so a worker that read a slot and then lost its CPU can never claim from a
// later job with the earlier job's task: the slot is rewritten only two epochs
// later, by which time the epoch in `claim` has moved on (a seqlock: slot
// fields are written with release and read with acquire before the claim).
struct ThreadPool::State {
  struct alignas(64) Job {
    std::atomic<RangeTask> task{nullptr};
    std::atomic<void*> context{nullptr};
    std::atomic<uint64_t> offset{0};
    std::atomic<uint64_t> count{0};
    std::atomic<uint32_t> flags{0};
    alignas(64) std::atomic<uint64_t> done{0};  // items finished
  };

  explicit State(int threads) : num_threads(threads) {}

  const int num_threads;
  alignas(64) std::atomic<uint64_t> claim{0};
  Job jobs[2];
  alignas(64) std::atomic<uint32_t> wake{0};  // futex word the sleeping workers wait on
  std::atomic<int> sleeping{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> loops{0};  // pthreadpool_parallelize_* calls (XNNPACK dispatch check)
  uint32_t epoch = 0;      // the caller's; guarded by run_mutex
  std::mutex run_mutex;    // one loop at a time, whichever thread calls Run
  std::vector<std::thread> workers;

  // Claims and runs chunks of the job `snapshot` names until none is left.
  // Chunks shrink as the loop drains (remaining / 2 per thread), so threads
  // finish together without a claim per item.
  void Work(uint64_t snapshot) {
    for (;;) {
      const auto epoch_seen = static_cast<uint32_t>(snapshot >> 32);
      const auto next = static_cast<uint32_t>(snapshot);
      Job& job = jobs[epoch_seen & 1];
      RangeTask task = job.task.load(std::memory_order_acquire);
      void* context = job.context.load(std::memory_order_acquire);
      const uint64_t offset = job.offset.load(std::memory_order_acquire);
      const uint64_t count = job.count.load(std::memory_order_acquire);
      const uint32_t flags = job.flags.load(std::memory_order_acquire);
      if (next >= count) return;
      const uint64_t chunk = std::max<uint64_t>(1, (count - next) / (2 * static_cast<uint64_t>(num_threads)));
      const uint64_t end = std::min(count, next + chunk);
      if (!claim.compare_exchange_weak(snapshot, (snapshot & ~uint64_t{0xffffffff}) | end,
                                       std::memory_order_acq_rel, std::memory_order_acquire))
        continue;  // someone else claimed, or a new job: look again
      {
        DenormalsOff denormals(flags);
        task(context, offset + next, offset + end);
      }
      job.done.fetch_add(end - next, std::memory_order_release);
      snapshot = claim.load(std::memory_order_acquire);
    }
  }

  // Waits for a job newer than `seen` (or stop); returns the claim word.
  uint64_t WaitForJob(uint32_t seen, bool spin) {
    if (spin) {
      const auto deadline = Clock::now() + kWorkerSpin;
      for (unsigned i = 1;; ++i) {
        const uint64_t snapshot = claim.load(std::memory_order_acquire);
        if (static_cast<uint32_t>(snapshot >> 32) != seen || stop.load(std::memory_order_relaxed)) return snapshot;
        CpuRelax();
        if (i % 64 == 0 && Clock::now() > deadline) break;
      }
    }
    for (;;) {
      const uint32_t token = wake.load();
      sleeping.fetch_add(1);
      const uint64_t snapshot = claim.load();
      if (static_cast<uint32_t>(snapshot >> 32) != seen || stop.load()) {
        sleeping.fetch_sub(1);
        return snapshot;
      }
      wake.wait(token);
      sleeping.fetch_sub(1);
    }
  }

  void WorkerLoop() {
    uint32_t seen = 0;
    bool spin = true;
    for (;;) {
      uint64_t snapshot = claim.load(std::memory_order_acquire);
      if (static_cast<uint32_t>(snapshot >> 32) == seen) snapshot = WaitForJob(seen, spin);
      if (stop.load(std::memory_order_acquire)) return;
      seen = static_cast<uint32_t>(snapshot >> 32);
      Work(snapshot);
      // XNNPACK passes YIELD_WORKERS with the last operator of an invoke: the
      // next loop may be a frame away, so sleep at once.
      spin = (jobs[seen & 1].flags.load(std::memory_order_relaxed) & PTHREADPOOL_FLAG_YIELD_WORKERS) == 0;
    }
  }

  void WaitDone(const Job& job, uint64_t count) {
    const auto spin_until = Clock::now() + kCallerSpin;
    bool spinning = true;
    for (unsigned i = 1; job.done.load(std::memory_order_acquire) != count; ++i) {
      if (!spinning) {
        std::this_thread::yield();
        continue;
      }
      CpuRelax();
      if (i % 64 == 0 && Clock::now() > spin_until) spinning = false;
    }
  }

  void RunJob(RangeTask task, void* context, uint64_t offset, uint64_t count, uint32_t flags) {
    // Release stores: a worker whose acquire load reads one of them also sees
    // the publication of the previous epoch, so its claim on an older epoch
    // fails (see the note above).
    const uint32_t new_epoch = ++epoch;
    Job& job = jobs[new_epoch & 1];
    job.task.store(task, std::memory_order_release);
    job.context.store(context, std::memory_order_release);
    job.offset.store(offset, std::memory_order_release);
    job.count.store(count, std::memory_order_release);
    job.flags.store(flags, std::memory_order_release);
    job.done.store(0, std::memory_order_relaxed);
    claim.store(uint64_t{new_epoch} << 32);
    if (sleeping.load() > 0) {
      wake.fetch_add(1);
      wake.notify_all();
    }
    Work(claim.load(std::memory_order_acquire));
    WaitDone(job, count);
  }
};

ThreadPool::ThreadPool(int num_threads) : state_(std::make_unique<State>(num_threads)) {
  for (int i = 1; i < num_threads; ++i) state_->workers.emplace_back([s = state_.get()] { s->WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  state_->stop.store(true);
  state_->wake.fetch_add(1);
  state_->wake.notify_all();
  for (std::thread& t : state_->workers) t.join();
}

int ThreadPool::num_threads() const { return state_->num_threads; }

uint64_t ThreadPool::loops_through_pthreadpool_api() const { return state_->loops.load(std::memory_order_relaxed); }

void ThreadPool::CountLoop() { state_->loops.fetch_add(1, std::memory_order_relaxed); }

void ThreadPool::Run(RangeTask task, void* context, size_t count, uint32_t flags) {
  if (count == 0) return;
  if (state_->num_threads == 1 || count == 1) {
    DenormalsOff denormals(flags);
    task(context, 0, count);
    return;
  }
  std::lock_guard<std::mutex> lock(state_->run_mutex);
  for (uint64_t offset = 0; offset < count; offset += kMaxItemsPerJob)
    state_->RunJob(task, context, offset, std::min<uint64_t>(kMaxItemsPerJob, count - offset), flags);
}

Result<std::unique_ptr<ThreadPool>> ThreadPool::Create(int num_threads) {
  if (num_threads < 1) return InvalidArgumentError("a thread pool needs at least 1 thread, got {}", num_threads);
  return std::unique_ptr<ThreadPool>(new ThreadPool(num_threads));
}

namespace {

// pthreadpool's loops over up to 6 dimensions, the last one or two tiled:
// item k of the flattened grid (row-major over tiles, the sequential order
// pthreadpool documents) calls the task with each dimension's start and, for
// tiled dimensions, the tile's size.
template <size_t Dims, size_t Tiled, typename Task>
struct GridLoop {
  Task task;
  void* context;
  std::array<size_t, Dims> range;
  std::array<size_t, Dims> tile;
  std::array<size_t, Dims> tiles;

  void Call(const std::array<size_t, Dims>& index) const {
    std::array<size_t, Dims> start;
    for (size_t d = 0; d < Dims; ++d) start[d] = index[d] * tile[d];
    auto size = [&](size_t d) { return std::min(tile[d], range[d] - start[d]); };
    [&]<size_t... I>(std::index_sequence<I...>) {
      if constexpr (Tiled == 0)
        task(context, start[I]...);
      else if constexpr (Tiled == 1)
        task(context, start[I]..., size(Dims - 1));
      else
        task(context, start[I]..., size(Dims - 2), size(Dims - 1));
    }(std::make_index_sequence<Dims>{});
  }

  static void RunRange(void* self, size_t begin, size_t end) {
    const auto& loop = *static_cast<const GridLoop*>(self);
    std::array<size_t, Dims> index;
    size_t rest = begin;
    for (size_t d = Dims; d-- > 0;) {
      index[d] = rest % loop.tiles[d];
      rest /= loop.tiles[d];
    }
    for (size_t k = begin; k < end; ++k) {
      loop.Call(index);
      for (size_t d = Dims; d-- > 0;) {
        if (++index[d] < loop.tiles[d]) break;
        index[d] = 0;
      }
    }
  }
};

template <size_t Dims, size_t Tiled, typename Task>
void Parallelize(pthreadpool_t pool, Task task, void* context, std::array<size_t, Dims> range,
                 std::array<size_t, Tiled> last_tiles, uint32_t flags) {
  if (pool != nullptr) ThreadPool::FromPthreadpool(pool)->CountLoop();
  GridLoop<Dims, Tiled, Task> loop{task, context, range, {}, {}};
  size_t count = 1;
  for (size_t d = 0; d < Dims; ++d) {
    loop.tile[d] = d + Tiled >= Dims ? std::max<size_t>(1, last_tiles[d + Tiled - Dims]) : 1;
    loop.tiles[d] = (range[d] + loop.tile[d] - 1) / loop.tile[d];
    count *= loop.tiles[d];
  }
  if (count == 0) return;
  if (pool == nullptr) {
    DenormalsOff denormals(flags);
    GridLoop<Dims, Tiled, Task>::RunRange(&loop, 0, count);
    return;
  }
  ThreadPool::FromPthreadpool(pool)->Run(&GridLoop<Dims, Tiled, Task>::RunRange, &loop, count, flags);
}

}  // namespace
}  // namespace edgepipe::engine

// The pthreadpool API (the functions Debian's XNNPACK imports, plus creation),
// on ThreadPool. Exported so that XNNPACK's references bind here.
using edgepipe::engine::Parallelize;
using edgepipe::engine::ThreadPool;

#define EDGEPIPE_PTHREADPOOL_EXPORT __attribute__((visibility("default")))

EDGEPIPE_PTHREADPOOL_EXPORT pthreadpool_t pthreadpool_create(size_t threads_count) {
  if (threads_count == 0) threads_count = std::max(1u, std::thread::hardware_concurrency());
  auto pool = ThreadPool::Create(static_cast<int>(threads_count));
  return pool.ok() ? (*pool).release()->as_pthreadpool() : nullptr;
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_destroy(pthreadpool_t threadpool) {
  delete ThreadPool::FromPthreadpool(threadpool);
}

EDGEPIPE_PTHREADPOOL_EXPORT size_t pthreadpool_get_threads_count(pthreadpool_t threadpool) {
  return threadpool == nullptr ? 1 : static_cast<size_t>(ThreadPool::FromPthreadpool(threadpool)->num_threads());
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_1d(pthreadpool_t pool, pthreadpool_task_1d_t task,
                                                           void* context, size_t range, uint32_t flags) {
  Parallelize<1, 0>(pool, task, context, {range}, {}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_1d_tile_1d(pthreadpool_t pool,
                                                                   pthreadpool_task_1d_tile_1d_t task, void* context,
                                                                   size_t range, size_t tile, uint32_t flags) {
  Parallelize<1, 1>(pool, task, context, {range}, {tile}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_2d(pthreadpool_t pool, pthreadpool_task_2d_t task,
                                                           void* context, size_t range_i, size_t range_j,
                                                           uint32_t flags) {
  Parallelize<2, 0>(pool, task, context, {range_i, range_j}, {}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_2d_tile_1d(pthreadpool_t pool,
                                                                   pthreadpool_task_2d_tile_1d_t task, void* context,
                                                                   size_t range_i, size_t range_j, size_t tile_j,
                                                                   uint32_t flags) {
  Parallelize<2, 1>(pool, task, context, {range_i, range_j}, {tile_j}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_2d_tile_2d(pthreadpool_t pool,
                                                                   pthreadpool_task_2d_tile_2d_t task, void* context,
                                                                   size_t range_i, size_t range_j, size_t tile_i,
                                                                   size_t tile_j, uint32_t flags) {
  Parallelize<2, 2>(pool, task, context, {range_i, range_j}, {tile_i, tile_j}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_3d(pthreadpool_t pool, pthreadpool_task_3d_t task,
                                                           void* context, size_t range_i, size_t range_j,
                                                           size_t range_k, uint32_t flags) {
  Parallelize<3, 0>(pool, task, context, {range_i, range_j, range_k}, {}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_3d_tile_2d(pthreadpool_t pool,
                                                                   pthreadpool_task_3d_tile_2d_t task, void* context,
                                                                   size_t range_i, size_t range_j, size_t range_k,
                                                                   size_t tile_j, size_t tile_k, uint32_t flags) {
  Parallelize<3, 2>(pool, task, context, {range_i, range_j, range_k}, {tile_j, tile_k}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_4d(pthreadpool_t pool, pthreadpool_task_4d_t task,
                                                           void* context, size_t range_i, size_t range_j,
                                                           size_t range_k, size_t range_l, uint32_t flags) {
  Parallelize<4, 0>(pool, task, context, {range_i, range_j, range_k, range_l}, {}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_4d_tile_2d(pthreadpool_t pool,
                                                                   pthreadpool_task_4d_tile_2d_t task, void* context,
                                                                   size_t range_i, size_t range_j, size_t range_k,
                                                                   size_t range_l, size_t tile_k, size_t tile_l,
                                                                   uint32_t flags) {
  Parallelize<4, 2>(pool, task, context, {range_i, range_j, range_k, range_l}, {tile_k, tile_l}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_5d(pthreadpool_t pool, pthreadpool_task_5d_t task,
                                                           void* context, size_t range_i, size_t range_j,
                                                           size_t range_k, size_t range_l, size_t range_m,
                                                           uint32_t flags) {
  Parallelize<5, 0>(pool, task, context, {range_i, range_j, range_k, range_l, range_m}, {}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_5d_tile_2d(pthreadpool_t pool,
                                                                   pthreadpool_task_5d_tile_2d_t task, void* context,
                                                                   size_t range_i, size_t range_j, size_t range_k,
                                                                   size_t range_l, size_t range_m, size_t tile_l,
                                                                   size_t tile_m, uint32_t flags) {
  Parallelize<5, 2>(pool, task, context, {range_i, range_j, range_k, range_l, range_m}, {tile_l, tile_m}, flags);
}

EDGEPIPE_PTHREADPOOL_EXPORT void pthreadpool_parallelize_6d_tile_2d(pthreadpool_t pool,
                                                                   pthreadpool_task_6d_tile_2d_t task, void* context,
                                                                   size_t range_i, size_t range_j, size_t range_k,
                                                                   size_t range_l, size_t range_m, size_t range_n,
                                                                   size_t tile_m, size_t tile_n, uint32_t flags) {
  Parallelize<6, 2>(pool, task, context, {range_i, range_j, range_k, range_l, range_m, range_n}, {tile_m, tile_n},
                    flags);
}
