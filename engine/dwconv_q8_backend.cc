// int8 and uint8 DEPTHWISE_CONV_2D (depth multiplier 1) on our AVX512-VNNI
// kernel (engine/kernels/dwconv_q8.h), ahead of XNNPACK: Debian's 2022 XNNPACK
// runs them with vpmulld. One op per step; with a thread pool the op's output
// rows x channel blocks are split into a few parts per thread, so that a part
// that starts late (the other vCPU busy) leaves less behind.
#include <pthreadpool.h>

#include <algorithm>

#include "engine/backend.h"
#include "engine/kernels/dwconv_q8.h"

namespace edgepipe::engine {
namespace {

class DepthwiseQ8Backend final : public Backend {
 public:
  const char* name() const override { return "own"; }
  bool groups_ops() const override { return false; }

  bool Supports(const Plan& plan, const PlanOp& op, std::string* why) const override {
    (void)why;  // XNNPACK comes next; no need to explain.
    // Depth multiplier 1 only (Has8BitConvOperands); others stay on XNNPACK.
    if (op.code != builtin::kDepthwiseConv2D || !Has8BitConvOperands(plan, op)) return false;
    return kernels::DepthwiseQ8Worthwhile(plan.tensors[op.inputs[0]].view.shape[3], op.options.stride_w);
  }

  Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                        const BackendContext& context) const override {
    if (ops.size() != 1) return InternalError("own kernels run one op per step");
    EP_ASSIGN_OR_RETURN(auto conv, Prepare(plan, ops[0], context));
    const PlanOp& op = plan.ops[ops[0]];
    const int parts = conv->num_parts();
    return std::unique_ptr<Step>(std::make_unique<PartedStep>(
        parts, 0, context.scratch, context.threadpool, OpLabel(op),
        [conv = std::shared_ptr<kernels::DepthwiseConvQ8>(std::move(conv)), input = plan.tensors[op.inputs[0]].view,
         output = plan.tensors[op.outputs[0]].view](int part, std::byte*) {
          return conv->RunPart(input, output, part);
        }));
  }

  // Create checks what Supports does not (quantization axis, scale ranges,
  // shapes): an op it refuses goes on to XNNPACK.
  Status Probe(const Plan& plan, int op, const BackendContext& context) const override {
    return Prepare(plan, op, context).status();
  }

 private:
  static Result<std::unique_ptr<kernels::DepthwiseConvQ8>> Prepare(const Plan& plan, int index,
                                                                   const BackendContext& context) {
    const PlanOp& op = plan.ops[index];
    EP_ASSIGN_OR_RETURN(const kernels::ConvParams params, ConvParamsOf(op));
    const TensorView* bias = op.inputs.size() > 2 && op.inputs[2] >= 0 ? &plan.tensors[op.inputs[2]].view : nullptr;
    const int parts = KernelParts(context.threadpool, plan.tensors[op.outputs[0]].view.num_bytes());
    auto conv = kernels::DepthwiseConvQ8::Create(plan.tensors[op.inputs[0]].view, plan.tensors[op.inputs[1]].view,
                                                 bias, plan.tensors[op.outputs[0]].view, params, parts);
    if (!conv.ok()) return conv.status().WithContext(OpLabel(op));
    return conv;
  }
};

}  // namespace

std::unique_ptr<Backend> MakeDepthwiseQ8Backend() {
  if (!kernels::DepthwiseQ8Supported()) return nullptr;
  return std::make_unique<DepthwiseQ8Backend>();
}

}  // namespace edgepipe::engine
