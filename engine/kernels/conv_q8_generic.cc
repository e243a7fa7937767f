// The generic variant of conv_q8.h: plain C++ for any CPU, and the reference
// the ISA variants are tested against. im2col into int16 x - input zero point
// (padded taps 0), dot products with int16 w - filter zero point in int32
// (exact), then XNNPACK's fp32 requantization in scalar form.
#include <cmath>
#include <cstdint>

#include "engine/kernels/conv_q8_impl.h"

namespace edgepipe::engine::kernels::q8conv {
namespace {

using generic::kChunkPixels;

// float(acc) * scale, min with act_max - zero point, round to nearest even, +
// zero point, clamp: what the vector variants compute with a saturating pack
// chain. Clamping below before rounding gives the same result (the bound is an
// integer) and keeps lrintf in range.
inline uint8_t Requantize(int32_t acc, float scale, const ConvArgs& a) {
  float scaled = static_cast<float>(acc) * scale;
  scaled = std::fmin(scaled, static_cast<float>(a.act_max - a.output_zero_point));
  scaled = std::fmax(scaled, static_cast<float>(a.act_min - a.output_zero_point));
  return static_cast<uint8_t>(static_cast<int32_t>(std::lrintf(scaled)) + a.output_zero_point);
}

template <bool U8>
void Im2Col(const ConvArgs& a, const uint8_t* input, int64_t begin, int count, int16_t* rows) {
  const int64_t plane = static_cast<int64_t>(a.out_h) * a.out_w;
  const int32_t zp = a.input_zero_point;
  for (int r = 0; r < count; ++r) {
    const int64_t pixel = begin + r;
    const int64_t b = pixel / plane;
    const int oy = static_cast<int>((pixel % plane) / a.out_w), ox = static_cast<int>(pixel % a.out_w);
    int16_t* dst = rows + static_cast<int64_t>(r) * a.k_padded;
    for (int ky = 0; ky < a.k_h; ++ky) {
      const int iy = oy * a.stride_h - a.pad_top + ky * a.dil_h;
      for (int kx = 0; kx < a.k_w; ++kx, dst += a.in_c) {
        const int ix = ox * a.stride_w - a.pad_left + kx * a.dil_w;
        if (iy < 0 || iy >= a.in_h || ix < 0 || ix >= a.in_w) {
          for (int c = 0; c < a.in_c; ++c) dst[c] = 0;
          continue;
        }
        const uint8_t* src = input + ((b * a.in_h + iy) * a.in_w + ix) * a.in_c;
        for (int c = 0; c < a.in_c; ++c)
          dst[c] = static_cast<int16_t>((U8 ? src[c] : static_cast<int8_t>(src[c])) - zp);
      }
    }
  }
}

template <bool U8>
void Run(const ConvArgs& a, const uint8_t* input, uint8_t* output, int64_t pixel_begin, int64_t pixel_end,
         int channel_begin, int channel_end, int16_t* rows) {
  const auto* weights = reinterpret_cast<const int16_t*>(a.packed_weights);
  const int k = a.k;
  for (int64_t chunk = pixel_begin; chunk < pixel_end; chunk += kChunkPixels) {
    const int count = static_cast<int>(pixel_end - chunk < kChunkPixels ? pixel_end - chunk : kChunkPixels);
    Im2Col<U8>(a, input, chunk, count, rows);
    // Tiles of channels outside: their weights stay in cache for the chunk.
    for (int c0 = channel_begin; c0 < channel_end; c0 += generic::kBlocksPerTile) {
      const int c1 = channel_end - c0 < generic::kBlocksPerTile ? channel_end : c0 + generic::kBlocksPerTile;
      for (int r = 0; r < count; ++r) {
        const int16_t* row = rows + static_cast<int64_t>(r) * a.k_padded;
        uint8_t* out = output + (chunk + r) * a.out_c;
        for (int c = c0; c < c1; ++c) {
          const int16_t* w = weights + static_cast<int64_t>(c) * a.k_padded;
          int32_t acc = 0;
          for (int i = 0; i < k; ++i) acc += static_cast<int32_t>(row[i]) * w[i];
          out[c] = Requantize(acc + a.bias[c], a.scale[c], a);
        }
      }
    }
  }
}

}  // namespace

void RunGeneric(const ConvArgs& a, const uint8_t* input, uint8_t* output, int64_t pixel_begin, int64_t pixel_end,
                int block_begin, int block_end, uint8_t* scratch, int32_t* /*sums*/) {
  auto* rows = reinterpret_cast<int16_t*>(scratch);
  if (a.u8) {
    Run<true>(a, input, output, pixel_begin, pixel_end, block_begin, block_end, rows);
  } else {
    Run<false>(a, input, output, pixel_begin, pixel_end, block_begin, block_end, rows);
  }
}

}  // namespace edgepipe::engine::kernels::q8conv
