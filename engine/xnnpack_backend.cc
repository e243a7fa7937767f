// Lowering of TFLite ops to an XNNPACK subgraph (the Debian 2022-02 snapshot's
// subgraph API). One Step = one xnn_subgraph turned into one xnn_runtime.
#include <xnnpack.h>

#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <set>

#include <fmt/ranges.h>

#include "engine/backend.h"
#include "engine/threading/thread_pool.h"

namespace edgepipe::engine {
namespace {

constexpr size_t kMaxXnnDims = 6;  // XNN_MAX_TENSOR_DIMS of this XNNPACK

const char* XnnStatusName(xnn_status status) {
  switch (status) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "uninitialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
  }
  return "unknown status";
}

Status EnsureXnnpackInitialized() {
  static std::once_flag once;
  static xnn_status status = xnn_status_uninitialized;
  std::call_once(once, [] { status = xnn_initialize(/*allocator=*/nullptr); });
  if (status != xnn_status_success)
    return UnavailableError("XNNPACK failed to initialize ({}): this CPU may be unsupported",
                            XnnStatusName(status));
  return OkStatus();
}

bool IsFloat(const TensorView& t) { return t.dtype == DType::kFloat32; }
bool IsQuant8(const TensorView& t) {
  return (t.dtype == DType::kUInt8 || t.dtype == DType::kInt8) && t.quant.scale.size() == 1;
}
bool SameQuant(const TensorView& a, const TensorView& b) {
  return a.dtype == b.dtype && a.quant.scale == b.quant.scale && a.quant.zero_point == b.quant.zero_point;
}
// Float, or 8-bit quantized per tensor with the same dtype as `like`.
bool SameKind(const TensorView& t, const TensorView& like) {
  if (IsFloat(like)) return IsFloat(t);
  return IsQuant8(like) && IsQuant8(t) && t.dtype == like.dtype;
}
bool ActivationSupported(Activation a) {
  return a == Activation::kNone || a == Activation::kRelu || a == Activation::kRelu6 ||
         a == Activation::kReluN1To1;
}
std::pair<float, float> ActivationRange(Activation a) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  switch (a) {
    case Activation::kRelu: return {0.0f, inf};
    case Activation::kRelu6: return {0.0f, 6.0f};
    case Activation::kReluN1To1: return {-1.0f, 1.0f};
    default: return {-inf, inf};
  }
}

bool ZeroPointsAllZero(const TensorView& t) {
  for (int64_t zp : t.quant.zero_point)
    if (zp != 0) return false;
  return true;
}

// Checks the constant weights (and bias) of a convolution / fully connected op.
bool WeightsSupported(const Plan& plan, const PlanOp& op, int channel_axis, std::string* why) {
  const TensorView& in = plan.tensors[op.inputs[0]].view;
  const PlanTensor& filter = plan.tensors[op.inputs[1]];
  if (!filter.is_constant) {
    if (why) *why = "weights are not constant";
    return false;
  }
  const TensorView& w = filter.view;
  if (IsFloat(in)) {
    if (!IsFloat(w)) {
      if (why) *why = fmt::format("float input with {} weights", DTypeName(w.dtype));
      return false;
    }
  } else if (in.dtype == DType::kUInt8) {
    if (!(w.dtype == DType::kUInt8 && w.quant.scale.size() == 1)) {
      if (why) *why = "uint8 input needs per-tensor uint8 weights";
      return false;
    }
  } else if (in.dtype == DType::kInt8) {
    if (w.dtype != DType::kInt8 || w.quant.scale.empty() || !ZeroPointsAllZero(w)) {
      if (why) *why = "int8 input needs symmetric int8 weights";
      return false;
    }
    if (w.quant.per_channel() && w.quant.axis != channel_axis) {
      if (why) *why = fmt::format("per-channel weights along axis {}, XNNPACK needs {}", w.quant.axis, channel_axis);
      return false;
    }
  } else {
    return false;
  }
  if (op.inputs.size() > 2 && op.inputs[2] >= 0) {
    const PlanTensor& bias = plan.tensors[op.inputs[2]];
    if (!bias.is_constant) {
      if (why) *why = "bias is not constant";
      return false;
    }
    if (IsFloat(in) ? !IsFloat(bias.view) : bias.view.dtype != DType::kInt32) return false;
  }
  return true;
}

class XnnpackStep final : public Step {
 public:
  XnnpackStep(xnn_runtime_t runtime, bool fp16) : runtime_(runtime), fp16_(fp16) {}
  ~XnnpackStep() override {
    if (runtime_ != nullptr) xnn_delete_runtime(runtime_);
  }
  Status Run() override {
    xnn_status status = xnn_invoke_runtime(runtime_);
    if (status != xnn_status_success) return InternalError("XNNPACK runtime failed: {}", XnnStatusName(status));
    return OkStatus();
  }
  bool fp16_active() const override { return fp16_; }

