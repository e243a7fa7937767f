// fp32 CONV_2D and DEPTHWISE_CONV_2D on our AVX-512 kernels
// (engine/kernels/conv_f32.h), ahead of XNNPACK: Debian's 2022 XNNPACK runs
// them up to 2x slower than LiteRT's. One op per step; with a thread pool the
// op's rows or pixels are split into one part per thread.
#include <pthreadpool.h>

#include "engine/backend.h"
#include "engine/kernels/conv_f32.h"

namespace edgepipe::engine {
namespace {

Result<kernels::FusedActivation> ToActivation(Activation a) {
  switch (a) {
    case Activation::kNone: return kernels::FusedActivation::kNone;
    case Activation::kRelu: return kernels::FusedActivation::kRelu;
    case Activation::kRelu6: return kernels::FusedActivation::kRelu6;
    case Activation::kReluN1To1: return kernels::FusedActivation::kReluN1To1;
    default: return UnimplementedError("fused {} activation is not supported", ActivationName(a));
  }
}

class F32ConvStep final : public Step {
 public:
  F32ConvStep(std::unique_ptr<kernels::ConvF32> conv, TensorView input, TensorView output, pthreadpool_t pool,
              std::string label)
      : conv_(std::move(conv)), input_(std::move(input)), output_(std::move(output)), pool_(pool),
        label_(std::move(label)) {}

  Status Run() override {
    if (conv_->num_parts() == 1 || pool_ == nullptr) return Check(conv_->Run(input_, output_));
    status_ = OkStatus();
    pthreadpool_parallelize_1d(
        pool_, [](void* self, size_t part) { static_cast<F32ConvStep*>(self)->RunPart(part); }, this,
        static_cast<size_t>(conv_->num_parts()), 0);
    return Check(status_);
  }

 private:
  void RunPart(size_t part) {
    // Validation (shapes only) fails identically in every part: part 0 reports.
    Status s = conv_->RunPart(input_, output_, static_cast<int>(part));
    if (part == 0) status_ = std::move(s);
  }
  Status Check(Status s) const { return s.ok() ? s : s.WithContext(label_); }

  std::unique_ptr<kernels::ConvF32> conv_;
  TensorView input_, output_;
  pthreadpool_t pool_;
  std::string label_;
  Status status_;
};

class F32ConvBackend final : public Backend {
 public:
  const char* name() const override { return "own"; }
  bool groups_ops() const override { return false; }

  bool Supports(const Plan& plan, const PlanOp& op, std::string* why) const override {
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
    return ToActivation(op.options.activation).ok();
  }

  Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                        const BackendContext& context) const override {
    if (ops.size() != 1) return InternalError("own kernels run one op per step");
    EP_ASSIGN_OR_RETURN(auto conv, Prepare(plan, ops[0], context));
    const PlanOp& op = plan.ops[ops[0]];
    return std::unique_ptr<Step>(std::make_unique<F32ConvStep>(std::move(conv), plan.tensors[op.inputs[0]].view,
                                                               plan.tensors[op.outputs[0]].view,
                                                               context.threadpool, OpLabel(op)));
  }

  // Create checks what Supports does not (output size, bias length): an op it
  // refuses goes on to XNNPACK.
  Status Probe(const Plan& plan, int op, const BackendContext& context) const override {
    return Prepare(plan, op, context).status();
  }

 private:
  static Result<std::unique_ptr<kernels::ConvF32>> Prepare(const Plan& plan, int index,
                                                           const BackendContext& context) {
    const PlanOp& op = plan.ops[index];
    kernels::ConvF32Params params;
    params.stride_height = op.options.stride_h;
    params.stride_width = op.options.stride_w;
    params.dilation_height = op.options.dilation_h;
    params.dilation_width = op.options.dilation_w;
    params.same_padding = op.options.padding == Padding::kSame;
    auto activation = ToActivation(op.options.activation);
    if (!activation.ok()) return activation.status().WithContext(OpLabel(op));
    params.activation = *activation;
    const TensorView* bias = op.inputs.size() > 2 && op.inputs[2] >= 0 ? &plan.tensors[op.inputs[2]].view : nullptr;
    const int parts = context.threadpool != nullptr
                          ? static_cast<int>(pthreadpool_get_threads_count(context.threadpool))
                          : 1;
    const TensorView& in = plan.tensors[op.inputs[0]].view;
    const TensorView& filter = plan.tensors[op.inputs[1]].view;
    const TensorView& out = plan.tensors[op.outputs[0]].view;
    auto conv = op.code == builtin::kDepthwiseConv2D
                    ? kernels::ConvF32::CreateDepthwise(in, filter, bias, out, params, parts)
                    : kernels::ConvF32::Create(in, filter, bias, out, params, parts);
    if (!conv.ok()) return conv.status().WithContext(OpLabel(op));
    return conv;
  }
};

}  // namespace

std::unique_ptr<Backend> MakeF32ConvBackend() {
  if (!kernels::ConvF32Supported()) return nullptr;
  return std::make_unique<F32ConvBackend>();
}

}  // namespace edgepipe::engine
