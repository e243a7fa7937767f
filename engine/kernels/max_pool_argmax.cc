// MaxPoolingWithArgmax2D (MediaPipe, older segmentation models): float32 max
// pooling that also writes where in its window each max was, as
// mediapipe/util/tflite/operations/max_pool_argmax.cc. The TfLitePoolParams
// parser is shared with MaxUnpooling2D.
#include <algorithm>
#include <array>
#include <limits>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/mediapipe_ops.h"
#include "engine/kernels/mediapipe_options.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "MaxPoolingWithArgmax2D";
constexpr int32_t kMaxWindow = 1 << 12;

// TFLite GetWindowedOutputSize for dilation 1.
int32_t PooledSize(bool same, int32_t in, int32_t filter, int32_t stride) {
  return same ? (in + stride - 1) / stride : (in - filter + stride) / stride;
}

}  // namespace

Result<MediaPipePoolOptions> ParseMediaPipePoolOptions(const uint8_t* bytes, size_t size, const char* op) {
  // padding, stride_width, stride_height, filter_width, filter_height, activation
  std::array<int32_t, 6> fields{};
  EP_RETURN_IF_ERROR(internal::ReadRawInt32Fields(op, "TfLitePoolParams", bytes, size, fields));
  MediaPipePoolOptions o;
  EP_ASSIGN_OR_RETURN(o.same_padding, internal::IsSamePadding(op, fields[0]));
  o.stride_width = fields[1];
  o.stride_height = fields[2];
  o.filter_width = fields[3];
  o.filter_height = fields[4];
  for (int32_t v : {o.stride_width, o.stride_height, o.filter_width, o.filter_height}) {
    if (v <= 0 || v > kMaxWindow) {
      return InvalidArgumentError("{}: stride {}x{} and filter {}x{} (width x height) must be in [1, {}]", op,
                                  o.stride_width, o.stride_height, o.filter_width, o.filter_height, kMaxWindow);
    }
  }
  switch (fields[5]) {  // TfLiteFusedActivation
    case 0: o.activation = FusedActivation::kNone; break;
    case 1: o.activation = FusedActivation::kRelu; break;
    case 2: o.activation = FusedActivation::kReluN1To1; break;
    case 3: o.activation = FusedActivation::kRelu6; break;
    default:
      return InvalidArgumentError("{}: fused activation {} is not supported (0 none, 1 relu, 2 relu_n1_to_1, 3 relu6)",
                                  op, fields[5]);
  }
  return o;
}

Status MaxPoolWithArgmax(const MediaPipePoolOptions& options, const TensorView& input, const TensorView& output,
                         const TensorView& indices) {
  for (const TensorView* t : {&input, &output, &indices}) {
    EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *t));
    EP_RETURN_IF_ERROR(internal::CheckDType(kOp, *t, DType::kFloat32));
  }
  if (input.rank() != 4) return InvalidArgumentError("{}: input {} must be 4-D (NHWC)", kOp, Describe(input));
  const int32_t batches = input.shape[0], in_h = input.shape[1], in_w = input.shape[2], depth = input.shape[3];
  const int32_t out_h = PooledSize(options.same_padding, in_h, options.filter_height, options.stride_height);
  const int32_t out_w = PooledSize(options.same_padding, in_w, options.filter_width, options.stride_width);
  if (out_h <= 0 || out_w <= 0) {
    return InvalidArgumentError("{}: input {} gives an empty output with the {}x{} window", kOp, Describe(input),
                                options.filter_height, options.filter_width);
  }
  if (output.rank() != 4 || output.shape[0] != batches || output.shape[1] != out_h || output.shape[2] != out_w ||
      output.shape[3] != depth) {
    return InvalidArgumentError("{}: output {} must be [{},{},{},{}] for input {}", kOp, Describe(output), batches,
                                out_h, out_w, depth, Describe(input));
  }
  EP_RETURN_IF_ERROR(internal::CheckSameShape(kOp, indices, output));
  // TFLite ComputePadding: half the total padding (rounded down) at the top/left, never negative.
  const int32_t pad_h = std::max(((out_h - 1) * options.stride_height + options.filter_height - in_h) / 2, 0);
  const int32_t pad_w = std::max(((out_w - 1) * options.stride_width + options.filter_width - in_w) / 2, 0);
  float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
  if (options.activation == FusedActivation::kRelu) lo = 0.0f;
  if (options.activation == FusedActivation::kRelu6) lo = 0.0f, hi = 6.0f;
  if (options.activation == FusedActivation::kReluN1To1) lo = -1.0f, hi = 1.0f;

  const float* in = input.as<const float>();
  float* out = output.as<float>();
  float* idx = indices.as<float>();
  for (int32_t n = 0; n < batches; ++n) {
    for (int32_t oy = 0; oy < out_h; ++oy) {
      const int32_t y0 = oy * options.stride_height - pad_h;
      const int32_t fy_begin = std::max(0, -y0), fy_end = std::min(options.filter_height, in_h - y0);
      for (int32_t ox = 0; ox < out_w; ++ox) {
        const int32_t x0 = ox * options.stride_width - pad_w;
        const int32_t fx_begin = std::max(0, -x0), fx_end = std::min(options.filter_width, in_w - x0);
        const int64_t out_offset = ((int64_t{n} * out_h + oy) * out_w + ox) * depth;
        for (int32_t c = 0; c < depth; ++c) {
          float best = std::numeric_limits<float>::lowest();
          int32_t best_x = 0, best_y = 0;
          for (int32_t fy = fy_begin; fy < fy_end; ++fy) {
            const float* row = in + ((int64_t{n} * in_h + y0 + fy) * in_w + x0) * depth + c;
            for (int32_t fx = fx_begin; fx < fx_end; ++fx) {
              const float v = row[int64_t{fx} * depth];
              if (v > best) {  // strict: the first max wins, NaN never does
                best = v;
                best_x = fx;
                best_y = fy;
              }
            }
          }
          out[out_offset + c] = std::min(std::max(best, lo), hi);
          // MediaPipe adds 0.1 so the float truncates back to the right integer.
          idx[out_offset + c] = static_cast<float>(best_y * options.filter_width + best_x) + 0.1f;
        }
      }
    }
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
