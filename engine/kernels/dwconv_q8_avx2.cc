// The AVX2 variant of dwconv_q8.h (no VNNI; what AMD Zen 3 runs). Pairs of
// taps of 16 channels: each tap's bytes widened to int16, the two interleaved
// (vpunpck{l,h}wd) and multiplied with int16 w - filter zero point packed the
// same way (vpmaddwd: exact for operands in [-255, 255]); the input zero
// point's term, -zp * sum(w - filter zero point), is in the bias, and padded
// taps read the input zero point, so they add nothing. Two ways to form the
// pairs (DwArgs::columns, chosen per shape in dwconv_q8.cc): column rows pair
// kernel rows of one input column, widened once per output row and read by
// every pixel whose window covers the column; per-pixel windows pair
// consecutive taps of each pixel's window.
// The only file built with -mavx2 -mfma; free of shared inline code
// (conv_q8_impl.h).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/dwconv_q8_impl.h"

namespace edgepipe::engine::kernels::dwq8 {
namespace {

// 16 channels of one input pixel as int16 (the input zero point's term is in
// the bias). The last block of a row reads past the pixel's channels into the
// next pixel (their weights are 0), except where that would leave the tensor
// (`end` is the input's end).
template <bool U8, bool Tail>
inline __m256i Load16(const uint8_t* p, int n, uintptr_t end) {
  __m128i bytes;
  if (Tail && reinterpret_cast<uintptr_t>(p) + 16 > end) {
    alignas(16) uint8_t tmp[16] = {};
    std::memcpy(tmp, p, static_cast<size_t>(n));
    bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
  } else {
    bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }
  return U8 ? _mm256_cvtepu8_epi16(bytes) : _mm256_cvtepi8_epi16(bytes);
}

template <bool U8, bool Tail>
inline __m256i LoadTap16(const uint8_t* p, int n, const uint8_t* pad, uintptr_t end) {
  __m128i bytes;
  if (Tail && p != pad && reinterpret_cast<uintptr_t>(p) + 16 > end) {
    alignas(16) uint8_t tmp[16] = {};
    std::memcpy(tmp, p, static_cast<size_t>(n));
    bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
  } else {
    bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }
  return U8 ? _mm256_cvtepu8_epi16(bytes) : _mm256_cvtepi8_epi16(bytes);
}

// Stores the first n (< 16) bytes of v.
inline void StorePartial(uint8_t* dst, __m128i v, int n) {
  if (n & 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), v);
    v = _mm_srli_si128(v, 8);
    dst += 8;
  }
  if (n & 4) {
    const int32_t word = _mm_cvtsi128_si32(v);
    std::memcpy(dst, &word, 4);
    v = _mm_srli_si128(v, 4);
    dst += 4;
  }
  const int32_t rest = _mm_cvtsi128_si32(v);
  if (n & 2) {
    std::memcpy(dst, &rest, 2);
    dst += 2;
  }
  if (n & 1) *dst = static_cast<uint8_t>((n & 2) ? rest >> 16 : rest);
}

// The columns of input columns [ix_begin, ix_begin + count) for one output
// row and the 16 channels at rows[ky] (kernel row ky's input row at the
// block's first channel, null when the row is padding): per column, pair g
// of kernel rows (2g, 2g + 1) widened and interleaved as 2 vectors.
template <bool U8, bool Tail>
void BuildColumns(const DwArgs& a, const uint8_t* const* rows, int ix_begin, int count, int n, uintptr_t end,
                  uint8_t* buf) {
  const __m256i pad = _mm256_set1_epi16(static_cast<int16_t>(a.input_zero_point));
  const int64_t pixel_stride = a.channels;
  const int groups = a.groups, k_h = a.k_h;
  for (int col = 0; col < count; ++col) {
    const int ix = ix_begin + col;
    const bool inside = ix >= 0 && ix < a.in_w;
    auto* dst = reinterpret_cast<__m256i*>(buf + static_cast<int64_t>(col) * a.column_bytes);
    for (int g = 0; g < groups; ++g) {
      __m256i r[2];
#pragma GCC unroll 2
      for (int i = 0; i < 2; ++i) {
        const int ky = 2 * g + i;
        if (ky >= k_h) {
          r[i] = _mm256_setzero_si256();  // its weights are 0
        } else if (!inside || rows[ky] == nullptr) {
          r[i] = pad;
        } else {
          r[i] = Load16<U8, Tail>(rows[ky] + ix * pixel_stride, n, end);
        }
      }
      _mm256_store_si256(dst + 2 * g, _mm256_unpacklo_epi16(r[0], r[1]));
      _mm256_store_si256(dst + 2 * g + 1, _mm256_unpackhi_epi16(r[0], r[1]));
    }
  }
}

