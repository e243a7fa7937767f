// The AVX-512 variant of conv_f32.h. This is the only file built with
// -mavx512f -mfma (engine/CMakeLists.txt); it runs only when the variant
// table in conv_f32.cc chose it. Keep it free of shared inline code (std
// containers, std::min/std::fill, fmt, kernel_util.h): see conv_f32_impl.h.
#include <immintrin.h>

#include <cstdint>

#include "engine/kernels/conv_f32_impl.h"

namespace edgepipe::engine::kernels::f32conv::avx512 {
namespace {

inline void ZeroFill(float* begin, float* end) {
  for (float* p = begin; p < end; ++p) *p = 0.0f;
}

inline int Min(int a, int b) { return a < b ? a : b; }
inline __mmask16 LaneMask(int lanes) { return lanes >= 16 ? __mmask16(0xffff) : __mmask16((1u << lanes) - 1); }

// ------------------------------------------------------------------ depthwise
//
// Every output sums its taps in XNNPACK's order (and so LiteRT's): bias, then
// kernel column by column, rows within a column (tap kx * k_h + ky), one FMA
// each. Summing rows first instead put palm detection's outputs up to 6e-4
// away from LiteRT's after 23 layers.
//
// 3x3 and 5x5 kernels read the input from a ring of the last K input rows,
// copied once each into 16-channel blocks with zero columns on both sides
// ([block][padded_w][16]): pixels are then 64 bytes apart, so a tile's loads
// are fixed offsets from K row pointers and padding needs no special case.
// (Straight from NHWC, GCC 12 spilled the tile's 60 load addresses, and edge
// tiles needed masks: 2x slower.)

// T output pixels from padded input column x0, one channel block whose K*K
// weights are in wk. rp[ky]: the block's ring row for kernel row ky. Column j
// of the tile's window is tap kx = j - t * S of output t; taking columns in
// order keeps each output's taps in the order above.
template <int K, int S, int T>
__attribute__((always_inline)) inline void DepthwiseTile(const __m512 (&wk)[K * K], const float* const (&rp)[K], int x0,
                                                         __m512 bias, __m512 lo, __m512 hi, float* out, int64_t c,
                                                         __mmask16 m) {
  __m512 acc[T];
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) acc[t] = bias;
#pragma GCC unroll 64
  for (int j = 0; j < (T - 1) * S + K; ++j) {
#pragma GCC unroll 8
    for (int ky = 0; ky < K; ++ky) {
      const __m512 v = _mm512_load_ps(rp[ky] + (x0 + j) * 16);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const int kx = j - t * S;
        if (kx >= 0 && kx < K) acc[t] = _mm512_fmadd_ps(v, wk[ky * K + kx], acc[t]);
      }
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
    _mm512_mask_storeu_ps(out + t * c, m, _mm512_min_ps(_mm512_max_ps(acc[t], lo), hi));
}

// One output row (all channel blocks) from ring rows; zero_row for kernel
// rows outside the image (those taps add 0, as XNNPACK's zero buffer does).
template <int K, int S, int T>
void DepthwiseRow(const DepthwiseArgs& a, const float* const (&ring_rows)[K], float* out_row) {
  const Geometry& g = a.g;
  const int64_t c = g.in_c;
  const int64_t block_floats = static_cast<int64_t>(a.padded_w) * 16;
  const __m512 lo = _mm512_set1_ps(a.act_min), hi = _mm512_set1_ps(a.act_max);
  for (int cb = 0; cb < a.c_blocks; ++cb) {
    const __mmask16 m = LaneMask(g.in_c - cb * 16);
    __m512 wk[K * K];
    const float* w = a.weights + static_cast<int64_t>(cb) * K * K * 16;
#pragma GCC unroll 32
    for (int i = 0; i < K * K; ++i) wk[i] = _mm512_load_ps(w + i * 16);
    const float* rp[K];
#pragma GCC unroll 8
    for (int ky = 0; ky < K; ++ky) rp[ky] = ring_rows[ky] + cb * block_floats;
    const __m512 bias = _mm512_load_ps(a.bias + cb * 16);
    // The last tile overlaps the previous one when T does not divide the
    // width: recomputing a few pixels beats a separate narrow kernel.
    for (int ox0 = 0; ox0 < g.out_w; ox0 += T) {
      if (ox0 + T > g.out_w) ox0 = g.out_w - T;
      DepthwiseTile<K, S, T>(wk, rp, ox0 * S, bias, lo, hi, out_row + ox0 * c + cb * 16, c, m);
    }
  }
}

// Copies input row iy of image b into a ring row: [c_blocks][padded_w][16],
// pixel x at column pad_left + x. The padding columns stay zero.
void FillRingRow(const DepthwiseArgs& a, const float* input, int64_t b, int iy, float* row) {
  const Geometry& g = a.g;
  const int64_t c = g.in_c;
  const float* src = input + (b * g.in_h + iy) * g.in_w * c;
  for (int cb = 0; cb < a.c_blocks; ++cb) {
    const __mmask16 m = LaneMask(g.in_c - cb * 16);
    float* dst = row + (static_cast<int64_t>(cb) * a.padded_w + g.pad_left) * 16;
    for (int x = 0; x < g.in_w; ++x) _mm512_store_ps(dst + x * 16, _mm512_maskz_loadu_ps(m, src + x * c + cb * 16));
  }
}

template <int K, int S, int T>
void DepthwiseRowsFixed(const DepthwiseArgs& a, const float* input, float* output, int64_t row_begin, int64_t row_end,
                        float* scratch) {
  const Geometry& g = a.g;
  const int64_t row_floats = static_cast<int64_t>(a.c_blocks) * a.padded_w * 16;
  // scratch: K ring rows. FillRingRow writes only the image columns, so the
  // padding columns are zeroed here, once per call (the scratch is shared
  // with other ops).
  const float* zero_row = a.zero_row;
  for (int slot = 0; slot < K; ++slot)
    for (int cb = 0; cb < a.c_blocks; ++cb) {
      float* block = scratch + slot * row_floats + static_cast<int64_t>(cb) * a.padded_w * 16;
      ZeroFill(block, block + static_cast<int64_t>(g.pad_left) * 16);
      ZeroFill(block + static_cast<int64_t>(g.pad_left + g.in_w) * 16, block + static_cast<int64_t>(a.padded_w) * 16);
    }
  int64_t held[K];  // flattened input row (b * in_h + iy) in each ring slot
  for (int i = 0; i < K; ++i) held[i] = -1;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t b = r / g.out_h;
    const int oy = static_cast<int>(r % g.out_h);
    const float* rows[K];
    for (int ky = 0; ky < K; ++ky) {
      const int iy = oy * S - g.pad_top + ky;
      if (iy < 0 || iy >= g.in_h) {
        rows[ky] = zero_row;
        continue;
      }
      const int64_t key = b * g.in_h + iy;
      const int slot = iy % K;
      float* row = scratch + slot * row_floats;
      if (held[slot] != key) {
        FillRingRow(a, input, b, iy, row);
        held[slot] = key;
      }
      rows[ky] = row;
    }
    float* out_row = output + r * g.out_w * g.out_c;
    if (g.out_w >= T)
      DepthwiseRow<K, S, T>(a, rows, out_row);
    else if (g.out_w >= 4)
      DepthwiseRow<K, S, 4>(a, rows, out_row);
    else if (g.out_w >= 2)
      DepthwiseRow<K, S, 2>(a, rows, out_row);
    else
      DepthwiseRow<K, S, 1>(a, rows, out_row);
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
        for (int kx = 0; kx < g.k_w; ++kx) {
          const int ix = ox * g.stride_w - g.pad_left + kx * g.dil_w;
          if (ix < 0 || ix >= g.in_w) continue;
          for (int ky = 0; ky < g.k_h; ++ky) {
            const int iy = oy * g.stride_h - g.pad_top + ky * g.dil_h;
            if (iy < 0 || iy >= g.in_h) continue;
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

// One GEMM micro-tile: ROWS pixels x NB 16-channel blocks of one weight tile.
// The accumulators stay in registers over the whole depth; per depth step NB
// weight vectors are loaded and each pixel's value is broadcast once (ROWS + NB
// loads per ROWS * NB FMAs: 6x4 and 8x2/8x3 tiles keep the two FMA pipes ahead
// of the loads). The depth is `segments` runs of `depth` values: pixel i's run s
// starts at a + i * lda + s * a_seg and meets packed weight rows k0 + s * k_seg
// on. One run
// covers a 1x1 conv or an im2col row; a KxK conv reads the input in place with
// one run per kernel row (k_w * in_c contiguous values).
struct Operand {
  const float* a;
  int64_t lda, a_seg;
  int segments, depth;
  int64_t k0, k_seg;
};

struct Tile {
  const float* w;       // the tile's packed weights [k][width]
  int width;            // 16 * NB
  int valid;            // output channels of the tile that exist
  const float* bias;    // [width]
  const float* alpha;   // PRELU slopes [width] or null
  float* c;             // output, row stride out_c
  const float* res;     // residual to add (row stride out_c) or null
};

template <int ROWS, int NB>
void GemmMicro(const GemmArgs& args, const Operand& op, const Tile& t) {
  __m512 acc[ROWS][NB];
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    const __m512 b = _mm512_load_ps(t.bias + j * 16);
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) acc[i][j] = b;
  }
  for (int s = 0; s < op.segments; ++s) {
    const float* ap[ROWS];
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) ap[i] = op.a + s * op.a_seg + i * op.lda;
    const float* w = t.w + (op.k0 + s * op.k_seg) * t.width;
    for (int kk = 0; kk < op.depth; ++kk) {
      __m512 wv[NB];
#pragma GCC unroll 4
      for (int j = 0; j < NB; ++j) wv[j] = _mm512_load_ps(w + static_cast<int64_t>(kk) * t.width + j * 16);
#pragma GCC unroll 8
      for (int i = 0; i < ROWS; ++i) {
        const __m512 av = _mm512_set1_ps(ap[i][kk]);
#pragma GCC unroll 4
        for (int j = 0; j < NB; ++j) acc[i][j] = _mm512_fmadd_ps(av, wv[j], acc[i][j]);
      }
    }
  }
  // Epilogue in the order of the ops it replaces: bias (above), + residual
  // (a fused ADD), clamp (the conv's or the ADD's activation), PRELU.
  const __m512 lo = _mm512_set1_ps(args.act_min), hi = _mm512_set1_ps(args.act_max);
  const int64_t ldc = args.g.out_c;
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) {
      const __mmask16 m = LaneMask(t.valid - j * 16);
      __m512 v = acc[i][j];
      if (t.res != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, t.res + i * ldc + j * 16));
      v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
      if (t.alpha != nullptr) {
        const __mmask16 negative = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        v = _mm512_mask_mul_ps(v, negative, v, _mm512_load_ps(t.alpha + j * 16));
      }
      if ((j + 1) * 16 <= t.valid)
        _mm512_storeu_ps(t.c + i * ldc + j * 16, v);
      else
        _mm512_mask_storeu_ps(t.c + i * ldc + j * 16, m, v);
    }
  }
}

