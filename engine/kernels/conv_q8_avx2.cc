// The AVX2 variant of conv_q8.h (no VNNI; what AMD Zen 3 runs): im2col into
// int16 x - input zero point, weights int16 w - filter zero point packed in
// pairs [n_blocks][k_padded / 2][8][2], and vpmaddwd, whose int16 x int16 ->
// int32 products are exact for these operands (both in [-255, 255]); the
// vpmaddubsw route would saturate its int16 sums. The only file built with
// -mavx2 -mfma; free of shared inline code (conv_q8_impl.h).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/conv_q8_impl.h"

namespace edgepipe::engine::kernels::q8conv {
namespace {

using avx2::kBlocksPerTile;
using avx2::kChunkPixels;
using avx2::kRows;

// n values of src as int16 x - zero point.
template <bool U8>
inline void Widen(int16_t* dst, const uint8_t* src, int n, __m256i zp16, int16_t zp) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m256i wide = U8 ? _mm256_cvtepu8_epi16(bytes) : _mm256_cvtepi8_epi16(bytes);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_sub_epi16(wide, zp16));
  }
  for (; i < n; ++i) dst[i] = static_cast<int16_t>((U8 ? src[i] : static_cast<int8_t>(src[i])) - zp);
}

inline void Zero(int16_t* dst, int n) {
  for (int i = 0; i < n; ++i) dst[i] = 0;
}

// im2col of pixels [begin, begin + count) into int16 rows of k_padded values;
// padded taps and K padding hold 0.
template <bool U8>
void Im2Col(const ConvArgs& a, const uint8_t* input, int64_t begin, int count, int16_t* rows) {
  const int64_t plane = static_cast<int64_t>(a.out_h) * a.out_w;
  int64_t b = begin / plane;
  int oy = static_cast<int>((begin % plane) / a.out_w), ox = static_cast<int>(begin % a.out_w);
  const int row_values = a.k_w * a.in_c;
  const int16_t zp = static_cast<int16_t>(a.input_zero_point);
  const __m256i zp16 = _mm256_set1_epi16(zp);
  for (int r = 0; r < count; ++r) {
    int16_t* dst = rows + static_cast<int64_t>(r) * a.k_padded;
    const int ix0 = ox * a.stride_w - a.pad_left;
    const bool cols_inside = a.dil_w == 1 && ix0 >= 0 && ix0 + a.k_w <= a.in_w;
    for (int ky = 0; ky < a.k_h; ++ky) {
      const int iy = oy * a.stride_h - a.pad_top + ky * a.dil_h;
      if (iy < 0 || iy >= a.in_h) {
        Zero(dst, row_values);
        dst += row_values;
        continue;
      }
      const uint8_t* src_row = input + (b * a.in_h + iy) * a.in_w * a.in_c;
      if (cols_inside) {  // the whole kernel row is inside: one contiguous run
        Widen<U8>(dst, src_row + static_cast<int64_t>(ix0) * a.in_c, row_values, zp16, zp);
        dst += row_values;
        continue;
      }
      for (int kx = 0; kx < a.k_w; ++kx, dst += a.in_c) {
        const int ix = ix0 + kx * a.dil_w;
        if (ix < 0 || ix >= a.in_w) {
          Zero(dst, a.in_c);
        } else {
          Widen<U8>(dst, src_row + static_cast<int64_t>(ix) * a.in_c, a.in_c, zp16, zp);
        }
      }
    }
    Zero(dst, a.k_padded - a.k);
    if (++ox == a.out_w) {
      ox = 0;
      if (++oy == a.out_h) oy = 0, ++b;
    }
  }
}

// XNNPACK's fp32 requantization of 8 channels to 8 int16 (natural order):
// float(acc) * scale, min with act_max - zero point, round to nearest even,
// + zero point with int16 saturation. The 8-bit pack and clamp follow.
inline __m128i Requantize(__m256i acc, __m256 scale, __m256 max_less_zp, __m128i zp) {
  const __m256i r = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale), max_less_zp));
  return _mm_adds_epi16(_mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1)), zp);
}

