// The AVX512-VNNI variant of dwconv_q8.h, the only part of it built with
// -mavx512f -mavx512bw -mavx512vnni (engine/CMakeLists.txt); dwconv_q8.cc
// calls it only on CPUs that have them. Free of shared inline code, as
// conv_q8_avx512.cc.
#include <immintrin.h>

#include <cstdint>

#include "engine/kernels/dwconv_q8_impl.h"

namespace edgepipe::engine::kernels::dwq8 {
namespace {

// acc += u8 bytes of a x s8 bytes of b. Inline asm for the reason given in
// conv_q8_avx512.cc: with the intrinsic GCC 12 copies accumulators
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

// Where a micro-tile's operands are: the 4-row group vector (g, j) of tile
// element p and tap kx is at base + p * p_step + kx * kx_step + g * g_step +
// j * j_step; its uint8 sums at the same place + sum_off (g = 0). Element p's
// 64 output bytes go to out + p * out_step.
struct Geometry {
  int64_t p_step, kx_step, g_step, j_step, sum_off, out_step;
};

// P vectors of 64 outputs (a block's channels of P pixels, or P 64-byte
// chunks of a row) against one set of packed weights. The last element stores
// only last_mask's bytes, the others store_mask's.
template <bool U8, int P>
void Tile(const DwArgs& a, const Geometry& geo, const uint8_t* base, const int8_t* weights, const __m512i* bias,
          const __m512* scale, __mmask64 store_mask, __mmask64 last_mask, uint8_t* out) {
  __m512i acc[P][4];
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[p][j] = bias[j];
  const int groups = a.groups;
  for (int kx = 0; kx < a.k_w; ++kx) {
    const uint8_t* col0 = base + kx * geo.kx_step;
    for (int g = 0; g < groups; ++g) {
      const int8_t* w = weights + (kx * groups + g) * 256;
      __m512i wv[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) wv[j] = _mm512_load_si512(w + j * 64);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j)
          Dot4(acc[p][j], _mm512_loadu_si512(col0 + p * geo.p_step + g * geo.g_step + j * geo.j_step), wv[j]);
    }
    if (U8) {
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j)
          acc[p][j] =
              _mm512_sub_epi32(acc[p][j], _mm512_loadu_si512(col0 + p * geo.p_step + geo.sum_off + j * geo.j_step));
    }
  }
  // XNNPACK's fp32 requantization (see conv_q8_avx512.cc): float(acc) *
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
    _mm512_mask_storeu_epi8(out + p * geo.out_step, p == P - 1 ? last_mask : store_mask, v);
  }
}

// count elements in tiles of P, the last tile 1 to P long.
template <bool U8, int P>
void Tiles(const DwArgs& a, const Geometry& geo, int count, const uint8_t* base, const int8_t* weights,
           const __m512i* bias, const __m512* scale, __mmask64 store_mask, __mmask64 last_mask, uint8_t* out) {
  int p = 0;
  for (; p + P < count; p += P)
    Tile<U8, P>(a, geo, base + p * geo.p_step, weights, bias, scale, store_mask, store_mask, out + p * geo.out_step);
  const uint8_t* b = base + p * geo.p_step;
  uint8_t* o = out + p * geo.out_step;
  switch (count - p) {
    case 4: Tile<U8, 4>(a, geo, b, weights, bias, scale, store_mask, last_mask, o); break;
    case 3: Tile<U8, 3>(a, geo, b, weights, bias, scale, store_mask, last_mask, o); break;
    case 2: Tile<U8, 2>(a, geo, b, weights, bias, scale, store_mask, last_mask, o); break;
    case 1: Tile<U8, 1>(a, geo, b, weights, bias, scale, store_mask, last_mask, o); break;
    default: break;
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
      const Geometry geo{static_cast<int64_t>(a.stride_w) * a.column_bytes,
                         static_cast<int64_t>(a.dil_w) * a.column_bytes,
                         256,
                         64,
                         static_cast<int64_t>(a.groups) * 256,
                         a.channels};
      Tiles<U8, kPixels>(a, geo, count, buf, weights, bias, scale, mask, mask,
                         out_row + static_cast<int64_t>(ox0) * a.channels);
    }
  }
}

