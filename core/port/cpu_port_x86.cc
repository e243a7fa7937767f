// x86-64: PAUSE, RDTSC and the SSE control register (MXCSR).
#include <cpuid.h>
#include <immintrin.h>

#include <fstream>
#include <string>

#include "core/port/cpu_port.h"

namespace edgepipe::port {
namespace {
constexpr unsigned kFlushToZero = 1u << 15;      // FTZ: denormal results become zero
constexpr unsigned kDenormalsAreZero = 1u << 6;  // DAZ: denormal inputs read as zero
}  // namespace

void CpuRelax() { _mm_pause(); }

// Unordered (no LFENCE): a trace's or a statistic's time stamp may move by a few
// instructions, and the fence would double the cost.
uint64_t ReadCycleCounter() { return __rdtsc(); }

bool CycleCounterIsSteady() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  // CPUID 0x80000007 EDX bit 8: invariant TSC (constant rate, runs in all sleep states).
  if (__get_cpuid_max(0x80000000u, nullptr) < 0x80000007u) return false;
  __cpuid(0x80000007u, eax, ebx, ecx, edx);
  if ((edx & (1u << 8)) == 0) return false;
  // The kernel keeps time with the TSC only after checking that the cores' counters agree
  // (and drops it when they drift): trust it no more than the kernel does.
  std::ifstream source("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string name;
  return static_cast<bool>(source >> name) && name == "tsc";
}

bool CanFlushDenormals() { return true; }

ScopedFlushDenormals::ScopedFlushDenormals(bool active) : active_(active) {
  if (!active_) return;
  saved_ = _mm_getcsr();
  _mm_setcsr(static_cast<unsigned>(saved_) | kFlushToZero | kDenormalsAreZero);
}

ScopedFlushDenormals::~ScopedFlushDenormals() {
  if (active_) _mm_setcsr(static_cast<unsigned>(saved_));
}

}  // namespace edgepipe::port
