// The AVX512-VNNI hot loops of dwconv_q8.h, the only part of it built with
// -mavx512f -mavx512bw -mavx512vnni (engine/CMakeLists.txt); called only after
// DepthwiseQ8Supported(). Free of shared inline code, as conv_int8_vnni_avx512.cc.
#include <immintrin.h>

#include <cstdint>

#include "engine/kernels/dwconv_q8_impl.h"

namespace edgepipe::engine::kernels::dwq8 {
namespace {

// acc += u8 bytes of a x s8 bytes of b. Inline asm for the reason given in
// conv_int8_vnni_avx512.cc: with the intrinsic GCC 12 copies accumulators
// around each vpdpbusd.
inline void Dot4(__m512i& acc, __m512i a, __m512i b) { asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b)); }

inline __mmask64 FirstBytes(int n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }

// The column groups of input columns [ix_begin, ix_begin + count) for one
// output row and channel block (dwconv_q8_impl.h has the layout). rows[ky] is
// kernel row ky's input row at the block's first channel, or null when the row
// is padding.
template <bool U8>
void BuildColumns(const DwArgs& a, const uint8_t* const* rows, int ix_begin, int count, __mmask64 load_mask,
                  uint8_t* buf) {
  // int8 activations enter flipped (x ^ 0x80); so does their pad value.
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(U8 ? 0 : 0x80));
  const __m512i pad = _mm512_set1_epi8(static_cast<char>(a.pad_value ^ (U8 ? 0 : 0x80)));
  const int64_t pixel_stride = a.channels;
  const int groups = a.groups, k_h = a.k_h;
  for (int col = 0; col < count; ++col) {
    const int ix = ix_begin + col;
    const bool inside = ix >= 0 && ix < a.in_w;
    uint8_t* dst = buf + static_cast<int64_t>(col) * a.column_bytes;
    __m512i sums[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                       _mm512_setzero_si512()};
    for (int g = 0; g < groups; ++g) {
      __m512i r[4];
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        const int ky = 4 * g + i;
        if (ky >= k_h) {
          r[i] = _mm512_setzero_si512();  // its weights are 0
        } else if (!inside || rows[ky] == nullptr) {
          r[i] = pad;
        } else {
          r[i] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(load_mask, rows[ky] + ix * pixel_stride), flip);
        }
      }
      const __m512i lo01 = _mm512_unpacklo_epi8(r[0], r[1]), hi01 = _mm512_unpackhi_epi8(r[0], r[1]);
      const __m512i lo23 = _mm512_unpacklo_epi8(r[2], r[3]), hi23 = _mm512_unpackhi_epi8(r[2], r[3]);
      const __m512i v[4] = {_mm512_unpacklo_epi16(lo01, lo23), _mm512_unpackhi_epi16(lo01, lo23),
                            _mm512_unpacklo_epi16(hi01, hi23), _mm512_unpackhi_epi16(hi01, hi23)};
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) _mm512_store_si512(dst + g * 256 + j * 64, v[j]);
      if (U8) {
        const __m512i m = _mm512_set1_epi32(static_cast<int32_t>(a.sum_weights[g]));
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) Dot4(sums[j], v[j], m);
      }
    }
    if (U8) {
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) _mm512_store_si512(dst + groups * 256 + j * 64, sums[j]);
    }
  }
}

// P output pixels of one block; pixel p's first column is buf column
// first + p * stride_w.
template <bool U8, int P>
void Pixels(const DwArgs& a, const uint8_t* buf, int first, const int8_t* weights, const __m512i* bias,
            const __m512* scale, __mmask64 store_mask, uint8_t* out) {
  __m512i acc[P][4];
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[p][j] = bias[j];
  const int64_t col_bytes = a.column_bytes, step = static_cast<int64_t>(a.stride_w) * col_bytes;
  const int groups = a.groups;
  for (int kx = 0; kx < a.k_w; ++kx) {
    const uint8_t* col0 = buf + (first + kx * a.dil_w) * col_bytes;
    for (int g = 0; g < groups; ++g) {
      const int8_t* w = weights + (kx * groups + g) * 256;
      __m512i wv[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) wv[j] = _mm512_load_si512(w + j * 64);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) Dot4(acc[p][j], _mm512_load_si512(col0 + p * step + g * 256 + j * 64), wv[j]);
    }
    if (U8) {
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j)
          acc[p][j] = _mm512_sub_epi32(acc[p][j], _mm512_load_si512(col0 + p * step + groups * 256 + j * 64));
    }
  }
  // XNNPACK's fp32 requantization (see conv_int8_vnni_avx512.cc): float(acc) *
  // scale, min with act_max - zero point, round to nearest even, then + zero
  // point with int16 saturation and the clamp in 8 bits.
  const __m512 max_less_zp = _mm512_set1_ps(static_cast<float>(a.act_max - a.output_zero_point));
  const __m512i zp = _mm512_set1_epi16(static_cast<int16_t>(a.output_zero_point));
  const __m512i lo = _mm512_set1_epi8(static_cast<char>(a.act_min));
  const __m512i hi = _mm512_set1_epi8(static_cast<char>(a.act_max));
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
    __m512i r[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j)
      r[j] = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[p][j]), scale[j]), max_less_zp));
    const __m512i p01 = _mm512_adds_epi16(_mm512_packs_epi32(r[0], r[1]), zp);
    const __m512i p23 = _mm512_adds_epi16(_mm512_packs_epi32(r[2], r[3]), zp);
    __m512i v;
    if constexpr (U8) {
      v = _mm512_min_epu8(_mm512_max_epu8(_mm512_packus_epi16(p01, p23), lo), hi);
    } else {
      v = _mm512_min_epi8(_mm512_max_epi8(_mm512_packs_epi16(p01, p23), lo), hi);
    }
    _mm512_mask_storeu_epi8(out + static_cast<int64_t>(p) * a.channels, store_mask, v);
  }
}

