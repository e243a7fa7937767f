#include "core/clock.h"

#include <algorithm>
#include <chrono>

#include "core/port/cpu_port.h"

namespace edgepipe {

namespace {
int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// steady_clock, read through the CPU's tick counter where that is steady (core/port/cpu_port.h):
// on a KVM guest a clock_gettime costs 58 ns, about a pass-through hop, and statistics and
// traces read the clock twice per call. The tick rate is measured once against steady_clock.
class SteadyClockImpl : public Clock {
 public:
  SteadyClockImpl() {
#ifdef __SIZEOF_INT128__
    if (!port::CycleCounterIsSteady()) return;
    // Calibrate over ~2 ms, each end taken as the tightest of a few (ticks, ns, ticks) readings.
    int64_t start_ns = 0, end_ns = 0;
    uint64_t start_ticks = Sample(&start_ns);
    const int64_t until = start_ns + 2'000'000;
    while (SteadyNowNs() < until) {
    }
    const uint64_t end_ticks = Sample(&end_ns);
    if (end_ticks <= start_ticks || end_ns <= start_ns) return;
    // ns = base_ns + (ticks - base_ticks) * scale / 2^32.
    scale_ = static_cast<uint64_t>(static_cast<double>(end_ns - start_ns) * 4294967296.0 /
                                   static_cast<double>(end_ticks - start_ticks));
    base_ns_ = start_ns;
    base_ticks_ = start_ticks;
    ticks_ = scale_ != 0;
#endif
  }

  int64_t NowNs() const override {
#ifdef __SIZEOF_INT128__
    if (ticks_) {
      __extension__ using Wide = unsigned __int128;
      const Wide elapsed = static_cast<Wide>(port::ReadCycleCounter() - base_ticks_) * scale_;
      return base_ns_ + static_cast<int64_t>(elapsed >> 32);
    }
#endif
    return SteadyNowNs();
  }

 private:
  static uint64_t Sample(int64_t* ns) {
    uint64_t best_ticks = 0, best_spread = UINT64_MAX;
    for (int i = 0; i < 5; ++i) {
      const uint64_t before = port::ReadCycleCounter();
      const int64_t now = SteadyNowNs();
      const uint64_t after = port::ReadCycleCounter();
      if (after - before < best_spread) {
        best_spread = after - before;
        best_ticks = before + (after - before) / 2;
        *ns = now;
      }
    }
    return best_ticks;
  }

  bool ticks_ = false;
  int64_t base_ns_ = 0;
  uint64_t base_ticks_ = 0;
  uint64_t scale_ = 0;
};
}  // namespace

const Clock& SteadyClock() {
  static const SteadyClockImpl clock;
  return clock;
}

}  // namespace edgepipe
