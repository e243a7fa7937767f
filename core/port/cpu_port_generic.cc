// Other architectures: no spin hint, no denormal control (arithmetic keeps
// denormals, which is only slower).
#include "core/port/cpu_port.h"

namespace edgepipe::port {

void CpuRelax() {}

bool CanFlushDenormals() { return false; }

ScopedFlushDenormals::ScopedFlushDenormals(bool active) : active_(active) {}

ScopedFlushDenormals::~ScopedFlushDenormals() = default;

}  // namespace edgepipe::port