// ROWS pixels x BLOCKS 8-channel blocks starting at channel block nb. Row i's
// k_padded int16 values start at rows + i * stride.
template <bool U8, int ROWS, int BLOCKS>
void MicroKernel(const ConvArgs& a, const int16_t* rows, int64_t stride, int nb, uint8_t* out) {
  __m256i acc[ROWS][BLOCKS];
#pragma GCC unroll 4
  for (int j = 0; j < BLOCKS; ++j) {
    const __m256i bias = _mm256_load_si256(reinterpret_cast<const __m256i*>(a.bias + (nb + j) * 8));
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) acc[i][j] = bias;
  }
  const int k2 = a.k_padded / 2;
  const int64_t block_values = static_cast<int64_t>(k2) * 16;
  const int16_t* w = reinterpret_cast<const int16_t*>(a.packed_weights) + nb * block_values;
  for (int k = 0; k < k2; ++k) {
    __m256i wv[BLOCKS];
#pragma GCC unroll 4
    for (int j = 0; j < BLOCKS; ++j)
      wv[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + j * block_values + k * 16));
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) {
      int32_t pair;
      std::memcpy(&pair, rows + i * stride + k * 2, 4);
      const __m256i av = _mm256_set1_epi32(pair);
#pragma GCC unroll 4
      for (int j = 0; j < BLOCKS; ++j) acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(av, wv[j]));
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

using MicroKernelFn = void (*)(const ConvArgs&, const int16_t*, int64_t, int, uint8_t*);
template <bool U8, int ROWS>
constexpr MicroKernelFn kByBlocks[3] = {nullptr, MicroKernel<U8, ROWS, 1>, MicroKernel<U8, ROWS, 2>};
template <bool U8>
constexpr const MicroKernelFn* kKernels[4 + 1] = {nullptr, kByBlocks<U8, 1>, kByBlocks<U8, 2>, kByBlocks<U8, 3>,
                                                  kByBlocks<U8, 4>};

template <bool U8>
void Run(const ConvArgs& a, const uint8_t* input, uint8_t* output, int64_t pixel_begin, int64_t pixel_end,
         int block_begin, int block_end, int16_t* rows) {
  static_assert(kRows <= 4 && kBlocksPerTile <= 2);
  for (int64_t chunk = pixel_begin; chunk < pixel_end; chunk += kChunkPixels) {
    const int count = static_cast<int>(pixel_end - chunk < kChunkPixels ? pixel_end - chunk : kChunkPixels);
    Im2Col<U8>(a, input, chunk, count, rows);
    const int64_t stride = a.k_padded;
    // Channel tiles outside, pixel tiles inside: a tile's packed weights stay
    // in L1/L2 while every pixel of the chunk uses them.
    for (int nb = block_begin; nb < block_end; nb += kBlocksPerTile) {
      const int blocks = block_end - nb < kBlocksPerTile ? block_end - nb : kBlocksPerTile;
      for (int r = 0; r < count; r += kRows) {
        const int n = count - r < kRows ? count - r : kRows;
        kKernels<U8>[n][blocks](a, rows + r * stride, stride, nb, output + (chunk + r) * a.out_c);
      }
    }
  }
}

}  // namespace

void RunAvx2(const ConvArgs& a, const uint8_t* input, uint8_t* output, int64_t pixel_begin, int64_t pixel_end,
             int block_begin, int block_end, uint8_t* scratch, int32_t* /*sums*/) {
  auto* rows = reinterpret_cast<int16_t*>(scratch);
  if (a.u8) {
    Run<true>(a, input, output, pixel_begin, pixel_end, block_begin, block_end, rows);
  } else {
    Run<false>(a, input, output, pixel_begin, pixel_end, block_begin, block_end, rows);
  }
}

}  // namespace edgepipe::engine::kernels::q8conv
