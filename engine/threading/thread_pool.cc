#include "engine/threading/thread_pool.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "core/port/cpu_port.h"

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
// Ranges hold item indices in 32 bits; longer loops run as several jobs.
constexpr uint64_t kMaxItemsPerJob = uint64_t{1} << 31;

using port::CpuRelax;

// PTHREADPOOL_FLAG_DISABLE_DENORMALS: flush-to-zero and denormals-are-zero
// for the duration of a loop, on every thread that runs part of it.
class DenormalsOff {
 public:
  explicit DenormalsOff(uint32_t flags) : flush_((flags & PTHREADPOOL_FLAG_DISABLE_DENORMALS) != 0) {}

 private:
  port::ScopedFlushDenormals flush_;
};

}  // namespace

// One parallel loop at a time. The caller splits the loop into one
// contiguous range per thread, each range in its own cache line as
// begin << 32 | end. A thread takes chunks from the front of its own range
// (a compare-and-swap on a line nobody else writes, normally), then steals
// halves from the back of the others' ranges; a worker that never got a CPU
// has its whole range stolen. Cross-core traffic per loop is a few cache lines
// (the ranges, the wake-up word, one `done` update per thread) however many
// chunks there are: on this 2-vCPU KVM guest one shared claim counter cost
// more than small operators themselves.
//
// Ranges carry no job id: a thread reads the job's task only after it has
// claimed items. The caller sets up the next job only when every item of the
// current one is done, and claimed items are not done until their thread has
// run them, so a claim always belongs to the job whose task it then reads.
struct ThreadPool::State {
  struct alignas(64) Range {
    std::atomic<uint64_t> word{0};  // begin << 32 | end, item indices of the current job
  };

  explicit State(int threads) : num_threads(threads), ranges(new Range[static_cast<size_t>(threads)]) {}

  static uint64_t Pack(uint64_t begin, uint64_t end) { return begin << 32 | end; }

