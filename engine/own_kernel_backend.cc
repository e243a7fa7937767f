// Ops XNNPACK has no node for run on our own kernels (engine/kernels/), one op
// per step. Compile binds the op's tensors (views into the arena or constants)
// and its static attributes once, so Run only calls the kernel.
#include <functional>

#include <fmt/format.h>

#include "engine/backend.h"
#include "engine/kernels/average_pool.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/unidirectional_sequence_lstm.h"
#include "engine/kernels/mediapipe_ops.h"

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

using KernelFn = std::function<Status()>;

// What Bind gives a kernel: views of the op's tensors (stable for the step's
// lifetime) and a list form for variadic ops.
struct ViewList {
  std::vector<TensorView> views;
  std::vector<const TensorView*> ptrs;
};
std::shared_ptr<TensorView> View(const Plan& plan, int t) { return std::make_shared<TensorView>(plan.tensors[t].view); }
std::shared_ptr<ViewList> Views(const Plan& plan, std::span<const int> ids) {
  auto l = std::make_shared<ViewList>();
  l->views.reserve(ids.size());
  for (int t : ids) l->views.push_back(plan.tensors[t].view);
  for (const TensorView& v : l->views) l->ptrs.push_back(&v);
  return l;
}
int NormalizeAxis(int axis, int rank) { return axis < 0 ? axis + rank : axis; }
Result<int> ScalarAxis(const Plan& plan, const PlanOp& op, size_t k, int rank) {
  EP_ASSIGN_OR_RETURN(auto values, ConstantInts(plan, op, k));
  if (values.size() != 1) return InvalidArgumentError("axis must be a scalar");
  return NormalizeAxis(values[0], rank);
}

// Ops of one input and one output whose kernel takes just the two.
template <Status (*Kernel)(const TensorView&, const TensorView&)>
Result<KernelFn> BindUnary(const Plan& plan, const PlanOp& op) {
  auto in = View(plan, op.inputs[0]), out = View(plan, op.outputs[0]);
  return KernelFn([in, out] { return Kernel(*in, *out); });
}

bool ActivationIsKernels(const Plan&, const PlanOp& op, std::string* why) {
  if (ToKernelActivation(op.options.activation).ok()) return true;
  if (why) *why = fmt::format("fused {} activation", ActivationName(op.options.activation));
  return false;
}

Result<KernelFn> BindConcatenation(const Plan& plan, const PlanOp& op) {
  auto in = Views(plan, op.inputs);
  auto out = View(plan, op.outputs[0]);
  int axis = NormalizeAxis(op.options.axis, out->rank());
  return KernelFn([in, out, axis] { return kernels::Concatenation(in->ptrs, axis, *out); });
}

Result<KernelFn> BindSoftmax(const Plan& plan, const PlanOp& op) {
  auto in = View(plan, op.inputs[0]), out = View(plan, op.outputs[0]);
  float beta = op.options.beta;
  return KernelFn([in, out, beta] { return kernels::Softmax(*in, beta, *out); });
}

// SPLIT's inputs are (axis, value).
Result<KernelFn> BindSplit(const Plan& plan, const PlanOp& op) {
  auto in = View(plan, op.inputs[1]);
  EP_ASSIGN_OR_RETURN(int axis, ScalarAxis(plan, op, 0, in->rank()));
  auto outs = Views(plan, op.outputs);
  return KernelFn([in, outs, axis] { return kernels::Split(*in, axis, outs->ptrs); });
}

// SPLIT_V's inputs are (value, size_splits, axis); sizes come from the outputs.
Result<KernelFn> BindSplitV(const Plan& plan, const PlanOp& op) {
  auto in = View(plan, op.inputs[0]);
  EP_ASSIGN_OR_RETURN(int axis, ScalarAxis(plan, op, 2, in->rank()));
  auto outs = Views(plan, op.outputs);
  return KernelFn([in, outs, axis] { return kernels::SplitV(*in, axis, outs->ptrs); });
}

Result<KernelFn> BindStridedSlice(const Plan& plan, const PlanOp& op) {
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
  auto in = View(plan, op.inputs[0]), out = View(plan, op.outputs[0]);
  return KernelFn([=] { return kernels::StridedSlice(*in, begin, end, strides, options, *out); });
}

Result<KernelFn> BindResizeNearestNeighbor(const Plan& plan, const PlanOp& op) {
  auto in = View(plan, op.inputs[0]), out = View(plan, op.outputs[0]);
  bool align = op.options.align_corners, half = op.options.half_pixel_centers;
  return KernelFn([in, out, align, half] { return kernels::ResizeNearestNeighbor(*in, align, half, *out); });
}

