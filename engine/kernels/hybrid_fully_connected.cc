// Hybrid FULLY_CONNECTED (hybrid_ops.h): TFLite's EvalHybrid. Each batch row
// of the float input is quantized to int8 (BatchQuantizeFloats: symmetric, or
// asymmetric with asymmetric_quantize_inputs), multiplied with the int8
// weights in int32 (q8_gemm.h), and output = bias + float(dot - zero point x
// sum(w)) x row scale x weight scale, then the activation, as TFLite's
// MatrixBatchVectorMultiplyAccumulate does.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/kernels/hybrid_ops.h"
#include "engine/kernels/kernel_util.h"
#include "engine/kernels/q8_gemm.h"

namespace edgepipe::engine::kernels {
namespace {
constexpr std::string_view kOp = "HybridFullyConnected";
}  // namespace

FloatRange FloatActivationRange(FusedActivation activation) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  switch (activation) {
    case FusedActivation::kRelu: return {0.0f, inf};
    case FusedActivation::kRelu6: return {0.0f, 6.0f};
    case FusedActivation::kReluN1To1: return {-1.0f, 1.0f};
    default: return {-inf, inf};
  }
}

namespace internal {
Status CheckHybridWeights(std::string_view op, const TensorView& filter, const TensorView* bias, int channels,
                          int axis, std::vector<float>& scales, std::vector<float>& bias_values) {
  using internal::Describe;
  EP_RETURN_IF_ERROR(internal::CheckDType(op, filter, DType::kInt8));
  if (filter.data == nullptr) return InvalidArgumentError("{}: filter {} is not a constant", op, Describe(filter));
  const auto& fs = filter.quant.scale;
  if (fs.size() != 1 && (fs.size() != static_cast<size_t>(channels) || filter.quant.axis != axis))
    return InvalidArgumentError("{}: filter {} needs one scale or one per output channel (axis {})", op,
                                Describe(filter), axis);
  for (int64_t zp : filter.quant.zero_point)
    if (zp != 0) return InvalidArgumentError("{}: filter {} has zero point {} (int8 weights are symmetric)", op,
                                             Describe(filter), zp);
  scales.assign(channels, fs[0]);
  for (int c = 0; c < channels; ++c) {
    if (fs.size() > 1) scales[c] = fs[c];
    if (!(scales[c] > 0.0f) || !std::isfinite(scales[c]))
      return InvalidArgumentError("{}: filter {} channel {} has scale {}", op, Describe(filter), c, scales[c]);
  }
  bias_values.assign(channels, 0.0f);
  if (bias != nullptr) {
    EP_RETURN_IF_ERROR(internal::CheckDType(op, *bias, DType::kFloat32));
    EP_RETURN_IF_ERROR(internal::CheckElementCount(op, *bias, channels));
    if (bias->data == nullptr) return InvalidArgumentError("{}: bias {} is not a constant", op, Describe(*bias));
    std::copy_n(bias->as<const float>(), channels, bias_values.begin());
  }
  return OkStatus();
}
}  // namespace internal

HybridFullyConnected::~HybridFullyConnected() = default;
std::string_view HybridFullyConnected::variant() const { return gemm_->variant(); }

