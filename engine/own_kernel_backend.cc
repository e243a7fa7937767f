// Ops XNNPACK has no node for run on our own kernels (engine/kernels/), one op
// per step. Compile binds the op's tensors (views into the arena or constants)
// and its static attributes once, so Run only calls the kernel.
#include <functional>

#include "engine/backend.h"
#include "engine/kernels/average_pool.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine {
namespace {

class KernelStep final : public Step {
 public:
  explicit KernelStep(std::function<Status()> run) : run_(std::move(run)) {}
  Status Run() override { return run_(); }

 private:
  std::function<Status()> run_;
};

// Reads a constant integer input (axis, begin/end/strides).
Result<std::vector<int32_t>> ConstantInts(const Plan& plan, const PlanOp& op, size_t k) {
  if (op.inputs.size() <= k || op.inputs[k] < 0) return InvalidArgumentError("input {} is missing", k);
  const PlanTensor& t = plan.tensors[op.inputs[k]];
  if (!t.is_constant) return UnimplementedError("input {} ({}) must be a constant", k, plan.TensorLabel(op.inputs[k]));
  std::vector<int32_t> values(t.view.num_elements());
  for (size_t i = 0; i < values.size(); ++i) {
    if (t.view.dtype == DType::kInt32) {
      values[i] = t.view.as<const int32_t>()[i];
    } else if (t.view.dtype == DType::kInt64) {
      values[i] = static_cast<int32_t>(t.view.as<const int64_t>()[i]);
    } else {
      return InvalidArgumentError("input {} ({}) must be int32 or int64", k, plan.TensorLabel(op.inputs[k]));
    }
  }
  return values;
}

class OwnKernelBackend final : public Backend {
 public:
  const char* name() const override { return "own"; }
  bool groups_ops() const override { return false; }

  bool Supports(const Plan& plan, const PlanOp& op, std::string* why) const override {
    switch (op.code) {
      case builtin::kConcatenation:
      case builtin::kAdd:
      case builtin::kSub:
      case builtin::kMul:
      case builtin::kDiv:
        if (!ToKernelActivation(op.options.activation).ok()) {
          if (why) *why = fmt::format("fused {} activation", ActivationName(op.options.activation));
          return false;
        }
        if (op.code == builtin::kConcatenation && op.options.activation != Activation::kNone) return false;
        return true;
      case builtin::kQuantize:
      case builtin::kDequantize:
      case builtin::kSoftmax:
      case builtin::kSplit:
      case builtin::kSplitV:
      case builtin::kStridedSlice:
      case builtin::kResizeNearestNeighbor:
      case builtin::kArgMax:
      case builtin::kArgMin:
      case builtin::kCast:
      case builtin::kFloorDiv:
      case builtin::kPack:
      case builtin::kUnpack:
      case builtin::kGatherNd:
      case builtin::kReshape:
      case builtin::kSqueeze:
      case builtin::kLogistic:
        return true;
      case builtin::kAveragePool2D: {
        const TensorView& in = plan.tensors[op.inputs[0]].view;
        return (in.dtype == DType::kUInt8 || in.dtype == DType::kInt8) &&
               ToKernelActivation(op.options.activation).ok();
      }
      case builtin::kCustom:
        return op.name == "TFLite_Detection_PostProcess";
      default:
        (void)plan;
        return false;
    }
  }

  Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                        const BackendContext&) const override {
    if (ops.size() != 1) return InternalError("own kernels run one op per step");
    const PlanOp& op = plan.ops[ops[0]];
    auto run = Bind(plan, op);
    if (!run.ok()) return run.status().WithContext(OpLabel(op));
    // Errors at run time name the op too.
    auto label = OpLabel(op);
    return std::unique_ptr<Step>(std::make_unique<KernelStep>([fn = std::move(*run), label]() -> Status {
      Status s = fn();
      return s.ok() ? s : s.WithContext(label);
    }));
  }

