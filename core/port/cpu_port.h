// The few CPU instructions portable code needs (a spin-wait hint, the
// denormal-flush mode, a cheap tick counter), as plain functions. core/CMakeLists.txt compiles the
// implementation for the build's architecture: cpu_port_x86.cc,
// cpu_port_aarch64.cc or cpu_port_generic.cc.
#pragma once

#include <cstdint>

namespace edgepipe::port {

// A hint inside a spin-wait loop: yields the core's pipeline to its sibling
// hyperthread and saves power (x86 PAUSE, arm64 YIELD; nothing elsewhere).
void CpuRelax();

// A free-running tick counter much cheaper to read than the OS clock on some
// machines (x86 RDTSC: 26 ns against 58 ns for clock_gettime on a KVM guest);
// 0 where there is none. Usable as time only when CycleCounterIsSteady().
uint64_t ReadCycleCounter();
// Whether ReadCycleCounter ticks at one constant rate, in step on all cores,
// for the life of the process: x86 with an invariant TSC that the Linux kernel
// itself keeps time with (clocksource "tsc", so it checked the cores agree).
// Elsewhere false (arm64's clock_gettime reads its counter cheaply already).
bool CycleCounterIsSteady();

// Whether this build can make float arithmetic flush denormals (x86-64 and
// aarch64 can; the generic fallback cannot).
bool CanFlushDenormals();

// While alive, float arithmetic on this thread treats denormal inputs and
// results as zero (x86: MXCSR FTZ | DAZ; aarch64: FPCR.FZ), as XNNPACK asks for
// with PTHREADPOOL_FLAG_DISABLE_DENORMALS; the previous mode is restored after.
class ScopedFlushDenormals {
 public:
  explicit ScopedFlushDenormals(bool active = true);
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  bool active_;
  uint64_t saved_ = 0;  // the control register's previous value
};

}  // namespace edgepipe::port
