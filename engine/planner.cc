#include "engine/planner.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>

#include <fmt/ranges.h>

#include "engine/kernels/densify.h"
#include "engine/kernels/kernels.h"
#include "engine/op_semantics.h"

namespace edgepipe::engine {
namespace {

constexpr size_t kAlignment = 64;

size_t AlignUp(size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

// A load-time constant's share of its buffer: aligned, with room for XNNPACK's
// reads past the end.
size_t ConstantSlotBytes(size_t bytes) { return AlignUp(std::max<size_t>(bytes, 1) + 16); }


bool SameQuantization(const TensorView& a, const TensorView& b) {
  return a.dtype == b.dtype && a.quant.scale == b.quant.scale &&
         a.quant.zero_point == b.quant.zero_point;
}

// Reads a small constant integer tensor (axes, sizes) as int64 values.
Result<std::vector<int64_t>> ReadConstantInts(const Plan& plan, int index) {
  if (index < 0) return InvalidArgumentError("missing constant input");
  const PlanTensor& t = plan.tensors[index];
  if (!t.is_constant || t.view.data == nullptr)
    return UnimplementedError("{} must be a constant", plan.TensorLabel(index));
  std::vector<int64_t> values(t.view.num_elements());
  for (size_t i = 0; i < values.size(); ++i) {
    switch (t.view.dtype) {
      case DType::kInt32: values[i] = t.view.as<const int32_t>()[i]; break;
      case DType::kInt64: values[i] = t.view.as<const int64_t>()[i]; break;
      default:
        return InvalidArgumentError("{} must be int32 or int64, not {}", plan.TensorLabel(index),
                                    DTypeName(t.view.dtype));
    }
  }
  return values;
}

bool HasFusedActivationSlot(int32_t code) {
  switch (code) {
    case builtin::kConv2D:
    case builtin::kDepthwiseConv2D:
    case builtin::kFullyConnected:
    case builtin::kAdd:
    case builtin::kSub:
    case builtin::kMul:
    case builtin::kDiv:
    case builtin::kMaxPool2D:
    case builtin::kAveragePool2D:
      return true;
    default:
      return false;
  }
}

Activation ActivationOfOp(int32_t code) {
  switch (code) {
    case builtin::kRelu: return Activation::kRelu;
    case builtin::kRelu6: return Activation::kRelu6;
    case builtin::kReluN1To1: return Activation::kReluN1To1;
    default: return Activation::kNone;
  }
}

// Folds DEQUANTIZE (fp16 or int8/uint8 weights) of constants into fp32 constants.
Status FoldConstantDequantize(Plan& plan) {
  std::vector<PlanOp*> foldable;
  size_t total_bytes = 0;
  for (PlanOp& op : plan.ops) {
    if (!op.live || op.code != builtin::kDequantize || op.inputs.size() != 1 || op.outputs.size() != 1)
      continue;
    const PlanTensor& in = plan.tensors[op.inputs[0]];
    const PlanTensor& out = plan.tensors[op.outputs[0]];
    if (!in.is_constant || out.is_graph_output || out.view.dtype != DType::kFloat32) continue;
    if (in.view.num_elements() != out.view.num_elements())
      return InvalidArgumentError("{}: input has {} elements, output {}", OpLabel(op),
                                  in.view.num_elements(), out.view.num_elements());
    foldable.push_back(&op);
    total_bytes += ConstantSlotBytes(out.view.num_bytes());
  }
  if (foldable.empty()) return OkStatus();
  // One buffer for all of them (megabytes for fp16 models: see page_buffer.h).
  auto buffer = PageBuffer::Allocate(total_bytes);
  if (!buffer.ok()) return buffer.status().WithContext("folding constant DEQUANTIZE ops");
  std::byte* next = buffer->data();
  plan.owned_constants.push_back(std::move(*buffer));
  for (PlanOp* op : foldable) {
    PlanTensor& in = plan.tensors[op->inputs[0]];
    PlanTensor& out = plan.tensors[op->outputs[0]];
    TensorView dst = out.view;
    dst.data = next;
    next += ConstantSlotBytes(dst.num_bytes());
    Status s = kernels::Dequantize(in.view, dst);
    if (!s.ok()) return s.WithContext(OpLabel(*op) + " (folding a constant)");
    out.view.data = dst.data;
    out.is_constant = true;
    op->live = false;
  }
  plan.rewrites.push_back(fmt::format("folded {} constant DEQUANTIZE ops into fp32 constants", foldable.size()));
  return OkStatus();
}

// Folds DENSIFY of sparse constants into dense constants. Runs before the
// DEQUANTIZE fold: sparse fp16 weights come as DENSIFY -> DEQUANTIZE, and the
// dense fp16 constant made here is that fold's input. Returns the index of the
// buffer holding the densified constants in plan.owned_constants (-1: none).
Result<int> FoldConstantDensify(Plan& plan) {
  std::vector<PlanOp*> foldable;
  size_t total_bytes = 0;
  for (PlanOp& op : plan.ops) {
    if (!op.live || op.code != builtin::kDensify) continue;
    if (op.inputs.size() != 1 || op.outputs.size() != 1 || op.inputs[0] < 0)
      return InvalidArgumentError("{}: expected 1 input and 1 output, got {} and {}", OpLabel(op), op.inputs.size(),
                                  op.outputs.size());
    const TensorInfo& in = plan.model->tensors()[op.inputs[0]];
    const PlanTensor& out = plan.tensors[op.outputs[0]];
    if (!in.is_sparse())
      return UnimplementedError("{}: input {} is not a sparse constant; DENSIFY only reads sparse constants",
                                OpLabel(op), plan.TensorLabel(op.inputs[0]));
    // Folding makes the output a constant, which a model output is not
    // allowed to be here (as for DEQUANTIZE), and no backend runs DENSIFY.
    if (out.is_graph_output)
      return UnimplementedError("{}: output {} is a model output; DENSIFY is only supported when folded into a "
                                "constant that other operators read",
                                OpLabel(op), plan.TensorLabel(op.outputs[0]));
    if (out.view.dtype != in.dtype || out.view.shape != in.shape)
      return InvalidArgumentError("{}: output {} is [{}] {}, but input {} densifies to [{}] {}", OpLabel(op),
                                  plan.TensorLabel(op.outputs[0]), fmt::join(out.view.shape, ","),
                                  DTypeName(out.view.dtype), plan.TensorLabel(op.inputs[0]),
                                  fmt::join(in.shape, ","), DTypeName(in.dtype));
    foldable.push_back(&op);
    total_bytes += ConstantSlotBytes(out.view.num_bytes());
  }
  if (foldable.empty()) return -1;
  auto buffer = PageBuffer::Allocate(total_bytes);
  if (!buffer.ok()) return buffer.status().WithContext("folding constant DENSIFY ops");
  std::byte* next = buffer->data();
  plan.owned_constants.push_back(std::move(*buffer));
  for (PlanOp* op : foldable) {
    const TensorInfo& in = plan.model->tensors()[op->inputs[0]];
    PlanTensor& out = plan.tensors[op->outputs[0]];
    TensorView dst = out.view;
    dst.data = next;
    next += ConstantSlotBytes(dst.num_bytes());
    Status s = kernels::Densify(*in.sparsity, {in.data, in.data_size}, dst);
    if (!s.ok()) return s.WithContext(OpLabel(*op) + " (folding a sparse constant)");
    out.view.data = dst.data;
    out.is_constant = true;
    op->live = false;
  }
  plan.rewrites.push_back(fmt::format("folded {} constant DENSIFY ops into dense constants", foldable.size()));
  return static_cast<int>(plan.owned_constants.size()) - 1;
}

// Once DEQUANTIZE has folded the densified fp16 weights into fp32 ones, nothing
// reads the dense fp16 copies: their buffer is released unless one still has a
// reader (all of the buffer goes, or none of it).
void ReleaseUnreadDensified(Plan& plan, int buffer_index) {
  if (buffer_index < 0) return;
  LinkTensors(plan);
  const PageBuffer& buffer = plan.owned_constants[buffer_index];
  std::vector<int> tensors;
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const PlanTensor& t = plan.tensors[i];
    const auto* data = static_cast<const std::byte*>(t.view.data);
    if (!t.is_constant || data < buffer.data() || data >= buffer.data() + buffer.size()) continue;
    if (!t.consumers.empty() || t.is_graph_output) return;
    tensors.push_back(static_cast<int>(i));
  }
  for (int i : tensors) {
    plan.tensors[i].view.data = nullptr;
    plan.tensors[i].is_constant = false;
  }
  plan.owned_constants[buffer_index] = PageBuffer();
  plan.rewrites.push_back(fmt::format("released {} densified constants only DEQUANTIZE read", tensors.size()));
}

// A sparse constant holds only its stored values, not the dense tensor its shape
// describes: DENSIFY (folded above) is the one operator that may read it.
Status CheckSparseConstantReaders(const Plan& plan) {
  for (const PlanOp& op : plan.ops) {
    for (size_t k = 0; k < op.inputs.size(); ++k) {
      const int in = op.inputs[k];
      if (in < 0 || !plan.model->tensors()[in].is_sparse()) continue;
      if (op.code == builtin::kDensify && k == 0) continue;
      return UnimplementedError("{}: input {} {} is a sparse constant; only DENSIFY can read sparse constants",
                                OpLabel(op), k, plan.TensorLabel(in));
    }
  }
  for (int out : plan.outputs)
    if (plan.model->tensors()[out].is_sparse())
      return UnimplementedError("model output {} is a sparse constant", plan.TensorLabel(out));
  return OkStatus();
}

void FuseActivations(Plan& plan) {
  LinkTensors(plan);
  int fused = 0;
  for (PlanOp& act : plan.ops) {
    if (!act.live) continue;
    Activation activation = ActivationOfOp(act.code);
    if (activation == Activation::kNone || act.inputs.size() != 1 || act.outputs.size() != 1) continue;
    const int mid = act.inputs[0];
    if (mid < 0) continue;
    PlanTensor& t = plan.tensors[mid];
    if (t.producer < 0 || t.consumers.size() != 1 || t.is_graph_output || t.is_variable) continue;
    PlanOp& producer = plan.ops[t.producer];
    if (!HasFusedActivationSlot(producer.code) || producer.options.activation != Activation::kNone ||
        producer.outputs.size() != 1)
      continue;
    // A quantized RELU may also requantize; fusing is only exact when it does not.
    if (!SameQuantization(t.view, plan.tensors[act.outputs[0]].view)) continue;
    producer.options.activation = activation;
    producer.outputs[0] = act.outputs[0];
    act.live = false;
    LinkTensors(plan);
    ++fused;
  }
  if (fused > 0) plan.rewrites.push_back(fmt::format("fused {} activation ops into their producers", fused));
}

// RESHAPE's requested shape (its shape operand, else the new_shape option):
// at most one -1, every other dimension >= 1, and the element count of the
// input. Returns the shape with the -1 resolved.
Result<std::vector<int32_t>> ResolveNewShape(const Plan& plan, const PlanOp& op, const std::vector<int64_t>& shape,
                                             size_t count) {
  const std::string requested = fmt::format("[{}]", fmt::join(shape, ","));
  int64_t known = 1;
  int unknown = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (unknown >= 0) return InvalidArgumentError("{}: new shape {} has more than one -1", OpLabel(op), requested);
      unknown = static_cast<int>(i);
    } else if (shape[i] < 1 || shape[i] > std::numeric_limits<int32_t>::max()) {
      return InvalidArgumentError("{}: new shape {} has dimension {} = {}; dimensions must be >= 1 (or one -1)",
                                  OpLabel(op), requested, i, shape[i]);
    } else if (__builtin_mul_overflow(known, shape[i], &known)) {
      return InvalidArgumentError("{}: new shape {} has more elements than 64 bits count", OpLabel(op), requested);
    }
  }
  std::vector<int64_t> resolved = shape;
  if (unknown >= 0) {
    if (static_cast<uint64_t>(known) > count || count % static_cast<uint64_t>(known) != 0)
      return InvalidArgumentError("{}: cannot reshape input {} of {} elements to {}: {} is not a multiple of {}",
                                  OpLabel(op), plan.TensorLabel(op.inputs[0]), count, requested, count, known);
    resolved[unknown] = static_cast<int64_t>(count) / known;
    if (resolved[unknown] > std::numeric_limits<int32_t>::max())
      return InvalidArgumentError("{}: new shape {} resolves -1 to {}, more than 32 bits hold", OpLabel(op), requested,
                                  resolved[unknown]);
  } else if (static_cast<uint64_t>(known) != count) {
    return InvalidArgumentError("{}: cannot reshape input {} of {} elements to {} ({} elements)", OpLabel(op),
                                plan.TensorLabel(op.inputs[0]), count, requested, known);
  }
  return std::vector<int32_t>(resolved.begin(), resolved.end());
}