template <Status (*Kernel)(const TensorView&, int, const TensorView&)>
Result<KernelFn> BindArgMinMax(const Plan& plan, const PlanOp& op) {
  auto in = View(plan, op.inputs[0]), out = View(plan, op.outputs[0]);
  EP_ASSIGN_OR_RETURN(int axis, ScalarAxis(plan, op, 1, in->rank()));
  return KernelFn([in, out, axis] { return Kernel(*in, axis, *out); });
}

template <kernels::BinaryOp Binary>
Result<KernelFn> BindBinary(const Plan& plan, const PlanOp& op) {
  if (op.inputs.size() != 2) return InvalidArgumentError("expected 2 inputs");
  EP_ASSIGN_OR_RETURN(auto activation, ToKernelActivation(op.options.activation));
  auto a = View(plan, op.inputs[0]), b = View(plan, op.inputs[1]), out = View(plan, op.outputs[0]);
  return KernelFn([=] { return kernels::ElementwiseBinary(Binary, *a, *b, activation, *out); });
}

Result<KernelFn> BindPack(const Plan& plan, const PlanOp& op) {
  auto in = Views(plan, op.inputs);
  auto out = View(plan, op.outputs[0]);
  int axis = NormalizeAxis(op.options.axis, out->rank());
  return KernelFn([in, out, axis] { return kernels::Pack(in->ptrs, axis, *out); });
}

Result<KernelFn> BindUnpack(const Plan& plan, const PlanOp& op) {
  auto in = View(plan, op.inputs[0]);
  auto outs = Views(plan, op.outputs);
  int axis = NormalizeAxis(op.options.axis, in->rank());
  return KernelFn([in, outs, axis] { return kernels::Unpack(*in, axis, outs->ptrs); });
}

Result<KernelFn> BindGatherNd(const Plan& plan, const PlanOp& op) {
  auto params = View(plan, op.inputs[0]), indices = View(plan, op.inputs[1]), out = View(plan, op.outputs[0]);
  return KernelFn([=] { return kernels::GatherNd(*params, *indices, *out); });
}

bool QuantizedAveragePoolSupports(const Plan& plan, const PlanOp& op, std::string* why) {
  const TensorView& in = plan.tensors[op.inputs[0]].view;
  return (in.dtype == DType::kUInt8 || in.dtype == DType::kInt8) && ActivationIsKernels(plan, op, why);
}

Result<KernelFn> BindAveragePool(const Plan& plan, const PlanOp& op) {
  kernels::Pool2DParams params;
  params.filter_height = op.options.filter_h;
  params.filter_width = op.options.filter_w;
  params.stride_height = op.options.stride_h;
  params.stride_width = op.options.stride_w;
  params.same_padding = op.options.padding == Padding::kSame;
  EP_ASSIGN_OR_RETURN(params.activation, ToKernelActivation(op.options.activation));
  auto in = View(plan, op.inputs[0]), out = View(plan, op.outputs[0]);
  return KernelFn([=] { return kernels::AveragePool2DQuantized(*in, params, *out); });
}

Result<KernelFn> BindDetectionPostProcess(const Plan& plan, const PlanOp& op) {
  if (op.inputs.size() != 3) return InvalidArgumentError("expected 3 inputs, got {}", op.inputs.size());
  EP_ASSIGN_OR_RETURN(auto options,
                      kernels::ParseDetectionPostProcessOptions(op.custom_options.data(), op.custom_options.size()));
  auto boxes = View(plan, op.inputs[0]), scores = View(plan, op.inputs[1]), anchors = View(plan, op.inputs[2]);
  auto outs = Views(plan, op.outputs);
  const int num_anchors = anchors->rank() >= 1 ? anchors->shape[0] : 0;
  auto scratch =
      std::make_shared<std::vector<std::byte>>(kernels::DetectionPostProcessScratchBytes(options, num_anchors));
  return KernelFn(
      [=] { return kernels::DetectionPostProcess(options, *boxes, *scores, *anchors, outs->ptrs, *scratch); });
}

