// Internal interface between q8_gemm.cc (portable: packing, the variant
// table) and the variants' loops: q8_gemm_generic.cc and, in x86-64 builds
// only, q8_gemm_{avx2,avx512}.cc (each the only file compiled with its ISA's
// flags). Plain data and declarations only, as conv_q8_impl.h explains.
#pragma once

#include <cstdint>

namespace edgepipe::engine::kernels::q8gemm {

// K is padded to this (zero weights): one zmm of bytes, two ymm of int16.
inline constexpr int kKGroup = 64;

struct GemmArgs {
  int32_t k_padded;
  const int8_t* weights;       // [n][k_padded], zero past k
  const int32_t* weight_sums;  // [n]
};

using RunFn = void (*)(const GemmArgs& a, const int8_t* rows, int num_rows, int c_begin, int c_end, int32_t* acc,
                       int64_t acc_stride);

void RunGeneric(const GemmArgs&, const int8_t*, int, int, int, int32_t*, int64_t);
#if defined(__x86_64__)
void RunAvx2(const GemmArgs&, const int8_t*, int, int, int, int32_t*, int64_t);
void RunAvx512(const GemmArgs&, const int8_t*, int, int, int, int32_t*, int64_t);
#endif

}  // namespace edgepipe::engine::kernels::q8gemm
