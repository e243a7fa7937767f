// aarch64: YIELD and the floating-point control register (FPCR).
#include "core/port/cpu_port.h"

namespace edgepipe::port {
namespace {
// FZ: denormal inputs and results of single and double precision become zero.
constexpr uint64_t kFlushToZero = uint64_t{1} << 24;

uint64_t ReadFpcr() {
  uint64_t fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  return fpcr;
}
void WriteFpcr(uint64_t fpcr) { __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr)); }
}  // namespace

void CpuRelax() { __asm__ __volatile__("yield" ::: "memory"); }

uint64_t ReadCycleCounter() { return 0; }

bool CycleCounterIsSteady() { return false; }

bool CanFlushDenormals() { return true; }

ScopedFlushDenormals::ScopedFlushDenormals(bool active) : active_(active) {
  if (!active_) return;
  saved_ = ReadFpcr();
  WriteFpcr(saved_ | kFlushToZero);
}

ScopedFlushDenormals::~ScopedFlushDenormals() {
  if (active_) WriteFpcr(saved_);
}

}  // namespace edgepipe::port