 private:
  xnn_runtime_t runtime_;
  bool fp16_;
};

class SubgraphBuilder;
// Defines `op` in the builder's subgraph through its entry in kXnnpackOps.
Status DefineOp(SubgraphBuilder& b, const PlanOp& op);

// Builds one xnn_subgraph from a run of ops.
class SubgraphBuilder {
 public:
  // In probe mode every non-constant tensor is an external value and no
  // memory is bound: only node definition and runtime creation are checked.
  SubgraphBuilder(const Plan& plan, std::span<const int> ops, bool probe = false)
      : plan_(plan), ops_(ops), probe_(probe) {
    for (int i : ops) in_segment_.insert(i);
  }
  ~SubgraphBuilder() {
    if (subgraph_ != nullptr) xnn_delete_subgraph(subgraph_);
  }

  Result<std::unique_ptr<Step>> Build(const BackendContext& context) {
    // External values: every arena tensor the segment touches.
    for (int i : ops_) {
      const PlanOp& op = plan_.ops[i];
      for (int t : op.inputs) AddExternal(t);
      for (int t : op.outputs) AddExternal(t);
    }
    xnn_status status = xnn_create_subgraph(static_cast<uint32_t>(external_tensors_.size()), 0, &subgraph_);
    if (status != xnn_status_success)
      return InternalError("xnn_create_subgraph failed: {}", XnnStatusName(status));
    for (int i : ops_) {
      Status s = DefineOp(*this, plan_.ops[i]);
      if (!s.ok()) return s.WithContext(OpLabel(plan_.ops[i]));
    }
    xnn_runtime_t runtime = nullptr;
    bool fp16 = false;
    // Without YIELD_WORKERS the pool's threads keep spinning after the step
    // ends, competing for the CPU with our own kernels (and other processes)
    // until the next step: on a 2-core machine that costs 10-100x.
    const uint32_t base_flags = context.threadpool != nullptr ? XNN_FLAG_YIELD_WORKERS : 0;
    if (context.fp16_inference_hint) {
      // FORCE fails when fp16 arithmetic is unavailable: that is how we learn to
      // report the hint as not honoured, then build the ordinary fp32 runtime.
      status = xnn_create_runtime_v2(subgraph_, context.threadpool, base_flags | XNN_FLAG_FORCE_FP16_INFERENCE,
                                     &runtime);
      fp16 = status == xnn_status_success;
    }
    if (runtime == nullptr) {
      status = xnn_create_runtime_v2(subgraph_, context.threadpool, base_flags, &runtime);
      if (status != xnn_status_success)
        return InternalError("XNNPACK could not create a runtime for ops {}: {}", OpNames(), XnnStatusName(status));
    }
    auto step = std::make_unique<XnnpackStep>(runtime, fp16);
    if (probe_) return std::unique_ptr<Step>(std::move(step));
    std::vector<xnn_external_value> externals;
    for (size_t k = 0; k < external_tensors_.size(); ++k)
      externals.push_back({static_cast<uint32_t>(k), plan_.tensors[external_tensors_[k]].view.data});
    status = xnn_setup_runtime(runtime, externals.size(), externals.data());
    if (status != xnn_status_success)
      return InternalError("XNNPACK runtime setup failed for ops {}: {}", OpNames(), XnnStatusName(status));
    return std::unique_ptr<Step>(std::move(step));
  }

