// The few CPU instructions portable code needs (a spin-wait hint, the
// denormal-flush mode), as plain functions. core/CMakeLists.txt compiles the
// implementation for the build's architecture: cpu_port_x86.cc,
// cpu_port_aarch64.cc or cpu_port_generic.cc.
#pragma once

#include <cstdint>

namespace edgepipe::port {

// A hint inside a spin-wait loop: yields the core's pipeline to its sibling
// hyperthread and saves power (x86 PAUSE, arm64 YIELD; nothing elsewhere).
void CpuRelax();

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
