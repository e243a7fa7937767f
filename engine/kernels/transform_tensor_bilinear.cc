// TransformTensorBilinear version 2 (MediaPipe face mesh with attention):
// samples an NHWC tensor through an affine matrix with bilinear interpolation,
// pixel-center aligned, as mediapipe/util/tflite/operations/transform_tensor_bilinear.cc (v2).
#include <cmath>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/mediapipe_ops.h"
#include "engine/kernels/mediapipe_options.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "TransformTensorBilinear";
constexpr int32_t kMaxSize = 1 << 15;

}  // namespace

Result<TransformTensorBilinearOptions> ParseTransformTensorBilinearOptions(const uint8_t* bytes, size_t size) {
  EP_ASSIGN_OR_RETURN(const flexbuffers::Map map, internal::FlexMap(kOp, bytes, size));
  TransformTensorBilinearOptions o;
  EP_ASSIGN_OR_RETURN(o.output_height, internal::FlexInt(kOp, map, "output_height"));
  EP_ASSIGN_OR_RETURN(o.output_width, internal::FlexInt(kOp, map, "output_width"));
  if (o.output_height <= 0 || o.output_width <= 0 || o.output_height > kMaxSize || o.output_width > kMaxSize) {
    return InvalidArgumentError("{}: output size {}x{} must be in [1, {}]", kOp, o.output_height, o.output_width,
                                kMaxSize);
  }
  return o;
}

Status TransformTensorBilinear(const TransformTensorBilinearOptions& options, const TensorView& input,
                               const TensorView& matrix, const TensorView& output) {
  for (const TensorView* t : {&input, &matrix, &output}) {
    EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *t));
    EP_RETURN_IF_ERROR(internal::CheckDType(kOp, *t, DType::kFloat32));
  }
  if (input.rank() != 4 || input.shape[0] != 1) {
    return InvalidArgumentError("{}: input {} must be [1, H, W, C]", kOp, Describe(input));
  }
  if (matrix.num_elements() != 16 || matrix.rank() != 3 || matrix.shape[0] != 1) {
    return InvalidArgumentError("{}: matrix {} must be [1,4,4]", kOp, Describe(matrix));
  }
  const int32_t in_h = input.shape[1], in_w = input.shape[2], channels = input.shape[3];
  if (output.rank() != 4 || output.shape[0] != 1 || output.shape[1] != options.output_height ||
      output.shape[2] != options.output_width || output.shape[3] != channels) {
    return InvalidArgumentError("{}: output {} must be [1,{},{},{}] (options and input {})", kOp, Describe(output),
                                options.output_height, options.output_width, channels, Describe(input));
  }
  const float* m = matrix.as<const float>();
  float row_x[4] = {m[0], m[1], m[2], m[3]};
  float row_y[4] = {m[4], m[5], m[6], m[7]};
  // Pixel-center alignment: M' = S * M * A with A adding and S subtracting 0.5
  // in x and y; with M's third column and last rows the identity this only
  // moves the translation (MediaPipe evaluates it in double).
  row_x[3] = static_cast<float>(row_x[3] + (row_x[0] * 0.5 + row_x[1] * 0.5 - 0.5));
  row_y[3] = static_cast<float>(row_y[3] + (row_y[0] * 0.5 + row_y[1] * 0.5 - 0.5));

  const float* in = input.as<const float>();
  float* out = output.as<float>();
  auto at = [&](int32_t y, int32_t x, int32_t c) -> float {
    return y < 0 || x < 0 || y >= in_h || x >= in_w ? 0.0f : in[(int64_t{y} * in_w + x) * channels + c];
  };
  for (int32_t oy = 0; oy < options.output_height; ++oy) {
    for (int32_t ox = 0; ox < options.output_width; ++ox) {
      const float fx = static_cast<float>(ox), fy = static_cast<float>(oy);
      // Dot products with (x, y, 0, 1), summed left to right in float.
      const float tx = row_x[0] * fx + row_x[1] * fy + row_x[2] * 0.0f + row_x[3] * 1.0f;
      const float ty = row_y[0] * fx + row_y[1] * fy + row_y[2] * 0.0f + row_y[3] * 1.0f;
      float* out_px = out + (int64_t{oy} * options.output_width + ox) * channels;
      // Outside the input (or NaN): zeros.
      if (!(tx >= 0.0f && tx <= static_cast<float>(in_w - 1) && ty >= 0.0f && ty <= static_cast<float>(in_h - 1))) {
        for (int32_t c = 0; c < channels; ++c) out_px[c] = 0.0f;
        continue;
      }
      const float x0f = std::floor(tx), y0f = std::floor(ty);
      const int32_t x0 = static_cast<int32_t>(x0f), y0 = static_cast<int32_t>(y0f);
      const float right = tx - x0f, lower = ty - y0f;
      for (int32_t c = 0; c < channels; ++c) {
        // MediaPipe blends in double (its 1.0 literals); the same here so sums round alike.
        const float upper_v = static_cast<float>((1.0 - right) * at(y0, x0, c) + right * at(y0, x0 + 1, c));
        const float lower_v = static_cast<float>((1.0 - right) * at(y0 + 1, x0, c) + right * at(y0 + 1, x0 + 1, c));
        out_px[c] = static_cast<float>(lower * lower_v + (1.0 - lower) * upper_v);
      }
    }
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