// Flat rows (dwconv_q8_impl.h): the interleaved 64-byte chunks of the input
// rows' bytes [flat_begin, flat_begin + 64 * chunks) (flat_begin relative to
// the row start, negative in the left padding), vector j of group g of chunk c
// at buf + (g * 4 + j) * plane_bytes + 64 * c; the uint8 sums in planes
// groups * 4 + j. rows[ky] is kernel row ky's input row, null when padding.
template <bool U8>
void BuildChunks(const DwArgs& a, const uint8_t* const* rows, int64_t flat_begin, int chunks, int64_t plane_bytes,
                 uint8_t* buf) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(U8 ? 0 : 0x80));
  const __m512i pad_raw = _mm512_set1_epi8(static_cast<char>(a.pad_value));
  const __m512i pad = _mm512_xor_si512(pad_raw, flip);
  const int64_t row_bytes = static_cast<int64_t>(a.in_w) * a.channels;
  const int groups = a.groups, k_h = a.k_h;
  for (int c = 0; c < chunks; ++c) {
    const int64_t f = flat_begin + 64 * c;
    // The chunk's bytes inside the row; the rest is padding.
    const bool whole = f >= 0 && f + 64 <= row_bytes;
    __mmask64 valid = 0;
    if (!whole) {
      const int64_t lo = f < 0 ? -f : 0, hi = row_bytes - f < 64 ? row_bytes - f : 64;
      if (hi > lo) valid = FirstBytes(static_cast<int>(hi)) & ~FirstBytes(static_cast<int>(lo));
    }
    __m512i sums[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                       _mm512_setzero_si512()};
    for (int g = 0; g < groups; ++g) {
      __m512i r[4];
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        const int ky = 4 * g + i;
        if (ky >= k_h) {
          r[i] = _mm512_setzero_si512();  // its weights are 0
        } else if (rows[ky] == nullptr || (!whole && valid == 0)) {
          r[i] = pad;
        } else if (whole) {
          r[i] = _mm512_xor_si512(_mm512_loadu_si512(rows[ky] + f), flip);
        } else {
          // Masked-off lanes are never touched; the address may lie outside
          // the row, so it is formed as an integer.
          const uintptr_t src = reinterpret_cast<uintptr_t>(rows[ky]) + static_cast<uintptr_t>(f);
          r[i] = _mm512_xor_si512(_mm512_mask_loadu_epi8(pad_raw, valid, reinterpret_cast<const void*>(src)), flip);
        }
      }
      const __m512i lo01 = _mm512_unpacklo_epi8(r[0], r[1]), hi01 = _mm512_unpackhi_epi8(r[0], r[1]);
      const __m512i lo23 = _mm512_unpacklo_epi8(r[2], r[3]), hi23 = _mm512_unpackhi_epi8(r[2], r[3]);
      const __m512i v[4] = {_mm512_unpacklo_epi16(lo01, lo23), _mm512_unpackhi_epi16(lo01, lo23),
                            _mm512_unpacklo_epi16(hi01, hi23), _mm512_unpackhi_epi16(hi01, hi23)};
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) _mm512_store_si512(buf + (g * 4 + j) * plane_bytes + 64 * c, v[j]);
      if (U8) {
        const __m512i m = _mm512_set1_epi32(static_cast<int32_t>(a.sum_weights[g]));
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) Dot4(sums[j], v[j], m);
      }
    }
    if (U8) {
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) _mm512_store_si512(buf + (groups * 4 + j) * plane_bytes + 64 * c, sums[j]);
    }
  }
}

template <bool U8>
void RunFlat(const DwArgs& a, const uint8_t* input, uint8_t* output, int64_t row_begin, int64_t row_end) {
  alignas(64) uint8_t buf[kScratchBytes];
  const uint8_t* rows[kMaxKernelHeight];
  const int64_t c = a.channels, in_row = a.in_w * c;
  const int phases = a.phases;
  const int64_t plane_bytes = static_cast<int64_t>(kScratchBytes / a.column_bytes) * 64;
  const int64_t weight_bytes = static_cast<int64_t>(a.k_w) * a.groups * 256;
  // Chunks k, k + phases, ... share a weight set: a tile takes P of them.
  const Geometry geo{64 * phases, a.dil_w * c, 4 * plane_bytes, plane_bytes, a.groups * 4 * plane_bytes,
                     64 * phases};
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t b = row / a.out_h;
    const int oy = static_cast<int>(row % a.out_h);
    for (int ky = 0; ky < a.k_h; ++ky) {
      const int iy = oy * a.stride_h - a.pad_top + ky * a.dil_h;
      rows[ky] = iy >= 0 && iy < a.in_h ? input + (b * a.in_h + iy) * in_row : nullptr;
    }
    uint8_t* out_row = output + row * a.out_w * c;
    for (int ox0 = 0; ox0 < a.out_w; ox0 += a.segment) {
      const int count = a.out_w - ox0 < a.segment ? a.out_w - ox0 : a.segment;
      const int64_t out_bytes = count * c;
      const int out_chunks = static_cast<int>((out_bytes + 63) / 64);
      const int in_chunks = static_cast<int>(((count + (a.k_w - 1) * a.dil_w) * c + 63) / 64) + 1;
      BuildChunks<U8>(a, rows, (ox0 - a.pad_left) * c, in_chunks, plane_bytes, buf);
      const int first_phase = static_cast<int>((ox0 * c / 64) % phases);
      for (int k0 = 0; k0 < out_chunks && k0 < phases; ++k0) {
        const int n = (out_chunks - k0 + phases - 1) / phases;
        const int phase = (first_phase + k0) % phases;
        __m512i bias[4];
        __m512 scale[4];
        for (int j = 0; j < 4; ++j) {
          bias[j] = _mm512_load_si512(a.bias + phase * kBlock + j * 16);
          scale[j] = _mm512_load_ps(a.scale + phase * kBlock + j * 16);
        }
        const int64_t last = k0 + static_cast<int64_t>(n - 1) * phases;
        const int last_bytes = static_cast<int>(out_bytes - 64 * last);
        Tiles<U8, kPixels>(a, geo, n, buf + 64 * k0, a.weights + phase * weight_bytes, bias, scale,
                           ~__mmask64{0}, FirstBytes(last_bytes), out_row + ox0 * c + 64 * k0);
      }
    }
  }
}

}  // namespace

void RunAvx512(const DwArgs& a, const uint8_t* input, uint8_t* output, int64_t unit_begin, int64_t unit_end) {
  if (a.flat) {
    if (a.u8) {
      RunFlat<true>(a, input, output, unit_begin, unit_end);
    } else {
      RunFlat<false>(a, input, output, unit_begin, unit_end);
    }
  } else if (a.u8) {
    Run<true>(a, input, output, unit_begin, unit_end);
  } else {
    Run<false>(a, input, output, unit_begin, unit_end);
  }
}

}  // namespace edgepipe::engine::kernels::dwq8
