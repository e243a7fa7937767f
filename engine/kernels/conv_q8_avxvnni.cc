// The AVX-VNNI variant of conv_q8.h (VEX vpdpbusd on ymm: Intel client cores
// since Alder Lake, which have no AVX-512): the avx512 variant's method with
// 8-channel blocks, weights packed [n_blocks][k_padded / 4][8][4]. The only
// file built with -mavx2 -mfma -mavxvnni; free of shared inline code
// (conv_q8_impl.h).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/conv_q8_impl.h"

namespace edgepipe::engine::kernels::q8conv {
namespace {

using avxvnni::kBlocksPerTile;
using avxvnni::kChunkPixels;
using avxvnni::kRows;

// acc += u8 bytes of a x s8 bytes of b. Inline asm: with the intrinsic GCC 12
// copies accumulators around each vpdpbusd (conv_q8_avx512.cc); {vex} because
// the assembler would otherwise emit the EVEX (AVX512-VNNI) form, which
// AVX-VNNI-only CPUs do not run.
inline void Dot4(__m256i& acc, __m256i a, __m256i b) { asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(b)); }

inline int32_t ByteSum(const uint8_t* p, int n) {
  __m256i sum = _mm256_setzero_si256();
  int i = 0;
  for (; i + 32 <= n; i += 32)
    sum = _mm256_add_epi64(sum, _mm256_sad_epu8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)),
                                                _mm256_setzero_si256()));
  const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
  int64_t total = _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
  for (; i < n; ++i) total += p[i];
  return static_cast<int32_t>(total);
}

// im2col of pixels [begin, begin + count) into rows of k_padded bytes, and the
// rows' byte sums (uint8). Padded taps hold the input zero point; K padding 0.
template <bool U8>
void Im2Col(const ConvArgs& a, const uint8_t* input, int64_t begin, int count, uint8_t* rows, int32_t* sums) {
  const int64_t plane = static_cast<int64_t>(a.out_h) * a.out_w;
  int64_t b = begin / plane;
  int oy = static_cast<int>((begin % plane) / a.out_w), ox = static_cast<int>(begin % a.out_w);
  const int row_bytes = a.k_w * a.in_c;
  for (int r = 0; r < count; ++r) {
    uint8_t* const row = rows + static_cast<int64_t>(r) * a.k_padded;
    uint8_t* dst = row;
    const int ix0 = ox * a.stride_w - a.pad_left;
    const bool cols_inside = a.dil_w == 1 && ix0 >= 0 && ix0 + a.k_w <= a.in_w;
    for (int ky = 0; ky < a.k_h; ++ky) {
      const int iy = oy * a.stride_h - a.pad_top + ky * a.dil_h;
      if (iy < 0 || iy >= a.in_h) {
        std::memset(dst, a.pad_value, row_bytes);
        dst += row_bytes;
        continue;
      }
      const uint8_t* src_row = input + (b * a.in_h + iy) * a.in_w * a.in_c;
      if (cols_inside) {  // the whole kernel row is inside: one contiguous copy
        std::memcpy(dst, src_row + static_cast<int64_t>(ix0) * a.in_c, row_bytes);
        dst += row_bytes;
        continue;
      }
      for (int kx = 0; kx < a.k_w; ++kx, dst += a.in_c) {
        const int ix = ix0 + kx * a.dil_w;
        if (ix < 0 || ix >= a.in_w) {
          std::memset(dst, a.pad_value, a.in_c);
        } else {
          std::memcpy(dst, src_row + static_cast<int64_t>(ix) * a.in_c, a.in_c);
        }
      }
    }
    for (int k = a.k; k < a.k_padded; ++k) *dst++ = 0;
    if (U8) sums[r] = ByteSum(row, a.k);
    if (++ox == a.out_w) {
      ox = 0;
      if (++oy == a.out_h) oy = 0, ++b;
    }
  }
}

// XNNPACK's fp32 requantization of 8 channels to 8 int16 (see conv_q8_avx2.cc).
inline __m128i Requantize(__m256i acc, __m256 scale, __m256 max_less_zp, __m128i zp) {
  const __m256i r = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale), max_less_zp));
  return _mm_adds_epi16(_mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1)), zp);
}

// ROWS pixels x BLOCKS 8-channel blocks starting at channel block nb. Row i's
// K bytes start at rows + i * stride; sums[i] is their byte sum (uint8 only).
template <bool U8, int ROWS, int BLOCKS>
void MicroKernel(const ConvArgs& a, const uint8_t* rows, int64_t stride, const int32_t* sums, int nb, uint8_t* out) {
  __m256i acc[ROWS][BLOCKS];
  __m256i bias[BLOCKS];
#pragma GCC unroll 4
  for (int j = 0; j < BLOCKS; ++j) bias[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(a.bias + (nb + j) * 8));
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
    // Unsigned multiply: the product is only ever needed modulo 2^32.
    const __m256i corr =
        U8 ? _mm256_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(sums[i]) *
                                                    static_cast<uint32_t>(a.row_sum_mult)))
           : _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int j = 0; j < BLOCKS; ++j) acc[i][j] = _mm256_add_epi32(bias[j], corr);
  }
  // int8 activations become the unsigned operand as x ^ 0x80 = x + 128.
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const int k4 = a.k_padded / 4;
  const int64_t block_bytes = static_cast<int64_t>(k4) * 32;
  const int8_t* w = a.packed_weights + nb * block_bytes;
  for (int k = 0; k < k4; ++k) {
    __m256i wv[BLOCKS];
#pragma GCC unroll 4
    for (int j = 0; j < BLOCKS; ++j)
      wv[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + j * block_bytes + k * 32));
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) {
      int32_t quad;
      std::memcpy(&quad, rows + i * stride + k * 4, 4);
      const __m256i av = U8 ? _mm256_set1_epi32(quad) : _mm256_xor_si256(_mm256_set1_epi32(quad), flip);
#pragma GCC unroll 4
      for (int j = 0; j < BLOCKS; ++j) Dot4(acc[i][j], av, wv[j]);
    }
  }
  const __m256 max_less_zp = _mm256_set1_ps(static_cast<float>(a.act_max - a.output_zero_point));
  const __m128i zp = _mm_set1_epi16(static_cast<int16_t>(a.output_zero_point));
  const __m128i lo = _mm_set1_epi8(static_cast<char>(a.act_min));
  const __m128i hi = _mm_set1_epi8(static_cast<char>(a.act_max));
  __m256 scale[BLOCKS];