Status ResolveReshapes(Plan& plan) {
  for (PlanOp& op : plan.ops) {
    if (!op.live || (op.code != builtin::kReshape && op.code != builtin::kSqueeze)) continue;
    if (op.inputs.empty() || op.inputs[0] < 0 || op.outputs.size() != 1)
      return InvalidArgumentError("{}: expected at least 1 input and 1 output", OpLabel(op));
    const PlanTensor& in = plan.tensors[op.inputs[0]];
    PlanTensor& out = plan.tensors[op.outputs[0]];
    const size_t count = in.view.num_elements();
    const bool declared_fits = out.view.num_elements() == count && !out.view.shape.empty();
    if (op.code != builtin::kReshape) {
      if (declared_fits) continue;
      return InvalidArgumentError("{}: output {} has {} elements, input {}", OpLabel(op),
                                  plan.TensorLabel(op.outputs[0]), out.view.num_elements(), count);
    }
    // The requested shape is checked even when the declared output fits: a
    // model whose operand asks for [-5,-5] is broken whatever its output says.
    std::vector<int64_t> shape;
    if (op.inputs.size() > 1 && op.inputs[1] >= 0) {
      auto operand = ReadConstantInts(plan, op.inputs[1]);
      if (!operand.ok()) {
        if (declared_fits) continue;  // computed at run time; the declared shape is what runs
        return operand.status().WithContext(OpLabel(op));
      }
      shape = std::move(*operand);
    } else {
      if (declared_fits && op.options.new_shape.empty()) continue;
      shape.assign(op.options.new_shape.begin(), op.options.new_shape.end());
    }
    auto checked = ResolveNewShape(plan, op, shape, count);
    if (!checked.ok()) {  // name where the shape came from: the operand tensor or the option
      const std::string source = op.inputs.size() > 1 && op.inputs[1] >= 0
                                     ? "shape operand " + plan.TensorLabel(op.inputs[1])
                                     : std::string("new_shape option");
      return Status(checked.status().code(), fmt::format("{} (from {})", checked.status().message(), source));
    }
    std::vector<int32_t> resolved = std::move(checked).value();
    if (declared_fits) {
      if (resolved != out.view.shape)
        return InvalidArgumentError("{}: output {} is declared [{}], but the new shape [{}] makes it [{}]",
                                    OpLabel(op), plan.TensorLabel(op.outputs[0]), fmt::join(out.view.shape, ","),
                                    fmt::join(shape, ","), fmt::join(resolved, ","));
      continue;
    }
    out.view.shape = std::move(resolved);
    plan.rewrites.push_back(fmt::format("{}: resolved output shape to [{}]", OpLabel(op),
                                        fmt::join(out.view.shape, ",")));
  }
  return OkStatus();
}