  // Takes items from the front (own range) or a half from the back (stealing).
  static bool Claim(Range& range, bool front, uint64_t* begin, uint64_t* end) {
    uint64_t word = range.word.load(std::memory_order_acquire);
    for (;;) {
      const uint64_t b = word >> 32, e = word & 0xffffffff;
      if (b >= e) return false;
      // Own range: a quarter of what is left at a time, so that a thread
      // losing its CPU mid-chunk holds back little; stealing: half.
      const uint64_t take = front ? std::max<uint64_t>(1, (e - b) / 4) : std::max<uint64_t>(1, (e - b) / 2);
      const uint64_t next = front ? Pack(b + take, e) : Pack(b, e - take);
      if (range.word.compare_exchange_weak(word, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
        *begin = front ? b : e - take;
        *end = front ? b + take : e;
        return true;
      }
    }
  }

  // Runs what thread `self` can claim, own range first; returns the item count.
  uint64_t Work(int self) {
    uint64_t ran = 0, begin = 0, end = 0;
    auto run = [&] {
      RangeTask task = job_task.load(std::memory_order_acquire);
      void* context = job_context.load(std::memory_order_acquire);
      const uint64_t offset = job_offset.load(std::memory_order_acquire);
      DenormalsOff denormals(job_flags.load(std::memory_order_acquire));
      task(context, offset + begin, offset + end);
      ran += end - begin;
    };
    while (Claim(ranges[self], true, &begin, &end)) run();
    for (int step = 1; step < num_threads; ++step) {
      Range& victim = ranges[(self + step) % num_threads];
      while (Claim(victim, false, &begin, &end)) run();
    }
    return ran;
  }

  // Waits for an epoch other than `seen` (or stop).
  void WaitForJob(uint32_t seen, bool spin) {
    if (spin) {
      const auto deadline = Clock::now() + kWorkerSpin;
      for (unsigned i = 1;; ++i) {
        if (epoch.load(std::memory_order_acquire) != seen || stop.load(std::memory_order_relaxed)) return;
        CpuRelax();
        if (i % 64 == 0 && Clock::now() > deadline) break;
      }
    }
    sleeping.fetch_add(1);
    while (epoch.load() == seen && !stop.load()) epoch.wait(seen);
    sleeping.fetch_sub(1);
  }

  void WorkerLoop(int self) {
    uint32_t seen = 0;
    bool spin = true;
    for (;;) {
      WaitForJob(seen, spin);
      if (stop.load(std::memory_order_acquire)) return;
      seen = epoch.load(std::memory_order_acquire);
      if (const uint64_t ran = Work(self); ran > 0) done.fetch_add(ran, std::memory_order_release);
      // XNNPACK passes YIELD_WORKERS with the last operator of an invoke: the
      // next loop may be a frame away, so sleep at once.
      spin = (job_flags.load(std::memory_order_relaxed) & PTHREADPOOL_FLAG_YIELD_WORKERS) == 0;
    }
  }

  void WaitDone(uint64_t count) {
    const auto spin_until = Clock::now() + kCallerSpin;
    bool spinning = true;
    for (unsigned i = 1; done.load(std::memory_order_acquire) != count; ++i) {
      if (!spinning) {
        std::this_thread::yield();
        continue;
      }
      CpuRelax();
      if (i % 64 == 0 && Clock::now() > spin_until) spinning = false;
    }
  }

  void RunJob(RangeTask task, void* context, uint64_t offset, uint64_t count, uint32_t flags) {
    job_task.store(task, std::memory_order_release);
    job_context.store(context, std::memory_order_release);
    job_offset.store(offset, std::memory_order_release);
    job_flags.store(flags, std::memory_order_release);
    done.store(0, std::memory_order_relaxed);
    for (int t = 0; t < num_threads; ++t)
      ranges[t].word.store(Pack(count * t / num_threads, count * (t + 1) / num_threads), std::memory_order_release);
    epoch.fetch_add(1);
    if (sleeping.load() > 0) epoch.notify_all();
    if (const uint64_t ran = Work(0); ran > 0) done.fetch_add(ran, std::memory_order_release);
    WaitDone(count);
  }

  const int num_threads;
  std::unique_ptr<Range[]> ranges;  // [0] is the caller's
  alignas(64) std::atomic<RangeTask> job_task{nullptr};
  std::atomic<void*> job_context{nullptr};
  std::atomic<uint64_t> job_offset{0};
  std::atomic<uint32_t> job_flags{0};
  alignas(64) std::atomic<uint64_t> done{0};   // items finished in the current job
  alignas(64) std::atomic<uint32_t> epoch{0};  // bumped per job; the sleeping workers' futex word
  std::atomic<int> sleeping{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> loops{0};  // pthreadpool_parallelize_* calls (XNNPACK dispatch check)
  std::mutex run_mutex;            // one loop at a time, whichever thread calls Run
  std::vector<std::thread> workers;
};

ThreadPool::ThreadPool(int num_threads) : state_(std::make_unique<State>(num_threads)) {}

ThreadPool::~ThreadPool() {
  state_->stop.store(true);
  state_->epoch.fetch_add(1);
  state_->epoch.notify_all();
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
  if (num_threads > kMaxThreads)
    return InvalidArgumentError("a thread pool of {} threads was asked for; at most {} are supported", num_threads,
                                kMaxThreads);
  // std::thread reports a thread the system refuses (a process limit, memory)
  // by throwing; here that is an error the caller can report, and the pool's
  // destructor stops the workers already started.
  std::unique_ptr<ThreadPool> pool;
  int started = 0;
  try {
    pool.reset(new ThreadPool(num_threads));
    pool->state_->workers.reserve(static_cast<size_t>(num_threads - 1));
    for (int i = 1; i < num_threads; ++i, ++started)
      pool->state_->workers.emplace_back([s = pool->state_.get(), i] { s->WorkerLoop(i); });
  } catch (const std::system_error& e) {
    return UnavailableError("cannot start worker thread {} of a {}-thread pool ({} workers asked for): {}",
                            started + 1, num_threads, num_threads - 1, e.what());
  } catch (const std::bad_alloc&) {
    return UnavailableError("out of memory starting a {}-thread pool ({} of {} workers started)", num_threads,
                            started, num_threads - 1);
  }
  return pool;
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
  auto pool = ThreadPool::Create(static_cast<int>(std::min<size_t>(threads_count, ThreadPool::kMaxThreads + 1)));
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
