// The graph's time source: statistics, traces and stall detection read it, so
// tests can run them on a ManualClock instead of sleeping.
#pragma once

#include <atomic>
#include <cstdint>

namespace edgepipe {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowNs() const = 0;  // monotonic
};

// std::chrono::steady_clock (read through the CPU's tick counter where that is
// steady and cheaper, see core/clock.cc); the default of every graph.
const Clock& SteadyClock();

// Time that moves only when told to; thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t start_ns = 0) : now_ns_(start_ns) {}
  int64_t NowNs() const override { return now_ns_.load(std::memory_order_acquire); }
  void AdvanceNs(int64_t ns) { now_ns_.fetch_add(ns, std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_ns_;
};

}  // namespace edgepipe