void LowerGlobalPools(Plan& plan) {
  int lowered = 0;
  for (PlanOp& op : plan.ops) {
    if (!op.live || op.inputs.empty() || op.outputs.empty()) continue;
    const TensorView& in = plan.tensors[op.inputs[0]].view;
    const TensorView& out = plan.tensors[op.outputs[0]].view;
    if (in.rank() != 4) continue;
    if (op.code == builtin::kAveragePool2D) {
      if (op.options.filter_h == in.shape[1] && op.options.filter_w == in.shape[2] && out.rank() == 4 &&
          out.shape[1] == 1 && out.shape[2] == 1) {
        op.global_average_pool = true;
        ++lowered;
      }
    } else if (op.code == builtin::kMean && op.inputs.size() == 2) {
      auto axes = ReadConstantInts(plan, op.inputs[1]);
      if (!axes.ok()) continue;
      std::vector<int64_t> a = *axes;
      for (int64_t& x : a)
        if (x < 0) x += 4;
      std::sort(a.begin(), a.end());
      a.erase(std::unique(a.begin(), a.end()), a.end());
      if (a == std::vector<int64_t>{1, 2}) {
        op.global_average_pool = true;
        ++lowered;
      }
    }
  }
  if (lowered > 0)
    plan.rewrites.push_back(fmt::format("lowered {} AVERAGE_POOL_2D/MEAN ops to global average pooling", lowered));
}

