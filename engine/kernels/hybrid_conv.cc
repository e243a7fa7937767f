// Hybrid CONV_2D (hybrid_ops.h): TFLite's conv EvalHybridPerChannel (filter
// scales that differ per channel: each batch image quantized asymmetrically)
// and EvalHybrid (one scale: symmetric). Chunks of output pixels are
// im2col'd from the quantized input, padded taps holding the image's zero
// point so that they add nothing, multiplied with the filter in int32
// (q8_gemm.h), and output = float(dot - zero point x sum(w)) x filter scale x
// image scale + bias, then the activation (reference HybridConvPerChannel).
#include <algorithm>

#include "engine/kernels/hybrid_ops.h"
#include "engine/kernels/kernel_util.h"
#include "engine/kernels/q8_gemm.h"

namespace edgepipe::engine::kernels {
namespace {

constexpr std::string_view kOp = "HybridConv2D";
constexpr int kChunk = 32;  // output pixels im2col'd together per part

}  // namespace

HybridConv::~HybridConv() = default;
std::string_view HybridConv::variant() const { return gemm_->variant(); }

Result<std::unique_ptr<HybridConv>> HybridConv::Create(const TensorView& input, const TensorView& filter,
                                                       const TensorView* bias, const TensorView& output,
                                                       const ConvParams& p, int num_parts, Isa cap) {
  using internal::Describe;
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, input, DType::kFloat32));
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, output, DType::kFloat32));
  if (input.rank() != 4 || filter.rank() != 4 || output.rank() != 4 || filter.shape[3] != input.shape[3] ||
      output.shape[0] != input.shape[0] || output.shape[3] != filter.shape[0])
    return InvalidArgumentError("{}: filter {} does not match input {} and output {}", kOp, Describe(filter),
                                Describe(input), Describe(output));
  if (num_parts < 1) return InvalidArgumentError("{}: {} parts", kOp, num_parts);
  auto conv = std::unique_ptr<HybridConv>(new HybridConv());
  const int out_c = filter.shape[0];
  EP_RETURN_IF_ERROR(internal::CheckHybridWeights(kOp, filter, bias, out_c, 0, conv->filter_scale_, conv->bias_));
  EP_ASSIGN_OR_RETURN(const internal::ConvPadding padding,
                      internal::CheckConvGeometry(kOp, input, filter.shape[1], filter.shape[2], p, output));
  Geometry& g = conv->g_;
  g = {input.shape[0], input.shape[1], input.shape[2], input.shape[3], output.shape[1], output.shape[2], out_c,
       filter.shape[1], filter.shape[2], p.stride_height, p.stride_width, p.dilation_height, p.dilation_width,
       padding.top, padding.left};
  const int k = g.k_h * g.k_w * g.in_c;
  EP_ASSIGN_OR_RETURN(conv->gemm_, Int8Gemm::Create(filter.as<const int8_t>(), out_c, k, cap));
  // TFLite takes the per-channel path only when the scales really differ.
  const auto& fs = filter.quant.scale;
  conv->asymmetric_ = std::any_of(fs.begin(), fs.end(), [&](float s) { return s != fs[0]; });
  conv->range_ = FloatActivationRange(p.activation);
  const int64_t pixels = static_cast<int64_t>(g.n) * g.out_h * g.out_w;
  conv->num_parts_ = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(num_parts, (pixels + kChunk - 1) / kChunk)));
  conv->quantized_.assign(input.num_elements(), 0);
  conv->batch_scale_.assign(g.n, 1.0f);
  conv->batch_zero_.assign(g.n, 0);
  conv->rows_.assign(static_cast<size_t>(conv->num_parts_) * kChunk * conv->gemm_->k_padded(), 0);
  conv->acc_.assign(static_cast<size_t>(conv->num_parts_) * kChunk * out_c, 0);
  conv->input_shape_ = input.shape;
  conv->output_shape_ = output.shape;
  return conv;
}