 public:
  // For the ops' define functions below.
  const Plan& plan() const { return plan_; }
  xnn_subgraph_t subgraph() const { return subgraph_; }
  Result<uint32_t> Value(int t, const std::vector<size_t>* dims_override = nullptr) {
    auto it = value_ids_.find(t);
    if (it != value_ids_.end()) return it->second;
    const PlanTensor& tensor = plan_.tensors[t];
    const TensorView& v = tensor.view;
    std::vector<size_t> dims = dims_override != nullptr ? *dims_override
                                                        : std::vector<size_t>(v.shape.begin(), v.shape.end());
    if (dims.size() > kMaxXnnDims)
      return UnimplementedError("{} has rank {}, XNNPACK supports up to {}", plan_.TensorLabel(t), dims.size(), kMaxXnnDims);
    const void* data = tensor.is_constant ? v.data : nullptr;
    uint32_t external_id = XNN_INVALID_VALUE_ID;
    uint32_t flags = 0;
    if (auto ext = external_ids_.find(t); ext != external_ids_.end() && !tensor.is_constant) {
      external_id = ext->second;
      const bool produced_here = tensor.producer >= 0 && in_segment_.count(tensor.producer);
      flags = produced_here ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : XNN_VALUE_FLAG_EXTERNAL_INPUT;
    }
    uint32_t id = XNN_INVALID_VALUE_ID;
    xnn_status status;
    switch (v.dtype) {
      case DType::kFloat32:
        status = xnn_define_tensor_value(subgraph_, xnn_datatype_fp32, dims.size(), dims.data(), data,
                                         external_id, flags, &id);
        break;
      case DType::kUInt8:
      case DType::kInt8:
      case DType::kInt32: {
        if (v.quant.scale.empty())
          return UnimplementedError("{}: {} tensor without quantization", plan_.TensorLabel(t), DTypeName(v.dtype));
        if (v.quant.per_channel()) {
          if (v.dtype == DType::kUInt8) return UnimplementedError("{}: per-channel uint8", plan_.TensorLabel(t));
          xnn_datatype type = v.dtype == DType::kInt8 ? xnn_datatype_qcint8 : xnn_datatype_qcint32;
          status = xnn_define_channelwise_quantized_tensor_value(subgraph_, type, v.quant.scale.data(), dims.size(),
                                                                 static_cast<size_t>(v.quant.axis), dims.data(),
                                                                 data, external_id, flags, &id);
        } else {
          xnn_datatype type = v.dtype == DType::kUInt8  ? xnn_datatype_quint8
                              : v.dtype == DType::kInt8 ? xnn_datatype_qint8
                                                        : xnn_datatype_qint32;
          status = xnn_define_quantized_tensor_value(subgraph_, type, static_cast<int32_t>(v.quant.zero_point[0]),
                                                     v.quant.scale[0], dims.size(), dims.data(), data,
                                                     external_id, flags, &id);
        }
        break;
      }
      default:
        return UnimplementedError("{}: {} tensors are not supported by XNNPACK", plan_.TensorLabel(t),
                                  DTypeName(v.dtype));
    }
    if (status != xnn_status_success)
      return InternalError("XNNPACK rejected {} ({}, shape [{}]): {}", plan_.TensorLabel(t), DTypeName(v.dtype),
                           fmt::join(dims, ","), XnnStatusName(status));
    value_ids_[t] = id;
    return id;
  }

  Result<uint32_t> OptionalValue(const PlanOp& op, size_t k) {
    if (op.inputs.size() <= k || op.inputs[k] < 0) return XNN_INVALID_VALUE_ID;
    return Value(op.inputs[k]);
  }

  static Status Check(xnn_status status, const char* node) {
    if (status != xnn_status_success) return InternalError("XNNPACK rejected the {} node: {}", node, XnnStatusName(status));
    return OkStatus();
  }

 private:
  std::string OpNames() const {
    std::vector<std::string> names;
    for (int i : ops_) names.push_back(fmt::format("{}:{}", plan_.ops[i].model_index, plan_.ops[i].name));
    return fmt::format("[{}]", fmt::join(names, ", "));
  }

  void AddExternal(int t) {
    if (t < 0 || external_ids_.count(t)) return;
    if (!(plan_.tensors[t].needs_slot || (probe_ && !plan_.tensors[t].is_constant))) return;
    external_ids_[t] = static_cast<uint32_t>(external_tensors_.size());
    external_tensors_.push_back(t);
  }

  const Plan& plan_;
  std::span<const int> ops_;
  bool probe_ = false;
  std::set<int> in_segment_;
  std::map<int, uint32_t> external_ids_;
  std::vector<int> external_tensors_;
  std::map<int, uint32_t> value_ids_;
  xnn_subgraph_t subgraph_ = nullptr;
};

// ---- The ops XNNPACK runs: for each, which instances it takes (Supports) and
// how it becomes a subgraph node (Define); one kXnnpackOps entry per op.

struct XnnpackOp : OpRegistration {
  Status (*define)(SubgraphBuilder& b, const PlanOp& op) = nullptr;
};

const TensorView& InputView(const Plan& plan, const PlanOp& op, size_t k = 0) { return plan.tensors[op.inputs[k]].view; }
const TensorView& OutputView(const Plan& plan, const PlanOp& op) { return plan.tensors[op.outputs[0]].view; }
bool FloatOp(const Plan& plan, const PlanOp& op) { return IsFloat(InputView(plan, op)) && IsFloat(OutputView(plan, op)); }
// Float, or 8-bit per-tensor with the output quantized exactly like the input.
bool FloatOrSameQuant8(const Plan& plan, const PlanOp& op) {
  const TensorView& in = InputView(plan, op);
  return FloatOp(plan, op) || (IsQuant8(in) && SameQuant(in, OutputView(plan, op)));
}
std::pair<float, float> OutputRange(const PlanOp& op) { return ActivationRange(op.options.activation); }
uint32_t SamePaddingFlag(const PlanOp& op) {
  return op.options.padding == Padding::kSame ? XNN_FLAG_TENSORFLOW_SAME_PADDING : 0;
}

