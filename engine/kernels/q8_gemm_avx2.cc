// The AVX2 variant of q8_gemm.h: activations and weights widened to int16 and
// multiplied with vpmaddwd (exact: |x * w| <= 128 * 128, pair sums fit int32).
// Tiles of up to 4 rows x 4 channels share each load. The only file built
// with -mavx2 -mfma; free of shared inline code (q8_gemm_impl.h).
#include <immintrin.h>

#include <cstdint>

#include "engine/kernels/q8_gemm_impl.h"

namespace edgepipe::engine::kernels::q8gemm {
namespace {

inline int32_t HorizontalSum(__m256i v) {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, _MM_SHUFFLE(2, 3, 0, 1))));
}

template <int R, int C>
void Tile(const GemmArgs& a, const int8_t* rows, int c, int32_t* acc, int64_t acc_stride, int c_begin) {
  const int64_t kp = a.k_padded;
  __m256i sum[R][C];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < C; ++j) sum[i][j] = _mm256_setzero_si256();
  for (int64_t k = 0; k < kp; k += 16) {
    __m256i w[C];
#pragma GCC unroll 4
    for (int j = 0; j < C; ++j)
      w[j] = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(a.weights + (c + j) * kp + k)));
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows + i * kp + k)));
#pragma GCC unroll 4
      for (int j = 0; j < C; ++j) sum[i][j] = _mm256_add_epi32(sum[i][j], _mm256_madd_epi16(x, w[j]));
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < C; ++j) acc[i * acc_stride + (c + j - c_begin)] = HorizontalSum(sum[i][j]);
}

template <int R>
void Rows(const GemmArgs& a, const int8_t* rows, int c_begin, int c_end, int32_t* acc, int64_t acc_stride) {
  int c = c_begin;
  for (; c + 4 <= c_end; c += 4) Tile<R, 4>(a, rows, c, acc, acc_stride, c_begin);
  for (; c < c_end; ++c) Tile<R, 1>(a, rows, c, acc, acc_stride, c_begin);
}

}  // namespace

void RunAvx2(const GemmArgs& a, const int8_t* rows, int num_rows, int c_begin, int c_end, int32_t* acc,
             int64_t acc_stride) {
  const int64_t kp = a.k_padded;
  int r = 0;
  for (; r + 4 <= num_rows; r += 4) Rows<4>(a, rows + r * kp, c_begin, c_end, acc + r * acc_stride, acc_stride);
  for (; r < num_rows; ++r) Rows<1>(a, rows + r * kp, c_begin, c_end, acc + r * acc_stride, acc_stride);
}

}  // namespace edgepipe::engine::kernels::q8gemm