#pragma GCC unroll 4
  for (int j = 0; j < BLOCKS; ++j) scale[j] = _mm256_load_ps(a.scale + (nb + j) * 8);
  const int c0 = nb * 8;
  // Only this tile's channels: the next tile may be another thread's.
  const int store = a.out_c - c0 < BLOCKS * 8 ? a.out_c - c0 : BLOCKS * 8;
  constexpr int kVectors = (BLOCKS + 1) / 2;
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
    alignas(16) uint8_t bytes[kVectors * 16];
#pragma GCC unroll 2
    for (int v = 0; v < kVectors; ++v) {
      const __m128i p0 = Requantize(acc[i][2 * v], scale[2 * v], max_less_zp, zp);
      const int j1 = 2 * v + 1 < BLOCKS ? 2 * v + 1 : 2 * v;  // in range even where unused
      const __m128i p1 = 2 * v + 1 < BLOCKS ? Requantize(acc[i][j1], scale[j1], max_less_zp, zp) : p0;
      const __m128i packed = U8 ? _mm_min_epu8(_mm_max_epu8(_mm_packus_epi16(p0, p1), lo), hi)
                                : _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(p0, p1), lo), hi);
      _mm_store_si128(reinterpret_cast<__m128i*>(bytes + 16 * v), packed);
    }
    uint8_t* dst = out + static_cast<int64_t>(i) * a.out_c + c0;
    if (store == BLOCKS * 8) {
      std::memcpy(dst, bytes, BLOCKS * 8);
    } else {
      std::memcpy(dst, bytes, store);
    }
  }
}

using MicroKernelFn = void (*)(const ConvArgs&, const uint8_t*, int64_t, const int32_t*, int, uint8_t*);
template <bool U8, int ROWS>
constexpr MicroKernelFn kByBlocks[3] = {nullptr, MicroKernel<U8, ROWS, 1>, MicroKernel<U8, ROWS, 2>};
template <bool U8>
constexpr const MicroKernelFn* kKernels[4 + 1] = {nullptr, kByBlocks<U8, 1>, kByBlocks<U8, 2>, kByBlocks<U8, 3>,
                                                  kByBlocks<U8, 4>};

template <bool U8>
void Run(const ConvArgs& a, const uint8_t* input, uint8_t* output, int64_t pixel_begin, int64_t pixel_end,
         int block_begin, int block_end, uint8_t* scratch, int32_t* sums) {
  static_assert(kRows <= 4 && kBlocksPerTile <= 2 && kChunkPixels % kRows == 0);
  for (int64_t chunk = pixel_begin; chunk < pixel_end; chunk += kChunkPixels) {
    const int count = static_cast<int>(pixel_end - chunk < kChunkPixels ? pixel_end - chunk : kChunkPixels);
    const uint8_t* rows;
    int64_t stride;
    if (a.direct) {
      rows = input + chunk * a.in_c;
      stride = a.in_c;
      if (U8)
        for (int r = 0; r < count; ++r) sums[r] = ByteSum(rows + r * stride, a.in_c);
    } else {
      Im2Col<U8>(a, input, chunk, count, scratch, sums);
      rows = scratch;
      stride = a.k_padded;
    }
    for (int nb = block_begin; nb < block_end; nb += kBlocksPerTile) {
      const int blocks = block_end - nb < kBlocksPerTile ? block_end - nb : kBlocksPerTile;
      for (int r = 0; r < count; r += kRows) {
        const int n = count - r < kRows ? count - r : kRows;
        kKernels<U8>[n][blocks](a, rows + r * stride, stride, sums + r, nb, output + (chunk + r) * a.out_c);
      }
    }
  }
}

}  // namespace

void RunAvxVnni(const ConvArgs& a, const uint8_t* input, uint8_t* output, int64_t pixel_begin, int64_t pixel_end,
                int block_begin, int block_end, uint8_t* scratch, int32_t* sums) {
  if (a.u8) {
    Run<true>(a, input, output, pixel_begin, pixel_end, block_begin, block_end, scratch, sums);
  } else {
    Run<false>(a, input, output, pixel_begin, pixel_end, block_begin, block_end, scratch, sums);
  }
}

}  // namespace edgepipe::engine::kernels::q8conv