using GemmMicroFn = void (*)(const GemmArgs&, const Operand&, const Tile&);

template <int NB, int... R>
constexpr GemmMicroFn kRowsTable[] = {nullptr, GemmMicro<R, NB>...};
// Micro-tile rows per block count (see GemmMicro).
constexpr int kMaxRows[5] = {0, 8, 8, 8, 6};
constexpr const GemmMicroFn* kMicro[5] = {nullptr, kRowsTable<1, 1, 2, 3, 4, 5, 6, 7, 8>,
                                          kRowsTable<2, 1, 2, 3, 4, 5, 6, 7, 8>,
                                          kRowsTable<3, 1, 2, 3, 4, 5, 6, 7, 8>, kRowsTable<4, 1, 2, 3, 4, 5, 6>};

// Runs `count` pixels (output rows out, residual rows res) through every
// channel tile. op.a is pixel 0's first run; pixel i's is i * op.lda further.
void GemmRun(const GemmArgs& a, Operand op, int count, float* out, const float* res) {
  const int n_blocks = (a.g.out_c + 15) / 16;
  const float* a0 = op.a;
  for (int tile = 0; tile * 4 < n_blocks; ++tile) {
    const int blocks = Min(4, n_blocks - tile * 4);
    const int c0 = tile * kTileChannels;
    Tile t;
    t.width = blocks * 16;
    t.valid = Min(t.width, a.g.out_c - c0);
    t.bias = a.bias + c0;
    t.alpha = a.prelu_alpha != nullptr ? a.prelu_alpha + c0 : nullptr;
    t.w = a.weights + static_cast<int64_t>(tile) * kTileChannels * a.k;
    const int max_rows = kMaxRows[blocks];
    for (int r = 0; r < count; r += max_rows) {
      const int rows_here = Min(max_rows, count - r);
      op.a = a0 + r * op.lda;
      t.c = out + static_cast<int64_t>(r) * a.g.out_c + c0;
      t.res = res != nullptr ? res + static_cast<int64_t>(r) * a.g.out_c + c0 : nullptr;
      kMicro[blocks][rows_here](a, op, t);
    }
  }
}

