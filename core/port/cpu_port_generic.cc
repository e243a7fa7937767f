// Other architectures: no spin hint, no denormal control (arithmetic keeps
// denormals, which is only slower).
#include "core/port/cpu_port.h"

namespace edgepipe::port {

void CpuRelax() {}

uint64_t ReadCycleCounter() { return 0; }

bool CycleCounterIsSteady() { return false; }

bool CanFlushDenormals() { return false; }

ScopedFlushDenormals::ScopedFlushDenormals(bool active) : active_(active) {}

ScopedFlushDenormals::~ScopedFlushDenormals() = default;

}  // namespace edgepipe::port
