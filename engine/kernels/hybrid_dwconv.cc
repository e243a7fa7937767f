// Hybrid DEPTHWISE_CONV_2D (hybrid_ops.h): TFLite's depthwise
// EvalHybridPerChannel. Each batch image is quantized asymmetrically
// (AsymmetricQuantizeFloats), every output channel sums (q - zero point) x w
// over its window in int32 (padded taps add nothing), and output =
// float(sum) x filter scale x image scale + bias, then the activation
// (reference DepthwiseConvHybridPerChannel). One loop for every CPU: the
// channel loop is contiguous in NHWC, so GCC vectorises it at -O3.
#include <algorithm>

#include "engine/kernels/hybrid_ops.h"
#include "engine/kernels/kernel_util.h"
#include "engine/kernels/q8_gemm.h"

namespace edgepipe::engine::kernels {
namespace {
constexpr std::string_view kOp = "HybridDepthwiseConv2D";
}  // namespace

HybridDepthwiseConv::~HybridDepthwiseConv() = default;

Result<std::unique_ptr<HybridDepthwiseConv>> HybridDepthwiseConv::Create(
    const TensorView& input, const TensorView& filter, const TensorView* bias, const TensorView& output,
    const ConvParams& p, int depth_multiplier, int num_parts) {
  using internal::Describe;
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, input, DType::kFloat32));
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, output, DType::kFloat32));
  if (input.rank() != 4 || filter.rank() != 4 || output.rank() != 4 || filter.shape[0] != 1 ||
      depth_multiplier < 1 || filter.shape[3] != input.shape[3] * depth_multiplier ||
      output.shape[0] != input.shape[0] || output.shape[3] != filter.shape[3])
    return InvalidArgumentError("{}: filter {} (depth multiplier {}) does not match input {} and output {}", kOp,
                                Describe(filter), depth_multiplier, Describe(input), Describe(output));
  if (num_parts < 1) return InvalidArgumentError("{}: {} parts", kOp, num_parts);
  auto conv = std::unique_ptr<HybridDepthwiseConv>(new HybridDepthwiseConv());
  const int out_c = filter.shape[3];
  EP_RETURN_IF_ERROR(internal::CheckHybridWeights(kOp, filter, bias, out_c, 3, conv->filter_scale_, conv->bias_));
  EP_ASSIGN_OR_RETURN(const internal::ConvPadding padding,
                      internal::CheckConvGeometry(kOp, input, filter.shape[1], filter.shape[2], p, output));
  HybridConv::Geometry& g = conv->g_;
  g = {input.shape[0], input.shape[1], input.shape[2], input.shape[3], output.shape[1], output.shape[2], out_c,
       filter.shape[1], filter.shape[2], p.stride_height, p.stride_width, p.dilation_height, p.dilation_width,
       padding.top, padding.left};
  conv->multiplier_ = depth_multiplier;
  conv->filter_.assign(filter.as<const int8_t>(), filter.as<const int8_t>() + filter.num_elements());
  conv->range_ = FloatActivationRange(p.activation);
  const int64_t rows = static_cast<int64_t>(g.n) * g.out_h;
  conv->num_parts_ = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(num_parts, rows)));
  conv->quantized_.assign(input.num_elements(), 0);
  conv->batch_scale_.assign(g.n, 1.0f);
  conv->batch_zero_.assign(g.n, 0);
  conv->acc_.assign(static_cast<size_t>(conv->num_parts_) * out_c, 0);
  conv->input_shape_ = input.shape;
  conv->output_shape_ = output.shape;
  return conv;
}

Status HybridDepthwiseConv::Prepare(const TensorView& input) {
  if (input.dtype != DType::kFloat32 || input.shape != input_shape_ || input.data == nullptr)
    return InvalidArgumentError("{}: input {} differs from the planned one", kOp, internal::Describe(input));
  const int64_t size = static_cast<int64_t>(g_.in_h) * g_.in_w * g_.in_c;
  for (int b = 0; b < g_.n; ++b)
    AsymmetricQuantizeFloats(input.as<const float>() + b * size, size, quantized_.data() + b * size,
                             &batch_scale_[b], &batch_zero_[b]);
  return OkStatus();
}

Status HybridDepthwiseConv::RunPart(const TensorView& output, int part) {
  if (output.dtype != DType::kFloat32 || output.shape != output_shape_ || output.data == nullptr)
    return InvalidArgumentError("{}: output {} differs from the planned one", kOp, internal::Describe(output));
  if (part < 0 || part >= num_parts_) return InvalidArgumentError("{}: part {} of {}", kOp, part, num_parts_);
  const HybridConv::Geometry& g = g_;
  const int64_t rows = static_cast<int64_t>(g.n) * g.out_h;
  const int64_t first = rows * part / num_parts_, last = rows * (part + 1) / num_parts_;
  int32_t* acc = acc_.data() + static_cast<size_t>(part) * g.out_c;
  const int m = multiplier_, out_c = g.out_c;
  float* out = output.as<float>();
  for (int64_t row = first; row < last; ++row) {
    const int b = static_cast<int>(row / g.out_h), oy = static_cast<int>(row % g.out_h);
    const int32_t zero = batch_zero_[b];
    const float image_scale = batch_scale_[b];
    for (int ox = 0; ox < g.out_w; ++ox) {
      std::fill_n(acc, out_c, 0);
      for (int ky = 0; ky < g.k_h; ++ky) {
        const int iy = oy * g.stride_h - g.pad_top + ky * g.dil_h;
        if (iy < 0 || iy >= g.in_h) continue;
        for (int kx = 0; kx < g.k_w; ++kx) {
          const int ix = ox * g.stride_w - g.pad_left + kx * g.dil_w;
          if (ix < 0 || ix >= g.in_w) continue;
          const int8_t* x = quantized_.data() + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * g.in_c;
          const int8_t* w = filter_.data() + (static_cast<int64_t>(ky) * g.k_w + kx) * out_c;
          if (m == 1) {
            for (int c = 0; c < out_c; ++c) acc[c] += (static_cast<int32_t>(x[c]) - zero) * w[c];
          } else {
            for (int c = 0; c < out_c; ++c) acc[c] += (static_cast<int32_t>(x[c / m]) - zero) * w[c];
          }
        }
      }
      float* o = out + ((static_cast<int64_t>(b) * g.out_h + oy) * g.out_w + ox) * out_c;
      for (int c = 0; c < out_c; ++c) {
        const float v = static_cast<float>(acc[c]) * filter_scale_[c] * image_scale + bias_[c];
        o[c] = std::min(range_.max, std::max(range_.min, v));
      }
    }
  }
  return OkStatus();
}

Status HybridDepthwiseConv::Run(const TensorView& input, const TensorView& output) {
  EP_RETURN_IF_ERROR(Prepare(input));
  for (int part = 0; part < num_parts_; ++part) EP_RETURN_IF_ERROR(RunPart(output, part));
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
