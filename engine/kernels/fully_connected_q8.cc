// int8 FULLY_CONNECTED with per-channel (or per-tensor) weights (hybrid_ops.h):
// a FULLY_CONNECTED is the 1x1 convolution of its [rows, 1, 1, K] input, so it
// runs on conv_q8.h's variants (generic, avx2, avxvnni, avx512: chosen under
// the cap at load), which requantize as XNNPACK does (what LiteRT runs for
// per-channel FULLY_CONNECTED: its XNNPACK delegate's qc8 kernels).
#include <cstdlib>
#include <cstring>

#include "engine/kernels/conv_q8.h"
#include "engine/kernels/hybrid_ops.h"
#include "engine/kernels/kernel_util.h"

namespace edgepipe::engine::kernels {
namespace {
constexpr std::string_view kOp = "FullyConnectedQ8";
}  // namespace

FullyConnectedQ8::~FullyConnectedQ8() = default;
std::string_view FullyConnectedQ8::variant() const { return conv_->variant(); }
int FullyConnectedQ8::num_parts() const { return conv_->num_parts(); }

Result<std::unique_ptr<FullyConnectedQ8>> FullyConnectedQ8::Create(const TensorView& input, const TensorView& filter,
                                                                   const TensorView* bias, const TensorView& output,
                                                                   FusedActivation activation, int num_parts,
                                                                   Isa cap) {
  using internal::Describe;
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, input, DType::kInt8));
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, output, DType::kInt8));
  if (filter.rank() != 2) return InvalidArgumentError("{}: filter {} must be 2-D", kOp, Describe(filter));
  const int n = filter.shape[0], k = filter.shape[1];
  if (k < 1 || n < 1 || input.num_elements() % k != 0)
    return InvalidArgumentError("{}: input {} is not rows of filter {}'s {} values", kOp, Describe(input),
                                Describe(filter), k);
  const auto rows = static_cast<int32_t>(input.num_elements() / k);
  if (output.num_elements() != static_cast<size_t>(rows) * n)
    return InvalidArgumentError("{}: output {} must hold {} x {} values", kOp, Describe(output), rows, n);
  auto fc = std::unique_ptr<FullyConnectedQ8>(new FullyConnectedQ8());
  fc->input_as_conv_ = input;
  fc->input_as_conv_.shape = {rows, 1, 1, k};
  fc->output_as_conv_ = output;
  fc->output_as_conv_.shape = {rows, 1, 1, n};
  TensorView filter_as_conv = filter;
  filter_as_conv.shape = {n, 1, 1, k};
  ConvParams params;
  params.activation = activation;
  EP_ASSIGN_OR_RETURN(fc->conv_, ConvQ8::Create(fc->input_as_conv_, filter_as_conv, bias, fc->output_as_conv_,
                                                params, num_parts, cap));
  fc->scratch_per_part_ = (fc->conv_->scratch_bytes_per_part() + 63) / 64 * 64;
  const size_t bytes = std::max<size_t>(64, fc->scratch_per_part_ * fc->conv_->num_parts());
  fc->scratch_ = {static_cast<uint8_t*>(std::aligned_alloc(64, bytes)), std::free};
  if (fc->scratch_ == nullptr) return UnavailableError("{}: out of memory for {} bytes of scratch", kOp, bytes);
  fc->input_elements_ = input.num_elements();
  fc->output_elements_ = output.num_elements();
  return fc;
}

Status FullyConnectedQ8::RunPart(const TensorView& input, const TensorView& output, int part) {
  if (input.num_elements() != input_elements_ || output.num_elements() != output_elements_)
    return InvalidArgumentError("{}: input {} or output {} differs from the planned one", kOp,
                                internal::Describe(input), internal::Describe(output));
  if (part < 0 || part >= num_parts()) return InvalidArgumentError("{}: part {} of {}", kOp, part, num_parts());
  TensorView in = input_as_conv_, out = output_as_conv_;
  in.data = input.data;
  out.data = output.data;
  return conv_->RunPart(in, out, part, reinterpret_cast<std::byte*>(scratch_.get() + scratch_per_part_ * part));
}

Status FullyConnectedQ8::Run(const TensorView& input, const TensorView& output) {
  for (int part = 0; part < num_parts(); ++part) EP_RETURN_IF_ERROR(RunPart(input, output, part));
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
