// The AVX512-VNNI hot loops of conv_int8_vnni.h. This is the only file built
// with -mavx512f -mavx512bw -mavx512vnni (engine/CMakeLists.txt); it is called
// only after ConvInt8VnniSupported(). Keep it free of shared inline code (std
// containers, fmt, kernel_util.h): see conv_int8_vnni_impl.h.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/conv_int8_vnni_impl.h"

namespace edgepipe::engine::kernels::vnni {
namespace {

// x ^ 0x80 (int8 -> uint8 + 128) of n bytes.
inline void FlipCopy(uint8_t* dst, const int8_t* src, int n) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  int i = 0;
  for (; i + 64 <= n; i += 64)
    _mm512_storeu_si512(dst + i, _mm512_xor_si512(_mm512_loadu_si512(src + i), flip));
  if (i < n) {
    const __mmask64 m = (uint64_t{1} << (n - i)) - 1;
    _mm512_mask_storeu_epi8(dst + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), flip));
  }
}

// im2col of pixels [begin, begin + count) into rows of k_padded bytes.
void Im2Col(const ConvArgs& a, const int8_t* input, int64_t begin, int count, uint8_t* rows) {
  const int64_t plane = static_cast<int64_t>(a.out_h) * a.out_w;
  const bool pointwise = a.k_h == 1 && a.k_w == 1 && a.stride_h == 1 && a.stride_w == 1 && a.pad_top == 0 &&
                         a.pad_left == 0 && a.in_h == a.out_h && a.in_w == a.out_w;
  for (int r = 0; r < count; ++r) {
    uint8_t* row = rows + static_cast<int64_t>(r) * a.k_padded;
    const int64_t m = begin + r;
    if (pointwise) {
      FlipCopy(row, input + m * a.in_c, a.in_c);
    } else {
      const int64_t b = m / plane;
      const int oy = static_cast<int>((m % plane) / a.out_w), ox = static_cast<int>(m % a.out_w);
      uint8_t* dst = row;
      for (int ky = 0; ky < a.k_h; ++ky) {
        const int iy = oy * a.stride_h - a.pad_top + ky * a.dil_h;
        const int ix0 = ox * a.stride_w - a.pad_left;
        if (a.dil_w == 1 && iy >= 0 && iy < a.in_h && ix0 >= 0 && ix0 + a.k_w <= a.in_w) {
          // The whole kernel row is inside: one contiguous copy.
          FlipCopy(dst, input + ((b * a.in_h + iy) * a.in_w + ix0) * a.in_c, a.k_w * a.in_c);
          dst += a.k_w * a.in_c;
          continue;
        }
        for (int kx = 0; kx < a.k_w; ++kx, dst += a.in_c) {
          const int ix = ox * a.stride_w - a.pad_left + kx * a.dil_w;
          if (iy < 0 || iy >= a.in_h || ix < 0 || ix >= a.in_w) {
            std::memset(dst, a.pad_value, a.in_c);
          } else {
            FlipCopy(dst, input + ((b * a.in_h + iy) * a.in_w + ix) * a.in_c, a.in_c);
          }
        }
      }
    }
    for (int k = a.k; k < a.k_padded; ++k) row[k] = 0;
  }
}

// XNNPACK's (and so LiteRT's) fp32 requantization of qc8 convolutions:
// float(acc) * scale, min with (act_max - zero point), round to nearest even.
// The zero point and clamps follow after packing (see MicroKernel).
inline __m512i Requantize(__m512i acc, __m512 scale, __m512 max_less_zp) {
  return _mm512_cvtps_epi32(_mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale), max_less_zp));
}

