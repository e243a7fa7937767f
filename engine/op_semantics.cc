#include "engine/op_semantics.h"

#include <cstdint>
#include <string>

#include <fmt/ranges.h>

namespace edgepipe::engine {
namespace {

// Strides, dilations and window sizes above this are not a model anyone
// trained; the bound also keeps the backends' index arithmetic far from
// overflow.
constexpr int64_t kMaxWindowParameter = int64_t{1} << 16;

std::string ShapeText(const TensorView& view) { return fmt::format("[{}]", fmt::join(view.shape, ",")); }

// An op reads and writes whole tensors: an empty one (a zero dimension) has
// nothing to compute and is a broken model, not an edge case to run.
Status CheckNoEmptyTensors(const Plan& plan, const PlanOp& op) {
  auto check = [&](int index, const char* role, size_t k) -> Status {
    if (index < 0) return OkStatus();
    const PlanTensor& t = plan.tensors[index];
    for (size_t d = 0; d < t.view.shape.size(); ++d)
      if (t.view.shape[d] < 1)
        return InvalidArgumentError("{}: {} {} {} has shape {}: dimension {} is {}, operators need dimensions >= 1",
                                    OpLabel(op), role, k, plan.TensorLabel(index), ShapeText(t.view), d,
                                    t.view.shape[d]);
    return OkStatus();
  };
  for (size_t k = 0; k < op.inputs.size(); ++k) EP_RETURN_IF_ERROR(check(op.inputs[k], "input", k));
  for (size_t k = 0; k < op.outputs.size(); ++k) EP_RETURN_IF_ERROR(check(op.outputs[k], "output", k));
  return OkStatus();
}

Status CheckRank(const Plan& plan, const PlanOp& op, int index, const char* role, int rank) {
  const TensorView& v = plan.tensors[index].view;
  if (v.rank() != rank)
    return InvalidArgumentError("{}: {} {} has shape {}, expected rank {}", OpLabel(op), role, plan.TensorLabel(index),
                                ShapeText(v), rank);
  return OkStatus();
}

// One spatial dimension of a sliding window (TFLite's ComputeOutSize).
struct WindowAxis {
  const char* name;  // "height", "width"
  std::string input_label;
  int64_t input;
  int64_t filter;
  int64_t stride;
  int64_t dilation;
};

Result<int64_t> WindowOutputExtent(const PlanOp& op, const WindowAxis& a) {
  auto check_parameter = [&](const char* what, int64_t value) -> Status {
    if (value < 1 || value > kMaxWindowParameter)
      return InvalidArgumentError("{}: {} {} is {}; it must be in [1, {}]", OpLabel(op), what, a.name, value,
                                  kMaxWindowParameter);
    return OkStatus();
  };
  EP_RETURN_IF_ERROR(check_parameter("stride", a.stride));
  EP_RETURN_IF_ERROR(check_parameter("dilation", a.dilation));
  EP_RETURN_IF_ERROR(check_parameter("filter", a.filter));
  const int64_t extent = (a.filter - 1) * a.dilation + 1;  // the dilated window
  if (extent > kMaxWindowParameter)
    return InvalidArgumentError("{}: the dilated filter {} spans {} (filter {}, dilation {}); at most {}", OpLabel(op),
                                a.name, extent, a.filter, a.dilation, kMaxWindowParameter);
  // Past the input plus one window, a larger stride changes nothing but says
  // the model was written wrong.
  if (a.stride > a.input + extent)
    return InvalidArgumentError("{}: stride {} is {}, more than input {} {} ({}) plus the filter extent ({})",
                                OpLabel(op), a.name, a.stride, a.input_label, a.name, a.input, extent);
  if (op.options.padding == Padding::kSame) return (a.input + a.stride - 1) / a.stride;
  if (extent > a.input)
    return InvalidArgumentError("{}: with VALID padding the filter {} extent {} (filter {}, dilation {}) is larger "
                                "than input {} {} ({})",
                                OpLabel(op), a.name, extent, a.filter, a.dilation, a.input_label, a.name, a.input);
  return (a.input - extent) / a.stride + 1;
}

// CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D: NHWC input and
// output, window parameters from the options (pools) or the OHWI / 1HWO filter.
Status CheckWindowOp(const Plan& plan, const PlanOp& op) {
  const bool pool = op.code == builtin::kAveragePool2D || op.code == builtin::kMaxPool2D;
  const size_t min_inputs = pool ? 1 : 2;
  if (op.inputs.size() < min_inputs || op.outputs.size() != 1)
    return InvalidArgumentError("{}: expected at least {} inputs and 1 output, got {} and {}", OpLabel(op), min_inputs,
                                op.inputs.size(), op.outputs.size());
  for (size_t k = 0; k < min_inputs; ++k)
    if (op.inputs[k] < 0) return InvalidArgumentError("{}: input {} is missing", OpLabel(op), k);
  const int in_index = op.inputs[0], out_index = op.outputs[0];
  EP_RETURN_IF_ERROR(CheckRank(plan, op, in_index, "input", 4));
  EP_RETURN_IF_ERROR(CheckRank(plan, op, out_index, "output", 4));
  const TensorView& in = plan.tensors[in_index].view;
  const TensorView& out = plan.tensors[out_index].view;
  const int64_t in_channels = in.shape[3];

  int64_t filter_h = op.options.filter_h, filter_w = op.options.filter_w;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t out_channels = in_channels;
  if (!pool) {
    const int filter_index = op.inputs[1];
    EP_RETURN_IF_ERROR(CheckRank(plan, op, filter_index, "filter", 4));
    const TensorView& filter = plan.tensors[filter_index].view;
    filter_h = filter.shape[1];
    filter_w = filter.shape[2];
    dilation_h = op.options.dilation_h;
    dilation_w = op.options.dilation_w;
    if (op.code == builtin::kConv2D) {
      // OHWI; fewer filter input channels than input channels is a grouped conv.
      out_channels = filter.shape[0];
      const int64_t group_channels = filter.shape[3];
      if (in_channels % group_channels != 0 || out_channels % (in_channels / group_channels) != 0)
        return InvalidArgumentError("{}: filter {} {} does not fit input {} {}: {} input channels are not a whole "
                                    "number of groups of {} that divides {} output channels",
                                    OpLabel(op), plan.TensorLabel(filter_index), ShapeText(filter),
                                    plan.TensorLabel(in_index), ShapeText(in), in_channels, group_channels,
                                    out_channels);
    } else {
      // 1HWO, O = input channels * depth multiplier.
      out_channels = filter.shape[3];
      if (filter.shape[0] != 1 || out_channels % in_channels != 0)
        return InvalidArgumentError("{}: filter {} {} does not fit input {} {}: expected [1,H,W,C*multiplier] with "
                                    "C = {}",
                                    OpLabel(op), plan.TensorLabel(filter_index), ShapeText(filter),
                                    plan.TensorLabel(in_index), ShapeText(in), in_channels);
    }
    if (op.inputs.size() > 2 && op.inputs[2] >= 0) {
      const TensorView& bias = plan.tensors[op.inputs[2]].view;
      if (bias.num_elements() != static_cast<size_t>(out_channels))
        return InvalidArgumentError("{}: bias {} has shape {}, but the op has {} output channels", OpLabel(op),
                                    plan.TensorLabel(op.inputs[2]), ShapeText(bias), out_channels);
    }
  }

  const std::string in_label = plan.TensorLabel(in_index);
  EP_ASSIGN_OR_RETURN(const int64_t out_h, WindowOutputExtent(op, {"height", in_label, in.shape[1], filter_h,
                                                                   op.options.stride_h, dilation_h}));
  EP_ASSIGN_OR_RETURN(const int64_t out_w, WindowOutputExtent(op, {"width", in_label, in.shape[2], filter_w,
                                                                   op.options.stride_w, dilation_w}));
  const std::vector<int64_t> expected = {in.shape[0], out_h, out_w, out_channels};
  const std::vector<int64_t> declared(out.shape.begin(), out.shape.end());
  if (declared != expected)
    return InvalidArgumentError("{}: output {} is declared {}, but the op computes [{}] from input {} {} (filter {}x{}, "
                                "stride {}x{}, dilation {}x{}, {} padding)",
                                OpLabel(op), plan.TensorLabel(out_index), ShapeText(out), fmt::join(expected, ","),
                                plan.TensorLabel(in_index), ShapeText(in), filter_h, filter_w, op.options.stride_h,
                                op.options.stride_w, dilation_h, dilation_w,
                                op.options.padding == Padding::kSame ? "SAME" : "VALID");
  return OkStatus();
}

}  // namespace

Status CheckOpSemantics(const Plan& plan) {
  for (const PlanOp& op : plan.ops) {
    if (!op.live) continue;
    EP_RETURN_IF_ERROR(CheckNoEmptyTensors(plan, op));
    switch (op.code) {
      case builtin::kConv2D:
      case builtin::kDepthwiseConv2D:
      case builtin::kAveragePool2D:
      case builtin::kMaxPool2D: EP_RETURN_IF_ERROR(CheckWindowOp(plan, op)); break;
      default: break;
    }
  }
  return OkStatus();
}

}  // namespace edgepipe::engine
