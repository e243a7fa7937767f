// The AVX512-VNNI variant of conv_q8.h. This is the only file built with
// -mavx512f -mavx512bw -mavx512vnni (engine/CMakeLists.txt); conv_q8.cc calls
// it only on CPUs that have them. Keep it free of shared inline code (std
// containers, fmt, kernel_util.h): see conv_q8_impl.h.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/conv_q8_impl.h"

namespace edgepipe::engine::kernels::q8conv {
namespace {

using avx512::kBlocksPerTile;
using avx512::kChunkPixels;
using avx512::kRows;

// acc += u8 bytes of a x s8 bytes of b (vpdpbusd). Inline asm rather than
// _mm512_dpbusd_epi32: with the intrinsic, GCC 12 copies every accumulator to
// another register (and some to the stack) around each vpdpbusd of the micro-
// kernel's inner loop; "+v" keeps each accumulator in one register.
inline void Dot4(__m512i& acc, __m512i a, __m512i b) { asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b)); }

inline __mmask64 FirstBytes(int n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }

// Sums of uint8 bytes (vpsadbw against 0), for the uint8 per-pixel term.
struct ByteSummer {
  __m512i sum = _mm512_setzero_si512();
  void Add(__m512i v) { sum = _mm512_add_epi64(sum, _mm512_sad_epu8(v, _mm512_setzero_si512())); }
  int32_t Total(int64_t extra) const { return static_cast<int32_t>(_mm512_reduce_add_epi64(sum) + extra); }
};

// Copies n bytes with 64-byte vector moves (im2col copies many short runs, 3
// or 9 bytes for a 3-channel input, where a memcpy call costs more than the
// copy) and adds them to `sum` from the registers: reading the row back right
// after its masked stores would wait for them (no store forwarding). The sum
// is dead code for int8, which needs none.
inline void CopyAndSum(uint8_t* dst, const uint8_t* src, int n, ByteSummer& sum) {
  int i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i v = _mm512_loadu_si512(src + i);
    _mm512_storeu_si512(dst + i, v);
    sum.Add(v);
  }
  if (i < n) {
    const __mmask64 m = FirstBytes(n - i);
    const __m512i v = _mm512_maskz_loadu_epi8(m, src + i);
    _mm512_mask_storeu_epi8(dst + i, m, v);
    sum.Add(v);
  }
}

inline int32_t ByteSum(const uint8_t* p, int n) {
  ByteSummer sum;
  int i = 0;
  for (; i + 64 <= n; i += 64) sum.Add(_mm512_loadu_si512(p + i));
  if (i < n) sum.Add(_mm512_maskz_loadu_epi8(FirstBytes(n - i), p + i));
  return sum.Total(0);
}

// Im2Col for rows of at most 64 bytes (a 3x3 conv of a 3- to 7-channel image):
// each row is assembled in one register, every in-bounds run of taps masked-
// loaded straight into its byte positions, then stored whole. Copying the
// short runs one by one cost 45 cycles a row (masked stores, then reading the
// row back for its sum).
template <bool U8>
void Im2ColShort(const ConvArgs& a, const uint8_t* input, int64_t begin, int count, uint8_t* rows, int32_t* sums) {
  const int64_t plane = static_cast<int64_t>(a.out_h) * a.out_w;
  int64_t b = begin / plane;
  int oy = static_cast<int>((begin % plane) / a.out_w), ox = static_cast<int>(begin % a.out_w);
  // Taps start as the pad value, K padding as 0.
  const __m512i base = _mm512_maskz_set1_epi8(FirstBytes(a.k), static_cast<char>(a.pad_value));
  const int run = a.k_w * a.in_c;
  const __mmask64 run_mask = FirstBytes(run), tap_mask = FirstBytes(a.in_c);
  const int64_t row_stride = static_cast<int64_t>(a.in_w) * a.in_c;
  for (int r = 0; r < count; ++r) {
    __m512i v = base;
    const int ix0 = ox * a.stride_w - a.pad_left;
    const bool cols_inside = a.dil_w == 1 && ix0 >= 0 && ix0 + a.k_w <= a.in_w;
    for (int ky = 0; ky < a.k_h; ++ky) {
      const int iy = oy * a.stride_h - a.pad_top + ky * a.dil_h;
      if (iy < 0 || iy >= a.in_h) continue;
      // Lanes below `off` are masked off, so the load never touches the bytes
      // before src; the address is formed as an integer for that reason.
      const uintptr_t src = reinterpret_cast<uintptr_t>(input + (b * a.in_h + iy) * row_stride);
      const int off = ky * run;
      if (cols_inside) {
        v = _mm512_mask_loadu_epi8(v, run_mask << off,
                                   reinterpret_cast<const void*>(src + static_cast<int64_t>(ix0) * a.in_c - off));
        continue;
      }
      for (int kx = 0; kx < a.k_w; ++kx) {
        const int ix = ix0 + kx * a.dil_w;
        if (ix < 0 || ix >= a.in_w) continue;
        const int tap_off = off + kx * a.in_c;
        v = _mm512_mask_loadu_epi8(v, tap_mask << tap_off,
                                   reinterpret_cast<const void*>(src + static_cast<int64_t>(ix) * a.in_c - tap_off));
      }
    }
    // Whole 64-byte stores: the next row overwrites the tail (scratch has 64
    // bytes of slack at the end).
    _mm512_storeu_si512(rows + static_cast<int64_t>(r) * a.k_padded, v);
    if (U8) {
      ByteSummer sum;
      sum.Add(v);  // lanes past k hold 0 and add nothing
      sums[r] = sum.Total(0);
    }
    if (++ox == a.out_w) {
      ox = 0;
      if (++oy == a.out_h) oy = 0, ++b;
    }
  }
}