// Copies (or zeroes) n floats; glibc's memcpy call costs more than the copy
// for the 12-60 byte pieces of a 3-channel input.
inline void CopyFloats(float* dst, const float* src, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
  if (i < n) {
    const __mmask16 m = LaneMask(n - i);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
  }
}
inline void ZeroFloats(float* dst, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_setzero_ps());
  if (i < n) _mm512_mask_storeu_ps(dst + i, LaneMask(n - i), _mm512_setzero_ps());
}

// im2col of output pixels ox in [ox_begin, ox_begin + count) of row oy of
// image b into rows of k floats (padding taps 0).
void Im2Col(const GemmArgs& a, const float* input, int64_t b, int oy, int ox_begin, int count, float* rows) {
  const Geometry& g = a.g;
  for (int r = 0; r < count; ++r) {
    float* dst = rows + static_cast<int64_t>(r) * a.k;
    const int ox = ox_begin + r;
    for (int ky = 0; ky < g.k_h; ++ky) {
      const int iy = oy * g.stride_h - g.pad_top + ky * g.dil_h;
      const int ix0 = ox * g.stride_w - g.pad_left;
      const float* in_row = input + (b * g.in_h + iy) * g.in_w * g.in_c;
      if (g.dil_w == 1 && iy >= 0 && iy < g.in_h && ix0 >= 0 && ix0 + g.k_w <= g.in_w) {
        CopyFloats(dst, in_row + static_cast<int64_t>(ix0) * g.in_c, g.k_w * g.in_c);
        dst += static_cast<int64_t>(g.k_w) * g.in_c;
        continue;
      }
      for (int kx = 0; kx < g.k_w; ++kx, dst += g.in_c) {
        const int ix = ix0 + kx * g.dil_w;
        if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w)
          ZeroFloats(dst, g.in_c);
        else
          CopyFloats(dst, in_row + static_cast<int64_t>(ix) * g.in_c, g.in_c);
      }
    }
  }
}