// Input, filter, optional bias and output values of a conv / fully connected op.
struct WeightedValues {
  uint32_t in, filter, bias, out;
};
Result<WeightedValues> WeightedOpValues(SubgraphBuilder& b, const PlanOp& op) {
  WeightedValues v{};
  EP_ASSIGN_OR_RETURN(v.in, b.Value(op.inputs[0]));
  EP_ASSIGN_OR_RETURN(v.filter, b.Value(op.inputs[1]));
  EP_ASSIGN_OR_RETURN(v.bias, b.OptionalValue(op, 2));
  EP_ASSIGN_OR_RETURN(v.out, b.Value(op.outputs[0]));
  return v;
}

// Ops of one input and one output.
Status DefineUnary(SubgraphBuilder& b, const PlanOp& op,
                   xnn_status (*define)(xnn_subgraph_t, uint32_t in, uint32_t out, const PlanOp& op), const char* node) {
  EP_ASSIGN_OR_RETURN(uint32_t in, b.Value(op.inputs[0]));
  EP_ASSIGN_OR_RETURN(uint32_t out, b.Value(op.outputs[0]));
  return SubgraphBuilder::Check(define(b.subgraph(), in, out, op), node);
}
// Ops of two inputs and one output.
Status DefineBinary(SubgraphBuilder& b, const PlanOp& op,
                    xnn_status (*define)(xnn_subgraph_t, uint32_t a, uint32_t bv, uint32_t out, const PlanOp& op),
                    const char* node) {
  EP_ASSIGN_OR_RETURN(uint32_t a, b.Value(op.inputs[0]));
  EP_ASSIGN_OR_RETURN(uint32_t bv, b.Value(op.inputs[1]));
  EP_ASSIGN_OR_RETURN(uint32_t out, b.Value(op.outputs[0]));
  return SubgraphBuilder::Check(define(b.subgraph(), a, bv, out, op), node);
}

bool ConvSupports(const Plan& plan, const PlanOp& op, std::string* why) {
  const TensorView& in = InputView(plan, op);
  if (in.rank() != 4 || op.inputs.size() < 2 || !SameKind(OutputView(plan, op), in)) return false;
  return WeightsSupported(plan, op, op.code == builtin::kConv2D ? 0 : 3, why);
}

Status DefineConv2D(SubgraphBuilder& b, const PlanOp& op) {
  const OpOptions& o = op.options;
  const TensorView& in = InputView(b.plan(), op);
  const TensorView& w = b.plan().tensors[op.inputs[1]].view;
  EP_ASSIGN_OR_RETURN(const WeightedValues v, WeightedOpValues(b, op));
  auto [out_min, out_max] = OutputRange(op);
  const size_t in_channels = in.shape[3], group_in = w.shape[3];
  const uint32_t groups = static_cast<uint32_t>(in_channels / group_in);
  return SubgraphBuilder::Check(
      xnn_define_convolution_2d(b.subgraph(), 0, 0, 0, 0, w.shape[1], w.shape[2], o.stride_h, o.stride_w, o.dilation_h,
                                o.dilation_w, groups, group_in, w.shape[0] / groups, out_min, out_max, v.in, v.filter,
                                v.bias, v.out, SamePaddingFlag(op)),
      "convolution_2d");
}

Status DefineDepthwiseConv2D(SubgraphBuilder& b, const PlanOp& op) {
  const OpOptions& o = op.options;
  const TensorView& in = InputView(b.plan(), op);
  const TensorView& w = b.plan().tensors[op.inputs[1]].view;
  EP_ASSIGN_OR_RETURN(const WeightedValues v, WeightedOpValues(b, op));
  auto [out_min, out_max] = OutputRange(op);
  const uint32_t multiplier = static_cast<uint32_t>(w.shape[3] / in.shape[3]);
  return SubgraphBuilder::Check(
      xnn_define_depthwise_convolution_2d(b.subgraph(), 0, 0, 0, 0, w.shape[1], w.shape[2], o.stride_h, o.stride_w,
                                          o.dilation_h, o.dilation_w, multiplier, in.shape[3], out_min, out_max, v.in,
                                          v.filter, v.bias, v.out, SamePaddingFlag(op)),
      "depthwise_convolution_2d");
}

bool FullyConnectedSupports(const Plan& plan, const PlanOp& op, std::string* why) {
  if (op.inputs.size() < 2 || !SameKind(OutputView(plan, op), InputView(plan, op))) return false;
  if (InputView(plan, op, 1).quant.per_channel()) {
    if (why) *why = "per-channel fully-connected weights";
    return false;
  }
  return WeightsSupported(plan, op, 0, why);
}

Status DefineFullyConnected(SubgraphBuilder& b, const PlanOp& op) {
  EP_ASSIGN_OR_RETURN(const WeightedValues v, WeightedOpValues(b, op));
  auto [out_min, out_max] = OutputRange(op);
  return SubgraphBuilder::Check(
      xnn_define_fully_connected(b.subgraph(), out_min, out_max, v.in, v.filter, v.bias, v.out,
                                 op.options.keep_num_dims ? 0 : XNN_FLAG_TENSORFLOW_RESHAPE_2D),
      "fully_connected");
}

