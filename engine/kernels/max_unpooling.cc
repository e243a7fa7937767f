// MaxUnpooling2D (MediaPipe, older segmentation models): scatters each input
// value to the window position MaxPoolingWithArgmax2D recorded, as
// mediapipe/util/tflite/operations/max_unpooling.cc.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/mediapipe_ops.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "MaxUnpooling2D";

}  // namespace

Status MaxUnpooling(const MediaPipePoolOptions& options, const TensorView& input, const TensorView& indices,
                    const TensorView& output) {
  for (const TensorView* t : {&input, &indices, &output}) {
    EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *t));
    EP_RETURN_IF_ERROR(internal::CheckDType(kOp, *t, DType::kFloat32));
  }
  if (input.rank() != 4) return InvalidArgumentError("{}: input {} must be 4-D (NHWC)", kOp, Describe(input));
  EP_RETURN_IF_ERROR(internal::CheckSameShape(kOp, indices, input));
  const int32_t batches = input.shape[0], in_h = input.shape[1], in_w = input.shape[2], depth = input.shape[3];
  // MediaPipe's Prepare: the output is the input times the filter size (the
  // padding type is not consulted).
  const int64_t out_h64 = int64_t{in_h} * options.filter_height, out_w64 = int64_t{in_w} * options.filter_width;
  if (output.rank() != 4 || output.shape[0] != batches || output.shape[1] != out_h64 || output.shape[2] != out_w64 ||
      output.shape[3] != depth) {
    return InvalidArgumentError("{}: output {} must be [{},{},{},{}] for input {} and filter {}x{}", kOp,
                                Describe(output), batches, out_h64, out_w64, depth, Describe(input),
                                options.filter_height, options.filter_width);
  }
  const int32_t out_h = output.shape[1], out_w = output.shape[2];
  // TFLite ComputePadding with the roles of the pooled and unpooled sizes swapped, as MediaPipe calls it.
  const int32_t pad_h = std::max(((in_h - 1) * options.stride_height + options.filter_height - out_h) / 2, 0);
  const int32_t pad_w = std::max(((in_w - 1) * options.stride_width + options.filter_width - out_w) / 2, 0);

  const float* in = input.as<const float>();
  const float* idx = indices.as<const float>();
  float* out = output.as<float>();
  std::memset(out, 0, output.num_bytes());
  for (int32_t n = 0; n < batches; ++n) {
    for (int32_t iy = 0; iy < in_h; ++iy) {
      for (int32_t ix = 0; ix < in_w; ++ix) {
        const int64_t in_offset = ((int64_t{n} * in_h + iy) * in_w + ix) * depth;
        for (int32_t c = 0; c < depth; ++c) {
          const float encoded = idx[in_offset + c];
          // Truncation toward zero, as MediaPipe's float -> int conversion; an
          // index that is not a finite int32 cannot name a position.
          if (!(std::fabs(encoded) < 2147483520.0f)) continue;
          const int32_t window = static_cast<int32_t>(encoded);
          const int32_t oy = iy * options.stride_height - pad_h + window / options.filter_width;
          const int32_t ox = ix * options.stride_width - pad_w + window % options.filter_width;
          if (oy < 0 || oy >= out_h || ox < 0 || ox >= out_w) continue;  // untrusted index
          out[((int64_t{n} * out_h + oy) * out_w + ox) * depth + c] = in[in_offset + c];
        }
      }
    }
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
