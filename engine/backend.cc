#include "engine/backend.h"

#include <utility>

namespace edgepipe::engine {

Backend::Backend(std::vector<const OpRegistration*> ops) : ops_(std::move(ops)) {}

const OpRegistration* Backend::Find(const PlanOp& op) const {
  for (const OpRegistration* r : ops_) {
    if (r->code != op.code) continue;
    if (op.code == builtin::kCustom && r->custom_name != op.name) continue;
    return r;
  }
  return nullptr;
}

bool Backend::Supports(const Plan& plan, const PlanOp& op, std::string* why) const {
  const OpRegistration* r = Find(op);
  if (r == nullptr) return false;
  if (op.version > r->max_version) {
    if (why) *why = fmt::format("runs versions up to {}, the model has {}", r->max_version, op.version);
    return false;
  }
  if (!AcceptsAny(plan, op, why)) return false;
  return r->supports == nullptr || r->supports(plan, op, why);
}

Result<kernels::FusedActivation> ToKernelActivation(Activation activation) {
  switch (activation) {
    case Activation::kNone: return kernels::FusedActivation::kNone;
    case Activation::kRelu: return kernels::FusedActivation::kRelu;
    case Activation::kRelu6: return kernels::FusedActivation::kRelu6;
    case Activation::kReluN1To1: return kernels::FusedActivation::kReluN1To1;
    default: return UnimplementedError("fused {} activation is not supported", ActivationName(activation));
  }
}

Result<kernels::ConvParams> ConvParamsOf(const PlanOp& op) {
  kernels::ConvParams params;
  params.stride_height = op.options.stride_h;
  params.stride_width = op.options.stride_w;
  params.dilation_height = op.options.dilation_h;
  params.dilation_width = op.options.dilation_w;
  params.same_padding = op.options.padding == Padding::kSame;
  auto activation = ToKernelActivation(op.options.activation);
  if (!activation.ok()) return activation.status().WithContext(OpLabel(op));
  params.activation = *activation;
  return params;
}

bool Has8BitConvOperands(const Plan& plan, const PlanOp& op) {
  if (op.inputs.size() < 2 || op.outputs.size() != 1) return false;
  const TensorView& in = plan.tensors[op.inputs[0]].view;
  const PlanTensor& filter = plan.tensors[op.inputs[1]];
  const TensorView& out = plan.tensors[op.outputs[0]].view;
  if ((in.dtype != DType::kInt8 && in.dtype != DType::kUInt8) || out.dtype != in.dtype ||
      in.quant.scale.size() != 1 || out.quant.scale.size() != 1 || in.rank() != 4)
    return false;
  if (!filter.is_constant || filter.view.dtype != in.dtype || filter.view.rank() != 4 ||
      filter.view.shape[3] != in.shape[3])
    return false;
  for (int64_t zp : filter.view.quant.zero_point)
    if (in.dtype == DType::kInt8 ? zp != 0 : zp != filter.view.quant.zero_point[0]) return false;
  if (op.inputs.size() > 2 && op.inputs[2] >= 0) {
    const PlanTensor& bias = plan.tensors[op.inputs[2]];
    if (!bias.is_constant || bias.view.dtype != DType::kInt32) return false;
  }
  return ToKernelActivation(op.options.activation).ok();
}

int KernelParts(pthreadpool_t pool, size_t output_bytes) {
  constexpr int kPartsPerThread = 4;
  constexpr size_t kMinBytesPerPart = 16384;
  if (pool == nullptr) return 1;
  const auto most = static_cast<size_t>(kPartsPerThread) * pthreadpool_get_threads_count(pool);
  return static_cast<int>(std::clamp<size_t>(output_bytes / kMinBytesPerPart, 1, most));
}

Status SharedScratch::Allocate() {
  if (bytes_ == 0 || buffer_.size() >= bytes_) return OkStatus();
  auto buffer = PageBuffer::Allocate(bytes_);
  if (!buffer.ok()) return buffer.status().WithContext("the kernels' scratch memory");
  buffer_ = std::move(*buffer);
  return OkStatus();
}

PartedStep::PartedStep(int num_parts, size_t scratch_per_part, SharedScratch* scratch, pthreadpool_t pool,
                       std::string label, RunPartFn run_part)
    : num_parts_(num_parts),
      scratch_stride_((scratch_per_part + 63) / 64 * 64),
      scratch_(scratch),
      pool_(pool),
      label_(std::move(label)),
      run_part_(std::move(run_part)),
      part_status_(static_cast<size_t>(num_parts)) {
  if (scratch_ != nullptr) scratch_->Require(scratch_stride_ * static_cast<size_t>(num_parts_));
}

Status PartedStep::Run() {
  std::byte* base = scratch_ != nullptr ? scratch_->data() : nullptr;
  if (scratch_stride_ > 0 && base == nullptr) return InternalError("{}: no scratch memory was allocated", label_);
  if (num_parts_ == 1 || pool_ == nullptr) {
    for (int part = 0; part < num_parts_; ++part) {
      Status s = run_part_(part, base == nullptr ? nullptr : base + scratch_stride_ * part);
      if (!s.ok()) return s.WithContext(label_);
    }
    return OkStatus();
  }
  pthreadpool_parallelize_1d(
      pool_,
      [](void* context, size_t part) {
        auto& self = *static_cast<PartedStep*>(context);
        std::byte* base = self.scratch_ != nullptr ? self.scratch_->data() : nullptr;
        self.part_status_[part] = self.run_part_(static_cast<int>(part),
                                                 base == nullptr ? nullptr : base + self.scratch_stride_ * part);
      },
      this, static_cast<size_t>(num_parts_), 0);
  for (Status& s : part_status_)
    if (!s.ok()) return std::exchange(s, OkStatus()).WithContext(label_);
  return OkStatus();
}

}  // namespace edgepipe::engine
