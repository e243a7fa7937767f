// The F16C half->float loop behind internal::HalfToFloat (kernel_util.cc);
// kernel_util_f16c.cc is compiled with -mf16c -mavx on x86-64 builds only.
#pragma once

#include <cstdint>

namespace edgepipe::engine::kernels::internal {

// Converts the first count / 8 * 8 halves (exactly, as the scalar conversion
// does) and returns how many it converted; the caller converts the rest.
// Only for a CPU with F16C (HostCpu().f16c).
int64_t HalfToFloatF16c(const uint16_t* half, float* out, int64_t count);

}  // namespace edgepipe::engine::kernels::internal