// P output pixels of one 16-channel block from the columns at buf (pixel p's
// tap column kx at column p * stride_w + kx * dil_w).
template <bool U8, bool Tail, int P>
void Tile(const DwArgs& a, const uint8_t* buf, const int16_t* weights, __m256i bias0, __m256i bias1, __m256 scale0,
          __m256 scale1, int n, uint8_t* out) {
  __m256i acc[P][2];
#pragma GCC unroll 4
  for (int p = 0; p < P; ++p) acc[p][0] = bias0, acc[p][1] = bias1;
  const int groups = a.groups;
  const int64_t p_step = static_cast<int64_t>(a.stride_w) * a.column_bytes;
  const int64_t kx_step = static_cast<int64_t>(a.dil_w) * a.column_bytes;
  for (int kx = 0; kx < a.k_w; ++kx) {
    const uint8_t* col0 = buf + kx * kx_step;
    for (int g = 0; g < groups; ++g) {
      const int16_t* w = weights + (kx * groups + g) * 32;
      const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
      const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 16));
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) {
        const auto* col = reinterpret_cast<const __m256i*>(col0 + p * p_step + g * 64);
        acc[p][0] = _mm256_add_epi32(acc[p][0], _mm256_madd_epi16(_mm256_load_si256(col), w0));
        acc[p][1] = _mm256_add_epi32(acc[p][1], _mm256_madd_epi16(_mm256_load_si256(col + 1), w1));
      }
    }
  }
  // XNNPACK's fp32 requantization (conv_q8_avx2.cc); packing the two
  // accumulators puts the channels back in natural order.
  const __m256 max_less_zp = _mm256_set1_ps(static_cast<float>(a.act_max - a.output_zero_point));
  const __m256i zp = _mm256_set1_epi16(static_cast<int16_t>(a.output_zero_point));
  const __m128i lo = _mm_set1_epi8(static_cast<char>(a.act_min)), hi = _mm_set1_epi8(static_cast<char>(a.act_max));
#pragma GCC unroll 4
  for (int p = 0; p < P; ++p) {
    const __m256i r0 =
        _mm256_cvtps_epi32(_mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[p][0]), scale0), max_less_zp));
    const __m256i r1 =
        _mm256_cvtps_epi32(_mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[p][1]), scale1), max_less_zp));
    const __m256i p16 = _mm256_adds_epi16(_mm256_packs_epi32(r0, r1), zp);
    const __m128i lo16 = _mm256_castsi256_si128(p16), hi16 = _mm256_extracti128_si256(p16, 1);
    const __m128i bytes = U8 ? _mm_min_epu8(_mm_max_epu8(_mm_packus_epi16(lo16, hi16), lo), hi)
                             : _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(lo16, hi16), lo), hi);
    uint8_t* dst = out + static_cast<int64_t>(p) * a.channels;
    // Only this pixel's channels: the next pixel may be another part's.
    if constexpr (Tail) {
      StorePartial(dst, bytes, n);
    } else {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
    }
  }
}

constexpr int kPixels = 4;  // output pixels per tile: 8 accumulators

// One segment of `count` output pixels of a row, channels [c0, c0 + n).
template <bool U8, bool Tail>
void Segment(const DwArgs& a, const uint8_t* const* rows, int ox0, int count, int c0, int n, uintptr_t end,
             uint8_t* buf, uint8_t* out) {
  const int columns = (count - 1) * a.stride_w + (a.k_w - 1) * a.dil_w + 1;
  BuildColumns<U8, Tail>(a, rows, ox0 * a.stride_w - a.pad_left, columns, n, end, buf);
  const int block = c0 / 16;
  const auto* weights = reinterpret_cast<const int16_t*>(a.weights) + static_cast<int64_t>(block) * a.k_w * a.groups * 32;
  const __m256i bias0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a.bias + block * 16));
  const __m256i bias1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a.bias + block * 16 + 8));
  const __m256 scale0 = _mm256_load_ps(a.scale + block * 16), scale1 = _mm256_load_ps(a.scale + block * 16 + 8);
  const int64_t p_step = static_cast<int64_t>(a.stride_w) * a.column_bytes;
  int p = 0;
  for (; p + kPixels <= count; p += kPixels)
    Tile<U8, Tail, kPixels>(a, buf + p * p_step, weights, bias0, bias1, scale0, scale1, n,
                            out + static_cast<int64_t>(p) * a.channels);
  const uint8_t* b = buf + p * p_step;
  uint8_t* o = out + static_cast<int64_t>(p) * a.channels;
  switch (count - p) {
    case 3: Tile<U8, Tail, 3>(a, b, weights, bias0, bias1, scale0, scale1, n, o); break;
    case 2: Tile<U8, Tail, 2>(a, b, weights, bias0, bias1, scale0, scale1, n, o); break;
    case 1: Tile<U8, Tail, 1>(a, b, weights, bias0, bias1, scale0, scale1, n, o); break;
    default: break;
  }
}