constexpr int kPixels = 4;  // output pixels per micro-tile: 16 accumulators

template <bool U8>
void Run(const DwArgs& a, const uint8_t* input, uint8_t* output, int64_t unit_begin, int64_t unit_end) {
  alignas(64) uint8_t buf[kScratchBytes];
  const uint8_t* rows[kMaxKernelHeight];
  const int64_t in_row = static_cast<int64_t>(a.in_w) * a.channels;
  const int64_t block_weight_bytes = static_cast<int64_t>(a.k_w) * a.groups * 256;
  for (int64_t u = unit_begin; u < unit_end; ++u) {
    const int64_t row = u / a.n_blocks;
    const int cb = static_cast<int>(u % a.n_blocks);
    const int64_t b = row / a.out_h;
    const int oy = static_cast<int>(row % a.out_h);
    const int c0 = cb * kBlock;
    const int width = a.channels - c0 < kBlock ? a.channels - c0 : kBlock;
    const __mmask64 mask = FirstBytes(width);
    for (int ky = 0; ky < a.k_h; ++ky) {
      const int iy = oy * a.stride_h - a.pad_top + ky * a.dil_h;
      rows[ky] = iy >= 0 && iy < a.in_h ? input + (b * a.in_h + iy) * in_row + c0 : nullptr;
    }
    __m512i bias[4];
    __m512 scale[4];
    for (int j = 0; j < 4; ++j) {
      bias[j] = _mm512_load_si512(a.bias + cb * kBlock + j * 16);
      scale[j] = _mm512_load_ps(a.scale + cb * kBlock + j * 16);
    }
    const int8_t* weights = a.weights + cb * block_weight_bytes;
    uint8_t* out_row = output + row * a.out_w * a.channels + c0;
    for (int ox0 = 0; ox0 < a.out_w; ox0 += a.segment) {
      const int count = a.out_w - ox0 < a.segment ? a.out_w - ox0 : a.segment;
      const int columns = (count - 1) * a.stride_w + (a.k_w - 1) * a.dil_w + 1;
      BuildColumns<U8>(a, rows, ox0 * a.stride_w - a.pad_left, columns, mask, buf);
      uint8_t* out = out_row + static_cast<int64_t>(ox0) * a.channels;
      int p = 0;
      for (; p + kPixels <= count; p += kPixels)
        Pixels<U8, kPixels>(a, buf, p * a.stride_w, weights, bias, scale, mask, out + p * a.channels);
      switch (count - p) {
        case 3: Pixels<U8, 3>(a, buf, p * a.stride_w, weights, bias, scale, mask, out + p * a.channels); break;
        case 2: Pixels<U8, 2>(a, buf, p * a.stride_w, weights, bias, scale, mask, out + p * a.channels); break;
        case 1: Pixels<U8, 1>(a, buf, p * a.stride_w, weights, bias, scale, mask, out + p * a.channels); break;
        default: break;
      }
    }
  }
}

}  // namespace

void RunUnits(const DwArgs& a, const uint8_t* input, uint8_t* output, int64_t unit_begin, int64_t unit_end) {
  if (a.u8) {
    Run<true>(a, input, output, unit_begin, unit_end);
  } else {
    Run<false>(a, input, output, unit_begin, unit_end);
  }
}

}  // namespace edgepipe::engine::kernels::dwq8
