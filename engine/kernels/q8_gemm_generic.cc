// The generic variant of q8_gemm.h: plain C++, the reference of the others.
#include <cstdint>

#include "engine/kernels/q8_gemm_impl.h"

namespace edgepipe::engine::kernels::q8gemm {

void RunGeneric(const GemmArgs& a, const int8_t* rows, int num_rows, int c_begin, int c_end, int32_t* acc,
                int64_t acc_stride) {
  const int64_t kp = a.k_padded;
  for (int r = 0; r < num_rows; ++r) {
    const int8_t* x = rows + r * kp;
    for (int c = c_begin; c < c_end; ++c) {
      const int8_t* w = a.weights + c * kp;
      int32_t sum = 0;
      // Padded weights are zero: the whole padded row can be summed.
      for (int64_t k = 0; k < kp; ++k) sum += static_cast<int32_t>(x[k]) * w[k];
      acc[r * acc_stride + (c - c_begin)] = sum;
    }
  }
}

}  // namespace edgepipe::engine::kernels::q8gemm
