// The portable variant of conv_f32.h: C++ on GCC's 4-float vector type, which
// GCC maps to whatever the build targets (SSE2 on x86-64, NEON on aarch64).
// (Plain loops were left scalar or kept their accumulators in memory at -O2.) It is what
// CPUs without a SIMD variant run and the reference the SIMD variants are
// tested against, so it keeps their summation order: bias first, then the
// taps in the same order, one multiply-add each (fused where the target has
// a fast FMA, as the SIMD variants' always is).
#include <cmath>
#include <cstring>

#include "engine/kernels/conv_f32_impl.h"

namespace edgepipe::engine::kernels::f32conv::generic {
namespace {

inline float MultiplyAdd(float a, float b, float c) {
#if defined(__FP_FAST_FMAF)
  return std::fma(a, b, c);
#else
  return a * b + c;  // a library fma call would cost more than the whole loop
#endif
}

using Vec = float __attribute__((vector_size(16)));
constexpr int kVec = 4;
inline Vec Load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void Store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }
inline Vec Broadcast(float x) { return Vec{x, x, x, x}; }
// Contracted to a fused multiply-add where the target has one.
inline Vec MultiplyAdd(Vec a, Vec b, Vec c) { return a * b + c; }

inline int Min(int a, int b) { return a < b ? a : b; }
// Not std::fmin/fmax: GCC calls libm for them without -ffinite-math-only.
inline float Clamp(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// ------------------------------------------------------------------ depthwise

// One output pixel, all channels: bias, then kernel column by column, rows
// within a column (XNNPACK's order, as the SIMD variants); taps outside the
// image are skipped (they would add 0). The channel loops run over
// contiguous NHWC data and vectorise.
void DepthwisePixel(const DepthwiseArgs& a, const float* in_img, int oy, int ox, float* __restrict out) {
  const Geometry& g = a.g;
  const int c = g.in_c;
  std::memcpy(out, a.bias, static_cast<size_t>(c) * sizeof(float));
  for (int kx = 0; kx < g.k_w; ++kx) {
    const int ix = ox * g.stride_w - g.pad_left + kx * g.dil_w;
    if (ix < 0 || ix >= g.in_w) continue;
    for (int ky = 0; ky < g.k_h; ++ky) {
      const int iy = oy * g.stride_h - g.pad_top + ky * g.dil_h;
      if (iy < 0 || iy >= g.in_h) continue;
      const float* __restrict px = in_img + (static_cast<int64_t>(iy) * g.in_w + ix) * c;
      const float* __restrict w = a.weights + static_cast<int64_t>(ky * g.k_w + kx) * c;
      int ch = 0;
      for (; ch + kVec <= c; ch += kVec) Store(out + ch, MultiplyAdd(Load(px + ch), Load(w + ch), Load(out + ch)));
      for (; ch < c; ++ch) out[ch] = MultiplyAdd(px[ch], w[ch], out[ch]);
    }
  }
  const float lo = a.act_min, hi = a.act_max;
  for (int ch = 0; ch < c; ++ch) out[ch] = Clamp(out[ch], lo, hi);
}

// ------------------------------------------------------------------ GEMM

struct Tile {
  const float* w;      // packed weights [k][W]
  int valid;           // output channels of the tile that exist
  const float* bias;   // [W]
  const float* alpha;  // PRELU slopes [W] or null
  float* c;            // output, row stride ldc
  const float* res;    // residual (row stride ldc) or null
};

// ROWS pixels (GEMM rows a + i * lda, k values each) x W channels, the
// accumulators in registers over the whole depth.
template <int ROWS, int W>
void GemmMicro(const GemmArgs& args, const float* a, int64_t lda, const Tile& t) {
  constexpr int kVecs = W / kVec;
  Vec acc[ROWS][kVecs];
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < kVecs; ++j) acc[i][j] = Load(t.bias + j * kVec);
  for (int kk = 0; kk < args.k; ++kk) {
    Vec w[kVecs];
#pragma GCC unroll 8
    for (int j = 0; j < kVecs; ++j) w[j] = Load(t.w + static_cast<int64_t>(kk) * W + j * kVec);
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) {
      const Vec x = Broadcast(a[i * lda + kk]);
#pragma GCC unroll 8
      for (int j = 0; j < kVecs; ++j) acc[i][j] = MultiplyAdd(x, w[j], acc[i][j]);
    }
  }
  float sums[ROWS][W];
  for (int i = 0; i < ROWS; ++i)
    for (int j = 0; j < kVecs; ++j) Store(&sums[i][j * kVec], acc[i][j]);
  // Epilogue in the order of the ops it replaces: + residual, clamp, PRELU.
  const int64_t ldc = args.g.out_c;
  for (int i = 0; i < ROWS; ++i) {
    for (int j = 0; j < t.valid; ++j) {
      float v = sums[i][j];
      if (t.res != nullptr) v += t.res[i * ldc + j];
      v = Clamp(v, args.act_min, args.act_max);
      if (t.alpha != nullptr && v < 0.0f) v *= t.alpha[j];
      t.c[i * ldc + j] = v;
    }
  }
}