// TFLite_Detection_PostProcess outputs have no static shape in the file: they
// follow from max_detections (and TFLite allocates them at Prepare time).
Status ShapeDetectionOutputs(Plan& plan) {
  for (PlanOp& op : plan.ops) {
    if (!op.live || op.name != "TFLite_Detection_PostProcess") continue;
    auto options = kernels::ParseDetectionPostProcessOptions(op.custom_options.data(), op.custom_options.size());
    if (!options.ok()) return options.status().WithContext(OpLabel(op));
    if (op.outputs.size() != 4)
      return InvalidArgumentError("{}: expected 4 outputs, got {}", OpLabel(op), op.outputs.size());
    const int32_t n = options->max_detections * options->max_classes_per_detection;
    const std::vector<std::vector<int32_t>> shapes = {{1, n, 4}, {1, n}, {1, n}, {1}};
    for (size_t k = 0; k < 4; ++k) {
      TensorView& v = plan.tensors[op.outputs[k]].view;
      if (v.dtype != DType::kFloat32)
        return InvalidArgumentError("{}: output {} must be float32", OpLabel(op), plan.TensorLabel(op.outputs[k]));
      v.shape = shapes[k];
    }
  }
  return OkStatus();
}

}  // namespace

std::string OpLabel(const PlanOp& op) { return fmt::format("operator {} ({})", op.model_index, op.name); }

