// The AVX-512 variant of q8_gemm.h (needs AVX-512 VNNI): vpdpbusd multiplies
// unsigned by signed bytes, so each 64-byte slice of an activation row is
// flipped (x ^ 0x80 = x + 128) before it, and 128 * sum(w) is taken off each
// channel's sum at the end. Tiles of up to 4 rows x 4 channels share each
// load. The only file built with AVX-512 flags; free of shared inline code
// (q8_gemm_impl.h).
#include <immintrin.h>

#include <cstdint>

#include "engine/kernels/q8_gemm_impl.h"

namespace edgepipe::engine::kernels::q8gemm {
namespace {

template <int R, int C>
void Tile(const GemmArgs& a, const int8_t* rows, int c, int32_t* acc, int64_t acc_stride, int c_begin) {
  const int64_t kp = a.k_padded;
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i sum[R][C];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < C; ++j) sum[i][j] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kp; k += 64) {
    __m512i w[C];
#pragma GCC unroll 4
    for (int j = 0; j < C; ++j) w[j] = _mm512_load_si512(a.weights + (c + j) * kp + k);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const __m512i x = _mm512_xor_si512(_mm512_loadu_si512(rows + i * kp + k), flip);
#pragma GCC unroll 4
      for (int j = 0; j < C; ++j) sum[i][j] = _mm512_dpbusd_epi32(sum[i][j], x, w[j]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < C; ++j)
      acc[i * acc_stride + (c + j - c_begin)] = _mm512_reduce_add_epi32(sum[i][j]) - 128 * a.weight_sums[c + j];
}

template <int R>
void Rows(const GemmArgs& a, const int8_t* rows, int c_begin, int c_end, int32_t* acc, int64_t acc_stride) {
  int c = c_begin;
  for (; c + 4 <= c_end; c += 4) Tile<R, 4>(a, rows, c, acc, acc_stride, c_begin);
  for (; c < c_end; ++c) Tile<R, 1>(a, rows, c, acc, acc_stride, c_begin);
}

}  // namespace

void RunAvx512(const GemmArgs& a, const int8_t* rows, int num_rows, int c_begin, int c_end, int32_t* acc,
               int64_t acc_stride) {
  const int64_t kp = a.k_padded;
  int r = 0;
  for (; r + 4 <= num_rows; r += 4) Rows<4>(a, rows + r * kp, c_begin, c_end, acc + r * acc_stride, acc_stride);
  for (; r < num_rows; ++r) Rows<1>(a, rows + r * kp, c_begin, c_end, acc + r * acc_stride, acc_stride);
}

}  // namespace edgepipe::engine::kernels::q8gemm