bool MaxPoolSupports(const Plan& plan, const PlanOp& op, std::string*) {
  return InputView(plan, op).rank() == 4 && FloatOrSameQuant8(plan, op);
}

Status DefineMaxPool2D(SubgraphBuilder& b, const PlanOp& op) {
  const OpOptions& o = op.options;
  auto [out_min, out_max] = OutputRange(op);
  EP_ASSIGN_OR_RETURN(uint32_t in, b.Value(op.inputs[0]));
  EP_ASSIGN_OR_RETURN(uint32_t out, b.Value(op.outputs[0]));
  if (o.filter_h == 1 && o.filter_w == 1 && o.stride_h == 1 && o.stride_w == 1)
    return SubgraphBuilder::Check(xnn_define_clamp(b.subgraph(), out_min, out_max, in, out, 0), "clamp");
  return SubgraphBuilder::Check(xnn_define_max_pooling_2d(b.subgraph(), 0, 0, 0, 0, o.filter_h, o.filter_w, o.stride_h,
                                                          o.stride_w, 1, 1, out_min, out_max, in, out,
                                                          SamePaddingFlag(op)),
                                "max_pooling_2d");
}

bool AveragePoolSupports(const Plan& plan, const PlanOp& op, std::string* why) {
  const bool float_op = FloatOp(plan, op);
  const TensorView& in = InputView(plan, op);
  // Quantized AVERAGE_POOL_2D runs on our kernel: this XNNPACK rounds the mean
  // differently from TFLite (off by one step on a few % of channels).
  if (op.code == builtin::kAveragePool2D && !float_op) {
    if (why) *why = "quantized average pooling rounds differently from TFLite";
    return false;
  }
  if (op.global_average_pool) return float_op || (IsQuant8(in) && SameKind(OutputView(plan, op), in));
  if (op.code == builtin::kMean) {
    if (why) *why = "MEAN over axes other than height and width";
    return false;
  }
  return float_op && in.rank() == 4;
}

Status DefineAveragePool(SubgraphBuilder& b, const PlanOp& op) {
  const OpOptions& o = op.options;
  const TensorView& in_view = InputView(b.plan(), op);
  auto [out_min, out_max] = OutputRange(op);
  EP_ASSIGN_OR_RETURN(uint32_t in, b.Value(op.inputs[0]));
  if (op.global_average_pool) {
    // XNNPACK wants a 4D [N,1,1,C] output; a MEAN without keep_dims has the
    // same bytes as [N,C].
    std::vector<size_t> dims = {static_cast<size_t>(in_view.shape[0]), 1, 1, static_cast<size_t>(in_view.shape[3])};
    EP_ASSIGN_OR_RETURN(uint32_t out, b.Value(op.outputs[0], &dims));
    return SubgraphBuilder::Check(xnn_define_global_average_pooling_2d(b.subgraph(), out_min, out_max, in, out, 0),
                                  "global_average_pooling_2d");
  }
  EP_ASSIGN_OR_RETURN(uint32_t out, b.Value(op.outputs[0]));
  return SubgraphBuilder::Check(xnn_define_average_pooling_2d(b.subgraph(), 0, 0, 0, 0, o.filter_h, o.filter_w,
                                                              o.stride_h, o.stride_w, out_min, out_max, in, out,
                                                              SamePaddingFlag(op)),
                                "average_pooling_2d");
}

// ADD, SUB, MUL: float, or 8-bit with every operand of one dtype.
bool ArithmeticSupports(const Plan& plan, const PlanOp& op, std::string*) {
  if (op.inputs.size() != 2) return false;
  const TensorView& in = InputView(plan, op);
  if (FloatOp(plan, op) && IsFloat(InputView(plan, op, 1))) return true;
  return IsQuant8(in) && SameKind(InputView(plan, op, 1), in) && SameKind(OutputView(plan, op), in);
}
bool FloatBinarySupports(const Plan& plan, const PlanOp& op, std::string*) {
  return op.inputs.size() == 2 && FloatOp(plan, op) && IsFloat(InputView(plan, op, 1));
}
bool FloatUnarySupports(const Plan& plan, const PlanOp& op, std::string*) { return FloatOp(plan, op); }
bool FloatOrSameQuant8Supports(const Plan& plan, const PlanOp& op, std::string*) {
  return FloatOrSameQuant8(plan, op);
}

bool PadSupports(const Plan& plan, const PlanOp& op, std::string*) {
  return op.inputs.size() == 2 && plan.tensors[op.inputs[1]].is_constant && FloatOrSameQuant8(plan, op);
}