Status HybridConv::Prepare(const TensorView& input) {
  if (input.dtype != DType::kFloat32 || input.shape != input_shape_ || input.data == nullptr)
    return InvalidArgumentError("{}: input {} differs from the planned one", kOp, internal::Describe(input));
  const int64_t size = static_cast<int64_t>(g_.in_h) * g_.in_w * g_.in_c;
  for (int b = 0; b < g_.n; ++b) {
    const float* x = input.as<const float>() + b * size;
    if (asymmetric_) {
      AsymmetricQuantizeFloats(x, size, quantized_.data() + b * size, &batch_scale_[b], &batch_zero_[b]);
    } else {
      SymmetricQuantizeFloats(x, size, quantized_.data() + b * size, &batch_scale_[b]);
      batch_zero_[b] = 0;
    }
  }
  return OkStatus();
}

Status HybridConv::RunPart(const TensorView& output, int part) {
  if (output.dtype != DType::kFloat32 || output.shape != output_shape_ || output.data == nullptr)
    return InvalidArgumentError("{}: output {} differs from the planned one", kOp, internal::Describe(output));
  if (part < 0 || part >= num_parts_) return InvalidArgumentError("{}: part {} of {}", kOp, part, num_parts_);
  const Geometry& g = g_;
  const int kp = gemm_->k_padded();
  const int64_t plane = static_cast<int64_t>(g.out_h) * g.out_w;
  const int64_t pixels = g.n * plane;
  const int64_t chunks = (pixels + kChunk - 1) / kChunk;
  const int64_t first = chunks * part / num_parts_, last = chunks * (part + 1) / num_parts_;
  int8_t* rows = rows_.data() + static_cast<size_t>(part) * kChunk * kp;
  int32_t* acc = acc_.data() + static_cast<size_t>(part) * kChunk * g.out_c;
  const int32_t* sums = gemm_->weight_sums();
  float* out = output.as<float>();
  for (int64_t chunk = first; chunk < last; ++chunk) {
    const int64_t begin = chunk * kChunk;
    const int count = static_cast<int>(std::min<int64_t>(kChunk, pixels - begin));
    for (int r = 0; r < count; ++r) {
      const int64_t pixel = begin + r;
      const int b = static_cast<int>(pixel / plane);
      const int oy = static_cast<int>((pixel % plane) / g.out_w), ox = static_cast<int>(pixel % g.out_w);
      const auto pad = static_cast<int8_t>(batch_zero_[b]);
      int8_t* dst = rows + static_cast<int64_t>(r) * kp;
      for (int ky = 0; ky < g.k_h; ++ky) {
        const int iy = oy * g.stride_h - g.pad_top + ky * g.dil_h;
        for (int kx = 0; kx < g.k_w; ++kx, dst += g.in_c) {
          const int ix = ox * g.stride_w - g.pad_left + kx * g.dil_w;
          if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) {
            std::fill_n(dst, g.in_c, pad);
          } else {
            std::copy_n(quantized_.data() + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * g.in_c, g.in_c,
                        dst);
          }
        }
      }
    }
    gemm_->Run(rows, count, 0, g.out_c, acc, g.out_c);
    for (int r = 0; r < count; ++r) {
      const int b = static_cast<int>((begin + r) / plane);
      const float image_scale = batch_scale_[b];
      const int32_t zero = batch_zero_[b];
      float* o = out + (begin + r) * g.out_c;
      const int32_t* a = acc + static_cast<int64_t>(r) * g.out_c;
      for (int c = 0; c < g.out_c; ++c) {
        const float v = static_cast<float>(a[c] - zero * sums[c]) * filter_scale_[c] * image_scale + bias_[c];
        o[c] = std::min(range_.max, std::max(range_.min, v));
      }
    }
  }
  return OkStatus();
}

Status HybridConv::Run(const TensorView& input, const TensorView& output) {
  EP_RETURN_IF_ERROR(Prepare(input));
  for (int part = 0; part < num_parts_; ++part) EP_RETURN_IF_ERROR(RunPart(output, part));
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
