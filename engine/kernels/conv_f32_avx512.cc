// The AVX-512 hot loops of conv_f32.h. This is the only file built with
// -mavx512f -mfma (engine/CMakeLists.txt); it is called only after
// ConvF32Supported(). Keep it free of shared inline code (std containers,
// std::min, fmt, kernel_util.h): see conv_f32_impl.h.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/conv_f32_impl.h"

namespace edgepipe::engine::kernels::f32conv {
namespace {

inline int Min(int a, int b) { return a < b ? a : b; }
inline __mmask16 LaneMask(int lanes) { return lanes >= 16 ? __mmask16(0xffff) : __mmask16((1u << lanes) - 1); }

// ------------------------------------------------------------------ depthwise

// T output pixels of row oy starting at ox0, channels [16 cb, 16 cb + 16).
// The T accumulators stay in registers; each input pixel of a kernel row is
// loaded once and feeds every tap that reads it (T+K-1 loads per T*K FMAs at
// stride 1, where a per-tap loop would load T*K). EDGE: some columns of the
// tile's input window are padding.
template <int K, int S, int T, bool EDGE>
inline void DepthwiseTile(const DepthwiseArgs& a, const float* in_img, float* out, int oy, int ox0, int cb,
                          __mmask16 m) {
  const Geometry& g = a.g;
  const int64_t c = g.in_c;
  const float* w = a.weights + static_cast<int64_t>(cb) * K * K * 16;
  const __m512 bias = _mm512_load_ps(a.bias + cb * 16);
  __m512 acc[T];
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) acc[t] = bias;
  const int ix0 = ox0 * S - g.pad_left;
  for (int ky = 0; ky < K; ++ky) {
    const int iy = oy * S - g.pad_top + ky;
    if (iy < 0 || iy >= g.in_h) continue;
    const float* row = in_img + static_cast<int64_t>(iy) * g.in_w * c + cb * 16;
    __m512 wk[K];
#pragma GCC unroll 8
    for (int kx = 0; kx < K; ++kx) wk[kx] = _mm512_load_ps(w + (ky * K + kx) * 16);
#pragma GCC unroll 64
    for (int j = 0; j < (T - 1) * S + K; ++j) {
      const int ix = ix0 + j;
      if (EDGE && (ix < 0 || ix >= g.in_w)) continue;
      const __m512 v = _mm512_maskz_loadu_ps(m, row + ix * c);
#pragma GCC unroll 8
      for (int kx = 0; kx < K; ++kx) {
        const int d = j - kx;
        if (d >= 0 && d % S == 0 && d / S < T) acc[d / S] = _mm512_fmadd_ps(v, wk[kx], acc[d / S]);
      }
    }
  }
  const __m512 lo = _mm512_set1_ps(a.act_min), hi = _mm512_set1_ps(a.act_max);
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
    _mm512_mask_storeu_ps(out + (static_cast<int64_t>(ox0) + t) * c + cb * 16, m,
                          _mm512_min_ps(_mm512_max_ps(acc[t], lo), hi));
}

template <int K, int S, int T>
inline void DepthwiseRowTiles(const DepthwiseArgs& a, const float* in_img, float* out_row, int oy) {
  const Geometry& g = a.g;
  // The last tile overlaps the previous one when T does not divide the width:
  // recomputing a few pixels beats a separate narrow kernel.
  for (int ox0 = 0; ox0 < g.out_w; ox0 += T) {
    if (ox0 + T > g.out_w) ox0 = g.out_w - T;
    const int ix0 = ox0 * S - g.pad_left;
    const bool edge = ix0 < 0 || ix0 + (T - 1) * S + K > g.in_w;
    for (int cb = 0; cb < a.c_blocks; ++cb) {
      const __mmask16 m = LaneMask(g.in_c - cb * 16);
      if (edge)
        DepthwiseTile<K, S, T, true>(a, in_img, out_row, oy, ox0, cb, m);
      else
        DepthwiseTile<K, S, T, false>(a, in_img, out_row, oy, ox0, cb, m);
    }
  }
}

template <int K, int S>
void DepthwiseRowsFixed(const DepthwiseArgs& a, const float* input, float* output, int64_t row_begin,
                        int64_t row_end) {
  const Geometry& g = a.g;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t b = r / g.out_h;
    const int oy = static_cast<int>(r % g.out_h);
    const float* in_img = input + b * g.in_h * g.in_w * g.in_c;
    float* out_row = output + r * g.out_w * g.out_c;
    if (g.out_w >= 8)
      DepthwiseRowTiles<K, S, 8>(a, in_img, out_row, oy);
    else if (g.out_w >= 4)
      DepthwiseRowTiles<K, S, 4>(a, in_img, out_row, oy);
    else
      DepthwiseRowTiles<K, S, 1>(a, in_img, out_row, oy);
  }
}

