// DEQUANTIZE: quantized integers (per-tensor or per-channel) and float16 to float32.
#include <algorithm>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "Dequantize";

// TFLite Dequantize: x = static_cast<float>(scale * (q - zero_point)). The
// product of a float scale and an integer below 2^24 is exact in double, so a
// single float multiply (one rounding) gives the same bits.
template <typename In>
void DequantizeValues(const In* input, int64_t count, int64_t channel_stride, int64_t channels,
                      const Quantization& q, float* output) {
  if (channels <= 1) {
    const float scale = q.scale[0];
    const int32_t zp = q.zero_point.empty() ? 0 : static_cast<int32_t>(q.zero_point[0]);
    for (int64_t i = 0; i < count; ++i) {
      output[i] = static_cast<float>(static_cast<double>(scale) * static_cast<double>(static_cast<int64_t>(input[i]) - zp));
    }
    return;
  }
  for (int64_t i = 0; i < count; ++i) {
    const int64_t c = (i / channel_stride) % channels;
    const int32_t zp = q.zero_point.size() > 1 ? static_cast<int32_t>(q.zero_point[c])
                                               : (q.zero_point.empty() ? 0 : static_cast<int32_t>(q.zero_point[0]));
    output[i] = static_cast<float>(static_cast<double>(q.scale[c]) *
                                   static_cast<double>(static_cast<int64_t>(input[i]) - zp));
  }
}

}  // namespace

Status Dequantize(const TensorView& input, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, input));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, output, DType::kFloat32));
  EP_RETURN_IF_ERROR(internal::CheckSameShape(kOp, output, input));
  const int64_t n = static_cast<int64_t>(input.num_elements());
  float* out = output.as<float>();

  if (input.dtype == DType::kFloat16) {
    internal::HalfToFloat(input.as<const uint16_t>(), out, n);
    return OkStatus();
  }
  if (input.dtype == DType::kFloat32) {  // TFLite allows this degenerate case.
    if (n > 0 && out != input.data) std::copy_n(input.as<const float>(), n, out);
    return OkStatus();
  }

  const Quantization& q = input.quant;
  if (q.scale.empty()) return InvalidArgumentError("{}: input {} has no quantization", kOp, Describe(input));
  int64_t channels = 1, channel_stride = 1;
  if (q.per_channel()) {
    EP_ASSIGN_OR_RETURN(const int axis, internal::NormalizeAxis(kOp, q.axis, input.rank(), input));
    channels = input.shape[axis];
    channel_stride = internal::DimProduct(input.shape, axis + 1, input.rank());
    if (static_cast<int64_t>(q.scale.size()) != channels ||
        (q.zero_point.size() > 1 && static_cast<int64_t>(q.zero_point.size()) != channels)) {
      return InvalidArgumentError("{}: input {} has {} scales for {} channels", kOp, Describe(input),
                                  q.scale.size(), channels);
    }
  }
  switch (input.dtype) {
    case DType::kUInt8: DequantizeValues(input.as<const uint8_t>(), n, channel_stride, channels, q, out); break;
    case DType::kInt8: DequantizeValues(input.as<const int8_t>(), n, channel_stride, channels, q, out); break;
    case DType::kInt16: DequantizeValues(input.as<const int16_t>(), n, channel_stride, channels, q, out); break;
    case DType::kInt32: DequantizeValues(input.as<const int32_t>(), n, channel_stride, channels, q, out); break;
    default:
      return InvalidArgumentError("{}: input {} must be uint8, int8, int16, int32 or float16", kOp, Describe(input));
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