std::string Plan::TensorLabel(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= tensors.size()) return fmt::format("tensor {}", index);
  return fmt::format("tensor {} '{}'", index, tensors[index].view.name);
}

Result<std::unique_ptr<Plan>> BuildPlan(std::shared_ptr<const Model> model) {
  auto plan = std::make_unique<Plan>();
  plan->model = model;
  plan->tensors.resize(model->tensors().size());
  for (const TensorInfo& info : model->tensors()) {
    PlanTensor& t = plan->tensors[info.index];
    t.view = info.View();
    t.is_constant = info.is_constant();
    t.is_variable = info.is_variable;
  }
  plan->inputs = model->inputs();
  plan->outputs = model->outputs();
  for (int i : plan->inputs) plan->tensors[i].is_graph_input = true;
  for (int i : plan->outputs) plan->tensors[i].is_graph_output = true;
  for (const OperatorInfo& info : model->operators()) {
    PlanOp op;
    op.model_index = info.index;
    op.code = info.builtin_code;
    op.name = info.name;
    op.version = info.version;
    op.inputs = info.inputs;
    op.outputs = info.outputs;
    op.intermediates = info.intermediates;
    op.options = info.options;
    op.custom_options = info.custom_options;
    plan->ops.push_back(std::move(op));
  }
  EP_RETURN_IF_ERROR(CheckSparseConstantReaders(*plan));
  LinkTensors(*plan);
  // Every tensor an op reads must be a constant, a model input, a variable or
  // the output of an earlier op: there is no other source of its value.
  std::vector<bool> written(plan->tensors.size(), false);
  for (int i : plan->inputs) written[i] = true;
  for (const PlanOp& op : plan->ops) {
    for (int in : op.inputs) {
      if (in < 0) continue;
      const PlanTensor& t = plan->tensors[in];
      if (!t.is_constant && !t.is_variable && !written[in])
        return InvalidArgumentError("{}: input {} is never written before it is read", OpLabel(op),
                                    plan->TensorLabel(in));
    }
    for (int out : op.outputs) written[out] = true;
  }
  for (int out : plan->outputs)
    if (!written[out] && !plan->tensors[out].is_constant)
      return InvalidArgumentError("model output {} is never written", plan->TensorLabel(out));
  return plan;
}

