// LOGISTIC (sigmoid): float32, and uint8/int8 through a 256-entry table.
#include <array>
#include <cmath>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "Logistic";

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// TFLite LUTPopulate (activations.cc, the table path for 8-bit LOGISTIC): for
// every q: y = sigmoid(in_scale * (q - in_zp));
// table[q] = clamp(static_cast<int32>(TfLiteRound(y * (1 / out_scale)) + out_zp)).
template <typename T>
void LogisticQuantized(const T* input, int64_t count, internal::QuantParams in_q, internal::QuantParams out_q,
                       T* output) {
  constexpr int32_t kMin = std::numeric_limits<T>::min();
  constexpr int32_t kMax = std::numeric_limits<T>::max();
  std::array<T, 256> table;
  const float inverse_scale = 1.0f / out_q.scale;
  for (int32_t q = kMin; q <= kMax; ++q) {
    const float dequantized = in_q.scale * static_cast<float>(q - in_q.zero_point);
    const float rescaled = std::round(Sigmoid(dequantized) * inverse_scale);
    const int32_t quantized = static_cast<int32_t>(rescaled + static_cast<float>(out_q.zero_point));
    table[static_cast<uint8_t>(q)] = static_cast<T>(internal::Clamp32(quantized, kMin, kMax));
  }
  for (int64_t i = 0; i < count; ++i) output[i] = table[static_cast<uint8_t>(input[i])];
}

}  // namespace

Status Logistic(const TensorView& input, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, input));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  EP_RETURN_IF_ERROR(internal::CheckSameDType(kOp, output, input));
  EP_RETURN_IF_ERROR(internal::CheckSameShape(kOp, output, input));
  const int64_t n = static_cast<int64_t>(input.num_elements());
  if (input.dtype == DType::kFloat32) {
    const float* in = input.as<const float>();
    float* out = output.as<float>();
    for (int64_t i = 0; i < n; ++i) out[i] = Sigmoid(in[i]);
    return OkStatus();
  }
  if (!internal::IsQuantized8(input.dtype)) {
    return InvalidArgumentError("{}: input {} must be float32, uint8 or int8", kOp, Describe(input));
  }
  EP_ASSIGN_OR_RETURN(const internal::QuantParams in_q, internal::PerTensorQuant(kOp, input));
  EP_ASSIGN_OR_RETURN(const internal::QuantParams out_q, internal::PerTensorQuant(kOp, output));
  // TFLite's Prepare requires output scale 1/256 with zero point 0 (uint8) or -128 (int8).
  const int32_t expected_zp = input.dtype == DType::kUInt8 ? 0 : -128;
  if (out_q.scale != 1.0f / 256 || out_q.zero_point != expected_zp) {
    return InvalidArgumentError("{}: output {} must have scale 1/256 and zero point {}", kOp, Describe(output),
                                expected_zp);
  }
  if (input.dtype == DType::kUInt8) {
    LogisticQuantized(input.as<const uint8_t>(), n, in_q, out_q, output.as<uint8_t>());
  } else {
    LogisticQuantized(input.as<const int8_t>(), n, in_q, out_q, output.as<int8_t>());
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
