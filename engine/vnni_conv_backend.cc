// int8 and uint8 CONV_2D on our AVX512-VNNI kernel (engine/kernels/conv_int8_vnni.h),
// ahead of XNNPACK: Debian's 2022 XNNPACK has no VNNI int8 kernels. One op per
// step; with a thread pool the op's pixels are split into one part per thread.
#include <pthreadpool.h>

#include "engine/backend.h"
#include "engine/kernels/conv_int8_vnni.h"

namespace edgepipe::engine {
namespace {

class VnniConvBackend final : public Backend {
 public:
  const char* name() const override { return "own"; }
  bool groups_ops() const override { return false; }

  bool Supports(const Plan& plan, const PlanOp& op, std::string* why) const override {
    (void)why;  // XNNPACK comes next; no need to explain.
    // Grouped convolutions stay on XNNPACK (Has8BitConvOperands); Create checks the rest.
    return op.code == builtin::kConv2D && Has8BitConvOperands(plan, op);
  }

  Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                        const BackendContext& context) const override {
    if (ops.size() != 1) return InternalError("own kernels run one op per step");
    EP_ASSIGN_OR_RETURN(auto conv, Prepare(plan, ops[0], context));
    const PlanOp& op = plan.ops[ops[0]];
    const int parts = conv->num_parts();
    const size_t scratch = conv->scratch_bytes_per_part();
    return std::unique_ptr<Step>(std::make_unique<PartedStep>(
        parts, scratch, context.scratch, context.threadpool, OpLabel(op),
        [conv = std::shared_ptr<kernels::ConvInt8Vnni>(std::move(conv)), input = plan.tensors[op.inputs[0]].view,
         output = plan.tensors[op.outputs[0]].view](int part, std::byte* scratch) {
          return conv->RunPart(input, output, part, scratch);
        }));
  }

  // Create checks what Supports does not (filter quantization axis, scale
  // ranges, shapes): an op it refuses goes on to XNNPACK.
  Status Probe(const Plan& plan, int op, const BackendContext& context) const override {
    return Prepare(plan, op, context).status();
  }

 private:
  static Result<std::unique_ptr<kernels::ConvInt8Vnni>> Prepare(const Plan& plan, int index,
                                                                const BackendContext& context) {
    const PlanOp& op = plan.ops[index];
    EP_ASSIGN_OR_RETURN(const kernels::ConvParams params, ConvParamsOf(op));
    const TensorView* bias = op.inputs.size() > 2 && op.inputs[2] >= 0 ? &plan.tensors[op.inputs[2]].view : nullptr;
    const int parts = KernelParts(context.threadpool, plan.tensors[op.outputs[0]].view.num_bytes());
    auto conv = kernels::ConvInt8Vnni::Create(plan.tensors[op.inputs[0]].view, plan.tensors[op.inputs[1]].view,
                                              bias, plan.tensors[op.outputs[0]].view, params, parts);
    if (!conv.ok()) return conv.status().WithContext(OpLabel(op));
    return conv;
  }
};

}  // namespace

std::unique_ptr<Backend> MakeVnniConvBackend() {
  if (!kernels::ConvInt8VnniSupported()) return nullptr;
  return std::make_unique<VnniConvBackend>();
}

}  // namespace edgepipe::engine