// Pixels [ox_begin, ox_end) of one output row through im2col, in chunks.
void GemmIm2ColRun(const GemmArgs& a, const float* input, int64_t b, int oy, int ox_begin, int ox_end,
                   float* out_row, const float* res_row, float* scratch) {
  for (int ox = ox_begin; ox < ox_end; ox += a.chunk_pixels) {
    const int count = Min(a.chunk_pixels, ox_end - ox);
    Im2Col(a, input, b, oy, ox, count, scratch);
    const int64_t offset = static_cast<int64_t>(ox) * a.g.out_c;
    GemmRun(a, Operand{scratch, a.k, 0, 1, a.k, 0, 0}, count, out_row + offset,
            res_row != nullptr ? res_row + offset : nullptr);
  }
}

// Output pixels [ox_begin, ox_end) of row r (= b * out_h + oy), reading the
// input in place where every tap of a pixel's kernel row is inside the image
// and through im2col at the left and right borders.
void GemmConvRow(const GemmArgs& a, const float* input, float* output, const float* residual, int64_t r, int ox_begin,
                 int ox_end, float* scratch) {
  const Geometry& g = a.g;
  const int64_t b = r / g.out_h;
  const int oy = static_cast<int>(r % g.out_h);
  float* out_row = output + r * g.out_w * g.out_c;
  const float* res_row = residual != nullptr ? residual + r * g.out_w * g.out_c : nullptr;
  if (g.dil_h != 1 || g.dil_w != 1)
    return GemmIm2ColRun(a, input, b, oy, ox_begin, ox_end, out_row, res_row, scratch);
  // Kernel rows inside the image; interior pixels: ix0 >= 0 and ix0 + k_w <= in_w.
  const int iy0 = oy * g.stride_h - g.pad_top;
  const int ky0 = iy0 < 0 ? -iy0 : 0;
  const int ky1 = Min(g.k_h, g.in_h - iy0);
  int lo = (g.pad_left + g.stride_w - 1) / g.stride_w;
  int hi = g.in_w - g.k_w + g.pad_left >= 0 ? (g.in_w - g.k_w + g.pad_left) / g.stride_w + 1 : 0;
  lo = Min(Min(lo, g.out_w), ox_end) < ox_begin ? ox_begin : Min(Min(lo, g.out_w), ox_end);
  hi = hi < lo ? lo : Min(hi, ox_end);
  if (ky1 <= ky0 || hi <= lo) return GemmIm2ColRun(a, input, b, oy, ox_begin, ox_end, out_row, res_row, scratch);
  GemmIm2ColRun(a, input, b, oy, ox_begin, lo, out_row, res_row, scratch);
  const int64_t run = static_cast<int64_t>(g.k_w) * g.in_c;  // one kernel row of input, contiguous
  Operand op;
  op.a = input + ((b * g.in_h + iy0 + ky0) * g.in_w + (static_cast<int64_t>(lo) * g.stride_w - g.pad_left)) * g.in_c;
  op.lda = static_cast<int64_t>(g.stride_w) * g.in_c;
  op.a_seg = static_cast<int64_t>(g.in_w) * g.in_c;
  op.segments = ky1 - ky0;
  op.depth = static_cast<int>(run);
  op.k0 = ky0 * run;
  op.k_seg = run;
  const int64_t offset = static_cast<int64_t>(lo) * g.out_c;
  GemmRun(a, op, hi - lo, out_row + offset, res_row != nullptr ? res_row + offset : nullptr);
  GemmIm2ColRun(a, input, b, oy, hi, ox_end, out_row, res_row, scratch);
}

}  // namespace

