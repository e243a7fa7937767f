// The FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D forms Debian's 2022
// XNNPACK cannot run, on our kernels (engine/kernels/hybrid_ops.h): hybrid ops
// (float activations, int8 weights: dynamic-range quantization, TensorFlow's
// and litert-quantizer's) and int8 FULLY_CONNECTED with per-channel weights
// (their int8 models). Always in the default list, ahead of XNNPACK: it claims
// only what XNNPACK refuses. One op per step: the input is quantized once
// (Prepare), then the parts run on the pool.
#include <algorithm>
#include <functional>
#include <type_traits>

#include <fmt/format.h>

#include "engine/backend.h"
#include "engine/kernels/hybrid_ops.h"

namespace edgepipe::engine {
namespace {

const TensorView& In(const Plan& plan, const PlanOp& op, size_t k) { return plan.tensors[op.inputs[k]].view; }
const TensorView* Bias(const Plan& plan, const PlanOp& op) {
  return op.inputs.size() > 2 && op.inputs[2] >= 0 ? &plan.tensors[op.inputs[2]].view : nullptr;
}

// Float input and output, constant int8 symmetric weights of `rank`, a float
// constant bias if any, an activation our kernels apply.
bool IsHybrid(const Plan& plan, const PlanOp& op, int rank, std::string* why) {
  if (op.inputs.size() < 2 || op.outputs.size() != 1 || op.inputs[0] < 0 || op.inputs[1] < 0) return false;
  const PlanTensor& w = plan.tensors[op.inputs[1]];
  if (In(plan, op, 0).dtype != DType::kFloat32 || plan.tensors[op.outputs[0]].view.dtype != DType::kFloat32 ||
      w.view.dtype != DType::kInt8 || w.view.rank() != rank)
    return false;
  if (!w.is_constant || w.view.quant.scale.empty()) {
    if (why) *why = "hybrid weights must be constant and quantized";
    return false;
  }
  for (int64_t zp : w.view.quant.zero_point)
    if (zp != 0) {
      if (why) *why = "hybrid int8 weights must be symmetric";
      return false;
    }
  if (const TensorView* b = Bias(plan, op); b != nullptr)
    if (b->dtype != DType::kFloat32 || !plan.tensors[op.inputs[2]].is_constant) return false;
  if (!ToKernelActivation(op.options.activation).ok()) {
    if (why) *why = fmt::format("fused {} activation", ActivationName(op.options.activation));
    return false;
  }
  return true;
}

// int8 per-tensor input and output, constant int8 weights with per-channel
// scales (per-tensor ones stay on XNNPACK), int32 constant bias if any.
bool IsInt8PerChannelFc(const Plan& plan, const PlanOp& op) {
  if (op.inputs.size() < 2 || op.outputs.size() != 1 || op.inputs[0] < 0 || op.inputs[1] < 0) return false;
  const TensorView& in = In(plan, op, 0);
  const TensorView& out = plan.tensors[op.outputs[0]].view;
  const PlanTensor& w = plan.tensors[op.inputs[1]];
  if (in.dtype != DType::kInt8 || out.dtype != DType::kInt8 || in.quant.scale.size() != 1 ||
      out.quant.scale.size() != 1 || w.view.dtype != DType::kInt8 || w.view.rank() != 2 || !w.is_constant ||
      !w.view.quant.per_channel() || w.view.quant.axis != 0)
    return false;
  for (int64_t zp : w.view.quant.zero_point)
    if (zp != 0) return false;
  if (const TensorView* b = Bias(plan, op); b != nullptr)
    if (b->dtype != DType::kInt32 || !plan.tensors[op.inputs[2]].is_constant) return false;
  return ToKernelActivation(op.options.activation).ok();
}

// FULLY_CONNECTED up to version 12 (per-channel weights); 10 (int4 weights) and
// 11 (int16 activations with int64 bias) have dtypes these checks refuse.
bool FullyConnectedSupports(const Plan& plan, const PlanOp& op, std::string* why) {
  return IsHybrid(plan, op, 2, why) || IsInt8PerChannelFc(plan, op);
}
bool ConvSupports(const Plan& plan, const PlanOp& op, std::string* why) { return IsHybrid(plan, op, 4, why); }

const OpRegistration kHybridOps[] = {
    {builtin::kFullyConnected, "", 12, FullyConnectedSupports},
    {builtin::kConv2D, "", 5, ConvSupports},
    {builtin::kDepthwiseConv2D, "", 6, ConvSupports},
};

// Prepare (the input's quantization, one thread), then the kernel's parts.
class HybridStep final : public Step {
 public:
  HybridStep(std::function<Status()> prepare, std::unique_ptr<PartedStep> parts)
      : prepare_(std::move(prepare)), parts_(std::move(parts)) {}
  Status Run() override {
    EP_RETURN_IF_ERROR(prepare_());
    return parts_->Run();
  }