template <bool U8>
void RunColumns(const DwArgs& a, const uint8_t* input, uint8_t* output, int64_t row_begin, int64_t row_end) {
  alignas(32) uint8_t buf[kScratchBytes];
  const uint8_t* rows[kMaxKernelHeight];
  const int c = a.channels;
  const int64_t in_row = static_cast<int64_t>(a.in_w) * c;
  const uintptr_t end = reinterpret_cast<uintptr_t>(input) +
                        static_cast<uintptr_t>(a.batches) * a.in_h * a.in_w * static_cast<uintptr_t>(c);
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t b = row / a.out_h;
    const int oy = static_cast<int>(row % a.out_h);
    uint8_t* out_row = output + row * a.out_w * c;
    // Segment by segment, every channel block: the segment's input stays in L1.
    for (int ox0 = 0; ox0 < a.out_w; ox0 += a.segment) {
      const int count = a.out_w - ox0 < a.segment ? a.out_w - ox0 : a.segment;
      for (int c0 = 0; c0 < c; c0 += 16) {
        for (int ky = 0; ky < a.k_h; ++ky) {
          const int iy = oy * a.stride_h - a.pad_top + ky * a.dil_h;
          rows[ky] = iy >= 0 && iy < a.in_h ? input + (b * a.in_h + iy) * in_row + c0 : nullptr;
        }
        const int n = c - c0 < 16 ? c - c0 : 16;
        uint8_t* out = out_row + static_cast<int64_t>(ox0) * c + c0;
        if (n == 16) {
          Segment<U8, false>(a, rows, ox0, count, c0, n, end, buf, out);
        } else {
          Segment<U8, true>(a, rows, ox0, count, c0, n, end, buf, out);
        }
      }
    }
  }
}

// One pixel, channels [c0, c0 + 16) (n of them exist): taps[t] points at tap
// t's pixel (taps[taps] at the pad pixel, the odd tap count's partner).
template <bool U8, bool Tail>
inline void Block(const DwArgs& a, const uint8_t* const* taps, int pairs, int c0, int n, const int16_t* weights,
                  uintptr_t end, uint8_t* out) {
  const int block = c0 / 16;
  __m256i acc0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a.bias + block * 16));
  __m256i acc1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a.bias + block * 16 + 8));
  const int16_t* w = weights + static_cast<int64_t>(block) * pairs * 32;
  for (int p = 0; p < pairs; ++p) {
    const __m256i x0 = LoadTap16<U8, Tail>(taps[2 * p] + c0, n, a.pad_pixel + c0, end);
    const __m256i x1 = LoadTap16<U8, Tail>(taps[2 * p + 1] + c0, n, a.pad_pixel + c0, end);
    const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + p * 32));
    const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + p * 32 + 16));
    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), w0));
    acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), w1));
  }
  // XNNPACK's fp32 requantization (conv_q8_avx2.cc); packing the two
  // accumulators puts the channels back in natural order.
  const __m256 max_less_zp = _mm256_set1_ps(static_cast<float>(a.act_max - a.output_zero_point));
  const __m256i r0 = _mm256_cvtps_epi32(_mm256_min_ps(
      _mm256_mul_ps(_mm256_cvtepi32_ps(acc0), _mm256_load_ps(a.scale + block * 16)), max_less_zp));
  const __m256i r1 = _mm256_cvtps_epi32(_mm256_min_ps(
      _mm256_mul_ps(_mm256_cvtepi32_ps(acc1), _mm256_load_ps(a.scale + block * 16 + 8)), max_less_zp));
  const __m256i p16 =
      _mm256_adds_epi16(_mm256_packs_epi32(r0, r1), _mm256_set1_epi16(static_cast<int16_t>(a.output_zero_point)));
  const __m128i lo16 = _mm256_castsi256_si128(p16), hi16 = _mm256_extracti128_si256(p16, 1);
  const __m128i lo = _mm_set1_epi8(static_cast<char>(a.act_min)), hi = _mm_set1_epi8(static_cast<char>(a.act_max));
  const __m128i bytes = U8 ? _mm_min_epu8(_mm_max_epu8(_mm_packus_epi16(lo16, hi16), lo), hi)
                           : _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(lo16, hi16), lo), hi);
  // Only this pixel's channels: the next pixel may be another part's.
  if constexpr (Tail) {
    StorePartial(out + c0, bytes, n);
  } else {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c0), bytes);
  }
}