// Pixels per micro-tile: 4 x 16 channels is 16 accumulators + 4 weights in
// aarch64's 32 vector registers; x86-64's 16 hold 3 x 16 (the weights are
// then re-read from L1).
#if defined(__aarch64__)
constexpr int kRows = 4;
#else
constexpr int kRows = 3;
#endif
using GemmMicroFn = void (*)(const GemmArgs&, const float*, int64_t, const Tile&);
template <int W>
constexpr GemmMicroFn kByRows[5] = {nullptr, GemmMicro<1, W>, GemmMicro<2, W>, GemmMicro<3, W>, GemmMicro<4, W>};

// `count` GEMM rows (a, row stride lda) through every channel tile.
void GemmRun(const GemmArgs& args, const float* a, int64_t lda, int count, float* out, const float* res) {
  const int out_c = args.g.out_c;
  for (int c0 = 0; c0 < out_c; c0 += kTileChannels) {
    Tile t;
    t.valid = Min(kTileChannels, out_c - c0);
    const bool wide = t.valid > kLanes;  // else the tile is one block of kLanes
    t.w = args.weights + static_cast<int64_t>(c0) * args.k;
    t.bias = args.bias + c0;
    t.alpha = args.prelu_alpha != nullptr ? args.prelu_alpha + c0 : nullptr;
    for (int r = 0; r < count; r += kRows) {
      const int rows = Min(kRows, count - r);
      t.c = out + static_cast<int64_t>(r) * out_c + c0;
      t.res = res != nullptr ? res + static_cast<int64_t>(r) * out_c + c0 : nullptr;
      (wide ? kByRows<kTileChannels> : kByRows<kLanes>)[rows](args, a + r * lda, lda, t);
    }
  }
}

// im2col of output pixels [p, p + count) of the flattened N*OH*OW into rows
// of k floats (padding taps 0).
void Im2Col(const GemmArgs& args, const float* input, int64_t p, int count, float* rows) {
  const Geometry& g = args.g;
  const size_t pixel_bytes = static_cast<size_t>(g.in_c) * sizeof(float);
  for (int r = 0; r < count; ++r, ++p) {
    const int64_t row = p / g.out_w, b = row / g.out_h;
    const int oy = static_cast<int>(row % g.out_h), ox = static_cast<int>(p % g.out_w);
    float* dst = rows + static_cast<int64_t>(r) * args.k;
    for (int ky = 0; ky < g.k_h; ++ky) {
      const int iy = oy * g.stride_h - g.pad_top + ky * g.dil_h;
      for (int kx = 0; kx < g.k_w; ++kx, dst += g.in_c) {
        const int ix = ox * g.stride_w - g.pad_left + kx * g.dil_w;
        if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w)
          std::memset(dst, 0, pixel_bytes);
        else
          std::memcpy(dst, input + ((b * g.in_h + iy) * g.in_w + ix) * g.in_c, pixel_bytes);
      }
    }
  }
}

}  // namespace

void DepthwiseRows(const DepthwiseArgs& a, const float* input, float* output, int64_t row_begin, int64_t row_end,
                   float* scratch) {
  (void)scratch;  // reads the input in place
  const Geometry& g = a.g;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t b = r / g.out_h;
    const int oy = static_cast<int>(r % g.out_h);
    const float* in_img = input + b * g.in_h * g.in_w * g.in_c;
    for (int ox = 0; ox < g.out_w; ++ox) DepthwisePixel(a, in_img, oy, ox, output + (r * g.out_w + ox) * g.in_c);
  }
}

void GemmPixels(const GemmArgs& a, const float* input, float* output, const float* residual, int64_t pixel_begin,
                int64_t pixel_end, float* scratch) {
  const int64_t out_c = a.g.out_c;
  for (int64_t p = pixel_begin; p < pixel_end; p += a.chunk_pixels) {
    const int count = static_cast<int>(pixel_end - p < a.chunk_pixels ? pixel_end - p : a.chunk_pixels);
    const float* rows = input + p * a.k;
    if (!a.pointwise) {
      Im2Col(a, input, p, count, scratch);
      rows = scratch;
    }
    GemmRun(a, rows, a.k, count, output + p * out_c, residual != nullptr ? residual + p * out_c : nullptr);
  }
}

}  // namespace edgepipe::engine::kernels::f32conv::generic