Status ApplyRewrites(Plan& plan) {
  EP_ASSIGN_OR_RETURN(const int densified, FoldConstantDensify(plan));
  EP_RETURN_IF_ERROR(FoldConstantDequantize(plan));
  ReleaseUnreadDensified(plan, densified);
  EP_RETURN_IF_ERROR(ResolveReshapes(plan));
  EP_RETURN_IF_ERROR(ShapeDetectionOutputs(plan));
  // On the shapes the ops will run with, and before fusion moves outputs.
  EP_RETURN_IF_ERROR(CheckOpSemantics(plan));
  FuseActivations(plan);
  LowerGlobalPools(plan);
  LinkTensors(plan);
  return OkStatus();
}

void LinkTensors(Plan& plan) {
  for (PlanTensor& t : plan.tensors) {
    t.producer = -1;
    t.consumers.clear();
  }
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const PlanOp& op = plan.ops[i];
    if (!op.live) continue;
    for (int in : op.inputs)
      if (in >= 0) plan.tensors[in].consumers.push_back(static_cast<int>(i));
    for (int out : op.outputs) plan.tensors[out].producer = static_cast<int>(i);
  }
}

size_t PlaceInArena(Plan& plan, const std::vector<int>& first_use, const std::vector<int>& last_use,
                    size_t extra_bytes_per_slot) {
  struct Placed {
    size_t offset, bytes;
    int first, last;
  };
  std::vector<int> order;
  for (size_t i = 0; i < plan.tensors.size(); ++i)
    if (plan.tensors[i].needs_slot) order.push_back(static_cast<int>(i));
  for (int i : order) plan.tensors[i].slot_bytes = AlignUp(plan.tensors[i].view.num_bytes() + extra_bytes_per_slot);
  // Largest first, then earliest: the usual greedy-by-size heuristic.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (plan.tensors[a].slot_bytes != plan.tensors[b].slot_bytes)
      return plan.tensors[a].slot_bytes > plan.tensors[b].slot_bytes;
    return first_use[a] < first_use[b];
  });
  std::vector<Placed> placed;
  size_t arena = 0;
  for (int i : order) {
    PlanTensor& t = plan.tensors[i];
    std::vector<std::pair<size_t, size_t>> busy;  // [offset, end) of lifetime-overlapping slots
    for (const Placed& p : placed)
      if (!(p.last < first_use[i] || last_use[i] < p.first)) busy.emplace_back(p.offset, p.offset + p.bytes);
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (auto [begin, end] : busy) {
      if (begin >= offset + t.slot_bytes) break;
      offset = std::max(offset, end);
    }
    t.slot_offset = offset;
    placed.push_back({offset, t.slot_bytes, first_use[i], last_use[i]});
    arena = std::max(arena, offset + t.slot_bytes);
  }
  return arena;
}

std::span<const FoldedOp> OpsFoldedAtLoad() {
  // DENSIFY of a constant (FoldConstantDensify); a DENSIFY of anything else is
  // left for a backend, and none runs it.
  static constexpr FoldedOp kFolded[] = {{builtin::kDensify, 1}};
  return kFolded;
}

}  // namespace edgepipe::engine
