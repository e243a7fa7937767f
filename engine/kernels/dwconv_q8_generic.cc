// The generic variant of dwconv_q8.h: plain C++ for any CPU, and the reference
// the ISA variants are tested against. Per output pixel, int32 sums over the
// taps of (x - input zero point) (w - filter zero point) for every channel
// (exact), then XNNPACK's fp32 requantization in scalar form.
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/kernels/dwconv_q8_impl.h"

namespace edgepipe::engine::kernels::dwq8 {
namespace {

// As conv_q8_generic.cc: the vector variants' saturating pack chain, in scalar.
inline uint8_t Requantize(int32_t acc, float scale, const DwArgs& a) {
  float scaled = static_cast<float>(acc) * scale;
  scaled = std::fmin(scaled, static_cast<float>(a.act_max - a.output_zero_point));
  scaled = std::fmax(scaled, static_cast<float>(a.act_min - a.output_zero_point));
  return static_cast<uint8_t>(static_cast<int32_t>(std::lrintf(scaled)) + a.output_zero_point);
}

template <bool U8>
void Run(const DwArgs& a, const uint8_t* input, uint8_t* output, int64_t row_begin, int64_t row_end) {
  const int c = a.channels;
  const auto* weights = reinterpret_cast<const int16_t*>(a.weights);
  const int32_t zp = a.input_zero_point;
  std::vector<int32_t> acc(c);
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t b = row / a.out_h;
    const int oy = static_cast<int>(row % a.out_h);
    for (int ox = 0; ox < a.out_w; ++ox) {
      for (int ch = 0; ch < c; ++ch) acc[ch] = a.bias[ch];
      for (int ky = 0; ky < a.k_h; ++ky) {
        const int iy = oy * a.stride_h - a.pad_top + ky * a.dil_h;
        if (iy < 0 || iy >= a.in_h) continue;  // padding adds 0
        for (int kx = 0; kx < a.k_w; ++kx) {
          const int ix = ox * a.stride_w - a.pad_left + kx * a.dil_w;
          if (ix < 0 || ix >= a.in_w) continue;
          const uint8_t* x = input + ((b * a.in_h + iy) * a.in_w + ix) * c;
          const int16_t* w = weights + static_cast<int64_t>(ky * a.k_w + kx) * c;
          for (int ch = 0; ch < c; ++ch)
            acc[ch] += ((U8 ? x[ch] : static_cast<int8_t>(x[ch])) - zp) * static_cast<int32_t>(w[ch]);
        }
      }
      uint8_t* out = output + (row * a.out_w + ox) * c;
      for (int ch = 0; ch < c; ++ch) out[ch] = Requantize(acc[ch], a.scale[ch], a);
    }
  }
}

}  // namespace

void RunGeneric(const DwArgs& a, const uint8_t* input, uint8_t* output, int64_t unit_begin, int64_t unit_end) {
  if (a.u8) {
    Run<true>(a, input, output, unit_begin, unit_end);
  } else {
    Run<false>(a, input, output, unit_begin, unit_end);
  }
}

}  // namespace edgepipe::engine::kernels::dwq8
