// x86-64: PAUSE and the SSE control register (MXCSR).
#include <immintrin.h>

#include "core/port/cpu_port.h"

namespace edgepipe::port {
namespace {
constexpr unsigned kFlushToZero = 1u << 15;      // FTZ: denormal results become zero
constexpr unsigned kDenormalsAreZero = 1u << 6;  // DAZ: denormal inputs read as zero
}  // namespace

void CpuRelax() { _mm_pause(); }

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
