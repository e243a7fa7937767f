// int8 and uint8 CONV_2D and DEPTHWISE_CONV_2D on our kernels
// (engine/kernels/conv_q8.h, engine/kernels/dwconv_q8.h), ahead of XNNPACK
// where their variant for the ISA cap is faster: Debian's 2022 XNNPACK has no
// VNNI kernels (its depthwise convs multiply with vpmulld). One op per step,
// split into parts for the thread pool (KernelParts).
#include "engine/backend.h"
#include "engine/kernels/conv_q8.h"
#include "engine/kernels/dwconv_q8.h"

namespace edgepipe::engine {
namespace {

// Grouped convolutions and depth multipliers other than 1 stay on XNNPACK
// (Has8BitConvOperands); Create checks the rest.
bool Q8ConvSupports(const Plan& plan, const PlanOp& op, std::string*) { return Has8BitConvOperands(plan, op); }
const OpRegistration kQ8ConvOps[] = {
    {builtin::kConv2D, "", 5, Q8ConvSupports},
    {builtin::kDepthwiseConv2D, "", 6, Q8ConvSupports},
};

class Q8ConvBackend final : public Backend {
 public:
  explicit Q8ConvBackend(Isa cap) : Backend(RegistrationsOf<OpRegistration>(kQ8ConvOps)), cap_(cap) {}

  const char* name() const override { return "own-conv-q8"; }
  bool groups_ops() const override { return false; }

  // Some depthwise shapes (8 or 16 channels in 64-channel blocks) run faster
  // on XNNPACK; which depends on the variant the cap allows.
  bool AcceptsAny(const Plan& plan, const PlanOp& op, std::string*) const override {
    if (op.code != builtin::kDepthwiseConv2D) return true;
    if (op.inputs.empty() || op.inputs[0] < 0 || plan.tensors[op.inputs[0]].view.rank() != 4) return false;
    return kernels::DepthwiseQ8Worthwhile(plan.tensors[op.inputs[0]].view.shape[3], op.options.stride_w, cap_);
  }

  Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                        const BackendContext& context) const override {
    if (ops.size() != 1) return InternalError("own kernels run one op per step");
    if (plan.ops[ops[0]].code == builtin::kConv2D) return Compile<kernels::ConvQ8>(plan, ops[0], context);
    return Compile<kernels::DepthwiseConvQ8>(plan, ops[0], context);
  }

  // Create checks what Supports does not (filter quantization axis, scale
  // ranges, shapes): an op it refuses goes on to XNNPACK.
  Status Probe(const Plan& plan, int op, const BackendContext& context) const override {
    if (plan.ops[op].code == builtin::kConv2D) return Prepare<kernels::ConvQ8>(plan, op, context).status();
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
                                 params, KernelParts(context.threadpool, output.num_bytes()), context.isa_cap);
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
    step->set_variant(kernel->variant());
    return std::unique_ptr<Step>(std::move(step));
  }

  const Isa cap_;
};

}  // namespace

std::unique_ptr<Backend> MakeQ8ConvBackend(Isa cap) { return std::make_unique<Q8ConvBackend>(cap); }

}  // namespace edgepipe::engine
