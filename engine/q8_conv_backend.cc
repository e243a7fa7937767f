// int8 and uint8 CONV_2D and DEPTHWISE_CONV_2D on our AVX512-VNNI kernels
// (engine/kernels/conv_int8_vnni.h, engine/kernels/dwconv_q8.h), ahead of
// XNNPACK: Debian's 2022 XNNPACK has no VNNI kernels (its depthwise convs
// multiply with vpmulld). One op per step, split into parts for the thread
// pool (KernelParts).
#include "engine/backend.h"
#include "engine/kernels/conv_int8_vnni.h"
#include "engine/kernels/dwconv_q8.h"

namespace edgepipe::engine {
namespace {

// Grouped convolutions and depth multipliers other than 1 stay on XNNPACK
// (Has8BitConvOperands); Create checks the rest.
bool Q8ConvSupports(const Plan& plan, const PlanOp& op, std::string*) { return Has8BitConvOperands(plan, op); }
bool Q8DepthwiseSupports(const Plan& plan, const PlanOp& op, std::string*) {
  // Layers of 8 or 16 channels would leave most of a 64-channel block empty.
  return Has8BitConvOperands(plan, op) &&
         kernels::DepthwiseQ8Worthwhile(plan.tensors[op.inputs[0]].view.shape[3], op.options.stride_w);
}

const OpRegistration kQ8ConvOps[] = {
    {builtin::kConv2D, "", 5, Q8ConvSupports},
    {builtin::kDepthwiseConv2D, "", 6, Q8DepthwiseSupports},
};

class Q8ConvBackend final : public Backend {
 public:
  Q8ConvBackend(bool conv, bool depthwise)
      : Backend(conv && depthwise ? RegistrationsOf<OpRegistration>(kQ8ConvOps)
                : conv            ? RegistrationsOf<OpRegistration>(std::span(kQ8ConvOps).first(1))
                                  : RegistrationsOf<OpRegistration>(std::span(kQ8ConvOps).last(1))) {}

  const char* name() const override { return "own-conv-q8"; }
  bool groups_ops() const override { return false; }

  Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                        const BackendContext& context) const override {
    if (ops.size() != 1) return InternalError("own kernels run one op per step");
    if (plan.ops[ops[0]].code == builtin::kConv2D) return Compile<kernels::ConvInt8Vnni>(plan, ops[0], context);
    return Compile<kernels::DepthwiseConvQ8>(plan, ops[0], context);
  }

  // Create checks what Supports does not (filter quantization axis, scale
  // ranges, shapes): an op it refuses goes on to XNNPACK.
  Status Probe(const Plan& plan, int op, const BackendContext& context) const override {
    if (plan.ops[op].code == builtin::kConv2D) return Prepare<kernels::ConvInt8Vnni>(plan, op, context).status();
    return Prepare<kernels::DepthwiseConvQ8>(plan, op, context).status();
  }

 private:
  template <typename Kernel>
  static Result<std::unique_ptr<Kernel>> Prepare(const Plan& plan, int index, const BackendContext& context) {
    const PlanOp& op = plan.ops[index];
    EP_ASSIGN_OR_RETURN(const kernels::ConvParams params, ConvParamsOf(op));
    const TensorView* bias = op.inputs.size() > 2 && op.inputs[2] >= 0 ? &plan.tensors[op.inputs[2]].view : nullptr;
    const TensorView& output = plan.tensors[op.outputs[0]].view;
    auto kernel = Kernel::Create(plan.tensors[op.inputs[0]].view, plan.tensors[op.inputs[1]].view, bias, output,
                                 params, KernelParts(context.threadpool, output.num_bytes()));
    if (!kernel.ok()) return kernel.status().WithContext(OpLabel(op));
    return kernel;
  }

  template <typename Kernel>
  static Result<std::unique_ptr<Step>> Compile(const Plan& plan, int index, const BackendContext& context) {
    EP_ASSIGN_OR_RETURN(std::shared_ptr<Kernel> kernel, Prepare<Kernel>(plan, index, context));
    const PlanOp& op = plan.ops[index];
    size_t scratch = 0;
    if constexpr (requires { kernel->scratch_bytes_per_part(); }) scratch = kernel->scratch_bytes_per_part();
    auto step = std::make_unique<PartedStep>(
        kernel->num_parts(), scratch, context.scratch, context.threadpool, OpLabel(op),
        [kernel, input = plan.tensors[op.inputs[0]].view, output = plan.tensors[op.outputs[0]].view](
            int part, std::byte* scratch) -> Status {
          if constexpr (requires { kernel->scratch_bytes_per_part(); })
            return kernel->RunPart(input, output, part, scratch);
          else
            return kernel->RunPart(input, output, part);
        });
    step->set_variant("avx512");
    return std::unique_ptr<Step>(std::move(step));
  }
};

}  // namespace

std::unique_ptr<Backend> MakeQ8ConvBackend(bool conv, bool depthwise) {
  if (!conv && !depthwise) return nullptr;
  if (conv && !kernels::ConvInt8VnniSupported()) conv = false;
  if (depthwise && !kernels::DepthwiseQ8Supported()) depthwise = false;
  if (!conv && !depthwise) return nullptr;
  return std::make_unique<Q8ConvBackend>(conv, depthwise);
}

}  // namespace edgepipe::engine