Result<std::unique_ptr<HybridFullyConnected>> HybridFullyConnected::Create(
    const TensorView& input, const TensorView& filter, const TensorView* bias, const TensorView& output,
    FusedActivation activation, bool asymmetric_inputs, int num_parts, Isa cap) {
  using internal::Describe;
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, input, DType::kFloat32));
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, output, DType::kFloat32));
  if (filter.rank() != 2) return InvalidArgumentError("{}: filter {} must be 2-D", kOp, Describe(filter));
  const int n = filter.shape[0], k = filter.shape[1];
  if (k < 1 || n < 1 || input.num_elements() % k != 0)
    return InvalidArgumentError("{}: input {} is not rows of filter {}'s {} values", kOp, Describe(input),
                                Describe(filter), k);
  const int64_t rows = static_cast<int64_t>(input.num_elements() / k);
  if (output.num_elements() != static_cast<size_t>(rows) * n)
    return InvalidArgumentError("{}: output {} must hold {} x {} values", kOp, Describe(output), rows, n);
  if (num_parts < 1) return InvalidArgumentError("{}: {} parts", kOp, num_parts);
  auto fc = std::unique_ptr<HybridFullyConnected>(new HybridFullyConnected());
  EP_RETURN_IF_ERROR(internal::CheckHybridWeights(kOp, filter, bias, n, 0, fc->filter_scale_, fc->bias_));
  EP_ASSIGN_OR_RETURN(fc->gemm_, Int8Gemm::Create(filter.as<const int8_t>(), n, k, cap));
  fc->rows_ = static_cast<int>(rows);
  fc->n_ = n;
  fc->k_ = k;
  // Parts split the output channels in groups of 4 (the variants' tile).
  fc->num_parts_ = std::max(1, std::min(num_parts, (n + 3) / 4));
  fc->asymmetric_ = asymmetric_inputs;
  fc->range_ = FloatActivationRange(activation);
  fc->quantized_.assign(static_cast<size_t>(rows) * fc->gemm_->k_padded(), 0);
  fc->row_scale_.assign(rows, 1.0f);
  fc->row_zero_.assign(rows, 0);
  fc->acc_.assign(static_cast<size_t>(rows) * n, 0);
  fc->input_elements_ = input.num_elements();
  fc->output_elements_ = output.num_elements();
  return fc;
}

Status HybridFullyConnected::Prepare(const TensorView& input) {
  if (input.dtype != DType::kFloat32 || input.num_elements() != input_elements_ || input.data == nullptr)
    return InvalidArgumentError("{}: input {} differs from the planned one", kOp, internal::Describe(input));
  const float* x = input.as<const float>();
  const int kp = gemm_->k_padded();
  for (int r = 0; r < rows_; ++r) {
    int8_t* q = quantized_.data() + static_cast<int64_t>(r) * kp;
    if (asymmetric_) {
      AsymmetricQuantizeFloats(x + static_cast<int64_t>(r) * k_, k_, q, &row_scale_[r], &row_zero_[r]);
    } else {
      SymmetricQuantizeFloats(x + static_cast<int64_t>(r) * k_, k_, q, &row_scale_[r]);
      row_zero_[r] = 0;
    }
  }
  return OkStatus();
}

Status HybridFullyConnected::RunPart(const TensorView& output, int part) {
  if (output.dtype != DType::kFloat32 || output.num_elements() != output_elements_ || output.data == nullptr)
    return InvalidArgumentError("{}: output {} differs from the planned one", kOp, internal::Describe(output));
  if (part < 0 || part >= num_parts_) return InvalidArgumentError("{}: part {} of {}", kOp, part, num_parts_);
  const int groups = (n_ + 3) / 4;
  const int c0 = std::min(n_, groups * part / num_parts_ * 4), c1 = std::min(n_, groups * (part + 1) / num_parts_ * 4);
  if (c0 >= c1) return OkStatus();
  gemm_->Run(quantized_.data(), rows_, c0, c1, acc_.data() + c0, n_);
  const int32_t* sums = gemm_->weight_sums();
  float* out = output.as<float>();
  for (int r = 0; r < rows_; ++r) {
    const float row_scale = row_scale_[r];
    const int32_t zero = row_zero_[r];
    for (int c = c0; c < c1; ++c) {
      const int64_t at = static_cast<int64_t>(r) * n_ + c;
      const int32_t dot = acc_[at] - zero * sums[c];
      const float v = bias_[c] + static_cast<float>(dot) * (row_scale * filter_scale_[c]);
      out[at] = std::min(range_.max, std::max(range_.min, v));
    }
  }
  return OkStatus();
}

Status HybridFullyConnected::Run(const TensorView& input, const TensorView& output) {
  EP_RETURN_IF_ERROR(Prepare(input));
  for (int part = 0; part < num_parts_; ++part) EP_RETURN_IF_ERROR(RunPart(output, part));
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
