#include "quantize/weights.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace edgepipe::quantize {

SymmetricWeights QuantizeSymmetric(std::span<const float> values, std::span<const int32_t> shape, int axis) {
  SymmetricWeights out;
  out.values.resize(values.size());
  size_t channels = 1, inner = 1;
  if (axis >= 0 && axis < static_cast<int>(shape.size())) {
    channels = static_cast<size_t>(shape[static_cast<size_t>(axis)]);
    for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= static_cast<size_t>(shape[d]);
    out.axis = axis;
  } else {
    axis = -1;
  }
  std::vector<float> max_abs(channels, 0.0f);
  auto channel_of = [&](size_t i) { return axis < 0 ? 0 : (i / inner) % channels; };
  for (size_t i = 0; i < values.size(); ++i) max_abs[channel_of(i)] = std::max(max_abs[channel_of(i)], std::fabs(values[i]));
  out.scales.resize(channels);
  // An all-zero channel still needs a positive scale; any one gives exact zeros.
  for (size_t c = 0; c < channels; ++c) out.scales[c] = max_abs[c] > 0.0f ? max_abs[c] / 127.0f : 1.0f;
  for (size_t i = 0; i < values.size(); ++i) {
    const float q = std::round(values[i] / out.scales[channel_of(i)]);
    out.values[i] = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
  }
  return out;
}

std::vector<int32_t> QuantizeBias(std::span<const float> bias, float input_scale, std::span<const float> weight_scales) {
  std::vector<int32_t> out(bias.size());
  for (size_t c = 0; c < bias.size(); ++c) {
    const double scale = static_cast<double>(input_scale) * weight_scales[weight_scales.size() == 1 ? 0 : c];
    const double q = std::round(static_cast<double>(bias[c]) / scale);
    out[c] = static_cast<int32_t>(std::clamp(q, static_cast<double>(std::numeric_limits<int32_t>::min()),
                                             static_cast<double>(std::numeric_limits<int32_t>::max())));
  }
  return out;
}

AffineParams ChooseAffine(float min, float max, bool is_unsigned) {
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  if (!std::isfinite(min) || !std::isfinite(max)) min = max = 0.0f;
  const float qmin = is_unsigned ? 0.0f : -128.0f;
  AffineParams p;
  // A tensor that was always 0: any scale represents it; keep a small one.
  p.scale = max > min ? (max - min) / 255.0f : 1.0f / 255.0f;
  const float zp = std::round(qmin - min / p.scale);
  p.zero_point = static_cast<int64_t>(std::clamp(zp, qmin, qmin + 255.0f));
  return p;
}

std::vector<int8_t> QuantizeAffine(std::span<const float> values, const AffineParams& params) {
  std::vector<int8_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const float q = std::round(values[i] / params.scale) + static_cast<float>(params.zero_point);
    out[i] = static_cast<int8_t>(std::clamp(q, -128.0f, 127.0f));
  }
  return out;
}

uint16_t FloatToHalf(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504: infinity
  if (abs < 0x38800000u) {
    // Subnormal half (or zero): shift the 24-bit significand, rounding to even.
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t exponent = abs >> 23;
    const uint32_t significand = (abs & 0x7fffffu) | 0x800000u;
    // value / 2^-24 = significand * 2^(exponent - 126)
    const uint32_t shift = 126u - exponent;
    uint32_t half = significand >> shift;
    const uint32_t rest = significand & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = ((abs >> 13) - (112u << 10));
  const uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(sign | half);
}

std::vector<uint8_t> ToHalfBytes(std::span<const float> values) {
  std::vector<uint16_t> half(values.size());
  for (size_t i = 0; i < values.size(); ++i) half[i] = FloatToHalf(values[i]);
  return AsBytes(half);
}

}  // namespace edgepipe::quantize