// UNIDIRECTIONAL_SEQUENCE_LSTM: float32, or int8 with int16 cell state (TFLite's
// 8x8_16 integer LSTM). The output and cell states are variable tensors the
// kernel updates in place, so they carry over between invocations as in TFLite.
bool LstmSupports(const Plan& plan, const PlanOp& op, std::string* why) {
  auto reject = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  if (op.options.diagonal_recurrent_tensors) return reject("diagonal recurrent weights");
  if (op.inputs.size() <= kernels::lstm_input::kInputToOutputWeights || op.inputs[0] < 0 ||
      op.inputs[kernels::lstm_input::kInputToOutputWeights] < 0)
    return reject("missing input or weights");
  const DType input = plan.tensors[op.inputs[0]].view.dtype;
  const DType weights = plan.tensors[op.inputs[kernels::lstm_input::kInputToOutputWeights]].view.dtype;
  if (input == DType::kFloat32 && weights == DType::kFloat32) {
    if (op.options.activation == Activation::kSignBit) return reject("SIGN_BIT activation");
    return true;
  }
  if (input == DType::kInt8 && weights == DType::kInt8) return true;
  return reject(fmt::format("{} input with {} weights (hybrid or 16-bit LSTM)", DTypeName(input), DTypeName(weights)));
}

Result<KernelFn> BindLstm(const Plan& plan, const PlanOp& op) {
  namespace li = kernels::lstm_input;
  kernels::LstmOptions options;
  switch (op.options.activation) {
    case Activation::kNone: options.activation = kernels::LstmActivation::kNone; break;
    case Activation::kRelu: options.activation = kernels::LstmActivation::kRelu; break;
    case Activation::kReluN1To1: options.activation = kernels::LstmActivation::kReluN1To1; break;
    case Activation::kRelu6: options.activation = kernels::LstmActivation::kRelu6; break;
    case Activation::kTanh: options.activation = kernels::LstmActivation::kTanh; break;
    case Activation::kSignBit: return UnimplementedError("SIGN_BIT activation");
  }
  options.cell_clip = op.options.cell_clip;
  options.proj_clip = op.options.proj_clip;
  options.time_major = op.options.time_major;
  for (int k : {li::kOutputState, li::kCellState})
    if (static_cast<int>(op.inputs.size()) <= k || op.inputs[k] < 0 || !plan.tensors[op.inputs[k]].is_variable)
      return InvalidArgumentError("input {} (the {} state) must be a variable tensor", k,
                                  k == li::kOutputState ? "output" : "cell");
  // Views with nullptr for omitted optional inputs.
  struct Operands {
    std::vector<TensorView> views;
    std::vector<const TensorView*> inputs, intermediates;
    TensorView output;
  };
  auto operands = std::make_shared<Operands>();
  operands->views.reserve(op.inputs.size() + op.intermediates.size());
  for (int t : op.inputs)
    if (t >= 0) operands->views.push_back(plan.tensors[t].view);
  for (int t : op.intermediates) operands->views.push_back(plan.tensors[t].view);
  size_t next = 0;
  for (int t : op.inputs) operands->inputs.push_back(t >= 0 ? &operands->views[next++] : nullptr);
  for (size_t i = 0; i < op.intermediates.size(); ++i) operands->intermediates.push_back(&operands->views[next++]);
  if (op.outputs.size() != 1) return InvalidArgumentError("expected 1 output, got {}", op.outputs.size());
  operands->output = plan.tensors[op.outputs[0]].view;
  EP_ASSIGN_OR_RETURN(auto prepared, kernels::PrepareUnidirectionalSequenceLstm(
                                         operands->inputs, operands->intermediates, options, operands->output));
  auto lstm = std::make_shared<const kernels::LstmPlan>(std::move(prepared));
  auto scratch = std::make_shared<std::vector<std::byte>>(kernels::UnidirectionalSequenceLstmScratchBytes(*lstm));
  return KernelFn([=] { return kernels::UnidirectionalSequenceLstm(*lstm, operands->inputs, operands->output, *scratch); });
}

// ---- MediaPipe custom ops (engine/kernels/mediapipe_ops.h). Options are parsed
// here, once per op; the v2 face-mesh ops have different semantics at version 1
// (4-D tensors, other options), which we do not implement.
bool IsVersion2(const Plan&, const PlanOp& op, std::string* why) {
  if (op.version == 2) return true;
  if (why) *why = fmt::format("only version 2 is implemented, the model has {}", op.version);
  return false;
}

Status ExpectArity(const PlanOp& op, size_t inputs, size_t outputs) {
  if (op.inputs.size() != inputs || op.outputs.size() != outputs)
    return InvalidArgumentError("expected {} inputs and {} outputs, got {} and {}", inputs, outputs, op.inputs.size(),
                                op.outputs.size());
  for (int t : op.inputs)
    if (t < 0) return InvalidArgumentError("an input is missing");
  return OkStatus();
}