 private:
  std::function<Status()> prepare_;
  std::unique_ptr<PartedStep> parts_;
};

template <typename Kernel>
Result<std::unique_ptr<Step>> MakeStep(std::shared_ptr<Kernel> kernel, const Plan& plan, const PlanOp& op,
                                       const BackendContext& context) {
  const TensorView input = plan.tensors[op.inputs[0]].view, output = plan.tensors[op.outputs[0]].view;
  const std::string label = OpLabel(op);
  auto parts = std::make_unique<PartedStep>(
      kernel->num_parts(), 0, nullptr, context.threadpool, label,
      [kernel, input, output](int part, std::byte*) -> Status {
        if constexpr (std::is_same_v<Kernel, kernels::FullyConnectedQ8>)
          return kernel->RunPart(input, output, part);
        else
          return kernel->RunPart(output, part);
      });
  auto step = std::make_unique<HybridStep>(
      [kernel, input, label]() -> Status {
        Status s = kernel->Prepare(input);
        return s.ok() ? s : s.WithContext(label);
      },
      std::move(parts));
  step->set_variant(kernel->variant());
  return std::unique_ptr<Step>(std::move(step));
}

class HybridBackend final : public Backend {
 public:
  HybridBackend() : Backend(RegistrationsOf<OpRegistration>(kHybridOps)) {}
  const char* name() const override { return "own-hybrid"; }
  bool groups_ops() const override { return false; }

  Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                        const BackendContext& context) const override {
    if (ops.size() != 1) return InternalError("own kernels run one op per step");
    const PlanOp& op = plan.ops[ops[0]];
    auto step = CompileOp(plan, op, context);
    if (!step.ok()) return step.status().WithContext(OpLabel(op));
    return step;
  }

  Status Probe(const Plan& plan, int op, const BackendContext& context) const override {
    return CompileOp(plan, plan.ops[op], context).status();
  }

 private:
  static Result<std::unique_ptr<Step>> CompileOp(const Plan& plan, const PlanOp& op, const BackendContext& context) {
    const TensorView& input = In(plan, op, 0);
    const TensorView& filter = In(plan, op, 1);
    const TensorView* bias = Bias(plan, op);
    const TensorView& output = plan.tensors[op.outputs[0]].view;
    const int parts = KernelParts(context.threadpool, output.num_bytes());
    EP_ASSIGN_OR_RETURN(const kernels::FusedActivation activation, ToKernelActivation(op.options.activation));
    if (op.code == builtin::kFullyConnected) {
      if (input.dtype == DType::kInt8) {
        EP_ASSIGN_OR_RETURN(std::shared_ptr<kernels::FullyConnectedQ8> k,
                            kernels::FullyConnectedQ8::Create(input, filter, bias, output, activation, parts,
                                                              context.isa_cap));
        return MakeStep(std::move(k), plan, op, context);
      }
      // Hybrid FULLY_CONNECTED parts split the weights (its cost), not the
      // output, which is small: two parts per thread.
      const int fc_parts =
          context.threadpool == nullptr
              ? 1
              : std::max(parts, 2 * static_cast<int>(pthreadpool_get_threads_count(context.threadpool)));
      EP_ASSIGN_OR_RETURN(std::shared_ptr<kernels::HybridFullyConnected> k,
                          kernels::HybridFullyConnected::Create(input, filter, bias, output, activation,
                                                                op.options.asymmetric_quantize_inputs, fc_parts,
                                                                context.isa_cap));
      return MakeStep(std::move(k), plan, op, context);
    }
    EP_ASSIGN_OR_RETURN(const kernels::ConvParams params, ConvParamsOf(op));
    if (op.code == builtin::kConv2D) {
      EP_ASSIGN_OR_RETURN(std::shared_ptr<kernels::HybridConv> k,
                          kernels::HybridConv::Create(input, filter, bias, output, params, parts, context.isa_cap));
      return MakeStep(std::move(k), plan, op, context);
    }
    EP_ASSIGN_OR_RETURN(std::shared_ptr<kernels::HybridDepthwiseConv> k,
                        kernels::HybridDepthwiseConv::Create(input, filter, bias, output, params,
                                                             op.options.depth_multiplier, parts));
    return MakeStep(std::move(k), plan, op, context);
  }
};

}  // namespace

std::unique_ptr<Backend> MakeHybridBackend(Isa) { return std::make_unique<HybridBackend>(); }

}  // namespace edgepipe::engine
