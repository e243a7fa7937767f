// QUANTIZE: float32 -> uint8/int8/int16, and requantization between quantized
// integer types.
#include <array>
#include <cmath>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "Quantize";

// TFLite AffineQuantize / PerChannelQuantize:
//   q = clamp(static_cast<int32>(TfLiteRound(x / scale)) + zero_point)
// Division (not multiplication by a reciprocal) and round half away from zero.
// Out-of-int32-range and NaN inputs (undefined behaviour in TFLite) saturate /
// map to the zero point instead.
inline int32_t QuantizeValue(float x, float scale, int32_t zero_point, internal::IntRange range) {
  float rounded = std::round(x / scale);
  if (std::isnan(rounded)) rounded = 0.0f;
  rounded = std::fmin(std::fmax(rounded, -1.0e9f), 1.0e9f);
  return internal::Clamp32(static_cast<int32_t>(rounded) + zero_point, range.min, range.max);
}

template <typename Out>
void QuantizeFloat(const float* input, int64_t count, int64_t channel_stride, int64_t channels,
                   const Quantization& q, Out* output) {
  const internal::IntRange range = internal::QuantizedRange(
      std::is_same_v<Out, uint8_t> ? DType::kUInt8 : (std::is_same_v<Out, int8_t> ? DType::kInt8 : DType::kInt16));
  if (channels <= 1) {
    const float scale = q.scale[0];
    const int32_t zp = q.zero_point.empty() ? 0 : static_cast<int32_t>(q.zero_point[0]);
    for (int64_t i = 0; i < count; ++i) output[i] = static_cast<Out>(QuantizeValue(input[i], scale, zp, range));
    return;
  }
  for (int64_t i = 0; i < count; ++i) {
    const int64_t c = (i / channel_stride) % channels;
    const int32_t zp = q.zero_point.size() > 1 ? static_cast<int32_t>(q.zero_point[c])
                                               : (q.zero_point.empty() ? 0 : static_cast<int32_t>(q.zero_point[0]));
    output[i] = static_cast<Out>(QuantizeValue(input[i], q.scale[c], zp, range));
  }
}

// TFLite reference_ops::Requantize: multiplier = QuantizeMultiplier(in_scale /
// out_scale) (computed in double); q_out = clamp(MultiplyByQuantizedMultiplier(
// q_in - zp_in) + zp_out). Same scale with zero points 128 apart between uint8
// and int8 is a plain 0x80 flip (TFLite's fast path; identical result).
template <typename In, typename Out>
void Requantize(const In* input, int64_t count, int32_t multiplier, int shift, int32_t in_zp, int32_t out_zp,
                Out* output) {
  const bool same_scale = multiplier == (1 << 30) && shift == 1;
  constexpr bool kU8ToI8 = std::is_same_v<In, uint8_t> && std::is_same_v<Out, int8_t>;
  constexpr bool kI8ToU8 = std::is_same_v<In, int8_t> && std::is_same_v<Out, uint8_t>;
  if constexpr (kU8ToI8 || kI8ToU8) {
    const int32_t zero_point_diff = in_zp - out_zp;
    if (same_scale && ((kU8ToI8 && zero_point_diff == 128) || (kI8ToU8 && zero_point_diff == -128))) {
      for (int64_t i = 0; i < count; ++i) output[i] = static_cast<Out>(static_cast<uint8_t>(input[i]) ^ 0x80u);
      return;
    }
  }
  constexpr int32_t kMin = std::numeric_limits<Out>::min();
  constexpr int32_t kMax = std::numeric_limits<Out>::max();
  auto requantize = [&](In q) {
    const int32_t centered = static_cast<int32_t>(q) - in_zp;
    const int32_t value = internal::MultiplyByQuantizedMultiplier(centered, multiplier, shift) + out_zp;
    return static_cast<Out>(internal::Clamp32(value, kMin, kMax));
  };
  // An 8-bit input has 256 possible values: for large tensors (deeplab
  // requantizes 513x513x21) tabulate the exact results once and look them up.
  if constexpr (sizeof(In) == 1) {
    constexpr int64_t kValues = 256;
    if (count >= 4 * kValues) {
      std::array<Out, kValues> table;
      for (int64_t k = 0; k < kValues; ++k) table[k] = requantize(static_cast<In>(static_cast<uint8_t>(k)));
      for (int64_t i = 0; i < count; ++i) output[i] = table[static_cast<uint8_t>(input[i])];
      return;
    }
  }
  for (int64_t i = 0; i < count; ++i) output[i] = requantize(input[i]);
}