Result<KernelFn> BindTransposeConvBias(const Plan& plan, const PlanOp& op) {
  EP_RETURN_IF_ERROR(ExpectArity(op, 3, 1));
  EP_ASSIGN_OR_RETURN(auto options,
                      kernels::ParseTransposeConvBiasOptions(op.custom_options.data(), op.custom_options.size()));
  auto in = View(plan, op.inputs[0]), filter = View(plan, op.inputs[1]), bias = View(plan, op.inputs[2]);
  auto out = View(plan, op.outputs[0]);
  return KernelFn([=] { return kernels::TransposeConvBias(options, *in, *filter, *bias, *out); });
}

Result<KernelFn> BindMaxPoolWithArgmax(const Plan& plan, const PlanOp& op) {
  EP_RETURN_IF_ERROR(ExpectArity(op, 1, 2));
  EP_ASSIGN_OR_RETURN(auto options, kernels::ParseMediaPipePoolOptions(op.custom_options.data(),
                                                                       op.custom_options.size(),
                                                                       "MaxPoolingWithArgmax2D"));
  auto in = View(plan, op.inputs[0]), out = View(plan, op.outputs[0]), indices = View(plan, op.outputs[1]);
  return KernelFn([=] { return kernels::MaxPoolWithArgmax(options, *in, *out, *indices); });
}

Result<KernelFn> BindMaxUnpooling(const Plan& plan, const PlanOp& op) {
  EP_RETURN_IF_ERROR(ExpectArity(op, 2, 1));
  EP_ASSIGN_OR_RETURN(auto options, kernels::ParseMediaPipePoolOptions(op.custom_options.data(),
                                                                       op.custom_options.size(), "MaxUnpooling2D"));
  auto in = View(plan, op.inputs[0]), indices = View(plan, op.inputs[1]), out = View(plan, op.outputs[0]);
  return KernelFn([=] { return kernels::MaxUnpooling(options, *in, *indices, *out); });
}

Result<KernelFn> BindLandmarksToTransformMatrix(const Plan& plan, const PlanOp& op) {
  EP_RETURN_IF_ERROR(ExpectArity(op, 1, 1));
  EP_ASSIGN_OR_RETURN(auto parsed, kernels::ParseLandmarksToTransformMatrixOptions(op.custom_options.data(),
                                                                                   op.custom_options.size()));
  auto options = std::make_shared<const kernels::LandmarksToTransformMatrixOptions>(std::move(parsed));
  auto in = View(plan, op.inputs[0]), out = View(plan, op.outputs[0]);
  return KernelFn([=] { return kernels::LandmarksToTransformMatrix(*options, *in, *out); });
}

Result<KernelFn> BindTransformTensorBilinear(const Plan& plan, const PlanOp& op) {
  EP_RETURN_IF_ERROR(ExpectArity(op, 2, 1));
  EP_ASSIGN_OR_RETURN(auto options, kernels::ParseTransformTensorBilinearOptions(op.custom_options.data(),
                                                                                 op.custom_options.size()));
  auto in = View(plan, op.inputs[0]), matrix = View(plan, op.inputs[1]), out = View(plan, op.outputs[0]);
  return KernelFn([=] { return kernels::TransformTensorBilinear(options, *in, *matrix, *out); });
}

Result<KernelFn> BindTransformLandmarks(const Plan& plan, const PlanOp& op) {
  EP_RETURN_IF_ERROR(ExpectArity(op, 2, 1));
  auto in = View(plan, op.inputs[0]), matrix = View(plan, op.inputs[1]), out = View(plan, op.outputs[0]);
  return KernelFn([=] { return kernels::TransformLandmarks(*in, *matrix, *out); });
}

// One entry per op: {{code, custom name, highest version, supports}, bind}.
// The ops XNNPACK has no node for, and the dtypes of others it does not take.
struct OwnKernelOp : OpRegistration {
  Result<KernelFn> (*bind)(const Plan& plan, const PlanOp& op) = nullptr;
};

