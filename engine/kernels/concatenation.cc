// CONCATENATION. Byte copies for every dtype; uint8/int8 inputs whose
// quantization differs from the output's are requantized element by element.
#include <algorithm>
#include <cstring>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "Concatenation";

// TFLite reference_ops::ConcatenationWithScaling: with
//   scale = input_scale * (1 / output_scale)   (float, reciprocal first)
//   bias  = -input_zero_point * scale
// q_out = clamp(TfLiteRound(q_in * scale + bias) + output_zero_point), where
// TfLiteRound rounds half away from zero. All arithmetic in float, no FMA.
template <typename T>
void RequantizeCopy(const T* input, int64_t count, float scale, float bias, int32_t output_zero_point,
                    T* output) {
  constexpr int32_t kMin = std::numeric_limits<T>::min();
  constexpr int32_t kMax = std::numeric_limits<T>::max();
  for (int64_t j = 0; j < count; ++j) {
    const float scaled = static_cast<float>(input[j]) * scale + bias;
    const int32_t value = static_cast<int32_t>(std::round(scaled)) + output_zero_point;
    output[j] = static_cast<T>(internal::Clamp32(value, kMin, kMax));
  }
}

}  // namespace

Status Concatenation(TensorList inputs, int axis, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  if (inputs.empty()) return InvalidArgumentError("{}: no inputs for output {}", kOp, Describe(output));
  const int rank = output.rank();
  EP_ASSIGN_OR_RETURN(const int concat_axis, internal::NormalizeAxis(kOp, axis, rank, output));

  int64_t axis_total = 0;
  for (const TensorView* input : inputs) {
    if (input == nullptr) return InvalidArgumentError("{}: null input for output {}", kOp, Describe(output));
    EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *input));
    EP_RETURN_IF_ERROR(internal::CheckSameDType(kOp, *input, output));
    if (input->rank() != rank) {
      return InvalidArgumentError("{}: input {} must have the rank of output {}", kOp, Describe(*input),
                                  Describe(output));
    }
    for (int d = 0; d < rank; ++d) {
      if (d != concat_axis && input->shape[d] != output.shape[d]) {
        return InvalidArgumentError("{}: input {} differs from output {} outside axis {}", kOp,
                                    Describe(*input), Describe(output), concat_axis);
      }
    }
    axis_total += input->shape[concat_axis];
  }
  if (axis_total != output.shape[concat_axis]) {
    return InvalidArgumentError("{}: inputs' sizes along axis {} sum to {}, but output {} has {}", kOp,
                                concat_axis, axis_total, Describe(output), output.shape[concat_axis]);
  }

  const bool quantized = internal::IsQuantized8(output.dtype);
  internal::QuantParams out_q;
  if (quantized) {
    EP_ASSIGN_OR_RETURN(out_q, internal::PerTensorQuant(kOp, output));
    for (const TensorView* input : inputs) EP_RETURN_IF_ERROR(internal::PerTensorQuant(kOp, *input));
  }

  const size_t element_size = DTypeSize(output.dtype);
  const int64_t outer = internal::DimProduct(output.shape, 0, concat_axis);
  const int64_t inner = internal::DimProduct(output.shape, concat_axis + 1, rank);
  const float inverse_output_scale = quantized ? 1.0f / out_q.scale : 1.0f;

  auto* out = static_cast<uint8_t*>(output.data);
  for (int64_t k = 0; k < outer; ++k) {
    for (const TensorView* input : inputs) {
      const int64_t count = input->shape[concat_axis] * inner;
      const auto* in = static_cast<const uint8_t*>(input->data) + k * count * element_size;
      bool copy = true;
      if (quantized) {
        const float in_scale = input->quant.scale[0];
        const int32_t in_zp = input->quant.zero_point.empty() ? 0 : static_cast<int32_t>(input->quant.zero_point[0]);
        if (in_scale != out_q.scale || in_zp != out_q.zero_point) {
          copy = false;
          const float scale = in_scale * inverse_output_scale;
          const float bias = static_cast<float>(-in_zp) * scale;
          if (output.dtype == DType::kUInt8) {
            RequantizeCopy(in, count, scale, bias, out_q.zero_point, out);
          } else {
            RequantizeCopy(reinterpret_cast<const int8_t*>(in), count, scale, bias, out_q.zero_point,
                           reinterpret_cast<int8_t*>(out));
          }
        }
      }
      if (copy && count > 0) std::memcpy(out, in, static_cast<size_t>(count) * element_size);
      out += count * element_size;
    }
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
