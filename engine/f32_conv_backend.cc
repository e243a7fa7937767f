// fp32 CONV_2D and DEPTHWISE_CONV_2D on our kernels (engine/kernels/conv_f32.h,
// the variant the ISA cap allows), ahead of XNNPACK when that variant is
// faster: Debian's 2022 XNNPACK runs them up to 2x slower than LiteRT's. One conv per step, with the ADD and
// PRELU that follow a CONV_2D fused into its epilogue (palm detection's
// blocks end in CONV_2D -> ADD -> PRELU: three passes over the tensor become
// one); with a thread pool the conv's rows or pixels are split into one part
// per thread.
#include <pthreadpool.h>

#include <algorithm>
#include <optional>

#include "engine/backend.h"
#include "engine/kernels/conv_f32.h"

namespace edgepipe::engine {
namespace {

bool F32ConvSupports(const Plan& plan, const PlanOp& op, std::string* why) {
  (void)why;  // XNNPACK comes next; no need to explain.
  const bool depthwise = op.code == builtin::kDepthwiseConv2D;
  if ((op.code != builtin::kConv2D && !depthwise) || op.inputs.size() < 2 || op.outputs.size() != 1) return false;
  const TensorView& in = plan.tensors[op.inputs[0]].view;
  const PlanTensor& filter = plan.tensors[op.inputs[1]];
  const TensorView& out = plan.tensors[op.outputs[0]].view;
  if (in.dtype != DType::kFloat32 || out.dtype != DType::kFloat32 || in.rank() != 4) return false;
  if (!filter.is_constant || filter.view.dtype != DType::kFloat32 || filter.view.rank() != 4 ||
      filter.view.shape[3] != in.shape[3])  // grouped convolutions and depth multipliers stay on XNNPACK
    return false;
  if (depthwise && filter.view.shape[0] != 1) return false;
  if (op.inputs.size() > 2 && op.inputs[2] >= 0) {
    const PlanTensor& bias = plan.tensors[op.inputs[2]];
    if (!bias.is_constant || bias.view.dtype != DType::kFloat32) return false;
  }
  return ToKernelActivation(op.options.activation).ok();
}

const OpRegistration kF32ConvOps[] = {
    {builtin::kConv2D, "", 5, F32ConvSupports},
    {builtin::kDepthwiseConv2D, "", 6, F32ConvSupports},
};

class F32ConvBackend final : public Backend {
 public:
  F32ConvBackend() : Backend(RegistrationsOf<OpRegistration>(kF32ConvOps)) {}
  const char* name() const override { return "own-conv-f32"; }
  bool groups_ops() const override { return false; }

  int FusedSuccessors(const Plan& plan, int index) const override {
    return static_cast<int>(FindEpilogue(plan, index).ops.size());
  }

  Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                        const BackendContext& context) const override {
    if (ops.empty()) return InternalError("no op to compile");
    // Alone when the interpreter did not fuse (preserve_all_tensors).
    Epilogue epilogue;
    if (ops.size() > 1) {
      epilogue = FindEpilogue(plan, ops[0]);
      if (!std::equal(ops.begin() + 1, ops.end(), epilogue.ops.begin(), epilogue.ops.end()))
        return InternalError("{}: the {} ops after it are not its fusable epilogue", OpLabel(plan.ops[ops[0]]),
                             ops.size() - 1);
    }
    EP_ASSIGN_OR_RETURN(auto conv, Prepare(plan, ops[0], context, epilogue));
    const PlanOp& op = plan.ops[ops[0]];
    const PlanOp& last = plan.ops[ops.back()];
    std::optional<TensorView> residual;
    if (epilogue.residual >= 0) residual = plan.tensors[epilogue.residual].view;
    std::string label = OpLabel(op);
    for (int e : epilogue.ops) label += " + " + OpLabel(plan.ops[e]);
    const int parts = conv->num_parts();
    const std::string variant(conv->variant());
    const size_t scratch = conv->scratch_bytes_per_part();
    auto step = std::make_unique<PartedStep>(
        parts, scratch, context.scratch, context.threadpool, std::move(label),
        [conv = std::shared_ptr<kernels::ConvF32>(std::move(conv)), input = plan.tensors[op.inputs[0]].view,
         output = plan.tensors[last.outputs[0]].view, residual](int part, std::byte* scratch) {
          return conv->RunPart(input, output, part, scratch, residual ? &*residual : nullptr);
        });
    step->set_variant(variant);
    return std::unique_ptr<Step>(std::move(step));
  }

  // Create checks what Supports does not (output size, bias length): an op it
  // refuses goes on to XNNPACK. Fused ADD and PRELU ops are checked with the
  // conv they follow.
  Status Probe(const Plan& plan, int op, const BackendContext& context) const override {
    const int32_t code = plan.ops[op].code;
    if (code != builtin::kConv2D && code != builtin::kDepthwiseConv2D) return OkStatus();
    return Prepare(plan, op, context, FindEpilogue(plan, op)).status();
  }

 private:
  struct Epilogue {
    std::vector<int> ops;  // the fused ADD and/or PRELU, in order
    int residual = -1;     // the ADD's other operand
    int alpha = -1;        // the PRELU's slopes
    Activation activation = Activation::kNone;  // the ADD's (after the residual)
  };

  // The next live op after `index`, or -1.
  static int NextLiveOp(const Plan& plan, int index) {
    for (int i = index + 1; i < static_cast<int>(plan.ops.size()); ++i)
      if (plan.ops[i].live) return i;
    return -1;
  }