void DepthwiseRows(const DepthwiseArgs& a, const float* input, float* output, int64_t row_begin, int64_t row_end,
                   float* scratch) {
  const Geometry& g = a.g;
  const bool square = g.k_h == g.k_w && g.stride_h == g.stride_w && g.dil_h == 1 && g.dil_w == 1;
  // 8-pixel tiles: 8 independent FMA chains cover the FMA latency.
  if (square && g.k_h == 3 && g.stride_h == 1) return DepthwiseRowsFixed<3, 1, 8>(a, input, output, row_begin, row_end, scratch);
  if (square && g.k_h == 3 && g.stride_h == 2) return DepthwiseRowsFixed<3, 2, 8>(a, input, output, row_begin, row_end, scratch);
  if (square && g.k_h == 5 && g.stride_h == 1) return DepthwiseRowsFixed<5, 1, 8>(a, input, output, row_begin, row_end, scratch);
  if (square && g.k_h == 5 && g.stride_h == 2) return DepthwiseRowsFixed<5, 2, 8>(a, input, output, row_begin, row_end, scratch);
  DepthwiseRowsGeneric(a, input, output, row_begin, row_end);
}

void GemmPixels(const GemmArgs& a, const float* input, float* output, const float* residual, int64_t pixel_begin,
                int64_t pixel_end, float* scratch) {
  const Geometry& g = a.g;
  if (a.pointwise) {
    // The input rows are the GEMM rows; chunks keep a block of them in L1
    // while each weight tile passes over it.
    for (int64_t p = pixel_begin; p < pixel_end; p += a.chunk_pixels) {
      const int count = static_cast<int>(pixel_end - p < a.chunk_pixels ? pixel_end - p : a.chunk_pixels);
      GemmRun(a, Operand{input + p * a.k, a.k, 0, 1, a.k, 0, 0}, count, output + p * g.out_c,
              residual != nullptr ? residual + p * g.out_c : nullptr);
    }
    return;
  }
  for (int64_t p = pixel_begin; p < pixel_end;) {
    const int64_t r = p / g.out_w;
    const int ox = static_cast<int>(p % g.out_w);
    const int ox_end = static_cast<int>(pixel_end - r * g.out_w < g.out_w ? pixel_end - r * g.out_w : g.out_w);
    GemmConvRow(a, input, output, residual, r, ox, ox_end, scratch);
    p = r * g.out_w + ox_end;
  }
}

}  // namespace edgepipe::engine::kernels::f32conv::avx512