Status DefinePad(SubgraphBuilder& b, const PlanOp& op) {
  const TensorView& in_view = InputView(b.plan(), op);
  const TensorView& pads = InputView(b.plan(), op, 1);
  std::vector<size_t> pre, post;
  auto pad = [&](int k) {
    return pads.dtype == DType::kInt64 ? pads.as<const int64_t>()[k] : int64_t{pads.as<const int32_t>()[k]};
  };
  for (int d = 0; d < in_view.rank(); ++d) {
    pre.push_back(static_cast<size_t>(pad(2 * d)));
    post.push_back(static_cast<size_t>(pad(2 * d + 1)));
  }
  EP_ASSIGN_OR_RETURN(uint32_t in, b.Value(op.inputs[0]));
  EP_ASSIGN_OR_RETURN(uint32_t out, b.Value(op.outputs[0]));
  // The padding value is real 0: XNNPACK quantizes it to the zero point.
  return SubgraphBuilder::Check(xnn_define_static_constant_pad(b.subgraph(), pre.data(), post.data(), 0.0f, in, out, 0),
                                "static_constant_pad");
}

Status DefineReshape(SubgraphBuilder& b, const PlanOp& op) {
  const TensorView& out_view = OutputView(b.plan(), op);
  std::vector<size_t> shape(out_view.shape.begin(), out_view.shape.end());
  EP_ASSIGN_OR_RETURN(uint32_t in, b.Value(op.inputs[0]));
  EP_ASSIGN_OR_RETURN(uint32_t out, b.Value(op.outputs[0]));
  return SubgraphBuilder::Check(xnn_define_static_reshape(b.subgraph(), shape.size(), shape.data(), in, out, 0),
                                "static_reshape");
}

bool ResizeBilinearSupports(const Plan& plan, const PlanOp& op, std::string*) {
  if (InputView(plan, op).rank() != 4) return false;
  if (op.options.align_corners && op.options.half_pixel_centers) return false;
  return FloatOrSameQuant8(plan, op);
}

Status DefineResizeBilinear(SubgraphBuilder& b, const PlanOp& op) {
  const OpOptions& o = op.options;
  const TensorView& out_view = OutputView(b.plan(), op);
  EP_ASSIGN_OR_RETURN(uint32_t in, b.Value(op.inputs[0]));
  EP_ASSIGN_OR_RETURN(uint32_t out, b.Value(op.outputs[0]));
  // The same bit means different things on different nodes: for resize,
  // no flag = half-pixel centers, ALIGN_CORNERS, or LEGACY = neither.
  uint32_t flags = o.align_corners        ? XNN_FLAG_ALIGN_CORNERS
                   : o.half_pixel_centers ? 0
                                          : XNN_FLAG_TENSORFLOW_LEGACY_MODE;
  return SubgraphBuilder::Check(
      xnn_define_static_resize_bilinear_2d(b.subgraph(), out_view.shape[1], out_view.shape[2], in, out, flags),
      "static_resize_bilinear_2d");
}

bool SoftmaxSupports(const Plan& plan, const PlanOp& op, std::string* why) {
  const bool float_op = FloatOp(plan, op);
  if (!float_op && why) *why = "quantized softmax";
  return float_op && op.options.beta == 1.0f;
}

bool LogisticSupports(const Plan& plan, const PlanOp& op, std::string*) {
  if (FloatOp(plan, op)) return true;
  // XNNPACK's quantized sigmoid has TFLite's fixed output quantization.
  const TensorView& in = InputView(plan, op);
  const TensorView& out = OutputView(plan, op);
  return IsQuant8(in) && SameKind(out, in) && out.quant.scale[0] == 1.0f / 256.0f &&
         out.quant.zero_point[0] == (out.dtype == DType::kUInt8 ? 0 : -128);
}

// RELU, RELU6, RELU_N1_TO_1: a clamp.
Status DefineClampOp(SubgraphBuilder& b, const PlanOp& op) {
  const Activation a = op.code == builtin::kRelu    ? Activation::kRelu
                       : op.code == builtin::kRelu6 ? Activation::kRelu6
                                                    : Activation::kReluN1To1;
  auto [lo, hi] = ActivationRange(a);
  EP_ASSIGN_OR_RETURN(uint32_t in, b.Value(op.inputs[0]));
  EP_ASSIGN_OR_RETURN(uint32_t out, b.Value(op.outputs[0]));
  return SubgraphBuilder::Check(xnn_define_clamp(b.subgraph(), lo, hi, in, out, 0), "clamp");
}

bool PreluSupports(const Plan& plan, const PlanOp& op, std::string* why) {
  if (!FloatOp(plan, op) || op.inputs.size() != 2) return false;
  const PlanTensor& slope = plan.tensors[op.inputs[1]];
  // A non-constant slope crashes this XNNPACK inside runtime creation.
  if (!slope.is_constant || !IsFloat(slope.view)) {
    if (why) *why = "PRELU slope is not a float constant";
    return false;
  }
  // The slope must be per-channel ([..., 1, C]) to be passed as [C].
  const TensorView& in = InputView(plan, op);
  const int32_t channels = in.shape.empty() ? 0 : in.shape.back();
  return static_cast<int64_t>(slope.view.num_elements()) == channels &&
         (slope.view.shape.empty() || slope.view.shape.back() == channels);
}

