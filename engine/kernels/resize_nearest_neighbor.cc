// RESIZE_NEAREST_NEIGHBOR, NHWC, any dtype (copies whole pixels).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "ResizeNearestNeighbor";

// TFLite reference_ops GetNearestNeighbor:
//   scale = align_corners && out > 1 ? (in - 1) / float(out - 1) : in / float(out)
//   offset = half_pixel_centers ? 0.5 : 0
//   v = align_corners ? TfLiteRound((o + offset) * scale) : floor((o + offset) * scale)
//   v = min(v, in - 1); and max(v, 0) when half_pixel_centers.
inline int32_t NearestSource(int32_t output_index, int32_t input_size, int32_t output_size, bool align_corners,
                             bool half_pixel_centers) {
  const float scale = (align_corners && output_size > 1)
                          ? static_cast<float>(input_size - 1) / static_cast<float>(output_size - 1)
                          : static_cast<float>(input_size) / static_cast<float>(output_size);
  const float offset = half_pixel_centers ? 0.5f : 0.0f;
  const float position = (static_cast<float>(output_index) + offset) * scale;
  int32_t value = align_corners ? static_cast<int32_t>(std::round(position)) : static_cast<int32_t>(std::floor(position));
  value = std::min(value, input_size - 1);
  if (half_pixel_centers) value = std::max(value, 0);
  return value;
}

}  // namespace

Status ResizeNearestNeighbor(const TensorView& input, bool align_corners, bool half_pixel_centers,
                             const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, input));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  EP_RETURN_IF_ERROR(internal::CheckSameDType(kOp, output, input));
  if (input.rank() != 4 || output.rank() != 4) {
    return InvalidArgumentError("{}: input {} and output {} must be NHWC (rank 4)", kOp, Describe(input), Describe(output));
  }
  if (input.shape[0] != output.shape[0] || input.shape[3] != output.shape[3]) {
    return InvalidArgumentError("{}: output {} must keep the batch and channels of input {}", kOp, Describe(output),
                                Describe(input));
  }
  if (internal::IsQuantizedInteger(input.dtype) && !input.quant.empty() && !output.quant.empty() &&
      (input.quant.scale != output.quant.scale || input.quant.zero_point != output.quant.zero_point)) {
    return InvalidArgumentError("{}: output {} must have the quantization of input {}", kOp, Describe(output),
                                Describe(input));
  }
  const int32_t batches = input.shape[0], in_h = input.shape[1], in_w = input.shape[2], depth = input.shape[3];
  const int32_t out_h = output.shape[1], out_w = output.shape[2];
  if (output.num_elements() == 0) return OkStatus();
  if (in_h == 0 || in_w == 0) {
    return InvalidArgumentError("{}: input {} is empty but output {} is not", kOp, Describe(input), Describe(output));
  }
  const size_t pixel_bytes = static_cast<size_t>(depth) * DTypeSize(input.dtype);
  const auto* in = static_cast<const uint8_t*>(input.data);
  auto* out = static_cast<uint8_t*>(output.data);
  for (int32_t b = 0; b < batches; ++b) {
    const uint8_t* in_batch = in + static_cast<size_t>(b) * in_h * in_w * pixel_bytes;
    for (int32_t y = 0; y < out_h; ++y) {
      const int32_t in_y = NearestSource(y, in_h, out_h, align_corners, half_pixel_centers);
      const uint8_t* in_row = in_batch + static_cast<size_t>(in_y) * in_w * pixel_bytes;
      for (int32_t x = 0; x < out_w; ++x) {
        const int32_t in_x = NearestSource(x, in_w, out_w, align_corners, half_pixel_centers);
        std::memcpy(out, in_row + static_cast<size_t>(in_x) * pixel_bytes, pixel_bytes);
        out += pixel_bytes;
      }
    }
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