// ROWS pixels x BLOCKS 16-channel blocks starting at channel block nb.
template <int ROWS, int BLOCKS>
void MicroKernel(const ConvArgs& a, const uint8_t* rows, int nb, int8_t* out) {
  __m512i acc[ROWS][BLOCKS];
  for (int j = 0; j < BLOCKS; ++j) {
    const __m512i bias = _mm512_load_si512(a.bias + (nb + j) * 16);
    for (int i = 0; i < ROWS; ++i) acc[i][j] = bias;
  }
  const int k4 = a.k_padded / 4;
  const int64_t block_bytes = static_cast<int64_t>(k4) * 64;
  const int8_t* w = a.packed_weights + nb * block_bytes;
  for (int k = 0; k < k4; ++k) {
    __m512i wv[BLOCKS];
    for (int j = 0; j < BLOCKS; ++j) wv[j] = _mm512_load_si512(w + j * block_bytes + k * 64);
    for (int i = 0; i < ROWS; ++i) {
      int32_t quad;
      std::memcpy(&quad, rows + static_cast<int64_t>(i) * a.k_padded + k * 4, 4);
      const __m512i av = _mm512_set1_epi32(quad);
      for (int j = 0; j < BLOCKS; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, wv[j]);
    }
  }
  // + zero point and clamp after packing 4 blocks to 64 int8, as XNNPACK does:
  // packs saturate (int32 -> int16 -> int8), so adding the zero point with
  // int16 saturation and clamping in int8 equals clamp(x + zp, act_min, act_max).
  const __m512i zp = _mm512_set1_epi16(static_cast<int16_t>(a.output_zero_point));
  const __m512i lo = _mm512_set1_epi8(static_cast<char>(a.act_min));
  const __m512i hi = _mm512_set1_epi8(static_cast<char>(a.act_max));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512 max_less_zp = _mm512_set1_ps(static_cast<float>(a.act_max - a.output_zero_point));
  __m512 scale[BLOCKS];
  for (int j = 0; j < BLOCKS; ++j) scale[j] = _mm512_load_ps(a.scale + (nb + j) * 16);
  const int c0 = nb * 16;
  const int valid = a.out_c - c0 < 64 ? a.out_c - c0 : 64;
  const __mmask64 store = valid == 64 ? ~__mmask64{0} : (__mmask64{1} << valid) - 1;
  for (int i = 0; i < ROWS; ++i) {
    __m512i r[4];
    for (int j = 0; j < 4; ++j) {
      const int jj = j < BLOCKS ? j : 0;  // in range even where unused
      r[j] = j < BLOCKS ? Requantize(acc[i][jj], scale[jj], max_less_zp) : _mm512_setzero_si512();
    }
    const __m512i p01 = _mm512_adds_epi16(_mm512_packs_epi32(r[0], r[1]), zp);
    const __m512i p23 = _mm512_adds_epi16(_mm512_packs_epi32(r[2], r[3]), zp);
    __m512i v = _mm512_permutexvar_epi32(order, _mm512_packs_epi16(p01, p23));
    v = _mm512_min_epi8(_mm512_max_epi8(v, lo), hi);
    _mm512_mask_storeu_epi8(out + static_cast<int64_t>(i) * a.out_c + c0, store, v);
  }
}

using MicroKernelFn = void (*)(const ConvArgs&, const uint8_t*, int, int8_t*);
template <int ROWS>
constexpr MicroKernelFn kByBlocks[kBlocksPerTile + 1] = {nullptr, MicroKernel<ROWS, 1>, MicroKernel<ROWS, 2>,
                                                        MicroKernel<ROWS, 3>, MicroKernel<ROWS, 4>};
constexpr const MicroKernelFn* kKernels[6 + 1] = {nullptr,     kByBlocks<1>, kByBlocks<2>, kByBlocks<3>,
                                                      kByBlocks<4>, kByBlocks<5>, kByBlocks<6>};

}  // namespace

void RunPixels(const ConvArgs& a, const int8_t* input, int8_t* output, int64_t pixel_begin, int64_t pixel_end,
               uint8_t* scratch) {
  static_assert(kRows <= 6 && kBlocksPerTile == 4 && kChunkPixels % kRows == 0);
  for (int64_t chunk = pixel_begin; chunk < pixel_end; chunk += kChunkPixels) {
    const int count = static_cast<int>(pixel_end - chunk < kChunkPixels ? pixel_end - chunk : kChunkPixels);
    Im2Col(a, input, chunk, count, scratch);
    // Channel tiles outside, pixel tiles inside: a tile's packed weights stay
    // in L1/L2 while every pixel of the chunk uses them.
    for (int nb = 0; nb < a.n_blocks; nb += kBlocksPerTile) {
      const int blocks = a.n_blocks - nb < kBlocksPerTile ? a.n_blocks - nb : kBlocksPerTile;
      for (int r = 0; r < count; r += kRows) {
        const int rows = count - r < kRows ? count - r : kRows;
        kKernels[rows][blocks](a, scratch + static_cast<int64_t>(r) * a.k_padded, nb,
                               output + (chunk + r) * a.out_c);
      }
    }
  }
}

}  // namespace edgepipe::engine::kernels::vnni