// Any kernel size, stride and dilation: one pixel at a time.
void DepthwiseRowsGeneric(const DepthwiseArgs& a, const float* input, float* output, int64_t row_begin,
                          int64_t row_end) {
  const Geometry& g = a.g;
  const int64_t c = g.in_c;
  const __m512 lo = _mm512_set1_ps(a.act_min), hi = _mm512_set1_ps(a.act_max);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t b = r / g.out_h;
    const int oy = static_cast<int>(r % g.out_h);
    const float* in_img = input + b * g.in_h * g.in_w * c;
    for (int ox = 0; ox < g.out_w; ++ox) {
      float* out = output + (r * g.out_w + ox) * c;
      for (int cb = 0; cb < a.c_blocks; ++cb) {
        const __mmask16 m = LaneMask(g.in_c - cb * 16);
        const float* w = a.weights + static_cast<int64_t>(cb) * g.k_h * g.k_w * 16;
        __m512 acc = _mm512_load_ps(a.bias + cb * 16);
        for (int ky = 0; ky < g.k_h; ++ky) {
          const int iy = oy * g.stride_h - g.pad_top + ky * g.dil_h;
          if (iy < 0 || iy >= g.in_h) continue;
          for (int kx = 0; kx < g.k_w; ++kx) {
            const int ix = ox * g.stride_w - g.pad_left + kx * g.dil_w;
            if (ix < 0 || ix >= g.in_w) continue;
            const __m512 v = _mm512_maskz_loadu_ps(m, in_img + (static_cast<int64_t>(iy) * g.in_w + ix) * c + cb * 16);
            acc = _mm512_fmadd_ps(v, _mm512_load_ps(w + (ky * g.k_w + kx) * 16), acc);
          }
        }
        _mm512_mask_storeu_ps(out + cb * 16, m, _mm512_min_ps(_mm512_max_ps(acc, lo), hi));
      }
    }
  }
}

// ------------------------------------------------------------------ GEMM

// ROWS pixels x NB 16-channel blocks of one weight tile. The accumulators stay
// in registers over the whole depth; per depth step NB weight vectors are
// loaded and each pixel's value is broadcast once (ROWS + NB loads per ROWS * NB
// FMAs: 6x4 and 8x2/8x3 tiles keep the two FMA pipes ahead of the loads).
template <int ROWS, int NB>
void GemmMicro(const GemmArgs& args, const float* a, int64_t lda, const float* w, int width, const float* bias,
               float* c, int valid) {
  __m512 acc[ROWS][NB];
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    const __m512 b = _mm512_load_ps(bias + j * 16);
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) acc[i][j] = b;
  }
  const float* ap[ROWS];
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) ap[i] = a + i * lda;
  for (int kk = 0; kk < args.k; ++kk) {
    __m512 wv[NB];
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) wv[j] = _mm512_load_ps(w + static_cast<int64_t>(kk) * width + j * 16);
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) {
      const __m512 av = _mm512_set1_ps(ap[i][kk]);
#pragma GCC unroll 4
      for (int j = 0; j < NB; ++j) acc[i][j] = _mm512_fmadd_ps(av, wv[j], acc[i][j]);
    }
  }
  const __m512 lo = _mm512_set1_ps(args.act_min), hi = _mm512_set1_ps(args.act_max);
  const int64_t ldc = args.g.out_c;
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) {
      const __m512 v = _mm512_min_ps(_mm512_max_ps(acc[i][j], lo), hi);
      if ((j + 1) * 16 <= valid)
        _mm512_storeu_ps(c + i * ldc + j * 16, v);
      else
        _mm512_mask_storeu_ps(c + i * ldc + j * 16, LaneMask(valid - j * 16), v);
    }
  }
}

using GemmMicroFn = void (*)(const GemmArgs&, const float*, int64_t, const float*, int, const float*, float*, int);

template <int NB, int... R>
constexpr GemmMicroFn kRowsTable[] = {nullptr, GemmMicro<R, NB>...};
// Micro-tile rows per block count (see GemmMicro).
constexpr int kMaxRows[5] = {0, 8, 8, 8, 6};
constexpr const GemmMicroFn* kMicro[5] = {nullptr, kRowsTable<1, 1, 2, 3, 4, 5, 6, 7, 8>,
                                          kRowsTable<2, 1, 2, 3, 4, 5, 6, 7, 8>,
                                          kRowsTable<3, 1, 2, 3, 4, 5, 6, 7, 8>, kRowsTable<4, 1, 2, 3, 4, 5, 6>};