Status DefinePrelu(SubgraphBuilder& b, const PlanOp& op) {
  const TensorView& slope = InputView(b.plan(), op, 1);
  std::vector<size_t> dims = {slope.num_elements()};  // XNNPACK wants the slope as [C]
  EP_ASSIGN_OR_RETURN(uint32_t in, b.Value(op.inputs[0]));
  EP_ASSIGN_OR_RETURN(uint32_t s, b.Value(op.inputs[1], &dims));
  EP_ASSIGN_OR_RETURN(uint32_t out, b.Value(op.outputs[0]));
  return SubgraphBuilder::Check(xnn_define_prelu(b.subgraph(), in, s, out, 0), "prelu");
}

// Entries: {{code, custom name, highest version, supports}, define}.
#define EP_XNN_UNARY(fn, node)                                                                       \
  [](SubgraphBuilder& b, const PlanOp& op) {                                                        \
    return DefineUnary(b, op, [](xnn_subgraph_t g, uint32_t in, uint32_t out, const PlanOp& o) {    \
      (void)o;                                                                                      \
      return fn;                                                                                    \
    }, node);                                                                                       \
  }
#define EP_XNN_BINARY(fn, node)                                                                               \
  [](SubgraphBuilder& b, const PlanOp& op) {                                                                 \
    return DefineBinary(b, op, [](xnn_subgraph_t g, uint32_t a, uint32_t bv, uint32_t out, const PlanOp& o) { \
      [[maybe_unused]] auto [lo, hi] = OutputRange(o);                                                       \
      return fn;                                                                                             \
    }, node);                                                                                                \
  }

const XnnpackOp kXnnpackOps[] = {
    {{builtin::kConv2D, "", 5, ConvSupports}, DefineConv2D},
    {{builtin::kDepthwiseConv2D, "", 6, ConvSupports}, DefineDepthwiseConv2D},
    {{builtin::kFullyConnected, "", 9, FullyConnectedSupports}, DefineFullyConnected},
    {{builtin::kMaxPool2D, "", 3, MaxPoolSupports}, DefineMaxPool2D},
    {{builtin::kAveragePool2D, "", 3, AveragePoolSupports}, DefineAveragePool},
    {{builtin::kMean, "", 3, AveragePoolSupports}, DefineAveragePool},
    {{builtin::kAdd, "", 4, ArithmeticSupports}, EP_XNN_BINARY(xnn_define_add2(g, lo, hi, a, bv, out, 0), "add2")},
    {{builtin::kSub, "", 5, ArithmeticSupports},
     EP_XNN_BINARY(xnn_define_subtract(g, lo, hi, a, bv, out, 0), "subtract")},
    {{builtin::kMul, "", 5, ArithmeticSupports},
     EP_XNN_BINARY(xnn_define_multiply2(g, lo, hi, a, bv, out, 0), "multiply2")},
    {{builtin::kDiv, "", 2, FloatBinarySupports}, EP_XNN_BINARY(xnn_define_divide(g, lo, hi, a, bv, out, 0), "divide")},
    {{builtin::kMaximum, "", 4, FloatBinarySupports}, EP_XNN_BINARY(xnn_define_maximum2(g, a, bv, out, 0), "maximum2")},
    {{builtin::kMinimum, "", 4, FloatBinarySupports}, EP_XNN_BINARY(xnn_define_minimum2(g, a, bv, out, 0), "minimum2")},
    {{builtin::kPad, "", 4, PadSupports}, DefinePad},
    {{builtin::kReshape, "", 3, FloatOrSameQuant8Supports}, DefineReshape},
    {{builtin::kSqueeze, "", 2, FloatOrSameQuant8Supports}, DefineReshape},
    {{builtin::kResizeBilinear, "", 4, ResizeBilinearSupports}, DefineResizeBilinear},
    {{builtin::kSoftmax, "", 3, SoftmaxSupports}, EP_XNN_UNARY(xnn_define_softmax(g, in, out, 0), "softmax")},
    {{builtin::kLogistic, "", 3, LogisticSupports}, EP_XNN_UNARY(xnn_define_sigmoid(g, in, out, 0), "sigmoid")},
    {{builtin::kRelu, "", 3, FloatOrSameQuant8Supports}, DefineClampOp},
    {{builtin::kRelu6, "", 3, FloatOrSameQuant8Supports}, DefineClampOp},
    {{builtin::kReluN1To1, "", 2, FloatOrSameQuant8Supports}, DefineClampOp},
    {{builtin::kSqrt, "", 2, FloatUnarySupports}, EP_XNN_UNARY(xnn_define_square_root(g, in, out, 0), "square_root")},
    {{builtin::kSquare, "", 1, FloatUnarySupports}, EP_XNN_UNARY(xnn_define_square(g, in, out, 0), "square")},
    {{builtin::kHardSwish, "", 2, FloatUnarySupports}, EP_XNN_UNARY(xnn_define_hardswish(g, in, out, 0), "hardswish")},
    {{builtin::kLeakyRelu, "", 2, FloatUnarySupports},
     EP_XNN_UNARY(xnn_define_leaky_relu(g, o.options.alpha, in, out, 0), "leaky_relu")},
    {{builtin::kDepthToSpace, "", 2, FloatUnarySupports},
     EP_XNN_UNARY(xnn_define_depth_to_space(g, in, out, o.options.block_size, 0), "depth_to_space")},
    {{builtin::kPrelu, "", 1, PreluSupports}, DefinePrelu},
    {{builtin::kDequantize, "", 5,
      [](const Plan& plan, const PlanOp& op, std::string*) {
        return IsQuant8(InputView(plan, op)) && IsFloat(OutputView(plan, op));
      }},
     EP_XNN_UNARY(xnn_define_convert(g, in, out, 0), "convert")},
    {{builtin::kQuantize, "", 3,
      [](const Plan& plan, const PlanOp& op, std::string*) {
        return IsFloat(InputView(plan, op)) && IsQuant8(OutputView(plan, op));
      }},
     EP_XNN_UNARY(xnn_define_convert(g, in, out, 0), "convert")},
};
#undef EP_XNN_UNARY
#undef EP_XNN_BINARY