template <typename In>
Status RequantizeFrom(const TensorView& input, const TensorView& output, int32_t multiplier, int shift,
                      int32_t in_zp, int32_t out_zp) {
  const auto* in = input.as<const In>();
  const int64_t n = static_cast<int64_t>(input.num_elements());
  switch (output.dtype) {
    case DType::kUInt8: Requantize(in, n, multiplier, shift, in_zp, out_zp, output.as<uint8_t>()); break;
    case DType::kInt8: Requantize(in, n, multiplier, shift, in_zp, out_zp, output.as<int8_t>()); break;
    case DType::kInt16: Requantize(in, n, multiplier, shift, in_zp, out_zp, output.as<int16_t>()); break;
    default: return InvalidArgumentError("{}: output {} must be uint8, int8 or int16", kOp, Describe(output));
  }
  return OkStatus();
}

}  // namespace

Status Quantize(const TensorView& input, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, input));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  EP_RETURN_IF_ERROR(internal::CheckSameShape(kOp, output, input));
  if (!internal::IsQuantizedInteger(output.dtype)) {
    return InvalidArgumentError("{}: output {} must be uint8, int8 or int16", kOp, Describe(output));
  }
  const int64_t n = static_cast<int64_t>(input.num_elements());

  if (input.dtype == DType::kFloat32) {
    const Quantization& q = output.quant;
    if (q.scale.empty()) return InvalidArgumentError("{}: output {} has no quantization", kOp, Describe(output));
    int64_t channels = 1, channel_stride = 1;
    if (q.per_channel()) {
      EP_ASSIGN_OR_RETURN(const int axis, internal::NormalizeAxis(kOp, q.axis, output.rank(), output));
      channels = output.shape[axis];
      channel_stride = internal::DimProduct(output.shape, axis + 1, output.rank());
      if (static_cast<int64_t>(q.scale.size()) != channels ||
          (q.zero_point.size() > 1 && static_cast<int64_t>(q.zero_point.size()) != channels)) {
        return InvalidArgumentError("{}: output {} has {} scales for {} channels", kOp, Describe(output),
                                    q.scale.size(), channels);
      }
    }
    for (float s : q.scale) {
      if (!(s > 0.0f) || !std::isfinite(s)) return InvalidArgumentError("{}: output {} has scale {}", kOp, Describe(output), s);
    }
    const auto* in = input.as<const float>();
    switch (output.dtype) {
      case DType::kUInt8: QuantizeFloat(in, n, channel_stride, channels, q, output.as<uint8_t>()); break;
      case DType::kInt8: QuantizeFloat(in, n, channel_stride, channels, q, output.as<int8_t>()); break;
      default: QuantizeFloat(in, n, channel_stride, channels, q, output.as<int16_t>()); break;
    }
    return OkStatus();
  }

  if (!internal::IsQuantizedInteger(input.dtype)) {
    return InvalidArgumentError("{}: input {} must be float32, uint8, int8 or int16", kOp, Describe(input));
  }
  EP_ASSIGN_OR_RETURN(const internal::QuantParams in_q, internal::PerTensorQuant(kOp, input));
  EP_ASSIGN_OR_RETURN(const internal::QuantParams out_q, internal::PerTensorQuant(kOp, output));
  int32_t multiplier = 0;
  int shift = 0;
  internal::QuantizeMultiplier(static_cast<double>(in_q.scale) / static_cast<double>(out_q.scale), &multiplier,
                               &shift);
  switch (input.dtype) {
    case DType::kUInt8: return RequantizeFrom<uint8_t>(input, output, multiplier, shift, in_q.zero_point, out_q.zero_point);
    case DType::kInt8: return RequantizeFrom<int8_t>(input, output, multiplier, shift, in_q.zero_point, out_q.zero_point);
    default: return RequantizeFrom<int16_t>(input, output, multiplier, shift, in_q.zero_point, out_q.zero_point);
  }
}

}  // namespace edgepipe::engine::kernels