const OwnKernelOp kOwnKernelOps[] = {
    {{builtin::kConcatenation, "", 4,
      [](const Plan&, const PlanOp& op, std::string* why) {
        if (op.options.activation == Activation::kNone) return true;
        if (why) *why = fmt::format("fused {} activation", ActivationName(op.options.activation));
        return false;
      }},
     BindConcatenation},
    {{builtin::kAdd, "", 4, ActivationIsKernels}, BindBinary<kernels::BinaryOp::kAdd>},
    {{builtin::kSub, "", 5, ActivationIsKernels}, BindBinary<kernels::BinaryOp::kSub>},
    {{builtin::kMul, "", 5, ActivationIsKernels}, BindBinary<kernels::BinaryOp::kMul>},
    {{builtin::kDiv, "", 2, ActivationIsKernels}, BindBinary<kernels::BinaryOp::kDiv>},
    {{builtin::kFloorDiv, "", 3, nullptr}, BindBinary<kernels::BinaryOp::kFloorDiv>},
    {{builtin::kQuantize, "", 3, nullptr}, BindUnary<kernels::Quantize>},
    {{builtin::kDequantize, "", 5, nullptr}, BindUnary<kernels::Dequantize>},
    {{builtin::kSoftmax, "", 3, nullptr}, BindSoftmax},
    {{builtin::kSplit, "", 4, nullptr}, BindSplit},
    {{builtin::kSplitV, "", 2, nullptr}, BindSplitV},
    {{builtin::kStridedSlice, "", 6, nullptr}, BindStridedSlice},
    {{builtin::kResizeNearestNeighbor, "", 4, nullptr}, BindResizeNearestNeighbor},
    {{builtin::kArgMax, "", 3, nullptr}, BindArgMinMax<kernels::ArgMax>},
    {{builtin::kArgMin, "", 3, nullptr}, BindArgMinMax<kernels::ArgMin>},
    {{builtin::kCast, "", 4, nullptr}, BindUnary<kernels::Cast>},
    {{builtin::kPack, "", 3, nullptr}, BindPack},
    {{builtin::kUnpack, "", 4, nullptr}, BindUnpack},
    {{builtin::kGatherNd, "", 4, nullptr}, BindGatherNd},
    {{builtin::kReshape, "", 3, nullptr}, BindUnary<kernels::Reshape>},
    {{builtin::kSqueeze, "", 2, nullptr}, BindUnary<kernels::Reshape>},
    {{builtin::kLogistic, "", 3, nullptr}, BindUnary<kernels::Logistic>},
    {{builtin::kAveragePool2D, "", 3, QuantizedAveragePoolSupports}, BindAveragePool},
    {{builtin::kCustom, "TFLite_Detection_PostProcess", 1, nullptr}, BindDetectionPostProcess},
    // Versions 2 and 3 are hybrid (float input, int8 weights): LstmSupports rejects those.
    {{builtin::kUnidirectionalSequenceLstm, "", 3, LstmSupports}, BindLstm},
    // MediaPipe's custom ops.
    {{builtin::kCustom, "Convolution2DTransposeBias", 1, nullptr}, BindTransposeConvBias},
    {{builtin::kCustom, "MaxPoolingWithArgmax2D", 1, nullptr}, BindMaxPoolWithArgmax},
    {{builtin::kCustom, "MaxUnpooling2D", 1, nullptr}, BindMaxUnpooling},
    {{builtin::kCustom, "Landmarks2TransformMatrix", 2, IsVersion2}, BindLandmarksToTransformMatrix},
    {{builtin::kCustom, "TransformTensorBilinear", 2, IsVersion2}, BindTransformTensorBilinear},
    {{builtin::kCustom, "TransformLandmarks", 2, IsVersion2}, BindTransformLandmarks},
};

class OwnKernelBackend final : public Backend {
 public:
  OwnKernelBackend() : Backend(RegistrationsOf<OwnKernelOp>(kOwnKernelOps)) {}
  const char* name() const override { return "own-kernels"; }
  bool groups_ops() const override { return false; }

  Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                        const BackendContext&) const override {
    if (ops.size() != 1) return InternalError("own kernels run one op per step");
    const PlanOp& op = plan.ops[ops[0]];
    const auto* entry = static_cast<const OwnKernelOp*>(Find(op));
    if (entry == nullptr) return InternalError("{}: no own kernel", OpLabel(op));
    auto run = entry->bind(plan, op);
    if (!run.ok()) return run.status().WithContext(OpLabel(op));
    // Errors at run time name the op too.
    auto label = OpLabel(op);
    auto step = std::make_unique<KernelStep>([fn = std::move(*run), label]() -> Status {
      Status s = fn();
      return s.ok() ? s : s.WithContext(label);
    });
    step->set_variant("generic");
    return std::unique_ptr<Step>(std::move(step));
  }
};

}  // namespace

std::unique_ptr<Backend> MakeOwnKernelBackend() { return std::make_unique<OwnKernelBackend>(); }

}  // namespace edgepipe::engine