// im2col of pixels [begin, begin + count) into rows of k_padded bytes, and the
// rows' byte sums. Padded taps hold the input zero point; K padding holds 0.
template <bool U8>
void Im2Col(const ConvArgs& a, const uint8_t* input, int64_t begin, int count, uint8_t* rows, int32_t* sums) {
  const int64_t plane = static_cast<int64_t>(a.out_h) * a.out_w;
  int64_t b = begin / plane;
  int oy = static_cast<int>((begin % plane) / a.out_w), ox = static_cast<int>(begin % a.out_w);
  const int row_bytes = a.k_w * a.in_c;
  for (int r = 0; r < count; ++r) {
    uint8_t* dst = rows + static_cast<int64_t>(r) * a.k_padded;
    ByteSummer sum;
    int64_t padded = 0;  // padded taps' bytes, each the pad value (uint8 sums only)
    const int ix0 = ox * a.stride_w - a.pad_left;
    const bool cols_inside = a.dil_w == 1 && ix0 >= 0 && ix0 + a.k_w <= a.in_w;
    for (int ky = 0; ky < a.k_h; ++ky) {
      const int iy = oy * a.stride_h - a.pad_top + ky * a.dil_h;
      if (iy < 0 || iy >= a.in_h) {
        std::memset(dst, a.pad_value, row_bytes);
        dst += row_bytes;
        padded += row_bytes;
        continue;
      }
      const uint8_t* src_row = input + (b * a.in_h + iy) * a.in_w * a.in_c;
      if (cols_inside) {  // the whole kernel row is inside: one contiguous copy
        CopyAndSum(dst, src_row + static_cast<int64_t>(ix0) * a.in_c, row_bytes, sum);
        dst += row_bytes;
        continue;
      }
      for (int kx = 0; kx < a.k_w; ++kx, dst += a.in_c) {
        const int ix = ix0 + kx * a.dil_w;
        if (ix < 0 || ix >= a.in_w) {
          std::memset(dst, a.pad_value, a.in_c);
          padded += a.in_c;
        } else {
          CopyAndSum(dst, src_row + static_cast<int64_t>(ix) * a.in_c, a.in_c, sum);
        }
      }
    }
    for (int k = a.k; k < a.k_padded; ++k) *dst++ = 0;
    if (U8) sums[r] = sum.Total(padded * a.pad_value);
    if (++ox == a.out_w) {
      ox = 0;
      if (++oy == a.out_h) oy = 0, ++b;
    }
  }
}

// XNNPACK's (and so LiteRT's) fp32 requantization, the same for its qs8, qc8
// and qu8 convolutions: float(acc) * scale, min with (act_max - zero point),
// round to nearest even. The zero point and clamps follow after packing.
inline __m512i Requantize(__m512i acc, __m512 scale, __m512 max_less_zp) {
  return _mm512_cvtps_epi32(_mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale), max_less_zp));
}

// ROWS pixels x BLOCKS 16-channel blocks starting at channel block nb. Row i's
// K bytes start at rows + i * stride; sums[i] is their byte sum (uint8 only).
template <bool U8, int ROWS, int BLOCKS>
void MicroKernel(const ConvArgs& a, const uint8_t* rows, int64_t stride, const int32_t* sums, int nb, uint8_t* out) {
  __m512i acc[ROWS][BLOCKS];
  __m512i bias[BLOCKS];
#pragma GCC unroll 8
  for (int j = 0; j < BLOCKS; ++j) bias[j] = _mm512_load_si512(a.bias + (nb + j) * 16);
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
    // Unsigned multiply: the product is only ever needed modulo 2^32.
    const __m512i corr =
        U8 ? _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(sums[i]) *
                                                    static_cast<uint32_t>(a.row_sum_mult)))
           : _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int j = 0; j < BLOCKS; ++j) acc[i][j] = _mm512_add_epi32(bias[j], corr);
  }
  // int8 activations become the unsigned operand as x ^ 0x80 = x + 128.
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const int k4 = a.k_padded / 4;
  const int64_t block_bytes = static_cast<int64_t>(k4) * 64;
  const int8_t* w = a.packed_weights + nb * block_bytes;
  for (int k = 0; k < k4; ++k) {
    __m512i wv[BLOCKS];
#pragma GCC unroll 8
    for (int j = 0; j < BLOCKS; ++j) wv[j] = _mm512_load_si512(w + j * block_bytes + k * 64);
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) {
      int32_t quad;
      std::memcpy(&quad, rows + i * stride + k * 4, 4);
      const __m512i av = U8 ? _mm512_set1_epi32(quad) : _mm512_xor_si512(_mm512_set1_epi32(quad), flip);
#pragma GCC unroll 8
      for (int j = 0; j < BLOCKS; ++j) Dot4(acc[i][j], av, wv[j]);
    }
  }
  // + zero point and clamp after packing 4 blocks to 64 bytes, as XNNPACK does:
  // packs saturate (int32 -> int16 -> 8 bit), so adding the zero point with
  // int16 saturation and clamping in 8 bits equals clamp(x + zp, act_min, act_max).
  const __m512i zp = _mm512_set1_epi16(static_cast<int16_t>(a.output_zero_point));
  const __m512i lo = _mm512_set1_epi8(static_cast<char>(a.act_min));
  const __m512i hi = _mm512_set1_epi8(static_cast<char>(a.act_max));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512 max_less_zp = _mm512_set1_ps(static_cast<float>(a.act_max - a.output_zero_point));
  __m512 scale[BLOCKS];
