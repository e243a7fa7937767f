// The numbers of TFLite's 8-bit quantization: symmetric int8 weights
// (per-channel or per-tensor, zero point 0, values in [-127, 127]), int32
// biases with scale = input scale x weight scale, asymmetric int8/uint8
// activations whose range always contains 0, and IEEE fp16 constants.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace edgepipe::quantize {

struct SymmetricWeights {
  std::vector<int8_t> values;
  std::vector<float> scales;  // one per channel along `axis`, or one
  int32_t axis = 0;
};

// Quantizes `values` of `shape` symmetrically; axis < 0 means per-tensor.
SymmetricWeights QuantizeSymmetric(std::span<const float> values, std::span<const int32_t> shape, int axis);

// int32 bias: round(b / (input_scale * weight_scale[c])), weight_scales of
// size 1 applying to every channel.
std::vector<int32_t> QuantizeBias(std::span<const float> bias, float input_scale, std::span<const float> weight_scales);

struct AffineParams {
  float scale = 1.0f;
  int64_t zero_point = 0;
};

// The int8 ([-128, 127]) or uint8 ([0, 255]) parameters covering [min, max]
// widened to contain 0 (so that zero padding and ReLU are exact).
AffineParams ChooseAffine(float min, float max, bool is_unsigned = false);

// round(v / scale) + zero_point, saturated to int8.
std::vector<int8_t> QuantizeAffine(std::span<const float> values, const AffineParams& params);

// IEEE binary32 -> binary16, round to nearest even (overflow to infinity).
uint16_t FloatToHalf(float value);
std::vector<uint8_t> ToHalfBytes(std::span<const float> values);

template <typename T>
std::vector<uint8_t> AsBytes(const std::vector<T>& values) {
  const auto* p = reinterpret_cast<const uint8_t*>(values.data());
  return {p, p + values.size() * sizeof(T)};
}

}  // namespace edgepipe::quantize
