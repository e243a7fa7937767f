// Convolution2DTransposeBias (MediaPipe): TFLite's TRANSPOSE_CONV with a bias
// input, float32, as mediapipe/util/tflite/operations/transpose_conv_bias.cc.
#include <algorithm>
#include <array>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/mediapipe_ops.h"
#include "engine/kernels/mediapipe_options.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "Convolution2DTransposeBias";
constexpr int32_t kMaxStride = 1 << 12;
// Filter taps of one row accumulated together (independent sums).
constexpr int32_t kTapBlock = 8;

// The total padding MediaPipe's Prepare computes for one spatial axis.
int32_t TotalPadding(bool same, int32_t in, int32_t filter, int32_t stride) {
  return same ? std::max(0, filter - (in - 1) % stride - 1) : 0;
}

}  // namespace

Result<TransposeConvBiasOptions> ParseTransposeConvBiasOptions(const uint8_t* bytes, size_t size) {
  std::array<int32_t, 3> fields{};  // padding, stride_width, stride_height
  EP_RETURN_IF_ERROR(internal::ReadRawInt32Fields(kOp, "TfLiteTransposeConvParams", bytes, size, fields));
  TransposeConvBiasOptions o;
  EP_ASSIGN_OR_RETURN(o.same_padding, internal::IsSamePadding(kOp, fields[0]));
  o.stride_width = fields[1];
  o.stride_height = fields[2];
  if (o.stride_width <= 0 || o.stride_height <= 0 || o.stride_width > kMaxStride || o.stride_height > kMaxStride) {
    return InvalidArgumentError("{}: strides {}x{} (width x height) must be in [1, {}]", kOp, o.stride_width,
                                o.stride_height, kMaxStride);
  }
  return o;
}

Status TransposeConvBias(const TransposeConvBiasOptions& options, const TensorView& input,
                         const TensorView& filter, const TensorView& bias, const TensorView& output) {
  for (const TensorView* t : {&input, &filter, &bias, &output}) {
    EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *t));
    EP_RETURN_IF_ERROR(internal::CheckDType(kOp, *t, DType::kFloat32));
  }
  if (input.rank() != 4 || filter.rank() != 4 || output.rank() != 4 || bias.rank() != 1) {
    return InvalidArgumentError("{}: input {}, filter {} and output {} must be 4-D and bias {} 1-D", kOp,
                                Describe(input), Describe(filter), Describe(output), Describe(bias));
  }
  const int32_t batches = input.shape[0], in_h = input.shape[1], in_w = input.shape[2], in_c = input.shape[3];
  const int32_t out_c = filter.shape[0], k_h = filter.shape[1], k_w = filter.shape[2];
  if (filter.shape[3] != in_c) {
    return InvalidArgumentError("{}: filter {} (OHWI) must have the {} input channels of {}", kOp, Describe(filter),
                                in_c, Describe(input));
  }
  if (bias.shape[0] != out_c) {
    return InvalidArgumentError("{}: bias {} must have the {} output channels of filter {}", kOp, Describe(bias),
                                out_c, Describe(filter));
  }
  if (in_h == 0 || in_w == 0) return InvalidArgumentError("{}: input {} is empty", kOp, Describe(input));
  const int32_t pad_h = TotalPadding(options.same_padding, in_h, k_h, options.stride_height);
  const int32_t pad_w = TotalPadding(options.same_padding, in_w, k_w, options.stride_width);
  const int64_t expect_h = int64_t{options.stride_height} * (in_h - 1) + k_h - pad_h;
  const int64_t expect_w = int64_t{options.stride_width} * (in_w - 1) + k_w - pad_w;
  if (output.shape[0] != batches || output.shape[1] != expect_h || output.shape[2] != expect_w ||
      output.shape[3] != out_c) {
    return InvalidArgumentError("{}: output {} must be [{},{},{},{}] for input {}, filter {} and stride {}x{}", kOp,
                                Describe(output), batches, expect_h, expect_w, out_c, Describe(input),
                                Describe(filter), options.stride_height, options.stride_width);
  }
  const int32_t out_h = output.shape[1], out_w = output.shape[2];
  // MediaPipe cuts half the total padding (rounded down) at the top/left.
  const int32_t top = pad_h / 2, left = pad_w / 2;

  const float* in = input.as<const float>();
  const float* w = filter.as<const float>();
  const float* b = bias.as<const float>();
  float* out = output.as<float>();
  const int64_t out_pixels = int64_t{out_h} * out_w;
  for (int32_t n = 0; n < batches; ++n) {
    float* out_n = out + n * out_pixels * out_c;
    for (int64_t p = 0; p < out_pixels; ++p) std::copy(b, b + out_c, out_n + p * out_c);
    // Scatter: each input pixel adds its filter-weighted values to the
    // stride-spaced window it covers. Each output still sums its products in
    // MediaPipe's order (input pixels in raster order, then input channels), so
    // results round alike; a filter row's taps are independent sums, which keeps
    // several multiply-adds in flight.
    for (int32_t iy = 0; iy < in_h; ++iy) {
      for (int32_t ix = 0; ix < in_w; ++ix) {
        const float* in_px = in + ((int64_t{n} * in_h + iy) * in_w + ix) * in_c;
        const int32_t oy0 = iy * options.stride_height - top, ox0 = ix * options.stride_width - left;
        const int32_t kx_begin = std::max(0, -ox0), kx_end = std::min(k_w, out_w - ox0);
        for (int32_t ky = std::max(0, -oy0); ky < std::min(k_h, out_h - oy0); ++ky) {
          // ox0 may be negative: index from out_n, only in-range taps are touched.
          const int64_t row_base = (int64_t{oy0 + ky} * out_w + ox0) * out_c;
          for (int32_t oc = 0; oc < out_c; ++oc) {
            const float* w_row = w + ((int64_t{oc} * k_h + ky) * k_w) * in_c;
            for (int32_t kx0 = kx_begin; kx0 < kx_end; kx0 += kTapBlock) {
              const int32_t taps = std::min(kTapBlock, kx_end - kx0);
              float acc[kTapBlock];
              for (int32_t t = 0; t < taps; ++t) acc[t] = out_n[row_base + int64_t{kx0 + t} * out_c + oc];
              for (int32_t ic = 0; ic < in_c; ++ic) {
                const float v = in_px[ic];
                for (int32_t t = 0; t < taps; ++t) acc[t] += v * w_row[int64_t{kx0 + t} * in_c + ic];
              }
              for (int32_t t = 0; t < taps; ++t) out_n[row_base + int64_t{kx0 + t} * out_c + oc] = acc[t];
            }
          }
        }
      }
    }
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
