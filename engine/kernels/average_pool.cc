// Semantics: tensorflow/lite/kernels/internal/reference/pooling.h (uint8
// AveragePool) and reference/integer_ops/pooling.h (int8 AveragePool).
#include "engine/kernels/average_pool.h"

#include <algorithm>
#include <cmath>

#include "engine/kernels/kernel_util.h"

namespace edgepipe::engine::kernels {
namespace {

constexpr std::string_view kOp = "AveragePool2D";

template <typename T>
void Pool(const TensorView& input, const Pool2DParams& p, int pad_top, int pad_left, internal::IntRange range,
          const TensorView& output) {
  const int batches = input.shape[0], in_h = input.shape[1], in_w = input.shape[2], depth = input.shape[3];
  const int out_h = output.shape[1], out_w = output.shape[2];
  const T* in = input.as<const T>();
  T* out = output.as<T>();
  for (int b = 0; b < batches; ++b) {
    for (int oy = 0; oy < out_h; ++oy) {
      const int y0 = oy * p.stride_height - pad_top;
      const int fy_start = std::max(0, -y0), fy_end = std::min(p.filter_height, in_h - y0);
      for (int ox = 0; ox < out_w; ++ox) {
        const int x0 = ox * p.stride_width - pad_left;
        const int fx_start = std::max(0, -x0), fx_end = std::min(p.filter_width, in_w - x0);
        const int count = std::max(0, fy_end - fy_start) * std::max(0, fx_end - fx_start);
        T* dst = out + ((static_cast<int64_t>(b) * out_h + oy) * out_w + ox) * depth;
        for (int c = 0; c < depth; ++c) {
          int32_t acc = 0;
          for (int fy = fy_start; fy < fy_end; ++fy)
            for (int fx = fx_start; fx < fx_end; ++fx)
              acc += in[((static_cast<int64_t>(b) * in_h + y0 + fy) * in_w + x0 + fx) * depth + c];
          int32_t mean;
          if constexpr (std::is_same_v<T, uint8_t>) {
            mean = (acc + count / 2) / count;
          } else {
            mean = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          }
          dst[c] = static_cast<T>(std::clamp(mean, range.min, range.max));
        }
      }
    }
  }
}

}  // namespace

Status AveragePool2DQuantized(const TensorView& input, const Pool2DParams& params, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, input));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  EP_RETURN_IF_ERROR(internal::CheckSameDType(kOp, output, input));
  if (!internal::IsQuantized8(input.dtype))
    return InvalidArgumentError("{}: input {} must be uint8 or int8", kOp, internal::Describe(input));
  if (input.rank() != 4 || output.rank() != 4 || input.shape[0] != output.shape[0] ||
      input.shape[3] != output.shape[3])
    return InvalidArgumentError("{}: input {} and output {} must be NHWC with equal N and C", kOp,
                                internal::Describe(input), internal::Describe(output));
  if (params.filter_height < 1 || params.filter_width < 1 || params.stride_height < 1 || params.stride_width < 1)
    return InvalidArgumentError("{}: filter and strides must be positive", kOp);
  EP_ASSIGN_OR_RETURN(auto in_q, internal::PerTensorQuant(kOp, input));
  EP_ASSIGN_OR_RETURN(auto out_q, internal::PerTensorQuant(kOp, output));
  if (in_q.scale != out_q.scale || in_q.zero_point != out_q.zero_point)
    return InvalidArgumentError("{}: input {} and output {} must share quantization", kOp,
                                internal::Describe(input), internal::Describe(output));
  int pad_top = 0, pad_left = 0;
  if (params.same_padding) {
    pad_top = std::max(0, ((output.shape[1] - 1) * params.stride_height + params.filter_height - input.shape[1]) / 2);
    pad_left = std::max(0, ((output.shape[2] - 1) * params.stride_width + params.filter_width - input.shape[2]) / 2);
  }
  // Every window must overlap the input, otherwise the mean is undefined.
  if ((output.shape[1] - 1) * params.stride_height - pad_top >= input.shape[1] ||
      (output.shape[2] - 1) * params.stride_width - pad_left >= input.shape[2])
    return InvalidArgumentError("{}: output {} has windows outside input {}", kOp, internal::Describe(output),
                                internal::Describe(input));
  const auto range = internal::QuantizedActivationRange(params.activation, output.dtype, out_q);
  if (input.dtype == DType::kUInt8)
    Pool<uint8_t>(input, params, pad_top, pad_left, range, output);
  else
    Pool<int8_t>(input, params, pad_top, pad_left, range, output);
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