 private:
  static Result<std::function<Status()>> Bind(const Plan& plan, const PlanOp& op) {
    auto view = [&](int t) { return std::make_shared<TensorView>(plan.tensors[t].view); };
    // Views of a list of tensors, with a stable pointer array for TensorList.
    struct ViewList {
      std::vector<TensorView> views;
      std::vector<const TensorView*> ptrs;
    };
    auto list = [&](std::span<const int> ids) {
      auto l = std::make_shared<ViewList>();
      l->views.reserve(ids.size());
      for (int t : ids) l->views.push_back(plan.tensors[t].view);
      for (const TensorView& v : l->views) l->ptrs.push_back(&v);
      return l;
    };
    auto normalize_axis = [](int axis, int rank) { return axis < 0 ? axis + rank : axis; };

    switch (op.code) {
      case builtin::kConcatenation: {
        auto in = list(op.inputs);
        auto out = view(op.outputs[0]);
        int axis = normalize_axis(op.options.axis, out->rank());
        return std::function<Status()>([in, out, axis] { return kernels::Concatenation(in->ptrs, axis, *out); });
      }
      case builtin::kQuantize: {
        auto in = view(op.inputs[0]), out = view(op.outputs[0]);
        return std::function<Status()>([in, out] { return kernels::Quantize(*in, *out); });
      }
      case builtin::kDequantize: {
        auto in = view(op.inputs[0]), out = view(op.outputs[0]);
        return std::function<Status()>([in, out] { return kernels::Dequantize(*in, *out); });
      }
      case builtin::kSoftmax: {
        auto in = view(op.inputs[0]), out = view(op.outputs[0]);
        float beta = op.options.beta;
        return std::function<Status()>([in, out, beta] { return kernels::Softmax(*in, beta, *out); });
      }
      case builtin::kSplit: {
        // SPLIT's inputs are (axis, value).
        EP_ASSIGN_OR_RETURN(auto axis_values, ConstantInts(plan, op, 0));
        if (axis_values.size() != 1) return InvalidArgumentError("axis must be a scalar");
        auto in = view(op.inputs[1]);
        auto outs = list(op.outputs);
        int axis = normalize_axis(axis_values[0], in->rank());
        return std::function<Status()>([in, outs, axis] { return kernels::Split(*in, axis, outs->ptrs); });
      }
      case builtin::kSplitV: {
        // SPLIT_V's inputs are (value, size_splits, axis); sizes come from the outputs.
        EP_ASSIGN_OR_RETURN(auto axis_values, ConstantInts(plan, op, 2));
        if (axis_values.size() != 1) return InvalidArgumentError("axis must be a scalar");
        auto in = view(op.inputs[0]);
        auto outs = list(op.outputs);
        int axis = normalize_axis(axis_values[0], in->rank());
        return std::function<Status()>([in, outs, axis] { return kernels::SplitV(*in, axis, outs->ptrs); });
      }
      case builtin::kStridedSlice: {
        EP_ASSIGN_OR_RETURN(auto begin, ConstantInts(plan, op, 1));
        EP_ASSIGN_OR_RETURN(auto end, ConstantInts(plan, op, 2));
        EP_ASSIGN_OR_RETURN(auto strides, ConstantInts(plan, op, 3));
        kernels::StridedSliceOptions options;
        options.begin_mask = op.options.begin_mask;
        options.end_mask = op.options.end_mask;
        options.ellipsis_mask = op.options.ellipsis_mask;
        options.new_axis_mask = op.options.new_axis_mask;
        options.shrink_axis_mask = op.options.shrink_axis_mask;
        options.offset = op.options.offset;
        auto in = view(op.inputs[0]), out = view(op.outputs[0]);
        return std::function<Status()>([=] { return kernels::StridedSlice(*in, begin, end, strides, options, *out); });
      }
      case builtin::kResizeNearestNeighbor: {
        auto in = view(op.inputs[0]), out = view(op.outputs[0]);
        bool align = op.options.align_corners, half = op.options.half_pixel_centers;
        return std::function<Status()>(
            [in, out, align, half] { return kernels::ResizeNearestNeighbor(*in, align, half, *out); });
      }
      case builtin::kArgMax:
      case builtin::kArgMin: {
        EP_ASSIGN_OR_RETURN(auto axis_values, ConstantInts(plan, op, 1));
        if (axis_values.size() != 1) return InvalidArgumentError("axis must be a scalar");
        auto in = view(op.inputs[0]), out = view(op.outputs[0]);
        int axis = normalize_axis(axis_values[0], in->rank());
        if (op.code == builtin::kArgMax)
          return std::function<Status()>([in, out, axis] { return kernels::ArgMax(*in, axis, *out); });
        return std::function<Status()>([in, out, axis] { return kernels::ArgMin(*in, axis, *out); });
      }
      case builtin::kCast: {
        auto in = view(op.inputs[0]), out = view(op.outputs[0]);
        return std::function<Status()>([in, out] { return kernels::Cast(*in, *out); });
      }
      case builtin::kAdd:
      case builtin::kSub:
      case builtin::kMul:
      case builtin::kDiv:
      case builtin::kFloorDiv: {
        if (op.inputs.size() != 2) return InvalidArgumentError("expected 2 inputs");
        EP_ASSIGN_OR_RETURN(auto activation, ToKernelActivation(op.options.activation));
        kernels::BinaryOp binary = op.code == builtin::kAdd   ? kernels::BinaryOp::kAdd
                                   : op.code == builtin::kSub ? kernels::BinaryOp::kSub
                                   : op.code == builtin::kMul ? kernels::BinaryOp::kMul
                                   : op.code == builtin::kDiv ? kernels::BinaryOp::kDiv
                                                              : kernels::BinaryOp::kFloorDiv;
        auto a = view(op.inputs[0]), b = view(op.inputs[1]), out = view(op.outputs[0]);
        return std::function<Status()>(
            [=] { return kernels::ElementwiseBinary(binary, *a, *b, activation, *out); });
      }
      case builtin::kPack: {
        auto in = list(op.inputs);
        auto out = view(op.outputs[0]);
        int axis = normalize_axis(op.options.axis, out->rank());
        return std::function<Status()>([in, out, axis] { return kernels::Pack(in->ptrs, axis, *out); });
      }
      case builtin::kUnpack: {
        auto in = view(op.inputs[0]);
        auto outs = list(op.outputs);
        int axis = normalize_axis(op.options.axis, in->rank());
        return std::function<Status()>([in, outs, axis] { return kernels::Unpack(*in, axis, outs->ptrs); });
      }
      case builtin::kGatherNd: {
        auto params = view(op.inputs[0]), indices = view(op.inputs[1]), out = view(op.outputs[0]);
        return std::function<Status()>([=] { return kernels::GatherNd(*params, *indices, *out); });
      }
      case builtin::kReshape:
      case builtin::kSqueeze: {
        auto in = view(op.inputs[0]), out = view(op.outputs[0]);
        return std::function<Status()>([in, out] { return kernels::Reshape(*in, *out); });
      }
      case builtin::kLogistic: {
        auto in = view(op.inputs[0]), out = view(op.outputs[0]);
        return std::function<Status()>([in, out] { return kernels::Logistic(*in, *out); });
      }
      case builtin::kAveragePool2D: {
        kernels::Pool2DParams params;
        params.filter_height = op.options.filter_h;
        params.filter_width = op.options.filter_w;
        params.stride_height = op.options.stride_h;
        params.stride_width = op.options.stride_w;
        params.same_padding = op.options.padding == Padding::kSame;
        EP_ASSIGN_OR_RETURN(params.activation, ToKernelActivation(op.options.activation));
        auto in = view(op.inputs[0]), out = view(op.outputs[0]);
        return std::function<Status()>([=] { return kernels::AveragePool2DQuantized(*in, params, *out); });
      }
      case builtin::kCustom: {
        if (op.inputs.size() != 3) return InvalidArgumentError("expected 3 inputs, got {}", op.inputs.size());
        EP_ASSIGN_OR_RETURN(auto options, kernels::ParseDetectionPostProcessOptions(op.custom_options.data(),
                                                                                    op.custom_options.size()));
        auto boxes = view(op.inputs[0]), scores = view(op.inputs[1]), anchors = view(op.inputs[2]);
        auto outs = list(op.outputs);
        const int num_anchors = anchors->rank() >= 1 ? anchors->shape[0] : 0;
        auto scratch = std::make_shared<std::vector<std::byte>>(
            kernels::DetectionPostProcessScratchBytes(options, num_anchors));
        return std::function<Status()>([=] {
          return kernels::DetectionPostProcess(options, *boxes, *scores, *anchors, outs->ptrs, *scratch);
        });
      }
      default:
        return UnimplementedError("no own kernel");
    }
  }
};

}  // namespace

std::unique_ptr<Backend> MakeOwnKernelBackend() { return std::make_unique<OwnKernelBackend>(); }

}  // namespace edgepipe::engine
