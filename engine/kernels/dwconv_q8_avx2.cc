// The AVX2 variant of dwconv_q8.h (no VNNI; what AMD Zen 3 runs). Per output
// pixel and 16 channels, pairs of taps: each tap's bytes widened to int16,
// the two interleaved (vpunpck{l,h}wd) and multiplied with int16 w - filter
// zero point packed the same way (vpmaddwd: exact for operands in [-255,
// 255]); the input zero point's term, -zp * sum(w - filter zero point), is in
// the bias, and padded taps read a pixel of the input zero point, so they add
// nothing.
// The only file built with -mavx2 -mfma; free of shared inline code
// (conv_q8_impl.h).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/dwconv_q8_impl.h"

namespace edgepipe::engine::kernels::dwq8 {
namespace {

// 16 channels of a tap as int16 (the input zero point's term is in the bias).
// The last block of a row reads past the pixel's channels into the next
// pixel (their weights are 0), except where that would leave the tensor:
// `end` is the input's end, and the pad pixel has 16 bytes of slack.
template <bool U8, bool Tail>
inline __m256i Load16(const uint8_t* p, int n, const uint8_t* pad, uintptr_t end) {
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
    const __m256i x0 = Load16<U8, Tail>(taps[2 * p] + c0, n, a.pad_pixel + c0, end);
    const __m256i x1 = Load16<U8, Tail>(taps[2 * p + 1] + c0, n, a.pad_pixel + c0, end);
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

template <bool U8>
void Run(const DwArgs& a, const uint8_t* input, uint8_t* output, int64_t row_begin, int64_t row_end) {
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
  if (a.u8) {
    Run<true>(a, input, output, unit_begin, unit_end);
  } else {
    Run<false>(a, input, output, unit_begin, unit_end);
  }
}

}  // namespace edgepipe::engine::kernels::dwq8