#pragma GCC unroll 8
  for (int j = 0; j < BLOCKS; ++j) scale[j] = _mm512_load_ps(a.scale + (nb + j) * 16);
  const int c0 = nb * 16;
  // Only this tile's channels: with fewer than 4 blocks the packed vector's
  // tail is the next tile's, which another thread may be writing.
  const __mmask64 store = FirstBytes(a.out_c - c0 < BLOCKS * 16 ? a.out_c - c0 : BLOCKS * 16);
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
    __m512i r[4];
#pragma GCC unroll 8
    for (int j = 0; j < 4; ++j) {
      const int jj = j < BLOCKS ? j : 0;  // in range even where unused
      r[j] = j < BLOCKS ? Requantize(acc[i][jj], scale[jj], max_less_zp) : _mm512_setzero_si512();
    }
    const __m512i p01 = _mm512_adds_epi16(_mm512_packs_epi32(r[0], r[1]), zp);
    const __m512i p23 = _mm512_adds_epi16(_mm512_packs_epi32(r[2], r[3]), zp);
    __m512i v;
    if constexpr (U8) {
      v = _mm512_permutexvar_epi32(order, _mm512_packus_epi16(p01, p23));
      v = _mm512_min_epu8(_mm512_max_epu8(v, lo), hi);
    } else {
      v = _mm512_permutexvar_epi32(order, _mm512_packs_epi16(p01, p23));
      v = _mm512_min_epi8(_mm512_max_epi8(v, lo), hi);
    }
    _mm512_mask_storeu_epi8(out + static_cast<int64_t>(i) * a.out_c + c0, store, v);
  }
}

using MicroKernelFn = void (*)(const ConvArgs&, const uint8_t*, int64_t, const int32_t*, int, uint8_t*);
template <bool U8, int ROWS>
constexpr MicroKernelFn kByBlocks[5] = {nullptr, MicroKernel<U8, ROWS, 1>, MicroKernel<U8, ROWS, 2>,
                                        MicroKernel<U8, ROWS, 3>, MicroKernel<U8, ROWS, 4>};
template <bool U8>
constexpr const MicroKernelFn* kKernels[8 + 1] = {nullptr,          kByBlocks<U8, 1>, kByBlocks<U8, 2>,
                                                  kByBlocks<U8, 3>, kByBlocks<U8, 4>, kByBlocks<U8, 5>,
                                                  kByBlocks<U8, 6>, kByBlocks<U8, 7>, kByBlocks<U8, 8>};

template <bool U8>
void Run(const ConvArgs& a, const uint8_t* input, uint8_t* output, int64_t pixel_begin, int64_t pixel_end,
         int block_begin, int block_end, uint8_t* scratch, int32_t* sums) {
  static_assert(kRows <= 8 && kBlocksPerTile <= 4 && kChunkPixels % kRows == 0);
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
      if (a.k_padded <= 64) {
        Im2ColShort<U8>(a, input, chunk, count, scratch, sums);
      } else {
        Im2Col<U8>(a, input, chunk, count, scratch, sums);
      }
      rows = scratch;
      stride = a.k_padded;
    }
    // Channel tiles outside, pixel tiles inside: a tile's packed weights stay
    // in L1/L2 while every pixel of the chunk uses them.
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

void RunAvx512(const ConvArgs& a, const uint8_t* input, uint8_t* output, int64_t pixel_begin, int64_t pixel_end,
               int block_begin, int block_end, uint8_t* scratch, int32_t* sums) {
  if (a.u8) {
    Run<true>(a, input, output, pixel_begin, pixel_end, block_begin, block_end, scratch, sums);
  } else {
    Run<false>(a, input, output, pixel_begin, pixel_end, block_begin, block_end, scratch, sums);
  }
}

}  // namespace edgepipe::engine::kernels::q8conv