// Windows of the pixels that column rows do not pay for (DwArgs::columns).
template <bool U8>
void RunPerPixel(const DwArgs& a, const uint8_t* input, uint8_t* output, int64_t row_begin, int64_t row_end) {
  const uint8_t* taps[kMaxInt16Taps + 1];
  // Tap offsets from the window's first pixel: windows inside the image (most
  // of them) take their pointers from these without a bounds test per tap.
  int64_t offsets[kMaxInt16Taps];
  const int c = a.channels, n_taps = a.k_h * a.k_w, pairs = (n_taps + 1) / 2;
  for (int ky = 0; ky < a.k_h; ++ky)
    for (int kx = 0; kx < a.k_w; ++kx)
      offsets[ky * a.k_w + kx] = (static_cast<int64_t>(ky) * a.dil_h * a.in_w + kx * a.dil_w) * c;
  const int eff_h = (a.k_h - 1) * a.dil_h + 1, eff_w = (a.k_w - 1) * a.dil_w + 1;
  const auto* weights = reinterpret_cast<const int16_t*>(a.weights);
  taps[n_taps] = a.pad_pixel;
  const uintptr_t end = reinterpret_cast<uintptr_t>(input) +
                        static_cast<uintptr_t>(a.batches) * a.in_h * a.in_w * static_cast<uintptr_t>(c);
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t b = row / a.out_h;
    const int oy = static_cast<int>(row % a.out_h);
    const int iy0 = oy * a.stride_h - a.pad_top;
    const bool rows_inside = iy0 >= 0 && iy0 + eff_h <= a.in_h;
    uint8_t* out_row = output + row * a.out_w * c;
    for (int ox = 0; ox < a.out_w; ++ox) {
      const int ix0 = ox * a.stride_w - a.pad_left;
      if (rows_inside && ix0 >= 0 && ix0 + eff_w <= a.in_w) {
        const uint8_t* window = input + ((b * a.in_h + iy0) * a.in_w + ix0) * static_cast<int64_t>(c);
        for (int t = 0; t < n_taps; ++t) taps[t] = window + offsets[t];
      } else {
        for (int ky = 0; ky < a.k_h; ++ky) {
          const int iy = iy0 + ky * a.dil_h;
          const bool row_inside = iy >= 0 && iy < a.in_h;
          for (int kx = 0; kx < a.k_w; ++kx) {
            const int ix = ix0 + kx * a.dil_w;
            taps[ky * a.k_w + kx] = row_inside && ix >= 0 && ix < a.in_w
                                        ? input + ((b * a.in_h + iy) * a.in_w + ix) * static_cast<int64_t>(c)
                                        : a.pad_pixel;
          }
        }
      }
      uint8_t* out = out_row + static_cast<int64_t>(ox) * c;
      int c0 = 0;
      for (; c0 + 16 <= c; c0 += 16) Block<U8, false>(a, taps, pairs, c0, 16, weights, end, out);
      if (c0 < c) Block<U8, true>(a, taps, pairs, c0, c - c0, weights, end, out);
    }
  }
}

}  // namespace

void RunAvx2(const DwArgs& a, const uint8_t* input, uint8_t* output, int64_t unit_begin, int64_t unit_end) {
  if (a.columns) {
    if (a.u8) {
      RunColumns<true>(a, input, output, unit_begin, unit_end);
    } else {
      RunColumns<false>(a, input, output, unit_begin, unit_end);
    }
  } else if (a.u8) {
    RunPerPixel<true>(a, input, output, unit_begin, unit_end);
  } else {
    RunPerPixel<false>(a, input, output, unit_begin, unit_end);
  }
}

}  // namespace edgepipe::engine::kernels::dwq8
