// SOFTMAX over the last axis: float32, and uint8/int8 with TFLite's
// lookup-table algorithm (optimized_ops::Softmax with PopulateSoftmaxLookupTable,
// which is what the x86 TFLite/LiteRT build runs for both uint8 and int8).
#include <array>
#include <cmath>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "Softmax";

void SoftmaxFloat(const float* input, int64_t outer, int64_t depth, float beta, float* output) {
  for (int64_t i = 0; i < outer; ++i, input += depth, output += depth) {
    float max_value = input[0];
    for (int64_t j = 1; j < depth; ++j) max_value = std::fmax(max_value, input[j]);
    float sum = 0.0f;
    for (int64_t j = 0; j < depth; ++j) {
      output[j] = std::exp((input[j] - max_value) * beta);
      sum += output[j];
    }
    const float inverse_sum = 1.0f / sum;
    for (int64_t j = 0; j < depth; ++j) output[j] *= inverse_sum;
  }
}

// table[255 - d] = expf(-input_scale * beta * d) for d = max - q in [0, 255].
// Per row: sum_exp = sum of table entries (float, in order);
// inv = 1 / (sum_exp * output_scale); p = table_entry * inv;
// uint8: q = static_cast<int32>(p + 0.5f)        (x86 QuantizeSoftmaxOutput<uint8>)
// int8:  q = static_cast<int32>(std::round(p)) + zero_point (-128)
// then clamp to the output type.
template <typename T>
void SoftmaxQuantized(const T* input, int64_t outer, int64_t depth, const std::array<float, 256>& table,
                      float output_scale, int32_t output_zero_point, T* output) {
  constexpr int32_t kMin = std::numeric_limits<T>::min();
  constexpr int32_t kMax = std::numeric_limits<T>::max();
  for (int64_t i = 0; i < outer; ++i, input += depth, output += depth) {
    int32_t max_value = kMin;
    for (int64_t j = 0; j < depth; ++j) max_value = std::max<int32_t>(max_value, input[j]);
    // table_offset[q] == table[255 - (max - q)]
    const float* table_offset = table.data() + 255 - max_value;
    float sum_exp = 0.0f;
    for (int64_t j = 0; j < depth; ++j) sum_exp += table_offset[input[j]];
    const float inverse_sum_exp = 1.0f / (sum_exp * output_scale);
    for (int64_t j = 0; j < depth; ++j) {
      const float prob_rescaled = table_offset[input[j]] * inverse_sum_exp;
      int32_t q;
      if constexpr (std::is_same_v<T, uint8_t>) {
        q = static_cast<int32_t>(prob_rescaled + 0.5f);
      } else {
        q = static_cast<int32_t>(std::round(prob_rescaled)) + output_zero_point;
      }
      output[j] = static_cast<T>(internal::Clamp32(q, kMin, kMax));
    }
  }
}

}  // namespace

Status Softmax(const TensorView& input, float beta, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, input));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  EP_RETURN_IF_ERROR(internal::CheckSameDType(kOp, output, input));
  EP_RETURN_IF_ERROR(internal::CheckSameShape(kOp, output, input));
  if (input.rank() < 1) return InvalidArgumentError("{}: input {} must have rank >= 1", kOp, Describe(input));
  const int64_t depth = input.shape.back();
  if (depth == 0) return OkStatus();
  const int64_t outer = static_cast<int64_t>(input.num_elements()) / depth;

  switch (input.dtype) {
    case DType::kFloat32:
      SoftmaxFloat(input.as<const float>(), outer, depth, beta, output.as<float>());
      return OkStatus();
    case DType::kUInt8:
    case DType::kInt8: {
      EP_ASSIGN_OR_RETURN(const internal::QuantParams in_q, internal::PerTensorQuant(kOp, input));
      EP_ASSIGN_OR_RETURN(const internal::QuantParams out_q, internal::PerTensorQuant(kOp, output));
      const int32_t expected_zp = input.dtype == DType::kUInt8 ? 0 : -128;
      // TFLite's Prepare requires exactly this output quantization.
      if (out_q.scale != 1.0f / 256 || out_q.zero_point != expected_zp) {
        return InvalidArgumentError("{}: output {} must have scale 1/256 and zero point {} (has {} and {})", kOp,
                                    Describe(output), expected_zp, out_q.scale, out_q.zero_point);
      }
      std::array<float, 256> table;
      const float scale = -in_q.scale * beta;
      for (int32_t d = 0; d <= 255; ++d) table[255 - d] = std::exp(scale * static_cast<float>(d));
      if (input.dtype == DType::kUInt8) {
        SoftmaxQuantized(input.as<const uint8_t>(), outer, depth, table, out_q.scale, out_q.zero_point,
                         output.as<uint8_t>());
      } else {
        SoftmaxQuantized(input.as<const int8_t>(), outer, depth, table, out_q.scale, out_q.zero_point,
                         output.as<int8_t>());
      }
      return OkStatus();
    }
    default:
      return InvalidArgumentError("{}: input {} must be float32, uint8 or int8", kOp, Describe(input));
  }
}

}  // namespace edgepipe::engine::kernels