Status DefineOp(SubgraphBuilder& b, const PlanOp& op) {
  for (const XnnpackOp& entry : kXnnpackOps)
    if (entry.code == op.code) return entry.define(b, op);
  return UnimplementedError("no XNNPACK lowering");
}

class XnnpackBackend final : public Backend {
 public:
  XnnpackBackend() : Backend(RegistrationsOf<XnnpackOp>(kXnnpackOps)) {}
  const char* name() const override { return "XNNPACK"; }
  bool groups_ops() const override { return true; }

  Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                        const BackendContext& context) const override {
    EP_RETURN_IF_ERROR(EnsureXnnpackInitialized());
    SubgraphBuilder builder(plan, ops);
    return builder.Build(context);
  }

  Status Probe(const Plan& plan, int op, const BackendContext& context) const override {
    EP_RETURN_IF_ERROR(EnsureXnnpackInitialized());
    const int ops[1] = {op};
    BackendContext single_thread = context;
    single_thread.threadpool = nullptr;
    SubgraphBuilder builder(plan, ops, /*probe=*/true);
    auto step = builder.Build(single_thread);
    return step.ok() ? OkStatus() : step.status();
  }

 protected:
  // Every op: tensors of rank <= 6, a fused activation XNNPACK clamps to.
  bool AcceptsAny(const Plan& plan, const PlanOp& op, std::string* why) const override {
    if (op.inputs.empty() || op.outputs.empty() || op.inputs[0] < 0) return false;
    for (int i : op.inputs)
      if (i >= 0 && plan.tensors[i].view.rank() > static_cast<int>(kMaxXnnDims)) return false;
    if (!ActivationSupported(op.options.activation)) {
      if (why) *why = fmt::format("fused {} activation", ActivationName(op.options.activation));
      return false;
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<Backend> MakeXnnpackBackend() { return std::make_unique<XnnpackBackend>(); }

Status CheckXnnpackRunsOn(ThreadPool& pool) {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [&] {
    result = [&]() -> Status {
      EP_RETURN_IF_ERROR(EnsureXnnpackInitialized());
      // A clamp over 64 values: XNNPACK hands it to the pool as one loop.
      xnn_operator_t clamp = nullptr;
      if (xnn_create_clamp_nc_f32(1, 1, 1, -1.0f, 1.0f, 0, &clamp) != xnn_status_success)
        return InternalError("XNNPACK could not create the thread-pool check operator");
      std::vector<float> in(64), out(64);
      const uint64_t loops_before = pool.loops_through_pthreadpool_api();
      xnn_status status = xnn_setup_clamp_nc_f32(clamp, in.size(), in.data(), out.data(), pool.as_pthreadpool());
      if (status == xnn_status_success) status = xnn_run_operator(clamp, pool.as_pthreadpool());
      xnn_delete_operator(clamp);
      if (status != xnn_status_success)
        return InternalError("the thread-pool check operator failed: {}", XnnStatusName(status));
      if (pool.loops_through_pthreadpool_api() == loops_before)
        return FailedPreconditionError(
            "XNNPACK does not run on edgepipe's thread pool: another library in this process exported the "
            "pthreadpool functions first; use num_threads = 1");
      return OkStatus();
    }();
  });
  return result;
}

}  // namespace edgepipe::engine