// im2col of pixels [begin, begin + count) into rows of k floats (padding taps 0).
void Im2Col(const GemmArgs& a, const float* input, int64_t begin, int count, float* rows) {
  const Geometry& g = a.g;
  const int64_t plane = static_cast<int64_t>(g.out_h) * g.out_w;
  const size_t pixel_bytes = static_cast<size_t>(g.in_c) * sizeof(float);
  for (int r = 0; r < count; ++r) {
    float* dst = rows + static_cast<int64_t>(r) * a.k;
    const int64_t m = begin + r;
    const int64_t b = m / plane;
    const int oy = static_cast<int>((m % plane) / g.out_w), ox = static_cast<int>(m % g.out_w);
    for (int ky = 0; ky < g.k_h; ++ky) {
      const int iy = oy * g.stride_h - g.pad_top + ky * g.dil_h;
      const int ix0 = ox * g.stride_w - g.pad_left;
      const float* in_row = input + (b * g.in_h + iy) * g.in_w * g.in_c;
      if (g.dil_w == 1 && iy >= 0 && iy < g.in_h && ix0 >= 0 && ix0 + g.k_w <= g.in_w) {
        // The whole kernel row is inside: one contiguous copy.
        std::memcpy(dst, in_row + static_cast<int64_t>(ix0) * g.in_c, pixel_bytes * g.k_w);
        dst += static_cast<int64_t>(g.k_w) * g.in_c;
        continue;
      }
      for (int kx = 0; kx < g.k_w; ++kx, dst += g.in_c) {
        const int ix = ix0 + kx * g.dil_w;
        if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w)
          std::memset(dst, 0, pixel_bytes);
        else
          std::memcpy(dst, in_row + static_cast<int64_t>(ix) * g.in_c, pixel_bytes);
      }
    }
  }
}

}  // namespace

void DepthwiseRows(const DepthwiseArgs& a, const float* input, float* output, int64_t row_begin, int64_t row_end) {
  const Geometry& g = a.g;
  const bool square = g.k_h == g.k_w && g.stride_h == g.stride_w && g.dil_h == 1 && g.dil_w == 1;
  if (square && g.k_h == 3 && g.stride_h == 1) return DepthwiseRowsFixed<3, 1>(a, input, output, row_begin, row_end);
  if (square && g.k_h == 3 && g.stride_h == 2) return DepthwiseRowsFixed<3, 2>(a, input, output, row_begin, row_end);
  if (square && g.k_h == 5 && g.stride_h == 1) return DepthwiseRowsFixed<5, 1>(a, input, output, row_begin, row_end);
  if (square && g.k_h == 5 && g.stride_h == 2) return DepthwiseRowsFixed<5, 2>(a, input, output, row_begin, row_end);
  DepthwiseRowsGeneric(a, input, output, row_begin, row_end);
}

void GemmPixels(const GemmArgs& a, const float* input, float* output, int64_t pixel_begin, int64_t pixel_end,
                float* scratch) {
  const int n_blocks = (a.g.out_c + 15) / 16;
  for (int64_t chunk = pixel_begin; chunk < pixel_end; chunk += a.chunk_pixels) {
    const int count = static_cast<int>(pixel_end - chunk < a.chunk_pixels ? pixel_end - chunk : a.chunk_pixels);
    const float* rows = input + chunk * a.k;
    if (!a.pointwise) {
      Im2Col(a, input, chunk, count, scratch);
      rows = scratch;
    }
    // Channel tiles outside, pixel tiles inside: a tile's packed weights stay
    // in L1/L2 while every pixel of the chunk (in L1) uses them.
    for (int tile = 0; tile * 4 < n_blocks; ++tile) {
      const int blocks = Min(4, n_blocks - tile * 4);
      const int width = blocks * 16;
      const float* w = a.weights + static_cast<int64_t>(tile) * kTileChannels * a.k;
      const int c0 = tile * kTileChannels;
      const int valid = Min(width, a.g.out_c - c0);
      const int max_rows = kMaxRows[blocks];
      for (int r = 0; r < count; r += max_rows) {
        const int rows_here = Min(max_rows, count - r);
        kMicro[blocks][rows_here](a, rows + static_cast<int64_t>(r) * a.k, a.k, w, width, a.bias + c0,
                                  output + (chunk + r) * a.g.out_c + c0, valid);
      }
    }
  }
}

}  // namespace edgepipe::engine::kernels::f32conv