  // Whether `t` is read by `consumer` only and lives nowhere else (so it
  // need never be written).
  static bool OnlyFeeds(const Plan& plan, int t, int consumer) {
    const PlanTensor& tensor = plan.tensors[t];
    return !tensor.is_graph_output && !tensor.is_variable && tensor.consumers.size() == 1 &&
           tensor.consumers[0] == consumer;
  }

  // CONV_2D -> [ADD with a tensor of the same shape computed earlier] ->
  // [PRELU with constant per-channel or scalar slopes], each consuming only the
  // previous one's result. The ADD needs the conv without activation (the
  // epilogue clamps once, after the residual).
  static Epilogue FindEpilogue(const Plan& plan, int index) {
    Epilogue e;
    const PlanOp& conv = plan.ops[index];
    if (conv.code != builtin::kConv2D || conv.outputs.size() != 1) return e;
    int value = conv.outputs[0];  // the tensor the epilogue has reached
    const TensorView& out = plan.tensors[value].view;
    int next = NextLiveOp(plan, index);
    if (next >= 0 && conv.options.activation == Activation::kNone) {
      const PlanOp& add = plan.ops[next];
      if (add.code == builtin::kAdd && add.inputs.size() == 2 && add.outputs.size() == 1 &&
          (add.inputs[0] == value) != (add.inputs[1] == value) && OnlyFeeds(plan, value, next) &&
          ToKernelActivation(add.options.activation).ok()) {
        const int other = add.inputs[0] == value ? add.inputs[1] : add.inputs[0];
        const PlanTensor& res = plan.tensors[other];
        const TensorView& add_out = plan.tensors[add.outputs[0]].view;
        // Computed before the conv runs: a constant, a model input or an earlier op's output.
        const bool ready = res.is_constant || res.producer < index;
        if (ready && res.view.dtype == DType::kFloat32 && res.view.shape == out.shape &&
            add_out.dtype == DType::kFloat32 && add_out.shape == out.shape) {
          e.ops.push_back(next);
          e.residual = other;
          e.activation = add.options.activation;
          value = add.outputs[0];
          next = NextLiveOp(plan, next);
        }
      }
    }
    if (next >= 0) {
      const PlanOp& prelu = plan.ops[next];
      if (prelu.code == builtin::kPrelu && prelu.inputs.size() == 2 && prelu.outputs.size() == 1 &&
          prelu.inputs[0] == value && OnlyFeeds(plan, value, next)) {
        const PlanTensor& alpha = plan.tensors[prelu.inputs[1]];
        const TensorView& prelu_out = plan.tensors[prelu.outputs[0]].view;
        const size_t channels = static_cast<size_t>(out.shape.back());
        const bool per_channel = alpha.view.rank() >= 1 && alpha.view.shape.back() == out.shape.back() &&
                                 alpha.view.num_elements() == channels;
        if (alpha.is_constant && alpha.view.dtype == DType::kFloat32 &&
            (per_channel || alpha.view.num_elements() == 1) && prelu_out.dtype == DType::kFloat32 &&
            prelu_out.shape == out.shape) {
          e.ops.push_back(next);
          e.alpha = prelu.inputs[1];
        }
      }
    }
    return e;
  }

  static Result<std::unique_ptr<kernels::ConvF32>> Prepare(const Plan& plan, int index, const BackendContext& context,
                                                           const Epilogue& epilogue) {
    const PlanOp& op = plan.ops[index];
    EP_ASSIGN_OR_RETURN(kernels::ConvParams params, ConvParamsOf(op));
    // With a fused ADD, the activation is the ADD's (after the residual).
    if (epilogue.residual >= 0) {
      auto activation = ToKernelActivation(epilogue.activation);
      if (!activation.ok()) return activation.status().WithContext(OpLabel(op));
      params.activation = *activation;
    }
    const TensorView* bias = op.inputs.size() > 2 && op.inputs[2] >= 0 ? &plan.tensors[op.inputs[2]].view : nullptr;
    const TensorView& in = plan.tensors[op.inputs[0]].view;
    const TensorView& filter = plan.tensors[op.inputs[1]].view;
    const TensorView& out = plan.tensors[op.outputs[0]].view;
    int parts = KernelParts(context.threadpool, out.num_bytes());
    // A depthwise part first fills its ring with kernel_h - 1 input rows that
    // the previous part also read: parts of a few rows mostly refill (face's
    // 16x16 maps were slower on 2 threads than on 1 with 8 parts).
    if (op.code == builtin::kDepthwiseConv2D && filter.rank() == 4) {
      const int64_t rows = static_cast<int64_t>(out.shape[0]) * out.shape[1];
      parts = static_cast<int>(std::clamp<int64_t>(rows / (2 * filter.shape[1]), 1, parts));
    }
    kernels::ConvF32Epilogue fused;
    if (epilogue.residual >= 0) fused.residual = &plan.tensors[epilogue.residual].view;
    if (epilogue.alpha >= 0) fused.prelu_alpha = &plan.tensors[epilogue.alpha].view;
    auto conv = op.code == builtin::kDepthwiseConv2D
                    ? kernels::ConvF32::CreateDepthwise(in, filter, bias, out, params, parts, context.isa_cap)
                    : kernels::ConvF32::Create(in, filter, bias, out, params, parts, fused, context.isa_cap);
    if (!conv.ok()) return conv.status().WithContext(OpLabel(op));
    return conv;
  }
};

}  // namespace

std::unique_ptr<Backend> MakeF32ConvBackend() { return std::make_unique<F32ConvBackend>(); }

}  // namespace edgepipe::engine
