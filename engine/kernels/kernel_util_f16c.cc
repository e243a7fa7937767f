#include "engine/kernels/kernel_util_f16c.h"

#include <immintrin.h>

namespace edgepipe::engine::kernels::internal {

int64_t HalfToFloatF16c(const uint16_t* half, float* out, int64_t count) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(half + i))));
  return i;
}

}  // namespace edgepipe::engine::kernels::internal
